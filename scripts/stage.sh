#!/bin/sh
# Build libccai and install it into a staging root: the build steps of the
# Containerfile, run as they are by its build stage and by the test
# tests/integration/stage.sh (no container engine runs in CI).
#
#   scripts/stage.sh STAGEDIR [BUILDDIR]
#
#   1. the Debian packages `make deps` installs (as root, when missing;
#      otherwise it lists what is missing and the build stops);
#   2. meson setup BUILDDIR (default: build-stage) for PREFIX (default
#      /usr/local), release, without tests and benchmarks, warnings as errors;
#   3. meson compile;
#   4. meson install --destdir STAGEDIR.
# STAGEDIR then holds PREFIX/sbin/ccai-server, PREFIX/bin/ccai-cli, the
# library, the man pages, the systemd unit and the sample configuration.
# Variables: PREFIX, BUILDTYPE (release), MESON_ARGS (more setup options).
set -eu

stage=${1:?usage: stage.sh STAGEDIR [BUILDDIR]}
src=$(cd "$(dirname "$0")/.." && pwd)
build=${2:-$src/build-stage}
prefix=${PREFIX:-/usr/local}
buildtype=${BUILDTYPE:-release}

echo "+ make -C $src deps"
deps=$(make -s -C "$src" deps 2>&1) || {
    printf '%s\n' "$deps" >&2
    exit 1
}
printf '%s\n' "$deps"
missing=$(printf '%s\n' "$deps" | sed -n 's/^deps: missing Debian packages://p')
if [ -n "$missing" ]; then
    echo "stage: missing Debian packages:$missing" >&2
    exit 1
fi
if [ ! -f "$build/build.ninja" ]; then
    echo "+ meson setup $build --prefix=$prefix --buildtype=$buildtype"
    # shellcheck disable=SC2086 # MESON_ARGS is a list of options
    meson setup "$build" "$src" --prefix="$prefix" --buildtype="$buildtype" \
        -Dtests=false -Dbench=false -Dwerror=true ${MESON_ARGS:-}
fi
echo "+ meson compile -C $build"
meson compile -C "$build"
echo "+ meson install -C $build --destdir $stage"
meson install -C "$build" --destdir "$stage" --no-rebuild --quiet
echo "stage: $stage$prefix"
