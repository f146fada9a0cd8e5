/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * LGMP v6, client side (lgmp.md §10).
 *
 * Everything in the region may be written by a hostile guest at any moment.
 * Each field is read once (atomics or SG_READ_ONCE) into a local, checked,
 * and only the local is used. The queue geometry (slot_count, ring_offset,
 * sub_timeout_ms) is copied and checked once at subscribe time; indexes and
 * payload ranges are checked on every use.
 *
 * Threads: the contract is in lgmp.h. The heartbeat fields below are atomics
 * because any queue's thread updates them; the queue list has its own lock.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lgmp.h"
#include "lgmp_wire.h"
#include "sg_shared.h"

struct sg_lgmp_client_queue {
    struct sg_lgmp_client *client;
    struct sg_lgmp_client_queue *next; /* the client's list of live queues */
    struct sg_lgmp_wire_queue *hdr;
    struct sg_lgmp_wire_msg *ring;
    uint32_t session; /* session_id at subscribe time */
    uint32_t slot;
    uint32_t bit;
    uint32_t pos;
    uint32_t slot_count;
    uint32_t sub_timeout_ms;
};

struct sg_lgmp_client {
    uint8_t *base;
    size_t size;
    struct sg_clock clock;
    struct sg_lgmp_wire_header *hdr;
    bool have_session;
    uint32_t tag;
    uint32_t session;
    _Atomic uint64_t seen_clock; /* any queue's thread updates them: see session_valid */
    _Atomic uint64_t last_beat;
    uint8_t *app_data;
    uint32_t app_data_size;
    pthread_mutex_t list_lock; /* guards queues */
    struct sg_lgmp_client_queue *queues;
};

static uint64_t client_now(const struct sg_lgmp_client *c)
{
    return c->clock.now_ms(c->clock.ctx);
}

enum sg_lgmp_status sg_lgmp_client_create(struct sg_lgmp_client **out, void *base, size_t size,
                                          const struct sg_clock *clock)
{
    if (!out || !base)
        return SG_LGMP_INVALID_ARGUMENT;
    *out = NULL;
    if (size < SG_LGMP_GLOBAL_HEADER_SIZE)
        return SG_LGMP_INVALID_SIZE;
    if ((uintptr_t)base % 8)
        return SG_LGMP_INVALID_ALIGNMENT;
    struct sg_clock clk = clock ? *clock : sg_clock_monotonic;
    if (clk.now_ms(clk.ctx) == 0)
        return SG_LGMP_CLOCK_FAILURE;
    struct sg_lgmp_client *c = calloc(1, sizeof(*c));
    if (!c)
        return SG_LGMP_NO_MEM;
    c->base = base;
    c->size = size;
    c->clock = clk;
    c->hdr = base;
    pthread_mutex_init(&c->list_lock, NULL);
    c->seen_clock = sg_lgmp_aload64(&c->hdr->host_clock_ms);
    *out = c;
    return SG_LGMP_OK;
}

static void unlink_queue(struct sg_lgmp_client_queue *q)
{
    struct sg_lgmp_client *c = q->client;
    pthread_mutex_lock(&c->list_lock);
    for (struct sg_lgmp_client_queue **p = &c->queues; *p; p = &(*p)->next)
        if (*p == q) {
            *p = q->next;
            break;
        }
    pthread_mutex_unlock(&c->list_lock);
}

void sg_lgmp_client_destroy(struct sg_lgmp_client *c)
{
    if (!c)
        return;
    while (c->queues) {
        struct sg_lgmp_client_queue *q = c->queues;
        sg_lgmp_client_unsubscribe(&q); /* unlinks it */
    }
    pthread_mutex_destroy(&c->list_lock);
    free(c->app_data);
    free(c);
}

enum sg_lgmp_status sg_lgmp_client_session_init(struct sg_lgmp_client *c, const uint8_t **app_data,
                                                uint32_t *app_data_size)
{
    if (!c)
        return SG_LGMP_INVALID_ARGUMENT;
    struct sg_lgmp_wire_header *hdr = c->hdr;
    if (SG_READ_ONCE(hdr->magic) != SG_LGMP_MAGIC)
        return SG_LGMP_INVALID_MAGIC;
    if (SG_READ_ONCE(hdr->version) != SG_LGMP_VERSION)
        return SG_LGMP_INVALID_VERSION;
    uint64_t beat = sg_lgmp_aload64(&hdr->host_clock_ms);
    if (beat == atomic_load_explicit(&c->seen_clock, memory_order_relaxed))
        return SG_LGMP_INVALID_SESSION; /* host not ticking (§10.2 step 3) */

    uint32_t session = SG_READ_ONCE(hdr->session_id);
    uint32_t qcount = __atomic_load_n(&hdr->queue_count, __ATOMIC_ACQUIRE);
    if (qcount > SG_LGMP_MAX_QUEUES)
        return SG_LGMP_BAD_QUEUE_COUNT;
    uint32_t u = SG_READ_ONCE(hdr->app_data_size);
    if (!sg_range_ok(SG_LGMP_APP_DATA_OFFSET, u, c->size) || u > SG_LGMP_MAX_APP_DATA)
        return SG_LGMP_BAD_APP_DATA_SIZE;
    uint8_t *copy = malloc(u ? u : 1);
    if (!copy)
        return SG_LGMP_NO_MEM;
    sg_copy_from_shared(copy, c->base + SG_LGMP_APP_DATA_OFFSET, u);

    free(c->app_data);
    c->app_data = copy;
    c->app_data_size = u;
    c->tag = sg_lgmp_random31();
    c->session = session;
    atomic_store_explicit(&c->last_beat, client_now(c), memory_order_relaxed);
    atomic_store_explicit(&c->seen_clock, beat,
                          memory_order_release); /* after last_beat: see session_valid */
    c->have_session = true;
    /* Queues of an earlier session stay allocated (the caller owns them) but
     * their `session` no longer matches, so they only report INVALID_SESSION
     * and unsubscribe skips the shared part. */
    if (app_data)
        *app_data = c->app_data;
    if (app_data_size)
        *app_data_size = u;
    return SG_LGMP_OK;
}

bool sg_lgmp_client_session_valid(struct sg_lgmp_client *c)
{
    if (!c || !c->have_session)
        return false;
    if (SG_READ_ONCE(c->hdr->session_id) != c->session)
        return false;
    /* Threads of one client (one per queue) share seen_clock/last_beat. The
     * time is stored before the clock value it belongs to (release), and read
     * after it (acquire): a thread that finds the clock already seen never
     * pairs it with the time of an older beat. "now" is read after last_beat,
     * as another thread may have stored a later time than a now read earlier. */
    uint64_t beat = sg_lgmp_aload64(&c->hdr->host_clock_ms);
    if (beat != atomic_load_explicit(&c->seen_clock, memory_order_acquire)) {
        atomic_store_explicit(&c->last_beat, client_now(c), memory_order_relaxed);
        atomic_store_explicit(&c->seen_clock, beat, memory_order_release);
        return true;
    }
    uint64_t last = atomic_load_explicit(&c->last_beat, memory_order_relaxed);
    uint64_t now = client_now(c);
    return !(now > last && now - last > SG_LGMP_HEARTBEAT_TIMEOUT_MS);
}

uint32_t sg_lgmp_client_session_id(const struct sg_lgmp_client *c)
{
    return c->session;
}

uint32_t sg_lgmp_client_queue_slot(const struct sg_lgmp_client_queue *q)
{
    return q->slot;
}

/* The queue geometry a subscription relies on, checked against the mapping. */
static enum sg_lgmp_status check_geometry(const struct sg_lgmp_client *c, uint32_t slot_count,
                                          uint32_t ring_offset)
{
    if (slot_count < 2 || slot_count > c->size / SG_LGMP_MESSAGE_SLOT_SIZE)
        return SG_LGMP_BAD_SLOT_COUNT;
    if (ring_offset % 4 || ring_offset < SG_LGMP_GLOBAL_HEADER_SIZE ||
        !sg_range_ok(ring_offset, (uint64_t)slot_count * SG_LGMP_MESSAGE_SLOT_SIZE, c->size))
        return SG_LGMP_BAD_RING;
    return SG_LGMP_OK;
}

enum sg_lgmp_status sg_lgmp_client_subscribe(struct sg_lgmp_client *c, uint32_t queue_id,
                                             struct sg_lgmp_client_queue **out)
{
    if (!c || !out)
        return SG_LGMP_INVALID_ARGUMENT;
    *out = NULL;
    if (!c->have_session || SG_READ_ONCE(c->hdr->session_id) != c->session)
        return SG_LGMP_INVALID_SESSION;
    uint32_t qcount = __atomic_load_n(&c->hdr->queue_count, __ATOMIC_ACQUIRE);
    if (qcount > SG_LGMP_MAX_QUEUES)
        return SG_LGMP_BAD_QUEUE_COUNT;
    struct sg_lgmp_wire_queue *qh = NULL;
    for (uint32_t k = 0; k < qcount && !qh; ++k)
        if (SG_READ_ONCE(c->hdr->queues[k].queue_id) == queue_id)
            qh = &c->hdr->queues[k];
    if (!qh)
        return SG_LGMP_NO_SUCH_QUEUE;

    uint32_t slot_count = SG_READ_ONCE(qh->slot_count);
    uint32_t ring_offset = SG_READ_ONCE(qh->ring_offset);
    uint32_t timeout = SG_READ_ONCE(qh->sub_timeout_ms);
    enum sg_lgmp_status st = check_geometry(c, slot_count, ring_offset);
    if (st != SG_LGMP_OK)
        return st;

    struct sg_lgmp_client_queue *q = calloc(1, sizeof(*q));
    if (!q)
        return SG_LGMP_NO_MEM;

    if (!sg_lgmp_lock(&qh->queue_lock, &c->clock)) {
        free(q);
        return SG_LGMP_LOCK_STUCK;
    }
    uint32_t pos = sg_lgmp_aload32(&qh->write_index);
    if (pos >= slot_count) {
        sg_lgmp_unlock(&qh->queue_lock);
        free(q);
        return SG_LGMP_BAD_INDEX;
    }
    uint64_t subs = sg_lgmp_aload64(&qh->subs);
    uint32_t active = SG_LGMP_ACTIVE(subs), bad = SG_LGMP_BAD(subs);
    if (active) { /* §10.4 step 3: reap expired bad slots */
        uint64_t beat = sg_lgmp_aload64(&c->hdr->host_clock_ms);
        for (uint32_t i = 0; i < SG_LGMP_MAX_SUBSCRIBERS; ++i) {
            uint32_t b = 1u << i;
            if ((bad & b) && beat > SG_READ_ONCE(qh->bad_until[i])) {
                active &= ~b;
                bad &= ~b;
                SG_WRITE_ONCE(qh->bad_until[i], 0);
                __atomic_store_n(&qh->client_tag[i], 0, __ATOMIC_RELAXED);
            }
        }
    }
    uint32_t used = active | bad;
    if (used == UINT32_MAX) {
        /* Nothing was reaped (that would have freed a slot): subs unchanged. */
        sg_lgmp_unlock(&qh->queue_lock);
        free(q);
        return SG_LGMP_QUEUE_FULL;
    }
    uint32_t slot = (uint32_t)__builtin_ctz(~used);
    SG_WRITE_ONCE(qh->bad_until[slot], 0);
    __atomic_store_n(&qh->client_tag[slot], c->tag, __ATOMIC_RELAXED);
    active |= 1u << slot;
    sg_lgmp_astore64(&qh->subs, ((uint64_t)active << 32) | bad);
    sg_lgmp_afetch_add32(&qh->new_sub_count, 1);
    sg_lgmp_unlock(&qh->queue_lock);

    q->client = c;
    q->hdr = qh;
    q->ring = (struct sg_lgmp_wire_msg *)(c->base + ring_offset);
    q->session = c->session;
    q->slot = slot;
    q->bit = 1u << slot;
    q->pos = pos;
    q->slot_count = slot_count;
    q->sub_timeout_ms = timeout;
    pthread_mutex_lock(&c->list_lock);
    q->next = c->queues;
    c->queues = q;
    pthread_mutex_unlock(&c->list_lock);
    *out = q;
    return SG_LGMP_OK;
}

/* The queue belongs to the session the client and the region are in now. */
static bool queue_current(const struct sg_lgmp_client_queue *q)
{
    const struct sg_lgmp_client *c = q->client;
    return c->have_session && q->session == c->session && SG_READ_ONCE(c->hdr->session_id) == q->session;
}

enum sg_lgmp_status sg_lgmp_client_unsubscribe(struct sg_lgmp_client_queue **qp)
{
    if (!qp || !*qp)
        return SG_LGMP_INVALID_ARGUMENT;
    struct sg_lgmp_client_queue *q = *qp;
    *qp = NULL;
    enum sg_lgmp_status st = SG_LGMP_OK;
    struct sg_lgmp_wire_queue *qh = q->hdr;
    if (!queue_current(q)) {
        /* §11: the slot number may belong to someone else in the new session. */
        st = SG_LGMP_INVALID_SESSION;
    } else if (!sg_lgmp_lock(&qh->queue_lock, &q->client->clock)) {
        st = SG_LGMP_LOCK_STUCK;
    } else {
        uint64_t subs = sg_lgmp_aload64(&qh->subs);
        if (SG_LGMP_BAD(subs) & q->bit) {
            st = SG_LGMP_QUEUE_TIMEOUT; /* stays reserved until reaped */
        } else {
            subs &= ~(((uint64_t)q->bit << 32) | q->bit);
            sg_lgmp_astore64(&qh->subs, subs);
            SG_WRITE_ONCE(qh->bad_until[q->slot], 0);
            __atomic_store_n(&qh->client_tag[q->slot], 0, __ATOMIC_RELAXED);
        }
        sg_lgmp_unlock(&qh->queue_lock);
    }
    unlink_queue(q);
    free(q);
    return st;
}

/* §10.6 steps 1-3, shared by process, done and advance. *wi gets write_index. */
static enum sg_lgmp_status check_readable(struct sg_lgmp_client_queue *q, uint32_t *wi)
{
    if (!queue_current(q))
        return SG_LGMP_INVALID_SESSION;
    uint64_t subs = sg_lgmp_aload64(&q->hdr->subs);
    if (SG_LGMP_BAD(subs) & q->bit)
        return SG_LGMP_QUEUE_TIMEOUT;
    if (!(SG_LGMP_ACTIVE(subs) & q->bit))
        return sg_lgmp_client_session_valid(q->client) ? SG_LGMP_QUEUE_UNSUBSCRIBED : SG_LGMP_INVALID_SESSION;
    uint32_t w = sg_lgmp_aload32(&q->hdr->write_index);
    if (w >= q->slot_count)
        return SG_LGMP_BAD_INDEX;
    if (w == q->pos)
        return SG_LGMP_QUEUE_EMPTY;
    *wi = w;
    return SG_LGMP_OK;
}

enum sg_lgmp_status sg_lgmp_client_process(struct sg_lgmp_client_queue *q, struct sg_lgmp_message *msg)
{
    if (!q || !msg)
        return SG_LGMP_INVALID_ARGUMENT;
    uint32_t wi;
    enum sg_lgmp_status st = check_readable(q, &wi);
    if (st != SG_LGMP_OK)
        return st;
    const struct sg_lgmp_wire_msg *m = &q->ring[q->pos];
    uint32_t app_value = SG_READ_ONCE(m->app_value);
    uint32_t size = SG_READ_ONCE(m->payload_size);
    uint32_t offset = SG_READ_ONCE(m->payload_offset);
    if (!sg_range_ok(offset, size, q->client->size))
        return SG_LGMP_BAD_PAYLOAD;
    msg->app_value = app_value;
    msg->size = size;
    msg->offset = offset;
    msg->mem = q->client->base + offset;
    return SG_LGMP_OK;
}

/* §10.7 step 3 / §10.8: under queue_lock, dequeue `cur` if it is the oldest.
 * Returns false (lock released) when read_index is elsewhere. */
static enum sg_lgmp_status dequeue_locked(struct sg_lgmp_client_queue *q, uint32_t cur, bool *released)
{
    struct sg_lgmp_wire_queue *qh = q->hdr;
    *released = false;
    if (sg_lgmp_aload32(&qh->read_index) != cur) {
        sg_lgmp_unlock(&qh->queue_lock);
        *released = true;
        return SG_LGMP_OK;
    }
    sg_lgmp_astore32(&qh->read_index, (cur + 1) % q->slot_count);
    if (sg_lgmp_afetch_sub32(&qh->outstanding, 1) == 0) {
        sg_lgmp_astore32(&qh->outstanding, 0);
        sg_lgmp_unlock(&qh->queue_lock);
        *released = true;
        return SG_LGMP_CORRUPTED;
    }
    return SG_LGMP_OK;
}

static void refresh_deadline_and_unlock(struct sg_lgmp_client_queue *q)
{
    uint64_t beat = sg_lgmp_aload64(&q->client->hdr->host_clock_ms);
    sg_lgmp_astore64(&q->hdr->oldest_deadline, beat + q->sub_timeout_ms);
    sg_lgmp_unlock(&q->hdr->queue_lock);
}

enum sg_lgmp_status sg_lgmp_client_message_done(struct sg_lgmp_client_queue *q)
{
    if (!q)
        return SG_LGMP_INVALID_ARGUMENT;
    uint32_t wi;
    enum sg_lgmp_status st = check_readable(q, &wi);
    if (st != SG_LGMP_OK)
        return st;
    struct sg_lgmp_wire_queue *qh = q->hdr;
    uint32_t before = sg_lgmp_afetch_and32(&q->ring[q->pos].pending, ~q->bit);
    if ((before & ~q->bit) == 0 && sg_lgmp_trylock(&qh->queue_lock)) {
        bool released;
        st = dequeue_locked(q, q->pos, &released);
        if (st != SG_LGMP_OK)
            return st;
        if (!released)
            refresh_deadline_and_unlock(q);
    }
    q->pos = (q->pos + 1) % q->slot_count;
    return SG_LGMP_OK;
}

enum sg_lgmp_status sg_lgmp_client_advance_to_last(struct sg_lgmp_client_queue *q)
{
    if (!q)
        return SG_LGMP_INVALID_ARGUMENT;
    if (!queue_current(q))
        return SG_LGMP_INVALID_SESSION;
    struct sg_lgmp_wire_queue *qh = q->hdr;
    uint64_t subs = sg_lgmp_aload64(&qh->subs);
    if ((SG_LGMP_BAD(subs) & q->bit) ||
        __atomic_load_n(&qh->client_tag[q->slot], __ATOMIC_RELAXED) != q->client->tag)
        return SG_LGMP_QUEUE_TIMEOUT;
    if (!(SG_LGMP_ACTIVE(subs) & q->bit))
        return sg_lgmp_client_session_valid(q->client) ? SG_LGMP_QUEUE_UNSUBSCRIBED : SG_LGMP_INVALID_SESSION;
    uint32_t end = sg_lgmp_aload32(&qh->write_index);
    if (end >= q->slot_count)
        return SG_LGMP_BAD_INDEX;
    if (end == q->pos)
        return SG_LGMP_QUEUE_EMPTY;

    bool locked = false, cleanup = true;
    uint32_t cur = q->pos;
    /* Bounded: cur visits each slot at most once before reaching end. */
    for (uint32_t n = 0; n < q->slot_count; ++n) {
        uint32_t nxt = (cur + 1) % q->slot_count;
        if (nxt == end)
            break;
        uint32_t before = sg_lgmp_afetch_and32(&q->ring[cur].pending, ~q->bit);
        if ((before & ~q->bit) == 0 && cleanup) {
            if (!locked) {
                locked = sg_lgmp_trylock(&qh->queue_lock);
                cleanup = locked;
            }
            if (locked) {
                bool released;
                enum sg_lgmp_status st = dequeue_locked(q, cur, &released);
                if (st != SG_LGMP_OK)
                    return st;
                if (released) {
                    locked = false;
                    cleanup = false;
                }
            }
        }
        cur = nxt;
    }
    if (locked)
        refresh_deadline_and_unlock(q);
    q->pos = cur;
    return SG_LGMP_OK;
}

enum sg_lgmp_status sg_lgmp_client_send(struct sg_lgmp_client_queue *q, const void *data, uint32_t size,
                                        uint32_t *serial)
{
    if (!q || (size && !data))
        return SG_LGMP_INVALID_ARGUMENT;
    if (size > SG_LGMP_CMSG_PAYLOAD)
        return SG_LGMP_INVALID_SIZE;
    if (!queue_current(q))
        return SG_LGMP_INVALID_SESSION;
    struct sg_lgmp_wire_queue *qh = q->hdr;
    if (SG_LGMP_BAD(sg_lgmp_aload64(&qh->subs)) & q->bit)
        return SG_LGMP_QUEUE_TIMEOUT;
    if (sg_lgmp_aload32(&qh->cmsg_free) == 0)
        return SG_LGMP_QUEUE_FULL;
    if (!sg_lgmp_lock(&qh->cmsg_lock, &q->client->clock))
        return SG_LGMP_LOCK_STUCK;
    if (sg_lgmp_aload32(&qh->cmsg_free) == 0) {
        sg_lgmp_unlock(&qh->cmsg_lock);
        return SG_LGMP_QUEUE_FULL;
    }
    uint32_t w = sg_lgmp_aload32(&qh->cmsg_write_index);
    if (w >= SG_LGMP_CMSG_COUNT) {
        sg_lgmp_unlock(&qh->cmsg_lock);
        return SG_LGMP_BAD_INDEX;
    }
    struct sg_lgmp_wire_cmsg *slot = &qh->cmsg[w];
    SG_WRITE_ONCE(slot->length, size);
    if (size)
        memcpy(slot->bytes, data, size);
    sg_lgmp_astore32(&qh->cmsg_write_index, (w + 1) % SG_LGMP_CMSG_COUNT);
    sg_lgmp_afetch_sub32(&qh->cmsg_free, 1);
    uint32_t s = sg_lgmp_afetch_add32(&qh->cmsg_sent_serial, 1) + 1;
    sg_lgmp_unlock(&qh->cmsg_lock);
    if (serial)
        *serial = s;
    return SG_LGMP_OK;
}

enum sg_lgmp_status sg_lgmp_client_get_serial(struct sg_lgmp_client_queue *q, uint32_t *done_serial)
{
    if (!q || !done_serial)
        return SG_LGMP_INVALID_ARGUMENT;
    if (!queue_current(q))
        return SG_LGMP_INVALID_SESSION;
    if (SG_LGMP_BAD(sg_lgmp_aload64(&q->hdr->subs)) & q->bit)
        return SG_LGMP_QUEUE_TIMEOUT;
    *done_serial = sg_lgmp_aload32(&q->hdr->cmsg_done_serial);
    return SG_LGMP_OK;
}
