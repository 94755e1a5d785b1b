#!/bin/sh
# ccai-server over cores and instances: webhook turns/s (Twilio webhooks,
# offline dialogue) and LLM turns/s (Twilio webhooks, the LLM stand-in: ttft
# 300 ms) with 1 worker, 2 workers and 3 instances, on SQLite and on
# PostgreSQL (bench-server starts its own on loopback), side by side, with
# the turn latency percentiles, the server CPU per turn and the load average
# of the machine before and after. Each cell is one
# build/bench/bench-server run (see its header for what it does).
#
#   bench/bench_scale.sh [BUILD_DIR]     (default: build)
#   CALLS=200 TURNS=10 LLM_CALLS=400 LLM_TURNS=3 REPEAT=1 bench/bench_scale.sh
#
# "2 workers, affinity" runs with --sticky: each call's webhooks on one
# connection, which SO_REUSEPORT keeps on one worker (a load balancer with
# affinity). Twilio has none: "2 workers" sends them as Twilio does, the
# kernel spreads them over the workers, and a webhook reaching the worker
# that does not hold the call is handed to the holder (the call leases).
# "3 instances": three ccai-server processes on one database, each request
# sent to the next one in turn (bench-server --instances 3), handed over the
# same way. "errors" counts the turns that failed.
set -u
BUILD=${1:-build}
CALLS=${CALLS:-200}
TURNS=${TURNS:-10}
LLM_CALLS=${LLM_CALLS:-400}
LLM_TURNS=${LLM_TURNS:-3}
REPEAT=${REPEAT:-1}
BENCH="$BUILD/bench/bench-server"
SERVER="$BUILD/ccai-server/ccai-server"
STANDIN="$BUILD/tests/llm-standin"
for f in "$BENCH" "$SERVER" "$STANDIN"; do
    [ -x "$f" ] || { echo "bench_scale: $f missing (ninja -C $BUILD)" >&2; exit 1; }
done

# One run: prints "turns/s p50 p99 cpu errors" (the best of REPEAT runs by
# turns/s); cpu: the server's CPU time (all its processes) per turn, in us.
run() {
    best=""
    i=0
    while [ "$i" -lt "$REPEAT" ]; do
        out=$("$BENCH" --server-bin "$SERVER" --standin-bin "$STANDIN" "$@" 2>/dev/null)
        tps=$(printf '%s\n' "$out" | sed -n 's/.* = \([0-9]*\) turns\/s; errors \([0-9]*\).*/\1/p')
        err=$(printf '%s\n' "$out" | sed -n 's/.*turns\/s; errors \([0-9]*\).*/\1/p')
        pct=$(printf '%s\n' "$out" | awk '/turn \(text in/ { print $8 " " $12 }')
        turns=$(printf '%s\n' "$out" | sed -n 's/.*; \([0-9]*\) turns = .*/\1/p')
        cpu=$(printf '%s\n' "$out" | sed -n 's/.*server CPU: \([0-9]*\) ms.*/\1/p')
        [ -n "$tps" ] && [ -n "$turns" ] && [ "$turns" -gt 0 ] || {
            tps=0; err="?"; pct="- -"; turns=1; cpu=0; }
        line="$tps $pct $((cpu * 1000 / turns)) $err"
        if [ -z "$best" ] || [ "$tps" -gt "${best%% *}" ]; then best=$line; fi
        i=$((i + 1))
    done
    echo "$best"
}

cell() { # "turns/s p50 p99 cpu errors" -> "  1234/s   12.3/34.5     678us"
    set -- $1
    printf '%6s/s %7s/%-7s %5sus ' "$1" "$2" "$3" "$4"
}

echo "== ccai-server on $(nproc) cores: turns/s, turn latency p50/p99 in ms, server CPU per turn"
echo "   webhook: $CALLS calls x $TURNS turns; LLM: $LLM_CALLS calls x $LLM_TURNS turns"
echo "   load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-20s %-31s %-31s %-31s %-31s\n' "" "1 worker" "2 workers, affinity" "2 workers" \
    "3 instances"
for store in sqlite postgresql; do
    pg=""
    [ "$store" = postgresql ] && pg="--postgresql on"
    for kind in webhook llm; do
        if [ "$kind" = webhook ]; then
            args="--twilio --calls $CALLS --turns $TURNS"
        else
            args="--twilio --llm --calls $LLM_CALLS --turns $LLM_TURNS"
        fi
        one=$(run $args $pg --workers 1)
        two=$(run $args $pg --workers 2 --sticky)
        free=$(run $args $pg --workers 2)
        three=$(run $args $pg --instances 3)
        printf '%-20s %s %s %s %s  errors %s/%s/%s/%s\n' "$kind, $store" "$(cell "$one")" \
            "$(cell "$two")" "$(cell "$free")" "$(cell "$three")" "${one##* }" "${two##* }" \
            "${free##* }" "${three##* }"
    done
done
echo "   load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
