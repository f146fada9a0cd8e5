#!/usr/bin/env bash
# Installs the Debian 12 packages Spyglass needs, only those missing.
# Idempotent: a second run installs nothing. Used by scripts/demo and scripts/test.
set -euo pipefail

# What each group is for (the README repeats this):
BUILD="build-essential meson ninja-build pkg-config clang libclang-rt-14-dev clang-format"
UNIT="libcmocka-dev"
CLIENT="libsdl2-dev libsdl2-ttf-dev libepoxy-dev libgl-dev libegl-dev libgles-dev libgl1-mesa-dri
        fonts-dejavu-core libfontconfig-dev libinih-dev libspng-dev"
SPICE="libspice-client-glib-2.0-dev libspice-server-dev libglib2.0-dev"
SOUND="libpulse-dev libspeexdsp-dev pulseaudio pulseaudio-utils"
# bench/audio's reference viewer (spice-gtk's own sound through GStreamer); SPYGLASS_BENCH=1
BENCH="virt-viewer gstreamer1.0-pulseaudio"
X11="libxcb1-dev libxcb-shm0-dev libxcb-damage0-dev libxcb-xfixes0-dev libxcb-randr0-dev libxcb-xtest0-dev libxcb-xinput-dev
     libx11-dev libxtst-dev libxfixes-dev"
KMS="libdrm-dev"
TESTS="xvfb xauth x11-xserver-utils xdotool xterm imagemagick xz-utils python3 procps xclip x11-apps xserver-xephyr"
VM="qemu-system-x86 qemu-utils busybox-static cpio kmod weston"

want="$BUILD $UNIT $CLIENT $SPICE $SOUND $X11 $KMS $TESTS"
[ "${SPYGLASS_BENCH:-0}" = 1 ] && want="$want $BENCH"
[ "${SPYGLASS_NO_VM:-0}" = 1 ] || want="$want $VM"

missing=()
for p in $want; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "spyglass: installing missing packages: ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "spyglass: not root and no sudo; run as root: apt-get install ${missing[*]}" >&2
        exit 1
    fi
else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
