/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "resample.h"

#include <math.h>
#include <speex/speex_resampler.h>
#include <stdlib.h>

/* ratio = DEN / num: steps of 2e-5, fine enough for drift. Not finer: when the fraction
 * changes, speex rescales its phase as phase x new_den / old_den in 32 bits, which must not
 * overflow (with a denominator of 1e6 it did, and the output broke up). */
#define DEN 48000u

struct sg_resample {
    SpeexResamplerState *st;
    unsigned channels, rate;
    uint32_t num;
};

struct sg_resample *sg_resample_create(unsigned channels, unsigned rate)
{
    struct sg_resample *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    int err = 0;
    /* Quality 3: a 0.5 ms filter at 48 kHz; the ratio stays within 1 % of 1, where the
     * difference to higher qualities is far below hearing. */
    r->st = speex_resampler_init_frac(channels, DEN, DEN, rate, rate, 3, &err);
    if (!r->st) {
        free(r);
        return NULL;
    }
    speex_resampler_skip_zeros(r->st);
    r->channels = channels;
    r->rate = rate;
    r->num = DEN;
    return r;
}

void sg_resample_destroy(struct sg_resample *r)
{
    if (!r)
        return;
    speex_resampler_destroy(r->st);
    free(r);
}

void sg_resample_set_ratio(struct sg_resample *r, double ratio)
{
    if (!(ratio > 0.5 && ratio < 2.0))
        return;
    uint32_t num = (uint32_t)lround(DEN / ratio);
    if (num == r->num)
        return;
    r->num = num;
    /* speex: ratio_num / ratio_den is input rate over output rate. */
    speex_resampler_set_rate_frac(r->st, num, DEN, r->rate, r->rate);
}

size_t sg_resample_out_max(size_t in_frames)
{
    return in_frames + in_frames / 50 + 8;
}

size_t sg_resample_run(struct sg_resample *r, const int16_t *in, size_t in_frames, int16_t *out,
                       size_t out_cap)
{
    spx_uint32_t in_len = (spx_uint32_t)in_frames, out_len = (spx_uint32_t)out_cap;
    speex_resampler_process_interleaved_int(r->st, in, &in_len, out, &out_len);
    return out_len;
}
