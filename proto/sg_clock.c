/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sg_clock.h"

#include "sg_time.h"

uint64_t sg_clock_monotonic_ms(void *ctx)
{
    (void)ctx;
    return sg_time_ms() + 1u;
}

const struct sg_clock sg_clock_monotonic = {.now_ms = sg_clock_monotonic_ms, .ctx = 0};
