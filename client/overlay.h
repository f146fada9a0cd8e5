/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Text boxes (statistics, help, status notices) drawn with a real font:
 * fontconfig finds the file, SDL2_ttf rasterises it. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sg_overlay;

/* pattern: fontconfig pattern ("DejaVu Sans Mono"); pt: size in points. */
struct sg_overlay *sg_overlay_create(const char *pattern, int pt, char *err, size_t err_size);
void sg_overlay_destroy(struct sg_overlay *o);
/* Advance of one character (the font is monospaced) and the box padding, in pixels. */
int sg_overlay_char_width(struct sg_overlay *o);
int sg_overlay_padding(void);
/* Breaks text at spaces so no line is longer than cols characters (a word
 * longer than that is cut); writes to out. */
void sg_overlay_wrap(const char *text, int cols, char *out, size_t out_size);

/* Multi-line text ('\n') in a translucent box: premultiplied RGBA, w*h*4
 * bytes from malloc. False on failure (empty text gives false too). */
bool sg_overlay_render(struct sg_overlay *o, const char *text, uint8_t **rgba, uint32_t *w, uint32_t *h);
