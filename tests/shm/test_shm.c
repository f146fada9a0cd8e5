/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm.h"

static char tmpdir[256];

static int setup(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/sg-shm-test-%d-XXXXXX", (int)getpid());
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_missing_file_names_path(void **state)
{
    char path[300], err[512];
    snprintf(path, sizeof(path), "%s/nope", tmpdir);
    struct sg_shm shm;
    struct sg_shm_open_opts o = {.path = path};
    assert_int_equal(sg_shm_open(&shm, &o, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file"));
    assert_null(shm.base);
}

static void test_create_sizes_and_maps(void **state)
{
    char path[300], err[512];
    snprintf(path, sizeof(path), "%s/region", tmpdir);
    struct sg_shm shm;
    struct sg_shm_open_opts o = {.path = path, .create = true, .create_size = 1 << 20};
    assert_int_equal(sg_shm_open(&shm, &o, err, sizeof(err)), 0);
    assert_int_equal(shm.size, 1 << 20);
    assert_int_equal(shm.kind, SG_SHM_FILE);
    ((uint8_t *)shm.base)[12345] = 0xA5;
    sg_shm_close(&shm);

    /* a second opener sees the same bytes, and the size is kept */
    struct sg_shm_open_opts ro = {.path = path, .read_only = true};
    assert_int_equal(sg_shm_open(&shm, &ro, err, sizeof(err)), 0);
    assert_int_equal(shm.size, 1 << 20);
    assert_int_equal(((uint8_t *)shm.base)[12345], 0xA5);
    sg_shm_close(&shm);
    sg_shm_close(&shm); /* closing twice is harmless */
}

static void test_too_small_says_size_needed(void **state)
{
    char path[300], err[512];
    snprintf(path, sizeof(path), "%s/small", tmpdir);
    int fd = open(path, O_CREAT | O_RDWR, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 4096), 0);
    close(fd);
    struct sg_shm shm;
    struct sg_shm_open_opts o = {.path = path, .min_size = 5760};
    assert_int_equal(sg_shm_open(&shm, &o, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "too small: 4096 bytes, needs at least 5760"));
    assert_non_null(strstr(err, path));
}

static void test_empty_file_rejected(void **state)
{
    char path[300], err[512];
    snprintf(path, sizeof(path), "%s/empty", tmpdir);
    close(open(path, O_CREAT | O_RDWR, 0600));
    struct sg_shm shm;
    struct sg_shm_open_opts o = {.path = path};
    assert_int_equal(sg_shm_open(&shm, &o, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "empty"));
}

static void test_directory_rejected(void **state)
{
    char err[512];
    struct sg_shm shm;
    struct sg_shm_open_opts o = {.path = tmpdir, .read_only = true};
    assert_int_equal(sg_shm_open(&shm, &o, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "directory"));
}

static void test_kvmfr_missing(void **state)
{
    char err[512];
    struct sg_shm shm;
    struct sg_shm_open_opts o = {.path = "/dev/kvmfr97"};
    assert_int_equal(sg_shm_open(&shm, &o, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/dev/kvmfr97"));
}

static void test_bad_ivshmem_index(void **state)
{
    char err[512];
    struct sg_shm shm;
    struct sg_shm_open_opts o = {.path = "ivshmem:x"};
    assert_int_equal(sg_shm_open(&shm, &o, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bad IVSHMEM device index"));
}

static void make_dev(const char *addr, const char *vendor, const char *device)
{
    char p[400], cmd[2000];
    snprintf(p, sizeof(p), "%s/bus/pci/devices/%s", tmpdir, addr);
    snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && echo %s > '%s/vendor' && echo %s > '%s/device'", p, vendor,
             p, device, p);
    assert_int_equal(system(cmd), 0);
}

static void test_find_ivshmem_by_id_in_address_order(void **state)
{
    make_dev("0000:00:05.0", "0x1af4", "0x1110");
    make_dev("0000:00:01.0", "0x8086", "0x1110"); /* other vendor */
    make_dev("0000:00:02.0", "0x1af4", "0x1000"); /* virtio-net: same vendor, other device */
    make_dev("0000:00:03.0", "0x1af4", "0x1110");
    char dir[512], want[512];
    assert_int_equal(sg_shm_find_ivshmem(tmpdir, 0, dir, sizeof(dir)), 0);
    snprintf(want, sizeof(want), "%s/bus/pci/devices/0000:00:03.0", tmpdir);
    assert_string_equal(dir, want);
    assert_int_equal(sg_shm_find_ivshmem(tmpdir, 1, dir, sizeof(dir)), 0);
    snprintf(want, sizeof(want), "%s/bus/pci/devices/0000:00:05.0", tmpdir);
    assert_string_equal(dir, want);
    assert_int_equal(sg_shm_find_ivshmem(tmpdir, 2, dir, sizeof(dir)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_file_names_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_sizes_and_maps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_small_says_size_needed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_file_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_directory_rejected, setup, teardown),
        cmocka_unit_test(test_kvmfr_missing),
        cmocka_unit_test(test_bad_ivshmem_index),
        cmocka_unit_test_setup_teardown(test_find_ivshmem_by_id_in_address_order, setup, teardown),
    };
    return cmocka_run_group_tests_name("shm", tests, NULL, NULL);
}
