#!/bin/sh
# The speech stand-ins and the media callers against the official SDKs.
#
#   tests/standins/run.sh STANDIN_SERVE [ACS_STREAM_OUT]
#
# STANDIN_SERVE is the built tests/standins/standin_serve program; the node
# tests (node --test, *.test.mjs) start it and drive it. ACS_STREAM_OUT
# (tests/standins/acs_stream_out.c) prints libccai's own ACS media messages
# and parses ACS's, for the SDK to judge. Exit 77 (skipped)
# when Node is not installed; CI installs it as a package, this script
# installs nothing but the pinned npm dependencies (npm ci) when
# node_modules is missing.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
serve=${1:?usage: run.sh STANDIN_SERVE}
serve=$(cd "$(dirname "$serve")" && pwd)/$(basename "$serve")
acs_out=${2:-}
if [ -n "$acs_out" ]; then
    acs_out=$(cd "$(dirname "$acs_out")" && pwd)/$(basename "$acs_out")
fi

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "1..0 # SKIP node/npm not installed"
    exit 77
fi
if [ ! -d "$here/node_modules/@deepgram/sdk" ] || [ ! -d "$here/node_modules/openai" ] ||
    [ ! -d "$here/node_modules/twilio" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --silent) >&2
fi

cd "$here"
STANDIN_SERVE="$serve" ACS_STREAM_OUT="$acs_out" exec node --test --test-concurrency=1 --test-timeout=60000 \
    deepgram.test.mjs openai.test.mjs elevenlabs.test.mjs azure.test.mjs twilio.test.mjs \
    acs.test.mjs
