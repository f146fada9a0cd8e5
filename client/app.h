/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* The viewer: event loop, drawing decisions, key bindings, counters. */
#include "options.h"

/* Runs the viewer until the user quits or SIGINT/SIGTERM; exit status. */
int sg_app_run(struct sg_options *opts);
