/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of the client's pure parts: guest<->window mapping, cursor shape
 * decoding, options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <math.h>
#include <unistd.h>

#include <cmocka.h>

#include "cursor.h"
#include "draw_rects.h"
#include "graphs.h"
#include "keybindings.h"
#include "options.h"
#include "overlay.h"
#include "screenshot.h"
#include "session_poll.h"
#include "view.h"

static void view_keep_letterbox(void **st)
{
    struct sg_view v;
    sg_view_compute(&v, SG_SCALE_KEEP, 1000, 500, 800, 600, 0);
    assert_true(v.valid);
    /* 800x600 into 1000x500: height-bound, scale 500/600 */
    assert_true(v.dst_h == 500 && v.dst_w == 667 && v.dst_y == 0 && v.dst_x == 166);
    int gx, gy;
    assert_true(sg_view_window_to_guest(&v, 166, 0, &gx, &gy));
    assert_int_equal(gx, 0);
    assert_int_equal(gy, 0);
    assert_true(sg_view_window_to_guest(&v, 166 + 667, 500, &gx, &gy));
    assert_int_equal(gx, 800);
    assert_int_equal(gy, 600);
}

static void view_integer(void **st)
{
    struct sg_view v;
    sg_view_compute(&v, SG_SCALE_INTEGER, 700, 500, 320, 240, 0);
    assert_true(v.dst_w == 640 && v.dst_h == 480 && v.dst_x == 30 && v.dst_y == 10);
    /* smaller than the guest: falls back to keeping the aspect */
    sg_view_compute(&v, SG_SCALE_INTEGER, 160, 120, 320, 240, 0);
    assert_true(v.dst_w == 160 && v.dst_h == 120);
    sg_view_compute(&v, SG_SCALE_STRETCH, 333, 111, 320, 240, 0);
    assert_true(v.dst_w == 333 && v.dst_h == 111 && v.dst_x == 0 && v.dst_y == 0);
}

static void view_rotation_roundtrip(void **st)
{
    for (int rot = 0; rot < 4; rot++) {
        struct sg_view v;
        sg_view_compute(&v, SG_SCALE_KEEP, 1200, 900, 640, 480, rot);
        /* quarter turns swap the displayed sides */
        if (rot & 1)
            assert_true(v.dst_h == 900 && v.dst_w == 675);
        else
            assert_true(v.dst_w == 1200 && v.dst_h == 900);
        int pts[][2] = {{0, 0}, {639, 0}, {0, 479}, {320, 100}, {17, 401}};
        for (size_t i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
            double wx, wy;
            int gx, gy;
            assert_true(sg_view_guest_to_window(&v, pts[i][0], pts[i][1], &wx, &wy));
            assert_true(sg_view_window_to_guest(&v, wx, wy, &gx, &gy));
            assert_int_equal(gx, pts[i][0]);
            assert_int_equal(gy, pts[i][1]);
        }
    }
    /* 90 degrees clockwise: the guest's top-left corner is at the window's top-right */
    struct sg_view v;
    sg_view_compute(&v, SG_SCALE_STRETCH, 480, 640, 640, 480, 1);
    double wx, wy;
    sg_view_guest_to_window(&v, 0, 0, &wx, &wy);
    assert_true(wx == 480 && wy == 0);
    struct sg_view inv = {0};
    int gx, gy;
    assert_false(sg_view_window_to_guest(&inv, 1, 1, &gx, &gy));
}

/* A guest reporting its cursor far outside its screen cannot send the local
 * pointer out of the window: the warp target stays on the picture. */
static void view_clamped_warp_target(void **st)
{
    struct sg_view v;
    sg_view_compute(&v, SG_SCALE_KEEP, 800, 600, 640, 480, 0);
    double wx, wy;
    assert_true(sg_view_guest_to_window_clamped(&v, -32768, 40000, &wx, &wy));
    assert_true(wx >= v.dst_x && wx < v.dst_x + v.dst_w);
    assert_true(wy >= v.dst_y && wy < v.dst_y + v.dst_h);
    assert_true(wx == 0 && wy > 598 && wy < 600);
    /* inside the screen it is the plain mapping */
    double px, py;
    assert_true(sg_view_guest_to_window_clamped(&v, 320, 240, &wx, &wy));
    assert_true(sg_view_guest_to_window(&v, 320, 240, &px, &py));
    assert_true(wx == px && wy == py);
    struct sg_view inv = {0};
    assert_false(sg_view_guest_to_window_clamped(&inv, 1, 1, &wx, &wy));
}

static void cursor_mono(void **st)
{
    /* 8x2 visible: AND row then XOR row per visible row; pixel x = bit 7-x */
    uint8_t data[4] = {0x0F, 0x0F, /* AND */ 0x33, 0x33 /* XOR */};
    /* rows 0,1 AND; rows 2,3 XOR */
    struct sg_cursor_image img = {0};
    assert_int_equal(sg_cursor_decode(&img, SG_CURSOR_MONOCHROME, 8, 4, 1, data, sizeof(data)), SG_CURSOR_OK);
    assert_int_equal(img.w, 8);
    assert_int_equal(img.h, 2);
    /* x: AND bits 0,0,0,0,1,1,1,1; XOR bits 0,0,1,1,0,0,1,1 */
    const uint8_t *o = img.over, *x = img.xor_px;
    assert_memory_equal(o + 0 * 4, ((uint8_t[]){0, 0, 0, 255}), 4);       /* black */
    assert_memory_equal(o + 2 * 4, ((uint8_t[]){255, 255, 255, 255}), 4); /* white */
    assert_memory_equal(o + 4 * 4, ((uint8_t[]){0, 0, 0, 0}), 4);         /* unchanged */
    assert_memory_equal(x + 4 * 4, ((uint8_t[]){0, 0, 0, 0}), 4);
    assert_memory_equal(o + 6 * 4, ((uint8_t[]){0, 0, 0, 0}), 4);       /* inverted: */
    assert_memory_equal(x + 6 * 4, ((uint8_t[]){255, 255, 255, 0}), 4); /* XOR white */
    assert_true(img.has_xor);
    sg_cursor_image_finish(&img);
}

static void cursor_colour_and_masked(void **st)
{
    uint8_t px[2 * 4] = {10, 20, 30, 128, /* B G R A */ 1, 2, 3, 0};
    struct sg_cursor_image img = {0};
    assert_int_equal(sg_cursor_decode(&img, SG_CURSOR_COLOR, 2, 1, 8, px, sizeof(px)), SG_CURSOR_OK);
    assert_memory_equal(img.over, ((uint8_t[]){30, 20, 10, 128, 3, 2, 1, 0}), 8);
    assert_false(img.has_xor);
    uint8_t m[3 * 4] = {0, 255, 0, 0, /* opaque green */ 255, 0, 255, 255, /* XOR magenta */ 0, 0, 0, 255};
    assert_int_equal(sg_cursor_decode(&img, SG_CURSOR_MASKED_COLOR, 3, 1, 12, m, sizeof(m)), SG_CURSOR_OK);
    assert_memory_equal(img.over, ((uint8_t[]){0, 255, 0, 255, 0, 0, 0, 0, 0, 0, 0, 0}), 12);
    assert_memory_equal(img.xor_px, ((uint8_t[]){0, 0, 0, 0, 255, 0, 255, 0, 0, 0, 0, 0}), 12);
    assert_true(img.has_xor);
    sg_cursor_image_finish(&img);
}

static void cursor_rejects(void **st)
{
    uint8_t d[64] = {0};
    struct sg_cursor_image img = {0};
    assert_int_equal(sg_cursor_decode(&img, 3, 1, 1, 4, d, sizeof(d)), SG_CURSOR_BAD_TYPE);
    assert_int_equal(sg_cursor_decode(&img, SG_CURSOR_MONOCHROME, 8, 3, 1, d, sizeof(d)), SG_CURSOR_BAD_SIZE);
    assert_int_equal(sg_cursor_decode(&img, SG_CURSOR_COLOR, 4, 1, 15, d, sizeof(d)), SG_CURSOR_BAD_SIZE);
    assert_int_equal(sg_cursor_decode(&img, SG_CURSOR_COLOR, 0, 1, 4, d, sizeof(d)), SG_CURSOR_BAD_SIZE);
    assert_int_equal(sg_cursor_decode(&img, SG_CURSOR_COLOR, 4, 5, 16, d, sizeof(d)), SG_CURSOR_SHORT_DATA);
    assert_int_equal(sg_cursor_decode(&img, SG_CURSOR_COLOR, 100000, 1, 400000, d, sizeof(d)),
                     SG_CURSOR_BAD_SIZE);
    /* pitch * rows overflowing 32 bits is caught, not wrapped */
    assert_int_equal(sg_cursor_decode(&img, SG_CURSOR_COLOR, 1, 0x10000, 0x10000, d, sizeof(d)),
                     SG_CURSOR_BAD_SIZE);
    assert_null(img.over);
}

static void options_values(void **st)
{
    struct sg_options o;
    char err[256];
    assert_int_equal(sg_options_init(&o), 0);
    assert_string_equal(sg_options_str(&o, "app", "shmFile"), "/dev/shm/looking-glass");
    assert_int_equal(sg_options_enum(&o, "win", "scaling"), SG_SCALE_KEEP);
    assert_true(sg_options_set(&o, "WIN", "Scaling", "integer", err, sizeof(err)));
    assert_int_equal(sg_options_enum(&o, "win", "scaling"), SG_SCALE_INTEGER);
    assert_false(sg_options_set(&o, "win", "scaling", "sideways", err, sizeof(err)));
    assert_non_null(strstr(err, "sideways"));
    assert_false(sg_options_set(&o, "win", "width", "12x", err, sizeof(err)));
    assert_false(sg_options_set(&o, "win", "width", "99999", err, sizeof(err)));
    assert_non_null(strstr(err, "64..16384"));
    assert_true(sg_options_set(&o, "win", "vsync", "off", err, sizeof(err)));
    assert_false(sg_options_bool(&o, "win", "vsync"));
    assert_false(sg_options_set(&o, "nope", "x", "1", err, sizeof(err)));
    assert_non_null(strstr(err, "nope:x"));

    char *argv[] = {"c", "-f", "/dev/shm/x", "win:fullScreen=yes", "-k", "--stats-file", "/tmp/s", NULL};
    assert_int_equal(sg_options_load(&o, 7, argv), SG_OPTIONS_OK);
    assert_string_equal(sg_options_str(&o, "app", "shmFile"), "/dev/shm/x");
    assert_true(sg_options_bool(&o, "win", "fullScreen"));
    assert_true(sg_options_bool(&o, "win", "showFPS"));
    assert_string_equal(sg_options_str(&o, "app", "statsFile"), "/tmp/s");
    char *bad[] = {"c", "win:width", NULL};
    assert_int_equal(sg_options_load(&o, 2, bad), SG_OPTIONS_ERROR);
    sg_options_finish(&o);
}

static enum sg_keys_result feed(struct sg_keys *k, bool down, SDL_Scancode sc, SDL_Keycode sym, bool repeat,
                                enum sg_key_cmd *cmd, SDL_Keycode *key)
{
    SDL_KeyboardEvent ev = {.type = down ? SDL_KEYDOWN : SDL_KEYUP, .repeat = repeat};
    ev.keysym.scancode = sc;
    ev.keysym.sym = sym;
    *cmd = SG_KEY_NONE;
    *key = 0;
    return sg_keys_feed(k, &ev, cmd, key);
}

static void keys_escape(void **st)
{
    struct sg_keys k;
    enum sg_key_cmd cmd;
    SDL_Keycode key;
    sg_keys_init(&k, SDL_SCANCODE_SCROLLLOCK);
    /* plain keys go to the guest */
    assert_int_equal(feed(&k, true, SDL_SCANCODE_A, SDLK_a, false, &cmd, &key), SG_KEYS_PASS);
    assert_int_equal(feed(&k, false, SDL_SCANCODE_A, SDLK_a, false, &cmd, &key), SG_KEYS_PASS);
    /* escape + Q = quit; escape + F = full screen; repeats and releases are swallowed */
    assert_int_equal(feed(&k, true, SDL_SCANCODE_SCROLLLOCK, SDLK_SCROLLLOCK, false, &cmd, &key),
                     SG_KEYS_CONSUMED);
    assert_int_equal(feed(&k, true, SDL_SCANCODE_Q, SDLK_q, false, &cmd, &key), SG_KEYS_COMMAND);
    assert_int_equal(cmd, SG_KEY_QUIT);
    assert_int_equal(feed(&k, true, SDL_SCANCODE_Q, SDLK_q, true, &cmd, &key), SG_KEYS_CONSUMED);
    assert_int_equal(feed(&k, false, SDL_SCANCODE_Q, SDLK_q, false, &cmd, &key), SG_KEYS_CONSUMED);
    assert_int_equal(feed(&k, true, SDL_SCANCODE_I, SDLK_i, false, &cmd, &key), SG_KEYS_COMMAND);
    assert_int_equal(cmd, SG_KEY_STATS);
    /* an unbound key goes to the hooks */
    assert_int_equal(feed(&k, true, SDL_SCANCODE_C, SDLK_c, false, &cmd, &key), SG_KEYS_UNBOUND);
    assert_int_equal(key, SDLK_c);
    /* the release after a combination is not a tap */
    assert_int_equal(feed(&k, false, SDL_SCANCODE_SCROLLLOCK, SDLK_SCROLLLOCK, false, &cmd, &key),
                     SG_KEYS_CONSUMED);
    /* a tap alone is */
    feed(&k, true, SDL_SCANCODE_SCROLLLOCK, SDLK_SCROLLLOCK, false, &cmd, &key);
    assert_int_equal(feed(&k, false, SDL_SCANCODE_SCROLLLOCK, SDLK_SCROLLLOCK, false, &cmd, &key),
                     SG_KEYS_ESCAPE_TAP);
    /* focus lost while held: later keys are the guest's again */
    feed(&k, true, SDL_SCANCODE_SCROLLLOCK, SDLK_SCROLLLOCK, false, &cmd, &key);
    sg_keys_reset(&k);
    assert_int_equal(feed(&k, true, SDL_SCANCODE_Q, SDLK_q, false, &cmd, &key), SG_KEYS_PASS);

    char help[1024];
    const char *extra[] = {"C      capture input", NULL};
    sg_keys_help("ScrollLock", extra, help, sizeof(help));
    assert_non_null(strstr(help, "(ScrollLock)"));
    assert_non_null(strstr(help, "Q      quit"));
    assert_non_null(strstr(help, "C      capture input"));
}

static void overlay_wrap(void **st)
{
    char out[256];
    sg_overlay_wrap("host not running (no heartbeat in /dev/shm/looking-glass); waiting", 20, out,
                    sizeof(out));
    assert_string_equal(out, "host not running (no\nheartbeat in\n/dev/shm/looking-gla\nss); waiting");
    sg_overlay_wrap("a\nb c", 20, out, sizeof(out));
    assert_string_equal(out, "a\nb c");
    sg_overlay_wrap("abc", 20, out, 3); /* truncated, still terminated */
    assert_int_equal(strlen(out), 1);
}

/* A screenshot replaces the file by a rename, never by writing into it: a reader waiting for the
 * file never sees half a PNG. A hard link to the old file keeps the old bytes only then. */
static void screenshot_appears_whole(void **state)
{
    char dir[] = "/tmp/sg-unit-shot-XXXXXX", path[64], old_link[64], err[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/shot.png", dir);
    snprintf(old_link, sizeof(old_link), "%s/old", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("old", f);
    fclose(f);
    assert_int_equal(link(path, old_link), 0);
    const uint8_t px[2 * 2 * 4] = {255, 0, 0, 0, 0, 255, 0, 0, 0, 0, 255, 0, 9, 9, 9, 0};
    bool ok = sg_screenshot_write_png(path, px, 2, 2, err, sizeof(err));
    char got[8] = "", kept[8] = "";
    f = fopen(path, "rb");
    size_t n = f ? fread(got, 1, sizeof(got), f) : 0;
    if (f)
        fclose(f);
    f = fopen(old_link, "rb");
    if (f) {
        if (!fgets(kept, sizeof(kept), f))
            kept[0] = 0;
        fclose(f);
    }
    unsigned entries = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        entries += e->d_name[0] != '.';
    if (d)
        closedir(d);
    /* a write into a missing folder fails naming it, and leaves nothing */
    char bad[96];
    snprintf(bad, sizeof(bad), "%s/missing/shot.png", dir);
    bool bad_ok = sg_screenshot_write_png(bad, px, 2, 2, err, sizeof(err));
    unlink(path);
    unlink(old_link);
    rmdir(dir);
    assert_true(ok);
    assert_int_equal(n, 8);
    assert_memory_equal(got, "\x89PNG\r\n\x1a\n", 8);
    assert_string_equal(kept, "old");
    assert_int_equal(entries, 2); /* shot.png and old: no temporary file left */
    assert_false(bad_ok);
    assert_non_null(strstr(err, "cannot write"));
    assert_non_null(strstr(err, "/missing/shot.png"));
}

/* Bars at the place their time says (newest at the right), as high as their
 * value on the graph's scale; samples older than the span are not drawn. */
static void graphs_bars(void **state)
{
    struct sg_graphs *g = sg_graphs_create();
    uint64_t now = 100000000000ull;
    sg_graphs_add(g, SG_GRAPH_FRAME_INTERVAL, now - 6000000000ull, 20.0); /* too old */
    sg_graphs_add(g, SG_GRAPH_FRAME_INTERVAL, now - SG_GRAPHS_SPAN_NS / 2, 20.0);
    sg_graphs_add(g, SG_GRAPH_FRAME_INTERVAL, now, 10.0);
    uint8_t *px;
    uint32_t w, h;
    assert_true(sg_graphs_render(g, NULL, now, &px, &w, &h));
    assert_int_equal(w, SG_GRAPHS_WIDTH);
    const uint8_t *blue = sg_graph_colour[SG_GRAPH_FRAME_INTERVAL];
#define IS_BAR(x, y)                                                                                         \
    (px[((size_t)(y)*w + (x)) * 4 + 3] == 255 && !memcmp(&px[((size_t)(y)*w + (x)) * 4], blue, 3))
    uint32_t bottom = SG_GRAPHS_PLOT_H - 1, right = w - 1, mid = right - right / 2;
    /* scale 0-20 ms: 10 ms is half the plot high, 20 ms all of it */
    assert_true(IS_BAR(right, bottom));
    assert_true(IS_BAR(right, bottom - (SG_GRAPHS_PLOT_H / 2 - 1)));
    assert_false(IS_BAR(right, bottom - SG_GRAPHS_PLOT_H / 2));
    assert_true(IS_BAR(mid, 0));
    /* nothing else in the first plot: no bar for the 6 s old sample */
    for (uint32_t x = 0; x < w; x++)
        if (x != right && x != mid)
            assert_false(IS_BAR(x, bottom));
    /* the other graphs have no samples: background only */
    for (uint32_t y = SG_GRAPHS_PLOT_H; y < h; y++)
        for (uint32_t x = 0; x < w; x++)
            assert_true(px[((size_t)y * w + x) * 4 + 3] == 0 || px[((size_t)y * w + x) * 4 + 3] == 170 ||
                        px[((size_t)y * w + x) * 4] == 0x80);
#undef IS_BAR
    free(px);
    sg_graphs_destroy(g);
}

/* The audio panel appears only while sound blocks come (samples within the span), below the
 * others, with its bars in its own colour. */
static void graphs_audio_panel_only_while_playing(void **state)
{
    struct sg_graphs *g = sg_graphs_create();
    uint64_t now = 100000000000ull;
    uint8_t *px;
    uint32_t w, h_idle, h_old, h_playing;
    assert_true(sg_graphs_render(g, NULL, now, &px, &w, &h_idle));
    free(px);
    sg_graphs_add(g, SG_GRAPH_AUDIO, now - SG_GRAPHS_SPAN_NS - 1000000000ull, 25.0); /* stopped long ago */
    assert_true(sg_graphs_render(g, NULL, now, &px, &w, &h_old));
    free(px);
    assert_int_equal(h_old, h_idle);
    sg_graphs_add(g, SG_GRAPH_AUDIO, now, 25.0);
    assert_true(sg_graphs_render(g, NULL, now, &px, &w, &h_playing));
    assert_true(h_playing > h_idle + SG_GRAPHS_PLOT_H);
    /* 25 ms on a 0-30 ms scale: the newest bar at the right, 5/6 of the plot high */
    const uint8_t *cyan = sg_graph_colour[SG_GRAPH_AUDIO];
    uint32_t bottom = h_playing - 1, right = w - 1, bar = (uint32_t)ceil(25.0 / 30 * SG_GRAPHS_PLOT_H);
#define IS_CYAN(x, y)                                                                                        \
    (px[((size_t)(y)*w + (x)) * 4 + 3] == 255 && !memcmp(&px[((size_t)(y)*w + (x)) * 4], cyan, 3))
    assert_true(IS_CYAN(right, bottom));
    assert_true(IS_CYAN(right, bottom - (bar - 1)));
    assert_false(IS_CYAN(right, bottom - bar));
    assert_false(IS_CYAN(right - 1, bottom));
    /* nowhere in the video panels above it */
    for (uint32_t y = 0; y < h_idle; y++)
        for (uint32_t x = 0; x < w; x++)
            assert_false(IS_CYAN(x, y));
#undef IS_CYAN
    free(px);
    sg_graphs_destroy(g);
}

/* The wait after an empty poll: 1 ms while messages come, slower over a still
 * guest (interruptible by input), 125 us right after input whatever came before. */
/* The cursor's rectangles: a step of a pointer in motion is redrawn as one
 * box, a jump as two; the cursor's own rectangle is cut to the drawable. */
static void draw_rects_merge_and_clip(void **state)
{
    struct sg_render_rect a = {100, 100, 34, 34}, b = {105, 98, 34, 34};
    assert_true(sg_draw_rects_merge_nearby(&a, &b));
    assert_int_equal(a.x, 100);
    assert_int_equal(a.y, 98);
    assert_int_equal(a.w, 39);
    assert_int_equal(a.h, 36);

    struct sg_render_rect far = {100, 100, 34, 34}, jump = {600, 100, 34, 34};
    assert_false(sg_draw_rects_merge_nearby(&far, &jump));
    assert_int_equal(far.x, 100); /* left as it was */
    assert_int_equal(far.w, 34);
    /* a diagonal step of a whole cursor: the box (68x68) is more than 1.5 x both */
    struct sg_render_rect d0 = {0, 0, 34, 34}, d1 = {34, 34, 34, 34};
    assert_false(sg_draw_rects_merge_nearby(&d0, &d1));

    struct sg_render_scene sc = {.fb_w = 200,
                                 .fb_h = 100,
                                 .cursor_visible = true,
                                 .cur_x = 190.5,
                                 .cur_y = -3,
                                 .cur_w = 20,
                                 .cur_h = 20};
    struct sg_render_rect r;
    assert_true(sg_draw_cursor_rect(&sc, &r));
    assert_int_equal(r.x, 189);
    assert_int_equal(r.y, 0);
    assert_int_equal(r.w, 11);
    assert_int_equal(r.h, 18);
    sc.cur_x = 250; /* wholly outside */
    assert_false(sg_draw_cursor_rect(&sc, &r));
    sc.cursor_visible = false;
    sc.cur_x = 10;
    assert_false(sg_draw_cursor_rect(&sc, &r));
}

static void poll_wait_follows_activity(void **state)
{
    (void)state;
    const uint64_t ms = 1000000ull, t0 = 100000 * ms;
    struct sg_poll_wait w = sg_session_poll_wait(t0, t0 - 10 * ms, 0, 1000, 125);
    assert_int_equal(w.us, 1000);
    assert_false(w.interruptible);
    w = sg_session_poll_wait(t0, t0 - 600 * ms, 0, 1000, 125);
    assert_int_equal(w.us, 4000);
    assert_true(w.interruptible);
    w = sg_session_poll_wait(t0, t0 - 2500 * ms, 0, 1000, 125);
    assert_int_equal(w.us, SG_POLL_STILL_US);
    assert_true(w.interruptible);
    /* input sent 10 ms ago: fast, even after a still spell */
    uint64_t until = t0 - 10 * ms + SG_POLL_INPUT_WINDOW_NS;
    w = sg_session_poll_wait(t0, t0 - 2500 * ms, until, 1000, 125);
    assert_int_equal(w.us, 125);
    assert_false(w.interruptible);
    /* the window is over */
    w = sg_session_poll_wait(until, t0 - 10 * ms, until, 1000, 125);
    assert_int_equal(w.us, 1000);
    /* inputPollUs=0, or not faster than pollUs: no fast window */
    assert_int_equal(sg_session_poll_wait(t0, t0 - 10 * ms, until, 1000, 0).us, 1000);
    assert_int_equal(sg_session_poll_wait(t0, t0 - 10 * ms, until, 100, 125).us, 100);
    /* a poll interval above the still one is not made faster */
    assert_int_equal(sg_session_poll_wait(t0, t0 - 2500 * ms, 0, 50000, 125).us, 200000);
    /* a clock that went backwards counts as busy */
    assert_int_equal(sg_session_poll_wait(t0, t0 + ms, 0, 1000, 125).us, 1000);
}

int main(void)
{
    setenv("SPYGLASS_NO_USER_CONFIG", "1", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(view_keep_letterbox),
        cmocka_unit_test(view_integer),
        cmocka_unit_test(view_rotation_roundtrip),
        cmocka_unit_test(view_clamped_warp_target),
        cmocka_unit_test(cursor_mono),
        cmocka_unit_test(cursor_colour_and_masked),
        cmocka_unit_test(cursor_rejects),
        cmocka_unit_test(options_values),
        cmocka_unit_test(keys_escape),
        cmocka_unit_test(overlay_wrap),
        cmocka_unit_test(graphs_bars),
        cmocka_unit_test(graphs_audio_panel_only_while_playing),
        cmocka_unit_test(screenshot_appears_whole),
        cmocka_unit_test(poll_wait_follows_activity),
        cmocka_unit_test(draw_rects_merge_and_clip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
