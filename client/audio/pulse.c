/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "pulse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "thread_prio.h"

struct sg_pulse {
    pa_threaded_mainloop *ml;
    pa_mainloop_api *api;
    pa_context *ctx;
    pa_time_event *retry;
    struct sg_pulse_callbacks cb;
    char *name;
    unsigned retry_ms;
    bool ready;
    bool ever_ready;
    bool warned; /* the current outage was reported */
    bool prio_tried;
    char server[256];
};

static void connect_now(struct sg_pulse *p);

static const char *server_hint(void)
{
    const char *s = getenv("PULSE_SERVER");
    return s && *s ? s : "the default socket";
}

static void retry_fire(pa_mainloop_api *api, pa_time_event *e, const struct timeval *tv, void *data)
{
    struct sg_pulse *p = data;
    api->time_free(e);
    p->retry = NULL;
    connect_now(p);
}

static void schedule_retry(struct sg_pulse *p)
{
    if (p->retry)
        return;
    struct timeval tv;
    pa_gettimeofday(&tv);
    pa_timeval_add(&tv, (pa_usec_t)p->retry_ms * 1000);
    p->retry = p->api->time_new(p->api, &tv, retry_fire, p);
}

static void drop_context(struct sg_pulse *p)
{
    if (!p->ctx)
        return;
    pa_context_set_state_callback(p->ctx, NULL, NULL);
    pa_context_disconnect(p->ctx);
    pa_context_unref(p->ctx);
    p->ctx = NULL;
}

static void lost(struct sg_pulse *p, int err)
{
    bool was_ready = p->ready;
    p->ready = false;
    if (was_ready && p->cb.on_lost)
        p->cb.on_lost(p->cb.opaque);
    if (!p->warned) {
        if (was_ready)
            sg_audio_warn("lost the sound server (%s); no sound until it is back, reconnecting",
                          pa_strerror(err));
        else
            sg_audio_warn(
                "no sound server at %s (%s): no sound; retrying every %u ms without further messages",
                server_hint(), pa_strerror(err), p->retry_ms);
        p->warned = true;
    }
    drop_context(p);
    schedule_retry(p);
}

static void on_state(pa_context *c, void *data)
{
    struct sg_pulse *p = data;
    switch (pa_context_get_state(c)) {
    case PA_CONTEXT_READY:
        p->ready = true;
        if (!p->prio_tried) {
            /* Written blocks leave for the server from this thread. */
            char why[300];
            p->prio_tried = true;
            if (sg_thread_raise_priority(5, -10, why, sizeof(why)) == SG_PRIO_NONE)
                sg_audio_warn("the sound server thread keeps its priority (%s)", why);
        }
        snprintf(p->server, sizeof(p->server), "%s %s",
                 pa_context_get_server(c) ? pa_context_get_server(c) : "?",
                 pa_context_is_local(c) ? "(local)" : "");
        sg_audio_log("%s the sound server at %s (protocol %u)", p->ever_ready ? "back on" : "connected to",
                     p->server, pa_context_get_server_protocol_version(c));
        p->ever_ready = true;
        p->warned = false;
        if (p->cb.on_ready)
            p->cb.on_ready(p->cb.opaque, c);
        break;
    case PA_CONTEXT_FAILED:
    case PA_CONTEXT_TERMINATED:
        lost(p, pa_context_errno(c));
        break;
    default:
        break;
    }
}

static void connect_now(struct sg_pulse *p)
{
    drop_context(p);
    pa_proplist *pl = pa_proplist_new();
    pa_proplist_sets(pl, PA_PROP_APPLICATION_NAME, p->name);
    pa_proplist_sets(pl, PA_PROP_APPLICATION_ID, "spyglass-client");
    pa_proplist_sets(pl, PA_PROP_MEDIA_ROLE, "game");
    p->ctx = pa_context_new_with_proplist(p->api, p->name, pl);
    pa_proplist_free(pl);
    if (!p->ctx) {
        schedule_retry(p);
        return;
    }
    pa_context_set_state_callback(p->ctx, on_state, p);
    /* Never spawn a daemon: the user's session owns the sound server. */
    if (pa_context_connect(p->ctx, NULL, PA_CONTEXT_NOAUTOSPAWN, NULL) < 0 && p->ctx &&
        pa_context_get_state(p->ctx) != PA_CONTEXT_FAILED)
        lost(p, pa_context_errno(p->ctx)); /* else the state callback has already dealt with it */
}

static void start_cb(pa_mainloop_api *api, void *data)
{
    connect_now(data);
}

struct sg_pulse *sg_pulse_create(const char *app_name, unsigned retry_ms, const struct sg_pulse_callbacks *cb)
{
    struct sg_pulse *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->ml = pa_threaded_mainloop_new();
    p->name = strdup(app_name);
    if (!p->ml || !p->name) {
        if (p->ml)
            pa_threaded_mainloop_free(p->ml);
        free(p->name);
        free(p);
        return NULL;
    }
    pa_threaded_mainloop_set_name(p->ml, "pulse");
    p->api = pa_threaded_mainloop_get_api(p->ml);
    p->retry_ms = retry_ms ? retry_ms : 1000;
    if (cb)
        p->cb = *cb;
    if (pa_threaded_mainloop_start(p->ml) < 0) {
        pa_threaded_mainloop_free(p->ml);
        free(p->name);
        free(p);
        return NULL;
    }
    return p;
}

void sg_pulse_start(struct sg_pulse *p)
{
    pa_threaded_mainloop_lock(p->ml);
    pa_mainloop_api_once(p->api, start_cb, p);
    pa_threaded_mainloop_unlock(p->ml);
}

void sg_pulse_destroy(struct sg_pulse *p)
{
    if (!p)
        return;
    pa_threaded_mainloop_lock(p->ml);
    if (p->retry) {
        p->api->time_free(p->retry);
        p->retry = NULL;
    }
    drop_context(p);
    pa_threaded_mainloop_unlock(p->ml);
    pa_threaded_mainloop_stop(p->ml);
    pa_threaded_mainloop_free(p->ml);
    free(p->name);
    free(p);
}

void sg_pulse_lock(struct sg_pulse *p)
{
    pa_threaded_mainloop_lock(p->ml);
}
void sg_pulse_unlock(struct sg_pulse *p)
{
    pa_threaded_mainloop_unlock(p->ml);
}
pa_context *sg_pulse_context(struct sg_pulse *p)
{
    return p->ready ? p->ctx : NULL;
}
const char *sg_pulse_server(struct sg_pulse *p)
{
    return p->ready ? p->server : "";
}
