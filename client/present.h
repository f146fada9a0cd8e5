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
 * the back buffer to the window without a swap: the back buffer then still
 * holds the whole picture, and the next partial update need only redraw what
 * the cursor left and entered (sg_present_back_whole). Where it is missing
 * (EGL, Wayland, another GLX) everything is swapped as before.
 */
#include <SDL.h>
#include <stdbool.h>

#include "render/render.h"

struct sg_present {
    SDL_Window *win;
    void *dpy;               /* X Display of the GLX drawable, when partial presents work */
    unsigned long drawable;
    void (*copy_sub)(void *dpy, unsigned long drawable, int x, int y, int w, int h);
    bool back_whole;         /* the back buffer holds exactly what the window shows */
    int swap_w, swap_h;      /* drawable size at the last whole swap */
    bool front_ok;           /* the window shows a whole picture of its present size */
};

/* With the window's context current. allow=false: whole swaps only. */
void sg_present_init(struct sg_present *p, SDL_Window *win, bool allow);
/* Whether sg_present_rects presents only the rectangles. */
bool sg_present_partial(const struct sg_present *p);
/* True when the back buffer still holds the last presented picture, so a
 * partial update may redraw only its rectangles. */
bool sg_present_back_whole(const struct sg_present *p);
/* The whole back buffer to the window (its contents are undefined after). */
void sg_present_swap(struct sg_present *p);
/* Rectangles of the back buffer (drawable pixels, top-left origin) to the
 * window; a whole swap where partial presents do not work, and the first time
 * at a new window size. */
void sg_present_rects(struct sg_present *p, const struct sg_render_rect *r, unsigned n, int fb_h);
/* "copy-sub-buffer (GLX_MESA_copy_sub_buffer)" or "swap", for the log. */
const char *sg_present_describe(const struct sg_present *p);
