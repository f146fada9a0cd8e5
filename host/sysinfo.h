/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* What the host tells clients about the guest (kvmfr.md §3.2 records). */
#include <stddef.h>

#include "capture.h"
#include "kvmfr.h"

/* Fill info: version "spyglass <version>", the capture backend's label and
 * features (SET_CURSOR_POS only when it can move the pointer), CPU counts and
 * model, OS Linux + PRETTY_NAME, guest UUID. */
void sg_host_sysinfo(struct sg_kvmfr_info *info, const struct sg_capture_impl *capture);
/* PRETTY_NAME (else NAME, else "Linux") of an os-release file. */
void sg_host_os_name(const char *os_release_path, char *out, size_t out_size);
/* "xxxxxxxx-xxxx-..." to 16 bytes in text order; false if malformed. */
bool sg_host_parse_uuid(const char *s, uint8_t out[16]);
