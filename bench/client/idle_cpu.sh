#!/usr/bin/env bash
# CPU and wakes per thread of spyglass-host (x11 capture) and spyglass-client with a still guest:
# where a still desktop's cost goes. Per-thread schedstat (ns) and context switches over SECONDS.
# Usage: bash bench/client/idle_cpu.sh BUILD_DIR [SECONDS]
# IDLE_CLIENT_ARGS adds client options.
BUILD=${1:?build dir}
SECS=${2:-10}
BUILD=$(cd "$BUILD" && pwd)
. "$(dirname "$0")/../../tests/spice/lib.sh"
SHM=/dev/shm/spyglass-idle-$$
trap 'sg_cleanup; rm -f "$SHM"' EXIT
sg_xvfb 1280x720; G=$SG_DISPLAY
DISPLAY=$G "$BUILD/host/spyglass-host" -c x11 -f "$SHM" -s 32 >"$SG_TMP/host.log" 2>&1 &
HOST_PID=$!
SG_PIDS+=($HOST_PID)
sg_xvfb 1280x720; C=$SG_DISPLAY
DISPLAY=$C LIBGL_ALWAYS_SOFTWARE=1 SPYGLASS_NO_USER_CONFIG=1 "$BUILD/client/spyglass-client" -f "$SHM" \
    spice:enable=no win:x=0 win:y=0 -d win:autoResize=no win:width=1280 win:height=720 win:vsync=no \
    ${IDLE_CLIENT_ARGS:-} >"$SG_TMP/client.log" 2>&1 &
CLIENT_PID=$!
SG_PIDS+=($CLIENT_PID)
sg_wait_for 15 grep -q 'connected to host' "$SG_TMP/client.log" || fail "client did not attach: $(cat "$SG_TMP/client.log")"
sleep 3 # past the slow-poll thresholds: a still guest, as measured
snap() {
    local pid t
    for pid in $HOST_PID $CLIENT_PID; do
        for t in /proc/$pid/task/*; do
            echo "$pid ${t##*/} $(tr ' ' _ <"$t/comm") $(cut -d' ' -f1 "$t/schedstat") $(awk '/ctxt_switches/ {n += $2} END {print n}' "$t/status")"
        done
    done
}
snap >"$SG_TMP/a"
sleep "$SECS"
snap >"$SG_TMP/b"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); still guest 1280x720, $SECS s"
join -j 2 <(sort -k2 "$SG_TMP/a") <(sort -k2 "$SG_TMP/b") | awk -v s="$SECS" -v hp="$HOST_PID" '
    { who = ($2 == hp) ? "host" : "client"; cpu = ($8 - $4) / 1e9 / s * 100; w = ($9 - $5) / s
      if (w > 0 || cpu > 0.0005) printf "%-6s %-18s %6.3f %% of a core  %7.1f wakes/s\n", who, $3, cpu, w
      tot[who] += cpu }
    END { printf "total: host %.3f %%, client %.3f %%, both %.3f %%\n", tot["host"], tot["client"], tot["host"] + tot["client"] }'
