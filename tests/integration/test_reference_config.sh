#!/bin/sh
# The reference's (call-center-ai) configuration through the real programs:
# ccai-cli and ccai-server load its config.yaml as it is, and a file with
# problems of every kind gets them all in one report (exit 2). TAP output.
#
# Usage: test_reference_config.sh BUILDDIR SRCDIR
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILDDIR SRCDIR" >&2
    exit 64
fi
build=$1
src=$2
cli=$build/ccai-cli/ccai-cli
server=$build/ccai-server/ccai-server
tmp=${TMPDIR:-/tmp}/ccai-reference-config.$$

pid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    [ -z "$pid" ] || kill "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
mkdir "$tmp" || exit 1
cd "$tmp" || exit 1
unset CCAI_SERVER CCAI_TOKEN CONFIG_YAML CONFIG_JSON
no_proxy=127.0.0.1
NO_PROXY=127.0.0.1
export no_proxy NO_PROXY

n=0
failed=0
check() { # name, expected exit code, then fixed strings the output must hold
    name=$1
    want=$2
    shift 2
    n=$((n + 1))
    bad=""
    [ "$rc" -eq "$want" ] || bad="exit $rc, not $want"
    for s in "$@"; do
        printf '%s' "$out" | grep -qF -- "$s" || bad="$bad; lacks: $s"
    done
    if [ -z "$bad" ]; then
        echo "ok $n - $name"
    else
        echo "not ok $n - $name: $bad"
        printf '%s\n' "$out" | sed 's/^/# /'
        failed=$((failed + 1))
    fi
}

out=$("$cli" --config "$src/tests/data/reference/config-v9-readme.yaml" config 2>&1)
rc=$?
check "ccai-cli loads the reference's v9 README config" 0 \
    '"deployment": "gpt-4o-mini-2024-07-18"' \
    '"cognitive_services_endpoint": "https://ccaitest.cognitiveservices.azure.com"' \
    'communication_services.call_queue_name: ignored: libccai takes Event Grid'

out=$(CONFIG_JSON='{"llm": {"fast": {"mode": "azure_openai", "azure_openai": {"endpoint": "https://j.openai.azure.com", "deployment": "d", "streaming": true}}}}' \
    "$cli" config 2>&1)
rc=$?
check "ccai-cli reads the reference's CONFIG_JSON" 0 '"endpoint": "https://j.openai.azure.com"'

cat >bad.yaml <<'YAML'
conversation:
  initiate:
    bot_nmae: Robert
llm:
  fast:
    mode: azure_openai
    azure_openai:
      deployment: gpt-4o-mini
      streaming: maybe
    auth: api_key
YAML
out=$(CONVERSATION__ANSWER_SOFT_TIMEOUT_SEC=soon "$server" --config bad.yaml 2>&1)
rc=$?
check "ccai-server reports every problem in one pass" 2 \
    'bad.yaml:3:5: conversation.initiate.bot_nmae: unknown key' \
    'bad.yaml:9:18: llm.fast.azure_openai.streaming: expected a boolean' \
    '<env>:0:0: conversation.answer_soft_timeout_sec: expected an integer' \
    'llm.fast.endpoint: required when llm.fast.mode is azure_openai' \
    'llm.fast.api_key: required when llm.fast.auth is api_key'

out=$(CONVERSATION__ANSWER_SOFT_TIMEOUT_SEC=soon "$cli" --config bad.yaml config 2>&1)
rc=$?
check "ccai-cli reports every problem in one pass" 2 \
    'conversation.initiate.bot_nmae: unknown key' \
    'llm.fast.azure_openai.streaming: expected a boolean' \
    'conversation.answer_soft_timeout_sec: expected an integer' \
    'llm.fast.api_key: required when llm.fast.auth is api_key'

# start_server ENV...: a ccai-server on a free port (its URL in $url).
start_server() {
    : >server.out
    env "$@" SERVER__LISTEN=127.0.0.1:0 SERVER__API_TOKEN=t \
        DATABASE__SQLITE__PATH="$tmp/ccai.sqlite" "$server" >server.out 2>server.err &
    pid=$!
    port=
    tries=0
    while [ -z "$port" ] && [ "$tries" -lt 100 ] && kill -0 "$pid" 2>/dev/null; do
        IFS= read -r port <server.out || port=
        [ -n "$port" ] || { tries=$((tries + 1)); sleep 0.2; }
    done
    url=http://127.0.0.1:$port
}
stop_server() {
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
# get PATH: status and body of a GET with the token, in $out and $rc.
get() {
    out=$(curl -s -H 'Authorization: Bearer t' -w '\n%{http_code}' "$url$1")
    rc=0
}

start_server SERVER__API_STYLE=call-center-ai
get /call
check "call-center-ai style: GET /call with no call is 404 with the error envelope" 0 \
    '{"error":{"message":"no call found"' '404'
get /health/liveness
check "call-center-ai style: liveness answers null" 0 'null
200'
out=$(curl -s -H 'Authorization: Bearer t' -H 'Content-Type: application/json' \
    -d '{"phone_number": "+33611112222"}' -w '\n%{http_code}' "$url/chat")
rc=0
check "a call is made (POST /chat)" 0 '"call_id":' '200'
get /call
check "call-center-ai style: GET /call is a bare array of calls" 0 '[{' '"+33611112222"' '200'
get '/call?phone_number=%2B33699999999'
check "call-center-ai style: no call of that number is 404" 0 '404'
get /report/+33611112222
check "/report/{phone_number} lists that number's calls" 0 '+33611112222' '200'
stop_server

start_server
get /call
check "libccai style (default): GET /call is an object" 0 '"total":1,"calls":[{' '200'
get '/call?phone_number=%2B33699999999'
check "libccai style: an empty list is 200" 0 '"calls":[]' '200'
get /health/liveness
check "libccai style: liveness is a status object" 0 '{"status":"ok"}'
get /report/+33611112222
check "/report/{phone_number} in libccai style too" 0 '+33611112222' '200'
stop_server

# ccai-cli import: an export of the reference's calls, twice.
out=$(DATABASE__SQLITE__PATH="$tmp/import.sqlite" "$cli" import \
    "$src/tests/data/reference/calls-export.json" 2>&1)
rc=$?
check "ccai-cli import stores the good calls and names the bad records (exit 1)" 1 \
    '2 imported, 0 unchanged, 2 failed' 'record 2 (not-a-uuid): call_id: expected a UUID' \
    'record 4 (11111111-2222-4333-8444-555555555555): messages[0].persona'
out=$(DATABASE__SQLITE__PATH="$tmp/import.sqlite" "$cli" import \
    "$src/tests/data/reference/calls-export.json" 2>&1)
rc=$?
check "ccai-cli import a second time changes nothing" 1 '0 imported, 2 unchanged, 2 failed'
out=$(DATABASE__SQLITE__PATH="$tmp/import.sqlite" "$cli" calls 2>&1)
rc=$?
check "the imported calls are listed" 0 '+33699887766' '+14155550100'

# The reference's v9 SQLite database as its config.yaml names it.
if command -v sqlite3 >/dev/null 2>&1; then
    sqlite3 .ccaitest-v3.sqlite "CREATE TABLE calls (id VARCHAR(36) PRIMARY KEY, data TEXT);
INSERT INTO calls VALUES ('44444444-5555-4666-8777-888888888888', '{\"call_id\": \"44444444-5555-4666-8777-888888888888\", \"created_at\": \"2024-06-01T10:00:00Z\", \"initiate\": {\"phone_number\": \"+33655555555\", \"bot_name\": \"Robert\"}, \"claim\": {\"policy_number\": \"B01371946\"}, \"messages\": [{\"created_at\": \"2024-06-01T10:00:01Z\", \"action\": \"call\", \"content\": \"\", \"persona\": \"human\", \"style\": \"none\"}]}');
INSERT INTO calls VALUES ('bad', 'not json');"
    out=$(DATABASE__SQLITE__PATH="$tmp/v9.sqlite" "$cli" \
        --config "$src/tests/data/reference/config-v9-readme.yaml" import 2>&1)
    rc=$?
    check "ccai-cli import reads the v9 database the reference's config names" 1 \
        '1 imported, 0 unchanged, 1 failed' 'record 2: not JSON'
    out=$(DATABASE__SQLITE__PATH="$tmp/v9.sqlite" "$cli" show \
        44444444-5555-4666-8777-888888888888 2>&1)
    rc=$?
    check "the v9 call is there with its claim" 0 'B01371946'
fi

echo "1..$n"
[ "$failed" -eq 0 ]
