/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* kms backend internals exposed for unit tests (tests/host/test_capture.c). */
#include <stddef.h>
#include <stdint.h>

/* What GETFB2 said about a framebuffer. */
struct sg_kms_fb_info {
    uint32_t fb_id, handle; /* handle 0: the kernel withheld it (no CAP_SYS_ADMIN) */
    uint32_t width, height, pitch, format;
    uint64_t modifier;
};

/* 0 when the CPU can read the framebuffer as it is; else -1 with one line in
 * err saying why: no handle (root or CAP_SYS_ADMIN needed), a tiling or
 * compression modifier (named), an unsupported pixel format, a bad layout. */
int sg_kms_fb_check(const char *device, const struct sg_kms_fb_info *fb, char *err, size_t err_size);
