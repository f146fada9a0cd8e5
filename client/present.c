/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "present.h"

#include <SDL_syswm.h>
#include <epoxy/gl.h>
#include <string.h>
#if defined(SDL_VIDEO_DRIVER_X11)
#include <epoxy/glx.h>
#endif

void sg_present_init(struct sg_present *p, SDL_Window *win, bool allow)
{
    memset(p, 0, sizeof(*p));
    p->win = win;
#if defined(SDL_VIDEO_DRIVER_X11)
    SDL_SysWMinfo wm;
    SDL_VERSION(&wm.version);
    if (!allow || !SDL_GetWindowWMInfo(win, &wm) || wm.subsystem != SDL_SYSWM_X11)
        return;
    Display *dpy = wm.info.x11.display;
    /* only when SDL made a GLX context (not EGL) and the server's GLX has it */
    if (!epoxy_has_glx(dpy) || !glXGetCurrentContext() ||
        !epoxy_has_glx_extension(dpy, DefaultScreen(dpy), "GLX_MESA_copy_sub_buffer"))
        return;
    p->dpy = dpy;
    p->drawable = wm.info.x11.window;
    p->copy_sub = (void (*)(void *, unsigned long, int, int, int, int))SDL_GL_GetProcAddress("glXCopySubBufferMESA");
    if (!p->copy_sub)
        p->dpy = NULL;
#else
    (void)allow;
#endif
}

bool sg_present_partial(const struct sg_present *p)
{
    return p->dpy != NULL;
}

bool sg_present_back_whole(const struct sg_present *p)
{
    return p->dpy && p->back_whole;
}

void sg_present_swap(struct sg_present *p)
{
    SDL_GL_SwapWindow(p->win);
    int w, h;
    SDL_GL_GetDrawableSize(p->win, &w, &h);
    /* the first swap at a new size may show a picture of the old size */
    p->front_ok = w == p->swap_w && h == p->swap_h;
    p->swap_w = w;
    p->swap_h = h;
    p->back_whole = false;
}

void sg_present_rects(struct sg_present *p, const struct sg_render_rect *r, unsigned n, int fb_h)
{
    int w, h;
    SDL_GL_GetDrawableSize(p->win, &w, &h);
    if (!p->dpy || w != p->swap_w || h != p->swap_h) {
        /* Mesa learns a window's new size at a swap; until one has happened
         * at this size the back buffer may still have the old one */
        sg_present_swap(p);
        return;
    }
    if (!p->front_ok) {
        /* the caller drew everything (the back buffer was not whole): show all of it */
        p->copy_sub(p->dpy, p->drawable, 0, 0, w, h);
        p->front_ok = p->back_whole = true;
        return;
    }
    for (unsigned i = 0; i < n; i++)
        p->copy_sub(p->dpy, p->drawable, (int)r[i].x, fb_h - (int)(r[i].y + r[i].h), (int)r[i].w, (int)r[i].h);
    p->back_whole = true;
}

const char *sg_present_describe(const struct sg_present *p)
{
    return p->dpy ? "whole swaps for frames, GLX_MESA_copy_sub_buffer rectangles for cursor-only updates"
                  : "whole swaps (no partial present here)";
}
