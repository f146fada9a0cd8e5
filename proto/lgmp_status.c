/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdint.h>
#include <sys/random.h>
#include <time.h>

#include "lgmp.h"
#include "lgmp_wire.h"

const char *sg_lgmp_status_str(enum sg_lgmp_status s)
{
    switch (s) {
    case SG_LGMP_OK:
        return "OK";
    case SG_LGMP_CLOCK_FAILURE:
        return "CLOCK_FAILURE (the monotonic clock read 0)";
    case SG_LGMP_INVALID_ARGUMENT:
        return "INVALID_ARGUMENT";
    case SG_LGMP_INVALID_SIZE:
        return "INVALID_SIZE (region or message too small/large)";
    case SG_LGMP_INVALID_ALIGNMENT:
        return "INVALID_ALIGNMENT (not a power of two, or misaligned region)";
    case SG_LGMP_INVALID_SESSION:
        return "INVALID_SESSION (host restarted, not ticking, or gone)";
    case SG_LGMP_NO_MEM:
        return "NO_MEM (local allocation failed)";
    case SG_LGMP_NO_SHARED_MEM:
        return "NO_SHARED_MEM (region full)";
    case SG_LGMP_HOST_STARTED:
        return "HOST_STARTED";
    case SG_LGMP_NO_QUEUES:
        return "NO_QUEUES (already 5 queues)";
    case SG_LGMP_QUEUE_FULL:
        return "QUEUE_FULL";
    case SG_LGMP_QUEUE_EMPTY:
        return "QUEUE_EMPTY";
    case SG_LGMP_QUEUE_UNSUBSCRIBED:
        return "QUEUE_UNSUBSCRIBED";
    case SG_LGMP_QUEUE_TIMEOUT:
        return "QUEUE_TIMEOUT (evicted for slowness)";
    case SG_LGMP_INVALID_MAGIC:
        return "INVALID_MAGIC (not an LGMP region)";
    case SG_LGMP_INVALID_VERSION:
        return "INVALID_VERSION (LGMP version is not 6)";
    case SG_LGMP_NO_SUCH_QUEUE:
        return "NO_SUCH_QUEUE";
    case SG_LGMP_CORRUPTED:
        return "CORRUPTED (magic wiped or outstanding underflow)";
    case SG_LGMP_BAD_APP_DATA_SIZE:
        return "BAD_APP_DATA_SIZE (application data runs past the region or is too big)";
    case SG_LGMP_BAD_QUEUE_COUNT:
        return "BAD_QUEUE_COUNT (queue_count > 5)";
    case SG_LGMP_BAD_SLOT_COUNT:
        return "BAD_SLOT_COUNT (queue ring slot count < 2 or absurd)";
    case SG_LGMP_BAD_RING:
        return "BAD_RING (queue ring outside the region or misaligned)";
    case SG_LGMP_BAD_INDEX:
        return "BAD_INDEX (ring index out of range)";
    case SG_LGMP_BAD_PAYLOAD:
        return "BAD_PAYLOAD (message payload outside the region)";
    case SG_LGMP_BAD_CMSG:
        return "BAD_CMSG (client message length > 64)";
    case SG_LGMP_LOCK_STUCK:
        return "LOCK_STUCK (a queue spin lock stayed held > 1000 ms)";
    }
    return "unknown LGMP status";
}

uint32_t sg_lgmp_random31(void)
{
    uint32_t v;
    ssize_t n;
    do
        n = getrandom(&v, sizeof(v), GRND_NONBLOCK);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(v)) {
        /* No entropy yet (early boot in a guest): mix the clocks and a stack
         * address; uniqueness against the previous session is still enforced
         * by the caller. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)(uintptr_t)&ts;
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdull;
        x ^= x >> 33;
        v = (uint32_t)x;
    }
    return v & 0x7fffffffu;
}
