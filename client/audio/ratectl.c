/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ratectl.h"

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

/* The highest measurement within window_s of the newest. */
static double window_max(struct sg_ratectl *c, double v)
{
    c->win_head = (c->win_head + 1) % RATECTL_WINDOW;
    c->win_t[c->win_head] = c->clock_s;
    c->win_v[c->win_head] = v;
    if (c->win_n < RATECTL_WINDOW)
        c->win_n++;
    double m = v;
    for (unsigned i = 1; i < c->win_n; i++) {
        unsigned k = (c->win_head + RATECTL_WINDOW - i) % RATECTL_WINDOW;
        if (c->clock_s - c->win_t[k] > c->window_s)
            break;
        if (c->win_v[k] > m)
            m = c->win_v[k];
    }
    return m;
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
    c->smooth_s = window_max(c, latency_s);
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
