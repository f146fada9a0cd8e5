/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The guest <-> window mapping: where the guest screen is drawn in the window
 * for each scaling mode, and points converted both ways. Used by the viewer,
 * the renderer and the input hooks; no SDL here.
 */
#include <stdbool.h>

/* Where the guest screen is drawn in the window. Guest coordinates are the
 * frame header's screen_width x screen_height space (kvmfr.md §5.2), the one
 * cursor positions and SET_CURSOR_POS use. Window coordinates are SDL window
 * coordinates (the ones SDL mouse events carry), not drawable pixels. */
struct sg_view {
    bool valid;           /* false until the first frame told us the guest size */
    int guest_w, guest_h; /* guest screen size */
    int win_w, win_h;     /* window size in window coordinates */
    /* The guest screen occupies [dst_x, dst_x + dst_w) x [dst_y, dst_y + dst_h)
     * of the window (letterboxing outside). */
    double dst_x, dst_y, dst_w, dst_h;
    int rotation; /* 0..3, quarter turns clockwise applied for display */
};

/* Window position -> guest position (rounded to nearest, may lie outside the
 * guest screen when the pointer is in the letterbox). False if !v->valid. */
bool sg_view_window_to_guest(const struct sg_view *v, double wx, double wy, int *gx, int *gy);
/* Guest position -> window position. False if !v->valid. */
bool sg_view_guest_to_window(const struct sg_view *v, double gx, double gy, double *wx, double *wy);
/* The same for a point the pointer is warped to: the guest position is first
 * clamped to the guest screen, so whatever the guest reports, the result lies
 * on the picture and never takes the local pointer out of the window. */
bool sg_view_guest_to_window_clamped(const struct sg_view *v, double gx, double gy, double *wx, double *wy);

enum sg_scale_mode { SG_SCALE_KEEP = 0, SG_SCALE_STRETCH = 1, SG_SCALE_INTEGER = 2 };

/* Fills v from the window size and guest size (both > 0) and rotation. */
void sg_view_compute(struct sg_view *v, enum sg_scale_mode mode, int win_w, int win_h, int guest_w,
                     int guest_h, int rotation);
