/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Change detection for captures that get no damage events (kms): one 64-bit
 * hash per row of the scanned-out buffer, kept from the last scan. A scan reads
 * each row once; a row whose hash differs is handed to the caller while it is
 * still in the cache (to be converted into the backend's image) and becomes
 * part of the damage, full-width rows merged into runs. A still screen costs
 * one read of the buffer and no writes.
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

/* Called for each changed row y, right after it was hashed. */
typedef void (*sg_kms_row_fn)(void *ctx, uint32_t y);

/* (Re)size for a width x height image of 4-byte pixels; the next scan reports
 * the whole image. -1 when out of memory. */
int sg_kms_detect_reset(struct sg_kms_detect *d, uint32_t width, uint32_t height);
/* Forget the last scan (the next one reports the whole image). */
void sg_kms_detect_invalidate(struct sg_kms_detect *d);
void sg_kms_detect_finish(struct sg_kms_detect *d);

uint64_t sg_kms_row_hash(const void *row, size_t bytes);

/* Hash every row of src (row y at src + y * src_pitch), call row_fn for each
 * changed row and write the changed rows as damage: runs of adjacent rows
 * become one rectangle {0, y, width, n}, in row order; past
 * SG_CAPTURE_MAX_DAMAGE runs the list is one box from the first changed row to
 * the last. Returns the number of changed rows; *whole is set
 * when the scan had nothing to compare with (after reset/invalidate): then
 * every row was handed over and damage is left empty (the whole frame). */
uint32_t sg_kms_detect_scan(struct sg_kms_detect *d, const uint8_t *src, size_t src_pitch, sg_kms_row_fn row_fn,
                            void *ctx, struct sg_capture_rect *damage, uint32_t *damage_count, bool *whole);
