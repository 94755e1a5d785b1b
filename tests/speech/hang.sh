#!/bin/sh
# Stands in for espeak-ng in the TTS tests: the start of a WAV stream, then
# nothing, as a synthesiser that hangs would leave it.
printf 'RIFF\044\360\377\177WAVEfmt \020\000\000\000\001\000\001\000\042\126\000\000\104\254\000\000\002\000\020\000data\000\360\377\177'
exec sleep 600
