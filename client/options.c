/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "options.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "input_hooks.h"
#include "sg_log.h"

static const char *const scale_choices[] = {"keep", "stretch", "integer", NULL};
static const char *const filter_choices[] = {"linear", "nearest", NULL};
static const char *const partial_choices[] = {"yes", "cursor", "no", NULL};
/* in enum sg_log_level order */
static const char *const log_level_choices[] = {"error", "warn", "info", "debug", NULL};

/* The viewer's options. Names follow Looking Glass's where one exists. */
static const struct sg_option base_options[] = {
    {"app", "shmFile", SG_OPT_STR, "/dev/shm/looking-glass",
     "shared memory region: a file, or a kvmfr device; unset, /dev/kvmfr0 is used when it exists", NULL, 'f',
     0, 0, NULL},
    {"app", "pollUs", SG_OPT_INT, "1000",
     "sleep between polls of empty queues, microseconds (4x as long after 0.5 s without messages, 16 ms "
     "after 2 s until the next input)",
     NULL, 0, 50, 100000, NULL},
    {"app", "inputPollUs", SG_OPT_INT, "125",
     "for 50 ms after mouse input is sent to the guest or the guest cursor moves, poll this often for the "
     "cursor's next position, microseconds; 0 = app:pollUs",
     NULL, 0, 0, 100000, NULL},
    {"app", "retryMs", SG_OPT_INT, "1000", "wait between attempts to attach to a host, milliseconds", NULL, 0,
     10, 60000, NULL},
    {"app", "screenshotDir", SG_OPT_STR, ".", "folder where the screenshot key saves PNG files", NULL, 0, 0,
     0, NULL},
    {"app", "screenshot", SG_OPT_STR, "", "save the first complete guest frame to this PNG file", NULL, 0, 0,
     0, NULL},
    {"app", "statsFile", SG_OPT_STR, "",
     "rewrite this file every second with counters and state (key=value lines)", NULL, 0, 0, 0, NULL},
    {"app", "traceFile", SG_OPT_STR, "",
     "append debug timestamps (frames and cursor received, drawn) to this file, for "
     "bench/client/glass_to_glass",
     NULL, 0, 0, 0, NULL},
    {"app", "logLevel", SG_OPT_ENUM, "info", "log level: error, warn, info or debug", log_level_choices, 'l',
     0, 0, NULL},
    {"win", "title", SG_OPT_STR, "Spyglass", "window title", NULL, 0, 0, 0, NULL},
    {"win", "width", SG_OPT_INT, "1024", "initial window width (before the first frame)", NULL, 0, 64, 16384,
     NULL},
    {"win", "height", SG_OPT_INT, "768", "initial window height (before the first frame)", NULL, 0, 64, 16384,
     NULL},
    {"win", "x", SG_OPT_INT, "-1", "window x position (-1 = centered)", NULL, 0, -1, 65535, NULL},
    {"win", "y", SG_OPT_INT, "-1", "window y position (-1 = centered)", NULL, 0, -1, 65535, NULL},
    {"win", "autoResize", SG_OPT_BOOL, "yes",
     "size the window to the guest resolution on the first frame (within the screen)", NULL, 0, 0, 0, NULL},
    {"win", "borderless", SG_OPT_BOOL, "no", "window without decorations", NULL, 'd', 0, 0, NULL},
    {"win", "fullScreen", SG_OPT_BOOL, "no", "start in full screen", NULL, 'F', 0, 0, NULL},
    {"win", "scaling", SG_OPT_ENUM, "keep", "keep (aspect ratio), stretch, or integer (whole multiples only)",
     scale_choices, 0, 0, 0, NULL},
    {"win", "filter", SG_OPT_ENUM, "linear", "texture filtering when scaling: linear or nearest",
     filter_choices, 0, 0, 0, NULL},
    {"win", "vsync", SG_OPT_BOOL, "yes", "wait for vertical sync when drawing", NULL, 0, 0, 0, NULL},
    {"win", "partialDraw", SG_OPT_ENUM, "yes",
     "present only what changed where the platform can: yes (cursor moves, and frame damage when swaps do "
     "not "
     "wait for vsync), cursor (cursor moves only), no (whole swaps)",
     partial_choices, 0, 0, 0, NULL},
    {"win", "showGraphs", SG_OPT_BOOL, "no",
     "show the latency graphs at start (frame interval, frame and cursor age when drawn, render time, sound "
     "buffer)",
     NULL, 0, 0, 0, NULL},
    {"win", "showFPS", SG_OPT_BOOL, "no", "show the statistics overlay at start", NULL, 'k', 0, 0, NULL},
    {"win", "font", SG_OPT_STR, "DejaVu Sans Mono", "fontconfig pattern of the overlay font", NULL, 0, 0, 0,
     NULL},
    {"win", "fontSize", SG_OPT_INT, "14", "overlay font size in points", NULL, 0, 6, 96, NULL},
    {"win", "gles", SG_OPT_BOOL, "no", "ask for OpenGL ES 3 instead of OpenGL 3.3 core", NULL, 0, 0, 0, NULL},
    {"input", "escapeKey", SG_OPT_STR, "ScrollLock", "SDL name of the key that starts key bindings", NULL,
     'm', 0, 0, NULL},
};

int sg_options_init(struct sg_options *o)
{
    size_t extra = 0;
    while (sg_input_options[extra].section)
        extra++;
    size_t n = sizeof(base_options) / sizeof(base_options[0]);
    o->opts = calloc(n + extra, sizeof(*o->opts));
    if (!o->opts)
        return -1;
    memcpy(o->opts, base_options, sizeof(base_options));
    for (size_t i = 0; i < extra; i++) {
        const struct sg_input_option *io = &sg_input_options[i];
        o->opts[n + i] = (struct sg_option){
            io->section, io->key, SG_OPT_STR, io->def ? io->def : "", io->help, NULL, 0, 0, 0, NULL};
    }
    o->count = n + extra;
    return 0;
}

void sg_options_finish(struct sg_options *o)
{
    if (!o->opts)
        return;
    for (size_t i = 0; i < o->count; i++)
        free(o->opts[i].value);
    free(o->opts);
    o->opts = NULL;
    o->count = 0;
}

static struct sg_option *find(const struct sg_options *o, const char *section, const char *key)
{
    for (size_t i = 0; i < o->count; i++)
        if (!strcasecmp(o->opts[i].section, section) && !strcasecmp(o->opts[i].key, key))
            return &o->opts[i];
    return NULL;
}

static int parse_bool(const char *v)
{
    static const char *const yes[] = {"1", "yes", "true", "on"}, *const no[] = {"0", "no", "false", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (!strcasecmp(v, yes[i]))
            return 1;
        if (!strcasecmp(v, no[i]))
            return 0;
    }
    return -1;
}

static bool parse_int(const char *v, long *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 0);
    if (errno || end == v || *end)
        return false;
    *out = x;
    return true;
}

bool sg_options_set(struct sg_options *o, const char *section, const char *key, const char *value, char *err,
                    size_t err_size)
{
    struct sg_option *opt = find(o, section, key);
    if (!opt) {
        snprintf(err, err_size, "unknown option %s:%s", section, key);
        return false;
    }
    long x;
    switch (opt->type) {
    case SG_OPT_INT:
        if (!parse_int(value, &x) || x < opt->min || x > opt->max) {
            snprintf(err, err_size, "%s:%s=%s: expected an integer in %d..%d", opt->section, opt->key, value,
                     opt->min, opt->max);
            return false;
        }
        break;
    case SG_OPT_BOOL:
        if (parse_bool(value) < 0) {
            snprintf(err, err_size, "%s:%s=%s: expected yes/no, true/false, on/off or 1/0", opt->section,
                     opt->key, value);
            return false;
        }
        break;
    case SG_OPT_ENUM: {
        bool ok = false;
        for (const char *const *c = opt->choices; *c; c++)
            ok |= !strcasecmp(*c, value);
        if (!ok) {
            size_t len =
                (size_t)snprintf(err, err_size, "%s:%s=%s: expected one of", opt->section, opt->key, value);
            for (const char *const *c = opt->choices; *c && len < err_size; c++)
                len += (size_t)snprintf(err + len, err_size - len, " %s", *c);
            return false;
        }
        break;
    }
    case SG_OPT_STR:
        break;
    }
    char *copy = strdup(value);
    if (!copy) {
        snprintf(err, err_size, "out of memory");
        return false;
    }
    free(opt->value);
    opt->value = copy;
    return true;
}

struct ini_ctx {
    struct sg_options *o;
    const char *path;
    bool ok;
};

static int on_ini_line(void *user, const char *section, const char *name, const char *value)
{
    struct ini_ctx *ctx = user;
    char err[256];
    if (!sg_options_set(ctx->o, section, name, value, err, sizeof(err))) {
        LOG_E("%s: [%s] %s: %s", ctx->path, section, name, err);
        ctx->ok = false;
    }
    return 1; /* keep reading: report every bad line at once */
}

bool sg_options_load_ini(struct sg_options *o, const char *path, bool optional)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (optional && errno == ENOENT)
            return true;
        LOG_E("cannot read %s: %s", path, strerror(errno));
        return false;
    }
    struct ini_ctx ctx = {o, path, true};
    int rc = ini_parse_file(f, on_ini_line, &ctx);
    fclose(f);
    if (rc > 0) {
        LOG_E("%s:%d: not INI syntax", path, rc);
        return false;
    }
    return ctx.ok;
}

void sg_options_print_help(const struct sg_options *o, const char *argv0, FILE *f)
{
    fprintf(f,
            "Usage: %s [OPTIONS] [section:key=value ...]\n"
            "Shows the display of a VM whose Spyglass or Looking Glass B7 host writes the shared memory "
            "region.\n\n"
            "  -h, --help          this text\n"
            "  -C FILE             read options from this INI file too (after /etc/spyglass/client.ini and\n"
            "                      ~/.config/spyglass/client.ini)\n"
            "  --stats-file FILE   same as app:statsFile=FILE\n\n"
            "Options (INI: [section] key=value; command line: section:key=value or the short form):\n",
            argv0);
    for (size_t i = 0; i < o->count; i++) {
        const struct sg_option *opt = &o->opts[i];
        char name[64], sh[8] = "";
        snprintf(name, sizeof(name), "%s:%s", opt->section, opt->key);
        if (opt->short_opt)
            snprintf(sh, sizeof(sh), "-%c", opt->short_opt);
        fprintf(f, "  %-3s %-20s %s (default: %s)\n", sh, name, opt->help ? opt->help : "",
                opt->def && *opt->def ? opt->def : "none");
    }
    fprintf(f, "\nKey bindings: hold the escape key (input:escapeKey) and press a letter; press it with H "
               "for the list.\n");
}

/* section:key=value */
static bool set_spec(struct sg_options *o, const char *spec)
{
    const char *colon = strchr(spec, ':'), *eq = strchr(spec, '=');
    if (!colon || !eq || colon > eq || colon == spec || eq == colon + 1) {
        LOG_E("'%s': expected section:key=value (see --help)", spec);
        return false;
    }
    char section[64], key[64], err[256];
    if ((size_t)(colon - spec) >= sizeof(section) || (size_t)(eq - colon - 1) >= sizeof(key)) {
        LOG_E("'%s': name too long", spec);
        return false;
    }
    memcpy(section, spec, (size_t)(colon - spec));
    section[colon - spec] = 0;
    memcpy(key, colon + 1, (size_t)(eq - colon - 1));
    key[eq - colon - 1] = 0;
    if (!sg_options_set(o, section, key, eq + 1, err, sizeof(err))) {
        LOG_E("%s", err);
        return false;
    }
    return true;
}

enum sg_options_result sg_options_load(struct sg_options *o, int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            sg_options_print_help(o, argv[0], stdout);
            return SG_OPTIONS_EXIT_OK;
        }

    bool ok = sg_options_load_ini(o, "/etc/spyglass/client.ini", true);
    const char *home = getenv("HOME"), *xdg = getenv("XDG_CONFIG_HOME");
    char path[PATH_MAX];
    if (xdg && *xdg)
        snprintf(path, sizeof(path), "%s/spyglass/client.ini", xdg);
    else
        snprintf(path, sizeof(path), "%s/.config/spyglass/client.ini", home ? home : "");
    if (getenv("SPYGLASS_NO_USER_CONFIG") == NULL)
        ok &= sg_options_load_ini(o, path, true);

    /* -C first, so the command line overrides the file whatever the order. */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-C")) {
            if (i + 1 >= argc) {
                LOG_E("-C needs a file");
                return SG_OPTIONS_ERROR;
            }
            ok &= sg_options_load_ini(o, argv[++i], false);
        }
    if (!ok)
        return SG_OPTIONS_ERROR;

    char err[256];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-C")) {
            i++;
            continue;
        }
        if (!strcmp(a, "--stats-file")) {
            if (i + 1 >= argc) {
                LOG_E("--stats-file needs a file");
                return SG_OPTIONS_ERROR;
            }
            if (!sg_options_set(o, "app", "statsFile", argv[++i], err, sizeof(err)))
                goto bad;
            continue;
        }
        if (a[0] == '-' && a[1] && !a[2]) {
            struct sg_option *opt = NULL;
            for (size_t k = 0; k < o->count; k++)
                if (o->opts[k].short_opt == a[1])
                    opt = &o->opts[k];
            if (!opt) {
                LOG_E("unknown option %s (see --help)", a);
                return SG_OPTIONS_ERROR;
            }
            const char *v = "yes";
            if (opt->type != SG_OPT_BOOL) {
                if (i + 1 >= argc) {
                    LOG_E("%s needs a value (%s:%s)", a, opt->section, opt->key);
                    return SG_OPTIONS_ERROR;
                }
                v = argv[++i];
            }
            if (!sg_options_set(o, opt->section, opt->key, v, err, sizeof(err)))
                goto bad;
            continue;
        }
        if (a[0] == '-') {
            LOG_E("unknown option %s (see --help)", a);
            return SG_OPTIONS_ERROR;
        }
        if (!set_spec(o, a))
            return SG_OPTIONS_ERROR;
    }
    return SG_OPTIONS_OK;
bad:
    LOG_E("%s", err);
    return SG_OPTIONS_ERROR;
}

static const struct sg_option *get(const struct sg_options *o, const char *section, const char *key)
{
    const struct sg_option *opt = find(o, section, key);
    if (!opt) {
        LOG_E("internal: no option %s:%s", section, key);
        abort();
    }
    return opt;
}

bool sg_options_is_set(const struct sg_options *o, const char *section, const char *key)
{
    const struct sg_option *opt = find(o, section, key);
    return opt && opt->value;
}

const char *sg_options_str(const struct sg_options *o, const char *section, const char *key)
{
    const struct sg_option *opt = find(o, section, key);
    if (!opt)
        return NULL;
    return opt->value ? opt->value : opt->def;
}

int sg_options_int(const struct sg_options *o, const char *section, const char *key)
{
    const struct sg_option *opt = get(o, section, key);
    long x = 0;
    parse_int(opt->value ? opt->value : opt->def, &x);
    return (int)x;
}

bool sg_options_bool(const struct sg_options *o, const char *section, const char *key)
{
    const struct sg_option *opt = get(o, section, key);
    return parse_bool(opt->value ? opt->value : opt->def) == 1;
}

int sg_options_enum(const struct sg_options *o, const char *section, const char *key)
{
    const struct sg_option *opt = get(o, section, key);
    const char *v = opt->value ? opt->value : opt->def;
    for (int i = 0; opt->choices[i]; i++)
        if (!strcasecmp(opt->choices[i], v))
            return i;
    return 0;
}
