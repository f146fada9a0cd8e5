/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Glass to glass: from a change on the guest's X display to the change seen on
 * the display where spyglass-client shows it (window at 0,0, guest-sized, so a
 * guest pixel is the same client-display pixel). Run by glass_to_glass.sh,
 * which starts two Xvfb, spyglass-host -c x11 on one, spyglass-client on the
 * other, both with a trace file (sg_trace.h).
 *
 * Interleaved samples, a random 30-50 ms apart:
 *  frame:  a 32x32 square of a new colour painted on the guest root; one
 *          client-display pixel in its middle is read (GetImage) every ~0.2 ms
 *          until it has that colour.
 *  cursor: the guest pointer moved with XTest between two places on a plain
 *          background; a small box around the new place is read until the
 *          drawn cursor shows in it.
 * Then the same cursor moves 8 ms apart (a 125 Hz mouse), each seen before the
 * next: the pointer in motion, as it is while someone moves a mouse.
 * Then the traces split each sample into host (change -> posted) and client
 * (posted -> seen on the display). Last, CPU use of host and client over a
 * still period and over a period of continuous pointer motion.
 *
 * Usage: glass_to_glass GUEST_DISPLAY CLIENT_DISPLAY SAMPLES HOST_TRACE CLIENT_TRACE HOST_PID CLIENT_PID
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xcb/xcb.h>
#include <xcb/xtest.h>

#define SQUARE 32
#define SQ_X 64
#define SQ_Y 64
#define BOX 5 /* half size of the box read around the cursor's place */
#define SEEN_TIMEOUT_NS 2000000000ull
#define BACKGROUND 0x404850u
#define STREAM_GAP_NS 8000000ull /* a mouse reporting at 125 Hz */
#define IDLE_SECONDS 15          /* long enough that a 0.1 % wake pattern shows */

struct sample {
    uint64_t t0, seen; /* seen 0: never seen (lost) */
    int x, y;          /* cursor: the place; frame: unused */
};

struct disp {
    xcb_connection_t *c;
    xcb_screen_t *s;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    nanosleep(&ts, NULL);
}

static void open_disp(struct disp *d, const char *name)
{
    int n = 0;
    d->c = xcb_connect(name, &n);
    if (xcb_connection_has_error(d->c)) {
        fprintf(stderr, "glass_to_glass: cannot connect to X display %s\n", name);
        exit(1);
    }
    xcb_screen_iterator_t it = xcb_setup_roots_iterator(xcb_get_setup(d->c));
    for (int i = 0; i < n; i++)
        xcb_screen_next(&it);
    d->s = it.data;
}

/* The RGB of one client-display pixel. */
static bool read_box(struct disp *d, int x, int y, int w, int h, uint32_t *px, int max)
{
    xcb_get_image_reply_t *r =
        xcb_get_image_reply(d->c,
                            xcb_get_image(d->c, XCB_IMAGE_FORMAT_Z_PIXMAP, d->s->root, (int16_t)x, (int16_t)y,
                                          (uint16_t)w, (uint16_t)h, ~0u),
                            NULL);
    if (!r)
        return false;
    int n = xcb_get_image_data_length(r) / 4;
    if (n > max)
        n = max;
    memcpy(px, xcb_get_image_data(r), (size_t)n * 4);
    free(r);
    for (int i = 0; i < n; i++)
        px[i] &= 0xffffff;
    return n == w * h;
}

static bool close_rgb(uint32_t a, uint32_t b)
{
    for (int s = 0; s < 24; s += 8) {
        int d = (int)((a >> s) & 0xff) - (int)((b >> s) & 0xff);
        if (d > 3 || d < -3)
            return false;
    }
    return true;
}

static void fill(struct disp *g, xcb_gcontext_t gc, uint32_t colour, int x, int y, int w, int h)
{
    xcb_change_gc(g->c, gc, XCB_GC_FOREGROUND, &colour);
    xcb_rectangle_t r = {(int16_t)x, (int16_t)y, (uint16_t)w, (uint16_t)h};
    xcb_poly_fill_rectangle(g->c, g->s->root, gc, 1, &r);
}

/* Wait until the pixel at (x, y) of the client display has colour; the time or 0. */
static uint64_t wait_pixel(struct disp *cl, int x, int y, uint32_t colour, uint64_t t0)
{
    uint32_t px;
    while (now_ns() - t0 < SEEN_TIMEOUT_NS) {
        if (read_box(cl, x, y, 1, 1, &px, 1) && close_rgb(px, colour))
            return now_ns();
        sleep_ns(200000);
    }
    return 0;
}

/* Wait until the box around (x, y) holds something other than the background. */
static uint64_t wait_cursor(struct disp *cl, int x, int y, uint64_t t0)
{
    uint32_t px[(2 * BOX + 1) * (2 * BOX + 1)];
    while (now_ns() - t0 < SEEN_TIMEOUT_NS) {
        if (read_box(cl, x - BOX, y - BOX, 2 * BOX + 1, 2 * BOX + 1, px, (2 * BOX + 1) * (2 * BOX + 1)))
            for (int i = 0; i < (2 * BOX + 1) * (2 * BOX + 1); i++)
                if (!close_rgb(px[i], BACKGROUND))
                    return now_ns();
        sleep_ns(200000);
    }
    return 0;
}

static bool box_plain(struct disp *cl, int x, int y)
{
    uint32_t px[(2 * BOX + 1) * (2 * BOX + 1)];
    if (!read_box(cl, x - BOX, y - BOX, 2 * BOX + 1, 2 * BOX + 1, px, (2 * BOX + 1) * (2 * BOX + 1)))
        return false;
    for (int i = 0; i < (2 * BOX + 1) * (2 * BOX + 1); i++)
        if (!close_rgb(px[i], BACKGROUND))
            return false;
    return true;
}

static void move_pointer(struct disp *g, int x, int y)
{
    xcb_test_fake_input(g->c, XCB_MOTION_NOTIFY, 0, XCB_CURRENT_TIME, g->s->root, (int16_t)x, (int16_t)y, 0);
}

/* One cursor sample: the guest pointer moved to the side i picks (alternate
 * sides, a few pixels of jitter so every place is new), then watched for on
 * the client display. False when it was not seen. */
static bool cursor_sample(struct disp *g, struct disp *cl, int i, int ax, int bx, int cy, struct sample *out)
{
    int x = (i & 1 ? ax : bx) + rand() % 16 - 8, y = cy + rand() % 16 - 8;
    out->x = x;
    out->y = y;
    move_pointer(g, x, y);
    out->t0 = now_ns();
    xcb_flush(g->c);
    out->seen = wait_cursor(cl, x, y, out->t0);
    return out->seen != 0;
}

/* ---------------------------------------------------------------- traces */

struct event {
    uint64_t t;
    int a, b; /* frame: serial; cursor: x, y */
};

struct events {
    struct event *v;
    size_t n, cap;
};

static void ev_push(struct events *e, uint64_t t, int a, int b)
{
    if (e->n == e->cap) {
        e->cap = e->cap ? 2 * e->cap : 1024;
        e->v = realloc(e->v, e->cap * sizeof(*e->v));
        if (!e->v)
            exit(1);
    }
    e->v[e->n++] = (struct event){t, a, b};
}

/* Lines "T name a [b]" of the given name, in file order (= time order). */
static void load(const char *path, const char *name, struct events *out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "glass_to_glass: cannot read trace %s\n", path);
        return;
    }
    char line[256], nm[64];
    unsigned long long t;
    int a, b;
    while (fgets(line, sizeof(line), f)) {
        int k = sscanf(line, "%llu %63s %d %d", &t, nm, &a, &b);
        if (k >= 3 && !strcmp(nm, name))
            ev_push(out, t, a, k >= 4 ? b : 0);
    }
    fclose(f);
}

/* First event at or after t matching (a, b) (b ignored when match_b is false); NULL if none. */
static const struct event *first_after(const struct events *e, uint64_t t, int a, int b, bool match_a,
                                       bool match_b)
{
    for (size_t i = 0; i < e->n; i++)
        if (e->v[i].t >= t && (!match_a || e->v[i].a == a) && (!match_b || e->v[i].b == b))
            return &e->v[i];
    return NULL;
}

/* ---------------------------------------------------------------- figures */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void row(const char *what, uint64_t *v, size_t n, size_t total)
{
    if (!n) {
        printf("| %-53s | %5s | %7s | %7s | %7s | %7s |\n", what, "0", "-", "-", "-", "-");
        return;
    }
    qsort(v, n, sizeof(*v), cmp_u64);
#define PCT(p) ((double)v[(size_t)((double)(n - 1) * (p) + 0.5)] / 1e6)
    printf("| %-53s | %5zu | %7.2f | %7.2f | %7.2f | %7.2f |", what, n, PCT(0.5), PCT(0.9), PCT(0.99),
           (double)v[n - 1] / 1e6);
#undef PCT
    if (n < total)
        printf(" (%zu not matched)", total - n);
    printf("\n");
}

/* CPU time in seconds summed over the process's threads, from schedstat (nanoseconds): /proc/PID/stat
 * counts in 10 ms ticks, which is 0.2 % of a core over 5 s, as big as the figure being measured. */
static double cpu_s(int pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    unsigned long long total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char sp[300];
        snprintf(sp, sizeof(sp), "/proc/%d/task/%s/schedstat", pid, e->d_name);
        FILE *f = fopen(sp, "r");
        if (!f)
            continue;
        unsigned long long ns = 0;
        if (fscanf(f, "%llu", &ns) == 1)
            total += ns;
        fclose(f);
    }
    closedir(d);
    return (double)total / 1e9;
}

/* The cursor samples' rows: glass to glass, then split by the traces. The
 * arrays are scratch space of n entries each. */
static void cursor_rows(const char *what, const struct sample *cs, int n, const struct events *hc,
                        const struct events *cr, const struct events *cc, uint64_t *g2g, uint64_t *host,
                        uint64_t *cli, uint64_t *recv, uint64_t *drawn)
{
    size_t ng = 0, nh = 0, nc = 0, nd = 0, nr = 0;
    for (int i = 0; i < n; i++) {
        if (!cs[i].seen)
            continue;
        g2g[ng++] = cs[i].seen - cs[i].t0;
        const struct event *p = first_after(hc, cs[i].t0, cs[i].x, cs[i].y, true, true);
        if (!p || p->t > cs[i].seen)
            continue;
        host[nh++] = p->t - cs[i].t0;
        cli[nc++] = cs[i].seen - p->t;
        const struct event *r = first_after(cr, p->t, cs[i].x, cs[i].y, true, true);
        if (r)
            recv[nr++] = r->t - p->t;
        const struct event *d = first_after(cc, p->t, cs[i].x, cs[i].y, true, true);
        if (d)
            drawn[nd++] = d->t - p->t;
    }
    char label[5][96];
    static const char *const part[5] = {"moved -> seen", "host (moved -> posted)", "client (posted -> seen)",
                                        "client (posted -> received)", "client (posted -> swapped)"};
    for (int k = 0; k < 5; k++)
        snprintf(label[k], sizeof(label[k]), "%s: %s", what, part[k]);
    row(label[0], g2g, ng, (size_t)n);
    row(label[1], host, nh, ng);
    row(label[2], cli, nc, ng);
    row(label[3], recv, nr, ng);
    row(label[4], drawn, nd, ng);
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(
            stderr,
            "usage: %s GUEST_DISPLAY CLIENT_DISPLAY SAMPLES HOST_TRACE CLIENT_TRACE HOST_PID CLIENT_PID\n",
            argv[0]);
        return 2;
    }
    struct disp g, cl;
    open_disp(&g, argv[1]);
    open_disp(&cl, argv[2]);
    int n = atoi(argv[3]);
    const char *host_trace = argv[4], *client_trace = argv[5];
    int host_pid = atoi(argv[6]), client_pid = atoi(argv[7]);
    if (!xcb_get_extension_data(g.c, &xcb_test_id)->present) {
        fprintf(stderr, "glass_to_glass: no XTEST on %s\n", argv[1]);
        return 1;
    }
    int gw = g.s->width_in_pixels, gh = g.s->height_in_pixels;
    srand((unsigned)now_ns());

    /* a plain guest: background everywhere, kept on expose */
    uint32_t bg = BACKGROUND;
    xcb_change_window_attributes(g.c, g.s->root, XCB_CW_BACK_PIXEL, &bg);
    xcb_clear_area(g.c, 0, g.s->root, 0, 0, 0, 0);
    xcb_gcontext_t gc = xcb_generate_id(g.c);
    xcb_create_gc(g.c, gc, g.s->root, XCB_GC_FOREGROUND, &bg);
    int ax = gw / 4, bx = 3 * gw / 4, cy = gh / 2;
    move_pointer(&g, ax, cy);
    xcb_flush(g.c);
    uint64_t t = now_ns();
    while (!box_plain(&cl, bx, cy) || wait_cursor(&cl, ax, cy, now_ns()) == 0) {
        if (now_ns() - t > 10000000000ull) {
            fprintf(stderr,
                    "glass_to_glass: the client display never showed the plain guest with its cursor\n");
            return 1;
        }
        sleep_ns(20000000);
    }

    struct sample *fs = calloc((size_t)n, sizeof(*fs)), *cs = calloc((size_t)n, sizeof(*cs));
    static const uint32_t colours[] = {0xff0000, 0x00ff00, 0x0000ff, 0xffff00, 0x00ffff, 0xff00ff, 0xffffff};
    int lost_f = 0, lost_c = 0;
    for (int i = 0; i < n; i++) {
        uint32_t col = colours[i % (sizeof(colours) / sizeof(colours[0]))];
        fill(&g, gc, col, SQ_X, SQ_Y, SQUARE, SQUARE);
        fs[i].t0 = now_ns();
        xcb_flush(g.c);
        fs[i].seen = wait_pixel(&cl, SQ_X + SQUARE / 2, SQ_Y + SQUARE / 2, col, fs[i].t0);
        lost_f += !fs[i].seen;
        sleep_ns(30000000ull + (uint64_t)(rand() % 20001) * 1000);

        lost_c += !cursor_sample(&g, &cl, i, ax, bx, cy, &cs[i]);
        sleep_ns(30000000ull + (uint64_t)(rand() % 20001) * 1000);
    }

    /* the pointer in motion: a move every STREAM_GAP_NS, each seen before the next */
    struct sample *ss = calloc((size_t)n, sizeof(*ss));
    int lost_s = 0;
    for (int i = 0; i < n; i++) {
        lost_s += !cursor_sample(&g, &cl, i, ax, bx, cy, &ss[i]);
        uint64_t spent = now_ns() - ss[i].t0;
        if (spent < STREAM_GAP_NS)
            sleep_ns(STREAM_GAP_NS - spent);
    }

    /* CPU: a still guest, then a pointer moving every 2 ms */
    double h0 = cpu_s(host_pid), c0 = cpu_s(client_pid);
    uint64_t s0 = now_ns();
    sleep_ns(IDLE_SECONDS * 1000000000ull);
    double secs = (double)(now_ns() - s0) / 1e9;
    double idle_h = (cpu_s(host_pid) - h0) / secs * 100, idle_c = (cpu_s(client_pid) - c0) / secs * 100;
    h0 = cpu_s(host_pid);
    c0 = cpu_s(client_pid);
    s0 = now_ns();
    for (int k = 0; now_ns() - s0 < 5000000000ull; k++) {
        move_pointer(&g, ax + (k % 400), cy + (k % 50));
        xcb_flush(g.c);
        sleep_ns(2000000);
    }
    secs = (double)(now_ns() - s0) / 1e9;
    double move_h = (cpu_s(host_pid) - h0) / secs * 100, move_c = (cpu_s(client_pid) - c0) / secs * 100;

    /* traces */
    struct events hf = {0}, hc = {0}, cf = {0}, cc = {0}, fr = {0}, cr = {0};
    load(host_trace, "frame-post", &hf);
    load(host_trace, "cursor-post", &hc);
    load(client_trace, "frame-drawn", &cf);
    load(client_trace, "cursor-drawn", &cc);
    load(client_trace, "frame-recv", &fr);
    load(client_trace, "cursor-recv", &cr);
    /* without them the split rows would be empty and the run would look fine */
    if (!hf.n || !hc.n || !cf.n || !cc.n || !fr.n || !cr.n) {
        fprintf(
            stderr,
            "glass_to_glass: the traces lack events (host %s: %zu frame-post, %zu cursor-post; client %s: "
            "%zu frame-recv, %zu frame-drawn, %zu cursor-recv, %zu cursor-drawn)\n",
            host_trace, hf.n, hc.n, client_trace, fr.n, cf.n, cr.n, cc.n);
        return 1;
    }

    uint64_t *g2g = calloc((size_t)n, 8), *host = calloc((size_t)n, 8), *cli = calloc((size_t)n, 8),
             *drawn = calloc((size_t)n, 8), *recv = calloc((size_t)n, 8);
    size_t ng = 0, nh = 0, nc = 0, nd = 0, nr = 0;
    for (int i = 0; i < n; i++) {
        if (!fs[i].seen)
            continue;
        g2g[ng++] = fs[i].seen - fs[i].t0;
        const struct event *p = first_after(&hf, fs[i].t0, 0, 0, false, false);
        if (!p || p->t > fs[i].seen)
            continue;
        host[nh++] = p->t - fs[i].t0;
        cli[nc++] = fs[i].seen - p->t;
        const struct event *r = first_after(&fr, p->t, p->a, 0, true, false);
        if (r)
            recv[nr++] = r->t - p->t;
        /* drawn: the first frame at or after the posted serial */
        for (size_t k = 0; k < cf.n; k++)
            if (cf.v[k].t >= p->t && cf.v[k].a >= p->a) {
                drawn[nd++] = cf.v[k].t - p->t;
                break;
            }
    }
    printf("\nglass to glass, %d samples each (ms; load average at start of the table: see the runner)\n\n",
           n);
    printf("| %-53s | %5s | %7s | %7s | %7s | %7s |\n", "what", "n", "p50", "p90", "p99", "max");
    printf("|%s|%s|%s|%s|%s|%s|\n", "-------------------------------------------------------", "-------",
           "---------", "---------", "---------", "---------");
    row("frame: painted -> seen", g2g, ng, (size_t)n);
    row("frame: host (painted -> posted)", host, nh, ng);
    row("frame: client (posted -> seen)", cli, nc, ng);
    row("frame: client (posted -> received)", recv, nr, ng);
    row("frame: client (posted -> swapped)", drawn, nd, ng);

    cursor_rows("cursor", cs, n, &hc, &cr, &cc, g2g, host, cli, recv, drawn);
    cursor_rows("cursor, moves 8 ms apart", ss, n, &hc, &cr, &cc, g2g, host, cli, recv, drawn);
    printf("\nlost (not seen within 2 s): frame %d, cursor %d, cursor moving %d\n", lost_f, lost_c, lost_s);
    printf("CPU, %% of one core: still guest: host %.2f, client %.2f; pointer moving every 2 ms: host %.2f, "
           "client %.2f\n",
           idle_h, idle_c, move_h, move_c);
    return 0;
}
