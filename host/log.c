/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <strings.h>

static const char *const names[] = {"error", "warn", "info", "debug"};
static enum sg_host_log_level current = SG_LOG_INFO;

void sg_host_log_set_level(enum sg_host_log_level level)
{
    current = level;
}

bool sg_host_log_parse_level(const char *s, enum sg_host_log_level *out)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(s, names[i]) == 0) {
            *out = (enum sg_host_log_level)i;
            return true;
        }
    return false;
}

void sg_host_log(enum sg_host_log_level level, const char *fmt, ...)
{
    if (level > current)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* one write per line so lines of two threads never interleave */
    fprintf(stderr, "spyglass-host: %s: %s\n", names[level], line);
}
