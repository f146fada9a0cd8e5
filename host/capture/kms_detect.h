/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Change detection for captures that get no damage events (kms): one 64-bit
 * hash per row of the scanned-out buffer, the hash of what was last seen or
 * published for that row. A scan reads each row once; rows whose hash differs
 * become the damage, full-width rows merged into runs. A probe reads only
 * every Nth row (a different set each time) and says whether a full scan is
 * worth doing: a still screen then costs 1/N of a read of the buffer.
 * The backend copies changed rows out itself, hashing them as they are copied
 * (sg_kms_copy_row_hash), and stores the hash of exactly the bytes it copied
 * (sg_kms_detect_store), so a row that changed again between the scan and the
 * copy is found by the next scan.
 *
 * The hash is a position-weighted sum over 64-bit words (any single changed
 * word changes it); it is a change detector, not a cryptographic digest.
 * Pure code over memory, no I/O, unit-tested in tests/host/test_kms_detect.c.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../capture.h"

struct sg_kms_detect {
    uint32_t width, height; /* pixels; rows hashed are width * 4 bytes */
    uint64_t *row_hash;     /* height entries */
    bool valid;             /* row_hash describes the last scan */
};

/* (Re)size for a width x height image of 4-byte pixels; the next scan reports
 * the whole image. -1 when out of memory. */
int sg_kms_detect_reset(struct sg_kms_detect *d, uint32_t width, uint32_t height);
/* Forget the last scan (the next one reports the whole image). */
void sg_kms_detect_invalidate(struct sg_kms_detect *d);
void sg_kms_detect_finish(struct sg_kms_detect *d);

uint64_t sg_kms_row_hash(const void *row, size_t bytes);
/* memcpy(dst, src, bytes) that returns sg_kms_row_hash of the bytes written
 * (one read of src, no read of dst: dst may be uncached shared memory). */
uint64_t sg_kms_copy_row_hash(void *dst, const void *src, size_t bytes);
/* The same for rows of 2:10:10:10 pixels, stored with the 10-bit fields at
 * bits 0-9 and 20-29 exchanged (XRGB2101010 -> the KVMFR RGBA10 layout) in
 * the same pass; the hash is of the source bytes as read. bytes: a multiple
 * of 4. */
uint64_t sg_kms_swap_rb10_row_hash(void *dst, const void *src, size_t bytes);
/* After copies, before anyone is told the rows are there (the progress word):
 * the copies use streaming stores, which a release fence alone does not order. */
void sg_kms_copy_fence(void);

/* Hash every row of src (row y at src + y * src_pitch), remember the hashes
 * and write the changed rows as damage: runs of adjacent rows
 * become one rectangle {0, y, width, n}, in row order; past
 * SG_CAPTURE_MAX_DAMAGE runs the list is one box from the first changed row to
 * the last. Returns the number of changed rows; *whole is set
 * when the scan had nothing to compare with (after reset/invalidate): then
 * every row counts as changed and the damage list is empty (the whole frame). */
uint32_t sg_kms_detect_scan(struct sg_kms_detect *d, const uint8_t *src, size_t src_pitch,
                            struct sg_capture_rect *damage, uint32_t *damage_count, bool *whole);

/* True when some row y with y % step == phase % step differs from its stored
 * hash (stops at the first), or when there is nothing to compare with. Reads
 * 1/step of the image; stores nothing. */
bool sg_kms_detect_probe(const struct sg_kms_detect *d, const uint8_t *src, size_t src_pitch, uint32_t phase,
                         uint32_t step);

/* Like the probe, but reads every sampled row: how many of them differ, and
 * in *checked how many were read. After a flip, a mostly changed sample means
 * the whole frame is worth sending without a full scan. */
uint32_t sg_kms_detect_sample(const struct sg_kms_detect *d, const uint8_t *src, size_t src_pitch,
                              uint32_t phase, uint32_t step, uint32_t *checked);

/* Row y was published with bytes of this hash: remember it. */
void sg_kms_detect_store(struct sg_kms_detect *d, uint32_t y, uint64_t hash);
