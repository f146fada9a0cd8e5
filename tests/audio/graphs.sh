#!/usr/bin/env bash
# The audio buffer's graph in the latency graphs overlay (win:showGraphs, Scroll Lock+G): while
# the fake VM's sound plays, cyan bars (client/graphs.c, SG_GRAPH_AUDIO) appear in the window;
# once the SPICE server is gone and the stream closed, the audio panel leaves within the graphs'
# 5 s span. Found by pixels in screenshots of the X display.
BUILD=${1:?build dir}
. "$(dirname "$0")/lib.sh"
sg_have_pulse || { echo "SKIP: pulseaudio/pactl not installed (scripts/deps.sh installs them)"; exit 77; }

sg_pulse
sg_xvfb 640x480
SOCK=$SG_TMP/spice.sock
sg_fakevm "$SOCK" --audio-clicks
CLOG=$SG_TMP/client.log STATS=$SG_TMP/stats
DISPLAY=$SG_DISPLAY LIBGL_ALWAYS_SOFTWARE=1 "$BUILD/client/spyglass-client" -f "/dev/shm/spyglass-none-$$" \
    "spice:unix=$SOCK" win:vsync=no win:autoResize=no win:width=640 win:height=480 win:showGraphs=yes \
    "app:statsFile=$STATS" >"$CLOG" 2>&1 &
CLIENT_PID=$!
SG_PIDS+=($CLIENT_PID)
sg_wait_for 20 grep -q '^audio=playing' "$STATS" || fail "the client did not start playing: $(grep -E 'audio|spice' "$CLOG")"

# cyan N: the screenshot has at least N pixels of the audio graph's bar colour (#20e0e0);
# less: at most N-1 of them
cyan_count() {
    DISPLAY=$SG_DISPLAY import -window root "$SG_TMP/shot.png" 2>/dev/null || { echo 0; return; }
    convert "$SG_TMP/shot.png" -alpha off -fuzz 1% -fill black +opaque '#20e0e0' -fill white -opaque '#20e0e0' \
        -format '%[fx:round(mean*w*h)]' info:
}
cyan() { n=$(cyan_count); [ "$n" -ge "$1" ]; }
less() { n=$(cyan_count); [ "$n" -lt "$1" ]; }
# the overlay shows 5 s: ~500 blocks, each a bar of ~20 ms on a 0-30 ms scale of 40 pixels
sg_wait_for 20 cyan 1000 || fail "no audio graph: $n cyan pixels in the window while sound plays"
playing_px=$n
cp "$SG_TMP/shot.png" "$SG_TMP/playing.png"
sg_stop "$SG_FAKEVM_PID"
sg_wait_for 20 grep -q '^audio=idle' "$STATS" || fail "the client did not close the stream when the SPICE server went"
sg_wait_for 20 less 10 || fail "the audio graph stayed after the sound stopped: $n cyan pixels"
ok "audio graph: $playing_px cyan pixels while playing, $n after the stream closed"
