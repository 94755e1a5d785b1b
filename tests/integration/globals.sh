#!/bin/sh
# libccai's process-wide state is what include/ccai/ccai.h ("Process-wide
# state") and docs/threading.md say it is, and nothing else: the writable
# data objects of the built library (.data, .bss and their thread-local
# twins) are exactly the ones listed here.
#   globals.sh LIBPATH
# Run by meson test through sh: POSIX sh, awk, sort, comm, objdump.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 LIBPATH" >&2
    exit 2
fi
lib=$1
if ! command -v objdump >/dev/null 2>&1; then
    echo "objdump not found (binutils)" >&2
    exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ccai-globals.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

# The state the header promises, by the name of its variable:
#   allocator                        core/alloc.c: ccai_set_allocator()
#   json_routed json_saved_malloc    core/alloc.c: jansson's hooks, replaced
#   json_saved_free                  only with CCAI_ALLOCATOR_JSON
#   global_lock host_refs            io/http.c: libcurl's global init
#   init_once voices                 speech/flite.c: flite, its voices
#   log_once                         speech/sphinx.c: pocketsphinx's log
#   g_lookups g_lookups_lock         store/pg_resolve.c: the host names'
#   g_nlookups                       lookups in flight
cat >"$tmp/promised" <<EOF
allocator
g_lookups
g_lookups_lock
g_nlookups
global_lock
host_refs
init_once
json_routed
json_saved_free
json_saved_malloc
log_once
voices
EOF

# Objects (O) in writable data sections, without the toolchain's own
# (crtstuff's completed.0, __dso_handle, __TMC_END__, the sanitizers'
# __asan_* / __ubsan_* and their .L locals).
objdump -t "$lib" |
    awk '$3 == "O" && $4 ~ /^\.(data|bss|tdata|tbss)$/ { print $NF }
         $2 == "O" && $3 ~ /^\.(data|bss|tdata|tbss)$/ { print $NF }' |
    grep -v -e '^__' -e '^completed\.' -e '^\.L' |
    LC_ALL=C sort -u >"$tmp/found"

# The offline speech engines are built only when their libraries are found
# (meson.build): a build without one has no state of it to promise.
for optional in init_once voices log_once; do
    if ! grep -qx "$optional" "$tmp/found"; then
        grep -vx "$optional" "$tmp/promised" >"$tmp/promised.new" || true
        mv "$tmp/promised.new" "$tmp/promised"
    fi
done

if ! cmp -s "$tmp/promised" "$tmp/found"; then
    echo "libccai's writable globals differ from its promised process-wide state:" >&2
    echo "  only in the library (new global state? say so in ccai.h and here):" >&2
    LC_ALL=C comm -13 "$tmp/promised" "$tmp/found" | sed 's/^/    /' >&2
    echo "  only promised (gone? update ccai.h, docs/threading.md and here):" >&2
    LC_ALL=C comm -23 "$tmp/promised" "$tmp/found" | sed 's/^/    /' >&2
    exit 1
fi
echo "libccai: $(wc -l <"$tmp/found") writable globals, all of them promised"
