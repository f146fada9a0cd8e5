/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Where the guest screen goes in the window, for each scaling mode. */
#include "input_hooks.h"

enum sg_scale_mode { SG_SCALE_KEEP = 0, SG_SCALE_STRETCH = 1, SG_SCALE_INTEGER = 2 };

/* Fills v from the window size and guest size (both > 0) and rotation. */
void sg_view_compute(struct sg_view *v, enum sg_scale_mode mode, int win_w, int win_h, int guest_w, int guest_h,
                     int rotation);
