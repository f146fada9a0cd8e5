#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The whole input loop in a real VM (meson suite 'vm', test vm-input). One boot for every check.

  spyglass-client (Xvfb, driven with XTest) --SPICE, unix socket--> QEMU's own SPICE server
  --> QEMU's PS/2 keyboard and mouse --> the guest kernel (i8042, atkbd, psmouse, evdev)
  --> sg-vm-input (guest/sg-vm-input.c: a desktop's part: acceleration 2/1/4, the cursor on the
  KMS cursor plane of virtio-gpu-pci, every event logged on the serial console)
  --> spyglass-host -f ivshmem -c kms (cursor plane -> cursor queue) --> the region --> the client.

Checks, in order:
  - the client starts before QEMU: it names the SPICE socket it tried, says it is view only and
    retrying; once QEMU is up it connects by itself (retrying works);
  - the kms host does not offer SET_CURSOR_POS (features 0) and the client never sends it;
  - pointer: enters the window, moves in steps, jumps, moves by single pixels: after each, the guest's
    cursor (as sg-vm-input reports it, and as the cursor queue carries it to sg-vm-watch) ends within
    1 px of the client's pointer (window 1:1 at 0,0), despite the guest's acceleration; clicks arrive;
  - the client's drawn cursor in a screenshot is where the guest says its cursor is;
  - keys: typed in order with their Linux codes, E0-prefixed ones included, modifiers held around
    keys; a held key repeats in the guest; a key held when focus leaves is released; none stuck;
  - capture mode (Scroll Lock): raw XTest motion reaches the guest unscaled; a long move leaves the
    local pointer inside the window; releasing puts the local pointer on the guest cursor.

--bench N (bench/vm/input_loop.sh): no checks; the guest does not accelerate, and N pointer moves are
timed on this side: XTest motion -> the guest's motion line on the serial console (the guest's cursor
plane moved) -> the cursor queue (sg-vm-watch) -> the client's window showing the cursor there;
p50/p99 printed (no assertion).

Exit codes: 0 pass, 1 fail, 77 skipped (reason printed).
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import vmlib
from vmlib import Fail, VmError, check, log

SHM_MB = 32
WIDTH, HEIGHT = 1024, 768
ACCEL = (2, 1, 4)          # sg-vm-input: |dx|+|dy| > 4 -> x2 (the X server's default)
# The bench times one hop (the first motion lands on the target): no acceleration there.
BENCH_ACCEL = (1, 1, 0)
CURSOR_RGB = b"\xff\x00\xff"  # guest/sg-vm-input.c CURSOR_COLOUR, a 12x12 square at the hotspot
SQUARE = 12
MOTION = re.compile(r"sg-input: motion raw (-?\d+),(-?\d+) pos (\d+),(\d+)")
KEY = re.compile(r"sg-input: (key|button) (\d+) (down|up|repeat)")
# Linux input codes (linux/input-event-codes.h)
KEY_CODES = {"Shift_L": 42, "Shift_R": 54, "Control_L": 29, "Control_R": 97, "Alt_L": 56, "a": 30, "b": 48,
             "z": 44, "1": 2, "Return": 28, "Left": 105, "Right": 106, "Up": 103, "Down": 108, "Home": 102,
             "End": 107, "Insert": 110, "Delete": 111, "Prior": 104, "Next": 109, "KP_Enter": 96,
             "KP_Divide": 98, "KP_1": 79, "Super_L": 125, "Alt_R": 100}
# Keys whose set-1 scancodes carry the E0 prefix (two bytes per press or release).
E0_KEYS = {"Control_R", "Left", "Right", "Up", "Down", "Home", "End", "Insert", "Delete", "Prior", "Next",
           "KP_Enter", "KP_Divide", "Super_L", "Alt_R"}
# QEMU's PS/2 keyboard queue holds 16 bytes and drops what does not fit: a guest that stalls (TCG on a
# loaded machine) while more arrives loses keys, as real PS/2 hardware would. Keys go out in bursts
# of at most this many bytes, each after the guest has read the previous one.
PS2_QUEUE = 16




def near(a, b, tol=1):
    return abs(a[0] - b[0]) <= tol and abs(a[1] - b[1]) <= tol


class Client(vmlib.Lines):
    """spyglass-client on its own Xvfb; its log is followed line by line."""

    def __init__(self, a, work, shm, sock):
        super().__init__("client", os.path.join(work, "client.log"))
        self.a, self.work, self.shm, self.sock = a, work, shm, sock
        self.stats = os.path.join(work, "client.stats")
        self.xvfb = None

    def start(self):
        # tests/common/sg-xvfb bounds the start and stops its Xvfb when this test dies, even by SIGKILL
        launcher = os.path.join(self.a.build_root, "tests", "common", "sg-xvfb")
        self.xvfb = subprocess.Popen([launcher, "1280x1024", "--", "-noreset"], stdout=subprocess.PIPE, text=True,
                                     start_new_session=True)
        num = self.xvfb.stdout.readline().strip()
        check(num, "Xvfb did not start (sg-xvfb's message above)")
        self.display = ":" + num
        # the pointer starts outside the window: the first move into it is an enter
        self.x("move", 1200, 1000)
        env = dict(os.environ, DISPLAY=self.display, LIBGL_ALWAYS_SOFTWARE="1", SPYGLASS_INPUT_DEBUG="1")
        env.pop("WAYLAND_DISPLAY", None)
        self.spawn([self.a.client, "-f", self.shm, f"spice:unix={self.sock}", "--stats-file", self.stats,
                    "win:x=0", "win:y=0", "win:width=1024", "win:height=768", "app:retryMs=200",
                    "win:filter=nearest", "win:vsync=no", "spice:clipboard=no"], env=env)
        log(f"client: {self.a.client} on Xvfb {self.display}")

    def x(self, *args):
        """spyglass-xprobe on the client's display: XTest input, pointer position."""
        r = subprocess.run([self.a.xprobe] + [str(v) for v in args], env=dict(os.environ, DISPLAY=self.display),
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, f"xprobe {' '.join(map(str, args))}: {r.stderr.strip()}")
        return r.stdout

    def pointer(self):
        x, y, _ = self.x("pointer").split()
        return int(x), int(y)

    def read_stats(self):
        try:
            with open(self.stats) as f:
                return dict(line.rstrip("\n").split("=", 1) for line in f if "=" in line)
        except FileNotFoundError:
            return {}

    def wait_stats(self, pred, what, timeout):
        deadline, st = time.monotonic() + timeout, {}
        while time.monotonic() < deadline:
            check(self.running(), f"client exited waiting for {what}")
            st = self.read_stats()
            try:
                if st and pred(st):
                    return st
            except (KeyError, ValueError):
                pass
            time.sleep(0.1)
        raise Fail(f"client: timeout ({timeout} s) waiting for {what}; stats {st}")

    def screenshot(self, path):
        out = subprocess.run(["import", "-display", self.display, "-window", "root", "-depth", "8", "ppm:-"],
                             capture_output=True, check=True, timeout=30).stdout
        open(path, "wb").write(out)
        return vmlib.read_ppm(path)

    def stop(self):
        super().stop()
        if self.xvfb and self.xvfb.poll() is None:
            self.xvfb.terminate()
            self.xvfb.wait(10)


class Test:
    def __init__(self, a):
        self.a = a
        self.pid = os.getpid()
        self.work = tempfile.mkdtemp(prefix=f"spyglass-vm-input-{self.pid}-")
        self.shm = f"/dev/shm/spyglass-vm-input-{self.pid}"
        self.sock = os.path.join(self.work, "spice.sock")
        self.procs = []
        self.vm = self.watch = self.client = None
        self.timings = {}

    def cleanup(self):
        for p in self.procs:
            if p.proc and p.proc.poll() is None:
                try:
                    os.killpg(p.proc.pid, signal.SIGTERM)
                except OSError:
                    pass
        for p in self.procs:
            p.stop(signal.SIGKILL) if isinstance(p, vmlib.Vm) else p.stop()
        if os.path.exists(self.shm):
            os.unlink(self.shm)
        if self.a.keep:
            log(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    # -- what the guest and the cursor queue say ----------------------------------------------------

    def guest_pos(self):
        """The guest cursor's last position (sg-vm-input's latest motion line, or its ready line)."""
        with self.vm.cond:
            for _, t in reversed(self.vm.lines):
                m = MOTION.search(t)
                if m:
                    return int(m.group(3)), int(m.group(4))
                m = re.search(r"sg-input: ready .* at (\d+),(\d+)", t)
                if m:
                    return int(m.group(1)), int(m.group(2))
        return None

    def queue_pos(self):
        with self.watch.cond:
            for _, t in reversed(self.watch.lines):
                m = re.search(r"watch: cursor visible pos (-?\d+),(-?\d+)", t)
                if m:
                    return int(m.group(1)), int(m.group(2))
        return None

    def expect_cursor(self, want, what, timeout=30, quiet=False):
        """The guest cursor, the cursor queue and the client's pointer all end within 1 px of want."""
        deadline = time.monotonic() + timeout
        while True:
            g, q = self.guest_pos(), self.queue_pos()
            if g and q and near(g, want) and near(q, g, 0):
                break
            if time.monotonic() > deadline:
                with self.client.cond:
                    acts = [t for _, t in self.client.lines if "input:" in t][-12:]
                raise Fail(f"{what}: guest cursor at {g}, cursor queue {q}, expected {want} (+-1 px); "
                           f"the client's last actions:\n  " + "\n  ".join(acts))
            time.sleep(0.05)
        local = self.client.pointer()
        check(local == want, f"{what}: the client's pointer is at {local}, expected {want}")
        if not quiet:
            log(f"{what}: guest cursor {g}, cursor queue {q}, client pointer {local}")
        return g

    def move(self, path, what):
        for x, y in path:
            self.client.x("move", x, y)
        return self.expect_cursor(path[-1], what)

    def guest_keys(self, start):
        with self.vm.cond:
            return [(m.group(1), int(m.group(2)), m.group(3)) for m in
                    (KEY.search(t) for _, t in self.vm.lines[start:]) if m]

    # -- the run -------------------------------------------------------------------------------------

    def run(self):
        t0 = time.monotonic()
        a = self.a
        try:
            kernel = vmlib.prepare_kernel()
        except vmlib.Skip as e:
            print(f"SKIP: {e}")
            return vmlib.SKIP
        missing = [k for k in ("virtio-gpu-pci", "input") if k not in kernel.module_sets]
        if missing:
            print(f"SKIP: the cached kernel {kernel} has no modules for {missing} and could not be upgraded")
            return vmlib.SKIP
        import vm_e2e  # the static host build is shared with vm-e2e
        host, why = vm_e2e.build_static_host(a.source_root, a.build_root, a.main_host)
        if not host:
            print(f"SKIP: no static spyglass-host ({why})")
            return vmlib.SKIP
        r = subprocess.run([host, "--help"], capture_output=True, text=True)
        if not re.search(r"^\s*kms\s", r.stdout, re.M):
            print(f"SKIP: {host} ({why}) was built without the kms backend (libdrm missing?)")
            return vmlib.SKIP
        log(f"kernel {kernel}; spyglass-host {host} ({why})")

        # Without its input modules the guest program must say which devices it expected.
        empty = os.path.join(self.work, "no-input")
        os.makedirs(empty)
        r = subprocess.run([a.input_guest, "/nonexistent-card", "2/1/4", empty, "0"], capture_output=True, text=True,
                           timeout=30)
        for dev, needs in (("keyboard", "KEY_A and KEY_ENTER, the PS/2 keyboard (i8042 + atkbd, and evdev.ko"),
                           ("mouse", "REL_X, REL_Y and BTN_LEFT, the PS/2 mouse (psmouse.ko on the i8042 AUX port, "
                                     "and evdev.ko")):
            want = f"sg-input: FAILED no {dev} after 0 s: expected an evdev device {empty}/eventN with {needs}"
            check(r.returncode == 1 and want in r.stdout, f"sg-vm-input without devices: exit {r.returncode}, said:\n"
                                                          f"{r.stdout}{r.stderr}\nexpected a line with '{want}'")
        log("without input devices sg-vm-input names both it expected: " + r.stdout.splitlines()[-1][:120] + "...")

        # The client first, as a user would start it before the VM: no SPICE socket yet.
        vmlib.create_shm(self.shm, SHM_MB << 20)
        self.client = Client(a, self.work, self.shm, self.sock)
        self.procs.append(self.client)
        self.client.start()
        m, _, _ = self.client.wait_line(r"spice: SPICE server at (\S+) is down \((.*)\); input is not sent, "
                                        r"retrying every (\d+) ms", 30)
        check(m.group(1) == f"unix:{self.sock}", f"the client names {m.group(1)}, expected unix:{self.sock}")
        check("No such file" in m.group(2) or "connect" in m.group(2), f"the client gives '{m.group(2)}' as the reason")
        self.client.wait_line(r"SPICE server not reachable: view only, retrying", 10)
        log(f"no SPICE socket yet: the client said '{m.group(0)}' and goes on view only")
        # a socket nobody listens on (a QEMU that died): refused, and the client says so
        mark = self.client.mark()
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(self.sock)
        stale.close()
        m, _, _ = self.client.wait_line(r"spice: SPICE server at (\S+) is still down, now: (.*); retrying", 30, mark)
        check(m.group(1) == f"unix:{self.sock}" and "refused" in m.group(2),
              f"with a stale socket the client said '{m.group(0)}'")
        log(f"a stale SPICE socket: the client said '{m.group(0)}'")
        os.unlink(self.sock)

        self.watch = vmlib.Lines("watch", os.path.join(self.work, "watch.log"))
        self.procs.append(self.watch)
        frames = os.path.join(self.work, "watch")  # --every-frame: every cursor message printed
        os.makedirs(frames)
        self.watch.spawn([a.watch, "--every-frame", frames, self.shm])
        self.watch.wait_line(r"watch: (waiting for a host|mapped)", 10)

        nonce = f"{self.pid}-input"
        initrd = os.path.join(self.work, "initrd.cpio")
        accel = "/".join(map(str, BENCH_ACCEL if a.bench else ACCEL))
        vmlib.build_initrd(initrd, kernel, a.guest, host, "-f ivshmem -c kms", nonce,
                           modules=kernel.module_sets["virtio-gpu-pci"] + kernel.module_sets["input"],
                           extra_bins=[a.input_guest], mode="input", extra_conf={"INPUT_ARGS": accel})
        self.vm = vmlib.Vm(kernel, initrd, self.shm, SHM_MB, self.work, name="vm-input", gpu="virtio-gpu-pci",
                           spice_socket=self.sock)
        self.procs.append(self.vm)
        self.vm.start()
        m, t, _ = self.client.wait_line(r"spice: connected to (\S+)", 60)
        check(m.group(1) == f"unix:{self.sock}", f"connected to {m.group(1)}")
        log(f"the client connected by itself to QEMU's SPICE server once it was up ({t:.1f} s after it started)")
        vmlib.ack_probe(self.vm, self.shm, nonce, timeout=120)
        m, t, _ = self.vm.wait_line(r"sg-input: (ready .*|FAILED.*)", 90)
        check(m.group(1).startswith("ready"), f"guest: {m.group(0)}")
        log(f"guest {m.group(0)} ({t:.1f} s after QEMU started)")
        self.timings["boot"] = t
        # a window manager would give the window the focus (SDL ignores PointerRoot focus)
        self.client.x("focusat", 10, 10)
        self.watch.wait_line(r"watch: session 0x[0-9a-f]{8} attached: .*capture \"KMS\"", 60)
        self.watch.wait_line(r"watch: cursor visible pos", 60)
        st = self.client.wait_stats(lambda s: s["state"] == "running" and s["guest"] == f"{WIDTH}x{HEIGHT}" and
                                    s["cursor"].endswith(",1"), "the guest's picture and cursor in the client", 60)
        check(st["features"] == "0", f"the kms host offers features {st['features']}, expected 0 (no SET_CURSOR_POS)")
        log(f"client: guest {st['guest']}, host features {st['features']} (no SET_CURSOR_POS), cursor {st['cursor']}")

        if not a.bench:
            self.pointer_checks()
            self.key_checks()
            self.capture_checks()
            with self.client.cond:
                setpos = [t for _, t in self.client.lines if "set-pos" in t]
            check(not setpos, f"the client sent SET_CURSOR_POS to a host that does not offer it: {setpos[:3]}")
            self.timings["checks"] = time.monotonic() - t0
        else:
            self.bench(a.bench)
        self.timings["total"] = time.monotonic() - t0
        log("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items()))
        return 0

    def pointer_checks(self):
        c = self.client
        self.move([(200, 150)], "enter at window 200,150")
        self.move([(200 + i * 10, 150 + i * 5) for i in range(1, 21)], "20 steps of +10,+5 to 400,250")
        self.move([(900, 700)], "a jump to 900,700")
        self.move([(900 - i, 700) for i in range(1, 11)], "10 steps of -1,0 to 890,700")
        self.move([(890 - i * 37, 700 - i * 29) for i in range(1, 16)], "15 steps of -37,-29 to 335,265")
        # out of the window (SDL reports the leaving point: the guest cursor follows it to the edge) and
        # back in somewhere else: placed again from where the guest reports its cursor
        c.x("move", 1200, 900)
        c.x("move", 1250, 1000)
        self.move([(700, 100)], "left the window at its bottom-right, entered again at 700,100")
        # clicks
        mark = self.vm.mark()
        c.x("button", 1, "click")
        c.x("button", 3, "click")
        self.vm.wait_line(r"sg-input: button 273 up", 20, mark)
        got = self.guest_keys(mark)
        want = [("button", 272, "down"), ("button", 272, "up"), ("button", 273, "down"), ("button", 273, "up")]
        check(got == want, f"clicks arrived as {got}, expected {want}")
        log("left and right clicks arrived: " + ", ".join(f"{k} {v}" for _, k, v in got))
        # the drawn cursor: the guest's square where the guest says its cursor is
        g = self.move([(600, 400)], "to 600,400 for the screenshot")
        deadline, found = time.monotonic() + 20, None
        while time.monotonic() < deadline:
            w, h, rgb = c.screenshot(os.path.join(self.work, "shot.ppm"))
            pts = [(x, y) for y in range(max(0, g[1] - 40), min(HEIGHT, g[1] + 40))
                   for x in range(max(0, g[0] - 40), min(WIDTH, g[0] + 40))
                   if rgb[(y * w + x) * 3:(y * w + x) * 3 + 3] == CURSOR_RGB]
            found = (min(p[0] for p in pts), min(p[1] for p in pts), len(pts)) if pts else None
            if found and found[:2] == g and found[2] == SQUARE * SQUARE:
                break
            time.sleep(0.2)
        check(found and found[:2] == g and found[2] == SQUARE * SQUARE,
              f"screenshot: the drawn cursor square ({SQUARE}x{SQUARE} #ff00ff) is at {found}, expected its top-left "
              f"at the guest's {g} with {SQUARE * SQUARE} pixels")
        log(f"screenshot: the client drew the guest's {SQUARE}x{SQUARE} cursor with its hotspot at {found[:2]}, "
            f"where the guest says its cursor is")

    def key_checks(self):
        c = self.client
        mark = self.vm.mark()
        seq = [("Shift_L", "down"), ("a", "tap"), ("Shift_L", "up"), ("1", "tap"),
               ("Control_R", "down"), ("Left", "tap"), ("Control_R", "up"),
               ("Home", "tap"), ("End", "tap"), ("Insert", "tap"), ("Delete", "tap"), ("Prior", "tap"),
               ("Next", "tap"), ("Up", "tap"), ("Down", "tap"), ("Right", "tap"), ("KP_Enter", "tap"),
               ("KP_Divide", "tap"), ("KP_1", "tap"), ("Alt_R", "tap"), ("Super_L", "tap"), ("Return", "tap")]
        want, burst = [], 0
        for k, how in seq:
            size = (2 if k in E0_KEYS else 1) * (2 if how == "tap" else 1)
            if burst + size > PS2_QUEUE:
                deadline = time.monotonic() + 30
                while len(self.guest_keys(mark)) < len(want) and time.monotonic() < deadline:
                    time.sleep(0.02)
                burst = 0
            burst += size
            c.x("key", k, how)
            code = KEY_CODES[k]
            want += [("key", code, "down")] if how in ("down", "tap") else []
            want += [("key", code, "up")] if how in ("up", "tap") else []
        self.vm.wait_line(r"sg-input: key 28 up", 30, mark)
        got = self.guest_keys(mark)
        check(got == want, f"keys arrived as\n  {got}\nexpected\n  {want}")
        log(f"{len(seq)} keys (Shift+a, 1, RCtrl+Left, the E0 navigation block, arrows, KP Enter, KP /, KP 1, "
            f"RAlt, Super, Return; in bursts of up to {PS2_QUEUE} bytes) arrived in order with their codes: "
            f"{len(got)} events")
        # a held key repeats in the guest
        mark = self.vm.mark()
        c.x("key", "b", "down")
        try:
            self.vm.wait_line(r"sg-input: key 48 repeat", 10, mark)
        finally:
            c.x("key", "b", "up")
        self.vm.wait_line(r"sg-input: key 48 up", 10, mark)
        got = self.guest_keys(mark)
        check(got[0] == ("key", 48, "down") and got[-1] == ("key", 48, "up") and
              all(g == ("key", 48, "repeat") for g in got[1:-1]),
              f"holding B: the guest got {got}")
        log(f"B held: down, {len(got) - 2} repeats, up")
        # focus leaves while Shift is held: released in the guest
        mark = self.vm.mark()
        c.x("key", "Shift_L", "down")
        self.vm.wait_line(r"sg-input: key 42 down", 10, mark)
        c.x("unfocus")
        self.vm.wait_line(r"sg-input: key 42 up", 10, mark)
        c.x("key", "Shift_L", "up")
        c.x("focusat", 10, 10)
        log("Shift held when the focus left: released in the guest")
        held = {}
        for kind, code, how in self.guest_keys(0):
            held[code] = how != "up"
        stuck = sorted(k for k, v in held.items() if v)
        check(not stuck, f"keys still down in the guest: {stuck}")
        log("no key or button stuck down in the guest")

    def capture_checks(self):
        c = self.client
        g = self.move([(512, 384)], "to 512,384 before capture")
        cm = self.client.mark()
        c.x("key", "Scroll_Lock", "tap")
        self.client.wait_line(r"input captured", 10, cm)
        mark = self.vm.mark()
        c.x("rel", 10, 0)
        c.x("rel", 0, -20)

        def raw_sum():
            with self.vm.cond:
                ms = [MOTION.search(t) for _, t in self.vm.lines[mark:]]
            return sum(int(m.group(1)) for m in ms if m), sum(int(m.group(2)) for m in ms if m)
        deadline = time.monotonic() + 20
        while raw_sum() != (10, -20) and time.monotonic() < deadline:
            time.sleep(0.05)
        check(raw_sum() == (10, -20), f"captured: XTest moved +10,-20; the guest's raw motion adds up to {raw_sum()}")
        log(f"captured: raw +10,-20 reached the guest unscaled; its cursor went {g} -> {self.guest_pos()} "
            f"(its own acceleration)")
        for _ in range(30):  # far past the window's edge, as a mouse moved on and on
            c.x("rel", 30, 24)
        deadline = time.monotonic() + 20
        while raw_sum() != (910, 700) and time.monotonic() < deadline:
            time.sleep(0.05)
        check(raw_sum() == (910, 700), f"captured: the guest's raw motion adds up to {raw_sum()}, expected 910,700")
        local = c.pointer()
        check(0 <= local[0] < WIDTH and 0 <= local[1] < HEIGHT,
              f"captured: after 30 moves of +30,+24 the local pointer is at {local}, outside the 1024x768 window")
        check(self.guest_pos() == (WIDTH - 1, HEIGHT - 1), f"the guest cursor is at {self.guest_pos()}, expected "
                                                           f"the bottom-right corner")
        log(f"captured: 30 x +30,+24 more: the local pointer stayed in the window at {local}, the guest cursor at "
            f"its corner {self.guest_pos()}")
        cm = self.client.mark()
        c.x("key", "Scroll_Lock", "tap")
        self.client.wait_line(r"input released", 10, cm)
        deadline = time.monotonic() + 10
        while not near(c.pointer(), (WIDTH - 1, HEIGHT - 1)) and time.monotonic() < deadline:
            time.sleep(0.05)
        check(near(c.pointer(), (WIDTH - 1, HEIGHT - 1)), f"released: the local pointer is at {c.pointer()}, "
                                                          f"expected on the guest cursor {WIDTH - 1},{HEIGHT - 1}")
        log(f"released: the local pointer was put on the guest cursor ({c.pointer()})")
        self.move([(700 - i * 20, 500 - i * 10) for i in range(1, 11)], "uncaptured again: 10 steps to 500,400")

    # -- bench ---------------------------------------------------------------------------------------

    def bench(self, n):
        """XTest move -> guest motion line -> cursor queue -> drawn in the client's window."""
        c = self.client
        pts = [(300, 300), (700, 500)]
        self.move([pts[0]], "bench start")
        serial, queue, drawn = [], [], []
        for i in range(n):
            tgt = pts[(i + 1) % 2]
            vm_mark, w_mark = self.vm.mark(), self.watch.mark()
            out = c.x("waitdrawn", tgt[0], tgt[1], "ff00ff", 5000).split()
            t0 = float(out[0])  # the XTest motion, on the same clock as time.monotonic()
            t_drawn = float(out[1]) / 1000 if out[1] != "timeout" else None
            near_tgt = "|".join(f"{x},{y}" for x in range(tgt[0] - 2, tgt[0] + 3) for y in range(tgt[1] - 2, tgt[1] + 3))
            _, t_vm, _ = self.vm.wait_line(rf"sg-input: motion raw .* pos ({near_tgt})$", 10, vm_mark)
            _, t_w, _ = self.watch.wait_line(rf"watch: cursor visible pos ({near_tgt})$", 10, w_mark)
            serial.append((t_vm + self.vm.t0 - t0) * 1000)
            queue.append((t_w + self.watch.t0 - t0) * 1000)
            if t_drawn is not None:
                drawn.append(t_drawn * 1000)
            self.expect_cursor(tgt, f"bench move {i + 1}", quiet=True)

        def pct(v, p):
            s = sorted(v)
            return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] if s else float("nan")
        print(f"vm-input bench: {n} moves between {pts[0]} and {pts[1]} (no guest acceleration), "
              f"accel {vmlib.default_accel()}, load {os.getloadavg()[0]:.1f}")
        for name, v in (("XTest -> guest motion line on the serial console", serial),
                        ("XTest -> cursor queue (sg-vm-watch)", queue),
                        ("XTest -> drawn in the client window", drawn)):
            print(f"  {name:52s} p50 {pct(v, 50):7.1f} ms  p99 {pct(v, 99):7.1f} ms  (n={len(v)})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--guest", help="static sg-vm-guest")
    ap.add_argument("--input-guest", help="static sg-vm-input")
    ap.add_argument("--client", help="spyglass-client")
    ap.add_argument("--xprobe", help="spyglass-xprobe (tests/spice)")
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--build-root", required=True)
    ap.add_argument("--main-host", help="the main build's spyglass-host (used when static)")
    ap.add_argument("--watch", help="sg-vm-watch")
    ap.add_argument("--skip", help="skip with this reason")
    ap.add_argument("--bench", type=int, default=0, help="time this many pointer moves and print p50/p99")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (logs, screenshots)")
    a = ap.parse_args()
    a.keep = a.keep or os.environ.get("SPYGLASS_KEEP_TMP") == "1"
    return vmlib.run_test(a, Test, ("qemu-system-x86_64", "depmod", "dpkg", "readelf", "Xvfb", "import"),
                          "scripts/deps.sh installs the VM and test display groups", lambda t: t.procs, 5000)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
