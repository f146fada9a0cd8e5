/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kms backend's pixel formats and row copies (kms_format.h). */
#include "kms_format.h"

#include <drm_fourcc.h>
#include <stddef.h>

#include "kms_detect.h"
#include "kvmfr.h"

/* DRM names channels from the most significant bit of a little-endian word,
 * KVMFR by byte (8-bit types) or from bit 0 (RGBA10): XRGB8888 is bytes B, G,
 * R, X = BGRA; XBGR2101010 has R in bits 0-9, G 10-19, B 20-29 = RGBA10. */
static const struct sg_kms_format formats[] = {
    {DRM_FORMAT_XRGB8888, "XR24", SG_FRAME_BGRA, 4, SG_KMS_COPY_AS_IS},
    {DRM_FORMAT_ARGB8888, "AR24", SG_FRAME_BGRA, 4, SG_KMS_COPY_AS_IS},
    {DRM_FORMAT_XBGR8888, "XB24", SG_FRAME_RGBA, 4, SG_KMS_COPY_AS_IS},
    {DRM_FORMAT_ABGR8888, "AB24", SG_FRAME_RGBA, 4, SG_KMS_COPY_AS_IS},
    {DRM_FORMAT_XRGB2101010, "XR30", SG_FRAME_RGBA10, 4, SG_KMS_COPY_SWAP_RB10},
    {DRM_FORMAT_ARGB2101010, "AR30", SG_FRAME_RGBA10, 4, SG_KMS_COPY_SWAP_RB10},
    {DRM_FORMAT_XBGR2101010, "XB30", SG_FRAME_RGBA10, 4, SG_KMS_COPY_AS_IS},
    {DRM_FORMAT_ABGR2101010, "AB30", SG_FRAME_RGBA10, 4, SG_KMS_COPY_AS_IS},
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

uint64_t sg_kms_format_copy_row(const struct sg_kms_format *f, void *dst, const void *src, uint32_t n)
{
    size_t bytes = (size_t)n * f->bytes_per_pixel;
    if (f->copy == SG_KMS_COPY_SWAP_RB10)
        return sg_kms_swap_rb10_row_hash(dst, src, bytes);
    return sg_kms_copy_row_hash(dst, src, bytes);
}
