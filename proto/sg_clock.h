/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * A millisecond clock that can be replaced in tests, so that timeouts
 * (subscriber eviction, heartbeat loss) are tested without sleeping (the
 * tests' clock: tests/proto/fake_clock.h). The real
 * one reads the project's monotonic clock (common/sg_time.h).
 */
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
