#!/usr/bin/env bash
# Input -> guest-cursor-drawn latency through the whole loop (client -> SPICE -> fakevm ->
# guest X -> spyglass-host x11 -> shared memory -> client). Usage:
#   bash bench/spice/input_latency.sh BUILD_DIR [SAMPLES]
# INPUT_LATENCY_CLIENT_ARGS adds client options (e.g. app:inputPollUs=0 for the plain 1 ms poll).
BUILD=${1:?build dir}
N=${2:-300}
BUILD=$(cd "$BUILD" && pwd)
. "$(dirname "$0")/../../tests/spice/lib.sh"
SHM=/dev/shm/spyglass-spice-bench-$$
trap 'sg_cleanup; rm -f "$SHM"' EXIT
sg_xvfb 1024x768; G=$SG_DISPLAY
SOCK=$SG_TMP/spice.sock
sg_fakevm "$SOCK" --accel 1/1/0
DISPLAY=$G "$BUILD/host/spyglass-host" -c x11 -f "$SHM" -s 16 >"$SG_TMP/host.log" 2>&1 &
SG_PIDS+=($!)
sg_xvfb 1280x1024; C=$SG_DISPLAY
DISPLAY=$C LIBGL_ALWAYS_SOFTWARE=1 "$BUILD/client/spyglass-client" -f "$SHM" "spice:unix=$SOCK" \
    win:x=0 win:y=0 -d win:autoResize=no win:width=1024 win:height=768 win:vsync=no ${INPUT_LATENCY_CLIENT_ARGS:-} >"$SG_TMP/client.log" 2>&1 &
SG_PIDS+=($!)
sg_wait_for 15 grep -q 'SPICE connected' "$SG_TMP/client.log" || fail "client did not connect: $(cat "$SG_TMP/client.log")"
sg_wait_for 15 grep -q 'connected to host' "$SG_TMP/client.log" || fail "client did not attach: $(cat "$SG_TMP/client.log")"
sleep 1
"$BUILD/bench/spice/spice-input-latency" "$C" "$G" "$N"
