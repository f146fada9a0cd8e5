/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * OpenGL 3.3 core / OpenGL ES 3.0 renderer. Everything is a textured quad
 * made in the vertex shader from gl_VertexID, so there are no vertex buffers.
 */
#include <epoxy/gl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvmfr.h"
#include "render/render.h"

enum { PROG_FRAME, PROG_TEX, PROG_INVERT, PROG_UNPACK_BGR24, PROG_COUNT };

struct sg_renderer {
    bool gles;
    bool logic_op; /* exact XOR for cursors; GLES lacks it */
    char desc[256];
    GLuint vao;
    GLuint prog[PROG_COUNT];
    GLint u_rect[PROG_COUNT], u_rot[PROG_COUNT], u_tex[PROG_COUNT], u_swap, u_dim, u_flip[PROG_COUNT];

    /* frame: the picture is width x height pixels in frame_tex; the data
     * rows are data_width texels of bpt bytes (the same, except for packed
     * 24-bit BGR: bytes uploaded as they are into packed_tex, then unpacked
     * into frame_tex by a shader pass through unpack_fbo) */
    GLuint frame_tex, pbo, packed_tex, unpack_fbo;
    uint32_t type, width, height, data_width, bpt;
    size_t pitch;
    bool frame_ok, have_data, mapped, packed;
    GLenum ifmt, fmt, gltype;

    /* cursor */
    GLuint cur_over, cur_xor;
    bool cur_ok, cur_has_xor;

    GLuint layer_tex[SG_LAYER_COUNT];
    uint32_t layer_w[SG_LAYER_COUNT], layer_h[SG_LAYER_COUNT];
};

static const char vs_src[] =
    "uniform vec4 rect;\n" /* x0, y0, x1, y1 in NDC */
    "uniform int rot;\n"
    "uniform int flip;\n"
    "out vec2 uv;\n"
    "void main() {\n"
    "  vec2 p = vec2(float(gl_VertexID & 1), float(gl_VertexID >> 1));\n" /* 0,0 1,0 0,1 1,1 */
    "  gl_Position = vec4(mix(rect.xy, rect.zw, p), 0.0, 1.0);\n"
    /* p is in display space, top-left origin; map back into the stored image */
    "  vec2 t = p;\n"
    "  if (rot == 1) t = vec2(p.y, 1.0 - p.x);\n"
    "  else if (rot == 2) t = vec2(1.0 - p.x, 1.0 - p.y);\n"
    "  else if (rot == 3) t = vec2(1.0 - p.y, p.x);\n"
    "  if (flip != 0) t.y = 1.0 - t.y;\n"
    "  uv = t;\n"
    "}\n";

static const char fs_frame[] = "in vec2 uv;\n"
                               "out vec4 color;\n"
                               "uniform sampler2D tex;\n"
                               "uniform int swap_rb;\n"
                               "uniform float dim;\n"
                               "void main() {\n"
                               "  vec4 c = texture(tex, uv);\n"
                               "  if (swap_rb != 0) c = c.bgra;\n"
                               "  color = vec4(clamp(c.rgb, 0.0, 1.0) * dim, 1.0);\n"
                               "}\n";

static const char fs_tex[] = "in vec2 uv;\n"
                             "out vec4 color;\n"
                             "uniform sampler2D tex;\n"
                             "void main() { color = texture(tex, uv); }\n";

/* Packed 24-bit BGR (kvmfr.md §5.3, type 5): each row is a byte string, pixel
 * x at bytes 3x (blue), 3x+1 (green), 3x+2 (red), read here through RGBA8
 * texels of 4 bytes. Drawn into a texture of the picture's size, one
 * fragment per pixel, so gl_FragCoord is the pixel. */
static const char fs_unpack_bgr24[] = "out vec4 color;\n"
                                      "uniform sampler2D tex;\n"
                                      "void main() {\n"
                                      "  ivec2 p = ivec2(gl_FragCoord.xy);\n"
                                      "  int t = p.x * 3 / 4, o = p.x * 3 - t * 4;\n"
                                      "  int last = textureSize(tex, 0).x - 1;\n"
                                      "  vec4 a = texelFetch(tex, ivec2(t, p.y), 0);\n"
                                      "  vec4 b = texelFetch(tex, ivec2(min(t + 1, last), p.y), 0);\n"
                                      "  float v[8] = float[8](a.r, a.g, a.b, a.a, b.r, b.g, b.b, b.a);\n"
                                      "  color = vec4(v[o + 2], v[o + 1], v[o], 1.0);\n"
                                      "}\n";

/* Without logic ops: any non-zero XOR pixel inverts (blend 1-dst). */
static const char fs_invert[] = "in vec2 uv;\n"
                                "out vec4 color;\n"
                                "uniform sampler2D tex;\n"
                                "void main() {\n"
                                "  vec4 c = texture(tex, uv);\n"
                                "  float m = (c.r + c.g + c.b) > 0.0 ? 1.0 : 0.0;\n"
                                "  color = vec4(m, m, m, 0.0);\n"
                                "}\n";

static GLuint compile(struct sg_renderer *r, GLenum kind, const char *body, char *err, size_t err_size)
{
    const char *hdr =
        r->gles ? "#version 300 es\nprecision highp float;\nprecision highp int;\n" : "#version 330 core\n";
    const char *srcs[2] = {hdr, body};
    GLuint s = glCreateShader(kind);
    glShaderSource(s, 2, srcs, NULL);
    glCompileShader(s);
    GLint ok = 0;
    glGetShaderiv(s, GL_COMPILE_STATUS, &ok);
    if (!ok) {
        char log[512] = "";
        glGetShaderInfoLog(s, sizeof(log), NULL, log);
        snprintf(err, err_size, "shader compile failed: %s", log);
        glDeleteShader(s);
        return 0;
    }
    return s;
}

static bool link_prog(struct sg_renderer *r, int idx, const char *fs, char *err, size_t err_size)
{
    GLuint v = compile(r, GL_VERTEX_SHADER, vs_src, err, err_size);
    GLuint f = v ? compile(r, GL_FRAGMENT_SHADER, fs, err, err_size) : 0;
    if (!f) {
        glDeleteShader(v);
        return false;
    }
    GLuint p = glCreateProgram();
    glAttachShader(p, v);
    glAttachShader(p, f);
    glLinkProgram(p);
    glDeleteShader(v);
    glDeleteShader(f);
    GLint ok = 0;
    glGetProgramiv(p, GL_LINK_STATUS, &ok);
    if (!ok) {
        char log[512] = "";
        glGetProgramInfoLog(p, sizeof(log), NULL, log);
        snprintf(err, err_size, "shader link failed: %s", log);
        glDeleteProgram(p);
        return false;
    }
    r->prog[idx] = p;
    r->u_rect[idx] = glGetUniformLocation(p, "rect");
    r->u_rot[idx] = glGetUniformLocation(p, "rot");
    r->u_flip[idx] = glGetUniformLocation(p, "flip");
    r->u_tex[idx] = glGetUniformLocation(p, "tex");
    return true;
}

static void gl_destroy(struct sg_renderer *r)
{
    if (!r)
        return;
    for (int i = 0; i < PROG_COUNT; i++)
        if (r->prog[i])
            glDeleteProgram(r->prog[i]);
    GLuint tex[] = {r->frame_tex, r->cur_over, r->cur_xor, r->packed_tex};
    glDeleteTextures(4, tex);
    if (r->unpack_fbo)
        glDeleteFramebuffers(1, &r->unpack_fbo);
    glDeleteTextures(SG_LAYER_COUNT, r->layer_tex);
    if (r->pbo)
        glDeleteBuffers(1, &r->pbo);
    if (r->vao)
        glDeleteVertexArrays(1, &r->vao);
    free(r);
}

static GLuint new_tex(void)
{
    GLuint t;
    glGenTextures(1, &t);
    glBindTexture(GL_TEXTURE_2D, t);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_S, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_WRAP_T, GL_CLAMP_TO_EDGE);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, GL_NEAREST);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, GL_NEAREST);
    return t;
}

static struct sg_renderer *gl_create(bool gles, char *err, size_t err_size)
{
    struct sg_renderer *r = calloc(1, sizeof(*r));
    if (!r) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    r->gles = gles;
    int ver = epoxy_gl_version();
    if ((!gles && ver < 33) || (gles && ver < 30)) {
        snprintf(err, err_size, "OpenGL %s %d.%d is too old (need 3.3 core or ES 3.0)", gles ? "ES" : "",
                 ver / 10, ver % 10);
        free(r);
        return NULL;
    }
    r->logic_op = !gles;
    snprintf(r->desc, sizeof(r->desc), "%s; %s", (const char *)glGetString(GL_VERSION),
             (const char *)glGetString(GL_RENDERER));
    glGenVertexArrays(1, &r->vao);
    if (!link_prog(r, PROG_FRAME, fs_frame, err, err_size) ||
        !link_prog(r, PROG_TEX, fs_tex, err, err_size) ||
        !link_prog(r, PROG_INVERT, fs_invert, err, err_size) ||
        !link_prog(r, PROG_UNPACK_BGR24, fs_unpack_bgr24, err, err_size)) {
        gl_destroy(r);
        return NULL;
    }
    r->u_swap = glGetUniformLocation(r->prog[PROG_FRAME], "swap_rb");
    r->u_dim = glGetUniformLocation(r->prog[PROG_FRAME], "dim");
    r->frame_tex = new_tex();
    r->cur_over = new_tex();
    r->cur_xor = new_tex();
    for (int i = 0; i < SG_LAYER_COUNT; i++)
        r->layer_tex[i] = new_tex();
    glGenBuffers(1, &r->pbo);
    glPixelStorei(GL_UNPACK_ALIGNMENT, 1);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    return r;
}

/* glGetError reports the oldest error since it was last called: drain them
 * before an operation whose own errors are checked, so an error left by some
 * earlier call cannot fail it. Bounded: a lost context may repeat one for ever. */
static void drain_gl_errors(void)
{
    for (int i = 0; i < 32 && glGetError() != GL_NO_ERROR; i++)
        ;
}

static const char *gl_describe(struct sg_renderer *r)
{
    return r->desc;
}

static bool gl_frame_configure(struct sg_renderer *r, uint32_t type, uint32_t width, uint32_t height,
                               uint32_t data_width, char *err, size_t err_size)
{
    r->frame_ok = false;
    r->have_data = false;
    r->packed = false;
    switch (type) {
    case SG_FRAME_BGRA:
    case SG_FRAME_RGBA:
        /* both as RGBA bytes; BGRA is swizzled in the shader (GLES has no GL_BGRA) */
        r->ifmt = GL_RGBA8;
        r->fmt = GL_RGBA;
        r->gltype = GL_UNSIGNED_BYTE;
        r->bpt = 4;
        break;
    case SG_FRAME_RGBA10:
        r->ifmt = GL_RGB10_A2;
        r->fmt = GL_RGBA;
        r->gltype = GL_UNSIGNED_INT_2_10_10_10_REV;
        r->bpt = 4;
        break;
    case SG_FRAME_RGBA16F:
        r->ifmt = GL_RGBA16F;
        r->fmt = GL_RGBA;
        r->gltype = GL_HALF_FLOAT;
        r->bpt = 8;
        break;
    case SG_FRAME_RGB_24:
        r->ifmt = GL_RGB8;
        r->fmt = GL_RGB;
        r->gltype = GL_UNSIGNED_BYTE;
        r->bpt = 3;
        break;
    case SG_FRAME_BGR_32:
        /* the texels as bytes; the picture is unpacked from them after each upload */
        r->ifmt = GL_RGBA8;
        r->fmt = GL_RGBA;
        r->gltype = GL_UNSIGNED_BYTE;
        r->bpt = 4;
        r->packed = true;
        break;
    default:
        snprintf(err, err_size,
                 "frame type %u (%s) is not supported by this client (BGRA, RGBA, RGBA10, RGBA16F, BGR_32, "
                 "RGB_24 are)",
                 type, sg_kvmfr_frame_type_str(type));
        return false;
    }
    if (!r->packed)
        data_width = width;
    else if ((uint64_t)width * 3 > (uint64_t)data_width * 4)
        width = (uint32_t)((uint64_t)data_width * 4 / 3); /* never read past a row */
    GLint max = 0;
    glGetIntegerv(GL_MAX_TEXTURE_SIZE, &max);
    if (width == 0 || height == 0 || width > (uint32_t)max || height > (uint32_t)max ||
        data_width > (uint32_t)max) {
        snprintf(err, err_size, "frame size %ux%u outside what the GPU supports (1..%d)", width, height, max);
        return false;
    }
    r->type = type;
    r->width = width;
    r->height = height;
    r->data_width = data_width;
    r->pitch = (size_t)data_width * r->bpt;
    drain_gl_errors();
    glBindTexture(GL_TEXTURE_2D, r->frame_tex);
    if (r->packed) {
        glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, (GLsizei)width, (GLsizei)height, 0, GL_RGBA,
                     GL_UNSIGNED_BYTE, NULL);
        if (!r->packed_tex)
            r->packed_tex = new_tex();
        if (!r->unpack_fbo)
            glGenFramebuffers(1, &r->unpack_fbo);
        glBindTexture(GL_TEXTURE_2D, r->packed_tex);
        glTexImage2D(GL_TEXTURE_2D, 0, (GLint)r->ifmt, (GLsizei)data_width, (GLsizei)height, 0, r->fmt,
                     r->gltype, NULL);
        glBindFramebuffer(GL_FRAMEBUFFER, r->unpack_fbo);
        glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, r->frame_tex, 0);
        bool complete = glCheckFramebufferStatus(GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE;
        glBindFramebuffer(GL_FRAMEBUFFER, 0);
        if (!complete) {
            snprintf(err, err_size,
                     "cannot unpack %ux%u BGR_32 frames: the GPU cannot draw into an RGBA8 texture", width,
                     height);
            return false;
        }
    } else
        glTexImage2D(GL_TEXTURE_2D, 0, (GLint)r->ifmt, (GLsizei)width, (GLsizei)height, 0, r->fmt, r->gltype,
                     NULL);
    glBindBuffer(GL_PIXEL_UNPACK_BUFFER, r->pbo);
    glBufferData(GL_PIXEL_UNPACK_BUFFER, (GLsizeiptr)(r->pitch * height), NULL, GL_STREAM_DRAW);
    glBindBuffer(GL_PIXEL_UNPACK_BUFFER, 0);
    GLenum e = glGetError();
    if (e != GL_NO_ERROR) {
        snprintf(err, err_size, "cannot allocate a %ux%u texture (GL error 0x%x)", width, height, e);
        return false;
    }
    r->frame_ok = true;
    return true;
}

static void *gl_frame_map(struct sg_renderer *r, size_t *pitch)
{
    if (!r->frame_ok)
        return NULL;
    glBindBuffer(GL_PIXEL_UNPACK_BUFFER, r->pbo);
    /* Not INVALIDATE_BUFFER: with damage only the damaged parts are written,
     * and only those are uploaded, but the driver must not hand us memory the
     * GPU still reads from the previous upload. */
    void *p =
        glMapBufferRange(GL_PIXEL_UNPACK_BUFFER, 0, (GLsizeiptr)(r->pitch * r->height), GL_MAP_WRITE_BIT);
    glBindBuffer(GL_PIXEL_UNPACK_BUFFER, 0);
    if (!p)
        return NULL;
    r->mapped = true;
    *pitch = r->pitch;
    return p;
}

/* Damage rectangle in pixels -> the data's texel columns [*x0, *x1). */
static void data_columns(const struct sg_renderer *r, const struct sg_render_rect *d, uint32_t *x0,
                         uint32_t *x1)
{
    uint64_t a = d->x, b = (uint64_t)d->x + d->w;
    if (r->packed) {
        a = a * 3 / 4;
        b = (b * 3 + 3) / 4;
    }
    *x0 = (uint32_t)(a < r->data_width ? a : r->data_width);
    *x1 = (uint32_t)(b < r->data_width ? b : r->data_width);
}

/* Packed BGR texels -> the picture in frame_tex, within the given pixel
 * rectangles (n == 0: everything). */
static void unpack_bgr24(struct sg_renderer *r, const struct sg_render_rect *rects, unsigned n)
{
    glBindFramebuffer(GL_FRAMEBUFFER, r->unpack_fbo);
    glViewport(0, 0, (GLsizei)r->width, (GLsizei)r->height);
    glDisable(GL_BLEND);
    glBindVertexArray(r->vao);
    glActiveTexture(GL_TEXTURE0);
    glBindTexture(GL_TEXTURE_2D, r->packed_tex);
    glUseProgram(r->prog[PROG_UNPACK_BGR24]);
    glUniform4f(r->u_rect[PROG_UNPACK_BGR24], -1, -1, 1, 1);
    glUniform1i(r->u_tex[PROG_UNPACK_BGR24], 0);
    if (n)
        glEnable(GL_SCISSOR_TEST);
    for (unsigned i = 0; i < (n ? n : 1); i++) {
        if (n)
            glScissor((GLint)rects[i].x, (GLint)rects[i].y, (GLsizei)rects[i].w, (GLsizei)rects[i].h);
        glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
    }
    glDisable(GL_SCISSOR_TEST);
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
}

static void gl_frame_unmap(struct sg_renderer *r, const struct sg_render_rect *rects, unsigned n)
{
    if (!r->mapped)
        return;
    r->mapped = false;
    glBindBuffer(GL_PIXEL_UNPACK_BUFFER, r->pbo);
    glUnmapBuffer(GL_PIXEL_UNPACK_BUFFER);
    glBindTexture(GL_TEXTURE_2D, r->packed ? r->packed_tex : r->frame_tex);
    glPixelStorei(GL_UNPACK_ROW_LENGTH, (GLint)r->data_width);
    bool whole = n == 0 || !r->have_data;
    if (whole) {
        glTexSubImage2D(GL_TEXTURE_2D, 0, 0, 0, (GLsizei)r->data_width, (GLsizei)r->height, r->fmt, r->gltype,
                        NULL);
    } else {
        for (unsigned i = 0; i < n; i++) {
            const struct sg_render_rect *d = &rects[i];
            uint32_t x0, x1;
            data_columns(r, d, &x0, &x1);
            if (x0 >= x1 || d->y >= r->height || d->h == 0)
                continue;
            uint32_t h = d->h > r->height - d->y ? r->height - d->y : d->h;
            size_t off = (size_t)d->y * r->pitch + (size_t)x0 * r->bpt;
            glTexSubImage2D(GL_TEXTURE_2D, 0, (GLint)x0, (GLint)d->y, (GLsizei)(x1 - x0), (GLsizei)h, r->fmt,
                            r->gltype, (const void *)(uintptr_t)off);
        }
    }
    glPixelStorei(GL_UNPACK_ROW_LENGTH, 0);
    glBindBuffer(GL_PIXEL_UNPACK_BUFFER, 0);
    if (r->packed)
        unpack_bgr24(r, rects, whole ? 0 : n);
    r->have_data = true;
}

static void upload_rgba(GLuint tex, uint32_t w, uint32_t h, const uint8_t *px)
{
    glBindTexture(GL_TEXTURE_2D, tex);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, (GLsizei)w, (GLsizei)h, 0, GL_RGBA, GL_UNSIGNED_BYTE, px);
}

static bool gl_cursor_shape(struct sg_renderer *r, uint32_t w, uint32_t h, const uint8_t *over,
                            const uint8_t *xor_px, bool has_xor)
{
    drain_gl_errors();
    upload_rgba(r->cur_over, w, h, over);
    if (has_xor)
        upload_rgba(r->cur_xor, w, h, xor_px);
    r->cur_has_xor = has_xor;
    r->cur_ok = glGetError() == GL_NO_ERROR;
    return r->cur_ok;
}

static void gl_layer_image(struct sg_renderer *r, enum sg_render_layer layer, uint32_t w, uint32_t h,
                           const uint8_t *rgba)
{
    upload_rgba(r->layer_tex[layer], w, h, rgba);
    r->layer_w[layer] = w;
    r->layer_h[layer] = h;
}

/* Quad in drawable pixels (top-left origin) -> NDC. */
static void quad(struct sg_renderer *r, int prog, int fb_w, int fb_h, double x, double y, double w, double h,
                 int rot, bool flip)
{
    float x0 = (float)(x / fb_w * 2 - 1), x1 = (float)((x + w) / fb_w * 2 - 1);
    float y0 = (float)(1 - y / fb_h * 2), y1 = (float)(1 - (y + h) / fb_h * 2);
    glUniform4f(r->u_rect[prog], x0, y0, x1, y1);
    glUniform1i(r->u_rot[prog], rot);
    glUniform1i(r->u_flip[prog], flip);
    glUniform1i(r->u_tex[prog], 0);
    glDrawArrays(GL_TRIANGLE_STRIP, 0, 4);
}

static void set_filter(GLuint tex, bool linear)
{
    glBindTexture(GL_TEXTURE_2D, tex);
    GLint f = linear ? GL_LINEAR : GL_NEAREST;
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MIN_FILTER, f);
    glTexParameteri(GL_TEXTURE_2D, GL_TEXTURE_MAG_FILTER, f);
}

static void draw_scene(struct sg_renderer *r, const struct sg_render_scene *s, bool clear);

/* The frame quad writes every pixel of this rectangle (no blending): clearing
 * it first would only cost a pass. */
static bool frame_covers(const struct sg_renderer *r, const struct sg_render_scene *s,
                         const struct sg_render_rect *c)
{
    return s->have_frame && r->frame_ok && r->have_data && s->dst_x <= c->x && s->dst_y <= c->y &&
           s->dst_x + s->dst_w >= (double)c->x + c->w && s->dst_y + s->dst_h >= (double)c->y + c->h;
}

static void gl_draw(struct sg_renderer *r, const struct sg_render_scene *s)
{
    glViewport(0, 0, s->fb_w, s->fb_h);
    if (!s->nclip) {
        draw_scene(r, s, true);
        return;
    }
    /* a cursor-only update: the same scene, only where the cursor was and is */
    glEnable(GL_SCISSOR_TEST);
    for (unsigned i = 0; i < s->nclip; i++) {
        const struct sg_render_rect *c = &s->clip[i];
        glScissor((GLint)c->x, s->fb_h - (GLint)(c->y + c->h), (GLsizei)c->w, (GLsizei)c->h);
        draw_scene(r, s, !frame_covers(r, s, c));
    }
    glDisable(GL_SCISSOR_TEST);
}

static void draw_scene(struct sg_renderer *r, const struct sg_render_scene *s, bool clear)
{
    if (clear) {
        glClearColor(0, 0, 0, 1);
        glClear(GL_COLOR_BUFFER_BIT);
    }
    glBindVertexArray(r->vao);
    glActiveTexture(GL_TEXTURE0);
    glDisable(GL_BLEND);

    if (s->have_frame && r->frame_ok && r->have_data) {
        glUseProgram(r->prog[PROG_FRAME]);
        set_filter(r->frame_tex, s->linear);
        glUniform1i(r->u_swap, r->type == SG_FRAME_BGRA);
        glUniform1f(r->u_dim, s->dim ? 0.4f : 1.0f);
        quad(r, PROG_FRAME, s->fb_w, s->fb_h, s->dst_x, s->dst_y, s->dst_w, s->dst_h, s->rotation, false);

        if (s->cursor_visible && r->cur_ok) {
            glEnable(GL_BLEND);
            glBlendFunc(GL_ONE, GL_ONE_MINUS_SRC_ALPHA); /* premultiplied "over" */
            glUseProgram(r->prog[PROG_TEX]);
            set_filter(r->cur_over, s->linear);
            quad(r, PROG_TEX, s->fb_w, s->fb_h, s->cur_x, s->cur_y, s->cur_w, s->cur_h, s->rotation, false);
            if (r->cur_has_xor) {
                if (r->logic_op) {
                    /* screen XOR colour, exactly as the guest means it */
                    glDisable(GL_BLEND);
                    glEnable(GL_COLOR_LOGIC_OP);
                    glLogicOp(GL_XOR);
                    set_filter(r->cur_xor, false);
                    quad(r, PROG_TEX, s->fb_w, s->fb_h, s->cur_x, s->cur_y, s->cur_w, s->cur_h, s->rotation,
                         false);
                    glDisable(GL_COLOR_LOGIC_OP);
                } else {
                    /* out = m * (1 - dst) + dst * (1 - m): inversion where m = 1 */
                    glBlendFunc(GL_ONE_MINUS_DST_COLOR, GL_ONE_MINUS_SRC_COLOR);
                    glUseProgram(r->prog[PROG_INVERT]);
                    set_filter(r->cur_xor, false);
                    quad(r, PROG_INVERT, s->fb_w, s->fb_h, s->cur_x, s->cur_y, s->cur_w, s->cur_h,
                         s->rotation, false);
                }
            }
        }
    }

    glEnable(GL_BLEND);
    glBlendFunc(GL_ONE, GL_ONE_MINUS_SRC_ALPHA);
    glUseProgram(r->prog[PROG_TEX]);
    for (int i = 0; i < SG_LAYER_COUNT; i++) {
        if (!s->layer[i].visible || !r->layer_w[i])
            continue;
        glBindTexture(GL_TEXTURE_2D, r->layer_tex[i]);
        quad(r, PROG_TEX, s->fb_w, s->fb_h, s->layer[i].x, s->layer[i].y, r->layer_w[i], r->layer_h[i], 0,
             false);
    }
    glDisable(GL_BLEND);
}

static void gl_finish(struct sg_renderer *r)
{
    glFinish();
}

static bool gl_read_frame(struct sg_renderer *r, uint8_t **rgba, uint32_t *w, uint32_t *h)
{
    if (!r->frame_ok || !r->have_data)
        return false;
    uint8_t *px = malloc((size_t)r->width * r->height * 4);
    if (!px)
        return false;
    GLuint fbo, tex;
    drain_gl_errors();
    glGenTextures(1, &tex);
    glBindTexture(GL_TEXTURE_2D, tex);
    glTexImage2D(GL_TEXTURE_2D, 0, GL_RGBA8, (GLsizei)r->width, (GLsizei)r->height, 0, GL_RGBA,
                 GL_UNSIGNED_BYTE, NULL);
    glGenFramebuffers(1, &fbo);
    glBindFramebuffer(GL_FRAMEBUFFER, fbo);
    glFramebufferTexture2D(GL_FRAMEBUFFER, GL_COLOR_ATTACHMENT0, GL_TEXTURE_2D, tex, 0);
    bool ok = glCheckFramebufferStatus(GL_FRAMEBUFFER) == GL_FRAMEBUFFER_COMPLETE;
    if (ok) {
        glViewport(0, 0, (GLsizei)r->width, (GLsizei)r->height);
        glDisable(GL_BLEND);
        glBindVertexArray(r->vao);
        glUseProgram(r->prog[PROG_FRAME]);
        set_filter(r->frame_tex, false);
        glUniform1i(r->u_swap, r->type == SG_FRAME_BGRA);
        glUniform1f(r->u_dim, 1.0f);
        /* glReadPixels returns the bottom row first: draw upside down */
        quad(r, PROG_FRAME, (int)r->width, (int)r->height, 0, 0, r->width, r->height, 0, true);
        glReadPixels(0, 0, (GLsizei)r->width, (GLsizei)r->height, GL_RGBA, GL_UNSIGNED_BYTE, px);
        ok = glGetError() == GL_NO_ERROR;
    }
    glBindFramebuffer(GL_FRAMEBUFFER, 0);
    glDeleteFramebuffers(1, &fbo);
    glDeleteTextures(1, &tex);
    if (!ok) {
        free(px);
        return false;
    }
    *rgba = px;
    *w = r->width;
    *h = r->height;
    return true;
}

const struct sg_render_impl sg_render_gl = {
    .name = "gl",
    .create = gl_create,
    .destroy = gl_destroy,
    .describe = gl_describe,
    .frame_configure = gl_frame_configure,
    .frame_map = gl_frame_map,
    .frame_unmap = gl_frame_unmap,
    .cursor_shape = gl_cursor_shape,
    .layer_image = gl_layer_image,
    .draw = gl_draw,
    .finish = gl_finish,
    .read_frame = gl_read_frame,
};
