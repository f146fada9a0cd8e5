/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spyglass-host costs, printed as figures:
 *  1. capture + publish per frame at 1920x1080, as a ratio to one memcpy of
 *     the frame (8294400 bytes): a whole-frame backend, the testpattern
 *     animation (damage only), and X11 on Xvfb (whole screen and a small
 *     change per frame);
 *  2. CPU used by a spyglass-host process over 10 s of a still X11 screen
 *     with one client subscribed.
 * Usage: host_bench [--no-x11] [--seconds N]   (SPYGLASS_HOST = the binary)
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <xcb/xcb.h>

#include "bench_util.h"
#include "capture.h"
#include "harness.h"
#include "lgmp.h"
#include "sg_log.h"
#include "publisher.h"
#include "reader.h"
#include "sysinfo.h"

#define W 1920u
#define H 1080u
#define REGION (64u << 20)

/* --------------------------------------------- a backend that changes everything */

struct full {
    struct sg_capture base;
    uint8_t *img;
    uint32_t n;
};

static int full_create(struct sg_capture **out, const char *const *v, char *err, size_t err_size)
{
    struct full *f = calloc(1, sizeof(*f));
    f->img = malloc((size_t)W * H * 4);
    memset(f->img, 0x33, (size_t)W * H * 4);
    *out = &f->base;
    return 0;
}
static int full_start(struct sg_capture *c)
{
    return 0;
}
static enum sg_capture_status full_next(struct sg_capture *c, uint32_t t, struct sg_capture_frame *out)
{
    struct full *f = (struct full *)c;
    f->img[f->n++ % 4096] ^= 1;
    out->type = SG_FRAME_BGRA;
    out->width = W;
    out->height = H;
    out->damage_count = 0;
    return SG_CAPTURE_OK;
}
static void full_copy(struct sg_capture *c, const struct sg_capture_rect *r, void *dst, size_t pitch)
{
    struct full *f = (struct full *)c;
    sg_capture_copy_image(f->img, (size_t)W * 4, r, dst, pitch);
}
static enum sg_capture_status full_cursor(struct sg_capture *c, struct sg_capture_cursor *o, uint8_t *s,
                                          size_t n)
{
    return SG_CAPTURE_NONE;
}
static int full_setpos(struct sg_capture *c, int32_t x, int32_t y)
{
    return 0;
}
static void full_stop(struct sg_capture *c)
{
}
static void full_destroy(struct sg_capture *c)
{
    free(((struct full *)c)->img);
    free(c);
}
static const struct sg_capture_impl full_impl = {
    .name = "full",
    .label = "full",
    .help = "",
    .options = NULL,
    .create = full_create,
    .start = full_start,
    .next_frame = full_next,
    .copy_rect = full_copy,
    .next_cursor = full_cursor,
    .set_cursor_pos = full_setpos,
    .stop = full_stop,
    .destroy = full_destroy,
};

/* ------------------------------------------------------------------ in-process runs */

typedef void (*between_fn)(void *ctx, int i);

/* Publish `frames` frames with one in-process client releasing them; returns
 * the median wall time of one frame step (capture + publish). */
static double run(struct sg_capture *cap, int frames, between_fn between, void *ctx, double *bytes_per_frame)
{
    uint8_t *region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct sg_kvmfr_info info;
    sg_host_sysinfo(&info, cap->impl);
    struct sg_publisher *p;
    char err[256];
    struct sg_publisher_opts po = {.region_name = "bench"};
    if (sg_publisher_create(&p, region, REGION, cap, &info, &po, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    struct sg_lgmp_client *c;
    struct sg_lgmp_client_queue *fq, *cq;
    const uint8_t *app;
    uint32_t app_size;
    enum sg_lgmp_status st = sg_lgmp_client_create(&c, region, REGION, NULL);
    /* the client wants to see the heartbeat move after it attached */
    for (int k = 0; st == SG_LGMP_OK && k < 100; k++) {
        usleep(2000);
        sg_publisher_tick(p);
        if ((st = sg_lgmp_client_session_init(c, &app, &app_size)) != SG_LGMP_INVALID_SESSION)
            break;
    }
    if (st == SG_LGMP_OK)
        st = sg_lgmp_client_subscribe(c, SG_KVMFR_FRAME_QUEUE_ID, &fq);
    if (st == SG_LGMP_OK)
        st = sg_lgmp_client_subscribe(c, SG_KVMFR_CURSOR_QUEUE_ID, &cq);
    if (st != SG_LGMP_OK) {
        fprintf(stderr, "bench client: %s\n", sg_lgmp_status_str(st));
        exit(1);
    }
    double *t = calloc((size_t)frames, sizeof(double));
    int got = 0;
    struct sg_publisher_stats s0, s1;
    for (int i = 0; i < frames + 3; i++) {
        if (between)
            between(ctx, i);
        if (i == 3)
            sg_publisher_get_stats(p, &s0);
        struct sg_publisher_stats a, b;
        sg_publisher_get_stats(p, &a);
        double t0 = bench_seconds(CLOCK_MONOTONIC);
        sg_publisher_frame_step(p, 1000);
        double dt = bench_seconds(CLOCK_MONOTONIC) - t0;
        sg_publisher_get_stats(p, &b);
        if (i >= 3 && b.frames > a.frames)
            t[got++] = dt;
        struct sg_lgmp_message m;
        while (sg_lgmp_client_process(fq, &m) == SG_LGMP_OK)
            sg_lgmp_client_message_done(fq);
        sg_publisher_tick(p);
        while (sg_lgmp_client_process(cq, &m) == SG_LGMP_OK)
            sg_lgmp_client_message_done(cq);
    }
    sg_publisher_get_stats(p, &s1);
    *bytes_per_frame = s1.frames > s0.frames
                           ? (double)(s1.bytes_copied - s0.bytes_copied) / (double)(s1.frames - s0.frames)
                           : 0;
    double med = got ? bench_median(t, got) : 0;
    free(t);
    sg_lgmp_client_unsubscribe(&fq);
    sg_lgmp_client_unsubscribe(&cq);
    sg_lgmp_client_destroy(c);
    sg_publisher_destroy(p);
    munmap(region, REGION);
    return med;
}

static void report(const char *what, double t, double bytes, double mc)
{
    printf("%-44s %8.3f ms/frame  %6.2f x memcpy  (%5.1f%% of the frame copied)\n", what, t * 1e3, t / mc,
           100.0 * bytes / ((double)W * H * 4));
}

/* X11: a window over the whole screen whose colour changes every frame, or a
 * 100x100 square inside it. */
struct xdraw {
    xcb_connection_t *c;
    xcb_window_t win;
    xcb_gcontext_t gc;
    bool small;
};

static void x_sync(xcb_connection_t *c)
{
    free(xcb_get_input_focus_reply(c, xcb_get_input_focus(c), NULL));
}

static void x_between(void *ctx, int i)
{
    struct xdraw *x = ctx;
    uint32_t colour = 0x102030u + (uint32_t)i * 0x010305u;
    xcb_change_gc(x->c, x->gc, XCB_GC_FOREGROUND, &colour);
    xcb_rectangle_t r = x->small ? (xcb_rectangle_t){(int16_t)(200 + (i % 50) * 10), 300, 100, 100}
                                 : (xcb_rectangle_t){0, 0, W, H};
    xcb_poly_fill_rectangle(x->c, x->win, x->gc, 1, &r);
    x_sync(x->c);
}

static void x11_runs(double mc, int frames)
{
    pid_t xvfb;
    int d = harness_xvfb(W, H, -1, &xvfb);
    if (d < 0) {
        printf("x11: Xvfb did not start; skipped\n");
        return;
    }
    char disp[16];
    snprintf(disp, sizeof(disp), ":%d", d);
    struct xdraw x = {0};
    x.c = xcb_connect(disp, NULL);
    xcb_screen_t *s = xcb_setup_roots_iterator(xcb_get_setup(x.c)).data;
    x.win = xcb_generate_id(x.c);
    uint32_t vals[] = {0, 1};
    xcb_create_window(x.c, XCB_COPY_FROM_PARENT, x.win, s->root, 0, 0, W, H, 0, XCB_WINDOW_CLASS_INPUT_OUTPUT,
                      s->root_visual, XCB_CW_BACK_PIXEL | XCB_CW_OVERRIDE_REDIRECT, vals);
    xcb_map_window(x.c, x.win);
    x.gc = xcb_generate_id(x.c);
    xcb_create_gc(x.c, x.gc, x.win, 0, NULL);
    x_sync(x.c);

    const struct sg_capture_impl *impl = sg_capture_find("x11");
    const char *vals2[] = {disp};
    struct sg_capture *cap;
    char err[256];
    if (!impl || sg_capture_create(impl, &cap, vals2, err, sizeof(err)) != 0) {
        printf("x11: %s; skipped\n", impl ? err : "not built");
        harness_stop(xvfb);
        return;
    }
    double bytes;
    double t = run(cap, frames, x_between, &x, &bytes);
    report("x11 (Xvfb), whole screen changes", t, bytes, mc);
    x.small = true;
    t = run(cap, frames, x_between, &x, &bytes);
    report("x11 (Xvfb), a 100x100 square changes", t, bytes, mc);
    sg_capture_destroy(cap);
    xcb_disconnect(x.c);
    harness_stop(xvfb);
}

static double proc_cpu_s(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    char *s = harness_read_file(path);
    if (!s)
        return -1;
    char *p = strrchr(s, ')');
    unsigned long ut = 0, st = 0;
    /* fields after ")": state(3) ... utime(14) stime(15) */
    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st);
    free(s);
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void x11_idle_cpu(int seconds)
{
    pid_t xvfb;
    int d = harness_xvfb(W, H, -1, &xvfb);
    if (d < 0) {
        printf("idle: Xvfb did not start; skipped\n");
        return;
    }
    char region[64], opt[32];
    snprintf(region, sizeof(region), "/dev/shm/sg-host-bench-%d", (int)getpid());
    snprintf(opt, sizeof(opt), "x11:display=:%d", d);
    unlink(region);
    char *argv[] = {(char *)harness_host_path(), "-c", "x11", "-o", opt, "-f", region, "-l", "warn", NULL};
    pid_t host = harness_spawn(argv, NULL);
    struct reader r;
    if (reader_open(&r, region, 5000) != 0) {
        printf("idle: %s; skipped\n", r.err);
        harness_stop(host);
        harness_stop(xvfb);
        return;
    }
    reader_next_frame(&r, 3000); /* the first frame arrives, then nothing moves */
    double t_end = bench_seconds(CLOCK_MONOTONIC) + 1;
    while (bench_seconds(CLOCK_MONOTONIC) < t_end) {
        reader_next_frame(&r, 50);
        while (reader_next_cursor(&r, 0) == 0) {
        }
    }
    pid_t server = harness_xserver_pid(xvfb); /* xvfb is its launcher's pid */
    double h0 = proc_cpu_s(host), x0 = proc_cpu_s(server), w0 = bench_seconds(CLOCK_MONOTONIC);
    uint32_t frames = 0;
    t_end = w0 + seconds;
    while (bench_seconds(CLOCK_MONOTONIC) < t_end) {
        if (reader_next_frame(&r, 100) == 0)
            frames++;
        while (reader_next_cursor(&r, 0) == 0) {
        }
    }
    double wall = bench_seconds(CLOCK_MONOTONIC) - w0, h1 = proc_cpu_s(host), x1 = proc_cpu_s(server);
    printf("still X11 screen (1920x1080), one client, %.1f s: spyglass-host %.2f%% of a core, Xvfb %.2f%% "
           "(frames posted meanwhile: %u)\n",
           wall, 100 * (h1 - h0) / wall, 100 * (x1 - x0) / wall, frames);
    reader_close(&r);
    harness_stop(host);
    harness_stop(xvfb);
    unlink(region);
}

int main(int argc, char **argv)
{
    bool x11 = true;
    int seconds = 10, frames = 120;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-x11"))
            x11 = false;
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--frames") && i + 1 < argc)
            frames = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--no-x11] [--seconds N] [--frames N]\n", argv[0]);
            return 2;
        }
    }
    sg_log_set_level(SG_LOG_WARN);
    signal(SIGPIPE, SIG_IGN);
    uint8_t *dst = mmap(NULL, (size_t)W * H * 4, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    double mc = bench_memcpy_s(dst, (size_t)W * H * 4, CLOCK_MONOTONIC);
    munmap(dst, (size_t)W * H * 4);
    printf("memcpy of one 1920x1080 BGRA frame (8294400 bytes): %.3f ms (%.2f GB/s)\n", mc * 1e3,
           8294400 / mc / 1e9);

    struct sg_capture *cap;
    char err[256];
    double bytes, t;
    full_create(&cap, NULL, err, sizeof(err));
    cap->impl = &full_impl;
    t = run(cap, frames, NULL, NULL, &bytes);
    report("whole frame every time (publish only)", t, bytes, mc);
    sg_capture_destroy(cap);

    const char *tp[] = {"1920", "1080", "0", "0"};
    if (sg_capture_create(&sg_capture_testpattern, &cap, tp, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    t = run(cap, frames, NULL, NULL, &bytes);
    report("testpattern animation (damage only)", t, bytes, mc);
    sg_capture_destroy(cap);

    if (x11) {
        x11_runs(mc, frames);
        x11_idle_cpu(seconds);
    }
    harness_cleanup();
    return 0;
}
