/* The fake VM's X connection and its event pump inside the GLib loop. */
#include "fakevm.h"

struct fvm_x {
    Display *dpy;
    guint fd_watch;
    guint drain_timer;
    void (*on_event)(XEvent *ev, void *opaque);
    void *opaque;
};

static void drain(struct fvm_x *x)
{
    while (XPending(x->dpy)) {
        XEvent ev;
        XNextEvent(x->dpy, &ev);
        if (x->on_event)
            x->on_event(&ev, x->opaque);
    }
}

static gboolean on_fd(gint fd, GIOCondition cond, gpointer data)
{
    struct fvm_x *x = data;
    if (cond & (G_IO_HUP | G_IO_ERR)) {
        fvm_log(0, "the X display went away; stopping");
        exit(1);
    }
    drain(x);
    return G_SOURCE_CONTINUE;
}

/* Round trips made elsewhere can leave events queued inside Xlib with nothing left to read on the fd. */
static gboolean on_drain_timer(gpointer data)
{
    drain(data);
    return G_SOURCE_CONTINUE;
}

static int io_error(Display *dpy)
{
    fvm_log(0, "lost the X display %s; stopping", DisplayString(dpy));
    exit(1);
}

struct fvm_x *fvm_x_create(const char *display_name)
{
    Display *dpy = XOpenDisplay(display_name);
    if (!dpy) {
        fvm_log(0, "cannot open X display '%s'", display_name ? display_name : g_getenv("DISPLAY") ?: "(unset)");
        return NULL;
    }
    XSetIOErrorHandler(io_error);
    struct fvm_x *x = g_new0(struct fvm_x, 1);
    x->dpy = dpy;
    x->fd_watch = g_unix_fd_add(ConnectionNumber(dpy), G_IO_IN | G_IO_HUP | G_IO_ERR, on_fd, x);
    x->drain_timer = g_timeout_add(20, on_drain_timer, x);
    return x;
}

void fvm_x_set_handler(struct fvm_x *x, void (*fn)(XEvent *ev, void *opaque), void *opaque)
{
    x->on_event = fn;
    x->opaque = opaque;
}

void fvm_x_destroy(struct fvm_x *x)
{
    if (!x)
        return;
    g_source_remove(x->fd_watch);
    g_source_remove(x->drain_timer);
    XCloseDisplay(x->dpy);
    g_free(x);
}

Display *fvm_x_display(struct fvm_x *x)
{
    return x->dpy;
}
