/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Frames from the session thread to the main thread, without a copy: the
 * thread checks a frame message's header (sg_kvmfr_frame_read), drops
 * re-posts, and hands the checked header and the payload's address over,
 * keeping the LGMP message until the main thread says it is done reading it.
 * A generation number tells a done of an old frame from one of the current.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "session_private.h"
#include "sg_time.h"
#include "sg_trace.h"

void sg_session_drop_frame(struct sg_session *s)
{
    pthread_mutex_lock(&s->lock);
    s->frame_pending = false;
    s->frame_busy = false;
    s->frame_released = false;
    s->generation++;
    pthread_mutex_unlock(&s->lock);
}

/* Frame message: check it, drop duplicates, hand the rest over. True if the
 * message is now held for the main thread. */
static bool handle_frame(struct sg_session *s, const struct sg_lgmp_message *msg)
{
    struct sg_kvmfr_frame f;
    enum sg_kvmfr_status ks = sg_kvmfr_frame_read(msg->mem, msg->size, &f);
    if (ks != SG_KVMFR_OK) {
        sg_session_reject(s, &s->frame_log, "frame message at offset %u size %u rejected: %s", msg->offset,
                          msg->size, sg_kvmfr_status_str(ks));
        return false;
    }
    if (s->have_serial && f.hdr.frame_serial == s->last_serial)
        return false; /* a re-post for a new subscriber: we already have it */
    s->have_serial = true;
    s->last_serial = f.hdr.frame_serial;
    pthread_mutex_lock(&s->lock);
    s->frame = (struct sg_session_frame){.generation = ++s->generation,
                                         .payload = msg->mem,
                                         .payload_size = msg->size,
                                         .frame = f,
                                         .recv_ns = sg_time_ns()};
    s->frame_pending = true;
    s->frame_busy = true;
    s->frame_released = false;
    s->st.frames_received++;
    pthread_mutex_unlock(&s->lock);
    SG_TRACE("frame-recv %u", f.hdr.frame_serial);
    sg_session_notify(s);
    return true;
}

enum sg_lgmp_status sg_session_pump_frames(struct sg_session *s, bool *holding, bool *busy)
{
    enum sg_lgmp_status ls;
    if (*holding) {
        pthread_mutex_lock(&s->lock);
        bool released = s->frame_released;
        pthread_mutex_unlock(&s->lock);
        if (released) {
            *holding = false;
            sg_session_drop_frame(s);
            ls = sg_lgmp_client_message_done(s->fq);
            if (ls != SG_LGMP_OK)
                return ls;
            *busy = true;
        }
    }
    if (!*holding) {
        struct sg_lgmp_message msg;
        ls = sg_lgmp_client_process(s->fq, &msg);
        if (ls == SG_LGMP_OK) {
            *busy = true;
            *holding = handle_frame(s, &msg);
            if (!*holding && (ls = sg_lgmp_client_message_done(s->fq)) != SG_LGMP_OK)
                return ls;
        } else if (ls != SG_LGMP_QUEUE_EMPTY)
            return ls;
    }
    return SG_LGMP_OK;
}

/* The main thread may still be copying a frame of a session that ended:
 * unmapping under it would fault, or worse, let it read whatever gets mapped
 * at the same address next. */
void sg_session_wait_frame_returned(struct sg_session *s)
{
    for (;;) {
        pthread_mutex_lock(&s->lock);
        bool in_use = s->frame_in_use;
        pthread_mutex_unlock(&s->lock);
        if (!in_use || atomic_load(&s->stop))
            return;
        sg_sleep_us(1000);
    }
}

/* ------------------------------------------------- main thread */

bool sg_session_frame_take(struct sg_session *s, struct sg_session_frame *out)
{
    pthread_mutex_lock(&s->lock);
    bool have = s->frame_pending;
    if (have) {
        *out = s->frame;
        s->frame_pending = false;
        s->frame_in_use = true;
    }
    pthread_mutex_unlock(&s->lock);
    return have;
}

/* Long enough for a slow host to finish writing the frame it is on, so that
 * the re-post is complete; short next to a person noticing. */
#define REFETCH_DELAY_NS 100000000ull
#define REFETCH_TRIES 5

void sg_session_frame_incomplete(struct sg_session *s, uint32_t generation)
{
    pthread_mutex_lock(&s->lock);
    if (s->generation == generation) {
        s->refetch_wanted = true;
        s->refetch_serial = s->frame.frame.hdr.frame_serial;
        s->refetch_at_ns = sg_time_ns() + REFETCH_DELAY_NS;
    }
    pthread_mutex_unlock(&s->lock);
}

enum sg_lgmp_status sg_session_refetch_frame(struct sg_session *s, bool holding)
{
    if (holding)
        return SG_LGMP_OK;
    pthread_mutex_lock(&s->lock);
    bool due = s->refetch_wanted && sg_time_ns() >= s->refetch_at_ns;
    if (due)
        s->refetch_wanted = false;
    uint32_t serial = s->refetch_serial;
    pthread_mutex_unlock(&s->lock);
    if (!due || !s->have_serial || s->last_serial != serial)
        return SG_LGMP_OK; /* a newer frame came meanwhile and replaced it */
    /* A host that never finishes the frame would have us ask forever. */
    if (s->refetched_serial != serial)
        s->refetched_serial = serial, s->refetch_tries = 0;
    if (s->refetch_tries >= REFETCH_TRIES)
        return SG_LGMP_OK;
    s->refetch_tries++;
    /* the new slot first: one just vacated may still be named by queued
     * messages (lgmp.md §10.5) */
    struct sg_lgmp_client_queue *old = s->fq;
    enum sg_lgmp_status ls = sg_lgmp_client_subscribe(s->lc, SG_KVMFR_FRAME_QUEUE_ID, &s->fq);
    if (ls != SG_LGMP_OK) {
        s->fq = old;
        return ls == SG_LGMP_NO_SUCH_QUEUE ? SG_LGMP_OK : ls;
    }
    sg_lgmp_client_unsubscribe(&old);
    s->have_serial = false;
    pthread_mutex_lock(&s->lock);
    s->st.refetches++;
    pthread_mutex_unlock(&s->lock);
    if (s->refetch_tries == 1)
        LOG_I("frame %u arrived incomplete; asked the host to post it again", serial);
    return SG_LGMP_OK;
}

void sg_session_frame_done(struct sg_session *s, uint32_t generation)
{
    pthread_mutex_lock(&s->lock);
    s->frame_in_use = false;
    if (s->frame_busy && s->generation == generation)
        s->frame_released = true;
    pthread_mutex_unlock(&s->lock);
}
