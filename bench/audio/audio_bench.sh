#!/usr/bin/env bash
# Sound latency, spyglass-client against remote-viewer (spice-gtk's own sound, GStreamer to
# PulseAudio) on the same fake VM, the same private PulseAudio and the same probe:
#   playback: fake VM put -> rendered by the sound server (its null sink's monitor), p50/p99
#   record:   rendered into the microphone source -> received by the fake VM, p50/p99
# then the drift soak (tests/audio/soak.sh: +0.5 % then -0.5 %, SOAK seconds each, counts of
# underruns, overruns, gaps, lost clicks and the latency range).
#
#   bash bench/audio/audio_bench.sh BUILD [ROUNDS=3] [LISTEN_SECONDS=20] [SOAK_SECONDS=150]
# SOAK_SECONDS=0 skips the soak. Prints the machine's load with each figure.
BUILD=${1:?build dir}
ROUNDS=${2:-3}
LISTEN=${3:-20}
SOAK=${4:-150}
HERE=$(cd "$(dirname "$0")" && pwd)
T=$HERE/../../tests/audio
. "$T/lib.sh"
sg_have_pulse || { echo "pulseaudio is not installed (scripts/deps.sh)"; exit 1; }
AN="python3 $T/analyse.py"
PROBE=$BUILD/tests/audio/spyglass-sndprobe
HAVE_RV=1
command -v remote-viewer >/dev/null || { HAVE_RV=0; echo "remote-viewer not installed (Debian package virt-viewer): reference skipped"; }

sg_pulse
sg_xvfb 640x480
SOCK=$SG_TMP/spice.sock
val() { sed -n "s/^$1=//p" "$2"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

# viewer NAME -> starts it against $SOCK; sets VIEWER_PID
viewer() {
    case $1 in
    spyglass)
        DISPLAY=$SG_DISPLAY LIBGL_ALWAYS_SOFTWARE=1 "$BUILD/client/spyglass-client" -f "/dev/shm/spyglass-none-$$" \
            "spice:unix=$SOCK" win:vsync=no win:autoResize=no win:width=320 win:height=240 audio:micDefault=allow \
            "app:statsFile=$SG_TMP/stats" >>"$SG_TMP/spyglass.log" 2>&1 & ;;
    remote-viewer)
        DISPLAY=$SG_DISPLAY remote-viewer "spice+unix://$SOCK" >>"$SG_TMP/rv.log" 2>&1 & ;;
    esac
    VIEWER_PID=$!
    SG_PIDS+=($VIEWER_PID)
}
stop_all() { kill "$VIEWER_PID" "$SG_FAKEVM_PID" 2>/dev/null; wait "$VIEWER_PID" "$SG_FAKEVM_PID" 2>/dev/null; }
wait_stream() { sg_wait_for 30 sg_streams "$1" -ge 1; }

declare -A P50 P99 R50 R99
viewers=(spyglass)
[ $HAVE_RV = 1 ] && viewers+=(remote-viewer)
for round in $(seq "$ROUNDS"); do
    for v in "${viewers[@]}"; do
        # playback
        FLOG=$SG_TMP/play-$v-$round.log
        sg_fakevm "$SOCK" --audio-clicks --audio-log "$FLOG"
        sg_boost "$SG_FAKEVM_PID"
        viewer "$v"
        wait_stream sink-inputs || { echo "$v: no playback stream"; stop_all; continue; }
        sleep 2 # past the start (the first blocks, the controller settling)
        "$PROBE" listen nul.monitor "$LISTEN" >"$SG_TMP/probe-$v-$round"
        stop_all
        $AN clicks "$FLOG" "$SG_TMP/probe-$v-$round" >"$SG_TMP/a-$v-$round"
        P50[$v]+="$(val p50_ms "$SG_TMP/a-$v-$round") " P99[$v]+="$(val p99_ms "$SG_TMP/a-$v-$round") "
        echo "round $round $v playback: $(tr '\n' ' ' <"$SG_TMP/a-$v-$round")load $(load)"
        # record
        FLOG=$SG_TMP/rec-$v-$round.log
        sg_fakevm "$SOCK" --audio-record 44100 --audio-log "$FLOG"
        sg_boost "$SG_FAKEVM_PID"
        viewer "$v"
        wait_stream source-outputs || { echo "$v: no capture stream"; stop_all; continue; }
        sleep 1
        "$PROBE" counter mic 44100 "$((LISTEN / 2))" >"$SG_TMP/counter-$v-$round"
        sleep 0.5
        stop_all
        $AN record "$FLOG" "$SG_TMP/counter-$v-$round" >"$SG_TMP/r-$v-$round"
        R50[$v]+="$(val p50_ms "$SG_TMP/r-$v-$round") " R99[$v]+="$(val p99_ms "$SG_TMP/r-$v-$round") "
        echo "round $round $v record:   $(tr '\n' ' ' <"$SG_TMP/r-$v-$round")load $(load)"
    done
done

median() { python3 -c "import sys, statistics; v=[float(x) for x in sys.argv[1:] if x != 'nan']; print('%.1f' % statistics.median(v) if v else 'n/a')" "$@"; }
echo
echo "== sound latency, median of $ROUNDS rounds of ${LISTEN} s (ms; playback: fake VM put -> sound server; record: source -> fake VM)"
printf '%-16s %12s %12s %12s %12s\n' viewer "play p50" "play p99" "record p50" "record p99"
for v in "${viewers[@]}"; do
    # shellcheck disable=SC2086
    printf '%-16s %12s %12s %12s %12s\n' "$v" "$(median ${P50[$v]})" "$(median ${P99[$v]})" "$(median ${R50[$v]})" \
        "$(median ${R99[$v]})"
done
echo "per round: $(for v in "${viewers[@]}"; do echo -n "$v play p50 [${P50[$v]}] "; done)"
echo "load at the end: $(load)  (2 cores)"

if [ "$SOAK" -gt 0 ]; then
    echo
    bash "$HERE/soak.sh" "$BUILD" "$SOAK"
fi
