#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Window tests of spyglass-client: a real window under Xvfb with Mesa's
software OpenGL, fed by sg-client-testhost (a scriptable KVMFR host), checked
by screenshots of the X screen (ImageMagick `import`) compared pixel by pixel
and by the client's --stats-file counters.

Usage: window_test.py BUILD_DIR FIXTURES_DIR CASE
"""
import glob
import lzma
import mmap
import threading
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

BUILD, FIXTURES, CASE = sys.argv[1], sys.argv[2], sys.argv[3]
CLIENT = os.path.join(BUILD, "client", "spyglass-client")
HOST = os.path.join(BUILD, "tests", "client", "sg-client-testhost")
XVFB = os.path.join(BUILD, "tests", "common", "sg-xvfb")
TAG = "sgc-%s-%d" % (CASE, os.getpid())
TMP = tempfile.mkdtemp(prefix=TAG + "-")
REGION = "/dev/shm/" + TAG
procs = []

RED, GREEN, BLUE, WHITE, BLACK = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)
YELLOW, CYAN = (255, 255, 0), (0, 255, 255)


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def cleanup():
    for p in reversed(procs):
        if p.poll() is None:
            try:
                os.kill(p.pid, signal.SIGCONT)
            except OSError:
                pass
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
    for f in glob.glob(REGION + "*"):
        os.unlink(f)
    if os.environ.get("SPYGLASS_KEEP_TMP") != "1":
        shutil.rmtree(TMP, ignore_errors=True)


def start_xvfb():
    """Xvfb through tests/common/sg-xvfb: it bounds the start and the server dies with this test."""
    p = subprocess.Popen([XVFB, "1600x1200"], stdout=subprocess.PIPE, text=True)
    procs.append(p)
    num = p.stdout.readline().strip()
    check(num, "Xvfb did not start (sg-xvfb's message above)")
    return ":" + num


DISPLAY = None
ENV = None


class TestHost:
    def __init__(self, region=None, mib=32, args=()):
        self.p = subprocess.Popen([HOST, "-f", region or REGION, "-s", str(mib)] + list(args), stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=sys.stderr, text=True, bufsize=1)
        procs.append(self.p)
        line = self.p.stdout.readline().strip()
        check(line == "ready", "test host did not start: %r" % line)

    def cmd(self, c, expect="ok"):
        self.p.stdin.write(c + "\n")
        self.p.stdin.flush()
        while True:
            line = self.p.stdout.readline().strip()
            if not line.startswith("setpos"):
                break
        if expect is not None:
            check(line.startswith(expect), "test host: %r -> %r" % (c, line))
        return line

    def kill(self):
        self.p.kill()
        self.p.wait()


_EXTRA = None


def extra_args():
    """View-only clients: no SPICE connection attempts that could meet another test's server."""
    global _EXTRA
    if _EXTRA is None:
        out = subprocess.run([CLIENT, "--help"], capture_output=True, text=True).stdout
        _EXTRA = ["spice:enable=no"] if "spice:enable" in out else []
    return _EXTRA


class Client:
    """placed: the window at (0,0) (else where the client puts it); quick_retry: attach
    retries every 200 ms (else the default app:retryMs)."""

    def __init__(self, *args, name="c", region=None, placed=True, quick_retry=True):
        self.stats = os.path.join(TMP, name + ".stats")
        self.log = open(os.path.join(TMP, name + ".log"), "w+")
        argv = ([CLIENT, "-f", region or REGION, "--stats-file", self.stats, "win:filter=nearest"] +
                (["win:x=0", "win:y=0"] if placed else []) + (["app:retryMs=200"] if quick_retry else []) +
                extra_args() + list(args))
        self.p = subprocess.Popen(argv, env=ENV, stdout=self.log, stderr=subprocess.STDOUT)
        procs.append(self.p)

    def read_stats(self):
        try:
            with open(self.stats) as f:
                return dict(l.rstrip("\n").split("=", 1) for l in f if "=" in l)
        except FileNotFoundError:
            return {}

    def wait(self, pred, what, timeout=15):
        deadline = time.time() + timeout
        s = {}
        while time.time() < deadline:
            if self.p.poll() is not None:
                raise Fail("client exited (%s) while waiting for %s; log:\n%s" % (self.p.returncode, what, self.logtext()))
            s = self.read_stats()
            try:
                if s and pred(s):
                    return s
            except (KeyError, ValueError):
                pass
            time.sleep(0.1)
        raise Fail("timeout waiting for %s; stats %r; log:\n%s" % (what, s, self.logtext()))

    def logtext(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()[-3000:]

    def stop(self):
        self.p.terminate()
        rc = self.p.wait(10)
        check(rc == 0, "client exit status %d on SIGTERM" % rc)


def screenshot():
    out = subprocess.run(["import", "-display", DISPLAY, "-window", "root", "-depth", "8", "ppm:-"], capture_output=True,
                         check=True).stdout
    # P6\nW H\n255\n
    parts = out.split(b"\n", 3)
    w, h = map(int, parts[1].split())
    check(parts[2] == b"255", "screenshot is not an 8-bit PPM")
    return w, h, parts[3]


def px(shot, x, y):
    w, h, data = shot
    i = (y * w + x) * 3
    return tuple(data[i:i + 3])


def expect_px(shot, x, y, want, tol=2, what=""):
    got = px(shot, x, y)
    ok = all(abs(a - b) <= tol for a, b in zip(got, want))
    check(ok, "pixel (%d,%d) %s: got %r, want %r (tolerance %d)" % (x, y, what, got, want, tol))


def wait_frames(client, n=1):
    return client.wait(lambda s: int(s["frames"]) >= n and s["state"] == "running", "%d frame(s)" % n)


def shot_until(pred, what, timeout=8):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        s = screenshot()
        try:
            pred(s)
            return s
        except Fail as e:
            last = e
        time.sleep(0.2)
    raise Fail("%s: %s" % (what, last))


# ------------------------------------------------------------------ cases

def quadrants(shot, ox, oy, scale, gw=320, gh=240, what=""):
    """The test host's pattern (red, green / blue, white) drawn at (ox, oy) scaled by `scale`."""
    W, H = gw * scale, gh * scale
    expect_px(shot, ox + int(W / 4), oy + int(H / 4), RED, what=what + " top-left")
    expect_px(shot, ox + int(W * 3 / 4), oy + int(H / 4), GREEN, what=what + " top-right")
    expect_px(shot, ox + int(W / 4), oy + int(H * 3 / 4), BLUE, what=what + " bottom-left")
    expect_px(shot, ox + int(W * 3 / 4), oy + int(H * 3 / 4), WHITE, what=what + " bottom-right")
    # the quadrant edges land exactly where the scale says (nearest filtering)
    expect_px(shot, ox + int(W / 2) - 1, oy + 10, RED, what=what + " last red column")
    expect_px(shot, ox + int(W / 2), oy + 10, GREEN, what=what + " first green column")
    expect_px(shot, ox + int(W) - 1, oy + int(H) - 1, WHITE, what=what + " last pixel")


def case_frame():
    h = TestHost()
    c = Client()
    h.cmd("frame 320 240")
    s = wait_frames(c)
    c.wait(lambda s: s["window"] == "320x240", "window sized to the guest")
    check(s["format"] == "BGRA" and s["guest"] == "320x240", "stats: %r" % s)
    shot = shot_until(lambda sh: quadrants(sh, 0, 0, 1), "1:1 frame")
    expect_px(shot, 320, 10, BLACK, what="outside the window")
    # every other supported format shows the same picture
    for t, name in OTHER_FORMATS:
        h.cmd("frame 320 240 %d" % t)
        c.wait(lambda s: s["format"] == name, "format " + name)
        shot_until(lambda sh: quadrants(sh, 0, 0, 1, what=name), "format " + name)
    # packed 24-bit frames updated by damage rectangles: each is unpacked where it changed
    # (the marker's 16 pixels straddle 4-byte texels at most x positions)
    h.cmd("stream 30")
    c.wait(lambda s: float(s["ups"]) > 5, "BGR_32 frames flowing")
    time.sleep(1.0)
    h.cmd("stream 0")
    check_last_streamed(h, [c], [0])
    c.stop()
    # a guest larger than the 1600x1200 screen: the window shrinks to fit, keeping 4:3
    h.cmd("frame 2000 1500")
    c = Client(name="big")
    wait_frames(c)
    s = c.wait(lambda s: s["window"] != "1024x768", "window sized on the first frame")
    ww, wh = map(int, s["window"].split("x"))
    check(ww <= 1600 and wh <= 1200 and abs(ww * 3 - wh * 4) <= 4, "window %s for a 2000x1500 guest" % s["window"])
    shot_until(lambda sh: quadrants(sh, 0, 0, ww / 2000.0, gw=2000, gh=1500, what="shrunk"), "shrunk guest")
    c.stop()


OTHER_FORMATS = ((2, "RGBA"), (3, "RGBA10"), (4, "RGBA16F"), (6, "RGB_24"), (5, "BGR_32"))


def check_last_streamed(h, clients, offsets):
    """After `stream`: every client got the host's frames, some as damage rectangles, and each
    window (at x offsets) shows exactly the last one: the black 16x16 marker where the host put
    it last, the pattern everywhere else (checked on a 4-pixel grid)."""
    st = h.cmd("status", expect="subs").split()
    mx, my, posted = int(st[6]), int(st[7]), int(st[4])
    check(posted > 20, "host posted only %d frames" % posted)
    for c in clients:
        s = c.wait(lambda s: int(s["frames"]) >= posted - 2, "client got the frames")
        check(int(s["damage_frames"]) > 10, "few frames went the damage path: %s" % s["damage_frames"])

    def last_frame(sh):
        for ox in offsets:
            for y in range(0, 240, 4):
                for x in range(0, 320, 4):
                    inside = mx <= x < mx + 16 and my <= y < my + 16
                    want = BLACK if inside else (RED, GREEN, BLUE, WHITE)[(y >= 120) * 2 + (x >= 160)]
                    expect_px(sh, ox + x, y, want, what="last streamed frame (marker at %d,%d)" % (mx, my))
    shot_until(last_frame, "damage-updated picture")


def case_place():
    """Without win:x/win:y the window is created centred at 1024x768 and stays centred on the
    1600x1200 screen when it takes the guest's size; a given coordinate is kept."""
    h = TestHost()
    h.cmd("frame 320 240")
    c = Client(placed=False, name="centred")
    wait_frames(c)
    c.wait(lambda s: s["window"] == "320x240", "window sized to the guest")
    shot = shot_until(lambda sh: quadrants(sh, 640, 480, 1, what="centred window"), "centred 320x240 window")
    expect_px(shot, 639, 600, BLACK, what="left of the centred window")
    expect_px(shot, 800, 479, BLACK, what="above the centred window")
    c.stop()
    # only x given: x kept, y centred
    c = Client("win:x=100", placed=False, name="xgiven")
    wait_frames(c)
    c.wait(lambda s: s["window"] == "320x240", "window sized to the guest")
    shot_until(lambda sh: quadrants(sh, 100, 480, 1, what="x given"), "window at x=100, centred vertically")
    c.stop()
    # a guest larger than the screen: shrunk to the whole screen, all of it on the screen
    h.cmd("frame 2000 1500")
    c = Client(placed=False, name="big")
    wait_frames(c)
    c.wait(lambda s: s["window"] == "1600x1200", "window shrunk to the screen")
    shot_until(lambda sh: quadrants(sh, 0, 0, 0.8, gw=2000, gh=1500, what="screen-sized window"),
               "screen-sized window at (0,0)")
    c.stop()


def case_scale():
    h = TestHost()
    h.cmd("frame 320 240")
    c = Client("win:autoResize=no", "win:width=700", "win:height=500", "win:scaling=integer", name="int")
    wait_frames(c)
    # integer: 2x = 640x480 centred in 700x500 -> offset (30, 10)
    shot = shot_until(lambda sh: quadrants(sh, 30, 10, 2, what="integer 2x"), "integer scaling")
    expect_px(shot, 29, 100, BLACK, what="left letterbox")
    expect_px(shot, 30 + 640, 100, BLACK, what="right letterbox")
    c.stop()
    c = Client("win:autoResize=no", "win:width=640", "win:height=600", name="keep")
    wait_frames(c)
    # keep aspect: 640x480 centred vertically in 640x600 -> offset (0, 60)
    shot = shot_until(lambda sh: quadrants(sh, 0, 60, 2, what="keep aspect"), "keep-aspect scaling")
    expect_px(shot, 100, 59, BLACK, what="top letterbox")
    c.stop()
    # rotation 1 (90 degrees clockwise): the window takes the turned size, blue is top-left
    h.cmd("frame 320 240 1 0 1")
    c = Client(name="rot")
    wait_frames(c)
    c.wait(lambda s: s["window"] == "240x320", "window sized to the turned guest")
    shot_until(lambda sh: (expect_px(sh, 60, 80, BLUE), expect_px(sh, 180, 80, RED), expect_px(sh, 60, 240, WHITE),
                           expect_px(sh, 180, 240, GREEN), expect_px(sh, 119, 10, BLUE),
                           expect_px(sh, 120, 10, RED), expect_px(sh, 239, 319, GREEN)), "rotation 90")
    c.stop()
    h.cmd("frame 320 240")
    c = Client("win:autoResize=no", "win:width=640", "win:height=240", "win:scaling=stretch", name="stretch")
    wait_frames(c)
    shot_until(lambda sh: (expect_px(sh, 319, 10, RED), expect_px(sh, 320, 10, GREEN),
                           expect_px(sh, 639, 239, WHITE), expect_px(sh, 10, 119, RED),
                           expect_px(sh, 10, 120, BLUE)), "stretch scaling")
    c.stop()


def cursor_checks(kind):
    # image top-left (40, 40) in the red quadrant; the test shapes are 16x16
    if kind == 0:   # colour: left half opaque yellow, right half transparent
        return [(42, 42, YELLOW), (47, 55, YELLOW), (48, 42, RED), (55, 55, RED)]
    if kind == 1:   # monochrome bands: black, white, unchanged, inverted
        return [(42, 41, BLACK), (42, 45, WHITE), (42, 49, RED), (42, 53, CYAN), (55, 53, CYAN), (57, 53, RED)]
    return [(42, 42, GREEN), (52, 42, CYAN), (52, 55, CYAN), (57, 42, RED)]   # masked colour


def case_cursor():
    h = TestHost()
    h.cmd("frame 320 240")
    c = Client()
    wait_frames(c)
    for kind in (0, 1, 2):
        h.cmd("cursor %d 40 40 3 5" % kind)
        s = c.wait(lambda s: s["cursor"] == "43,45,1", "cursor hotspot at (43,45)")
        shot_until(lambda sh: [expect_px(sh, x, y, col, what="cursor type %d" % kind)
                               for x, y, col in cursor_checks(kind)], "cursor type %d" % kind)
    # cursor-only updates: redraws without frames, UPS stays 0
    before = c.wait(lambda s: float(s["ups"]) == 0.0, "UPS 0 with a still guest")
    for i in range(20):
        h.cmd("move %d %d" % (60 + i * 5, 30 + i * 2))
    last = (60 + 19 * 5, 30 + 19 * 2)
    s = c.wait(lambda s: s["cursor"] == "%d,%d,1" % (last[0] + 3, last[1] + 5), "cursor moved")
    time.sleep(1.2)
    # the stats file is rewritten once a second by the client's loop: wait for one with the redraws
    s = c.wait(lambda s: int(s["draws"]) > int(before["draws"]), "stats after the cursor moves")
    check(s["frames"] == before["frames"], "cursor moves changed the frame count: %s -> %s" %
          (before["frames"], s["frames"]))
    check(float(s["ups"]) == 0.0, "cursor moves changed UPS: %s" % s["ups"])
    check(int(s["draws"]) > int(before["draws"]), "cursor moves did not redraw")
    # where partial presents exist (GLX_MESA_copy_sub_buffer under Xvfb), a move costs its rectangles only
    if "GLX_MESA_copy_sub_buffer" in c.logtext():
        check(int(s["cursor_draws"]) > int(before["cursor_draws"]), "cursor moves redrew the whole window: %r" % s)
    # masked colour at its last position: green left half at the new place, old place back to red
    shot_until(lambda sh: (expect_px(sh, last[0] + 2, last[1] + 2, GREEN, what="moved cursor"),
                           expect_px(sh, 42, 42, RED, what="old cursor place")), "moved cursor")
    h.cmd("hide")
    c.wait(lambda s: s["cursor"].endswith(",0"), "cursor hidden")
    shot_until(lambda sh: expect_px(sh, last[0] + 2, last[1] + 2, RED, what="hidden cursor"), "hidden cursor")
    c.stop()
    # scaled 2x: the cursor image doubles and sits at 2x its guest position
    c = Client("win:autoResize=no", "win:width=640", "win:height=480", name="c2x")
    wait_frames(c)
    h.cmd("show")
    h.cmd("cursor 0 40 40 3 5")
    c.wait(lambda s: s["cursor"] == "43,45,1", "cursor at 2x")
    shot_until(lambda sh: (expect_px(sh, 81, 81, YELLOW), expect_px(sh, 80 + 15, 80 + 31, YELLOW),
                           expect_px(sh, 80 + 16, 82, RED), expect_px(sh, 79, 82, RED)), "cursor at 2x")
    c.stop()


def case_partial():
    """Frames with damage and cursor moves presented as rectangles (GLX_MESA_copy_sub_buffer under
    Xvfb, which has no vsync): by default both go out as rectangles; with win:partialDraw=cursor (what
    vsync gives) frames are swapped whole and the cursor moves between them are rectangles drawn right
    after a swap. Afterwards the window must show exactly the last frame and the cursor at its last
    place, with no trace of where it was."""
    h = TestHost()
    h.cmd("frame 320 240")
    for n, mode in enumerate(("yes", "cursor")):
        c = Client("win:partialDraw=" + mode, name="partial-" + mode)
        wait_frames(c)
        check("GLX_MESA_copy_sub_buffer" in c.logtext(), "no partial presents here: %s" % c.logtext())
        h.cmd("cursor 0 40 40 3 5")
        c.wait(lambda s: s["cursor"] == "43,45,1", "cursor shown")
        shot_until(lambda sh: quadrants(sh, 0, 0, 1), "first picture")
        h.cmd("stream 60")
        c.wait(lambda s: float(s["ups"]) > 5, "frames flowing")
        for i in range(40):
            h.cmd("move %d %d" % (20 + ((i + n) * 37) % 260, 20 + ((i + n) * 23) % 190))
            time.sleep(0.01)
        h.cmd("stream 0")
        last = (20 + ((39 + n) * 37) % 260, 20 + ((39 + n) * 23) % 190)
        st = h.cmd("status", expect="subs").split()
        mx, my = int(st[6]), int(st[7])
        c.wait(lambda s: s["cursor"] == "%d,%d,1" % (last[0] + 3, last[1] + 5), "cursor at the burst's last place")
        # cursor-only moves a few more times, with the guest still
        for i in range(5):
            last = (200 - i * 30, 150 - i * 20)
            h.cmd("move %d %d" % last)
        c.wait(lambda s: s["cursor"] == "%d,%d,1" % (last[0] + 3, last[1] + 5), "cursor at its last place")
        s = c.wait(lambda s: int(s["cursor_draws"]) > 0, "cursor presents as rectangles (partialDraw=%s)" % mode)
        frame_rects = int(s["rect_draws"]) - int(s["cursor_draws"])
        check(frame_rects > 10 if mode == "yes" else frame_rects == 0,
              "partialDraw=%s: %d frames presented as rectangles" % (mode, frame_rects))

        def exact(sh):
            for y in range(0, 240, 2):
                for x in range(0, 320, 2):
                    if last[0] <= x < last[0] + 8 and last[1] <= y < last[1] + 16:
                        want = YELLOW   # the colour cursor's opaque left half
                    elif mx <= x < mx + 16 and my <= y < my + 16:
                        want = BLACK
                    else:
                        want = (RED, GREEN, BLUE, WHITE)[(y >= 120) * 2 + (x >= 160)]
                    expect_px(sh, x, y, want, what="partialDraw=%s, marker at %d,%d, cursor at %d,%d" %
                              (mode, mx, my, last[0], last[1]))
        shot_until(exact, "picture after partial presents (partialDraw=%s)" % mode)
        c.stop()


GRAPH_COLOURS = {"frame interval": (0x40, 0xa0, 0xff), "frame age": (0x30, 0xe0, 0x30),
                 "cursor age": (0xff, 0xc0, 0x20), "render": (0xff, 0x50, 0xd0)}


def case_graphs():
    """Scroll Lock+G: latency graphs at the top right, one bar colour per graph (client/graphs.c)."""
    h = TestHost()
    h.cmd("frame 640 480")
    c = Client()
    wait_frames(c)
    h.cmd("cursor 0 40 300 3 5")
    shot_until(lambda sh: expect_px(sh, 600, 60, GREEN, what="no graphs yet"), "picture without graphs")
    press("g")
    h.cmd("stream 30")
    for i in range(20):
        h.cmd("move %d 300" % (40 + 10 * i))
        time.sleep(0.05)

    def bars(sh):
        w, hh, data = sh
        missing = []
        for name, col in GRAPH_COLOURS.items():
            found = False
            for y in range(16, 400):
                for x in range(300, 624):
                    if all(abs(a - b) <= 2 for a, b in zip(px(sh, x, y), col)):
                        found = True
                        break
                if found:
                    break
            if not found:
                missing.append(name)
        check(not missing, "no bars of %s in the graphs" % ", ".join(missing))
        # the panel is translucent over the guest: the first label's box darkens the green
        expect_px(sh, 600, 20, (0, 75, 0), tol=4, what="translucent label box over green")
    shot_until(bars, "graphs with bars", timeout=15)
    h.cmd("stream 0")
    press("g")
    shot_until(lambda sh: expect_px(sh, 600, 60, GREEN, what="graphs gone"), "graphs off")
    c.stop()


class Heartbeat:
    """Plays a host that only ticks: moves host_clock_ms (LGMP offset 16)
    every 10 ms, and optionally scribbles random bytes over the region."""

    def __init__(self, path, scribble=0, seed=1):
        self.f = open(path, "r+b")
        self.m = mmap.mmap(self.f.fileno(), 0)
        self.stop_ev = threading.Event()
        self.scribble = scribble
        self.rnd = random.Random(seed)
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        clock = struct.unpack_from("<Q", self.m, 16)[0]
        size = len(self.m)
        while not self.stop_ev.wait(0.01):
            clock += 10
            struct.pack_into("<Q", self.m, 16, clock)
            for _ in range(self.scribble):
                off = self.rnd.randrange(24, size)
                self.m[off] = self.rnd.getrandbits(8)

    def stop(self):
        self.stop_ev.set()
        self.t.join()
        self.m.close()
        self.f.close()


def case_gles():
    """The OpenGL ES 3 path: every format and cursor type, inversion by blending."""
    h = TestHost()
    h.cmd("frame 320 240")
    c = Client("win:gles=yes")
    wait_frames(c)
    c.wait(lambda s: s["window"] == "320x240", "window sized to the guest")
    check("OpenGL ES" in c.logtext(), "not an OpenGL ES context: " + c.logtext())
    shot_until(lambda sh: quadrants(sh, 0, 0, 1, what="GLES"), "GLES frame")
    for kind in (0, 1, 2):
        h.cmd("cursor %d 40 40 3 5" % kind)
        c.wait(lambda s: s["cursor"] == "43,45,1", "cursor")
        shot_until(lambda sh: [expect_px(sh, x, y, col, what="GLES cursor type %d" % kind)
                               for x, y, col in cursor_checks(kind)], "GLES cursor type %d" % kind)
    h.cmd("hide")
    for t, name in OTHER_FORMATS:
        h.cmd("frame 320 240 %d" % t)
        c.wait(lambda s: s["format"] == name, "format " + name)
        shot_until(lambda sh: quadrants(sh, 0, 0, 1, what="GLES " + name), "GLES format " + name)
    c.stop()


def case_fixture():
    src = os.path.join(FIXTURES, "b7-800x600-16M.region.xz")
    with lzma.open(src) as f, open(REGION, "wb") as o:
        shutil.copyfileobj(f, o)
    c = Client()
    s = c.wait(lambda s: s["state"] == "waiting" and s["message"] != "starting", "state waiting")
    check("host not running" in s["message"] and REGION in s["message"], "message: %r" % s["message"])
    time.sleep(1.5)
    s = c.read_stats()
    check(s["state"] == "waiting" and s["frames"] == "0", "stale B7 region: %r" % s)
    check("host not running" in c.logtext(), "log does not say the host is not running")
    # the same region with a moving heartbeat: a B7 host's app data is understood
    hb = Heartbeat(REGION)
    try:
        s = c.wait(lambda s: s["state"] == "running", "attach to the B7 region")
        check(s["host_version"] == "B7" and s["features"] == "0", "B7 app data: %r" % s)
    finally:
        hb.stop()
    c.wait(lambda s: s["state"] == "host-stopped", "heartbeat stopped noticed")
    c.stop()


def case_restart():
    h = TestHost()
    h.cmd("frame 320 240")
    c = Client()
    wait_frames(c)
    shot_until(lambda sh: quadrants(sh, 0, 0, 1), "first picture")
    h.kill()
    c.wait(lambda s: s["state"] == "host-stopped", "host stopped noticed")
    # the last frame stays (dimmed)
    shot_until(lambda sh: expect_px(sh, 80, 60, (102, 0, 0), tol=3, what="dimmed last frame"), "dimmed frame")
    h = TestHost()
    h.cmd("frame 320 240")
    c.wait(lambda s: s["state"] == "running" and int(s["restarts"]) >= 1 and int(s["frames"]) >= 2,
           "re-attached to the new host")
    shot_until(lambda sh: quadrants(sh, 0, 0, 1), "picture back")
    # the region file deleted and created anew (another inode) by the next host: mapped again
    h.kill()
    c.wait(lambda s: s["state"] == "host-stopped", "host stopped again")
    os.unlink(REGION)
    h = TestHost()
    h.cmd("frame 320 240")
    c.wait(lambda s: s["state"] == "running" and int(s["restarts"]) >= 2, "attached to the new file")
    check("was replaced" in c.logtext(), "no 'replaced' in the log")
    shot_until(lambda sh: quadrants(sh, 0, 0, 1), "picture from the new file")
    # client paused > 1 s while frames flow: evicted, then recovers by itself
    h.cmd("stream 30")
    c.wait(lambda s: float(s["ups"]) > 5, "frames flowing")
    os.kill(c.p.pid, signal.SIGSTOP)
    time.sleep(2.0)
    os.kill(c.p.pid, signal.SIGCONT)
    s = c.wait(lambda s: int(s["evictions"]) >= 1, "eviction noticed")
    f0 = int(s["frames"])
    c.wait(lambda s: int(s["frames"]) > f0 + 10 and float(s["ups"]) > 5, "frames again after eviction")
    h.cmd("stream 0")
    c.stop()


def case_twoclients():
    h = TestHost()
    a = Client(name="a")
    b = Client("win:x=400", name="b")
    h.cmd("frame 320 240")
    wait_frames(a)
    wait_frames(b)
    shot_until(lambda sh: (quadrants(sh, 0, 0, 1, what="client a"), quadrants(sh, 400, 0, 1, what="client b")),
               "two windows")
    h.cmd("stream 30")
    for c in (a, b):
        c.wait(lambda s: float(s["ups"]) > 5, "both clients get frames")
    time.sleep(1.5)   # the marker bounces off the left edge after 40 frames
    h.cmd("stream 0")
    # after ~100 frames sent as damage rectangles, both windows show exactly the last one
    check_last_streamed(h, (a, b), (0, 400))
    a.stop()
    b.stop()


def write_region(data, size=None):
    with open(REGION, "wb") as f:
        f.write(data)
        if size and size > len(data):
            f.truncate(size)


def lgmp_header(version=6, app=b"", size=1 << 20, clock=None):
    """A region with an LGMP header whose heartbeat keeps moving is needed for
    app-data checks; we use the test host for those and craft only what the
    session start rejects before looking at the clock."""
    hdr = bytearray(5760)
    struct.pack_into("<II", hdr, 0, 0x504D474C, version)
    return bytes(hdr)


def case_attach():
    """A client started while a host runs, at the default app:retryMs: it attaches on its first
    try (it waits for the heartbeat to move instead of calling the host not running) and draws."""
    h = TestHost()
    h.cmd("frame 320 240")
    c = Client(quick_retry=False)
    s = wait_frames(c)
    c.wait(lambda s: "first frame drawn" in c.logtext(), "the first frame drawn")
    s = c.wait(lambda s: s["state"] == "running" and s["attach_attempts"] != "0", "the stats of the attach")
    check(s["attach_attempts"] == "1", "attached after %s attempts; log:\n%s" % (s["attach_attempts"], c.logtext()))
    check("host not running" not in c.logtext(), "said the host is not running:\n" + c.logtext())
    shot_until(lambda sh: quadrants(sh, 0, 0, 1), "the first frame")
    c.stop()


def case_hostile():
    # 1. a region smaller than an LGMP header
    write_region(b"\0" * 1000)
    c = Client(name="small")
    s = c.wait(lambda s: s["state"] == "incompatible", "too-small region refused")
    check("1000 bytes" in s["message"], "message names the size: %r" % s["message"])
    c.stop()
    # 2. random bytes, a wrong LGMP version
    rnd = random.Random(1234)
    cases = [("random", bytes(rnd.getrandbits(8) for _ in range(65536))),
             ("version", lgmp_header(version=5) + b"\0" * 65536)]
    for name, data in cases:
        write_region(data)
        c = Client(name="h-" + name)
        s = c.wait(lambda s: s["state"] in ("waiting", "incompatible") and s["message"] not in ("", "starting"),
                   "a message for " + name)
        if name == "version":
            check(s["state"] == "incompatible" and "LGMP version" in s["message"], "LGMP v5: %r" % s["message"])
        time.sleep(0.6)
        check(c.p.poll() is None, "client died on %s" % name)
        c.stop()
    # 3. live hosts speaking another KVMFR version, or with a wrong KVMFR magic
    h = TestHost(args=["-V", "19"])
    c = Client(name="kvmfr19")
    s = c.wait(lambda s: s["state"] == "incompatible", "KVMFR version 19 refused")
    check("KVMFR version 19" in s["message"] and "client-testhost" in s["message"], "message: %r" % s["message"])
    c.stop()
    h.kill()
    h = TestHost(args=["-M"])
    c = Client(name="magic")
    s = c.wait(lambda s: s["state"] == "incompatible", "bad KVMFR magic refused")
    check("not a KVMFR host" in s["message"] and "MAGIC" in s["message"].upper(), "message: %r" % s["message"])
    c.stop()
    h.kill()
    # the fuzzer's seed regions, kept alive by a ticking heartbeat while
    #    random bytes are scribbled over them: the client must keep running and saying why
    corpus = sorted(glob.glob(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus", "*")))
    for i, p in enumerate(corpus[:6]):
        with open(p, "rb") as f:
            write_region(f.read())
        c = Client(name="corpus-%d" % i)
        hb = Heartbeat(REGION, scribble=0)
        try:
            c.wait(lambda s: s["state"] == "running", "attach to corpus region " + os.path.basename(p))
            hb.scribble = 20
            time.sleep(2.5)
            s = c.read_stats()
            check(c.p.poll() is None, "client died on scribbled %s; log:\n%s" % (p, c.logtext()))
            check(s["state"] in ("running", "incompatible", "host-stopped", "waiting"), "state %r" % s)
        finally:
            hb.stop()
        c.stop()
    # 4. a live host whose frames are of a type KVMFR does not define, then TRUNCATED
    h = TestHost()
    c = Client(name="type")
    h.cmd("frame 320 240 7")
    c.wait(lambda s: int(s["rejected"]) >= 1 and "BAD_FRAME_TYPE" in c.logtext(), "frame type 7 rejected")
    s = c.read_stats()
    check(s.get("frames") == "0" and s.get("frame_error") == "", "a type 7 frame was taken: %r" % s)
    h.cmd("frame 320 240 1 4")
    c.wait(lambda s: s["frame_error"] == "" and s["format"] == "BGRA", "recovers on a good frame")
    check("TRUNCATED" in c.logtext() and "MiB" in c.logtext(), "TRUNCATED advice missing from the log")
    # 5. a frame whose rows never arrive: shown as far as it got, logged, and the client stays
    #    responsive (a cursor update right after it is drawn within a second)
    h.cmd("cursor 0 40 40 0 0")
    c.wait(lambda s: s["cursor"] == "40,40,1", "cursor before the stalled frame")
    h.cmd("stall")
    t0 = time.time()
    h.cmd("move 200 40")
    c.wait(lambda s: s["cursor"] == "200,40,1" and "incomplete" in c.logtext(), "cursor after a stalled frame",
           timeout=5)
    check(time.time() - t0 < 3, "stalled frame held the client %.1f s" % (time.time() - t0))
    # 6. a frame whose rows trickle in one every 80 ms, each within one of the client's waits
    #    (padded rows: copied row by row): the client gives up on it within its total budget
    h.cmd("trickle 80")
    t0 = time.time()
    h.cmd("move 100 40")
    c.wait(lambda s: s["cursor"] == "100,40,1" and c.logtext().count("incomplete") >= 2,
           "cursor after a trickling frame", timeout=25)
    check(time.time() - t0 < 3, "trickling frame held the client %.1f s" % (time.time() - t0))
    c.stop()
    h.kill()


def case_refetch():
    """A frame whose rows arrive only after the client gave up on it, and then a still guest:
    the client asks for the frame again (a new subscription makes the host re-post it) and
    shows it whole, instead of keeping the torn picture up for good."""
    h = TestHost()
    c = Client(name="refetch")
    h.cmd("frame 320 240")
    wait_frames(c)
    c.wait(lambda s: s["window"] == "320x240", "window sized to the guest")
    shot_until(lambda sh: quadrants(sh, 0, 0, 1, what="first frame"), "the first frame")
    # 160x240 in the 320x240 window: drawn at x 80..239, black bars beside it
    h.cmd("late 160 240")
    c.wait(lambda s: "incomplete" in c.logtext(), "the late frame given up")
    h.cmd("publish")

    def late_frame(sh):
        quadrants(sh, 80, 0, 1, gw=160, gh=240, what="late frame")
        expect_px(sh, 40, 60, BLACK, what="bar left of the late frame")
        expect_px(sh, 280, 180, BLACK, what="bar right of the late frame")
    shot_until(late_frame, "the late frame whole after it was asked for again")
    # the stats file is rewritten once a second: wait for the one that counts the refetch
    c.wait(lambda s: int(s["refetches"]) >= 1, "the refetch counted in the stats file")
    check("asked the host to post it again" in c.logtext(), "no refetch in the log:\n" + c.logtext())
    c.stop()
    h.kill()


def case_options():
    r = subprocess.run([CLIENT, "--help"], capture_output=True, text=True)
    check(r.returncode == 0, "--help exit status")
    for opt in ("app:shmFile", "win:scaling", "win:vsync", "win:showFPS", "app:statsFile", "input:escapeKey",
                "default: /dev/shm/looking-glass", "default: keep"):
        check(opt in r.stdout, "--help does not list %s" % opt)
    r = subprocess.run([CLIENT, "win:scaling=sideways"], capture_output=True, text=True)
    check(r.returncode != 0 and "sideways" in r.stderr and "keep" in r.stderr, "bad enum: %r" % r.stderr)
    r = subprocess.run([CLIENT, "win:nope=1"], capture_output=True, text=True)
    check(r.returncode != 0 and "win:nope" in r.stderr, "unknown option: %r" % r.stderr)
    ini = os.path.join(TMP, "c.ini")
    with open(ini, "w") as f:
        f.write("[win]\nwidth=abc\n")
    r = subprocess.run([CLIENT, "-C", ini], capture_output=True, text=True)
    check(r.returncode != 0 and ini in r.stderr and "abc" in r.stderr, "bad INI value: %r" % r.stderr)
    # an INI file is applied: scaling from the file, size from the command line
    with open(ini, "w") as f:
        f.write("[win]\nscaling=stretch\nautoResize=no\n")
    h = TestHost()
    h.cmd("frame 320 240")
    c = Client("-C", ini, "win:width=640", "win:height=240", name="ini")
    wait_frames(c)
    shot_until(lambda sh: (expect_px(sh, 319, 10, RED), expect_px(sh, 320, 10, GREEN)), "INI scaling=stretch")
    c.stop()


def case_screenshot():
    h = TestHost()
    out = os.path.join(TMP, "shot.png")
    h.cmd("frame 320 240")
    c = Client("app:screenshot=" + out)
    wait_frames(c)
    deadline = time.time() + 10
    while not os.path.exists(out) and time.time() < deadline:
        time.sleep(0.1)
    check(os.path.exists(out), "no screenshot written")
    ppm = subprocess.run(["convert", out, "-depth", "8", "ppm:-"], capture_output=True, check=True).stdout
    parts = ppm.split(b"\n", 3)
    w, hh = map(int, parts[1].split())
    check((w, hh) == (320, 240), "screenshot size %dx%d" % (w, hh))
    shot = (w, hh, parts[3])
    quadrants(shot, 0, 0, 1, what="PNG")
    c.stop()
    # key bindings: Scroll Lock + S saves a PNG in app:screenshotDir, Scroll Lock + Q quits
    shots = os.path.join(TMP, "shots")
    os.mkdir(shots)
    c = Client("app:screenshotDir=" + shots, name="keys")
    wait_frames(c)
    press("s")
    deadline = time.time() + 10
    while not glob.glob(os.path.join(shots, "spyglass-*.png")) and time.time() < deadline:
        time.sleep(0.1)
    got = glob.glob(os.path.join(shots, "spyglass-*.png"))
    check(len(got) == 1, "Scroll Lock+S wrote %r" % got)
    # help (H) and statistics (O) overlays: a translucent box (alpha 180/255) at (16,16)
    for key in ("h", "o"):
        press(key)
        shot_until(lambda sh: expect_px(sh, 19, 19, (75, 0, 0), tol=3, what="overlay box " + key), "overlay " + key)
        press(key)
        shot_until(lambda sh: expect_px(sh, 19, 19, RED, what="overlay gone " + key), "overlay off " + key)
    # F: full screen, as SDL reports the window (without a window manager Xvfb does not really
    # resize the X window nor give it back, so neither the picture nor the way back is checked)
    press("f")
    c.wait(lambda s: s["window"] == "1600x1200", "full screen")
    press("q")
    check(c.p.wait(10) == 0, "Scroll Lock+Q: exit status %s" % c.p.returncode)


def press(key):
    """Escape key held, key pressed (the pointer over the window gives it focus under Xvfb)."""
    xd = ["xdotool"]
    subprocess.run(xd + ["mousemove", "10", "10"], env=ENV, check=True)
    subprocess.run(xd + ["keydown", "Scroll_Lock", "key", key, "keyup", "Scroll_Lock"], env=ENV, check=True)


def case_testpattern():
    """spyglass-host -c testpattern -> client: the window at 1:1 shows exactly the guest frame
    (compared with the client's own PNG of its texture, taken with Scroll Lock+S)."""
    host_bin = os.path.join(BUILD, "host", "spyglass-host")
    if not os.path.exists(host_bin):
        print("SKIP: %s not built" % host_bin)
        raise SystemExit(77)
    with open(REGION, "wb") as f:
        f.truncate(32 << 20)
    hp = subprocess.Popen([host_bin, "-c", "testpattern", "-f", REGION, "-o", "testpattern:frames=2"], stdout=subprocess.DEVNULL,
                          stderr=sys.stderr)
    procs.append(hp)
    shots = os.path.join(TMP, "shots")
    os.mkdir(shots)
    c = Client("app:screenshotDir=" + shots)
    # the host animates 2 frames, then stands still: compare only once the client has both (the
    # stats file is rewritten once a second, so its frame count cannot tell a change in between)
    s = wait_frames(c, 2)
    gw, gh = map(int, s["guest"].split("x"))
    check(gw <= 1600 and gh <= 1200, "test pattern larger than the test screen: %s" % s["guest"])
    c.wait(lambda s: s["window"] == "%dx%d" % (gw, gh), "window sized to the guest")
    for attempt in range(6):
        for f in glob.glob(os.path.join(shots, "*.png")):
            os.unlink(f)
        f0 = c.read_stats()["frames"]
        press("s")
        deadline = time.time() + 10
        # the client renames the PNG into place once it is whole (client/screenshot.c)
        while not glob.glob(os.path.join(shots, "*.png")) and time.time() < deadline:
            time.sleep(0.05)
        shot = screenshot()
        if c.read_stats()["frames"] != f0:
            time.sleep(0.5)
            continue   # the pattern moved in between: try again
        png = glob.glob(os.path.join(shots, "*.png"))
        check(png, "no PNG from Scroll Lock+S")
        ppm = subprocess.run(["convert", png[0], "-depth", "8", "ppm:-"], capture_output=True, check=True).stdout
        parts = ppm.split(b"\n", 3)
        ref = (gw, gh, parts[3])
        cx, cy, cv = map(int, c.read_stats()["cursor"].split(","))
        for y in range(0, gh, max(1, gh // 24)):
            for x in range(0, gw, max(1, gw // 32)):
                if cv and abs(x - cx) < 80 and abs(y - cy) < 80:
                    continue   # the guest cursor is drawn over the frame there
                if y >= gh - 72:
                    continue   # the "saved ..." notice of the screenshot key
                expect_px(shot, x, y, px(ref, x, y), what="test pattern vs guest frame")
        c.stop()
        return
    raise Fail("the test pattern never stood still long enough to compare")


def tp_frame0(x, y):
    """Pixel (x, y) of host/capture/testpattern.c's frame 0 (sg_tp_render): the frame-number strip
    (all black for 0), the box at (0, 4) 96x64 in sg_tp_box_colour(0), the background of scene 0."""
    if y < 4 and x < 128:
        return (0, 0, 0)
    if x < 96 and 4 <= y < 68:
        return (0x80, 0xff, 0x00)
    return ((x ^ y) & 0xff, y & 0xff, x & 0xff)


def case_types():
    """spyglass-host -c testpattern with testpattern:type=rgba and rgba10: frames of KVMFR types
    RGBA and RGBA10 from a real host. spyglass-dump names the type and its PNG of the frame
    (the host's bytes) is the pattern exactly; the client's window shows the pattern exactly
    (red, green and blue all differ per pixel, so a swapped channel or a misread 10-bit field
    fails)."""
    host_bin = os.path.join(BUILD, "host", "spyglass-host")
    dump_bin = os.path.join(BUILD, "tools", "spyglass-dump")
    for b in (host_bin, dump_bin):
        if not os.path.exists(b):
            print("SKIP: %s not built" % b)
            raise SystemExit(77)
    gw, gh = 320, 240
    for kind, name, number in (("rgba", "RGBA", 2), ("rgba10", "RGBA10", 3)):
        region = os.path.join(TMP, "region-" + kind)
        with open(region, "wb") as f:
            f.truncate(32 << 20)
        hp = subprocess.Popen([host_bin, "-c", "testpattern", "-f", region, "-o", "testpattern:frames=1",
                               "-o", "testpattern:width=%d" % gw, "-o", "testpattern:height=%d" % gh,
                               "-o", "testpattern:type=" + kind], stdout=subprocess.DEVNULL, stderr=sys.stderr)
        procs.append(hp)
        c = Client(name=kind, region=region)
        s = wait_frames(c)
        check(s["format"] == name, "client stats: format %r, expected %s" % (s["format"], name))
        c.wait(lambda s: s["window"] == "%dx%d" % (gw, gh), "window sized to the guest")
        # the host's bytes, through spyglass-dump
        png = os.path.join(TMP, kind + ".png")
        out = subprocess.run([dump_bin, "-n", "--frame", png, region], capture_output=True, text=True)
        check(out.returncode == 0, "spyglass-dump exit %d: %s%s" % (out.returncode, out.stdout, out.stderr))
        check("type %s (%d)" % (name, number) in out.stdout,
              "spyglass-dump does not say type %s (%d):\n%s" % (name, number, out.stdout))
        ppm = subprocess.run(["convert", png, "-depth", "8", "ppm:-"], capture_output=True, check=True).stdout
        parts = ppm.split(b"\n", 3)
        check(parts[1] == b"%d %d" % (gw, gh), "dumped frame is %r" % parts[1])
        ref = (gw, gh, parts[3])
        for y in range(gh):
            for x in range(gw):
                expect_px(ref, x, y, tp_frame0(x, y), tol=0, what="%s frame from spyglass-dump" % name)
        # the client's window, away from the guest cursor it draws over the frame
        cx, cy, cv = map(int, c.read_stats()["cursor"].split(","))

        def window(sh):
            for y in range(0, gh, 3):
                for x in range(0, gw, 3):
                    if cv and -40 < x - cx < 40 and -40 < y - cy < 40:
                        continue
                    expect_px(sh, x, y, tp_frame0(x, y), tol=1, what="%s frame in the window" % name)
        shot_until(window, name + " frame drawn")
        c.stop()
        hp.terminate()
        check(hp.wait(10) == 0, "spyglass-host exit status on SIGTERM")


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}


def main():
    global DISPLAY, ENV
    if CASE not in CASES:
        print("unknown case %s; cases: %s" % (CASE, " ".join(CASES)))
        return 2
    for tool in ("Xvfb", "import", "xdotool"):
        if not shutil.which(tool):
            print("SKIP: %s not installed" % tool)
            return 77
    try:
        if CASE != "options":
            DISPLAY = start_xvfb()
        ENV = dict(os.environ, DISPLAY=DISPLAY or os.environ.get("DISPLAY", ""), LIBGL_ALWAYS_SOFTWARE="1",
                   SPYGLASS_NO_USER_CONFIG="1", HOME=TMP)
        if CASE == "options":
            DISPLAY = start_xvfb()
            ENV["DISPLAY"] = DISPLAY
        CASES[CASE]()
        print("PASS %s" % CASE)
        return 0
    except Fail as e:
        print("FAIL %s: %s" % (CASE, e))
        return 1
    finally:
        cleanup()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
    sys.exit(main())
