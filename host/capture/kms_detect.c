/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Row-hash change detection (kms_detect.h). */
#include "kms_detect.h"

#include <stdlib.h>
#include <string.h>

int sg_kms_detect_reset(struct sg_kms_detect *d, uint32_t width, uint32_t height)
{
    if (d->row_hash && d->height == height) {
        d->width = width;
        d->valid = false;
        return 0;
    }
    free(d->row_hash);
    d->row_hash = calloc(height ? height : 1, sizeof(*d->row_hash));
    d->width = d->row_hash ? width : 0;
    d->height = d->row_hash ? height : 0;
    d->valid = false;
    return d->row_hash ? 0 : -1;
}

void sg_kms_detect_invalidate(struct sg_kms_detect *d)
{
    d->valid = false;
}

void sg_kms_detect_finish(struct sg_kms_detect *d)
{
    free(d->row_hash);
    *d = (struct sg_kms_detect){0};
}

/* Four independent lanes so the compiler can keep them in vector registers:
 * a sums the words, b sums the running sums (weighting each word by its
 * position, so moved pixels change it too). Bound by memory bandwidth. */
uint64_t sg_kms_row_hash(const void *row, size_t bytes)
{
    const uint8_t *p = row;
    uint64_t a[4] = {1, 2, 3, 4}, b[4] = {0, 0, 0, 0};
    size_t i = 0;
    for (; i + 32 <= bytes; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, 32);
        for (int k = 0; k < 4; k++) {
            a[k] += w[k];
            b[k] += a[k];
        }
    }
    uint64_t tail = 0;
    for (size_t k = 0; i < bytes; i++, k++)
        tail ^= (uint64_t)p[i] << (8 * (k & 7)) ^ (uint64_t)(k >> 3) * 0x9e3779b97f4a7c15ull;
    uint64_t h = tail ^ bytes;
    for (int k = 0; k < 4; k++) {
        h = (h ^ a[k]) * 0x9e3779b97f4a7c15ull;
        h = (h ^ b[k] ^ (h >> 29)) * 0xbf58476d1ce4e5b9ull;
    }
    return h ^ (h >> 32);
}

uint32_t sg_kms_detect_scan(struct sg_kms_detect *d, const uint8_t *src, size_t src_pitch, sg_kms_row_fn row_fn,
                            void *ctx, struct sg_capture_rect *damage, uint32_t *damage_count, bool *whole)
{
    size_t row_bytes = (size_t)d->width * 4;
    uint32_t changed = 0, run_start = 0, runs = 0, first = 0, last_end = 0;
    bool in_run = false;
    *whole = !d->valid;
    for (uint32_t y = 0; y < d->height; y++) {
        uint64_t h = sg_kms_row_hash(src + (size_t)y * src_pitch, row_bytes);
        bool differs = !d->valid || h != d->row_hash[y];
        if (differs) {
            d->row_hash[y] = h;
            changed++;
            if (row_fn)
                row_fn(ctx, y);
            if (!in_run) {
                run_start = y;
                in_run = true;
            }
        }
        if (in_run && (!differs || y + 1 == d->height)) {
            uint32_t end = differs ? y + 1 : y;
            if (runs < SG_CAPTURE_MAX_DAMAGE)
                damage[runs] = (struct sg_capture_rect){0, run_start, d->width, end - run_start};
            if (!runs)
                first = run_start;
            last_end = end;
            runs++;
            in_run = false;
        }
    }
    if (runs > SG_CAPTURE_MAX_DAMAGE) { /* one box from the first changed row to the last */
        damage[0] = (struct sg_capture_rect){0, first, d->width, last_end - first};
        runs = 1;
    }
    *damage_count = *whole ? 0 : runs;
    d->valid = true;
    return changed;
}
