/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * How a process maps the shared memory: a file (/dev/shm/looking-glass, the
 * host side of QEMU's ivshmem-plain), the IVSHMEM PCI BAR 2 from inside a
 * Linux guest, or the kvmfr character device.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SG_SHM_DEFAULT_PATH "/dev/shm/looking-glass"

enum sg_shm_kind {
    SG_SHM_FILE,    /* a regular file (or /dev/shm object), size from fstat */
    SG_SHM_KVMFR,   /* /dev/kvmfrN, size from the GET_SIZE ioctl */
    SG_SHM_IVSHMEM, /* guest: sysfs resource2 of PCI 1af4:1110 */
};

struct sg_shm {
    enum sg_shm_kind kind;
    void *base;
    size_t size;
    int fd;
    char path[512]; /* what was mapped, for messages */
};

struct sg_shm_open_opts {
    /* File or device path; "ivshmem" or "ivshmem:N" selects the Nth IVSHMEM
     * device (sorted by PCI address) inside a guest; NULL = default path. */
    const char *path;
    bool create;          /* host: create the file if missing */
    uint64_t create_size; /* host: size it to this (0 = leave as is) */
    uint64_t min_size;    /* refuse a smaller region, naming the size needed */
    bool read_only;       /* inspector on a saved region */
};

/* 0 on success; otherwise -1 with a one-line message naming the path and
 * what is wrong (missing, permissions, too small: needs N bytes, ...). */
int sg_shm_open(struct sg_shm *shm, const struct sg_shm_open_opts *opts, char *err, size_t err_size);
void sg_shm_close(struct sg_shm *shm);

/* Guest side: the sysfs directory of the index-th IVSHMEM device
 * ("/sys/bus/pci/devices/0000:00:03.0"); sysfs_root is "/sys" except in tests. */
int sg_shm_find_ivshmem(const char *sysfs_root, unsigned index, char *dir, size_t dir_size);
