/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The testpattern backend's pictures as pure functions, so a test can compute
 * the exact image and cursor that frame n must show and compare every pixel
 * (the per-pixel check and the frame-number reader are the tests':
 * tests/host/testpattern_check.h).
 *
 * Frame n: a background that changes every SG_TP_SCENE frames (a full-frame
 * change), a box that moves every frame, and the frame number n written in
 * the top-left strip (32 blocks of 4x4 pixels, bit 31 first, white = 1).
 * The cursor moves every frame and its shape cycles colour, monochrome,
 * masked colour every SG_TP_SHAPE_PERIOD frames.
 */
#include <stdint.h>

#include "../capture.h"

#define SG_TP_SCENE 120u
#define SG_TP_SHAPE_PERIOD 30u
#define SG_TP_BOX_W 96u
#define SG_TP_BOX_H 64u
#define SG_TP_STRIP_W 128u
#define SG_TP_STRIP_H 4u
#define SG_TP_MIN_W 160u
#define SG_TP_MIN_H 120u
#define SG_TP_CURSOR_SIZE 32u

/* Pixels are little-endian u32s (bytes B, G, R, X). The background of scene
 * n / SG_TP_SCENE at (x, y), and the colour of frame n's box. */
uint32_t sg_tp_background(uint32_t scene, uint32_t x, uint32_t y);
uint32_t sg_tp_box_colour(uint32_t n);
/* Render rect r of frame n into img (pitch bytes per row, row 0 at img). */
void sg_tp_render(uint32_t w, uint32_t h, uint32_t n, const struct sg_capture_rect *r, uint8_t *img,
                  size_t pitch);
/* The box of frame n. */
struct sg_capture_rect sg_tp_box(uint32_t w, uint32_t h, uint32_t n);
/* What changed from frame n-1 to n (n > 0); count 0 = everything. */
void sg_tp_damage(uint32_t w, uint32_t h, uint32_t n, struct sg_capture_rect *list, uint32_t *count);

/* Hotspot position of frame n. */
void sg_tp_cursor_pos(uint32_t w, uint32_t h, uint32_t n, int32_t *x, int32_t *y);
/* Shape of frame n: fills everything but the position fields and has_*;
 * writes height*pitch bytes to shape. Returns the byte count. */
uint32_t sg_tp_cursor_shape(uint32_t n, struct sg_capture_cursor *c, uint8_t *shape);
