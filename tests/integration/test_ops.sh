#!/bin/sh
# Operations (issue 16), with the real programs: ccai-server --version; what
# ccai-cli does without a command and with global options after it; the
# modes of the files holding calls (database, -wal, -shm, exports) under a
# permissive umask; the post-call wait of ccai-cli chat; /metrics scraped
# from a running server (offline turns in the turn histogram, the model's
# name, ccai_build_info, process metrics). TAP output.
#
# Usage: test_ops.sh BUILDDIR
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILDDIR" >&2
    exit 64
fi
build=$(cd "$1" && pwd)
cli=$build/ccai-cli/ccai-cli
server=$build/ccai-server/ccai-server
standin=$build/tests/llm-standin
tmp=${TMPDIR:-/tmp}/ccai-ops.$$
pids=

# shellcheck disable=SC2317 # called by the trap
cleanup() {
    for p in $pids; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

mkdir "$tmp" || exit 1
cd "$tmp" || exit 1
unset CCAI_SERVER CCAI_TOKEN DATABASE__SQLITE__PATH
CONFIG_YAML=
no_proxy=127.0.0.1
NO_PROXY=127.0.0.1
export CONFIG_YAML no_proxy NO_PROXY
# A permissive umask: the modes checked below are the programs' own.
umask 022

n=0
failed=0
ok() {
    n=$((n + 1))
    echo "ok $n - $1"
}
not_ok() {
    n=$((n + 1))
    failed=$((failed + 1))
    echo "not ok $n - $1"
    printf '%s\n' "$out" | while IFS= read -r line; do echo "# $line"; done
}
# check DESCRIPTION EXPECTED_RC PATTERN: the last command's rc and output.
check() {
    if [ "$rc" -eq "$2" ] && printf '%s\n' "$out" | grep -q -- "$3"; then
        ok "$1"
    else
        out="exit $rc, expected $2 and /$3/: $out"
        not_ok "$1"
    fi
}
# mode FILE: its permission bits in octal ("600").
mode() {
    stat -c %a "$1" 2>/dev/null || echo "(no file)"
}
# start NAME COMMAND...: run it in the background, its first stdout line
# (the port) in $port; empty when it died or said nothing in 20 s.
start() {
    name=$1
    shift
    : >"$name.out"
    "$@" >"$name.out" 2>"$name.err" &
    last=$!
    pids="$pids $last"
    port=
    tries=0
    while [ -z "$port" ] && [ "$tries" -lt 100 ] && kill -0 "$last" 2>/dev/null; do
        IFS= read -r port <"$name.out" || port=
        [ -n "$port" ] || { tries=$((tries + 1)); sleep 0.2; }
    done
}
# scrape URL: GET URL/metrics with the token (python3: no curl program needed).
scrape() {
    python3 -c '
import sys, urllib.request
req = urllib.request.Request(sys.argv[1] + "/metrics", headers={"Authorization": "Bearer t"})
with urllib.request.urlopen(req, timeout=10) as r:
    sys.stdout.write(r.read().decode())
' "$1" 2>&1
}
# stop PID: SIGTERM, then wait for it.
stop() {
    kill "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    # shellcheck disable=SC2086 # one pid a word
    pids=$(printf '%s\n' $pids | grep -vx "$1" | tr '\n' ' ')
}

echo "1..17"

out=$("$server" --version 2>&1)
rc=$?
check "ccai-server --version prints its version and libccai's" 0 \
    "^ccai-server [0-9][0-9.]* (libccai [0-9][0-9.]*)$"

mkdir empty && cd empty || exit 1
out=$("$cli" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && [ ! -e ccai.sqlite ] && printf '%s\n' "$out" | grep -q "not created yet"; then
    ok "ccai-cli without a command does not create ./ccai.sqlite and says so"
else
    out="exit $rc; $(ls -a); $out"
    not_ok "ccai-cli without a command does not create ./ccai.sqlite and says so"
fi
cd "$tmp" || exit 1

printf 'database:\n  sqlite:\n    path: %s/opts.sqlite\n' "$tmp" >opts.yaml
out=$("$cli" calls --json --compact -c opts.yaml 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && [ "$out" = '{"total":0,"calls":[]}' ] && [ -e opts.sqlite ]; then
    ok "global options after the command: --compact and -c FILE apply"
else
    out="exit $rc: $out"
    not_ok "global options after the command: --compact and -c FILE apply"
fi
out=$("$cli" db --config=opts.yaml -v 2>&1)
rc=$?
check "--config=FILE and -v after the command" 0 "^database: $tmp/opts.sqlite"
out=$("$cli" calls --bogus 2>&1)
rc=$?
check "an option neither global nor the command's is still refused" 64 "unexpected argument '--bogus'"
out=$("$cli" db -- --compact 2>&1)
rc=$?
check "after --, a global option's name is an argument of the command" 64 "unexpected argument"

# The files holding calls: created 0600 whatever the umask.
start server env SERVER__LISTEN=127.0.0.1:0 SERVER__API_TOKEN=t \
    DATABASE__SQLITE__PATH="$tmp/calls.sqlite" "$server"
spid=$last
if [ -z "$port" ]; then
    out=$(cat server.err)
    not_ok "ccai-server starts"
    exit 1
fi
url=http://127.0.0.1:$port
out=$(printf 'hello\nmy car was hit yesterday evening\n/quit\n' |
    "$cli" --server "$url" --token t chat --lang en-US --script - 2>&1)
rc=$?
check "a chat through the server (offline dialogue)" 0 "incident"
out="calls.sqlite $(mode calls.sqlite), -wal $(mode calls.sqlite-wal), -shm $(mode calls.sqlite-shm)"
if [ "$out" = "calls.sqlite 600, -wal 600, -shm 600" ]; then
    ok "the database and its -wal and -shm files are 0600 (umask 022)"
else
    not_ok "the database and its -wal and -shm files are 0600 (umask 022)"
fi
out=$("$cli" --server "$url" --token t export --out calls.jsonl 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && [ "$(mode calls.jsonl)" = 600 ] && [ -s calls.jsonl ]; then
    ok "ccai-cli export --out writes its file 0600"
else
    out="exit $rc, mode $(mode calls.jsonl): $out"
    not_ok "ccai-cli export --out writes its file 0600"
fi

# /metrics of that server: the offline turns are in the turn histogram.
metrics=$(scrape "$url")
out=$metrics
offline=$(printf '%s\n' "$metrics" | sed -n 's/^ccai_turn_seconds_count{engine="offline"} //p')
if [ -n "$offline" ] && [ "$offline" -ge 2 ] &&
    printf '%s\n' "$metrics" | grep -q '^ccai_turn_seconds_bucket{engine="offline",le="+Inf"} '; then
    ok "offline turns are in ccai_turn_seconds ($offline)"
else
    not_ok "offline turns are in ccai_turn_seconds"
fi
version=$("$server" --version | sed -n 's/.*(libccai \(.*\))$/\1/p')
check_metric() {
    if printf '%s\n' "$metrics" | grep -q "$2"; then
        ok "$1"
    else
        out="/$2/ not in: $metrics"
        not_ok "$1"
    fi
}
check_metric "ccai_build_info names the version" "^ccai_build_info{version=\"$version\"} 1$"
rss=$(printf '%s\n' "$metrics" | sed -n 's/^process_resident_memory_bytes //p')
fds=$(printf '%s\n' "$metrics" | sed -n 's/^process_open_fds //p')
cpu=$(printf '%s\n' "$metrics" | sed -n 's/^process_cpu_seconds_total //p')
real_fds=$(($(find "/proc/$spid/fd" -mindepth 1 -maxdepth 1 | wc -l)))
out="rss=$rss fds=$fds (ls: $real_fds) cpu=$cpu; $(printf '%s\n' "$metrics" | grep '^# TYPE process_')"
# The server's RSS is megabytes; its fds within a few of what /proc lists
# (the scrape's connection comes and goes); CPU time is a counter.
if [ "${rss%%.*}" -gt 1000000 ] 2>/dev/null && [ "$fds" -ge 3 ] 2>/dev/null &&
    [ "$fds" -le $((real_fds + 3)) ] && [ "$fds" -ge $((real_fds - 3)) ] &&
    printf '%s\n' "$metrics" | grep -q '^# TYPE process_cpu_seconds_total counter$' &&
    [ -n "$cpu" ]; then
    ok "process metrics: resident memory, open fds, CPU seconds ($out)"
else
    not_ok "process metrics: resident memory, open fds, CPU seconds"
fi
stop "$spid"

# An LLM (the OpenAI-compatible stand-in, slow to answer): the model's
# name as a label value; the post-call wait of a local chat is shown.
start standin "$standin" --ttft-ms 1500
stpid=$last
llm="LLM__FAST__MODE=openai_compatible LLM__FAST__ENDPOINT=http://127.0.0.1:${port:-1}/v1"
# shellcheck disable=SC2086 # $llm is two assignments
start server2 env $llm LLM__FAST__MODEL=ops-model-7 SERVER__LISTEN=127.0.0.1:0 \
    SERVER__API_TOKEN=t DATABASE__SQLITE__PATH="$tmp/llm.sqlite" "$server"
s2pid=$last
url=http://127.0.0.1:${port:-1}
printf 'hello\n/quit\n' | "$cli" --server "$url" --token t chat --lang en-US --script - \
    >/dev/null 2>&1
metrics=$(scrape "$url")
check_metric "the first-token histogram names the tier and the model" \
    '^ccai_llm_first_token_seconds_count{tier="fast",model="ops-model-7"} [1-9]'
stop "$s2pid"

# shellcheck disable=SC2086 # $llm is two assignments
out=$(printf 'hello\n/quit\n' | env $llm LLM__FAST__MODEL=m \
    DATABASE__SQLITE__PATH="$tmp/chat.sqlite" "$cli" chat --lang en-US --script - 2>&1 >/dev/null)
rc=$?
check "ccai-cli chat says it waits for the post-call report, with the time elapsed" 0 \
    "^waiting for the post-call report (summary, next action): [0-9]* s$"
check "... and when the wait ended" 0 "^post-call report done after [0-9]* s$"
stop "$stpid"

# make run's language: the user's locale as a configured language.
runlang=${CCAI_TEST_SRCDIR:-$build/..}/scripts/run-lang.sh
out=""
for case in "fr_CA.UTF-8::fr-FR" "es_MX::es-ES" "en_GB.UTF-8::en-US" "de_DE.UTF-8::en-US" \
    "C.UTF-8::en-US" "::en-US"; do
    got=$(env -u LC_ALL -u LC_MESSAGES LANG="${case%%::*}" sh "$runlang" "$cli")
    [ "$got" = "${case##*::}" ] || out="$out LANG=${case%%::*}: $got, expected ${case##*::};"
done
got=$(LC_ALL=zh_CN.UTF-8 LANG=fr_FR.UTF-8 sh "$runlang" "$cli" 2>/dev/null)
[ "$got" = zh-CN ] || out="$out LC_ALL=zh_CN over LANG=fr_FR: $got;"
if [ -z "$out" ]; then
    ok "make run's language follows the locale (LC_ALL, LANG) among the configured ones"
else
    not_ok "make run's language follows the locale (LC_ALL, LANG) among the configured ones"
fi
out=$("$cli" --compact config 2>&1)
rc=$?
check "the service's default language stays fr-FR" 0 '"default_short_code": *"fr-FR"'

if [ "$failed" -ne 0 ]; then
    echo "# $failed of $n failed"
    exit 1
fi
exit 0
