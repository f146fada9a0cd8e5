/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Write 8-bit RGBA pixels (top row first) as an RGB PNG; err names the path. The file appears
 * complete or not at all (written beside it, then renamed over it). */
bool sg_screenshot_write_png(const char *path, const uint8_t *rgba, uint32_t w, uint32_t h, char *err,
                             size_t err_size);
