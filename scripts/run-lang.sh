#!/bin/sh
# The language `make run` talks in: the user's locale (LC_ALL, else
# LC_MESSAGES, else LANG: "fr_CA.UTF-8" -> "fr-CA") as one of the
# languages the configuration offers (conversation.initiate.lang.availables,
# as `ccai-cli config` prints them): the same code, else the first one of
# the same language (fr-CA -> fr-FR), else en-US. The service's default
# (conversation.initiate.lang.default_short_code, fr-FR as in the
# reference) is left alone: this only picks --lang for the chat.
#
#   scripts/run-lang.sh CCAI_CLI    prints the code
set -u

cli=${1:?usage: run-lang.sh CCAI_CLI}
fallback=en-US
locale=${LC_ALL:-${LC_MESSAGES:-${LANG:-}}}
locale=${locale%%.*}
locale=${locale%%@*}
want=$(printf '%s' "$locale" | tr '_' '-')
case $want in
"" | C | POSIX | C-* | *[!A-Za-z0-9-]*)
    echo "$fallback"
    exit 0
    ;;
esac
codes=$("$cli" --compact config 2>/dev/null | python3 -c '
import json, sys
try:
    doc = json.load(sys.stdin)
    for lang in doc["conversation"]["initiate"]["lang"]["availables"]:
        print(lang["short_code"])
except (ValueError, KeyError, TypeError):
    pass
')
lower() {
    printf '%s' "$1" | LC_ALL=C tr '[:upper:]' '[:lower:]'
}
# The same code (case aside), else the same language.
for code in $codes; do
    if [ "$(lower "$code")" = "$(lower "$want")" ]; then
        echo "$code"
        exit 0
    fi
done
for code in $codes; do
    if [ "$(lower "${code%%-*}")" = "$(lower "${want%%-*}")" ]; then
        echo "$code"
        exit 0
    fi
done
echo "$fallback"
