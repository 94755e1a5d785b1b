#!/bin/sh
# ccai-cli voice end to end: a caller WAV made by espeak-ng at test time and
# a line spoken by espeak-ng through the CLI, recognised by pocketsphinx,
# answered by the offline dialogue, spoken by flite; the bot's side written
# to WAV files that pocketsphinx (cli-voice-hear) hears the greeting in.
# TAP output; skipped without espeak-ng or pocketsphinx's model.
#
# Usage: test_cli_voice.sh BUILDDIR
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BUILDDIR" >&2
    exit 64
fi
build=$(cd "$1" && pwd)
cli=$build/ccai-cli/ccai-cli
hear=$build/tests/integration/cli-voice-hear
standin=$build/tests/llm-standin
tmp=${TMPDIR:-/tmp}/ccai-cli-voice.$$
pid=

# shellcheck disable=SC2317 # called by the trap
cleanup() {
    if [ -n "$pid" ]; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

if ! command -v espeak-ng >/dev/null 2>&1; then
    echo "1..0 # SKIP espeak-ng is not installed"
    exit 0
fi
mkdir "$tmp" || exit 1
cd "$tmp" || exit 1
unset CCAI_SERVER CCAI_TOKEN
CONFIG_YAML=
DATABASE__SQLITE__PATH=$tmp/ccai.sqlite
export CONFIG_YAML DATABASE__SQLITE__PATH

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
    printf '%s\n' "$out" | while IFS= read -r line; do echo "# $line"; done
}
# check DESCRIPTION EXPECTED_RC PATTERN: the last command's rc and output.
check() {
    if [ "$rc" -eq "$2" ] && printf '%s\n' "$out" | grep -q -- "$3"; then
        ok "$1"
    else
        out="exit $rc, expected $2 and /$3/: $out"
        not_ok "$1"
    fi
}
# field NAME TEXT: the value after "NAME " on its line of cli-voice-hear's output.
field() {
    printf '%s\n' "$2" | sed -n "s/^$1 //p"
}

echo "1..17"

out=$("$cli" voice --fast --barge-in --say hello 2>&1)
rc=$?
check "--fast with --barge-in is a usage error" 64 "do not mix"

echo "not audio" >notes.wav
out=$("$cli" voice notes.wav --say hello --lang en-US 2>&1)
rc=$?
check "a file that is not a WAV: exit 1, named, with the reason" 1 \
    "notes.wav: not a WAV file"
out=$("$cli" --compact calls --json 2>&1)
rc=$?
check "... and no call was started" 0 '^{"total":0,'

# The embedded defaults speak French; pocketsphinx hears English only. (Its
# own database: libccai stores the call before its providers fail to open.)
out=$(DATABASE__SQLITE__PATH=$tmp/fr.sqlite "$cli" voice --say bonjour --out fr.wav 2>&1)
rc=$?
check "no recogniser for the call's language: exit 2, with the way out" 2 "try --lang en-US"
out=$(ls fr.wav 2>&1)
rc=$?
check "... and no empty WAV file is left behind" 2 "fr.wav"

# The caller's first turn: a WAV at espeak-ng's own rate (22 050 Hz), which
# the CLI converts to the call's 16 kHz.
espeak-ng -w answer.wav "yesterday evening" || exit 1
out=$("$cli" voice answer.wav --say "the city of london" --out bot.wav --both both.wav \
    --lang en-US --fast --wait 30 2>&1)
rc=$?
call_out=$out
check "the call runs to its end: exit 0" 0 "^  \[the caller hangs up\]"
check "the bot's greeting is in the transcript" 0 "^bot: Hello"
check "the turns are announced in order" 0 \
    "^> turn 2: \"the city of london\" (espeak-ng en-us"
n_caller=$(printf '%s\n' "$call_out" | grep -c '^caller: ')
out="$n_caller caller lines: $call_out"
if [ "$n_caller" -ge 1 ]; then ok "the caller's recognised words are printed"; else not_ok \
    "the caller's recognised words are printed"; fi
out=$call_out
check "the claim is printed at the end" 0 "^claim: "
check "the output files are named with their duration" 0 "^bot side: bot.wav ([0-9.]* s, 16000 Hz, mono)"

heard=$("$hear" bot.wav 0 "hello take claim few questions" 2>&1)
hrc=$?
heard_both=$("$hear" both.wav 1 2>&1)
out="$heard"
if [ "$(field format "$heard")" = "pcm16 16000 1" ]; then ok "bot.wav is PCM16 16 kHz mono"; else
    not_ok "bot.wav is PCM16 16 kHz mono"; fi
ms=$(field duration_ms "$heard")
out="bot.wav: ${ms:-?} ms; both.wav: $heard_both"
if [ "$(field format "$heard_both")" = "pcm16 16000 2" ] &&
    [ "${ms:-0}" -ge 15000 ] && [ "$(field duration_ms "$heard_both")" = "$ms" ]; then
    ok "both.wav has two channels and bot.wav's duration (${ms} ms: the whole call)"
else
    not_ok "both.wav has two channels and bot.wav's duration"
fi
out="$heard"
if [ "$hrc" -eq 77 ]; then
    n=$((n + 1))
    echo "ok $n # SKIP pocketsphinx's en-us model is not installed"
else
    # shellcheck disable=SC2046 # two numbers, split on purpose
    set -- $(field keywords "$heard")
    if [ "$hrc" -eq 0 ] && [ "${1:-0}" -ge 3 ]; then
        ok "pocketsphinx hears the greeting in bot.wav ($1 of $2 key words)"
    else
        not_ok "pocketsphinx hears the greeting in bot.wav"
    fi
fi
out=$("$cli" --compact calls --json 2>&1)
rc=$?
check "the call is stored" 0 '^{"total":1,'

# With an LLM configured (the OpenAI-compatible stand-in, which echoes), the
# answer is the LLM's.
: >standin.out
"$standin" >standin.out 2>standin.err &
pid=$!
port=
tries=0
while [ -z "$port" ] && [ "$tries" -lt 50 ] && kill -0 "$pid" 2>/dev/null; do
    IFS= read -r port <standin.out || port=
    [ -n "$port" ] || { tries=$((tries + 1)); sleep 0.2; }
done
out=$(LLM__FAST__MODE=openai_compatible LLM__FAST__ENDPOINT=http://127.0.0.1:${port:-1}/v1 \
    LLM__FAST__MODEL=m DATABASE__SQLITE__PATH=$tmp/llm.sqlite \
    "$cli" voice answer.wav --lang en-US --fast --wait 10 2>&1)
rc=$?
check "with an LLM configured, the bot answers with its words" 0 "^bot: You said:"
kill "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
pid=

# The caller talks over the greeting: the bot's audio is cleared.
out=$("$cli" voice --say "stop please i want to talk to an agent" --barge-in=1500 \
    --out barge.wav --lang en-US --wait 30 2>&1)
rc=$?
check "--barge-in: the caller interrupts the greeting (clear)" 0 \
    "^  \[barge-in: the bot stops after [0-9.]* s of its answer\]"

if [ "$failed" -ne 0 ]; then
    exit 1
fi
exit 0
