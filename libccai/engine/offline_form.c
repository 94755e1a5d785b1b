/* The offline dialogue: the form logic (ask each field, read the answers,
 * confirm, correct, hand over or end; offline.c tells the whole design),
 * and the commands the caller may say at any point. */
#include "engine/offline_extract.h"
#include "engine/offline_private.h"

#include <stdio.h>
#include <string.h>

/* The commands' words are data ([cmd.transfer], [cmd.goodbye],
 * [cmd.farewell], [cmd.repeat], [cmd.skip], [cmd.none], [cmd.nothing],
 * [name.intro]): adding a language is adding a file. */

/* ------------------------------------------------------------------------ */
/* The form-interpretation algorithm                                        */
/* ------------------------------------------------------------------------ */

/* The next field to ask, in the data files' order. */
size_t Ccai_ofl_next_field(const Ccai_offline *o)
{
    size_t best = o->nfields, best_rank = (size_t)-1;
    for (size_t i = 0; i < o->nfields; i++) {
        if (o->values[i] || o->st.skip[i] != SKIP_NONE)
            continue;
        size_t r = Ccai_ofl_field_rank(o, i);
        if (r < best_rank) {
            best = i;
            best_rank = r;
        }
    }
    return best;
}

void Ccai_ofl_end_call(Ccai_offline *o, Ccai_offline_action_kind kind)
{
    Ccai_ofl_act(o, kind, NULL, NULL);
    o->st.phase = PH_ENDED;
}

/* The claim cannot be confirmed (unclear answers, or corrections without
 * end): an advisor takes over when there is one, else the claim is kept
 * as it is. Either way the caller hears why. */
static void give_up_confirm(Ccai_offline *o)
{
    Ccai_ofl_say_msg(o, o->can_transfer ? M_CONFIRM_HANDOVER : M_CONFIRM_AS_IS);
    Ccai_ofl_flush_say(o, false);
    Ccai_ofl_end_call(o, o->can_transfer ? CCAI_OFFLINE_TRANSFER : CCAI_OFFLINE_HANGUP);
}

static void go_confirm(Ccai_offline *o)
{
    o->st.phase = PH_CONFIRM;
    o->st.editing = false;
    o->st.pending_date = false;
    o->st.confirm_tries = 0;
    if (++o->st.confirm_rounds > CCAI_OFFLINE_CONFIRM_ROUNDS) {
        give_up_confirm(o);
        return;
    }
    Ccai_ofl_say_summary(o, Ccai_ofl_anything_noted(o) ? M_SUMMARY : M_SUMMARY_EMPTY, true);
    Ccai_ofl_flush_say(o, false);
    Ccai_ofl_say_msg(o, M_CONFIRM_ASK);
}

/* Is there a question asking fields a and b together (a section
 * "ask.<a>+<b>" of the data files)? */
static CCAI_MUST_CHECK bool pair_question(const Ccai_offline *o, size_t a, size_t b)
{
    char sec[2 * CCAI_FIELD_NAME_MAX + 8];
    Ccai_strjoin(sec, sizeof sec, "ask.", o->f[a].name, "+", o->f[b].name, NULL);
    return strlen(sec) < CCAI_OFL_SECTION_MAX && Ccai_ofl_lex_phrase(o, sec, 0);
}

/* Ask field i, with a field that one question asks with it ("When and
 * where did it happen?", "Was anyone hurt, and did anyone see it
 * happen?": a section "ask.<a>+<b>" of the data files, either way round)
 * when that one is missing too: the one asked first in [order] of those
 * that have such a question, so that a fact given already never leaves
 * its partner asked alone when another pairing is at hand. */
static void ask_field(Ccai_offline *o, size_t i)
{
    o->st.phase = PH_ASK;
    o->st.cur = i;
    o->st.pending_date = false;
    o->st.group[0] = i;
    o->st.ngroup = 1;
    size_t best = o->nfields, best_rank = (size_t)-1;
    bool first = true, own = Ccai_ofl_own_order(o);
    for (size_t j = 0; j < o->nfields && !o->st.editing; j++) {
        if (j == i || o->values[j] || o->st.skip[j] != SKIP_NONE)
            continue;
        /* either way round in the data files' order; a schema of its
         * own keeps its author's order */
        bool ij = pair_question(o, i, j), ji = !ij && !own && pair_question(o, j, i);
        size_t r = Ccai_ofl_field_rank(o, j);
        if ((ij || ji) && r < best_rank) {
            best = j;
            best_rank = r;
            first = ij;
        }
    }
    if (best < o->nfields) {
        /* the question's own order: its first field is the one asked */
        o->st.group[0] = first ? i : best;
        o->st.group[1] = first ? best : i;
        o->st.ngroup = 2;
        o->st.cur = o->st.group[0];
    }
    Ccai_ofl_ask_question(o, o->st.cur, o->st.tries[o->st.cur] > 0);
}

/* A field noted as none that makes another none ([none.implies]: "injuries
 * medical_records": nobody hurt, nobody saw a doctor): that one is noted
 * none too, not asked. */
static void implied_none(Ccai_offline *o)
{
    const Ccai_ofl_entry *e;
    size_t n = Ccai_ofl_lex_get(o->lex, o->lex->en, "none.implies", &e);
    const char *none = Ccai_ofl_phrase(o, M_NONE_VALUE);
    for (size_t k = 0; k < n && none && !o->oom; k++) {
        const char *sp = strchr(e[k].text, ' ');
        if (!sp)
            continue;
        size_t a = o->nfields, b = o->nfields;
        for (size_t f = 0; f < o->nfields; f++) {
            if (strlen(o->f[f].name) == (size_t)(sp - e[k].text) &&
                memcmp(o->f[f].name, e[k].text, (size_t)(sp - e[k].text)) == 0)
                a = f;
            else if (strcmp(o->f[f].name, sp + 1) == 0)
                b = f;
        }
        if (a >= o->nfields || b >= o->nfields || o->values[b] || !o->f[b].optional)
            continue;
        /* "skip" to whether anyone was hurt puts off the doctor too */
        if (!o->values[a]) {
            if (o->st.skip[a] != SKIP_NONE)
                o->st.skip[b] = o->st.skip[a];
            continue;
        }
        if (strcmp(o->values[a], none) != 0)
            continue;
        char *v = Ccai_strdup(none);
        if (!v) {
            o->oom = true;
            return;
        }
        Ccai_ofl_set_value(o, b, v);
        Ccai_ofl_act(o, CCAI_OFFLINE_SET_FIELD, o->f[b].name, v);
        o->st.skip[b] = SKIP_NONE;
    }
}

/* Move on after the current field was answered or skipped. */
void Ccai_ofl_advance(Ccai_offline *o)
{
    implied_none(o);
    if (o->oom)
        return;
    if (o->st.editing) {
        Ccai_ofl_flush_say(o, false);
        go_confirm(o);
        return;
    }
    size_t i = Ccai_ofl_next_field(o);
    if (i == o->nfields && !o->st.second_pass) {
        bool any = false;
        for (size_t k = 0; k < o->nfields; k++) {
            if (o->st.skip[k] == SKIP_ONCE && !o->values[k]) {
                o->st.skip[k] = SKIP_NONE;
                o->st.tries[k] = 0;
                any = true;
            }
        }
        o->st.second_pass = true;
        if (any) {
            Ccai_ofl_say_msg(o, M_BACK_TO_SKIPPED);
            i = Ccai_ofl_next_field(o);
        }
    }
    if (i < o->nfields) {
        ask_field(o, i);
        return;
    }
    Ccai_ofl_flush_say(o, false);
    go_confirm(o);
}

/* Leave the current field: asked again once at the end when it is the
 * first time (not while editing from the confirmation). @p failed: the
 * answers could not be used (else the caller asked to skip it), which the
 * caller is told. */
static void skip_current(Ccai_offline *o, bool failed)
{
    size_t i = o->st.cur;
    /* Put off to come back once: what the caller did not know; answers
     * that could not be used, asked CCAI_OFFLINE_TRIES times already, are
     * not asked again (a colleague follows up). */
    bool later = !o->st.second_pass && !o->st.editing && !failed;
    /* "I don't know" (not "skip"): a field the caller will not know later
     * either is not asked again (Ccai_ofl_dontknow_skip) */
    bool dk = later && Ccai_ofl_sec_has(o, "dontknow", 0, o->ntok);
    bool again = false; /* a field put off to come back to */
    if (!o->st.editing) {
        size_t fields[OFL_GROUP_MAX + 1], n = 0;
        fields[n++] = i;
        /* "skip" to "was anyone hurt, and did anyone see a doctor?" skips
         * both; answers that could not be used skip their own field */
        for (size_t k = 0; k < o->st.ngroup && !failed && n < CCAI_ARRAY_SIZE(fields); k++)
            fields[n++] = o->st.group[k];
        for (size_t k = 0; k < n; k++) {
            size_t f = fields[k];
            if (f >= o->nfields || (o->values[f] && f != i))
                continue;
            o->st.skip[f] = !later ? SKIP_FINAL
                            : dk   ? Ccai_ofl_dontknow_skip(o, f, false)
                                   : SKIP_ONCE;
            again = again || o->st.skip[f] == SKIP_ONCE;
        }
    }
    if (failed) {
        char *np = Ccai_ofl_field_np(o, i);
        if (np)
            Ccai_ofl_say_msg1(o, M_GIVE_UP_MOVE_ON, np);
        ccai_free(np);
    } else {
        Ccai_ofl_say_msg(o, later && again ? M_SKIP_LATER : M_SKIP_MOVE_ON);
    }
    Ccai_ofl_advance(o);
}

/* Repeat what the dialogue waits for. */
void Ccai_ofl_ask_current(Ccai_offline *o, bool hint)
{
    switch (o->st.phase) {
    case PH_ASK: Ccai_ofl_ask_question(o, o->st.cur, hint); break;
    case PH_CONFIRM:
        if (hint) {
            Ccai_ofl_say_summary(o, M_SUMMARY, true);
            Ccai_ofl_flush_say(o, false);
        }
        Ccai_ofl_say_msg(o, M_CONFIRM_ASK);
        break;
    case PH_WHICH: Ccai_ofl_say_msg(o, M_WHICH); break;
    case PH_NEW:
    case PH_ENDED: break;
    }
}

/* Store a valid value, confirm it, move on. @p value is taken. A local
 * date and time gets the caller's offset. */
static void accept_value(Ccai_offline *o, char *value)
{
    size_t i = o->st.cur;
    char iso[CCAI_TZ_ISO_MAX];
    if (o->tz && o->f[i].type == CCAI_FIELD_DATETIME &&
        Ccai_tz_localize_iso(o->tz, value, iso, sizeof iso, NULL) == CCAI_OK &&
        strcmp(iso, value) != 0) {
        char *with_offset = Ccai_strdup(iso);
        if (!with_offset) {
            ccai_free(value);
            o->oom = true;
            return;
        }
        ccai_free(value);
        value = with_offset;
    }
    Ccai_ofl_set_value(o, i, value);
    Ccai_ofl_act(o, CCAI_OFFLINE_SET_FIELD, o->f[i].name, value);
    o->st.pending_date = false;
    o->st.tries[i] = 0;
    /* Free text is not echoed; a typed value is read back. */
    char *spoken = o->oom || o->f[i].type == CCAI_FIELD_TEXT ? NULL : Ccai_ofl_spoken_value(o, i);
    if (!o->oom && o->f[i].type == CCAI_FIELD_TEXT)
        Ccai_ofl_say_ack(o);
    else if (spoken && strlen(spoken) <= READBACK_MAX)
        Ccai_ofl_say_msg1(o, M_NOTED_VALUE, spoken);
    else if (spoken)
        Ccai_ofl_say_msg(o, M_NOTED);
    ccai_free(spoken);
    Ccai_ofl_advance(o);
}

/* The date said before "and at what time?", the time not given: the day
 * alone, or with the part's hour ("last night": [daypart.words]). */
ccai_status Ccai_ofl_pending_value(const Ccai_offline *o, char **ret_norm, bool *ret_part)
{
    int64_t y;
    int m, d;
    char buf[64];
    Ccai_civil_from_days(o->st.pending_days, &y, &m, &d);
    *ret_part = o->st.pending_part >= 0 && o->st.pending_part <= 23;
    if (*ret_part)
        snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:00", (int)y, m, d, o->st.pending_part);
    else
        snprintf(buf, sizeof buf, "%04d-%02d-%02d", (int)y, m, d);
    return ccai_field_validate(CCAI_FIELD_DATETIME, buf, ret_norm, NULL);
}

/* The date was understood but no time: keep the date (and its part). */
static void accept_pending_date(Ccai_offline *o)
{
    char *norm = NULL;
    bool part;
    ccai_status st = Ccai_ofl_pending_value(o, &norm, &part);
    if (st == CCAI_OK) {
        o->st.dt_part = part; /* read back as "at night" */
        accept_value(o, norm);
        return;
    }
    if (st == CCAI_ERR_NOMEM)
        o->oom = true;
    o->st.pending_date = false;
    skip_current(o, false);
}

/* One more turn that did not move the dialogue on at the question it
 * waits for (an answer that cannot be used, a request to repeat, a
 * language that is not available, nothing said). The CCAI_OFFLINE_TRIES-th
 * moves on instead: the field is put off (or its date kept without the
 * time), the confirmation is given up, "which one?" goes back to the
 * confirmation. Returns true when it moved on: the caller of this must
 * then not ask again. */
bool Ccai_ofl_missed(Ccai_offline *o)
{
    o->missed = true;
    if (++o->st.stuck >= CCAI_OFFLINE_STUCK) {
        /* Question after question without one usable answer. */
        Ccai_ofl_say_msg(o, o->can_transfer ? M_STUCK_HANDOVER : M_STUCK_BYE);
        Ccai_ofl_flush_say(o, false);
        Ccai_ofl_end_call(o, o->can_transfer ? CCAI_OFFLINE_TRANSFER : CCAI_OFFLINE_HANGUP);
        return true;
    }
    switch (o->st.phase) {
    case PH_ASK: {
        size_t i = o->st.cur;
        if (++o->st.tries[i] < CCAI_OFFLINE_TRIES)
            return false;
        o->st.tries[i] = 0;
        if (o->st.pending_date)
            accept_pending_date(o);
        else
            skip_current(o, true);
        return true;
    }
    case PH_CONFIRM:
        if (++o->st.confirm_tries < CCAI_OFFLINE_TRIES)
            return false;
        give_up_confirm(o);
        return true;
    case PH_WHICH:
        if (++o->st.which_tries < CCAI_OFFLINE_TRIES)
            return false;
        go_confirm(o);
        return true;
    case PH_NEW:
    case PH_ENDED: break;
    }
    return false;
}

static void reject(Ccai_offline *o, msg reason)
{
    if (Ccai_ofl_missed(o))
        return;
    Ccai_ofl_say_msg(o, reason);
    Ccai_ofl_ask_question(o, o->st.cur, true);
}

/* Validate with the claim module; reject with @p reason when it refuses. */
static void try_value(Ccai_offline *o, const char *candidate, msg reason)
{
    char *norm = NULL;
    ccai_status st = ccai_field_validate(o->f[o->st.cur].type, candidate, &norm, NULL);
    if (st == CCAI_OK)
        accept_value(o, norm);
    else if (st == CCAI_ERR_NOMEM)
        o->oom = true;
    else
        reject(o, reason);
}

static void answer_datetime(Ccai_offline *o)
{
    const char *raw = o->raw;
    while (Ccai_is_space((unsigned char)*raw))
        raw++;
    /* Written forms the validator reads, when they carry a time. */
    if (!o->st.pending_date && strlen(raw) > 10) {
        char *norm = NULL;
        ccai_status st = ccai_field_validate(CCAI_FIELD_DATETIME, raw, &norm, NULL);
        if (st == CCAI_ERR_NOMEM) {
            o->oom = true;
            return;
        }
        if (st == CCAI_OK) {
            accept_value(o, norm);
            return;
        }
    }
    char buf[64];
    int64_t day = 0;
    memset(o->mask, 0, o->ntok * sizeof o->mask[0]);
    dt_result r =
        Ccai_ofl_parse_spoken_date(o, o->st.pending_date, o->st.pending_days, -1, 0, buf, &day);
    if (r == DT_FAIL) {
        /* the time asked: "je ne sais pas, j'étais au travail", a
         * don't-know with its reason and no hour, keeps the day */
        if (o->st.pending_date && Ccai_ofl_sec_has(o, "dontknow", 0, o->ntok)) {
            Ccai_ofl_skip_or_date(o);
            return;
        }
        reject(o, o->dt_vague          ? M_R_DATE_VAGUE
                  : o->st.pending_date ? M_R_TIME_UNREADABLE
                                       : M_R_DATE_UNREADABLE);
        return;
    }
    int py, pm, pd, ph;
    if (r == DT_FULL && o->dt_part && sscanf(buf, "%4d-%2d-%2d %2d", &py, &pm, &pd, &ph) == 4) {
        /* a part of the day, no hour: the time asked (see extract) */
        if (o->st.pending_date) {
            o->st.pending_part = ph; /* "yesterday", then "in the evening" */
            accept_pending_date(o);
            return;
        }
        o->st.pending_date = true;
        o->st.pending_days = Ccai_days_from_civil(py, pm, pd);
        o->st.pending_part = ph;
        Ccai_ofl_ask_question(o, o->st.cur, false);
        return;
    }
    if (r == DT_DATE) {
        int64_t y;
        int m, d;
        Ccai_civil_from_days(day, &y, &m, &d);
        if (y < 1900 || y > 2200) {
            reject(o, M_R_DATE_INVALID);
            return;
        }
        if (o->dt_range) {
            /* "yesterday, between 2 and 6": the day alone, not asked */
            o->st.pending_days = day;
            o->st.pending_part = -1;
            accept_pending_date(o);
            return;
        }
        /* Another date instead of the time: keep the newer one, but count
         * it, or "yesterday", "yesterday", ... would ask for ever. */
        bool again = o->st.pending_date;
        o->st.pending_date = true;
        o->st.pending_days = day;
        o->st.pending_part = -1;
        if (again && Ccai_ofl_missed(o))
            return;
        Ccai_ofl_ask_question(o, o->st.cur, false);
        return;
    }
    o->st.dt_part = false; /* an hour said */
    try_value(o, buf, M_R_DATE_INVALID);
}

static void answer_phone(Ccai_offline *o)
{
    char buf[PHONE_DIGITS_MAX + 8];
    memset(o->mask, 0, o->ntok * sizeof o->mask[0]);
    phone_reason r =
        Ccai_ofl_spoken_phone(o, 0, o->ntok, Ccai_ofl_phone_region(o), buf, sizeof buf);
    static const msg reasons[] = {M_R_PHONE_BAD, M_R_PHONE_NONE, M_R_PHONE_COUNTRY, M_R_PHONE_SHORT,
                                  M_R_PHONE_LONG};
    if (r != PH_OK) {
        reject(o, reasons[r]);
        return;
    }
    size_t digits = strlen(buf) - (buf[0] == '+' ? 1 : 2);
    try_value(o, buf, digits < 8 ? M_R_PHONE_SHORT : digits > 15 ? M_R_PHONE_LONG : M_R_PHONE_BAD);
}

/* "Could you spell the e-mail address for me, letter by letter?": once.
 * Still not understood, it is left to a colleague, who confirms it by
 * phone or text message: never asked in a loop, never guessed. */
static void email_not_understood(Ccai_offline *o)
{
    size_t i = o->st.cur;
    o->missed = true;
    if (!o->st.email_spell) {
        o->st.email_spell = true;
        o->st.stuck++;
        Ccai_ofl_say_phrase(o, "say.email_spell", 0, NULL);
        return;
    }
    o->st.tries[i] = 0;
    if (!o->st.editing)
        o->st.skip[i] = SKIP_FINAL;
    Ccai_ofl_say_phrase(o, "say.email_later", 0, NULL);
    Ccai_ofl_advance(o);
}

static void answer_email(Ccai_offline *o)
{
    char buf[CCAI_OFFLINE_UTTERANCE_MAX + 1];
    size_t r0, r1;
    bool sure = false;
    Ccai_ofl_spoken_email(o, buf, sizeof buf, &r0, &r1, &sure);
    if (!buf[0] || !sure) {
        email_not_understood(o);
        return;
    }
    try_value(o, buf, M_R_EMAIL_BAD);
}

/* The part of the address a spelled word corrects: the label (between
 * '.', '@', '-', '_') closest to it, when it is close enough (at most half
 * its letters differ); -1 when none is. */
static int closest_label(const char *addr, const char *w, size_t *ret_b, size_t *ret_e)
{
    size_t wl = strlen(w), best = (size_t)-1;
    for (size_t b = 0, e; addr[b]; b = addr[e] ? e + 1 : e) {
        e = b;
        while (addr[e] && !strchr(".@-_", addr[e]))
            e++;
        size_t d = Ccai_ofl_edit_distance(addr + b, e - b, w, wl);
        size_t lim = (wl > e - b ? wl : e - b) / 2;
        if (e > b && d <= lim && d < best && !(e - b == wl && memcmp(addr + b, w, wl) == 0)) {
            best = d;
            *ret_b = b;
            *ret_e = e;
        }
        if (!addr[e])
            break;
    }
    return best == (size_t)-1 ? -1 : (int)best;
}

/* A word spelled in the utterance: "r-e-a-d", "l e f e b v r e" (three
 * letters or more), in @p out; false when there is none. */
static bool spelled_word(const Ccai_offline *o, char *out, size_t cap)
{
    size_t best = 0;
    for (size_t k = 0; k < o->ntok; k++) {
        const char *t = o->raw + o->tok[k].raw;
        size_t l = 0;
        /* "r-e-a-d" as the caller wrote it */
        for (size_t j = 0; Ccai_is_alpha((unsigned char)t[j]) && l + 1 < cap; j += 2) {
            out[l++] = (char)Ccai_to_lower((unsigned char)t[j]);
            if (t[j + 1] != '-' || !Ccai_is_alpha((unsigned char)t[j + 2]))
                break;
        }
        if (l >= 3 && l > best) {
            out[l] = '\0';
            return true;
        }
        /* "l e f e b v r e": single letters in a row */
        size_t m = 0;
        /* "it's r e a d": the s of "it's" is no letter */
        bool elided = o->tok[k].raw > 0 && o->raw[o->tok[k].raw - 1] == '\'';
        while (!elided && k + m < o->ntok && o->tok[k + m].len == 1 &&
               Ccai_is_alpha((unsigned char)o->norm[o->tok[k + m].start]) && m + 1 < cap &&
               (m == 0 || !Ccai_ofl_clause_break(o, k + m)))
            m++;
        if (m >= 3) {
            for (size_t j = 0; j < m; j++)
                out[j] = o->norm[o->tok[k + j].start];
            out[m] = '\0';
            return true;
        }
    }
    return false;
}

/* Ask to spell the e-mail (field @p f) again, its value dropped. */
static void email_ask_spell(Ccai_offline *o, size_t f)
{
    if (o->values[f]) /* noted before: the call's claim drops it too */
        Ccai_ofl_act(o, CCAI_OFFLINE_CLEAR_FIELD, o->f[f].name, NULL);
    Ccai_ofl_set_value(o, f, NULL);
    o->st.phase = PH_ASK;
    o->st.cur = f;
    o->st.group[0] = f;
    o->st.ngroup = 1;
    o->st.pending_date = false;
    o->st.skip[f] = SKIP_NONE;
    o->st.email_spell = true;
    Ccai_ofl_say_phrase(o, "say.email_spell", 0, NULL);
}

/* The e-mail (field @p f) becomes @p norm (owned), its parts spelled
 * @p spelled: noted, read back, and the question asked goes on. */
static void email_replace(Ccai_offline *o, size_t f, char *norm, uint32_t spelled)
{
    Ccai_ofl_set_value(o, f, norm);
    o->st.email_spelled = spelled;
    Ccai_ofl_act(o, CCAI_OFFLINE_SET_FIELD, o->f[f].name, norm);
    o->st.last_set = f;
    char *rb = Ccai_ofl_readback(o, f);
    if (rb)
        Ccai_ofl_say_phrase(o, "say.ack_email", 0, rb);
    ccai_free(rb);
    Ccai_ofl_flush_say(o, false);
    Ccai_ofl_ask_current(o, false);
}

/* A domain said alone ("c'est hotmail point fr", "it's yahoo dot com"):
 * words joined by dots ([sym.dot]), the last of two to six letters, in
 * @p dom; false without one. */
static bool said_domain(const Ccai_offline *o, char *dom, size_t cap)
{
    for (size_t k = 0; k + 2 < o->ntok; k++) {
        size_t dl = 0, parts = 0, t = k, last = 0, lastlen = 0;
        while (t < o->ntok) {
            const char *w = o->norm + o->tok[t].start;
            size_t len = o->tok[t].len;
            bool ok = len > 0 && dl + len + 2 < cap && !Ccai_ofl_sec_at(o, "sym.dot", t, t + 1);
            for (size_t c = 0; c < len && ok; c++)
                ok = Ccai_is_alpha((unsigned char)w[c]) || Ccai_is_digit((unsigned char)w[c]);
            if (!ok)
                break;
            if (parts)
                dom[dl++] = '.';
            last = dl;
            lastlen = len;
            memcpy(dom + dl, w, len);
            dl += len;
            parts++;
            t++;
            size_t m = t < o->ntok ? Ccai_ofl_sec_at(o, "sym.dot", t, o->ntok) : 0;
            if (!m || t + m >= o->ntok)
                break;
            t += m;
        }
        bool tld = parts >= 2 && lastlen >= 2 && lastlen <= 6;
        for (size_t c = last; tld && c < dl; c++)
            tld = Ccai_is_alpha((unsigned char)dom[c]);
        if (tld) {
            dom[dl] = '\0';
            return true;
        }
    }
    return false;
}

/* The e-mail becomes nv (owned; NULL: out of memory) when it is one, its
 * parts spelled @p spelled: true when replaced, or when out of memory (the
 * turn fails); false when nv is no address. */
static bool email_try_replace(Ccai_offline *o, size_t f, char *nv, uint32_t spelled)
{
    char *norm = NULL;
    ccai_status st = nv ? ccai_field_validate(CCAI_FIELD_EMAIL, nv, &norm, NULL) : CCAI_ERR_NOMEM;
    ccai_free(nv);
    if (st == CCAI_ERR_NOMEM) {
        o->oom = true;
        return true;
    }
    if (st != CCAI_OK)
        return false;
    email_replace(o, f, norm, spelled);
    return true;
}

/* The turn after an e-mail was noted and read back: a no ("that's wrong",
 * "non, c'est pas ça", "no es así": [email.wrong]) drops it
 * and asks to spell it; one part spelled ("it's r-e-a-d, not reid", "c'est
 * avec un b, l e f e b v r e") replaces the part most like it; a letter
 * said with no word ("c'est avec un y", [email.with]) asks to spell it. A
 * new address said is read as usual. */
static bool email_followup(Ccai_offline *o)
{
    size_t f = o->saved.email_fresh;
    if (f >= o->nfields || !o->values[f] || (o->st.phase != PH_ASK && o->st.phase != PH_CONFIRM))
        return false;
    char buf[CCAI_OFFLINE_UTTERANCE_MAX + 1];
    size_t r0, r1;
    Ccai_ofl_spoken_email(o, buf, sizeof buf, &r0, &r1, NULL);
    if (buf[0] || strchr(o->raw, '@'))
        return false;
    char w[64];
    bool with = false; /* "with a y", "avec un b", "con g": a letter after */
    for (size_t k = 0; k < o->ntok && !with; k++) {
        size_t m = Ccai_ofl_sec_at(o, "email.with", k, o->ntok);
        with = m && k + m < o->ntok && o->tok[k + m].len == 1;
    }
    /* a bare no to the summary read after it is about the summary ("which
     * one?"), not the address */
    bool wrong = Ccai_ofl_sec_has(o, "email.wrong", 0, o->ntok);
    bool any = false;
    (void)Ccai_ofl_correction_point(o, &any);
    bool corr = with || wrong || any || Ccai_ofl_sec_has(o, "negation", 0, o->ntok);
    /* "c'est pas orange, c'est hotmail point fr", "no es gmail, es
     * hotmail punto es": a new domain said against the old one */
    char dom[128];
    const char *at = strchr(o->values[f], '@');
    if (corr && at && said_domain(o, dom, sizeof dom) && strcmp(at + 1, dom) != 0) {
        /* the local part's parts keep how they were read back */
        unsigned parts = 1;
        for (const char *p = o->values[f]; p < at; p++)
            parts += strchr(".-_", *p) != NULL;
        uint32_t keep = parts >= 32 ? UINT32_MAX : (1u << parts) - 1u;
        if (email_try_replace(o, f,
                              Ccai_asprintf("%.*s@%s", (int)(at - o->values[f]), o->values[f], dom),
                              o->st.email_spelled & keep))
            return true;
    }
    bool have = corr && spelled_word(o, w, sizeof w);
    size_t b = 0, e = 0;
    /* "es morena, con a al final": a word said whole, one letter from a
     * part of the address (a quarter of its letters at most) */
    for (size_t k = 0; corr && !have && k < o->ntok; k++) {
        const char *t = o->norm + o->tok[k].start;
        size_t len = o->tok[k].len, ok = len >= 3 && len < sizeof w;
        for (size_t j = 0; j < len && ok; j++)
            ok = Ccai_is_alpha((unsigned char)t[j]);
        if (!ok)
            continue;
        memcpy(w, t, len);
        w[len] = '\0';
        int d = closest_label(o->values[f], w, &b, &e);
        have = d >= 1 && (size_t)d <= (len / 4 ? len / 4 : 1);
    }
    if (have) {
        if (closest_label(o->values[f], w, &b, &e) >= 0) {
            const char *v = o->values[f];
            /* the part corrected was spelled: read back letter by letter */
            unsigned part = 0;
            for (size_t k = 0; k < b; k++)
                part += strchr(".@-_", v[k]) != NULL;
            if (email_try_replace(o, f, Ccai_asprintf("%.*s%s%s", (int)b, v, w, v + e),
                                  o->st.email_spelled | (part < 32 ? 1u << part : 0)))
                return true;
        }
        email_ask_spell(o, f);
        return true;
    }
    if (wrong || with) {
        email_ask_spell(o, f);
        return true;
    }
    return false;
}

static void answer_text(Ccai_offline *o)
{
    size_t i = o->st.cur;
    if (o->f[i].optional && SAYS_SEC(o, "cmd.none")) {
        char *none = Ccai_strdup(Ccai_ofl_phrase(o, M_NONE_VALUE));
        if (!none) {
            o->oom = true;
            return;
        }
        accept_value(o, none);
        return;
    }
    const char *v = o->raw;
    if (strstr(o->f[i].name, "name")) {
        /* Drop "my name is" ([name.intro]) and a final period. */
        size_t intro = o->ntok > 1 ? Ccai_ofl_sec_at(o, "name.intro", 0, o->ntok - 1) : 0;
        if (intro)
            v = o->raw + o->tok[intro].raw;
        size_t len = strlen(o->raw);
        while (len > 0 && (o->raw[len - 1] == '.' || Ccai_is_space((unsigned char)o->raw[len - 1])))
            o->raw[--len] = '\0';
        /* a name has letters ("0044 20 7946 0958" is none) */
        bool letters = false;
        for (const char *p = v; *p && !letters; p++)
            letters = Ccai_is_alpha((unsigned char)*p) || (unsigned char)*p >= 0xC3;
        if (!letters) {
            reject(o, v[0] ? M_R_TEXT_BAD : M_R_TEXT_EMPTY);
            return;
        }
        /* words no person's name is made of ([name.people]: "It was her son Cian who
         * saw them", "c'est la voisine du dessous", "fueron dos"): the
         * caller tells again of the people of the claim, and that field
         * takes it (the name is asked next); a no is no name */
        if (Ccai_ofl_sec_has(o, "name.people", 0, o->ntok)) {
            size_t pg = Ccai_ofl_people_owner(o, 0, o->ntok);
            char *pv = pg < o->nfields ? Ccai_ofl_raw_span(o, 0, o->ntok) : NULL;
            if (pv) {
                o->st.cur = pg;
                accept_value(o, pv);
                return;
            }
            reject(o, M_R_TEXT_BAD);
            return;
        }
        /* a sentence that starts with an article or a pronoun of the
         * call's language ([name.not]: "My husband deals with all that")
         * names nobody */
        if (o->ntok >= intro + 4 && Ccai_ofl_sec_at_own(o, "name.not", intro, intro + 1) == 1) {
            reject(o, M_R_TEXT_BAD);
            return;
        }
        if (o->ntok > 0 && Ccai_ofl_sec_at(o, "no.words", 0, o->ntok) == o->ntok) {
            reject(o, M_R_TEXT_BAD);
            return;
        }
    }
    if (Ccai_ofl_code_field(o, i)) {
        /* a policy number has digits: "Okay. Name's Janet Delgado." to
         * it is no number to note as said */
        bool digits = false;
        for (size_t k = 0; k < o->ntok && !digits; k++) {
            size_t j = k;
            digits =
                Ccai_ofl_is_digit_ch(o->norm[o->tok[k].start]) || Ccai_ofl_number_words(o, &j) >= 0;
        }
        if (!digits) {
            reject(o, v[0] ? M_R_TEXT_BAD : M_R_TEXT_EMPTY);
            return;
        }
    }
    try_value(o, v, v[0] ? M_R_TEXT_BAD : M_R_TEXT_EMPTY);
}

/* Which field does the caller name ("the date", "change the email")? The
 * field whose keywords the utterance uses most, when one stands out. */
static size_t named_field(const Ccai_offline *o)
{
    size_t best = o->nfields;
    int best_score = 0;
    bool tie = false;
    for (size_t f = 0; f < o->nfields; f++) {
        int score = 0;
        for (size_t t = 0; t < o->ntok; t++) {
            char word[72];
            if (o->tok[t].len < 3 || o->tok[t].len > 64)
                continue;
            snprintf(word, sizeof word, " %.*s ", (int)o->tok[t].len, o->norm + o->tok[t].start);
            if (strstr(o->f[f].keywords, word))
                score++;
        }
        if (score > best_score) {
            best = f;
            best_score = score;
            tie = false;
        } else if (score > 0 && score == best_score) {
            tie = true;
        }
    }
    return tie ? o->nfields : best;
}

static void edit_field(Ccai_offline *o, size_t f)
{
    o->st.editing = true;
    o->st.tries[f] = 0;
    ask_field(o, f);
}

/* "Is everything correct?": a yes ends the call; a no, or a field named
 * ("the date is wrong"), goes to that field or asks which one. */
static void handle_confirm(Ccai_offline *o)
{
    bool changed = false;
    Ccai_ofl_handle_confirm_values(o, &changed);
    if (o->oom)
        return;
    if (changed) {
        Ccai_ofl_say_msg(o, M_NOTED);
        Ccai_ofl_flush_say(o, false);
        o->st.confirm_rounds = o->st.confirm_rounds > 0 ? o->st.confirm_rounds - 1 : 0;
        go_confirm(o);
        return;
    }
    int pol = Ccai_ofl_answer_polarity(o);
    if (pol == POL_YES) {
        Ccai_ofl_say_msg(o, M_THANKS_BYE);
        Ccai_ofl_flush_say(o, false);
        Ccai_ofl_end_call(o, CCAI_OFFLINE_HANGUP);
        return;
    }
    size_t f = named_field(o);
    if (f < o->nfields) {
        edit_field(o, f);
        return;
    }
    if (pol == POL_NO) {
        o->st.phase = PH_WHICH;
        o->st.which_tries = 0;
        Ccai_ofl_say_msg(o, M_WHICH);
        return;
    }
    if (!Ccai_ofl_missed(o))
        Ccai_ofl_say_msg(o, M_CONFIRM_YES_NO);
}

static void handle_which(Ccai_offline *o)
{
    size_t f = named_field(o);
    if (f < o->nfields) {
        edit_field(o, f);
        return;
    }
    if (SAYS_SEC(o, "cmd.none") || Ccai_ofl_answer_polarity(o) == POL_YES) {
        go_confirm(o);
        return;
    }
    if (Ccai_ofl_missed(o))
        return;
    char *label = Ccai_ofl_label_str(o, 0, false);
    if (label)
        Ccai_ofl_say_msg1(o, M_WHICH_AGAIN, label);
    ccai_free(label);
}

void Ccai_ofl_skip_or_date(Ccai_offline *o)
{
    if (o->st.pending_date)
        accept_pending_date(o);
    else
        skip_current(o, false);
}

/* Nothing found for the question asked: the reading of its own type, which
 * says why it cannot use the answer. */
void Ccai_ofl_reject_current(Ccai_offline *o)
{
    o->st.cur = Ccai_ofl_attempted_field(o);
    size_t i = o->st.cur;
    switch (o->f[i].type) {
    case CCAI_FIELD_DATETIME: answer_datetime(o); break;
    case CCAI_FIELD_EMAIL: answer_email(o); break;
    case CCAI_FIELD_PHONE_NUMBER: answer_phone(o); break;
    case CCAI_FIELD_TEXT: answer_text(o); break;
    }
}

static void handle_ask(Ccai_offline *o)
{
    size_t i = o->st.cur;
    bool none = o->f[i].optional && o->f[i].type == CCAI_FIELD_TEXT && SAYS_SEC(o, "cmd.none");
    /* "Moi. Non." to "who was involved, and any witness?" answers both: a
     * skip is one clause */
    bool one_clause = true;
    for (size_t k = 1; k < o->ntok && one_clause; k++)
        one_clause = !Ccai_ofl_clause_break(o, k);
    if (!none && one_clause && SAYS_SEC(o, "cmd.skip")) {
        Ccai_ofl_skip_or_date(o);
        return;
    }
    Ccai_ofl_handle_answer(o);
}

/* The language the utterance names ("French", "en espagnol"), -1. */
int Ccai_ofl_named_lang(const Ccai_offline *o)
{
    for (int l = 0; l < o->lex->nlang; l++) {
        const Ccai_ofl_entry *e;
        size_t n = Ccai_ofl_lex_get(o->lex, l, "lang.names", &e);
        for (size_t k = 0; k < n; k++) {
            if (strcmp(o->stripped, e[k].norm) == 0)
                return l;
        }
    }
    return -1;
}

/* Switch to another language when the call may use it (SET_LANG and
 * "let's continue in ..."), else say it is not available. */
bool Ccai_ofl_switch_lang(Ccai_offline *o, int target)
{
    for (size_t k = 0; k < o->navail; k++) {
        if (Ccai_ofl_lang_index(o->lex, o->avail[k]) != target)
            continue;
        Ccai_ofl_act(o, CCAI_OFFLINE_SET_LANG, NULL, o->avail[k]);
        o->st.lang = target;
        o->st.lang_avail = (int)k;
        Ccai_ofl_say_msg(o, M_LANG_SWITCH);
        return true;
    }
    Ccai_ofl_say_msg(o, M_LANG_UNAVAILABLE);
    return false;
}

/* Language names: switch when the language is available. */
static CCAI_MUST_CHECK bool handle_lang(Ccai_offline *o)
{
    int target = Ccai_ofl_named_lang(o);
    if (target < 0)
        return false;
    if (target == o->st.lang) {
        if (!Ccai_ofl_missed(o))
            Ccai_ofl_ask_current(o, true);
    } else if (Ccai_ofl_switch_lang(o, target)) {
        Ccai_ofl_ask_current(o, true);
    } else if (!Ccai_ofl_missed(o)) {
        Ccai_ofl_ask_current(o, false);
    }
    return true;
}

/* The caller says goodbye: what was noted (unless it was just read for
 * confirmation), goodbye, hang up. */
void Ccai_ofl_say_goodbye(Ccai_offline *o)
{
    if (o->st.phase != PH_CONFIRM && Ccai_ofl_anything_noted(o)) {
        Ccai_ofl_say_summary(o, M_SUMMARY, false);
        Ccai_ofl_flush_say(o, false);
    }
    Ccai_ofl_say_msg(o, M_GOODBYE);
    Ccai_ofl_flush_say(o, false);
    Ccai_ofl_end_call(o, CCAI_OFFLINE_HANGUP);
}

/* A goodbye: the whole utterance, or a farewell as its last clause ("OK
 * thanks, that's all, goodbye."). */
bool Ccai_ofl_says_goodbye(Ccai_offline *o)
{
    if (SAYS_SEC_LENIENT(o, "cmd.goodbye"))
        return true;
    size_t b = o->ntok;
    while (b > 1 && !Ccai_ofl_clause_break(o, b - 1))
        b--;
    if (b <= 1)
        return false;
    Ccai_ofl_strip_words(o->lex, o->norm, o->tok + b - 1, o->ntok - b + 1, true, o->clause);
    return Ccai_ofl_says_sec(o, o->clause, "cmd.farewell");
}

/* Nothing but punctuation and "hmm", "euh": nothing said. */
static CCAI_MUST_CHECK bool says_nothing(const Ccai_offline *o)
{
    for (size_t i = 0; i < o->ntok; i++) {
        if (Ccai_ofl_sec_at(o, "cmd.nothing", i, i + 1) != 1)
            return false;
    }
    return true;
}

void Ccai_ofl_handle_utterance(Ccai_offline *o)
{
    if (o->st.phase == PH_ASK && says_nothing(o)) {
        Ccai_ofl_say_msg(o, M_R_TEXT_EMPTY);
        if (!Ccai_ofl_missed(o))
            Ccai_ofl_ask_current(o, false);
        return;
    }
    if (SAYS_SEC_LENIENT(o, "cmd.transfer") || Ccai_ofl_asks_person(o)) {
        /* "My name is Ann Lee, policy W A 3 3, I'd like to talk to
         * someone": the facts said are kept for the advisor. */
        if (o->st.phase == PH_ASK) {
            size_t from = o->nacts;
            o->to_person = true;
            Ccai_ofl_handle_answer(o);
            o->to_person = false;
            /* the day said before "and at what time?" goes too */
            if (o->st.pending_date && !o->oom)
                accept_pending_date(o);
            Ccai_ofl_keep_values_only(o, from);
        }
        Ccai_ofl_say_msg(o, M_TRANSFER);
        Ccai_ofl_flush_say(o, false);
        Ccai_ofl_end_call(o, CCAI_OFFLINE_TRANSFER);
        return;
    }
    if (Ccai_ofl_says_goodbye(o)) {
        Ccai_ofl_say_goodbye(o);
        return;
    }
    if (SAYS_SEC(o, "cmd.repeat")) {
        if (!Ccai_ofl_missed(o))
            Ccai_ofl_ask_current(o, true);
        return;
    }
    if (Ccai_ofl_says_slower(o)) {
        /* a step slower, down to the slowest rate the voices take */
        if (o->rate > 0.75 + 1e-9) {
            char r[16];
            o->rate = o->rate - 0.15 < 0.75 ? 0.75 : o->rate - 0.15;
            snprintf(r, sizeof r, "%.2f", o->rate);
            Ccai_ofl_act(o, CCAI_OFFLINE_SET_RATE, NULL, r);
        }
        const char *t = Ccai_ofl_lex_phrase(o, "say.slower", 0);
        if (t && ((o->say.len && !Ccai_buf_puts(&o->say, " ")) || !Ccai_buf_puts(&o->say, t)))
            o->oom = true;
        if (!Ccai_ofl_missed(o))
            Ccai_ofl_ask_current(o, false);
        return;
    }
    if (handle_lang(o))
        return;
    if (email_followup(o))
        return;
    switch (o->st.phase) {
    case PH_ASK: handle_ask(o); break;
    case PH_CONFIRM: handle_confirm(o); break;
    case PH_WHICH: handle_which(o); break;
    case PH_NEW:
    case PH_ENDED: break;
    }
}

bool Ccai_ofl_asks_transfer(const Ccai_offline *o)
{
    return SAYS_SEC_LENIENT(o, "cmd.transfer") || Ccai_ofl_asks_person(o);
}
