/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spyglass-client: shows a VM's display from a B7-compatible shared memory region. */
#include <stdio.h>

#include "app.h"
#include "sg_log.h"

int main(int argc, char **argv)
{
    struct sg_options opts;
    if (sg_options_init(&opts) != 0) {
        LOG_E("out of memory");
        return 1;
    }
    int rc;
    switch (sg_options_load(&opts, argc, argv)) {
    case SG_OPTIONS_EXIT_OK:
        rc = 0;
        break;
    case SG_OPTIONS_ERROR:
        rc = 2;
        break;
    default:
        sg_log_set_level((enum sg_log_level)sg_options_enum(&opts, "app", "logLevel"));
        rc = sg_app_run(&opts);
        break;
    }
    sg_options_finish(&opts);
    return rc;
}
