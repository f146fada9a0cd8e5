/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A hostile guest at full speed: an in-process host posts frames and cursor
 * shapes, one in five with a header field the client must refuse, while
 * another thread keeps overwriting what the client reads (LGMP
 * and queue headers, ring slots, indexes, frame headers and their progress
 * word, cursor headers) with extreme values, each for a moment. The client's
 * session runs against it and a loop copies frames like the window does.
 * Checked: no crash (and nothing for ASan/UBSan in that build), every copy
 * finishes within the client's wait bounds, memory stays bounded, the log
 * names each rejected frame and cursor message with its reason, the rejection
 * counter matches the log, and once the writer stops the client shows the
 * host's frames again, byte for byte. SG_STRESS_KEEP_LOG=1 keeps the client's
 * log in /tmp/sgc-stress-test-PID.log.
 */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <unistd.h>

#include <cmocka.h>

#include "kvmfr.h"
#include "lgmp.h"
#include "session.h"
#include "shm.h"
#include "view.h"

#ifdef __SANITIZE_ADDRESS__
/* freed blocks are kept 256 MiB deep by default: the RSS check would measure that */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=16";
}
#endif

#define REGION_SIZE (16u << 20)
#define FW 128u
#define FH 96u
#define ALIGN 4096u
#define STRESS_MS 4000u
#define FB_POLLS 2000u /* as client/frame_upload.c */

static struct sg_shm shm;
static char path[128], log_path[160];
static pthread_mutex_t host_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sg_lgmp_host *host;
static struct sg_lgmp_host_queue *fq, *cq;
static struct sg_lgmp_mem blocks[2], shapes[3];
static atomic_bool stop_host, stop_flip;
static atomic_uint serial, flips;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_us(unsigned us)
{
    struct timespec ts = {us / 1000000u, (long)(us % 1000000u) * 1000};
    nanosleep(&ts, NULL);
}

static uint8_t px_value(uint32_t s, uint32_t k)
{
    return (uint8_t)(s * 7u + k * 13u);
}

/* (Re)creates the host: a new session, queues and blocks. Under host_lock. */
static void start_host(void)
{
    struct sg_kvmfr_info info = {.version = SG_KVMFR_VERSION};
    snprintf(info.host_version, sizeof(info.host_version), "stress");
    uint8_t ad[512];
    size_t n = sg_kvmfr_build_info(&info, ad, sizeof(ad));
    sg_lgmp_host_destroy(host);
    assert_int_equal(sg_lgmp_host_create(&host, shm.base, shm.size, ad, (uint32_t)n, NULL), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_queue_create(host, SG_KVMFR_FRAME_QUEUE_ID, 2, 1000, &fq), SG_LGMP_OK);
    assert_int_equal(sg_lgmp_host_queue_create(host, SG_KVMFR_CURSOR_QUEUE_ID, 20, 1000, &cq), SG_LGMP_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(sg_lgmp_host_alloc(host, SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE, &shapes[i]), SG_LGMP_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sg_lgmp_host_alloc_aligned(host, ALIGN, 1u << 20, &blocks[i]), SG_LGMP_OK);
        sg_kvmfr_frame_init_block(blocks[i].ptr, ALIGN - 4);
    }
}

static atomic_bool spoil; /* the host itself posts bad messages now and then */

/* A header field and a value the client must refuse, for a frame or a cursor message. */
static void spoil_frame(struct sg_kvmfr_wire_frame *h, uint32_t n)
{
    switch (n % 7) {
    case 0:
        h->type = n % 2 ? 0 : 0x80000007u;
        break;
    case 1:
        h->data_width = n % 2 ? 0 : 16385;
        break;
    case 2:
        h->data_height = FH + 1;
        break; /* taller than the frame */
    case 3:
        h->pitch = 1;
        break;
    case 4:
        h->damage_count = 65;
        break;
    case 5:
        h->frame_height = 0xffffffffu;
        break;
    default:
        h->stride = FW + 1;
        break;
    }
}

static void spoil_cursor(struct sg_kvmfr_wire_cursor *c, uint32_t n)
{
    switch (n % 5) {
    case 0:
        c->shape_type = 3 + n % 1000;
        break;
    case 1:
        c->width = n % 2 ? 0 : 1025;
        break;
    case 2:
        c->pitch = 4;
        break;
    case 3:
        c->height = 0x80000000u;
        break;
    default:
        c->height = 0x4000;
        c->pitch = 0x4000;
        break; /* 256 MiB */
    }
}

static void post_frame(unsigned b)
{
    uint32_t s = atomic_fetch_add(&serial, 1) + 1;
    struct sg_kvmfr_wire_frame h = {
        .frame_serial = s,
        .type = SG_FRAME_BGRA,
        .screen_width = FW,
        .screen_height = FH,
        .data_width = FW,
        .data_height = FH,
        .frame_width = FW,
        .frame_height = FH,
        .stride = FW,
        .pitch = FW * 4,
    };
    if (atomic_load(&spoil) && s % 5 == 0)
        spoil_frame(&h, s / 5);
    uint8_t *p = blocks[b].ptr;
    sg_kvmfr_frame_write(p, &h);
    /* B7 writes the block's fb_offset once; the writer below may have changed it */
    uint32_t fb = ALIGN - 4;
    memcpy(p + offsetof(struct sg_kvmfr_wire_frame, fb_offset), &fb, 4);
    uint32_t *word = (uint32_t *)(p + fb);
    sg_kvmfr_progress_store(word, 0);
    sg_lgmp_host_post(fq, 0, &blocks[b]);
    for (uint32_t k = 0; k < FW * FH * 4; k++)
        p[ALIGN + k] = px_value(s, k);
    sg_kvmfr_progress_store(word, FW * FH * 4);
}

static void post_cursor(unsigned i, uint32_t n)
{
    uint8_t *p = shapes[i].ptr;
    struct sg_kvmfr_wire_cursor c = {.x = (int16_t)(n % 100),
                                     .y = 20,
                                     .shape_type = SG_CURSOR_COLOR,
                                     .hot_x = 1,
                                     .hot_y = 2,
                                     .width = 32,
                                     .height = 32,
                                     .pitch = 128};
    if (atomic_load(&spoil) && n % 5 == 0)
        spoil_cursor(&c, n / 5);
    sg_kvmfr_cursor_write(p, &c);
    memset(p + SG_KVMFR_CURSOR_HEADER_SIZE, 0x80, 32 * 128);
    sg_lgmp_host_post(cq, SG_CURSOR_FLAG_POSITION | SG_CURSOR_FLAG_VISIBLE | SG_CURSOR_FLAG_SHAPE,
                      &shapes[i]);
}

static void *host_main(void *arg)
{
    uint64_t next_tick = 0;
    for (uint32_t n = 0; !atomic_load(&stop_host); n++) {
        pthread_mutex_lock(&host_lock);
        if (now_ms() >= next_tick) {
            next_tick = now_ms() + 10;
            if (sg_lgmp_host_process(host) == SG_LGMP_CORRUPTED)
                start_host(); /* the magic was wiped: a host restarts */
            uint8_t msg[64];
            uint32_t len;
            while (sg_lgmp_host_read_cmsg(cq, msg, &len) != SG_LGMP_QUEUE_EMPTY)
                sg_lgmp_host_ack_cmsg(cq);
        }
        if (sg_lgmp_host_queue_pending(fq) < 2)
            post_frame(n & 1);
        if (n % 2 == 0)
            post_cursor(n % 3, n);
        pthread_mutex_unlock(&host_lock);
        sleep_us(2000);
    }
    return NULL;
}

/* ------------------------------------------------------------ the writer */

static uint32_t rnd(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

static uint32_t extreme(uint32_t *seed)
{
    static const uint32_t v[] = {0,     1,        2,          3,           4,           0x7f,
                                 0x80,  0xff,     0x7fff,     0x8000,      0xffff,      16384,
                                 16385, 1u << 20, 0x7fffffff, 0x80000000u, 0xfffffffeu, 0xffffffffu};
    uint32_t k = rnd(seed) % (sizeof(v) / sizeof(v[0]) + 2);
    return k < sizeof(v) / sizeof(v[0]) ? v[k] : rnd(seed) * 2654435761u;
}

/* One 4-byte field the client reads, as an offset into the region. */
static size_t pick_field(uint32_t *seed)
{
    const size_t q0 = 32, qsize = 1144;
    size_t q = q0 + qsize * (rnd(seed) % 2);
    static const size_t qf[] = {0,   4,   16,  20,  416,
                                420, 424, 440, 456, 460}; /* id, slots, write, ring, subs, read... */
    static const size_t ff[] = {8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60, 64, 68, 1080};
    static const size_t cf[] = {0, 4, 8, 12, 16, 20};
    /* mostly what each message carries; the session-wide fields now and then, since
     * each of those flips costs a re-attach */
    uint32_t k = rnd(seed) % 1024;
    if (k <= 1) { /* global header: magic (rarely), session id, queue count, app data size */
        static const size_t g[] = {8, 24, 24, 5752, 5752, 8, 0};
        return g[rnd(seed) % 7];
    }
    if (k <= 9)
        return q + qf[rnd(seed) % (sizeof(qf) / sizeof(qf[0]))];
    if (k <= 179) { /* a ring slot: app_value, size, offset */
        uint32_t ring, slots;
        memcpy(&ring, (uint8_t *)shm.base + q + 20, 4);
        memcpy(&slots, (uint8_t *)shm.base + q + 4, 4);
        if (ring < 5760 || slots == 0 || slots > 64 || (uint64_t)ring + slots * 16ull > REGION_SIZE)
            return q + 16;
        return ring + (rnd(seed) % slots) * 16 + (rnd(seed) % 3) * 4;
    }
    if (k <= 699) /* a frame header field, or the progress word */
        return blocks[rnd(seed) % 2].offset +
               (rnd(seed) % 6 ? ff[rnd(seed) % (sizeof(ff) / sizeof(ff[0]))] : ALIGN - 4);
    return shapes[rnd(seed) % 3].offset + cf[rnd(seed) % (sizeof(cf) / sizeof(cf[0]))];
}

static void *flip_main(void *arg)
{
    uint32_t seed = 20261125;
    uint8_t *base = shm.base;
    while (!atomic_load(&stop_flip)) {
        size_t off = pick_field(&seed) & ~(size_t)3;
        uint32_t old, v = extreme(&seed);
        memcpy(&old, base + off, 4);
        __atomic_store_n((uint32_t *)(base + off), v, __ATOMIC_RELAXED);
        atomic_fetch_add(&flips, 1);
        sleep_us(50 + rnd(&seed) % 1500);
        /* put it back unless the host rewrote it meanwhile */
        uint32_t expected = v;
        __atomic_compare_exchange_n((uint32_t *)(base + off), &expected, old, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED);
        sleep_us(rnd(&seed) % 300);
    }
    return NULL;
}

/* ------------------------------------------------------------ the reader */

static long vm_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long v = -1;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof(line), f))
        if (!strncmp(line, key, n) && line[n] == ':')
            v = atol(line + n + 1);
    if (f)
        fclose(f);
    return v;
}

struct reader {
    uint64_t frames, frames_ok, cursors, max_copy_ms;
    uint32_t last_good_serial;
};

/* What client/frame_upload.c does with a frame, into memory sized by the checked header. */
static void read_frame(struct sg_session *s, struct reader *r, bool verify)
{
    struct sg_session_frame sf;
    if (!sg_session_frame_take(s, &sf))
        return;
    const struct sg_kvmfr_wire_frame *h = &sf.frame.hdr;
    size_t pitch = (size_t)h->data_width * sf.frame.bytes_per_texel;
    uint8_t *dst = malloc(pitch * h->data_height);
    assert_non_null(dst);
    uint64_t t0 = now_ms();
    uint32_t rows = 0;
    enum sg_kvmfr_status ks = sg_kvmfr_frame_copy_budget(sf.payload, &sf.frame, dst, pitch, false, FB_POLLS,
                                                         1000, 5 * FB_POLLS, &rows);
    uint64_t dt = now_ms() - t0;
    r->max_copy_ms = dt > r->max_copy_ms ? dt : r->max_copy_ms;
    assert_true(rows <= h->data_height);
    sg_session_frame_done(s, sf.generation);
    r->frames++;
    if (ks == SG_KVMFR_OK && verify && h->data_width == FW && h->data_height == FH) {
        for (uint32_t k = 0; k < FW * FH * 4; k += 997)
            assert_int_equal(dst[k], px_value(h->frame_serial, k));
        r->frames_ok++;
        r->last_good_serial = h->frame_serial;
    }
    /* where the window would draw the guest's cursor: finite, whatever the guest said */
    struct sg_view v;
    sg_view_compute(&v, SG_SCALE_KEEP, 800, 600, (int)h->screen_width, (int)h->screen_height,
                    (int)sf.frame.rotation);
    struct sg_guest_cursor gc;
    sg_session_cursor_peek(s, &gc);
    double wx = 0, wy = 0;
    if (sg_view_guest_to_window(&v, gc.x, gc.y, &wx, &wy))
        assert_true(isfinite(wx) && isfinite(wy));
    free(dst);
}

static void read_cursor(struct sg_session *s, struct reader *r)
{
    struct sg_session_cursor c;
    if (!sg_session_cursor_take(s, &c))
        return;
    r->cursors++;
    if (c.new_shape) {
        assert_true(c.shape.w >= 1 && c.shape.w <= SG_KVMFR_CURSOR_MAX_DIM);
        assert_true(c.shape.h >= 1 && c.shape.h <= SG_KVMFR_CURSOR_MAX_DIM);
        sg_cursor_image_finish(&c.shape);
    }
}

/* Lines of the log that start with prefix and contain " rejected: " followed by a
 * KVMFR status name; any other " rejected: " line fails the test. *total adds
 * the rejections a line says were not logged before it. */
static unsigned count_rejections(const char *log, const char *prefix, unsigned *total)
{
    unsigned n = 0;
    for (const char *l = log; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        size_t len = strcspn(l, "\n");
        if (strncmp(l, prefix, strlen(prefix)) != 0)
            continue;
        const char *why = strstr(l, " rejected: ");
        assert_true(why && why < l + len);
        why += strlen(" rejected: ");
        bool named = false;
        for (int k = 1; k <= SG_KVMFR_BUFFER_TOO_SMALL && !named; k++)
            named = !strncmp(why, sg_kvmfr_status_str((enum sg_kvmfr_status)k),
                             strlen(sg_kvmfr_status_str((enum sg_kvmfr_status)k)));
        for (int k = 1; k <= SG_CURSOR_NO_MEM && !named; k++)
            named = !strncmp(why, sg_cursor_status_str((enum sg_cursor_status)k),
                             strlen(sg_cursor_status_str((enum sg_cursor_status)k)));
        if (!named)
            fail_msg("rejection without a reason: %.*s", (int)len, l);
        n++;
        *total += 1;
        const char *note = strstr(why, " similar rejections not logged)");
        if (note && note < l + len) {
            while (note > why && note[-1] != '(')
                note--;
            *total += (unsigned)strtoul(note, NULL, 10);
        }
    }
    return n;
}

static void hostile_writer(void **state)
{
    pthread_mutex_lock(&host_lock);
    start_host();
    pthread_mutex_unlock(&host_lock);
    pthread_t ht, ft;
    assert_int_equal(pthread_create(&ht, NULL, host_main, NULL), 0);

    fflush(stderr);
    int saved_err = dup(2);
    FILE *logf = fopen(log_path, "w+");
    assert_non_null(logf);
    dup2(fileno(logf), 2);

    struct sg_session_opts o = {.path = path, .poll_us = 200, .retry_ms = 50};
    struct sg_session *s = sg_session_create(&o);
    assert_non_null(s);
    struct reader r = {0};
    struct sg_session_status st;
    uint64_t t_end = now_ms() + 3000;
    while (r.frames_ok == 0 && now_ms() < t_end) {
        read_frame(s, &r, true);
        read_cursor(s, &r);
        sleep_us(500);
    }
    assert_int_not_equal(r.frames_ok, 0);
    long rss0 = vm_kb("VmRSS");

    atomic_store(&spoil, true);
    assert_int_equal(pthread_create(&ft, NULL, flip_main, NULL), 0);
    t_end = now_ms() + STRESS_MS;
    uint64_t frames_before = r.frames, cursors_before = r.cursors;
    while (now_ms() < t_end) {
        read_frame(s, &r, false);
        read_cursor(s, &r);
        sleep_us(500);
    }
    atomic_store(&stop_flip, true);
    pthread_join(ft, NULL);
    atomic_store(&spoil, false);
    uint32_t serial_at_stop = atomic_load(&serial);
    uint64_t stressed_frames = r.frames - frames_before, stressed_cursors = r.cursors - cursors_before;

    /* the writer is gone: the host's own frames come through intact again */
    uint64_t ok_before = r.frames_ok;
    t_end = now_ms() + 8000;
    while ((r.frames_ok == ok_before || r.last_good_serial <= serial_at_stop) && now_ms() < t_end) {
        read_frame(s, &r, true);
        read_cursor(s, &r);
        sleep_us(500);
    }
    sg_session_get_status(s, &st);
    long hwm = vm_kb("VmHWM");
    uint64_t t0 = now_ms();
    sg_session_destroy(s);
    uint64_t destroy_ms = now_ms() - t0;
    atomic_store(&stop_host, true);
    pthread_join(ht, NULL);

    fflush(stderr);
    dup2(saved_err, 2);
    close(saved_err);
    fseek(logf, 0, SEEK_END);
    long size = ftell(logf);
    char *log = calloc(1, (size_t)size + 1);
    assert_non_null(log);
    rewind(logf);
    assert_int_equal(fread(log, 1, (size_t)size, logf), (size_t)size);
    fclose(logf);

    unsigned total = 0;
    unsigned frame_rej = count_rejections(log, "spyglass-client: frame message at offset ", &total);
    unsigned cursor_rej = count_rejections(log, "spyglass-client: cursor message at offset ", &total) +
                          count_rejections(log, "spyglass-client: cursor shape type ", &total);
    fprintf(
        stderr,
        "stress: %u writes; during them %llu frames and %llu cursor updates taken; rejected %u frame and %u "
        "cursor messages (%u with the ones left out; counter %u); longest copy %llu ms; RSS %ld kB -> peak "
        "%ld kB; destroy %llu ms; "
        "state %s (%s)\n",
        atomic_load(&flips), (unsigned long long)stressed_frames, (unsigned long long)stressed_cursors,
        frame_rej, cursor_rej, total, st.rejected, (unsigned long long)r.max_copy_ms, rss0, hwm,
        (unsigned long long)destroy_ms, sg_session_state_str(st.state), st.message);
    if (r.frames_ok == ok_before || r.last_good_serial <= serial_at_stop)
        fail_msg("no intact frame after the writer stopped; log tail:\n%s",
                 log + (size > 3000 ? size - 3000 : 0));
    free(log);

    assert_true(stressed_frames > 0 && stressed_cursors > 0);
    assert_true(frame_rej > 0);
    assert_true(cursor_rej > 0);
    /* the log accounts for the rejections it left out; the ones after the last
     * line logged of each kind are only counted (two bursts a second at most) */
    assert_true(st.rejected > 0 && total <= st.rejected + 20 && total + 50 >= st.rejected / 2);
    assert_true(frame_rej <= 6 * (STRESS_MS / 1000 + 10) && cursor_rej <= 12 * (STRESS_MS / 1000 + 10));
    assert_true(r.max_copy_ms < 3000); /* the budget is ~0.5 s of polls; loaded machines sleep longer */
    assert_true(destroy_ms < 3000);
    /* the 16 MiB region is mapped (and counted once touched); frames are 48 KiB, shapes 8 MiB at most */
    assert_true(hwm - rss0 < 96 * 1024);
    sg_lgmp_host_destroy(host);
}

/* meson's timeout sends SIGTERM: do not leave the 16 MiB region and the log behind */
static void on_term(int sig)
{
    unlink(path);
    unlink(log_path);
    signal(sig, SIG_DFL);
    raise(sig);
}

int main(void)
{
    snprintf(path, sizeof(path), "/dev/shm/sgc-stress-test-%d", (int)getpid());
    snprintf(log_path, sizeof(log_path), "/tmp/sgc-stress-test-%d.log", (int)getpid());
    signal(SIGTERM, on_term);
    signal(SIGINT, on_term);
    char err[256];
    struct sg_shm_open_opts o = {.path = path, .create = true, .create_size = REGION_SIZE};
    if (sg_shm_open(&shm, &o, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(hostile_writer)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sg_shm_close(&shm);
    unlink(path);
    if (!getenv("SG_STRESS_KEEP_LOG"))
        unlink(log_path);
    return rc;
}
