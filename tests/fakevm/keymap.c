/* PC AT set-1 scancodes to X keycodes of the evdev keymap Xvfb uses (keycode = Linux KEY_* + 8). */
#include "fakevm.h"

unsigned fvm_scancode_to_xkeycode(unsigned scancode)
{
    /* Set-1 codes 0x01..0x58 equal the Linux input codes (KEY_ESC = 1 ... KEY_F12 = 88). */
    if (scancode >= 0x01 && scancode <= 0x58)
        return scancode + 8;
    switch (scancode) {
    case 0x59:
        return 117 + 8; /* keypad = */
    case 0x73:
        return 89 + 8; /* Ro */
    case 0x7d:
        return 124 + 8; /* Yen */
    case 0x120:
        return 113 + 8; /* Mute */
    case 0x12e:
        return 114 + 8; /* Volume down */
    case 0x130:
        return 115 + 8; /* Volume up */
    case 0x11c:
        return 96 + 8; /* keypad Enter */
    case 0x11d:
        return 97 + 8; /* right Ctrl */
    case 0x135:
        return 98 + 8; /* keypad / */
    case 0x137:
        return 99 + 8; /* Print Screen */
    case 0x138:
        return 100 + 8; /* right Alt (AltGr) */
    case 0x146:
        return 119 + 8; /* Ctrl+Break: Pause */
    case 0x147:
        return 102 + 8; /* Home */
    case 0x148:
        return 103 + 8; /* Up */
    case 0x149:
        return 104 + 8; /* Page Up */
    case 0x14b:
        return 105 + 8; /* Left */
    case 0x14d:
        return 106 + 8; /* Right */
    case 0x14f:
        return 107 + 8; /* End */
    case 0x150:
        return 108 + 8; /* Down */
    case 0x151:
        return 109 + 8; /* Page Down */
    case 0x152:
        return 110 + 8; /* Insert */
    case 0x153:
        return 111 + 8; /* Delete */
    case 0x15b:
        return 125 + 8; /* left Super */
    case 0x15c:
        return 126 + 8; /* right Super */
    case 0x15d:
        return 127 + 8; /* Menu */
    default:
        return 0;
    }
}
