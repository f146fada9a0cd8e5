/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cursor.h"

#include <stdlib.h>
#include <string.h>

const char *sg_cursor_status_str(enum sg_cursor_status s)
{
    switch (s) {
    case SG_CURSOR_OK:
        return "OK";
    case SG_CURSOR_BAD_TYPE:
        return "BAD_TYPE (unknown cursor shape type)";
    case SG_CURSOR_BAD_SIZE:
        return "BAD_SIZE (cursor width/height/pitch)";
    case SG_CURSOR_SHORT_DATA:
        return "SHORT_DATA (shape larger than its data)";
    case SG_CURSOR_NO_MEM:
        return "NO_MEM";
    }
    return "unknown cursor status";
}

void sg_cursor_image_finish(struct sg_cursor_image *img)
{
    free(img->over);
    free(img->xor_px);
    memset(img, 0, sizeof(*img));
}

enum sg_cursor_status sg_cursor_decode(struct sg_cursor_image *img, uint32_t type, uint32_t width,
                                       uint32_t rows, uint32_t pitch, const uint8_t *data, size_t data_size)
{
    switch (sg_kvmfr_cursor_shape_check(type, width, rows, pitch, data_size)) {
    case SG_KVMFR_OK:
        break;
    case SG_KVMFR_BAD_CURSOR_TYPE:
        return SG_CURSOR_BAD_TYPE;
    case SG_KVMFR_CURSOR_OUTSIDE_PAYLOAD:
        return SG_CURSOR_SHORT_DATA;
    default:
        return SG_CURSOR_BAD_SIZE;
    }
    uint32_t h = type == SG_CURSOR_MONOCHROME ? rows / 2 : rows;

    size_t n = (size_t)width * h;
    uint8_t *over = calloc(n, 4), *xr = calloc(n, 4);
    if (!over || !xr) {
        free(over);
        free(xr);
        return SG_CURSOR_NO_MEM;
    }
    const struct sg_kvmfr_cursor c = {
        .shape_type = type,
        .width = width,
        .height = h,
        .pitch = pitch,
        .data_rows = rows,
        .shape = (uint8_t *)data,
        .shape_size = (uint32_t)((uint64_t)rows * pitch),
    };
    bool has_xor = false;
    if (sg_kvmfr_cursor_decode_xor(&c, over, xr, n, &has_xor) != SG_KVMFR_OK) {
        /* unreachable: the same check passed above; kept so a future mismatch is not a crash */
        free(over);
        free(xr);
        return SG_CURSOR_BAD_SIZE;
    }
    sg_cursor_image_finish(img);
    img->w = width;
    img->h = h;
    img->over = over;
    img->xor_px = xr;
    img->has_xor = has_xor;
    return SG_CURSOR_OK;
}
