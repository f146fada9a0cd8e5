/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Debug timestamps for latency measurements: one line per event,
 * "<sg_time_ns()> <event> <fields>", appended to a file that the
 * glass-to-glass benchmark (bench/client/glass_to_glass.c) reads back to split
 * a latency into the host's share and the client's. Off unless a program is
 * given a trace file; off, an event costs one predictable branch.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Set once, by sg_trace_open, before the program starts its threads. */
extern bool sg_trace_enabled;

/* Open (create, append) path; false with a message naming it in err. */
bool sg_trace_open(const char *path, char *err, size_t err_size);
void sg_trace_close(void);
/* One line, written with a single write(2) so that threads never interleave. */
void sg_trace_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define SG_TRACE(...)                                                                                        \
    do {                                                                                                     \
        if (__builtin_expect(sg_trace_enabled, 0))                                                           \
            sg_trace_event(__VA_ARGS__);                                                                     \
    } while (0)
