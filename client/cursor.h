/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Cursor shapes (kvmfr.md §6.3) turned into two RGBA images the renderer
 * draws as one quad: `over` (premultiplied, alpha-blended) and `xor` (XORed
 * with the screen; zero leaves it unchanged). XOR rather than an inverted
 * colour guess is what the guest means for monochrome (AND=1, XOR=1) and
 * masked-colour (M != 0) pixels.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmfr.h"

enum sg_cursor_status {
    SG_CURSOR_OK = 0,
    SG_CURSOR_BAD_TYPE,
    SG_CURSOR_BAD_SIZE,   /* see sg_kvmfr_cursor_shape_check: zero or too large, odd monochrome rows, short
                             pitch */
    SG_CURSOR_SHORT_DATA, /* height x pitch more than the bytes given */
    SG_CURSOR_NO_MEM,
};
const char *sg_cursor_status_str(enum sg_cursor_status s);

struct sg_cursor_image {
    uint32_t w, h;   /* visible size */
    uint8_t *over;   /* w*h*4, premultiplied RGBA */
    uint8_t *xor_px; /* w*h*4 RGBA */
    bool has_xor;    /* some xor pixel is non-zero */
};

/* Decode one shape: type, width, data rows (height on the wire), pitch, data
 * of data_size bytes. Replaces img's buffers; img must be zeroed or decoded
 * before. */
enum sg_cursor_status sg_cursor_decode(struct sg_cursor_image *img, uint32_t type, uint32_t width,
                                       uint32_t rows, uint32_t pitch, const uint8_t *data, size_t data_size);
void sg_cursor_image_finish(struct sg_cursor_image *img);
