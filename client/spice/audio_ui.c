/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "audio_ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audio/audio.h"
#include "sg_log.h"
#include "spice/audio_glue.h"

struct sg_audio_ui {
    uint64_t graph_next; /* the next block whose latency goes into the graphs */
    struct sg_app *app;
    struct sg_audio *audio;
    struct sg_spice_audio *glue;
    enum sg_mic_state shown_mic;
    char esc_name[64];
};

static void on_change(void *opaque)
{
    struct sg_audio_ui *ui = opaque;
    sg_app_wake(ui->app);
}

static void on_record_data(void *opaque, const int16_t *frames, size_t n, unsigned channels)
{
    struct sg_audio_ui *ui = opaque;
    sg_spice_audio_record_data(ui->glue, frames, n, channels);
}

static bool opt_yes(struct sg_app *app, const char *key, bool def)
{
    const char *v = sg_app_option(app, "audio", key);
    if (!v || !*v)
        return def;
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true") || !strcasecmp(v, "on") || !strcmp(v, "1"))
        return true;
    if (!strcasecmp(v, "no") || !strcasecmp(v, "false") || !strcasecmp(v, "off") || !strcmp(v, "0"))
        return false;
    LOG_W("audio:%s=%s is not yes/no; using %s", key, v, def ? "yes" : "no");
    return def;
}

struct sg_audio_ui *sg_audio_ui_create(struct sg_app *app, struct sg_spice_config *cfg,
                                       struct sg_spice_callbacks *cb)
{
    if (!opt_yes(app, "enable", true)) {
        LOG_I("audio:enable=no: no guest sound, no microphone");
        return NULL;
    }
    struct sg_audio_config ac = {
        .device = sg_app_option(app, "audio", "device"),
        .mic_device = sg_app_option(app, "audio", "micDevice"),
        .latency_ms = 20,
    };
    const char *lat = sg_app_option(app, "audio", "latencyMs");
    if (lat && *lat) {
        char *end;
        long v = strtol(lat, &end, 10);
        if (*end || v < 2 || v > 1000)
            LOG_W("audio:latencyMs=%s is not a number of milliseconds in 2..1000; using 20", lat);
        else
            ac.latency_ms = (unsigned)v;
    }
    const char *mic = sg_app_option(app, "audio", "micDefault");
    if (mic && *mic && !sg_mic_policy_parse(mic, &ac.mic))
        LOG_W("audio:micDefault=%s is not prompt, allow or deny; using prompt", mic);

    struct sg_audio_ui *ui = calloc(1, sizeof(*ui));
    if (!ui)
        return NULL;
    ui->app = app;
    const char *esc = sg_app_option(app, "input", "escapeKey");
    snprintf(ui->esc_name, sizeof(ui->esc_name), "%s", esc && *esc ? esc : "ScrollLock");
    struct sg_audio_events ev = {.opaque = ui, .on_record_data = on_record_data, .on_change = on_change};
    ui->audio = sg_audio_create(&ac, &ev);
    if (!ui->audio) {
        free(ui);
        return NULL;
    }
    ui->glue = sg_spice_audio_create(ui->audio);
    cfg->audio = true;
    cb->on_channel = sg_spice_audio_channel;
    cb->channel_opaque = ui->glue;
    return ui;
}

void sg_audio_ui_destroy(struct sg_audio_ui *ui)
{
    if (!ui)
        return;
    sg_audio_destroy(ui->audio);
    sg_spice_audio_destroy(ui->glue);
    free(ui);
}

void sg_audio_ui_tick(struct sg_audio_ui *ui)
{
    if (!ui)
        return;
    /* The blocks' latencies since the last tick into the graphs (kept while they are hidden
     * too, so they show the last seconds at once when turned on). */
    uint64_t t[64];
    float ms[64];
    size_t n;
    while ((n = sg_audio_latency_history(ui->audio, &ui->graph_next, t, ms, 64)) > 0)
        for (size_t i = 0; i < n; i++)
            sg_app_graph_audio(ui->app, t[i], ms[i]);
    char msg[300];
    if (sg_audio_take_fault(ui->audio, msg, sizeof(msg)))
        sg_app_notice(ui->app, msg);
    enum sg_mic_state m = sg_audio_mic_state(ui->audio);
    if (m == ui->shown_mic)
        return;
    ui->shown_mic = m;
    if (m == SG_MIC_ASKING) {
        snprintf(msg, sizeof(msg), "the guest asks for the microphone: %s+M allows it", ui->esc_name);
        sg_app_notice(ui->app, msg);
    }
    sg_app_set_indicator(ui->app, m == SG_MIC_OPEN ? "MIC ON" : NULL);
}

bool sg_audio_ui_escape(struct sg_audio_ui *ui, SDL_Keycode key)
{
    if (!ui || key != SDLK_m)
        return false;
    bool open = sg_audio_mic_state(ui->audio) == SG_MIC_OPEN;
    sg_audio_mic_allow(ui->audio, !open);
    sg_app_notice(ui->app, open ? "microphone closed for the guest" : "microphone allowed for the guest");
    sg_audio_ui_tick(ui);
    return true;
}

static const char *mic_str(enum sg_mic_state m)
{
    switch (m) {
    case SG_MIC_IDLE:
        return "idle";
    case SG_MIC_ASKING:
        return "asking";
    case SG_MIC_OPEN:
        return "open";
    case SG_MIC_REFUSED:
        return "refused";
    }
    return "?";
}

void sg_audio_ui_stats(struct sg_audio_ui *ui, char *text, size_t text_size, char *kv, size_t kv_size)
{
    if (!ui) {
        snprintf(text, text_size, "audio off");
        snprintf(kv, kv_size, "audio=off\n");
        return;
    }
    struct sg_audio_stats st;
    sg_audio_stats(ui->audio, &st);
    if (!st.connected)
        snprintf(text, text_size, "audio no sound server   mic %s", mic_str(st.mic));
    else if (!st.playing)
        snprintf(text, text_size, "audio idle   mic %s   xrun %llu/%llu", mic_str(st.mic),
                 (unsigned long long)st.underruns, (unsigned long long)st.overruns);
    else
        snprintf(text, text_size, "audio %5.1f ms (target %.1f) x%.4f   mic %s   xrun %llu/%llu",
                 st.latency_ms, st.target_ms, st.ratio, mic_str(st.mic), (unsigned long long)st.underruns,
                 (unsigned long long)st.overruns);
    snprintf(kv, kv_size,
             "audio=%s\naudio_latency_ms=%.2f\naudio_target_ms=%.2f\naudio_device_ms=%.2f\naudio_ratio=%.6f\n"
             "audio_underruns=%llu\naudio_overruns=%llu\naudio_frames=%llu\naudio_rate=%u\nmic=%s\nmic_"
             "frames=%llu\n",
             !st.connected ? "no-server"
             : st.playing  ? "playing"
                           : "idle",
             st.latency_ms, st.target_ms, st.device_ms, st.ratio, (unsigned long long)st.underruns,
             (unsigned long long)st.overruns, (unsigned long long)st.frames_in, st.rate, mic_str(st.mic),
             (unsigned long long)st.mic_frames);
}
