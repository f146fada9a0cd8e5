/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The one monotonic clock and the one relative sleep of every program.
 * Code whose timeouts tests must move by hand takes a struct sg_clock
 * (proto/sg_clock.h) instead, which reads this clock by default.
 */
#include <stdint.h>
#include <time.h>

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t sg_time_ns(void);

static inline uint64_t sg_time_ms(void)
{
    return sg_time_ns() / 1000000u;
}

/* Sleeps for ns nanoseconds; returns at once when ns <= 0 (a deadline already
 * passed). A signal does not cut the sleep short: a caller that must react to
 * a signal sleeps in steps and checks its flag. */
void sg_sleep_ns(int64_t ns);

static inline void sg_sleep_us(uint64_t us)
{
    sg_sleep_ns((int64_t)us * 1000);
}

/* Moves t (a clock_nanosleep / pthread_cond_timedwait deadline) ns later. */
static inline void sg_timespec_add_ns(struct timespec *t, uint64_t ns)
{
    t->tv_sec += (time_t)(ns / 1000000000u);
    t->tv_nsec += (long)(ns % 1000000000u);
    if (t->tv_nsec >= 1000000000L) {
        t->tv_nsec -= 1000000000L;
        t->tv_sec++;
    }
}
