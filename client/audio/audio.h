/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The client's sound: the guest's playback stream played to the user's sound server, and
 * the microphone captured for the guest while it asks and the user allows it.
 *
 * The guest side (playback_*, record_*) is called from one thread (SPICE's); the user side
 * (mic_allow, mic_state, stats, take_fault) from any thread. Captured microphone blocks come
 * out through events.on_record_data on the sound server's thread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sg_audio;

enum sg_mic_policy { SG_MIC_PROMPT, SG_MIC_ALLOW, SG_MIC_DENY };
/* Parses prompt/allow/deny; false when it is none of them. */
bool sg_mic_policy_parse(const char *s, enum sg_mic_policy *out);

enum sg_mic_state {
    SG_MIC_IDLE,    /* the guest is not recording */
    SG_MIC_ASKING,  /* the guest records; the user has not allowed it (prompt) */
    SG_MIC_OPEN,    /* capturing for the guest */
    SG_MIC_REFUSED, /* the guest records; refused by audio:micDefault=deny or the user */
};

struct sg_audio_config {
    const char *device;     /* sink for playback, NULL/"" = the server's default */
    const char *mic_device; /* source for the microphone, NULL/"" = the default */
    unsigned latency_ms;    /* held above the device's own latency */
    enum sg_mic_policy mic;
    unsigned retry_ms; /* sound server reconnection period (default 1000) */
};

struct sg_audio_events {
    void *opaque;
    /* Captured frames for the guest (interleaved 16-bit). Sound server thread. */
    void (*on_record_data)(void *opaque, const int16_t *frames, size_t n_frames, unsigned channels);
    /* Something the user should see changed (mic state, a fault): any thread. */
    void (*on_change)(void *opaque);
};

struct sg_audio_stats {
    bool connected; /* to a sound server */
    bool playing;   /* the guest's stream is being played */
    double latency_ms, target_ms, device_ms, ratio;
    uint64_t underruns, overruns, frames_in;
    unsigned rate, channels;
    enum sg_mic_state mic;
    uint64_t mic_frames;
};

struct sg_audio *sg_audio_create(const struct sg_audio_config *cfg, const struct sg_audio_events *ev);
void sg_audio_destroy(struct sg_audio *a);

/* Guest side. start returns false (and says why, once) for a format it cannot play. */
bool sg_audio_playback_start(struct sg_audio *a, int format, int channels, int rate);
void sg_audio_playback_data(struct sg_audio *a, const void *data, size_t bytes);
void sg_audio_playback_stop(struct sg_audio *a);
/* Extra latency held from the next start on, for threads that could not raise their priority. */
void sg_audio_playback_margin(struct sg_audio *a, unsigned margin_ms);
void sg_audio_playback_volume(struct sg_audio *a, const uint16_t *vol, unsigned n);
void sg_audio_playback_mute(struct sg_audio *a, bool mute);
void sg_audio_record_start(struct sg_audio *a, int format, int channels, int rate);
void sg_audio_record_stop(struct sg_audio *a);
/* The guest's microphone volume and mute: applied to what is sent. */
void sg_audio_record_mute(struct sg_audio *a, bool mute);

/* User side. */
void sg_audio_mic_allow(struct sg_audio *a, bool allow);
enum sg_mic_state sg_audio_mic_state(struct sg_audio *a);
void sg_audio_stats(struct sg_audio *a, struct sg_audio_stats *out);
/* The latency each guest sound block found buffered (ms) and when (sg_time_ns), from block
 * number *next on; *next moves past what was copied. Returns how many. */
size_t sg_audio_latency_history(struct sg_audio *a, uint64_t *next, uint64_t *t_ns, float *ms, size_t max);
/* The newest fault message for the user (once), or false. */
bool sg_audio_take_fault(struct sg_audio *a, char *buf, size_t n);
