/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The KVMFR application data (kvmfr.md §3.2, §3.3): a 48-byte header and
 * unaligned records. The parser works on a private copy of the bytes.
 */
#include <string.h>

#include "kvmfr_info.h"

enum { RECORD_VM_INFO = 1, RECORD_OS_INFO = 2 };

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v); /* records are not aligned */
    return v;
}

/* Length of the well-formed UTF-8 sequence at s (at most n bytes) encoding a
 * printable code point (not C0, DEL or C1), or 0. */
static size_t printable_utf8(const uint8_t *s, size_t n)
{
    uint8_t c = s[0];
    if (c >= 0x20 && c < 0x7f)
        return 1;
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (!len || len > n)
        return 0;
    /* the second byte's range excludes overlong forms, surrogates and > U+10FFFF */
    uint8_t lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80, hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (c == 0xc2 && s[1] < 0xa0)
        return 0; /* U+0080..U+009F: C1 controls (CSI, OSC...) */
    return len;
}

/* Copy at most dst_size-1 bytes of a possibly unterminated string. The guest
 * writes it and it is printed on terminals and drawn in the overlay: control
 * characters and malformed UTF-8 become '?', so that no escape sequence gets
 * through. */
static void copy_str(char *dst, size_t dst_size, const uint8_t *src, size_t src_len)
{
    size_t end = 0, n = 0;
    while (end < src_len && src[end] != '\0')
        end++;
    for (size_t i = 0; i < end;) {
        size_t len = printable_utf8(src + i, end - i);
        if (n + (len ? len : 1) + 1 > dst_size)
            break;
        if (len)
            memcpy(dst + n, src + i, len);
        else
            dst[n] = '?';
        n += len ? len : 1;
        /* a well-formed control sequence (C1 in UTF-8) is one '?', a stray byte one each */
        i += len ? len : (src[i] == 0xc2 && end - i > 1 && src[i + 1] >= 0x80 && src[i + 1] < 0xa0) ? 2 : 1;
    }
    dst[n] = '\0';
}

static bool parse_vm_info(const uint8_t *p, uint32_t len, struct sg_kvmfr_info *out)
{
    if (len < SG_KVMFR_VMINFO_FIXED_SIZE)
        return false;
    memcpy(out->uuid, p, 16);
    copy_str(out->capture, sizeof out->capture, p + 16, 32);
    out->cpus = p[48];
    out->cores = p[49];
    out->sockets = p[50];
    copy_str(out->cpu_model, sizeof out->cpu_model, p + SG_KVMFR_VMINFO_FIXED_SIZE,
             len - SG_KVMFR_VMINFO_FIXED_SIZE);
    out->has_vm_info = true;
    return true;
}

static bool parse_os_info(const uint8_t *p, uint32_t len, struct sg_kvmfr_info *out)
{
    if (len < 1)
        return false;
    out->os_kind = p[0];
    copy_str(out->os_name, sizeof out->os_name, p + 1, len - 1);
    out->has_os_info = true;
    return true;
}

enum sg_kvmfr_status sg_kvmfr_parse_info(const uint8_t *data, size_t size, struct sg_kvmfr_info *out)
{
    memset(out, 0, sizeof *out);
    if (!data || size < SG_KVMFR_HEADER_SIZE)
        return SG_KVMFR_APPDATA_TOO_SMALL;
    if (memcmp(data, SG_KVMFR_MAGIC, 8) != 0)
        return SG_KVMFR_BAD_MAGIC;
    out->version = get_u32(data + 8);
    copy_str(out->host_version, sizeof out->host_version, data + 12, 32);
    out->features = get_u32(data + 44);
    if (out->version != SG_KVMFR_VERSION)
        return SG_KVMFR_BAD_VERSION;

    size_t pos = SG_KVMFR_HEADER_SIZE, remaining = size - SG_KVMFR_HEADER_SIZE;
    while (remaining >= SG_KVMFR_RECORD_HEADER_SIZE) {
        uint8_t type = data[pos];
        uint32_t len = get_u32(data + pos + 4);
        pos += SG_KVMFR_RECORD_HEADER_SIZE;
        remaining -= SG_KVMFR_RECORD_HEADER_SIZE;
        if (len > remaining) {
            out->records_truncated = true; /* B7 stops here and carries on */
            break;
        }
        out->records_seen++;
        bool used = false;
        if (type == RECORD_VM_INFO)
            used = parse_vm_info(data + pos, len, out);
        else if (type == RECORD_OS_INFO)
            used = parse_os_info(data + pos, len, out);
        if (!used)
            out->records_skipped++;
        pos += len;
        remaining -= len;
    }
    return SG_KVMFR_OK;
}

size_t sg_kvmfr_build_info(const struct sg_kvmfr_info *info, uint8_t *buf, size_t buf_size)
{
    size_t model_len = strnlen(info->cpu_model, sizeof info->cpu_model - 1);
    size_t os_len = strnlen(info->os_name, sizeof info->os_name - 1);
    uint32_t vm_len = (uint32_t)(SG_KVMFR_VMINFO_FIXED_SIZE + model_len + 1);
    uint32_t os_rec_len = (uint32_t)(1 + os_len + 1);
    size_t total = SG_KVMFR_HEADER_SIZE + 2 * SG_KVMFR_RECORD_HEADER_SIZE + vm_len + os_rec_len;
    if (!buf || buf_size < total)
        return 0;
    memset(buf, 0, total);

    uint8_t *p = buf;
    memcpy(p, SG_KVMFR_MAGIC, 8);
    uint32_t version = SG_KVMFR_VERSION;
    memcpy(p + 8, &version, 4);
    memcpy(p + 12, info->host_version, strnlen(info->host_version, 31));
    memcpy(p + 44, &info->features, 4);
    p += SG_KVMFR_HEADER_SIZE;

    p[0] = RECORD_VM_INFO;
    memcpy(p + 4, &vm_len, 4);
    p += SG_KVMFR_RECORD_HEADER_SIZE;
    memcpy(p, info->uuid, 16);
    memcpy(p + 16, info->capture, strnlen(info->capture, 31));
    p[48] = info->cpus;
    p[49] = info->cores;
    p[50] = info->sockets;
    memcpy(p + SG_KVMFR_VMINFO_FIXED_SIZE, info->cpu_model, model_len);
    p += vm_len;

    p[0] = RECORD_OS_INFO;
    memcpy(p + 4, &os_rec_len, 4);
    p += SG_KVMFR_RECORD_HEADER_SIZE;
    p[0] = info->os_kind;
    memcpy(p + 1, info->os_name, os_len);
    return total;
}
