/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The figures of each second (UPS, FPS, frame age when drawn, upload and
 * draw times) and the statistics file (app:statsFile) that tests and
 * benchmarks read: key=value lines, written beside and renamed into place so
 * that a reader never sees half of one.
 */
#include <stdio.h>

#include "app_private.h"

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
            "upload_ms=%.2f\ndraw_ms=%.2f\ncursor_draws=%llu\nrect_draws=%llu\nattach_attempts=%u\n"
            "refetches=%u\n",
            sg_session_state_str(app->st.state), app->st.message, app->ups, app->fps,
            (unsigned long long)app->st.frames_received, (unsigned long long)app->draws,
            (unsigned long long)app->st.cursor_updates, app->guest_w, app->guest_h,
            app->configured ? sg_kvmfr_frame_type_str(app->type) : "-",
            app->st.have_info ? app->st.info.host_version : "", app->st.have_info ? app->st.info.features : 0,
            app->st.evictions, app->st.restarts, app->st.rejected, app->age_ms, gc.x, gc.y, gc.visible,
            app->frame_error ? app->frame_msg : "", app->view.win_w, app->view.win_h,
            (unsigned long long)app->damage_frames, app->upload_ms, app->draw_ms,
            (unsigned long long)app->cursor_draws, (unsigned long long)app->rect_draws,
            app->st.attach_attempts, app->st.refetches);
    fputs(app->hook_kv, f);
    fclose(f);
    rename(tmp, app->stats_path);
}

void sg_app_tick(struct sg_app *app, uint64_t now)
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
    sg_app_update_stats_text(app);
    write_stats(app);
}
