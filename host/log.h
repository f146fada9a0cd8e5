/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* The host logs through the project's logger (common/sg_log.h: LOG_E/W/I/D).
 * This header only forwards to it, so that branches written against it keep
 * building; new code includes "sg_log.h". */
#include "sg_log.h"

/* Old names, for the same reason; phase B of issue 12 removes this header. */
#define sg_host_log_level sg_log_level
#define sg_host_log_set_level sg_log_set_level
#define sg_host_log_parse_level sg_log_parse_level
