/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A scriptable KVMFR host for the client's window tests: it writes a region
 * the way a B7 host does (LGMP session, frame and cursor queues, frame blocks
 * with progress words) and posts exactly the frames and cursor messages its
 * standard input asks for, so a test knows every pixel the client must show.
 *
 * Commands (one per line; "ok" or "error ..." is printed after each):
 *   frame W H [TYPE [FLAGS [ROT]]]  post a quadrant pattern (red, green / blue, white); TYPE 5
 *                             (BGR_32) packs the pixels into rows of 64-texel multiples like B7
 *   stream FPS [FULL]         post frames continuously (a moving 16x16 marker, one damage rect,
 *                             or whole frames when FULL is 1); 0 stops
 *   stall                     post a frame like the last one whose rows never arrive (progress 0)
 *   late W H                  post a W x H pattern frame whose progress word stays 0 until "publish"
 *   publish                   publish all rows of the "late" frame at once
 *   cursor TYPE X Y HX HY     post a 16x16 test shape: 0 colour, 1 monochrome, 2 masked colour
 *   move X Y | hide | show    position/visibility-only cursor messages
 *   status                    prints "subs F C frames N marker X Y serial S" (subscribers of the
 *                             frame/cursor queues, frames posted, marker and serial of the last one)
 *   quit
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kvmfr.h"
#include "lgmp.h"
#include "shm.h"

#define ALIGN 4096u

static struct sg_lgmp_host *host;
static struct sg_lgmp_host_queue *fq, *cq;
static struct sg_lgmp_mem records[SG_KVMFR_CURSOR_RECORDS], shapes[SG_KVMFR_CURSOR_SHAPE_BUFFERS], blocks[2];
static unsigned rec_i, shape_i, block_i, last_block = 99;
static uint32_t serial, format_version;
static int cur_x, cur_y, cur_visible = 1, have_shape, cur_shape_buf;
static uint32_t fw = 320, fh = 240, ftype = SG_FRAME_BGRA, fflags, frot;
static uint64_t frames_posted;
static int last_mx = -1, last_my = -1; /* marker of the last posted frame */
static bool stream_full;               /* stream whole frames (no damage rects) */
static uint8_t *pat;                   /* the pattern in the current format, pitch * fh bytes */
static uint32_t pat_w, pat_h, pat_type;
/* "trickle": a frame with padded rows whose progress word advances one row at a time */
static uint32_t pad_texels;
static bool trickle_next;
static uint32_t *trickle_word, trickle_rows, trickle_pitch, trickle_ms;
static uint64_t next_trickle;
/* "late": the rows are written, their progress published only on "publish" */
static bool late_next;
static uint32_t *late_word, late_value;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint16_t half(float f)
{
    /* exact for 0, 1 and 0.5 steps, which is all the pattern uses */
    if (f == 0.0f)
        return 0;
    if (f >= 1.0f)
        return 0x3c00;
    return 0x3800;
}

static void texel(uint8_t *p, uint32_t type, uint8_t r, uint8_t g, uint8_t b)
{
    switch (type) {
    case SG_FRAME_RGBA:
        p[0] = r, p[1] = g, p[2] = b, p[3] = 255;
        break;
    case SG_FRAME_RGBA10: {
        uint32_t v = (uint32_t)(r * 1023 / 255) | (uint32_t)(g * 1023 / 255) << 10 |
                     (uint32_t)(b * 1023 / 255) << 20 | 3u << 30;
        memcpy(p, &v, 4);
        break;
    }
    case SG_FRAME_RGBA16F: {
        uint16_t v[4] = {half(r / 255.0f), half(g / 255.0f), half(b / 255.0f), 0x3c00};
        memcpy(p, v, 8);
        break;
    }
    case SG_FRAME_RGB_24:
        p[0] = r, p[1] = g, p[2] = b;
        break;
    case SG_FRAME_BGR_32: /* one pixel: 3 bytes of the packed row */
        p[0] = b, p[1] = g, p[2] = r;
        break;
    default: /* BGRA and anything else with 4 bytes */
        p[0] = b, p[1] = g, p[2] = r, p[3] = 255;
        break;
    }
}

static void pattern_px(uint32_t x, uint32_t y, uint8_t *r, uint8_t *g, uint8_t *b)
{
    bool right = x >= fw / 2, bottom = y >= fh / 2;
    static const uint8_t c[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
    int q = (bottom ? 2 : 0) + (right ? 1 : 0);
    *r = c[q][0], *g = c[q][1], *b = c[q][2];
}

static bool has_subs(void)
{
    return sg_lgmp_host_queue_has_subs(fq) || sg_lgmp_host_queue_has_subs(cq);
}

/* marker: a 16x16 black square at (mx, my) over the pattern, or none if mx < 0 */
static bool stall_next; /* post the next frame but never publish its rows */

static int post_frame(int mx, int my, int prev_mx, int prev_my, int prev2_mx, int prev2_my)
{
    uint32_t bpt = sg_kvmfr_bytes_per_texel(ftype);
    if (!bpt)
        bpt = 4;
    /* BGR_32 packs 3-byte pixels into 4-byte texels, rows rounded to 64 texels like B7's hosts */
    uint32_t pxb = ftype == SG_FRAME_BGR_32 ? 3 : bpt; /* bytes per pixel */
    uint32_t dw = ftype == SG_FRAME_BGR_32 ? ((3 * fw + 3) / 4 + 63) / 64 * 64 : fw;
    uint32_t pitch = (dw + pad_texels) * bpt;
    if ((uint64_t)pitch * fh + ALIGN > blocks[0].size)
        return -1;
    if (sg_lgmp_host_queue_pending(fq) >= 2)
        return 1; /* B7 waits; a test host just skips */
    unsigned i = block_i;
    block_i ^= 1;
    uint8_t *p = blocks[i].ptr;
    struct sg_kvmfr_wire_frame h = {0};
    h.format_version = format_version;
    h.frame_serial = serial++;
    h.type = ftype;
    h.screen_width = h.frame_width = fw;
    h.data_width = dw;
    h.screen_height = h.frame_height = h.data_height = fh;
    h.stride = dw + pad_texels;
    h.pitch = pitch;
    h.flags = fflags;
    h.rotation = frot;
    if (mx >= 0 && last_block != 99 && !stream_full) {
        /* damage: the old and new marker squares (this block is two frames old: cover both moves) */
        h.damage_count = 1;
        int xs[3] = {mx, prev_mx, prev2_mx}, ys[3] = {my, prev_my, prev2_my};
        int x0 = mx, y0 = my, x1 = mx, y1 = my;
        for (int k = 1; k < 3; k++) {
            x0 = xs[k] < x0 ? xs[k] : x0, x1 = xs[k] > x1 ? xs[k] : x1;
            y0 = ys[k] < y0 ? ys[k] : y0, y1 = ys[k] > y1 ? ys[k] : y1;
        }
        x1 += 16, y1 += 16;
        h.damage[0] =
            (struct sg_kvmfr_wire_rect){(uint32_t)x0, (uint32_t)y0, (uint32_t)(x1 - x0), (uint32_t)(y1 - y0)};
    }
    sg_kvmfr_frame_write(p, &h);
    uint32_t *word = (uint32_t *)(p + ALIGN - 4);
    sg_kvmfr_progress_store(word, 0);
    sg_lgmp_host_post(fq, 0, &blocks[i]);
    uint8_t *data = p + ALIGN;
    if (stall_next) {
        stall_next = false;
        last_block = i;
        frames_posted++;
        return 0; /* progress stays 0: the reader's waits time out */
    }
    if (!pat || pat_w != fw || pat_h != fh || pat_type != ftype) {
        free(pat);
        pat = calloc(fh, pitch);
        if (!pat)
            return -1;
        for (uint32_t y = 0; y < fh; y++)
            for (uint32_t x = 0; x < fw; x++) {
                uint8_t r, g, b;
                pattern_px(x, y, &r, &g, &b);
                texel(pat + (size_t)y * pitch + (size_t)x * pxb, ftype, r, g, b);
            }
        pat_w = fw, pat_h = fh, pat_type = ftype;
    }
    uint8_t black[16 * 8] = {0};
    for (uint32_t k = 0; k + pxb <= 16 * 8; k += pxb)
        texel(black + k, ftype, 0, 0, 0);
    for (uint32_t y = 0; y < fh; y += 64) {
        uint32_t n = fh - y < 64 ? fh - y : 64;
        memcpy(data + (size_t)y * pitch, pat + (size_t)y * pitch, (size_t)n * pitch);
        for (uint32_t yy = y; yy < y + n; yy++)
            if (mx >= 0 && (int)yy >= my && (int)yy < my + 16)
                memcpy(data + (size_t)yy * pitch + (size_t)mx * pxb, black, 16 * pxb);
        if (!trickle_next && !late_next)
            sg_kvmfr_progress_store(word, (y + n) * pitch);
    }
    if (late_next) {
        late_next = false;
        late_word = word, late_value = fh * pitch;
    }
    if (trickle_next) {
        trickle_next = false;
        trickle_word = word, trickle_rows = 0, trickle_pitch = pitch;
        next_trickle = now_ms() + trickle_ms;
    }
    last_block = i;
    last_mx = mx, last_my = my;
    frames_posted++;
    return 0;
}

static void repost_last(void)
{
    if (last_block != 99)
        sg_lgmp_host_post(fq, 0, &blocks[last_block]);
}

static void make_shape(uint8_t *d, int type, uint32_t *rows, uint32_t *pitch)
{
    const uint32_t w = 16, h = 16;
    if (type == SG_CURSOR_MONOCHROME) {
        *pitch = 4; /* 2 bytes used, padded */
        *rows = 2 * h;
        memset(d, 0, (size_t)*rows * *pitch);
        for (uint32_t y = 0; y < h; y++) {
            int band = (int)y / 4; /* 0 black (0,0), 1 white (0,1), 2 unchanged (1,0), 3 invert (1,1) */
            uint8_t and_b = (band >= 2) ? 0xff : 0, xor_b = (band == 1 || band == 3) ? 0xff : 0;
            d[y * 4] = d[y * 4 + 1] = and_b;
            d[(y + h) * 4] = d[(y + h) * 4 + 1] = xor_b;
        }
        return;
    }
    *pitch = w * 4;
    *rows = h;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *p = d + y * w * 4 + x * 4; /* B, G, R, A/M */
            bool left = x < w / 2;
            if (type == SG_CURSOR_COLOR) {
                if (left)
                    p[0] = 0, p[1] = 255, p[2] = 255, p[3] = 255; /* yellow, opaque */
                else
                    p[0] = p[1] = p[2] = p[3] = 0; /* transparent */
            } else {
                if (left)
                    p[0] = 0, p[1] = 255, p[2] = 0, p[3] = 0; /* green, M=0: opaque */
                else
                    p[0] = p[1] = p[2] = 255, p[3] = 255; /* white, M=0xFF: XOR = invert */
            }
        }
}

static uint32_t cur_flags(void)
{
    return SG_CURSOR_FLAG_POSITION | (cur_visible ? SG_CURSOR_FLAG_VISIBLE : 0);
}

static void post_cursor(uint32_t flags, struct sg_lgmp_mem *m)
{
    for (int tries = 0; tries < 100000; tries++) {
        enum sg_lgmp_status s = sg_lgmp_host_post(cq, flags, m);
        if (s != SG_LGMP_QUEUE_FULL)
            return;
        usleep(10);
        sg_lgmp_host_process(host);
    }
}

static void cursor_shape(int type, int x, int y, int hx, int hy)
{
    struct sg_lgmp_mem *m = &shapes[shape_i];
    cur_shape_buf = (int)shape_i;
    shape_i = (shape_i + 1) % SG_KVMFR_CURSOR_SHAPE_BUFFERS;
    uint32_t rows, pitch;
    make_shape((uint8_t *)m->ptr + SG_KVMFR_CURSOR_HEADER_SIZE, type, &rows, &pitch);
    cur_x = x, cur_y = y;
    struct sg_kvmfr_wire_cursor c = {.x = (int16_t)x,
                                     .y = (int16_t)y,
                                     .shape_type = (uint32_t)type,
                                     .hot_x = (int8_t)hx,
                                     .hot_y = (int8_t)hy,
                                     .width = 16,
                                     .height = rows,
                                     .pitch = pitch};
    sg_kvmfr_cursor_write(m->ptr, &c);
    have_shape = 1;
    post_cursor(cur_flags() | SG_CURSOR_FLAG_SHAPE, m);
}

static void cursor_record(void)
{
    struct sg_lgmp_mem *m = &records[rec_i];
    rec_i = (rec_i + 1) % SG_KVMFR_CURSOR_RECORDS;
    struct sg_kvmfr_wire_cursor c = {.x = (int16_t)cur_x, .y = (int16_t)cur_y};
    sg_kvmfr_cursor_write(m->ptr, &c);
    post_cursor(cur_flags(), m);
}

static void new_cursor_sub(void)
{
    if (have_shape) {
        struct sg_lgmp_mem *m = &shapes[cur_shape_buf];
        struct sg_kvmfr_wire_cursor c;
        memcpy(&c, m->ptr, sizeof(c));
        c.x = (int16_t)cur_x, c.y = (int16_t)cur_y;
        sg_kvmfr_cursor_write(m->ptr, &c);
        post_cursor(cur_flags() | SG_CURSOR_FLAG_SHAPE, m);
    } else
        cursor_record();
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    unsigned mib = 32;
    long kvmfr_version = -1;
    bool bad_magic = false;
    int opt;
    while ((opt = getopt(argc, argv, "f:s:V:Mh")) != -1) {
        if (opt == 'f')
            path = optarg;
        else if (opt == 's')
            mib = (unsigned)atoi(optarg);
        else if (opt == 'V')
            kvmfr_version = atol(optarg);
        else if (opt == 'M')
            bad_magic = true;
        else {
            fprintf(stderr, "usage: %s -f REGION [-s MiB] [-V KVMFR-VERSION] [-M (bad magic)] < commands\n",
                    argv[0]);
            return opt == 'h' ? 0 : 2;
        }
    }
    if (!path) {
        fprintf(stderr, "testhost: -f REGION is required\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sg_shm shm;
    char err[256];
    struct sg_shm_open_opts so = {.path = path, .create = true, .create_size = (uint64_t)mib << 20};
    if (sg_shm_open(&shm, &so, err, sizeof(err)) != 0) {
        fprintf(stderr, "testhost: %s\n", err);
        return 1;
    }
    struct sg_kvmfr_info info = {.version = SG_KVMFR_VERSION,
                                 .features = SG_KVMFR_FEATURE_SET_CURSOR_POS,
                                 .has_vm_info = true,
                                 .cpus = 2,
                                 .cores = 2,
                                 .sockets = 1,
                                 .has_os_info = true,
                                 .os_kind = SG_OS_LINUX};
    snprintf(info.host_version, sizeof(info.host_version), "client-testhost");
    snprintf(info.capture, sizeof(info.capture), "test");
    snprintf(info.cpu_model, sizeof(info.cpu_model), "test cpu");
    snprintf(info.os_name, sizeof(info.os_name), "test os");
    uint8_t ad[1024];
    size_t ad_size = sg_kvmfr_build_info(&info, ad, sizeof(ad));
    if (kvmfr_version >= 0) {
        uint32_t v = (uint32_t)kvmfr_version;
        memcpy(ad + 8, &v, 4);
    }
    if (bad_magic)
        memcpy(ad, "KVMFR-XX", 8);
    enum sg_lgmp_status ls = sg_lgmp_host_create(&host, shm.base, shm.size, ad, (uint32_t)ad_size, NULL);
    if (ls == SG_LGMP_OK)
        ls = sg_lgmp_host_queue_create(host, SG_KVMFR_FRAME_QUEUE_ID, SG_KVMFR_FRAME_QUEUE_LEN,
                                       SG_KVMFR_SUB_TIMEOUT_MS, &fq);
    if (ls == SG_LGMP_OK)
        ls = sg_lgmp_host_queue_create(host, SG_KVMFR_CURSOR_QUEUE_ID, SG_KVMFR_CURSOR_QUEUE_LEN,
                                       SG_KVMFR_SUB_TIMEOUT_MS, &cq);
    for (unsigned i = 0; ls == SG_LGMP_OK && i < SG_KVMFR_CURSOR_RECORDS; i++)
        ls = sg_lgmp_host_alloc(host, SG_KVMFR_CURSOR_HEADER_SIZE, &records[i]);
    for (unsigned i = 0; ls == SG_LGMP_OK && i < SG_KVMFR_CURSOR_SHAPE_BUFFERS; i++)
        ls = sg_lgmp_host_alloc(host, SG_KVMFR_CURSOR_SHAPE_BUFFER_SIZE, &shapes[i]);
    uint64_t avail = ls == SG_LGMP_OK ? sg_lgmp_host_mem_avail(host) : 0;
    uint32_t block = (uint32_t)(((avail > 3 * ALIGN ? avail - 3 * ALIGN : 0) / 2) & ~(uint64_t)(ALIGN - 1));
    for (unsigned i = 0; ls == SG_LGMP_OK && i < 2; i++) {
        ls = sg_lgmp_host_alloc_aligned(host, ALIGN, block, &blocks[i]);
        if (ls == SG_LGMP_OK)
            sg_kvmfr_frame_init_block(blocks[i].ptr, ALIGN - 4);
    }
    if (ls != SG_LGMP_OK) {
        fprintf(stderr, "testhost: cannot set up %s (%zu bytes): %s\n", path, shm.size,
                sg_lgmp_status_str(ls));
        return 1;
    }
    printf("ready\n");

    char line[256];
    size_t have = 0;
    unsigned stream_fps = 0;
    uint64_t next_frame = 0, next_tick = now_ms();
    /* the marker starts moving left and down, so both directions are damaged early */
    int mx = 160, my = 0, pmx = 160, pmy = 0, dx = -4, dy = 3;
    for (;;) {
        uint64_t t = now_ms();
        if (t >= next_tick) {
            if (sg_lgmp_host_process(host) == SG_LGMP_CORRUPTED) {
                fprintf(stderr, "testhost: region overwritten\n");
                return 1;
            }
            next_tick = t + SG_KVMFR_HOST_TICK_MS;
            /* client messages: acknowledge SET_CURSOR_POS like a host does */
            uint8_t msg[64];
            uint32_t len = sizeof(msg);
            while (sg_lgmp_host_read_cmsg(cq, msg, &len) == SG_LGMP_OK) {
                int32_t x, y;
                if (sg_kvmfr_decode_set_cursor_pos(msg, len, &x, &y))
                    printf("setpos %d %d\n", x, y);
                sg_lgmp_host_ack_cmsg(cq);
                len = sizeof(msg);
            }
            if (sg_lgmp_host_queue_new_subs(fq))
                repost_last();
            if (sg_lgmp_host_queue_new_subs(cq))
                new_cursor_sub();
        }
        if (trickle_word && t >= next_trickle) {
            sg_kvmfr_progress_store(trickle_word, ++trickle_rows * trickle_pitch);
            next_trickle = t + trickle_ms;
            if (trickle_rows >= fh)
                trickle_word = NULL;
        }
        if (stream_fps && t >= next_frame && has_subs()) {
            next_frame += 1000 / stream_fps;
            if (next_frame < t)
                next_frame = t;
            int omx = pmx, omy = pmy;
            pmx = mx, pmy = my;
            mx += dx, my += dy;
            if (mx < 0 || mx + 16 > (int)fw)
                dx = -dx, mx += 2 * dx;
            if (my < 0 || my + 16 > (int)fh)
                dy = -dy, my += 2 * dy;
            /* damage: relative to the previous frame (what a client has) and to the block's
             * previous content (two frames back), like a B7 host's per-block tracking */
            if (post_frame(mx, my, pmx, pmy, omx, omy) == 1)
                mx = pmx, my = pmy, pmx = omx, pmy = omy;
        }
        struct pollfd pfd = {0, POLLIN, 0};
        if (poll(&pfd, 1, stream_fps ? 1 : 5) <= 0)
            continue;
        ssize_t n = read(0, line + have, sizeof(line) - 1 - have);
        if (n <= 0)
            return 0;
        have += (size_t)n;
        line[have] = 0;
        char *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = 0;
            int a, b, c, d, e;
            unsigned ua, ub, uc, ud, ue;
            int k;
            if ((k = sscanf(line, "frame %u %u %u %u %u", &ua, &ub, &uc, &ud, &ue)) >= 2) {
                fw = ua, fh = ub, ftype = k >= 3 ? uc : SG_FRAME_BGRA, fflags = k >= 4 ? ud : 0;
                frot = k >= 5 ? ue : 0;
                format_version++;
                int r = post_frame(-1, 0, 0, 0, 0, 0);
                printf(r == 0 ? "ok\n" : r == 1 ? "error queue full\n" : "error frame too large\n");
            } else if (!strcmp(line, "stall")) {
                stall_next = true;
                format_version++;
                printf(post_frame(-1, 0, 0, 0, 0, 0) == 0 ? "ok\n" : "error queue full\n");
            } else if (sscanf(line, "late %u %u", &ua, &ub) == 2) {
                fw = ua, fh = ub, late_next = true;
                format_version++;
                printf(post_frame(-1, 0, 0, 0, 0, 0) == 0 ? "ok\n" : "error queue full\n");
            } else if (!strcmp(line, "publish")) {
                if (late_word)
                    sg_kvmfr_progress_store(late_word, late_value);
                late_word = NULL;
                printf("ok\n");
            } else if (sscanf(line, "trickle %u", &ua) == 1) {
                trickle_next = true, trickle_ms = ua, pad_texels = 16;
                free(pat), pat = NULL;
                format_version++;
                printf(post_frame(-1, 0, 0, 0, 0, 0) == 0 ? "ok\n" : "error queue full\n");
                pad_texels = 0;
                free(pat), pat = NULL;
            } else if ((k = sscanf(line, "stream %u %u", &ua, &ub)) >= 1) {
                stream_fps = ua > 1000 ? 1000 : ua;
                stream_full = k == 2 && ub;
                printf("ok\n");
            } else if (sscanf(line, "cursor %d %d %d %d %d", &a, &b, &c, &d, &e) == 5) {
                cursor_shape(a, b, c, d, e);
                printf("ok\n");
            } else if (sscanf(line, "move %d %d", &a, &b) == 2) {
                cur_x = a, cur_y = b;
                cursor_record();
                printf("ok\n");
            } else if (!strcmp(line, "hide") || !strcmp(line, "show")) {
                cur_visible = line[0] == 's';
                cursor_record();
                printf("ok\n");
            } else if (!strcmp(line, "status")) {
                printf("subs %d %d frames %llu marker %d %d serial %u\n", sg_lgmp_host_queue_has_subs(fq),
                       sg_lgmp_host_queue_has_subs(cq), (unsigned long long)frames_posted, last_mx, last_my,
                       serial ? serial - 1 : 0);
            } else if (!strcmp(line, "quit")) {
                return 0;
            } else if (*line)
                printf("error unknown command '%s'\n", line);
            size_t used = (size_t)(nl + 1 - line);
            memmove(line, nl + 1, have - used + 1);
            have -= used;
        }
        if (have >= sizeof(line) - 1)
            have = 0;
    }
}
