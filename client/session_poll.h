/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * How long the session thread waits after a poll that found both queues
 * empty. The queues are polled (kvmfr.md §5.8: no interrupts), and every wake
 * costs ~25 us of a core in a VM, so the wait follows what is likely next:
 *
 *  - input was just sent to the guest, or the guest cursor just moved: its
 *    answer or its next position is due within milliseconds, so poll every
 *    input_poll_us for SG_POLL_INPUT_WINDOW_NS;
 *  - a message came recently: every poll_us (1 ms, as B7);
 *  - nothing for SG_POLL_IDLE_AFTER_NS: SG_POLL_IDLE_FACTOR × poll_us;
 *  - nothing for SG_POLL_STILL_AFTER_NS: SG_POLL_STILL_US, in a wait that input
 *    on the window ends at once (the caller's job), so only a change the guest
 *    makes by itself after a still spell meets it, once.
 */
#include <stdbool.h>
#include <stdint.h>

#define SG_POLL_INPUT_WINDOW_NS 50000000ull
#define SG_POLL_IDLE_AFTER_NS 500000000ull
#define SG_POLL_IDLE_FACTOR 4u
#define SG_POLL_STILL_AFTER_NS 2000000000ull
#define SG_POLL_STILL_US 16000u

struct sg_poll_wait {
    uint64_t us;
    bool interruptible; /* a slow wait: the caller ends it on user input */
};

/* now, last_busy: when the last message (or user input) was seen; input_until:
 * the end of the fast window after input (0 = none); input_poll_us 0 = no
 * fast window. */
struct sg_poll_wait sg_session_poll_wait(uint64_t now, uint64_t last_busy, uint64_t input_until,
                                         unsigned poll_us, unsigned input_poll_us);
