/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * LGMP v6 with the host and a client in two threads on one region, real
 * clock, as in production. The host posts thousands of messages with
 * checksummed payloads of varying length, recycling a small pool of buffers
 * the way KVMFR does; the client checks order and every byte, and sends
 * client messages the host checks and acknowledges. Built to run clean under
 * ThreadSanitizer: every cross-thread access goes through the protocol.
 */
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lgmp.h"
#include "lgmp_test_util.h"

#define N_MESSAGES 5000u
#define N_BUFFERS 32u
#define BUF_SIZE 256u
#define QUEUE_LEN 20u
#define REGION_SIZE (1u << 20)
#define CMSG_EVERY 100u

#define N_QUEUES 2u

struct shared {
    uint8_t *r;
    struct sg_lgmp_host *host;
    struct sg_lgmp_host_queue *hq[N_QUEUES];
    struct sg_lgmp_mem buf[N_QUEUES][N_BUFFERS];
    struct sg_lgmp_client *client; /* one client object, one thread per queue */
    int clients_done;              /* atomic */
    uint32_t cmsgs_seen[N_QUEUES];
    uint32_t full_count;
    const char *host_error; /* cmocka asserts only work in the main thread */
};

struct reader {
    struct shared *s;
    uint32_t queue_id;
    int error; /* first failing step */
};

static uint32_t checksum(const uint8_t *p, uint32_t n)
{
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; ++i)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

/* payload: seq, len, len bytes, checksum(seq, len, bytes) */
static void fill(uint8_t *p, uint32_t seq)
{
    uint32_t len = (seq * 37u) % (BUF_SIZE - 12);
    memcpy(p, &seq, 4);
    memcpy(p + 4, &len, 4);
    for (uint32_t i = 0; i < len; ++i)
        p[8 + i] = (uint8_t)(seq * 131u + i);
    uint32_t sum = checksum(p, 8 + len);
    memcpy(p + 8 + len, &sum, 4);
}

static int verify(const uint8_t *p, uint32_t size, uint32_t want_seq)
{
    uint32_t seq, len, sum;
    memcpy(&seq, p, 4);
    memcpy(&len, p + 4, 4);
    if (seq != want_seq || size != BUF_SIZE || len > BUF_SIZE - 12)
        return 0;
    memcpy(&sum, p + 8 + len, 4);
    return sum == checksum(p, 8 + len);
}

static void *client_thread(void *arg)
{
    struct reader *rd = arg;
    struct shared *s = rd->s;
    struct sg_lgmp_client_queue *q = NULL;
    enum sg_lgmp_status st;
    int err = 0;
    if (sg_lgmp_client_subscribe(s->client, rd->queue_id, &q) != SG_LGMP_OK) {
        err = 2;
        goto out;
    }
    for (uint32_t seq = 0; seq < N_MESSAGES;) {
        struct sg_lgmp_message msg;
        st = sg_lgmp_client_process(q, &msg);
        if (st == SG_LGMP_QUEUE_EMPTY) {
            if (!sg_lgmp_client_session_valid(s->client)) {
                err = 3;
                goto out;
            }
            sched_yield();
            continue;
        }
        if (st != SG_LGMP_OK || msg.app_value != seq || !verify(msg.mem, msg.size, seq * 3 + rd->queue_id)) {
            fprintf(stderr, "client: queue %u message %u: %s app_value %u\n", rd->queue_id, seq,
                    sg_lgmp_status_str(st), msg.app_value);
            err = 4;
            goto out;
        }
        if (sg_lgmp_client_message_done(q) != SG_LGMP_OK) {
            err = 5;
            goto out;
        }
        ++seq;
        if (seq % CMSG_EVERY == 0) {
            uint32_t serial;
            while ((st = sg_lgmp_client_send(q, &seq, sizeof(seq), &serial)) == SG_LGMP_QUEUE_FULL)
                sched_yield();
            if (st != SG_LGMP_OK || serial != seq / CMSG_EVERY) {
                err = 6;
                goto out;
            }
        }
    }
    /* wait until the host has acknowledged every client message */
    for (;;) {
        uint32_t done;
        if (sg_lgmp_client_get_serial(q, &done) != SG_LGMP_OK) {
            err = 7;
            goto out;
        }
        if (done >= N_MESSAGES / CMSG_EVERY)
            break;
        sched_yield();
    }
out:
    if (q && sg_lgmp_client_unsubscribe(&q) != SG_LGMP_OK && !err)
        err = 8;
    rd->error = err;
    __atomic_fetch_add(&s->clients_done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static void host_read_cmsgs(struct shared *s, uint32_t k)
{
    uint32_t v, len;
    uint8_t buf[SG_LGMP_CMSG_PAYLOAD];
    while (sg_lgmp_host_read_cmsg(s->hq[k], buf, &len) == SG_LGMP_OK) {
        memcpy(&v, buf, 4);
        if (len != 4 || v != (s->cmsgs_seen[k] + 1) * CMSG_EVERY) {
            s->host_error = "client message content";
            return;
        }
        s->cmsgs_seen[k]++;
        sg_lgmp_host_ack_cmsg(s->hq[k]);
    }
}

static void *host_thread(void *arg)
{
    struct shared *s = arg;
    uint64_t last_tick = 0;
    uint32_t seq[N_QUEUES] = {0};
    while (__atomic_load_n(&s->clients_done, __ATOMIC_SEQ_CST) < (int)N_QUEUES) {
        uint64_t now = sg_clock_monotonic_ms(NULL);
        if (now - last_tick >= 10) { /* B7 ticks every 10 ms */
            if (sg_lgmp_host_process(s->host) != SG_LGMP_OK)
                s->host_error = "host process";
            for (uint32_t k = 0; k < N_QUEUES; ++k)
                host_read_cmsgs(s, k);
            last_tick = now;
        }
        bool posted = false;
        for (uint32_t k = 0; k < N_QUEUES; ++k) {
            if (seq[k] >= N_MESSAGES || !sg_lgmp_host_queue_has_subs(s->hq[k]))
                continue;
            struct sg_lgmp_mem *m = &s->buf[k][seq[k] % N_BUFFERS];
            /* Reusing buffer seq % 32 is safe: a successful post means at
             * most 19 older messages are unreleased, so seq - 32 is done. */
            fill(m->ptr, seq[k] * 3 + (k + 1));
            enum sg_lgmp_status st = sg_lgmp_host_post(s->hq[k], seq[k], m);
            if (st == SG_LGMP_OK) {
                ++seq[k];
                posted = true;
            } else {
                if (st != SG_LGMP_QUEUE_FULL)
                    s->host_error = "host post";
                s->full_count++;
            }
        }
        if (!posted)
            sched_yield();
    }
    for (uint32_t k = 0; k < N_QUEUES; ++k)
        host_read_cmsgs(s, k);
    return NULL;
}

static void test_two_threads(void **state)
{
    (void)state;
    static struct shared s;
    memset(&s, 0, sizeof(s));
    s.r = lt_region(REGION_SIZE);
    assert_non_null(s.r);
    assert_int_equal(sg_lgmp_host_create(&s.host, s.r, REGION_SIZE, "app", 3, NULL), SG_LGMP_OK);
    /* a generous timeout: a sanitizer build on loaded cores must not evict */
    for (uint32_t k = 0; k < N_QUEUES; ++k) {
        assert_int_equal(sg_lgmp_host_queue_create(s.host, k + 1, QUEUE_LEN, 5000, &s.hq[k]), SG_LGMP_OK);
        for (uint32_t i = 0; i < N_BUFFERS; ++i)
            assert_int_equal(sg_lgmp_host_alloc(s.host, BUF_SIZE, &s.buf[k][i]), SG_LGMP_OK);
    }
    assert_int_equal(sg_lgmp_client_create(&s.client, s.r, REGION_SIZE, NULL), SG_LGMP_OK);

    pthread_t ht, ct[N_QUEUES];
    struct reader rd[N_QUEUES];
    assert_int_equal(pthread_create(&ht, NULL, host_thread, &s), 0);
    enum sg_lgmp_status st;
    while ((st = sg_lgmp_client_session_init(s.client, NULL, NULL)) == SG_LGMP_INVALID_SESSION)
        sched_yield(); /* until the host ticks */
    assert_int_equal(st, SG_LGMP_OK);
    for (uint32_t k = 0; k < N_QUEUES; ++k) {
        rd[k] = (struct reader){.s = &s, .queue_id = k + 1};
        assert_int_equal(pthread_create(&ct[k], NULL, client_thread, &rd[k]), 0);
    }
    for (uint32_t k = 0; k < N_QUEUES; ++k)
        pthread_join(ct[k], NULL);
    pthread_join(ht, NULL);
    assert_null(s.host_error);
    for (uint32_t k = 0; k < N_QUEUES; ++k) {
        assert_int_equal(rd[k].error, 0);
        assert_int_equal(s.cmsgs_seen[k], N_MESSAGES / CMSG_EVERY);
        assert_false(sg_lgmp_host_queue_has_subs(s.hq[k]));
    }
    assert_int_equal(sg_lgmp_host_faults(s.host, NULL), 0);
    print_message("%u messages on each of %u queues, host saw QUEUE_FULL %u times\n", N_MESSAGES, N_QUEUES,
                  s.full_count);
    sg_lgmp_client_destroy(s.client);
    sg_lgmp_host_destroy(s.host);
    free(s.r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_threads),
    };
    return cmocka_run_group_tests_name("lgmp_threads", tests, NULL, NULL);
}
