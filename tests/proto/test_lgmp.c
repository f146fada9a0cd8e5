/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * LGMP v6 unit tests: host and client on one malloc'ed region, single
 * thread, driven by a fake clock so timeouts are exact and instant.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

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
    assert_int_equal(sg_lgmp_host_create(&f->host, f->r, f->size, app, sizeof(app), &f->hclk.clock), SG_LGMP_OK);
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
    assert_int_equal(r[5756 + U], 0xEE); /* nothing past the app data */
    assert_int_equal(lt_u32(r, 32), 0xEEEEEEEEu); /* queue headers not initialised */

    /* The two B7 queues in B7 order: frames (id 2, 2 msgs), cursor (id 1, 20 msgs). */
    struct sg_lgmp_host_queue *qf, *qc;
    assert_int_equal(sg_lgmp_host_queue_create(h, 2, 2, 1000, &qf), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_queue_create(h, 1, 20, 1000, &qc), SG_LGMP_OK);
    const uint32_t A0 = (5760 + U + 3) & ~3u;
    assert_int_equal(A0, 5960); /* what the B7 fixture shows */
    assert_int_equal(lt_u32(r, 24), 2);

    static const struct { unsigned idx; uint32_t id, slots, ring; } want[] = {
        { 0, 2, 3, 5960 }, { 1, 1, 21, 5960 + 3 * 16 },
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
        assert_int_equal(lt_u64(r, lt_q(i, LT_Q_BAD_UNTIL)), 0xEEEEEEEEEEEEEEEEull); /* §9.2: not initialised */
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
    uint8_t big[3000] = { 0 };
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_fresh_region),
        cmocka_unit_test(test_app_data_size_zero_and_odd),
        cmocka_unit_test(test_host_create_errors),
        cmocka_unit_test(test_session_id_changes),
        cmocka_unit_test_setup_teardown(test_post_process_done, fx_setup, fx_teardown),
        cmocka_unit_test_setup_teardown(test_queue_full_and_no_subscriber_drop, fx_setup, fx_teardown),
    };
    return cmocka_run_group_tests_name("lgmp", tests, NULL, NULL);
}
