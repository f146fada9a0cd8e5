/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Client-to-host messages (kvmfr.md §7): SET_CURSOR_POS is the only one. */
#include <stdbool.h>
#include <stdint.h>

#include "kvmfr_wire.h"

/* Encode/decode SET_CURSOR_POS (12 bytes). decode: false for other types/sizes. */
uint32_t sg_kvmfr_encode_set_cursor_pos(uint8_t out[12], int32_t x, int32_t y);
bool sg_kvmfr_decode_set_cursor_pos(const uint8_t *msg, uint32_t len, int32_t *x, int32_t *y);
