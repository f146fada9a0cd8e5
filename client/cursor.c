/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cursor.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SIDE SG_KVMFR_CURSOR_MAX_DIM

const char *sg_cursor_status_str(enum sg_cursor_status s)
{
    switch (s) {
    case SG_CURSOR_OK: return "OK";
    case SG_CURSOR_BAD_TYPE: return "BAD_TYPE (unknown cursor shape type)";
    case SG_CURSOR_BAD_SIZE: return "BAD_SIZE (cursor width/height/pitch)";
    case SG_CURSOR_SHORT_DATA: return "SHORT_DATA (shape larger than its data)";
    case SG_CURSOR_NO_MEM: return "NO_MEM";
    }
    return "unknown cursor status";
}

void sg_cursor_image_finish(struct sg_cursor_image *img)
{
    free(img->over);
    free(img->xor_px);
    memset(img, 0, sizeof(*img));
}

static void put(uint8_t *p, uint8_t r, uint8_t g, uint8_t b, uint8_t a)
{
    p[0] = r;
    p[1] = g;
    p[2] = b;
    p[3] = a;
}

enum sg_cursor_status sg_cursor_decode(struct sg_cursor_image *img, uint32_t type, uint32_t width, uint32_t rows,
                                       uint32_t pitch, const uint8_t *data, size_t data_size)
{
    uint32_t h = rows;
    uint64_t row_bytes;
    switch (type) {
    case SG_CURSOR_COLOR:
    case SG_CURSOR_MASKED_COLOR:
        row_bytes = (uint64_t)width * 4;
        break;
    case SG_CURSOR_MONOCHROME:
        if (rows % 2)
            return SG_CURSOR_BAD_SIZE;
        h = rows / 2;
        row_bytes = ((uint64_t)width + 7) / 8;
        break;
    default:
        return SG_CURSOR_BAD_TYPE;
    }
    if (width == 0 || h == 0 || width > MAX_SIDE || h > MAX_SIDE || pitch < row_bytes)
        return SG_CURSOR_BAD_SIZE;
    if ((uint64_t)rows * pitch > data_size)
        return SG_CURSOR_SHORT_DATA;

    size_t n = (size_t)width * h * 4;
    uint8_t *over = calloc(1, n), *xr = calloc(1, n);
    if (!over || !xr) {
        free(over);
        free(xr);
        return SG_CURSOR_NO_MEM;
    }
    bool has_xor = false;
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < width; x++) {
            uint8_t *o = over + ((size_t)y * width + x) * 4, *q = xr + ((size_t)y * width + x) * 4;
            if (type == SG_CURSOR_MONOCHROME) {
                const uint8_t *and_row = data + (size_t)y * pitch, *xor_row = data + (size_t)(y + h) * pitch;
                int a = (and_row[x / 8] >> (7 - x % 8)) & 1, xo = (xor_row[x / 8] >> (7 - x % 8)) & 1;
                if (!a)
                    put(o, xo ? 255 : 0, xo ? 255 : 0, xo ? 255 : 0, 255); /* black / white */
                else if (xo) {
                    put(q, 255, 255, 255, 0); /* screen inverted */
                    has_xor = true;
                }
                /* AND=1, XOR=0: screen unchanged */
            } else {
                const uint8_t *s = data + (size_t)y * pitch + (size_t)x * 4; /* B, G, R, A/M */
                if (type == SG_CURSOR_COLOR)
                    put(o, s[2], s[1], s[0], s[3]); /* already premultiplied (kvmfr.md §6.3) */
                else if (s[3] == 0)
                    put(o, s[2], s[1], s[0], 255);
                else if (s[0] | s[1] | s[2]) {
                    put(q, s[2], s[1], s[0], 0);
                    has_xor = true;
                }
            }
        }
    }
    sg_cursor_image_finish(img);
    img->w = width;
    img->h = h;
    img->over = over;
    img->xor_px = xr;
    img->has_xor = has_xor;
    return SG_CURSOR_OK;
}
