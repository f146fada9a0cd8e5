/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The viewer's event loop: start-up and tear-down, SDL events and the escape
 * key's commands, what the session hands over each pass, and the API the
 * input hooks use. Each pass's other parts are in their own files:
 * frame_upload.c, overlay_layers.c, stats.c, draw.c (app_private.h).
 */
#include "app.h"
#include "app_private.h"

#include <SDL.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "screenshot.h"
#include "sg_log.h"
#include "sg_time.h"
#include "sg_trace.h"

/* ------------------------------------------------------ hooks' API */

SDL_Window *sg_app_window(struct sg_app *app)
{
    return app->win.win;
}
void sg_app_get_view(struct sg_app *app, struct sg_view *out)
{
    *out = app->view;
}
void sg_app_get_guest_cursor(struct sg_app *app, struct sg_guest_cursor *out)
{
    sg_session_cursor_peek(app->session, out);
}
bool sg_app_can_set_cursor_pos(struct sg_app *app)
{
    return sg_session_can_set_cursor_pos(app->session);
}
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
    SDL_Event ev = {.type = app->wake_event};
    if (SDL_PushEvent(&ev) != 1)
        atomic_store(&app->wake_pending, false);
    else
        sg_event_wait_wake(&app->events);
}

void sg_app_notice(struct sg_app *app, const char *text)
{
    snprintf(app->notice, sizeof(app->notice), "%s", text);
    app->notice_until = sg_time_ms() + NOTICE_MS;
    LOG_I("%s", text);
    app->dirty = true;
}

static void session_notify(void *ctx)
{
    sg_app_wake(ctx);
}

/* ------------------------------------------------------------ view */

void sg_app_update_view(struct sg_app *app)
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

/* --------------------------------------------------------- session */

static void handle_cursor(struct sg_app *app)
{
    struct sg_session_cursor c;
    if (!sg_session_cursor_take(app->session, &c))
        return;
    if (c.new_shape) {
        if (app->ri->cursor_shape(app->r, c.shape.w, c.shape.h, c.shape.over, c.shape.xor_px,
                                  c.shape.has_xor)) {
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
    SG_TRACE("cursor-take %d %d", c.x + c.hot_x, c.y + c.hot_y);
    if (app->hooks->on_guest_cursor) {
        struct sg_guest_cursor gc;
        sg_session_cursor_peek(app->session, &gc);
        app->hooks->on_guest_cursor(app->hook_state, &gc);
    }
}

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
        sg_app_draw(app);
    sg_app_take_frame(app);
    uint32_t id;
    enum sg_cursor_pos_result res;
    while (sg_session_cursor_pos_result(app->session, &id, &res))
        if (app->hooks->on_cursor_pos_done)
            app->hooks->on_cursor_pos_done(app->hook_state, id, res);
}

/* ---------------------------------------------------------- events */

void sg_app_save_png(struct sg_app *app, const char *path)
{
    char msg[512];
    sg_screenshot_save(app->ri, app->r, path, msg, sizeof(msg));
    sg_app_notice(app, msg);
}

static void screenshot_key(struct sg_app *app)
{
    char path[1024];
    sg_screenshot_name(path, sizeof(path), app->shot_dir, (unsigned long long)app->draws);
    sg_app_save_png(app, path);
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

static void handle_window_event(struct sg_app *app, const SDL_WindowEvent *w)
{
    const struct sg_input_hooks *h = app->hooks;
    switch (w->event) {
    case SDL_WINDOWEVENT_FOCUS_GAINED:
    case SDL_WINDOWEVENT_FOCUS_LOST:
        sg_keys_reset(&app->keys);
        if (h->on_focus)
            h->on_focus(app->hook_state, w->event == SDL_WINDOWEVENT_FOCUS_GAINED);
        break;
    case SDL_WINDOWEVENT_ENTER:
    case SDL_WINDOWEVENT_LEAVE:
        if (h->on_enter)
            h->on_enter(app->hook_state, w->event == SDL_WINDOWEVENT_ENTER);
        break;
    case SDL_WINDOWEVENT_SIZE_CHANGED:
    case SDL_WINDOWEVENT_RESIZED:
        sg_app_update_view(app);
        break;
    default:
        break;
    }
    app->dirty = true; /* exposed, shown, resized: redraw */
}

static void handle_event(struct sg_app *app, const SDL_Event *ev)
{
    const struct sg_input_hooks *h = app->hooks;
    if (ev->type == app->wake_event) {
        atomic_store(&app->wake_pending, false);
        return;
    }
    switch (ev->type) {
    case SDL_KEYDOWN:
    case SDL_KEYUP:
    case SDL_MOUSEMOTION:
    case SDL_MOUSEBUTTONDOWN:
    case SDL_MOUSEBUTTONUP:
    case SDL_MOUSEWHEEL:
    case SDL_WINDOWEVENT:
        if (app->session)
            sg_session_user_active(app->session);
        break;
    default:
        break;
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
        if (h->on_mouse_motion && h->on_mouse_motion(app->hook_state, &ev->motion))
            sg_session_input_sent(app->session);
        break;
    case SDL_MOUSEBUTTONDOWN:
    case SDL_MOUSEBUTTONUP:
        if (h->on_mouse_button && h->on_mouse_button(app->hook_state, &ev->button))
            sg_session_input_sent(app->session);
        break;
    case SDL_MOUSEWHEEL:
        if (h->on_mouse_wheel && h->on_mouse_wheel(app->hook_state, &ev->wheel))
            sg_session_input_sent(app->session);
        break;
    case SDL_WINDOWEVENT:
        handle_window_event(app, &ev->window);
        break;
    default:
        break;
    }
}

/* ------------------------------------------------------------- run */

/* The options the viewer keeps, the trace file and the escape key. 0, or the
 * exit status when one is wrong. */
static int read_options(struct sg_app *app, struct sg_options *opts)
{
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
        return 2;
    }
    SDL_Scancode esc = SDL_GetScancodeFromName(sg_options_str(opts, "input", "escapeKey"));
    sg_keys_init(&app->keys, esc);
    if (esc == SDL_SCANCODE_UNKNOWN) {
        LOG_E("input:escapeKey=%s is not an SDL key name (e.g. ScrollLock, Right Ctrl)",
              sg_options_str(opts, "input", "escapeKey"));
        return 2;
    }
    return 0;
}

static bool start_session(struct sg_app *app)
{
    struct sg_options *opts = app->opts;
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
        .input_poll_us = (unsigned)sg_options_int(opts, "app", "inputPollUs"),
        .retry_ms = (unsigned)sg_options_int(opts, "app", "retryMs"),
        .notify = session_notify,
        .ctx = app,
    };
    app->session = sg_session_create(&so);
    if (!app->session) {
        LOG_E("cannot start the session thread");
        return false;
    }
    return true;
}

static bool open_window(struct sg_app *app)
{
    struct sg_options *opts = app->opts;
    char err[512];
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
        return false;
    }
    SDL_EnableScreenSaver(); /* SDL blocks it by default; the guest decides (BLOCK_SCREENSAVER) */
    return true;
}

/* The renderer in the window, how it presents, the overlay's font and graphs. */
static bool start_renderer(struct sg_app *app)
{
    struct sg_options *opts = app->opts;
    char err[512];
    app->ri = &sg_render_gl;
    app->r = app->ri->create(app->win.gles, err, sizeof(err));
    if (!app->r) {
        LOG_E("renderer: %s", err);
        return false;
    }
    LOG_I("renderer %s: %s", app->ri->name, app->ri->describe(app->r));
    int partial_mode = sg_options_enum(opts, "win", "partialDraw"); /* yes, cursor, no */
    sg_present_init(&app->present, app->win.win, partial_mode != 2);
    /* frames as rectangles only where swaps would not wait for vsync anyway
     * (e.g. llvmpipe under Xvfb has no swap control) */
    app->frames_as_rects = partial_mode == 0 && !app->win.vsync;
    sg_event_wait_attach(&app->events, app->win.win);
    LOG_I("presenting: %s; waiting for events: %s", sg_present_describe(&app->present),
          sg_event_wait_describe(&app->events));
    app->ov = sg_overlay_create(sg_options_str(opts, "win", "font"), sg_options_int(opts, "win", "fontSize"),
                                err, sizeof(err));
    if (!app->ov)
        LOG_W("no overlay text: %s", err);
    sg_app_build_help(app);
    app->graphs = sg_graphs_create();
    app->show_graphs = sg_options_bool(opts, "win", "showGraphs");
    return true;
}

/* How long the loop may wait for an event at now (ms): until the next
 * second's figures, the hooks' next tick, the graphs' next refresh, the end
 * of a notice. */
static long wait_timeout(struct sg_app *app, uint64_t now)
{
    long timeout = app->next_tick_ms > now ? (long)(app->next_tick_ms - now) : 0;
    unsigned wake = app->hooks->wake_ms_now ? app->hooks->wake_ms_now(app->hook_state) : app->hooks->wake_ms;
    if (wake && timeout > (long)wake)
        timeout = (long)wake;
    if (app->show_graphs && timeout > GRAPHS_REFRESH_MS)
        timeout = GRAPHS_REFRESH_MS;
    if (app->notice_until > now && timeout > (long)(app->notice_until - now))
        timeout = (long)(app->notice_until - now) + 1;
    return timeout;
}

static void run_loop(struct sg_app *app)
{
    app->running = true;
    app->dirty = true;
    sg_app_update_view(app);
    while (app->running) {
        long timeout = wait_timeout(app, sg_time_ms());
        SDL_Event ev;
        bool todo = app->dirty || app->cursor_dirty || app->nframe_damage;
        if (!todo && sg_event_wait(&app->events, &ev, (int)timeout))
            handle_event(app, &ev);
        while (SDL_PollEvent(&ev))
            handle_event(app, &ev);
        poll_session(app);
        sg_app_update_status_text(app);
        if (app->hooks->on_tick)
            app->hooks->on_tick(app->hook_state);
        sg_app_tick(app, sg_time_ms());
        sg_app_update_graphs(app, sg_time_ns());
        if ((app->dirty || app->cursor_dirty || app->nframe_damage) && app->running)
            sg_app_draw(app);
    }
}

int sg_app_run(struct sg_options *opts)
{
    struct sg_app *app = calloc(1, sizeof(*app));
    if (!app)
        return 1;
    int rc = read_options(app, opts);
    if (rc)
        goto out_app;
    rc = 1;
    if (SDL_Init(SDL_INIT_EVENTS) != 0) {
        LOG_E("SDL: %s", SDL_GetError());
        goto out_app;
    }
    app->wake_event = SDL_RegisterEvents(1);
    sg_event_wait_init(&app->events);
    if (!start_session(app))
        goto out_sdl;
    if (!open_window(app))
        goto out_session;
    if (!start_renderer(app))
        goto out_win;

    app->hook_state = app->hooks->init ? app->hooks->init(app) : NULL;
    run_loop(app);
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
    sg_event_wait_finish(&app->events);
    SDL_Quit();
out_app:
    free(app);
    return rc;
}
