/* The playback latency controller against a simulated guest clock that drifts, with blocks
 * arriving late and early: the latency must settle at the target and stay near it, the
 * buffer must never run dry, and the ratio must end up undoing the drift. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ratectl.h"

struct sim_result {
    double min_buffer_s; /* after the start */
    double max_err_s;    /* |latency - target| after settling */
    double final_ratio;
    double final_smooth_s;
};

static uint32_t rng = 12345;
static double jitter(double amp)
{
    rng = rng * 1103515245u + 12345u;
    return amp * (((rng >> 8) & 0xffff) / 32768.0 - 1.0);
}

/* Blocks of 480 guest frames made at 48000 x (1 + drift) Hz, delivered with +-jit_s jitter;
 * the device consumes 48000 Hz and adds dev_s of its own. The buffer starts at the target. */
static struct sim_result simulate(double drift, double jit_s, double seconds, double settle_s)
{
    const double rate = 48000, frame_s = 480 / (rate * (1 + drift)), dev_s = 0.005, target_s = 0.025;
    struct sg_ratectl c;
    sg_ratectl_init(&c, target_s);
    struct sim_result r = {.min_buffer_s = 1e9};
    double buffer_s = target_s - dev_s, t_prev = frame_s;
    for (int k = 1; k * frame_s < seconds; k++) {
        double t = k * frame_s + jitter(jit_s);
        if (t < t_prev)
            t = t_prev;         /* blocks keep their order */
        buffer_s -= t - t_prev; /* the device played this much meanwhile */
        if (buffer_s < r.min_buffer_s && t > 1.0)
            r.min_buffer_s = buffer_s;
        if (buffer_s < 0)
            buffer_s = 0;
        double ratio = sg_ratectl_update(&c, buffer_s + dev_s, k == 1 ? 0 : t - t_prev);
        buffer_s += 480 * ratio / rate;
        t_prev = t;
        if (t > settle_s && fabs(c.smooth_s - target_s) > r.max_err_s)
            r.max_err_s = fabs(c.smooth_s - target_s);
    }
    r.final_ratio = c.ratio;
    r.final_smooth_s = c.smooth_s;
    return r;
}

static void drift_from_the_start_stays_within_5ms(void **state)
{
    /* No settling time: a stream that starts on a guest 0.5 % fast or slow. */
    assert_true(simulate(+0.005, 0.003, 30, 0).max_err_s < 0.005);
    assert_true(simulate(-0.005, 0.003, 30, 0).max_err_s < 0.005);
}

static void follows_fast_guest(void **state)
{
    struct sim_result r = simulate(+0.005, 0.003, 120, 20);
    assert_true(r.min_buffer_s > 0.005);
    assert_true(r.max_err_s < 0.002);
    assert_true(fabs(r.final_ratio - 1 / 1.005) < 0.0005);
}

static void follows_slow_guest(void **state)
{
    struct sim_result r = simulate(-0.005, 0.003, 120, 20);
    assert_true(r.min_buffer_s > 0.005);
    assert_true(r.max_err_s < 0.002);
    assert_true(fabs(r.final_ratio - 1 / 0.995) < 0.0005);
}

static void steady_without_drift(void **state)
{
    struct sim_result r = simulate(0, 0.004, 60, 5);
    assert_true(r.max_err_s < 0.003);
    assert_true(fabs(r.final_ratio - 1) < 0.001); /* the jitter moves it a little, never far */
}

static void never_beyond_one_percent(void **state)
{
    /* 5 % drift cannot be followed: the ratio stays at its limit, never runs away. */
    struct sim_result r = simulate(+0.05, 0, 30, 1);
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
        cmocka_unit_test(never_beyond_one_percent),
        cmocka_unit_test(reset_keeps_the_drift),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
