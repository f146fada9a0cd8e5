/* The playback latency controller against a simulated guest clock that drifts, with blocks
 * arriving late (by a little most of the time, by a lot now and then): the latency a
 * listener hears (guest put -> played) must stay at the target, the buffer must never run dry,
 * and the ratio must end up undoing the drift. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ratectl.h"

struct sim_result {
    double max_err_s;  /* |heard latency - target| over the blocks after settle_s */
    double min_lead_s; /* least audio left in the buffer when a block arrived (after 1 s) */
    int underruns;
    double final_ratio;
    double final_smooth_s;
};

static uint32_t rng = 12345;
static double uniform(void)
{
    rng = rng * 1103515245u + 12345u;
    return ((rng >> 8) & 0xffff) / 65536.0;
}

/* Blocks of 480 guest frames put at 48000 x (1 + drift) Hz; each arrives late by up to 0.5 ms,
 * and one in late_every by up to late_s (0: never). The device plays 48000 Hz continuously and
 * adds dev_s of its own. The buffer starts at the target (the player tops a new stream up). */
static struct sim_result simulate(double drift, double late_s, int late_every, double seconds,
                                  double settle_s)
{
    const double rate = 48000, frame_s = 480 / (rate * (1 + drift)), dev_s = 0.005, target_s = 0.025;
    struct sg_ratectl c;
    sg_ratectl_init(&c, target_s);
    struct sim_result r = {.min_lead_s = 1e9};
    double end_s = target_s - dev_s; /* when the last written sample has left the buffer */
    double a_prev = 0;
    for (int k = 0; k * frame_s < seconds; k++) {
        double put = k * frame_s, late = 0.0005 * uniform();
        if (late_every && k % late_every == late_every - 1)
            late = late_s * uniform();
        double a = put + late;
        if (a < a_prev)
            a = a_prev; /* blocks keep their order */
        if (a > 1.0 && end_s - a < r.min_lead_s)
            r.min_lead_s = end_s - a;
        if (end_s < a) {
            r.underruns++;
            end_s = a;
        }
        double ratio = sg_ratectl_update(&c, end_s - a + dev_s, k == 0 ? 0 : a - a_prev);
        double heard = end_s + dev_s - put;
        if (put >= settle_s && fabs(heard - target_s) > r.max_err_s)
            r.max_err_s = fabs(heard - target_s);
        end_s += 480 * ratio / rate;
        a_prev = a;
    }
    r.final_ratio = c.ratio;
    r.final_smooth_s = c.smooth_s;
    return r;
}

static void drift_from_the_start_stays_within_5ms(void **state)
{
    /* No settling time: a stream that starts on a guest 0.5 % fast or slow. */
    struct sim_result f = simulate(+0.005, 0.003, 7, 30, 0), s = simulate(-0.005, 0.003, 7, 30, 0);
    print_message("from the start: fast guest within %.2f ms, slow guest within %.2f ms\n", f.max_err_s * 1e3,
                  s.max_err_s * 1e3);
    assert_true(f.max_err_s < 0.002);
    assert_true(s.max_err_s < 0.002);
    assert_int_equal(f.underruns + s.underruns, 0);
}

static void follows_fast_guest(void **state)
{
    struct sim_result r = simulate(+0.005, 0.003, 7, 120, 5);
    assert_int_equal(r.underruns, 0);
    assert_true(r.min_lead_s > 0.010);
    assert_true(r.max_err_s < 0.0005);
    assert_true(fabs(r.final_ratio - 1 / 1.005) < 0.0005);
}

static void follows_slow_guest(void **state)
{
    struct sim_result r = simulate(-0.005, 0.003, 7, 120, 5);
    assert_int_equal(r.underruns, 0);
    assert_true(r.min_lead_s > 0.010);
    assert_true(r.max_err_s < 0.0005);
    assert_true(fabs(r.final_ratio - 1 / 0.995) < 0.0005);
}

static void steady_without_drift(void **state)
{
    struct sim_result r = simulate(0, 0.004, 3, 60, 5);
    assert_true(r.max_err_s < 0.0005);
    assert_true(fabs(r.final_ratio - 1) < 0.001); /* the jitter moves it a little, never far */
}

static void late_blocks_do_not_move_the_latency(void **state)
{
    /* A block 20 ms late each second (a busy machine): the buffer dips by its lateness, the
     * latency heard does not, so the ratio must not answer it. */
    struct sim_result r = simulate(+0.005, 0.020, 100, 60, 5);
    print_message("blocks up to 20 ms late: latency within %.2f ms\n", r.max_err_s * 1e3);
    assert_int_equal(r.underruns, 0);
    assert_true(r.max_err_s < 0.001);
}

static void never_beyond_one_percent(void **state)
{
    /* 5 % drift cannot be followed: the ratio stays at its limit, never runs away. */
    struct sim_result r = simulate(+0.05, 0, 0, 30, 1);
    assert_true(r.final_ratio >= 0.99 - 1e-12 && r.final_ratio <= 1.01 + 1e-12);
    assert_false(isnan(r.final_smooth_s));
}

static void reset_keeps_the_drift(void **state)
{
    /* After an underrun the buffer refills: the smoothing starts over, the drift learnt stays. */
    struct simulated {
        double drift;
    } g = {0.005};
    struct sg_ratectl c;
    sg_ratectl_init(&c, 0.025);
    double buffer_s = 0.02;
    for (int i = 0; i < 6000; i++) { /* 60 s of blocks from a guest 0.5 % fast */
        double r = sg_ratectl_update(&c, buffer_s + 0.005, 0.01 / (1 + g.drift));
        buffer_s += 0.01 * r - 0.01 / (1 + g.drift);
    }
    double learnt = c.ratio;
    assert_true(fabs(learnt - 1 / 1.005) < 0.0005);
    sg_ratectl_reset(&c);
    assert_true(fabs(c.ratio - learnt) < 0.0005);
    /* the first measurement after it is taken as is: at the target, the drift's ratio alone */
    double r = sg_ratectl_update(&c, 0.025, 0.01);
    assert_true(fabs(r - learnt) < 0.0005);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(drift_from_the_start_stays_within_5ms),
        cmocka_unit_test(follows_fast_guest),
        cmocka_unit_test(follows_slow_guest),
        cmocka_unit_test(steady_without_drift),
        cmocka_unit_test(late_blocks_do_not_move_the_latency),
        cmocka_unit_test(never_beyond_one_percent),
        cmocka_unit_test(reset_keeps_the_drift),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
