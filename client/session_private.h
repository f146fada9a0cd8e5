/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The session's state and the calls between its files, all in the SDL-free
 * library sg_client_session:
 *   session.c             the thread: map, attach, poll both queues, re-attach,
 *                         re-subscribe after an eviction; the public status
 *   session_frames.c      frame messages checked and handed to the main thread
 *   session_cursor.c      cursor messages decoded and merged into one state
 *   session_cursor_pos.c  SET_CURSOR_POS requests: queue, send, acknowledgement
 *
 * Context: the functions below ("thread side") run on the session thread only,
 * the one that owns the fields marked "thread only"; the calls of session.h
 * run on the main thread. The two meet under s->lock.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "lgmp.h"
#include "session.h"
#include "sg_log.h"
#include "shm.h"

#define MAX_POS_REQS 16

struct pos_req {
    uint32_t id;
    int32_t x, y;
    uint32_t serial;
    bool sent;
};

struct sg_session {
    char path[256];
    unsigned poll_us, retry_ms;
    void (*notify)(void *ctx);
    void *ctx;

    pthread_t thread;
    bool thread_started;
    atomic_bool stop;

    /* The user acted on the window: a guest change is likely, leave the slow
     * idle poll now (sg_session_user_active). */
    atomic_bool user_active;
    atomic_bool idle_waiting;       /* the thread is in (or entering) idle_wait */
    unsigned input_poll_us;         /* 0: no faster polling after input */
    _Atomic uint64_t fast_until_ns; /* sg_session_input_sent: poll every input_poll_us until then */
    pthread_mutex_t wake_lock;
    pthread_cond_t wake_cond; /* CLOCK_MONOTONIC */

    pthread_mutex_t lock;
    /* --- under lock --- */
    struct sg_session_status st;
    bool frame_pending;  /* handed over, not taken yet */
    bool frame_busy;     /* message held until the main thread is done */
    bool frame_released; /* main thread done with it */
    bool frame_in_use;   /* taken and not done yet, whatever its generation: the mapping must stay */
    struct sg_session_frame frame;
    uint32_t generation;
    struct sg_session_cursor cur;
    bool cur_dirty;
    struct pos_req reqs[MAX_POS_REQS];
    unsigned nreqs;
    struct {
        uint32_t id;
        enum sg_cursor_pos_result res;
    } results[MAX_POS_REQS];
    unsigned nresults;
    uint32_t next_id;
    bool can_set_pos;
    bool refetch_wanted; /* the main thread could not copy the frame whole */
    uint32_t refetch_serial;
    uint64_t refetch_at_ns;
    /* --- thread only --- */
    struct sg_shm shm;
    bool mapped;
    struct sg_lgmp_client *lc;
    struct sg_lgmp_client_queue *fq, *cq;
    uint8_t *copy_buf;
    size_t copy_size;
    bool had_host;
    uint32_t last_serial;
    bool have_serial;
    uint32_t refetched_serial, refetch_tries;
    uint64_t last_evict_ns, last_evict_log_ns;
    unsigned evictions_unlogged;
    struct sg_log_limit frame_log, cursor_log;
    unsigned stuck_ms; /* back-off after a queue lock stayed held (each try spins 1 s) */
};

/* session.c, thread side */
/* Calls the notify callback: something for the main thread to take. */
void sg_session_notify(struct sg_session *s);
/* The guest is about to answer or keep moving its cursor: poll every
 * input_poll_us for a while (session_poll.h). */
void sg_session_poll_fast(struct sg_session *s);
/* A message the guest wrote was refused: counted, and logged (warn) at most a
 * few times a second per limit; the next line logged says how many were not. */
void sg_session_reject(struct sg_session *s, struct sg_log_limit *limit, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* session_frames.c, thread side */
/* The frame queue once: the message the main thread is done with released,
 * the next one checked and handed over. *holding: a message is held for the
 * main thread; *busy set when a message was handled. */
enum sg_lgmp_status sg_session_pump_frames(struct sg_session *s, bool *holding, bool *busy);
/* When the main thread could not copy a frame whole and no newer one came:
 * subscribes the frame queue again, so that the host re-posts its last frame
 * (kvmfr.md §5.7 step 8), and lets that re-post's serial through once. */
enum sg_lgmp_status sg_session_refetch_frame(struct sg_session *s, bool holding);
/* No frame handed over any more (released, or the session ended). */
void sg_session_drop_frame(struct sg_session *s);
/* Waits until the main thread is not reading a frame (or stop): the mapping may go. */
void sg_session_wait_frame_returned(struct sg_session *s);

/* session_cursor.c, thread side */
/* Up to a burst of cursor messages, merged into s->cur; *busy set when there was one. */
enum sg_lgmp_status sg_session_pump_cursor(struct sg_session *s, bool *busy);

/* session_cursor_pos.c, thread side */
/* Subscribed: SET_CURSOR_POS is possible when the host offers it. */
void sg_session_allow_pos_reqs(struct sg_session *s);
/* Unsubscribed: what is queued fails, nothing more is taken until subscribed again. */
void sg_session_fail_pos_reqs(struct sg_session *s);
/* Sends the queued requests and reports the acknowledged ones. */
void sg_session_pump_pos_reqs(struct sg_session *s);
