/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the guest's DRM test programs (sg-vm-kms, sg-vm-input) share: lines on the serial
 * console that the outside test reads, and the display calls both make.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* The prefix of every line, e.g. "sg-kms": set by main before anything is said. */
extern const char *guest_name;

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "FAILED what: errno's text", then exit 1. */
void die(const char *what) __attribute__((noreturn));

struct dumb {
    uint32_t w, h, pitch, handle, fb;
    uint8_t *map;
    size_t size;
};

/* A mapped dumb buffer of 32 bits per pixel; a framebuffer of `format` on it unless format is 0. */
void make_dumb(int fd, struct dumb *d, uint32_t w, uint32_t h, uint32_t format);
/* DRM master of fd. spyglass-host, started just before, is master for a moment (the first program
 * to open a card is; the host drops it at once, host/capture/kms.c): wait that out. */
void become_master(int fd);
