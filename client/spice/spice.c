/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The SPICE connection on its own GLib thread (see spice.h). */
#include "spice.h"

#include <spice-client.h>
#include <spice/vd_agent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "sg_log.h"

enum cmd_type {
    CMD_KEY,
    CMD_MOTION,
    CMD_BUTTON,
    CMD_WHEEL,
    CMD_LOCKS,
    CMD_RELEASE_ALL,
    CMD_CLIP_OFFER,
    CMD_FLUSH
};

struct cmd {
    enum cmd_type type;
    int a, b;           /* key: scancode, down; motion: dx, dy; button: button, down; wheel: clicks; locks */
    char *text;         /* CMD_CLIP_OFFER: the bytes (text NUL-terminated) */
    size_t len;         /* CMD_CLIP_OFFER */
    uint32_t clip_type; /* CMD_CLIP_OFFER: VD_AGENT_CLIPBOARD_* */
    uint64_t seq;       /* CMD_FLUSH */
};

struct sg_spice {
    struct sg_spice_config cfg; /* strings owned */
    struct sg_spice_callbacks cb;
    GThread *thread;
    GMainLoop *loop;

    GMutex lock; /* guards queue, drain_scheduled, flush_* */
    GCond flushed;
    GQueue queue;
    bool drain_scheduled;
    uint64_t flush_next, flush_done;

    _Atomic int state;
    _Atomic bool agent;

    /* SPICE thread only. */
    SpiceSession *session;
    SpiceMainChannel *main;
    SpiceInputsChannel *inputs;
    guint retry_timer;
    bool restarting;
    bool stopping;
    uint32_t buttons; /* SPICE button mask currently pressed */
    uint8_t keys_down[0x200 / 8];
    int want_locks;  /* -1 = none asked yet */
    char *clip_data; /* what the client last offered */
    size_t clip_len;
    uint32_t clip_type; /* its VD_AGENT_CLIPBOARD_* type */
    bool no_agent_said;
    bool images_said;
    char down_said[256]; /* the reason last logged for SG_SPICE_DOWN */
};

const char *sg_spice_state_str(enum sg_spice_state st)
{
    switch (st) {
    case SG_SPICE_CONNECTING:
        return "connecting";
    case SG_SPICE_CONNECTED:
        return "connected";
    case SG_SPICE_DOWN:
        return "down";
    case SG_SPICE_AUTH_FAILED:
        return "password refused";
    }
    return "?";
}

static const char *where(struct sg_spice *s, char *buf, size_t n)
{
    if (s->cfg.unix_path)
        snprintf(buf, n, "unix:%s", s->cfg.unix_path);
    else
        snprintf(buf, n, "%s:%d", s->cfg.host, s->cfg.port);
    return buf;
}

static void set_state(struct sg_spice *s, enum sg_spice_state st, const char *detail)
{
    int old = atomic_exchange(&s->state, (int)st);
    char w[300];
    if (old == (int)st) {
        /* Still down, for another reason (the socket appeared but refuses, or went away): worth one
         * more line, since the reason is what the user acts on. The same reason again is not. */
        if (st == SG_SPICE_DOWN && detail && strcmp(detail, s->down_said)) {
            LOG_I("spice: SPICE server at %s is still down, now: %s; retrying", where(s, w, sizeof(w)),
                  detail);
            snprintf(s->down_said, sizeof(s->down_said), "%s", detail);
        }
        return;
    }
    switch (st) {
    case SG_SPICE_CONNECTED:
        LOG_I("spice: connected to %s (keyboard and relative mouse)", where(s, w, sizeof(w)));
        s->down_said[0] = 0;
        break;
    case SG_SPICE_DOWN:
        snprintf(s->down_said, sizeof(s->down_said), "%s", detail ? detail : "");
        LOG_I("spice: SPICE server at %s is down (%s); input is not sent, retrying every %u ms",
              where(s, w, sizeof(w)), detail, s->cfg.retry_ms);
        break;
    case SG_SPICE_AUTH_FAILED:
        LOG_I("spice: the SPICE server at %s refused the password", where(s, w, sizeof(w)));
        break;
    case SG_SPICE_CONNECTING:
        break;
    }
    if (s->cb.on_state)
        s->cb.on_state(s->cb.opaque, st, detail);
}

/* ------------------------------------------------------------ SPICE thread */

static void start_session(struct sg_spice *s);

static bool is_audio(struct sg_spice *s, gpointer ch)
{
    return s->cfg.audio && s->cb.on_channel && (SPICE_IS_PLAYBACK_CHANNEL(ch) || SPICE_IS_RECORD_CHANNEL(ch));
}

static void drop_session(struct sg_spice *s)
{
    if (!s->session)
        return;
    SpiceSession *session = s->session;
    s->session = NULL;
    s->main = NULL;
    s->inputs = NULL;
    g_signal_handlers_disconnect_by_data(session, s);
    GList *chans = spice_session_get_channels(session);
    for (GList *l = chans; l; l = l->next) {
        g_signal_handlers_disconnect_by_data(l->data, s);
        if (is_audio(s, l->data))
            s->cb.on_channel(s->cb.channel_opaque, l->data, false);
    }
    g_list_free(chans);
    spice_session_disconnect(session);
    g_object_unref(session);
    s->buttons = 0;
    memset(s->keys_down, 0, sizeof(s->keys_down));
    atomic_store(&s->agent, false);
}

static gboolean retry_fire(gpointer data)
{
    struct sg_spice *s = data;
    s->retry_timer = 0;
    start_session(s);
    return G_SOURCE_REMOVE;
}

static gboolean restart_idle(gpointer data)
{
    struct sg_spice *s = data;
    s->restarting = false;
    drop_session(s);
    if (!s->stopping && !s->retry_timer)
        s->retry_timer = g_timeout_add(s->cfg.retry_ms, retry_fire, s);
    return G_SOURCE_REMOVE;
}

/* Called from signal handlers: the session is torn down outside them. */
static void schedule_restart(struct sg_spice *s, enum sg_spice_state st, const char *why)
{
    set_state(s, st, why);
    if (s->restarting || s->stopping)
        return;
    s->restarting = true;
    g_idle_add(restart_idle, s);
}

static const char *event_str(SpiceChannelEvent ev)
{
    switch (ev) {
    case SPICE_CHANNEL_OPENED:
        return "opened";
    case SPICE_CHANNEL_SWITCHING:
        return "switching";
    case SPICE_CHANNEL_CLOSED:
        return "closed";
    case SPICE_CHANNEL_ERROR_CONNECT:
        return "cannot connect";
    case SPICE_CHANNEL_ERROR_TLS:
        return "TLS error";
    case SPICE_CHANNEL_ERROR_LINK:
        return "link error";
    case SPICE_CHANNEL_ERROR_AUTH:
        return "authentication failed";
    case SPICE_CHANNEL_ERROR_IO:
        return "I/O error";
    default:
        return "unknown event";
    }
}

static void on_channel_event(SpiceChannel *ch, SpiceChannelEvent ev, gpointer data)
{
    struct sg_spice *s = data;
    if (ev == SPICE_CHANNEL_OPENED) {
        if (SPICE_IS_MAIN_CHANNEL(ch)) {
            /* The guest gets a relative (PS/2-style) mouse only: never client mode. */
            spice_main_channel_request_mouse_mode(SPICE_MAIN_CHANNEL(ch), SPICE_MOUSE_MODE_SERVER);
        } else if (SPICE_IS_INPUTS_CHANNEL(ch)) {
            if (s->want_locks >= 0)
                spice_inputs_channel_set_key_locks(SPICE_INPUTS_CHANNEL(ch), (guint)s->want_locks);
            set_state(s, SG_SPICE_CONNECTED, "opened");
        }
        return;
    }
    if (ev == SPICE_CHANNEL_SWITCHING || ev == SPICE_CHANNEL_NONE)
        return;
    if (SPICE_IS_MAIN_CHANNEL(ch) || SPICE_IS_INPUTS_CHANNEL(ch)) {
        const GError *err = spice_channel_get_error(ch);
        char why[256];
        snprintf(why, sizeof(why), "%s channel: %s%s%s", SPICE_IS_MAIN_CHANNEL(ch) ? "main" : "inputs",
                 event_str(ev), err ? ": " : "", err ? err->message : "");
        schedule_restart(s, ev == SPICE_CHANNEL_ERROR_AUTH ? SG_SPICE_AUTH_FAILED : SG_SPICE_DOWN, why);
    }
}

static void on_agent_update(SpiceMainChannel *main, gpointer data)
{
    struct sg_spice *s = data;
    gboolean connected = FALSE;
    g_object_get(main, "agent-connected", &connected, NULL);
    bool was = atomic_exchange(&s->agent, (bool)connected);
    if (connected && !was) {
        LOG_I("spice: the guest's SPICE agent is connected%s", s->cfg.clipboard ? ": clipboard shared" : "");
        if (s->cfg.clipboard && s->clip_data) {
            guint32 t = s->clip_type;
            spice_main_channel_clipboard_selection_grab(main, VD_AGENT_CLIPBOARD_SELECTION_CLIPBOARD, &t, 1);
        }
    }
}

static gboolean on_clip_grab(SpiceMainChannel *main, guint selection, gpointer types_p, guint ntypes,
                             gpointer data)
{
    struct sg_spice *s = data;
    const guint32 *types = types_p;
    if (selection != VD_AGENT_CLIPBOARD_SELECTION_CLIPBOARD)
        return TRUE;
    bool text = false, image = false, png = false, bmp = false;
    for (guint i = 0; i < ntypes; i++) {
        text |= types[i] == VD_AGENT_CLIPBOARD_UTF8_TEXT;
        image |= types[i] >= VD_AGENT_CLIPBOARD_IMAGE_PNG && types[i] <= VD_AGENT_CLIPBOARD_IMAGE_JPG;
        png |= types[i] == VD_AGENT_CLIPBOARD_IMAGE_PNG;
        bmp |= types[i] == VD_AGENT_CLIPBOARD_IMAGE_BMP;
    }
    if (text) {
        spice_main_channel_clipboard_selection_request(main, selection, VD_AGENT_CLIPBOARD_UTF8_TEXT);
    } else if (image && s->cb.on_guest_clipboard_image && (png || bmp)) {
        /* Fetched at once: the local X selection owner then answers pastes without waiting on SPICE. */
        guint want = png ? VD_AGENT_CLIPBOARD_IMAGE_PNG : VD_AGENT_CLIPBOARD_IMAGE_BMP;
        spice_main_channel_clipboard_selection_request(main, selection, want);
    } else if (image && s->cb.on_guest_clipboard_image) {
        if (!s->images_said)
            LOG_I("spice: the guest copied an image as JPEG or TIFF only; this client takes PNG and BMP");
        s->images_said = true;
    } else if (image) {
        if (!s->images_said)
            LOG_I("spice: the guest copied an image; ignored: the image clipboard is unavailable here (text "
                  "only)");
        s->images_said = true;
        if (s->cb.on_guest_clipboard_other)
            s->cb.on_guest_clipboard_other(s->cb.opaque, "image");
    }
    return TRUE;
}

static void on_clip_data(SpiceMainChannel *main, guint selection, guint type, gpointer bytes, guint size,
                         gpointer data)
{
    struct sg_spice *s = data;
    if (selection != VD_AGENT_CLIPBOARD_SELECTION_CLIPBOARD)
        return;
    bool png = type == VD_AGENT_CLIPBOARD_IMAGE_PNG, bmp = type == VD_AGENT_CLIPBOARD_IMAGE_BMP;
    if ((png || bmp) && s->cb.on_guest_clipboard_image) {
        if (size)
            s->cb.on_guest_clipboard_image(s->cb.opaque, png ? "image/png" : "image/bmp", bytes, size);
        return;
    }
    if (type == VD_AGENT_CLIPBOARD_UTF8_TEXT && s->cb.on_guest_clipboard_text)
        s->cb.on_guest_clipboard_text(s->cb.opaque, bytes, size);
}

static gboolean on_clip_request(SpiceMainChannel *main, guint selection, guint type, gpointer data)
{
    struct sg_spice *s = data;
    /* A type we did not offer gets an empty answer rather than none: the agent waits for one. */
    bool ours = s->clip_data && type == s->clip_type;
    const guchar *bytes = ours ? (const guchar *)s->clip_data : (const guchar *)"";
    spice_main_channel_clipboard_selection_notify(main, selection, type, bytes, ours ? s->clip_len : 0);
    return TRUE;
}

static void on_inputs_modifiers(SpiceInputsChannel *inputs, gpointer data)
{
    struct sg_spice *s = data;
    gint mods = 0;
    g_object_get(inputs, "key-modifiers", &mods, NULL);
    if (s->cb.on_guest_locks)
        s->cb.on_guest_locks(s->cb.opaque, (unsigned)mods);
}

static void on_channel_new(SpiceSession *session, SpiceChannel *ch, gpointer data)
{
    struct sg_spice *s = data;
    if (SPICE_IS_MAIN_CHANNEL(ch)) {
        s->main = SPICE_MAIN_CHANNEL(ch);
        g_signal_connect(ch, "channel-event", G_CALLBACK(on_channel_event), s);
        g_signal_connect(ch, "main-agent-update", G_CALLBACK(on_agent_update), s);
        if (s->cfg.clipboard) {
            g_signal_connect(ch, "main-clipboard-selection-grab", G_CALLBACK(on_clip_grab), s);
            g_signal_connect(ch, "main-clipboard-selection", G_CALLBACK(on_clip_data), s);
            g_signal_connect(ch, "main-clipboard-selection-request", G_CALLBACK(on_clip_request), s);
        }
    } else if (SPICE_IS_INPUTS_CHANNEL(ch)) {
        s->inputs = SPICE_INPUTS_CHANNEL(ch);
        g_signal_connect(ch, "channel-event", G_CALLBACK(on_channel_event), s);
        g_signal_connect(ch, "inputs-modifiers", G_CALLBACK(on_inputs_modifiers), s);
        spice_channel_connect(ch);
    } else if (is_audio(s, ch)) {
        s->cb.on_channel(s->cb.channel_opaque, ch, true);
    }
    /* Display, cursor and the rest stay unconnected: frames come through shared memory. */
}

static void on_channel_destroy(SpiceSession *session, SpiceChannel *ch, gpointer data)
{
    struct sg_spice *s = data;
    if ((SpiceChannel *)s->main == ch)
        s->main = NULL;
    if ((SpiceChannel *)s->inputs == ch)
        s->inputs = NULL;
    if (is_audio(s, ch))
        s->cb.on_channel(s->cb.channel_opaque, ch, false);
}

static void on_disconnected(SpiceSession *session, gpointer data)
{
    schedule_restart(data, SG_SPICE_DOWN, "session disconnected");
}

static void start_session(struct sg_spice *s)
{
    s->session = spice_session_new();
    if (s->cfg.unix_path) {
        g_object_set(s->session, "unix-path", s->cfg.unix_path, NULL);
    } else {
        char port[16];
        snprintf(port, sizeof(port), "%d", s->cfg.port);
        g_object_set(s->session, "host", s->cfg.host, "port", port, NULL);
    }
    if (s->cfg.password)
        g_object_set(s->session, "password", s->cfg.password, NULL);
    g_object_set(s->session, "enable-audio", (gboolean)s->cfg.audio, "enable-usbredir", FALSE,
                 "enable-smartcard", FALSE, NULL);
    g_signal_connect(s->session, "channel-new", G_CALLBACK(on_channel_new), s);
    g_signal_connect(s->session, "channel-destroy", G_CALLBACK(on_channel_destroy), s);
    g_signal_connect(s->session, "disconnected", G_CALLBACK(on_disconnected), s);
    if (!spice_session_connect(s->session))
        schedule_restart(s, SG_SPICE_DOWN, "spice_session_connect failed");
}

static uint32_t button_mask(int button)
{
    switch (button) {
    case SG_SPICE_BUTTON_LEFT:
        return SPICE_MOUSE_BUTTON_MASK_LEFT;
    case SG_SPICE_BUTTON_MIDDLE:
        return SPICE_MOUSE_BUTTON_MASK_MIDDLE;
    case SG_SPICE_BUTTON_RIGHT:
        return SPICE_MOUSE_BUTTON_MASK_RIGHT;
    case SG_SPICE_BUTTON_SIDE:
        return SPICE_MOUSE_BUTTON_MASK_SIDE;
    case SG_SPICE_BUTTON_EXTRA:
        return SPICE_MOUSE_BUTTON_MASK_EXTRA;
    default:
        return 0;
    }
}

static void flush_done(struct sg_spice *s, uint64_t seq)
{
    g_mutex_lock(&s->lock);
    if (seq > s->flush_done)
        s->flush_done = seq;
    g_cond_broadcast(&s->flushed);
    g_mutex_unlock(&s->lock);
}

struct flush_ctx {
    struct sg_spice *s;
    uint64_t seq;
};

static void on_flushed(GObject *src, GAsyncResult *res, gpointer data)
{
    struct flush_ctx *f = data;
    spice_channel_flush_finish(SPICE_CHANNEL(src), res, NULL);
    flush_done(f->s, f->seq);
    g_free(f);
}

static void run_cmd(struct sg_spice *s, struct cmd *c)
{
    SpiceInputsChannel *in = atomic_load(&s->state) == SG_SPICE_CONNECTED ? s->inputs : NULL;
    switch (c->type) {
    case CMD_KEY: {
        unsigned code = (unsigned)c->a & 0x1ff;
        bool is_down = (s->keys_down[code / 8] >> (code % 8)) & 1;
        if (!in || (!c->b && !is_down))
            break;
        if (c->b) {
            s->keys_down[code / 8] |= (uint8_t)(1u << (code % 8));
            spice_inputs_channel_key_press(in, code);
        } else {
            s->keys_down[code / 8] &= (uint8_t) ~(1u << (code % 8));
            spice_inputs_channel_key_release(in, code);
        }
        break;
    }
    case CMD_MOTION:
        if (in && (c->a || c->b))
            spice_inputs_channel_motion(in, c->a, c->b, (gint)s->buttons);
        break;
    case CMD_BUTTON: {
        uint32_t m = button_mask(c->a);
        if (!in || !m || (!c->b && !(s->buttons & m)))
            break;
        if (c->b) {
            spice_inputs_channel_button_press(in, c->a, (gint)s->buttons);
            s->buttons |= m;
        } else {
            spice_inputs_channel_button_release(in, c->a, (gint)s->buttons);
            s->buttons &= ~m;
        }
        break;
    }
    case CMD_WHEEL:
        for (int i = 0; in && i < abs(c->a) && i < 64; i++) {
            int b = c->a < 0 ? SPICE_MOUSE_BUTTON_UP : SPICE_MOUSE_BUTTON_DOWN;
            spice_inputs_channel_button_press(in, b, (gint)s->buttons);
            spice_inputs_channel_button_release(in, b, (gint)s->buttons);
        }
        break;
    case CMD_LOCKS:
        s->want_locks = c->a;
        if (in)
            spice_inputs_channel_set_key_locks(in, (guint)c->a);
        break;
    case CMD_RELEASE_ALL:
        for (unsigned code = 0; in && code < 0x200; code++)
            if ((s->keys_down[code / 8] >> (code % 8)) & 1)
                spice_inputs_channel_key_release(in, code);
        memset(s->keys_down, 0, sizeof(s->keys_down));
        for (int b = 1; in && b <= SG_SPICE_BUTTON_EXTRA; b++)
            if (button_mask(b) & s->buttons) {
                s->buttons &= ~button_mask(b);
                spice_inputs_channel_button_release(in, b, (gint)s->buttons);
            }
        s->buttons = 0;
        break;
    case CMD_CLIP_OFFER:
        g_free(s->clip_data);
        s->clip_data = c->text;
        s->clip_len = c->len;
        s->clip_type = c->clip_type;
        c->text = NULL;
        if (!s->cfg.clipboard)
            break;
        if (!atomic_load(&s->agent)) {
            if (!s->no_agent_said)
                LOG_I("spice: the guest has no SPICE agent (spice-vdagent): the clipboard is not shared");
            s->no_agent_said = true;
            break;
        }
        if (s->main) {
            guint32 t = s->clip_type;
            spice_main_channel_clipboard_selection_grab(s->main, VD_AGENT_CLIPBOARD_SELECTION_CLIPBOARD, &t,
                                                        1);
        }
        break;
    case CMD_FLUSH:
        if (in) {
            struct flush_ctx *f = g_new(struct flush_ctx, 1);
            f->s = s;
            f->seq = c->seq;
            spice_channel_flush_async(SPICE_CHANNEL(in), NULL, on_flushed, f);
        } else {
            flush_done(s, c->seq);
        }
        break;
    }
}

static gboolean drain(gpointer data)
{
    struct sg_spice *s = data;
    GQueue q = G_QUEUE_INIT;
    g_mutex_lock(&s->lock);
    q = s->queue;
    g_queue_init(&s->queue);
    s->drain_scheduled = false;
    g_mutex_unlock(&s->lock);
    struct cmd *c;
    while ((c = g_queue_pop_head(&q))) {
        /* Consecutive motions become one message: the guest sees the same path, SPICE less load. */
        struct cmd *next;
        while (c->type == CMD_MOTION && (next = g_queue_peek_head(&q)) && next->type == CMD_MOTION) {
            c->a += next->a;
            c->b += next->b;
            g_free(g_queue_pop_head(&q));
        }
        run_cmd(s, c);
        g_free(c->text);
        g_free(c);
    }
    return G_SOURCE_REMOVE;
}

static gboolean stop_idle(gpointer data)
{
    struct sg_spice *s = data;
    s->stopping = true;
    drain(s);
    if (s->retry_timer) {
        g_source_remove(s->retry_timer);
        s->retry_timer = 0;
    }
    drop_session(s);
    g_main_loop_quit(s->loop);
    return G_SOURCE_REMOVE;
}

static gpointer thread_main(gpointer data)
{
    struct sg_spice *s = data;
    start_session(s);
    g_main_loop_run(s->loop);
    /* Let libspice finish closing its sockets and coroutines. */
    while (g_main_context_iteration(NULL, FALSE))
        ;
    return NULL;
}

/* --------------------------------------------------------------- any thread */

static void push(struct sg_spice *s, struct cmd *c)
{
    g_mutex_lock(&s->lock);
    g_queue_push_tail(&s->queue, c);
    bool schedule = !s->drain_scheduled;
    s->drain_scheduled = true;
    g_mutex_unlock(&s->lock);
    if (schedule)
        g_idle_add_full(G_PRIORITY_HIGH, drain, s, NULL);
}

static void push_simple(struct sg_spice *s, enum cmd_type type, int a, int b)
{
    if (!s)
        return;
    struct cmd *c = g_new0(struct cmd, 1);
    c->type = type;
    c->a = a;
    c->b = b;
    push(s, c);
}

struct sg_spice *sg_spice_create(const struct sg_spice_config *cfg, const struct sg_spice_callbacks *cb)
{
    struct sg_spice *s = g_new0(struct sg_spice, 1);
    s->cfg = *cfg;
    s->cfg.host = g_strdup(cfg->host ? cfg->host : "127.0.0.1");
    s->cfg.unix_path = g_strdup(cfg->unix_path);
    s->cfg.password = g_strdup(cfg->password);
    if (!s->cfg.port)
        s->cfg.port = 5900;
    if (!s->cfg.retry_ms)
        s->cfg.retry_ms = 1000;
    if (cb)
        s->cb = *cb;
    s->want_locks = -1;
    atomic_init(&s->state, SG_SPICE_CONNECTING);
    atomic_init(&s->agent, false);
    g_mutex_init(&s->lock);
    g_cond_init(&s->flushed);
    g_queue_init(&s->queue);
    /* libspice-client-glib uses the global default context; this thread is its only user. */
    s->loop = g_main_loop_new(NULL, FALSE);
    s->thread = g_thread_new("spice", thread_main, s);
    return s;
}

void sg_spice_destroy(struct sg_spice *s)
{
    if (!s)
        return;
    g_idle_add_full(G_PRIORITY_HIGH, stop_idle, s, NULL);
    g_thread_join(s->thread);
    g_main_loop_unref(s->loop);
    struct cmd *c;
    while ((c = g_queue_pop_head(&s->queue))) {
        g_free(c->text);
        g_free(c);
    }
    g_free(s->clip_data);
    g_free((char *)s->cfg.host);
    g_free((char *)s->cfg.unix_path);
    g_free((char *)s->cfg.password);
    g_mutex_clear(&s->lock);
    g_cond_clear(&s->flushed);
    g_free(s);
}

enum sg_spice_state sg_spice_get_state(struct sg_spice *s)
{
    return s ? (enum sg_spice_state)atomic_load(&s->state) : SG_SPICE_DOWN;
}

bool sg_spice_has_agent(struct sg_spice *s)
{
    return s && atomic_load(&s->agent);
}

void sg_spice_key(struct sg_spice *s, unsigned scancode, bool down)
{
    if (scancode && scancode < 0x200)
        push_simple(s, CMD_KEY, (int)scancode, down);
}

void sg_spice_motion(struct sg_spice *s, int dx, int dy)
{
    if (dx || dy)
        push_simple(s, CMD_MOTION, dx, dy);
}

void sg_spice_button(struct sg_spice *s, enum sg_spice_button button, bool down)
{
    push_simple(s, CMD_BUTTON, (int)button, down);
}

void sg_spice_wheel(struct sg_spice *s, int clicks)
{
    if (clicks)
        push_simple(s, CMD_WHEEL, clicks, 0);
}

void sg_spice_set_locks(struct sg_spice *s, unsigned locks)
{
    push_simple(s, CMD_LOCKS, (int)(locks & 7), 0);
}

void sg_spice_release_all(struct sg_spice *s)
{
    push_simple(s, CMD_RELEASE_ALL, 0, 0);
}

void sg_spice_clipboard_offer_text(struct sg_spice *s, const char *text)
{
    if (!s || !text)
        return;
    struct cmd *c = g_new0(struct cmd, 1);
    c->type = CMD_CLIP_OFFER;
    c->text = g_strdup(text);
    c->len = strlen(text);
    c->clip_type = VD_AGENT_CLIPBOARD_UTF8_TEXT;
    push(s, c);
}

void sg_spice_clipboard_offer_png(struct sg_spice *s, const uint8_t *data, size_t len)
{
    if (!s || !data || !len)
        return;
    struct cmd *c = g_new0(struct cmd, 1);
    c->type = CMD_CLIP_OFFER;
    c->text = g_memdup2(data, len);
    c->len = len;
    c->clip_type = VD_AGENT_CLIPBOARD_IMAGE_PNG;
    push(s, c);
}

bool sg_spice_flush(struct sg_spice *s, unsigned timeout_ms)
{
    if (!s)
        return false;
    struct cmd *c = g_new0(struct cmd, 1);
    c->type = CMD_FLUSH;
    g_mutex_lock(&s->lock);
    c->seq = ++s->flush_next;
    uint64_t seq = c->seq;
    g_mutex_unlock(&s->lock);
    push(s, c);
    gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
    g_mutex_lock(&s->lock);
    bool ok = true;
    while (s->flush_done < seq && ok)
        ok = g_cond_wait_until(&s->flushed, &s->lock, end);
    ok = s->flush_done >= seq;
    g_mutex_unlock(&s->lock);
    return ok;
}
