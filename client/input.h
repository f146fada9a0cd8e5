/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Guest input logic that does not touch SDL's state or the network, so it can be unit tested:
 *  - SDL scancodes to PC AT set-1 scancodes (what SPICE's keyboard carries);
 *  - the uncaptured-mode cursor synchronisation.
 *
 * Cursor synchronisation. The guest only has a relative mouse and may accelerate it, so the
 * client cannot just send absolute positions. Instead:
 *  - when the pointer enters the window, ask the host to put the guest cursor at the guest
 *    point under the pointer (SET_CURSOR_POS), then send relative motion scaled to guest pixels;
 *  - once the pointer rests (settle_ms without local motion or sends) and the host-reported
 *    position has been stable for settle_ms yet differs from where the pointer is by more than
 *    `tolerance`, the guest moved differently from what was sent (acceleration): correct it
 *    with SET_CURSOR_POS, or without that feature with relative steps scaled by the observed gain;
 *  - when the reported position changes although the client sent nothing for follow_ms, a guest
 *    program moved the cursor: the local pointer follows it (the client warps its pointer).
 * Every call takes the time in ms and fills at most one action for the caller to perform.
 */
#include <stdbool.h>
#include <stdint.h>

#include <SDL_scancode.h>

/* PC AT set-1 scancode of an SDL scancode; extended (0xE0-prefixed) keys as 0x100 | code;
 * 0 when the key has none (it is then not sent). */
unsigned sg_input_set1_from_sdl(SDL_Scancode sc);

enum sg_sync_action_type {
    SG_SYNC_NONE,
    SG_SYNC_RELATIVE, /* send relative motion dx, dy (guest pixels) */
    SG_SYNC_SET_POS,  /* ask the host to put the guest hotspot at x, y */
    SG_SYNC_FOLLOW,   /* warp the local pointer to the window point of guest x, y */
};

struct sg_sync_action {
    enum sg_sync_action_type type;
    int dx, dy;
    int x, y;
};

struct sg_cursor_sync_cfg {
    unsigned settle_ms; /* quiet time before a correction (default 50) */
    unsigned follow_ms; /* no sends for this long: a reported move came from the guest (default 300) */
    int tolerance;      /* allowed distance in guest pixels (default 1) */
};

enum sg_sync_phase { SG_SYNC_OUTSIDE, SG_SYNC_PLACING, SG_SYNC_TRACKING };

struct sg_cursor_sync {
    struct sg_cursor_sync_cfg cfg;
    enum sg_sync_phase phase;
    double tx, ty; /* guest point under the local pointer */
    int sx, sy;    /* where the guest cursor should be after what was sent */
    int px, py;    /* SET_CURSOR_POS in flight */
    bool have_report;
    int rx, ry;         /* last host-reported hotspot */
    uint64_t report_ms; /* when it last changed */
    uint64_t send_ms;   /* last relative send or SET_CURSOR_POS acknowledgement */
    uint64_t motion_ms; /* last local pointer motion */
    /* Relative correction without SET_CURSOR_POS: gain learnt from the previous step. */
    double gain;
    int step_dx, step_dy, step_rx, step_ry;
    bool step_pending;
    unsigned steps; /* relative correction steps since the pointer last moved */
    /* How long the guest takes to show what we send (a loaded VM: 100 ms and more). Corrections
     * wait for the answer to the last send and for quiet of twice this, so a guest still working
     * through earlier motion is not corrected twice (overshoot, then oscillation). */
    bool awaiting;        /* a send not answered by a report change yet */
    uint64_t await_from;  /* the first send since the last answer */
    unsigned lag_ms;      /* recent send -> report delay: the largest, decaying by 1/8 */
    unsigned corrections; /* how many corrections were made (statistics, tests) */
};

void sg_cursor_sync_init(struct sg_cursor_sync *s, const struct sg_cursor_sync_cfg *cfg);
/* The pointer entered the window at guest point (gx, gy). */
void sg_cursor_sync_enter(struct sg_cursor_sync *s, double gx, double gy, bool can_set_pos, uint64_t now,
                          struct sg_sync_action *out);
/* The pointer left the window (or input stopped): nothing is sent until the next enter. */
void sg_cursor_sync_leave(struct sg_cursor_sync *s);
/* The local pointer moved to guest point (gx, gy). */
void sg_cursor_sync_motion(struct sg_cursor_sync *s, double gx, double gy, uint64_t now,
                           struct sg_sync_action *out);
/* The host reported the guest hotspot at (x, y). */
void sg_cursor_sync_report(struct sg_cursor_sync *s, int x, int y, uint64_t now, struct sg_sync_action *out);
/* The SET_CURSOR_POS asked for by the last SG_SYNC_SET_POS finished. */
void sg_cursor_sync_set_pos_done(struct sg_cursor_sync *s, bool ok, uint64_t now, struct sg_sync_action *out);
/* Periodic check for corrections. */
void sg_cursor_sync_tick(struct sg_cursor_sync *s, bool can_set_pos, uint64_t now,
                         struct sg_sync_action *out);
/* Whether sg_cursor_sync_tick may still act (tracking a reported cursor that
 * is off target, and not given up): the caller keeps ticking while true and
 * may sleep otherwise. */
bool sg_cursor_sync_wants_tick(const struct sg_cursor_sync *s, bool can_set_pos);
