/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sg-vm-watch: a headless LGMP/KVMFR subscriber for the real-VM test. It does
 * what a client does with a session — attach, subscribe to the frame and
 * cursor queues, copy every frame out (waiting on the progress word), notice
 * the host going away and re-attach to the next session — and prints one line
 * per event, so the test can follow a VM being killed and booted again
 * without a window. The first frame of each session is written as PNG.
 * With --every-frame DIR, every frame is written as DIR/frame-N.ppm with a
 * line giving its size and damage rectangles, and every cursor message is
 * printed (shapes written as DIR/cursor-N.bgra): the kms test follows each
 * step of the guest's display that way.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dump_image.h"
#include "kvmfr.h"
#include "lgmp.h"
#include "shm.h"
#include "sg_clock.h"

#define FRAME_QUEUE_ID 2u
#define CURSOR_QUEUE_ID 1u

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    stop = sig;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}

struct watch {
    const char *png_dir;
    const char *every_dir; /* --every-frame */
    unsigned frame_files, cursor_files;
    uint8_t *cursor_buf;
    struct sg_kvmfr_frame pending; /* the last frame copied out, written once released */
    uint8_t *pending_rows;
    struct sg_shm shm;
    struct sg_lgmp_client *client;
    struct sg_lgmp_client_queue *frames, *cursor;
    uint32_t session;
    bool have_serial;
    uint32_t last_serial;
    bool png_written;
    unsigned frames_seen, cursor_msgs;
};

static void print_info(const uint8_t *data, uint32_t size, uint32_t session)
{
    struct sg_kvmfr_info info;
    enum sg_kvmfr_status st = sg_kvmfr_parse_info(data, size, &info);
    if (st != SG_KVMFR_OK) {
        printf("watch: session 0x%08x: KVMFR header rejected: %s\n", session, sg_kvmfr_status_str(st));
        return;
    }
    printf("watch: session 0x%08x attached: host version \"%s\", capture \"%s\"\n", session,
           info.host_version, info.capture);
}

static void write_png(struct watch *w, const struct sg_kvmfr_frame *f, const uint8_t *rows)
{
    uint32_t width, height;
    char path[512], err[256];
    uint8_t *rgb = sg_dump_frame_to_rgb8(f, rows, &width, &height);
    if (!rgb) {
        printf("watch: out of memory converting a %ux%u frame\n", f->hdr.data_width, f->hdr.data_height);
        return;
    }
    snprintf(path, sizeof(path), "%s/frame-%08x.png", w->png_dir, w->session);
    if (sg_dump_write_png(path, rgb, width, height, 3, err, sizeof(err)))
        printf("watch: %s\n", err);
    else
        printf("watch: wrote %s (%ux%u)\n", path, width, height);
    free(rgb);
}

/* --every-frame: the frame as a PPM and one line with its damage. */
static void write_every(struct watch *w, const struct sg_kvmfr_frame *f, const uint8_t *rows)
{
    uint32_t width, height;
    char path[512], dmg[64 * 32] = "";
    size_t used = 0;
    uint8_t *rgb = sg_dump_frame_to_rgb8(f, rows, &width, &height);
    if (!rgb) {
        printf("watch: out of memory converting a %ux%u frame\n", f->hdr.data_width, f->hdr.data_height);
        return;
    }
    snprintf(path, sizeof(path), "%s/frame-%u.ppm", w->every_dir, w->frame_files++);
    FILE *out = fopen(path, "wb");
    if (!out || fprintf(out, "P6\n%u %u\n255\n", width, height) < 0 ||
        fwrite(rgb, 3, (size_t)width * height, out) != (size_t)width * height) {
        printf("watch: cannot write %s: %s\n", path, strerror(errno));
        if (out)
            fclose(out);
        free(rgb);
        return;
    }
    fclose(out);
    free(rgb);
    for (uint32_t i = 0; i < f->hdr.damage_count && used < sizeof(dmg) - 32; i++)
        used += (size_t)snprintf(dmg + used, sizeof(dmg) - used, "%s%u,%u,%u,%u", i ? " " : "",
                                 f->hdr.damage[i].x, f->hdr.damage[i].y, f->hdr.damage[i].width,
                                 f->hdr.damage[i].height);
    printf("watch: every-frame %s serial %u size %ux%u damage %u [%s]\n", path, f->hdr.frame_serial, width,
           height, f->hdr.damage_count, dmg);
}

static void on_cursor(struct watch *w, const struct sg_lgmp_message *msg)
{
    struct sg_kvmfr_cursor c;
    enum sg_kvmfr_status st =
        sg_kvmfr_cursor_read(msg->mem, msg->size, msg->app_value, w->cursor_buf,
                             SG_KVMFR_CURSOR_HEADER_SIZE + SG_KVMFR_CURSOR_MAX_SHAPE_BYTES, &c);
    if (st != SG_KVMFR_OK) {
        printf("watch: cursor message rejected: %s\n", sg_kvmfr_status_str(st));
        return;
    }
    char shape[600] = "";
    if (c.flags & SG_CURSOR_FLAG_SHAPE) {
        char path[512];
        snprintf(path, sizeof(path), "%s/cursor-%u.bgra", w->every_dir, w->cursor_files++);
        FILE *out = fopen(path, "wb");
        size_t n = (size_t)c.pitch * c.data_rows;
        if (!out || fwrite(c.shape, 1, n, out) != n)
            printf("watch: cannot write %s: %s\n", path, strerror(errno));
        if (out)
            fclose(out);
        snprintf(shape, sizeof(shape), " shape %s type %u %ux%u pitch %u hot %d,%d", path, c.shape_type,
                 c.width, c.height, c.pitch, c.hot_x, c.hot_y);
    }
    printf("watch: cursor%s%s pos %d,%d%s\n", c.flags & SG_CURSOR_FLAG_VISIBLE ? " visible" : " hidden",
           c.flags & SG_CURSOR_FLAG_POSITION ? "" : " (no position)", c.x, c.y, shape);
}

static void on_frame(struct watch *w, const struct sg_lgmp_message *msg)
{
    struct sg_kvmfr_frame f;
    enum sg_kvmfr_status st = sg_kvmfr_frame_read(msg->mem, msg->size, &f);
    if (st != SG_KVMFR_OK) {
        printf("watch: frame at %u (%u bytes) rejected: %s\n", msg->offset, msg->size,
               sg_kvmfr_status_str(st));
        return;
    }
    if (w->have_serial && f.hdr.frame_serial == w->last_serial)
        return; /* a re-post of the frame we already have */
    w->have_serial = true;
    w->last_serial = f.hdr.frame_serial;
    w->frames_seen++;

    uint8_t *rows = calloc(1, f.data_size ? f.data_size : 1);
    uint32_t done = 0;
    if (!rows) {
        printf("watch: cannot allocate %llu bytes for a frame\n", (unsigned long long)f.data_size);
        return;
    }
    st = sg_kvmfr_frame_copy(msg->mem, &f, rows, f.hdr.pitch, false, &done);
    if (w->frames_seen == 1 || st != SG_KVMFR_OK)
        printf("watch: frame session 0x%08x serial %u type %s screen %ux%u frame %ux%u data %ux%u pitch %u "
               "flags 0x%x rows %u/%u%s%s\n",
               w->session, f.hdr.frame_serial, sg_kvmfr_frame_type_str(f.hdr.type), f.hdr.screen_width,
               f.hdr.screen_height, f.hdr.frame_width, f.hdr.frame_height, f.hdr.data_width,
               f.hdr.data_height, f.hdr.pitch, f.hdr.flags, done, f.hdr.data_height,
               st == SG_KVMFR_OK ? "" : " copy: ", st == SG_KVMFR_OK ? "" : sg_kvmfr_status_str(st));
    if (st != SG_KVMFR_OK) {
        free(rows);
        return;
    }
    /* written after the message is released: files take long on a loaded machine, and a
     * subscriber that holds a frame for a second is evicted */
    w->pending = f;
    w->pending_rows = rows;
}

static void write_pending(struct watch *w)
{
    if (!w->pending_rows)
        return;
    if (w->every_dir)
        write_every(w, &w->pending, w->pending_rows);
    if (w->png_dir && !w->png_written) {
        write_png(w, &w->pending, w->pending_rows);
        w->png_written = true;
    }
    free(w->pending_rows);
    w->pending_rows = NULL;
}

static void end_session(struct watch *w, const char *why)
{
    printf("watch: host gone: session 0x%08x (%s) after %u frames, %u cursor messages\n", w->session, why,
           w->frames_seen, w->cursor_msgs);
    sg_lgmp_client_unsubscribe(&w->frames);
    sg_lgmp_client_unsubscribe(&w->cursor);
    w->session = 0;
}

/* Attach to a session and subscribe both queues; false while no host is there. */
static bool start_session(struct watch *w, enum sg_lgmp_status *last)
{
    const uint8_t *data;
    uint32_t size;
    enum sg_lgmp_status st = sg_lgmp_client_session_init(w->client, &data, &size);
    if (st != SG_LGMP_OK) {
        if (st != *last)
            printf("watch: waiting for a host: %s\n", sg_lgmp_status_str(st));
        *last = st;
        return false;
    }
    *last = SG_LGMP_OK;
    w->session = sg_lgmp_client_session_id(w->client);
    w->have_serial = w->png_written = false;
    w->frames_seen = w->cursor_msgs = 0;
    print_info(data, size, w->session);
    for (int i = 0; i < 2000 && !stop; i++) { /* queues appear right after the header */
        if (!w->frames)
            st = sg_lgmp_client_subscribe(w->client, FRAME_QUEUE_ID, &w->frames);
        if (w->frames && !w->cursor)
            st = sg_lgmp_client_subscribe(w->client, CURSOR_QUEUE_ID, &w->cursor);
        if (w->frames && w->cursor)
            return true;
        if (st != SG_LGMP_NO_SUCH_QUEUE)
            break;
        sleep_us(1000);
    }
    end_session(w, sg_lgmp_status_str(st));
    return false;
}

static int run(struct watch *w, double seconds)
{
    enum sg_lgmp_status last = SG_LGMP_OK;
    uint64_t t0 = sg_clock_monotonic_ms(NULL), next_check = 0;
    while (!stop && (seconds <= 0 || sg_clock_monotonic_ms(NULL) - t0 < seconds * 1000)) {
        if (!w->session) {
            if (!start_session(w, &last))
                sleep_us(100000);
            continue;
        }
        uint64_t now = sg_clock_monotonic_ms(NULL);
        if (now >= next_check) {
            next_check = now + 100;
            if (!sg_lgmp_client_session_valid(w->client)) {
                end_session(w, "heartbeat stale or session id changed");
                continue;
            }
        }
        struct sg_lgmp_message msg;
        bool idle = true;
        enum sg_lgmp_status st = sg_lgmp_client_process(w->frames, &msg);
        if (st == SG_LGMP_OK) {
            on_frame(w, &msg);
            st = sg_lgmp_client_message_done(w->frames);
            write_pending(w);
            idle = false;
        }
        if (st == SG_LGMP_OK || st == SG_LGMP_QUEUE_EMPTY) {
            st = sg_lgmp_client_process(w->cursor, &msg);
            if (st == SG_LGMP_OK) {
                w->cursor_msgs++;
                if (w->every_dir)
                    on_cursor(w, &msg);
                st = sg_lgmp_client_message_done(w->cursor);
                idle = false;
            }
        }
        if (st != SG_LGMP_OK && st != SG_LGMP_QUEUE_EMPTY) {
            end_session(w, sg_lgmp_status_str(st));
            continue;
        }
        if (idle)
            sleep_us(1000);
    }
    if (w->session)
        printf("watch: stopping in session 0x%08x after %u frames\n", w->session, w->frames_seen);
    return 0;
}

static void usage(FILE *out, const char *argv0)
{
    fprintf(out,
            "Usage: %s [--png-dir DIR] [--seconds N] REGION\n"
            "Headless LGMP/KVMFR subscriber: attaches to the host's session in REGION, copies every\n"
            "frame, prints attach / frame / host-gone lines and re-attaches to new sessions.\n\n"
            "  -p, --png-dir DIR   write the first frame of each session as DIR/frame-SESSION.png\n"
            "  -s, --seconds N     stop after N seconds (default: run until SIGINT/SIGTERM)\n"
            "  -e, --every-frame DIR  write every frame as DIR/frame-N.ppm (one line each, with damage)\n"
            "                      and print every cursor message (shapes as DIR/cursor-N.bgra)\n"
            "  -h, --help          this text\n",
            argv0);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"png-dir", required_argument, 0, 'p'},
                                         {"seconds", required_argument, 0, 's'},
                                         {"every-frame", required_argument, 0, 'e'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    struct watch w = {0};
    double seconds = 0;
    int c;
    while ((c = getopt_long(argc, argv, "p:s:e:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            w.png_dir = optarg;
            break;
        case 's':
            seconds = atof(optarg);
            break;
        case 'e':
            w.every_dir = optarg;
            break;
        case 'h':
            usage(stdout, argv[0]);
            return 0;
        default:
            usage(stderr, argv[0]);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr, argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    if (w.every_dir &&
        !(w.cursor_buf = malloc(SG_KVMFR_CURSOR_HEADER_SIZE + SG_KVMFR_CURSOR_MAX_SHAPE_BYTES))) {
        fprintf(stderr, "sg-vm-watch: out of memory\n");
        return 1;
    }
    char err[256];
    struct sg_shm_open_opts o = {.path = argv[optind]};
    if (sg_shm_open(&w.shm, &o, err, sizeof(err))) {
        fprintf(stderr, "sg-vm-watch: %s\n", err);
        return 1;
    }
    enum sg_lgmp_status st = sg_lgmp_client_create(&w.client, w.shm.base, w.shm.size, NULL);
    if (st != SG_LGMP_OK) {
        fprintf(stderr, "sg-vm-watch: %s (%zu bytes): %s\n", w.shm.path, w.shm.size, sg_lgmp_status_str(st));
        sg_shm_close(&w.shm);
        return 1;
    }
    printf("watch: mapped %s (%zu bytes)\n", w.shm.path, w.shm.size);
    int rc = run(&w, seconds);
    sg_lgmp_client_destroy(w.client);
    sg_shm_close(&w.shm);
    free(w.cursor_buf);
    free(w.pending_rows);
    return rc;
}
