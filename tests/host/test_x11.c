/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * spyglass-host -c x11 on Xvfb, read back through the region: known content
 * pixel-exact, damage rectangles around a change (and not the whole screen),
 * the cursor shape and position the X server has, SET_CURSOR_POS moving the
 * X pointer, and a display restarted with another size followed without a
 * host restart. (Xvfb's RandR cannot resize the screen, hence the restart.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <xcb/xcb.h>
#include <xcb/xfixes.h>
#ifdef SG_HAVE_XCB_XTEST
#include <xcb/xtest.h>
#endif

#include "sg_cmocka.h"

#include "capture.h"
#include "harness.h"
#include "reader.h"

static char region[128], logpath[128];

static void fail_with_log(const char *what, const char *err)
{
    char *log = harness_read_file(logpath);
    fail_msg("%s: %s\nhost log:\n%s", what, err, log ? log : "(none)");
}

static pid_t start_host(int display)
{
    char opt[64];
    snprintf(opt, sizeof(opt), "x11:display=:%d", display);
    char *argv[] = {(char *)harness_host_path(), "-c", "x11", "-o", opt, "-f", region, "-l", "debug", NULL};
    pid_t pid = harness_spawn(argv, logpath);
    assert_true(pid > 0);
    return pid;
}

static xcb_connection_t *x_connect(int display, xcb_screen_t **screen)
{
    char name[16];
    snprintf(name, sizeof(name), ":%d", display);
    xcb_connection_t *c = NULL;
    for (int i = 0; i < 100; i++) {
        c = xcb_connect(name, NULL);
        if (!xcb_connection_has_error(c))
            break;
        xcb_disconnect(c);
        c = NULL;
        usleep(50000);
    }
    assert_non_null(c);
    *screen = xcb_setup_roots_iterator(xcb_get_setup(c)).data;
    return c;
}

static uint32_t px_at(struct reader *r, uint32_t x, uint32_t y)
{
    uint32_t v;
    memcpy(&v, r->img + (size_t)y * r->pitch + x * 4, 4);
    return v & 0xffffff; /* the 4th byte has no meaning */
}

/* Frames until the image equals want(x, y), or fail after timeout_ms. */
typedef uint32_t (*want_fn)(uint32_t x, uint32_t y);
static void wait_image(struct reader *r, uint32_t w, uint32_t h, want_fn want, uint32_t timeout_ms)
{
    uint64_t end = reader_now_ms() + timeout_ms;
    char why[160] = "no frame";
    while (reader_now_ms() < end) {
        int rc = reader_next_frame(r, 200);
        while (reader_next_cursor(r, 0) == 0) {
        }
        if (rc < 0)
            fail_with_log("frame", r->err);
        if (!r->have_image)
            continue;
        if (r->frame.hdr.frame_width != w || r->frame.hdr.frame_height != h) {
            snprintf(why, sizeof(why), "frame is %ux%u, want %ux%u", r->frame.hdr.frame_width,
                     r->frame.hdr.frame_height, w, h);
            continue;
        }
        bool ok = true;
        for (uint32_t y = 0; y < h && ok; y++)
            for (uint32_t x = 0; x < w && ok; x++)
                if (px_at(r, x, y) != want(x, y)) {
                    snprintf(why, sizeof(why), "pixel (%u,%u) is %06x, want %06x", x, y, px_at(r, x, y),
                             want(x, y));
                    ok = false;
                }
        if (ok)
            return;
    }
    fail_with_log("image never matched", why);
}

#define WIN_X 100u
#define WIN_Y 80u
#define WIN_W 200u
#define WIN_H 120u
#define ORANGE 0xff8000u
#define BLUE 0x0000ffu
#define SPOT_X 30u /* inside the window */
#define SPOT_Y 40u
#define SPOT_W 20u
#define SPOT_H 10u

static bool in_win(uint32_t x, uint32_t y)
{
    return x >= WIN_X && x < WIN_X + WIN_W && y >= WIN_Y && y < WIN_Y + WIN_H;
}

static uint32_t want_window(uint32_t x, uint32_t y)
{
    return in_win(x, y) ? ORANGE : 0;
}

static uint32_t want_spot(uint32_t x, uint32_t y)
{
    if (x == WIN_X && y == WIN_Y)
        return BLUE; /* the marker drawn before the spot */
    if (x >= WIN_X + SPOT_X && x < WIN_X + SPOT_X + SPOT_W && y >= WIN_Y + SPOT_Y &&
        y < WIN_Y + SPOT_Y + SPOT_H)
        return BLUE;
    return want_window(x, y);
}

static uint32_t want_black(uint32_t x, uint32_t y)
{
    return 0;
}

static void test_x11_content_damage_cursor(void **state)
{
    pid_t xvfb;
    int d = harness_xvfb(640, 480, -1, &xvfb);
    assert_true(d >= 0);
    xcb_screen_t *s;
    xcb_connection_t *c = x_connect(d, &s);
    xcb_window_t win = xcb_generate_id(c);
    uint32_t vals[] = {ORANGE, 1};
    xcb_create_window(c, XCB_COPY_FROM_PARENT, win, s->root, WIN_X, WIN_Y, WIN_W, WIN_H, 0,
                      XCB_WINDOW_CLASS_INPUT_OUTPUT, s->root_visual,
                      XCB_CW_BACK_PIXEL | XCB_CW_OVERRIDE_REDIRECT, vals);
    xcb_map_window(c, win);
    xcb_flush(c);

    pid_t host = start_host(d);
    struct reader r;
    if (reader_open(&r, region, 5000) != 0)
        fail_with_log("attach", r.err);
    assert_string_equal(r.info.capture, "X11");
    wait_image(&r, 640, 480, want_window, 5000);

    /* a change in one area: damage covers it and is small */
    xcb_gcontext_t gc = xcb_generate_id(c);
    uint32_t fg = BLUE;
    xcb_create_gc(c, gc, win, XCB_GC_FOREGROUND, &fg);
    /* First a marker pixel, and the frame that shows it: damage the server
     * still held from drawing the screen at start (seen under TSan with both
     * cores busy: 448,0 192x216) is taken with it, not with the spot. */
    xcb_rectangle_t marker = {0, 0, 1, 1};
    xcb_poly_fill_rectangle(c, win, gc, 1, &marker);
    xcb_flush(c);
    uint64_t marker_end = reader_now_ms() + 3000;
    do {
        int mrc = reader_next_frame(&r, 3000);
        if (mrc != 0)
            fail_with_log("frame after the marker", mrc < 0 ? r.err : "timeout");
    } while (px_at(&r, WIN_X, WIN_Y) != BLUE && reader_now_ms() < marker_end);
    if (px_at(&r, WIN_X, WIN_Y) != BLUE)
        fail_with_log("marker", "the marker pixel never showed");
    xcb_rectangle_t rect = {SPOT_X, SPOT_Y, SPOT_W, SPOT_H};
    xcb_poly_fill_rectangle(c, win, gc, 1, &rect);
    xcb_flush(c);
    /* the frame that brings the change (one may still be on its way) */
    int rc;
    uint64_t spot_end = reader_now_ms() + 3000;
    do {
        rc = reader_next_frame(&r, 3000);
        if (rc != 0)
            fail_with_log("frame after a change", rc < 0 ? r.err : "timeout");
    } while (px_at(&r, WIN_X + SPOT_X, WIN_Y + SPOT_Y) != BLUE && reader_now_ms() < spot_end);
    if (px_at(&r, WIN_X + SPOT_X, WIN_Y + SPOT_Y) != BLUE)
        fail_with_log("spot", "the spot never showed");
    assert_true(r.frame.hdr.damage_count > 0);
    uint64_t area = 0;
    bool covered = false;
    for (uint32_t i = 0; i < r.frame.hdr.damage_count; i++) {
        const struct sg_kvmfr_wire_rect *dr = &r.frame.hdr.damage[i];
        area += (uint64_t)dr->width * dr->height;
        covered |= dr->x <= WIN_X + SPOT_X && dr->y <= WIN_Y + SPOT_Y &&
                   dr->x + dr->width >= WIN_X + SPOT_X + SPOT_W &&
                   dr->y + dr->height >= WIN_Y + SPOT_Y + SPOT_H;
    }
    if (!covered || area > 640 * 480 / 4)
        fail_msg("damage (%u rects, %llu pixels, first %u,%u %ux%u) does not cover the 20x10 change at %u,%u "
                 "or is "
                 "too large",
                 r.frame.hdr.damage_count, (unsigned long long)area, r.frame.hdr.damage[0].x,
                 r.frame.hdr.damage[0].y, r.frame.hdr.damage[0].width, r.frame.hdr.damage[0].height,
                 WIN_X + SPOT_X, WIN_Y + SPOT_Y);
    wait_image(&r, 640, 480, want_spot, 3000);

    /* cursor: the shape and position the X server has */
    xcb_xfixes_query_version_reply_t *qv =
        xcb_xfixes_query_version_reply(c, xcb_xfixes_query_version(c, 4, 0), NULL);
    free(qv);
    xcb_xfixes_get_cursor_image_reply_t *ci =
        xcb_xfixes_get_cursor_image_reply(c, xcb_xfixes_get_cursor_image(c), NULL);
    assert_non_null(ci);
    struct reader r2; /* a fresh subscriber gets the shape at once */
    if (reader_open(&r2, region, 2000) != 0)
        fail_with_log("second attach", r2.err);
    rc = reader_next_cursor(&r2, 2000);
    if (rc != 0)
        fail_with_log("cursor", rc < 0 ? r2.err : "timeout");
    assert_true(r2.cursor.flags & SG_CURSOR_FLAG_SHAPE);
    assert_int_equal(r2.cursor.shape_type, SG_CURSOR_COLOR);
    assert_int_equal(r2.cursor.width, ci->width);
    assert_int_equal(r2.cursor.height, ci->height);
    assert_int_equal(r2.cursor.hot_x, ci->xhot);
    assert_int_equal(r2.cursor.hot_y, ci->yhot);
    assert_memory_equal(r2.cursor.shape, xcb_xfixes_get_cursor_image_cursor_image(ci),
                        (size_t)ci->width * ci->height * 4);
    assert_int_equal(r2.cursor.x + r2.cursor.hot_x, ci->x);
    assert_int_equal(r2.cursor.y + r2.cursor.hot_y, ci->y);
    int hot_x = ci->xhot, hot_y = ci->yhot;
    free(ci);
    reader_close(&r2);

    /* the guest moves its pointer: a position message follows */
    while (reader_next_cursor(&r, 0) == 0) {
    }
    xcb_warp_pointer(c, XCB_NONE, s->root, 0, 0, 0, 0, 200, 150);
    xcb_flush(c);
    uint64_t end = reader_now_ms() + 2000;
    bool seen = false;
    while (!seen && reader_now_ms() < end)
        if (reader_next_cursor(&r, 100) == 0 && (r.cursor.flags & SG_CURSOR_FLAG_POSITION))
            seen = r.cursor.x + hot_x == 200 && r.cursor.y + hot_y == 150;
    if (!seen)
        fail_with_log("pointer move", "no position message with the hotspot at 200,150");

    /* the client asks for the pointer somewhere: the X pointer goes there */
    if (reader_set_cursor_pos(&r, 400, 300, 2000) != 0)
        fail_with_log("SET_CURSOR_POS", r.err);
    xcb_query_pointer_reply_t *qp = xcb_query_pointer_reply(c, xcb_query_pointer(c, s->root), NULL);
    assert_non_null(qp);
    assert_int_equal(qp->root_x, 400);
    assert_int_equal(qp->root_y, 300);
    free(qp);

    /* a blank cursor (how programs hide the pointer) is posted as not visible */
    xcb_pixmap_t pm = xcb_generate_id(c);
    xcb_create_pixmap(c, 1, pm, s->root, 1, 1);
    xcb_gcontext_t gc1 = xcb_generate_id(c);
    uint32_t zero = 0;
    xcb_create_gc(c, gc1, pm, XCB_GC_FOREGROUND, &zero);
    xcb_rectangle_t one = {0, 0, 1, 1};
    xcb_poly_fill_rectangle(c, pm, gc1, 1, &one);
    xcb_cursor_t blank = xcb_generate_id(c);
    xcb_create_cursor(c, blank, pm, pm, 0, 0, 0, 0, 0, 0, 0, 0);
    xcb_change_window_attributes(c, win, XCB_CW_CURSOR, &blank);
    while (reader_next_cursor(&r, 0) == 0) {
    }
    xcb_warp_pointer(c, XCB_NONE, s->root, 0, 0, 0, 0, WIN_X + 10, WIN_Y + 10);
    xcb_flush(c);
    end = reader_now_ms() + 2000;
    bool hidden = false;
    while (!hidden && reader_now_ms() < end)
        if (reader_next_cursor(&r, 100) == 0 && (r.cursor.flags & SG_CURSOR_FLAG_SHAPE))
            hidden = !(r.cursor.flags & SG_CURSOR_FLAG_VISIBLE);
    if (!hidden)
        fail_with_log("blank cursor", "no shape message without VISIBLE");
    xcb_warp_pointer(c, XCB_NONE, s->root, 0, 0, 0, 0, 10, 10);
    xcb_flush(c);
    end = reader_now_ms() + 2000;
    bool shown = false;
    while (!shown && reader_now_ms() < end)
        if (reader_next_cursor(&r, 100) == 0 && (r.cursor.flags & SG_CURSOR_FLAG_SHAPE))
            shown = r.cursor.flags & SG_CURSOR_FLAG_VISIBLE;
    if (!shown)
        fail_with_log("cursor back", "no visible shape after leaving the window");

    reader_close(&r);
    assert_int_equal(harness_stop(host), 0);
    xcb_disconnect(c);
    harness_stop(xvfb);
}

static void test_x11_display_restart(void **state)
{
    pid_t xvfb;
    int d = harness_xvfb_reusable(320, 240, &xvfb);
    assert_true(d >= 0);
    pid_t host = start_host(d);
    struct reader r;
    if (reader_open(&r, region, 5000) != 0)
        fail_with_log("attach", r.err);
    uint32_t session = r.session;
    wait_image(&r, 320, 240, want_black, 5000);
    harness_stop(xvfb);
    assert_int_equal(harness_xvfb(400, 300, d, &xvfb), d);
    wait_image(&r, 400, 300, want_black, 10000);
    assert_int_equal(r.session, session); /* followed without a restart */
    assert_true(harness_wait_log(logpath, "connection lost; reconnecting", 0));
    int status;
    assert_int_equal(harness_wait(host, 0, &status), -1); /* still running */
    reader_close(&r);
    assert_int_equal(harness_stop(host), 0);
    harness_stop(xvfb);
}

/* RandR resizing the screen under a running host (Xephyr: Xvfb's RandR
 * cannot change the size). The new size arrives as a new format, same session. */
static void test_x11_xrandr(void **state)
{
    const char *xephyr = getenv("SPYGLASS_XEPHYR");
    if (!xephyr || !*xephyr) {
        print_message("Xephyr not found (SPYGLASS_XEPHYR): the RandR resize did not run\n");
        skip();
    }
    pid_t outer_pid, xe;
    int outer = harness_xvfb(1280, 1024, -1, &outer_pid);
    assert_true(outer >= 0);
    int d = harness_xephyr(xephyr, outer, 640, 480, &xe);
    assert_true(d >= 0);
    pid_t host = start_host(d);
    struct reader r;
    if (reader_open(&r, region, 5000) != 0)
        fail_with_log("attach", r.err);
    uint32_t session = r.session;
    wait_image(&r, 640, 480, want_black, 5000);
    uint32_t format = r.format_version;
    char disp[16];
    snprintf(disp, sizeof(disp), ":%d", d);
    char *argv[] = {"xrandr", "-display", disp, "-s", "800x600", NULL};
    pid_t xr = harness_spawn(argv, "/dev/null");
    int status;
    assert_int_equal(harness_wait(xr, 5000, &status), 0);
    assert_int_equal(status, 0);
    wait_image(&r, 800, 600, want_black, 5000);
    assert_int_equal(r.session, session);
    assert_true(r.format_version != format);
    char *log = harness_read_file(logpath);
    assert_null(strstr(log, "connection lost")); /* followed, not reconnected */
    free(log);
    reader_close(&r);
    assert_int_equal(harness_stop(host), 0);
    harness_stop(xe);
    harness_stop(outer_pid);
}

/* The backend's cursor by events: a burst of XTest moves while another client
 * holds a pointer grab makes the cursor descriptor readable (no tick, no
 * poll), and what next_cursor then reports ends at the burst's last place. */
static void test_x11_pointer_events(void **state)
{
#ifndef SG_HAVE_XCB_XTEST
    print_message(
        "built without libxcb-xtest (scripts/deps.sh installs it): the pointer burst did not run\n");
    skip();
#else
    pid_t xvfb;
    int d = harness_xvfb(640, 480, -1, &xvfb);
    assert_true(d >= 0);
    xcb_screen_t *s;
    xcb_connection_t *c = x_connect(d, &s);
    if (!xcb_get_extension_data(c, &xcb_test_id)->present) {
        print_message("the X server has no XTest: the pointer burst did not run\n");
        skip();
    }
    char name[16], err[256];
    snprintf(name, sizeof(name), ":%d", d);
    const char *values[] = {name};
    struct sg_capture *cap = NULL;
    assert_int_equal(sg_capture_create(&sg_capture_x11, &cap, values, err, sizeof(err)), 0);
    assert_int_equal(sg_capture_start(cap), 0);
    static uint8_t shape[SG_CAPTURE_MAX_CURSOR_DIM * SG_CAPTURE_MAX_CURSOR_DIM * 4];
    struct sg_capture_cursor ev;
    /* the first look reports the shape; then quiet */
    assert_int_equal(sg_capture_next_cursor(cap, &ev, shape, sizeof(shape)), SG_CAPTURE_OK);
    assert_true(ev.has_shape);
    while (sg_capture_next_cursor(cap, &ev, shape, sizeof(shape)) == SG_CAPTURE_OK) {
    }
    int fd = sg_capture_cursor_fd(cap);
    assert_true(fd >= 0);

    /* someone else grabs the pointer: motion must still reach us */
    xcb_window_t win = xcb_generate_id(c);
    uint32_t vals[] = {1};
    xcb_create_window(c, XCB_COPY_FROM_PARENT, win, s->root, 0, 0, 640, 480, 0, XCB_WINDOW_CLASS_INPUT_OUTPUT,
                      s->root_visual, XCB_CW_OVERRIDE_REDIRECT, vals);
    xcb_map_window(c, win);
    xcb_grab_pointer_reply_t *g =
        xcb_grab_pointer_reply(c,
                               xcb_grab_pointer(c, 0, win, XCB_EVENT_MASK_POINTER_MOTION, XCB_GRAB_MODE_ASYNC,
                                                XCB_GRAB_MODE_ASYNC, XCB_NONE, XCB_NONE, XCB_CURRENT_TIME),
                               NULL);
    assert_non_null(g);
    assert_int_equal(g->status, XCB_GRAB_STATUS_SUCCESS);
    free(g);

    for (int i = 0; i < 50; i++)
        xcb_test_fake_input(c, XCB_MOTION_NOTIFY, 0, XCB_CURRENT_TIME, s->root, (int16_t)(100 + 4 * i),
                            (int16_t)(60 + 2 * i), 0);
    xcb_test_fake_input(c, XCB_MOTION_NOTIFY, 0, XCB_CURRENT_TIME, s->root, 321, 123, 0);
    free(xcb_get_input_focus_reply(c, xcb_get_input_focus(c), NULL)); /* the server has them all */

    int32_t x = -1, y = -1;
    uint64_t end = reader_now_ms() + 5000;
    while ((x != 321 || y != 123) && reader_now_ms() < end) {
        struct pollfd pfd = {.fd = sg_capture_cursor_fd(cap), .events = POLLIN};
        /* only the descriptor wakes us: a backend that polls on a tick never gets here */
        if (poll(&pfd, 1, (int)(end - reader_now_ms())) <= 0)
            break;
        while (sg_capture_next_cursor(cap, &ev, shape, sizeof(shape)) == SG_CAPTURE_OK)
            if (ev.has_position) {
                x = ev.x;
                y = ev.y;
            }
    }
    assert_int_equal(x, 321);
    assert_int_equal(y, 123);
    /* and quiet again: nothing more to report, the descriptor idle */
    assert_int_equal(sg_capture_next_cursor(cap, &ev, shape, sizeof(shape)), SG_CAPTURE_NONE);
    struct pollfd pfd = {.fd = sg_capture_cursor_fd(cap), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 0), 0);
    sg_capture_stop(cap);
    sg_capture_destroy(cap);
    xcb_disconnect(c);
    harness_stop(xvfb);
#endif
}

static void test_x11_no_display(void **state)
{
    char *argv[] = {(char *)harness_host_path(), "-c", "x11", "-o", "x11:display=:987", "-f", region, NULL};
    pid_t pid = harness_spawn(argv, logpath);
    int status;
    assert_int_equal(harness_wait(pid, 5000, &status), 0);
    assert_int_equal(status, 1);
    char *log = harness_read_file(logpath);
    if (!strstr(log, "capture x11 cannot start: no X display at :987: "))
        fail_msg("log:\n%s", log);
    free(log);
}

static int setup(void **state)
{
    snprintf(region, sizeof(region), "/dev/shm/sg-host-x11-%d", (int)getpid());
    snprintf(logpath, sizeof(logpath), "/tmp/sg-host-x11-%d.log", (int)getpid());
    harness_remove_on_signal(region);
    harness_remove_on_signal(logpath);
    unlink(region);
    return 0;
}

static int teardown(void **state)
{
    harness_cleanup();
    unlink(region);
    unlink(logpath);
    return 0;
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_x11_content_damage_cursor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x11_display_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x11_xrandr, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x11_no_display, setup, teardown),
        cmocka_unit_test_setup_teardown(test_x11_pointer_events, setup, teardown),
    };
    return sg_run_tests(argc, argv, tests, NULL, NULL);
}
