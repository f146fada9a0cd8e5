/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * A minimal client of the region for host tests and benchmarks, built on the
 * proto library only: attach, subscribe both queues, copy frames (damage
 * only when its own history is continuous, like the B7 client), read cursor
 * messages, send SET_CURSOR_POS and wait for the acknowledgement.
 */
#include <stdbool.h>
#include <stdint.h>

#include "kvmfr.h"
#include "lgmp.h"
#include "shm.h"

struct reader {
    struct sg_shm shm;
    struct sg_lgmp_client *client;
    struct sg_lgmp_client_queue *fq, *cq;
    struct sg_kvmfr_info info;
    uint32_t session;
    /* the image as this client has it */
    uint8_t *img;
    uint32_t w, h, pitch;
    uint32_t format_version;
    bool have_image;
    uint32_t last_serial;
    struct sg_kvmfr_frame frame; /* the last frame header */
    uint32_t frame_offset;       /* region offset of its payload */
    bool frame_was_partial;      /* copied with damage only */
    /* verify_block: also copy the whole block (after its progress word is
     * final) into block_img, to check what a newly joining client would get */
    bool verify_block;
    uint8_t *block_img;
    /* cursor */
    uint8_t *cbuf;
    struct sg_kvmfr_cursor cursor; /* the last cursor message */
    uint32_t cursor_offset;
    char err[256];
};

/* Map path, wait up to timeout_ms for a valid session, subscribe. */
int reader_open(struct reader *r, const char *path, uint32_t timeout_ms);
void reader_close(struct reader *r);
/* Detach and attach again (host restarted); waits for a new valid session. */
int reader_reattach(struct reader *r, uint32_t timeout_ms);
/* Next frame message (not counting re-posts of the serial already shown):
 * 0 and the image updated, 1 on timeout, -1 on error (r->err). */
int reader_next_frame(struct reader *r, uint32_t timeout_ms);
/* Next cursor message: 0, 1 on timeout, -1 on error. */
int reader_next_cursor(struct reader *r, uint32_t timeout_ms);
/* SET_CURSOR_POS and wait for the host's acknowledgement: 0, or -1. */
int reader_set_cursor_pos(struct reader *r, int32_t x, int32_t y, uint32_t timeout_ms);
uint64_t reader_now_ms(void);
