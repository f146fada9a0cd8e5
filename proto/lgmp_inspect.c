/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Read-only snapshot of an LGMP region for spyglass-dump and tests. Works on
 * a saved (possibly read-only, possibly unaligned) copy as well as a live
 * region: everything is memcpy'd out first, then checked.
 */
#include <string.h>

#include "lgmp.h"
#include "lgmp_wire.h"
#include "sg_shared.h"

static void note(struct sg_lgmp_info *out, enum sg_lgmp_status s)
{
    if (out->problem == SG_LGMP_OK)
        out->problem = s;
}

static bool ring_ok(const struct sg_lgmp_queue_info *q, size_t size, enum sg_lgmp_status *why)
{
    if (q->slot_count < 2 || q->slot_count > size / SG_LGMP_MESSAGE_SLOT_SIZE) {
        *why = SG_LGMP_BAD_SLOT_COUNT;
        return false;
    }
    if (q->ring_offset % 4 || q->ring_offset < SG_LGMP_GLOBAL_HEADER_SIZE ||
        !sg_range_ok(q->ring_offset, (uint64_t)q->slot_count * SG_LGMP_MESSAGE_SLOT_SIZE, size)) {
        *why = SG_LGMP_BAD_RING;
        return false;
    }
    if (q->write_index >= q->slot_count || q->read_index >= q->slot_count) {
        *why = SG_LGMP_BAD_INDEX;
        return false;
    }
    return true;
}

enum sg_lgmp_status sg_lgmp_inspect(const void *base, size_t size, struct sg_lgmp_info *out)
{
    if (!base || !out)
        return SG_LGMP_INVALID_ARGUMENT;
    memset(out, 0, sizeof(*out));
    if (size < SG_LGMP_GLOBAL_HEADER_SIZE) {
        out->problem = SG_LGMP_INVALID_SIZE;
        return SG_LGMP_INVALID_SIZE;
    }
    /* One copy of the fixed header; all checks below run on the copy. */
    struct sg_lgmp_wire_header h;
    sg_copy_from_shared(&h, base, sizeof(h));

    out->magic = h.magic;
    out->version = h.version;
    out->session_id = h.session_id;
    out->host_clock_ms = h.host_clock_ms;
    out->queue_count = h.queue_count;
    out->app_data_size = h.app_data_size;
    if (h.magic != SG_LGMP_MAGIC)
        note(out, SG_LGMP_INVALID_MAGIC);
    if (h.version != SG_LGMP_VERSION)
        note(out, SG_LGMP_INVALID_VERSION);
    out->app_data_ok = sg_range_ok(SG_LGMP_APP_DATA_OFFSET, h.app_data_size, size);
    if (!out->app_data_ok)
        note(out, SG_LGMP_BAD_APP_DATA_SIZE);
    if (h.queue_count > SG_LGMP_MAX_QUEUES)
        note(out, SG_LGMP_BAD_QUEUE_COUNT);

    out->queues_valid = h.queue_count < SG_LGMP_MAX_QUEUES ? h.queue_count : SG_LGMP_MAX_QUEUES;
    for (uint32_t i = 0; i < out->queues_valid; ++i) {
        const struct sg_lgmp_wire_queue *w = &h.queues[i];
        struct sg_lgmp_queue_info *q = &out->queues[i];
        q->index = i;
        q->queue_id = w->queue_id;
        q->slot_count = w->slot_count;
        q->sub_timeout_ms = w->sub_timeout_ms;
        q->ring_offset = w->ring_offset;
        q->write_index = w->write_index;
        q->read_index = w->read_index;
        q->outstanding = w->outstanding;
        q->new_sub_count = w->new_sub_count;
        q->subs = w->subs;
        q->oldest_deadline = w->oldest_deadline;
        memcpy(q->bad_until, w->bad_until, sizeof(q->bad_until));
        memcpy(q->client_tag, w->client_tag, sizeof(q->client_tag));
        q->cmsg_free = w->cmsg_free;
        q->cmsg_sent_serial = w->cmsg_sent_serial;
        q->cmsg_done_serial = w->cmsg_done_serial;
        enum sg_lgmp_status why = SG_LGMP_OK;
        q->ring_ok = ring_ok(q, size, &why);
        if (!q->ring_ok)
            note(out, why);
    }
    return out->problem;
}

enum sg_lgmp_status sg_lgmp_inspect_slot(const void *base, size_t size, const struct sg_lgmp_queue_info *q,
                                         uint32_t k, struct sg_lgmp_message *msg, uint32_t *pending)
{
    if (!base || !q || !msg)
        return SG_LGMP_INVALID_ARGUMENT;
    memset(msg, 0, sizeof(*msg));
    if (pending)
        *pending = 0;
    /* The snapshot may have been edited by the caller: check again. */
    enum sg_lgmp_status why = SG_LGMP_OK;
    struct sg_lgmp_queue_info geo = *q;
    geo.write_index = geo.read_index = 0;
    if (!ring_ok(&geo, size, &why))
        return why;
    if (k >= q->slot_count)
        return SG_LGMP_BAD_INDEX;
    struct sg_lgmp_wire_msg m;
    sg_copy_from_shared(&m, (const uint8_t *)base + q->ring_offset + (size_t)k * SG_LGMP_MESSAGE_SLOT_SIZE,
                        sizeof(m));
    msg->app_value = m.app_value;
    msg->size = m.payload_size;
    msg->offset = m.payload_offset;
    if (pending)
        *pending = m.pending;
    if (!sg_range_ok(m.payload_offset, m.payload_size, size))
        return SG_LGMP_BAD_PAYLOAD;
    msg->mem = (uint8_t *)(uintptr_t)base + m.payload_offset;
    return SG_LGMP_OK;
}
