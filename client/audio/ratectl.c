/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "ratectl.h"

void sg_ratectl_init(struct sg_ratectl *c, double target_s)
{
    *c = (struct sg_ratectl){
        .target_s = target_s,
        .max_adj = 0.01,
        /* A 5 ms error asks for 0.5 % at once, so +-0.5 % of drift never takes the latency
         * further than that while the integral catches up with it; kp / (2 sqrt(ki)) ~ 0.7
         * keeps the loop well damped. */
        .kp = 1.0,
        .ki = 0.5,
        .tau_s = 0.25,
        .ratio = 1.0,
    };
}

static double clamp(const struct sg_ratectl *c, double adj)
{
    return adj > c->max_adj ? c->max_adj : adj < -c->max_adj ? -c->max_adj : adj;
}

void sg_ratectl_reset(struct sg_ratectl *c)
{
    /* The integral is the clocks' drift, which an underrun does not change: kept. */
    c->primed = false;
    c->ratio = 1.0 - clamp(c, c->ki * c->integ);
}

double sg_ratectl_update(struct sg_ratectl *c, double latency_s, double dt_s)
{
    if (!c->primed || dt_s <= 0 || dt_s > 1.0) {
        /* First block, or a pause: start from what is measured now. */
        c->smooth_s = latency_s;
        c->primed = true;
        dt_s = 0;
    } else {
        double a = dt_s / (c->tau_s + dt_s);
        c->smooth_s += a * (latency_s - c->smooth_s);
    }
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
