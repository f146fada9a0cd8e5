/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* KVMFR helpers only tests, the fuzzer and benchmarks use: the frame copy with
 * the caller's wait bounds, and a wait on a progress word on its own. The
 * product copies with sg_kvmfr_frame_copy or sg_kvmfr_frame_copy_budget. */
#include <stdint.h>
#include <time.h>

#include "kvmfr.h"

/* sg_kvmfr_frame_copy with the wait bounds chosen by the caller (poll_ns 0 = spin)
 * and no bound on the polls of all the waits together. */
static inline enum sg_kvmfr_status sg_kvmfr_frame_copy_ex(const void *payload, const struct sg_kvmfr_frame *f,
                                                          void *dst, size_t dst_pitch, bool only_damage,
                                                          uint32_t max_polls, uint32_t poll_ns,
                                                          uint32_t *rows_done)
{
    return sg_kvmfr_frame_copy_budget(payload, f, dst, dst_pitch, only_damage, max_polls, poll_ns, UINT32_MAX,
                                      rows_done);
}

/* Wait until the word is >= needed: up to max_polls more loads, sleeping
 * poll_ns between them (0 = spin). */
static inline enum sg_kvmfr_status sg_kvmfr_progress_wait(const uint32_t *word, uint32_t needed,
                                                          uint32_t max_polls, uint32_t poll_ns)
{
    uint32_t v = sg_kvmfr_progress_load(word);
    for (uint32_t i = 0; v < needed && i < max_polls; i++) {
        if (poll_ns) {
            struct timespec ts = {.tv_sec = poll_ns / 1000000000u, .tv_nsec = poll_ns % 1000000000u};
            nanosleep(&ts, NULL);
        } else {
            __builtin_ia32_pause();
        }
        v = sg_kvmfr_progress_load(word);
    }
    return v >= needed ? SG_KVMFR_OK : SG_KVMFR_FB_TIMEOUT;
}
