#!/bin/sh
# Stands in for espeak-ng in the TTS tests: a program that runs, reads its
# input and writes something that is not a WAV stream.
cat >/dev/null
printf 'this is not audio at all, it is text from the wrong program\n'
