/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Frame header checks, progress word and copies (kvmfr.md §5). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "kvmfr.h"
#include "kvmfr_test_util.h"

#define FB_OFF 4092u
#define W 40u
#define H 30u
#define PITCH (W * 4 + 32) /* padded rows */
#define PAYLOAD (FB_OFF + 4 + H * PITCH)

static uint8_t *payload;

static int setup(void **state)
{
    payload = aligned_alloc(4096, (PAYLOAD + 8191) / 4096 * 4096);
    memset(payload, 0, (PAYLOAD + 8191) / 4096 * 4096);
    return 0;
}

static int teardown(void **state)
{
    free(payload);
    return 0;
}

static struct sg_kvmfr_wire_frame good_header(void)
{
    struct sg_kvmfr_wire_frame h = {
        .format_version = 3,
        .frame_serial = 77,
        .type = SG_FRAME_BGRA,
        .screen_width = W,
        .screen_height = H,
        .data_width = W,
        .data_height = H,
        .frame_width = W,
        .frame_height = H,
        .rotation = 0,
        .stride = PITCH / 4,
        .pitch = PITCH,
        .fb_offset = FB_OFF,
        .damage_count = 0,
        .flags = 0,
    };
    return h;
}

static void put_header(const struct sg_kvmfr_wire_frame *h)
{
    memcpy(payload, h, sizeof *h);
}

/* Fill the data area with a pattern depending on (row, byte) and a seed. */
static void fill_pattern(uint8_t seed)
{
    uint8_t *d = payload + FB_OFF + 4;
    for (uint32_t y = 0; y < H; y++)
        for (uint32_t i = 0; i < PITCH; i++)
            d[y * PITCH + i] = (uint8_t)(y * 7 + i * 13 + seed);
}

static void test_read_valid(void **state)
{
    struct sg_kvmfr_wire_frame h = good_header();
    h.rotation = 2;
    h.damage_count = 2;
    h.damage[0] = (struct sg_kvmfr_wire_rect){0, 0, W, H};
    h.damage[1] = (struct sg_kvmfr_wire_rect){W - 1, H - 1, 1, 1};
    h.flags = SG_FRAME_FLAG_BLOCK_SCREENSAVER;
    put_header(&h);
    struct sg_kvmfr_frame f;
    assert_int_equal(sg_kvmfr_frame_read(payload, PAYLOAD, &f), SG_KVMFR_OK);
    assert_int_equal(f.bytes_per_texel, 4);
    assert_int_equal(f.data_size, H * PITCH);
    assert_int_equal(f.rotation, 2);
    assert_int_equal(f.progress_offset, FB_OFF);
    assert_int_equal(f.data_offset, FB_OFF + 4);
    assert_int_equal(f.hdr.frame_serial, 77);
    assert_int_equal(f.hdr.flags, 1);
    /* the header was copied out: later changes in the region do not matter */
    payload[4] = 0xFF;
    assert_int_equal(f.hdr.frame_serial, 77);
    /* unknown rotation reads as 0 */
    h.rotation = 9;
    put_header(&h);
    assert_int_equal(sg_kvmfr_frame_read(payload, PAYLOAD, &f), SG_KVMFR_OK);
    assert_int_equal(f.rotation, 0);
    /* exactly enough payload */
    assert_int_equal(sg_kvmfr_frame_read(payload, PAYLOAD - 1, &f), SG_KVMFR_FRAME_OUTSIDE_PAYLOAD);
}

static void expect(struct sg_kvmfr_wire_frame h, uint32_t size, enum sg_kvmfr_status want)
{
    struct sg_kvmfr_frame f;
    put_header(&h);
    enum sg_kvmfr_status got = sg_kvmfr_frame_read(payload, size, &f);
    if (got != want)
        fail_msg("got %s, want %s", sg_kvmfr_status_str(got), sg_kvmfr_status_str(want));
}

static void test_read_hostile(void **state)
{
    struct sg_kvmfr_wire_frame g = good_header(), h;
    struct sg_kvmfr_frame f;
    assert_int_equal(sg_kvmfr_frame_read(payload, 1083, &f), SG_KVMFR_PAYLOAD_TOO_SMALL);
    assert_int_equal(sg_kvmfr_frame_read(NULL, PAYLOAD, &f), SG_KVMFR_PAYLOAD_TOO_SMALL);

    h = g;
    h.type = 0;
    expect(h, PAYLOAD, SG_KVMFR_BAD_FRAME_TYPE);
    h = g;
    h.type = 7;
    expect(h, PAYLOAD, SG_KVMFR_BAD_FRAME_TYPE);
    h = g;
    h.type = 0xFFFFFFFF;
    expect(h, PAYLOAD, SG_KVMFR_BAD_FRAME_TYPE);

    h = g;
    h.screen_width = 0;
    expect(h, PAYLOAD, SG_KVMFR_BAD_DIMENSIONS);
    h = g;
    h.screen_height = 16385;
    expect(h, PAYLOAD, SG_KVMFR_BAD_DIMENSIONS);
    h = g;
    h.data_width = 0;
    expect(h, PAYLOAD, SG_KVMFR_BAD_DIMENSIONS);
    h = g;
    h.data_height = 0;
    expect(h, PAYLOAD, SG_KVMFR_BAD_DIMENSIONS);
    h = g;
    h.frame_width = 0x80000000u;
    expect(h, PAYLOAD, SG_KVMFR_BAD_DIMENSIONS);
    h = g;
    h.frame_height = 0;
    expect(h, PAYLOAD, SG_KVMFR_BAD_DIMENSIONS);
    h = g;
    h.data_height = H + 1;
    h.frame_height = H;
    expect(h, PAYLOAD, SG_KVMFR_BAD_DIMENSIONS);
    h = g;
    h.frame_width = W - 1;
    expect(h, PAYLOAD, SG_KVMFR_BAD_DIMENSIONS);

    h = g;
    h.pitch = W * 4 - 1;
    h.stride = h.pitch / 4;
    expect(h, PAYLOAD, SG_KVMFR_BAD_PITCH);
    h = g;
    h.stride = PITCH;
    expect(h, PAYLOAD, SG_KVMFR_BAD_PITCH);
    h = g;
    h.type = SG_FRAME_RGBA16F;
    expect(h, PAYLOAD, SG_KVMFR_BAD_PITCH); /* 8 B/texel, stride now wrong */

    h = g;
    h.fb_offset = FB_OFF + 2;
    expect(h, PAYLOAD, SG_KVMFR_BAD_FB_OFFSET);
    h = g;
    h.fb_offset = 1080;
    expect(h, PAYLOAD, SG_KVMFR_BAD_FB_OFFSET); /* inside the header */
    h = g;
    h.fb_offset = PAYLOAD - 3;
    expect(h, PAYLOAD, SG_KVMFR_BAD_FB_OFFSET);
    h = g;
    h.fb_offset = 0xFFFFFFFC;
    expect(h, PAYLOAD, SG_KVMFR_BAD_FB_OFFSET); /* + 4 would wrap */
    /* a misaligned payload pointer makes the word misaligned too */
    memmove(payload + 1, payload, 1084);
    assert_int_equal(sg_kvmfr_frame_read(payload + 1, PAYLOAD - 1, &f), SG_KVMFR_BAD_FB_OFFSET);

    h = g;
    h.data_height = H;
    h.frame_height = H;
    expect(h, PAYLOAD - 1, SG_KVMFR_FRAME_OUTSIDE_PAYLOAD);
    /* 16384 rows of 0xFFFFFFFC bytes: overflows 32 bits, caught in 64 */
    h = g;
    h.pitch = 0xFFFFFFFC;
    h.stride = h.pitch / 4;
    h.data_height = h.frame_height = 16384;
    h.screen_height = 16384;
    expect(h, PAYLOAD, SG_KVMFR_FRAME_OUTSIDE_PAYLOAD);
    h = g;
    h.fb_offset = PAYLOAD - 4;
    expect(h, PAYLOAD, SG_KVMFR_FRAME_OUTSIDE_PAYLOAD);

    h = g;
    h.damage_count = 65;
    expect(h, PAYLOAD, SG_KVMFR_BAD_DAMAGE_COUNT);
    h = g;
    h.damage_count = 0xFFFFFFFF;
    expect(h, PAYLOAD, SG_KVMFR_BAD_DAMAGE_COUNT);
    h = g;
    h.damage_count = 64;
    expect(h, PAYLOAD, SG_KVMFR_OK); /* zero-sized rects are fine */
    h = g;
    h.damage_count = 1;
    h.damage[0] = (struct sg_kvmfr_wire_rect){0xFFFFFFFF, 0, 2, 1};
    expect(h, PAYLOAD, SG_KVMFR_BAD_DAMAGE_RECT); /* x + w wraps */
    h = g;
    h.damage_count = 1;
    h.damage[0] = (struct sg_kvmfr_wire_rect){0, 1, W, H};
    expect(h, PAYLOAD, SG_KVMFR_BAD_DAMAGE_RECT);
    h = g;
    h.damage_count = 3;
    h.damage[2] = (struct sg_kvmfr_wire_rect){W, 0, 1, 1};
    expect(h, PAYLOAD, SG_KVMFR_BAD_DAMAGE_RECT);
    /* a bad rect past damage_count is stale and ignored */
    h = g;
    h.damage_count = 2;
    h.damage[2] = (struct sg_kvmfr_wire_rect){W, 0, 1, 1};
    expect(h, PAYLOAD, SG_KVMFR_OK);
}

static void test_types(void **state)
{
    assert_int_equal(sg_kvmfr_bytes_per_texel(SG_FRAME_BGRA), 4);
    assert_int_equal(sg_kvmfr_bytes_per_texel(SG_FRAME_RGBA), 4);
    assert_int_equal(sg_kvmfr_bytes_per_texel(SG_FRAME_RGBA10), 4);
    assert_int_equal(sg_kvmfr_bytes_per_texel(SG_FRAME_RGBA16F), 8);
    assert_int_equal(sg_kvmfr_bytes_per_texel(SG_FRAME_BGR_32), 4);
    assert_int_equal(sg_kvmfr_bytes_per_texel(SG_FRAME_RGB_24), 3);
    assert_int_equal(sg_kvmfr_bytes_per_texel(0), 0);
    assert_int_equal(sg_kvmfr_bytes_per_texel(7), 0);
    assert_string_equal(sg_kvmfr_frame_type_str(1), "BGRA");
    assert_string_equal(sg_kvmfr_frame_type_str(4), "RGBA16F");
    assert_string_equal(sg_kvmfr_frame_type_str(99), "INVALID");

    /* packed 24-bit: data_width may exceed a tiny frame width */
    struct sg_kvmfr_wire_frame h = good_header();
    h.type = SG_FRAME_BGR_32;
    h.frame_width = 10;
    h.data_width = W; /* 64-texel rounding would make it larger than 10 */
    expect(h, PAYLOAD, SG_KVMFR_OK);
    h.type = SG_FRAME_RGB_24;
    h.data_width = 10;
    h.pitch = 32;
    h.stride = 10;
    expect(h, PAYLOAD, SG_KVMFR_OK);
}

static void test_progress(void **state)
{
    uint32_t word = 0;
    sg_kvmfr_progress_store(&word, 1234);
    assert_int_equal(sg_kvmfr_progress_load(&word), 1234);
    assert_int_equal(sg_kvmfr_progress_wait(&word, 1234, 0, 0), SG_KVMFR_OK);
    assert_int_equal(sg_kvmfr_progress_wait(&word, 1000, 0, 0), SG_KVMFR_OK);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    assert_int_equal(sg_kvmfr_progress_wait(&word, 1235, 20, 1000000), SG_KVMFR_FB_TIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ms = (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6;
    assert_true(ms >= 19.0);  /* 20 polls of 1 ms: it did wait */
    assert_true(ms < 2000.0); /* and it is bounded */
    assert_int_equal(sg_kvmfr_progress_wait(&word, 1235, 1000, 0), SG_KVMFR_FB_TIMEOUT); /* spin variant */
}

struct writer {
    uint32_t *word;
    uint8_t *data;
    uint32_t size, step;
    unsigned delay_us;
};

/* Writes the data in steps, publishing the progress after each. */
static void *writer_thread(void *arg)
{
    struct writer *w = arg;
    for (uint32_t done = 0; done < w->size;) {
        uint32_t n = w->size - done < w->step ? w->size - done : w->step;
        for (uint32_t i = 0; i < n; i++)
            w->data[done + i] = (uint8_t)((done + i) * 31 + 5);
        done += n;
        struct timespec ts = {0, (long)w->delay_us * 1000};
        nanosleep(&ts, NULL);
        sg_kvmfr_progress_store(w->word, done);
    }
    return NULL;
}

static void test_progress_wait_thread(void **state)
{
    uint32_t word = 0;
    uint8_t data[4096];
    struct writer w = {&word, data, sizeof data, 100, 200};
    pthread_t t;
    pthread_create(&t, NULL, writer_thread, &w);
    assert_int_equal(sg_kvmfr_progress_wait(&word, sizeof data, 1000000, 1000), SG_KVMFR_OK);
    assert_int_equal(data[4095], (uint8_t)(4095 * 31 + 5));
    pthread_join(t, NULL);
}

/* A full copy while another thread writes: rows are taken as they arrive. */
static void test_copy_concurrent(void **state)
{
    struct sg_kvmfr_wire_frame h = good_header();
    put_header(&h);
    struct sg_kvmfr_frame f;
    assert_int_equal(sg_kvmfr_frame_read(payload, PAYLOAD, &f), SG_KVMFR_OK);
    uint32_t *word = sg_kvmfr_frame_progress_word(payload, &f);
    for (int same_pitch = 0; same_pitch < 2; same_pitch++) {
        sg_kvmfr_progress_store(word, 0);
        memset(payload + FB_OFF + 4, 0, H * PITCH);
        size_t dst_pitch = same_pitch ? PITCH : W * 4;
        uint8_t *dst = calloc(H, dst_pitch);
        struct writer w = {word, payload + FB_OFF + 4, H * PITCH, 333, 50};
        pthread_t t;
        pthread_create(&t, NULL, writer_thread, &w);
        uint32_t rows = 0;
        assert_int_equal(sg_kvmfr_frame_copy(payload, &f, dst, dst_pitch, false, &rows), SG_KVMFR_OK);
        pthread_join(t, NULL);
        assert_int_equal(rows, H);
        for (uint32_t y = 0; y < H; y++)
            for (uint32_t i = 0; i < W * 4; i++)
                assert_int_equal(dst[y * dst_pitch + i], (uint8_t)((y * PITCH + i) * 31 + 5));
        free(dst);
    }
}

/* A writer that publishes one row every 10 ms: each row arrives well within a
 * wait of up to 10000 polls of 100 us, so only the budget of all the waits
 * together ends the copy. The per-wait bound is that wide (it was 100 polls,
 * with a row every 3 ms) because the writer thread can be held 15-45 ms on a
 * loaded machine: the unbudgeted copy then timed out now and then (ASan, CI). */
static void test_copy_budget(void **state)
{
    struct sg_kvmfr_wire_frame h = good_header();
    put_header(&h);
    struct sg_kvmfr_frame f;
    assert_int_equal(sg_kvmfr_frame_read(payload, PAYLOAD, &f), SG_KVMFR_OK);
    uint32_t *word = sg_kvmfr_frame_progress_word(payload, &f);
    for (int budgeted = 0; budgeted < 2; budgeted++) {
        sg_kvmfr_progress_store(word, 0);
        uint8_t *dst = calloc(H, W * 4);
        struct writer w = {word, payload + FB_OFF + 4, H * PITCH, PITCH, 10000};
        pthread_t t;
        pthread_create(&t, NULL, writer_thread, &w);
        uint32_t rows = 0;
        /* up to 10000 polls of 100 us per wait; 20 polls for the whole copy (a row's worth) */
        enum sg_kvmfr_status st = sg_kvmfr_frame_copy_budget(payload, &f, dst, W * 4, false, 10000, 100000,
                                                             budgeted ? 20 : UINT32_MAX, &rows);
        pthread_join(t, NULL);
        if (budgeted) {
            /* without the budget every row would arrive within its wait */
            assert_int_equal(st, SG_KVMFR_FB_TIMEOUT);
            assert_true(rows < H);
        } else {
            assert_int_equal(st, SG_KVMFR_OK);
            assert_int_equal(rows, H);
        }
        free(dst);
    }
}

static void test_copy_partial_and_pitch(void **state)
{
    struct sg_kvmfr_wire_frame h = good_header();
    put_header(&h);
    fill_pattern(1);
    struct sg_kvmfr_frame f;
    assert_int_equal(sg_kvmfr_frame_read(payload, PAYLOAD, &f), SG_KVMFR_OK);
    uint32_t *word = sg_kvmfr_frame_progress_word(payload, &f);
    const uint8_t *src = payload + FB_OFF + 4;
    uint32_t rows;

    /* row-by-row into a wider destination: padding untouched */
    size_t dp = W * 4 + 100;
    uint8_t *dst = malloc(H * dp);
    memset(dst, 0xAA, H * dp);
    sg_kvmfr_progress_store(word, H * PITCH);
    assert_int_equal(sg_kvmfr_frame_copy(payload, &f, dst, dp, false, &rows), SG_KVMFR_OK);
    assert_int_equal(rows, H);
    for (uint32_t y = 0; y < H; y++) {
        assert_memory_equal(dst + y * dp, src + y * PITCH, W * 4);
        assert_int_equal(dst[y * dp + W * 4], 0xAA);
        assert_int_equal(dst[y * dp + dp - 1], 0xAA);
    }
    assert_int_equal(sg_kvmfr_frame_copy(payload, &f, dst, W * 4 - 1, false, &rows),
                     SG_KVMFR_BUFFER_TOO_SMALL);

    /* progress stops after 10.5 rows: row copy gives 10 rows, then times out */
    memset(dst, 0xAA, H * dp);
    sg_kvmfr_progress_store(word, 10 * PITCH + W * 2);
    assert_int_equal(sg_kvmfr_frame_copy_ex(payload, &f, dst, dp, false, 5, 0, &rows), SG_KVMFR_FB_TIMEOUT);
    assert_int_equal(rows, 10);
    assert_memory_equal(dst + 9 * dp, src + 9 * PITCH, W * 4);
    assert_int_equal(dst[10 * dp], 0xAA);
    /* row 10 is complete once its W*4 bytes are there, even without the padding */
    sg_kvmfr_progress_store(word, 10 * PITCH + W * 4);
    assert_int_equal(sg_kvmfr_frame_copy_ex(payload, &f, dst, dp, false, 5, 0, &rows), SG_KVMFR_FB_TIMEOUT);
    assert_int_equal(rows, 11);

    /* linear copy with the same pitch stops at the published byte */
    uint8_t *lin = malloc(H * PITCH);
    memset(lin, 0xAA, H * PITCH);
    sg_kvmfr_progress_store(word, 7 * PITCH + 3);
    assert_int_equal(sg_kvmfr_frame_copy_ex(payload, &f, lin, PITCH, false, 5, 0, &rows),
                     SG_KVMFR_FB_TIMEOUT);
    assert_int_equal(rows, 7);
    assert_memory_equal(lin, src, 7 * PITCH + 3);
    assert_int_equal(lin[7 * PITCH + 3], 0xAA);
    /* a bogus huge progress value is clamped to the frame */
    sg_kvmfr_progress_store(word, 0xFFFFFFFF);
    assert_int_equal(sg_kvmfr_frame_copy(payload, &f, lin, PITCH, false, &rows), SG_KVMFR_OK);
    assert_memory_equal(lin, src, H * PITCH);
    free(lin);
    free(dst);
}

static void test_copy_damage(void **state)
{
    struct sg_kvmfr_wire_frame h = good_header();
    h.damage_count = 2;
    h.damage[0] = (struct sg_kvmfr_wire_rect){2, 3, 5, 4};
    h.damage[1] = (struct sg_kvmfr_wire_rect){30, 20, 10, 10};
    put_header(&h);
    fill_pattern(9);
    struct sg_kvmfr_frame f;
    assert_int_equal(sg_kvmfr_frame_read(payload, PAYLOAD, &f), SG_KVMFR_OK);
    uint32_t *word = sg_kvmfr_frame_progress_word(payload, &f);
    const uint8_t *src = payload + FB_OFF + 4;
    uint8_t *dst = malloc(H * PITCH);
    uint32_t rows;

    memset(dst, 0xAA, H * PITCH);
    sg_kvmfr_progress_store(word, H * PITCH);
    assert_int_equal(sg_kvmfr_frame_copy(payload, &f, dst, PITCH, true, &rows), SG_KVMFR_OK);
    for (uint32_t y = 0; y < H; y++)
        for (uint32_t x = 0; x < W; x++) {
            bool in = (x >= 2 && x < 7 && y >= 3 && y < 7) || (x >= 30 && y >= 20);
            for (int c = 0; c < 4; c++) {
                uint8_t want = in ? src[y * PITCH + x * 4 + c] : 0xAA;
                if (dst[y * PITCH + x * 4 + c] != want)
                    fail_msg("pixel %u,%u byte %d: %u, want %u", x, y, c, dst[y * PITCH + x * 4 + c], want);
            }
        }

    /* the second rect's rows are not there yet: timeout, first rect copied */
    memset(dst, 0xAA, H * PITCH);
    sg_kvmfr_progress_store(word, 15 * PITCH);
    assert_int_equal(sg_kvmfr_frame_copy_ex(payload, &f, dst, PITCH, true, 3, 0, &rows), SG_KVMFR_FB_TIMEOUT);
    assert_int_equal(rows, 15);
    assert_memory_equal(dst + 6 * PITCH + 8, src + 6 * PITCH + 8, 20);
    assert_int_equal(dst[20 * PITCH + 30 * 4], 0xAA);

    /* without only_damage, or with damage_count 0, everything is copied */
    memset(dst, 0xAA, H * PITCH);
    sg_kvmfr_progress_store(word, H * PITCH);
    assert_int_equal(sg_kvmfr_frame_copy(payload, &f, dst, PITCH, false, &rows), SG_KVMFR_OK);
    assert_memory_equal(dst, src, H * PITCH);

    /* packed 24-bit: pixel span [1, 3) -> texels [0, 3) */
    h.type = SG_FRAME_BGR_32;
    h.damage_count = 1;
    h.damage[0] = (struct sg_kvmfr_wire_rect){1, 0, 2, 1};
    put_header(&h);
    assert_int_equal(sg_kvmfr_frame_read(payload, PAYLOAD, &f), SG_KVMFR_OK);
    memset(dst, 0xAA, H * PITCH);
    assert_int_equal(sg_kvmfr_frame_copy(payload, &f, dst, PITCH, true, &rows), SG_KVMFR_OK);
    assert_memory_equal(dst, src, 12);
    assert_int_equal(dst[12], 0xAA);
    assert_int_equal(dst[PITCH], 0xAA);
    free(dst);
}

static void test_write_and_init(void **state)
{
    memset(payload, 0x77, 8192);
    sg_kvmfr_frame_init_block(payload, FB_OFF);
    struct sg_kvmfr_frame f;
    uint32_t v;
    memcpy(&v, payload + 48, 4);
    assert_int_equal(v, FB_OFF);
    memcpy(&v, payload + FB_OFF, 4);
    assert_int_equal(v, 0);
    assert_int_equal(payload[1083], 0);
    assert_int_equal(payload[1084], 0x77);

    struct sg_kvmfr_wire_frame h = good_header();
    h.fb_offset = 12345; /* never written by frame_write */
    h.damage_count = 1;
    h.damage[0] = (struct sg_kvmfr_wire_rect){1, 2, 3, 4};
    h.damage[1] = (struct sg_kvmfr_wire_rect){9, 9, 9, 9};
    h.flags = SG_FRAME_FLAG_TRUNCATED;
    sg_kvmfr_frame_write(payload, &h);
    assert_int_equal(sg_kvmfr_frame_read(payload, PAYLOAD, &f), SG_KVMFR_OK);
    assert_int_equal(f.hdr.fb_offset, FB_OFF);
    assert_int_equal(f.hdr.frame_serial, 77);
    assert_int_equal(f.hdr.damage[0].height, 4);
    assert_int_equal(f.hdr.damage[1].x, 0); /* only damage_count rects written */
    memcpy(&v, payload + 1080, 4);
    assert_int_equal(v, SG_FRAME_FLAG_TRUNCATED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_read_valid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_hostile, setup, teardown),
        cmocka_unit_test_setup_teardown(test_types, setup, teardown),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_progress_wait_thread),
        cmocka_unit_test_setup_teardown(test_copy_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_partial_and_pitch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_copy_damage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_and_init, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
