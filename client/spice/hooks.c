/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The viewer's input hooks with SPICE: keyboard, relative mouse (captured or synchronised with
 * the guest cursor), escape-key bindings and the clipboard. This file sets them up, follows the
 * SPICE connection's state and holds the escape bindings and the hook table; the mouse, the
 * keyboard and the clipboard have a file each (hooks.h). Runs on the main (SDL) thread; the
 * SPICE thread only fills the mailbox and wakes the loop. */
#include "hooks.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sg_log.h"
#ifdef SG_HAVE_AUDIO
#include "spice/audio_ui.h"
#endif

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

/* --------------------------------------------------------------- main thread */

static void *h_init(struct sg_app *app)
{
    struct hooks *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->app = app;
    h->input_on = true;
    h->cursor_shown = -1;
    h->last_state = -1;
    sg_hooks_clipboard_init(h);
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
    };
    sg_hooks_clipboard_callbacks(h, &cb);
    atomic_init(&h->state, SG_SPICE_CONNECTING);
#ifdef SG_HAVE_AUDIO
    h->audio = sg_audio_ui_create(app, &cfg, &cb);
#endif
    h->spice = sg_spice_create(&cfg, &cb);
    if (h->clipboard)
        sg_hooks_clipboard_start(h);
    if (opt_bool(app, "input", "captureOnStart", false))
        LOG_I("input:captureOnStart: capture starts once SPICE connects");
    return h;
}

static void h_finish(void *state)
{
    struct hooks *h = state;
    if (!h)
        return;
    if (h->captured)
        sg_hooks_set_capture(h, false);
    if (h->spice) {
        sg_hooks_release_keys(h);
        sg_spice_flush(h->spice, 500);
    }
    sg_hooks_clipboard_stop(h);
    sg_spice_destroy(h->spice);
#ifdef SG_HAVE_AUDIO
    sg_audio_ui_destroy(h->audio); /* after SPICE: its thread played into it until now */
#endif
    sg_hooks_clipboard_finish(h);
    free(h);
}

static void h_focus(void *state, bool gained)
{
    struct hooks *h = state;
    if (!h || !h->spice)
        return;
    h->focused = gained;
    if (!gained) {
        /* Keys held when focus goes would stay down in the guest. */
        sg_hooks_release_keys(h);
        if (h->captured)
            sg_hooks_set_capture(h, false);
    } else if (sg_hooks_active(h)) {
        sg_spice_set_locks(h->spice, sg_hooks_host_locks(h));
    }
}

static bool h_escape(void *state, SDL_Keycode key)
{
    struct hooks *h = state;
    if (!h || !h->spice)
        return false;
    if (key == h->esc_sym || key == SDLK_c) {
        sg_hooks_set_capture(h, !h->captured);
        return true;
    }
    if (key == SDLK_e) {
        if (h->input_on) {
            sg_hooks_release_keys(h);
            sg_hooks_set_capture(h, false);
            sg_cursor_sync_leave(&h->sync);
        }
        h->input_on = !h->input_on;
        sg_app_notice(h->app, h->input_on ? "input to the guest on" : "input to the guest off (view only)");
        if (h->input_on) {
            int x, y;
            if (SDL_GetMouseFocus() == sg_app_window(h->app)) {
                SDL_GetMouseState(&x, &y);
                sg_hooks_enter_at(h, x, y);
            }
        }
        return true;
    }
#ifdef SG_HAVE_AUDIO
    if (sg_audio_ui_escape(h->audio, key))
        return true;
#endif
    if (key >= SDLK_F1 && key <= SDLK_F12) {
        if (!sg_hooks_active(h))
            return false;
        unsigned n = (unsigned)(key - SDLK_F1);
        sg_hooks_send_ctrl_alt(h, n < 10 ? 0x3b + n : 0x57 + (n - 10));
        return true;
    }
    return false;
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
        sg_hooks_enter_at(h, x, y);
    }
}

/* How soon h_tick needs to run again without an event. State changes and
 * clipboard data wake the loop themselves (sg_app_wake); what is left is the
 * mouse's timing (sg_hooks_mouse_wake_ms). A still guest with the cursor where
 * it should be (and view only) needs no ticks: the loop sleeps until an event. */
static unsigned h_wake_ms_now(void *state)
{
    struct hooks *h = state;
    return h && h->spice ? sg_hooks_mouse_wake_ms(h) : 0;
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
            sg_spice_set_locks(h->spice, sg_hooks_host_locks(h));
            if (SDL_GetMouseFocus() == sg_app_window(h->app)) {
                int x, y;
                SDL_GetMouseState(&x, &y);
                sg_hooks_enter_at(h, x, y);
            }
            if (h->last_state == -1 && opt_bool(h->app, "input", "captureOnStart", false))
                sg_hooks_set_capture(h, true);
        } else if (st == SG_SPICE_DOWN && h->ever_connected) {
            sg_app_notice(h->app, "SPICE is down: showing frames only, reconnecting");
        } else if (st == SG_SPICE_DOWN) {
            sg_app_notice(h->app, "SPICE server not reachable: view only, retrying");
        } else if (st == SG_SPICE_AUTH_FAILED) {
            sg_app_notice(h->app, "SPICE refused the password (spice:password)");
        }
        if (st != SG_SPICE_CONNECTED) {
            if (h->captured)
                sg_hooks_set_capture(h, false);
            memset(h->key_down, 0, sizeof(h->key_down));
            sg_cursor_sync_leave(&h->sync);
        }
        h->last_state = st;
    }
    if (h->clipboard)
        sg_hooks_clipboard_tick(h);
#ifdef SG_HAVE_AUDIO
    sg_audio_ui_tick(h->audio);
#endif
    sg_hooks_mouse_tick(h);
}

static void h_stats(void *state, char *text, size_t text_size, char *kv, size_t kv_size)
{
    struct hooks *h = state;
    *text = *kv = 0;
#ifdef SG_HAVE_AUDIO
    if (h && h->spice)
        sg_audio_ui_stats(h->audio, text, text_size, kv, kv_size);
#endif
}

static const char *const help_lines[] = {
    "(tap)  capture input on/off: mouse grabbed, raw motion x input:mouseSens",
    "C      capture input on/off",
    "E      send input to the guest on/off (view only)",
    "F1-F12 send Ctrl+Alt+F1..F12 to the guest",
#ifdef SG_HAVE_AUDIO
    "M      microphone for the guest on/off (while it asks)",
#endif
    NULL,
};

const struct sg_input_hooks sg_input_hooks = {
    .init = h_init,
    .finish = h_finish,
    .on_mouse_motion = sg_hooks_on_motion,
    .on_mouse_button = sg_hooks_on_button,
    .on_mouse_wheel = sg_hooks_on_wheel,
    .on_key = sg_hooks_on_key,
    .on_focus = h_focus,
    .on_enter = sg_hooks_on_enter,
    .on_escape = h_escape,
    .help_lines = help_lines,
    .on_guest_cursor = sg_hooks_on_guest_cursor,
    .on_view = sg_hooks_on_view,
    .on_session = h_session,
    .on_cursor_pos_done = sg_hooks_on_cursor_pos_done,
    .on_tick = h_tick,
    .wake_ms = 10,
    .wake_ms_now = h_wake_ms_now,
    .stats = h_stats,
};

const struct sg_input_option sg_input_options[] = {
    {"spice", "enable", "yes",
     "connect to the VM's SPICE server for keyboard, mouse and clipboard (no = view only)"},
    {"spice", "host", "127.0.0.1", "SPICE server host"},
    {"spice", "port", "5900", "SPICE server TCP port"},
    {"spice", "unix", "", "SPICE server unix socket (instead of host:port)"},
    {"spice", "password", "", "SPICE password"},
    {"spice", "clipboard", "yes", "share the clipboard with the guest's SPICE agent"},
    {"input", "mouseSens", "1.0", "multiplier for raw mouse motion in capture mode"},
    {"input", "captureOnStart", "no", "capture input as soon as SPICE connects"},
    {"input", "setCursorPos", "yes",
     "let the host place the guest cursor (SET_CURSOR_POS); no = relative corrections only"},
#ifdef SG_HAVE_AUDIO
    {"audio", "enable", "yes", "play the guest's sound and offer it the microphone (through SPICE)"},
    {"audio", "latencyMs", "20",
     "playback latency held above the sound device's own, in ms (2..1000); lower risks gaps on a busy "
     "machine"},
    {"audio", "micDefault", "prompt",
     "when the guest opens the microphone: prompt (a notice; escape key + M allows it), allow, or deny"},
    {"audio", "device", "", "sound server sink to play to (pactl list short sinks); empty = the default"},
    {"audio", "micDevice", "",
     "sound server source to capture from (pactl list short sources); empty = the default"},
#endif
    {NULL, NULL, NULL, NULL},
};
