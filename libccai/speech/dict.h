/* A pronunciation dictionary in the CMU format pocketsphinx uses
 * ("word PH PH PH", variants as "word(2) ..."): parsed once, read-only
 * after that, so every decoder of a model (and any thread) can look words
 * up in it without loading the 3 MB file again. Decoders then hold only
 * the words they need (speech/sphinx.c).
 *
 * The parser is sans-I/O (text in, table out) with limits: a key of at most
 * CCAI_PRON_KEY_MAX bytes, CCAI_PRON_PHONES_MAX phones of at most 8 bytes
 * each ([A-Z0-9+_]), CCAI_PRON_DICT_MAX_BYTES of text. Comments: lines
 * starting with ";;;" or "##", and anything after a "#" token. */
#ifndef CCAI_SPEECH_DICT_H
#define CCAI_SPEECH_DICT_H

#include "core/common.h"

#define CCAI_PRON_KEY_MAX        64
#define CCAI_PRON_PHONES_MAX     40
#define CCAI_PRON_DICT_MAX_BYTES (64u << 20)
#define CCAI_PRON_VARIANTS_MAX   16

typedef struct Ccai_pron_dict Ccai_pron_dict;

/* Parse len bytes of dictionary text. A line that breaks a rule fails the
 * whole parse; a key seen twice keeps its first pronunciation.
 * Statuses: CCAI_OK; CCAI_ERR_PARSE (err says the line and why);
 * CCAI_ERR_LIMIT (more than CCAI_PRON_DICT_MAX_BYTES); CCAI_ERR_NOMEM.
 * Ownership: *ret freed with Ccai_pron_dict_free(); err (may be NULL)
 * receives the error text. */
ccai_status Ccai_pron_dict_parse(const char *text, size_t len, Ccai_pron_dict **ret, Ccai_err *err);
/* Read and parse the file at path. Statuses: as Ccai_pron_dict_parse(),
 * plus CCAI_ERR_IO (unreadable; err names the file). */
ccai_status Ccai_pron_dict_load(const char *path, Ccai_pron_dict **ret, Ccai_err *err);
/* Accepts NULL. */
void Ccai_pron_dict_free(Ccai_pron_dict *d);
/* Entries (variants counted). */
size_t Ccai_pron_dict_size(const Ccai_pron_dict *d);
/* Bytes the table holds (through the library's allocator). */
size_t Ccai_pron_dict_bytes(const Ccai_pron_dict *d);
/* The phones of variant v of word (0: "word", 1: "word(2)", ...): a string
 * of phones separated by one space, valid while d lives; NULL when the word
 * or that variant is absent. Words are matched exactly (the CMU files are
 * lower case). */
const char *Ccai_pron_dict_get(const Ccai_pron_dict *d, const char *word, unsigned v);
/* The key of variant v ("word" or "word(N)") into out (room for
 * CCAI_PRON_KEY_MAX + 5 bytes); false when it does not fit. */
bool Ccai_pron_dict_key(const char *word, unsigned v, char *out, size_t cap);

#endif
