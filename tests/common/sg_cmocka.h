/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * cmocka with skips meson can see. cmocka counts a case that called skip() as not failed and its
 * group exits 0, so meson would report PASS for a test that did not test. Include this header
 * instead of <cmocka.h> and end main() with sg_run_tests(): a run in which any case skipped exits
 * 77 (meson's SKIP) unless one failed. A case that can skip (it needs a fixture, a program) belongs
 * in a meson test of its own (select it with a case name argument, leave it out of the main test
 * with -x NAME) so the cases that did run still show as passed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* cmocka's skip(), counted. */
void sg_count_skip(void);
#undef skip
#define skip() (sg_count_skip(), _skip(__FILE__, __LINE__))

/* Runs the cases named on the command line (all when none is named; "-x NAME" leaves one out),
 * as a group named after the program, then returns the exit status: 0 all passed, 1 any failed, 77 any
 * skipped and none failed, 2 a name that is no case. */
#define sg_run_tests(argc, argv, tests, setup, teardown)                                                     \
    sg_run_group((argc), (argv), (tests), sizeof(tests) / sizeof((tests)[0]), (setup), (teardown))
int sg_run_group(int argc, char **argv, const struct CMUnitTest *tests, size_t count, CMFixtureFunction setup,
                 CMFixtureFunction teardown);
