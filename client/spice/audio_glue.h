/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * SPICE's playback and record channels tied to the client's sound (client/audio/). Runs on
 * the SPICE thread: spice.c hands every playback/record channel to sg_spice_audio_channel
 * when it appears and again when it goes (server gone, session dropped), so the streams
 * start and stop with the guest's and close cleanly with the connection.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sg_audio;
struct sg_spice_audio;

struct sg_spice_audio *sg_spice_audio_create(struct sg_audio *audio);
/* After the SPICE thread has stopped. */
void sg_spice_audio_destroy(struct sg_spice_audio *sa);
/* channel: a SpiceChannel (any kind; others are ignored). open: it appeared / it is going. */
void sg_spice_audio_channel(void *sa, void *channel, bool open);
/* For sg_audio_events.on_record_data: captured frames, from the sound server's thread. */
void sg_spice_audio_record_data(void *sa, const int16_t *frames, size_t n_frames, unsigned channels);
