/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm_internal.h"

int sg_shm_open_file(struct sg_shm *shm, const char *path, const struct sg_shm_open_opts *opts, char *err,
                     size_t err_size)
{
    int flags = opts->read_only ? O_RDONLY : O_RDWR;
    if (opts->create && !opts->read_only)
        flags |= O_CREAT;
    snprintf(shm->path, sizeof(shm->path), "%s", path);
    shm->kind = SG_SHM_FILE;
    /* 0660: the region is shared with a user group, never with everybody. */
    shm->fd = open(path, flags | O_CLOEXEC, 0660);
    if (shm->fd < 0) {
        sg_shm_open_error(path, errno, err, err_size);
        return -1;
    }
    struct stat st;
    if (fstat(shm->fd, &st) < 0) {
        snprintf(err, err_size, "%s: cannot stat: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, err_size, "%s: is a directory, not a shared-memory file", path);
        return -1;
    }
    uint64_t size = (uint64_t)st.st_size;
    if (opts->create && opts->create_size && S_ISREG(st.st_mode) && size < opts->create_size) {
        if (ftruncate(shm->fd, (off_t)opts->create_size) < 0) {
            snprintf(err, err_size, "%s: cannot grow to %llu bytes: %s", path,
                     (unsigned long long)opts->create_size, strerror(errno));
            return -1;
        }
        size = opts->create_size;
    }
    if (size > SIZE_MAX) {
        snprintf(err, err_size, "%s: region of %llu bytes cannot be mapped here", path,
                 (unsigned long long)size);
        return -1;
    }
    shm->size = (size_t)size;
    return 0;
}
