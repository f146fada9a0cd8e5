#!/usr/bin/env python3
"""Click-train and record-counter analysis for the sound tests and bench/audio.

clicks FAKEVM_LOG PROBE_OUT [--from NS] [--to NS] [--stall-ms MS] [--due]
    Matches each click heard (spyglass-sndprobe listen) to its put time (fake VM log) by its
    number (--due: to when the guest clock had made it, so that the fake VM's own lateness in
    putting a block does not shorten the latency measured), and prints key=value lines: sent,
    heard, matched, missing, p50/p99/min/max latency (ms, put -> rendered by the sound server), amp_median, discontinuities (click intervals in
    the recording off 4800 samples by more than 1.5 %: a gap of silence (underrun) or a block
    lost or doubled; the drift controller alone never moves them by more than 1 %), and the
    guest's own stalls (gaps between its click puts over 140 ms, a block 40 ms late: the fake VM
    late, not the client; with --stall-ms MS and the fake VM's per-block "put" lines (FVM_DEBUG=1),
    gaps between its block puts over MS).
    Clicks put during a guest stall or in the 2 s after it are left out of the figures and
    counted in excluded_after_guest_stalls: a guest that stops producing is no client fault.
    The same after the machine's own stalls ("stall T_NS MS" lines of the probe's watcher,
    machine_stalls), which hold up the client's threads and the guest's alike.
record FAKEVM_LOG PROBE_OUT
    Record latency: counts the probe rendered into the microphone (mon C T) against the fake
    VM's receive times (rec C T): p50/p99/min/max ms.
"""
import sys

PERIOD = 4800
STALL_GRACE_NS = 2e9


def pct(v, p):
    if not v:
        return float('nan')
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def clicks(fvm, probe, t_from=0, t_to=1 << 63, stall_ms=None, due=False):
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
    # After the guest itself stalled (its clock went on, its puts did not), the client cannot
    # be judged: the guest's SPICE server drops what piles up, and any player underruns.
    def excused(pt):
        return any(a <= pt <= b + STALL_GRACE_NS for a, b in stalls + machine)
    lat, amps, ks = [], [], []
    excluded = 0
    for cid, t, amp, idx in heard:
        cands = [(pt, k) for pt, k in puts.get(cid, []) if pt < t and t - pt < 5e9]
        if not cands:
            continue
        pt, k = max(cands)
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
        'excluded_after_guest_stalls': excluded,
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
        show(clicks(sys.argv[2], sys.argv[3], t_from, t_to, stall_ms, '--due' in args)[0])
    elif len(sys.argv) == 4 and sys.argv[1] == 'record':
        show(record(sys.argv[2], sys.argv[3])[0])
    else:
        sys.exit(__doc__)
