/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "playback.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "log.h"
#include "playpos.h"
#include "ratectl.h"
#include "resample.h"
#include "sg_time.h"

struct sg_playback {
    struct sg_pulse *pa;
    char *device;        /* sink name, or NULL for the default */
    unsigned latency_ms; /* held above the device: audio:latencyMs + margin_ms (pulse lock to change) */
    unsigned config_ms;  /* audio:latencyMs */

    /* Pulse thread, or any thread with the pulse lock held. */
    pa_context *ctx;     /* ready context, or NULL */
    pa_stream *stream;   /* the guest stream's, or NULL */
    pa_stream *draining; /* a stopped stream playing out its last blocks */
    bool playing;
    bool failed_said;
    bool fresh;              /* a new stream, or one restarting after an underrun: its first measured block
                              * sets the level to the target */
    bool timing_wait;        /* started, but the timing the latency is read from is from before it */
    pa_operation *timing_op; /* the timing request in flight, or NULL */
    struct sg_playpos pos;   /* the device's play position, from the server's timing */
    struct timeval pos_from; /* the timing last added to pos */

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
    FILE *trace; /* SPYGLASS_AUDIO_TRACE=FILE: one line per block, the controller's view */
    uint64_t out_frames;

    pthread_mutex_t stats_mu;
    struct sg_playback_stats st;
    /* The latency each block found (stats_mu): the overlay's graph. */
    uint64_t hist_t[SG_PLAYBACK_HISTORY];
    float hist_ms[SG_PLAYBACK_HISTORY];
    uint64_t hist_n; /* blocks recorded so far; the newest at (hist_n - 1) % SG_PLAYBACK_HISTORY */
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
    pb->fresh = true;    /* and restarts short of the target, like a new stream */
    STATS(pb, {
        pb->st.underruns++;
        pb->st.playing = false;
    });
}

static void on_overflow(pa_stream *s, void *data)
{
    struct sg_playback *pb = data;
    if (s != pb->stream)
        return;
    if (pb->trace)
        fprintf(pb->trace, "# overflow %llu\n", (unsigned long long)sg_time_ns());
    STATS(pb, pb->st.overruns++);
}

static void on_timing(pa_stream *s, int success, void *data)
{
    struct sg_playback *pb = data;
    if (s == pb->stream && success)
        pb->timing_wait = false;
}

static void drop_timing(struct sg_playback *pb)
{
    if (!pb->timing_op)
        return;
    if (pa_operation_get_state(pb->timing_op) == PA_OPERATION_RUNNING)
        pa_operation_cancel(pb->timing_op);
    pa_operation_unref(pb->timing_op);
    pb->timing_op = NULL;
}

/* Fresh timing from the server for the next block's measurement (see read_latency); one
 * request at a time. Pulse lock held. */
static void ask_timing(struct sg_playback *pb, pa_stream *s, bool anew)
{
    if (pb->timing_op && (anew || pa_operation_get_state(pb->timing_op) != PA_OPERATION_RUNNING))
        drop_timing(pb);
    if (!pb->timing_op)
        pb->timing_op = pa_stream_update_timing_info(s, on_timing, pb);
}

static void on_started(pa_stream *s, void *data)
{
    struct sg_playback *pb = data;
    if (s != pb->stream)
        return;
    pb->playing = true;
    /* A latency read now would come from timing taken before the start: wait for fresh. */
    ask_timing(pb, s, true);
    sg_playpos_reset(&pb->pos);
    pb->timing_wait = pb->timing_op != NULL;
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
    drop_timing(pb);
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
    /* No PA_STREAM_INTERPOLATE_TIMING: read_latency does its own, see there. */
    pa_stream_flags_t fl = PA_STREAM_ADJUST_LATENCY;
    if (pa_stream_connect_playback(s, pb->device, &attr, fl, NULL, NULL) < 0) {
        sg_audio_warn("cannot connect the playback stream%s%s: %s", pb->device ? " to " : "",
                      pb->device ? pb->device : "", pa_strerror(pa_context_errno(pb->ctx)));
        pa_stream_unref(s);
        return;
    }
    pb->stream = s;
    pb->playing = false;
    pb->fresh = true;
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
    pb->latency_ms = pb->config_ms = latency_ms;
    sg_playpos_init(&pb->pos);
    for (unsigned i = 0; i < SG_AUDIO_MAX_CHANNELS; i++)
        pb->gain[i] = 1.0f;
    /* The window's thread reads the stats at its own (normal) priority while the SPICE thread,
     * real-time, writes them for each block: with priority inheritance a reader preempted
     * while holding the lock cannot hold up the sound. */
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setprotocol(&ma, PTHREAD_PRIO_INHERIT);
    pthread_mutex_init(&pb->stats_mu, &ma);
    pthread_mutexattr_destroy(&ma);
    pb->st.ratio = 1.0;
    const char *tr = getenv("SPYGLASS_AUDIO_TRACE");
    if (tr && *tr && !(pb->trace = fopen(tr, "w")))
        sg_audio_warn("cannot write the trace %s", tr);
    return pb;
}

void sg_playback_set_margin(struct sg_playback *pb, unsigned margin_ms)
{
    sg_pulse_lock(pb->pa);
    pb->latency_ms = pb->config_ms + margin_ms;
    sg_pulse_unlock(pb->pa);
}

void sg_playback_destroy(struct sg_playback *pb)
{
    if (!pb)
        return;
    sg_resample_destroy(pb->rs);
    if (pb->trace)
        fclose(pb->trace);
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
    drop_timing(pb);
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

/* The latency the next sample written will see: what is written (libpulse counts our writes
 * into the timing's write index) minus what has been played, from sg_playpos fed with each
 * new timing the server sends (asked for at each block, see ask_timing). Pulse lock held. */
static bool read_latency(struct sg_playback *pb, pa_stream *s, pa_usec_t *lat, pa_usec_t *dev)
{
    const pa_timing_info *ti = pa_stream_get_timing_info(s);
    const pa_sample_spec *ss = pa_stream_get_sample_spec(s);
    if (!ti || !ss || !ti->playing || ti->read_index_corrupt || ti->write_index_corrupt ||
        ti->write_index < 0 || ti->read_index < 0)
        return false;
    double now = (double)sg_time_ns() / 1e9;
    if (ti->timestamp.tv_sec != pb->pos_from.tv_sec || ti->timestamp.tv_usec != pb->pos_from.tv_usec) {
        pb->pos_from = ti->timestamp;
        double played =
            ((double)pa_bytes_to_usec((uint64_t)ti->read_index, ss) - (double)ti->sink_usec) / 1e6;
        sg_playpos_add(&pb->pos, now - (double)pa_timeval_age(&ti->timestamp) / 1e6, played);
    }
    double played, written = (double)pa_bytes_to_usec((uint64_t)ti->write_index, ss) / 1e6;
    if (!sg_playpos_at(&pb->pos, now, &played) || written < played)
        return false; /* ran dry: the underflow callback follows */
    *lat = (pa_usec_t)((written - played) * 1e6);
    *dev = ti->configured_sink_usec ? ti->configured_sink_usec : ti->sink_usec;
    return true;
}

/* Silence before the next block: a restarted stream short of the target (see sg_ratectl_jump).
 * Pulse lock held; returns the seconds added. */
static double add_silence(struct sg_playback *pb, pa_stream *s, double seconds)
{
    size_t frames = (size_t)(seconds * pb->rate);
    size_t bytes = frames * pb->channels * sizeof(int16_t);
    void *zeros = frames ? calloc(1, bytes) : NULL;
    int err = zeros ? pa_stream_write(s, zeros, bytes, NULL, 0, PA_SEEK_RELATIVE) : -1;
    free(zeros);
    return err < 0 ? 0 : (double)frames / pb->rate;
}

/* SPYGLASS_AUDIO_TRACE: one line per block that found the stream, in order (the soak pairs
 * them with the guest's puts), the controller's view of it. */
static void trace_block(struct sg_playback *pb, uint64_t now, size_t n_frames, bool have, pa_usec_t lat,
                        pa_usec_t dev, double ratio, size_t made)
{
    if (!pb->trace)
        return;
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    fprintf(pb->trace, "%llu %zu %d %llu %llu %.0f %.6f %zu %llu %ld %ld %d\n", (unsigned long long)now,
            n_frames, have, (unsigned long long)lat, (unsigned long long)dev, pb->ctl.smooth_s * 1e6, ratio,
            made, (unsigned long long)pb->out_frames, ru.ru_nvcsw, ru.ru_nivcsw, sched_getscheduler(0));
    fflush(pb->trace);
}

void sg_playback_data(struct sg_playback *pb, const int16_t *frames, size_t n_frames)
{
    if (!pb->active || !n_frames)
        return;
    size_t ch = pb->channels, out_max = sg_resample_out_max(n_frames);
    if (!grow(&pb->tmp, &pb->tmp_cap, n_frames * ch) || !grow(&pb->out, &pb->out_cap, out_max * ch))
        return;

    /* The latency the first sample of this block will see: what the server holds now. Not
     * while the stream waits for its prebuffer, nor right after it started: the first reading
     * then came from timing taken before the start (measured ~5 ms short after an underrun,
     * which left the backlog of the stall in place). */
    pa_usec_t lat = 0, dev = 0;
    bool have = false, restart = false;
    sg_pulse_lock(pb->pa);
    pa_stream *s = pb->stream;
    bool ready = s && pa_stream_get_state(s) == PA_STREAM_READY;
    if (ready && pb->playing && !pb->timing_wait && read_latency(pb, s, &lat, &dev)) {
        have = true;
        restart = pb->fresh;
        pb->fresh = false;
    }
    if (ready)
        ask_timing(pb, s, false);
    sg_pulse_unlock(pb->pa);
    if (!ready) {
        STATS(pb, pb->st.frames_in += n_frames); /* no server: the guest goes on, unheard */
        return;
    }

    uint64_t now = sg_time_ns();
    double ratio = 1.0;
    if (have) {
        pb->ctl.target_s = (pb->latency_ms * 1000.0 + (double)dev) / 1e6;
        if (restart)
            sg_ratectl_restart(&pb->ctl);
        /* A (re)started stream set to the target at once, and a backlog cut: see
         * sg_ratectl_jump. A backlog is what a break leaves (a stall of the guest's or of this
         * machine, then its blocks at once): the break is audible already, the seconds the 1 %
         * resampler would take to undo it would not be. */
        bool fault = false;
        double jump = sg_ratectl_jump(&pb->ctl, (double)lat / 1e6, &fault);
        if (jump > 0) {
            sg_pulse_lock(pb->pa);
            double added = pb->stream == s ? add_silence(pb, s, jump) : 0;
            sg_pulse_unlock(pb->pa);
            lat += (pa_usec_t)(added * 1e6);
        } else if (jump < 0) {
            size_t skip = (size_t)(-jump * pb->rate);
            if (fault && !pb->backlog_said)
                sg_audio_warn(
                    "playback %.1f ms late (after a stall): %.1f ms of sound left out to get back to "
                    "%.1f ms",
                    (double)lat / 1000.0, -jump * 1000.0, pb->ctl.target_s * 1000.0);
            pb->backlog_said = pb->backlog_said || fault;
            if (fault)
                STATS(pb, pb->st.overruns++);
            if (pb->trace)
                fprintf(pb->trace, "# trim %llu %llu %d\n", (unsigned long long)now, (unsigned long long)lat,
                        fault);
            if (skip >= n_frames) {
                /* the whole block: the next one is measured again (a restart still settles) */
                STATS(pb, pb->st.frames_in += n_frames);
                trace_block(pb, now, n_frames, have, lat, dev, pb->ctl.ratio, 0);
                return;
            }
            STATS(pb, pb->st.frames_in += skip);
            frames += skip * ch;
            n_frames -= skip;
            lat -= (pa_usec_t)((double)skip * 1e6 / pb->rate);
        }
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
    pb->out_frames += made;
    trace_block(pb, now, n_frames, have, lat, dev, ratio, made);

    STATS(pb, {
        pb->st.frames_in += n_frames;
        pb->st.ratio = ratio;
        if (have) {
            pb->hist_t[pb->hist_n % SG_PLAYBACK_HISTORY] = now;
            pb->hist_ms[pb->hist_n % SG_PLAYBACK_HISTORY] = (float)lat / 1000.0f;
            pb->hist_n++;
            pb->st.latency_ms = pb->ctl.smooth_s * 1000.0;
            pb->st.target_ms = pb->ctl.target_s * 1000.0;
            pb->st.device_ms = (double)dev / 1000.0;
        }
    });
}

size_t sg_playback_history(struct sg_playback *pb, uint64_t *next, uint64_t *t_ns, float *ms, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&pb->stats_mu);
    uint64_t from = *next;
    if (pb->hist_n > SG_PLAYBACK_HISTORY && from < pb->hist_n - SG_PLAYBACK_HISTORY)
        from = pb->hist_n - SG_PLAYBACK_HISTORY; /* older ones were overwritten */
    for (; from < pb->hist_n && n < max; from++, n++) {
        t_ns[n] = pb->hist_t[from % SG_PLAYBACK_HISTORY];
        ms[n] = pb->hist_ms[from % SG_PLAYBACK_HISTORY];
    }
    *next = from;
    pthread_mutex_unlock(&pb->stats_mu);
    return n;
}

void sg_playback_stats(struct sg_playback *pb, struct sg_playback_stats *out)
{
    STATS(pb, *out = pb->st);
}
