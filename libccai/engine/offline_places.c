/* The offline dialogue: where it happened. Reads the place of the incident
 * in a sentence: a place word ([topic.incident_location]) back to its
 * preposition ([location.lead]), a street with its name or its number
 * ([location.street], [location.number], [location.number.after]), a town
 * after its preposition ([location.city_lead]; not a month, a weekday or
 * [lang.names]), a cue ([cue.incident_location]), words that are a place
 * only with a number ([location.weak]); a place that is taken back
 * ([negation]) is not the one. */
#include "engine/offline_extract.h"

#include <stdlib.h>
#include <string.h>

/* Token i starts with a capital ("Gambetta", "Élysée"). */
static CCAI_MUST_CHECK bool capitalised(const Ccai_offline *o, size_t i)
{
    const unsigned char *u = (const unsigned char *)o->raw + o->tok[i].raw;
    return !o->mask[i] &&
           ((*u >= 'A' && *u <= 'Z') || (*u == 0xC3 && u[1] >= 0x80 && u[1] <= 0x9E));
}

/* A road by its number ("the M6", "l'A7", "la E411", "la A-3", "I-94"):
 * one to three capitals and digits in one word, or capitals, a dash and
 * the digits. */
bool Ccai_ofl_road_code(const Ccai_offline *o, size_t i)
{
    if (o->mask[i])
        return false;
    const char *r = o->raw + o->tok[i].raw;
    size_t n = 0;
    while (n < 4 && r[n] >= 'A' && r[n] <= 'Z')
        n++;
    if (n == 0 || n > 3)
        return false;
    if (Ccai_ofl_is_digit_ch(r[n])) {
        size_t d = n;
        while (Ccai_ofl_is_digit_ch(r[d]))
            d++;
        /* "M6", "E411"; not "A4-sized" */
        return d - n <= 4 && o->tok[i].len == d;
    }
    return r[n] == '-' && o->tok[i].len == n && i + 1 < o->ntok && !o->mask[i + 1] &&
           o->tok[i + 1].raw == o->tok[i].raw + n + 1 &&
           Ccai_ofl_is_digit_ch(o->norm[o->tok[i + 1].start]);
}

/* "calle 10 sur # 43-15", "carrera 7 número 45-20", "Transversal 5 No.
 * 20-11": after a street word, its number, the words that go with it
 * ([location.number.after]), the word for the house's number
 * ([location.number]) and that number. Where the numbers end (after the
 * street word: none, i + 1). */
size_t Ccai_ofl_address_numbers(const Ccai_offline *o, size_t i)
{
    if (o->mask[i] || Ccai_ofl_sec_at(o, "location.street", i, i + 1) != 1)
        return i + 1;
    size_t k = i + 1;
    if (k >= o->ntok || o->mask[k] || !Ccai_ofl_is_digit_ch(o->norm[o->tok[k].start]))
        return i + 1;
    k++;
    for (size_t m; k < o->ntok && !Ccai_ofl_clause_break(o, k) &&
                   (m = Ccai_ofl_sec_at(o, "location.number.after", k, k + 1)) > 0;)
        k += m;
    size_t sign = k < o->ntok ? Ccai_ofl_sec_at(o, "location.number", k, k + 1) : 0;
    size_t h = k + sign;
    /* the house's number: digits, "43-15" or "43 15" */
    if (h >= o->ntok || o->mask[h] || !Ccai_ofl_is_digit_ch(o->norm[o->tok[h].start]) ||
        (Ccai_ofl_clause_break(o, h) && !sign))
        return i + 2;
    size_t e = h + 1;
    if (e < o->ntok && !o->mask[e] && !Ccai_ofl_clause_break(o, e) &&
        Ccai_ofl_is_digit_ch(o->norm[o->tok[e].start]))
        e++;
    return e;
}

/* The numbers of a place that look like a date, from token i on: a street
 * named after a date ("rue du 8 Mai 1945", "avenue du 11 Novembre 42",
 * "calle del Dos de Mayo 14": after the street word and its particles, a
 * day, a month word, then a year or the house's number), or a flat's
 * number after its word ([location.unit]: "Flat 2/1", "flat 5-12", "piso
 * 3-2"). Where they end (none: i + 1). */
size_t Ccai_ofl_place_date_numbers(const Ccai_offline *o, size_t i)
{
    if (o->mask[i])
        return i + 1;
    size_t k = i + 1;
    if (Ccai_ofl_sec_at(o, "location.unit", i, i + 1) == 1) {
        /* one token, its groups kept together ("2/1", "5-12") */
        const char *t = o->norm + o->tok[k < o->ntok ? k : i].start;
        size_t n = k < o->ntok ? o->tok[k].len : 0;
        return n && !o->mask[k] && Ccai_ofl_is_digit_ch(t[0]) &&
                       (memchr(t, '/', n) || memchr(t, '-', n))
                   ? k + 1
                   : i + 1;
    }
    if (Ccai_ofl_sec_at(o, "location.street", i, i + 1) != 1)
        return i + 1;
    while (k < o->ntok && k < i + 3 && Ccai_ofl_tok_word(o, k, W_NAME_PARTICLE) &&
           !capitalised(o, k))
        k++;
    size_t n = 0;
    int day = -1;
    if (k < o->ntok && !o->mask[k] && Ccai_ofl_is_digit_ch(o->norm[o->tok[k].start]))
        day = atoi(o->norm + o->tok[k].start), n = 1;
    else if (k < o->ntok && !o->mask[k])
        day = Ccai_ofl_sec_value(o, V_NUMBER, k, &n);
    if (day < 1 || day > 31 || k + n >= o->ntok || Ccai_ofl_clause_break(o, k + n))
        return i + 1;
    k += n;
    if (Ccai_ofl_tok_word(o, k, W_NAME_PARTICLE) && k + 1 < o->ntok) /* "Dos de Mayo" */
        k++;
    if (o->mask[k] || Ccai_ofl_sec_value(o, V_MONTH, k, &n) < 0)
        return i + 1;
    k += n;
    /* the year of the date named, the house's number */
    for (unsigned d = 0; d < 2 && k < o->ntok && !o->mask[k] && !Ccai_ofl_clause_break(o, k) &&
                         Ccai_ofl_is_digit_ch(o->norm[o->tok[k].start]);
         d++)
        k++;
    return k;
}

/* A street word with its name ([location.street]: "Mill Road", "rue
 * Gambetta", "route de Lorient", "calle Colón"; not "a coupé la route"). */
static CCAI_MUST_CHECK bool street_at(const Ccai_offline *o, size_t i, size_t b, size_t e)
{
    if (o->mask[i] || Ccai_ofl_sec_at(o, "location.street", i, i + 1) != 1)
        return false;
    /* "rue de la République", "calle de los Olivos": the name after its
     * particles ([name.particles]) */
    size_t after = i + 1;
    while (after < e && after < i + 3 && Ccai_ofl_tok_word(o, after, W_NAME_PARTICLE) &&
           !capitalised(o, after))
        after++;
    /* "carrera 15 número 93-47": a street by its number */
    return (i > b && capitalised(o, i - 1) && !Ccai_ofl_clause_break(o, i)) ||
           (after < e && capitalised(o, after) && !Ccai_ofl_clause_break(o, after)) ||
           (Ccai_ofl_address_numbers(o, i) > i + 2 && i + 1 < e);
}

CCAI_MUST_CHECK bool Ccai_ofl_street_named(const Ccai_offline *o, size_t b, size_t e)
{
    for (size_t i = b; i < e; i++)
        if (street_at(o, i, b, e))
            return true;
    return false;
}

/* Does the clause at token i go on with the place said before it: a name,
 * a number or a street in its first words ("..., en Valencia", "..., calle
 * Mayor 8", "..., 402 Oak Street"), not the story ("..., nadie resultó
 * herido")? */
static CCAI_MUST_CHECK bool lead_at(const Ccai_offline *o, size_t k);

static CCAI_MUST_CHECK bool place_goes_on(const Ccai_offline *o, size_t i, size_t e)
{
    /* "..., en la estación de la Calle 72": a clause that starts with a
     * place's preposition may name it a few words later */
    size_t reach = lead_at(o, i) ? 6 : 3;
    /* "..., just after junction 34", "..., à hauteur de Valence",
     * "..., pasando Escobar": where along a road ([location.along]) */
    size_t along = o->mask[i] ? 0 : Ccai_ofl_sec_at(o, "location.along", i, e);
    if (along > 0) {
        /* "..., northbound, ...": the direction alone */
        if (i + along >= e || Ccai_ofl_clause_break(o, i + along))
            return true;
        i += along;
        reach = 4;
    }
    for (size_t k = i; k < e && k < i + reach; k++) {
        if (k > i && Ccai_ofl_clause_break(o, k))
            break;
        if (capitalised(o, k) || Ccai_ofl_is_digit_ch(o->norm[o->tok[k].start]) ||
            Ccai_ofl_sec_at(o, "location.street", k, k + 1) == 1)
            return true;
    }
    return false;
}

/* A [location.lead] word at token k; "a" without its accent only before
 * an article or a possessive ([location.lead.a]: "volé a la gare", "a
 * l'école", typed without accents; "fue a la salida"), not the French verb ("on m'a
 * embouti", "un livreur a rayé ma voiture") or the English article ("a
 * rock came off a truck on the M1"); nor a lead after [location.lead.not]. */
static CCAI_MUST_CHECK bool lead_at(const Ccai_offline *o, size_t k)
{
    if (k >= o->ntok || Ccai_ofl_sec_at(o, "location.lead", k, k + 1) != 1)
        return false;
    size_t r = o->tok[k].raw;
    if (o->tok[k].len == 1 && (o->raw[r] == 'a' || o->raw[r] == 'A') &&
        !(k + 1 < o->ntok && !Ccai_ofl_clause_break(o, k + 1) &&
          Ccai_ofl_sec_at(o, "location.lead.a", k + 1, k + 2) == 1))
        return false;
    /* "me dio por detrás", "hit from behind": how, not where
     * ([location.lead.not]) */
    return !(k > 0 && Ccai_ofl_sec_at(o, "location.lead.not", k - 1, k) == 1);
}

/* A capitalised word after "in" that is a month, a weekday or a language
 * ("I renewed in August", "en Septembre", "in English") is no town. */
static CCAI_MUST_CHECK bool town_word(const Ccai_offline *o, size_t k)
{
    size_t n;
    return Ccai_ofl_name_word(o, k) && !Ccai_ofl_month_of(o, k) &&
           !(Ccai_ofl_sec_value(o, V_WEEKDAY, k, &n) >= 0 && n == 1) &&
           !Ccai_ofl_sec_at(o, "lang.names", k, k + 1);
}

/* A street word with a number in its name ("Avenida Colón 1500", "12 Elm
 * Street", "Calle 72"): an address, preposition or not. */
static CCAI_MUST_CHECK bool street_numbered(const Ccai_offline *o, size_t i, size_t b, size_t e)
{
    if (!street_at(o, i, b, e))
        return false;
    if (i > b && Ccai_ofl_is_digit_ch(o->norm[o->tok[i - 1].start]))
        return true;
    for (size_t k = i + 1; k < e && k < i + 5 && !Ccai_ofl_clause_break(o, k); k++)
        if (Ccai_ofl_is_digit_ch(o->norm[o->tok[k].start]))
            return true;
    return false;
}

/* An "and" at token i that joins a second street or number to the place
 * ("the corner of Capel Street and Mary Street", "au coin de la rue
 * Oberkampf et de la rue Saint-Maur", "between junctions 4 and 5"), not the
 * story ("... outside the Tesco and took my bag"). */
static CCAI_MUST_CHECK bool second_street(const Ccai_offline *o, size_t i, size_t e)
{
    if (i + 1 >= e || Ccai_ofl_clause_break(o, i + 1))
        return false;
    if (Ccai_ofl_is_digit_ch(o->norm[o->tok[i - 1].start]) &&
        Ccai_ofl_is_digit_ch(o->norm[o->tok[i + 1].start]))
        return true;
    for (size_t k = i + 1; k < e && k < i + 5 && !Ccai_ofl_clause_break(o, k); k++)
        if (street_at(o, k, i + 1, e))
            return true;
    return false;
}

/* Where an address said with no preposition starts, its street word at
 * i: the street's name before it ("Curlewis Street"), the house's number
 * before that, in digits or words and in groups ("2360 rue Bourassa",
 * "seven slash thirty": [location.number.join]), and the flat's word
 * before the number ([location.unit]: "Unit seven slash thirty Curlewis
 * Street"). */
static size_t address_start(const Ccai_offline *o, size_t b, size_t i)
{
    size_t k = i;
    while (k > b && i - k < 4 && capitalised(o, k - 1) && !Ccai_ofl_clause_break(o, k))
        k--;
    size_t j = k, n;
    while (j > b && !Ccai_ofl_clause_break(o, j) && !o->mask[j - 1] &&
           (Ccai_ofl_is_digit_ch(o->norm[o->tok[j - 1].start]) ||
            (Ccai_ofl_sec_value(o, V_NUMBER, j - 1, &n) >= 0 && n == 1) ||
            Ccai_ofl_sec_at(o, "location.number.join", j - 1, j) == 1))
        j--;
    if (j < k) {
        if (j > b && !Ccai_ofl_clause_break(o, j) &&
            Ccai_ofl_sec_at(o, "location.unit", j - 1, j) == 1)
            j--;
        k = j;
    }
    return k;
}

/* "at my home, 15 Birch Court, Seattle": from the place word back to its
 * preposition, to the end of the sentence or an "and". */
static char *location_span(Ccai_offline *o, size_t b, size_t e, bool *ret_address, size_t *ret_b,
                           size_t *ret_e)
{
    size_t pos, len;
    size_t best = e, street_only = e;
    bool address = false;
    *ret_address = false;
    for (size_t i = b; i < e; i++) {
        /* "c'était avenue Foch": a street with its name needs no
         * preposition */
        bool road = Ccai_ofl_road_code(o, i);
        bool street = road || street_at(o, i, b, e);
        if (o->mask[i] || (!street && !Ccai_ofl_sec_at(o, "topic.incident_location", i, e)))
            continue;
        bool num = road || (i > b && Ccai_ofl_is_digit_ch(o->norm[o->tok[i - 1].start])) ||
                   (i + 1 < e && Ccai_ofl_is_digit_ch(o->norm[o->tok[i + 1].start])) ||
                   (i > b + 1 && Ccai_ofl_is_digit_ch(o->norm[o->tok[i - 2].start])) ||
                   (street && street_numbered(o, i, b, e));
        bool weak = Ccai_ofl_sec_at(o, "location.weak", i, e) > 0;
        /* a place word with no preposition before it and no number ("my
         * mistake about the place, it was outside the Co-op on Histon
         * Road"): the next one may have its own */
        size_t k = i;
        while (k > b && i - k < 6 && !lead_at(o, k))
            k--;
        bool lead = lead_at(o, k);
        /* "ce n'était pas rue Gambetta, c'était avenue Foch", "no fue en la
         * calle Mayor": the place taken back is not the one */
        if (Ccai_ofl_negated_at(o, b, lead ? k : i))
            continue;
        if (!num && !lead) {
            if (street && street_only == e)
                street_only = i;
            continue;
        }
        if ((best == e && (!weak || num)) || (num && !address)) {
            best = i;
            address = num;
        }
    }
    /* a street with its name and no preposition, when nothing else is a
     * place: from the street to its clause's end (and a town after it) */
    bool cut = false;
    if (best == e && street_only < e) {
        best = street_only;
        address = cut = true;
    }
    /* "no fue en la calle Mayor, fue en la avenida de Goya": the first cue
     * not negated */
    bool cued = false;
    for (size_t from = b;
         !cued && Ccai_ofl_sec_find(o, "cue.incident_location", from, e, &pos, &len);
         from = pos + len)
        cued = !Ccai_ofl_negated_at(o, b, pos);
    if (cued) {
        best = pos + len;
        address = true;
        cut = false;
    } else if (best < e) {
        size_t k = best;
        while (k > b && best - k < 6 && !lead_at(o, k))
            k--;
        if (!lead_at(o, k)) {
            if (!address)
                return NULL;
            k = best > b && Ccai_ofl_is_digit_ch(o->norm[o->tok[best - 1].start]) ? best - 1 : best;
            if (!o->mask[best] && Ccai_ofl_sec_at(o, "location.street", best, best + 1) == 1)
                k = address_start(o, b, best);
        } else {
            /* "at the Safeway on Market Street": the place before the street */
            for (size_t j = k; j > b && k - j < 4 && !o->mask[j - 1]; j--) {
                if (lead_at(o, j - 1)) {
                    k = j - 1;
                    break;
                }
            }
        }
        best = k;
    } else {
        /* "... ce matin à Toulouse.", "in New York": a place name after its
         * preposition ends the clause */
        for (size_t k = b + 1; k + 1 < e && best == e; k++) {
            size_t m = o->mask[k] ? 0 : Ccai_ofl_sec_at(o, "location.city_lead", k, e);
            if (!m || k + m >= e || !town_word(o, k + m))
                continue;
            size_t j = k + m;
            while (j < e && town_word(o, j) && !(j > k + m && Ccai_ofl_clause_break(o, j)))
                j++;
            /* "... outside the Tesco in Ballymun and took my bag" */
            if (j == e || Ccai_ofl_clause_break(o, j) || Ccai_ofl_tok_word(o, j, W_NUMBER_AND))
                best = k;
        }
        if (best == e)
            return NULL;
    }
    size_t end = best + 1, gap = e, gap_end = e;
    while (end < e) {
        if (o->mask[end]) {
            /* "on the M1 yesterday arvo, northbound, just past the Coomera
             * exit": the date read inside the place, then the place goes
             * on; the value leaves the date out */
            size_t m = end;
            while (m < e && o->mask[m])
                m++;
            if (gap < e || m >= e || !Ccai_ofl_clause_break(o, m) || !place_goes_on(o, m, e))
                break;
            gap = end;
            gap_end = end = m;
            continue;
        }
        if ((Ccai_ofl_tok_is(o, end, "and") || Ccai_ofl_tok_is(o, end, "y") ||
             Ccai_ofl_tok_is(o, end, "et")) &&
            !second_street(o, end, e))
            break;
        /* after the place, a clause goes on with a town ("…, en
         * Valencia"), not with the story ("…, nadie resultó herido") */
        if ((cut || end > best + 1) && Ccai_ofl_clause_break(o, end) && !place_goes_on(o, end, e))
            break;
        end++;
    }
    *ret_address = address;
    *ret_b = best;
    *ret_e = end;
    if (gap == e || end <= gap_end)
        return Ccai_ofl_raw_span(o, best, gap < end ? gap : end);
    char *head = Ccai_ofl_raw_span(o, best, gap);
    char *tail = Ccai_ofl_raw_span(o, gap_end, end);
    char *v = NULL;
    if (!head || !tail) {
        v = head ? head : tail;
        head = head == v ? NULL : head;
        tail = tail == v ? NULL : tail;
    } else if ((v = Ccai_asprintf("%s, %s", head, tail)) == NULL) {
        o->oom = true;
    } else {
        /* the tail as said: "northbound", not "Northbound" */
        const char *r = tail[0] ? strstr(o->raw + o->tok[gap_end].raw, tail + 1) : NULL;
        if (r && r > o->raw && r[-1] >= 'a' && r[-1] <= 'z')
            v[strlen(head) + 2] = r[-1];
    }
    ccai_free(head);
    ccai_free(tail);
    return v;
}

char *Ccai_ofl_location_in(Ccai_offline *o, size_t b, size_t e, bool *ret_address)
{
    size_t pb, pe;
    return location_span(o, b, e, ret_address, &pb, &pe);
}

size_t Ccai_ofl_location_field(const Ccai_offline *o)
{
    size_t fl = 0;
    while (fl < o->nfields && strcmp(o->f[fl].name, "incident_location") != 0)
        fl++;
    return fl;
}

/* A sentence that is an address and nothing else ("At home, 12 Elm Street")
 * answers no other question than the location. */
CCAI_MUST_CHECK bool Ccai_ofl_pure_location(Ccai_offline *o, size_t f, const bool *asked, size_t b,
                                            size_t e)
{
    size_t fl = Ccai_ofl_location_field(o);
    if (fl >= o->nfields || f == fl || asked[fl])
        return false;
    bool address;
    char *loc = Ccai_ofl_location_in(o, b, e, &address);
    char *all = loc && address ? Ccai_ofl_raw_span(o, b, e) : NULL;
    bool same = all && strcmp(all, loc) == 0;
    ccai_free(loc);
    ccai_free(all);
    return same;
}

/* "It was at my sister's house, 14 Maple Drive, Toledo", "À l'angle du
 * boulevard Voltaire et de la rue de Charonne, à Paris", "En la estación
 * de Atocha, en Madrid, esperando el tren" said to another question: the
 * sentence is the place (after a cue, before words about no field) and
 * names it (an address, a name, a street); the caller says again where it
 * happened, after an answer that missed it. NULL: the sentence is not. */
char *Ccai_ofl_place_restated(Ccai_offline *o, size_t b, size_t e)
{
    bool address;
    size_t pb, pe, pos, len;
    char *loc = location_span(o, b, e, &address, &pb, &pe);
    if (!loc)
        return NULL;
    size_t from = b;
    /* "Le 2360 rue Bourassa": an article before the house's number */
    while (from < pb &&
           (Ccai_ofl_hesitation(o, from) ||
            (Ccai_ofl_filler(o, from) && Ccai_ofl_is_digit_ch(o->norm[o->tok[from + 1].start]))))
        from++;
    if (from < pb && Ccai_ofl_sec_find(o, "cue.incident_location", from, pb + 1, &pos, &len) &&
        pos == from && pos + len == pb)
        from = pb;
    bool named = address || Ccai_ofl_street_named(o, pb, pe);
    for (size_t k = pb + 1; k < pe && !named; k++)
        named = capitalised(o, k);
    /* what follows is about another field, not the place's own words
     * (", villa San Gerónimo") */
    bool other = false;
    size_t fl = Ccai_ofl_location_field(o);
    for (size_t f = 0; pe < e && f < o->nfields && !other; f++)
        other = f != fl && o->f[f].type == CCAI_FIELD_TEXT &&
                (Ccai_ofl_field_sec_has(o, "topic", f, pe, e, &pos) ||
                 Ccai_ofl_field_sec_has(o, "cue", f, pe, e, &pos));
    if (from < pb || !named || other) {
        ccai_free(loc);
        return NULL;
    }
    return loc;
}

/* Does [b, e) say where the caller lives, not where it happened
 * ([location.aside]: "I live over in Alameda", "nous on habite à
 * Épalinges", "yo vivo en Lanús", "that is where I stay")? */
CCAI_MUST_CHECK bool Ccai_ofl_place_aside(const Ccai_offline *o, size_t b, size_t e)
{
    return Ccai_ofl_sec_has(o, "location.aside", b, e);
}

/* Does the sentence [b, e), said after the place in the same answer, go
 * on with it: a number (digits or number words: "Two oh two six"), a
 * capitalised word after its first ("Kings Heath."), or, @p after the
 * place, two content words at most ("Birmingham, obviously."; before it,
 * "Tipo.", "Four-ish." end the answer before)? Not the story or a comment
 * ("Je confonds toujours avec l'ancienne adresse", "iba a la pega"). */
CCAI_MUST_CHECK bool Ccai_ofl_place_sentence_goes_on(const Ccai_offline *o, size_t b, size_t e,
                                                     bool after)
{
    size_t words = 0;
    for (size_t k = b; k < e; k++) {
        if (o->mask[k] || Ccai_ofl_hesitation(o, k))
            continue;
        size_t j = k;
        /* number words two at least: "un peu après" has an article */
        if (Ccai_ofl_is_digit_ch(o->norm[o->tok[k].start]) ||
            (Ccai_ofl_number_words(o, &j) >= 0 && j > k &&
             (j > k + 1 || Ccai_ofl_number_words(o, &(size_t){j}) >= 0)) ||
            (k > b && capitalised(o, k)))
            return true;
        words += !Ccai_ofl_filler(o, k);
    }
    return after && words <= 2;
}

/* Is [b, e) only a correction's words ("Sorry, sorry, I told wrongly.",
 * "Excusez, je me suis trompé tantôt", "Oiga, la dirección se la di
 * mal"): [correction] entries, hesitations and fillers, two other words
 * at most; not a no ("No, sorry.")? */
CCAI_MUST_CHECK bool Ccai_ofl_only_correction(const Ccai_offline *o, size_t b, size_t e)
{
    size_t other = 0;
    bool any = false;
    for (size_t k = b; k < e;) {
        /* the correction's words may be taken already (masked) */
        size_t m = Ccai_ofl_sec_at(o, "correction", k, e);
        if (m) {
            any = true;
            k += m;
            continue;
        }
        if (!o->mask[k] && !Ccai_ofl_hesitation(o, k) && !Ccai_ofl_filler(o, k))
            other++;
        k++;
    }
    return any && other <= 2 && !Ccai_ofl_sec_at(o, "negation", b, b + 1);
}
