/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "session.h"

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
#include "sg_trace.h"
#include "shm.h"

#define MAX_POS_REQS 16
#define VALIDITY_CHECK_MS 100
#define IDLE_AFTER_NS 500000000ull /* no message for this long: poll IDLE_POLL_FACTOR times slower */
#define IDLE_POLL_FACTOR 4u
#define CURSOR_BURST 32 /* cursor messages handled per pass before looking at frames */
/* How long an attach waits for the heartbeat to move (lgmp.md §10.1, §10.2):
 * a live host ticks every 10 ms, and one that has not ticked for a second is
 * gone by the validity rule (§10.3). */
#define HEARTBEAT_WAIT_MS 1000
#define HEARTBEAT_POLL_US 2000

struct pos_req {
    uint32_t id;
    int32_t x, y;
    uint32_t serial;
    bool sent;
};

/* Rejections are logged in bursts of LOG_BURST per second at most: a guest
 * can post thousands of bad messages a second. The next line logged says how
 * many were left out. */
#define LOG_BURST 5

struct sg_session {
    char path[256];
    unsigned poll_us, retry_ms;
    void (*notify)(void *ctx);
    void *ctx;

    pthread_t thread;
    bool thread_started;
    atomic_bool stop;

    pthread_mutex_t lock;
    /* --- under lock --- */
    struct sg_session_status st;
    bool frame_pending;  /* handed over, not taken yet */
    bool frame_busy;     /* message held until the main thread is done */
    bool frame_released; /* main thread done with it */
    bool frame_in_use;   /* taken and not done yet, whatever its generation: the mapping must stay */
    struct sg_session_frame frame;
    uint32_t generation;
    struct sg_session_cursor cur;
    bool cur_dirty;
    struct pos_req reqs[MAX_POS_REQS];
    unsigned nreqs;
    struct { uint32_t id; enum sg_cursor_pos_result res; } results[MAX_POS_REQS];
    unsigned nresults;
    uint32_t next_id;
    bool can_set_pos;
    /* --- thread only --- */
    struct sg_shm shm;
    bool mapped;
    struct sg_lgmp_client *lc;
    struct sg_lgmp_client_queue *fq, *cq;
    uint8_t *copy_buf;
    size_t copy_size;
    bool had_host;
    uint32_t last_serial;
    bool have_serial;
    uint64_t last_evict_ns, last_evict_log_ns;
    unsigned evictions_unlogged;
    struct sg_log_limit frame_log, cursor_log;
    unsigned stuck_ms; /* back-off after a queue lock stayed held (each try spins 1 s) */
};

const char *sg_session_state_str(enum sg_session_state s)
{
    switch (s) {
    case SG_SESSION_NO_REGION: return "no-region";
    case SG_SESSION_WAITING: return "waiting";
    case SG_SESSION_RUNNING: return "running";
    case SG_SESSION_HOST_STOPPED: return "host-stopped";
    case SG_SESSION_INCOMPATIBLE: return "incompatible";
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

static void notify(struct sg_session *s)
{
    if (s->notify)
        s->notify(s->ctx);
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
        notify(s);
    }
}

static void drop_frame(struct sg_session *s)
{
    pthread_mutex_lock(&s->lock);
    s->frame_pending = false;
    s->frame_busy = false;
    s->frame_released = false;
    s->generation++;
    pthread_mutex_unlock(&s->lock);
}

/* SET_CURSOR_POS is possible while subscribed to a host that offers it. */
static void allow_pos_reqs(struct sg_session *s)
{
    pthread_mutex_lock(&s->lock);
    s->can_set_pos = s->st.have_info && (s->st.info.features & SG_KVMFR_FEATURE_SET_CURSOR_POS) != 0;
    pthread_mutex_unlock(&s->lock);
}

/* Unsubscribed: what is queued cannot be sent, and nothing more is taken until subscribed again. */
static void fail_pos_reqs(struct sg_session *s)
{
    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < s->nreqs && s->nresults < MAX_POS_REQS; i++) {
        s->results[s->nresults].id = s->reqs[i].id & 0x7fffffffu;
        s->results[s->nresults].res = SG_CURSOR_POS_FAILED;
        s->nresults++;
    }
    s->nreqs = 0;
    s->can_set_pos = false;
    pthread_mutex_unlock(&s->lock);
}

/* True if a line may be logged now; *skipped gets how many were not since the last one. */
static bool log_allowed(struct sg_log_limit *l, unsigned *skipped)
{
    return sg_log_limit_allow(l, LOG_BURST, sg_time_ms(), skipped);
}

/* " (N similar rejections not logged)" or "" */
static const char *skipped_note(char *buf, size_t size, unsigned skipped)
{
    if (!skipped)
        return "";
    snprintf(buf, size, " (%u similar rejections not logged)", skipped);
    return buf;
}

static void handle_cursor(struct sg_session *s, const struct sg_lgmp_message *msg)
{
    struct sg_kvmfr_cursor c;
    enum sg_kvmfr_status ks =
        sg_kvmfr_cursor_read(msg->mem, msg->size, msg->app_value, s->copy_buf, s->copy_size, &c);
    unsigned skipped;
    char note[64];
    if (ks != SG_KVMFR_OK) {
        if (log_allowed(&s->cursor_log, &skipped))
            LOG_W("cursor message at offset %u (flags 0x%x) rejected: %s%s",
                    msg->offset, msg->app_value, sg_kvmfr_status_str(ks), skipped_note(note, sizeof(note), skipped));
        pthread_mutex_lock(&s->lock);
        s->st.rejected++;
        pthread_mutex_unlock(&s->lock);
        return;
    }
    struct sg_cursor_image img = { 0 };
    bool shape = false;
    if (c.flags & SG_CURSOR_FLAG_SHAPE) {
        enum sg_cursor_status cs =
            sg_cursor_decode(&img, c.shape_type, c.width, c.data_rows, c.pitch, c.shape, c.shape_size);
        if (cs != SG_CURSOR_OK) {
            if (log_allowed(&s->cursor_log, &skipped))
                LOG_W("cursor shape type %u %ux%u pitch %u rejected: %s%s",
                        c.shape_type, c.width, c.data_rows, c.pitch, sg_cursor_status_str(cs),
                        skipped_note(note, sizeof(note), skipped));
            pthread_mutex_lock(&s->lock);
            s->st.rejected++;
            pthread_mutex_unlock(&s->lock);
        } else
            shape = true;
    }
    pthread_mutex_lock(&s->lock);
    s->st.cursor_updates++;
    s->cur.visible = (c.flags & SG_CURSOR_FLAG_VISIBLE) != 0;
    if (c.flags & SG_CURSOR_FLAG_POSITION) {
        s->cur.x = c.x;
        s->cur.y = c.y;
        s->cur.known = true;
    }
    if (shape) {
        s->cur.hot_x = c.hot_x;
        s->cur.hot_y = c.hot_y;
        sg_cursor_image_finish(&s->cur.shape);
        s->cur.shape = img;
        s->cur.new_shape = true;
    }
    s->cur_dirty = true;
    s->cur.recv_ns = sg_time_ns();
    int hot_x = s->cur.hot_x, hot_y = s->cur.hot_y;
    pthread_mutex_unlock(&s->lock);
    SG_TRACE("cursor-recv %d %d", c.x + hot_x, c.y + hot_y);
    notify(s);
}

/* Frame message: check it, drop duplicates, hand the rest over. True if the
 * message is now held for the main thread. */
static bool handle_frame(struct sg_session *s, const struct sg_lgmp_message *msg)
{
    struct sg_kvmfr_frame f;
    enum sg_kvmfr_status ks = sg_kvmfr_frame_read(msg->mem, msg->size, &f);
    if (ks != SG_KVMFR_OK) {
        unsigned skipped;
        char note[64];
        if (log_allowed(&s->frame_log, &skipped))
            LOG_W("frame message at offset %u size %u rejected: %s%s", msg->offset,
                    msg->size, sg_kvmfr_status_str(ks), skipped_note(note, sizeof(note), skipped));
        pthread_mutex_lock(&s->lock);
        s->st.rejected++;
        pthread_mutex_unlock(&s->lock);
        return false;
    }
    if (s->have_serial && f.hdr.frame_serial == s->last_serial)
        return false; /* a re-post for a new subscriber: we already have it */
    s->have_serial = true;
    s->last_serial = f.hdr.frame_serial;
    pthread_mutex_lock(&s->lock);
    s->frame = (struct sg_session_frame){ .generation = ++s->generation, .payload = msg->mem,
                                          .payload_size = msg->size, .frame = f, .recv_ns = sg_time_ns() };
    s->frame_pending = true;
    s->frame_busy = true;
    s->frame_released = false;
    s->st.frames_received++;
    pthread_mutex_unlock(&s->lock);
    SG_TRACE("frame-recv %u", f.hdr.frame_serial);
    notify(s);
    return true;
}

static void pump_pos_reqs(struct sg_session *s)
{
    pthread_mutex_lock(&s->lock);
    if (!s->nreqs) {
        pthread_mutex_unlock(&s->lock);
        return;
    }
    bool done_any = false;
    /* Sent without the lock: a guest holding the queue's message lock makes a
     * send spin for the lock timeout (1 s), and the main thread must not wait
     * on s->lock meanwhile. Only this thread removes requests. */
    struct pos_req todo[MAX_POS_REQS];
    unsigned ntodo = 0;
    for (unsigned i = 0; i < s->nreqs; i++)
        if (!s->reqs[i].sent && !(s->reqs[i].id & 0x80000000u))
            todo[ntodo++] = s->reqs[i];
    pthread_mutex_unlock(&s->lock);
    for (unsigned k = 0; k < ntodo; k++) {
        uint8_t buf[12];
        uint32_t len = sg_kvmfr_encode_set_cursor_pos(buf, todo[k].x, todo[k].y);
        todo[k].sent = sg_lgmp_client_send(s->cq, buf, len, &todo[k].serial) == SG_LGMP_OK;
    }
    pthread_mutex_lock(&s->lock);
    for (unsigned k = 0; k < ntodo; k++)
        for (unsigned i = 0; i < s->nreqs; i++)
            if (s->reqs[i].id == todo[k].id) {
                if (todo[k].sent) {
                    s->reqs[i].sent = true;
                    s->reqs[i].serial = todo[k].serial;
                } else
                    s->reqs[i].id |= 0x80000000u; /* mark failed, removed below */
            }
    uint32_t done_serial = 0;
    bool have_done = sg_lgmp_client_get_serial(s->cq, &done_serial) == SG_LGMP_OK;
    unsigned keep = 0;
    for (unsigned i = 0; i < s->nreqs; i++) {
        struct pos_req *r = &s->reqs[i];
        bool failed = (r->id & 0x80000000u) != 0;
        bool acked = !failed && r->sent && have_done && (int32_t)(done_serial - r->serial) >= 0;
        if ((failed || acked) && s->nresults < MAX_POS_REQS) {
            s->results[s->nresults].id = r->id & 0x7fffffffu;
            s->results[s->nresults].res = acked ? SG_CURSOR_POS_ACKED : SG_CURSOR_POS_FAILED;
            s->nresults++;
            done_any = true;
        } else
            s->reqs[keep++] = *r;
    }
    s->nreqs = keep;
    pthread_mutex_unlock(&s->lock);
    if (done_any)
        notify(s);
}

enum run_end { RUN_STOP, RUN_LOST, RUN_EVICTED, RUN_ERROR };

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

        struct sg_lgmp_message msg;
        enum sg_lgmp_status ls = SG_LGMP_OK;
        for (int i = 0; i < CURSOR_BURST; i++) {
            ls = sg_lgmp_client_process(s->cq, &msg);
            if (ls != SG_LGMP_OK)
                break;
            handle_cursor(s, &msg);
            ls = sg_lgmp_client_message_done(s->cq);
            if (ls != SG_LGMP_OK)
                break;
            busy = true;
        }
        if (ls != SG_LGMP_OK && ls != SG_LGMP_QUEUE_EMPTY)
            goto queue_error;

        if (holding) {
            pthread_mutex_lock(&s->lock);
            bool released = s->frame_released;
            pthread_mutex_unlock(&s->lock);
            if (released) {
                holding = false;
                drop_frame(s);
                ls = sg_lgmp_client_message_done(s->fq);
                if (ls != SG_LGMP_OK)
                    goto queue_error;
                busy = true;
            }
        }
        if (!holding) {
            ls = sg_lgmp_client_process(s->fq, &msg);
            if (ls == SG_LGMP_OK) {
                busy = true;
                holding = handle_frame(s, &msg);
                if (!holding && (ls = sg_lgmp_client_message_done(s->fq)) != SG_LGMP_OK)
                    goto queue_error;
            } else if (ls != SG_LGMP_QUEUE_EMPTY)
                goto queue_error;
        }

        pump_pos_reqs(s);
        /* A still guest: poll slower after a while (an idle client costs next
         * to nothing); the first message after the pause brings the fast rate
         * back. A moving pointer never lets it get there. */
        uint64_t now = sg_time_ns();
        if (busy)
            last_busy = now;
        else
            sg_sleep_us(now - last_busy > IDLE_AFTER_NS ? s->poll_us * IDLE_POLL_FACTOR : s->poll_us);
        continue;
    queue_error:
        if (ls == SG_LGMP_QUEUE_TIMEOUT)
            return RUN_EVICTED;
        if (ls == SG_LGMP_INVALID_SESSION)
            return RUN_LOST;
        LOG_W("queue error: %s", sg_lgmp_status_str(ls));
        return RUN_ERROR;
    }
}

static void unsubscribe(struct sg_session *s)
{
    drop_frame(s);
    fail_pos_reqs(s);
    if (s->fq)
        sg_lgmp_client_unsubscribe(&s->fq);
    if (s->cq)
        sg_lgmp_client_unsubscribe(&s->cq);
}

static enum sg_lgmp_status subscribe(struct sg_session *s)
{
    uint64_t deadline = sg_time_ns() + (uint64_t)s->retry_ms * 1000000ull;
    enum sg_lgmp_status ls;
    while ((ls = sg_lgmp_client_subscribe(s->lc, SG_KVMFR_CURSOR_QUEUE_ID, &s->cq)) == SG_LGMP_NO_SUCH_QUEUE &&
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

/* The main thread may still be copying a frame of a session that ended:
 * unmapping under it would fault, or worse, let it read whatever gets mapped
 * at the same address next. */
static void wait_frame_returned(struct sg_session *s)
{
    for (;;) {
        pthread_mutex_lock(&s->lock);
        bool in_use = s->frame_in_use;
        pthread_mutex_unlock(&s->lock);
        if (!in_use || atomic_load(&s->stop))
            return;
        sg_sleep_us(1000);
    }
}

/* One attempt to start a session. True when subscribed. */
static bool attach(struct sg_session *s)
{
    pthread_mutex_lock(&s->lock);
    s->st.attach_attempts++;
    pthread_mutex_unlock(&s->lock);
    if (!s->mapped) {
        char err[256];
        struct sg_shm_open_opts o = { .path = s->path };
        if (sg_shm_open(&s->shm, &o, err, sizeof(err)) != 0) {
            set_state(s, SG_SESSION_NO_REGION, "%s; retrying", err);
            return false;
        }
        s->mapped = true;
    }
    if (!s->lc) {
        enum sg_lgmp_status ls = sg_lgmp_client_create(&s->lc, s->shm.base, s->shm.size, NULL);
        if (ls != SG_LGMP_OK) {
            set_state(s, SG_SESSION_INCOMPATIBLE, "%s: region of %zu bytes unusable: %s (an LGMP region needs at least %u)",
                      s->shm.path, s->shm.size, sg_lgmp_status_str(ls), SG_LGMP_GLOBAL_HEADER_SIZE);
            /* a host may still grow the file: map again next time */
            sg_shm_close(&s->shm);
            s->mapped = false;
            return false;
        }
    }
    const uint8_t *ad;
    uint32_t ad_size;
    /* The session start needs the heartbeat to have moved since the client
     * saw it first: right after creating the client it cannot have. Wait for
     * a tick instead of failing and sleeping a whole retry period. */
    uint64_t beat_deadline = sg_time_ns() + HEARTBEAT_WAIT_MS * 1000000ull;
    enum sg_lgmp_status ls;
    while ((ls = sg_lgmp_client_session_init(s->lc, &ad, &ad_size)) == SG_LGMP_INVALID_SESSION &&
           sg_time_ns() < beat_deadline && !atomic_load(&s->stop))
        sg_sleep_us(HEARTBEAT_POLL_US);
    if (ls != SG_LGMP_OK && region_replaced(s)) {
        LOG_I("%s was replaced; mapping it again", s->path);
        wait_frame_returned(s);
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
            set_state(s, SG_SESSION_INCOMPATIBLE, "incompatible host in %s: LGMP version is not %u (%s)", s->shm.path,
                      SG_LGMP_VERSION, sg_lgmp_status_str(ls));
        else
            set_state(s, SG_SESSION_INCOMPATIBLE, "garbled region %s: %s", s->shm.path, sg_lgmp_status_str(ls));
        return false;
    }
    struct sg_kvmfr_info info;
    enum sg_kvmfr_status ks = sg_kvmfr_parse_info(ad, ad_size, &info);
    if (ks == SG_KVMFR_BAD_VERSION) {
        set_state(s, SG_SESSION_INCOMPATIBLE, "incompatible host '%s' in %s: KVMFR version %u, this client speaks %u",
                  info.host_version, s->shm.path, info.version, SG_KVMFR_VERSION);
        return false;
    }
    if (ks != SG_KVMFR_OK) {
        set_state(s, SG_SESSION_INCOMPATIBLE, "not a KVMFR host in %s: %s (app data %u bytes)", s->shm.path,
                  sg_kvmfr_status_str(ks), ad_size);
        return false;
    }
    ls = subscribe(s);
    if (ls != SG_LGMP_OK) {
        /* a guest can hold a lock for good: spinning 1 s per retry would take a core */
        if (ls == SG_LGMP_LOCK_STUCK)
            s->stuck_ms = s->stuck_ms ? (s->stuck_ms < 8000 ? 2 * s->stuck_ms : 16000) : 4000;
        set_state(s, SG_SESSION_INCOMPATIBLE, "cannot subscribe in %s: %s", s->shm.path, sg_lgmp_status_str(ls));
        return false;
    }
    pthread_mutex_lock(&s->lock);
    if (s->had_host)
        s->st.restarts++;
    s->st.info = info;
    s->st.have_info = true;
    s->st.session_id = sg_lgmp_client_session_id(s->lc);
    /* a new session: the cursor state of the old one is meaningless */
    sg_cursor_image_finish(&s->cur.shape);
    s->cur = (struct sg_session_cursor){ 0 };
    s->cur_dirty = true;
    pthread_mutex_unlock(&s->lock);
    allow_pos_reqs(s);
    s->had_host = true;
    s->have_serial = false;
    s->stuck_ms = 0;
    set_state(s, SG_SESSION_RUNNING, "connected to host '%s' (session %u, features 0x%x)", info.host_version,
              sg_lgmp_client_session_id(s->lc), info.features);
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
            if (e == RUN_EVICTED && !atomic_load(&s->stop)) {
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
                                "message); subscribing again", s->evictions_unlogged);
                    else
                        LOG_W("evicted by the host (too slow); subscribing again");
                    s->evictions_unlogged = 0;
                    s->last_evict_log_ns = t;
                }
                if (storm)
                    nap_ms(s, s->retry_ms < 200 ? s->retry_ms : 200);
                if (subscribe(s) == SG_LGMP_OK) {
                    s->have_serial = false;
                    allow_pos_reqs(s);
                    continue;
                }
            }
            if (e == RUN_LOST || e == RUN_EVICTED)
                set_state(s, SG_SESSION_HOST_STOPPED, "host stopped (session ended in %s); waiting for it to come back",
                          s->shm.path);
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
    s->notify = opts->notify;
    s->ctx = opts->ctx;
    s->copy_size = SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE;
    s->copy_buf = malloc(s->copy_size);
    s->next_id = 1;
    pthread_mutex_init(&s->lock, NULL);
    snprintf(s->st.message, sizeof(s->st.message), "starting");
    s->st.state = SG_SESSION_WAITING;
    if (!s->copy_buf || pthread_create(&s->thread, NULL, thread_main, s) != 0) {
        free(s->copy_buf);
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
    if (s->thread_started)
        pthread_join(s->thread, NULL);
    if (s->mapped)
        unmap(s);
    sg_cursor_image_finish(&s->cur.shape);
    free(s->copy_buf);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void sg_session_get_status(struct sg_session *s, struct sg_session_status *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->st;
    pthread_mutex_unlock(&s->lock);
}

bool sg_session_frame_take(struct sg_session *s, struct sg_session_frame *out)
{
    pthread_mutex_lock(&s->lock);
    bool have = s->frame_pending;
    if (have) {
        *out = s->frame;
        s->frame_pending = false;
        s->frame_in_use = true;
    }
    pthread_mutex_unlock(&s->lock);
    return have;
}

void sg_session_frame_done(struct sg_session *s, uint32_t generation)
{
    pthread_mutex_lock(&s->lock);
    s->frame_in_use = false;
    if (s->frame_busy && s->generation == generation)
        s->frame_released = true;
    pthread_mutex_unlock(&s->lock);
}

bool sg_session_cursor_take(struct sg_session *s, struct sg_session_cursor *out)
{
    pthread_mutex_lock(&s->lock);
    bool dirty = s->cur_dirty;
    if (dirty) {
        *out = s->cur;
        if (s->cur.new_shape) {
            /* ownership of the image moves to the caller */
            memset(&s->cur.shape, 0, sizeof(s->cur.shape));
            s->cur.new_shape = false;
        } else
            memset(&out->shape, 0, sizeof(out->shape));
        s->cur_dirty = false;
    }
    pthread_mutex_unlock(&s->lock);
    return dirty;
}

void sg_session_cursor_peek(struct sg_session *s, struct sg_guest_cursor *out)
{
    pthread_mutex_lock(&s->lock);
    out->known = s->cur.known && s->st.state == SG_SESSION_RUNNING;
    out->visible = s->cur.visible;
    out->x = s->cur.x + s->cur.hot_x;
    out->y = s->cur.y + s->cur.hot_y;
    pthread_mutex_unlock(&s->lock);
}

bool sg_session_can_set_cursor_pos(struct sg_session *s)
{
    pthread_mutex_lock(&s->lock);
    bool ok = s->can_set_pos && s->st.state == SG_SESSION_RUNNING;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

uint32_t sg_session_set_cursor_pos(struct sg_session *s, int32_t x, int32_t y)
{
    uint32_t id = 0;
    pthread_mutex_lock(&s->lock);
    if (s->can_set_pos && s->st.state == SG_SESSION_RUNNING && s->nreqs < MAX_POS_REQS) {
        id = s->next_id++ & 0x7fffffffu;
        if (!id)
            id = s->next_id++ & 0x7fffffffu;
        s->reqs[s->nreqs++] = (struct pos_req){ .id = id, .x = x, .y = y };
    }
    pthread_mutex_unlock(&s->lock);
    return id;
}

bool sg_session_cursor_pos_result(struct sg_session *s, uint32_t *id, enum sg_cursor_pos_result *res)
{
    pthread_mutex_lock(&s->lock);
    bool have = s->nresults > 0;
    if (have) {
        *id = s->results[0].id;
        *res = s->results[0].res;
        memmove(&s->results[0], &s->results[1], (s->nresults - 1) * sizeof(s->results[0]));
        s->nresults--;
    }
    pthread_mutex_unlock(&s->lock);
    return have;
}
