#!/bin/sh
# Runs the region fuzzer for a bounded time over the committed seeds.
# Usage: run_fuzz.sh FUZZER SEED_DIR WORK_DIR
# SG_FUZZ_SECONDS (default 60) sets the duration; new inputs go to
# WORK_DIR/region-corpus (never into the source tree), crashes to WORK_DIR/artifacts/.
set -eu
fuzzer=$1 seeds=$2 work=$3
mkdir -p "$work/region-corpus" "$work/artifacts"
exec "$fuzzer" -max_total_time="${SG_FUZZ_SECONDS:-60}" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/" "$work/region-corpus" "$seeds"
