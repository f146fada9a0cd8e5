/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "window.h"

#include <stdio.h>

#include "sg_log.h"

static bool try_context(struct sg_window *w, const struct sg_window_opts *o, bool gles, Uint32 flags)
{
    SDL_GL_ResetAttributes();
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_PROFILE_MASK,
                        gles ? SDL_GL_CONTEXT_PROFILE_ES : SDL_GL_CONTEXT_PROFILE_CORE);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MAJOR_VERSION, 3);
    SDL_GL_SetAttribute(SDL_GL_CONTEXT_MINOR_VERSION, gles ? 0 : 3);
    SDL_GL_SetAttribute(SDL_GL_DOUBLEBUFFER, 1);
    SDL_GL_SetAttribute(SDL_GL_RED_SIZE, 8);
    SDL_GL_SetAttribute(SDL_GL_GREEN_SIZE, 8);
    SDL_GL_SetAttribute(SDL_GL_BLUE_SIZE, 8);
    int x = o->x < 0 ? (int)SDL_WINDOWPOS_CENTERED : o->x, y = o->y < 0 ? (int)SDL_WINDOWPOS_CENTERED : o->y;
    w->win = SDL_CreateWindow(o->title, x, y, o->width, o->height, flags);
    if (!w->win)
        return false;
    w->ctx = SDL_GL_CreateContext(w->win);
    if (!w->ctx) {
        SDL_DestroyWindow(w->win);
        w->win = NULL;
        return false;
    }
    w->gles = gles;
    return true;
}

bool sg_window_init(struct sg_window *w, const struct sg_window_opts *o, char *err, size_t err_size)
{
    *w = (struct sg_window){0};
    SDL_SetHint(SDL_HINT_VIDEO_X11_NET_WM_BYPASS_COMPOSITOR, "0");
    if (SDL_InitSubSystem(SDL_INIT_VIDEO) != 0) {
        snprintf(err, err_size, "cannot start SDL video: %s", SDL_GetError());
        return false;
    }
    Uint32 flags = SDL_WINDOW_OPENGL | SDL_WINDOW_RESIZABLE | SDL_WINDOW_ALLOW_HIGHDPI;
    if (o->borderless)
        flags |= SDL_WINDOW_BORDERLESS;
    if (o->fullscreen)
        flags |= SDL_WINDOW_FULLSCREEN_DESKTOP;
    char first[256] = "";
    if (!o->gles && try_context(w, o, false, flags)) {
        /* ok */
    } else {
        snprintf(first, sizeof(first), "%s", SDL_GetError());
        if (!try_context(w, o, true, flags)) {
            snprintf(err, err_size, "no OpenGL 3.3 core (%s) nor OpenGL ES 3.0 context (%s)", first,
                     SDL_GetError());
            SDL_QuitSubSystem(SDL_INIT_VIDEO);
            return false;
        }
    }
    w->fullscreen = o->fullscreen;
    w->center_x = o->x < 0;
    w->center_y = o->y < 0;
    w->vsync = SDL_GL_SetSwapInterval(o->vsync ? 1 : 0) == 0 && o->vsync;
    if (o->vsync && !w->vsync)
        LOG_W("vsync not available: %s", SDL_GetError());
    return true;
}

void sg_window_finish(struct sg_window *w)
{
    if (w->ctx)
        SDL_GL_DeleteContext(w->ctx);
    if (w->win)
        SDL_DestroyWindow(w->win);
    *w = (struct sg_window){0};
    SDL_QuitSubSystem(SDL_INIT_VIDEO);
}

void sg_window_set_fullscreen(struct sg_window *w, bool on)
{
    if (SDL_SetWindowFullscreen(w->win, on ? SDL_WINDOW_FULLSCREEN_DESKTOP : 0) == 0)
        w->fullscreen = on;
}

void sg_window_fit(struct sg_window *w, int guest_w, int guest_h)
{
    if (w->fullscreen || guest_w <= 0 || guest_h <= 0)
        return;
    SDL_Rect r;
    int disp = SDL_GetWindowDisplayIndex(w->win);
    int bw = guest_w, bh = guest_h;
    int top = 0, left = 0, bottom = 0, right = 0;
    bool have_bounds = disp >= 0 && SDL_GetDisplayUsableBounds(disp, &r) == 0 && r.w > 0 && r.h > 0;
    if (have_bounds) {
        SDL_GetWindowBordersSize(w->win, &top, &left, &bottom, &right);
        int aw = r.w - left - right, ah = r.h - top - bottom;
        if (aw > 0 && ah > 0 && (bw > aw || bh > ah)) {
            double s = (double)aw / bw < (double)ah / bh ? (double)aw / bw : (double)ah / bh;
            bw = (int)(bw * s);
            bh = (int)(bh * s);
        }
    }
    SDL_SetWindowSize(w->win, bw, bh);
    if (!w->center_x && !w->center_y)
        return;
    /* Centred when created at its first size; after resizing it would keep that
     * top-left corner (a 1024x768 window shrunk to 800x600 on an 800x600 screen
     * would sit at -112,-84). The position is that of the inside, borders outside. */
    int x, y;
    SDL_GetWindowPosition(w->win, &x, &y);
    if (have_bounds) {
        if (w->center_x)
            x = r.x + (r.w - (bw + left + right)) / 2 + left;
        if (w->center_y)
            y = r.y + (r.h - (bh + top + bottom)) / 2 + top;
    } else {
        if (w->center_x)
            x = (int)SDL_WINDOWPOS_CENTERED_DISPLAY(disp < 0 ? 0 : disp);
        if (w->center_y)
            y = (int)SDL_WINDOWPOS_CENTERED_DISPLAY(disp < 0 ? 0 : disp);
    }
    SDL_SetWindowPosition(w->win, x, y);
}
