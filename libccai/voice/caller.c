/* Audio calls, the caller side (voice_int.h): frames, VAD and
 * turn-taking, the utterance and the recogniser's results, the barge-in
 * decision, what the next answer is expected to be, the language menu. */
#include "voice/voice_int.h"

#include "media/amd.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static void menu_answer(vcall *vc, const char *slot, const char *text);
static void menu_close(vcall *vc);

static size_t count_words(const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p;) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        n++;
        while (*p && *p != ' ')
            p++;
    }
    return n;
}

static void event_speech(vcall *vc, const char *text, bool final, double confidence)
{
    ccai_event *ev = NULL;
    if (ccai_event_new(CCAI_EVENT_SPEECH, &ev) != CCAI_OK)
        return;
    ccai_status st = ccai_event_set_text(ev, text);
    if (st == CCAI_OK)
        st = ccai_event_set_lang(ev, vc->lang);
    if (st == CCAI_OK)
        st = ccai_event_set_final(ev, final);
    if (st == CCAI_OK && confidence >= 0 && confidence <= 1)
        st = ccai_event_set_confidence(ev, confidence);
    if (st == CCAI_OK)
        st = ccai_on_event(vc->call, ev);
    if (st != CCAI_OK && st != CCAI_ERR_STATE)
        Ccai_log(&vc->v->log, CCAI_LOG_WARN, "call %s: the caller's words were refused: %s",
                 ccai_call_id(vc->call), ccai_status_str(st));
    ccai_event_free(ev);
}

/* STT ------------------------------------------------------------------------------ */

void Ccai_voice_stt_feed(vcall *vc, const int16_t *pcm, size_t n)
{
    if (!vc->stt)
        return;
    uint8_t bytes[2 * 1024];
    for (size_t off = 0; off < n;) {
        size_t k = n - off < 1024 ? n - off : 1024;
        Ccai_pcm16le_write(pcm + off, k, bytes);
        const uint8_t *data = bytes;
        size_t len = k * 2;
        uint8_t conv[4 * 1024 * 3];
        if (vc->stt_conv) {
            if (Ccai_media_convert(vc->stt_conv, bytes, len, conv, sizeof conv, &len) != CCAI_OK)
                return;
            data = conv;
        }
        ccai_status st = Ccai_stt_feed(vc->stt, data, len);
        if (st != CCAI_OK && st != CCAI_ERR_STATE)
            Ccai_log(&vc->v->log, CCAI_LOG_WARN, "call %s: stt %s refused audio: %s",
                     ccai_call_id(vc->call), vc->stt_prov->name, ccai_status_str(st));
        off += k;
    }
}

/* A slot as words the engine reads: a date's "--MM-DD" becomes "DD/MM"
 * (the offline dialogue reads numeric dates day first); the rest as it is
 * ("yes", the digits, the address, "tuesday"). */
static const char *slot_words(Ccai_stt_kind kind, const char *slot, char *buf, size_t cap)
{
    unsigned m, d;
    char tail;
    if (kind == CCAI_STT_DATE && sscanf(slot, "--%2u-%2u%c", &m, &d, &tail) == 2) {
        snprintf(buf, cap, "%u/%u", d, m);
        return buf;
    }
    return slot;
}
/* Early start ---------------------------------------------------------------- */

void Ccai_voice_partial_reset(vcall *vc, bool taken)
{
    if (vc->early && !taken)
        Ccai_conv_early_cancel(vc->call);
    vc->early = false;
    ccai_free(vc->partial);
    vc->partial = NULL;
}

/* Where safe, the engine starts the LLM on the caller's words so far: the
 * recogniser's partial words have stood for early_start_ms and the caller
 * has been silent as long (the VAD heard no voiced frame), on free speech
 * (no answer type, no menu), no barge-in pending; the engine adds its own
 * conditions (Ccai_conv_early_start()). */
static void early_check(vcall *vc)
{
    const Ccai_voice *v = vc->v;
    if (!v->early_start || vc->early || !vc->partial || !vc->utt_open || vc->barged ||
        vc->menu_open || vc->expect != CCAI_STT_FREE)
        return;
    uint64_t now = now_ms(vc), spoke_to = vc->in_base + vc->utt_last_speech + FRAME_MS;
    if (now < vc->partial_at + v->early_start_ms || now < spoke_to + v->early_start_ms)
        return;
    vc->early = Ccai_conv_early_start(vc->call, vc->partial) == CCAI_OK;
}

/* The recogniser's words so far: a change drops an early turn on the old
 * ones (the caller went on). */
static void partial_words(vcall *vc, const char *text)
{
    if (!vc->v->early_start || !text || !*text || !vc->utt_open)
        return;
    if (vc->partial && strcmp(vc->partial, text) == 0)
        return;
    Ccai_voice_partial_reset(vc, false);
    vc->partial = Ccai_strdup(text); /* out of memory: no early start */
    vc->partial_at = now_ms(vc);
    early_check(vc);
}

void Ccai_voice_stt_span_end(vcall *vc, const char *outcome, bool error)
{
    Ccai_span *sp = vc->stt_span;
    if (!sp)
        return;
    vc->stt_span = NULL;
    Ccai_span_attr_str(sp, "stt.provider", vc->stt_prov ? vc->stt_prov->name : "none");
    Ccai_span_attr_int(sp, "stt.audio_ms", (int64_t)(vc->stt_samples * 1000 / vc->mono.rate));
    Ccai_span_attr_int(sp, "stt.partials", vc->stt_partials);
    Ccai_span_attr_int(sp, "stt.finals", strcmp(outcome, "final") == 0);
    Ccai_span_attr_str(sp, "stt.outcome", outcome);
    if (error)
        Ccai_span_error(sp, outcome);
    Ccai_span_end(sp);
}

void Ccai_voice_on_stt(Ccai_stt *s, const Ccai_stt_result *r, void *ud)
{
    vcall *vc = ud;
    if (s != vc->stt || vc->ended)
        return;
    ccai_call *call = vc->call;
    Ccai_call_enter(call);
    switch (r->event) {
    case CCAI_STT_PARTIAL:
        /* Words while the bot was cut: a real interruption (two at least:
         * a lone word of a partial is often a noise or a backchannel,
         * reference/media.md 7.2). The engine drops its answer (a partial
         * is its barge-in). */
        if (vc->barged && r->text && count_words(r->text) >= 2) {
            Ccai_voice_barge_confirm(vc);
            event_speech(vc, r->text, false, -1);
        }
        partial_words(vc, r->text);
        vc->stt_partials++;
        break;
    case CCAI_STT_FINAL: {
        Ccai_voice_stt_span_end(
            vc, (r->text && *r->text) || (r->slot && *r->slot) ? "final" : "empty", false);
        bool mine = vc->utt_ended;
        Ccai_timer_stop(vc->ctx, &vc->result_timer);
        uint64_t now = now_ms(vc);
        /* The provider's own end of utterance (Deepgram's endpointing, the
         * Realtime server VAD) comes before the voice layer's: timed from
         * the end of the caller's last voiced frame. */
        uint64_t spoke_to = vc->in_base + vc->utt_last_speech + FRAME_MS;
        bool theirs = !mine && vc->utt_open && spoke_to <= now;
        if (mine || theirs)
            Ccai_voice_metric(vc, "ccai_voice_stt_final_seconds", vc->stt_prov->name,
                              now - (mine ? vc->end_sent_at : spoke_to));
        vc->utt_ended = false;
        if (!mine)
            vc->utt_open = false; /* the provider's own end of utterance */
        Ccai_buf_reset(&vc->utt);
        /* The grammar resolved the answer (the recogniser keeps a slot
         * only above its confidence floor): its canonical form is the
         * caller's words. */
        char slot[64];
        const char *text = r->text;
        if (r->slot && *r->slot && (vc->expect != CCAI_STT_FREE || !text || !*text))
            text = slot_words(vc->expect, r->slot, slot, sizeof slot);
        vc->expect = CCAI_STT_FREE;
        if (vc->menu_open) {
            Ccai_voice_partial_reset(vc, false);
            Ccai_voice_barge_confirm(vc);
            menu_answer(vc, r->slot, r->text);
            break;
        }
        if (!text || !*text) {
            Ccai_voice_partial_reset(vc, false);
            Ccai_voice_barge_resume(vc);
            break;
        }
        Ccai_voice_barge_confirm(vc);
        if (!mine)
            vc->speech_end_at = theirs ? spoke_to : now;
        vc->answer_pending = true;
        /* The engine takes or drops an early turn on them. */
        Ccai_voice_partial_reset(vc, true);
        event_speech(vc, text, true, r->confidence);
        break;
    }
    case CCAI_STT_SPEECH_STARTED: break;
    case CCAI_STT_ERROR:
        Ccai_timer_stop(vc->ctx, &vc->result_timer);
        Ccai_voice_stt_fallback(vc, r->errmsg ? r->errmsg : ccai_status_str(r->status));
        break;
    }
    Ccai_call_leave(call);
}

/* The caller's frames ------------------------------------------------------------ */

static void pre_push(vcall *vc, const int16_t *pcm, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        vc->pre[vc->pre_pos] = pcm[i];
        vc->pre_pos = (vc->pre_pos + 1) % vc->pre_cap;
    }
    vc->pre_len = vc->pre_len + n > vc->pre_cap ? vc->pre_cap : vc->pre_len + n;
}

static void utt_add(vcall *vc, const int16_t *pcm, size_t n)
{
    size_t max = Ccai_media_bytes_per_ms(&vc->mono, MAX_UTT_MS);
    /* The utterance's audio kept for a fallback recogniser; out of memory,
     * a fallback hears less of it (this recogniser still gets all). */
    if (vc->utt.len + n * 2 <= max)
        CCAI_DISCARD(Ccai_buf_append(&vc->utt, pcm, n * 2));
    vc->stt_samples += n;
    Ccai_voice_stt_feed(vc, pcm, n);
}

/* Open the utterance with the pre-roll (which holds the frame that opened
 * it). */
static void utt_open(vcall *vc)
{
    if (!vc->stt)
        return;
    vc->utt_open = true;
    Ccai_buf_reset(&vc->utt);
    /* One span per utterance: one the recogniser never answered ends here. */
    Ccai_voice_stt_span_end(vc, "dropped", false);
    vc->stt_span = Ccai_span_child(vc->call->span, "stt", CCAI_SPAN_CLIENT);
    vc->stt_samples = 0;
    vc->stt_partials = 0;
    size_t n = vc->pre_len, start = (vc->pre_pos + vc->pre_cap - n) % vc->pre_cap;
    for (size_t i = 0; i < n; i++)
        vc->pre_tmp[i] = vc->pre[(start + i) % vc->pre_cap];
    utt_add(vc, vc->pre_tmp, n);
}

/* end() to the recogniser, its FINAL awaited at most result_timeout_ms. */
void Ccai_voice_end_utterance(vcall *vc)
{
    if (Ccai_stt_end(vc->stt) != CCAI_OK) {
        Ccai_voice_stt_fallback(vc, "end refused");
        return;
    }
    Ccai_timer_start(vc->ctx, &vc->result_timer, vc->v->result_timeout_ms);
}

/* No FINAL in time: the next recogniser of the chain hears the utterance;
 * with none left the current one drops it and the caller was not
 * understood (the engine asks again): never a hang. */
void Ccai_voice_on_result_timeout(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    vcall *vc = ud;
    if (vc->ended || !vc->utt_ended || !vc->stt)
        return;
    ccai_call *call = vc->call;
    Ccai_call_enter(call);
    Ccai_log(&vc->v->log, CCAI_LOG_WARN, "call %s: stt %s: no words %u ms after the turn ended",
             ccai_call_id(vc->call), vc->stt_prov->name, (unsigned)vc->v->result_timeout_ms);
    if (vc->stt_idx + 1 < vc->v->stt.n) {
        Ccai_voice_stt_fallback(vc, "no result in time");
    } else {
        Ccai_stt_cancel(vc->stt);
        Ccai_voice_stt_span_end(vc, "no words in time", true);
        Ccai_voice_partial_reset(vc, false);
        vc->utt_ended = false;
        Ccai_buf_reset(&vc->utt);
        Ccai_voice_barge_resume(vc);
        Ccai_voice_notify(vc, CCAI_EVENT_NOT_UNDERSTOOD, "the recogniser gave no words in time");
    }
    Ccai_call_leave(call);
}

/* Caller speech while the bot talks: its audio stops now. */
static void barge_in(vcall *vc, const Ccai_vad_event *ev)
{
    uint64_t t0 = now_ms(vc);
    vc->barged = true;
    Ccai_voice_cut(vc);
    uint64_t t1 = now_ms(vc);
    /* Onset to the decision is the cut-off window of the VAD (stream
     * time); the decision to the clear, ours. */
    Ccai_voice_metric(vc, "ccai_voice_cutoff_seconds", vc->tts_prov ? vc->tts_prov->name : NULL,
                      (ev->at_ms - ev->onset_ms) + (t1 - t0));
    Ccai_log(&vc->v->log, CCAI_LOG_DEBUG, "call %s: barge-in (%u ms of speech)",
             ccai_call_id(vc->call), (unsigned)(ev->at_ms - ev->onset_ms));
}

static void on_vad(const Ccai_vad_frame *fr, const Ccai_vad_event *ev, void *ud)
{
    vcall *vc = ud;
    /* The line while the caller is silent measures the echo path. */
    Ccai_echo_gate_caller_talking(vc->gate, Ccai_vad_in_speech(vc->vad));
    Ccai_echo_gate_near(vc->gate, vc->frame_at, FRAME_MS, fr->level_db, fr->speech);
    if (fr->speech && !vc->utt_open && !vc->utt_ended)
        utt_open(vc);
    if (fr->speech)
        vc->utt_last_speech = fr->start_ms;
    if (!ev) {
        /* A burst the VAD gives no event for (a click): forget it. */
        if (vc->utt_open && !Ccai_vad_in_speech(vc->vad) &&
            fr->start_ms > vc->utt_last_speech + vc->v->vad.silence_timeout_ms + 2 * FRAME_MS) {
            if (vc->stt)
                Ccai_stt_cancel(vc->stt);
            vc->utt_open = false;
            Ccai_buf_reset(&vc->utt);
            Ccai_voice_partial_reset(vc, false);
            Ccai_voice_stt_span_end(vc, "dropped", false);
        }
        return;
    }
    if (ev->kind == CCAI_VAD_SPEECH_START) {
        if (Ccai_voice_bot_talking(vc) && !vc->barged)
            barge_in(vc, ev);
        return;
    }
    /* SPEECH_END */
    if (!vc->utt_open)
        return;
    vc->utt_open = false;
    if (!ev->turn || !vc->stt) {
        Ccai_voice_stt_span_end(vc, "dropped", false);
        Ccai_voice_partial_reset(vc, false);
        if (vc->stt)
            Ccai_stt_cancel(vc->stt);
        Ccai_buf_reset(&vc->utt);
        Ccai_voice_barge_resume(vc);
        return;
    }
    vc->utt_ended = true;
    vc->end_sent_at = now_ms(vc);
    vc->speech_end_at = vc->end_sent_at;
    Ccai_voice_end_utterance(vc);
}

/* One 20 ms frame of the caller (mono PCM16 at the call's rate). */
/* The callee's audio to the answering-machine detector, once the call is
 * connected (a ringback before it is nobody); its verdicts to the engine,
 * in Twilio's AnsweredBy words. */
static void amd_feed(vcall *vc, const int16_t *pcm, size_t n)
{
    if (!vc->amd || vc->ended)
        return;
    ccai_call_state s = ccai_call_get_state(vc->call);
    if (s != CCAI_CALL_CONNECTED && s != CCAI_CALL_CONVERSATION && s != CCAI_CALL_TURN)
        return;
    Ccai_amd_verdict v = Ccai_amd_feed(vc->amd, pcm, n);
    while (v != CCAI_AMD_NONE) {
        bool final = v != CCAI_AMD_MACHINE;
        Ccai_log(&vc->v->log, CCAI_LOG_INFO, "call %s: answered by %s (after %llu ms)",
                 ccai_call_id(vc->call), Ccai_amd_verdict_str(v),
                 (unsigned long long)Ccai_amd_position_ms(vc->amd));
        if (final) {
            Ccai_amd_free(vc->amd);
            vc->amd = NULL;
        }
        Ccai_voice_notify(vc, CCAI_EVENT_ANSWERING_MACHINE, Ccai_amd_verdict_str(v));
        v = vc->amd ? Ccai_amd_feed(vc->amd, NULL, 0) : CCAI_AMD_NONE;
    }
}

void Ccai_voice_caller_frame(vcall *vc, int16_t *pcm, size_t n)
{
    uint64_t start = vc->in_base + vc->in_ms;
    int16_t far[960];
    bool have_far = vc->far_len >= n && n <= CCAI_ARRAY_SIZE(far);
    if (have_far) {
        memcpy(far, vc->far, n * sizeof *far);
        memmove(vc->far, vc->far + n, (vc->far_len - n) * sizeof *vc->far);
        vc->far_len -= n;
    } else {
        memset(far, 0, sizeof far);
        vc->far_len = 0;
    }
    int16_t clean[960];
    int16_t *near = pcm;
    if (vc->aec && n == Ccai_echo_canceller_frame(vc->aec)) {
        Ccai_echo_canceller_process(vc->aec, pcm, have_far ? far : NULL, clean);
        near = clean;
    }
    if (vc->wav) {
        int16_t st[1920];
        Ccai_media_interleave(pcm, far, n, st);
        uint8_t bytes[3840];
        Ccai_pcm16le_write(st, 2 * n, bytes);
        if (Ccai_wav_writer_write(vc->wav, bytes, 4 * n) != CCAI_OK && !vc->wav_failed) {
            vc->wav_failed = true; /* said once; the file keeps what it has */
            Ccai_log(&vc->v->log, CCAI_LOG_ERROR, "call %s: the recording %s cannot be written",
                     ccai_call_id(vc->call), vc->wav_path);
        }
    }
    double gate = Ccai_echo_gate_level(vc->gate, start, FRAME_MS);
    vc->frame_at = start;
    pre_push(vc, near, n);
    if (vc->utt_open)
        utt_add(vc, near, n);
    Ccai_vad_process(vc->vad, near, n, gate, on_vad, vc);
    vc->in_ms += FRAME_MS;
    early_check(vc);
    amd_feed(vc, near, n);
}

/* The engine's answer types (speech/grammar.h) as the STT interface's. */
static Ccai_stt_kind stt_kind(Ccai_speech_kind k)
{
    switch (k) {
    case CCAI_SPEECH_YESNO: return CCAI_STT_YESNO;
    case CCAI_SPEECH_DIGITS: return CCAI_STT_DIGITS;
    case CCAI_SPEECH_NUMBER: return CCAI_STT_NUMBER;
    case CCAI_SPEECH_DATE: return CCAI_STT_DATE;
    case CCAI_SPEECH_EMAIL: return CCAI_STT_EMAIL;
    case CCAI_SPEECH_CHOICE: return CCAI_STT_CHOICE;
    case CCAI_SPEECH_FREE: break;
    }
    return CCAI_STT_FREE;
}

/* Tell the recogniser what the caller's next words should be: the
 * offline dialogue's answer type (a grammar beside the free model), or
 * free text with the claim's field names as hints (the LLM holds the
 * call). A provider that cannot take it still hears free text. */
void Ccai_voice_expect_next(vcall *vc, Ccai_stt_kind kind, const char *const *choices, size_t n)
{
    Ccai_stt_expect e = {
        .kind = kind,
        .choices = choices,
        .n_choices = n,
        .hints = kind == CCAI_STT_FREE ? (const char *const *)vc->hints : NULL,
    };
    ccai_status st = Ccai_stt_expect_next(vc->stt, &e);
    vc->expect = st == CCAI_OK ? kind : CCAI_STT_FREE;
    if (st != CCAI_OK)
        Ccai_log(&vc->v->log, CCAI_LOG_DEBUG, "call %s: stt %s: no answer type %d: %s",
                 ccai_call_id(vc->call), vc->stt_prov->name, (int)kind, ccai_status_str(st));
}

int Ccai_voice_op_listen(ccai_call *call, const char *lang, void *ud)
{
    CCAI_UNUSED(call);
    vcall *vc = ud;
    /* The engine listens for the conversation: a menu it offered was
     * answered another way (a key, which the engine maps) or dropped. The
     * caller's next words are the conversation's, not a menu answer. */
    menu_close(vc);
    if (lang && *lang && strcmp(lang, vc->lang) != 0) {
        /* Another language: providers that speak it. */
        snprintf(vc->lang, sizeof vc->lang, "%s", lang);
        if (!vc->utt_open && !vc->utt_ended) {
            Ccai_voice_stt_close(vc);
            Ccai_voice_stt_open(vc, 0);
        }
        if (!vc->q) {
            Ccai_voice_tts_close(vc);
            Ccai_voice_tts_open(vc, 0);
        }
    }
    if (vc->stt && !vc->utt_open && !vc->utt_ended)
        Ccai_voice_expect_next(vc, stt_kind(Ccai_call_expected(vc->call)), NULL, 0);
    return 0;
}

static void menu_close(vcall *vc)
{
    vc->menu_open = false;
    vc->menu_n = vc->menu_n_phrases = 0;
    Ccai_buf_reset(&vc->menu_buf);
}

/* The language menu: said in one voice (menu->text, the call's language),
 * the recogniser told the choices' words (a choice grammar); the answer is
 * a key (CCAI_EVENT_DTMF, which the engine maps) or the words of a choice
 * (menu_answer()). */
int Ccai_voice_op_menu(ccai_call *call, const ccai_menu *menu, void *ud)
{
    CCAI_UNUSED(call);
    vcall *vc = ud;
    if (vc->ended || !menu->text || !*menu->text)
        return -1;
    menu_close(vc);
    /* Offsets first: the buffer may move while it grows. */
    size_t voff[9], poff[27];
    for (size_t k = 0; k < menu->n_choices && vc->menu_n < 9; k++) {
        const ccai_menu_choice *ch = menu->choices[k];
        voff[vc->menu_n] = vc->menu_buf.len;
        if (!Ccai_buf_append(&vc->menu_buf, ch->value, strlen(ch->value) + 1))
            goto nomem;
        for (size_t j = 0; ch->phrases && ch->phrases[j] && vc->menu_n_phrases < 27; j++) {
            poff[vc->menu_n_phrases] = vc->menu_buf.len;
            vc->menu_of[vc->menu_n_phrases++] = vc->menu_n;
            if (!Ccai_buf_append(&vc->menu_buf, ch->phrases[j], strlen(ch->phrases[j]) + 1))
                goto nomem;
        }
        vc->menu_n++;
    }
    for (size_t k = 0; k < vc->menu_n; k++)
        vc->menu_values[k] = vc->menu_buf.data + voff[k];
    for (size_t k = 0; k < vc->menu_n_phrases; k++)
        vc->menu_phrases[k] = vc->menu_buf.data + poff[k];
    if (Ccai_voice_speak(vc, menu->text, menu->lang, menu->voice, menu->rate, CCAI_STYLE_NONE) != 0)
        goto nomem;
    vc->menu_open = true;
    if (vc->stt && !vc->utt_open && !vc->utt_ended)
        Ccai_voice_expect_next(vc, CCAI_STT_CHOICE, vc->menu_phrases, vc->menu_n_phrases);
    return 0;
nomem:
    menu_close(vc);
    return -1;
}

/* The caller's words while the menu is open: the choice whose words they
 * are (the grammar's slot, or a phrase among free words), or none (the
 * engine offers the menu again). */
static void menu_answer(vcall *vc, const char *slot, const char *text)
{
    const char *value = NULL;
    for (size_t k = 0; k < vc->menu_n_phrases && !value; k++) {
        const char *ph = vc->menu_phrases[k];
        if ((slot && strcasecmp(slot, ph) == 0) || (text && *ph && strcasestr(text, ph)))
            value = vc->menu_values[vc->menu_of[k]];
    }
    /* Words that are no choice's go to the engine, which matches them
     * better (folded, synonyms, keys said). */
    if (!value && text && *text)
        value = text;
    char *v = value ? Ccai_strdup(value) : NULL;
    menu_close(vc);
    Ccai_voice_notify(vc, CCAI_EVENT_CHOICE, v);
    ccai_free(v);
}
