/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "graphs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GAP 6u /* between panels */
#define BG_ALPHA 170u
#define REF_MS 16.7 /* a grey line at one 60 Hz refresh */

const uint8_t sg_graph_colour[SG_GRAPH_COUNT][3] = {
    {0x40, 0xa0, 0xff}, /* frame interval: blue */
    {0x30, 0xe0, 0x30}, /* frame age: green */
    {0xff, 0xc0, 0x20}, /* cursor age: amber */
    {0xff, 0x50, 0xd0}, /* render: magenta */
    {0x20, 0xe0, 0xe0}, /* audio buffer: cyan */
};

static const char *const names[SG_GRAPH_COUNT] = {"frame interval", "frame age", "cursor age", "render",
                                                  "audio buffer"};

struct series {
    uint64_t t[SG_GRAPHS_SAMPLES];
    float ms[SG_GRAPHS_SAMPLES];
    uint32_t head, n; /* ring: the newest at head - 1 */
};

struct sg_graphs {
    struct series s[SG_GRAPH_COUNT];
};

struct sg_graphs *sg_graphs_create(void)
{
    return calloc(1, sizeof(struct sg_graphs));
}

void sg_graphs_destroy(struct sg_graphs *g)
{
    free(g);
}

void sg_graphs_add(struct sg_graphs *g, enum sg_graph which, uint64_t t_ns, double ms)
{
    if (!g || which >= SG_GRAPH_COUNT)
        return;
    struct series *s = &g->s[which];
    s->t[s->head] = t_ns;
    s->ms[s->head] = (float)ms;
    s->head = (s->head + 1) % SG_GRAPHS_SAMPLES;
    if (s->n < SG_GRAPHS_SAMPLES)
        s->n++;
}

static void put(uint8_t *img, uint32_t w, uint32_t x, uint32_t y, const uint8_t rgb[3], uint8_t a)
{
    uint8_t *p = img + ((size_t)y * w + x) * 4;
    p[0] = (uint8_t)(rgb[0] * a / 255); /* premultiplied */
    p[1] = (uint8_t)(rgb[1] * a / 255);
    p[2] = (uint8_t)(rgb[2] * a / 255);
    p[3] = a;
}

/* Copy a premultiplied RGBA image into img at (x, y), clipped. */
static void blit(uint8_t *img, uint32_t w, uint32_t h, uint32_t x, uint32_t y, const uint8_t *src,
                 uint32_t sw, uint32_t sh)
{
    for (uint32_t r = 0; r < sh && y + r < h; r++) {
        uint32_t n = x + sw <= w ? sw : w - x;
        memcpy(img + ((size_t)(y + r) * w + x) * 4, src + (size_t)r * sw * 4, (size_t)n * 4);
    }
}

bool sg_graphs_render(struct sg_graphs *g, struct sg_overlay *ov, uint64_t now_ns, uint8_t **rgba,
                      uint32_t *w, uint32_t *h)
{
    /* labels first: their height sets the layout */
    uint8_t *label[SG_GRAPH_COUNT] = {0};
    uint32_t lw[SG_GRAPH_COUNT] = {0}, lh[SG_GRAPH_COUNT] = {0}, label_h = 0;
    double scale[SG_GRAPH_COUNT];
    bool shown[SG_GRAPH_COUNT];
    uint32_t panels = 0;
    for (int i = 0; i < SG_GRAPH_COUNT; i++) {
        const struct series *s = &g->s[i];
        double max = 0, last = 0;
        bool any = false;
        for (uint32_t k = 0; k < s->n; k++) {
            uint32_t j = (s->head + SG_GRAPHS_SAMPLES - 1 - k) % SG_GRAPHS_SAMPLES;
            if (now_ns - s->t[j] > SG_GRAPHS_SPAN_NS)
                break;
            if (!any)
                last = s->ms[j];
            any = true;
            max = s->ms[j] > max ? s->ms[j] : max;
        }
        /* The video graphs always (a dash when idle); the sound's only while it plays. */
        shown[i] = any || i != SG_GRAPH_AUDIO;
        if (!shown[i])
            continue;
        panels++;
        /* a scale of whole 10 ms steps, at least 20 ms, that fits the highest bar */
        scale[i] = max > 20 ? ceil(max / 10) * 10 : 20;
        char text[128];
        if (any)
            snprintf(text, sizeof(text), "%-14s %6.2f ms  max %6.2f  (0-%.0f)", names[i], last, max,
                     scale[i]);
        else
            snprintf(text, sizeof(text), "%-14s      -", names[i]);
        if (ov && sg_overlay_render(ov, text, &label[i], &lw[i], &lh[i]))
            label_h = lh[i] > label_h ? lh[i] : label_h;
    }
    uint32_t W = SG_GRAPHS_WIDTH, panel = label_h + SG_GRAPHS_PLOT_H;
    for (int i = 0; i < SG_GRAPH_COUNT; i++)
        W = lw[i] > W ? lw[i] : W;
    uint32_t H = panels * panel + (panels - 1) * GAP;
    uint8_t *img = calloc((size_t)W * H, 4);
    if (!img) {
        for (int i = 0; i < SG_GRAPH_COUNT; i++)
            free(label[i]);
        return false;
    }
    static const uint8_t black[3] = {0, 0, 0}, grey[3] = {0x80, 0x80, 0x80};
    for (int i = 0, row = 0; i < SG_GRAPH_COUNT; i++) {
        if (!shown[i])
            continue;
        uint32_t y0 = (uint32_t)row++ * (panel + GAP);
        if (label[i]) {
            blit(img, W, H, 0, y0, label[i], lw[i], lh[i]);
            free(label[i]);
        }
        uint32_t py = y0 + label_h; /* plot: W x SG_GRAPHS_PLOT_H, time left to right */
        for (uint32_t y = 0; y < SG_GRAPHS_PLOT_H; y++)
            for (uint32_t x = 0; x < W; x++)
                put(img, W, x, py + y, black, BG_ALPHA);
        uint32_t ref = (uint32_t)(REF_MS / scale[i] * SG_GRAPHS_PLOT_H);
        if (ref > 0 && ref < SG_GRAPHS_PLOT_H)
            for (uint32_t x = 0; x < W; x += 2)
                put(img, W, x, py + SG_GRAPHS_PLOT_H - 1 - ref, grey, 255);
        const struct series *s = &g->s[i];
        for (uint32_t k = 0; k < s->n; k++) {
            uint32_t j = (s->head + SG_GRAPHS_SAMPLES - 1 - k) % SG_GRAPHS_SAMPLES;
            uint64_t age = now_ns - s->t[j];
            if (age > SG_GRAPHS_SPAN_NS)
                break;
            uint32_t x = W - 1 - (uint32_t)(age * (W - 1) / SG_GRAPHS_SPAN_NS);
            uint32_t bar = (uint32_t)ceil(s->ms[j] / scale[i] * SG_GRAPHS_PLOT_H);
            bar = bar < 1 ? 1 : bar > SG_GRAPHS_PLOT_H ? SG_GRAPHS_PLOT_H : bar;
            for (uint32_t y = 0; y < bar; y++)
                put(img, W, x, py + SG_GRAPHS_PLOT_H - 1 - y, sg_graph_colour[i], 255);
        }
    }
    *rgba = img;
    *w = W;
    *h = H;
    return true;
}
