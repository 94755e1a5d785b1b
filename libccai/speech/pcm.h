/* What the speech engines share: how audio leaves an engine, and which
 * file descriptors a step waits for. */
#ifndef CCAI_SPEECH_PCM_H
#define CCAI_SPEECH_PCM_H

#include "core/common.h"

/* Audio from an engine: n mono 16-bit samples at rate; false stops it. */
typedef bool (*Ccai_pcm_fn)(void *ud, const int16_t *pcm, size_t n, uint32_t rate);

typedef struct Ccai_synth_fd {
    int fd;
    bool read, write; /* what to wait for */
} Ccai_synth_fd;

#endif
