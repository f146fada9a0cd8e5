/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Log lines on stderr: "spyglass-host: warn: ...". */
#include <stdbool.h>

enum sg_host_log_level { SG_LOG_ERROR = 0, SG_LOG_WARN, SG_LOG_INFO, SG_LOG_DEBUG };

void sg_host_log_set_level(enum sg_host_log_level level);
/* "error", "warn", "info", "debug"; false if none matches. */
bool sg_host_log_parse_level(const char *s, enum sg_host_log_level *out);
void sg_host_log(enum sg_host_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG_E(...) sg_host_log(SG_LOG_ERROR, __VA_ARGS__)
#define LOG_W(...) sg_host_log(SG_LOG_WARN, __VA_ARGS__)
#define LOG_I(...) sg_host_log(SG_LOG_INFO, __VA_ARGS__)
#define LOG_D(...) sg_host_log(SG_LOG_DEBUG, __VA_ARGS__)
