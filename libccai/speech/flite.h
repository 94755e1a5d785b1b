/* flite 2.2 (Debian's flite1-dev, BSD-style licence) in-process: the
 * synthesis of one piece of text with a US English voice, its audio handed
 * over as flite makes it (its audio streaming callback). speech/tts.h
 * builds the streaming, cancellable TTS on it.
 *
 * Voices: "kal16" (diphone, 16 kHz: the default, ~1 ms per sentence and
 * the best recognised by pocketsphinx), "kal" (diphone, 8 kHz), "slt",
 * "rms" and "awb" (clustergen, 16 kHz: more natural, ~30 ms per
 * sentence). Each is registered once per process (flite keeps them in
 * globals); synthesis itself keeps its state in the utterance, so streams
 * on several threads may share a voice. The diphone voices make a whole
 * piece before its first chunk, clustergen ones stream within it.
 *
 * flite allocates with malloc (no hook) and exits the process when that
 * fails; it prints nothing in synthesis with the "none" output. */
#ifndef CCAI_SPEECH_FLITE_H
#define CCAI_SPEECH_FLITE_H

#include "speech/pcm.h"

typedef struct Ccai_flite_voice Ccai_flite_voice;

/* The voice called name (NULL: "kal16"), registered on first use.
 * Statuses: CCAI_OK; CCAI_ERR_NOT_FOUND (no such voice). */
ccai_status Ccai_flite_voice_get(const char *name, const Ccai_flite_voice **ret);
const char *Ccai_flite_voice_name(const Ccai_flite_voice *v);
uint32_t Ccai_flite_voice_rate(const Ccai_flite_voice *v);
/* The voices this build has, NULL-terminated. */
const char *const *Ccai_flite_voice_names(void);

/* Synthesise text (plain, UTF-8) at rate (speed multiplier, 0.5..2),
 * handing the audio to fn as it is made.
 * Statuses: CCAI_OK; CCAI_ERR_CANCELLED (fn returned false);
 * CCAI_ERR_INVALID_ARG; CCAI_ERR_INTERNAL (flite failed). */
ccai_status Ccai_flite_speak(const Ccai_flite_voice *v, const char *text, double rate,
                             Ccai_pcm_fn fn, void *ud);

#endif
