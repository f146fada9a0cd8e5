#!/usr/bin/env python3
"""Click-train and record-counter analysis for the sound tests and bench/audio.

clicks FAKEVM_LOG PROBE_OUT [--from NS] [--to NS] [--stall-ms MS] [--grace-ms MS] [--lead-ms MS] [--trace FILE] [--due]
    Matches each click heard (spyglass-sndprobe listen) to its put time (fake VM log) by its
    number (--due: to when the guest clock had made it, so that the fake VM's own lateness in
    putting a block does not shorten the latency measured), and prints key=value lines: sent,
    heard, matched, missing, garbled (clicks heard whose number was put more than 1 s before, or
    never: misread, away from any stall), p50/p99/min/max latency (ms, put -> rendered by the sound server), amp_median, discontinuities (click intervals in
    the recording off 4800 samples by more than 1.5 %: a gap of silence (underrun) or a block
    lost or doubled; the drift controller alone never moves them by more than 1 %), and the
    guest's own stalls (gaps between its click puts over 140 ms, a block 40 ms late: the fake VM
    late, not the client; with --stall-ms MS and the fake VM's per-block "put" lines (FVM_DEBUG=1),
    gaps between its block puts over MS).
    Clicks put during a guest stall or in the --grace-ms (default 300) after it are left out of
    the figures and counted in excluded_after_guest_stalls: a guest that stops producing longer
    than the buffer's lead breaks any player. The same after the machine's own stalls ("stall
    T_NS MS" lines of the probe's watcher, machine_stalls), which hold up the client's threads
    and the guest's alike. A guest stall and the machine stall that caused it are one event
    (stall_events). --lead-ms MS: only the stalls that could empty the buffer are excused
    (excused_stalls): a block put MS late or more, the machine held MS or more, and with --trace
    (the client's SPYGLASS_AUDIO_TRACE) a block that reached the client MS or more after the
    guest's clock made it (late_blocks), or the stream ran dry while the client had MS or more
    handed to the server (server_stalls). For each event, recovery: from its end to the first click after which
    every click until the next event (at most 2 s on; a click put less than 50 ms before the
    next event is that one's) is within 1 ms of the median latency;
    recovery_max_ms over the events from 3 s on (the start transient is no stall's) followed by at
    least 0.5 s without one (recovery_judged), and unrecovered: those events whose clicks were
    not back within 1 ms by then.
record FAKEVM_LOG PROBE_OUT
    Record latency: counts the probe rendered into the microphone (mon C T) against the fake
    VM's receive times (rec C T): p50/p99/min/max ms.
"""
import sys

PERIOD = 4800
STALL_GRACE_NS = 0.3e9  # the client is back at its latency ~0.1 s after a stall (doc/audio.md)
RECOVERY_BAND_MS = 1.0
RECOVERY_LOOK_NS = 2e9
RECOVERY_MIN_NS = 0.5e9
RECOVERY_FROM_NS = 3e9  # the start transient (the drift being learnt) is no stall's effect
LEAD_NS = 50e6  # the buffer's lead (~20 ms) and a click's length (22 ms)
GARBLED_NS = 1e9  # a click heard a second after the put of its number: not that click


def pct(v, p):
    if not v:
        return float('nan')
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def recovery(lat_by_put, events):
    """Per stall event: how long after its end the heard latency is back within
    RECOVERY_BAND_MS of the median (see the module's doc)."""
    if not lat_by_put:
        return [], 0
    ref = pct([v for _, v in lat_by_put], 50)
    rec, unrecovered = [], 0
    for i, (a, b) in enumerate(events):
        if a < lat_by_put[0][0] + RECOVERY_FROM_NS:
            continue
        nxt = events[i + 1][0] if i + 1 < len(events) else 1 << 62
        end = min(nxt - LEAD_NS, b + RECOVERY_LOOK_NS)  # clicks put just before a stall are its
        if end - b < RECOVERY_MIN_NS:
            continue
        after = [(t, v) for t, v in lat_by_put if b <= t < end]
        if not after:
            continue
        back = None
        for j in range(len(after)):
            if all(abs(v - ref) <= RECOVERY_BAND_MS for _, v in after[j:]):
                back = after[j][0]
                break
        if back is None:
            unrecovered += 1
        else:
            rec.append((back - b) / 1e6)
    return rec, unrecovered


def merge(intervals):
    """Overlapping intervals as one (a machine stall and the guest stall it caused)."""
    out = []
    for a, b in sorted(intervals):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def late_blocks(fvm, trace, late_ns):
    """Blocks that reached the client late_ns or more after the guest's clock made them, as
    (due, arrival) intervals: whatever held them (the guest's own lateness, the SPICE hop, the
    client's thread; the probe's watchers miss a vCPU held while they ran on the other), the
    buffer sees it as that much less lead. The client's per-block trace (SPYGLASS_AUDIO_TRACE:
    one line per block in order, from the first that found the stream) against the fake VM's
    "put FIRST T" lines; each block's due time from a line fitted to the click lines' (first
    frame, due) pairs. The blocks before the stream existed are not traced: the offset is the
    one that makes the median delay least."""
    firsts, pairs = [], []
    for line in open(fvm):
        p = line.split()
        if p and p[0] == 'put':
            firsts.append(int(p[1]))
        elif p and p[0] == 'click' and len(p) > 5:
            pairs.append((int(p[1]) * PERIOD - int(p[3]), int(p[5])))
    arrivals = [int(p[0]) for p in (line.split() for line in open(trace)) if p and p[0] != '#']
    if len(pairs) < 2 or len(firsts) < 2 or not arrivals:
        return []
    mx = sum(f for f, _ in pairs) / len(pairs)
    my = sum(d for _, d in pairs) / len(pairs)
    slope = sum((f - mx) * (d - my) for f, d in pairs) / sum((f - mx) ** 2 for f, _ in pairs)
    due = [my + slope * (f - mx) for f in firsts]  # the click lines' due: a block's last frame made
    best = None
    for off in range(0, min(200, len(due) - 1) + 1):
        d = pct([abs(a - due[i + off]) for i, a in enumerate(arrivals[:2000]) if i + off < len(due)], 50)
        if best is None or d < best[0]:
            best = (d, off)
    off = best[1]
    return [(int(due[i + off]), a) for i, a in enumerate(arrivals) if i + off < len(due) and a - due[i + off] >= late_ns]


def server_stalls(trace, lead_ns):
    """Underruns with the buffer full by the client's own account: the client's trace shows a
    block measured with lead_ns or more handed to the sound server beyond the device's latency,
    then the stream waiting for its prebuffer again (the server ran it dry: its threads were held,
    unseen by the watchers when their vCPUs ran), as (last reading, first reading after) intervals.
    Whether the client's account is right the recording says (the median latency heard)."""
    out, last, dry = [], None, None
    for p in (line.split() for line in open(trace)):
        if not p or p[0] == '#' or len(p) < 5:
            continue
        t, have, lat, dev = int(p[0]), p[2] == '1', int(p[3]), int(p[4])
        if have and dry is not None:
            out.append((dry, t))
            dry = None
        if have:
            last = (t, (lat - dev) * 1000)
        elif last is not None and dry is None and last[1] >= lead_ns:
            dry = last[0]
            last = None
        elif not have:
            last = None
    return out


def clicks(fvm, probe, t_from=0, t_to=1 << 63, stall_ms=None, due=False, grace_ns=STALL_GRACE_NS,
           lead_ms=None, trace=None):
    puts = {}
    put_times = []
    block_times = []
    for line in open(fvm):
        p = line.split()
        if p and p[0] == 'click':
            k, t = int(p[1]), int(p[2])
            if due and len(p) > 5:
                t = int(p[5])
            puts.setdefault(k % 1024, []).append((t, k))
            put_times.append(t)
        elif p and p[0] == 'put':
            block_times.append(int(p[2]))
    heard = []
    for line in open(probe):
        p = line.split()
        if p and p[0] == 'click':
            heard.append((int(p[1]), int(p[2]), int(p[3]), int(p[4])))
    heard = [h for h in heard if t_from <= h[1] <= t_to]
    # the machine's own stalls, seen by the probe's watcher: as a guest stall, from its start
    machine = [(int(p[1]), int(p[1]) + int(float(p[2]) * 1e6)) for p in
               (line.split() for line in open(probe)) if p and p[0] == 'stall']
    put_times.sort()
    if stall_ms is not None and block_times:
        block_times.sort()
        stalls = [(a, b) for a, b in zip(block_times, block_times[1:]) if b - a > stall_ms * 1e6]
    else:
        stalls = [(a, b) for a, b in zip(put_times, put_times[1:]) if b - a > 140e6]
    # After the guest itself stalled (its clock went on, its puts did not) longer than the
    # buffer's lead, the client cannot be judged: any player underruns. With --lead-ms only
    # such stalls are excused: a block later than the lead (its gap less one block period), the
    # machine held that long; shorter ones must leave no trace.
    # With --trace, also the blocks that reached the client late by the guest's clock (late_blocks).
    delivered = late_blocks(fvm, trace, (lead_ms or 10) * 1e6) if trace else []
    held = server_stalls(trace, (lead_ms or 10) * 1e6) if trace else []
    events = merge(stalls + machine + delivered + held)
    if lead_ms is not None:
        period = pct([b - a for a, b in zip(block_times, block_times[1:])], 50) if len(block_times) > 1 else 0
        excusable = merge([(a, b) for a, b in stalls if b - a - period >= lead_ms * 1e6] +
                          [(a, b) for a, b in machine if b - a >= lead_ms * 1e6] + delivered + held)
    else:
        excusable = events

    # a click put up to LEAD_NS before a stall is still in the buffer (or being put) when the
    # stall's gap reaches it
    def excused(pt):
        return any(a - LEAD_NS <= pt <= b + grace_ns for a, b in excusable)
    lat, amps, ks = [], [], []
    everyone = []
    excluded = garbled = 0
    first_t = min((t for _, t, _, _ in heard), default=0)
    for cid, t, amp, idx in heard:
        cands = [(pt, k) for pt, k in puts.get(cid, []) if pt < t and t - pt < GARBLED_NS]
        if not cands:
            # its number misread: sound cut out of the middle of it (a trim) or a gap in it (an
            # underrun); no fault right at a stall, where both belong
            if t - first_t > GARBLED_NS and not any(a <= t <= b + grace_ns + LEAD_NS for a, b in excusable):
                garbled += 1
            continue
        pt, k = max(cands)
        if t_from <= pt:
            everyone.append((pt, (t - pt) / 1e6))
        amps.append(amp)  # loudness is no matter of timing: a stall excuses latency only
        if excused(pt):
            excluded += 1
            continue
        lat.append((t - pt) / 1e6)
        ks.append((k, idx))
    disc = 0
    spacing = []
    for (k0, i0), (k1, i1) in zip(ks, ks[1:]):
        if k1 == k0 + 1 and not (PERIOD * 0.985 <= i1 - i0 <= PERIOD * 1.015):
            disc += 1
        elif k1 == k0 + 1:
            spacing.append((i1 - i0) / PERIOD)
    missing = 0
    if ks:
        got = {k for k, _ in ks}
        put_of = {k: pt for lst in puts.values() for pt, k in lst}
        missing = sum(1 for k in range(ks[0][0], ks[-1][0] + 1)
                      if k not in got and not excused(put_of.get(k, 0)))
    # from the put, a click in a block put late looks short though nothing heard changed: only
    # from the guest's clock (--due) does the latency say when the sound was back
    rec, unrecovered = recovery(sorted(everyone), events) if due else ([], 0)
    stalls = [(b - a) / 1e6 for a, b in stalls]
    out = {
        'sent': sum(1 for t in put_times if t_from <= t <= t_to),
        'heard': len(heard), 'matched': len(lat), 'missing': missing,
        'p50_ms': pct(lat, 50), 'p99_ms': pct(lat, 99),
        'min_ms': min(lat) if lat else float('nan'), 'max_ms': max(lat) if lat else float('nan'),
        'amp_median': pct(amps, 50), 'discontinuities': disc,
        'ratio_heard': sum(spacing) / len(spacing) if spacing else float('nan'),
        'guest_stalls': len(stalls), 'guest_worst_stall_ms': max(stalls) if stalls else 0,
        'machine_stalls': len(machine),
        'machine_worst_stall_ms': max((b - a) / 1e6 for a, b in machine) if machine else 0,
        'late_blocks': len(delivered), 'server_stalls': len(held),
        'excluded_after_guest_stalls': excluded, 'garbled': garbled,
        'stall_events': len(events), 'excused_stalls': len(excusable), 'recovery_judged': len(rec) + unrecovered,
        'recovery_p50_ms': pct(rec, 50) if rec else 0.0, 'recovery_max_ms': max(rec) if rec else 0.0,
        'unrecovered': unrecovered,
    }
    return out, lat


def record(fvm, probe):
    rec = {}
    for line in open(fvm):
        p = line.split()
        if p and p[0] == 'rec':
            rec.setdefault(int(p[1]), int(p[2]))
    lat = []
    for line in open(probe):
        p = line.split()
        if p and p[0] == 'mon' and int(p[1]) in rec:
            lat.append((rec[int(p[1])] - int(p[2])) / 1e6)
    return {'samples': len(lat), 'p50_ms': pct(lat, 50), 'p99_ms': pct(lat, 99),
            'min_ms': min(lat) if lat else float('nan'), 'max_ms': max(lat) if lat else float('nan')}, lat


def show(d):
    for k, v in d.items():
        print('%s=%s' % (k, ('%.6f' % v if k.startswith('ratio') else '%.2f' % v) if isinstance(v, float) else v))


if __name__ == '__main__':
    if len(sys.argv) >= 4 and sys.argv[1] == 'clicks':
        args = sys.argv[4:]
        t_from = int(args[args.index('--from') + 1]) if '--from' in args else 0
        t_to = int(args[args.index('--to') + 1]) if '--to' in args else 1 << 63
        stall_ms = float(args[args.index('--stall-ms') + 1]) if '--stall-ms' in args else None
        grace = float(args[args.index('--grace-ms') + 1]) * 1e6 if '--grace-ms' in args else STALL_GRACE_NS
        lead = float(args[args.index('--lead-ms') + 1]) if '--lead-ms' in args else None
        trace = args[args.index('--trace') + 1] if '--trace' in args else None
        show(clicks(sys.argv[2], sys.argv[3], t_from, t_to, stall_ms, '--due' in args, grace, lead, trace)[0])
    elif len(sys.argv) == 4 and sys.argv[1] == 'record':
        show(record(sys.argv[2], sys.argv[3])[0])
    else:
        sys.exit(__doc__)
