/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One drawing pass: the scene from the viewer's state, then what to present:
 * the cursor's and a frame's damage rectangles where only they changed and
 * the platform can present rectangles (present.c), else the whole window.
 * Also the figures of each pass (frame and cursor age when drawn, draw time).
 */
#include <stdint.h>

#include "app_private.h"
#include "draw_rects.h"
#include "sg_log.h"
#include "sg_time.h"
#include "sg_trace.h"

/* Debug timestamps for the glass-to-glass bench: a new frame, and the cursor
 * at a new place (hotspot, guest pixels), once each when first swapped. */
static void trace_drawn(struct sg_app *app, const struct sg_render_scene *s)
{
    if (!sg_trace_enabled)
        return;
    if (app->pending_age_ns)
        SG_TRACE("frame-drawn %u", app->serial);
    if (s->cursor_visible &&
        (!app->traced_cursor || app->cur.x != app->traced_x || app->cur.y != app->traced_y)) {
        app->traced_cursor = true;
        app->traced_x = app->cur.x;
        app->traced_y = app->cur.y;
        SG_TRACE("cursor-drawn %d %d", app->cur.x + app->cur.hot_x, app->cur.y + app->cur.hot_y);
    }
}

static void build_scene(struct sg_app *app, struct sg_render_scene *out)
{
    int fw, fh;
    SDL_GL_GetDrawableSize(app->win.win, &fw, &fh);
    double k = app->view.win_w > 0 ? (double)fw / app->view.win_w : 1; /* HiDPI */
    struct sg_render_scene s = {.fb_w = fw, .fb_h = fh, .linear = app->linear};
    if (app->have_frame && app->view.valid) {
        s.have_frame = true;
        s.dst_x = app->view.dst_x * k;
        s.dst_y = app->view.dst_y * k;
        s.dst_w = app->view.dst_w * k;
        s.dst_h = app->view.dst_h * k;
        s.rotation = app->rotation;
        s.dim = app->st.state != SG_SESSION_RUNNING;
        if (app->cur_shape && app->cur.known && app->cur.visible && app->st.state == SG_SESSION_RUNNING) {
            double x0, y0, x1, y1;
            sg_view_guest_to_window(&app->view, app->cur.x, app->cur.y, &x0, &y0);
            sg_view_guest_to_window(&app->view, app->cur.x + (double)app->cur_w,
                                    app->cur.y + (double)app->cur_h, &x1, &y1);
            s.cursor_visible = true;
            s.cur_x = (x0 < x1 ? x0 : x1) * k;
            s.cur_y = (y0 < y1 ? y0 : y1) * k;
            s.cur_w = (x0 < x1 ? x1 - x0 : x0 - x1) * k;
            s.cur_h = (y0 < y1 ? y1 - y0 : y0 - y1) * k;
        }
    }
    if (*app->status_text) {
        s.layer[SG_LAYER_STATUS].visible = true;
        s.layer[SG_LAYER_STATUS].x = 16;
        s.layer[SG_LAYER_STATUS].y = fh - 16 - app->layer_h[SG_LAYER_STATUS];
    }
    s.layer[SG_LAYER_STATS] = (typeof(s.layer[0])){app->show_stats, 16, 16};
    s.layer[SG_LAYER_GRAPHS] =
        (typeof(s.layer[0])){app->show_graphs && app->graphs_w, fw - 16 - (int)app->graphs_w, 16};
    if (app->show_indicator) {
        /* top right, under the graphs when they are shown there */
        int y = s.layer[SG_LAYER_GRAPHS].visible ? 24 + app->layer_h[SG_LAYER_GRAPHS] : 16;
        s.layer[SG_LAYER_INDICATOR] = (typeof(s.layer[0])){true, fw - 16 - app->indicator_w, y};
    }
    s.layer[SG_LAYER_HELP] =
        (typeof(s.layer[0])){app->show_help, 16, app->show_stats ? 24 + app->layer_h[SG_LAYER_STATS] : 16};
    *out = s;
}

/* Damage in guest pixels -> drawable pixels, widened by what filtering bleeds. */
static bool guest_rect_to_fb(const struct sg_app *app, const struct sg_render_scene *s,
                             const struct sg_render_rect *g, struct sg_render_rect *out)
{
    double x0, y0, x1, y1;
    sg_view_guest_to_window(&app->view, g->x, g->y, &x0, &y0);
    sg_view_guest_to_window(&app->view, (double)g->x + g->w, (double)g->y + g->h, &x1, &y1);
    double k = app->view.win_w > 0 ? (double)s->fb_w / app->view.win_w : 1;
    struct sg_render_scene box = {.fb_w = s->fb_w, .fb_h = s->fb_h, .cursor_visible = true};
    box.cur_x = (x0 < x1 ? x0 : x1) * k - 1;
    box.cur_y = (y0 < y1 ? y0 : y1) * k - 1;
    box.cur_w = (x0 < x1 ? x1 - x0 : x0 - x1) * k + 2;
    box.cur_h = (y0 < y1 ? y1 - y0 : y0 - y1) * k + 2;
    return sg_draw_cursor_rect(&box, out);
}

static uint64_t rects_area(const struct sg_render_rect *r, unsigned n)
{
    uint64_t a = 0;
    for (unsigned i = 0; i < n; i++)
        a += (uint64_t)r[i].w * r[i].h;
    return a;
}

/* Draws the scene and presents it. now_rect: the cursor's pixels in this
 * scene, NULL when it is not drawn. */
static void present_changes(struct sg_app *app, const struct sg_render_scene *s,
                            const struct sg_render_rect *now_rect)
{
    struct sg_render_rect rects[MAX_DRAW_RECTS], whole = {0, 0, (uint32_t)s->fb_w, (uint32_t)s->fb_h};
    /* Cursor-only updates go out as rectangles where the platform can; without
     * vsync frames do too (a copy, never a swap: it would not wait for vblank),
     * with vsync frames are swapped whole. */
    bool partial = sg_present_partial(&app->present);
    bool frames_partial = sg_present_can_rects(&app->present) && app->frames_as_rects;
    unsigned n = 0;
    if (!app->dirty && partial && (!app->nframe_damage || frames_partial)) {
        if (app->cursor_dirty && app->drawn_cursor)
            rects[n++] = app->drawn_cursor_rect;
        if (app->cursor_dirty && now_rect && !(n && sg_draw_rects_merge_nearby(&rects[0], now_rect)))
            rects[n++] = *now_rect;
        for (unsigned i = 0; i < app->nframe_damage; i++)
            n += guest_rect_to_fb(app, s, &app->frame_damage[i], &rects[n]);
        if (n) {
            /* Only the presented rectangles must be right in the back buffer (the
             * window keeps the rest), so scissored passes are enough even right
             * after a swap; they pay off for small areas, a big one is drawn whole. */
            struct sg_render_scene clipped = *s;
            if (rects_area(rects, n) * 2 < (uint64_t)s->fb_w * s->fb_h) {
                clipped.clip = rects;
                clipped.nclip = n;
            }
            app->ri->draw(app->r, &clipped);
            sg_present_rects(&app->present, rects, n, s->fb_h);
            app->rect_draws++;
            if (!app->nframe_damage)
                app->cursor_draws++;
        }
    } else {
        app->ri->draw(app->r, s);
        if (frames_partial)
            sg_present_rects(&app->present, &whole, 1, s->fb_h);
        else
            sg_present_swap(&app->present);
    }
}

/* The figures of a pass that started at t_draw: frame age when drawn (after
 * glFinish), draw time, cursor age, render time. */
static void measure_draw(struct sg_app *app, uint64_t t_draw)
{
    uint64_t t_end = sg_time_ns();
    if (app->pending_age_ns) {
        app->ri->finish(app->r); /* the age is "drawn", not "submitted" */
        t_end = sg_time_ns();
        app->age_sum_ns += t_end - app->pending_age_ns;
        app->age_n++;
        sg_graphs_add(app->graphs, SG_GRAPH_FRAME_AGE, t_end, (double)(t_end - app->pending_age_ns) / 1e6);
        app->pending_age_ns = 0;
        app->draw_sum_ns += t_end - t_draw;
        app->draw_n++;
    }
    if (app->cursor_dirty && app->cur.recv_ns && t_end > app->cur.recv_ns)
        sg_graphs_add(app->graphs, SG_GRAPH_CURSOR_AGE, t_end, (double)(t_end - app->cur.recv_ns) / 1e6);
    sg_graphs_add(app->graphs, SG_GRAPH_RENDER, t_end, (double)(t_end - t_draw) / 1e6);
}

void sg_app_draw(struct sg_app *app)
{
    uint64_t t_draw = sg_time_ns();
    struct sg_render_scene s;
    build_scene(app, &s);
    struct sg_render_rect now_rect = {0};
    bool now_drawn = sg_draw_cursor_rect(&s, &now_rect);
    present_changes(app, &s, now_drawn ? &now_rect : NULL);
    app->nframe_damage = 0;
    app->drawn_cursor = now_drawn;
    app->drawn_cursor_rect = now_rect;
    trace_drawn(app, &s);
    if (s.have_frame && !app->first_drawn) {
        /* how long a start takes to show the guest is measured on this line (bench/client/attach_time.py) */
        app->first_drawn = true;
        LOG_I("first frame drawn (%dx%d %s)", app->guest_w, app->guest_h, sg_kvmfr_frame_type_str(app->type));
    }
    measure_draw(app, t_draw);
    app->draws++;
    app->dirty = false;
    app->cursor_dirty = false;
}
