#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Boot the test VM by hand: a Debian kernel, a busybox initramfs and (optionally) a static
spyglass-host inside, the region as a file on this side. Runs until Ctrl-C or the guest stops.

  tests/vm/vm-run.py --guest build/tests/vm/sg-vm-guest --host build-static/host/spyglass-host \\
      --shm /dev/shm/looking-glass
  spyglass-client -f /dev/shm/looking-glass      # in another terminal
"""
import argparse
import os
import shutil
import signal
import sys
import tempfile
import time

import vmlib


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--guest", required=True, help="static sg-vm-guest (built as tests/vm/sg-vm-guest)")
    ap.add_argument("--host", help="static spyglass-host to start in the guest (default: none)")
    ap.add_argument("--host-args", default="-f ivshmem -c fbdev", help="its arguments (default: %(default)s)")
    ap.add_argument("--shm", default=f"/dev/shm/spyglass-vm-run-{os.getpid()}",
                    help="region file on this side (default: /dev/shm/spyglass-vm-run-PID)")
    ap.add_argument("--size-mb", type=int, default=32, help="region size in MiB (default: %(default)s)")
    ap.add_argument("--keep-shm", action="store_true", help="reuse an existing region file instead of a fresh one")
    ap.add_argument("--accel", default=None, help="tcg or kvm (default: tcg, or $SPYGLASS_VM_ACCEL)")
    ap.add_argument("--size", default="1024x768", help="guest display WxH (default: %(default)s)")
    a = ap.parse_args()

    try:
        kernel = vmlib.prepare_kernel()
    except vmlib.Skip as e:
        print(f"vm-run: {e}", file=sys.stderr)
        return 1
    if a.host and not vmlib.is_static_elf(a.host):
        print(f"vm-run: {a.host} is not statically linked; the initramfs has no libc", file=sys.stderr)
        return 1
    w, h = (int(v) for v in a.size.split("x"))
    work = tempfile.mkdtemp(prefix="spyglass-vm-run-")
    nonce = f"run{os.getpid()}"
    initrd = os.path.join(work, "initrd.cpio")
    vmlib.build_initrd(initrd, kernel, a.guest, a.host, a.host_args, nonce)
    if not (a.keep_shm and os.path.exists(a.shm)):
        vmlib.create_shm(a.shm, a.size_mb << 20)
    vm = vmlib.Vm(kernel, initrd, a.shm, a.size_mb, work, accel=a.accel, width=w, height=h,
                  log_path=os.path.join(work, "serial.log"))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        vm.start()
        vmlib.ack_probe(vm, a.shm, nonce, timeout=60)
        last = 0
        while vm.running():
            with vm.cond:
                new, last = vm.lines[last:], len(vm.lines)
            for t, text in new:
                print(f"{t:7.2f} {text}", flush=True)
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    except vmlib.VmError as e:
        print(f"vm-run: {e}", file=sys.stderr)
        return 1
    finally:
        vm.kill()
        shutil.rmtree(work, ignore_errors=True)
        print(f"vm-run: region {a.shm} left in place", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
