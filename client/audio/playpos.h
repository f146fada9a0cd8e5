/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Where the sound device is in the stream (how much of it has been played) at any time: pure
 * arithmetic, no I/O (unit-tested in tests/audio).
 *
 * The sound server reports its play position now and then (PulseAudio's timing info: read
 * index minus the sink's own latency, stamped with the server's time). Between reports the
 * device plays on at its rate, so position - time is a constant. The reports are not all
 * right: when the server's sink thread is itself late (a busy machine), it reports the position
 * it last rendered to as now, short by its lateness (seen 2 to 7 ms, one report at a time);
 * and a server held between stamping a report and reading its index makes it long (a soak saw
 * the latency held 3 ms high for the second the highest of them was kept). The estimate is the
 * median of position - time over the last span_s: a few wrong reports either way move nothing.
 *
 * libpulse's own interpolation (PA_STREAM_INTERPOLATE_TIMING) instead fits a rate to the
 * reports over seconds; after an underrun, once the server had played the stalled time at
 * once, that fit drifted from what was heard by 2 to 3 ms over the next 3 to 8 s, and the
 * latency controller held that error. This estimate starts afresh at each (re)start.
 */
#include <stdbool.h>

#define PLAYPOS_READINGS 128 /* at a report per 10 ms block, more than span_s */

struct sg_playpos {
    double span_s;
    double t_s[PLAYPOS_READINGS], off_s[PLAYPOS_READINGS]; /* report time, position - time */
    unsigned n, head;
};

void sg_playpos_init(struct sg_playpos *p);
/* Forget every report: the stream (re)starts, position - time is a new constant. */
void sg_playpos_reset(struct sg_playpos *p);
/* A report: played_s of the stream had been played at t_s (the monotonic clock). */
void sg_playpos_add(struct sg_playpos *p, double t_s, double played_s);
/* The position at t_s (not before the newest report); false without a report. */
bool sg_playpos_at(const struct sg_playpos *p, double t_s, double *played_s);
