/* The offline dialogue: spoken dates and times, resolved against the
 * caller's local day towards the past (offline.c tells the rules). */
#include "engine/offline_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* Calendar                                                                 */
/* ------------------------------------------------------------------------ */

/* Monday is 0. 1970-01-01 was a Thursday. */
static int weekday(int64_t days)
{
    return (int)(((days + 3) % 7 + 7) % 7);
}

/* ------------------------------------------------------------------------ */
/* Spoken dates                                                             */
/* ------------------------------------------------------------------------ */

/* Month and weekday words are data: [month.words] ("january 1", "jan 1"),
 * [weekday.words] ("monday 1" .. "sunday 7"). */
int Ccai_ofl_month_of(const Ccai_offline *o, size_t i)
{
    size_t n;
    int m = Ccai_ofl_sec_value(o, V_MONTH, i, &n);
    return n == 1 && m >= 1 && m <= 12 ? m : 0;
}

static int weekday_of(const Ccai_offline *o, size_t i)
{
    size_t n;
    int d = Ccai_ofl_sec_value(o, V_WEEKDAY, i, &n);
    return n == 1 && d >= 1 && d <= 7 ? d - 1 : -1;
}

/* Does the call's language's region write the month first ([date.month_first],
 * read from en.txt: regions, not words)? */
static bool month_first_region(const Ccai_offline *o)
{
    const char *region = Ccai_ofl_lang_region(o);
    const Ccai_ofl_entry *e;
    size_t n = region ? Ccai_ofl_lex_get(o->lex, o->lex->en, "date.month_first", &e) : 0;
    for (size_t k = 0; k < n; k++)
        if (Ccai_strcasecmp(e[k].text, region) == 0)
            return true;
    return false;
}

/* Leading decimal digits of a token (at most 4) and where they stop. */
static int tok_number(const Ccai_offline *o, size_t i, size_t *ret_digits)
{
    const char *t = o->norm + o->tok[i].start;
    size_t n = 0;
    int v = 0;
    while (n < o->tok[i].len && Ccai_ofl_is_digit_ch(t[n]) && n < 5) {
        v = v * 10 + (t[n] - '0');
        n++;
    }
    *ret_digits = n;
    return n > 4 ? -1 : v;
}

/* A day of the month: "8", "8th", "1st", "1er", or an ordinal in words
 * ([ordinal.words]: "first", "premier", "twenty first"); *ret_n: its words. */
static int day_of_n(const Ccai_offline *o, size_t i, size_t *ret_n)
{
    *ret_n = 1;
    if (i >= o->ntok || o->used[i])
        return 0;
    size_t n;
    int w = Ccai_ofl_sec_value(o, V_ORDINAL, i, &n);
    if (w >= 1 && w <= 31) {
        for (size_t k = i; k < i + n; k++)
            if (o->used[k])
                return 0;
        *ret_n = n;
        return w;
    }
    size_t nd;
    int v = tok_number(o, i, &nd);
    if (nd == 0 || nd > 2 || v < 1 || v > 31)
        return 0;
    static const char *const suffixes[] = {"", "st", "nd", "rd", "th", "er", "re", "e", "eme", "o"};
    const char *sfx = o->norm + o->tok[i].start + nd;
    return Ccai_ofl_in_list(sfx, o->tok[i].len - nd, suffixes, CCAI_ARRAY_SIZE(suffixes)) ? v : 0;
}

/* "10ish", "10hrs": digits and a one-word [time.marker] in one token. */
static CCAI_MUST_CHECK bool marker_suffix(const Ccai_offline *o, size_t i, size_t nd)
{
    const char *t = o->norm + o->tok[i].start + nd;
    size_t n = o->tok[i].len - nd;
    for (int l = 0; n > 0 && l < o->lex->nlang; l++) {
        const Ccai_ofl_entry *ent;
        size_t c = Ccai_ofl_lex_get(o->lex, l, "time.marker", &ent);
        for (size_t k = 0; k < c; k++)
            if (strlen(ent[k].norm) == n && memcmp(ent[k].norm, t, n) == 0)
                return true;
    }
    return false;
}

/* An hour or a number of minutes said in words or digits at token *i
 * ("dix-sept", "twenty", "14"), advancing *i past it; -1 when none. */
static int spoken_int(const Ccai_offline *o, size_t *i)
{
    if (*i >= o->ntok)
        return -1;
    size_t nd;
    int v = tok_number(o, *i, &nd);
    if (nd > 0 && nd <= 2 && (nd == o->tok[*i].len || marker_suffix(o, *i, nd))) {
        (*i)++;
        return v;
    }
    if (nd > 0)
        return -1;
    if (Ccai_ofl_tok_is(o, *i, "oh") || Ccai_ofl_tok_is(o, *i, "zero"))
        return -1;
    return Ccai_ofl_number_words(o, i);
}

static CCAI_MUST_CHECK bool hesitation_tok(const Ccai_offline *o, size_t i)
{
    static const char *const words[] = {"uh", "um", "er",   "erm", "euh", "heu",
                                        "eh", "em", "like", "say", "d",   "i"};
    return TOK_IN(o, i, words);
}

typedef struct dt_parse {
    int day, month, year; /* 0 when not said */
    bool have_rel;
    int rel;
    int wday;         /* -1 */
    int hour, minute; /* -1 */
    int part_hour;    /* -1 */
    int meridiem;     /* 0, 1 am, 2 pm */
    bool night;
    bool last;       /* "last Tuesday", "mardi dernier": before today */
    bool clock;      /* the hour is a word: "noon", "minuit" ([clock.words]) */
    bool h24;        /* the hour written with a leading zero: "07:00", "03h" */
    bool vague;      /* a day nobody can write: "the other night" ([day.vague]) */
    bool wide;       /* a range of hours too wide for one: "between 2 and 6" */
    bool days;       /* a range of days: "between the 1st and the 5th" */
    size_t hour_end; /* the token after the hour said, 0 */
} dt_parse;

#define DT_PARSE_INIT                                                                            \
    {                                                                                            \
        0, 0, 0, false, 0, -1, -1, -1, -1, 0, false, false, false, false, false, false, false, 0 \
    }

/* Words after a number that make it an hour ([time.marker]: "h",
 * "heures", "pm", "o'clock", "ish", "or so"). */
static CCAI_MUST_CHECK bool hour_marker(const Ccai_offline *o, size_t i)
{
    return i < o->ntok && Ccai_ofl_sec_at(o, "time.marker", i, o->ntok) > 0;
}

static CCAI_MUST_CHECK bool hour_lead(const Ccai_offline *o, size_t i);

static CCAI_MUST_CHECK bool upper_at(const Ccai_offline *o, size_t i)
{
    unsigned char c = (unsigned char)o->raw[o->tok[i].raw];
    return c >= 'A' && c <= 'Z';
}

/* A clock word with a capital inside a sentence, in a name's company, is
 * a name ("la rue du Midi", "the Midnight Diner", "calle Mediodía"): after
 * a name particle or a street word, or before another capitalised word.
 * Not the hour said with a capital after a comma, alone or after an
 * hour's lead ("Oui, Midi.", "Around Noon", "a eso de la Medianoche"). */
static CCAI_MUST_CHECK bool clock_word_named(const Ccai_offline *o, size_t i)
{
    size_t r = o->tok[i].raw;
    if (i == 0 || !upper_at(o, i))
        return false;
    while (r > 0 && (o->raw[r - 1] == ' ' || o->raw[r - 1] == '"'))
        r--;
    if (r == 0 || strchr(".?!,;:", o->raw[r - 1]) || hour_lead(o, i))
        return false;
    return Ccai_ofl_tok_word(o, i - 1, W_NAME_PARTICLE) ||
           Ccai_ofl_sec_at(o, "location.street", i - 1, i) == 1 ||
           (i + 1 < o->ntok && upper_at(o, i + 1) && !Ccai_ofl_clause_break(o, i + 1));
}

/* Words before a number that make it an hour ([time.lead]: "at",
 * "around", "vers", "sobre"), hesitations between them. */
static CCAI_MUST_CHECK bool hour_lead(const Ccai_offline *o, size_t i)
{
    /* a lead that is a hesitation too ("more like ten": "like") is a lead */
    /* "la A-3", "I-94": a road's number, not "à 3" */
    if (i > 0 && Ccai_ofl_road_code(o, i - 1))
        return false;
    for (;; i--) {
        if ((i > 0 && Ccai_ofl_sec_at(o, "time.lead", i - 1, i) == 1) ||
            (i > 1 && Ccai_ofl_sec_at(o, "time.lead", i - 2, i) == 2))
            return true;
        if (i == 0 || !hesitation_tok(o, i - 1))
            return false;
    }
}

/* A number followed by a street or a capitalised word is an address
 * ("at 12 Elm Street"), not an hour. */
static CCAI_MUST_CHECK bool address_next(const Ccai_offline *o, size_t i)
{
    if (i + 1 >= o->ntok || Ccai_ofl_clause_break(o, i + 1))
        return false;
    unsigned char c = (unsigned char)o->raw[o->tok[i + 1].raw];
    /* not "around ten I think", "at nine Monday" */
    bool word =
        hesitation_tok(o, i + 1) || weekday_of(o, i + 1) >= 0 || Ccai_ofl_month_of(o, i + 1) != 0;
    return (c >= 'A' && c <= 'Z' && !hour_marker(o, i + 1) && !word) ||
           Ccai_ofl_tok_is(o, i + 1, "rue") || Ccai_ofl_tok_is(o, i + 1, "street") ||
           Ccai_ofl_tok_is(o, i + 1, "avenue") || Ccai_ofl_tok_is(o, i + 1, "calle");
}

/* Minutes after an hour: "thirty", "15", "et quart", "y media", "menos
 * cuarto", "moins le quart", "and a half". Returns the minutes to add
 * (negative: before the hour), tokens taken in *k. */
/* The words are data: [minute.minus] ("menos", "moins le"), [minute.plus]
 * ("et", "y", "and a"), [minute.words] ("quart 15", "media 30"). */
static CCAI_MUST_CHECK bool minutes_after(const Ccai_offline *o, size_t *k, int *ret)
{
    size_t j = *k, n;
    bool minus = false;
    if ((n = Ccai_ofl_sec_at(o, "minute.minus", j, o->ntok)) > 0) {
        minus = true;
        j += n;
    } else if ((n = Ccai_ofl_sec_at(o, "minute.plus", j, o->ntok)) > 0) {
        j += n;
    }
    int m = -1;
    int w = Ccai_ofl_sec_value(o, V_MINUTE, j, &n);
    if (w >= 1 && w < 60) {
        m = w;
        j += n;
    } else if (j != *k || !minus) {
        size_t t = j;
        int v = spoken_int(o, &t);
        if (v >= 1 && v < 60 && (j != *k || v >= 10)) {
            m = v;
            j = t;
        }
    }
    if (m < 0)
        return false;
    *ret = minus ? -m : m;
    *k = j;
    return true;
}

/* "14:30", "14h30", "14h", "2pm", "2:30pm", "9.15" (after a lead word). */
static CCAI_MUST_CHECK bool parse_clock(const Ccai_offline *o, size_t i, dt_parse *p)
{
    const char *t = o->norm + o->tok[i].start;
    size_t len = o->tok[i].len, nd;
    int h = tok_number(o, i, &nd);
    if (nd == 0 || nd > 2)
        return false;
    int m = 0;
    size_t k = nd;
    /* "9.30" is an hour after a lead word or before a marker ("at 9.30",
     * "9.30 pm", "9.30pm"), a date otherwise ("8.10") */
    bool dot_hour =
        hour_lead(o, i) || hour_marker(o, i + 1) ||
        (len > 2 && (memcmp(t + len - 2, "pm", 2) == 0 || memcmp(t + len - 2, "am", 2) == 0));
    bool sep_h = false;
    if (k < len && (t[k] == ':' || t[k] == 'h' || (t[k] == '.' && dot_hour))) {
        char sep = t[k++];
        sep_h = sep == 'h';
        size_t m0 = k;
        while (k < len && Ccai_ofl_is_digit_ch(t[k]) && k - m0 < 3)
            m = m * 10 + (t[k++] - '0');
        if (k - m0 != 2 && !(sep == 'h' && k == m0))
            return false;
    } else if (k == len) {
        return false;
    }
    int mer = 0;
    if (k + 2 == len && memcmp(t + k, "pm", 2) == 0)
        mer = 2, k += 2;
    else if (k + 2 == len && memcmp(t + k, "am", 2) == 0)
        mer = 1, k += 2;
    if (k != len || h > 24 || m > 59)
        return false;
    p->hour = h;
    p->minute = m;
    /* "07:00", "2h30" (the 24-hour clock's minutes after "h") */
    p->h24 = (nd == 2 && t[0] == '0') || (sep_h && k > nd + 1);
    if (mer)
        p->meridiem = mer;
    return true;
}

/* Dates written with digits: "2024-10-08", "08/10/2024", "8/10", "8.10.2024". */
static CCAI_MUST_CHECK bool parse_numeric_date(const Ccai_offline *o, size_t i, dt_parse *p)
{
    const char *t = o->norm + o->tok[i].start;
    size_t len = o->tok[i].len;
    int part[3] = {0, 0, 0};
    size_t digits[3] = {0, 0, 0}, np = 0;
    char sep = 0;
    for (size_t k = 0; k < len; k++) {
        if (Ccai_ofl_is_digit_ch(t[k])) {
            if (digits[np] >= 4)
                return false;
            part[np] = part[np] * 10 + (t[k] - '0');
            digits[np]++;
        } else if ((t[k] == '-' || t[k] == '/' || t[k] == '.') && (!sep || sep == t[k]) && np < 2) {
            sep = t[k];
            np++;
        } else {
            return false;
        }
    }
    if (!sep || np == 0)
        return false;
    /* "at 9.30", "9.30 pm", "21.45": an hour, not a day and a month */
    if (sep == '.' && np == 1 && digits[1] == 2 && part[0] <= 24 &&
        (hour_lead(o, i) || hour_marker(o, i + 1) || part[1] > 12))
        return false;
    if (digits[0] == 4 && np == 2) {
        p->year = part[0];
        p->month = part[1];
        p->day = part[2];
        return true;
    }
    if (digits[0] > 2 || digits[1] > 2 || (np == 2 && digits[2] != 4 && digits[2] != 2))
        return false;
    /* the month first where the call's language says so ([date.month_first]
     * regions: "en-US": "10/3" is October 3rd; not from the caller's
     * number: +1 is also Canada's and the Caribbean's), or when the other
     * order is no date ("25/12", "12/25") */
    bool month_first = sep != '.' && month_first_region(o);
    if (part[0] > 12 && part[1] <= 12)
        month_first = false;
    else if (part[1] > 12 && part[0] <= 12)
        month_first = true;
    /* "carrera 7 número 45-20": no day and month in either order */
    if (part[month_first ? 1 : 0] > 31 || part[month_first ? 0 : 1] > 12)
        return false;
    p->day = part[month_first ? 1 : 0];
    p->month = part[month_first ? 0 : 1];
    if (np == 2)
        p->year = digits[2] == 2 ? 2000 + part[2] : part[2];
    return true;
}

static CCAI_MUST_CHECK bool is_year(const Ccai_offline *o, size_t i)
{
    size_t nd;
    if (i >= o->ntok || o->used[i])
        return false;
    int v = tok_number(o, i, &nd);
    return nd == 4 && nd == o->tok[i].len && v >= 1900 && v <= 2200;
}

/* Is the day of the month at token i the first of a range ("between the
 * 1st and the 5th", "entre le 3 et le 6", "from the 1st to the 5th", "du
 * 1er au 5")? The tokens from i to the second day's end in *ret_n. A
 * [clause.join] ("and", "et", "y") joins two days only after
 * [day.between]; a [day.follow] ("to", "au") does alone. */
static CCAI_MUST_CHECK bool days_to(const Ccai_offline *o, size_t b, size_t i, size_t *ret_n)
{
    size_t n, n2;
    if (!day_of_n(o, i, &n) || i == b)
        return false;
    size_t k = i + n;
    bool join = k < o->ntok && Ccai_ofl_sec_at(o, "clause.join", k, k + 1) == 1;
    if (join && !(i >= b + 2 && Ccai_ofl_sec_at(o, "day.lead", i - 1, i) == 1 &&
                  Ccai_ofl_sec_at(o, "day.between", i - 2, i - 1) == 1))
        return false;
    if (!join && (k >= o->ntok || Ccai_ofl_sec_at(o, "day.follow", k, k + 1) != 1))
        return false;
    k++;
    if (k < o->ntok && Ccai_ofl_sec_at(o, "day.lead", k, k + 1) == 1)
        k++;
    if (k >= o->ntok || !day_of_n(o, k, &n2))
        return false;
    *ret_n = k + n2 - i;
    return true;
}

/* Day, month and year around month names: "8 octobre 2024", "October 8th,
 * 2024", "el 8 de octubre de 2024", "the 8th of October". */
static void parse_month_names(Ccai_offline *o, size_t b, size_t e, dt_parse *p)
{
    for (size_t i = b; i < e; i++) {
        int m = o->used[i] ? 0 : Ccai_ofl_month_of(o, i);
        if (!m || p->month)
            continue;
        p->month = m;
        o->used[i] = true;
        size_t before = i;
        if (before > b &&
            (Ccai_ofl_tok_is(o, before - 1, "of") || Ccai_ofl_tok_is(o, before - 1, "de")))
            before--;
        /* "the twenty first of October": an ordinal of two words */
        size_t dn = 0;
        int d = before > b + 1 ? day_of_n(o, before - 2, &dn) : 0;
        if (!d || dn != 2)
            d = before > b ? day_of_n(o, before - 1, &dn) : 0;
        size_t next = i + 1;
        if (d) {
            /* "entre el 2 y el 5 de octubre", "du 1er au 4 octobre": the
             * range's first day */
            size_t j = before - dn, f, rn;
            if (j > b && Ccai_ofl_sec_at(o, "day.lead", j - 1, j) == 1)
                j--;
            for (f = j >= b + 2 ? j - 2 : j; f + 1 < j; f++) {
                if (days_to(o, b, f, &rn) && f + rn == before) {
                    d = day_of_n(o, f, &dn);
                    dn = before - f;
                    p->days = true;
                    break;
                }
            }
            for (size_t k = before - dn; k < before; k++)
                o->used[k] = true;
        } else if (i + 1 < e && (d = day_of_n(o, i + 1, &dn)) != 0) {
            for (size_t k = i + 1; k < i + 1 + dn && k < e; k++)
                o->used[k] = true;
            next = i + 1 + dn;
        } else if (i + 2 < e && Ccai_ofl_sec_at(o, "day.lead", i + 1, i + 2) == 1 &&
                   (d = day_of_n(o, i + 2, &dn)) != 0 &&
                   !Ccai_ofl_is_digit_ch(o->norm[o->tok[i + 2].start + o->tok[i + 2].len - 1])) {
            /* "October the 3rd" ([day.lead]), an ordinal: not "the 3" */
            for (size_t k = i + 1; k < i + 2 + dn && k < e; k++)
                o->used[k] = true;
            next = i + 2 + dn;
        }
        p->day = d;
        if (Ccai_ofl_tok_is(o, next, "de") || Ccai_ofl_tok_is(o, next, "of"))
            next++;
        if (next < e && is_year(o, next)) {
            size_t nd;
            p->year = tok_number(o, next, &nd);
            o->used[next] = true;
        }
    }
}

/* Is token i said negated ("not Monday", "pas mercredi", "no el lunes")? A
 * negation in the clause before is not ("I'm not sure, Saturday", "je sais
 * pas trop, samedi"). */
static CCAI_MUST_CHECK bool negated_tok(const Ccai_offline *o, size_t b, size_t i)
{
    static const char *const neg[] = {"not", "pas", "no", "non"};
    for (size_t k = i; k > b && i - k < 3 && !Ccai_ofl_clause_break(o, k); k--) {
        if (TOK_IN(o, k - 1, neg))
            return true;
    }
    return false;
}

/* "half past eight", "quarter to six", "twenty past nine", "ten to five":
 * [minute.words] or a number, [minute.unit] ("minutes"), [minute.past] or
 * [minute.to], an hour or [clock.words]; [minute.half] before an hour is
 * half past it ("half seven", British). */
static CCAI_MUST_CHECK bool parse_past_to(const Ccai_offline *o, size_t i, size_t e, dt_parse *p,
                                          size_t *ret_next)
{
    size_t k = i, n;
    int m;
    if ((n = Ccai_ofl_sec_at(o, "minute.half", k, e)) > 0) {
        size_t j = k + n;
        int h = spoken_int(o, &j);
        if (h >= 1 && h <= 12 && j <= e) {
            p->hour = h;
            p->minute = 30;
            *ret_next = j;
            return true;
        }
    }
    if ((m = Ccai_ofl_sec_value(o, V_MINUTE, k, &n)) >= 1 && m < 60) {
        k += n;
    } else {
        m = spoken_int(o, &k);
        if (m < 1 || m > 30)
            return false;
    }
    k += Ccai_ofl_sec_at(o, "minute.unit", k, e);
    size_t to = Ccai_ofl_sec_at(o, "minute.to", k, e);
    size_t past = to ? 0 : Ccai_ofl_sec_at(o, "minute.past", k, e);
    if (!to && !past)
        return false;
    k += to ? to : past;
    if (k >= e)
        return false;
    int h = spoken_int(o, &k);
    if (h < 0) {
        if ((h = Ccai_ofl_sec_value(o, V_CLOCK, k, &n)) < 0)
            return false;
        k += n;
    }
    if (h > 24)
        return false;
    p->hour = to ? (h + 23) % 24 : h;
    p->minute = to ? 60 - m : m;
    *ret_next = k;
    return true;
}

/* A day of the month without its month: an ordinal ("the 4th", "the
 * third") or a number after "le", "el", "día" ([day.lead]), its clause
 * ending there or going on with the time. */
static CCAI_MUST_CHECK bool day_alone(const Ccai_offline *o, size_t b, size_t i, size_t *ret_n)
{
    size_t n;
    int d = day_of_n(o, i, &n);
    if (!d || i == b || Ccai_ofl_sec_at(o, "day.lead", i - 1, i) != 1)
        return false;
    size_t k = i + n, pn;
    /* then the clause ends or the time goes on ("on the 4th in the
     * afternoon"), not "the first thing I did"; or a range's second day
     * ("between the 1st and the 5th") */
    if (k < o->ntok && !Ccai_ofl_clause_break(o, k) &&
        Ccai_ofl_sec_at(o, "time.lead", k, k + 1) != 1 &&
        Ccai_ofl_sec_at(o, "day.follow", k, k + 1) != 1 &&
        Ccai_ofl_sec_value(o, V_DAYPART, k, &pn) < 0 && !days_to(o, b, i, &pn))
        return false;
    const char *t = o->norm + o->tok[i].start;
    bool digits = Ccai_ofl_is_digit_ch(t[0]);
    /* "the 4": a bare number needs "le", "el", "día"; "the 4th" its suffix */
    if (digits && Ccai_ofl_is_digit_ch(t[o->tok[i].len - 1]) &&
        Ccai_ofl_sec_at(o, "day.lead.number", i - 1, i) != 1)
        return false;
    *ret_n = n;
    return true;
}

/* A number that is its clause, hesitations aside ("yesterday morning,
 * um, ten, I think"; "la mañana, sobre las diez" has its lead). */
static CCAI_MUST_CHECK bool number_alone(const Ccai_offline *o, size_t b, size_t i, size_t k,
                                         size_t e)
{
    while (i > b && !Ccai_ofl_clause_break(o, i) && hesitation_tok(o, i - 1))
        i--;
    return Ccai_ofl_clause_break(o, i) && (k >= e || Ccai_ofl_clause_break(o, k));
}

/* "two days ago", "a week ago", "il y a trois jours", "hace dos días": a
 * count of [day.unit] (its entries of two words or more are one: "a week
 * 7", "a couple of days 2")
 * after a [day.ago.before] word or before a [day.ago] word. Returns the
 * days back (0: none), the tokens taken in *ret_n. */
static int days_ago(const Ccai_offline *o, size_t i, size_t e, size_t *ret_n)
{
    size_t k = i, n;
    size_t bn = Ccai_ofl_sec_at(o, "day.ago.before", i, e);
    k += bn;
    int v = 1;
    int unit = Ccai_ofl_sec_value(o, V_DAYUNIT, k, &n);
    if (unit < 1 || n < 2) { /* a unit alone has its article: "a week" */
        v = spoken_int(o, &k);
        if (v < 1 || v > 31 || k >= e)
            return 0;
        unit = Ccai_ofl_sec_value(o, V_DAYUNIT, k, &n);
        if (unit < 1)
            return 0;
    }
    k += n;
    if (!bn) {
        size_t an = k < e ? Ccai_ofl_sec_at(o, "day.ago", k, e) : 0;
        if (!an)
            return 0;
        k += an;
    }
    if (k > e || v * unit > 366)
        return 0;
    *ret_n = k - i;
    return v * unit;
}

/* One end of a range of hours at token *k: leads skipped ("las",
 * "about"), then "14h", "2pm", "2:30" or a number ("two", "2"), its
 * markers ("heures", "pm", "o'clock") after it. */
static CCAI_MUST_CHECK bool range_end(const Ccai_offline *o, size_t *k, size_t e, int *ret_minutes,
                                      int *ret_meridiem, bool *ret_h24)
{
    size_t j = *k, n;
    while (j < e && !Ccai_ofl_clause_break(o, j) && (n = Ccai_ofl_sec_at(o, "time.lead", j, e)) > 0)
        j += n;
    if (j >= e || (j > *k && Ccai_ofl_clause_break(o, j)))
        return false;
    dt_parse t = DT_PARSE_INIT;
    if (parse_clock(o, j, &t)) {
        j++;
    } else {
        size_t nd;
        t.hour = spoken_int(o, &j);
        if (t.hour < 0 || t.hour > 24)
            return false;
        t.minute = 0;
        t.h24 = tok_number(o, j - 1, &nd) >= 0 && nd == 2 && o->norm[o->tok[j - 1].start] == '0';
    }
    while (j < e && !Ccai_ofl_clause_break(o, j) &&
           (n = Ccai_ofl_sec_at(o, "time.marker", j, e)) > 0) {
        if (Ccai_ofl_tok_is(o, j, "pm") || Ccai_ofl_tok_is(o, j, "p"))
            t.meridiem = 2;
        else if (Ccai_ofl_tok_is(o, j, "am") || Ccai_ofl_tok_is(o, j, "a"))
            t.meridiem = 1;
        j += n;
    }
    *ret_minutes = t.hour * 60 + t.minute;
    if (t.meridiem)
        *ret_meridiem = t.meridiem;
    *ret_h24 = t.h24;
    *k = j;
    return true;
}

/* "between two and three", "entre 14h et 15h", "entre las dos y las
 * tres" ([time.range], [time.range.and]): a careful agent writes the
 * start of a range of two hours at most; a wider one ("between 2 and 6")
 * is no hour. Returns the tokens taken (0: no range). */
static size_t parse_range(const Ccai_offline *o, size_t i, size_t e, dt_parse *p)
{
    size_t k = i + Ccai_ofl_sec_at(o, "time.range", i, e), n;
    int a, z, mer = 0;
    bool h24, h24z;
    if (k == i || !range_end(o, &k, e, &a, &mer, &h24) || k >= e ||
        (n = Ccai_ofl_sec_at(o, "time.range.and", k, e)) == 0)
        return 0;
    int mer_a = mer;
    k += n;
    if (!range_end(o, &k, e, &z, &mer, &h24z))
        return 0;
    /* on a clock face of twelve hours unless one end is past noon */
    int span = a >= 13 * 60 || z >= 13 * 60 ? 24 * 60 : 12 * 60;
    int gap = ((z - a) % span + span) % span;
    if (gap > 0 && gap <= 120) {
        p->hour = a / 60;
        p->minute = a % 60;
        p->h24 = h24;
        if (mer_a || mer)
            p->meridiem = mer_a ? mer_a : mer;
    } else {
        p->wide = true;
    }
    return k - i;
}

/* "a las ocho, bueno, a las siete y media", "at eight, well, half
 * seven", "about eleven, quarter past eleven": another hour after the one
 * said, only a [time.again] word or a comma between (and leads or
 * hesitations), replaces it. */
static CCAI_MUST_CHECK bool hour_again(const Ccai_offline *o, const dt_parse *p, size_t i)
{
    if (p->hour < 0 || p->hour_end == 0 || p->hour_end > i || p->hour_end >= o->ntok)
        return false;
    bool again = Ccai_ofl_clause_break(o, p->hour_end);
    for (size_t k = p->hour_end, n; k < i;) {
        if ((n = Ccai_ofl_sec_at(o, "time.again", k, i)) > 0)
            again = true;
        else if ((n = Ccai_ofl_sec_at(o, "time.lead", k, i)) == 0 && !hesitation_tok(o, k))
            return false;
        k += n ? n : 1;
    }
    return again;
}

/* "a las ocho y pico de la noche, sobre las ocho y diez", "midi, genre
 * midi et demi", "about ten, ten fifteen": the same hour said again
 * with its minutes, a few words on, makes the first one precise. Only
 * an hour said without minutes is refined, and only by the same hour on
 * the clock face (eight by 8:10 or 20:10, not by nine). */
static CCAI_MUST_CHECK bool hour_refines(const dt_parse *p, size_t i, int h)
{
    return p->hour >= 0 && p->minute == 0 && p->hour_end > 0 && p->hour_end <= i &&
           i - p->hour_end <= 8 && h >= 0 && h % 12 == p->hour % 12;
}

/* "le 3 du 10", "el 3 del 10" ([day.lead], then [month.of.number]): a day
 * and the month's number; the tokens taken in *ret_n, 0 when not. */
static CCAI_MUST_CHECK bool day_of_month_number(const Ccai_offline *o, size_t b, size_t i, size_t e,
                                                dt_parse *p, size_t *ret_n)
{
    size_t dn, mn;
    int d = day_of_n(o, i, &dn);
    if (!d || i == b || Ccai_ofl_sec_at(o, "day.lead", i - 1, i) != 1 ||
        (mn = Ccai_ofl_sec_at(o, "month.of.number", i + dn, e)) == 0)
        return false;
    size_t k = i + dn + mn;
    int m = spoken_int(o, &k);
    if (m < 1 || m > 12 || k > e)
        return false;
    p->day = d;
    p->month = m;
    *ret_n = k - i;
    return true;
}

/* Is the weekday at token i the second of "between Friday (night) and
 * Saturday (morning)", "entre vendredi soir et samedi matin", "entre el
 * viernes y el sábado" ([day.between], then [clause.join] before it)? */
static CCAI_MUST_CHECK bool between_days(const Ccai_offline *o, size_t b, size_t i)
{
    size_t k = i, pn;
    if (k > b && Ccai_ofl_sec_at(o, "day.lead", k - 1, k) == 1)
        k--; /* "y el sábado" ([day.lead]) */
    if (k <= b || Ccai_ofl_sec_at(o, "clause.join", k - 1, k) != 1)
        return false;
    k--;
    while (k > b && Ccai_ofl_sec_value(o, V_DAYPART, k - 1, &pn) >= 0 && pn == 1)
        k--; /* "soir", "night" */
    if (k <= b || weekday_of(o, k - 1) < 0)
        return false;
    k--;
    if (k > b && Ccai_ofl_sec_at(o, "day.lead", k - 1, k) == 1)
        k--;
    return k > b && Ccai_ofl_sec_at(o, "day.between", k - 1, k) == 1;
}

static void parse_words(Ccai_offline *o, size_t b, size_t e, dt_parse *p)
{
    /* a part of the day said: a number alone in its clause is its hour */
    bool daypart = false;
    for (size_t i = b; i < e && !daypart; i++) {
        size_t n;
        daypart = Ccai_ofl_sec_value(o, V_DAYPART, i, &n) >= 0;
    }
    for (size_t i = b; i < e; i++) {
        if (o->used[i])
            continue;
        size_t next, i0 = i, pn;
        int ph, rd, ch, ago;
        int wd = weekday_of(o, i);
        if ((pn = Ccai_ofl_sec_at(o, "day.vague", i, e)) > 0) {
            /* "the other night", "l'autre jour", "el finde pasado": a day
             * nobody can write; asked unless a day is said too */
            p->vague = true;
            i += pn - 1;
        } else if (p->hour < 0 && (pn = parse_range(o, i, e, p)) > 0) {
            i += pn - 1;
        } else if ((ago = days_ago(o, i, e, &pn)) > 0) {
            /* "two days ago", "il y a une semaine", "hace tres días" */
            if (negated_tok(o, b, i))
                continue;
            p->have_rel = true;
            p->rel = -ago;
            i += pn - 1;
        } else if (wd >= 0) {
            if (negated_tok(o, b, i))
                continue;
            /* "la nuit de samedi à dimanche", "the night of Sunday to
             * Monday" ([weekday.to]): the night is the first day's */
            if (p->wday >= 0 && between_days(o, b, i)) {
                /* "between Friday night and Saturday morning", "entre el
                 * viernes y el sábado": the first day */
                o->used[i] = true;
                p->days = true;
                /* its part of the day is not the first's ("... and Saturday
                 * morning": the night stays) */
                size_t dn;
                if (i + 1 < e && Ccai_ofl_sec_value(o, V_DAYPART, i + 1, &dn) >= 0)
                    for (size_t k = i + 1; k <= i + dn && k < e; k++)
                        o->used[k] = true;
                continue;
            }
            if (p->wday >= 0 && i >= b + 2 && Ccai_ofl_sec_at(o, "weekday.to", i - 1, i) == 1 &&
                (weekday_of(o, i - 2) >= 0 ||
                 (i >= b + 3 && weekday_of(o, i - 3) >= 0 &&
                  Ccai_ofl_sec_value(o, V_DAYPART, i - 2, &pn) >= 0))) {
                /* "Saturday night into Sunday": the part between */
                o->used[i] = true;
                size_t ln = Ccai_ofl_sec_at(o, "weekday.last", i + 1, e);
                if (ln) { /* "de mardi à mercredi dernier" */
                    p->last = true;
                    for (size_t k = i + 1; k <= i + ln; k++)
                        o->used[k] = true;
                }
                continue;
            }
            /* "Sunday night, just after midnight, so technically Monday
             * morning": the next day named is the small hours' own */
            if (p->wday >= 0 && p->night && wd == (p->wday + 1) % 7)
                p->night = false;
            p->wday = wd;
            /* "last Thursday", "jeudi dernier", "el jueves pasado"
             * ([weekday.last.before], [weekday.last]): before today */
            if (i > b && Ccai_ofl_sec_at(o, "weekday.last.before", i - 1, i) == 1)
                p->last = o->used[i - 1] = true; /* "last": no free text */
            size_t ln = Ccai_ofl_sec_at(o, "weekday.last", i + 1, e);
            if (ln) {
                p->last = true;
                i += ln; /* "jeudi dernier": both words are the date */
            }
        } else if ((rd = Ccai_ofl_sec_value(o, V_RELDAY, i, &pn)) >= 0 && rd < 7) {
            /* "yesterday", "avant-hier", "the day before yesterday",
             * "anteayer" ([day.relative]: days back) */
            if (rd > 0 && negated_tok(o, b, i))
                continue;
            p->have_rel = true;
            p->rel = -rd;
            i += pn - 1;
        } else if ((rd = Ccai_ofl_sec_value(o, V_RELNIGHT, i, &pn)) >= 1 && rd < 7) {
            /* "anoche" ([night.relative]): late in the night that many days back */
            p->have_rel = true;
            p->rel = -rd;
            p->part_hour = 23;
            p->meridiem = 2;
            p->night = true;
            i += pn - 1;
        } else if ((ph = Ccai_ofl_sec_value(o, V_DAYPART, i, &pn)) >= 0 && ph < 24) {
            /* "morning", "la mañana", "après-midi" ([daypart.words]): the
             * hour it stands for when no hour is said; "this morning",
             * "ce soir", "esta tarde" ([daypart.this]) is today; a night
             * is the one before unless a day is said */
            p->part_hour = ph;
            p->meridiem = ph >= 12 ? 2 : 1;
            if (i > b && Ccai_ofl_sec_at(o, "weekday.last.before", i - 1, i) == 1)
                o->used[i - 1] = true; /* "last night" */
            if (ph >= 22)
                p->night = true;
            else if ((i > b && Ccai_ofl_sec_at(o, "daypart.this", i - 1, i) == 1) ||
                     Ccai_ofl_sec_at(o, "daypart.this", i, i + 1) == 1) {
                if (!p->have_rel && !p->month && p->wday < 0) {
                    p->have_rel = true;
                    p->rel = 0;
                }
            }
            i += pn - 1;
        } else if ((ch = Ccai_ofl_sec_value(o, V_CLOCK, i, &pn)) >= 0 && ch < 24 &&
                   !clock_word_named(o, i)) {
            /* "noon", "midi et quart", "medianoche" ([clock.words]) */
            bool again = hour_again(o, p, i) || hour_refines(p, i, ch);
            i += pn - 1;
            if (p->hour < 0 || again) {
                p->hour = ch, p->minute = 0;
                p->clock = true;
                p->h24 = false;
                size_t k = i + 1;
                int mins;
                if (minutes_after(o, &k, &mins) && mins > 0) {
                    p->minute = mins;
                    i = k - 1;
                }
                p->hour_end = i + 1;
            }
        } else if (Ccai_ofl_tok_is(o, i, "pm") ||
                   (Ccai_ofl_tok_is(o, i, "p") && Ccai_ofl_tok_is(o, i + 1, "m"))) {
            p->meridiem = 2;
        } else if (Ccai_ofl_tok_is(o, i, "am") ||
                   (Ccai_ofl_tok_is(o, i, "a") && Ccai_ofl_tok_is(o, i + 1, "m") && i > b &&
                    p->hour >= 0)) {
            p->meridiem = 1;
        } else if ((p->hour < 0 || hour_again(o, p, i)) && parse_past_to(o, i, e, p, &next)) {
            p->clock = p->h24 = false;
            i = next - 1;
            p->hour_end = next;
        } else if (parse_numeric_date(o, i, p)) {
            o->used[i] = true;
        } else if (parse_clock(o, i, p)) {
            o->used[i] = true;
            /* "8h moins le quart", "8h et demie": the minutes after "8h" */
            const char *t = o->norm + o->tok[i].start;
            size_t k = i + 1;
            int mins;
            if (t[o->tok[i].len - 1] == 'h' && k < e && !Ccai_ofl_clause_break(o, k) &&
                minutes_after(o, &k, &mins) && k <= e) {
                if (mins < 0) {
                    p->hour = (p->hour + 23) % 24;
                    mins += 60;
                }
                p->minute = mins;
                i = k - 1;
            }
            p->hour_end = i + 1;
        } else if (!p->day && !p->month && day_of_month_number(o, b, i, e, p, &pn)) {
            i += pn - 1;
        } else if (!p->day && !p->month && day_alone(o, b, i, &pn)) {
            /* "on the 4th", "le 4", "el día 4": a day of this month; a
             * range of days is its first */
            p->day = day_of_n(o, i, &pn);
            size_t rn;
            if (days_to(o, b, i, &rn)) {
                p->days = true;
                pn = rn;
            }
            i += pn - 1;
        } else if (is_year(o, i) && !p->year) {
            size_t nd;
            p->year = tok_number(o, i, &nd);
        } else {
            size_t k = i;
            int v = spoken_int(o, &k);
            if (v < 0 || v > 24 ||
                (p->hour >= 0 && !hour_again(o, p, i) && !hour_refines(p, i, v)) || k > e)
                continue;
            size_t nd;
            bool marker = hour_marker(o, k) ||
                          (tok_number(o, k - 1, &nd) >= 0 && nd > 0 && nd < o->tok[k - 1].len);
            if (!(marker || hour_lead(o, i) ||
                  (daypart && v >= 1 && v <= 12 && number_alone(o, b, i, k, e))) ||
                (!marker && address_next(o, k - 1)))
                continue;
            /* "il a quinze ans", "at ten minutes' walk", "a dos cuadras": a
             * count of something ([time.unit]), even after a lead */
            if (!marker && k < e && Ccai_ofl_sec_at(o, "time.unit", k, e) > 0)
                continue;
            /* "il y a une erreur", "at one point": an article, no hour */
            static const char *const article[] = {"un", "une", "una", "uno", "one"};
            if (!marker && TOK_IN(o, i, article) && !(i > b && Ccai_ofl_tok_is(o, i - 1, "la")) &&
                !(hour_lead(o, i) && (k >= e || Ccai_ofl_clause_break(o, k))))
                continue; /* but "around one." is an hour */
            p->hour = v;
            p->minute = 0;
            p->clock = false;
            size_t zd;
            p->h24 = tok_number(o, i, &zd) >= 0 && zd == 2 && o->norm[o->tok[i].start] == '0';
            /* "14 h 30", "14 heures 30", "2 30 pm", "six thirty", "et quart" */
            bool hmark = Ccai_ofl_tok_is(o, k, "h") || Ccai_ofl_tok_is(o, k, "heure") ||
                         Ccai_ofl_tok_is(o, k, "heures") || Ccai_ofl_tok_is(o, k, "hours");
            if (hmark || Ccai_ofl_tok_is(o, k, "o"))
                k += Ccai_ofl_tok_is(o, k, "o") && Ccai_ofl_tok_is(o, k + 1, "clock") ? 2 : 1;
            int mins;
            /* "2 h 30", "2 heures 30": the 24-hour clock, said */
            if (hmark && k < e && Ccai_ofl_is_digit_ch(o->norm[o->tok[k].start]))
                p->h24 = true;
            if (k < e && !Ccai_ofl_clause_break(o, k) && minutes_after(o, &k, &mins)) {
                if (mins < 0) {
                    p->hour = (p->hour + 23) % 24;
                    mins += 60;
                }
                p->minute = mins;
            }
            i = k - 1;
            p->hour_end = k;
        }
        /* The words read (not those skipped by a continue): no free text. */
        for (size_t k = i0; k <= i && k < e; k++)
            o->used[k] = true;
    }
}

static void merge(dt_parse *p, const dt_parse *q)
{
    bool q_date = q->month || q->have_rel || q->wday >= 0;
    if (!q_date && q->day) {
        /* "the 4th of October... no, the 5th": the day of the month */
        p->day = q->day;
        if (!p->month)
            p->have_rel = false, p->wday = -1;
    }
    if (q_date) {
        p->day = q->day, p->month = q->month, p->year = q->year;
        p->have_rel = q->have_rel, p->rel = q->rel;
        p->wday = q->wday, p->last = q->last;
        p->vague = q->vague;
    } else if (q->vague) {
        /* "on Monday... no, the other night": no day to write */
        p->day = p->month = p->year = 0;
        p->have_rel = false, p->wday = -1, p->last = false;
        p->vague = true;
    }
    if (q->wide)
        p->wide = true, p->hour = -1;
    if (q_date || q->day)
        p->days = q->days;
    /* "Saturday arvo, around three. No, it was the Friday, Friday arvo,
     * same sort of time": a part of the day alone after the correction
     * keeps the hour said before on its side of noon */
    bool keep_hour = p->hour >= 0 && q->hour < 0 && q->part_hour >= 0 &&
                     (p->meridiem == 0 || p->meridiem == q->meridiem);
    if (keep_hour) {
        p->part_hour = q->part_hour;
        p->night = q->night;
        p->meridiem = q->meridiem;
    } else if (q->hour >= 0 || q->part_hour >= 0) {
        p->hour = q->hour, p->minute = q->minute, p->clock = q->clock, p->h24 = q->h24;
        if (q->part_hour >= 0 || q_date) {
            p->part_hour = q->part_hour;
            p->night = q->night;
        }
        if (q->meridiem)
            p->meridiem = q->meridiem;
    }
}

/* Hours apart on the clock face of a day (23 and 1 are 2 apart). */
static int hour_gap(int a, int b)
{
    int g = a > b ? a - b : b - a;
    return g > 12 ? 24 - g : g;
}

/* The last hour after noon said alone ([hour.pm.upto] of the call's
 * language: "7": "around 7ish" is 19:00); 0 when the file has none. */
static int pm_upto(const Ccai_offline *o)
{
    const Ccai_ofl_entry *ent;
    if (Ccai_ofl_lex_get(o->lex, o->st.lang, "hour.pm.upto", &ent) == 0)
        return 0;
    int v = atoi(ent[0].text);
    return v >= 1 && v <= 11 ? v : 0;
}

/* Parse a spoken date into "YYYY-MM-DD HH:MM" (DT_FULL) or a day number
 * (DT_DATE: no time said). With @p have_base, a time alone applies to
 * @p base_day (the answer to "and at what time?"), and with @p base_hour
 * (the hour noted, or -1) an hour said without am, pm or a part of the day
 * is the one nearer to it ("nine" noted at 21:00, then "more like half
 * nine": 21:30). Tokens in o->mask are
 * left alone; what follows token @p corr (a correction: "Monday, no,
 * Sunday") overrides what precedes it. */
dt_result Ccai_ofl_parse_spoken_date(Ccai_offline *o, bool have_base, int64_t base_day,
                                     int base_hour, size_t corr, char out[64], int64_t *ret_day)
{
    dt_parse p = DT_PARSE_INIT;
    dt_parse q = p;
    o->dt_part = false; /* set below for this utterance only */
    o->dt_range = false;
    o->dt_vague = false;
    o->dt_day_said = false;
    for (size_t i = 0; i < o->ntok; i++)
        o->used[i] = o->mask && o->mask[i];
    if (corr > o->ntok)
        corr = 0;
    parse_month_names(o, 0, corr, &p);
    parse_words(o, 0, corr, &p);
    parse_month_names(o, corr, o->ntok, &q);
    parse_words(o, corr, o->ntok, &q);
    /* "the 4th of October... no, sorry, the 5th": a day alone corrects the
     * day of the month said before */
    if (corr > 0 && p.month && !q.month && !q.have_rel && q.wday < 0) {
        static const char *const art[] = {"the", "le", "el", "on"};
        for (size_t i = corr; i < o->ntok; i++) {
            size_t dn;
            int d = o->used[i] ? 0 : day_of_n(o, i, &dn);
            bool lead = i > corr && TOK_IN(o, i - 1, art);
            const char *t = o->norm + o->tok[i].start;
            if (d && (lead || !Ccai_ofl_is_digit_ch(t[o->tok[i].len - 1]))) {
                p.day = d;
                for (size_t k = i; k < i + dn && k < o->ntok; k++)
                    o->used[k] = true;
                break;
            }
        }
    }
    /* "at nine, or rather ten in the morning": a number alone first
     * after the correction corrects the hour said before */
    if (corr > 0 && p.hour >= 0 && q.hour < 0 && !q.month && !q.have_rel && q.wday < 0) {
        static const char *const lead[] = {"at",  "around", "about", "a",  "vers",
                                           "las", "la",     "sobre", "no", "non"};
        size_t i = corr, ln;
        while (i < o->ntok) {
            /* "actually no, more like ten" ([no.words], [time.lead]) */
            if ((ln = Ccai_ofl_sec_at(o, "no.words", i, o->ntok)) > 0)
                i += ln;
            else if (TOK_IN(o, i, lead))
                i++;
            else if (o->used[i])
                break;
            else if (hesitation_tok(o, i))
                i++;
            else if ((ln = Ccai_ofl_sec_at(o, "time.lead", i, o->ntok)) > 0)
                i += ln;
            else
                break;
        }
        size_t j = i;
        int h = i < o->ntok && !o->used[i] ? spoken_int(o, &j) : -1;
        if (h >= 1 && h <= 23 && j == i + 1 && Ccai_ofl_month_of(o, j) == 0) {
            q.hour = h;
            q.minute = 0;
            o->used[i] = true;
        }
    }
    merge(&p, &q);

    int64_t y = 0;
    int m = 0, d = 0;
    int64_t day;
    bool date_said = true;
    Ccai_civil_from_days(o->today, &y, &m, &d);
    if (p.vague && !p.month && !p.day && !p.have_rel && p.wday < 0) {
        o->dt_vague = true; /* "the other night": which one is asked */
        return DT_FAIL;
    }
    if (p.month && p.day) {
        int64_t year = p.year ? p.year : y;
        if (!p.year && p.month >= 1 && p.month <= 12 &&
            Ccai_days_from_civil(year, p.month, p.day) > o->today)
            year--;
        y = year;
        m = p.month;
        d = p.day;
        if (m < 1 || m > 12 || d < 1 || d > 31 || y < 1900 || y > 2200) {
            snprintf(out, 64, "%04d-%02d-%02d", (int)(y % 10000), m % 100, d % 100);
            return DT_FULL; /* let the validator refuse it */
        }
        day = Ccai_days_from_civil(y, m, d);
        /* 31 February: keep the numbers for the validator's message. */
        int64_t yy;
        int mm, dd;
        Ccai_civil_from_days(day, &yy, &mm, &dd);
        if (mm != m) {
            snprintf(out, 64, "%04d-%02d-%02d", (int)y, m, d);
            return DT_FULL;
        }
    } else if (p.day && !p.month && !p.have_rel && p.wday < 0) {
        /* a day of the month alone: this month's, or last month's when
         * it is still to come */
        int64_t yy = y;
        int mm = m;
        if (p.day > d) {
            mm = m == 1 ? 12 : m - 1;
            yy = m == 1 ? y - 1 : y;
        }
        day = Ccai_days_from_civil(yy, mm, p.day);
        int64_t cy;
        int cm, cd;
        Ccai_civil_from_days(day, &cy, &cm, &cd);
        if (cm != mm)
            return DT_FAIL; /* "the 31st" of a 30-day month */
    } else if (p.have_rel) {
        day = o->today + p.rel;
    } else if (p.wday >= 0) {
        int back = (weekday(o->today) - p.wday + 7) % 7;
        if (back == 0 && p.last)
            back = 7;
        day = o->today - back;
    } else if (p.night) {
        day = have_base ? base_day : o->today - 1;
    } else if (p.hour >= 0 || p.part_hour >= 0) {
        date_said = false;
        day = have_base ? base_day : o->today;
    } else {
        return DT_FAIL;
    }

    o->dt_day_said = date_said;
    int hour = p.hour >= 0 ? p.hour : p.part_hour;
    o->dt_part = p.hour < 0 && p.part_hour >= 0;
    int minute = p.hour >= 0 ? p.minute : 0;
    if (p.hour >= 0 && p.night && hour < 6) {
        /* "two in the night", "last night at 2 am": after midnight */
        if (date_said || !have_base)
            day++;
    } else if (p.hour >= 0 && p.clock) {
        /* "vendredi soir vers minuit et demie", "Friday evening at
         * midnight": the night after that evening; no am or pm on noon
         * or midnight ("in the morning, or maybe closer to noon") */
        if (hour == 0 && date_said && p.part_hour >= 12)
            day++;
        /* "Last night sometime." "And at what time?" "Went to bed at
         * midnight...": the midnight of the evening noted, the next day */
        else if (hour == 0 && !date_said && have_base &&
                 (o->st.pending_part >= 18 || base_hour >= 18))
            day++;
    } else if (hour >= 0 && p.hour >= 0 && p.meridiem == 2 && hour < 12) {
        hour += 12;
    } else if (hour == 12 && p.hour >= 0 && p.meridiem == 1) {
        hour = 0;
    }
    if (have_base && !date_said && p.hour >= 1 && p.hour < 12 && p.meridiem == 0 &&
        p.part_hour < 0 && !p.night && o->st.pending_part >= 12) {
        /* the time asked after "last night", "hier soir", "esta tarde":
         * "around ten" is that part's ten, "around two" after "last
         * night" the small hours after it */
        if (o->st.pending_part >= 21 && p.hour <= 4)
            day++;
        else if (o->st.pending_part >= 21 ||
                 hour_gap(hour + 12, o->st.pending_part) <= hour_gap(hour, o->st.pending_part))
            hour += 12; /* "at lunchtime", then "around half eleven": 11:30 */
    } else if (have_base && p.hour >= 1 && p.hour < 12 && p.meridiem == 0 && p.part_hour < 0 &&
               !p.night && base_hour >= 12 && base_hour < 24 &&
               hour_gap(hour + 12, base_hour) < hour_gap(hour, base_hour)) {
        /* an hour corrected keeps the side of noon of the one noted
         * ("at nine in the evening ... more like half nine", "... it was
         * Sunday, at half nine") */
        hour += 12;
    } else if (p.hour >= 1 && p.hour <= pm_upto(o) && p.meridiem == 0 && p.part_hour < 0 &&
               !p.night && !p.clock && !p.h24 &&
               !(have_base && (o->st.pending_part >= 0 || base_hour >= 0)) &&
               !(day >= o->today && (hour + 12) * 60 + minute > o->now_minute)) {
        /* an hour from one to the evening with no am, pm or part of the
         * day ("around 7ish", "a las cinco") is after noon, unless that is
         * still to come */
        hour += 12;
    }
    if (hour == 24)
        hour = 0, day++;
    if (day > o->today)
        day = o->today;
    if (!date_said && !have_base && hour >= 0 && hour * 60 + minute > o->now_minute)
        day--;
    /* "Tuesday at 4pm", "Tuesday evening" said on a Tuesday at 14:00:
     * last week's */
    if (p.wday >= 0 && !p.have_rel && !p.month && !p.day && day == o->today && hour >= 0 &&
        hour * 60 + minute > o->now_minute)
        day -= 7;

    if (hour < 0 || (p.wide && p.hour < 0)) {
        /* "between 2 and 6 while I was at work": all the caller knows of
         * the time, the day alone (not asked again); so is a range of
         * days without a part of the day ("between the 1st and the 5th") */
        o->dt_range = (p.wide || (p.days && p.part_hour < 0)) && p.hour < 0;
        o->dt_part = false;
        *ret_day = day;
        return DT_DATE;
    }
    Ccai_civil_from_days(day, &y, &m, &d);
    snprintf(out, 64, "%04d-%02d-%02d %02d:%02d", (int)y, m, d, hour, minute < 0 ? 0 : minute);
    return DT_FULL;
}
