/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "publisher_private.h"

#include <string.h>

/* Bytes per progress-word publication: small enough that a client copying
 * behind us rarely waits, large enough that the stores cost nothing. */
#define BAND_BYTES (256u * 1024u)
#define NO_SUB_POLL_MS 100u
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

/* A frame-thread sleep that ends early when the thread is told to quit. */
static void frame_nap(struct sg_publisher *p, uint64_t us)
{
    while (us && !frame_quit(p)) {
        uint64_t slice = us < NAP_SLICE_US ? us : NAP_SLICE_US;
        sg_sleep_us(slice);
        us -= slice;
    }
}

static bool any_subscriber(struct sg_publisher *p)
{
    return sg_lgmp_host_queue_has_subs(p->fq) || sg_lgmp_host_queue_has_subs(p->cq);
}

/* Copy the rectangles into the block's data area band by band, raising the
 * progress word after each band (kvmfr.md §5.6). */
static uint64_t copy_bands(struct sg_publisher *p, uint8_t *data, uint32_t *word, uint32_t pitch,
                           uint32_t bpp, uint32_t rows, const struct sg_capture_rect *const *lists,
                           const uint32_t *counts, int nlists)
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
                bytes += (uint64_t)part.w * bpp * part.h;
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

/* A type and size the wire and the client can take. */
static bool frame_size_ok(struct sg_publisher *p, const struct sg_capture_frame *f)
{
    /* one pixel per texel of a known size: BGR_32 packs pixels, which copy_rect's rectangles cannot say */
    if (!sg_kvmfr_bytes_per_texel(f->type) || f->type == SG_FRAME_BGR_32) {
        LOG_W("capture %s gave a frame of type %u (%s): not sent", p->cap->impl->name, f->type,
              sg_kvmfr_frame_type_str(f->type));
        return false;
    }
    if (f->width == 0 || f->height == 0 || f->width > SG_KVMFR_MAX_DIMENSION ||
        f->height > SG_KVMFR_MAX_DIMENSION) {
        LOG_W("capture %s gave a %ux%u frame: not sent", p->cap->impl->name, f->width, f->height);
        return false;
    }
    return true;
}

/* A new type or size is a new format version: clients reconfigure on it. */
static void track_format(struct sg_publisher *p, const struct sg_capture_frame *f, uint32_t pitch)
{
    if (!p->have_format || f->type != p->fmt_type || f->width != p->fmt_w || f->height != p->fmt_h ||
        pitch != p->fmt_pitch) {
        p->format_version++;
        p->fmt_type = f->type;
        p->fmt_w = f->width;
        p->fmt_h = f->height;
        p->fmt_pitch = pitch;
        p->have_format = true;
        p->trunc_logged = false;
        LOG_I("frame format %u: %ux%u %s, pitch %u", p->format_version, f->width, f->height,
              sg_kvmfr_frame_type_str(f->type), pitch);
    }
}

/* The rows the block's data area holds; *flags gets TRUNCATED when that is
 * fewer than the frame's (said once per format). 0: nothing fits. */
static uint32_t rows_that_fit(struct sg_publisher *p, const struct sg_capture_frame *f, uint32_t pitch,
                              uint32_t *flags)
{
    uint32_t rows = f->height;
    if ((uint64_t)pitch * f->height > p->layout.max_data_size) {
        rows = (uint32_t)(p->layout.max_data_size / pitch);
        *flags |= SG_FRAME_FLAG_TRUNCATED;
        if (!p->trunc_logged) {
            LOG_W("region %s too small for %ux%u frames: %llu bytes per frame, %llu available; sending %u of "
                  "%u "
                  "rows (TRUNCATED). Use a region of %u MiB",
                  p->region_name, f->width, f->height, (unsigned long long)pitch * f->height,
                  (unsigned long long)p->layout.max_data_size, rows, f->height,
                  sg_kvmfr_recommended_mib(f->height, pitch));
            p->trunc_logged = true;
        }
    }
    return rows;
}

/* The frame's header, its damage clipped to the rows sent. */
static struct sg_kvmfr_wire_frame frame_header(struct sg_publisher *p, const struct sg_capture_frame *f,
                                               uint32_t rows, uint32_t pitch, uint32_t flags)
{
    struct sg_kvmfr_wire_frame hdr = {
        .format_version = p->format_version,
        .frame_serial = p->serial,
        .type = f->type,
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
    return hdr;
}

/* The pixels of block i that differ from f, band by band; the bytes copied.
 * The block holds frame serial-2 when it is valid; what changed since then
 * is the previous frame's damage plus this one's. */
static uint64_t copy_frame(struct sg_publisher *p, int i, const struct sg_capture_frame *f, uint32_t rows,
                           uint32_t pitch, uint32_t *word)
{
    uint32_t bpp = sg_kvmfr_bytes_per_texel(f->type);
    uint8_t *data = (uint8_t *)p->blocks[i].ptr + SG_PUBLISHER_ALIGN;
    struct sg_capture_rect all = {0, 0, f->width, rows};
    bool partial = p->blk[i].valid && p->blk[i].format_version == p->format_version && p->serial >= 2 &&
                   p->blk[i].serial == p->serial - 2 && f->damage_count && !p->prev_full;
    if (partial) {
        /* one list, so that an area damaged in both frames is copied once */
        struct sg_capture_rect both[SG_CAPTURE_MAX_DAMAGE];
        uint32_t n = 0;
        for (uint32_t k = 0; k < p->prev_count; k++)
            sg_capture_damage_add(both, &n, &p->prev_damage[k]);
        for (uint32_t k = 0; k < f->damage_count; k++)
            sg_capture_damage_add(both, &n, &f->damage[k]);
        const struct sg_capture_rect *lists[1] = {both};
        return copy_bands(p, data, word, pitch, bpp, rows, lists, &n, 1);
    }
    const struct sg_capture_rect *lists[1] = {&all};
    uint32_t counts[1] = {1};
    return copy_bands(p, data, word, pitch, bpp, rows, lists, counts, 1);
}

/* Block i now holds f: what the next frames' copies and re-posts rely on. */
static void frame_published(struct sg_publisher *p, int i, const struct sg_capture_frame *f, uint64_t bytes,
                            uint32_t flags)
{
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

static void publish_frame(struct sg_publisher *p, const struct sg_capture_frame *f)
{
    if (!frame_size_ok(p, f))
        return;
    uint32_t pitch = f->width * sg_kvmfr_bytes_per_texel(f->type);
    track_format(p, f, pitch);
    uint32_t flags = 0;
    uint32_t rows = rows_that_fit(p, f, pitch, &flags);
    if (rows == 0)
        return;

    int i = p->next_block;
    struct sg_kvmfr_wire_frame hdr = frame_header(p, f, rows, pitch, flags);

    /* §5.7 steps 3-5: header, progress 0, post, then the pixels */
    sg_lgmp_host_queue_new_subs(p->fq);
    uint8_t *payload = p->blocks[i].ptr;
    uint32_t *word = (uint32_t *)(payload + SG_PUBLISHER_ALIGN - 4);
    sg_kvmfr_frame_write(payload, &hdr);
    sg_kvmfr_progress_store(word, 0);
    p->unposted = !post_frame_block(p, i);
    SG_TRACE("frame-post %u", p->serial);

    uint64_t bytes = copy_frame(p, i, f, rows, pitch, word);
    frame_published(p, i, f, bytes, flags);
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
