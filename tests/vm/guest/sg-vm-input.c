/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The desktop side of the input test, inside the VM (static, in the initramfs).
 * It plays what a compositor does with the PS/2 devices QEMU emulates: reads the
 * keyboard and the mouse through evdev (grabbed, so the text console sees
 * nothing), applies a known pointer acceleration to relative motion, keeps the
 * cursor inside the screen and shows it on the KMS cursor plane. Everything it
 * receives goes to stdout (the serial console), one line each, for the outside
 * test (vm_input.py) to read:
 *
 *   sg-input: ready keyboard "NAME" mouse "NAME" accel N/D/T at X,Y
 *   sg-input: key CODE down|up|repeat        (Linux input codes: KEY_A = 30)
 *   sg-input: button CODE down|up            (BTN_LEFT = 272)
 *   sg-input: motion raw DX,DY pos X,Y       (after the cursor plane was moved)
 *
 * Acceleration (X's classic scheme, the X server's default 2/1/4): a motion
 * report whose |dx| + |dy| exceeds T pixels is multiplied by N/D; fractions
 * are kept for the next report. The cursor is a 64x64 ARGB plane, transparent
 * except an opaque 12x12 square of CURSOR_COLOUR at its top left, hotspot 0,0:
 * the square's top-left pixel is the position.
 *
 * Usage: sg-vm-input CARD [N/D/T [INPUT_DIR [WAIT_S]]]   (defaults: 2/1/4, /dev/input, 20 s)
 * Without the devices after WAIT_S it names each one it expected and what provides it.
 */
#include <dirent.h>
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "guest_drm.h"

#define WIDTH 1024
#define HEIGHT 768
#define CURSOR 64
#define SQUARE 12
#define BACKGROUND 0x203040u
#define CURSOR_COLOUR 0xff00ffu

#define BITS_LONG (8 * sizeof(long))
#define NLONGS(n) (((n) + BITS_LONG - 1) / BITS_LONG)

static int test_bit(const unsigned long *bits, unsigned n)
{
    return (bits[n / BITS_LONG] >> (n % BITS_LONG)) & 1;
}

struct device {
    int fd;
    char name[128];
};

/* Look once through /dev/input/event*: the first keyboard (KEY_A, KEY_ENTER) and the first
 * relative mouse (REL_X, REL_Y, BTN_LEFT). Devices seen are listed in seen. */
static void find_devices(const char *dir, struct device *kbd, struct device *mouse, char *seen,
                         size_t seen_size)
{
    DIR *d = opendir(dir);
    seen[0] = 0;
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, "event", 5))
            continue;
        char path[300];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            continue;
        char name[128] = "?";
        unsigned long ev[NLONGS(EV_MAX + 1)] = {0}, keys[NLONGS(KEY_MAX + 1)] = {0},
                                         rel[NLONGS(REL_MAX + 1)] = {0};
        ioctl(fd, EVIOCGNAME(sizeof(name) - 1), name);
        ioctl(fd, EVIOCGBIT(0, sizeof(ev)), ev);
        ioctl(fd, EVIOCGBIT(EV_KEY, sizeof(keys)), keys);
        ioctl(fd, EVIOCGBIT(EV_REL, sizeof(rel)), rel);
        size_t used = strlen(seen);
        snprintf(seen + used, seen_size - used, "%s%s \"%s\"", used ? ", " : "", path, name);
        struct device *to = NULL;
        if (kbd->fd < 0 && test_bit(ev, EV_KEY) && test_bit(keys, KEY_A) && test_bit(keys, KEY_ENTER))
            to = kbd;
        else if (mouse->fd < 0 && test_bit(ev, EV_REL) && test_bit(rel, REL_X) && test_bit(rel, REL_Y) &&
                 test_bit(keys, BTN_LEFT))
            to = mouse;
        if (to) {
            to->fd = fd;
            snprintf(to->name, sizeof(to->name), "%s", name);
        } else {
            close(fd);
        }
    }
    closedir(d);
}

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* A 1024x768 mode on the first connected connector, a plain background and the cursor. */
static uint32_t setup_display(int fd)
{
    become_master(fd);
    drmModeRes *res = drmModeGetResources(fd);
    if (!res || res->count_crtcs < 1)
        die("GETRESOURCES");
    drmModeConnector *conn = NULL;
    for (int i = 0; i < res->count_connectors && !conn; i++) {
        conn = drmModeGetConnector(fd, res->connectors[i]);
        if (conn && conn->connection != DRM_MODE_CONNECTED) {
            drmModeFreeConnector(conn);
            conn = NULL;
        }
    }
    if (!conn)
        die("no connected connector");
    drmModeModeInfo *mode = NULL;
    for (int i = 0; i < conn->count_modes && !mode; i++)
        if (conn->modes[i].hdisplay == WIDTH && conn->modes[i].vdisplay == HEIGHT)
            mode = &conn->modes[i];
    if (!mode) {
        errno = ENOENT;
        die("mode 1024x768");
    }
    uint32_t crtc = res->crtcs[0];
    struct dumb bg, cur;
    make_dumb(fd, &bg, WIDTH, HEIGHT, DRM_FORMAT_XRGB8888);
    for (uint32_t y = 0; y < HEIGHT; y++)
        for (uint32_t x = 0; x < WIDTH; x++)
            ((uint32_t *)(bg.map + (size_t)y * bg.pitch))[x] = BACKGROUND;
    if (drmModeSetCrtc(fd, crtc, bg.fb, 0, 0, &conn->connector_id, 1, mode))
        die("SETCRTC 1024x768");
    make_dumb(fd, &cur, CURSOR, CURSOR, 0);
    for (uint32_t y = 0; y < CURSOR; y++)
        for (uint32_t x = 0; x < CURSOR; x++)
            ((uint32_t *)(cur.map + (size_t)y * cur.pitch))[x] =
                x < SQUARE && y < SQUARE ? 0xff000000u | CURSOR_COLOUR : 0;
    if (drmModeSetCursor2(fd, crtc, cur.handle, CURSOR, CURSOR, 0, 0) &&
        drmModeSetCursor(fd, crtc, cur.handle, CURSOR, CURSOR))
        die("SETCURSOR (no cursor plane?)");
    return crtc;
}

int main(int argc, char **argv)
{
    guest_name = "sg-input";
    const char *card = argc > 1 ? argv[1] : "/dev/dri/card0";
    int num = 2, den = 1, threshold = 4;
    if (argc > 2 &&
        (sscanf(argv[2], "%d/%d/%d", &num, &den, &threshold) != 3 || num < 1 || den < 1 || threshold < 0)) {
        say("FAILED acceleration '%s' is not N/D/T", argv[2]);
        return 2;
    }
    const char *dir = argc > 3 ? argv[3] : "/dev/input";
    unsigned wait_s = argc > 4 ? (unsigned)atoi(argv[4]) : 20;
    struct device kbd = {.fd = -1}, mouse = {.fd = -1};
    char seen[2048];
    /* the devices appear when i8042, atkbd, psmouse and evdev have probed: give them time */
    uint64_t until = now_ms() + wait_s * 1000ull;
    for (;;) {
        find_devices(dir, &kbd, &mouse, seen, sizeof(seen));
        if ((kbd.fd >= 0 && mouse.fd >= 0) || now_ms() > until)
            break;
        if (kbd.fd >= 0)
            close(kbd.fd), kbd.fd = -1;
        if (mouse.fd >= 0)
            close(mouse.fd), mouse.fd = -1;
        usleep(100000);
    }
    if (kbd.fd < 0)
        say("FAILED no keyboard after %u s: expected an evdev device %s/eventN with KEY_A and KEY_ENTER, the "
            "PS/2 "
            "keyboard (i8042 + atkbd, and evdev.ko for the event nodes); found: %s",
            wait_s, dir, seen[0] ? seen : "no event devices");
    if (mouse.fd < 0)
        say("FAILED no mouse after %u s: expected an evdev device %s/eventN with REL_X, REL_Y and BTN_LEFT, "
            "the PS/2 "
            "mouse (psmouse.ko on the i8042 AUX port, and evdev.ko for the event nodes); found: %s",
            wait_s, dir, seen[0] ? seen : "no event devices");
    if (kbd.fd < 0 || mouse.fd < 0)
        return 1;
    /* what a compositor does: the text console must not see our keys (no VT switches, no SysRq) */
    if (ioctl(kbd.fd, EVIOCGRAB, 1) || ioctl(mouse.fd, EVIOCGRAB, 1))
        die("EVIOCGRAB");

    int fd = open(card, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        die(card);
    uint32_t crtc = setup_display(fd);
    double px = WIDTH / 2, py = HEIGHT / 2; /* exact position, fractions of accelerated motion kept */
    int cx = (int)px, cy = (int)py;
    if (drmModeMoveCursor(fd, crtc, cx, cy))
        die("MOVECURSOR");
    say("ready keyboard \"%s\" mouse \"%s\" accel %d/%d/%d at %d,%d", kbd.name, mouse.name, num, den,
        threshold, cx, cy);

    struct pollfd pfd[2] = {{.fd = kbd.fd, .events = POLLIN}, {.fd = mouse.fd, .events = POLLIN}};
    int dx = 0, dy = 0;
    for (;;) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            die("poll");
        }
        for (int i = 0; i < 2; i++) {
            struct input_event ev[64];
            ssize_t n = read(pfd[i].fd, ev, sizeof(ev));
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n <= 0)
                die(i ? "reading the mouse" : "reading the keyboard");
            for (size_t k = 0; k < (size_t)n / sizeof(ev[0]); k++) {
                const struct input_event *e = &ev[k];
                if (e->type == EV_KEY && e->code >= BTN_MISC && e->code < KEY_OK)
                    say("button %u %s", e->code, e->value ? "down" : "up");
                else if (e->type == EV_KEY)
                    say("key %u %s", e->code, e->value == 0 ? "up" : e->value == 1 ? "down" : "repeat");
                else if (e->type == EV_REL && e->code == REL_X)
                    dx += e->value;
                else if (e->type == EV_REL && e->code == REL_Y)
                    dy += e->value;
                else if (e->type == EV_SYN && e->code == SYN_REPORT && (dx || dy)) {
                    double f = abs(dx) + abs(dy) > threshold ? (double)num / den : 1.0;
                    px += dx * f;
                    py += dy * f;
                    px = px < 0 ? 0 : px > WIDTH - 1 ? WIDTH - 1 : px;
                    py = py < 0 ? 0 : py > HEIGHT - 1 ? HEIGHT - 1 : py;
                    cx = (int)lround(px);
                    cy = (int)lround(py);
                    if (drmModeMoveCursor(fd, crtc, cx, cy))
                        die("MOVECURSOR");
                    say("motion raw %d,%d pos %d,%d", dx, dy, cx, cy);
                    dx = dy = 0;
                }
            }
        }
    }
}
