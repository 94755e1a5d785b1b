#!/bin/sh
# ccai-cli as the API client, against a real ccai-server: exit codes and
# messages scripts rely on. TAP output.
#
# Usage: test_cli_client.sh BUILDDIR
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILDDIR" >&2
    exit 64
fi
build=$1
cli=$build/ccai-cli/ccai-cli
server=$build/ccai-server/ccai-server
tmp=${TMPDIR:-/tmp}/ccai-cli-client.$$
pid=

# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

mkdir "$tmp" || exit 1
cd "$tmp" || exit 1
# Only what the script sets: no inherited server, token, configuration or proxy.
unset CCAI_SERVER CCAI_TOKEN CONFIG_YAML
no_proxy=127.0.0.1
NO_PROXY=127.0.0.1
export no_proxy NO_PROXY

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

echo "1..13"

: >"$tmp/server.out"
SERVER__LISTEN=127.0.0.1:0 SERVER__API_TOKEN=t DATABASE__SQLITE__PATH="$tmp/ccai.sqlite" \
    CONFIG_YAML="" "$server" >"$tmp/server.out" 2>"$tmp/server.err" &
pid=$!
port=
tries=0
while [ -z "$port" ] && [ "$tries" -lt 100 ]; do
    if ! kill -0 "$pid" 2>/dev/null; then
        break
    fi
    IFS= read -r port <"$tmp/server.out" || port=
    if [ -z "$port" ]; then
        tries=$((tries + 1))
        sleep 1
    fi
done
if [ -z "$port" ]; then
    out=$(grep -v '^$' "$tmp/server.err")
    not_ok "ccai-server starts and prints its port"
    exit 1
fi
ok "ccai-server listens on port $port"
url=http://127.0.0.1:$port

out=$("$cli" --server "$url" --token t health 2>&1)
rc=$?
check "health exits 0 when the server is ready" 0 "ready: ok"

out=$(CCAI_SERVER=$url CCAI_TOKEN=t "$cli" --compact calls --json 2>&1)
rc=$?
check "calls --json prints the empty list (CCAI_SERVER, CCAI_TOKEN)" 0 '^{"total":0,'

out=$("$cli" --server "$url" --token t calls 2>&1)
rc=$?
check "calls prints a table, here empty" 0 "^no calls$"

out=$("$cli" --server "$url" --token t show +33612345678 2>&1)
rc=$?
check "show of an unknown number exits 1 with the server's message" 1 \
    "^ccai-cli: HTTP 404: call not found"

out=$("$cli" --server "$url" --token wrong calls 2>&1)
rc=$?
check "a wrong token exits 1 with HTTP 401" 1 "^ccai-cli: HTTP 401: "

out=$("$cli" --server "$url" --token t place +33612345678 --field foo:text 2>&1)
rc=$?
check "place without telephony exits 1 with the 400 message" 1 \
    "^ccai-cli: HTTP 400: no telephony provider configured"

out=$("$cli" --server "$url" --token t place +33612345678 --field foo:number 2>&1)
rc=$?
check "place with an invalid --field type is a usage error" 64 "the type must be"

out=$(printf 'yesterday at 9 pm\n/quit\n' |
    "$cli" --server "$url" --token t chat --lang en-US --script - 2>&1)
rc=$?
check "chat --server talks to the bot over HTTP and shows the claim" 0 "incident_datetime"

out=$(printf '/quit\n' |
    "$cli" --server "$url" --token t chat --lang 'en-US"},"bot_name":"X' --script - 2>&1)
rc=$?
check "chat --server with a lang that is not one exits 1 with the 400 message" 1 \
    "^ccai-cli: HTTP 400: invalid body (lang: "

out=$(SERVER__LISTEN=0.0.0.0:8080 SERVER__API_TOKEN='' "$cli" config 2>&1)
rc=$?
check "config refuses an empty token and a non-loopback listen without one" 2 \
    "server.api_token: is empty"

out=$("$cli" --server "127.0.0.1:$port" health 2>&1)
rc=$?
check "a server URL without http:// is invalid configuration" 2 "must be an http"

kill "$pid"
wait "$pid"
pid=
out=$("$cli" --server "$url" --token t calls 2>&1)
rc=$?
check "a stopped server exits 3 with curl's message" 3 "^ccai-cli: cannot reach $url: "

if [ "$failed" -ne 0 ]; then
    echo "# $failed of $n failed"
    exit 1
fi
exit 0
