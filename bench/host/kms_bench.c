/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kms backend's costs without a DRM device: a synthetic 1920x1080 XRGB8888
 * scan-out (two buffers with padded rows, like a compositor's pair of dumb
 * buffers) read the way kms.c does — the interleaved probe on the same buffer,
 * after a flip the same sample (mostly changed: the whole frame without a
 * full scan), a full row-hash scan otherwise (kms_detect.c), copy_rect
 * hashing each row as it copies it into the region (XRGB8888 needs no
 * conversion) — and published by the real publisher with an in-process
 * client. What a real device adds, the few ioctls per poll to find the
 * scan-out, is not in here.
 *
 *  1. a whole changed frame (a flip between two different pictures):
 *     capture + publish per frame as a ratio to one memcpy of the frame
 *     (both as thread CPU time, medians: steadier than wall time on a loaded
 *     machine, and the frame step never sleeps here);
 *  2. a still screen: one detection pass (CPU time) and the share of a core
 *     it costs at 60 polls a second, then the whole host (frame thread with
 *     60 fps polling + the 10 ms tick) running for N seconds: its CPU use;
 *  3. one changed 100x100 square: the damage reported.
 * Usage: kms_bench [--seconds N]
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"
#include "capture.h"
#include "kms_detect.h"
#include "kms_format.h"
#include "lgmp.h"
#include "publisher.h"
#include "sg_time.h"
#include "sysinfo.h"

#define W 1920u
#define H 1080u
#define PITCH (W * 4 + 256)
#define REGION (64u << 20)

/* ------------------------------------------------ synthetic scan-out backend */

struct synth {
    struct sg_capture base;
    uint8_t *fb[2]; /* the "dumb buffers" */
    int front;      /* which one is scanned out */
    struct sg_kms_detect det;
    const uint8_t *src;
    uint32_t phase, interleave;
    double next_cpu, copy_cpu;       /* time inside next_frame / copy_rect */
    uint32_t fps;                    /* 0: poll without waiting */
    const struct sg_kms_format *fmt; /* what the scan-out holds */
    struct timespec next;
};

static struct synth *g_synth;

static int synth_create(struct sg_capture **out, const char *const *v, char *err, size_t err_size)
{
    *out = &g_synth->base;
    return 0;
}
static int synth_start(struct sg_capture *c)
{
    sg_kms_detect_invalidate(&((struct synth *)c)->det);
    return 0;
}
static enum sg_capture_status synth_scan(struct synth *s, struct sg_capture_frame *out);
static enum sg_capture_status synth_next(struct sg_capture *c, uint32_t timeout_ms,
                                         struct sg_capture_frame *out)
{
    struct synth *s = (struct synth *)c;
    double t0 = bench_seconds(CLOCK_THREAD_CPUTIME_ID);
    enum sg_capture_status st = synth_scan(s, out);
    s->next_cpu += bench_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
    return st;
}
static enum sg_capture_status synth_scan(struct synth *s, struct sg_capture_frame *out)
{
    if (s->fps) { /* kms.c's pacing: one poll per 1/fps */
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &s->next, NULL);
        sg_timespec_add_ns(&s->next, 1000000000u / s->fps);
    }
    bool flipped = s->src != s->fb[s->front];
    s->src = s->fb[s->front];
    if (!flipped && !sg_kms_detect_probe(&s->det, s->src, PITCH, s->phase++, s->interleave))
        return SG_CAPTURE_TIMEOUT;
    uint32_t checked;
    if (flipped && s->det.valid &&
        sg_kms_detect_sample(&s->det, s->src, PITCH, s->phase++, s->interleave, &checked) * 2 > checked) {
        out->type = s->fmt->kvmfr_type;
        out->width = W;
        out->height = H;
        out->damage_count = 0;
        return SG_CAPTURE_OK;
    }
    bool whole;
    uint32_t n = sg_kms_detect_scan(&s->det, s->src, PITCH, out->damage, &out->damage_count, &whole);
    out->type = s->fmt->kvmfr_type;
    out->width = W;
    out->height = H;
    if (whole)
        out->damage_count = 0;
    return n ? SG_CAPTURE_OK : SG_CAPTURE_TIMEOUT;
}
static void synth_copy(struct sg_capture *c, const struct sg_capture_rect *r, void *dst, size_t pitch)
{
    struct synth *s = (struct synth *)c; /* kms.c's copy_rect for full rows */
    double t0 = bench_seconds(CLOCK_THREAD_CPUTIME_ID);
    for (uint32_t y = r->y; y < r->y + r->h; y++)
        sg_kms_detect_store(&s->det, y,
                            sg_kms_format_copy_row(s->fmt, (uint8_t *)dst + (size_t)y * pitch,
                                                   s->src + (size_t)y * PITCH, W));
    sg_kms_copy_fence();
    s->copy_cpu += bench_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
}
static enum sg_capture_status synth_cursor(struct sg_capture *c, struct sg_capture_cursor *o, uint8_t *sh,
                                           size_t n)
{
    return SG_CAPTURE_NONE;
}
static int synth_setpos(struct sg_capture *c, int32_t x, int32_t y)
{
    return -1;
}
static void synth_stop(struct sg_capture *c)
{
}
static void synth_destroy(struct sg_capture *c)
{
}
static const struct sg_capture_impl synth_impl = {
    .name = "kms-synthetic",
    .label = "KMS",
    .help = "",
    .options = NULL,
    .create = synth_create,
    .start = synth_start,
    .next_frame = synth_next,
    .copy_rect = synth_copy,
    .next_cursor = synth_cursor,
    .set_cursor_pos = synth_setpos,
    .stop = synth_stop,
    .destroy = synth_destroy,
};

static void fill(uint8_t *fb, uint32_t seed)
{
    for (uint32_t y = 0; y < H; y++)
        for (uint32_t x = 0; x < W; x++)
            ((uint32_t *)(fb + (size_t)y * PITCH))[x] = (x * 2654435761u) ^ (y * 40503u) ^ seed;
}

/* ------------------------------------------------ publisher with one client */

struct session {
    uint8_t *region;
    struct sg_publisher *p;
    struct sg_lgmp_client *c;
    struct sg_lgmp_client_queue *fq, *cq;
};

static void session_open(struct session *s, struct sg_capture *cap)
{
    s->region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct sg_kvmfr_info info;
    sg_host_sysinfo(&info, &sg_capture_kms);
    char err[256];
    struct sg_publisher_opts po = {.region_name = "bench"};
    if (sg_publisher_create(&s->p, s->region, REGION, cap, &info, &po, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    const uint8_t *app;
    uint32_t app_size;
    enum sg_lgmp_status st = sg_lgmp_client_create(&s->c, s->region, REGION, NULL);
    for (int k = 0; st == SG_LGMP_OK && k < 100; k++) {
        usleep(2000);
        sg_publisher_tick(s->p);
        if ((st = sg_lgmp_client_session_init(s->c, &app, &app_size)) != SG_LGMP_INVALID_SESSION)
            break;
    }
    if (st == SG_LGMP_OK)
        st = sg_lgmp_client_subscribe(s->c, SG_KVMFR_FRAME_QUEUE_ID, &s->fq);
    if (st == SG_LGMP_OK)
        st = sg_lgmp_client_subscribe(s->c, SG_KVMFR_CURSOR_QUEUE_ID, &s->cq);
    if (st != SG_LGMP_OK) {
        fprintf(stderr, "bench client: %s\n", sg_lgmp_status_str(st));
        exit(1);
    }
}

static void session_drain(struct session *s)
{
    struct sg_lgmp_message m;
    while (sg_lgmp_client_process(s->fq, &m) == SG_LGMP_OK)
        sg_lgmp_client_message_done(s->fq);
    sg_publisher_tick(s->p);
    while (sg_lgmp_client_process(s->cq, &m) == SG_LGMP_OK)
        sg_lgmp_client_message_done(s->cq);
}

static void session_close(struct session *s)
{
    sg_lgmp_client_unsubscribe(&s->fq);
    sg_lgmp_client_unsubscribe(&s->cq);
    sg_lgmp_client_destroy(s->c);
    sg_publisher_destroy(s->p);
    munmap(s->region, REGION);
}

/* ------------------------------------------------ the figures */

/* Capture + publish of whole changed frames of the scan-out format s->fmt: the
 * median CPU per frame, and the copy_rect share, both as ratios to memcpy. */
static void whole_frames_of(struct synth *s, double mc, double *med_out, double *next_out, double *copy_out,
                            double *bytes_out, int *frames_out)
{
    struct session ss;
    session_open(&ss, &s->base);
    double t[60];
    int got = 0;
    struct sg_publisher_stats a, b, s0, s1;
    sg_publisher_get_stats(ss.p, &s0);
    double n0 = 0, c0 = 0;
    for (int i = 0; i < 63; i++) {
        if (i == 3)
            n0 = s->next_cpu, c0 = s->copy_cpu;
        s->front ^= 1; /* a page flip to the other picture: every row differs */
        sg_publisher_get_stats(ss.p, &a);
        double t0 = bench_seconds(CLOCK_THREAD_CPUTIME_ID);
        sg_publisher_frame_step(ss.p, 1000);
        double dt = bench_seconds(CLOCK_THREAD_CPUTIME_ID) - t0;
        sg_publisher_get_stats(ss.p, &b);
        if (i >= 3 && b.frames > a.frames)
            t[got++] = dt;
        session_drain(&ss);
    }
    sg_publisher_get_stats(ss.p, &s1);
    *med_out = bench_median(t, got);
    *next_out = (s->next_cpu - n0) / 60 / mc;
    *copy_out = (s->copy_cpu - c0) / 60 / mc;
    *bytes_out = (double)(s1.bytes_copied - s0.bytes_copied) / (double)(s1.frames - s0.frames);
    *frames_out = got;
    session_close(&ss);
}

static void whole_frames(struct synth *s, double mc)
{
    double med, next, copy, bytes;
    int got;
    s->fmt = sg_kms_format_find(0x34325258); /* XR24: what virtual GPUs scan out by default */
    whole_frames_of(s, mc, &med, &next, &copy, &bytes, &got);
    printf("whole changed 1920x1080 frame, capture + publish %8.3f ms CPU/frame %5.2f x memcpy  (%.0f%% of "
           "the frame copied into the region, %d frames)\n",
           med * 1e3, med / mc, 100.0 * bytes / ((double)W * H * 4), got);
    printf("  of which: change detection (next_frame) %.2f x memcpy, copy into the region (copy_rect) %.2f x "
           "memcpy\n",
           next, copy);
    /* every scan-out format, the same flips: what its copy costs beside XR24's */
    uint32_t nf;
    const struct sg_kms_format *f = sg_kms_formats(&nf);
    for (uint32_t i = 0; i < nf; i++) {
        s->fmt = &f[i];
        whole_frames_of(s, mc, &med, &next, &copy, &bytes, &got);
        printf(
            "  scan-out %s, published as %-6s: capture + publish %5.2f x memcpy, copy_rect %5.2f x memcpy\n",
            f[i].name, sg_kvmfr_frame_type_str(f[i].kvmfr_type), med / mc, copy);
    }
}

static void still_scan(struct synth *s, double mc)
{
    struct sg_capture_rect dmg[SG_CAPTURE_MAX_DAMAGE];
    uint32_t n;
    bool whole;
    s->src = s->fb[s->front];
    sg_kms_detect_scan(&s->det, s->src, PITCH, dmg, &n, &whole);
    double t[101], p[101];
    for (int i = 0; i < 101; i++) {
        double c0 = bench_seconds(CLOCK_THREAD_CPUTIME_ID);
        uint32_t changed = sg_kms_detect_scan(&s->det, s->src, PITCH, dmg, &n, &whole);
        double c1 = bench_seconds(CLOCK_THREAD_CPUTIME_ID);
        bool hit = sg_kms_detect_probe(&s->det, s->src, PITCH, (uint32_t)i, s->interleave);
        t[i] = c1 - c0;
        p[i] = bench_seconds(CLOCK_THREAD_CPUTIME_ID) - c1;
        if (changed || hit) {
            fprintf(stderr, "still screen reported a change (%u rows, probe %d)\n", changed, hit);
            exit(1);
        }
    }
    double med = bench_median(t, 101), pmed = bench_median(p, 101);
    printf("still screen, full scan (every row hashed)        %8.3f ms CPU      %5.2f x memcpy  -> at 60 "
           "polls/s: "
           "%.2f%% of a core (%.1f GB/s read)\n",
           med * 1e3, med / mc, med * 60 * 100, (double)W * H * 4 / med / 1e9);
    printf("still screen, probe (every %uth row, kms default) %8.3f ms CPU      %5.2f x memcpy  -> at 60 "
           "polls/s: "
           "%.2f%% of a core\n",
           s->interleave, pmed * 1e3, pmed / mc, pmed * 60 * 100);
}

static volatile sig_atomic_t stop_flag;
static void on_alarm(int sig)
{
    stop_flag = 1;
}

static void still_host(struct synth *s, int seconds)
{
    struct session ss;
    s->fps = 60;
    clock_gettime(CLOCK_MONOTONIC, &s->next);
    session_open(&ss, &s->base);
    sg_publisher_frame_step(ss.p, 1000); /* the first frame goes out whole */
    session_drain(&ss);
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double t0 = bench_seconds(CLOCK_MONOTONIC);
    signal(SIGALRM, on_alarm);
    alarm((unsigned)seconds);
    sg_publisher_run(ss.p, &stop_flag);
    double wall = bench_seconds(CLOCK_MONOTONIC) - t0;
    getrusage(RUSAGE_SELF, &r1);
    double cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) +
                 (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6 +
                 (double)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
                 (r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
    struct sg_publisher_stats st;
    sg_publisher_get_stats(ss.p, &st);
    printf(
        "still screen, host running %4.1f s at 60 polls/s   %5.2f%% of a core (frame thread + 10 ms tick), "
        "%llu frames posted\n",
        wall, 100 * cpu / wall, (unsigned long long)st.frames);
    fflush(stdout);
    s->fps = 0;
    session_close(&ss);
}

static void square(struct synth *s)
{
    struct sg_capture_frame f;
    s->src = s->fb[s->front];
    sg_kms_detect_invalidate(&s->det);
    synth_next(&s->base, 0, &f);
    for (uint32_t y = 500; y < 600; y++)
        for (uint32_t x = 910; x < 1010; x++)
            ((uint32_t *)(s->fb[s->front] + (size_t)y * PITCH))[x] ^= 0x00ffffffu;
    enum sg_capture_status st = synth_next(&s->base, 0, &f);
    printf("one changed 100x100 square at 910,500               status %s, %u damage rect(s):",
           sg_capture_status_str(st), f.damage_count);
    for (uint32_t i = 0; i < f.damage_count; i++)
        printf(" {%u,%u %ux%u}", f.damage[i].x, f.damage[i].y, f.damage[i].w, f.damage[i].h);
    bool inside = st == SG_CAPTURE_OK && f.damage_count > 0;
    for (uint32_t i = 0; i < f.damage_count; i++)
        inside &= f.damage[i].y >= 500 && f.damage[i].y + f.damage[i].h <= 600;
    printf(" -> %s\n", inside ? "only the square's rows" : "MORE THAN THE SQUARE'S ROWS");
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int seconds = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--seconds N]\n", argv[0]);
            return 2;
        }
    }
    struct synth s = {0};
    for (int i = 0; i < 2; i++) {
        /* dumb buffers are shared mappings; so is this */
        s.fb[i] = mmap(NULL, (size_t)PITCH * H, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        fill(s.fb[i], 0x1234567u * (uint32_t)(i + 1));
    }
    s.interleave = 8;
    sg_kms_detect_reset(&s.det, W, H);
    g_synth = &s;
    struct sg_capture *cap;
    char err[256];
    sg_capture_create(&synth_impl, &cap, NULL, err, sizeof(err));

    uint8_t *shared =
        mmap(NULL, (size_t)W * H * 4, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    double mc = bench_memcpy_s(shared, (size_t)W * H * 4, CLOCK_THREAD_CPUTIME_ID);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    double load[3] = {0};
    getloadavg(load, 3);
    printf("kms backend, synthetic scan-out %ux%u XRGB8888 (pitch %u); memcpy of the frame %.3f ms CPU; %ld "
           "CPUs, "
           "load %.2f\n",
           W, H, PITCH, mc * 1e3, cpus, load[0]);
    whole_frames(&s, mc);
    still_scan(&s, mc);
    still_host(&s, seconds);
    square(&s);
    sg_kms_detect_finish(&s.det);
    return 0;
}
