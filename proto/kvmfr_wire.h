/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * KVMFR v20 on the wire (../shared/spec/kvmfr.md): the sizes, counts and
 * timings B7 fixes, the exact structs (x86-64) and the values of their enum
 * fields. Pinned below to the offsets the spec lists, so a compiler or an
 * edit that moves a field fails the build.
 */
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
#define SG_KVMFR_FEATURE_SET_CURSOR_POS 0x1u

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
    SG_FRAME_RGBA10 = 3, /* RGB10A2 */
    SG_FRAME_RGBA16F = 4,
    SG_FRAME_BGR_32 = 5, /* BGR24 packed in 32-bit texels */
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

#define SG_KVMFR_WIRE_OFF(t, f, v) _Static_assert(offsetof(struct t, f) == (v), #t "." #f " at " #v)
#define SG_KVMFR_WIRE_SIZE(t, v) _Static_assert(sizeof(struct t) == (v), "sizeof " #t " is " #v)
/* §3.2 KVMFR header */
SG_KVMFR_WIRE_SIZE(sg_kvmfr_wire_header, SG_KVMFR_HEADER_SIZE);
_Static_assert(SG_KVMFR_HEADER_SIZE == 48, "KVMFR header 48");
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_header, magic, 0);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_header, version, 8);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_header, host_version, 12);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_header, features, 44);
/* record header */
SG_KVMFR_WIRE_SIZE(sg_kvmfr_wire_record, SG_KVMFR_RECORD_HEADER_SIZE);
_Static_assert(SG_KVMFR_RECORD_HEADER_SIZE == 8, "record header 8");
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_record, type, 0);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_record, pad, 1);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_record, length, 4);
/* VM info fixed part: uuid 16 + capture 32 + 3 counts */
_Static_assert(SG_KVMFR_VMINFO_FIXED_SIZE == 16 + 32 + 1 + 1 + 1, "VM info fixed 51");
/* §5.2 frame header */
SG_KVMFR_WIRE_SIZE(sg_kvmfr_wire_rect, 16);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_rect, x, 0);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_rect, y, 4);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_rect, width, 8);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_rect, height, 12);
SG_KVMFR_WIRE_SIZE(sg_kvmfr_wire_frame, SG_KVMFR_FRAME_HEADER_SIZE);
_Static_assert(SG_KVMFR_FRAME_HEADER_SIZE == 1084, "frame header 1084");
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_frame, format_version, 0);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_frame, frame_serial, 4);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_frame, type, 8);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_frame, screen_width, 12);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_frame, screen_height, 16);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_frame, data_width, 20);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_frame, data_height, 24);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_frame, frame_width, 28);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_frame, frame_height, 32);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_frame, rotation, 36);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_frame, stride, 40);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_frame, pitch, 44);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_frame, fb_offset, 48);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_frame, damage_count, 52);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_frame, damage, 56);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_frame, flags, 1080);
/* §6.2 cursor header */
SG_KVMFR_WIRE_SIZE(sg_kvmfr_wire_cursor, SG_KVMFR_CURSOR_HEADER_SIZE);
_Static_assert(SG_KVMFR_CURSOR_HEADER_SIZE == 24, "cursor header 24");
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_cursor, x, 0);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_cursor, y, 2);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_cursor, shape_type, 4);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_cursor, hot_x, 8);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_cursor, hot_y, 9);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_cursor, pad, 10);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_cursor, width, 12);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_cursor, height, 16);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_cursor, pitch, 20);
_Static_assert(SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE ==
                   SG_KVMFR_CURSOR_HEADER_SIZE + SG_KVMFR_CURSOR_MAX_SHAPE_BYTES,
               "shape buffer = header + 1 MiB");
_Static_assert(SG_KVMFR_CURSOR_MAX_SHAPE_BYTES == 512 * 512 * 4, "1 MiB shape");
/* §7 SET_CURSOR_POS */
SG_KVMFR_WIRE_SIZE(sg_kvmfr_wire_set_cursor_pos, 12);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_set_cursor_pos, type, 0);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_set_cursor_pos, x, 4);
SG_KVMFR_WIRE_OFF(sg_kvmfr_wire_set_cursor_pos, y, 8);
#undef SG_KVMFR_WIRE_OFF
#undef SG_KVMFR_WIRE_SIZE
