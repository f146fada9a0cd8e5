/* Keyboard, relative mouse and (optional) tablet of the fake guest, replayed on X with XTest. */
#include "fakevm.h"

#include <math.h>
#include <X11/XKBlib.h>
#include <X11/extensions/XTest.h>

struct fvm_input {
    struct fvm_x *x;
    Display *dpy;
    SpiceServer *server;
    SpiceKbdInstance kbd;
    SpiceMouseInstance mouse;
    SpiceTabletInstance tablet;
    gboolean has_tablet;
    int tablet_w, tablet_h;

    unsigned prefix;     /* 0xe0 after an extended prefix, 0xe1 while in a Pause sequence */
    int pause_left;      /* bytes of the Pause sequence still to swallow */
    uint32_t buttons;    /* last button mask seen (server-local: 1 left, 2 right, 4 middle) */
    double rem_x, rem_y; /* sub-pixel remainders of accelerated motion */
    uint8_t leds;        /* last lock state reported to the server */
    Atom led_atoms[3];   /* Scroll, Num, Caps: the order of SPICE_KEYBOARD_MODIFIER_FLAGS */
    guint led_timer;
};

static struct fvm_input *from_kbd(SpiceKbdInstance *sin)
{
    return (struct fvm_input *)((char *)sin - offsetof(struct fvm_input, kbd));
}

static struct fvm_input *from_mouse(SpiceMouseInstance *sin)
{
    return (struct fvm_input *)((char *)sin - offsetof(struct fvm_input, mouse));
}

static struct fvm_input *from_tablet(SpiceTabletInstance *sin)
{
    return (struct fvm_input *)((char *)sin - offsetof(struct fvm_input, tablet));
}

static void key_event(struct fvm_input *in, unsigned scancode, gboolean down)
{
    unsigned kc = fvm_scancode_to_xkeycode(scancode);
    if (!kc) {
        fvm_log(1, "key: scancode 0x%x has no X keycode, ignored", scancode);
        return;
    }
    fvm_log(2, "key 0x%03x %s -> X keycode %u", scancode, down ? "down" : "up", kc);
    XTestFakeKeyEvent(in->dpy, kc, down, CurrentTime);
    XFlush(in->dpy);
}

static void kbd_push_scan(SpiceKbdInstance *sin, uint8_t frag)
{
    struct fvm_input *in = from_kbd(sin);
    if (in->pause_left > 0) {
        /* E1 1D 45 E1 9D C5: Pause has no release code; replay press and release at the end. */
        if (--in->pause_left == 0) {
            key_event(in, 0x146, TRUE);
            key_event(in, 0x146, FALSE);
        }
        return;
    }
    if (frag == 0xe0) {
        in->prefix = 0xe0;
        return;
    }
    if (frag == 0xe1) {
        in->pause_left = 5;
        return;
    }
    unsigned code = frag & 0x7f;
    if (in->prefix == 0xe0) {
        code |= 0x100;
        in->prefix = 0;
        /* Fake shifts that some keyboards wrap around extended keys carry no meaning. */
        if (code == 0x12a || code == 0x136)
            return;
    }
    key_event(in, code, !(frag & 0x80));
}

static uint8_t read_leds(struct fvm_input *in)
{
    uint8_t leds = 0;
    for (int i = 0; i < 3; i++) {
        Bool on = False;
        if (in->led_atoms[i] && XkbGetNamedIndicator(in->dpy, in->led_atoms[i], NULL, &on, NULL, NULL) && on)
            leds |= 1u << i;
    }
    return leds;
}

static uint8_t kbd_get_leds(SpiceKbdInstance *sin)
{
    struct fvm_input *in = from_kbd(sin);
    in->leds = read_leds(in);
    return in->leds;
}

/* The guest's lock LEDs change when keys arrive; tell the client so it can show them. */
static gboolean led_poll(gpointer data)
{
    struct fvm_input *in = data;
    uint8_t now = read_leds(in);
    if (now != in->leds) {
        fvm_log(2, "leds 0x%x -> 0x%x", in->leds, now);
        in->leds = now;
        spice_server_kbd_leds(&in->kbd, now);
    }
    return G_SOURCE_CONTINUE;
}

void fvm_input_accel(int num, int den, int threshold, double *dx, double *dy)
{
    if (den <= 0 || num <= 0)
        return;
    if (threshold == 0 || fabs(*dx) + fabs(*dy) > threshold) {
        *dx = *dx * num / den;
        *dy = *dy * num / den;
    }
}

/* Button bits of the server's local mask against X button numbers. */
static const struct {
    uint32_t bit;
    unsigned xbutton;
} button_map[] = {
    {1, 1},
    {4, 2},
    {2, 3},
};

static void apply_buttons(struct fvm_input *in, uint32_t state)
{
    for (size_t i = 0; i < G_N_ELEMENTS(button_map); i++) {
        uint32_t bit = button_map[i].bit;
        if ((in->buttons ^ state) & bit) {
            fvm_log(2, "button %u %s", button_map[i].xbutton, (state & bit) ? "down" : "up");
            XTestFakeButtonEvent(in->dpy, button_map[i].xbutton, !!(state & bit), CurrentTime);
        }
    }
    in->buttons = state;
}

static void mouse_motion(SpiceMouseInstance *sin, int dx, int dy, int dz, uint32_t buttons)
{
    struct fvm_input *in = from_mouse(sin);
    if (dx || dy) {
        int num = 1, den = 1, threshold = 0;
        XGetPointerControl(in->dpy, &num, &den, &threshold);
        double fx = dx, fy = dy;
        fvm_input_accel(num, den, threshold, &fx, &fy);
        fx += in->rem_x;
        fy += in->rem_y;
        int ix = (int)trunc(fx), iy = (int)trunc(fy);
        in->rem_x = fx - ix;
        in->rem_y = fy - iy;
        fvm_log(2, "motion %d,%d -> %d,%d (accel %d/%d threshold %d)", dx, dy, ix, iy, num, den, threshold);
        if (ix || iy)
            XTestFakeRelativeMotionEvent(in->dpy, ix, iy, CurrentTime);
    }
    apply_buttons(in, buttons);
    /* The server passes the wheel as dz: negative is up (X button 4), positive is down (5). */
    for (int i = 0; i < abs(dz); i++) {
        unsigned b = dz < 0 ? 4 : 5;
        fvm_log(2, "wheel button %u", b);
        XTestFakeButtonEvent(in->dpy, b, True, CurrentTime);
        XTestFakeButtonEvent(in->dpy, b, False, CurrentTime);
    }
    XFlush(in->dpy);
}

static void mouse_buttons(SpiceMouseInstance *sin, uint32_t buttons)
{
    struct fvm_input *in = from_mouse(sin);
    apply_buttons(in, buttons);
    XFlush(in->dpy);
}

static void tablet_set_logical_size(SpiceTabletInstance *sin, int w, int h)
{
    struct fvm_input *in = from_tablet(sin);
    in->tablet_w = w;
    in->tablet_h = h;
}

static void tablet_position(SpiceTabletInstance *sin, int x, int y, uint32_t buttons)
{
    struct fvm_input *in = from_tablet(sin);
    int sw = DisplayWidth(in->dpy, DefaultScreen(in->dpy));
    int sh = DisplayHeight(in->dpy, DefaultScreen(in->dpy));
    if (in->tablet_w > 1 && in->tablet_h > 1) {
        x = (int)((int64_t)x * (sw - 1) / (in->tablet_w - 1));
        y = (int)((int64_t)y * (sh - 1) / (in->tablet_h - 1));
    }
    fvm_log(2, "tablet %d,%d", x, y);
    XTestFakeMotionEvent(in->dpy, DefaultScreen(in->dpy), x, y, CurrentTime);
    apply_buttons(in, buttons);
    XFlush(in->dpy);
}

static void tablet_wheel(SpiceTabletInstance *sin, int motion, uint32_t buttons)
{
    mouse_motion(&from_tablet(sin)->mouse, 0, 0, motion, buttons);
}

static void tablet_buttons(SpiceTabletInstance *sin, uint32_t buttons)
{
    mouse_buttons(&from_tablet(sin)->mouse, buttons);
}

static const SpiceKbdInterface kbd_sif = {
    .base = {.type = SPICE_INTERFACE_KEYBOARD,
             .description = "fakevm keyboard",
             .major_version = SPICE_INTERFACE_KEYBOARD_MAJOR,
             .minor_version = SPICE_INTERFACE_KEYBOARD_MINOR},
    .push_scan_freg = kbd_push_scan,
    .get_leds = kbd_get_leds,
};

static const SpiceMouseInterface mouse_sif = {
    .base = {.type = SPICE_INTERFACE_MOUSE,
             .description = "fakevm mouse",
             .major_version = SPICE_INTERFACE_MOUSE_MAJOR,
             .minor_version = SPICE_INTERFACE_MOUSE_MINOR},
    .motion = mouse_motion,
    .buttons = mouse_buttons,
};

static const SpiceTabletInterface tablet_sif = {
    .base = {.type = SPICE_INTERFACE_TABLET,
             .description = "fakevm tablet",
             .major_version = SPICE_INTERFACE_TABLET_MAJOR,
             .minor_version = SPICE_INTERFACE_TABLET_MINOR},
    .set_logical_size = tablet_set_logical_size,
    .position = tablet_position,
    .wheel = tablet_wheel,
    .buttons = tablet_buttons,
};

struct fvm_input *fvm_input_create(struct fvm_x *x, SpiceServer *server, gboolean tablet)
{
    struct fvm_input *in = g_new0(struct fvm_input, 1);
    in->x = x;
    in->dpy = fvm_x_display(x);
    in->server = server;
    static const char *const led_names[3] = {"Scroll Lock", "Num Lock", "Caps Lock"};
    for (int i = 0; i < 3; i++)
        in->led_atoms[i] = XInternAtom(in->dpy, led_names[i], False);
    in->leds = read_leds(in);

    in->kbd.base.sif = &kbd_sif.base;
    in->mouse.base.sif = &mouse_sif.base;
    if (spice_server_add_interface(server, &in->kbd.base) ||
        spice_server_add_interface(server, &in->mouse.base)) {
        fvm_log(0, "spice_server_add_interface failed for keyboard or mouse");
        g_free(in);
        return NULL;
    }
    if (tablet) {
        in->tablet.base.sif = &tablet_sif.base;
        if (spice_server_add_interface(server, &in->tablet.base)) {
            fvm_log(0, "spice_server_add_interface failed for the tablet");
            return in;
        }
        in->has_tablet = TRUE;
    }
    in->led_timer = g_timeout_add(100, led_poll, in);
    return in;
}

void fvm_input_destroy(struct fvm_input *in)
{
    if (!in)
        return;
    if (in->led_timer)
        g_source_remove(in->led_timer);
    /* The server cannot remove input interfaces; they go with spice_server_destroy. */
    g_free(in);
}
