#!/usr/bin/env bash
# spyglass-dump on the B7 fixture region: its report lines, the --frame and
# --cursor-png pictures, and clear failures on broken regions.
# Usage: fixture_dump_test.sh SPYGLASS_DUMP PNGDIFF FIXTURES_DIR
set -u
dump=$1 pngdiff=$2 fixtures=$3
# The test copies the 16 MiB region about 20 times: in memory (/dev/shm) that costs
# milliseconds, on a disk that other processes keep busy it took long enough to
# reach meson's timeout.
tmp_root=${TMPDIR:-/tmp}; [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && tmp_root=/dev/shm
tmp=$(mktemp -d "$tmp_root/sg-dump-test.$$.XXXXXX")
ticker= watcher=
trap 'kill $ticker $watcher 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 143' TERM INT # bash runs the EXIT trap on a signal only if the signal is trapped
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

region=$tmp/region
xz -dc "$fixtures/b7-800x600-16M.region.xz" >"$region" || { echo "cannot decompress the fixture" >&2; exit 1; }

"$dump" -f "$region" --frame "$tmp/frame.png" --cursor-png "$tmp/cursor.png" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ $rc -eq 0 ] || fail "exit status $rc on the fixture: $(cat "$tmp/err")"
[ -s "$tmp/err" ] && fail "unexpected stderr: $(cat "$tmp/err")"

expect() { grep -qxF -- "$1" "$tmp/out" || fail "missing line: $1"; }
expect "region: $region, 16777216 bytes"
expect "kvmfr: magic KVMFR---, version 20, host version \"B7\", features 0x0"
expect "kvmfr: records 2, skipped 0"
expect "queue 0: id 2 (frames), 3 slots, sub timeout 1000 ms, ring at 5960, write 2, read 1, outstanding 1, new subscribers 0"
expect "queue 0: subscribers active 0x00000001, bad 0x00000000, oldest deadline 2310380"
expect "queue 0: message 1 (ring slot 1): app_value 0x0, payload at 9965568, 6811648 bytes, pending 0x00000001"
expect "frame: newest message (ring slot 1, outstanding) at 9965568, 6811648 bytes"
expect "frame: serial 751, format version 0, type BGRA (1), rotation 0"
expect "frame: screen 800x600, data 800x600, frame 800x600, stride 800, pitch 3200"
expect "frame: fb_offset 4092 (pixel data at 9969664), progress 1920000 of 1920000 (complete)"
expect "frame: flags 0x0, damage rects 0 (full frame)"
expect "frame: wrote 800x600 RGB to $tmp/frame.png"
expect "queue 1: id 1 (cursor), 21 slots, sub timeout 1000 ms, ring at 6008, write 3, read 0, outstanding 3, new subscribers 0"
expect "queue 1: subscribers active 0x00000001, bad 0x00000000, oldest deadline 2309827"
expect "cursor: message 1: flags 0x7 (position visible shape), position (317,115), hotspot (4,8), shape colour 9x16 pitch 36 (576 bytes), hotspot at (321,123)"
expect "cursor: message 2: flags 0x7 (position visible shape), position (396,296), hotspot (4,4), shape colour 24x24 pitch 96 (2304 bytes), hotspot at (400,300)"
expect "cursor: message 3: flags 0x3 (position visible), position (406,301), hotspot at (410,305)"
expect "cursor: wrote message 2's 24x24 shape to $tmp/cursor.png"
grep -qE '^lgmp: magic LGMP, version 6, session 0x[0-9a-f]{8}, 2 queues, app data 197 bytes at 5756$' "$tmp/out" ||
    fail "lgmp line: $(grep '^lgmp:' "$tmp/out")"
grep -qE '^heartbeat: [0-9]+ ms, not ticking' "$tmp/out" || fail "heartbeat line: $(grep '^heartbeat' "$tmp/out")"
grep -qE '^queue [01]: subscriber 0: active, tag 0x[0-9a-f]{8}, bad_until 0$' "$tmp/out" || fail "subscriber line"
[ "$(grep -c '^queue 1: message' "$tmp/out")" = 3 ] || fail "expected 3 cursor queue messages"

# --frame: equals the screenshot except the 44 text-cursor pixels in x 104-107, y 117-127
diff_line=$("$pngdiff" "$tmp/frame.png" "$fixtures/b7-800x600-screen.png")
[ "$diff_line" = "size 800x600 mismatches 44 box 104,117-107,127" ] || fail "frame PNG vs screenshot: $diff_line"
diff_line=$("$pngdiff" "$tmp/frame.png" "$tmp/frame.png")
[ "$diff_line" = "size 800x600 mismatches 0 box none" ] || fail "pngdiff self-check: $diff_line"

# a live heartbeat: a stand-in host bumps host_clock_ms every 5 ms until it
# the test ends; it creates $tmp/ticking after its first bump (python can take seconds to start
# on a loaded machine)
cp "$region" "$tmp/live"
python3 -c '
import mmap, os, struct, sys, time
parent, end = os.getppid(), time.time() + 300
with open(sys.argv[1], "r+b") as f:
    m = mmap.mmap(f.fileno(), 0)
    first = True
    while os.getppid() == parent and time.time() < end:
        v = struct.unpack_from("<Q", m, 16)[0]
        struct.pack_into("<Q", m, 16, v + 5)
        if first:
            open(sys.argv[2], "w").close()
            first = False
        time.sleep(0.005)
' "$tmp/live" "$tmp/ticking" &
ticker=$!
# wait_for SECONDS COMMAND...: retries COMMAND every 50 ms
wait_for() {
    local end=$((SECONDS + $1)); shift
    until "$@"; do [ $SECONDS -ge $end ] && return 1; sleep 0.05; done
}
wait_for 30 test -e "$tmp/ticking" || fail "the stand-in host did not start ticking"
"$dump" "$tmp/live" >"$tmp/out" 2>&1 || fail "live region: exit status $?"
grep -qE '^heartbeat: [0-9]+ ms, ticking \(\+[0-9]+ ms in 100 ms\)$' "$tmp/out" ||
    fail "live heartbeat: $(grep '^heartbeat' "$tmp/out")"
# --watch repeats until SIGTERM, then exits cleanly
"$dump" --watch -n "$tmp/live" >"$tmp/watch" 2>&1 &
watcher=$!
wait_for 30 sh -c '[ "$(grep -c "^region: " "$1")" -ge 2 ]' sh "$tmp/watch"
kill -TERM $watcher
wait $watcher; rc=$?
[ $rc -eq 0 ] || fail "--watch: exit status $rc after SIGTERM"
[ "$(grep -c '^region: ' "$tmp/watch")" -ge 2 ] || fail "--watch printed $(grep -c '^region: ' "$tmp/watch") reports"
kill $ticker 2>/dev/null; wait $ticker 2>/dev/null

# --help and usage errors
"$dump" --help | grep -q -- '--frame OUT.png' || fail "--help does not describe --frame"
"$dump" --bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad option should exit 2"
"$dump" "$tmp/nonexistent" >/dev/null 2>"$tmp/err"; rc=$?
[ $rc -eq 1 ] && grep -q "$tmp/nonexistent" "$tmp/err" || fail "missing file: rc $rc, $(cat "$tmp/err")"

# In the sanitizer build a report also exits 1, like a rejected region: look for it.
sanitizer_clean() {
    grep -qE 'Sanitizer|runtime error:' "$tmp/err" && fail "$1: $(grep -m1 -E 'Sanitizer|runtime error:' "$tmp/err")"
}

# broken regions: a clear message naming the value, exit 1, never a crash
# check NAME EXPECTED-STDERR-SUBSTRING [dump args...]
check() {
    local name=$1 want=$2; shift 2
    "$dump" -n "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?
    [ $rc -eq 1 ] || fail "$name: exit status $rc (want 1)"
    sanitizer_clean "$name"
    grep -qF -- "$want" "$tmp/err" "$tmp/out" || fail "$name: no \"$want\" in: $(cat "$tmp/err") $(grep -i invalid "$tmp/out")"
}
poke() { # poke FILE OFFSET HEX-BYTES...
    local f=$1 off=$2; shift 2
    printf "$(printf '\\x%s' "$@")" | dd of="$f" bs=1 seek="$off" conv=notrunc status=none
}
head -c 100 "$region" >"$tmp/small"
check small "smaller than the 5760-byte LGMP header" "$tmp/small"
head -c 8192 /dev/zero >"$tmp/zero"
check zero "magic is 0x00000000" "$tmp/zero"
cp "$region" "$tmp/bad"; poke "$tmp/bad" 4 07 00 00 00
check version "version is 7, expected 6" "$tmp/bad"
cp "$region" "$tmp/bad"; poke "$tmp/bad" 5752 ff ff ff 7f
check appsize "app_data_size 2147483647 runs past" "$tmp/bad"
cp "$region" "$tmp/bad"; poke "$tmp/bad" 24 09 00 00 00
check queuecount "queue_count is 9" "$tmp/bad"
cp "$region" "$tmp/bad"; poke "$tmp/bad" 5756 58
check kvmfrmagic "starts with \"XVMFR---\"" "$tmp/bad"
# the guest's bytes reach a terminal: no escape sequence gets through
cp "$region" "$tmp/bad"; poke "$tmp/bad" 5756 1b 5d 30 3b 58 07 0d 9b
check kvmfrescape 'starts with "?]0;X???"' "$tmp/bad"
grep -q "$(printf '\033')" "$tmp/err" "$tmp/out" && fail "an ESC byte from the region was printed"
cp "$region" "$tmp/bad"; poke "$tmp/bad" 5764 13 00 00 00
check kvmfrversion "version 19, host \"B7\"" "$tmp/bad"
cp "$region" "$tmp/bad"; poke "$tmp/bad" $((32 + 20)) ff ff ff 00
check ring "queue 0: slot_count 3, ring_offset 16777215" "$tmp/bad"
cp "$region" "$tmp/bad"; poke "$tmp/bad" $((9965568 + 44)) 10 00 00 00
check pitch "BAD_PITCH" "$tmp/bad"
cp "$region" "$tmp/bad"; poke "$tmp/bad" $((9965568 + 48)) ff ff ff ff
check fboffset "fb_offset 4294967295" "$tmp/bad"
cp "$region" "$tmp/bad"; poke "$tmp/bad" $((9965568 + 52)) 41 00 00 00
check damage "BAD_DAMAGE_COUNT" "$tmp/bad"
cp "$region" "$tmp/bad"; poke "$tmp/bad" $((1055424 + 4)) 09 00 00 00
check cursortype "BAD_CURSOR_TYPE" "$tmp/bad"
cp "$region" "$tmp/bad"; poke "$tmp/bad" $((1055424 + 16)) 00 40 00 00
check cursorsize "BAD_CURSOR_SIZE" "$tmp/bad"
# a frame message whose payload lies outside the region
cp "$region" "$tmp/bad"; poke "$tmp/bad" $((5960 + 16 + 8)) 00 00 00 ff
check payload "BAD_PAYLOAD" "$tmp/bad"

# a cursor ring of 65536 slots all outstanding, each a 1 MiB shape: the report lists a
# bounded number of messages (else it copies 64 GiB) and says how many it left out
cp "$region" "$tmp/bad"
python3 -c '
import struct, sys
ring, msg = 4 << 20, 6 << 20
with open(sys.argv[1], "r+b") as f:
    q = 32 + 1144                                  # queue 1 (cursor)
    f.seek(q + 4); f.write(struct.pack("<I", 65536))
    f.seek(q + 16); f.write(struct.pack("<II", 0, ring))  # write_index, ring_offset
    f.seek(q + 424); f.write(struct.pack("<I", 1))      # read_index
    f.seek(q + 440); f.write(struct.pack("<I", 65535))  # outstanding
    f.seek(ring); f.write(struct.pack("<IIII", 0x4, 24 + (1 << 20), msg, 1) * 65536)
    f.seek(msg); f.write(struct.pack("<hhIbbxxIII", 0, 0, 0, 0, 0, 512, 512, 2048))
' "$tmp/bad"
timeout 60 "$dump" -n "$tmp/bad" >"$tmp/out" 2>"$tmp/err"; rc=$?
[ $rc -le 1 ] || fail "huge cursor ring: exit status $rc"
sanitizer_clean "huge cursor ring"
[ "$(grep -c '^queue 1: message' "$tmp/out")" -le 64 ] || fail "huge cursor ring: $(grep -c '^queue 1: message' "$tmp/out") messages listed"
grep -qxF "queue 1: 65471 more outstanding messages not listed" "$tmp/out" ||
    fail "huge cursor ring: no 'not listed' line: $(grep '^queue 1' "$tmp/out" | tail -2)"

# random corruption (fixed seed) of the headers, rings, cursor and frame headers:
# exit 0 or 1 with a message, never a crash (under ASan in the sanitizer build)
# (one python process for the 30 seeds: on a loaded machine each start took seconds)
python3 -c '
import random, shutil, subprocess, sys
region, bad, dump, tmp = sys.argv[1:5]
areas = [(0, 6200), (6344, 6900), (1055424, 1055500), (3153920, 3155100), (9965568, 9966700)]
for seed in range(1, 31):
    shutil.copyfile(region, bad)
    r = random.Random(seed)
    with open(bad, "r+b") as f:
        for _ in range(r.choice([1, 4, 16])):
            lo, hi = r.choice(areas)
            f.seek(r.randrange(lo, hi))
            f.write(bytes([r.choice([0, 1, 0x7f, 0x80, 0xff, r.randrange(256)])]))
    with open(tmp + "/out", "wb") as out, open(tmp + "/err", "wb") as err:
        rc = subprocess.call([dump, "-n", "--frame", tmp + "/r.png", "--cursor-png", tmp + "/c.png", bad],
                             stdout=out, stderr=err)
    text = open(tmp + "/err", errors="replace").read()
    if rc < 0 or rc > 1:
        print("corruption seed %d: exit status %d: %s" % (seed, rc, text[-500:]))
    elif "Sanitizer" in text or "runtime error:" in text:
        print("corruption seed %d: %s" % (seed, [l for l in text.splitlines() if "Sanitizer" in l or "runtime error:" in l][0]))
' "$region" "$tmp/bad" "$dump" "$tmp" >"$tmp/seeds" 2>&1 || fail "corruption runner: $(tail -3 "$tmp/seeds")"
while IFS= read -r line; do fail "$line"; done <"$tmp/seeds"

# an evicted subscriber: slot 0 of the frame queue ACTIVE+BAD, reserved until host clock + 500 ms
cp "$region" "$tmp/bad"; poke "$tmp/bad" 448 01 00 00 00 01 00 00 00; poke "$tmp/bad" 56 ef 3e 23 00 00 00 00 00
"$dump" -n "$tmp/bad" >"$tmp/out" 2>&1 || fail "evicted subscriber: exit status $?"
grep -qE '^queue 0: subscribers active 0x00000001, bad 0x00000001, ' "$tmp/out" || fail "bad mask not shown"
grep -qE '^queue 0: subscriber 0: active bad \(evicted\), tag 0x[0-9a-f]{8}, bad_until 2309871 \(slot reserved for 500 more ms\)$' \
    "$tmp/out" || fail "evicted subscriber line: $(grep '^queue 0: subscriber 0' "$tmp/out")"

[ $failures -eq 0 ] && echo "all spyglass-dump checks passed"
exit $((failures > 0))
