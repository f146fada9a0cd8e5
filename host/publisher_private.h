/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The publisher's state and the calls between its files:
 *   publisher.c         create/destroy, statistics, the tick (client
 *                       messages, re-init of a wiped region) and
 *                       sg_publisher_run (frame thread + tick loop)
 *   publisher_layout.c  a new LGMP session with B7's placement (kvmfr.md §4)
 *   publisher_frame.c   the frame loop (§5.7): capture start/stop, pacing,
 *                       header, post, pixels band by band, re-posts
 *   publisher_cursor.c  the cursor (§6.4): events, held positions, posts,
 *                       a new subscriber, the wait between ticks
 *
 * Threads. Under sg_publisher_run two threads share the state:
 *   - the frame thread runs sg_publisher_frame_step only (publisher_frame.c)
 *     and owns the fields marked "frame thread";
 *   - the tick thread (the caller of sg_publisher_run) runs the tick and the
 *     cursor calls (publisher_cursor.c) and owns the fields marked "tick
 *     thread", among them `stop`, the signal handler's flag.
 * The region set-up (sg_publisher_setup_region) writes both threads' fields:
 * it runs at create, and on re-init only while the frame thread is not
 * running (the tick returns 1 and sg_publisher_run joins the thread first).
 * The threads meet through: cap_lock, held only around calls into the capture
 * backend (start/stop against the tick's cursor calls), never across a wait;
 * `capturing` and `quit` (C11 atomics); the statistics, added to with
 * stat_add (relaxed __atomic, read by sg_publisher_get_stats from any thread);
 * and LGMP itself, whose post() of the frame queue may run beside process()
 * and the cursor queue (proto/lgmp.h). Tests and benchmarks may call the
 * steps themselves from one thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "lgmp.h"
#include "publisher.h"
#include "sg_log.h"
#include "sg_time.h"
#include "sg_trace.h"

struct block {
    bool valid; /* holds the complete image of frame `serial` */
    uint32_t serial;
    uint32_t format_version;
};

struct sg_publisher {
    /* set at create and by sg_publisher_setup_region; read by both threads */
    void *base;
    size_t size;
    char region_name[128];
    struct sg_capture *cap;
    const struct sg_clock *clock;
    uint32_t fps_cap;
    uint8_t app[2048];
    uint32_t app_size;

    struct sg_lgmp_host *lgmp;
    struct sg_lgmp_host_queue *fq, *cq;
    struct sg_kvmfr_layout layout;
    struct sg_lgmp_mem records[SG_KVMFR_CURSOR_RECORDS];
    struct sg_lgmp_mem shapes[SG_KVMFR_CURSOR_SHAPE_BUFFERS];
    struct sg_lgmp_mem blocks[2];

    /* between the threads */
    pthread_mutex_t cap_lock; /* start/stop against the tick's cursor calls; never held across a wait */
    atomic_bool capturing;
    atomic_bool quit; /* the frame thread's loops and waits end */
    atomic_bool idle; /* sg_publisher_run: nothing happened for SG_PUBLISHER_IDLE_AFTER_MS */

    /* frame thread */
    uint32_t serial, format_version;
    uint32_t fmt_type, fmt_w, fmt_h, fmt_pitch;
    bool have_format, trunc_logged;
    int next_block, last_block;
    struct block blk[2];
    struct sg_capture_frame frame;
    bool prev_full;
    uint32_t prev_count;
    struct sg_capture_rect prev_damage[SG_CAPTURE_MAX_DAMAGE];
    uint64_t last_frame_ns;
    bool error_logged;
    bool unposted; /* the last published block's post was given up */

    /* tick thread */
    bool threaded;               /* inside sg_publisher_run: the tick leaves re-init to it */
    volatile sig_atomic_t *stop; /* sg_publisher_run's flag; the tick's waits end */
    bool said_no_set_pos;        /* a SET_CURSOR_POS the backend cannot act on was reported */
    bool corrupted;              /* a process() inside a post retry found the region overwritten */
    uint32_t rec_i, shape_i;
    int cur_shape; /* shape buffer holding the current shape, -1 none */
    bool have_pos, visible;
    int32_t px, py, hot_x, hot_y;
    bool held;           /* a position/visibility update not posted yet (coalescing) */
    uint32_t held_flags; /* SG_CURSOR_FLAG_POSITION if any held update moved it */
    uint64_t held_since_ms;

    struct sg_publisher_stats stats; /* stat_add from either thread */
};

static inline void stat_add(uint64_t *v, uint64_t n)
{
    __atomic_fetch_add(v, n, __ATOMIC_RELAXED);
}

/* frame thread: told to quit */
static inline bool frame_quit(struct sg_publisher *p)
{
    return atomic_load_explicit(&p->quit, memory_order_relaxed);
}

/* tick thread: sg_publisher_run's flag is set */
static inline bool tick_stop(const struct sg_publisher *p)
{
    return p->stop && *p->stop;
}

/* Nanoseconds from now (CLOCK_MONOTONIC) to t; negative once passed. */
static inline int64_t ns_until(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(t->tv_sec - now.tv_sec) * 1000000000 + (t->tv_nsec - now.tv_nsec);
}

/* publisher_layout.c; at create, or with the frame thread stopped */
/* A new LGMP session in the region: queues, cursor records, shape buffers
 * and the two frame blocks at kvmfr.md §4's offsets; the frame and cursor
 * bookkeeping starts over. -1 with a message naming the region. */
int sg_publisher_setup_region(struct sg_publisher *p, char *err, size_t err_size);

/* publisher_cursor.c, tick thread */
/* The current shape and position to a new cursor subscriber at once. */
void sg_publisher_cursor_new_subscriber(struct sg_publisher *p);
