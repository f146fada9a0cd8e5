#!/usr/bin/env bash
# The client's SPICE module (client/spice) against spyglass-fakevm on Xvfb:
# keys into a guest terminal, relative motion with and without guest acceleration, buttons,
# wheel, lock keys, clipboard both ways, password, and reconnection after the server goes.
BUILD=${1:?build dir}
. "$(dirname "$0")/lib.sh"

sg_xvfb 1024x768
SOCK=$SG_TMP/spice.sock
sg_fakevm "$SOCK" -vv --accel 1/1/0
FVM_ERR=$(ls "$SG_TMP"/fakevm.*.err | head -1)

# --- keyboard: text, shifted and extended keys arrive in a guest terminal
OUT=$SG_TMP/typed.txt
DISPLAY=$SG_DISPLAY xterm -geometry 200x70+0+0 -e sh -c "stty -echo; cat > '$OUT'" &
SG_PIDS+=($!)
sg_wait_for 10 test -e "$OUT" || fail "xterm did not start"
sleep 0.5
sg_warp 300 300
sg_poke --unix "$SOCK" wait-connected 5000 type 'Hello, World! <~>?' key 0x1c tap \
    type 'ab' key 0x14b tap type 'X' key 0x11c tap flush || fail "poke (keys) failed"
sg_wait_for 5 grep -q 'X' "$OUT" || fail "guest terminal got: $(od -c "$OUT" | head)"
line1=$(sed -n 1p "$OUT"); line2=$(sed -n 2p "$OUT" | od -An -c | tr -s ' ')
[ "$line1" = 'Hello, World! <~>?' ] || fail "typed text arrived as '$line1'"
[ "$line2" = " a b 033 [ D X \\n" ] || [ "$line2" = " a b 033 [ D X" ] || fail "extended keys arrived as '$line2'"
ok "keys: shifted text, Left arrow (E0 4B) and keypad Enter (E0 1C) reached the guest terminal"

# --- relative mouse without acceleration: deltas arrive exactly
sg_warp 100 100
sg_poke --unix "$SOCK" wait-connected 5000 motion 37 -20 motion 3 0 flush sleep 100 || fail "poke (motion) failed"
sg_wait_for 3 sh -c "[ \"\$(DISPLAY=$SG_DISPLAY $BUILD/tests/spice/spyglass-xprobe pointer)\" = '140 80 0' ]" ||
    fail "pointer at $(sg_pointer), expected 140 80 after +40,-20"
ok "motion +40,-20 moved the guest pointer from 100,100 to 140,80"

# --- the guest accelerates (xset m 3/1 0): the same deltas go 3 times as far
DISPLAY=$SG_DISPLAY xset m 3/1 0
sg_warp 100 100
sg_poke --unix "$SOCK" wait-connected 5000 motion 10 5 flush sleep 100 || fail "poke (accel) failed"
sg_wait_for 3 sh -c "[ \"\$(DISPLAY=$SG_DISPLAY $BUILD/tests/spice/spyglass-xprobe pointer)\" = '130 115 0' ]" ||
    fail "pointer at $(sg_pointer), expected 130 115 with acceleration 3"
ok "with guest acceleration 3/1 motion +10,+5 moved the pointer by +30,+15"
DISPLAY=$SG_DISPLAY xset m 1/1 0

# --- buttons: held state is visible in the X button mask; wheel gives buttons 4/5
sg_poke --unix "$SOCK" wait-connected 5000 button 3 down flush sleep 100 &
pp=$!
sg_wait_for 3 sh -c "DISPLAY=$SG_DISPLAY $BUILD/tests/spice/spyglass-xprobe pointer | grep -q ' 1024$'" ||
    fail "right button not held: $(sg_pointer)"
wait $pp
ok "right button press reached X as Button3"
sg_poke --unix "$SOCK" wait-connected 5000 button 1 click wheel -2 wheel 1 flush sleep 200 || fail "poke (buttons) failed"
grep -q 'button 1 down' "$FVM_ERR" && grep -q 'button 1 up' "$FVM_ERR" || fail "left click not replayed"
[ "$(grep -c 'wheel button 4' "$FVM_ERR")" = 2 ] && [ "$(grep -c 'wheel button 5' "$FVM_ERR")" = 1 ] ||
    fail "wheel: $(grep wheel "$FVM_ERR")"
ok "left click and wheel (2 up, 1 down) replayed as X buttons 1, 4, 5"

# --- lock keys: the client's caps/num state is set in the guest
sg_poke --unix "$SOCK" wait-connected 5000 locks 6 flush sleep 300 || fail "poke (locks) failed"
sg_wait_for 3 sh -c "[ \"\$(DISPLAY=$SG_DISPLAY $BUILD/tests/spice/spyglass-xprobe leds)\" = '0 1 1' ]" ||
    fail "guest leds $(DISPLAY=$SG_DISPLAY "$BUILD/tests/spice/spyglass-xprobe" leds), expected num+caps"
sg_poke --unix "$SOCK" wait-connected 5000 locks 0 flush sleep 300 || fail "poke (locks) failed"
sg_wait_for 3 sh -c "[ \"\$(DISPLAY=$SG_DISPLAY $BUILD/tests/spice/spyglass-xprobe leds)\" = '0 0 0' ]" ||
    fail "guest leds $(DISPLAY=$SG_DISPLAY "$BUILD/tests/spice/spyglass-xprobe" leds), expected none"
ok "lock keys synchronised (num+caps on, then off)"

# --- clipboard, client -> guest and guest -> client (UTF-8)
sg_poke --unix "$SOCK" wait-connected 5000 wait-agent 3000 offer 'from the client: héllo' sleep 800 &
pp=$!
sg_wait_for 5 sh -c "[ \"\$(DISPLAY=$SG_DISPLAY timeout 2 xclip -o -selection clipboard)\" = 'from the client: héllo' ]" ||
    fail "guest clipboard: '$(DISPLAY=$SG_DISPLAY timeout 2 xclip -o -selection clipboard)'"
wait $pp
ok "client text reached the guest's CLIPBOARD"
printf 'from the guest: ünïcode ✓' | DISPLAY=$SG_DISPLAY xclip -i -selection clipboard
sg_poke --unix "$SOCK" wait-connected 5000 wait-agent 3000 expect-clip 'from the guest: ünïcode ✓' 5000 ||
    fail "guest text did not reach the client"
ok "guest text reached the client"
BIG=$(head -c 50000 /dev/zero | tr '\0' 'y')é
printf '%s' "$BIG" | DISPLAY=$SG_DISPLAY xclip -i -selection clipboard
sg_poke --unix "$SOCK" wait-connected 5000 wait-agent 3000 expect-clip "$BIG" 5000 >/dev/null ||
    fail "50 kB of guest text did not reach the client"
ok "50 kB of guest text reached the client (agent messages split into 2 kB chunks)"

# --- a guest without an agent: clipboard offers do nothing, said once
kill "$SG_FAKEVM_PID"; wait "$SG_FAKEVM_PID" 2>/dev/null
sg_fakevm "$SOCK" --no-agent
sg_poke --unix "$SOCK" wait-connected 5000 sleep 300 offer one offer two offer three flush sleep 200 \
    >"$SG_TMP/noagent.out" 2>&1 || fail "poke (no agent): $(cat "$SG_TMP/noagent.out")"
[ "$(grep -c 'has no SPICE agent' "$SG_TMP/noagent.out")" = 1 ] ||
    fail "expected one 'no agent' message: $(cat "$SG_TMP/noagent.out")"
ok "no agent: three clipboard offers, one message"

# --- password
kill "$SG_FAKEVM_PID"; wait "$SG_FAKEVM_PID" 2>/dev/null
sg_fakevm "$SOCK" -P s3cret
out=$(sg_poke --unix "$SOCK" --password wrong wait-state 'password refused' 5000 2>&1) || fail "wrong password: $out"
sg_poke --unix "$SOCK" --password s3cret wait-connected 5000 >/dev/null || fail "right password refused"
ok "a wrong password is reported, the right one connects"

# --- TCP instead of a unix socket (a free port is searched for)
kill "$SG_FAKEVM_PID"; wait "$SG_FAKEVM_PID" 2>/dev/null
for try in 1 2 3 4 5; do
    PORT=$((20000 + (RANDOM % 20000)))
    DISPLAY=$SG_DISPLAY "$BUILD/tests/fakevm/spyglass-fakevm" -p "$PORT" >"$SG_TMP/tcp.out" 2>&1 &
    TCP_PID=$!
    SG_PIDS+=($TCP_PID)
    sg_wait_for 3 grep -q ready "$SG_TMP/tcp.out" && break
    kill "$TCP_PID" 2>/dev/null
done
grep -q "ready on 127.0.0.1:$PORT" "$SG_TMP/tcp.out" || fail "fakevm on TCP: $(cat "$SG_TMP/tcp.out")"
sg_poke --host 127.0.0.1 --port "$PORT" wait-connected 5000 >/dev/null || fail "no connection over TCP port $PORT"
kill "$TCP_PID"; wait "$TCP_PID" 2>/dev/null
ok "TCP: connected to 127.0.0.1:$PORT"
sg_fakevm "$SOCK"

# --- the server goes away and comes back: the module says so and reconnects
sg_poke --unix "$SOCK" wait-connected 5000 wait-state down 10000 wait-state connected 15000 motion 5 0 flush \
    >"$SG_TMP/reconnect.out" 2>&1 &
pp=$!
sleep 1
kill "$SG_FAKEVM_PID"; wait "$SG_FAKEVM_PID" 2>/dev/null
sleep 1
sg_fakevm "$SOCK" -vv
wait $pp || fail "reconnect: $(cat "$SG_TMP/reconnect.out")"
grep -q 'is down' "$SG_TMP/reconnect.out" || fail "no 'down' message: $(cat "$SG_TMP/reconnect.out")"
ok "server restart: reported down, reconnected, input flows again"
echo "all fakevm checks passed"
