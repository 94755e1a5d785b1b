/* libFuzzer: the checker of the LLM's phrase translations (and of stored
 * ones), engine/phrases.c, against the compiled-in English set and texts
 * (the report's labels, the offline report's sentences). */
#include "engine/phrases.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static Ccai_prompts *p;
    static Ccai_ofl_lexicon *lx;
    static Ccai_phrase_texts *t;
    if (!p && !(p = Ccai_prompts_new(NULL, NULL)))
        abort();
    if (!lx && Ccai_offline_lexicon_new(&lx) != CCAI_OK)
        abort();
    if (!t && Ccai_phrase_texts_new(lx, &t) != CCAI_OK)
        abort();
    Ccai_phrase_set *set = NULL;
    char *why = NULL;
    ccai_status st = Ccai_phrases_parse(p, t, (const char *)data, size, &set, &why);
    if (st == CCAI_OK) {
        /* Every phrase has as many variants as in English. */
        for (size_t i = 0; i < CCAI_TTS_PHRASE_COUNT; i++) {
            if (set->n[i] != Ccai_prompts_tts_count(p, (Ccai_tts_phrase)i) || !set->v[i][0][0])
                abort();
        }
        /* Every text, each with the braces of its English. */
        if (set->n_text != t->n)
            abort();
        for (size_t i = 0; i < t->n; i++) {
            if (!set->text[i][0])
                abort();
        }
        Ccai_phrase_set_free(set);
    } else if (st != CCAI_ERR_NOMEM && !why) {
        abort();
    }
    ccai_free(why);
    return 0;
}
