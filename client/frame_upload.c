/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A frame the session hands over, into the renderer: the frame texture
 * configured for its type and size, its rows copied into the pixel buffer
 * (all of them, or only its damage when the texture holds the frame before
 * it), then what the frame says beyond pixels: guest size and rotation,
 * activation and screensaver flags, a region too small for it, the window's
 * first fit, the first screenshot.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "app_private.h"
#include "sg_log.h"
#include "sg_time.h"

#define FB_POLLS 2000
#define FB_BUDGET (5 * FB_POLLS) /* polls for all the waits of one frame together */

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

/* The frame texture fits the frame's type and size (configured again when it
 * does not). False when the renderer refuses it. *full: every row must be
 * copied, else the frame's damage is enough. */
static bool configure(struct sg_app *app, const struct sg_kvmfr_wire_frame *h, bool *full)
{
    *full = true;
    /* packed 24-bit rows hold frame_width pixels in data_width texels; otherwise one pixel per texel */
    uint32_t width = h->type == SG_FRAME_BGR_32 ? h->frame_width : h->data_width;
    if (!app->configured || h->type != app->type || width != app->width || h->data_width != app->data_w ||
        h->data_height != app->data_h) {
        char err[256];
        app->configured = false;
        if (!app->ri->frame_configure(app->r, h->type, width, h->data_height, h->data_width, err,
                                      sizeof(err))) {
            frame_fail(app, "%s", err);
            return false;
        }
        app->configured = true;
        app->type = h->type;
        app->width = width;
        app->data_w = h->data_width;
        app->data_h = h->data_height;
    } else if (app->have_serial && h->frame_serial == app->serial + 1 && !app->last_incomplete &&
               h->damage_count > 0)
        *full = false; /* the texture holds the previous frame: damage is enough */
    return true;
}

/* Copies the frame's rows into the pixel buffer and uploads them: all, or
 * only the damage rectangles (*n of them, into rects). *ks and *rows: how the
 * copy went. False when the pixel buffer cannot be mapped. */
static bool upload(struct sg_app *app, const struct sg_session_frame *sf, bool full,
                   struct sg_render_rect *rects, unsigned *n, enum sg_kvmfr_status *ks, uint32_t *rows)
{
    const struct sg_kvmfr_wire_frame *h = &sf->frame.hdr;
    uint64_t t_upload = sg_time_ns();
    size_t pitch;
    void *dst = app->ri->frame_map(app->r, &pitch);
    if (!dst) {
        frame_fail(app, "cannot map the pixel buffer for a %ux%u frame", h->data_width, h->data_height);
        return false;
    }
    *rows = 0;
    /* B7 polls 10000 times per wait; a host that never finishes would then hold
     * this thread ~0.5 s per frame (sleeps are ~50 us, not 1 us). 2000 polls
     * still wait ~100 ms for a slow writer. A host that publishes each row
     * just in time for that would hold it rows x 100 ms: the budget of all
     * waits together (~0.5 s) ends that. */
    *ks = sg_kvmfr_frame_copy_budget(sf->payload, &sf->frame, dst, pitch, !full, FB_POLLS, 1000, FB_BUDGET,
                                     rows);
    *n = 0;
    if (!full)
        for (uint32_t i = 0; i < h->damage_count && i < SG_KVMFR_MAX_DAMAGE_RECTS; i++)
            rects[(*n)++] = (struct sg_render_rect){h->damage[i].x, h->damage[i].y, h->damage[i].width,
                                                    h->damage[i].height};
    app->ri->frame_unmap(app->r, rects, *n);
    if (*n)
        app->damage_frames++;
    app->upload_sum_ns += sg_time_ns() - t_upload;
    app->upload_n++;
    return true;
}

/* The frame's flags: a request to raise the window, and the screensaver. */
static void apply_flags(struct sg_app *app, const struct sg_kvmfr_wire_frame *h)
{
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
}

/* What happens once: the notice that the region is too small, the window's
 * fit to the guest, the screenshot of the first complete frame. */
static void first_times(struct sg_app *app, const struct sg_kvmfr_wire_frame *h)
{
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
        sg_app_save_png(app, app->shot_path);
    }
}

void sg_app_take_frame(struct sg_app *app)
{
    struct sg_session_frame sf;
    if (!sg_session_frame_take(app->session, &sf))
        return;
    const struct sg_kvmfr_frame *f = &sf.frame;
    const struct sg_kvmfr_wire_frame *h = &f->hdr;
    bool full;
    struct sg_render_rect rects[SG_KVMFR_MAX_DAMAGE_RECTS];
    unsigned n = 0;
    enum sg_kvmfr_status ks = SG_KVMFR_OK;
    uint32_t rows = 0;
    bool ok = configure(app, h, &full) && upload(app, &sf, full, rects, &n, &ks, &rows);
    if (ok && ks != SG_KVMFR_OK)
        sg_session_frame_incomplete(app->session, sf.generation);
    sg_session_frame_done(app->session, sf.generation);
    if (!ok)
        return;

    app->last_incomplete = ks != SG_KVMFR_OK;
    if (ks != SG_KVMFR_OK)
        LOG_W("frame %u incomplete (%u of %u rows): %s", h->frame_serial, rows, h->data_height,
              sg_kvmfr_status_str(ks));
    app->frame_error = false;
    app->serial = h->frame_serial;
    app->have_serial = true;
    app->have_frame = true;
    apply_flags(app, h);
    app->rotation = (int)f->rotation;
    app->guest_w = (int)h->screen_width;
    app->guest_h = (int)h->screen_height;
    app->pending_age_ns = sf.recv_ns;
    if (app->last_frame_recv_ns)
        sg_graphs_add(app->graphs, SG_GRAPH_FRAME_INTERVAL, sf.recv_ns,
                      (double)(sf.recv_ns - app->last_frame_recv_ns) / 1e6);
    app->last_frame_recv_ns = sf.recv_ns;
    first_times(app, h);
    sg_app_update_view(app);
    add_frame_damage(app, rects, n);
}
