#!/bin/sh
# The systemd unit as meson writes it for the /usr and the /usr/local
# prefixes: its paths follow the prefix, `systemd-analyze verify` accepts
# it, and `systemd-analyze security --offline=yes` scores its exposure
# (printed; more than MAX_EXPOSURE fails). Each prefix is configured in a
# scratch build directory (meson setup only: configure_file runs there);
# verify runs in a root holding the host's system units, the built
# ccai-server at the prefix's sbin and the unit, so that nothing is
# installed on this machine. TAP output; exit 77 (skipped) without
# systemd-analyze (Debian: the systemd package).
#
# Usage: systemd_unit.sh SRCDIR CCAI_SERVER
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 SRCDIR CCAI_SERVER" >&2
    exit 64
fi
src=$1
server=$2
MAX_EXPOSURE=1.5
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "1..0 # SKIP systemd-analyze is not installed (Debian: systemd)"
    exit 77
fi
units=
for d in /usr/lib/systemd/system /lib/systemd/system; do
    if [ -f "$d/sysinit.target" ]; then
        units=$d
        break
    fi
done
if [ -z "$units" ]; then
    echo "1..0 # SKIP no systemd unit directory (sysinit.target) on this machine"
    exit 77
fi
tmp=${TMPDIR:-/tmp}/ccai-unit.$$
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
mkdir "$tmp" || exit 1

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

echo "1..8"
for prefix in /usr /usr/local; do
    name=$(echo "$prefix" | tr / _)
    build=$tmp/build$name
    root=$tmp/root$name
    etc=$prefix/etc
    [ "$prefix" = /usr ] && etc=/etc
    out=$(meson setup "$build" "$src" --prefix="$prefix" -Dtests=false -Dbench=false 2>&1)
    unit=$build/ccai-server/ccai-server.service
    if [ ! -f "$unit" ]; then
        not_ok "meson setup --prefix=$prefix writes the unit"
        continue
    fi
    out=$(grep -E '^(ExecStart|EnvironmentFile)=' "$unit")
    if printf '%s\n' "$out" | grep -qx "ExecStart=$prefix/sbin/ccai-server --config $etc/ccai/config.yaml" &&
        printf '%s\n' "$out" | grep -qx "EnvironmentFile=-$etc/ccai/secrets.env"; then
        ok "prefix $prefix: ExecStart=$prefix/sbin/ccai-server, configuration in $etc/ccai"
    else
        not_ok "prefix $prefix: ExecStart=$prefix/sbin/ccai-server, configuration in $etc/ccai"
    fi
    mkdir -p "$root/usr/lib/systemd/system" "$root$prefix/sbin" "$root$prefix/lib/systemd/system"
    cp -R "$units/." "$root/usr/lib/systemd/system/"
    cp "$server" "$root$prefix/sbin/ccai-server"
    cp "$unit" "$root$prefix/lib/systemd/system/ccai-server.service"
    out=$(systemd-analyze verify --man=no --root="$root" \
        "$prefix/lib/systemd/system/ccai-server.service" 2>&1)
    rc=$?
    if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
        ok "prefix $prefix: systemd-analyze verify passes, silent"
    else
        out="exit $rc: $out"
        not_ok "prefix $prefix: systemd-analyze verify passes, silent"
    fi
    # Without the binary, verify must fail: it checks what it is given.
    rm "$root$prefix/sbin/ccai-server"
    out=$(systemd-analyze verify --man=no --root="$root" \
        "$prefix/lib/systemd/system/ccai-server.service" 2>&1)
    rc=$?
    if [ "$rc" -ne 0 ] && printf '%s\n' "$out" | grep -q "$prefix/sbin/ccai-server"; then
        ok "prefix $prefix: verify fails when ExecStart's program is missing"
    else
        out="exit $rc: $out"
        not_ok "prefix $prefix: verify fails when ExecStart's program is missing"
    fi
    out=$(systemd-analyze security --offline=yes --root="$root" ccai-server.service 2>&1)
    score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for ccai-server.service: \([0-9.]*\) .*/\1/p')
    printf '%s\n' "$out" | grep -E '^(✗|→)' | sed 's/^/# /'
    if [ -n "$score" ] && awk -v s="$score" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(s <= m) }'; then
        ok "prefix $prefix: systemd-analyze security exposure $score (at most $MAX_EXPOSURE)"
    else
        not_ok "prefix $prefix: systemd-analyze security exposure '$score' (at most $MAX_EXPOSURE)"
    fi
done

if [ "$failed" -ne 0 ]; then
    echo "# $failed of $n failed"
    exit 1
fi
exit 0
