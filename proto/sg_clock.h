/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * A millisecond clock that can be replaced in tests, so that timeouts
 * (subscriber eviction, heartbeat loss) are tested without sleeping. The real
 * one reads the project's monotonic clock (common/sg_time.h).
 */
#include <stdatomic.h>
#include <stdint.h>

struct sg_clock {
    /* Monotonic milliseconds, never 0 (lgmp.md §6 reads 0 as "clock failed"). */
    uint64_t (*now_ms)(void *ctx);
    void *ctx;
};

/* CLOCK_MONOTONIC in ms (+1 so it is never 0). */
uint64_t sg_clock_monotonic_ms(void *ctx);
/* The real clock; passing NULL where a clock is asked for means this one. */
extern const struct sg_clock sg_clock_monotonic;

static inline uint64_t sg_clock_now(const struct sg_clock *c)
{
    return c ? c->now_ms(c->ctx) : sg_clock_monotonic_ms(0);
}

/* A clock a test moves by hand. */
struct sg_fake_clock {
    struct sg_clock clock; /* clock.ctx points back to this struct */
    _Atomic uint64_t now;
};
void sg_fake_clock_init(struct sg_fake_clock *fc, uint64_t start_ms);
/* Atomic, so another thread may move the clock while it is being read. */
void sg_fake_clock_set(struct sg_fake_clock *fc, uint64_t now_ms);
void sg_fake_clock_advance(struct sg_fake_clock *fc, uint64_t delta_ms);
