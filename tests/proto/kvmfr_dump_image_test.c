/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spyglass-dump's pictures: every frame type to RGB8, PNG write/read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "dump_image.h"

static struct sg_kvmfr_frame frame(uint32_t type, uint32_t data_w, uint32_t frame_w, uint32_t h,
                                   uint32_t pitch)
{
    struct sg_kvmfr_frame f = {0};
    f.hdr.type = type;
    f.hdr.data_width = data_w;
    f.hdr.frame_width = frame_w;
    f.hdr.data_height = h;
    f.hdr.pitch = pitch;
    f.bytes_per_texel = sg_kvmfr_bytes_per_texel(type);
    return f;
}

static void expect_rgb(uint32_t type, uint32_t data_w, uint32_t frame_w, uint32_t pitch, const void *rows,
                       const uint8_t *want, uint32_t want_w)
{
    struct sg_kvmfr_frame f = frame(type, data_w, frame_w, 2, pitch);
    uint32_t w, h;
    uint8_t *rgb = sg_dump_frame_to_rgb8(&f, rows, &w, &h);
    assert_non_null(rgb);
    assert_int_equal(w, want_w);
    assert_int_equal(h, 2);
    assert_memory_equal(rgb, want, (size_t)want_w * 2 * 3);
    free(rgb);
}

static void test_8bit_types(void **state)
{
    /* 2x2, pitch 12 (one texel of padding per row) */
    const uint8_t bgra[24] = {1, 2,  3,  4,  5,  6,  7,  8,  0xEE, 0xEE, 0xEE, 0xEE,
                              9, 10, 11, 12, 13, 14, 15, 16, 0xEE, 0xEE, 0xEE, 0xEE};
    const uint8_t from_bgra[12] = {3, 2, 1, 7, 6, 5, 11, 10, 9, 15, 14, 13};
    const uint8_t from_rgba[12] = {1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15};
    expect_rgb(SG_FRAME_BGRA, 2, 2, 12, bgra, from_bgra, 2);
    expect_rgb(SG_FRAME_RGBA, 2, 2, 12, bgra, from_rgba, 2);
    /* RGB24: 3 bytes per texel, pitch 8 */
    const uint8_t rgb24[16] = {1, 2, 3, 4, 5, 6, 0xEE, 0xEE, 7, 8, 9, 10, 11, 12, 0xEE, 0xEE};
    const uint8_t from_rgb24[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    expect_rgb(SG_FRAME_RGB_24, 2, 2, 8, rgb24, from_rgb24, 2);
    /* packed BGR24 in 32-bit texels: 3 pixels in 9 bytes, data_width 64 texels */
    uint8_t packed[2 * 256];
    memset(packed, 0xEE, sizeof packed);
    for (int y = 0; y < 2; y++)
        for (int i = 0; i < 9; i++)
            packed[y * 256 + i] = (uint8_t)(y * 100 + i);
    const uint8_t from_packed[18] = {2, 1, 0, 5, 4, 3, 8, 7, 6, 102, 101, 100, 105, 104, 103, 108, 107, 106};
    expect_rgb(SG_FRAME_BGR_32, 64, 3, 256, packed, from_packed, 3);
}

static void test_10bit(void **state)
{
    uint32_t px[4] = {
        1023u | 0u << 10 | 512u << 20 | 3u << 30,
        4u | 8u << 10 | 12u << 20,
        0,
        0x3FFFFFFFu,
    };
    const uint8_t want[12] = {255, 0, 128, 1, 2, 3, 0, 0, 0, 255, 255, 255};
    expect_rgb(SG_FRAME_RGBA10, 2, 2, 8, px, want, 2);
}

static void test_half_float(void **state)
{
    /* R, G, B, A halves: 1.0, 0.5, 0, 1 | 2.0, -1.0, NaN, 0 | +inf, tiny, 0.0031308 | 0.25 ... */
    const uint16_t px[16] = {
        0x3C00, 0x3800, 0x0000, 0x3C00, 0x4000, 0xBC00, 0x7E00, 0x0000,
        0x7C00, 0x0001, 0x1A69, 0x3C00, 0x3400, 0x3A00, 0x2E66, 0x3C00,
    };
    /* sRGB(0.5) = 0.7354 -> 188; sRGB(0.0031308) = 0.04045 -> 10;
     * sRGB(0.25) = 0.5371 -> 137; sRGB(0.75) = 0.8808 -> 225; sRGB(0.1) = 0.3492 -> 89 */
    const uint8_t want[12] = {255, 188, 0, 255, 0, 0, 255, 0, 10, 137, 225, 89};
    expect_rgb(SG_FRAME_RGBA16F, 2, 2, 16, px, want, 2);
}

static void test_png_roundtrip(void **state)
{
    char path[64], err[256];
    snprintf(path, sizeof path, "/tmp/sg-dump-image-%d.png", (int)getpid());
    uint8_t rgb[5 * 3 * 3], rgba[5 * 3 * 4];
    for (size_t i = 0; i < sizeof rgb; i++)
        rgb[i] = (uint8_t)(i * 17);
    for (size_t i = 0; i < sizeof rgba; i++)
        rgba[i] = (uint8_t)(i * 29 + 3);
    uint8_t *back;
    uint32_t w, h;
    assert_int_equal(sg_dump_write_png(path, rgb, 5, 3, 3, err, sizeof err), 0);
    assert_int_equal(sg_dump_read_png(path, &back, &w, &h, err, sizeof err), 0);
    assert_int_equal(w, 5);
    assert_int_equal(h, 3);
    for (int i = 0; i < 15; i++) {
        assert_memory_equal(back + i * 4, rgb + i * 3, 3);
        assert_int_equal(back[i * 4 + 3], 255);
    }
    free(back);
    assert_int_equal(sg_dump_write_png(path, rgba, 5, 3, 4, err, sizeof err), 0);
    assert_int_equal(sg_dump_read_png(path, &back, &w, &h, err, sizeof err), 0);
    assert_memory_equal(back, rgba, sizeof rgba);
    free(back);
    unlink(path);
    /* errors name the path */
    assert_int_equal(sg_dump_write_png("/nonexistent-dir/x.png", rgb, 5, 3, 3, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent-dir/x.png"));
    assert_int_equal(sg_dump_read_png("/nonexistent-dir/x.png", &back, &w, &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent-dir/x.png"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_8bit_types),
        cmocka_unit_test(test_10bit),
        cmocka_unit_test(test_half_float),
        cmocka_unit_test(test_png_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
