/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "publisher_private.h"

#include <errno.h>
#include <poll.h>
#include <string.h>

#define CURSOR_EVENTS_PER_TICK 16u
/* How long a cursor post keeps retrying a full queue (the tick that evicts
 * a stuck client runs inside the retry loop). */
#define CURSOR_FULL_GIVE_UP_MS 1500u
/* A position waits while the client has not read the previous cursor message
 * (then only the newest is posted), but never longer than this: a client that
 * stopped reading is evicted by the tick, and must not freeze the cursor of
 * another meanwhile. */
#define CURSOR_HOLD_MAX_MS 20u
/* How often a held position looks whether the client has read the last one. */
#define CURSOR_HOLD_RECHECK_NS 250000L

/* Called without cap_lock: the retry waits on what clients write. false:
 * not posted, and the tick should not post more now (given up, told to stop,
 * or the region needs a new session, which the tick's caller starts). */
static bool post_cursor(struct sg_publisher *p, const struct sg_lgmp_mem *mem, uint32_t flags)
{
    uint64_t start = sg_clock_now(p->clock);
    for (;;) {
        enum sg_lgmp_status st = sg_lgmp_host_post(p->cq, flags, mem);
        if (st == SG_LGMP_OK) {
            stat_add(&p->stats.cursor_posts, 1);
            SG_TRACE("cursor-post %d %d 0x%x", p->px, p->py, flags);
            return true;
        }
        if (st != SG_LGMP_QUEUE_FULL && st != SG_LGMP_LOCK_STUCK) {
            LOG_W("cursor post failed: %s", sg_lgmp_status_str(st));
            return false;
        }
        /* full or locked: keep the heartbeat, the eviction of a stuck client
         * and the takeover of a held lock going */
        if (tick_stop(p))
            return false;
        if (sg_clock_now(p->clock) - start > CURSOR_FULL_GIVE_UP_MS) {
            stat_add(&p->stats.cursor_dropped, 1);
            LOG_W("cursor queue stayed %s for %u ms: update dropped",
                  st == SG_LGMP_QUEUE_FULL ? "full" : "locked", CURSOR_FULL_GIVE_UP_MS);
            return false;
        }
        sg_sleep_us(1000);
        if (sg_lgmp_host_process(p->lgmp) == SG_LGMP_CORRUPTED) {
            p->corrupted = true;
            return false;
        }
    }
}

/* The position can come from a client's SET_CURSOR_POS (the test pattern
 * reports it as is): clamp it to the 16-bit wire field instead of wrapping. */
static int16_t wire_pos(int32_t pos, int32_t hot)
{
    int64_t v = (int64_t)pos - hot;
    return (int16_t)(v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : v);
}

static struct sg_kvmfr_wire_cursor cursor_header(struct sg_publisher *p)
{
    return (struct sg_kvmfr_wire_cursor){
        .x = wire_pos(p->px, p->hot_x),
        .y = wire_pos(p->py, p->hot_y),
    };
}

/* Post the held position/visibility once the client has read the previous
 * cursor message (or it waited CURSOR_HOLD_MAX_MS). A pointer that moves
 * faster than the client reads thus costs one message per read, never a full
 * queue, and the last place always goes out. */
static bool flush_held(struct sg_publisher *p)
{
    if (!p->held)
        return true;
    if (sg_lgmp_host_queue_pending(p->cq) > 0 &&
        sg_clock_now(p->clock) - p->held_since_ms < CURSOR_HOLD_MAX_MS)
        return true;
    const struct sg_lgmp_mem *mem = &p->records[p->rec_i];
    p->rec_i = (p->rec_i + 1) % SG_KVMFR_CURSOR_RECORDS;
    struct sg_kvmfr_wire_cursor hdr = cursor_header(p);
    sg_kvmfr_cursor_write(mem->ptr, &hdr);
    uint32_t flags = p->held_flags | (p->visible ? SG_CURSOR_FLAG_VISIBLE : 0);
    p->held = false;
    p->held_flags = 0;
    return post_cursor(p, mem, flags);
}

/* §6.4; false as post_cursor */
static bool handle_cursor_event(struct sg_publisher *p, const struct sg_capture_cursor *ev)
{
    const struct sg_lgmp_mem *mem;
    uint32_t flags = 0;
    if (ev->has_shape) {
        p->hot_x = ev->hot_x;
        p->hot_y = ev->hot_y;
    }
    if (ev->has_position) {
        p->px = ev->x;
        p->py = ev->y;
        p->have_pos = true;
    }
    p->visible = ev->visible;
    if (!ev->has_shape) {
        if (ev->has_position)
            p->held_flags |= SG_CURSOR_FLAG_POSITION;
        if (!p->held)
            p->held_since_ms = sg_clock_now(p->clock);
        p->held = true;
        return flush_held(p);
    }
    /* a shape message carries the newest position and visibility too */
    p->held = false;
    p->held_flags = 0;
    struct sg_kvmfr_wire_cursor hdr = cursor_header(p);
    if (ev->has_position || (ev->has_shape && p->have_pos))
        flags |= SG_CURSOR_FLAG_POSITION;
    if (ev->visible)
        flags |= SG_CURSOR_FLAG_VISIBLE;
    mem = &p->shapes[p->shape_i];
    p->cur_shape = (int)p->shape_i;
    p->shape_i = (p->shape_i + 1) % SG_KVMFR_CURSOR_SHAPE_BUFFERS;
    hdr.shape_type = ev->shape_type;
    hdr.hot_x = (int8_t)ev->hot_x;
    hdr.hot_y = (int8_t)ev->hot_y;
    hdr.width = ev->width;
    hdr.height = ev->height;
    hdr.pitch = ev->pitch;
    flags |= SG_CURSOR_FLAG_SHAPE;
    sg_kvmfr_cursor_write(mem->ptr, &hdr);
    return post_cursor(p, mem, flags);
}

void sg_publisher_cursor_new_subscriber(struct sg_publisher *p)
{
    uint32_t flags = SG_CURSOR_FLAG_POSITION | (p->visible ? SG_CURSOR_FLAG_VISIBLE : 0);
    struct sg_kvmfr_wire_cursor pos = cursor_header(p);
    if (p->cur_shape >= 0) {
        const struct sg_lgmp_mem *mem = &p->shapes[p->cur_shape];
        /* keep the shape fields, refresh the position */
        memcpy(mem->ptr, &pos, 4);
        post_cursor(p, mem, flags | SG_CURSOR_FLAG_SHAPE);
    } else if (p->have_pos) {
        const struct sg_lgmp_mem *mem = &p->records[p->rec_i];
        p->rec_i = (p->rec_i + 1) % SG_KVMFR_CURSOR_RECORDS;
        sg_kvmfr_cursor_write(mem->ptr, &pos);
        post_cursor(p, mem, flags);
    }
}
void sg_publisher_cursor_step(struct sg_publisher *p)
{
    /* cap_lock only around the backend call: a post may wait on a client,
     * and the frame thread must still be able to stop the capture meanwhile */
    for (uint32_t k = 0; k < CURSOR_EVENTS_PER_TICK && !tick_stop(p) && !p->corrupted; k++) {
        struct sg_capture_cursor ev;
        uint8_t *shape = (uint8_t *)p->shapes[p->shape_i].ptr + SG_KVMFR_CURSOR_HEADER_SIZE;
        pthread_mutex_lock(&p->cap_lock);
        bool got =
            atomic_load(&p->capturing) &&
            sg_capture_next_cursor(p->cap, &ev, shape, SG_KVMFR_CURSOR_MAX_SHAPE_BYTES) == SG_CAPTURE_OK;
        pthread_mutex_unlock(&p->cap_lock);
        if (!got || !handle_cursor_event(p, &ev))
            break;
    }
    if (!tick_stop(p) && !p->corrupted)
        flush_held(p);
}

bool sg_publisher_cursor_holding(const struct sg_publisher *p)
{
    return p->held;
}

int sg_publisher_cursor_wait(struct sg_publisher *p, const struct timespec *deadline)
{
    int fd = -1;
    pthread_mutex_lock(&p->cap_lock);
    if (atomic_load(&p->capturing))
        fd = sg_capture_cursor_fd(p->cap);
    pthread_mutex_unlock(&p->cap_lock);
    int64_t left = ns_until(deadline);
    if (left <= 0)
        return 0;
    if (fd < 0 && !p->held) {
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, deadline, NULL);
        return 0;
    }
    if (p->held && left > CURSOR_HOLD_RECHECK_NS)
        left = CURSOR_HOLD_RECHECK_NS;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    struct timespec ts = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
    int n = ppoll(&pfd, 1, &ts, NULL); /* fd -1 is ignored: a plain sleep */
    if (n < 0 && errno != EINTR)
        return -1;
    sg_publisher_cursor_step(p);
    return n > 0;
}
