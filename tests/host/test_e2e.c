/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spyglass-host -c testpattern -> region -> a proto client: every pixel of
 * every frame, damage lists, cursor shapes of all three types and positions,
 * placement and queues as in kvmfr.md, a still screen posts nothing, new
 * subscribers get frame and shape at once, SET_CURSOR_POS is acknowledged,
 * a host restart gives a new session, a small region gives TRUNCATED, and a
 * missing or unwritable region is a clean error.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sg_cmocka.h"

#include "harness.h"
#include "reader.h"
#include "fbdev.h"
#include "testpattern.h"
#include "testpattern_check.h"

static char region[128], logpath[128], fbpath[128];

static pid_t start_host(const char *const *extra)
{
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)harness_host_path();
    argv[n++] = "-c";
    argv[n++] = "testpattern";
    argv[n++] = "-f";
    argv[n++] = region;
    argv[n++] = "-l";
    argv[n++] = "debug";
    for (; extra && *extra; extra++)
        argv[n++] = (char *)*extra;
    argv[n] = NULL;
    pid_t pid = harness_spawn(argv, logpath);
    assert_true(pid > 0);
    return pid;
}

static void fail_with_log(const char *what, const char *err)
{
    char *log = harness_read_file(logpath);
    fail_msg("%s: %s\nhost log:\n%s", what, err, log ? log : "(none)");
}

/* Every pixel of the reader's image against frame n of the pattern. */
static uint32_t check_pixels(struct reader *r, uint32_t w, uint32_t h, uint32_t rows)
{
    uint32_t n = sg_tp_decode_frame(r->img);
    for (uint32_t y = 0; y < rows; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint32_t px;
            memcpy(&px, r->img + (size_t)y * r->pitch + x * 4, 4);
            uint32_t want = sg_tp_pixel(w, h, n, x, y);
            if (px != want)
                fail_msg("frame serial %u (pattern %u, %s copy): pixel (%u,%u) is %08x, want %08x",
                         r->frame.hdr.frame_serial, n, r->frame_was_partial ? "damage" : "full", x, y, px,
                         want);
        }
    return n;
}

struct cursor_check {
    bool seen_type[3];
    int32_t hot_x, hot_y;
    bool have_shape;
    uint32_t shapes, positions;
    int32_t last_x, last_y; /* hotspot */
};

static void check_cursor(struct reader *r, struct cursor_check *cc, uint32_t w, uint32_t h, uint32_t n_max)
{
    const struct sg_kvmfr_cursor *c = &r->cursor;
    if (c->flags & SG_CURSOR_FLAG_SHAPE) {
        uint8_t *want = malloc(SG_KVMFR_CURSOR_MAX_SHAPE_BYTES);
        struct sg_capture_cursor wc;
        assert_true(c->shape_type <= 2);
        uint32_t bytes = sg_tp_cursor_shape(c->shape_type * SG_TP_SHAPE_PERIOD, &wc, want);
        assert_int_equal(c->width, wc.width);
        assert_int_equal(c->data_rows, wc.height);
        assert_int_equal(c->pitch, wc.pitch);
        assert_int_equal(c->hot_x, wc.hot_x);
        assert_int_equal(c->hot_y, wc.hot_y);
        assert_int_equal(c->shape_size, bytes);
        assert_memory_equal(c->shape, want, bytes);
        free(want);
        cc->seen_type[c->shape_type] = true;
        cc->hot_x = c->hot_x;
        cc->hot_y = c->hot_y;
        cc->have_shape = true;
        cc->shapes++;
        /* the shape message lives in one of the 3 shape buffers */
        assert_true(c->flags & SG_CURSOR_FLAG_POSITION);
    }
    assert_true(c->flags & SG_CURSOR_FLAG_VISIBLE);
    if ((c->flags & SG_CURSOR_FLAG_POSITION) && cc->have_shape) {
        int32_t hx = c->x + cc->hot_x, hy = c->y + cc->hot_y;
        bool on_path = false;
        for (uint32_t k = n_max > 60 ? n_max - 60 : 0; k <= n_max + 5 && !on_path; k++) {
            int32_t x, y;
            sg_tp_cursor_pos(w, h, k, &x, &y);
            on_path = x == hx && y == hy;
        }
        if (!on_path)
            fail_msg("cursor hotspot (%d,%d) is not on the pattern's path near frame %u", hx, hy, n_max);
        cc->positions++;
        cc->last_x = hx;
        cc->last_y = hy;
    }
}

static void drain_cursor(struct reader *r, struct cursor_check *cc, uint32_t w, uint32_t h, uint32_t n)
{
    int rc;
    while ((rc = reader_next_cursor(r, 0)) == 0)
        check_cursor(r, cc, w, h, n);
    if (rc < 0)
        fail_with_log("cursor", r->err);
}

static void test_stream(void **state)
{
    const uint32_t W = 320, H = 240;
    const char *extra[] = {"-o", "testpattern:width=320", "-o", "testpattern:height=240",
                           "-o", "testpattern:rate=120",  NULL};
    pid_t host = start_host(extra);
    struct reader r;
    if (reader_open(&r, region, 5000) != 0)
        fail_with_log("attach", r.err);
    r.verify_block = true;

    /* app data (kvmfr.md §3.2) */
    assert_int_equal(r.info.version, 20);
    assert_int_equal(r.info.features, SG_KVMFR_FEATURE_SET_CURSOR_POS);
    assert_string_equal(r.info.capture, "testpattern");
    assert_true(r.info.has_os_info);
    assert_int_equal(r.info.os_kind, SG_OS_LINUX);
    assert_true(strncmp(r.info.host_version, "spyglass ", 9) == 0);

    /* queues and placement (§3.1, §4) */
    struct sg_lgmp_info li;
    assert_int_equal(sg_lgmp_inspect(r.shm.base, r.shm.size, &li), SG_LGMP_OK);
    assert_int_equal(li.queue_count, 2);
    assert_int_equal(li.queues[0].queue_id, SG_KVMFR_FRAME_QUEUE_ID);
    assert_int_equal(li.queues[0].slot_count, 3);
    assert_int_equal(li.queues[0].sub_timeout_ms, 1000);
    assert_int_equal(li.queues[1].queue_id, SG_KVMFR_CURSOR_QUEUE_ID);
    assert_int_equal(li.queues[1].slot_count, 21);
    assert_int_equal(li.queues[1].sub_timeout_ms, 1000);
    struct sg_kvmfr_layout L;
    sg_kvmfr_layout_compute(li.app_data_size, 4096, r.shm.size, &L);
    assert_true(L.fits);
    assert_int_equal(li.queues[0].ring_offset, L.a0);
    assert_int_equal(li.queues[1].ring_offset, L.cursor_ring);

    struct cursor_check cc = {0};
    uint32_t first_n = 0, partial = 0, full = 0, prev_n = 0;
    for (uint32_t i = 0; i < 260; i++) {
        int rc = reader_next_frame(&r, 3000);
        if (rc != 0)
            fail_with_log("frame", rc < 0 ? r.err : "timeout");
        assert_true(r.frame_offset == L.frame_block[0] || r.frame_offset == L.frame_block[1]);
        assert_int_equal(r.frame.hdr.fb_offset, 4092);
        assert_int_equal(r.frame.hdr.type, SG_FRAME_BGRA);
        assert_int_equal(r.frame.hdr.frame_width, W);
        assert_int_equal(r.frame.hdr.frame_height, H);
        assert_int_equal(r.frame.hdr.pitch, W * 4);
        assert_int_equal(r.frame.hdr.flags, 0);
        uint32_t n = check_pixels(&r, W, H, H);
        /* the block itself holds the whole image, not only this frame's damage */
        if (memcmp(r.block_img, r.img, (size_t)H * r.pitch) != 0)
            fail_msg("frame serial %u: the block differs from the client's image", r.frame.hdr.frame_serial);
        if (i == 0)
            first_n = n;
        else
            assert_int_equal(n, prev_n + 1); /* no frame skipped: one client keeps up */
        assert_int_equal(n - first_n, r.frame.hdr.frame_serial - (r.last_serial - i));
        if (i > 0 && r.frame.hdr.damage_count) {
            struct sg_capture_rect want[SG_CAPTURE_MAX_DAMAGE];
            uint32_t count;
            sg_tp_damage(W, H, n, want, &count);
            assert_int_equal(r.frame.hdr.damage_count, count);
            for (uint32_t k = 0; k < count; k++) {
                assert_int_equal(r.frame.hdr.damage[k].x, want[k].x);
                assert_int_equal(r.frame.hdr.damage[k].y, want[k].y);
                assert_int_equal(r.frame.hdr.damage[k].width, want[k].w);
                assert_int_equal(r.frame.hdr.damage[k].height, want[k].h);
            }
        } else if (i > 0) {
            assert_int_equal(n % SG_TP_SCENE, 0); /* only a scene change is a full frame */
        }
        if (r.frame_was_partial)
            partial++;
        else
            full++;
        prev_n = n;
        drain_cursor(&r, &cc, W, H, n);
    }
    assert_true(partial > 200);
    assert_true(full >= 2);
    assert_true(cc.seen_type[0] && cc.seen_type[1] && cc.seen_type[2]);
    assert_true(cc.positions > 100);

    /* restart: a new session id, the client re-attaches and sees frames again */
    uint32_t old_session = r.session;
    assert_int_equal(harness_stop(host), 0);
    host = start_host(extra);
    if (reader_reattach(&r, 5000) != 0)
        fail_with_log("re-attach", r.err);
    assert_int_not_equal(r.session, old_session);
    int rc = reader_next_frame(&r, 3000);
    if (rc != 0)
        fail_with_log("frame after restart", rc < 0 ? r.err : "timeout");
    check_pixels(&r, W, H, H);

    /* somebody wipes the region (a VM reset, another host): the host starts
     * a new session on its next tick and the client re-attaches */
    old_session = r.session;
    memset(r.shm.base, 0, 4096);
    if (reader_reattach(&r, 5000) != 0)
        fail_with_log("re-attach after a wipe", r.err);
    assert_int_not_equal(r.session, old_session);
    rc = reader_next_frame(&r, 3000);
    if (rc != 0)
        fail_with_log("frame after a wipe", rc < 0 ? r.err : "timeout");
    check_pixels(&r, W, H, H);
    reader_close(&r);
    assert_int_equal(harness_stop(host), 0);
    assert_true(harness_wait_log(logpath, "was overwritten: starting a new session", 0));
}

static void test_still_and_subscribers(void **state)
{
    const uint32_t W = 200, H = 150;
    const char *extra[] = {"-o", "testpattern:width=200", "-o", "testpattern:height=150",
                           "-o", "testpattern:rate=100",  "-o", "testpattern:frames=5",
                           NULL};
    pid_t host = start_host(extra);
    struct reader r, r2;
    if (reader_open(&r, region, 5000) != 0)
        fail_with_log("attach", r.err);
    struct cursor_check cc = {0};
    uint32_t n = 0;
    do {
        int rc = reader_next_frame(&r, 3000);
        if (rc != 0)
            fail_with_log("frame", rc < 0 ? r.err : "timeout");
        n = check_pixels(&r, W, H, H);
        drain_cursor(&r, &cc, W, H, n);
    } while (n < 4);
    /* still: nothing is posted */
    assert_int_equal(reader_next_frame(&r, 600), 1);
    drain_cursor(&r, &cc, W, H, n);
    assert_true(cc.have_shape);

    /* a new subscriber gets the current frame and the shape at once */
    uint64_t t0 = reader_now_ms();
    if (reader_open(&r2, region, 2000) != 0)
        fail_with_log("second attach", r2.err);
    int rc = reader_next_frame(&r2, 1000);
    if (rc != 0)
        fail_with_log("re-post to a new subscriber", rc < 0 ? r2.err : "timeout");
    assert_int_equal(r2.frame.hdr.frame_serial, r.last_serial);
    assert_int_equal(check_pixels(&r2, W, H, H), 4);
    rc = reader_next_cursor(&r2, 1000);
    if (rc != 0)
        fail_with_log("cursor for a new subscriber", rc < 0 ? r2.err : "timeout");
    assert_true(r2.cursor.flags & SG_CURSOR_FLAG_SHAPE);
    assert_true(r2.cursor.flags & SG_CURSOR_FLAG_POSITION);
    assert_int_equal(r2.cursor.x + r2.cursor.hot_x, cc.last_x);
    assert_int_equal(r2.cursor.y + r2.cursor.hot_y, cc.last_y);
    assert_true(reader_now_ms() - t0 < 1500);
    /* the first client ignores the re-post (same serial): still nothing new */
    assert_int_equal(reader_next_frame(&r, 200), 1);
    drain_cursor(&r, &cc, W, H, n);

    /* SET_CURSOR_POS: acknowledged, and the cursor is there */
    if (reader_set_cursor_pos(&r, 77, 55, 1000) != 0)
        fail_with_log("SET_CURSOR_POS", r.err);
    rc = reader_next_cursor(&r, 500);
    if (rc != 0)
        fail_with_log("cursor after SET_CURSOR_POS", rc < 0 ? r.err : "timeout");
    assert_true(r.cursor.flags & SG_CURSOR_FLAG_POSITION);
    assert_int_equal(r.cursor.x + cc.hot_x, 77);
    assert_int_equal(r.cursor.y + cc.hot_y, 55);
    reader_close(&r2);
    reader_close(&r);
    /* nobody left: capture stops */
    if (!harness_wait_log(logpath, "no client: capture stopped", 2000))
        fail_with_log("capture still running", "no 'capture stopped' after the last client left");
    assert_int_equal(harness_stop(host), 0);
    char *log = harness_read_file(logpath);
    assert_non_null(strstr(log, "SET_CURSOR_POS 77,55"));
    /* and it only started once somebody subscribed */
    char *started = strstr(log, "capture started"), *waiting = strstr(log, "waiting for clients");
    assert_true(started && waiting && waiting < started);
    free(log);
}

static void test_fps_cap(void **state)
{
    const char *extra[] = {"-o", "testpattern:width=160", "-o",    "testpattern:height=120",
                           "-o", "testpattern:rate=0",    "--fps", "20",
                           NULL};
    pid_t host = start_host(extra);
    struct reader r;
    if (reader_open(&r, region, 5000) != 0)
        fail_with_log("attach", r.err);
    struct cursor_check cc = {0};
    int rc = reader_next_frame(&r, 2000);
    if (rc != 0)
        fail_with_log("frame", rc < 0 ? r.err : "timeout");
    /* The cap is a floor on the time between frames, which load can only
     * lengthen: 20 intervals take at least 1 s at 20 fps (minus how late the
     * first of them may have been seen). No lower bound on the rate: that
     * would be a speed test. */
    const uint32_t intervals = 20;
    if (reader_next_frame(&r, 5000) != 0)
        fail_with_log("frame", r.err);
    uint64_t t0 = reader_now_ms(), deadline = t0 + 30000;
    uint32_t frames = 0;
    while (frames < intervals && reader_now_ms() < deadline) {
        if (reader_next_frame(&r, 50) == 0)
            frames++;
        drain_cursor(&r, &cc, 160, 120, sg_tp_decode_frame(r.img));
    }
    uint64_t took = reader_now_ms() - t0;
    if (frames < intervals)
        fail_msg("only %u frames in 30 s with --fps 20", frames);
    /* the backend could make thousands a second; the cap allows 20 */
    if (took < 750)
        fail_msg("%u frames in %llu ms with --fps 20", frames, (unsigned long long)took);
    reader_close(&r);
    assert_int_equal(harness_stop(host), 0);
}

static void test_truncated(void **state)
{
    FILE *f = fopen(region, "wb");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 8 << 20), 0);
    fclose(f);
    const char *extra[] = {"-o", "testpattern:width=1920", "-o", "testpattern:height=1080",
                           "-o", "testpattern:rate=30",    NULL};
    pid_t host = start_host(extra);
    struct reader r;
    if (reader_open(&r, region, 5000) != 0)
        fail_with_log("attach", r.err);
    int rc = reader_next_frame(&r, 3000);
    if (rc != 0)
        fail_with_log("frame", rc < 0 ? r.err : "timeout");
    struct sg_kvmfr_layout L;
    sg_kvmfr_layout_compute((uint32_t)(r.frame_offset ? 0 : 0) + 0, 4096, 8 << 20, &L);
    assert_true(r.frame.hdr.flags & SG_FRAME_FLAG_TRUNCATED);
    assert_int_equal(r.frame.hdr.frame_height, 1080);
    assert_true(r.frame.hdr.data_height < 1080 && r.frame.hdr.data_height > 300);
    /* the rows that are there are right */
    check_pixels(&r, 1920, 1080, r.frame.hdr.data_height);
    reader_close(&r);
    assert_int_equal(harness_stop(host), 0);
    char *log = harness_read_file(logpath);
    if (!strstr(log, "Use a region of 32 MiB") || !strstr(log, "TRUNCATED"))
        fail_msg("no size advice in the log:\n%s", log);
    free(log);
}

/* fbdev on a plain file (24 bpp): the whole host path, pixel-exact, and a
 * change in the file arrives as a small damaged area. */
static void test_fbdev(void **state)
{
    const uint32_t W = 320, H = 200;
    uint8_t *fb = malloc(W * H * 3);
    for (uint32_t i = 0; i < W * H * 3; i++)
        fb[i] = (uint8_t)(i * 7 + i / 977);
    FILE *f = fopen(fbpath, "wb");
    fwrite(fb, 1, W * H * 3, f);
    fclose(f);
    char dev[160];
    snprintf(dev, sizeof(dev), "fbdev:device=%s", fbpath);
    char *argv[] = {(char *)harness_host_path(), "-c", "fbdev",          "-o", dev,    "-o",
                    "fbdev:geometry=320x200x24", "-o", "fbdev:rate=100", "-f", region, NULL};
    pid_t host = harness_spawn(argv, logpath);
    struct reader r;
    if (reader_open(&r, region, 5000) != 0)
        fail_with_log("attach", r.err);
    assert_string_equal(r.info.capture, "fbdev");
    int rc = reader_next_frame(&r, 3000);
    if (rc != 0)
        fail_with_log("frame", rc < 0 ? r.err : "timeout");
    assert_int_equal(r.frame.hdr.frame_width, W);
    assert_int_equal(r.frame.hdr.frame_height, H);
    struct sg_fb_format fmt;
    sg_fbdev_default_format(24, &fmt);
    uint32_t *want = malloc(W * H * 4);
    sg_fbdev_convert(&fmt, fb, want, W * H);
    assert_memory_equal(r.img, want, W * H * 4);
    /* change 10x4 pixels at (200, 150) */
    for (uint32_t y = 150; y < 154; y++)
        memset(fb + (y * W + 200) * 3, 0xee, 10 * 3);
    f = fopen(fbpath, "r+b");
    fwrite(fb, 1, W * H * 3, f);
    fclose(f);
    rc = reader_next_frame(&r, 3000);
    if (rc != 0)
        fail_with_log("frame after a change", rc < 0 ? r.err : "timeout");
    assert_true(r.frame.hdr.damage_count > 0);
    uint64_t area = 0;
    for (uint32_t i = 0; i < r.frame.hdr.damage_count; i++)
        area += (uint64_t)r.frame.hdr.damage[i].width * r.frame.hdr.damage[i].height;
    assert_true(area < W * H / 4);
    sg_fbdev_convert(&fmt, fb, want, W * H);
    assert_memory_equal(r.img, want, W * H * 4);
    reader_close(&r);
    assert_int_equal(harness_stop(host), 0);
    unlink(fbpath);
    free(fb);
    free(want);
}

static int run_host(char *const *argv, int *status, bool as_nobody)
{
    pid_t pid = as_nobody ? harness_spawn_as(argv, logpath, 65534, 65534) : harness_spawn(argv, logpath);
    if (harness_wait(pid, 5000, status) != 0) {
        harness_stop(pid);
        return -1;
    }
    return 0;
}

static void expect_failure(char *const *argv, bool as_nobody, const char *msg1, const char *msg2,
                           int want_status)
{
    int status;
    assert_int_equal(run_host(argv, &status, as_nobody), 0);
    if (as_nobody && (status == 126 || status == 127)) {
        print_message("user nobody cannot run %s here (status %d): the check did not run\n", argv[0], status);
        skip();
    }
    char *log = harness_read_file(logpath);
    if (status != want_status || !strstr(log, msg1) || (msg2 && !strstr(log, msg2)))
        fail_msg("status %d (want %d), log:\n%s\n(wanted '%s' and '%s')", status, want_status, log, msg1,
                 msg2 ? msg2 : "");
    free(log);
}

static void test_region_errors(void **state)
{
    char missing[128];
    snprintf(missing, sizeof(missing), "/nonexistent-%d/region", (int)getpid());
    char *a1[] = {(char *)harness_host_path(), "-c", "testpattern", "-f", missing, NULL};
    expect_failure(a1, false, missing, "No such file or directory", 1);

    char *a2[] = {(char *)harness_host_path(), "-c", "testpattern", "-f", "/dev/kvmfr9", NULL};
    expect_failure(a2, false, "/dev/kvmfr9", NULL, 1);

    /* too small for even the cursor buffers */
    char *a3[] = {(char *)harness_host_path(), "-c", "testpattern", "-f", region, NULL};
    FILE *f = fopen(region, "wb");
    assert_int_equal(ftruncate(fileno(f), 1 << 20), 0);
    fclose(f);
    expect_failure(a3, false, "is too small", "1048576 bytes", 1);
    unlink(region);

    char *a4[] = {(char *)harness_host_path(), "-c", "nope", "-f", region, NULL};
    expect_failure(a4, false, "unknown capture backend 'nope'", NULL, 2);
    char *a5[] = {(char *)harness_host_path(), "-c", "testpattern", "-o",
                  "testpattern:width=12",      "-f", region,        NULL};
    expect_failure(a5, false, "testpattern: 12x720 is too small", NULL, 1);
}

/* A file the host may not write (root may write anything: the host runs as nobody then). */
static void test_region_unwritable(void **state)
{
    FILE *f = fopen(region, "wb");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), 32 << 20), 0);
    fclose(f);
    chmod(region, 0444);
    char *argv[] = {(char *)harness_host_path(), "-c", "testpattern", "-f", region, NULL};
    expect_failure(argv, getuid() == 0, region, "Permission denied", 1);
    unlink(region);
}

static int setup(void **state)
{
    snprintf(region, sizeof(region), "/dev/shm/sg-host-e2e-%d", (int)getpid());
    snprintf(logpath, sizeof(logpath), "/tmp/sg-host-e2e-%d.log", (int)getpid());
    snprintf(fbpath, sizeof(fbpath), "/tmp/sg-host-e2e-fb-%d", (int)getpid());
    harness_remove_on_signal(region);
    harness_remove_on_signal(logpath);
    harness_remove_on_signal(fbpath);
    unlink(region);
    return 0;
}

static int teardown(void **state)
{
    harness_cleanup();
    unlink(region);
    unlink(logpath);
    unlink(fbpath); /* test_fbdev's frame buffer file, also when an assertion failed */
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_still_and_subscribers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fps_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fbdev, setup, teardown),
        cmocka_unit_test_setup_teardown(test_region_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_region_unwritable, setup, teardown),
    };
    return sg_run_tests(argc, argv, tests, NULL, NULL);
}
