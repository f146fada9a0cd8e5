/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spyglass-host options: defaults, INI files in their order, the command line
 * over them, Looking Glass spellings, and errors that name what is wrong. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "options.h"
#include "sysinfo.h"

static char dir[128];

static int parse(struct sg_host_options *o, char *err, int argc, ...)
{
    char *argv[32] = {"spyglass-host"};
    va_list ap;
    va_start(ap, argc);
    for (int i = 1; i <= argc; i++)
        argv[i] = va_arg(ap, char *);
    va_end(ap);
    return sg_host_options_parse(o, argc + 1, argv, err, 256);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char *backend_value(struct sg_host_options *o, const char *backend, const char *key)
{
    const struct sg_capture_impl *impl = sg_capture_find(backend);
    return sg_host_options_backend(o, impl)[sg_capture_option_index(impl, key)];
}

static void test_defaults(void **state)
{
    struct sg_host_options o;
    char err[256];
    assert_int_equal(parse(&o, err, 0), 0);
    assert_string_equal(o.region, "/dev/shm/looking-glass");
    assert_int_equal(o.fps, 0);
    assert_int_equal(o.size_mib, 32);
    assert_int_equal(o.log_level, SG_LOG_INFO);
    assert_string_equal(backend_value(&o, "testpattern", "width"), "1280");
    sg_host_options_finish(&o);
}

static void test_command_line(void **state)
{
    struct sg_host_options o;
    char err[256];
    assert_int_equal(parse(&o, err, 10, "-f", "/dev/shm/x", "-c", "testpattern", "--fps", "25", "-o",
                           "testpattern:width=640", "testpattern:height=360", "--log-level=debug"),
                     0);
    assert_string_equal(o.region, "/dev/shm/x");
    assert_string_equal(o.capture, "testpattern");
    assert_int_equal(o.fps, 25);
    assert_int_equal(o.log_level, SG_LOG_DEBUG);
    assert_string_equal(backend_value(&o, "testpattern", "width"), "640");
    assert_string_equal(backend_value(&o, "testpattern", "height"), "360");
    sg_host_options_finish(&o);
    assert_int_equal(parse(&o, err, 4, "--region", "ivshmem:1", "--capture", "fbdev"), 0);
    assert_string_equal(o.region, "ivshmem:1");
    assert_string_equal(o.capture, "fbdev");
    sg_host_options_finish(&o);
    assert_int_equal(parse(&o, err, 1, "--help"), 0);
    assert_true(o.help);
    sg_host_options_finish(&o);
}

static void test_errors(void **state)
{
    struct sg_host_options o;
    char err[256];
    assert_int_equal(parse(&o, err, 2, "-c", "dxgi"), -1);
    assert_non_null(strstr(err, "unknown capture backend 'dxgi' (built in: "));
    sg_host_options_finish(&o);
    assert_int_equal(parse(&o, err, 2, "--fps", "-3"), -1);
    assert_string_equal(err, "option host:fps: '-3' is not a whole number between 0 and 1000");
    sg_host_options_finish(&o);
    assert_int_equal(parse(&o, err, 2, "-o", "testpattern:colour=red"), -1);
    assert_string_equal(err, "unknown option testpattern:colour");
    sg_host_options_finish(&o);
    assert_int_equal(parse(&o, err, 1, "junk"), -1);
    assert_string_equal(err, "'junk' is not SECTION:KEY=VALUE");
    sg_host_options_finish(&o);
    assert_int_equal(parse(&o, err, 1, "--bogus"), -1);
    assert_string_equal(err, "unknown option '--bogus' (see --help)");
    sg_host_options_finish(&o);
    assert_int_equal(parse(&o, err, 2, "-l", "loud"), -1);
    assert_string_equal(err, "log level 'loud' is not one of error, warn, info, debug");
    sg_host_options_finish(&o);
}

static void test_ini_order(void **state)
{
    char home_ini[256], extra[256], path[256];
    snprintf(path, sizeof(path), "%s/spyglass", dir);
    mkdir(path, 0700);
    snprintf(home_ini, sizeof(home_ini), "%s/spyglass/host.ini", dir);
    snprintf(extra, sizeof(extra), "%s/extra.ini", dir);
    write_file(home_ini,
               "; user settings\n[host]\nregion=/dev/shm/from-home\nfps=30\n[testpattern]\nwidth=800\n"
               "rate=5\n");
    write_file(extra, "[app]\nshmFile=/dev/shm/from-extra\n[testpattern]\nwidth=1024\n");
    setenv("XDG_CONFIG_HOME", dir, 1);
    struct sg_host_options o;
    char err[256];
    assert_int_equal(parse(&o, err, 0), 0);
    assert_string_equal(o.region, "/dev/shm/from-home");
    assert_int_equal(o.fps, 30);
    assert_string_equal(backend_value(&o, "testpattern", "width"), "800");
    sg_host_options_finish(&o);
    /* --config comes after the user file, the command line after both */
    assert_int_equal(parse(&o, err, 4, "-C", extra, "-o", "testpattern:rate=7"), 0);
    assert_string_equal(o.region, "/dev/shm/from-extra");
    assert_string_equal(backend_value(&o, "testpattern", "width"), "1024");
    assert_string_equal(backend_value(&o, "testpattern", "rate"), "7");
    assert_int_equal(o.fps, 30);
    sg_host_options_finish(&o);
    assert_int_equal(parse(&o, err, 4, "-f", "/dev/shm/cli", "-C", extra), 0);
    assert_string_equal(o.region, "/dev/shm/cli");
    sg_host_options_finish(&o);

    write_file(extra, "[host]\nfps=30\ncolour=blue\n");
    assert_int_equal(parse(&o, err, 2, "-C", extra), -1);
    char want[512];
    snprintf(want, sizeof(want), "config %s line 3: unknown option host:colour", extra);
    assert_string_equal(err, want);
    sg_host_options_finish(&o);
    assert_int_equal(parse(&o, err, 2, "-C", "/nonexistent/x.ini"), -1);
    assert_string_equal(err, "config /nonexistent/x.ini: cannot open");
    sg_host_options_finish(&o);
    unsetenv("XDG_CONFIG_HOME");
    unlink(home_ini);
    unlink(extra);
    rmdir(path);
}

static void test_sysinfo(void **state)
{
    char path[256], name[256];
    snprintf(path, sizeof(path), "%s/os-release", dir);
    write_file(path,
               "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\n");
    sg_host_os_name(path, name, sizeof(name));
    assert_string_equal(name, "Debian GNU/Linux 12 (bookworm)");
    write_file(path, "NAME=Alpine\n");
    sg_host_os_name(path, name, sizeof(name));
    assert_string_equal(name, "Alpine");
    sg_host_os_name("/nonexistent", name, sizeof(name));
    assert_string_equal(name, "Linux");
    unlink(path);
    uint8_t u[16];
    assert_true(sg_host_parse_uuid("01234567-89ab-cdef-0123-456789ABCDEF\n", u));
    assert_int_equal(u[0], 0x01);
    assert_int_equal(u[15], 0xef);
    assert_false(sg_host_parse_uuid("0123", u));
    struct sg_kvmfr_info info;
    sg_host_sysinfo(&info, &sg_capture_testpattern);
    assert_string_equal(info.capture, "testpattern");
    assert_int_equal(info.features, SG_KVMFR_FEATURE_SET_CURSOR_POS);
    /* a backend that cannot move the pointer must not offer SET_CURSOR_POS (the client then steers
     * with relative motion alone); fbdev has no pointer, kms leaves it to the compositor */
    sg_host_sysinfo(&info, &sg_capture_fbdev);
    assert_string_equal(info.capture, "fbdev");
    assert_int_equal(info.features, 0);
    assert_false(sg_capture_can_set_cursor_pos(&sg_capture_fbdev));
#ifdef SG_HAVE_KMS
    sg_host_sysinfo(&info, &sg_capture_kms);
    assert_string_equal(info.capture, "KMS");
    assert_int_equal(info.features, 0);
#endif
    assert_int_equal(info.os_kind, SG_OS_LINUX);
    assert_true(info.cpus >= 1);
    assert_true(strncmp(info.host_version, "spyglass ", 9) == 0);
}

static int setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/sg-host-options-%d", (int)getpid());
    mkdir(dir, 0700);
    unsetenv("XDG_CONFIG_HOME");
    setenv("HOME", dir, 1); /* no user file unless a test writes one */
    return 0;
}

static int teardown(void **state)
{
    rmdir(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),  cmocka_unit_test(test_command_line), cmocka_unit_test(test_errors),
        cmocka_unit_test(test_ini_order), cmocka_unit_test(test_sysinfo),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
