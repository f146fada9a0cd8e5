/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * frame_relay: how fast a frame gets from the host's copy into the region to
 * the client's private copy, with the B7 layout and the B7 progress protocol
 * (kvmfr.md §4, §5.6). A host thread writes each BGRA frame into a frame
 * block, publishing the progress word every 1 MiB, after posting it on the
 * LGMP frame queue; a client thread takes the message and copies the frame
 * out as the rows arrive (sg_kvmfr_frame_copy), then releases it.
 *
 * Reported per resolution: post -> client copy complete latency (p50, p99)
 * with one frame in flight, sustained frames/s with the host pipelining like
 * B7 (2 frames outstanding), and each as a ratio to one memcpy of the same
 * frame measured in the same run.
 *
 *   frame_relay [--frames N] [--poll-ns NS] [--only WxH]
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "kvmfr.h"
#include "kvmfr_test_util.h"
#include "lgmp.h"

#define REGION_SIZE (128u << 20) /* enough for 3840x2160x4 with the B7 layout (§9) */

struct opts {
    uint32_t frames;
    uint32_t poll_ns;
    const char *only;
};

struct run {
    const struct opts *o;
    uint32_t w, h, pitch, size;
    uint8_t *region;
    struct sg_lgmp_host *host;
    struct sg_lgmp_host_queue *frames;
    struct sg_lgmp_mem blocks[2];
    uint32_t fb_offset;
    uint8_t *src, *dst;
    uint64_t *post_ns;     /* per serial */
    uint64_t *complete_ns; /* per serial */
    atomic_bool client_ready;
    uint32_t total;           /* frames incl. warm-up */
    uint32_t max_outstanding; /* 1: one frame in flight (latency); 2: B7 pipelining (throughput) */
    uint32_t timeouts;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Median of several memcpys of one frame between two warm buffers. */
static double memcpy_ns(uint8_t *dst, const uint8_t *src, size_t n)
{
    uint64_t t[15];
    for (int i = 0; i < 15; i++) {
        uint64_t a = now_ns();
        memcpy(dst, src, n);
        __asm__ volatile("" ::"r"(dst) : "memory");
        t[i] = now_ns() - a;
    }
    qsort(t, 15, sizeof t[0], cmp_u64);
    return (double)t[7];
}

static void *host_thread(void *arg)
{
    struct run *r = arg;
    uint64_t last_tick = now_ns();
    while (!atomic_load(&r->client_ready))
        __builtin_ia32_pause();
    for (uint32_t serial = 0; serial < r->total; serial++) {
        /* B7 §5.7: wait while 2 frames are outstanding, ticking every 10 ms */
        while (sg_lgmp_host_queue_pending(r->frames) >= r->max_outstanding) {
            if (now_ns() - last_tick > 10000000ull) {
                sg_lgmp_host_process(r->host);
                last_tick = now_ns();
            }
            __builtin_ia32_pause();
        }
        struct sg_lgmp_mem *blk = &r->blocks[serial & 1];
        uint8_t *p = blk->ptr;
        struct sg_kvmfr_wire_frame fh = {
            .format_version = 1,
            .frame_serial = serial,
            .type = SG_FRAME_BGRA,
            .screen_width = r->w,
            .screen_height = r->h,
            .data_width = r->w,
            .data_height = r->h,
            .frame_width = r->w,
            .frame_height = r->h,
            .stride = r->w,
            .pitch = r->pitch,
        };
        sg_kvmfr_frame_write(p, &fh);
        uint32_t *word = (uint32_t *)(p + r->fb_offset);
        sg_kvmfr_progress_store(word, 0);
        r->post_ns[serial] = now_ns();
        sg_lgmp_host_post(r->frames, 0, blk);
        uint8_t *data = p + r->fb_offset + 4;
        for (uint32_t done = 0; done < r->size;) {
            uint32_t n = r->size - done < SG_KVMFR_FB_CHUNK ? r->size - done : SG_KVMFR_FB_CHUNK;
            memcpy(data + done, r->src + done, n);
            done += n;
            atomic_thread_fence(memory_order_release); /* kvmfr.md §5.6 advice */
            sg_kvmfr_progress_store(word, done);
        }
        if (now_ns() - last_tick > 10000000ull) {
            sg_lgmp_host_process(r->host);
            last_tick = now_ns();
        }
    }
    return NULL;
}

static void *client_thread(void *arg)
{
    struct run *r = arg;
    struct sg_lgmp_client *c;
    struct sg_lgmp_client_queue *q;
    const uint8_t *app;
    uint32_t app_size;
    if (sg_lgmp_client_create(&c, r->region, REGION_SIZE, NULL) != SG_LGMP_OK)
        return NULL;
    /* the host ticks once so the session looks alive */
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
    sg_lgmp_host_process(r->host);
    if (sg_lgmp_client_session_init(c, &app, &app_size) != SG_LGMP_OK ||
        sg_lgmp_client_subscribe(c, SG_KVMFR_FRAME_QUEUE_ID, &q) != SG_LGMP_OK) {
        fprintf(stderr, "frame_relay: client could not attach\n");
        exit(1);
    }
    atomic_store(&r->client_ready, true);
    for (uint32_t got = 0; got < r->total;) {
        struct sg_lgmp_message m;
        enum sg_lgmp_status st = sg_lgmp_client_process(q, &m);
        if (st == SG_LGMP_QUEUE_EMPTY) {
            __builtin_ia32_pause();
            continue;
        }
        if (st != SG_LGMP_OK) {
            fprintf(stderr, "frame_relay: client: %s\n", sg_lgmp_status_str(st));
            exit(1);
        }
        struct sg_kvmfr_frame f;
        uint32_t rows;
        if (sg_kvmfr_frame_read(m.mem, m.size, &f) != SG_KVMFR_OK) {
            fprintf(stderr, "frame_relay: bad frame header\n");
            exit(1);
        }
        /* poll_ns 0: spin on the word; otherwise sleep between polls like B7 */
        uint32_t polls = r->o->poll_ns ? 1000000 : 2000000000u;
        if (sg_kvmfr_frame_copy_ex(m.mem, &f, r->dst, r->pitch, false, polls, r->o->poll_ns, &rows) !=
            SG_KVMFR_OK)
            r->timeouts++;
        r->complete_ns[f.hdr.frame_serial] = now_ns();
        sg_lgmp_client_message_done(q);
        got++;
    }
    sg_lgmp_client_unsubscribe(&q);
    sg_lgmp_client_destroy(c);
    return NULL;
}

static void run_pass(struct run *r, uint32_t max_outstanding)
{
    pthread_t ht, ct;
    r->max_outstanding = max_outstanding;
    atomic_store(&r->client_ready, false);
    pthread_create(&ct, NULL, client_thread, r);
    pthread_create(&ht, NULL, host_thread, r);
    pthread_join(ht, NULL);
    pthread_join(ct, NULL);
}

static int run_one(const struct opts *o, uint32_t w, uint32_t h)
{
    struct run r = {.o = o, .w = w, .h = h, .pitch = w * 4};
    r.size = r.pitch * h;
    r.total = o->frames + 10; /* 10 warm-up frames */
    r.region = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    r.src = malloc(r.size);
    r.dst = malloc(r.size);
    r.post_ns = calloc(r.total, sizeof *r.post_ns);
    r.complete_ns = calloc(r.total, sizeof *r.complete_ns);
    if (r.region == MAP_FAILED || !r.src || !r.dst || !r.post_ns || !r.complete_ns) {
        fprintf(stderr, "frame_relay: out of memory\n");
        return 1;
    }
    for (uint32_t i = 0; i < r.size; i++)
        r.src[i] = (uint8_t)(i * 2654435761u >> 24);
    memset(r.dst, 0, r.size);

    /* The B7 host's region: app data, two queues, cursor buffers, two frame blocks. */
    struct sg_kvmfr_info info = {0};
    strcpy(info.host_version, "frame_relay");
    uint8_t app[256];
    uint32_t app_size = (uint32_t)sg_kvmfr_build_info(&info, app, sizeof app);
    struct sg_kvmfr_layout l;
    sg_kvmfr_layout_compute(app_size, 4096, REGION_SIZE, &l);
    struct sg_lgmp_host_queue *cursors;
    struct sg_lgmp_mem mem;
    enum sg_lgmp_status st = sg_lgmp_host_create(&r.host, r.region, REGION_SIZE, app, app_size, NULL);
    if (!st)
        st = sg_lgmp_host_queue_create(r.host, SG_KVMFR_FRAME_QUEUE_ID, 2, 1000, &r.frames);
    if (!st)
        st = sg_lgmp_host_queue_create(r.host, SG_KVMFR_CURSOR_QUEUE_ID, 20, 1000, &cursors);
    for (int i = 0; !st && i < 20; i++)
        st = sg_lgmp_host_alloc(r.host, SG_KVMFR_CURSOR_HEADER_SIZE, &mem);
    for (int i = 0; !st && i < 3; i++)
        st = sg_lgmp_host_alloc(r.host, SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE, &mem);
    for (int i = 0; !st && i < 2; i++)
        st = sg_lgmp_host_alloc_aligned(r.host, 4096, (uint32_t)l.max_frame_size, &r.blocks[i]);
    if (st || r.size > l.max_data_size) {
        fprintf(stderr, "frame_relay: region setup failed: %s\n", sg_lgmp_status_str(st));
        return 1;
    }
    r.fb_offset = 4096 - 4;
    for (int i = 0; i < 2; i++) {
        sg_kvmfr_frame_init_block(r.blocks[i].ptr, r.fb_offset);
        memset((uint8_t *)r.blocks[i].ptr + 4096, 0, r.size); /* fault the pages in */
    }

    double mc = memcpy_ns(r.dst, r.src, r.size);
    /* pass 1: latency, one frame in flight */
    run_pass(&r, 1);
    uint64_t *lat = malloc(o->frames * sizeof *lat);
    for (uint32_t i = 0; i < o->frames; i++)
        lat[i] = r.complete_ns[i + 10] - r.post_ns[i + 10];
    qsort(lat, o->frames, sizeof *lat, cmp_u64);
    double p50 = (double)lat[o->frames / 2], p99 = (double)lat[(o->frames * 99) / 100];
    bool ok = memcmp(r.dst, r.src, r.size) == 0;
    /* pass 2: throughput, B7 pipelining */
    run_pass(&r, 2);
    double elapsed = (double)(r.complete_ns[r.total - 1] - r.post_ns[10]);
    double fps = o->frames / (elapsed / 1e9);
    ok = ok && memcmp(r.dst, r.src, r.size) == 0;
    double mc2 = memcpy_ns(r.dst, r.src, r.size);
    mc = (mc + mc2) / 2; /* before and after: the machine is shared */
    printf("%4ux%-4u %6.2f MiB  memcpy %6.3f ms  latency p50 %6.3f ms (%4.2fx)  p99 %6.3f ms (%4.2fx)  "
           "%7.1f frames/s (%4.2f memcpys/frame)%s%s\n",
           w, h, r.size / 1048576.0, mc / 1e6, p50 / 1e6, p50 / mc, p99 / 1e6, p99 / mc, fps, 1e9 / fps / mc,
           r.timeouts ? "  TIMEOUTS" : "", ok ? "" : "  DATA MISMATCH");
    free(lat);
    sg_lgmp_host_destroy(r.host);
    munmap(r.region, REGION_SIZE);
    free(r.src);
    free(r.dst);
    free(r.post_ns);
    free(r.complete_ns);
    return ok && !r.timeouts ? 0 : 1;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"frames", required_argument, 0, 'n'},
        {"poll-ns", required_argument, 0, 'p'},
        {"only", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    struct opts o = {.frames = 200, .poll_ns = 0};
    int c;
    while ((c = getopt_long(argc, argv, "n:p:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            o.frames = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'p':
            o.poll_ns = (uint32_t)strtoul(optarg, NULL, 10);
            break;
        case 'o':
            o.only = optarg;
            break;
        case 'h':
            printf("Usage: frame_relay [--frames N (200)] [--poll-ns NS (0 = spin; B7 sleeps ~1000)] [--only "
                   "WxH]\n");
            return 0;
        default:
            return 2;
        }
    }
    if (o.frames < 10) {
        fprintf(stderr, "frame_relay: --frames must be at least 10\n");
        return 2;
    }
    static const uint32_t modes[][2] = {{1920, 1080}, {2560, 1440}, {3840, 2160}};
    printf("frame_relay: BGRA, B7 layout, progress every 1 MiB, client %s, %u frames per mode after 10 "
           "warm-up\n",
           o.poll_ns ? "sleeps between progress polls" : "spins on the progress word", o.frames);
    int rc = 0;
    for (size_t i = 0; i < 3; i++) {
        char name[32];
        snprintf(name, sizeof name, "%ux%u", modes[i][0], modes[i][1]);
        if (o.only && strcmp(o.only, name) != 0)
            continue;
        rc |= run_one(&o, modes[i][0], modes[i][1]);
    }
    return rc;
}
