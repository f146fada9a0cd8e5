#!/usr/bin/env bash
# Sound faults the viewer must live through:
#  - a guest sound format the client cannot play (here 1 MHz): one clear message, no stream,
#    and the picture (a test-pattern host) and input (a key held in the client window reaches
#    the guest's X display) go on;
#  - no sound server at all: one warning, however long it stays away, and the viewer works.
BUILD=${1:?build dir}
. "$(dirname "$0")/lib.sh"
sg_have_pulse || { echo "SKIP: pulseaudio/pactl not installed (scripts/deps.sh installs them)"; exit 77; }
command -v xdotool >/dev/null || { echo "SKIP: xdotool missing"; exit 77; }
SHM=/dev/shm/spyglass-audio-faults-$$
trap 'sg_cleanup; rm -f "$SHM"' EXIT

sg_pulse
sg_xvfb 320x240; G=$SG_DISPLAY
sg_xvfb 400x300; C=$SG_DISPLAY
SOCK=$SG_TMP/spice.sock
STATS=$SG_TMP/stats
val() { sed -n "s/^$1=//p" "$2"; }
"$BUILD/host/spyglass-host" -c testpattern -o testpattern:width=320 -o testpattern:height=240 -f "$SHM" -s 16 \
    >"$SG_TMP/host.log" 2>&1 &
SG_PIDS+=($!)

start_client() {
    CLOG=$SG_TMP/client-$1.log
    DISPLAY=$C LIBGL_ALWAYS_SOFTWARE=1 "$BUILD/client/spyglass-client" -f "$SHM" "spice:unix=$SOCK" win:x=0 win:y=0 \
        win:vsync=no win:autoResize=no win:width=320 win:height=240 "app:statsFile=$STATS" >"$CLOG" 2>&1 &
    CLIENT_PID=$!
    SG_PIDS+=($CLIENT_PID)
    sg_wait_for 20 grep -q 'SPICE connected' "$CLOG" || fail "the client did not connect: $(tail -5 "$CLOG")"
}
frames() { val frames "$STATS"; }
frames_above() { [ "$(frames)" -gt "$1" ]; }
# input_goes_on: a key held in the client window is held on the guest's display
input_goes_on() {
    local wid
    wid=$(DISPLAY=$C xdotool search --sync --name Spyglass | head -1)
    DISPLAY=$C xdotool windowfocus --sync "$wid" keydown shift
    sg_wait_for 5 sh -c "DISPLAY=$G '$BUILD/tests/spice/spyglass-xprobe' keys | grep -qw 50"
    local held=$?
    DISPLAY=$C xdotool keyup shift
    return $held
}
# picture_goes_on: the client keeps receiving the host's frames
picture_goes_on() {
    local f0
    sg_wait_for 10 test -s "$STATS" || return 1
    f0=$(frames)
    sg_wait_for 10 frames_above "$((f0 + 10))"
}

# --- a format the client cannot play
SG_DISPLAY=$G sg_fakevm "$SOCK" --audio-clicks --audio-rate 1000000
start_client bad
sg_wait_for 10 grep -q "the guest's sound cannot be played: 1000000 Hz (8000..192000 Hz supported)" "$CLOG" ||
    fail "no clear message for a 1 MHz guest stream: $(grep audio "$CLOG")"
picture_goes_on || fail "frames stopped with an unplayable guest sound ($(frames); $(tail -3 "$SG_TMP/host.log"); $(grep -v audio "$CLOG" | tail -3))"
input_goes_on || fail "a key held in the client did not reach the guest with an unplayable guest sound"
[ "$(sg_sink_inputs)" = 0 ] || fail "a playback stream was opened for a format the client refused"
n=$(grep -c 'audio: the guest.s sound cannot be played' "$CLOG")
[ "$n" = 1 ] || fail "the message came $n times"
kill -0 "$CLIENT_PID" || fail "the client died"
ok "1 MHz guest sound: '$(grep -o "the guest's sound cannot be played.*" "$CLOG" | head -1)'; picture and input go on"
kill "$CLIENT_PID" "$SG_FAKEVM_PID"; wait "$CLIENT_PID" "$SG_FAKEVM_PID" 2>/dev/null

# --- no sound server: one warning, the viewer works
sg_pulse_stop
SG_DISPLAY=$G sg_fakevm "$SOCK" --audio-clicks
start_client noserver
sleep 4 # several reconnection attempts (every second) pass; each would be a line if it were said
n=$(grep -c 'no sound server' "$CLOG")
[ "$n" = 1 ] || fail "'no sound server' said $n times: $(grep audio "$CLOG")"
grep -q '^audio=no-server' "$STATS" || fail "stats file: audio=$(val audio "$STATS")"
picture_goes_on || fail "frames stopped without a sound server"
input_goes_on || fail "input stopped without a sound server"
ok "no sound server: one warning ('$(grep -o 'no sound server.*' "$CLOG" | head -1)'), picture and input go on"
# and when one appears, the guest's sound plays without a restart of the viewer
sg_pulse_start
sg_wait_for 15 sg_streams sink-inputs -ge 1 || fail "the guest's stream did not start once a sound server appeared"
ok "a sound server appearing later: the guest's sound plays"
