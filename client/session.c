/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The session thread: map the region, attach (LGMP session start, KVMFR app
 * data), subscribe, poll both queues, and start over after a host stop or
 * restart, or subscribe again after an eviction. What it does with each
 * queue's messages is in session_frames.c, session_cursor.c and
 * session_cursor_pos.c (session_private.h).
 */
#include "session.h"
#include "session_private.h"
#include "session_poll.h"

#include <pthread.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lgmp.h"
#include "sg_log.h"
#include "sg_time.h"
#include "shm.h"

#define VALIDITY_CHECK_MS 100
/* How long an attach waits for the heartbeat to move (lgmp.md §10.1, §10.2):
 * a live host ticks every 10 ms, and one that has not ticked for a second is
 * gone by the validity rule (§10.3). */
#define HEARTBEAT_WAIT_MS 1000
#define HEARTBEAT_POLL_US 2000

/* Rejections are logged in bursts of LOG_BURST per second at most: a guest
 * can post thousands of bad messages a second. The next line logged says how
 * many were left out. */
#define LOG_BURST 5

const char *sg_session_state_str(enum sg_session_state s)
{
    switch (s) {
    case SG_SESSION_NO_REGION:
        return "no-region";
    case SG_SESSION_WAITING:
        return "waiting";
    case SG_SESSION_RUNNING:
        return "running";
    case SG_SESSION_HOST_STOPPED:
        return "host-stopped";
    case SG_SESSION_INCOMPATIBLE:
        return "incompatible";
    }
    return "unknown";
}

/* Sleep up to ms, waking early when asked to stop. */
static void nap_ms(struct sg_session *s, unsigned ms)
{
    while (ms && !atomic_load(&s->stop)) {
        unsigned step = ms < 20 ? ms : 20;
        sg_sleep_us(step * 1000u);
        ms -= step;
    }
}

void sg_session_notify(struct sg_session *s)
{
    if (s->notify)
        s->notify(s->ctx);
}

void sg_session_reject(struct sg_session *s, struct sg_log_limit *limit, const char *fmt, ...)
{
    unsigned skipped;
    if (sg_log_limit_allow(limit, LOG_BURST, sg_time_ms(), &skipped)) {
        char msg[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        if (skipped)
            LOG_W("%s (%u similar rejections not logged)", msg, skipped);
        else
            LOG_W("%s", msg);
    }
    pthread_mutex_lock(&s->lock);
    s->st.rejected++;
    pthread_mutex_unlock(&s->lock);
}

/* Sets state and message; logs when the message changes. */
static void set_state(struct sg_session *s, enum sg_session_state state, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_state(struct sg_session *s, enum sg_session_state state, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&s->lock);
    bool changed = s->st.state != state || strcmp(s->st.message, msg);
    s->st.state = state;
    snprintf(s->st.message, sizeof(s->st.message), "%s", msg);
    pthread_mutex_unlock(&s->lock);
    if (changed) {
        LOG_I("%s", msg);
        sg_session_notify(s);
    }
}

void sg_session_user_active(struct sg_session *s)
{
    if (atomic_exchange(&s->user_active, true))
        return; /* already told, not taken yet */
    /* seq_cst pairs with idle_wait's store then load: one of the two sees the other */
    if (atomic_load(&s->idle_waiting)) {
        pthread_mutex_lock(&s->wake_lock);
        pthread_cond_signal(&s->wake_cond);
        pthread_mutex_unlock(&s->wake_lock);
    }
}

void sg_session_poll_fast(struct sg_session *s)
{
    if (s->input_poll_us)
        atomic_store(&s->fast_until_ns, sg_time_ns() + SG_POLL_INPUT_WINDOW_NS);
}

void sg_session_input_sent(struct sg_session *s)
{
    sg_session_poll_fast(s);
    sg_session_user_active(s);
}

/* Sleep us, ending early when the user acts or the session is told to stop. */
static void idle_wait(struct sg_session *s, uint64_t us)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    sg_timespec_add_ns(&until, us * 1000u);
    pthread_mutex_lock(&s->wake_lock);
    atomic_store(&s->idle_waiting, true);
    while (!atomic_load(&s->user_active) && !atomic_load(&s->stop))
        if (pthread_cond_timedwait(&s->wake_cond, &s->wake_lock, &until) != 0)
            break;
    atomic_store(&s->idle_waiting, false);
    pthread_mutex_unlock(&s->wake_lock);
}

enum run_end { RUN_STOP, RUN_LOST, RUN_EVICTED, RUN_ERROR };

/* Why a queue error ends the run. */
static enum run_end queue_end(enum sg_lgmp_status ls)
{
    if (ls == SG_LGMP_QUEUE_TIMEOUT)
        return RUN_EVICTED;
    if (ls == SG_LGMP_INVALID_SESSION)
        return RUN_LOST;
    LOG_W("queue error: %s", sg_lgmp_status_str(ls));
    return RUN_ERROR;
}

static enum run_end run(struct sg_session *s)
{
    uint64_t next_check = sg_time_ns() + VALIDITY_CHECK_MS * 1000000ull, last_busy = sg_time_ns();
    bool holding = false;
    for (;;) {
        if (atomic_load(&s->stop))
            return RUN_STOP;
        bool busy = false;
        uint64_t t = sg_time_ns();
        if (t >= next_check) {
            next_check = t + VALIDITY_CHECK_MS * 1000000ull;
            if (!sg_lgmp_client_session_valid(s->lc))
                return RUN_LOST;
        }

        /* the cursor first: a frame never queues ahead of a cursor update */
        enum sg_lgmp_status ls = sg_session_pump_cursor(s, &busy);
        if (ls == SG_LGMP_OK)
            ls = sg_session_pump_frames(s, &holding, &busy);
        if (ls == SG_LGMP_OK)
            ls = sg_session_refetch_frame(s, holding);
        if (ls != SG_LGMP_OK)
            return queue_end(ls);

        sg_session_pump_pos_reqs(s);
        /* session_poll.h: slower over a still guest, faster right after input */
        uint64_t now = sg_time_ns();
        if (busy || atomic_exchange(&s->user_active, false))
            last_busy = now;
        if (busy)
            continue;
        struct sg_poll_wait w = sg_session_poll_wait(now, last_busy, atomic_load(&s->fast_until_ns),
                                                     s->poll_us, s->input_poll_us);
        if (w.interruptible)
            idle_wait(s, w.us);
        else
            sg_sleep_us(w.us);
    }
}

static void unsubscribe(struct sg_session *s)
{
    sg_session_drop_frame(s);
    pthread_mutex_lock(&s->lock);
    s->refetch_wanted = false; /* the next subscription brings a frame anyway */
    pthread_mutex_unlock(&s->lock);
    sg_session_fail_pos_reqs(s);
    if (s->fq)
        sg_lgmp_client_unsubscribe(&s->fq);
    if (s->cq)
        sg_lgmp_client_unsubscribe(&s->cq);
}

static enum sg_lgmp_status subscribe(struct sg_session *s)
{
    uint64_t deadline = sg_time_ns() + (uint64_t)s->retry_ms * 1000000ull;
    enum sg_lgmp_status ls;
    while ((ls = sg_lgmp_client_subscribe(s->lc, SG_KVMFR_CURSOR_QUEUE_ID, &s->cq)) ==
               SG_LGMP_NO_SUCH_QUEUE &&
           sg_time_ns() < deadline && !atomic_load(&s->stop))
        sg_sleep_us(1000);
    if (ls != SG_LGMP_OK)
        return ls;
    while ((ls = sg_lgmp_client_subscribe(s->lc, SG_KVMFR_FRAME_QUEUE_ID, &s->fq)) == SG_LGMP_NO_SUCH_QUEUE &&
           sg_time_ns() < deadline && !atomic_load(&s->stop))
        sg_sleep_us(1000);
    if (ls != SG_LGMP_OK)
        sg_lgmp_client_unsubscribe(&s->cq);
    return ls;
}

/* The file at the path is no longer the one mapped (a host or QEMU deleted and
 * recreated it, or resized it): map again, or we would wait on a dead copy. */
static bool region_replaced(struct sg_session *s)
{
    struct stat now, mapped;
    if (s->shm.kind != SG_SHM_FILE || s->shm.fd < 0)
        return false;
    if (stat(s->path, &now) != 0 || fstat(s->shm.fd, &mapped) != 0)
        return false;
    return now.st_ino != mapped.st_ino || now.st_dev != mapped.st_dev || (uint64_t)now.st_size != s->shm.size;
}

static void unmap(struct sg_session *s)
{
    sg_lgmp_client_destroy(s->lc);
    s->lc = NULL;
    sg_shm_close(&s->shm);
    s->mapped = false;
}

/* The region mapped and an LGMP client on it; the state says why not. */
static bool map_region(struct sg_session *s)
{
    if (!s->mapped) {
        char err[256];
        struct sg_shm_open_opts o = {.path = s->path};
        if (sg_shm_open(&s->shm, &o, err, sizeof(err)) != 0) {
            set_state(s, SG_SESSION_NO_REGION, "%s; retrying", err);
            return false;
        }
        s->mapped = true;
    }
    if (!s->lc) {
        enum sg_lgmp_status ls = sg_lgmp_client_create(&s->lc, s->shm.base, s->shm.size, NULL);
        if (ls != SG_LGMP_OK) {
            set_state(s, SG_SESSION_INCOMPATIBLE,
                      "%s: region of %zu bytes unusable: %s (an LGMP region needs at least %u)", s->shm.path,
                      s->shm.size, sg_lgmp_status_str(ls), SG_LGMP_GLOBAL_HEADER_SIZE);
            /* a host may still grow the file: map again next time */
            sg_shm_close(&s->shm);
            s->mapped = false;
            return false;
        }
    }
    return true;
}

/* The LGMP session started: *ad and *ad_size are the host's app data. The
 * state says why not; a region replaced on disk is unmapped to map again. */
static bool start_lgmp_session(struct sg_session *s, const uint8_t **ad, uint32_t *ad_size)
{
    /* The session start needs the heartbeat to have moved since the client
     * saw it first: right after creating the client it cannot have. Wait for
     * a tick instead of failing and sleeping a whole retry period. */
    uint64_t beat_deadline = sg_time_ns() + HEARTBEAT_WAIT_MS * 1000000ull;
    enum sg_lgmp_status ls;
    while ((ls = sg_lgmp_client_session_init(s->lc, ad, ad_size)) == SG_LGMP_INVALID_SESSION &&
           sg_time_ns() < beat_deadline && !atomic_load(&s->stop))
        sg_sleep_us(HEARTBEAT_POLL_US);
    if (ls != SG_LGMP_OK && region_replaced(s)) {
        LOG_I("%s was replaced; mapping it again", s->path);
        sg_session_wait_frame_returned(s);
        unmap(s);
        return false;
    }
    if (ls == SG_LGMP_INVALID_MAGIC || ls == SG_LGMP_INVALID_SESSION) {
        if (s->had_host)
            set_state(s, SG_SESSION_HOST_STOPPED, "host stopped (%s in %s); waiting for it to come back",
                      ls == SG_LGMP_INVALID_MAGIC ? "no LGMP magic" : "no heartbeat", s->shm.path);
        else
            set_state(s, SG_SESSION_WAITING, "host not running (%s in %s); waiting for host",
                      ls == SG_LGMP_INVALID_MAGIC ? "no LGMP magic" : "no heartbeat", s->shm.path);
        return false;
    }
    if (ls != SG_LGMP_OK) {
        if (ls == SG_LGMP_INVALID_VERSION)
            set_state(s, SG_SESSION_INCOMPATIBLE, "incompatible host in %s: LGMP version is not %u (%s)",
                      s->shm.path, SG_LGMP_VERSION, sg_lgmp_status_str(ls));
        else
            set_state(s, SG_SESSION_INCOMPATIBLE, "garbled region %s: %s", s->shm.path,
                      sg_lgmp_status_str(ls));
        return false;
    }
    return true;
}

/* The host's KVMFR app data, of the version this client speaks. */
static bool read_host_info(struct sg_session *s, const uint8_t *ad, uint32_t ad_size,
                           struct sg_kvmfr_info *info)
{
    enum sg_kvmfr_status ks = sg_kvmfr_parse_info(ad, ad_size, info);
    if (ks == SG_KVMFR_BAD_VERSION) {
        set_state(s, SG_SESSION_INCOMPATIBLE,
                  "incompatible host '%s' in %s: KVMFR version %u, this client speaks %u", info->host_version,
                  s->shm.path, info->version, SG_KVMFR_VERSION);
        return false;
    }
    if (ks != SG_KVMFR_OK) {
        set_state(s, SG_SESSION_INCOMPATIBLE, "not a KVMFR host in %s: %s (app data %u bytes)", s->shm.path,
                  sg_kvmfr_status_str(ks), ad_size);
        return false;
    }
    return true;
}

/* Subscribed to a host's new session: its info, a fresh cursor, RUNNING. */
static void start_running(struct sg_session *s, const struct sg_kvmfr_info *info)
{
    pthread_mutex_lock(&s->lock);
    if (s->had_host)
        s->st.restarts++;
    s->st.info = *info;
    s->st.have_info = true;
    s->st.session_id = sg_lgmp_client_session_id(s->lc);
    /* a new session: the cursor state of the old one is meaningless */
    sg_cursor_image_finish(&s->cur.shape);
    s->cur = (struct sg_session_cursor){0};
    s->cur_dirty = true;
    pthread_mutex_unlock(&s->lock);
    sg_session_allow_pos_reqs(s);
    s->had_host = true;
    s->have_serial = false;
    s->stuck_ms = 0;
    set_state(s, SG_SESSION_RUNNING, "connected to host '%s' (session %u, features 0x%x)", info->host_version,
              sg_lgmp_client_session_id(s->lc), info->features);
}

/* One attempt to start a session. True when subscribed. */
static bool attach(struct sg_session *s)
{
    pthread_mutex_lock(&s->lock);
    s->st.attach_attempts++;
    pthread_mutex_unlock(&s->lock);
    const uint8_t *ad;
    uint32_t ad_size;
    struct sg_kvmfr_info info;
    if (!map_region(s) || !start_lgmp_session(s, &ad, &ad_size) || !read_host_info(s, ad, ad_size, &info))
        return false;
    enum sg_lgmp_status ls = subscribe(s);
    if (ls != SG_LGMP_OK) {
        /* a guest can hold a lock for good: spinning 1 s per retry would take a core */
        if (ls == SG_LGMP_LOCK_STUCK)
            s->stuck_ms = s->stuck_ms ? (s->stuck_ms < 8000 ? 2 * s->stuck_ms : 16000) : 4000;
        set_state(s, SG_SESSION_INCOMPATIBLE, "cannot subscribe in %s: %s", s->shm.path,
                  sg_lgmp_status_str(ls));
        return false;
    }
    start_running(s, &info);
    return true;
}

/* Evicted (too slow for the host): counted, logged, subscribed again. True
 * when subscribed. */
static bool resubscribe_after_eviction(struct sg_session *s)
{
    pthread_mutex_lock(&s->lock);
    s->st.evictions++;
    pthread_mutex_unlock(&s->lock);
    /* A guest can evict every subscriber at once, forever: then wait a
     * little before the next try and log once in a while, not each time. */
    uint64_t t = sg_time_ns();
    bool storm = s->last_evict_ns && t - s->last_evict_ns < 1000000000ull;
    s->last_evict_ns = t;
    s->evictions_unlogged++;
    if (!storm || t - s->last_evict_log_ns >= 10000000000ull) {
        if (s->evictions_unlogged > 1)
            LOG_W("evicted by the host again (%u times since the last "
                  "message); subscribing again",
                  s->evictions_unlogged);
        else
            LOG_W("evicted by the host (too slow); subscribing again");
        s->evictions_unlogged = 0;
        s->last_evict_log_ns = t;
    }
    if (storm)
        nap_ms(s, s->retry_ms < 200 ? s->retry_ms : 200);
    if (subscribe(s) != SG_LGMP_OK)
        return false;
    s->have_serial = false;
    sg_session_allow_pos_reqs(s);
    return true;
}

static void *thread_main(void *arg)
{
    struct sg_session *s = arg;
    while (!atomic_load(&s->stop)) {
        if (!attach(s)) {
            nap_ms(s, s->stuck_ms ? s->stuck_ms : s->retry_ms);
            continue;
        }
        for (;;) {
            enum run_end e = run(s);
            unsubscribe(s);
            if (e == RUN_EVICTED && !atomic_load(&s->stop) && resubscribe_after_eviction(s))
                continue;
            if (e == RUN_LOST || e == RUN_EVICTED)
                set_state(s, SG_SESSION_HOST_STOPPED,
                          "host stopped (session ended in %s); waiting for it to come back", s->shm.path);
            else if (e == RUN_ERROR)
                set_state(s, SG_SESSION_INCOMPATIBLE, "garbled queue in %s; starting over", s->shm.path);
            break;
        }
        if (!atomic_load(&s->stop))
            nap_ms(s, s->retry_ms < 200 ? s->retry_ms : 200);
    }
    unsubscribe(s);
    return NULL;
}

struct sg_session *sg_session_create(const struct sg_session_opts *opts)
{
    struct sg_session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    snprintf(s->path, sizeof(s->path), "%s", opts->path ? opts->path : SG_SHM_DEFAULT_PATH);
    s->poll_us = opts->poll_us ? opts->poll_us : 1000;
    s->retry_ms = opts->retry_ms ? opts->retry_ms : 1000;
    s->input_poll_us = opts->input_poll_us;
    s->notify = opts->notify;
    s->ctx = opts->ctx;
    s->copy_size = SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE;
    s->copy_buf = malloc(s->copy_size);
    s->next_id = 1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_mutex_init(&s->wake_lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->wake_cond, &ca);
    pthread_condattr_destroy(&ca);
    snprintf(s->st.message, sizeof(s->st.message), "starting");
    s->st.state = SG_SESSION_WAITING;
    if (!s->copy_buf || pthread_create(&s->thread, NULL, thread_main, s) != 0) {
        free(s->copy_buf);
        pthread_cond_destroy(&s->wake_cond);
        pthread_mutex_destroy(&s->wake_lock);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return NULL;
    }
    s->thread_started = true;
    return s;
}

void sg_session_destroy(struct sg_session *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, true);
    pthread_mutex_lock(&s->wake_lock);
    pthread_cond_signal(&s->wake_cond);
    pthread_mutex_unlock(&s->wake_lock);
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    if (s->mapped)
        unmap(s);
    sg_cursor_image_finish(&s->cur.shape);
    free(s->copy_buf);
    pthread_cond_destroy(&s->wake_cond);
    pthread_mutex_destroy(&s->wake_lock);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void sg_session_get_status(struct sg_session *s, struct sg_session_status *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->st;
    pthread_mutex_unlock(&s->lock);
    out->fast_poll_until_ns = atomic_load(&s->fast_until_ns);
}
