/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "format.h"

#include <stdio.h>

bool sg_audio_format_ok(int format, int channels, int rate, char *why, size_t why_size)
{
    if (format != SG_AUDIO_FMT_S16)
        snprintf(why, why_size, "sample format %d is not 16-bit PCM (SPICE format %d)", format,
                 SG_AUDIO_FMT_S16);
    else if (channels < 1 || channels > (int)SG_AUDIO_MAX_CHANNELS)
        snprintf(why, why_size, "%d channels (1..%u supported)", channels, SG_AUDIO_MAX_CHANNELS);
    else if (rate < (int)SG_AUDIO_MIN_RATE || rate > (int)SG_AUDIO_MAX_RATE)
        snprintf(why, why_size, "%d Hz (%u..%u Hz supported)", rate, SG_AUDIO_MIN_RATE, SG_AUDIO_MAX_RATE);
    else
        return true;
    return false;
}
