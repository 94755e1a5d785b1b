/* The offline text-to-speech providers (tts/offline.c): "flite" (in
 * process, English, BSD-style) and "espeak" (the espeak-ng program as a
 * separate process, GPL-3 and never linked; its path may be set as
 * speech.tts.espeak.endpoint). */
#ifndef CCAI_TTS_OFFLINE_H
#define CCAI_TTS_OFFLINE_H

#include "tts/tts.h"

extern const Ccai_tts_provider Ccai_tts_flite;
extern const Ccai_tts_provider Ccai_tts_espeak;

#endif
