#!/bin/sh
# Headless Chromium check of the report pages rendered from sample calls.
#
#   tests/browser/run.sh RENDER_SAMPLE [OUTDIR]
#
# RENDER_SAMPLE is the built tests/browser/render_sample program; OUTDIR
# (default: a new temporary directory) receives the pages and, under
# screenshots/, the PNGs. Exit 77 (skipped) when Chromium or Node is not
# installed; CI installs them as packages, this script installs nothing but
# the pinned npm dependencies (npm ci) when node_modules is missing.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
render=${1:?usage: run.sh RENDER_SAMPLE [OUTDIR]}
out=${2:-$(mktemp -d "${TMPDIR:-/tmp}/ccai-browser.XXXXXX")}
chromium=${CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$chromium" ]; then
    echo "1..0 # SKIP $chromium not installed"
    exit 77
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "1..0 # SKIP node/npm not installed"
    exit 77
fi
if [ ! -d "$here/node_modules/playwright-core" ]; then
    (cd "$here" && npm ci --no-audit --no-fund --silent) >&2
fi

mkdir -p "$out/screenshots"
"$render" "$out" "$here/sample-call.json" "$here/real-call.json"

url="file://$out"
cat >"$out/spec.json" <<SPEC
[
  {"name": "call", "url": "$url/call-0.html",
   "expect": ["+33 6 12 34 56 78", "CALL REPORT", "Summary: your dented car",
              "My car was hit last night in Lyon. <script>alert(1)</script>",
              "updated_claim", "Updated 2 fields.", "Satisfaction: High", "Requires expertise",
              "Overdue", "Jane \"JD\" Doe", "Rear-ended at a red light; the bumper <and> the boot",
              {"selector": "time[datetime='2024-10-07T21:30:00Z']"},
              {"selector": "a[href='mailto:jane.doe@example.com']"},
              {"selector": "a[href='tel:+33612345678']"},
              {"selector": "li.msg", "count": 7},
              {"selector": "li.overdue", "count": 1},
              {"selector": ".md strong"}, {"selector": ".md ul li", "count": 2},
              {"selector": "audio[preload='none']"}],
   "forbid": [{"selector": "script"}, {"selector": "img"}, {"selector": "link[rel='stylesheet']"}]},
  {"name": "call-real", "url": "$url/call-1.html",
   "expect": ["Am\u00e9lie (Contoso)", "In Lyon", "Summary: your request", "Satisfaction: Unknown",
              "My car was hit last night", "Requires expertise",
              {"selector": "li.msg.human"}, {"selector": "li.msg.assistant"}],
   "forbid": [{"selector": "script"}, {"selector": "audio"}]},
  {"name": "list", "url": "$url/list.html",
   "expect": ["Calls", "Showing 1\u20132 of 42 calls (2 shown)", "Older \u2192", "7 / 12 fields",
              "2 / 12 fields", {"selector": "form[method='get'] input[name='phone_number']"},
              {"selector": "a[href*='offset=2']"}, {"selector": "table.list tbody tr", "count": 2}],
   "forbid": [{"selector": "script"}, "Newer"]},
  {"name": "error", "url": "$url/error.html",
   "expect": ["404 Not Found", "No call with this id."], "forbid": [{"selector": "script"}]}
]
SPEC

node "$here/report-check.mjs" "$out/spec.json" "$out/screenshots"
echo "pages and screenshots in $out"
