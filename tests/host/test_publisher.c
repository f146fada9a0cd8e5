/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The publisher driven step by step with a probe backend that records every
 * copy_rect call together with the progress word and the queue state at that
 * moment: posting before the pixels, the progress word raised band by band,
 * damage-only copies of exactly the last two frames' damage, headers, capture
 * only while subscribed, the cursor algorithm and SET_CURSOR_POS.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture.h"
#include "lgmp.h"
#include "sg_log.h"
#include "publisher.h"
#include "sysinfo.h"

#define REGION (32u << 20)
#define MAX_CALLS 4096

struct call {
    struct sg_capture_rect r;
    uint32_t progress;
};

struct probe {
    struct sg_capture base;
    bool started;
    int starts;
    /* the next frame */
    bool have_frame;
    struct sg_capture_frame next;
    /* the next cursor event */
    bool have_cursor;
    struct sg_capture_cursor cursor;
    uint8_t shape_byte;
    int32_t warp_x, warp_y;
    int warps;
    /* a burst of position events, and the descriptor that announces them */
    struct sg_capture_cursor burst[16];
    uint32_t nburst, iburst;
    int wake[2];
    /* what copy_rect saw */
    uint32_t *word; /* the progress word of the block being written, set by the test */
    /* endless: every next_frame and next_cursor call gives the same frame or
     * event again (a busy screen; nothing in the probe changes) */
    bool endless;
    atomic_uint cursor_calls;
    struct call calls[MAX_CALLS];
    uint32_t ncalls;
    uint8_t fill;
};

static struct probe *probe_new(void)
{
    struct probe *p = calloc(1, sizeof(*p));
    if (pipe2(p->wake, O_NONBLOCK | O_CLOEXEC) != 0)
        p->wake[0] = p->wake[1] = -1;
    return p;
}
static int probe_create(struct sg_capture **out, const char *const *v, char *err, size_t n)
{
    return -1;
}
static int probe_start(struct sg_capture *c)
{
    struct probe *p = (struct probe *)c;
    p->started = true;
    p->starts++;
    return 0;
}
static enum sg_capture_status probe_next(struct sg_capture *c, uint32_t t, struct sg_capture_frame *out)
{
    struct probe *p = (struct probe *)c;
    if (p->endless) {
        *out = p->next;
        return SG_CAPTURE_OK;
    }
    assert_true(p->started);
    if (!p->have_frame)
        return SG_CAPTURE_TIMEOUT;
    p->have_frame = false;
    *out = p->next;
    return SG_CAPTURE_OK;
}
static void probe_copy(struct sg_capture *c, const struct sg_capture_rect *r, void *dst, size_t pitch)
{
    struct probe *p = (struct probe *)c;
    if (p->ncalls < MAX_CALLS)
        p->calls[p->ncalls++] = (struct call){*r, p->word ? __atomic_load_n(p->word, __ATOMIC_ACQUIRE) : 0};
    for (uint32_t y = r->y; y < r->y + r->h; y++)
        memset((uint8_t *)dst + y * pitch + r->x * 4, p->fill, (size_t)r->w * 4);
}
static enum sg_capture_status probe_cursor(struct sg_capture *c, struct sg_capture_cursor *out,
                                           uint8_t *shape, size_t cap)
{
    struct probe *p = (struct probe *)c;
    atomic_fetch_add(&p->cursor_calls, 1);
    if (p->endless) {
        *out = p->cursor;
        return SG_CAPTURE_OK;
    }
    char drain[64];
    while (read(p->wake[0], drain, sizeof(drain)) == (ssize_t)sizeof(drain)) {
    }
    if (p->iburst < p->nburst) {
        *out = p->burst[p->iburst++];
        return SG_CAPTURE_OK;
    }
    if (!p->have_cursor)
        return SG_CAPTURE_NONE;
    p->have_cursor = false;
    *out = p->cursor;
    if (out->has_shape)
        memset(shape, p->shape_byte, (size_t)out->height * out->pitch);
    return SG_CAPTURE_OK;
}
static int probe_setpos(struct sg_capture *c, int32_t x, int32_t y)
{
    struct probe *p = (struct probe *)c;
    p->warp_x = x;
    p->warp_y = y;
    p->warps++;
    return 0;
}
static int probe_cursor_fd(struct sg_capture *c)
{
    return ((struct probe *)c)->wake[0];
}
static void probe_stop(struct sg_capture *c)
{
    ((struct probe *)c)->started = false;
}
static void probe_destroy(struct sg_capture *c)
{
    struct probe *p = (struct probe *)c;
    close(p->wake[0]);
    close(p->wake[1]);
    free(c);
}
static const struct sg_capture_impl probe_impl = {
    .name = "probe",
    .label = "probe",
    .help = "",
    .create = probe_create,
    .start = probe_start,
    .next_frame = probe_next,
    .copy_rect = probe_copy,
    .next_cursor = probe_cursor,
    .set_cursor_pos = probe_setpos,
    .cursor_fd = probe_cursor_fd,
    .stop = probe_stop,
    .destroy = probe_destroy,
};

/* Position events for the probe to report, announced on its descriptor. */
static void give_burst(struct probe *p, const int32_t (*xy)[2], uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        p->burst[i] =
            (struct sg_capture_cursor){.has_position = true, .x = xy[i][0], .y = xy[i][1], .visible = true};
    p->nburst = n;
    p->iburst = 0;
    assert_int_equal(write(p->wake[1], "m", 1), 1);
}

struct fixture {
    uint8_t *region;
    struct probe *probe;
    struct sg_publisher *pub;
    struct sg_lgmp_client *client;
    struct sg_lgmp_client_queue *fq, *cq;
};

static int setup(void **state)
{
    sg_log_set_level(SG_LOG_ERROR);
    struct fixture *f = calloc(1, sizeof(*f));
    f->region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    f->probe = probe_new();
    f->probe->base.impl = &probe_impl;
    struct sg_kvmfr_info info;
    sg_host_sysinfo(&info, &probe_impl);
    char err[256];
    struct sg_publisher_opts po = {.region_name = "test"};
    assert_int_equal(
        sg_publisher_create(&f->pub, f->region, REGION, &f->probe->base, &info, &po, err, sizeof(err)), 0);
    assert_int_equal(sg_lgmp_client_create(&f->client, f->region, REGION, NULL), SG_LGMP_OK);
    *state = f;
    return 0;
}

static void subscribe(struct fixture *f, bool frames, bool cursor)
{
    const uint8_t *app;
    uint32_t size;
    enum sg_lgmp_status st = SG_LGMP_INVALID_SESSION;
    for (int k = 0; k < 200 && st == SG_LGMP_INVALID_SESSION; k++) {
        usleep(2000);
        sg_publisher_tick(f->pub);
        st = sg_lgmp_client_session_init(f->client, &app, &size);
    }
    assert_int_equal(st, SG_LGMP_OK);
    if (frames)
        assert_int_equal(sg_lgmp_client_subscribe(f->client, SG_KVMFR_FRAME_QUEUE_ID, &f->fq), SG_LGMP_OK);
    if (cursor)
        assert_int_equal(sg_lgmp_client_subscribe(f->client, SG_KVMFR_CURSOR_QUEUE_ID, &f->cq), SG_LGMP_OK);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->fq)
        sg_lgmp_client_unsubscribe(&f->fq);
    if (f->cq)
        sg_lgmp_client_unsubscribe(&f->cq);
    sg_lgmp_client_destroy(f->client);
    sg_publisher_destroy(f->pub);
    sg_capture_destroy(&f->probe->base);
    munmap(f->region, REGION);
    free(f);
    return 0;
}

/* Queue one frame in the probe, aim its word pointer at the block it will use. */
static void give_frame(struct fixture *f, uint32_t w, uint32_t h, const struct sg_capture_rect *damage,
                       uint32_t n, int block)
{
    struct probe *p = f->probe;
    p->have_frame = true;
    if (!p->next.type)
        p->next.type = SG_FRAME_BGRA;
    p->next.width = w;
    p->next.height = h;
    p->next.damage_count = n;
    if (n)
        memcpy(p->next.damage, damage, n * sizeof(*damage));
    const struct sg_kvmfr_layout *L = sg_publisher_layout(f->pub);
    p->word = (uint32_t *)(f->region + L->frame_block[block] + 4092);
    p->ncalls = 0;
    p->fill++;
}

static struct sg_kvmfr_frame take_frame(struct fixture *f, uint32_t *offset)
{
    struct sg_lgmp_message m;
    assert_int_equal(sg_lgmp_client_process(f->fq, &m), SG_LGMP_OK);
    struct sg_kvmfr_frame fr;
    assert_int_equal(sg_kvmfr_frame_read(m.mem, m.size, &fr), SG_KVMFR_OK);
    if (offset)
        *offset = m.offset;
    assert_int_equal(sg_lgmp_client_message_done(f->fq), SG_LGMP_OK);
    return fr;
}

static void test_capture_only_while_subscribed(void **state)
{
    struct fixture *f = *state;
    sg_publisher_frame_step(f->pub, 5);
    assert_false(f->probe->started);
    subscribe(f, false, true); /* a cursor subscriber is enough */
    sg_publisher_frame_step(f->pub, 5);
    assert_true(f->probe->started);
    sg_lgmp_client_unsubscribe(&f->cq);
    sg_publisher_frame_step(f->pub, 5);
    assert_false(f->probe->started);
}

static void test_progress_bands(void **state)
{
    struct fixture *f = *state;
    subscribe(f, true, false);
    const uint32_t W = 1920, H = 1080, pitch = W * 4;
    give_frame(f, W, H, NULL, 0, 0);
    sg_publisher_frame_step(f->pub, 5);
    struct probe *p = f->probe;
    assert_true(p->ncalls > 10);
    /* the message went out before the first pixel, with the word at 0 */
    assert_int_equal(p->calls[0].progress, 0);
    uint32_t prev = 0, distinct = 0, rows = 0;
    for (uint32_t i = 0; i < p->ncalls; i++) {
        assert_true(p->calls[i].progress >= prev);
        assert_int_equal(p->calls[i].progress % pitch, 0);
        /* what is published never runs ahead of what was copied */
        assert_true(p->calls[i].progress <= p->calls[i].r.y * pitch);
        distinct += p->calls[i].progress != prev;
        prev = p->calls[i].progress;
        rows += p->calls[i].r.h;
        assert_int_equal(p->calls[i].r.w, W);
    }
    assert_int_equal(rows, H);
    assert_true(distinct >= 10);
    assert_int_equal(*p->word, H * pitch);
    uint32_t off;
    struct sg_kvmfr_frame fr = take_frame(f, &off);
    assert_int_equal(off, sg_publisher_layout(f->pub)->frame_block[0]);
    assert_int_equal(fr.hdr.frame_serial, 0);
    assert_int_equal(fr.hdr.data_height, H);
    assert_int_equal(fr.hdr.pitch, pitch);
    assert_int_equal(fr.hdr.damage_count, 0);
    assert_int_equal(fr.hdr.flags, 0);
    uint8_t *data = f->region + off + 4096;
    assert_int_equal(data[0], p->fill);
    assert_int_equal(data[(size_t)H * pitch - 1], p->fill);
}

/* The backend's frame type goes out in the header; a change of type alone is
 * a new format; a type the publisher cannot send is not posted. */
static void test_frame_type(void **state)
{
    struct fixture *f = *state;
    subscribe(f, true, false);
    f->probe->next.type = SG_FRAME_RGBA10;
    give_frame(f, 64, 32, NULL, 0, 0);
    sg_publisher_frame_step(f->pub, 5);
    struct sg_kvmfr_frame fr = take_frame(f, NULL);
    assert_int_equal(fr.hdr.type, SG_FRAME_RGBA10);
    assert_int_equal(fr.hdr.pitch, 64 * 4);
    assert_int_equal(fr.hdr.stride, 64);
    uint32_t version = fr.hdr.format_version;
    f->probe->next.type = SG_FRAME_RGBA;
    give_frame(f, 64, 32, NULL, 0, 1);
    sg_publisher_frame_step(f->pub, 5);
    fr = take_frame(f, NULL);
    assert_int_equal(fr.hdr.type, SG_FRAME_RGBA);
    assert_int_equal(fr.hdr.format_version, version + 1);
    /* packed or unknown types: nothing is posted */
    struct sg_lgmp_message m;
    f->probe->next.type = SG_FRAME_BGR_32;
    give_frame(f, 64, 32, NULL, 0, 0);
    sg_publisher_frame_step(f->pub, 5);
    f->probe->next.type = 99;
    give_frame(f, 64, 32, NULL, 0, 0);
    sg_publisher_frame_step(f->pub, 5);
    assert_int_equal(sg_lgmp_client_process(f->fq, &m), SG_LGMP_QUEUE_EMPTY);
}

static bool has_rect(const struct call *calls, uint32_t n, struct sg_capture_rect want)
{
    /* the union of the calls' pieces must cover want exactly once per row */
    uint32_t rows = 0;
    for (uint32_t i = 0; i < n; i++)
        if (calls[i].r.x == want.x && calls[i].r.w == want.w && calls[i].r.y >= want.y &&
            calls[i].r.y + calls[i].r.h <= want.y + want.h)
            rows += calls[i].r.h;
    return rows == want.h;
}

static void test_damage_of_two_frames(void **state)
{
    struct fixture *f = *state;
    subscribe(f, true, false);
    const uint32_t W = 640, H = 480;
    struct sg_capture_rect a = {10, 20, 30, 40}, b = {300, 200, 50, 60}, c = {600, 400, 40, 80};
    give_frame(f, W, H, NULL, 0, 0); /* serial 0 -> block 0, full */
    sg_publisher_frame_step(f->pub, 5);
    take_frame(f, NULL);
    give_frame(f, W, H, &a, 1, 1); /* serial 1 -> block 1, empty: full copy */
    sg_publisher_frame_step(f->pub, 5);
    uint32_t rows = 0;
    for (uint32_t i = 0; i < f->probe->ncalls; i++)
        rows += f->probe->calls[i].r.h;
    assert_int_equal(rows, H);
    struct sg_kvmfr_frame fr = take_frame(f, NULL);
    assert_int_equal(fr.hdr.frame_serial, 1);
    assert_int_equal(fr.hdr.damage_count, 1);
    assert_int_equal(fr.hdr.damage[0].x, 10);
    assert_int_equal(fr.hdr.damage[0].height, 40);

    give_frame(f, W, H, &b, 1, 0); /* serial 2 -> block 0 holds serial 0: copy a and b */
    sg_publisher_frame_step(f->pub, 5);
    uint32_t area = 0;
    for (uint32_t i = 0; i < f->probe->ncalls; i++)
        area += f->probe->calls[i].r.w * f->probe->calls[i].r.h;
    assert_int_equal(area, a.w * a.h + b.w * b.h);
    assert_true(has_rect(f->probe->calls, f->probe->ncalls, a));
    assert_true(has_rect(f->probe->calls, f->probe->ncalls, b));
    fr = take_frame(f, NULL);
    assert_int_equal(fr.hdr.damage_count, 1);
    assert_int_equal(fr.hdr.damage[0].x, 300);

    give_frame(f, W, H, &c, 1, 1); /* serial 3 -> block 1 holds serial 1: copy b and c */
    sg_publisher_frame_step(f->pub, 5);
    area = 0;
    for (uint32_t i = 0; i < f->probe->ncalls; i++)
        area += f->probe->calls[i].r.w * f->probe->calls[i].r.h;
    assert_int_equal(area, b.w * b.h + c.w * c.h);
    assert_true(has_rect(f->probe->calls, f->probe->ncalls, b));
    assert_true(has_rect(f->probe->calls, f->probe->ncalls, c));
    take_frame(f, NULL);

    /* a size change: new format version, whole copy */
    give_frame(f, 320, 240, &a, 1, 0);
    sg_publisher_frame_step(f->pub, 5);
    fr = take_frame(f, NULL);
    assert_int_equal(fr.hdr.format_version, 2);
    assert_int_equal(fr.hdr.frame_width, 320);
    rows = 0;
    for (uint32_t i = 0; i < f->probe->ncalls; i++)
        rows += f->probe->calls[i].r.h;
    assert_int_equal(rows, 240);
}

static void test_still_repost(void **state)
{
    struct fixture *f = *state;
    subscribe(f, true, false);
    give_frame(f, 320, 240, NULL, 0, 0);
    sg_publisher_frame_step(f->pub, 5);
    take_frame(f, NULL);
    /* nothing new: nothing posted */
    sg_publisher_frame_step(f->pub, 5);
    struct sg_lgmp_message m;
    assert_int_equal(sg_lgmp_client_process(f->fq, &m), SG_LGMP_QUEUE_EMPTY);
    /* a second subscriber: the last frame again, same serial */
    struct sg_lgmp_client *c2;
    struct sg_lgmp_client_queue *q2;
    const uint8_t *app;
    uint32_t size;
    assert_int_equal(sg_lgmp_client_create(&c2, f->region, REGION, NULL), SG_LGMP_OK);
    enum sg_lgmp_status st = SG_LGMP_INVALID_SESSION;
    for (int k = 0; k < 200 && st == SG_LGMP_INVALID_SESSION; k++) {
        usleep(2000);
        sg_publisher_tick(f->pub);
        st = sg_lgmp_client_session_init(c2, &app, &size);
    }
    assert_int_equal(sg_lgmp_client_subscribe(c2, SG_KVMFR_FRAME_QUEUE_ID, &q2), SG_LGMP_OK);
    f->probe->ncalls = 0;
    sg_publisher_frame_step(f->pub, 5);
    assert_int_equal(f->probe->ncalls, 0); /* no copy for a re-post */
    assert_int_equal(sg_lgmp_client_process(q2, &m), SG_LGMP_OK);
    struct sg_kvmfr_frame fr;
    assert_int_equal(sg_kvmfr_frame_read(m.mem, m.size, &fr), SG_KVMFR_OK);
    assert_int_equal(fr.hdr.frame_serial, 0);
    sg_lgmp_client_message_done(q2);
    sg_lgmp_client_unsubscribe(&q2);
    sg_lgmp_client_destroy(c2);
    struct sg_publisher_stats s;
    sg_publisher_get_stats(f->pub, &s);
    assert_int_equal(s.reposts, 1);
    assert_int_equal(s.frames, 1);
}

static void test_truncated(void **state)
{
    struct fixture *f = *state;
    subscribe(f, true, false);
    const struct sg_kvmfr_layout *L = sg_publisher_layout(f->pub);
    const uint32_t W = 3840, H = 2160, pitch = W * 4;
    struct sg_capture_rect low = {0, 2000, 100, 100};
    give_frame(f, W, H, &low, 1, 0);
    sg_publisher_frame_step(f->pub, 5);
    struct sg_kvmfr_frame fr = take_frame(f, NULL);
    assert_true(fr.hdr.flags & SG_FRAME_FLAG_TRUNCATED);
    assert_int_equal(fr.hdr.data_height, L->max_data_size / pitch);
    assert_int_equal(fr.hdr.frame_height, H);
    assert_int_equal(fr.hdr.damage_count, 0); /* the only damage lies in rows not sent */
    assert_true((uint64_t)fr.hdr.data_height * pitch <= L->block_size - 4096);
    /* a backend reporting an empty or absurd frame: nothing is sent */
    struct sg_lgmp_message m;
    give_frame(f, 0, 480, NULL, 0, 1);
    sg_publisher_frame_step(f->pub, 5);
    give_frame(f, 20000, 480, NULL, 0, 1);
    sg_publisher_frame_step(f->pub, 5);
    assert_int_equal(sg_lgmp_client_process(f->fq, &m), SG_LGMP_QUEUE_EMPTY);
    assert_int_equal(f->probe->ncalls, 0);
}

static void test_cursor(void **state)
{
    struct fixture *f = *state;
    subscribe(f, false, true);
    sg_publisher_frame_step(f->pub, 5); /* starts capture */
    /* the new subscriber is noticed; with no cursor known yet nothing is posted */
    sg_publisher_tick(f->pub);
    struct sg_lgmp_message m;
    assert_int_equal(sg_lgmp_client_process(f->cq, &m), SG_LGMP_QUEUE_EMPTY);
    struct probe *p = f->probe;
    const struct sg_kvmfr_layout *L = sg_publisher_layout(f->pub);
    p->have_cursor = true;
    p->shape_byte = 0x42;
    p->cursor = (struct sg_capture_cursor){.has_position = true,
                                           .x = 100,
                                           .y = 50,
                                           .visible = true,
                                           .has_shape = true,
                                           .shape_type = SG_CURSOR_MONOCHROME,
                                           .width = 16,
                                           .height = 32,
                                           .pitch = 2,
                                           .hot_x = 3,
                                           .hot_y = 4};
    sg_publisher_tick(f->pub);
    uint8_t *buf = malloc(SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE);
    struct sg_kvmfr_cursor c;
    assert_int_equal(sg_lgmp_client_process(f->cq, &m), SG_LGMP_OK);
    assert_int_equal(m.app_value, SG_CURSOR_FLAG_POSITION | SG_CURSOR_FLAG_VISIBLE | SG_CURSOR_FLAG_SHAPE);
    assert_int_equal(m.offset, L->shape_buffers);
    assert_int_equal(
        sg_kvmfr_cursor_read(m.mem, m.size, m.app_value, buf, SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE, &c),
        SG_KVMFR_OK);
    sg_lgmp_client_message_done(f->cq);
    assert_int_equal(c.x, 97);
    assert_int_equal(c.y, 46);
    assert_int_equal(c.shape_type, SG_CURSOR_MONOCHROME);
    assert_int_equal(c.height, 16);
    assert_int_equal(c.data_rows, 32);
    assert_int_equal(c.hot_x, 3);
    assert_int_equal(c.shape[0], 0x42);
    assert_int_equal(c.shape[63], 0x42);

    /* position only: a record, x/y from the last hotspot */
    p->have_cursor = true;
    p->cursor = (struct sg_capture_cursor){.has_position = true, .x = 200, .y = 10, .visible = false};
    sg_publisher_tick(f->pub);
    assert_int_equal(sg_lgmp_client_process(f->cq, &m), SG_LGMP_OK);
    assert_int_equal(m.app_value, SG_CURSOR_FLAG_POSITION);
    assert_int_equal(m.offset, L->cursor_records);
    assert_int_equal(m.size, 24);
    assert_int_equal(
        sg_kvmfr_cursor_read(m.mem, m.size, m.app_value, buf, SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE, &c),
        SG_KVMFR_OK);
    sg_lgmp_client_message_done(f->cq);
    assert_int_equal(c.x, 197);
    assert_int_equal(c.y, 6);

    /* 25 more: records and then shape buffers go round robin */
    for (int i = 0; i < 25; i++) {
        p->have_cursor = true;
        p->cursor = (struct sg_capture_cursor){.has_position = true, .x = i, .y = i, .visible = true};
        sg_publisher_tick(f->pub);
        assert_int_equal(sg_lgmp_client_process(f->cq, &m), SG_LGMP_OK);
        assert_int_equal(m.offset, L->cursor_records + 24u * ((i + 1) % 20));
        sg_lgmp_client_message_done(f->cq);
    }

    /* another subscriber: the current shape again, at the current position */
    struct sg_lgmp_client *c2;
    struct sg_lgmp_client_queue *q2;
    const uint8_t *app;
    uint32_t size;
    assert_int_equal(sg_lgmp_client_create(&c2, f->region, REGION, NULL), SG_LGMP_OK);
    enum sg_lgmp_status st = SG_LGMP_INVALID_SESSION;
    for (int k = 0; k < 200 && st == SG_LGMP_INVALID_SESSION; k++) {
        usleep(2000);
        sg_publisher_tick(f->pub);
        st = sg_lgmp_client_session_init(c2, &app, &size);
    }
    assert_int_equal(sg_lgmp_client_subscribe(c2, SG_KVMFR_CURSOR_QUEUE_ID, &q2), SG_LGMP_OK);
    sg_publisher_tick(f->pub);
    assert_int_equal(sg_lgmp_client_process(q2, &m), SG_LGMP_OK);
    assert_int_equal(m.app_value, SG_CURSOR_FLAG_POSITION | SG_CURSOR_FLAG_VISIBLE | SG_CURSOR_FLAG_SHAPE);
    assert_int_equal(m.offset, L->shape_buffers);
    assert_int_equal(
        sg_kvmfr_cursor_read(m.mem, m.size, m.app_value, buf, SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE, &c),
        SG_KVMFR_OK);
    assert_int_equal(c.x, 24 - 3);
    assert_int_equal(c.y, 24 - 4);
    assert_int_equal(c.shape_type, SG_CURSOR_MONOCHROME);
    assert_int_equal(c.shape[5], 0x42);
    sg_lgmp_client_message_done(q2);
    sg_lgmp_client_unsubscribe(&q2);
    sg_lgmp_client_destroy(c2);
    /* the first client got the same post */
    assert_int_equal(sg_lgmp_client_process(f->cq, &m), SG_LGMP_OK);
    assert_int_equal(m.offset, L->shape_buffers);
    sg_lgmp_client_message_done(f->cq);

    /* SET_CURSOR_POS: acted on in the tick and acknowledged */
    uint8_t msg[12];
    uint32_t serial, done;
    sg_kvmfr_encode_set_cursor_pos(msg, 640, 360);
    assert_int_equal(sg_lgmp_client_send(f->cq, msg, 12, &serial), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_get_serial(f->cq, &done), SG_LGMP_OK);
    assert_true(done < serial);
    sg_publisher_tick(f->pub);
    assert_int_equal(p->warps, 1);
    assert_int_equal(p->warp_x, 640);
    assert_int_equal(p->warp_y, 360);
    assert_int_equal(sg_lgmp_client_get_serial(f->cq, &done), SG_LGMP_OK);
    assert_int_equal(done, serial);
    /* an unknown message type is acknowledged and ignored */
    uint8_t junk[8] = {7};
    assert_int_equal(sg_lgmp_client_send(f->cq, junk, 8, &serial), SG_LGMP_OK);
    sg_publisher_tick(f->pub);
    assert_int_equal(p->warps, 1);
    assert_int_equal(sg_lgmp_client_get_serial(f->cq, &done), SG_LGMP_OK);
    assert_int_equal(done, serial);
    /* a backend that cannot move the pointer (kms, fbdev): a client that sends SET_CURSOR_POS although
     * the feature is not offered gets its acknowledgement and nothing happens */
    struct sg_capture_impl nowarp = probe_impl;
    nowarp.set_cursor_pos = NULL;
    p->base.impl = &nowarp;
    assert_false(sg_capture_can_set_cursor_pos(&nowarp));
    assert_int_equal(sg_capture_set_cursor_pos(&p->base, 1, 2), -1);
    sg_kvmfr_encode_set_cursor_pos(msg, 10, 20);
    assert_int_equal(sg_lgmp_client_send(f->cq, msg, 12, &serial), SG_LGMP_OK);
    sg_publisher_tick(f->pub);
    assert_int_equal(p->warps, 1);
    assert_int_equal(sg_lgmp_client_get_serial(f->cq, &done), SG_LGMP_OK);
    assert_int_equal(done, serial);
    p->base.impl = &probe_impl;
    free(buf);
}

static void take_position(struct fixture *f, int32_t *x, int32_t *y)
{
    struct sg_lgmp_message m;
    static uint8_t buf[SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE];
    struct sg_kvmfr_cursor c;
    assert_int_equal(sg_lgmp_client_process(f->cq, &m), SG_LGMP_OK);
    assert_true(m.app_value & SG_CURSOR_FLAG_POSITION);
    assert_int_equal(sg_kvmfr_cursor_read(m.mem, m.size, m.app_value, buf, sizeof(buf), &c), SG_KVMFR_OK);
    assert_int_equal(sg_lgmp_client_message_done(f->cq), SG_LGMP_OK);
    *x = c.x;
    *y = c.y;
}

/* Between ticks the publisher waits on the backend's cursor descriptor: a move
 * is posted when the descriptor fires, not at the next tick (none runs here). */
static void test_cursor_posted_without_tick(void **state)
{
    struct fixture *f = *state;
    subscribe(f, false, true);
    sg_publisher_frame_step(f->pub, 5); /* starts capture */
    sg_publisher_tick(f->pub);
    static const int32_t one[][2] = {{300, 200}};
    give_burst(f->probe, one, 1);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += 30; /* far: the wait must end because the descriptor fired */
    assert_int_equal(sg_publisher_cursor_wait(f->pub, &deadline), 1);
    int32_t x, y;
    take_position(f, &x, &y);
    assert_int_equal(x, 300);
    assert_int_equal(y, 200);
    struct sg_lgmp_message m;
    assert_int_equal(sg_lgmp_client_process(f->cq, &m), SG_LGMP_QUEUE_EMPTY);
}

/* A burst faster than the client reads: one message while the previous one is
 * unread, then only the newest place; the last place always goes out. */
static void test_cursor_coalesced_while_unread(void **state)
{
    struct fixture *f = *state;
    subscribe(f, false, true);
    sg_publisher_frame_step(f->pub, 5);
    sg_publisher_tick(f->pub);
    static const int32_t burst[][2] = {{10, 11}, {20, 21}, {30, 31}, {40, 41}};
    give_burst(f->probe, burst, 4);
    sg_publisher_cursor_step(f->pub);
    struct sg_publisher_stats st;
    sg_publisher_get_stats(f->pub, &st);
    assert_int_equal(st.cursor_posts, 1); /* the first; the rest wait for it to be read */
    assert_true(sg_publisher_cursor_holding(f->pub));
    sg_publisher_cursor_step(f->pub); /* still unread: still one */
    sg_publisher_get_stats(f->pub, &st);
    assert_int_equal(st.cursor_posts, 1);
    int32_t x, y;
    take_position(f, &x, &y);
    assert_int_equal(x, 10);
    assert_int_equal(y, 11);
    sg_publisher_cursor_step(f->pub); /* read: the newest place follows */
    assert_false(sg_publisher_cursor_holding(f->pub));
    take_position(f, &x, &y);
    assert_int_equal(x, 40);
    assert_int_equal(y, 41);
    struct sg_lgmp_message m;
    assert_int_equal(sg_lgmp_client_process(f->cq, &m), SG_LGMP_QUEUE_EMPTY);
    sg_publisher_get_stats(f->pub, &st);
    assert_int_equal(st.cursor_posts, 2);
}

/* A backend may report what SET_CURSOR_POS asked for (the test pattern does),
 * and the client is not trusted: positions past the 16-bit wire fields are
 * clamped, not wrapped to the other side of the screen. */
static void test_cursor_extremes(void **state)
{
    struct fixture *f = *state;
    subscribe(f, false, true);
    sg_publisher_frame_step(f->pub, 5);
    sg_publisher_tick(f->pub);
    struct probe *p = f->probe;
    uint8_t *buf = malloc(SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE);
    static const struct {
        int32_t x, y;
        int16_t wx, wy;
    } cases[] = {
        {40000, -40000, INT16_MAX, INT16_MIN},
        {INT32_MIN, INT32_MAX, INT16_MIN, INT16_MAX},
        {INT32_MAX, INT32_MIN, INT16_MAX, INT16_MIN},
        {32767 + 3, -32768 + 4, INT16_MAX, INT16_MIN}, /* exactly the limits after the hotspot */
        {-32768, 32767, INT16_MIN, 32767 - 4},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        p->have_cursor = true;
        p->shape_byte = 0x11;
        p->cursor = (struct sg_capture_cursor){.has_position = true,
                                               .x = cases[i].x,
                                               .y = cases[i].y,
                                               .visible = true,
                                               .has_shape = i == 0,
                                               .shape_type = SG_CURSOR_COLOR,
                                               .width = 4,
                                               .height = 4,
                                               .pitch = 16,
                                               .hot_x = 3,
                                               .hot_y = 4};
        sg_publisher_tick(f->pub);
        struct sg_lgmp_message m;
        struct sg_kvmfr_cursor c;
        assert_int_equal(sg_lgmp_client_process(f->cq, &m), SG_LGMP_OK);
        assert_int_equal(
            sg_kvmfr_cursor_read(m.mem, m.size, m.app_value, buf, SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE, &c),
            SG_KVMFR_OK);
        sg_lgmp_client_message_done(f->cq);
        assert_int_equal(c.x, cases[i].wx);
        assert_int_equal(c.y, cases[i].wy);
    }
    free(buf);
}

struct free_holder {
    uint32_t *cmsg_free;
    bool stop; /* atomic: the threads share it */
};

/* A hostile client keeps taking back the client-message slots the host frees. */
static void *hold_cmsg_free(void *arg)
{
    struct free_holder *fh = arg;
    while (!__atomic_load_n(&fh->stop, __ATOMIC_ACQUIRE))
        __atomic_store_n(fh->cmsg_free, 0, __ATOMIC_SEQ_CST);
    return NULL;
}

struct ticker {
    struct sg_publisher *pub;
    bool done; /* atomic: the threads share it */
};

static void *tick_once(void *arg)
{
    struct ticker *t = arg;
    sg_publisher_tick(t->pub);
    __atomic_store_n(&t->done, true, __ATOMIC_RELEASE);
    return NULL;
}

/* The host reads at most the ring's worth of client messages per tick, however
 * many the client claims are waiting: the heartbeat and the cursor go on. */
static void test_cmsg_flood(void **state)
{
    struct fixture *f = *state;
    subscribe(f, false, true);
    /* the cursor queue's header: cmsg_free is at 448 in it */
    uint8_t *qh = NULL;
    for (int k = 0; k < 5 && !qh; k++)
        if (*(uint32_t *)(f->region + 32 + 1144 * k) == SG_KVMFR_CURSOR_QUEUE_ID)
            qh = f->region + 32 + 1144 * k;
    assert_non_null(qh);
    struct free_holder fh = {.cmsg_free = (uint32_t *)(qh + 448)};
    pthread_t holder, ticker;
    assert_int_equal(pthread_create(&holder, NULL, hold_cmsg_free, &fh), 0);
    while (__atomic_load_n(fh.cmsg_free, __ATOMIC_SEQ_CST) != 0)
        usleep(100);
    struct ticker t = {.pub = f->pub};
    assert_int_equal(pthread_create(&ticker, NULL, tick_once, &t), 0);
    for (int i = 0; i < 200 && !__atomic_load_n(&t.done, __ATOMIC_ACQUIRE); i++)
        usleep(5000);
    bool returned = __atomic_load_n(&t.done, __ATOMIC_ACQUIRE);
    __atomic_store_n(&fh.stop, true, __ATOMIC_RELEASE);
    pthread_join(holder, NULL);
    if (!returned) {
        fprintf(stderr, "sg_publisher_tick still reading client messages after 1 s\n");
        _exit(1); /* the tick thread cannot be stopped */
    }
    pthread_join(ticker, NULL);
    /* each message read is acknowledged: cmsg_done_serial (at 460) counts them */
    assert_in_range(__atomic_load_n((uint32_t *)(qh + 460), __ATOMIC_SEQ_CST), 1, SG_LGMP_CMSG_COUNT);
}

/* The queue header of queue id in the region, and a field in it. */
static uint32_t *queue_field(struct fixture *f, uint32_t id, size_t at)
{
    for (int k = 0; k < 5; k++)
        if (*(uint32_t *)(f->region + 32 + 1144 * k) == id)
            return (uint32_t *)(f->region + 32 + 1144 * k + at);
    fail_msg("queue %u not in the region", id);
    return NULL;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct runner {
    struct sg_publisher *pub;
    int rc;
};

/* The stop flag is set the way spyglass-host sets it: by a signal handler on
 * the thread that runs the publisher. */
static volatile sig_atomic_t run_stop;
static void on_stop_signal(int sig)
{
    run_stop = 1;
}

static void *run_publisher(void *arg)
{
    struct runner *r = arg;
    r->rc = sg_publisher_run(r->pub, &run_stop);
    return NULL;
}

struct full_forger {
    uint32_t *write_index, *read_index, *outstanding;
    atomic_bool stop;
    atomic_uint rounds;
};

/* A client keeping the frame queue full by its read index while it says
 * nothing is outstanding. */
static void *forge_full(void *arg)
{
    struct full_forger *ff = arg;
    while (!atomic_load(&ff->stop)) {
        uint32_t w = __atomic_load_n(ff->write_index, __ATOMIC_SEQ_CST);
        __atomic_store_n(ff->read_index, (w + 1) % (SG_KVMFR_FRAME_QUEUE_LEN + 1), __ATOMIC_SEQ_CST);
        __atomic_store_n(ff->outstanding, 0, __ATOMIC_SEQ_CST);
        atomic_fetch_add(&ff->rounds, 1);
        usleep(50);
    }
    return NULL;
}

/* A publisher run whose frame queue a client forges full (read index one past
 * the write index, outstanding 0) returns within 1 s of being told to stop;
 * it once retried the post for ever and never joined its frame thread. */
static void test_run_stops_with_forged_full_queue(void **state)
{
    struct fixture *f = *state;
    subscribe(f, true, true);
    f->probe->endless = true;
    f->probe->next =
        (struct sg_capture_frame){.type = SG_FRAME_BGRA, .width = 64, .height = 32, .damage_count = 0};
    f->probe->cursor = (struct sg_capture_cursor){.has_position = true, .visible = true, .x = 5, .y = 6};
    struct full_forger ff = {
        .write_index = queue_field(f, SG_KVMFR_FRAME_QUEUE_ID, 16),
        .read_index = queue_field(f, SG_KVMFR_FRAME_QUEUE_ID, 424),
        .outstanding = queue_field(f, SG_KVMFR_FRAME_QUEUE_ID, 440),
    };
    struct runner r = {.pub = f->pub};
    pthread_t forger, runner;
    struct sigaction sa = {.sa_handler = on_stop_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    run_stop = 0;
    assert_int_equal(pthread_create(&forger, NULL, forge_full, &ff), 0);
    while (atomic_load(&ff.rounds) < 10)
        usleep(100);
    assert_int_equal(pthread_create(&runner, NULL, run_publisher, &r), 0);
    /* a few hundred frames' worth of attempts against the forged queue */
    usleep(300000);
    uint64_t t0 = mono_ms();
    pthread_kill(runner, SIGUSR1);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 5;
    int joined = pthread_timedjoin_np(runner, NULL, &deadline);
    uint64_t took = mono_ms() - t0;
    atomic_store(&ff.stop, true);
    pthread_join(forger, NULL);
    fprintf(stderr, "publisher run stopped %llu ms after the stop flag (forged full frame queue)\n",
            (unsigned long long)took);
    if (joined != 0) {
        fprintf(stderr, "sg_publisher_run still running 5 s after the stop flag\n");
        _exit(1); /* its threads cannot be stopped */
    }
    assert_int_equal(r.rc, 0);
    assert_true(took <= 1000);
}

struct tick_thread {
    struct sg_publisher *pub;
    atomic_bool done;
};

static void *tick_in_thread(void *arg)
{
    struct tick_thread *t = arg;
    sg_publisher_tick(t->pub);
    atomic_store(&t->done, true);
    return NULL;
}

/* A cursor post that waits on a client (here: its queue lock held) must not
 * hold the lock the frame loop needs to stop the capture. The lock stays held
 * until the frame step has returned: with the post inside cap_lock the step
 * could only return once the host took the lock over (after 1 s), and the lock
 * word would be 0 by then. */
static void test_cursor_post_wait_leaves_capture_free(void **state)
{
    struct fixture *f = *state;
    subscribe(f, false, true);
    sg_publisher_frame_step(f->pub, 5);
    assert_true(f->probe->started);
    f->probe->endless = true;
    f->probe->cursor = (struct sg_capture_cursor){.has_position = true, .visible = true, .x = 5, .y = 6};
    uint32_t *lock = queue_field(f, SG_KVMFR_CURSOR_QUEUE_ID, 408);
    uint64_t *subs = (uint64_t *)queue_field(f, SG_KVMFR_CURSOR_QUEUE_ID, 416);
    __atomic_store_n(lock, 1, __ATOMIC_SEQ_CST);
    struct tick_thread t = {.pub = f->pub};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, tick_in_thread, &t), 0);
    /* the tick has its first cursor event: it posts now, and keeps retrying */
    while (atomic_load(&f->probe->cursor_calls) == 0)
        usleep(100);
    /* the client leaves (without the lock it cannot take): the frame loop stops the capture */
    __atomic_store_n(subs, 0, __ATOMIC_SEQ_CST);
    uint64_t t0 = mono_ms();
    sg_publisher_frame_step(f->pub, 5);
    uint64_t took = mono_ms() - t0;
    uint32_t lock_then = __atomic_load_n(lock, __ATOMIC_SEQ_CST);
    bool tick_done = atomic_load(&t.done);
    __atomic_store_n(lock, 0, __ATOMIC_SEQ_CST);
    pthread_join(th, NULL);
    fprintf(stderr, "capture stopped %llu ms into a cursor post's wait\n", (unsigned long long)took);
    assert_false(f->probe->started);
    assert_false(tick_done);
    assert_int_equal(lock_then, 1);
}

/* Same app-data size and region size as the real B7 host that wrote
 * ../shared/fixtures (197 bytes, 16 MiB): the same offsets and sizes. */
static void test_b7_fixture_placement(void **state)
{
    uint8_t *region = mmap(NULL, 16u << 20, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct probe *probe = probe_new();
    probe->base.impl = &probe_impl;
    struct sg_kvmfr_info info;
    sg_host_sysinfo(&info, &probe_impl);
    snprintf(info.capture, sizeof(info.capture), "XCB");
    /* 118 + model + os name = 197 */
    memset(info.cpu_model, 'm', 40);
    info.cpu_model[40] = 0;
    memset(info.os_name, 'o', 39);
    info.os_name[39] = 0;
    struct sg_publisher *pub;
    char err[256];
    assert_int_equal(
        sg_publisher_create(&pub, region, 16u << 20, &probe->base, &info, NULL, err, sizeof(err)), 0);
    struct sg_lgmp_info li;
    assert_int_equal(sg_lgmp_inspect(region, 16u << 20, &li), SG_LGMP_OK);
    assert_int_equal(li.app_data_size, 197);
    assert_int_equal(li.queues[0].queue_id, 2);
    assert_int_equal(li.queues[0].slot_count, 3);
    assert_int_equal(li.queues[1].queue_id, 1);
    assert_int_equal(li.queues[1].slot_count, 21);
    const struct sg_kvmfr_layout *L = sg_publisher_layout(pub);
    assert_int_equal(L->frame_block[0], 3153920);
    assert_int_equal(L->frame_block[1], 9965568);
    assert_int_equal(L->block_size, 6811648);
    /* fb_offset 4092 in both blocks, as in the fixture's frame header */
    uint32_t fb_offset;
    memcpy(&fb_offset, region + 3153920 + 48, 4);
    assert_int_equal(fb_offset, 4092);
    memcpy(&fb_offset, region + 9965568 + 48, 4);
    assert_int_equal(fb_offset, 4092);
    sg_publisher_destroy(pub);
    sg_capture_destroy(&probe->base);
    munmap(region, 16u << 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_capture_only_while_subscribed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_progress_bands, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frame_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_of_two_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_still_repost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_extremes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_posted_without_tick, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_coalesced_while_unread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cmsg_flood, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_stops_with_forged_full_queue, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cursor_post_wait_leaves_capture_free, setup, teardown),
        cmocka_unit_test(test_b7_fixture_placement),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
