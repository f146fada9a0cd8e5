/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * Options as Looking Glass users know them: `section:key=value`, from
 * /etc/spyglass/client.ini, then ~/.config/spyglass/client.ini, then -C FILE,
 * then the command line (later wins). Every option has a default and a help
 * line; --help prints them all.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum sg_opt_type { SG_OPT_STR, SG_OPT_INT, SG_OPT_BOOL, SG_OPT_ENUM };

struct sg_option {
    const char *section, *key;
    enum sg_opt_type type;
    const char *def;
    const char *help;
    const char *const *choices; /* SG_OPT_ENUM: NULL-terminated */
    char short_opt;             /* 0 = none; a short option takes a value unless BOOL */
    int min, max;               /* SG_OPT_INT bounds */
    char *value;                /* owned; NULL = default */
};

struct sg_options {
    struct sg_option *opts;
    size_t count;
};

enum sg_options_result { SG_OPTIONS_OK, SG_OPTIONS_EXIT_OK, SG_OPTIONS_ERROR };

/* Builds the table: the viewer's options plus the input hooks' ones. */
int sg_options_init(struct sg_options *o);
void sg_options_finish(struct sg_options *o);

/* Reads the INI files and the command line. On error prints a message naming
 * the file/line/option/value at fault to stderr. */
enum sg_options_result sg_options_load(struct sg_options *o, int argc, char **argv);

/* Set one option from text; checks type/range/choices. err gets a message. */
bool sg_options_set(struct sg_options *o, const char *section, const char *key, const char *value, char *err,
                    size_t err_size);
/* Reads one INI file; missing file is fine when optional. */
bool sg_options_load_ini(struct sg_options *o, const char *path, bool optional);

void sg_options_print_help(const struct sg_options *o, const char *argv0, FILE *f);

/* True when a file or the command line gave the option a value. */
bool sg_options_is_set(const struct sg_options *o, const char *section, const char *key);
const char *sg_options_str(const struct sg_options *o, const char *section, const char *key);
int sg_options_int(const struct sg_options *o, const char *section, const char *key);
bool sg_options_bool(const struct sg_options *o, const char *section, const char *key);
/* Index of the value in the choices list. */
int sg_options_enum(const struct sg_options *o, const char *section, const char *key);
