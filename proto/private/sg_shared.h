/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Access helpers for memory shared with an untrusted peer.
 *
 * A field the peer may change must be read exactly once into a local, then
 * checked, then used: a plain read lets the compiler fetch it again after the
 * check (a double fetch). These force a single access.
 */
#include <stdint.h>
#include <string.h>

#define SG_READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define SG_WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/* Copy a block out of shared memory (the copy, not the source, is checked). */
static inline void sg_copy_from_shared(void *dst, const void *src, size_t n)
{
    memcpy(dst, src, n);
    /* keep the compiler from replacing later uses of dst by re-reads of src */
    __asm__ volatile("" ::: "memory");
}

/* Overflow-safe "[off, off+len) lies inside [0, size)". */
static inline int sg_range_ok(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}
