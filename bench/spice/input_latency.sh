#!/usr/bin/env bash
# Input -> guest-cursor-drawn latency through the whole loop (client -> SPICE -> fakevm ->
# guest X -> spyglass-host x11 -> shared memory -> client). Usage:
#   bash bench/spice/input_latency.sh BUILD_DIR [SAMPLES] [--sound|--both]
# --sound: the fake VM plays sound during the run (its click train, 48 kHz stereo raw PCM,
# through the SPICE playback channel) and the client plays it to a private PulseAudio (as in
# tests/audio); --both: a run without sound, then one with, and both figures side by side.
# INPUT_LATENCY_CLIENT_ARGS adds client options (e.g. app:inputPollUs=0 for the plain 1 ms poll).
BUILD=${1:?build dir}
N=${2:-300}
MODE=${3:-}
case $MODE in "" | --sound | --both) ;; *) echo "unknown switch $MODE (--sound or --both)" >&2; exit 2 ;; esac
BUILD=$(cd "$BUILD" && pwd)
. "$(dirname "$0")/../../tests/audio/lib.sh"
SHM=/dev/shm/spyglass-spice-bench-$$
trap 'sg_cleanup; rm -f "$SHM"' EXIT
if [ -n "$MODE" ]; then
    sg_have_pulse || fail "--sound needs pulseaudio and pactl (scripts/deps.sh)"
    sg_pulse
fi
sg_xvfb 1024x768; G=$SG_DISPLAY
sg_xvfb 1280x1024; C=$SG_DISPLAY
SOCK=$SG_TMP/spice.sock

# once SOUND(0/1) -> one run; its figures in $SG_TMP/figures.SOUND
once() {
    local sound=$1 pids=() p
    rm -f "$SHM" "$SOCK"
    SG_DISPLAY=$G # sg_fakevm replays the input on this display: the guest's
    if [ "$sound" = 1 ]; then
        sg_fakevm_playing "$SOCK" --accel 1/1/0
    else
        sg_fakevm "$SOCK" --accel 1/1/0
    fi
    pids+=("$SG_FAKEVM_PID")
    DISPLAY=$G "$BUILD/host/spyglass-host" -c x11 -f "$SHM" -s 16 >"$SG_TMP/host.$sound.log" 2>&1 &
    pids+=($!)
    SG_PIDS+=($!)
    DISPLAY=$C LIBGL_ALWAYS_SOFTWARE=1 "$BUILD/client/spyglass-client" -f "$SHM" "spice:unix=$SOCK" \
        win:x=0 win:y=0 -d win:autoResize=no win:width=1024 win:height=768 win:vsync=no \
        "app:statsFile=$SG_TMP/stats.$sound" ${INPUT_LATENCY_CLIENT_ARGS:-} >"$SG_TMP/client.$sound.log" 2>&1 &
    pids+=($!)
    SG_PIDS+=($!)
    local log=$SG_TMP/client.$sound.log
    sg_wait_for 15 grep -q 'SPICE connected' "$log" || fail "client did not connect: $(cat "$log")"
    sg_wait_for 15 grep -q 'connected to host' "$log" || fail "client did not attach: $(cat "$log")"
    local stats=$SG_TMP/stats.$sound frames0 since
    [ "$sound" = 1 ] && sg_require_playing "$stats" "$log"
    sleep 1
    [ "$sound" = 1 ] && sg_stats_next "$stats"
    frames0=$(sg_stat "$stats" audio_frames) since=$EPOCHREALTIME
    "$BUILD/bench/spice/spice-input-latency" "$C" "$G" "$N" | tee "$SG_TMP/figures.$sound"
    [ "$sound" = 1 ] && sg_sound_during "$stats" "$log" "${frames0:-0}" "$since"
    for ((p = ${#pids[@]} - 1; p >= 0; p--)); do sg_stop "${pids[p]}"; done
}

case $MODE in
"") once 0 ;;
--sound) echo "== with the guest's sound playing"; once 1 ;;
--both)
    echo "== without sound"; once 0
    echo; echo "== with the guest's sound playing"; once 1
    echo
    echo "== side by side ($N samples each, load at the end: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"
    printf '%-28s %22s %22s\n' "" "without sound p50/p99" "with sound p50/p99"
    for what in "input -> cursor drawn" "SPICE (input -> guest X)" "capture (guest -> drawn)"; do
        a=$(grep -F "$what" "$SG_TMP/figures.0" | sed -E 's/.*p50 +([0-9.]+) ms +p99 +([0-9.]+) ms.*/\1 \/ \2/')
        b=$(grep -F "$what" "$SG_TMP/figures.1" | sed -E 's/.*p50 +([0-9.]+) ms +p99 +([0-9.]+) ms.*/\1 \/ \2/')
        printf '%-28s %19s ms %19s ms\n' "$what" "$a" "$b"
    done
    ;;
esac
