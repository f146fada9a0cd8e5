/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "screenshot.h"
#include "render/render.h"

#include <errno.h>
#include <spng.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool sg_screenshot_write_png(const char *path, const uint8_t *rgba, uint32_t w, uint32_t h, char *err,
                             size_t err_size)
{
    /* RGB: the guest's fourth byte has no meaning for display (kvmfr.md §5.3) */
    size_t n = (size_t)w * h;
    uint8_t *rgb = malloc(n * 3);
    if (!rgb) {
        snprintf(err, err_size, "%s: out of memory for %ux%u", path, w, h);
        return false;
    }
    for (size_t i = 0; i < n; i++)
        memcpy(rgb + i * 3, rgba + i * 4, 3);
    /* Written beside and renamed into place: whoever waits for the file (a script, a test, a file
     * manager) never reads half a PNG. */
    size_t tmp_size = strlen(path) + 32;
    char *tmp = malloc(tmp_size);
    FILE *f = NULL;
    if (tmp) {
        snprintf(tmp, tmp_size, "%s.tmp-%ld", path, (long)getpid());
        f = fopen(tmp, "wb");
    }
    if (!f) {
        snprintf(err, err_size, "cannot write %s: %s", tmp ? tmp : path, strerror(tmp ? errno : ENOMEM));
        free(tmp);
        free(rgb);
        return false;
    }
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {
        .width = w, .height = h, .bit_depth = 8, .color_type = SPNG_COLOR_TYPE_TRUECOLOR};
    int rc = ctx ? spng_set_png_file(ctx, f) : SPNG_EMEM;
    if (!rc)
        rc = spng_set_ihdr(ctx, &ihdr);
    if (!rc)
        rc = spng_encode_image(ctx, rgb, n * 3, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    spng_ctx_free(ctx);
    free(rgb);
    bool ok = false;
    if (fclose(f) != 0 && !rc)
        snprintf(err, err_size, "cannot write %s: %s", tmp, strerror(errno));
    else if (rc)
        snprintf(err, err_size, "cannot encode %s: %s", path, spng_strerror(rc));
    else if (rename(tmp, path) != 0)
        snprintf(err, err_size, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    else
        ok = true;
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok;
}

bool sg_screenshot_save(const struct sg_render_impl *ri, struct sg_renderer *r, const char *path, char *msg,
                        size_t msg_size)
{
    uint8_t *px;
    uint32_t w, h;
    if (!ri->read_frame(r, &px, &w, &h)) {
        snprintf(msg, msg_size, "screenshot: no guest frame yet");
        return false;
    }
    bool ok = sg_screenshot_write_png(path, px, w, h, msg, msg_size);
    if (ok)
        snprintf(msg, msg_size, "saved %ux%u guest frame to %s", w, h, path);
    free(px);
    return ok;
}

void sg_screenshot_name(char *out, size_t size, const char *dir, unsigned long long n)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    char stamp[32];
    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
    snprintf(out, size, "%s/spyglass-%s-%llu.png", dir, stamp, n);
}
