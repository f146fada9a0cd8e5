/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The seam between the viewer (window, event loop, session: client/ *.c) and
 * guest input (SPICE: client/input.c, client/spice/).
 *
 * The viewer owns the SDL event loop. For every SDL mouse, keyboard, focus
 * and enter/leave event it calls the matching hook below, on the main (SDL)
 * thread, before acting on the event itself. What the hooks may use of the
 * viewer is the small sg_app_* API at the end of this file.
 *
 * Which hooks are installed is decided at build time: the build links exactly
 * one definition of `sg_input_hooks`. client/input_hooks_noop.c is the
 * default; a build with SPICE input replaces it (client/spice/meson.build
 * sets `client_input_src` / `client_input_deps`, see client/meson.build).
 *
 * Threading: every hook and every sg_app_* function runs on the main thread,
 * except sg_app_wake(), which any thread may call.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <SDL.h>

#include "guest_cursor.h"
#include "view.h"

struct sg_app; /* the viewer; opaque to the hooks */

/* ------------------------------------------------------------------ hooks */

struct sg_input_hooks {
    /* Called once after the window exists; returns an opaque state passed to
     * every other hook (may be NULL). A NULL init means "no state". */
    void *(*init)(struct sg_app *app);
    /* Called once before the window goes away. */
    void (*finish)(void *state);

    /* Each event hook returns true when it consumed the event, so the viewer
     * does nothing more with it. The viewer's own escape-key bindings
     * (Scroll Lock + letter) are checked before on_key is called, see
     * on_escape below. Any hook may be NULL. */
    bool (*on_mouse_motion)(void *state, const SDL_MouseMotionEvent *ev);
    bool (*on_mouse_button)(void *state, const SDL_MouseButtonEvent *ev);
    bool (*on_mouse_wheel)(void *state, const SDL_MouseWheelEvent *ev);
    bool (*on_key)(void *state, const SDL_KeyboardEvent *ev);
    void (*on_focus)(void *state, bool gained);
    void (*on_enter)(void *state, bool entered); /* pointer entered/left the window */

    /* Escape combination: the escape key (Scroll Lock by default) was held and
     * `key` pressed. Called for keys the viewer itself does not bind (it binds
     * Q quit, F fullscreen, O/I overlay, H help, S screenshot); return true if
     * the hooks handled it. help_line: text for the help overlay, e.g.
     * "C     toggle input capture"; may be NULL. */
    bool (*on_escape)(void *state, SDL_Keycode key);
    const char *const *help_lines; /* NULL-terminated extra help lines, or NULL */

    /* The guest cursor moved, changed visibility, or a new session started. */
    void (*on_guest_cursor)(void *state, const struct sg_guest_cursor *cur);
    /* The window's guest<->window mapping changed (resize, new guest size). */
    void (*on_view)(void *state, const struct sg_view *view);
    /* A host session started (connected = true) or ended. */
    void (*on_session)(void *state, bool connected);
    /* A SET_CURSOR_POS request finished; id is what sg_app_set_cursor_pos returned. */
    void (*on_cursor_pos_done)(void *state, uint32_t id, enum sg_cursor_pos_result result);

    /* Called once per event-loop pass after events were handled, and at least
     * every wake_ms milliseconds when wake_ms > 0 (0 = only on events). */
    void (*on_tick)(void *state);
    unsigned wake_ms;
    /* Optional: wake_ms for the state now (0 = only on events), e.g. nothing
     * to poll while the input side is off; NULL = wake_ms always. */
    unsigned (*wake_ms_now)(void *state);

    /* Once a second: lines to add to the statistics overlay (text) and key=value lines for
     * app:statsFile (kv), each NUL-terminated. May be NULL. */
    void (*stats)(void *state, char *text, size_t text_size, char *kv, size_t kv_size);
};

/* The hooks of this build (one definition is linked in). */
extern const struct sg_input_hooks sg_input_hooks;

/* ------------------------------------------------- what the hooks may use */

SDL_Window *sg_app_window(struct sg_app *app);
void sg_app_get_view(struct sg_app *app, struct sg_view *out);
void sg_app_get_guest_cursor(struct sg_app *app, struct sg_guest_cursor *out);
/* True when a host session is up and it advertised feature bit 0
 * (SET_CURSOR_POS, kvmfr.md §3.2). */
bool sg_app_can_set_cursor_pos(struct sg_app *app);
/* Ask the host to put the guest hotspot at (x, y) (guest coordinates). Never
 * blocks: the session thread sends the LGMP client message on the cursor
 * queue and polls the acknowledgement; on_cursor_pos_done reports the result
 * later on the main thread. Returns a request id (never 0), or 0 when it
 * cannot be sent now (no session, feature not advertised). */
uint32_t sg_app_set_cursor_pos(struct sg_app *app, int32_t x, int32_t y);
/* Value of an option the hooks registered, e.g. ("spice", "host"); NULL if
 * unknown. Options are declared in the hooks' `options` table below. */
const char *sg_app_option(struct sg_app *app, const char *section, const char *key);
/* Wake the event loop from any thread (on_tick runs soon after). */
void sg_app_wake(struct sg_app *app);
/* Show a short notice in the window for a few seconds (e.g. "input captured"). */
void sg_app_notice(struct sg_app *app, const char *text);
/* A small lasting label in the window's top-right corner (e.g. "MIC ON" while the guest
 * records the microphone); NULL or "" removes it. */
void sg_app_set_indicator(struct sg_app *app, const char *text);
/* One sample for the latency graphs' audio panel (shown while samples come): the latency a
 * guest sound block found buffered, at t_ns (sg_time_ns). */
void sg_app_graph_audio(struct sg_app *app, uint64_t t_ns, double ms);

/* Options the hooks add to the command line / INI files (section:key=value),
 * listed by --help. Terminated by an entry whose section is NULL. */
struct sg_input_option {
    const char *section, *key;
    const char *def; /* default value as text, or NULL for none */
    const char *help;
};
extern const struct sg_input_option sg_input_options[];
