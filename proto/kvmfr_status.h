/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* What a KVMFR check found: one value per reason a peer's bytes are refused. */

enum sg_kvmfr_status {
    SG_KVMFR_OK = 0,
    SG_KVMFR_APPDATA_TOO_SMALL, /* app data < 48 bytes */
    SG_KVMFR_BAD_MAGIC,
    SG_KVMFR_BAD_VERSION,       /* magic ok; host_version is meaningful */
    SG_KVMFR_BAD_RECORD,        /* a record's length runs past the app data */
    SG_KVMFR_PAYLOAD_TOO_SMALL, /* message payload smaller than its header */
    SG_KVMFR_BAD_FRAME_TYPE,
    SG_KVMFR_BAD_DIMENSIONS,        /* zero, > 16384, or data larger than frame */
    SG_KVMFR_BAD_PITCH,             /* pitch < data_width * bytes per texel, or stride mismatch */
    SG_KVMFR_BAD_FB_OFFSET,         /* progress word misaligned or outside the payload */
    SG_KVMFR_FRAME_OUTSIDE_PAYLOAD, /* data_height * pitch runs past the payload */
    SG_KVMFR_BAD_DAMAGE_COUNT,      /* > 64 */
    SG_KVMFR_BAD_DAMAGE_RECT,       /* a rectangle outside the frame */
    SG_KVMFR_BAD_CURSOR_TYPE,
    SG_KVMFR_BAD_CURSOR_SIZE, /* width/height/pitch zero, too large, or > 1 MiB of data */
    SG_KVMFR_CURSOR_OUTSIDE_PAYLOAD,
    SG_KVMFR_FB_TIMEOUT,       /* progress word did not reach the needed value in time */
    SG_KVMFR_BUFFER_TOO_SMALL, /* caller's output buffer */
};
const char *sg_kvmfr_status_str(enum sg_kvmfr_status s);
