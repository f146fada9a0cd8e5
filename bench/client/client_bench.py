#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""spyglass-client benchmark under Xvfb with Mesa's software renderer.

Feeds the client 1920x1080 BGRA frames from sg-client-testhost and prints:
  - sustained UPS / FPS with whole frames (damage_count 0) and with a small
    damaged rectangle, at the requested host rate;
  - frame age: received (the LGMP message seen) -> drawn (after glFinish);
  - the client's CPU use with a still guest (no frames, no cursor moves);
  - a memcpy of the same 8 MiB frame, as the yardstick for the copy.

Usage: client_bench.py BUILD_DIR [SECONDS] [RATE]
"""
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import time

BUILD = sys.argv[1]
SECS = float(sys.argv[2]) if len(sys.argv) > 2 else 8
RATE = int(sys.argv[3]) if len(sys.argv) > 3 else 120
CLIENT = os.path.join(BUILD, "client", "spyglass-client")
HOST = os.path.join(BUILD, "tests", "client", "sg-client-testhost")
REGION = "/dev/shm/sgc-bench-%d" % os.getpid()
TMP = tempfile.mkdtemp(prefix="sgc-bench-")
procs = []


def stats(path):
    with open(path) as f:
        return dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l)


def cpu_s(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memcpy_ms(n, reps=20):
    libc = ctypes.CDLL(None)
    a, b = ctypes.create_string_buffer(n), ctypes.create_string_buffer(n)
    libc.memcpy(b, a, n)
    t = time.perf_counter()
    for _ in range(reps):
        libc.memcpy(b, a, n)
    return (time.perf_counter() - t) / reps * 1000


def main():
    # tests/common/sg-xvfb bounds the start and takes the server down with this process
    x = subprocess.Popen([os.path.join(BUILD, "tests", "common", "sg-xvfb"), "2048x1200"], stdout=subprocess.PIPE,
                         text=True)
    procs.append(x)
    num = x.stdout.readline().strip()
    if not num:
        sys.exit("Xvfb did not start (sg-xvfb's message above)")
    disp = ":" + num
    env = dict(os.environ, DISPLAY=disp, LIBGL_ALWAYS_SOFTWARE="1", SPYGLASS_NO_USER_CONFIG="1")
    host = subprocess.Popen([HOST, "-f", REGION, "-s", "64"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, bufsize=1)
    procs.append(host)
    assert host.stdout.readline().strip() == "ready"

    def cmd(c):
        host.stdin.write(c + "\n")
        host.stdin.flush()
        return host.stdout.readline().strip()

    st = os.path.join(TMP, "stats")
    helptext = subprocess.run([CLIENT, "--help"], capture_output=True, text=True).stdout
    extra = ["spice:enable=no"] if "spice:enable" in helptext else []
    client = subprocess.Popen([CLIENT, "-f", REGION, "--stats-file", st, "win:vsync=no", "win:x=0", "win:y=0",
                               "app:retryMs=100"] + extra, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(client)
    cmd("frame 1920 1080")
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            if stats(st).get("guest") == "1920x1080":
                break
        except FileNotFoundError:
            pass
        time.sleep(0.2)

    print("spyglass-client benchmark: 1920x1080 BGRA, Xvfb + Mesa llvmpipe, vsync off, host rate %d/s, %.0f s each"
          % (RATE, SECS))
    for label, full in (("whole frames", 1), ("16x16 damage", 0)):
        cmd("stream %d %d" % (RATE, full))
        time.sleep(2.5)
        s0, c0, t0 = stats(st), cpu_s(client.pid), time.time()
        ages, ups_ms, draw_ms = [], [], []
        while time.time() - t0 < SECS:
            time.sleep(1)
            cur = stats(st)
            ages.append(float(cur["frame_age_ms"]))
            ups_ms.append(float(cur["upload_ms"]))
            draw_ms.append(float(cur["draw_ms"]))
        s1, c1, t1 = stats(st), cpu_s(client.pid), time.time()
        cmd("stream 0")
        ups = (int(s1["frames"]) - int(s0["frames"])) / (t1 - t0)
        fps = (int(s1["draws"]) - int(s0["draws"])) / (t1 - t0)
        age = sum(ages) / len(ages)
        print("  %-13s UPS %6.1f  FPS %6.1f  received->drawn(glFinish) %6.2f ms (max of 1 s means %6.2f)  "
              "client CPU %5.1f%%" % (label, ups, fps, age, max(ages), (c1 - c0) / (t1 - t0) * 100))
        print("  %-13s of which: copy+upload %5.2f ms, draw+swap+glFinish %5.2f ms per frame"
              % ("", sum(ups_ms) / len(ups_ms), sum(draw_ms) / len(draw_ms)))
        time.sleep(1.5)

    time.sleep(1.5)
    c0, t0 = cpu_s(client.pid), time.time()
    time.sleep(SECS)
    c1, t1 = cpu_s(client.pid), time.time()
    print("  still guest: client CPU %.2f%% of one core over %.0f s" % ((c1 - c0) / (t1 - t0) * 100, t1 - t0))
    m = memcpy_ms(1920 * 1080 * 4)
    print("  memcpy of one 1920x1080x4 frame: %.2f ms (the copy into the pixel buffer is one such pass)" % m)


if __name__ == "__main__":
    try:
        main()
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        if os.path.exists(REGION):
            os.unlink(REGION)
        import shutil
        shutil.rmtree(TMP, ignore_errors=True)
