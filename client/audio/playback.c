/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "playback.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "log.h"
#include "ratectl.h"
#include "resample.h"
#include "sg_time.h"

struct sg_playback {
    struct sg_pulse *pa;
    char *device; /* sink name, or NULL for the default */
    unsigned latency_ms;

    /* Pulse thread, or any thread with the pulse lock held. */
    pa_context *ctx;     /* ready context, or NULL */
    pa_stream *stream;   /* the guest stream's, or NULL */
    pa_stream *draining; /* a stopped stream playing out its last blocks */
    bool playing;
    bool failed_said;

    /* SPICE thread. */
    bool active;
    unsigned channels, rate;
    struct sg_resample *rs;
    struct sg_ratectl ctl;
    uint64_t last_ns;
    float gain[SG_AUDIO_MAX_CHANNELS];
    bool mute;
    bool backlog_said;
    int16_t *tmp, *out;
    size_t tmp_cap, out_cap;

    pthread_mutex_t stats_mu;
    struct sg_playback_stats st;
};

#define STATS(pb, stmt)                                                                                      \
    do {                                                                                                     \
        pthread_mutex_lock(&(pb)->stats_mu);                                                                 \
        stmt;                                                                                                \
        pthread_mutex_unlock(&(pb)->stats_mu);                                                               \
    } while (0)

/* ------------------------------------------------------------ pulse thread */

static void on_underflow(pa_stream *s, void *data)
{
    struct sg_playback *pb = data;
    if (s != pb->stream)
        return;
    pb->playing = false; /* the server waits for prebuf again, then restarts */
    STATS(pb, {
        pb->st.underruns++;
        pb->st.playing = false;
    });
}

static void on_overflow(pa_stream *s, void *data)
{
    struct sg_playback *pb = data;
    if (s == pb->stream)
        STATS(pb, pb->st.overruns++);
}

static void on_started(pa_stream *s, void *data)
{
    struct sg_playback *pb = data;
    if (s != pb->stream)
        return;
    pb->playing = true;
    STATS(pb, pb->st.playing = true);
}

static void forget(pa_stream *s)
{
    pa_stream_set_state_callback(s, NULL, NULL);
    pa_stream_set_underflow_callback(s, NULL, NULL);
    pa_stream_set_overflow_callback(s, NULL, NULL);
    pa_stream_set_started_callback(s, NULL, NULL);
    pa_stream_disconnect(s);
    pa_stream_unref(s);
}

static void drop_stream(struct sg_playback *pb)
{
    if (pb->stream)
        forget(pb->stream);
    pb->stream = NULL;
    pb->playing = false;
    STATS(pb, pb->st.playing = false);
}

static void on_stream_state(pa_stream *s, void *data)
{
    struct sg_playback *pb = data;
    pa_stream_state_t st = pa_stream_get_state(s);
    if (s != pb->stream)
        return;
    if (st == PA_STREAM_READY) {
        const pa_buffer_attr *a = pa_stream_get_buffer_attr(s);
        sg_audio_log(
            "playing the guest's sound: %u Hz, %u channel(s) to %s (buffer target %u ms, prebuffer %u ms)",
            pb->rate, pb->channels, pa_stream_get_device_name(s) ? pa_stream_get_device_name(s) : "?",
            (unsigned)(pa_bytes_to_usec(a->tlength, pa_stream_get_sample_spec(s)) / 1000),
            (unsigned)(pa_bytes_to_usec(a->prebuf, pa_stream_get_sample_spec(s)) / 1000));
        pb->failed_said = false;
    } else if (st == PA_STREAM_FAILED) {
        if (!pb->failed_said)
            sg_audio_warn("the sound server refused the playback stream (%s%s%s)",
                          pa_strerror(pa_context_errno(pa_stream_get_context(s))),
                          pb->device ? ", audio:device=" : "", pb->device ? pb->device : "");
        pb->failed_said = true;
        drop_stream(pb);
    }
}

static size_t ms_to_bytes(unsigned ms, unsigned rate, unsigned channels)
{
    return (size_t)ms * rate / 1000 * channels * 2;
}

static void make_stream(struct sg_playback *pb)
{
    if (!pb->ctx || pb->stream || !pb->rate)
        return;
    pa_sample_spec ss = {.format = PA_SAMPLE_S16LE, .rate = pb->rate, .channels = (uint8_t)pb->channels};
    pa_channel_map map;
    pa_channel_map_init_extend(&map, ss.channels, PA_CHANNEL_MAP_DEFAULT);
    pa_proplist *pl = pa_proplist_new();
    pa_proplist_sets(pl, PA_PROP_MEDIA_NAME, "guest sound");
    pa_proplist_sets(pl, PA_PROP_MEDIA_ROLE, "game");
    pa_stream *s = pa_stream_new_with_proplist(pb->ctx, "guest sound", &ss, &map, pl);
    pa_proplist_free(pl);
    if (!s) {
        sg_audio_warn("cannot create a playback stream: %s", pa_strerror(pa_context_errno(pb->ctx)));
        return;
    }
    pa_stream_set_state_callback(s, on_stream_state, pb);
    pa_stream_set_underflow_callback(s, on_underflow, pb);
    pa_stream_set_overflow_callback(s, on_overflow, pb);
    pa_stream_set_started_callback(s, on_started, pb);
    uint32_t lat = (uint32_t)ms_to_bytes(pb->latency_ms, pb->rate, pb->channels);
    /* Playback starts once latencyMs is buffered; ADJUST_LATENCY lets the server size the
     * device's own buffer for that total instead of its (much larger) default. */
    pa_buffer_attr attr = {.maxlength = (uint32_t)-1,
                           .tlength = lat,
                           .prebuf = lat,
                           .minreq = (uint32_t)-1,
                           .fragsize = (uint32_t)-1};
    pa_stream_flags_t fl =
        PA_STREAM_INTERPOLATE_TIMING | PA_STREAM_AUTO_TIMING_UPDATE | PA_STREAM_ADJUST_LATENCY;
    if (pa_stream_connect_playback(s, pb->device, &attr, fl, NULL, NULL) < 0) {
        sg_audio_warn("cannot connect the playback stream%s%s: %s", pb->device ? " to " : "",
                      pb->device ? pb->device : "", pa_strerror(pa_context_errno(pb->ctx)));
        pa_stream_unref(s);
        return;
    }
    pb->stream = s;
    pb->playing = false;
}

void sg_playback_on_ready(struct sg_playback *pb, pa_context *ctx)
{
    pb->ctx = ctx;
    make_stream(pb);
}

void sg_playback_on_lost(struct sg_playback *pb)
{
    drop_stream(pb);
    if (pb->draining)
        forget(pb->draining);
    pb->draining = NULL;
    pb->ctx = NULL;
}

static void on_drained(pa_stream *s, int success, void *data)
{
    struct sg_playback *pb = data;
    if (s == pb->draining) {
        forget(s);
        pb->draining = NULL;
    }
}

/* ------------------------------------------------------------ SPICE thread */

struct sg_playback *sg_playback_create(struct sg_pulse *pa, const char *device, unsigned latency_ms)
{
    struct sg_playback *pb = calloc(1, sizeof(*pb));
    if (!pb)
        return NULL;
    pb->pa = pa;
    pb->device = device && *device ? strdup(device) : NULL;
    pb->latency_ms = latency_ms;
    for (unsigned i = 0; i < SG_AUDIO_MAX_CHANNELS; i++)
        pb->gain[i] = 1.0f;
    pthread_mutex_init(&pb->stats_mu, NULL);
    pb->st.ratio = 1.0;
    return pb;
}

void sg_playback_destroy(struct sg_playback *pb)
{
    if (!pb)
        return;
    sg_resample_destroy(pb->rs);
    free(pb->tmp);
    free(pb->out);
    free(pb->device);
    pthread_mutex_destroy(&pb->stats_mu);
    free(pb);
}

void sg_playback_start(struct sg_playback *pb, unsigned channels, unsigned rate)
{
    if (pb->active)
        sg_playback_stop(pb);
    sg_resample_destroy(pb->rs);
    pb->rs = sg_resample_create(channels, rate);
    if (!pb->rs) {
        sg_audio_warn("cannot create a resampler for %u Hz, %u channel(s): the guest stays silent", rate,
                      channels);
        return;
    }
    pb->active = true;
    pb->channels = channels;
    pb->rate = rate;
    pb->last_ns = 0;
    sg_ratectl_init(&pb->ctl, pb->latency_ms / 1000.0);
    sg_pulse_lock(pb->pa);
    make_stream(pb);
    sg_pulse_unlock(pb->pa);
    STATS(pb, {
        pb->st.active = true;
        pb->st.rate = rate;
        pb->st.channels = channels;
        pb->st.ratio = 1.0;
        pb->st.target_ms = pb->latency_ms;
        pb->st.latency_ms = 0;
    });
}

void sg_playback_stop(struct sg_playback *pb)
{
    if (!pb->active)
        return;
    pb->active = false;
    sg_pulse_lock(pb->pa);
    if (pb->stream) {
        pa_stream *s = pb->stream;
        pb->stream = NULL;
        pb->playing = false;
        if (pb->draining)
            forget(pb->draining);
        pb->draining = s;
        /* Its last blocks play out; an underflow at the end of them is no fault. */
        pa_stream_set_underflow_callback(s, NULL, NULL);
        pa_stream_set_started_callback(s, NULL, NULL);
        pa_operation *op = pa_stream_drain(s, on_drained, pb);
        if (op)
            pa_operation_unref(op);
        else {
            forget(s);
            pb->draining = NULL;
        }
    }
    sg_pulse_unlock(pb->pa);
    STATS(pb, {
        pb->st.active = false;
        pb->st.playing = false;
    });
}

void sg_playback_volume(struct sg_playback *pb, const uint16_t *vol, unsigned n)
{
    for (unsigned i = 0; i < SG_AUDIO_MAX_CHANNELS; i++)
        pb->gain[i] = n ? (float)vol[i < n ? i : n - 1] / 65535.0f : 1.0f;
}

void sg_playback_mute(struct sg_playback *pb, bool mute)
{
    pb->mute = mute;
}

static bool grow(int16_t **buf, size_t *cap, size_t samples)
{
    if (*cap >= samples)
        return true;
    int16_t *n = realloc(*buf, samples * sizeof(int16_t));
    if (!n)
        return false;
    *buf = n;
    *cap = samples;
    return true;
}

void sg_playback_data(struct sg_playback *pb, const int16_t *frames, size_t n_frames)
{
    if (!pb->active || !n_frames)
        return;
    size_t ch = pb->channels, out_max = sg_resample_out_max(n_frames);
    if (!grow(&pb->tmp, &pb->tmp_cap, n_frames * ch) || !grow(&pb->out, &pb->out_cap, out_max * ch))
        return;

    /* The latency the first sample of this block will see: what the server holds now. */
    pa_usec_t lat = 0, dev = 0;
    int neg = 0;
    bool have = false;
    sg_pulse_lock(pb->pa);
    pa_stream *s = pb->stream;
    bool ready = s && pa_stream_get_state(s) == PA_STREAM_READY;
    if (ready && pb->playing && pa_stream_get_latency(s, &lat, &neg) == 0 && !neg) {
        have = true;
        const pa_timing_info *ti = pa_stream_get_timing_info(s);
        if (ti)
            dev = ti->configured_sink_usec ? ti->configured_sink_usec : ti->sink_usec;
    }
    sg_pulse_unlock(pb->pa);
    if (!ready) {
        STATS(pb, pb->st.frames_in += n_frames); /* no server: the guest goes on, unheard */
        return;
    }

    uint64_t now = sg_time_ns();
    double ratio = 1.0;
    /* A backlog far over the target only comes from a stall (the guest's, or this thread's)
     * that has already broken the sound, followed by a burst: drop blocks until the latency
     * is back near the target, rather than keep the sound late for the many seconds the
     * resampler would take. A steady stream, however it drifts, never comes near this. */
    double cap_us =
        pb->latency_ms * 1000.0 + (double)dev + (pb->latency_ms > 40 ? pb->latency_ms : 40) * 1000.0;
    if (have && (double)lat > cap_us) {
        if (!pb->backlog_said)
            sg_audio_warn(
                "playback %.0f ms behind (a stall, then a burst): dropping blocks to get back to %.0f ms",
                (double)lat / 1000.0, (pb->latency_ms * 1000.0 + (double)dev) / 1000.0);
        pb->backlog_said = true;
        STATS(pb, {
            pb->st.frames_in += n_frames;
            pb->st.overruns++;
        });
        return;
    }
    if (have) {
        pb->ctl.target_s = (pb->latency_ms * 1000.0 + (double)dev) / 1e6;
        ratio = sg_ratectl_update(&pb->ctl, (double)lat / 1e6,
                                  pb->last_ns ? (double)(now - pb->last_ns) / 1e9 : 0);
        pb->last_ns = now;
    } else {
        sg_ratectl_reset(&pb->ctl); /* prebuffering: nothing to measure, the drift still applies */
        ratio = pb->ctl.ratio;
        pb->last_ns = 0;
    }
    sg_resample_set_ratio(pb->rs, ratio);

    const int16_t *src = frames;
    bool unity = !pb->mute;
    for (size_t c = 0; c < ch && unity; c++)
        unity = pb->gain[c] == 1.0f;
    if (!unity) {
        for (size_t i = 0; i < n_frames; i++)
            for (size_t c = 0; c < ch; c++)
                pb->tmp[i * ch + c] = pb->mute ? 0 : (int16_t)lrintf((float)frames[i * ch + c] * pb->gain[c]);
        src = pb->tmp;
    }
    size_t made = sg_resample_run(pb->rs, src, n_frames, pb->out, out_max);

    sg_pulse_lock(pb->pa);
    if (pb->stream == s && made)
        pa_stream_write(s, pb->out, made * ch * sizeof(int16_t), NULL, 0, PA_SEEK_RELATIVE);
    sg_pulse_unlock(pb->pa);

    STATS(pb, {
        pb->st.frames_in += n_frames;
        pb->st.ratio = ratio;
        if (have) {
            pb->st.latency_ms = pb->ctl.smooth_s * 1000.0;
            pb->st.target_ms = pb->ctl.target_s * 1000.0;
            pb->st.device_ms = (double)dev / 1000.0;
        }
    });
}

void sg_playback_stats(struct sg_playback *pb, struct sg_playback_stats *out)
{
    STATS(pb, *out = pb->st);
}
