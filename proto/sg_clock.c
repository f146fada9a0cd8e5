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
    return __atomic_load_n(&fc->now, __ATOMIC_ACQUIRE);
}

void sg_fake_clock_init(struct sg_fake_clock *fc, uint64_t start_ms)
{
    fc->clock.now_ms = fake_now;
    fc->clock.ctx = fc;
    __atomic_store_n(&fc->now, start_ms, __ATOMIC_RELEASE);
}

void sg_fake_clock_set(struct sg_fake_clock *fc, uint64_t now_ms)
{
    __atomic_store_n(&fc->now, now_ms, __ATOMIC_RELEASE);
}

void sg_fake_clock_advance(struct sg_fake_clock *fc, uint64_t delta_ms)
{
    __atomic_fetch_add(&fc->now, delta_ms, __ATOMIC_ACQ_REL);
}
