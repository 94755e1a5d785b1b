/* The offline dialogue engine's private parts, shared by its files
 * (engine/offline*.c; offline.c tells the design). Not for other modules:
 * they use engine/offline.h. */
#ifndef CCAI_ENGINE_OFFLINE_PRIVATE_H
#define CCAI_ENGINE_OFFLINE_PRIVATE_H

#include "engine/offline.h"

/* Normalised text is at most 3 bytes per input byte ("+" -> " + "). */
#define NORM_MAX (3 * CCAI_OFFLINE_UTTERANCE_MAX + 8)
#define TOK_MAX  (NORM_MAX / 2 + 1)
/* Phrases from the static tables are short. */
#define PHRASE_NORM_MAX 128
#define PHRASE_TOK_MAX  32
/* Longest phone number the spoken-digit reader assembles. */
#define PHONE_DIGITS_MAX 24
/* Text values longer than this are confirmed without being read back. */
#define READBACK_MAX 80

typedef enum msg {
    M_HELLO_FULL, /* name, company */
    M_HELLO_NAME, /* name */
    M_HELLO,
    M_INTRO,
    M_WELCOME_BACK_FULL,
    M_WELCOME_BACK_NAME,
    M_WELCOME_BACK,
    M_SO_FAR,
    M_NOTHING_YET,
    M_ASK_LABEL,  /* a label from the table below */
    M_ASK_CUSTOM, /* a schema description */
    M_ASK_TIME,
    M_HINT_DATETIME,
    M_HINT_TIME,
    M_HINT_PHONE,
    M_HINT_EMAIL,
    M_NOTED_VALUE,
    M_NOTED,
    M_NONE_VALUE,
    M_R_DATE_UNREADABLE,
    M_R_DATE_VAGUE,
    M_R_DATE_INVALID,
    M_R_TIME_UNREADABLE,
    M_R_EMAIL_NO_AT,
    M_R_EMAIL_BAD,
    M_R_PHONE_NONE,
    M_R_PHONE_COUNTRY,
    M_R_PHONE_SHORT,
    M_R_PHONE_LONG,
    M_R_PHONE_BAD,
    M_R_TEXT_EMPTY,
    M_R_TEXT_BAD,
    M_SKIP_LATER,
    M_SKIP_MOVE_ON,
    M_GIVE_UP_MOVE_ON, /* a field as a noun phrase (field_np) */
    M_BACK_TO_SKIPPED,
    M_SUMMARY,
    M_SUMMARY_EMPTY,
    M_SUMMARY_LINE, /* label, value */
    M_MISSING,      /* labels */
    M_CONFIRM_ASK,
    M_CONFIRM_YES_NO,
    M_CONFIRM_HANDOVER,
    M_CONFIRM_AS_IS,
    M_STUCK_HANDOVER,
    M_STUCK_BYE,
    M_THANKS_BYE,
    M_WHICH,
    M_WHICH_AGAIN, /* an example label */
    M_TRANSFER,
    M_GOODBYE,
    M_STILL_THERE,
    M_SILENCE_BYE,
    M_LANG_SWITCH,
    M_LANG_UNAVAILABLE,
    M_DATE_AT, /* day, month name, year, hour, minute (see say_date) */
    M_COUNT
} msg;

/* The reference's default fields: optional ones take "no" / "none" as an
 * answer (recorded as msg.none_value) instead of a skip. Their spoken
 * labels are in the data files ([label.<name>]). */
typedef struct Ccai_ofl_known_field {
    const char *name;
    bool optional;
} Ccai_ofl_known_field;

/* offline_lang.c: the names of the phrases ([msg.<name>] in the data
 * files, in the order of enum msg) and the default fields. */
extern const char *const Ccai_ofl_msg_names[M_COUNT];
extern const Ccai_ofl_known_field Ccai_ofl_known_fields[];
#define CCAI_OFL_KNOWN_FIELDS 12

typedef enum phase { PH_NEW, PH_ASK, PH_CONFIRM, PH_WHICH, PH_ENDED } phase;

enum { SKIP_NONE, SKIP_ONCE, SKIP_FINAL };

/* Fields one question asks together ("When and where did it happen?"). */
#define OFL_GROUP_MAX 3

/* Everything a turn may change except the values: copied to roll back. */
typedef struct offline_state {
    phase phase;
    int lang;       /* phrase table */
    int lang_avail; /* index of the current code in avail, -1: lang_code */
    size_t cur;     /* field asked in PH_ASK */
    bool editing;   /* PH_ASK entered from the confirmation */
    bool second_pass;
    bool pending_date; /* a date without time was given for cur */
    bool dt_part;      /* the time noted is a part of the day ("last night") */
    int64_t pending_days;
    int pending_part; /* the hour of the part of the day said with that date ("last night": 23), -1
                       */
    unsigned silences;
    unsigned which_tries;
    unsigned confirm_tries;      /* unclear answers to "is everything correct?" */
    unsigned confirm_rounds;     /* times the summary was read for confirmation */
    unsigned stuck;              /* turns in a row without progress, any question */
    unsigned acks;               /* acknowledgements said, to vary them */
    size_t group[OFL_GROUP_MAX]; /* the fields the last question asked */
    size_t ngroup;
    size_t last_set; /* the field noted last, nfields: none */
    unsigned char tries[CCAI_FIELDS_MAX];
    unsigned char skip[CCAI_FIELDS_MAX];
    bool email_spell;       /* the caller was asked to spell the e-mail (once) */
    size_t email_fresh;     /* the e-mail field noted at the last turn, nfields: none */
    uint32_t email_spelled; /* the e-mail noted: its parts spelled, read back letter by letter */
} offline_state;

typedef struct offline_field {
    char *name;
    ccai_field_type type;
    char *desc;     /* NULL when none */
    char *keywords; /* " word word ", normalised, to recognise "change the date" */
    int known;      /* index in known_fields, -1 */
    bool optional;
    long order; /* its place in the data files' [order], -1 (Ccai_ofl_order_init()) */
} offline_field;

typedef struct email_item {
    char c;        /* '@', '.', '_', '-' for a connector, 0 for a word */
    const char *w; /* word: in the scratch buffer */
    size_t len;
    bool brk;            /* a comma or a sentence end comes before it */
    bool hard;           /* a sentence end (or other than a comma) */
    uint16_t raw0, raw1; /* its bytes in raw */
} email_item;

/* The data files (offline_data.c). */
#define CCAI_OFL_SECTION_MAX  72
#define CCAI_OFL_LINE_MAX     200
#define CCAI_OFL_SECTIONS_MAX 400
#define CCAI_OFL_ENTRIES_MAX  4096

typedef struct Ccai_ofl_entry {
    const char *text; /* as written */
    const char *norm; /* normalised, tokens separated by one space */
    unsigned ntok;
    unsigned flen;             /* the bytes of norm's first token */
    size_t text_off, norm_off; /* in the lexicon's pool */
} Ccai_ofl_entry;

/* The entries of a section by their first letter: a-z, a digit, any
 * other byte. */
#define CCAI_OFL_BUCKETS 28
static inline unsigned Ccai_ofl_bucket(unsigned char c)
{
    return c >= 'a' && c <= 'z' ? (unsigned)(c - 'a') : c >= '0' && c <= '9' ? 26u : 27u;
}

typedef struct Ccai_ofl_section {
    char name[CCAI_OFL_SECTION_MAX];
    uint32_t hash; /* of name: the look-ups compare it first */
    int lang;
    size_t first, n;
    /* its entries starting with a letter of bucket b: the indices
     * lx->byfirst[first + at[b]] to lx->byfirst[first + at[b + 1]] (excluded) */
    uint16_t at[CCAI_OFL_BUCKETS + 1];
} Ccai_ofl_section;

/* The languages: one data file each (data/offline/<prefix>.txt). */
#define CCAI_OFL_LANGS_MAX 16

/* A section name in the lexicon's table of names (offline_data.c). */
typedef struct Ccai_ofl_name {
    uint64_t hash;
    uint32_t len;
    uint32_t first;                   /* a section of that name: its index + 1 (0: empty slot) */
    uint32_t sec[CCAI_OFL_LANGS_MAX]; /* the name's first section in language l: index + 1 */
} Ccai_ofl_name;

/* The sections whose entries end with their value ("seventy 70"), found
 * once at load: the readers look them up for every word. */
typedef enum ofl_valued {
    V_NUMBER,
    V_WEEKDAY,
    V_MONTH,
    V_ORDINAL,  /* "first 1", "premier 1" */
    V_DAYPART,  /* "morning 9": the hour a part of the day stands for */
    V_NEGATOR,  /* "not 4": how many words after it a negator turns around */
    V_RELDAY,   /* "yesterday 1", "avant hier 2": days before today */
    V_RELNIGHT, /* "anoche 1": the night that many days back (a late hour) */
    V_CLOCK,    /* "noon 12", "minuit 0": an hour said as a word */
    V_MINUTE,   /* "quarter 15", "demie 30", "media 30": minutes in a word */
    V_HUNDREDS, /* "cuatrocientos 400", "cent 100": hundreds in one word */
    V_DAYUNIT,  /* "days 1", "a week 7", "semaines 7": days in a unit ("two days ago") */
    V_COUNT
} ofl_valued;
extern const char *const Ccai_ofl_valued_names[V_COUNT];

/* The sections of single words the readers test a word against (any
 * language), found once at load like the valued ones. */
typedef enum ofl_words {
    W_STRIP,          /* [strip.words]: dropped before a command is compared ("please", "je") */
    W_INTERJECTION,   /* [strip.interjections]: also dropped at either end ("ok", "vale") */
    W_KNOW,           /* [know.words]: negated, "I don't know" rather than no ("sure", "sais") */
    W_POL_CONTRAST,   /* [no.contrast]: "but the date": a correction, unless a yes follows */
    W_VERB_LEAD,      /* [correct.verb_lead]: "correct" after these is the verb ("to", "please") */
    W_VERB_OBJECT,    /* [correct.verb_object]: ... or before these ("the", "my") */
    W_CODE_TIME_MARK, /* [code.time_marks]: after digits, a time or a year, not a code ("h", "pm")
                       */
    W_CODE_SKIP,      /* [code.skip]: between a code's cue and the code ("is", "c'est", "mi") */
    W_NAME_PARTICLE,  /* [name.particles]: lower-case words of a name ("van", "de", "del") */
    W_EMAIL_BRING,    /* [email.bring]: before a sign, "with an underscore" ("with", "con") */
    W_NUMBER_AND,     /* [number.and]: "thirty and three" ("and", "et", "y") */
    W_EMAIL_AND,      /* [email.and]: "first name and last name" ("and", "plus", "et", "y") */
    W_KEYWORD_STOP,   /* [keyword.stop]: words a field's keywords leave out ("the", "des") */
    W_COUNT
} ofl_words;
extern const char *const Ccai_ofl_word_names[W_COUNT];

typedef struct Ccai_ofl_lang {
    char prefix[8];                           /* "en", the file's name */
    const char *code;                         /* [lang]: "en-US" */
    const char *msg[M_COUNT];                 /* [msg.<name>] */
    const char *month[12];                    /* [months] */
    const char *label[CCAI_OFL_KNOWN_FIELDS]; /* [label.<field>] */
    const Ccai_ofl_entry *valued[V_COUNT];    /* [number.words], ... */
    size_t nvalued[V_COUNT];
    size_t valued_sec[V_COUNT]; /* their sections' index in lx->sec + 1 (0: none) */
    size_t words_sec[W_COUNT];  /* [strip.words], ...: the same */
} Ccai_ofl_lang;

typedef struct Ccai_ofl_lexicon {
    Ccai_ofl_section *sec;
    size_t nsec, capsec;
    /* The sections by (name, language): open addressing, each slot a
     * section's index + 1 (0: empty), at most half full. */
    uint32_t *idx;
    size_t capidx;
    /* The sections by name alone, each name's section in every language:
     * what the readers look up (hundreds of times a turn), one probe for
     * all the languages; rebuilt after each file. At most half full. */
    struct Ccai_ofl_name *names;
    size_t capnames;
    Ccai_ofl_entry *ent;
    size_t nent, capent;
    /* the entries' indices, each section's in the order of their first
     * letters' buckets (file order within a bucket): a search tries only
     * the entries starting with the word's letter */
    uint32_t *byfirst;
    /* The fields' keywords made so far (offline.c): the same for every call
     * with the same field; filled by Ccai_offline_new() on the context's
     * thread, as the lexicon is used. NULL: none kept. */
    struct Ccai_ofl_kw_cache *kw;
    char *pool; /* the entries' texts */
    size_t npool, cappool;
    Ccai_ofl_lang lang[CCAI_OFL_LANGS_MAX];
    int nlang;
    int en; /* English, what a language without a section falls back on */
} Ccai_ofl_lexicon;

typedef struct token {
    uint16_t start, len; /* in norm */
    uint16_t raw;        /* offset of the first byte in raw */
} token;

struct Ccai_offline {
    size_t nfields;
    offline_field f[CCAI_FIELDS_MAX];
    char *values[CCAI_FIELDS_MAX];
    char *undo[CCAI_FIELDS_MAX];
    bool undo_set[CCAI_FIELDS_MAX];
    char *claim_json;

    char *lang_code;
    char **avail;
    size_t navail;
    char *bot_name, *bot_company;
    char *caller_number; /* E.164, NULL when unknown */
    const Ccai_ofl_lexicon *lex;
    Ccai_ofl_lexicon *own_lex; /* params gave none */
    bool can_transfer;
    bool own_order; /* a field not in [order]: the schema's order (Ccai_ofl_order_init()) */
    double rate;    /* the speaking rate, lowered by "slower" */
    const Ccai_tz *tz;
    int64_t today;  /* local day number since 1970-01-01 */
    int now_minute; /* local minute of the day */

    offline_state st, saved;

    Ccai_offline_action *acts;
    char **texts;
    size_t nacts, capacts;
    Ccai_offline_reply reply;
    Ccai_buf say;
    bool oom;
    bool missed;      /* this turn did not move the dialogue on */
    bool purpose;     /* the turn said what the call is for ([call.purpose]) */
    bool to_person;   /* the turn asks for a person: its facts are noted first */
    bool dt_part;     /* the date read this turn has a part of the day, no hour */
    bool dt_range;    /* ... or a range of hours too wide for one ("between 2 and 6") */
    bool dt_vague;    /* no date read: a day nobody can write ("the other night") */
    bool dt_day_said; /* the last date read said a day ("yesterday", "the 4th"), not only a time */

    /* The current utterance: in a scratch block allocated for one
     * Ccai_offline_input() (about 70 KB an idle call does not need to hold);
     * NULL between turns. */
    struct offline_scratch *scratch;
    char *raw;
    char *norm;
    token *tok;
    size_t ntok;
    bool *used;
    char *stripped;
    char *lenient;
    char *clause;
    char *email_words;
    email_item *email_items;
    uint32_t email_spelled_now; /* the last address heard: its parts spelled (bit k: part k) */
    bool *mask;                 /* tokens an extractor took */
};

/* What answer_polarity() reads in an answer. */
enum { POL_NONE = 0, POL_YES = 1, POL_NO = -1 };

typedef enum dt_result { DT_FAIL, DT_DATE, DT_FULL } dt_result;

typedef enum phone_reason { PH_OK, PH_NONE, PH_COUNTRY, PH_SHORT, PH_LONG } phone_reason;

#define SAYS_SEC(o, section) Ccai_ofl_says_sec(o, (o)->stripped, section)
#define SAYS_SEC_LENIENT(o, section) \
    (SAYS_SEC(o, section) || Ccai_ofl_says_sec(o, (o)->lenient, section))
#define TOK_IN(o, i, list) Ccai_ofl_tok_in(o, i, list, CCAI_ARRAY_SIZE(list))

/* offline_text.c */
/* Latin-1 letters U+00C0..U+00FF without their accents; ' ' for signs. */
extern const char Ccai_ofl_latin1_fold[];
size_t Ccai_ofl_utf8_next(const unsigned char *s, size_t len, uint32_t *cp);
CCAI_MUST_CHECK bool Ccai_ofl_is_digit_ch(char c);
CCAI_MUST_CHECK bool Ccai_ofl_normalise(const char *s, size_t len, char *out, size_t cap,
                                        token *toks, size_t maxtok, size_t *ret_ntok);
CCAI_MUST_CHECK bool Ccai_ofl_in_list(const char *w, size_t n, const char *const *list,
                                      size_t count);
void Ccai_ofl_strip_words(const Ccai_ofl_lexicon *lx, const char *norm, const token *toks,
                          size_t ntok, bool lenient, char *out);
/* Does the stripped utterance @p s say exactly one entry of @p section (any
 * language)? */
CCAI_MUST_CHECK bool Ccai_ofl_says_sec(const Ccai_offline *o, const char *s, const char *section);
CCAI_MUST_CHECK bool Ccai_ofl_tok_is(const Ccai_offline *o, size_t i, const char *w);
CCAI_MUST_CHECK bool Ccai_ofl_tok_in(const Ccai_offline *o, size_t i, const char *const *list,
                                     size_t count);
CCAI_MUST_CHECK /* Is the dot before token i that of an abbreviation ("Mr. Gupta")? */
    CCAI_MUST_CHECK bool
    Ccai_ofl_abbrev_dot(const Ccai_offline *o, size_t i);
bool Ccai_ofl_clause_break(const Ccai_offline *o, size_t i);
int Ccai_ofl_answer_polarity(const Ccai_offline *o);

/* offline_say.c */
void Ccai_ofl_flush_say(Ccai_offline *o, bool expects);
void Ccai_ofl_act(Ccai_offline *o, Ccai_offline_action_kind kind, const char *field,
                  const char *text);
const char *Ccai_ofl_phrase(const Ccai_offline *o, msg m);
/* "7 October 2024 at 23:00" (the date alone at midnight) of an ISO date
 * and time, in language lang; NULL when v is no such date, or on NOMEM
 * (then *ret_nomem is set). */
char *Ccai_ofl_date_words(const Ccai_ofl_lexicon *lx, int lang, const char *v, bool *ret_nomem);
/* The language of a code ("fr-FR": the file fr.txt); English when none. */
int Ccai_ofl_lang_index(const Ccai_ofl_lexicon *lx, const char *code);
/* Say entry k of a data file's section, its "%s" replaced by arg. */
void Ccai_ofl_say_phrase(Ccai_offline *o, const char *section, unsigned k, const char *arg);
/* Say the first entry of a section, its "%s" replaced by a, then b. */
void Ccai_ofl_say_phrase2(Ccai_offline *o, const char *section, const char *a, const char *b);
/* The index of the field named so, o->nfields when there is none. */
size_t Ccai_ofl_field_index(const Ccai_offline *o, const char *name);
void Ccai_ofl_say_msg(Ccai_offline *o, msg m);
void Ccai_ofl_say_msg1(Ccai_offline *o, msg m, const char *a);
void Ccai_ofl_say_msg2(Ccai_offline *o, msg m, const char *a, const char *b);
void Ccai_ofl_free_reply(Ccai_offline *o);
/* Drop what the turn said from action @p from on, keep its SET_FIELDs. */
void Ccai_ofl_keep_values_only(Ccai_offline *o, size_t from);
void Ccai_ofl_set_value(Ccai_offline *o, size_t i, char *value);
char *Ccai_ofl_claim_to_json(const Ccai_offline *o);
void Ccai_ofl_turn_begin(Ccai_offline *o);
CCAI_MUST_CHECK ccai_status Ccai_ofl_turn_end(Ccai_offline *o, const Ccai_offline_reply **ret);
char *Ccai_ofl_label_str(Ccai_offline *o, size_t i, bool capital);
char *Ccai_ofl_field_np(Ccai_offline *o, size_t i);
char *Ccai_ofl_spoken_value(Ccai_offline *o, size_t i);
void Ccai_ofl_ask_question(Ccai_offline *o, size_t i, bool hint);
CCAI_MUST_CHECK bool Ccai_ofl_anything_noted(const Ccai_offline *o);
void Ccai_ofl_say_summary(Ccai_offline *o, msg intro, bool missing);

/* offline_dates.c */
/* The month token i names (1..12; "oct", "octobre", "octubre"), 0. */
int Ccai_ofl_month_of(const Ccai_offline *o, size_t i);
dt_result Ccai_ofl_parse_spoken_date(Ccai_offline *o, bool have_base, int64_t base_day,
                                     int base_hour, size_t corr, char out[64], int64_t *ret_day);

/* offline_contacts.c */
int Ccai_ofl_number_words(const Ccai_offline *o, size_t *i);
/* The same from 0 to 999: "four hundred and twelve", "cinq cent douze",
 * "cuatrocientos veintidós" (codes and phone numbers). */
int Ccai_ofl_number_words_999(const Ccai_offline *o, size_t *i);
/* The region a national number said is read for: the caller's number's
 * country, else the call's language's region ("en-IE": "IE"). */
const char *Ccai_ofl_phone_region(const Ccai_offline *o);
/* The region of the call's language ("en-US": "US"), NULL. */
const char *Ccai_ofl_lang_region(const Ccai_offline *o);
phone_reason Ccai_ofl_spoken_phone(Ccai_offline *o, size_t b, size_t e, const char *region,
                                   char *out, size_t cap);
/* Is an at sign said ("@", [sym.at]; not "at the", [sym.at.not])? */
CCAI_MUST_CHECK bool Ccai_ofl_at_sign(const Ccai_offline *o);
/* The last address said that validates, "" when none; its bytes in raw. */
/* How a value is read back ("j dot h a a s at hotmail dot com"); NULL on
 * a failed allocation (o->oom). */
char *Ccai_ofl_readback(Ccai_offline *o, size_t f);
void Ccai_ofl_spoken_email(Ccai_offline *o, char *out, size_t cap, size_t *ret_raw0,
                           size_t *ret_raw1, bool *ret_sure);

/* offline_data.c */
/* Fill lx->lang[lang]'s tables from its sections (code, phrases, months,
 * labels); CCAI_ERR_PARSE when one is missing. They point into the pool:
 * valid until the next Ccai_ofl_lex_parse() on lx. */
CCAI_MUST_CHECK ccai_status Ccai_ofl_lex_resolve(Ccai_ofl_lexicon *lx, int lang);
/* A lexicon of the files given (prefix "de", its text): what
 * Ccai_offline_lexicon_new() does with the files compiled in. */
CCAI_MUST_CHECK ccai_status Ccai_ofl_lexicon_from(const char *const *prefix,
                                                  const char *const *text, const size_t *len,
                                                  size_t n, Ccai_ofl_lexicon **ret);
CCAI_MUST_CHECK ccai_status Ccai_ofl_lex_parse(Ccai_ofl_lexicon *lx, int lang, const char *text,
                                               size_t len);
void Ccai_ofl_lex_free(Ccai_ofl_lexicon *lx);
size_t Ccai_ofl_lex_get(const Ccai_ofl_lexicon *lx, int lang, const char *section,
                        const Ccai_ofl_entry **ret);
/* Is the word w (n bytes, normalised) an entry of the section @p which in
 * any language? */
CCAI_MUST_CHECK bool Ccai_ofl_word_in(const Ccai_ofl_lexicon *lx, ofl_words which, const char *w,
                                      size_t n);
/* The same for token i of the utterance (false past its end). */
CCAI_MUST_CHECK bool Ccai_ofl_tok_word(const Ccai_offline *o, size_t i, ofl_words which);
/* Letters to change to make one word the other (Levenshtein, ASCII case
 * folded; 64 bytes of each at most are compared): a name said and its
 * spelling, a part of an address and the part said again. */
size_t Ccai_ofl_edit_distance(const char *a, size_t na, const char *b, size_t nb);
/* The section of that name in each language (ret[l] NULL where absent), its
 * name hashed once for all. */
void Ccai_ofl_lex_sections(const Ccai_ofl_lexicon *lx, const char *section,
                           const Ccai_ofl_section **ret);

/* The entries of a section, in every language the lexicon has, that start
 * with the letter c (a word's first byte): each language's bucket of c in
 * file order, its other letters skipped. SEC is the section in language l
 * (NULL: none there): L->s[l] from Ccai_ofl_lex_sections, or
 * Ccai_ofl_valued_sec(lx, l, V_NUMBER), Ccai_ofl_words_sec(lx, l, W_STRIP).
 *
 *     unsigned char c = (unsigned char)w[0];
 *     CCAI_OFL_FOR_ENTRIES (lx, l, Ccai_ofl_valued_sec(lx, l, V_NUMBER), c, norm) {
 *         ... norm: the entry's normalised text; continue: the next entry ...
 *     }
 *
 * Nested loops rather than an iterator object with a next(): the readers
 * spend their time here, and with one (inline or not) bench-offline took
 * 0.6 to 2.3% more instructions under callgrind. A break in the body ends
 * nothing but that entry: leave with return, as the readers do. */
#define CCAI_OFL_FOR_ENTRIES(lx, l, SEC, c, norm)                                                \
    for (unsigned ofl_b_ = Ccai_ofl_bucket(c), ofl_once_ = 1; ofl_once_; ofl_once_ = 0)          \
        for (const Ccai_ofl_section *ofl_s_ = NULL; ofl_once_; ofl_once_ = 0)                    \
            for (int l = 0; l < (lx)->nlang; l++)                                                \
                if ((ofl_s_ = (SEC)) != NULL)                                                    \
                    for (size_t ofl_k_ = ofl_s_->first + ofl_s_->at[ofl_b_];                     \
                         ofl_k_ < ofl_s_->first + ofl_s_->at[ofl_b_ + 1]; ofl_k_++)              \
                        if ((unsigned char)(lx)->ent[(lx)->byfirst[ofl_k_]].norm[0] == (c))      \
                            for (const char *norm = (lx)->ent[(lx)->byfirst[ofl_k_]].norm; norm; \
                                 norm = NULL)

static inline const Ccai_ofl_section *Ccai_ofl_valued_sec(const Ccai_ofl_lexicon *lx, int l,
                                                          ofl_valued which)
{
    size_t si = lx->lang[l].valued_sec[which];
    return si ? &lx->sec[si - 1] : NULL;
}

static inline const Ccai_ofl_section *Ccai_ofl_words_sec(const Ccai_ofl_lexicon *lx, int l,
                                                         ofl_words which)
{
    size_t si = lx->lang[l].words_sec[which];
    return si ? &lx->sec[si - 1] : NULL;
}

/* offline.c: the keyword cache of a lexicon (Ccai_ofl_lexicon.kw). */
struct Ccai_ofl_kw_cache *Ccai_ofl_kw_cache_new(void);
void Ccai_ofl_kw_cache_free(struct Ccai_ofl_kw_cache *c);

/* offline_turn.c */
void Ccai_ofl_handle_answer(Ccai_offline *o);
/* The field of the question asked the caller tried to answer: of "your
 * phone number and e-mail?", the e-mail when the words sound like one. */
size_t Ccai_ofl_attempted_field(const Ccai_offline *o);
/* "Thank you.", "Got it.": an acknowledgement that varies. */
void Ccai_ofl_say_ack(Ccai_offline *o);
void Ccai_ofl_handle_confirm_values(Ccai_offline *o, bool *ret_any);
CCAI_MUST_CHECK bool Ccai_ofl_asks_person(const Ccai_offline *o);
CCAI_MUST_CHECK bool Ccai_ofl_says_slower(const Ccai_offline *o);

/* offline_places.c */
/* A road by its number at token i ("M6", "A7", "E411"; "A-3", "I-94": the
 * letters, the digits next). */
CCAI_MUST_CHECK bool Ccai_ofl_road_code(const Ccai_offline *o, size_t i);

/* offline_extract.c */
const char *Ccai_ofl_lex_phrase(const Ccai_offline *o, const char *section, unsigned k);
/* The longest entry of @p section (any language) said at token i: its words. */
size_t Ccai_ofl_sec_at(const Ccai_offline *o, const char *section, size_t i, size_t e);
/* A section in each language (NULL where it has none), looked up once
 * for several searches: Ccai_ofl_sec_at() without the look-up. */
typedef struct Ccai_ofl_sec_lists {
    const Ccai_ofl_section *s[CCAI_OFL_LANGS_MAX];
} Ccai_ofl_sec_lists;
void Ccai_ofl_sec_lists_get(const Ccai_offline *o, const char *section, Ccai_ofl_sec_lists *L);
size_t Ccai_ofl_sec_lists_at(const Ccai_offline *o, const Ccai_ofl_sec_lists *L, size_t i,
                             size_t e);
/* The same in the dialogue's language alone (o->st.lang). */
size_t Ccai_ofl_sec_at_own(const Ccai_offline *o, const char *section, size_t i, size_t e);
/* The value of the longest "words... value" entry of a valued section said
 * at token i ("seventy 70", "quatre vingt 80"), -1; *ret_n: its words. */
int Ccai_ofl_sec_value(const Ccai_offline *o, ofl_valued which, size_t i, size_t *ret_n);
/* How a field the caller does not know is put off (SKIP_ONCE: asked once
 * more at the end; SKIP_FINAL: not asked again). */
unsigned char Ccai_ofl_dontknow_skip(const Ccai_offline *o, size_t f, bool refuse);
/* Each field's place in [order] and own_order, once the fields are set:
 * the order of the questions is asked at every turn. */
void Ccai_ofl_order_init(Ccai_offline *o);
/* Does the schema have fields of its own (asked in its own order)? */
CCAI_MUST_CHECK bool Ccai_ofl_own_order(const Ccai_offline *o);
size_t Ccai_ofl_field_rank(const Ccai_offline *o, size_t i);

/* offline_form.c */
size_t Ccai_ofl_next_field(const Ccai_offline *o);
void Ccai_ofl_end_call(Ccai_offline *o, Ccai_offline_action_kind kind);
void Ccai_ofl_advance(Ccai_offline *o);
void Ccai_ofl_ask_current(Ccai_offline *o, bool hint);
CCAI_MUST_CHECK bool Ccai_ofl_missed(Ccai_offline *o);
int Ccai_ofl_named_lang(const Ccai_offline *o);
bool Ccai_ofl_switch_lang(Ccai_offline *o, int target);
void Ccai_ofl_say_goodbye(Ccai_offline *o);
CCAI_MUST_CHECK bool Ccai_ofl_says_goodbye(Ccai_offline *o);
void Ccai_ofl_handle_utterance(Ccai_offline *o);
void Ccai_ofl_skip_or_date(Ccai_offline *o);
CCAI_MUST_CHECK ccai_status Ccai_ofl_pending_value(const Ccai_offline *o, char **ret_norm,
                                                   bool *ret_part);
void Ccai_ofl_reject_current(Ccai_offline *o);
/* The caller asks for a human (a transfer), the whole utterance. */
CCAI_MUST_CHECK bool Ccai_ofl_asks_transfer(const Ccai_offline *o);

#endif
