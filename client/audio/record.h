/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The microphone: a capture stream from the user's source (the default one unless a device
 * is named) at the format the guest asked for, open only between open and close. Captured
 * blocks go to on_data on the pulse thread, as soon as the server hands them over.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pulse.h"

struct sg_record;

typedef void (*sg_record_data_fn)(void *opaque, const int16_t *frames, size_t n_frames, unsigned channels);

struct sg_record *sg_record_create(struct sg_pulse *pa, const char *device, sg_record_data_fn fn,
                                   void *opaque);
void sg_record_destroy(struct sg_record *r);

void sg_record_on_ready(struct sg_record *r, pa_context *ctx);
void sg_record_on_lost(struct sg_record *r);

/* Start (or, with channels 0, stop) capturing; any thread. */
void sg_record_open(struct sg_record *r, unsigned channels, unsigned rate);
void sg_record_close(struct sg_record *r);
/* True while a capture stream is up on the server. */
bool sg_record_is_open(struct sg_record *r);
/* Frames captured so far. */
uint64_t sg_record_frames(struct sg_record *r);
