/* The playback latency controller against a simulated guest clock that drifts, with blocks
 * arriving late (by a little most of the time, by a lot now and then): the latency a
 * listener hears (guest put -> played) must stay at the target, the buffer must never run dry,
 * and the ratio must end up undoing the drift. Then stalls (no block for a while, then the
 * backlog at once), shorter and longer than the buffer's lead, with the player's own part
 * (sg_ratectl_jump, restart after an underrun): the latency heard must be back at the target
 * right after each. And the play position estimate (playpos.h) against late reports. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "playpos.h"
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

/* ------------------------------------------------------------------ stalls */

struct stall_result {
    int stalls, underruns, faults;
    double max_err_s;      /* |heard - target| outside the stalls and the recovery after them */
    double recovery_max_s; /* from a stall's end until heard stays within 1 ms of the target */
    double final_ratio;
};

/* Like simulate, with the player's side as playback.c does it: the guest stalls every
 * every_s for lo_s..hi_s (its blocks due meanwhile arrive together at the stall's end, then
 * it goes on on time). The device plays on; if the buffer runs dry (a stall longer than its
 * lead), the gap is silence, the server waits for its prebuffer and the player measures again
 * once the backlog is in (the first block after the burst), as a restart. Readings are the
 * buffer's level plus the device's latency; now and then one is short by read_err_s (the
 * server's timing late, see playpos.h). Blocks within excuse_s after a stall's end are the
 * recovery; max_err_s is over the others. */
static struct stall_result simulate_stalls(double drift, double every_s, double lo_s, double hi_s,
                                           double seconds, double read_err_s, double excuse_s)
{
    const double rate = 48000, n = 480, frame_s = n / (rate * (1 + drift)), dev_s = 0.005, target_s = 0.025;
    struct sg_ratectl c;
    sg_ratectl_init(&c, target_s);
    struct stall_result r = {0};
    double end_s = target_s - dev_s, a_prev = 0, last_measured = -1;
    double stall_at = every_s, stall_end = -1, dry_at = 0;
    bool dry = false;
    for (int k = 0; k * frame_s < seconds; k++) {
        double put = k * frame_s, a = put + 0.0005 * uniform();
        if (put >= stall_at) { /* a stall starts: blocks due until its end arrive together then */
            stall_end = stall_at + lo_s + (hi_s - lo_s) * uniform();
            stall_at += every_s;
            r.stalls++;
        }
        if (put < stall_end)
            a = stall_end;
        if (a < a_prev)
            a = a_prev;
        if (end_s < a) { /* ran dry: the gap is silence, the server waits for the prebuffer */
            r.underruns++;
            end_s = a;
            dry = true;
            dry_at = a;
        }
        if (dry && a < dry_at + 0.002) { /* restarting: no fresh timing yet, written unmeasured */
            end_s += n * c.ratio / rate;
            a_prev = a;
            continue;
        }
        if (dry) {
            sg_ratectl_restart(&c);
            dry = false;
        }
        double reading = end_s - a + dev_s, frames = n, put_first = put;
        if (read_err_s > 0 && k % 37 == 36)
            reading -= read_err_s * uniform();
        bool fault;
        double jump = sg_ratectl_jump(&c, reading, &fault);
        r.faults += fault;
        if (jump > 0)
            end_s += jump; /* silence */
        else if (jump < 0) {
            double cut = -jump * rate;
            if (cut >= frames) {
                a_prev = a;
                continue;
            }
            frames -= cut;
            put_first += cut / (rate * (1 + drift));
        }
        double ratio = sg_ratectl_update(&c, reading + jump, last_measured < 0 ? 0 : a - last_measured);
        last_measured = a;
        double err = fabs(end_s + dev_s - put_first - target_s);
        if (put >= 5.0 && put >= stall_end) { /* blocks of the stall itself play late: no player helps */
            if (a < stall_end + excuse_s) {
                if (err > 0.001 && a - stall_end > r.recovery_max_s)
                    r.recovery_max_s = a - stall_end;
            } else if (err > r.max_err_s)
                r.max_err_s = err;
        }
        end_s += frames * ratio / rate;
        a_prev = a;
    }
    r.final_ratio = c.ratio;
    return r;
}

static void stalls_within_the_lead_move_nothing(void **state)
{
    /* A late block then the backlog, every 2 s, shorter than the buffer's 20 ms lead: the
     * buffer dips and refills, the sound heard does not move. */
    struct stall_result f = simulate_stalls(+0.005, 2, 0.005, 0.017, 60, 0, 0),
                        s = simulate_stalls(-0.005, 2, 0.005, 0.017, 60, 0, 0);
    print_message("stalls 5..17 ms every 2 s: heard within %.2f / %.2f ms, %d underruns\n", f.max_err_s * 1e3,
                  s.max_err_s * 1e3, f.underruns + s.underruns);
    assert_int_equal(f.underruns + s.underruns, 0);
    assert_int_equal(f.faults + s.faults, 0);
    assert_true(f.max_err_s < 0.0005 && s.max_err_s < 0.0005);
}

static void stalls_beyond_the_lead_recover_at_once(void **state)
{
    /* Longer than the lead: the buffer runs dry (no player avoids that), the gap adds to the
     * latency, and the backlog comes at once. The restart must set the latency back at the
     * target right away, not over the seconds the 1 % resampler would take. */
    struct stall_result f = simulate_stalls(+0.005, 4, 0.025, 0.045, 60, 0, 0.1),
                        s = simulate_stalls(-0.005, 4, 0.025, 0.045, 60, 0, 0.1);
    print_message("stalls 25..45 ms every 4 s: %d and %d underruns, back within 1 ms after %.0f / %.0f ms, "
                  "then within %.2f / %.2f ms\n",
                  f.underruns, s.underruns, f.recovery_max_s * 1e3, s.recovery_max_s * 1e3, f.max_err_s * 1e3,
                  s.max_err_s * 1e3);
    assert_int_equal(f.underruns, f.stalls);
    assert_int_equal(s.underruns, s.stalls);
    assert_int_equal(f.faults + s.faults, 0); /* cut at the restart, not counted as overruns */
    assert_true(f.recovery_max_s < 0.03 && s.recovery_max_s < 0.03);
    assert_true(f.max_err_s < 0.001 && s.max_err_s < 0.001);
    assert_true(fabs(f.final_ratio - 1 / 1.005) < 0.001 && fabs(s.final_ratio - 1 / 0.995) < 0.001);
}

static void frequent_stalls_and_late_readings(void **state)
{
    /* The worst phases seen: a stall every second, up to 35 ms, and now and then a reading
     * short by up to 7 ms (the server's own timing late). */
    struct stall_result f = simulate_stalls(+0.005, 1, 0.010, 0.035, 60, 0.007, 0.1),
                        s = simulate_stalls(-0.005, 1, 0.010, 0.035, 60, 0.007, 0.1);
    print_message(
        "stalls 10..35 ms every 1 s: back within 1 ms after %.0f / %.0f ms, then within %.2f / %.2f ms\n",
        f.recovery_max_s * 1e3, s.recovery_max_s * 1e3, f.max_err_s * 1e3, s.max_err_s * 1e3);
    assert_true(f.recovery_max_s < 0.03 && s.recovery_max_s < 0.03);
    assert_true(f.max_err_s < 0.001 && s.max_err_s < 0.001);
    assert_int_equal(f.faults + s.faults, 0);
}

static void backlog_cut_at_once(void **state)
{
    /* A steady stream that suddenly holds 12 ms too much (blocks piled up, no underrun): cut
     * at once, counted as a fault; the window's measurements move with it, so a late block
     * right after reads no lower than it should. */
    struct sg_ratectl c;
    sg_ratectl_init(&c, 0.025);
    for (int i = 0; i < 300; i++)
        sg_ratectl_update(&c, 0.025, 0.01);
    bool fault;
    double jump = sg_ratectl_jump(&c, 0.037, &fault);
    assert_true(fault);
    assert_true(fabs(jump + 0.012) < 1e-9);
    sg_ratectl_update(&c, 0.037 + jump, 0.01);
    /* the next block 8 ms late: the window still holds the on-time level */
    double r = sg_ratectl_update(&c, 0.017, 0.018);
    assert_true(fabs(c.smooth_s - 0.025) < 1e-9);
    assert_true(fabs(r - 1) < 0.0005);
    /* a small excess is the controller's, not a cut */
    assert_true(sg_ratectl_jump(&c, 0.028, &fault) == 0 && !fault);
}

static void restart_sets_the_level_both_ways(void **state)
{
    struct sg_ratectl c;
    sg_ratectl_init(&c, 0.025);
    bool fault;
    sg_ratectl_restart(&c);
    double jump = sg_ratectl_jump(&c, 0.031, &fault); /* the backlog of a stall */
    assert_true(fabs(jump + 0.006) < 1e-9);
    assert_false(fault);
    sg_ratectl_update(&c, 0.025, 0);
    /* within window_s after it an excess is still the restart's */
    assert_true(fabs(sg_ratectl_jump(&c, 0.027, &fault) + 0.002) < 1e-9);
    assert_false(fault);
    sg_ratectl_restart(&c);
    assert_true(fabs(sg_ratectl_jump(&c, 0.012, &fault) - 0.013) < 1e-9); /* started short */
    sg_ratectl_restart(&c);
    assert_true(sg_ratectl_jump(&c, 0.0252, &fault) == 0); /* close enough */
}

/* ---------------------------------------------------------------- playpos */

static void playpos_ignores_late_reports(void **state)
{
    struct sg_playpos p;
    sg_playpos_init(&p);
    double pos;
    assert_false(sg_playpos_at(&p, 1.0, &pos));
    /* reports every 10 ms of a device 0.3 s into the stream at t = 10 s; one in five short by
     * up to 7 ms (the server's sink thread late), one in 23 long by up to 18 ms (the server held
     * between stamping it and reading its index) */
    for (int i = 0; i < 200; i++) {
        double t = 10 + i * 0.01, played = 0.3 + i * 0.01;
        double report = i % 5 == 4     ? played - 0.007 * uniform()
                        : i % 23 == 22 ? played + 0.018 * uniform()
                                       : played;
        sg_playpos_add(&p, t, report);
        assert_true(sg_playpos_at(&p, t + 0.004, &pos));
        if (i > 0)
            assert_true(fabs(pos - (played + 0.004)) < 1e-9);
    }
    /* after a restart the position starts afresh: an earlier, higher one is forgotten */
    sg_playpos_reset(&p);
    sg_playpos_add(&p, 13, 1.0);
    assert_true(sg_playpos_at(&p, 13.5, &pos));
    assert_true(fabs(pos - 1.5) < 1e-9);
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
        cmocka_unit_test(stalls_within_the_lead_move_nothing),
        cmocka_unit_test(stalls_beyond_the_lead_recover_at_once),
        cmocka_unit_test(frequent_stalls_and_late_readings),
        cmocka_unit_test(backlog_cut_at_once),
        cmocka_unit_test(restart_sets_the_level_both_ways),
        cmocka_unit_test(playpos_ignores_late_reports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
