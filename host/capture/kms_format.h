/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The DRM pixel formats the kms backend reads (the linear formats virtual
 * GPUs scan out), the KVMFR frame type each is published as, and the row
 * copy for each. Every one has a KVMFR type with the same channels, so no
 * format loses bits: XRGB8888 is BGRA, XBGR8888 is RGBA and XBGR2101010 is
 * RGBA10 byte for byte; XRGB2101010 is RGBA10 with its red and blue fields
 * exchanged, in the same pass as the copy. Pure code over memory, no I/O:
 * unit-tested in tests/host/test_kms_format.c, timed by bench/host/kms_bench.c.
 */
#include <stdint.h>

enum sg_kms_copy {
    SG_KMS_COPY_AS_IS,     /* the scan-out's bytes are the published layout */
    SG_KMS_COPY_SWAP_RB10, /* 2:10:10:10 words with bits 0-9 and 20-29 exchanged */
};

struct sg_kms_format {
    uint32_t fourcc;          /* DRM_FORMAT_* */
    const char *name;         /* the fourcc as text: "XR24" */
    uint32_t kvmfr_type;      /* the frame type published (kvmfr.md §5.3) */
    uint32_t bytes_per_pixel; /* of the scan-out and of the published rows */
    enum sg_kms_copy copy;
};

/* NULL when the backend cannot read fourcc. */
const struct sg_kms_format *sg_kms_format_find(uint32_t fourcc);
/* The supported formats, n of them. */
const struct sg_kms_format *sg_kms_formats(uint32_t *n);

/* Copy n pixels of one scan-out row (src) into dst in the published layout
 * and return sg_kms_row_hash of the n * bytes_per_pixel source bytes as they
 * were read (what the next scan compares against). One pass over src. */
uint64_t sg_kms_format_copy_row(const struct sg_kms_format *f, void *dst, const void *src, uint32_t n);
