/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#include "kvmfr_wire.h"

/* Where the B7 host puts everything (kvmfr.md §4), from U, alignment a and region size Z. */
struct sg_kvmfr_layout {
    uint32_t a0; /* first allocation: frame ring */
    uint32_t cursor_ring;
    uint32_t cursor_records; /* first of 20 records */
    uint32_t shape_buffers;  /* first of 3 shape buffers */
    uint64_t fixed_end;      /* E */
    uint64_t frame_block[2]; /* B0, B1 */
    uint64_t block_size;     /* S */
    uint64_t max_frame_size; /* F (B7's bound) */
    uint64_t max_data_size;  /* S - a: the bound an honest host uses */
    bool fits;               /* false: region too small for two frame blocks */
};
void sg_kvmfr_layout_compute(uint32_t app_data_size, uint32_t alignment, uint64_t region_size,
                             struct sg_kvmfr_layout *out);
/* Recommended region size in MiB for a frame (kvmfr.md §9, the client's advice). */
uint32_t sg_kvmfr_recommended_mib(uint32_t screen_height, uint32_t pitch);
