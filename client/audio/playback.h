/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The guest's sound played to the sound server. Each block from SPICE is written at once
 * (no extra queue of ours) after resampling by the ratio the latency controller picks, so
 * the latency the blocks see is held at the target however the guest's clock drifts.
 *
 * start/data/stop/volume/mute come from one thread (SPICE's); on_ready/on_lost from the
 * pulse thread with its lock held; stats from any thread.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pulse.h"

struct sg_playback;

struct sg_playback_stats {
    bool active;  /* the guest's stream is started */
    bool playing; /* the sound server is playing it */
    unsigned rate, channels;
    double latency_ms;  /* smoothed latency a block sees (what the controller holds) */
    double target_ms;   /* device latency + audio:latencyMs */
    double device_ms;   /* the sink's own latency */
    double ratio;       /* output / input samples */
    uint64_t underruns; /* the server ran out of data */
    uint64_t overruns;  /* blocks dropped: the server's buffer was full, or a backlog after a stall */
    uint64_t frames_in; /* guest frames received */
};

struct sg_playback *sg_playback_create(struct sg_pulse *pa, const char *device, unsigned latency_ms);
void sg_playback_destroy(struct sg_playback *pb);
/* Added to audio:latencyMs from the next start on (the threads that carry the sound run without
 * a raised priority: see doc/audio.md). SPICE thread. */
void sg_playback_set_margin(struct sg_playback *pb, unsigned margin_ms);

void sg_playback_on_ready(struct sg_playback *pb, pa_context *ctx);
void sg_playback_on_lost(struct sg_playback *pb);

/* The format must have passed sg_audio_format_ok. */
void sg_playback_start(struct sg_playback *pb, unsigned channels, unsigned rate);
void sg_playback_data(struct sg_playback *pb, const int16_t *frames, size_t n_frames);
void sg_playback_stop(struct sg_playback *pb);
/* SPICE volume: 0..65535 per channel, linear. */
void sg_playback_volume(struct sg_playback *pb, const uint16_t *vol, unsigned n);
void sg_playback_mute(struct sg_playback *pb, bool mute);

void sg_playback_stats(struct sg_playback *pb, struct sg_playback_stats *out);
/* The latency (ms) each block found on arrival, at its arrival time (sg_time_ns), from block
 * number *next on (at most the last SG_PLAYBACK_HISTORY); *next moves past what was copied. */
#define SG_PLAYBACK_HISTORY 512u
size_t sg_playback_history(struct sg_playback *pb, uint64_t *next, uint64_t *t_ns, float *ms, size_t max);
