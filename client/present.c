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
    p->copy_sub =
        (void (*)(void *, unsigned long, int, int, int, int))SDL_GL_GetProcAddress("glXCopySubBufferMESA");
    if (!p->copy_sub)
        p->dpy = NULL;
#else
    (void)allow;
#endif
}

bool sg_present_can_rects(const struct sg_present *p)
{
    return p->dpy != NULL;
}

bool sg_present_partial(const struct sg_present *p)
{
    if (!p->dpy || !p->front_ok)
        return false;
    int w, h;
    SDL_GL_GetDrawableSize(p->win, &w, &h);
    return w == p->swap_w && h == p->swap_h;
}

void sg_present_swap(struct sg_present *p)
{
    SDL_GL_SwapWindow(p->win);
    int w, h;
    SDL_GL_GetDrawableSize(p->win, &w, &h);
    /* Mesa learns a window's new size at a swap: the first swap at a new
     * size may still show a picture of the old one */
    p->front_ok = w == p->swap_w && h == p->swap_h;
    p->swap_w = w;
    p->swap_h = h;
}

void sg_present_rects(struct sg_present *p, const struct sg_render_rect *r, unsigned n, int fb_h)
{
    if (!sg_present_partial(p)) {
        sg_present_swap(p);
        return;
    }
    for (unsigned i = 0; i < n; i++)
        p->copy_sub(p->dpy, p->drawable, (int)r[i].x, fb_h - (int)(r[i].y + r[i].h), (int)r[i].w,
                    (int)r[i].h);
}

const char *sg_present_describe(const struct sg_present *p)
{
    return p->dpy ? "GLX_MESA_copy_sub_buffer rectangles for cursor-only updates (and damage without vsync), "
                    "whole swaps otherwise"
                  : "whole swaps (no partial present here)";
}
