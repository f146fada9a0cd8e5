/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "event_wait.h"

#include <SDL_syswm.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

void sg_event_wait_init(struct sg_event_wait *w)
{
    w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->x11_dpy = NULL;
    w->x11_fd = -1;
}

void sg_event_wait_attach(struct sg_event_wait *w, SDL_Window *win)
{
#if defined(SDL_VIDEO_DRIVER_X11) && defined(SG_HAVE_X11_WAIT)
    SDL_SysWMinfo wm;
    SDL_VERSION(&wm.version);
    if (w->efd < 0 || !SDL_GetWindowWMInfo(win, &wm) || wm.subsystem != SDL_SYSWM_X11)
        return;
    w->x11_dpy = wm.info.x11.display;
    w->x11_fd = ConnectionNumber((Display *)w->x11_dpy);
#else
    (void)win;
#endif
}

void sg_event_wait_finish(struct sg_event_wait *w)
{
    if (w->efd >= 0)
        close(w->efd);
    w->efd = -1;
}

void sg_event_wait_wake(struct sg_event_wait *w)
{
    if (w->efd < 0)
        return;
    uint64_t one = 1;
    /* EAGAIN: the counter is full, so a wake is pending anyway */
    while (write(w->efd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

bool sg_event_wait(struct sg_event_wait *w, SDL_Event *ev, int timeout_ms)
{
#if defined(SDL_VIDEO_DRIVER_X11) && defined(SG_HAVE_X11_WAIT)
    if (w->x11_dpy) {
        /* What is already queued first: SDL's queue, then events that GL calls
         * read off the socket into Xlib's queue, where poll() cannot see them. */
        if (SDL_PollEvent(ev))
            return true;
        if (XEventsQueued((Display *)w->x11_dpy, QueuedAlready) == 0) {
            struct pollfd p[2] = {{.fd = w->x11_fd, .events = POLLIN}, {.fd = w->efd, .events = POLLIN}};
            if (poll(p, 2, timeout_ms) > 0 && (p[1].revents & POLLIN)) {
                uint64_t n;
                (void)!read(w->efd, &n, sizeof(n));
            }
        }
        return SDL_PollEvent(ev);
    }
#endif
    return SDL_WaitEventTimeout(ev, timeout_ms);
}

const char *sg_event_wait_describe(const struct sg_event_wait *w)
{
    return w->x11_dpy ? "poll on the X connection and an eventfd" : "SDL's wait";
}
