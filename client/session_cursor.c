/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cursor messages, on the session thread: each is copied out of the region
 * and checked (sg_kvmfr_cursor_read), its shape decoded (cursor.c), and the
 * result merged into one state: position and visibility replaced, a new
 * shape kept until the main thread takes it. The main thread takes what
 * changed since it last took, so a burst of moves costs it one update.
 */
#include <pthread.h>
#include <string.h>

#include "session_private.h"
#include "sg_time.h"
#include "sg_trace.h"

#define CURSOR_BURST 32 /* cursor messages handled per pass before looking at frames */

static void handle_cursor(struct sg_session *s, const struct sg_lgmp_message *msg)
{
    struct sg_kvmfr_cursor c;
    enum sg_kvmfr_status ks =
        sg_kvmfr_cursor_read(msg->mem, msg->size, msg->app_value, s->copy_buf, s->copy_size, &c);
    if (ks != SG_KVMFR_OK) {
        sg_session_reject(s, &s->cursor_log, "cursor message at offset %u (flags 0x%x) rejected: %s",
                          msg->offset, msg->app_value, sg_kvmfr_status_str(ks));
        return;
    }
    struct sg_cursor_image img = {0};
    bool shape = false;
    if (c.flags & SG_CURSOR_FLAG_SHAPE) {
        enum sg_cursor_status cs =
            sg_cursor_decode(&img, c.shape_type, c.width, c.data_rows, c.pitch, c.shape, c.shape_size);
        if (cs != SG_CURSOR_OK)
            sg_session_reject(s, &s->cursor_log, "cursor shape type %u %ux%u pitch %u rejected: %s",
                              c.shape_type, c.width, c.data_rows, c.pitch, sg_cursor_status_str(cs));
        else
            shape = true;
    }
    pthread_mutex_lock(&s->lock);
    s->st.cursor_updates++;
    s->cur.visible = (c.flags & SG_CURSOR_FLAG_VISIBLE) != 0;
    if (c.flags & SG_CURSOR_FLAG_POSITION) {
        /* A pointer that moves keeps moving for a while, however it is driven
         * (a device passed through to the guest sends us no input): its next
         * positions are polled for as fast as after our own input. */
        if (!s->cur.known || c.x != s->cur.x || c.y != s->cur.y)
            sg_session_poll_fast(s);
        s->cur.x = c.x;
        s->cur.y = c.y;
        s->cur.known = true;
    }
    if (shape) {
        s->cur.hot_x = c.hot_x;
        s->cur.hot_y = c.hot_y;
        sg_cursor_image_finish(&s->cur.shape);
        s->cur.shape = img;
        s->cur.new_shape = true;
    }
    s->cur_dirty = true;
    s->cur.recv_ns = sg_time_ns();
    int hot_x = s->cur.hot_x, hot_y = s->cur.hot_y;
    pthread_mutex_unlock(&s->lock);
    SG_TRACE("cursor-recv %d %d", c.x + hot_x, c.y + hot_y);
    sg_session_notify(s);
}

enum sg_lgmp_status sg_session_pump_cursor(struct sg_session *s, bool *busy)
{
    struct sg_lgmp_message msg;
    enum sg_lgmp_status ls = SG_LGMP_OK;
    for (int i = 0; i < CURSOR_BURST; i++) {
        ls = sg_lgmp_client_process(s->cq, &msg);
        if (ls != SG_LGMP_OK)
            break;
        handle_cursor(s, &msg);
        ls = sg_lgmp_client_message_done(s->cq);
        if (ls != SG_LGMP_OK)
            break;
        *busy = true;
    }
    return ls == SG_LGMP_QUEUE_EMPTY ? SG_LGMP_OK : ls;
}

/* ------------------------------------------------- main thread */

bool sg_session_cursor_take(struct sg_session *s, struct sg_session_cursor *out)
{
    pthread_mutex_lock(&s->lock);
    bool dirty = s->cur_dirty;
    if (dirty) {
        *out = s->cur;
        if (s->cur.new_shape) {
            /* ownership of the image moves to the caller */
            memset(&s->cur.shape, 0, sizeof(s->cur.shape));
            s->cur.new_shape = false;
        } else
            memset(&out->shape, 0, sizeof(out->shape));
        s->cur_dirty = false;
    }
    pthread_mutex_unlock(&s->lock);
    return dirty;
}

void sg_session_cursor_peek(struct sg_session *s, struct sg_guest_cursor *out)
{
    pthread_mutex_lock(&s->lock);
    out->known = s->cur.known && s->st.state == SG_SESSION_RUNNING;
    out->visible = s->cur.visible;
    out->x = s->cur.x + s->cur.hot_x;
    out->y = s->cur.y + s->cur.hot_y;
    pthread_mutex_unlock(&s->lock);
}
