/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The capture interface: one struct of function pointers per backend
 * (testpattern, x11, kms, fbdev), one file per backend under capture/.
 *
 * Frames are captured in two steps, like kvmfr.md §5.7 wants them: next_frame
 * reports that a new image exists (its size and what changed), the publisher
 * then posts the frame header and asks copy_rect for the pixels of the
 * rectangles its buffer is missing, band by band, raising the progress word
 * as rows land. The backend keeps the current image; copy_rect never blocks.
 *
 * Threads: each member says its Context. In short: next_frame and copy_rect
 * run on the publisher's frame thread, next_cursor and set_cursor_pos on its
 * tick thread, and the two pairs may run at the same time, so a backend guards
 * whatever state both pairs touch. start and stop run on the frame thread
 * while the caller holds its capture lock, which the tick thread also holds
 * around next_cursor and set_cursor_pos. create and destroy run with no other
 * call in flight.
 *
 * The cursor is event driven where the backend can be: cursor_fd gives a
 * descriptor that becomes readable when next_cursor has something new, and
 * the publisher posts a move as soon as it happens instead of on its tick.
 *
 * Every member is required (none may be NULL) except options, cursor_fd and
 * set_cursor_pos; a backend without a cursor (fbdev) implements next_cursor to
 * return SG_CAPTURE_NONE. A backend that cannot move the pointer (kms: the
 * compositor owns it; fbdev: there is none) leaves set_cursor_pos NULL, and
 * the host then does not advertise SET_CURSOR_POS (kvmfr.md §3.2 feature bit
 * 0): a host must not claim a placement it cannot make, or the client would
 * take the acknowledgement for a placed cursor and never correct it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SG_CAPTURE_MAX_DAMAGE 64u
#define SG_CAPTURE_ERR_SIZE 256u
/* Larger than any real cursor; the KVMFR shape buffer holds 1 MiB. */
#define SG_CAPTURE_MAX_CURSOR_DIM 512u

enum sg_capture_status {
    SG_CAPTURE_OK = 0,
    SG_CAPTURE_TIMEOUT, /* next_frame: nothing new within the timeout */
    SG_CAPTURE_NONE,    /* next_cursor: no event pending */
    SG_CAPTURE_ERROR,   /* cap->err says what */
};
const char *sg_capture_status_str(enum sg_capture_status s);

struct sg_capture_rect {
    uint32_t x, y, w, h;
};

/* A new frame. */
struct sg_capture_frame {
    /* The pixel layout, a KVMFR frame type (kvmfr.md §5.3) with one pixel per
     * texel: SG_FRAME_BGRA (bytes B, G, R, X: what x11, fbdev and testpattern
     * give), SG_FRAME_RGBA or SG_FRAME_RGBA10 (kms, whatever the scan-out
     * holds); not BGR_32. copy_rect writes rows of this layout, and the
     * publisher sends it as the frame's type. A change of type is a new
     * format, like a change of size. The 4th byte (2 bits) is not alpha. */
    uint32_t type;
    uint32_t width, height;
    /* Rectangles changed since the previous next_frame (clipped to the frame).
     * 0 = the whole frame changed (first frame after start, size change, or
     * more changes than fit). */
    uint32_t damage_count;
    struct sg_capture_rect damage[SG_CAPTURE_MAX_DAMAGE];
};

/* A cursor event. Coordinates are guest screen pixels. */
struct sg_capture_cursor {
    bool has_position;
    int32_t x, y; /* hotspot position */
    bool visible;
    bool has_shape;      /* a new shape was written into the caller's buffer */
    uint32_t shape_type; /* SG_CURSOR_COLOR / MONOCHROME / MASKED_COLOR (kvmfr.h) */
    uint32_t width;      /* pixels */
    uint32_t height;     /* data rows (twice the visible height for monochrome) */
    uint32_t pitch;      /* bytes per data row */
    int32_t hot_x, hot_y;
};

/* An option a backend understands; --help lists them with their defaults. */
struct sg_capture_option {
    const char *key;
    const char *def;
    const char *help;
};

struct sg_capture;

struct sg_capture_impl {
    const char *name;                        /* what -c selects: "testpattern" */
    const char *label;                       /* the VM-info capture name (kvmfr.md §3.2): "X11" */
    const char *help;                        /* one line for --help */
    const struct sg_capture_option *options; /* terminated by a NULL key; NULL: no options */

    /* Check the backend can run (display reachable, device readable, ...).
     * values[i] is the value of options[i] (never NULL). On failure return
     * -1 with one line in err: "no X display at :0: ...".
     * Context: main thread, before the publisher's threads start. */
    int (*create)(struct sg_capture **out, const char *const *values, char *err, size_t err_size);
    /* Begin capturing (a client subscribed). The first next_frame after start
     * reports the whole frame, with damage_count 0.
     * Context: frame thread, under the caller's capture lock. */
    int (*start)(struct sg_capture *cap);
    /* Wait up to timeout_ms for a new image.
     * Context: frame thread; may run beside next_cursor/set_cursor_pos. */
    enum sg_capture_status (*next_frame)(struct sg_capture *cap, uint32_t timeout_ms,
                                         struct sg_capture_frame *out);
    /* Copy rectangle r of the current image into dst, an image of the same
     * size and type whose row 0 starts at dst with dst_pitch bytes per row.
     * Context: frame thread, after next_frame returned OK; may run beside
     * next_cursor/set_cursor_pos. */
    void (*copy_rect)(struct sg_capture *cap, const struct sg_capture_rect *r, void *dst, size_t dst_pitch);
    /* Non-blocking: the next cursor event, the shape (if any) written to
     * shape (shape_cap bytes, at least 512*512*4).
     * Context: tick thread, under the caller's capture lock, only between
     * start and stop; may run beside next_frame/copy_rect. */
    enum sg_capture_status (*next_cursor)(struct sg_capture *cap, struct sg_capture_cursor *out,
                                          uint8_t *shape, size_t shape_cap);
    /* Optional (NULL: the backend cannot move the pointer; see above).
     * Put the hotspot at (x, y); 0 on success, -1 on failure (logged by the caller).
     * Context: tick thread, under the caller's capture lock; may run beside
     * next_frame/copy_rect. */
    int (*set_cursor_pos)(struct sg_capture *cap, int32_t x, int32_t y);
    /* Optional (NULL: the publisher asks next_cursor on every tick). A
     * descriptor that polls readable while next_cursor may have news; once
     * next_cursor has returned SG_CAPTURE_NONE it stays quiet until something
     * new happens. -1 when there is none right now (it may change, e.g. after
     * a reconnect: asked again before every wait). While the descriptor is
     * -1 the publisher falls back to its tick.
     * Context: tick thread, under the caller's capture lock (the descriptor
     * is polled outside it, by that same thread). */
    int (*cursor_fd)(struct sg_capture *cap);
    /* No client left: stop spending anything on capture.
     * Context: frame thread, under the caller's capture lock; or the main
     * thread once the publisher's other threads have ended. */
    void (*stop)(struct sg_capture *cap);
    /* Context: main thread, with no other call in flight. */
    void (*destroy)(struct sg_capture *cap);
};

/* Every backend's state starts with this. */
struct sg_capture {
    const struct sg_capture_impl *impl;
    char err[SG_CAPTURE_ERR_SIZE]; /* the last runtime error */
};

/* ---------------------------------------------------------------- registry */

/* NULL-terminated list of the backends built in. */
extern const struct sg_capture_impl *const sg_capture_backends[];
const struct sg_capture_impl *sg_capture_find(const char *name); /* case-insensitive */
/* The option index of key in impl, or -1. */
int sg_capture_option_index(const struct sg_capture_impl *impl, const char *key);
size_t sg_capture_option_count(const struct sg_capture_impl *impl);

/* Wrappers (destroy accepts NULL). */
int sg_capture_create(const struct sg_capture_impl *impl, struct sg_capture **out, const char *const *values,
                      char *err, size_t err_size);
int sg_capture_start(struct sg_capture *cap);
enum sg_capture_status sg_capture_next_frame(struct sg_capture *cap, uint32_t timeout_ms,
                                             struct sg_capture_frame *out);
void sg_capture_copy_rect(struct sg_capture *cap, const struct sg_capture_rect *r, void *dst,
                          size_t dst_pitch);
enum sg_capture_status sg_capture_next_cursor(struct sg_capture *cap, struct sg_capture_cursor *out,
                                              uint8_t *shape, size_t shape_cap);
/* -1 when the backend cannot move the pointer (set_cursor_pos NULL). */
int sg_capture_set_cursor_pos(struct sg_capture *cap, int32_t x, int32_t y);
/* Whether the backend can move the pointer: the host advertises SET_CURSOR_POS only then. */
bool sg_capture_can_set_cursor_pos(const struct sg_capture_impl *impl);
int sg_capture_cursor_fd(struct sg_capture *cap); /* -1 when the backend has none */
void sg_capture_stop(struct sg_capture *cap);
void sg_capture_destroy(struct sg_capture *cap);

/* Helpers for backends. */
void sg_capture_set_error(struct sg_capture *cap, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Clip r to w x h; false if nothing is left. */
bool sg_capture_rect_clip(struct sg_capture_rect *r, uint32_t w, uint32_t h);
/* Add r to a damage list; past SG_CAPTURE_MAX_DAMAGE the list becomes one
 * bounding box. count 0 on entry means empty here (callers track "whole"). */
void sg_capture_damage_add(struct sg_capture_rect *list, uint32_t *count, const struct sg_capture_rect *r);
/* Copy rectangle r of an image of 4-byte pixels (src, src_pitch) to the same
 * place in dst; whole rows of equal pitch go in one memcpy. */
void sg_capture_copy_image(const uint8_t *src, size_t src_pitch, const struct sg_capture_rect *r, void *dst,
                           size_t dst_pitch);
/* Parse a non-negative integer option; -1 with err naming key and value. */
int sg_capture_parse_uint(const char *key, const char *value, uint32_t max, uint32_t *out, char *err,
                          size_t err_size);

/* The backends. */
extern const struct sg_capture_impl sg_capture_testpattern;
extern const struct sg_capture_impl sg_capture_fbdev;
#ifdef SG_HAVE_X11
extern const struct sg_capture_impl sg_capture_x11;
#endif
#ifdef SG_HAVE_KMS
extern const struct sg_capture_impl sg_capture_kms;
#endif
