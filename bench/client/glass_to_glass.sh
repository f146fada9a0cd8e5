#!/usr/bin/env bash
# Glass-to-glass latency: a change on the guest's X display -> seen on the display where
# spyglass-client shows it, for frames and for the cursor, split into host and client shares
# from the programs' trace files; then CPU use with a still guest and a moving pointer.
# Usage: bash bench/client/glass_to_glass.sh BUILD_DIR [SAMPLES] [WxH]
# G2G_CLIENT_ARGS adds client options (e.g. win:vsync=yes win:partialDraw=no).
# G2G_NICE=-10 runs host, client and both X servers at that nice level (root only): a diagnostic
# of how much of the tail is waiting for a CPU on a loaded machine.
# G2G_SOUND=1: the same with the guest's sound playing: a private PulseAudio (as in tests/audio),
# the fake VM on the guest's display with its sound card playing a click train, and the client
# connected to it (spice:unix=, instead of spice:enable=no) playing that sound while it shows the
# x11 host's frames; fails unless the client plays throughout.
# G2G_SPICE=1: the same as G2G_SOUND=1 but the client's audio:enable=no (the SPICE connection,
# the fake VM and the idle sound server without the sound itself).
BUILD=${1:?build dir}
N=${2:-200}
SIZE=${3:-1280x720}
BUILD=$(cd "$BUILD" && pwd)
. "$(dirname "$0")/../../tests/audio/lib.sh"
SHM=/dev/shm/spyglass-g2g-$$
trap 'sg_cleanup; rm -f "$SHM"' EXIT
W=${SIZE%x*} H=${SIZE#*x}
NICE=()
[ -n "${G2G_NICE:-}" ] && NICE=(nice -n "$G2G_NICE")
SOUND=${G2G_SOUND:-0} SPICE=${G2G_SPICE:-0}
[ "$SOUND" = 1 ] && SPICE=1
MODE="no SPICE"
SPICE_ARGS=(spice:enable=no)
STATS=$SG_TMP/client.stats
if [ "$SPICE" = 1 ]; then
    sg_have_pulse || fail "G2G_SOUND/G2G_SPICE need pulseaudio and pactl (scripts/deps.sh)"
    sg_pulse
    SPICE_ARGS=("spice:unix=$SG_TMP/spice.sock")
    if [ "$SOUND" = 1 ]; then MODE="the guest's sound playing"; else MODE="SPICE, audio:enable=no"; SPICE_ARGS+=(audio:enable=no); fi
fi
sg_xvfb "$SIZE"; G=$SG_DISPLAY
[ -n "${G2G_NICE:-}" ] && renice -n "$G2G_NICE" -p "${SG_PIDS[-1]}" >/dev/null
# The fake VM is the VM: its input goes to the guest's display, its sound card plays.
[ "$SPICE" = 1 ] && sg_fakevm_playing "$SG_TMP/spice.sock"
DISPLAY=$G "${NICE[@]}" "$BUILD/host/spyglass-host" -c x11 -f "$SHM" -s 32 -T "$SG_TMP/host.trace" >"$SG_TMP/host.log" 2>&1 &
HOST_PID=$!
SG_PIDS+=($HOST_PID)
# The client's display has a strip below the window where its pointer rests: with SPICE on and the
# pointer over the window, the client's cursor synchronisation would act on the bench's guest
# moves, either warping the local pointer after each (whose motion events start the client's
# fast poll, speeding up the next frame sample) or, if the bench started within 300 ms of the
# window's first placement of the guest cursor, putting the guest cursor back under the pointer
# after each move. Neither depends on the sound; both would blur what is compared here.
sg_xvfb "${W}x$((H + 16))"; C=$SG_DISPLAY
[ -n "${G2G_NICE:-}" ] && renice -n "$G2G_NICE" -p "${SG_PIDS[-1]}" >/dev/null
sg_warp 0 $((H + 8)) >/dev/null || fail "cannot move the pointer of the client's display $C out of the window"
DISPLAY=$C LIBGL_ALWAYS_SOFTWARE=1 SPYGLASS_NO_USER_CONFIG=1 "${NICE[@]}" "$BUILD/client/spyglass-client" -f "$SHM" \
    "${SPICE_ARGS[@]}" win:x=0 win:y=0 -d win:autoResize=no win:width=$W win:height=$H win:vsync=no \
    app:traceFile="$SG_TMP/client.trace" app:statsFile="$STATS" ${G2G_CLIENT_ARGS:-} >"$SG_TMP/client.log" 2>&1 &
CLIENT_PID=$!
SG_PIDS+=($CLIENT_PID)
LOG=$SG_TMP/client.log
sg_wait_for 15 grep -q 'connected to host' "$LOG" || fail "client did not attach: $(cat "$LOG")"
if [ "$SPICE" = 1 ]; then
    sg_wait_for 15 grep -q 'SPICE connected' "$LOG" || fail "client did not connect to the fake VM: $(cat "$LOG")"
    if [ "$SOUND" = 1 ]; then
        sg_require_playing "$STATS" "$LOG"
    else
        sg_wait_for 5 test -s "$STATS" || fail "no statistics file from the client"
        [ "$(sg_stat "$STATS" audio)" = off ] && sg_streams sink-inputs -eq 0 ||
            fail "audio:enable=no, yet audio=$(sg_stat "$STATS" audio) and $(sg_sink_inputs) playback streams"
    fi
fi
# CPU seconds of a process's threads (schedstat, ns): the fake VM's and the sound server's share
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%d", s }'; }
[ "$SOUND" = 1 ] && sg_stats_next "$STATS"
FRAMES0=$(sg_stat "$STATS" audio_frames) SINCE=$EPOCHREALTIME
[ "$SPICE" = 1 ] && VM0=$(cpu_ns "$SG_FAKEVM_PID") PA0=$(cpu_ns "$SG_PULSE_PID")
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores; guest $SIZE; $MODE${G2G_NICE:+; nice $G2G_NICE}"
"$BUILD/bench/client/glass-to-glass" "$G" "$C" "$N" "$SG_TMP/host.trace" "$SG_TMP/client.trace" "$HOST_PID" "$CLIENT_PID" ||
    fail "glass-to-glass failed"
if [ "$SPICE" = 1 ]; then
    VM=$(($(cpu_ns "$SG_FAKEVM_PID") - VM0)) PA=$(($(cpu_ns "$SG_PULSE_PID") - PA0)) UNTIL=$EPOCHREALTIME
    # first: a sound server that went has no CPU figure to give
    [ "$SOUND" = 1 ] && sg_sound_during "$STATS" "$LOG" "${FRAMES0:-0}" "$SINCE"
    awk -v vm="$VM" -v pa="$PA" -v a="$SINCE" -v b="$UNTIL" 'BEGIN { s = b - a
        printf "CPU over the whole run (%.0f s), %% of one core: fake VM %.2f, sound server %.2f\n", s, vm / s / 1e7, pa / s / 1e7 }'
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
