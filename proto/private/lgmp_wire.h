/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * LGMP v6 wire structures (lgmp.md §3, §4, §4.1, §4.2) and the atomic and
 * spin-lock primitives both sides use on them (§7). Private to proto/:
 * private/ is on the include path of proto/'s sources only (proto/meson.build).
 *
 * Fields marked atomic in the spec are plain integers here and are only ever
 * touched through the sg_lgmp_a* helpers below, which use the GCC __atomic
 * builtins with sequentially consistent ordering, as the reference does.
 */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lgmp.h"
#include "sg_clock.h"

#define SG_LGMP_CMSG_SLOT_SIZE 68u
#define SG_LGMP_ALLOC_GRANULE 4u
#define SG_LGMP_QUEUES_OFFSET 32u

/* §4.1 */
struct sg_lgmp_wire_msg {
    uint32_t app_value;
    uint32_t payload_size;
    uint32_t payload_offset;
    uint32_t pending; /* atomic */
};

/* §4.2 */
struct sg_lgmp_wire_cmsg {
    uint32_t length;
    uint8_t bytes[SG_LGMP_CMSG_PAYLOAD];
};

/* §4 */
struct sg_lgmp_wire_queue {
    uint32_t queue_id;
    uint32_t slot_count;
    uint32_t new_sub_count; /* atomic */
    uint32_t sub_timeout_ms;
    uint32_t write_index; /* atomic */
    uint32_t ring_offset;
    uint64_t bad_until[SG_LGMP_MAX_SUBSCRIBERS];
    uint32_t client_tag[SG_LGMP_MAX_SUBSCRIBERS];
    uint32_t queue_lock; /* atomic */
    uint32_t pad0;
    uint64_t subs; /* atomic */
    uint32_t read_index;
    uint32_t pad1;
    uint64_t oldest_deadline;  /* atomic */
    uint32_t outstanding;      /* atomic */
    uint32_t cmsg_lock;        /* atomic */
    uint32_t cmsg_free;        /* atomic */
    uint32_t cmsg_write_index; /* atomic */
    uint32_t cmsg_sent_serial; /* atomic */
    uint32_t cmsg_done_serial; /* atomic */
    struct sg_lgmp_wire_cmsg cmsg[SG_LGMP_CMSG_COUNT];
};

/* §3 */
struct sg_lgmp_wire_header {
    uint32_t magic;
    uint32_t version;
    uint32_t session_id;
    uint32_t pad0;
    uint64_t host_clock_ms; /* atomic */
    uint32_t queue_count;
    uint32_t pad1;
    struct sg_lgmp_wire_queue queues[SG_LGMP_MAX_QUEUES];
    uint32_t app_data_size;
    uint8_t app_data[]; /* its first 4 bytes are the structure's tail padding */
};

/* Every offset and size of the spec tables. */
#define SG_WIRE_AT(type, field, off) _Static_assert(offsetof(struct type, field) == (off), #type "." #field)
_Static_assert(sizeof(struct sg_lgmp_wire_msg) == SG_LGMP_MESSAGE_SLOT_SIZE, "message slot size");
SG_WIRE_AT(sg_lgmp_wire_msg, app_value, 0);
SG_WIRE_AT(sg_lgmp_wire_msg, payload_size, 4);
SG_WIRE_AT(sg_lgmp_wire_msg, payload_offset, 8);
SG_WIRE_AT(sg_lgmp_wire_msg, pending, 12);

_Static_assert(sizeof(struct sg_lgmp_wire_cmsg) == SG_LGMP_CMSG_SLOT_SIZE, "cmsg slot size");
SG_WIRE_AT(sg_lgmp_wire_cmsg, length, 0);
SG_WIRE_AT(sg_lgmp_wire_cmsg, bytes, 4);

_Static_assert(sizeof(struct sg_lgmp_wire_queue) == SG_LGMP_QUEUE_HEADER_SIZE, "queue header size");
_Static_assert(_Alignof(struct sg_lgmp_wire_queue) == 8, "queue header alignment");
SG_WIRE_AT(sg_lgmp_wire_queue, queue_id, 0);
SG_WIRE_AT(sg_lgmp_wire_queue, slot_count, 4);
SG_WIRE_AT(sg_lgmp_wire_queue, new_sub_count, 8);
SG_WIRE_AT(sg_lgmp_wire_queue, sub_timeout_ms, 12);
SG_WIRE_AT(sg_lgmp_wire_queue, write_index, 16);
SG_WIRE_AT(sg_lgmp_wire_queue, ring_offset, 20);
SG_WIRE_AT(sg_lgmp_wire_queue, bad_until, 24);
_Static_assert(sizeof(((struct sg_lgmp_wire_queue *)0)->bad_until) == 256, "bad_until size");
SG_WIRE_AT(sg_lgmp_wire_queue, client_tag, 280);
_Static_assert(sizeof(((struct sg_lgmp_wire_queue *)0)->client_tag) == 128, "client_tag size");
SG_WIRE_AT(sg_lgmp_wire_queue, queue_lock, 408);
SG_WIRE_AT(sg_lgmp_wire_queue, subs, 416);
SG_WIRE_AT(sg_lgmp_wire_queue, read_index, 424);
SG_WIRE_AT(sg_lgmp_wire_queue, oldest_deadline, 432);
SG_WIRE_AT(sg_lgmp_wire_queue, outstanding, 440);
SG_WIRE_AT(sg_lgmp_wire_queue, cmsg_lock, 444);
SG_WIRE_AT(sg_lgmp_wire_queue, cmsg_free, 448);
SG_WIRE_AT(sg_lgmp_wire_queue, cmsg_write_index, 452);
SG_WIRE_AT(sg_lgmp_wire_queue, cmsg_sent_serial, 456);
SG_WIRE_AT(sg_lgmp_wire_queue, cmsg_done_serial, 460);
SG_WIRE_AT(sg_lgmp_wire_queue, cmsg, 464);
_Static_assert(sizeof(((struct sg_lgmp_wire_queue *)0)->cmsg) == 680, "cmsg array size");
_Static_assert(offsetof(struct sg_lgmp_wire_queue, cmsg[9]) == 464 + 68 * 9, "cmsg[9]");

_Static_assert(sizeof(struct sg_lgmp_wire_header) == SG_LGMP_GLOBAL_HEADER_SIZE, "global header size");
_Static_assert(_Alignof(struct sg_lgmp_wire_header) == 8, "global header alignment");
SG_WIRE_AT(sg_lgmp_wire_header, magic, 0);
SG_WIRE_AT(sg_lgmp_wire_header, version, 4);
SG_WIRE_AT(sg_lgmp_wire_header, session_id, 8);
SG_WIRE_AT(sg_lgmp_wire_header, host_clock_ms, 16);
SG_WIRE_AT(sg_lgmp_wire_header, queue_count, 24);
SG_WIRE_AT(sg_lgmp_wire_header, queues, SG_LGMP_QUEUES_OFFSET);
SG_WIRE_AT(sg_lgmp_wire_header, queues[1], 1176);
SG_WIRE_AT(sg_lgmp_wire_header, queues[2], 2320);
SG_WIRE_AT(sg_lgmp_wire_header, queues[3], 3464);
SG_WIRE_AT(sg_lgmp_wire_header, queues[4], 4608);
SG_WIRE_AT(sg_lgmp_wire_header, app_data_size, 5752);
SG_WIRE_AT(sg_lgmp_wire_header, app_data, SG_LGMP_APP_DATA_OFFSET);
_Static_assert(SG_LGMP_CMSG_COUNT == 10 && SG_LGMP_CMSG_PAYLOAD == 64 && SG_LGMP_MAX_SUBSCRIBERS == 32 &&
                   SG_LGMP_MAX_QUEUES == 5,
               "§1 constants");
#undef SG_WIRE_AT

/* subs halves (§5) */
#define SG_LGMP_ACTIVE(subs) ((uint32_t)((subs) >> 32))
#define SG_LGMP_BAD(subs) ((uint32_t)(subs))

/* ------------------------------------------------------------- atomics (§7) */

#define SG_LGMP_SC __ATOMIC_SEQ_CST

static inline uint32_t sg_lgmp_aload32(const uint32_t *p)
{
    return __atomic_load_n(p, SG_LGMP_SC);
}
static inline uint64_t sg_lgmp_aload64(const uint64_t *p)
{
    return __atomic_load_n(p, SG_LGMP_SC);
}
static inline void sg_lgmp_astore32(uint32_t *p, uint32_t v)
{
    __atomic_store_n(p, v, SG_LGMP_SC);
}
static inline void sg_lgmp_astore64(uint64_t *p, uint64_t v)
{
    __atomic_store_n(p, v, SG_LGMP_SC);
}
static inline uint32_t sg_lgmp_afetch_add32(uint32_t *p, uint32_t v)
{
    return __atomic_fetch_add(p, v, SG_LGMP_SC);
}
static inline uint32_t sg_lgmp_afetch_sub32(uint32_t *p, uint32_t v)
{
    return __atomic_fetch_sub(p, v, SG_LGMP_SC);
}
static inline uint32_t sg_lgmp_afetch_and32(uint32_t *p, uint32_t v)
{
    return __atomic_fetch_and(p, v, SG_LGMP_SC);
}
static inline uint32_t sg_lgmp_axchg32(uint32_t *p, uint32_t v)
{
    return __atomic_exchange_n(p, v, SG_LGMP_SC);
}

/* ------------------------------------------------------------ spin locks (§7)
 *
 * The protocol's locks are bare CAS spin locks with no owner: a peer that
 * dies (or is hostile) while holding one would make the reference spin
 * forever. We spin exactly as the reference does (CAS 0->1, retry at once),
 * but look at the clock every SG_LGMP_LOCK_CHECK_SPINS attempts and give up
 * with SG_LGMP_LOCK_STUCK after SG_LGMP_LOCK_TIMEOUT_MS on the caller's own
 * clock. That spinning, bounded by the timeout, is the only wait in this
 * library. A legitimate holder keeps the lock for well under a microsecond. */
#define SG_LGMP_LOCK_CHECK_SPINS 4096u

static inline bool sg_lgmp_trylock(uint32_t *lock)
{
    uint32_t expected = 0;
    return __atomic_compare_exchange_n(lock, &expected, 1, false, SG_LGMP_SC, SG_LGMP_SC);
}

static inline bool sg_lgmp_lock(uint32_t *lock, const struct sg_clock *clock)
{
    uint64_t start = 0;
    for (;;) {
        for (uint32_t i = 0; i < SG_LGMP_LOCK_CHECK_SPINS; ++i)
            if (sg_lgmp_trylock(lock))
                return true;
        uint64_t now = sg_clock_now(clock);
        if (start == 0)
            start = now ? now : 1;
        else if (now - start > SG_LGMP_LOCK_TIMEOUT_MS)
            return false;
    }
}

static inline void sg_lgmp_unlock(uint32_t *lock)
{
    sg_lgmp_astore32(lock, 0);
}

/* Session ids and client tags: like the reference's rand() (0..2^31-1) but
 * drawn from getrandom so that two processes never share a sequence. */
uint32_t sg_lgmp_random31(void);
