/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cursor messages, shape decoding and SET_CURSOR_POS (kvmfr.md §6, §7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kvmfr.h"

#define BUF_SIZE (SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE)

static uint8_t *payload, *copy;

static int setup(void **state)
{
    payload = calloc(1, BUF_SIZE);
    copy = calloc(1, BUF_SIZE);
    return 0;
}

static int teardown(void **state)
{
    free(payload);
    free(copy);
    return 0;
}

static void put(int16_t x, int16_t y, uint32_t type, int8_t hx, int8_t hy, uint32_t w, uint32_t h,
                uint32_t pitch)
{
    struct sg_kvmfr_wire_cursor c = {x, y, type, hx, hy, {0, 0}, w, h, pitch};
    sg_kvmfr_cursor_write(payload, &c);
}

static void test_position_only(void **state)
{
    struct sg_kvmfr_cursor c;
    put(-5, 300, 77 /* ignored without SHAPE */, 0, 0, 0, 0, 0);
    assert_int_equal(
        sg_kvmfr_cursor_read(payload, 24, SG_CURSOR_FLAG_POSITION | SG_CURSOR_FLAG_VISIBLE, copy, 24, &c),
        SG_KVMFR_OK);
    assert_int_equal(c.flags, 3);
    assert_int_equal(c.x, -5);
    assert_int_equal(c.y, 300);
    assert_null(c.shape);
    assert_int_equal(c.width, 0);
    /* header layout on the wire */
    int16_t v16;
    memcpy(&v16, payload + 2, 2);
    assert_int_equal(v16, 300);
    uint32_t v32;
    memcpy(&v32, payload + 4, 4);
    assert_int_equal(v32, 77);
}

static void test_colour(void **state)
{
    struct sg_kvmfr_cursor c;
    put(10, 20, SG_CURSOR_COLOR, 4, -3, 3, 2, 16);
    uint8_t *s = payload + 24;
    for (int i = 0; i < 2 * 16; i++)
        s[i] = (uint8_t)(i * 5 + 1); /* B,G,R,A per pixel; 4 bytes of row padding */
    assert_int_equal(sg_kvmfr_cursor_read(payload, BUF_SIZE, 7, copy, BUF_SIZE, &c), SG_KVMFR_OK);
    assert_int_equal(c.shape_type, SG_CURSOR_COLOR);
    assert_int_equal(c.hot_x, 4);
    assert_int_equal(c.hot_y, -3);
    assert_int_equal(c.width, 3);
    assert_int_equal(c.height, 2);
    assert_int_equal(c.data_rows, 2);
    assert_int_equal(c.pitch, 16);
    assert_int_equal(c.shape_size, 32);
    assert_ptr_equal(c.shape, copy + 24);
    /* copied out: the region may change now */
    memset(payload + 24, 0, 32);
    uint8_t rgba[6 * 4], inv[6];
    memset(inv, 9, sizeof inv);
    assert_int_equal(sg_kvmfr_cursor_decode(&c, rgba, inv, 6), SG_KVMFR_OK);
    for (int y = 0; y < 2; y++)
        for (int x = 0; x < 3; x++) {
            int i = y * 16 + x * 4;
            uint8_t *p = rgba + (y * 3 + x) * 4;
            assert_int_equal(p[0], (uint8_t)((i + 2) * 5 + 1));
            assert_int_equal(p[1], (uint8_t)((i + 1) * 5 + 1));
            assert_int_equal(p[2], (uint8_t)(i * 5 + 1));
            assert_int_equal(p[3], (uint8_t)((i + 3) * 5 + 1));
            assert_int_equal(inv[y * 3 + x], 0);
        }
    assert_int_equal(sg_kvmfr_cursor_decode(&c, rgba, inv, 5), SG_KVMFR_BUFFER_TOO_SMALL);
    assert_int_equal(sg_kvmfr_cursor_decode(&c, rgba, NULL, 6), SG_KVMFR_OK); /* mask optional */
}

static void test_monochrome(void **state)
{
    /* 10 pixels wide (2 bytes/row, pitch 3), 2 visible rows -> 4 data rows.
     * Row 0: AND 0b00110011 11......, XOR 0b01010101 01......
     * -> x: 0 (0,0) black, 1 (0,1) white, 2 (1,0) keep, 3 (1,1) invert, 4..7 repeat,
     *    8 (1,0) keep, 9 (1,1) invert.
     * Row 1: AND all 0, XOR all 1 -> white everywhere. */
    struct sg_kvmfr_cursor c;
    put(0, 0, SG_CURSOR_MONOCHROME, 1, 1, 10, 4, 3);
    uint8_t *s = payload + 24;
    const uint8_t rows[4][3] = {
        {0x33, 0xC0, 0xEE}, {0x00, 0x00, 0xEE}, {0x55, 0x40, 0xEE}, {0xFF, 0xFF, 0xEE}};
    memcpy(s, rows, sizeof rows);
    assert_int_equal(sg_kvmfr_cursor_read(payload, BUF_SIZE, 4, copy, BUF_SIZE, &c), SG_KVMFR_OK);
    assert_int_equal(c.height, 2);
    assert_int_equal(c.data_rows, 4);
    uint8_t rgba[20 * 4], inv[20];
    assert_int_equal(sg_kvmfr_cursor_decode(&c, rgba, inv, 20), SG_KVMFR_OK);
    static const uint8_t black[4] = {0, 0, 0, 255}, white[4] = {255, 255, 255, 255}, clear[4] = {0, 0, 0, 0};
    const uint8_t *want0[10] = {black, white, clear, clear, black, white, clear, clear, clear, clear};
    const uint8_t inv0[10] = {0, 0, 0, 1, 0, 0, 0, 1, 0, 1};
    for (int x = 0; x < 10; x++) {
        assert_memory_equal(rgba + x * 4, want0[x], 4);
        assert_int_equal(inv[x], inv0[x]);
        assert_memory_equal(rgba + (10 + x) * 4, white, 4);
        assert_int_equal(inv[10 + x], 0);
    }
}

static void test_masked_colour(void **state)
{
    struct sg_kvmfr_cursor c;
    put(0, 0, SG_CURSOR_MASKED_COLOR, 0, 0, 4, 1, 16);
    const uint8_t px[16] = {
        10, 20,   30, 0,    /* M = 0: opaque R=30 G=20 B=10 */
        0,  0,    0,  0,    /* M = 0, black: opaque black */
        0,  0x80, 0,  0xFF, /* M != 0, non-zero colour: invert */
        0,  0,    0,  0xFF, /* M != 0, zero colour: transparent */
    };
    memcpy(payload + 24, px, 16);
    assert_int_equal(sg_kvmfr_cursor_read(payload, BUF_SIZE, 4, copy, BUF_SIZE, &c), SG_KVMFR_OK);
    uint8_t rgba[16], inv[4];
    assert_int_equal(sg_kvmfr_cursor_decode(&c, rgba, inv, 4), SG_KVMFR_OK);
    const uint8_t want[16] = {30, 20, 10, 255, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 0};
    assert_memory_equal(rgba, want, 16);
    assert_int_equal(inv[0], 0);
    assert_int_equal(inv[1], 0);
    assert_int_equal(inv[2], 1);
    assert_int_equal(inv[3], 0);
}

/* The exact-XOR form gives the masked colour itself, and white for a
 * monochrome invert, so a renderer can XOR instead of guessing. */
static void test_decode_xor_colours(void **state)
{
    struct sg_kvmfr_cursor c;
    put(0, 0, SG_CURSOR_MASKED_COLOR, 0, 0, 3, 1, 12);
    const uint8_t px[12] = {1, 2, 3, 0, 0x10, 0x80, 0x40, 0xFF, 0, 0, 0, 0xFF};
    memcpy(payload + 24, px, 12);
    assert_int_equal(sg_kvmfr_cursor_read(payload, BUF_SIZE, 4, copy, BUF_SIZE, &c), SG_KVMFR_OK);
    uint8_t over[12], xr[12];
    bool has_xor = false;
    assert_int_equal(sg_kvmfr_cursor_decode_xor(&c, over, xr, 3, &has_xor), SG_KVMFR_OK);
    const uint8_t want_over[12] = {3, 2, 1, 255, 0, 0, 0, 0, 0, 0, 0, 0};
    const uint8_t want_xor[12] = {0, 0, 0, 0, 0x40, 0x80, 0x10, 0, 0, 0, 0, 0};
    assert_memory_equal(over, want_over, 12);
    assert_memory_equal(xr, want_xor, 12);
    assert_true(has_xor);

    put(0, 0, SG_CURSOR_MONOCHROME, 0, 0, 8, 2, 1);
    const uint8_t mono[2] = {0x80,
                             0x80}; /* pixel 0: AND 1, XOR 1 -> invert; the rest AND 0, XOR 0 -> black */
    memcpy(payload + 24, mono, 2);
    assert_int_equal(sg_kvmfr_cursor_read(payload, BUF_SIZE, 4, copy, BUF_SIZE, &c), SG_KVMFR_OK);
    uint8_t o8[32], x8[32];
    assert_int_equal(sg_kvmfr_cursor_decode_xor(&c, o8, x8, 8, &has_xor), SG_KVMFR_OK);
    const uint8_t inv_white[4] = {255, 255, 255, 0}, black[4] = {0, 0, 0, 255}, none[4] = {0, 0, 0, 0};
    assert_memory_equal(x8, inv_white, 4);
    assert_memory_equal(o8, none, 4);
    assert_memory_equal(o8 + 4, black, 4);
    assert_memory_equal(x8 + 4, none, 4);
    assert_true(has_xor);

    /* a buffer too small for the pixels is refused, not overrun */
    assert_int_equal(sg_kvmfr_cursor_decode_xor(&c, o8, x8, 7, &has_xor), SG_KVMFR_BUFFER_TOO_SMALL);
}

static void expect(uint32_t type, uint32_t w, uint32_t h, uint32_t pitch, uint32_t payload_size,
                   size_t copy_size, enum sg_kvmfr_status want)
{
    struct sg_kvmfr_cursor c;
    put(1, 2, type, 0, 0, w, h, pitch);
    enum sg_kvmfr_status got = sg_kvmfr_cursor_read(payload, payload_size, 7, copy, copy_size, &c);
    if (got != want)
        fail_msg("type %u %ux%u pitch %u: got %s, want %s", type, w, h, pitch, sg_kvmfr_status_str(got),
                 sg_kvmfr_status_str(want));
}

static void test_hostile(void **state)
{
    struct sg_kvmfr_cursor c;
    assert_int_equal(sg_kvmfr_cursor_read(payload, 23, 3, copy, BUF_SIZE, &c), SG_KVMFR_PAYLOAD_TOO_SMALL);
    assert_int_equal(sg_kvmfr_cursor_read(payload, 24, 3, copy, 23, &c), SG_KVMFR_BUFFER_TOO_SMALL);
    expect(3, 8, 8, 32, BUF_SIZE, BUF_SIZE, SG_KVMFR_BAD_CURSOR_TYPE);
    expect(0xFFFFFFFF, 8, 8, 32, BUF_SIZE, BUF_SIZE, SG_KVMFR_BAD_CURSOR_TYPE);
    expect(0, 0, 8, 32, BUF_SIZE, BUF_SIZE, SG_KVMFR_BAD_CURSOR_SIZE);
    expect(0, 8, 0, 32, BUF_SIZE, BUF_SIZE, SG_KVMFR_BAD_CURSOR_SIZE);
    expect(0, 8, 8, 0, BUF_SIZE, BUF_SIZE, SG_KVMFR_BAD_CURSOR_SIZE);
    expect(0, 8, 8, 31, BUF_SIZE, BUF_SIZE, SG_KVMFR_BAD_CURSOR_SIZE); /* pitch < 4 * width */
    expect(2, 8, 8, 31, BUF_SIZE, BUF_SIZE, SG_KVMFR_BAD_CURSOR_SIZE);
    expect(1, 17, 8, 2, BUF_SIZE, BUF_SIZE, SG_KVMFR_BAD_CURSOR_SIZE); /* needs 3 bytes */
    expect(1, 17, 8, 3, BUF_SIZE, BUF_SIZE, SG_KVMFR_OK);
    expect(1, 8, 7, 1, BUF_SIZE, BUF_SIZE, SG_KVMFR_BAD_CURSOR_SIZE); /* odd monochrome height */
    expect(0, 512, 512, 2048, BUF_SIZE, BUF_SIZE, SG_KVMFR_OK);       /* exactly 1 MiB */
    expect(0, 512, 513, 2048, BUF_SIZE, BUF_SIZE, SG_KVMFR_BAD_CURSOR_SIZE);
    expect(0, 1, 0x10000, 0x10000, BUF_SIZE, BUF_SIZE, SG_KVMFR_BAD_CURSOR_SIZE); /* 2^32 bytes */
    expect(1, 1025, 2, 1000, BUF_SIZE, BUF_SIZE, SG_KVMFR_BAD_CURSOR_SIZE);       /* wider than 1024 */
    expect(0, 8, 8, 32, 24 + 255, BUF_SIZE, SG_KVMFR_CURSOR_OUTSIDE_PAYLOAD);
    expect(0, 8, 8, 32, 24 + 256, BUF_SIZE, SG_KVMFR_OK);
    expect(0, 8, 8, 32, 24 + 256, 24 + 255, SG_KVMFR_BUFFER_TOO_SMALL);
    expect(0, 8, 8, 32, 24, BUF_SIZE,
           SG_KVMFR_CURSOR_OUTSIDE_PAYLOAD); /* a 24-byte record claiming a shape */

    /* decode of something that did not come from cursor_read */
    struct sg_kvmfr_cursor bad = {
        .shape = copy, .shape_type = 1, .width = 8, .height = 4, .pitch = 1, .data_rows = 4, .shape_size = 4};
    uint8_t rgba[64], inv[16];
    assert_int_equal(sg_kvmfr_cursor_decode(&bad, rgba, inv, 16), SG_KVMFR_BAD_CURSOR_SIZE);
    bad.shape_type = 5;
    assert_int_equal(sg_kvmfr_cursor_decode(&bad, rgba, inv, 16), SG_KVMFR_BAD_CURSOR_TYPE);
    bad.shape = NULL;
    bad.shape_type = 0;
    assert_int_equal(sg_kvmfr_cursor_decode(&bad, rgba, inv, 16), SG_KVMFR_BAD_CURSOR_TYPE);
}

static void test_set_cursor_pos(void **state)
{
    uint8_t msg[12];
    assert_int_equal(sg_kvmfr_encode_set_cursor_pos(msg, 400, -2), 12);
    const uint8_t want[12] = {0, 0, 0, 0, 0x90, 0x01, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF};
    assert_memory_equal(msg, want, 12);
    int32_t x = 0, y = 0;
    assert_true(sg_kvmfr_decode_set_cursor_pos(msg, 12, &x, &y));
    assert_int_equal(x, 400);
    assert_int_equal(y, -2);
    assert_false(sg_kvmfr_decode_set_cursor_pos(msg, 11, &x, &y));
    assert_false(sg_kvmfr_decode_set_cursor_pos(msg, 13, &x, &y));
    assert_false(sg_kvmfr_decode_set_cursor_pos(NULL, 12, &x, &y));
    msg[0] = 1;
    assert_false(sg_kvmfr_decode_set_cursor_pos(msg, 12, &x, &y));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_position_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_colour, setup, teardown),
        cmocka_unit_test_setup_teardown(test_monochrome, setup, teardown),
        cmocka_unit_test_setup_teardown(test_masked_colour, setup, teardown),
        cmocka_unit_test_setup_teardown(test_decode_xor_colours, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
        cmocka_unit_test(test_set_cursor_pos),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
