/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* The SDL2 window and its OpenGL context. */
#include <SDL.h>
#include <stdbool.h>
#include <stddef.h>

struct sg_window_opts {
    const char *title;
    int width, height, x, y; /* x/y -1 = centered */
    bool borderless, fullscreen, vsync, gles;
};

struct sg_window {
    SDL_Window *win;
    SDL_GLContext ctx;
    bool gles; /* the context is OpenGL ES */
    bool fullscreen;
    bool vsync;              /* swaps wait for vertical sync (asked for, and the platform can) */
    bool center_x, center_y; /* no position given: keep the window centred when it is resized */
};

/* Tries OpenGL 3.3 core, then OpenGL ES 3.0 (or only ES with opts->gles). */
bool sg_window_init(struct sg_window *w, const struct sg_window_opts *opts, char *err, size_t err_size);
void sg_window_finish(struct sg_window *w);
void sg_window_set_fullscreen(struct sg_window *w, bool on);
/* Resize to the guest size, shrunk (keeping the aspect) to fit the usable screen,
 * and centred on it along each axis no position was given for. */
void sg_window_fit(struct sg_window *w, int guest_w, int guest_h);
