/* spyglass-fakevm: a SPICE server without a display that plays a VM guest on an X display.
 * Keyboard and mouse from the SPICE client are replayed with XTest; a vdagent char device
 * bridges the client's clipboard to the X CLIPBOARD selection. */
#pragma once

#include <glib.h>
#include <glib-unix.h>
#include <spice.h>
#include <X11/Xlib.h>

struct fvm_x;

/* Log to stderr when level <= the verbosity (0 = errors and the ready line, 1 = connections, 2 = events). */
void fvm_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

SpiceCoreInterface *fvm_core_get(void);

/* X side: the input replay and the clipboard bridge share one connection. */
struct fvm_x *fvm_x_create(const char *display_name);
void fvm_x_destroy(struct fvm_x *x);
Display *fvm_x_display(struct fvm_x *x);
/* One consumer of X events (the clipboard bridge). */
void fvm_x_set_handler(struct fvm_x *x, void (*fn)(XEvent *ev, void *opaque), void *opaque);

/* Keyboard/mouse/tablet instances, registered with the server by fvm_input_register. */
struct fvm_input;
struct fvm_input *fvm_input_create(struct fvm_x *x, SpiceServer *server, gboolean tablet);
void fvm_input_destroy(struct fvm_input *in);

/* Pointer acceleration the fake guest applies to relative motion (XTest motion is never
 * accelerated by the X server, so the X pointer-control setting is applied here). */
void fvm_input_accel(int num, int den, int threshold, double *dx, double *dy);

/* Set-1 scancode (extended keys: 0x100 | code) to X keycode; 0 when unknown. */
unsigned fvm_scancode_to_xkeycode(unsigned scancode);

/* The vdagent: a char device that speaks just enough of the agent protocol for text clipboard. */
struct fvm_agent;
struct fvm_agent *fvm_agent_create(struct fvm_x *x, SpiceServer *server);
void fvm_agent_destroy(struct fvm_agent *a);
