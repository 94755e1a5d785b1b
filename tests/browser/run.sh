#!/bin/sh
# Headless Chromium check of the report pages rendered from sample calls.
#
#   tests/browser/run.sh RENDER_SAMPLE [OUTDIR [CCAI_SERVER CCAI_CLI]]
#
# RENDER_SAMPLE is the built tests/browser/render_sample program; OUTDIR
# (default: a new temporary directory) receives the pages and, under
# screenshots/, the PNGs. With CCAI_SERVER and CCAI_CLI, the pages are also
# checked as ccai-server serves them: a French call made through it
# (ccai-cli chat; its page in French), its list with the token, and its shared per-call link
# (?key=) as the person it was sent to opens it: every link on it opens
# (no "All calls" into a 401), the time zone form works with the key. Exit 77 (skipped) when Chromium or Node is not
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

server=${3:-}
cli=${4:-}
served=
pid=
# shellcheck disable=SC2317 # called by the trap
stop_server() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        pid=
    fi
}
trap stop_server EXIT
trap 'exit 1' HUP INT TERM
if [ -n "$server" ] && [ -n "$cli" ]; then
    : >"$out/server.out"
    rm -f "$out/served.sqlite"*
    (unset CCAI_SERVER CCAI_TOKEN
        exec env CONFIG_YAML= SERVER__LISTEN=127.0.0.1:0 SERVER__API_TOKEN=browser-token \
            DATABASE__SQLITE__PATH="$out/served.sqlite" "$server") \
        >"$out/server.out" 2>"$out/server.err" &
    pid=$!
    port=
    tries=0
    while [ -z "$port" ] && [ "$tries" -lt 100 ] && kill -0 "$pid" 2>/dev/null; do
        IFS= read -r port <"$out/server.out" || port=
        [ -n "$port" ] || { tries=$((tries + 1)); sleep 0.2; }
    done
    if [ -z "$port" ]; then
        echo "not ok - ccai-server did not start:" >&2
        cat "$out/server.err" >&2
        exit 1
    fi
    base=http://127.0.0.1:$port
    printf "Bonjour, ma voiture a \303\251t\303\251 heurt\303\251e hier soir \303\240 Lyon\n/quit\n" |
        NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 "$cli" --server "$base" --token browser-token \
            chat --lang fr-FR --script - >"$out/chat.out" 2>&1 || {
        echo "not ok - ccai-cli chat through the server failed:" >&2
        cat "$out/chat.out" >&2
        exit 1
    }
    id=$(NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 "$cli" --server "$base" --token browser-token \
        --compact calls --json | sed -n 's/.*"call_id":"\([^"]*\)".*/\1/p')
    shared=$(NO_PROXY=127.0.0.1 no_proxy=127.0.0.1 "$cli" --server "$base" --token browser-token \
        --compact show "$id" | sed -n 's/.*"report_path":"\([^"]*\)".*/\1/p')
    if [ -z "$id" ] || [ -z "$shared" ]; then
        echo "not ok - no call id ($id) or report_path ($shared) from the server" >&2
        exit 1
    fi
    served=$(cat <<SERVED
  ,{"name": "served-shared", "url": "$base$shared",
   "expect": ["COMPTE RENDU D'APPEL", "Heures affich\u00e9es dans le fuseau Europe/Paris",
              "Conversation", "Prochaine action",
              {"selector": "li.msg p[lang='fr-FR']"}, {"selector": "html[lang='fr-FR']"}],
   "forbid": ["Tous les appels", "All calls", "Next action", {"selector": "script"}],
   "linksWork": true,
   "choose": {"select": "form.zone select", "value": "UTC", "submit": "form.zone button",
              "expect": ["Heures affich\u00e9es dans le fuseau UTC", "COMPTE RENDU D'APPEL"]}},
  {"name": "served-token", "url": "$base/report/$id?token=browser-token",
   "expect": ["Tous les appels", "Heures affich\u00e9es dans le fuseau Europe/Paris"],
   "linksWork": true},
  {"name": "served-list", "url": "$base/report?token=browser-token",
   "expect": ["Times are shown in UTC", "All 1 calls shown", {"selector": "option[value='Europe/Paris']"}],
   "linksWork": true,
   "choose": {"select": "form.zone select", "value": "Europe/Paris", "submit": "form.zone button",
              "expect": ["Times are shown in Europe/Paris", "All 1 calls shown"]}}
SERVED
)
fi

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
              {"selector": "audio[preload='none']"}, "Times are shown in Europe/Paris",
              {"selector": "li.msg p[lang='en-US']"}],
   "forbid": [{"selector": "script"}, {"selector": "img"}, {"selector": "link[rel='stylesheet']"}]},
  {"name": "call-real", "url": "$url/call-1.html",
   "expect": ["Am\u00e9lie (Contoso)", "In Lyon", "Summary: your request", "Satisfaction: Unknown",
              "My car was hit last night", "Requires expertise",
              {"selector": "li.msg.human"}, {"selector": "li.msg.assistant"}],
   "forbid": [{"selector": "script"}, {"selector": "audio"}]},
  {"name": "list", "url": "$url/list.html",
   "expect": ["Calls", "Showing 1\u20132 of 42 calls (2 shown)", "Times are shown in UTC", "Older \u2192", "7 / 12 fields",
              "2 / 12 fields", {"selector": "form[method='get'] input[name='phone_number']"},
              {"selector": "a[href*='offset=2']"}, {"selector": "table.list tbody tr", "count": 2}],
   "forbid": [{"selector": "script"}, "Newer"]},
  {"name": "error", "url": "$url/error.html",
   "expect": ["404 Not Found", "No call with this id."], "forbid": [{"selector": "script"}]}
  $served
]
SPEC

node "$here/report-check.mjs" "$out/spec.json" "$out/screenshots"
echo "pages and screenshots in $out"
