/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside a Linux guest: QEMU's IVSHMEM device is PCI 1af4:1110 and the shared
 * memory is its BAR 2, mapped through sysfs resource2. The PCI address moves
 * with the machine's device list, so the device is found by id, not by path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm_internal.h"

#define IVSHMEM_VENDOR 0x1af4
#define IVSHMEM_DEVICE 0x1110

static long read_hex_file(const char *dir, const char *name)
{
    char p[512], buf[32];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "r");
    if (!f)
        return -1;
    long v = -1;
    if (fgets(buf, sizeof(buf), f))
        v = strtol(buf, NULL, 0);
    fclose(f);
    return v;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int sg_shm_find_ivshmem(const char *sysfs_root, unsigned index, char *dir, size_t dir_size)
{
    char base[256];
    snprintf(base, sizeof(base), "%s/bus/pci/devices", sysfs_root ? sysfs_root : "/sys");
    DIR *d = opendir(base);
    if (!d)
        return -1;
    char *names[256];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 256) {
        if (e->d_name[0] == '.')
            continue;
        char dev[512];
        snprintf(dev, sizeof(dev), "%s/%s", base, e->d_name);
        if (read_hex_file(dev, "vendor") == IVSHMEM_VENDOR && read_hex_file(dev, "device") == IVSHMEM_DEVICE)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    /* sysfs names are domain:bus:dev.fn, so sorting them sorts by PCI address */
    qsort(names, n, sizeof(names[0]), cmp_names);
    int found = -1;
    if (index < n) {
        snprintf(dir, dir_size, "%s/%s", base, names[index]);
        found = 0;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return found;
}

int sg_shm_open_ivshmem(struct sg_shm *shm, unsigned index, const struct sg_shm_open_opts *opts, char *err,
                        size_t err_size)
{
    char dir[384];
    shm->kind = SG_SHM_IVSHMEM;
    if (sg_shm_find_ivshmem("/sys", index, dir, sizeof(dir)) < 0) {
        snprintf(shm->path, sizeof(shm->path), "ivshmem:%u", index);
        snprintf(err, err_size,
                 "ivshmem:%u: no IVSHMEM PCI device (1af4:1110) number %u found in /sys/bus/pci", index,
                 index);
        return -1;
    }
    /* A device nobody enabled answers reads of its BAR with all ones. */
    char enable[448];
    snprintf(enable, sizeof(enable), "%s/enable", dir);
    if (read_hex_file(dir, "enable") == 0) {
        int fd = open(enable, O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            if (write(fd, "1", 1) < 0) { /* not fatal: the mmap below says what is wrong */
            }
            close(fd);
        }
    }
    snprintf(shm->path, sizeof(shm->path), "%s/resource2", dir);
    shm->fd = open(shm->path, (opts->read_only ? O_RDONLY : O_RDWR) | O_SYNC | O_CLOEXEC);
    if (shm->fd < 0) {
        sg_shm_open_error(shm->path, errno, err, err_size);
        return -1;
    }
    struct stat st;
    if (fstat(shm->fd, &st) < 0) {
        snprintf(err, err_size, "%s: cannot stat: %s", shm->path, strerror(errno));
        return -1;
    }
    shm->size = (size_t)st.st_size;
    return 0;
}
