#!/bin/sh
# Speech for the media tests and bench-media: caller and bot turns rendered
# by espeak-ng, converted by sox to telephone audio (8 kHz, 300-3400 Hz
# band) for the caller and to 24 kHz (a TTS rate) for the bot, each turn
# followed by a stretch of digital silence. Two sets with different
# sentences, voices and speeds: "dev" (what the VAD defaults were tuned on)
# and "test" (held out: the figures reported come from it).
#
#   gen_speech.sh OUTDIR    writes OUTDIR/{caller,bot}-{dev,test}.wav
#
# espeak-ng (GPL-3) and sox are test tools: nothing here is linked into
# libccai. Output is deterministic for given tool versions.
set -eu

out=$1
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# render NAME RATE FILTER < lines of "voice|words per minute|pitch|silence after (s)|text"
render() {
    name=$1 rate=$2 band=$3
    i=0
    parts=""
    while IFS='|' read -r voice wpm pitch gap text; do
        [ -n "$voice" ] || continue
        i=$((i + 1))
        n=$(printf '%03d' "$i")
        espeak-ng -v "$voice" -s "$wpm" -p "$pitch" -w "$tmp/raw-$n.wav" "$text"
        # shellcheck disable=SC2086 # $band is a list of sox effects
        sox -D "$tmp/raw-$n.wav" -r "$rate" -c 1 -b 16 -e signed-integer "$tmp/utt-$n.wav" \
            $band pad 0 "$gap"
        parts="$parts $tmp/utt-$n.wav"
    done
    # A leading second of silence: a line is quiet before anyone speaks.
    sox -D -n -r "$rate" -c 1 -b 16 -e signed-integer "$tmp/lead.wav" trim 0 1
    # shellcheck disable=SC2086
    sox -D "$tmp/lead.wav" $parts "$out/$name.wav"
    rm -f "$tmp"/*.wav
}

render caller-dev 8000 "sinc 300-3400" <<'LINES'
en-us|165|50|1.5|Hello, I am calling about my car insurance claim.
en-us+f3|175|60|0.9|Yes.
en-gb|160|45|2.0|The accident happened last Tuesday, around five in the evening, on the motorway.
en-us|180|55|1.2|No, nobody was hurt.
en-us+f3|150|65|1.0|My policy number is four seven two, nine one eight, three three.
en-gb+m3|170|40|2.5|Okay.
en-us|160|50|1.1|Could you send me the form by email instead of by post?
en-us+f2|185|70|0.8|Mm hmm.
en-gb|165|50|1.8|The other driver did not stop, and I took a photo of the number plate.
en-us+m3|155|35|1.3|Thank you, that is all for today.
LINES

render bot-dev 24000 "" <<'LINES'
en-us+f4|175|55|0.7|Thank you for calling. How can I help you today?
en-us+f4|175|55|0.9|I understand. Can you tell me when the accident happened?
en-us+f4|175|55|0.6|Was anyone injured in the accident?
en-us+f4|175|55|1.0|Please give me your policy number, one digit at a time.
en-us+f4|175|55|0.8|I will send the claim form to the address we have on file.
LINES

render caller-test 8000 "sinc 300-3400" <<'LINES'
en-us+m2|170|45|1.4|Good morning, my name is Alex and I need to report a water leak.
en-gb+f3|160|60|1.0|That is right.
en-us|175|50|2.2|The pipe under the kitchen sink burst on Sunday night while we were asleep.
en-us+f4|165|70|0.9|No.
en-gb-x-rp|150|45|1.6|The floor and two cupboards are damaged, and the ceiling below is wet.
en-us+m4|185|40|1.1|Sure, go ahead.
en-us+f2|170|65|1.3|You can reach me on zero six, one two, three four, five six, seven eight.
en-gb+m2|160|50|0.8|Uh huh.
en-us|155|55|2.0|I would like someone to come and look at it before the weekend, if possible.
en-us+f3|175|60|1.2|Great, goodbye.
LINES

render bot-test 24000 "" <<'LINES'
en-gb+f2|170|50|0.8|I am sorry to hear that. When did the leak start?
en-gb+f2|170|50|0.6|Is the water still running, or has it been turned off?
en-gb+f2|170|50|1.0|Which rooms are affected by the damage?
en-gb+f2|170|50|0.7|I can book an expert visit for Thursday morning. Does that suit you?
en-gb+f2|170|50|0.9|Your claim reference will arrive by text message in a few minutes.
LINES
