/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kms backend's pixel formats and row copies (kms_format.h). */
#include "kms_format.h"

#include <drm_fourcc.h>
#include <stddef.h>
#include <string.h>

#include "kms_detect.h"
#include "kvmfr.h"

static const struct sg_kms_format formats[] = {
    {DRM_FORMAT_XRGB8888, "XR24", SG_FRAME_BGRA, 4, SG_KMS_COPY_AS_IS},
    {DRM_FORMAT_ARGB8888, "AR24", SG_FRAME_BGRA, 4, SG_KMS_COPY_AS_IS},
    {DRM_FORMAT_XBGR8888, "XB24", SG_FRAME_BGRA, 4, SG_KMS_COPY_TO_BGRA},
    {DRM_FORMAT_ABGR8888, "AB24", SG_FRAME_BGRA, 4, SG_KMS_COPY_TO_BGRA},
    {DRM_FORMAT_XRGB2101010, "XR30", SG_FRAME_BGRA, 4, SG_KMS_COPY_TO_BGRA},
    {DRM_FORMAT_ARGB2101010, "AR30", SG_FRAME_BGRA, 4, SG_KMS_COPY_TO_BGRA},
    {DRM_FORMAT_XBGR2101010, "XB30", SG_FRAME_BGRA, 4, SG_KMS_COPY_TO_BGRA},
    {DRM_FORMAT_ABGR2101010, "AB30", SG_FRAME_BGRA, 4, SG_KMS_COPY_TO_BGRA},
};

const struct sg_kms_format *sg_kms_format_find(uint32_t fourcc)
{
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
        if (formats[i].fourcc == fourcc)
            return &formats[i];
    return NULL;
}

const struct sg_kms_format *sg_kms_formats(uint32_t *n)
{
    *n = sizeof(formats) / sizeof(formats[0]);
    return formats;
}

/* One row of n pixels to BGRA (10-bit channels keep their top 8 bits). */
static void convert_row(uint32_t format, const uint8_t *src, uint32_t *dst, uint32_t n)
{
    const uint32_t *s = (const uint32_t *)src;
    switch (format) {
    case DRM_FORMAT_XBGR8888:
    case DRM_FORMAT_ABGR8888:
        for (uint32_t i = 0; i < n; i++) {
            uint32_t v = s[i];
            dst[i] = 0xff000000u | (v & 0xff) << 16 | (v & 0xff00) | (v >> 16 & 0xff);
        }
        return;
    case DRM_FORMAT_XRGB2101010:
    case DRM_FORMAT_ARGB2101010:
        for (uint32_t i = 0; i < n; i++) {
            uint32_t v = s[i];
            dst[i] = 0xff000000u | (v >> 22 & 0xff) << 16 | (v >> 12 & 0xff) << 8 | (v >> 2 & 0xff);
        }
        return;
    case DRM_FORMAT_XBGR2101010:
    case DRM_FORMAT_ABGR2101010:
        for (uint32_t i = 0; i < n; i++) {
            uint32_t v = s[i];
            dst[i] = 0xff000000u | (v >> 2 & 0xff) << 16 | (v >> 12 & 0xff) << 8 | (v >> 22 & 0xff);
        }
        return;
    }
}

uint64_t sg_kms_format_copy_row(const struct sg_kms_format *f, void *dst, const void *src, uint32_t n,
                                void *bounce)
{
    size_t bytes = (size_t)n * f->bytes_per_pixel;
    /* hash exactly the bytes published: straight into the region when no conversion is needed,
     * else through the cache-hot one-row bounce buffer */
    if (f->copy == SG_KMS_COPY_AS_IS)
        return sg_kms_copy_row_hash(dst, src, bytes);
    uint64_t h = sg_kms_copy_row_hash(bounce, src, bytes);
    convert_row(f->fourcc, bounce, dst, n);
    return h;
}
