/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * fbdev: the Linux framebuffer (/dev/fb0), for guests without X.
 * The framebuffer says nothing about what changed, so each poll compares it
 * with a raw shadow copy band by band and only converts what differs.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../capture.h"
#include "fbdev.h"
#include "kvmfr.h"
#include "sg_time.h"

#define BAND_ROWS 32u
#define TILE_PX 64u

static uint32_t scale8(uint32_t v, uint32_t len)
{
    if (len == 8)
        return v;
    if (len == 0)
        return 0;
    if (len > 8)
        return v >> (len - 8);
    uint32_t max = (1u << len) - 1;
    return (v * 255 + max / 2) / max;
}

void sg_fbdev_convert(const struct sg_fb_format *f, const uint8_t *src, uint32_t *dst, uint32_t count)
{
    if (f->bpp == 32 && f->r_off == 16 && f->g_off == 8 && f->b_off == 0 && f->r_len == 8 && f->g_len == 8 &&
        f->b_len == 8) {
        memcpy(dst, src, (size_t)count * 4);
        return;
    }
    uint32_t bytes = f->bpp / 8;
    uint32_t rm = f->r_len >= 32 ? ~0u : (1u << f->r_len) - 1;
    uint32_t gm = f->g_len >= 32 ? ~0u : (1u << f->g_len) - 1;
    uint32_t bm = f->b_len >= 32 ? ~0u : (1u << f->b_len) - 1;
    for (uint32_t i = 0; i < count; i++, src += bytes) {
        uint32_t v = src[0] | (uint32_t)src[1] << 8;
        if (bytes > 2)
            v |= (uint32_t)src[2] << 16;
        if (bytes > 3)
            v |= (uint32_t)src[3] << 24;
        uint32_t r = scale8((v >> f->r_off) & rm, f->r_len), g = scale8((v >> f->g_off) & gm, f->g_len),
                 b = scale8((v >> f->b_off) & bm, f->b_len);
        dst[i] = 0xff000000u | r << 16 | g << 8 | b;
    }
}

bool sg_fbdev_default_format(uint32_t bpp, struct sg_fb_format *f)
{
    switch (bpp) {
    case 16:
        *f = (struct sg_fb_format){16, 11, 5, 5, 6, 0, 5};
        return true;
    case 24:
        *f = (struct sg_fb_format){24, 16, 8, 8, 8, 0, 8};
        return true;
    case 32:
        *f = (struct sg_fb_format){32, 16, 8, 8, 8, 0, 8};
        return true;
    }
    return false;
}

struct fbdev {
    struct sg_capture base;
    char path[128];
    uint32_t rate;
    bool is_fb; /* a real framebuffer device (ioctls work) */
    int fd;
    uint8_t *map;
    size_t map_size;
    /* the visible image */
    uint32_t w, h, line, offset;
    struct sg_fb_format fmt;
    uint8_t *shadow; /* raw copy of the visible rows, w * bpp/8 per row */
    uint32_t *img;   /* converted BGRX, w * 4 per row */
    bool started, have_image;
    uint64_t next_poll_ns;
};

static const struct sg_capture_option fb_options[] = {
    {"device", "/dev/fb0", "framebuffer device"},
    {"rate", "30", "polls per second (the framebuffer has no change events)"},
    {"geometry", "", "WxHxBPP: read a plain file as a framebuffer of this shape (tests)"},
    {NULL, NULL, NULL},
};

static void fb_unmap(struct fbdev *fb)
{
    if (fb->map)
        munmap(fb->map, fb->map_size);
    fb->map = NULL;
}

/* Read the mode and (re)map; 1 if the geometry changed, 0 if not, -1 on error. */
static int fb_probe(struct fbdev *fb, char *err, size_t err_size)
{
    uint32_t w = fb->w, h = fb->h, line = fb->line, offset = fb->offset;
    struct sg_fb_format fmt = fb->fmt;
    size_t need;
    if (fb->is_fb) {
        struct fb_var_screeninfo var;
        struct fb_fix_screeninfo fix;
        if (ioctl(fb->fd, FBIOGET_VSCREENINFO, &var) != 0 || ioctl(fb->fd, FBIOGET_FSCREENINFO, &fix) != 0) {
            snprintf(err, err_size, "fbdev %s: cannot read the mode: %s", fb->path, strerror(errno));
            return -1;
        }
        if (var.bits_per_pixel != 16 && var.bits_per_pixel != 24 && var.bits_per_pixel != 32) {
            snprintf(err, err_size, "fbdev %s: %u bits per pixel is not supported (16, 24, 32 are)", fb->path,
                     var.bits_per_pixel);
            return -1;
        }
        w = var.xres;
        h = var.yres;
        line = fix.line_length;
        offset = var.yoffset * fix.line_length + var.xoffset * (var.bits_per_pixel / 8);
        fmt = (struct sg_fb_format){var.bits_per_pixel, var.red.offset,  var.red.length, var.green.offset,
                                    var.green.length,   var.blue.offset, var.blue.length};
        need = fix.smem_len;
    } else {
        need = (size_t)line * h + offset;
    }
    if (w == 0 || h == 0 || w > SG_KVMFR_MAX_DIMENSION || h > SG_KVMFR_MAX_DIMENSION ||
        line < (uint64_t)w * (fmt.bpp / 8) || (uint64_t)offset + (uint64_t)line * h > need) {
        snprintf(err, err_size, "fbdev %s: unusable mode %ux%u, %u bpp, line %u bytes, %zu bytes of memory",
                 fb->path, w, h, fmt.bpp, line, need);
        return -1;
    }
    bool changed = w != fb->w || h != fb->h || line != fb->line || offset != fb->offset ||
                   fmt.bpp != fb->fmt.bpp || memcmp(&fmt, &fb->fmt, sizeof(fmt)) != 0 || !fb->map;
    if (!changed)
        return 0;
    fb_unmap(fb);
    free(fb->shadow);
    free(fb->img);
    fb->shadow = malloc((size_t)w * (fmt.bpp / 8) * h);
    fb->img = malloc((size_t)w * 4 * h);
    fb->map = mmap(NULL, need, PROT_READ, MAP_SHARED, fb->fd, 0);
    if (fb->map == MAP_FAILED || !fb->shadow || !fb->img) {
        snprintf(err, err_size, "fbdev %s: cannot map %zu bytes: %s", fb->path, need,
                 fb->map == MAP_FAILED ? strerror(errno) : "out of memory");
        fb->map = NULL;
        return -1;
    }
    fb->map_size = need;
    fb->w = w;
    fb->h = h;
    fb->line = line;
    fb->offset = offset;
    fb->fmt = fmt;
    fb->have_image = false;
    return 1;
}

static int fb_create(struct sg_capture **out, const char *const *v, char *err, size_t err_size)
{
    struct fbdev *fb = calloc(1, sizeof(*fb));
    if (!fb) {
        snprintf(err, err_size, "fbdev: out of memory");
        return -1;
    }
    fb->fd = -1;
    snprintf(fb->path, sizeof(fb->path), "%s", v[0]);
    if (sg_capture_parse_uint("fbdev:rate", v[1], 1000, &fb->rate, err, err_size))
        goto fail;
    if (fb->rate == 0)
        fb->rate = 1;
    fb->fd = open(fb->path, O_RDONLY | O_CLOEXEC);
    if (fb->fd < 0) {
        snprintf(err, err_size, "fbdev %s: cannot open: %s", fb->path, strerror(errno));
        goto fail;
    }
    struct fb_var_screeninfo var;
    fb->is_fb = ioctl(fb->fd, FBIOGET_VSCREENINFO, &var) == 0;
    if (!fb->is_fb) {
        uint32_t w, h, bpp;
        if (!v[2][0]) {
            snprintf(err, err_size, "fbdev %s: not a framebuffer device (%s)", fb->path, strerror(errno));
            goto fail;
        }
        if (sscanf(v[2], "%ux%ux%u", &w, &h, &bpp) != 3 || !sg_fbdev_default_format(bpp, &fb->fmt)) {
            snprintf(err, err_size, "fbdev:geometry '%s' is not WxHxBPP with BPP 16, 24 or 32", v[2]);
            goto fail;
        }
        fb->w = w;
        fb->h = h;
        fb->line = w * (bpp / 8);
        struct stat st;
        if (fstat(fb->fd, &st) != 0 || (uint64_t)st.st_size < (uint64_t)fb->line * h) {
            snprintf(err, err_size, "fbdev %s: file is smaller than %ux%u at %u bpp (%llu bytes)", fb->path,
                     w, h, bpp, (unsigned long long)fb->line * h);
            goto fail;
        }
    }
    *out = &fb->base;
    return 0;
fail:
    if (fb->fd >= 0)
        close(fb->fd);
    free(fb);
    return -1;
}

static int fb_start(struct sg_capture *cap)
{
    struct fbdev *fb = (struct fbdev *)cap;
    fb->started = true;
    fb->have_image = false;
    fb->next_poll_ns = sg_time_ns();
    return 0;
}

/* Compare one band with the shadow; on a change convert the changed span and
 * return true with the span in *x0, *x1 (pixels). */
static bool fb_scan_band(struct fbdev *fb, uint32_t y0, uint32_t y1, bool all, uint32_t *x0, uint32_t *x1)
{
    uint32_t bpp = fb->fmt.bpp / 8, tiles = (fb->w + TILE_PX - 1) / TILE_PX;
    uint32_t lo = UINT32_MAX, hi = 0;
    for (uint32_t y = y0; y < y1; y++) {
        const uint8_t *src = fb->map + fb->offset + (size_t)y * fb->line;
        uint8_t *sh = fb->shadow + (size_t)y * fb->w * bpp;
        if (all) {
            lo = 0;
            hi = tiles;
            break;
        }
        if (memcmp(sh, src, (size_t)fb->w * bpp) == 0)
            continue;
        for (uint32_t t = 0; t < tiles; t++) {
            size_t off = (size_t)t * TILE_PX * bpp;
            size_t len = (size_t)((t + 1) * TILE_PX > fb->w ? fb->w - t * TILE_PX : TILE_PX) * bpp;
            if (memcmp(sh + off, src + off, len) != 0) {
                if (t < lo)
                    lo = t;
                if (t + 1 > hi)
                    hi = t + 1;
            }
        }
    }
    if (lo == UINT32_MAX)
        return false;
    *x0 = lo * TILE_PX;
    *x1 = hi * TILE_PX > fb->w ? fb->w : hi * TILE_PX;
    for (uint32_t y = y0; y < y1; y++) {
        const uint8_t *src = fb->map + fb->offset + (size_t)y * fb->line + (size_t)*x0 * bpp;
        memcpy(fb->shadow + ((size_t)y * fb->w + *x0) * bpp, src, (size_t)(*x1 - *x0) * bpp);
        sg_fbdev_convert(&fb->fmt, fb->shadow + ((size_t)y * fb->w + *x0) * bpp,
                         fb->img + (size_t)y * fb->w + *x0, *x1 - *x0);
    }
    return true;
}

static enum sg_capture_status fb_next_frame(struct sg_capture *cap, uint32_t timeout_ms,
                                            struct sg_capture_frame *out)
{
    struct fbdev *fb = (struct fbdev *)cap;
    int64_t budget = (int64_t)timeout_ms * 1000000;
    for (;;) {
        int64_t wait = (int64_t)(fb->next_poll_ns - sg_time_ns());
        if (wait > budget) {
            sg_sleep_ns(budget);
            return SG_CAPTURE_TIMEOUT;
        }
        sg_sleep_ns(wait);
        budget -= wait > 0 ? wait : 0;
        fb->next_poll_ns = sg_time_ns() + 1000000000u / fb->rate;

        char err[SG_CAPTURE_ERR_SIZE];
        int changed = fb_probe(fb, err, sizeof(err));
        if (changed < 0) {
            sg_capture_set_error(cap, "%s", err);
            return SG_CAPTURE_ERROR;
        }
        bool all = changed || !fb->have_image;
        out->type = SG_FRAME_BGRA; /* converted to BGRA as it is read */
        out->width = fb->w;
        out->height = fb->h;
        out->damage_count = 0;
        uint32_t count = 0;
        struct sg_capture_rect prev = {0};
        for (uint32_t y = 0; y < fb->h; y += BAND_ROWS) {
            uint32_t y1 = y + BAND_ROWS > fb->h ? fb->h : y + BAND_ROWS, x0, x1;
            if (!fb_scan_band(fb, y, y1, all, &x0, &x1))
                continue;
            /* a band continuing the previous rectangle with the same span extends it */
            if (count && prev.x == x0 && prev.w == x1 - x0 && prev.y + prev.h == y) {
                prev.h += y1 - y;
                out->damage[count - 1] = prev;
                continue;
            }
            prev = (struct sg_capture_rect){x0, y, x1 - x0, y1 - y};
            sg_capture_damage_add(out->damage, &count, &prev);
            prev = out->damage[count - 1];
        }
        fb->have_image = true;
        if (all) {
            out->damage_count = 0;
            return SG_CAPTURE_OK;
        }
        if (count) {
            out->damage_count = count;
            return SG_CAPTURE_OK;
        }
    }
}

static void fb_copy_rect(struct sg_capture *cap, const struct sg_capture_rect *r, void *dst, size_t dst_pitch)
{
    struct fbdev *fb = (struct fbdev *)cap;
    sg_capture_copy_image((const uint8_t *)fb->img, (size_t)fb->w * 4, r, dst, dst_pitch);
}

/* The framebuffer has no cursor of its own. */
static enum sg_capture_status fb_next_cursor(struct sg_capture *cap, struct sg_capture_cursor *out,
                                             uint8_t *shape, size_t shape_cap)
{
    return SG_CAPTURE_NONE;
}

static void fb_stop(struct sg_capture *cap)
{
    ((struct fbdev *)cap)->started = false;
}

static void fb_destroy(struct sg_capture *cap)
{
    struct fbdev *fb = (struct fbdev *)cap;
    fb_unmap(fb);
    if (fb->fd >= 0)
        close(fb->fd);
    free(fb->shadow);
    free(fb->img);
    free(fb);
}

const struct sg_capture_impl sg_capture_fbdev = {
    .name = "fbdev",
    .label = "fbdev",
    .help = "the Linux framebuffer (16/24/32 bpp), for guests without X",
    .options = fb_options,
    .create = fb_create,
    .start = fb_start,
    .next_frame = fb_next_frame,
    .copy_rect = fb_copy_rect,
    .next_cursor = fb_next_cursor,
    /* no set_cursor_pos: the framebuffer has no pointer */
    .stop = fb_stop,
    .destroy = fb_destroy,
};
