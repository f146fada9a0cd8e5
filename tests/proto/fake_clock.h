/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* A clock a test moves by hand (struct sg_clock, proto/sg_clock.h), so that
 * timeouts are tested without sleeping. Atomic, so another thread may move
 * the clock while it is being read. */
#include <stdatomic.h>
#include <stdint.h>

#include "sg_clock.h"

struct sg_fake_clock {
    struct sg_clock clock; /* clock.ctx points back to this struct */
    _Atomic uint64_t now;
};

static inline uint64_t sg_fake_clock_now(void *ctx)
{
    struct sg_fake_clock *fc = ctx;
    return atomic_load_explicit(&fc->now, memory_order_acquire);
}

static inline void sg_fake_clock_init(struct sg_fake_clock *fc, uint64_t start_ms)
{
    fc->clock.now_ms = sg_fake_clock_now;
    fc->clock.ctx = fc;
    atomic_store_explicit(&fc->now, start_ms, memory_order_release);
}

static inline void sg_fake_clock_set(struct sg_fake_clock *fc, uint64_t now_ms)
{
    atomic_store_explicit(&fc->now, now_ms, memory_order_release);
}

static inline void sg_fake_clock_advance(struct sg_fake_clock *fc, uint64_t delta_ms)
{
    atomic_fetch_add_explicit(&fc->now, delta_ms, memory_order_acq_rel);
}
