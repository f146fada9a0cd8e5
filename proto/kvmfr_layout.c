/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where the B7 host places its buffers (kvmfr.md §4) and the region size the
 * client recommends (§9).
 */
#include <stddef.h>

#include "kvmfr_layout.h"
#include "lgmp.h"

/* §4 layout constants */
_Static_assert(SG_LGMP_APP_DATA_OFFSET == 5756, "app data at 5756");
_Static_assert(SG_LGMP_GLOBAL_HEADER_SIZE == 5760, "LGMP header 5760");

/* Ring sizes and fixed allocations of §4, in allocation order. */
#define FRAME_RING_BYTES ((SG_KVMFR_FRAME_QUEUE_LEN + 1) * 16u)                      /* 48 */
#define CURSOR_RING_BYTES ((SG_KVMFR_CURSOR_QUEUE_LEN + 1) * 16u)                    /* 336 */
#define CURSOR_RECORDS_BYTES (SG_KVMFR_CURSOR_RECORDS * SG_KVMFR_CURSOR_HEADER_SIZE) /* 480 */
#define SHAPE_BYTES (SG_KVMFR_CURSOR_SHAPE_BUFFERS * SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE)
_Static_assert(FRAME_RING_BYTES == 48 && CURSOR_RING_BYTES == 336, "ring sizes");
_Static_assert(FRAME_RING_BYTES + CURSOR_RING_BYTES + CURSOR_RECORDS_BYTES + SHAPE_BYTES == 3146664,
               "fixed part E - A0 = 3146664");

static uint64_t round_up(uint64_t v, uint64_t a)
{
    return a ? (v + a - 1) / a * a : v;
}

void sg_kvmfr_layout_compute(uint32_t app_data_size, uint32_t alignment, uint64_t region_size,
                             struct sg_kvmfr_layout *out)
{
    uint64_t a = alignment ? alignment : 1;
    uint64_t a0 = round_up((uint64_t)SG_LGMP_GLOBAL_HEADER_SIZE + app_data_size, 4);
    *out = (struct sg_kvmfr_layout){0};
    out->a0 = (uint32_t)a0;
    out->cursor_ring = (uint32_t)(a0 + FRAME_RING_BYTES);
    out->cursor_records = (uint32_t)(a0 + FRAME_RING_BYTES + CURSOR_RING_BYTES);
    out->shape_buffers = out->cursor_records + CURSOR_RECORDS_BYTES;
    out->fixed_end = (uint64_t)out->shape_buffers + SHAPE_BYTES;
    out->frame_block[0] = round_up(out->fixed_end, a);

    uint64_t e = out->fixed_end;
    if (region_size < e || region_size - e < a - 1)
        return; /* fits stays false */
    uint64_t m = (region_size - e - (a - 1)) / a * a;
    out->max_frame_size = m / 2;
    out->block_size = round_up(out->max_frame_size, a);
    out->frame_block[1] = out->frame_block[0] + out->block_size;
    out->max_data_size = out->block_size > a ? out->block_size - a : 0;
    out->fits = out->block_size >= a + 4 && out->frame_block[1] + out->block_size <= region_size;
}

uint32_t sg_kvmfr_recommended_mib(uint32_t screen_height, uint32_t pitch)
{
    /* 2^ceil(log2(h * pitch * 2 / 2^20 + 10)), exactly, without floating point:
     * the smallest 2^k with 2^k * 2^20 >= h * pitch * 2 + 10 * 2^20. */
    uint64_t need = (uint64_t)screen_height * pitch * 2 + (10ull << 20);
    uint32_t mib = 1;
    while (((uint64_t)mib << 20) < need && mib < (1u << 31))
        mib <<= 1;
    return mib;
}
