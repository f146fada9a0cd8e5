/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * KVMFR v20: what Looking Glass B7 puts on top of LGMP (../shared/spec/kvmfr.md).
 * Pure functions over memory; the reader side copies every header out of the
 * region before checking it and returns a distinct status for each rejection.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SG_KVMFR_MAGIC "KVMFR---" /* 8 bytes, no NUL on the wire */
#define SG_KVMFR_VERSION 20u
#define SG_KVMFR_CURSOR_QUEUE_ID 1u
#define SG_KVMFR_FRAME_QUEUE_ID 2u
#define SG_KVMFR_FRAME_QUEUE_LEN 2u
#define SG_KVMFR_CURSOR_QUEUE_LEN 20u
#define SG_KVMFR_SUB_TIMEOUT_MS 1000u
#define SG_KVMFR_HOST_TICK_MS 10u
#define SG_KVMFR_MAX_DAMAGE_RECTS 64u
#define SG_KVMFR_CURSOR_SHAPE_BUFFERS 3u
#define SG_KVMFR_CURSOR_RECORDS 20u
#define SG_KVMFR_CURSOR_MAX_SHAPE_BYTES 1048576u
#define SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE 1048600u
#define SG_KVMFR_CURSOR_HEADER_SIZE 24u
#define SG_KVMFR_FRAME_HEADER_SIZE 1084u
#define SG_KVMFR_HEADER_SIZE 48u
#define SG_KVMFR_RECORD_HEADER_SIZE 8u
#define SG_KVMFR_VMINFO_FIXED_SIZE 51u
#define SG_KVMFR_FB_CHUNK 1048576u
#define SG_KVMFR_FB_POLL_LIMIT 10000u
#define SG_KVMFR_FEATURE_SET_CURSOR_POS 0x1u
#define SG_KVMFR_MAX_DIMENSION 16384u /* ours: larger frames are rejected */
#define SG_KVMFR_CURSOR_MAX_DIM 1024u /* ours: wider/taller visible cursors are rejected */

/* ------------------------------------------------------------- wire structs
 * Exact layouts (x86-64); offsets are asserted in kvmfr_layout.c. */

struct sg_kvmfr_wire_header {
    char magic[8];
    uint32_t version;
    char host_version[32];
    uint32_t features;
};

struct __attribute__((packed)) sg_kvmfr_wire_record {
    uint8_t type; /* 1 VM info, 2 OS info */
    uint8_t pad[3];
    uint32_t length;
};

struct sg_kvmfr_wire_rect {
    uint32_t x, y, width, height;
};

struct sg_kvmfr_wire_frame {
    uint32_t format_version;
    uint32_t frame_serial;
    uint32_t type;
    uint32_t screen_width, screen_height;
    uint32_t data_width, data_height;
    uint32_t frame_width, frame_height;
    uint32_t rotation;
    uint32_t stride, pitch;
    uint32_t fb_offset;
    uint32_t damage_count;
    struct sg_kvmfr_wire_rect damage[SG_KVMFR_MAX_DAMAGE_RECTS];
    uint32_t flags;
};

struct sg_kvmfr_wire_cursor {
    int16_t x, y;
    uint32_t shape_type;
    int8_t hot_x, hot_y;
    uint8_t pad[2];
    uint32_t width, height, pitch;
};

struct sg_kvmfr_wire_set_cursor_pos {
    uint32_t type; /* SG_KVMFR_MSG_SET_CURSOR_POS */
    int32_t x, y;
};

enum sg_kvmfr_frame_type {
    SG_FRAME_INVALID = 0,
    SG_FRAME_BGRA = 1,
    SG_FRAME_RGBA = 2,
    SG_FRAME_RGBA10 = 3,  /* RGB10A2 */
    SG_FRAME_RGBA16F = 4,
    SG_FRAME_BGR_32 = 5,  /* BGR24 packed in 32-bit texels */
    SG_FRAME_RGB_24 = 6,
    SG_FRAME_TYPE_COUNT
};

enum sg_kvmfr_frame_flags {
    SG_FRAME_FLAG_BLOCK_SCREENSAVER = 0x01,
    SG_FRAME_FLAG_REQUEST_ACTIVATION = 0x02,
    SG_FRAME_FLAG_TRUNCATED = 0x04,
    SG_FRAME_FLAG_HDR = 0x08,
    SG_FRAME_FLAG_HDR_PQ = 0x10,
};

enum sg_kvmfr_cursor_flags {
    SG_CURSOR_FLAG_POSITION = 0x1,
    SG_CURSOR_FLAG_VISIBLE = 0x2,
    SG_CURSOR_FLAG_SHAPE = 0x4,
};

enum sg_kvmfr_cursor_type {
    SG_CURSOR_COLOR = 0,
    SG_CURSOR_MONOCHROME = 1,
    SG_CURSOR_MASKED_COLOR = 2,
};

enum { SG_KVMFR_MSG_SET_CURSOR_POS = 0 };

/* ------------------------------------------------------------------ status */

enum sg_kvmfr_status {
    SG_KVMFR_OK = 0,
    SG_KVMFR_APPDATA_TOO_SMALL,   /* app data < 48 bytes */
    SG_KVMFR_BAD_MAGIC,
    SG_KVMFR_BAD_VERSION,         /* magic ok; host_version is meaningful */
    SG_KVMFR_BAD_RECORD,          /* a record's length runs past the app data */
    SG_KVMFR_PAYLOAD_TOO_SMALL,   /* message payload smaller than its header */
    SG_KVMFR_BAD_FRAME_TYPE,
    SG_KVMFR_BAD_DIMENSIONS,      /* zero, > 16384, or data larger than frame */
    SG_KVMFR_BAD_PITCH,           /* pitch < data_width * bytes per texel, or stride mismatch */
    SG_KVMFR_BAD_FB_OFFSET,       /* progress word misaligned or outside the payload */
    SG_KVMFR_FRAME_OUTSIDE_PAYLOAD, /* data_height * pitch runs past the payload */
    SG_KVMFR_BAD_DAMAGE_COUNT,    /* > 64 */
    SG_KVMFR_BAD_DAMAGE_RECT,     /* a rectangle outside the frame */
    SG_KVMFR_BAD_CURSOR_TYPE,
    SG_KVMFR_BAD_CURSOR_SIZE,     /* width/height/pitch zero, too large, or > 1 MiB of data */
    SG_KVMFR_CURSOR_OUTSIDE_PAYLOAD,
    SG_KVMFR_FB_TIMEOUT,          /* progress word did not reach the needed value in time */
    SG_KVMFR_BUFFER_TOO_SMALL,    /* caller's output buffer */
};
const char *sg_kvmfr_status_str(enum sg_kvmfr_status s);

/* ----------------------------------------------------------------- app data */

enum sg_kvmfr_os { SG_OS_LINUX = 0, SG_OS_BSD, SG_OS_MACOS, SG_OS_WINDOWS, SG_OS_OTHER };

struct sg_kvmfr_info {
    uint32_t version;
    char host_version[33]; /* always NUL-terminated */
    uint32_t features;
    bool has_vm_info;
    uint8_t uuid[16];
    char capture[33];
    uint8_t cpus, cores, sockets;
    char cpu_model[256]; /* truncated if longer */
    bool has_os_info;
    uint8_t os_kind;
    char os_name[256];
    uint32_t records_seen, records_skipped; /* unknown record types are skipped */
    bool records_truncated; /* a record ran past the end (parsing stopped there) */
};

/* Parse app data already copied out of the region (kvmfr.md §3.3). A record
 * overrunning the data stops the walk (records_truncated) but is not fatal,
 * exactly like B7; magic/version/size problems are. */
enum sg_kvmfr_status sg_kvmfr_parse_info(const uint8_t *data, size_t size, struct sg_kvmfr_info *out);
/* Host side: header + VM info + OS info, as B7 writes it. Returns the size,
 * or 0 if buf_size is too small. */
size_t sg_kvmfr_build_info(const struct sg_kvmfr_info *info, uint8_t *buf, size_t buf_size);

/* ------------------------------------------------------------------- layout */

/* Where the B7 host puts everything (kvmfr.md §4), from U, alignment a and region size Z. */
struct sg_kvmfr_layout {
    uint32_t a0;                 /* first allocation: frame ring */
    uint32_t cursor_ring;
    uint32_t cursor_records;     /* first of 20 records */
    uint32_t shape_buffers;      /* first of 3 shape buffers */
    uint64_t fixed_end;          /* E */
    uint64_t frame_block[2];     /* B0, B1 */
    uint64_t block_size;         /* S */
    uint64_t max_frame_size;     /* F (B7's bound) */
    uint64_t max_data_size;      /* S - a: the bound an honest host uses */
    bool fits;                   /* false: region too small for two frame blocks */
};
void sg_kvmfr_layout_compute(uint32_t app_data_size, uint32_t alignment, uint64_t region_size,
                             struct sg_kvmfr_layout *out);
/* Recommended region size in MiB for a frame (kvmfr.md §9, the client's advice). */
uint32_t sg_kvmfr_recommended_mib(uint32_t screen_height, uint32_t pitch);

/* ------------------------------------------------------------------- frames */

struct sg_kvmfr_frame {
    struct sg_kvmfr_wire_frame hdr; /* copied out and checked */
    uint32_t bytes_per_texel;
    uint64_t data_size;             /* data_height * pitch */
    uint32_t rotation;              /* 0..3 (unknown values read as 0) */
    /* within the payload: */
    uint32_t progress_offset;       /* = fb_offset */
    uint32_t data_offset;           /* = fb_offset + 4 */
};

uint32_t sg_kvmfr_bytes_per_texel(uint32_t type); /* 0 for invalid */
const char *sg_kvmfr_frame_type_str(uint32_t type);

/* Copy the frame header out of a payload of payload_size bytes and check it. */
enum sg_kvmfr_status sg_kvmfr_frame_read(const void *payload, uint32_t payload_size, struct sg_kvmfr_frame *out);

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
enum sg_kvmfr_status sg_kvmfr_frame_copy_budget(const void *payload, const struct sg_kvmfr_frame *f, void *dst,
                                                size_t dst_pitch, bool only_damage, uint32_t max_polls,
                                                uint32_t poll_ns, uint32_t budget_polls, uint32_t *rows_done);

/* Host side: fill a wire frame header (fb_offset is left as is). */
void sg_kvmfr_frame_write(void *payload, const struct sg_kvmfr_wire_frame *hdr);
/* Host side, once per block and session: zero the header, set fb_offset and
 * store 0 in the progress word (at payload + fb_offset, 4-aligned). */
void sg_kvmfr_frame_init_block(void *payload, uint32_t fb_offset);

/* ------------------------------------------------------------------- cursor */

struct sg_kvmfr_cursor {
    uint32_t flags;     /* app_value of the message */
    int16_t x, y;       /* top-left of the image, valid with POSITION */
    /* valid with SHAPE: */
    uint32_t shape_type;
    int8_t hot_x, hot_y;
    uint32_t width;     /* visible width */
    uint32_t height;    /* visible height (half the data rows for monochrome) */
    uint32_t pitch;
    uint32_t data_rows;
    uint8_t *shape;     /* points into the caller's copy buffer */
    uint32_t shape_size;
};

/* The one check of a shape's geometry (kvmfr.md §6.3), used by every reader:
 * a known type; width and visible height in 1..SG_KVMFR_CURSOR_MAX_DIM (a
 * monochrome shape has an even number of rows, AND then XOR); pitch at least
 * one row's bytes; rows x pitch at most SG_KVMFR_CURSOR_MAX_SHAPE_BYTES
 * (BAD_CURSOR_TYPE, BAD_CURSOR_SIZE) and at most data_size bytes
 * (CURSOR_OUTSIDE_PAYLOAD). */
enum sg_kvmfr_status sg_kvmfr_cursor_shape_check(uint32_t type, uint32_t width, uint32_t rows, uint32_t pitch,
                                                 uint64_t data_size);

/* Copy a cursor message (header + shape when SHAPE is set) out of the payload
 * into copy_buf (at least 24 + 1 MiB), then check it. */
enum sg_kvmfr_status sg_kvmfr_cursor_read(const void *payload, uint32_t payload_size, uint32_t flags,
                                          uint8_t *copy_buf, size_t copy_buf_size, struct sg_kvmfr_cursor *out);

/* Decode a checked shape to width*height RGBA pixels (premultiplied alpha, R,G,B,A
 * bytes) plus a per-pixel invert mask (1 = invert the screen under this pixel;
 * the RGBA pixel is then transparent black). */
enum sg_kvmfr_status sg_kvmfr_cursor_decode(const struct sg_kvmfr_cursor *c, uint8_t *rgba, uint8_t *invert,
                                            size_t pixels_cap);

/* The same decode with the exact XOR colour instead of an invert mask:
 * over = premultiplied RGBA to blend, xor_px = RGBA whose RGB is XORed with
 * the screen (0 = unchanged, white = invert), has_xor = any such pixel. */
enum sg_kvmfr_status sg_kvmfr_cursor_decode_xor(const struct sg_kvmfr_cursor *c, uint8_t *over, uint8_t *xor_px,
                                                size_t pixels_cap, bool *has_xor);

/* Host side: write a cursor header (and nothing else) into a record/shape buffer. */
void sg_kvmfr_cursor_write(void *payload, const struct sg_kvmfr_wire_cursor *hdr);

/* ---------------------------------------------------------------- messages */

/* Encode/decode SET_CURSOR_POS (12 bytes). decode: false for other types/sizes. */
uint32_t sg_kvmfr_encode_set_cursor_pos(uint8_t out[12], int32_t x, int32_t y);
bool sg_kvmfr_decode_set_cursor_pos(const uint8_t *msg, uint32_t len, int32_t *x, int32_t *y);
