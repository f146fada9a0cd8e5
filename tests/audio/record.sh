#!/usr/bin/env bash
# The microphone through SPICE: the fake VM asks for it (44.1 kHz: SPICE sends that raw, so
# the test counter arrives bit-exact); the test plays the counter into the null sink whose
# monitor is the default source; the fake VM checks it got the counter in order, without
# gaps. audio:micDefault: allow opens it at once, prompt only after escape+M (and says so,
# with the key), deny never. The stats file shows the microphone state; the mic indicator is
# in the window while it is open.
BUILD=${1:?build dir}
. "$(dirname "$0")/lib.sh"
sg_have_pulse || { echo "SKIP: pulseaudio/pactl not installed (scripts/deps.sh installs them)"; exit 77; }
command -v xdotool >/dev/null || { echo "SKIP: xdotool missing"; exit 77; }
AN="python3 $(dirname "$0")/analyse.py"
PROBE=$BUILD/tests/audio/spyglass-sndprobe

sg_pulse
sg_xvfb 320x240
SOCK=$SG_TMP/spice.sock
STATS=$SG_TMP/stats
val() { sed -n "s/^$1=//p" "$2"; }
stat_of() { val "$1" "$STATS"; }

# start_vm_client MIC_DEFAULT -> a fresh fake VM (log $FLOG, stderr $FERR) and client ($CLOG)
start_vm_client() {
    FLOG=$SG_TMP/fakevm-$1.log
    sg_fakevm "$SOCK" --audio-record 44100 --audio-log "$FLOG"
    FERR=$(ls -t "$SG_TMP"/fakevm.*.err | head -1)
    sg_boost "$SG_FAKEVM_PID"
    CLOG=$SG_TMP/client-$1.log
    DISPLAY=$SG_DISPLAY LIBGL_ALWAYS_SOFTWARE=1 "$BUILD/client/spyglass-client" -f "/dev/shm/spyglass-none-$$" \
        "spice:unix=$SOCK" win:vsync=no win:autoResize=no win:width=320 win:height=240 "app:statsFile=$STATS" \
        "audio:micDefault=$1" >"$CLOG" 2>&1 &
    CLIENT_PID=$!
    SG_PIDS+=($CLIENT_PID)
    sg_wait_for 20 grep -q 'asks for the microphone\|microphone open' "$CLOG" ||
        fail "the client did not see the guest ask for the microphone: $(grep -E 'audio|spice' "$CLOG")"
}
stop_vm_client() {
    kill "$CLIENT_PID" "$SG_FAKEVM_PID"
    wait "$CLIENT_PID" "$SG_FAKEVM_PID" 2>/dev/null
}

# --- allow: the counter arrives in order, without gaps
start_vm_client allow
sg_wait_for 10 sg_streams source-outputs -ge 1 || fail "no capture stream on the sound server"
sg_wait_for 5 grep -q '^mic=open' "$STATS" || fail "stats file: mic=$(stat_of mic), expected open"
"$PROBE" counter mic 44100 5 >"$SG_TMP/counter" || fail "sndprobe counter failed"
played=$(awk '$1 == "played" { print $2 }' "$SG_TMP/counter")
# the last blocks cross SPICE: the counter's end (silence after it) reaches the guest
sg_wait_for 10 grep -q "the counter paused at $played\$" "$FERR" ||
    fail "the guest never received the counter's last value $played: $(grep 'record:' "$FERR" | tail -3)"
stop_vm_client
sum=$(grep 'record:.*frames received' "$FERR")
echo "$sum"
in_order=$(sed -n 's/.*, \([0-9]*\) of the counter in order.*/\1/p' <<<"$sum")
gaps=$(sed -n 's/.*, \([0-9]*\) gaps.*/\1/p' <<<"$sum")
first=$(sed -n 's/.*in order (\([0-9]*\)\.\..*/\1/p' <<<"$sum")
last=$(sed -n 's/.*in order ([0-9]*\.\.\([0-9]*\)).*/\1/p' <<<"$sum")
[ "$gaps" = 0 ] || fail "the guest got the microphone signal with $gaps gaps: $(grep GAP "$FERR" | head -3)"
[ "$first" -le 4410 ] || fail "the guest's counter started at $first: the first 100 ms of the microphone were lost"
[ "$last" = "$played" ] || fail "the guest's counter ended at $last, $played were played"
# every frame but those libspice-server's ring wrap moves (one packet per 8192 frames, see
# tests/fakevm/sound.c)
[ "$in_order" -ge $((played - played / 8192 * 480 - 480)) ] || fail "$in_order of $played counter samples in order"
$AN record "$FLOG" "$SG_TMP/counter" >"$SG_TMP/r1"
ok "allow: the guest received $in_order of $played microphone frames in order (the rest: server ring wraps), no gap; record latency p50 $(val p50_ms "$SG_TMP/r1") ms p99 $(val p99_ms "$SG_TMP/r1") ms (source -> fake VM)"

# --- prompt: a notice naming the key; nothing captured until escape+M
start_vm_client prompt
grep -q 'the guest asks for the microphone: ScrollLock+M allows it' "$CLOG" ||
    fail "no notice naming the key: $(grep -i microphone "$CLOG")"
sleep 1
[ "$(sg_source_outputs)" = 0 ] || fail "prompt: a capture stream was opened before the user allowed it"
grep -q '^mic=asking' "$STATS" || fail "stats file: mic=$(stat_of mic), expected asking"
wid=$(DISPLAY=$SG_DISPLAY xdotool search --sync --name Spyglass | head -1)
DISPLAY=$SG_DISPLAY xdotool windowfocus --sync "$wid" keydown Scroll_Lock key m keyup Scroll_Lock
sg_wait_for 10 sg_streams source-outputs -ge 1 || fail "escape+M did not open the microphone: $(tail -3 "$CLOG")"
sg_wait_for 5 grep -q '^mic=open' "$STATS" || fail "stats file: mic=$(stat_of mic) after escape+M"
DISPLAY=$SG_DISPLAY import -window root "$SG_TMP/mic-on.png"
# The indicator: a box of white text at the top right of the window (nothing there otherwise).
lit=$(convert "$SG_TMP/mic-on.png" -crop 120x40+200+10 +repage -threshold 90% -format '%[fx:round(mean*w*h)]' info:)
[ "$lit" -ge 20 ] || fail "no MIC indicator in the window's top right corner ($lit bright pixels)"
DISPLAY=$SG_DISPLAY xdotool keydown Scroll_Lock key m keyup Scroll_Lock
sg_wait_for 10 sg_streams source-outputs -eq 0 || fail "escape+M again did not close the microphone"
DISPLAY=$SG_DISPLAY import -window root "$SG_TMP/mic-off.png"
lit_off=$(convert "$SG_TMP/mic-off.png" -crop 120x40+200+10 +repage -threshold 90% -format '%[fx:round(mean*w*h)]' info:)
[ "$lit_off" -lt 5 ] || fail "the MIC indicator stayed after the microphone closed ($lit_off bright pixels)"
stop_vm_client
ok "prompt: notice names ScrollLock+M; nothing captured before; escape+M opens (indicator: $lit bright pixels) and closes ($lit_off)"

# --- deny: never opened
start_vm_client deny
grep -q 'refused: audio:micDefault=deny' "$CLOG" || fail "deny: no message"
sleep 1
[ "$(sg_source_outputs)" = 0 ] || fail "deny: a capture stream was opened"
stop_vm_client
ok "deny: refused with a message, no capture stream"
