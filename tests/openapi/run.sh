#!/bin/sh
# Every route of the real ccai-server against its OpenAPI document.
#
#   tests/openapi/run.sh RECORD SERVER_BIN SRCDIR [OUTDIR]
#
# RECORD (the built tests/openapi/record) starts ccai-server (SERVER_BIN)
# with the Twilio, ACS and LLM stand-ins, calls every route and writes the
# exchanges and the served document to OUTDIR (default: a new temporary
# directory); validate.mjs checks them against the document with a real
# OpenAPI validator (swagger-parser, openapi-backend). Exit 77 (skipped)
# when Node is not installed; CI installs it as a package, this script
# installs nothing but the pinned npm dependencies (npm ci) when
# node_modules is missing.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
record=${1:?usage: run.sh RECORD SERVER_BIN SRCDIR [OUTDIR]}
server=${2:?usage: run.sh RECORD SERVER_BIN SRCDIR [OUTDIR]}
src=${3:?usage: run.sh RECORD SERVER_BIN SRCDIR [OUTDIR]}
out=${4:-$(mktemp -d "${TMPDIR:-/tmp}/ccai-openapi.XXXXXX")}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "1..0 # SKIP node/npm not installed"
    exit 77
fi
if [ ! -d "$here/node_modules/openapi-backend" ] ||
    [ ! -d "$here/node_modules/@apidevtools/swagger-parser" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --silent) >&2
fi

mkdir -p "$out"
"$record" "$server" "$out"
node "$here/validate.mjs" "$out/openapi.json" "$out/exchanges.json" "$src"
