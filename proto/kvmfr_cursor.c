/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cursor messages (kvmfr.md §6).
 */
#include <string.h>

#include "kvmfr_cursor.h"
#include "sg_shared.h"

/* Bytes a row needs at least, for a shape type and width. */
static uint64_t min_pitch(uint32_t type, uint32_t width)
{
    return type == SG_CURSOR_MONOCHROME ? ((uint64_t)width + 7) / 8 : (uint64_t)width * 4;
}

enum sg_kvmfr_status sg_kvmfr_cursor_shape_check(uint32_t type, uint32_t width, uint32_t rows, uint32_t pitch,
                                                 uint64_t data_size)
{
    if (type > SG_CURSOR_MASKED_COLOR)
        return SG_KVMFR_BAD_CURSOR_TYPE;
    bool mono = type == SG_CURSOR_MONOCHROME;
    uint64_t size = (uint64_t)rows * pitch;
    if (width == 0 || rows == 0 || width > SG_KVMFR_CURSOR_MAX_DIM ||
        rows > (mono ? 2u : 1u) * SG_KVMFR_CURSOR_MAX_DIM || (mono && rows % 2 != 0) ||
        pitch < min_pitch(type, width) || size > SG_KVMFR_CURSOR_MAX_SHAPE_BYTES)
        return SG_KVMFR_BAD_CURSOR_SIZE;
    if (size > data_size)
        return SG_KVMFR_CURSOR_OUTSIDE_PAYLOAD;
    return SG_KVMFR_OK;
}

enum sg_kvmfr_status sg_kvmfr_cursor_read(const void *payload, uint32_t payload_size, uint32_t flags,
                                          uint8_t *copy_buf, size_t copy_buf_size,
                                          struct sg_kvmfr_cursor *out)
{
    memset(out, 0, sizeof *out);
    if (!payload || payload_size < SG_KVMFR_CURSOR_HEADER_SIZE)
        return SG_KVMFR_PAYLOAD_TOO_SMALL;
    if (!copy_buf || copy_buf_size < SG_KVMFR_CURSOR_HEADER_SIZE)
        return SG_KVMFR_BUFFER_TOO_SMALL;
    sg_copy_from_shared(copy_buf, payload, SG_KVMFR_CURSOR_HEADER_SIZE);
    struct sg_kvmfr_wire_cursor h;
    memcpy(&h, copy_buf, sizeof h);

    out->flags = flags;
    out->x = h.x;
    out->y = h.y;
    if (!(flags & SG_CURSOR_FLAG_SHAPE))
        return SG_KVMFR_OK;

    enum sg_kvmfr_status st = sg_kvmfr_cursor_shape_check(h.shape_type, h.width, h.height, h.pitch,
                                                          payload_size - SG_KVMFR_CURSOR_HEADER_SIZE);
    if (st != SG_KVMFR_OK)
        return st;
    uint64_t size = (uint64_t)h.height * h.pitch;
    if (copy_buf_size - SG_KVMFR_CURSOR_HEADER_SIZE < size)
        return SG_KVMFR_BUFFER_TOO_SMALL;
    sg_copy_from_shared(copy_buf + SG_KVMFR_CURSOR_HEADER_SIZE,
                        (const uint8_t *)payload + SG_KVMFR_CURSOR_HEADER_SIZE, (size_t)size);

    out->shape_type = h.shape_type;
    out->hot_x = h.hot_x;
    out->hot_y = h.hot_y;
    out->width = h.width;
    out->data_rows = h.height;
    out->height = h.shape_type == SG_CURSOR_MONOCHROME ? h.height / 2 : h.height;
    out->pitch = h.pitch;
    out->shape = copy_buf + SG_KVMFR_CURSOR_HEADER_SIZE;
    out->shape_size = (uint32_t)size;
    return SG_KVMFR_OK;
}

static void put(uint8_t *px, uint8_t r, uint8_t g, uint8_t b, uint8_t a)
{
    px[0] = r;
    px[1] = g;
    px[2] = b;
    px[3] = a;
}

/* The one decoder of shape pixels. over: premultiplied RGBA drawn with
 * alpha blending; xor_px (optional): the colour XORed with the screen
 * (white = invert, zero = unchanged); invert (optional): 1 where xor_px is
 * non-zero. Monochrome (AND=1, XOR=1) and masked colour (M != 0) XOR. */
static enum sg_kvmfr_status decode_pixels(const struct sg_kvmfr_cursor *c, uint8_t *over, uint8_t *xor_px,
                                          uint8_t *invert, size_t pixels_cap, bool *has_xor)
{
    if (!c->shape)
        return SG_KVMFR_BAD_CURSOR_TYPE;
    /* c may be built by hand rather than by sg_kvmfr_cursor_read: check it the same way */
    enum sg_kvmfr_status st =
        sg_kvmfr_cursor_shape_check(c->shape_type, c->width, c->data_rows, c->pitch, c->shape_size);
    if (st != SG_KVMFR_OK)
        return st == SG_KVMFR_CURSOR_OUTSIDE_PAYLOAD ? SG_KVMFR_BAD_CURSOR_SIZE : st;
    if (c->height != (c->shape_type == SG_CURSOR_MONOCHROME ? c->data_rows / 2 : c->data_rows))
        return SG_KVMFR_BAD_CURSOR_SIZE;
    if ((uint64_t)c->width * c->height > pixels_cap)
        return SG_KVMFR_BUFFER_TOO_SMALL;

    bool any_xor = false;
    for (uint32_t y = 0; y < c->height; y++) {
        const uint8_t *row = c->shape + (size_t)y * c->pitch;
        for (uint32_t x = 0; x < c->width; x++) {
            size_t i = (size_t)y * c->width + x;
            uint8_t *px = over + i * 4;
            uint8_t xr = 0, xg = 0, xb = 0;
            if (c->shape_type == SG_CURSOR_COLOR) {
                /* B, G, R, A; B7 composites it as premultiplied already */
                const uint8_t *s = row + (size_t)x * 4;
                put(px, s[2], s[1], s[0], s[3]);
            } else if (c->shape_type == SG_CURSOR_MONOCHROME) {
                const uint8_t *xor_row = c->shape + (size_t)(y + c->height) * c->pitch;
                uint8_t bit = (uint8_t)(0x80u >> (x % 8));
                bool and_bit = row[x / 8] & bit, xor_bit = xor_row[x / 8] & bit;
                uint8_t v = xor_bit ? 255 : 0;
                if (!and_bit) {
                    put(px, v, v, v, 255); /* black or white */
                } else {
                    put(px, 0, 0, 0, 0); /* screen kept, or inverted */
                    xr = xg = xb = v;
                }
            } else {
                /* B, G, R, M: M = 0 opaque colour, else XOR with the screen */
                const uint8_t *s = row + (size_t)x * 4;
                if (s[3] == 0) {
                    put(px, s[2], s[1], s[0], 255);
                } else {
                    put(px, 0, 0, 0, 0);
                    xr = s[2], xg = s[1], xb = s[0];
                }
            }
            bool x_on = (xr | xg | xb) != 0;
            any_xor |= x_on;
            if (xor_px)
                put(xor_px + i * 4, xr, xg, xb, 0);
            if (invert)
                invert[i] = x_on;
        }
    }
    if (has_xor)
        *has_xor = any_xor;
    return SG_KVMFR_OK;
}

enum sg_kvmfr_status sg_kvmfr_cursor_decode(const struct sg_kvmfr_cursor *c, uint8_t *rgba, uint8_t *invert,
                                            size_t pixels_cap)
{
    return decode_pixels(c, rgba, NULL, invert, pixels_cap, NULL);
}

enum sg_kvmfr_status sg_kvmfr_cursor_decode_xor(const struct sg_kvmfr_cursor *c, uint8_t *over,
                                                uint8_t *xor_px, size_t pixels_cap, bool *has_xor)
{
    return decode_pixels(c, over, xor_px, NULL, pixels_cap, has_xor);
}

void sg_kvmfr_cursor_write(void *payload, const struct sg_kvmfr_wire_cursor *hdr)
{
    memcpy(payload, hdr, sizeof *hdr);
}
