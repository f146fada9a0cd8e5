# Shared by the sound test scripts and bench/audio: the SPICE test helpers (temp dir, Xvfb,
# fake VM, cleanup) plus a private PulseAudio daemon with null sinks.
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
    pactl set-default-sink nul >/dev/null && pactl set-default-source mic.monitor >/dev/null ||
        fail "cannot set the default sink/source"
}

# sg_pulse_stop -> the daemon ends (as when a user's sound server restarts)
sg_pulse_stop() {
    kill "$SG_PULSE_PID" 2>/dev/null
    wait "$SG_PULSE_PID" 2>/dev/null
}

# sg_sink_inputs -> the number of playback streams on the server
sg_sink_inputs() { pactl list short sink-inputs 2>/dev/null | wc -l; }
sg_source_outputs() { pactl list short source-outputs 2>/dev/null | grep -vc sndprobe; }

# sg_boost PID -> as root, the fake VM (the test's guest) gets the scheduling a VM's audio
# timer would: nice -10. Its stalls on a machine loaded by other work would otherwise show up
# as the client's underruns. The client keeps its normal priority: it is what is measured.
sg_boost() { [ "$(id -u)" = 0 ] && renice -n -10 -p "$1" >/dev/null 2>&1; true; }
