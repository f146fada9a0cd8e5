/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sg_cmocka.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned skipped;

void sg_count_skip(void)
{
    skipped++;
}

static bool named(const char *name, int argc, char **argv, bool excluded)
{
    for (int i = 1; i < argc; i++) {
        bool is_x = !strcmp(argv[i], "-x");
        if (is_x && i + 1 < argc) {
            if (excluded && !strcmp(argv[i + 1], name))
                return true;
            i++;
        } else if (!excluded && !is_x && !strcmp(argv[i], name)) {
            return true;
        }
    }
    return false;
}

int sg_run_group(int argc, char **argv, const struct CMUnitTest *tests, size_t count, CMFixtureFunction setup,
                 CMFixtureFunction teardown)
{
    const char *group = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    bool any_named = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-x")) {
            i++;
            continue;
        }
        any_named = true;
    }
    /* every name given must be a case: a typo would otherwise run nothing and pass */
    for (int i = 1; i < argc; i++) {
        const char *n = argv[i];
        if (!strcmp(n, "-x")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: -x wants a case name\n", argv[0]);
                return 2;
            }
            n = argv[++i];
        }
        size_t k = 0;
        while (k < count && strcmp(tests[k].name, n))
            k++;
        if (k == count) {
            fprintf(stderr, "%s: no case named '%s'; cases:", argv[0], n);
            for (k = 0; k < count; k++)
                fprintf(stderr, " %s", tests[k].name);
            fprintf(stderr, "\n");
            return 2;
        }
    }
    struct CMUnitTest *run = calloc(count ? count : 1, sizeof(*run));
    if (!run)
        return 1;
    size_t n = 0;
    for (size_t k = 0; k < count; k++)
        if ((!any_named || named(tests[k].name, argc, argv, false)) &&
            !named(tests[k].name, argc, argv, true))
            run[n++] = tests[k];
    if (n == 0) {
        fprintf(stderr, "%s: the arguments leave no case to run\n", argv[0]);
        free(run);
        return 2;
    }
    int failed = _cmocka_run_group_tests(group, run, n, setup, teardown);
    free(run);
    if (failed)
        return 1; /* a count could be 77 */
    if (skipped) {
        printf("SKIP: %u of %zu case(s) skipped (see above); reported to meson as skipped\n", skipped, n);
        return 77;
    }
    return 0;
}
