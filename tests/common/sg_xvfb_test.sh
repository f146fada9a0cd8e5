#!/usr/bin/env bash
# sg-xvfb, the X server launcher of every test: the display it prints works with the asked size;
# its Xvfb ends (cleanly: socket removed) when the launcher gets SIGTERM, when the launcher is
# SIGKILLed, and when the process that started the launcher is SIGKILLed; a taken number, a
# server that cannot start and a server that dies in use are reported with non-zero status;
# a --reusable number can be given up and taken again with --display.
# Usage: sg_xvfb_test.sh SG_XVFB
set -u
launcher=$1
command -v Xvfb >/dev/null || { echo "SKIP: Xvfb not installed"; exit 77; }
command -v xrandr >/dev/null || { echo "SKIP: xrandr not installed"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sg-xvfb-test.$$.XXXXXX")
pids=()
# our own children; and a launcher under a parent that a failed check left running, if that pid
# is still a launcher (its Xvfb ends with it)
grand=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${grand[@]}"; do grep -qF "$launcher" "/proc/$p/cmdline" 2>/dev/null && kill "$p"; done
    wait 2>/dev/null; rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT # bash runs the EXIT trap on a signal only if the signal is trapped
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }

# wait_for SECONDS COMMAND...: retries until it holds (a deadline, not a delay).
wait_for() {
    local end=$((SECONDS + $1)); shift
    until "$@" >/dev/null 2>&1; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done
}
gone() { ! kill -0 "$1" 2>/dev/null; }
# the launcher's child, its X server
server_pid() { tr -d ' \n' <"/proc/$1/task/$1/children" 2>/dev/null; }
# the inode and change time of display N's socket; socket_gone N ID: that socket is gone (the lowest free
# number may well belong to another test's new server by then)
socket_inode() { stat -c '%i %z' "/tmp/.X11-unix/X$1" 2>/dev/null; }
socket_gone() { [ "$(socket_inode "$1")" != "$2" ]; }
screen_is() { xrandr -display ":$1" 2>/dev/null | grep -q "current $2 x $3,"; }

# start_under_parent NAME ARGS...: the launcher as the child of a shell of its own, so the test
# can kill that parent; sets D (display), L (launcher pid), P (parent pid), X (Xvfb pid).
start_under_parent() {
    local name=$1; shift
    : >"$tmp/$name.out"
    bash -c '"$@" & echo "launcher $!" >&2; wait' sh "$launcher" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    P=$!; pids+=("$P")
    # the launcher prints the number itself, once the server accepts connections: no waiting here
    # beyond the launcher's own bound
    wait_for 60 grep -q '^[0-9]' "$tmp/$name.out" || { fail "$name: no display number; $(cat "$tmp/$name.err")"; return 1; }
    D=$(head -1 "$tmp/$name.out"); L=$(awk '/^launcher/{print $2}' "$tmp/$name.err"); X=$(server_pid "$L")
    I=$(socket_inode "$D")
    [ -n "$L" ] && grand+=("$L")
    [ -n "$L" ] && [ -n "$X" ] || { fail "$name: no launcher ($L) or Xvfb ($X) pid"; return 1; }
}

# 1. the display works, with the size asked for
start_under_parent basic 320x240 -- -br || exit 1
screen_is "$D" 320 240 && ok "display :$D answers, 320x240" || fail "display :$D: $(xrandr -display ":$D" 2>&1 | head -3)"
[ -S "/tmp/.X11-unix/X$D" ] || fail "no socket for :$D"

# 2. the test that started the launcher is SIGKILLed: the launcher and its Xvfb end, cleanly
kill -KILL "$P"
if wait_for 20 gone "$X" && wait_for 20 gone "$L"; then ok "parent SIGKILLed: launcher and Xvfb ended"
else fail "parent SIGKILLed: launcher ($L) or Xvfb ($X) still running"; fi
wait_for 5 socket_gone "$D" "$I" || fail "socket of :$D left behind (Xvfb not stopped by SIGTERM)"

# 3. the launcher itself is SIGKILLed: its Xvfb ends
start_under_parent killed 320x240 || exit 1
kill -KILL "$L"
wait_for 20 gone "$X" && ok "launcher SIGKILLed: Xvfb ended" || fail "launcher SIGKILLed: Xvfb ($X) still running"
kill "$P" 2>/dev/null

# 4. SIGTERM to the launcher: Xvfb stopped, status 0 (launched directly: its status is ours to see)
mkfifo "$tmp/fifo"
"$launcher" 200x100x16 >"$tmp/fifo" 2>"$tmp/term.err" &
L=$!; pids+=("$L")
read -r D <"$tmp/fifo"
X=$(server_pid "$L")
screen_is "$D" 200 100 || fail "200x100x16 display :$D: $(xrandr -display ":$D" 2>&1 | head -3)"
kill -TERM "$L"; wait "$L"; st=$?
[ $st -eq 0 ] && ok "SIGTERM: launcher exited 0" || fail "SIGTERM: launcher exited $st; $(cat "$tmp/term.err")"
wait_for 20 gone "$X" || fail "SIGTERM: Xvfb ($X) still running"

# 5. a number another server has: refused, named
"$launcher" 320x240 >"$tmp/fifo" 2>"$tmp/busy0.err" &
L=$!; pids+=("$L")
read -r D <"$tmp/fifo"
"$launcher" --display "$D" 320x240 >"$tmp/busy.out" 2>"$tmp/busy.err"; st=$?
if [ $st -eq 1 ] && grep -q "display :$D is taken" "$tmp/busy.err" && [ ! -s "$tmp/busy.out" ]; then ok "taken :$D refused"
else fail "taken :$D: status $st, out '$(cat "$tmp/busy.out")', err: $(cat "$tmp/busy.err")"; fi
screen_is "$D" 320 240 || fail "the first server on :$D was disturbed"
kill "$L"; wait "$L"

# 6. --reusable, given up and taken again with --display (a display restarted on its number)
"$launcher" --reusable 320x240 >"$tmp/fifo" 2>"$tmp/reuse.err" &
L=$!; pids+=("$L")
read -r D <"$tmp/fifo"
[ "${D:-0}" -ge 1000 ] && ok "reusable number :$D" || fail "reusable number '$D' not above 1000; $(cat "$tmp/reuse.err")"
kill "$L"; wait "$L"
"$launcher" --display "$D" 400x300 >"$tmp/fifo" 2>"$tmp/again.err" &
L=$!; pids+=("$L")
read -r D2 <"$tmp/fifo"
[ "$D2" = "$D" ] && screen_is "$D" 400 300 && ok "same number :$D taken again, 400x300" \
    || fail "restart on :$D gave '$D2'; $(cat "$tmp/again.err")"

# 7. the server dies while in use: the launcher says so and exits 1
X=$(server_pid "$L") I=$(socket_inode "$D")
kill -KILL "$X"; wait "$L"; st=$?
[ $st -eq 1 ] && grep -q "killed by signal 9.*while in use" "$tmp/again.err" && ok "server death reported" \
    || fail "server SIGKILLed: status $st, err: $(cat "$tmp/again.err")"
socket_gone "$D" "$I" || rm -f "/tmp/.X11-unix/X$D" # what a SIGKILLed server leaves

# 8. a server that cannot start: status 1 with its own words, no number
"$launcher" --xephyr /nonexistent/Xephyr 320x240 >"$tmp/bad.out" 2>"$tmp/bad.err"; st=$?
if [ $st -eq 1 ] && [ ! -s "$tmp/bad.out" ] && grep -q "exited with status 127 before reporting" "$tmp/bad.err" \
    && grep -q "cannot run /nonexistent/Xephyr" "$tmp/bad.err"; then ok "missing server reported"
else fail "missing server: status $st, out '$(cat "$tmp/bad.out")', err: $(cat "$tmp/bad.err")"; fi
"$launcher" 12 >/dev/null 2>"$tmp/usage.err"; st=$?
[ $st -eq 2 ] && grep -q "'12' is not WxH" "$tmp/usage.err" && ok "bad size refused" || fail "bad size: $st $(cat "$tmp/usage.err")"

[ $failures -eq 0 ] && echo PASS && exit 0
exit 1
