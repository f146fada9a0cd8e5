#!/usr/bin/env bash
# The drift soak at full length: the fake VM's sample clock 0.5 % fast for SECONDS, then a new
# guest 0.5 % slow for SECONDS, against the test's PulseAudio; spyglass-client at its default
# audio:latencyMs. Figures from the recording of the null sink's monitor (tests/audio/soak.sh,
# tests/audio/analyse.py): underruns and overruns (the client's counters), lost clicks, gaps,
# and each click's latency (fake VM put -> rendered) p50/p99/min/max against the held value,
# with the guest's and the machine's own stalls (g/m) whose following 300 ms the figures leave
# out, and how long after a stall the latency was back within 1 ms (recovery max, ms).
#
#   bash bench/audio/soak.sh BUILD [SECONDS=300]
# Prints the machine's load; run it as root (the sound path runs real-time, as on a desktop).
BUILD=${1:?build dir}
SECS=${2:-300}
HERE=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "== drift soak: $SECS s at +0.5 % then $SECS s at -0.5 % (load at start: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores)"
SOAK_SECONDS=$SECS bash "$HERE/../../tests/audio/soak.sh" "$BUILD" >"$out" 2>&1
rc=$?
grep -E '^(ok|FAIL|SKIP)' "$out"
printf '%-7s %9s %9s %7s %6s %8s %8s %8s %8s %8s %9s %13s %9s %s\n' drift underruns overruns missing gaps \
    "p50 ms" "p99 ms" "min ms" "max ms" "held ms" ratio "stalls g/m" "back ms" "load"
python3 - "$out" <<'PY'
import sys
for line in open(sys.argv[1]):
    if not line.startswith('drift '):
        continue
    head, _, rest = line.partition(': ')
    load = rest.split('load: ')[1].strip() if 'load: ' in rest else ''
    kv = dict(w.split('=', 1) for w in rest.split('load:')[0].split() if '=' in w)
    print('%-7s %9s %9s %7s %6s %8s %8s %8s %8s %8s %9s %13s %9s %s' % (
        '%+.1f%%' % (int(head.split()[1]) / 10000), kv['underruns'], kv['overruns'], kv['missing'],
        kv['discontinuities'], kv['p50_ms'], kv['p99_ms'], kv['min_ms'], kv['max_ms'], kv['expected'],
        kv['ratio_heard'], '%s/%s' % (kv.get('guest_stalls', '?'), kv.get('machine_stalls', '?')),
        kv.get('recovery_max_ms', '?'), load))
PY
exit $rc
