#!/usr/bin/env bash
# Image clipboard transfer time through the SPICE agent (client on one Xvfb, spyglass-fakevm on
# another): from `xclip -i -t image/png` on one display until `xclip -o -t image/png` on the other
# returns the same bytes, each way, for a 7x5 PNG and a ~1.2 MB noise PNG, against the same
# copy-and-paste within one display (the baseline: X selection transfer plus the polling). Usage:
#   bash bench/spice/clipboard_image.sh BUILD_DIR [SAMPLES]
BUILD=${1:?build dir}
N=${2:-5}
BUILD=$(cd "$BUILD" && pwd)
. "$(dirname "$0")/../../tests/spice/lib.sh"
SHM=/dev/shm/spyglass-clip-bench-$$
trap 'sg_cleanup; rm -f "$SHM"' EXIT
sg_xvfb 640x480; G=$SG_DISPLAY
sg_xvfb 640x480; C=$SG_DISPLAY
SOCK=$SG_TMP/spice.sock
SG_DISPLAY=$G sg_fakevm "$SOCK"
DISPLAY=$C LIBGL_ALWAYS_SOFTWARE=1 "$BUILD/client/spyglass-client" -f "$SHM" "spice:unix=$SOCK" \
    win:width=320 win:height=240 win:vsync=no >"$SG_TMP/client.log" 2>&1 &
SG_PIDS+=($!)
sg_wait_for 15 grep -q 'agent is connected' "$SG_TMP/client.log" || fail "client: $(cat "$SG_TMP/client.log")"
for i in 1 2; do
    convert -size 7x5 xc:"rgb($((i * 90)),20,30)" "PNG24:$SG_TMP/small$i.png"
    convert -seed "$i" -size 700x560 xc: +noise Random -depth 8 "PNG24:$SG_TMP/big$i.png"
done
now_us() { echo $(($(date +%s%N) / 1000)); }
# one FROM TO FILE -> microseconds from the copy on FROM until TO pastes FILE's bytes
one() {
    local t0 t1
    t0=$(now_us)
    DISPLAY=$1 xclip -selection clipboard -t image/png -i "$3" >/dev/null 2>&1 # it stays in the background
    until DISPLAY=$2 timeout 3 xclip -o -selection clipboard -t image/png 2>/dev/null | cmp -s - "$3"; do
        [ $(($(now_us) - t0)) -gt 10000000 ] && fail "no transfer of $3 from $1 to $2 in 10 s"
    done
    t1=$(now_us)
    echo $((t1 - t0))
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
run() { # label FROM TO size
    local i samples=()
    for ((i = 0; i < N; i++)); do samples+=("$(one "$2" "$3" "$SG_TMP/$4$((i % 2 + 1)).png")"); done
    printf '%-28s %-6s %8d bytes  median %7.1f ms\n' "$1" "$4" "$(stat -c %s "$SG_TMP/${4}1.png")" \
        "$(printf '%s\n' "${samples[@]}" | median | awk '{print $1 / 1000}')"
}
for size in small big; do
    run "same display (baseline)" "$C" "$C" $size
    run "guest -> client" "$G" "$C" $size
    run "client -> guest" "$C" "$G" $size
done
