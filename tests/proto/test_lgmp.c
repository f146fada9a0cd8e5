/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * LGMP v6 unit tests: host and client on one malloc'ed region, single
 * thread, driven by a fake clock so timeouts are exact and instant.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_cmocka.h"

#include "fake_clock.h"
#include "lgmp.h"
#include "lgmp_test_util.h"
#include "sg_clock.h"

#define REGION_SIZE (1u << 20)

struct fx {
    uint8_t *r;
    size_t size;
    struct sg_fake_clock hclk; /* host clock */
    struct sg_fake_clock cclk; /* client clock (a different epoch on purpose) */
    struct sg_lgmp_host *host;
    struct sg_lgmp_host_queue *hq; /* queue id 7, 4 messages, timeout 1000 */
    struct sg_lgmp_client *client;
    struct sg_lgmp_mem mem[8];
};

static const uint8_t app[] = "spyglass app data";

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    f->size = REGION_SIZE;
    f->r = lt_region(f->size);
    sg_fake_clock_init(&f->hclk, 5000);
    sg_fake_clock_init(&f->cclk, 900000);
    assert_int_equal(sg_lgmp_host_create(&f->host, f->r, f->size, app, sizeof(app), &f->hclk.clock),
                     SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_queue_create(f->host, 7, 4, 1000, &f->hq), SG_LGMP_OK);
    for (int i = 0; i < 8; ++i) {
        assert_int_equal(sg_lgmp_host_alloc(f->host, 64, &f->mem[i]), SG_LGMP_OK);
        memset(f->mem[i].ptr, 0xA0 + i, 64);
    }
    assert_int_equal(sg_lgmp_client_create(&f->client, f->r, f->size, &f->cclk.clock), SG_LGMP_OK);
    /* the host must tick once between client attach and session start */
    sg_fake_clock_advance(&f->hclk, 10);
    assert_int_equal(sg_lgmp_host_process(f->host), SG_LGMP_OK);
    const uint8_t *ad;
    uint32_t adsz;
    assert_int_equal(sg_lgmp_client_session_init(f->client, &ad, &adsz), SG_LGMP_OK);
    assert_int_equal(adsz, sizeof(app));
    assert_memory_equal(ad, app, sizeof(app));
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    sg_lgmp_client_destroy(f->client);
    sg_lgmp_host_destroy(f->host);
    free(f->r);
    free(f);
    return 0;
}

/* host tick after moving the host clock */
static void tick(struct fx *f, uint64_t ms)
{
    sg_fake_clock_advance(&f->hclk, ms);
    assert_int_equal(sg_lgmp_host_process(f->host), SG_LGMP_OK);
}

/* ------------------------------------------------------------------ layout */

static void test_layout_fresh_region(void **state)
{
    (void)state;
    const uint32_t U = 197; /* the B7 KVMFR app data size (fixture) */
    uint8_t appdata[197];
    for (unsigned i = 0; i < U; ++i)
        appdata[i] = (uint8_t)(i * 7 + 1);
    size_t size = 16u << 20;
    uint8_t *r = lt_region(size);
    memset(r, 0xEE, size); /* stale bytes that init must (not) touch */
    lt_put32(r, 8, 1234);
    struct sg_fake_clock clk;
    sg_fake_clock_init(&clk, 424242);
    struct sg_lgmp_host *h;
    assert_int_equal(sg_lgmp_host_create(&h, r, size, appdata, U, &clk.clock), SG_LGMP_OK);

    assert_memory_equal(r, "LGMP", 4);
    assert_int_equal(lt_u32(r, 0), 0x504D474Cu);
    assert_int_equal(lt_u32(r, 4), 6);
    assert_int_not_equal(lt_u32(r, 8), 1234);
    assert_int_equal(lt_u32(r, 8), sg_lgmp_host_session_id(h));
    assert_true(lt_u32(r, 8) <= 0x7fffffffu);
    assert_int_equal(lt_u32(r, 12), 0xEEEEEEEEu); /* padding untouched */
    assert_int_equal(lt_u64(r, 16), 424242);
    assert_int_equal(lt_u32(r, 24), 0);
    assert_int_equal(lt_u32(r, 5752), U);
    assert_memory_equal(r + 5756, appdata, U);
    assert_int_equal(r[5756 + U], 0xEE);          /* nothing past the app data */
    assert_int_equal(lt_u32(r, 32), 0xEEEEEEEEu); /* queue headers not initialised */

    /* The two B7 queues in B7 order: frames (id 2, 2 msgs), cursor (id 1, 20 msgs). */
    struct sg_lgmp_host_queue *qf, *qc;
    assert_int_equal(sg_lgmp_host_queue_create(h, 2, 2, 1000, &qf), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_queue_create(h, 1, 20, 1000, &qc), SG_LGMP_OK);
    const uint32_t A0 = (5760 + U + 3) & ~3u;
    assert_int_equal(A0, 5960); /* what the B7 fixture shows */
    assert_int_equal(lt_u32(r, 24), 2);

    static const struct {
        unsigned idx;
        uint32_t id, slots, ring;
    } want[] = {
        {0, 2, 3, 5960},
        {1, 1, 21, 5960 + 3 * 16},
    };
    for (unsigned k = 0; k < 2; ++k) {
        unsigned i = want[k].idx;
        assert_int_equal(lt_q(i, 0), i ? 1176 : 32);
        assert_int_equal(lt_u32(r, lt_q(i, LT_Q_ID)), want[k].id);
        assert_int_equal(lt_u32(r, lt_q(i, LT_Q_SLOT_COUNT)), want[k].slots);
        assert_int_equal(lt_u32(r, lt_q(i, LT_Q_NEW_SUBS)), 0);
        assert_int_equal(lt_u32(r, lt_q(i, LT_Q_TIMEOUT)), 1000);
        assert_int_equal(lt_u32(r, lt_q(i, LT_Q_WRITE)), 0);
        assert_int_equal(lt_u32(r, lt_q(i, LT_Q_RING)), want[k].ring);
        assert_int_equal(lt_u64(r, lt_q(i, LT_Q_BAD_UNTIL)),
                         0xEEEEEEEEEEEEEEEEull); /* §9.2: not initialised */
        assert_int_equal(lt_u32(r, lt_q(i, LT_Q_TAG)), 0xEEEEEEEEu);
        assert_int_equal(lt_u32(r, lt_q(i, LT_Q_LOCK)), 0);
        assert_int_equal(lt_u32(r, lt_q(i, LT_Q_LOCK + 4)), 0xEEEEEEEEu);
        assert_int_equal(lt_u64(r, lt_q(i, LT_Q_SUBS)), 0);
        assert_int_equal(lt_u32(r, lt_q(i, LT_Q_READ)), 0);
        assert_int_equal(lt_u64(r, lt_q(i, LT_Q_DEADLINE)), 0);
        assert_int_equal(lt_u32(r, lt_q(i, LT_Q_OUTSTANDING)), 0);
        assert_int_equal(lt_u32(r, lt_q(i, LT_Q_CMSG_LOCK)), 0);
        assert_int_equal(lt_u32(r, lt_q(i, LT_Q_CMSG_FREE)), 10);
        assert_int_equal(lt_u32(r, lt_q(i, LT_Q_CMSG_WRITE)), 0);
        assert_int_equal(lt_u32(r, lt_q(i, LT_Q_CMSG_SENT)), 0);
        assert_int_equal(lt_u32(r, lt_q(i, LT_Q_CMSG_DONE)), 0);
        assert_int_equal(lt_u32(r, lt_q(i, LT_Q_CMSG)), 0xEEEEEEEEu);
        /* ring slots are not initialised either */
        assert_int_equal(lt_u32(r, want[k].ring), 0xEEEEEEEEu);
    }
    assert_int_equal(lt_u32(r, lt_q(2, 0)), 0xEEEEEEEEu);

    /* §9.3: the 24-byte cursor record lands right after the rings, as in the fixture (6344). */
    struct sg_lgmp_mem m;
    uint64_t avail = sg_lgmp_host_mem_avail(h);
    assert_int_equal(avail, size - 6344);
    assert_int_equal(sg_lgmp_host_alloc(h, 24, &m), SG_LGMP_OK);
    assert_int_equal(m.offset, 6344);
    assert_int_equal(m.size, 24);
    assert_ptr_equal(m.ptr, r + 6344);
    assert_int_equal(sg_lgmp_host_alloc(h, 5, &m), SG_LGMP_OK); /* rounded up to 4 */
    assert_int_equal(m.offset, 6368);
    assert_int_equal(m.size, 8);
    assert_int_equal(sg_lgmp_host_alloc_aligned(h, 4096, 100, &m), SG_LGMP_OK);
    assert_int_equal(m.offset, 8192);
    assert_int_equal(m.size, 4096);
    assert_int_equal(sg_lgmp_host_alloc_aligned(h, 0, 3, &m), SG_LGMP_OK); /* no rounding at all */
    assert_int_equal(m.offset, 12288);
    assert_int_equal(m.size, 3);
    assert_int_equal(sg_lgmp_host_alloc(h, 4, &m), SG_LGMP_OK);
    assert_int_equal(m.offset, 12292);
    assert_int_equal(sg_lgmp_host_alloc_aligned(h, 24, 4, &m), SG_LGMP_INVALID_ALIGNMENT);
    assert_int_equal(sg_lgmp_host_mem_avail(h), size - 12296);
    assert_int_equal(sg_lgmp_host_alloc(h, (uint32_t)(size - 12296 + 4), &m), SG_LGMP_NO_SHARED_MEM);
    assert_int_equal(sg_lgmp_host_alloc(h, (uint32_t)(size - 12296), &m), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_mem_avail(h), 0);
    assert_int_equal(sg_lgmp_host_alloc(h, 1, &m), SG_LGMP_NO_SHARED_MEM);

    sg_lgmp_host_destroy(h);
    free(r);
}

static void test_app_data_size_zero_and_odd(void **state)
{
    (void)state;
    uint8_t *r = lt_region(65536);
    struct sg_fake_clock clk;
    sg_fake_clock_init(&clk, 1);
    struct sg_lgmp_host *h;
    struct sg_lgmp_host_queue *q;
    assert_int_equal(sg_lgmp_host_create(&h, r, 65536, NULL, 0, &clk.clock), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_queue_create(h, 1, 1, 10, &q), SG_LGMP_OK);
    assert_int_equal(lt_u32(r, lt_q(0, LT_Q_RING)), 5760);
    sg_lgmp_host_destroy(h);
    uint8_t one = 9;
    assert_int_equal(sg_lgmp_host_create(&h, r, 65536, &one, 1, &clk.clock), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_queue_create(h, 1, 1, 10, &q), SG_LGMP_OK);
    assert_int_equal(lt_u32(r, lt_q(0, LT_Q_RING)), 5764);
    sg_lgmp_host_destroy(h);
    free(r);
}

static void test_host_create_errors(void **state)
{
    (void)state;
    uint8_t *r = lt_region(8192);
    struct sg_fake_clock clk;
    sg_fake_clock_init(&clk, 0);
    struct sg_lgmp_host *h = (void *)1;
    assert_int_equal(sg_lgmp_host_create(&h, r, 8192, NULL, 0, &clk.clock), SG_LGMP_CLOCK_FAILURE);
    assert_null(h);
    sg_fake_clock_set(&clk, 10);
    uint8_t big[3000] = {0};
    assert_int_equal(sg_lgmp_host_create(&h, r, 8192, big, 2433, &clk.clock), SG_LGMP_INVALID_SIZE);
    assert_int_equal(sg_lgmp_host_create(&h, r, 8192, big, 2432, &clk.clock), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_mem_avail(h), 0);
    struct sg_lgmp_host_queue *q;
    assert_int_equal(sg_lgmp_host_queue_create(h, 1, 1, 10, &q), SG_LGMP_NO_SHARED_MEM);
    sg_lgmp_host_destroy(h);
    assert_int_equal(sg_lgmp_host_create(&h, r + 4, 8000, NULL, 0, &clk.clock), SG_LGMP_INVALID_ALIGNMENT);
    /* six queues */
    assert_int_equal(sg_lgmp_host_create(&h, r, 8192, NULL, 0, &clk.clock), SG_LGMP_OK);
    for (uint32_t i = 0; i < 5; ++i)
        assert_int_equal(sg_lgmp_host_queue_create(h, i, 2, 10, &q), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_queue_create(h, 9, 2, 10, &q), SG_LGMP_NO_QUEUES);
    assert_int_equal(lt_u32(r, 24), 5);
    sg_lgmp_host_destroy(h);
    sg_lgmp_host_destroy(NULL);
    free(r);
}

static void test_session_id_changes(void **state)
{
    (void)state;
    uint8_t *r = lt_region(8192);
    struct sg_fake_clock clk;
    sg_fake_clock_init(&clk, 10);
    uint32_t prev = lt_u32(r, 8);
    for (int i = 0; i < 200; ++i) {
        struct sg_lgmp_host *h;
        /* force collisions with small values too */
        if (i % 2)
            lt_put32(r, 8, (uint32_t)i);
        prev = lt_u32(r, 8);
        assert_int_equal(sg_lgmp_host_create(&h, r, 8192, NULL, 0, &clk.clock), SG_LGMP_OK);
        assert_int_not_equal(lt_u32(r, 8), prev);
        sg_lgmp_host_destroy(h);
    }
    free(r);
}

/* ------------------------------------------------------ post / process / done */

static void test_post_process_done(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *cq;
    struct sg_lgmp_message msg;
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &cq), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_queue_slot(cq), 0);
    assert_true(sg_lgmp_host_queue_has_subs(f->hq));
    assert_int_equal(sg_lgmp_host_queue_new_subs(f->hq), 1);
    assert_int_equal(sg_lgmp_host_queue_new_subs(f->hq), 0);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_SUBS)), 1ull << 32);

    assert_int_equal(sg_lgmp_client_process(cq, &msg), SG_LGMP_QUEUE_EMPTY);
    assert_int_equal(sg_lgmp_host_post(f->hq, 0x11, &f->mem[0]), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_post(f->hq, 0x22, &f->mem[1]), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 2);
    /* the slot bytes as §4.1 lays them out */
    uint32_t ring = lt_u32(f->r, lt_q(0, LT_Q_RING));
    assert_int_equal(lt_u32(f->r, ring + 0), 0x11);
    assert_int_equal(lt_u32(f->r, ring + 4), 64);
    assert_int_equal(lt_u32(f->r, ring + 8), f->mem[0].offset);
    assert_int_equal(lt_u32(f->r, ring + 12), 1);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_WRITE)), 2);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_DEADLINE)), 5010 + 1000);

    for (int rep = 0; rep < 2; ++rep) { /* peeking does not consume */
        assert_int_equal(sg_lgmp_client_process(cq, &msg), SG_LGMP_OK);
        assert_int_equal(msg.app_value, 0x11);
        assert_int_equal(msg.size, 64);
        assert_int_equal(msg.offset, f->mem[0].offset);
        assert_ptr_equal(msg.mem, f->mem[0].ptr);
    }
    assert_int_equal(((uint8_t *)msg.mem)[63], 0xA0);
    assert_int_equal(sg_lgmp_client_message_done(cq), SG_LGMP_OK);
    /* the client dequeued it itself: read_index moved, outstanding 1 */
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_READ)), 1);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_OUTSTANDING)), 1);
    assert_int_equal(lt_u32(f->r, ring + 12), 0);
    assert_int_equal(sg_lgmp_client_process(cq, &msg), SG_LGMP_OK);
    assert_int_equal(msg.app_value, 0x22);
    assert_int_equal(sg_lgmp_client_message_done(cq), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_process(cq, &msg), SG_LGMP_QUEUE_EMPTY);
    assert_int_equal(sg_lgmp_client_message_done(cq), SG_LGMP_QUEUE_EMPTY);
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 0);

    /* wrap the 5-slot ring several times */
    for (uint32_t i = 0; i < 23; ++i) {
        assert_int_equal(sg_lgmp_host_post(f->hq, 100 + i, &f->mem[i % 8]), SG_LGMP_OK);
        assert_int_equal(sg_lgmp_client_process(cq, &msg), SG_LGMP_OK);
        assert_int_equal(msg.app_value, 100 + i);
        assert_int_equal(msg.offset, f->mem[i % 8].offset);
        assert_int_equal(sg_lgmp_client_message_done(cq), SG_LGMP_OK);
        if (i % 3 == 0)
            tick(f, 10);
    }
    assert_int_equal(sg_lgmp_client_unsubscribe(&cq), SG_LGMP_OK);
    assert_null(cq);
    assert_false(sg_lgmp_host_queue_has_subs(f->hq));
}

static void test_queue_full_and_no_subscriber_drop(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *cq;
    struct sg_lgmp_message msg;
    /* nobody subscribed: OK but nothing posted */
    assert_int_equal(sg_lgmp_host_post(f->hq, 1, &f->mem[0]), SG_LGMP_OK);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_WRITE)), 0);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_OUTSTANDING)), 0);
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 0);

    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &cq), SG_LGMP_OK);
    for (uint32_t i = 0; i < 4; ++i) /* 4 messages fit in the 5-slot ring */
        assert_int_equal(sg_lgmp_host_post(f->hq, i, &f->mem[i]), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_post(f->hq, 4, &f->mem[4]), SG_LGMP_QUEUE_FULL);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_OUTSTANDING)), 4);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_WRITE)), 4);
    tick(f, 10); /* nothing released: the subscriber is healthy and within its timeout */
    assert_int_equal(sg_lgmp_host_post(f->hq, 4, &f->mem[4]), SG_LGMP_QUEUE_FULL);
    assert_int_equal(sg_lgmp_client_process(cq, &msg), SG_LGMP_OK);
    assert_int_equal(msg.app_value, 0);
    assert_int_equal(sg_lgmp_client_message_done(cq), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_post(f->hq, 4, &f->mem[4]), SG_LGMP_OK);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_WRITE)), 0); /* wrapped */
    for (uint32_t i = 1; i <= 4; ++i) {
        assert_int_equal(sg_lgmp_client_process(cq, &msg), SG_LGMP_OK);
        assert_int_equal(msg.app_value, i);
        assert_int_equal(sg_lgmp_client_message_done(cq), SG_LGMP_OK);
    }
    assert_int_equal(sg_lgmp_client_process(cq, &msg), SG_LGMP_QUEUE_EMPTY);
    assert_int_equal(sg_lgmp_client_unsubscribe(&cq), SG_LGMP_OK);
}

/* §10.7: when the client cannot take the lock, the host's tick dequeues. */
static void test_done_without_lock_left_to_host(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *cq;
    struct sg_lgmp_message msg;
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &cq), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_post(f->hq, 1, &f->mem[0]), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_process(cq, &msg), SG_LGMP_OK);
    lt_put32(f->r, lt_q(0, LT_Q_LOCK), 1); /* someone holds the lock for a moment */
    assert_int_equal(sg_lgmp_client_message_done(cq), SG_LGMP_OK);
    uint32_t ring = lt_u32(f->r, lt_q(0, LT_Q_RING));
    assert_int_equal(lt_u32(f->r, ring + 12), 0);                 /* own bit cleared */
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_OUTSTANDING)), 1); /* but not dequeued */
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_READ)), 0);
    assert_int_equal(sg_lgmp_client_process(cq, &msg), SG_LGMP_QUEUE_EMPTY); /* the client moved on */
    lt_put32(f->r, lt_q(0, LT_Q_LOCK), 0);
    tick(f, 10);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_OUTSTANDING)), 0);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_READ)), 1);
    assert_int_equal(sg_lgmp_host_faults(f->host, NULL), 0);
}

/* §10.5: pending bits of a departed subscriber do not hold the queue. */
static void test_unsubscribe_with_outstanding(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *qa, *qb;
    struct sg_lgmp_message msg;
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &qa), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &qb), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_post(f->hq, 1, &f->mem[0]), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_post(f->hq, 2, &f->mem[1]), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_unsubscribe(&qa), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_process(qb, &msg), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_message_done(qb), SG_LGMP_OK);
    /* slot 0's stale bit remains, so the client could not dequeue it */
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 2);
    tick(f, 10); /* the host ignores bits of slots whose ACTIVE bit is clear */
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 1);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_SUBS)), 2ull << 32); /* nobody evicted */
    assert_int_equal(sg_lgmp_client_process(qb, &msg), SG_LGMP_OK);
    assert_int_equal(msg.app_value, 2);
    assert_int_equal(sg_lgmp_client_message_done(qb), SG_LGMP_OK);
    tick(f, 10);
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 0);
}

/* ------------------------------------------------------------- eviction */

static void test_eviction_after_timeout(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client *cb;
    struct sg_lgmp_client_queue *qa, *qb;
    struct sg_lgmp_message msg;
    assert_int_equal(sg_lgmp_client_create(&cb, f->r, f->size, &f->cclk.clock), SG_LGMP_OK);
    tick(f, 10); /* 5020 */
    assert_int_equal(sg_lgmp_client_session_init(cb, NULL, NULL), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &qa), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_subscribe(cb, 7, &qb), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_queue_slot(qa), 0);
    assert_int_equal(sg_lgmp_client_queue_slot(qb), 1);

    assert_int_equal(sg_lgmp_host_post(f->hq, 1, &f->mem[0]), SG_LGMP_OK); /* deadline 6020 */
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_DEADLINE)), 6020);
    assert_int_equal(sg_lgmp_client_process(qb, &msg), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_message_done(qb), SG_LGMP_OK); /* A still holds it */
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_OUTSTANDING)), 1);

    tick(f, 1000); /* now == deadline: not yet (strictly greater) */
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_SUBS)), 3ull << 32);
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 1);
    tick(f, 1); /* 6021 > 6020: A is evicted, the message released */
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_SUBS)), (3ull << 32) | 1);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_BAD_UNTIL)), 6021 + 1000);
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 0);
    uint32_t ring = lt_u32(f->r, lt_q(0, LT_Q_RING));
    assert_int_equal(lt_u32(f->r, ring + 12), 0);

    uint32_t tags[32];
    assert_int_equal(lt_queue_clients(f->r, 0, sg_clock_now(&f->hclk.clock), tags),
                     2); /* bad, but not yet expired */
    assert_int_equal(tags[0], lt_u32(f->r, lt_q(0, LT_Q_TAG)));
    assert_int_equal(tags[1], lt_u32(f->r, lt_q(0, LT_Q_TAG + 4)));
    assert_int_equal(sg_lgmp_client_process(qa, &msg), SG_LGMP_QUEUE_TIMEOUT);
    assert_int_equal(sg_lgmp_client_message_done(qa), SG_LGMP_QUEUE_TIMEOUT);
    assert_int_equal(sg_lgmp_client_advance_to_last(qa), SG_LGMP_QUEUE_TIMEOUT);
    uint32_t serial;
    assert_int_equal(sg_lgmp_client_send(qa, "x", 1, &serial), SG_LGMP_QUEUE_TIMEOUT);
    assert_int_equal(sg_lgmp_client_get_serial(qa, &serial), SG_LGMP_QUEUE_TIMEOUT);
    assert_true(sg_lgmp_host_queue_has_subs(f->hq)); /* BAD slots still count */

    /* new posts exclude A */
    assert_int_equal(sg_lgmp_host_post(f->hq, 2, &f->mem[1]), SG_LGMP_OK);
    assert_int_equal(lt_u32(f->r, ring + 16 + 12), 2);
    assert_int_equal(sg_lgmp_client_process(qb, &msg), SG_LGMP_OK);
    assert_int_equal(msg.app_value, 2);
    assert_int_equal(sg_lgmp_client_message_done(qb), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 0);

    /* the bad slot stays reserved until host_clock_ms > bad_until ... */
    struct sg_lgmp_client *cc;
    struct sg_lgmp_client_queue *qc, *qd;
    assert_int_equal(sg_lgmp_client_create(&cc, f->r, f->size, &f->cclk.clock), SG_LGMP_OK);
    tick(f, 1000); /* 7021 == bad_until */
    assert_int_equal(sg_lgmp_client_session_init(cc, NULL, NULL), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_subscribe(cc, 7, &qc), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_queue_slot(qc), 2);
    /* ... unsubscribing the bad slot is refused and keeps it reserved */
    assert_int_equal(sg_lgmp_client_unsubscribe(&qa), SG_LGMP_QUEUE_TIMEOUT);
    assert_null(qa);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_SUBS)), (7ull << 32) | 1);
    assert_int_equal(lt_queue_clients(f->r, 0, sg_clock_now(&f->hclk.clock), tags), 3);
    tick(f, 1); /* 7022: the next subscribe reaps slot 0 and takes it */
    assert_int_equal(lt_queue_clients(f->r, 0, sg_clock_now(&f->hclk.clock), tags),
                     2); /* expired bad slot left out */
    assert_int_equal(tags[0], lt_u32(f->r, lt_q(0, LT_Q_TAG + 4)));
    assert_int_equal(sg_lgmp_client_subscribe(cc, 7, &qd), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_queue_slot(qd), 0);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_SUBS)), 7ull << 32);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_BAD_UNTIL)), 0);
    assert_int_not_equal(lt_u32(f->r, lt_q(0, LT_Q_TAG)), 0);
    assert_int_equal(sg_lgmp_host_queue_new_subs(f->hq), 4);

    sg_lgmp_client_destroy(cc); /* unsubscribes qc and qd */
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_SUBS)), 2ull << 32);
    sg_lgmp_client_destroy(cb);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_SUBS)), 0);
}

static void test_subscribe_queue_full_and_no_such_queue(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *q[33];
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 8, &q[0]), SG_LGMP_NO_SUCH_QUEUE);
    for (int i = 0; i < 32; ++i) {
        assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &q[i]), SG_LGMP_OK);
        assert_int_equal(sg_lgmp_client_queue_slot(q[i]), i);
    }
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &q[32]), SG_LGMP_QUEUE_FULL);
    assert_null(q[32]);
    assert_int_equal(sg_lgmp_client_unsubscribe(&q[5]), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &q[32]), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_queue_slot(q[32]), 5);
}

/* ------------------------------------------------------- advance to last */

static void test_advance_to_last(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *cq;
    struct sg_lgmp_message msg;
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &cq), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_advance_to_last(cq), SG_LGMP_QUEUE_EMPTY);
    assert_int_equal(sg_lgmp_host_post(f->hq, 10, &f->mem[0]), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_advance_to_last(cq), SG_LGMP_OK); /* only one: stays */
    assert_int_equal(sg_lgmp_client_process(cq, &msg), SG_LGMP_OK);
    assert_int_equal(msg.app_value, 10);
    for (uint32_t i = 11; i < 14; ++i)
        assert_int_equal(sg_lgmp_host_post(f->hq, i, &f->mem[i % 8]), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 4);
    assert_int_equal(sg_lgmp_client_advance_to_last(cq), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_process(cq, &msg), SG_LGMP_OK);
    assert_int_equal(msg.app_value, 13);
    /* the three skipped ones were released by the client itself */
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 1);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_READ)), 3);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_DEADLINE)), 5010 + 1000); /* host clock + timeout */
    assert_int_equal(sg_lgmp_client_message_done(cq), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_process(cq, &msg), SG_LGMP_QUEUE_EMPTY);
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 0);

    /* a foreign tag in our slot = someone took it over */
    assert_int_equal(sg_lgmp_host_post(f->hq, 20, &f->mem[0]), SG_LGMP_OK);
    lt_put32(f->r, lt_q(0, LT_Q_TAG), lt_u32(f->r, lt_q(0, LT_Q_TAG)) ^ 1);
    assert_int_equal(sg_lgmp_client_advance_to_last(cq), SG_LGMP_QUEUE_TIMEOUT);
}

/* ----------------------------------------------------- client messages */

static void test_cmsg_ring(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *cq;
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &cq), SG_LGMP_OK);
    uint8_t buf[64], big[65] = {0};
    uint32_t len, serial, done;
    assert_int_equal(sg_lgmp_host_read_cmsg(f->hq, buf, &len), SG_LGMP_QUEUE_EMPTY);
    assert_int_equal(sg_lgmp_client_send(cq, big, 65, &serial), SG_LGMP_INVALID_SIZE);
    for (uint32_t round = 0; round < 3; ++round) {
        for (uint32_t i = 0; i < 10; ++i) {
            uint8_t data[64];
            uint32_t n = (i * 7 + round) % 65;
            memset(data, (int)(i + 16 * round), sizeof(data));
            assert_int_equal(sg_lgmp_client_send(cq, data, n, &serial), SG_LGMP_OK);
            assert_int_equal(serial, round * 10 + i + 1);
            size_t slot = lt_q(0, LT_Q_CMSG + 68 * i);
            assert_int_equal(lt_u32(f->r, slot), n);
            if (n)
                assert_memory_equal(f->r + slot + 4, data, n);
        }
        assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_CMSG_FREE)), 0);
        assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_CMSG_WRITE)), 0);
        assert_int_equal(sg_lgmp_client_send(cq, "x", 1, &serial), SG_LGMP_QUEUE_FULL);
        for (uint32_t i = 0; i < 10; ++i) {
            uint32_t n = (i * 7 + round) % 65;
            memset(buf, 0xFF, sizeof(buf));
            assert_int_equal(sg_lgmp_host_read_cmsg(f->hq, buf, &len), SG_LGMP_OK);
            assert_int_equal(len, n);
            for (uint32_t b = 0; b < n; ++b)
                assert_int_equal(buf[b], i + 16 * round);
            assert_int_equal(sg_lgmp_client_get_serial(cq, &done), SG_LGMP_OK);
            assert_int_equal(done, round * 10 + i);
            sg_lgmp_host_ack_cmsg(f->hq);
            assert_int_equal(sg_lgmp_client_get_serial(cq, &done), SG_LGMP_OK);
            assert_int_equal(done, round * 10 + i + 1);
        }
        assert_int_equal(sg_lgmp_host_read_cmsg(f->hq, buf, &len), SG_LGMP_QUEUE_EMPTY);
        assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_CMSG_FREE)), 10);
    }
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_CMSG_SENT)), 30);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_CMSG_DONE)), 30);
}

/* ----------------------------------------------------- session validity */

static void test_heartbeat_loss(void **state)
{
    struct fx *f = *state;
    assert_true(sg_lgmp_client_session_valid(f->client));
    sg_fake_clock_advance(&f->cclk, 1000);
    assert_true(sg_lgmp_client_session_valid(f->client)); /* exactly 1000: still fine */
    sg_fake_clock_advance(&f->cclk, 1);
    assert_false(sg_lgmp_client_session_valid(f->client));
    tick(f, 10); /* the heartbeat moves again: valid, and the 1000 ms restart */
    assert_true(sg_lgmp_client_session_valid(f->client));
    sg_fake_clock_advance(&f->cclk, 1000);
    assert_true(sg_lgmp_client_session_valid(f->client));
    sg_fake_clock_advance(&f->cclk, 5);
    assert_false(sg_lgmp_client_session_valid(f->client));

    /* a fresh client on a host that does not tick cannot start a session */
    struct sg_lgmp_client *c2;
    assert_int_equal(sg_lgmp_client_create(&c2, f->r, f->size, &f->cclk.clock), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_session_init(c2, NULL, NULL), SG_LGMP_INVALID_SESSION);
    assert_false(sg_lgmp_client_session_valid(c2));
    tick(f, 10);
    assert_int_equal(sg_lgmp_client_session_init(c2, NULL, NULL), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_session_id(c2), sg_lgmp_host_session_id(f->host));
    sg_lgmp_client_destroy(c2);
}

static void test_host_restart(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *old;
    struct sg_lgmp_message msg;
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &old), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_post(f->hq, 1, &f->mem[0]), SG_LGMP_OK);
    uint32_t sid = sg_lgmp_host_session_id(f->host);
    sg_lgmp_host_destroy(f->host);

    /* a new host on the same region: same layout, new session */
    assert_int_equal(sg_lgmp_host_create(&f->host, f->r, f->size, app, sizeof(app), &f->hclk.clock),
                     SG_LGMP_OK);
    assert_int_not_equal(sg_lgmp_host_session_id(f->host), sid);
    assert_false(sg_lgmp_client_session_valid(f->client));
    assert_int_equal(sg_lgmp_client_process(old, &msg), SG_LGMP_INVALID_SESSION);
    assert_int_equal(sg_lgmp_host_queue_create(f->host, 7, 4, 1000, &f->hq), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_process(old, &msg), SG_LGMP_INVALID_SESSION);
    assert_int_equal(sg_lgmp_client_message_done(old), SG_LGMP_INVALID_SESSION);

    /* another client takes slot 0 in the new session */
    struct sg_lgmp_client *c2;
    struct sg_lgmp_client_queue *q2, *q3;
    assert_int_equal(sg_lgmp_client_create(&c2, f->r, f->size, &f->cclk.clock), SG_LGMP_OK);
    tick(f, 10);
    assert_int_equal(sg_lgmp_client_session_init(c2, NULL, NULL), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_subscribe(c2, 7, &q2), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_queue_slot(q2), 0);
    /* the old subscription must not clear it (§11) */
    assert_int_equal(sg_lgmp_client_unsubscribe(&old), SG_LGMP_INVALID_SESSION);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_SUBS)), 1ull << 32);

    /* the first client starts over */
    assert_int_equal(sg_lgmp_client_session_init(f->client, NULL, NULL), SG_LGMP_OK);
    assert_true(sg_lgmp_client_session_valid(f->client));
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &q3), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_queue_slot(q3), 1);
    assert_int_equal(sg_lgmp_host_post(f->hq, 99, &f->mem[2]), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_process(q3, &msg), SG_LGMP_OK);
    assert_int_equal(msg.app_value, 99);
    sg_lgmp_client_destroy(c2);
}

static void test_unsubscribed_vs_invalid_session(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *cq;
    struct sg_lgmp_message msg;
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &cq), SG_LGMP_OK);
    /* someone (a buggy peer) cleared our ACTIVE bit */
    lt_put64(f->r, lt_q(0, LT_Q_SUBS), 0);
    assert_int_equal(sg_lgmp_client_process(cq, &msg), SG_LGMP_QUEUE_UNSUBSCRIBED);
    sg_fake_clock_advance(&f->cclk, 1001); /* and the host stopped ticking */
    assert_int_equal(sg_lgmp_client_process(cq, &msg), SG_LGMP_INVALID_SESSION);
}

/* ------------------------------------------- hostile host (client checks) */

static void test_client_create_errors(void **state)
{
    (void)state;
    uint8_t *r = lt_region(8192);
    struct sg_fake_clock clk;
    sg_fake_clock_init(&clk, 0);
    struct sg_lgmp_client *c = (void *)1;
    assert_int_equal(sg_lgmp_client_create(&c, r, 5759, NULL), SG_LGMP_INVALID_SIZE);
    assert_null(c);
    assert_int_equal(sg_lgmp_client_create(&c, r, 8192, &clk.clock), SG_LGMP_CLOCK_FAILURE);
    sg_fake_clock_set(&clk, 1);
    assert_int_equal(sg_lgmp_client_create(&c, r, 5760, &clk.clock), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_session_init(c, NULL, NULL), SG_LGMP_INVALID_MAGIC);
    memcpy(r, "LGMP", 4);
    lt_put32(r, 4, 5);
    assert_int_equal(sg_lgmp_client_session_init(c, NULL, NULL), SG_LGMP_INVALID_VERSION);
    lt_put32(r, 4, 6);
    assert_int_equal(sg_lgmp_client_session_init(c, NULL, NULL),
                     SG_LGMP_INVALID_SESSION); /* clock 0 == seen 0 */
    lt_put64(r, 16, 77);
    assert_int_equal(sg_lgmp_client_session_init(c, NULL, NULL), SG_LGMP_OK);
    struct sg_lgmp_client_queue *q;
    assert_int_equal(sg_lgmp_client_subscribe(c, 1, &q), SG_LGMP_NO_SUCH_QUEUE);
    sg_lgmp_client_destroy(c);
    sg_lgmp_client_destroy(NULL);
    free(r);
}

static void test_hostile_app_data_and_queue_count(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *q;
    const uint8_t *ad = NULL;
    uint32_t adsz = 0;
    uint64_t beat = lt_u64(f->r, 16);
    static const uint32_t bad_sizes[] = {REGION_SIZE - 5756 + 1, 0xFFFFFFFFu, 0xFFFFFFFFu - 5000};
    for (unsigned i = 0; i < 3; ++i) {
        lt_put32(f->r, 5752, bad_sizes[i]);
        lt_put64(f->r, 16, ++beat);
        assert_int_equal(sg_lgmp_client_session_init(f->client, &ad, &adsz), SG_LGMP_BAD_APP_DATA_SIZE);
    }
    lt_put32(f->r, 5752, REGION_SIZE - 5756); /* exactly to the end: fine */
    lt_put64(f->r, 16, ++beat);
    assert_int_equal(sg_lgmp_client_session_init(f->client, &ad, &adsz), SG_LGMP_OK);
    assert_int_equal(adsz, REGION_SIZE - 5756);
    assert_ptr_not_equal(ad, f->r + 5756); /* a copy, not the region */
    assert_memory_equal(ad, f->r + 5756, 64);

    lt_put32(f->r, 24, 6);
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &q), SG_LGMP_BAD_QUEUE_COUNT);
    lt_put64(f->r, 16, ++beat);
    assert_int_equal(sg_lgmp_client_session_init(f->client, &ad, &adsz), SG_LGMP_BAD_QUEUE_COUNT);
    lt_put32(f->r, 24, 0xFFFFFFFFu);
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &q), SG_LGMP_BAD_QUEUE_COUNT);
    lt_put32(f->r, 24, 1);
}

static void test_app_data_cap(void **state)
{
    (void)state;
    size_t size = 4u << 20;
    uint8_t *r = lt_region(size);
    memcpy(r, "LGMP", 4);
    lt_put32(r, 4, 6);
    lt_put32(r, 5752, SG_LGMP_MAX_APP_DATA + 1); /* inside the region, but absurd */
    struct sg_lgmp_client *c;
    assert_int_equal(sg_lgmp_client_create(&c, r, size, NULL), SG_LGMP_OK);
    lt_put64(r, 16, 5);
    assert_int_equal(sg_lgmp_client_session_init(c, NULL, NULL), SG_LGMP_BAD_APP_DATA_SIZE);
    lt_put32(r, 5752, SG_LGMP_MAX_APP_DATA);
    assert_int_equal(sg_lgmp_client_session_init(c, NULL, NULL), SG_LGMP_OK);
    sg_lgmp_client_destroy(c);
    free(r);
}

static void test_hostile_ring_geometry(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *q = (void *)1;
    size_t sc = lt_q(0, LT_Q_SLOT_COUNT), ro = lt_q(0, LT_Q_RING);
    uint32_t good_sc = lt_u32(f->r, sc), good_ro = lt_u32(f->r, ro);
    static const struct {
        uint32_t sc, ro;
        enum sg_lgmp_status want;
    } cases[] = {
        {0, 6000, SG_LGMP_BAD_SLOT_COUNT},
        {1, 6000, SG_LGMP_BAD_SLOT_COUNT},
        {0xFFFFFFFFu, 6000, SG_LGMP_BAD_SLOT_COUNT},
        {0x10000001u, 6000, SG_LGMP_BAD_SLOT_COUNT}, /* 16 * n wraps in 32 bits */
        {REGION_SIZE / 16 + 1, 6000, SG_LGMP_BAD_SLOT_COUNT},
        {5, REGION_SIZE - 16 * 5 + 4, SG_LGMP_BAD_RING}, /* one slot past the end */
        {5, 0xFFFFFFF0u, SG_LGMP_BAD_RING},              /* offset + size wraps */
        {5, 6002, SG_LGMP_BAD_RING},                     /* misaligned */
        {5, 1000, SG_LGMP_BAD_RING},                     /* inside the header */
        {REGION_SIZE / 16, 0, SG_LGMP_BAD_RING},
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        lt_put32(f->r, sc, cases[i].sc);
        lt_put32(f->r, ro, cases[i].ro);
        assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &q), cases[i].want);
        assert_null(q);
        assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_SUBS)), 0); /* nothing written */
    }
    lt_put32(f->r, sc, 5);
    lt_put32(f->r, ro, REGION_SIZE - 16 * 5); /* flush with the end: accepted */
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &q), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_unsubscribe(&q), SG_LGMP_OK);
    lt_put32(f->r, sc, good_sc);
    lt_put32(f->r, ro, good_ro);
}

static void test_hostile_indexes(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *q;
    struct sg_lgmp_message msg;
    size_t wi = lt_q(0, LT_Q_WRITE);
    lt_put32(f->r, wi, 5); /* slot_count is 5 */
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &q), SG_LGMP_BAD_INDEX);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_SUBS)), 0);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_LOCK)), 0); /* released */
    lt_put32(f->r, wi, 0);
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &q), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_post(f->hq, 1, &f->mem[0]), SG_LGMP_OK);
    static const uint32_t bad[] = {5, 6, 0x80000000u, 0xFFFFFFFFu};
    for (unsigned i = 0; i < 4; ++i) {
        lt_put32(f->r, wi, bad[i]);
        assert_int_equal(sg_lgmp_client_process(q, &msg), SG_LGMP_BAD_INDEX);
        assert_int_equal(sg_lgmp_client_message_done(q), SG_LGMP_BAD_INDEX);
        assert_int_equal(sg_lgmp_client_advance_to_last(q), SG_LGMP_BAD_INDEX);
    }
    lt_put32(f->r, wi, 1);
    assert_int_equal(sg_lgmp_client_process(q, &msg), SG_LGMP_OK);
    /* garbage read_index: the client only compares it, never indexes with it */
    lt_put32(f->r, lt_q(0, LT_Q_READ), 0xFFFFFFF0u);
    assert_int_equal(sg_lgmp_client_message_done(q), SG_LGMP_OK);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_READ)), 0xFFFFFFF0u);
    /* cmsg write index out of range */
    lt_put32(f->r, lt_q(0, LT_Q_CMSG_WRITE), 10);
    uint32_t serial;
    assert_int_equal(sg_lgmp_client_send(q, "abc", 3, &serial), SG_LGMP_BAD_INDEX);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_CMSG_LOCK)), 0);
}

static void test_hostile_payload(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *q;
    struct sg_lgmp_message msg;
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &q), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_post(f->hq, 1, &f->mem[0]), SG_LGMP_OK);
    uint32_t ring = lt_u32(f->r, lt_q(0, LT_Q_RING));
    static const struct {
        uint32_t off, size;
        enum sg_lgmp_status want;
    } cases[] = {
        {REGION_SIZE - 10, 64, SG_LGMP_BAD_PAYLOAD},
        {REGION_SIZE, 1, SG_LGMP_BAD_PAYLOAD},
        {0xFFFFFFF0u, 0x20, SG_LGMP_BAD_PAYLOAD}, /* wraps in 32 bits */
        {16, 0xFFFFFFFFu, SG_LGMP_BAD_PAYLOAD},
        {REGION_SIZE - 64, 64, SG_LGMP_OK},
        {REGION_SIZE, 0, SG_LGMP_OK},
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); ++i) {
        lt_put32(f->r, ring + 8, cases[i].off);
        lt_put32(f->r, ring + 4, cases[i].size);
        memset(&msg, 0x5A, sizeof(msg));
        assert_int_equal(sg_lgmp_client_process(q, &msg), cases[i].want);
        if (cases[i].want == SG_LGMP_OK) {
            assert_ptr_equal(msg.mem, f->r + cases[i].off);
            assert_int_equal(msg.size, cases[i].size);
        }
    }
    /* the inspector agrees */
    struct sg_lgmp_info info;
    lt_put32(f->r, ring + 8, 0xFFFFFFF0u);
    lt_put32(f->r, ring + 4, 0x20);
    assert_int_equal(sg_lgmp_inspect(f->r, f->size, &info), SG_LGMP_OK);
    uint32_t pending;
    assert_int_equal(sg_lgmp_inspect_slot(f->r, f->size, &info.queues[0], 0, &msg, &pending),
                     SG_LGMP_BAD_PAYLOAD);
    assert_null(msg.mem);
    assert_int_equal(msg.offset, 0xFFFFFFF0u);
    assert_int_equal(pending, 1);
}

/* --------------------------------------------- hostile client (host checks) */

static void test_host_hostile_cmsg(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *q;
    uint8_t buf[64];
    uint32_t len = 99, serial;
    enum sg_lgmp_status last;
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &q), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_send(q, "one", 3, &serial), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_send(q, "two", 3, &serial), SG_LGMP_OK);
    lt_put32(f->r, lt_q(0, LT_Q_CMSG), 65); /* slot 0 claims 65 bytes */
    assert_int_equal(sg_lgmp_host_faults(f->host, NULL), 0);
    assert_int_equal(sg_lgmp_host_read_cmsg(f->hq, buf, &len), SG_LGMP_BAD_CMSG);
    assert_int_equal(len, 0);
    assert_int_equal(sg_lgmp_host_faults(f->host, &last), 1);
    assert_int_equal(last, SG_LGMP_BAD_CMSG);
    assert_int_equal(sg_lgmp_host_read_cmsg(f->hq, buf, &len), SG_LGMP_OK); /* slot consumed, next one fine */
    assert_int_equal(len, 3);
    assert_memory_equal(buf, "two", 3);
    assert_int_equal(sg_lgmp_host_read_cmsg(f->hq, buf, &len), SG_LGMP_QUEUE_EMPTY);
    lt_put32(f->r, lt_q(0, LT_Q_CMSG + 68 * 2), 0xFFFFFFFFu); /* the host reads slot 2 next */
    lt_put32(f->r, lt_q(0, LT_Q_CMSG_FREE), 9);
    assert_int_equal(sg_lgmp_host_read_cmsg(f->hq, buf, &len), SG_LGMP_BAD_CMSG);
    /* more free slots than exist */
    lt_put32(f->r, lt_q(0, LT_Q_CMSG_FREE), 0x7FFFFFFFu);
    assert_int_equal(sg_lgmp_host_read_cmsg(f->hq, buf, &len), SG_LGMP_QUEUE_EMPTY);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_CMSG_FREE)), 10);
    assert_int_equal(sg_lgmp_host_faults(f->host, &last), 3);
    assert_int_equal(last, SG_LGMP_BAD_INDEX);
}

static void test_host_hostile_queue_fields(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *q;
    struct sg_lgmp_message msg;
    enum sg_lgmp_status last;
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &q), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_post(f->hq, 1, &f->mem[0]), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_post(f->hq, 2, &f->mem[1]), SG_LGMP_OK);

    /* read_index out of range: rebuilt from outstanding */
    lt_put32(f->r, lt_q(0, LT_Q_READ), 0xFFFFFFFFu);
    tick(f, 10);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_READ)), 0);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_OUTSTANDING)), 2);
    assert_int_equal(sg_lgmp_host_faults(f->host, &last), 1);
    assert_int_equal(last, SG_LGMP_BAD_INDEX);

    /* outstanding huge: the ring would look full forever; pending() goes by the
     * read index like post() does, and post repairs the field */
    lt_put32(f->r, lt_q(0, LT_Q_OUTSTANDING), 0xFFFFFFFFu);
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 2);
    assert_int_equal(sg_lgmp_host_post(f->hq, 3, &f->mem[2]), SG_LGMP_OK);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_OUTSTANDING)), 3);
    /* outstanding 0 with messages in the ring: the tick must not skip or underflow */
    lt_put32(f->r, lt_q(0, LT_Q_OUTSTANDING), 0);
    tick(f, 10);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_OUTSTANDING)), 3);
    for (uint32_t v = 1; v <= 3; ++v) {
        assert_int_equal(sg_lgmp_client_process(q, &msg), SG_LGMP_OK);
        assert_int_equal(msg.app_value, v);
        assert_int_equal(sg_lgmp_client_message_done(q), SG_LGMP_OK);
    }
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 0);

    /* oldest_deadline far in the future must not shield a stuck subscriber:
     * cut to the post time + timeout */
    assert_int_equal(sg_lgmp_host_post(f->hq, 4, &f->mem[3]), SG_LGMP_OK); /* deadline now+1000 */
    uint64_t now = lt_u64(f->r, 16);
    lt_put64(f->r, lt_q(0, LT_Q_DEADLINE), UINT64_MAX);
    tick(f, 10);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_DEADLINE)), now + 1000);
    tick(f, 1001);
    assert_int_equal(sg_lgmp_client_process(q, &msg), SG_LGMP_QUEUE_TIMEOUT);

    /* garbage subs: no crash, no loop; BAD bits without ACTIVE dropped */
    lt_put64(f->r, lt_q(0, LT_Q_SUBS), 0xFFFFFFFFFFFFFFFFull);
    assert_int_equal(sg_lgmp_host_post(f->hq, 5, &f->mem[4]), SG_LGMP_OK); /* all bad: dropped */
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 0);
    lt_put64(f->r, lt_q(0, LT_Q_SUBS), 0x00000001FFFFFFFFull); /* slot 0 active, bad half all ones */
    lt_put64(f->r, lt_q(0, LT_Q_SUBS), 0x0000000300000000ull);
    assert_int_equal(sg_lgmp_host_post(f->hq, 6, &f->mem[5]), SG_LGMP_OK);
    lt_put64(f->r, lt_q(0, LT_Q_SUBS), 0x00000003FFFFFFFCull);
    tick(f, 10);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_SUBS)), 0x0000000300000000ull);
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 1);
    for (uint32_t i = 0; i < 1000; ++i) /* random words never hang a tick or a post */
        for (unsigned k = 0; k < 3; ++k) {
            uint64_t x = (uint64_t)rand() << 40 ^ (uint64_t)rand() << 20 ^ (uint64_t)rand();
            static const size_t fields[] = {LT_Q_SUBS, LT_Q_READ, LT_Q_OUTSTANDING};
            if (fields[k] == LT_Q_SUBS)
                lt_put64(f->r, lt_q(0, fields[k]), x);
            else
                lt_put32(f->r, lt_q(0, fields[k]), (uint32_t)x);
            assert_int_equal(sg_lgmp_host_process(f->host), SG_LGMP_OK);
            enum sg_lgmp_status st = sg_lgmp_host_post(f->hq, i, &f->mem[i % 8]);
            assert_true(st == SG_LGMP_OK || st == SG_LGMP_QUEUE_FULL);
            assert_true(lt_u32(f->r, lt_q(0, LT_Q_READ)) < 5);
            assert_true(lt_u32(f->r, lt_q(0, LT_Q_OUTSTANDING)) < 5);
        }
}

/* pending() and post() must agree whatever a client wrote: a publisher waits
 * while pending() says full and posts when it says there is room. outstanding
 * 0 with read_index one past the write index (the queue full by the index)
 * once had pending() say 0 and post() say QUEUE_FULL, and the host retry the
 * post for ever. */
static void test_host_pending_agrees_with_post(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *q;
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &q), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_post(f->hq, 1, &f->mem[0]), SG_LGMP_OK); /* write index 1 of 5 slots */
    lt_put32(f->r, lt_q(0, LT_Q_READ), 2);
    lt_put32(f->r, lt_q(0, LT_Q_OUTSTANDING), 0);
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 4);
    assert_int_equal(sg_lgmp_host_post(f->hq, 2, &f->mem[1]), SG_LGMP_QUEUE_FULL);
    /* every combination of the two fields: full by pending() exactly when post() is full */
    static const uint32_t outs[] = {0, 1, 3, 4, 5, 0x7fffffff, 0xffffffffu};
    for (uint32_t ri = 0; ri < 7; ++ri)
        for (size_t k = 0; k < sizeof(outs) / sizeof(outs[0]); ++k) {
            lt_put32(f->r, lt_q(0, LT_Q_READ), ri == 6 ? 0xfffffff0u : ri);
            lt_put32(f->r, lt_q(0, LT_Q_OUTSTANDING), outs[k]);
            bool full = sg_lgmp_host_queue_pending(f->hq) >= 4;
            enum sg_lgmp_status st = sg_lgmp_host_post(f->hq, 3, &f->mem[2]);
            if (full != (st == SG_LGMP_QUEUE_FULL))
                fail_msg("read_index %u outstanding %u: pending says %s, post gave %s", ri, outs[k],
                         full ? "full" : "room", sg_lgmp_status_str(st));
        }
}

/* Subscribers a client makes up, a different one for each message, are all
 * evicted one timeout after the messages were posted, not one timeout per
 * message (§9.5 restarts the clock for each released message; ours never past
 * the message's own post time + timeout). */
static void test_host_made_up_subscribers_one_timeout(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *q;
    struct sg_lgmp_message msg;
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &q), SG_LGMP_OK); /* slot 0 */
    lt_put64(f->r, lt_q(0, LT_Q_SUBS), (uint64_t)(1u | 1u << 5) << 32);
    assert_int_equal(sg_lgmp_host_post(f->hq, 1, &f->mem[0]), SG_LGMP_OK);
    tick(f, 10);
    lt_put64(f->r, lt_q(0, LT_Q_SUBS), (uint64_t)(1u | 1u << 5 | 1u << 6) << 32);
    assert_int_equal(sg_lgmp_host_post(f->hq, 2, &f->mem[1]), SG_LGMP_OK);
    for (uint32_t v = 1; v <= 2; ++v) { /* the real subscriber takes both at once */
        assert_int_equal(sg_lgmp_client_process(q, &msg), SG_LGMP_OK);
        assert_int_equal(msg.app_value, v);
        assert_int_equal(sg_lgmp_client_message_done(q), SG_LGMP_OK);
    }
    tick(f, 990);
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 2);
    tick(f, 1); /* 1001 ms after the first post, 991 after the second */
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 1);
    tick(f, 10); /* 1001 after the second: its made-up subscriber goes too (§9.5 alone: 2001) */
    assert_int_equal(sg_lgmp_host_queue_pending(f->hq), 0);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_SUBS)) & 0xffffffffu, 1u << 5 | 1u << 6);
    assert_int_equal(sg_lgmp_host_post(f->hq, 3, &f->mem[2]), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_process(q, &msg), SG_LGMP_OK);
    assert_int_equal(msg.app_value, 3);
}

/* A forged bad_until would reserve an evicted slot for good: cut to now +
 * timeout. With all 32 slots claimed (made-up subscribers), the reservations
 * end at once, so that a real client can subscribe after the next tick. */
static void test_host_releases_reservations(void **state)
{
    struct fx *f = *state;
    uint64_t now = lt_u64(f->r, 16);
    lt_put64(f->r, lt_q(0, LT_Q_SUBS), (uint64_t)0x3u << 32 | 0x3u); /* slots 0, 1 evicted */
    lt_put64(f->r, lt_q(0, LT_Q_BAD_UNTIL), UINT64_MAX);
    lt_put64(f->r, lt_q(0, LT_Q_BAD_UNTIL) + 8, now + 500);
    tick(f, 10);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_BAD_UNTIL)), now + 10 + 1000);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_BAD_UNTIL) + 8), now + 500); /* a real one stays */
    lt_put64(f->r, lt_q(0, LT_Q_SUBS), (uint64_t)UINT32_MAX << 32 | 0x3u);
    tick(f, 10);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_BAD_UNTIL)), now + 20);
    assert_int_equal(lt_u64(f->r, lt_q(0, LT_Q_BAD_UNTIL) + 8), now + 20);
    tick(f, 10);
    struct sg_lgmp_client_queue *q; /* reaps slot 0 and takes it */
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &q), SG_LGMP_OK);
}

/* A clock that moves 1 ms on each read: a spin on a held lock ends. */
static uint64_t stepping_now(void *ctx)
{
    uint64_t *t = ctx;
    return ++*t;
}

/* A client that holds a lock for good, against a host with a spin bound:
 * each call spins briefly and gives up, and after the takeover time the host
 * takes the lock over, posts, and leaves it free for the others. */
static void test_host_takes_over_stuck_lock(void **state)
{
    struct fx *f = *state;
    uint64_t ht = 1 << 20, ct = 1 << 20;
    struct sg_clock hclock = {stepping_now, &ht}, cclock = {stepping_now, &ct};
    struct sg_lgmp_host *h;
    struct sg_lgmp_host_queue *hq;
    struct sg_lgmp_client *c;
    struct sg_lgmp_client_queue *q;
    struct sg_lgmp_mem m;
    struct sg_lgmp_message msg;
    assert_int_equal(sg_lgmp_host_create(&h, f->r, f->size, NULL, 0, &hclock), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_queue_create(h, 3, 4, 1000, &hq), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_alloc(h, 16, &m), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_create(&c, f->r, f->size, &cclock), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_process(h), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_session_init(c, NULL, NULL), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_subscribe(c, 3, &q), SG_LGMP_OK);
    sg_lgmp_host_set_lock_spin(h, 2);

    lt_put32(f->r, lt_q(0, LT_Q_LOCK), 1);
    uint64_t t0 = ht;
    assert_int_equal(sg_lgmp_host_post(hq, 1, &m), SG_LGMP_LOCK_STUCK);
    /* one call spins for the short bound, not the client's 1 s */
    assert_true(ht - t0 <= 2 + 2);
    assert_int_equal(sg_lgmp_host_lock_takeovers(h), 0);
    ht += SG_LGMP_HOST_LOCK_TAKEOVER_MS / 2;
    assert_int_equal(sg_lgmp_host_post(hq, 1, &m), SG_LGMP_LOCK_STUCK);
    assert_int_equal(sg_lgmp_host_lock_takeovers(h), 0);
    ht += SG_LGMP_HOST_LOCK_TAKEOVER_MS / 2 + 1;
    assert_int_equal(sg_lgmp_host_post(hq, 1, &m), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_lock_takeovers(h), 1);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_LOCK)), 0);
    assert_int_equal(sg_lgmp_client_process(q, &msg), SG_LGMP_OK);
    assert_int_equal(msg.app_value, 1);
    assert_int_equal(sg_lgmp_client_message_done(q), SG_LGMP_OK);
    /* held again right after: taken over after one short spin */
    lt_put32(f->r, lt_q(0, LT_Q_LOCK), 1);
    assert_int_equal(sg_lgmp_host_post(hq, 2, &m), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_lock_takeovers(h), 2);
    /* free: taken the normal way; a new stuck spell starts from zero, and is
     * cut after the shorter bound now that this lock was taken over once */
    assert_int_equal(sg_lgmp_host_post(hq, 3, &m), SG_LGMP_OK);
    lt_put32(f->r, lt_q(0, LT_Q_LOCK), 1);
    assert_int_equal(sg_lgmp_host_post(hq, 4, &m), SG_LGMP_LOCK_STUCK);
    assert_int_equal(sg_lgmp_host_lock_takeovers(h), 2);
    ht += SG_LGMP_HOST_LOCK_RETAKE_MS + 1;
    assert_int_equal(sg_lgmp_host_post(hq, 4, &m), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_lock_takeovers(h), 3);
    /* the message lock likewise */
    uint32_t serial;
    lt_put32(f->r, lt_q(0, LT_Q_LOCK), 0);
    assert_int_equal(sg_lgmp_client_send(q, "hi", 2, &serial), SG_LGMP_OK);
    lt_put32(f->r, lt_q(0, LT_Q_CMSG_LOCK), 1);
    uint8_t buf[64];
    uint32_t len;
    assert_int_equal(sg_lgmp_host_read_cmsg(hq, buf, &len), SG_LGMP_LOCK_STUCK);
    ht += SG_LGMP_HOST_LOCK_TAKEOVER_MS + 1;
    assert_int_equal(sg_lgmp_host_read_cmsg(hq, buf, &len), SG_LGMP_OK);
    assert_int_equal(len, 2);
    assert_memory_equal(buf, "hi", 2);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_CMSG_LOCK)), 0);
    assert_int_equal(sg_lgmp_host_lock_takeovers(h), 4);
    sg_lgmp_client_destroy(c);
    sg_lgmp_host_destroy(h);
}

static void test_host_magic_wiped(void **state)
{
    struct fx *f = *state;
    f->r[0] = 0;
    assert_int_equal(sg_lgmp_host_process(f->host), SG_LGMP_CORRUPTED);
}

/* A client overwriting any other field only the host writes (clients would no
 * longer attach, or read the wrong ring) makes the tick ask for a new session;
 * the fields clients may write do not. */
static void test_host_own_fields_overwritten(void **state)
{
    struct fx *f = *state;
    static const size_t own[] = {4, 8, 24, 5752, 5756, 5756 + sizeof(app) - 1};
    static const size_t own_q[] = {LT_Q_ID, LT_Q_SLOT_COUNT, LT_Q_TIMEOUT, LT_Q_RING};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]) + sizeof(own_q) / sizeof(own_q[0]); ++i) {
        size_t at =
            i < sizeof(own) / sizeof(own[0]) ? own[i] : lt_q(0, own_q[i - sizeof(own) / sizeof(own[0])]);
        uint8_t old = f->r[at];
        f->r[at] ^= 0x40;
        if (sg_lgmp_host_process(f->host) != SG_LGMP_CORRUPTED)
            fail_msg("byte %zu of the region overwritten: not noticed", at);
        f->r[at] = old;
        assert_int_equal(sg_lgmp_host_process(f->host), SG_LGMP_OK);
    }
    static const size_t theirs[] = {LT_Q_NEW_SUBS, LT_Q_BAD_UNTIL, LT_Q_TAG, LT_Q_CMSG_SENT, LT_Q_CMSG};
    for (size_t i = 0; i < sizeof(theirs) / sizeof(theirs[0]); ++i) {
        f->r[lt_q(0, theirs[i])] ^= 0x40;
        assert_int_equal(sg_lgmp_host_process(f->host), SG_LGMP_OK);
    }
}

/* A clock that moves 100 ms on each read: a spin on a stuck lock gives up fast. */
static uint64_t racing_now(void *ctx)
{
    uint64_t *t = ctx;
    return *t += 100;
}

static void test_stuck_locks(void **state)
{
    struct fx *f = *state;
    uint64_t ht = 1 << 20, ct = 1 << 20;
    struct sg_clock hclock = {racing_now, &ht}, cclock = {racing_now, &ct};
    struct sg_lgmp_host *h;
    struct sg_lgmp_host_queue *hq;
    struct sg_lgmp_client *c;
    struct sg_lgmp_client_queue *q;
    struct sg_lgmp_mem m;
    uint8_t buf[64];
    uint32_t len, serial;
    assert_int_equal(sg_lgmp_host_create(&h, f->r, f->size, NULL, 0, &hclock), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_queue_create(h, 3, 2, 1000, &hq), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_alloc(h, 16, &m), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_create(&c, f->r, f->size, &cclock), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_process(h), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_session_init(c, NULL, NULL), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_subscribe(c, 3, &q), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_send(q, "hi", 2, &serial), SG_LGMP_OK);

    lt_put32(f->r, lt_q(0, LT_Q_LOCK), 1); /* a dead peer holds both locks */
    lt_put32(f->r, lt_q(0, LT_Q_CMSG_LOCK), 1);
    /* the host's calls wait for the takeover, then carry on and leave the locks free */
    assert_int_equal(sg_lgmp_host_post(hq, 1, &m), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_process(h), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_read_cmsg(hq, buf, &len), SG_LGMP_OK);
    assert_int_equal(len, 2);
    assert_int_equal(sg_lgmp_host_lock_takeovers(h), 2); /* the queue lock once, the message lock once */
    assert_true(sg_lgmp_host_faults(h, NULL) >= 2);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_LOCK)), 0);
    assert_int_equal(lt_u32(f->r, lt_q(0, LT_Q_CMSG_LOCK)), 0);
    /* a client spins for its timeout and gives up */
    lt_put32(f->r, lt_q(0, LT_Q_LOCK), 1);
    lt_put32(f->r, lt_q(0, LT_Q_CMSG_LOCK), 1);
    struct sg_lgmp_client_queue *q2;
    assert_int_equal(sg_lgmp_client_subscribe(c, 3, &q2), SG_LGMP_LOCK_STUCK);
    assert_int_equal(sg_lgmp_client_send(q, "hi", 2, &serial), SG_LGMP_LOCK_STUCK);
    assert_int_equal(sg_lgmp_client_unsubscribe(&q), SG_LGMP_LOCK_STUCK);
    sg_lgmp_client_destroy(c);
    sg_lgmp_host_destroy(h);
}

/* ---------------------------------------------------------------- inspect */

static void test_inspect_live(void **state)
{
    struct fx *f = *state;
    struct sg_lgmp_client_queue *q;
    struct sg_lgmp_info info;
    struct sg_lgmp_message msg;
    uint32_t pending;
    assert_int_equal(sg_lgmp_client_subscribe(f->client, 7, &q), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_post(f->hq, 0xC0DE, &f->mem[3]), SG_LGMP_OK);
    uint8_t before[8192];
    memcpy(before, f->r, sizeof(before));
    assert_int_equal(sg_lgmp_inspect(f->r, f->size, &info), SG_LGMP_OK);
    assert_memory_equal(before, f->r, sizeof(before)); /* read-only */
    assert_int_equal(info.magic, SG_LGMP_MAGIC);
    assert_int_equal(info.version, 6);
    assert_int_equal(info.session_id, sg_lgmp_host_session_id(f->host));
    assert_int_equal(info.host_clock_ms, 5010);
    assert_int_equal(info.queue_count, 1);
    assert_int_equal(info.queues_valid, 1);
    assert_int_equal(info.app_data_size, sizeof(app));
    assert_true(info.app_data_ok);
    const struct sg_lgmp_queue_info *qi = &info.queues[0];
    assert_int_equal(qi->queue_id, 7);
    assert_int_equal(qi->slot_count, 5);
    assert_int_equal(qi->sub_timeout_ms, 1000);
    assert_int_equal(qi->ring_offset, (5760 + sizeof(app) + 3) & ~3u);
    assert_int_equal(qi->write_index, 1);
    assert_int_equal(qi->read_index, 0);
    assert_int_equal(qi->outstanding, 1);
    assert_int_equal(qi->subs, 1ull << 32);
    assert_int_equal(qi->oldest_deadline, 6010);
    assert_int_equal(qi->client_tag[0], lt_u32(f->r, lt_q(0, LT_Q_TAG)));
    assert_int_equal(qi->cmsg_free, 10);
    assert_true(qi->ring_ok);
    assert_int_equal(sg_lgmp_inspect_slot(f->r, f->size, qi, 0, &msg, &pending), SG_LGMP_OK);
    assert_int_equal(msg.app_value, 0xC0DE);
    assert_int_equal(msg.offset, f->mem[3].offset);
    assert_ptr_equal(msg.mem, f->mem[3].ptr);
    assert_int_equal(pending, 1);
    assert_int_equal(sg_lgmp_inspect_slot(f->r, f->size, qi, 5, &msg, &pending), SG_LGMP_BAD_INDEX);

    /* problems are reported, first one wins, fields still filled */
    lt_put32(f->r, lt_q(0, LT_Q_WRITE), 9);
    assert_int_equal(sg_lgmp_inspect(f->r, f->size, &info), SG_LGMP_BAD_INDEX);
    assert_false(info.queues[0].ring_ok);
    assert_int_equal(info.queues[0].write_index, 9);
    lt_put32(f->r, 24, 200);
    assert_int_equal(sg_lgmp_inspect(f->r, f->size, &info), SG_LGMP_BAD_QUEUE_COUNT);
    assert_int_equal(info.queues_valid, 5);
    lt_put32(f->r, 24, 1);
    lt_put32(f->r, lt_q(0, LT_Q_WRITE), 1);
    lt_put32(f->r, 5752, REGION_SIZE);
    assert_int_equal(sg_lgmp_inspect(f->r, f->size, &info), SG_LGMP_BAD_APP_DATA_SIZE);
    assert_false(info.app_data_ok);
    lt_put32(f->r, 5752, sizeof(app));
    /* a snapshot edited by the caller is checked again */
    struct sg_lgmp_queue_info evil = *qi;
    evil.ring_offset = REGION_SIZE - 16;
    assert_int_equal(sg_lgmp_inspect_slot(f->r, f->size, &evil, 0, &msg, &pending), SG_LGMP_BAD_RING);
    assert_int_equal(sg_lgmp_inspect(f->r, 5000, &info), SG_LGMP_INVALID_SIZE);
}

/* The region a real B7 host wrote (../shared/fixtures/README.md). */
static uint8_t *load_fixture(size_t *size)
{
    const char *dir = getenv("SG_FIXTURES_DIR");
    if (!dir)
        return NULL;
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "xz -dc '%s/b7-800x600-16M.region.xz'", dir);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    *size = 16u << 20;
    uint8_t *r = lt_region(*size);
    size_t n = fread(r, 1, *size, p);
    if (pclose(p) != 0 || n != *size) {
        free(r);
        return NULL;
    }
    return r;
}

static void test_b7_fixture(void **state)
{
    (void)state;
    size_t size;
    uint8_t *r = load_fixture(&size);
    if (!r) {
        print_message("fixture not available (SG_FIXTURES_DIR)\n");
        skip();
    }
    struct sg_lgmp_info info;
    struct sg_lgmp_message msg;
    uint32_t pending;
    assert_int_equal(sg_lgmp_inspect(r, size, &info), SG_LGMP_OK);
    assert_int_equal(info.version, 6);
    assert_int_equal(info.queue_count, 2);
    assert_int_equal(info.app_data_size, 197);
    assert_memory_equal(r + 5756, "KVMFR---", 8);
    assert_int_equal(info.queues[0].queue_id, 2);
    assert_int_equal(info.queues[0].slot_count, 3);
    assert_int_equal(info.queues[0].sub_timeout_ms, 1000);
    assert_int_equal(info.queues[0].ring_offset, 5960); /* A0 = roundup4(5760 + 197) */
    assert_int_equal(info.queues[0].subs, 1ull << 32);
    assert_int_equal(info.queues[0].outstanding, 1);
    assert_int_equal(info.queues[1].queue_id, 1);
    assert_int_equal(info.queues[1].slot_count, 21);
    assert_int_equal(info.queues[1].ring_offset, 5960 + 48);
    assert_int_equal(info.queues[1].outstanding, 3);
    uint32_t k = info.queues[0].read_index;
    assert_int_equal(sg_lgmp_inspect_slot(r, size, &info.queues[0], k, &msg, &pending), SG_LGMP_OK);
    assert_int_equal(msg.size, 6811648);
    assert_int_equal(msg.offset, 9965568);
    assert_int_equal(pending, 1);
    static const uint32_t cursor_flags[3] = {7, 7, 3};
    for (uint32_t i = 0; i < 3; ++i) {
        k = (info.queues[1].read_index + i) % 21;
        assert_int_equal(sg_lgmp_inspect_slot(r, size, &info.queues[1], k, &msg, &pending), SG_LGMP_OK);
        assert_int_equal(msg.app_value, cursor_flags[i]);
    }

    /* Our client on it: the stale heartbeat refuses a session until it moves. */
    struct sg_fake_clock clk;
    sg_fake_clock_init(&clk, 50);
    struct sg_lgmp_client *c;
    struct sg_lgmp_client_queue *q;
    const uint8_t *ad;
    uint32_t adsz;
    assert_int_equal(sg_lgmp_client_create(&c, r, size, &clk.clock), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_session_init(c, &ad, &adsz), SG_LGMP_INVALID_SESSION);
    lt_put64(r, 16, lt_u64(r, 16) + 10);
    assert_int_equal(sg_lgmp_client_session_init(c, &ad, &adsz), SG_LGMP_OK);
    assert_int_equal(adsz, 197);
    assert_memory_equal(ad, "KVMFR---", 8);
    assert_int_equal(sg_lgmp_client_subscribe(c, 1, &q), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_queue_slot(q), 1); /* the B7 client holds slot 0 */
    assert_int_equal(sg_lgmp_client_process(q, &msg), SG_LGMP_QUEUE_EMPTY);
    sg_lgmp_client_destroy(c);
    assert_int_equal(lt_u64(r, lt_q(1, LT_Q_SUBS)), 1ull << 32);
    free(r);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_fresh_region),
        cmocka_unit_test(test_app_data_size_zero_and_odd),
        cmocka_unit_test(test_host_create_errors),
        cmocka_unit_test(test_session_id_changes),
        cmocka_unit_test_setup_teardown(test_post_process_done, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_queue_full_and_no_subscriber_drop, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_done_without_lock_left_to_host, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unsubscribe_with_outstanding, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_eviction_after_timeout, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_subscribe_queue_full_and_no_such_queue, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_advance_to_last, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_cmsg_ring, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_heartbeat_loss, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_host_restart, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_unsubscribed_vs_invalid_session, fx_setup, fx_teardown),
        cmocka_unit_test(test_client_create_errors),
        cmocka_unit_test_setup_teardown(test_hostile_app_data_and_queue_count, fx_setup, fx_teardown),
        cmocka_unit_test(test_app_data_cap),
        cmocka_unit_test_setup_teardown(test_hostile_ring_geometry, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_hostile_indexes, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_hostile_payload, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_host_hostile_cmsg, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_host_hostile_queue_fields, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_host_pending_agrees_with_post, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_host_takes_over_stuck_lock, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_host_made_up_subscribers_one_timeout, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_host_releases_reservations, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_host_magic_wiped, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_host_own_fields_overwritten, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_stuck_locks, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_inspect_live, fx_setup, fx_teardown),
        cmocka_unit_test(test_b7_fixture),
    };
    return sg_run_tests(argc, argv, tests, NULL, NULL);
}
