/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* The KVMFR application data (kvmfr.md §3): header, VM info and OS info records. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kvmfr_status.h"
#include "kvmfr_wire.h"

enum sg_kvmfr_os { SG_OS_LINUX = 0, SG_OS_BSD, SG_OS_MACOS, SG_OS_WINDOWS, SG_OS_OTHER };

struct sg_kvmfr_info {
    uint32_t version;
    char host_version[33]; /* always NUL-terminated */
    uint32_t features;
    bool has_vm_info;
    uint8_t uuid[16];
    char capture[33];
    uint8_t cpus, cores, sockets;
    char cpu_model[256]; /* truncated if longer */
    bool has_os_info;
    uint8_t os_kind;
    char os_name[256];
    uint32_t records_seen, records_skipped; /* unknown record types are skipped */
    bool records_truncated;                 /* a record ran past the end (parsing stopped there) */
};

/* Parse app data already copied out of the region (kvmfr.md §3.3). A record
 * overrunning the data stops the walk (records_truncated) but is not fatal,
 * exactly like B7; magic/version/size problems are. */
enum sg_kvmfr_status sg_kvmfr_parse_info(const uint8_t *data, size_t size, struct sg_kvmfr_info *out);
/* Host side: header + VM info + OS info, as B7 writes it. Returns the size,
 * or 0 if buf_size is too small. */
size_t sg_kvmfr_build_info(const struct sg_kvmfr_info *info, uint8_t *buf, size_t buf_size);
