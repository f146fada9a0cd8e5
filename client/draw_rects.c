/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "draw_rects.h"

#include <math.h>

bool sg_draw_cursor_rect(const struct sg_render_scene *s, struct sg_render_rect *out)
{
    if (!s->cursor_visible)
        return false;
    double x0 = floor(s->cur_x) - 1, y0 = floor(s->cur_y) - 1;
    double x1 = ceil(s->cur_x + s->cur_w) + 1, y1 = ceil(s->cur_y + s->cur_h) + 1;
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > s->fb_w ? s->fb_w : x1;
    y1 = y1 > s->fb_h ? s->fb_h : y1;
    if (x1 <= x0 || y1 <= y0)
        return false;
    *out = (struct sg_render_rect){(uint32_t)x0, (uint32_t)y0, (uint32_t)(x1 - x0), (uint32_t)(y1 - y0)};
    return true;
}

bool sg_draw_rects_merge_nearby(struct sg_render_rect *a, const struct sg_render_rect *b)
{
    uint32_t x0 = a->x < b->x ? a->x : b->x, y0 = a->y < b->y ? a->y : b->y;
    uint32_t x1 = a->x + a->w > b->x + b->w ? a->x + a->w : b->x + b->w;
    uint32_t y1 = a->y + a->h > b->y + b->h ? a->y + a->h : b->y + b->h;
    uint64_t both = (uint64_t)a->w * a->h + (uint64_t)b->w * b->h;
    if ((uint64_t)(x1 - x0) * (y1 - y0) > both + both / 2)
        return false;
    *a = (struct sg_render_rect){x0, y0, x1 - x0, y1 - y0};
    return true;
}
