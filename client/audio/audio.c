/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "audio.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "format.h"
#include "log.h"
#include "playback.h"
#include "pulse.h"
#include "record.h"

struct sg_audio {
    struct sg_audio_config cfg;
    struct sg_audio_events ev;
    struct sg_pulse *pa;
    struct sg_playback *pb;
    struct sg_record *rec;
    _Atomic bool connected;
    bool playback_ok;     /* SPICE thread: the current guest stream is playable */
    unsigned pb_channels; /* SPICE thread */
    char bad_format[160]; /* SPICE thread: the last unplayable format said */

    pthread_mutex_t mu; /* guards what follows */
    _Atomic int mic;    /* enum sg_mic_state; also read without mu by on_captured */
    bool user_allowed;  /* prompt: the user allowed the microphone this session */
    bool guest_recording;
    unsigned rec_channels, rec_rate;
    _Atomic bool rec_mute; /* also read without mu by on_captured */
    char fault[256];
    bool fault_new;
};

bool sg_mic_policy_parse(const char *s, enum sg_mic_policy *out)
{
    static const char *const names[] = {"prompt", "allow", "deny"};
    for (int i = 0; i < 3; i++)
        if (s && !strcasecmp(s, names[i])) {
            *out = (enum sg_mic_policy)i;
            return true;
        }
    return false;
}

static void changed(struct sg_audio *a)
{
    if (a->ev.on_change)
        a->ev.on_change(a->ev.opaque);
}

static void fault(struct sg_audio *a, const char *msg)
{
    sg_audio_warn("%s", msg);
    pthread_mutex_lock(&a->mu);
    snprintf(a->fault, sizeof(a->fault), "%s", msg);
    a->fault_new = true;
    pthread_mutex_unlock(&a->mu);
    changed(a);
}

/* --------------------------------------------------------- sound server */

static void on_ready(void *opaque, pa_context *ctx)
{
    struct sg_audio *a = opaque;
    atomic_store(&a->connected, true);
    sg_playback_on_ready(a->pb, ctx);
    sg_record_on_ready(a->rec, ctx);
}

static void on_lost(void *opaque)
{
    struct sg_audio *a = opaque;
    atomic_store(&a->connected, false);
    sg_playback_on_lost(a->pb);
    sg_record_on_lost(a->rec);
}

static void on_captured(void *opaque, const int16_t *frames, size_t n, unsigned channels)
{
    struct sg_audio *a = opaque;
    /* The pulse lock is held here: a->mu is not taken (apply_mic takes them the other way). */
    bool mute = atomic_load(&a->rec_mute), open = atomic_load(&a->mic) == SG_MIC_OPEN;
    if (!open || !a->ev.on_record_data)
        return;
    if (mute) {
        int16_t zeros[1024];
        memset(zeros, 0, sizeof(zeros));
        size_t per = sizeof(zeros) / sizeof(zeros[0]) / channels;
        for (size_t done = 0; done < n; done += per)
            a->ev.on_record_data(a->ev.opaque, zeros, n - done < per ? n - done : per, channels);
        return;
    }
    a->ev.on_record_data(a->ev.opaque, frames, n, channels);
}

struct sg_audio *sg_audio_create(const struct sg_audio_config *cfg, const struct sg_audio_events *ev)
{
    struct sg_audio *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->cfg = *cfg;
    if (ev)
        a->ev = *ev;
    pthread_mutex_init(&a->mu, NULL);
    struct sg_pulse_callbacks cb = {.opaque = a, .on_ready = on_ready, .on_lost = on_lost};
    a->pa = sg_pulse_create("Spyglass", cfg->retry_ms, &cb);
    if (a->pa) {
        a->pb = sg_playback_create(a->pa, cfg->device, cfg->latency_ms);
        a->rec = sg_record_create(a->pa, cfg->mic_device, on_captured, a);
    }
    if (!a->pa || !a->pb || !a->rec) {
        sg_pulse_destroy(a->pa);
        sg_audio_warn("cannot start the sound server connection: no sound");
        sg_playback_destroy(a->pb);
        sg_record_destroy(a->rec);
        pthread_mutex_destroy(&a->mu);
        free(a);
        return NULL;
    }
    sg_pulse_start(a->pa);
    return a;
}

void sg_audio_destroy(struct sg_audio *a)
{
    if (!a)
        return;
    sg_audio_playback_stop(a);
    sg_record_close(a->rec);
    sg_pulse_destroy(a->pa); /* its thread is gone: no callback runs after this */
    sg_playback_destroy(a->pb);
    sg_record_destroy(a->rec);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* ------------------------------------------------------------ guest side */

void sg_audio_playback_margin(struct sg_audio *a, unsigned margin_ms)
{
    if (a->pb)
        sg_playback_set_margin(a->pb, margin_ms);
}

bool sg_audio_playback_start(struct sg_audio *a, int format, int channels, int rate)
{
    char why[160], msg[256];
    if (!sg_audio_format_ok(format, channels, rate, why, sizeof(why))) {
        a->playback_ok = false;
        if (strcmp(why, a->bad_format)) {
            snprintf(a->bad_format, sizeof(a->bad_format), "%s", why);
            snprintf(msg, sizeof(msg),
                     "the guest's sound cannot be played: %s; it stays silent, the rest goes on", why);
            fault(a, msg);
        }
        return false;
    }
    a->playback_ok = true;
    a->pb_channels = (unsigned)channels;
    sg_playback_start(a->pb, (unsigned)channels, (unsigned)rate);
    return true;
}

void sg_audio_playback_data(struct sg_audio *a, const void *data, size_t bytes)
{
    if (a->playback_ok)
        sg_playback_data(a->pb, data, bytes / (a->pb_channels * 2));
}

void sg_audio_playback_stop(struct sg_audio *a)
{
    a->playback_ok = false;
    sg_playback_stop(a->pb);
}

void sg_audio_playback_volume(struct sg_audio *a, const uint16_t *vol, unsigned n)
{
    sg_playback_volume(a->pb, vol, n);
}

void sg_audio_playback_mute(struct sg_audio *a, bool mute)
{
    sg_playback_mute(a->pb, mute);
}

/* Called with a->mu held: opens or closes the capture stream to match the state. */
static void apply_mic(struct sg_audio *a, enum sg_mic_state next)
{
    enum sg_mic_state was = (enum sg_mic_state)atomic_load(&a->mic);
    atomic_store(&a->mic, (int)next);
    if (next == SG_MIC_OPEN && was != SG_MIC_OPEN)
        sg_record_open(a->rec, a->rec_channels, a->rec_rate);
    else if (next != SG_MIC_OPEN && was == SG_MIC_OPEN)
        sg_record_close(a->rec);
}

void sg_audio_record_start(struct sg_audio *a, int format, int channels, int rate)
{
    char why[160], msg[256];
    if (!sg_audio_format_ok(format, channels, rate, why, sizeof(why))) {
        snprintf(msg, sizeof(msg), "the guest's microphone format cannot be captured: %s; it gets no sound",
                 why);
        fault(a, msg);
        return;
    }
    pthread_mutex_lock(&a->mu);
    if (atomic_load(&a->mic) == SG_MIC_OPEN)
        apply_mic(a, SG_MIC_IDLE); /* a new format: reopen */
    a->guest_recording = true;
    a->rec_channels = (unsigned)channels;
    a->rec_rate = (unsigned)rate;
    enum sg_mic_state next = a->cfg.mic == SG_MIC_ALLOW || a->user_allowed ? SG_MIC_OPEN
                             : a->cfg.mic == SG_MIC_DENY                   ? SG_MIC_REFUSED
                                                                           : SG_MIC_ASKING;
    apply_mic(a, next);
    pthread_mutex_unlock(&a->mu);
    if (next == SG_MIC_REFUSED)
        sg_audio_log(
            "the guest asks for the microphone (%d Hz, %d channel(s)); refused: audio:micDefault=deny", rate,
            channels);
    else if (next == SG_MIC_ASKING)
        sg_audio_log(
            "the guest asks for the microphone (%d Hz, %d channel(s)); waiting for the user to allow it",
            rate, channels);
    changed(a);
}

void sg_audio_record_stop(struct sg_audio *a)
{
    pthread_mutex_lock(&a->mu);
    a->guest_recording = false;
    apply_mic(a, SG_MIC_IDLE);
    pthread_mutex_unlock(&a->mu);
    changed(a);
}

void sg_audio_record_mute(struct sg_audio *a, bool mute)
{
    atomic_store(&a->rec_mute, mute);
}

/* ------------------------------------------------------------- user side */

void sg_audio_mic_allow(struct sg_audio *a, bool allow)
{
    pthread_mutex_lock(&a->mu);
    a->user_allowed = allow;
    if (a->guest_recording)
        apply_mic(a, allow ? SG_MIC_OPEN : SG_MIC_REFUSED);
    pthread_mutex_unlock(&a->mu);
    changed(a);
}

enum sg_mic_state sg_audio_mic_state(struct sg_audio *a)
{
    return (enum sg_mic_state)atomic_load(&a->mic);
}

void sg_audio_stats(struct sg_audio *a, struct sg_audio_stats *out)
{
    struct sg_playback_stats ps;
    sg_playback_stats(a->pb, &ps);
    *out = (struct sg_audio_stats){
        .connected = atomic_load(&a->connected),
        .playing = ps.playing,
        .latency_ms = ps.latency_ms,
        .target_ms = ps.target_ms,
        .device_ms = ps.device_ms,
        .ratio = ps.ratio,
        .underruns = ps.underruns,
        .overruns = ps.overruns,
        .frames_in = ps.frames_in,
        .rate = ps.rate,
        .channels = ps.channels,
        .mic = sg_audio_mic_state(a),
        .mic_frames = sg_record_frames(a->rec),
    };
}

size_t sg_audio_latency_history(struct sg_audio *a, uint64_t *next, uint64_t *t_ns, float *ms, size_t max)
{
    return a->pb ? sg_playback_history(a->pb, next, t_ns, ms, max) : 0;
}

bool sg_audio_take_fault(struct sg_audio *a, char *buf, size_t n)
{
    pthread_mutex_lock(&a->mu);
    bool got = a->fault_new;
    if (got)
        snprintf(buf, n, "%s", a->fault);
    a->fault_new = false;
    pthread_mutex_unlock(&a->mu);
    return got;
}
