/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHILDREN 16
static pid_t children[MAX_CHILDREN];

static void remember(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (!children[i]) {
            children[i] = pid;
            return;
        }
}

static void forget(pid_t pid)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] == pid)
            children[i] = 0;
}

#define MAX_PATHS 8
static char sig_paths[MAX_PATHS][256];

/* Only async-signal-safe calls: the test may be anywhere when meson's timeout hits. Children
 * get SIGTERM first (an X server removes its lock file and socket then), SIGKILL after 300 ms;
 * meson itself sends SIGKILL 500 ms after its SIGTERM. */
static void on_signal(int sig)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] > 0)
            kill(children[i], SIGTERM);
    for (int i = 0; i < MAX_PATHS; i++)
        if (sig_paths[i][0])
            unlink(sig_paths[i]);
    for (int round = 0; round < 30; round++) {
        bool left = false;
        for (int i = 0; i < MAX_CHILDREN; i++) {
            if (children[i] <= 0)
                continue;
            pid_t r = waitpid(children[i], NULL, WNOHANG);
            if (r == 0)
                left = true;
            else
                children[i] = 0; /* reaped (or not ours): never signal that pid again */
        }
        if (!left)
            break;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i] > 0)
            kill(children[i], SIGKILL);
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    raise(sig);
}

void harness_remove_on_signal(const char *path)
{
    int free_slot = -1;
    for (int i = 0; i < MAX_PATHS; i++) {
        if (!strcmp(sig_paths[i], path))
            return;
        if (!sig_paths[i][0] && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0 || strlen(path) >= sizeof(sig_paths[0])) {
        fprintf(stderr, "harness: cannot register %s for removal on a signal\n", path);
        return;
    }
    static bool installed;
    if (!installed) {
        struct sigaction sa = {.sa_handler = on_signal};
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        installed = true;
    }
    strcpy(sig_paths[free_slot], path);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static pid_t spawn(char *const argv[], const char *log_path, bool drop, uid_t uid, gid_t gid)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        if (log_path) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
        }
        if (drop && getuid() == 0) {
            if (setgroups(0, NULL) != 0 || setgid(gid) != 0 || setuid(uid) != 0)
                _exit(126);
        }
        execv(argv[0], argv);
        execvp(argv[0], argv);
        _exit(127);
    }
    remember(pid);
    return pid;
}

pid_t harness_spawn(char *const argv[], const char *log_path)
{
    return spawn(argv, log_path, false, 0, 0);
}

pid_t harness_spawn_as(char *const argv[], const char *log_path, uid_t uid, gid_t gid)
{
    return spawn(argv, log_path, true, uid, gid);
}

int harness_wait(pid_t pid, uint32_t timeout_ms, int *status)
{
    uint64_t end = now_ms() + timeout_ms;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            forget(pid);
            *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return 0;
        }
        if (r < 0 || now_ms() > end)
            return -1;
        struct timespec ts = {0, 5000000};
        nanosleep(&ts, NULL);
    }
}

int harness_stop(pid_t pid)
{
    int status = -1;
    if (pid <= 0)
        return -1;
    kill(pid, SIGTERM);
    if (harness_wait(pid, 3000, &status) == 0)
        return status;
    kill(pid, SIGKILL);
    harness_wait(pid, 2000, &status);
    return 128 + SIGKILL;
}

void harness_cleanup(void)
{
    for (int i = 0; i < MAX_CHILDREN; i++)
        if (children[i]) {
            kill(children[i], SIGKILL);
            waitpid(children[i], NULL, 0);
            children[i] = 0;
        }
}

/* tests/common/sg-xvfb: env SPYGLASS_XVFB, else the build's own (SG_XVFB_PATH), else from PATH */
static const char *launcher_path(void)
{
    const char *p = getenv("SPYGLASS_XVFB");
#ifdef SG_XVFB_PATH
    if (!p || !*p)
        p = SG_XVFB_PATH;
#endif
    return p && *p ? p : "sg-xvfb";
}

/* Runs the launcher with `args` and reads the number it prints; its own start timeout bounds the
 * read, and it says on stderr (the test's log) why a server did not start. */
static int launch_x(const char *const *args, int n, pid_t *pid)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    char fdarg[16];
    snprintf(fdarg, sizeof(fdarg), "%d", fds[1]);
    char *argv[16];
    int k = 0;
    argv[k++] = (char *)launcher_path();
    argv[k++] = "--fd";
    argv[k++] = fdarg;
    for (int i = 0; i < n && k < 15; i++)
        argv[k++] = (char *)args[i];
    argv[k] = NULL;
    *pid = spawn(argv, NULL, false, 0, 0);
    close(fds[1]);
    char buf[32] = "";
    size_t got = 0;
    while (got < sizeof(buf) - 1 && !strchr(buf, '\n')) {
        ssize_t r = read(fds[0], buf + got, sizeof(buf) - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* the launcher ended without a number */
        got += (size_t)r;
        buf[got] = 0;
    }
    close(fds[0]);
    if (!strchr(buf, '\n')) {
        harness_stop(*pid);
        return -1;
    }
    return atoi(buf);
}

int harness_xephyr(const char *path, int outer, uint32_t w, uint32_t h, pid_t *pid)
{
    char screen[32], disp[16];
    snprintf(screen, sizeof(screen), "%ux%u", w, h);
    snprintf(disp, sizeof(disp), ":%d", outer);
    const char *args[] = {"--xephyr", path, screen, "--", "-br"};
    char *old = getenv("DISPLAY") ? strdup(getenv("DISPLAY")) : NULL;
    setenv("DISPLAY", disp, 1);
    int d = launch_x(args, 5, pid);
    if (old) {
        setenv("DISPLAY", old, 1);
        free(old);
    } else {
        unsetenv("DISPLAY");
    }
    return d;
}

int harness_xvfb(uint32_t w, uint32_t h, int display, pid_t *pid)
{
    char screen[32], disp[16];
    snprintf(screen, sizeof(screen), "%ux%ux24", w, h);
    snprintf(disp, sizeof(disp), "%d", display);
    /* -br: a black root window, known content */
    const char *fixed[] = {"--display", disp, screen, "--", "-br"};
    const char *any[] = {screen, "--", "-br"};
    return display >= 0 ? launch_x(fixed, 5, pid) : launch_x(any, 3, pid);
}

int harness_xvfb_reusable(uint32_t w, uint32_t h, pid_t *pid)
{
    char screen[32];
    snprintf(screen, sizeof(screen), "%ux%ux24", w, h);
    const char *args[] = {"--reusable", screen, "--", "-br"};
    return launch_x(args, 4, pid);
}

pid_t harness_xserver_pid(pid_t launcher)
{
    char path[64], buf[32] = "";
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)launcher, (int)launcher);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    bool ok = fgets(buf, sizeof(buf), f) != NULL;
    fclose(f);
    return ok && atoi(buf) > 0 ? (pid_t)atoi(buf) : -1;
}

const char *harness_host_path(void)
{
    const char *p = getenv("SPYGLASS_HOST");
    return p ? p : "spyglass-host";
}

char *harness_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *s = malloc(cap);
    size_t r;
    while ((r = fread(s + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2)
            s = realloc(s, cap *= 2);
    }
    s[n] = 0;
    fclose(f);
    return s;
}

bool harness_wait_log(const char *path, const char *needle, uint32_t timeout_ms)
{
    uint64_t end = now_ms() + timeout_ms;
    for (;;) {
        char *s = harness_read_file(path);
        bool found = s && strstr(s, needle);
        free(s);
        if (found)
            return true;
        if (now_ms() > end)
            return false;
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
}
