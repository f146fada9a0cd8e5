# Shared by the sound test scripts and bench/audio: the SPICE test helpers (temp dir, Xvfb,
# fake VM, cleanup) plus a private PulseAudio daemon with null sinks.
# The temp folder in memory: on a disk busy with other work a write (the fake VM's log, the
# daemon's files) can block for 100 ms and more, which the sound tests would see as stalls.
[ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
# shellcheck source=../spice/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../spice/lib.sh"

# sg_have_pulse -> false when the sound server or its tools are missing (the caller skips).
sg_have_pulse() { command -v pulseaudio >/dev/null && command -v pactl >/dev/null; }

# sg_pulse [SINK_ARGS...] -> a private daemon in $SG_TMP/pulse (no D-Bus, no hardware) with a
# null sink "nul" (48 kHz; its monitor is what the user would hear) and a null sink "mic"
# (44.1 kHz; its monitor is the microphone the client captures from, set as the default
# source). Exports PULSE_RUNTIME_PATH/PULSE_SERVER for everything started afterwards.
# norewinds=1: see ../shared/notes/sound-server-in-tests.md (a new stream stalled up to 1 s).
sg_pulse() {
    export PULSE_RUNTIME_PATH=$SG_TMP/pulse HOME=$SG_TMP/home
    export PULSE_SERVER=unix:$PULSE_RUNTIME_PATH/native
    mkdir -p "$PULSE_RUNTIME_PATH" "$HOME"
    sg_pulse_start
}

# Like a desktop's sound server (rtkit gives it real-time scheduling): as root, the daemon
# runs real-time, so a machine loaded by other work does not starve the device clock.
SG_PULSE_PRIO=
[ "$(id -u)" = 0 ] && SG_PULSE_PRIO="--realtime=yes --high-priority=yes"

sg_pulse_start() {
    pulseaudio -n --daemonize=no --exit-idle-time=-1 --disallow-exit --log-target=stderr $SG_PULSE_PRIO \
        -L module-native-protocol-unix \
        -L "module-null-sink sink_name=nul rate=48000 norewinds=1" \
        -L "module-null-sink sink_name=mic rate=44100 norewinds=1" \
        -L "module-always-sink" >>"$SG_TMP/pulse.log" 2>&1 &
    SG_PULSE_PID=$!
    SG_PIDS+=($SG_PULSE_PID)
    sg_wait_for 20 pactl info || fail "the test's PulseAudio did not start: $(tail -5 "$SG_TMP/pulse.log")"
    # --realtime makes only the sink's thread real-time; the main thread, which takes the
    # clients' blocks off their sockets and hands them to the sink, stays at nice -11 and, on a
    # machine busy with other work, held the sound up by 80 to 200 ms now and then. A desktop's
    # sound server (PipeWire's data thread) is real-time throughout.
    sg_boost "$SG_PULSE_PID"
    pactl set-default-sink nul >/dev/null && pactl set-default-source mic.monitor >/dev/null ||
        fail "cannot set the default sink/source"
}

# sg_pulse_stop -> the daemon ends (as when a user's sound server restarts)
sg_pulse_stop() {
    kill "$SG_PULSE_PID" 2>/dev/null
    wait "$SG_PULSE_PID" 2>/dev/null
}

# sg_streams sink-inputs|source-outputs OP N -> the number of the server's playback / capture streams
# compare to N (for sg_wait_for, which runs it again each time); none of the probe's may run
sg_streams() {
    local n
    n=$(pactl list short "$1" 2>/dev/null | wc -l)
    [ "$n" "$2" "$3" ]
}

# sg_sink_inputs -> the number of playback streams on the server
sg_sink_inputs() { pactl list short sink-inputs 2>/dev/null | wc -l; }
sg_source_outputs() { pactl list short source-outputs 2>/dev/null | wc -l; }

# sg_boost PID -> as root, the fake VM (the test's guest) runs real-time, as a VM's audio
# thread is commonly set up to: its stalls on a machine loaded by other work would otherwise
# show up as the client's underruns. The client asks for its own priority (doc/audio.md).
sg_boost() { [ "$(id -u)" = 0 ] && chrt -a -r -p "${2:-5}" "$1" >/dev/null 2>&1; true; }

# sg_rt CMD... -> runs CMD real-time like sg_boost (the probe: its reads time the clicks)
sg_rt() { if [ "$(id -u)" = 0 ]; then chrt -r 5 "$@"; else "$@"; fi; }

# sg_boost_display -> the same for the X server sg_xvfb started (the guest's display): the fake
# VM's main loop, which also plays the sound, makes round trips to it (keyboard LEDs every
# 100 ms, XTest), so a starved X server stalled the guest's sound by 150 to 250 ms with two
# busy loops running. In a real VM the guest's X server runs on the vCPUs and never holds up
# the emulated sound card; real-time here restores that independence. Priority 1: above all
# normal work, below the sound path (5), because the X server also does real work (drawing the
# client's window) and SCHED_RR would let it hold a core for its 100 ms time slice against
# threads of its own priority.
sg_boost_display() {
    local p
    for p in $(pgrep -P "$SG_XVFB_PID" 2>/dev/null); do sg_boost "$p" 1; done
}

# --- for the benches that measure the picture, cursor or input with the guest's sound playing
# (bench/spice/input_latency.sh, bench/client/glass_to_glass.sh)

# sg_fakevm_playing SOCKET [ARGS...] -> sg_fakevm on SG_DISPLAY with its sound card playing the
# click train (48 kHz stereo raw PCM), real-time like a VM's sound device thread (sg_boost)
sg_fakevm_playing() {
    local sock=$1; shift
    sg_fakevm "$sock" "$@" --audio-clicks
    sg_boost "$SG_FAKEVM_PID"
}

# sg_stat FILE KEY -> the value of KEY in the client's app:statsFile
sg_stat() { sed -n "s/^$2=//p" "$1" 2>/dev/null; }

# sg_stats_next STATS -> waits for the client's next write of its statistics file (each second,
# written beside it and renamed into place: a new inode), so what is read next is of now
sg_stats_next() {
    local was
    was=$(stat -c %i "$1" 2>/dev/null)
    sg_wait_for 5 sh -c '[ "$(stat -c %i "$1" 2>/dev/null)" != "$2" ]' _ "$1" "$was"
}

# sg_require_playing STATS LOG -> fails (naming what is missing) unless the client plays the
# guest's sound: its statistics say audio=playing and the sound server has its playback stream
sg_require_playing() {
    sg_wait_for 20 grep -q '^audio=playing' "$1" ||
        fail "the client does not play the guest's sound (stats: audio=$(sg_stat "$1" audio)): $(grep -E 'audio|spice' "$2" | tail -5)"
    sg_streams sink-inputs -ge 1 ||
        fail "the client says audio=playing, yet the sound server has no playback stream ($(pactl list short sink-inputs 2>&1))"
}

# sg_sound_during STATS LOG FRAMES_BEFORE SINCE -> after a measurement that began at SINCE
# ($EPOCHREALTIME), FRAMES_BEFORE being audio_frames read then, right after sg_stats_next: fails
# unless the client still plays and took at least 80 % of that time's worth of the guest's sound
# meanwhile (a stream that stopped, or a client that stopped reading, would not); prints what it
# played
sg_sound_during() {
    local stats=$1 log=$2 before=$3 since=$4 after rate secs
    sg_require_playing "$stats" "$log"
    sg_stats_next "$stats"
    secs=$(awk -v a="$since" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    after=$(sg_stat "$stats" audio_frames) rate=$(sg_stat "$stats" audio_rate)
    [ -n "$after" ] && [ -n "$rate" ] && awk -v f=$((after - before)) -v r="$rate" -v s="$secs" 'BEGIN { exit !(f >= 0.8 * r * s) }' ||
        fail "the client took $((${after:-0} - before)) frames of the guest's sound in $secs s (${rate:-?} Hz): it did not play throughout"
    echo "sound during the run: $(awk -v f=$((after - before)) -v r="$rate" 'BEGIN { printf "%.1f", f / r }') s played in $secs s, $(grep -E '^audio_(latency_ms|underruns|overruns)=' "$stats" | tr '\n' ' ')"
}
