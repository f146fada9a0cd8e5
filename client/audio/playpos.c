/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "playpos.h"

#include <stdlib.h>

void sg_playpos_init(struct sg_playpos *p)
{
    /* Longer than a stall of the server's (tens of ms) and than a burst of late reports; short
     * against a sound card's clock error (100 ppm is 0.1 ms a second). */
    *p = (struct sg_playpos){.span_s = 1.0};
}

void sg_playpos_reset(struct sg_playpos *p)
{
    p->n = 0;
}

void sg_playpos_add(struct sg_playpos *p, double t_s, double played_s)
{
    p->head = (p->head + 1) % PLAYPOS_READINGS;
    p->t_s[p->head] = t_s;
    p->off_s[p->head] = played_s - t_s;
    if (p->n < PLAYPOS_READINGS)
        p->n++;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

bool sg_playpos_at(const struct sg_playpos *p, double t_s, double *played_s)
{
    if (!p->n)
        return false;
    double newest = p->t_s[p->head], off[PLAYPOS_READINGS];
    unsigned m = 0;
    for (unsigned i = 0; i < p->n; i++) {
        unsigned k = (p->head + PLAYPOS_READINGS - i) % PLAYPOS_READINGS;
        if (newest - p->t_s[k] > p->span_s)
            break;
        off[m++] = p->off_s[k];
    }
    qsort(off, m, sizeof(off[0]), by_value);
    *played_s = t_s + off[m / 2];
    return true;
}
