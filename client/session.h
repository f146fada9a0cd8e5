/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The reading side of a session with a B7-compatible host, on its own thread:
 * maps the region, attaches (LGMP session + KVMFR app data), subscribes to the
 * frame and cursor queues, and keeps doing so across host restarts, host
 * stops and evictions. Frames are handed to the main thread without copying
 * (the main thread copies them into a mapped pixel buffer and says when it is
 * done, then the message is released); cursor updates are copied, decoded and
 * merged into a state the main thread takes when notified.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cursor.h"
#include "guest_cursor.h"
#include "kvmfr.h"

enum sg_session_state {
    SG_SESSION_NO_REGION,    /* region file missing or unusable; retrying */
    SG_SESSION_WAITING,      /* region there, no live host yet */
    SG_SESSION_RUNNING,      /* subscribed */
    SG_SESSION_HOST_STOPPED, /* a host was there and went away; retrying */
    SG_SESSION_INCOMPATIBLE, /* wrong magic/version or garbled header; retrying */
};
const char *sg_session_state_str(enum sg_session_state s);

struct sg_session_status {
    enum sg_session_state state;
    char message[256];         /* human-readable, for the window and the log */
    struct sg_kvmfr_info info; /* valid when RUNNING (and kept after it stops) */
    bool have_info;
    uint32_t session_id;
    uint64_t frames_received; /* distinct frames (duplicate re-posts excluded) */
    uint64_t cursor_updates;
    uint32_t evictions, restarts, rejected; /* rejected: messages dropped as invalid */
    uint32_t attach_attempts;               /* tries to start a session, successful or not */
    uint32_t refetches;                     /* frames asked for again after an incomplete copy */
    uint64_t fast_poll_until_ns; /* CLOCK_MONOTONIC: polled every input_poll_us until then (0: never was) */
};

struct sg_session_frame {
    uint32_t generation; /* pass back to frame_done */
    const void *payload;
    uint32_t payload_size;
    struct sg_kvmfr_frame frame; /* checked copy of the header */
    uint64_t recv_ns;            /* CLOCK_MONOTONIC when the message was seen */
};

struct sg_session_cursor {
    bool known, visible;
    int x, y; /* image top-left, guest pixels */
    int hot_x, hot_y;
    bool new_shape; /* shape below is new; ownership moves to the taker */
    struct sg_cursor_image shape;
    uint64_t recv_ns; /* CLOCK_MONOTONIC when the newest update was seen */
};

struct sg_session_opts {
    const char *path;
    unsigned poll_us, retry_ms;
    unsigned input_poll_us;    /* poll interval after input or a guest cursor move; 0 = poll_us */
    void (*notify)(void *ctx); /* from the session thread: something to take */
    void *ctx;
};

struct sg_session;

struct sg_session *sg_session_create(const struct sg_session_opts *opts);
void sg_session_destroy(struct sg_session *s); /* stops the thread; NULL ok */

void sg_session_get_status(struct sg_session *s, struct sg_session_status *out);
/* A frame waiting to be copied; false if none. */
bool sg_session_frame_take(struct sg_session *s, struct sg_session_frame *out);
/* The main thread finished reading the frame's payload. */
void sg_session_frame_done(struct sg_session *s, uint32_t generation);
/* Before frame_done: the frame's data did not all arrive (the host wrote its
 * rows slower than the copy waits). Without this, a guest screen that stays
 * still after such a frame would leave the torn picture up for good. */
void sg_session_frame_incomplete(struct sg_session *s, uint32_t generation);
/* Cursor changes since the last take; false if nothing changed. */
bool sg_session_cursor_take(struct sg_session *s, struct sg_session_cursor *out);
/* Current cursor without taking it (for hooks). */
void sg_session_cursor_peek(struct sg_session *s, struct sg_guest_cursor *out);
/* Queue a SET_CURSOR_POS; returns an id (never 0), or 0 if it cannot be sent. */
uint32_t sg_session_set_cursor_pos(struct sg_session *s, int32_t x, int32_t y);
/* A finished SET_CURSOR_POS; false when none. */
bool sg_session_cursor_pos_result(struct sg_session *s, uint32_t *id, enum sg_cursor_pos_result *res);
bool sg_session_can_set_cursor_pos(struct sg_session *s);
/* The user is acting on the window (input, pointer entering, focus): the guest
 * is likely to change soon, so a session that slowed its polling over a still
 * guest goes back to the full rate at once. Cheap enough for every event. */
void sg_session_user_active(struct sg_session *s);
/* Input was just sent to the guest: its answer (the guest cursor moving above
 * all) is expected within milliseconds, so the queues are polled every
 * input_poll_us for a short while instead of every poll_us. */
void sg_session_input_sent(struct sg_session *s);
