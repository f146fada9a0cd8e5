/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "shm_internal.h"

void sg_shm_open_error(const char *path, int errnum, char *err, size_t err_size)
{
    const char *hint = "";
    if (errnum == ENOENT)
        hint = " (start the VM or spyglass-host first, or pass the right path with -f)";
    else if (errnum == EACCES || errnum == EPERM)
        hint = " (give your user access, e.g. the systemd-tmpfiles rule in doc/vm-setup.md)";
    snprintf(err, err_size, "%s: %s%s", path, strerror(errnum), hint);
}

static bool is_kvmfr_path(const char *path)
{
    /* Same rule as the B7 client: longer than 8 characters and /dev/kvmfr prefix. */
    return strlen(path) > 8 && strncmp(path, "/dev/kvmfr", 10) == 0;
}

static int parse_ivshmem(const char *path, unsigned *index)
{
    if (strcmp(path, "ivshmem") == 0) {
        *index = 0;
        return 1;
    }
    if (strncmp(path, "ivshmem:", 8) == 0) {
        char *end;
        unsigned long v = strtoul(path + 8, &end, 10);
        if (*end != '\0' || end == path + 8 || v > 255)
            return -1;
        *index = (unsigned)v;
        return 1;
    }
    return 0;
}

int sg_shm_open(struct sg_shm *shm, const struct sg_shm_open_opts *opts, char *err, size_t err_size)
{
    static const struct sg_shm_open_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    memset(shm, 0, sizeof(*shm));
    shm->fd = -1;
    const char *path = opts->path && *opts->path ? opts->path : SG_SHM_DEFAULT_PATH;

    unsigned index;
    int r;
    int iv = parse_ivshmem(path, &index);
    if (iv < 0) {
        snprintf(err, err_size, "%s: bad IVSHMEM device index (use ivshmem or ivshmem:N)", path);
        return -1;
    }
    if (iv)
        r = sg_shm_open_ivshmem(shm, index, opts, err, err_size);
    else if (is_kvmfr_path(path))
        r = sg_shm_open_kvmfr(shm, path, opts, err, err_size);
    else
        r = sg_shm_open_file(shm, path, opts, err, err_size);
    if (r < 0)
        goto fail;

    if (shm->size == 0) {
        snprintf(err, err_size, "%s: region is empty (0 bytes)", shm->path);
        goto fail;
    }
    if (opts->min_size && shm->size < opts->min_size) {
        snprintf(err, err_size, "%s: region is too small: %zu bytes, needs at least %llu", shm->path,
                 shm->size, (unsigned long long)opts->min_size);
        goto fail;
    }
    int prot = PROT_READ | (opts->read_only ? 0 : PROT_WRITE);
    shm->base = mmap(NULL, shm->size, prot, MAP_SHARED, shm->fd, 0);
    if (shm->base == MAP_FAILED) {
        shm->base = NULL;
        snprintf(err, err_size, "%s: cannot map %zu bytes: %s", shm->path, shm->size, strerror(errno));
        goto fail;
    }
    return 0;

fail:
    sg_shm_close(shm);
    return -1;
}

void sg_shm_close(struct sg_shm *shm)
{
    if (!shm)
        return;
    if (shm->base)
        munmap(shm->base, shm->size);
    if (shm->fd >= 0)
        close(shm->fd);
    shm->base = NULL;
    shm->fd = -1;
    shm->size = 0;
}
