/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* The viewer: the window, its event loop and what it draws (app.c and the files of app_private.h). */
#include "options.h"

/* Runs the viewer until the user quits or SIGINT/SIGTERM; exit status. */
int sg_app_run(struct sg_options *opts);
