/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
#include "shm.h"

/* Each opener fills shm->fd/size/kind/path and returns 0, or -1 with err set. */
int sg_shm_open_file(struct sg_shm *shm, const char *path, const struct sg_shm_open_opts *opts, char *err,
                     size_t err_size);
int sg_shm_open_kvmfr(struct sg_shm *shm, const char *path, const struct sg_shm_open_opts *opts, char *err,
                      size_t err_size);
int sg_shm_open_ivshmem(struct sg_shm *shm, unsigned index, const struct sg_shm_open_opts *opts, char *err,
                        size_t err_size);
/* "PATH: what went wrong (hint)" for an errno from open(). */
void sg_shm_open_error(const char *path, int errnum, char *err, size_t err_size);
