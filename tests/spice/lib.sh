# Shared by the SPICE test scripts: temp dir, Xvfb displays, process cleanup, assertions.
# Each script sources this with BUILD (meson build root) set.
set -uo pipefail
SG_TMP=$(mktemp -d "${TMPDIR:-/tmp}/spyglass-spice.$$.XXXXXX")
SG_PIDS=()
# sg_stop PID: SIGTERM, then up to 5 s for it to end, then SIGKILL. In reverse order of start,
# each one gone before the next is stopped: a client whose X server vanished while it was still
# shutting down crashed in Xlib's I/O error exit, run by two of its threads at once.
sg_stop() {
    local p=$1 n=0 state
    kill "$p" 2>/dev/null || return 0
    while [ $n -lt 100 ]; do
        state=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)
        [ -z "$state" ] || [ "$state" = Z ] && return 0
        sleep 0.05; n=$((n + 1))
    done
    kill -KILL "$p" 2>/dev/null
}
sg_cleanup() {
    local i
    for ((i = ${#SG_PIDS[@]} - 1; i >= 0; i--)); do sg_stop "${SG_PIDS[i]}"; done
    # a helper that died by a signal before we stopped it (a crash) is worth a line in the log
    for p in "${SG_PIDS[@]}"; do
        wait "$p" 2>/dev/null
        local st=$?
        [ $st -gt 128 ] && [ $st -ne 143 ] && echo "note: process $p ended by signal $((st - 128))" >&2
    done
    if [ "${SPYGLASS_KEEP_TMP:-0}" = 1 ]; then echo "kept $SG_TMP" >&2; else rm -rf "$SG_TMP"; fi
}
trap sg_cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# sg_xvfb WxH -> sets SG_DISPLAY (":N") of a new Xvfb that does not reset when clients leave.
# tests/common/sg-xvfb bounds the start (the read below ends when it prints or gives up, saying why
# on stderr) and stops the server when this shell dies, even by SIGKILL.
sg_xvfb() {
    local f="$SG_TMP/xvfb.$RANDOM" num=
    mkfifo "$f"
    "$BUILD/tests/common/sg-xvfb" "$1" -- -noreset >"$f" &
    SG_XVFB_PID=$!
    SG_PIDS+=($!)
    read -r num <"$f"
    [ -n "$num" ] || fail "Xvfb did not start (sg-xvfb's message above)"
    SG_DISPLAY=":$num"
}

# sg_fakevm SOCKET [ARGS...] -> starts spyglass-fakevm on SG_DISPLAY, waits for its ready line; sets SG_FAKEVM_PID.
sg_fakevm() {
    local sock=$1; shift
    local out="$SG_TMP/fakevm.$RANDOM"
    DISPLAY=$SG_DISPLAY "$BUILD/tests/fakevm/spyglass-fakevm" -u "$sock" "$@" >"$out" 2>"$out.err" &
    SG_FAKEVM_PID=$!
    SG_PIDS+=($SG_FAKEVM_PID)
    for _ in $(seq 100); do grep -q ready "$out" 2>/dev/null && return 0; sleep 0.05; done
    fail "spyglass-fakevm did not get ready: $(cat "$out.err")"
}

# sg_wait_for SECONDS COMMAND... -> retries COMMAND until it succeeds.
sg_wait_for() {
    local t=$1; shift
    local end=$((SECONDS + t))
    while ! "$@" >/dev/null 2>&1; do
        [ $SECONDS -ge $end ] && return 1
        sleep 0.05
    done
}

sg_pointer() { DISPLAY=$SG_DISPLAY "$BUILD/tests/spice/spyglass-xprobe" pointer; }
sg_warp() { DISPLAY=$SG_DISPLAY "$BUILD/tests/spice/spyglass-xprobe" warp "$1" "$2"; }
sg_poke() { timeout 30 "$BUILD/tests/spice/spyglass-spice-poke" "$@"; }
