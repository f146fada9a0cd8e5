/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kms: capture what the display controller scans out, through libdrm. Whatever
 * draws there (a Wayland compositor, an X server, a login manager, the
 * console) is seen without its cooperation.
 *
 * Each poll (kms:fps a second) looks the scan-out up again: connector ->
 * encoder -> CRTC -> framebuffer, because compositors flip between two or
 * three framebuffers. A framebuffer is mapped once (dumb-buffer map, else
 * PRIME export + mmap) and kept in a small cache keyed by its id and by the
 * identity of its memory, so a flip costs a few ioctls. KMS says nothing about
 * what changed: kms_detect.c keeps a hash per row. On the same buffer only
 * every kms:interleave-th row is probed (another set each poll) and a full
 * scan follows only when one of those differs, so a still screen costs a
 * fraction of one read of it. After a flip the same rows are sampled: mostly
 * changed, the frame goes out whole without a full scan; else every row is
 * hashed and compared, for exact damage.
 * Changed rows are reported as damage and copied by copy_rect straight from
 * the scan-out, hashed as they are copied, in the KVMFR type that has the
 * scan-out's channels (kms_format.c: BGRA, RGBA or RGBA10, no bits lost; only
 * XRGB2101010 is rearranged, in the same pass): if the compositor drew into
 * that buffer between scan and copy, the stored hash says what was really
 * published and the next scan corrects it. (So "the current image" of capture.h is the scan-out
 * itself: copy_rect never blocks, but it may copy rows drawn after next_frame
 * looked, and the hashes make sure those are accounted for.)
 *
 * The cursor plane (universal planes) is read on the tick thread: its
 * framebuffer is the shape (ARGB8888), CRTC_X/CRTC_Y its top-left corner.
 * Before Linux 6.8 KMS does not report a hotspot, so the shape goes out with
 * hotspot 0,0 and the position as the top-left, which draws the same picture;
 * with HOTSPOT_X/HOTSPOT_Y on the plane (virtual GPUs since 6.8) the real one.
 */
#include <dirent.h>
#include <drm_fourcc.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "../capture.h"
#include "sg_log.h"
#include "sg_time.h"
#include "kms.h"
#include "kms_detect.h"
#include "kms_format.h"
#include "kvmfr.h"

#define MAP_CACHE 4u
#define SG_DRM_CLIENT_CAP_CURSOR_PLANE_HOTSPOT 6 /* uapi drm.h since 6.8; libdrm 2.4.114 lacks it */
#define CURSOR_MAX_DIM 256u

/* A framebuffer mapped for reading. */
struct kms_buf {
    uint32_t fb_id; /* 0 = empty slot */
    uint64_t key;   /* identity of the memory (dumb map offset / dma-buf inode) */
    uint8_t *map;
    size_t map_size;
    uint32_t width, height, pitch, offset, format;
};

/* What one lookup of the scan-out found. */
struct kms_scanout {
    uint32_t crtc_id, fb_id;
    uint32_t x, y, w, h; /* the visible part of the framebuffer */
};

struct kms_cursor {
    uint32_t plane_id; /* 0: no cursor plane for our CRTC (software cursor) */
    uint32_t prop_fb, prop_crtc, prop_x, prop_y;
    uint32_t prop_hot_x, prop_hot_y; /* 0 before Linux 6.8: hotspot unknown, 0,0 */
    int32_t hot_x, hot_y, shape_hot_x, shape_hot_y;
    uint64_t shape_hash;
    uint32_t shape_fb; /* the framebuffer the shape was last read from */
    bool have_shape, visible, have_pos, reported;
    int32_t x, y;
};

struct kms {
    struct sg_capture base;
    char path[64];
    char connector_opt[64];
    char connector_name[32];
    uint32_t fps;
    int fd;
    uint32_t conn_id;
    bool atomic;              /* plane properties readable (the cursor's position) */
    _Atomic uint32_t crtc_id; /* read by the tick thread for the cursor */

    struct kms_buf cache[MAP_CACHE];
    uint32_t cache_next;

    uint32_t interleave;
    enum map_mode { MAP_AUTO, MAP_DUMB, MAP_PRIME } map_mode;
    enum map_mode mapped_by; /* frame thread: how the last mapping was made (logged when it changes) */
    uint32_t w, h;           /* the current image */
    const uint8_t *scan_src; /* row 0 of the visible part of the scanned-out buffer */
    size_t scan_pitch;
    uint32_t scan_format;
    const struct sg_kms_format *scan_fmt; /* of scan_format */
    uint32_t scan_fb;                     /* what scan_src was found from: a flip changes these */
    uint64_t scan_key;
    uint32_t phase; /* which rows the next probe reads */
    struct sg_kms_detect det;
    bool started, off;
    uint64_t next_poll_ns;

    pthread_mutex_t cursor_lock;
    struct kms_cursor cur;
    uint32_t cursor_crtc; /* the CRTC cur.plane_id was looked up for */
    bool sw_cursor_logged;
};

static const struct sg_capture_option kms_options[] = {
    {"device", "", "DRM device (default: the first /dev/dri/card* with a connected output)"},
    {"connector", "",
     "output to capture: a name like Virtual-1 or HDMI-A-1, or a connector id "
     "(default: the first connected one that is lit)"},
    {"fps", "60", "scan-outs compared per second (KMS has no change events)"},
    {"interleave", "8",
     "on a still screen each poll reads every Nth row, another set each time, and scans "
     "fully when one differs (1 = every row every poll; a change under N rows tall can "
     "wait N polls)"},
    {"map", "auto",
     "how framebuffers are mapped: dumb (the dumb-buffer map), prime (PRIME export + mmap of the "
     "dma-buf) or auto (dumb, else prime)"},
    {NULL, NULL, NULL},
};

/* ------------------------------------------------------------------ pixels */

/* "XR24, AR24, ...": the formats an error message offers. */
static const char *format_list(char *buf, size_t size)
{
    uint32_t n;
    const struct sg_kms_format *f = sg_kms_formats(&n);
    size_t used = 0;
    buf[0] = 0;
    for (uint32_t i = 0; i < n && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", f[i].name);
    return buf;
}

static const char *format_name(uint32_t f, char buf[8])
{
    for (int i = 0; i < 4; i++) {
        char c = (char)(f >> (8 * i));
        buf[i] = c >= 32 && c < 127 ? c : '?';
    }
    buf[4] = 0;
    return buf;
}

/* ------------------------------------------------------------------ framebuffers */

static void buf_release(struct kms_buf *b)
{
    if (b->map)
        munmap(b->map, b->map_size);
    *b = (struct kms_buf){0};
}

static bool has_cap_sys_admin(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long eff = 0;
    bool found = false;
    if (!f)
        return true; /* cannot tell: let the kernel decide */
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "CapEff: %llx", &eff) == 1) {
            found = true;
            break;
        }
    fclose(f);
    return !found || (eff >> 21 & 1); /* CAP_SYS_ADMIN is capability 21 */
}

int sg_kms_fb_check(const char *device, const struct sg_kms_fb_info *fb, char *err, size_t err_size)
{
    char fmt[8], list[128];
    if (!fb->handle) {
        snprintf(
            err, err_size,
            "kms %s: the kernel gave no handle for framebuffer %u: reading another program's framebuffer "
            "needs root or CAP_SYS_ADMIN (spyglass-host runs as uid %u%s)",
            device, fb->fb_id, (unsigned)geteuid(), has_cap_sys_admin() ? "" : " without CAP_SYS_ADMIN");
    } else if (fb->modifier != DRM_FORMAT_MOD_LINEAR && fb->modifier != DRM_FORMAT_MOD_INVALID) {
        char *vendor = drmGetFormatModifierVendor(fb->modifier),
             *name = drmGetFormatModifierName(fb->modifier);
        snprintf(
            err, err_size,
            "kms %s: framebuffer %u uses format modifier 0x%016llx (%s %s): a tiled or compressed layout the "
            "CPU cannot read; only linear framebuffers can be captured",
            device, fb->fb_id, (unsigned long long)fb->modifier, vendor ? vendor : "unknown vendor",
            name ? name : "unknown");
        free(vendor);
        free(name);
    } else if (!sg_kms_format_find(fb->format)) {
        snprintf(err, err_size, "kms %s: framebuffer %u has pixel format %s (0x%08x); supported: %s", device,
                 fb->fb_id, format_name(fb->format, fmt), fb->format, format_list(list, sizeof(list)));
    } else if (fb->width == 0 || fb->height == 0 ||
               fb->pitch < (uint64_t)fb->width * sg_kms_format_find(fb->format)->bytes_per_pixel) {
        snprintf(err, err_size, "kms %s: framebuffer %u is %ux%u with pitch %u: not a usable layout", device,
                 fb->fb_id, fb->width, fb->height, fb->pitch);
    } else {
        return 0;
    }
    return -1;
}

/* What identifies the memory behind a handle across GETFB calls (each gives a
 * new handle): its dumb-map offset, else its dma-buf's inode. */
static int memory_key(struct kms *k, uint32_t handle, uint64_t *key)
{
    struct drm_mode_map_dumb md = {.handle = handle};
    /* the key the mapping was made with: the dumb offset unless mappings go through PRIME */
    bool prime = k->map_mode == MAP_PRIME || k->mapped_by == MAP_PRIME;
    if (!prime && drmIoctl(k->fd, DRM_IOCTL_MODE_MAP_DUMB, &md) == 0) {
        *key = md.offset;
        return 0;
    }
    int pfd = -1;
    struct stat st;
    if (drmPrimeHandleToFD(k->fd, handle, DRM_CLOEXEC, &pfd) != 0)
        return -1;
    int rc = fstat(pfd, &st);
    close(pfd);
    if (rc != 0)
        return -1;
    *key = (uint64_t)st.st_ino | 1ull << 63;
    return 0;
}

/* Map memory object `handle` for reading; the key identifies the memory,
 * *by says which way it was mapped. */
static int map_handle(struct kms *k, uint32_t handle, size_t size, uint8_t **map, uint64_t *key,
                      enum map_mode *by_out, char *err, size_t err_size)
{
    int dumb_errno = 0, prime_errno = 0;
    enum map_mode by = MAP_AUTO;
    if (k->map_mode != MAP_PRIME) {
        struct drm_mode_map_dumb md = {.handle = handle};
        void *p = MAP_FAILED;
        if (drmIoctl(k->fd, DRM_IOCTL_MODE_MAP_DUMB, &md) == 0)
            p = mmap(NULL, size, PROT_READ, MAP_SHARED, k->fd, (off_t)md.offset);
        if (p != MAP_FAILED) {
            *map = p;
            *key = md.offset;
            by = MAP_DUMB;
        } else {
            dumb_errno = errno;
        }
    }
    int pfd = -1;
    if (by == MAP_AUTO && k->map_mode != MAP_DUMB) {
        if (drmPrimeHandleToFD(k->fd, handle, DRM_CLOEXEC, &pfd) == 0) {
            struct stat st;
            void *p = mmap(NULL, size, PROT_READ, MAP_SHARED, pfd, 0);
            prime_errno = errno;
            if (p != MAP_FAILED && fstat(pfd, &st) == 0) {
                *map = p;
                *key = (uint64_t)st.st_ino | 1ull << 63;
                by = MAP_PRIME;
            } else if (p != MAP_FAILED) {
                prime_errno = errno;
                munmap(p, size);
            }
            close(pfd);
        } else {
            prime_errno = errno;
        }
    }
    if (by != MAP_AUTO) {
        *by_out = by;
        return 0;
    }
    snprintf(err, err_size,
             "kms %s: cannot map %zu bytes of a framebuffer: dumb-buffer map: %s, PRIME export: %s", k->path,
             size, k->map_mode == MAP_PRIME ? "not tried (kms:map=prime)" : strerror(dumb_errno),
             k->map_mode == MAP_DUMB ? "not tried (kms:map=dumb)" : strerror(prime_errno));
    return -1;
}

/* Describe framebuffer fb_id and find (or make) its mapping. */
static struct kms_buf *fb_lookup(struct kms *k, uint32_t fb_id, char *err, size_t err_size)
{
    struct kms_buf nb = {.fb_id = fb_id};
    uint32_t handles[4] = {0};
    uint64_t modifier = DRM_FORMAT_MOD_LINEAR;
    drmModeFB2Ptr fb2 = drmModeGetFB2(k->fd, fb_id);
    if (fb2) {
        nb.width = fb2->width;
        nb.height = fb2->height;
        nb.pitch = fb2->pitches[0];
        nb.offset = fb2->offsets[0];
        nb.format = fb2->pixel_format;
        memcpy(handles, fb2->handles, sizeof(handles));
        if (fb2->flags & DRM_MODE_FB_MODIFIERS)
            modifier = fb2->modifier;
        drmModeFreeFB2(fb2);
    } else if (errno == EINVAL || errno == ENOTTY || errno == EOPNOTSUPP) {
        /* kernels before 5.7: GETFB knows depth/bpp only, no modifiers */
        drmModeFBPtr fb = drmModeGetFB(k->fd, fb_id);
        if (!fb) {
            snprintf(err, err_size, "kms %s: framebuffer %u: %s", k->path, fb_id, strerror(errno));
            return NULL;
        }
        nb.width = fb->width;
        nb.height = fb->height;
        nb.pitch = fb->pitch;
        nb.format = fb->bpp != 32     ? 0
                    : fb->depth == 24 ? DRM_FORMAT_XRGB8888
                    : fb->depth == 32 ? DRM_FORMAT_ARGB8888
                    : fb->depth == 30 ? DRM_FORMAT_XRGB2101010
                                      : 0;
        handles[0] = fb->handle;
        drmModeFreeFB(fb);
    } else {
        snprintf(err, err_size, "kms %s: framebuffer %u: %s", k->path, fb_id, strerror(errno));
        return NULL;
    }

    struct kms_buf *hit = NULL;
    int rc = -1;
    size_t size = (size_t)nb.offset + (size_t)nb.pitch * nb.height;
    struct sg_kms_fb_info info = {fb_id, handles[0], nb.width, nb.height, nb.pitch, nb.format, modifier};
    if (sg_kms_fb_check(k->path, &info, err, err_size) == 0) {
        uint8_t *map = NULL;
        uint64_t key = 0;
        /* a cached mapping is reused only while the id still names the same memory */
        bool keyed = memory_key(k, handles[0], &key) == 0;
        for (uint32_t i = 0; keyed && i < MAP_CACHE; i++) {
            struct kms_buf *c = &k->cache[i];
            if (c->fb_id == fb_id && c->key == key && c->width == nb.width && c->height == nb.height &&
                c->pitch == nb.pitch && c->offset == nb.offset && c->format == nb.format)
                hit = c;
        }
        enum map_mode by;
        if (!hit && map_handle(k, handles[0], size, &map, &key, &by, err, err_size) == 0) {
            if (by != k->mapped_by)
                LOG_I("kms %s: framebuffers mapped through %s", k->path,
                      by == MAP_DUMB ? "the dumb-buffer map" : "PRIME export + mmap of the dma-buf");
            k->mapped_by = by;
            nb.map = map;
            nb.map_size = size;
            nb.key = key;
            for (uint32_t i = 0; i < MAP_CACHE; i++)
                if (k->cache[i].fb_id == fb_id) /* the id now names other memory */
                    buf_release(&k->cache[i]);
            hit = &k->cache[k->cache_next];
            k->cache_next = (k->cache_next + 1) % MAP_CACHE;
            buf_release(hit);
            *hit = nb;
        }
        rc = hit ? 0 : -1;
    }
    /* every GETFB makes new handles in our file: close them all */
    for (int i = 0; i < 4; i++) {
        bool dup = false;
        for (int j = 0; j < i; j++)
            dup |= handles[j] == handles[i];
        if (handles[i] && !dup)
            drmCloseBufferHandle(k->fd, handles[i]);
    }
    return rc == 0 ? hit : NULL;
}

/* ------------------------------------------------------------------ outputs */

static void connector_name(const drmModeConnector *c, char *buf, size_t size)
{
    const char *type = drmModeGetConnectorTypeName(c->connector_type);
    snprintf(buf, size, "%s-%u", type ? type : "Unknown", c->connector_type_id);
}

/* The CRTC driving connector conn_id now, 0 if none. */
static uint32_t connector_crtc(int fd, const drmModeConnector *c)
{
    if (!c->encoder_id)
        return 0;
    drmModeEncoderPtr e = drmModeGetEncoder(fd, c->encoder_id);
    uint32_t crtc = e ? e->crtc_id : 0;
    drmModeFreeEncoder(e);
    return crtc;
}

/* Pick the connector: by option (name or id), else the first connected one
 * that has a CRTC, else the first connected one. 0 with *conn_id, or -1. */
static int choose_connector(struct kms *k, const char *want, char *err, size_t err_size)
{
    drmModeResPtr res = drmModeGetResources(k->fd);
    if (!res) {
        snprintf(err, err_size, "kms %s: not a KMS device (no mode-setting resources: %s)", k->path,
                 strerror(errno));
        return -1;
    }
    uint32_t best = 0, fallback = 0;
    char best_name[64] = "", fallback_name[64] = "", names[512] = "";
    size_t used = 0;
    char *end;
    unsigned long want_id = strtoul(want, &end, 10);
    bool by_id = want[0] && !*end;
    for (int i = 0; i < res->count_connectors && !best; i++) {
        drmModeConnectorPtr c = drmModeGetConnectorCurrent(k->fd, res->connectors[i]);
        if (!c)
            continue;
        char name[64];
        connector_name(c, name, sizeof(name));
        used += (size_t)snprintf(names + used, used < sizeof(names) ? sizeof(names) - used : 0,
                                 "%s%s (%u, %s)", used ? ", " : "", name, c->connector_id,
                                 c->connection == DRM_MODE_CONNECTED ? "connected" : "not connected");
        if (used >= sizeof(names))
            used = sizeof(names) - 1;
        if (want[0]) {
            if ((by_id && c->connector_id == want_id) || (!by_id && strcasecmp(name, want) == 0)) {
                best = c->connector_id;
                snprintf(best_name, sizeof(best_name), "%s", name);
            }
        } else if (c->connection == DRM_MODE_CONNECTED) {
            if (connector_crtc(k->fd, c)) {
                best = c->connector_id;
                snprintf(best_name, sizeof(best_name), "%s", name);
            } else if (!fallback) {
                fallback = c->connector_id;
                snprintf(fallback_name, sizeof(fallback_name), "%s", name);
            }
        }
        drmModeFreeConnector(c);
    }
    drmModeFreeResources(res);
    if (!best && fallback) {
        best = fallback;
        snprintf(best_name, sizeof(best_name), "%s", fallback_name);
    }
    if (!best) {
        if (want[0])
            snprintf(err, err_size, "kms %s: no connector '%s'; the device has: %s", k->path, want,
                     names[0] ? names : "none");
        else
            snprintf(err, err_size, "kms %s: no connected output; the device has: %s", k->path,
                     names[0] ? names : "no connectors");
        return -1;
    }
    k->conn_id = best;
    snprintf(k->connector_name, sizeof(k->connector_name), "%s", best_name);
    return 0;
}

static int open_device(struct kms *k, const char *path, char *err, size_t err_size)
{
    snprintf(k->path, sizeof(k->path), "%s", path);
    k->fd = open(path, O_RDWR | O_CLOEXEC);
    if (k->fd < 0)
        k->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (k->fd < 0) {
        snprintf(err, err_size, "kms %s: cannot open: %s", path, strerror(errno));
        return -1;
    }
    /* The first program to open a card becomes its DRM master. Give that up
     * at once: a compositor starting after us must be able to take the display. */
    if (drmIsMaster(k->fd))
        drmDropMaster(k->fd);
    drmSetClientCap(k->fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1);
    /* Since Linux 6.8 virtual GPUs show their cursor plane to atomic clients only when they
     * understand its hotspot; we do (HOTSPOT_X/Y below). Older kernels refuse the cap: fine. */
    drmSetClientCap(k->fd, SG_DRM_CLIENT_CAP_CURSOR_PLANE_HOTSPOT, 1);
    /* plane FB_ID/CRTC_X/CRTC_Y are listed only to atomic clients; we only read them */
    k->atomic = drmSetClientCap(k->fd, DRM_CLIENT_CAP_ATOMIC, 1) == 0;
    return 0;
}

static void close_device(struct kms *k)
{
    if (k->fd >= 0)
        close(k->fd);
    k->fd = -1;
}

/* Where the connector's picture comes from now. 1 lit, 0 off, -1 error. */
static int find_scanout(struct kms *k, struct kms_scanout *s, char *err, size_t err_size)
{
    drmModeConnectorPtr c = drmModeGetConnectorCurrent(k->fd, k->conn_id);
    if (!c) {
        snprintf(err, err_size, "kms %s: connector %s (%u) is gone: %s", k->path, k->connector_name,
                 k->conn_id, strerror(errno));
        return -1;
    }
    uint32_t crtc_id = c->connection == DRM_MODE_DISCONNECTED ? 0 : connector_crtc(k->fd, c);
    drmModeFreeConnector(c);
    atomic_store(&k->crtc_id, crtc_id);
    if (!crtc_id)
        return 0;
    drmModeCrtcPtr crtc = drmModeGetCrtc(k->fd, crtc_id);
    if (!crtc) {
        snprintf(err, err_size, "kms %s: CRTC %u: %s", k->path, crtc_id, strerror(errno));
        return -1;
    }
    *s = (struct kms_scanout){
        .crtc_id = crtc_id,
        .fb_id = crtc->mode_valid ? crtc->buffer_id : 0,
        .x = crtc->x,
        .y = crtc->y,
        .w = crtc->mode.hdisplay,
        .h = crtc->mode.vdisplay,
    };
    drmModeFreeCrtc(crtc);
    return s->fb_id && s->w && s->h ? 1 : 0;
}

/* ------------------------------------------------------------------ create / destroy */

static int probe_card(struct kms *k, const char *path, const char *want, char *err, size_t err_size)
{
    if (open_device(k, path, err, err_size))
        return -1;
    if (choose_connector(k, want, err, err_size)) {
        close_device(k);
        return -1;
    }
    return 0;
}

static int kms_create(struct sg_capture **out, const char *const *v, char *err, size_t err_size)
{
    struct kms *k = calloc(1, sizeof(*k));
    if (!k) {
        snprintf(err, err_size, "kms: out of memory");
        return -1;
    }
    k->fd = -1;
    pthread_mutex_init(&k->cursor_lock, NULL);
    snprintf(k->connector_opt, sizeof(k->connector_opt), "%s", v[1]);
    if (sg_capture_parse_uint("kms:fps", v[2], 1000, &k->fps, err, err_size))
        goto fail;
    if (k->fps == 0)
        k->fps = 1;
    if (sg_capture_parse_uint("kms:interleave", v[3], 64, &k->interleave, err, err_size))
        goto fail;
    if (k->interleave == 0)
        k->interleave = 1;
    if (strcmp(v[4], "auto") == 0)
        k->map_mode = MAP_AUTO;
    else if (strcmp(v[4], "dumb") == 0)
        k->map_mode = MAP_DUMB;
    else if (strcmp(v[4], "prime") == 0)
        k->map_mode = MAP_PRIME;
    else {
        snprintf(err, err_size, "kms:map '%s' is not auto, dumb or prime", v[4]);
        goto fail;
    }
    if (v[0][0]) {
        if (probe_card(k, v[0], k->connector_opt, err, err_size))
            goto fail;
    } else {
        /* the first card with a connected output (or the asked-for connector) */
        char first_err[SG_CAPTURE_ERR_SIZE] = "";
        bool any = false;
        for (int i = 0; i < 16 && k->fd < 0; i++) {
            char path[64];
            snprintf(path, sizeof(path), "/dev/dri/card%d", i);
            if (access(path, F_OK) != 0)
                continue;
            any = true;
            if (probe_card(k, path, k->connector_opt, err, err_size) && !first_err[0])
                snprintf(first_err, sizeof(first_err), "%s", err);
        }
        if (k->fd < 0) {
            if (!any)
                snprintf(err, err_size,
                         "kms: no DRM device (/dev/dri/card0 .. card15 do not exist); is the GPU "
                         "driver loaded?");
            else
                snprintf(err, err_size, "%s", first_err);
            goto fail;
        }
    }
    if (!has_cap_sys_admin()) {
        snprintf(
            err, err_size,
            "kms %s: reading another program's framebuffer needs root or CAP_SYS_ADMIN; spyglass-host runs "
            "as uid %u without it (run it as root, or setcap cap_sys_admin+ep on the binary)",
            k->path, (unsigned)geteuid());
        goto fail;
    }
    *out = &k->base;
    return 0;
fail:
    close_device(k);
    pthread_mutex_destroy(&k->cursor_lock);
    free(k);
    return -1;
}

static void kms_destroy(struct sg_capture *cap)
{
    struct kms *k = (struct kms *)cap;
    for (uint32_t i = 0; i < MAP_CACHE; i++)
        buf_release(&k->cache[i]);
    close_device(k);
    sg_kms_detect_finish(&k->det);
    pthread_mutex_destroy(&k->cursor_lock);
    free(k);
}

static int kms_start(struct sg_capture *cap)
{
    struct kms *k = (struct kms *)cap;
    k->started = true;
    k->off = false;
    sg_kms_detect_invalidate(&k->det);
    k->next_poll_ns = sg_time_ns();
    LOG_I("kms %s: capturing %s (connector %u) at %u polls a second", k->path, k->connector_name, k->conn_id,
          k->fps);
    pthread_mutex_lock(&k->cursor_lock);
    k->cur.reported = false;
    k->cursor_crtc = 0;
    pthread_mutex_unlock(&k->cursor_lock);
    return 0;
}

static void kms_stop(struct sg_capture *cap)
{
    ((struct kms *)cap)->started = false;
}

/* ------------------------------------------------------------------ frames */

/* Make the image w x h; the next scan reports it whole. */
static int resize_image(struct kms *k, uint32_t w, uint32_t h, char *err, size_t err_size)
{
    if (w == k->w && h == k->h && k->det.row_hash)
        return 0;
    if (sg_kms_detect_reset(&k->det, w, h)) {
        snprintf(err, err_size, "kms %s: out of memory for a %ux%u image", k->path, w, h);
        k->w = k->h = 0;
        return -1;
    }
    if (k->w)
        LOG_I("kms %s: %s is now %ux%u", k->path, k->connector_name, w, h);
    k->w = w;
    k->h = h;
    return 0;
}

/* One look at the scan-out. OK (out filled), TIMEOUT (nothing new), ERROR. */
static enum sg_capture_status poll_once(struct kms *k, struct sg_capture_frame *out)
{
    char err[SG_CAPTURE_ERR_SIZE];
    struct kms_scanout s;
    int lit = find_scanout(k, &s, err, sizeof(err));
    if (lit < 0) {
        sg_capture_set_error(&k->base, "%s", err);
        return SG_CAPTURE_ERROR;
    }
    if (!lit) {
        if (!k->off)
            LOG_I("kms %s: %s is off (no CRTC, mode or framebuffer): no frames until it is lit again",
                  k->path, k->connector_name);
        k->off = true;
        sg_kms_detect_invalidate(&k->det); /* when it comes back, send it whole */
        return SG_CAPTURE_TIMEOUT;
    }
    if (k->off)
        LOG_I("kms %s: %s is lit again", k->path, k->connector_name);
    k->off = false;
    struct kms_buf *b = fb_lookup(k, s.fb_id, err, sizeof(err));
    if (!b) {
        sg_capture_set_error(&k->base, "%s", err);
        return SG_CAPTURE_ERROR;
    }
    if (s.w > SG_KVMFR_MAX_DIMENSION || s.h > SG_KVMFR_MAX_DIMENSION || (uint64_t)s.x + s.w > b->width ||
        (uint64_t)s.y + s.h > b->height) {
        sg_capture_set_error(&k->base, "kms %s: mode %ux%u at %u,%u does not fit framebuffer %u (%ux%u)",
                             k->path, s.w, s.h, s.x, s.y, s.fb_id, b->width, b->height);
        return SG_CAPTURE_ERROR;
    }
    if (resize_image(k, s.w, s.h, err, sizeof(err))) {
        sg_capture_set_error(&k->base, "%s", err);
        return SG_CAPTURE_ERROR;
    }
    const uint8_t *src = b->map + b->offset + (size_t)s.y * b->pitch + (size_t)s.x * 4;
    if (k->scan_format != b->format)
        sg_kms_detect_invalidate(&k->det); /* same bytes can mean other colours */
    bool flipped =
        src != k->scan_src || b->pitch != k->scan_pitch || b->fb_id != k->scan_fb || b->key != k->scan_key;
    k->scan_src = src;
    k->scan_pitch = b->pitch;
    k->scan_format = b->format;
    k->scan_fmt = sg_kms_format_find(b->format); /* fb_lookup checked it is supported */
    k->scan_fb = b->fb_id;
    k->scan_key = b->key;
    /* the same buffer as last time: only drawing into it can have changed it, so probe first */
    if (!flipped && !sg_kms_detect_probe(&k->det, src, k->scan_pitch, k->phase++, k->interleave))
        return SG_CAPTURE_TIMEOUT;
    /* another buffer: when most sampled rows differ, send it whole instead of scanning every row
     * first (copy_rect stores the hash of each row it copies) */
    uint32_t checked;
    if (flipped && k->det.valid && k->interleave > 1 &&
        sg_kms_detect_sample(&k->det, src, k->scan_pitch, k->phase++, k->interleave, &checked) * 2 >
            checked) {
        out->type = k->scan_fmt->kvmfr_type;
        out->width = k->w;
        out->height = k->h;
        out->damage_count = 0;
        return SG_CAPTURE_OK;
    }
    bool whole;
    uint32_t n = sg_kms_detect_scan(&k->det, src, k->scan_pitch, out->damage, &out->damage_count, &whole);
    out->type = k->scan_fmt->kvmfr_type;
    out->width = k->w;
    out->height = k->h;
    if (whole) {
        out->damage_count = 0;
        return SG_CAPTURE_OK;
    }
    return n ? SG_CAPTURE_OK : SG_CAPTURE_TIMEOUT;
}

static enum sg_capture_status kms_next_frame(struct sg_capture *cap, uint32_t timeout_ms,
                                             struct sg_capture_frame *out)
{
    struct kms *k = (struct kms *)cap;
    int64_t budget = (int64_t)timeout_ms * 1000000;
    for (;;) {
        int64_t wait = (int64_t)(k->next_poll_ns - sg_time_ns());
        if (wait > budget) {
            sg_sleep_ns(budget);
            return SG_CAPTURE_TIMEOUT;
        }
        sg_sleep_ns(wait);
        budget -= wait > 0 ? wait : 0;
        k->next_poll_ns = sg_time_ns() + 1000000000u / k->fps;
        enum sg_capture_status st = poll_once(k, out);
        if (st != SG_CAPTURE_TIMEOUT)
            return st;
    }
}

static void kms_copy_rect(struct sg_capture *cap, const struct sg_capture_rect *r, void *dst,
                          size_t dst_pitch)
{
    struct kms *k = (struct kms *)cap;
    const struct sg_kms_format *f = k->scan_fmt;
    bool full_rows = r->x == 0 && r->w == k->w;
    for (uint32_t y = r->y; y < r->y + r->h; y++) {
        const uint8_t *src = k->scan_src + (size_t)y * k->scan_pitch + (size_t)r->x * f->bytes_per_pixel;
        uint8_t *d = (uint8_t *)dst + (size_t)y * dst_pitch + (size_t)r->x * f->bytes_per_pixel;
        uint64_t hash = sg_kms_format_copy_row(f, d, src, r->w);
        /* the hash of what a whole row published: a later change of that row is seen by the next scan */
        if (full_rows)
            sg_kms_detect_store(&k->det, y, hash);
    }
    sg_kms_copy_fence();
}

/* ------------------------------------------------------------------ cursor */

static uint32_t prop_id(int fd, drmModeObjectPropertiesPtr props, const char *name, uint64_t *value)
{
    for (uint32_t i = 0; i < props->count_props; i++) {
        drmModePropertyPtr p = drmModeGetProperty(fd, props->props[i]);
        if (!p)
            continue;
        bool match = strcmp(p->name, name) == 0;
        drmModeFreeProperty(p);
        if (match) {
            if (value)
                *value = props->prop_values[i];
            return props->props[i];
        }
    }
    return 0;
}

static uint64_t prop_value(drmModeObjectPropertiesPtr props, uint32_t id)
{
    for (uint32_t i = 0; i < props->count_props; i++)
        if (props->props[i] == id)
            return props->prop_values[i];
    return 0;
}

/* The cursor plane that can sit on crtc_id, 0 if there is none. */
static void find_cursor_plane(struct kms *k, uint32_t crtc_id)
{
    struct kms_cursor *c = &k->cur;
    *c = (struct kms_cursor){0};
    drmModeResPtr res = drmModeGetResources(k->fd);
    int index = -1;
    for (int i = 0; res && i < res->count_crtcs; i++)
        if (res->crtcs[i] == crtc_id)
            index = i;
    drmModeFreeResources(res);
    drmModePlaneResPtr planes = drmModeGetPlaneResources(k->fd);
    for (uint32_t i = 0; index >= 0 && planes && i < planes->count_planes && !c->plane_id; i++) {
        drmModePlanePtr pl = drmModeGetPlane(k->fd, planes->planes[i]);
        if (!pl)
            continue;
        bool fits = pl->possible_crtcs & (1u << index);
        drmModeFreePlane(pl);
        drmModeObjectPropertiesPtr props =
            fits ? drmModeObjectGetProperties(k->fd, planes->planes[i], DRM_MODE_OBJECT_PLANE) : NULL;
        uint64_t type = 0;
        if (props && k->atomic && prop_id(k->fd, props, "type", &type) && type == DRM_PLANE_TYPE_CURSOR) {
            c->plane_id = planes->planes[i];
            c->prop_fb = prop_id(k->fd, props, "FB_ID", NULL);
            c->prop_crtc = prop_id(k->fd, props, "CRTC_ID", NULL);
            c->prop_x = prop_id(k->fd, props, "CRTC_X", NULL);
            c->prop_y = prop_id(k->fd, props, "CRTC_Y", NULL);
            c->prop_hot_x = prop_id(k->fd, props, "HOTSPOT_X", NULL);
            c->prop_hot_y = prop_id(k->fd, props, "HOTSPOT_Y", NULL);
        }
        drmModeFreeObjectProperties(props);
    }
    drmModeFreePlaneResources(planes);
    k->cursor_crtc = crtc_id;
    if (!c->plane_id && !k->sw_cursor_logged) {
        LOG_I("kms %s: CRTC %u has no cursor plane%s: the cursor is drawn into the picture (software "
              "cursor), so "
              "no cursor is published",
              k->path, crtc_id, k->atomic ? "" : " readable without atomic mode setting");
        k->sw_cursor_logged = true;
    } else if (c->plane_id) {
        LOG_I("kms %s: cursor plane %u on CRTC %u", k->path, c->plane_id, crtc_id);
    }
}

/* Read the cursor shape from framebuffer fb_id into shape (BGRA, w*4 pitch). */
static bool read_cursor_shape(struct kms *k, uint32_t fb_id, uint8_t *shape, size_t cap, uint32_t *w,
                              uint32_t *h, uint64_t *hash)
{
    char err[SG_CAPTURE_ERR_SIZE];
    drmModeFB2Ptr fb2 = drmModeGetFB2(k->fd, fb_id);
    if (!fb2)
        return false;
    struct kms_buf nb = {.fb_id = fb_id,
                         .width = fb2->width,
                         .height = fb2->height,
                         .pitch = fb2->pitches[0],
                         .offset = fb2->offsets[0],
                         .format = fb2->pixel_format};
    uint32_t handle = fb2->handles[0];
    uint64_t modifier = fb2->flags & DRM_MODE_FB_MODIFIERS ? fb2->modifier : DRM_FORMAT_MOD_LINEAR;
    drmModeFreeFB2(fb2);
    bool ok = false;
    size_t size = (size_t)nb.offset + (size_t)nb.pitch * nb.height;
    if (handle && modifier == DRM_FORMAT_MOD_LINEAR &&
        (nb.format == DRM_FORMAT_ARGB8888 || nb.format == DRM_FORMAT_XRGB8888) && nb.width &&
        nb.width <= CURSOR_MAX_DIM && nb.height && nb.height <= CURSOR_MAX_DIM && nb.pitch >= nb.width * 4 &&
        (size_t)nb.width * nb.height * 4 <= cap) {
        uint8_t *map;
        uint64_t key;
        enum map_mode by;
        if (map_handle(k, handle, size, &map, &key, &by, err, sizeof(err)) == 0) {
            for (uint32_t y = 0; y < nb.height; y++) {
                const uint8_t *row = map + nb.offset + (size_t)y * nb.pitch;
                uint32_t *dst = (uint32_t *)(shape + (size_t)y * nb.width * 4);
                memcpy(dst, row, (size_t)nb.width * 4);
                if (nb.format == DRM_FORMAT_XRGB8888)
                    for (uint32_t x = 0; x < nb.width; x++)
                        dst[x] |= 0xff000000u;
            }
            munmap(map, size);
            *w = nb.width;
            *h = nb.height;
            *hash = sg_kms_row_hash(shape, (size_t)nb.width * nb.height * 4) ^ nb.width ^
                    (uint64_t)nb.height << 32;
            ok = true;
        }
    }
    if (handle)
        drmCloseBufferHandle(k->fd, handle);
    return ok;
}

static enum sg_capture_status kms_next_cursor(struct sg_capture *cap, struct sg_capture_cursor *out,
                                              uint8_t *shape, size_t shape_cap)
{
    struct kms *k = (struct kms *)cap;
    enum sg_capture_status st = SG_CAPTURE_NONE;
    uint32_t crtc = atomic_load(&k->crtc_id);
    if (!k->started || !crtc)
        return SG_CAPTURE_NONE;
    pthread_mutex_lock(&k->cursor_lock);
    if (crtc != k->cursor_crtc)
        find_cursor_plane(k, crtc);
    struct kms_cursor *c = &k->cur;
    drmModeObjectPropertiesPtr props =
        c->plane_id ? drmModeObjectGetProperties(k->fd, c->plane_id, DRM_MODE_OBJECT_PLANE) : NULL;
    if (props) {
        uint32_t fb = (uint32_t)prop_value(props, c->prop_fb);
        bool visible = fb && prop_value(props, c->prop_crtc) == crtc;
        int32_t hx = c->prop_hot_x ? (int32_t)(int64_t)prop_value(props, c->prop_hot_x) : 0;
        int32_t hy = c->prop_hot_y ? (int32_t)(int64_t)prop_value(props, c->prop_hot_y) : 0;
        /* the interface wants the hotspot's position; CRTC_X/Y place the image's corner */
        int32_t x = (int32_t)(int64_t)prop_value(props, c->prop_x) + hx;
        int32_t y = (int32_t)(int64_t)prop_value(props, c->prop_y) + hy;
        drmModeFreeObjectProperties(props);
        *out = (struct sg_capture_cursor){0};
        if (visible) {
            uint32_t w, h;
            uint64_t hash;
            /* a new shape comes as a new framebuffer (legacy SetCursor makes one per call) */
            bool fresh = fb != c->shape_fb || hx != c->hot_x || hy != c->hot_y;
            c->hot_x = hx;
            c->hot_y = hy;
            c->shape_fb = fb;
            if (fresh && read_cursor_shape(k, fb, shape, shape_cap, &w, &h, &hash) &&
                (!c->have_shape || hash != c->shape_hash || hx != c->shape_hot_x || hy != c->shape_hot_y)) {
                c->shape_hot_x = hx;
                c->shape_hot_y = hy;
                c->have_shape = true;
                c->shape_hash = hash;
                out->has_shape = true;
                out->shape_type = SG_CURSOR_COLOR;
                out->width = w;
                out->height = h;
                out->pitch = w * 4;
                out->hot_x = hx;
                out->hot_y = hy;
            }
        }
        if (!c->have_pos || x != c->x || y != c->y) {
            out->has_position = true;
            c->have_pos = true;
            c->x = x;
            c->y = y;
        }
        out->x = c->x;
        out->y = c->y;
        out->visible = visible;
        if (out->has_shape || out->has_position || visible != c->visible || !c->reported) {
            c->visible = visible;
            c->reported = true;
            st = SG_CAPTURE_OK;
        }
    }
    pthread_mutex_unlock(&k->cursor_lock);
    return st;
}

const struct sg_capture_impl sg_capture_kms = {
    .name = "kms",
    .label = "KMS",
    .help = "what the display controller scans out (DRM/KMS): Wayland, X, console, login screen; needs root",
    .options = kms_options,
    .create = kms_create,
    .start = kms_start,
    .next_frame = kms_next_frame,
    .copy_rect = kms_copy_rect,
    .next_cursor = kms_next_cursor,
    /* no set_cursor_pos: KMS has no pointer to move, the compositor owns the cursor */
    .stop = kms_stop,
    .destroy = kms_destroy,
};
