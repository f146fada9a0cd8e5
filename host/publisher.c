/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "publisher_private.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

int sg_publisher_create(struct sg_publisher **out, void *base, size_t size, struct sg_capture *cap,
                        const struct sg_kvmfr_info *info, const struct sg_publisher_opts *opts, char *err,
                        size_t err_size)
{
    *out = NULL;
    struct sg_publisher *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    p->base = base;
    /* LGMP offsets are 32-bit and B7 clients keep the size in an int: use
     * the first 2 GiB of anything larger */
    p->size = size > (1u << 31) ? (1u << 31) : size;
    if (size > p->size)
        LOG_W("region of %zu bytes: using the first %zu", size, p->size);
    p->cap = cap;
    p->clock = opts ? opts->clock : NULL;
    p->fps_cap = opts ? opts->fps_cap : 0;
    snprintf(p->region_name, sizeof(p->region_name), "%s",
             opts && opts->region_name ? opts->region_name : "(memory)");
    pthread_mutex_init(&p->cap_lock, NULL);
    atomic_init(&p->quit, false);
    atomic_init(&p->idle, false);
    p->app_size = (uint32_t)sg_kvmfr_build_info(info, p->app, sizeof(p->app));
    if (!p->app_size) {
        snprintf(err, err_size, "the KVMFR app data does not fit %zu bytes", sizeof(p->app));
        goto fail;
    }
    if (sg_publisher_setup_region(p, err, err_size) != 0)
        goto fail;
    *out = p;
    return 0;
fail:
    sg_lgmp_host_destroy(p->lgmp);
    pthread_mutex_destroy(&p->cap_lock);
    free(p);
    return -1;
}

void sg_publisher_destroy(struct sg_publisher *p)
{
    if (!p)
        return;
    if (atomic_load(&p->capturing))
        sg_capture_stop(p->cap);
    sg_lgmp_host_destroy(p->lgmp);
    pthread_mutex_destroy(&p->cap_lock);
    free(p);
}

const struct sg_kvmfr_layout *sg_publisher_layout(const struct sg_publisher *p)
{
    return &p->layout;
}

void sg_publisher_get_stats(const struct sg_publisher *p, struct sg_publisher_stats *out)
{
    const uint64_t *src = (const uint64_t *)&p->stats;
    uint64_t *dst = (uint64_t *)out;
    for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

/* The region was wiped (a restarted VM, another host): a new session, and a
 * capture restart so that the first frame and the shape are sent again.
 * Never runs while the frame thread does. */
static int reinit(struct sg_publisher *p)
{
    char err[256];
    LOG_W("region %s was overwritten: starting a new session", p->region_name);
    if (atomic_load(&p->capturing)) {
        sg_capture_stop(p->cap);
        atomic_store(&p->capturing, false);
    }
    if (sg_publisher_setup_region(p, err, sizeof(err)) != 0) {
        LOG_E("%s", err);
        return -1;
    }
    return 0;
}

int sg_publisher_tick(struct sg_publisher *p)
{
    p->corrupted = false;
    enum sg_lgmp_status st = sg_lgmp_host_process(p->lgmp);
    if (st == SG_LGMP_CORRUPTED)
        return p->threaded ? 1 : reinit(p);

    /* §7: client messages come on the cursor queue */
    uint8_t msg[SG_LGMP_CMSG_PAYLOAD];
    uint32_t len;
    /* At most a ring's worth per tick: a client that keeps taking back the
     * slots we free (cmsg_free) would otherwise keep this loop going forever. */
    for (uint32_t k = 0; k < SG_LGMP_CMSG_COUNT; k++) {
        st = sg_lgmp_host_read_cmsg(p->cq, msg, &len);
        if (st == SG_LGMP_QUEUE_EMPTY)
            break;
        int32_t x, y;
        if (st == SG_LGMP_OK && sg_kvmfr_decode_set_cursor_pos(msg, len, &x, &y)) {
            pthread_mutex_lock(&p->cap_lock);
            int rc = sg_capture_set_cursor_pos(p->cap, x, y);
            pthread_mutex_unlock(&p->cap_lock);
            stat_add(&p->stats.set_cursor_pos, 1);
            if (!sg_capture_can_set_cursor_pos(p->cap->impl) && !p->said_no_set_pos) {
                /* feature bit 0 is clear: a client that sends it anyway gets its acknowledgement, nothing
                 * more */
                LOG_W("a client sent SET_CURSOR_POS %d,%d although this host does not offer it (capture %s "
                      "cannot "
                      "move the pointer); acknowledged, not acted on",
                      x, y, p->cap->impl->name);
                p->said_no_set_pos = true;
            }
            LOG_D("SET_CURSOR_POS %d,%d%s", x, y, rc ? " failed" : "");
        } else if (st != SG_LGMP_OK) {
            LOG_D("client message rejected: %s", sg_lgmp_status_str(st));
        }
        sg_lgmp_host_ack_cmsg(p->cq);
        if (st != SG_LGMP_OK && st != SG_LGMP_BAD_CMSG)
            break;
    }

    sg_publisher_cursor_step(p);
    if (!tick_stop(p) && !p->corrupted && sg_lgmp_host_queue_new_subs(p->cq)) {
        p->held = false; /* the message below carries the newest state */
        p->held_flags = 0;
        sg_publisher_cursor_new_subscriber(p);
    }
    if (p->corrupted)
        return p->threaded ? 1 : reinit(p);
    return 0;
}

/* ------------------------------------------------------------------ run */

#define FRAME_WAIT_MS 20u
#define FRAME_WAIT_IDLE_MS 100u

static void *frame_thread(void *arg)
{
    struct sg_publisher *p = arg;
    /* The signal flag is the tick's to read; it tells this thread via quit.
     * An idle host waits longer for damage; the price is that a second client
     * subscribing then waits up to that long for its first frame. */
    while (!frame_quit(p))
        sg_publisher_frame_step(p, atomic_load(&p->idle) ? FRAME_WAIT_IDLE_MS : FRAME_WAIT_MS);
    return NULL;
}

/* The frame thread with SIGINT and SIGTERM blocked: their handler then runs
 * on the tick's thread, the only one that reads the flag it sets. */
static int start_frame_thread(struct sg_publisher *p, pthread_t *th)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    atomic_store(&p->quit, false);
    int rc = pthread_create(th, NULL, frame_thread, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

/* A number that changes whenever the publisher did or tried something a
 * client will see: a frame, a re-post, a cursor message (posted or given up),
 * a client message acted on, a new session. */
static uint64_t activity(const struct sg_publisher *p)
{
    struct sg_publisher_stats st;
    sg_publisher_get_stats(p, &st);
    return st.frames + st.reposts + st.cursor_posts + st.set_cursor_pos + st.sessions + st.frames_dropped +
           st.cursor_dropped;
}

int sg_publisher_run(struct sg_publisher *p, volatile sig_atomic_t *stop)
{
    pthread_t th;
    p->threaded = true;
    p->stop = stop;
    if (start_frame_thread(p, &th) != 0) {
        LOG_E("cannot start the frame thread");
        p->threaded = false;
        p->stop = NULL;
        return -1;
    }
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    uint64_t seen = activity(p), last_active_ns = sg_time_ns();
    while (!*stop) {
        if (sg_publisher_tick(p) == 1) {
            atomic_store(&p->quit, true);
            pthread_join(th, NULL);
            if (reinit(p) != 0 || start_frame_thread(p, &th) != 0) {
                p->threaded = false;
                p->stop = NULL;
                return -1;
            }
        }
        uint64_t now_ns = sg_time_ns(), act = activity(p);
        /* a message not yet released may be on its way to a timeout and an
         * eviction, which the tick carries out: not idle while one waits */
        if (act != seen || sg_lgmp_host_queue_unreleased(p->fq) || sg_lgmp_host_queue_unreleased(p->cq)) {
            seen = act;
            last_active_ns = now_ns;
        }
        bool idle = now_ns - last_active_ns > SG_PUBLISHER_IDLE_AFTER_MS * 1000000ull;
        atomic_store(&p->idle, idle);
        sg_timespec_add_ns(&next, (idle ? SG_PUBLISHER_IDLE_TICK_MS : SG_KVMFR_HOST_TICK_MS) * 1000000ull);
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > next.tv_sec + 1)
            next = now; /* suspended for a while: do not catch up */
        /* between ticks: the cursor as it moves */
        while (!*stop && ns_until(&next) > 0) {
            if (sg_publisher_cursor_wait(p, &next) < 0) {
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
                break;
            }
            if (idle && activity(p) != seen) {
                /* the pointer moved: a client message (a warp) may follow at once */
                clock_gettime(CLOCK_MONOTONIC, &next);
                sg_timespec_add_ns(&next, SG_KVMFR_HOST_TICK_MS * 1000000ull);
                idle = false;
                atomic_store(&p->idle, false);
            }
        }
    }
    atomic_store(&p->quit, true);
    pthread_join(th, NULL);
    p->threaded = false;
    p->stop = NULL;
    if (atomic_load(&p->capturing)) {
        sg_capture_stop(p->cap);
        atomic_store(&p->capturing, false);
    }
    return 0;
}
