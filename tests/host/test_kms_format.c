/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kms backend's pixel formats (host/capture/kms_format.c) on synthetic
 * rows: each DRM format to its KVMFR type, read back the way kvmfr.md §5.3
 * defines that type; the XRGB2101010 field swap bit for bit; the row hash of
 * what was read; and the messages for formats and modifiers that cannot be
 * read (kms.c's sg_kms_fb_check). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <drm_fourcc.h>

#include "kms.h"
#include "kms_detect.h"
#include "kms_format.h"
#include "kvmfr.h"

struct rgb {
    uint32_t r, g, b; /* 8 or 10 bits */
};

/* A pixel as DRM lays it out: channels named from the most significant bit
 * of a little-endian 32-bit word (drm_fourcc.h), the X/A field all ones. */
static uint32_t drm_encode(uint32_t fourcc, struct rgb c)
{
    switch (fourcc) {
    case DRM_FORMAT_XRGB8888:
    case DRM_FORMAT_ARGB8888:
        return 0xffu << 24 | c.r << 16 | c.g << 8 | c.b;
    case DRM_FORMAT_XBGR8888:
    case DRM_FORMAT_ABGR8888:
        return 0xffu << 24 | c.b << 16 | c.g << 8 | c.r;
    case DRM_FORMAT_XRGB2101010:
    case DRM_FORMAT_ARGB2101010:
        return 3u << 30 | c.r << 20 | c.g << 10 | c.b;
    case DRM_FORMAT_XBGR2101010:
    case DRM_FORMAT_ABGR2101010:
        return 3u << 30 | c.b << 20 | c.g << 10 | c.r;
    }
    fail_msg("no encoder for 0x%08x", fourcc);
    return 0;
}

/* A published pixel read as kvmfr.md §5.3 defines its type. */
static struct rgb kvmfr_decode(uint32_t type, const uint8_t *px)
{
    uint32_t v;
    switch (type) {
    case SG_FRAME_BGRA: /* bytes B, G, R, A */
        return (struct rgb){px[2], px[1], px[0]};
    case SG_FRAME_RGBA: /* bytes R, G, B, A */
        return (struct rgb){px[0], px[1], px[2]};
    case SG_FRAME_RGBA10: /* LE u32: R bits 0-9, G 10-19, B 20-29 */
        memcpy(&v, px, 4);
        return (struct rgb){v & 0x3ff, v >> 10 & 0x3ff, v >> 20 & 0x3ff};
    }
    fail_msg("no decoder for type %u", type);
    return (struct rgb){0};
}

static void test_table(void **state)
{
    static const struct {
        uint32_t fourcc;
        const char *name;
        uint32_t type;
        enum sg_kms_copy copy;
    } want[] = {
        {DRM_FORMAT_XRGB8888, "XR24", SG_FRAME_BGRA, SG_KMS_COPY_AS_IS},
        {DRM_FORMAT_ARGB8888, "AR24", SG_FRAME_BGRA, SG_KMS_COPY_AS_IS},
        {DRM_FORMAT_XBGR8888, "XB24", SG_FRAME_RGBA, SG_KMS_COPY_AS_IS},
        {DRM_FORMAT_ABGR8888, "AB24", SG_FRAME_RGBA, SG_KMS_COPY_AS_IS},
        {DRM_FORMAT_XRGB2101010, "XR30", SG_FRAME_RGBA10, SG_KMS_COPY_SWAP_RB10},
        {DRM_FORMAT_ARGB2101010, "AR30", SG_FRAME_RGBA10, SG_KMS_COPY_SWAP_RB10},
        {DRM_FORMAT_XBGR2101010, "XB30", SG_FRAME_RGBA10, SG_KMS_COPY_AS_IS},
        {DRM_FORMAT_ABGR2101010, "AB30", SG_FRAME_RGBA10, SG_KMS_COPY_AS_IS},
    };
    uint32_t n;
    const struct sg_kms_format *all = sg_kms_formats(&n);
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (uint32_t i = 0; i < n; i++) {
        const struct sg_kms_format *f = sg_kms_format_find(want[i].fourcc);
        assert_non_null(f);
        assert_ptr_equal(f, &all[i]);
        assert_string_equal(f->name, want[i].name);
        /* the name is the fourcc's own characters */
        assert_memory_equal(f->name, &want[i].fourcc, 4);
        assert_int_equal(f->kvmfr_type, want[i].type);
        assert_int_equal(f->copy, want[i].copy);
        assert_int_equal(f->bytes_per_pixel, 4);
        /* the published rows are as wide as the KVMFR type says */
        assert_int_equal(sg_kvmfr_bytes_per_texel(f->kvmfr_type), f->bytes_per_pixel);
    }
    static const uint32_t unsupported[] = {DRM_FORMAT_RGB565,        DRM_FORMAT_RGB888,   DRM_FORMAT_BGRX8888,
                                           DRM_FORMAT_XRGB16161616F, DRM_FORMAT_NV12,     DRM_FORMAT_C8,
                                           DRM_FORMAT_RGBX1010102,   DRM_FORMAT_XRGB1555, 0};
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
        assert_null(sg_kms_format_find(unsupported[i]));
}

/* Every format: colours written the DRM way come out as their KVMFR type
 * reads them, exactly, for every channel value (8 bits) or a spread of them
 * (10 bits); rows of 1..40 pixels cover the vector loop and its tail. */
static void test_round_trip(void **state)
{
    uint32_t nf;
    const struct sg_kms_format *fs = sg_kms_formats(&nf);
    uint32_t src[40], dst[41];
    for (uint32_t k = 0; k < nf; k++) {
        const struct sg_kms_format *f = &fs[k];
        uint32_t max = f->kvmfr_type == SG_FRAME_RGBA10 ? 1023 : 255;
        for (uint32_t v = 0; v <= max; v += max == 255 ? 1 : 7) {
            uint32_t n = 1 + v % 40;
            struct rgb c[40];
            for (uint32_t i = 0; i < n; i++) {
                c[i] =
                    (struct rgb){(v + i) % (max + 1), (v * 3 + i * 5) % (max + 1), (max - v + i) % (max + 1)};
                src[i] = drm_encode(f->fourcc, c[i]);
            }
            /* dst + 1: a destination that is not 16-byte aligned takes the other store path */
            uint32_t *out = v & 1 ? dst + 1 : dst;
            uint64_t h = sg_kms_format_copy_row(f, out, src, n);
            assert_true(h == sg_kms_row_hash(src, (size_t)n * 4));
            for (uint32_t i = 0; i < n; i++) {
                struct rgb got = kvmfr_decode(f->kvmfr_type, (const uint8_t *)&out[i]);
                if (got.r != c[i].r || got.g != c[i].g || got.b != c[i].b)
                    fail_msg("%s pixel %u of %u: wrote r=%u g=%u b=%u, %s reads r=%u g=%u b=%u", f->name, i,
                             n, c[i].r, c[i].g, c[i].b, sg_kvmfr_frame_type_str(f->kvmfr_type), got.r, got.g,
                             got.b);
            }
        }
    }
}

/* What XR30 -> RGBA10 does to each bit: bits 0-9 go to 20-29 and back, 10-19
 * and the 2-bit X/A field stay; all-ones channels move whole. */
static uint32_t expect_swap(uint32_t v)
{
    uint32_t out = 0;
    for (int b = 0; b < 32; b++) {
        if (!(v >> b & 1))
            continue;
        int to = b < 10 ? b + 20 : b >= 20 && b < 30 ? b - 20 : b;
        out |= 1u << to;
    }
    return out;
}

static void test_swap_bits(void **state)
{
    const struct sg_kms_format *f = sg_kms_format_find(DRM_FORMAT_XRGB2101010);
    uint32_t vals[64], n = 0;
    for (int b = 0; b < 32; b++)
        vals[n++] = 1u << b; /* every single bit */
    static const uint32_t chosen[] = {
        0x3ff00000u,                           /* red all ones -> bits 0-9 */
        0x000ffc00u,                           /* green all ones, stays */
        0x000003ffu,                           /* blue all ones -> bits 20-29 */
        0xc0000000u,                           /* the X/A field, stays */
        0xffffffffu, 0x00000000u, 0x2aaaaaaau, /* alternating bits in every field */
        0x15555555u, 0x20080201u,              /* the lowest bit of each channel */
        0x20000200u,                           /* the highest bit of R and B, lowest of G */
        0x12345678u, 0x9abcdef0u,
    };
    for (size_t i = 0; i < sizeof(chosen) / sizeof(chosen[0]); i++)
        vals[n++] = chosen[i];
    assert_int_equal(expect_swap(0x3ff00000u), 0x000003ffu);
    assert_int_equal(expect_swap(0x000003ffu), 0x3ff00000u);
    uint32_t out[64 + 1];
    for (int aligned = 0; aligned < 2; aligned++) {
        uint32_t *dst = aligned ? out : out + 1;
        memset(out, 0xee, sizeof(out));
        sg_kms_format_copy_row(f, dst, vals, n);
        for (uint32_t i = 0; i < n; i++)
            if (dst[i] != expect_swap(vals[i]))
                fail_msg("XR30 0x%08x -> 0x%08x, expected 0x%08x", vals[i], dst[i], expect_swap(vals[i]));
        if (aligned)
            assert_int_equal(out[n], 0xeeeeeeeeu); /* nothing written past the row */
    }
    /* the swap twice is the identity: ARGB2101010 back from what was published */
    const struct sg_kms_format *a = sg_kms_format_find(DRM_FORMAT_ARGB2101010);
    uint32_t back[64];
    sg_kms_format_copy_row(a, back, out, n);
    assert_memory_equal(back, vals, (size_t)n * 4);
    /* as-is formats copy every bit, the X/A field too */
    const struct sg_kms_format *xb = sg_kms_format_find(DRM_FORMAT_XBGR2101010);
    sg_kms_format_copy_row(xb, out, vals, n);
    assert_memory_equal(out, vals, (size_t)n * 4);
}

/* A scan-out row with padding: only the row's pixels are read and hashed. */
static void test_padded_rows(void **state)
{
    const uint32_t W = 1920, PITCH = W * 4 + 256;
    uint8_t *scan = malloc((size_t)PITCH * 2);
    uint8_t *pub = malloc((size_t)W * 4 * 2);
    for (size_t i = 0; i < (size_t)PITCH * 2; i++)
        scan[i] = (uint8_t)(i * 131 + 7);
    const struct sg_kms_format *f = sg_kms_format_find(DRM_FORMAT_XRGB2101010);
    uint64_t h0 = sg_kms_format_copy_row(f, pub, scan, W);
    uint64_t h1 = sg_kms_format_copy_row(f, pub + W * 4, scan + PITCH, W);
    assert_true(h0 == sg_kms_row_hash(scan, (size_t)W * 4));
    assert_true(h1 == sg_kms_row_hash(scan + PITCH, (size_t)W * 4));
    memset(scan + W * 4, 0, 256); /* padding changes: the row's hash does not */
    assert_true(h0 == sg_kms_row_hash(scan, (size_t)W * 4));
    free(scan);
    free(pub);
}

/* Formats and modifiers the backend cannot read: the message names them. */
static void test_refusals(void **state)
{
    char err[256];
    struct sg_kms_fb_info ok = {42, 7, 1920, 1080, 7680, DRM_FORMAT_XBGR2101010, DRM_FORMAT_MOD_LINEAR};
    uint32_t nf;
    const struct sg_kms_format *fs = sg_kms_formats(&nf);
    for (uint32_t i = 0; i < nf; i++) {
        struct sg_kms_fb_info f = ok;
        f.format = fs[i].fourcc;
        assert_int_equal(sg_kms_fb_check("/dev/dri/card0", &f, err, sizeof(err)), 0);
        f.pitch = 1920 * fs[i].bytes_per_pixel - 1; /* a pitch shorter than a row */
        assert_int_equal(sg_kms_fb_check("/dev/dri/card0", &f, err, sizeof(err)), -1);
        assert_string_equal(
            err, "kms /dev/dri/card0: framebuffer 42 is 1920x1080 with pitch 7679: not a usable layout");
    }
    struct sg_kms_fb_info f = ok;
    f.format = DRM_FORMAT_RGB565;
    assert_int_equal(sg_kms_fb_check("/dev/dri/card0", &f, err, sizeof(err)), -1);
    assert_string_equal(err,
                        "kms /dev/dri/card0: framebuffer 42 has pixel format RG16 (0x36314752); supported: "
                        "XR24, AR24, XB24, AB24, XR30, AR30, XB30, AB30");
    f.format = DRM_FORMAT_XRGB16161616F;
    assert_int_equal(sg_kms_fb_check("/dev/dri/card0", &f, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "has pixel format XR4H (0x48345258); supported: XR24,"));
    static const struct {
        uint64_t modifier;
        const char *named;
    } mods[] = {
        {I915_FORMAT_MOD_Y_TILED, "0x0100000000000002 (INTEL Y_TILED)"},
        {I915_FORMAT_MOD_4_TILED_DG2_RC_CCS, "0x010000000000000a (INTEL 4_TILED_DG2_RC_CCS)"},
        {DRM_FORMAT_MOD_NVIDIA_16BX2_BLOCK(4), "0x0300000000000014 (NVIDIA "},
        {DRM_FORMAT_MOD_ARM_AFBC(AFBC_FORMAT_MOD_BLOCK_SIZE_16x16), "0x0800000000000001 (ARM "},
        {DRM_FORMAT_MOD_BROADCOM_VC4_T_TILED, "0x0700000000000001 ("},
        {DRM_FORMAT_MOD_QCOM_COMPRESSED, "0x0500000000000001 ("},
    };
    for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
        f = ok;
        f.modifier = mods[i].modifier;
        assert_int_equal(sg_kms_fb_check("/dev/dri/card0", &f, err, sizeof(err)), -1);
        char want[128];
        snprintf(want, sizeof(want), "kms /dev/dri/card0: framebuffer 42 uses format modifier %s",
                 mods[i].named);
        if (strncmp(err, want, strlen(want)) != 0)
            fail_msg("modifier 0x%016llx: \"%s\", expected it to start \"%s\"",
                     (unsigned long long)mods[i].modifier, err, want);
        assert_non_null(strstr(err, "only linear framebuffers can be captured"));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),     cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_swap_bits), cmocka_unit_test(test_padded_rows),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
