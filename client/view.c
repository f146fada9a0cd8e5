/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "view.h"

#include <math.h>

void sg_view_compute(struct sg_view *v, enum sg_scale_mode mode, int win_w, int win_h, int guest_w,
                     int guest_h, int rotation)
{
    *v = (struct sg_view){
        .win_w = win_w, .win_h = win_h, .guest_w = guest_w, .guest_h = guest_h, .rotation = rotation & 3};
    if (win_w <= 0 || win_h <= 0 || guest_w <= 0 || guest_h <= 0)
        return;
    /* displayed size of the guest image (quarter turns swap the sides) */
    double gw = (rotation & 1) ? guest_h : guest_w, gh = (rotation & 1) ? guest_w : guest_h;
    double w = win_w, h = win_h;
    switch (mode) {
    case SG_SCALE_STRETCH:
        break;
    case SG_SCALE_INTEGER: {
        double s = floor(fmin(w / gw, h / gh));
        if (s < 1) /* smaller than the guest: fall back to keeping the aspect */
            s = fmin(w / gw, h / gh);
        w = gw * s;
        h = gh * s;
        break;
    }
    case SG_SCALE_KEEP:
    default: {
        double s = fmin(w / gw, h / gh);
        w = gw * s;
        h = gh * s;
        break;
    }
    }
    /* whole pixels, so that 1:1 really is 1:1 */
    w = round(w);
    h = round(h);
    v->dst_w = w;
    v->dst_h = h;
    v->dst_x = floor((win_w - w) / 2);
    v->dst_y = floor((win_h - h) / 2);
    v->valid = true;
}

bool sg_view_window_to_guest(const struct sg_view *v, double wx, double wy, int *gx, int *gy)
{
    if (!v->valid)
        return false;
    double u = (wx - v->dst_x) / v->dst_w, t = (wy - v->dst_y) / v->dst_h, a, b;
    switch (v->rotation & 3) {
    case 1:
        a = t;
        b = 1 - u;
        break;
    case 2:
        a = 1 - u;
        b = 1 - t;
        break;
    case 3:
        a = 1 - t;
        b = u;
        break;
    default:
        a = u;
        b = t;
        break;
    }
    *gx = (int)lround(a * v->guest_w);
    *gy = (int)lround(b * v->guest_h);
    return true;
}

bool sg_view_guest_to_window(const struct sg_view *v, double gx, double gy, double *wx, double *wy)
{
    if (!v->valid)
        return false;
    double a = gx / v->guest_w, b = gy / v->guest_h, u, t;
    switch (v->rotation & 3) {
    case 1:
        u = 1 - b;
        t = a;
        break;
    case 2:
        u = 1 - a;
        t = 1 - b;
        break;
    case 3:
        u = b;
        t = 1 - a;
        break;
    default:
        u = a;
        t = b;
        break;
    }
    *wx = v->dst_x + u * v->dst_w;
    *wy = v->dst_y + t * v->dst_h;
    return true;
}

bool sg_view_guest_to_window_clamped(const struct sg_view *v, double gx, double gy, double *wx, double *wy)
{
    if (!v->valid)
        return false;
    double max_x = v->guest_w > 1 ? v->guest_w - 1 : 0, max_y = v->guest_h > 1 ? v->guest_h - 1 : 0;
    gx = gx < 0 ? 0 : gx > max_x ? max_x : gx;
    gy = gy < 0 ? 0 : gy > max_y ? max_y : gy;
    return sg_view_guest_to_window(v, gx, gy, wx, wy);
}
