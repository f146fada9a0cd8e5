/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "keybindings.h"

#include <stdio.h>

const struct sg_key_binding sg_key_bindings[] = {
    {SDLK_q, SG_KEY_QUIT, "Q      quit"},
    {SDLK_f, SG_KEY_FULLSCREEN, "F      full screen on/off"},
    {SDLK_o, SG_KEY_STATS, "O, I   statistics overlay on/off"},
    {SDLK_i, SG_KEY_STATS, NULL},
    {SDLK_g, SG_KEY_GRAPHS,
     "G      latency graphs on/off (frame interval, frame and cursor age, render time, sound buffer)"},
    {SDLK_h, SG_KEY_HELP, "H      this help on/off"},
    {SDLK_s, SG_KEY_SCREENSHOT, "S      save the guest frame as PNG (app:screenshotDir)"},
    {0, SG_KEY_NONE, NULL},
};

void sg_keys_init(struct sg_keys *k, SDL_Scancode escape)
{
    *k = (struct sg_keys){.escape = escape};
}

void sg_keys_reset(struct sg_keys *k)
{
    k->held = false;
    k->used = false;
}

enum sg_keys_result sg_keys_feed(struct sg_keys *k, const SDL_KeyboardEvent *ev, enum sg_key_cmd *cmd,
                                 SDL_Keycode *key)
{
    bool down = ev->type == SDL_KEYDOWN;
    if (ev->keysym.scancode == k->escape) {
        if (down && !ev->repeat) {
            k->held = true;
            k->used = false;
        } else if (!down) {
            bool tap = k->held && !k->used;
            k->held = false;
            if (tap) {
                *key = ev->keysym.sym;
                return SG_KEYS_ESCAPE_TAP;
            }
        }
        return SG_KEYS_CONSUMED;
    }
    if (!k->held)
        return SG_KEYS_PASS;
    if (!down || ev->repeat)
        return SG_KEYS_CONSUMED;
    k->used = true;
    for (const struct sg_key_binding *b = sg_key_bindings; b->key; b++)
        if (b->key == ev->keysym.sym) {
            *cmd = b->cmd;
            return SG_KEYS_COMMAND;
        }
    *key = ev->keysym.sym;
    return SG_KEYS_UNBOUND;
}

void sg_keys_help(const char *escape_name, const char *const *extra, char *out, size_t out_size)
{
    size_t len =
        (size_t)snprintf(out, out_size, "Key bindings: hold the escape key (%s) and press\n", escape_name);
    for (const struct sg_key_binding *b = sg_key_bindings; b->key && len < out_size; b++)
        if (b->help)
            len += (size_t)snprintf(out + len, out_size - len, "  %s\n", b->help);
    for (const char *const *l = extra; l && *l && len < out_size; l++)
        len += (size_t)snprintf(out + len, out_size - len, "  %s\n", *l);
}
