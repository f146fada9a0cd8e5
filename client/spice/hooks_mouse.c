/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The mouse side of the SPICE input hooks: capture mode (relative motion, pointer grabbed) and,
 * outside it, keeping the guest cursor under the local pointer (client/input.h's cursor
 * synchronisation; this file performs the actions it asks for). Main thread only. */
#include "hooks.h"

#include <stdlib.h>

#include "sg_log.h"
#include "sg_time.h"

static bool can_set_pos(struct hooks *h)
{
    return h->use_set_pos && sg_app_can_set_cursor_pos(h->app);
}

static bool debug_on(void)
{
    static int on = -1;
    if (on < 0)
        on = getenv("SPYGLASS_INPUT_DEBUG") && *getenv("SPYGLASS_INPUT_DEBUG") == '1';
    return on;
}

static void act(struct hooks *h, const struct sg_sync_action *a)
{
    if (debug_on() && a->type != SG_SYNC_NONE)
        LOG_I("input: %llu %s %d,%d (target %.0f,%.0f reported %d,%d)", (unsigned long long)sg_time_ms(),
              a->type == SG_SYNC_RELATIVE  ? "relative"
              : a->type == SG_SYNC_SET_POS ? "set-pos"
                                           : "follow",
              a->type == SG_SYNC_RELATIVE ? a->dx : a->x, a->type == SG_SYNC_RELATIVE ? a->dy : a->y,
              h->sync.tx, h->sync.ty, h->sync.rx, h->sync.ry);
    switch (a->type) {
    case SG_SYNC_NONE:
        break;
    case SG_SYNC_RELATIVE:
        sg_spice_motion(h->spice, a->dx, a->dy);
        break;
    case SG_SYNC_SET_POS:
        h->set_pos_id = sg_app_set_cursor_pos(h->app, a->x, a->y);
        if (!h->set_pos_id) {
            struct sg_sync_action next;
            sg_cursor_sync_set_pos_done(&h->sync, false, sg_time_ms(), &next);
            if (next.type != SG_SYNC_SET_POS)
                act(h, &next);
        }
        break;
    case SG_SYNC_FOLLOW: {
        double wx, wy;
        if (!sg_view_guest_to_window_clamped(&h->view, a->x, a->y, &wx, &wy))
            break;
        h->warp_pending = true;
        h->warp_x = (int)wx;
        h->warp_y = (int)wy;
        SDL_WarpMouseInWindow(sg_app_window(h->app), h->warp_x, h->warp_y);
        break;
    }
    }
}

/* Window point -> guest point, clamped to the guest screen: in the letterbox the guest cursor
 * waits at the edge instead of being corrected towards a place it cannot reach. */
static bool to_guest(struct hooks *h, int wx, int wy, int *gx, int *gy)
{
    if (!sg_view_window_to_guest(&h->view, wx, wy, gx, gy) || h->view.guest_w < 1 || h->view.guest_h < 1)
        return false;
    *gx = *gx < 0 ? 0 : *gx >= h->view.guest_w ? h->view.guest_w - 1 : *gx;
    *gy = *gy < 0 ? 0 : *gy >= h->view.guest_h ? h->view.guest_h - 1 : *gy;
    return true;
}

void sg_hooks_enter_at(struct hooks *h, int wx, int wy)
{
    int gx, gy;
    h->inside = true;
    if (!sg_hooks_active(h) || h->captured || !to_guest(h, wx, wy, &gx, &gy))
        return;
    struct sg_sync_action a;
    sg_cursor_sync_enter(&h->sync, gx, gy, can_set_pos(h), sg_time_ms(), &a);
    act(h, &a);
}

void sg_hooks_set_capture(struct hooks *h, bool on)
{
    SDL_Window *win = sg_app_window(h->app);
    if (on == h->captured)
        return;
    if (on && !sg_hooks_active(h)) {
        sg_app_notice(h->app, "cannot capture input: SPICE is not connected");
        return;
    }
    h->captured = on;
    if (on) {
        sg_cursor_sync_leave(&h->sync);
        h->cap_rem_x = h->cap_rem_y = 0;
        SDL_SetWindowKeyboardGrab(win, SDL_TRUE);
        SDL_SetRelativeMouseMode(SDL_TRUE);
        sg_app_notice(h->app, "input captured: tap the escape key to release");
    } else {
        SDL_SetRelativeMouseMode(SDL_FALSE);
        SDL_SetWindowKeyboardGrab(win, SDL_FALSE);
        /* Put the local pointer where the guest cursor is, then go on in step from there. */
        double wx, wy;
        if (h->cur.known && sg_view_guest_to_window(&h->view, h->cur.x, h->cur.y, &wx, &wy)) {
            h->warp_pending = true;
            h->warp_x = (int)wx;
            h->warp_y = (int)wy;
            SDL_WarpMouseInWindow(win, h->warp_x, h->warp_y);
        }
        /* SDL may report motion from leaving relative mode; once that is over, place the guest
         * cursor under the pointer like on an enter. */
        sg_cursor_sync_leave(&h->sync);
        h->rebase_at = sg_time_ms() + 60;
        sg_app_notice(h->app, "input released");
    }
}

bool sg_hooks_on_motion(void *state, const SDL_MouseMotionEvent *ev)
{
    struct hooks *h = state;
    if (!h || !sg_hooks_active(h))
        return false;
    if (h->captured) {
        double dx = ev->xrel * h->sens + h->cap_rem_x, dy = ev->yrel * h->sens + h->cap_rem_y;
        int ix = (int)dx, iy = (int)dy;
        h->cap_rem_x = dx - ix;
        h->cap_rem_y = dy - iy;
        sg_spice_motion(h->spice, ix, iy);
        return true;
    }
    if (h->rebase_at)
        return true;
    if (h->warp_pending && ev->x == h->warp_x && ev->y == h->warp_y) {
        h->warp_pending = false; /* our own warp, already accounted for */
        return true;
    }
    if (!h->inside || h->sync.phase == SG_SYNC_OUTSIDE) {
        sg_hooks_enter_at(h, ev->x, ev->y);
        return true;
    }
    int gx, gy;
    if (!to_guest(h, ev->x, ev->y, &gx, &gy))
        return true;
    struct sg_sync_action a;
    sg_cursor_sync_motion(&h->sync, gx, gy, sg_time_ms(), &a);
    act(h, &a);
    return true;
}

bool sg_hooks_on_button(void *state, const SDL_MouseButtonEvent *ev)
{
    struct hooks *h = state;
    if (!h || !sg_hooks_active(h) || (!h->captured && !h->inside))
        return false;
    enum sg_spice_button b;
    switch (ev->button) {
    case SDL_BUTTON_LEFT:
        b = SG_SPICE_BUTTON_LEFT;
        break;
    case SDL_BUTTON_MIDDLE:
        b = SG_SPICE_BUTTON_MIDDLE;
        break;
    case SDL_BUTTON_RIGHT:
        b = SG_SPICE_BUTTON_RIGHT;
        break;
    case SDL_BUTTON_X1:
        b = SG_SPICE_BUTTON_SIDE;
        break;
    case SDL_BUTTON_X2:
        b = SG_SPICE_BUTTON_EXTRA;
        break;
    default:
        return false;
    }
    sg_spice_button(h->spice, b, ev->state == SDL_PRESSED);
    return true;
}

bool sg_hooks_on_wheel(void *state, const SDL_MouseWheelEvent *ev)
{
    struct hooks *h = state;
    if (!h || !sg_hooks_active(h) || (!h->captured && !h->inside))
        return false;
    int y = ev->direction == SDL_MOUSEWHEEL_FLIPPED ? -ev->y : ev->y;
    sg_spice_wheel(h->spice, -y); /* SDL: positive is away from the user = up */
    return true;
}

void sg_hooks_on_enter(void *state, bool entered)
{
    struct hooks *h = state;
    if (!h || !h->spice || h->captured)
        return;
    if (entered) {
        int x, y;
        SDL_GetMouseState(&x, &y);
        sg_hooks_enter_at(h, x, y);
    } else {
        h->inside = false;
        sg_cursor_sync_leave(&h->sync);
    }
}

void sg_hooks_on_guest_cursor(void *state, const struct sg_guest_cursor *cur)
{
    struct hooks *h = state;
    if (!h)
        return;
    h->cur = *cur;
    if (!cur->known || !h->spice || h->captured)
        return;
    struct sg_sync_action a;
    sg_cursor_sync_report(&h->sync, cur->x, cur->y, sg_time_ms(), &a);
    if (sg_hooks_active(h))
        act(h, &a);
}

void sg_hooks_on_view(void *state, const struct sg_view *view)
{
    struct hooks *h = state;
    if (h)
        h->view = *view;
}

void sg_hooks_on_cursor_pos_done(void *state, uint32_t id, enum sg_cursor_pos_result res)
{
    struct hooks *h = state;
    if (debug_on())
        LOG_I("input: %llu set-pos %u %s%s", (unsigned long long)sg_time_ms(), id,
              res == SG_CURSOR_POS_ACKED ? "acked" : "failed", id != h->set_pos_id ? " (stale)" : "");
    if (!h || id != h->set_pos_id)
        return;
    h->set_pos_id = 0;
    struct sg_sync_action a;
    sg_cursor_sync_set_pos_done(&h->sync, res == SG_CURSOR_POS_ACKED, sg_time_ms(), &a);
    if (sg_hooks_active(h))
        act(h, &a);
}

unsigned sg_hooks_mouse_wake_ms(struct hooks *h)
{
    unsigned ms = 0;
    if (h->rebase_at) {
        uint64_t now = sg_time_ms();
        ms = h->rebase_at > now ? (unsigned)(h->rebase_at - now) : 1;
    }
    /* the tick's corrections wait for the cursor to settle: look every 10 ms while one may come */
    if (sg_hooks_active(h) && !h->captured && sg_cursor_sync_wants_tick(&h->sync, can_set_pos(h)) &&
        (!ms || ms > 10))
        ms = 10;
    return ms;
}

void sg_hooks_mouse_tick(struct hooks *h)
{
    if (h->rebase_at && sg_time_ms() >= h->rebase_at) {
        h->rebase_at = 0;
        h->warp_pending = false;
        if (SDL_GetMouseFocus() == sg_app_window(h->app)) {
            int x, y;
            SDL_GetMouseState(&x, &y);
            sg_hooks_enter_at(h, x, y);
        }
    }
    if (sg_hooks_active(h) && !h->captured) {
        struct sg_sync_action a;
        sg_cursor_sync_tick(&h->sync, can_set_pos(h), sg_time_ms(), &a);
        act(h, &a);
    }
    /* The guest draws the cursor: hide the local one while input goes to the guest. */
    int want_shown = !(sg_hooks_active(h) && h->cur.known && h->cur.visible);
    if (want_shown != h->cursor_shown && !h->captured) {
        SDL_ShowCursor(want_shown ? SDL_ENABLE : SDL_DISABLE);
        h->cursor_shown = want_shown;
    }
}
