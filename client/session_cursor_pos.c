/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SET_CURSOR_POS (kvmfr.md §7): the main thread queues a request and gets an
 * id; the session thread sends it as an LGMP client message on the cursor
 * queue, then reports it acknowledged once the host's done-serial passes the
 * message's serial, or failed when it could not be sent or the subscription
 * ended. Up to MAX_POS_REQS requests wait at a time. Bit 31 of an id marks a
 * request whose send failed, until the thread reports it.
 */
#include <pthread.h>
#include <string.h>

#include "session_private.h"

/* SET_CURSOR_POS is possible while subscribed to a host that offers it. */
void sg_session_allow_pos_reqs(struct sg_session *s)
{
    pthread_mutex_lock(&s->lock);
    s->can_set_pos = s->st.have_info && (s->st.info.features & SG_KVMFR_FEATURE_SET_CURSOR_POS) != 0;
    pthread_mutex_unlock(&s->lock);
}

/* Unsubscribed: what is queued cannot be sent, and nothing more is taken until subscribed again. */
void sg_session_fail_pos_reqs(struct sg_session *s)
{
    pthread_mutex_lock(&s->lock);
    for (unsigned i = 0; i < s->nreqs && s->nresults < MAX_POS_REQS; i++) {
        s->results[s->nresults].id = s->reqs[i].id & 0x7fffffffu;
        s->results[s->nresults].res = SG_CURSOR_POS_FAILED;
        s->nresults++;
    }
    s->nreqs = 0;
    s->can_set_pos = false;
    pthread_mutex_unlock(&s->lock);
}

/* The requests not sent yet, copied into todo; false when none is queued at all. */
static bool unsent_reqs(struct sg_session *s, struct pos_req *todo, unsigned *ntodo)
{
    pthread_mutex_lock(&s->lock);
    if (!s->nreqs) {
        pthread_mutex_unlock(&s->lock);
        return false;
    }
    *ntodo = 0;
    for (unsigned i = 0; i < s->nreqs; i++)
        if (!s->reqs[i].sent && !(s->reqs[i].id & 0x80000000u))
            todo[(*ntodo)++] = s->reqs[i];
    pthread_mutex_unlock(&s->lock);
    return true;
}

/* Under the lock: what the sends did, then every request acknowledged or
 * failed moved to the results. True when one was. */
static bool settle_reqs(struct sg_session *s, const struct pos_req *todo, unsigned ntodo)
{
    bool done_any = false;
    pthread_mutex_lock(&s->lock);
    for (unsigned k = 0; k < ntodo; k++)
        for (unsigned i = 0; i < s->nreqs; i++)
            if (s->reqs[i].id == todo[k].id) {
                if (todo[k].sent) {
                    s->reqs[i].sent = true;
                    s->reqs[i].serial = todo[k].serial;
                } else
                    s->reqs[i].id |= 0x80000000u; /* mark failed, removed below */
            }
    uint32_t done_serial = 0;
    bool have_done = sg_lgmp_client_get_serial(s->cq, &done_serial) == SG_LGMP_OK;
    unsigned keep = 0;
    for (unsigned i = 0; i < s->nreqs; i++) {
        struct pos_req *r = &s->reqs[i];
        bool failed = (r->id & 0x80000000u) != 0;
        bool acked = !failed && r->sent && have_done && (int32_t)(done_serial - r->serial) >= 0;
        if ((failed || acked) && s->nresults < MAX_POS_REQS) {
            s->results[s->nresults].id = r->id & 0x7fffffffu;
            s->results[s->nresults].res = acked ? SG_CURSOR_POS_ACKED : SG_CURSOR_POS_FAILED;
            s->nresults++;
            done_any = true;
        } else
            s->reqs[keep++] = *r;
    }
    s->nreqs = keep;
    pthread_mutex_unlock(&s->lock);
    return done_any;
}

void sg_session_pump_pos_reqs(struct sg_session *s)
{
    /* Sent without the lock: a guest holding the queue's message lock makes a
     * send spin for the lock timeout (1 s), and the main thread must not wait
     * on s->lock meanwhile. Only this thread removes requests. */
    struct pos_req todo[MAX_POS_REQS];
    unsigned ntodo = 0;
    if (!unsent_reqs(s, todo, &ntodo))
        return;
    for (unsigned k = 0; k < ntodo; k++) {
        uint8_t buf[12];
        uint32_t len = sg_kvmfr_encode_set_cursor_pos(buf, todo[k].x, todo[k].y);
        todo[k].sent = sg_lgmp_client_send(s->cq, buf, len, &todo[k].serial) == SG_LGMP_OK;
    }
    if (settle_reqs(s, todo, ntodo))
        sg_session_notify(s);
}

/* ------------------------------------------------- main thread */

bool sg_session_can_set_cursor_pos(struct sg_session *s)
{
    pthread_mutex_lock(&s->lock);
    bool ok = s->can_set_pos && s->st.state == SG_SESSION_RUNNING;
    pthread_mutex_unlock(&s->lock);
    return ok;
}

uint32_t sg_session_set_cursor_pos(struct sg_session *s, int32_t x, int32_t y)
{
    uint32_t id = 0;
    pthread_mutex_lock(&s->lock);
    if (s->can_set_pos && s->st.state == SG_SESSION_RUNNING && s->nreqs < MAX_POS_REQS) {
        id = s->next_id++ & 0x7fffffffu;
        if (!id)
            id = s->next_id++ & 0x7fffffffu;
        s->reqs[s->nreqs++] = (struct pos_req){.id = id, .x = x, .y = y};
    }
    pthread_mutex_unlock(&s->lock);
    return id;
}

bool sg_session_cursor_pos_result(struct sg_session *s, uint32_t *id, enum sg_cursor_pos_result *res)
{
    pthread_mutex_lock(&s->lock);
    bool have = s->nresults > 0;
    if (have) {
        *id = s->results[0].id;
        *res = s->results[0].res;
        memmove(&s->results[0], &s->results[1], (s->nresults - 1) * sizeof(s->results[0]));
        s->nresults--;
    }
    pthread_mutex_unlock(&s->lock);
    return have;
}
