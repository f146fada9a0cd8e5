/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "thread_prio.h"

#include <errno.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

bool sg_thread_raise_priority(int nice, char *why, size_t why_size)
{
    pid_t tid = (pid_t)syscall(SYS_gettid);
    /* On Linux a thread has its own nice level, set through its thread id. */
    if (setpriority(PRIO_PROCESS, (id_t)tid, nice) == 0)
        return true;
    int direct_err = errno;
    GError *err = NULL;
    GDBusConnection *bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &err);
    GVariant *ret = NULL;
    if (bus) {
        ret = g_dbus_connection_call_sync(bus, "org.freedesktop.RealtimeKit1", "/org/freedesktop/RealtimeKit1",
                                          "org.freedesktop.RealtimeKit1", "MakeThreadHighPriority",
                                          g_variant_new("(ti)", (guint64)tid, (gint32)nice), NULL,
                                          G_DBUS_CALL_FLAGS_NONE, 500, NULL, &err);
        g_object_unref(bus);
    }
    if (ret) {
        g_variant_unref(ret);
        return true;
    }
    snprintf(why, why_size, "setpriority: %s; rtkit: %s", strerror(direct_err), err ? err->message : "?");
    g_clear_error(&err);
    return false;
}
