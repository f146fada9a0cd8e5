/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Frame messages (kvmfr.md §5): header checks, the progress word and copying
 * pixel rows out as the host publishes them.
 */
#include <string.h>
#include <time.h>

#include "kvmfr_frame.h"
#include "sg_shared.h"

uint32_t sg_kvmfr_bytes_per_texel(uint32_t type)
{
    switch (type) {
    case SG_FRAME_BGRA:
    case SG_FRAME_RGBA:
    case SG_FRAME_RGBA10:
    case SG_FRAME_BGR_32:
        return 4;
    case SG_FRAME_RGBA16F:
        return 8;
    case SG_FRAME_RGB_24:
        return 3;
    default:
        return 0;
    }
}

const char *sg_kvmfr_frame_type_str(uint32_t type)
{
    switch (type) {
    case SG_FRAME_BGRA:
        return "BGRA";
    case SG_FRAME_RGBA:
        return "RGBA";
    case SG_FRAME_RGBA10:
        return "RGBA10";
    case SG_FRAME_RGBA16F:
        return "RGBA16F";
    case SG_FRAME_BGR_32:
        return "BGR_32";
    case SG_FRAME_RGB_24:
        return "RGB_24";
    default:
        return "INVALID";
    }
}

static bool dim_ok(uint32_t v)
{
    return v != 0 && v <= SG_KVMFR_MAX_DIMENSION;
}

enum sg_kvmfr_status sg_kvmfr_frame_read(const void *payload, uint32_t payload_size,
                                         struct sg_kvmfr_frame *out)
{
    memset(out, 0, sizeof *out);
    if (!payload || payload_size < SG_KVMFR_FRAME_HEADER_SIZE)
        return SG_KVMFR_PAYLOAD_TOO_SMALL;
    struct sg_kvmfr_wire_frame *h = &out->hdr;
    sg_copy_from_shared(h, payload, sizeof *h);

    uint32_t bpt = sg_kvmfr_bytes_per_texel(h->type);
    if (!bpt)
        return SG_KVMFR_BAD_FRAME_TYPE;
    if (!dim_ok(h->screen_width) || !dim_ok(h->screen_height) || !dim_ok(h->data_width) ||
        !dim_ok(h->data_height) || !dim_ok(h->frame_width) || !dim_ok(h->frame_height))
        return SG_KVMFR_BAD_DIMENSIONS;
    /* Rows can only be missing (TRUNCATED); packed 24-bit data is measured in
     * texels and may be wider than the frame for tiny widths (64-texel rounding). */
    if (h->data_height > h->frame_height || (h->type != SG_FRAME_BGR_32 && h->data_width > h->frame_width))
        return SG_KVMFR_BAD_DIMENSIONS;
    if ((uint64_t)h->data_width * bpt > h->pitch || h->stride != h->pitch / bpt)
        return SG_KVMFR_BAD_PITCH;
    if (h->fb_offset < SG_KVMFR_FRAME_HEADER_SIZE || h->fb_offset % 4 != 0 ||
        ((uintptr_t)payload + h->fb_offset) % 4 != 0 || !sg_range_ok(h->fb_offset, 4, payload_size))
        return SG_KVMFR_BAD_FB_OFFSET;
    uint64_t data_size = (uint64_t)h->data_height * h->pitch;
    if (!sg_range_ok((uint64_t)h->fb_offset + 4, data_size, payload_size))
        return SG_KVMFR_FRAME_OUTSIDE_PAYLOAD;
    if (h->damage_count > SG_KVMFR_MAX_DAMAGE_RECTS)
        return SG_KVMFR_BAD_DAMAGE_COUNT;
    for (uint32_t i = 0; i < h->damage_count; i++) {
        const struct sg_kvmfr_wire_rect *r = &h->damage[i];
        if (!sg_range_ok(r->x, r->width, h->frame_width) || !sg_range_ok(r->y, r->height, h->frame_height))
            return SG_KVMFR_BAD_DAMAGE_RECT;
    }

    out->bytes_per_texel = bpt;
    out->data_size = data_size;
    out->rotation = h->rotation <= 3 ? h->rotation : 0;
    out->progress_offset = h->fb_offset;
    out->data_offset = h->fb_offset + 4;
    return SG_KVMFR_OK;
}

void sg_kvmfr_progress_store(uint32_t *word, uint32_t bytes)
{
    __atomic_store_n(word, bytes, __ATOMIC_RELEASE);
}

uint32_t sg_kvmfr_progress_load(const uint32_t *word)
{
    return __atomic_load_n(word, __ATOMIC_ACQUIRE);
}

static void poll_pause(uint32_t poll_ns)
{
    if (poll_ns) {
        struct timespec ts = {.tv_sec = poll_ns / 1000000000u, .tv_nsec = poll_ns % 1000000000u};
        nanosleep(&ts, NULL);
    } else {
        __builtin_ia32_pause();
    }
}

/* Waits until the word is >= needed; *seen gets the last value loaded. Each
 * poll also spends one of *budget (the whole copy's), if given. */
static enum sg_kvmfr_status wait_seen(const uint32_t *word, uint32_t needed, uint32_t max_polls,
                                      uint32_t poll_ns, uint32_t *budget, uint32_t *seen)
{
    uint32_t v = sg_kvmfr_progress_load(word);
    for (uint32_t i = 0; v < needed && i < max_polls && (!budget || *budget); i++) {
        if (budget)
            --*budget;
        poll_pause(poll_ns);
        v = sg_kvmfr_progress_load(word);
    }
    *seen = v;
    return v >= needed ? SG_KVMFR_OK : SG_KVMFR_FB_TIMEOUT;
}

/* Damage rectangle [x, x+w) in frame pixels -> texel columns of the data. */
static void damage_columns(const struct sg_kvmfr_frame *f, const struct sg_kvmfr_wire_rect *r, uint32_t *x0,
                           uint32_t *x1)
{
    uint64_t a = r->x, b = (uint64_t)r->x + r->width;
    if (f->hdr.type == SG_FRAME_BGR_32) { /* 3 bytes per pixel packed in 4-byte texels */
        a = a * 3 / 4;
        b = (b * 3 + 3) / 4;
    }
    if (b > f->hdr.data_width)
        b = f->hdr.data_width;
    if (a > b)
        a = b;
    *x0 = (uint32_t)a;
    *x1 = (uint32_t)b;
}

enum sg_kvmfr_status sg_kvmfr_frame_copy_budget(const void *payload, const struct sg_kvmfr_frame *f,
                                                void *dst, size_t dst_pitch, bool only_damage,
                                                uint32_t max_polls, uint32_t poll_ns, uint32_t budget_polls,
                                                uint32_t *rows_done)
{
    uint32_t *budget = &budget_polls;
    const uint8_t *data = (const uint8_t *)payload + f->data_offset;
    const uint32_t *word = (const uint32_t *)((const uint8_t *)payload + f->progress_offset);
    uint8_t *out = dst;
    uint32_t pitch = f->hdr.pitch, rows = f->hdr.data_height;
    size_t row_bytes = (size_t)f->hdr.data_width * f->bytes_per_texel;
    uint32_t seen = 0, done_rows = 0;
    enum sg_kvmfr_status st = SG_KVMFR_OK;

    if (rows_done)
        *rows_done = 0;
    if (dst_pitch < row_bytes)
        return SG_KVMFR_BUFFER_TOO_SMALL;

    if (only_damage && f->hdr.damage_count > 0) {
        for (uint32_t i = 0; i < f->hdr.damage_count && st == SG_KVMFR_OK; i++) {
            const struct sg_kvmfr_wire_rect *r = &f->hdr.damage[i];
            uint32_t x0, x1;
            damage_columns(f, r, &x0, &x1);
            uint32_t y1 = r->y + r->height > rows ? rows : r->y + r->height;
            size_t off = (size_t)x0 * f->bytes_per_texel, len = (size_t)(x1 - x0) * f->bytes_per_texel;
            for (uint32_t y = r->y; y < y1 && len; y++) {
                uint32_t need = (uint32_t)((uint64_t)y * pitch + off + len);
                if (seen < need &&
                    (st = wait_seen(word, need, max_polls, poll_ns, budget, &seen)) != SG_KVMFR_OK)
                    break;
                memcpy(out + (size_t)y * dst_pitch + off, data + (size_t)y * pitch + off, len);
            }
        }
        if (rows_done)
            *rows_done = st == SG_KVMFR_OK ? rows : (pitch ? (uint32_t)(seen / pitch) : 0);
        return st;
    }

    if (dst_pitch == pitch) {
        /* One linear copy, in 1 MiB steps as the host publishes them. */
        uint32_t total = (uint32_t)f->data_size, done = 0;
        while (done < total) {
            uint32_t need = total - done > SG_KVMFR_FB_CHUNK ? done + SG_KVMFR_FB_CHUNK : total;
            if (seen < need)
                st = wait_seen(word, need, max_polls, poll_ns, budget, &seen);
            /* on a timeout still take what did arrive */
            uint32_t upto = seen < total ? seen : total;
            if (upto > done) {
                memcpy(out + done, data + done, upto - done);
                done = upto;
            }
            if (st != SG_KVMFR_OK)
                break;
        }
        done_rows = pitch ? done / pitch : 0;
    } else {
        for (uint32_t y = 0; y < rows; y++) {
            uint32_t need = (uint32_t)((uint64_t)y * pitch + row_bytes);
            if (seen < need && (st = wait_seen(word, need, max_polls, poll_ns, budget, &seen)) != SG_KVMFR_OK)
                break;
            memcpy(out + (size_t)y * dst_pitch, data + (size_t)y * pitch, row_bytes);
            done_rows = y + 1;
        }
    }
    if (rows_done)
        *rows_done = done_rows;
    return st;
}

enum sg_kvmfr_status sg_kvmfr_frame_copy(const void *payload, const struct sg_kvmfr_frame *f, void *dst,
                                         size_t dst_pitch, bool only_damage, uint32_t *rows_done)
{
    return sg_kvmfr_frame_copy_budget(payload, f, dst, dst_pitch, only_damage, SG_KVMFR_FB_POLL_LIMIT, 1000,
                                      UINT32_MAX, rows_done);
}

void sg_kvmfr_frame_write(void *payload, const struct sg_kvmfr_wire_frame *hdr)
{
    uint8_t *p = payload;
    uint32_t n =
        hdr->damage_count < SG_KVMFR_MAX_DAMAGE_RECTS ? hdr->damage_count : SG_KVMFR_MAX_DAMAGE_RECTS;
    /* Everything up to fb_offset, then damage_count, the valid rects and flags (B7 leaves the rest). */
    memcpy(p, hdr, offsetof(struct sg_kvmfr_wire_frame, fb_offset));
    memcpy(p + offsetof(struct sg_kvmfr_wire_frame, damage_count), &hdr->damage_count, 4);
    memcpy(p + offsetof(struct sg_kvmfr_wire_frame, damage), hdr->damage, n * sizeof hdr->damage[0]);
    memcpy(p + offsetof(struct sg_kvmfr_wire_frame, flags), &hdr->flags, 4);
}

void sg_kvmfr_frame_init_block(void *payload, uint32_t fb_offset)
{
    uint8_t *p = payload;
    memset(p, 0, SG_KVMFR_FRAME_HEADER_SIZE);
    memcpy(p + offsetof(struct sg_kvmfr_wire_frame, fb_offset), &fb_offset, 4);
    sg_kvmfr_progress_store((uint32_t *)(p + fb_offset), 0);
}
