/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the host benchmarks share: clocks, medians, and the memcpy every figure is a ratio to. */
#pragma once
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds on clock clk: CLOCK_MONOTONIC for wall time, CLOCK_THREAD_CPUTIME_ID for this thread's CPU. */
static inline double bench_seconds(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Sorts v. */
static inline double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(double), bench_cmp_double);
    return v[n / 2];
}

/* The median of 41 memcpys of n bytes from a private buffer into dst (a shared mapping),
 * timed on clock clk; the pages are faulted in first. */
static inline double bench_memcpy_s(uint8_t *dst, size_t n, clockid_t clk)
{
    uint8_t *src = malloc(n);
    memset(src, 0x5a, n);
    memcpy(dst, src, n); /* fault the pages in */
    double t[41];
    for (int i = 0; i < 41; i++) {
        src[i] = (uint8_t)i;
        double t0 = bench_seconds(clk);
        memcpy(dst, src, n);
        t[i] = bench_seconds(clk) - t0;
    }
    free(src);
    return bench_median(t, 41);
}
