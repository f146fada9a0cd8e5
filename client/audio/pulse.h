/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The connection to the user's sound server through PulseAudio's client API (served by
 * PulseAudio itself and by PipeWire's pipewire-pulse), on libpulse's threaded main loop.
 *
 * It is kept up: when there is no server, or the server goes away (restarts), it retries
 * every retry_ms, warning once per loss, and tells its user when a context is ready again so
 * streams can be re-created. Callbacks run on the main loop's thread with its lock held.
 */
#include <pulse/pulseaudio.h>
#include <stdbool.h>

struct sg_pulse;

struct sg_pulse_callbacks {
    void *opaque;
    /* A new context is ready: create streams on it. */
    void (*on_ready)(void *opaque, pa_context *ctx);
    /* The context is gone: every stream on it is dead; drop them. */
    void (*on_lost)(void *opaque);
};

struct sg_pulse *sg_pulse_create(const char *app_name, unsigned retry_ms,
                                 const struct sg_pulse_callbacks *cb);
/* Connects (callbacks may run from then on). */
void sg_pulse_start(struct sg_pulse *p);
void sg_pulse_destroy(struct sg_pulse *p);
/* Serialises with the main loop's thread (not needed inside callbacks). */
void sg_pulse_lock(struct sg_pulse *p);
void sg_pulse_unlock(struct sg_pulse *p);
/* The ready context, or NULL (call with the lock held). */
pa_context *sg_pulse_context(struct sg_pulse *p);
/* Server name and version, or "" (lock held). */
const char *sg_pulse_server(struct sg_pulse *p);
