/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "session_poll.h"

struct sg_poll_wait sg_session_poll_wait(uint64_t now, uint64_t last_busy, uint64_t input_until,
                                         unsigned poll_us, unsigned input_poll_us)
{
    if (input_poll_us && input_poll_us < poll_us && now < input_until)
        return (struct sg_poll_wait){input_poll_us, false};
    uint64_t still = now > last_busy ? now - last_busy : 0;
    if (still > SG_POLL_STILL_AFTER_NS && SG_POLL_STILL_US > poll_us)
        return (struct sg_poll_wait){SG_POLL_STILL_US, true};
    if (still > SG_POLL_IDLE_AFTER_NS)
        return (struct sg_poll_wait){(uint64_t)poll_us * SG_POLL_IDLE_FACTOR, true};
    return (struct sg_poll_wait){poll_us, false};
}
