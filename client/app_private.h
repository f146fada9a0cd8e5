/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The viewer's state and the calls between its files: app.c (start-up, the
 * event loop, what the session hands over, the hooks' API) and the files that
 * each do one part of a pass for it (frame_upload.c, overlay_layers.c,
 * stats.c, draw.c).
 *
 * Context: the main thread only, like the SDL event loop; the one field
 * another thread touches is wake_pending (sg_app_wake).
 */
#include <SDL.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "event_wait.h"
#include "graphs.h"
#include "input_hooks.h"
#include "keybindings.h"
#include "kvmfr.h"
#include "options.h"
#include "overlay.h"
#include "present.h"
#include "render/render.h"
#include "session.h"
#include "view.h"
#include "window.h"

#define NOTICE_MS 3000
#define GRAPHS_REFRESH_MS 100
/* Rectangles of one partial redraw: a frame's damage and the cursor's two. */
#define MAX_DRAW_RECTS (SG_KVMFR_MAX_DAMAGE_RECTS + 2)

struct sg_app {
    struct sg_options *opts;
    struct sg_window win;
    struct sg_present present;
    struct sg_event_wait events;
    const struct sg_render_impl *ri;
    struct sg_renderer *r;
    struct sg_overlay *ov;
    struct sg_session *session;
    Uint32 wake_event;
    atomic_bool wake_pending;
    bool running, dirty;
    bool cursor_dirty; /* the cursor changed since the last draw (dirty: anything may have) */
    /* frame damage (guest pixels) since the last draw, when that is all that changed */
    struct sg_render_rect frame_damage[MAX_DRAW_RECTS];
    unsigned nframe_damage;
    bool frames_as_rects; /* frames may be presented as rectangles too, not only the cursor */

    /* options */
    enum sg_scale_mode scale;
    bool linear, auto_resize;
    const char *stats_path, *shot_path, *shot_dir;

    /* frame */
    bool have_frame, configured, resized_once, frame_error;
    uint32_t type, width, data_w, data_h, serial;
    bool have_serial, last_incomplete;
    int guest_w, guest_h, rotation;
    uint32_t flags;
    bool truncated_warned, shot_done, blocking_screensaver, first_drawn;
    uint64_t pending_age_ns; /* recv time of an uploaded frame not drawn yet */
    char frame_msg[256];

    /* cursor */
    struct sg_session_cursor cur;
    bool cur_shape;
    uint32_t cur_w, cur_h;
    bool drawn_cursor; /* the last presented picture has the cursor, at drawn_cursor_rect */
    struct sg_render_rect drawn_cursor_rect;
    uint64_t cursor_draws; /* presents of the cursor's rectangles alone */
    uint64_t rect_draws;   /* presents of some rectangles (not the whole window) */
    bool traced_cursor;    /* sg_trace: the last cursor place logged as drawn */
    int traced_x, traced_y;

    /* status */
    struct sg_session_status st;
    char status_text[512];
    char notice[256];
    uint64_t notice_until;
    bool show_stats, show_help, show_graphs;
    struct sg_graphs *graphs;
    uint64_t next_graphs_ns, last_frame_recv_ns;
    uint32_t graphs_w;
    bool show_indicator;
    int indicator_w;
    char hook_stats[256], hook_kv[1024]; /* the hooks' lines (sound), refreshed every second */
    struct sg_keys keys;
    int layer_h[SG_LAYER_COUNT];
    int status_cols; /* status text wrapped for this many columns */

    /* counters */
    uint64_t damage_frames; /* frames uploaded as damage rectangles only */
    uint64_t draws, last_frames, last_draws, next_tick_ms;
    double ups, fps, age_ms;
    uint64_t age_sum_ns, age_n;
    uint64_t upload_sum_ns, upload_n, draw_sum_ns, draw_n; /* per-second sums */
    double upload_ms, draw_ms;
    char stats_text[1024];

    /* hooks */
    const struct sg_input_hooks *hooks;
    void *hook_state;
    struct sg_view view;
};

/* app.c */
/* The guest <-> window mapping for the window's size and the guest's; tells the hooks. */
void sg_app_update_view(struct sg_app *app);
/* The renderer's guest frame as a PNG at path; a notice says where, or what failed. */
void sg_app_save_png(struct sg_app *app, const char *path);

/* overlay_layers.c */
/* The help box: the escape key's bindings and the hooks' lines. */
void sg_app_build_help(struct sg_app *app);
/* The status line for the state now (wrapped to the window's width); dirty when it changed. */
void sg_app_update_status_text(struct sg_app *app);
/* The statistics box for the figures of the last second. */
void sg_app_update_stats_text(struct sg_app *app);
/* The graphs' image, a few times a second while they are shown. */
void sg_app_update_graphs(struct sg_app *app, uint64_t now_ns);

/* stats.c */
/* Once a second (now: sg_time_ms): the figures of the second that ended, the
 * statistics box and file. */
void sg_app_tick(struct sg_app *app, uint64_t now);

/* frame_upload.c */
/* The frame the session has waiting, if any, into the renderer; the rest of
 * what it says (guest size, flags) into the viewer's state. */
void sg_app_take_frame(struct sg_app *app);

/* draw.c */
/* Draws what changed and presents it: rectangles where only the cursor or a
 * frame's damage changed and the platform can, else the whole window. */
void sg_app_draw(struct sg_app *app);
