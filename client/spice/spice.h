/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The client's SPICE connection: keyboard, relative mouse, lock keys and the agent
 * clipboard through libspice-client-glib, on a GLib main loop in a thread of its own so
 * SPICE never delays drawing.
 *
 * Every sg_spice_* call below may be made from any thread and never blocks: input is
 * queued and sent, in order, by the SPICE thread. The callbacks in sg_spice_callbacks run
 * on the SPICE thread; they must only copy what they need and hand it over.
 *
 * The connection is kept up: when the server goes away (the VM restarts) the module says
 * so once and retries until it comes back.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sg_spice;

enum sg_spice_state {
    SG_SPICE_CONNECTING,  /* first attempt, or retrying after a failure */
    SG_SPICE_CONNECTED,   /* main and inputs channels open */
    SG_SPICE_DOWN,        /* the server is gone or refused us; retrying */
    SG_SPICE_AUTH_FAILED, /* the password was refused; not retrying */
};
const char *sg_spice_state_str(enum sg_spice_state st);

/* Lock-key bits (SPICE's own values). */
enum {
    SG_SPICE_LOCK_SCROLL = 1 << 0,
    SG_SPICE_LOCK_NUM = 1 << 1,
    SG_SPICE_LOCK_CAPS = 1 << 2,
};

/* Mouse buttons (SPICE's button numbers). */
enum sg_spice_button {
    SG_SPICE_BUTTON_LEFT = 1,
    SG_SPICE_BUTTON_MIDDLE = 2,
    SG_SPICE_BUTTON_RIGHT = 3,
    SG_SPICE_BUTTON_SIDE = 6,
    SG_SPICE_BUTTON_EXTRA = 7,
};

struct sg_spice_config {
    const char *host;      /* TCP host (default "127.0.0.1") when unix_path is NULL */
    int port;              /* TCP port (default 5900 when 0) */
    const char *unix_path; /* unix socket of the SPICE server, or NULL */
    const char *password;  /* or NULL */
    bool clipboard;        /* share the clipboard through the agent */
    unsigned retry_ms;     /* delay between reconnection attempts (default 1000 when 0) */
    bool audio;            /* open the playback and record channels (see on_channel) */
};

struct sg_spice_callbacks {
    void *opaque;
    /* The connection state changed. */
    void (*on_state)(void *opaque, enum sg_spice_state st, const char *detail);
    /* The guest's lock keys changed (SG_SPICE_LOCK_* bits). */
    void (*on_guest_locks)(void *opaque, unsigned locks);
    /* The guest copied text (UTF-8, not NUL-terminated, len bytes). */
    void (*on_guest_clipboard_text)(void *opaque, const char *text, size_t len);
    /* The guest copied something the client cannot take (e.g. only an image): types offered. */
    void (*on_guest_clipboard_other)(void *opaque, const char *what);
    /* The guest copied an image and no text: its bytes, as the agent sent them ("image/png" or
     * "image/bmp"). When NULL, image copies are reported once and ignored. */
    void (*on_guest_clipboard_image)(void *opaque, const char *mime, const uint8_t *data, size_t len);
    /* With cfg.audio: a playback or record channel (a SpiceChannel *) appeared (open = true; the
     * callee connects it) or is going (open = false: server gone or session dropped). */
    void (*on_channel)(void *channel_opaque, void *channel, bool open);
    void *channel_opaque;
};

struct sg_spice *sg_spice_create(const struct sg_spice_config *cfg, const struct sg_spice_callbacks *cb);
/* Disconnects, stops the thread and frees everything. Accepts NULL. */
void sg_spice_destroy(struct sg_spice *s);

enum sg_spice_state sg_spice_get_state(struct sg_spice *s);
/* Whether the guest's agent is connected (clipboard possible). */
bool sg_spice_has_agent(struct sg_spice *s);

/* PC AT set-1 scancode; extended (0xE0-prefixed) keys as 0x100 | code. */
void sg_spice_key(struct sg_spice *s, unsigned scancode, bool down);
/* Relative motion in guest pixels (before any guest acceleration). */
void sg_spice_motion(struct sg_spice *s, int dx, int dy);
void sg_spice_button(struct sg_spice *s, enum sg_spice_button button, bool down);
/* Wheel clicks: negative = up (away from the user), positive = down. */
void sg_spice_wheel(struct sg_spice *s, int clicks);
/* Set the guest's lock keys to these SG_SPICE_LOCK_* bits. */
void sg_spice_set_locks(struct sg_spice *s, unsigned locks);
/* Release every key and button this module has pressed and not released. */
void sg_spice_release_all(struct sg_spice *s);
/* The client's clipboard now holds this UTF-8 text: offer it to the guest. */
void sg_spice_clipboard_offer_text(struct sg_spice *s, const char *text);
/* The client's clipboard now holds this PNG image (and no text): offer it to the guest. */
void sg_spice_clipboard_offer_png(struct sg_spice *s, const uint8_t *data, size_t len);

/* Wait (up to timeout_ms) until everything queued so far was handed to libspice-client
 * and written to the socket. For tests and benchmarks. True when it was. */
bool sg_spice_flush(struct sg_spice *s, unsigned timeout_ms);
