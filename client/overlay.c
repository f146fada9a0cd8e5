/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "overlay.h"

#include <SDL_ttf.h>
#include <fontconfig/fontconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAD 8
#define MAX_LINES 64

struct sg_overlay {
    TTF_Font *font;
    char path[512];
};

static bool find_font(const char *pattern, char *out, size_t out_size)
{
    if (!FcInit())
        return false;
    FcPattern *pat = FcNameParse((const FcChar8 *)pattern);
    if (!pat)
        return false;
    FcConfigSubstitute(NULL, pat, FcMatchPattern);
    FcDefaultSubstitute(pat);
    FcResult res;
    FcPattern *match = FcFontMatch(NULL, pat, &res);
    FcPatternDestroy(pat);
    bool ok = false;
    FcChar8 *file;
    if (match && FcPatternGetString(match, FC_FILE, 0, &file) == FcResultMatch) {
        snprintf(out, out_size, "%s", (const char *)file);
        ok = true;
    }
    if (match)
        FcPatternDestroy(match);
    return ok;
}

struct sg_overlay *sg_overlay_create(const char *pattern, int pt, char *err, size_t err_size)
{
    struct sg_overlay *o = calloc(1, sizeof(*o));
    if (!o) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    if (!TTF_WasInit() && TTF_Init() != 0) {
        snprintf(err, err_size, "SDL_ttf: %s", TTF_GetError());
        free(o);
        return NULL;
    }
    if (!find_font(pattern, o->path, sizeof(o->path))) {
        snprintf(err, err_size, "fontconfig found no font for '%s'", pattern);
        free(o);
        return NULL;
    }
    o->font = TTF_OpenFont(o->path, pt);
    if (!o->font) {
        snprintf(err, err_size, "cannot open font %s: %s", o->path, TTF_GetError());
        free(o);
        return NULL;
    }
    return o;
}

void sg_overlay_destroy(struct sg_overlay *o)
{
    if (!o)
        return;
    if (o->font)
        TTF_CloseFont(o->font);
    free(o);
}

int sg_overlay_char_width(struct sg_overlay *o)
{
    int w = 0, h = 0;
    if (TTF_SizeUTF8(o->font, "M", &w, &h) != 0 || w <= 0)
        w = 8;
    return w;
}

int sg_overlay_padding(void)
{
    return PAD;
}

void sg_overlay_wrap(const char *text, int cols, char *out, size_t out_size)
{
    if (!out_size)
        return;
    if (cols < 8)
        cols = 8;
    size_t o = 0;
    int col = 0;
    for (const char *p = text; *p && o + 2 < out_size;) {
        if (*p == '\n') {
            out[o++] = *p++;
            col = 0;
            continue;
        }
        /* length of the next word */
        size_t wl = strcspn(p, " \n");
        if (col > 0 && col + (int)wl > cols) {
            while (o > 0 && out[o - 1] == ' ')
                o--;
            out[o++] = '\n';
            col = 0;
            while (*p == ' ')
                p++;
            continue;
        }
        if (wl == 0) { /* a space */
            out[o++] = *p++;
            col++;
            continue;
        }
        for (size_t i = 0; i < wl && o + 2 < out_size; i++) {
            if (col >= cols) {
                out[o++] = '\n';
                col = 0;
            }
            out[o++] = p[i];
            col++;
        }
        p += wl;
    }
    out[o] = 0;
}

bool sg_overlay_render(struct sg_overlay *o, const char *text, uint8_t **rgba, uint32_t *w, uint32_t *h)
{
    char *copy = strdup(text ? text : "");
    if (!copy || !*copy) {
        free(copy);
        return false;
    }
    SDL_Surface *lines[MAX_LINES];
    int n = 0, line_h = TTF_FontLineSkip(o->font), width = 0;
    for (char *save = NULL, *l = strtok_r(copy, "\n", &save); l && n < MAX_LINES;
         l = strtok_r(NULL, "\n", &save)) {
        SDL_Color white = {255, 255, 255, 255};
        SDL_Surface *s = TTF_RenderUTF8_Blended(o->font, *l ? l : " ", white);
        if (!s)
            continue;
        SDL_Surface *conv = SDL_ConvertSurfaceFormat(s, SDL_PIXELFORMAT_ABGR8888, 0); /* bytes R,G,B,A */
        SDL_FreeSurface(s);
        if (!conv)
            continue;
        lines[n++] = conv;
        if (conv->w > width)
            width = conv->w;
    }
    free(copy);
    if (!n)
        return false;
    uint32_t bw = (uint32_t)width + 2 * PAD, bh = (uint32_t)(n * line_h) + 2 * PAD;
    uint8_t *px = malloc((size_t)bw * bh * 4);
    if (!px) {
        for (int i = 0; i < n; i++)
            SDL_FreeSurface(lines[i]);
        return false;
    }
    /* translucent black box, premultiplied */
    for (size_t i = 0; i < (size_t)bw * bh; i++) {
        px[i * 4 + 0] = px[i * 4 + 1] = px[i * 4 + 2] = 0;
        px[i * 4 + 3] = 180;
    }
    for (int i = 0; i < n; i++) {
        SDL_Surface *s = lines[i];
        SDL_LockSurface(s);
        for (int y = 0; y < s->h && PAD + i * line_h + y < (int)bh; y++) {
            const uint8_t *src = (const uint8_t *)s->pixels + (size_t)y * (size_t)s->pitch;
            uint8_t *dst = px + ((size_t)(PAD + i * line_h + y) * bw + PAD) * 4;
            for (int x = 0; x < s->w; x++) {
                unsigned a = src[x * 4 + 3];
                /* text over the box: out = text*a + box*(1-a) */
                for (int c = 0; c < 3; c++)
                    dst[x * 4 + c] = (uint8_t)((src[x * 4 + c] * a + dst[x * 4 + c] * (255 - a)) / 255);
                dst[x * 4 + 3] = (uint8_t)(a + dst[x * 4 + 3] * (255 - a) / 255);
            }
        }
        SDL_UnlockSurface(s);
        SDL_FreeSurface(s);
    }
    *rgba = px;
    *w = bw;
    *h = bh;
    return true;
}
