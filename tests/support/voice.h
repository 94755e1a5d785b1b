/* Speech made at test time for the recogniser tests and bench-speech:
 * text spoken by libccai's offline voices (flite in-process, espeak-ng as
 * a process), in any format, padded with silence as a VAD segment would
 * be. Nothing is stored in the repository. */
#ifndef CCAI_TEST_VOICE_H
#define CCAI_TEST_VOICE_H

#include "speech/synth.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct voice_audio {
    uint8_t *data; /* malloc'd */
    size_t len;
    Ccai_media_format fmt;
    uint32_t speech_ms; /* without the padding */
} voice_audio;

/* True when the engine can speak here (flite in this build; the espeak-ng
 * program in PATH). */
bool voice_available(Ccai_synth_engine e);
/* Speak text with engine/voice at rate into fmt, lead_ms of silence
 * before and tail_ms after. False (and a message) when it fails. */
bool voice_render(Ccai_synth_engine e, const char *voice, double rate, const char *text,
                  const Ccai_media_format *fmt, uint32_t lead_ms, uint32_t tail_ms,
                  voice_audio *ret);
void voice_audio_free(voice_audio *a);

/* Word error rate of hyp against ref (lower-case words separated by
 * spaces): (substitutions + insertions + deletions), and the words of ref. */
void voice_word_errors(const char *ref, const char *hyp, size_t *ret_errors, size_t *ret_words);
/* How many of the space-separated words in keys occur in text. */
size_t voice_keywords(const char *keys, const char *text, size_t *ret_total);

#endif
