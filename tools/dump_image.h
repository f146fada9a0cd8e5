/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Turning frames and cursor shapes into 8-bit pictures and PNG files for
 * spyglass-dump (and its tests).
 */
#include <stddef.h>
#include <stdint.h>

#include "kvmfr.h"

/* Converts the pixel rows of a checked frame (data_height rows of `pitch`
 * bytes, already copied out) to tightly packed RGB8. Width is frame_width for
 * packed 24-bit (type 5), data_width otherwise; height is data_height. The
 * fourth byte of 8-bit formats has no meaning for display and is dropped;
 * RGBA16F (linear) is clamped to [0, 1] and sRGB-encoded; RGB10A2 keeps the
 * top 8 bits. Returns a malloc'd buffer or NULL (out of memory). */
uint8_t *sg_dump_frame_to_rgb8(const struct sg_kvmfr_frame *f, const uint8_t *rows, uint32_t *width,
                               uint32_t *height);

/* Writes 8-bit RGB (channels 3) or RGBA (channels 4) pixels as a PNG.
 * 0 on success, -1 with a message naming the path in err. */
int sg_dump_write_png(const char *path, const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                      char *err, size_t err_size);

/* Reads a PNG as RGBA8 into a malloc'd buffer; 0 on success, -1 with err. */
int sg_dump_read_png(const char *path, uint8_t **rgba, uint32_t *width, uint32_t *height, char *err,
                     size_t err_size);
