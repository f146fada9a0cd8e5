/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "app.h"

#include <SDL.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cursor.h"
#include "input_hooks.h"
#include "keybindings.h"
#include "kvmfr.h"
#include "graphs.h"
#include "overlay.h"
#include "present.h"
#include "render/render.h"
#include "screenshot.h"
#include "session.h"
#include "sg_trace.h"
#include "view.h"
#include "window.h"
#include "sg_log.h"
#include "sg_time.h"

#define NOTICE_MS 3000
#define GRAPHS_REFRESH_MS 100
/* Rectangles of one partial redraw: a frame's damage and the cursor's two. */
#define MAX_DRAW_RECTS (SG_KVMFR_MAX_DAMAGE_RECTS + 2)
#define FB_POLLS 2000
#define FB_BUDGET (5 * FB_POLLS) /* polls for all the waits of one frame together */

struct sg_app {
    struct sg_options *opts;
    struct sg_window win;
    struct sg_present present;
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
    bool drawn_cursor;      /* the last presented picture has the cursor, at drawn_cursor_rect */
    struct sg_render_rect drawn_cursor_rect;
    uint64_t cursor_draws;  /* presents of the cursor's rectangles alone */
    uint64_t rect_draws;    /* presents of some rectangles (not the whole window) */
    bool traced_cursor;     /* sg_trace: the last cursor place logged as drawn */
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

/* ------------------------------------------------------ hooks' API */

SDL_Window *sg_app_window(struct sg_app *app) { return app->win.win; }
void sg_app_get_view(struct sg_app *app, struct sg_view *out) { *out = app->view; }
void sg_app_get_guest_cursor(struct sg_app *app, struct sg_guest_cursor *out)
{
    sg_session_cursor_peek(app->session, out);
}
bool sg_app_can_set_cursor_pos(struct sg_app *app) { return sg_session_can_set_cursor_pos(app->session); }
uint32_t sg_app_set_cursor_pos(struct sg_app *app, int32_t x, int32_t y)
{
    return sg_session_set_cursor_pos(app->session, x, y);
}
const char *sg_app_option(struct sg_app *app, const char *section, const char *key)
{
    return sg_options_str(app->opts, section, key);
}

void sg_app_wake(struct sg_app *app)
{
    /* at most one wake event in the queue */
    if (atomic_exchange(&app->wake_pending, true))
        return;
    SDL_Event ev = { .type = app->wake_event };
    if (SDL_PushEvent(&ev) != 1)
        atomic_store(&app->wake_pending, false);
}

void sg_app_notice(struct sg_app *app, const char *text)
{
    snprintf(app->notice, sizeof(app->notice), "%s", text);
    app->notice_until = sg_time_ms() + NOTICE_MS;
    LOG_I("%s", text);
    app->dirty = true;
}

void sg_app_set_indicator(struct sg_app *app, const char *text)
{
    app->show_indicator = text && *text;
    if (app->show_indicator && app->ov) {
        uint8_t *px;
        uint32_t w, h;
        if (sg_overlay_render(app->ov, text, &px, &w, &h)) {
            app->ri->layer_image(app->r, SG_LAYER_INDICATOR, w, h, px);
            app->indicator_w = (int)w;
            free(px);
        }
    }
    app->dirty = true;
}

static void session_notify(void *ctx)
{
    sg_app_wake(ctx);
}

/* ------------------------------------------------------------ view */

static void update_view(struct sg_app *app)
{
    int ww, wh;
    SDL_GetWindowSize(app->win.win, &ww, &wh);
    struct sg_view v;
    sg_view_compute(&v, app->scale, ww, wh, app->guest_w, app->guest_h, app->rotation);
    if (!app->have_frame)
        v.valid = false;
    if (memcmp(&v, &app->view, sizeof(v))) {
        app->view = v;
        if (app->hooks->on_view)
            app->hooks->on_view(app->hook_state, &app->view);
        app->dirty = true;
    }
}

/* ---------------------------------------------------------- layers */

static void set_layer_text(struct sg_app *app, enum sg_render_layer layer, const char *text)
{
    uint8_t *px;
    uint32_t w, h;
    if (app->ov && sg_overlay_render(app->ov, text, &px, &w, &h)) {
        app->ri->layer_image(app->r, layer, w, h, px);
        app->layer_h[layer] = (int)h;
        free(px);
    }
}

static void build_help(struct sg_app *app)
{
    char text[2048];
    sg_keys_help(sg_options_str(app->opts, "input", "escapeKey"), app->hooks->help_lines, text, sizeof(text));
    set_layer_text(app, SG_LAYER_HELP, text);
}

static void update_status_text(struct sg_app *app)
{
    char text[512] = "";
    if (app->notice_until > sg_time_ms())
        snprintf(text, sizeof(text), "%s", app->notice);
    else if (app->frame_error)
        snprintf(text, sizeof(text), "%s", app->frame_msg);
    else if (app->st.state != SG_SESSION_RUNNING)
        snprintf(text, sizeof(text), "%s", app->st.message);
    else if (!app->have_frame)
        snprintf(text, sizeof(text), "connected to host '%s'; waiting for the first frame", app->st.info.host_version);
    int cols = 80;
    if (app->ov) {
        int ww = 0, wh = 0;
        SDL_GL_GetDrawableSize(app->win.win, &ww, &wh);
        cols = (ww - 32 - 2 * sg_overlay_padding()) / sg_overlay_char_width(app->ov);
    }
    if (strcmp(text, app->status_text) || cols != app->status_cols) {
        snprintf(app->status_text, sizeof(app->status_text), "%s", text);
        app->status_cols = cols;
        if (*text) {
            char wrapped[1024];
            sg_overlay_wrap(text, cols, wrapped, sizeof(wrapped));
            set_layer_text(app, SG_LAYER_STATUS, wrapped);
        }
        app->dirty = true;
    }
}

static void update_stats_text(struct sg_app *app)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "UPS %6.1f   FPS %6.1f\n"
             "guest %dx%d %s rot %d\n"
             "host  %s (features 0x%x)\n"
             "age   %.1f ms (received -> drawn)\n"
             "state %s",
             app->ups, app->fps, app->guest_w, app->guest_h, app->configured ? sg_kvmfr_frame_type_str(app->type) : "-",
             app->rotation * 90, app->st.have_info ? app->st.info.host_version : "-",
             app->st.have_info ? app->st.info.features : 0, app->age_ms, sg_session_state_str(app->st.state));
    if (*app->hook_stats) {
        size_t len = strlen(text);
        if (len + 1 + strlen(app->hook_stats) < sizeof(text)) {
            text[len] = '\n';
            strcpy(text + len + 1, app->hook_stats);
        }
    }
    if (strcmp(text, app->stats_text)) {
        snprintf(app->stats_text, sizeof(app->stats_text), "%s", text);
        set_layer_text(app, SG_LAYER_STATS, text);
        if (app->show_stats)
            app->dirty = true;
    }
}

/* ----------------------------------------------------------- stats */

static void write_stats(struct sg_app *app)
{
    if (!app->stats_path || !*app->stats_path)
        return;
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", app->stats_path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    struct sg_guest_cursor gc;
    sg_session_cursor_peek(app->session, &gc);
    fprintf(f,
            "state=%s\nmessage=%s\nups=%.1f\nfps=%.1f\nframes=%llu\ndraws=%llu\ncursor_updates=%llu\n"
            "guest=%dx%d\nformat=%s\nhost_version=%s\nfeatures=%u\nevictions=%u\nrestarts=%u\nrejected=%u\n"
            "frame_age_ms=%.2f\ncursor=%d,%d,%d\nframe_error=%s\nwindow=%dx%d\ndamage_frames=%llu\n"
            "upload_ms=%.2f\ndraw_ms=%.2f\ncursor_draws=%llu\nrect_draws=%llu\nattach_attempts=%u\n",
            sg_session_state_str(app->st.state), app->st.message, app->ups, app->fps,
            (unsigned long long)app->st.frames_received, (unsigned long long)app->draws,
            (unsigned long long)app->st.cursor_updates, app->guest_w, app->guest_h,
            app->configured ? sg_kvmfr_frame_type_str(app->type) : "-",
            app->st.have_info ? app->st.info.host_version : "", app->st.have_info ? app->st.info.features : 0,
            app->st.evictions, app->st.restarts, app->st.rejected, app->age_ms, gc.x, gc.y, gc.visible,
            app->frame_error ? app->frame_msg : "", app->view.win_w, app->view.win_h,
            (unsigned long long)app->damage_frames, app->upload_ms, app->draw_ms,
            (unsigned long long)app->cursor_draws, (unsigned long long)app->rect_draws, app->st.attach_attempts);
    fputs(app->hook_kv, f);
    fclose(f);
    rename(tmp, app->stats_path);
}

static void tick(struct sg_app *app, uint64_t now)
{
    if (now < app->next_tick_ms)
        return;
    double secs = app->next_tick_ms ? 1.0 + (double)(now - app->next_tick_ms) / 1000.0 : 1.0;
    app->next_tick_ms = now + 1000;
    app->ups = (double)(app->st.frames_received - app->last_frames) / secs;
    app->fps = (double)(app->draws - app->last_draws) / secs;
    app->last_frames = app->st.frames_received;
    app->last_draws = app->draws;
    if (app->age_n) /* else keep the last second that had frames */
        app->age_ms = (double)app->age_sum_ns / (double)app->age_n / 1e6;
    if (app->upload_n)
        app->upload_ms = (double)app->upload_sum_ns / (double)app->upload_n / 1e6;
    if (app->draw_n)
        app->draw_ms = (double)app->draw_sum_ns / (double)app->draw_n / 1e6;
    app->upload_sum_ns = app->upload_n = app->draw_sum_ns = app->draw_n = 0;
    app->age_sum_ns = app->age_n = 0;
    if (app->hooks->stats)
        app->hooks->stats(app->hook_state, app->hook_stats, sizeof(app->hook_stats), app->hook_kv,
                          sizeof(app->hook_kv));
    update_stats_text(app);
    write_stats(app);
}

/* The graphs' image, a few times a second while they are shown. */
static void update_graphs(struct sg_app *app, uint64_t now_ns)
{
    if (!app->show_graphs || now_ns < app->next_graphs_ns)
        return;
    app->next_graphs_ns = now_ns + GRAPHS_REFRESH_MS * 1000000ull;
    uint8_t *px;
    uint32_t w, h;
    if (sg_graphs_render(app->graphs, app->ov, now_ns, &px, &w, &h)) {
        app->ri->layer_image(app->r, SG_LAYER_GRAPHS, w, h, px);
        app->graphs_w = w;
        app->layer_h[SG_LAYER_GRAPHS] = (int)h;
        free(px);
        app->dirty = true;
    }
}

/* ---------------------------------------------------------- frames */

static void save_png(struct sg_app *app, const char *path)
{
    uint8_t *px;
    uint32_t w, h;
    char err[512];
    if (!app->ri->read_frame(app->r, &px, &w, &h)) {
        sg_app_notice(app, "screenshot: no guest frame yet");
        return;
    }
    if (sg_screenshot_write_png(path, px, w, h, err, sizeof(err))) {
        snprintf(err, sizeof(err), "saved %ux%u guest frame to %s", w, h, path);
        sg_app_notice(app, err);
    } else
        sg_app_notice(app, err);
    free(px);
}

static void frame_fail(struct sg_app *app, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void frame_fail(struct sg_app *app, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (!app->frame_error || strcmp(msg, app->frame_msg))
        LOG_W("%s", msg);
    app->frame_error = true;
    snprintf(app->frame_msg, sizeof(app->frame_msg), "%s", msg);
    app->dirty = true;
}

/* What a new frame changed on screen: its damage rectangles (guest pixels)
 * when the picture is otherwise the one on screen, else everything. */
static void add_frame_damage(struct sg_app *app, const struct sg_render_rect *r, unsigned n)
{
    if (!n || app->data_w != (uint32_t)app->guest_w || app->data_h != (uint32_t)app->guest_h ||
        app->nframe_damage + n > MAX_DRAW_RECTS - 2) {
        app->dirty = true;
        return;
    }
    memcpy(&app->frame_damage[app->nframe_damage], r, n * sizeof(*r));
    app->nframe_damage += n;
}

static void handle_frame(struct sg_app *app)
{
    struct sg_session_frame sf;
    if (!sg_session_frame_take(app->session, &sf))
        return;
    const struct sg_kvmfr_frame *f = &sf.frame;
    const struct sg_kvmfr_wire_frame *h = &f->hdr;
    bool full = true;
    /* packed 24-bit rows hold frame_width pixels in data_width texels; otherwise one pixel per texel */
    uint32_t width = h->type == SG_FRAME_BGR_32 ? h->frame_width : h->data_width;
    if (!app->configured || h->type != app->type || width != app->width || h->data_width != app->data_w ||
        h->data_height != app->data_h) {
        char err[256];
        app->configured = false;
        if (!app->ri->frame_configure(app->r, h->type, width, h->data_height, h->data_width, err, sizeof(err))) {
            frame_fail(app, "%s", err);
            sg_session_frame_done(app->session, sf.generation);
            return;
        }
        app->configured = true;
        app->type = h->type;
        app->width = width;
        app->data_w = h->data_width;
        app->data_h = h->data_height;
    } else if (app->have_serial && h->frame_serial == app->serial + 1 && !app->last_incomplete && h->damage_count > 0)
        full = false; /* the texture holds the previous frame: damage is enough */

    uint64_t t_upload = sg_time_ns();
    size_t pitch;
    void *dst = app->ri->frame_map(app->r, &pitch);
    if (!dst) {
        frame_fail(app, "cannot map the pixel buffer for a %ux%u frame", h->data_width, h->data_height);
        sg_session_frame_done(app->session, sf.generation);
        return;
    }
    uint32_t rows = 0;
    /* B7 polls 10000 times per wait; a host that never finishes would then hold
     * this thread ~0.5 s per frame (sleeps are ~50 us, not 1 us). 2000 polls
     * still wait ~100 ms for a slow writer. A host that publishes each row
     * just in time for that would hold it rows x 100 ms: the budget of all
     * waits together (~0.5 s) ends that. */
    enum sg_kvmfr_status ks =
        sg_kvmfr_frame_copy_budget(sf.payload, f, dst, pitch, !full, FB_POLLS, 1000, FB_BUDGET, &rows);
    struct sg_render_rect rects[SG_KVMFR_MAX_DAMAGE_RECTS];
    unsigned n = 0;
    if (!full)
        for (uint32_t i = 0; i < h->damage_count && i < SG_KVMFR_MAX_DAMAGE_RECTS; i++)
            rects[n++] = (struct sg_render_rect){ h->damage[i].x, h->damage[i].y, h->damage[i].width,
                                                  h->damage[i].height };
    app->ri->frame_unmap(app->r, rects, n);
    if (n)
        app->damage_frames++;
    app->upload_sum_ns += sg_time_ns() - t_upload;
    app->upload_n++;
    sg_session_frame_done(app->session, sf.generation);

    app->last_incomplete = ks != SG_KVMFR_OK;
    if (ks != SG_KVMFR_OK)
        LOG_W("frame %u incomplete (%u of %u rows): %s", h->frame_serial, rows,
                h->data_height, sg_kvmfr_status_str(ks));
    app->frame_error = false;
    app->serial = h->frame_serial;
    app->have_serial = true;
    app->have_frame = true;
    app->flags = h->flags;
    if (h->flags & SG_FRAME_FLAG_REQUEST_ACTIVATION)
        SDL_RaiseWindow(app->win.win);
    /* a level, present on every frame while the guest wants it */
    bool block = (h->flags & SG_FRAME_FLAG_BLOCK_SCREENSAVER) != 0;
    if (block != app->blocking_screensaver) {
        app->blocking_screensaver = block;
        if (block)
            SDL_DisableScreenSaver();
        else
            SDL_EnableScreenSaver();
    }
    app->rotation = (int)f->rotation;
    app->guest_w = (int)h->screen_width;
    app->guest_h = (int)h->screen_height;
    app->pending_age_ns = sf.recv_ns;
    if (app->last_frame_recv_ns)
        sg_graphs_add(app->graphs, SG_GRAPH_FRAME_INTERVAL, sf.recv_ns, (double)(sf.recv_ns - app->last_frame_recv_ns) / 1e6);
    app->last_frame_recv_ns = sf.recv_ns;
    if ((h->flags & SG_FRAME_FLAG_TRUNCATED) && !app->truncated_warned) {
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "TRUNCATED: the shared memory is too small for %ux%u frames; use at least %u MiB",
                 h->screen_width, h->screen_height, sg_kvmfr_recommended_mib(h->screen_height, h->pitch));
        sg_app_notice(app, msg);
        app->truncated_warned = true;
    }
    if (!app->resized_once && app->auto_resize) {
        if (app->rotation & 1)
            sg_window_fit(&app->win, app->guest_h, app->guest_w);
        else
            sg_window_fit(&app->win, app->guest_w, app->guest_h);
        app->resized_once = true;
    }
    if (!app->shot_done && app->shot_path && *app->shot_path && !app->last_incomplete) {
        app->shot_done = true;
        save_png(app, app->shot_path);
    }
    update_view(app);
    add_frame_damage(app, rects, n);
}

static void handle_cursor(struct sg_app *app)
{
    struct sg_session_cursor c;
    if (!sg_session_cursor_take(app->session, &c))
        return;
    if (c.new_shape) {
        if (app->ri->cursor_shape(app->r, c.shape.w, c.shape.h, c.shape.over, c.shape.xor_px, c.shape.has_xor)) {
            app->cur_shape = true;
            app->cur_w = c.shape.w;
            app->cur_h = c.shape.h;
        }
        sg_cursor_image_finish(&c.shape);
    } else if (!c.known && !c.visible)
        app->cur_shape = false; /* new session */
    c.new_shape = false;
    app->cur = c;
    app->cursor_dirty = true;
    if (app->hooks->on_guest_cursor) {
        struct sg_guest_cursor gc;
        sg_session_cursor_peek(app->session, &gc);
        app->hooks->on_guest_cursor(app->hook_state, &gc);
    }
}

static void draw(struct sg_app *app);

static void poll_session(struct sg_app *app)
{
    enum sg_session_state old = app->st.state;
    sg_session_get_status(app->session, &app->st);
    if (old != app->st.state) {
        app->dirty = true;
        if (app->hooks->on_session && (old == SG_SESSION_RUNNING || app->st.state == SG_SESSION_RUNNING))
            app->hooks->on_session(app->hook_state, app->st.state == SG_SESSION_RUNNING);
        if (app->st.state == SG_SESSION_RUNNING) {
            app->have_serial = false; /* new session: copy the next frame whole */
            app->frame_error = false;
        }
    }
    /* the cursor first, and on screen before a frame is copied: a frame never
     * queues ahead of a cursor update */
    handle_cursor(app);
    if (app->cursor_dirty && !app->dirty && app->running)
        draw(app);
    handle_frame(app);
    uint32_t id;
    enum sg_cursor_pos_result res;
    while (sg_session_cursor_pos_result(app->session, &id, &res))
        if (app->hooks->on_cursor_pos_done)
            app->hooks->on_cursor_pos_done(app->hook_state, id, res);
}

/* ------------------------------------------------------------ draw */

/* Debug timestamps for the glass-to-glass bench: a new frame, and the cursor
 * at a new place (hotspot, guest pixels), once each when first swapped. */
static void trace_drawn(struct sg_app *app, const struct sg_render_scene *s)
{
    if (!sg_trace_enabled)
        return;
    if (app->pending_age_ns)
        SG_TRACE("frame-drawn %u", app->serial);
    if (s->cursor_visible && (!app->traced_cursor || app->cur.x != app->traced_x || app->cur.y != app->traced_y)) {
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
    struct sg_render_scene s = { .fb_w = fw, .fb_h = fh, .linear = app->linear };
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
            sg_view_guest_to_window(&app->view, app->cur.x + (double)app->cur_w, app->cur.y + (double)app->cur_h, &x1,
                                    &y1);
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
    s.layer[SG_LAYER_STATS] = (typeof(s.layer[0])){ app->show_stats, 16, 16 };
    s.layer[SG_LAYER_GRAPHS] = (typeof(s.layer[0])){ app->show_graphs && app->graphs_w, fw - 16 - (int)app->graphs_w, 16 };
    if (app->show_indicator) {
        /* top right, under the graphs when they are shown there */
        int y = s.layer[SG_LAYER_GRAPHS].visible ? 24 + app->layer_h[SG_LAYER_GRAPHS] : 16;
        s.layer[SG_LAYER_INDICATOR] = (typeof(s.layer[0])){ true, fw - 16 - app->indicator_w, y };
    }
    s.layer[SG_LAYER_HELP] =
        (typeof(s.layer[0])){ app->show_help, 16, app->show_stats ? 24 + app->layer_h[SG_LAYER_STATS] : 16 };
    *out = s;
}

/* The pixels the cursor covers: whole pixels, one more on each side for what
 * linear filtering bleeds, inside the drawable. False when not drawn. */
static bool cursor_rect(const struct sg_render_scene *s, struct sg_render_rect *out)
{
    if (!s->cursor_visible)
        return false;
    double x0 = floor(s->cur_x) - 1, y0 = floor(s->cur_y) - 1;
    double x1 = ceil(s->cur_x + s->cur_w) + 1, y1 = ceil(s->cur_y + s->cur_h) + 1;
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > s->fb_w ? s->fb_w : x1;
    y1 = y1 > s->fb_h ? s->fb_h : y1;
    if (x1 <= x0 || y1 <= y0)
        return false;
    *out = (struct sg_render_rect){ (uint32_t)x0, (uint32_t)y0, (uint32_t)(x1 - x0), (uint32_t)(y1 - y0) };
    return true;
}

/* Damage in guest pixels -> drawable pixels, widened by what filtering bleeds. */
static bool guest_rect_to_fb(const struct sg_app *app, const struct sg_render_scene *s, const struct sg_render_rect *g,
                             struct sg_render_rect *out)
{
    double x0, y0, x1, y1;
    sg_view_guest_to_window(&app->view, g->x, g->y, &x0, &y0);
    sg_view_guest_to_window(&app->view, (double)g->x + g->w, (double)g->y + g->h, &x1, &y1);
    double k = app->view.win_w > 0 ? (double)s->fb_w / app->view.win_w : 1;
    struct sg_render_scene box = { .fb_w = s->fb_w, .fb_h = s->fb_h, .cursor_visible = true };
    box.cur_x = (x0 < x1 ? x0 : x1) * k - 1;
    box.cur_y = (y0 < y1 ? y0 : y1) * k - 1;
    box.cur_w = (x0 < x1 ? x1 - x0 : x0 - x1) * k + 2;
    box.cur_h = (y0 < y1 ? y1 - y0 : y0 - y1) * k + 2;
    return cursor_rect(&box, out);
}

static uint64_t rects_area(const struct sg_render_rect *r, unsigned n)
{
    uint64_t a = 0;
    for (unsigned i = 0; i < n; i++)
        a += (uint64_t)r[i].w * r[i].h;
    return a;
}

static void draw(struct sg_app *app)
{
    uint64_t t_draw = sg_time_ns();
    struct sg_render_scene s;
    build_scene(app, &s);
    struct sg_render_rect now_rect = { 0 }, rects[MAX_DRAW_RECTS], whole = { 0, 0, (uint32_t)s.fb_w, (uint32_t)s.fb_h };
    bool now_drawn = cursor_rect(&s, &now_rect);
    /* Cursor-only updates go out as rectangles where the platform can; without
     * vsync frames do too (a copy, never a swap: it would not wait for vblank),
     * with vsync frames are swapped whole. */
    bool partial = sg_present_partial(&app->present);
    bool frames_partial = sg_present_can_rects(&app->present) && app->frames_as_rects;
    unsigned n = 0;
    if (!app->dirty && partial && (!app->nframe_damage || frames_partial)) {
        if (app->cursor_dirty && app->drawn_cursor)
            rects[n++] = app->drawn_cursor_rect;
        if (app->cursor_dirty && now_drawn)
            rects[n++] = now_rect;
        for (unsigned i = 0; i < app->nframe_damage; i++)
            n += guest_rect_to_fb(app, &s, &app->frame_damage[i], &rects[n]);
        if (n) {
            /* Only the presented rectangles must be right in the back buffer (the
             * window keeps the rest), so scissored passes are enough even right
             * after a swap; they pay off for small areas, a big one is drawn whole. */
            if (rects_area(rects, n) * 2 < (uint64_t)s.fb_w * s.fb_h) {
                s.clip = rects;
                s.nclip = n;
            }
            app->ri->draw(app->r, &s);
            sg_present_rects(&app->present, rects, n, s.fb_h);
            app->rect_draws++;
            if (!app->nframe_damage)
                app->cursor_draws++;
        }
    } else {
        app->ri->draw(app->r, &s);
        if (frames_partial)
            sg_present_rects(&app->present, &whole, 1, s.fb_h);
        else
            sg_present_swap(&app->present);
    }
    app->nframe_damage = 0;
    app->drawn_cursor = now_drawn;
    app->drawn_cursor_rect = now_rect;
    trace_drawn(app, &s);
    if (s.have_frame && !app->first_drawn) {
        /* how long a start takes to show the guest is measured on this line (bench/client/attach_time.py) */
        app->first_drawn = true;
        LOG_I("first frame drawn (%dx%d %s)", app->guest_w, app->guest_h, sg_kvmfr_frame_type_str(app->type));
    }
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
    app->draws++;
    app->dirty = false;
    app->cursor_dirty = false;
}

/* ---------------------------------------------------------- events */

static void screenshot_key(struct sg_app *app)
{
    char path[1024];
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
    snprintf(path, sizeof(path), "%s/spyglass-%s-%llu.png", app->shot_dir, stamp, (unsigned long long)app->draws);
    save_png(app, path);
}

static void key_command(struct sg_app *app, enum sg_key_cmd cmd)
{
    switch (cmd) {
    case SG_KEY_QUIT:
        app->running = false;
        break;
    case SG_KEY_FULLSCREEN:
        sg_window_set_fullscreen(&app->win, !app->win.fullscreen);
        break;
    case SG_KEY_STATS:
        app->show_stats = !app->show_stats;
        break;
    case SG_KEY_HELP:
        app->show_help = !app->show_help;
        break;
    case SG_KEY_GRAPHS:
        app->show_graphs = !app->show_graphs;
        app->next_graphs_ns = 0;
        break;
    case SG_KEY_SCREENSHOT:
        screenshot_key(app);
        break;
    case SG_KEY_NONE:
        break;
    }
    app->dirty = true;
}

static void handle_key(struct sg_app *app, const SDL_KeyboardEvent *k)
{
    enum sg_key_cmd cmd = SG_KEY_NONE;
    SDL_Keycode key = 0;
    switch (sg_keys_feed(&app->keys, k, &cmd, &key)) {
    case SG_KEYS_PASS:
        if (app->hooks->on_key)
            app->hooks->on_key(app->hook_state, k);
        break;
    case SG_KEYS_COMMAND:
        key_command(app, cmd);
        break;
    case SG_KEYS_UNBOUND:
    case SG_KEYS_ESCAPE_TAP:
        if (app->hooks->on_escape)
            app->hooks->on_escape(app->hook_state, key);
        break;
    case SG_KEYS_CONSUMED:
        break;
    }
}

static void handle_event(struct sg_app *app, const SDL_Event *ev)
{
    const struct sg_input_hooks *h = app->hooks;
    if (ev->type == app->wake_event) {
        atomic_store(&app->wake_pending, false);
        return;
    }
    switch (ev->type) {
    case SDL_QUIT:
        app->running = false;
        break;
    case SDL_KEYDOWN:
    case SDL_KEYUP:
        handle_key(app, &ev->key);
        break;
    case SDL_MOUSEMOTION:
        if (h->on_mouse_motion)
            h->on_mouse_motion(app->hook_state, &ev->motion);
        break;
    case SDL_MOUSEBUTTONDOWN:
    case SDL_MOUSEBUTTONUP:
        if (h->on_mouse_button)
            h->on_mouse_button(app->hook_state, &ev->button);
        break;
    case SDL_MOUSEWHEEL:
        if (h->on_mouse_wheel)
            h->on_mouse_wheel(app->hook_state, &ev->wheel);
        break;
    case SDL_WINDOWEVENT:
        switch (ev->window.event) {
        case SDL_WINDOWEVENT_FOCUS_GAINED:
        case SDL_WINDOWEVENT_FOCUS_LOST:
            sg_keys_reset(&app->keys);
            if (h->on_focus)
                h->on_focus(app->hook_state, ev->window.event == SDL_WINDOWEVENT_FOCUS_GAINED);
            break;
        case SDL_WINDOWEVENT_ENTER:
        case SDL_WINDOWEVENT_LEAVE:
            if (h->on_enter)
                h->on_enter(app->hook_state, ev->window.event == SDL_WINDOWEVENT_ENTER);
            break;
        case SDL_WINDOWEVENT_SIZE_CHANGED:
        case SDL_WINDOWEVENT_RESIZED:
            update_view(app);
            break;
        default:
            break;
        }
        app->dirty = true; /* exposed, shown, resized: redraw */
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------- run */

int sg_app_run(struct sg_options *opts)
{
    struct sg_app *app = calloc(1, sizeof(*app));
    if (!app)
        return 1;
    int rc = 1;
    char err[512];
    app->opts = opts;
    app->hooks = &sg_input_hooks;
    app->scale = (enum sg_scale_mode)sg_options_enum(opts, "win", "scaling");
    app->linear = sg_options_enum(opts, "win", "filter") == 0;
    app->auto_resize = sg_options_bool(opts, "win", "autoResize");
    app->show_stats = sg_options_bool(opts, "win", "showFPS");
    app->stats_path = sg_options_str(opts, "app", "statsFile");
    app->shot_path = sg_options_str(opts, "app", "screenshot");
    app->shot_dir = sg_options_str(opts, "app", "screenshotDir");
    const char *trace = sg_options_str(opts, "app", "traceFile");
    if (*trace && !sg_trace_open(trace, err, sizeof(err))) {
        LOG_E("%s", err);
        free(app);
        return 2;
    }
    SDL_Scancode esc = SDL_GetScancodeFromName(sg_options_str(opts, "input", "escapeKey"));
    sg_keys_init(&app->keys, esc);
    if (esc == SDL_SCANCODE_UNKNOWN) {
        LOG_E("input:escapeKey=%s is not an SDL key name (e.g. ScrollLock, Right Ctrl)",
                sg_options_str(opts, "input", "escapeKey"));
        free(app);
        return 2;
    }

    if (SDL_Init(SDL_INIT_EVENTS) != 0) {
        LOG_E("SDL: %s", SDL_GetError());
        free(app);
        return 1;
    }
    app->wake_event = SDL_RegisterEvents(1);
    /* The session attaches on its own thread while the window and its OpenGL
     * context come up (a few hundred ms with a software renderer): the first
     * frame is then waiting when the loop starts. It only needs SDL's event
     * queue to wake the loop. Like B7: the kvmfr device when present, unless
     * a path was given. */
    const char *path = sg_options_str(opts, "app", "shmFile");
    if (!sg_options_is_set(opts, "app", "shmFile") && access("/dev/kvmfr0", R_OK | W_OK) == 0)
        path = "/dev/kvmfr0";
    struct sg_session_opts so = {
        .path = path,
        .poll_us = (unsigned)sg_options_int(opts, "app", "pollUs"),
        .retry_ms = (unsigned)sg_options_int(opts, "app", "retryMs"),
        .notify = session_notify,
        .ctx = app,
    };
    app->session = sg_session_create(&so);
    if (!app->session) {
        LOG_E("cannot start the session thread");
        goto out_sdl;
    }
    struct sg_window_opts wo = {
        .title = sg_options_str(opts, "win", "title"),
        .width = sg_options_int(opts, "win", "width"),
        .height = sg_options_int(opts, "win", "height"),
        .x = sg_options_int(opts, "win", "x"),
        .y = sg_options_int(opts, "win", "y"),
        .borderless = sg_options_bool(opts, "win", "borderless"),
        .fullscreen = sg_options_bool(opts, "win", "fullScreen"),
        .vsync = sg_options_bool(opts, "win", "vsync"),
        .gles = sg_options_bool(opts, "win", "gles"),
    };
    if (!sg_window_init(&app->win, &wo, err, sizeof(err))) {
        LOG_E("%s", err);
        goto out_session;
    }
    SDL_EnableScreenSaver(); /* SDL blocks it by default; the guest decides (BLOCK_SCREENSAVER) */
    app->ri = &sg_render_gl;
    app->r = app->ri->create(app->win.gles, err, sizeof(err));
    if (!app->r) {
        LOG_E("renderer: %s", err);
        goto out_win;
    }
    LOG_I("renderer %s: %s", app->ri->name, app->ri->describe(app->r));
    int partial_mode = sg_options_enum(opts, "win", "partialDraw"); /* yes, cursor, no */
    sg_present_init(&app->present, app->win.win, partial_mode != 2);
    /* frames as rectangles only where swaps would not wait for vsync anyway
     * (e.g. llvmpipe under Xvfb has no swap control) */
    app->frames_as_rects = partial_mode == 0 && !app->win.vsync;
    LOG_I("presenting: %s", sg_present_describe(&app->present));
    app->ov = sg_overlay_create(sg_options_str(opts, "win", "font"), sg_options_int(opts, "win", "fontSize"), err,
                                sizeof(err));
    if (!app->ov)
        LOG_W("no overlay text: %s", err);
    build_help(app);
    app->graphs = sg_graphs_create();
    app->show_graphs = sg_options_bool(opts, "win", "showGraphs");

    app->hook_state = app->hooks->init ? app->hooks->init(app) : NULL;

    app->running = true;
    app->dirty = true;
    update_view(app);
    while (app->running) {
        uint64_t now = sg_time_ms();
        long timeout = app->next_tick_ms > now ? (long)(app->next_tick_ms - now) : 0;
        unsigned wake = app->hooks->wake_ms_now ? app->hooks->wake_ms_now(app->hook_state) : app->hooks->wake_ms;
        if (wake && timeout > (long)wake)
            timeout = (long)wake;
        if (app->show_graphs && timeout > GRAPHS_REFRESH_MS)
            timeout = GRAPHS_REFRESH_MS;
        if (app->notice_until > now && timeout > (long)(app->notice_until - now))
            timeout = (long)(app->notice_until - now) + 1;
        SDL_Event ev;
        bool todo = app->dirty || app->cursor_dirty || app->nframe_damage;
        if (!todo && SDL_WaitEventTimeout(&ev, (int)timeout))
            handle_event(app, &ev);
        while (SDL_PollEvent(&ev))
            handle_event(app, &ev);
        poll_session(app);
        update_status_text(app);
        if (app->hooks->on_tick)
            app->hooks->on_tick(app->hook_state);
        tick(app, sg_time_ms());
        update_graphs(app, sg_time_ns());
        if ((app->dirty || app->cursor_dirty || app->nframe_damage) && app->running)
            draw(app);
    }
    rc = 0;
    if (app->hooks->finish)
        app->hooks->finish(app->hook_state);
    sg_overlay_destroy(app->ov);
    sg_graphs_destroy(app->graphs);
    app->ri->destroy(app->r);
out_win:
    sg_window_finish(&app->win);
out_session:
    sg_session_destroy(app->session);
out_sdl:
    SDL_Quit();
    free(app);
    return rc;
}
