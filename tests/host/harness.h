/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once
/* Child processes for host tests: spyglass-host, Xvfb. Every child dies with
 * the test (PR_SET_PDEATHSIG) and harness_cleanup() kills what is left. */
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Start argv[0] with stdout+stderr to log_path (NULL: inherit). */
pid_t harness_spawn(char *const argv[], const char *log_path);
/* Like harness_spawn, run as uid/gid (when running as root). */
pid_t harness_spawn_as(char *const argv[], const char *log_path, uid_t uid, gid_t gid);
/* Wait up to timeout_ms; 0 with *status (exit code, or 128+signal), -1 if still running. */
int harness_wait(pid_t pid, uint32_t timeout_ms, int *status);
/* SIGTERM, then SIGKILL after 2 s; returns the exit status like harness_wait. */
int harness_stop(pid_t pid);
void harness_cleanup(void);
/* Removes path if the test is ended by SIGTERM or SIGINT (meson's timeout, ^C), after killing
 * the children; registering the same path again does nothing. Teardowns still unlink it. */
void harness_remove_on_signal(const char *path);
/* X servers come from tests/common/sg-xvfb (env SPYGLASS_XVFB overrides the build's): *pid is the
 * launcher's, harness_stop() on it stops the server, and the server dies with the test.
 * Xvfb with -displayfd (display < 0) or on a given number; returns the number once the server
 * listens, -1 if it did not start (or another server has that number; sg-xvfb says why on stderr). */
int harness_xvfb(uint32_t w, uint32_t h, int display, pid_t *pid);
/* The X server under a launcher pid from harness_xvfb/harness_xephyr (for its CPU time), -1 if none. */
pid_t harness_xserver_pid(pid_t launcher);
/* Xvfb on a free number far above those -displayfd picks, for a test that stops the server and
 * starts another on the same number; returns the number or -1. */
int harness_xvfb_reusable(uint32_t w, uint32_t h, pid_t *pid);
/* Xephyr (a nested X server whose RandR can resize the screen) on the X
 * display `outer`, with -displayfd; returns its number or -1. */
int harness_xephyr(const char *path, int outer, uint32_t w, uint32_t h, pid_t *pid);
/* The spyglass-host binary (env SPYGLASS_HOST). */
const char *harness_host_path(void);
/* Whole file as a NUL-terminated string (free it), NULL if unreadable. */
char *harness_read_file(const char *path);
/* Wait until path contains needle (polls), up to timeout_ms. */
bool harness_wait_log(const char *path, const char *needle, uint32_t timeout_ms);
