/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* What the tests read back from testpattern pictures: the expected pixel of
 * frame n (from the backend's own box, background and colours) and the frame
 * number written in the strip. */
#include <stdint.h>
#include <string.h>

#include "testpattern.h"

/* The pixel of frame n at (x, y), as a little-endian u32 (bytes B, G, R, X). */
static inline uint32_t sg_tp_pixel(uint32_t w, uint32_t h, uint32_t n, uint32_t x, uint32_t y)
{
    if (y < SG_TP_STRIP_H && x < SG_TP_STRIP_W)
        return (n >> (31 - x / 4)) & 1 ? 0xffffffffu : 0xff000000u;
    struct sg_capture_rect box = sg_tp_box(w, h, n);
    if (x >= box.x && x < box.x + box.w && y >= box.y && y < box.y + box.h)
        return sg_tp_box_colour(n);
    return sg_tp_background(n / SG_TP_SCENE, x, y);
}

/* The frame number from the strip of a rendered image (the second pixel of
 * each 4x4 block, bit 31 first). */
static inline uint32_t sg_tp_decode_frame(const uint8_t *img)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < 32; i++) {
        uint32_t px;
        memcpy(&px, img + (size_t)i * 16 + 1 * 4, 4);
        n = n << 1 | ((px & 0xff) >= 0x80);
    }
    return n;
}
