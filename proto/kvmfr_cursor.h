/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Cursor messages (kvmfr.md §6): the one shape check, copying a message out,
 * decoding a shape to pixels; the host's write.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmfr_status.h"
#include "kvmfr_wire.h"

#define SG_KVMFR_CURSOR_MAX_DIM 1024u /* ours: wider/taller visible cursors are rejected */

struct sg_kvmfr_cursor {
    uint32_t flags; /* app_value of the message */
    int16_t x, y;   /* top-left of the image, valid with POSITION */
    /* valid with SHAPE: */
    uint32_t shape_type;
    int8_t hot_x, hot_y;
    uint32_t width;  /* visible width */
    uint32_t height; /* visible height (half the data rows for monochrome) */
    uint32_t pitch;
    uint32_t data_rows;
    uint8_t *shape; /* points into the caller's copy buffer */
    uint32_t shape_size;
};

/* The one check of a shape's geometry (kvmfr.md §6.3), used by every reader:
 * a known type; width and visible height in 1..SG_KVMFR_CURSOR_MAX_DIM (a
 * monochrome shape has an even number of rows, AND then XOR); pitch at least
 * one row's bytes; rows x pitch at most SG_KVMFR_CURSOR_MAX_SHAPE_BYTES
 * (BAD_CURSOR_TYPE, BAD_CURSOR_SIZE) and at most data_size bytes
 * (CURSOR_OUTSIDE_PAYLOAD). */
enum sg_kvmfr_status sg_kvmfr_cursor_shape_check(uint32_t type, uint32_t width, uint32_t rows, uint32_t pitch,
                                                 uint64_t data_size);

/* Copy a cursor message (header + shape when SHAPE is set) out of the payload
 * into copy_buf (at least 24 + 1 MiB), then check it. */
enum sg_kvmfr_status sg_kvmfr_cursor_read(const void *payload, uint32_t payload_size, uint32_t flags,
                                          uint8_t *copy_buf, size_t copy_buf_size,
                                          struct sg_kvmfr_cursor *out);

/* Decode a checked shape to width*height RGBA pixels (premultiplied alpha, R,G,B,A
 * bytes) plus a per-pixel invert mask (1 = invert the screen under this pixel;
 * the RGBA pixel is then transparent black). */
enum sg_kvmfr_status sg_kvmfr_cursor_decode(const struct sg_kvmfr_cursor *c, uint8_t *rgba, uint8_t *invert,
                                            size_t pixels_cap);

/* The same decode with the exact XOR colour instead of an invert mask:
 * over = premultiplied RGBA to blend, xor_px = RGBA whose RGB is XORed with
 * the screen (0 = unchanged, white = invert), has_xor = any such pixel. */
enum sg_kvmfr_status sg_kvmfr_cursor_decode_xor(const struct sg_kvmfr_cursor *c, uint8_t *over,
                                                uint8_t *xor_px, size_t pixels_cap, bool *has_xor);

/* Host side: write a cursor header (and nothing else) into a record/shape buffer. */
void sg_kvmfr_cursor_write(void *payload, const struct sg_kvmfr_wire_cursor *hdr);
