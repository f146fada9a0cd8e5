/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The guest cursor as the session reports it and the outcome of a
 * SET_CURSOR_POS request: what the shared-memory session (session.h) and the
 * input hooks (input_hooks.h) both speak of. No SDL here, so the session
 * builds without it.
 */
#include <stdbool.h>

/* The guest cursor as the host last reported it (kvmfr.md §6). */
struct sg_guest_cursor {
    bool known;   /* a position has been received in this session */
    bool visible; /* VISIBLE flag of the last update */
    int x, y;     /* hotspot position in guest coordinates (image x + hot_x) */
};

/* Result of a SET_CURSOR_POS request (kvmfr.md §7). */
enum sg_cursor_pos_result {
    SG_CURSOR_POS_ACKED,  /* the host acknowledged: the guest hotspot is now at (x, y) */
    SG_CURSOR_POS_FAILED, /* not sent (queue full, session lost): fall back to relative motion */
};
