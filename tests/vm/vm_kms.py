#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Real-VM test of the kms capture backend (meson suite 'vm', test vm-kms).

One boot per virtual GPU (bochs-display, virtio-gpu-pci; SPYGLASS_VM_KMS_GPUS=a,b to choose). In the
guest, spyglass-host -f ivshmem -c kms starts first (as at boot), then sg-vm-kms takes the display as
DRM master and walks through steps (guest/sg-vm-kms.c), each paced by a line this side types on the
serial console. Before that, the host run as uid 1000 must refuse with the CAP_SYS_ADMIN message.
The host maps the scan-out through the dumb-buffer map on bochs and through PRIME export + mmap of
the dma-buf on virtio-gpu (kms:map=prime); its log must say so.
On this side sg-vm-watch --every-frame writes every frame it copies and prints every
cursor message. After each step:
  - pictures: a frame equal, pixel for pixel, to the known picture, and QEMU's screendump equal too
    (dumb buffer A, a page flip to B, a square drawn into B without a flip, a flip back to A, a flip
    to D, which is A with a small square: its damage must be only the square's rows);
  - the square: every frame since the step has damage only inside the square's rows;
  - a still screen publishes nothing: no frame between a matched picture and the next step;
  - cursor (a GPU with a cursor plane): shape bytes and positions through the cursor queue, then
    hidden; a GPU without one: the host says once that it publishes no cursor, and none arrives;
  - a mode change to 800x600 arrives as a new format (a whole 800x600 frame, the known picture);
  - output off: the host reports it off; back on: a whole 1024x768 frame again.
Then a third boot (virtio-gpu-pci) runs a real Wayland compositor, weston 10 (DRM backend, pixman
renderer, desktop shell with a solid background and no panel), copied from this system with its shared
libraries into the initramfs; the host must deliver weston's desktop exactly as QEMU's screendump shows
it (SPYGLASS_VM_KMS_WESTON=0 leaves it out; without weston installed it is left out with a note).

Exit codes: 0 pass, 1 fail, 77 skipped (reason printed).
"""
import argparse
import os
import re
import shutil
import signal
import sys
import tempfile
import time

import vmlib
from vmlib import Fail, VmError, check, log

# Must match guest/sg-vm-kms.c.
KNOWN_COLOURS = [
    0xff0000, 0x00ff00, 0x0000ff, 0xffffff, 0x000000, 0xffff00, 0x00ffff, 0xff00ff,
    0x800000, 0x008000, 0x000080, 0x808080, 0x102030, 0x808000, 0x008080, 0x800080,
    0xff8000, 0x80ff00, 0x0080ff, 0xc0c0c0, 0x203040, 0xff0080, 0x00ff80, 0x8000ff,
    0x7f3f1f, 0x1f7f3f, 0x3f1f7f, 0x404040, 0xfefdfc, 0x010203, 0xa0b0c0, 0x5a6b7c,
]
PICTURE_MUL = [1, 31, 7]
SQUARE = (300, 200, 100, 100, 0x123456)
SMALL = (600, 500, 40, 20, 0x654321)  # buffer D: picture 0 with this square
CURSOR = 64
SHM_MB = 32
GPUS = ["bochs-display", "virtio-gpu-pci"]
# How the host maps the scan-out on each GPU (kms:map): bochs through the dumb-buffer map (the default
# way), virtio-gpu through PRIME export + mmap of the dma-buf, so both paths run.
MAP = {"bochs-display": ("auto", "the dumb-buffer map"),
       "virtio-gpu-pci": ("prime", "PRIME export + mmap of the dma-buf")}




def kms_picture(w, h, variant, square=None):
    """RGB bytes of picture `variant` (sg-vm-kms.c draw_picture), optionally with the square."""
    bw, bh = w // 8, h // 4
    rows = []
    for by in range(4):
        row = b"".join(KNOWN_COLOURS[((by * 8 + min(x // bw, 7)) * PICTURE_MUL[variant]) % 32].to_bytes(3, "big")
                       for x in range(w))
        y1 = h if by == 3 else (by + 1) * bh
        rows += [row] * (y1 - by * bh)
    if square:
        sx, sy, sw, sh, colour = square
        for y in range(sy, sy + sh):
            r = rows[y]
            rows[y] = r[:sx * 3] + colour.to_bytes(3, "big") * sw + r[(sx + sw) * 3:]
    return w, h, b"".join(rows)


def kms_cursor():
    """The cursor's bytes as the host publishes them: BGRA rows of 64 pixels (ARGB8888 in memory)."""
    out = bytearray()
    for y in range(CURSOR):
        for x in range(CURSOR):
            alpha = 0xff if (x + y) % 16 < 8 else 0x80
            out += bytes([0x55, (y * 4) & 0xff, (x * 4) & 0xff, alpha])
    return bytes(out)


def first_difference(a, b, what):
    if a[:2] != b[:2]:
        return f"{what}: size {a[0]}x{a[1]}, expected {b[0]}x{b[1]}"
    w = a[0]
    i = next(i for i in range(0, len(a[2]), 3) if a[2][i:i + 3] != b[2][i:i + 3])
    n = sum(1 for j in range(0, len(a[2]), 3) if a[2][j:j + 3] != b[2][j:j + 3])
    return (f"{what}: {n} pixels differ, first at ({i // 3 % w},{i // 3 // w}): #{a[2][i:i + 3].hex()}, "
            f"expected #{b[2][i:i + 3].hex()}")


EVERY = re.compile(r"watch: every-frame (\S+) serial (\d+) size (\d+)x(\d+) damage (\d+) \[(.*)\]")


class GpuRun:
    def __init__(self, t, gpu):
        self.t, self.a, self.gpu = t, t.a, gpu
        self.work = os.path.join(t.work, gpu if type(self) is GpuRun else "weston")
        os.makedirs(self.work)
        self.vm = self.watch = None
        self.still_from = None  # watcher line index after the last matched picture
        self.still_serial = -1  # and its frame serial

    # -- waiting on the watcher ----------------------------------------------------------------

    def expect_frame(self, want, what, mark, timeout=60):
        """The first frame after mark equal to want; returns (its line index, [damage of every frame
        since mark up to it]). Frames in between (a step caught half-done) are allowed."""
        deadline, i, last, damages = time.monotonic() + timeout, mark, None, []
        while True:
            try:
                m, _, i = self.watch.wait_line(EVERY.pattern, max(0.1, deadline - time.monotonic()), i)
            except VmError:
                raise Fail(f"{self.gpu} {what}: no frame equal to the known picture within {timeout} s"
                           + (f"; the last one: {last}" if last else "; no frame at all"))
            rects = [tuple(int(v) for v in r.split(",")) for r in m.group(6).split()]
            damages.append((int(m.group(5)), rects, int(m.group(3)), int(m.group(4))))
            img = vmlib.read_ppm(m.group(1))
            if img == want:
                log(f"{self.gpu} {what}: frame {m.group(1)} exact ({want[0]}x{want[1]}, damage {m.group(5)} "
                    f"[{m.group(6)}]) after {len(damages)} frame(s)")
                return i, damages
            last = first_difference(img, want, m.group(1))
            i += 1

    def expect_screendump(self, want, what, timeout=20):
        deadline = time.monotonic() + timeout
        while True:
            img = vmlib.read_ppm(self.vm.screendump(os.path.join(self.work, "screendump.ppm")))
            if img == want:
                log(f"{self.gpu} {what}: QEMU screendump identical")
                return
            if time.monotonic() > deadline:
                raise Fail(first_difference(img, want, f"{self.gpu} {what}: QEMU screendump"))
            time.sleep(0.2)

    def step(self, name, timeout=60):
        """Let the guest go on to step `name`; returns the watcher mark from before it. Since the last
        picture matched, the screen stood still (the screendump check took place meanwhile): not one
        frame may have been published."""
        mark = self.watch.mark()
        if self.still_from is not None:
            # a re-post of the frame already seen (same serial: a re-attach on a loaded machine) is not new
            with self.watch.cond:
                extra = [t for _, t in self.watch.lines[self.still_from:mark]
                         if EVERY.search(t) and int(EVERY.search(t).group(2)) > self.still_serial]
            check(not extra, f"{self.gpu}: the screen stood still before step {name}, yet frames were "
                             f"published: {extra[:3]}")
            self.still_from = None
        if name != "A":
            self.vm.send("next\n")
        m, t, _ = self.vm.wait_line(rf"sg-kms: (step {name}\b.*|FAILED.*)", timeout)
        check(not m.group(1).startswith("FAILED"), f"{self.gpu}: guest {m.group(1)}")
        log(f"{self.gpu}: guest {m.group(1)} ({t:.2f} s)")
        return mark, m.group(1)

    def picture_step(self, name, want, what):
        mark, _ = self.step(name)
        i, damages = self.expect_frame(want, what, mark)
        self.expect_screendump(want, what)
        self.still_from = i + 1
        with self.watch.cond:
            self.still_serial = int(EVERY.search(self.watch.lines[i][1]).group(2))
        return damages

    # -- the run ---------------------------------------------------------------------------------

    def run(self, kernel, host):
        t0 = time.monotonic()
        shm = f"/dev/shm/spyglass-vm-kms-{self.t.pid}-{self.gpu}"
        self.t.shms.append(shm)
        vmlib.create_shm(shm, SHM_MB << 20)
        self.watch = vmlib.Lines(f"watch-{self.gpu}", os.path.join(self.work, "watch.log"))
        self.t.procs.append(self.watch)
        self.watch.spawn([self.a.watch, "--every-frame", self.work, shm])
        self.watch.wait_line(r"watch: (waiting for a host|mapped)", 10)

        nonce = f"{self.t.pid}-{self.gpu}"
        initrd = os.path.join(self.work, "initrd.cpio")
        map_opt, self.map_way = MAP.get(self.gpu, ("auto", None))
        host_args = os.environ.get("SPYGLASS_VM_KMS_HOST_ARGS", f"-f ivshmem -c kms -o kms:map={map_opt}")
        vmlib.build_initrd(initrd, kernel, self.a.guest, host, host_args, nonce,
                           modules=kernel.module_sets[self.gpu], extra_bins=[self.a.kms_guest], mode="kms")
        self.vm = vmlib.Vm(kernel, initrd, shm, SHM_MB, self.work, name=f"vm-{self.gpu}", gpu=self.gpu)
        self.t.procs.append(self.vm)
        self.vm.start()
        vmlib.ack_probe(self.vm, shm, nonce, timeout=120)
        m, _, _ = self.vm.wait_line(r"sg-host-nonroot: .*", 60)
        want = ("capture kms cannot start: kms /dev/dri/card0: reading another program's framebuffer needs root or "
                "CAP_SYS_ADMIN; spyglass-host runs as uid 1000 without it")
        check(want in m.group(0), f"{self.gpu}: the host as uid 1000 said '{m.group(0)}', expected '{want}'")
        log(f"{self.gpu}: as uid 1000 without CAP_SYS_ADMIN: {m.group(0)}")
        m, _, _ = self.vm.wait_line(r"sg-host: .*capture kms cannot start.*|sg-host: .*kms (\S+): capturing (\S+)", 60)
        check(m.group(1), f"{self.gpu}: {m.group(0)}")
        log(f"{self.gpu}: host captures {m.group(2)} on {m.group(1)}")
        self.watch.wait_line(r"watch: session 0x[0-9a-f]{8} attached: .*capture \"KMS\"", 60)

        a = kms_picture(1024, 768, 0)
        self.picture_step("A", a, "dumb buffer A (SetCrtc 1024x768)")
        with self.vm.cond:  # said before step A: which scan-out formats this GPU's planes take
            planes = [t.split("sg-kms: ", 1)[1] for _, t in self.vm.lines if "sg-kms: plane" in t]
        log(f"{self.gpu}: " + ("; ".join(planes) if planes else "plane formats not reported"))
        if self.map_way and "SPYGLASS_VM_KMS_HOST_ARGS" not in os.environ:
            m, _, _ = self.vm.wait_line(r"sg-host: .*framebuffers mapped through (.*)", 10)
            check(m.group(1) == self.map_way, f"{self.gpu}: the host mapped through {m.group(1)}, "
                                              f"expected {self.map_way}")
            log(f"{self.gpu}: framebuffers mapped through {m.group(1)}")
        self.picture_step("B", kms_picture(1024, 768, 1), "page flip to B")
        sq = kms_picture(1024, 768, 1, square=SQUARE)
        damages = self.picture_step("square", sq, "square drawn into B (front buffer)")
        sx, sy, sw, sh, _ = SQUARE
        for n, rects, w, h in damages:
            check(n > 0 and all(y >= sy and y + rh <= sy + sh for _, y, _, rh in rects),
                  f"{self.gpu} square: a frame's damage {n} {rects} is not inside rows {sy}..{sy + sh - 1}")
        log(f"{self.gpu} square: damage of all {len(damages)} frame(s) inside rows {sy}..{sy + sh - 1}: "
            + "; ".join(str(r) for _, r, _, _ in damages))
        self.picture_step("A2", a, "page flip back to A")
        damages = self.picture_step("D", kms_picture(1024, 768, 0, square=SMALL),
                                    "page flip to D (A with a 40x20 square)")
        sx, sy, sw, sh, _ = SMALL
        check(all(n > 0 and all(y >= sy and y + rh <= sy + sh for _, y, _, rh in rects) for n, rects, _, _ in damages),
              f"{self.gpu} flip to D: damage {damages} is not inside rows {sy}..{sy + sh - 1}")
        log(f"{self.gpu} flip to D: damage inside rows {sy}..{sy + sh - 1}: "
            + "; ".join(str(r) for _, r, _, _ in damages))
        self.cursor_steps()
        damages = self.picture_step("C", kms_picture(800, 600, 2), "mode change to 800x600 with buffer C")
        check(damages[-1][0] == 0, f"{self.gpu} mode change: the 800x600 frame has damage {damages[-1]}, "
                                   f"expected a whole frame (damage 0)")
        _, line = self.step("off")
        self.vm.wait_line(r"sg-host: .*kms \S+: \S+ is off", 30)
        log(f"{self.gpu} off: the host reports the output off")
        damages = self.picture_step("A3", a, "output back on with A")
        check(damages[-1][0] == 0, f"{self.gpu} back on: frame damage {damages[-1]}, expected a whole frame")
        self.vm.send("next\n")
        self.vm.wait_line(r"sg-kms: done", 30)
        self.t.timings[self.gpu] = time.monotonic() - t0
        self.vm.kill()
        self.watch.stop()

    def cursor_steps(self):
        mark, line = self.step("cursor1")
        if "none" in line:
            # no cursor plane: the host must say so once, and publish no cursor
            m, _, _ = self.vm.wait_line(r"sg-host: .*has no cursor plane.*software cursor.*", 30)
            log(f"{self.gpu}: {m.group(0)}")
            self.step("cursor2")
            self.step("nocursor")
            with self.watch.cond:
                shown = [t for _, t in self.watch.lines if t.startswith("watch: cursor visible")]
            check(not shown, f"{self.gpu}: no cursor plane, yet a visible cursor was published: {shown[:3]}")
            log(f"{self.gpu}: no cursor published (software cursor)")
            return
        want = kms_cursor()
        m, _, i = self.watch.wait_line(r"watch: cursor visible pos 100,200", 30, mark)
        with self.watch.cond:
            shapes = [t for _, t in self.watch.lines[:i + 1] if " shape " in t]
        check(shapes, f"{self.gpu} cursor1: no cursor shape published before {m.group(0)}")
        sm = re.search(r" shape (\S+) type (\d+) (\d+)x(\d+) pitch (\d+) hot (-?\d+),(-?\d+)", shapes[-1])
        check(sm.group(2, 3, 4, 5) == ("0", "64", "64", "256"),
              f"{self.gpu} cursor1: shape {shapes[-1]}, expected type 0 (colour) 64x64 pitch 256")
        got = open(sm.group(1), "rb").read()
        if got != want:
            k = next(k for k in range(len(want)) if k >= len(got) or got[k] != want[k])
            raise Fail(f"{self.gpu} cursor1: shape byte {k} (pixel {k // 4 % 64},{k // 256}) is "
                       f"{got[k:k + 4].hex() if k < len(got) else 'missing'}, expected {want[k:k + 4].hex()}")
        log(f"{self.gpu} cursor1: shape 64x64 exact, hotspot {sm.group(6)},{sm.group(7)}, at 100,200")
        mark, _ = self.step("cursor2")
        self.watch.wait_line(r"watch: cursor visible pos 612,400", 30, mark)
        log(f"{self.gpu} cursor2: moved to 612,400")
        mark, _ = self.step("nocursor")
        self.watch.wait_line(r"watch: cursor hidden", 30, mark)
        log(f"{self.gpu} nocursor: hidden")


# ---------------------------------------------------------------------------------------------
# A real compositor: weston in the guest


WESTON_BACKGROUND = 0x204060
WESTON_INI = f"""[core]
idle-time=0
[shell]
background-color=0xff{WESTON_BACKGROUND:06x}
panel-position=none
startup-animation=none
[output]
name=Virtual-1
mode=1024x768
"""
WESTON_ELFS = ["/usr/bin/weston", "/usr/lib/x86_64-linux-gnu/weston-desktop-shell",
               "/usr/lib/x86_64-linux-gnu/libweston-10/drm-backend.so",
               "/usr/lib/x86_64-linux-gnu/weston/desktop-shell.so"]
WESTON_DATA = ["/usr/share/X11/xkb", "/usr/share/libinput"]


def weston_files(work):
    """(src, dst, mode) of weston, its shared-library closure (ldd) and data, or a reason
    string when they are not installed (scripts/deps.sh's VM group installs them)."""
    missing = [f for f in WESTON_ELFS + WESTON_DATA if not os.path.exists(f)]
    if missing:
        return f"weston not installed ({', '.join(missing)})"
    files, libs = [], set()
    for elf in WESTON_ELFS:
        files.append((elf, elf, 0o755))
        out = vmlib.subprocess.run(["ldd", elf], capture_output=True, text=True).stdout
        for m in re.finditer(r"(?:=> )?(/\S+) \(0x", out):
            libs.add(m.group(1))
    for lib in sorted(libs):
        files.append((os.path.realpath(lib), lib, 0o755))
    for top in WESTON_DATA:
        for root, _, names in os.walk(top):
            for n in names:
                path = os.path.join(root, n)
                if os.path.isfile(path):
                    files.append((os.path.realpath(path), path, 0o644))
    ini = os.path.join(work, "weston.ini")
    open(ini, "w").write(WESTON_INI)
    files.append((ini, "/etc/weston.ini", 0o644))
    return files


class WestonRun(GpuRun):
    """weston with its DRM backend draws the desktop (solid background, no panel); the kms capture
    must deliver exactly what QEMU shows."""

    def run(self, kernel, host):
        t0 = time.monotonic()
        files = weston_files(self.work)
        if isinstance(files, str):
            log(f"weston part not run: {files}")
            self.t.skipped.append(files)
            return
        shm = f"/dev/shm/spyglass-vm-kms-{self.t.pid}-weston"
        self.t.shms.append(shm)
        vmlib.create_shm(shm, SHM_MB << 20)
        self.watch = vmlib.Lines("watch-weston", os.path.join(self.work, "watch.log"))
        self.t.procs.append(self.watch)
        self.watch.spawn([self.a.watch, "--every-frame", self.work, shm])
        self.watch.wait_line(r"watch: (waiting for a host|mapped)", 10)
        nonce = f"{self.t.pid}-weston"
        initrd = os.path.join(self.work, "initrd.cpio")
        vmlib.build_initrd(initrd, kernel, self.a.guest, host, "-f ivshmem -c kms", nonce,
                           modules=kernel.module_sets[self.gpu], mode="weston", extra_files=files)
        log(f"weston: initramfs {os.path.getsize(initrd) >> 20} MiB ({len(files)} files from this system)")
        self.vm = vmlib.Vm(kernel, initrd, shm, SHM_MB, self.work, name="vm-weston", gpu=self.gpu, memory_mb=512)
        self.t.procs.append(self.vm)
        self.vm.start()
        vmlib.ack_probe(self.vm, shm, nonce, timeout=120)
        m, t, i = self.vm.wait_line(r"sg-vm: weston (socket (.*) up=|failed)", 180)
        if "failed" in m.group(0):
            time.sleep(3)  # let its log arrive over the serial line, for the message below
            with self.vm.cond:
                text = "\n".join(t for _, t in self.vm.lines[i:])
            raise Fail(f"weston did not start in the guest:\n{text}")
        log(f"weston: compositor up {t:.1f} s after QEMU started")
        want = (1024, 768, WESTON_BACKGROUND.to_bytes(3, "big") * (1024 * 768))
        self.expect_frame(want, "weston's desktop (background 0x%06x, no panel)" % WESTON_BACKGROUND, 0, 90)
        self.expect_screendump(want, "weston's desktop")
        self.t.timings["weston"] = time.monotonic() - t0
        self.vm.kill()
        self.watch.stop()


class Test:
    def __init__(self, a):
        self.a = a
        self.pid = os.getpid()
        self.work = tempfile.mkdtemp(prefix=f"spyglass-vm-kms-{self.pid}-")
        self.procs, self.shms, self.timings, self.skipped = [], [], {}, []

    def cleanup(self):
        for p in self.procs:
            if p.proc and p.proc.poll() is None:
                try:
                    os.killpg(p.proc.pid, signal.SIGTERM)
                except OSError:
                    pass
        for p in self.procs:
            p.stop(signal.SIGKILL) if isinstance(p, vmlib.Vm) else p.stop()
        for s in self.shms:
            if os.path.exists(s):
                os.unlink(s)
        if self.a.keep:
            log(f"kept {self.work}")
        else:
            shutil.rmtree(self.work, ignore_errors=True)

    def run(self):
        t0 = time.monotonic()
        try:
            kernel = vmlib.prepare_kernel()
        except vmlib.Skip as e:
            print(f"SKIP: {e}")
            return vmlib.SKIP
        gpus = [g for g in os.environ.get("SPYGLASS_VM_KMS_GPUS", ",".join(GPUS)).split(",") if g and g != "none"]
        missing = [g for g in gpus if g not in kernel.module_sets]
        if missing:
            print(f"SKIP: the cached kernel {kernel} has no modules for {missing} and could not be upgraded")
            return vmlib.SKIP
        import vm_e2e  # the static host build is shared with vm-e2e
        host, why = vm_e2e.build_static_host(self.a.source_root, self.a.build_root, self.a.main_host)
        if not host:
            print(f"SKIP: no static spyglass-host ({why})")
            return vmlib.SKIP
        r = vmlib.subprocess.run([host, "--help"], capture_output=True, text=True)
        if not re.search(r"^\s*kms\s", r.stdout, re.M):
            print(f"SKIP: {host} ({why}) was built without the kms backend (libdrm missing?)")
            return vmlib.SKIP
        log(f"kernel {kernel}; spyglass-host {host} ({why})")
        for gpu in gpus:
            GpuRun(self, gpu).run(kernel, host)
        if os.environ.get("SPYGLASS_VM_KMS_WESTON", "1") == "1" and "virtio-gpu-pci" in kernel.module_sets:
            WestonRun(self, "virtio-gpu-pci").run(kernel, host)
        self.timings["total"] = time.monotonic() - t0
        log("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items()))
        return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--guest", help="static sg-vm-guest")
    ap.add_argument("--kms-guest", help="static sg-vm-kms")
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--build-root", required=True)
    ap.add_argument("--main-host", help="the main build's spyglass-host (used when static)")
    ap.add_argument("--watch", help="sg-vm-watch")
    ap.add_argument("--skip", help="skip with this reason")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (frames, serial logs)")
    a = ap.parse_args()
    a.keep = a.keep or os.environ.get("SPYGLASS_KEEP_TMP") == "1"
    return vmlib.run_test(a, Test, ("qemu-system-x86_64", "depmod", "dpkg", "readelf"),
                          "scripts/deps.sh installs the VM group", lambda t: t.procs, 4000)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.exit(main())
