/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The rectangles a drawing pass redraws and presents when only they changed
 * (draw.c): drawable pixels, top-left origin.
 */
#include <stdbool.h>

#include "render/render.h"

/* The pixels the cursor covers in the scene: whole pixels, one more on each
 * side for what linear filtering bleeds, inside the drawable. False when it
 * is not drawn. */
bool sg_draw_cursor_rect(const struct sg_render_scene *s, struct sg_render_rect *out);

/* A pointer in motion leaves a rectangle that overlaps or touches the one it
 * enters: one pass and one present of the box around both is cheaper than
 * two, as long as that box is at most 1.5 times their areas together. Then a
 * becomes the box and true is returned; else a is left as it is. */
bool sg_draw_rects_merge_nearby(struct sg_render_rect *a, const struct sg_render_rect *b);
