/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spyglass-dump: what is in a Looking Glass shared-memory region, live or
 * saved. Read-only; never subscribes and never writes to the region.
 */
#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dump_image.h"
#include "kvmfr.h"
#include "lgmp.h"
#include "sg_log.h"
#include "sg_time.h"
#include "shm.h"

#define MAX_LISTED_MESSAGES 64u

struct opts {
    const char *path;
    const char *frame_png;
    const char *cursor_png;
    bool watch;
    bool no_wait;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: spyglass-dump [OPTION]... [PATH]\n"
            "Show what a Looking Glass (LGMP v6 / KVMFR v20) shared-memory region holds: session,\n"
            "heartbeat, queues and subscribers, outstanding messages, the KVMFR header and records,\n"
            "the newest frame header and the cursor messages. The region is only read.\n"
            "\n"
            "  PATH, -f, --file PATH   region file or device (default /dev/kvmfr0 if it exists,\n"
            "                          else %s);\n"
            "                          a saved copy of a region works too\n"
            "  -F, --frame OUT.png     write the newest frame as an RGB PNG (any pixel format)\n"
            "  -c, --cursor-png OUT.png  write the newest cursor shape as an RGBA PNG\n"
            "                          (pixels that invert the screen are drawn magenta)\n"
            "  -w, --watch             print the report every second until interrupted\n"
            "  -n, --no-wait           do not sample the heartbeat a second time (100 ms later)\n"
            "  -l, --log-level LEVEL   error, warn, info (default) or debug\n"
            "  -h, --help              show this help\n"
            "\n"
            "Exit status: 0 when the region is valid, 1 when something in it is invalid or an\n"
            "output could not be written, 2 on bad usage.\n",
            SG_SHM_DEFAULT_PATH);
}

static uint64_t load_clock(const void *base)
{
    return __atomic_load_n((const uint64_t *)((const uint8_t *)base + 16), __ATOMIC_ACQUIRE);
}

static const char *queue_name(uint32_t id)
{
    return id == SG_KVMFR_FRAME_QUEUE_ID ? "frames" : id == SG_KVMFR_CURSOR_QUEUE_ID ? "cursor" : "unknown";
}

static const char *os_name(uint8_t kind)
{
    static const char *names[] = {"Linux", "BSD", "macOS", "Windows", "other"};
    return kind < 5 ? names[kind] : "unknown";
}

static const char *shape_name(uint32_t t)
{
    return t == SG_CURSOR_COLOR          ? "colour"
           : t == SG_CURSOR_MONOCHROME   ? "monochrome"
           : t == SG_CURSOR_MASKED_COLOR ? "masked-colour"
                                         : "invalid";
}

static void print_flags(uint32_t flags)
{
    static const char *names[] = {"position", "visible", "shape"};
    printf("flags 0x%x (", flags);
    bool any = false;
    for (int i = 0; i < 3; i++)
        if (flags & (1u << i)) {
            printf("%s%s", any ? " " : "", names[i]);
            any = true;
        }
    printf("%s)", any ? "" : "hidden");
}

/* Appends to a message being built in buf. */
static void appendf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t size, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, size - len, fmt, ap);
    va_end(ap);
}

static void print_lgmp_problem(const struct sg_lgmp_info *info, size_t size, const char *path)
{
    char why[512] = "";
    switch (info->problem) {
    case SG_LGMP_INVALID_SIZE:
        appendf(why, sizeof(why), ": the region is %zu bytes, smaller than the %u-byte LGMP header", size,
                SG_LGMP_GLOBAL_HEADER_SIZE);
        break;
    case SG_LGMP_INVALID_MAGIC:
        appendf(why, sizeof(why),
                ": magic is 0x%08x, expected 0x%08x (\"LGMP\"); no host has written this region", info->magic,
                SG_LGMP_MAGIC);
        break;
    case SG_LGMP_INVALID_VERSION:
        appendf(why, sizeof(why), ": version is %u, expected %u", info->version, SG_LGMP_VERSION);
        break;
    case SG_LGMP_BAD_APP_DATA_SIZE:
        appendf(why, sizeof(why), ": app_data_size %u runs past the %zu-byte region", info->app_data_size,
                size);
        break;
    case SG_LGMP_BAD_QUEUE_COUNT:
        appendf(why, sizeof(why), ": queue_count is %u, at most %u allowed", info->queue_count,
                SG_LGMP_MAX_QUEUES);
        break;
    default:
        for (uint32_t i = 0; i < info->queues_valid; i++) {
            const struct sg_lgmp_queue_info *q = &info->queues[i];
            if (!q->ring_ok)
                appendf(why, sizeof(why),
                        ": queue %u: slot_count %u, ring_offset %u, write_index %u, read_index %u", i,
                        q->slot_count, q->ring_offset, q->write_index, q->read_index);
        }
    }
    LOG_E("%s: invalid LGMP region: %s%s", path, sg_lgmp_status_str(info->problem), why);
}

/* Newest cursor shape seen while listing messages, for --cursor-png. */
struct cursor_state {
    bool have_hot;
    int8_t hot_x, hot_y;
    bool have_shape;
    uint32_t shape_msg;
    struct sg_lgmp_message shape_msg_data;
};

static int dump_cursor_msg(uint32_t n, const struct sg_lgmp_message *m, uint8_t *copy, size_t copy_size,
                           struct cursor_state *cs)
{
    struct sg_kvmfr_cursor c;
    enum sg_kvmfr_status st = sg_kvmfr_cursor_read(m->mem, m->size, m->app_value, copy, copy_size, &c);
    printf("cursor: message %u: ", n);
    print_flags(m->app_value);
    if (st != SG_KVMFR_OK) {
        struct sg_kvmfr_wire_cursor h = {0};
        if (m->size >= sizeof h)
            memcpy(&h, m->mem, sizeof h);
        printf(", INVALID: %s (payload %u bytes, type %u, %ux%u, pitch %u)\n", sg_kvmfr_status_str(st),
               m->size, h.shape_type, h.width, h.height, h.pitch);
        return 1;
    }
    if (c.flags & SG_CURSOR_FLAG_POSITION)
        printf(", position (%d,%d)", c.x, c.y);
    if (c.flags & SG_CURSOR_FLAG_SHAPE) {
        printf(", hotspot (%d,%d), shape %s %ux%u pitch %u (%u bytes)", c.hot_x, c.hot_y,
               shape_name(c.shape_type), c.width, c.height, c.pitch, c.shape_size);
        cs->have_hot = true;
        cs->hot_x = c.hot_x;
        cs->hot_y = c.hot_y;
        cs->have_shape = true;
        cs->shape_msg = n;
        cs->shape_msg_data = *m;
    }
    if ((c.flags & SG_CURSOR_FLAG_POSITION) && cs->have_hot)
        printf(", hotspot at (%d,%d)", c.x + cs->hot_x, c.y + cs->hot_y);
    printf("\n");
    return 0;
}

static int write_cursor_png(const char *out, const struct cursor_state *cs, uint8_t *copy, size_t copy_size)
{
    char err[512];
    struct sg_kvmfr_cursor c;
    if (!cs->have_shape) {
        LOG_E("--cursor-png: no cursor message with a shape is in the queue");
        return 1;
    }
    const struct sg_lgmp_message *m = &cs->shape_msg_data;
    enum sg_kvmfr_status st = sg_kvmfr_cursor_read(m->mem, m->size, m->app_value, copy, copy_size, &c);
    if (st != SG_KVMFR_OK) {
        LOG_E("--cursor-png: cursor shape changed and is now invalid: %s", sg_kvmfr_status_str(st));
        return 1;
    }
    size_t n = (size_t)c.width * c.height;
    uint8_t *rgba = malloc(n * 4), *inv = malloc(n);
    int rc = 1;
    if (rgba && inv && sg_kvmfr_cursor_decode(&c, rgba, inv, n) == SG_KVMFR_OK) {
        for (size_t i = 0; i < n; i++) {
            uint8_t *p = rgba + i * 4;
            if (inv[i]) {
                p[0] = 255, p[1] = 0, p[2] = 255, p[3] = 255;
            } else if (p[3] && p[3] < 255) { /* PNG wants straight alpha */
                for (int k = 0; k < 3; k++) {
                    unsigned v = (p[k] * 255u + p[3] / 2) / p[3];
                    p[k] = (uint8_t)(v > 255 ? 255 : v);
                }
            }
        }
        if (sg_dump_write_png(out, rgba, c.width, c.height, 4, err, sizeof err) == 0) {
            printf("cursor: wrote message %u's %ux%u shape to %s\n", cs->shape_msg, c.width, c.height, out);
            rc = 0;
        } else {
            LOG_E("%s", err);
        }
    }
    free(rgba);
    free(inv);
    return rc;
}

static int dump_frame(const struct sg_lgmp_message *m, uint32_t slot, bool outstanding, const char *png)
{
    struct sg_kvmfr_frame f;
    enum sg_kvmfr_status st = sg_kvmfr_frame_read(m->mem, m->size, &f);
    printf("frame: newest message (ring slot %u, %s) at %u, %u bytes\n", slot,
           outstanding ? "outstanding" : "already released", m->offset, m->size);
    if (st != SG_KVMFR_OK) {
        struct sg_kvmfr_wire_frame h = {0};
        if (m->size >= sizeof h)
            memcpy(&h, m->mem, sizeof h);
        printf("frame: INVALID: %s\n", sg_kvmfr_status_str(st));
        printf("frame: type %u, data %ux%u, frame %ux%u, screen %ux%u, stride %u, pitch %u, fb_offset %u, "
               "damage %u\n",
               h.type, h.data_width, h.data_height, h.frame_width, h.frame_height, h.screen_width,
               h.screen_height, h.stride, h.pitch, h.fb_offset, h.damage_count);
        return 1;
    }
    const struct sg_kvmfr_wire_frame *h = &f.hdr;
    uint32_t progress = sg_kvmfr_progress_load(sg_kvmfr_frame_progress_word(m->mem, &f));
    printf("frame: serial %u, format version %u, type %s (%u), rotation %u\n", h->frame_serial,
           h->format_version, sg_kvmfr_frame_type_str(h->type), h->type, h->rotation);
    printf("frame: screen %ux%u, data %ux%u, frame %ux%u, stride %u, pitch %u\n", h->screen_width,
           h->screen_height, h->data_width, h->data_height, h->frame_width, h->frame_height, h->stride,
           h->pitch);
    printf("frame: fb_offset %u (pixel data at %llu), progress %u of %llu (%s)\n", h->fb_offset,
           (unsigned long long)m->offset + f.data_offset, progress, (unsigned long long)f.data_size,
           progress >= f.data_size ? "complete" : "incomplete");
    printf("frame: flags 0x%x%s%s%s%s%s, damage rects %u%s\n", h->flags,
           h->flags & SG_FRAME_FLAG_BLOCK_SCREENSAVER ? " block-screensaver" : "",
           h->flags & SG_FRAME_FLAG_REQUEST_ACTIVATION ? " request-activation" : "",
           h->flags & SG_FRAME_FLAG_TRUNCATED ? " truncated" : "", h->flags & SG_FRAME_FLAG_HDR ? " hdr" : "",
           h->flags & SG_FRAME_FLAG_HDR_PQ ? " hdr-pq" : "", h->damage_count,
           h->damage_count ? "" : " (full frame)");
    for (uint32_t i = 0; i < h->damage_count; i++)
        printf("frame: damage %u: %u,%u %ux%u\n", i, h->damage[i].x, h->damage[i].y, h->damage[i].width,
               h->damage[i].height);
    if (h->flags & SG_FRAME_FLAG_TRUNCATED)
        printf("frame: truncated: a region of %u MiB is recommended\n",
               sg_kvmfr_recommended_mib(h->screen_height, h->pitch));
    if (!png)
        return 0;

    uint8_t *rows = calloc(h->data_height, h->pitch);
    if (!rows) {
        LOG_E("--frame: out of memory for %llu bytes", (unsigned long long)f.data_size);
        return 1;
    }
    uint32_t rows_done = 0;
    st = sg_kvmfr_frame_copy(m->mem, &f, rows, h->pitch, false, &rows_done);
    if (st != SG_KVMFR_OK)
        LOG_W("--frame: only %u of %u rows arrived (%s); the rest is black", rows_done, h->data_height,
              sg_kvmfr_status_str(st));
    uint32_t w, hgt;
    uint8_t *rgb = sg_dump_frame_to_rgb8(&f, rows, &w, &hgt);
    free(rows);
    char err[512];
    int rc = 1;
    if (!rgb)
        LOG_E("--frame: out of memory");
    else if (sg_dump_write_png(png, rgb, w, hgt, 3, err, sizeof err) != 0)
        LOG_E("%s", err);
    else {
        printf("frame: wrote %ux%u RGB to %s\n", w, hgt, png);
        rc = 0;
    }
    free(rgb);
    return rc;
}

/* The LGMP header. Returns 0 when it is valid, 1 when it is not but the rest can still be read,
 * -1 when nothing further can be trusted (size, magic, version, app data size). */
static int dump_lgmp_header(const struct sg_shm *shm, struct sg_lgmp_info *info)
{
    int bad = 0;
    printf("region: %s, %zu bytes\n", shm->path, shm->size);
    if (sg_lgmp_inspect(shm->base, shm->size, info) != SG_LGMP_OK) {
        print_lgmp_problem(info, shm->size, shm->path);
        if (info->problem == SG_LGMP_INVALID_SIZE || info->problem == SG_LGMP_INVALID_MAGIC ||
            info->problem == SG_LGMP_INVALID_VERSION || info->problem == SG_LGMP_BAD_APP_DATA_SIZE)
            return -1;
        bad = 1;
    }
    printf("lgmp: magic LGMP, version %u, session 0x%08x, %u queues, app data %u bytes at %u\n",
           info->version, info->session_id, info->queue_count, info->app_data_size, SG_LGMP_APP_DATA_OFFSET);
    return bad;
}

/* Whether the host's clock moves: over 100 ms, unless asked not to wait. */
static void dump_heartbeat(const void *base, bool no_wait)
{
    uint64_t c1 = load_clock(base);
    if (no_wait) {
        printf("heartbeat: %llu ms\n", (unsigned long long)c1);
        return;
    }
    sg_sleep_us(100000);
    uint64_t c2 = load_clock(base);
    if (c2 != c1)
        printf("heartbeat: %llu ms, ticking (+%lld ms in 100 ms)\n", (unsigned long long)c2,
               (long long)(c2 - c1));
    else
        printf("heartbeat: %llu ms, not ticking (unchanged over 100 ms: host stopped or region saved)\n",
               (unsigned long long)c1);
}

static void log_kvmfr_problem(const char *path, enum sg_kvmfr_status st, const uint8_t *app,
                              uint32_t app_size, const struct sg_kvmfr_info *ki)
{
    char why[256] = "";
    if (st == SG_KVMFR_APPDATA_TOO_SMALL) {
        appendf(why, sizeof(why), ": %u bytes", app_size);
    } else if (st == SG_KVMFR_BAD_MAGIC) {
        /* the guest's bytes, without the control ones a terminal would act on */
        char magic[9] = "";
        for (uint32_t k = 0; k < 8 && app_size >= 8; k++)
            magic[k] = app[k] >= 0x20 && app[k] < 0x7f ? (char)app[k] : '?';
        appendf(why, sizeof(why), ": starts with \"%s\"", magic);
    } else if (st == SG_KVMFR_BAD_VERSION) {
        appendf(why, sizeof(why), ": version %u, host \"%s\"", ki->version, ki->host_version);
    }
    LOG_E("%s: invalid KVMFR application data: %s%s", path, sg_kvmfr_status_str(st), why);
}

static void print_kvmfr_records(const struct sg_kvmfr_info *ki)
{
    if (ki->has_vm_info) {
        printf("kvmfr: vm info: uuid ");
        for (int i = 0; i < 16; i++)
            printf("%02x%s", ki->uuid[i], i == 3 || i == 5 || i == 7 || i == 9 ? "-" : "");
        printf(", capture \"%s\", cpus %u, cores %u, sockets %u, model \"%s\"\n", ki->capture, ki->cpus,
               ki->cores, ki->sockets, ki->cpu_model);
    }
    if (ki->has_os_info)
        printf("kvmfr: os info: %s (%u), \"%s\"\n", os_name(ki->os_kind), ki->os_kind, ki->os_name);
    printf("kvmfr: records %u, skipped %u%s\n", ki->records_seen, ki->records_skipped,
           ki->records_truncated ? ", the last one runs past the data (ignored)" : "");
}

/* KVMFR header and records, from a private copy of the app data. Returns 0, 1 when they are
 * invalid, -1 when out of memory. */
static int dump_kvmfr_info(const struct sg_shm *shm, const struct sg_lgmp_info *info)
{
    uint8_t *app = malloc(info->app_data_size + 1);
    struct sg_kvmfr_info ki;
    if (!app) {
        LOG_E("out of memory for %u bytes of app data", info->app_data_size);
        return -1;
    }
    memcpy(app, (const uint8_t *)shm->base + SG_LGMP_APP_DATA_OFFSET, info->app_data_size);
    enum sg_kvmfr_status st = sg_kvmfr_parse_info(app, info->app_data_size, &ki);
    if (st == SG_KVMFR_OK || st == SG_KVMFR_BAD_VERSION)
        printf("kvmfr: magic KVMFR---, version %u, host version \"%s\", features 0x%x%s\n", ki.version,
               ki.host_version, ki.features,
               ki.features & SG_KVMFR_FEATURE_SET_CURSOR_POS ? " (set-cursor-pos)" : "");
    if (st != SG_KVMFR_OK)
        log_kvmfr_problem(shm->path, st, app, info->app_data_size, &ki);
    else
        print_kvmfr_records(&ki);
    free(app);
    return st != SG_KVMFR_OK;
}

/* A queue's header, its subscribers and its client-message counters. */
static void print_queue_header(uint32_t i, const struct sg_lgmp_queue_info *q, uint64_t host_clock_ms)
{
    uint32_t active = (uint32_t)(q->subs >> 32), badm = (uint32_t)q->subs;
    printf(
        "queue %u: id %u (%s), %u slots, sub timeout %u ms, ring at %u, write %u, read %u, outstanding %u, "
        "new subscribers %u\n",
        i, q->queue_id, queue_name(q->queue_id), q->slot_count, q->sub_timeout_ms, q->ring_offset,
        q->write_index, q->read_index, q->outstanding, q->new_sub_count);
    printf("queue %u: subscribers active 0x%08x, bad 0x%08x, oldest deadline %llu\n", i, active, badm,
           (unsigned long long)q->oldest_deadline);
    for (uint32_t s = 0; s < SG_LGMP_MAX_SUBSCRIBERS; s++) {
        bool a = active >> s & 1, b = badm >> s & 1;
        if (!(a || b || q->bad_until[s]))
            continue;
        printf("queue %u: subscriber %u: %s%s, tag 0x%08x, bad_until %llu", i, s, a ? "active" : "inactive",
               b ? " bad (evicted)" : "", q->client_tag[s], (unsigned long long)q->bad_until[s]);
        if (b && q->bad_until[s] > host_clock_ms)
            printf(" (slot reserved for %llu more ms)",
                   (unsigned long long)(q->bad_until[s] - host_clock_ms));
        else if (b)
            printf(" (expired: the next subscribe reaps it)");
        printf("\n");
    }
    printf("queue %u: client messages: free %u, sent serial %u, done serial %u\n", i, q->cmsg_free,
           q->cmsg_sent_serial, q->cmsg_done_serial);
}

/* The outstanding messages of a queue whose ring checked out (cursor messages decoded into cs).
 * Sets *outstanding to the number of messages the ring holds; returns 1 if anything is invalid. */
static int dump_messages(const struct sg_shm *shm, uint32_t i, const struct sg_lgmp_queue_info *q,
                         uint8_t *copy, size_t copy_size, struct cursor_state *cs, uint32_t *outstanding)
{
    int bad = 0;
    uint32_t n = q->outstanding < q->slot_count ? q->outstanding : q->slot_count - 1;
    if (q->outstanding >= q->slot_count) {
        printf("queue %u: INVALID outstanding %u (ring has %u slots)\n", i, q->outstanding, q->slot_count);
        bad = 1;
    }
    /* a real ring has a few dozen slots; the guest can claim millions */
    uint32_t listed = n < MAX_LISTED_MESSAGES ? n : MAX_LISTED_MESSAGES;
    for (uint32_t k = 0; k < listed; k++) {
        uint32_t slot = (q->read_index + k) % q->slot_count;
        struct sg_lgmp_message m;
        uint32_t pending;
        enum sg_lgmp_status ls = sg_lgmp_inspect_slot(shm->base, shm->size, q, slot, &m, &pending);
        printf("queue %u: message %u (ring slot %u): app_value 0x%x, payload at %u, %u bytes, pending "
               "0x%08x%s%s\n",
               i, k + 1, slot, m.app_value, m.offset, m.size, pending, ls ? ", INVALID: " : "",
               ls ? sg_lgmp_status_str(ls) : "");
        if (ls) {
            bad = 1;
            continue;
        }
        if (q->queue_id == SG_KVMFR_CURSOR_QUEUE_ID)
            bad |= dump_cursor_msg(k + 1, &m, copy, copy_size, cs);
    }
    if (n > listed)
        printf("queue %u: %u more outstanding messages not listed\n", i, n - listed);
    *outstanding = n;
    return bad;
}

/* The newest message of the frame queue, released or not: the one before write_index. */
static int dump_newest_frame(const struct sg_shm *shm, const struct sg_lgmp_queue_info *q, bool outstanding,
                             const char *png)
{
    uint32_t slot = (q->write_index + q->slot_count - 1) % q->slot_count;
    struct sg_lgmp_message m;
    enum sg_lgmp_status ls = sg_lgmp_inspect_slot(shm->base, shm->size, q, slot, &m, NULL);
    if (ls) {
        printf("frame: newest message (ring slot %u) INVALID: %s (payload at %u, %u bytes)\n", slot,
               sg_lgmp_status_str(ls), m.offset, m.size);
        return 1;
    }
    if (m.size == 0 && m.offset == 0) {
        printf("frame: no frame posted yet\n");
        return 0;
    }
    return dump_frame(&m, slot, outstanding, png);
}

static int dump_once(const struct sg_shm *shm, const struct opts *o)
{
    struct sg_lgmp_info info;
    int bad = dump_lgmp_header(shm, &info);
    if (bad < 0)
        return 1;
    dump_heartbeat(shm->base, o->no_wait);
    if (info.app_data_ok) {
        int r = dump_kvmfr_info(shm, &info);
        if (r < 0)
            return 1;
        bad |= r;
    }

    size_t copy_size = SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE;
    uint8_t *copy = malloc(copy_size);
    struct cursor_state cs = {0};
    if (!copy) {
        LOG_E("out of memory");
        return 1;
    }
    bool saw_frames = false;
    for (uint32_t i = 0; i < info.queues_valid; i++) {
        const struct sg_lgmp_queue_info *q = &info.queues[i];
        print_queue_header(i, q, info.host_clock_ms);
        if (!q->ring_ok) {
            printf("queue %u: INVALID ring (slot_count %u, ring_offset %u, write %u, read %u)\n", i,
                   q->slot_count, q->ring_offset, q->write_index, q->read_index);
            bad = 1;
            continue;
        }
        uint32_t n;
        bad |= dump_messages(shm, i, q, copy, copy_size, &cs, &n);
        if (q->queue_id == SG_KVMFR_FRAME_QUEUE_ID && !saw_frames) {
            saw_frames = true;
            bad |= dump_newest_frame(shm, q, n > 0, o->frame_png);
        }
    }
    if (o->frame_png && !saw_frames) {
        LOG_E("--frame: the region has no frame queue");
        bad = 1;
    }
    if (o->cursor_png)
        bad |= write_cursor_png(o->cursor_png, &cs, copy, copy_size);
    free(copy);
    return bad;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"file", required_argument, 0, 'f'},       {"frame", required_argument, 0, 'F'},
        {"cursor-png", required_argument, 0, 'c'}, {"watch", no_argument, 0, 'w'},
        {"no-wait", no_argument, 0, 'n'},          {"help", no_argument, 0, 'h'},
        {"log-level", required_argument, 0, 'l'},  {0, 0, 0, 0},
    };
    struct opts o = {0};
    int c;
    while ((c = getopt_long(argc, argv, "f:F:c:wnl:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            o.path = optarg;
            break;
        case 'F':
            o.frame_png = optarg;
            break;
        case 'c':
            o.cursor_png = optarg;
            break;
        case 'w':
            o.watch = true;
            break;
        case 'n':
            o.no_wait = true;
            break;
        case 'l': {
            enum sg_log_level level;
            if (!sg_log_parse_level(optarg, &level)) {
                LOG_E("log level '%s' is not one of error, warn, info, debug", optarg);
                return 2;
            }
            sg_log_set_level(level);
            break;
        }
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        if (o.path || optind + 1 < argc) {
            LOG_E("give one region path (got extra argument \"%s\")", argv[argc - 1]);
            return 2;
        }
        o.path = argv[optind];
    }

    /* The B7 client's default: the kvmfr device when there is one (kvmfr.md §2.1). */
    if (!o.path && access("/dev/kvmfr0", F_OK) == 0)
        o.path = "/dev/kvmfr0";
    struct sg_shm shm;
    char err[512];
    struct sg_shm_open_opts so = {.path = o.path, .read_only = true};
    if (sg_shm_open(&shm, &so, err, sizeof err) != 0) {
        LOG_E("%s", err);
        return 1;
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int rc = dump_once(&shm, &o);
    while (o.watch && !stop) {
        for (int i = 0; i < 10 && !stop; i++)
            sg_sleep_us(100000);
        if (stop)
            break;
        printf("\n");
        fflush(stdout);
        rc = dump_once(&shm, &o);
    }
    fflush(stdout);
    sg_shm_close(&shm);
    return rc;
}
