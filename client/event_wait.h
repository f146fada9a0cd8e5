/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The drawing thread's wait for its next event. SDL's own wait, when another
 * thread pushes an event, wakes itself through the X server (a ClientMessage
 * sent to the window and read back), so a frame or cursor update handed over
 * by the session thread waited for an X round trip, longer when the server is
 * busy. On X11 the loop waits instead in poll() on the X connection and an
 * eventfd that sg_event_wait_wake() writes; elsewhere it is SDL's wait.
 */
#include <SDL.h>
#include <stdbool.h>

struct sg_event_wait {
    int efd;       /* set before any other thread starts; -1 if none */
    void *x11_dpy; /* Display * of the window's connection; NULL: SDL's own wait */
    int x11_fd;
};

/* Before any thread that may wake the loop starts. */
void sg_event_wait_init(struct sg_event_wait *w);
/* Once the window exists: the poll() wait where the window is on X11. */
void sg_event_wait_attach(struct sg_event_wait *w, SDL_Window *win);
void sg_event_wait_finish(struct sg_event_wait *w);
/* Any thread, after it pushed its SDL event. */
void sg_event_wait_wake(struct sg_event_wait *w);
/* Waits up to timeout_ms for an SDL event; true with it in *ev. */
bool sg_event_wait(struct sg_event_wait *w, SDL_Event *ev, int timeout_ms);
const char *sg_event_wait_describe(const struct sg_event_wait *w);
