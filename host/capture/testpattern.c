/* SPDX-License-Identifier: GPL-2.0-or-later */
/* testpattern: a deterministic animated picture and cursor, for tests, benches and the demo. */
#include "testpattern.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "kvmfr.h"
#include "sg_time.h"

static uint32_t tri(uint32_t v, uint32_t m)
{
    if (m == 0)
        return 0;
    v %= 2 * m;
    return v < m ? v : 2 * m - v;
}

struct sg_capture_rect sg_tp_box(uint32_t w, uint32_t h, uint32_t n)
{
    return (struct sg_capture_rect){
        .x = tri(n * 7, w - SG_TP_BOX_W),
        .y = SG_TP_STRIP_H + tri(n * 3, h - SG_TP_BOX_H - SG_TP_STRIP_H),
        .w = SG_TP_BOX_W,
        .h = SG_TP_BOX_H,
    };
}

uint32_t sg_tp_background(uint32_t scene, uint32_t x, uint32_t y)
{
    uint32_t b = (x + scene * 16) & 0xff, g = (y + scene * 8) & 0xff, r = ((x ^ y) + scene * 32) & 0xff;
    return 0xff000000u | r << 16 | g << 8 | b;
}

uint32_t sg_tp_box_colour(uint32_t n)
{
    return 0xff000000u | (0x80u | (n & 0x7f)) << 16 | ((255 - n * 3) & 0xff) << 8 | ((n * 5) & 0xff);
}

static bool in_rect(const struct sg_capture_rect *r, uint32_t x, uint32_t y)
{
    return x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h;
}

void sg_tp_render(uint32_t w, uint32_t h, uint32_t n, const struct sg_capture_rect *r, uint8_t *img,
                  size_t pitch)
{
    struct sg_capture_rect box = sg_tp_box(w, h, n);
    uint32_t scene = n / SG_TP_SCENE, colour = sg_tp_box_colour(n);
    for (uint32_t y = r->y; y < r->y + r->h; y++) {
        uint32_t *row = (uint32_t *)(img + (size_t)y * pitch);
        for (uint32_t x = r->x; x < r->x + r->w; x++) {
            if (y < SG_TP_STRIP_H && x < SG_TP_STRIP_W)
                row[x] = (n >> (31 - x / 4)) & 1 ? 0xffffffffu : 0xff000000u;
            else if (in_rect(&box, x, y))
                row[x] = colour;
            else
                row[x] = sg_tp_background(scene, x, y);
        }
    }
}

void sg_tp_damage(uint32_t w, uint32_t h, uint32_t n, struct sg_capture_rect *list, uint32_t *count)
{
    *count = 0;
    if (n == 0 || n % SG_TP_SCENE == 0)
        return;
    struct sg_capture_rect strip = {0, 0, SG_TP_STRIP_W, SG_TP_STRIP_H};
    struct sg_capture_rect a = sg_tp_box(w, h, n - 1), b = sg_tp_box(w, h, n);
    sg_capture_damage_add(list, count, &strip);
    sg_capture_damage_add(list, count, &a);
    sg_capture_damage_add(list, count, &b);
}

void sg_tp_cursor_pos(uint32_t w, uint32_t h, uint32_t n, int32_t *x, int32_t *y)
{
    *x = (int32_t)tri(n * 5, w - 1);
    *y = (int32_t)tri(n * 3 + h / 3, h - 1);
}

uint32_t sg_tp_cursor_shape(uint32_t n, struct sg_capture_cursor *c, uint8_t *shape)
{
    const uint32_t S = SG_TP_CURSOR_SIZE;
    uint32_t type = (n / SG_TP_SHAPE_PERIOD) % 3;
    c->shape_type = type;
    c->width = S;
    c->hot_x = (int32_t)(type * 3);
    c->hot_y = (int32_t)(type * 2 + 1);
    if (type == SG_CURSOR_MONOCHROME) {
        c->height = 2 * S;
        c->pitch = S / 8;
        memset(shape, 0, (size_t)c->height * c->pitch);
        for (uint32_t y = 0; y < S; y++)
            for (uint32_t x = 0; x < S; x++) {
                /* inside the triangle: black/white checks; a band of inverted
                 * pixels; outside: the screen shows through */
                bool inside = x <= y;
                bool and_bit = !inside || (y >= 20 && y < 24);
                bool xor_bit = inside ? ((x / 4 + y / 4) & 1) || (y >= 20 && y < 24) : false;
                if (and_bit)
                    shape[y * c->pitch + x / 8] |= (uint8_t)(0x80 >> (x % 8));
                if (xor_bit)
                    shape[(y + S) * c->pitch + x / 8] |= (uint8_t)(0x80 >> (x % 8));
            }
    } else {
        c->height = S;
        c->pitch = S * 4;
        for (uint32_t y = 0; y < S; y++)
            for (uint32_t x = 0; x < S; x++) {
                uint8_t *p = shape + y * c->pitch + x * 4;
                if (type == SG_CURSOR_COLOR) {
                    /* premultiplied: colour never exceeds alpha */
                    uint8_t a = x <= y ? (uint8_t)(0xff - x * 4) : 0;
                    p[0] = (uint8_t)(a * y / S);
                    p[1] = (uint8_t)(a * x / S);
                    p[2] = a;
                    p[3] = a;
                } else {
                    bool xor_px = (y / 8) & 1;
                    p[0] = (uint8_t)(x * 8);
                    p[1] = (uint8_t)(y * 8);
                    p[2] = 0xc0;
                    p[3] = xor_px ? 0xff : 0;
                }
            }
    }
    return c->height * c->pitch;
}

/* ------------------------------------------------------------------ backend */

struct tp {
    struct sg_capture base;
    uint32_t w, h, rate, frames;
    uint32_t type; /* the KVMFR frame type img holds */
    uint8_t *img;
    bool started;
    uint32_t n;          /* frame number of the image held in img */
    bool have_frame;     /* img holds frame n */
    uint64_t t0_ns;      /* when frame 0 of this run was due */
    uint32_t run_frames; /* frames produced since start */

    pthread_mutex_t lock; /* guards the cursor state below */
    uint32_t cur_n;
    bool cur_pos_pending, cur_shape_pending;
    bool warped;
    int32_t warp_x, warp_y;
    uint32_t shape_n; /* the frame whose shape was last reported */
    /* Readable while a cursor change waits (cursor_fd): the synthetic pointer
     * is event driven like a real one, so tests without X see that path. */
    int wake_fd;
};

/* Under tp->lock, after setting a pending flag. */
static void cursor_wake(struct tp *tp)
{
    uint64_t one = 1;
    if (tp->wake_fd >= 0 && write(tp->wake_fd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is already non-zero, the publisher will look */
    }
}

static const struct sg_capture_option tp_options[] = {
    {"width", "1280", "frame width in pixels (>= 160)"},
    {"height", "720", "frame height in pixels (>= 120)"},
    {"rate", "30", "frames per second (0 = as fast as asked)"},
    {"frames", "0", "stop animating after this many frames (0 = never)"},
    {"type", "bgra",
     "pixel layout published: bgra, rgba or rgba10 (KVMFR frame types; rgba10 widens each channel to 10 bits "
     "by repeating its top bits, so it shows the same picture)"},
    {NULL, NULL, NULL},
};

/* Rectangle r of img, just rendered as BGRA, into the published type. */
static void to_type(struct tp *tp, const struct sg_capture_rect *r)
{
    if (tp->type == SG_FRAME_BGRA)
        return;
    for (uint32_t y = r->y; y < r->y + r->h; y++) {
        uint32_t *row = (uint32_t *)(tp->img + (size_t)y * tp->w * 4);
        for (uint32_t x = r->x; x < r->x + r->w; x++) {
            uint32_t v = row[x], b = v & 0xff, g = v >> 8 & 0xff, rd = v >> 16 & 0xff;
            if (tp->type == SG_FRAME_RGBA) /* bytes R, G, B, X */
                row[x] = 0xff000000u | b << 16 | g << 8 | rd;
            else /* RGBA10: R bits 0-9, G 10-19, B 20-29 */
                row[x] = 3u << 30 | (b << 2 | b >> 6) << 20 | (g << 2 | g >> 6) << 10 | (rd << 2 | rd >> 6);
        }
    }
}

static void render(struct tp *tp, uint32_t n, const struct sg_capture_rect *r)
{
    sg_tp_render(tp->w, tp->h, n, r, tp->img, (size_t)tp->w * 4);
    to_type(tp, r);
}

static int tp_create(struct sg_capture **out, const char *const *v, char *err, size_t err_size)
{
    uint32_t w, h, rate, frames;
    if (sg_capture_parse_uint("testpattern:width", v[0], SG_KVMFR_MAX_DIMENSION, &w, err, err_size) ||
        sg_capture_parse_uint("testpattern:height", v[1], SG_KVMFR_MAX_DIMENSION, &h, err, err_size) ||
        sg_capture_parse_uint("testpattern:rate", v[2], 10000, &rate, err, err_size) ||
        sg_capture_parse_uint("testpattern:frames", v[3], UINT32_MAX, &frames, err, err_size))
        return -1;
    uint32_t type = strcasecmp(v[4], "bgra") == 0     ? SG_FRAME_BGRA
                    : strcasecmp(v[4], "rgba") == 0   ? SG_FRAME_RGBA
                    : strcasecmp(v[4], "rgba10") == 0 ? SG_FRAME_RGBA10
                                                      : 0;
    if (!type) {
        snprintf(err, err_size, "testpattern:type '%s' is not bgra, rgba or rgba10", v[4]);
        return -1;
    }
    if (w < SG_TP_MIN_W || h < SG_TP_MIN_H) {
        snprintf(err, err_size, "testpattern: %ux%u is too small (at least %ux%u)", w, h, SG_TP_MIN_W,
                 SG_TP_MIN_H);
        return -1;
    }
    struct tp *tp = calloc(1, sizeof(*tp));
    if (!tp || !(tp->img = malloc((size_t)w * h * 4))) {
        free(tp);
        snprintf(err, err_size, "testpattern: out of memory for a %ux%u image", w, h);
        return -1;
    }
    tp->w = w;
    tp->h = h;
    tp->rate = rate;
    tp->frames = frames;
    tp->type = type;
    tp->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    pthread_mutex_init(&tp->lock, NULL);
    *out = &tp->base;
    return 0;
}

static int tp_start(struct sg_capture *cap)
{
    struct tp *tp = (struct tp *)cap;
    tp->started = true;
    tp->run_frames = 0;
    tp->t0_ns = sg_time_ns();
    pthread_mutex_lock(&tp->lock);
    tp->cur_pos_pending = tp->cur_shape_pending = true;
    cursor_wake(tp);
    pthread_mutex_unlock(&tp->lock);
    return 0;
}

static enum sg_capture_status tp_next_frame(struct sg_capture *cap, uint32_t timeout_ms,
                                            struct sg_capture_frame *out)
{
    struct tp *tp = (struct tp *)cap;
    bool first = !tp->have_frame || tp->run_frames == 0;
    uint32_t n = tp->have_frame ? tp->n + 1 : 0;
    if (!first && tp->frames && n >= tp->frames) {
        /* Still screen: nothing new, ever. */
        sg_sleep_ns((int64_t)timeout_ms * 1000000);
        return SG_CAPTURE_TIMEOUT;
    }
    if (first && tp->have_frame)
        n = tp->n; /* restart: show the frame we hold, no animation step */
    if (tp->rate && !first) {
        int64_t due = (int64_t)tp->run_frames * 1000000000 / tp->rate - (int64_t)(sg_time_ns() - tp->t0_ns);
        if (due > (int64_t)timeout_ms * 1000000) {
            sg_sleep_ns((int64_t)timeout_ms * 1000000);
            return SG_CAPTURE_TIMEOUT;
        }
        sg_sleep_ns(due);
    }

    struct sg_capture_rect all = {0, 0, tp->w, tp->h};
    out->type = tp->type;
    out->width = tp->w;
    out->height = tp->h;
    if (first) {
        out->damage_count = 0;
        render(tp, n, &all);
    } else {
        sg_tp_damage(tp->w, tp->h, n, out->damage, &out->damage_count);
        if (out->damage_count == 0)
            render(tp, n, &all);
        for (uint32_t i = 0; i < out->damage_count; i++)
            render(tp, n, &out->damage[i]);
    }
    tp->n = n;
    tp->have_frame = true;
    tp->run_frames++;

    pthread_mutex_lock(&tp->lock);
    if (tp->cur_n != n || first) {
        tp->cur_n = n;
        tp->warped = false;
        tp->cur_pos_pending = true;
        if (n / SG_TP_SHAPE_PERIOD != tp->shape_n / SG_TP_SHAPE_PERIOD)
            tp->cur_shape_pending = true;
        cursor_wake(tp);
    }
    pthread_mutex_unlock(&tp->lock);
    return SG_CAPTURE_OK;
}

static void tp_copy_rect(struct sg_capture *cap, const struct sg_capture_rect *r, void *dst, size_t dst_pitch)
{
    struct tp *tp = (struct tp *)cap;
    sg_capture_copy_image(tp->img, (size_t)tp->w * 4, r, dst, dst_pitch);
}

static enum sg_capture_status tp_next_cursor(struct sg_capture *cap, struct sg_capture_cursor *out,
                                             uint8_t *shape, size_t shape_cap)
{
    struct tp *tp = (struct tp *)cap;
    enum sg_capture_status st = SG_CAPTURE_NONE;
    pthread_mutex_lock(&tp->lock);
    uint64_t count;
    if (tp->wake_fd >= 0 && read(tp->wake_fd, &count, sizeof(count)) < 0) {
        /* EAGAIN: nothing signalled; the flags below decide anyway */
    }
    if (tp->started && (tp->cur_pos_pending || tp->cur_shape_pending)) {
        memset(out, 0, sizeof(*out));
        out->visible = true;
        out->has_position = true;
        if (tp->warped) {
            out->x = tp->warp_x;
            out->y = tp->warp_y;
        } else {
            sg_tp_cursor_pos(tp->w, tp->h, tp->cur_n, &out->x, &out->y);
        }
        if (tp->cur_shape_pending && shape_cap >= SG_TP_CURSOR_SIZE * SG_TP_CURSOR_SIZE * 4) {
            sg_tp_cursor_shape(tp->cur_n, out, shape);
            out->has_shape = true;
            tp->shape_n = tp->cur_n;
        }
        tp->cur_pos_pending = tp->cur_shape_pending = false;
        st = SG_CAPTURE_OK;
    }
    pthread_mutex_unlock(&tp->lock);
    return st;
}

static int tp_set_cursor_pos(struct sg_capture *cap, int32_t x, int32_t y)
{
    struct tp *tp = (struct tp *)cap;
    pthread_mutex_lock(&tp->lock);
    tp->warped = true;
    tp->warp_x = x;
    tp->warp_y = y;
    tp->cur_pos_pending = true;
    cursor_wake(tp);
    pthread_mutex_unlock(&tp->lock);
    return 0;
}

static int tp_cursor_fd(struct sg_capture *cap)
{
    return ((struct tp *)cap)->wake_fd;
}

static void tp_stop(struct sg_capture *cap)
{
    ((struct tp *)cap)->started = false;
}

static void tp_destroy(struct sg_capture *cap)
{
    struct tp *tp = (struct tp *)cap;
    pthread_mutex_destroy(&tp->lock);
    if (tp->wake_fd >= 0)
        close(tp->wake_fd);
    free(tp->img);
    free(tp);
}

const struct sg_capture_impl sg_capture_testpattern = {
    .name = "testpattern",
    .label = "testpattern",
    .help = "a deterministic animated picture and cursor (tests, benchmarks, demo)",
    .options = tp_options,
    .create = tp_create,
    .start = tp_start,
    .next_frame = tp_next_frame,
    .copy_rect = tp_copy_rect,
    .next_cursor = tp_next_cursor,
    .set_cursor_pos = tp_set_cursor_pos,
    .cursor_fd = tp_cursor_fd,
    .stop = tp_stop,
    .destroy = tp_destroy,
};
