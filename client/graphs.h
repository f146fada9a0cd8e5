/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Latency graphs for the statistics overlay: the last few seconds of frame
 * interval, frame age when drawn, cursor age when drawn and render time, and,
 * while the guest's sound plays, the sound buffer's latency, as bars over
 * time. Rasterised here into an RGBA image that the renderer shows as an
 * overlay layer, like the text boxes (no UI toolkit).
 */
#include <stdbool.h>
#include <stdint.h>

#include "overlay.h"

enum sg_graph {
    SG_GRAPH_FRAME_INTERVAL, /* between two frames received */
    SG_GRAPH_FRAME_AGE,      /* frame received -> drawn */
    SG_GRAPH_CURSOR_AGE,     /* cursor update received -> drawn */
    SG_GRAPH_RENDER,         /* one draw and present */
    SG_GRAPH_AUDIO,          /* latency each guest sound block found buffered; shown only while sound plays */
    SG_GRAPH_COUNT
};

#define SG_GRAPHS_SPAN_NS 5000000000ull /* what the graphs show */
#define SG_GRAPHS_SAMPLES 2048u         /* per graph; older samples drop out */
#define SG_GRAPHS_WIDTH 300u            /* least plot width in pixels (the labels may widen it) */
#define SG_GRAPHS_PLOT_H 40u

/* Opaque bar colours (RGB), so tests can find them in a screenshot. */
extern const uint8_t sg_graph_colour[SG_GRAPH_COUNT][3];

struct sg_graphs;

struct sg_graphs *sg_graphs_create(void);
void sg_graphs_destroy(struct sg_graphs *g);
void sg_graphs_add(struct sg_graphs *g, enum sg_graph which, uint64_t t_ns, double ms);
/* The graphs with a label line each (text from ov; without one, no labels), as
 * premultiplied RGBA from malloc. The audio graph only when it has samples in
 * the span: the sound is playing. */
bool sg_graphs_render(struct sg_graphs *g, struct sg_overlay *ov, uint64_t now_ns, uint8_t **rgba,
                      uint32_t *w, uint32_t *h);
