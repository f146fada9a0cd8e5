/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "guest_drm.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

const char *guest_name = "sg-guest";

void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s: ", guest_name);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
}

void die(const char *what)
{
    say("FAILED %s: %s", what, strerror(errno));
    exit(1);
}

void make_dumb(int fd, struct dumb *d, uint32_t w, uint32_t h, uint32_t format)
{
    struct drm_mode_create_dumb c = {.width = w, .height = h, .bpp = 32};
    if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c))
        die("CREATE_DUMB");
    struct drm_mode_map_dumb m = {.handle = c.handle};
    if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m))
        die("MAP_DUMB");
    d->w = w;
    d->h = h;
    d->pitch = c.pitch;
    d->handle = c.handle;
    d->size = c.size;
    d->map = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)m.offset);
    if (d->map == MAP_FAILED)
        die("mmap dumb");
    uint32_t handles[4] = {c.handle}, pitches[4] = {c.pitch}, offsets[4] = {0};
    if (format && drmModeAddFB2(fd, w, h, format, handles, pitches, offsets, &d->fb, 0))
        die("ADDFB2");
}

void become_master(int fd)
{
    for (int i = 0; drmSetMaster(fd); i++) {
        if (errno != EBUSY || i >= 100)
            die("drmSetMaster");
        usleep(100000);
    }
}
