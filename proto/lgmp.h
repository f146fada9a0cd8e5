/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * LGMP v6: the queue protocol shared memory carries (../shared/spec/lgmp.md).
 *
 * Both sides run on a region base pointer and its mapped size; nothing here
 * does I/O. The client side treats every byte of the region as written by an
 * attacker and changing under it; the host side treats the client-written
 * fields the same way. Every rejection has its own status code.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_clock.h"

#define SG_LGMP_MAGIC 0x504D474Cu
#define SG_LGMP_VERSION 6u
#define SG_LGMP_MAX_QUEUES 5u
#define SG_LGMP_MAX_SUBSCRIBERS 32u
#define SG_LGMP_CMSG_COUNT 10u
#define SG_LGMP_CMSG_PAYLOAD 64u
#define SG_LGMP_HEARTBEAT_TIMEOUT_MS 1000u
#define SG_LGMP_GLOBAL_HEADER_SIZE 5760u
#define SG_LGMP_APP_DATA_OFFSET 5756u
#define SG_LGMP_QUEUE_HEADER_SIZE 1144u
#define SG_LGMP_MESSAGE_SLOT_SIZE 16u
/* Ours: a spin lock still held after this long (on the waiter's clock) is
 * taken to belong to a dead or hostile peer: the call gives up (LOCK_STUCK). */
#define SG_LGMP_LOCK_TIMEOUT_MS 1000u
/* Ours: the host takes over a lock held on every attempt for longer than
 * TAKEOVER_MS, and, once it took a lock over in a session, after RETAKE_MS
 * on later stuck spells (see sg_lgmp_host_post). */
#define SG_LGMP_HOST_LOCK_TAKEOVER_MS 200u
#define SG_LGMP_HOST_LOCK_RETAKE_MS 100u
/* Ours: the client refuses larger application data (B7 uses a few hundred bytes). */
#define SG_LGMP_MAX_APP_DATA (1u << 20)

enum sg_lgmp_status {
    /* The reference values (lgmp.md §8). */
    SG_LGMP_OK = 0,
    SG_LGMP_CLOCK_FAILURE = 1,
    SG_LGMP_INVALID_ARGUMENT = 2,
    SG_LGMP_INVALID_SIZE = 3,
    SG_LGMP_INVALID_ALIGNMENT = 4,
    SG_LGMP_INVALID_SESSION = 5,
    SG_LGMP_NO_MEM = 6,
    SG_LGMP_NO_SHARED_MEM = 7,
    SG_LGMP_HOST_STARTED = 8,
    SG_LGMP_NO_QUEUES = 9,
    SG_LGMP_QUEUE_FULL = 10,
    SG_LGMP_QUEUE_EMPTY = 11,
    SG_LGMP_QUEUE_UNSUBSCRIBED = 12,
    SG_LGMP_QUEUE_TIMEOUT = 13,
    SG_LGMP_INVALID_MAGIC = 14,
    SG_LGMP_INVALID_VERSION = 15,
    SG_LGMP_NO_SUCH_QUEUE = 16,
    SG_LGMP_CORRUPTED = 17,
    /* Ours: a hostile or garbled peer wrote something that cannot be used. */
    SG_LGMP_BAD_APP_DATA_SIZE = 100, /* app_data_size runs past the region  */
    SG_LGMP_BAD_QUEUE_COUNT,         /* queue_count > 5                      */
    SG_LGMP_BAD_SLOT_COUNT,          /* slot_count < 2 or absurd             */
    SG_LGMP_BAD_RING,                /* ring_offset/ring size outside region */
    SG_LGMP_BAD_INDEX,               /* write_index/read_index >= slot_count */
    SG_LGMP_BAD_PAYLOAD,             /* payload offset/size outside region   */
    SG_LGMP_BAD_CMSG,                /* client message length > 64           */
    SG_LGMP_LOCK_STUCK,              /* a spin lock stayed held > 1000 ms    */
};

/* "QUEUE_TIMEOUT (evicted for slowness)" etc.; never NULL. */
const char *sg_lgmp_status_str(enum sg_lgmp_status s);

/* A block of the region the host allocated (offset from region start). */
struct sg_lgmp_mem {
    uint32_t offset;
    uint32_t size;
    void *ptr; /* base + offset */
};

/* ------------------------------------------------------------------ host */

/*
 * Threads (host). Set-up and tear-down -- sg_lgmp_host_create, _destroy,
 * _queue_create, _alloc, _alloc_aligned -- run with no other call on the same
 * host in flight. After set-up:
 *
 *  - each queue is used by one thread at a time (post, has_subs, new_subs,
 *    pending, read_cmsg, ack_cmsg on that queue);
 *  - different queues may be used from different threads at once, and
 *    sg_lgmp_host_process may run beside all of them: whatever a queue shares
 *    with process() is under that queue's locks (the spin lock in the region,
 *    which a client may clear or hold for good, and a mutex of the host's
 *    own that keeps its threads apart whatever the client does).
 *
 * spyglass-host relies on this: its frame thread posts to the frame queue
 * while its tick thread runs process() and the cursor queue (post, cmsgs).
 * sg_lgmp_host_faults and sg_lgmp_host_lock_takeovers are counters for
 * diagnostics (atomic; any thread).
 * sg_lgmp_host_set_lock_spin: at set-up.
 * The other getters (mem_avail, session_id) read set-up state: any thread.
 */

struct sg_lgmp_host;
struct sg_lgmp_host_queue;

/* Initialise the region (lgmp.md §9.1): a new session id different from the
 * one in the region, heartbeat = now, app data copied to offset 5756.
 * clock NULL = the monotonic clock. */
enum sg_lgmp_status sg_lgmp_host_create(struct sg_lgmp_host **out, void *base, size_t size,
                                        const void *app_data, uint32_t app_data_size,
                                        const struct sg_clock *clock);
void sg_lgmp_host_destroy(struct sg_lgmp_host *host); /* NULL ok; region untouched */

/* §9.2: num_messages + 1 ring slots, placed by the bump allocator. */
enum sg_lgmp_status sg_lgmp_host_queue_create(struct sg_lgmp_host *host, uint32_t queue_id,
                                              uint32_t num_messages, uint32_t sub_timeout_ms,
                                              struct sg_lgmp_host_queue **out);
/* §9.3: plain (alignment 4) and aligned allocation. */
enum sg_lgmp_status sg_lgmp_host_alloc(struct sg_lgmp_host *host, uint32_t size, struct sg_lgmp_mem *out);
enum sg_lgmp_status sg_lgmp_host_alloc_aligned(struct sg_lgmp_host *host, uint32_t alignment, uint32_t size,
                                               struct sg_lgmp_mem *out);
uint64_t sg_lgmp_host_mem_avail(const struct sg_lgmp_host *host);
uint32_t sg_lgmp_host_session_id(const struct sg_lgmp_host *host);

/* §9.4: OK without posting when nobody is subscribed; QUEUE_FULL never blocks.
 * A host call that takes a spin lock spins until it has it; a lock found held
 * on every attempt for more than SG_LGMP_HOST_LOCK_TAKEOVER_MS is taken to
 * belong to a dead or hostile client and is taken over (counted by
 * sg_lgmp_host_lock_takeovers), so no call waits longer than that. With
 * sg_lgmp_host_set_lock_spin, a call spins at most that long and returns
 * LOCK_STUCK (try again later; the takeover still comes on a later call). */
enum sg_lgmp_status sg_lgmp_host_post(struct sg_lgmp_host_queue *q, uint32_t app_value,
                                      const struct sg_lgmp_mem *mem);
/* §9.5: heartbeat + garbage collection + eviction of slow subscribers.
 * Call every 10 ms. CORRUPTED: the magic was wiped, or another field only
 * the host writes (version, session id, queue count, queue geometry, app
 * data) was changed by a client; create a new host.
 * Impossible client-written fields are repaired and counted (host_faults). */
enum sg_lgmp_status sg_lgmp_host_process(struct sg_lgmp_host *host);

/* Ours: how many times the host found and repaired a hostile or garbled
 * client-written field (read_index, outstanding, subs, oldest_deadline,
 * cmsg_free, cmsg length) or gave up on a stuck lock, and the kind of the
 * last one (BAD_INDEX, BAD_CMSG, LOCK_STUCK, ...); last may be NULL. */
uint32_t sg_lgmp_host_faults(const struct sg_lgmp_host *host, enum sg_lgmp_status *last);
/* Ours: at most max_ms of spinning per call on a lock a client holds, then
 * LOCK_STUCK; 0 = no bound but the takeover (the default). For a host whose
 * loops must never wait long on a client. */
void sg_lgmp_host_set_lock_spin(struct sg_lgmp_host *host, uint32_t max_ms);
/* Ours: how many times the host took over a lock a client held for good. */
uint32_t sg_lgmp_host_lock_takeovers(const struct sg_lgmp_host *host);

bool sg_lgmp_host_queue_has_subs(struct sg_lgmp_host_queue *q);     /* §9.7 */
uint32_t sg_lgmp_host_queue_new_subs(struct sg_lgmp_host_queue *q); /* read-and-clear */
/* Messages still held by a subscriber, as post() will count them (from the
 * read index, not the client-written outstanding field): post() finds the
 * queue full exactly when this is slot_count - 1, unless a client changes the
 * queue in between. */
uint32_t sg_lgmp_host_queue_pending(struct sg_lgmp_host_queue *q);
/* Whether any posted message is not yet released, from the shared indices
 * alone: unlike queue_pending, safe from a thread other than the one posting. */
bool sg_lgmp_host_queue_unreleased(struct sg_lgmp_host_queue *q);

/* §9.6: copies one client message (<= 64 bytes) into buf; QUEUE_EMPTY when none.
 * A length field > 64 is rejected with BAD_CMSG (and the slot consumed). */
enum sg_lgmp_status sg_lgmp_host_read_cmsg(struct sg_lgmp_host_queue *q, void *buf, uint32_t *len);
void sg_lgmp_host_ack_cmsg(struct sg_lgmp_host_queue *q);

/* ---------------------------------------------------------------- client */

/*
 * Threads (client). One client may serve several queues from different
 * threads at once (frames on one, cursor on another, for example), each queue
 * used by one thread at a time: the queue subscribe returns belongs to one
 * thread until unsubscribe. sg_lgmp_client_session_valid may be called from
 * any of those threads. sg_lgmp_client_create, _session_init and _destroy run
 * with no other call on the same client in flight.
 */

struct sg_lgmp_client;
struct sg_lgmp_client_queue;

/* One message as peeked, already checked: the payload lies inside the region. */
struct sg_lgmp_message {
    uint32_t app_value;
    uint32_t size;
    uint32_t offset;
    void *mem; /* region base + offset */
};

/* §10.1: refuses a region smaller than 5760 bytes (INVALID_SIZE). */
enum sg_lgmp_status sg_lgmp_client_create(struct sg_lgmp_client **out, void *base, size_t size,
                                          const struct sg_clock *clock);
void sg_lgmp_client_destroy(struct sg_lgmp_client *c); /* unsubscribes what is still valid */

/* §10.2. On success the app data is copied out of the region into a buffer the
 * client owns (valid until the next session init or destroy). */
enum sg_lgmp_status sg_lgmp_client_session_init(struct sg_lgmp_client *c, const uint8_t **app_data,
                                                uint32_t *app_data_size);
bool sg_lgmp_client_session_valid(struct sg_lgmp_client *c); /* §10.3 */
uint32_t sg_lgmp_client_session_id(const struct sg_lgmp_client *c);

/* §10.4 (includes reaping of expired bad slots). */
enum sg_lgmp_status sg_lgmp_client_subscribe(struct sg_lgmp_client *c, uint32_t queue_id,
                                             struct sg_lgmp_client_queue **out);
/* §10.5; skips the shared-memory part if the session changed (lgmp.md §11)
 * and then returns INVALID_SESSION; QUEUE_TIMEOUT if evicted (the slot stays
 * reserved until reaped). Frees *q and sets it to NULL in every case. */
enum sg_lgmp_status sg_lgmp_client_unsubscribe(struct sg_lgmp_client_queue **q);

enum sg_lgmp_status sg_lgmp_client_process(struct sg_lgmp_client_queue *q, struct sg_lgmp_message *msg);
enum sg_lgmp_status sg_lgmp_client_message_done(struct sg_lgmp_client_queue *q);
enum sg_lgmp_status sg_lgmp_client_advance_to_last(struct sg_lgmp_client_queue *q);
/* §10.9: serial of the message, to compare with the host's done serial. */
enum sg_lgmp_status sg_lgmp_client_send(struct sg_lgmp_client_queue *q, const void *data, uint32_t size,
                                        uint32_t *serial);
enum sg_lgmp_status sg_lgmp_client_get_serial(struct sg_lgmp_client_queue *q, uint32_t *done_serial);
uint32_t sg_lgmp_client_queue_slot(const struct sg_lgmp_client_queue *q); /* subscriber slot 0..31 */

/* -------------------------------------------------------------- inspect */

/* A consistent-enough snapshot for tools (spyglass-dump) and tests, taken
 * without subscribing or writing anything. Every number is copied out and
 * checked against the region size; `problem` names the first bad one. */
struct sg_lgmp_queue_info {
    uint32_t index; /* position in the header array */
    uint32_t queue_id;
    uint32_t slot_count;
    uint32_t sub_timeout_ms;
    uint32_t ring_offset;
    uint32_t write_index;
    uint32_t read_index;
    uint32_t outstanding;
    uint32_t new_sub_count;
    uint64_t subs; /* ACTIVE in the high half, BAD in the low half */
    uint64_t oldest_deadline;
    uint64_t bad_until[SG_LGMP_MAX_SUBSCRIBERS];
    uint32_t client_tag[SG_LGMP_MAX_SUBSCRIBERS];
    uint32_t cmsg_free, cmsg_sent_serial, cmsg_done_serial;
    bool ring_ok; /* ring lies inside the region and indexes are in range */
};

struct sg_lgmp_info {
    uint32_t magic, version, session_id;
    uint64_t host_clock_ms;
    uint32_t queue_count; /* as stored; at most 5 entries are filled below */
    uint32_t app_data_size;
    bool app_data_ok; /* 5756 + app_data_size fits the region */
    struct sg_lgmp_queue_info queues[SG_LGMP_MAX_QUEUES];
    uint32_t queues_valid;       /* entries filled in queues[] */
    enum sg_lgmp_status problem; /* OK, or the first thing found wrong */
};

enum sg_lgmp_status sg_lgmp_inspect(const void *base, size_t size, struct sg_lgmp_info *out);

/* Ring slot k of a queue from an inspect snapshot, checked against the region. */
enum sg_lgmp_status sg_lgmp_inspect_slot(const void *base, size_t size, const struct sg_lgmp_queue_info *q,
                                         uint32_t k, struct sg_lgmp_message *msg, uint32_t *pending);
