/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The backend registry, the call wrappers and small helpers backends share. */
#include "capture.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct sg_capture_impl *const sg_capture_backends[] = {
#ifdef SG_HAVE_X11
    &sg_capture_x11,
#endif
#ifdef SG_HAVE_KMS
    &sg_capture_kms,
#endif
    &sg_capture_fbdev, &sg_capture_testpattern, NULL,
};

const char *sg_capture_status_str(enum sg_capture_status s)
{
    switch (s) {
    case SG_CAPTURE_OK:
        return "OK";
    case SG_CAPTURE_TIMEOUT:
        return "TIMEOUT";
    case SG_CAPTURE_NONE:
        return "NONE";
    case SG_CAPTURE_ERROR:
        return "ERROR";
    }
    return "unknown capture status";
}

const struct sg_capture_impl *sg_capture_find(const char *name)
{
    for (size_t i = 0; sg_capture_backends[i]; i++)
        if (strcasecmp(sg_capture_backends[i]->name, name) == 0)
            return sg_capture_backends[i];
    return NULL;
}

size_t sg_capture_option_count(const struct sg_capture_impl *impl)
{
    size_t n = 0;
    while (impl->options && impl->options[n].key)
        n++;
    return n;
}

int sg_capture_option_index(const struct sg_capture_impl *impl, const char *key)
{
    for (size_t i = 0; impl->options && impl->options[i].key; i++)
        if (strcasecmp(impl->options[i].key, key) == 0)
            return (int)i;
    return -1;
}

int sg_capture_create(const struct sg_capture_impl *impl, struct sg_capture **out, const char *const *values,
                      char *err, size_t err_size)
{
    *out = NULL;
    if (impl->create(out, values, err, err_size) != 0)
        return -1;
    (*out)->impl = impl;
    return 0;
}

int sg_capture_start(struct sg_capture *cap)
{
    return cap->impl->start(cap);
}

enum sg_capture_status sg_capture_next_frame(struct sg_capture *cap, uint32_t timeout_ms,
                                             struct sg_capture_frame *out)
{
    return cap->impl->next_frame(cap, timeout_ms, out);
}

void sg_capture_copy_rect(struct sg_capture *cap, const struct sg_capture_rect *r, void *dst,
                          size_t dst_pitch)
{
    cap->impl->copy_rect(cap, r, dst, dst_pitch);
}

enum sg_capture_status sg_capture_next_cursor(struct sg_capture *cap, struct sg_capture_cursor *out,
                                              uint8_t *shape, size_t shape_cap)
{
    return cap->impl->next_cursor(cap, out, shape, shape_cap);
}

int sg_capture_set_cursor_pos(struct sg_capture *cap, int32_t x, int32_t y)
{
    if (!cap->impl->set_cursor_pos) {
        sg_capture_set_error(cap, "capture %s cannot move the pointer", cap->impl->name);
        return -1;
    }
    return cap->impl->set_cursor_pos(cap, x, y);
}

bool sg_capture_can_set_cursor_pos(const struct sg_capture_impl *impl)
{
    return impl && impl->set_cursor_pos;
}

int sg_capture_cursor_fd(struct sg_capture *cap)
{
    return cap->impl->cursor_fd ? cap->impl->cursor_fd(cap) : -1;
}

void sg_capture_stop(struct sg_capture *cap)
{
    cap->impl->stop(cap);
}

void sg_capture_destroy(struct sg_capture *cap)
{
    if (cap)
        cap->impl->destroy(cap);
}

void sg_capture_set_error(struct sg_capture *cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cap->err, sizeof(cap->err), fmt, ap);
    va_end(ap);
}

bool sg_capture_rect_clip(struct sg_capture_rect *r, uint32_t w, uint32_t h)
{
    if (r->x >= w || r->y >= h || r->w == 0 || r->h == 0)
        return false;
    if (r->w > w - r->x)
        r->w = w - r->x;
    if (r->h > h - r->y)
        r->h = h - r->y;
    return true;
}

static bool rect_contains(const struct sg_capture_rect *a, const struct sg_capture_rect *b)
{
    return b->x >= a->x && b->y >= a->y && (uint64_t)b->x + b->w <= (uint64_t)a->x + a->w &&
           (uint64_t)b->y + b->h <= (uint64_t)a->y + a->h;
}

static void rect_union(struct sg_capture_rect *a, const struct sg_capture_rect *b)
{
    uint32_t x0 = a->x < b->x ? a->x : b->x, y0 = a->y < b->y ? a->y : b->y;
    uint32_t x1 = a->x + a->w > b->x + b->w ? a->x + a->w : b->x + b->w;
    uint32_t y1 = a->y + a->h > b->y + b->h ? a->y + a->h : b->y + b->h;
    *a = (struct sg_capture_rect){x0, y0, x1 - x0, y1 - y0};
}

void sg_capture_damage_add(struct sg_capture_rect *list, uint32_t *count, const struct sg_capture_rect *r)
{
    if (r->w == 0 || r->h == 0)
        return;
    for (uint32_t i = 0; i < *count; i++) {
        if (rect_contains(&list[i], r))
            return;
        if (rect_contains(r, &list[i])) {
            /* r swallows this one; drop it, then keep checking the rest */
            list[i] = list[--*count];
            i--;
        }
    }
    if (*count < SG_CAPTURE_MAX_DAMAGE) {
        list[(*count)++] = *r;
        return;
    }
    /* Too many pieces: one box that covers them all is still exact enough. */
    for (uint32_t i = 1; i < *count; i++)
        rect_union(&list[0], &list[i]);
    rect_union(&list[0], r);
    *count = 1;
}

void sg_capture_copy_image(const uint8_t *src, size_t src_pitch, const struct sg_capture_rect *r, void *dst,
                           size_t dst_pitch)
{
    uint8_t *d = (uint8_t *)dst + (size_t)r->y * dst_pitch + (size_t)r->x * 4;
    const uint8_t *s = src + (size_t)r->y * src_pitch + (size_t)r->x * 4;
    size_t row = (size_t)r->w * 4;
    if (row == src_pitch && src_pitch == dst_pitch) {
        memcpy(d, s, row * r->h);
        return;
    }
    for (uint32_t y = 0; y < r->h; y++)
        memcpy(d + y * dst_pitch, s + y * src_pitch, row);
}

int sg_capture_parse_uint(const char *key, const char *value, uint32_t max, uint32_t *out, char *err,
                          size_t err_size)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(value, &end, 10);
    if (errno || end == value || *end || value[0] == '-' || v > max) {
        snprintf(err, err_size, "option %s: '%s' is not a whole number between 0 and %u", key, value, max);
        return -1;
    }
    *out = (uint32_t)v;
    return 0;
}
