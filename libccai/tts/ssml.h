/* SSML for Azure text to speech (tts/ssml.c, seed-behaviour.md 5.3): text
 * sanitising, chunking under the 400-character TTS limit, the document
 * builder, and PLS lexicons. The ACS channel plays it through Call
 * Automation; the web layer serves the lexicon; the Azure Speech TTS
 * provider (issue 11) will send it. tts/ is where the text-to-speech
 * providers live, behind the interface that issue adds.
 *
 * A document, compact (no white space between elements), optional parts in
 * brackets:
 *   <speak version="1.0" xmlns="http://www.w3.org/2001/10/synthesis"
 *    xmlns:mstts="http://www.w3.org/2001/mstts" xml:lang="L">
 *   <voice name="V"[ effect="E"]>[<lexicon uri="U"/>]<lang xml:lang="L">
 *   [<mstts:express-as style="S" styledegree="D">]<prosody rate="R">TEXT
 *   </prosody>[</mstts:express-as>]</lang></voice></speak>
 * R is a relative percentage ("+0%", "-25%", "+10%"), which Azure reads
 * unambiguously; protocols.md does not fix a form. TEXT is sanitised and
 * XML-escaped (& < >); attribute values are escaped (& < > "). */
#ifndef CCAI_TTS_SSML_H
#define CCAI_TTS_SSML_H

#include "core/common.h"

#include <jansson.h>

/* ACS/Speech refuse longer texts: chunks are strictly shorter, in bytes
 * (so in characters too). */
#define CCAI_SSML_CHUNK_MAX 400u

#define CCAI_SSML_RATE_MIN 0.75
#define CCAI_SSML_RATE_MAX 1.25

typedef enum Ccai_ssml_style {
    CCAI_SSML_STYLE_NONE = 0,
    CCAI_SSML_STYLE_CHEERFUL,
    CCAI_SSML_STYLE_SAD
} Ccai_ssml_style;

typedef struct Ccai_ssml_opts {
    const char *lang;         /* "fr-FR": required */
    const char *voice;        /* "fr-FR-DeniseNeural": required */
    const char *voice_effect; /* "eq_telecomhp8k" (telephone EQ), NULL: none */
    const char *lexicon_uri;  /* "https://.../lexicon.xml", NULL: none */
    Ccai_ssml_style style;
    double style_degree; /* 0.01..2; 0 means the seed's 0.5 */
    double prosody_rate; /* 0.75..1.25 (clamped); 0 means 1.0 */
} Ccai_ssml_opts;

/* Keep word characters (ASCII letters, digits, '_', letters of scripts from
 * U+00C0 up: Latin-1 letters except × and ÷, U+0100..U+1FFF, U+3040..U+9FFF,
 * U+AC00..U+D7AF), white space and the punctuation  ' " ( ) , . ! ? ; : - +
 * _ @ / & € $ % =  ; every other character, control characters and invalid
 * UTF-8 bytes become a space. Runs of white space collapse to one space and
 * the ends are trimmed. NULL on NOMEM or when text is NULL.
 * Ownership: freed with ccai_free(). Context: any thread. */
char *Ccai_ssml_sanitize(const char *text);

/* Split text into sentences (ending with . ! ? followed by white space or
 * the end) and pack consecutive sentences, joined by one space, into chunks
 * shorter than max bytes (max 0 means CCAI_SSML_CHUNK_MAX; max must be at
 * least 8). A sentence too long for one chunk is cut at its last space that
 * fits, or, with no space, at the last UTF-8 character boundary that fits.
 * Chunks carry no leading or trailing white space; an empty text gives 0
 * chunks.
 *
 * Statuses: CCAI_OK; CCAI_ERR_NOMEM; CCAI_ERR_INVALID_ARG.
 * Ownership: *ret_chunks is a NULL-terminated array of *ret_n strings,
 * released with Ccai_ssml_chunks_free(); untouched on failure.
 * Context: any thread. */
CCAI_MUST_CHECK ccai_status Ccai_ssml_chunk(const char *text, size_t max, char ***ret_chunks,
                                            size_t *ret_n);

/* Free a chunk array (NULL accepted). */
void Ccai_ssml_chunks_free(char **chunks);

/* A PLS 1.0 lexicon (what text to speech says for a word) in lang, from
 * entries: a JSON array of {grapheme, alias, lang?} (conversation.lexicon);
 * the entries of another lang are left out. Text is XML-escaped, control
 * characters become spaces.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (lang empty, ret_xml NULL);
 * CCAI_ERR_NOMEM. Ownership: *ret_xml freed with ccai_free(). */
CCAI_MUST_CHECK ccai_status Ccai_ssml_lexicon(const json_t *entries, const char *lang,
                                              char **ret_xml);

/* Build the document above around Ccai_ssml_sanitize(text).
 *
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (text, opts, lang, voice or
 * ret_ssml NULL; style_degree outside 0..2); CCAI_ERR_NOMEM.
 * Ownership: *ret_ssml is freed with ccai_free(); untouched on failure.
 * Context: any thread. */
CCAI_MUST_CHECK ccai_status Ccai_ssml_build(const char *text, const Ccai_ssml_opts *opts,
                                            char **ret_ssml);

/* The same document with several voices: texts[i] in opts[i]'s language
 * and voice, one <voice> element each, in order (a language menu where
 * each language speaks for itself). The <speak> takes opts[0]'s language.
 * Statuses, ownership: as Ccai_ssml_build(); CCAI_ERR_INVALID_ARG also for
 * n == 0. */
CCAI_MUST_CHECK ccai_status Ccai_ssml_build_multi(const char *const *texts,
                                                  const Ccai_ssml_opts *opts, size_t n,
                                                  char **ret_ssml);

#endif
