/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The session module against an in-process host: SET_CURSOR_POS is sent on
 * the cursor queue, acknowledged and reported; without feature bit 0 it is
 * refused; a host restart is followed. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>

#include <cmocka.h>

#include "kvmfr.h"
#include "lgmp.h"
#include "session.h"
#include "shm.h"

static struct sg_shm shm;
static char path[128];
static pthread_mutex_t host_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sg_lgmp_host *host;
static struct sg_lgmp_host_queue *fq, *cq;
static atomic_bool stop;
static atomic_int got_x, got_y, got_count;
static pthread_t tick_thread;
static struct sg_lgmp_mem blocks_posted;
static char replaced_path[128];
static atomic_bool posted;

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* The logs of the two log-flood tests (set in main, removed on SIGTERM). */
static char evict_log[160], flood_log[160];

/* stderr redirected into a file, so a test can count what the session logged. */
struct captured_stderr {
    int saved;
    FILE *f;
};

static void stderr_capture_begin(struct captured_stderr *c, const char *log_path)
{
    fflush(stderr);
    c->saved = dup(2);
    c->f = fopen(log_path, "w+");
    assert_non_null(c->f);
    dup2(fileno(c->f), 2);
}

/* Restores stderr; returns the capture file, rewound for reading (the caller closes it). */
static FILE *stderr_capture_end(struct captured_stderr *c)
{
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    rewind(c->f);
    return c->f;
}

static void start_host(uint32_t features)
{
    struct sg_kvmfr_info info = {.version = SG_KVMFR_VERSION, .features = features};
    snprintf(info.host_version, sizeof(info.host_version), "session-test");
    uint8_t ad[512];
    size_t n = sg_kvmfr_build_info(&info, ad, sizeof(ad));
    pthread_mutex_lock(&host_lock);
    sg_lgmp_host_destroy(host);
    assert_int_equal(sg_lgmp_host_create(&host, shm.base, shm.size, ad, (uint32_t)n, NULL), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_queue_create(host, SG_KVMFR_FRAME_QUEUE_ID, 2, 1000, &fq), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_queue_create(host, SG_KVMFR_CURSOR_QUEUE_ID, 20, 1000, &cq), SG_LGMP_OK);
    pthread_mutex_unlock(&host_lock);
}

static void *ticker(void *arg)
{
    while (!atomic_load(&stop)) {
        pthread_mutex_lock(&host_lock);
        sg_lgmp_host_process(host);
        uint8_t msg[64];
        uint32_t len = sizeof(msg);
        while (sg_lgmp_host_read_cmsg(cq, msg, &len) == SG_LGMP_OK) {
            int32_t x, y;
            if (sg_kvmfr_decode_set_cursor_pos(msg, len, &x, &y)) {
                atomic_store(&got_x, x);
                atomic_store(&got_y, y);
                atomic_fetch_add(&got_count, 1);
            }
            sg_lgmp_host_ack_cmsg(cq);
            len = sizeof(msg);
        }
        pthread_mutex_unlock(&host_lock);
        sleep_ms(10);
    }
    return NULL;
}

static void wait_state(struct sg_session *s, enum sg_session_state want, uint32_t min_restarts)
{
    struct sg_session_status st;
    for (int i = 0; i < 500; i++) {
        sg_session_get_status(s, &st);
        if (st.state == want && st.restarts >= min_restarts)
            return;
        sleep_ms(10);
    }
    fail_msg("state %s (%s), wanted %s", sg_session_state_str(st.state), st.message,
             sg_session_state_str(want));
}

static void set_cursor_pos(void **state)
{
    start_host(SG_KVMFR_FEATURE_SET_CURSOR_POS);
    assert_int_equal(pthread_create(&tick_thread, NULL, ticker, NULL), 0);
    struct sg_session_opts o = {.path = path, .poll_us = 1000, .retry_ms = 50};
    struct sg_session *s = sg_session_create(&o);
    assert_non_null(s);
    wait_state(s, SG_SESSION_RUNNING, 0);
    assert_true(sg_session_can_set_cursor_pos(s));

    uint32_t id = sg_session_set_cursor_pos(s, 123, -45);
    assert_int_not_equal(id, 0);
    uint32_t got_id = 0;
    enum sg_cursor_pos_result res = SG_CURSOR_POS_FAILED;
    bool done = false;
    for (int i = 0; i < 300 && !done; i++) {
        done = sg_session_cursor_pos_result(s, &got_id, &res);
        if (!done)
            sleep_ms(5);
    }
    assert_true(done);
    assert_int_equal(got_id, id);
    assert_int_equal(res, SG_CURSOR_POS_ACKED);
    assert_int_equal(atomic_load(&got_count), 1);
    assert_int_equal(atomic_load(&got_x), 123);
    assert_int_equal(atomic_load(&got_y), -45);

    /* a new host without feature bit 0: the session follows, and refuses */
    start_host(0);
    wait_state(s, SG_SESSION_RUNNING, 1);
    assert_false(sg_session_can_set_cursor_pos(s));
    assert_int_equal(sg_session_set_cursor_pos(s, 1, 2), 0);

    sg_session_destroy(s);
    atomic_store(&stop, true);
    pthread_join(tick_thread, NULL);
    sg_lgmp_host_destroy(host);
}

/* One cursor message from the host: position (x, y) when pos, visible. */
static void post_cursor(bool pos, int16_t x, int16_t y)
{
    struct sg_lgmp_mem blk;
    pthread_mutex_lock(&host_lock);
    assert_int_equal(sg_lgmp_host_alloc(host, 64, &blk), SG_LGMP_OK);
    struct sg_kvmfr_wire_cursor hdr = {.x = x, .y = y};
    sg_kvmfr_cursor_write(blk.ptr, &hdr);
    uint32_t flags = SG_CURSOR_FLAG_VISIBLE | (pos ? SG_CURSOR_FLAG_POSITION : 0);
    assert_int_equal(sg_lgmp_host_post(cq, flags, &blk), SG_LGMP_OK);
    pthread_mutex_unlock(&host_lock);
}

/* Waits for the session to have taken n cursor messages in all; its status then. */
static struct sg_session_status wait_cursor_updates(struct sg_session *s, uint64_t n)
{
    struct sg_session_status st;
    for (int i = 0; i < 500; i++) {
        sg_session_get_status(s, &st);
        if (st.cursor_updates >= n)
            return st;
        sleep_ms(10);
    }
    fail_msg("%llu cursor messages taken, wanted %llu", (unsigned long long)st.cursor_updates,
             (unsigned long long)n);
    return st;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The guest cursor moving, with no input from us (a mouse passed through to
 * the guest), starts the fast poll as our own input does; a message that does
 * not move it does not. */
static void guest_cursor_moves_start_fast_poll(void **state)
{
    start_host(0);
    atomic_store(&stop, false);
    assert_int_equal(pthread_create(&tick_thread, NULL, ticker, NULL), 0);
    struct sg_session_opts o = {.path = path, .poll_us = 1000, .retry_ms = 50, .input_poll_us = 125};
    struct sg_session *s = sg_session_create(&o);
    assert_non_null(s);
    wait_state(s, SG_SESSION_RUNNING, 0);
    struct sg_session_status st;
    sg_session_get_status(s, &st);
    assert_int_equal(st.fast_poll_until_ns, 0);
    uint64_t n = st.cursor_updates;

    uint64_t t0 = mono_ns();
    post_cursor(true, 100, 200);
    st = wait_cursor_updates(s, ++n);
    assert_true(st.fast_poll_until_ns >= t0 + 50000000ull);
    uint64_t first = st.fast_poll_until_ns;

    post_cursor(true, 100, 200); /* the same place */
    post_cursor(false, 0, 0);    /* no position at all */
    st = wait_cursor_updates(s, n += 2);
    assert_int_equal(st.fast_poll_until_ns, first);

    sleep_ms(2);
    uint64_t t1 = mono_ns();
    post_cursor(true, 101, 200);
    st = wait_cursor_updates(s, ++n);
    assert_true(st.fast_poll_until_ns >= t1 + 50000000ull);
    sg_session_destroy(s);

    /* app:inputPollUs=0: no fast poll, whatever moves */
    o.input_poll_us = 0;
    s = sg_session_create(&o);
    assert_non_null(s);
    wait_state(s, SG_SESSION_RUNNING, 0);
    sg_session_get_status(s, &st);
    post_cursor(true, 300, 400);
    st = wait_cursor_updates(s, st.cursor_updates + 1);
    assert_int_equal(st.fast_poll_until_ns, 0);
    sg_session_destroy(s);

    atomic_store(&stop, true);
    pthread_join(tick_thread, NULL);
    sg_lgmp_host_destroy(host);
    host = NULL;
}

/* Both queues' subscribers marked BAD at once, as the host's tick does to a
 * client that stopped releasing messages; their slots free again at once. */
static void evict_all_once(void)
{
    uint8_t *base = shm.base;
    for (int k = 0; k < 2; k++) {
        uint64_t *subs = (uint64_t *)(base + 32 + 1144 * k + 416);
        uint64_t v = __atomic_load_n(subs, __ATOMIC_SEQ_CST);
        memset(base + 32 + 1144 * k + 24, 0, 256); /* bad_until */
        __atomic_store_n(subs, (v & 0xffffffff00000000ull) | (v >> 32), __ATOMIC_SEQ_CST);
    }
}

static bool wait_can_set_pos(struct sg_session *s)
{
    for (int i = 0; i < 300; i++) {
        if (sg_session_can_set_cursor_pos(s))
            return true;
        sleep_ms(10);
    }
    return false;
}

static void wait_pos_result(struct sg_session *s, uint32_t id, enum sg_cursor_pos_result want)
{
    uint32_t got_id = 0;
    enum sg_cursor_pos_result res = want == SG_CURSOR_POS_ACKED ? SG_CURSOR_POS_FAILED : SG_CURSOR_POS_ACKED;
    bool done = false;
    for (int i = 0; i < 300 && !done; i++) {
        done = sg_session_cursor_pos_result(s, &got_id, &res);
        if (!done)
            sleep_ms(5);
    }
    assert_true(done);
    assert_int_equal(got_id, id);
    assert_int_equal(res, want);
}

/* After an eviction the session subscribes again, and SET_CURSOR_POS works again:
 * it is sent on the new subscription and acknowledged. */
static void set_cursor_pos_after_eviction(void **state)
{
    atomic_store(&stop, false);
    atomic_store(&got_count, 0);
    start_host(SG_KVMFR_FEATURE_SET_CURSOR_POS);
    pthread_t tk;
    assert_int_equal(pthread_create(&tk, NULL, ticker, NULL), 0);
    struct sg_session_opts o = {.path = path, .poll_us = 1000, .retry_ms = 50};
    struct sg_session *s = sg_session_create(&o);
    assert_non_null(s);
    wait_state(s, SG_SESSION_RUNNING, 0);
    assert_true(wait_can_set_pos(s));

    evict_all_once();
    struct sg_session_status st;
    for (int i = 0; i < 300; i++) {
        sg_session_get_status(s, &st);
        if (st.evictions >= 1)
            break;
        sleep_ms(10);
    }
    assert_int_equal(st.evictions, 1);
    assert_int_equal(st.restarts, 0); /* the same host session, subscribed again */
    assert_true(wait_can_set_pos(s));
    uint32_t id = sg_session_set_cursor_pos(s, 77, 88);
    assert_int_not_equal(id, 0);
    wait_pos_result(s, id, SG_CURSOR_POS_ACKED);
    assert_int_equal(atomic_load(&got_count), 1);
    assert_int_equal(atomic_load(&got_x), 77);
    assert_int_equal(atomic_load(&got_y), 88);
    sg_session_get_status(s, &st);
    assert_int_equal(st.state, SG_SESSION_RUNNING);
    assert_int_equal(st.evictions, 1);

    sg_session_destroy(s);
    atomic_store(&stop, true);
    pthread_join(tk, NULL);
    sg_lgmp_host_destroy(host);
    host = NULL;
}

static void *evictor(void *arg)
{
    uint8_t *base = shm.base;
    while (!atomic_load(&stop)) {
        for (int k = 0; k < 2; k++) {
            uint64_t *subs = (uint64_t *)(base + 32 + 1144 * k + 416);
            uint64_t v = __atomic_load_n(subs, __ATOMIC_SEQ_CST);
            uint32_t active = (uint32_t)(v >> 32);
            if (active & ~(uint32_t)v) { /* a fresh subscriber: evicted at once, its slot free again */
                memset(base + 32 + 1144 * k + 24, 0, 256); /* bad_until */
                __atomic_store_n(subs, ((uint64_t)active << 32) | active, __ATOMIC_SEQ_CST);
            }
        }
        sleep_ms(1);
    }
    return NULL;
}

/* A guest that evicts every subscriber the moment it appears: the session
 * subscribes again, but not in a busy loop that floods the log. */
static void eviction_storm(void **state)
{
    atomic_store(&stop, false);
    start_host(0);
    pthread_t tk, ev;
    assert_int_equal(pthread_create(&tk, NULL, ticker, NULL), 0);
    struct captured_stderr cap;
    stderr_capture_begin(&cap, evict_log);
    struct sg_session_opts o = {.path = path, .poll_us = 1000, .retry_ms = 50};
    struct sg_session *s = sg_session_create(&o);
    assert_non_null(s);
    wait_state(s, SG_SESSION_RUNNING, 0);
    assert_int_equal(pthread_create(&ev, NULL, evictor, NULL), 0);
    sleep_ms(2000);
    struct sg_session_status st;
    sg_session_get_status(s, &st);
    atomic_store(&stop, true);
    pthread_join(ev, NULL);
    pthread_join(tk, NULL);
    sg_session_destroy(s);
    FILE *lf = stderr_capture_end(&cap);
    char line[512];
    unsigned lines = 0;
    while (fgets(line, sizeof(line), lf))
        lines++;
    fclose(lf);
    unlink(evict_log);
    fprintf(stderr, "eviction storm: %u evictions, %u log lines in 2 s\n", st.evictions, lines);
    assert_true(st.evictions >= 2);  /* it did keep trying */
    assert_true(st.evictions <= 60); /* but not thousands of times a second */
    assert_true(lines <= 30);
    sg_lgmp_host_destroy(host);
    host = NULL;
}

static atomic_uint bad_posted;

static void *bad_frame_host(void *arg)
{
    struct sg_lgmp_mem blk;
    pthread_mutex_lock(&host_lock);
    assert_int_equal(sg_lgmp_host_alloc_aligned(host, 4096, 64u << 10, &blk), SG_LGMP_OK);
    sg_kvmfr_frame_init_block(blk.ptr, 4092);
    struct sg_kvmfr_wire_frame hdr = {.type = 99,
                                      .screen_width = 64,
                                      .screen_height = 64,
                                      .data_width = 64,
                                      .data_height = 64,
                                      .frame_width = 64,
                                      .frame_height = 64,
                                      .stride = 64,
                                      .pitch = 256};
    sg_kvmfr_frame_write(blk.ptr, &hdr);
    pthread_mutex_unlock(&host_lock);
    uint64_t n = 0;
    while (!atomic_load(&stop)) {
        pthread_mutex_lock(&host_lock);
        if (n++ % 50 == 0)
            sg_lgmp_host_process(host);
        if (sg_lgmp_host_queue_pending(fq) < 2 && sg_lgmp_host_post(fq, 0, &blk) == SG_LGMP_OK &&
            sg_lgmp_host_queue_has_subs(fq))
            atomic_fetch_add(&bad_posted, 1);
        pthread_mutex_unlock(&host_lock);
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

/* A guest posting nothing but invalid frames as fast as the client takes them:
 * every one is counted, the log says so without a line for each. */
static void rejection_flood(void **state)
{
    atomic_store(&stop, false);
    start_host(0);
    struct captured_stderr cap;
    stderr_capture_begin(&cap, flood_log);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, bad_frame_host, NULL), 0);
    struct sg_session_opts o = {.path = path, .poll_us = 100, .retry_ms = 50};
    struct sg_session *s = sg_session_create(&o);
    assert_non_null(s);
    wait_state(s, SG_SESSION_RUNNING, 0);
    sleep_ms(2500);
    atomic_store(&stop, true);
    pthread_join(t, NULL);
    sleep_ms(100);
    struct sg_session_status st;
    sg_session_get_status(s, &st);
    sg_session_destroy(s);
    FILE *lf = stderr_capture_end(&cap);
    char line[512];
    unsigned lines = 0, summaries = 0;
    while (fgets(line, sizeof(line), lf)) {
        if (!strstr(line, "rejected: BAD_FRAME_TYPE"))
            continue;
        lines++;
        summaries += strstr(line, "similar rejections not logged") != NULL;
    }
    fclose(lf);
    if (!getenv("SG_KEEP_LOG"))
        unlink(flood_log);
    fprintf(stderr, "rejection flood: %u posted, %u rejected, %u log lines (%u with a count)\n",
            atomic_load(&bad_posted), st.rejected, lines, summaries);
    assert_true(st.rejected >= 500); /* a flood it was, and every one counted */
    assert_true(st.rejected <= atomic_load(&bad_posted));
    assert_true(lines >= 1 && lines <= 20); /* a burst, then one a second */
    assert_true(summaries >= 1);
    sg_lgmp_host_destroy(host);
    host = NULL;
}

/* A guest that holds the cursor queue's client-message lock: SET_CURSOR_POS
 * fails after the lock timeout, and the window's thread never waits for it. */
static void stuck_cmsg_lock(void **state)
{
    atomic_store(&stop, false);
    atomic_store(&got_count, 0);
    start_host(SG_KVMFR_FEATURE_SET_CURSOR_POS);
    pthread_t tk;
    assert_int_equal(pthread_create(&tk, NULL, ticker, NULL), 0);
    struct sg_session_opts o = {.path = path, .poll_us = 1000, .retry_ms = 50};
    struct sg_session *s = sg_session_create(&o);
    assert_non_null(s);
    wait_state(s, SG_SESSION_RUNNING, 0);
    /* the cursor queue is the second one; cmsg_lock at 444 in its header */
    uint32_t *lock = (uint32_t *)((uint8_t *)shm.base + 32 + 1144 + 444);
    __atomic_store_n(lock, 1, __ATOMIC_SEQ_CST);
    uint32_t id = sg_session_set_cursor_pos(s, 10, 20);
    assert_int_not_equal(id, 0);
    uint64_t worst_us = 0;
    struct timespec a, b;
    uint32_t got_id = 0;
    enum sg_cursor_pos_result res = SG_CURSOR_POS_ACKED;
    bool done = false;
    for (int i = 0; i < 400 && !done; i++) {
        clock_gettime(CLOCK_MONOTONIC, &a);
        struct sg_session_status st;
        sg_session_get_status(s, &st); /* what the window does every loop */
        done = sg_session_cursor_pos_result(s, &got_id, &res);
        clock_gettime(CLOCK_MONOTONIC, &b);
        uint64_t us =
            (uint64_t)(((int64_t)b.tv_sec - a.tv_sec) * 1000000 + ((int64_t)b.tv_nsec - a.tv_nsec) / 1000);
        worst_us = us > worst_us ? us : worst_us;
        sleep_ms(5);
    }
    __atomic_store_n(lock, 0, __ATOMIC_SEQ_CST);
    sg_session_destroy(s);
    atomic_store(&stop, true);
    pthread_join(tk, NULL);
    fprintf(stderr, "stuck cmsg lock: result %d after, longest status call %llu us\n", (int)res,
            (unsigned long long)worst_us);
    assert_true(done);
    assert_int_equal(got_id, id);
    assert_int_equal(res, SG_CURSOR_POS_FAILED);
    assert_int_equal(atomic_load(&got_count), 0);
    assert_true(worst_us < 200000);
    sg_lgmp_host_destroy(host);
    host = NULL;
}

/* Only the heartbeat: the host's own tick would spin on the held lock too. */
static void *heartbeat_only(void *arg)
{
    uint64_t *clock = (uint64_t *)((uint8_t *)shm.base + 16);
    while (!atomic_load(&stop)) {
        __atomic_fetch_add(clock, 10, __ATOMIC_SEQ_CST);
        sleep_ms(10);
    }
    return NULL;
}

/* A guest that holds a queue lock for good: each subscribe spins for the lock
 * timeout (1 s), so the session must not try again right away for ever. */
static void stuck_queue_lock(void **state)
{
    atomic_store(&stop, false);
    start_host(0);
    pthread_t tk;
    assert_int_equal(pthread_create(&tk, NULL, heartbeat_only, NULL), 0);
    uint32_t *lock = (uint32_t *)((uint8_t *)shm.base + 32 + 1144 + 408); /* cursor queue's queue_lock */
    __atomic_store_n(lock, 1, __ATOMIC_SEQ_CST);
    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    struct sg_session_opts o = {.path = path, .poll_us = 1000, .retry_ms = 50};
    struct sg_session *s = sg_session_create(&o);
    assert_non_null(s);
    sleep_ms(4000);
    struct sg_session_status st;
    sg_session_get_status(s, &st);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    __atomic_store_n(lock, 0, __ATOMIC_SEQ_CST);
    /* the lock is free again: the session gets there (after its back-off) */
    wait_state(s, SG_SESSION_RUNNING, 0);
    sg_session_destroy(s);
    atomic_store(&stop, true);
    pthread_join(tk, NULL);
    double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
    fprintf(stderr, "stuck queue lock: %.2f s of CPU in 4 s; %s\n", cpu, st.message);
    assert_int_equal(st.state, SG_SESSION_INCOMPATIBLE);
    assert_non_null(strstr(st.message, "LOCK_STUCK"));
    assert_true(cpu < 2.0); /* spinning on every retry: ~3.5 s */
    sg_lgmp_host_destroy(host);
    host = NULL;
}

/* A host of its own in a file of its own, with one frame posted; under host_lock. */
static void replaced_host(const char *p, struct sg_shm *m, struct sg_lgmp_host **h, uint8_t fill)
{
    char err[256];
    struct sg_shm_open_opts o = {.path = p, .create = true, .create_size = 4u << 20};
    assert_int_equal(sg_shm_open(m, &o, err, sizeof(err)), 0);
    struct sg_kvmfr_info info = {.version = SG_KVMFR_VERSION};
    snprintf(info.host_version, sizeof(info.host_version), "replaced-test");
    uint8_t ad[512];
    size_t n = sg_kvmfr_build_info(&info, ad, sizeof(ad));
    struct sg_lgmp_host_queue *f, *c;
    struct sg_lgmp_mem blk;
    assert_int_equal(sg_lgmp_host_create(h, m->base, m->size, ad, (uint32_t)n, NULL), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_queue_create(*h, SG_KVMFR_FRAME_QUEUE_ID, 2, 1000, &f), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_queue_create(*h, SG_KVMFR_CURSOR_QUEUE_ID, 20, 1000, &c), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_alloc_aligned(*h, 4096, 1u << 20, &blk), SG_LGMP_OK);
    sg_kvmfr_frame_init_block(blk.ptr, 4092);
    struct sg_kvmfr_wire_frame hdr = {.frame_serial = fill,
                                      .type = SG_FRAME_BGRA,
                                      .screen_width = 64,
                                      .screen_height = 64,
                                      .data_width = 64,
                                      .data_height = 64,
                                      .frame_width = 64,
                                      .frame_height = 64,
                                      .stride = 64,
                                      .pitch = 256};
    sg_kvmfr_frame_write(blk.ptr, &hdr);
    memset((uint8_t *)blk.ptr + 4096, fill, 64 * 256);
    sg_kvmfr_progress_store((uint32_t *)((uint8_t *)blk.ptr + 4092), 64 * 256);
    fq = f;
    blocks_posted = blk;
}

static void *replaced_ticker(void *arg)
{
    while (!atomic_load(&stop)) {
        pthread_mutex_lock(&host_lock);
        if (host) {
            sg_lgmp_host_process(host);
            if (sg_lgmp_host_queue_has_subs(fq) && sg_lgmp_host_queue_pending(fq) == 0 &&
                !atomic_load(&posted)) {
                sg_lgmp_host_post(fq, 0, &blocks_posted);
                atomic_store(&posted, true);
            }
        }
        pthread_mutex_unlock(&host_lock);
        sleep_ms(5);
    }
    return NULL;
}

/* The main thread still copies a frame when the region file is replaced (a
 * new file at the path): the session must not unmap the old one under it. */
static void frame_survives_region_replacement(void **state)
{
    const char *p1 = replaced_path;
    struct sg_shm m1, m2;
    atomic_store(&stop, false);
    atomic_store(&posted, false);
    pthread_mutex_lock(&host_lock);
    host = NULL;
    replaced_host(p1, &m1, &host, 0x5a);
    pthread_mutex_unlock(&host_lock);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, replaced_ticker, NULL), 0);
    struct sg_session_opts o = {.path = p1, .poll_us = 1000, .retry_ms = 50};
    struct sg_session *s = sg_session_create(&o);
    assert_non_null(s);
    struct sg_session_frame sf;
    bool have = false;
    for (int i = 0; i < 300 && !have; i++) {
        have = sg_session_frame_take(s, &sf);
        if (!have)
            sleep_ms(10);
    }
    assert_true(have);
    const uint8_t *px = (const uint8_t *)sf.payload + sf.frame.data_offset;
    assert_int_equal(px[0], 0x5a);

    /* the host stops and another one starts in a new file at the same path */
    pthread_mutex_lock(&host_lock);
    sg_lgmp_host_destroy(host);
    host = NULL;
    unlink(p1);
    atomic_store(&posted, false);
    replaced_host(p1, &m2, &host, 0xa5);
    pthread_mutex_unlock(&host_lock);
    sleep_ms(1500); /* the session notices (heartbeat timeout) and would map the new file */

    /* still readable: this faulted when the old mapping was gone */
    assert_int_equal(px[64 * 256 - 1], 0x5a);
    sg_session_frame_done(s, sf.generation);

    have = false;
    for (int i = 0; i < 300 && !have; i++) {
        have = sg_session_frame_take(s, &sf);
        if (!have)
            sleep_ms(10);
    }
    assert_true(have);
    px = (const uint8_t *)sf.payload + sf.frame.data_offset;
    assert_int_equal(px[0], 0xa5); /* from the new file */
    sg_session_frame_done(s, sf.generation);
    sg_session_destroy(s);
    atomic_store(&stop, true);
    pthread_join(t, NULL);
    sg_lgmp_host_destroy(host);
    host = NULL;
    sg_shm_close(&m1);
    sg_shm_close(&m2);
    unlink(p1);
}

/* meson's timeout sends SIGTERM: do not leave the regions and logs behind */
static void on_term(int sig)
{
    unlink(path);
    unlink(replaced_path);
    unlink(evict_log);
    unlink(flood_log);
    signal(sig, SIG_DFL);
    raise(sig);
}

int main(void)
{
    snprintf(path, sizeof(path), "/dev/shm/sgc-session-test-%d", (int)getpid());
    snprintf(replaced_path, sizeof(replaced_path), "/dev/shm/sgc-session-replaced-%d", (int)getpid());
    snprintf(evict_log, sizeof(evict_log), "/tmp/sgc-session-evict-%d.log", (int)getpid());
    snprintf(flood_log, sizeof(flood_log), "/tmp/sgc-session-flood-%d.log", (int)getpid());
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    char err[256];
    struct sg_shm_open_opts o = {.path = path, .create = true, .create_size = 4u << 20};
    if (sg_shm_open(&shm, &o, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(set_cursor_pos),
                                       cmocka_unit_test(frame_survives_region_replacement),
                                       cmocka_unit_test(set_cursor_pos_after_eviction),
                                       cmocka_unit_test(eviction_storm),
                                       cmocka_unit_test(rejection_flood),
                                       cmocka_unit_test(stuck_cmsg_lock),
                                       cmocka_unit_test(stuck_queue_lock),
                                       cmocka_unit_test(guest_cursor_moves_start_fast_poll)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sg_shm_close(&shm);
    unlink(path);
    unlink(replaced_path); /* these are left behind when their test fails */
    unlink(evict_log);
    if (!getenv("SG_KEEP_LOG"))
        unlink(flood_log);
    return rc;
}
