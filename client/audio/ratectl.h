/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The playback latency controller: pure arithmetic, no I/O (unit-tested in tests/audio).
 *
 * The guest's sample clock and the sound card's never run at exactly the same rate, so a
 * buffer between them slowly fills or empties. Instead of dropping or inserting blocks when it
 * does (audible clicks), the player resamples by a tiny ratio chosen here: a PI controller on
 * the latency each incoming block sees, smoothed over a few hundred milliseconds.
 */
#include <stdbool.h>

struct sg_ratectl {
    double target_s; /* latency to hold */
    double max_adj;  /* |ratio - 1| never exceeds this */
    double kp, ki;   /* per second, per second squared */
    double tau_s;    /* smoothing of the measured latency */
    double smooth_s; /* smoothed latency */
    double integ;    /* integral of the error, seconds x seconds */
    double ratio;    /* output samples per input sample */
    bool primed;
};

/* Defaults: follows up to +-1 % of drift, settles in a few seconds. */
void sg_ratectl_init(struct sg_ratectl *c, double target_s);
/* One measurement: the latency (seconds) the first sample of the block about to be written
 * will see, dt_s seconds after the previous one. Returns the ratio (output samples per input
 * sample) to resample that block with. */
double sg_ratectl_update(struct sg_ratectl *c, double latency_s, double dt_s);
/* Start measuring afresh (the buffer was refilled after an underrun), keeping what was learnt
 * of the drift; until the next update the ratio is that drift's alone. A new stream calls
 * sg_ratectl_init instead. */
void sg_ratectl_reset(struct sg_ratectl *c);
