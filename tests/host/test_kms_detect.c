/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kms backend's change detection (host/capture/kms_detect.c) on synthetic
 * buffers: the exact damage rectangles, the interleaved probe, stored hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kms_detect.h"

#define W 1920u
#define H 1080u
#define PITCH (W * 4 + 256) /* scan-outs often have padded rows */

struct fixture {
    uint8_t *buf;
    struct sg_kms_detect det;
    struct sg_capture_rect damage[SG_CAPTURE_MAX_DAMAGE];
    uint32_t ndamage;
    bool whole;
};

static uint32_t scan(struct fixture *f)
{
    memset(f->damage, 0xee, sizeof(f->damage));
    return sg_kms_detect_scan(&f->det, f->buf, PITCH, f->damage, &f->ndamage, &f->whole);
}

static uint32_t *px(struct fixture *f, uint32_t x, uint32_t y)
{
    return (uint32_t *)(f->buf + (size_t)y * PITCH + (size_t)x * 4);
}

static void fill(struct fixture *f, uint32_t seed)
{
    for (uint32_t y = 0; y < H; y++)
        for (uint32_t x = 0; x < W; x++)
            *px(f, x, y) = (x * 2654435761u) ^ (y * 40503u) ^ seed;
}

static void assert_rect(const struct sg_capture_rect *r, uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
    if (r->x != x || r->y != y || r->w != w || r->h != h)
        fail_msg("damage {%u,%u %ux%u}, expected {%u,%u %ux%u}", r->x, r->y, r->w, r->h, x, y, w, h);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->buf = malloc((size_t)PITCH * H);
    fill(f, 0);
    /* the padding must never count: fill it with noise that changes per scan */
    assert_int_equal(sg_kms_detect_reset(&f->det, W, H), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    sg_kms_detect_finish(&f->det);
    free(f->buf);
    free(f);
    return 0;
}

/* The first scan has nothing to compare with: every row, the whole frame. */
static void test_first_scan_whole(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(scan(f), H);
    assert_true(f->whole);
    assert_int_equal(f->ndamage, 0);
}

static void test_nothing_changed(void **state)
{
    struct fixture *f = *state;
    scan(f);
    for (uint32_t y = 0; y < H; y++) /* the padding past the row is not part of the image */
        memset(f->buf + (size_t)y * PITCH + W * 4, (int)y, PITCH - W * 4);
    assert_int_equal(scan(f), 0);
    assert_false(f->whole);
    assert_int_equal(f->ndamage, 0);
    assert_int_equal(scan(f), 0);
}

static void test_every_row_changed(void **state)
{
    struct fixture *f = *state;
    scan(f);
    fill(f, 0x01020304);
    assert_int_equal(scan(f), H);
    assert_false(f->whole);
    assert_int_equal(f->ndamage, 1);
    assert_rect(&f->damage[0], 0, 0, W, H);
    assert_int_equal(scan(f), 0); /* and then it is still */
}

static void test_one_pixel(void **state)
{
    struct fixture *f = *state;
    static const uint32_t where[][2] = {{0, 0}, {W - 1, H - 1}, {1000, 537}, {7, 1}, {W - 1, 0}};
    scan(f);
    for (size_t i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
        *px(f, where[i][0], where[i][1]) ^= 1; /* one bit of the blue channel */
        assert_int_equal(scan(f), 1);
        assert_int_equal(f->ndamage, 1);
        assert_rect(&f->damage[0], 0, where[i][1], W, 1);
        assert_int_equal(scan(f), 0);
    }
}

/* A 100x100 square: damage is exactly its rows. */
static void test_square(void **state)
{
    struct fixture *f = *state;
    scan(f);
    for (uint32_t y = 500; y < 600; y++)
        for (uint32_t x = 910; x < 1010; x++)
            *px(f, x, y) = 0xff00ff00u;
    assert_int_equal(scan(f), 100);
    assert_int_equal(f->ndamage, 1);
    assert_rect(&f->damage[0], 0, 500, W, 100);
}

/* Separate changes stay separate rectangles, in row order. */
static void test_two_areas(void **state)
{
    struct fixture *f = *state;
    scan(f);
    *px(f, 5, 10) += 1;
    *px(f, 6, 11) += 1;
    *px(f, 100, H - 3) += 1;
    assert_int_equal(scan(f), 3);
    assert_int_equal(f->ndamage, 2);
    assert_rect(&f->damage[0], 0, 10, W, 2);
    assert_rect(&f->damage[1], 0, H - 3, W, 1);
}

/* Pixels that trade places inside a row change the hash too (sums alone would not). */
static void test_swap_in_row(void **state)
{
    struct fixture *f = *state;
    scan(f);
    uint32_t a = *px(f, 0, 42), b = *px(f, 8, 42); /* same lane of the hash, 32 bytes apart */
    assert_int_not_equal(a, b);
    *px(f, 0, 42) = b;
    *px(f, 8, 42) = a;
    assert_int_equal(scan(f), 1);
    assert_rect(&f->damage[0], 0, 42, W, 1);
}

/* More separate runs than the list holds: one box around them all. */
static void test_too_many_runs(void **state)
{
    struct fixture *f = *state;
    scan(f);
    for (uint32_t i = 0; i < 100; i++)
        *px(f, 3, 100 + 2 * i) += 1; /* rows 100, 102, ..., 298 */
    assert_int_equal(scan(f), 100);
    assert_int_equal(f->ndamage, 1);
    assert_rect(&f->damage[0], 0, 100, W, 199);
}

/* After a reset (mode change) or invalidate (output back on) it is whole again. */
static void test_reset_and_invalidate(void **state)
{
    struct fixture *f = *state;
    scan(f);
    sg_kms_detect_invalidate(&f->det);
    assert_int_equal(scan(f), H);
    assert_true(f->whole);
    assert_int_equal(sg_kms_detect_reset(&f->det, 800, 600), 0);
    uint32_t n = sg_kms_detect_scan(&f->det, f->buf, PITCH, f->damage, &f->ndamage, &f->whole);
    assert_int_equal(n, 600);
    assert_true(f->whole);
    assert_int_equal(scan(f), 0);
    *px(f, 799, 599) += 1; /* inside the 800x600 image */
    *px(f, 800, 10) += 1;  /* outside it */
    assert_int_equal(scan(f), 1);
    assert_rect(&f->damage[0], 0, 599, 800, 1);
}

/* Rows that are not a multiple of the hash's 32-byte step: the tail counts too. */
static void test_odd_width_tail(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(sg_kms_detect_reset(&f->det, 1366, 4), 0);
    scan(f);
    *px(f, 1365, 2) ^= 0x00800000u; /* the last pixel, past the last whole 32 bytes */
    assert_int_equal(scan(f), 1);
    assert_rect(&f->damage[0], 0, 2, 1366, 1);
    *px(f, 1364, 3) ^= 0x80u;
    assert_int_equal(scan(f), 1);
    assert_rect(&f->damage[0], 0, 3, 1366, 1);
}

/* The probe reads rows phase, phase + step, ...: a change there is seen, a
 * change between them only by the probe whose phase hits it; all of them
 * together cover every row. It never stores anything. */
static void test_probe(void **state)
{
    struct fixture *f = *state;
    assert_true(sg_kms_detect_probe(&f->det, f->buf, PITCH, 0, 8)); /* nothing to compare with yet */
    scan(f);
    for (uint32_t phase = 0; phase < 8; phase++)
        assert_false(sg_kms_detect_probe(&f->det, f->buf, PITCH, phase, 8));
    *px(f, 77, 403) += 1; /* 403 % 8 == 3 */
    for (uint32_t phase = 0; phase < 16; phase++)
        assert_int_equal(sg_kms_detect_probe(&f->det, f->buf, PITCH, phase, 8), phase % 8 == 3);
    assert_true(sg_kms_detect_probe(&f->det, f->buf, PITCH, 5, 1)); /* step 1: every row */
    assert_int_equal(scan(f), 1); /* the probe stored nothing: the scan still sees the change */
    assert_rect(&f->damage[0], 0, 403, W, 1);
    for (uint32_t phase = 0; phase < 8; phase++)
        assert_false(sg_kms_detect_probe(&f->det, f->buf, PITCH, phase, 8));
    /* an 8-row change is seen by every probe */
    for (uint32_t y = 600; y < 608; y++)
        *px(f, 1, y) += 1;
    for (uint32_t phase = 0; phase < 8; phase++)
        assert_true(sg_kms_detect_probe(&f->det, f->buf, PITCH, phase, 8));
}

/* What the backend stores as published wins: a row published with other bytes
 * than the scan saw (drawn into between scan and copy) is found again. */
static void test_store(void **state)
{
    struct fixture *f = *state;
    scan(f);
    uint32_t row[W];
    memcpy(row, px(f, 0, 9), sizeof(row));
    row[100] ^= 0xff; /* "published" bytes differ from the buffer's */
    sg_kms_detect_store(&f->det, 9, sg_kms_row_hash(row, sizeof(row)));
    assert_true(sg_kms_detect_probe(&f->det, f->buf, PITCH, 1, 8));
    assert_int_equal(scan(f), 1);
    assert_rect(&f->damage[0], 0, 9, W, 1);
    uint32_t copy[W];
    sg_kms_detect_store(&f->det, 9,
                        sg_kms_copy_row_hash(copy, px(f, 0, 9), sizeof(copy))); /* as the buffer is */
    assert_memory_equal(copy, px(f, 0, 9), sizeof(copy));
    assert_int_equal(scan(f), 0);
    sg_kms_detect_store(&f->det, H, 1); /* outside the image: ignored */
    assert_int_equal(scan(f), 0);
}

/* The copying hash equals the plain one and copies every byte, tails included. */
static void test_copy_row_hash(void **state)
{
    struct fixture *f = *state;
    static uint8_t dst[W * 4 + 8];
    for (size_t n = 0; n <= 100; n++) {
        memset(dst, 0xa5, sizeof(dst));
        assert_true(sg_kms_copy_row_hash(dst, f->buf + 3, n) == sg_kms_row_hash(f->buf + 3, n));
        assert_memory_equal(dst, f->buf + 3, n);
        assert_int_equal(dst[n], 0xa5);
    }
    assert_true(sg_kms_copy_row_hash(dst, f->buf, W * 4) == sg_kms_row_hash(f->buf, W * 4));
    assert_memory_equal(dst, f->buf, W * 4);
}

/* The sample counts every sampled row that differs. */
static void test_sample(void **state)
{
    struct fixture *f = *state;
    uint32_t checked;
    assert_int_equal(sg_kms_detect_sample(&f->det, f->buf, PITCH, 0, 8, &checked),
                     H / 8); /* nothing stored yet */
    assert_int_equal(checked, H / 8);
    scan(f);
    assert_int_equal(sg_kms_detect_sample(&f->det, f->buf, PITCH, 3, 8, &checked), 0);
    for (uint32_t y = 0; y < 100; y++) /* rows 0..99: 13 of them are 3 mod 8 (3, 11, ..., 99) */
        *px(f, 9, y) += 1;
    assert_int_equal(sg_kms_detect_sample(&f->det, f->buf, PITCH, 3, 8, &checked), 13);
    assert_int_equal(checked, H / 8);
    assert_int_equal(sg_kms_detect_sample(&f->det, f->buf, PITCH, 0, 1, &checked), 100);
    assert_int_equal(checked, H);
    fill(f, 77);
    uint32_t n = sg_kms_detect_sample(&f->det, f->buf, PITCH, 5, 8, &checked);
    assert_int_equal(n, H / 8);
    assert_int_equal(checked, H / 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_first_scan_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nothing_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_row_changed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_pixel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_square, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_areas, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swap_in_row, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_many_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_and_invalidate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_odd_width_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_row_hash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sample, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
