/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spyglass-xprobe: what the fake guest's X display shows, for scripted tests.
 *   xprobe pointer        -> "X Y BUTTONMASK" (root coordinates; mask of X core button bits)
 *   xprobe leds           -> "SCROLL NUM CAPS" lock indicators as 0/1
 *   xprobe warp X Y       -> moves the pointer (a guest program moving the cursor)
 *   xprobe move X Y       -> XTest absolute motion (a user moving the mouse), events follow
 *   xprobe rel DX DY      -> XTest relative motion
 *   xprobe key KEYSYM down|up|tap   (X keysym names: a, Shift_L, Scroll_Lock, F1 ...)
 *   xprobe button N down|up|click
 *   xprobe keys           -> X keycodes currently held down
 *   xprobe unfocus        -> give the keyboard focus to no window (the client loses focus)
 *   xprobe refocus        -> keyboard focus follows the pointer again (PointerRoot)
 *   xprobe focusat X Y    -> focus the top-level window at X,Y, as a window manager would (without one,
 *                           PointerRoot focus gives SDL no focus event, so it would never grab the pointer)
 *   xprobe waitdrawn X Y RRGGBB MS -> XTest motion to X,Y, then polls the root window's pixel at X+2,Y+2
 *                           until it is RRGGBB; prints the motion's CLOCK_MONOTONIC time in seconds and the
 *                           milliseconds from it to the pixel ("timeout" instead after MS) */
#include <X11/XKBlib.h>
#include <X11/Xlib.h>
#include <X11/Xutil.h>
#include <X11/extensions/XTest.h>
#include <time.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    Display *d = XOpenDisplay(NULL);
    if (!d) {
        fprintf(stderr, "xprobe: cannot open display '%s'\n", getenv("DISPLAY") ? getenv("DISPLAY") : "");
        return 1;
    }
    if (argc >= 2 && !strcmp(argv[1], "pointer")) {
        Window r, c;
        int rx, ry, wx, wy;
        unsigned m;
        XQueryPointer(d, DefaultRootWindow(d), &r, &c, &rx, &ry, &wx, &wy, &m);
        printf("%d %d %u\n", rx, ry,
               m & (Button1Mask | Button2Mask | Button3Mask | Button4Mask | Button5Mask));
    } else if (argc >= 2 && !strcmp(argv[1], "leds")) {
        const char *names[] = {"Scroll Lock", "Num Lock", "Caps Lock"};
        for (int i = 0; i < 3; i++) {
            Bool on = False;
            XkbGetNamedIndicator(d, XInternAtom(d, names[i], False), NULL, &on, NULL, NULL);
            printf("%s%d", i ? " " : "", on ? 1 : 0);
        }
        printf("\n");
    } else if (argc >= 4 && !strcmp(argv[1], "warp")) {
        XWarpPointer(d, None, DefaultRootWindow(d), 0, 0, 0, 0, atoi(argv[2]), atoi(argv[3]));
        XSync(d, False);
    } else if (argc >= 4 && !strcmp(argv[1], "move")) {
        XTestFakeMotionEvent(d, DefaultScreen(d), atoi(argv[2]), atoi(argv[3]), CurrentTime);
        XSync(d, False);
    } else if (argc >= 4 && !strcmp(argv[1], "rel")) {
        XTestFakeRelativeMotionEvent(d, atoi(argv[2]), atoi(argv[3]), CurrentTime);
        XSync(d, False);
    } else if (argc >= 4 && !strcmp(argv[1], "key")) {
        KeySym ks = XStringToKeysym(argv[2]);
        KeyCode kc = ks == NoSymbol ? 0 : XKeysymToKeycode(d, ks);
        if (!kc) {
            fprintf(stderr, "xprobe: no key for keysym '%s'\n", argv[2]);
            return 1;
        }
        if (strcmp(argv[3], "up"))
            XTestFakeKeyEvent(d, kc, True, CurrentTime);
        if (!strcmp(argv[3], "tap")) {
            XSync(d, False);
            usleep(20000);
        }
        if (strcmp(argv[3], "down"))
            XTestFakeKeyEvent(d, kc, False, CurrentTime);
        XSync(d, False);
    } else if (argc >= 4 && !strcmp(argv[1], "button")) {
        unsigned b = (unsigned)atoi(argv[2]);
        if (strcmp(argv[3], "up"))
            XTestFakeButtonEvent(d, b, True, CurrentTime);
        if (strcmp(argv[3], "down"))
            XTestFakeButtonEvent(d, b, False, CurrentTime);
        XSync(d, False);
    } else if (argc >= 2 && !strcmp(argv[1], "keys")) {
        char map[32];
        XQueryKeymap(d, map);
        for (int k = 0; k < 256; k++)
            if (map[k / 8] & (1 << (k % 8)))
                printf("%d ", k);
        printf("\n");
    } else if (argc >= 6 && !strcmp(argv[1], "waitdrawn")) {
        int x = atoi(argv[2]), y = atoi(argv[3]);
        unsigned long want = strtoul(argv[4], NULL, 16);
        double limit = atof(argv[5]), ms = 0;
        struct timespec t0, t;
        XTestFakeMotionEvent(d, DefaultScreen(d), x, y, CurrentTime);
        XFlush(d);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
            XImage *img = XGetImage(d, DefaultRootWindow(d), x + 2, y + 2, 1, 1, AllPlanes, ZPixmap);
            unsigned long px = img ? XGetPixel(img, 0, 0) & 0xffffff : 0;
            if (img)
                XDestroyImage(img);
            clock_gettime(CLOCK_MONOTONIC, &t);
            ms = (double)(t.tv_sec - t0.tv_sec) * 1e3 + (double)(t.tv_nsec - t0.tv_nsec) / 1e6;
            if (px == want || ms > limit)
                break;
            usleep(500);
        }
        if (ms > limit)
            printf("%.6f timeout\n", (double)t0.tv_sec + (double)t0.tv_nsec / 1e9);
        else
            printf("%.6f %.2f\n", (double)t0.tv_sec + (double)t0.tv_nsec / 1e9, ms);
    } else if (argc >= 4 && !strcmp(argv[1], "focusat")) {
        int wx, wy;
        Window child = None;
        XTranslateCoordinates(d, DefaultRootWindow(d), DefaultRootWindow(d), atoi(argv[2]), atoi(argv[3]),
                              &wx, &wy, &child);
        if (child == None) {
            fprintf(stderr, "xprobe: no window at %s,%s\n", argv[2], argv[3]);
            return 1;
        }
        XSetInputFocus(d, child, RevertToPointerRoot, CurrentTime);
        XSync(d, False);
    } else if (argc >= 2 && !strcmp(argv[1], "refocus")) {
        XSetInputFocus(d, PointerRoot, RevertToPointerRoot, CurrentTime);
        XSync(d, False);
    } else if (argc >= 2 && !strcmp(argv[1], "unfocus")) {
        XSetInputFocus(d, None, RevertToNone, CurrentTime);
        XSync(d, False);
    } else {
        fprintf(stderr, "usage: spyglass-xprobe pointer | leds | warp X Y | move X Y | rel DX DY | key "
                        "KEYSYM down|up|tap |\n"
                        "       button N down|up|click | keys | unfocus | refocus | focusat X Y | waitdrawn "
                        "X Y RRGGBB MS\n");
        return 2;
    }
    XCloseDisplay(d);
    return 0;
}
