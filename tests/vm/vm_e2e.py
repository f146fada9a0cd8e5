#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Real-VM end-to-end test (meson suite 'vm').

A Debian kernel boots under QEMU (TCG unless SPYGLASS_VM_ACCEL=kvm) with an ivshmem-plain device
backed by a file in /dev/shm and a bochs-display framebuffer. In the guest, sg-vm-guest proves
the BAR works both ways (probe/ack in the region's last page) and draws a known picture below the
console text; then the statically linked spyglass-host maps the IVSHMEM BAR ("-f ivshmem") and
captures /dev/fb0 with the fbdev backend. On this side: sg-vm-watch (headless subscriber) reports
the session and the frame header and saves the frame it copied; spyglass-dump reads the file
(session, heartbeat, frame header, --frame PNG); spyglass-client shows it in a window under Xvfb.
Every picture must equal the known one and QEMU's own screendump. QEMU is then killed (all three
must see the host gone) and booted again on the same file (a new session, re-attached, same checks).

Exit codes: 0 pass, 1 fail, 77 skipped (reason printed): no kernel package, no static libc, no QEMU.
"""
import argparse
import fcntl
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import vmlib
from vmlib import Fail, VmError, check, log

# Must match guest/sg-vm-guest.c.
PICTURE_TOP = 128
PICTURE_COLS, PICTURE_ROWS = 8, 4
KNOWN_COLOURS = [
    0xff0000, 0x00ff00, 0x0000ff, 0xffffff, 0x000000, 0xffff00, 0x00ffff, 0xff00ff,
    0x800000, 0x008000, 0x000080, 0x808080, 0x102030, 0x808000, 0x008080, 0x800080,
    0xff8000, 0x80ff00, 0x0080ff, 0xc0c0c0, 0x203040, 0xff0080, 0x00ff80, 0x8000ff,
    0x7f3f1f, 0x1f7f3f, 0x3f1f7f, 0x404040, 0xfefdfc, 0x010203, 0xa0b0c0, 0x5a6b7c,
]
WIDTH, HEIGHT = 1024, 768
SHM_MB = 32




# ---------------------------------------------------------------------------------------------
# Pictures


def check_known_picture(img, what):
    """Every pixel below PICTURE_TOP must be its block's colour; above it, console text."""
    w, h, rgb = img
    check((w, h) == (WIDTH, HEIGHT), f"{what}: image is {w}x{h}, expected {WIDTH}x{HEIGHT}")
    bw, bh = w // PICTURE_COLS, (h - PICTURE_TOP) // PICTURE_ROWS
    for row in range(PICTURE_ROWS):
        want = b"".join(KNOWN_COLOURS[row * PICTURE_COLS + min(x // bw, PICTURE_COLS - 1)].to_bytes(3, "big")
                        for x in range(w))
        y1 = h if row == PICTURE_ROWS - 1 else PICTURE_TOP + (row + 1) * bh
        for y in range(PICTURE_TOP + row * bh, y1):
            got = rgb[y * w * 3:(y + 1) * w * 3]
            if got != want:
                x = next(i for i in range(w) if got[i * 3:i * 3 + 3] != want[i * 3:i * 3 + 3])
                raise Fail(f"{what}: pixel ({x},{y}) is #{got[x * 3:x * 3 + 3].hex()}, "
                           f"expected #{want[x * 3:x * 3 + 3].hex()} (block {x // bw},{row})")
    # The console's first text line: light glyph pixels on black, nothing else.
    top = rgb[:16 * w * 3]
    lit = sum(1 for i in range(0, len(top), 3) if top[i:i + 3] != b"\0\0\0")
    check(200 < lit < 16 * w // 2, f"{what}: {lit} lit pixels in the first console text line; "
                                   f"expected the console text (200 .. {16 * w // 2})")
    log(f"{what}: known picture exact ({PICTURE_COLS}x{PICTURE_ROWS} blocks), console text present "
        f"({lit} lit pixels in line 1)")


def compare_images(a, b, what):
    check(a[:2] == b[:2], f"{what}: sizes differ: {a[0]}x{a[1]} vs {b[0]}x{b[1]}")
    if a[2] != b[2]:
        w = a[0]
        i = next(i for i in range(0, len(a[2]), 3) if a[2][i:i + 3] != b[2][i:i + 3])
        n = sum(1 for j in range(0, len(a[2]), 3) if a[2][j:j + 3] != b[2][j:j + 3])
        raise Fail(f"{what}: {n} pixels differ, first at ({i // 3 % w},{i // 3 // w}): "
                   f"#{a[2][i:i + 3].hex()} vs #{b[2][i:i + 3].hex()}")
    log(f"{what}: identical ({a[0]}x{a[1]})")


# ---------------------------------------------------------------------------------------------
# The region, read directly (lgmp.md §3): just enough to tell sessions and heartbeats apart
# without trusting the tools under test.


def region_session(shm):
    with open(shm, "rb") as f:
        magic, version, session, _, clock = struct.unpack("<IIIIQ", f.read(24))
    return magic == 0x504D474C and version == 6, session, clock


def heartbeat_moving(shm, window=1.3):
    _, _, c0 = region_session(shm)
    time.sleep(window)
    _, _, c1 = region_session(shm)
    return c1 != c0


# ---------------------------------------------------------------------------------------------
# Programs under test


def build_static_host(source_root, build_root, main_host):
    """A statically linked spyglass-host: the main build's when it is static, else a lean static
    build next to it. Returns (path or None, reason)."""
    if main_host and os.path.exists(main_host) and vmlib.is_static_elf(main_host):
        return main_host, "main build"
    sdir = os.path.join(build_root, "vm-static-host")
    opts = ["-Dstatic_host=true", "-Dclient=disabled", "-Dspice=disabled", "-Dtests=disabled",
            "-Dvm_tests=false", "-Dx11=disabled", "-Dbuildtype=release"]
    logf = os.path.join(build_root, "meson-logs", "vm-static-host.log")
    os.makedirs(os.path.dirname(logf), exist_ok=True)
    # The vm tests run in parallel and share this build: one test's ninja relinked the host while
    # another read it ("dynamically linked" of a half-written file). One builder at a time.
    with open(os.path.join(build_root, "vm-static-host.lock"), "w") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)
        return _build_static_host_locked(source_root, sdir, opts, logf)


def _build_static_host_locked(source_root, sdir, opts, logf):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MESON")}
    with open(logf, "w") as out:
        if not os.path.exists(os.path.join(sdir, "build.ninja")):
            r = subprocess.run(["meson", "setup", sdir, source_root] + opts, stdout=out, stderr=out, env=env)
            if r.returncode:
                raise Fail(f"meson setup of the static host in {sdir} failed; see {logf}")
        r = subprocess.run(["nice", "ninja", "-C", sdir], stdout=out, stderr=out, env=env)
    if r.returncode:
        raise Fail(f"static host build in {sdir} failed; see {logf}")
    host = os.path.join(sdir, "host", "spyglass-host")
    if not os.path.exists(host):
        return None, f"the static build in {sdir} produced no host/spyglass-host"
    if not vmlib.is_static_elf(host):
        raise Fail(f"{host} is dynamically linked although -Dstatic_host=true")
    return host, f"static build in {sdir}"


def run_dump(exe, shm, *args, timeout=30):
    r = subprocess.run([exe, *args, shm], capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def check_dump_frame(text, session, n):
    """spyglass-dump's view of a live region: our session, ticking, a BGRA WxH frame."""
    what = f"boot{n} spyglass-dump"
    check(re.search(rf"^lgmp: magic LGMP, version 6, session 0x{session:08x}\b", text, re.M),
          f"{what}: no 'lgmp: ... session 0x{session:08x}' line in:\n{text}")
    check(re.search(r"^heartbeat: \d+ ms, ticking", text, re.M), f"{what}: heartbeat not ticking in:\n{text}")
    check(re.search(r"^kvmfr: magic KVMFR---, version 20\b", text, re.M), f"{what}: no KVMFR v20 header")
    check(re.search(r"^frame: .*type BGRA \(1\)", text, re.M), f"{what}: frame type not BGRA (1) in:\n{text}")
    want = (f"frame: screen {WIDTH}x{HEIGHT}, data {WIDTH}x{HEIGHT}, frame {WIDTH}x{HEIGHT}, "
            f"stride {WIDTH}, pitch {WIDTH * 4}")
    check(want in text, f"{what}: no '{want}' in:\n{text}")
    log(f"{what}: session 0x{session:08x} ticking, KVMFR 20, BGRA {WIDTH}x{HEIGHT} pitch {WIDTH * 4}")


class Client:
    """spyglass-client in a real window under its own Xvfb (Mesa software GL), watched through its
    stats file and screenshots of the X screen."""

    def __init__(self, exe, shm, work, xvfb_launcher):
        self.exe, self.shm, self.work, self.xvfb_launcher = exe, shm, work, xvfb_launcher
        self.stats = os.path.join(work, "client.stats")
        self.log_path = os.path.join(work, "client.log")
        self.xvfb = self.proc = None
        self.name = "client"

    def start(self):
        # tests/common/sg-xvfb bounds the start and stops its Xvfb when this test dies, even by SIGKILL
        self.xvfb = subprocess.Popen([self.xvfb_launcher, "1280x1024"], stdout=subprocess.PIPE, text=True,
                                     start_new_session=True)
        num = self.xvfb.stdout.readline().strip()
        check(num, "Xvfb did not start (sg-xvfb's message above)")
        self.display = ":" + num
        env = dict(os.environ, DISPLAY=self.display, LIBGL_ALWAYS_SOFTWARE="1")
        env.pop("WAYLAND_DISPLAY", None)
        self.logf = open(self.log_path, "w")
        self.proc = subprocess.Popen(vmlib.with_parent([self.exe, "-f", self.shm, "--stats-file", self.stats,
                                                        "win:x=0", "win:y=0", "app:retryMs=200",
                                                        "win:filter=nearest", "win:vsync=no"]),
                                     env=env, stdout=self.logf, stderr=subprocess.STDOUT, start_new_session=True)
        log(f"client: {self.exe} on Xvfb {self.display}")

    def read_stats(self):
        try:
            with open(self.stats) as f:
                return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        except FileNotFoundError:
            return {}

    def wait(self, pred, what, timeout):
        deadline, st = time.monotonic() + timeout, {}
        while time.monotonic() < deadline:
            check(self.proc.poll() is None, f"client exited ({self.proc.returncode}) waiting for {what}; "
                                            f"log:\n{self.logtext()}")
            st = self.read_stats()
            try:
                if st and pred(st):
                    return st
            except (KeyError, ValueError):
                pass
            time.sleep(0.1)
        raise Fail(f"client: timeout waiting for {what}; stats {st}; log:\n{self.logtext()}")

    def logtext(self):
        self.logf.flush()
        return open(self.log_path).read()[-3000:]

    def screenshot(self):
        out = subprocess.run(["import", "-display", self.display, "-window", "root", "-depth", "8", "ppm:-"],
                             capture_output=True, check=True, timeout=30).stdout
        path = os.path.join(self.work, "client-shot.ppm")
        open(path, "wb").write(out)
        return vmlib.read_ppm(path)

    def check_window(self, screen, n):
        """The window at (0,0) must show the guest frame 1:1: the known picture and QEMU's screendump."""
        deadline, last = time.monotonic() + 20, None
        while time.monotonic() < deadline:
            w, h, rgb = self.screenshot()
            crop = b"".join(rgb[y * w * 3:(y * w + WIDTH) * 3] for y in range(HEIGHT))
            try:
                check_known_picture((WIDTH, HEIGHT, crop), f"boot{n} client window (Xvfb screenshot)")
                compare_images((WIDTH, HEIGHT, crop), screen, f"boot{n} client window vs QEMU screendump")
                return
            except Fail as e:
                last = e
            time.sleep(0.5)
        raise last

    def stop(self):
        rc = None
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                rc = self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.xvfb and self.xvfb.poll() is None:
            self.xvfb.terminate()
            self.xvfb.wait(10)
        return rc


# ---------------------------------------------------------------------------------------------


class Test:
    def __init__(self, a):
        self.a = a
        self.pid = os.getpid()
        self.work = tempfile.mkdtemp(prefix=f"spyglass-vm-{self.pid}-")
        self.shm = f"/dev/shm/spyglass-vm-test-{self.pid}"
        self.vms = []
        self.watch = None
        self.client = None
        self.timings = {}

    def cleanup(self):
        # all children get SIGTERM at once: after a timeout meson waits only 0.5 s before SIGKILL
        procs = [vm.proc for vm in self.vms] + [x.proc for x in (self.watch, self.client) if x]
        if self.client:
            procs.append(self.client.xvfb)
        for p in procs:
            if p and p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except OSError:
                    pass
        if os.path.exists(self.shm):
            os.unlink(self.shm)
        for vm in self.vms:
            vm.kill()
        if self.watch:
            self.watch.stop()
        if self.client:
            self.client.stop()
        if os.path.exists(self.shm):
            os.unlink(self.shm)
        if self.a.keep:
            log(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def boot(self, n, kernel, host):
        nonce = f"{self.pid}-{n}"
        initrd = os.path.join(self.work, f"initrd{n}.cpio")
        vmlib.build_initrd(initrd, kernel, self.a.guest, host, self.a.host_args, nonce)
        vm = vmlib.Vm(kernel, initrd, self.shm, SHM_MB, self.work, name=f"boot{n}", width=WIDTH, height=HEIGHT)
        self.vms.append(vm)
        vm.start()
        m = vmlib.ack_probe(vm, self.shm, nonce, timeout=90)
        check(int(m.group(2)) == SHM_MB << 20, f"boot{n}: guest BAR2 is {m.group(2)} bytes, expected {SHM_MB << 20}")
        m, t, _ = vm.wait_line(r"sg-vm: fb (\d+)x(\d+) bpp=(\d+) pitch=(\d+) red=16/8 green=8/8 blue=0/8", 30)
        check((int(m.group(1)), int(m.group(2)), int(m.group(4))) == (WIDTH, HEIGHT, WIDTH * 4),
              f"boot{n}: guest framebuffer {m.group(0)}")
        _, t, _ = vm.wait_line(r"sg-vm: picture drawn", 30)
        self.timings[f"boot{n} picture drawn"] = t
        log(f"boot{n}: guest picture drawn {t:.2f} s after QEMU started ({vm.accel})")
        # DRM's fbdev emulation copies the guest's drawing to the device's memory a little later
        # (deferred I/O), so QEMU's view may lag behind /dev/fb0 briefly.
        deadline = time.monotonic() + 15
        while True:
            img = vmlib.read_ppm(vm.screendump(os.path.join(self.work, f"screendump{n}.ppm")))
            try:
                check_known_picture(img, f"boot{n} QEMU screendump")
                return vm, img
            except Fail:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def run(self):
        t_start = time.monotonic()
        a = self.a
        try:
            kernel = vmlib.prepare_kernel()
        except vmlib.Skip as e:
            print(f"SKIP: {e}")
            return vmlib.SKIP
        log(f"kernel {kernel}")
        self.timings["kernel ready"] = time.monotonic() - t_start
        host, why = build_static_host(a.source_root, a.build_root, a.main_host)
        log(f"spyglass-host: {host or 'none'} ({why})")
        self.timings["static host ready"] = time.monotonic() - t_start
        vmlib.create_shm(self.shm, SHM_MB << 20)

        if not host or not os.path.exists(a.dump):
            self.boot(1, kernel, None)
            missing = "spyglass-host" if not host else f"spyglass-dump ({a.dump})"
            log(f"VM harness passed (IVSHMEM both ways, guest picture exact) in "
                f"{time.monotonic() - t_start:.1f} s")
            print(f"SKIP: {missing} not available, so the Spyglass part was not run ({why})")
            return vmlib.SKIP

        # The subscriber is there before the host: it must notice the first session by itself.
        self.watch = vmlib.Lines("watch", os.path.join(self.work, "watch.log"))
        self.watch.spawn([a.watch, "--png-dir", self.work, self.shm])
        self.watch.wait_line(r"watch: (waiting for a host|mapped)", 10)
        client_missing = None
        if a.client and os.path.exists(a.client) and shutil.which("Xvfb") and shutil.which("import"):
            self.client = Client(a.client, self.shm, self.work,
                                 os.path.join(a.build_root, "tests", "common", "sg-xvfb"))
            self.client.start()
        else:
            # the rest still runs and can fail; only a full run may pass
            client_missing = f"{a.client or 'spyglass-client'} not built, or Xvfb/ImageMagick missing"
            log(f"client part not run: {client_missing}")

        vm, screen = self.boot(1, kernel, host)
        session1 = self.check_frames(1, vm, screen, mark=0)

        # Host gone: kill QEMU outright, as a crashed VM would.
        mark = self.watch.mark()
        vm.kill()
        t_kill = time.monotonic()
        log("boot1: QEMU killed")
        m, _, _ = self.watch.wait_line(r"watch: host gone: session 0x([0-9a-f]{8}) \((.*)\)", 10, mark)
        check(int(m.group(1), 16) == session1, f"watcher ended session {m.group(1)}, expected {session1:08x}")
        check("heartbeat stale" in m.group(2), f"watcher gave '{m.group(2)}' as the reason, expected the heartbeat")
        log(f"watcher: host gone {time.monotonic() - t_kill:.2f} s after the kill ({m.group(2)})")
        check(not heartbeat_moving(self.shm), "heartbeat still moving after QEMU was killed")
        rc, text = run_dump(a.dump, self.shm)
        check(re.search(r"^heartbeat: \d+ ms, not ticking", text, re.M),
              f"spyglass-dump does not report the host stopped after QEMU was killed:\n{text}")
        log("spyglass-dump after the kill: heartbeat not ticking")
        if self.client:
            st = self.client.wait(lambda s: s["state"] != "running", "the client to notice the host is gone", 15)
            log(f"client after the kill: state {st['state']}, message '{st.get('message', '')}', "
                f"{time.monotonic() - t_kill:.2f} s after the kill")
            restarts = int(st["restarts"])

        vm, screen = self.boot(2, kernel, host)
        session2 = self.check_frames(2, vm, screen, mark=mark)
        check(session2 != session1, f"boot2 reuses session id {session1:#x}")
        log(f"watcher re-attached to the new session: 0x{session1:08x} -> 0x{session2:08x}")
        if self.client:
            st = self.client.read_stats()
            check(int(st["restarts"]) > restarts, f"client restarts {st['restarts']} after reboot, was {restarts}")
            log(f"client re-attached (restarts {restarts} -> {st['restarts']}), state {st['state']}")
            rc = self.client.stop()
            check(rc == 0, f"client exit status {rc} on SIGTERM; log:\n{self.client.logtext()}")
            self.client = None
        vm.kill()
        self.timings["total"] = time.monotonic() - t_start
        log("timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in self.timings.items()))
        if client_missing:
            print(f"SKIP: everything else passed, but the client part was not run ({client_missing})")
            return vmlib.SKIP
        return 0

    def check_frames(self, n, vm, screen, mark):
        m, _, i = self.watch.wait_line(r"watch: session 0x([0-9a-f]{8}) attached", 120, mark)
        session = int(m.group(1), 16)
        m, _, _ = self.watch.wait_line(
            r"watch: frame session 0x([0-9a-f]{8}) serial \d+ type (\S+) screen (\d+x\d+) frame (\d+x\d+) "
            r"data (\d+x\d+) pitch (\d+) flags (0x[0-9a-f]+) rows (\d+)/(\d+)(.*)", 60, i)
        self.timings[f"boot{n} first frame"] = time.monotonic() - vm.t0
        log(f"boot{n}: first frame in the watcher {time.monotonic() - vm.t0:.2f} s after QEMU started: {m.group(0)}")
        size = f"{WIDTH}x{HEIGHT}"
        check(int(m.group(1), 16) == session, f"boot{n}: frame from session {m.group(1)}, attached {session:08x}")
        check(m.group(2) == "BGRA", f"boot{n}: frame type {m.group(2)}, expected BGRA")
        check(m.group(3) == m.group(4) == m.group(5) == size, f"boot{n}: frame sizes {m.group(0)}, expected {size}")
        check(int(m.group(6)) == WIDTH * 4, f"boot{n}: pitch {m.group(6)}, expected {WIDTH * 4}")
        check(m.group(8) == m.group(9) and not m.group(10), f"boot{n}: frame copy incomplete: {m.group(0)}")
        m, _, _ = self.watch.wait_line(rf"watch: wrote (\S+frame-{session:08x}\.png)", 30, i)
        check_known_picture(vmlib.read_png(m.group(1)), f"boot{n} frame copied by the watcher")

        valid, region_sess, _ = region_session(self.shm)
        check(valid and region_sess == session, f"boot{n}: region header session {region_sess:#x}, "
                                                f"watcher attached {session:#x}")
        png = os.path.join(self.work, f"dump{n}.png")
        rc, text = run_dump(self.a.dump, self.shm, "--frame", png)
        check(rc == 0, f"boot{n}: spyglass-dump exit {rc}:\n{text}")
        check_dump_frame(text, session, n)
        img = vmlib.read_png(png)
        check_known_picture(img, f"boot{n} frame from spyglass-dump --frame")
        compare_images(img, screen, f"boot{n} spyglass-dump frame vs QEMU screendump")
        if self.client:
            st = self.client.wait(lambda s: s["state"] == "running" and int(s["frames"]) >= 1 and
                                  s["guest"] == f"{WIDTH}x{HEIGHT}", f"boot{n} frames in the client", 60)
            check(st["format"] == "BGRA", f"boot{n}: client reports format {st['format']}")
            log(f"boot{n}: client running: guest {st['guest']} {st['format']}, window {st.get('window')}, "
                f"frames {st['frames']}, host '{st.get('host_version')}'")
            self.client.check_window(screen, n)
        return session


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--guest", help="static sg-vm-guest")
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--build-root", required=True)
    ap.add_argument("--main-host", help="the main build's spyglass-host (used when static)")
    ap.add_argument("--dump", help="spyglass-dump")
    ap.add_argument("--watch", help="sg-vm-watch (headless subscriber)")
    ap.add_argument("--client", help="spyglass-client")
    ap.add_argument("--host-args", default="-f ivshmem -c fbdev")
    ap.add_argument("--skip", help="skip with this reason")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (images, serial logs)")
    return vmlib.run_test(ap.parse_args(), Test, ("qemu-system-x86_64", "depmod", "dpkg", "readelf"),
                          "scripts/deps.sh installs the VM group",
                          lambda t: t.vms + [x for x in (t.watch, t.client) if x], 3000)


if __name__ == "__main__":
    # meson's timeout sends SIGTERM: leave through main()'s cleanup (children, region, work folder)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
