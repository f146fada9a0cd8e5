/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Write 8-bit RGBA pixels (top row first) as an RGB PNG; err names the path. The file appears
 * complete or not at all (written beside it, then renamed over it). */
bool sg_screenshot_write_png(const char *path, const uint8_t *rgba, uint32_t w, uint32_t h, char *err,
                             size_t err_size);

struct sg_render_impl;
struct sg_renderer;
/* The guest frame the renderer holds, as a PNG at path. msg: what was saved,
 * or what went wrong (naming the path). */
bool sg_screenshot_save(const struct sg_render_impl *ri, struct sg_renderer *r, const char *path, char *msg,
                        size_t msg_size);
/* DIR/spyglass-YYYYmmdd-HHMMSS-N.png, local time; n tells two of one second apart. */
void sg_screenshot_name(char *out, size_t size, const char *dir, unsigned long long n);
