/* The offline dialogue: the turn. What the caller said is read for every
 * field (offline_extract.c), values are stored, questions answered,
 * requests for a person and corrections handled. */
#include "engine/offline_extract.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* The turn                                                                 */
/* ------------------------------------------------------------------------ */

/* How a value is read back: "j dot haas at hotmail dot com", the parts of
 * an address spelled by the caller letter by letter ("g r a c e dot h i l l
 * s at gmail dot com"), digits one by one, a code letter by letter. */
char *Ccai_ofl_readback(Ccai_offline *o, size_t f)
{
    const char *v = o->values[f];
    if (o->f[f].type == CCAI_FIELD_DATETIME || o->f[f].type == CCAI_FIELD_PHONE_NUMBER)
        return Ccai_ofl_spoken_value(o, f);
    Ccai_buf b = {0};
    bool ok = true;
    const char *names[4];
    for (unsigned k = 0; k < 4; k++)
        names[k] = Ccai_ofl_lex_phrase(o, "sym.say", k);
    unsigned part = 0;
    bool email = o->f[f].type == CCAI_FIELD_EMAIL;
    for (const char *p = v; *p && ok; p++) {
        int sym = *p == '.' ? 0 : *p == '@' ? 1 : *p == '-' ? 2 : *p == '_' ? 3 : -1;
        bool spell = email && part < 32 && (o->st.email_spelled >> part & 1u);
        if (sym >= 0) {
            ok = Ccai_buf_printf(&b, " %s ", names[sym] ? names[sym] : "");
            part++;
        } else if (o->f[f].type == CCAI_FIELD_TEXT || spell) {
            ok = (b.len == 0 || b.data[b.len - 1] == ' ' || Ccai_buf_puts(&b, " ")) &&
                 Ccai_buf_append(&b, p, 1);
        } else {
            ok = Ccai_buf_append(&b, p, 1);
        }
    }
    char *out = ok ? Ccai_buf_steal(&b) : NULL;
    Ccai_buf_free(&b);
    if (!out) {
        o->oom = true;
        return NULL;
    }
    /* squeeze spaces */
    size_t w = 0;
    for (size_t r = 0; out[r]; r++) {
        if (out[r] == ' ' && (w == 0 || out[w - 1] == ' '))
            continue;
        out[w++] = out[r];
    }
    while (w > 0 && out[w - 1] == ' ')
        w--;
    out[w] = '\0';
    return out;
}

/* Store a value found (validated, with the caller's offset for a date). */
static CCAI_MUST_CHECK bool store(Ccai_offline *o, size_t f, const char *value)
{
    char *norm = NULL;
    ccai_status st = ccai_field_validate(o->f[f].type, value, &norm, NULL);
    if (st == CCAI_ERR_NOMEM)
        o->oom = true;
    if (st != CCAI_OK)
        return false;
    char iso[CCAI_TZ_ISO_MAX];
    if (o->tz && o->f[f].type == CCAI_FIELD_DATETIME &&
        Ccai_tz_localize_iso(o->tz, norm, iso, sizeof iso, NULL) == CCAI_OK &&
        strcmp(iso, norm) != 0) {
        char *w = Ccai_strdup(iso);
        ccai_free(norm);
        if (!w) {
            o->oom = true;
            return false;
        }
        norm = w;
    }
    if (o->values[f] && strcmp(o->values[f], norm) == 0) {
        ccai_free(norm);
        return false;
    }
    Ccai_ofl_set_value(o, f, norm);
    Ccai_ofl_act(o, CCAI_OFFLINE_SET_FIELD, o->f[f].name, norm);
    o->st.tries[f] = 0;
    o->st.skip[f] = SKIP_NONE;
    o->st.last_set = f;
    return true;
}

/* A date given a time already noted keeps that time ("it was Tuesday, not
 * Monday" after "Monday at 8 pm"). */
/* A number said from token b on, in digits or words ("maybe around ten"). */
static CCAI_MUST_CHECK bool number_after(const Ccai_offline *o, size_t b)
{
    for (size_t i = b; i < o->ntok; i++) {
        size_t n;
        if (Ccai_ofl_is_digit_ch(o->norm[o->tok[i].start]) ||
            Ccai_ofl_sec_value(o, V_NUMBER, i, &n) >= 0 ||
            Ccai_ofl_sec_value(o, V_CLOCK, i, &n) >= 0)
            return true;
    }
    return false;
}

/* "No idea, you'd have to ask the shop", "Il faudrait que je vérifie, je
 * n'ai pas mon contrat sous la main", "tendría que fijarme cuál les di,
 * tengo dos y no me acuerdo": every clause of [b, e) says the caller
 * cannot tell now ([dontknow], [dontknow.defer], [unavailable]), one of
 * them that the caller does not know or must check, no "but", no number;
 * not "no idea who did it" (a [wh] word after the don't-know tells who).
 * @p alone: [b, e) is the whole answer, else it must say that the caller
 * must check or does not have it at hand ("Es que no sé exacto. En la
 * bodega...": not exactly, the day may come). *ret_unavailable: a clause
 * says it is not at hand. */
static CCAI_MUST_CHECK bool cannot_tell(const Ccai_offline *o, size_t b, size_t e, bool alone,
                                        bool *ret_unavailable)
{
    bool knows_not = false, unavailable = false, checks = false;
    for (size_t c = b; c < e;) {
        size_t ce = c + 1;
        while (ce < e && !Ccai_ofl_clause_break(o, ce))
            ce++;
        if (Ccai_ofl_content_left(o, c, ce) > 0) {
            size_t p, n;
            bool defer = Ccai_ofl_sec_has(o, "dontknow.defer", c, ce);
            bool dk = defer || (Ccai_ofl_sec_find(o, "dontknow", c, ce, &p, &n) &&
                                !Ccai_ofl_sec_has(o, "wh", p + n, ce) &&
                                Ccai_ofl_sec_at(o, "negation.lead", p, ce) <= n);
            bool un = Ccai_ofl_sec_has(o, "unavailable", c, ce);
            if ((!dk && !un) || Ccai_ofl_sec_has(o, "contrast", c, ce))
                return false;
            knows_not |= dk;
            unavailable |= un;
            checks |= defer || un;
        }
        c = ce;
    }
    for (size_t i = b; i < e; i++) {
        size_t n;
        if (Ccai_ofl_is_digit_ch(o->norm[o->tok[i].start]) ||
            Ccai_ofl_sec_value(o, V_NUMBER, i, &n) >= 0 ||
            Ccai_ofl_sec_value(o, V_CLOCK, i, &n) >= 0)
            return false;
    }
    *ret_unavailable = unavailable;
    return knows_not && (alone || checks);
}

static char *with_old_time(const Ccai_offline *o, size_t f, const char *date)
{
    const char *old = o->values[f];
    if (!old || strlen(old) < 16 || old[10] != 'T')
        return NULL;
    return Ccai_asprintf("%.10s %.5s", date, old + 11);
}

/* Is an entry of the section said anywhere, a question's words (masked
 * from the answer) included? */
static CCAI_MUST_CHECK bool said_anywhere(const Ccai_offline *o, const char *section)
{
    for (size_t i = 0; i < o->ntok; i++) {
        if (Ccai_ofl_sec_at(o, section, i, o->ntok))
            return true;
    }
    return false;
}

/* The field a question is about ("what's my policy number?", "did you
 * get my e-mail?"): the words of its section "about.<field>". */
static size_t question_field(const Ccai_offline *o)
{
    size_t best = o->nfields, best_len = 0;
    for (size_t f = 0; f < o->nfields; f++) {
        char sec[CCAI_OFL_SECTION_MAX];
        if ((size_t)snprintf(sec, sizeof sec, "about.%s", o->f[f].name) >= sizeof sec)
            continue;
        for (size_t i = 0; i < o->ntok; i++) {
            size_t len = Ccai_ofl_sec_at(o, sec, i, o->ntok);
            if (len > best_len)
                best = f, best_len = len; /* "mon numéro de contrat", not "mon numéro" */
        }
    }
    return best;
}

/* "Is it going to take long?": how many questions are left. */
static void answer_remaining(Ccai_offline *o)
{
    bool open[CCAI_FIELDS_MAX] = {false};
    size_t left = 0;
    for (size_t f = 0; f < o->nfields; f++) {
        open[f] = !o->values[f] && o->st.skip[f] != SKIP_FINAL;
        bool paired = false; /* asked with an earlier one ("when and where?") */
        for (size_t g = 0; g < f && open[f] && !paired; g++) {
            char sec[2 * CCAI_FIELD_NAME_MAX + 8];
            for (int w = 0; w < 2 && !paired && open[g]; w++) {
                snprintf(sec, sizeof sec, "ask.%s+%s", o->f[w ? f : g].name, o->f[w ? g : f].name);
                paired = strlen(sec) < CCAI_OFL_SECTION_MAX && Ccai_ofl_lex_phrase(o, sec, 0);
            }
        }
        left += open[f] && !paired;
    }
    /* the question being asked is one of them */
    if (left <= 1) {
        Ccai_ofl_say_phrase(o, left ? "say.answer_remaining_one" : "say.answer_remaining_none", 0,
                            NULL);
        return;
    }
    char n[24];
    snprintf(n, sizeof n, "%zu", left);
    Ccai_ofl_say_phrase(o, "say.answer_remaining", 0, n);
}

/* A question from the caller: answered from what the dialogue knows (who
 * it is, how many questions are left, what was noted), else a colleague
 * will follow up. The question waiting is asked again after. */
static void answer_question(Ccai_offline *o)
{
    if (Ccai_ofl_sec_has(o, "question.about_field", 0, o->ntok) && o->st.phase == PH_ASK &&
        o->st.cur < o->nfields) {
        char *label = Ccai_ofl_label_str(o, o->st.cur, false);
        if (label) {
            Ccai_ofl_say_phrase(o, "say.question_field", 0, label);
        }
        ccai_free(label);
        return;
    }
    if (said_anywhere(o, "question.who")) {
        const char *n = o->bot_name, *c = o->bot_company;
        if (n && *n && c && *c)
            Ccai_ofl_say_phrase2(o, "say.answer_who", n, c);
        else if ((n && *n) || (c && *c))
            Ccai_ofl_say_phrase2(o, "say.answer_who_one", n && *n ? n : c, NULL);
        else
            Ccai_ofl_say_phrase2(o, "say.answer_who_anon", NULL, NULL);
        return;
    }
    if (said_anywhere(o, "question.remaining")) {
        answer_remaining(o);
        return;
    }
    if (said_anywhere(o, "question.so_far")) {
        if (Ccai_ofl_anything_noted(o))
            Ccai_ofl_say_summary(o, M_SO_FAR, false);
        else
            Ccai_ofl_say_msg(o, M_NOTHING_YET);
        return;
    }
    if (said_anywhere(o, "question.why")) {
        Ccai_ofl_say_phrase(o, "say.answer_why", 0, NULL);
        return;
    }
    size_t f = question_field(o);
    if (f < o->nfields) {
        if (!o->values[f]) {
            Ccai_ofl_say_phrase(o, "say.answer_not_yet", 0, NULL);
            return;
        }
        const char *sec = o->f[f].type == CCAI_FIELD_EMAIL          ? "say.ack_email"
                          : o->f[f].type == CCAI_FIELD_PHONE_NUMBER ? "say.ack_phone"
                          : o->f[f].type == CCAI_FIELD_DATETIME     ? "say.ack_date"
                          : Ccai_ofl_code_field(o, f)               ? "say.ack_policy"
                                                                    : "say.question_claim";
        char *rb = o->f[f].type == CCAI_FIELD_TEXT && !Ccai_ofl_code_field(o, f)
                       ? Ccai_ofl_spoken_value(o, f)
                       : Ccai_ofl_readback(o, f);
        if (rb)
            Ccai_ofl_say_phrase(o, sec, 0, rb);
        ccai_free(rb);
        return;
    }
    Ccai_ofl_say_phrase(o, "say.question_later", 0, NULL);
}

size_t Ccai_ofl_attempted_field(const Ccai_offline *o)
{
    for (size_t k = 0; k < o->st.ngroup && o->st.ngroup > 1; k++) {
        size_t f = o->st.group[k];
        /* the words of an address not sure enough to note are taken
         * (masked): they still say an address was attempted */
        if (f < o->nfields && o->f[f].type == CCAI_FIELD_EMAIL && !o->values[f] &&
            (Ccai_ofl_at_sign(o) || said_anywhere(o, "sym.dot")))
            return f;
    }
    return o->st.cur;
}

void Ccai_ofl_say_ack(Ccai_offline *o)
{
    Ccai_ofl_say_phrase(o, "say.ack", o->st.acks++, NULL);
}

/* A sentence said without "?" that asks all the same ("um why do you
 * need that", "c'est couvert", "para qué necesitan eso"): opened by a
 * [question.open] entry, after any hesitation or [question.lead] ("and
 * is that covered"). One word opens a question only in an utterance of
 * one sentence of more than three words ("How? By the river."). */
static CCAI_MUST_CHECK bool unpunctuated_question(const Ccai_offline *o, size_t b, size_t e,
                                                  bool alone)
{
    /* "which car park do you mean": a question wherever its words are */
    if (Ccai_ofl_sec_has(o, "question.inside", b, e))
        return true;
    for (size_t m = 1; b < e && m > 0; b += m)
        m = Ccai_ofl_hesitation(o, b) ? 1 : Ccai_ofl_sec_at(o, "question.lead", b, e);
    size_t n = b < e ? Ccai_ofl_sec_at(o, "question.open", b, e) : 0;
    if (n && (n > 1 || (alone && e - b > 3)) && !Ccai_ofl_sec_has(o, "dontknow", b, e))
        return true;
    /* "Before I say anything, will this affect my bonus": its last clause */
    size_t c = e;
    while (c > b + 1 && !Ccai_ofl_clause_break(o, c - 1))
        c--;
    if (c <= b + 1 || e - (c - 1) <= 3)
        return false;
    n = Ccai_ofl_sec_at(o, "question.open", c - 1, e);
    return n && !Ccai_ofl_sec_has(o, "dontknow", c - 1, e);
}

/* The later clause of [b, e) that opens a question ([question.start],
 * [wh], after [question.lead] words), b when none does. */
static size_t question_clause(const Ccai_offline *o, size_t b, size_t e)
{
    for (size_t k = b + 1; k < e; k++) {
        if (!Ccai_ofl_clause_break(o, k))
            continue;
        size_t j = k;
        for (size_t m = 1; j < e && m > 0; j += m)
            m = Ccai_ofl_hesitation(o, j) ? 1 : Ccai_ofl_sec_at(o, "question.lead", j, e);
        if (j < e && (Ccai_ofl_sec_at(o, "question.start", j, e) || Ccai_ofl_sec_at(o, "wh", j, e)))
            return k;
        /* the last clause asks with its wh word at its end ("ça change
         * quoi ?", "c'est pour quoi ?", "you need that for what?") */
        size_t c = k + 1;
        while (c < e && !Ccai_ofl_clause_break(o, c))
            c++;
        if (c == e && e - k <= 5 && Ccai_ofl_sec_at(o, "wh", e - 1, e) == 1)
            return k;
    }
    return b;
}

/* "what do you need my policy number it's AB123456", "was anyone hurt no
 * nobody was": a sentence opened as a question ([question.start], [wh])
 * and answered in the same breath, the answer starting with an
 * [answer.lead] word. Where the answer starts, e when there is none. */
static size_t answer_in_question(const Ccai_offline *o, size_t b, size_t e)
{
    for (size_t m = 1; b < e && m > 0; b += m)
        m = Ccai_ofl_hesitation(o, b) ? 1 : Ccai_ofl_sec_at(o, "question.lead", b, e);
    /* its opener in the dialogue's language: French "que moi, et les
     * voleurs, mais..." (only me) is no Spanish "qué" */
    if (b >= e ||
        !(Ccai_ofl_sec_at_own(o, "question.start", b, e) || Ccai_ofl_sec_at_own(o, "wh", b, e)))
        return e;
    for (size_t k = b + 2; k < e; k++) {
        if (Ccai_ofl_sec_at(o, "answer.lead", k, e))
            return k;
    }
    return e;
}

/* The words of a field asked, said back before the answer ("hurt, no,
 * nobody"): its [topic.<field>] or [cue.<field>] words and fillers, at most
 * three, then an [answer.lead] yes or no; they are masked. */
static CCAI_MUST_CHECK bool callback_here(const Ccai_offline *o, size_t b, size_t e);

static void echo_of_question(Ccai_offline *o, const bool *asked, size_t b, size_t e)
{
    for (size_t k = b + 1; k < e && k <= b + 3; k++) {
        /* a yes or a no starts the answer ("just me, it's my garage" is
         * all answer) */
        if (!Ccai_ofl_sec_at(o, "answer.lead", k, e) ||
            !(Ccai_ofl_sec_at(o, "negation", k, k + 1) == 1 ||
              Ccai_ofl_sec_at(o, "yes.words", k, k + 1) == 1 || Ccai_ofl_tok_is(o, k, "si")))
            continue;
        bool echo = true, topic = false;
        for (size_t i = b; i < k && echo;) {
            size_t m = 0;
            for (size_t f = 0; f < o->nfields && !m; f++) {
                char sec[CCAI_OFL_SECTION_MAX];
                static const char *const kinds[] = {"topic", "cue"};
                for (size_t t = 0; asked[f] && t < 2 && !m; t++)
                    if ((size_t)snprintf(sec, sizeof sec, "%s.%s", kinds[t], o->f[f].name) <
                        sizeof sec)
                        m = Ccai_ofl_sec_at(o, sec, i, k);
            }
            if (m) {
                topic = true;
                i += m;
            } else if (Ccai_ofl_filler(o, i) || Ccai_ofl_hesitation(o, i)) {
                i++;
            } else {
                echo = false;
            }
        }
        /* "This mobile, yeah": words that name the caller's number are
         * the answer, no echo */
        if (echo && topic && !callback_here(o, b, k))
            for (size_t i = b; i < k; i++)
                o->mask[i] = true;
        return;
    }
}

/* How a field the caller does not know is put off: asked once more at
 * the end when the caller may have it then (a number to look up:
 * [dontknow.later], read from en.txt), else not asked again ("no idea"
 * whether anyone saw it is the answer); refused, never. */
unsigned char Ccai_ofl_dontknow_skip(const Ccai_offline *o, size_t f, bool refuse)
{
    if (refuse || o->st.second_pass || o->st.editing)
        return SKIP_FINAL;
    const Ccai_ofl_entry *e;
    size_t n = Ccai_ofl_lex_get(o->lex, o->lex->en, "dontknow.later", &e);
    for (size_t k = 0; k < n; k++)
        if (strcmp(e[k].text, o->f[f].name) == 0)
            return SKIP_ONCE;
    /* a schema of its own: its fields are all worth asking again */
    return Ccai_ofl_own_order(o) ? SKIP_ONCE : SKIP_FINAL;
}

/* "I already told you", "je vous l'ai déjà dit", "ya se lo dije"
 * ([already.told]) with nothing new: the fields asked are not asked again.
 * What the dialogue has is kept (the caller's number for the phone, the
 * day said for the date); the rest is left to a colleague. */
static void already_told(Ccai_offline *o)
{
    Ccai_ofl_say_phrase(o, "say.already_told", 0, NULL);
    if (o->st.pending_date) {
        Ccai_ofl_skip_or_date(o);
        return;
    }
    size_t fields[OFL_GROUP_MAX + 1], n = 0;
    for (size_t k = 0; k < o->st.ngroup && k < OFL_GROUP_MAX; k++)
        fields[n++] = o->st.group[k];
    fields[n++] = o->st.cur;
    for (size_t k = 0; k < n && !o->oom; k++) {
        size_t f = fields[k];
        if (f >= o->nfields || o->values[f])
            continue;
        if (o->f[f].type == CCAI_FIELD_PHONE_NUMBER && o->caller_number &&
            store(o, f, o->caller_number))
            continue;
        o->st.skip[f] = SKIP_FINAL;
    }
    if (!o->oom)
        Ccai_ofl_advance(o);
}

/* The first request verb in [b, e) that is no report of what was said
 * ("I talked to", "j'ai parlé à", "hablé con": [transfer.report]). */
static CCAI_MUST_CHECK bool request_verb(const Ccai_offline *o, size_t b, size_t e, size_t *ret_pos)
{
    for (size_t i = b; i < e; i++) {
        if (o->mask[i] || !Ccai_ofl_sec_at(o, "transfer.verb", i, e))
            continue;
        bool report = false;
        for (size_t k = i > b + 3 ? i - 3 : b; k <= i && !report; k++) {
            size_t n = Ccai_ofl_sec_at(o, "transfer.report", k, e);
            size_t q = Ccai_ofl_sec_at(o, "transfer.about_bot", k, e);
            report = (n && k + n > i) || (q && k + q > i);
        }
        if (!report) {
            *ret_pos = i;
            return true;
        }
    }
    return false;
}

/* Is there a clause break before a token of (a, b]: are tokens a and b in
 * different clauses? */
static CCAI_MUST_CHECK bool clause_break_within(const Ccai_offline *o, size_t a, size_t b)
{
    for (size_t j = a + 1; j <= b; j++)
        if (Ccai_ofl_clause_break(o, j))
            return true;
    return false;
}

/* Is the person word at token p part of a question about the bot, not a
 * request ("are you a real person?", "vous êtes un humain ?", "¿eres una
 * persona?")? A [transfer.about_bot] entry ends just before it (a word
 * between at most) in the same clause, from b on. */
static CCAI_MUST_CHECK bool about_bot(const Ccai_offline *o, size_t b, size_t p)
{
    for (size_t k = p > b + 5 ? p - 5 : b; k < p; k++) {
        size_t n = Ccai_ofl_sec_at(o, "transfer.about_bot", k, p);
        if (!n || k + n + 1 < p)
            continue;
        if (!clause_break_within(o, k, p))
            return true;
    }
    return false;
}

/* The first [transfer.strong] entry of [b, e) that is no question about the
 * bot ("are you a real person?"): *ret_p, *ret_n. */
static CCAI_MUST_CHECK bool strong_request(const Ccai_offline *o, size_t b, size_t e, size_t *ret_p,
                                           size_t *ret_n)
{
    for (size_t from = b; Ccai_ofl_sec_find(o, "transfer.strong", from, e, ret_p, ret_n);
         from = *ret_p + 1) {
        if (!about_bot(o, b, *ret_p))
            return true;
    }
    return false;
}

/* A request verb that governs a person word of [b, e): just before it, at
 * most one word between them (three when the last is [transfer.to]) in the
 * same clause ("talk to someone",
 * "passez-moi un conseiller", not "I need to report that someone stole my
 * bike", "quiero dar parte de que alguien..."), or shortly after it ("is
 * there someone I can talk to"). */
/* Is the person at token pp (lp words) wanted for a visit or a job, not on
 * the line: "can I have someone come out to look at it", "quelqu'un va
 * passer voir", "que venga alguien a verlo", "send somebody"? A
 * [transfer.visit] entry just after the person (a word between at most),
 * or a [transfer.send] entry ending just before it, in the same clause. */
static CCAI_MUST_CHECK bool person_for_visit(const Ccai_offline *o, size_t pp, size_t lp, size_t e)
{
    for (size_t k = pp + lp; k < e && k <= pp + lp + 1; k++) {
        if (Ccai_ofl_clause_break(o, k))
            break;
        if (Ccai_ofl_sec_at(o, "transfer.visit", k, e))
            return true;
    }
    for (size_t k = pp > 4 ? pp - 4 : 0; k < pp; k++) {
        size_t n = Ccai_ofl_sec_at(o, "transfer.send", k, pp);
        if (n && k + n + 1 >= pp) {
            if (!clause_break_within(o, k, pp))
                return true;
        }
    }
    return false;
}

static CCAI_MUST_CHECK bool verb_asks_person(const Ccai_offline *o, size_t b, size_t e)
{
    /* the request verbs once (a few), then each person word against them */
    size_t verb[16], vlen[16], nv = 0;
    for (size_t i = b, pv; nv < 16 && i < e && request_verb(o, i, e, &pv); i = pv + 1) {
        verb[nv] = pv;
        vlen[nv++] = Ccai_ofl_sec_at(o, "transfer.verb", pv, e);
    }
    size_t pp, lp;
    for (size_t from = b; nv && Ccai_ofl_sec_find(o, "transfer.person", from, e, &pp, &lp);
         from = pp + 1) {
        if (person_for_visit(o, pp, lp, e) || about_bot(o, b, pp))
            continue;
        for (size_t v = 0; v < nv; v++) {
            size_t pv = verb[v], lv = vlen[v];
            if (pv >= pp) {
                if (pv < pp + lp + 4)
                    return true;
                break;
            }
            if (pv + lv > pp) /* "páseme con" + "con el encargado" */
                return true;
            /* "parler directement à un conseiller": more words between
             * when the last is "to", "à", "con" ([transfer.to]); articles
             * and "real", "vrai", "verdadero" before the person do not
             * count ([transfer.adj]: "let me speak to a real agent") */
            size_t q = pp;
            while (q > pv + lv && Ccai_ofl_sec_at(o, "transfer.adj", q - 1, q) == 1)
                q--;
            size_t gap = q - (pv + lv);
            if (gap > 4 || (gap > 1 && Ccai_ofl_sec_at(o, "transfer.to", q - 1, q) != 1))
                continue;
            if (!clause_break_within(o, pv, pp))
                return true;
        }
    }
    return false;
}

/* Does [b, e) ask for a person (a person word, with a request verb or
 * alone)? *ret_from: where the clause that asks starts ("Se me inundó la
 * cocina, quiero hablar con una persona": at "quiero"). */
static CCAI_MUST_CHECK bool person_clause(const Ccai_offline *o, size_t b, size_t e,
                                          size_t *ret_from)
{
    size_t pp, lp, pv, ps, ls;
    /* "is there someone real?", "I don't want a machine": no verb needed */
    bool strong = strong_request(o, b, e, &ps, &ls);
    bool person = Ccai_ofl_sec_find(o, "transfer.person", b, e, &pp, &lp);
    if (person && !strong && (person_for_visit(o, pp, lp, e) || about_bot(o, b, pp)))
        return false;
    if (!strong && !person)
        return false;
    bool verb = request_verb(o, b, e, &pv);
    if (!strong && !verb && Ccai_ofl_content_left(o, b, e) > 3)
        return false;
    /* the clause that asks starts at the first of its words */
    size_t k = e;
    if (strong)
        k = ps;
    if (person && (verb || !strong) && pp < k)
        k = pp;
    if (verb && person && pv < k)
        k = pv;
    /* "me robaron la bici y prefiero que me atienda una persona": the
     * clause that asks starts at its [clause.join] word */
    while (k > b && !Ccai_ofl_clause_break(o, k) && !Ccai_ofl_sec_at(o, "clause.join", k, k + 1))
        k--;
    *ret_from = k;
    return true;
}

/* Do the words [b, e) ask for a person (o->mask cleared)? */
static CCAI_MUST_CHECK bool asks_person_in(const Ccai_offline *o, size_t b, size_t e)
{
    size_t pp, lp, ps, ls;
    /* "someone real", "not a machine", "quelqu'un d'humain" ask alone; not
     * "are you a real person?" */
    if (strong_request(o, b, e, &ps, &ls))
        return true;
    if (Ccai_ofl_sec_find(o, "transfer.person", b, e, &pp, &lp)) {
        /* "can I speak to someone?", "is there someone I can speak to?" */
        if (verb_asks_person(o, b, e))
            return true;
        /* "an agent, please", not "a human was hurt" */
        size_t k = pp + lp;
        while (k < e && (Ccai_ofl_sec_at(o, "polite", k, k + 1) == 1 || Ccai_ofl_hesitation(o, k)))
            k++;
        if (pp == b && k == e)
            return true;
    }
    for (size_t i = b; i < e; i++) {
        size_t n = Ccai_ofl_sec_at(o, "transfer.alone", i, e);
        if (!n || !(i == b || Ccai_ofl_tok_is(o, i - 1, "a") || Ccai_ofl_tok_is(o, i - 1, "an") ||
                    Ccai_ofl_tok_is(o, i - 1, "un")))
            continue;
        size_t k = i + n;
        while (k < e && (Ccai_ofl_sec_at(o, "polite", k, k + 1) == 1 || Ccai_ofl_hesitation(o, k)))
            k++;
        if (k == e && e - b <= n + 3)
            return true;
    }
    return false;
}

/* Do the words [b, e) give a fact: a digit, or a field's cue or topic? */
static CCAI_MUST_CHECK bool clause_has_fact(const Ccai_offline *o, size_t b, size_t e)
{
    for (size_t i = b; i < e; i++)
        for (size_t k = o->tok[i].start; k < o->tok[i].start + o->tok[i].len; k++)
            if (Ccai_ofl_is_digit_ch(o->norm[k]))
                return true;
    for (size_t f = 0; f < o->nfields; f++) {
        size_t p;
        if (Ccai_ofl_field_sec_has(o, "topic", f, b, e, &p) ||
            Ccai_ofl_field_sec_has(o, "cue", f, b, e, &p))
            return true;
    }
    return false;
}

/* A request for a person taken back in the same breath, as an agent hears
 * it ("can I talk to your manager? ... no, forget it", "passez-moi
 * quelqu'un... non, laissez tomber", "¿me pasás con alguien? No, dejá"): a
 * clause opened by a [transfer.withdraw] entry ([transfer.withdraw.lead]
 * words and hesitations before it at most) and ended by it, after words
 * that ask for a person, none asking again after it. *ret_w: where its
 * clause starts, *ret_we: where it ends. o->mask cleared. */
static CCAI_MUST_CHECK bool person_withdrawn(const Ccai_offline *o, size_t *ret_w, size_t *ret_we)
{
    for (size_t w = 1; w < o->ntok; w++) {
        if (!Ccai_ofl_clause_break(o, w))
            continue;
        size_t k = w;
        while (k < o->ntok && (Ccai_ofl_hesitation(o, k) ||
                               Ccai_ofl_sec_at(o, "transfer.withdraw.lead", k, k + 1) == 1))
            k++;
        size_t n = k < o->ntok ? Ccai_ofl_sec_at(o, "transfer.withdraw", k, o->ntok) : 0;
        /* the whole clause: not "it's fine to call me", "deja de llover" */
        if (!n || (k + n < o->ntok && !Ccai_ofl_clause_break(o, k + n)))
            continue;
        if (asks_person_in(o, 0, w) && !asks_person_in(o, k + n, o->ntok)) {
            /* the clauses after it in its sentence that give no fact go
             * with it: "no, dejá, dejá, que me van a tener media hora
             * esperando", "non, laissez tomber, on ira plus vite" */
            size_t end = k + n;
            while (end < o->ntok && !Ccai_ofl_sentence_break(o, end)) {
                size_t c = end + 1;
                while (c < o->ntok && !Ccai_ofl_clause_break(o, c))
                    c++;
                /* "dejá, dejá": the same said again ("deja" is also a
                 * French topic word, "déjà") */
                size_t again = Ccai_ofl_sec_at(o, "transfer.withdraw", end, c);
                if (end + again != c && clause_has_fact(o, end, c))
                    break;
                end = c;
            }
            *ret_w = w;
            *ret_we = end;
            return true;
        }
    }
    return false;
}

static char *digits_fixed(Ccai_offline *o, size_t b, size_t e, size_t *ret_f);

/* Do the words [j, e) ask whether the answer will do: a [question.check]
 * entry, the whole rest, or with what the answer would count as after it
 * ([question.check.as] and three words at most: "does that count as
 * damage?", "ça compte comme témoin ?", "¿cuenta como daño?")? */
static CCAI_MUST_CHECK bool checks_answer(const Ccai_offline *o, size_t j, size_t e)
{
    size_t m = Ccai_ofl_sec_at(o, "question.check", j, e);
    if (!m || j + m == e)
        return m > 0;
    size_t a = Ccai_ofl_sec_at(o, "question.check.as", j + m, e);
    return a && e - (j + m + a) <= 3 && !Ccai_ofl_sec_has(o, "wh", j + m, e) &&
           !Ccai_ofl_sec_has(o, "question.start", j + m + a, e);
}

/* Do the words [b, e) name the caller's number in words of their own
 * ([callerid] of two words or more: "this number", "ce numéro", "el
 * número que te sale"; not "este" alone)? */
static CCAI_MUST_CHECK bool callback_here(const Ccai_offline *o, size_t b, size_t e)
{
    size_t pos, len;
    for (size_t from = b; Ccai_ofl_sec_find(o, "callerid", from, e, &pos, &len); from = pos + 1)
        if (len >= 2)
            return true;
    return false;
}

/* What the steps of one answer share (Ccai_ofl_handle_answer). */
typedef struct answer_turn {
    bool asked[CCAI_FIELDS_MAX]; /* the fields the question asked */
    size_t pending_f;            /* the time asked after a day said, else nfields */
    bool correcting;             /* a correction said, its words end at corr */
    size_t corr;
    sentence sv[64]; /* the sentences said, questions told apart */
    size_t ns;
    bool question;                           /* one of them asks something */
    bool dontknow, refuse;                   /* the caller cannot tell, or will not */
    bool dk_about[CCAI_FIELDS_MAX], dk_some; /* the fields asked it is about */
    found fd;                                /* the values read */
    size_t nset, ncorrected, nknown;
    bool typed_set[CCAI_FIELDS_MAX]; /* read back */
    size_t fdt;                      /* a day noted, its time to ask */
} answer_turn;

/* Is the place asked, and said in [b, e) ("Sur la rocade à Rennes, ça
 * change quoi ?")? */
static CCAI_MUST_CHECK bool place_asked_said(Ccai_offline *o, const bool *asked, size_t b, size_t e)
{
    size_t fl = Ccai_ofl_location_field(o);
    if (fl >= o->nfields || !asked[fl])
        return false;
    bool address;
    char *loc = Ccai_ofl_location_in(o, b, e, &address);
    bool got = loc != NULL;
    ccai_free(loc);
    return got;
}

/* 1. The sentences: questions, tags and checks told apart from answers,
 * the words that ask for a person left out. */
static void answer_sentences(Ccai_offline *o, answer_turn *tn)
{
    memset(o->mask, 0, o->ntok * sizeof o->mask[0]);
    /* a request for a person taken back: neither a question nor an answer */
    size_t wb = 0, we = 0;
    if (!o->to_person && !person_withdrawn(o, &wb, &we))
        wb = we = 0;
    tn->corr = Ccai_ofl_correction_point(o, &tn->correcting);
    bool phone_asked = false;
    for (size_t f = 0; f < o->nfields; f++)
        phone_asked |= tn->asked[f] && o->f[f].type == CCAI_FIELD_PHONE_NUMBER;
    for (size_t b = 0; b < o->ntok && tn->ns < CCAI_ARRAY_SIZE(tn->sv);) {
        size_t e = Ccai_ofl_sentence_end(o, b);
        tn->sv[tn->ns] = (sentence){b, e, Ccai_ofl_is_question(o, b, e), false};
        /* "can you call me back on this number?" to the phone asked: the
         * number given, not a question */
        bool cid = phone_asked && callback_here(o, b, e);
        if (cid)
            tn->sv[tn->ns].question = false;
        /* "somebody nicked my catalytic converter, alright?": a tag asks
         * nothing */
        size_t tag = e;
        while (tn->sv[tn->ns].question && tag > b + 1 && !Ccai_ofl_clause_break(o, tag - 1))
            tag--;
        if (tn->sv[tn->ns].question && tag > b + 1 &&
            Ccai_ofl_sec_at(o, "question.tag", tag - 1, e) == e - (tag - 1)) {
            tn->sv[tn->ns].question = false;
            for (size_t i = tag - 1; i < e; i++)
                o->mask[i] = true;
        }
        /* "Mr Patel next door heard it, would that count?", "... Is that
         * enough?": asks whether the answer will do; the answer is one */
        size_t qe = e; /* where the words that may ask end */
        if (tn->sv[tn->ns].question && !o->to_person) {
            size_t c = tag > b + 1 ? tag - 1 : b;
            /* alone, or after a question: no answer to check */
            if (c == b && (tn->ns == 0 || tn->sv[tn->ns - 1].question))
                c = e;
            size_t j = c;
            for (size_t m = 1; j < e && m > 0; j += m)
                m = Ccai_ofl_hesitation(o, j) ? 1 : Ccai_ofl_sec_at(o, "question.lead", j, e);
            /* not after a question ("can I send the photos later, is
             * that enough?") */
            size_t k = b;
            for (size_t m = 1; k < c && m > 0; k += m)
                m = Ccai_ofl_hesitation(o, k) ? 1 : Ccai_ofl_sec_at(o, "question.lead", k, c);
            bool asks = k < c && (Ccai_ofl_sec_at(o, "question.start", k, c) ||
                                  Ccai_ofl_sec_at(o, "wh", k, c) ||
                                  Ccai_ofl_sec_at(o, "question.open", k, c));
            if (c < e && j < e && !asks && checks_answer(o, j, e)) {
                tn->sv[tn->ns].question = false;
                qe = c;
                for (size_t i = c; i < e; i++)
                    o->mask[i] = true;
            }
        }
        /* "My fence got knocked down, can I get somebody to come out?": a
         * statement, then the question in a later clause (opened by its
         * words): two sentences */
        if (tn->sv[tn->ns].question && !o->to_person && tn->ns + 1 < CCAI_ARRAY_SIZE(tn->sv)) {
            size_t q = question_clause(o, b, e);
            if (q > b && q < e && Ccai_ofl_content_left(o, b, q) >= 3 &&
                (Ccai_ofl_about_a_field(o, b, q) || place_asked_said(o, tn->asked, b, q))) {
                tn->sv[tn->ns] = (sentence){b, q, false, false};
                tn->ns++;
                b = q;
                tn->sv[tn->ns] = (sentence){b, e, true, false};
            }
        }
        /* the question and its answer: two sentences */
        size_t a = tn->sv[tn->ns].question || qe == b || cid ? qe : answer_in_question(o, b, qe);
        if (a < qe) {
            tn->sv[tn->ns].e = e = a;
            tn->sv[tn->ns].question = true;
        }
        if (!tn->sv[tn->ns].question && qe > b && !cid &&
            unpunctuated_question(o, b, qe, tn->ns == 0 && e == o->ntok))
            tn->sv[tn->ns].question = true;
        /* the words that ask for a person are no answer: their clause on */
        size_t from;
        if (b < wb && person_clause(o, b, e < wb ? e : wb, &from)) {
            for (size_t i = from; i < e && i < wb; i++)
                o->mask[i] = true;
            tn->sv[tn->ns].question = false;
        } else if (o->to_person && person_clause(o, b, e, &from)) {
            /* "my basement flooded on Thursday, and I'd rather talk to a
             * person, is that possible?": the statement before a request
             * asked as a question keeps its facts */
            bool stated =
                tn->sv[tn->ns].question && from > b &&
                !Ccai_ofl_sec_at(o, "question.start", b, e) && !Ccai_ofl_sec_at(o, "wh", b, e) &&
                Ccai_ofl_content_left(o, b, from) >= 3 && Ccai_ofl_about_a_field(o, b, from);
            if (!tn->sv[tn->ns].question || stated) {
                for (size_t i = from; i < e; i++)
                    o->mask[i] = true;
                tn->sv[tn->ns].question = from == b;
            }
        }
        if (tn->sv[tn->ns].question) {
            tn->question = true;
            for (size_t i = b; i < e; i++)
                o->mask[i] = true;
        }
        tn->ns++;
        b = e;
    }
    for (size_t i = wb; i < we; i++)
        o->mask[i] = true;
    /* "hurt? no, nobody", "des blessés non personne", "testigos sí, mi
     * vecino": the words of the question said back, then the answer */
    for (size_t k = 0; k < tn->ns; k++) {
        if (!tn->sv[k].question)
            echo_of_question(o, tn->asked, tn->sv[k].b, tn->sv[k].e);
    }
}

/* 2. "I don't know", a refusal, a sentence that cannot tell. */
static void answer_cannot_tell(Ccai_offline *o, answer_turn *tn)
{
    /* "I don't know", "I'd rather not say", "I don't have it on me": no
     * value from those words; what the caller cannot give now is not asked
     * again, like a refusal. */
    /* a sentence that cannot tell names the fields asked it is about
     * ("no idea if anyone saw it": the witnesses), none: all of them */
    size_t dk_pos, dk_len;
    tn->refuse = Ccai_ofl_sec_find(o, "refuse", 0, o->ntok, &dk_pos, &dk_len);
    /* "This number. Don't have one.": a sentence of its own */
    for (size_t s = 0; s < tn->ns && !tn->refuse; s++)
        tn->refuse =
            Ccai_ofl_sec_find(o, "unavailable", tn->sv[s].b, tn->sv[s].e, &dk_pos, &dk_len) &&
            Ccai_ofl_content_left(o, tn->sv[s].b, tn->sv[s].e) <= dk_len + 3 &&
            !Ccai_ofl_sec_has(o, "wh", dk_pos, tn->sv[s].e);
    /* not "Not sure, Thursday, sometime in the evening" nor "I'm not
     * sure, maybe around ten": a don't-know with the answer after it */
    /* nor "je n'ai pas vu de médecin": a longer no ([negation.lead]) where
     * the don't-know ("je n'ai pas") is said */
    if (!tn->refuse && Ccai_ofl_sec_find(o, "dontknow", 0, o->ntok, &dk_pos, &dk_len) &&
        Ccai_ofl_sec_at(o, "negation.lead", dk_pos, o->ntok) <= dk_len &&
        Ccai_ofl_content_left(o, 0, o->ntok) <= dk_len + 3 &&
        Ccai_ofl_content_left(o, dk_pos + dk_len, o->ntok) <= 2 &&
        !Ccai_ofl_sec_has(o, "wh", dk_pos, o->ntok) && !number_after(o, dk_pos + dk_len))
        tn->dontknow = true;
    if (tn->dontknow || tn->refuse) {
        /* its sentence, and the others that cannot tell either ("Dunno.
         * Dunno.", "No idea. Not a clue, sorry.") or say it again */
        for (size_t s = 0; s < tn->ns; s++) {
            size_t b = tn->sv[s].b, e = tn->sv[s].e, p, n;
            bool unavailable;
            if ((dk_pos >= b && dk_pos < e) ||
                (!tn->sv[s].question && (cannot_tell(o, b, e, true, &unavailable) ||
                                         ((Ccai_ofl_sec_find(o, "refuse", b, e, &p, &n) ||
                                           Ccai_ofl_sec_find(o, "unavailable", b, e, &p, &n)) &&
                                          Ccai_ofl_content_left(o, b, e) <= n + 1))))
                for (size_t i = b; i < e; i++)
                    o->mask[i] = true;
        }
    } else {
        /* a sentence that cannot tell is no value; the fields asked that
         * the rest does not give are skipped as after a don't-know, or a
         * refusal when the caller does not have it at hand */
        size_t nans = 0, ncannot = 0; /* the sentences that answer, that cannot tell */
        for (size_t s = 0; s < tn->ns; s++) {
            bool unavailable;
            nans += !tn->sv[s].question;
            ncannot +=
                !tn->sv[s].question && cannot_tell(o, tn->sv[s].b, tn->sv[s].e, true, &unavailable);
        }
        /* "No idea, sorry. I really don't know.": every sentence alone
         * cannot tell, so the answer cannot */
        bool all_cannot = ncannot > 0 && ncannot == nans;
        for (size_t s = 0; s < tn->ns; s++) {
            bool unavailable = false;
            if (tn->sv[s].question ||
                !cannot_tell(o, tn->sv[s].b, tn->sv[s].e, nans == 1 || all_cannot, &unavailable))
                continue;
            if (unavailable)
                tn->refuse = true;
            else
                tn->dontknow = true;
            for (size_t f = 0; f < o->nfields; f++) {
                size_t p;
                if (tn->asked[f] &&
                    (Ccai_ofl_field_sec_has(o, "topic", f, tn->sv[s].b, tn->sv[s].e, &p) ||
                     Ccai_ofl_field_sec_has(o, "cue", f, tn->sv[s].b, tn->sv[s].e, &p)))
                    tn->dk_about[f] = tn->dk_some = true;
            }
            for (size_t i = tn->sv[s].b; i < tn->sv[s].e; i++)
                o->mask[i] = true;
        }
    }
}

/* 3. Digits of a number noted, corrected by group on a later turn. */
static void answer_digits(Ccai_offline *o, answer_turn *tn)
{
    /* "me equivoqué en un grupo: es siete siete cuatro, uno tres, cero
     * nueve": a group of a number noted, corrected on a later turn */
    bool typed_found = false;
    for (size_t f = 0; f < o->nfields; f++)
        typed_found |=
            tn->fd.v[f] && (o->f[f].type == CCAI_FIELD_PHONE_NUMBER ||
                            o->f[f].type == CCAI_FIELD_EMAIL || Ccai_ofl_code_field(o, f));
    for (size_t s = 0; tn->correcting && !typed_found && s < tn->ns && !o->oom; s++) {
        size_t f;
        char *v = tn->sv[s].question ? NULL : digits_fixed(o, tn->sv[s].b, tn->sv[s].e, &f);
        if (v && !tn->fd.v[f]) {
            tn->fd.v[f] = v;
            break;
        }
        ccai_free(v);
    }
}

/* A house's number at token k of [k, e): digits ("154") or words ("cent
 * cinquante-quatre", "four thirty" is not one), into out; where it ends in
 * *end. */
static CCAI_MUST_CHECK bool house_number_at(const Ccai_offline *o, size_t k, size_t e, char *out,
                                            size_t cap, size_t *end)
{
    if (k >= e || o->tok[k].len == 0)
        return false;
    const char *t = o->norm + o->tok[k].start;
    if (Ccai_ofl_is_digit_ch(t[0])) {
        size_t n = o->tok[k].len;
        if (n + 1 > cap)
            return false;
        for (size_t c = 0; c < n; c++)
            if (!Ccai_ofl_is_digit_ch(t[c]))
                return false;
        memcpy(out, t, n);
        out[n] = '\0';
        *end = k + 1;
        return true;
    }
    size_t j = k;
    int v = Ccai_ofl_number_words_999(o, &j);
    if (v < 0 || v > 999 || j <= k || j > e || cap < 4)
        return false;
    snprintf(out, cap, "%d", v % 1000);
    *end = j;
    return true;
}

/* The place's number corrected ("c'est le 154, pas le 145", "es Huallaga
 * 430, no 340", "72, not 27"): a number, a [digits.not] word, a number
 * that is a word of the place noted; that number is replaced in the place.
 * The sentences of the turn that only say the place again, its number or
 * the correction ("Cent cinquante-quatre, chemin du Lac-Noir.", "Cuatro,
 * tres, cero.", "Excusez, je me suis trompé tantôt") answer nothing else. */
static void answer_place_number(Ccai_offline *o, answer_turn *tn)
{
    size_t fl = Ccai_ofl_location_field(o);
    if (fl >= o->nfields || !o->values[fl])
        return;
    const char *place = o->values[fl];
    /* over the whole utterance: "430, no 340" is two sentences to the
     * reader of answers (a no after a comma starts one) */
    for (size_t i = 1; i < o->ntok && !o->oom; i++) {
        size_t m = Ccai_ofl_sec_at(o, "digits.not", i, o->ntok);
        if (!m)
            continue;
        /* the new number just before (a comma, an article between), the
         * old one just after */
        char nw[16] = "", old[16] = "";
        size_t end = 0, nb = i;
        for (size_t k = i; k > 0 && i - k < 3 && !nw[0]; k--) {
            if (house_number_at(o, k - 1, i, nw, sizeof nw, &end) && end + 1 >= i)
                nb = k - 1;
            else
                nw[0] = '\0';
        }
        size_t k = i + m;
        while (k < o->ntok && k < i + m + 2 &&
               !house_number_at(o, k, o->ntok, old, sizeof old, &end))
            k++;
        if (!nw[0] || !old[0] || strcmp(nw, old) == 0)
            continue;
        /* nothing but a comma or a space between them */
        bool apart = false;
        for (size_t r = o->tok[nb].raw; r < o->tok[k].raw && !apart; r++)
            apart = o->raw[r] == '.' || o->raw[r] == '?' || o->raw[r] == '!' || o->raw[r] == ';';
        if (apart)
            continue;
        /* the old number is a word of the place noted */
        const char *at = NULL;
        size_t ol = strlen(old);
        for (const char *c = strstr(place, old); c && !at; c = strstr(c + 1, old))
            if ((c == place || !Ccai_ofl_is_digit_ch(c[-1])) && !Ccai_ofl_is_digit_ch(c[ol]))
                at = c;
        if (!at)
            continue;
        char *v = Ccai_asprintf("%.*s%s%s", (int)(at - place), place, nw, at + ol);
        if (!v) {
            o->oom = true;
            return;
        }
        ccai_free(tn->fd.v[fl]);
        tn->fd.v[fl] = v;
        tn->fd.place_again = true;
        /* what was said of the place answers nothing else: the sentences
         * of the correction, the place or its number said again, the
         * correction's words */
        for (size_t r = 0; r < tn->ns; r++) {
            size_t rb = tn->sv[r].b, re = tn->sv[r].e;
            bool address;
            bool here = rb <= end && re > nb;
            char *loc = here ? NULL : Ccai_ofl_location_in(o, rb, re, &address);
            bool numbers = true;
            for (size_t q = rb; q < re && numbers;) {
                char d[16];
                size_t qe;
                if (house_number_at(o, q, re, d, sizeof d, &qe))
                    q = qe;
                else if (o->mask[q] || Ccai_ofl_hesitation(o, q) || Ccai_ofl_filler(o, q))
                    q++;
                else
                    numbers = false;
            }
            if (here || loc || numbers || Ccai_ofl_only_correction(o, rb, re)) {
                tn->sv[r].question = false;
                for (size_t q = rb; q < re; q++)
                    o->mask[q] = true;
            }
            ccai_free(loc);
        }
        tn->question = false;
        for (size_t r = 0; r < tn->ns; r++)
            tn->question |= tn->sv[r].question;
        return;
    }
}

/* 4. The values read, stored (corrections, days and parts of the day). */
static void answer_store(Ccai_offline *o, answer_turn *tn)
{
    tn->fdt = o->nfields;
    for (size_t f = 0; f < o->nfields && !o->oom; f++) {
        if (!tn->fd.v[f])
            continue;
        bool had = o->values[f] != NULL;
        /* "already noted" is said of the value noted, never of another
         * one left aside ("GSM 0475..." read as a code while a policy
         * number is noted) */
        if (!had || Ccai_strcasecmp(o->values[f], tn->fd.v[f]) == 0)
            tn->nknown++;
        bool dt = o->f[f].type == CCAI_FIELD_DATETIME;
        /* A value noted changes on a correction, or when asked again; an
         * other e-mail address said is one (nobody gives two); an hour
         * said refines a part of the day noted ("last night" noted, then
         * "around eleven thirty"). */
        bool refines = dt && had && o->st.dt_part && !tn->fd.date_only && !tn->fd.dt_part &&
                       strncmp(o->values[f], tn->fd.v[f], 10) == 0;
        bool again = (tn->fd.place_again && strcmp(o->f[f].name, "incident_location") == 0) ||
                     (tn->fd.story_more && strcmp(o->f[f].name, "incident_description") == 0);
        if (had && !tn->asked[f] && !tn->correcting && o->f[f].type != CCAI_FIELD_EMAIL &&
            !refines && !again)
            continue;
        if (dt && had && tn->correcting && tn->fd.dt_part && !o->st.dt_part &&
            strlen(tn->fd.v[f]) >= 16 && strlen(o->values[f]) >= 16 &&
            (atoi(tn->fd.v[f] + 11) < 12) == (atoi(o->values[f] + 11) < 12)) {
            /* "Saturday at ten in the morning... it was Sunday morning
             * actually": the day corrected, the hour said kept (a part of
             * the day on the same side of noon) */
            char *t = with_old_time(o, f, tn->fd.v[f]);
            if (!t) {
                o->oom = true;
                break;
            }
            char *norm = NULL;
            ccai_status vs = ccai_field_validate(CCAI_FIELD_DATETIME, t, &norm, NULL);
            ccai_free(t);
            if (vs == CCAI_ERR_NOMEM)
                o->oom = true;
            if (vs == CCAI_OK && store(o, f, norm))
                tn->nset++, tn->ncorrected++, tn->typed_set[f] = true;
            ccai_free(norm);
            continue;
        }
        if (dt && tn->fd.date_only &&
            (o->to_person || (tn->fd.dt_part && o->st.pending_date && tn->asked[f]))) {
            /* asking for a person: the day said is kept as it is; a part
             * of the day said when the time is asked ("sometime in the
             * evening"): the caller has no hour, the day is noted */
            char *norm = NULL;
            ccai_status vs = ccai_field_validate(CCAI_FIELD_DATETIME, tn->fd.v[f], &norm, NULL);
            if (vs == CCAI_ERR_NOMEM)
                o->oom = true;
            if (vs == CCAI_OK && store(o, f, norm)) {
                tn->nset++;
                o->st.dt_part = tn->fd.dt_part;
                o->st.pending_date = false;
            }
            ccai_free(norm);
            continue;
        }
        if (dt && tn->fd.date_only && !(tn->fd.dt_part && had && tn->correcting)) {
            char *t = had && tn->correcting ? with_old_time(o, f, tn->fd.v[f]) : NULL;
            if (!t && had && tn->correcting && o->values[f] && strlen(o->values[f]) >= 16 &&
                o->values[f][10] == 'T') {
                o->oom = true; /* with_old_time() could not allocate */
                break;
            }
            if (t) {
                if (store(o, f, t))
                    tn->nset++, tn->ncorrected++, tn->typed_set[f] = true;
                ccai_free(t);
                continue;
            }
            /* "hier soir", then "le 4... non, le 5": the evening stays */
            int part = tn->fd.dt_part                         ? tn->fd.part_hour
                       : tn->correcting && o->st.pending_date ? o->st.pending_part
                                                              : -1;
            o->st.pending_date = true;
            o->st.pending_days = tn->fd.day;
            o->st.pending_part = part;
            tn->fdt = f;
            tn->nset++;
            /* the day and its part are noted now (a caller who hangs up
             * or asks for a person has said them), the time asked */
            char *pv = NULL;
            bool with_part;
            ccai_status ps = part >= 0 ? Ccai_ofl_pending_value(o, &pv, &with_part) : CCAI_OK;
            if (ps == CCAI_ERR_NOMEM)
                o->oom = true;
            if (pv && store(o, f, pv))
                o->st.dt_part = with_part;
            ccai_free(pv);
            continue;
        }
        if (dt && had && tn->asked[f] && o->st.pending_date && !tn->fd.date_only &&
            strcmp(o->values[f], tn->fd.v[f]) == 0) {
            /* "hier soir" noted as the evening's 20:00, then "vers vingt
             * heures": the hour said is the one noted */
            o->st.pending_date = false;
            o->st.dt_part = false;
            tn->nset++;
            tn->typed_set[f] = true;
            continue;
        }
        if (store(o, f, tn->fd.v[f])) {
            if (dt)
                o->st.dt_part = tn->fd.dt_part;
            tn->nset++;
            tn->ncorrected += had;
            tn->typed_set[f] = o->f[f].type != CCAI_FIELD_TEXT || Ccai_ofl_code_field(o, f);
            if (o->f[f].type == CCAI_FIELD_DATETIME)
                o->st.pending_date = false;
        }
    }
}

/* 5. The time asked after a day, answered with something else. */
static void answer_pending_time(Ccai_offline *o, answer_turn *tn)
{
    bool dt_said = tn->pending_f < o->nfields && tn->fd.v[tn->pending_f] != NULL;
    for (size_t f = 0; f < o->nfields; f++)
        ccai_free(tn->fd.v[f]);
    if (o->oom)
        return;
    /* "And at what time?" answered with something else ("At 77 Bay Road"):
     * the caller has no hour to give; the day goes as it was said ("last
     * night": the part's hour), not asked again */
    if (tn->pending_f < o->nfields && tn->nset > 0 && !dt_said && o->st.pending_date &&
        o->values[tn->pending_f])
        o->st.pending_date = false; /* noted with its part already */
    if (tn->pending_f < o->nfields && tn->nset > 0 && !dt_said && o->st.pending_date &&
        !o->values[tn->pending_f]) {
        char *norm = NULL;
        bool part;
        ccai_status vs = Ccai_ofl_pending_value(o, &norm, &part);
        if (vs == CCAI_ERR_NOMEM)
            o->oom = true;
        if (vs == CCAI_OK && store(o, tn->pending_f, norm))
            o->st.dt_part = part;
        ccai_free(norm);
        o->st.pending_date = false;
        if (o->oom)
            return;
    }
}

/* 6. Nothing noted: "I already told you", a question, a don't-know, or
 * the question again. */
static void answer_nothing(Ccai_offline *o, answer_turn *tn)
{
    size_t cur = o->st.cur;
    if (o->st.phase == PH_ASK && said_anywhere(o, "already.told")) {
        already_told(o);
        return;
    }
    /* "es miguel, no, espere, arroba, es que se corta, arroba punto":
     * an address attempted is about the e-mail, whatever question its
     * words may open (spelled once, then left to a colleague) */
    size_t at = Ccai_ofl_attempted_field(o);
    if (tn->question && at < o->nfields && o->f[at].type == CCAI_FIELD_EMAIL &&
        (Ccai_ofl_at_sign(o))) {
        Ccai_ofl_reject_current(o);
        return;
    }
    if (tn->question && (tn->dontknow || tn->refuse)) {
        /* "Do I call the other insurer? No idea if anyone saw it." */
        answer_question(o);
    } else if (tn->question) {
        /* a question instead of the answer is a try at the field like any
         * turn that does not answer it: the third puts the field off, as
         * an agent would, rather than asking it again until the call is
         * handed over */
        answer_question(o);
        if (Ccai_ofl_missed(o))
            return;
        Ccai_ofl_ask_current(o, false);
        return;
    }
    if (tn->dontknow || tn->refuse) {
        if (o->st.pending_date) {
            Ccai_ofl_skip_or_date(o);
            return;
        }
        bool later = false;
        for (size_t k = 0; k < o->st.ngroup; k++) {
            size_t f = o->st.group[k];
            if (f < o->nfields && !o->values[f] && (!tn->dk_some || tn->dk_about[f]))
                later |= (o->st.skip[f] = Ccai_ofl_dontknow_skip(o, f, tn->refuse)) == SKIP_ONCE;
        }
        if (cur < o->nfields && !o->values[cur] && o->st.skip[cur] == SKIP_NONE &&
            (!tn->dk_some || tn->dk_about[cur]))
            later |= (o->st.skip[cur] = Ccai_ofl_dontknow_skip(o, cur, false)) == SKIP_ONCE;
        Ccai_ofl_say_phrase(o,
                            tn->refuse ? "say.refused"
                            : later    ? "say.dontknow"
                                       : "say.dontknow_final",
                            0, NULL);
        Ccai_ofl_advance(o);
        return;
    }
    if (o->purpose && Ccai_ofl_content_left(o, 0, o->ntok) == 0) {
        /* "Hi, I'd like to make a claim please": of course; the question
         * again, not a try at it (said over and over, the call is stuck) */
        Ccai_ofl_say_ack(o);
        o->missed = true;
        if (++o->st.stuck >= CCAI_OFFLINE_STUCK && Ccai_ofl_missed(o))
            return;
        Ccai_ofl_ask_current(o, false);
        return;
    }
    if (tn->nknown > 0 && Ccai_ofl_content_left(o, 0, o->ntok) == 0) {
        /* Only what was noted already ("my e-mail is" again): no value
         * for the question asked, and no echo of it. */
        Ccai_ofl_say_phrase(o, "say.already", 0, NULL);
        o->missed = true;
        if (++o->st.stuck >= CCAI_OFFLINE_STUCK && Ccai_ofl_missed(o))
            return;
        Ccai_ofl_ask_current(o, false);
        return;
    }
    Ccai_ofl_reject_current(o);
    return;
}

/* 7. What was noted acknowledged and read back, then the next question. */
static void answer_go_on(Ccai_offline *o, answer_turn *tn)
{
    /* "This number. I'd rather not give my email." to a question about
     * both: the one refused is not asked again, the one not known once. */
    for (size_t k = 0; (tn->dontknow || tn->refuse) && k < o->st.ngroup; k++) {
        size_t f = o->st.group[k];
        if (f < o->nfields && !o->values[f] && !(o->st.pending_date && f == tn->fdt) &&
            (!tn->dk_some || tn->dk_about[f]))
            o->st.skip[f] = Ccai_ofl_dontknow_skip(o, f, tn->refuse);
    }

    /* What was noted: an acknowledgement that varies, a read-back of what
     * must be heard right. */
    if (tn->ncorrected)
        Ccai_ofl_say_phrase(o, "say.ack_correction", 0, NULL);
    else
        Ccai_ofl_say_phrase(o, "say.ack", o->st.acks++, NULL);
    for (size_t f = 0; f < o->nfields && !o->oom; f++) {
        if (!tn->typed_set[f] || !o->values[f])
            continue;
        const char *sec = o->f[f].type == CCAI_FIELD_EMAIL             ? "say.ack_email"
                          : o->f[f].type == CCAI_FIELD_PHONE_NUMBER    ? "say.ack_phone"
                          : o->f[f].type == CCAI_FIELD_DATETIME        ? "say.ack_date"
                          : strcmp(o->f[f].name, "policy_number") == 0 ? "say.ack_policy"
                                                                       : "say.ack_code";
        char *rb = Ccai_ofl_readback(o, f);
        if (rb)
            Ccai_ofl_say_phrase(o, sec, 0, rb);
        ccai_free(rb);
    }
    /* the phone noted, the address not sure ("Este número. Es miguel,
     * arroba, es que se corta"): the e-mail is asked to be spelled, and
     * its words opened no question */
    size_t mail = Ccai_ofl_attempted_field(o);
    bool mail_try = mail < o->nfields && o->f[mail].type == CCAI_FIELD_EMAIL && !o->values[mail] &&
                    o->st.phase == PH_ASK && (Ccai_ofl_at_sign(o));
    if (tn->question && !mail_try)
        answer_question(o);
    if (mail_try && !(tn->fdt < o->nfields && o->st.pending_date)) {
        o->st.group[0] = o->st.cur = mail;
        o->st.ngroup = 1;
        Ccai_ofl_reject_current(o);
        return;
    }
    /* "the other night" to "when did it happen?": which day, rather than
     * the question again */
    for (size_t f = 0; o->dt_vague && !o->st.pending_date && !tn->question && f < o->nfields; f++) {
        if (o->f[f].type == CCAI_FIELD_DATETIME && tn->asked[f] && !o->values[f] &&
            ++o->st.tries[f] < CCAI_OFFLINE_TRIES) {
            Ccai_ofl_say_msg(o, M_R_DATE_VAGUE);
            o->st.phase = PH_ASK;
            o->st.cur = f;
            o->st.ngroup = 0;
            return;
        }
    }
    if (tn->fdt < o->nfields && o->st.pending_date) {
        o->st.phase = PH_ASK;
        o->st.cur = tn->fdt;
        o->st.ngroup = 0;
        Ccai_ofl_ask_question(o, tn->fdt, false);
        return;
    }
    Ccai_ofl_advance(o);
}

/* An answer, along the steps above. */
void Ccai_ofl_handle_answer(Ccai_offline *o)
{
    answer_turn turn, *tn = &turn;
    memset(tn, 0, sizeof *tn);
    for (size_t k = 0; k < o->st.ngroup; k++)
        if (o->st.group[k] < o->nfields)
            tn->asked[o->st.group[k]] = true;
    if (o->st.phase == PH_ASK && o->st.cur < o->nfields)
        tn->asked[o->st.cur] = true;
    /* the time asked after a day said ("and at what time, roughly?") */
    tn->pending_f = o->st.pending_date ? o->st.cur : o->nfields;
    answer_sentences(o, tn);
    answer_cannot_tell(o, tn);
    answer_place_number(o, tn);
    Ccai_ofl_extract_all(o, &tn->fd, tn->asked, tn->corr, tn->sv, tn->ns);
    answer_digits(o, tn);
    answer_store(o, tn);
    answer_pending_time(o, tn);
    if (o->oom)
        return;
    /* asking for a person: the facts said are kept, nothing else is an
     * answer ("Hi, good morning, I'd rather talk to somebody") */
    if (tn->nset == 0 && o->to_person)
        return;
    if (tn->nset == 0) {
        answer_nothing(o, tn);
        return;
    }
    answer_go_on(o, tn);
}

/* ------------------------------------------------------------------------ */
/* Digits corrected                                                         */
/* ------------------------------------------------------------------------ */

/* The longest run of digits said from token b to e (the last of equal
 * ones), in digits or words, the words between numbers ending it ("en un
 * grupo: es siete siete cuatro, uno tres" is 774 13, not the "un"): as
 * the phone reader reads them, "double"/"triple" included. */
static size_t said_digits(const Ccai_offline *o, size_t b, size_t e, char *out, size_t cap)
{
    char run[32];
    size_t nrun = 0, best = 0;
    out[0] = '\0';
    for (size_t i = b; i <= e;) {
        size_t rep = 1, j = i;
        if (j < e && Ccai_ofl_sec_at(o, "spell.double", j, j + 1) == 1)
            rep = 2, j++;
        else if (j < e && Ccai_ofl_sec_at(o, "spell.triple", j, j + 1) == 1)
            rep = 3, j++;
        char piece[12];
        size_t np = 0;
        int v = -1;
        if (j < e && !(o->mask && o->mask[j])) {
            const char *t = o->norm + o->tok[j].start;
            size_t len = o->tok[j].len;
            if (Ccai_ofl_is_digit_ch(t[0])) {
                for (size_t r = 0; r < rep; r++)
                    for (size_t k = 0; k < len && np + 1 < sizeof piece; k++)
                        if (Ccai_ofl_is_digit_ch(t[k]))
                            piece[np++] = t[k];
                j++;
                v = 0;
            } else {
                v = rep == 1 ? Ccai_ofl_number_words_999(o, &j) : Ccai_ofl_number_words(o, &j);
                if (v >= 100)
                    np = (size_t)snprintf(piece, sizeof piece, "%d", v);
                else if (v >= 10 && rep == 1)
                    np = (size_t)snprintf(piece, sizeof piece, "%02d", v);
                else
                    for (size_t r = 0; v >= 0 && r < rep; r++)
                        np += (size_t)snprintf(piece + np, sizeof piece - np, "%d", v);
            }
        }
        if (v >= 0 && np > 0 && nrun + np < sizeof run) {
            memcpy(run + nrun, piece, np);
            nrun += np;
            i = j;
            continue;
        }
        if (j < e && v < 0 && Ccai_ofl_hesitation(o, j)) {
            i = j + 1;
            continue;
        }
        /* another word (or the end): the run ends */
        if (nrun > 0 && nrun >= best && nrun < cap) {
            memcpy(out, run, nrun);
            out[nrun] = '\0';
            best = nrun;
        }
        nrun = 0;
        i = (j > i ? j : i + 1);
    }
    return best;
}

/* A group of digits said to correct a number noted ("six eight four, not
 * five", "zero one four seven, not four two", "es siete siete cuatro, uno
 * tres, cero nueve"): the place in a noted phone number or code where the
 * group differs from the digits noted by one digit in four at most (one
 * at least), the same place for every such field, and, when the old
 * digits are said after a [digits.not] word, where those are. Three
 * digits at least. The number said whole again (a phone number of the
 * caller's region a few digits away from the one noted) replaces it.
 * The new value (the caller frees it), NULL; *ret_f its field. */
static char *digits_fixed(Ccai_offline *o, size_t b, size_t e, size_t *ret_f)
{
    char whole[40];
    bool any_phone = false;
    for (size_t f = 0; f < o->nfields; f++)
        any_phone |= o->values[f] && o->f[f].type == CCAI_FIELD_PHONE_NUMBER;
    if (any_phone &&
        Ccai_ofl_spoken_phone(o, b, e, Ccai_ofl_phone_region(o), whole, sizeof whole) == PH_OK) {
        for (size_t f = 0; f < o->nfields; f++) {
            const char *v = o->values[f];
            if (!v || o->f[f].type != CCAI_FIELD_PHONE_NUMBER || strlen(v) != strlen(whole))
                continue;
            size_t diff = 0;
            for (size_t k = 0; v[k]; k++)
                diff += v[k] != whole[k];
            if (diff >= 1 && diff <= 3) {
                *ret_f = f;
                return Ccai_strdup(whole);
            }
        }
    }
    /* the new digits, then the old ones after "not" */
    char nw[32], old[32];
    size_t neg = e;
    for (size_t i = b + 1; i < e && neg == e; i++) {
        if (Ccai_ofl_sec_at(o, "digits.not", i, e) && said_digits(o, b, i, nw, sizeof nw) >= 3)
            neg = i;
    }
    size_t nn = said_digits(o, b, neg, nw, sizeof nw);
    size_t no =
        neg < e ? said_digits(o, neg + Ccai_ofl_sec_at(o, "digits.not", neg, e), e, old, sizeof old)
                : 0;
    if (nn < 3 || no > nn)
        return NULL;
    size_t max_diff = nn / 4 > 1 ? nn / 4 : 1;
    size_t best_f = o->nfields, best_at = 0, best_diff = SIZE_MAX;
    bool tie = false;
    for (size_t f = 0; f < o->nfields; f++) {
        const char *v = o->values[f];
        if (!v || !(o->f[f].type == CCAI_FIELD_PHONE_NUMBER || Ccai_ofl_code_field(o, f)))
            continue;
        size_t at[40], nd = 0;
        for (size_t k = 0; v[k] && nd < CCAI_ARRAY_SIZE(at); k++)
            if (Ccai_ofl_is_digit_ch(v[k]))
                at[nd++] = k;
        /* a group, not the whole number said again: never over the
         * country code and the trunk prefix ("0 7700..." is no +4 07700) */
        if (o->f[f].type == CCAI_FIELD_PHONE_NUMBER && nn + 3 > nd)
            continue;
        for (size_t w = 0; w + nn <= nd; w++) {
            size_t diff = 0, first = nn, last = 0;
            for (size_t k = 0; k < nn; k++) {
                if (v[at[w + k]] != nw[k]) {
                    diff++;
                    if (first == nn)
                        first = k;
                    last = k;
                }
            }
            if (diff == 0 || diff > max_diff)
                continue;
            if (no > 0) {
                /* the old digits said are there, over what differs */
                bool there = false;
                for (size_t s = 0; s + no <= nn && !there; s++) {
                    if (s > first || s + no <= last)
                        continue;
                    size_t k = 0;
                    while (k < no && v[at[w + s + k]] == old[k])
                        k++;
                    there = k == no;
                }
                if (!there)
                    continue;
            }
            if (diff < best_diff) {
                best_diff = diff, best_f = f, best_at = w, tie = false;
            } else if (diff == best_diff) {
                tie = true;
            }
        }
    }
    if (best_f >= o->nfields || tie)
        return NULL;
    char *r = Ccai_strdup(o->values[best_f]);
    if (!r) {
        o->oom = true;
        return NULL;
    }
    size_t k = 0, d = 0;
    for (; r[k]; k++) {
        if (!Ccai_ofl_is_digit_ch(r[k]))
            continue;
        if (d >= best_at && d < best_at + nn)
            r[k] = nw[d - best_at];
        d++;
    }
    *ret_f = best_f;
    return r;
}

/* In the confirmation: values said ("no, the e-mail is ...") replace what
 * was noted; *ret_any tells whether one did. */
void Ccai_ofl_handle_confirm_values(Ccai_offline *o, bool *ret_any)
{
    bool asked[CCAI_FIELDS_MAX] = {false};
    *ret_any = false;
    memset(o->mask, 0, o->ntok * sizeof o->mask[0]);
    bool correcting;
    size_t corr = Ccai_ofl_correction_point(o, &correcting);
    size_t saved = o->st.ngroup;
    o->st.ngroup = 0;
    found fd;
    memset(&fd, 0, sizeof fd);
    sentence sv[1] = {{0, 0, true, true}};
    Ccai_ofl_extract_all(o, &fd, asked, corr, sv, 0);
    o->st.ngroup = saved;
    for (size_t f = 0; f < o->nfields && !o->oom; f++) {
        /* typed values, codes and names said with their cue ("the policy
         * number is ...", "my name is ..."); not free text */
        bool typed = o->f[f].type != CCAI_FIELD_TEXT || Ccai_ofl_code_field(o, f) ||
                     Ccai_ofl_name_field(o, f);
        if (fd.v[f] && !fd.date_only && typed && store(o, f, fd.v[f]))
            *ret_any = true;
        ccai_free(fd.v[f]);
    }
    /* "Sorry, last bit's six eight four, not five": digits of a number
     * noted, corrected */
    for (size_t b = 0; b < o->ntok && !*ret_any && !o->oom;) {
        size_t e = Ccai_ofl_sentence_end(o, b), f;
        char *v = digits_fixed(o, b, e, &f);
        if (v && store(o, f, v))
            *ret_any = true;
        ccai_free(v);
        b = e > b ? e : b + 1;
    }
}

CCAI_MUST_CHECK bool Ccai_ofl_asks_person(const Ccai_offline *o)
{
    if (!o->mask)
        return false;
    memset(o->mask, 0, o->ntok * sizeof o->mask[0]);
    size_t w, we;
    return asks_person_in(o, 0, o->ntok) && !person_withdrawn(o, &w, &we);
}

CCAI_MUST_CHECK bool Ccai_ofl_says_slower(const Ccai_offline *o)
{
    return o->ntok <= 8 && o->mask && Ccai_ofl_sec_has(o, "slower", 0, o->ntok);
}
