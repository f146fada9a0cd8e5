/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * LGMP v6, host side (lgmp.md §9).
 *
 * The host owns the layout, so it never re-reads what it wrote itself
 * (slot_count, ring_offset, sub_timeout_ms, its write index): it keeps
 * private copies. Fields clients write (read_index, outstanding, subs,
 * oldest_deadline, pending, cmsg_free, cmsg contents) are read once, checked
 * and repaired when they are impossible, so a hostile client can at worst
 * disturb its own queue, never crash the host or make it loop.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "lgmp.h"
#include "lgmp_wire.h"
#include "sg_shared.h"

/* The host's side of one of a queue's spin locks. */
struct host_lock {
    /* The host's own threads (frame post, tick) take this first: the spin
     * lock alone cannot keep them apart, since a client may clear it at any
     * time and the host may take it over. */
    pthread_mutex_t mutex;
    /* host clock when an attempt first failed since the lock was last taken
     * the normal way; 0 = not stuck. Under the mutex. */
    uint64_t stuck_since;
    /* taken over once in this session: the next stuck spell is cut shorter */
    bool taken_over;
};

struct sg_lgmp_host_queue {
    struct sg_lgmp_host *host;
    struct sg_lgmp_wire_queue *hdr;
    struct sg_lgmp_wire_msg *ring;
    uint32_t queue_id;
    uint32_t slot_count;
    uint32_t sub_timeout_ms;
    uint32_t h_write;
    uint32_t h_cmsg_read;
    struct host_lock queue_lock, cmsg_lock;
    /* host clock at which the message in each ring slot was posted */
    uint64_t *posted_at;
};

struct sg_lgmp_host {
    uint8_t *base;
    size_t size;
    struct sg_clock clock;
    struct sg_lgmp_wire_header *hdr;
    uint64_t next;  /* allocator position */
    uint64_t avail; /* bytes left, never past the 4 GiB that u32 offsets reach */
    uint32_t session_id;
    uint32_t queue_count;
    uint8_t *app_data; /* our copy, to notice a client overwriting it */
    uint32_t app_data_size;
    /* updated from the frame thread and the tick at once */
    atomic_uint faults;
    atomic_uint last_fault; /* enum sg_lgmp_status */
    atomic_uint lock_takeovers;
    uint32_t lock_spin_ms; /* 0: no bound of its own, only the takeover */
    struct sg_lgmp_host_queue queues[SG_LGMP_MAX_QUEUES];
};

static void fault(struct sg_lgmp_host *h, enum sg_lgmp_status kind)
{
    atomic_fetch_add_explicit(&h->faults, 1, memory_order_relaxed);
    atomic_store_explicit(&h->last_fault, (unsigned)kind, memory_order_relaxed);
}

static uint64_t host_now(const struct sg_lgmp_host *h)
{
    return h->clock.now_ms(h->clock.ctx);
}

/*
 * The host's side of a spin lock a client also takes. A lock found held on
 * every attempt for more than SG_LGMP_HOST_LOCK_TAKEOVER_MS belongs to a dead
 * or hostile client (an honest one holds it for well under a microsecond):
 * the host then takes it over, works under it and releases it, so the queue
 * goes on for everyone else. It keeps doing so until it gets the lock the
 * normal way again; once a lock was taken over, a later stuck spell is cut
 * after SG_LGMP_HOST_LOCK_RETAKE_MS (the same client holding it again, or
 * leaving it held when it exits). With a spin bound set
 * (sg_lgmp_host_set_lock_spin), one call spins at most that long and gives
 * up (LOCK_STUCK: try again later), the stuck spell going on across calls.
 */
static bool host_lock(struct sg_lgmp_host *h, uint32_t *lock, struct host_lock *hl)
{
    pthread_mutex_lock(&hl->mutex);
    uint64_t start = 0;
    for (;;) {
        for (uint32_t i = 0; i < SG_LGMP_LOCK_CHECK_SPINS; ++i)
            if (sg_lgmp_trylock(lock)) {
                hl->stuck_since = 0;
                return true;
            }
        uint64_t now = host_now(h);
        now = now ? now : 1;
        if (hl->stuck_since == 0)
            hl->stuck_since = now;
        uint64_t limit = hl->taken_over ? SG_LGMP_HOST_LOCK_RETAKE_MS : SG_LGMP_HOST_LOCK_TAKEOVER_MS;
        if (now - hl->stuck_since > limit) {
            sg_lgmp_astore32(lock, 1);
            hl->taken_over = true;
            atomic_fetch_add_explicit(&h->lock_takeovers, 1, memory_order_relaxed);
            fault(h, SG_LGMP_LOCK_STUCK);
            return true;
        }
        if (start == 0)
            start = now;
        else if (h->lock_spin_ms && now - start >= h->lock_spin_ms)
            break;
    }
    fault(h, SG_LGMP_LOCK_STUCK);
    pthread_mutex_unlock(&hl->mutex);
    return false;
}

void sg_lgmp_host_set_lock_spin(struct sg_lgmp_host *host, uint32_t max_ms)
{
    host->lock_spin_ms = max_ms;
}

static void host_unlock(uint32_t *lock, struct host_lock *hl)
{
    sg_lgmp_unlock(lock);
    pthread_mutex_unlock(&hl->mutex);
}

enum sg_lgmp_status sg_lgmp_host_create(struct sg_lgmp_host **out, void *base, size_t size,
                                        const void *app_data, uint32_t app_data_size,
                                        const struct sg_clock *clock)
{
    if (!out || !base || (app_data_size && !app_data))
        return SG_LGMP_INVALID_ARGUMENT;
    *out = NULL;
    if ((uintptr_t)base % 8)
        return SG_LGMP_INVALID_ALIGNMENT; /* 64-bit atomics need it (§7) */

    struct sg_clock clk = clock ? *clock : sg_clock_monotonic;
    uint64_t now = clk.now_ms(clk.ctx);
    if (now == 0)
        return SG_LGMP_CLOCK_FAILURE;
    if (size < (uint64_t)SG_LGMP_GLOBAL_HEADER_SIZE + app_data_size)
        return SG_LGMP_INVALID_SIZE;

    struct sg_lgmp_host *h = calloc(1, sizeof(*h));
    if (!h)
        return SG_LGMP_NO_MEM;
    if (app_data_size) {
        h->app_data = malloc(app_data_size);
        if (!h->app_data) {
            free(h);
            return SG_LGMP_NO_MEM;
        }
        memcpy(h->app_data, app_data, app_data_size);
    }
    h->app_data_size = app_data_size;
    h->base = base;
    h->size = size;
    h->clock = clk;
    h->hdr = base;

    /* §2: A0 = roundup4(5760 + U); the 4 pad bytes of the header count. */
    h->next = ((uint64_t)SG_LGMP_GLOBAL_HEADER_SIZE + app_data_size + 3) & ~(uint64_t)3;
    uint64_t usable = size > UINT32_MAX ? (uint64_t)UINT32_MAX + 1 : size;
    h->avail = usable > h->next ? usable - h->next : 0;

    /* §9.1 step 4: the new id must differ from whatever the region held. */
    uint32_t old = SG_READ_ONCE(h->hdr->session_id);
    uint32_t id = sg_lgmp_random31();
    for (int tries = 0; id == old && tries < 64; ++tries)
        id = sg_lgmp_random31();
    if (id == old)
        id = (old + 1) & 0x7fffffffu;
    h->session_id = id;
    SG_WRITE_ONCE(h->hdr->session_id, id);

    /* §9.1 step 5, but the heartbeat last (the reference writes it second):
     * a client takes the heartbeat moving as the sign of a new session and
     * reads the app data next; written first, a client could find the magic
     * and the new heartbeat with the app data size not written yet (seen as
     * APPDATA_TOO_SMALL by host-e2e under TSan). The seq-cst store orders
     * the writes before it for a client whose seq-cst load sees it. */
    SG_WRITE_ONCE(h->hdr->magic, SG_LGMP_MAGIC);
    SG_WRITE_ONCE(h->hdr->version, SG_LGMP_VERSION);
    __atomic_store_n(&h->hdr->queue_count, 0, __ATOMIC_RELEASE);
    SG_WRITE_ONCE(h->hdr->app_data_size, app_data_size);
    if (app_data_size)
        memcpy(h->base + SG_LGMP_APP_DATA_OFFSET, app_data, app_data_size);
    sg_lgmp_astore64(&h->hdr->host_clock_ms, now);

    *out = h;
    return SG_LGMP_OK;
}

void sg_lgmp_host_destroy(struct sg_lgmp_host *host)
{
    if (!host)
        return;
    for (uint32_t i = 0; i < host->queue_count; ++i) {
        pthread_mutex_destroy(&host->queues[i].queue_lock.mutex);
        pthread_mutex_destroy(&host->queues[i].cmsg_lock.mutex);
        free(host->queues[i].posted_at);
    }
    free(host->app_data);
    free(host);
}

uint32_t sg_lgmp_host_session_id(const struct sg_lgmp_host *host)
{
    return host->session_id;
}
uint64_t sg_lgmp_host_mem_avail(const struct sg_lgmp_host *host)
{
    return host->avail;
}

uint32_t sg_lgmp_host_faults(const struct sg_lgmp_host *host, enum sg_lgmp_status *last)
{
    if (last)
        *last = (enum sg_lgmp_status)atomic_load_explicit(&host->last_fault, memory_order_relaxed);
    return atomic_load_explicit(&host->faults, memory_order_relaxed);
}

uint32_t sg_lgmp_host_lock_takeovers(const struct sg_lgmp_host *host)
{
    return atomic_load_explicit(&host->lock_takeovers, memory_order_relaxed);
}

enum sg_lgmp_status sg_lgmp_host_queue_create(struct sg_lgmp_host *host, uint32_t queue_id,
                                              uint32_t num_messages, uint32_t sub_timeout_ms,
                                              struct sg_lgmp_host_queue **out)
{
    if (!host || !out)
        return SG_LGMP_INVALID_ARGUMENT;
    *out = NULL;
    if (host->queue_count >= SG_LGMP_MAX_QUEUES)
        return SG_LGMP_NO_QUEUES;
    /* Ours: a 1-slot ring could never hold a message (the +1 end marker). */
    if (num_messages == 0 || num_messages >= UINT32_MAX / SG_LGMP_MESSAGE_SLOT_SIZE)
        return SG_LGMP_INVALID_ARGUMENT;
    uint32_t slot_count = num_messages + 1;
    uint64_t ring_bytes = (uint64_t)SG_LGMP_MESSAGE_SLOT_SIZE * slot_count;
    if (host->avail < ring_bytes)
        return SG_LGMP_NO_SHARED_MEM;

    uint32_t index = host->queue_count;
    struct sg_lgmp_host_queue *q = &host->queues[index];
    q->posted_at = calloc(slot_count, sizeof(*q->posted_at));
    if (!q->posted_at)
        return SG_LGMP_NO_MEM;
    struct sg_lgmp_wire_queue *qh = &host->hdr->queues[index];
    uint32_t ring_offset = (uint32_t)host->next;

    /* §9.2 step 3; bad_until, client_tag, cmsg and the ring stay as they were. */
    SG_WRITE_ONCE(qh->queue_id, queue_id);
    SG_WRITE_ONCE(qh->slot_count, slot_count);
    sg_lgmp_astore32(&qh->new_sub_count, 0);
    sg_lgmp_astore32(&qh->queue_lock, 0);
    sg_lgmp_astore64(&qh->subs, 0);
    sg_lgmp_astore32(&qh->write_index, 0);
    SG_WRITE_ONCE(qh->ring_offset, ring_offset);
    sg_lgmp_astore32(&qh->read_index, 0);
    sg_lgmp_astore64(&qh->oldest_deadline, 0);
    SG_WRITE_ONCE(qh->sub_timeout_ms, sub_timeout_ms);
    sg_lgmp_astore32(&qh->outstanding, 0);
    sg_lgmp_astore32(&qh->cmsg_lock, 0);
    sg_lgmp_astore32(&qh->cmsg_free, SG_LGMP_CMSG_COUNT);
    sg_lgmp_astore32(&qh->cmsg_write_index, 0);
    sg_lgmp_astore32(&qh->cmsg_sent_serial, 0);
    sg_lgmp_astore32(&qh->cmsg_done_serial, 0);

    q->host = host;
    q->hdr = qh;
    q->ring = (struct sg_lgmp_wire_msg *)(host->base + ring_offset);
    q->queue_id = queue_id;
    q->slot_count = slot_count;
    q->sub_timeout_ms = sub_timeout_ms;
    q->h_write = 0;
    q->h_cmsg_read = 0;
    pthread_mutex_init(&q->queue_lock.mutex, NULL);
    pthread_mutex_init(&q->cmsg_lock.mutex, NULL);
    q->queue_lock.stuck_since = q->cmsg_lock.stuck_since = 0;
    q->queue_lock.taken_over = q->cmsg_lock.taken_over = false;

    uint64_t step = (ring_bytes + 3) & ~(uint64_t)3;
    host->next += step;
    host->avail -= step;
    host->queue_count = index + 1;
    __atomic_store_n(&host->hdr->queue_count, index + 1, __ATOMIC_RELEASE);
    *out = q;
    return SG_LGMP_OK;
}

enum sg_lgmp_status sg_lgmp_host_alloc_aligned(struct sg_lgmp_host *host, uint32_t alignment, uint32_t size,
                                               struct sg_lgmp_mem *out)
{
    if (!host || !out)
        return SG_LGMP_INVALID_ARGUMENT;
    if (alignment & (alignment - 1))
        return SG_LGMP_INVALID_ALIGNMENT;
    uint64_t a = alignment ? alignment : 1; /* 0 = no rounding (§9.3) */
    uint64_t s = ((uint64_t)size + a - 1) & ~(a - 1);
    uint64_t start = (host->next + a - 1) & ~(a - 1);
    uint64_t pad = start - host->next;
    if (pad > host->avail || s > host->avail - pad)
        return SG_LGMP_NO_SHARED_MEM;
    if (start + s > (uint64_t)UINT32_MAX + 1 || start > UINT32_MAX)
        return SG_LGMP_NO_SHARED_MEM; /* offsets are 32-bit on the wire */
    out->offset = (uint32_t)start;
    out->size = (uint32_t)s;
    out->ptr = host->base + start;
    host->avail -= pad + s;
    host->next = start + s;
    return SG_LGMP_OK;
}

enum sg_lgmp_status sg_lgmp_host_alloc(struct sg_lgmp_host *host, uint32_t size, struct sg_lgmp_mem *out)
{
    return sg_lgmp_host_alloc_aligned(host, SG_LGMP_ALLOC_GRANULE, size, out);
}

/*
 * Under queue_lock, read_index and outstanding always satisfy
 * outstanding == (h_write - read_index) mod slot_count, because every writer
 * changes them together under the lock. A value that breaks this was written
 * by a broken or hostile client: trust read_index if it is in range,
 * otherwise rebuild it from outstanding (clamped), and make both agree.
 * Returns the (now consistent) outstanding count and, in *read_index, the
 * checked read index: callers must use that copy, never re-read the field.
 */
static uint32_t repair_locked(struct sg_lgmp_host_queue *q, uint32_t *read_index)
{
    struct sg_lgmp_wire_queue *qh = q->hdr;
    uint32_t sc = q->slot_count;
    uint32_t ri = sg_lgmp_aload32(&qh->read_index);
    uint32_t o = sg_lgmp_aload32(&qh->outstanding);
    if (ri >= sc) {
        uint32_t keep = o < sc - 1 ? o : sc - 1;
        ri = (q->h_write + sc - keep) % sc;
        sg_lgmp_astore32(&qh->read_index, ri);
        fault(q->host, SG_LGMP_BAD_INDEX);
    }
    uint32_t want = (q->h_write + sc - ri) % sc;
    if (o != want) {
        sg_lgmp_astore32(&qh->outstanding, want);
        fault(q->host, SG_LGMP_BAD_INDEX);
    }
    *read_index = ri;
    return want;
}

enum sg_lgmp_status sg_lgmp_host_post(struct sg_lgmp_host_queue *q, uint32_t app_value,
                                      const struct sg_lgmp_mem *mem)
{
    if (!q || !mem || !sg_range_ok(mem->offset, mem->size, q->host->size))
        return SG_LGMP_INVALID_ARGUMENT;
    struct sg_lgmp_wire_queue *qh = q->hdr;
    if (!host_lock(q->host, &qh->queue_lock, &q->queue_lock))
        return SG_LGMP_LOCK_STUCK;
    uint64_t subs = sg_lgmp_aload64(&qh->subs);
    uint32_t targets = SG_LGMP_ACTIVE(subs) & ~SG_LGMP_BAD(subs);
    if (targets == 0) {
        host_unlock(&qh->queue_lock, &q->queue_lock);
        return SG_LGMP_OK; /* §9.4 step 3: nobody to deliver to, dropped */
    }
    uint32_t ri;
    if (repair_locked(q, &ri) >= q->slot_count - 1) {
        host_unlock(&qh->queue_lock, &q->queue_lock);
        return SG_LGMP_QUEUE_FULL;
    }
    struct sg_lgmp_wire_msg *m = &q->ring[q->h_write];
    SG_WRITE_ONCE(m->app_value, app_value);
    SG_WRITE_ONCE(m->payload_size, mem->size);
    SG_WRITE_ONCE(m->payload_offset, mem->offset);
    sg_lgmp_astore32(&m->pending, targets);
    uint64_t now = host_now(q->host);
    q->posted_at[q->h_write] = now;
    if (sg_lgmp_afetch_add32(&qh->outstanding, 1) == 0)
        sg_lgmp_astore64(&qh->oldest_deadline, now + q->sub_timeout_ms);
    q->h_write = (q->h_write + 1) % q->slot_count;
    sg_lgmp_astore32(&qh->write_index, q->h_write);
    host_unlock(&qh->queue_lock, &q->queue_lock);
    return SG_LGMP_OK;
}

/* Under the queue lock. An evicted (BAD) slot stays reserved until
 * bad_until (§5) so that its client learns it was evicted. A bad_until later
 * than now + timeout was forged and would reserve the slot for good: cut.
 * And with all 32 slots claimed, which no honest set of clients does, a new
 * client could not subscribe until the reservations end: they end now. */
static void release_reservations(struct sg_lgmp_host_queue *q, uint64_t now)
{
    struct sg_lgmp_wire_queue *qh = q->hdr;
    uint64_t subs = sg_lgmp_aload64(&qh->subs);
    uint32_t bad = SG_LGMP_BAD(subs) & SG_LGMP_ACTIVE(subs);
    bool all_claimed = SG_LGMP_ACTIVE(subs) == UINT32_MAX;
    for (uint32_t i = 0; bad && i < SG_LGMP_MAX_SUBSCRIBERS; ++i) {
        if (!(bad & (1u << i)))
            continue;
        uint64_t until = SG_READ_ONCE(qh->bad_until[i]);
        uint64_t limit = all_claimed ? now : now + q->sub_timeout_ms;
        if (until > limit) {
            SG_WRITE_ONCE(qh->bad_until[i], limit);
            if (!all_claimed)
                fault(q->host, SG_LGMP_BAD_INDEX);
        }
    }
}

/* §9.5 step 3 for one queue; false if its lock could not be taken. */
static bool gc_queue(struct sg_lgmp_host_queue *q, uint64_t now)
{
    struct sg_lgmp_wire_queue *qh = q->hdr;
    struct sg_lgmp_host *h = q->host;
    if (!host_lock(h, &qh->queue_lock, &q->queue_lock))
        return false;
    uint32_t ri;
    uint32_t outstanding = repair_locked(q, &ri);
    release_reservations(q, now);
    if (outstanding == 0) {
        host_unlock(&qh->queue_lock, &q->queue_lock);
        return true;
    }
    uint64_t subs = sg_lgmp_aload64(&qh->subs);
    uint32_t active = SG_LGMP_ACTIVE(subs);
    uint32_t bad = SG_LGMP_BAD(subs);
    if (bad & ~active) {
        /* A BAD bit is only ever set for an ACTIVE slot (§5). */
        bad &= active;
        fault(h, SG_LGMP_BAD_INDEX);
    }
    uint64_t deadline = sg_lgmp_aload64(&qh->oldest_deadline);
    if (deadline > now + q->sub_timeout_ms) {
        /* Legitimate writers store (a past host clock) + timeout; a later
         * deadline would protect a stuck subscriber forever. Being forged, it
         * gets no more than the oldest message could have had: its post time
         * + timeout (the tick may only now run, after a lock held for good). */
        deadline = now + q->sub_timeout_ms;
        if (q->posted_at[ri] && q->posted_at[ri] + q->sub_timeout_ms < deadline)
            deadline = q->posted_at[ri] + q->sub_timeout_ms;
        sg_lgmp_astore64(&qh->oldest_deadline, deadline);
        fault(h, SG_LGMP_BAD_INDEX);
    }
    /* At most `outstanding` (< slot_count) iterations: each one releases a message. */
    for (uint32_t n = 0; n < outstanding; ++n) {
        struct sg_lgmp_wire_msg *m = &q->ring[ri];
        uint32_t waiting = sg_lgmp_aload32(&m->pending) & active;
        uint32_t fresh_bad = waiting & ~bad;
        bool evicted = fresh_bad && now > deadline;
        if (evicted) {
            bad |= fresh_bad;
            for (uint32_t i = 0; i < SG_LGMP_MAX_SUBSCRIBERS; ++i)
                if (fresh_bad & (1u << i))
                    SG_WRITE_ONCE(qh->bad_until[i], now + q->sub_timeout_ms);
            sg_lgmp_astore32(&m->pending, 0);
            waiting = 0;
        }
        if (waiting & ~bad)
            break;
        ri = (ri + 1) % q->slot_count;
        sg_lgmp_astore32(&qh->read_index, ri);
        uint32_t before = sg_lgmp_afetch_sub32(&qh->outstanding, 1);
        if (before <= 1) {
            if (before == 0) { /* only a client writing outside the lock */
                sg_lgmp_astore32(&qh->outstanding, 0);
                fault(h, SG_LGMP_CORRUPTED);
            }
            break;
        }
        /* §9.5 restarts the timeout for the new oldest message. After an
         * eviction, ours not past that message's own post time + timeout:
         * subscribers a client made up, a new set for each message, would
         * otherwise hold the ring one timeout per message, not one in all.
         * (A slow honest client that releases the messages itself still gets
         * the §9.5 restart: it writes the deadline when it does.) */
        deadline = now + q->sub_timeout_ms;
        if (evicted && q->posted_at[ri] && q->posted_at[ri] + q->sub_timeout_ms < deadline)
            deadline = q->posted_at[ri] + q->sub_timeout_ms;
        sg_lgmp_astore64(&qh->oldest_deadline, deadline);
    }
    sg_lgmp_astore64(&qh->subs, ((uint64_t)active << 32) | bad);
    host_unlock(&qh->queue_lock, &q->queue_lock);
    return true;
}

/* The fields only the host writes, and never changes after creating them: a
 * client that overwrote one (a version, a slot count, the app data) would
 * keep every other client from attaching or reading until a new session. */
static bool own_fields_intact(const struct sg_lgmp_host *h)
{
    const struct sg_lgmp_wire_header *g = h->hdr;
    if (SG_READ_ONCE(g->magic) != SG_LGMP_MAGIC || SG_READ_ONCE(g->version) != SG_LGMP_VERSION ||
        SG_READ_ONCE(g->session_id) != h->session_id ||
        __atomic_load_n(&g->queue_count, __ATOMIC_ACQUIRE) != h->queue_count ||
        SG_READ_ONCE(g->app_data_size) != h->app_data_size)
        return false;
    for (uint32_t i = 0; i < h->queue_count; ++i) {
        const struct sg_lgmp_host_queue *q = &h->queues[i];
        const struct sg_lgmp_wire_queue *qh = q->hdr;
        if (SG_READ_ONCE(qh->slot_count) != q->slot_count ||
            SG_READ_ONCE(qh->sub_timeout_ms) != q->sub_timeout_ms ||
            SG_READ_ONCE(qh->ring_offset) != (uint32_t)((const uint8_t *)q->ring - h->base) ||
            SG_READ_ONCE(qh->queue_id) != q->queue_id)
            return false;
    }
    return h->app_data_size == 0 ||
           memcmp((const uint8_t *)h->base + SG_LGMP_APP_DATA_OFFSET, h->app_data, h->app_data_size) == 0;
}

enum sg_lgmp_status sg_lgmp_host_process(struct sg_lgmp_host *host)
{
    if (!host)
        return SG_LGMP_INVALID_ARGUMENT;
    if (!own_fields_intact(host))
        return SG_LGMP_CORRUPTED;
    uint64_t now = host_now(host);
    if (now == 0)
        return SG_LGMP_CLOCK_FAILURE;
    sg_lgmp_astore64(&host->hdr->host_clock_ms, now);
    enum sg_lgmp_status st = SG_LGMP_OK;
    for (uint32_t i = 0; i < host->queue_count; ++i)
        if (!gc_queue(&host->queues[i], now))
            st = SG_LGMP_LOCK_STUCK; /* the other queues still get their tick */
    return st;
}

bool sg_lgmp_host_queue_has_subs(struct sg_lgmp_host_queue *q)
{
    return SG_LGMP_ACTIVE(sg_lgmp_aload64(&q->hdr->subs)) != 0;
}

uint32_t sg_lgmp_host_queue_new_subs(struct sg_lgmp_host_queue *q)
{
    return sg_lgmp_axchg32(&q->hdr->new_sub_count, 0);
}

uint32_t sg_lgmp_host_queue_pending(struct sg_lgmp_host_queue *q)
{
    /* The count post() will act on: it follows from read_index, as
     * repair_locked rebuilds it, not from the outstanding field, which a
     * client can set to anything (0 with the queue full would have the
     * caller post into a full queue for ever). */
    uint32_t sc = q->slot_count;
    uint32_t ri = sg_lgmp_aload32(&q->hdr->read_index);
    if (ri < sc)
        return (q->h_write + sc - ri) % sc;
    uint32_t o = sg_lgmp_aload32(&q->hdr->outstanding);
    return o < sc - 1 ? o : sc - 1;
}

bool sg_lgmp_host_queue_unreleased(struct sg_lgmp_host_queue *q)
{
    /* Only the shared indices, as last stored: any thread may ask. A client
     * can make read_index anything; then the answer is "yes", which costs the
     * caller a faster tick, nothing more. */
    return sg_lgmp_aload32(&q->hdr->write_index) != sg_lgmp_aload32(&q->hdr->read_index);
}

enum sg_lgmp_status sg_lgmp_host_read_cmsg(struct sg_lgmp_host_queue *q, void *buf, uint32_t *len)
{
    if (!q || !buf || !len)
        return SG_LGMP_INVALID_ARGUMENT;
    *len = 0;
    struct sg_lgmp_wire_queue *qh = q->hdr;
    uint32_t free_slots = sg_lgmp_aload32(&qh->cmsg_free);
    if (free_slots == SG_LGMP_CMSG_COUNT)
        return SG_LGMP_QUEUE_EMPTY;
    if (!host_lock(q->host, &qh->cmsg_lock, &q->cmsg_lock))
        return SG_LGMP_LOCK_STUCK;
    if (sg_lgmp_aload32(&qh->cmsg_free) > SG_LGMP_CMSG_COUNT) {
        /* More free slots than exist: nothing trustworthy to read. */
        sg_lgmp_astore32(&qh->cmsg_free, SG_LGMP_CMSG_COUNT);
        host_unlock(&qh->cmsg_lock, &q->cmsg_lock);
        fault(q->host, SG_LGMP_BAD_INDEX);
        return SG_LGMP_QUEUE_EMPTY;
    }
    struct sg_lgmp_wire_cmsg *slot = &qh->cmsg[q->h_cmsg_read];
    q->h_cmsg_read = (q->h_cmsg_read + 1) % SG_LGMP_CMSG_COUNT;
    uint32_t n = SG_READ_ONCE(slot->length);
    enum sg_lgmp_status st = SG_LGMP_OK;
    if (n > SG_LGMP_CMSG_PAYLOAD) {
        fault(q->host, SG_LGMP_BAD_CMSG);
        st = SG_LGMP_BAD_CMSG; /* consumed, not delivered */
    } else {
        sg_copy_from_shared(buf, slot->bytes, n);
        *len = n;
    }
    sg_lgmp_afetch_add32(&qh->cmsg_free, 1);
    host_unlock(&qh->cmsg_lock, &q->cmsg_lock);
    return st;
}

void sg_lgmp_host_ack_cmsg(struct sg_lgmp_host_queue *q)
{
    sg_lgmp_afetch_add32(&q->hdr->cmsg_done_serial, 1);
}
