/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* fbdev pixel conversion, exposed for its unit test. */
#include <stdint.h>

struct sg_fb_format {
    uint32_t bpp; /* 16, 24 or 32 */
    uint32_t r_off, r_len, g_off, g_len, b_off, b_len;
};

/* count pixels of src (bpp bits each, little-endian) to BGRX. */
void sg_fbdev_convert(const struct sg_fb_format *f, const uint8_t *src, uint32_t *dst, uint32_t count);
/* The format a plain file given with the geometry option is read as:
 * 16 = RGB565, 24 = B,G,R bytes, 32 = B,G,R,X bytes. false for other bpp. */
bool sg_fbdev_default_format(uint32_t bpp, struct sg_fb_format *f);
