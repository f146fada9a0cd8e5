/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Key translation and uncaptured cursor synchronisation (see input.h). */
#include "input.h"

#include <math.h>
#include <stdlib.h>

unsigned sg_input_set1_from_sdl(SDL_Scancode sc)
{
    /* Letters A..Z in SDL (USB HID) order. */
    static const uint8_t letters[26] = {
        0x1e, 0x30, 0x2e, 0x20, 0x12, 0x21, 0x22, 0x23, 0x17, 0x24, 0x25, 0x26, 0x32,
        0x31, 0x18, 0x19, 0x10, 0x13, 0x1f, 0x14, 0x16, 0x2f, 0x11, 0x2d, 0x15, 0x2c,
    };
    if (sc >= SDL_SCANCODE_A && sc <= SDL_SCANCODE_Z)
        return letters[sc - SDL_SCANCODE_A];
    if (sc >= SDL_SCANCODE_1 && sc <= SDL_SCANCODE_0)
        return 0x02 + (unsigned)(sc - SDL_SCANCODE_1);
    if (sc >= SDL_SCANCODE_F1 && sc <= SDL_SCANCODE_F10)
        return 0x3b + (unsigned)(sc - SDL_SCANCODE_F1);
    switch (sc) {
    case SDL_SCANCODE_RETURN:
        return 0x1c;
    case SDL_SCANCODE_ESCAPE:
        return 0x01;
    case SDL_SCANCODE_BACKSPACE:
        return 0x0e;
    case SDL_SCANCODE_TAB:
        return 0x0f;
    case SDL_SCANCODE_SPACE:
        return 0x39;
    case SDL_SCANCODE_MINUS:
        return 0x0c;
    case SDL_SCANCODE_EQUALS:
        return 0x0d;
    case SDL_SCANCODE_LEFTBRACKET:
        return 0x1a;
    case SDL_SCANCODE_RIGHTBRACKET:
        return 0x1b;
    case SDL_SCANCODE_BACKSLASH:
        return 0x2b;
    case SDL_SCANCODE_NONUSHASH:
        return 0x2b;
    case SDL_SCANCODE_SEMICOLON:
        return 0x27;
    case SDL_SCANCODE_APOSTROPHE:
        return 0x28;
    case SDL_SCANCODE_GRAVE:
        return 0x29;
    case SDL_SCANCODE_COMMA:
        return 0x33;
    case SDL_SCANCODE_PERIOD:
        return 0x34;
    case SDL_SCANCODE_SLASH:
        return 0x35;
    case SDL_SCANCODE_CAPSLOCK:
        return 0x3a;
    case SDL_SCANCODE_F11:
        return 0x57;
    case SDL_SCANCODE_F12:
        return 0x58;
    case SDL_SCANCODE_PRINTSCREEN:
        return 0x137;
    case SDL_SCANCODE_SCROLLLOCK:
        return 0x46;
    case SDL_SCANCODE_INSERT:
        return 0x152;
    case SDL_SCANCODE_HOME:
        return 0x147;
    case SDL_SCANCODE_PAGEUP:
        return 0x149;
    case SDL_SCANCODE_DELETE:
        return 0x153;
    case SDL_SCANCODE_END:
        return 0x14f;
    case SDL_SCANCODE_PAGEDOWN:
        return 0x151;
    case SDL_SCANCODE_RIGHT:
        return 0x14d;
    case SDL_SCANCODE_LEFT:
        return 0x14b;
    case SDL_SCANCODE_DOWN:
        return 0x150;
    case SDL_SCANCODE_UP:
        return 0x148;
    case SDL_SCANCODE_NUMLOCKCLEAR:
        return 0x45;
    case SDL_SCANCODE_KP_DIVIDE:
        return 0x135;
    case SDL_SCANCODE_KP_MULTIPLY:
        return 0x37;
    case SDL_SCANCODE_KP_MINUS:
        return 0x4a;
    case SDL_SCANCODE_KP_PLUS:
        return 0x4e;
    case SDL_SCANCODE_KP_ENTER:
        return 0x11c;
    case SDL_SCANCODE_KP_1:
        return 0x4f;
    case SDL_SCANCODE_KP_2:
        return 0x50;
    case SDL_SCANCODE_KP_3:
        return 0x51;
    case SDL_SCANCODE_KP_4:
        return 0x4b;
    case SDL_SCANCODE_KP_5:
        return 0x4c;
    case SDL_SCANCODE_KP_6:
        return 0x4d;
    case SDL_SCANCODE_KP_7:
        return 0x47;
    case SDL_SCANCODE_KP_8:
        return 0x48;
    case SDL_SCANCODE_KP_9:
        return 0x49;
    case SDL_SCANCODE_KP_0:
        return 0x52;
    case SDL_SCANCODE_KP_PERIOD:
        return 0x53;
    case SDL_SCANCODE_KP_EQUALS:
        return 0x59;
    case SDL_SCANCODE_NONUSBACKSLASH:
        return 0x56;
    case SDL_SCANCODE_APPLICATION:
        return 0x15d;
    case SDL_SCANCODE_INTERNATIONAL1:
        return 0x73;
    case SDL_SCANCODE_INTERNATIONAL3:
        return 0x7d;
    case SDL_SCANCODE_MUTE:
        return 0x120;
    case SDL_SCANCODE_VOLUMEUP:
        return 0x130;
    case SDL_SCANCODE_VOLUMEDOWN:
        return 0x12e;
    case SDL_SCANCODE_LCTRL:
        return 0x1d;
    case SDL_SCANCODE_LSHIFT:
        return 0x2a;
    case SDL_SCANCODE_LALT:
        return 0x38;
    case SDL_SCANCODE_LGUI:
        return 0x15b;
    case SDL_SCANCODE_RCTRL:
        return 0x11d;
    case SDL_SCANCODE_RSHIFT:
        return 0x36;
    case SDL_SCANCODE_RALT:
        return 0x138;
    case SDL_SCANCODE_RGUI:
        return 0x15c;
    default:
        return 0;
    }
}

/* ---------------------------------------------------------------- cursor sync */

static void none(struct sg_sync_action *out)
{
    out->type = SG_SYNC_NONE;
    out->dx = out->dy = out->x = out->y = 0;
}

static int target_x(const struct sg_cursor_sync *s)
{
    return (int)lround(s->tx);
}
static int target_y(const struct sg_cursor_sync *s)
{
    return (int)lround(s->ty);
}

/* Quiet time before a correction: the configured one, or twice the guest's recent lag. */
static uint64_t settle_ms(const struct sg_cursor_sync *s)
{
    uint64_t lagged = 2 * (uint64_t)s->lag_ms;
    return lagged > s->cfg.settle_ms ? (lagged < 1000 ? lagged : 1000) : s->cfg.settle_ms;
}

/* A report this long after our last send is the guest's own move, not an answer. */
static uint64_t follow_ms(const struct sg_cursor_sync *s)
{
    uint64_t lagged = 3 * (uint64_t)s->lag_ms;
    return lagged > s->cfg.follow_ms ? (lagged < 2000 ? lagged : 2000) : s->cfg.follow_ms;
}

static void sent(struct sg_cursor_sync *s, uint64_t now)
{
    s->send_ms = now;
    if (!s->awaiting) {
        s->awaiting = true;
        s->await_from = now;
    }
}

static bool off_target(const struct sg_cursor_sync *s)
{
    return abs(s->rx - target_x(s)) > s->cfg.tolerance || abs(s->ry - target_y(s)) > s->cfg.tolerance;
}

void sg_cursor_sync_init(struct sg_cursor_sync *s, const struct sg_cursor_sync_cfg *cfg)
{
    *s = (struct sg_cursor_sync){0};
    if (cfg)
        s->cfg = *cfg;
    if (!s->cfg.settle_ms)
        s->cfg.settle_ms = 50;
    if (!s->cfg.follow_ms)
        s->cfg.follow_ms = 300;
    if (s->cfg.tolerance <= 0)
        s->cfg.tolerance = 1;
    s->gain = 1.0;
    s->phase = SG_SYNC_OUTSIDE;
}

/* Relative motion from the commanded position to the target. */
static void send_to_target(struct sg_cursor_sync *s, uint64_t now, struct sg_sync_action *out)
{
    int dx = target_x(s) - s->sx, dy = target_y(s) - s->sy;
    if (!dx && !dy)
        return;
    s->sx += dx;
    s->sy += dy;
    sent(s, now);
    out->type = SG_SYNC_RELATIVE;
    out->dx = dx;
    out->dy = dy;
}

static void place(struct sg_cursor_sync *s, struct sg_sync_action *out)
{
    s->phase = SG_SYNC_PLACING;
    s->px = target_x(s);
    s->py = target_y(s);
    out->type = SG_SYNC_SET_POS;
    out->x = s->px;
    out->y = s->py;
}

/* A correction step without SET_CURSOR_POS: aim at the target through the gain the guest
 * showed on the previous step (its acceleration), so steps shrink instead of overshooting. */
static void relative_step(struct sg_cursor_sync *s, uint64_t now, struct sg_sync_action *out)
{
    if (s->step_pending) {
        int moved_x = s->rx - s->step_rx, moved_y = s->ry - s->step_ry;
        int big = abs(s->step_dx) >= abs(s->step_dy) ? s->step_dx : s->step_dy;
        int moved = abs(s->step_dx) >= abs(s->step_dy) ? moved_x : moved_y;
        if (abs(big) >= 2 && moved * big > 0) {
            double g = (double)moved / big;
            s->gain = g < 0.2 ? 0.2 : g > 10 ? 10 : g;
        }
    }
    int ex = target_x(s) - s->rx, ey = target_y(s) - s->ry;
    int dx = (int)lround(ex / s->gain), dy = (int)lround(ey / s->gain);
    if (!dx && ex)
        dx = ex > 0 ? 1 : -1;
    if (!dy && ey)
        dy = ey > 0 ? 1 : -1;
    s->step_dx = dx;
    s->step_dy = dy;
    s->step_rx = s->rx;
    s->step_ry = s->ry;
    s->step_pending = true;
    s->steps++;
    s->sx = target_x(s);
    s->sy = target_y(s);
    sent(s, now);
    out->type = SG_SYNC_RELATIVE;
    out->dx = dx;
    out->dy = dy;
}

void sg_cursor_sync_enter(struct sg_cursor_sync *s, double gx, double gy, bool can_set_pos, uint64_t now,
                          struct sg_sync_action *out)
{
    none(out);
    s->tx = gx;
    s->ty = gy;
    s->motion_ms = now;
    s->step_pending = false;
    s->steps = 0;
    if (can_set_pos) {
        place(s, out);
        return;
    }
    /* Without SET_CURSOR_POS, steer from wherever the guest cursor was last seen. */
    s->phase = SG_SYNC_TRACKING;
    s->sx = s->have_report ? s->rx : target_x(s);
    s->sy = s->have_report ? s->ry : target_y(s);
    if (s->have_report)
        relative_step(s, now, out);
}

void sg_cursor_sync_leave(struct sg_cursor_sync *s)
{
    s->phase = SG_SYNC_OUTSIDE;
    s->step_pending = false;
}

void sg_cursor_sync_motion(struct sg_cursor_sync *s, double gx, double gy, uint64_t now,
                           struct sg_sync_action *out)
{
    none(out);
    s->tx = gx;
    s->ty = gy;
    s->motion_ms = now;
    if (s->phase != SG_SYNC_TRACKING)
        return; /* outside, or the placement will be followed by a catch-up */
    s->step_pending = false;
    s->steps = 0;
    send_to_target(s, now, out);
}

void sg_cursor_sync_report(struct sg_cursor_sync *s, int x, int y, uint64_t now, struct sg_sync_action *out)
{
    none(out);
    bool changed = !s->have_report || x != s->rx || y != s->ry;
    s->have_report = true;
    if (!changed)
        return;
    s->rx = x;
    s->ry = y;
    s->report_ms = now;
    if (s->awaiting) {
        unsigned lag = now - s->await_from > 2000 ? 2000 : (unsigned)(now - s->await_from);
        s->lag_ms = lag > s->lag_ms ? lag : s->lag_ms - (s->lag_ms - lag) / 8;
        s->awaiting = false;
    }
    if (s->phase != SG_SYNC_TRACKING)
        return;
    if (now - s->send_ms >= follow_ms(s) && now - s->motion_ms >= follow_ms(s) && off_target(s)) {
        /* Nothing of ours is in flight: the guest moved its own cursor. */
        s->tx = s->sx = x;
        s->ty = s->sy = y;
        s->step_pending = false;
        out->type = SG_SYNC_FOLLOW;
        out->x = x;
        out->y = y;
    }
}

void sg_cursor_sync_set_pos_done(struct sg_cursor_sync *s, bool ok, uint64_t now, struct sg_sync_action *out)
{
    none(out);
    if (s->phase != SG_SYNC_PLACING)
        return;
    s->phase = SG_SYNC_TRACKING;
    if (ok) {
        /* The host acknowledged: the guest hotspot is where we asked (kvmfr.md §7). */
        s->sx = s->rx = s->px;
        s->sy = s->ry = s->py;
        s->have_report = true;
        s->report_ms = now;
        s->send_ms = now;
        send_to_target(s, now, out);
    } else if (s->have_report) {
        s->sx = s->rx;
        s->sy = s->ry;
        relative_step(s, now, out);
    }
}

bool sg_cursor_sync_wants_tick(const struct sg_cursor_sync *s, bool can_set_pos)
{
    /* the same conditions as sg_cursor_sync_tick's, less the time ones */
    return s->phase == SG_SYNC_TRACKING && s->have_report && off_target(s) && (can_set_pos || s->steps < 8);
}

void sg_cursor_sync_tick(struct sg_cursor_sync *s, bool can_set_pos, uint64_t now, struct sg_sync_action *out)
{
    none(out);
    if (s->phase != SG_SYNC_TRACKING || !s->have_report)
        return;
    uint64_t settle = settle_ms(s);
    if (now - s->motion_ms < settle || now - s->send_ms < settle || now - s->report_ms < settle)
        return;
    if (!off_target(s))
        return;
    /* The guest has not shown our last send yet: wait for it (a step it cannot show, at an edge or
     * below a pixel, is given up on after four times the quiet time). */
    if (s->awaiting && now - s->send_ms < 4 * settle)
        return;
    /* Older than the follow time with nothing sent: sg_cursor_sync_report decides (follow). */
    if (now - s->send_ms >= follow_ms(s) && s->report_ms >= s->send_ms + follow_ms(s))
        return;
    /* A guest whose acceleration is not linear may never settle on steps: stop trying. */
    if (!can_set_pos && s->steps >= 8)
        return;
    s->corrections++;
    if (can_set_pos)
        place(s, out);
    else
        relative_step(s, now, out);
}
