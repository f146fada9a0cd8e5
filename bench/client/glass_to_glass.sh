#!/usr/bin/env bash
# Glass-to-glass latency: a change on the guest's X display -> seen on the display where
# spyglass-client shows it, for frames and for the cursor, split into host and client shares
# from the programs' trace files; then CPU use with a still guest and a moving pointer.
# Usage: bash bench/client/glass_to_glass.sh BUILD_DIR [SAMPLES] [WxH]
# G2G_CLIENT_ARGS adds client options (e.g. win:vsync=yes win:partialDraw=no).
# G2G_NICE=-10 runs host, client and both X servers at that nice level (root only): a diagnostic
# of how much of the tail is waiting for a CPU on a loaded machine.
BUILD=${1:?build dir}
N=${2:-200}
SIZE=${3:-1280x720}
BUILD=$(cd "$BUILD" && pwd)
. "$(dirname "$0")/../../tests/spice/lib.sh"
SHM=/dev/shm/spyglass-g2g-$$
trap 'sg_cleanup; rm -f "$SHM"' EXIT
W=${SIZE%x*} H=${SIZE#*x}
NICE=()
[ -n "${G2G_NICE:-}" ] && NICE=(nice -n "$G2G_NICE")
sg_xvfb "$SIZE"; G=$SG_DISPLAY
[ -n "${G2G_NICE:-}" ] && renice -n "$G2G_NICE" -p "${SG_PIDS[-1]}" >/dev/null
DISPLAY=$G "${NICE[@]}" "$BUILD/host/spyglass-host" -c x11 -f "$SHM" -s 32 -T "$SG_TMP/host.trace" >"$SG_TMP/host.log" 2>&1 &
HOST_PID=$!
SG_PIDS+=($HOST_PID)
sg_xvfb "$SIZE"; C=$SG_DISPLAY
[ -n "${G2G_NICE:-}" ] && renice -n "$G2G_NICE" -p "${SG_PIDS[-1]}" >/dev/null
DISPLAY=$C LIBGL_ALWAYS_SOFTWARE=1 SPYGLASS_NO_USER_CONFIG=1 "${NICE[@]}" "$BUILD/client/spyglass-client" -f "$SHM" \
    spice:enable=no win:x=0 win:y=0 -d win:autoResize=no win:width=$W win:height=$H win:vsync=no \
    app:traceFile="$SG_TMP/client.trace" ${G2G_CLIENT_ARGS:-} >"$SG_TMP/client.log" 2>&1 &
CLIENT_PID=$!
SG_PIDS+=($CLIENT_PID)
sg_wait_for 15 grep -q 'connected to host' "$SG_TMP/client.log" || fail "client did not attach: $(cat "$SG_TMP/client.log")"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; guest $SIZE${G2G_NICE:+; nice $G2G_NICE}"
"$BUILD/bench/client/glass-to-glass" "$G" "$C" "$N" "$SG_TMP/host.trace" "$SG_TMP/client.trace" "$HOST_PID" "$CLIENT_PID"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
