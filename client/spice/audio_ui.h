/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/*
 * The viewer's side of sound: reads the audio:* options, creates the sound module and its
 * SPICE glue, and shows what the user must know (the guest asking for the microphone, the
 * microphone indicator, faults, the statistics lines). Main thread, except where noted.
 */
#include <SDL.h>
#include <stdbool.h>
#include <stddef.h>

#include "input_hooks.h"
#include "spice/spice.h"

struct sg_audio_ui;

/* NULL when audio:enable=no or sound cannot start (said on stderr). Fills cfg->audio and
 * cb->on_channel/channel_opaque so the SPICE connection hands its sound channels over. */
struct sg_audio_ui *sg_audio_ui_create(struct sg_app *app, struct sg_spice_config *cfg,
                                       struct sg_spice_callbacks *cb);
/* After sg_spice_destroy (the SPICE thread uses the sound module until then). */
void sg_audio_ui_destroy(struct sg_audio_ui *ui);
void sg_audio_ui_tick(struct sg_audio_ui *ui);
/* Escape + M: allow / close the microphone. True when handled. */
bool sg_audio_ui_escape(struct sg_audio_ui *ui, SDL_Keycode key);
/* Lines for the statistics overlay and key=value lines for app:statsFile. */
void sg_audio_ui_stats(struct sg_audio_ui *ui, char *text, size_t text_size, char *kv, size_t kv_size);
