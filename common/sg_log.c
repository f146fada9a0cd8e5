/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sg_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static enum sg_log_level current = SG_LOG_INFO;

void sg_log_set_level(enum sg_log_level level)
{
    current = level;
}

bool sg_log_enabled(enum sg_log_level level)
{
    return level <= current;
}

bool sg_log_parse_level(const char *s, enum sg_log_level *out)
{
    for (int i = 0; i <= SG_LOG_DEBUG; i++)
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum sg_log_level)i;
            return true;
        }
    return false;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

size_t sg_log_escape(char *out, size_t size, const char *in)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)in;
    size_t len = 0;
    while (*p) {
        size_t n = *p >= 0x80 ? utf8_len(p) : 1;
        /* C0 controls, DEL, C1 controls (U+0080..U+009F) and bytes that are not UTF-8 */
        bool escape = *p < 0x20 || *p == 0x7f || n == 0 || (p[0] == 0xc2 && p[1] < 0xa0);
        if (escape) {
            size_t k = n ? n : 1;
            if (len + 4 * k >= size)
                break;
            for (size_t i = 0; i < k; i++) {
                out[len++] = '\\';
                out[len++] = 'x';
                out[len++] = hex[p[i] >> 4];
                out[len++] = hex[p[i] & 15];
            }
            p += k;
        } else {
            if (len + n >= size)
                break;
            memcpy(out + len, p, n);
            len += n;
            p += n;
        }
    }
    out[len] = 0;
    return len;
}

void sg_logv(const char *domain, enum sg_log_level level, const char *fmt, va_list ap)
{
    if (!sg_log_enabled(level))
        return;
    int saved_errno = errno;
    char msg[2048], line[4096];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    sg_log_escape(line, sizeof(line), msg);
    const char *tag = level == SG_LOG_ERROR ? "error: " : level == SG_LOG_DEBUG ? "debug: " : "";
    /* one call per line: lines of two threads never interleave */
    fprintf(stderr, "%s: %s%s\n", domain ? domain : program_invocation_short_name, tag, line);
    errno = saved_errno;
}

void sg_log(const char *domain, enum sg_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sg_logv(domain, level, fmt, ap);
    va_end(ap);
}

bool sg_log_limit_allow(struct sg_log_limit *l, unsigned burst, uint64_t now_ms, unsigned *skipped)
{
    if (now_ms - l->window_ms >= 1000) {
        l->window_ms = now_ms;
        l->in_window = 0;
    }
    if (l->in_window >= burst) {
        l->skipped++;
        return false;
    }
    l->in_window++;
    *skipped = l->skipped;
    l->skipped = 0;
    return true;
}
