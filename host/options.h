/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * spyglass-host settings: defaults, then /etc/spyglass/host.ini, then
 * $XDG_CONFIG_HOME (or ~/.config)/spyglass/host.ini, then --config FILE,
 * then the command line. Backend options live in a section named after the
 * backend ([x11] display=:1) or on the command line as -o x11:display=:1.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "capture.h"
#include "sg_log.h"

#define SG_HOST_MAX_BACKENDS 8
#define SG_HOST_MAX_BACKEND_OPTS 8

struct sg_host_options {
    char region[512];
    char capture[32];
    uint32_t fps;      /* frame-rate cap, 0 = none */
    uint32_t size_mib; /* size of a region file created because it is missing */
    enum sg_log_level log_level;
    char trace[512]; /* debug timestamps file (sg_trace.h), empty = none */
    bool help, version;
    /* values of every backend option, in sg_capture_backends[] order */
    char *values[SG_HOST_MAX_BACKENDS][SG_HOST_MAX_BACKEND_OPTS];
};

/* 0 on success; -1 with a one-line message (naming the file and line, or the
 * argument, at fault). Call sg_host_options_finish in both cases. */
int sg_host_options_parse(struct sg_host_options *o, int argc, char **argv, char *err, size_t err_size);
void sg_host_options_finish(struct sg_host_options *o);
void sg_host_options_help(FILE *out, const char *argv0);
/* The option values for impl, as its create() wants them. */
const char *const *sg_host_options_backend(const struct sg_host_options *o,
                                           const struct sg_capture_impl *impl);
/* Apply one "section:key=value" or (section, key, value) setting. */
int sg_host_options_set(struct sg_host_options *o, const char *section, const char *key, const char *value,
                        char *err, size_t err_size);
