/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sg-xvfb: the one way the tests and benchmarks start an X server (Xvfb, or Xephyr nested in
 * another display). It prints the display number once the server accepts connections, or fails
 * with the server's own log after one start timeout; then it stays, and the server ends with it:
 * on SIGTERM/SIGINT/SIGHUP, and when the process that started sg-xvfb dies, even by SIGKILL
 * (PR_SET_PDEATHSIG on both levels), so a killed test leaves no X server behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Xvfb is up in well under a second on an idle machine; the bound is for 2 cores shared by many
 * test runs, and only ever ends a start that failed. */
#define START_TIMEOUT_MS 30000
/* After SIGTERM the server removes its socket; SIGKILL would leave it, and the number looks taken. */
#define STOP_GRACE_MS 2000
/* --reusable: -displayfd hands out the lowest free numbers, so parallel tests will not take one
 * from this range while its owner restarts its server on it. */
#define REUSABLE_BASE 1000
#define REUSABLE_SPAN 30000
#define REUSABLE_TRIES 20

static const char *prog = "sg-xvfb";

struct opts {
    const char *server; /* Xvfb, or the Xephyr binary */
    bool xephyr;
    int display; /* -1: the lowest free number */
    bool reusable;
    int out_fd; /* where the number goes */
    unsigned w, h, depth;
    char **extra; /* arguments for the server after "--" */
    int n_extra;
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: %s [OPTIONS] WxH[xDEPTH] [-- SERVER-ARGS...]\n"
            "Starts an X server for a test, prints its display number (\"N\", a line) once it accepts\n"
            "connections, and stays until the server ends. The server is stopped when this program\n"
            "gets SIGTERM, SIGINT or SIGHUP, and when the process that started it dies, even by SIGKILL.\n"
            "A server that has not reported its display within %d s is stopped and its log shown.\n"
            "\n"
            "  --display N     take display :N (fails if another server has it); default: the lowest free\n"
            "  --reusable      a free number far above the ones handed out by default, for a test that\n"
            "                  stops the server and starts another on the same number (--display N)\n"
            "  --xephyr PATH   start Xephyr (a nested server whose RandR can resize) on $DISPLAY instead of "
            "Xvfb\n"
            "  --fd N          print the number on file descriptor N instead of standard output\n"
            "  -h, --help      this text\n"
            "Always passed: -displayfd, -nolisten tcp, the screen size (depth 24 unless given).\n"
            "Exit status: 0 when stopped by a signal as asked, 1 when the server did not start or ended\n"
            "on its own (its log is printed), 2 for bad usage.\n",
            prog, START_TIMEOUT_MS / 1000);
}

static bool parse_uint(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 0 || v > 65535)
        return false;
    *out = (int)v;
    return true;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    *o = (struct opts){.server = "Xvfb", .display = -1, .out_fd = 1, .depth = 24};
    const char *size = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--")) {
            o->extra = argv + i + 1;
            o->n_extra = argc - i - 1;
            break;
        } else if (!strcmp(a, "--reusable")) {
            o->reusable = true;
        } else if ((!strcmp(a, "--display") || !strcmp(a, "--fd") || !strcmp(a, "--xephyr")) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (!strcmp(a, "--xephyr")) {
                o->server = v;
                o->xephyr = true;
            } else if (!parse_uint(v, !strcmp(a, "--fd") ? &o->out_fd : &o->display)) {
                fprintf(stderr, "%s: %s wants a number, not '%s'\n", prog, a, v);
                return -1;
            }
        } else if (a[0] != '-' && !size) {
            size = a;
        } else {
            fprintf(stderr, "%s: unknown or incomplete argument '%s' (see --help)\n", prog, a);
            return -1;
        }
    }
    if (!size) {
        fprintf(stderr, "%s: no screen size given, like 1024x768 (see --help)\n", prog);
        return -1;
    }
    char tail;
    int n = sscanf(size, "%ux%ux%u%c", &o->w, &o->h, &o->depth, &tail);
    if (n < 2 || n > 3 || !o->w || !o->h || o->w > 16384 || o->h > 16384 || !o->depth || o->depth > 32) {
        fprintf(stderr, "%s: screen size '%s' is not WxH or WxHxDEPTH\n", prog, size);
        return -1;
    }
    if (o->reusable && o->display >= 0) {
        fprintf(stderr, "%s: --display and --reusable exclude each other\n", prog);
        return -1;
    }
    return 0;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The server's output goes to a file nobody else sees, shown only when something went wrong. */
static int log_fd = -1;

static void show_log(void)
{
    char buf[4096];
    off_t end = lseek(log_fd, 0, SEEK_END);
    off_t from = end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0;
    ssize_t n = pread(log_fd, buf, sizeof(buf) - 1, from);
    if (n <= 0) {
        fprintf(stderr, "%s: (the server wrote no log)\n", prog);
        return;
    }
    buf[n] = 0;
    fprintf(stderr, "%s: the server's log%s:\n%s%s", prog, from ? " (end)" : "", buf,
            buf[n - 1] == '\n' ? "" : "\n");
}

static pid_t server_pid;

/* A server started with -displayfd writes no lock file: its socket tells a number in use. */
static void socket_path(int display, char *out, size_t size)
{
    snprintf(out, size, "/tmp/.X11-unix/X%d", display);
}

/* Status words of waitpid as text, for the messages. */
static void describe(int st, char *out, size_t size)
{
    if (WIFEXITED(st))
        snprintf(out, size, "exited with status %d", WEXITSTATUS(st));
    else
        snprintf(out, size, "was killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
}

/* Reaps the server if it exits within ms; *st gets its status. */
static bool reap_within(long long ms, int *st)
{
    long long end = now_ms() + (ms > 0 ? ms : 0);
    for (;;) {
        if (waitpid(server_pid, st, WNOHANG) == server_pid) {
            server_pid = 0;
            return true;
        }
        if (now_ms() >= end)
            return false;
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
}

/* SIGTERM, SIGKILL after the grace time; reaps the server. */
static void stop_server(void)
{
    if (server_pid <= 0)
        return;
    kill(server_pid, SIGTERM);
    int st;
    if (reap_within(STOP_GRACE_MS, &st))
        return;
    kill(server_pid, SIGKILL);
    waitpid(server_pid, NULL, 0);
    server_pid = 0;
}

static sigset_t handled;

static pid_t spawn_server(const struct opts *o, int display, int ready_fd)
{
    char disp[16], fdarg[16], screen[48];
    snprintf(disp, sizeof(disp), ":%d", display);
    snprintf(fdarg, sizeof(fdarg), "%d", ready_fd);
    char *argv[16 + o->n_extra];
    int n = 0;
    argv[n++] = (char *)o->server;
    if (display >= 0)
        argv[n++] = disp;
    argv[n++] = "-displayfd";
    argv[n++] = fdarg;
    argv[n++] = "-screen";
    if (o->xephyr) {
        snprintf(screen, sizeof(screen), "%ux%u", o->w, o->h);
    } else {
        argv[n++] = "0";
        snprintf(screen, sizeof(screen), "%ux%ux%u", o->w, o->h, o->depth);
    }
    argv[n++] = screen;
    argv[n++] = "-nolisten";
    argv[n++] = "tcp";
    for (int i = 0; i < o->n_extra; i++)
        argv[n++] = o->extra[i];
    argv[n] = NULL;

    pid_t self = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* the server ends when this launcher does, whatever killed it */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != self)
        _exit(1);
    sigprocmask(SIG_UNBLOCK, &handled, NULL); /* a blocked SIGTERM would survive the exec */
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    int flags = fcntl(ready_fd, F_GETFD);
    fcntl(ready_fd, F_SETFD, flags & ~FD_CLOEXEC);
    execvp(argv[0], argv);
    fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

enum start_result { STARTED, NUMBER_TAKEN, FAILED };

/* Starts the server and waits for its display number; *display_out gets it. */
static enum start_result start(const struct opts *o, int display, int sfd, int *display_out)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) {
        fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
        return FAILED;
    }
    if (ftruncate(log_fd, 0) != 0) /* the log of an earlier try would show with this one's: harmless */
        fprintf(stderr, "%s: cannot empty the server's log: %s\n", prog, strerror(errno));
    server_pid = spawn_server(o, display, p[1]);
    close(p[1]);
    if (server_pid < 0) {
        fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
        close(p[0]);
        return FAILED;
    }
    char buf[32] = "";
    size_t got = 0;
    long long end = now_ms() + START_TIMEOUT_MS;
    enum start_result res = FAILED;
    for (;;) {
        long long left = end - now_ms();
        if (left <= 0) {
            fprintf(stderr, "%s: %s did not report a display within %d s; stopping it\n", prog, o->server,
                    START_TIMEOUT_MS / 1000);
            stop_server();
            show_log();
            break;
        }
        struct pollfd pfd[2] = {{.fd = p[0], .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        int r = poll(pfd, 2, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (pfd[1].revents) { /* stopped while starting: no message, the caller asked for it */
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo != SIGCHLD) {
                stop_server();
                exit(0);
            }
        }
        if (!pfd[0].revents)
            continue;
        ssize_t n = read(p[0], buf + got, sizeof(buf) - 1 - got);
        if (n > 0) {
            got += (size_t)n;
            buf[got] = 0;
            if (!strchr(buf, '\n') && got < sizeof(buf) - 1)
                continue;
            *display_out = atoi(buf);
            if (strchr(buf, '\n') && (display < 0 || *display_out == display)) {
                res = STARTED;
            } else {
                fprintf(stderr, "%s: %s reported display '%s', wanted :%d\n", prog, o->server, buf, display);
                stop_server();
            }
            break;
        }
        /* end of file: the server is gone before it was ready (or closed the pipe and lingers) */
        int st;
        if (n < 0 || !reap_within(STOP_GRACE_MS, &st)) {
            fprintf(stderr, "%s: %s closed -displayfd without a number (%s)\n", prog, o->server,
                    n < 0 ? strerror(errno) : "still running");
            stop_server();
            show_log();
            break;
        }
        char why[96];
        describe(st, why, sizeof(why));
        char sock[64];
        socket_path(display, sock, sizeof(sock));
        if (display >= 0 && access(sock, F_OK) == 0) {
            res = NUMBER_TAKEN;
            if (o->reusable)
                break; /* the caller tries another number */
        }
        if (res == NUMBER_TAKEN)
            fprintf(stderr, "%s: display :%d is taken (%s exists); %s %s\n", prog, display, sock, o->server,
                    why);
        else
            fprintf(stderr, "%s: %s %s before reporting a display\n", prog, o->server, why);
        show_log();
        break;
    }
    close(p[0]);
    return res;
}

int main(int argc, char **argv)
{
    struct opts o;
    if (parse_args(argc, argv, &o) != 0)
        return 2;

    /* this launcher ends with the process that started it (its thread, strictly: callers start it
     * from their main thread); the handler below then stops the server */
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        return 1; /* it died already */

    sigemptyset(&handled);
    sigaddset(&handled, SIGTERM);
    sigaddset(&handled, SIGINT);
    sigaddset(&handled, SIGHUP);
    sigaddset(&handled, SIGCHLD);
    sigprocmask(SIG_BLOCK, &handled, NULL);
    int sfd = signalfd(-1, &handled, SFD_CLOEXEC);
    if (sfd < 0) {
        fprintf(stderr, "%s: signalfd: %s\n", prog, strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN); /* a caller that stopped reading gets no number, not a dead launcher */

    log_fd = open("/tmp", O_TMPFILE | O_RDWR | O_APPEND | O_CLOEXEC, 0600);
    if (log_fd < 0) {
        char tmpl[] = "/tmp/sg-xvfb-log.XXXXXX";
        log_fd = mkostemp(tmpl, O_APPEND | O_CLOEXEC);
        if (log_fd >= 0)
            unlink(tmpl);
    }
    if (log_fd < 0) {
        fprintf(stderr, "%s: cannot create a log file in /tmp: %s\n", prog, strerror(errno));
        return 1;
    }

    int display = -1;
    enum start_result res = FAILED;
    if (o.reusable) {
        res = NUMBER_TAKEN;
        for (int i = 0; i < REUSABLE_TRIES && res != STARTED; i++) {
            int d = REUSABLE_BASE + (int)(((unsigned)getpid() * 31u + (unsigned)i * 7919u) % REUSABLE_SPAN);
            char sock[64];
            socket_path(d, sock, sizeof(sock));
            if (access(sock, F_OK) == 0)
                continue;
            res = start(&o, d, sfd, &display);
            if (res == FAILED)
                break;
        }
        if (res == NUMBER_TAKEN)
            fprintf(stderr, "%s: no free display number after %d tries\n", prog, REUSABLE_TRIES);
    } else {
        res = start(&o, o.display, sfd, &display);
    }
    if (res != STARTED)
        return 1;

    char line[24];
    int len = snprintf(line, sizeof(line), "%d\n", display);
    if (write(o.out_fd, line, (size_t)len) != len)
        fprintf(stderr, "%s: could not write the display number :%d: %s\n", prog, display, strerror(errno));
    /* a caller reading to the end (a shell's $(...)) must not wait for the server's end */
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, o.out_fd);
    close(devnull);

    for (;;) {
        struct signalfd_siginfo si;
        ssize_t n = read(sfd, &si, sizeof(si));
        if (n != sizeof(si)) {
            if (n < 0 && errno == EINTR)
                continue;
            stop_server();
            return 1;
        }
        if (si.ssi_signo != SIGCHLD) {
            stop_server();
            return 0;
        }
        int st;
        if (waitpid(server_pid, &st, WNOHANG) == server_pid) {
            char why[96];
            describe(st, why, sizeof(why));
            fprintf(stderr, "%s: %s on :%d %s while in use\n", prog, o.server, display, why);
            server_pid = 0;
            show_log();
            return 1;
        }
    }
}
