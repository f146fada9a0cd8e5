/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cases with known outcomes for cmocka_skip_test.sh, which checks sg_run_tests' exit status. */
#include "sg_cmocka.h"

static void case_pass(void **state)
{
    assert_int_equal(1 + 1, 2);
}

static void case_skip(void **state)
{
    skip();
}

static void case_fail(void **state)
{
    fail_msg("failed on purpose");
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(case_pass),
        cmocka_unit_test(case_skip),
        cmocka_unit_test(case_fail),
    };
    return sg_run_tests(argc, argv, tests, NULL, NULL);
}
