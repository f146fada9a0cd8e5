/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one client-to-host message (kvmfr.md §7), copied through the wire
 * struct so that neither side depends on the alignment of the message buffer.
 */
#include <string.h>

#include "kvmfr_msg.h"

uint32_t sg_kvmfr_encode_set_cursor_pos(uint8_t out[12], int32_t x, int32_t y)
{
    struct sg_kvmfr_wire_set_cursor_pos m = {.type = SG_KVMFR_MSG_SET_CURSOR_POS, .x = x, .y = y};
    memcpy(out, &m, sizeof m);
    return sizeof m;
}

bool sg_kvmfr_decode_set_cursor_pos(const uint8_t *msg, uint32_t len, int32_t *x, int32_t *y)
{
    struct sg_kvmfr_wire_set_cursor_pos m;
    if (!msg || len != sizeof m)
        return false;
    memcpy(&m, msg, sizeof m);
    if (m.type != SG_KVMFR_MSG_SET_CURSOR_POS)
        return false;
    *x = m.x;
    *y = m.y;
    return true;
}
