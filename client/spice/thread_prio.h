/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Raising the calling thread's scheduling priority, the way desktop sound clients do. */
#include <stdbool.h>
#include <stddef.h>

/* Gives the calling thread nice level `nice` (negative = more CPU when the machine is busy):
 * directly when allowed (root, CAP_SYS_NICE, RLIMIT_NICE), else through rtkit on the system
 * bus (the desktop's broker for this). False, with the reasons in why, when neither works. */
bool sg_thread_raise_priority(int nice, char *why, size_t why_size);
