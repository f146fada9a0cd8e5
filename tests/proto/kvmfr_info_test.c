/* SPDX-License-Identifier: GPL-2.0-or-later */
/* KVMFR app data, layout and status strings (kvmfr.md §3, §4, §9). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kvmfr.h"

static struct sg_kvmfr_info sample_info(void)
{
    struct sg_kvmfr_info in = {0};
    strcpy(in.host_version, "B7");
    in.features = SG_KVMFR_FEATURE_SET_CURSOR_POS;
    for (int i = 0; i < 16; i++)
        in.uuid[i] = (uint8_t)(0xA0 + i);
    strcpy(in.capture, "XCB");
    in.cpus = 8;
    in.cores = 4;
    in.sockets = 1;
    strcpy(in.cpu_model, "Test CPU @ 3.00GHz");
    in.os_kind = SG_OS_LINUX;
    strcpy(in.os_name, "Debian GNU/Linux 12");
    return in;
}

static uint32_t u32_at(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static void test_build_exact_bytes(void **state)
{
    struct sg_kvmfr_info in = sample_info();
    uint8_t buf[512];
    memset(buf, 0xEE, sizeof buf);
    size_t n = sg_kvmfr_build_info(&in, buf, sizeof buf);
    size_t model = strlen(in.cpu_model), os = strlen(in.os_name);
    assert_int_equal(n, 118 + model + os);
    assert_memory_equal(buf, "KVMFR---", 8);
    assert_int_equal(u32_at(buf + 8), 20);
    assert_string_equal((char *)buf + 12, "B7");
    for (int i = 12 + 3; i < 44; i++)
        assert_int_equal(buf[i], 0);
    assert_int_equal(u32_at(buf + 44), 1);
    /* VM info record at 48 */
    assert_int_equal(buf[48], 1);
    assert_int_equal(buf[49] | buf[50] | buf[51], 0);
    assert_int_equal(u32_at(buf + 52), 51 + model + 1);
    assert_int_equal(buf[56], 0xA0);
    assert_int_equal(buf[56 + 15], 0xAF);
    assert_string_equal((char *)buf + 56 + 16, "XCB");
    assert_int_equal(buf[56 + 48], 8);
    assert_int_equal(buf[56 + 49], 4);
    assert_int_equal(buf[56 + 50], 1);
    assert_string_equal((char *)buf + 56 + 51, in.cpu_model);
    /* OS info record right after, unaligned */
    size_t os_rec = 56 + 51 + model + 1;
    assert_int_equal(buf[os_rec], 2);
    assert_int_equal(u32_at(buf + os_rec + 4), 1 + os + 1);
    assert_int_equal(buf[os_rec + 8], SG_OS_LINUX);
    assert_string_equal((char *)buf + os_rec + 9, in.os_name);
    assert_int_equal(buf[n], 0xEE); /* nothing written past the end */

    assert_int_equal(sg_kvmfr_build_info(&in, buf, n - 1), 0);
    assert_int_equal(sg_kvmfr_build_info(&in, buf, n), n);
}

static void test_roundtrip(void **state)
{
    struct sg_kvmfr_info in = sample_info(), out;
    uint8_t buf[512];
    size_t n = sg_kvmfr_build_info(&in, buf, sizeof buf);
    assert_int_equal(sg_kvmfr_parse_info(buf, n, &out), SG_KVMFR_OK);
    assert_int_equal(out.version, 20);
    assert_string_equal(out.host_version, "B7");
    assert_int_equal(out.features, 1);
    assert_true(out.has_vm_info);
    assert_memory_equal(out.uuid, in.uuid, 16);
    assert_string_equal(out.capture, "XCB");
    assert_int_equal(out.cpus, 8);
    assert_int_equal(out.cores, 4);
    assert_int_equal(out.sockets, 1);
    assert_string_equal(out.cpu_model, in.cpu_model);
    assert_true(out.has_os_info);
    assert_int_equal(out.os_kind, SG_OS_LINUX);
    assert_string_equal(out.os_name, in.os_name);
    assert_int_equal(out.records_seen, 2);
    assert_int_equal(out.records_skipped, 0);
    assert_false(out.records_truncated);
}

static void test_header_rejections(void **state)
{
    struct sg_kvmfr_info in = sample_info(), out;
    uint8_t buf[512];
    size_t n = sg_kvmfr_build_info(&in, buf, sizeof buf);
    assert_int_equal(sg_kvmfr_parse_info(buf, 47, &out), SG_KVMFR_APPDATA_TOO_SMALL);
    assert_int_equal(sg_kvmfr_parse_info(NULL, 100, &out), SG_KVMFR_APPDATA_TOO_SMALL);
    /* exactly the header: valid, no records */
    assert_int_equal(sg_kvmfr_parse_info(buf, 48, &out), SG_KVMFR_OK);
    assert_int_equal(out.records_seen, 0);
    assert_false(out.has_vm_info);

    buf[7] = '+';
    assert_int_equal(sg_kvmfr_parse_info(buf, n, &out), SG_KVMFR_BAD_MAGIC);
    buf[7] = '-';
    uint32_t v = 19;
    memcpy(buf + 8, &v, 4);
    assert_int_equal(sg_kvmfr_parse_info(buf, n, &out), SG_KVMFR_BAD_VERSION);
    assert_int_equal(out.version, 19);
    assert_string_equal(out.host_version, "B7"); /* shown to the user */
    /* an unterminated host_version is cut at 32 characters */
    v = 20;
    memcpy(buf + 8, &v, 4);
    memset(buf + 12, 'x', 32);
    assert_int_equal(sg_kvmfr_parse_info(buf, n, &out), SG_KVMFR_OK);
    assert_int_equal(strlen(out.host_version), 32);
}

/* Appends a record to buf at *pos. */
static void add_record(uint8_t *buf, size_t *pos, uint8_t type, uint32_t len, const void *payload,
                       size_t payload_len)
{
    buf[*pos] = type;
    buf[*pos + 1] = 0x55; /* padding is ignored */
    buf[*pos + 2] = 0x55;
    buf[*pos + 3] = 0x55;
    memcpy(buf + *pos + 4, &len, 4);
    memcpy(buf + *pos + 8, payload, payload_len);
    *pos += 8 + payload_len;
}

static size_t header_only(uint8_t *buf)
{
    memset(buf, 0, 48);
    memcpy(buf, "KVMFR---", 8);
    uint32_t v = 20;
    memcpy(buf + 8, &v, 4);
    return 48;
}

static void test_records_skip_and_truncate(void **state)
{
    uint8_t buf[1024], vm[64] = {0}, os[8] = {3, 'W', 'i', 'n', 0};
    struct sg_kvmfr_info out;
    size_t pos = header_only(buf);
    add_record(buf, &pos, 9, 5, "abcde", 5); /* unknown: skipped */
    memcpy(vm + 16, "D12", 4);
    vm[48] = 2;
    memcpy(vm + 51, "CPU", 4);
    add_record(buf, &pos, 1, 55, vm, 55);
    add_record(buf, &pos, 2, 5, os, 5);
    buf[pos++] = 7; /* 3 trailing bytes: less than a record header */
    buf[pos++] = 0;
    buf[pos++] = 0;
    assert_int_equal(sg_kvmfr_parse_info(buf, pos, &out), SG_KVMFR_OK);
    assert_int_equal(out.records_seen, 3);
    assert_int_equal(out.records_skipped, 1);
    assert_false(out.records_truncated);
    assert_string_equal(out.capture, "D12");
    assert_int_equal(out.cpus, 2);
    assert_string_equal(out.cpu_model, "CPU");
    assert_int_equal(out.os_kind, SG_OS_WINDOWS);
    assert_string_equal(out.os_name, "Win");

    /* a record whose length overruns: walk stops, earlier records kept */
    pos = header_only(buf);
    add_record(buf, &pos, 2, 5, os, 5);
    add_record(buf, &pos, 1, 0xFFFFFFF0u, vm, 55);
    assert_int_equal(sg_kvmfr_parse_info(buf, pos, &out), SG_KVMFR_OK);
    assert_true(out.records_truncated);
    assert_true(out.has_os_info);
    assert_false(out.has_vm_info);
    assert_int_equal(out.records_seen, 1);

    /* exactly one byte too long */
    pos = header_only(buf);
    add_record(buf, &pos, 2, 6, os, 5);
    assert_int_equal(sg_kvmfr_parse_info(buf, pos, &out), SG_KVMFR_OK);
    assert_true(out.records_truncated);
    assert_false(out.has_os_info);

    /* VM info shorter than its fixed part, OS info of length 0: both skipped */
    pos = header_only(buf);
    add_record(buf, &pos, 1, 50, vm, 50);
    add_record(buf, &pos, 2, 0, os, 0);
    assert_int_equal(sg_kvmfr_parse_info(buf, pos, &out), SG_KVMFR_OK);
    assert_int_equal(out.records_skipped, 2);
    assert_false(out.has_vm_info);
    assert_false(out.has_os_info);

    /* unterminated strings: model cut at the record end, then at 255 chars */
    pos = header_only(buf);
    uint8_t big[600];
    memset(big, 'M', sizeof big);
    memset(big + 16, 'c', 32); /* capture without NUL */
    add_record(buf, &pos, 1, 51 + 400, big, 51 + 400);
    assert_int_equal(sg_kvmfr_parse_info(buf, pos, &out), SG_KVMFR_OK);
    assert_int_equal(strlen(out.capture), 32);
    assert_int_equal(strlen(out.cpu_model), 255);
    pos = header_only(buf);
    add_record(buf, &pos, 1, 51 + 3, big, 51 + 3);
    assert_int_equal(sg_kvmfr_parse_info(buf, pos, &out), SG_KVMFR_OK);
    assert_string_equal(out.cpu_model, "MMM");
}

static void test_layout_worked_example(void **state)
{
    struct sg_kvmfr_layout l;
    sg_kvmfr_layout_compute(167, 4096, 32u << 20, &l);
    assert_int_equal(l.a0, 5928);
    assert_int_equal(l.cursor_ring, 5976);
    assert_int_equal(l.cursor_records, 6312);
    assert_int_equal(l.cursor_records + 19 * 24 + 23, 6791);
    assert_int_equal(l.shape_buffers, 6792);
    assert_int_equal(l.shape_buffers + 1048600, 1055392);
    assert_int_equal(l.shape_buffers + 2 * 1048600, 2103992);
    assert_int_equal(l.fixed_end, 3152592);
    assert_int_equal(l.frame_block[0], 3153920);
    assert_int_equal(l.block_size, 15200256);
    assert_int_equal(l.frame_block[1], 18354176);
    assert_int_equal(l.frame_block[1] + l.block_size, 33554432);
    assert_int_equal(l.max_frame_size, 15198208);
    assert_int_equal(l.max_data_size, 15200256 - 4096);
    assert_true(l.fits);
    /* progress words / pixel data: a - 4 and a into each block */
    assert_int_equal(l.frame_block[0] + 4092, 3158012);
    assert_int_equal(l.frame_block[1] + 4092, 18358268);
    assert_int_equal(l.frame_block[1] + 4096, 18358272);

    /* the fixture: U = 197, 16 MiB */
    sg_kvmfr_layout_compute(197, 4096, 16u << 20, &l);
    assert_int_equal(l.frame_block[0], 3153920);
    assert_int_equal(l.frame_block[1], 9965568);
    assert_int_equal(l.block_size, 6811648);
}

static void test_layout_table(void **state)
{
    static const struct {
        uint32_t mib;
        uint64_t f4k, f64k;
    } rows[] = {
        {16, 6809600, 6750208},    {32, 15198208, 15138816},    {64, 31975424, 31916032},
        {128, 65529856, 65470464}, {256, 132638720, 132579328}, {512, 266856448, 266797056},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        for (uint32_t u = 118; u < 1400; u += 211) {
            struct sg_kvmfr_layout l;
            uint64_t z = (uint64_t)rows[i].mib << 20;
            sg_kvmfr_layout_compute(u, 4096, z, &l);
            assert_int_equal(l.max_frame_size, rows[i].f4k);
            assert_int_equal(l.max_frame_size, (z - 3158016) / 2);
            assert_true(l.fits);
            sg_kvmfr_layout_compute(u, 65536, z, &l);
            assert_int_equal(l.max_frame_size, rows[i].f64k);
            assert_true(l.fits);
            assert_true(l.frame_block[1] + l.block_size <= z);
        }
    }
    /* minimum regions of the §9 table: fits at that size, not at half */
    static const struct {
        uint64_t bytes;
        uint32_t mib;
    } modes[] = {
        {8294400, 32}, {14745600, 32}, {19814400, 64}, {33177600, 128}, {16588800, 64}, {66355200, 256},
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        struct sg_kvmfr_layout l;
        sg_kvmfr_layout_compute(197, 4096, (uint64_t)modes[i].mib << 20, &l);
        assert_true(modes[i].bytes <= l.max_data_size);
        sg_kvmfr_layout_compute(197, 4096, (uint64_t)modes[i].mib << 19, &l);
        assert_true(modes[i].bytes > l.max_frame_size);
    }
    /* too small for the fixed part */
    struct sg_kvmfr_layout l;
    sg_kvmfr_layout_compute(197, 4096, 2u << 20, &l);
    assert_false(l.fits);
    sg_kvmfr_layout_compute(197, 4096, 3152624 + 4095, &l);
    assert_false(l.fits);
}

static void test_recommended_mib(void **state)
{
    assert_int_equal(sg_kvmfr_recommended_mib(1080, 7680), 32);   /* 15.8 + 10 */
    assert_int_equal(sg_kvmfr_recommended_mib(1440, 10240), 64);  /* 28.1 + 10 */
    assert_int_equal(sg_kvmfr_recommended_mib(2160, 15360), 128); /* 63.3 + 10 */
    assert_int_equal(sg_kvmfr_recommended_mib(2160, 30720), 256); /* 126.6 + 10 */
    assert_int_equal(sg_kvmfr_recommended_mib(600, 3200), 16);    /* 3.7 + 10 */
    /* exactly 16: 6 MiB of frame + 10 */
    assert_int_equal(sg_kvmfr_recommended_mib(3 << 10, 1 << 10), 16);
    assert_int_equal(sg_kvmfr_recommended_mib(3 << 10, (1 << 10) + 1), 32);
}

static void test_status_strings(void **state)
{
    for (int a = SG_KVMFR_OK; a <= SG_KVMFR_BUFFER_TOO_SMALL; a++) {
        const char *s = sg_kvmfr_status_str(a);
        assert_non_null(s);
        assert_string_not_equal(s, "UNKNOWN_KVMFR_STATUS");
        for (int b = SG_KVMFR_OK; b < a; b++)
            assert_string_not_equal(s, sg_kvmfr_status_str(b));
    }
    assert_string_equal(sg_kvmfr_status_str((enum sg_kvmfr_status)999), "UNKNOWN_KVMFR_STATUS");
    assert_non_null(strstr(sg_kvmfr_status_str(SG_KVMFR_BAD_DAMAGE_RECT), "BAD_DAMAGE_RECT"));
}

/* Strings from the guest end up in terminals (client log, spyglass-dump) and
 * the overlay: control characters must not survive the parse, while printable
 * UTF-8 (a localised OS name) does. */
static void test_strings_without_controls(void **state)
{
    struct sg_kvmfr_info in = sample_info(), out;
    strcpy(in.host_version, "B7\x1b]0;owned\x07\r");
    strcpy(in.capture, "X\x9b"
                       "2J"); /* a raw C1 CSI */
    strcpy(in.cpu_model, "CPU \xc2\x9b"
                         "1m\x7f"); /* CSI encoded as UTF-8, DEL */
    strcpy(in.os_name,
           "Windows 10 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 \xe2\x82"); /* e-acute, euro, emoji, cut */
    uint8_t buf[512];
    size_t n = sg_kvmfr_build_info(&in, buf, sizeof buf);
    assert_int_equal(sg_kvmfr_parse_info(buf, n, &out), SG_KVMFR_OK);
    assert_string_equal(out.host_version, "B7?]0;owned??");
    assert_string_equal(out.capture, "X?2J");
    assert_string_equal(out.cpu_model, "CPU ?1m?");
    assert_string_equal(out.os_name, "Windows 10 \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 ??");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_exact_bytes),        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_header_rejections),        cmocka_unit_test(test_records_skip_and_truncate),
        cmocka_unit_test(test_layout_worked_example),    cmocka_unit_test(test_layout_table),
        cmocka_unit_test(test_recommended_mib),          cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_strings_without_controls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
