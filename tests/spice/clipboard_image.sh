#!/usr/bin/env bash
# Image clipboard through the SPICE agent: spyglass-client on one Xvfb, spyglass-fakevm (its
# vdagent bridges the guest display's CLIPBOARD) on another. PNGs are compared byte for byte;
# large noisy ones go through the ICCCM INCR protocol on the client display both ways.
BUILD=${1:?build dir}
. "$(dirname "$0")/lib.sh"
SHM=/dev/shm/spyglass-spice-clipimg-$$
trap 'sg_cleanup; rm -f "$SHM"' EXIT

sg_xvfb 640x480; G=$SG_DISPLAY
sg_xvfb 800x600; C=$SG_DISPLAY
SOCK=$SG_TMP/spice.sock
SG_DISPLAY=$G sg_fakevm "$SOCK" -v
CLOG=$SG_TMP/client.log
start_client() {
    : >"$CLOG"
    DISPLAY=$C LIBGL_ALWAYS_SOFTWARE=1 SPYGLASS_CLIPBOARD_DEBUG=1 "$BUILD/client/spyglass-client" -f "$SHM" "spice:unix=$SOCK" \
        win:x=0 win:y=0 -d win:autoResize=no win:width=320 win:height=240 win:vsync=no "$@" >>"$CLOG" 2>&1 &
    SG_PIDS+=($!)
    CLIENT_PID=$!
    sg_wait_for 15 grep -q 'agent is connected' "$CLOG" || fail "client did not see the guest agent: $(cat "$CLOG")"
}
stop_client() { kill "$CLIENT_PID"; wait "$CLIENT_PID" 2>/dev/null; }
# same_png DISPLAY FILE [TYPE]: the DISPLAY's CLIPBOARD holds FILE's bytes as TYPE (image/png)
same_png() { DISPLAY=$1 timeout 3 xclip -o -selection clipboard -t "${3:-image/png}" >"$SG_TMP/got.png" 2>/dev/null &&
    cmp -s "$SG_TMP/got.png" "$2"; }
# copy_png DISPLAY FILE: a program on DISPLAY copies FILE as image/png (xclip serves it in the background)
copy_png() { DISPLAY=$1 xclip -selection clipboard -t image/png -i "$2"; }
copy_text() { printf '%s' "$2" | DISPLAY=$1 xclip -selection clipboard -i; }
has_text() { [ "$(DISPLAY=$1 timeout 3 xclip -o -selection clipboard 2>/dev/null)" = "$2" ]; }

convert -size 7x5 xc:'#3366cc' -fill '#ff0000' -draw 'point 2,1' "PNG24:$SG_TMP/guest.png" || fail "convert failed"
convert -size 5x3 gradient:yellow-green "PNG24:$SG_TMP/client.png" || fail "convert failed"
# Noise does not compress. Over ~1 MB xclip serves in INCR pieces (which the client, or the fake
# guest, must fetch piece by piece); over 256 KiB the client serves in INCR pieces.
convert -seed 1 -size 700x560 xc: +noise Random -depth 8 "PNG24:$SG_TMP/big.png" || fail "convert failed"
convert -seed 2 -size 700x560 xc: +noise Random -depth 8 "PNG24:$SG_TMP/big2.png" || fail "convert failed"
BIG=$(stat -c %s "$SG_TMP/big.png")
BIG2=$(stat -c %s "$SG_TMP/big2.png")
[ "$BIG" -gt $((1100 * 1000)) ] && [ "$BIG2" -gt $((1100 * 1000)) ] || fail "big PNGs are only $BIG, $BIG2 bytes"
cmp -s "$SG_TMP/big.png" "$SG_TMP/big2.png" && fail "the two noise PNGs are the same"

start_client
# --- guest -> client: a 7x5 PNG copied in the guest is offered as image/png on the client display
copy_png "$G" "$SG_TMP/guest.png"
sg_wait_for 5 same_png "$C" "$SG_TMP/guest.png" ||
    fail "client CLIPBOARD image/png: $(od -An -tx1 "$SG_TMP/got.png" | head -2) ($(cat "$CLOG"))"
targets=$(DISPLAY=$C timeout 3 xclip -o -selection clipboard -t TARGETS | sort | tr '\n' ' ')
[ "$targets" = "TARGETS TIMESTAMP image/png " ] || fail "client CLIPBOARD TARGETS: '$targets'"
ok "guest PNG ($(stat -c %s "$SG_TMP/guest.png") bytes) arrived byte-exact on the client's CLIPBOARD (TARGETS: $targets)"

# --- client -> guest: a PNG copied by a client-side program reaches the guest's CLIPBOARD
copy_png "$C" "$SG_TMP/client.png"
sg_wait_for 5 same_png "$G" "$SG_TMP/client.png" ||
    fail "guest CLIPBOARD image/png: $(od -An -tx1 "$SG_TMP/got.png" | head -2) ($(tail -5 "$CLOG"))"
ok "client PNG ($(stat -c %s "$SG_TMP/client.png") bytes) arrived byte-exact on the guest's CLIPBOARD"

# --- text still works both ways after images
copy_text "$G" 'text after an image ✓'
sg_wait_for 5 has_text "$C" 'text after an image ✓' || fail "guest text after an image did not reach the client"
copy_text "$C" 'client text after an image ✓'
sg_wait_for 5 has_text "$G" 'client text after an image ✓' || fail "client text after an image did not reach the guest"
ok "text both ways after images"

# --- a BMP from the guest is taken too, and served unconverted as image/bmp
convert -size 4x3 xc:'#00ff80' "BMP3:$SG_TMP/guest.bmp" || fail "convert failed"
DISPLAY=$G xclip -selection clipboard -t image/bmp -i "$SG_TMP/guest.bmp"
sg_wait_for 5 same_png "$C" "$SG_TMP/guest.bmp" image/bmp ||
    fail "client CLIPBOARD image/bmp: $(od -An -tx1 "$SG_TMP/got.png" | head -2)"
targets=$(DISPLAY=$C timeout 3 xclip -o -selection clipboard -t TARGETS | sort | tr '\n' ' ')
[ "$targets" = "TARGETS TIMESTAMP image/bmp " ] || fail "client CLIPBOARD TARGETS for a BMP: '$targets'"
ok "guest BMP ($(stat -c %s "$SG_TMP/guest.bmp") bytes) arrived byte-exact as image/bmp on the client"

# --- large images: INCR on the client display both ways
copy_png "$C" "$SG_TMP/big.png"
sg_wait_for 10 same_png "$G" "$SG_TMP/big.png" || fail "big client PNG ($BIG bytes) did not reach the guest"
pieces=$(sed -n "s/.*fetched a local image\/png of $BIG bytes (\([0-9]*\) INCR pieces).*/\1/p" "$CLOG" | tail -1)
[ "${pieces:-0}" -ge 2 ] || fail "the client did not fetch the big PNG with INCR: $(grep fetched "$CLOG")"
ok "client PNG of $BIG bytes (fetched in $pieces INCR pieces) arrived byte-exact in the guest"
copy_png "$G" "$SG_TMP/big2.png"
sg_wait_for 10 same_png "$C" "$SG_TMP/big2.png" || fail "big guest PNG ($BIG2 bytes) not on the client display"
grep -q "served $BIG2 bytes .* in INCR pieces" "$CLOG" || fail "the client did not serve with INCR: $(grep served "$CLOG")"
grep -q "sending $BIG2 bytes of guest image/png (INCR)" "$SG_TMP"/fakevm.*.err ||
    fail "the fake guest did not fetch with INCR: $(grep -h clipboard "$SG_TMP"/fakevm.*.err | tail -3)"
ok "guest PNG of $BIG2 bytes (INCR in the guest) arrived byte-exact on the client display (served with INCR)"
grep -q 'image clipboard unavailable' "$CLOG" && fail "client says images are unavailable on X11: $(cat "$CLOG")"

# --- two local copies in quick succession (the first one large): the guest ends with the second
copy_png "$C" "$SG_TMP/big.png"
copy_png "$C" "$SG_TMP/client.png"
sg_wait_for 10 same_png "$G" "$SG_TMP/client.png" || fail "after big then small copies the guest has $(stat -c %s "$SG_TMP/got.png") bytes"
sleep 0.5
same_png "$G" "$SG_TMP/client.png" || fail "the guest's CLIPBOARD changed to $(stat -c %s "$SG_TMP/got.png") bytes after the later copy"
ok "big then small local copies in quick succession: the guest holds the later one"

# --- spice:clipboard=no: neither images nor text cross
stop_client
start_client spice:clipboard=no
copy_png "$G" "$SG_TMP/guest.png"
copy_png "$C" "$SG_TMP/client.png"
sleep 1.5
same_png "$C" "$SG_TMP/client.png" || fail "spice:clipboard=no: the client's CLIPBOARD changed"
same_png "$G" "$SG_TMP/guest.png" || fail "spice:clipboard=no: the guest's CLIPBOARD changed"
ok "spice:clipboard=no: images stay where they were copied"
stop_client

# --- a guest without an agent: local image copies do nothing, said once
SG_DISPLAY=$G sg_fakevm "$SG_TMP/noagent.sock" --no-agent
: >"$CLOG"
DISPLAY=$C LIBGL_ALWAYS_SOFTWARE=1 "$BUILD/client/spyglass-client" -f "$SHM" "spice:unix=$SG_TMP/noagent.sock" \
    win:width=320 win:height=240 win:vsync=no >>"$CLOG" 2>&1 &
SG_PIDS+=($!)
CLIENT_PID=$!
sg_wait_for 15 grep -q 'SPICE connected' "$CLOG" || fail "client did not connect to the agentless guest: $(cat "$CLOG")"
copy_png "$C" "$SG_TMP/client.png"
sg_wait_for 5 grep -q 'has no SPICE agent' "$CLOG" || fail "no 'no agent' message after an image copy: $(cat "$CLOG")"
copy_png "$C" "$SG_TMP/guest.png"; sleep 0.3
copy_text "$C" 'no agent'; sleep 0.5
[ "$(grep -c 'has no SPICE agent' "$CLOG")" = 1 ] || fail "expected one 'no agent' message: $(cat "$CLOG")"
ok "no agent: two image copies and a text copy, one message"
stop_client

# --- a client not on X11 says once that images are unavailable and keeps text
DISPLAY=$C LIBGL_ALWAYS_SOFTWARE=1 SDL_VIDEODRIVER=offscreen timeout 10 "$BUILD/client/spyglass-client" -f "$SHM" \
    "spice:unix=$SOCK" win:width=320 win:height=240 win:vsync=no >"$SG_TMP/offscreen.log" 2>&1 &
SG_PIDS+=($!)
OFF_PID=$!
if sg_wait_for 10 grep -q 'agent is connected' "$SG_TMP/offscreen.log"; then
    copy_png "$G" "$SG_TMP/guest.png"
    sleep 1
    [ "$(grep -c 'image clipboard unavailable' "$SG_TMP/offscreen.log")" = 1 ] ||
        fail "offscreen client: $(cat "$SG_TMP/offscreen.log")"
    grep 'image clipboard unavailable' "$SG_TMP/offscreen.log" | grep -q offscreen ||
        fail "the message does not name the video driver: $(grep unavailable "$SG_TMP/offscreen.log")"
    ok "not on X11: '$(grep 'image clipboard unavailable' "$SG_TMP/offscreen.log")', once"
else
    echo "skip: the client does not start with SDL_VIDEODRIVER=offscreen here: $(tail -2 "$SG_TMP/offscreen.log")"
fi
kill "$OFF_PID" 2>/dev/null; wait "$OFF_PID" 2>/dev/null
echo "all image clipboard checks passed"
