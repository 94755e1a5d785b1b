/* Audio calls, the bot side (voice_int.h): sentences to the synthesiser,
 * playout and pacing, marks and what the caller heard, the cut of a
 * barge-in and its outcome, a hang-up or transfer held for the last
 * words. */
#include "voice/voice_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first n_words * heard / total words of text (whole words); "" for
 * none. */
char *Ccai_voice_heard_words(const char *text, uint64_t heard_ms, uint64_t total_ms)
{
    if (!total_ms || heard_ms >= total_ms)
        return Ccai_strdup(text);
    size_t words = 0;
    for (const char *p = text; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        words++;
        while (*p && *p != ' ')
            p++;
    }
    size_t keep = (size_t)((double)words * (double)heard_ms / (double)total_ms);
    const char *p = text;
    for (size_t k = 0; k < keep; k++) {
        while (*p == ' ')
            p++;
        while (*p && *p != ' ')
            p++;
    }
    return Ccai_strndup(text, (size_t)(p - text));
}

void Ccai_voice_sentence_free(sentence *s)
{
    if (!s)
        return;
    /* Not all its audio came: cut (barge-in), or the call ended. */
    Ccai_span_attr_str(s->span, "tts.outcome", "cut");
    Ccai_span_attr_int(s->span, "tts.audio_ms", (int64_t)s->audio_ms);
    Ccai_span_end(s->span);
    ccai_free(s->text);
    ccai_free(s->lang);
    ccai_free(s->voice);
    ccai_free(s);
}

/* Playout ------------------------------------------------------------------- */

static void pace_schedule(vcall *vc)
{
    uint64_t now = now_ms(vc);
    uint64_t due = Ccai_pacer_next_due(vc->pacer, now);
    if (due == UINT64_MAX) {
        Ccai_timer_stop(vc->ctx, &vc->pace_timer);
        return;
    }
    Ccai_timer_start(vc->ctx, &vc->pace_timer, due > now ? due - now : 0);
}

/* The sentence of mark seq was heard whole. */
void Ccai_voice_heard_through(vcall *vc, uint32_t seq)
{
    while (vc->q && (int32_t)(vc->q->seq - seq) <= 0 && vc->q->done) {
        sentence *s = vc->q;
        vc->q = s->next;
        if (!vc->q)
            vc->q_tail = &vc->q;
        Ccai_voice_sentence_free(s);
    }
    if (!vc->q)
        Ccai_voice_after_run(vc);
    Ccai_voice_say_done_check(vc);
}

bool Ccai_voice_mark_seq(const char *name, uint32_t *ret)
{
    size_t n = strlen(MARK_PREFIX);
    if (strncmp(name, MARK_PREFIX, n) != 0)
        return false;
    char *end = NULL;
    unsigned long x = strtoul(name + n, &end, 10);
    if (!end || *end || end == name + n)
        return false;
    *ret = (uint32_t)x;
    return true;
}

/* Bot audio as the caller hears it (released by the pacer): the far end
 * of the echo gate and canceller, and the recording's right channel. */
static void far_played(vcall *vc, const Ccai_pacer_item *it)
{
    size_t cap = Ccai_media_converter_max_out(vc->far_conv, it->len);
    if (cap > vc->conv_cap) {
        uint8_t *b = Ccai_realloc(vc->conv_buf, cap);
        if (!b)
            return;
        vc->conv_buf = b;
        vc->conv_cap = cap;
    }
    size_t n = 0;
    if (Ccai_media_convert(vc->far_conv, it->data, it->len, vc->conv_buf, vc->conv_cap, &n) !=
        CCAI_OK)
        return;
    size_t samples = n / 2;
    int16_t tmp[2048];
    for (size_t off = 0; off < samples;) {
        size_t k = samples - off < CCAI_ARRAY_SIZE(tmp) ? samples - off : CCAI_ARRAY_SIZE(tmp);
        Ccai_pcm16le_read(vc->conv_buf + off * 2, k, tmp);
        Ccai_echo_gate_far(vc->gate, it->play_ms + off * 1000 / vc->mono.rate, tmp, k,
                           vc->mono.rate);
        /* Waiting for the caller's audio of the same moment. */
        size_t max = Ccai_media_samples_per_ms(&vc->mono, MAX_FAR_MS);
        if (vc->far_len + k > max) {
            size_t drop = vc->far_len + k - max;
            if (drop > vc->far_len)
                drop = vc->far_len;
            memmove(vc->far, vc->far + drop, (vc->far_len - drop) * sizeof *vc->far);
            vc->far_len -= drop;
        }
        if (vc->far_len + k <= vc->far_cap) {
            memcpy(vc->far + vc->far_len, tmp, k * sizeof *tmp);
            vc->far_len += k;
        }
        off += k;
    }
}

static void play(vcall *vc, const uint8_t *data, size_t len)
{
    if (vc->answer_pending) {
        vc->answer_pending = false;
        Ccai_voice_metric(vc, "ccai_voice_answer_seconds", vc->tts_prov ? vc->tts_prov->name : NULL,
                          now_ms(vc) - vc->speech_end_at);
    }
    ccai_audio_frame f = {
        .version = CCAI_AUDIO_FRAME_VERSION,
        .format = {(ccai_audio_encoding)vc->out.encoding, vc->out.rate, vc->out.channels},
        .data = data,
        .len = len,
        .duration_ms = (uint32_t)(Ccai_media_bytes_to_us(&vc->out, len) / 1000),
    };
    if (vc->host.play_audio(vc->call, &f, vc->host_ud) != 0)
        Ccai_log(&vc->v->log, CCAI_LOG_WARN, "call %s: the host refused %zu bytes of audio",
                 ccai_call_id(vc->call), len);
}

void Ccai_voice_on_pace(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    vcall *vc = ud;
    Ccai_pacer_item it;
    ccai_call *call = vc->call;
    Ccai_call_enter(call);
    while (!vc->ended && Ccai_pacer_next(vc->pacer, now_ms(vc), &it)) {
        if (it.kind == CCAI_PACER_FRAME) {
            if (vc->paced)
                play(vc, it.data, it.len);
            far_played(vc, &it);
        } else {
            uint32_t seq;
            /* Paced, or a host without marks: the clock says it was heard. */
            if ((vc->paced || !vc->host.mark) && Ccai_voice_mark_seq(it.mark, &seq))
                Ccai_voice_heard_through(vc, seq);
        }
    }
    if (Ccai_call_leave(call) && !vc->ended)
        pace_schedule(vc);
}

/* Audio of the synthesiser in its format -> audio_out -> out. */
static void out_audio(vcall *vc, sentence *s, const uint8_t *audio, size_t len)
{
    const uint8_t *data = audio;
    size_t n = len;
    if (vc->out_conv) {
        size_t cap = Ccai_media_converter_max_out(vc->out_conv, len);
        if (cap > vc->conv_cap) {
            uint8_t *b = Ccai_realloc(vc->conv_buf, cap);
            if (!b)
                return;
            vc->conv_buf = b;
            vc->conv_cap = cap;
        }
        if (Ccai_media_convert(vc->out_conv, audio, len, vc->conv_buf, vc->conv_cap, &n) != CCAI_OK)
            return;
        data = vc->conv_buf;
    }
    if (!n)
        return;
    if (!s->started) {
        s->started = true;
        s->start_ms = vc->out_pos_ms;
    }
    uint64_t ms = Ccai_media_bytes_to_us(&vc->out, n) / 1000;
    s->audio_ms += ms;
    vc->out_pos_ms += ms;
    if (Ccai_pacer_push(vc->pacer, &vc->out, data, n) != CCAI_OK)
        Ccai_log(&vc->v->log, CCAI_LOG_WARN, "call %s: the bot's audio queue is full",
                 ccai_call_id(vc->call));
    if (!vc->paced)
        play(vc, data, n);
    pace_schedule(vc);
}

static sentence *sentence_of(vcall *vc, uint32_t id)
{
    for (sentence *s = vc->q; s; s = s->next) {
        if (s->sent && s->tts_gen == vc->tts_gen && s->tts_id == id)
            return s;
    }
    return NULL;
}

ccai_status Ccai_voice_tts_send(vcall *vc, sentence *s, const char *text)
{
    if (!vc->tts)
        return CCAI_ERR_STATE;
    /* The language's voice is an Azure voice name: another provider would
     * refuse it (ElevenLabs: 404, the sentence lost to the fallback). */
    const char *voice = vc->tts_prov->caps & CCAI_TTS_LANG_VOICE ? s->voice : NULL;
    Ccai_tts_text t = {text, false, s->lang, voice, NULL, s->rate};
    ccai_status st = Ccai_tts_say(vc->tts, &t, &s->tts_id);
    if (st == CCAI_OK && !s->span &&
        (s->span = Ccai_span_child(vc->call->span, "tts", CCAI_SPAN_CLIENT))) {
        Ccai_span_attr_int(s->span, "tts.chars", (int64_t)strlen(text));
        Ccai_span_attr_str(s->span, "tts.lang", s->lang);
    }
    if (st == CCAI_OK) {
        Ccai_span_attr_str(s->span, "tts.provider", vc->tts_prov->name); /* the last one */
        s->sent = true;
        s->tts_gen = vc->tts_gen;
        s->said_at = now_ms(vc);
    }
    return st;
}

void Ccai_voice_on_tts_audio(Ccai_tts *t, uint32_t id, const uint8_t *audio, size_t len, void *ud)
{
    vcall *vc = ud;
    if (t != vc->tts || vc->barged || vc->ended)
        return;
    sentence *s = sentence_of(vc, id);
    if (!s)
        return;
    /* Per provider: the fallback's first audio of the rest of a sentence
     * counts for it. */
    if (s->said_at) {
        Ccai_voice_metric(vc, "ccai_voice_tts_first_byte_seconds", vc->tts_prov->name,
                          now_ms(vc) - s->said_at);
        Ccai_span_attr_int(s->span, "tts.first_audio_ms", (int64_t)(now_ms(vc) - s->said_at));
        s->said_at = 0;
    }
    ccai_call *call = vc->call;
    Ccai_call_enter(call);
    out_audio(vc, s, audio, len);
    Ccai_call_leave(call);
}

void Ccai_voice_on_tts_done(Ccai_tts *t, const Ccai_tts_done *d, void *ud)
{
    vcall *vc = ud;
    if (t != vc->tts || d->status == CCAI_ERR_CANCELLED)
        return;
    sentence *s = sentence_of(vc, d->id);
    if (!s)
        return;
    if (d->status != CCAI_OK) {
        ccai_call *call = vc->call;
        Ccai_call_enter(call);
        Ccai_voice_tts_fallback(vc, d->errmsg ? d->errmsg : ccai_status_str(d->status));
        Ccai_call_leave(call);
        return;
    }
    s->done = true;
    Ccai_span_attr_str(s->span, "tts.outcome", "done");
    Ccai_span_attr_int(s->span, "tts.audio_ms", (int64_t)s->audio_ms);
    Ccai_span_end(s->span);
    s->span = NULL;
    char mark[32];
    snprintf(mark, sizeof mark, MARK_PREFIX "%u", s->seq);
    if (Ccai_pacer_flush(vc->pacer) != CCAI_OK || Ccai_pacer_mark(vc->pacer, mark) != CCAI_OK)
        Ccai_log(&vc->v->log, CCAI_LOG_ERROR,
                 "call %s: out of memory pacing sentence %u: its end is not marked",
                 ccai_call_id(vc->call), s->seq);
    if (!vc->paced && vc->host.mark && vc->host.mark(vc->call, mark, vc->host_ud) != 0)
        Ccai_log(&vc->v->log, CCAI_LOG_WARN, "call %s: the host refused mark %s",
                 ccai_call_id(vc->call), mark);
    pace_schedule(vc);
}

/* The engine: everything it said was heard: SAY_DONE (its silence timer
 * counts from the end of what the caller heard). */
void Ccai_voice_say_done_check(vcall *vc)
{
    if (vc->q || vc->barged || !vc->engine_speaking || vc->ended)
        return;
    vc->engine_speaking = false;
    Ccai_voice_notify(vc, CCAI_EVENT_SAY_DONE, NULL);
}

/* Barge-in -------------------------------------------------------------------- */

/* Stop the bot's audio at once: the host's buffer, the pacer, the TTS.
 * The sentences not heard whole move to the held list with what was heard
 * of each. */
void Ccai_voice_cut(vcall *vc)
{
    if (!vc->paced && vc->host.clear_audio)
        vc->host.clear_audio(vc->call, vc->host_ud);
    Ccai_pacer_cleared cl = {0};
    Ccai_pacer_clear(vc->pacer, now_ms(vc), &cl);
    Ccai_timer_stop(vc->ctx, &vc->pace_timer);
    if (vc->tts)
        Ccai_tts_cancel(vc->tts);
    if (vc->out_conv)
        /* Keeps a few samples of history when speexdsp refuses (a state it
         * never had): the next sentence starts with them, nothing else. */
        CCAI_DISCARD(Ccai_media_converter_reset(vc->out_conv));
    size_t n = 0;
    for (sentence *s = vc->q; s; s = s->next)
        n++;
    struct heard *heard = n ? Ccai_realloc(vc->held_heard, (vc->n_held + n) * sizeof *heard) : NULL;
    if (heard)
        vc->held_heard = heard;
    sentence **tail = &vc->held;
    while (*tail)
        tail = &(*tail)->next;
    for (sentence *s = vc->q; s;) {
        sentence *next = s->next;
        uint64_t h = 0;
        if (s->started && cl.heard_ms > s->start_ms)
            h = cl.heard_ms - s->start_ms < s->audio_ms ? cl.heard_ms - s->start_ms : s->audio_ms;
        uint64_t guess = strlen(s->text) * TEXT_MS_PER_CHR;
        if (heard)
            vc->held_heard[vc->n_held] = (struct heard){
                h, s->done ? s->audio_ms : (guess > s->audio_ms ? guess : s->audio_ms)};
        vc->n_held++;
        s->next = NULL;
        s->sent = s->done = s->started = false;
        s->audio_ms = 0;
        *tail = s;
        tail = &s->next;
        s = next;
    }
    if (!heard && n) /* no room for what was heard: nothing was */
        vc->n_held = 0;
    vc->q = NULL;
    vc->q_tail = &vc->q;
    vc->out_pos_ms = 0;
    vc->far_len = 0;
    Ccai_voice_after_run(vc); /* nothing left to hear */
}

void Ccai_voice_held_drop(vcall *vc)
{
    while (vc->held) {
        sentence *s = vc->held;
        vc->held = s->next;
        Ccai_voice_sentence_free(s);
    }
    vc->n_held = 0;
}

/* The caller's words confirm the interruption: the stored sentences are
 * cut to what the caller heard (newest first, so the order stays). */
void Ccai_voice_barge_confirm(vcall *vc)
{
    if (!vc->barged)
        return;
    vc->barged = false;
    sentence *v[64];
    size_t n = 0;
    for (sentence *s = vc->held; s && n < CCAI_ARRAY_SIZE(v); s = s->next)
        v[n++] = s;
    for (size_t i = n; i-- > 0;) {
        sentence *s = v[i];
        struct heard h = {0, 1};
        if (i < vc->n_held && vc->held_heard)
            h = vc->held_heard[i];
        char *said = Ccai_voice_heard_words(s->text, h.heard_ms, h.total_ms ? h.total_ms : 1);
        if (said && strcmp(said, s->text) != 0) {
            ccai_status st = Ccai_call_said_heard(vc->call, s->text, said);
            if (st != CCAI_OK && st != CCAI_ERR_NOT_FOUND)
                Ccai_log(&vc->v->log, CCAI_LOG_WARN,
                         "call %s: cannot store what the caller heard: %s", ccai_call_id(vc->call),
                         ccai_status_str(st));
        }
        ccai_free(said);
    }
    Ccai_voice_held_drop(vc);
}

/* No words came of it (a cough, "mm-hmm"): the bot takes up the sentence
 * that was cut, from its start, and what followed it. */
void Ccai_voice_barge_resume(vcall *vc)
{
    if (!vc->barged)
        return;
    vc->barged = false;
    Ccai_log(&vc->v->log, CCAI_LOG_DEBUG, "call %s: false interruption: resuming",
             ccai_call_id(vc->call));
    *vc->q_tail = vc->held;
    while (*vc->q_tail)
        vc->q_tail = &(*vc->q_tail)->next;
    vc->held = NULL;
    vc->n_held = 0;
    for (sentence *s = vc->q; s; s = s->next) {
        if (!s->sent && Ccai_voice_tts_send(vc, s, s->text) != CCAI_OK)
            s->done = true;
    }
    Ccai_voice_say_done_check(vc);
}

/* The bot talks: audio queued or not heard yet. */
bool Ccai_voice_bot_talking(const vcall *vc)
{
    return vc->q != NULL || Ccai_pacer_queued_ms(vc->pacer) > 0;
}

/* Speaking: the engine's ops -------------------------------------------------- */

/* A sentence to speak: queued for the synthesiser, or held while the
 * caller may be interrupting. -1 when out of memory. */
int Ccai_voice_speak(vcall *vc, const char *text, const char *lang, const char *voice, double rate,
                     ccai_style style)
{
    if (vc->ended)
        return -1;
    sentence *s = Ccai_calloc(1, sizeof *s);
    if (!s || !(s->text = Ccai_strdup(text)) || (lang && !(s->lang = Ccai_strdup(lang))) ||
        (voice && !(s->voice = Ccai_strdup(voice)))) {
        Ccai_voice_sentence_free(s);
        return -1;
    }
    s->rate = rate > 0 ? rate : 1;
    s->style = style;
    s->seq = ++vc->next_seq;
    if (vc->barged) {
        /* The caller may be interrupting: held with the cut ones. */
        sentence **tail = &vc->held;
        while (*tail)
            tail = &(*tail)->next;
        *tail = s;
        return 0;
    }
    *vc->q_tail = s;
    vc->q_tail = &s->next;
    if (Ccai_voice_tts_send(vc, s, s->text) != CCAI_OK)
        Ccai_voice_tts_fallback(vc, "refused the sentence");
    return 0;
}

int Ccai_voice_op_say(ccai_call *call, const ccai_speech *sp, void *ud)
{
    CCAI_UNUSED(call);
    vcall *vc = ud;
    int rc = Ccai_voice_speak(vc, sp->text, sp->lang, sp->voice, sp->rate, sp->style);
    if (rc == 0)
        vc->engine_speaking = true;
    return rc;
}

int Ccai_voice_op_stop_speaking(ccai_call *call, void *ud)
{
    CCAI_UNUSED(call);
    vcall *vc = ud;
    /* The engine drops its answer (the caller's words, a key): what was
     * not heard is not stored as said. */
    if (!vc->barged && Ccai_voice_bot_talking(vc)) {
        vc->barged = true;
        Ccai_voice_cut(vc);
    }
    Ccai_voice_barge_confirm(vc);
    vc->engine_speaking = false;
    return 0;
}

/* What waited for the last words, now (the bot's audio was heard, was
 * cut, or did not come within AFTER_MAX_MS). */
void Ccai_voice_after_run(vcall *vc)
{
    int what = vc->after;
    if (what == AFTER_NONE)
        return;
    vc->after = AFTER_NONE;
    Ccai_timer_stop(vc->ctx, &vc->after_timer);
    int rc = what == AFTER_HANGUP ? vc->host.hangup(vc->call, vc->host_ud)
                                  : vc->host.transfer(vc->call, vc->after_number, vc->host_ud);
    if (rc != 0)
        Ccai_log(&vc->v->log, CCAI_LOG_WARN, "call %s: the host refused the %s",
                 ccai_call_id(vc->call), what == AFTER_HANGUP ? "hang-up" : "transfer");
    if (rc != 0 && what == AFTER_TRANSFER)
        Ccai_voice_notify(vc, CCAI_EVENT_TRANSFER_FAILED, "the channel cannot transfer");
}

void Ccai_voice_on_after_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    vcall *vc = ud;
    ccai_call *call = vc->call;
    Ccai_call_enter(call);
    Ccai_log(&vc->v->log, CCAI_LOG_WARN,
             "call %s: the bot's last words were not heard within %d s: acting now",
             ccai_call_id(vc->call), AFTER_MAX_MS / 1000);
    Ccai_voice_after_run(vc);
    Ccai_call_leave(call);
}

/* At once when nothing the bot said waits to be heard; else once it was. */
static int after_words(vcall *vc, int what, const char *number)
{
    if (!Ccai_voice_bot_talking(vc) || vc->barged)
        return what == AFTER_HANGUP ? vc->host.hangup(vc->call, vc->host_ud)
                                    : vc->host.transfer(vc->call, number, vc->host_ud);
    vc->after = what;
    if (number)
        snprintf(vc->after_number, sizeof vc->after_number, "%s", number);
    Ccai_timer_start(vc->ctx, &vc->after_timer, AFTER_MAX_MS);
    return 0;
}

int Ccai_voice_op_transfer(ccai_call *call, const char *number, void *ud)
{
    CCAI_UNUSED(call);
    vcall *vc = ud;
    if (!vc->host.transfer || !number || strlen(number) >= sizeof vc->after_number)
        return -1;
    return after_words(vc, AFTER_TRANSFER, number);
}

int Ccai_voice_op_hangup(ccai_call *call, void *ud)
{
    CCAI_UNUSED(call);
    vcall *vc = ud;
    if (!vc->host.hangup)
        return -1;
    return after_words(vc, AFTER_HANGUP, NULL);
}
