/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t reader_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void nap_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

static int attach(struct reader *r, uint32_t timeout_ms)
{
    uint64_t end = reader_now_ms() + timeout_ms;
    enum sg_lgmp_status st;
    for (;;) {
        const uint8_t *app;
        uint32_t app_size;
        st = sg_lgmp_client_session_init(r->client, &app, &app_size);
        if (st == SG_LGMP_OK) {
            enum sg_kvmfr_status ks = sg_kvmfr_parse_info(app, app_size, &r->info);
            if (ks != SG_KVMFR_OK) {
                snprintf(r->err, sizeof(r->err), "app data: %s", sg_kvmfr_status_str(ks));
                return -1;
            }
            r->session = sg_lgmp_client_session_id(r->client);
            break;
        }
        if (reader_now_ms() > end) {
            snprintf(r->err, sizeof(r->err), "no valid session within %u ms: %s", timeout_ms,
                     sg_lgmp_status_str(st));
            return -1;
        }
        nap_us(10000);
    }
    while ((st = sg_lgmp_client_subscribe(r->client, SG_KVMFR_FRAME_QUEUE_ID, &r->fq)) != SG_LGMP_OK ||
           (st = sg_lgmp_client_subscribe(r->client, SG_KVMFR_CURSOR_QUEUE_ID, &r->cq)) != SG_LGMP_OK) {
        if (reader_now_ms() > end) {
            snprintf(r->err, sizeof(r->err), "subscribe: %s", sg_lgmp_status_str(st));
            return -1;
        }
        nap_us(1000);
    }
    r->have_image = false;
    return 0;
}

int reader_open(struct reader *r, const char *path, uint32_t timeout_ms)
{
    memset(r, 0, sizeof(*r));
    struct sg_shm_open_opts so = {.path = path};
    uint64_t end = reader_now_ms() + timeout_ms;
    /* the host may still be creating the file */
    while (sg_shm_open(&r->shm, &so, r->err, sizeof(r->err)) != 0) {
        if (reader_now_ms() > end)
            return -1;
        nap_us(10000);
    }
    /* and sizing it */
    while (r->shm.size < SG_LGMP_GLOBAL_HEADER_SIZE && reader_now_ms() < end) {
        sg_shm_close(&r->shm);
        nap_us(10000);
        if (sg_shm_open(&r->shm, &so, r->err, sizeof(r->err)) != 0)
            return -1;
    }
    r->cbuf = malloc(SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE);
    enum sg_lgmp_status st = sg_lgmp_client_create(&r->client, r->shm.base, r->shm.size, NULL);
    if (st != SG_LGMP_OK) {
        snprintf(r->err, sizeof(r->err), "client: %s", sg_lgmp_status_str(st));
        return -1;
    }
    return attach(r, timeout_ms);
}

static void unsubscribe(struct reader *r)
{
    if (r->fq)
        sg_lgmp_client_unsubscribe(&r->fq);
    if (r->cq)
        sg_lgmp_client_unsubscribe(&r->cq);
}

int reader_reattach(struct reader *r, uint32_t timeout_ms)
{
    unsubscribe(r);
    uint32_t old = r->session;
    uint64_t end = reader_now_ms() + timeout_ms;
    for (;;) {
        if (attach(r, timeout_ms) != 0)
            return -1;
        if (r->session != old)
            return 0;
        unsubscribe(r);
        if (reader_now_ms() > end) {
            snprintf(r->err, sizeof(r->err), "session id stayed %08x", old);
            return -1;
        }
        nap_us(20000);
    }
}

void reader_close(struct reader *r)
{
    unsubscribe(r);
    sg_lgmp_client_destroy(r->client);
    if (r->shm.base)
        sg_shm_close(&r->shm);
    free(r->img);
    free(r->block_img);
    free(r->cbuf);
    memset(r, 0, sizeof(*r));
}

/* Peeks the queue until a message is there (0), the deadline passes (1) or
 * the queue fails (-1, r->err says why). */
static int wait_message(struct reader *r, struct sg_lgmp_client_queue *q, const char *name, uint64_t end,
                        struct sg_lgmp_message *m)
{
    for (;;) {
        enum sg_lgmp_status st = sg_lgmp_client_process(q, m);
        if (st == SG_LGMP_OK)
            return 0;
        if (st != SG_LGMP_QUEUE_EMPTY) {
            snprintf(r->err, sizeof(r->err), "%s queue: %s", name, sg_lgmp_status_str(st));
            return -1;
        }
        if (reader_now_ms() > end)
            return 1;
        nap_us(500);
    }
}

int reader_next_frame(struct reader *r, uint32_t timeout_ms)
{
    uint64_t end = reader_now_ms() + timeout_ms;
    for (;;) {
        struct sg_lgmp_message m;
        int got = wait_message(r, r->fq, "frame", end, &m);
        if (got != 0)
            return got;
        struct sg_kvmfr_frame f;
        enum sg_kvmfr_status ks = sg_kvmfr_frame_read(m.mem, m.size, &f);
        if (ks != SG_KVMFR_OK) {
            snprintf(r->err, sizeof(r->err), "frame at %u: %s", m.offset, sg_kvmfr_status_str(ks));
            sg_lgmp_client_message_done(r->fq);
            return -1;
        }
        if (r->have_image && f.hdr.frame_serial == r->last_serial &&
            f.hdr.format_version == r->format_version) {
            sg_lgmp_client_message_done(r->fq); /* a re-post of what we have */
            continue;
        }
        bool partial = r->have_image && f.hdr.format_version == r->format_version &&
                       f.hdr.frame_serial == r->last_serial + 1 && f.hdr.damage_count > 0;
        if (!r->img || f.hdr.format_version != r->format_version || !r->have_image) {
            free(r->img);
            r->pitch = f.hdr.data_width * f.bytes_per_texel;
            r->w = f.hdr.frame_width;
            r->h = f.hdr.data_height;
            r->img = calloc((size_t)r->h, r->pitch);
            r->format_version = f.hdr.format_version;
        }
        uint32_t rows;
        ks = sg_kvmfr_frame_copy(m.mem, &f, r->img, r->pitch, partial, &rows);
        if (ks == SG_KVMFR_OK && r->verify_block) {
            free(r->block_img);
            r->block_img = calloc((size_t)r->h, r->pitch);
            ks = sg_kvmfr_frame_copy(m.mem, &f, r->block_img, r->pitch, false, &rows);
        }
        sg_lgmp_client_message_done(r->fq);
        if (ks != SG_KVMFR_OK) {
            snprintf(r->err, sizeof(r->err), "frame %u copy: %s after %u rows", f.hdr.frame_serial,
                     sg_kvmfr_status_str(ks), rows);
            r->have_image = false;
            return -1;
        }
        r->frame = f;
        r->frame_offset = m.offset;
        r->frame_was_partial = partial;
        r->have_image = true;
        r->last_serial = f.hdr.frame_serial;
        return 0;
    }
}

int reader_next_cursor(struct reader *r, uint32_t timeout_ms)
{
    uint64_t end = reader_now_ms() + timeout_ms;
    for (;;) {
        struct sg_lgmp_message m;
        int got = wait_message(r, r->cq, "cursor", end, &m);
        if (got != 0)
            return got;
        enum sg_kvmfr_status ks = sg_kvmfr_cursor_read(m.mem, m.size, m.app_value, r->cbuf,
                                                       SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE, &r->cursor);
        r->cursor_offset = m.offset;
        sg_lgmp_client_message_done(r->cq);
        if (ks != SG_KVMFR_OK) {
            snprintf(r->err, sizeof(r->err), "cursor at %u: %s", m.offset, sg_kvmfr_status_str(ks));
            return -1;
        }
        return 0;
    }
}

int reader_set_cursor_pos(struct reader *r, int32_t x, int32_t y, uint32_t timeout_ms)
{
    uint8_t msg[12];
    uint32_t len = sg_kvmfr_encode_set_cursor_pos(msg, x, y), serial, done;
    enum sg_lgmp_status st = sg_lgmp_client_send(r->cq, msg, len, &serial);
    if (st != SG_LGMP_OK) {
        snprintf(r->err, sizeof(r->err), "send: %s", sg_lgmp_status_str(st));
        return -1;
    }
    uint64_t end = reader_now_ms() + timeout_ms;
    while ((st = sg_lgmp_client_get_serial(r->cq, &done)) == SG_LGMP_OK && (int32_t)(done - serial) < 0) {
        if (reader_now_ms() > end) {
            snprintf(r->err, sizeof(r->err), "no acknowledgement of serial %u within %u ms (done %u)", serial,
                     timeout_ms, done);
            return -1;
        }
        nap_us(1000);
    }
    if (st != SG_LGMP_OK) {
        snprintf(r->err, sizeof(r->err), "get serial: %s", sg_lgmp_status_str(st));
        return -1;
    }
    return 0;
}
