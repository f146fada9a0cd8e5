/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Image clipboard on the client's X display (see clipboard_x11.h). Everything X happens on the
 * module's thread; other threads only hand over an image and wake it with a ClientMessage. */
#include "clipboard_x11.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xcb/xcb.h>
#include <xcb/xfixes.h>

#include "sg_log.h"

enum {
    A_CLIPBOARD,
    A_TARGETS,
    A_TIMESTAMP,
    A_INCR,
    A_PNG,
    A_BMP,
    A_PROP0,
    A_PROP1,
    A_PROP2,
    A_PROP3,
    A_STAMP,
    A_WAKE,
    A_UTF8,
    A_TEXT,
    A_PLAIN,
    A_PLAIN_UTF8,
    A_COMPOUND, /* text types: SDL handles those copies */
    A_COUNT
};
static const char *const atom_names[A_COUNT] = {
    "CLIPBOARD",
    "TARGETS",
    "TIMESTAMP",
    "INCR",
    "image/png",
    "image/bmp",
    "SPYGLASS_CLIPX0",
    "SPYGLASS_CLIPX1",
    "SPYGLASS_CLIPX2",
    "SPYGLASS_CLIPX3",
    "SPYGLASS_CLIPX_STAMP",
    "SPYGLASS_CLIPX_WAKE",
    "UTF8_STRING",
    "TEXT",
    "text/plain",
    "text/plain;charset=utf-8",
    "COMPOUND_TEXT",
};

/* An image served to requestors; shared by the selection and INCR transfers still running. */
struct blob {
    int refs;
    xcb_atom_t type;
    size_t len;
    uint8_t data[];
};

/* One INCR transfer to a local program: the next piece goes when it deletes the property. */
struct outgoing {
    struct blob *blob; /* NULL = slot free */
    xcb_window_t win;
    xcb_atom_t prop;
    size_t off;
};

enum in_state { IN_IDLE, IN_TARGETS, IN_IMAGE, IN_INCR };

struct sg_clipx {
    xcb_connection_t *conn;
    xcb_window_t win;
    xcb_atom_t a[A_COUNT];
    uint8_t xfixes_event;
    struct sg_clipx_callbacks cb;
    pthread_t thread;

    pthread_mutex_t mu; /* guards pending, has_pending, quit */
    struct blob *pending;
    bool has_pending;
    bool quit;

    /* Module thread only. */
    struct blob *owned; /* what we serve as the CLIPBOARD owner, or NULL */
    xcb_timestamp_t owned_since;
    struct blob *to_own; /* waiting for a server timestamp to become the owner with */
    enum in_state in;
    uint8_t *in_buf;
    size_t in_len;
    bool in_too_big;
    unsigned in_pieces;      /* INCR pieces of the image being fetched */
    xcb_timestamp_t in_time; /* when the owner we fetch from took CLIPBOARD */
    /* Each fetch uses the next of 4 properties: an older owner still sending an INCR
     * transfer into its property can then never overwrite the current fetch's data. */
    unsigned in_prop; /* 0..3, offset from A_PROP0 */
    struct outgoing out[4];
    bool debug; /* SPYGLASS_CLIPBOARD_DEBUG=1: log each transfer */
};

const char *sg_clipx_error_str(enum sg_clipx_error e)
{
    switch (e) {
    case SG_CLIPX_OK:
        return "ok";
    case SG_CLIPX_NO_DISPLAY:
        return "cannot connect to the X display";
    case SG_CLIPX_NO_XFIXES:
        return "the X server has no XFIXES extension";
    case SG_CLIPX_NO_THREAD:
        return "cannot start the clipboard thread";
    }
    return "?";
}

static void blob_unref(struct blob *b)
{
    if (b && --b->refs == 0)
        free(b);
}

static void wake(struct sg_clipx *c)
{
    xcb_client_message_event_t ev = {
        .response_type = XCB_CLIENT_MESSAGE,
        .format = 32,
        .window = c->win,
        .type = c->a[A_WAKE],
    };
    /* An empty event mask sends the event to the window's creator: us. */
    xcb_send_event(c->conn, 0, c->win, XCB_EVENT_MASK_NO_EVENT, (const char *)&ev);
    xcb_flush(c->conn);
}

/* ------------------------------------------------------------ module thread */

static void reset_incoming(struct sg_clipx *c)
{
    free(c->in_buf);
    c->in_buf = NULL;
    c->in_len = 0;
    c->in_too_big = false;
    c->in_pieces = 0;
    c->in = IN_IDLE;
}

/* Reads and deletes our property (deleting is what drives an INCR sender). */
static xcb_atom_t fetch_prop(const struct sg_clipx *c)
{
    return c->a[A_PROP0 + c->in_prop];
}

static xcb_get_property_reply_t *take_property(struct sg_clipx *c)
{
    xcb_get_property_cookie_t ck = xcb_get_property(c->conn, 1, c->win, fetch_prop(c),
                                                    XCB_GET_PROPERTY_TYPE_ANY, 0, SG_CLIPX_MAX_BYTES / 4 + 1);
    return xcb_get_property_reply(c->conn, ck, NULL);
}

static void deliver(struct sg_clipx *c)
{
    if (c->in_too_big)
        LOG_I("clipboard: a local program copied an image larger than %u MiB; not offered to the guest",
              SG_CLIPX_MAX_BYTES >> 20);
    else if (c->in_len && c->cb.on_local_png)
        c->cb.on_local_png(c->cb.opaque, c->in_buf, c->in_len);
    if (c->debug && !c->in_too_big)
        LOG_I("clipboard: fetched a local image/png of %zu bytes (%u INCR pieces)", c->in_len, c->in_pieces);
    reset_incoming(c);
}

static void append(struct sg_clipx *c, const void *data, size_t n)
{
    if (c->in_too_big || !n)
        return;
    uint8_t *grown = n <= SG_CLIPX_MAX_BYTES - c->in_len ? realloc(c->in_buf, c->in_len + n) : NULL;
    if (!grown) {
        c->in_too_big = true;
        return;
    }
    c->in_buf = grown;
    memcpy(c->in_buf + c->in_len, data, n);
    c->in_len += n;
}

static void on_targets(struct sg_clipx *c)
{
    xcb_get_property_reply_t *r = take_property(c);
    bool png = false, text = false;
    if (r && r->format == 32) {
        const xcb_atom_t *t = xcb_get_property_value(r);
        int n = xcb_get_property_value_length(r) / 4;
        for (int i = 0; i < n; i++) {
            png |= t[i] == c->a[A_PNG];
            text |= t[i] == XCB_ATOM_STRING;
            for (int k = A_UTF8; k < A_COUNT; k++)
                text |= t[i] == c->a[k];
        }
    }
    free(r);
    if (png && !text) {
        xcb_convert_selection(c->conn, c->win, c->a[A_CLIPBOARD], c->a[A_PNG], fetch_prop(c), c->in_time);
        xcb_flush(c->conn);
        c->in = IN_IMAGE;
    } else {
        c->in = IN_IDLE;
    }
}

static void on_image(struct sg_clipx *c)
{
    xcb_get_property_reply_t *r = take_property(c);
    if (!r) {
        reset_incoming(c);
        return;
    }
    if (r->type == c->a[A_INCR]) {
        c->in = IN_INCR; /* the owner now writes pieces; each PropertyNotify brings one */
    } else {
        if (r->bytes_after)
            c->in_too_big = true;
        else
            append(c, xcb_get_property_value(r), (size_t)xcb_get_property_value_length(r));
        deliver(c);
    }
    free(r);
}

static void on_incr_piece(struct sg_clipx *c)
{
    xcb_get_property_reply_t *r = take_property(c);
    if (!r) {
        reset_incoming(c);
        return;
    }
    int n = xcb_get_property_value_length(r);
    if (n == 0)
        deliver(c); /* a zero-length piece ends the transfer */
    else
        append(c, xcb_get_property_value(r), (size_t)n);
    c->in_pieces += n > 0;
    free(r);
}

static void send_notify(struct sg_clipx *c, const xcb_selection_request_event_t *rq, xcb_atom_t prop)
{
    xcb_selection_notify_event_t ev = {
        .response_type = XCB_SELECTION_NOTIFY,
        .time = rq->time,
        .requestor = rq->requestor,
        .selection = rq->selection,
        .target = rq->target,
        .property = prop,
    };
    xcb_send_event(c->conn, 0, rq->requestor, XCB_EVENT_MASK_NO_EVENT, (const char *)&ev);
}

#define N_OUT (sizeof(((struct sg_clipx *)0)->out) / sizeof(((struct sg_clipx *)0)->out[0]))

/* Ends transfers to this window (and property, unless XCB_ATOM_ANY); stops watching the window when none is
 * left. */
static void drop_outgoing(struct sg_clipx *c, xcb_window_t win, xcb_atom_t prop, bool window_gone)
{
    bool still = false;
    for (size_t i = 0; i < N_OUT; i++) {
        struct outgoing *o = &c->out[i];
        if (!o->blob || o->win != win)
            continue;
        if (prop == XCB_ATOM_ANY || o->prop == prop) {
            blob_unref(o->blob);
            o->blob = NULL;
        } else {
            still = true;
        }
    }
    if (!still && !window_gone) {
        uint32_t none = 0;
        xcb_change_window_attributes(c->conn, win, XCB_CW_EVENT_MASK, &none);
    }
}

static bool start_incr(struct sg_clipx *c, xcb_window_t win, xcb_atom_t prop)
{
    /* A requestor asking again into the same property gave up on the earlier transfer. */
    for (size_t i = 0; i < N_OUT; i++)
        if (c->out[i].blob && c->out[i].win == win && c->out[i].prop == prop) {
            blob_unref(c->out[i].blob);
            c->out[i].blob = NULL;
        }
    for (size_t i = 0; i < N_OUT; i++) {
        struct outgoing *o = &c->out[i];
        if (o->blob)
            continue;
        o->blob = c->owned;
        o->blob->refs++;
        o->win = win;
        o->prop = prop;
        o->off = 0;
        /* Deletions drive the transfer; DestroyNotify frees the slot of a requestor that died. */
        uint32_t mask = XCB_EVENT_MASK_PROPERTY_CHANGE | XCB_EVENT_MASK_STRUCTURE_NOTIFY;
        xcb_change_window_attributes(c->conn, win, XCB_CW_EVENT_MASK, &mask);
        uint32_t len = (uint32_t)c->owned->len;
        xcb_change_property(c->conn, XCB_PROP_MODE_REPLACE, win, prop, c->a[A_INCR], 32, 1, &len);
        return true;
    }
    LOG_I("clipboard: too many image pastes at once (%zu); one refused", N_OUT);
    return false;
}

static void on_request(struct sg_clipx *c, const xcb_selection_request_event_t *rq)
{
    xcb_atom_t prop = rq->property != XCB_ATOM_NONE ? rq->property : rq->target;
    xcb_atom_t answer = XCB_ATOM_NONE;
    /* ICCCM: a request older than our ownership is for an earlier owner. */
    bool current = rq->time == XCB_CURRENT_TIME || (int32_t)(rq->time - c->owned_since) >= 0;
    if (c->owned && current && rq->selection == c->a[A_CLIPBOARD]) {
        if (rq->target == c->a[A_TARGETS]) {
            xcb_atom_t targets[] = {c->a[A_TARGETS], c->a[A_TIMESTAMP], c->owned->type};
            xcb_change_property(c->conn, XCB_PROP_MODE_REPLACE, rq->requestor, prop, XCB_ATOM_ATOM, 32, 3,
                                targets);
            answer = prop;
        } else if (rq->target == c->a[A_TIMESTAMP]) {
            xcb_change_property(c->conn, XCB_PROP_MODE_REPLACE, rq->requestor, prop, XCB_ATOM_INTEGER, 32, 1,
                                &c->owned_since);
            answer = prop;
        } else if (rq->target == c->owned->type) {
            if (c->owned->len <= SG_CLIPX_CHUNK) {
                xcb_change_property(c->conn, XCB_PROP_MODE_REPLACE, rq->requestor, prop, c->owned->type, 8,
                                    (uint32_t)c->owned->len, c->owned->data);
                answer = prop;
                if (c->debug)
                    LOG_I("clipboard: served %zu bytes to window 0x%x at once", c->owned->len, rq->requestor);
            } else if (start_incr(c, rq->requestor, prop)) {
                answer = prop;
            }
        }
    }
    send_notify(c, rq, answer);
    xcb_flush(c->conn);
}

static void on_requestor_deleted(struct sg_clipx *c, const xcb_property_notify_event_t *pn)
{
    for (size_t i = 0; i < N_OUT; i++) {
        struct outgoing *o = &c->out[i];
        if (!o->blob || o->win != pn->window || o->prop != pn->atom)
            continue;
        size_t n = o->blob->len - o->off;
        if (n > SG_CLIPX_CHUNK)
            n = SG_CLIPX_CHUNK;
        /* The last piece is empty: it tells the requestor the transfer is over. */
        xcb_change_property(c->conn, XCB_PROP_MODE_REPLACE, o->win, o->prop, o->blob->type, 8, (uint32_t)n,
                            o->blob->data + o->off);
        o->off += n;
        if (n == 0) {
            if (c->debug)
                LOG_I("clipboard: served %zu bytes to window 0x%x in INCR pieces of up to %u", o->blob->len,
                      o->win, SG_CLIPX_CHUNK);
            drop_outgoing(c, o->win, o->prop, false);
        }
        xcb_flush(c->conn);
        return;
    }
}

static void on_wake(struct sg_clipx *c)
{
    pthread_mutex_lock(&c->mu);
    struct blob *b = c->pending;
    bool got = c->has_pending;
    c->pending = NULL;
    c->has_pending = false;
    pthread_mutex_unlock(&c->mu);
    if (!got)
        return;
    /* ICCCM wants the owner to name a real server time: an empty append to our own window
     * brings one back in a PropertyNotify (on_stamp). */
    blob_unref(c->to_own);
    c->to_own = b;
    xcb_change_property(c->conn, XCB_PROP_MODE_APPEND, c->win, c->a[A_STAMP], XCB_ATOM_INTEGER, 32, 0, NULL);
    xcb_flush(c->conn);
}

static void on_stamp(struct sg_clipx *c, xcb_timestamp_t t)
{
    if (!c->to_own)
        return;
    blob_unref(c->owned);
    c->owned = c->to_own;
    c->to_own = NULL;
    c->owned_since = t;
    xcb_set_selection_owner(c->conn, c->win, c->a[A_CLIPBOARD], t);
    xcb_flush(c->conn);
}

static void on_owner_changed(struct sg_clipx *c, const xcb_xfixes_selection_notify_event_t *sn)
{
    if (sn->selection != c->a[A_CLIPBOARD] || sn->owner == c->win)
        return;
    /* Someone else copied: ask what it offers. A fetch still running is for an older copy. */
    reset_incoming(c);
    if (sn->owner == XCB_WINDOW_NONE)
        return;
    c->in_time = sn->selection_timestamp;
    c->in_prop = (c->in_prop + 1) % 4;
    xcb_convert_selection(c->conn, c->win, c->a[A_CLIPBOARD], c->a[A_TARGETS], fetch_prop(c), c->in_time);
    xcb_flush(c->conn);
    c->in = IN_TARGETS;
}

/* A local owner answered one of our conversions. */
static void on_answer(struct sg_clipx *c, const xcb_selection_notify_event_t *sn)
{
    /* It carries our request's time, the owner's own: an answer for an earlier owner is stale.
     * (Some owners answer with CurrentTime; those are taken.) */
    if (c->in == IN_IDLE || (sn->time != c->in_time && sn->time != XCB_CURRENT_TIME))
        return;
    if (sn->property == XCB_ATOM_NONE)
        reset_incoming(c); /* the owner refused */
    else if (c->in == IN_TARGETS && sn->target == c->a[A_TARGETS])
        on_targets(c);
    else if (c->in == IN_IMAGE && sn->target == c->a[A_PNG])
        on_image(c);
}

static void *thread_main(void *data)
{
    struct sg_clipx *c = data;
    xcb_generic_event_t *ev;
    while ((ev = xcb_wait_for_event(c->conn))) {
        uint8_t type = ev->response_type & 0x7f;
        if (type == c->xfixes_event + XCB_XFIXES_SELECTION_NOTIFY) {
            on_owner_changed(c, (xcb_xfixes_selection_notify_event_t *)ev);
        } else if (type == XCB_SELECTION_REQUEST) {
            on_request(c, (xcb_selection_request_event_t *)ev);
        } else if (type == XCB_SELECTION_CLEAR) {
            blob_unref(c->owned);
            c->owned = NULL;
        } else if (type == XCB_SELECTION_NOTIFY) {
            on_answer(c, (xcb_selection_notify_event_t *)ev);
        } else if (type == XCB_PROPERTY_NOTIFY) {
            xcb_property_notify_event_t *pn = (xcb_property_notify_event_t *)ev;
            if (pn->window == c->win && pn->atom == fetch_prop(c) && pn->state == XCB_PROPERTY_NEW_VALUE &&
                c->in == IN_INCR)
                on_incr_piece(c);
            else if (pn->window == c->win && pn->atom == c->a[A_STAMP])
                on_stamp(c, pn->time);
            else if (pn->window != c->win && pn->state == XCB_PROPERTY_DELETE)
                on_requestor_deleted(c, pn);
        } else if (type == XCB_DESTROY_NOTIFY) {
            drop_outgoing(c, ((xcb_destroy_notify_event_t *)ev)->window, XCB_ATOM_ANY, true);
        } else if (type == XCB_CLIENT_MESSAGE) {
            on_wake(c);
        }
        free(ev);
        pthread_mutex_lock(&c->mu);
        bool quit = c->quit;
        pthread_mutex_unlock(&c->mu);
        if (quit)
            return NULL;
    }
    LOG_I("clipboard: lost the X connection; the image clipboard stops");
    return NULL;
}

/* --------------------------------------------------------------- any thread */

struct sg_clipx *sg_clipx_create(const char *display_name, const struct sg_clipx_callbacks *cb,
                                 enum sg_clipx_error *err)
{
    *err = SG_CLIPX_NO_THREAD;
    struct sg_clipx *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    if (cb)
        c->cb = *cb;
    const char *dbg = getenv("SPYGLASS_CLIPBOARD_DEBUG");
    c->debug = dbg && *dbg == '1';
    c->conn = xcb_connect(display_name, NULL);
    if (xcb_connection_has_error(c->conn)) {
        *err = SG_CLIPX_NO_DISPLAY;
        goto fail;
    }
    const xcb_query_extension_reply_t *ext = xcb_get_extension_data(c->conn, &xcb_xfixes_id);
    xcb_xfixes_query_version_reply_t *ver =
        ext && ext->present
            ? xcb_xfixes_query_version_reply(c->conn, xcb_xfixes_query_version(c->conn, 1, 0), NULL)
            : NULL;
    if (!ver) {
        *err = SG_CLIPX_NO_XFIXES;
        goto fail;
    }
    free(ver);
    c->xfixes_event = ext->first_event;

    xcb_intern_atom_cookie_t ck[A_COUNT];
    for (int i = 0; i < A_COUNT; i++)
        ck[i] = xcb_intern_atom(c->conn, 0, (uint16_t)strlen(atom_names[i]), atom_names[i]);
    for (int i = 0; i < A_COUNT; i++) {
        xcb_intern_atom_reply_t *r = xcb_intern_atom_reply(c->conn, ck[i], NULL);
        c->a[i] = r ? r->atom : XCB_ATOM_NONE;
        free(r);
    }
    const xcb_setup_t *setup = xcb_get_setup(c->conn);
    xcb_screen_t *screen = xcb_setup_roots_iterator(setup).data;
    c->win = xcb_generate_id(c->conn);
    uint32_t mask = XCB_EVENT_MASK_PROPERTY_CHANGE;
    xcb_create_window(c->conn, XCB_COPY_FROM_PARENT, c->win, screen->root, -10, -10, 1, 1, 0,
                      XCB_WINDOW_CLASS_INPUT_ONLY, XCB_COPY_FROM_PARENT, XCB_CW_EVENT_MASK, &mask);
    xcb_xfixes_select_selection_input(c->conn, c->win, c->a[A_CLIPBOARD],
                                      XCB_XFIXES_SELECTION_EVENT_MASK_SET_SELECTION_OWNER);
    xcb_flush(c->conn);
    pthread_mutex_init(&c->mu, NULL);
    if (pthread_create(&c->thread, NULL, thread_main, c) != 0) {
        pthread_mutex_destroy(&c->mu);
        *err = SG_CLIPX_NO_THREAD;
        goto fail;
    }
    *err = SG_CLIPX_OK;
    return c;
fail:
    xcb_disconnect(c->conn);
    free(c);
    return NULL;
}

void sg_clipx_destroy(struct sg_clipx *c)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->mu);
    c->quit = true;
    pthread_mutex_unlock(&c->mu);
    wake(c);
    pthread_join(c->thread, NULL);
    blob_unref(c->owned);
    blob_unref(c->to_own);
    blob_unref(c->pending);
    for (size_t i = 0; i < N_OUT; i++)
        blob_unref(c->out[i].blob);
    free(c->in_buf);
    xcb_disconnect(c->conn);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

void sg_clipx_set_image(struct sg_clipx *c, const char *mime, const uint8_t *data, size_t len)
{
    if (!c || !len)
        return;
    if (len > SG_CLIPX_MAX_BYTES) {
        LOG_I(
            "clipboard: the guest copied an image of %zu bytes (over %u MiB); not put in the local clipboard",
            len, SG_CLIPX_MAX_BYTES >> 20);
        return;
    }
    struct blob *b = malloc(sizeof(*b) + len);
    if (!b)
        return;
    b->refs = 1;
    b->type = strcmp(mime, "image/bmp") == 0 ? c->a[A_BMP] : c->a[A_PNG];
    b->len = len;
    memcpy(b->data, data, len);
    pthread_mutex_lock(&c->mu);
    blob_unref(c->pending);
    c->pending = b;
    c->has_pending = true;
    pthread_mutex_unlock(&c->mu);
    wake(c);
}
