/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Helpers shared by the LGMP unit tests: a zeroed page-aligned region and
 * little-endian field access by absolute offset (independent of the structs
 * in lgmp_wire.h, so the tests check the layout rather than repeat it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline uint8_t *lt_region(size_t size)
{
    uint8_t *r = aligned_alloc(4096, (size + 4095) & ~(size_t)4095);
    if (r)
        memset(r, 0, size);
    return r;
}

static inline uint32_t lt_u32(const uint8_t *r, size_t off)
{
    return (uint32_t)r[off] | (uint32_t)r[off + 1] << 8 | (uint32_t)r[off + 2] << 16 |
           (uint32_t)r[off + 3] << 24;
}

static inline uint64_t lt_u64(const uint8_t *r, size_t off)
{
    return (uint64_t)lt_u32(r, off) | (uint64_t)lt_u32(r, off + 4) << 32;
}

static inline void lt_put32(uint8_t *r, size_t off, uint32_t v)
{
    for (int i = 0; i < 4; ++i)
        r[off + i] = (uint8_t)(v >> (8 * i));
}

static inline void lt_put64(uint8_t *r, size_t off, uint64_t v)
{
    lt_put32(r, off, (uint32_t)v);
    lt_put32(r, off + 4, (uint32_t)(v >> 32));
}

/* Absolute offset of a field of queue header entry i (lgmp.md §4). */
static inline size_t lt_q(unsigned i, size_t rel)
{
    return 32 + 1144 * (size_t)i + rel;
}

enum {
    LT_Q_ID = 0,
    LT_Q_SLOT_COUNT = 4,
    LT_Q_NEW_SUBS = 8,
    LT_Q_TIMEOUT = 12,
    LT_Q_WRITE = 16,
    LT_Q_RING = 20,
    LT_Q_BAD_UNTIL = 24,
    LT_Q_TAG = 280,
    LT_Q_LOCK = 408,
    LT_Q_SUBS = 416,
    LT_Q_READ = 424,
    LT_Q_DEADLINE = 432,
    LT_Q_OUTSTANDING = 440,
    LT_Q_CMSG_LOCK = 444,
    LT_Q_CMSG_FREE = 448,
    LT_Q_CMSG_WRITE = 452,
    LT_Q_CMSG_SENT = 456,
    LT_Q_CMSG_DONE = 460,
    LT_Q_CMSG = 464,
};

/* The §9.7 client list of queue qi, read from the region as the host would
 * at host time now: the tags of ACTIVE slots, minus BAD ones whose bad_until
 * has passed, in slot order; returns how many. */
static inline uint32_t lt_queue_clients(const uint8_t *r, unsigned qi, uint64_t now, uint32_t tags[32])
{
    uint64_t subs = lt_u64(r, lt_q(qi, LT_Q_SUBS));
    uint32_t active = (uint32_t)(subs >> 32), bad = (uint32_t)subs, n = 0;
    for (unsigned i = 0; i < 32; i++) {
        uint32_t b = 1u << i;
        if (!(active & b) || ((bad & b) && now > lt_u64(r, lt_q(qi, LT_Q_BAD_UNTIL + 8 * (size_t)i))))
            continue;
        tags[n++] = lt_u32(r, lt_q(qi, LT_Q_TAG + 4 * (size_t)i));
    }
    return n;
}
