/* The cloud text-to-speech providers' error-body parsers (tts/azure.c,
 * tts/openai.c, tts/elevenlabs.c through tts/cloud.c): any bytes, any
 * length, into a small message buffer. */
#include "tts/cloud.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static void (*const parsers[])(const char *, size_t, char *, size_t) = {
        Ccai_tts_azure_error,
        Ccai_tts_openai_error,
        Ccai_tts_elevenlabs_error,
    };
    char out[200];
    for (size_t i = 0; i < sizeof parsers / sizeof parsers[0]; i++) {
        /* Small and odd buffers too: the message is always terminated. */
        size_t outlen = 1 + (size ? data[0] % sizeof out : 0);
        parsers[i]((const char *)data, size, out, outlen);
        if (strlen(out) >= outlen)
            __builtin_trap();
        parsers[i]((const char *)data, size, out, sizeof out);
    }
    return 0;
}
