/* The built-in speech-to-text providers, by configuration name. */
#include "stt/cloud.h"

#include "stt/sphinx.h"

#include <string.h>

/* One line per provider of this build (each file defines its table). */
static const Ccai_stt_provider *const providers[] = {
    &Ccai_stt_deepgram,
    &Ccai_stt_openai_realtime,
    &Ccai_stt_openai,
    &Ccai_stt_azure,
#ifdef CCAI_HAVE_POCKETSPHINX
    &Ccai_stt_sphinx,
#endif
    NULL,
};

const Ccai_stt_provider *Ccai_stt_provider_find(const char *name)
{
    for (size_t i = 0; name && providers[i]; i++) {
        if (strcmp(providers[i]->name, name) == 0)
            return providers[i];
    }
    return NULL;
}
