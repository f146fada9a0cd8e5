#!/usr/bin/env bash
# sg_run_tests (sg_cmocka.h) against cases with known outcomes: a run in which a case skipped must
# exit 77 so meson reports SKIP, not PASS; failures win over skips; case names select and -x
# leaves out; a name that is no case is an error, never an empty pass.
# Usage: cmocka_skip_test.sh SG_CMOCKA_PROBE
set -u
probe=$1
failures=0
expect() {
    local want=$1; shift
    local out
    out=$("$probe" "$@" 2>&1)
    local got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL: '$*' exited $got, want $want; output:"; echo "$out"; failures=$((failures + 1))
    else
        echo "ok: '$*' -> $got"
    fi
    LAST=$out
}
expect 0 case_pass
expect 77 case_skip
echo "$LAST" | grep -q 'SKIP: 1 of 1 case(s) skipped' || { echo "FAIL: no SKIP line: $LAST"; failures=$((failures + 1)); }
expect 77 case_pass case_skip
expect 1 case_skip case_fail
expect 1
expect 77 -x case_fail
expect 0 -x case_skip -x case_fail
expect 2 case_nosuch
expect 2 -x case_nosuch
expect 2 -x
expect 2 case_pass -x case_pass
[ $failures -eq 0 ] && echo "PASS" && exit 0
exit 1
