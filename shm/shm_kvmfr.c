/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "shm_internal.h"

/* kvmfr.md §2.2: _IO('u', 0x44); the size is the ioctl's return value. */
#define SG_KVMFR_GET_SIZE 0x00007544u

int sg_shm_open_kvmfr(struct sg_shm *shm, const char *path, const struct sg_shm_open_opts *opts, char *err,
                      size_t err_size)
{
    snprintf(shm->path, sizeof(shm->path), "%s", path);
    shm->kind = SG_SHM_KVMFR;
    shm->fd = open(path, (opts->read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (shm->fd < 0) {
        sg_shm_open_error(path, errno, err, err_size);
        return -1;
    }
    long size = ioctl(shm->fd, SG_KVMFR_GET_SIZE);
    if (size < 0) {
        snprintf(err, err_size, "%s: GET_SIZE ioctl failed: %s (is this a kvmfr device?)", path,
                 strerror(errno));
        return -1;
    }
    shm->size = (size_t)size;
    return 0;
}
