/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sg_trace.h"

#include "sg_time.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

bool sg_trace_enabled;
static int trace_fd = -1;

bool sg_trace_open(const char *path, char *err, size_t err_size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, err_size, "trace file %s: %s", path, strerror(errno));
        return false;
    }
    sg_trace_close();
    trace_fd = fd;
    sg_trace_enabled = true;
    return true;
}

void sg_trace_close(void)
{
    sg_trace_enabled = false;
    if (trace_fd >= 0)
        close(trace_fd);
    trace_fd = -1;
}

void sg_trace_event(const char *fmt, ...)
{
    if (trace_fd < 0)
        return;
    char line[256];
    int n = snprintf(line, sizeof(line), "%llu ", (unsigned long long)sg_time_ns());
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t len =
        (size_t)n + ((size_t)m < sizeof(line) - (size_t)n - 1 ? (size_t)m : sizeof(line) - (size_t)n - 2);
    line[len++] = '\n';
    ssize_t w = write(trace_fd, line, len);
    (void)w; /* a debug aid: a full disk must not disturb the program */
}
