/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "record.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* The server hands captured audio over in blocks of this length: short, for latency. */
#define FRAGMENT_MS 5

struct sg_record {
    struct sg_pulse *pa;
    char *device;
    sg_record_data_fn fn;
    void *opaque;

    /* Pulse lock held. */
    pa_context *ctx;
    pa_stream *stream;
    bool wanted;
    unsigned channels, rate;
    bool failed_said;
    int16_t *zeros;
    size_t zeros_len;

    _Atomic bool open;
    _Atomic uint64_t frames;
};

static void drop_stream(struct sg_record *r)
{
    if (r->stream) {
        pa_stream_set_state_callback(r->stream, NULL, NULL);
        pa_stream_set_read_callback(r->stream, NULL, NULL);
        pa_stream_disconnect(r->stream);
        pa_stream_unref(r->stream);
    }
    r->stream = NULL;
    atomic_store(&r->open, false);
}

static void on_read(pa_stream *s, size_t nbytes, void *data)
{
    struct sg_record *r = data;
    const void *buf;
    size_t len;
    while (pa_stream_readable_size(s) > 0 && pa_stream_peek(s, &buf, &len) == 0 && len) {
        size_t fb = (size_t)r->channels * 2, n = len / fb;
        if (!buf) { /* a hole: the server lost data; the guest gets silence of that length */
            if (r->zeros_len < len) {
                free(r->zeros);
                r->zeros = calloc(1, len);
                r->zeros_len = r->zeros ? len : 0;
            }
            buf = r->zeros;
        }
        if (buf && n) {
            r->fn(r->opaque, buf, n, r->channels);
            atomic_fetch_add(&r->frames, n);
        }
        pa_stream_drop(s);
    }
}

static void on_state(pa_stream *s, void *data)
{
    struct sg_record *r = data;
    if (s != r->stream)
        return;
    switch (pa_stream_get_state(s)) {
    case PA_STREAM_READY:
        sg_audio_log("microphone open: capturing %u Hz, %u channel(s) from %s", r->rate, r->channels,
                     pa_stream_get_device_name(s) ? pa_stream_get_device_name(s) : "?");
        atomic_store(&r->open, true);
        r->failed_said = false;
        break;
    case PA_STREAM_FAILED:
        if (!r->failed_said)
            sg_audio_warn("the sound server refused the capture stream (%s%s%s)",
                          pa_strerror(pa_context_errno(pa_stream_get_context(s))),
                          r->device ? ", audio:micDevice=" : "", r->device ? r->device : "");
        r->failed_said = true;
        drop_stream(r);
        break;
    default:
        break;
    }
}

static void make_stream(struct sg_record *r)
{
    if (!r->ctx || r->stream || !r->wanted)
        return;
    pa_sample_spec ss = {.format = PA_SAMPLE_S16LE, .rate = r->rate, .channels = (uint8_t)r->channels};
    pa_channel_map map;
    pa_channel_map_init_extend(&map, ss.channels, PA_CHANNEL_MAP_DEFAULT);
    pa_proplist *pl = pa_proplist_new();
    pa_proplist_sets(pl, PA_PROP_MEDIA_NAME, "guest microphone");
    pa_proplist_sets(pl, PA_PROP_MEDIA_ROLE, "phone");
    pa_stream *s = pa_stream_new_with_proplist(r->ctx, "guest microphone", &ss, &map, pl);
    pa_proplist_free(pl);
    if (!s) {
        sg_audio_warn("cannot create a capture stream: %s", pa_strerror(pa_context_errno(r->ctx)));
        return;
    }
    pa_stream_set_state_callback(s, on_state, r);
    pa_stream_set_read_callback(s, on_read, r);
    pa_buffer_attr attr = {.maxlength = (uint32_t)-1,
                           .fragsize = (uint32_t)pa_usec_to_bytes(FRAGMENT_MS * 1000, &ss),
                           .tlength = (uint32_t)-1,
                           .prebuf = (uint32_t)-1,
                           .minreq = (uint32_t)-1};
    if (pa_stream_connect_record(s, r->device, &attr, PA_STREAM_ADJUST_LATENCY) < 0) {
        sg_audio_warn("cannot connect the capture stream%s%s: %s", r->device ? " to " : "",
                      r->device ? r->device : "", pa_strerror(pa_context_errno(r->ctx)));
        pa_stream_unref(s);
        return;
    }
    r->stream = s;
}

struct sg_record *sg_record_create(struct sg_pulse *pa, const char *device, sg_record_data_fn fn,
                                   void *opaque)
{
    struct sg_record *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->pa = pa;
    r->device = device && *device ? strdup(device) : NULL;
    r->fn = fn;
    r->opaque = opaque;
    return r;
}

void sg_record_destroy(struct sg_record *r)
{
    if (!r)
        return;
    free(r->device);
    free(r->zeros);
    free(r);
}

void sg_record_on_ready(struct sg_record *r, pa_context *ctx)
{
    r->ctx = ctx;
    make_stream(r);
}

void sg_record_on_lost(struct sg_record *r)
{
    drop_stream(r);
    r->ctx = NULL;
}

void sg_record_open(struct sg_record *r, unsigned channels, unsigned rate)
{
    sg_pulse_lock(r->pa);
    if (r->stream && (r->channels != channels || r->rate != rate))
        drop_stream(r);
    r->wanted = true;
    r->channels = channels;
    r->rate = rate;
    make_stream(r);
    sg_pulse_unlock(r->pa);
}

void sg_record_close(struct sg_record *r)
{
    sg_pulse_lock(r->pa);
    bool was = r->stream != NULL;
    r->wanted = false;
    drop_stream(r);
    sg_pulse_unlock(r->pa);
    if (was)
        sg_audio_log("microphone closed");
}

bool sg_record_is_open(struct sg_record *r)
{
    return r && atomic_load(&r->open);
}

uint64_t sg_record_frames(struct sg_record *r)
{
    return r ? atomic_load(&r->frames) : 0;
}
