#!/usr/bin/env bash
# The whole loop: spyglass-client (on its own Xvfb) -> SPICE -> spyglass-fakevm -> guest Xvfb
# -> spyglass-host (x11 capture) -> shared memory -> spyglass-client.
# The guest accelerates its pointer (3/1, threshold 0) and the client window is scaled 0.78.
BUILD=${1:?build dir}
. "$(dirname "$0")/lib.sh"
P=$BUILD/tests/spice/spyglass-xprobe
SHM=/dev/shm/spyglass-spice-e2e-$$
trap 'sg_cleanup; rm -f "$SHM"' EXIT

sg_xvfb 1024x768; G=$SG_DISPLAY
sg_xvfb 1280x1024; C=$SG_DISPLAY
SOCK=$SG_TMP/spice.sock
SG_DISPLAY=$G sg_fakevm "$SOCK" -vv --accel 3/1/0
FVM_ERR=$(ls "$SG_TMP"/fakevm.*.err | head -1)
OUT=$SG_TMP/typed.txt
DISPLAY=$G xterm -geometry 60x10+0+0 -e sh -c "stty -echo; cat > '$OUT'" &
SG_PIDS+=($!)
DISPLAY=$G "$BUILD/host/spyglass-host" -c x11 -f "$SHM" -s 16 >"$SG_TMP/host.log" 2>&1 &
SG_PIDS+=($!)
sg_wait_for 10 test -e "$OUT" || fail "guest xterm did not start"
CLOG=$SG_TMP/client.log
start_client() {
    rm -f "$SG_TMP/stats"
    DISPLAY=$C LIBGL_ALWAYS_SOFTWARE=1 SPYGLASS_INPUT_DEBUG=1 "$BUILD/client/spyglass-client" -f "$SHM" "spice:unix=$SOCK" \
        win:x=0 win:y=0 -d win:autoResize=no win:width=800 win:height=600 win:vsync=no --stats-file "$SG_TMP/stats" \
        "$@" >>"$CLOG" 2>&1 &
    SG_PIDS+=($!)
    CLIENT_PID=$!
}
# client_ready: the client shows the guest (its view knows the guest size, which the pointer mapping needs)
client_ready() {
    sg_wait_for 15 grep -qx 'guest=1024x768' "$SG_TMP/stats" ||
        fail "the client did not show the 1024x768 guest: $(cat "$SG_TMP/stats" "$CLOG")"
}
start_client
sg_wait_for 15 grep -q 'SPICE connected' "$CLOG" || fail "client did not connect to SPICE: $(cat "$CLOG")"
sg_wait_for 15 grep -q 'connected to host' "$CLOG" || fail "client did not attach to the host: $(cat "$CLOG")"
client_ready

px() { DISPLAY=$1 "$P" pointer | cut -d' ' -f1-2; }
near() { # near "X Y" EX EY TOL
    local x=${1% *} y=${1#* }
    [ $((x - $2)) -le $4 ] && [ $(($2 - x)) -le $4 ] && [ $((y - $3)) -le $4 ] && [ $(($3 - y)) -le $4 ]
}
expect_guest() { # EX EY what [TOLERANCE]
    sg_wait_for 3 sh -c "p=\$(DISPLAY=$G $P pointer); x=\${p%% *}; r=\${p#* }; y=\${r%% *};
        [ \$((x-$1)) -le ${4:-1} ] && [ \$(($1-x)) -le ${4:-1} ] && [ \$((y-$2)) -le ${4:-1} ] && [ \$(($2-y)) -le ${4:-1} ]" ||
        { grep 'spyglass-client: input: [0-9]' "$CLOG" | tail -20 >&2; fail "$3: guest cursor at $(px "$G"), expected $1,$2 (+-${4:-1})"; }
}

# --- uncaptured: entering at window P puts the guest cursor at the guest point of P
DISPLAY=$C "$P" move 200 150
expect_guest 256 192 "enter at window 200,150"
ok "pointer entered at window 200,150: guest cursor at $(px "$G") (guest accelerates 3x)"
for i in $(seq 1 20); do DISPLAY=$C "$P" move $((200 + i * 10)) $((150 + i * 5)); done
expect_guest 512 320 "move to window 400,250"
ok "moved by +200,+100 window px: guest cursor at $(px "$G")"
for i in $(seq 1 10); do DISPLAY=$C "$P" move $((400 + i)) 250; sleep 0.005; done
expect_guest 525 320 "fine move to window 410,250"
ok "1 px steps: guest cursor at $(px "$G")"

# --- the drawn cursor is where the guest cursor is (X's default cursor, white on the black root)
DISPLAY=$C "$P" move 500 400
expect_guest 640 512 "move to 500,400"
# drawn_cursor_at: a screenshot shows the cursor (>10 white pixels) centred within 3 px of 500,400
drawn_cursor_at() {
    cx=0 cy=0 n=0
    DISPLAY=$C import -window root -crop 800x600+0+0 "$SG_TMP/shot.png" 2>/dev/null || { echo "import failed"; return 1; }
    read -r cx cy n < <(convert "$SG_TMP/shot.png" -crop 60x60+470+370 +repage -threshold 50% txt:- |
        awk -F'[,: ]+' '/#FFFFFF/ {sx += $1; sy += $2; n++} END {if (n) printf "%d %d %d\n", sx/n + 470, sy/n + 370, n; else print "0 0 0"}')
    [ "$n" -gt 10 ] && near "$cx $cy" 500 400 3
}
# the guest's cursor comes back through capture and shared memory: retry the screenshot a while
sg_wait_for 5 drawn_cursor_at
[ "$n" -gt 10 ] || fail "no cursor drawn near window 500,400 (white pixels: $n)"
near "$cx $cy" 500 400 3 || fail "drawn cursor centred at $cx,$cy, expected 500,400"
ok "the drawn cursor is centred at window $cx,$cy ($n white pixels)"

# --- a guest program moves the cursor: the local pointer follows it
sleep 0.5
DISPLAY=$G "$P" warp 800 600
sg_wait_for 3 sh -c "[ \"\$(DISPLAY=$C $P pointer | cut -d' ' -f1-2)\" = '625 469' ] ||
    [ \"\$(DISPLAY=$C $P pointer | cut -d' ' -f1-2)\" = '625 468' ]" ||
    fail "local pointer at $(px "$C") after the guest warped to 800,600 (expected 625,469)"
ok "guest warped to 800,600: local pointer followed to $(px "$C")"

# --- keys typed in the client window arrive in the guest terminal (shifted and extended)
DISPLAY=$C "$P" move 100 50
expect_guest 128 64 "over the guest xterm"
k() { DISPLAY=$C "$P" key "$@"; }
k Shift_L down; k h tap; k Shift_L up; k i tap
k Shift_L down; k 1 tap; k Shift_L up; k a tap; k b tap; k Left tap; k Shift_R down; k x tap; k Shift_R up
k KP_Enter tap
# (seen once in ~50 loaded runs: nothing arrived; say how far the keys got)
sg_wait_for 5 grep -q X "$OUT" || fail "guest terminal got: $(od -c "$OUT" | head -3)
fake VM replayed: $(grep 'key 0x' "$FVM_ERR" | tail -20)
client log: $(tail -12 "$CLOG")
guest pointer: $(px "$G"); client pointer: $(px "$C")"
got=$(head -1 "$OUT" | od -An -c | tr -s ' ')
[ "$got" = " H i ! a b 033 [ D X \\n" ] || fail "typed keys arrived as '$got'"
ok "Shift+h i Shift+1 a b Left Shift+x KP_Enter arrived as 'Hi!ab<ESC>[DX'"

# --- escape key + F1 sends Ctrl+Alt+F1
k Scroll_Lock down; k F1 tap; k Scroll_Lock up
sg_wait_for 3 sh -c "grep 'key 0x' '$FVM_ERR' | tail -6 | tr '\n' ' ' | grep -q \
    'key 0x01d down.*key 0x038 down.*key 0x03b down.*key 0x03b up.*key 0x038 up.*key 0x01d up'" ||
    fail "Ctrl+Alt+F1 not seen: $(grep 'key 0x' "$FVM_ERR" | tail -6)"
ok "escape+F1 sent Ctrl+Alt+F1"

# --- keys held when the window loses focus are released in the guest
k Shift_L down
sg_wait_for 3 sh -c "DISPLAY=$G $P keys | grep -qw 50" || fail "held Shift not down in the guest"
DISPLAY=$C "$P" unfocus
sg_wait_for 3 sh -c "! DISPLAY=$G $P keys | grep -qw 50" || fail "Shift still held in the guest after focus loss"
k Shift_L up
DISPLAY=$C "$P" refocus
ok "Shift held at focus loss was released in the guest"

# --- capture mode: raw deltas go to the guest; the escape key releases
DISPLAY=$C "$P" move 400 300
expect_guest 512 384 "before capture"
k Scroll_Lock tap
sg_wait_for 3 grep -q "input captured" "$CLOG" || fail "escape tap did not capture: $(tail -5 "$CLOG")"
DISPLAY=$C "$P" rel 10 0; DISPLAY=$C "$P" rel 0 -20
expect_guest 542 324 "captured motion +10,-20 with guest acceleration 3"
ok "captured: raw +10,-20 moved the guest cursor to $(px "$G")"
# the release puts the local pointer on the guest cursor as the client last saw it: wait until the
# guest's move has come through the host's capture and the shared memory (stats are written each second)
sg_wait_for 5 grep -qx 'cursor=54[123],32[345],1' "$SG_TMP/stats" ||
    fail "the client did not see the guest cursor at 542,324: $(grep '^cursor=' "$SG_TMP/stats")"
k Scroll_Lock down; k c tap; k Scroll_Lock up
sg_wait_for 3 grep -q 'input released' "$CLOG" || fail "escape+C did not release"
local_near() { near "$(px "$C")" "$@"; }
sg_wait_for 3 local_near 423 253 1 || fail "after release the local pointer is at $(px "$C"), expected 423,253"
DISPLAY=$C "$P" move 300 200
expect_guest 384 256 "uncaptured again"
ok "escape+C released: local pointer put on the guest cursor, uncaptured sync resumed"

# --- escape+E: input off, keys do not reach the guest
k Scroll_Lock down; k e tap; k Scroll_Lock up
sg_wait_for 3 grep -q 'input to the guest off' "$CLOG" || fail "escape+E did not turn input off"
DISPLAY=$C "$P" move 100 50; k z tap
k Scroll_Lock down; k e tap; k Scroll_Lock up
sg_wait_for 3 grep -q 'input to the guest on' "$CLOG" || fail "escape+E did not turn input on"
# a key after input is on again arrives after Z would have (one ordered stream): then Z's absence counts
k w tap
sg_wait_for 5 grep -q 'key 0x011' "$FVM_ERR" || fail "W typed with input on again did not reach the guest"
grep -q 'key 0x02c' "$FVM_ERR" && fail "a key reached the guest with input off"
ok "escape+E turned input off (nothing sent) and on"

# --- clipboard both ways
printf 'copied in the guest ✓' | DISPLAY=$G xclip -i -selection clipboard
sg_wait_for 5 sh -c "[ \"\$(DISPLAY=$C timeout 2 xclip -o -selection clipboard)\" = 'copied in the guest ✓' ]" ||
    fail "client clipboard: '$(DISPLAY=$C timeout 2 xclip -o -selection clipboard 2>&1)'"
ok "guest text appeared in the client's clipboard"
printf 'copied on the client ✓' | DISPLAY=$C xclip -i -selection clipboard
sg_wait_for 5 sh -c "[ \"\$(DISPLAY=$G timeout 2 xclip -o -selection clipboard)\" = 'copied on the client ✓' ]" ||
    fail "guest clipboard: '$(DISPLAY=$G timeout 2 xclip -o -selection clipboard 2>&1)'"
ok "client text appeared in the guest's clipboard"

# --- the SPICE server goes away: frames go on, the client says so and reconnects
kill "$SG_FAKEVM_PID"; wait "$SG_FAKEVM_PID" 2>/dev/null
sg_wait_for 5 grep -q 'SPICE is down' "$CLOG" || fail "no 'SPICE is down' notice: $(tail -5 "$CLOG")"
DISPLAY=$G "$P" warp 700 500
sg_wait_for 5 sh -c "DISPLAY=$C import -window root -crop 60x60+517+361 +repage $SG_TMP/down.png 2>/dev/null &&
    [ \$(convert $SG_TMP/down.png -threshold 50% -format '%[fx:int(mean*3600)]' info:) -gt 10 ]" ||
    fail "the client stopped showing the guest (cursor at 700,500 not drawn) while SPICE was down"
kill -0 "$CLIENT_PID" || fail "the client exited when SPICE went down"
ok "SPICE down: the client said so and kept drawing the guest"
SG_DISPLAY=$G sg_fakevm "$SOCK" -vv --accel 3/1/0
FVM_ERR2=$(ls -t "$SG_TMP"/fakevm.*.err | head -1)
sg_wait_for 10 sh -c "[ \$(grep -c 'SPICE connected' '$CLOG') -ge 2 ]" || fail "no reconnection: $(tail -5 "$CLOG")"
DISPLAY=$C "$P" move 100 51; DISPLAY=$C "$P" move 100 50; k q tap
sg_wait_for 3 grep -q 'key 0x010' "$FVM_ERR2" || fail "no key after reconnecting"
ok "SPICE back: the client reconnected and keys flow again"

# --- without SET_CURSOR_POS the client corrects the accelerating guest with relative steps
kill "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null
DISPLAY=$G "$P" warp 10 10
: >"$CLOG"
start_client input:setCursorPos=no
sg_wait_for 15 grep -q 'SPICE connected' "$CLOG" || fail "client did not reconnect to SPICE: $(cat "$CLOG")"
sg_wait_for 15 grep -q 'connected to host' "$CLOG" || fail "client did not attach: $(cat "$CLOG")"
client_ready
DISPLAY=$C "$P" move 300 200
expect_guest 384 256 "relative correction after entering at 300,200" 3
for i in $(seq 1 10); do DISPLAY=$C "$P" move $((300 + i * 10)) 200; done
expect_guest 512 256 "relative correction after moving to 400,200" 3
grep -q 'set-pos' "$CLOG" && fail "SET_CURSOR_POS used although input:setCursorPos=no"
ok "input:setCursorPos=no: relative steps brought the accelerating guest to $(px "$G") (+-3 px)"
echo "all end-to-end checks passed"
