/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ratectl.h"

#include <math.h>

void sg_ratectl_init(struct sg_ratectl *c, double target_s)
{
    *c = (struct sg_ratectl){
        .target_s = target_s,
        .max_adj = 0.01,
        /* A 1 ms error asks for 0.3 % at once; kp / (2 sqrt(ki)) ~ 0.87 keeps the loop well
         * damped with the window's delay in it. A guest clock 0.5 % off from the first block
         * moves the latency by little more than 1 ms while the integral learns it (about 1 s),
         * where kp = 1, ki = 0.5 let it stray 5 ms and more for several seconds. Higher gains
         * would turn the measurement's own noise (~0.1 ms) into audible pitch wobble. */
        .kp = 3.0,
        .ki = 3.0,
        /* Longer than the scheduling delays a busy machine gives a real-time thread and a
         * burst of late blocks, short against the loop's time constant (~0.6 s). */
        .window_s = 0.2,
        /* The start transient of a guest 0.5 % off stays within ~1.2 ms and measurement
         * noise within ~0.2 ms: 5 ms over is a backlog, never drift. */
        .trim_s = 0.005,
        .settle_tol = 0.0005,
        .ratio = 1.0,
    };
}

static double clamp(const struct sg_ratectl *c, double adj)
{
    return adj > c->max_adj ? c->max_adj : adj < -c->max_adj ? -c->max_adj : adj;
}

void sg_ratectl_reset(struct sg_ratectl *c)
{
    /* The integral is the clocks' drift, which an underrun does not change: kept. The
     * window's measurements describe the buffer before it ran dry: dropped. */
    c->primed = false;
    c->win_n = 0;
    c->ratio = 1.0 - clamp(c, c->ki * c->integ);
}

/* The on-time level: the highest measurement within window_s of now, v included. Lateness
 * only ever lowers a measurement: the highest is the on-time one. */
static double window_level(const struct sg_ratectl *c, double v)
{
    double m = v;
    for (unsigned i = 0; i < c->win_n; i++) {
        unsigned k = (c->win_head + RATECTL_WINDOW - i) % RATECTL_WINDOW;
        if (c->clock_s - c->win_t[k] > c->window_s)
            break;
        if (c->win_v[k] > m)
            m = c->win_v[k];
    }
    return m;
}

static void window_add(struct sg_ratectl *c, double v)
{
    c->win_head = (c->win_head + 1) % RATECTL_WINDOW;
    c->win_t[c->win_head] = c->clock_s;
    c->win_v[c->win_head] = v;
    if (c->win_n < RATECTL_WINDOW)
        c->win_n++;
}

void sg_ratectl_restart(struct sg_ratectl *c)
{
    sg_ratectl_reset(c);
    c->restarted = true;
}

/* The level moved at once by by_s: so did what the window measured, as far as now goes. */
static void shift_window(struct sg_ratectl *c, double by_s)
{
    for (unsigned i = 0; i < c->win_n; i++)
        c->win_v[(c->win_head + RATECTL_WINDOW - i) % RATECTL_WINDOW] += by_s;
}

double sg_ratectl_jump(struct sg_ratectl *c, double latency_s, bool *fault)
{
    double err = latency_s - c->target_s, jump = 0;
    *fault = false;
    if (c->restarted) {
        if (fabs(err) > c->settle_tol)
            jump = -err;
    } else if (c->clock_s < c->settle_end_s) {
        if (err > c->settle_tol)
            jump = -err;
    } else if (err > c->trim_s) {
        jump = -err;
        *fault = true;
    }
    if (jump != 0)
        shift_window(c, jump);
    return jump;
}

double sg_ratectl_update(struct sg_ratectl *c, double latency_s, double dt_s)
{
    if (!c->primed || dt_s <= 0 || dt_s > 1.0) {
        /* First block, or a pause: start from what is measured now. */
        c->primed = true;
        c->win_n = 0;
        dt_s = 0;
    }
    c->clock_s += dt_s;
    if (c->restarted) {
        c->restarted = false;
        c->settle_end_s = c->clock_s + c->window_s;
    }
    c->smooth_s = window_level(c, latency_s);
    window_add(c, latency_s);
    double err = c->smooth_s - c->target_s;
    double next_integ = c->integ + err * dt_s;
    double adj = c->kp * err + c->ki * next_integ;
    /* Integrate only while the output is not pinned at a limit (no wind-up). */
    if (adj > c->max_adj)
        adj = c->max_adj;
    else if (adj < -c->max_adj)
        adj = -c->max_adj;
    else
        c->integ = next_integ;
    /* Too much buffered (err > 0): make fewer output samples than input ones. */
    c->ratio = 1.0 - adj;
    return c->ratio;
}
