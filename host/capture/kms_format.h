/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The DRM pixel formats the kms backend reads (the linear formats virtual
 * GPUs scan out), how each is published, and the row copy for each. Pure
 * code over memory, no I/O: unit-tested in tests/host/test_kms_format.c,
 * timed by bench/host/kms_bench.c.
 */
#include <stdint.h>

enum sg_kms_copy {
    SG_KMS_COPY_AS_IS,   /* the scan-out's bytes are already the published layout */
    SG_KMS_COPY_TO_BGRA, /* rearranged into BGRA, 10-bit channels cut to their top 8 bits */
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
 * were read (what the next scan compares against). bounce: room for one row
 * of n pixels, used when the row is converted. */
uint64_t sg_kms_format_copy_row(const struct sg_kms_format *f, void *dst, const void *src, uint32_t n,
                                void *bounce);
