/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Private to client/spice/: the state of the viewer's input hooks with SPICE and
 * the functions its files share. hooks.c (setup, SPICE state, escape bindings,
 * the hook table and options), hooks_mouse.c (capture mode, cursor
 * synchronisation), hooks_keyboard.c (keys, locks), hooks_clipboard.c (the
 * clipboard both ways).
 *
 * Threading: everything here runs on the main (SDL) thread except the SPICE
 * callbacks, which only fill the mailbox below and wake the loop, and the
 * image clipboard's callback (hooks_clipboard.c).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "input.h"
#include "input_hooks.h"
#include "spice/spice.h"

struct sg_clipx;

struct hooks {
    struct sg_app *app;
    struct sg_spice *spice;
    bool clipboard;
    bool input_on; /* escape + E turns sending input off and on */
    bool captured;
    bool inside;
    bool focused;
    bool use_set_pos; /* input:setCursorPos */
    double sens;
    SDL_Keycode esc_sym;
    struct sg_cursor_sync sync;
    struct sg_view view;
    struct sg_guest_cursor cur;
    uint32_t set_pos_id;
    bool warp_pending;
    int warp_x, warp_y;
    uint64_t rebase_at; /* after leaving capture: re-place the guest cursor at this time */
    double cap_rem_x, cap_rem_y;
    bool key_down[SDL_NUM_SCANCODES];
    int cursor_shown; /* -1 unknown, else what SDL_ShowCursor was last told */
    int last_state;
    bool ever_connected;
    char *last_from_guest;     /* text we put in the local clipboard, not to be echoed back */
    struct sg_clipx *clipx;    /* images on an X11 desktop, or NULL */
    struct sg_audio_ui *audio; /* guest sound and microphone (spice/audio_ui.h), or NULL */

    /* Mailbox from the SPICE thread: mu guards guest_text and guest_image*
     * (hooks_clipboard.c); state, guest_locks and clip_changed are atomics. */
    pthread_mutex_t mu;
    char *guest_text;
    uint8_t *guest_image; /* with guest_image_len, guest_image_mime */
    size_t guest_image_len;
    const char *guest_image_mime;
    _Atomic int state;
    _Atomic unsigned guest_locks;
    _Atomic bool clip_changed; /* SDL_CLIPBOARDUPDATE seen */
};

/* Input goes to the guest: SPICE is up and input was not switched off (escape + E). */
static inline bool sg_hooks_active(struct hooks *h)
{
    return h->spice && h->input_on && sg_spice_get_state(h->spice) == SG_SPICE_CONNECTED;
}

/* hooks_mouse.c */
void sg_hooks_enter_at(struct hooks *h, int wx, int wy); /* the pointer is (again) at this window point */
void sg_hooks_set_capture(struct hooks *h, bool on);
void sg_hooks_mouse_tick(
    struct hooks *h); /* re-placing after capture, corrections, local cursor shown or not */
/* How soon sg_hooks_mouse_tick must run again: a re-placing due, or corrections while the
 * guest cursor is off target; 0 = only on events. */
unsigned sg_hooks_mouse_wake_ms(struct hooks *h);
bool sg_hooks_on_motion(void *state, const SDL_MouseMotionEvent *ev);
bool sg_hooks_on_button(void *state, const SDL_MouseButtonEvent *ev);
bool sg_hooks_on_wheel(void *state, const SDL_MouseWheelEvent *ev);
void sg_hooks_on_enter(void *state, bool entered);
void sg_hooks_on_guest_cursor(void *state, const struct sg_guest_cursor *cur);
void sg_hooks_on_view(void *state, const struct sg_view *view);
void sg_hooks_on_cursor_pos_done(void *state, uint32_t id, enum sg_cursor_pos_result res);

/* hooks_keyboard.c */
unsigned sg_hooks_host_locks(struct hooks *h); /* SG_SPICE_LOCK_* to give the guest */
void sg_hooks_release_keys(struct hooks *h);
bool sg_hooks_on_key(void *state, const SDL_KeyboardEvent *ev);
void sg_hooks_send_ctrl_alt(struct hooks *h, unsigned fkey); /* fkey: set-1 scancode */

/* hooks_clipboard.c, in the order hooks.c calls them: init before anything, callbacks
 * into the SPICE callbacks before SPICE starts, start (when h->clipboard) after it,
 * tick on every pass (when h->clipboard), stop before SPICE is destroyed, finish last. */
void sg_hooks_clipboard_init(struct hooks *h);
void sg_hooks_clipboard_callbacks(struct hooks *h, struct sg_spice_callbacks *cb);
void sg_hooks_clipboard_start(struct hooks *h);
void sg_hooks_clipboard_tick(struct hooks *h);
void sg_hooks_clipboard_stop(struct hooks *h);
void sg_hooks_clipboard_finish(struct hooks *h);
