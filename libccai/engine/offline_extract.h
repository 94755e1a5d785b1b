/* The offline dialogue's extractors, shared by engine/offline_extract.c
 * (phrases, sentences, free text, the whole utterance), offline_places.c
 * (where it happened), offline_codes.c (codes and names) and offline_turn.c
 * (the turn). */
#ifndef CCAI_ENGINE_OFFLINE_EXTRACT_H
#define CCAI_ENGINE_OFFLINE_EXTRACT_H

#include "engine/offline_private.h"

#define VALUE_MAX (CCAI_OFFLINE_UTTERANCE_MAX + 1) /* a value loses nothing said */

static inline int upper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 32 : c;
}

static inline CCAI_MUST_CHECK bool is_upper(int c)
{
    return c >= 'A' && c <= 'Z';
}

typedef struct found {
    char *v[CCAI_FIELDS_MAX]; /* normalised values */
    bool date_only;           /* the datetime field: a day without time */
    bool dt_part;             /* the datetime field: a part of the day, no hour */
    int part_hour;            /* with dt_part: the hour the part stands for */
    int64_t day;
    bool place_again; /* the place said again to another question: it
                       * replaces the one noted */
    bool story_more;  /* more of the story said to "where?": what happened
                       * noted grows */
} found;

typedef struct sentence {
    size_t b, e;
    bool question, used;
} sentence;

CCAI_MUST_CHECK bool Ccai_ofl_code_field(const Ccai_offline *o, size_t i);
/* Where the numbers of an address end after the street word at token i
 * ("calle 10 sur # 43-15"; none: i + 1). */
size_t Ccai_ofl_address_numbers(const Ccai_offline *o, size_t i);
size_t Ccai_ofl_place_date_numbers(const Ccai_offline *o, size_t i);
size_t Ccai_ofl_content_left(const Ccai_offline *o, size_t b, size_t e);
size_t Ccai_ofl_correction_point(const Ccai_offline *o, bool *ret_any);
void Ccai_ofl_extract_all(Ccai_offline *o, found *fd, const bool *asked, size_t corr, sentence *sv,
                          size_t ns);
void Ccai_ofl_extract_code(Ccai_offline *o, found *fd, size_t f, bool asked);
void Ccai_ofl_extract_name(Ccai_offline *o, found *fd, size_t f, bool asked);
CCAI_MUST_CHECK bool Ccai_ofl_field_sec_has(const Ccai_offline *o, const char *kind, size_t f,
                                            size_t b, size_t e, size_t *pos);
CCAI_MUST_CHECK bool Ccai_ofl_filler(const Ccai_offline *o, size_t i);
CCAI_MUST_CHECK bool Ccai_ofl_hesitation(const Ccai_offline *o, size_t i);
/* Does [b, e) have the topic or cue words of a free-text field? */
/* The field of the people in a claim ([people.fields]) that [b, e) tells
 * of: the first with its topic or cue words, else the one noted last when
 * it is one of them; nfields when none. */
size_t Ccai_ofl_people_owner(const Ccai_offline *o, size_t b, size_t e);
CCAI_MUST_CHECK bool Ccai_ofl_about_a_field(const Ccai_offline *o, size_t b, size_t e);
CCAI_MUST_CHECK bool Ccai_ofl_is_question(const Ccai_offline *o, size_t b, size_t e);
CCAI_MUST_CHECK bool Ccai_ofl_name_field(const Ccai_offline *o, size_t i);
CCAI_MUST_CHECK bool Ccai_ofl_name_word(const Ccai_offline *o, size_t i);
/* The place said in [b, e) (NULL: none), *ret_address whether it reads as
 * an address (a number, a street alone, a cue). Ownership: the caller
 * frees it. */
char *Ccai_ofl_location_in(Ccai_offline *o, size_t b, size_t e, bool *ret_address);
/* Is the word at i negated ("nobody was hurt")? b: the sentence's start. */
CCAI_MUST_CHECK bool Ccai_ofl_negated_at(const Ccai_offline *o, size_t b, size_t i);
/* [b, e) is the place again, named, and nothing about another field
 * (said to another question): the place (NULL: not). Ownership: the
 * caller frees it. */
char *Ccai_ofl_place_restated(Ccai_offline *o, size_t b, size_t e);
/* The index of the field incident_location, o->nfields when the schema
 * has none. */
size_t Ccai_ofl_location_field(const Ccai_offline *o);
/* [b, e) is an address and nothing else, given to field f, not the place. */
CCAI_MUST_CHECK bool Ccai_ofl_pure_location(Ccai_offline *o, size_t f, const bool *asked, size_t b,
                                            size_t e);
void Ccai_ofl_put(Ccai_offline *o, found *fd, size_t f, char *v);
/* The raw text of tokens [b, e), trimmed. Ownership: the caller frees it. */
char *Ccai_ofl_raw_span(Ccai_offline *o, size_t b, size_t e);
CCAI_MUST_CHECK bool Ccai_ofl_sec_find(const Ccai_offline *o, const char *section, size_t b,
                                       size_t e, size_t *pos, size_t *len);
CCAI_MUST_CHECK bool Ccai_ofl_sec_has(const Ccai_offline *o, const char *section, size_t b,
                                      size_t e);
CCAI_MUST_CHECK bool Ccai_ofl_sentence_break(const Ccai_offline *o, size_t i);
size_t Ccai_ofl_sentence_end(const Ccai_offline *o, size_t b);
/* Where the caller lives, not where it happened ([location.aside]). */
CCAI_MUST_CHECK bool Ccai_ofl_place_aside(const Ccai_offline *o, size_t b, size_t e);
/* A sentence after the place that goes on with it (a number, a name). */
CCAI_MUST_CHECK bool Ccai_ofl_place_sentence_goes_on(const Ccai_offline *o, size_t b, size_t e,
                                                     bool after);
/* Only a correction's words ("Sorry, I told wrongly."). */
CCAI_MUST_CHECK bool Ccai_ofl_only_correction(const Ccai_offline *o, size_t b, size_t e);
/* A street word with its name in [b, e) ("rue Gambetta", "Mill Road")? */
CCAI_MUST_CHECK bool Ccai_ofl_street_named(const Ccai_offline *o, size_t b, size_t e);

#endif
