/* ccai-cli voice's WAV reader (ccai-cli/wav.c): any bytes as a whole file.
 * What it accepts must lie inside the buffer and hold whole samples. */
#include "../../ccai-cli/wav.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cli_wav w;
    const char *why = NULL;
    if (cli_wav_parse(data, size, &w, &why) != 0) {
        if (!why)
            abort();
        return 0;
    }
    if (w.channels < 1 || w.channels > 2 || w.rate < 8000 || w.rate > 48000)
        abort();
    if (w.pcm < data || w.pcm + w.frames * 2u * w.channels > data + size)
        abort();
    volatile int32_t sum = 0; /* every sample read: ASan checks the bounds */
    for (size_t i = 0; i < w.frames * 2u * w.channels; i++)
        sum += w.pcm[i];
    (void)sum;
    return 0;
}
