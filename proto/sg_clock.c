/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sg_clock.h"

#include "sg_time.h"

uint64_t sg_clock_monotonic_ms(void *ctx)
{
    (void)ctx;
    return sg_time_ms() + 1u;
}

const struct sg_clock sg_clock_monotonic = { .now_ms = sg_clock_monotonic_ms, .ctx = 0 };

static uint64_t fake_now(void *ctx)
{
    struct sg_fake_clock *fc = ctx;
    return atomic_load_explicit(&fc->now, memory_order_acquire);
}

void sg_fake_clock_init(struct sg_fake_clock *fc, uint64_t start_ms)
{
    fc->clock.now_ms = fake_now;
    fc->clock.ctx = fc;
    atomic_store_explicit(&fc->now, start_ms, memory_order_release);
}

void sg_fake_clock_set(struct sg_fake_clock *fc, uint64_t now_ms)
{
    atomic_store_explicit(&fc->now, now_ms, memory_order_release);
}

void sg_fake_clock_advance(struct sg_fake_clock *fc, uint64_t delta_ms)
{
    atomic_fetch_add_explicit(&fc->now, delta_ms, memory_order_acq_rel);
}
