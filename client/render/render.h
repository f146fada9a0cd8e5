/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The renderer interface: what the viewer needs from a graphics backend.
 * One struct of function pointers; render/gl.c is the OpenGL 3.3 core /
 * OpenGL ES 3 backend.
 *
 * Every member is required (none may be NULL). Every call happens on the
 * client's main thread, the SDL event loop (client/app.c), with the window's
 * context current: a backend needs no locks, and nothing else may call it
 * (the session thread hands frames and cursors to the main thread instead).
 * Each member's Context line says when in the loop it is called.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sg_renderer;

struct sg_render_rect {
    uint32_t x, y, w, h;
};

/* Overlay layers, drawn in this order over frame and cursor. */
enum sg_render_layer {
    SG_LAYER_STATUS,
    SG_LAYER_STATS,
    SG_LAYER_GRAPHS,
    SG_LAYER_HELP,
    SG_LAYER_INDICATOR,
    SG_LAYER_COUNT
};

struct sg_render_scene {
    int fb_w, fb_h; /* drawable size in pixels */
    bool have_frame;
    double dst_x, dst_y, dst_w, dst_h; /* frame rectangle in drawable pixels, top-left origin */
    int rotation;                      /* quarter turns clockwise */
    bool linear;                       /* linear filtering (else nearest) */
    bool dim;                          /* darken the frame (host gone: the last frame stays with a notice) */
    bool cursor_visible;               /* draw the cursor quad */
    double cur_x, cur_y, cur_w, cur_h; /* cursor image rectangle in drawable pixels */
    struct {
        bool visible;
        int x, y; /* top-left in drawable pixels */
    } layer[SG_LAYER_COUNT];
    /* nclip > 0: draw only inside these rectangles (drawable pixels, top-left
     * origin); the rest of the framebuffer is left as it is. */
    const struct sg_render_rect *clip;
    unsigned nclip;
};

struct sg_render_impl {
    const char *name;
    /* With the context current. Returns NULL and a message in err on failure.
     * Context: main thread, once the window exists. */
    struct sg_renderer *(*create)(bool gles, char *err, size_t err_size);
    /* NULL ok. Context: main thread, before the window goes. */
    void (*destroy)(struct sg_renderer *r);
    /* "OpenGL 3.3 (Core Profile) Mesa ...", for the log and overlay.
     * Context: main thread, any time after create. */
    const char *(*describe)(struct sg_renderer *r);

    /* (Re)create the frame texture for a KVMFR frame type: width x height
     * pixels, rows of data_width texels (the same number except for the
     * packed BGR_32, whose texels hold 4/3 of a pixel each). False (message in
     * err naming the type) for unsupported types.
     * Context: main thread, when a frame of a new type or size arrives. */
    bool (*frame_configure)(struct sg_renderer *r, uint32_t type, uint32_t width, uint32_t height,
                            uint32_t data_width, char *err, size_t err_size);
    /* A CPU-writable staging buffer (a mapped pixel-buffer object) for the
     * whole frame's data, rows of *pitch bytes. NULL on failure.
     * Context: main thread, after frame_configure; paired with frame_unmap. */
    void *(*frame_map)(struct sg_renderer *r, size_t *pitch);
    /* Unmap and upload the given rectangles (in pixels) from the staging
     * buffer (n == 0: everything).
     * Context: main thread, after frame_map. */
    void (*frame_unmap)(struct sg_renderer *r, const struct sg_render_rect *rects, unsigned n);

    /* New cursor shape: `over` premultiplied RGBA drawn with alpha blending,
     * `xor` RGBA XORed with the screen (zero = no change), w*h each.
     * Context: main thread, when the session reports a new shape. */
    bool (*cursor_shape)(struct sg_renderer *r, uint32_t w, uint32_t h, const uint8_t *over,
                         const uint8_t *xor_px, bool has_xor);
    /* New overlay layer image (premultiplied RGBA, tightly packed).
     * Context: main thread, when an overlay's text changes. */
    void (*layer_image)(struct sg_renderer *r, enum sg_render_layer layer, uint32_t w, uint32_t h,
                        const uint8_t *rgba);

    /* Draw the scene into the current framebuffer (no swap).
     * Context: main thread, once per redraw, before the swap. */
    void (*draw)(struct sg_renderer *r, const struct sg_render_scene *s);
    /* Wait until the GPU finished everything submitted (glFinish).
     * Context: main thread, after draw and the swap, when a frame's latency is measured. */
    void (*finish)(struct sg_renderer *r);
    /* The current guest frame as 8-bit RGBA, unrotated, top row first (w*h*4
     * bytes from malloc). False when there is no frame.
     * Context: main thread, for a screenshot. */
    bool (*read_frame)(struct sg_renderer *r, uint8_t **rgba, uint32_t *w, uint32_t *h);
};

extern const struct sg_render_impl sg_render_gl;
