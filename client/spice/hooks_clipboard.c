/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The clipboard side of the SPICE input hooks. The guest's copies arrive on the SPICE thread and
 * wait in a mailbox (struct hooks' mu and guest_* fields) until the main thread's tick puts them in
 * the local clipboard: text through SDL, images through clipboard_x11.c on X11, which SDL2 lacks.
 * Local text copies go to the guest; what came from the guest is not echoed back. */
#include "hooks.h"
#ifdef SG_HAVE_CLIPX
#include "spice/clipboard_x11.h"
#endif

#include <stdlib.h>
#include <string.h>

#include "sg_log.h"

/* ------------------------------------------------------------ SPICE thread side */

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
        struct sg_clipx_callbacks cb = {.opaque = h, .on_local_png = cb_local_png};
        enum sg_clipx_error err;
        h->clipx = sg_clipx_create(NULL, &cb, &err);
        if (h->clipx)
            return true;
        LOG_W("image clipboard unavailable (%s, DISPLAY=%s); text only", sg_clipx_error_str(err),
              getenv("DISPLAY") ? getenv("DISPLAY") : "(unset)");
        return false;
    }
    LOG_W("image clipboard unavailable: the window is not on X11 (SDL video driver %s); "
          "text only",
          driver ? driver : "none");
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

void sg_hooks_clipboard_init(struct hooks *h)
{
    pthread_mutex_init(&h->mu, NULL);
}

void sg_hooks_clipboard_callbacks(struct hooks *h, struct sg_spice_callbacks *cb)
{
    cb->on_guest_clipboard_text = cb_clip_text;
    /* Decided before SPICE starts: without the module guest images are reported once and ignored. */
    bool images = false;
#ifdef SG_HAVE_CLIPX
    const char *driver = SDL_GetCurrentVideoDriver();
    images = h->clipboard && driver && strcmp(driver, "x11") == 0;
#endif
    if (images)
        cb->on_guest_clipboard_image = cb_clip_image;
}

void sg_hooks_clipboard_start(struct hooks *h)
{
    SDL_AddEventWatch(clip_watch, h);
    start_image_clipboard(h);
}

void sg_hooks_clipboard_stop(struct hooks *h)
{
    if (h->clipboard)
        SDL_DelEventWatch(clip_watch, h);
#ifdef SG_HAVE_CLIPX
    sg_clipx_destroy(h->clipx); /* before SPICE goes: its thread offers local images through h->spice */
    h->clipx = NULL;
#endif
}

void sg_hooks_clipboard_finish(struct hooks *h)
{
    free(h->guest_image);
    pthread_mutex_destroy(&h->mu);
    free(h->guest_text);
    free(h->last_from_guest);
}

void sg_hooks_clipboard_tick(struct hooks *h)
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
