/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host and clients in separate processes over one file in /dev/shm, with our
 * LGMP and KVMFR code on both sides and the B7 layout (kvmfr.md §4).
 *
 * The host posts thousands of frames (varying formats and sizes, damage
 * rectangles, data written after the post with progress publication) and
 * cursor messages (all three shape types, positions), every payload carrying
 * a checksum. Client A runs from the start; client B joins later, stops
 * reading once (it must be evicted after about a second and subscribe again).
 * Half-way the host restarts (new session): both clients must notice and
 * re-attach. Every frame a client accepts must be complete and untorn, and
 * damage-only copies must give the same image as full copies.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvmfr.h"
#include "kvmfr_test_util.h"
#include "lgmp.h"
#include "shm.h"

#define REGION_SIZE (16u << 20)
#define FRAMES_PER_SESSION 1200u
#define SESSIONS 2u
#define FINAL_SERIAL (FRAMES_PER_SESSION * SESSIONS - 1)
#define TWO_CLIENTS_AT 300u /* frame of the first session from which both clients run */
#define STALL_AFTER 150u    /* client B stops reading after this many frames */
#define STALL_MAX_MS 3000u
/* A run takes 3 s on a quiet machine and 30 s or more under ThreadSanitizer
 * with both cores busy: the limit is on a stall (nothing accepted for this
 * long), never on the run's total time. */
#define IDLE_LIMIT_MS 15000u
#define TRAILER_MAGIC 0x43544753u /* "SGTC" */

/* ------------------------------------------------------------------ shared */

struct client_stats {
    uint32_t frames, damage_checked, full_only, fb_timeouts, not_accepted;
    uint32_t cursor_shapes[3], cursor_positions;
    uint32_t evictions, resubscribes, reattaches;
    uint32_t evict_ms;
    uint32_t frames_after_resub;
    uint32_t failures;
    bool finished;
    char first_failure[600];
};

struct results {
    struct client_stats client[2];
    uint32_t host_sessions, host_frames, host_cursor_posts, host_failures;
    char host_failure[600];
};

static struct results *results;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void sleep_us(unsigned us)
{
    struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A word-at-a-time FNV-style hash: fast enough for hundreds of MB. */
static uint64_t checksum(const uint8_t *p, size_t n, uint64_t seed)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

struct trailer {
    uint32_t magic, serial;
    uint64_t sum;
};

/* ------------------------------------------------------------------- host */

struct host {
    uint8_t *base;
    struct sg_lgmp_host *lgmp;
    struct sg_lgmp_host_queue *frames, *cursors;
    struct sg_lgmp_mem records[SG_KVMFR_CURSOR_RECORDS], shapes[SG_KVMFR_CURSOR_SHAPE_BUFFERS], blocks[2];
    uint32_t fb_offset;
    uint64_t last_tick;
    uint64_t rng;
    /* the current image, tightly packed rows */
    uint32_t type, data_w, frame_w, h, pitch, row_bytes, bpt;
    uint8_t *image;
    uint32_t block, record, shape, cursor_seq;
};

static void host_fail(const char *fmt, const char *a, long v)
{
    if (!results->host_failures++)
        snprintf(results->host_failure, sizeof results->host_failure, fmt, a, v);
}

static void host_tick(struct host *h)
{
    uint64_t t = now_ms();
    if (t - h->last_tick >= SG_KVMFR_HOST_TICK_MS) {
        h->last_tick = t;
        enum sg_lgmp_status st = sg_lgmp_host_process(h->lgmp);
        if (st != SG_LGMP_OK)
            host_fail("host process: %s (%ld)", sg_lgmp_status_str(st), st);
    }
}

/* Ticks while waiting, like the B7 host's timer thread. false on timeout. */
static bool host_wait_pending_below(struct host *h, struct sg_lgmp_host_queue *q, uint32_t limit,
                                    unsigned max_ms)
{
    uint64_t start = now_ms();
    while (sg_lgmp_host_queue_pending(q) >= limit) {
        if (now_ms() - start > max_ms)
            return false;
        host_tick(h);
        sleep_us(50);
    }
    return true;
}

/* Active subscribers of the frame queue, as any observer sees them. */
static int frame_subscribers(const struct host *h)
{
    struct sg_lgmp_info info;
    sg_lgmp_inspect(h->base, REGION_SIZE, &info);
    for (uint32_t i = 0; i < info.queues_valid; i++)
        if (info.queues[i].queue_id == SG_KVMFR_FRAME_QUEUE_ID)
            return __builtin_popcount((uint32_t)(info.queues[i].subs >> 32) & ~(uint32_t)info.queues[i].subs);
    return 0;
}

static void host_wait_subscribers(struct host *h, int n)
{
    uint64_t start = now_ms();
    while (frame_subscribers(h) < n) {
        if (now_ms() - start > 8000) {
            host_fail("only %s%ld frame subscribers after 8 s", "", frame_subscribers(h));
            return;
        }
        host_tick(h);
        sleep_us(1000);
    }
}

static int host_session(struct host *h)
{
    struct sg_kvmfr_info info = {0};
    strcpy(info.host_version, "relay-test");
    strcpy(info.capture, "synthetic");
    strcpy(info.cpu_model, "test cpu");
    strcpy(info.os_name, "test os");
    info.cpus = 2;
    info.cores = 2;
    info.sockets = 1;
    uint8_t app[512];
    uint32_t app_size = (uint32_t)sg_kvmfr_build_info(&info, app, sizeof app);
    enum sg_lgmp_status st = sg_lgmp_host_create(&h->lgmp, h->base, REGION_SIZE, app, app_size, NULL);
    if (st) {
        host_fail("host create: %s (%ld)", sg_lgmp_status_str(st), st);
        return -1;
    }
    /* The B7 allocation sequence; the result must be the §4 layout. */
    struct sg_kvmfr_layout l;
    sg_kvmfr_layout_compute(app_size, 4096, REGION_SIZE, &l);
    st = sg_lgmp_host_queue_create(h->lgmp, SG_KVMFR_FRAME_QUEUE_ID, SG_KVMFR_FRAME_QUEUE_LEN,
                                   SG_KVMFR_SUB_TIMEOUT_MS, &h->frames);
    if (!st)
        st = sg_lgmp_host_queue_create(h->lgmp, SG_KVMFR_CURSOR_QUEUE_ID, SG_KVMFR_CURSOR_QUEUE_LEN,
                                       SG_KVMFR_SUB_TIMEOUT_MS, &h->cursors);
    for (uint32_t i = 0; !st && i < SG_KVMFR_CURSOR_RECORDS; i++)
        st = sg_lgmp_host_alloc(h->lgmp, SG_KVMFR_CURSOR_HEADER_SIZE, &h->records[i]);
    for (uint32_t i = 0; !st && i < SG_KVMFR_CURSOR_SHAPE_BUFFERS; i++)
        st = sg_lgmp_host_alloc(h->lgmp, SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE, &h->shapes[i]);
    for (uint32_t i = 0; !st && i < 2; i++)
        st = sg_lgmp_host_alloc_aligned(h->lgmp, 4096, (uint32_t)l.max_frame_size, &h->blocks[i]);
    if (st) {
        host_fail("host allocation: %s (%ld)", sg_lgmp_status_str(st), st);
        return -1;
    }
    if (h->records[0].offset != l.cursor_records || h->shapes[0].offset != l.shape_buffers ||
        h->blocks[0].offset != l.frame_block[0] || h->blocks[1].offset != l.frame_block[1] ||
        h->blocks[0].size != l.block_size)
        host_fail("allocations differ from the kvmfr.md section 4 layout: block 0 at %s%ld", "",
                  h->blocks[0].offset);
    h->fb_offset = 4096 - 4;
    for (int i = 0; i < 2; i++)
        sg_kvmfr_frame_init_block(h->blocks[i].ptr, h->fb_offset);
    h->block = h->record = h->shape = 0;
    h->last_tick = now_ms();
    results->host_sessions++;
    return 0;
}

static void host_new_format(struct host *h)
{
    static const uint32_t types[] = {SG_FRAME_BGRA,    SG_FRAME_RGBA,   SG_FRAME_RGBA10,
                                     SG_FRAME_RGBA16F, SG_FRAME_BGR_32, SG_FRAME_RGB_24};
    h->type = types[rng_next(&h->rng) % 6];
    h->bpt = sg_kvmfr_bytes_per_texel(h->type);
    h->frame_w = 16 + (uint32_t)(rng_next(&h->rng) % 400);
    h->h = 16 + (uint32_t)(rng_next(&h->rng) % 300);
    if (h->type == SG_FRAME_BGR_32) /* B7: roundup(roundup4(3w) / 4, 64) texels */
        h->data_w = (((3 * h->frame_w + 3) & ~3u) / 4 + 63) / 64 * 64;
    else
        h->data_w = h->frame_w;
    h->row_bytes = h->data_w * h->bpt;
    h->pitch = h->row_bytes + (rng_next(&h->rng) % 2 ? 256 : 0); /* padded rows half of the time */
    free(h->image);
    h->image = malloc((size_t)h->row_bytes * h->h);
    for (size_t i = 0; i < (size_t)h->row_bytes * h->h; i += 8) {
        uint64_t v = rng_next(&h->rng);
        memcpy(h->image + i, &v, (size_t)h->row_bytes * h->h - i < 8 ? (size_t)h->row_bytes * h->h - i : 8);
    }
}

/* Changes up to 4 rectangles of the image; returns the damage list. */
static uint32_t host_damage(struct host *h, struct sg_kvmfr_wire_rect *rects)
{
    uint32_t n = 1 + (uint32_t)(rng_next(&h->rng) % 4);
    for (uint32_t i = 0; i < n; i++) {
        struct sg_kvmfr_wire_rect r;
        r.x = (uint32_t)(rng_next(&h->rng) % h->frame_w);
        r.y = (uint32_t)(rng_next(&h->rng) % h->h);
        r.width = 1 + (uint32_t)(rng_next(&h->rng) % (h->frame_w - r.x));
        r.height = 1 + (uint32_t)(rng_next(&h->rng) % (h->h - r.y));
        rects[i] = r;
        /* bytes of pixels [x, x+w): 3 per pixel for packed 24-bit */
        uint32_t px_bytes = h->type == SG_FRAME_BGR_32 ? 3 : h->bpt;
        for (uint32_t y = r.y; y < r.y + r.height; y++)
            for (uint32_t b = r.x * px_bytes; b < (r.x + r.width) * px_bytes; b++)
                h->image[(size_t)y * h->row_bytes + b] = (uint8_t)rng_next(&h->rng);
    }
    return n;
}

static void host_frame(struct host *h, uint32_t serial, bool new_format)
{
    struct sg_kvmfr_wire_frame fh = {0};
    if (new_format || !h->image)
        host_new_format(h);
    else
        fh.damage_count = host_damage(h, fh.damage);
    fh.format_version = serial / 40;
    fh.frame_serial = serial;
    fh.type = h->type;
    fh.screen_width = fh.frame_width = h->frame_w;
    fh.screen_height = fh.frame_height = fh.data_height = h->h;
    fh.data_width = h->data_w;
    fh.stride = h->pitch / h->bpt;
    fh.pitch = h->pitch;
    fh.flags = serial % 7 == 0 ? SG_FRAME_FLAG_BLOCK_SCREENSAVER : 0;

    if (!host_wait_pending_below(h, h->frames, SG_KVMFR_FRAME_QUEUE_LEN, 5000))
        host_fail("frame queue stayed full for 5 s at serial %s%ld", "", serial);
    struct sg_lgmp_mem *blk = &h->blocks[h->block];
    h->block ^= 1;
    uint8_t *p = blk->ptr;
    sg_kvmfr_frame_write(p, &fh);
    uint32_t *word = (uint32_t *)(p + h->fb_offset);
    sg_kvmfr_progress_store(word, 0);
    struct trailer t = {TRAILER_MAGIC, serial, checksum(h->image, (size_t)h->row_bytes * h->h, serial)};
    memcpy(p + blk->size - sizeof t, &t, sizeof t);
    enum sg_lgmp_status st = sg_lgmp_host_post(h->frames, 0, blk);
    if (st)
        host_fail("frame post: %s (%ld)", sg_lgmp_status_str(st), st);
    results->host_frames++;

    /* Data after the post, in bands of rows, publishing each (B7 §5.6). */
    uint8_t *data = p + h->fb_offset + 4;
    uint32_t band = 1 + (uint32_t)(rng_next(&h->rng) % 64);
    bool slow = rng_next(&h->rng) % 8 == 0;
    for (uint32_t y = 0; y < h->h; y++) {
        memcpy(data + (size_t)y * h->pitch, h->image + (size_t)y * h->row_bytes, h->row_bytes);
        memset(data + (size_t)y * h->pitch + h->row_bytes, 0xEE, h->pitch - h->row_bytes);
        if ((y + 1) % band == 0 || y + 1 == h->h) {
            sg_kvmfr_progress_store(word, (y + 1) * h->pitch);
            if (slow)
                sleep_us(100); /* make the clients wait for rows */
        }
    }
    host_tick(h);
}

static void host_cursor(struct host *h)
{
    struct sg_kvmfr_wire_cursor c = {0};
    uint32_t seq = h->cursor_seq++;
    c.x = (int16_t)(seq * 13 % 2000 - 100);
    c.y = (int16_t)(seq * 7 % 1000);
    bool shape = seq % 5 == 0;
    uint32_t flags = SG_CURSOR_FLAG_POSITION | (seq % 3 ? SG_CURSOR_FLAG_VISIBLE : 0);
    struct sg_lgmp_mem *mem;
    if (shape) {
        /* B7 can rewrite a shape buffer still named by a queued message;
         * this test host waits for the queue to drain so every shape is whole. */
        if (!host_wait_pending_below(h, h->cursors, 1, 3000))
            return;
        mem = &h->shapes[h->shape];
        h->shape = (h->shape + 1) % SG_KVMFR_CURSOR_SHAPE_BUFFERS;
        c.shape_type = seq / 5 % 3;
        c.width = 1 + seq % 64;
        c.height = (1 + seq % 48) * (c.shape_type == SG_CURSOR_MONOCHROME ? 2 : 1);
        c.pitch = c.shape_type == SG_CURSOR_MONOCHROME ? (c.width + 7) / 8 + seq % 3 : c.width * 4;
        c.hot_x = (int8_t)(seq % c.width);
        c.hot_y = (int8_t)(seq % 17);
        flags |= SG_CURSOR_FLAG_SHAPE;
        uint8_t *s = (uint8_t *)mem->ptr + SG_KVMFR_CURSOR_HEADER_SIZE;
        size_t n = (size_t)c.height * c.pitch;
        for (size_t i = 0; i < n; i++)
            s[i] = (uint8_t)rng_next(&h->rng);
        struct trailer t = {TRAILER_MAGIC, seq, checksum(s, n, seq)};
        memcpy(s + n, &t, sizeof t);
    } else {
        /* records are reused after 20 posts: keep fewer than that queued */
        if (!host_wait_pending_below(h, h->cursors, SG_KVMFR_CURSOR_QUEUE_LEN - 2, 3000))
            return;
        mem = &h->records[h->record];
        h->record = (h->record + 1) % SG_KVMFR_CURSOR_RECORDS;
        /* width/height/pitch are unused without SHAPE: they carry a check */
        c.width = seq;
        c.pitch = (uint32_t)checksum((const uint8_t *)&c, 4, seq);
    }
    sg_kvmfr_cursor_write(mem->ptr, &c);
    enum sg_lgmp_status st;
    while ((st = sg_lgmp_host_post(h->cursors, flags, mem)) == SG_LGMP_QUEUE_FULL) {
        host_tick(h);
        sleep_us(50);
    }
    if (st)
        host_fail("cursor post: %s (%ld)", sg_lgmp_status_str(st), st);
    results->host_cursor_posts++;
}

static int run_host(const char *path)
{
    struct sg_shm shm;
    char err[512];
    struct sg_shm_open_opts o = {.path = path};
    if (sg_shm_open(&shm, &o, err, sizeof err) != 0) {
        host_fail("host: %s%ld", err, 0);
        return 1;
    }
    struct host h = {.base = shm.base, .rng = 0x9E3779B97F4A7C15ull};
    uint32_t serial = 0;
    for (uint32_t s = 0; s < SESSIONS && !results->host_failures; s++) {
        if (host_session(&h) != 0)
            break;
        /* posts without a subscriber are dropped: wait for the clients
         * (first session: client A alone, client B joins at TWO_CLIENTS_AT) */
        host_wait_subscribers(&h, s == 0 ? 1 : 2);
        for (uint32_t i = 0; i < FRAMES_PER_SESSION; i++, serial++) {
            if (s == 0 && i == TWO_CLIENTS_AT)
                host_wait_subscribers(&h, 2);
            host_frame(&h, serial, i % 40 == 0);
            if (i % 3 == 0)
                host_cursor(&h);
        }
        if (s + 1 < SESSIONS) {
            /* let the clients finish what they hold, then restart */
            host_wait_pending_below(&h, h.frames, 1, 3000);
            host_wait_pending_below(&h, h.cursors, 1, 3000);
            sg_lgmp_host_destroy(h.lgmp);
            h.lgmp = NULL; /* a failed next session must not leave the loop below a freed host */
            sleep_us(30000);
        }
    }
    /* Re-post the final frame until every client has seen it and left. */
    struct sg_lgmp_mem *last = &h.blocks[h.block ^ 1];
    uint64_t start = now_ms();
    while (h.lgmp && sg_lgmp_host_queue_has_subs(h.frames) && now_ms() - start < 10000) {
        if (sg_lgmp_host_queue_pending(h.frames) < SG_KVMFR_FRAME_QUEUE_LEN)
            sg_lgmp_host_post(h.frames, 0, last);
        host_tick(&h);
        sleep_us(2000);
    }
    sg_lgmp_host_destroy(h.lgmp);
    free(h.image);
    sg_shm_close(&shm);
    return results->host_failures ? 1 : 0;
}

/* ----------------------------------------------------------------- client */

struct client {
    int id;
    struct client_stats *st;
    uint8_t *base;
    size_t size;
    struct sg_lgmp_client *lgmp;
    struct sg_lgmp_client_queue *fq, *cq;
    uint8_t *cur, *prev, *dmg, *shape_copy;
    size_t buf_size;
    struct sg_kvmfr_wire_frame prev_hdr;
    bool have_prev;
    bool stall_done, resubscribed;
    int8_t hot_x, hot_y;
};

static void client_fail(struct client *c, const char *fmt, long a, long b)
{
    if (!c->st->failures++)
        snprintf(c->st->first_failure, sizeof c->st->first_failure, fmt, a, b);
}

static void client_fail_str(struct client *c, const char *why)
{
    if (!c->st->failures++)
        snprintf(c->st->first_failure, sizeof c->st->first_failure, "%s", why);
}

/* Session start and subscriptions, retried like B7 (faster). */
static bool client_attach(struct client *c, uint64_t deadline)
{
    const uint8_t *app;
    uint32_t app_size;
    enum sg_lgmp_status st;
    sg_lgmp_client_unsubscribe(&c->fq);
    sg_lgmp_client_unsubscribe(&c->cq);
    while ((st = sg_lgmp_client_session_init(c->lgmp, &app, &app_size)) != SG_LGMP_OK) {
        if (now_ms() > deadline)
            return false;
        sleep_us(20000);
    }
    struct sg_kvmfr_info info;
    enum sg_kvmfr_status ks = sg_kvmfr_parse_info(app, app_size, &info);
    if (ks != SG_KVMFR_OK || strcmp(info.host_version, "relay-test") != 0 || !info.has_vm_info ||
        strcmp(info.os_name, "test os") != 0)
        client_fail(c, "app data: %ld (size %ld)", ks, app_size);
    while ((st = sg_lgmp_client_subscribe(c->lgmp, SG_KVMFR_FRAME_QUEUE_ID, &c->fq)) ==
               SG_LGMP_NO_SUCH_QUEUE &&
           now_ms() < deadline)
        sleep_us(1000);
    if (st == SG_LGMP_OK)
        st = sg_lgmp_client_subscribe(c->lgmp, SG_KVMFR_CURSOR_QUEUE_ID, &c->cq);
    if (st != SG_LGMP_OK) {
        client_fail(c, "subscribe: status %ld (%ld)", st, 0);
        return false;
    }
    c->have_prev = false;
    return true;
}

/* Copies and checks one frame. Returns false with *why set when it is bad
 * (or with why empty when its data did not arrive); the caller decides once
 * it knows whether it still held the message when done. */
static bool client_frame(struct client *c, const struct sg_lgmp_message *m, uint32_t *serial, char *why,
                         size_t why_size)
{
    why[0] = '\0';
    struct sg_kvmfr_frame f;
    enum sg_kvmfr_status ks = sg_kvmfr_frame_read(m->mem, m->size, &f);
    if (ks != SG_KVMFR_OK) {
        snprintf(why, why_size, "frame header rejected: %s at offset %u", sg_kvmfr_status_str(ks), m->offset);
        return false;
    }
    *serial = f.hdr.frame_serial;
    size_t row_bytes = (size_t)f.hdr.data_width * f.bytes_per_texel, n = row_bytes * f.hdr.data_height;
    if (n > c->buf_size) {
        snprintf(why, why_size, "frame of %zu bytes larger than expected (serial %u)", n, f.hdr.frame_serial);
        return false;
    }
    bool damage = f.hdr.damage_count > 0 && c->have_prev &&
                  f.hdr.frame_serial == c->prev_hdr.frame_serial + 1 &&
                  f.hdr.format_version == c->prev_hdr.format_version;
    uint32_t rows;
    if (damage) {
        memcpy(c->dmg, c->prev, n);
        ks = sg_kvmfr_frame_copy_ex(m->mem, &f, c->dmg, row_bytes, true, 200000, 1000, &rows);
    }
    if (ks == SG_KVMFR_OK)
        ks = sg_kvmfr_frame_copy_ex(m->mem, &f, c->cur, row_bytes, false, 200000, 1000, &rows);
    struct trailer t;
    memcpy(&t, (const uint8_t *)m->mem + m->size - sizeof t, sizeof t);
    if (ks == SG_KVMFR_FB_TIMEOUT) {
        c->st->fb_timeouts++;
        return false;
    }
    if (t.magic != TRAILER_MAGIC || t.serial != f.hdr.frame_serial) {
        snprintf(why, why_size, "frame trailer serial %u, header serial %u", t.serial, f.hdr.frame_serial);
        return false;
    }
    if (checksum(c->cur, n, t.serial) != t.sum) {
        snprintf(why, why_size, "torn frame: checksum mismatch at serial %u (%zu bytes)", t.serial, n);
        return false;
    }
    if (damage && memcmp(c->dmg, c->cur, n) != 0) {
        snprintf(why, why_size, "damage-only copy differs from the full copy at serial %u (%u rects)",
                 f.hdr.frame_serial, f.hdr.damage_count);
        return false;
    }
    if (damage)
        c->st->damage_checked++;
    else
        c->st->full_only++;
    memcpy(c->prev, c->cur, n);
    c->prev_hdr = f.hdr;
    c->have_prev = true;
    return true;
}

static void client_cursor(struct client *c, const struct sg_lgmp_message *m, char *why, size_t why_size)
{
    why[0] = '\0';
    struct sg_kvmfr_cursor cur;
    enum sg_kvmfr_status ks = sg_kvmfr_cursor_read(m->mem, m->size, m->app_value, c->shape_copy,
                                                   SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE, &cur);
    if (ks != SG_KVMFR_OK) {
        snprintf(why, why_size, "cursor rejected: %s (flags 0x%x)", sg_kvmfr_status_str(ks), m->app_value);
        return;
    }
    if (cur.flags & SG_CURSOR_FLAG_SHAPE) {
        struct trailer t;
        memcpy(&t, (const uint8_t *)m->mem + SG_KVMFR_CURSOR_HEADER_SIZE + cur.shape_size, sizeof t);
        if (t.magic != TRAILER_MAGIC || checksum(cur.shape, cur.shape_size, t.serial) != t.sum) {
            snprintf(why, why_size, "torn cursor shape (type %u, %u bytes)", cur.shape_type, cur.shape_size);
            return;
        }
        size_t px = (size_t)cur.width * cur.height;
        uint8_t *rgba = malloc(px * 4), *inv = malloc(px);
        if (sg_kvmfr_cursor_decode(&cur, rgba, inv, px) != SG_KVMFR_OK)
            snprintf(why, why_size, "cursor decode failed (type %u)", cur.shape_type);
        free(rgba);
        free(inv);
        c->st->cursor_shapes[cur.shape_type]++;
    } else {
        struct sg_kvmfr_wire_cursor w;
        memcpy(&w, c->shape_copy, sizeof w);
        if ((uint32_t)checksum((const uint8_t *)&w, 4, w.width) != w.pitch) {
            snprintf(why, why_size, "torn cursor record (seq %u)", w.width);
            return;
        }
        c->st->cursor_positions++;
    }
}

/* Stops reading while holding a frame; returns when evicted. */
static void client_stall(struct client *c)
{
    uint64_t start = now_ms();
    uint32_t serial;
    enum sg_lgmp_status st = SG_LGMP_OK;
    while (now_ms() - start < STALL_MAX_MS) {
        sleep_us(5000);
        st = sg_lgmp_client_get_serial(c->fq, &serial);
        if (st == SG_LGMP_QUEUE_TIMEOUT)
            break;
    }
    if (st != SG_LGMP_QUEUE_TIMEOUT) {
        client_fail(c, "not evicted after %ld ms of not reading (%ld)", (long)(now_ms() - start), st);
        return;
    }
    c->st->evict_ms = (uint32_t)(now_ms() - start);
}

static int run_client(const char *path, int id, bool stall)
{
    struct client c = {.id = id, .st = &results->client[id]};
    struct sg_shm shm;
    char err[512];
    struct sg_shm_open_opts o = {.path = path};
    if (sg_shm_open(&shm, &o, err, sizeof err) != 0) {
        client_fail(&c, "cannot map the region (%ld %ld)", 0, 0);
        return 1;
    }
    c.base = shm.base;
    c.size = shm.size;
    c.buf_size = 8u << 20;
    c.cur = malloc(c.buf_size);
    c.prev = malloc(c.buf_size);
    c.dmg = malloc(c.buf_size);
    c.shape_copy = malloc(SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE);
    uint64_t deadline = now_ms() + IDLE_LIMIT_MS, last_check = now_ms();
    enum sg_lgmp_status st = sg_lgmp_client_create(&c.lgmp, c.base, c.size, NULL);
    if (st != SG_LGMP_OK) {
        client_fail(&c, "client create: %ld (%ld)", st, 0);
        goto out;
    }
    sleep_us(20000);
    if (!client_attach(&c, deadline)) {
        client_fail(&c, "no session within the deadline (%ld %ld)", 0, 0);
        goto out;
    }
    uint32_t last_serial = UINT32_MAX;
    while (now_ms() < deadline) {
        struct sg_lgmp_message m;
        bool idle = true;
        /* cursor messages: copy and release at once (B7 §6.5) */
        while ((st = sg_lgmp_client_process(c.cq, &m)) == SG_LGMP_OK) {
            char why[200];
            client_cursor(&c, &m, why, sizeof why);
            st = sg_lgmp_client_message_done(c.cq);
            if (st != SG_LGMP_OK)
                break;
            if (why[0])
                client_fail_str(&c, why);
            idle = false;
        }
        if (st == SG_LGMP_OK || st == SG_LGMP_QUEUE_EMPTY) {
            st = sg_lgmp_client_process(c.fq, &m);
            if (st == SG_LGMP_OK) {
                idle = false;
                if (stall && !c.stall_done && c.st->frames >= STALL_AFTER) {
                    c.stall_done = true;
                    client_stall(&c);
                    continue; /* the next call reports the eviction */
                }
                uint32_t serial = 0;
                char why[200];
                bool ok = client_frame(&c, &m, &serial, why, sizeof why);
                st = sg_lgmp_client_message_done(c.fq);
                if (st == SG_LGMP_OK && !ok && why[0])
                    client_fail_str(&c, why); /* still ours when we copied it: a real fault */
                if (st == SG_LGMP_OK && ok && serial != last_serial) {
                    /* accepted only once released while still subscribed */
                    c.st->frames++;
                    c.st->frames_after_resub += c.resubscribed;
                    deadline = now_ms() + IDLE_LIMIT_MS;
                    last_serial = serial;
                    if (serial == FINAL_SERIAL) {
                        c.st->finished = true;
                        break;
                    }
                } else if (st != SG_LGMP_OK) {
                    c.st->not_accepted++;
                }
            }
        }
        if (st == SG_LGMP_QUEUE_TIMEOUT) {
            /* evicted: B7 exits here; we take a new slot */
            /* Subscribe before leaving the old slots: a slot just vacated may
             * still be named by queued messages (lgmp.md §10.5). */
            c.st->evictions++;
            struct sg_lgmp_client_queue *old_f = c.fq, *old_c = c.cq;
            enum sg_lgmp_status s1 = sg_lgmp_client_subscribe(c.lgmp, SG_KVMFR_FRAME_QUEUE_ID, &c.fq);
            enum sg_lgmp_status s2 = sg_lgmp_client_subscribe(c.lgmp, SG_KVMFR_CURSOR_QUEUE_ID, &c.cq);
            sg_lgmp_client_unsubscribe(&old_f);
            sg_lgmp_client_unsubscribe(&old_c);
            if (s1 == SG_LGMP_INVALID_SESSION || s2 == SG_LGMP_INVALID_SESSION) {
                st = SG_LGMP_INVALID_SESSION;
            } else if (s1 || s2) {
                client_fail(&c, "subscribe again after eviction: %ld / %ld", s1, s2);
                break;
            } else {
                c.st->resubscribes++;
                c.resubscribed = true;
                c.have_prev = false;
            }
        }
        if (st == SG_LGMP_INVALID_SESSION ||
            (now_ms() - last_check >= 100 && !sg_lgmp_client_session_valid(c.lgmp))) {
            c.st->reattaches++;
            if (!client_attach(&c, deadline)) {
                client_fail(&c, "could not re-attach after a session change (%ld %ld)", 0, 0);
                break;
            }
        } else if (st != SG_LGMP_OK && st != SG_LGMP_QUEUE_EMPTY && st != SG_LGMP_QUEUE_TIMEOUT) {
            client_fail(&c, "queue call failed: status %ld (%ld)", st, 0);
            break;
        }
        if (now_ms() - last_check >= 100)
            last_check = now_ms();
        if (idle)
            sleep_us(100);
    }
    if (!c.st->finished)
        client_fail(&c, "did not see the final frame (last accepted serial %ld, %ld frames)",
                    (long)last_serial, c.st->frames);
out:
    sg_lgmp_client_unsubscribe(&c.fq);
    sg_lgmp_client_unsubscribe(&c.cq);
    sg_lgmp_client_destroy(c.lgmp);
    free(c.cur);
    free(c.prev);
    free(c.dmg);
    free(c.shape_copy);
    sg_shm_close(&shm);
    return c.st->failures ? 1 : 0;
}

/* ------------------------------------------------------------ orchestrator */

static pid_t spawn(int (*fn)(const char *, int, bool), const char *path, int id, bool stall)
{
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        _exit(fn(path, id, stall));
    }
    return pid;
}

static int host_main(const char *path, int id, bool stall)
{
    return run_host(path);
}

static int checks_failed;
static char shm_path[128];
static pid_t child_pids[3];

/* meson's timeout sends SIGTERM: leave no process and no shm file behind */
static void on_term(int sig)
{
    for (int i = 0; i < 3; i++)
        if (child_pids[i] > 0)
            kill(child_pids[i], SIGKILL);
    unlink(shm_path);
    _exit(128 + sig);
}

static void check(bool ok, const char *what, long v)
{
    if (!ok) {
        fprintf(stderr, "FAIL: %s (%ld)\n", what, v);
        checks_failed++;
    }
}

int main(void)
{
    char *path = shm_path;
    snprintf(shm_path, sizeof shm_path, "/dev/shm/sg-kvmfr-relay-%d", (int)getpid());
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0 || ftruncate(fd, REGION_SIZE) != 0) {
        fprintf(stderr, "FAIL: cannot create %s: %s\n", path, strerror(errno));
        return 1;
    }
    close(fd);
    results = mmap(NULL, sizeof *results, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    memset(results, 0, sizeof *results);

    uint64_t t0 = now_ms();
    pid_t *pids = child_pids;
    pids[0] = spawn(host_main, path, 0, false);
    pids[1] = spawn(run_client, path, 0, false);
    sleep_us(300000); /* one client, then two */
    pids[2] = spawn(run_client, path, 1, true);

    int status[3] = {0};
    bool done[3] = {false};
    int left = 3;
    uint32_t last_progress = 0;
    uint64_t last_progress_at = now_ms();
    while (left > 0) {
        uint32_t progress = results->host_frames + results->client[0].frames + results->client[1].frames;
        if (progress != last_progress) {
            last_progress = progress;
            last_progress_at = now_ms();
        }
        for (int i = 0; i < 3; i++)
            if (!done[i] && waitpid(pids[i], &status[i], WNOHANG) == pids[i])
                done[i] = true, left--;
        if (now_ms() - last_progress_at > IDLE_LIMIT_MS + 3000) {
            for (int i = 0; i < 3; i++)
                if (!done[i]) {
                    kill(pids[i], SIGKILL);
                    waitpid(pids[i], &status[i], 0);
                    done[i] = true;
                    left--;
                    fprintf(stderr, "FAIL: process %d killed: no frame posted or accepted for %u ms\n", i,
                            IDLE_LIMIT_MS + 3000);
                    checks_failed++;
                }
        }
        sleep_us(10000);
    }
    unlink(path);

    struct results *r = results;
    printf("host: %u sessions, %u frames, %u cursor messages, failures %u %s (%.1f s)\n", r->host_sessions,
           r->host_frames, r->host_cursor_posts, r->host_failures, r->host_failure, (now_ms() - t0) / 1000.0);
    for (int i = 0; i < 2; i++) {
        struct client_stats *s = &r->client[i];
        printf("client %c: %u frames (%u damage-checked, %u full), cursor shapes %u/%u/%u, positions %u, "
               "evictions %u (after %u ms), resubscribes %u (+%u frames), re-attaches %u, fb timeouts %u, "
               "not accepted %u, failures %u %s\n",
               'A' + i, s->frames, s->damage_checked, s->full_only, s->cursor_shapes[0], s->cursor_shapes[1],
               s->cursor_shapes[2], s->cursor_positions, s->evictions, s->evict_ms, s->resubscribes,
               s->frames_after_resub, s->reattaches, s->fb_timeouts, s->not_accepted, s->failures,
               s->first_failure);
    }
    for (int i = 0; i < 3; i++)
        check(WIFEXITED(status[i]) && WEXITSTATUS(status[i]) == 0, "process exit status", status[i]);
    check(r->host_failures == 0, "host failures", r->host_failures);
    check(r->host_sessions == SESSIONS, "host sessions", r->host_sessions);
    struct client_stats *a = &r->client[0], *b = &r->client[1];
    for (int i = 0; i < 2; i++) {
        struct client_stats *s = &r->client[i];
        check(s->failures == 0, "client failures", s->failures);
        check(s->finished, "client saw the final frame", i);
        check(s->reattaches >= 1, "client re-attached after the host restart", s->reattaches);
        check(s->damage_checked >= 100, "damage-only copies verified", s->damage_checked);
        for (int t = 0; t < 3; t++)
            check(s->cursor_shapes[t] >= 3, "cursor shapes of every type", t);
        check(s->cursor_positions >= 50, "cursor position messages", s->cursor_positions);
    }
    check(a->frames >= FRAMES_PER_SESSION, "client A accepted frames", a->frames);
    check(a->evictions == 0, "client A never evicted", a->evictions);
    check(b->evictions == 1, "client B evicted once", b->evictions);
    check(b->evict_ms >= 700 && b->evict_ms <= 2000, "client B evicted after about a second (ms)",
          b->evict_ms);
    check(b->resubscribes == 1, "client B subscribed again", b->resubscribes);
    check(b->frames_after_resub >= 100, "client B frames after subscribing again", b->frames_after_resub);
    if (checks_failed)
        return 1;
    printf("relay: all checks passed\n");
    return 0;
}
