/* The fake VM's sound card (see sound.h).
 *
 * Click train (FVM_SIGNAL_CLICKS): every CLICK_PERIOD samples a click: a marker pulse, then
 * ten pulse slots carrying the click's number modulo 1024, so a recording of the client's
 * output can be matched click by click with the put times logged here ("click N T_NS OFFSET
 * VOLUME DUE_NS": DUE_NS is when the guest clock had made the block, T_NS when it was put).
 *
 * Record check: the tests play a counter into the client's microphone: left = low 16 bits,
 * right = high 16 bits, counting up from 1. Every frame received must continue the count;
 * each break is a gap. Receive times of counts that are multiples of CLICK_PERIOD are logged
 * ("rec C T_NS") for the record latency. */
#include "sound.h"

#include "fakevm.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define CLICK_PERIOD 4800u /* samples: 100 ms at 48 kHz */
#define PULSE_LEN 24u      /* samples per pulse: 0.5 ms */
#define BIT_SPACING 96u    /* samples between the marker and each id slot */
#define ID_BITS 10u
#define AMPLITUDE 16000
/* libspice-server (0.15.1 here) keeps received microphone frames in a ring of 8192 frames;
 * when a packet wraps around its end, the part written at the ring's start is copied from a
 * byte offset where a frame offset was meant, so those frames repeat earlier ones and the
 * packet's tail is lost. The client's data was checked in order at its send call; the check
 * below counts these wrap moves apart (a break exactly where the ring wraps, and the jump
 * back within that packet) and treats every other break as a gap. */
#define SERVER_RING 8192u
#define SERVER_PACKET 480u

struct fvm_sound {
    struct fvm_sound_opts o;
    SpiceServer *server;
    SpicePlaybackInstance play;
    SpiceRecordInstance rec;
    FILE *log;

    int play_fd, rec_fd;
    guint play_watch, rec_watch;
    uint64_t t0_ns;    /* the guest clock's zero */
    uint64_t produced; /* samples generated so far */
    uint64_t sent;     /* samples handed to the server */
    uint64_t clicks_sent;
    bool playing;
    bool half_volume, muted;

    /* record check */
    uint64_t rec_frames, rec_in_order, rec_gaps, rec_zeros, rec_wrap_moves, rec_wrap_end;
    uint32_t rec_first, rec_expect, rec_last;
    bool rec_in_seq;
};

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const SpicePlaybackInterface playback_sif = {
    .base = {.type = SPICE_INTERFACE_PLAYBACK,
             .description = "fakevm playback",
             .major_version = SPICE_INTERFACE_PLAYBACK_MAJOR,
             .minor_version = SPICE_INTERFACE_PLAYBACK_MINOR},
};

static const SpiceRecordInterface record_sif = {
    .base = {.type = SPICE_INTERFACE_RECORD,
             .description = "fakevm record",
             .major_version = SPICE_INTERFACE_RECORD_MAJOR,
             .minor_version = SPICE_INTERFACE_RECORD_MINOR},
};

/* ----------------------------------------------------------------- playback */

static int16_t click_sample(uint64_t n)
{
    uint64_t k = n / CLICK_PERIOD, o = n % CLICK_PERIOD;
    if (o < PULSE_LEN)
        return AMPLITUDE;
    for (unsigned b = 0; b < ID_BITS; b++) {
        uint64_t at = (b + 1) * BIT_SPACING;
        if (o >= at && o < at + PULSE_LEN)
            return ((k % 1024) >> b) & 1 ? AMPLITUDE : 0;
    }
    return 0;
}

static int16_t beep_sample(uint64_t n, unsigned rate)
{
    /* A soft 660 Hz beep of 120 ms each second, for the demo. */
    uint64_t o = n % rate;
    if (o >= rate * 12 / 100)
        return 0;
    double env = sin(M_PI * (double)o / (rate * 0.12));
    return (int16_t)(3000.0 * env * sin(2 * M_PI * 660.0 * (double)o / rate));
}

static void arm_play(struct fvm_sound *s, uint64_t frame_samples)
{
    /* When the guest clock has produced the next frame's last sample. */
    double real_rate = s->o.rate * (1.0 + s->o.drift_ppm / 1e6);
    uint64_t due = s->t0_ns + (uint64_t)((double)(s->produced + frame_samples) * 1e9 / real_rate);
    struct itimerspec it = {
        .it_value = {.tv_sec = (time_t)(due / 1000000000u), .tv_nsec = (long)(due % 1000000000u)}};
    timerfd_settime(s->play_fd, TFD_TIMER_ABSTIME, &it, NULL);
}

static gboolean on_play_timer(gint fd, GIOCondition cond, gpointer data)
{
    struct fvm_sound *s = data;
    uint64_t exp;
    if (read(fd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
        return G_SOURCE_CONTINUE;
    if (s->o.play_seconds > 0 && s->playing && (double)(mono_ns() - s->t0_ns) / 1e9 >= s->o.play_seconds) {
        spice_server_playback_stop(&s->play);
        s->playing = false;
        fvm_log(0, "sound: playback stopped after %.1f s (%" PRIu64 " clicks sent)", s->o.play_seconds,
                s->clicks_sent);
        if (s->log) {
            fprintf(s->log, "stop %" PRIu64 "\n", mono_ns());
            fflush(s->log);
        }
        return G_SOURCE_CONTINUE;
    }
    if (!s->playing)
        return G_SOURCE_CONTINUE;
    double real_rate = s->o.rate * (1.0 + s->o.drift_ppm / 1e6);
    uint64_t now = mono_ns();
    uint64_t frame = 480;
    /* Every whole frame the guest clock has produced by now (several after a stall). */
    while ((double)(s->produced + frame) <= (double)(now - s->t0_ns) * real_rate / 1e9) {
        uint32_t *buf = NULL, n = 0;
        spice_server_playback_get_buffer(&s->play, &buf, &n);
        if (!buf || !n) { /* no client listening: the guest's clock goes on */
            s->produced += frame;
            continue;
        }
        frame = n;
        uint64_t first = s->produced;
        for (uint32_t i = 0; i < n; i++) {
            int16_t v = s->o.signal == FVM_SIGNAL_CLICKS ? click_sample(first + i)
                        : s->o.signal == FVM_SIGNAL_BEEP ? beep_sample(first + i, s->o.rate)
                                                         : 0;
            uint16_t u = (uint16_t)v;
            buf[i] = (uint32_t)u | ((uint32_t)u << 16);
        }
        spice_server_playback_put_samples(&s->play, buf);
        uint64_t t = mono_ns();
        /* When the guest clock had made the block: the put time, had this process not been late. */
        uint64_t due = s->t0_ns + (uint64_t)((double)(first + n) * 1e9 / real_rate);
        if (s->log && getenv("FVM_DEBUG"))
            fprintf(s->log, "put %" PRIu64 " %" PRIu64 "\n", first, t);
        s->produced += n;
        s->sent += n;
        /* Log each click whose marker went out in this frame, with its offset. */
        uint64_t k0 = (first + CLICK_PERIOD - 1) / CLICK_PERIOD, k1 = (first + n - 1) / CLICK_PERIOD;
        for (uint64_t k = k0; k <= k1 && s->o.signal == FVM_SIGNAL_CLICKS && s->log; k++) {
            fprintf(s->log, "click %" PRIu64 " %" PRIu64 " %u %s %" PRIu64 "\n", k, t,
                    (unsigned)(k * CLICK_PERIOD - first),
                    s->muted         ? "muted"
                    : s->half_volume ? "half"
                                     : "full",
                    due);
            s->clicks_sent++;
        }
    }
    if (s->log)
        fflush(s->log);
    arm_play(s, frame);
    return G_SOURCE_CONTINUE;
}

static void set_volume(struct fvm_sound *s)
{
    uint16_t v = s->half_volume ? 32768 : 65535, vol[2] = {v, v};
    spice_server_playback_set_volume(&s->play, 2, vol);
    spice_server_playback_set_mute(&s->play, s->muted);
}

void fvm_sound_toggle_volume(struct fvm_sound *s)
{
    if (!s)
        return;
    s->half_volume = !s->half_volume;
    set_volume(s);
    fvm_log(0, "sound: guest volume %s", s->half_volume ? "50 %" : "100 %");
}

void fvm_sound_toggle_mute(struct fvm_sound *s)
{
    if (!s)
        return;
    s->muted = !s->muted;
    set_volume(s);
    fvm_log(0, "sound: guest %s", s->muted ? "muted" : "unmuted");
}

/* ------------------------------------------------------------------- record */

static void check_frame(struct fvm_sound *s, uint32_t f, uint64_t t)
{
    uint64_t pos = s->rec_frames++; /* the server's read position: it starts at 0 */
    uint32_t c = f;                 /* left = low 16 bits, right = high 16 bits */
    if (c == 0) {
        s->rec_zeros++;
        if (s->rec_in_seq) { /* the end of the signal (or a gap of silence; told apart below) */
            s->rec_in_seq = false;
            /* what a test waits for before it stops the guest: the last value it played */
            fvm_log(0, "sound: record: the counter paused at %u", s->rec_last);
        }
        return;
    }
    if (s->rec_first == 0) {
        s->rec_first = c;
        fvm_log(0, "sound: record: the counter starts at %u", c);
    } else if (c != s->rec_expect && (pos % SERVER_RING == 0 || pos < s->rec_wrap_end)) {
        s->rec_wrap_moves++; /* see SERVER_RING */
        if (pos % SERVER_RING == 0)
            s->rec_wrap_end = pos + SERVER_PACKET;
    } else if (c != s->rec_expect) {
        s->rec_gaps++;
        if (s->rec_gaps <= 5 || getenv("FVM_DEBUG"))
            fvm_log(0, "sound: record: GAP: expected %u, got %u (after %" PRIu64 " in order)", s->rec_expect,
                    c, s->rec_in_order);
    }
    if (c == s->rec_expect || s->rec_first == c)
        s->rec_in_order++;
    s->rec_in_seq = true;
    s->rec_expect = c + 1;
    s->rec_last = c;
    if (c % CLICK_PERIOD == 0 && s->log)
        fprintf(s->log, "rec %u %" PRIu64 "\n", c, t);
}

static gboolean on_rec_timer(gint fd, GIOCondition cond, gpointer data)
{
    struct fvm_sound *s = data;
    uint64_t exp;
    if (read(fd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
        return G_SOURCE_CONTINUE;
    uint32_t buf[4096];
    uint32_t n;
    while ((n = spice_server_record_get_samples(&s->rec, buf, 4096)) > 0) {
        uint64_t t = mono_ns();
        for (uint32_t i = 0; i < n; i++)
            check_frame(s, buf[i], t);
    }
    if (s->log)
        fflush(s->log);
    return G_SOURCE_CONTINUE;
}

/* -------------------------------------------------------------------- setup */

struct fvm_sound *fvm_sound_create(SpiceServer *server, const struct fvm_sound_opts *o)
{
    struct fvm_sound *s = g_new0(struct fvm_sound, 1);
    s->o = *o;
    s->server = server;
    s->play_fd = s->rec_fd = -1;
    if (o->log_path && !(s->log = fopen(o->log_path, "w"))) {
        fvm_log(0, "sound: cannot write %s: %s", o->log_path, strerror(errno));
        g_free(s);
        return NULL;
    }
    spice_server_set_playback_compression(server, o->opus);
    if (o->signal != FVM_SIGNAL_NONE) {
        s->play.base.sif = &playback_sif.base;
        if (spice_server_add_interface(server, &s->play.base) != 0) {
            fvm_log(0, "sound: cannot add the playback interface");
            fvm_sound_destroy(s);
            return NULL;
        }
        spice_server_set_playback_rate(&s->play, o->rate);
        set_volume(s);
        s->play_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        s->play_watch = g_unix_fd_add(s->play_fd, G_IO_IN, on_play_timer, s);
        spice_server_playback_start(&s->play);
        s->playing = true;
        s->t0_ns = mono_ns();
        arm_play(s, 480);
        fvm_log(0, "sound: playing %s at %u Hz%s, guest clock %+.0f ppm",
                o->signal == FVM_SIGNAL_CLICKS ? "clicks" : "a beep", o->rate,
                o->opus ? " (Opus allowed)" : " (raw PCM)", o->drift_ppm);
    }
    if (o->record) {
        s->rec.base.sif = &record_sif.base;
        if (spice_server_add_interface(server, &s->rec.base) != 0) {
            fvm_log(0, "sound: cannot add the record interface");
            fvm_sound_destroy(s);
            return NULL;
        }
        spice_server_set_record_rate(&s->rec, o->record_rate);
        spice_server_record_start(&s->rec);
        s->rec_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        struct itimerspec it = {.it_interval = {0, 2000000}, .it_value = {0, 2000000}};
        timerfd_settime(s->rec_fd, 0, &it, NULL);
        s->rec_watch = g_unix_fd_add(s->rec_fd, G_IO_IN, on_rec_timer, s);
        fvm_log(0, "sound: recording at %u Hz", o->record_rate);
    }
    return s;
}

void fvm_sound_destroy(struct fvm_sound *s)
{
    if (!s)
        return;
    if (s->o.record)
        fvm_log(0,
                "sound: record: %" PRIu64 " frames received, %" PRIu64
                " of the counter in order (%u..%u), %" PRIu64 " gaps (and %" PRIu64
                " moves where the server's ring wraps)",
                s->rec_frames, s->rec_in_order, s->rec_first, s->rec_last, s->rec_gaps, s->rec_wrap_moves);
    if (s->play_watch)
        g_source_remove(s->play_watch);
    if (s->rec_watch)
        g_source_remove(s->rec_watch);
    if (s->play_fd >= 0)
        close(s->play_fd);
    if (s->rec_fd >= 0)
        close(s->rec_fd);
    if (s->log)
        fclose(s->log);
    g_free(s);
}
