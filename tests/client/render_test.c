/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The OpenGL renderer without a window: a surfaceless EGL context (Mesa's
 * software renderer) and the renderer's own read-back of the guest frame.
 * An error left by an earlier GL call does not fail a texture allocation or
 * a cursor upload; the packed 24-bit types come out pixel-exact, whole and
 * through damage rectangles; a scene drawn with a clip list changes only the
 * pixels inside it. Skipped (77) where no such context exists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <epoxy/egl.h>
#include <epoxy/gl.h>

#include "kvmfr.h"
#include "render/render.h"

static const struct sg_render_impl *ri = &sg_render_gl;
static struct sg_renderer *r;

static bool make_context(char *why, size_t size)
{
    if (!epoxy_has_egl_extension(EGL_NO_DISPLAY, "EGL_MESA_platform_surfaceless")) {
        snprintf(why, size, "no EGL_MESA_platform_surfaceless");
        return false;
    }
    EGLDisplay d = eglGetPlatformDisplayEXT(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL);
    EGLint major, minor;
    if (d == EGL_NO_DISPLAY || !eglInitialize(d, &major, &minor) || !eglBindAPI(EGL_OPENGL_API)) {
        snprintf(why, size, "no surfaceless EGL display (0x%x)", eglGetError());
        return false;
    }
    const EGLint attrs[] = {EGL_CONTEXT_MAJOR_VERSION,
                            3,
                            EGL_CONTEXT_MINOR_VERSION,
                            3,
                            EGL_CONTEXT_OPENGL_PROFILE_MASK,
                            EGL_CONTEXT_OPENGL_CORE_PROFILE_BIT,
                            EGL_NONE};
    EGLContext c = eglCreateContext(d, EGL_NO_CONFIG_KHR, EGL_NO_CONTEXT, attrs);
    if (c == EGL_NO_CONTEXT || !eglMakeCurrent(d, EGL_NO_SURFACE, EGL_NO_SURFACE, c)) {
        snprintf(why, size, "no OpenGL 3.3 core context without a surface (0x%x)", eglGetError());
        return false;
    }
    return true;
}

/* A GL error nobody has read yet, as any earlier call could leave. */
static void leave_stale_error(void)
{
    glEnable(0x1234); /* GL_INVALID_ENUM */
}

static void stale_error_does_not_fail_texture(void **state)
{
    char err[256] = "";
    leave_stale_error();
    bool ok = ri->frame_configure(r, SG_FRAME_BGRA, 64, 48, 64, err, sizeof(err));
    if (!ok)
        fail_msg("configure failed: %s", err);
}

static void stale_error_does_not_fail_cursor(void **state)
{
    uint8_t over[8 * 8 * 4], xor_px[8 * 8 * 4];
    memset(over, 0xff, sizeof(over));
    memset(xor_px, 0, sizeof(xor_px));
    leave_stale_error();
    assert_true(ri->cursor_shape(r, 8, 8, over, xor_px, true));
}

/* Pixel (x, y) of picture n: distinct bytes everywhere, so a pixel read from the wrong bytes shows. */
static void pixel(int n, uint32_t x, uint32_t y, uint8_t *rr, uint8_t *g, uint8_t *b)
{
    *rr = (uint8_t)(n * 100 + x * 3 + y * 31 + 1);
    *g = (uint8_t)(n * 100 + x * 3 + y * 31 + 2);
    *b = (uint8_t)(n * 100 + x * 3 + y * 31 + 3);
}

/* Writes picture n into the staging buffer in the type's layout and uploads the rectangles. */
static void upload(uint32_t type, uint32_t w, uint32_t h, int n, const struct sg_render_rect *rects,
                   unsigned nr)
{
    size_t pitch = 0;
    uint8_t *dst = ri->frame_map(r, &pitch);
    assert_non_null(dst);
    uint32_t pxb = type == SG_FRAME_BGR_32 || type == SG_FRAME_RGB_24 ? 3 : 4;
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            uint8_t *p = dst + (size_t)y * pitch + (size_t)x * pxb, cr, cg, cb;
            pixel(n, x, y, &cr, &cg, &cb);
            if (type == SG_FRAME_BGR_32)
                p[0] = cb, p[1] = cg, p[2] = cr;
            else
                p[0] = cr, p[1] = cg, p[2] = cb;
        }
    ri->frame_unmap(r, rects, nr);
}

/* The read-back equals picture n, or picture `inside` within rect (if given). */
static void expect_picture(uint32_t w, uint32_t h, int n, const struct sg_render_rect *rect, int inside)
{
    uint8_t *px;
    uint32_t gw, gh;
    assert_true(ri->read_frame(r, &px, &gw, &gh));
    assert_int_equal(gw, w);
    assert_int_equal(gh, h);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            bool in = rect && x >= rect->x && x < rect->x + rect->w && y >= rect->y && y < rect->y + rect->h;
            uint8_t cr, cg, cb;
            pixel(in ? inside : n, x, y, &cr, &cg, &cb);
            const uint8_t *p = px + ((size_t)y * w + x) * 4;
            if (p[0] != cr || p[1] != cg || p[2] != cb || p[3] != 255) {
                char msg[160];
                snprintf(msg, sizeof(msg), "pixel (%u,%u): got %u,%u,%u,%u, want %u,%u,%u,255 (picture %d)",
                         x, y, p[0], p[1], p[2], p[3], cr, cg, cb, in ? inside : n);
                free(px);
                fail_msg("%s", msg);
            }
        }
    free(px);
}

static void packed_type(uint32_t type)
{
    /* 37 pixels: 111 bytes in 28 texels, rounded to 64 like B7's hosts; most pixels straddle two texels */
    const uint32_t w = 37, h = 9, dw = type == SG_FRAME_BGR_32 ? 64 : w;
    char err[256] = "";
    if (!ri->frame_configure(r, type, w, h, dw, err, sizeof(err)))
        fail_msg("configure %s: %s", sg_kvmfr_frame_type_str(type), err);
    upload(type, w, h, 0, NULL, 0);
    expect_picture(w, h, 0, NULL, 0);
    /* picture 1 in the buffer, but only a rectangle uploaded: it changes there only */
    struct sg_render_rect rect = {5, 2, 7, 3};
    upload(type, w, h, 1, &rect, 1);
    expect_picture(w, h, 0, &rect, 1);
    upload(type, w, h, 1, NULL, 0);
    expect_picture(w, h, 1, NULL, 0);
}

static void bgr_32_exact(void **state)
{
    packed_type(SG_FRAME_BGR_32);
}

static void rgb_24_exact(void **state)
{
    packed_type(SG_FRAME_RGB_24);
}

static void rgba_exact(void **state)
{
    packed_type(SG_FRAME_RGBA);
}

/* An offscreen w x h RGBA target to draw a scene into, then read back
 * (bottom row first) and drop. */
struct target {
    GLuint fbo, tex;
    uint32_t w, h;
};

static struct target target_begin(uint32_t w, uint32_t h)
{
    struct target t = {.w = w, .h = h};
    glGenTextures(1, &t.tex);
    glBindTexture(GL_TEXTURE_2D, t.tex);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, (GLsizei)w, (GLsizei)h, 0, GL_RGBA, GL_UNSIGNED_BYTE, NULL);
    glGenFramebuffers(1, &t.fbo);
    glBindFramebuffer(GL_FRAMEBUFFER, t.fbo);
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, t.tex, 0);
    assert_int_equal(glCheckFramebufferStatus(GL_FRAMEBUFFER), GL_FRAMEBUFFER_COMPLETE);
    return t;
}

static void target_end(struct target *t, uint8_t *px)
{
    glReadPixels(0, 0, (GLsizei)t->w, (GLsizei)t->h, GL_RGBA, GL_UNSIGNED_BYTE, px);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    glDeleteFramebuffers(1, &t->fbo);
    glDeleteTextures(1, &t->tex);
}

static bool in_clip(const struct sg_render_rect *clip, unsigned n, uint32_t x, uint32_t y)
{
    for (unsigned i = 0; i < n; i++)
        if (x >= clip[i].x && x < clip[i].x + clip[i].w && y >= clip[i].y && y < clip[i].y + clip[i].h)
            return true;
    return false;
}

/* A scene drawn with a clip list changes the framebuffer inside the rectangles
 * only (the client's cursor-only and damage-only redraws rely on it). */
static void clip_draws_only_inside(void **state)
{
    const uint32_t w = 37, h = 9;
    char err[256] = "";
    if (!ri->frame_configure(r, SG_FRAME_RGBA, w, h, w, err, sizeof(err)))
        fail_msg("configure: %s", err);
    struct target t = target_begin(w, h);
    struct sg_render_scene sc = {.fb_w = (int)w, .fb_h = (int)h, .have_frame = true, .dst_w = w, .dst_h = h};
    upload(SG_FRAME_RGBA, w, h, 0, NULL, 0);
    ri->draw(r, &sc);
    upload(SG_FRAME_RGBA, w, h, 1, NULL, 0);
    const struct sg_render_rect clip[2] = {{5, 2, 7, 3}, {30, 0, 7, 9}};
    sc.clip = clip;
    sc.nclip = 2;
    ri->draw(r, &sc);
    uint8_t px[37 * 9 * 4];
    target_end(&t, px);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < w; x++) {
            bool in = in_clip(clip, 2, x, y);
            uint8_t cr, cg, cb;
            pixel(in ? 1 : 0, x, y, &cr, &cg, &cb);
            const uint8_t *p = px + ((size_t)(h - 1 - y) * w + x) * 4; /* read back bottom row first */
            if (p[0] != cr || p[1] != cg || p[2] != cb)
                fail_msg("pixel (%u,%u): got %u,%u,%u, want picture %d's %u,%u,%u", x, y, p[0], p[1], p[2],
                         in ? 1 : 0, cr, cg, cb);
        }
}

/* A clip rectangle reaching past the frame (letterbox bars) is cleared black
 * there, while one inside the frame is left to the frame quad alone. */
static void clip_clears_outside_frame(void **state)
{
    const uint32_t w = 20, h = 6, fw = 30; /* the frame fills the left 20 of 30 columns */
    char err[256] = "";
    if (!ri->frame_configure(r, SG_FRAME_RGBA, w, h, w, err, sizeof(err)))
        fail_msg("configure: %s", err);
    struct target t = target_begin(fw, h);
    glClearColor(1, 0, 1, 1); /* what an earlier scene left: must not show in the bars */
    glClear(GL_COLOR_BUFFER_BIT);
    upload(SG_FRAME_RGBA, w, h, 1, NULL, 0);
    struct sg_render_scene sc = {.fb_w = (int)fw, .fb_h = (int)h, .have_frame = true, .dst_w = w, .dst_h = h};
    const struct sg_render_rect clip[2] = {{15, 1, 10, 4}, {2, 0, 5, 6}};
    sc.clip = clip;
    sc.nclip = 2;
    ri->draw(r, &sc);
    uint8_t px[30 * 6 * 4];
    target_end(&t, px);
    for (uint32_t y = 0; y < h; y++)
        for (uint32_t x = 0; x < fw; x++) {
            bool in = in_clip(clip, 2, x, y);
            uint8_t cr = 255, cg = 0, cb = 255; /* outside the clip: untouched */
            if (in && x < w)
                pixel(1, x, y, &cr, &cg, &cb);
            else if (in)
                cr = cg = cb = 0;
            const uint8_t *p = px + ((size_t)(h - 1 - y) * fw + x) * 4;
            if (p[0] != cr || p[1] != cg || p[2] != cb)
                fail_msg("pixel (%u,%u): got %u,%u,%u, want %u,%u,%u", x, y, p[0], p[1], p[2], cr, cg, cb);
        }
}

int main(void)
{
    char why[256];
    if (!make_context(why, sizeof(why))) {
        printf("SKIP: %s\n", why);
        return 77;
    }
    char err[256];
    r = ri->create(false, err, sizeof(err));
    if (!r) {
        fprintf(stderr, "renderer: %s\n", err);
        return 1;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(stale_error_does_not_fail_texture),
                                       cmocka_unit_test(stale_error_does_not_fail_cursor),
                                       cmocka_unit_test(bgr_32_exact),
                                       cmocka_unit_test(rgb_24_exact),
                                       cmocka_unit_test(rgba_exact),
                                       cmocka_unit_test(clip_draws_only_inside),
                                       cmocka_unit_test(clip_clears_outside_frame)};
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    ri->destroy(r);
    return rc;
}
