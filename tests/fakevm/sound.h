/* The fake VM's sound card: libspice-server's playback and record interfaces.
 * Playback plays a known signal on the guest's own sample clock (which may run fast or slow
 * by a set amount, like a real guest's against the host's); record checks what the client
 * sends against the known signal the tests play into its microphone. */
#pragma once

#include <spice.h>
#include <stdbool.h>

enum fvm_signal { FVM_SIGNAL_NONE, FVM_SIGNAL_CLICKS, FVM_SIGNAL_BEEP };

struct fvm_sound_opts {
    enum fvm_signal signal; /* what playback plays */
    unsigned rate;          /* playback sample rate announced to the client */
    double drift_ppm;       /* the guest's clock: rate x (1 + ppm / 1e6) real samples per second */
    bool opus;              /* let SPICE compress playback with Opus (QEMU's default); else raw PCM */
    bool record;            /* ask the client for the microphone */
    unsigned record_rate;
    const char *log_path; /* put/receive times for the tests, or NULL */
    double play_seconds;  /* stop the playback stream after this long (0 = never) */
};

struct fvm_sound;
struct fvm_sound *fvm_sound_create(SpiceServer *server, const struct fvm_sound_opts *o);
/* Prints the record check's summary. */
void fvm_sound_destroy(struct fvm_sound *s);
/* Test controls (from signals): guest volume halved / restored, mute toggled. */
void fvm_sound_toggle_volume(struct fvm_sound *s);
void fvm_sound_toggle_mute(struct fvm_sound *s);
