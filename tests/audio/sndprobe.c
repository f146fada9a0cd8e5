/* spyglass-sndprobe: the tests' ears and mouth on a sound server (PulseAudio client API).
 *
 *   sndprobe listen SOURCE SECONDS   record SOURCE (48 kHz stereo), find the fake VM's numbered
 *                                    clicks, print "click ID T_NS AMP" for each (T_NS: when the
 *                                    click's first sample was rendered, CLOCK_MONOTONIC), then
 *                                    "rendered FRAMES" and "level MAX_ABS", and "stall T_NS MS CPU"
 *                                    for each time this machine held a CPU up (see below)
 *   sndprobe counter SINK RATE SECONDS  play the record test's counter into SINK (stereo
 *                                    RATE: left = low 16 bits, right = high 16 bits, from 1),
 *                                    while recording SINK.monitor to print "mon C T_NS" for
 *                                    counts C that are multiples of 4800, when they were rendered
 *
 * Times: the source runs on the server's clock; a read that returns N frames in total at time
 * t says frame N was rendered no later than t. The lowest (t - N / rate) over reads near a
 * frame (a lower envelope, over +-5 s) is taken as that frame's origin: scheduling delays of
 * this process only ever make reads late, never early. */
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <pulse/error.h>
#include <pulse/simple.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define RATE 48000u
#define CHUNK 240u /* frames per read: 5 ms */
#define THRESHOLD 3000
#define QUIET_BEFORE 2000u /* samples of quiet before a click's marker */
#define BIT_SPACING 96u
#define PULSE_LEN 24u
#define ID_BITS 10u
#define ENVELOPE_NS 5000000000ull

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct readmark {
    uint64_t t_ns, frames;
};
struct readlog {
    struct readmark *m;
    size_t n, cap;
    unsigned rate;
};

static void mark(struct readlog *l, uint64_t t, uint64_t frames)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->m = realloc(l->m, l->cap * sizeof(*l->m));
        if (!l->m)
            abort();
    }
    l->m[l->n++] = (struct readmark){t, frames};
}

/* When frame idx was rendered (see the header comment). */
static uint64_t frame_time(const struct readlog *l, uint64_t idx)
{
    double best = 1e300, f_idx = (double)idx * 1e9 / l->rate;
    /* reads around idx: binary search, then scan +-ENVELOPE_NS */
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (l->m[mid].frames < idx)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint64_t tc = lo < l->n ? l->m[lo].t_ns : l->m[l->n - 1].t_ns;
    for (size_t i = lo; i < l->n && l->m[i].t_ns < tc + ENVELOPE_NS; i++) {
        double o = (double)l->m[i].t_ns - (double)l->m[i].frames * 1e9 / l->rate;
        if (o < best)
            best = o;
    }
    for (size_t i = lo; i-- > 0 && l->m[i].t_ns + ENVELOPE_NS > tc;) {
        double o = (double)l->m[i].t_ns - (double)l->m[i].frames * 1e9 / l->rate;
        if (o < best)
            best = o;
    }
    return (uint64_t)(best + f_idx);
}

static pa_simple *open_rec(const char *dev, unsigned rate, const char *what)
{
    pa_sample_spec ss = {.format = PA_SAMPLE_S16LE, .rate = rate, .channels = 2};
    pa_buffer_attr ba = {.maxlength = (uint32_t)-1,
                         .fragsize = CHUNK * 4,
                         .tlength = (uint32_t)-1,
                         .prebuf = (uint32_t)-1,
                         .minreq = (uint32_t)-1};
    int err = 0;
    pa_simple *s =
        pa_simple_new(NULL, "spyglass-sndprobe", PA_STREAM_RECORD, dev, what, &ss, NULL, &ba, &err);
    if (!s)
        fprintf(stderr, "sndprobe: cannot record %s: %s\n", dev, pa_strerror(err));
    return s;
}

/* ------------------------------------------------------------------ listen */

/* The machine's own stalls: a thread of the probe's per CPU (pinned to it, real-time like the
 * probe when the tests run it so) sleeps 1 ms at a time and notes each wake-up more than
 * STALL_MS late. The hypervisor holds one vCPU at a time as often as both: a single watcher
 * saw nothing while the sound server's thread, on the other vCPU, was held long enough for its
 * stream to run dry. Such a stall holds up whatever runs there, the client's threads, the
 * guest's or the sound server's, so the sound tests excuse what follows it (analyse.py).
 * 12 ms: shorter ones (5 to 10 ms, dozens a minute at times on two vCPUs shared with other VMs)
 * the default 20 ms buffer absorbs, which the soak then checks. Printed as "stall T_NS MS CPU"
 * (T_NS: when the sleep began). */
#define STALL_MS 12.0
#define STALLS_MAX 1024
struct watch {
    volatile int stop;
    pthread_mutex_t mu;
    uint64_t t[STALLS_MAX];
    double ms[STALLS_MAX];
    int cpu[STALLS_MAX];
    unsigned n;
};
struct watcher {
    struct watch *w;
    int cpu;
    pthread_t th;
};

static void *watch_stalls(void *p)
{
    struct watcher *me = p;
    struct watch *w = me->w;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(me->cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
    while (!w->stop) {
        uint64_t a = mono_ns();
        struct timespec d = {0, 1000000};
        nanosleep(&d, NULL);
        double late = (double)(mono_ns() - a) / 1e6 - 1.0;
        if (late > STALL_MS) {
            pthread_mutex_lock(&w->mu);
            if (w->n < STALLS_MAX) {
                w->t[w->n] = a;
                w->ms[w->n] = late;
                w->cpu[w->n++] = me->cpu;
            }
            pthread_mutex_unlock(&w->mu);
        }
    }
    return NULL;
}

struct click {
    uint64_t idx;
    unsigned id;
    int amp;
};

static int listen_clicks(const char *dev, double seconds)
{
    pa_simple *s = open_rec(dev, RATE, "click listener");
    if (!s)
        return 1;
    static struct watch w;
    pthread_mutex_init(&w.mu, NULL);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpu < 1 || ncpu > 64)
        ncpu = 1;
    struct watcher watchers[64];
    int nwatch = 0;
    for (long c = 0; c < ncpu; c++) {
        watchers[nwatch] = (struct watcher){.w = &w, .cpu = (int)c};
        if (pthread_create(&watchers[nwatch].th, NULL, watch_stalls, &watchers[nwatch]) == 0)
            nwatch++;
    }
    struct readlog rl = {.rate = RATE};
    /* a ring of the last 2048 left-channel samples, enough to decode a click */
    enum { HIST = 2048 };
    int16_t hist[HIST];
    memset(hist, 0, sizeof(hist));
    uint64_t n = 0, quiet = 0, pending = UINT64_MAX;
    int level = 0;
    struct click *clicks = NULL;
    size_t nclicks = 0, cap = 0;
    uint64_t end = mono_ns() + (uint64_t)(seconds * 1e9);
    int16_t buf[CHUNK * 2];
    int err;
    /* SNDPROBE_RAW=FILE keeps what was heard, for a look when a test fails */
    FILE *raw = getenv("SNDPROBE_RAW") ? fopen(getenv("SNDPROBE_RAW"), "wb") : NULL;
    while (mono_ns() < end) {
        if (pa_simple_read(s, buf, sizeof(buf), &err) < 0) {
            fprintf(stderr, "sndprobe: read: %s\n", pa_strerror(err));
            break;
        }
        if (raw)
            fwrite(buf, sizeof(buf), 1, raw);
        for (unsigned i = 0; i < CHUNK; i++, n++) {
            int v = buf[i * 2];
            hist[n % HIST] = (int16_t)v;
            int a = abs(v);
            if (a > level)
                level = a;
            if (pending == UINT64_MAX) {
                if (a >= THRESHOLD && quiet >= QUIET_BEFORE)
                    pending = n;
                quiet = a < THRESHOLD ? quiet + 1 : 0; /* the resampler rings ~12 % around edges */
            } else if (n >= pending + (ID_BITS + 1) * BIT_SPACING + PULSE_LEN + 16) {
                /* decode: the marker's peak, then one bit per slot (+-12 samples for resampling) */
                int amp = 0;
                for (uint64_t k = pending; k < pending + PULSE_LEN; k++)
                    amp = abs(hist[k % HIST]) > amp ? abs(hist[k % HIST]) : amp;
                unsigned id = 0;
                for (unsigned b = 0; b < ID_BITS; b++) {
                    uint64_t at = pending + (b + 1) * BIT_SPACING;
                    int m = 0;
                    for (uint64_t k = at - 12; k < at + PULSE_LEN + 12; k++)
                        m = abs(hist[k % HIST]) > m ? abs(hist[k % HIST]) : m;
                    if (m >= amp / 2)
                        id |= 1u << b;
                }
                if (nclicks == cap) {
                    cap = cap ? cap * 2 : 1024;
                    clicks = realloc(clicks, cap * sizeof(*clicks));
                    if (!clicks)
                        abort();
                }
                clicks[nclicks++] = (struct click){pending, id, amp};
                pending = UINT64_MAX;
                quiet = 0;
            }
        }
        mark(&rl, mono_ns(), n);
    }
    pa_simple_free(s);
    if (raw)
        fclose(raw);
    w.stop = 1;
    for (int i = 0; i < nwatch; i++)
        pthread_join(watchers[i].th, NULL);
    for (unsigned i = 0; i < w.n; i++)
        printf("stall %" PRIu64 " %.1f %d\n", w.t[i], w.ms[i], w.cpu[i]);
    for (size_t i = 0; i < nclicks; i++)
        printf("click %u %" PRIu64 " %d %" PRIu64 "\n", clicks[i].id, frame_time(&rl, clicks[i].idx),
               clicks[i].amp, clicks[i].idx);
    printf("rendered %" PRIu64 "\nlevel %d\n", n, level);
    free(clicks);
    free(rl.m);
    return 0;
}

/* ----------------------------------------------------------------- counter */

struct counter_job {
    const char *sink;
    unsigned rate;
    double seconds;
    int rc;
};

static void *play_counter(void *p)
{
    struct counter_job *j = p;
    pa_sample_spec ss = {.format = PA_SAMPLE_S16LE, .rate = j->rate, .channels = 2};
    pa_buffer_attr ba = {.maxlength = (uint32_t)-1,
                         .tlength = (uint32_t)pa_usec_to_bytes(20000, &ss),
                         .prebuf = (uint32_t)-1,
                         .minreq = (uint32_t)-1,
                         .fragsize = (uint32_t)-1};
    int err = 0;
    pa_simple *s = pa_simple_new(NULL, "spyglass-sndprobe", PA_STREAM_PLAYBACK, j->sink, "counter", &ss, NULL,
                                 &ba, &err);
    if (!s) {
        fprintf(stderr, "sndprobe: cannot play to %s: %s\n", j->sink, pa_strerror(err));
        j->rc = 1;
        return NULL;
    }
    uint64_t total = (uint64_t)(j->seconds * j->rate);
    uint32_t c = 1, buf[CHUNK];
    for (uint64_t done = 0; done < total; done += CHUNK) {
        for (unsigned i = 0; i < CHUNK; i++)
            buf[i] = c++;
        if (pa_simple_write(s, buf, sizeof(buf), &err) < 0) {
            fprintf(stderr, "sndprobe: write: %s\n", pa_strerror(err));
            j->rc = 1;
            break;
        }
    }
    pa_simple_drain(s, &err);
    pa_simple_free(s);
    printf("played %u\n", c - 1);
    return NULL;
}

static int counter(const char *sink, unsigned rate, double seconds)
{
    char mon[256];
    snprintf(mon, sizeof(mon), "%s.monitor", sink);
    pa_simple *r = open_rec(mon, rate, "counter monitor");
    if (!r)
        return 1;
    struct counter_job j = {sink, rate, seconds, 0};
    pthread_t th;
    pthread_create(&th, NULL, play_counter, &j);
    struct readlog rl = {.rate = rate};
    struct {
        uint32_t c;
        uint64_t idx;
    } *marks = NULL;
    size_t nm = 0, cap = 0;
    uint64_t n = 0, end = mono_ns() + (uint64_t)((seconds + 1.0) * 1e9);
    uint32_t buf[CHUNK];
    int err;
    while (mono_ns() < end) {
        if (pa_simple_read(r, buf, sizeof(buf), &err) < 0)
            break;
        for (unsigned i = 0; i < CHUNK; i++, n++)
            if (buf[i] && buf[i] % 4800 == 0) {
                if (nm == cap) {
                    cap = cap ? cap * 2 : 1024;
                    marks = realloc(marks, cap * sizeof(*marks));
                    if (!marks)
                        abort();
                }
                marks[nm].c = buf[i];
                marks[nm++].idx = n;
            }
        mark(&rl, mono_ns(), n);
    }
    pthread_join(th, NULL);
    pa_simple_free(r);
    for (size_t i = 0; i < nm; i++)
        printf("mon %u %" PRIu64 "\n", marks[i].c, frame_time(&rl, marks[i].idx));
    free(marks);
    free(rl.m);
    return j.rc;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOFBF, 1 << 16);
    if (argc == 4 && !strcmp(argv[1], "listen"))
        return listen_clicks(argv[2], atof(argv[3]));
    if (argc == 5 && !strcmp(argv[1], "counter"))
        return counter(argv[2], (unsigned)atoi(argv[3]), atof(argv[4]));
    fprintf(stderr, "usage: spyglass-sndprobe listen SOURCE SECONDS | counter SINK RATE SECONDS\n");
    return 2;
}
