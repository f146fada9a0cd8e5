/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spyglass-host: capture the guest screen and publish it for Spyglass / Looking Glass B7 clients. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "capture.h"
#include "sg_log.h"
#include "options.h"
#include "publisher.h"
#include "shm.h"
#include "sg_trace.h"
#include "sysinfo.h"

#ifndef SG_VERSION
#define SG_VERSION "0"
#endif

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static bool is_device_path(const char *p)
{
    return strncmp(p, "ivshmem", 7) == 0 || strncmp(p, "/dev/kvmfr", 10) == 0;
}

int main(int argc, char **argv)
{
    struct sg_host_options o;
    char err[512];
    int status = 1;
    struct sg_capture *cap = NULL;
    struct sg_publisher *pub = NULL;
    struct sg_shm shm = {.fd = -1};
    bool shm_open_ok = false;

    if (sg_host_options_parse(&o, argc, argv, err, sizeof(err)) != 0) {
        LOG_E("%s", err);
        sg_host_options_finish(&o);
        return 2;
    }
    if (o.help) {
        sg_host_options_help(stdout, argv[0]);
        sg_host_options_finish(&o);
        return 0;
    }
    if (o.version) {
        printf("spyglass-host %s (LGMP 6, KVMFR 20)\n", SG_VERSION);
        sg_host_options_finish(&o);
        return 0;
    }
    sg_log_set_level(o.log_level);
    if (o.trace[0] && !sg_trace_open(o.trace, err, sizeof(err))) {
        LOG_E("%s", err);
        sg_host_options_finish(&o);
        return 1;
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    const struct sg_capture_impl *impl = sg_capture_find(o.capture);
    if (sg_capture_create(impl, &cap, sg_host_options_backend(&o, impl), err, sizeof(err)) != 0) {
        LOG_E("capture %s cannot start: %s", impl->name, err);
        goto out;
    }

    /* A region file that does not exist yet is created (a host without a VM:
     * demo, tests); devices and existing files are used as they are. */
    struct sg_shm_open_opts so = {.path = o.region};
    struct stat st;
    if (!is_device_path(o.region) && stat(o.region, &st) != 0 && errno == ENOENT) {
        so.create = true;
        so.create_size = (uint64_t)o.size_mib << 20;
        LOG_I("region %s does not exist: creating it with %u MiB", o.region, o.size_mib);
    }
    if (sg_shm_open(&shm, &so, err, sizeof(err)) != 0) {
        LOG_E("region %s", err);
        goto out;
    }
    shm_open_ok = true;

    struct sg_kvmfr_info info;
    sg_host_sysinfo(&info, impl);
    struct sg_publisher_opts po = {.fps_cap = o.fps, .region_name = o.region};
    if (sg_publisher_create(&pub, shm.base, shm.size, cap, &info, &po, err, sizeof(err)) != 0) {
        LOG_E("%s", err);
        goto out;
    }
    LOG_I("spyglass-host %s: capture %s, region %s (%zu MiB), waiting for clients", SG_VERSION, impl->name,
          o.region, shm.size >> 20);
    if (sg_publisher_run(pub, &stop_flag) == 0) {
        status = 0;
        LOG_I("stopped");
    }
out:
    sg_publisher_destroy(pub);
    sg_capture_destroy(cap);
    if (shm_open_ok)
        sg_shm_close(&shm);
    sg_host_options_finish(&o);
    sg_trace_close();
    return status;
}
