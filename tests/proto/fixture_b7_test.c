/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A region written by a real Looking Glass B7 host (shared/fixtures/README.md):
 * every fact listed there, read through our LGMP and KVMFR code.
 * Usage: fixture_b7_test FIXTURES_DIR
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "dump_image.h"
#include "fake_clock.h"
#include "kvmfr.h"
#include "lgmp.h"

#define REGION_SIZE 16777216u
#define FRAME_SIZE 6811648u
#define FRAME0 3153920u
#define FRAME1 9965568u

static const char *fixtures;
static uint8_t *region; /* private copy-on-write mapping: tests may scribble */

static int load_region(void **state)
{
    char tmpl[] = "/tmp/sg-fixture-XXXXXX", cmd[1024];
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return -1;
    snprintf(cmd, sizeof cmd, "xz -dc '%s/b7-800x600-16M.region.xz' > '%s'", fixtures, tmpl);
    int rc = system(cmd);
    unlink(tmpl);
    if (rc != 0) {
        fprintf(stderr, "fixture: '%s' failed (%d)\n", cmd, rc);
        close(fd);
        return -1;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size != REGION_SIZE) {
        fprintf(stderr, "fixture: decompressed region is %lld bytes, expected %u\n", (long long)size,
                REGION_SIZE);
        close(fd);
        return -1;
    }
    region = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    close(fd);
    return region == MAP_FAILED ? -1 : 0;
}

static int unload_region(void **state)
{
    munmap(region, REGION_SIZE);
    return 0;
}

static const struct sg_lgmp_queue_info *queue(const struct sg_lgmp_info *info, uint32_t index)
{
    assert_true(index < info->queues_valid);
    return &info->queues[index];
}

static void test_lgmp_header(void **state)
{
    struct sg_lgmp_info info;
    assert_int_equal(sg_lgmp_inspect(region, REGION_SIZE, &info), SG_LGMP_OK);
    assert_memory_equal(region, "LGMP", 4);
    assert_int_equal(info.magic, SG_LGMP_MAGIC);
    assert_int_equal(info.version, 6);
    assert_int_equal(info.queue_count, 2);
    assert_int_equal(info.queues_valid, 2);
    assert_int_equal(info.app_data_size, 197);
    assert_true(info.app_data_ok);
    assert_memory_equal(region + 5756, "KVMFR---", 8);
}

static void test_app_data(void **state)
{
    struct sg_kvmfr_info ki;
    assert_int_equal(sg_kvmfr_parse_info(region + 5756, 197, &ki), SG_KVMFR_OK);
    assert_int_equal(ki.version, 20);
    assert_string_equal(ki.host_version, "B7");
    assert_int_equal(ki.features, 0);
    assert_true(ki.has_vm_info);
    assert_true(ki.has_os_info);
    assert_int_equal(ki.records_seen, 2);
    assert_int_equal(ki.records_skipped, 0);
    assert_false(ki.records_truncated);
    assert_string_equal(ki.capture, "XCB");
    assert_int_equal(ki.os_kind, SG_OS_LINUX);
    /* §3.2: the B7 host writes exactly header + VM info + OS info */
    assert_int_equal(197, 118 + strlen(ki.cpu_model) + strlen(ki.os_name));
    /* and our host side builds the same bytes from the same facts */
    uint8_t buf[512];
    assert_int_equal(sg_kvmfr_build_info(&ki, buf, sizeof buf), 197);
    /* except the record padding, where B7 leaves stale bytes ("SDI", "MD I") */
    uint8_t ref[197];
    memcpy(ref, region + 5756, 197);
    size_t os_rec = 48 + 8 + 51 + strlen(ki.cpu_model) + 1;
    assert_int_equal(ref[os_rec], 2);
    memset(ref + 49, 0, 3);
    memset(ref + os_rec + 1, 0, 3);
    assert_memory_equal(buf, ref, 197);
}

static void test_frame_queue(void **state)
{
    struct sg_lgmp_info info;
    sg_lgmp_inspect(region, REGION_SIZE, &info);
    const struct sg_lgmp_queue_info *q = queue(&info, 0);
    assert_int_equal(q->queue_id, SG_KVMFR_FRAME_QUEUE_ID);
    assert_int_equal(q->slot_count, 3);
    assert_int_equal(q->sub_timeout_ms, 1000);
    assert_int_equal(q->subs, 1ull << 32); /* slot 0 active, nobody bad */
    assert_int_equal(q->outstanding, 1);
    assert_true(q->ring_ok);

    /* the layout of kvmfr.md §4 */
    struct sg_kvmfr_layout l;
    sg_kvmfr_layout_compute(197, 4096, REGION_SIZE, &l);
    assert_int_equal(q->ring_offset, l.a0);
    assert_int_equal(info.queues[1].ring_offset, l.cursor_ring);
    assert_int_equal(l.frame_block[0], FRAME0);
    assert_int_equal(l.frame_block[1], FRAME1);
    assert_int_equal(l.block_size, FRAME_SIZE);

    /* every used ring slot names one of the two blocks */
    for (uint32_t k = 0; k < q->slot_count; k++) {
        struct sg_lgmp_message m;
        assert_int_equal(sg_lgmp_inspect_slot(region, REGION_SIZE, q, k, &m, NULL), SG_LGMP_OK);
        if (m.offset == 0)
            continue;
        assert_true(m.offset == FRAME0 || m.offset == FRAME1);
        assert_int_equal(m.size, FRAME_SIZE);
        assert_int_equal(m.app_value, 0);
    }
    struct sg_lgmp_message m;
    uint32_t pending;
    assert_int_equal(sg_lgmp_inspect_slot(region, REGION_SIZE, q, q->read_index, &m, &pending), SG_LGMP_OK);
    assert_int_equal(m.offset, FRAME1);
    assert_int_equal(pending, 1);
    assert_int_equal((q->read_index + 1) % q->slot_count, q->write_index); /* it is also the newest */
}

static void test_newest_frame(void **state)
{
    struct sg_kvmfr_frame f;
    const uint8_t *p = region + FRAME1;
    assert_int_equal(sg_kvmfr_frame_read(p, FRAME_SIZE, &f), SG_KVMFR_OK);
    assert_int_equal(f.hdr.frame_serial, 751);
    assert_int_equal(f.hdr.type, SG_FRAME_BGRA);
    assert_int_equal(f.hdr.screen_width, 800);
    assert_int_equal(f.hdr.screen_height, 600);
    assert_int_equal(f.hdr.data_width, 800);
    assert_int_equal(f.hdr.data_height, 600);
    assert_int_equal(f.hdr.frame_width, 800);
    assert_int_equal(f.hdr.frame_height, 600);
    assert_int_equal(f.hdr.rotation, 0);
    assert_int_equal(f.hdr.stride, 800);
    assert_int_equal(f.hdr.pitch, 3200);
    assert_int_equal(f.hdr.fb_offset, 4092);
    assert_int_equal(f.hdr.damage_count, 0);
    assert_int_equal(f.hdr.flags, 0);
    uint32_t raw_flags;
    memcpy(&raw_flags, p + 1080, 4);
    assert_int_equal(raw_flags, 0);
    assert_int_equal(f.data_size, 1920000);
    assert_int_equal(sg_kvmfr_progress_load(sg_kvmfr_frame_progress_word((void *)p, &f)), 1920000);
    /* the other block is a valid (older) frame of the same format */
    struct sg_kvmfr_frame f0;
    assert_int_equal(sg_kvmfr_frame_read(region + FRAME0, FRAME_SIZE, &f0), SG_KVMFR_OK);
    assert_int_equal(f0.hdr.fb_offset, 4092);
    assert_true(f0.hdr.frame_serial < 751);
}

static void test_frame_pixels(void **state)
{
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/b7-800x600-screen.png", fixtures);
    uint8_t *png;
    uint32_t w, h;
    if (sg_dump_read_png(path, &png, &w, &h, err, sizeof err) != 0)
        fail_msg("%s", err);
    assert_int_equal(w, 800);
    assert_int_equal(h, 600);

    struct sg_kvmfr_frame f;
    assert_int_equal(sg_kvmfr_frame_read(region + FRAME1, FRAME_SIZE, &f), SG_KVMFR_OK);
    uint8_t *bgra = malloc(600 * 3200);
    uint32_t rows;
    assert_int_equal(sg_kvmfr_frame_copy(region + FRAME1, &f, bgra, 3200, false, &rows), SG_KVMFR_OK);
    assert_int_equal(rows, 600);
    uint32_t mismatches = 0, alpha_nonzero = 0;
    for (uint32_t y = 0; y < 600; y++)
        for (uint32_t x = 0; x < 800; x++) {
            const uint8_t *s = bgra + y * 3200 + x * 4, *r = png + (y * 800 + x) * 4;
            alpha_nonzero += s[3] != 0;
            if (s[0] == r[2] && s[1] == r[1] && s[2] == r[0])
                continue;
            mismatches++;
            if (x < 104 || x > 107 || y < 117 || y > 127)
                fail_msg("pixel %u,%u differs outside the text cursor box: BGR %u,%u,%u vs PNG RGB %u,%u,%u",
                         x, y, s[0], s[1], s[2], r[0], r[1], r[2]);
        }
    assert_int_equal(mismatches, 44);
    assert_int_equal(alpha_nonzero, 0);
    /* background #204080 */
    assert_int_equal(bgra[0], 0x80);
    assert_int_equal(bgra[1], 0x40);
    assert_int_equal(bgra[2], 0x20);
    free(bgra);
    free(png);
}

struct want_cursor {
    uint32_t flags;
    int x, y;
    uint32_t type, w, h, pitch;
    int hot_x, hot_y;
};

static void test_cursor_queue(void **state)
{
    static const struct want_cursor want[3] = {
        {0x7, 317, 115, SG_CURSOR_COLOR, 9, 16, 36, 4, 8},
        {0x7, 396, 296, SG_CURSOR_COLOR, 24, 24, 96, 4, 4},
        {0x3, 406, 301, 0, 0, 0, 0, 0, 0},
    };
    static const int hotspot[3][2] = {{321, 123}, {400, 300}, {410, 305}};
    struct sg_lgmp_info info;
    sg_lgmp_inspect(region, REGION_SIZE, &info);
    const struct sg_lgmp_queue_info *q = queue(&info, 1);
    assert_int_equal(q->queue_id, SG_KVMFR_CURSOR_QUEUE_ID);
    assert_int_equal(q->slot_count, 21);
    assert_int_equal(q->sub_timeout_ms, 1000);
    assert_int_equal(q->subs, 1ull << 32);
    assert_int_equal(q->client_tag[0], info.queues[0].client_tag[0]); /* the same subscriber */
    assert_int_equal(q->outstanding, 3);

    uint8_t *copy = malloc(SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE);
    int hot_x = 0, hot_y = 0;
    for (uint32_t k = 0; k < 3; k++) {
        struct sg_lgmp_message m;
        assert_int_equal(sg_lgmp_inspect_slot(region, REGION_SIZE, q, (q->read_index + k) % 21, &m, NULL),
                         SG_LGMP_OK);
        assert_int_equal(m.app_value, want[k].flags);
        struct sg_kvmfr_cursor c;
        assert_int_equal(
            sg_kvmfr_cursor_read(m.mem, m.size, m.app_value, copy, SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE, &c),
            SG_KVMFR_OK);
        assert_int_equal(c.x, want[k].x);
        assert_int_equal(c.y, want[k].y);
        if (want[k].flags & SG_CURSOR_FLAG_SHAPE) {
            assert_int_equal(m.size, SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE);
            assert_int_equal(c.shape_type, want[k].type);
            assert_int_equal(c.width, want[k].w);
            assert_int_equal(c.height, want[k].h);
            assert_int_equal(c.pitch, want[k].pitch);
            hot_x = c.hot_x;
            hot_y = c.hot_y;
            assert_int_equal(hot_x, want[k].hot_x);
            assert_int_equal(hot_y, want[k].hot_y);
            /* a real arrow: some opaque and some transparent pixels */
            size_t n = (size_t)c.width * c.height, opaque = 0, clear = 0;
            uint8_t *rgba = malloc(n * 4), *inv = malloc(n);
            assert_int_equal(sg_kvmfr_cursor_decode(&c, rgba, inv, n), SG_KVMFR_OK);
            for (size_t i = 0; i < n; i++) {
                opaque += rgba[i * 4 + 3] == 255;
                clear += rgba[i * 4 + 3] == 0;
                assert_int_equal(inv[i], 0);
            }
            assert_true(opaque > 0 && clear > 0);
            free(rgba);
            free(inv);
        } else {
            assert_int_equal(m.size, SG_KVMFR_CURSOR_HEADER_SIZE);
            assert_null(c.shape);
        }
        assert_int_equal(c.x + hot_x, hotspot[k][0]);
        assert_int_equal(c.y + hot_y, hotspot[k][1]);
    }
    free(copy);
}

/* Our client attaches to the B7 region (the heartbeat is moved by hand: the
 * saved host is not ticking) and takes a free subscriber slot. */
static void test_client_attach(void **state)
{
    struct sg_lgmp_client *c;
    struct sg_fake_clock fc;
    sg_fake_clock_init(&fc, 5000);
    assert_int_equal(sg_lgmp_client_create(&c, region, REGION_SIZE, &fc.clock), SG_LGMP_OK);
    const uint8_t *app;
    uint32_t app_size;
    assert_int_equal(sg_lgmp_client_session_init(c, &app, &app_size), SG_LGMP_INVALID_SESSION);
    uint64_t clk;
    memcpy(&clk, region + 16, 8);
    clk += 10;
    memcpy(region + 16, &clk, 8);
    assert_int_equal(sg_lgmp_client_session_init(c, &app, &app_size), SG_LGMP_OK);
    assert_int_equal(app_size, 197);
    struct sg_kvmfr_info ki;
    assert_int_equal(sg_kvmfr_parse_info(app, app_size, &ki), SG_KVMFR_OK);
    struct sg_lgmp_client_queue *fq, *cq;
    assert_int_equal(sg_lgmp_client_subscribe(c, SG_KVMFR_FRAME_QUEUE_ID, &fq), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_subscribe(c, SG_KVMFR_CURSOR_QUEUE_ID, &cq), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_queue_slot(fq), 1); /* slot 0 belongs to the B7 client */
    assert_int_equal(sg_lgmp_client_queue_slot(cq), 1);
    struct sg_lgmp_message m;
    assert_int_equal(sg_lgmp_client_process(fq, &m), SG_LGMP_QUEUE_EMPTY); /* only newer messages */
    assert_int_equal(sg_lgmp_client_process(cq, &m), SG_LGMP_QUEUE_EMPTY);
    assert_int_equal(sg_lgmp_client_unsubscribe(&fq), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_client_unsubscribe(&cq), SG_LGMP_OK);
    /* the saved host no longer ticks: gone once more than 1000 ms pass */
    assert_true(sg_lgmp_client_session_valid(c));
    fc.now += 1000;
    assert_true(sg_lgmp_client_session_valid(c));
    fc.now += 1;
    assert_false(sg_lgmp_client_session_valid(c));
    sg_lgmp_client_destroy(c);
}

int main(int argc, char **argv)
{
    fixtures = argc > 1 ? argv[1] : "../shared/fixtures";
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lgmp_header),   cmocka_unit_test(test_app_data),
        cmocka_unit_test(test_frame_queue),   cmocka_unit_test(test_newest_frame),
        cmocka_unit_test(test_frame_pixels),  cmocka_unit_test(test_cursor_queue),
        cmocka_unit_test(test_client_attach),
    };
    return cmocka_run_group_tests(tests, load_region, unload_region);
}
