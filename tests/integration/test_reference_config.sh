#!/bin/sh
# The reference's (call-center-ai) configuration through the real programs:
# ccai-cli and ccai-server load its config.yaml as it is, and a file with
# problems of every kind gets them all in one report (exit 2). TAP output.
#
# Usage: test_reference_config.sh BUILDDIR SRCDIR
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 BUILDDIR SRCDIR" >&2
    exit 64
fi
build=$1
src=$2
cli=$build/ccai-cli/ccai-cli
server=$build/ccai-server/ccai-server
tmp=${TMPDIR:-/tmp}/ccai-reference-config.$$

trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
mkdir "$tmp" || exit 1
cd "$tmp" || exit 1
unset CCAI_SERVER CCAI_TOKEN CONFIG_YAML CONFIG_JSON

n=0
failed=0
check() { # name, expected exit code, then fixed strings the output must hold
    name=$1
    want=$2
    shift 2
    n=$((n + 1))
    bad=""
    [ "$rc" -eq "$want" ] || bad="exit $rc, not $want"
    for s in "$@"; do
        printf '%s' "$out" | grep -qF -- "$s" || bad="$bad; lacks: $s"
    done
    if [ -z "$bad" ]; then
        echo "ok $n - $name"
    else
        echo "not ok $n - $name: $bad"
        printf '%s\n' "$out" | sed 's/^/# /'
        failed=$((failed + 1))
    fi
}

out=$("$cli" --config "$src/tests/data/reference/config-v9-readme.yaml" config 2>&1)
rc=$?
check "ccai-cli loads the reference's v9 README config" 0 \
    '"deployment": "gpt-4o-mini-2024-07-18"' \
    '"cognitive_services_endpoint": "https://ccaitest.cognitiveservices.azure.com"' \
    'communication_services.call_queue_name: ignored: libccai takes Event Grid'

out=$(CONFIG_JSON='{"llm": {"fast": {"mode": "azure_openai", "azure_openai": {"endpoint": "https://j.openai.azure.com", "deployment": "d", "streaming": true}}}}' \
    "$cli" config 2>&1)
rc=$?
check "ccai-cli reads the reference's CONFIG_JSON" 0 '"endpoint": "https://j.openai.azure.com"'

cat >bad.yaml <<'YAML'
conversation:
  initiate:
    bot_nmae: Robert
llm:
  fast:
    mode: azure_openai
    azure_openai:
      deployment: gpt-4o-mini
      streaming: maybe
    auth: api_key
YAML
out=$(CONVERSATION__ANSWER_SOFT_TIMEOUT_SEC=soon "$server" --config bad.yaml 2>&1)
rc=$?
check "ccai-server reports every problem in one pass" 2 \
    'bad.yaml:3:5: conversation.initiate.bot_nmae: unknown key' \
    'bad.yaml:9:18: llm.fast.azure_openai.streaming: expected a boolean' \
    '<env>:0:0: conversation.answer_soft_timeout_sec: expected an integer' \
    'llm.fast.endpoint: required when llm.fast.mode is azure_openai' \
    'llm.fast.api_key: required when llm.fast.auth is api_key'

out=$(CONVERSATION__ANSWER_SOFT_TIMEOUT_SEC=soon "$cli" --config bad.yaml config 2>&1)
rc=$?
check "ccai-cli reports every problem in one pass" 2 \
    'conversation.initiate.bot_nmae: unknown key' \
    'llm.fast.azure_openai.streaming: expected a boolean' \
    'conversation.answer_soft_timeout_sec: expected an integer' \
    'llm.fast.api_key: required when llm.fast.auth is api_key'

echo "1..$n"
[ "$failed" -eq 0 ]
