#!/bin/sh
# The library exports exactly what the version script lists and what the
# header declares CCAI_EXPORT: three sets that must be the same.
#   symbols.sh SRCDIR LIBPATH
# Run by meson test through sh: POSIX sh, grep, sed, awk, sort, comm, nm.
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 SRCDIR LIBPATH" >&2
    exit 2
fi
srcdir=$1
lib=$2
map=$srcdir/libccai/libccai.map
header=$srcdir/include/ccai/ccai.h

for f in "$lib" "$map" "$header"; do
    if [ ! -r "$f" ]; then
        echo "not readable: $f" >&2
        exit 1
    fi
done
if ! command -v nm >/dev/null 2>&1; then
    echo "nm not found (binutils)" >&2
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ccai-symbols.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# 1. Dynamic symbols the library defines. Absolute symbols (A) are the
#    version nodes (CCAI_0.1); "@@CCAI_0.1" version suffixes are dropped.
nm -D --defined-only "$lib" |
    awk 'NF == 3 && $2 != "A" { print $3 }' |
    sed 's/@.*//' |
    grep -v -x -e '_init' -e '_fini' |
    LC_ALL=C sort -u >"$tmp/library" || true

# 2. Names in the global sections of every node of the version script.
sed -e 's:/\*.*\*/::g' -e 's/#.*//' "$map" |
    awk '
        /global:/ { inglobal = 1; sub(/.*global:/, "") }
        /local:/  { inglobal = 0 }
        /}/       { inglobal = 0 }
        inglobal {
            n = split($0, words, /[ \t;]+/)
            for (i = 1; i <= n; i++)
                if (words[i] != "")
                    print words[i]
        }' |
    LC_ALL=C sort -u >"$tmp/map"

# 3. Functions the header declares with CCAI_EXPORT: preprocessor lines and
#    comments removed, declarations cut at ';', the name before the '('.
grep -v '^[[:space:]]*#' "$header" |
    tr '\n' ' ' |
    sed 's:/\*[^*]*\*\+\([^/*][^*]*\*\+\)*/: :g' |
    tr ';' '\n' |
    grep 'CCAI_EXPORT' |
    sed -e 's/.*CCAI_EXPORT//' -e 's/(.*//' |
    awk '{ print $NF }' |
    tr -d '*' |
    LC_ALL=C sort -u >"$tmp/header"

status=0
report() {
    # report FILE_A FILE_B MESSAGE: names in A and not in B
    missing=$(LC_ALL=C comm -23 "$1" "$2")
    if [ -n "$missing" ]; then
        echo "$3:"
        echo "$missing" | sed 's/^/    /'
        status=1
    fi
}

lib_n=$(wc -l <"$tmp/library" | tr -d ' ')
map_n=$(wc -l <"$tmp/map" | tr -d ' ')
hdr_n=$(wc -l <"$tmp/header" | tr -d ' ')
echo "library exports $lib_n, libccai.map lists $map_n, ccai.h declares $hdr_n"

if [ "$lib_n" -eq 0 ] || [ "$hdr_n" -eq 0 ]; then
    echo "no symbols found: is $lib a shared library, $header the public header?"
    exit 1
fi

report "$tmp/library" "$tmp/map" "exported by the library, not in libccai.map"
report "$tmp/map" "$tmp/library" "in libccai.map, not exported by the library"
report "$tmp/header" "$tmp/map" "declared CCAI_EXPORT in ccai.h, not in libccai.map"
report "$tmp/map" "$tmp/header" "in libccai.map, not declared CCAI_EXPORT in ccai.h"
report "$tmp/library" "$tmp/header" "exported by the library, not declared in ccai.h"
report "$tmp/header" "$tmp/library" "declared in ccai.h, not exported by the library"

if [ "$status" -eq 0 ]; then
    echo "ok: the three sets are the same"
fi
exit "$status"
