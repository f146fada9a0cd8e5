/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Publishing: puts what a capture backend produces into the region exactly
 * as a Looking Glass B7 host would (kvmfr.md §3-§7): two queues, the §4
 * placement, the §5.7 frame algorithm with the progress word raised band by
 * band, the §6.4 cursor algorithm, SET_CURSOR_POS handled and acknowledged
 * on the 10 ms tick (25 ms once nothing has happened for a second).
 *
 * Two loops: sg_publisher_frame_step (the frame thread) and
 * sg_publisher_tick (every 10 ms: heartbeat, client messages, cursor). Between
 * ticks the tick thread waits on the capture's cursor descriptor
 * (sg_publisher_cursor_wait), so a pointer move is posted as it happens.
 * Position updates are coalesced only while the client has not read the
 * previous cursor message. sg_publisher_run runs both until asked to stop.
 * Tests and benchmarks may call the steps themselves from one thread.
 */
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "capture.h"
#include "kvmfr.h"
#include "sg_clock.h"

#define SG_PUBLISHER_ALIGN 4096u
/* With nothing published and no client message for this long, sg_publisher_run
 * ticks every SG_PUBLISHER_IDLE_TICK_MS instead of every 10 ms: each wake costs
 * ~25 us of a core in a VM, and a still desktop should cost next to nothing.
 * The heartbeat needs a tick within 1 s (lgmp.md §6); the price is that a
 * client message after a still spell (a warp when the pointer enters the
 * client's window) waits up to the idle tick. Any pointer motion brings the
 * 10 ms tick back at once. */
#define SG_PUBLISHER_IDLE_AFTER_MS 1000u
#define SG_PUBLISHER_IDLE_TICK_MS 25u

struct sg_publisher_opts {
    uint32_t fps_cap;             /* 0 = as many frames as the backend makes */
    const struct sg_clock *clock; /* NULL = monotonic */
    const char *region_name;      /* for messages */
};

struct sg_publisher_stats {
    uint64_t frames;       /* new frames posted */
    uint64_t reposts;      /* last frame re-posted to a new subscriber */
    uint64_t bytes_copied; /* pixel bytes written into the region */
    uint64_t truncated;    /* frames posted with TRUNCATED */
    uint64_t cursor_posts;
    uint64_t set_cursor_pos; /* SET_CURSOR_POS messages acted on */
    uint64_t sessions;       /* LGMP sessions started (1 + re-inits) */
    uint64_t frames_dropped; /* frame posts given up: the queue stayed full or locked */
    uint64_t cursor_dropped; /* cursor posts given up likewise */
};

struct sg_publisher;

/* Initialise the region (a new LGMP session) and allocate everything.
 * info: the app-data records (sysinfo.h). -1 with a message naming the size
 * needed when the region cannot hold the fixed part and two frame blocks. */
int sg_publisher_create(struct sg_publisher **out, void *base, size_t size, struct sg_capture *cap,
                        const struct sg_kvmfr_info *info, const struct sg_publisher_opts *opts, char *err,
                        size_t err_size);
void sg_publisher_destroy(struct sg_publisher *p); /* stops capture; NULL ok */

/* One pass of the frame loop, waiting at most about timeout_ms. */
void sg_publisher_frame_step(struct sg_publisher *p, uint32_t timeout_ms);
/* One 10 ms tick. -1: the region was wiped and could not be set up again. */
int sg_publisher_tick(struct sg_publisher *p);
/* The cursor part of the tick alone: post what the backend reports now, and
 * a held position the client is ready for. */
void sg_publisher_cursor_step(struct sg_publisher *p);
/* Wait until the backend's cursor descriptor fires, a held position is due
 * for a look, or deadline (CLOCK_MONOTONIC) passes; then a cursor step.
 * 1: the descriptor fired; 0: it did not (or there is none); -1: poll failed. */
int sg_publisher_cursor_wait(struct sg_publisher *p, const struct timespec *deadline);
/* True while a position waits for the client to read the previous message. */
bool sg_publisher_cursor_holding(const struct sg_publisher *p);
/* Frame thread + tick loop until *stop becomes non-zero (a signal handler's
 * flag: SIGINT and SIGTERM are blocked in the frame thread, so it is written
 * and read on the caller's thread). Every wait on what a client wrote is
 * bounded and looks at the flag: it returns within a few ticks whatever the
 * clients did. 0, or -1 on a fatal error. */
int sg_publisher_run(struct sg_publisher *p, volatile sig_atomic_t *stop);

void sg_publisher_get_stats(const struct sg_publisher *p, struct sg_publisher_stats *out);
const struct sg_kvmfr_layout *sg_publisher_layout(const struct sg_publisher *p);
