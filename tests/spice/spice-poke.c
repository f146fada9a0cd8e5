/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spyglass-spice-poke: drives client/spice (the client's SPICE connection) from a script of
 * commands, for tests and benchmarks against spyglass-fakevm. One command per argument:
 *   wait-connected MS        wait until the inputs channel is open on both sides (fails after MS)
 *   wait-agent MS            wait until the guest agent is connected
 *   key CODE up|down|tap     CODE: set-1 scancode (hex ok; extended as 0x1xx)
 *   type TEXT                type ASCII text on a US layout (shift as needed)
 *   motion DX DY             relative motion
 *   button N up|down|click   1 left, 2 middle, 3 right
 *   wheel N                  wheel clicks (negative = up)
 *   locks N                  set lock keys (1 scroll, 2 num, 4 caps)
 *   offer TEXT               put TEXT in the "client clipboard" and offer it to the guest
 *   expect-clip TEXT MS      wait until the guest sent TEXT as its clipboard
 *   sleep MS
 *   flush                    wait until everything was written to the socket
 *   wait-state STATE MS      connecting|connected|down
 * Prints "state STATE", "clip TEXT" and "locks N" lines on stdout as they happen. */
#include "spice/spice.h"

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static GMutex mu;
static char *last_clip;
static int states_seen;
static bool server_inputs_ready; /* the server's INPUTS_INIT (reported as locks) arrived */

static void on_state(void *o, enum sg_spice_state st, const char *detail)
{
    printf("state %s\n", sg_spice_state_str(st));
    fflush(stdout);
    g_mutex_lock(&mu);
    states_seen |= 1 << st;
    if (st != SG_SPICE_CONNECTED)
        server_inputs_ready = false;
    g_mutex_unlock(&mu);
}

static void on_clip(void *o, const char *text, size_t len)
{
    g_mutex_lock(&mu);
    g_free(last_clip);
    last_clip = g_strndup(text, len);
    printf("clip %s\n", last_clip);
    fflush(stdout);
    g_mutex_unlock(&mu);
}

static void on_locks(void *o, unsigned locks)
{
    printf("locks %u\n", locks);
    fflush(stdout);
    g_mutex_lock(&mu);
    server_inputs_ready = true;
    g_mutex_unlock(&mu);
}

/* US layout: ASCII to set-1 scancode, with shift. */
static bool ascii_scancode(char ch, unsigned *code, bool *shift)
{
    static const char row_num[] = "1234567890-=", row_num_s[] = "!@#$%^&*()_+";
    static const char row_q[] = "qwertyuiop[]", row_q_s[] = "QWERTYUIOP{}";
    static const char row_a[] = "asdfghjkl;'`", row_a_s[] = "ASDFGHJKL:\"~";
    static const char row_z[] = "\\zxcvbnm,./", row_z_s[] = "|ZXCVBNM<>?";
    const struct {
        const char *plain, *shifted;
        unsigned first;
    } rows[] = {
        {row_num, row_num_s, 0x02},
        {row_q, row_q_s, 0x10},
        {row_a, row_a_s, 0x1e},
        {row_z, row_z_s, 0x2b},
    };
    if (ch == ' ') {
        *code = 0x39;
        *shift = false;
        return true;
    }
    if (ch == '\n') {
        *code = 0x1c;
        *shift = false;
        return true;
    }
    if (ch == '\t') {
        *code = 0x0f;
        *shift = false;
        return true;
    }
    for (size_t r = 0; r < 4; r++) {
        const char *p;
        if ((p = strchr(rows[r].plain, ch)) && ch) {
            *code = rows[r].first + (unsigned)(p - rows[r].plain);
            *shift = false;
            return true;
        }
        if ((p = strchr(rows[r].shifted, ch)) && ch) {
            *code = rows[r].first + (unsigned)(p - rows[r].shifted);
            *shift = true;
            return true;
        }
    }
    return false;
}

static bool wait_for(bool (*cond)(struct sg_spice *, const char *), struct sg_spice *s, const char *arg,
                     long ms)
{
    gint64 end = g_get_monotonic_time() + ms * 1000;
    while (g_get_monotonic_time() < end) {
        if (cond(s, arg))
            return true;
        g_usleep(5000);
    }
    return cond(s, arg);
}

/* Connected, and the server has set up its inputs channel (it sent INPUTS_INIT). Until then a
 * write of the server's can meet a poke that already sent everything and left: the server then
 * drops the connection with our input still unread in its socket. */
static bool is_connected(struct sg_spice *s, const char *a)
{
    g_mutex_lock(&mu);
    bool ready = server_inputs_ready;
    g_mutex_unlock(&mu);
    return ready && sg_spice_get_state(s) == SG_SPICE_CONNECTED;
}
static bool has_agent(struct sg_spice *s, const char *a)
{
    return sg_spice_has_agent(s);
}
static bool clip_is(struct sg_spice *s, const char *a)
{
    g_mutex_lock(&mu);
    bool ok = last_clip && strcmp(last_clip, a) == 0;
    g_mutex_unlock(&mu);
    return ok;
}
static bool state_is(struct sg_spice *s, const char *a)
{
    return strcmp(sg_spice_state_str(sg_spice_get_state(s)), a) == 0;
}

int main(int argc, char **argv)
{
    struct sg_spice_config cfg = {.clipboard = true, .retry_ms = 200};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--unix") && i + 1 < argc)
            cfg.unix_path = argv[++i];
        else if (!strcmp(argv[i], "--host") && i + 1 < argc)
            cfg.host = argv[++i];
        else if (!strcmp(argv[i], "--port") && i + 1 < argc)
            cfg.port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--password") && i + 1 < argc)
            cfg.password = argv[++i];
        else if (!strcmp(argv[i], "--no-clipboard"))
            cfg.clipboard = false;
        else {
            fprintf(stderr, "usage: spyglass-spice-poke [--unix PATH | --host H --port P] [--password PW] "
                            "[--no-clipboard] COMMAND...\n(see the comment at the top of spice-poke.c)\n");
            return 2;
        }
    }
    struct sg_spice_callbacks cb = {
        .on_state = on_state, .on_guest_clipboard_text = on_clip, .on_guest_locks = on_locks};
    struct sg_spice *s = sg_spice_create(&cfg, &cb);
    int rc = 0;
    for (; i < argc && rc == 0; i++) {
        const char *cmd = argv[i];
        const char *a1 = i + 1 < argc ? argv[i + 1] : NULL, *a2 = i + 2 < argc ? argv[i + 2] : NULL;
        if (!strcmp(cmd, "wait-connected") && a1) {
            i++;
            if (!wait_for(is_connected, s, NULL, atol(a1))) {
                fprintf(stderr, "poke: not connected after %s ms\n", a1);
                rc = 1;
            }
        } else if (!strcmp(cmd, "wait-agent") && a1) {
            i++;
            if (!wait_for(has_agent, s, NULL, atol(a1))) {
                fprintf(stderr, "poke: no agent after %s ms\n", a1);
                rc = 1;
            }
        } else if (!strcmp(cmd, "wait-state") && a1 && a2) {
            i += 2;
            if (!wait_for(state_is, s, a1, atol(a2))) {
                fprintf(stderr, "poke: state is %s, not %s, after %s ms\n",
                        sg_spice_state_str(sg_spice_get_state(s)), a1, a2);
                rc = 1;
            }
        } else if (!strcmp(cmd, "key") && a1 && a2) {
            i += 2;
            unsigned code = (unsigned)strtoul(a1, NULL, 0);
            if (strcmp(a2, "up"))
                sg_spice_key(s, code, true);
            if (strcmp(a2, "down"))
                sg_spice_key(s, code, false);
        } else if (!strcmp(cmd, "type") && a1) {
            i++;
            for (const char *p = a1; *p; p++) {
                unsigned code;
                bool shift;
                if (!ascii_scancode(*p, &code, &shift)) {
                    fprintf(stderr, "poke: cannot type '%c'\n", *p);
                    rc = 1;
                    break;
                }
                if (shift)
                    sg_spice_key(s, 0x2a, true);
                sg_spice_key(s, code, true);
                sg_spice_key(s, code, false);
                if (shift)
                    sg_spice_key(s, 0x2a, false);
            }
        } else if (!strcmp(cmd, "motion") && a1 && a2) {
            i += 2;
            sg_spice_motion(s, atoi(a1), atoi(a2));
        } else if (!strcmp(cmd, "button") && a1 && a2) {
            i += 2;
            if (strcmp(a2, "up"))
                sg_spice_button(s, (enum sg_spice_button)atoi(a1), true);
            if (strcmp(a2, "down"))
                sg_spice_button(s, (enum sg_spice_button)atoi(a1), false);
        } else if (!strcmp(cmd, "wheel") && a1) {
            i++;
            sg_spice_wheel(s, atoi(a1));
        } else if (!strcmp(cmd, "locks") && a1) {
            i++;
            sg_spice_set_locks(s, (unsigned)atoi(a1));
        } else if (!strcmp(cmd, "offer") && a1) {
            i++;
            sg_spice_clipboard_offer_text(s, a1);
        } else if (!strcmp(cmd, "expect-clip") && a1 && a2) {
            i += 2;
            if (!wait_for(clip_is, s, a1, atol(a2))) {
                fprintf(stderr, "poke: guest clipboard not '%s' after %s ms\n", a1, a2);
                rc = 1;
            }
        } else if (!strcmp(cmd, "sleep") && a1) {
            i++;
            g_usleep((gulong)atol(a1) * 1000);
        } else if (!strcmp(cmd, "flush")) {
            if (!sg_spice_flush(s, 2000)) {
                fprintf(stderr, "poke: flush timed out\n");
                rc = 1;
            }
        } else {
            fprintf(stderr, "poke: bad command '%s' (or missing arguments)\n", cmd);
            rc = 2;
        }
    }
    sg_spice_flush(s, 1000);
    sg_spice_destroy(s);
    return rc;
}
