#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Real-VM end-to-end test (meson suite 'vm').

A Debian kernel boots under QEMU (KVM if /dev/kvm opens, else TCG) with an ivshmem-plain device
backed by a file in /dev/shm and a bochs-display framebuffer. In the guest, sg-vm-guest proves
the BAR works both ways (probe/ack in the region's last page) and draws a known picture below the
console text; then the statically linked spyglass-host maps the IVSHMEM BAR ("-f ivshmem") and
captures /dev/fb0 with the fbdev backend. On this side spyglass-dump reads the file: session,
frame header, and the newest frame as PNG, which must equal QEMU's own screendump and the known
picture. QEMU is then killed (the host must be reported gone) and booted again on the same file
(a new session with the same frame must follow).

Exit codes: 0 pass, 1 fail, 77 skipped (reason printed): no kernel package, no static libc.
"""
import argparse
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

import vmlib
from vmlib import VmError, log

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


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


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


class Dump:
    """spyglass-dump on the region file."""

    def __init__(self, exe):
        self.exe = exe

    def run(self, shm, *args, timeout=30):
        r = subprocess.run([self.exe, *args, shm], capture_output=True, text=True, timeout=timeout)
        return r.returncode, r.stdout + r.stderr

    def wait_frame(self, shm, png, timeout):
        """Poll until a frame PNG can be written; returns (seconds waited, dump text)."""
        t0 = time.monotonic()
        out = ""
        while time.monotonic() - t0 < timeout:
            if os.path.exists(png):
                os.unlink(png)
            rc, out = self.run(shm, "--frame", png)
            if rc == 0 and os.path.exists(png) and os.path.getsize(png) > 0:
                return time.monotonic() - t0, out
            time.sleep(0.5)
        raise Fail(f"no frame from spyglass-dump within {timeout} s; last output:\n{out}")


def parse_frame_header(text):
    """type, width, height, pitch from spyglass-dump's frame header lines."""
    fields = {}
    for key, rx in (("type", r"\btype\b\W*(?:\d+\s*)?\(?([A-Z][A-Z0-9_]+)"),
                    ("size", r"\bframe[_ ]size\W+(\d+)\s*[x×]\s*(\d+)|\bframe_width\W+(\d+)"),
                    ("pitch", r"\bpitch\W+(\d+)"),
                    ("session", r"\bsession(?:[_ ]id)?\W+(?:0x)?([0-9a-fA-F]+)")):
        m = re.search(rx, text)
        fields[key] = m
    return fields


# ---------------------------------------------------------------------------------------------


class Test:
    def __init__(self, a):
        self.a = a
        self.pid = os.getpid()
        self.work = tempfile.mkdtemp(prefix=f"spyglass-vm-{self.pid}-")
        self.shm = f"/dev/shm/spyglass-vm-test-{self.pid}"
        self.vms = []
        self.timings = {}

    def cleanup(self):
        for vm in self.vms:
            vm.kill()
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
        img = vmlib.read_ppm(vm.screendump(os.path.join(self.work, f"screendump{n}.ppm")))
        check_known_picture(img, f"boot{n} QEMU screendump")
        return vm, img

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
        dump = Dump(a.dump) if a.dump and os.path.exists(a.dump) else None
        vmlib.create_shm(self.shm, SHM_MB << 20)

        vm, screen = self.boot(1, kernel, host)
        if not host or not dump:
            missing = "spyglass-host" if not host else f"spyglass-dump ({a.dump})"
            log(f"VM harness passed (IVSHMEM both ways, guest picture exact) in "
                f"{time.monotonic() - t_start:.1f} s")
            print(f"SKIP: {missing} not available, so the Spyglass part was not run ({why})")
            return vmlib.SKIP
        session1 = self.check_frames(1, vm, dump, screen)

        # Host gone: kill QEMU outright, as a crashed VM would.
        vm.kill()
        log("boot1: QEMU killed")
        check(not heartbeat_moving(self.shm), "heartbeat still moving after QEMU was killed")
        self.check_gone(dump)

        vm, screen = self.boot(2, kernel, host)
        session2 = self.check_frames(2, vm, dump, screen)
        check(session2 != session1, f"boot2 reuses session id {session1:#x}")
        log(f"new session after reboot: {session1:#x} -> {session2:#x}")
        vm.kill()
        self.timings["total"] = time.monotonic() - t_start
        log("timings: " + ", ".join(f"{k} {v:.2f} s" for k, v in self.timings.items()))
        return 0

    def check_frames(self, n, vm, dump, screen):
        png = os.path.join(self.work, f"frame{n}.png")
        waited, out = dump.wait_frame(self.shm, png, timeout=90)
        self.timings[f"boot{n} first frame"] = time.monotonic() - vm.t0
        log(f"boot{n}: first frame from spyglass-dump {time.monotonic() - vm.t0:.2f} s after QEMU started")
        rc, text = dump.run(self.shm)
        log(f"boot{n}: spyglass-dump says:\n{text}")
        valid, session, _ = region_session(self.shm)
        check(valid, f"boot{n}: no LGMP v6 header in {self.shm}")
        check(heartbeat_moving(self.shm, 0.5), f"boot{n}: the host's heartbeat does not move")
        f = parse_frame_header(out + "\n" + text)
        check(f["type"] and f["type"].group(1) == "BGRA", f"boot{n}: frame type not BGRA in:\n{text}")
        check(f["pitch"] and int(f["pitch"].group(1)) == WIDTH * 4, f"boot{n}: pitch not {WIDTH * 4} in:\n{text}")
        check(re.search(rf"\b{WIDTH}\s*[x×]\s*{HEIGHT}\b", text), f"boot{n}: no {WIDTH}x{HEIGHT} in:\n{text}")
        check(re.search(rf"{session:08x}|{session:#x}|\b{session}\b", text, re.I),
              f"boot{n}: session {session:#x} (from the region) not in spyglass-dump's output")
        img = vmlib.read_png(png)
        check_known_picture(img, f"boot{n} frame from spyglass-dump")
        compare_images(img, screen, f"boot{n} frame vs QEMU screendump")
        return session

    def check_gone(self, dump):
        time.sleep(1.2)  # > HEARTBEAT_TIMEOUT_MS
        rc, text = dump.run(self.shm)
        log(f"after kill: spyglass-dump says (exit {rc}):\n{text}")
        check(re.search(r"stale|gone|not running|no heartbeat", text, re.I),
              "spyglass-dump does not report the host gone after QEMU was killed")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--guest", help="static sg-vm-guest")
    ap.add_argument("--source-root", required=True)
    ap.add_argument("--build-root", required=True)
    ap.add_argument("--main-host", help="the main build's spyglass-host (used when static)")
    ap.add_argument("--dump", help="spyglass-dump")
    ap.add_argument("--client", help="spyglass-client")
    ap.add_argument("--host-args", default="-f ivshmem -c fbdev")
    ap.add_argument("--skip", help="skip with this reason")
    ap.add_argument("--keep", action="store_true", help="keep the work folder (images, serial logs)")
    a = ap.parse_args()
    if a.skip:
        print(f"SKIP: {a.skip}")
        return vmlib.SKIP
    for tool in ("qemu-system-x86_64", "depmod", "dpkg", "readelf"):
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            print(f"SKIP: {tool} is not installed (scripts/deps.sh installs the VM group)")
            return vmlib.SKIP
    t = Test(a)
    try:
        return t.run()
    except (Fail, VmError) as e:
        print(f"FAIL: {e}")
        for vm in t.vms:
            print(f"--- {vm.name} serial log ({vm.log_path}):")
            print(open(vm.log_path).read()[-3000:] if os.path.exists(vm.log_path) else "(none)")
        return 1
    finally:
        t.cleanup()


if __name__ == "__main__":
    sys.exit(main())
