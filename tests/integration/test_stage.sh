#!/bin/sh
# The container recipe's build steps, run here as its build stage runs them
# (no container engine runs in CI): scripts/stage.sh builds and installs
# into a staging root; the Containerfile's runtime packages cover what the
# staged programs link; the staged ccai-server starts as the Containerfile
# starts it (its ENTRYPOINT and CMD, its configuration, as a user that is
# not root when the test runs as root), its HEALTHCHECK command answers
# ready, and SIGTERM stops it with exit 0. TAP output.
#
# Usage: test_stage.sh SRCDIR
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 SRCDIR" >&2
    exit 64
fi
src=$(cd "$1" && pwd)
containerfile=$src/Containerfile
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ccai-stage.XXXXXX") || exit 1
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
chmod 0755 "$tmp"
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
    printf '%s\n' "$out" | tail -n 40 | while IFS= read -r line; do echo "# $line"; done
}
# The JSON array of the Containerfile line after KEYWORD (ENTRYPOINT, CMD,
# HEALTHCHECK's CMD), one element a line.
exec_form() {
    python3 - "$containerfile" "$1" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
for line in text.splitlines():
    if line.startswith(sys.argv[2] + " "):
        m = re.search(r"(\[.*\])\s*$", line)
        for arg in json.loads(m.group(1)):
            print(arg)
        break
PY
}

echo "1..7"

stage=$tmp/stage
out=$(sh "$src/scripts/stage.sh" "$stage" "$tmp/build" 2>&1)
rc=$?
prefix=/usr/local
root=$stage$prefix
if [ "$rc" -eq 0 ] && [ -x "$root/sbin/ccai-server" ] && [ -x "$root/bin/ccai-cli" ] &&
    [ -f "$root/lib/systemd/system/ccai-server.service" ] &&
    [ -f "$root/share/ccai/config.sample.yaml" ] && [ -f "$root/share/man/man8/ccai-server.8" ]; then
    ok "scripts/stage.sh builds and installs into the staging root"
else
    out="exit $rc: $out"
    not_ok "scripts/stage.sh builds and installs into the staging root"
    exit 1
fi
libdir=$(dirname "$(find "$root" -name 'libccai.so.*' -type f | head -n 1)")

# Every Debian package whose library the staged programs need directly is
# in the Containerfile's runtime list.
listed=$(sed -n '/^# runtime-packages:/,/^# end runtime-packages/p' "$containerfile" |
    grep -v -e '^#' -e 'apt-get' -e '&&' | sed 's/[\\]$//' | tr -s ' \t' '\n' | grep -v '^$')
needed=""
for f in "$root/sbin/ccai-server" "$root/bin/ccai-cli" "$libdir"/libccai.so.*; do
    for lib in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        case $lib in libccai.so.* | libc.so.* | libm.so.* | ld-linux*) continue ;; esac
        path=$(LD_LIBRARY_PATH=$libdir ldd "$f" | awk -v l="$lib" '$1 == l { print $3 }')
        pkg=$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | cut -d: -f1 | head -n 1)
        needed="$needed ${pkg:-?$lib}"
    done
done
# shellcheck disable=SC2086 # one package a word
needed=$(printf '%s\n' $needed | sort -u | tr '\n' ' ')
out=""
for p in $needed; do
    printf '%s\n' "$listed" | grep -qx "$p" || out="$out $p"
done
if [ -z "$out" ] && [ -n "$needed" ]; then
    ok "the Containerfile installs every library package the programs link ($needed)"
else
    out="not in the Containerfile's runtime-packages:$out (needed: $needed)"
    not_ok "the Containerfile installs every library package the programs link"
fi
out=""
for p in $listed; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        apt-cache show "$p" >/dev/null 2>&1 || out="$out $p"
done
if [ -z "$out" ]; then
    ok "each runtime package of the Containerfile is a Debian package"
else
    out="unknown:$out"
    not_ok "each runtime package of the Containerfile is a Debian package"
fi

# Start it as the container does: its command line, the sample copied to
# /etc/ccai/config.yaml, its environment (but a free port), as a user
# other than root.
mkdir -p "$tmp/etc/ccai" "$tmp/state"
cp "$root/share/ccai/config.sample.yaml" "$tmp/etc/ccai/config.yaml"
chmod 0644 "$tmp/etc/ccai/config.yaml"
run_as=""
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
    chown 65534:65534 "$tmp/state"
    chmod 0700 "$tmp/state"
    run_as="setpriv --reuid=65534 --regid=65534 --clear-groups --"
fi
set --
for a in $(exec_form ENTRYPOINT) $(exec_form CMD); do
    case $a in
    ccai-server) a=$root/sbin/ccai-server ;;
    /etc/ccai/config.yaml) a=$tmp/etc/ccai/config.yaml ;;
    esac
    set -- "$@" "$a"
done
: >"$tmp/server.out"
# shellcheck disable=SC2086 # $run_as is a command line or nothing
(cd "$tmp/state" && exec env LD_LIBRARY_PATH="$libdir" SERVER__LISTEN=127.0.0.1:0 \
    SERVER__API_TOKEN=stage-token DATABASE__SQLITE__PATH="$tmp/state/ccai.sqlite" \
    $run_as "$@") >"$tmp/server.out" 2>"$tmp/server.err" &
pid=$!
port=
tries=0
while [ -z "$port" ] && [ "$tries" -lt 100 ] && kill -0 "$pid" 2>/dev/null; do
    IFS= read -r port <"$tmp/server.out" || port=
    [ -n "$port" ] || { tries=$((tries + 1)); sleep 0.2; }
done
if [ -n "$port" ]; then
    ok "the staged ccai-server starts as the Containerfile starts it (${run_as:-as $(id -un)})"
else
    out=$(cat "$tmp/server.err")
    not_ok "the staged ccai-server starts as the Containerfile starts it"
    exit 1
fi

# The HEALTHCHECK command, with the staged ccai-cli and the free port.
set --
for a in $(exec_form HEALTHCHECK); do
    case $a in
    ccai-cli) a=$root/bin/ccai-cli ;;
    http://127.0.0.1:8080) a=http://127.0.0.1:$port ;;
    esac
    set -- "$@" "$a"
done
out=$(LD_LIBRARY_PATH=$libdir "$@" 2>&1)
rc=$?
if [ "$rc" -eq 0 ] && printf '%s\n' "$out" | grep -q "ready: ok"; then
    ok "the HEALTHCHECK command answers ready ($*)"
else
    out="exit $rc ($*): $out"
    not_ok "the HEALTHCHECK command answers ready"
fi
mode=$(stat -c '%a %u' "$tmp/state/ccai.sqlite" 2>/dev/null)
want="600 $(stat -c %u "$tmp/state")"
if [ "$mode" = "$want" ]; then
    ok "its database is 0600, owned by the user it runs as"
else
    out="mode and owner: $mode, expected $want"
    not_ok "its database is 0600, owned by the user it runs as"
fi
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=
if [ "$rc" -eq 0 ]; then
    ok "SIGTERM (the Containerfile's STOPSIGNAL) stops it with exit 0"
else
    out="exit $rc: $(tail -n 5 "$tmp/server.err")"
    not_ok "SIGTERM (the Containerfile's STOPSIGNAL) stops it with exit 0"
fi

if [ "$failed" -ne 0 ]; then
    echo "# $failed of $n failed"
    exit 1
fi
exit 0
