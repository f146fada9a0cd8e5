#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The real input path's latency, in a real VM (tests/vm/vm_input.py --bench): XTest motion on the
# client's display -> spyglass-client -> QEMU's SPICE server -> PS/2 mouse -> guest evdev ->
# sg-vm-input moves the KMS cursor plane (its serial line) -> spyglass-host -c kms -> cursor queue
# (sg-vm-watch) -> the client's window shows the cursor there. Prints p50/p99 of each stage.
# Usage: bash bench/vm/input_loop.sh BUILD_DIR [MOVES]
set -euo pipefail
B=$(cd "${1:?build dir}" && pwd)
N=${2:-100}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
for f in tests/vm/sg-vm-watch tests/vm/sg-vm-guest tests/vm/sg-vm-input client/spyglass-client tests/spice/spyglass-xprobe; do
    [ -x "$B/$f" ] || { echo "missing $B/$f (build with libdrm-dev, libxtst-dev and -Dvm_tests=true)" >&2; exit 1; }
done
cd "$B"
exec python3 "$SRC/tests/vm/vm_input.py" --source-root "$SRC" --build-root "$B" --main-host "$B/host/spyglass-host" \
    --watch tests/vm/sg-vm-watch --guest tests/vm/sg-vm-guest --input-guest tests/vm/sg-vm-input \
    --client client/spyglass-client --xprobe tests/spice/spyglass-xprobe --bench "$N"
