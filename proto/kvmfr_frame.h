/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Frame messages (kvmfr.md §5): the header check, the progress word and
 * copying pixel rows out as the host publishes them; the host's writes.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmfr_status.h"
#include "kvmfr_wire.h"

#define SG_KVMFR_FB_CHUNK 1048576u
#define SG_KVMFR_FB_POLL_LIMIT 10000u
#define SG_KVMFR_MAX_DIMENSION 16384u /* ours: larger frames are rejected */

struct sg_kvmfr_frame {
    struct sg_kvmfr_wire_frame hdr; /* copied out and checked */
    uint32_t bytes_per_texel;
    uint64_t data_size; /* data_height * pitch */
    uint32_t rotation;  /* 0..3 (unknown values read as 0) */
    /* within the payload: */
    uint32_t progress_offset; /* = fb_offset */
    uint32_t data_offset;     /* = fb_offset + 4 */
};

uint32_t sg_kvmfr_bytes_per_texel(uint32_t type); /* 0 for invalid */
const char *sg_kvmfr_frame_type_str(uint32_t type);

/* Copy the frame header out of a payload of payload_size bytes and check it. */
enum sg_kvmfr_status sg_kvmfr_frame_read(const void *payload, uint32_t payload_size,
                                         struct sg_kvmfr_frame *out);

/* The progress word of a checked frame. */
static inline uint32_t *sg_kvmfr_frame_progress_word(void *payload, const struct sg_kvmfr_frame *f)
{
    return (uint32_t *)((uint8_t *)payload + f->progress_offset);
}
/* Writer: publish with release ordering. */
void sg_kvmfr_progress_store(uint32_t *word, uint32_t bytes);
/* Reader: acquire load. */
uint32_t sg_kvmfr_progress_load(const uint32_t *word);

/* Copy rows of a checked frame out as they land: rows [0, data_height) of
 * data_width*bytes_per_texel bytes each, into dst with dst_pitch. When
 * damage_count > 0 and only_damage is set, only the damaged rows/columns are
 * copied. Waits on the progress word (B7 rules) and reports FB_TIMEOUT with
 * *rows_done = the rows that arrived. */
enum sg_kvmfr_status sg_kvmfr_frame_copy(const void *payload, const struct sg_kvmfr_frame *f, void *dst,
                                         size_t dst_pitch, bool only_damage, uint32_t *rows_done);

/* The same with the wait bounds chosen by the caller (max_polls per wait,
 * poll_ns between polls, 0 = spin) and a bound on the polls of all the waits
 * together: a host that publishes each row just before the per-wait bound runs
 * out would otherwise hold the reader for rows x max_polls polls
 * (budget_polls UINT32_MAX = none). */
enum sg_kvmfr_status sg_kvmfr_frame_copy_budget(const void *payload, const struct sg_kvmfr_frame *f,
                                                void *dst, size_t dst_pitch, bool only_damage,
                                                uint32_t max_polls, uint32_t poll_ns, uint32_t budget_polls,
                                                uint32_t *rows_done);

/* Host side: fill a wire frame header (fb_offset is left as is). */
void sg_kvmfr_frame_write(void *payload, const struct sg_kvmfr_wire_frame *hdr);
/* Host side, once per block and session: zero the header, set fb_offset and
 * store 0 in the progress word (at payload + fb_offset, 4-aligned). */
void sg_kvmfr_frame_init_block(void *payload, uint32_t fb_offset);
