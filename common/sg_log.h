/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The log of every program: one line per call on stderr,
 *
 *     DOMAIN: MESSAGE             (warn, info)
 *     DOMAIN: error: MESSAGE
 *     DOMAIN: debug: MESSAGE
 *
 * DOMAIN is the program the code belongs to ("spyglass-host", "spyglass-client",
 * "spyglass-dump"), fixed per library at build time by SG_LOG_DOMAIN, so that
 * the client's session says "spyglass-client:" in a test program too. Only the
 * levels a reader must act on differently carry a tag: an error means the
 * program could not do what was asked; debug lines are asked for with -l debug.
 *
 * Control characters and malformed UTF-8 in the message (a path, a name a guest
 * wrote) are escaped as \xNN, so a line never moves the cursor of a terminal or
 * forges a second line. Each line is written with one call, so lines of two
 * threads never interleave.
 *
 * Context: any thread. sg_log_set_level is meant for start-up, before threads.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef SG_LOG_DOMAIN
#define SG_LOG_DOMAIN NULL /* the running program's name */
#endif

enum sg_log_level { SG_LOG_ERROR = 0, SG_LOG_WARN, SG_LOG_INFO, SG_LOG_DEBUG };

/* Lines above level are dropped; the default is SG_LOG_INFO. */
void sg_log_set_level(enum sg_log_level level);
bool sg_log_enabled(enum sg_log_level level);
/* "error", "warn", "info", "debug" (any case); false if none matches. */
bool sg_log_parse_level(const char *s, enum sg_log_level *out);

void sg_log(const char *domain, enum sg_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sg_logv(const char *domain, enum sg_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* The one API of the code. */
#define LOG_E(...) sg_log(SG_LOG_DOMAIN, SG_LOG_ERROR, __VA_ARGS__)
#define LOG_W(...) sg_log(SG_LOG_DOMAIN, SG_LOG_WARN, __VA_ARGS__)
#define LOG_I(...) sg_log(SG_LOG_DOMAIN, SG_LOG_INFO, __VA_ARGS__)
#define LOG_D(...) sg_log(SG_LOG_DOMAIN, SG_LOG_DEBUG, __VA_ARGS__)

/* Writes a formatted message into out (size > 0) with control characters and
 * malformed UTF-8 escaped as \xNN; cut short at size - 1 bytes, never inside
 * an escape. Returns the length written. */
size_t sg_log_escape(char *out, size_t size, const char *in);

/*
 * Rate limit for lines a peer can cause at any rate (a guest posting bad
 * messages): at most `burst` lines per second. Zero-initialise; one limit per
 * kind of line; not thread-safe (one per thread).
 *
 *     unsigned skipped;
 *     if (sg_log_limit_allow(&s->frame_log, 5, sg_time_ms(), &skipped))
 *         LOG_W("frame rejected: %s (%u similar rejections not logged)", ..., skipped);
 */
struct sg_log_limit {
    uint64_t window_ms;
    unsigned in_window, skipped;
};
/* True if a line may be logged at now_ms; then *skipped is how many were
 * refused since the last allowed one. */
bool sg_log_limit_allow(struct sg_log_limit *l, unsigned burst, uint64_t now_ms, unsigned *skipped);
