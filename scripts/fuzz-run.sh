#!/bin/sh
# Run libFuzzer targets for a while each, as many at a time as there are
# cores (they are independent: one process, corpus and log each).
#   scripts/fuzz-run.sh FUZZDIR SECONDS TARGET...
# Exits non-zero when a target finds a crash, a leak or a timeout; the
# failed targets' log tails are printed again at the very end, so that a
# report showing only the last lines of the output still names them.
set -eu
fuzzdir=$1
seconds=$2
shift 2
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}

one() {
    t=$1
    seeds=tests/fuzz/corpus/$t
    work=$fuzzdir/corpus/$t
    mkdir -p "$work" "$fuzzdir/artifacts"
    [ -d "$seeds" ] || { echo "fuzz: no seed corpus $seeds"; seeds=; }
    dict=
    [ -f "tests/fuzz/$t.dict" ] && dict=-dict=tests/fuzz/$t.dict
    log=$fuzzdir/fuzz-$t.log
    # $dict and $seeds are empty or one word: unquoted on purpose.
    # shellcheck disable=SC2086
    if "$fuzzdir/tests/fuzz/fuzz-$t" -max_total_time="$seconds" -timeout=10 \
        -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$fuzzdir/artifacts/$t-" $dict "$work" $seeds >"$log" 2>&1; then
        echo "fuzz: fuzz-$t ok ($seconds s on ${seeds:-an empty corpus}):" \
            "$(grep -E '^stat::number_of_executed_units' "$log" | sed 's/.*: *//') runs," \
            "peak $(grep -E '^stat::peak_rss_mb' "$log" | sed 's/.*: *//') MB"
    else
        tail -n 60 "$log"
        echo "fuzz: fuzz-$t FAILED"
        : >"$fuzzdir/fuzz-$t.failed"
        return 1
    fi
}

# The failed targets' logs, at the end: the crash's lines and the input.
summary() {
    failed=0
    for t in "$@"; do
        log=$fuzzdir/fuzz-$t.log
        if [ -f "$fuzzdir/fuzz-$t.failed" ]; then
            failed=$((failed + 1))
            echo "=== fuzz-$t FAILED: $log"
            grep -E 'ERROR|SUMMARY|runtime error|Test unit written|Base64|^    #[0-9]+ ' "$log" | head -n 40
        fi
    done
    [ "$failed" -eq 0 ] || echo "fuzz: $failed target(s) FAILED (artifacts in $fuzzdir/artifacts)"
}

if [ "${1:-}" = --one ]; then
    one "$2"
    exit
fi
for t in "$@"; do rm -f "$fuzzdir/fuzz-$t.log" "$fuzzdir/fuzz-$t.failed"; done
rc=0
printf '%s\n' "$@" | xargs -P "$jobs" -n 1 "$0" "$fuzzdir" "$seconds" --one || rc=$?
summary "$@"
exit "$rc"
