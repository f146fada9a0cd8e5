#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Time from starting spyglass-client to its first frame drawn, with a host
already running (spyglass-host -c testpattern, 1280x720), under Xvfb with
Mesa's software renderer.

Each start uses the client's default options (app:retryMs too; SPICE tries
127.0.0.1:5900 and retries on its own thread), or with --view-only
spice:enable=no besides. The time is from starting the client
process to its log line "first frame drawn" (written right after the buffer
swap of the first draw with a guest frame), read from a pipe. Prints every
start, then p50 / min / max, and how many logs said "host not running".

Usage: attach_time.py BUILD_DIR [STARTS] [--view-only]
"""
import os
import selectors
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ARGS = [a for a in sys.argv[1:] if a != "--view-only"]
VIEW_ONLY = len(ARGS) < len(sys.argv) - 1
BUILD = ARGS[0]
STARTS = int(ARGS[1]) if len(ARGS) > 1 else 10
CLIENT = os.path.join(BUILD, "client", "spyglass-client")
HOST = os.path.join(BUILD, "host", "spyglass-host")
REGION = "/dev/shm/sgc-attach-bench-%d" % os.getpid()
TMP = tempfile.mkdtemp(prefix="sgc-attach-bench-")
procs = []


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    # tests/common/sg-xvfb bounds the start and takes the server down with this process
    x = subprocess.Popen([os.path.join(BUILD, "tests", "common", "sg-xvfb"), "1600x1200"], stdout=subprocess.PIPE,
                         text=True)
    procs.append(x)
    num = x.stdout.readline().strip()
    if not num:
        sys.exit("Xvfb did not start (sg-xvfb's message above)")
    disp = ":" + num
    env = dict(os.environ, DISPLAY=disp, LIBGL_ALWAYS_SOFTWARE="1", SPYGLASS_NO_USER_CONFIG="1", HOME=TMP)
    host = subprocess.Popen([HOST, "-c", "testpattern", "-f", REGION, "-s", "32"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    procs.append(host)
    deadline = time.time() + 20
    while not os.path.exists(REGION) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # let the host publish its first frames: the client must find a running host
    times, false_msgs = [], 0
    for i in range(STARTS):
        t0 = time.monotonic()
        c = subprocess.Popen([CLIENT, "-f", REGION] + (["spice:enable=no"] if VIEW_ONLY else []), env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, bufsize=1)
        procs.append(c)
        text, dt = "", None
        sel = selectors.DefaultSelector()
        sel.register(c.stderr, selectors.EVENT_READ)
        while dt is None and time.monotonic() - t0 < 20:
            if not sel.select(timeout=0.5):
                continue
            line = c.stderr.readline()
            if not line:
                break
            text += line
            if "first frame drawn" in line:
                dt = (time.monotonic() - t0) * 1000
        stop(c)
        false_msg = "host not running" in text
        false_msgs += false_msg
        if dt is None:
            print("start %2d: no frame drawn within 20 s; log:\n%s" % (i + 1, text))
            continue
        times.append(dt)
        print("start %2d: first frame drawn after %6.0f ms%s" % (i + 1, dt, "  (said 'host not running')"
                                                                 if false_msg else ""))
    if times:
        print("p50 %.0f ms, min %.0f ms, max %.0f ms over %d starts%s; 'host not running' logged in %d; load %s" %
              (statistics.median(times), min(times), max(times), len(times), " (view only)" if VIEW_ONLY else "",
               false_msgs,
               " ".join(open("/proc/loadavg").read().split()[:3])))
    return 0 if len(times) == STARTS else 1


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    try:
        sys.exit(main())
    finally:
        for p in reversed(procs):
            stop(p)
        if os.path.exists(REGION):
            os.unlink(REGION)
        shutil.rmtree(TMP, ignore_errors=True)
