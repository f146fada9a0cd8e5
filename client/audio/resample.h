/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Interleaved signed 16-bit audio resampled by a ratio close to 1 (speexdsp's resampler). */
#include <stddef.h>
#include <stdint.h>

struct sg_resample;

struct sg_resample *sg_resample_create(unsigned channels, unsigned rate);
void sg_resample_destroy(struct sg_resample *r);
/* Output samples per input sample from now on (in steps of about 2e-5). */
void sg_resample_set_ratio(struct sg_resample *r, double ratio);
/* Resamples in_frames frames into out (room for out_cap frames); returns the frames written.
 * All input is consumed when out_cap >= sg_resample_out_max(in_frames). */
size_t sg_resample_run(struct sg_resample *r, const int16_t *in, size_t in_frames, int16_t *out,
                       size_t out_cap);
size_t sg_resample_out_max(size_t in_frames);
