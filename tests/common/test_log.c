/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The project's logger: line format and levels, escaping, the rate limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sg_log.h"
#include "sg_time.h"

/* Runs the logger with stderr sent to a temporary file; returns what it wrote. */
static char captured[8192];

static FILE *cap_file;
static int saved_fd;

static void cap_begin(void)
{
    fflush(stderr);
    cap_file = tmpfile();
    assert_non_null(cap_file);
    saved_fd = dup(2);
    assert_true(saved_fd >= 0);
    assert_true(dup2(fileno(cap_file), 2) >= 0);
}

static const char *cap_end(void)
{
    fflush(stderr);
    assert_true(dup2(saved_fd, 2) >= 0);
    close(saved_fd);
    rewind(cap_file);
    size_t n = fread(captured, 1, sizeof(captured) - 1, cap_file);
    captured[n] = 0;
    fclose(cap_file);
    return captured;
}

static void line_format_and_levels(void **state)
{
    (void)state;
    sg_log_set_level(SG_LOG_INFO);
    cap_begin();
    sg_log("prog", SG_LOG_ERROR, "cannot open %s", "/x");
    sg_log("prog", SG_LOG_WARN, "frame message at offset %u rejected", 7u);
    sg_log("prog", SG_LOG_INFO, "connected");
    sg_log("prog", SG_LOG_DEBUG, "not shown at info");
    assert_string_equal(cap_end(), "prog: error: cannot open /x\n"
                                   "prog: frame message at offset 7 rejected\n"
                                   "prog: connected\n");

    sg_log_set_level(SG_LOG_DEBUG);
    cap_begin();
    sg_log("prog", SG_LOG_DEBUG, "shown %d", 1);
    assert_string_equal(cap_end(), "prog: debug: shown 1\n");

    sg_log_set_level(SG_LOG_ERROR);
    assert_false(sg_log_enabled(SG_LOG_WARN));
    cap_begin();
    sg_log("prog", SG_LOG_WARN, "hidden");
    sg_log("prog", SG_LOG_ERROR, "shown");
    assert_string_equal(cap_end(), "prog: error: shown\n");
    sg_log_set_level(SG_LOG_INFO);

    /* the macros use the domain the build gives (SG_LOG_DOMAIN) */
    cap_begin();
    LOG_I("via macro");
    assert_string_equal(cap_end(), "test-domain: via macro\n");
}

static void parse_level(void **state)
{
    (void)state;
    enum sg_log_level l = SG_LOG_INFO;
    assert_true(sg_log_parse_level("DEBUG", &l));
    assert_int_equal(l, SG_LOG_DEBUG);
    assert_true(sg_log_parse_level("warn", &l));
    assert_int_equal(l, SG_LOG_WARN);
    assert_true(sg_log_parse_level("error", &l));
    assert_int_equal(l, SG_LOG_ERROR);
    assert_false(sg_log_parse_level("verbose", &l));
    assert_false(sg_log_parse_level("", &l));
    assert_int_equal(l, SG_LOG_ERROR); /* untouched on failure */
}

static void escaping(void **state)
{
    (void)state;
    char out[128];
    /* a terminal title sequence, a forged second line, DEL, a C1 CSI, a stray continuation byte */
    sg_log_escape(out, sizeof(out),
                  "a\033]0;X\007b\nc\r\x7f"
                  "d\xc2\x9b"
                  "e\x80"
                  "f");
    assert_string_equal(out, "a\\x1b]0;X\\x07b\\x0ac\\x0d\\x7fd\\xc2\\x9be\\x80f");
    /* well-formed UTF-8 passes: é, €, 𝄞 */
    sg_log_escape(out, sizeof(out), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e");
    assert_string_equal(out, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e");
    /* overlong, surrogate and truncated sequences are escaped byte by byte */
    sg_log_escape(out, sizeof(out), "\xc0\xaf|\xed\xa0\x80|\xe2\x82");
    assert_string_equal(out, "\\xc0\\xaf|\\xed\\xa0\\x80|\\xe2\\x82");
    /* cut short, never inside an escape */
    size_t n = sg_log_escape(out, 6, "ab\033cd");
    assert_int_equal(n, 2);
    assert_string_equal(out, "ab");

    cap_begin();
    sg_log("prog", SG_LOG_WARN, "host \"%s\"", "B7\033[2J\nprog: forged");
    assert_string_equal(cap_end(), "prog: host \"B7\\x1b[2J\\x0aprog: forged\"\n");
}

static void rate_limit(void **state)
{
    (void)state;
    struct sg_log_limit l = {0};
    unsigned skipped = 99, allowed = 0;
    uint64_t t = 5000;
    for (int i = 0; i < 100; i++)
        allowed += sg_log_limit_allow(&l, 5, t + (uint64_t)i, &skipped);
    assert_int_equal(allowed, 5); /* a burst of 5 in the first second */
    assert_int_equal(skipped, 0);
    assert_false(sg_log_limit_allow(&l, 5, t + 999, &skipped));
    /* the next second: allowed again, and told how many were left out */
    assert_true(sg_log_limit_allow(&l, 5, t + 1000, &skipped));
    assert_int_equal(skipped, 96);
    assert_true(sg_log_limit_allow(&l, 5, t + 1001, &skipped));
    assert_int_equal(skipped, 0);
    /* a quiet spell resets the window */
    for (int i = 0; i < 3; i++)
        sg_log_limit_allow(&l, 5, t + 1002, &skipped);
    assert_false(sg_log_limit_allow(&l, 5, t + 1003, &skipped));
    assert_true(sg_log_limit_allow(&l, 5, t + 60000, &skipped));
    assert_int_equal(skipped, 1);
}

static void clock_and_sleep(void **state)
{
    (void)state;
    uint64_t a = sg_time_ns();
    sg_sleep_us(2000);
    uint64_t b = sg_time_ns();
    assert_true(b - a >= 2000000u); /* at least the time asked for; no upper bound (loaded machine) */
    sg_sleep_ns(-5);                /* a passed deadline returns at once */
    assert_true(sg_time_ms() >= b / 1000000u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(line_format_and_levels),
        cmocka_unit_test(parse_level),
        cmocka_unit_test(escaping),
        cmocka_unit_test(rate_limit),
        cmocka_unit_test(clock_and_sleep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
