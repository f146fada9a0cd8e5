/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Capture backends against the interface alone: testpattern and fbdev. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture.h"
#include "fbdev.h"
#ifdef SG_HAVE_KMS
#include <drm_fourcc.h>

#include "kms.h"
#endif
#include "kvmfr.h"
#include "testpattern.h"
#include "testpattern_check.h"

static struct sg_capture *make(const char *name, const char *const *kv, char *err)
{
    const struct sg_capture_impl *impl = sg_capture_find(name);
    assert_non_null(impl);
    size_t n = sg_capture_option_count(impl);
    const char *vals[16];
    for (size_t i = 0; i < n; i++)
        vals[i] = impl->options[i].def;
    for (; kv && kv[0]; kv += 2) {
        int i = sg_capture_option_index(impl, kv[0]);
        assert_true(i >= 0);
        vals[i] = kv[1];
    }
    struct sg_capture *cap = NULL;
    err[0] = 0;
    if (sg_capture_create(impl, &cap, vals, err, 256) != 0)
        return NULL;
    return cap;
}

static void test_registry(void **state)
{
    assert_ptr_equal(sg_capture_find("testpattern"), &sg_capture_testpattern);
    assert_ptr_equal(sg_capture_find("TestPattern"), &sg_capture_testpattern);
    assert_ptr_equal(sg_capture_find("fbdev"), &sg_capture_fbdev);
    assert_null(sg_capture_find("dxgi"));
    assert_int_equal(sg_capture_option_index(&sg_capture_testpattern, "rate"), 2);
    assert_int_equal(sg_capture_option_index(&sg_capture_testpattern, "nope"), -1);
    assert_string_equal(sg_capture_status_str(SG_CAPTURE_TIMEOUT), "TIMEOUT");
}

static void test_damage_add(void **state)
{
    struct sg_capture_rect list[SG_CAPTURE_MAX_DAMAGE];
    uint32_t n = 0;
    struct sg_capture_rect a = {10, 10, 20, 20}, inner = {15, 15, 2, 2}, big = {0, 0, 100, 100};
    sg_capture_damage_add(list, &n, &a);
    sg_capture_damage_add(list, &n, &inner);
    assert_int_equal(n, 1);
    sg_capture_damage_add(list, &n, &big);
    assert_int_equal(n, 1);
    assert_int_equal(list[0].w, 100);
    n = 0;
    for (uint32_t i = 0; i < 65; i++) {
        struct sg_capture_rect r = {i * 3, i * 2, 2, 1};
        sg_capture_damage_add(list, &n, &r);
    }
    assert_int_equal(n, 1);
    assert_int_equal(list[0].x, 0);
    assert_int_equal(list[0].y, 0);
    assert_int_equal(list[0].w, 64 * 3 + 2);
    assert_int_equal(list[0].h, 64 * 2 + 1);
    struct sg_capture_rect c = {90, 5, 50, 50};
    assert_true(sg_capture_rect_clip(&c, 100, 40));
    assert_int_equal(c.w, 10);
    assert_int_equal(c.h, 35);
    struct sg_capture_rect d = {100, 5, 5, 5};
    assert_false(sg_capture_rect_clip(&d, 100, 40));
}

static void test_testpattern_frames(void **state)
{
    char err[256];
    const char *kv[] = {"width", "320", "height", "240", "rate", "0", NULL};
    struct sg_capture *cap = make("testpattern", kv, err);
    assert_non_null(cap);
    assert_int_equal(sg_capture_start(cap), 0);
    const uint32_t W = 320, H = 240;
    uint8_t *buf = calloc(W * H, 4);
    struct sg_capture_frame f;
    for (uint32_t n = 0; n < 2 * SG_TP_SCENE + 5; n++) {
        assert_int_equal(sg_capture_next_frame(cap, 100, &f), SG_CAPTURE_OK);
        assert_int_equal(f.type, SG_FRAME_BGRA);
        assert_int_equal(f.width, W);
        assert_int_equal(f.height, H);
        if (n == 0 || n % SG_TP_SCENE == 0) {
            assert_int_equal(f.damage_count, 0);
            struct sg_capture_rect all = {0, 0, W, H};
            sg_capture_copy_rect(cap, &all, buf, W * 4);
        } else {
            /* only the damage is copied: the buffer must still end up exact */
            assert_true(f.damage_count > 0);
            uint64_t area = 0;
            for (uint32_t i = 0; i < f.damage_count; i++) {
                area += (uint64_t)f.damage[i].w * f.damage[i].h;
                sg_capture_copy_rect(cap, &f.damage[i], buf, W * 4);
            }
            assert_true(area < (uint64_t)W * H / 2);
        }
        assert_int_equal(sg_tp_decode_frame(buf), n);
        for (uint32_t y = 0; y < H; y++)
            for (uint32_t x = 0; x < W; x++) {
                uint32_t px;
                memcpy(&px, buf + (y * W + x) * 4, 4);
                if (px != sg_tp_pixel(W, H, n, x, y))
                    fail_msg("frame %u pixel (%u,%u) is %08x, want %08x", n, x, y, px,
                             sg_tp_pixel(W, H, n, x, y));
            }
    }
    /* a restart shows the frame held, whole */
    sg_capture_stop(cap);
    assert_int_equal(sg_capture_start(cap), 0);
    assert_int_equal(sg_capture_next_frame(cap, 100, &f), SG_CAPTURE_OK);
    assert_int_equal(f.damage_count, 0);
    free(buf);
    sg_capture_destroy(cap);
    sg_capture_destroy(NULL);
}

/* testpattern:type=rgba|rgba10: the same picture in the other layouts, read
 * back the way kvmfr.md §5.3 defines them (10-bit channels repeat their top
 * bits), whole frames and damage-only ones alike. */
static void test_testpattern_types(void **state)
{
    char err[256];
    const uint32_t W = 160, H = 120;
    static const struct {
        const char *name;
        uint32_t type;
    } types[] = {{"rgba", SG_FRAME_RGBA}, {"RGBA10", SG_FRAME_RGBA10}};
    for (size_t t = 0; t < 2; t++) {
        const char *kv[] = {"width", "160", "height", "120", "rate", "0", "type", types[t].name, NULL};
        struct sg_capture *cap = make("testpattern", kv, err);
        assert_non_null(cap);
        assert_int_equal(sg_capture_start(cap), 0);
        uint8_t *buf = calloc(W * H, 4);
        struct sg_capture_frame f;
        for (uint32_t n = 0; n < 6; n++) {
            assert_int_equal(sg_capture_next_frame(cap, 100, &f), SG_CAPTURE_OK);
            assert_int_equal(f.type, types[t].type);
            struct sg_capture_rect all = {0, 0, W, H};
            for (uint32_t i = 0; i < (f.damage_count ? f.damage_count : 1); i++)
                sg_capture_copy_rect(cap, f.damage_count ? &f.damage[i] : &all, buf, W * 4);
            for (uint32_t y = 0; y < H; y++)
                for (uint32_t x = 0; x < W; x++) {
                    uint32_t want = sg_tp_pixel(W, H, n, x, y), px;
                    uint32_t r = want >> 16 & 0xff, g = want >> 8 & 0xff, b = want & 0xff, gr, gg, gb;
                    memcpy(&px, buf + (y * W + x) * 4, 4);
                    if (types[t].type == SG_FRAME_RGBA) { /* bytes R, G, B */
                        gr = buf[(y * W + x) * 4], gg = buf[(y * W + x) * 4 + 1],
                        gb = buf[(y * W + x) * 4 + 2];
                    } else { /* R bits 0-9, G 10-19, B 20-29 */
                        gr = px & 0x3ff, gg = px >> 10 & 0x3ff, gb = px >> 20 & 0x3ff;
                        r = r << 2 | r >> 6, g = g << 2 | g >> 6, b = b << 2 | b >> 6;
                    }
                    if (gr != r || gg != g || gb != b)
                        fail_msg("%s frame %u pixel (%u,%u): r=%u g=%u b=%u, want %u %u %u", types[t].name, n,
                                 x, y, gr, gg, gb, r, g, b);
                }
        }
        free(buf);
        sg_capture_destroy(cap);
    }
    const char *bad[] = {"type", "rgb565", NULL};
    assert_null(make("testpattern", bad, err));
    assert_string_equal(err, "testpattern:type 'rgb565' is not bgra, rgba or rgba10");
}

static void test_testpattern_still(void **state)
{
    char err[256];
    const char *kv[] = {"width", "160", "height", "120", "rate", "0", "frames", "3", NULL};
    struct sg_capture *cap = make("testpattern", kv, err);
    assert_non_null(cap);
    sg_capture_start(cap);
    struct sg_capture_frame f;
    for (int i = 0; i < 3; i++)
        assert_int_equal(sg_capture_next_frame(cap, 10, &f), SG_CAPTURE_OK);
    assert_int_equal(sg_capture_next_frame(cap, 10, &f), SG_CAPTURE_TIMEOUT);
    sg_capture_destroy(cap);
}

static void test_testpattern_rate(void **state)
{
    char err[256];
    const char *kv[] = {"width", "160", "height", "120", "rate", "10", NULL};
    struct sg_capture *cap = make("testpattern", kv, err);
    sg_capture_start(cap);
    struct sg_capture_frame f;
    assert_int_equal(sg_capture_next_frame(cap, 10, &f), SG_CAPTURE_OK); /* frame 0 at once */
    /* frame 1 is due 100 ms later: a 10 ms wait times out */
    assert_int_equal(sg_capture_next_frame(cap, 10, &f), SG_CAPTURE_TIMEOUT);
    assert_int_equal(sg_capture_next_frame(cap, 500, &f), SG_CAPTURE_OK);
    sg_capture_destroy(cap);
}

static void test_testpattern_cursor(void **state)
{
    char err[256];
    const char *kv[] = {"width", "320", "height", "240", "rate", "0", NULL};
    struct sg_capture *cap = make("testpattern", kv, err);
    sg_capture_start(cap);
    uint8_t *shape = malloc(SG_KVMFR_CURSOR_MAX_SHAPE_BYTES), *want = malloc(SG_KVMFR_CURSOR_MAX_SHAPE_BYTES);
    struct sg_capture_frame f;
    struct sg_capture_cursor c;
    bool seen_type[3] = {false, false, false};
    for (uint32_t n = 0; n < 3 * SG_TP_SHAPE_PERIOD + 1; n++) {
        assert_int_equal(sg_capture_next_frame(cap, 10, &f), SG_CAPTURE_OK);
        assert_int_equal(sg_capture_next_cursor(cap, &c, shape, SG_KVMFR_CURSOR_MAX_SHAPE_BYTES),
                         SG_CAPTURE_OK);
        int32_t x, y;
        sg_tp_cursor_pos(320, 240, n, &x, &y);
        assert_true(c.has_position && c.visible);
        assert_int_equal(c.x, x);
        assert_int_equal(c.y, y);
        assert_int_equal(c.has_shape, n % SG_TP_SHAPE_PERIOD == 0);
        if (c.has_shape) {
            struct sg_capture_cursor w;
            uint32_t bytes = sg_tp_cursor_shape(n, &w, want);
            assert_int_equal(c.shape_type, (n / SG_TP_SHAPE_PERIOD) % 3);
            assert_int_equal(c.height * c.pitch, bytes);
            assert_memory_equal(shape, want, bytes);
            seen_type[c.shape_type] = true;
        }
        /* nothing more until the next frame */
        assert_int_equal(sg_capture_next_cursor(cap, &c, shape, SG_KVMFR_CURSOR_MAX_SHAPE_BYTES),
                         SG_CAPTURE_NONE);
    }
    assert_true(seen_type[SG_CURSOR_COLOR] && seen_type[SG_CURSOR_MONOCHROME] &&
                seen_type[SG_CURSOR_MASKED_COLOR]);
    assert_int_equal(sg_capture_set_cursor_pos(cap, 17, 23), 0);
    assert_int_equal(sg_capture_next_cursor(cap, &c, shape, SG_KVMFR_CURSOR_MAX_SHAPE_BYTES), SG_CAPTURE_OK);
    assert_int_equal(c.x, 17);
    assert_int_equal(c.y, 23);
    assert_false(c.has_shape);
    free(shape);
    free(want);
    sg_capture_destroy(cap);
}

static void test_testpattern_bad_options(void **state)
{
    char err[256];
    const char *small[] = {"width", "10", NULL};
    assert_null(make("testpattern", small, err));
    assert_string_equal(err, "testpattern: 10x720 is too small (at least 160x120)");
    const char *junk[] = {"rate", "fast", NULL};
    assert_null(make("testpattern", junk, err));
    assert_string_equal(err, "option testpattern:rate: 'fast' is not a whole number between 0 and 10000");
}

static void test_fbdev_convert(void **state)
{
    struct sg_fb_format f;
    assert_true(sg_fbdev_default_format(16, &f));
    uint8_t px16[] = {0x00, 0xf8, 0xe0, 0x07, 0x1f, 0x00, 0x10, 0x84};
    uint32_t out[4];
    sg_fbdev_convert(&f, px16, out, 4);
    assert_int_equal(out[0], 0xffff0000);
    assert_int_equal(out[1], 0xff00ff00);
    assert_int_equal(out[2], 0xff0000ff);
    assert_int_equal(out[3], 0xff848284); /* 0x8410: r 16/31, g 32/63, b 16/31 */
    assert_true(sg_fbdev_default_format(24, &f));
    uint8_t px24[] = {0x01, 0x02, 0x03, 0xaa, 0xbb, 0xcc};
    sg_fbdev_convert(&f, px24, out, 2);
    assert_int_equal(out[0], 0xff030201);
    assert_int_equal(out[1], 0xffccbbaa);
    assert_true(sg_fbdev_default_format(32, &f));
    uint8_t px32[] = {0x01, 0x02, 0x03, 0x04};
    sg_fbdev_convert(&f, px32, out, 1);
    assert_int_equal(out[0] & 0xffffff, 0x030201);
    /* a BGR-ordered 32-bit mode goes through the generic path */
    struct sg_fb_format bgr = {32, 0, 8, 8, 8, 16, 8};
    sg_fbdev_convert(&bgr, px32, out, 1);
    assert_int_equal(out[0], 0xff010203);
    assert_false(sg_fbdev_default_format(8, &f));
}

static void test_fbdev_file(void **state)
{
    char path[64], geo[32], err[256];
    snprintf(path, sizeof(path), "/tmp/sg-test-fb-%d", (int)getpid());
    const uint32_t W = 200, H = 100;
    uint16_t *fbmem = malloc(W * H * 2);
    for (uint32_t i = 0; i < W * H; i++)
        fbmem[i] = (uint16_t)(i * 2654435761u >> 16);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    fwrite(fbmem, 2, W * H, fp);
    fclose(fp);
    snprintf(geo, sizeof(geo), "%ux%ux16", W, H);
    const char *kv[] = {"device", path, "geometry", geo, "rate", "1000", NULL};
    struct sg_capture *cap = make("fbdev", kv, err);
    assert_non_null(cap);
    sg_capture_start(cap);
    struct sg_capture_frame f;
    assert_int_equal(sg_capture_next_frame(cap, 100, &f), SG_CAPTURE_OK);
    assert_int_equal(f.width, W);
    assert_int_equal(f.height, H);
    assert_int_equal(f.damage_count, 0);
    uint32_t *img = malloc(W * H * 4), *want = malloc(W * H * 4);
    struct sg_capture_rect all = {0, 0, W, H};
    sg_capture_copy_rect(cap, &all, img, W * 4);
    struct sg_fb_format fmt;
    sg_fbdev_default_format(16, &fmt);
    sg_fbdev_convert(&fmt, (const uint8_t *)fbmem, want, W * H);
    assert_memory_equal(img, want, W * H * 4);
    /* still: a short wait times out */
    assert_int_equal(sg_capture_next_frame(cap, 20, &f), SG_CAPTURE_TIMEOUT);
    /* change a 5x3 area at (150, 40) */
    for (uint32_t y = 40; y < 43; y++)
        for (uint32_t x = 150; x < 155; x++)
            fbmem[y * W + x] = 0xffff;
    fp = fopen(path, "r+b");
    fwrite(fbmem, 2, W * H, fp);
    fclose(fp);
    assert_int_equal(sg_capture_next_frame(cap, 200, &f), SG_CAPTURE_OK);
    assert_true(f.damage_count >= 1);
    uint64_t area = 0;
    for (uint32_t i = 0; i < f.damage_count; i++) {
        area += (uint64_t)f.damage[i].w * f.damage[i].h;
        sg_capture_copy_rect(cap, &f.damage[i], img, W * 4);
    }
    assert_true(area < W * H / 4);
    sg_fbdev_convert(&fmt, (const uint8_t *)fbmem, want, W * H);
    assert_memory_equal(img, want, W * H * 4);
    assert_int_equal(img[41 * W + 152], 0xffffffff);
    sg_capture_destroy(cap);
    unlink(path);
    free(fbmem);
    free(img);
    free(want);
}

static void test_fbdev_errors(void **state)
{
    char err[256];
    const char *missing[] = {"device", "/nonexistent/fb9", NULL};
    assert_null(make("fbdev", missing, err));
    assert_string_equal(err, "fbdev /nonexistent/fb9: cannot open: No such file or directory");
    const char *plain[] = {"device", "/dev/null", NULL};
    assert_null(make("fbdev", plain, err));
    assert_non_null(strstr(err, "fbdev /dev/null: not a framebuffer device"));
    const char *badgeo[] = {"device", "/dev/null", "geometry", "10x10x8", NULL};
    assert_null(make("fbdev", badgeo, err));
    assert_string_equal(err, "fbdev:geometry '10x10x8' is not WxHxBPP with BPP 16, 24 or 32");
}

#ifdef SG_HAVE_KMS
/* What a real device cannot show in a virtual machine: the messages for a
 * framebuffer the CPU cannot read (the VM test covers the uid case live). */
static void test_kms_fb_check(void **state)
{
    char err[256];
    struct sg_kms_fb_info ok = {42, 7, 1920, 1080, 7680, DRM_FORMAT_XRGB8888, DRM_FORMAT_MOD_LINEAR};
    assert_int_equal(sg_kms_fb_check("/dev/dri/card0", &ok, err, sizeof(err)), 0);
    struct sg_kms_fb_info f = ok;
    f.modifier = I915_FORMAT_MOD_X_TILED;
    assert_int_equal(sg_kms_fb_check("/dev/dri/card0", &f, err, sizeof(err)), -1);
    assert_string_equal(err, "kms /dev/dri/card0: framebuffer 42 uses format modifier 0x0100000000000001 "
                             "(INTEL X_TILED): a tiled or compressed layout the CPU cannot read; only linear "
                             "framebuffers can be captured");
    f = ok;
    f.modifier = DRM_FORMAT_MOD_INVALID; /* "no modifier given": linear by convention */
    assert_int_equal(sg_kms_fb_check("/dev/dri/card0", &f, err, sizeof(err)), 0);
    f = ok;
    f.format = DRM_FORMAT_NV12;
    assert_int_equal(sg_kms_fb_check("/dev/dri/card0", &f, err, sizeof(err)), -1);
    assert_string_equal(err,
                        "kms /dev/dri/card0: framebuffer 42 has pixel format NV12 (0x3231564e); supported: "
                        "XR24, AR24, XB24, AB24, XR30, AR30, XB30, AB30");
    f = ok;
    f.handle = 0;
    assert_int_equal(sg_kms_fb_check("/dev/dri/card1", &f, err, sizeof(err)), -1);
    assert_non_null(
        strstr(err, "kms /dev/dri/card1: the kernel gave no handle for framebuffer 42: reading another "
                    "program's framebuffer needs root or CAP_SYS_ADMIN (spyglass-host runs as uid "));
    f = ok;
    f.pitch = 1000;
    assert_int_equal(sg_kms_fb_check("/dev/dri/card0", &f, err, sizeof(err)), -1);
    assert_string_equal(
        err, "kms /dev/dri/card0: framebuffer 42 is 1920x1080 with pitch 1000: not a usable layout");
}

static void test_kms_errors(void **state)
{
    char err[256];
    const char *missing[] = {"device", "/nonexistent/card9", NULL};
    assert_null(make("kms", missing, err));
    assert_string_equal(err, "kms /nonexistent/card9: cannot open: No such file or directory");
    const char *plain[] = {"device", "/dev/null", NULL};
    assert_null(make("kms", plain, err));
    assert_string_equal(err,
                        "kms /dev/null: not a KMS device (no mode-setting resources: Inappropriate ioctl for "
                        "device)");
    const char *fps[] = {"device", "/dev/null", "fps", "-3", NULL};
    assert_null(make("kms", fps, err));
    assert_string_equal(err, "option kms:fps: '-3' is not a whole number between 0 and 1000");
    const char *il[] = {"device", "/dev/null", "interleave", "65", NULL};
    assert_null(make("kms", il, err));
    assert_string_equal(err, "option kms:interleave: '65' is not a whole number between 0 and 64");
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),           cmocka_unit_test(test_damage_add),
        cmocka_unit_test(test_testpattern_frames), cmocka_unit_test(test_testpattern_types),
        cmocka_unit_test(test_testpattern_still),  cmocka_unit_test(test_testpattern_rate),
        cmocka_unit_test(test_testpattern_cursor), cmocka_unit_test(test_testpattern_bad_options),
        cmocka_unit_test(test_fbdev_convert),      cmocka_unit_test(test_fbdev_file),
        cmocka_unit_test(test_fbdev_errors),
#ifdef SG_HAVE_KMS
        cmocka_unit_test(test_kms_fb_check),       cmocka_unit_test(test_kms_errors),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
