/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The keyboard side of the SPICE input hooks: keys as PC AT set-1 scancodes, lock states,
 * releasing held keys, Ctrl+Alt+Fn. Main thread only. */
#include "hooks.h"

#include <string.h>

unsigned sg_hooks_host_locks(struct hooks *h)
{
    SDL_Keymod m = SDL_GetModState();
    /* Scroll Lock is the escape key by default: the guest keeps its own. */
    return ((m & KMOD_CAPS) ? SG_SPICE_LOCK_CAPS : 0) | ((m & KMOD_NUM) ? SG_SPICE_LOCK_NUM : 0) |
           (atomic_load(&h->guest_locks) & SG_SPICE_LOCK_SCROLL);
}

void sg_hooks_release_keys(struct hooks *h)
{
    memset(h->key_down, 0, sizeof(h->key_down));
    sg_spice_release_all(h->spice);
}

bool sg_hooks_on_key(void *state, const SDL_KeyboardEvent *ev)
{
    struct hooks *h = state;
    if (!h || !sg_hooks_active(h))
        return false;
    SDL_Scancode sc = ev->keysym.scancode;
    unsigned code = sg_input_set1_from_sdl(sc);
    if (!code || sc >= SDL_NUM_SCANCODES)
        return false;
    /* A held key is repeated by sending its make code again, as a PS/2 keyboard's typematic repeat
     * does: QEMU's emulated PS/2 keyboard has no repeat of its own and the guest's driver (Linux
     * atkbd, Windows i8042prt) waits for the keyboard's repeats. A USB keyboard's guest ignores them. */
    if (ev->repeat) {
        if (ev->type == SDL_KEYDOWN && h->key_down[sc])
            sg_spice_key(h->spice, code, true);
        return true;
    }
    bool down = ev->type == SDL_KEYDOWN;
    if (!down && !h->key_down[sc])
        return true;
    h->key_down[sc] = down;
    sg_spice_key(h->spice, code, down);
    return true;
}

void sg_hooks_send_ctrl_alt(struct hooks *h, unsigned fkey)
{
    sg_spice_key(h->spice, 0x1d, true);
    sg_spice_key(h->spice, 0x38, true);
    sg_spice_key(h->spice, fkey, true);
    sg_spice_key(h->spice, fkey, false);
    sg_spice_key(h->spice, 0x38, false);
    sg_spice_key(h->spice, 0x1d, false);
}
