/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * lgmp_latency: how long an LGMP message takes from the host's post to the
 * client seeing it, for cursor-sized (24-byte) messages on a queue shaped
 * like the B7 cursor queue (20 messages, 1000 ms timeout), with the host
 * ticking every 10 ms as B7 does. Host and client run in two threads on one
 * shared anonymous mapping (or, with --fork, the client in a child process).
 * The second run adds a frame stream: a third thread memcpy'ing 8 MB frames
 * into the region in a loop, as a capture would.
 *
 *   lgmp_latency [--messages N] [--interval-us US] [--poll spin|yield|sleep:US]
 *                [--only quiet|frames] [--fork]
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lgmp.h"

#define CURSOR_QUEUE_ID 1u
#define CURSOR_QUEUE_LEN 20u
#define CURSOR_MSG_SIZE 24u
#define CURSOR_BUFFERS 32u
#define FRAME_SIZE (8u << 20)
#define REGION_SIZE (32u << 20)
#define TICK_NS 10000000ull

enum poll_mode { POLL_SPIN, POLL_YIELD, POLL_SLEEP };

struct opts {
    uint32_t messages;
    uint32_t interval_us;
    enum poll_mode poll;
    uint32_t sleep_us;
    int only; /* 0 both, 1 quiet, 2 frames */
    int fork; /* client in a child process instead of a thread */
};

struct run {
    const struct opts *o;
    uint8_t *region;
    struct sg_lgmp_host *host;
    struct sg_lgmp_host_queue *hq;
    struct sg_lgmp_mem cursor[CURSOR_BUFFERS];
    struct sg_lgmp_mem frame[2];
    uint8_t *frame_src;
    uint64_t *lat_ns;  /* per received message */
    uint32_t received; /* client */
    uint32_t posted;   /* host writes, client reads: atomic */
    uint32_t full;     /* host: QUEUE_FULL */
    uint32_t misorder; /* client: unexpected sequence */
    int host_done;     /* atomic */
    int stop;          /* atomic: frame thread */
    uint64_t frames;   /* frame thread */
    uint64_t frame_ns;
    const char *error;
};

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until_ns(uint64_t t)
{
    struct timespec ts = {.tv_sec = (time_t)(t / 1000000000ull), .tv_nsec = (long)(t % 1000000000ull)};
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && !interrupted)
        ;
}

static void *host_thread(void *arg)
{
    struct run *r = arg;
    uint64_t interval = (uint64_t)r->o->interval_us * 1000u;
    uint64_t start = now_ns();
    uint64_t next_tick = start + TICK_NS, next_post = start + interval;
    while (!sg_lgmp_host_queue_has_subs(r->hq) && !interrupted) {
        sg_lgmp_host_process(r->host);
        sleep_until_ns(now_ns() + TICK_NS);
    }
    next_post = now_ns() + interval;
    while (r->posted < r->o->messages && !interrupted) {
        uint64_t t = now_ns();
        if (t >= next_tick) {
            enum sg_lgmp_status st = sg_lgmp_host_process(r->host);
            if (st != SG_LGMP_OK) {
                r->error = sg_lgmp_status_str(st);
                break;
            }
            next_tick += TICK_NS;
        }
        if (t >= next_post) {
            struct sg_lgmp_mem *m = &r->cursor[r->posted % CURSOR_BUFFERS];
            uint32_t seq = r->posted;
            memcpy((uint8_t *)m->ptr + 8, &seq, 4);
            uint64_t stamp = now_ns();
            memcpy(m->ptr, &stamp, 8);
            enum sg_lgmp_status st = sg_lgmp_host_post(r->hq, 0x7, m);
            if (st == SG_LGMP_OK)
                __atomic_store_n(&r->posted, r->posted + 1, __ATOMIC_RELEASE);
            else if (st == SG_LGMP_QUEUE_FULL)
                r->full++;
            else {
                r->error = sg_lgmp_status_str(st);
                break;
            }
            next_post += interval;
        }
        sleep_until_ns(next_post < next_tick ? next_post : next_tick);
    }
    __atomic_store_n(&r->host_done, 1, __ATOMIC_RELEASE);
    /* keep the heartbeat going until the client has drained the queue */
    while (sg_lgmp_host_queue_pending(r->hq) && !interrupted) {
        sg_lgmp_host_process(r->host);
        sleep_until_ns(now_ns() + TICK_NS);
    }
    return NULL;
}

static void *client_thread(void *arg)
{
    struct run *r = arg;
    struct sg_lgmp_client *c;
    struct sg_lgmp_client_queue *q = NULL;
    enum sg_lgmp_status st = sg_lgmp_client_create(&c, r->region, REGION_SIZE, NULL);
    if (st != SG_LGMP_OK) {
        r->error = sg_lgmp_status_str(st);
        return NULL;
    }
    while ((st = sg_lgmp_client_session_init(c, NULL, NULL)) == SG_LGMP_INVALID_SESSION && !interrupted)
        sleep_until_ns(now_ns() + 1000000);
    if (st == SG_LGMP_OK)
        st = sg_lgmp_client_subscribe(c, CURSOR_QUEUE_ID, &q);
    if (st != SG_LGMP_OK) {
        r->error = sg_lgmp_status_str(st);
        sg_lgmp_client_destroy(c);
        return NULL;
    }
    uint32_t expect = 0;
    while (!interrupted) {
        struct sg_lgmp_message msg;
        st = sg_lgmp_client_process(q, &msg);
        if (st == SG_LGMP_OK) {
            uint64_t t = now_ns(), stamp;
            uint32_t seq;
            memcpy(&stamp, msg.mem, 8);
            memcpy(&seq, (uint8_t *)msg.mem + 8, 4);
            if (seq != expect)
                r->misorder++;
            expect = seq + 1;
            r->lat_ns[r->received++] = t - stamp;
            sg_lgmp_client_message_done(q);
            if (r->received == r->o->messages)
                break;
            continue;
        }
        if (st != SG_LGMP_QUEUE_EMPTY) {
            r->error = sg_lgmp_status_str(st);
            break;
        }
        if (__atomic_load_n(&r->host_done, __ATOMIC_ACQUIRE) &&
            r->received >= __atomic_load_n(&r->posted, __ATOMIC_ACQUIRE))
            break;
        if (r->o->poll == POLL_YIELD)
            sched_yield();
        else if (r->o->poll == POLL_SLEEP)
            sleep_until_ns(now_ns() + (uint64_t)r->o->sleep_us * 1000u);
        else
            __builtin_ia32_pause();
    }
    sg_lgmp_client_unsubscribe(&q);
    sg_lgmp_client_destroy(c);
    return NULL;
}

static void *frame_thread(void *arg)
{
    struct run *r = arg;
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; !__atomic_load_n(&r->stop, __ATOMIC_ACQUIRE) && !interrupted; ++i) {
        memcpy(r->frame[i & 1].ptr, r->frame_src, FRAME_SIZE);
        r->frames++;
    }
    r->frame_ns = now_ns() - t0;
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Shared (not private) anonymous memory, so a forked client sees it too. */
static void *shared_alloc(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static int run_once(const struct opts *o, int with_frames)
{
    size_t lat_bytes = (size_t)o->messages * sizeof(uint64_t);
    struct run *r = shared_alloc(sizeof(*r));
    uint8_t *region = shared_alloc(REGION_SIZE);
    uint64_t *lat = shared_alloc(lat_bytes);
    uint8_t *src = malloc(FRAME_SIZE);
    if (!r || !region || !lat || !src) {
        fprintf(stderr, "lgmp_latency: out of memory (%u-byte region)\n", REGION_SIZE);
        return 1;
    }
    *r = (struct run){.o = o, .region = region, .lat_ns = lat, .frame_src = src};
    memset(src, 0x5A, FRAME_SIZE);
    enum sg_lgmp_status st = sg_lgmp_host_create(&r->host, region, REGION_SIZE, "bench", 5, NULL);
    if (st == SG_LGMP_OK)
        st = sg_lgmp_host_queue_create(r->host, CURSOR_QUEUE_ID, CURSOR_QUEUE_LEN, 1000, &r->hq);
    for (uint32_t i = 0; i < CURSOR_BUFFERS && st == SG_LGMP_OK; ++i)
        st = sg_lgmp_host_alloc(r->host, CURSOR_MSG_SIZE, &r->cursor[i]);
    for (uint32_t i = 0; i < 2 && st == SG_LGMP_OK; ++i)
        st = sg_lgmp_host_alloc_aligned(r->host, 4096, FRAME_SIZE, &r->frame[i]);
    if (st != SG_LGMP_OK) {
        fprintf(stderr, "lgmp_latency: setting up the region failed: %s\n", sg_lgmp_status_str(st));
        return 1;
    }

    pthread_t ht, ct, ft;
    pid_t child = -1;
    if (with_frames)
        pthread_create(&ft, NULL, frame_thread, r);
    if (o->fork) {
        child = fork();
        if (child == 0) {
            client_thread(r);
            _exit(0);
        }
        if (child < 0) {
            perror("lgmp_latency: fork");
            return 1;
        }
    } else {
        pthread_create(&ct, NULL, client_thread, r);
    }
    pthread_create(&ht, NULL, host_thread, r);
    pthread_join(ht, NULL);
    if (o->fork) {
        int ws;
        while (waitpid(child, &ws, 0) < 0 && errno == EINTR)
            ;
    } else {
        pthread_join(ct, NULL);
    }
    __atomic_store_n(&r->stop, 1, __ATOMIC_RELEASE);
    if (with_frames)
        pthread_join(ft, NULL);

    int rc = 0;
    uint32_t n = r->received;
    if (r->error) {
        fprintf(stderr, "lgmp_latency: %s\n", r->error);
        rc = 1;
    } else if (n == 0) {
        fprintf(stderr, "lgmp_latency: no message arrived\n");
        rc = 1;
    } else {
        qsort(lat, n, sizeof(uint64_t), cmp_u64);
        double sum = 0;
        for (uint32_t i = 0; i < n; ++i)
            sum += (double)lat[i];
        printf(
            "%-13s %6u msgs  p50 %7.1f us  p99 %7.1f us  max %8.1f us  mean %7.1f us  full %u  misordered %u",
            with_frames ? "frame stream" : "quiet", n, lat[n / 2] / 1e3, lat[(uint64_t)n * 99 / 100] / 1e3,
            lat[n - 1] / 1e3, sum / n / 1e3, r->full, r->misorder);
        if (with_frames && r->frame_ns)
            printf("  (frames: %.0f/s, %.2f GB/s memcpy)", r->frames * 1e9 / r->frame_ns,
                   (double)r->frames * FRAME_SIZE / r->frame_ns);
        printf("\n");
    }
    sg_lgmp_host_destroy(r->host);
    free(src);
    munmap(lat, lat_bytes);
    munmap(region, REGION_SIZE);
    munmap(r, sizeof(*r));
    return rc;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: lgmp_latency [options]\n"
               "LGMP post-to-receive latency of 24-byte (cursor-sized) messages, host and client\n"
               "in two threads, host ticking every 10 ms; once quiet, once with a thread\n"
               "memcpy'ing 8 MB frames into the region.\n"
               "  --messages N      messages per run (default 2000)\n"
               "  --interval-us US  time between posts (default 1000)\n"
               "  --poll MODE       client wait when the queue is empty: spin (default, a core\n"
               "                    busy-polls), yield or sleep:US\n"
               "  --only quiet|frames  run one of the two cases\n"
               "  --fork            run the client in a child process, not a thread\n"
               "  --help            this text\n");
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || v == 0 || v > 100000000ul)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {.messages = 2000, .interval_us = 1000, .poll = POLL_SPIN};
    for (int i = 1; i < argc; ++i) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--messages") && v) {
            if (parse_u32(v, &o.messages)) {
                fprintf(stderr, "lgmp_latency: bad --messages '%s'\n", v);
                return 2;
            }
            ++i;
        } else if (!strcmp(a, "--interval-us") && v) {
            if (parse_u32(v, &o.interval_us)) {
                fprintf(stderr, "lgmp_latency: bad --interval-us '%s'\n", v);
                return 2;
            }
            ++i;
        } else if (!strcmp(a, "--poll") && v) {
            if (!strcmp(v, "spin"))
                o.poll = POLL_SPIN;
            else if (!strcmp(v, "yield"))
                o.poll = POLL_YIELD;
            else if (!strncmp(v, "sleep:", 6) && !parse_u32(v + 6, &o.sleep_us))
                o.poll = POLL_SLEEP;
            else {
                fprintf(stderr, "lgmp_latency: bad --poll '%s' (spin, yield or sleep:US)\n", v);
                return 2;
            }
            ++i;
        } else if (!strcmp(a, "--fork")) {
            o.fork = 1;
        } else if (!strcmp(a, "--only") && v) {
            if (!strcmp(v, "quiet"))
                o.only = 1;
            else if (!strcmp(v, "frames"))
                o.only = 2;
            else {
                fprintf(stderr, "lgmp_latency: bad --only '%s' (quiet or frames)\n", v);
                return 2;
            }
            ++i;
        } else {
            fprintf(stderr, "lgmp_latency: unknown or incomplete option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    static const char *const poll_names[] = {"spin", "yield", "sleep"};
    printf(
        "lgmp_latency: %u x %u-byte messages every %u us, queue of %u, host tick 10 ms, client %s, poll %s",
        o.messages, CURSOR_MSG_SIZE, o.interval_us, CURSOR_QUEUE_LEN, o.fork ? "process" : "thread",
        poll_names[o.poll]);
    if (o.poll == POLL_SLEEP)
        printf(" %u us", o.sleep_us);
    printf("\n");
    int rc = 0;
    if (o.only != 2)
        rc |= run_once(&o, 0);
    if (o.only != 1 && !interrupted)
        rc |= run_once(&o, 1);
    return interrupted ? 130 : rc;
}
