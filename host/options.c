/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "options.h"

#include <getopt.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "shm.h"

#define DEFAULT_CAPTURE_X11 "x11"
#define DEFAULT_CAPTURE "fbdev"
#define DEFAULT_SIZE_MIB 32u

static const char *default_capture(void)
{
    return sg_capture_find(DEFAULT_CAPTURE_X11) ? DEFAULT_CAPTURE_X11 : DEFAULT_CAPTURE;
}

static int backend_index(const struct sg_capture_impl *impl)
{
    for (int i = 0; sg_capture_backends[i]; i++)
        if (sg_capture_backends[i] == impl)
            return i;
    return -1;
}

static int set_uint(const char *name, const char *value, uint32_t max, uint32_t *out, char *err,
                    size_t err_size)
{
    return sg_capture_parse_uint(name, value, max, out, err, err_size);
}

int sg_host_options_set(struct sg_host_options *o, const char *section, const char *key, const char *value,
                        char *err, size_t err_size)
{
    /* [app] with Looking Glass' key names is accepted too */
    if (strcasecmp(section, "host") == 0 || strcasecmp(section, "app") == 0) {
        if (!strcasecmp(key, "region") || !strcasecmp(key, "shmFile")) {
            snprintf(o->region, sizeof(o->region), "%s", value);
            return 0;
        }
        if (!strcasecmp(key, "capture")) {
            if (!sg_capture_find(value)) {
                char list[256] = "";
                for (int i = 0; sg_capture_backends[i]; i++)
                    snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
                             sg_capture_backends[i]->name);
                snprintf(err, err_size, "unknown capture backend '%s' (built in: %s)", value, list);
                return -1;
            }
            snprintf(o->capture, sizeof(o->capture), "%s", value);
            return 0;
        }
        if (!strcasecmp(key, "fps"))
            return set_uint("host:fps", value, 1000, &o->fps, err, err_size);
        if (!strcasecmp(key, "size"))
            return set_uint("host:size", value, 1u << 16, &o->size_mib, err, err_size);
        if (!strcasecmp(key, "traceFile") || !strcasecmp(key, "trace")) {
            snprintf(o->trace, sizeof(o->trace), "%s", value);
            return 0;
        }
        if (!strcasecmp(key, "log-level") || !strcasecmp(key, "logLevel")) {
            if (!sg_log_parse_level(value, &o->log_level)) {
                snprintf(err, err_size, "log level '%s' is not one of error, warn, info, debug", value);
                return -1;
            }
            return 0;
        }
        snprintf(err, err_size, "unknown option %s:%s", section, key);
        return -1;
    }
    const struct sg_capture_impl *impl = sg_capture_find(section);
    if (!impl) {
        snprintf(err, err_size, "unknown section '%s' (host, or a capture backend's name)", section);
        return -1;
    }
    int k = sg_capture_option_index(impl, key), b = backend_index(impl);
    if (k < 0 || b < 0 || k >= SG_HOST_MAX_BACKEND_OPTS) {
        snprintf(err, err_size, "unknown option %s:%s", impl->name, key);
        return -1;
    }
    free(o->values[b][k]);
    o->values[b][k] = strdup(value);
    return 0;
}

static int set_spec(struct sg_host_options *o, const char *spec, char *err, size_t err_size)
{
    const char *colon = strchr(spec, ':'), *eq = strchr(spec, '=');
    if (!colon || !eq || eq < colon) {
        snprintf(err, err_size, "'%s' is not SECTION:KEY=VALUE", spec);
        return -1;
    }
    char section[64], key[64];
    snprintf(section, sizeof(section), "%.*s", (int)(colon - spec), spec);
    snprintf(key, sizeof(key), "%.*s", (int)(eq - colon - 1), colon + 1);
    return sg_host_options_set(o, section, key, eq + 1, err, err_size);
}

struct ini_ctx {
    struct sg_host_options *o;
    char *err;
    size_t err_size;
    bool failed;
};

static int host_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *c = user;
    if (c->failed)
        return 0;
    if (sg_host_options_set(c->o, section[0] ? section : "host", name, value, c->err, c->err_size) != 0) {
        c->failed = true;
        return 0;
    }
    return 1;
}

/* missing_ok: the default locations may not exist. */
static int load_ini(struct sg_host_options *o, const char *path, bool missing_ok, char *err, size_t err_size)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (missing_ok)
            return 0;
        snprintf(err, err_size, "config %s: cannot open", path);
        return -1;
    }
    char msg[256] = "";
    struct ini_ctx c = {o, msg, sizeof(msg), false};
    int line = ini_parse_file(f, host_ini_handler, &c);
    fclose(f);
    if (line != 0) {
        snprintf(err, err_size, "config %s line %d: %s", path, line, msg[0] ? msg : "syntax error");
        return -1;
    }
    return 0;
}

static const struct option long_opts[] = {
    {"region", required_argument, NULL, 'f'},  {"shm-file", required_argument, NULL, 'f'},
    {"capture", required_argument, NULL, 'c'}, {"fps", required_argument, NULL, 'r'},
    {"size", required_argument, NULL, 's'},    {"log-level", required_argument, NULL, 'l'},
    {"config", required_argument, NULL, 'C'},  {"trace", required_argument, NULL, 'T'},
    {"option", required_argument, NULL, 'o'},  {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},       {NULL, 0, NULL, 0},
};
static const char short_opts[] = "f:c:r:s:l:C:o:T:hV";

int sg_host_options_parse(struct sg_host_options *o, int argc, char **argv, char *err, size_t err_size)
{
    memset(o, 0, sizeof(*o));
    snprintf(o->region, sizeof(o->region), "%s", SG_SHM_DEFAULT_PATH);
    snprintf(o->capture, sizeof(o->capture), "%s", default_capture());
    o->size_mib = DEFAULT_SIZE_MIB;
    o->log_level = SG_LOG_INFO;
    for (int b = 0; sg_capture_backends[b] && b < SG_HOST_MAX_BACKENDS; b++)
        for (size_t k = 0;
             k < sg_capture_option_count(sg_capture_backends[b]) && k < SG_HOST_MAX_BACKEND_OPTS; k++)
            o->values[b][k] = strdup(sg_capture_backends[b]->options[k].def);

    /* pass 1: --help and --config, which decide what is read before the rest */
    const char *config = NULL;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
        if (c == 'h')
            o->help = true;
        else if (c == 'V')
            o->version = true;
        else if (c == 'C')
            config = optarg;
    }
    if (o->help || o->version)
        return 0;
    if (load_ini(o, "/etc/spyglass/host.ini", true, err, err_size))
        return -1;
    char path[600];
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(path, sizeof(path), "%s/spyglass/host.ini", xdg);
    else if (home && *home)
        snprintf(path, sizeof(path), "%s/.config/spyglass/host.ini", home);
    else
        path[0] = 0;
    if (path[0] && load_ini(o, path, true, err, err_size))
        return -1;
    if (config && load_ini(o, config, false, err, err_size))
        return -1;

    /* pass 2: the command line wins */
    optind = 1;
    while ((c = getopt_long(argc, argv, short_opts, long_opts, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case 'f':
            rc = sg_host_options_set(o, "host", "region", optarg, err, err_size);
            break;
        case 'c':
            rc = sg_host_options_set(o, "host", "capture", optarg, err, err_size);
            break;
        case 'r':
            rc = sg_host_options_set(o, "host", "fps", optarg, err, err_size);
            break;
        case 's':
            rc = sg_host_options_set(o, "host", "size", optarg, err, err_size);
            break;
        case 'l':
            rc = sg_host_options_set(o, "host", "log-level", optarg, err, err_size);
            break;
        case 'o':
            rc = set_spec(o, optarg, err, err_size);
            break;
        case 'T':
            rc = sg_host_options_set(o, "host", "traceFile", optarg, err, err_size);
            break;
        case 'C':
            break;
        case '?':
        default:
            if (optopt)
                snprintf(err, err_size, "option -%c needs a value or is unknown (see --help)", optopt);
            else
                snprintf(err, err_size, "unknown option '%s' (see --help)", argv[optind - 1]);
            return -1;
        }
        if (rc)
            return -1;
    }
    /* Looking Glass style: positional section:key=value */
    for (int i = optind; i < argc; i++)
        if (set_spec(o, argv[i], err, err_size))
            return -1;
    return 0;
}

void sg_host_options_finish(struct sg_host_options *o)
{
    for (int b = 0; b < SG_HOST_MAX_BACKENDS; b++)
        for (int k = 0; k < SG_HOST_MAX_BACKEND_OPTS; k++) {
            free(o->values[b][k]);
            o->values[b][k] = NULL;
        }
}

const char *const *sg_host_options_backend(const struct sg_host_options *o,
                                           const struct sg_capture_impl *impl)
{
    int b = backend_index(impl);
    return b < 0 ? NULL : (const char *const *)o->values[b];
}

void sg_host_options_help(FILE *out, const char *argv0)
{
    fprintf(out,
            "Usage: %s [OPTION]... [SECTION:KEY=VALUE]...\n"
            "Captures the guest's screen and cursor and publishes them in shared memory\n"
            "for Spyglass and Looking Glass B7 clients (LGMP v6, KVMFR v20).\n\n"
            "  -f, --region PATH     shared memory (default %s): a file, /dev/kvmfrN,\n"
            "                        or ivshmem / ivshmem:N for the IVSHMEM PCI BAR in a guest\n"
            "  -c, --capture NAME    capture backend (default %s)\n"
            "  -r, --fps N           frame-rate cap, 0 = none (default 0)\n"
            "  -s, --size MIB        size of the region file when it must be created (default %u)\n"
            "  -l, --log-level L     error, warn, info, debug (default info)\n"
            "  -C, --config FILE     read this INI file after the default ones\n"
            "  -T, --trace FILE      append debug timestamps (cursor and frame posts) to FILE,\n"
            "                        for bench/client/glass_to_glass (default: none)\n"
            "  -o, --option S:K=V    set a backend option, e.g. -o testpattern:width=1920\n"
            "  -h, --help            this text\n"
            "  -V, --version         the version\n\n"
            "INI files: /etc/spyglass/host.ini, then ~/.config/spyglass/host.ini\n"
            "($XDG_CONFIG_HOME/spyglass/host.ini); section [host] takes region, capture,\n"
            "fps, size, log-level, traceFile; a section per backend takes its options.\n\n"
            "Capture backends and their options (default in brackets):\n",
            argv0, SG_SHM_DEFAULT_PATH, default_capture(), DEFAULT_SIZE_MIB);
    for (int b = 0; sg_capture_backends[b]; b++) {
        const struct sg_capture_impl *impl = sg_capture_backends[b];
        fprintf(out, "  %-12s %s\n", impl->name, impl->help);
        for (size_t k = 0; k < sg_capture_option_count(impl); k++)
            fprintf(out, "    %s:%-10s %s [%s]\n", impl->name, impl->options[k].key, impl->options[k].help,
                    impl->options[k].def);
    }
}
