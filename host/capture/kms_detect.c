/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Row-hash change detection (kms_detect.h). */
#include "kms_detect.h"

#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

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

/* What hash_copy stores besides hashing. */
enum store {
    STORE_NONE,
    STORE_COPY,      /* the bytes as read */
    STORE_SWAP_RB10, /* each 32-bit word with bits 0-9 and 20-29 exchanged */
};

#if defined(__SSE2__)
static inline __m128i swap_rb10_128(__m128i w)
{
    const __m128i keep = _mm_set1_epi32((int)0xc00ffc00u), low = _mm_set1_epi32(0x3ff);
    __m128i lo_up = _mm_slli_epi32(_mm_and_si128(w, low), 20);
    __m128i hi_down = _mm_and_si128(_mm_srli_epi32(w, 20), low);
    return _mm_or_si128(_mm_and_si128(w, keep), _mm_or_si128(lo_up, hi_down));
}
#endif

static inline uint32_t swap_rb10(uint32_t v)
{
    return (v & 0xc00ffc00u) | (v & 0x3ffu) << 20 | (v >> 20 & 0x3ffu);
}

/* Four independent 64-bit lanes: a sums the words, b sums the running sums
 * (weighting each word by its position, so moved pixels change it too). In
 * SSE2 registers (the x86-64 baseline) the loop runs at memory speed; written
 * with arrays the compiler kept the lanes in memory. With dst, the bytes are
 * also stored there from the same registers (as read, or rearranged): the
 * hash is of exactly what was read for the store, whatever the source does
 * meanwhile. Inlined with a constant `how`, each caller gets its own loop. */
static inline __attribute__((always_inline)) uint64_t hash_copy(void *dst, const void *row, size_t bytes,
                                                                enum store how)
{
    const uint8_t *p = row;
    uint8_t *out = dst;
    uint64_t a[4], b[4];
    size_t i = 0;
#if defined(__SSE2__)
    /* the destination is written, never read back here: streaming stores skip
     * fetching its cache lines first (callers fence: sg_kms_copy_fence) */
    bool stream = how != STORE_NONE && ((uintptr_t)out & 15) == 0;
    __m128i a0 = _mm_set_epi64x(2, 1), a1 = _mm_set_epi64x(4, 3), b0 = _mm_setzero_si128(),
            b1 = _mm_setzero_si128();
    for (; i + 32 <= bytes; i += 32) {
        __m128i w0 = _mm_loadu_si128((const __m128i *)(p + i)),
                w1 = _mm_loadu_si128((const __m128i *)(p + i + 16));
        __m128i s0 = w0, s1 = w1;
        if (how == STORE_SWAP_RB10) {
            s0 = swap_rb10_128(w0);
            s1 = swap_rb10_128(w1);
        }
        if (how != STORE_NONE && stream) {
            _mm_stream_si128((__m128i *)(out + i), s0);
            _mm_stream_si128((__m128i *)(out + i + 16), s1);
        } else if (how != STORE_NONE) {
            _mm_storeu_si128((__m128i *)(out + i), s0);
            _mm_storeu_si128((__m128i *)(out + i + 16), s1);
        }
        a0 = _mm_add_epi64(a0, w0);
        a1 = _mm_add_epi64(a1, w1);
        b0 = _mm_add_epi64(b0, a0);
        b1 = _mm_add_epi64(b1, a1);
    }
    _mm_storeu_si128((__m128i *)&a[0], a0);
    _mm_storeu_si128((__m128i *)&a[2], a1);
    _mm_storeu_si128((__m128i *)&b[0], b0);
    _mm_storeu_si128((__m128i *)&b[2], b1);
#else
    uint64_t a0 = 1, a1 = 2, a2 = 3, a3 = 4, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
    for (; i + 32 <= bytes; i += 32) {
        uint64_t w[4];
        memcpy(w, p + i, 32);
        if (how == STORE_COPY)
            memcpy(out + i, w, 32);
        if (how == STORE_SWAP_RB10)
            for (int k = 0; k < 8; k++) {
                uint32_t v;
                memcpy(&v, p + i + 4 * k, 4);
                v = swap_rb10(v);
                memcpy(out + i + 4 * k, &v, 4);
            }
        b0 += a0 += w[0];
        b1 += a1 += w[1];
        b2 += a2 += w[2];
        b3 += a3 += w[3];
    }
    a[0] = a0, a[1] = a1, a[2] = a2, a[3] = a3, b[0] = b0, b[1] = b1, b[2] = b2, b[3] = b3;
#endif
    uint64_t tail = 0;
    if (how == STORE_SWAP_RB10) /* whole words only: rows of 2:10:10:10 pixels are */
        for (size_t k = i; k + 4 <= bytes; k += 4) {
            uint32_t v;
            memcpy(&v, p + k, 4);
            v = swap_rb10(v);
            memcpy(out + k, &v, 4);
        }
    for (size_t k = 0; i < bytes; i++, k++) {
        uint8_t v = p[i];
        if (how == STORE_COPY)
            out[i] = v;
        tail ^= (uint64_t)v << (8 * (k & 7)) ^ (uint64_t)(k >> 3) * 0x9e3779b97f4a7c15ull;
    }
    uint64_t h = tail ^ bytes;
    for (int k = 0; k < 4; k++) {
        h = (h ^ a[k]) * 0x9e3779b97f4a7c15ull;
        h = (h ^ b[k] ^ (h >> 29)) * 0xbf58476d1ce4e5b9ull;
    }
    return h ^ (h >> 32);
}

uint64_t sg_kms_row_hash(const void *row, size_t bytes)
{
    return hash_copy(NULL, row, bytes, STORE_NONE);
}

uint64_t sg_kms_copy_row_hash(void *dst, const void *src, size_t bytes)
{
    return hash_copy(dst, src, bytes, STORE_COPY);
}

uint64_t sg_kms_swap_rb10_row_hash(void *dst, const void *src, size_t bytes)
{
    return hash_copy(dst, src, bytes, STORE_SWAP_RB10);
}

void sg_kms_copy_fence(void)
{
#if defined(__SSE2__)
    _mm_sfence();
#endif
}

uint32_t sg_kms_detect_scan(struct sg_kms_detect *d, const uint8_t *src, size_t src_pitch,
                            struct sg_capture_rect *damage, uint32_t *damage_count, bool *whole)
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

bool sg_kms_detect_probe(const struct sg_kms_detect *d, const uint8_t *src, size_t src_pitch, uint32_t phase,
                         uint32_t step)
{
    if (!d->valid)
        return true;
    if (step == 0)
        step = 1;
    for (uint32_t y = phase % step; y < d->height; y += step)
        if (sg_kms_row_hash(src + (size_t)y * src_pitch, (size_t)d->width * 4) != d->row_hash[y])
            return true;
    return false;
}

void sg_kms_detect_store(struct sg_kms_detect *d, uint32_t y, uint64_t hash)
{
    if (y < d->height)
        d->row_hash[y] = hash;
}

uint32_t sg_kms_detect_sample(const struct sg_kms_detect *d, const uint8_t *src, size_t src_pitch,
                              uint32_t phase, uint32_t step, uint32_t *checked)
{
    uint32_t changed = 0, n = 0;
    if (step == 0)
        step = 1;
    for (uint32_t y = phase % step; y < d->height; y += step, n++)
        if (!d->valid || sg_kms_row_hash(src + (size_t)y * src_pitch, (size_t)d->width * 4) != d->row_hash[y])
            changed++;
    *checked = n;
    return changed;
}
