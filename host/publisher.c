/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "publisher.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lgmp.h"
#include "sg_log.h"
#include "sg_time.h"
#include "sg_trace.h"

/* Bytes per progress-word publication: small enough that a client copying
 * behind us rarely waits, large enough that the stores cost nothing. */
#define BAND_BYTES (256u * 1024u)
#define NO_SUB_POLL_MS 100u
#define CURSOR_EVENTS_PER_TICK 16u
/* How long a cursor post keeps retrying a full queue (the tick that evicts
 * a stuck client runs inside the retry loop). */
#define CURSOR_FULL_GIVE_UP_MS 1500u
/* How long a frame post keeps retrying. The frame loop only posts once the
 * queue has room, so a full queue here means a client changed it in between:
 * the frame is given up rather than waited on (and posted again later). */
#define FRAME_FULL_GIVE_UP_MS 200u
/* A held lock is taken over by LGMP within 0.2 s: this only bounds the wait
 * if that ever failed. */
#define FRAME_LOCKED_GIVE_UP_MS 2000u
/* The frame thread's sleeps come in slices this long, each after a look at
 * the quit flag, so that SIGTERM never waits for a whole sleep. */
#define NAP_SLICE_US 10000u
/* Spinning per call on a lock a client holds (LGMP takes a lock held for good
 * over after 0.2 s, across calls). */
#define HOST_LOCK_SPIN_MS 2u
/* A position waits while the client has not read the previous cursor message
 * (then only the newest is posted), but never longer than this: a client that
 * stopped reading is evicted by the tick, and must not freeze the cursor of
 * another meanwhile. */
#define CURSOR_HOLD_MAX_MS 20u
/* How often a held position looks whether the client has read the last one. */
#define CURSOR_HOLD_RECHECK_NS 250000L

struct block {
    bool valid; /* holds the complete image of frame `serial` */
    uint32_t serial;
    uint32_t format_version;
};

struct sg_publisher {
    void *base;
    size_t size;
    char region_name[128];
    struct sg_capture *cap;
    const struct sg_clock *clock;
    uint32_t fps_cap;
    uint8_t app[2048];
    uint32_t app_size;

    struct sg_lgmp_host *lgmp;
    struct sg_lgmp_host_queue *fq, *cq;
    struct sg_kvmfr_layout layout;
    struct sg_lgmp_mem records[SG_KVMFR_CURSOR_RECORDS];
    struct sg_lgmp_mem shapes[SG_KVMFR_CURSOR_SHAPE_BUFFERS];
    struct sg_lgmp_mem blocks[2];

    /* frame thread */
    pthread_mutex_t cap_lock; /* start/stop against the tick's cursor calls; never held across a wait */
    atomic_bool capturing;
    bool threaded;               /* inside sg_publisher_run: the tick leaves re-init to it */
    bool said_no_set_pos;        /* tick thread: a SET_CURSOR_POS the backend cannot act on was reported */
    atomic_bool quit;            /* the frame thread's loops and waits end */
    volatile sig_atomic_t *stop; /* sg_publisher_run's flag; the tick's waits end (tick thread only) */
    uint32_t serial, format_version;
    uint32_t fmt_w, fmt_h, fmt_pitch;
    bool have_format, trunc_logged;
    int next_block, last_block;
    struct block blk[2];
    struct sg_capture_frame frame;
    bool prev_full;
    uint32_t prev_count;
    struct sg_capture_rect prev_damage[SG_CAPTURE_MAX_DAMAGE];
    uint64_t last_frame_ns;
    bool error_logged;
    bool unposted; /* the last published block's post was given up */

    /* tick thread */
    bool corrupted; /* a process() inside a post retry found the region overwritten */
    uint32_t rec_i, shape_i;
    int cur_shape; /* shape buffer holding the current shape, -1 none */
    bool have_pos, visible;
    int32_t px, py, hot_x, hot_y;
    bool held;           /* a position/visibility update not posted yet (coalescing) */
    uint32_t held_flags; /* SG_CURSOR_FLAG_POSITION if any held update moved it */
    uint64_t held_since_ms;

    struct sg_publisher_stats stats;
};

static void stat_add(uint64_t *v, uint64_t n)
{
    __atomic_fetch_add(v, n, __ATOMIC_RELAXED);
}

static bool frame_quit(struct sg_publisher *p)
{
    return atomic_load_explicit(&p->quit, memory_order_relaxed);
}

static bool tick_stop(const struct sg_publisher *p)
{
    return p->stop && *p->stop;
}

/* A frame-thread sleep that ends early when the thread is told to quit. */
static void frame_nap(struct sg_publisher *p, uint64_t us)
{
    while (us && !frame_quit(p)) {
        uint64_t slice = us < NAP_SLICE_US ? us : NAP_SLICE_US;
        sg_sleep_us(slice);
        us -= slice;
    }
}

/* ------------------------------------------------------------ region setup */

static int setup_region(struct sg_publisher *p, char *err, size_t err_size)
{
    sg_lgmp_host_destroy(p->lgmp);
    p->lgmp = NULL;
    sg_kvmfr_layout_compute(p->app_size, SG_PUBLISHER_ALIGN, p->size, &p->layout);
    if (!p->layout.fits) {
        snprintf(
            err, err_size,
            "region %s is too small: %zu bytes; the cursor buffers alone need %llu, and two frame buffers "
            "come on top: use at least 16 MiB (32 MiB for 1920x1080)",
            p->region_name, p->size, (unsigned long long)p->layout.fixed_end);
        return -1;
    }
    enum sg_lgmp_status st = sg_lgmp_host_create(&p->lgmp, p->base, p->size, p->app, p->app_size, p->clock);
    if (st != SG_LGMP_OK) {
        snprintf(err, err_size, "region %s (%zu bytes): cannot start an LGMP session: %s", p->region_name,
                 p->size, sg_lgmp_status_str(st));
        return -1;
    }
    /* the tick and the frame loop retry instead: neither waits long on a client */
    sg_lgmp_host_set_lock_spin(p->lgmp, HOST_LOCK_SPIN_MS);
    /* kvmfr.md §4: this exact order gives the B7 placement */
    st = sg_lgmp_host_queue_create(p->lgmp, SG_KVMFR_FRAME_QUEUE_ID, SG_KVMFR_FRAME_QUEUE_LEN,
                                   SG_KVMFR_SUB_TIMEOUT_MS, &p->fq);
    if (st == SG_LGMP_OK)
        st = sg_lgmp_host_queue_create(p->lgmp, SG_KVMFR_CURSOR_QUEUE_ID, SG_KVMFR_CURSOR_QUEUE_LEN,
                                       SG_KVMFR_SUB_TIMEOUT_MS, &p->cq);
    for (uint32_t i = 0; st == SG_LGMP_OK && i < SG_KVMFR_CURSOR_RECORDS; i++)
        if ((st = sg_lgmp_host_alloc(p->lgmp, SG_KVMFR_CURSOR_HEADER_SIZE, &p->records[i])) == SG_LGMP_OK)
            memset(p->records[i].ptr, 0, SG_KVMFR_CURSOR_HEADER_SIZE);
    for (uint32_t i = 0; st == SG_LGMP_OK && i < SG_KVMFR_CURSOR_SHAPE_BUFFERS; i++)
        if ((st = sg_lgmp_host_alloc(p->lgmp, SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE, &p->shapes[i])) ==
            SG_LGMP_OK)
            memset(p->shapes[i].ptr, 0, SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE);
    for (uint32_t i = 0; st == SG_LGMP_OK && i < 2; i++)
        st = sg_lgmp_host_alloc_aligned(p->lgmp, SG_PUBLISHER_ALIGN, (uint32_t)p->layout.max_frame_size,
                                        &p->blocks[i]);
    if (st != SG_LGMP_OK) {
        snprintf(err, err_size, "region %s (%zu bytes): allocation failed: %s", p->region_name, p->size,
                 sg_lgmp_status_str(st));
        return -1;
    }
    if (p->records[0].offset != p->layout.cursor_records || p->shapes[0].offset != p->layout.shape_buffers ||
        p->blocks[0].offset != p->layout.frame_block[0] || p->blocks[1].offset != p->layout.frame_block[1] ||
        p->blocks[0].size != p->layout.block_size) {
        snprintf(err, err_size,
                 "region %s: placement differs from kvmfr.md §4 (block 0 at %u, expected %llu)",
                 p->region_name, p->blocks[0].offset, (unsigned long long)p->layout.frame_block[0]);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        sg_kvmfr_frame_init_block(p->blocks[i].ptr, SG_PUBLISHER_ALIGN - 4);
        p->blk[i].valid = false;
    }
    p->next_block = 0;
    p->last_block = -1;
    p->rec_i = p->shape_i = 0;
    p->cur_shape = -1;
    stat_add(&p->stats.sessions, 1);
    LOG_I("region %s: %zu bytes, session %08x, frame buffers of %llu bytes at %u and %u", p->region_name,
          p->size, sg_lgmp_host_session_id(p->lgmp), (unsigned long long)p->layout.max_data_size,
          p->blocks[0].offset, p->blocks[1].offset);
    return 0;
}

int sg_publisher_create(struct sg_publisher **out, void *base, size_t size, struct sg_capture *cap,
                        const struct sg_kvmfr_info *info, const struct sg_publisher_opts *opts, char *err,
                        size_t err_size)
{
    *out = NULL;
    struct sg_publisher *p = calloc(1, sizeof(*p));
    if (!p) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    p->base = base;
    /* LGMP offsets are 32-bit and B7 clients keep the size in an int: use
     * the first 2 GiB of anything larger */
    p->size = size > (1u << 31) ? (1u << 31) : size;
    if (size > p->size)
        LOG_W("region of %zu bytes: using the first %zu", size, p->size);
    p->cap = cap;
    p->clock = opts ? opts->clock : NULL;
    p->fps_cap = opts ? opts->fps_cap : 0;
    snprintf(p->region_name, sizeof(p->region_name), "%s",
             opts && opts->region_name ? opts->region_name : "(memory)");
    pthread_mutex_init(&p->cap_lock, NULL);
    atomic_init(&p->quit, false);
    p->app_size = (uint32_t)sg_kvmfr_build_info(info, p->app, sizeof(p->app));
    if (!p->app_size) {
        snprintf(err, err_size, "the KVMFR app data does not fit %zu bytes", sizeof(p->app));
        goto fail;
    }
    if (setup_region(p, err, err_size) != 0)
        goto fail;
    *out = p;
    return 0;
fail:
    sg_lgmp_host_destroy(p->lgmp);
    pthread_mutex_destroy(&p->cap_lock);
    free(p);
    return -1;
}

void sg_publisher_destroy(struct sg_publisher *p)
{
    if (!p)
        return;
    if (atomic_load(&p->capturing))
        sg_capture_stop(p->cap);
    sg_lgmp_host_destroy(p->lgmp);
    pthread_mutex_destroy(&p->cap_lock);
    free(p);
}

const struct sg_kvmfr_layout *sg_publisher_layout(const struct sg_publisher *p)
{
    return &p->layout;
}

void sg_publisher_get_stats(const struct sg_publisher *p, struct sg_publisher_stats *out)
{
    const uint64_t *src = (const uint64_t *)&p->stats;
    uint64_t *dst = (uint64_t *)out;
    for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
        dst[i] = __atomic_load_n(&src[i], __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ frames */

static bool any_subscriber(struct sg_publisher *p)
{
    return sg_lgmp_host_queue_has_subs(p->fq) || sg_lgmp_host_queue_has_subs(p->cq);
}

/* Copy the rectangles into the block's data area band by band, raising the
 * progress word after each band (kvmfr.md §5.6). */
static uint64_t copy_bands(struct sg_publisher *p, uint8_t *data, uint32_t *word, uint32_t pitch,
                           uint32_t rows, const struct sg_capture_rect *const *lists, const uint32_t *counts,
                           int nlists)
{
    uint32_t band = BAND_BYTES / pitch ? BAND_BYTES / pitch : 1;
    uint64_t bytes = 0;
    for (uint32_t y0 = 0; y0 < rows; y0 += band) {
        uint32_t y1 = rows - y0 > band ? y0 + band : rows;
        bool touched = false;
        for (int l = 0; l < nlists; l++)
            for (uint32_t i = 0; i < counts[l]; i++) {
                const struct sg_capture_rect *r = &lists[l][i];
                uint32_t a = r->y > y0 ? r->y : y0, b = r->y + r->h < y1 ? r->y + r->h : y1;
                if (a >= b)
                    continue;
                struct sg_capture_rect part = {r->x, a, r->w, b - a};
                sg_capture_copy_rect(p->cap, &part, data, pitch);
                bytes += (uint64_t)part.w * 4 * part.h;
                touched = true;
            }
        if (touched || y1 == rows) {
            /* glibc may copy with non-temporal stores, which a release store
             * alone does not order */
            atomic_thread_fence(memory_order_seq_cst);
            sg_kvmfr_progress_store(word, y1 * pitch);
        }
    }
    return bytes;
}

/* The queue's fields are the client's to write: a retry is bounded in time
 * and ends when the thread is told to quit. A lock a client holds is waited
 * out (a preempted client lets go; LGMP takes one held for good over within
 * 0.2 s); a queue still full after the pending check was forged or changed
 * under us, and the frame is given up after FRAME_FULL_GIVE_UP_MS. false:
 * not posted (the still-screen step posts the block again). */
static bool post_frame_block(struct sg_publisher *p, int i)
{
    uint64_t start = sg_clock_now(p->clock);
    for (;;) {
        enum sg_lgmp_status st = sg_lgmp_host_post(p->fq, 0, &p->blocks[i]);
        if (st == SG_LGMP_OK)
            return true;
        if (st != SG_LGMP_QUEUE_FULL && st != SG_LGMP_LOCK_STUCK) {
            LOG_W("frame post failed: %s", sg_lgmp_status_str(st));
            return false;
        }
        if (frame_quit(p))
            return false;
        uint64_t waited = sg_clock_now(p->clock) - start;
        if (waited > (st == SG_LGMP_QUEUE_FULL ? FRAME_FULL_GIVE_UP_MS : FRAME_LOCKED_GIVE_UP_MS)) {
            stat_add(&p->stats.frames_dropped, 1);
            LOG_D("frame queue stayed %s for %llu ms: frame %u not posted yet",
                  st == SG_LGMP_QUEUE_FULL ? "full" : "locked", (unsigned long long)waited, p->serial);
            return false;
        }
        sg_sleep_us(100);
    }
}

static void publish_frame(struct sg_publisher *p, const struct sg_capture_frame *f)
{
    if (f->width == 0 || f->height == 0 || f->width > SG_KVMFR_MAX_DIMENSION ||
        f->height > SG_KVMFR_MAX_DIMENSION) {
        LOG_W("capture %s gave a %ux%u frame: not sent", p->cap->impl->name, f->width, f->height);
        return;
    }
    uint32_t pitch = f->width * 4;
    if (!p->have_format || f->width != p->fmt_w || f->height != p->fmt_h || pitch != p->fmt_pitch) {
        p->format_version++;
        p->fmt_w = f->width;
        p->fmt_h = f->height;
        p->fmt_pitch = pitch;
        p->have_format = true;
        p->trunc_logged = false;
        LOG_I("frame format %u: %ux%u BGRA, pitch %u", p->format_version, f->width, f->height, pitch);
    }
    uint32_t rows = f->height, flags = 0;
    if ((uint64_t)pitch * f->height > p->layout.max_data_size) {
        rows = (uint32_t)(p->layout.max_data_size / pitch);
        flags |= SG_FRAME_FLAG_TRUNCATED;
        if (!p->trunc_logged) {
            LOG_W("region %s too small for %ux%u frames: %llu bytes per frame, %llu available; sending %u of "
                  "%u "
                  "rows (TRUNCATED). Use a region of %u MiB",
                  p->region_name, f->width, f->height, (unsigned long long)pitch * f->height,
                  (unsigned long long)p->layout.max_data_size, rows, f->height,
                  sg_kvmfr_recommended_mib(f->height, pitch));
            p->trunc_logged = true;
        }
        if (rows == 0)
            return;
    }

    int i = p->next_block;
    struct sg_kvmfr_wire_frame hdr = {
        .format_version = p->format_version,
        .frame_serial = p->serial,
        .type = SG_FRAME_BGRA,
        .screen_width = f->width,
        .screen_height = f->height,
        .data_width = f->width,
        .data_height = rows,
        .frame_width = f->width,
        .frame_height = f->height,
        .rotation = 0,
        .stride = f->width,
        .pitch = pitch,
        .flags = flags,
    };
    for (uint32_t k = 0; k < f->damage_count; k++) {
        struct sg_capture_rect r = f->damage[k];
        if (!sg_capture_rect_clip(&r, f->width, rows))
            continue;
        hdr.damage[hdr.damage_count++] = (struct sg_kvmfr_wire_rect){r.x, r.y, r.w, r.h};
    }

    /* §5.7 steps 3-5: header, progress 0, post, then the pixels */
    sg_lgmp_host_queue_new_subs(p->fq);
    uint8_t *payload = p->blocks[i].ptr;
    uint32_t *word = (uint32_t *)(payload + SG_PUBLISHER_ALIGN - 4);
    sg_kvmfr_frame_write(payload, &hdr);
    sg_kvmfr_progress_store(word, 0);
    p->unposted = !post_frame_block(p, i);
    SG_TRACE("frame-post %u", p->serial);

    /* The block holds frame serial-2 when it is valid; what changed since then
     * is the previous frame's damage plus this one's. */
    uint8_t *data = payload + SG_PUBLISHER_ALIGN;
    struct sg_capture_rect all = {0, 0, f->width, rows};
    bool partial = p->blk[i].valid && p->blk[i].format_version == p->format_version && p->serial >= 2 &&
                   p->blk[i].serial == p->serial - 2 && f->damage_count && !p->prev_full;
    uint64_t bytes;
    if (partial) {
        /* one list, so that an area damaged in both frames is copied once */
        struct sg_capture_rect both[SG_CAPTURE_MAX_DAMAGE];
        uint32_t n = 0;
        for (uint32_t k = 0; k < p->prev_count; k++)
            sg_capture_damage_add(both, &n, &p->prev_damage[k]);
        for (uint32_t k = 0; k < f->damage_count; k++)
            sg_capture_damage_add(both, &n, &f->damage[k]);
        const struct sg_capture_rect *lists[1] = {both};
        bytes = copy_bands(p, data, word, pitch, rows, lists, &n, 1);
    } else {
        const struct sg_capture_rect *lists[1] = {&all};
        uint32_t counts[1] = {1};
        bytes = copy_bands(p, data, word, pitch, rows, lists, counts, 1);
    }
    p->blk[i] = (struct block){.valid = true, .serial = p->serial, .format_version = p->format_version};
    p->prev_full = f->damage_count == 0;
    p->prev_count = f->damage_count;
    memcpy(p->prev_damage, f->damage, sizeof(f->damage[0]) * f->damage_count);
    p->last_block = i;
    p->next_block = 1 - i;
    p->serial++;
    stat_add(&p->stats.frames, 1);
    stat_add(&p->stats.bytes_copied, bytes);
    if (flags & SG_FRAME_FLAG_TRUNCATED)
        stat_add(&p->stats.truncated, 1);
}

static void capture_stop(struct sg_publisher *p)
{
    pthread_mutex_lock(&p->cap_lock);
    sg_capture_stop(p->cap);
    atomic_store(&p->capturing, false);
    pthread_mutex_unlock(&p->cap_lock);
    LOG_I("no client: capture stopped");
}

void sg_publisher_frame_step(struct sg_publisher *p, uint32_t timeout_ms)
{
    if (!any_subscriber(p)) {
        if (atomic_load(&p->capturing))
            capture_stop(p);
        frame_nap(p, (uint64_t)(timeout_ms < NO_SUB_POLL_MS ? timeout_ms : NO_SUB_POLL_MS) * 1000);
        return;
    }
    if (!atomic_load(&p->capturing)) {
        pthread_mutex_lock(&p->cap_lock);
        int rc = sg_capture_start(p->cap);
        if (rc == 0) {
            atomic_store(&p->capturing, true);
            p->prev_full = true;
        }
        pthread_mutex_unlock(&p->cap_lock);
        if (rc != 0) {
            LOG_W("capture %s cannot start: %s", p->cap->impl->name, p->cap->err);
            frame_nap(p, 1000000);
            return;
        }
        LOG_I("client subscribed: capture started (%s)", p->cap->impl->name);
    }
    /* §5.7 step 1: both frames still held by a client; the tick evicts it
     * after 1 s if it never lets go */
    uint64_t waited = 0;
    while (sg_lgmp_host_queue_pending(p->fq) >= SG_KVMFR_FRAME_QUEUE_LEN) {
        if (waited >= (uint64_t)timeout_ms * 1000 || frame_quit(p))
            return;
        sg_sleep_us(100);
        waited += 100;
    }
    if (p->fps_cap && p->serial) {
        uint64_t period = 1000000000ull / p->fps_cap, el = sg_time_ns() - p->last_frame_ns;
        if (el < period) {
            uint64_t wait_us = (period - el) / 1000;
            if (wait_us > (uint64_t)timeout_ms * 1000) {
                frame_nap(p, (uint64_t)timeout_ms * 1000);
                return;
            }
            frame_nap(p, wait_us);
        }
    }

    enum sg_capture_status st = sg_capture_next_frame(p->cap, timeout_ms, &p->frame);
    if (st == SG_CAPTURE_OK) {
        p->error_logged = false;
        p->last_frame_ns = sg_time_ns();
        publish_frame(p, &p->frame);
        return;
    }
    if (st == SG_CAPTURE_ERROR) {
        if (!p->error_logged)
            LOG_W("capture %s: %s", p->cap->impl->name, p->cap->err);
        p->error_logged = true;
        frame_nap(p, 100000);
        return;
    }
    /* §5.7 step 8: a still screen; give a new client the last frame, and
     * the clients a frame whose post was given up */
    bool new_sub = sg_lgmp_host_queue_new_subs(p->fq) != 0;
    if (p->last_block >= 0 && (new_sub || p->unposted)) {
        if (post_frame_block(p, p->last_block))
            p->unposted = false;
        stat_add(&p->stats.reposts, 1);
        LOG_D("re-posted frame %u to %s", p->serial - 1, new_sub ? "a new subscriber" : "the clients");
    }
}

/* ------------------------------------------------------------------ cursor */

/* Called without cap_lock: the retry waits on what clients write. false:
 * not posted, and the tick should not post more now (given up, told to stop,
 * or the region needs a new session, which the tick's caller starts). */
static bool post_cursor(struct sg_publisher *p, const struct sg_lgmp_mem *mem, uint32_t flags)
{
    uint64_t start = sg_clock_now(p->clock);
    for (;;) {
        enum sg_lgmp_status st = sg_lgmp_host_post(p->cq, flags, mem);
        if (st == SG_LGMP_OK) {
            stat_add(&p->stats.cursor_posts, 1);
            SG_TRACE("cursor-post %d %d 0x%x", p->px, p->py, flags);
            return true;
        }
        if (st != SG_LGMP_QUEUE_FULL && st != SG_LGMP_LOCK_STUCK) {
            LOG_W("cursor post failed: %s", sg_lgmp_status_str(st));
            return false;
        }
        /* full or locked: keep the heartbeat, the eviction of a stuck client
         * and the takeover of a held lock going */
        if (tick_stop(p))
            return false;
        if (sg_clock_now(p->clock) - start > CURSOR_FULL_GIVE_UP_MS) {
            stat_add(&p->stats.cursor_dropped, 1);
            LOG_W("cursor queue stayed %s for %u ms: update dropped",
                  st == SG_LGMP_QUEUE_FULL ? "full" : "locked", CURSOR_FULL_GIVE_UP_MS);
            return false;
        }
        sg_sleep_us(1000);
        if (sg_lgmp_host_process(p->lgmp) == SG_LGMP_CORRUPTED) {
            p->corrupted = true;
            return false;
        }
    }
}

/* The position can come from a client's SET_CURSOR_POS (the test pattern
 * reports it as is): clamp it to the 16-bit wire field instead of wrapping. */
static int16_t wire_pos(int32_t pos, int32_t hot)
{
    int64_t v = (int64_t)pos - hot;
    return (int16_t)(v < INT16_MIN ? INT16_MIN : v > INT16_MAX ? INT16_MAX : v);
}

static struct sg_kvmfr_wire_cursor cursor_header(struct sg_publisher *p)
{
    return (struct sg_kvmfr_wire_cursor){
        .x = wire_pos(p->px, p->hot_x),
        .y = wire_pos(p->py, p->hot_y),
    };
}

/* Post the held position/visibility once the client has read the previous
 * cursor message (or it waited CURSOR_HOLD_MAX_MS). A pointer that moves
 * faster than the client reads thus costs one message per read, never a full
 * queue, and the last place always goes out. */
static bool flush_held(struct sg_publisher *p)
{
    if (!p->held)
        return true;
    if (sg_lgmp_host_queue_pending(p->cq) > 0 &&
        sg_clock_now(p->clock) - p->held_since_ms < CURSOR_HOLD_MAX_MS)
        return true;
    const struct sg_lgmp_mem *mem = &p->records[p->rec_i];
    p->rec_i = (p->rec_i + 1) % SG_KVMFR_CURSOR_RECORDS;
    struct sg_kvmfr_wire_cursor hdr = cursor_header(p);
    sg_kvmfr_cursor_write(mem->ptr, &hdr);
    uint32_t flags = p->held_flags | (p->visible ? SG_CURSOR_FLAG_VISIBLE : 0);
    p->held = false;
    p->held_flags = 0;
    return post_cursor(p, mem, flags);
}

/* §6.4; false as post_cursor */
static bool handle_cursor_event(struct sg_publisher *p, const struct sg_capture_cursor *ev)
{
    const struct sg_lgmp_mem *mem;
    uint32_t flags = 0;
    if (ev->has_shape) {
        p->hot_x = ev->hot_x;
        p->hot_y = ev->hot_y;
    }
    if (ev->has_position) {
        p->px = ev->x;
        p->py = ev->y;
        p->have_pos = true;
    }
    p->visible = ev->visible;
    if (!ev->has_shape) {
        if (ev->has_position)
            p->held_flags |= SG_CURSOR_FLAG_POSITION;
        if (!p->held)
            p->held_since_ms = sg_clock_now(p->clock);
        p->held = true;
        return flush_held(p);
    }
    /* a shape message carries the newest position and visibility too */
    p->held = false;
    p->held_flags = 0;
    struct sg_kvmfr_wire_cursor hdr = cursor_header(p);
    if (ev->has_position || (ev->has_shape && p->have_pos))
        flags |= SG_CURSOR_FLAG_POSITION;
    if (ev->visible)
        flags |= SG_CURSOR_FLAG_VISIBLE;
    mem = &p->shapes[p->shape_i];
    p->cur_shape = (int)p->shape_i;
    p->shape_i = (p->shape_i + 1) % SG_KVMFR_CURSOR_SHAPE_BUFFERS;
    hdr.shape_type = ev->shape_type;
    hdr.hot_x = (int8_t)ev->hot_x;
    hdr.hot_y = (int8_t)ev->hot_y;
    hdr.width = ev->width;
    hdr.height = ev->height;
    hdr.pitch = ev->pitch;
    flags |= SG_CURSOR_FLAG_SHAPE;
    sg_kvmfr_cursor_write(mem->ptr, &hdr);
    return post_cursor(p, mem, flags);
}

static void cursor_new_subscriber(struct sg_publisher *p)
{
    uint32_t flags = SG_CURSOR_FLAG_POSITION | (p->visible ? SG_CURSOR_FLAG_VISIBLE : 0);
    struct sg_kvmfr_wire_cursor pos = cursor_header(p);
    if (p->cur_shape >= 0) {
        const struct sg_lgmp_mem *mem = &p->shapes[p->cur_shape];
        /* keep the shape fields, refresh the position */
        memcpy(mem->ptr, &pos, 4);
        post_cursor(p, mem, flags | SG_CURSOR_FLAG_SHAPE);
    } else if (p->have_pos) {
        const struct sg_lgmp_mem *mem = &p->records[p->rec_i];
        p->rec_i = (p->rec_i + 1) % SG_KVMFR_CURSOR_RECORDS;
        sg_kvmfr_cursor_write(mem->ptr, &pos);
        post_cursor(p, mem, flags);
    }
}

/* The region was wiped (a restarted VM, another host): a new session, and a
 * capture restart so that the first frame and the shape are sent again.
 * Never runs while the frame thread does. */
static int reinit(struct sg_publisher *p)
{
    char err[256];
    LOG_W("region %s was overwritten: starting a new session", p->region_name);
    if (atomic_load(&p->capturing)) {
        sg_capture_stop(p->cap);
        atomic_store(&p->capturing, false);
    }
    if (setup_region(p, err, sizeof(err)) != 0) {
        LOG_E("%s", err);
        return -1;
    }
    return 0;
}

int sg_publisher_tick(struct sg_publisher *p)
{
    p->corrupted = false;
    enum sg_lgmp_status st = sg_lgmp_host_process(p->lgmp);
    if (st == SG_LGMP_CORRUPTED)
        return p->threaded ? 1 : reinit(p);

    /* §7: client messages come on the cursor queue */
    uint8_t msg[SG_LGMP_CMSG_PAYLOAD];
    uint32_t len;
    /* At most a ring's worth per tick: a client that keeps taking back the
     * slots we free (cmsg_free) would otherwise keep this loop going forever. */
    for (uint32_t k = 0; k < SG_LGMP_CMSG_COUNT; k++) {
        st = sg_lgmp_host_read_cmsg(p->cq, msg, &len);
        if (st == SG_LGMP_QUEUE_EMPTY)
            break;
        int32_t x, y;
        if (st == SG_LGMP_OK && sg_kvmfr_decode_set_cursor_pos(msg, len, &x, &y)) {
            pthread_mutex_lock(&p->cap_lock);
            int rc = sg_capture_set_cursor_pos(p->cap, x, y);
            pthread_mutex_unlock(&p->cap_lock);
            stat_add(&p->stats.set_cursor_pos, 1);
            if (!sg_capture_can_set_cursor_pos(p->cap->impl) && !p->said_no_set_pos) {
                /* feature bit 0 is clear: a client that sends it anyway gets its acknowledgement, nothing
                 * more */
                LOG_W("a client sent SET_CURSOR_POS %d,%d although this host does not offer it (capture %s "
                      "cannot "
                      "move the pointer); acknowledged, not acted on",
                      x, y, p->cap->impl->name);
                p->said_no_set_pos = true;
            }
            LOG_D("SET_CURSOR_POS %d,%d%s", x, y, rc ? " failed" : "");
        } else if (st != SG_LGMP_OK) {
            LOG_D("client message rejected: %s", sg_lgmp_status_str(st));
        }
        sg_lgmp_host_ack_cmsg(p->cq);
        if (st != SG_LGMP_OK && st != SG_LGMP_BAD_CMSG)
            break;
    }

    sg_publisher_cursor_step(p);
    if (!tick_stop(p) && !p->corrupted && sg_lgmp_host_queue_new_subs(p->cq)) {
        p->held = false; /* the message below carries the newest state */
        p->held_flags = 0;
        cursor_new_subscriber(p);
    }
    if (p->corrupted)
        return p->threaded ? 1 : reinit(p);
    return 0;
}

void sg_publisher_cursor_step(struct sg_publisher *p)
{
    /* cap_lock only around the backend call: a post may wait on a client,
     * and the frame thread must still be able to stop the capture meanwhile */
    for (uint32_t k = 0; k < CURSOR_EVENTS_PER_TICK && !tick_stop(p) && !p->corrupted; k++) {
        struct sg_capture_cursor ev;
        uint8_t *shape = (uint8_t *)p->shapes[p->shape_i].ptr + SG_KVMFR_CURSOR_HEADER_SIZE;
        pthread_mutex_lock(&p->cap_lock);
        bool got =
            atomic_load(&p->capturing) &&
            sg_capture_next_cursor(p->cap, &ev, shape, SG_KVMFR_CURSOR_MAX_SHAPE_BYTES) == SG_CAPTURE_OK;
        pthread_mutex_unlock(&p->cap_lock);
        if (!got || !handle_cursor_event(p, &ev))
            break;
    }
    if (!tick_stop(p) && !p->corrupted)
        flush_held(p);
}

bool sg_publisher_cursor_holding(const struct sg_publisher *p)
{
    return p->held;
}

static int64_t ns_until(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(t->tv_sec - now.tv_sec) * 1000000000 + (t->tv_nsec - now.tv_nsec);
}

int sg_publisher_cursor_wait(struct sg_publisher *p, const struct timespec *deadline)
{
    int fd = -1;
    pthread_mutex_lock(&p->cap_lock);
    if (atomic_load(&p->capturing))
        fd = sg_capture_cursor_fd(p->cap);
    pthread_mutex_unlock(&p->cap_lock);
    int64_t left = ns_until(deadline);
    if (left <= 0)
        return 0;
    if (fd < 0 && !p->held) {
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, deadline, NULL);
        return 0;
    }
    if (p->held && left > CURSOR_HOLD_RECHECK_NS)
        left = CURSOR_HOLD_RECHECK_NS;
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    struct timespec ts = {(time_t)(left / 1000000000), (long)(left % 1000000000)};
    int n = ppoll(&pfd, 1, &ts, NULL); /* fd -1 is ignored: a plain sleep */
    if (n < 0 && errno != EINTR)
        return -1;
    sg_publisher_cursor_step(p);
    return n > 0;
}

/* ------------------------------------------------------------------ run */

static void *frame_thread(void *arg)
{
    struct sg_publisher *p = arg;
    /* the signal flag is the tick's to read; it tells this thread via quit */
    while (!frame_quit(p))
        sg_publisher_frame_step(p, 20);
    return NULL;
}

/* The frame thread with SIGINT and SIGTERM blocked: their handler then runs
 * on the tick's thread, the only one that reads the flag it sets. */
static int start_frame_thread(struct sg_publisher *p, pthread_t *th)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    atomic_store(&p->quit, false);
    int rc = pthread_create(th, NULL, frame_thread, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

int sg_publisher_run(struct sg_publisher *p, volatile sig_atomic_t *stop)
{
    pthread_t th;
    p->threaded = true;
    p->stop = stop;
    if (start_frame_thread(p, &th) != 0) {
        LOG_E("cannot start the frame thread");
        p->threaded = false;
        p->stop = NULL;
        return -1;
    }
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    while (!*stop) {
        if (sg_publisher_tick(p) == 1) {
            atomic_store(&p->quit, true);
            pthread_join(th, NULL);
            if (reinit(p) != 0 || start_frame_thread(p, &th) != 0) {
                p->threaded = false;
                p->stop = NULL;
                return -1;
            }
        }
        next.tv_nsec += SG_KVMFR_HOST_TICK_MS * 1000000L;
        if (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > next.tv_sec + 1)
            next = now; /* suspended for a while: do not catch up */
        /* between ticks: the cursor as it moves */
        while (!*stop && ns_until(&next) > 0)
            if (sg_publisher_cursor_wait(p, &next) < 0) {
                clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
                break;
            }
    }
    atomic_store(&p->quit, true);
    pthread_join(th, NULL);
    p->threaded = false;
    p->stop = NULL;
    if (atomic_load(&p->capturing)) {
        sg_capture_stop(p->cap);
        atomic_store(&p->capturing, false);
    }
    return 0;
}
