/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The hooks of a build without guest input: the viewer alone. */
#include "input_hooks.h"

const struct sg_input_hooks sg_input_hooks = {0};
const struct sg_input_option sg_input_options[] = {{0}};
