/* spyglass-fakevm: the test peer and demo guest. A real SPICE server (libspice-server) with a
 * keyboard, a relative mouse, an optional tablet and a vdagent, all acting on an X display. */
#include "fakevm.h"
#include "sound.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int verbosity;

void fvm_log(int level, const char *fmt, ...)
{
    if (level > verbosity)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "spyglass-fakevm: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "Usage: spyglass-fakevm [OPTION]...\n"
        "A fake VM guest: a SPICE server (keyboard, relative mouse, vdagent clipboard) that replays\n"
        "the input it receives on an X display through XTest.\n\n"
        "  -d, --display NAME     X display of the guest desktop (default: $DISPLAY)\n"
        "  -p, --port N           listen on TCP port N (default 5930 unless --unix is given)\n"
        "  -a, --addr ADDR        TCP address to listen on (default 127.0.0.1)\n"
        "  -u, --unix PATH        listen on a unix socket instead of TCP\n"
        "  -P, --password PW      require this SPICE password (default: none)\n"
        "  -A, --accel N/D[/T]    set the guest's pointer acceleration like 'xset m N/D T' (default: leave "
        "it)\n"
        "  -t, --tablet           also offer an absolute tablet (the client should still use the mouse)\n"
        "  -n, --no-agent         no vdagent: a guest without clipboard sharing\n"
        "      --audio-clicks     a sound card playing a click train (numbered clicks, 10 per second)\n"
        "      --audio-beep       a sound card playing a soft beep each second (the demo)\n"
        "      --audio-rate HZ    playback sample rate announced to the client (default 48000)\n"
        "      --audio-drift PPM  the guest's sample clock runs PPM parts per million fast (negative: slow)\n"
        "      --audio-opus       let SPICE compress playback with Opus (QEMU's default; default here: raw "
        "PCM)\n"
        "      --audio-stop SECS  stop the playback stream after SECS seconds\n"
        "      --audio-record HZ  ask the client for its microphone at HZ and check the test counter in it\n"
        "      --audio-log PATH   write click put times and record receive times to PATH\n"
        "                         (SIGUSR1 halves/restores the guest volume, SIGUSR2 toggles mute)\n"
        "  -v, --verbose          more messages (twice: every input event)\n"
        "  -h, --help             this help\n\n"
        "Prints 'spyglass-fakevm: ready on ADDRESS' on stdout once clients can connect.\n"
        "Relative motion is scaled by the X pointer acceleration (xset m) before it is replayed,\n"
        "because XTest motion bypasses the X server's own acceleration.\n");
}

static struct fvm_sound *sound;

static gboolean on_usr1(gpointer data)
{
    fvm_sound_toggle_volume(sound);
    return G_SOURCE_CONTINUE;
}

static gboolean on_usr2(gpointer data)
{
    fvm_sound_toggle_mute(sound);
    return G_SOURCE_CONTINUE;
}

static gboolean on_signal(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
    const char *display = NULL, *unix_path = NULL, *password = NULL, *addr = "127.0.0.1", *accel = NULL;
    long port = -1;
    gboolean tablet = FALSE, agent = TRUE;
    struct fvm_sound_opts so = {.rate = 48000, .record_rate = 48000};
    static const struct option opts[] = {
        {"display", required_argument, NULL, 'd'},
        {"port", required_argument, NULL, 'p'},
        {"addr", required_argument, NULL, 'a'},
        {"unix", required_argument, NULL, 'u'},
        {"password", required_argument, NULL, 'P'},
        {"accel", required_argument, NULL, 'A'},
        {"tablet", no_argument, NULL, 't'},
        {"no-agent", no_argument, NULL, 'n'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"audio-clicks", no_argument, NULL, 1},
        {"audio-beep", no_argument, NULL, 2},
        {"audio-rate", required_argument, NULL, 3},
        {"audio-drift", required_argument, NULL, 4},
        {"audio-opus", no_argument, NULL, 5},
        {"audio-stop", required_argument, NULL, 6},
        {"audio-record", required_argument, NULL, 7},
        {"audio-log", required_argument, NULL, 8},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "d:p:a:u:P:A:tnvh", opts, NULL)) != -1) {
        char *end;
        switch (c) {
        case 'd':
            display = optarg;
            break;
        case 'p':
            port = strtol(optarg, &end, 10);
            if (*end || port < 1 || port > 65535) {
                fprintf(stderr, "spyglass-fakevm: invalid port '%s' (1..65535)\n", optarg);
                return 2;
            }
            break;
        case 'a':
            addr = optarg;
            break;
        case 'u':
            unix_path = optarg;
            break;
        case 'P':
            password = optarg;
            break;
        case 'A':
            accel = optarg;
            break;
        case 't':
            tablet = TRUE;
            break;
        case 'n':
            agent = FALSE;
            break;
        case 'v':
            verbosity++;
            break;
        case 1:
            so.signal = FVM_SIGNAL_CLICKS;
            break;
        case 2:
            so.signal = FVM_SIGNAL_BEEP;
            break;
        case 3:
            /* Any value: the tests announce rates the client must refuse. */
            so.rate = (unsigned)strtoul(optarg, &end, 10);
            if (*end) {
                fprintf(stderr, "spyglass-fakevm: invalid --audio-rate '%s'\n", optarg);
                return 2;
            }
            break;
        case 4:
            so.drift_ppm = strtod(optarg, &end);
            if (*end || so.drift_ppm < -100000 || so.drift_ppm > 100000) {
                fprintf(stderr, "spyglass-fakevm: invalid --audio-drift '%s' (ppm, -100000..100000)\n",
                        optarg);
                return 2;
            }
            break;
        case 5:
            so.opus = true;
            break;
        case 6:
            so.play_seconds = strtod(optarg, NULL);
            break;
        case 7:
            so.record = true;
            so.record_rate = (unsigned)strtoul(optarg, &end, 10);
            if (*end || so.record_rate < 1000) {
                fprintf(stderr, "spyglass-fakevm: invalid --audio-record '%s' (Hz)\n", optarg);
                return 2;
            }
            break;
        case 8:
            so.log_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "spyglass-fakevm: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (unix_path && port != -1) {
        fprintf(stderr, "spyglass-fakevm: --unix and --port exclude each other\n");
        return 2;
    }
    int acc_n = 0, acc_d = 1, acc_t = 0;
    if (accel &&
        (sscanf(accel, "%d/%d/%d", &acc_n, &acc_d, &acc_t) < 2 || acc_n < 1 || acc_d < 1 || acc_t < 0)) {
        fprintf(stderr, "spyglass-fakevm: invalid --accel '%s' (expected N/D or N/D/T, e.g. 3/1/0)\n", accel);
        return 2;
    }

    GMainLoop *loop = g_main_loop_new(NULL, FALSE);
    struct fvm_x *x = fvm_x_create(display);
    if (!x)
        return 1;
    if (accel) {
        XChangePointerControl(fvm_x_display(x), True, True, acc_n, acc_d, acc_t);
        XFlush(fvm_x_display(x));
    }

    SpiceServer *server = spice_server_new();
    char where[512];
    if (unix_path) {
        unlink(unix_path);
        spice_server_set_addr(server, unix_path, SPICE_ADDR_FLAG_UNIX_ONLY);
        snprintf(where, sizeof(where), "unix:%s", unix_path);
    } else {
        if (port == -1)
            port = 5930;
        spice_server_set_addr(server, addr, 0);
        spice_server_set_port(server, (int)port);
        snprintf(where, sizeof(where), "%s:%ld", addr, port);
    }
    if (password)
        spice_server_set_ticket(server, password, 0, 0, 0);
    else
        spice_server_set_noauth(server);
    /* Server (relative) mouse mode only: the agent must not offer client mode. */
    spice_server_set_agent_mouse(server, 0);
    spice_server_set_agent_copypaste(server, agent);
    spice_server_set_name(server, "spyglass-fakevm");
    if (spice_server_init(server, fvm_core_get()) != 0) {
        fvm_log(0, "cannot listen on %s (spice_server_init failed; address in use?)", where);
        spice_server_destroy(server);
        fvm_x_destroy(x);
        return 1;
    }
    struct fvm_input *input = fvm_input_create(x, server, tablet);
    struct fvm_agent *ag = agent ? fvm_agent_create(x, server) : NULL;
    if (!input || (agent && !ag)) {
        spice_server_destroy(server);
        return 1;
    }
    if (so.signal != FVM_SIGNAL_NONE || so.record) {
        sound = fvm_sound_create(server, &so);
        if (!sound) {
            spice_server_destroy(server);
            return 1;
        }
    }
    spice_server_vm_start(server);

    /* As QEMU does: libspice-server writes to client sockets with plain send(), and a client
     * that disconnects right after its last message (spyglass-spice-poke does) would otherwise
     * kill the process with SIGPIPE before the messages still queued for it were handled. */
    signal(SIGPIPE, SIG_IGN);
    g_unix_signal_add(SIGINT, on_signal, loop);
    g_unix_signal_add(SIGTERM, on_signal, loop);
    g_unix_signal_add(SIGUSR1, on_usr1, NULL);
    g_unix_signal_add(SIGUSR2, on_usr2, NULL);
    printf("spyglass-fakevm: ready on %s (display %s%s%s)\n", where, DisplayString(fvm_x_display(x)),
           agent ? ", vdagent" : "", tablet ? ", tablet" : "");
    fflush(stdout);
    g_main_loop_run(loop);

    fvm_log(1, "stopping");
    spice_server_vm_stop(server);
    fvm_agent_destroy(ag);
    spice_server_destroy(server);
    fvm_sound_destroy(sound); /* the server referred to its instances until now */
    fvm_input_destroy(input);
    fvm_x_destroy(x);
    g_main_loop_unref(loop);
    if (unix_path)
        unlink(unix_path);
    return 0;
}
