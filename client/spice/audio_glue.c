/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "audio_glue.h"

#include <spice-client.h>
#include <stdio.h>
#include <string.h>

#include "audio/audio.h"
#include "audio/log.h"
#include "audio/thread_prio.h"

/* Extra playback latency when the SPICE thread gets neither real-time nor a raised nice level. */
#define SG_AUDIO_UNPRIVILEGED_MARGIN_MS 10u

/* Captured audio waiting for the SPICE thread; bounded so a stalled connection cannot make
 * it grow: 200 ms at 48 kHz stereo, then the oldest is dropped (and counted). */
#define PENDING_MAX (48000 / 5 * 4)

struct sg_spice_audio {
    struct sg_audio *audio;
    /* SPICE thread. */
    SpicePlaybackChannel *playback;
    SpiceRecordChannel *record;
    bool playing;
    bool prio_tried;
    bool debug; /* SPYGLASS_AUDIO_DEBUG=1: blocks that come late */
    gint64 last_data_us;

    GMutex mu; /* guards pending, idle_queued */
    GByteArray *pending;
    bool idle_queued;
    guint64 dropped;
};

struct sg_spice_audio *sg_spice_audio_create(struct sg_audio *audio)
{
    struct sg_spice_audio *sa = g_new0(struct sg_spice_audio, 1);
    sa->audio = audio;
    sa->debug = g_strcmp0(g_getenv("SPYGLASS_AUDIO_DEBUG"), "1") == 0;
    g_mutex_init(&sa->mu);
    sa->pending = g_byte_array_new();
    return sa;
}

void sg_spice_audio_destroy(struct sg_spice_audio *sa)
{
    if (!sa)
        return;
    g_byte_array_unref(sa->pending);
    g_mutex_clear(&sa->mu);
    g_free(sa);
}

/* ---------------------------------------------------------------- playback */

static void on_pb_start(SpicePlaybackChannel *ch, gint format, gint channels, gint rate, gpointer data)
{
    struct sg_spice_audio *sa = data;
    if (!sa->prio_tried) {
        /* Blocks reach the sound server from this thread: on a busy machine a late wake-up
         * of it is a gap in the sound, as with any desktop sound client. */
        char why[300];
        sa->prio_tried = true;
        switch (sg_thread_raise_priority(5, -10, why, sizeof(why))) {
        case SG_PRIO_REALTIME:
            sg_audio_log("the SPICE thread runs real-time (SCHED_RR 5)");
            break;
        case SG_PRIO_NICE:
            sg_audio_log("the SPICE thread runs at nice -10 (real-time refused)");
            break;
        case SG_PRIO_NONE:
            /* Measured with two busy loops on two cores: blocks then reach the sound server up
             * to ~17 ms late, past the ~15 ms of lateness the default target absorbs; with
             * real-time or nice -10 they came within 2 ms (doc/audio.md). */
            sg_audio_warn(
                "the SPICE thread keeps its priority (%s): holding %u ms more latency so that a busy "
                "machine does not break the sound up",
                why, SG_AUDIO_UNPRIVILEGED_MARGIN_MS);
            sg_audio_playback_margin(sa->audio, SG_AUDIO_UNPRIVILEGED_MARGIN_MS);
            break;
        }
    }
    sa->playing = sg_audio_playback_start(sa->audio, format, channels, rate);
}

static void on_pb_data(SpicePlaybackChannel *ch, gpointer bytes, gint size, gpointer data)
{
    struct sg_spice_audio *sa = data;
    if (!sa->playing || size <= 0)
        return;
    if (sa->debug) {
        gint64 now = g_get_monotonic_time();
        if (sa->last_data_us && now - sa->last_data_us > 15000)
            sg_audio_log("debug: %.1f ms since the previous block (%d bytes)",
                         (double)(now - sa->last_data_us) / 1000.0, size);
        sa->last_data_us = now;
    }
    sg_audio_playback_data(sa->audio, bytes, (size_t)size);
    /* The guest delays its video by this much to keep lips in sync. */
    struct sg_audio_stats st;
    sg_audio_stats(sa->audio, &st);
    if (st.latency_ms > 0)
        spice_playback_channel_set_delay(ch, (guint32)(st.latency_ms + 0.5));
}

static void on_pb_stop(SpicePlaybackChannel *ch, gpointer data)
{
    struct sg_spice_audio *sa = data;
    sa->playing = false;
    sg_audio_playback_stop(sa->audio);
}

static void on_pb_volume(GObject *obj, GParamSpec *ps, gpointer data)
{
    struct sg_spice_audio *sa = data;
    guint16 *vol = NULL;
    guint n = 0;
    g_object_get(obj, "volume", &vol, "nchannels", &n, NULL);
    if (vol && n)
        sg_audio_playback_volume(sa->audio, vol, n);
}

static void on_pb_mute(GObject *obj, GParamSpec *ps, gpointer data)
{
    struct sg_spice_audio *sa = data;
    gboolean mute = FALSE;
    g_object_get(obj, "mute", &mute, NULL);
    sg_audio_playback_mute(sa->audio, mute);
}

/* ------------------------------------------------------------------ record */

static void on_rec_start(SpiceRecordChannel *ch, gint format, gint channels, gint rate, gpointer data)
{
    struct sg_spice_audio *sa = data;
    g_mutex_lock(&sa->mu);
    g_byte_array_set_size(sa->pending, 0);
    g_mutex_unlock(&sa->mu);
    sg_audio_record_start(sa->audio, format, channels, rate);
}

static void on_rec_stop(SpiceRecordChannel *ch, gpointer data)
{
    struct sg_spice_audio *sa = data;
    sg_audio_record_stop(sa->audio);
}

static void on_rec_mute(GObject *obj, GParamSpec *ps, gpointer data)
{
    struct sg_spice_audio *sa = data;
    gboolean mute = FALSE;
    g_object_get(obj, "mute", &mute, NULL);
    sg_audio_record_mute(sa->audio, mute);
}

static gboolean send_pending(gpointer data)
{
    struct sg_spice_audio *sa = data;
    g_mutex_lock(&sa->mu);
    GByteArray *out = sa->pending;
    sa->pending = g_byte_array_new();
    sa->idle_queued = false;
    g_mutex_unlock(&sa->mu);
    if (sa->record && out->len)
        spice_record_channel_send_data(sa->record, out->data, out->len, 0);
    g_byte_array_unref(out);
    return G_SOURCE_REMOVE;
}

void sg_spice_audio_record_data(void *opaque, const int16_t *frames, size_t n_frames, unsigned channels)
{
    struct sg_spice_audio *sa = opaque;
    size_t bytes = n_frames * channels * 2;
    g_mutex_lock(&sa->mu);
    if (sa->pending->len + bytes > PENDING_MAX) {
        sa->dropped += sa->pending->len;
        g_byte_array_set_size(sa->pending, 0);
    }
    g_byte_array_append(sa->pending, (const guint8 *)frames, (guint)bytes);
    bool queue = !sa->idle_queued;
    sa->idle_queued = true;
    g_mutex_unlock(&sa->mu);
    if (queue)
        g_idle_add_full(G_PRIORITY_HIGH, send_pending, sa, NULL);
}

/* ---------------------------------------------------------------- channels */

void sg_spice_audio_channel(void *opaque, void *channel, bool open)
{
    struct sg_spice_audio *sa = opaque;
    SpiceChannel *ch = channel;
    if (!sa)
        return;
    if (SPICE_IS_PLAYBACK_CHANNEL(ch)) {
        if (open) {
            sa->playback = SPICE_PLAYBACK_CHANNEL(ch);
            g_signal_connect(ch, "playback-start", G_CALLBACK(on_pb_start), sa);
            g_signal_connect(ch, "playback-data", G_CALLBACK(on_pb_data), sa);
            g_signal_connect(ch, "playback-stop", G_CALLBACK(on_pb_stop), sa);
            g_signal_connect(ch, "notify::volume", G_CALLBACK(on_pb_volume), sa);
            g_signal_connect(ch, "notify::mute", G_CALLBACK(on_pb_mute), sa);
            spice_channel_connect(ch);
        } else if ((SpiceChannel *)sa->playback == ch) {
            g_signal_handlers_disconnect_by_data(ch, sa);
            sa->playback = NULL;
            if (sa->playing)
                sg_audio_playback_stop(sa->audio);
            sa->playing = false;
        }
    } else if (SPICE_IS_RECORD_CHANNEL(ch)) {
        if (open) {
            sa->record = SPICE_RECORD_CHANNEL(ch);
            g_signal_connect(ch, "record-start", G_CALLBACK(on_rec_start), sa);
            g_signal_connect(ch, "record-stop", G_CALLBACK(on_rec_stop), sa);
            g_signal_connect(ch, "notify::mute", G_CALLBACK(on_rec_mute), sa);
            spice_channel_connect(ch);
        } else if ((SpiceChannel *)sa->record == ch) {
            g_signal_handlers_disconnect_by_data(ch, sa);
            sa->record = NULL;
            sg_audio_record_stop(sa->audio);
        }
    }
}
