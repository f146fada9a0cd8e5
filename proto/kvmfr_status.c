/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "kvmfr_status.h"

const char *sg_kvmfr_status_str(enum sg_kvmfr_status s)
{
    switch (s) {
    case SG_KVMFR_OK:
        return "OK";
    case SG_KVMFR_APPDATA_TOO_SMALL:
        return "APPDATA_TOO_SMALL (application data shorter than the 48-byte KVMFR header)";
    case SG_KVMFR_BAD_MAGIC:
        return "BAD_MAGIC (application data does not start with KVMFR---)";
    case SG_KVMFR_BAD_VERSION:
        return "BAD_VERSION (KVMFR version is not 20)";
    case SG_KVMFR_BAD_RECORD:
        return "BAD_RECORD (a record runs past the application data)";
    case SG_KVMFR_PAYLOAD_TOO_SMALL:
        return "PAYLOAD_TOO_SMALL (message payload smaller than its header)";
    case SG_KVMFR_BAD_FRAME_TYPE:
        return "BAD_FRAME_TYPE (unknown pixel format)";
    case SG_KVMFR_BAD_DIMENSIONS:
        return "BAD_DIMENSIONS (zero, larger than 16384, or data larger than the frame)";
    case SG_KVMFR_BAD_PITCH:
        return "BAD_PITCH (pitch shorter than a row of data, or stride does not match)";
    case SG_KVMFR_BAD_FB_OFFSET:
        return "BAD_FB_OFFSET (progress word misaligned or outside the payload)";
    case SG_KVMFR_FRAME_OUTSIDE_PAYLOAD:
        return "FRAME_OUTSIDE_PAYLOAD (pixel data runs past the payload)";
    case SG_KVMFR_BAD_DAMAGE_COUNT:
        return "BAD_DAMAGE_COUNT (more than 64 damage rectangles)";
    case SG_KVMFR_BAD_DAMAGE_RECT:
        return "BAD_DAMAGE_RECT (damage rectangle outside the frame)";
    case SG_KVMFR_BAD_CURSOR_TYPE:
        return "BAD_CURSOR_TYPE (unknown cursor shape type)";
    case SG_KVMFR_BAD_CURSOR_SIZE:
        return "BAD_CURSOR_SIZE (cursor width/height/pitch zero, too large or inconsistent)";
    case SG_KVMFR_CURSOR_OUTSIDE_PAYLOAD:
        return "CURSOR_OUTSIDE_PAYLOAD (cursor shape runs past the payload)";
    case SG_KVMFR_FB_TIMEOUT:
        return "FB_TIMEOUT (frame data did not arrive in time)";
    case SG_KVMFR_BUFFER_TOO_SMALL:
        return "BUFFER_TOO_SMALL (caller's buffer too small)";
    }
    return "UNKNOWN_KVMFR_STATUS";
}
