#!/bin/sh
# Install the build into a temporary root, then build examples/embed-poll.c,
# examples/embed-libevent.c and examples/embed-channel.c out of tree against
# the installed ccai.pc and headers only, run them and check what they print
# (embed-channel also checks the stored call itself: its exit status). TAP
# output.
#   examples.sh SRCDIR BUILDDIR
# Run by meson test through sh: POSIX sh only.
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 SRCDIR BUILDDIR" >&2
    exit 2
fi
srcdir=$(cd "$1" && pwd)
builddir=$(cd "$2" && pwd)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ccai-examples.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

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
    if [ $# -gt 1 ] && [ -f "$2" ]; then
        sed 's/^/# /' "$2"
    fi
}
skip() {
    n=$((n + 1))
    echo "ok $n - $1 # SKIP $2"
}

# The compiler and sanitizers of the build: an ASan-built libccai needs
# ASan-built programs.
cc_cmd=${CC:-cc}
sanitize=none
if meson introspect "$builddir" --buildoptions >"$tmp/options.json" 2>/dev/null; then
    sanitize=$(python3 -c 'import json,sys
print(next((o["value"] for o in json.load(sys.stdin) if o["name"] == "b_sanitize"), "none"))' \
        <"$tmp/options.json" 2>/dev/null || echo none)
fi
# meson 1.0 has no "introspect --compilers": read the setup log.
log=$builddir/meson-logs/meson-log.txt
if [ -z "${CC:-}" ] && [ -r "$log" ]; then
    found=$(sed -n 's/^C compiler for the host machine: \([^(]*[^( ]\) (.*/\1/p' "$log" | head -n 1)
    if [ -n "$found" ]; then
        cc_cmd=$found
    fi
fi
san_flags=
if [ "$sanitize" != none ] && [ -n "$sanitize" ]; then
    san_flags="-fsanitize=$sanitize -fno-omit-frame-pointer"
fi
echo "# compiler: $cc_cmd $san_flags"

# 1. Install.
root=$tmp/root
if meson install -C "$builddir" --no-rebuild --destdir "$root" >"$tmp/install.log" 2>&1; then
    ok "meson install into a temporary root"
else
    not_ok "meson install into a temporary root" "$tmp/install.log"
    echo "1..$n"
    exit 1
fi

pc=$(find "$root" -name ccai.pc | head -n 1)
lib=$(find "$root" -name 'libccai.so.*' | head -n 1)
if [ -n "$pc" ] && [ -n "$lib" ]; then
    ok "ccai.pc and libccai.so installed"
else
    not_ok "ccai.pc and libccai.so installed (pc: '$pc', lib: '$lib')"
    echo "1..$n"
    exit 1
fi

# The .pc names the real prefix; the sysroot puts the temporary root in front.
ccai_pkg() {
    PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR=$root pkg-config "$@" ccai
}
if ccai_pkg --exists --print-errors 2>"$tmp/pkg-config.err"; then
    ok "pkg-config finds ccai $(ccai_pkg --modversion)"
else
    not_ok "pkg-config finds ccai" "$tmp/pkg-config.err"
    echo "1..$n"
    exit 1
fi
ccai_cflags=$(ccai_pkg --cflags)
ccai_libs=$(ccai_pkg --libs)
libdir=$(dirname "$lib")

# 2. Build and run each example.
run_example() {
    name=$1
    extra=$2
    src=$srcdir/examples/$name.c
    exe=$tmp/$name
    # shellcheck disable=SC2086 # word splitting of flag lists is intended
    if $cc_cmd -std=c11 -Wall -Wextra -Werror $san_flags $ccai_cflags "$src" -o "$exe" \
        $ccai_libs $extra >"$tmp/$name.build" 2>&1; then
        ok "$name compiles out of tree (-std=c11 -Wall -Wextra -Werror)"
    else
        not_ok "$name compiles out of tree" "$tmp/$name.build"
        return
    fi
    if (cd "$tmp" && TMPDIR=$tmp LD_LIBRARY_PATH=$libdir "$exe") >"$tmp/$name.out" \
        2>"$tmp/$name.err"; then
        ok "$name runs"
    else
        not_ok "$name runs (exit status $?)" "$tmp/$name.err"
        sed 's/^/# /' "$tmp/$name.out"
        return
    fi
    if grep -Eq '^state: (ended|done)$' "$tmp/$name.out"; then
        ok "$name: the call is ended"
    else
        not_ok "$name: the call is ended" "$tmp/$name.out"
    fi
    if grep '^json: ' "$tmp/$name.out" | grep -Fq 'Hello, my car was hit'; then
        ok "$name: the stored call holds the caller's words"
    else
        not_ok "$name: the stored call holds the caller's words" "$tmp/$name.out"
    fi
    if [ -s "$tmp/$name.err" ]; then
        sed 's/^/# stderr: /' "$tmp/$name.err"
    fi
}

run_example embed-poll ""
run_example embed-channel ""
if pkg-config --exists libevent; then
    run_example embed-libevent "$(pkg-config --cflags --libs libevent)"
else
    skip "embed-libevent" "libevent (pkg-config libevent) not found"
fi

echo "1..$n"
if [ "$failed" -ne 0 ]; then
    echo "# $failed of $n failed"
    exit 1
fi
exit 0
