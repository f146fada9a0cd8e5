/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

#include "sg_log.h"

static void say(enum sg_log_level level, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof(line), fmt, ap);
    sg_log(SG_LOG_DOMAIN, level, "audio: %s", line);
}

void sg_audio_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(SG_LOG_INFO, fmt, ap);
    va_end(ap);
}

void sg_audio_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say(SG_LOG_WARN, fmt, ap);
    va_end(ap);
}
