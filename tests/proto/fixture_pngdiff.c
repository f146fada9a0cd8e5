/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Test helper: compares the RGB of two PNGs and prints
 * "size WxH mismatches N box X0,Y0-X1,Y1" (box "none" when equal). */
#include <stdio.h>
#include <stdlib.h>

#include "dump_image.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: fixture_pngdiff A.png B.png\n");
        return 2;
    }
    uint8_t *a, *b;
    uint32_t aw, ah, bw, bh;
    char err[512];
    if (sg_dump_read_png(argv[1], &a, &aw, &ah, err, sizeof err) ||
        sg_dump_read_png(argv[2], &b, &bw, &bh, err, sizeof err)) {
        fprintf(stderr, "fixture_pngdiff: %s\n", err);
        return 1;
    }
    if (aw != bw || ah != bh) {
        printf("size %ux%u vs %ux%u\n", aw, ah, bw, bh);
        return 1;
    }
    unsigned n = 0, x0 = aw, y0 = ah, x1 = 0, y1 = 0;
    for (uint32_t y = 0; y < ah; y++)
        for (uint32_t x = 0; x < aw; x++) {
            const uint8_t *p = a + ((size_t)y * aw + x) * 4, *q = b + ((size_t)y * aw + x) * 4;
            if (p[0] == q[0] && p[1] == q[1] && p[2] == q[2])
                continue;
            n++;
            x0 = x < x0 ? x : x0, y0 = y < y0 ? y : y0, x1 = x > x1 ? x : x1, y1 = y > y1 ? y : y1;
        }
    if (n)
        printf("size %ux%u mismatches %u box %u,%u-%u,%u\n", aw, ah, n, x0, y0, x1, y1);
    else
        printf("size %ux%u mismatches 0 box none\n", aw, ah);
    free(a);
    free(b);
    return 0;
}
