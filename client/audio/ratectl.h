/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The playback latency controller: pure arithmetic, no I/O (unit-tested in tests/audio).
 *
 * The guest's sample clock and the sound card's never run at exactly the same rate, so a
 * buffer between them slowly fills or empties. Instead of dropping or inserting blocks when it
 * does (audible clicks), the player resamples by a tiny ratio chosen here: a PI controller on
 * the latency the incoming blocks see.
 *
 * What it follows is the highest latency measured over the last window_s: a block that
 * arrives late (network, scheduling) finds the buffer emptier by its lateness, yet its samples
 * play exactly when they would have, so the latency a listener hears did not change. Lateness
 * only ever lowers a measurement; the window's highest one is the on-time value. Following the
 * raw (or averaged) measurement would turn each late block into a pitch change and a latency
 * error of its own.
 *
 * Breaks (an underrun, a backlog after a stall) move the level by far more than drift ever
 * does; the resampler's 1 % would take seconds to undo them, and the window's lag would make
 * it overshoot. sg_ratectl_jump says how much to add or cut at once instead.
 */
#include <stdbool.h>

#define RATECTL_WINDOW 32 /* measurements kept; at 10 ms blocks, more than the window */

struct sg_ratectl {
    double target_s;   /* latency to hold */
    double max_adj;    /* |ratio - 1| never exceeds this */
    double kp, ki;     /* per second, per second squared */
    double window_s;   /* the on-time latency is the highest over this long */
    double trim_s;     /* a steady stream more than this over the target has a backlog: cut */
    double settle_tol; /* after a (re)start the level is set to the target within this */
    double smooth_s;   /* that on-time latency: what is held at the target */
    double integ;      /* integral of the error, seconds x seconds */
    double ratio;      /* output samples per input sample */
    double clock_s;    /* sum of dt since init */
    double win_t[RATECTL_WINDOW], win_v[RATECTL_WINDOW];
    unsigned win_n, win_head;
    bool primed;
    bool restarted;      /* sg_ratectl_restart: the next measurement sets the level */
    double settle_end_s; /* until then (clock_s) any excess over the target is cut, uncounted */
};

/* Defaults: follows up to +-1 % of drift, settles within about a second. */
void sg_ratectl_init(struct sg_ratectl *c, double target_s);
/* One measurement: the latency (seconds) the first sample of the block about to be written
 * will see, dt_s seconds after the previous one. Returns the ratio (output samples per input
 * sample) to resample that block with. */
double sg_ratectl_update(struct sg_ratectl *c, double latency_s, double dt_s);
/* Start measuring afresh (the buffer was refilled after an underrun), keeping what was learnt
 * of the drift; until the next update the ratio is that drift's alone. A new stream calls
 * sg_ratectl_init instead. */
void sg_ratectl_reset(struct sg_ratectl *c);
/* A stream (re)started (new, or after an underrun): sg_ratectl_reset, and the next measurement
 * is a settling one (see sg_ratectl_jump). */
void sg_ratectl_restart(struct sg_ratectl *c);
/* Before sg_ratectl_update with the same measurement: seconds of sound to add at once (> 0:
 * silence before the block) or to leave out (< 0: from the block's start) so that the block
 * is written at the target. The first measurement after sg_ratectl_restart is set to the target
 * either way (a restarted stream holds the prebuffer plus whatever piled up meanwhile, or the
 * server started it short); for window_s after it any excess is cut (a measurement is never
 * too high by itself: lateness only lowers it, so a top-up on a late block is undone by the
 * next). Later only a backlog more than trim_s over is cut: a steady stream never gets there,
 * whatever its drift. *fault says whether the cut was of such a backlog (not a restart's).
 * The window's measurements move with the level, so a late block after it fools no one.
 * The caller applies it and passes latency_s + the returned value to sg_ratectl_update. */
double sg_ratectl_jump(struct sg_ratectl *c, double latency_s, bool *fault);
