/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The display side of the kms test, inside the VM (static, in the initramfs).
 * It takes the display as DRM master, as a compositor would, and walks through
 * steps the outside test checks one by one: after each step it prints
 * "sg-kms: step NAME ..." and waits for a line on stdin (the serial console)
 * before the next.
 *
 *   A        set a 1024x768 mode scanning out dumb buffer A (picture 0)
 *   B        page flip to buffer B (picture 1)
 *   square   draw a 100x100 square into B where it is scanned out (no flip)
 *   A2       page flip back to A
 *   D        page flip to D: A with a 40x20 square at 600,500 (a compositor's small change)
 *   cursor1  a 64x64 ARGB cursor at 100,200 (drmModeSetCursor + MoveCursor)
 *   cursor2  the cursor moved to 612,400
 *   nocursor the cursor hidden
 *   C        a new mode, 800x600, scanning out buffer C (picture 2)
 *   off      the CRTC switched off
 *   A3       back on, 1024x768 with A
 *
 * Pictures and the cursor shape must match kms_picture()/kms_cursor() in vm_kms.py.
 */
#include <drm_fourcc.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "guest_drm.h"

#define COLS 8
#define ROWS 4
#define CURSOR 64

static const uint32_t known_colours[COLS * ROWS] = {
    0xff0000, 0x00ff00, 0x0000ff, 0xffffff, 0x000000, 0xffff00, 0x00ffff, 0xff00ff,
    0x800000, 0x008000, 0x000080, 0x808080, 0x102030, 0x808000, 0x008080, 0x800080,
    0xff8000, 0x80ff00, 0x0080ff, 0xc0c0c0, 0x203040, 0xff0080, 0x00ff80, 0x8000ff,
    0x7f3f1f, 0x1f7f3f, 0x3f1f7f, 0x404040, 0xfefdfc, 0x010203, 0xa0b0c0, 0x5a6b7c,
};

static int fd;

/* Wait for the outside test to say "next". */
static void wait_next(void)
{
    char line[128];
    while (fgets(line, sizeof(line), stdin))
        if (strstr(line, "next"))
            return;
    say("stdin closed");
    exit(1);
}

/* Picture v: 8x4 blocks of the known colours, block i showing colour (i * mul[v]) % 32. */
static void draw_picture(struct dumb *d, int v)
{
    static const uint32_t mul[] = {1, 31, 7};
    uint32_t bw = d->w / COLS, bh = d->h / ROWS;
    for (uint32_t y = 0; y < d->h; y++) {
        uint32_t *row = (uint32_t *)(d->map + (size_t)y * d->pitch);
        uint32_t by = y / bh < ROWS ? y / bh : ROWS - 1;
        for (uint32_t x = 0; x < d->w; x++) {
            uint32_t bx = x / bw < COLS ? x / bw : COLS - 1;
            row[x] = known_colours[((by * COLS + bx) * mul[v]) % (COLS * ROWS)];
        }
    }
}

static void draw_cursor(struct dumb *d)
{
    for (uint32_t y = 0; y < CURSOR; y++) {
        uint32_t *row = (uint32_t *)(d->map + (size_t)y * d->pitch);
        for (uint32_t x = 0; x < CURSOR; x++)
            row[x] = (uint32_t)((x + y) % 16 < 8 ? 0xff : 0x80) << 24 | (x * 4) << 16 | (y * 4) << 8 | 0x55;
    }
}

static void on_flip(int fd_, unsigned seq, unsigned sec, unsigned usec, void *data)
{
    (void)fd_, (void)seq, (void)sec, (void)usec;
    *(int *)data = 1;
}

static void flip(uint32_t crtc, struct dumb *d)
{
    int done = 0;
    if (drmModePageFlip(fd, crtc, d->fb, DRM_MODE_PAGE_FLIP_EVENT, &done))
        die("PAGE_FLIP");
    drmEventContext ev = {.version = 2, .page_flip_handler = on_flip};
    while (!done)
        if (drmHandleEvent(fd, &ev))
            die("waiting for the flip event");
}

static int find_mode(drmModeConnector *c, uint32_t w, uint32_t h, drmModeModeInfo *out)
{
    for (int i = 0; i < c->count_modes; i++)
        if (c->modes[i].hdisplay == w && c->modes[i].vdisplay == h) {
            *out = c->modes[i];
            return 0;
        }
    return -1;
}

/* The pixel formats each plane of the first CRTC takes (fourccs), so the log
 * says which scan-out formats this GPU could show the host. */
static void say_plane_formats(const char *card)
{
    /* a descriptor of its own: primary and cursor planes are listed only with the universal-planes cap,
     * which the steps' legacy calls on fd should not depend on */
    int pfd = open(card, O_RDWR | O_CLOEXEC);
    if (pfd < 0 || drmSetClientCap(pfd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1)) {
        say("plane formats unknown: %s", strerror(errno));
        if (pfd >= 0)
            close(pfd);
        return;
    }
    drmModePlaneRes *pr = drmModeGetPlaneResources(pfd);
    if (!pr)
        say("plane formats unknown: GETPLANERESOURCES: %s", strerror(errno));
    for (uint32_t i = 0; pr && i < pr->count_planes; i++) {
        drmModePlane *p = drmModeGetPlane(pfd, pr->planes[i]);
        if (!p || !(p->possible_crtcs & 1)) { /* CRTC index 0, the one the steps use */
            drmModeFreePlane(p);
            continue;
        }
        char list[512] = "";
        size_t used = 0;
        for (uint32_t k = 0; k < p->count_formats && used + 6 < sizeof(list); k++) {
            uint32_t f = p->formats[k];
            used += (size_t)snprintf(list + used, sizeof(list) - used, " %c%c%c%c", (char)f, (char)(f >> 8),
                                     (char)(f >> 16), (char)(f >> 24));
        }
        say("plane %u formats:%s", p->plane_id, list);
        drmModeFreePlane(p);
    }
    drmModeFreePlaneResources(pr);
    close(pfd);
}

int main(int argc, char **argv)
{
    guest_name = "sg-kms";
    const char *card = argc > 1 ? argv[1] : "/dev/dri/card0";
    fd = open(card, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        die(card);
    become_master(fd);
    drmModeRes *res = drmModeGetResources(fd);
    if (!res)
        die("GETRESOURCES");
    drmModeConnector *conn = NULL;
    for (int i = 0; i < res->count_connectors && !conn; i++) {
        conn = drmModeGetConnector(fd, res->connectors[i]);
        if (conn && conn->connection != DRM_MODE_CONNECTED) {
            drmModeFreeConnector(conn);
            conn = NULL;
        }
    }
    if (!conn || res->count_crtcs < 1)
        die("no connected connector");
    uint32_t crtc = res->crtcs[0];
    drmModeModeInfo big, small;
    if (find_mode(conn, 1024, 768, &big) || find_mode(conn, 800, 600, &small)) {
        errno = ENOENT;
        die("modes 1024x768 and 800x600");
    }
    struct dumb a, b, c, d, cur;
    make_dumb(fd, &a, 1024, 768, DRM_FORMAT_XRGB8888);
    make_dumb(fd, &b, 1024, 768, DRM_FORMAT_XRGB8888);
    make_dumb(fd, &c, 800, 600, DRM_FORMAT_XRGB8888);
    make_dumb(fd, &d, 1024, 768, DRM_FORMAT_XRGB8888);
    make_dumb(fd, &cur, CURSOR, CURSOR, 0);
    draw_picture(&a, 0);
    draw_picture(&b, 1);
    draw_picture(&c, 2);
    draw_picture(&d, 0);
    for (uint32_t y = 500; y < 520; y++)
        for (uint32_t x = 600; x < 640; x++)
            ((uint32_t *)(d.map + (size_t)y * d.pitch))[x] = 0x654321;
    draw_cursor(&cur);
    say("master on %s, connector %u, crtc %u, buffers A=%u B=%u C=%u", card, conn->connector_id, crtc, a.fb,
        b.fb, c.fb);
    say_plane_formats(card);

    if (drmModeSetCrtc(fd, crtc, a.fb, 0, 0, &conn->connector_id, 1, &big))
        die("SETCRTC 1024x768");
    say("step A 1024x768 fb %u", a.fb);
    wait_next();

    flip(crtc, &b);
    say("step B fb %u", b.fb);
    wait_next();

    for (uint32_t y = 200; y < 300; y++)
        for (uint32_t x = 300; x < 400; x++)
            ((uint32_t *)(b.map + (size_t)y * b.pitch))[x] = 0x123456;
    drmModeClip clip = {300, 200, 400, 300};
    drmModeDirtyFB(fd, b.fb, &clip, 1); /* virtual GPUs copy to the display on this */
    say("step square 300,200 100x100 in fb %u", b.fb);
    wait_next();

    flip(crtc, &a);
    say("step A2 fb %u", a.fb);
    wait_next();

    flip(crtc, &d);
    say("step D fb %u", d.fb);
    wait_next();

    if (drmModeSetCursor(fd, crtc, cur.handle, CURSOR, CURSOR) || drmModeMoveCursor(fd, crtc, 100, 200))
        say("step cursor1 none: %s", strerror(errno));
    else
        say("step cursor1 at 100,200");
    wait_next();
    if (drmModeMoveCursor(fd, crtc, 612, 400))
        say("step cursor2 none: %s", strerror(errno));
    else
        say("step cursor2 at 612,400");
    wait_next();
    if (drmModeSetCursor(fd, crtc, 0, 0, 0))
        say("step nocursor none: %s", strerror(errno));
    else
        say("step nocursor hidden");
    wait_next();

    if (drmModeSetCrtc(fd, crtc, c.fb, 0, 0, &conn->connector_id, 1, &small))
        die("SETCRTC 800x600");
    say("step C 800x600 fb %u", c.fb);
    wait_next();

    if (drmModeSetCrtc(fd, crtc, 0, 0, 0, NULL, 0, NULL))
        die("SETCRTC off");
    say("step off");
    wait_next();

    if (drmModeSetCrtc(fd, crtc, a.fb, 0, 0, &conn->connector_id, 1, &big))
        die("SETCRTC 1024x768 again");
    say("step A3 1024x768 fb %u", a.fb);
    wait_next();
    say("done");
    for (;;)
        pause(); /* keep the display (and master) until the VM is killed */
}
