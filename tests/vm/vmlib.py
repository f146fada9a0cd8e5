# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot a small Linux guest under QEMU with an IVSHMEM region, from Debian packages only.

Pieces (each usable alone, see vm-run.py and vm_e2e.py):
  prepare_kernel()  Debian kernel image package -> cached vmlinux (PVH, boots faster than the
                    bzImage under TCG) and the framebuffer driver modules in load order.
  build_initrd()    newc cpio written directly (device nodes need no root): busybox-static,
                    the modules, guest/init, sg-vm-guest and optionally a static spyglass-host.
  Vm                one qemu-system-x86_64 process: serial console lines, HMP monitor, kill.
"""
import fcntl
import glob
import json
import lzma
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77  # meson's exit code for a skipped test
PROBE_FROM_END = 4096  # guest/sg-vm-guest.c: the probe handshake uses the region's last page

# Framebuffer driver for QEMU's bochs-display (and -vga std): the top module; its dependencies
# are resolved from the package's modules.dep.
FB_MODULES = ["bochs"]
# Display drivers by QEMU device (the kms test runs on each): top modules, dependencies resolved
# the same way. virtio_pci binds the PCI device; virtio-gpu needs it without a symbol dependency.
GPU_MODULES = {"bochs-display": ["bochs"], "virtio-gpu-pci": ["virtio_pci", "virtio-gpu"]}
# The PS/2 devices as evdev nodes (vm_input.py): i8042, serio and atkbd are built into Debian's kernel,
# psmouse and evdev are modules.
INPUT_MODULES = ["psmouse", "evdev"]
# Every set kernel.json keeps: {key: top modules}
MODULE_SETS = dict(GPU_MODULES, input=INPUT_MODULES)


class Skip(Exception):
    """The VM cannot be built on this machine (the message says why)."""


class VmError(Exception):
    pass


class Fail(Exception):
    """A check of a VM test did not hold. One class for every driver: vm_kms and vm_input
    call vm_e2e's static host build, whose failure their own class would not have caught."""


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def run_test(a, make_test, tools, hint, logs, tail):
    """The drivers' main: SKIP for --skip or a missing tool, else make_test(a).run(); on a
    failure the message and the last `tail` characters of each log that logs(test) names;
    cleanup always."""
    if a.skip:
        print(f"SKIP: {a.skip}")
        return SKIP
    for tool in tools:
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            print(f"SKIP: {tool} is not installed ({hint})")
            return SKIP
    t = make_test(a)
    try:
        return t.run()
    except (Fail, VmError) as e:
        print(f"FAIL: {e}")
        for p in logs(t):
            print(f"--- {p.name} log ({p.log_path}):")
            print(open(p.log_path).read()[-tail:] if os.path.exists(p.log_path) else "(none)")
        return 1
    finally:
        t.cleanup()


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def cache_root():
    if os.environ.get("SPYGLASS_VM_CACHE"):
        return os.environ["SPYGLASS_VM_CACHE"]
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "spyglass-vm")


# ---------------------------------------------------------------------------------------------
# Kernel


def kernel_package_name():
    """Name of the image package linux-image-amd64 currently depends on, or None."""
    try:
        out = subprocess.run(["apt-cache", "depends", "linux-image-amd64"], capture_output=True, text=True,
                             timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    for m in re.finditer(r"Depends:\s*(linux-image-\S+)", out):
        if m.group(1) != "linux-image-amd64":
            return m.group(1)
    return None


def extract_vmlinux(bzimage):
    """The uncompressed ELF kernel inside a bzImage (xz payload), or None."""
    data = open(bzimage, "rb").read()
    pos = data.find(b"\xfd7zXZ\x00")
    while pos >= 0:
        try:
            out = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(data[pos:])
            if out[:4] == b"\x7fELF":
                return out
        except lzma.LZMAError:
            pass
        pos = data.find(b"\xfd7zXZ\x00", pos + 1)
    return None


def module_load_order(moddep_path, wanted):
    """Module files (relative paths) in an order insmod accepts: dependencies first."""
    deps = {}
    with open(moddep_path) as f:
        for line in f:
            mod, _, rest = line.partition(":")
            deps[mod.strip()] = rest.split()
    by_name = {os.path.basename(p)[:-3].replace("-", "_"): p for p in deps if p.endswith(".ko")}
    order = []

    def visit(path, stack=()):
        if path in order or path in stack:
            return
        for d in deps.get(path, []):
            visit(d, stack + (path,))
        order.append(path)

    for name in wanted:
        path = by_name.get(name.replace("-", "_"))
        if path is None:
            raise VmError(f"module {name} not in {moddep_path}")
        visit(path)
    return order


class Kernel:
    def __init__(self, d):
        info = json.load(open(os.path.join(d, "kernel.json")))
        self.dir = d
        self.version = info["version"]
        self.package = info["package"]
        self.image = os.path.join(d, info["image"])
        self.pvh = info["image"] == "vmlinux"
        self.modules = [(n, os.path.join(d, "modules", n + ".ko")) for n in info["modules"]]
        self.module_sets = {gpu: [(n, os.path.join(d, "modules", n + ".ko")) for n in names]
                            for gpu, names in info.get("module_sets", {}).items()}

    def __repr__(self):
        return f"{self.package} ({'PVH vmlinux' if self.pvh else 'bzImage'}, modules {len(self.modules)})"


def _copy_module_sets(mdir, out_dir):
    """Copy each MODULE_SETS set (with dependencies) into out_dir/modules; {key: [names in load order]}."""
    sets = {}
    for gpu, top in MODULE_SETS.items():
        sets[gpu] = []
        for rel in module_load_order(os.path.join(mdir, "modules.dep"), top):
            name = os.path.basename(rel)[:-3]
            shutil.copy(os.path.join(mdir, rel), os.path.join(out_dir, "modules", name + ".ko"))
            sets[gpu].append(name)
    return sets


def _unpack_kernel(deb, out_dir, work):
    root = os.path.join(work, "root")
    subprocess.run(["dpkg", "-x", deb, root], check=True)
    versions = os.listdir(os.path.join(root, "lib", "modules"))
    if len(versions) != 1:
        raise VmError(f"{deb}: expected one lib/modules/<version>, found {versions}")
    version = versions[0]
    subprocess.run(["depmod", "-b", root, version], check=True)
    mdir = os.path.join(root, "lib", "modules", version)
    order = module_load_order(os.path.join(mdir, "modules.dep"), FB_MODULES)
    os.makedirs(os.path.join(out_dir, "modules"), exist_ok=True)
    names = []
    for rel in order:
        name = os.path.basename(rel)[:-3]
        shutil.copy(os.path.join(mdir, rel), os.path.join(out_dir, "modules", name + ".ko"))
        names.append(name)
    sets = _copy_module_sets(mdir, out_dir)
    bz = os.path.join(root, "boot", f"vmlinuz-{version}")
    elf = extract_vmlinux(bz)
    if elf is not None:
        open(os.path.join(out_dir, "vmlinux"), "wb").write(elf)
        image = "vmlinux"
    else:  # not xz: boot the bzImage (a few seconds slower under TCG)
        shutil.copy(bz, os.path.join(out_dir, "bzImage"))
        image = "bzImage"
    return {"version": version, "image": image, "modules": names, "module_sets": sets}


def _upgrade_kernel(cache, pkg, deb):
    work = tempfile.mkdtemp(prefix=".upgrade-", dir=cache)
    try:
        if not deb:
            log(f"downloading {pkg} into {cache} again for more modules (once)")
            r = subprocess.run(["apt-get", "download", pkg], cwd=work, capture_output=True, text=True, timeout=600)
            debs = glob.glob(os.path.join(work, "*.deb"))
            if r.returncode != 0 or not debs:
                log(f"apt-get download {pkg} failed: {(r.stderr or r.stdout).strip()[-300:]}")
                return None
            deb = debs[0]
        d = os.path.join(cache, pkg)
        root = os.path.join(work, "root")
        subprocess.run(["dpkg", "-x", deb, root], check=True)
        version = os.listdir(os.path.join(root, "lib", "modules"))[0]
        subprocess.run(["depmod", "-b", root, version], check=True)
        mdir = os.path.join(root, "lib", "modules", version)
        info = json.load(open(os.path.join(d, "kernel.json")))
        info["module_sets"] = _copy_module_sets(mdir, d)
        tmp = os.path.join(d, "kernel.json.tmp")
        json.dump(info, open(tmp, "w"))
        os.rename(tmp, os.path.join(d, "kernel.json"))
        return Kernel(d)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def prepare_kernel(cache=None):
    """Download (once) and unpack the Debian kernel; returns a Kernel. Raises Skip with the reason."""
    cache = cache or cache_root()
    os.makedirs(cache, exist_ok=True)
    with open(os.path.join(cache, ".lock"), "w") as lockf:
        fcntl.flock(lockf, fcntl.LOCK_EX)  # parallel test runs share the cache
        deb = os.environ.get("SPYGLASS_VM_KERNEL_DEB")
        pkg = os.path.basename(deb).split("_")[0] if deb else kernel_package_name()
        ready = sorted(glob.glob(os.path.join(cache, "linux-image-*", "kernel.json")), key=os.path.getmtime)
        if pkg and os.path.exists(os.path.join(cache, pkg, "kernel.json")):
            k = Kernel(os.path.join(cache, pkg))
            if set(k.module_sets) >= set(MODULE_SETS) or os.environ.get("SPYGLASS_VM_NO_UPGRADE"):
                return k
            # unpacked by an older version: add the other display drivers' modules in place
            # (the old keys stay, so older checkouts sharing the cache still work)
            k = _upgrade_kernel(cache, pkg, deb)
            if k:
                return k
            return Kernel(os.path.join(cache, pkg))
        why = "apt-cache does not know linux-image-amd64" if not pkg else None
        work = tempfile.mkdtemp(prefix=".unpack-", dir=cache)
        try:
            if pkg and not deb:
                log(f"downloading {pkg} into {cache} (once)")
                r = subprocess.run(["apt-get", "download", pkg], cwd=work, capture_output=True, text=True,
                                   timeout=600)
                debs = glob.glob(os.path.join(work, "*.deb"))
                if r.returncode != 0 or not debs:
                    why = f"apt-get download {pkg} failed: {(r.stderr or r.stdout).strip()[-300:]}"
                else:
                    deb = debs[0]
            if deb:
                out = os.path.join(work, "out")
                os.makedirs(out)
                info = _unpack_kernel(deb, out, work)
                info["package"] = pkg
                json.dump(info, open(os.path.join(out, "kernel.json"), "w"))
                os.rename(out, os.path.join(cache, pkg))
                return Kernel(os.path.join(cache, pkg))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        if ready:  # offline: an older cached kernel still proves the path
            log(f"{why}; using cached {os.path.dirname(ready[-1])}")
            return Kernel(os.path.dirname(ready[-1]))
        raise Skip(f"no Linux kernel for the guest: {why}")


# ---------------------------------------------------------------------------------------------
# Initramfs


class Cpio:
    """Writer for the 'newc' format the kernel unpacks into its initial rootfs."""

    def __init__(self):
        self.parts = []
        self.ino = 1

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        name_b = name.encode() + b"\0"
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0]
        self.ino += 1
        hdr = b"070701" + b"".join(b"%08X" % v for v in fields) + name_b
        self.parts.append(hdr + b"\0" * (-len(hdr) % 4))
        self.parts.append(data + b"\0" * (-len(data) % 4))

    def dir(self, name):
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name, data, mode=0o644):
        self._entry(name, stat.S_IFREG | mode, data)

    def chardev(self, name, major, minor):
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def write(self, path):
        self._entry("TRAILER!!!", 0)
        with open(path, "wb") as f:
            f.write(b"".join(self.parts))
            f.write(b"\0" * (-f.tell() % 512))


def build_initrd(path, kernel, guest_bin, host_bin=None, host_args="", nonce="0", modules=None, extra_bins=(),
                 mode="", extra_files=(), extra_conf=None):
    """modules: (name, path) pairs in load order (default: kernel.modules, the bochs set);
    extra_bins: more static programs for /bin; mode: MODE in /etc/sg-vm.conf (guest/init);
    extra_files: (path on this side, absolute path in the guest, mode) for anything else (parents made);
    extra_conf: {NAME: value} for more lines of /etc/sg-vm.conf (guest/init reads them)."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    if not os.path.exists(busybox):
        raise Skip("busybox-static is not installed (/bin/busybox missing)")
    c = Cpio()
    for d in ("bin", "dev", "proc", "sys", "etc", "lib", "lib/modules", "tmp", "run"):
        c.dir(d)
    c.chardev("dev/console", 5, 1)  # the kernel opens it before /init runs
    c.file("bin/busybox", open(busybox, "rb").read(), 0o755)
    c.file("bin/sg-vm-guest", open(guest_bin, "rb").read(), 0o755)
    if host_bin:
        c.file("bin/spyglass-host", open(host_bin, "rb").read(), 0o755)
    for b in extra_bins:
        c.file(f"bin/{os.path.basename(b)}", open(b, "rb").read(), 0o755)
    modules = kernel.modules if modules is None else modules
    for name, ko in modules:
        c.file(f"lib/modules/{name}.ko", open(ko, "rb").read())
    made = {"", "bin", "dev", "proc", "sys", "etc", "lib", "lib/modules", "tmp", "run"}
    for src, dst, fmode in extra_files:
        rel = dst.lstrip("/")
        parts = rel.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d not in made:
                c.dir(d)
                made.add(d)
        c.file(rel, open(src, "rb").read(), fmode)
    conf = (f"MODULES='{' '.join(n for n, _ in modules)}'\nNONCE='{nonce}'\n"
            f"HOST_ARGS='{host_args}'\nMODE='{mode}'\n")
    conf += "".join(f"{k}='{v}'\n" for k, v in (extra_conf or {}).items())
    c.file("etc/sg-vm.conf", conf.encode())
    c.file("init", open(os.path.join(HERE, "guest", "init"), "rb").read(), 0o755)
    c.write(path)


def is_static_elf(path):
    """True for an ELF executable without a program interpreter (runs in the bare initramfs)."""
    r = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True)
    return r.returncode == 0 and "Requesting program interpreter" not in r.stdout


# ---------------------------------------------------------------------------------------------
# QEMU


def default_accel():
    """TCG unless SPYGLASS_VM_ACCEL says otherwise: the test must behave the same everywhere, and
    nested KVM was seen to die with "emulation failure" on a CI-like machine where /dev/kvm opens."""
    return os.environ.get("SPYGLASS_VM_ACCEL", "tcg")


def create_shm(path, size):
    """A fresh, zeroed region file (QEMU's memory-backend-file maps it as the IVSHMEM BAR)."""
    if os.path.exists(path):
        os.unlink(path)
    with open(path, "wb") as f:
        f.truncate(size)


def with_parent(cmd):
    """cmd, run so that it gets SIGTERM when the test process dies, even by SIGKILL: children started
    in their own session escape meson's timeout, which signals only the test's process group."""
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--"] + list(cmd) if setpriv else list(cmd)


class Lines:
    """Follows a process's output line by line (log file + wait for a pattern)."""

    def __init__(self, name, log_path):
        self.name, self.log_path = name, log_path
        self.proc = None
        self.lines = []  # (seconds since start, text)
        self.cond = threading.Condition()
        self.t0 = None

    def spawn(self, cmd, **kw):
        self.t0 = time.monotonic()
        self.logf = open(self.log_path, "a")
        # stdin stays an open pipe: QEMU's stdio chardev would otherwise see EOF.
        self.proc = subprocess.Popen(with_parent(cmd), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True, **kw)
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for raw in self.proc.stdout:
            text = raw.decode(errors="replace").rstrip("\r\n")
            # Firmware escape codes can precede guest text on the same line.
            text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1bc", "", text)
            t = time.monotonic() - self.t0
            self.logf.write(f"{t:7.2f} {text}\n")
            self.logf.flush()
            with self.cond:
                self.lines.append((t, text))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def mark(self):
        """Index to pass as start= to wait only for lines that come after now."""
        with self.cond:
            return len(self.lines)

    def wait_line(self, pattern, timeout, start=0):
        """First line at index >= start matching pattern: (match, seconds since start, index)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        i = start
        with self.cond:
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i][1])
                    if m:
                        return m, self.lines[i][0], i
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or (not self.running() and i >= len(self.lines)):
                    tail = "\n".join(t for _, t in self.lines[-15:])
                    state = "timed out" if left <= 0 else f"process exited ({self.proc.returncode})"
                    raise VmError(f"{self.name}: waiting {timeout} s for /{pattern}/: {state}; output tail:\n{tail}")
                self.cond.wait(min(left, 0.5))

    def stop(self, sig=signal.SIGTERM, wait=5):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(wait)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if self.proc:
            try:
                self.proc.stdin.close()
            except OSError:
                pass


class Vm(Lines):
    def __init__(self, kernel, initrd, shm_path, shm_size_mb, workdir, name="vm", accel=None,
                 width=1024, height=768, log_path=None, gpu="bochs-display", memory_mb=256, spice_socket=None):
        """spice_socket: QEMU's own SPICE server on this unix socket (keyboard and mouse: the PS/2 pair
        every q35 machine has; vmport off, so the guest's psmouse cannot turn it into an absolute VMMouse)."""
        self.gpu, self.memory_mb, self.spice_socket = gpu, memory_mb, spice_socket
        self.kernel, self.initrd, self.shm_path, self.shm_size_mb = kernel, initrd, shm_path, shm_size_mb
        self.workdir, self.name, self.accel = workdir, name, accel or default_accel()
        self.width, self.height = width, height
        self.monitor_path = os.path.join(workdir, f"{name}.monitor")
        super().__init__(name, log_path or os.path.join(workdir, f"{name}.serial.log"))

    def command(self):
        qemu = os.environ.get("SPYGLASS_VM_QEMU", "qemu-system-x86_64")
        append = ("console=ttyS0 panic=-1 quiet loglevel=3 vt.global_cursor_default=0 consoleblank=0 "
                  "fbcon=nodefer")
        machine = "q35,vmport=off" if self.spice_socket else "q35"
        spice = ["-spice", f"unix=on,addr={self.spice_socket},disable-ticketing=on"] if self.spice_socket else []
        return [qemu, "-machine", machine, "-accel", self.accel, "-m", str(self.memory_mb), "-smp", "1",
                "-display", "none", "-vga", "none", "-no-reboot", "-nic", "none", "-nodefaults",
                "-serial", "stdio", "-monitor", f"unix:{self.monitor_path},server=on,wait=off",
                "-kernel", self.kernel.image, "-initrd", self.initrd, "-append", append,
                "-object", f"memory-backend-file,id=sgshm,share=on,mem-path={self.shm_path},"
                           f"size={self.shm_size_mb}M",
                "-device", "ivshmem-plain,memdev=sgshm",
                "-device", f"{self.gpu},xres={self.width},yres={self.height}"] + spice

    def start(self):
        cmd = self.command()
        log(f"{self.name}: " + " ".join(cmd))
        self.spawn(cmd)

    def monitor(self, command, timeout=20):
        """Run one HMP command; returns its output."""
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        s.connect(self.monitor_path)
        buf = b""
        try:
            while not buf.endswith(b"(qemu) "):
                buf += s.recv(4096)
            s.sendall(command.encode() + b"\n")
            buf = b""
            while not buf.endswith(b"(qemu) "):
                chunk = s.recv(4096)
                if not chunk:
                    break
                buf += chunk
        finally:
            s.close()
        return buf.decode(errors="replace")

    def screendump(self, path):
        """QEMU's own copy of the guest display as PPM: an independent view of the framebuffer."""
        if os.path.exists(path):
            os.unlink(path)
        self.monitor(f"screendump {path}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # written asynchronously on some versions
            if os.path.exists(path) and os.path.getsize(path) > 0:
                time.sleep(0.05)
                return path
            time.sleep(0.05)
        raise VmError(f"{self.name}: screendump {path} produced nothing")

    def send(self, text):
        """Type text on the guest's serial console (QEMU's stdin)."""
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def kill(self):
        self.stop(signal.SIGKILL)
        if os.path.exists(self.monitor_path):
            os.unlink(self.monitor_path)


def ack_probe(vm, shm_path, nonce, timeout):
    """Answer the guest's IVSHMEM probe: its bytes must appear in the region file, ours in its BAR.
    Returns the serial line's match (dev, bar2 size)."""
    m, t, _ = vm.wait_line(r"sg-vm: probe written dev=(\S+) bar2=(\d+)", timeout)
    want = f"SGVM-PROBE {nonce}".encode()
    with open(shm_path, "r+b") as f:
        where = os.fstat(f.fileno()).st_size - PROBE_FROM_END
        f.seek(where)
        got = f.read(len(want))
        if got != want:
            raise VmError(f"{shm_path}: guest wrote {want!r} into its BAR but offset {where} holds {got!r}")
        f.seek(where + 64)
        f.write(f"SGVM-ACK {nonce}".encode())
    log(f"{vm.name}: IVSHMEM probe seen in {shm_path} at {t:.2f} s (guest device {m.group(1)}, "
        f"BAR2 {m.group(2)} bytes)")
    vm.wait_line(r"sg-vm: ack seen", 30)
    return m


# ---------------------------------------------------------------------------------------------
# Images


def read_ppm(path):
    """(width, height, RGB bytes) of a binary P6 file."""
    data = open(path, "rb").read()
    m = re.match(rb"P6\s+(?:#.*\s+)*(\d+)\s+(\d+)\s+(\d+)\s", data)
    if not m or m.group(3) != b"255":
        raise VmError(f"{path}: not an 8-bit P6 image")
    w, h = int(m.group(1)), int(m.group(2))
    return w, h, data[m.end():m.end() + w * h * 3]


def read_png(path):
    """(width, height, RGB bytes) of an 8-bit, non-interlaced RGB/RGBA/grey/palette PNG."""
    import struct
    import zlib
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise VmError(f"{path}: not a PNG")
    pos, idat, hdr, plte = 8, b"", None, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            plte = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = hdr
    bpp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(ctype)
    if depth != 8 or interlace or bpp is None:
        raise VmError(f"{path}: unsupported PNG (depth {depth}, colour type {ctype}, interlace {interlace})")
    raw = zlib.decompress(idat)
    stride = w * bpp
    out = bytearray(h * stride)
    prev = bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for x in range(stride if f else 0):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + ((a + b) >> 1)) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out[y * stride:(y + 1) * stride] = line
        prev = line
    if bpp == 3:
        return w, h, bytes(out)
    if ctype == 3:
        return w, h, b"".join(plte[i * 3:i * 3 + 3] for i in out)
    rgb = bytearray(w * h * 3)
    for i in range(w * h):
        if bpp >= 3:
            rgb[i * 3:i * 3 + 3] = out[i * bpp:i * bpp + 3]
        else:
            rgb[i * 3:i * 3 + 3] = bytes([out[i * bpp]]) * 3
    return w, h, bytes(rgb)
