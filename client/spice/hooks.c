/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The viewer's input hooks with SPICE: keyboard, relative mouse (captured or synchronised with
 * the guest cursor), escape-key bindings and the clipboard. Runs on the main (SDL) thread; the
 * SPICE thread only fills the mailbox below and wakes the loop. */
#include "input.h"
#include "input_hooks.h"
#include "spice/spice.h"
#ifdef SG_HAVE_CLIPX
#include "spice/clipboard_x11.h"
#endif

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sg_log.h"
#include "sg_time.h"

struct hooks {
    struct sg_app *app;
    struct sg_spice *spice;
    bool clipboard;
    bool input_on;            /* escape + E turns sending input off and on */
    bool captured;
    bool inside;
    bool focused;
    bool use_set_pos;         /* input:setCursorPos */
    double sens;
    SDL_Keycode esc_sym;
    struct sg_cursor_sync sync;
    struct sg_view view;
    struct sg_guest_cursor cur;
    uint32_t set_pos_id;
    bool warp_pending;
    int warp_x, warp_y;
    uint64_t rebase_at;       /* after leaving capture: re-place the guest cursor at this time */
    double cap_rem_x, cap_rem_y;
    bool key_down[SDL_NUM_SCANCODES];
    int cursor_shown;         /* -1 unknown, else what SDL_ShowCursor was last told */
    int last_state;
    bool ever_connected;
    char *last_from_guest;    /* text we put in the local clipboard, not to be echoed back */
    struct sg_clipx *clipx;   /* images on an X11 desktop, or NULL */

    /* Mailbox from the SPICE thread. */
    pthread_mutex_t mu;
    char *guest_text;
    uint8_t *guest_image;     /* with guest_image_len, guest_image_mime */
    size_t guest_image_len;
    const char *guest_image_mime;
    _Atomic int state;
    _Atomic unsigned guest_locks;
    _Atomic bool clip_changed; /* SDL_CLIPBOARDUPDATE seen */
};

static bool opt_bool(struct sg_app *app, const char *sec, const char *key, bool def)
{
    const char *v = sg_app_option(app, sec, key);
    if (!v || !*v)
        return def;
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcmp(v, "1"))
        return true;
    if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") || !strcmp(v, "0"))
        return false;
    LOG_W("%s:%s=%s is not yes/no; using %s", sec, key, v, def ? "yes" : "no");
    return def;
}

/* ------------------------------------------------------------ SPICE thread side */

static void cb_state(void *opaque, enum sg_spice_state st, const char *detail)
{
    struct hooks *h = opaque;
    atomic_store(&h->state, (int)st);
    sg_app_wake(h->app);
}

static void cb_locks(void *opaque, unsigned locks)
{
    struct hooks *h = opaque;
    atomic_store(&h->guest_locks, locks);
}

static void cb_clip_text(void *opaque, const char *text, size_t len)
{
    struct hooks *h = opaque;
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, text, len);
    copy[len] = 0;
    pthread_mutex_lock(&h->mu);
    free(h->guest_text);
    h->guest_text = copy;
    free(h->guest_image); /* the newest guest copy wins */
    h->guest_image = NULL;
    pthread_mutex_unlock(&h->mu);
    sg_app_wake(h->app);
}

static void cb_clip_image(void *opaque, const char *mime, const uint8_t *data, size_t len)
{
    struct hooks *h = opaque;
    uint8_t *copy = malloc(len);
    if (!copy)
        return;
    memcpy(copy, data, len);
    pthread_mutex_lock(&h->mu);
    free(h->guest_image);
    h->guest_image = copy;
    free(h->guest_text); /* the newest guest copy wins */
    h->guest_text = NULL;
    h->guest_image_len = len;
    h->guest_image_mime = mime; /* a string literal of spice.c */
    pthread_mutex_unlock(&h->mu);
    sg_app_wake(h->app);
}

#ifdef SG_HAVE_CLIPX
/* On the clipboard module's thread; h->spice was set before that thread started and outlives it. */
static void cb_local_png(void *opaque, const uint8_t *data, size_t len)
{
    struct hooks *h = opaque;
    sg_spice_clipboard_offer_png(h->spice, data, len);
}
#endif

/* Images need more than SDL2's text clipboard: the X11 module, when the window is on X11. */
static bool start_image_clipboard(struct hooks *h)
{
    const char *driver = SDL_GetCurrentVideoDriver();
#ifdef SG_HAVE_CLIPX
    if (driver && strcmp(driver, "x11") == 0) {
        struct sg_clipx_callbacks cb = { .opaque = h, .on_local_png = cb_local_png };
        enum sg_clipx_error err;
        h->clipx = sg_clipx_create(NULL, &cb, &err);
        if (h->clipx)
            return true;
        LOG_W("image clipboard unavailable (%s, DISPLAY=%s); text only",
                sg_clipx_error_str(err), getenv("DISPLAY") ? getenv("DISPLAY") : "(unset)");
        return false;
    }
    LOG_W("image clipboard unavailable: the window is not on X11 (SDL video driver %s); "
            "text only", driver ? driver : "none");
#else
    LOG_W("image clipboard unavailable: built without xcb; text only (video driver %s)",
            driver ? driver : "none");
#endif
    return false;
}

static int clip_watch(void *opaque, SDL_Event *ev)
{
    struct hooks *h = opaque;
    if (ev->type == SDL_CLIPBOARDUPDATE)
        atomic_store(&h->clip_changed, true);
    return 0;
}

/* --------------------------------------------------------------- main thread */

static bool can_set_pos(struct hooks *h)
{
    return h->use_set_pos && sg_app_can_set_cursor_pos(h->app);
}

static bool active(struct hooks *h)
{
    return h->spice && h->input_on && sg_spice_get_state(h->spice) == SG_SPICE_CONNECTED;
}

static void act(struct hooks *h, const struct sg_sync_action *a);

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
                a->type == SG_SYNC_RELATIVE ? "relative" : a->type == SG_SYNC_SET_POS ? "set-pos" : "follow",
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

static unsigned host_locks(struct hooks *h)
{
    SDL_Keymod m = SDL_GetModState();
    /* Scroll Lock is the escape key by default: the guest keeps its own. */
    return ((m & KMOD_CAPS) ? SG_SPICE_LOCK_CAPS : 0) | ((m & KMOD_NUM) ? SG_SPICE_LOCK_NUM : 0) |
           (atomic_load(&h->guest_locks) & SG_SPICE_LOCK_SCROLL);
}

static void release_keys(struct hooks *h)
{
    memset(h->key_down, 0, sizeof(h->key_down));
    sg_spice_release_all(h->spice);
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

static void enter_at(struct hooks *h, int wx, int wy)
{
    int gx, gy;
    h->inside = true;
    if (!active(h) || h->captured || !to_guest(h, wx, wy, &gx, &gy))
        return;
    struct sg_sync_action a;
    sg_cursor_sync_enter(&h->sync, gx, gy, can_set_pos(h), sg_time_ms(), &a);
    act(h, &a);
}

static void set_capture(struct hooks *h, bool on)
{
    SDL_Window *win = sg_app_window(h->app);
    if (on == h->captured)
        return;
    if (on && !active(h)) {
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

static void *h_init(struct sg_app *app)
{
    struct hooks *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->app = app;
    h->input_on = true;
    h->cursor_shown = -1;
    h->last_state = -1;
    pthread_mutex_init(&h->mu, NULL);
    h->sens = 1.0;
    h->use_set_pos = opt_bool(app, "input", "setCursorPos", true);
    const char *sens = sg_app_option(app, "input", "mouseSens");
    if (sens && *sens) {
        char *end;
        double v = strtod(sens, &end);
        if (*end || !(v > 0.01 && v <= 100))
            LOG_W("input:mouseSens=%s is not a number in (0.01, 100]; using 1", sens);
        else
            h->sens = v;
    }
    const char *esc = sg_app_option(app, "input", "escapeKey");
    h->esc_sym = SDL_GetKeyFromScancode(SDL_GetScancodeFromName(esc ? esc : "ScrollLock"));
    sg_cursor_sync_init(&h->sync, NULL);
    sg_app_get_view(app, &h->view);
    sg_app_get_guest_cursor(app, &h->cur);

    if (!opt_bool(app, "spice", "enable", true)) {
        LOG_I("spice:enable=no: view only, no input goes to the guest");
        return h;
    }
    h->clipboard = opt_bool(app, "spice", "clipboard", true);
    const char *unix_path = sg_app_option(app, "spice", "unix");
    const char *password = sg_app_option(app, "spice", "password");
    const char *port = sg_app_option(app, "spice", "port");
    long p = port && *port ? strtol(port, NULL, 10) : 5900;
    if (p < 1 || p > 65535) {
        LOG_W("spice:port=%s is not a port (1..65535); using 5900", port);
        p = 5900;
    }
    struct sg_spice_config cfg = {
        .host = sg_app_option(app, "spice", "host"),
        .port = (int)p,
        .unix_path = unix_path && *unix_path ? unix_path : NULL,
        .password = password && *password ? password : NULL,
        .clipboard = h->clipboard,
    };
    struct sg_spice_callbacks cb = {
        .opaque = h,
        .on_state = cb_state,
        .on_guest_locks = cb_locks,
        .on_guest_clipboard_text = cb_clip_text,
    };
    atomic_init(&h->state, SG_SPICE_CONNECTING);
    /* Decided before SPICE starts: without the module guest images are reported once and ignored. */
    bool images = false;
#ifdef SG_HAVE_CLIPX
    const char *driver = SDL_GetCurrentVideoDriver();
    images = h->clipboard && driver && strcmp(driver, "x11") == 0;
#endif
    if (images)
        cb.on_guest_clipboard_image = cb_clip_image;
    h->spice = sg_spice_create(&cfg, &cb);
    if (h->clipboard)
        SDL_AddEventWatch(clip_watch, h);
    if (h->clipboard)
        start_image_clipboard(h);
    if (opt_bool(app, "input", "captureOnStart", false))
        LOG_I("input:captureOnStart: capture starts once SPICE connects");
    return h;
}

static void h_finish(void *state)
{
    struct hooks *h = state;
    if (!h)
        return;
    if (h->clipboard)
        SDL_DelEventWatch(clip_watch, h);
    if (h->captured)
        set_capture(h, false);
    if (h->spice) {
        release_keys(h);
        sg_spice_flush(h->spice, 500);
    }
#ifdef SG_HAVE_CLIPX
    sg_clipx_destroy(h->clipx); /* first: its thread offers local images through h->spice */
#endif
    sg_spice_destroy(h->spice);
    free(h->guest_image);
    pthread_mutex_destroy(&h->mu);
    free(h->guest_text);
    free(h->last_from_guest);
    free(h);
}

static bool h_motion(void *state, const SDL_MouseMotionEvent *ev)
{
    struct hooks *h = state;
    if (!h || !active(h))
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
        enter_at(h, ev->x, ev->y);
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

static bool h_button(void *state, const SDL_MouseButtonEvent *ev)
{
    struct hooks *h = state;
    if (!h || !active(h) || (!h->captured && !h->inside))
        return false;
    enum sg_spice_button b;
    switch (ev->button) {
    case SDL_BUTTON_LEFT: b = SG_SPICE_BUTTON_LEFT; break;
    case SDL_BUTTON_MIDDLE: b = SG_SPICE_BUTTON_MIDDLE; break;
    case SDL_BUTTON_RIGHT: b = SG_SPICE_BUTTON_RIGHT; break;
    case SDL_BUTTON_X1: b = SG_SPICE_BUTTON_SIDE; break;
    case SDL_BUTTON_X2: b = SG_SPICE_BUTTON_EXTRA; break;
    default: return false;
    }
    sg_spice_button(h->spice, b, ev->state == SDL_PRESSED);
    return true;
}

static bool h_wheel(void *state, const SDL_MouseWheelEvent *ev)
{
    struct hooks *h = state;
    if (!h || !active(h) || (!h->captured && !h->inside))
        return false;
    int y = ev->direction == SDL_MOUSEWHEEL_FLIPPED ? -ev->y : ev->y;
    sg_spice_wheel(h->spice, -y); /* SDL: positive is away from the user = up */
    return true;
}

static bool h_key(void *state, const SDL_KeyboardEvent *ev)
{
    struct hooks *h = state;
    if (!h || !active(h))
        return false;
    SDL_Scancode sc = ev->keysym.scancode;
    unsigned code = sg_input_set1_from_sdl(sc);
    if (!code || sc >= SDL_NUM_SCANCODES)
        return false;
    /* The guest repeats held keys itself (like a real keyboard's make codes would). */
    if (ev->repeat)
        return true;
    bool down = ev->type == SDL_KEYDOWN;
    if (!down && !h->key_down[sc])
        return true;
    h->key_down[sc] = down;
    sg_spice_key(h->spice, code, down);
    return true;
}

static void h_focus(void *state, bool gained)
{
    struct hooks *h = state;
    if (!h || !h->spice)
        return;
    h->focused = gained;
    if (!gained) {
        /* Keys held when focus goes would stay down in the guest. */
        release_keys(h);
        if (h->captured)
            set_capture(h, false);
    } else if (active(h)) {
        sg_spice_set_locks(h->spice, host_locks(h));
    }
}

static void h_enter(void *state, bool entered)
{
    struct hooks *h = state;
    if (!h || !h->spice || h->captured)
        return;
    if (entered) {
        int x, y;
        SDL_GetMouseState(&x, &y);
        enter_at(h, x, y);
    } else {
        h->inside = false;
        sg_cursor_sync_leave(&h->sync);
    }
}

static void send_ctrl_alt(struct hooks *h, unsigned fkey)
{
    sg_spice_key(h->spice, 0x1d, true);
    sg_spice_key(h->spice, 0x38, true);
    sg_spice_key(h->spice, fkey, true);
    sg_spice_key(h->spice, fkey, false);
    sg_spice_key(h->spice, 0x38, false);
    sg_spice_key(h->spice, 0x1d, false);
}

static bool h_escape(void *state, SDL_Keycode key)
{
    struct hooks *h = state;
    if (!h || !h->spice)
        return false;
    if (key == h->esc_sym || key == SDLK_c) {
        set_capture(h, !h->captured);
        return true;
    }
    if (key == SDLK_e) {
        if (h->input_on) {
            release_keys(h);
            set_capture(h, false);
            sg_cursor_sync_leave(&h->sync);
        }
        h->input_on = !h->input_on;
        sg_app_notice(h->app, h->input_on ? "input to the guest on" : "input to the guest off (view only)");
        if (h->input_on) {
            int x, y;
            if (SDL_GetMouseFocus() == sg_app_window(h->app)) {
                SDL_GetMouseState(&x, &y);
                enter_at(h, x, y);
            }
        }
        return true;
    }
    if (key >= SDLK_F1 && key <= SDLK_F12) {
        if (!active(h))
            return false;
        unsigned n = (unsigned)(key - SDLK_F1);
        send_ctrl_alt(h, n < 10 ? 0x3b + n : 0x57 + (n - 10));
        return true;
    }
    return false;
}

static void h_guest_cursor(void *state, const struct sg_guest_cursor *cur)
{
    struct hooks *h = state;
    if (!h)
        return;
    h->cur = *cur;
    if (!cur->known || !h->spice || h->captured)
        return;
    struct sg_sync_action a;
    sg_cursor_sync_report(&h->sync, cur->x, cur->y, sg_time_ms(), &a);
    if (active(h))
        act(h, &a);
}

static void h_view(void *state, const struct sg_view *view)
{
    struct hooks *h = state;
    if (h)
        h->view = *view;
}

static void h_session(void *state, bool connected)
{
    struct hooks *h = state;
    if (!h || !h->spice)
        return;
    /* A new host session knows nothing of where we put the cursor: place it again. */
    if (connected && h->inside && !h->captured && SDL_GetMouseFocus() == sg_app_window(h->app)) {
        int x, y;
        SDL_GetMouseState(&x, &y);
        enter_at(h, x, y);
    }
}

static void h_cursor_pos_done(void *state, uint32_t id, enum sg_cursor_pos_result res)
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
    if (active(h))
        act(h, &a);
}

static void clipboard_tick(struct hooks *h)
{
    pthread_mutex_lock(&h->mu);
    char *text = h->guest_text;
    h->guest_text = NULL;
    uint8_t *image = h->guest_image;
    size_t image_len = h->guest_image_len;
    const char *mime = h->guest_image_mime;
    h->guest_image = NULL;
    pthread_mutex_unlock(&h->mu);
    if (text) {
        free(h->last_from_guest);
        h->last_from_guest = text;
        SDL_SetClipboardText(text);
    }
    if (image) {
#ifdef SG_HAVE_CLIPX
        sg_clipx_set_image(h->clipx, mime, image, image_len);
#else
        (void)image_len;
        (void)mime;
#endif
        free(image);
        /* The guest's clipboard is an image now: the same text copied locally again is news to it. */
        free(h->last_from_guest);
        h->last_from_guest = NULL;
    }
    if (atomic_exchange(&h->clip_changed, false) && SDL_HasClipboardText()) {
        char *local = SDL_GetClipboardText();
        if (local && *local && (!h->last_from_guest || strcmp(local, h->last_from_guest) != 0))
            sg_spice_clipboard_offer_text(h->spice, local);
        SDL_free(local);
    }
}

static void h_tick(void *state)
{
    struct hooks *h = state;
    if (!h || !h->spice)
        return;
    int st = atomic_load(&h->state);
    if (st != h->last_state) {
        if (st == SG_SPICE_CONNECTED) {
            h->ever_connected = true;
            sg_app_notice(h->app, "SPICE connected: keyboard and mouse go to the guest");
            sg_spice_set_locks(h->spice, host_locks(h));
            if (SDL_GetMouseFocus() == sg_app_window(h->app)) {
                int x, y;
                SDL_GetMouseState(&x, &y);
                enter_at(h, x, y);
            }
            if (h->last_state == -1 && opt_bool(h->app, "input", "captureOnStart", false))
                set_capture(h, true);
        } else if (st == SG_SPICE_DOWN && h->ever_connected) {
            sg_app_notice(h->app, "SPICE is down: showing frames only, reconnecting");
        } else if (st == SG_SPICE_DOWN) {
            sg_app_notice(h->app, "SPICE server not reachable: view only, retrying");
        } else if (st == SG_SPICE_AUTH_FAILED) {
            sg_app_notice(h->app, "SPICE refused the password (spice:password)");
        }
        if (st != SG_SPICE_CONNECTED) {
            if (h->captured)
                set_capture(h, false);
            memset(h->key_down, 0, sizeof(h->key_down));
            sg_cursor_sync_leave(&h->sync);
        }
        h->last_state = st;
    }
    if (h->clipboard)
        clipboard_tick(h);
    if (h->rebase_at && sg_time_ms() >= h->rebase_at) {
        h->rebase_at = 0;
        h->warp_pending = false;
        if (SDL_GetMouseFocus() == sg_app_window(h->app)) {
            int x, y;
            SDL_GetMouseState(&x, &y);
            enter_at(h, x, y);
        }
    }
    if (active(h) && !h->captured) {
        struct sg_sync_action a;
        sg_cursor_sync_tick(&h->sync, can_set_pos(h), sg_time_ms(), &a);
        act(h, &a);
    }
    /* The guest draws the cursor: hide the local one while input goes to the guest. */
    int want_shown = !(active(h) && h->cur.known && h->cur.visible);
    if (want_shown != h->cursor_shown && !h->captured) {
        SDL_ShowCursor(want_shown ? SDL_ENABLE : SDL_DISABLE);
        h->cursor_shown = want_shown;
    }
}

static const char *const help_lines[] = {
    "(tap)  capture input on/off: mouse grabbed, raw motion x input:mouseSens",
    "C      capture input on/off",
    "E      send input to the guest on/off (view only)",
    "F1-F12 send Ctrl+Alt+F1..F12 to the guest",
    NULL,
};

const struct sg_input_hooks sg_input_hooks = {
    .init = h_init,
    .finish = h_finish,
    .on_mouse_motion = h_motion,
    .on_mouse_button = h_button,
    .on_mouse_wheel = h_wheel,
    .on_key = h_key,
    .on_focus = h_focus,
    .on_enter = h_enter,
    .on_escape = h_escape,
    .help_lines = help_lines,
    .on_guest_cursor = h_guest_cursor,
    .on_view = h_view,
    .on_session = h_session,
    .on_cursor_pos_done = h_cursor_pos_done,
    .on_tick = h_tick,
    .wake_ms = 10,
};

const struct sg_input_option sg_input_options[] = {
    { "spice", "enable", "yes", "connect to the VM's SPICE server for keyboard, mouse and clipboard (no = view only)" },
    { "spice", "host", "127.0.0.1", "SPICE server host" },
    { "spice", "port", "5900", "SPICE server TCP port" },
    { "spice", "unix", "", "SPICE server unix socket (instead of host:port)" },
    { "spice", "password", "", "SPICE password" },
    { "spice", "clipboard", "yes", "share the clipboard with the guest's SPICE agent" },
    { "input", "mouseSens", "1.0", "multiplier for raw mouse motion in capture mode" },
    { "input", "captureOnStart", "no", "capture input as soon as SPICE connects" },
    { "input", "setCursorPos", "yes",
      "let the host place the guest cursor (SET_CURSOR_POS); no = relative corrections only" },
    { NULL, NULL, NULL, NULL },
};
