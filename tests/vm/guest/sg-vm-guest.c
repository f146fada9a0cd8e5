/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helper that runs inside the test VM (linked statically into the initramfs).
 *
 *   sg-vm-guest probe NONCE [TIMEOUT_S]  write "SGVM-PROBE NONCE" into the last page of BAR 2 of
 *                                        the first IVSHMEM device, then wait for the VM host to
 *                                        answer "SGVM-ACK NONCE" 64 bytes further: proves both
 *                                        directions of the BAR before any Spyglass code runs.
 *                                        The last page keeps the LGMP header of a previous boot
 *                                        intact, as a real reboot would.
 *   sg-vm-guest draw [FB]                draw the known test picture on /dev/fb0 (below the
 *                                        console text rows) and print the framebuffer format.
 *   sg-vm-guest as-uid UID PROG ARGS...  run PROG as UID (gid UID, no groups): without any
 *                                        capability (busybox's setpriv cannot change the uid).
 *
 * The picture must stay identical to KNOWN_COLOURS / PICTURE_TOP in vm_e2e.py.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PROBE_FROM_END 4096 /* the probe lives in the BAR's last page */
#define PICTURE_TOP 128     /* rows above are left to the kernel console text */
#define PICTURE_COLS 8
#define PICTURE_ROWS 4

/* 0xRRGGBB, row-major; all distinct so a flipped or shifted picture cannot match. */
static const uint32_t known_colours[PICTURE_COLS * PICTURE_ROWS] = {
    0xff0000, 0x00ff00, 0x0000ff, 0xffffff, 0x000000, 0xffff00, 0x00ffff, 0xff00ff,
    0x800000, 0x008000, 0x000080, 0x808080, 0x102030, 0x808000, 0x008080, 0x800080,
    0xff8000, 0x80ff00, 0x0080ff, 0xc0c0c0, 0x203040, 0xff0080, 0x00ff80, 0x8000ff,
    0x7f3f1f, 0x1f7f3f, 0x3f1f7f, 0x404040, 0xfefdfc, 0x010203, 0xa0b0c0, 0x5a6b7c,
};

static int read_sysfs(const char *dir, const char *name, char *buf, size_t size)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

/* The IVSHMEM device's PCI address depends on the machine's device list, so search by id. */
static int find_ivshmem(char *dir, size_t dir_size)
{
    const char *root = "/sys/bus/pci/devices";
    DIR *d = opendir(root);
    if (!d) {
        printf("sg-vm: cannot list %s: %s\n", root, strerror(errno));
        return -1;
    }
    int found = -1;
    struct dirent *e;
    char best[256] = "";
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[512], vendor[32], device[32];
        snprintf(path, sizeof(path), "%s/%s", root, e->d_name);
        if (read_sysfs(path, "vendor", vendor, sizeof(vendor)) ||
            read_sysfs(path, "device", device, sizeof(device)))
            continue;
        if (strtoul(vendor, NULL, 16) == 0x1af4 && strtoul(device, NULL, 16) == 0x1110 &&
            (!best[0] || strcmp(e->d_name, best) < 0)) {
            snprintf(best, sizeof(best), "%s", e->d_name);
            found = 0;
        }
    }
    closedir(d);
    if (found == 0)
        snprintf(dir, dir_size, "%s/%s", root, best);
    return found;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int cmd_probe(const char *nonce, int timeout_s)
{
    char dir[512], path[600];
    if (find_ivshmem(dir, sizeof(dir))) {
        printf("sg-vm: no IVSHMEM device (PCI 1af4:1110) in /sys/bus/pci/devices\n");
        return 1;
    }
    /* Memory decoding may be off until someone enables the device. */
    snprintf(path, sizeof(path), "%s/enable", dir);
    int efd = open(path, O_WRONLY);
    if (efd >= 0) {
        if (write(efd, "1", 1) < 0)
            printf("sg-vm: enabling %s failed: %s\n", dir, strerror(errno));
        close(efd);
    }
    snprintf(path, sizeof(path), "%s/resource2", dir);
    int fd = open(path, O_RDWR | O_SYNC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) || st.st_size < 4096) {
        printf("sg-vm: cannot open %s: %s\n", path, strerror(errno));
        return 1;
    }
    volatile char *map = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        printf("sg-vm: mmap %s (%lld bytes) failed: %s\n", path, (long long)st.st_size, strerror(errno));
        return 1;
    }
    volatile char *bar = map + st.st_size - PROBE_FROM_END;
    char probe[64], ack[64];
    snprintf(probe, sizeof(probe), "SGVM-PROBE %s", nonce);
    snprintf(ack, sizeof(ack), "SGVM-ACK %s", nonce);
    for (size_t i = 0; i < 128; i++)
        bar[i] = 0;
    for (size_t i = 0; probe[i]; i++)
        bar[i] = probe[i];
    __sync_synchronize();
    printf("sg-vm: probe written dev=%s bar2=%lld\n", strrchr(dir, '/') + 1, (long long)st.st_size);
    fflush(stdout);
    for (long waited = 0; waited < timeout_s * 1000L; waited += 10) {
        size_t i = 0;
        while (ack[i] && bar[64 + i] == ack[i])
            i++;
        if (!ack[i]) {
            printf("sg-vm: ack seen after %ld ms\n", waited);
            return 0;
        }
        sleep_ms(10);
    }
    printf("sg-vm: no ack from the VM host within %d s\n", timeout_s);
    return 1;
}

static uint32_t pack_pixel(const struct fb_var_screeninfo *v, uint32_t rgb)
{
    uint32_t r = (rgb >> 16) & 0xff, g = (rgb >> 8) & 0xff, b = rgb & 0xff;
    uint32_t px = (r >> (8 - v->red.length)) << v->red.offset |
                  (g >> (8 - v->green.length)) << v->green.offset |
                  (b >> (8 - v->blue.length)) << v->blue.offset;
    if (v->transp.length)
        px |= ((1u << v->transp.length) - 1) << v->transp.offset;
    return px;
}

static int cmd_draw(const char *fbpath)
{
    int fd = open(fbpath, O_RDWR);
    if (fd < 0) {
        printf("sg-vm: cannot open %s: %s\n", fbpath, strerror(errno));
        return 1;
    }
    struct fb_var_screeninfo v;
    struct fb_fix_screeninfo f;
    if (ioctl(fd, FBIOGET_VSCREENINFO, &v) || ioctl(fd, FBIOGET_FSCREENINFO, &f)) {
        printf("sg-vm: %s: framebuffer ioctls failed: %s\n", fbpath, strerror(errno));
        return 1;
    }
    printf("sg-vm: fb %ux%u bpp=%u pitch=%u red=%u/%u green=%u/%u blue=%u/%u alpha=%u/%u id=%.16s\n", v.xres,
           v.yres, v.bits_per_pixel, f.line_length, v.red.offset, v.red.length, v.green.offset,
           v.green.length, v.blue.offset, v.blue.length, v.transp.offset, v.transp.length, f.id);
    if (v.bits_per_pixel != 32 || v.yres <= PICTURE_TOP + PICTURE_ROWS || v.red.length > 8 ||
        v.green.length > 8 || v.blue.length > 8) {
        printf("sg-vm: %s: unsupported framebuffer format\n", fbpath);
        return 1;
    }
    size_t len = (size_t)f.line_length * v.yres_virtual;
    uint8_t *fb = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (fb == MAP_FAILED) {
        printf("sg-vm: mmap %s (%zu bytes) failed: %s\n", fbpath, len, strerror(errno));
        return 1;
    }
    uint32_t bw = v.xres / PICTURE_COLS, bh = (v.yres - PICTURE_TOP) / PICTURE_ROWS;
    for (uint32_t y = PICTURE_TOP; y < v.yres; y++) {
        uint32_t row = (y - PICTURE_TOP) / bh;
        if (row >= PICTURE_ROWS)
            row = PICTURE_ROWS - 1;
        uint32_t *line = (uint32_t *)(fb + (size_t)(y + v.yoffset) * f.line_length);
        for (uint32_t x = 0; x < v.xres; x++) {
            uint32_t col = x / bw;
            if (col >= PICTURE_COLS)
                col = PICTURE_COLS - 1;
            line[x + v.xoffset] = pack_pixel(&v, known_colours[row * PICTURE_COLS + col]);
        }
    }
    msync(fb, len, MS_SYNC);
    printf("sg-vm: picture drawn blocks=%ux%u size=%ux%u top=%u\n", PICTURE_COLS, PICTURE_ROWS, bw, bh,
           PICTURE_TOP);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 3 && !strcmp(argv[1], "probe"))
        return cmd_probe(argv[2], argc >= 4 ? atoi(argv[3]) : 30);
    if (argc >= 2 && !strcmp(argv[1], "draw"))
        return cmd_draw(argc >= 3 ? argv[2] : "/dev/fb0");
    if (argc >= 4 && !strcmp(argv[1], "as-uid")) {
        uid_t id = (uid_t)atoi(argv[2]);
        if (setgroups(0, NULL) || setgid(id) || setuid(id)) {
            printf("sg-vm: as-uid %u: %s\n", (unsigned)id, strerror(errno));
            return 1;
        }
        execvp(argv[3], argv + 3);
        printf("sg-vm: as-uid: cannot run %s: %s\n", argv[3], strerror(errno));
        return 1;
    }
    fprintf(stderr, "usage: %s probe NONCE [TIMEOUT_S] | draw [FB] | as-uid UID PROG ARGS...\n", argv[0]);
    return 2;
}
