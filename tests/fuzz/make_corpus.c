/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Writes the fuzzer's seed regions: small but valid LGMP/KVMFR regions made
 * by our host code (the B7 layout needs 16 MiB; the client does not care
 * where buffers are, so these pack them tightly). Run it to regenerate
 * tests/fuzz/corpus/: fuzz_make_corpus DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvmfr.h"
#include "lgmp.h"

#define REGION 8192u
#define FB_OFFSET 1084u /* right after the header; 4-aligned */

static struct sg_lgmp_host *host;
static struct sg_lgmp_host_queue *frames, *cursors;
static uint8_t *region;

static int fail(const char *what, enum sg_lgmp_status st)
{
    fprintf(stderr, "fuzz_make_corpus: %s: %s\n", what, sg_lgmp_status_str(st));
    return -1;
}

static int setup(void)
{
    struct sg_kvmfr_info info = {0};
    strcpy(info.host_version, "fz");
    strcpy(info.capture, "X");
    strcpy(info.cpu_model, "c");
    strcpy(info.os_name, "o");
    info.cpus = info.cores = info.sockets = 1;
    info.features = SG_KVMFR_FEATURE_SET_CURSOR_POS;
    uint8_t app[256];
    size_t app_size = sg_kvmfr_build_info(&info, app, sizeof app);
    memset(region, 0, REGION);
    enum sg_lgmp_status st = sg_lgmp_host_create(&host, region, REGION, app, (uint32_t)app_size, NULL);
    if (st)
        return fail("host", st);
    if ((st = sg_lgmp_host_queue_create(host, SG_KVMFR_FRAME_QUEUE_ID, 2, 1000, &frames)) ||
        (st = sg_lgmp_host_queue_create(host, SG_KVMFR_CURSOR_QUEUE_ID, 3, 1000, &cursors)))
        return fail("queue", st);
    return 0;
}

/* One frame block of w x h texels of type, with damage rects. */
static int post_frame(uint32_t type, uint32_t w, uint32_t h, uint32_t frame_w, uint32_t ndamage,
                      uint32_t serial)
{
    uint32_t bpt = sg_kvmfr_bytes_per_texel(type), pitch = w * bpt;
    struct sg_lgmp_mem mem;
    enum sg_lgmp_status st = sg_lgmp_host_alloc(host, FB_OFFSET + 4 + h * pitch, &mem);
    if (st)
        return fail("frame alloc", st);
    sg_kvmfr_frame_init_block(mem.ptr, FB_OFFSET);
    struct sg_kvmfr_wire_frame fh = {
        .format_version = 1,
        .frame_serial = serial,
        .type = type,
        .screen_width = frame_w,
        .screen_height = h,
        .data_width = w,
        .data_height = h,
        .frame_width = frame_w,
        .frame_height = h,
        .stride = w,
        .pitch = pitch,
        .damage_count = ndamage,
    };
    for (uint32_t i = 0; i < ndamage; i++)
        fh.damage[i] = (struct sg_kvmfr_wire_rect){i % frame_w, 0, 1, h};
    sg_kvmfr_frame_write(mem.ptr, &fh);
    uint8_t *data = (uint8_t *)mem.ptr + FB_OFFSET + 4;
    for (uint32_t i = 0; i < h * pitch; i++)
        data[i] = (uint8_t)(i * 37);
    if ((st = sg_lgmp_host_post(frames, 0, &mem)))
        return fail("frame post", st);
    sg_kvmfr_progress_store((uint32_t *)((uint8_t *)mem.ptr + FB_OFFSET), h * pitch);
    return 0;
}

static int post_cursor(uint32_t flags, uint32_t type, uint32_t w, uint32_t rows, uint32_t pitch)
{
    uint32_t shape = flags & SG_CURSOR_FLAG_SHAPE ? rows * pitch : 0;
    struct sg_lgmp_mem mem;
    enum sg_lgmp_status st = sg_lgmp_host_alloc(host, SG_KVMFR_CURSOR_HEADER_SIZE + shape, &mem);
    if (st)
        return fail("cursor alloc", st);
    struct sg_kvmfr_wire_cursor c = {.x = 100,
                                     .y = -3,
                                     .shape_type = type,
                                     .hot_x = 1,
                                     .hot_y = 2,
                                     .width = w,
                                     .height = rows,
                                     .pitch = pitch};
    sg_kvmfr_cursor_write(mem.ptr, &c);
    uint8_t *s = (uint8_t *)mem.ptr + SG_KVMFR_CURSOR_HEADER_SIZE;
    for (uint32_t i = 0; i < shape; i++)
        s[i] = (uint8_t)(i * 91 + 7);
    if ((st = sg_lgmp_host_post(cursors, flags, &mem)))
        return fail("cursor post", st);
    return 0;
}

static int save(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    /* only what was allocated: the rest of the region is zero anyway */
    size_t used = REGION - (size_t)sg_lgmp_host_mem_avail(host);
    if (!fp || fwrite(region, 1, used, fp) != used || fclose(fp) != 0) {
        fprintf(stderr, "fuzz_make_corpus: cannot write %s\n", path);
        return -1;
    }
    printf("%s: %zu bytes\n", path, used);
    return 0;
}

/* A subscriber must exist for posts to land in the ring. */
static int subscribe(struct sg_lgmp_client **c)
{
    const uint8_t *app;
    uint32_t app_size;
    struct sg_lgmp_client_queue *q;
    enum sg_lgmp_status st = sg_lgmp_client_create(c, region, REGION, NULL);
    if (!st) {
        uint64_t clk;
        memcpy(&clk, region + 16, 8);
        clk++;
        memcpy(region + 16, &clk, 8);
        st = sg_lgmp_client_session_init(*c, &app, &app_size);
    }
    if (!st)
        st = sg_lgmp_client_subscribe(*c, SG_KVMFR_FRAME_QUEUE_ID, &q);
    if (!st)
        st = sg_lgmp_client_subscribe(*c, SG_KVMFR_CURSOR_QUEUE_ID, &q);
    return st ? fail("subscribe", st) : 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_make_corpus DIR\n");
        return 2;
    }
    region = aligned_alloc(4096, REGION);
    struct sg_lgmp_client *c = NULL;
    int bad = setup() || subscribe(&c) || post_frame(SG_FRAME_BGRA, 4, 2, 4, 1, 7) ||
              post_cursor(7, SG_CURSOR_COLOR, 2, 2, 8) || post_cursor(3, 0, 0, 0, 0) ||
              save(argv[1], "seed-bgra-colour");
    sg_lgmp_host_destroy(host);
    sg_lgmp_client_destroy(c);
    c = NULL;
    bad = bad || setup() || subscribe(&c) || post_frame(SG_FRAME_BGR_32, 64, 2, 5, 2, 8) ||
          post_cursor(5, SG_CURSOR_MONOCHROME, 8, 4, 1) || post_cursor(7, SG_CURSOR_MASKED_COLOR, 2, 1, 8) ||
          save(argv[1], "seed-bgr32-mono-masked");
    sg_lgmp_host_destroy(host);
    sg_lgmp_client_destroy(c);
    free(region);
    return bad ? 1 : 0;
}
