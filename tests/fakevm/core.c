/* The SPICE server's event-loop interface implemented on a GLib main context. */
#include "fakevm.h"

struct SpiceTimer {
    SpiceTimerFunc func;
    void *opaque;
    GSource *source;
};

struct SpiceWatch {
    int fd;
    int mask;
    SpiceWatchFunc func;
    void *opaque;
    GSource *source;
};

static gboolean timer_fire(gpointer data)
{
    SpiceTimer *t = data;
    g_source_unref(t->source);
    t->source = NULL;
    t->func(t->opaque);
    return G_SOURCE_REMOVE;
}

static SpiceTimer *timer_add(SpiceTimerFunc func, void *opaque)
{
    SpiceTimer *t = g_new0(SpiceTimer, 1);
    t->func = func;
    t->opaque = opaque;
    return t;
}

static void timer_cancel(SpiceTimer *t)
{
    if (t->source) {
        g_source_destroy(t->source);
        g_source_unref(t->source);
        t->source = NULL;
    }
}

static void timer_start(SpiceTimer *t, uint32_t ms)
{
    timer_cancel(t);
    t->source = g_timeout_source_new(ms);
    g_source_set_callback(t->source, timer_fire, t, NULL);
    g_source_attach(t->source, NULL);
}

static void timer_remove(SpiceTimer *t)
{
    timer_cancel(t);
    g_free(t);
}

static gboolean watch_fire(gint fd, GIOCondition cond, gpointer data)
{
    SpiceWatch *w = data;
    int ev = 0;
    if (cond & (G_IO_IN | G_IO_HUP | G_IO_ERR))
        ev |= SPICE_WATCH_EVENT_READ;
    if (cond & G_IO_OUT)
        ev |= SPICE_WATCH_EVENT_WRITE;
    /* The server may remove or re-mask the watch from inside the callback. */
    ev &= w->mask | ((cond & (G_IO_HUP | G_IO_ERR)) ? (SPICE_WATCH_EVENT_READ | SPICE_WATCH_EVENT_WRITE) : 0);
    if (ev)
        w->func(fd, ev, w->opaque);
    return G_SOURCE_CONTINUE;
}

static void watch_arm(SpiceWatch *w)
{
    if (w->source) {
        g_source_destroy(w->source);
        g_source_unref(w->source);
        w->source = NULL;
    }
    GIOCondition cond = 0;
    if (w->mask & SPICE_WATCH_EVENT_READ)
        cond |= G_IO_IN;
    if (w->mask & SPICE_WATCH_EVENT_WRITE)
        cond |= G_IO_OUT;
    if (!cond)
        return;
    w->source = g_unix_fd_source_new(w->fd, cond);
    g_source_set_callback(w->source, (GSourceFunc)(void (*)(void))watch_fire, w, NULL);
    g_source_attach(w->source, NULL);
}

static SpiceWatch *watch_add(int fd, int mask, SpiceWatchFunc func, void *opaque)
{
    SpiceWatch *w = g_new0(SpiceWatch, 1);
    w->fd = fd;
    w->mask = mask;
    w->func = func;
    w->opaque = opaque;
    watch_arm(w);
    return w;
}

static void watch_update_mask(SpiceWatch *w, int mask)
{
    if (w->mask == mask)
        return;
    w->mask = mask;
    watch_arm(w);
}

static void watch_remove(SpiceWatch *w)
{
    w->mask = 0;
    watch_arm(w);
    g_free(w);
}

static void channel_event(int event, SpiceChannelEventInfo *info)
{
    static const char *const names[] = {"?", "connected", "initialized", "disconnected"};
    if (event == SPICE_CHANNEL_EVENT_INITIALIZED || event == SPICE_CHANNEL_EVENT_DISCONNECTED)
        fvm_log(1, "channel type %d id %d %s", info->type, info->id,
                event >= 1 && event <= 3 ? names[event] : "?");
}

SpiceCoreInterface *fvm_core_get(void)
{
    static SpiceCoreInterface core = {
        .base =
            {
                .type = SPICE_INTERFACE_CORE,
                .description = "spyglass-fakevm glib core",
                .major_version = SPICE_INTERFACE_CORE_MAJOR,
                .minor_version = SPICE_INTERFACE_CORE_MINOR,
            },
        .timer_add = timer_add,
        .timer_start = timer_start,
        .timer_cancel = timer_cancel,
        .timer_remove = timer_remove,
        .watch_add = watch_add,
        .watch_update_mask = watch_update_mask,
        .watch_remove = watch_remove,
        .channel_event = channel_event,
    };
    return &core;
}
