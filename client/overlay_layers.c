/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the overlay's layers show: the status line (a notice, a frame error,
 * the session's state), the statistics and help boxes and the hooks'
 * indicator (sg_app_set_indicator) as text rendered by overlay.c, and the
 * latency graphs' image (graphs.c), refreshed a few times a second while shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_private.h"
#include "sg_time.h"

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

void sg_app_build_help(struct sg_app *app)
{
    char text[2048];
    sg_keys_help(sg_options_str(app->opts, "input", "escapeKey"), app->hooks->help_lines, text, sizeof(text));
    set_layer_text(app, SG_LAYER_HELP, text);
}

void sg_app_update_status_text(struct sg_app *app)
{
    char text[512] = "";
    if (app->notice_until > sg_time_ms())
        snprintf(text, sizeof(text), "%s", app->notice);
    else if (app->frame_error)
        snprintf(text, sizeof(text), "%s", app->frame_msg);
    else if (app->st.state != SG_SESSION_RUNNING)
        snprintf(text, sizeof(text), "%s", app->st.message);
    else if (!app->have_frame)
        snprintf(text, sizeof(text), "connected to host '%s'; waiting for the first frame",
                 app->st.info.host_version);
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

void sg_app_update_stats_text(struct sg_app *app)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "UPS %6.1f   FPS %6.1f\n"
             "guest %dx%d %s rot %d\n"
             "host  %s (features 0x%x)\n"
             "age   %.1f ms (received -> drawn)\n"
             "state %s",
             app->ups, app->fps, app->guest_w, app->guest_h,
             app->configured ? sg_kvmfr_frame_type_str(app->type) : "-", app->rotation * 90,
             app->st.have_info ? app->st.info.host_version : "-",
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

void sg_app_graph_audio(struct sg_app *app, uint64_t t_ns, double ms)
{
    sg_graphs_add(app->graphs, SG_GRAPH_AUDIO, t_ns, ms);
}

/* The graphs' image, a few times a second while they are shown. */
void sg_app_update_graphs(struct sg_app *app, uint64_t now_ns)
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
