/* Speakable sentences from a token stream (sans-I/O).
 *
 * Text arrives in deltas; complete sentences come out as soon as their end
 * is certain. Boundaries (as the reference system): a run of "!", "?" or ";",
 * or a run of ".", "-" or ":" followed by white space. The punctuation stays
 * with its sentence. The first sentence of an answer may end earlier, at a
 * ", " once it is long enough to be worth speaking, so that the caller hears
 * something sooner. A sentence longer than the TTS limit is cut at a space.
 * Each sentence may start with "style=cheerful|sad|none"; hallucinated
 * "action=..." and "content=" prefixes are stripped. */
#ifndef CCAI_ENGINE_SPEECH_H
#define CCAI_ENGINE_SPEECH_H

#include "core/common.h"

/* Sentences longer than this are cut at a space (ACS/Azure TTS limit). */
#define CCAI_SENTENCE_MAX 400
/* The first sentence may end at ", " once it has this many bytes. */
#define CCAI_FIRST_CLAUSE_MIN 24

/* One sentence, trimmed, NUL-terminated; non-zero stops the feed. */
typedef int (*Ccai_sentence_fn)(const char *text, ccai_style style, void *ud);

typedef struct Ccai_sentences {
    Ccai_buf pending;
    ccai_style style; /* carried to later sentences until changed */
    size_t emitted;   /* sentences so far */
} Ccai_sentences;

void Ccai_sentences_init(Ccai_sentences *s);
void Ccai_sentences_free(Ccai_sentences *s);
/* CCAI_OK, CCAI_ERR_NOMEM, CCAI_ERR_CANCELLED (the callback stopped it). */
CCAI_MUST_CHECK ccai_status Ccai_sentences_feed(Ccai_sentences *s, const char *delta, size_t len,
                                                Ccai_sentence_fn fn, void *ud);
/* End of the answer: what is left is a sentence too. */
CCAI_MUST_CHECK ccai_status Ccai_sentences_flush(Ccai_sentences *s, Ccai_sentence_fn fn, void *ud);

/* Strip "action=..", "content=" and "style=.." prefixes in place (any
 * order, repeated); *style is set when a style prefix was found. Returns
 * the start of the remaining text inside buf. */
char *Ccai_speech_strip_prefixes(char *buf, ccai_style *style);

#endif
