/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * How a drawn image reaches the window: the whole back buffer (a swap), or only
 * some rectangles of it. A cursor-only update changes two small rectangles; on
 * Mesa's software renderer under X a whole swap copies every pixel of the
 * window to the X server, so presenting only those rectangles is what makes a
 * cursor cost a cursor and not a frame.
 *
 * Rectangles go out through GLX_MESA_copy_sub_buffer, which copies them from
 * the back buffer to the window without a swap. The window keeps everything
 * else, so only the presented rectangles need to be right in the back buffer:
 * a partial update redraws just what the cursor left and entered, even right
 * after a whole swap left the back buffer undefined. Where the extension is
 * missing (EGL, Wayland, another GLX) everything is swapped as before.
 *
 * Context: every call on the thread that owns the window's GL context.
 */
#include <SDL.h>
#include <stdbool.h>

#include "render/render.h"

struct sg_present {
    SDL_Window *win;
    void *dpy; /* X Display of the GLX drawable, when partial presents work */
    unsigned long drawable;
    void (*copy_sub)(void *dpy, unsigned long drawable, int x, int y, int w, int h);
    int swap_w, swap_h; /* drawable size at the last whole swap */
    bool front_ok;      /* the window shows a whole picture of its present size */
};

/* With the window's context current. allow=false: whole swaps only. */
void sg_present_init(struct sg_present *p, SDL_Window *win, bool allow);
/* Rectangles can be presented here at all (the extension is there). */
bool sg_present_can_rects(const struct sg_present *p);
/* The next update may draw and present only rectangles: the window shows a
 * whole picture of the drawable's present size. Else draw everything and
 * present it whole (sg_present_rects then swaps). */
bool sg_present_partial(const struct sg_present *p);
/* The whole back buffer to the window (its contents are undefined after). */
void sg_present_swap(struct sg_present *p);
/* Rectangles of the back buffer (drawable pixels, top-left origin) to the
 * window; only they need to be right in the back buffer. A whole swap when
 * sg_present_partial is false. */
void sg_present_rects(struct sg_present *p, const struct sg_render_rect *r, unsigned n, int fb_h);
/* How updates are presented here, for the log. */
const char *sg_present_describe(const struct sg_present *p);
