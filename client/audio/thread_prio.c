/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "thread_prio.h"

#include <errno.h>
#include <sched.h>
#include <gio/gio.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static bool rtkit(const char *method, GVariant *args, GError **err)
{
    GDBusConnection *bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, err);
    if (!bus) {
        g_variant_unref(g_variant_ref_sink(args));
        return false;
    }
    GVariant *ret = g_dbus_connection_call_sync(
        bus, "org.freedesktop.RealtimeKit1", "/org/freedesktop/RealtimeKit1", "org.freedesktop.RealtimeKit1",
        method, args, NULL, G_DBUS_CALL_FLAGS_NONE, 500, NULL, err);
    g_object_unref(bus);
    if (ret)
        g_variant_unref(ret);
    return ret != NULL;
}

enum sg_prio sg_thread_raise_priority(int rt_prio, int nice, char *why, size_t why_size)
{
    pid_t tid = (pid_t)syscall(SYS_gettid);
    /* Real-time first, as desktop sound clients get it (a thread that only ever waits for
     * the network and writes small blocks; reset on fork so no child inherits it). */
    struct sched_param sp = {.sched_priority = rt_prio};
    if (sched_setscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, &sp) == 0)
        return SG_PRIO_REALTIME;
    int rt_err = errno;
    GError *err = NULL;
    if (rtkit("MakeThreadRealtime", g_variant_new("(tu)", (guint64)tid, (guint32)rt_prio), &err))
        return SG_PRIO_REALTIME;
    g_clear_error(&err);
    /* On Linux a thread has its own nice level, set through its thread id. */
    if (setpriority(PRIO_PROCESS, (id_t)tid, nice) == 0)
        return SG_PRIO_NICE;
    int nice_err = errno;
    if (rtkit("MakeThreadHighPriority", g_variant_new("(ti)", (guint64)tid, (gint32)nice), &err))
        return SG_PRIO_NICE;
    snprintf(why, why_size, "real-time: %s; nice: %s; rtkit: %s", strerror(rt_err), strerror(nice_err),
             err ? err->message : "?");
    g_clear_error(&err);
    return SG_PRIO_NONE;
}
