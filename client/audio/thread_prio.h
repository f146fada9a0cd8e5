/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Raising the calling thread's scheduling priority, the way desktop sound clients do. */
#include <stdbool.h>
#include <stddef.h>

enum sg_prio { SG_PRIO_NONE, SG_PRIO_NICE, SG_PRIO_REALTIME };

/* Gives the calling thread real-time priority rt_prio (SCHED_RR), else nice level `nice`:
 * each directly when allowed (root, CAP_SYS_NICE, RLIMIT_RTPRIO / RLIMIT_NICE), else through
 * rtkit on the system bus (the desktop's broker for this). SG_PRIO_NONE, with the reasons in
 * why, when nothing works. */
enum sg_prio sg_thread_raise_priority(int rt_prio, int nice, char *why, size_t why_size);
