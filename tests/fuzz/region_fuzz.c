/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer harness: arbitrary bytes as a shared-memory region written by a
 * hostile guest. Runs everything the client does with a region: inspect,
 * session start, app data parse, subscribe/process/done on both queues,
 * frame header read and copies (with a tiny progress poll limit), cursor
 * read and decode, a client message. Nothing may crash, hang or over-allocate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kvmfr.h"
#include "kvmfr_test_util.h"
#include "lgmp.h"
#include "lgmp_wire.h"
#include "sg_shared.h"

#define MAX_REGION (64u << 20)
#define MAX_SLOTS 64u

static uint8_t *cursor_copy;

static void use_frame(const struct sg_lgmp_message *m)
{
    struct sg_kvmfr_frame f;
    if (sg_kvmfr_frame_read(m->mem, m->size, &f) != SG_KVMFR_OK)
        return;
    size_t row_bytes = (size_t)f.hdr.data_width * f.bytes_per_texel;
    uint8_t *dst = malloc(f.data_size ? f.data_size : 1);
    uint32_t rows;
    /* linear, row by row, damage only; 2 spins per wait: never waits long */
    sg_kvmfr_frame_copy_ex(m->mem, &f, dst, f.hdr.pitch, false, 2, 0, &rows);
    sg_kvmfr_frame_copy_ex(m->mem, &f, dst, row_bytes, false, 2, 0, &rows);
    sg_kvmfr_frame_copy_ex(m->mem, &f, dst, f.hdr.pitch, true, 2, 0, &rows);
    free(dst);
}

static void use_cursor(const struct sg_lgmp_message *m)
{
    struct sg_kvmfr_cursor c;
    if (sg_kvmfr_cursor_read(m->mem, m->size, m->app_value, cursor_copy, SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE,
                             &c) != SG_KVMFR_OK ||
        !c.shape)
        return;
    size_t n = (size_t)c.width * c.height;
    uint8_t *rgba = malloc(n * 4), *inv = malloc(n);
    sg_kvmfr_cursor_decode(&c, rgba, inv, n);
    free(rgba);
    free(inv);
}

static void use_message(uint32_t queue_id, const struct sg_lgmp_message *m)
{
    if (queue_id == SG_KVMFR_FRAME_QUEUE_ID)
        use_frame(m);
    else if (queue_id == SG_KVMFR_CURSOR_QUEUE_ID)
        use_cursor(m);
}

/* What spyglass-dump does: every ring slot of every queue, read only. */
static void inspect(const uint8_t *region, size_t size)
{
    struct sg_lgmp_info info;
    sg_lgmp_inspect(region, size, &info);
    for (uint32_t i = 0; i < info.queues_valid; i++) {
        const struct sg_lgmp_queue_info *q = &info.queues[i];
        for (uint32_t k = 0; q->ring_ok && k < q->slot_count && k < MAX_SLOTS; k++) {
            struct sg_lgmp_message m;
            if (sg_lgmp_inspect_slot(region, size, q, k, &m, NULL) == SG_LGMP_OK)
                use_message(q->queue_id, &m);
        }
    }
}

/* Subscribe so that the messages already in the ring become ours: subscribe
 * with write_index moved back to read_index, then put it back and mark our
 * bit pending, as if the host had posted them after we joined. */
static void consume_queue(struct sg_lgmp_client *c, uint8_t *region, size_t size, uint32_t queue_id)
{
    struct sg_lgmp_wire_header *h = (struct sg_lgmp_wire_header *)region;
    struct sg_lgmp_wire_queue *wq = NULL;
    for (uint32_t i = 0; i < h->queue_count && i < SG_LGMP_MAX_QUEUES; i++)
        if (h->queues[i].queue_id == queue_id) {
            wq = &h->queues[i];
            break;
        }
    if (!wq)
        return;
    uint32_t w = wq->write_index, r = wq->read_index, n = wq->slot_count;
    bool ring_ok = n >= 2 && n <= MAX_SLOTS && w < n && r < n && wq->ring_offset % 4 == 0 &&
                   sg_range_ok(wq->ring_offset, (uint64_t)n * SG_LGMP_MESSAGE_SLOT_SIZE, size);
    if (ring_ok)
        wq->write_index = r;
    struct sg_lgmp_client_queue *q;
    enum sg_lgmp_status st = sg_lgmp_client_subscribe(c, queue_id, &q);
    if (ring_ok)
        wq->write_index = w;
    if (st != SG_LGMP_OK)
        return;
    uint32_t slot = sg_lgmp_client_queue_slot(q);
    if (ring_ok) {
        struct sg_lgmp_wire_msg *ring = (struct sg_lgmp_wire_msg *)(region + wq->ring_offset);
        for (uint32_t k = r; k != w; k = (k + 1) % n)
            ring[k].pending |= 1u << slot;
    }
    for (uint32_t i = 0; i < 2 * MAX_SLOTS; i++) {
        struct sg_lgmp_message m;
        if (sg_lgmp_client_process(q, &m) != SG_LGMP_OK)
            break;
        use_message(queue_id, &m);
        if (sg_lgmp_client_message_done(q) != SG_LGMP_OK)
            break;
    }
    if (queue_id == SG_KVMFR_CURSOR_QUEUE_ID) {
        uint8_t msg[12];
        uint32_t serial, done;
        uint32_t len = sg_kvmfr_encode_set_cursor_pos(msg, 10, 20);
        sg_lgmp_client_send(q, msg, len, &serial);
        sg_lgmp_client_get_serial(q, &done);
    }
    sg_lgmp_client_unsubscribe(&q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_REGION)
        return 0;
    if (!cursor_copy)
        cursor_copy = malloc(SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE);
    /* Short inputs are padded with zeros to the LGMP header size; longer ones
     * are used as is, so odd region sizes get exercised. malloc is 16-aligned. */
    size_t rsize = size < SG_LGMP_GLOBAL_HEADER_SIZE ? SG_LGMP_GLOBAL_HEADER_SIZE : size;
    uint8_t *region = calloc(1, rsize);
    memcpy(region, data, size);

    inspect(region, rsize);
    /* what the guest host reads from clients: the first bytes as a message */
    int32_t x, y;
    sg_kvmfr_decode_set_cursor_pos(data, size < 12 ? (uint32_t)size : 12, &x, &y);

    /* No other party exists: a lock word left at 1 would only make every
     * call wait for the stuck-lock timeout. */
    struct sg_lgmp_wire_header *h = (struct sg_lgmp_wire_header *)region;
    for (uint32_t i = 0; i < SG_LGMP_MAX_QUEUES; i++)
        h->queues[i].queue_lock = h->queues[i].cmsg_lock = 0;

    struct sg_lgmp_client *c;
    if (sg_lgmp_client_create(&c, region, rsize, NULL) == SG_LGMP_OK) {
        h->host_clock_ms++; /* the "host" ticked */
        const uint8_t *app;
        uint32_t app_size;
        if (sg_lgmp_client_session_init(c, &app, &app_size) == SG_LGMP_OK) {
            struct sg_kvmfr_info ki;
            sg_kvmfr_parse_info(app, app_size, &ki);
            consume_queue(c, region, rsize, SG_KVMFR_FRAME_QUEUE_ID);
            consume_queue(c, region, rsize, SG_KVMFR_CURSOR_QUEUE_ID);
            sg_lgmp_client_session_valid(c);
        }
        sg_lgmp_client_destroy(c);
    }
    free(region);
    return 0;
}
