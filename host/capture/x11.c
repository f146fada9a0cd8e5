/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * x11: capture an X screen with xcb. MIT-SHM for the pixels, DAMAGE to learn
 * what changed (only those rectangles are fetched), XFIXES for the cursor
 * shape, the root window's ConfigureNotify for size changes.
 *
 * Two connections: the frame thread waits on one, the tick thread reads the
 * cursor on the other, so neither steals the other's events. A connection
 * that breaks (display restarted) is re-opened, and the new screen size
 * simply shows up as a full frame.
 *
 * The pointer by events: XInput2 raw motion selected on the root reaches us
 * whoever holds a grab; each burst of them is followed by one QueryPointer
 * for the place (raw events carry device deltas, not the screen position).
 * The cursor connection's descriptor is what the publisher waits on
 * (cursor_fd), so a move is posted as it happens. Warps by guest programs make
 * no raw motion: a QueryPointer every WARP_POLL_MS catches those. Without
 * XInput2 the pointer is polled on every tick, less often while still.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <time.h>
#include <xcb/damage.h>
#include <xcb/shm.h>
#include <xcb/xinput.h>
#include <xcb/xcb.h>
#include <xcb/xfixes.h>

#include "../capture.h"
#include "kvmfr.h"
#include "sg_time.h"

#define RECONNECT_MS 500
/* Pointer polls: every tick while it moves, then every IDLE_SKIP-th tick. */
#define IDLE_SKIP 5
#define IDLE_AFTER 50
/* With XInput2: how often to look for a pointer warped by a guest program. */
#define WARP_POLL_MS 100
/* Query rounds per next_cursor call while the pointer keeps moving. */
#define MOTION_ROUNDS 4

struct frame_conn {
    xcb_connection_t *c;
    xcb_window_t root;
    uint8_t damage_event;
    xcb_damage_damage_t damage;
    xcb_xfixes_region_t region;
    bool damage_live;
    /* pixels */
    uint32_t w, h;
    uint8_t *img; /* w*h*4: the current image */
    bool use_shm;
    int shmid;
    xcb_shm_seg_t seg;
    uint8_t *shm; /* w*h*4 scratch the server writes into */
    bool have_image;
    bool damage_pending;
};

struct x11 {
    struct sg_capture base;
    char display[128];
    bool started;
    struct frame_conn f;
    uint64_t f_retry_ms;
    /* cursor connection */
    xcb_connection_t *cc;
    xcb_window_t croot;
    uint8_t cursor_event;
    uint8_t xi_opcode;   /* XInputExtension's major opcode, for its GenericEvents */
    bool xi_ok;          /* XInput 2.2 raw motion selected on the root */
    bool motion_pending; /* raw motion (or our warp) since the last QueryPointer */
    uint64_t next_warp_poll_ms;
    uint64_t c_retry_ms;
    bool shape_pending, pos_known;
    bool visible; /* false while the cursor image is fully transparent */
    int32_t last_x, last_y;
    uint32_t idle_ticks, skip;
};

static const struct sg_capture_option x11_options[] = {
    {"display", "", "X display (empty = $DISPLAY, else :0)"},
    {NULL, NULL, NULL},
};

/* xcb_connect is not safe to call from two threads at once: it reads the
 * authority file through libXau, which keeps the file name in a static
 * buffer. The frame thread and the tick both reconnect after the X server
 * restarted, so connections are made one at a time, process-wide. */
static pthread_mutex_t connect_lock = PTHREAD_MUTEX_INITIALIZER;

/* Connect and check what both connections need; NULL with err on failure. */
static xcb_connection_t *x11_connect(const char *display, xcb_window_t *root, uint32_t *w, uint32_t *h,
                                     char *err, size_t err_size)
{
    int screen_num = 0;
    pthread_mutex_lock(&connect_lock);
    xcb_connection_t *c = xcb_connect(display, &screen_num);
    pthread_mutex_unlock(&connect_lock);
    int e = xcb_connection_has_error(c);
    if (e) {
        snprintf(err, err_size, "no X display at %s: cannot connect (xcb error %d)", display, e);
        xcb_disconnect(c);
        return NULL;
    }
    const xcb_setup_t *setup = xcb_get_setup(c);
    xcb_screen_iterator_t it = xcb_setup_roots_iterator(setup);
    for (int i = 0; i < screen_num && it.rem; i++)
        xcb_screen_next(&it);
    if (!it.rem) {
        snprintf(err, err_size, "X display %s: screen %d does not exist", display, screen_num);
        xcb_disconnect(c);
        return NULL;
    }
    xcb_screen_t *s = it.data;
    /* The image must be 32 bits per pixel with red, green, blue in the bytes
     * BGRA expects; anything else would need a conversion we do not have. */
    bool visual_ok = false;
    for (xcb_depth_iterator_t d = xcb_screen_allowed_depths_iterator(s); d.rem; xcb_depth_next(&d)) {
        if (d.data->depth != s->root_depth)
            continue;
        for (xcb_visualtype_iterator_t v = xcb_depth_visuals_iterator(d.data); v.rem; xcb_visualtype_next(&v))
            if (v.data->visual_id == s->root_visual)
                visual_ok =
                    v.data->red_mask == 0xff0000 && v.data->green_mask == 0xff00 && v.data->blue_mask == 0xff;
    }
    bool bpp_ok = false;
    for (xcb_format_iterator_t f = xcb_setup_pixmap_formats_iterator(setup); f.rem; xcb_format_next(&f))
        if (f.data->depth == s->root_depth)
            bpp_ok = f.data->bits_per_pixel == 32;
    if (!visual_ok || !bpp_ok) {
        snprintf(err, err_size,
                 "X display %s: root depth %u is not 32-bit pixels with 8-bit R,G,B (unsupported)", display,
                 s->root_depth);
        xcb_disconnect(c);
        return NULL;
    }
    const char *missing = NULL;
    if (!xcb_get_extension_data(c, &xcb_xfixes_id)->present)
        missing = "XFIXES";
    else if (!xcb_get_extension_data(c, &xcb_damage_id)->present)
        missing = "DAMAGE";
    if (missing) {
        snprintf(err, err_size, "X display %s: the %s extension is missing", display, missing);
        xcb_disconnect(c);
        return NULL;
    }
    free(xcb_xfixes_query_version_reply(c, xcb_xfixes_query_version(c, 4, 0), NULL));
    *root = s->root;
    *w = s->width_in_pixels;
    *h = s->height_in_pixels;
    return c;
}

/* ------------------------------------------------------------------ frames */

static void frame_free_pixels(struct frame_conn *f)
{
    if (f->use_shm && f->c && !xcb_connection_has_error(f->c))
        xcb_shm_detach(f->c, f->seg);
    if (f->shm)
        shmdt(f->shm);
    else
        free(f->img);
    f->shm = NULL;
    f->img = NULL;
    f->use_shm = false;
    f->have_image = false;
}

static void frame_close(struct frame_conn *f)
{
    frame_free_pixels(f);
    if (f->c)
        xcb_disconnect(f->c);
    memset(f, 0, sizeof(*f));
}

/* Buffers for a w x h screen. With MIT-SHM the segment holds the image and,
 * behind it, a scratch area: full-width rectangles land in the image
 * directly, others in the scratch and are copied into place. */
static int frame_alloc_pixels(struct frame_conn *f, char *err, size_t err_size)
{
    size_t bytes = (size_t)f->w * f->h * 4;
    f->have_image = false;
    if (xcb_get_extension_data(f->c, &xcb_shm_id)->present) {
        f->shmid = shmget(IPC_PRIVATE, 2 * bytes, IPC_CREAT | 0600);
        f->shm = f->shmid < 0 ? NULL : shmat(f->shmid, NULL, 0);
        if (f->shm == (void *)-1)
            f->shm = NULL;
        if (f->shm) {
            f->seg = xcb_generate_id(f->c);
            xcb_generic_error_t *e =
                xcb_request_check(f->c, xcb_shm_attach_checked(f->c, f->seg, (uint32_t)f->shmid, 0));
            if (e) {
                /* e.g. a server in another IPC namespace: plain GetImage */
                free(e);
                shmdt(f->shm);
                f->shm = NULL;
            }
        }
        /* the server holds its own attachment now; the id can go */
        if (f->shmid >= 0)
            shmctl(f->shmid, IPC_RMID, NULL);
        if (f->shm) {
            f->use_shm = true;
            f->img = f->shm;
            return 0;
        }
    }
    f->img = malloc(bytes);
    if (!f->img) {
        snprintf(err, err_size, "x11: out of memory for a %ux%u image", f->w, f->h);
        return -1;
    }
    return 0;
}

static int frame_open(struct x11 *x, char *err, size_t err_size)
{
    struct frame_conn *f = &x->f;
    f->c = x11_connect(x->display, &f->root, &f->w, &f->h, err, err_size);
    if (!f->c)
        return -1;
    xcb_damage_query_version_reply_t *dv =
        xcb_damage_query_version_reply(f->c, xcb_damage_query_version(f->c, 1, 1), NULL);
    free(dv);
    f->damage_event = xcb_get_extension_data(f->c, &xcb_damage_id)->first_event;
    uint32_t mask = XCB_EVENT_MASK_STRUCTURE_NOTIFY;
    xcb_change_window_attributes(f->c, f->root, XCB_CW_EVENT_MASK, &mask);
    f->region = xcb_generate_id(f->c);
    xcb_xfixes_create_region(f->c, f->region, 0, NULL);
    if (frame_alloc_pixels(f, err, err_size)) {
        frame_close(f);
        return -1;
    }
    xcb_flush(f->c);
    return 0;
}

static void damage_on(struct frame_conn *f)
{
    if (f->damage_live)
        return;
    f->damage = xcb_generate_id(f->c);
    xcb_damage_create(f->c, f->damage, f->root, XCB_DAMAGE_REPORT_LEVEL_NON_EMPTY);
    f->damage_live = true;
    f->damage_pending = false;
    xcb_flush(f->c);
}

static void damage_off(struct frame_conn *f)
{
    if (!f->damage_live)
        return;
    xcb_damage_destroy(f->c, f->damage);
    xcb_flush(f->c);
    f->damage_live = false;
}

/* Fetch rectangles of the screen into img; 0 or -1 when the connection failed. */
static int frame_grab(struct frame_conn *f, const struct sg_capture_rect *r, uint32_t n)
{
    if (f->use_shm) {
        xcb_shm_get_image_cookie_t ck[SG_CAPTURE_MAX_DAMAGE];
        size_t off[SG_CAPTURE_MAX_DAMAGE], frame = (size_t)f->w * f->h * 4, at = frame;
        /* send every request, then collect: one round trip for all of them */
        for (uint32_t i = 0; i < n; i++) {
            bool in_place = r[i].x == 0 && r[i].w == f->w;
            off[i] = in_place ? (size_t)r[i].y * f->w * 4 : at;
            ck[i] =
                xcb_shm_get_image(f->c, f->root, (int16_t)r[i].x, (int16_t)r[i].y, (uint16_t)r[i].w,
                                  (uint16_t)r[i].h, ~0u, XCB_IMAGE_FORMAT_Z_PIXMAP, f->seg, (uint32_t)off[i]);
            if (!in_place)
                at += (size_t)r[i].w * r[i].h * 4;
        }
        int rc = 0;
        for (uint32_t i = 0; i < n; i++) {
            xcb_shm_get_image_reply_t *rep = xcb_shm_get_image_reply(f->c, ck[i], NULL);
            if (!rep) {
                rc = -1;
                continue;
            }
            free(rep);
            if (off[i] < frame)
                continue; /* landed in place */
            for (uint32_t y = 0; y < r[i].h; y++)
                memcpy(f->img + ((size_t)(r[i].y + y) * f->w + r[i].x) * 4,
                       f->shm + off[i] + (size_t)y * r[i].w * 4, (size_t)r[i].w * 4);
        }
        return rc;
    }
    for (uint32_t i = 0; i < n; i++) {
        xcb_get_image_reply_t *rep =
            xcb_get_image_reply(f->c,
                                xcb_get_image(f->c, XCB_IMAGE_FORMAT_Z_PIXMAP, f->root, (int16_t)r[i].x,
                                              (int16_t)r[i].y, (uint16_t)r[i].w, (uint16_t)r[i].h, ~0u),
                                NULL);
        if (!rep)
            return -1;
        const uint8_t *data = xcb_get_image_data(rep);
        if ((size_t)xcb_get_image_data_length(rep) >= (size_t)r[i].w * r[i].h * 4)
            for (uint32_t y = 0; y < r[i].h; y++)
                memcpy(f->img + ((size_t)(r[i].y + y) * f->w + r[i].x) * 4, data + (size_t)y * r[i].w * 4,
                       (size_t)r[i].w * 4);
        free(rep);
    }
    return 0;
}

/* Take the accumulated damage from the server as a list of rectangles. */
static int frame_take_damage(struct frame_conn *f, struct sg_capture_frame *out)
{
    xcb_damage_subtract(f->c, f->damage, XCB_NONE, f->region);
    xcb_xfixes_fetch_region_reply_t *rep =
        xcb_xfixes_fetch_region_reply(f->c, xcb_xfixes_fetch_region(f->c, f->region), NULL);
    if (!rep)
        return -1;
    xcb_rectangle_t *rects = xcb_xfixes_fetch_region_rectangles(rep);
    int n = xcb_xfixes_fetch_region_rectangles_length(rep);
    out->damage_count = 0;
    for (int i = 0; i < n; i++) {
        if (rects[i].x < 0 || rects[i].y < 0)
            continue; /* the root window never reports these; clip would be wrong */
        struct sg_capture_rect r = {(uint32_t)rects[i].x, (uint32_t)rects[i].y, rects[i].width,
                                    rects[i].height};
        if (sg_capture_rect_clip(&r, f->w, f->h))
            sg_capture_damage_add(out->damage, &out->damage_count, &r);
    }
    free(rep);
    return 0;
}

/* What the cursor connection listens to while capturing: shape changes and
 * raw pointer motion; nothing when stopped (idle costs nothing). */
static void cursor_select(struct x11 *x, bool on)
{
    xcb_xfixes_select_cursor_input(x->cc, x->croot, on ? XCB_XFIXES_CURSOR_NOTIFY_MASK_DISPLAY_CURSOR : 0);
    if (x->xi_ok) {
        struct {
            xcb_input_event_mask_t head;
            uint32_t mask;
        } m = {{XCB_INPUT_DEVICE_ALL_MASTER, 1}, on ? XCB_INPUT_XI_EVENT_MASK_RAW_MOTION : 0};
        xcb_input_xi_select_events(x->cc, x->croot, 1, &m.head);
    }
    xcb_flush(x->cc);
}

static int x11_start(struct sg_capture *cap)
{
    struct x11 *x = (struct x11 *)cap;
    x->started = true;
    if (x->f.c)
        damage_on(&x->f);
    x->f.have_image = false;
    if (x->cc)
        cursor_select(x, true);
    x->shape_pending = true;
    x->pos_known = false;
    x->visible = true;
    return 0;
}

static void x11_stop(struct sg_capture *cap)
{
    struct x11 *x = (struct x11 *)cap;
    x->started = false;
    if (x->f.c && !xcb_connection_has_error(x->f.c))
        damage_off(&x->f);
    if (x->cc && !xcb_connection_has_error(x->cc))
        cursor_select(x, false);
}

/* The frame connection, opened again some time after it was lost.
 * SG_CAPTURE_OK when there is one. */
static enum sg_capture_status frame_connection(struct sg_capture *cap, uint32_t timeout_ms)
{
    struct x11 *x = (struct x11 *)cap;
    struct frame_conn *f = &x->f;
    if (f->c && xcb_connection_has_error(f->c)) {
        /* said once (the publisher logs it); then quietly reconnect */
        sg_capture_set_error(cap, "X display %s: connection lost; reconnecting every %d ms", x->display,
                             RECONNECT_MS);
        frame_close(f);
        x->f_retry_ms = sg_time_ms() + RECONNECT_MS;
        return SG_CAPTURE_ERROR;
    }
    if (!f->c) {
        char err[SG_CAPTURE_ERR_SIZE];
        if (sg_time_ms() < x->f_retry_ms || frame_open(x, err, sizeof(err)) != 0) {
            if (sg_time_ms() >= x->f_retry_ms)
                x->f_retry_ms = sg_time_ms() + RECONNECT_MS;
            sg_sleep_us((uint64_t)(timeout_ms < 100 ? timeout_ms : 100) * 1000);
            return SG_CAPTURE_TIMEOUT;
        }
        if (x->started)
            damage_on(f);
    }
    return SG_CAPTURE_OK;
}

/* Damage notices and root size changes queued on the frame connection. */
static enum sg_capture_status frame_events(struct sg_capture *cap)
{
    struct frame_conn *f = &((struct x11 *)cap)->f;
    xcb_generic_event_t *ev;
    while ((ev = xcb_poll_for_event(f->c))) {
        uint8_t type = ev->response_type & 0x7f;
        if (type == f->damage_event + XCB_DAMAGE_NOTIFY) {
            f->damage_pending = true;
        } else if (type == XCB_CONFIGURE_NOTIFY) {
            xcb_configure_notify_event_t *ce = (xcb_configure_notify_event_t *)ev;
            if (ce->window == f->root && (ce->width != f->w || ce->height != f->h)) {
                char err[SG_CAPTURE_ERR_SIZE];
                frame_free_pixels(f);
                f->w = ce->width;
                f->h = ce->height;
                if (frame_alloc_pixels(f, err, sizeof(err))) {
                    free(ev);
                    sg_capture_set_error(cap, "%s", err);
                    return SG_CAPTURE_ERROR;
                }
            }
        }
        free(ev);
    }
    return SG_CAPTURE_OK;
}

/* The whole screen; damage so far is covered by it. */
static enum sg_capture_status grab_whole(struct frame_conn *f, struct sg_capture_frame *out)
{
    struct sg_capture_rect all = {0, 0, f->w, f->h};
    if (f->damage_live) {
        xcb_damage_subtract(f->c, f->damage, XCB_NONE, XCB_NONE);
        f->damage_pending = false;
    }
    if (frame_grab(f, &all, 1) != 0)
        return SG_CAPTURE_TIMEOUT;
    f->have_image = true;
    out->damage_count = 0;
    return SG_CAPTURE_OK;
}

/* The damaged rectangles, grabbed: 1 when *out holds a frame, 0 when nothing
 * was damaged after all, -1 when a grab failed. */
static int grab_damage(struct frame_conn *f, struct sg_capture_frame *out)
{
    if (frame_take_damage(f, out) != 0)
        return -1;
    if (!out->damage_count)
        return 0;
    uint64_t area = 0;
    for (uint32_t i = 0; i < out->damage_count; i++)
        area += (uint64_t)out->damage[i].w * out->damage[i].h;
    if (area > (uint64_t)f->w * f->h) {
        /* overlapping leftovers of a merge; the scratch holds one
         * screen, so take the whole screen */
        out->damage[0] = (struct sg_capture_rect){0, 0, f->w, f->h};
        out->damage_count = 0;
        return frame_grab(f, &out->damage[0], 1) != 0 ? -1 : 1;
    }
    return frame_grab(f, out->damage, out->damage_count) != 0 ? -1 : 1;
}

static enum sg_capture_status x11_next_frame(struct sg_capture *cap, uint32_t timeout_ms,
                                             struct sg_capture_frame *out)
{
    struct frame_conn *f = &((struct x11 *)cap)->f;
    uint64_t deadline = sg_time_ms() + timeout_ms;
    enum sg_capture_status st = frame_connection(cap, timeout_ms);
    if (st != SG_CAPTURE_OK)
        return st;
    for (;;) {
        if ((st = frame_events(cap)) != SG_CAPTURE_OK)
            return st;
        if (xcb_connection_has_error(f->c))
            return SG_CAPTURE_TIMEOUT; /* reconnect on the next call */
        out->type = SG_FRAME_BGRA;     /* a 24/32-bit TrueColor root: B, G, R, X */
        out->width = f->w;
        out->height = f->h;
        if (!f->have_image)
            return grab_whole(f, out);
        if (f->damage_pending) {
            f->damage_pending = false;
            int got = grab_damage(f, out);
            if (got < 0) {
                /* the damage is gone from the server: the next frame must be whole */
                f->have_image = false;
                return SG_CAPTURE_TIMEOUT;
            }
            if (got > 0)
                return SG_CAPTURE_OK;
        }
        uint64_t now = sg_time_ms();
        if (now >= deadline)
            return SG_CAPTURE_TIMEOUT;
        struct pollfd pfd = {.fd = xcb_get_file_descriptor(f->c), .events = POLLIN};
        if (poll(&pfd, 1, (int)(deadline - now)) == 0)
            return SG_CAPTURE_TIMEOUT;
    }
}

static void x11_copy_rect(struct sg_capture *cap, const struct sg_capture_rect *r, void *dst,
                          size_t dst_pitch)
{
    struct frame_conn *f = &((struct x11 *)cap)->f;
    if (!f->img || r->x + r->w > f->w || r->y + r->h > f->h)
        return;
    sg_capture_copy_image(f->img, (size_t)f->w * 4, r, dst, dst_pitch);
}

/* ------------------------------------------------------------------ cursor */

static void cursor_close(struct x11 *x)
{
    if (x->cc)
        xcb_disconnect(x->cc);
    x->cc = NULL;
}

/* XInput 2.2 (raw events reach root listeners during grabs since 2.1). */
static void cursor_xi_init(struct x11 *x)
{
    x->xi_ok = false;
    const xcb_query_extension_reply_t *ext = xcb_get_extension_data(x->cc, &xcb_input_id);
    if (!ext || !ext->present)
        return;
    xcb_input_xi_query_version_reply_t *v =
        xcb_input_xi_query_version_reply(x->cc, xcb_input_xi_query_version(x->cc, 2, 2), NULL);
    x->xi_ok = v && (v->major_version > 2 || (v->major_version == 2 && v->minor_version >= 1));
    free(v);
    x->xi_opcode = ext->major_opcode;
}

static int cursor_open(struct x11 *x, char *err, size_t err_size)
{
    uint32_t w, h;
    x->cc = x11_connect(x->display, &x->croot, &w, &h, err, err_size);
    if (!x->cc)
        return -1;
    x->cursor_event = xcb_get_extension_data(x->cc, &xcb_xfixes_id)->first_event;
    cursor_xi_init(x);
    if (x->started)
        cursor_select(x, true);
    x->shape_pending = true;
    x->pos_known = false;
    return 0;
}

/* Read every event that has arrived; true if the cursor connection still works. */
static bool cursor_drain(struct x11 *x)
{
    xcb_generic_event_t *ev;
    while ((ev = xcb_poll_for_event(x->cc))) {
        uint8_t type = ev->response_type & 0x7f;
        if (type == x->cursor_event + XCB_XFIXES_CURSOR_NOTIFY)
            x->shape_pending = true;
        else if (type == XCB_GE_GENERIC && x->xi_ok) {
            xcb_ge_generic_event_t *ge = (xcb_ge_generic_event_t *)ev;
            if (ge->extension == x->xi_opcode && ge->event_type == XCB_INPUT_RAW_MOTION)
                x->motion_pending = true;
        }
        free(ev);
    }
    return !xcb_connection_has_error(x->cc);
}

/* The new shape and its position (one GetCursorImage). */
static enum sg_capture_status cursor_shape(struct x11 *x, struct sg_capture_cursor *out, uint8_t *shape,
                                           size_t shape_cap)
{
    x->shape_pending = false;
    xcb_xfixes_get_cursor_image_reply_t *rep =
        xcb_xfixes_get_cursor_image_reply(x->cc, xcb_xfixes_get_cursor_image(x->cc), NULL);
    if (!rep)
        return SG_CAPTURE_NONE;
    uint32_t w = rep->width, h = rep->height;
    const uint32_t *px = xcb_xfixes_get_cursor_image_cursor_image(rep);
    if (w && h && w <= SG_CAPTURE_MAX_CURSOR_DIM && h <= SG_CAPTURE_MAX_CURSOR_DIM &&
        (size_t)w * h * 4 <= shape_cap &&
        (size_t)xcb_xfixes_get_cursor_image_cursor_image_length(rep) >= (size_t)w * h) {
        /* XFixes gives premultiplied ARGB words: in memory exactly the
         * B,G,R,A bytes of the colour type. */
        memcpy(shape, px, (size_t)w * h * 4);
        /* X has no "hidden" state to ask for; programs hide the pointer
         * with a blank cursor, which is what this recognises */
        x->visible = false;
        for (size_t i = 0; i < (size_t)w * h && !x->visible; i++)
            x->visible = px[i] >> 24 != 0;
        out->visible = x->visible;
        out->has_shape = true;
        out->shape_type = SG_CURSOR_COLOR;
        out->width = w;
        out->height = h;
        out->pitch = w * 4;
        out->hot_x = rep->xhot;
        out->hot_y = rep->yhot;
    }
    out->has_position = true;
    out->x = x->last_x = rep->x;
    out->y = x->last_y = rep->y;
    x->pos_known = true;
    x->idle_ticks = 0;
    free(rep);
    return SG_CAPTURE_OK;
}

/* Where the pointer is: SG_CAPTURE_OK when that is a new place. */
static enum sg_capture_status cursor_query(struct x11 *x, struct sg_capture_cursor *out)
{
    xcb_query_pointer_reply_t *qp = xcb_query_pointer_reply(x->cc, xcb_query_pointer(x->cc, x->croot), NULL);
    if (!qp)
        return SG_CAPTURE_NONE;
    int32_t px = qp->root_x, py = qp->root_y;
    free(qp);
    if (x->pos_known && px == x->last_x && py == x->last_y) {
        if (x->idle_ticks <= IDLE_AFTER)
            x->idle_ticks++;
        return SG_CAPTURE_NONE;
    }
    x->idle_ticks = 0;
    x->pos_known = true;
    out->has_position = true;
    out->x = x->last_x = px;
    out->y = x->last_y = py;
    return SG_CAPTURE_OK;
}

static enum sg_capture_status x11_next_cursor(struct sg_capture *cap, struct sg_capture_cursor *out,
                                              uint8_t *shape, size_t shape_cap)
{
    struct x11 *x = (struct x11 *)cap;
    if (!x->started)
        return SG_CAPTURE_NONE;
    if (x->cc && xcb_connection_has_error(x->cc)) {
        cursor_close(x);
        x->c_retry_ms = sg_time_ms() + RECONNECT_MS;
    }
    if (!x->cc) {
        char err[SG_CAPTURE_ERR_SIZE];
        if (sg_time_ms() < x->c_retry_ms)
            return SG_CAPTURE_NONE;
        if (cursor_open(x, err, sizeof(err)) != 0) {
            x->c_retry_ms = sg_time_ms() + RECONNECT_MS;
            return SG_CAPTURE_NONE;
        }
    }
    memset(out, 0, sizeof(*out));
    out->visible = x->visible;
    if (!x->xi_ok) {
        /* No motion events without XInput2: poll the pointer, less often
         * while it stands still. */
        if (!cursor_drain(x))
            return SG_CAPTURE_NONE;
        if (x->shape_pending)
            return cursor_shape(x, out, shape, shape_cap);
        if (!x->motion_pending && x->idle_ticks > IDLE_AFTER && ++x->skip < IDLE_SKIP)
            return SG_CAPTURE_NONE;
        x->skip = 0;
        x->motion_pending = false;
        return cursor_query(x, out);
    }
    /* Every reply read can bring events in with it, so the last thing done
     * before answering NONE is a drain: the descriptor then tells the truth. */
    for (int round = 0; round < MOTION_ROUNDS; round++) {
        if (!cursor_drain(x))
            return SG_CAPTURE_NONE;
        if (x->shape_pending)
            return cursor_shape(x, out, shape, shape_cap);
        uint64_t now = sg_time_ms();
        if (!x->motion_pending && now < x->next_warp_poll_ms)
            return SG_CAPTURE_NONE;
        x->motion_pending = false;
        x->next_warp_poll_ms = now + WARP_POLL_MS;
        if (cursor_query(x, out) == SG_CAPTURE_OK)
            return SG_CAPTURE_OK;
    }
    return SG_CAPTURE_NONE;
}

static int x11_cursor_fd(struct sg_capture *cap)
{
    struct x11 *x = (struct x11 *)cap;
    if (!x->cc || !x->xi_ok || xcb_connection_has_error(x->cc))
        return -1;
    return xcb_get_file_descriptor(x->cc);
}

static int x11_set_cursor_pos(struct sg_capture *cap, int32_t px, int32_t py)
{
    struct x11 *x = (struct x11 *)cap;
    if (!x->cc || xcb_connection_has_error(x->cc))
        return -1;
    /* the client is not trusted: keep the request inside X's 16-bit range */
    px = px < 0 ? 0 : px > INT16_MAX ? INT16_MAX : px;
    py = py < 0 ? 0 : py > INT16_MAX ? INT16_MAX : py;
    xcb_warp_pointer(x->cc, XCB_NONE, x->croot, 0, 0, 0, 0, (int16_t)px, (int16_t)py);
    /* The publisher acknowledges the message when this returns and the client then takes the
     * pointer to be there (spec §7): a round trip makes the server apply the warp first, else
     * input sent right after the acknowledgement (XTest, SPICE) could land at the old place. */
    free(xcb_get_input_focus_reply(x->cc, xcb_get_input_focus(x->cc), NULL));
    /* report where it went at the next look (a warp makes no raw motion) */
    x->idle_ticks = 0;
    x->motion_pending = true;
    return 0;
}

static int x11_create(struct sg_capture **out, const char *const *v, char *err, size_t err_size)
{
    struct x11 *x = calloc(1, sizeof(*x));
    if (!x) {
        snprintf(err, err_size, "x11: out of memory");
        return -1;
    }
    const char *d = v[0][0] ? v[0] : getenv("DISPLAY");
    snprintf(x->display, sizeof(x->display), "%s", d && *d ? d : ":0");
    if (frame_open(x, err, err_size) != 0 || cursor_open(x, err, err_size) != 0) {
        frame_close(&x->f);
        free(x);
        return -1;
    }
    *out = &x->base;
    return 0;
}

static void x11_destroy(struct sg_capture *cap)
{
    struct x11 *x = (struct x11 *)cap;
    frame_close(&x->f);
    cursor_close(x);
    free(x);
}

const struct sg_capture_impl sg_capture_x11 = {
    .name = "x11",
    .label = "X11",
    .help = "an X11 screen through xcb: MIT-SHM, DAMAGE, XFIXES cursor, XInput2 pointer motion",
    .options = x11_options,
    .create = x11_create,
    .start = x11_start,
    .next_frame = x11_next_frame,
    .copy_rect = x11_copy_rect,
    .next_cursor = x11_next_cursor,
    .set_cursor_pos = x11_set_cursor_pos,
    .cursor_fd = x11_cursor_fd,
    .stop = x11_stop,
    .destroy = x11_destroy,
};
