/* The built-in text-to-speech providers, by configuration name. */
#include "tts/tts.h"

#include "tts/cloud.h"
#include "tts/offline.h"

#include <string.h>

/* One line per provider of this build (each file defines its table). */
static const Ccai_tts_provider *const providers[] = {
    &Ccai_tts_flite,  &Ccai_tts_espeak,     &Ccai_tts_azure,
    &Ccai_tts_openai, &Ccai_tts_elevenlabs, NULL,
};

const Ccai_tts_provider *Ccai_tts_provider_find(const char *name)
{
    for (size_t i = 0; name && providers[i]; i++) {
        if (strcmp(providers[i]->name, name) == 0)
            return providers[i];
    }
    return NULL;
}
