/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "dump_image.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef SG_HAVE_SPNG
#include <spng.h>
#endif

static uint8_t half_to_srgb8(uint16_t h)
{
    uint32_t sign = h >> 15, exp = (h >> 10) & 0x1F, man = h & 0x3FF;
    float v;
    if (exp == 0)
        v = ldexpf((float)man, -24);
    else if (exp == 31)
        v = man ? 0.0f : 1.0f; /* NaN -> 0, inf -> 1 */
    else
        v = ldexpf((float)(man | 0x400), (int)exp - 25);
    if (sign || v <= 0.0f)
        return 0;
    if (v >= 1.0f)
        return 255;
    float s = v <= 0.0031308f ? v * 12.92f : 1.055f * powf(v, 1.0f / 2.4f) - 0.055f;
    return (uint8_t)lrintf(s * 255.0f);
}

uint8_t *sg_dump_frame_to_rgb8(const struct sg_kvmfr_frame *f, const uint8_t *rows, uint32_t *width,
                               uint32_t *height)
{
    const struct sg_kvmfr_wire_frame *h = &f->hdr;
    uint32_t w = h->type == SG_FRAME_BGR_32 ? h->frame_width : h->data_width;
    if (h->type == SG_FRAME_BGR_32 && (uint64_t)w * 3 > h->pitch)
        w = h->pitch / 3; /* never read past a row */
    uint8_t *out = malloc((size_t)w * h->data_height * 3 + 1);
    if (!out)
        return NULL;
    for (uint32_t y = 0; y < h->data_height; y++) {
        const uint8_t *s = rows + (size_t)y * h->pitch;
        uint8_t *d = out + (size_t)y * w * 3;
        for (uint32_t x = 0; x < w; x++, d += 3) {
            switch (h->type) {
            case SG_FRAME_BGRA:
                d[0] = s[x * 4 + 2], d[1] = s[x * 4 + 1], d[2] = s[x * 4];
                break;
            case SG_FRAME_RGBA:
                memcpy(d, s + x * 4, 3);
                break;
            case SG_FRAME_RGBA10: {
                uint32_t v;
                memcpy(&v, s + x * 4, 4);
                d[0] = (uint8_t)((v >> 2) & 0xFF), d[1] = (uint8_t)((v >> 12) & 0xFF),
                d[2] = (uint8_t)((v >> 22) & 0xFF);
                break;
            }
            case SG_FRAME_RGBA16F:
                for (int c = 0; c < 3; c++) {
                    uint16_t v;
                    memcpy(&v, s + (size_t)x * 8 + c * 2, 2);
                    d[c] = half_to_srgb8(v);
                }
                break;
            case SG_FRAME_BGR_32:
                d[0] = s[x * 3 + 2], d[1] = s[x * 3 + 1], d[2] = s[x * 3];
                break;
            case SG_FRAME_RGB_24:
                memcpy(d, s + (size_t)x * 3, 3);
                break;
            default:
                memset(d, 0, 3);
            }
        }
    }
    *width = w;
    *height = h->data_height;
    return out;
}

#ifdef SG_HAVE_SPNG
int sg_dump_write_png(const char *path, const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                      char *err, size_t err_size)
{
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {.width = width,
                             .height = height,
                             .bit_depth = 8,
                             .color_type =
                                 channels == 4 ? SPNG_COLOR_TYPE_TRUECOLOR_ALPHA : SPNG_COLOR_TYPE_TRUECOLOR};
    int r = ctx ? spng_set_png_file(ctx, fp) : SPNG_EMEM;
    if (!r)
        r = spng_set_ihdr(ctx, &ihdr);
    if (!r)
        r = spng_encode_image(ctx, pixels, (size_t)width * height * channels, SPNG_FMT_PNG,
                              SPNG_ENCODE_FINALIZE);
    spng_ctx_free(ctx);
    if (fclose(fp) != 0 && !r) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (r) {
        snprintf(err, err_size, "%s: PNG encoding failed: %s", path, spng_strerror(r));
        return -1;
    }
    return 0;
}

int sg_dump_read_png(const char *path, uint8_t **rgba, uint32_t *width, uint32_t *height, char *err,
                     size_t err_size)
{
    *rgba = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    spng_ctx *ctx = spng_ctx_new(0);
    struct spng_ihdr ihdr;
    size_t size = 0;
    int r = ctx ? spng_set_png_file(ctx, fp) : SPNG_EMEM;
    if (!r)
        r = spng_get_ihdr(ctx, &ihdr);
    if (!r)
        r = spng_decoded_image_size(ctx, SPNG_FMT_RGBA8, &size);
    if (!r && !(*rgba = malloc(size)))
        r = SPNG_EMEM;
    if (!r)
        r = spng_decode_image(ctx, *rgba, size, SPNG_FMT_RGBA8, 0);
    spng_ctx_free(ctx);
    fclose(fp);
    if (r) {
        free(*rgba);
        *rgba = NULL;
        snprintf(err, err_size, "%s: PNG decoding failed: %s", path, spng_strerror(r));
        return -1;
    }
    *width = ihdr.width;
    *height = ihdr.height;
    return 0;
}
#else
int sg_dump_write_png(const char *path, const uint8_t *pixels, uint32_t width, uint32_t height, int channels,
                      char *err, size_t err_size)
{
    snprintf(err, err_size, "%s: built without libspng, cannot write PNG", path);
    return -1;
}

int sg_dump_read_png(const char *path, uint8_t **rgba, uint32_t *width, uint32_t *height, char *err,
                     size_t err_size)
{
    snprintf(err, err_size, "%s: built without libspng, cannot read PNG", path);
    return -1;
}
#endif
