/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "publisher_private.h"

#include <stdio.h>
#include <string.h>

/* Spinning per call on a lock a client holds (LGMP takes a lock held for good
 * over after 0.2 s, across calls). */
#define HOST_LOCK_SPIN_MS 2u

int sg_publisher_setup_region(struct sg_publisher *p, char *err, size_t err_size)
{
    sg_lgmp_host_destroy(p->lgmp);
    p->lgmp = NULL;
    sg_kvmfr_layout_compute(p->app_size, SG_PUBLISHER_ALIGN, p->size, &p->layout);
    if (!p->layout.fits) {
        snprintf(
            err, err_size,
            "region %s is too small: %zu bytes; the cursor buffers alone need %llu, and two frame buffers "
            "come on top: use at least 16 MiB (32 MiB for 1920x1080)",
            p->region_name, p->size, (unsigned long long)p->layout.fixed_end);
        return -1;
    }
    enum sg_lgmp_status st = sg_lgmp_host_create(&p->lgmp, p->base, p->size, p->app, p->app_size, p->clock);
    if (st != SG_LGMP_OK) {
        snprintf(err, err_size, "region %s (%zu bytes): cannot start an LGMP session: %s", p->region_name,
                 p->size, sg_lgmp_status_str(st));
        return -1;
    }
    /* the tick and the frame loop retry instead: neither waits long on a client */
    sg_lgmp_host_set_lock_spin(p->lgmp, HOST_LOCK_SPIN_MS);
    /* kvmfr.md §4: this exact order gives the B7 placement */
    st = sg_lgmp_host_queue_create(p->lgmp, SG_KVMFR_FRAME_QUEUE_ID, SG_KVMFR_FRAME_QUEUE_LEN,
                                   SG_KVMFR_SUB_TIMEOUT_MS, &p->fq);
    if (st == SG_LGMP_OK)
        st = sg_lgmp_host_queue_create(p->lgmp, SG_KVMFR_CURSOR_QUEUE_ID, SG_KVMFR_CURSOR_QUEUE_LEN,
                                       SG_KVMFR_SUB_TIMEOUT_MS, &p->cq);
    for (uint32_t i = 0; st == SG_LGMP_OK && i < SG_KVMFR_CURSOR_RECORDS; i++)
        if ((st = sg_lgmp_host_alloc(p->lgmp, SG_KVMFR_CURSOR_HEADER_SIZE, &p->records[i])) == SG_LGMP_OK)
            memset(p->records[i].ptr, 0, SG_KVMFR_CURSOR_HEADER_SIZE);
    for (uint32_t i = 0; st == SG_LGMP_OK && i < SG_KVMFR_CURSOR_SHAPE_BUFFERS; i++)
        if ((st = sg_lgmp_host_alloc(p->lgmp, SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE, &p->shapes[i])) ==
            SG_LGMP_OK)
            memset(p->shapes[i].ptr, 0, SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE);
    for (uint32_t i = 0; st == SG_LGMP_OK && i < 2; i++)
        st = sg_lgmp_host_alloc_aligned(p->lgmp, SG_PUBLISHER_ALIGN, (uint32_t)p->layout.max_frame_size,
                                        &p->blocks[i]);
    if (st != SG_LGMP_OK) {
        snprintf(err, err_size, "region %s (%zu bytes): allocation failed: %s", p->region_name, p->size,
                 sg_lgmp_status_str(st));
        return -1;
    }
    if (p->records[0].offset != p->layout.cursor_records || p->shapes[0].offset != p->layout.shape_buffers ||
        p->blocks[0].offset != p->layout.frame_block[0] || p->blocks[1].offset != p->layout.frame_block[1] ||
        p->blocks[0].size != p->layout.block_size) {
        snprintf(err, err_size,
                 "region %s: placement differs from kvmfr.md §4 (block 0 at %u, expected %llu)",
                 p->region_name, p->blocks[0].offset, (unsigned long long)p->layout.frame_block[0]);
        return -1;
    }
    for (int i = 0; i < 2; i++) {
        sg_kvmfr_frame_init_block(p->blocks[i].ptr, SG_PUBLISHER_ALIGN - 4);
        p->blk[i].valid = false;
    }
    p->next_block = 0;
    p->last_block = -1;
    p->rec_i = p->shape_i = 0;
    p->cur_shape = -1;
    stat_add(&p->stats.sessions, 1);
    LOG_I("region %s: %zu bytes, session %08x, frame buffers of %llu bytes at %u and %u", p->region_name,
          p->size, sg_lgmp_host_session_id(p->lgmp), (unsigned long long)p->layout.max_data_size,
          p->blocks[0].offset, p->blocks[1].offset);
    return 0;
}
