/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spice-input-latency: input -> guest-cursor-drawn latency through the whole loop.
 * Usage: spice-input-latency CLIENT_DISPLAY GUEST_DISPLAY SAMPLES
 * The client window must sit at 0,0 of CLIENT_DISPLAY showing the guest 1:1 over a black
 * guest root with a white-outlined cursor. Each sample moves the client display's pointer
 * (XTest, like a mouse) between two points and times:
 *   t_spice:   until the guest's X pointer is there (client -> SPICE -> fakevm -> guest X);
 *   t_capture: from then until the client window shows the cursor there
 *              (host capture -> shared memory -> client -> drawn). */
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XTest.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void pointer(Display *d, int *x, int *y)
{
    Window r, c;
    int wx, wy;
    unsigned m;
    XQueryPointer(d, DefaultRootWindow(d), &r, &c, x, y, &wx, &wy, &m);
}

/* True when the cursor drawn in the client window is centred within 3 px of (x, y). */
static int drawn_at(Display *d, int x, int y)
{
    XImage *im = XGetImage(d, DefaultRootWindow(d), x - 20, y - 20, 40, 40, AllPlanes, ZPixmap);
    if (!im)
        return 0;
    long sx = 0, sy = 0, n = 0;
    for (int j = 0; j < 40; j++)
        for (int i = 0; i < 40; i++) {
            unsigned long p = XGetPixel(im, i, j);
            if (((p >> 16) & 0xff) > 128 && ((p >> 8) & 0xff) > 128 && (p & 0xff) > 128) {
                sx += i;
                sy += j;
                n++;
            }
        }
    XDestroyImage(im);
    return n > 10 && labs(sx / n - 20) <= 3 && labs(sy / n - 20) <= 3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const double *v, int n, double p)
{
    int i = (int)(p * (n - 1) + 0.5);
    return v[i];
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: spice-input-latency CLIENT_DISPLAY GUEST_DISPLAY SAMPLES\n");
        return 2;
    }
    Display *c = XOpenDisplay(argv[1]), *g = XOpenDisplay(argv[2]);
    int n = atoi(argv[3]);
    if (!c || !g || n < 2) {
        fprintf(stderr, "spice-input-latency: cannot open %s or %s (or bad sample count)\n", argv[1],
                argv[2]);
        return 1;
    }
    double *spice = calloc((size_t)n, sizeof(double)), *cap = calloc((size_t)n, sizeof(double)),
           *total = calloc((size_t)n, sizeof(double));
    const int pts[2][2] = {{300, 300}, {360, 330}};
    /* Enter the window and let the cursor synchronisation settle. */
    XTestFakeMotionEvent(c, 0, pts[1][0], pts[1][1], CurrentTime);
    XSync(c, False);
    usleep(500000);
    int done = 0, lost = 0;
    for (int s = 0; s < n && lost < 10; s++) {
        int tx = pts[s & 1][0], ty = pts[s & 1][1];
        double t0 = now_us(), t1 = 0, t2 = 0;
        XTestFakeMotionEvent(c, 0, tx, ty, CurrentTime);
        XSync(c, False);
        while (now_us() - t0 < 1e6) {
            int x, y;
            if (!t1) {
                pointer(g, &x, &y);
                if (x == tx && y == ty)
                    t1 = now_us();
            }
            if (t1 && drawn_at(c, tx, ty)) {
                t2 = now_us();
                break;
            }
            usleep(100);
        }
        if (!t2) {
            lost++;
            continue;
        }
        spice[done] = t1 - t0;
        cap[done] = t2 - t1;
        total[done] = t2 - t0;
        done++;
        usleep(30000 + (unsigned)(rand() % 10000)); /* let everything go idle, unaligned to any tick */
    }
    if (done < 2) {
        fprintf(stderr, "spice-input-latency: only %d of %d samples completed\n", done, n);
        return 1;
    }
    double mean_s = 0, mean_c = 0;
    for (int i = 0; i < done; i++) {
        mean_s += spice[i];
        mean_c += cap[i];
    }
    qsort(spice, (size_t)done, sizeof(double), cmp);
    qsort(cap, (size_t)done, sizeof(double), cmp);
    qsort(total, (size_t)done, sizeof(double), cmp);
    printf("samples %d (lost %d)\n", done, lost);
    printf("input -> cursor drawn:      p50 %6.2f ms  p99 %6.2f ms\n", pct(total, done, .5) / 1e3,
           pct(total, done, .99) / 1e3);
    printf("  SPICE (input -> guest X): p50 %6.2f ms  p99 %6.2f ms  share of mean %2.0f%%\n",
           pct(spice, done, .5) / 1e3, pct(spice, done, .99) / 1e3, 100 * mean_s / (mean_s + mean_c));
    printf("  capture (guest -> drawn): p50 %6.2f ms  p99 %6.2f ms  share of mean %2.0f%%\n",
           pct(cap, done, .5) / 1e3, pct(cap, done, .99) / 1e3, 100 * mean_c / (mean_s + mean_c));
    printf("(poll granularity ~0.1 ms plus one XQueryPointer/XGetImage round trip)\n");
    return 0;
}
