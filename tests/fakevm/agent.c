/* A minimal guest vdagent: capabilities and the by-demand clipboard (UTF-8 text, PNG and BMP
 * images), bridged to the X CLIPBOARD selection of the fake guest's display. */
#include "fakevm.h"

#include <stdio.h>
#include <string.h>
#include <X11/Xatom.h>
#include <X11/extensions/Xfixes.h>

#define AGENT_MAX_MSG (16u << 20)
#define AGENT_CONVS 4 /* conversions of the guest's CLIPBOARD in flight, one property each */

struct fvm_agent {
    SpiceCharDeviceInstance sin;
    SpiceServer *server;
    struct fvm_x *x;
    Display *dpy;
    Window win;
    Atom a_clipboard, a_utf8, a_targets, a_text, a_tprop, a_png, a_bmp, a_incr;
    int xfixes_event;

    GByteArray *in;  /* bytes from the server not yet parsed */
    GByteArray *msg; /* message being reassembled from chunks */
    uint32_t msg_port;
    GByteArray *out; /* chunks waiting for the server to read */

    gboolean client_caps_seen;
    /* Client requests waiting for the guest owner's SelectionNotify: each converts into its own
     * property, so a request made while an older one is in flight (the owner changed in
     * between) is answered too, and answered last. */
    Atom a_conv[AGENT_CONVS];
    uint32_t conv_type[AGENT_CONVS]; /* VD_AGENT_CLIPBOARD_* type, 0 = free */
    unsigned conv_next;
    char *owned_data; /* what the client copied, served by us as the X CLIPBOARD owner */
    size_t owned_len;
    uint32_t owned_type; /* its VD_AGENT_CLIPBOARD_* type */
    uint32_t incr_type;  /* a guest program sends this type in INCR pieces into incr_buf */
    Atom incr_prop;      /* through this property */
    GByteArray *incr_buf;
};

static struct fvm_agent *from_sin(SpiceCharDeviceInstance *sin)
{
    return (struct fvm_agent *)((char *)sin - offsetof(struct fvm_agent, sin));
}

static void agent_send(struct fvm_agent *a, uint32_t type, const void *data, uint32_t size)
{
    VDAgentMessage m = {.protocol = VD_AGENT_PROTOCOL, .type = type, .opaque = 0, .size = size};
    GByteArray *whole = g_byte_array_sized_new(sizeof(m) + size);
    g_byte_array_append(whole, (const guint8 *)&m, sizeof(m));
    if (size)
        g_byte_array_append(whole, data, size);
    for (guint off = 0; off < whole->len;) {
        uint32_t n = MIN(whole->len - off, VD_AGENT_MAX_DATA_SIZE);
        VDIChunkHeader h = {.port = VDP_CLIENT_PORT, .size = n};
        g_byte_array_append(a->out, (const guint8 *)&h, sizeof(h));
        g_byte_array_append(a->out, whole->data + off, n);
        off += n;
    }
    g_byte_array_unref(whole);
    spice_server_char_device_wakeup(&a->sin);
}

static void announce(struct fvm_agent *a, uint32_t request)
{
    struct {
        VDAgentAnnounceCapabilities h;
        uint32_t caps[VD_AGENT_CAPS_SIZE];
    } __attribute__((packed)) m;
    memset(&m, 0, sizeof(m));
    m.h.request = request;
    VD_AGENT_SET_CAPABILITY(m.caps, VD_AGENT_CAP_CLIPBOARD_BY_DEMAND);
    VD_AGENT_SET_CAPABILITY(m.caps, VD_AGENT_CAP_GUEST_LINEEND_LF);
    VD_AGENT_SET_CAPABILITY(m.caps, VD_AGENT_CAP_REPLY);
    agent_send(a, VD_AGENT_ANNOUNCE_CAPABILITIES, &m, sizeof(m));
}

static void send_clipboard(struct fvm_agent *a, uint32_t type, const void *data, uint32_t len)
{
    GByteArray *b = g_byte_array_new();
    g_byte_array_append(b, (const guint8 *)&type, 4);
    if (len)
        g_byte_array_append(b, data, len);
    agent_send(a, VD_AGENT_CLIPBOARD, b->data, b->len);
    g_byte_array_unref(b);
}

static const char *type_str(uint32_t t)
{
    switch (t) {
    case VD_AGENT_CLIPBOARD_UTF8_TEXT:
        return "text";
    case VD_AGENT_CLIPBOARD_IMAGE_PNG:
        return "image/png";
    case VD_AGENT_CLIPBOARD_IMAGE_BMP:
        return "image/bmp";
    default:
        return "other";
    }
}

static Atom type_atom(struct fvm_agent *a, uint32_t t)
{
    switch (t) {
    case VD_AGENT_CLIPBOARD_UTF8_TEXT:
        return a->a_utf8;
    case VD_AGENT_CLIPBOARD_IMAGE_PNG:
        return a->a_png;
    case VD_AGENT_CLIPBOARD_IMAGE_BMP:
        return a->a_bmp;
    default:
        return None;
    }
}

static void take_x_selection(struct fvm_agent *a, uint32_t type, const uint8_t *data, size_t len)
{
    g_free(a->owned_data);
    a->owned_data = g_malloc(len + 1);
    memcpy(a->owned_data, data, len);
    a->owned_data[len] = 0;
    a->owned_len = len;
    a->owned_type = type;
    XSetSelectionOwner(a->dpy, a->a_clipboard, a->win, CurrentTime);
    XFlush(a->dpy);
    fvm_log(1, "clipboard: guest CLIPBOARD now holds %zu bytes of %s from the client", len, type_str(type));
}

/* What a guest program copied decides the types offered: ask for its TARGETS first. */
static void query_guest_targets(struct fvm_agent *a)
{
    XConvertSelection(a->dpy, a->a_clipboard, a->a_targets, a->a_tprop, a->win, CurrentTime);
    XFlush(a->dpy);
}

static void offer_targets(struct fvm_agent *a, XSelectionEvent *sn)
{
    uint32_t types[3];
    int n = 0;
    Atom type;
    int format;
    unsigned long count = 0, left;
    unsigned char *data = NULL;
    if (sn->property != None &&
        XGetWindowProperty(a->dpy, a->win, a->a_tprop, 0, 1024, True, XA_ATOM, &type, &format, &count, &left,
                           &data) == Success &&
        format == 32) {
        gboolean text = FALSE, png = FALSE, bmp = FALSE;
        for (unsigned long i = 0; i < count; i++) {
            Atom t = ((Atom *)data)[i];
            text |= t == a->a_utf8 || t == XA_STRING || t == a->a_text;
            png |= t == a->a_png;
            bmp |= t == a->a_bmp;
        }
        if (text)
            types[n++] = VD_AGENT_CLIPBOARD_UTF8_TEXT;
        if (png)
            types[n++] = VD_AGENT_CLIPBOARD_IMAGE_PNG;
        if (bmp)
            types[n++] = VD_AGENT_CLIPBOARD_IMAGE_BMP;
    } else {
        types[n++] = VD_AGENT_CLIPBOARD_UTF8_TEXT; /* an owner without TARGETS: try text, as before */
    }
    if (data)
        XFree(data);
    if (!n) {
        fvm_log(1, "clipboard: the guest's CLIPBOARD has neither text nor PNG/BMP; not offered");
        return;
    }
    fvm_log(1, "clipboard: offering the guest's %s%s%s to the client", type_str(types[0]),
            n > 1 ? " and " : "", n > 1 ? type_str(types[1]) : "");
    agent_send(a, VD_AGENT_CLIPBOARD_GRAB, types, (uint32_t)(4 * n));
}

/* A client that connects after a guest program copied something still gets the offer. */
static void offer_guest_selection(struct fvm_agent *a)
{
    Window owner = XGetSelectionOwner(a->dpy, a->a_clipboard);
    if (owner == None || owner == a->win)
        return;
    query_guest_targets(a);
}

static void handle_message(struct fvm_agent *a, const VDAgentMessage *m, const uint8_t *data)
{
    switch (m->type) {
    case VD_AGENT_ANNOUNCE_CAPABILITIES:
        a->client_caps_seen = TRUE;
        fvm_log(1, "agent: client capabilities (%u bytes)", m->size);
        if (m->size >= 4 && ((const VDAgentAnnounceCapabilities *)data)->request)
            announce(a, 0);
        offer_guest_selection(a);
        break;
    case VD_AGENT_CLIPBOARD_GRAB: {
        gboolean text = FALSE, png = FALSE, bmp = FALSE;
        for (uint32_t off = 0; off + 4 <= m->size; off += 4) {
            uint32_t t;
            memcpy(&t, data + off, 4);
            text |= t == VD_AGENT_CLIPBOARD_UTF8_TEXT;
            png |= t == VD_AGENT_CLIPBOARD_IMAGE_PNG;
            bmp |= t == VD_AGENT_CLIPBOARD_IMAGE_BMP;
        }
        uint32_t want = text  ? VD_AGENT_CLIPBOARD_UTF8_TEXT
                        : png ? VD_AGENT_CLIPBOARD_IMAGE_PNG
                        : bmp ? VD_AGENT_CLIPBOARD_IMAGE_BMP
                              : VD_AGENT_CLIPBOARD_NONE;
        fvm_log(1, "agent: client grabbed the clipboard (%s)", want ? type_str(want) : "no type we take");
        /* Fetch at once so the X side can answer requests without waiting on the network. */
        if (want)
            agent_send(a, VD_AGENT_CLIPBOARD_REQUEST, &want, 4);
        break;
    }
    case VD_AGENT_CLIPBOARD: {
        uint32_t t = 0;
        if (m->size < 4)
            break;
        memcpy(&t, data, 4);
        if (type_atom(a, t) != None)
            take_x_selection(a, t, data + 4, m->size - 4);
        break;
    }
    case VD_AGENT_CLIPBOARD_REQUEST: {
        uint32_t t = 0;
        if (m->size >= 4)
            memcpy(&t, data, 4);
        if (type_atom(a, t) == None) {
            send_clipboard(a, VD_AGENT_CLIPBOARD_NONE, NULL, 0);
            break;
        }
        if (XGetSelectionOwner(a->dpy, a->a_clipboard) == a->win) {
            gboolean same = a->owned_data && a->owned_type == t;
            send_clipboard(a, t, same ? a->owned_data : NULL, same ? (uint32_t)a->owned_len : 0);
            break;
        }
        unsigned i = a->conv_next++ % AGENT_CONVS;
        a->conv_type[i] = t;
        XConvertSelection(a->dpy, a->a_clipboard, type_atom(a, t), a->a_conv[i], a->win, CurrentTime);
        XFlush(a->dpy);
        break;
    }
    case VD_AGENT_CLIPBOARD_RELEASE:
        fvm_log(1, "agent: client released the clipboard");
        break;
    case VD_AGENT_CLIENT_DISCONNECTED:
        fvm_log(1, "agent: client disconnected");
        a->client_caps_seen = FALSE;
        break;
    default:
        fvm_log(2, "agent: message type %u (%u bytes) ignored", m->type, m->size);
        break;
    }
}

/* Splits the byte stream into chunks, chunks into messages. */
static void parse_input(struct fvm_agent *a)
{
    guint pos = 0;
    while (a->in->len - pos >= sizeof(VDIChunkHeader)) {
        VDIChunkHeader h;
        memcpy(&h, a->in->data + pos, sizeof(h));
        if (h.size > VD_AGENT_MAX_DATA_SIZE * 64u) {
            fvm_log(0, "agent: chunk of %u bytes rejected; dropping the stream", h.size);
            g_byte_array_set_size(a->in, 0);
            g_byte_array_set_size(a->msg, 0);
            return;
        }
        if (a->in->len - pos - sizeof(h) < h.size)
            break;
        g_byte_array_append(a->msg, a->in->data + pos + sizeof(h), h.size);
        a->msg_port = h.port;
        pos += sizeof(h) + h.size;
        while (a->msg->len >= sizeof(VDAgentMessage)) {
            VDAgentMessage m;
            memcpy(&m, a->msg->data, sizeof(m));
            if (m.size > AGENT_MAX_MSG || m.protocol != VD_AGENT_PROTOCOL) {
                fvm_log(0, "agent: message type %u size %u protocol %u rejected", m.type, m.size, m.protocol);
                g_byte_array_set_size(a->msg, 0);
                break;
            }
            if (a->msg->len - sizeof(m) < m.size)
                break;
            handle_message(a, &m, a->msg->data + sizeof(m));
            g_byte_array_remove_range(a->msg, 0, sizeof(m) + m.size);
        }
    }
    g_byte_array_remove_range(a->in, 0, pos);
}

static int cd_write(SpiceCharDeviceInstance *sin, const uint8_t *buf, int len)
{
    struct fvm_agent *a = from_sin(sin);
    if (len <= 0)
        return 0;
    g_byte_array_append(a->in, buf, (guint)len);
    parse_input(a);
    return len;
}

static int cd_read(SpiceCharDeviceInstance *sin, uint8_t *buf, int len)
{
    struct fvm_agent *a = from_sin(sin);
    int n = MIN((guint)len, a->out->len);
    if (n > 0) {
        memcpy(buf, a->out->data, (size_t)n);
        g_byte_array_remove_range(a->out, 0, (guint)n);
    }
    return n;
}

static void cd_state(SpiceCharDeviceInstance *sin, int connected)
{
    fvm_log(1, "agent: server set the device %s", connected ? "open" : "closed");
}

static void serve_request(struct fvm_agent *a, XSelectionRequestEvent *rq)
{
    XSelectionEvent reply = {
        .type = SelectionNotify,
        .display = rq->display,
        .requestor = rq->requestor,
        .selection = rq->selection,
        .target = rq->target,
        .property = None,
        .time = rq->time,
    };
    Atom prop = rq->property != None ? rq->property : rq->target;
    gboolean text = a->owned_type == VD_AGENT_CLIPBOARD_UTF8_TEXT;
    if (a->owned_data && rq->target == a->a_targets) {
        Atom targets[] = {a->a_targets, a->a_utf8, XA_STRING, a->a_text};
        if (!text)
            targets[1] = type_atom(a, a->owned_type);
        XChangeProperty(a->dpy, rq->requestor, prop, XA_ATOM, 32, PropModeReplace, (unsigned char *)targets,
                        text ? G_N_ELEMENTS(targets) : 2);
        reply.property = prop;
    } else if (a->owned_data && text &&
               (rq->target == a->a_utf8 || rq->target == XA_STRING || rq->target == a->a_text)) {
        XChangeProperty(a->dpy, rq->requestor, prop, rq->target == XA_STRING ? XA_STRING : a->a_utf8, 8,
                        PropModeReplace, (unsigned char *)a->owned_data, (int)a->owned_len);
        reply.property = prop;
    } else if (a->owned_data && !text && rq->target == type_atom(a, a->owned_type)) {
        /* Xlib splits this into a big request; the fake guest never needs INCR to serve. */
        XChangeProperty(a->dpy, rq->requestor, prop, rq->target, 8, PropModeReplace,
                        (unsigned char *)a->owned_data, (int)a->owned_len);
        reply.property = prop;
    }
    XSendEvent(a->dpy, rq->requestor, False, 0, (XEvent *)&reply);
    XFlush(a->dpy);
}

static void on_x_event(XEvent *ev, void *opaque)
{
    struct fvm_agent *a = opaque;
    if (ev->type == a->xfixes_event + XFixesSelectionNotify) {
        XFixesSelectionNotifyEvent *sn = (XFixesSelectionNotifyEvent *)ev;
        if (sn->selection == a->a_clipboard && sn->owner != None && sn->owner != a->win) {
            fvm_log(1, "clipboard: a guest program owns CLIPBOARD; asking what it offers");
            g_free(a->owned_data);
            a->owned_data = NULL;
            query_guest_targets(a);
        }
        return;
    }
    switch (ev->type) {
    case SelectionRequest:
        serve_request(a, &ev->xselectionrequest);
        break;
    case SelectionClear:
        g_free(a->owned_data);
        a->owned_data = NULL;
        break;
    case SelectionNotify: {
        if (ev->xselection.target == a->a_targets) {
            offer_targets(a, &ev->xselection);
            break;
        }
        /* Which request: by property, or (a refusal names none) the first waiting for this target. */
        int i = -1;
        for (int k = 0; k < AGENT_CONVS && i < 0; k++)
            if (a->conv_type[k] && ev->xselection.target == type_atom(a, a->conv_type[k]) &&
                (ev->xselection.property == None || ev->xselection.property == a->a_conv[k]))
                i = k;
        if (i < 0)
            break;
        uint32_t want = a->conv_type[i];
        a->conv_type[i] = 0;
        Atom type;
        int format;
        unsigned long n = 0, left;
        unsigned char *data = NULL;
        gboolean got = ev->xselection.property != None &&
                       XGetWindowProperty(a->dpy, a->win, a->a_conv[i], 0, AGENT_MAX_MSG / 4, True,
                                          AnyPropertyType, &type, &format, &n, &left, &data) == Success;
        if (got && type == a->a_incr) {
            /* Deleting the property (done by the read) asks the owner for the first piece. */
            fvm_log(1, "clipboard: the guest's %s comes in INCR pieces", type_str(want));
            a->incr_type = want; /* one at a time: a newer INCR transfer replaces an older one */
            a->incr_prop = a->a_conv[i];
            g_byte_array_set_size(a->incr_buf, 0);
        } else if (!got || format != 8) {
            fvm_log(1, "clipboard: the guest's CLIPBOARD has no %s", type_str(want));
            send_clipboard(a, want, NULL, 0);
        } else {
            fvm_log(1, "clipboard: sending %lu bytes of guest %s to the client", n, type_str(want));
            send_clipboard(a, want, data, (uint32_t)n);
        }
        if (data)
            XFree(data);
        break;
    }
    case PropertyNotify: {
        XPropertyEvent *pe = &ev->xproperty;
        if (!a->incr_type || pe->window != a->win || pe->atom != a->incr_prop ||
            pe->state != PropertyNewValue)
            break;
        Atom type;
        int format;
        unsigned long n = 0, left;
        unsigned char *data = NULL;
        if (XGetWindowProperty(a->dpy, a->win, a->incr_prop, 0, AGENT_MAX_MSG / 4, True, AnyPropertyType,
                               &type, &format, &n, &left, &data) != Success)
            break;
        if (n == 0) { /* the empty piece ends it */
            fvm_log(1, "clipboard: sending %u bytes of guest %s (INCR) to the client", a->incr_buf->len,
                    type_str(a->incr_type));
            send_clipboard(a, a->incr_type, a->incr_buf->data, a->incr_buf->len);
            a->incr_type = 0;
            g_byte_array_set_size(a->incr_buf, 0);
        } else if (a->incr_buf->len + n <= AGENT_MAX_MSG - 4) {
            g_byte_array_append(a->incr_buf, data, (guint)n);
        }
        if (data)
            XFree(data);
        break;
    }
    default:
        break;
    }
}

static const SpiceCharDeviceInterface agent_sif = {
    .base = {.type = SPICE_INTERFACE_CHAR_DEVICE,
             .description = "fakevm vdagent",
             .major_version = SPICE_INTERFACE_CHAR_DEVICE_MAJOR,
             .minor_version = SPICE_INTERFACE_CHAR_DEVICE_MINOR},
    .state = cd_state,
    .write = cd_write,
    .read = cd_read,
};

struct fvm_agent *fvm_agent_create(struct fvm_x *x, SpiceServer *server)
{
    struct fvm_agent *a = g_new0(struct fvm_agent, 1);
    a->server = server;
    a->x = x;
    a->dpy = fvm_x_display(x);
    a->in = g_byte_array_new();
    a->msg = g_byte_array_new();
    a->out = g_byte_array_new();
    a->a_clipboard = XInternAtom(a->dpy, "CLIPBOARD", False);
    a->a_utf8 = XInternAtom(a->dpy, "UTF8_STRING", False);
    a->a_targets = XInternAtom(a->dpy, "TARGETS", False);
    a->a_text = XInternAtom(a->dpy, "TEXT", False);
    for (int i = 0; i < AGENT_CONVS; i++) {
        char name[32];
        snprintf(name, sizeof(name), "SPYGLASS_FAKEVM_CLIP%d", i);
        a->a_conv[i] = XInternAtom(a->dpy, name, False);
    }
    a->a_tprop = XInternAtom(a->dpy, "SPYGLASS_FAKEVM_TARGETS", False);
    a->a_png = XInternAtom(a->dpy, "image/png", False);
    a->a_bmp = XInternAtom(a->dpy, "image/bmp", False);
    a->a_incr = XInternAtom(a->dpy, "INCR", False);
    a->incr_buf = g_byte_array_new();
    a->win = XCreateSimpleWindow(a->dpy, DefaultRootWindow(a->dpy), -10, -10, 1, 1, 0, 0, 0);
    XSelectInput(a->dpy, a->win, PropertyChangeMask); /* INCR pieces */
    int err;
    if (XFixesQueryExtension(a->dpy, &a->xfixes_event, &err))
        XFixesSelectSelectionInput(a->dpy, a->win, a->a_clipboard, XFixesSetSelectionOwnerNotifyMask);
    else
        fvm_log(0, "clipboard: the X server has no XFIXES; guest-to-client copies will not be offered");
    fvm_x_set_handler(x, on_x_event, a);

    a->sin.base.sif = &agent_sif.base;
    a->sin.subtype = "vdagent";
    if (spice_server_add_interface(server, &a->sin.base)) {
        fvm_log(0, "spice_server_add_interface failed for the vdagent char device");
        fvm_agent_destroy(a);
        return NULL;
    }
    announce(a, 1);
    return a;
}

void fvm_agent_destroy(struct fvm_agent *a)
{
    if (!a)
        return;
    if (a->sin.st)
        spice_server_remove_interface(&a->sin.base);
    fvm_x_set_handler(a->x, NULL, NULL);
    XDestroyWindow(a->dpy, a->win);
    g_byte_array_unref(a->in);
    g_byte_array_unref(a->msg);
    g_byte_array_unref(a->out);
    g_byte_array_unref(a->incr_buf);
    g_free(a->owned_data);
    g_free(a);
}
