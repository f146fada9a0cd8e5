/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* The sound part's lines: "spyglass-client: audio: ..." through the common logger
 * (doc/style.md: the topic after the domain). Warnings are what the guest or the system did
 * that the client refused or worked around. */
void sg_audio_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void sg_audio_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
