/* The offline speech-to-text provider "sphinx" (pocketsphinx, English):
 * stt/sphinx.c. */
#ifndef CCAI_STT_SPHINX_H
#define CCAI_STT_SPHINX_H

#include "stt/stt.h"

extern const Ccai_stt_provider Ccai_stt_sphinx;

/* Drop this thread's reference to the shared model (a context goes away);
 * open streams keep theirs, the next open() loads it again. */
void Ccai_stt_sphinx_release(void);

#endif
