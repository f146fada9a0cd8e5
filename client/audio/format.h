/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Which guest sound formats the client takes, and the message for the rest. */
#include <stdbool.h>
#include <stddef.h>

/* SPICE's sample formats (SPICE_AUDIO_FMT_*): only 16-bit signed little-endian PCM exists. */
enum { SG_AUDIO_FMT_S16 = 1 };

#define SG_AUDIO_MIN_RATE 8000u
#define SG_AUDIO_MAX_RATE 192000u
#define SG_AUDIO_MAX_CHANNELS 8u

/* True when the format can be played/recorded; else why (for a message) in why. */
bool sg_audio_format_ok(int format, int channels, int rate, char *why, size_t why_size);
