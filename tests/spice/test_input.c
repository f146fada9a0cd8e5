/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Unit tests of client/input.c: set-1 key translation and the uncaptured cursor synchronisation,
 * driven against a simulated guest that accelerates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include "input.h"

static void test_keymap(void **state)
{
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_A), 0x1e);
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_Z), 0x2c);
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_1), 0x02);
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_0), 0x0b);
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_F10), 0x44);
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_F11), 0x57);
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_LSHIFT), 0x2a);
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_RSHIFT), 0x36);
    /* Extended keys carry the E0 prefix as 0x100. */
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_LEFT), 0x14b);
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_KP_ENTER), 0x11c);
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_RCTRL), 0x11d);
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_RALT), 0x138);
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_DELETE), 0x153);
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_KP_DIVIDE), 0x135);
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_LGUI), 0x15b);
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_KP_7), 0x47); /* keypad Home is not extended */
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_UNKNOWN), 0);
    assert_int_equal(sg_input_set1_from_sdl(SDL_SCANCODE_F20), 0);
}

/* A guest with a linear acceleration `gain` and a host reporting its cursor. */
struct guest {
    double gain;
    int x, y;
};

static void apply(struct guest *g, const struct sg_sync_action *a)
{
    if (a->type == SG_SYNC_RELATIVE) {
        g->x += (int)lround(a->dx * g->gain);
        g->y += (int)lround(a->dy * g->gain);
    } else if (a->type == SG_SYNC_SET_POS) {
        g->x = a->x;
        g->y = a->y;
    }
}

static void test_enter_places_and_catches_up(void **state)
{
    struct sg_cursor_sync s;
    struct sg_sync_action a;
    sg_cursor_sync_init(&s, NULL);
    sg_cursor_sync_enter(&s, 100.4, 50.6, true, 1000, &a);
    assert_int_equal(a.type, SG_SYNC_SET_POS);
    assert_int_equal(a.x, 100);
    assert_int_equal(a.y, 51);
    /* Motion while the host has not acknowledged yet is held back... */
    sg_cursor_sync_motion(&s, 104, 51, 1005, &a);
    assert_int_equal(a.type, SG_SYNC_NONE);
    /* ...and sent as one catch-up step after the acknowledgement. */
    sg_cursor_sync_set_pos_done(&s, true, 1012, &a);
    assert_int_equal(a.type, SG_SYNC_RELATIVE);
    assert_int_equal(a.dx, 4);
    assert_int_equal(a.dy, 0);
    sg_cursor_sync_motion(&s, 114, 41, 1020, &a);
    assert_int_equal(a.type, SG_SYNC_RELATIVE);
    assert_int_equal(a.dx, 10);
    assert_int_equal(a.dy, -10);
}

static void test_acceleration_corrected_with_set_pos(void **state)
{
    struct guest g = {.gain = 3};
    struct sg_cursor_sync s;
    struct sg_sync_action a;
    sg_cursor_sync_init(&s, NULL);
    sg_cursor_sync_enter(&s, 200, 200, true, 0, &a);
    apply(&g, &a);
    sg_cursor_sync_set_pos_done(&s, true, 10, &a);
    apply(&g, &a);
    uint64_t t = 20;
    for (int i = 1; i <= 10; i++, t += 8) {
        sg_cursor_sync_motion(&s, 200 + 5 * i, 200 - 2 * i, t, &a);
        apply(&g, &a);
        sg_cursor_sync_report(&s, g.x, g.y, t + 4, &a);
        assert_int_equal(a.type, SG_SYNC_NONE); /* our own motion: never followed */
    }
    assert_int_equal(g.x, 350); /* 3 x 50 past 200: the guest accelerated */
    /* off target: the caller must keep ticking (its event loop may not sleep) */
    assert_true(sg_cursor_sync_wants_tick(&s, true));
    /* Not yet settled: nothing happens. */
    sg_cursor_sync_tick(&s, true, t + 10, &a);
    assert_int_equal(a.type, SG_SYNC_NONE);
    sg_cursor_sync_tick(&s, true, t + 60, &a);
    assert_int_equal(a.type, SG_SYNC_SET_POS);
    assert_int_equal(a.x, 250);
    assert_int_equal(a.y, 180);
    apply(&g, &a);
    sg_cursor_sync_set_pos_done(&s, true, t + 70, &a);
    assert_int_equal(a.type, SG_SYNC_NONE);
    sg_cursor_sync_report(&s, g.x, g.y, t + 75, &a);
    assert_false(sg_cursor_sync_wants_tick(&s, true)); /* on target: nothing left for ticks */
    sg_cursor_sync_tick(&s, true, t + 200, &a);
    assert_int_equal(a.type, SG_SYNC_NONE);
    assert_int_equal(s.corrections, 1);
}

static void test_relative_fallback_converges(void **state)
{
    struct guest g = {.gain = 3, .x = 10, .y = 10};
    struct sg_cursor_sync s;
    struct sg_sync_action a;
    sg_cursor_sync_init(&s, NULL);
    sg_cursor_sync_report(&s, g.x, g.y, 0, &a);
    sg_cursor_sync_enter(&s, 400, 300, false, 1000, &a);
    assert_int_equal(a.type, SG_SYNC_RELATIVE);
    apply(&g, &a);
    uint64_t t = 1000;
    for (int i = 0; i < 10; i++) {
        t += 20;
        sg_cursor_sync_report(&s, g.x, g.y, t, &a);
        t += 60;
        sg_cursor_sync_tick(&s, false, t, &a);
        apply(&g, &a);
    }
    assert_true(abs(g.x - 400) <= 2);
    assert_true(abs(g.y - 300) <= 2);
    assert_true(s.gain > 2.5 && s.gain < 3.5);
    sg_cursor_sync_report(&s, g.x, g.y, t + 20, &a);
    assert_false(sg_cursor_sync_wants_tick(&s, false)); /* converged: the loop may sleep */
}

/* A loaded VM: the guest shows each motion 150 ms after it was sent, one queued motion per 40 ms
 * (a stalled vCPU working through its PS/2 packets), and accelerates x2 above 4 px like X. The
 * client must not correct while earlier motion is still on its way: it converges without ever
 * being thrown to the screen's edge, and no report is taken for a guest-initiated move. */
struct lagging {
    int x, y;
    double fx, fy;
    int qdx[64], qdy[64];
    uint64_t qt[64];
    int head, tail;
    uint64_t next;
};

static void lag_send(struct lagging *g, const struct sg_sync_action *a, uint64_t now)
{
    if (a->type != SG_SYNC_RELATIVE)
        return;
    assert_true(g->tail - g->head < 64);
    g->qdx[g->tail % 64] = a->dx;
    g->qdy[g->tail % 64] = a->dy;
    g->qt[g->tail % 64] = now + 150;
    g->tail++;
}

static bool lag_run(struct lagging *g, uint64_t now)
{
    bool moved = false;
    while (g->head < g->tail && g->qt[g->head % 64] <= now && g->next <= now) {
        int dx = g->qdx[g->head % 64], dy = g->qdy[g->head % 64];
        double f = abs(dx) + abs(dy) > 4 ? 2.0 : 1.0;
        g->fx = fmin(fmax(g->fx + dx * f, 0), 1023);
        g->fy = fmin(fmax(g->fy + dy * f, 0), 767);
        g->x = (int)lround(g->fx);
        g->y = (int)lround(g->fy);
        g->head++;
        g->next = now + 40;
        moved = true;
    }
    return moved;
}

static void test_relative_fallback_lagging_guest(void **state)
{
    struct lagging g = {.x = 890, .y = 700, .fx = 890, .fy = 700};
    struct sg_cursor_sync s;
    struct sg_sync_action a;
    sg_cursor_sync_init(&s, NULL);
    uint64_t t = 1000;
    sg_cursor_sync_report(&s, g.x, g.y, t, &a);
    sg_cursor_sync_enter(&s, 890, 700, false, t, &a);
    lag_send(&g, &a, t);
    int max_after_corner = -1, moves = 0;
    for (; t < 8000; t += 5) {
        if (moves < 15 && t % 15 == 0) { /* 15 steps of -37,-29, one every 15 ms, as vm-input moves */
            moves++;
            sg_cursor_sync_motion(&s, 890 - 37 * moves, 700 - 29 * moves, t, &a);
            lag_send(&g, &a, t);
        }
        if (lag_run(&g, t)) {
            sg_cursor_sync_report(&s, g.x, g.y, t, &a);
            assert_int_not_equal(a.type, SG_SYNC_FOLLOW); /* late answers are ours, not the guest's */
            if (max_after_corner >= 0 || (g.x == 0 && g.y == 0))
                max_after_corner = g.x > max_after_corner ? g.x : max_after_corner;
        }
        if (t % 10 == 0) {
            sg_cursor_sync_tick(&s, false, t, &a);
            lag_send(&g, &a, t);
        }
    }
    /* the guest's own acceleration took it past the target (to the corner: 555 x 2 > 890); from there
     * the corrections must bring it back in a few steps, each sent after the previous one showed */
    assert_true(abs(g.x - 335) <= 1);
    assert_true(abs(g.y - 265) <= 1);
    assert_true(s.lag_ms >= 150);
    assert_true(s.steps <= 8);
    /* from the corner, the first step (gain not known yet: 1) lands at 2 x 335; then one more */
    assert_true(max_after_corner >= 0 && max_after_corner <= 672);
    assert_true(s.steps <= 3);
}

static void test_guest_moves_cursor_local_follows(void **state)
{
    struct sg_cursor_sync s;
    struct sg_sync_action a;
    sg_cursor_sync_init(&s, NULL);
    sg_cursor_sync_enter(&s, 50, 50, true, 0, &a);
    sg_cursor_sync_set_pos_done(&s, true, 10, &a);
    sg_cursor_sync_report(&s, 50, 50, 20, &a);
    /* Long after the last motion the guest warps its cursor. */
    sg_cursor_sync_report(&s, 600, 400, 2000, &a);
    assert_int_equal(a.type, SG_SYNC_FOLLOW);
    assert_int_equal(a.x, 600);
    assert_int_equal(a.y, 400);
    sg_cursor_sync_tick(&s, true, 3000, &a);
    assert_int_equal(a.type, SG_SYNC_NONE);
    /* Motion from there is relative to the new place. */
    sg_cursor_sync_motion(&s, 603, 401, 3010, &a);
    assert_int_equal(a.type, SG_SYNC_RELATIVE);
    assert_int_equal(a.dx, 3);
    assert_int_equal(a.dy, 1);
}

static void test_failed_set_pos_falls_back(void **state)
{
    struct sg_cursor_sync s;
    struct sg_sync_action a;
    sg_cursor_sync_init(&s, NULL);
    sg_cursor_sync_report(&s, 0, 0, 0, &a);
    sg_cursor_sync_enter(&s, 30, 40, true, 100, &a);
    assert_int_equal(a.type, SG_SYNC_SET_POS);
    sg_cursor_sync_set_pos_done(&s, false, 110, &a);
    assert_int_equal(a.type, SG_SYNC_RELATIVE);
    assert_int_equal(a.dx, 30);
    assert_int_equal(a.dy, 40);
}

static void test_outside_sends_nothing(void **state)
{
    struct sg_cursor_sync s;
    struct sg_sync_action a;
    sg_cursor_sync_init(&s, NULL);
    sg_cursor_sync_motion(&s, 10, 10, 0, &a);
    assert_int_equal(a.type, SG_SYNC_NONE);
    sg_cursor_sync_enter(&s, 10, 10, true, 0, &a);
    sg_cursor_sync_set_pos_done(&s, true, 5, &a);
    sg_cursor_sync_leave(&s);
    sg_cursor_sync_motion(&s, 20, 20, 10, &a);
    assert_int_equal(a.type, SG_SYNC_NONE);
    sg_cursor_sync_report(&s, 90, 90, 10, &a);
    sg_cursor_sync_tick(&s, true, 1000, &a);
    assert_int_equal(a.type, SG_SYNC_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keymap),
        cmocka_unit_test(test_enter_places_and_catches_up),
        cmocka_unit_test(test_acceleration_corrected_with_set_pos),
        cmocka_unit_test(test_relative_fallback_converges),
        cmocka_unit_test(test_relative_fallback_lagging_guest),
        cmocka_unit_test(test_guest_moves_cursor_local_follows),
        cmocka_unit_test(test_failed_set_pos_falls_back),
        cmocka_unit_test(test_outside_sends_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
