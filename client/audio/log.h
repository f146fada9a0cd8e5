/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* "audio: ..." lines on stderr, one per call. */
void sg_audio_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
