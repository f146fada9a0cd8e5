/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spyglass-xprobe: what the fake guest's X display shows, for scripted tests.
 *   xprobe pointer        -> "X Y BUTTONMASK" (root coordinates; mask of X core button bits)
 *   xprobe leds           -> "SCROLL NUM CAPS" lock indicators as 0/1
 *   xprobe warp X Y       -> moves the pointer (a guest program moving the cursor) */
#include <X11/XKBlib.h>
#include <X11/Xlib.h>
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
        printf("%d %d %u\n", rx, ry, m & (Button1Mask | Button2Mask | Button3Mask | Button4Mask | Button5Mask));
    } else if (argc >= 2 && !strcmp(argv[1], "leds")) {
        const char *names[] = { "Scroll Lock", "Num Lock", "Caps Lock" };
        for (int i = 0; i < 3; i++) {
            Bool on = False;
            XkbGetNamedIndicator(d, XInternAtom(d, names[i], False), NULL, &on, NULL, NULL);
            printf("%s%d", i ? " " : "", on ? 1 : 0);
        }
        printf("\n");
    } else if (argc >= 4 && !strcmp(argv[1], "warp")) {
        XWarpPointer(d, None, DefaultRootWindow(d), 0, 0, 0, 0, atoi(argv[2]), atoi(argv[3]));
        XSync(d, False);
    } else {
        fprintf(stderr, "usage: spyglass-xprobe pointer | leds | warp X Y\n");
        return 2;
    }
    XCloseDisplay(d);
    return 0;
}
