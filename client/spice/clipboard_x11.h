/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The image half of the client's clipboard on an X11 desktop (SDL2 has a text clipboard only).
 * A thread with its own xcb connection to the client's display:
 *  - sg_clipx_set_image(): the guest copied an image; this module becomes the CLIPBOARD owner
 *    and serves that one image type (and TARGETS) to local programs;
 *  - it watches CLIPBOARD (XFixes): when a local program copies something whose TARGETS hold
 *    image/png and no text type, it fetches the PNG and calls on_local_png (on its thread).
 * Text is left to SDL. Transfers over SG_CLIPX_CHUNK bytes use the ICCCM INCR protocol both
 * ways; images over SG_CLIPX_MAX_BYTES are refused with a message.
 */
#include <stddef.h>
#include <stdint.h>

#define SG_CLIPX_MAX_BYTES (64u << 20)
#define SG_CLIPX_CHUNK (256u << 10)

struct sg_clipx;

struct sg_clipx_callbacks {
    void *opaque;
    /* A local program copied a PNG image (no text). Called on the module's thread. */
    void (*on_local_png)(void *opaque, const uint8_t *data, size_t len);
};

enum sg_clipx_error {
    SG_CLIPX_OK,
    SG_CLIPX_NO_DISPLAY, /* cannot connect to the X display */
    SG_CLIPX_NO_XFIXES,  /* the X server lacks XFIXES (needed to see local copies) */
    SG_CLIPX_NO_THREAD,  /* out of memory or threads */
};
const char *sg_clipx_error_str(enum sg_clipx_error e);

/* display_name NULL = $DISPLAY. On failure returns NULL and sets *err. */
struct sg_clipx *sg_clipx_create(const char *display_name, const struct sg_clipx_callbacks *cb,
                                 enum sg_clipx_error *err);
/* Stops the thread, gives up the selection and frees everything. Accepts NULL. */
void sg_clipx_destroy(struct sg_clipx *c);
/* Own CLIPBOARD with this image (mime "image/png" or "image/bmp"); the bytes are copied. Any thread. */
void sg_clipx_set_image(struct sg_clipx *c, const char *mime, const uint8_t *data, size_t len);
