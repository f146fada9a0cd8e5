/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The escape key (Scroll Lock by default): held, it turns the next key press
 * into a viewer command instead of guest input. A tap of the escape key alone
 * is reported too (the input hooks use it to toggle capture).
 */
#include <SDL.h>
#include <stdbool.h>
#include <stddef.h>

enum sg_key_cmd {
    SG_KEY_NONE = 0,
    SG_KEY_QUIT,
    SG_KEY_FULLSCREEN,
    SG_KEY_STATS,
    SG_KEY_HELP,
    SG_KEY_SCREENSHOT,
    SG_KEY_GRAPHS,
};

struct sg_key_binding {
    SDL_Keycode key;
    enum sg_key_cmd cmd;
    const char *help; /* "Q      quit" */
};
/* The viewer's bindings, terminated by { 0 }. */
extern const struct sg_key_binding sg_key_bindings[];

enum sg_keys_result {
    SG_KEYS_PASS,       /* not ours: hand the event to the input hooks */
    SG_KEYS_CONSUMED,   /* the escape key itself, or a key released while it is held */
    SG_KEYS_COMMAND,    /* escape + a bound key: *cmd set */
    SG_KEYS_UNBOUND,    /* escape + a key the viewer does not bind: *key set (for the hooks) */
    SG_KEYS_ESCAPE_TAP, /* the escape key went down and up with nothing in between */
};

struct sg_keys {
    SDL_Scancode escape;
    bool held, used;
};

void sg_keys_init(struct sg_keys *k, SDL_Scancode escape);
/* Feed an SDL_KEYDOWN/SDL_KEYUP event. */
enum sg_keys_result sg_keys_feed(struct sg_keys *k, const SDL_KeyboardEvent *ev, enum sg_key_cmd *cmd,
                                 SDL_Keycode *key);
/* Focus lost: the escape key's release may never arrive. */
void sg_keys_reset(struct sg_keys *k);
/* Help text: a header naming the escape key, one line per binding, then the
 * extra lines (NULL-terminated, may be NULL). */
void sg_keys_help(const char *escape_name, const char *const *extra, char *out, size_t out_size);
