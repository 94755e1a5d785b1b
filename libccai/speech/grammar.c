/* Grammars per answer type and slot interpretation (see grammar.h). */
#include "speech/grammar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[] = {"free", "yesno", "digits", "number",
                                         "date", "email", "choice"};

const char *Ccai_speech_kind_name(Ccai_speech_kind k)
{
    return (unsigned)k < CCAI_ARRAY_SIZE(kind_names) ? kind_names[k] : "?";
}

bool Ccai_speech_kind_parse(const char *name, Ccai_speech_kind *ret)
{
    for (size_t i = 0; name && i < CCAI_ARRAY_SIZE(kind_names); i++)
        if (strcmp(name, kind_names[i]) == 0) {
            *ret = (Ccai_speech_kind)i;
            return true;
        }
    return false;
}

/* ---- vocabulary shared by the grammars and the interpreter ------------ */

static const char *const units[] = {"zero", "one", "two",   "three", "four",
                                    "five", "six", "seven", "eight", "nine"};
static const char *const teens[] = {"ten",     "eleven",  "twelve",    "thirteen", "fourteen",
                                    "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
static const char *const tens[] = {"",      "",      "twenty",  "thirty", "forty",
                                   "fifty", "sixty", "seventy", "eighty", "ninety"};
static const char *const ordinals[] = {
    "",           "first",      "second",     "third",     "fourth",    "fifth",
    "sixth",      "seventh",    "eighth",     "ninth",     "tenth",     "eleventh",
    "twelfth",    "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
    "eighteenth", "nineteenth", "twentieth",  "",          "",          "",
    "",           "",           "",           "",          "",          "",
    "thirtieth"};
static const char *const months[] = {"january",   "february", "march",    "april",
                                     "may",       "june",     "july",     "august",
                                     "september", "october",  "november", "december"};
static const int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
static const char *const weekdays[] = {"monday", "tuesday",  "wednesday", "thursday",
                                       "friday", "saturday", "sunday"};
static const char *const yes_words[] = {"yes", "yeah", "yep", "sure", "correct", "right"};
static const char *const no_words[] = {"no", "nope", "incorrect", "wrong"};
/* The letters as the CMU dictionary spells their names, and the ICAO
 * alphabet callers use to spell. */
static const char *const letters[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i",
                                      "j", "k", "l", "m", "n", "o", "p", "q", "r",
                                      "s", "t", "u", "v", "w", "x", "y", "z"};
static const char *const icao[] = {
    "alpha",  "bravo", "charlie", "delta",  "echo",     "foxtrot", "golf",   "hotel",  "india",
    "juliet", "kilo",  "lima",    "mike",   "november", "oscar",   "papa",   "quebec", "romeo",
    "sierra", "tango", "uniform", "victor", "whiskey",  "x-ray",   "yankee", "zulu"};
static const char *const mail_hosts[] = {"gmail", "hotmail", "yahoo", "outlook"};
static const char *const mail_tlds[] = {"com", "net", "org", "info", "io"};

typedef struct command_word {
    const char *word, *command;
} command_word;

static const command_word commands[] = {
    {"agent", "agent"},   {"operator", "agent"}, {"representative", "agent"}, {"human", "agent"},
    {"repeat", "repeat"}, {"help", "help"},      {"goodbye", "goodbye"},
};

/* ---- generation -------------------------------------------------------- */

typedef struct gen {
    Ccai_grammar *g;
    bool oom;
} gen;

static bool is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || c == '\'' || c == '-' || c >= 0x80;
}

static void add_word(gen *G, const char *w, size_t len)
{
    Ccai_grammar *g = G->g;
    for (size_t i = 0; i < g->n_words; i++)
        if (strncmp(g->words[i], w, len) == 0 && g->words[i][len] == '\0')
            return;
    if (g->n_words == g->cap_words) {
        size_t cap = g->cap_words ? g->cap_words * 2 : 64;
        char **words = Ccai_realloc(g->words, cap * sizeof *words);
        if (!words) {
            G->oom = true;
            return;
        }
        g->words = words;
        g->cap_words = cap;
    }
    char *copy = Ccai_strndup(w, len);
    if (!copy) {
        G->oom = true;
        return;
    }
    g->words[g->n_words++] = copy;
}

/* JSGF syntax (rule names, operators): appended, no words recorded. */
static void syn(gen *G, const char *s)
{
    if (!G->oom && !Ccai_buf_puts(&G->g->jsgf, s))
        G->oom = true;
}

/* JSGF text with words: appended, the words (not the <rule> names)
 * recorded. */
static void words(gen *G, const char *s)
{
    syn(G, s);
    for (const char *p = s; *p && !G->oom;) {
        if (*p == '<') {
            while (*p && *p != '>')
                p++;
            continue;
        }
        if (!is_word_byte((unsigned char)*p)) {
            p++;
            continue;
        }
        const char *w = p;
        while (*p && is_word_byte((unsigned char)*p))
            p++;
        add_word(G, w, (size_t)(p - w));
    }
}

/* "a | b | c" of a table (empty entries skipped). */
static void alternatives(gen *G, const char *const *list, size_t n)
{
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (!list[i][0])
            continue;
        if (!first)
            syn(G, " | ");
        words(G, list[i]);
        first = false;
    }
}

static void rule(gen *G, const char *name, const char *const *list, size_t n)
{
    syn(G, name);
    syn(G, " = ");
    alternatives(G, list, n);
    syn(G, ";\n");
}

/* count - 1 optional copies of item after one required: item [item] ... */
static void repeat(gen *G, const char *item, unsigned count)
{
    syn(G, item);
    for (unsigned i = 1; i < count; i++) {
        syn(G, " [");
        syn(G, item);
        syn(G, "]");
    }
}

static void gen_digits(gen *G)
{
    syn(G, "<digit> = ");
    alternatives(G, units, CCAI_ARRAY_SIZE(units));
    words(G, " | oh;\n<answer> = ");
    repeat(G, "<digit>", CCAI_GRAMMAR_DIGITS_MAX);
    syn(G, ";\n");
}

static void gen_number_rules(gen *G)
{
    rule(G, "<units>", units + 1, 9);
    rule(G, "<teens>", teens, CCAI_ARRAY_SIZE(teens));
    rule(G, "<tens>", tens, CCAI_ARRAY_SIZE(tens));
    syn(G, "<n99> = <units> | <teens> | <tens> [<units>];\n");
    words(G, "<n999> = <n99> | (<units> | a) hundred [[and] <n99>];\n");
}

static void gen_number(gen *G)
{
    gen_number_rules(G);
    words(G, "<answer> = zero | <n999> | <n999> thousand [[and] <n999>];\n");
}

static void gen_date(gen *G)
{
    /* Ordinals 1..31 as spoken: "twenty first", "thirty first". */
    syn(G, "<ord1> = ");
    alternatives(G, ordinals + 1, 9);
    syn(G, ";\n<ordinal> = <ord1> | ");
    alternatives(G, ordinals + 10, 11);
    words(G, " | twenty <ord1> | thirtieth | thirty first;\n");
    rule(G, "<month>", months, CCAI_ARRAY_SIZE(months));
    rule(G, "<weekday>", weekdays, CCAI_ARRAY_SIZE(weekdays));
    /* Day numbers as cardinals, for "march five" / "march twenty one". */
    rule(G, "<units>", units + 1, 9);
    rule(G, "<teens>", teens, CCAI_ARRAY_SIZE(teens));
    words(G, "<daynum> = <units> | <teens> | twenty [<units>] | thirty [one];\n");
    words(G, "<answer> = [the] <ordinal> [of] <month> | <month> [the] (<ordinal> | <daynum>)"
             " | today | tomorrow | [the] day after tomorrow | [on] [next | this] <weekday>;\n");
}

static void gen_email(gen *G)
{
    syn(G, "<letter> = ");
    alternatives(G, letters, CCAI_ARRAY_SIZE(letters));
    syn(G, " | ");
    alternatives(G, icao, CCAI_ARRAY_SIZE(icao));
    syn(G, ";\n");
    rule(G, "<digit>", units, CCAI_ARRAY_SIZE(units));
    words(G, "<char> = <letter> | <digit> | dot | underscore | dash | hyphen;\n");
    syn(G, "<part> = ");
    repeat(G, "<char>", CCAI_GRAMMAR_EMAIL_MAX);
    syn(G, ";\n");
    rule(G, "<host>", mail_hosts, CCAI_ARRAY_SIZE(mail_hosts));
    syn(G, "<tld> = ");
    alternatives(G, mail_tlds, CCAI_ARRAY_SIZE(mail_tlds));
    syn(G, " | <letter> <letter> [<letter>];\n");
    words(G, "<answer> = <part> at (<host> | <part>) dot <tld> [dot <tld>];\n");
}

static ccai_status gen_choice(gen *G, const char *const *choices, size_t n, Ccai_err *err)
{
    Ccai_buf norm = {0};
    ccai_status st = CCAI_OK;
    syn(G, "<answer> = ");
    for (size_t i = 0; i < n && st == CCAI_OK; i++) {
        Ccai_buf_reset(&norm);
        st = Ccai_grammar_normalize_choice(choices[i], &norm);
        if (st != CCAI_OK) {
            if (err)
                Ccai_err_set(err, "choice %zu: %s", i + 1,
                             st == CCAI_ERR_LIMIT ? "too long" : "no word in it");
            break;
        }
        if (i)
            syn(G, " | ");
        words(G, norm.data);
    }
    Ccai_buf_free(&norm);
    if (st != CCAI_OK)
        return st;
    /* "the second one", "number two", "option two" for choice 2. */
    size_t nth = n < 10 ? n : 10;
    words(G, " | [the] (");
    alternatives(G, ordinals + 1, nth);
    words(G, ") [one] | (number | option) (");
    alternatives(G, units + 1, nth < 9 ? nth : 9);
    if (nth == 10)
        words(G, " | ten");
    syn(G, ");\n");
    return CCAI_OK;
}

ccai_status Ccai_grammar_build(Ccai_speech_kind kind, const char *const *choices, size_t n,
                               Ccai_grammar *g, Ccai_err *err)
{
    if (!g || kind == CCAI_SPEECH_FREE || (unsigned)kind > CCAI_SPEECH_KIND_MAX) {
        if (err)
            Ccai_err_set(err, "no grammar for the answer kind %d", (int)kind);
        return CCAI_ERR_INVALID_ARG;
    }
    if ((kind == CCAI_SPEECH_CHOICE) != (n > 0) || (n && !choices)) {
        if (err)
            Ccai_err_set(err, "choices go with the kind \"choice\", and it needs at least one");
        return CCAI_ERR_INVALID_ARG;
    }
    if (n > CCAI_GRAMMAR_CHOICES_MAX) {
        if (err)
            Ccai_err_set(err, "more than %d choices", CCAI_GRAMMAR_CHOICES_MAX);
        return CCAI_ERR_LIMIT;
    }
    for (size_t i = 0; i < n; i++)
        if (!choices[i]) {
            if (err)
                Ccai_err_set(err, "choice %zu is NULL", i + 1);
            return CCAI_ERR_INVALID_ARG;
        }
    gen G = {g, false};
    syn(&G, "#JSGF V1.0;\ngrammar ");
    syn(&G, Ccai_speech_kind_name(kind));
    syn(&G, ";\npublic <utt> = <answer> | <command>;\n");
    /* "agent", "i want to speak to an agent", "repeat that please" */
    words(&G, "<command> = [i want | i would like | can i] [to speak | to talk | speak | talk] "
              "[to] [an | a] (");
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(commands); i++) {
        if (i)
            syn(&G, " | ");
        words(&G, commands[i].word);
    }
    words(&G, ") [that] [please];\n");
    ccai_status st = CCAI_OK;
    switch (kind) {
    case CCAI_SPEECH_YESNO:
        syn(&G, "<yes> = ");
        alternatives(&G, yes_words, CCAI_ARRAY_SIZE(yes_words));
        words(&G, " | that's right | of course;\n<no> = ");
        alternatives(&G, no_words, CCAI_ARRAY_SIZE(no_words));
        words(&G, " | not really;\n<answer> = (<yes> | <no>) [please | thank you | thanks];\n");
        break;
    case CCAI_SPEECH_DIGITS: gen_digits(&G); break;
    case CCAI_SPEECH_NUMBER: gen_number(&G); break;
    case CCAI_SPEECH_DATE: gen_date(&G); break;
    case CCAI_SPEECH_EMAIL: gen_email(&G); break;
    case CCAI_SPEECH_CHOICE: st = gen_choice(&G, choices, n, err); break;
    case CCAI_SPEECH_FREE: break;
    }
    if (st == CCAI_OK && G.oom)
        st = CCAI_ERR_NOMEM;
    return st;
}

void Ccai_grammar_clear(Ccai_grammar *g)
{
    if (!g)
        return;
    Ccai_buf_free(&g->jsgf);
    for (size_t i = 0; i < g->n_words; i++)
        ccai_free(g->words[i]);
    ccai_free(g->words);
    memset(g, 0, sizeof *g);
}

/* ---- normalisation of choices ------------------------------------------ */

/* n (0..999 999) in words, appended to out with a leading space when out
 * is not empty. */
static bool number_words(unsigned n, Ccai_buf *out)
{
    char tmp[160];
    size_t len = 0;
    unsigned parts[2] = {n / 1000, n % 1000};
    for (int i = 0; i < 2; i++) {
        unsigned v = parts[i];
        if (v == 0)
            continue;
        if (v >= 100)
            len += (size_t)snprintf(tmp + len, sizeof tmp - len, " %s hundred", units[v / 100]);
        v %= 100;
        if (v >= 20)
            len += (size_t)snprintf(tmp + len, sizeof tmp - len, " %s", tens[v / 10]);
        if (v >= 10 && v < 20)
            len += (size_t)snprintf(tmp + len, sizeof tmp - len, " %s", teens[v - 10]);
        else if (v % 10)
            len += (size_t)snprintf(tmp + len, sizeof tmp - len, " %s", units[v % 10]);
        if (i == 0)
            len += (size_t)snprintf(tmp + len, sizeof tmp - len, " thousand");
    }
    if (n == 0)
        len = (size_t)snprintf(tmp, sizeof tmp, " zero");
    const char *s = out->len ? tmp : tmp + 1;
    return Ccai_buf_puts(out, s);
}

ccai_status Ccai_grammar_normalize_choice(const char *choice, Ccai_buf *out)
{
    if (!choice || !out)
        return CCAI_ERR_INVALID_ARG;
    size_t len = strlen(choice), n_words = 0;
    if (len > CCAI_GRAMMAR_CHOICE_MAX)
        return CCAI_ERR_LIMIT;
    for (size_t i = 0; i < len;) {
        unsigned char c = (unsigned char)choice[i];
        if (Ccai_is_digit(c)) {
            unsigned v = 0;
            size_t j = i;
            while (j < len && Ccai_is_digit((unsigned char)choice[j]) && v < 1000000)
                v = v * 10 + (unsigned)(choice[j++] - '0');
            if (v >= 1000000)
                return CCAI_ERR_LIMIT;
            if (!number_words(v, out))
                return CCAI_ERR_NOMEM;
            n_words++;
            i = j;
            continue;
        }
        if (!Ccai_is_alpha(c) && c < 0x80) {
            i++;
            continue;
        }
        /* A word: letters (ASCII lower-cased, UTF-8 bytes kept for the
         * dictionary check to name), inner apostrophes and hyphens. */
        if (out->len && !Ccai_buf_puts(out, " "))
            return CCAI_ERR_NOMEM;
        while (i < len) {
            c = (unsigned char)choice[i];
            bool inner = (c == '\'' || c == '-') && i + 1 < len &&
                         (Ccai_is_alpha((unsigned char)choice[i + 1]) ||
                          (unsigned char)choice[i + 1] >= 0x80);
            if (!Ccai_is_alpha(c) && c < 0x80 && !inner)
                break;
            char lc = (char)Ccai_to_lower(c);
            if (!Ccai_buf_append(out, &lc, 1))
                return CCAI_ERR_NOMEM;
            i++;
        }
        n_words++;
    }
    if (n_words == 0)
        return CCAI_ERR_INVALID_ARG;
    size_t spaces = 0;
    for (size_t i = 0; i < out->len; i++)
        spaces += out->data[i] == ' ';
    if (spaces + 1 > CCAI_GRAMMAR_WORDS_MAX)
        return CCAI_ERR_LIMIT;
    return CCAI_OK;
}

/* ---- interpretation ----------------------------------------------------- */

#define TEXT_MAX  4096
#define WORDS_MAX 512

typedef struct tokens {
    char buf[TEXT_MAX + 1];
    const char *w[WORDS_MAX];
    size_t n;
} tokens;

static void tokenize(const char *text, tokens *t)
{
    size_t len = 0;
    for (; text && text[len] && len < TEXT_MAX; len++)
        t->buf[len] = (char)Ccai_to_lower((unsigned char)text[len]);
    t->buf[len] = '\0';
    t->n = 0;
    char *p = t->buf;
    while (*p && t->n < WORDS_MAX) {
        while (*p && !is_word_byte((unsigned char)*p) && !Ccai_is_digit((unsigned char)*p))
            *p++ = '\0';
        if (!*p)
            break;
        t->w[t->n++] = p;
        while (*p && (is_word_byte((unsigned char)*p) || Ccai_is_digit((unsigned char)*p)))
            p++;
    }
}

static int find(const char *w, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i][0] && strcmp(w, list[i]) == 0)
            return (int)i;
    return -1;
}

static bool is(const tokens *t, size_t i, const char *w)
{
    return i < t->n && strcmp(t->w[i], w) == 0;
}

static int digit_of(const char *w)
{
    if (strcmp(w, "oh") == 0 || strcmp(w, "o") == 0)
        return 0;
    if (Ccai_is_digit((unsigned char)w[0]) && !w[1])
        return w[0] - '0';
    return find(w, units, CCAI_ARRAY_SIZE(units));
}

static void set_value(Ccai_slot *ret, const char *v)
{
    snprintf(ret->value, sizeof ret->value, "%s", v);
    ret->matched = true;
}

static bool interpret_yesno(const tokens *t, Ccai_slot *ret)
{
    for (size_t i = 0; i < t->n; i++) {
        if (find(t->w[i], yes_words, CCAI_ARRAY_SIZE(yes_words)) >= 0 ||
            (is(t, i, "of") && is(t, i + 1, "course")) || is(t, i, "that's")) {
            if (is(t, i, "that's") && !is(t, i + 1, "right"))
                continue;
            set_value(ret, "yes");
            return true;
        }
        if (find(t->w[i], no_words, CCAI_ARRAY_SIZE(no_words)) >= 0 ||
            (is(t, i, "not") && is(t, i + 1, "really"))) {
            set_value(ret, "no");
            return true;
        }
    }
    return false;
}

/* The longest run of digit words (at most CCAI_GRAMMAR_DIGITS_MAX). */
static bool interpret_digits(const tokens *t, Ccai_slot *ret)
{
    char best[CCAI_GRAMMAR_DIGITS_MAX + 1] = "", cur[CCAI_GRAMMAR_DIGITS_MAX + 1];
    size_t best_len = 0;
    for (size_t i = 0; i < t->n;) {
        size_t len = 0;
        while (i < t->n && digit_of(t->w[i]) >= 0 && len < CCAI_GRAMMAR_DIGITS_MAX)
            cur[len++] = (char)('0' + digit_of(t->w[i++]));
        if (len > best_len) {
            memcpy(best, cur, len);
            best[len] = '\0';
            best_len = len;
        }
        if (len == 0)
            i++;
    }
    if (!best_len)
        return false;
    set_value(ret, best);
    return true;
}

/* A number below 100 at t->w[*i]: advances *i; -1 when none. */
static int parse_n99(const tokens *t, size_t *i)
{
    if (*i >= t->n)
        return -1;
    int v;
    if ((v = find(t->w[*i], teens, CCAI_ARRAY_SIZE(teens))) >= 0) {
        ++*i;
        return 10 + v;
    }
    if ((v = find(t->w[*i], tens, CCAI_ARRAY_SIZE(tens))) >= 2) {
        ++*i;
        int u = *i < t->n ? find(t->w[*i], units, CCAI_ARRAY_SIZE(units)) : -1;
        if (u > 0) {
            ++*i;
            return v * 10 + u;
        }
        return v * 10;
    }
    if ((v = find(t->w[*i], units, CCAI_ARRAY_SIZE(units))) > 0) {
        ++*i;
        return v;
    }
    return -1;
}

static int parse_n999(const tokens *t, size_t *i)
{
    size_t j = *i;
    int h = -1;
    if (is(t, j, "a") && is(t, j + 1, "hundred"))
        h = 1;
    else if (j < t->n && find(t->w[j], units, CCAI_ARRAY_SIZE(units)) > 0 &&
             is(t, j + 1, "hundred"))
        h = find(t->w[j], units, CCAI_ARRAY_SIZE(units));
    if (h > 0) {
        j += 2;
        size_t k = is(t, j, "and") ? j + 1 : j;
        int rest = parse_n99(t, &k);
        if (rest >= 0)
            j = k;
        *i = j;
        return h * 100 + (rest > 0 ? rest : 0);
    }
    return parse_n99(t, i);
}

static bool interpret_number(const tokens *t, Ccai_slot *ret)
{
    for (size_t i = 0; i < t->n; i++) {
        if (is(t, i, "zero")) {
            set_value(ret, "0");
            return true;
        }
        size_t j = i;
        int v = parse_n999(t, &j);
        if (v < 0)
            continue;
        long total = v;
        if (is(t, j, "thousand")) {
            total = (long)v * 1000;
            size_t k = is(t, j + 1, "and") ? j + 2 : j + 1;
            int low = parse_n999(t, &k);
            if (low > 0)
                total += low;
        }
        char buf[16];
        snprintf(buf, sizeof buf, "%ld", total);
        set_value(ret, buf);
        return true;
    }
    return false;
}

/* An ordinal 1..31 at t->w[*i] ("twenty first" included); 0 when none. */
static int parse_ordinal(const tokens *t, size_t *i)
{
    if (*i >= t->n)
        return 0;
    int v = find(t->w[*i], ordinals, CCAI_ARRAY_SIZE(ordinals));
    if (v > 0) {
        ++*i;
        return v;
    }
    if ((is(t, *i, "twenty") || is(t, *i, "thirty")) && *i + 1 < t->n) {
        int o = find(t->w[*i + 1], ordinals, 10);
        if (o > 0) {
            int base = is(t, *i, "twenty") ? 20 : 30;
            *i += 2;
            return base + o;
        }
    }
    return 0;
}

static bool set_date(Ccai_slot *ret, int month, int day)
{
    if (month < 1 || month > 12 || day < 1 || day > month_days[month - 1])
        return false;
    char buf[16];
    snprintf(buf, sizeof buf, "--%02d-%02d", month, day);
    set_value(ret, buf);
    return true;
}

static bool interpret_date(const tokens *t, Ccai_slot *ret)
{
    for (size_t i = 0; i < t->n; i++) {
        const char *w = t->w[i];
        if (strcmp(w, "today") == 0 || strcmp(w, "tomorrow") == 0) {
            bool after = i >= 2 && is(t, i - 2, "day") && is(t, i - 1, "after");
            set_value(ret, after ? "day after tomorrow" : w);
            return true;
        }
        int wd = find(w, weekdays, CCAI_ARRAY_SIZE(weekdays));
        if (wd >= 0) {
            char buf[32];
            snprintf(buf, sizeof buf, "%s%s", i > 0 && is(t, i - 1, "next") ? "next " : "", w);
            set_value(ret, buf);
            return true;
        }
        int m = find(w, months, CCAI_ARRAY_SIZE(months));
        if (m >= 0) {
            /* "march the fifth", "march fifth", "march five" */
            size_t j = is(t, i + 1, "the") ? i + 2 : i + 1;
            int day = parse_ordinal(t, &j);
            if (!day) {
                day = parse_n99(t, &j);
                if (day < 0)
                    day = 0;
            }
            if (day)
                return set_date(ret, m + 1, day);
            continue;
        }
        size_t j = i;
        int day = parse_ordinal(t, &j);
        if (day) {
            if (is(t, j, "of"))
                j++;
            int mm = j < t->n ? find(t->w[j], months, CCAI_ARRAY_SIZE(months)) : -1;
            if (mm >= 0)
                return set_date(ret, mm + 1, day);
        }
    }
    return false;
}

/* The character a spelled word stands for; 0 when none. */
static char spelled_char(const char *w)
{
    int v;
    if ((v = find(w, letters, CCAI_ARRAY_SIZE(letters))) >= 0 ||
        (v = find(w, icao, CCAI_ARRAY_SIZE(icao))) >= 0)
        return (char)('a' + v);
    if (strcmp(w, "xray") == 0)
        return 'x';
    if ((v = digit_of(w)) >= 0 && strcmp(w, "o") != 0 && strcmp(w, "oh") != 0)
        return (char)('0' + v);
    if (strcmp(w, "dot") == 0 || strcmp(w, "period") == 0)
        return '.';
    if (strcmp(w, "underscore") == 0)
        return '_';
    if (strcmp(w, "dash") == 0 || strcmp(w, "hyphen") == 0)
        return '-';
    return 0;
}

static bool interpret_email(const tokens *t, Ccai_slot *ret)
{
    char out[CCAI_SLOT_MAX];
    size_t len = 0, at = 0;
    bool have_at = false;
    /* Start at the first spelled character before "at". */
    for (size_t i = 0; i < t->n && len + 16 < sizeof out; i++) {
        const char *w = t->w[i];
        char c = spelled_char(w);
        if (c && !(c == '.' && (len == 0 || out[len - 1] == '.'))) {
            out[len++] = c;
            continue;
        }
        if (strcmp(w, "at") == 0 && !have_at && len > 0) {
            have_at = true;
            at = len;
            out[len++] = '@';
            continue;
        }
        if (have_at && (find(w, mail_hosts, CCAI_ARRAY_SIZE(mail_hosts)) >= 0 ||
                        find(w, mail_tlds, CCAI_ARRAY_SIZE(mail_tlds)) >= 0)) {
            size_t wl = strlen(w);
            memcpy(out + len, w, wl);
            len += wl;
            continue;
        }
        if (have_at)
            break; /* a word that is not part of the address ends it */
        len = 0;   /* before "at": start again after the stray word */
    }
    while (len > 0 && out[len - 1] == '.')
        len--;
    out[len] = '\0';
    if (!have_at || at == 0 || len <= at + 1)
        return false;
    const char *dom = out + at + 1;
    const char *dot = strrchr(dom, '.');
    if (!dot || dot == dom || !dot[1] || out[at - 1] == '.' || dom[0] == '.')
        return false;
    set_value(ret, out);
    return true;
}

static ccai_status interpret_choice(const tokens *t, const char *const *choices, size_t n,
                                    Ccai_slot *ret)
{
    /* A choice's words in order, anywhere in the text; the longest wins. */
    size_t best_words = 0;
    int best = -1;
    Ccai_buf norm = {0};
    tokens ct;
    bool valid[CCAI_GRAMMAR_CHOICES_MAX] = {false};
    if (n > CCAI_GRAMMAR_CHOICES_MAX)
        n = CCAI_GRAMMAR_CHOICES_MAX;
    for (size_t c = 0; c < n; c++) {
        Ccai_buf_reset(&norm);
        ccai_status st =
            choices[c] ? Ccai_grammar_normalize_choice(choices[c], &norm) : CCAI_ERR_INVALID_ARG;
        if (st == CCAI_ERR_NOMEM) {
            Ccai_buf_free(&norm);
            return st;
        }
        if (st != CCAI_OK)
            continue;
        valid[c] = true;
        tokenize(norm.data, &ct);
        for (size_t i = 0; ct.n && i + ct.n <= t->n; i++) {
            size_t k = 0;
            while (k < ct.n && strcmp(t->w[i + k], ct.w[k]) == 0)
                k++;
            if (k == ct.n && k > best_words) {
                best_words = k;
                best = (int)c;
            }
        }
    }
    Ccai_buf_free(&norm);
    if (best < 0) {
        /* "the second one", "number two", "option two" */
        for (size_t i = 0; i < t->n && best < 0; i++) {
            int o = find(t->w[i], ordinals, 11);
            if (o > 0 && !(i + 1 < t->n && find(t->w[i + 1], months, 12) >= 0))
                best = o - 1;
            else if ((is(t, i, "number") || is(t, i, "option")) && i + 1 < t->n) {
                int u = find(t->w[i + 1], units, CCAI_ARRAY_SIZE(units));
                if (u > 0)
                    best = u - 1;
                else if (is(t, i + 1, "ten"))
                    best = 9;
            }
        }
        if (best >= (int)n || (best >= 0 && !valid[best]))
            best = -1;
    }
    if (best >= 0)
        set_value(ret, choices[best]);
    return CCAI_OK;
}

ccai_status Ccai_slot_interpret(Ccai_speech_kind kind, const char *text, const char *const *choices,
                                size_t n, Ccai_slot *ret)
{
    memset(ret, 0, sizeof *ret);
    tokens t;
    tokenize(text, &t);
    ccai_status st = CCAI_OK;
    switch (kind) {
    case CCAI_SPEECH_YESNO: interpret_yesno(&t, ret); break;
    case CCAI_SPEECH_DIGITS: interpret_digits(&t, ret); break;
    case CCAI_SPEECH_NUMBER: interpret_number(&t, ret); break;
    case CCAI_SPEECH_DATE: interpret_date(&t, ret); break;
    case CCAI_SPEECH_EMAIL: interpret_email(&t, ret); break;
    case CCAI_SPEECH_CHOICE:
        if (choices)
            st = interpret_choice(&t, choices, n, ret);
        break;
    case CCAI_SPEECH_FREE: break;
    }
    if (!ret->matched) {
        ret->value[0] = '\0';
        for (size_t i = 0; i < t.n && !ret->command; i++)
            for (size_t c = 0; c < CCAI_ARRAY_SIZE(commands); c++)
                if (strcmp(t.w[i], commands[c].word) == 0) {
                    ret->command = commands[c].command;
                    break;
                }
    }
    return st;
}
