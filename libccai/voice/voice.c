/* Audio calls: see voice.h.
 *
 * Size (~1900 lines, over the ~900 of docs/HACKING.md): one file while the
 * audio layer settles (issues 11-12 changed it weekly): the caller side,
 * the bot side, barge-in and the provider chains share one state (vcall:
 * what was said, queued, heard, expected) whose invariants are easier to
 * keep in one place. The seams for the split are drawn: providers and
 * their fallback chains; the bot side (sentences, pacing, marks, what was
 * heard); the caller side (VAD, turn-taking, barge-in, the menu). The
 * split comes with the rest of issue 12 (the ACS media and SIP channels
 * use the session too).
 *
 * One session per audio call:
 *
 *   caller audio (audio_in) -> decode/resample to PCM16 mono (in rate)
 *     -> 20 ms frames: [echo canceller] -> recording (left) -> VAD gated by
 *        the echo gate -> the STT stream (converted to its format), from
 *        a 300 ms pre-roll before the first speech frame of a segment;
 *   VAD SPEECH_END (a turn) -> STT end() -> FINAL -> CCAI_EVENT_SPEECH;
 *   engine say() -> TTS say() -> audio converted to audio_out ->
 *     play_audio (at once, or from the pacer in CCAI_AUDIO_PACED mode)
 *     with a mark after each sentence; the pacer is also the playback
 *     clock of what the caller heard in the other mode, and what it
 *     releases feeds the echo gate, the canceller and the recording
 *     (right channel);
 *   VAD SPEECH_START while the bot talks (barge-in) -> clear_audio, the
 *     pacer cleared, TTS cancelled; the sentences not heard whole are held:
 *     words from STT confirm it (the engine gets them: its turn is
 *     cancelled, and the stored sentences are cut to what was heard), a
 *     segment without words (a cough, "mm") resumes the sentence that was
 *     cut, from its start.
 * Fallback: an STT ERROR or a TTS done that failed closes the provider and
 * opens the next of the chain (speech.stt.providers, speech.tts.providers;
 * the offline ones end them), which gets the utterance's audio again / the
 * sentence's text. */
#include "voice/voice.h"

#include "config/config.h"
#include "io/io.h"
#include "media/echo.h"
#include "media/pacer.h"
#include "media/resample.h"
#include "media/vad.h"
#include "media/wav.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_CHAIN       8
#define MAX_EXTRA       8
#define FRAME_MS        20
#define PREROLL_MS      300
#define MAX_UTT_MS      30000
#define MAX_IN_MS       1000 /* one ccai_call_audio_in() at most */
#define MAX_FAR_MS      2000 /* bot audio waiting to meet caller audio */
#define AEC_TAIL_MS     200
#define MARK_PREFIX     "ccai-s"
#define TEXT_MS_PER_CHR 60    /* a sentence's length guessed from its text */
#define AFTER_MAX_MS    30000 /* a hang-up waits this long at most for the last words */

typedef struct chain {
    const char *names[MAX_CHAIN];
    size_t n;
} chain;

struct Ccai_voice {
    ccai_ctx *ctx;
    const ccai_config *cfg;
    Ccai_logger log;
    Ccai_metrics *metrics;
    Ccai_engine *engine;
    chain stt, tts;
    char *names_buf; /* the chains' names */
    const Ccai_stt_provider *extra_stt[MAX_EXTRA];
    const Ccai_tts_provider *extra_tts[MAX_EXTRA];
    size_t n_extra_stt, n_extra_tts;
    Ccai_vad_params vad;
    uint32_t result_timeout_ms; /* end() -> FINAL at most */
    bool record;
    char *record_dir;
};

typedef struct sentence {
    struct sentence *next;
    char *text;
    char *lang, *voice;
    double rate;
    ccai_style style;
    uint32_t tts_id;
    unsigned tts_gen;  /* the TTS stream it was given to */
    bool sent;         /* given to the TTS stream */
    bool done;         /* all its audio delivered */
    bool started;      /* some audio released */
    uint64_t start_ms; /* output position (since the last clear) of its audio */
    uint64_t audio_ms; /* audio delivered */
    uint64_t said_at;  /* given to the TTS stream, until its first audio (0: came) */
    uint32_t seq;      /* its mark's number */
} sentence;

typedef struct vcall {
    Ccai_voice *v;
    ccai_ctx *ctx;
    ccai_call *call;
    ccai_call_ops host;
    void *host_ud;
    Ccai_media_format in, out, mono; /* mono: PCM16 1 channel at in's rate */
    uint32_t flags;
    bool paced;
    bool ended;

    /* Caller side. */
    Ccai_media_converter *in_conv;
    Ccai_vad *vad;
    Ccai_echo_gate *gate;
    Ccai_echo_canceller *aec;
    int16_t *frame; /* a 20 ms frame being filled */
    size_t frame_n, frame_cap;
    int16_t *pre; /* pre-roll ring */
    size_t pre_cap, pre_pos, pre_len;
    uint8_t *conv_buf;
    size_t conv_cap;
    uint64_t in_ms; /* caller audio so far (the context's clock at its start) */
    uint64_t in_base;
    uint64_t frame_at; /* the context's clock at the frame the VAD analyses */

    /* The utterance. */
    bool utt_open, utt_ended;
    Ccai_buf utt; /* PCM16 mono, for a fallback to the next provider */
    uint64_t utt_last_speech;
    uint64_t end_sent_at;    /* end() sent (context clock) */
    Ccai_timer result_timer; /* end() without its FINAL in time */
    uint64_t speech_end_at;  /* the caller stopped: answer latency from here */
    bool answer_pending;

    /* STT. */
    Ccai_stt_kind expect; /* what the next utterance was expected to be */
    char *hint_buf;       /* the claim's field names as words */
    const char **hints;   /* into hint_buf, NULL-terminated */
    size_t stt_idx;
    Ccai_stt *stt;
    const Ccai_stt_provider *stt_prov;
    Ccai_media_converter *stt_conv;
    char lang[32];

    /* TTS and playout. */
    size_t tts_idx;
    Ccai_tts *tts;
    const Ccai_tts_provider *tts_prov;
    unsigned tts_gen;
    Ccai_media_converter *out_conv;
    Ccai_media_converter *far_conv; /* audio_out -> mono, for the gate/AEC/recording */
    sentence *q, **q_tail;          /* said, not heard whole yet */
    uint32_t next_seq;
    Ccai_pacer *pacer;
    Ccai_timer pace_timer;
    /* The engine's hang-up or transfer, held until the caller has heard
     * what the bot said before it (its goodbye, the transfer's
     * announcement): the host acts on the call after the last words. */
    enum { AFTER_NONE, AFTER_HANGUP, AFTER_TRANSFER } after;
    char after_number[64];
    Ccai_timer after_timer;
    uint64_t out_pos_ms; /* audio released to the pacer since the last clear */
    int16_t *pcm;        /* the caller's audio of one ccai_call_audio_in() */
    size_t pcm_cap;
    int16_t *pre_tmp; /* the pre-roll in order */
    int16_t *far;     /* bot audio as played, waiting for caller audio */
    size_t far_len, far_cap;
    bool engine_speaking; /* the engine said something not reported done */

    /* Barge-in. */
    bool barged;
    sentence *held; /* cut sentences, with what was heard of each */
    struct heard {
        uint64_t heard_ms, total_ms;
    } * held_heard;
    size_t n_held;

    /* The language menu offered (ops.menu): each phrase's choice. */
    bool menu_open;
    Ccai_buf menu_buf;          /* the values and phrases, NUL-separated */
    const char *menu_values[9]; /* into menu_buf */
    const char *menu_phrases[27];
    size_t menu_of[27]; /* a phrase's choice */
    size_t menu_n, menu_n_phrases;

    /* Recording. */
    Ccai_wav_writer *wav;
    char *wav_path;
    bool wav_failed; /* a write failed (logged once) */

} vcall;

/* Configuration ----------------------------------------------------------- */

static ccai_status read_chain(Ccai_voice *v, const char *key, const char *def, chain *ch,
                              Ccai_buf *names)
{
    const json_t *list = Ccai_config_json(v->cfg, key);
    const char *one[1] = {def};
    size_t n = 0;
    const char *items[MAX_CHAIN];
    if (json_is_string(list)) {
        items[n++] = json_string_value(list);
    } else if (json_is_array(list) && json_array_size(list) > 0) {
        size_t i;
        const json_t *it;
        json_array_foreach(list, i, it)
        {
            if (json_is_string(it) && n < MAX_CHAIN)
                items[n++] = json_string_value(it);
        }
    } else {
        items[n++] = one[0];
    }
    ch->n = 0;
    for (size_t i = 0; i < n; i++) {
        size_t off = names->len;
        if (!Ccai_buf_append(names, items[i], strlen(items[i]) + 1))
            return CCAI_ERR_NOMEM;
        ch->names[ch->n++] = (const char *)(uintptr_t)off; /* fixed up below */
    }
    return CCAI_OK;
}

ccai_status Ccai_voice_new(const Ccai_voice_env *env, Ccai_voice **ret, char **ret_errmsg)
{
    Ccai_voice *v = Ccai_calloc(1, sizeof *v);
    if (!v)
        return CCAI_ERR_NOMEM;
    v->ctx = env->ctx;
    v->cfg = env->cfg;
    v->log = *env->log;
    v->metrics = env->metrics;
    v->engine = env->engine;
    Ccai_buf names = {0};
    ccai_status st = read_chain(v, "speech.stt.providers", "sphinx", &v->stt, &names);
    if (st == CCAI_OK)
        st = read_chain(v, "speech.tts.providers", "flite", &v->tts, &names);
    if (st != CCAI_OK) {
        Ccai_buf_free(&names);
        ccai_free(v);
        return st;
    }
    v->names_buf = names.data;
    for (size_t i = 0; i < v->stt.n; i++)
        v->stt.names[i] = v->names_buf + (uintptr_t)v->stt.names[i];
    for (size_t i = 0; i < v->tts.n; i++)
        v->tts.names[i] = v->names_buf + (uintptr_t)v->tts.names[i];
    Ccai_vad_params_default(&v->vad);
    v->vad.threshold = Ccai_config_double(v->cfg, "speech.vad_threshold", v->vad.threshold);
    v->vad.silence_timeout_ms = (uint32_t)Ccai_config_int(v->cfg, "speech.vad_silence_timeout_ms",
                                                          v->vad.silence_timeout_ms);
    v->vad.cutoff_timeout_ms =
        (uint32_t)Ccai_config_int(v->cfg, "speech.vad_cutoff_timeout_ms", v->vad.cutoff_timeout_ms);
    v->vad.min_speech_ms =
        (uint32_t)Ccai_config_int(v->cfg, "speech.vad_min_speech_ms", v->vad.min_speech_ms);
    v->vad.denoise = Ccai_config_bool(v->cfg, "speech.vad_denoise", v->vad.denoise);
    v->vad.agc = Ccai_config_bool(v->cfg, "speech.vad_agc", v->vad.agc);
    v->result_timeout_ms = (uint32_t)Ccai_config_int(v->cfg, "speech.stt_result_timeout_ms", 5000);
    v->record = Ccai_config_bool(v->cfg, "conversation.recording_enabled", false);
    const char *dir = Ccai_config_str(v->cfg, "speech.recording_dir");
    if (dir && *dir && !(v->record_dir = Ccai_strdup(dir))) {
        Ccai_voice_free(v);
        return CCAI_ERR_NOMEM;
    }
    static const double lat_buckets[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10};
    static const struct {
        const char *name, *help;
    } fams[] = {
        {"ccai_voice_answer_seconds",
         "Audio calls: end of the caller's speech to the first audio of the answer, by TTS "
         "provider"},
        {"ccai_voice_cutoff_seconds",
         "Audio calls: the caller's speech onset to the bot's audio cleared (barge-in), by TTS "
         "provider"},
        {"ccai_voice_stt_final_seconds",
         "Audio calls: end of the utterance to the recogniser's final words, by STT provider"},
        {"ccai_voice_tts_first_byte_seconds",
         "Audio calls: a sentence given to the synthesiser to its first audio, by TTS provider"},
    };
    for (size_t i = 0; v->metrics && i < CCAI_ARRAY_SIZE(fams); i++) {
        st = Ccai_metrics_register(v->metrics, fams[i].name, CCAI_METRIC_HISTOGRAM, fams[i].help,
                                   lat_buckets, CCAI_ARRAY_SIZE(lat_buckets));
        if (st != CCAI_OK) {
            Ccai_voice_free(v);
            return st;
        }
    }
    *ret = v;
    return CCAI_OK;
}

void Ccai_voice_free(Ccai_voice *v)
{
    if (!v)
        return;
    ccai_free(v->names_buf);
    ccai_free(v->record_dir);
    ccai_free(v);
}

ccai_status Ccai_voice_add_stt(Ccai_voice *v, const Ccai_stt_provider *p)
{
    if (v->n_extra_stt >= MAX_EXTRA)
        return CCAI_ERR_LIMIT;
    v->extra_stt[v->n_extra_stt++] = p;
    return CCAI_OK;
}

ccai_status Ccai_voice_add_tts(Ccai_voice *v, const Ccai_tts_provider *p)
{
    if (v->n_extra_tts >= MAX_EXTRA)
        return CCAI_ERR_LIMIT;
    v->extra_tts[v->n_extra_tts++] = p;
    return CCAI_OK;
}

static const Ccai_stt_provider *find_stt(const Ccai_voice *v, const char *name)
{
    for (size_t i = 0; i < v->n_extra_stt; i++) {
        if (strcmp(v->extra_stt[i]->name, name) == 0)
            return v->extra_stt[i];
    }
    return Ccai_stt_provider_find(name);
}

static const Ccai_tts_provider *find_tts(const Ccai_voice *v, const char *name)
{
    for (size_t i = 0; i < v->n_extra_tts; i++) {
        if (strcmp(v->extra_tts[i]->name, name) == 0)
            return v->extra_tts[i];
    }
    return Ccai_tts_provider_find(name);
}

static const char *cfg_str(const Ccai_voice *v, const char *kind, const char *name,
                           const char *field)
{
    char key[128];
    snprintf(key, sizeof key, "speech.%s.%s.%s", kind, name, field);
    return Ccai_config_str(v->cfg, key);
}

/* Helpers ----------------------------------------------------------------- */

static void metric(vcall *vc, const char *fam, const char *provider, uint64_t ms)
{
    if (!vc->v->metrics)
        return;
    char labels[96];
    snprintf(labels, sizeof labels, "provider=\"%s\"", provider ? provider : "none");
    /* A sample lost to memory pressure: nothing depends on it. */
    CCAI_DISCARD(Ccai_metrics_histogram_observe(vc->v->metrics, fam, labels, (double)ms / 1000.0));
}

static uint64_t now_ms(const vcall *vc)
{
    return Ccai_ctx_now(vc->ctx);
}

static Ccai_media_format media_fmt(const ccai_audio_format *f)
{
    return (Ccai_media_format){(Ccai_media_encoding)f->encoding, f->sample_rate, f->channels};
}

/* The first n_words * heard / total words of text (whole words); "" for
 * none. */
static char *heard_words(const char *text, uint64_t heard_ms, uint64_t total_ms)
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

static void sentence_free(sentence *s)
{
    if (!s)
        return;
    ccai_free(s->text);
    ccai_free(s->lang);
    ccai_free(s->voice);
    ccai_free(s);
}

/* An event from the voice layer to the engine; a refusal is logged (the
 * call has ended, or memory ran out: nothing else to do with it). */
static void notify(vcall *vc, ccai_event_type type, const char *detail)
{
    ccai_status st = ccai_call_notify(vc->call, type, detail);
    if (st != CCAI_OK && st != CCAI_ERR_STATE)
        Ccai_log(&vc->v->log, CCAI_LOG_WARN, "call %s: event %s refused: %s",
                 ccai_call_id(vc->call), ccai_event_type_str(type), ccai_status_str(st));
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

/* Providers: opening, with the fallback chain ------------------------------ */

static void on_stt(Ccai_stt *s, const Ccai_stt_result *r, void *ud);
static void expect_next(vcall *vc, Ccai_stt_kind kind, const char *const *choices, size_t n);
static void menu_answer(vcall *vc, const char *slot, const char *text);
static void end_utterance(vcall *vc);
static void on_tts_audio(Ccai_tts *t, uint32_t id, const uint8_t *audio, size_t len, void *ud);
static void on_tts_done(Ccai_tts *t, const Ccai_tts_done *d, void *ud);

/* Open the first STT provider of the chain from index from that speaks the
 * call's language. */
static ccai_status stt_open_from(vcall *vc, size_t from)
{
    Ccai_voice *v = vc->v;
    ccai_status st = CCAI_ERR_CONFIG;
    for (size_t i = from; i < v->stt.n; i++) {
        const char *name = v->stt.names[i];
        const Ccai_stt_provider *p = find_stt(v, name);
        Ccai_stt_config cfg = {
            .endpoint = cfg_str(v, "stt", name, "endpoint"),
            .api_key = cfg_str(v, "stt", name, "api_key"),
            .region = cfg_str(v, "stt", name, "region"),
            .model = cfg_str(v, "stt", name, "model"),
            .options = cfg_str(v, "stt", name, "options"),
        };
        if (!p || (p->speaks && !p->speaks(&cfg, vc->lang))) {
            Ccai_log(&v->log, p ? CCAI_LOG_DEBUG : CCAI_LOG_WARN, "call %s: stt %s: %s",
                     ccai_call_id(vc->call), name,
                     p ? "does not hear the call's language" : "no such provider in this build");
            continue;
        }
        /* The call's own encoding: a provider that takes it as it is
         * (G.711 for Deepgram, OpenAI Realtime) gets the frames encoded
         * back to it, half the bytes of PCM16. */
        Ccai_stt_open o = {vc->lang, {vc->in.encoding, vc->in.rate, 1}, &v->log, on_stt, vc};
        Ccai_stt *s = NULL;
        st = p->open(vc->ctx, &cfg, &o, &s);
        if (st != CCAI_OK) {
            Ccai_log(&v->log, CCAI_LOG_WARN, "call %s: stt %s: %s: %s", ccai_call_id(vc->call),
                     name, ccai_status_str(st), Ccai_ctx_error(vc->ctx));
            continue;
        }
        Ccai_media_converter *conv = NULL;
        if (!Ccai_media_format_equal(&vc->mono, &s->in) &&
            Ccai_media_converter_new(&vc->mono, &s->in, CCAI_RESAMPLE_QUALITY_DEFAULT, &conv) !=
                CCAI_OK) {
            p->close(s);
            st = CCAI_ERR_NOMEM;
            continue;
        }
        vc->stt = s;
        vc->stt_prov = p;
        vc->stt_idx = i;
        vc->stt_conv = conv;
        return CCAI_OK;
    }
    return st;
}

static void stt_close(vcall *vc)
{
    Ccai_stt_close(vc->stt);
    vc->stt = NULL;
    Ccai_media_converter_free(vc->stt_conv);
    vc->stt_conv = NULL;
}

static ccai_status tts_open_from(vcall *vc, size_t from)
{
    Ccai_voice *v = vc->v;
    ccai_status st = CCAI_ERR_CONFIG;
    for (size_t i = from; i < v->tts.n; i++) {
        const char *name = v->tts.names[i];
        const Ccai_tts_provider *p = find_tts(v, name);
        Ccai_tts_config cfg = {
            .endpoint = cfg_str(v, "tts", name, "endpoint"),
            .api_key = cfg_str(v, "tts", name, "api_key"),
            .region = cfg_str(v, "tts", name, "region"),
            .model = cfg_str(v, "tts", name, "model"),
            .voice = cfg_str(v, "tts", name, "voice"),
            .options = cfg_str(v, "tts", name, "options"),
        };
        /* A cloud voice without its key says no to every language: a
         * setting missing, not a language. */
        bool no_key = p && !(p->caps & CCAI_TTS_LOCAL) && (!cfg.api_key || !*cfg.api_key);
        if (!p || (p->speaks && !p->speaks(&cfg, vc->lang))) {
            Ccai_log(&v->log, p && !no_key ? CCAI_LOG_DEBUG : CCAI_LOG_WARN,
                     "call %s: tts %s: %s%s%s", ccai_call_id(vc->call), name,
                     !p       ? "no such provider in this build"
                     : no_key ? "skipped: speech.tts."
                              : "does not speak the call's language",
                     no_key ? name : "", no_key ? ".api_key is not set" : "");
            continue;
        }
        Ccai_tts_open o = {vc->lang, vc->out, &v->log, on_tts_audio, on_tts_done, vc};
        Ccai_tts *t = NULL;
        st = p->open(vc->ctx, &cfg, &o, &t);
        if (st != CCAI_OK) {
            Ccai_log(&v->log, CCAI_LOG_WARN, "call %s: tts %s: %s: %s", ccai_call_id(vc->call),
                     name, ccai_status_str(st), Ccai_ctx_error(vc->ctx));
            continue;
        }
        Ccai_media_converter *conv = NULL;
        if (!Ccai_media_format_equal(&t->out, &vc->out) &&
            Ccai_media_converter_new(&t->out, &vc->out, CCAI_RESAMPLE_QUALITY_DEFAULT, &conv) !=
                CCAI_OK) {
            p->close(t);
            st = CCAI_ERR_NOMEM;
            continue;
        }
        vc->tts = t;
        vc->tts_prov = p;
        vc->tts_idx = i;
        vc->tts_gen++;
        vc->out_conv = conv;
        return CCAI_OK;
    }
    return st;
}

static void tts_close(vcall *vc)
{
    Ccai_tts_close(vc->tts);
    vc->tts = NULL;
    Ccai_media_converter_free(vc->out_conv);
    vc->out_conv = NULL;
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

static void say_done_check(vcall *vc);
static void after_run(vcall *vc);

/* The sentence of mark seq was heard whole. */
static void heard_through(vcall *vc, uint32_t seq)
{
    while (vc->q && (int32_t)(vc->q->seq - seq) <= 0 && vc->q->done) {
        sentence *s = vc->q;
        vc->q = s->next;
        if (!vc->q)
            vc->q_tail = &vc->q;
        sentence_free(s);
    }
    if (!vc->q)
        after_run(vc);
    say_done_check(vc);
}

static bool mark_seq(const char *name, uint32_t *ret)
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
        metric(vc, "ccai_voice_answer_seconds", vc->tts_prov ? vc->tts_prov->name : NULL,
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

static void on_pace(Ccai_timer *t, void *ud)
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
            if ((vc->paced || !vc->host.mark) && mark_seq(it.mark, &seq))
                heard_through(vc, seq);
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

static ccai_status tts_send(vcall *vc, sentence *s, const char *text)
{
    if (!vc->tts)
        return CCAI_ERR_STATE;
    /* The language's voice is an Azure voice name: another provider would
     * refuse it (ElevenLabs: 404, the sentence lost to the fallback). */
    const char *voice = vc->tts_prov->caps & CCAI_TTS_LANG_VOICE ? s->voice : NULL;
    Ccai_tts_text t = {text, false, s->lang, voice, NULL, s->rate};
    ccai_status st = Ccai_tts_say(vc->tts, &t, &s->tts_id);
    if (st == CCAI_OK) {
        s->sent = true;
        s->tts_gen = vc->tts_gen;
        s->said_at = now_ms(vc);
    }
    return st;
}

/* The TTS stream failed: the next provider of the chain speaks what is
 * left (the sentence that failed from the words not delivered yet, and
 * every sentence after it). */
static void tts_fallback(vcall *vc, const char *why)
{
    Ccai_log(&vc->v->log, CCAI_LOG_WARN, "call %s: tts %s failed (%s): falling back",
             ccai_call_id(vc->call), vc->tts_prov ? vc->tts_prov->name : "?", why);
    size_t next = vc->tts_idx + 1;
    tts_close(vc);
    if (tts_open_from(vc, next) != CCAI_OK) {
        Ccai_log(&vc->v->log, CCAI_LOG_ERROR, "call %s: no speech synthesiser left",
                 ccai_call_id(vc->call));
        notify(vc, CCAI_EVENT_SAY_FAILED, "no speech synthesiser left");
        return;
    }
    for (sentence *s = vc->q; s; s = s->next) {
        if (s->done)
            continue;
        /* What was delivered of it was heard (or is being): the rest. */
        char *rest = NULL;
        if (s->audio_ms) {
            uint64_t guess = strlen(s->text) * TEXT_MS_PER_CHR;
            char *said = heard_words(s->text, s->audio_ms, guess > s->audio_ms ? guess : 0);
            rest = Ccai_strdup(said ? s->text + strlen(said) : s->text);
            ccai_free(said);
        }
        const char *text = rest ? rest : s->text;
        while (*text == ' ')
            text++;
        if (!*text) {
            s->done = true;
            ccai_free(rest);
            continue;
        }
        tts_send(vc, s, text);
        ccai_free(rest);
    }
}

static void on_tts_audio(Ccai_tts *t, uint32_t id, const uint8_t *audio, size_t len, void *ud)
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
        metric(vc, "ccai_voice_tts_first_byte_seconds", vc->tts_prov->name,
               now_ms(vc) - s->said_at);
        s->said_at = 0;
    }
    ccai_call *call = vc->call;
    Ccai_call_enter(call);
    out_audio(vc, s, audio, len);
    Ccai_call_leave(call);
}

static void on_tts_done(Ccai_tts *t, const Ccai_tts_done *d, void *ud)
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
        tts_fallback(vc, d->errmsg ? d->errmsg : ccai_status_str(d->status));
        Ccai_call_leave(call);
        return;
    }
    s->done = true;
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
static void say_done_check(vcall *vc)
{
    if (vc->q || vc->barged || !vc->engine_speaking || vc->ended)
        return;
    vc->engine_speaking = false;
    notify(vc, CCAI_EVENT_SAY_DONE, NULL);
}

/* Barge-in -------------------------------------------------------------------- */

/* Stop the bot's audio at once: the host's buffer, the pacer, the TTS.
 * The sentences not heard whole move to the held list with what was heard
 * of each. */
static void cut(vcall *vc)
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
    after_run(vc); /* nothing left to hear */
}

static void held_drop(vcall *vc)
{
    while (vc->held) {
        sentence *s = vc->held;
        vc->held = s->next;
        sentence_free(s);
    }
    vc->n_held = 0;
}

/* The caller's words confirm the interruption: the stored sentences are
 * cut to what the caller heard (newest first, so the order stays). */
static void barge_confirm(vcall *vc)
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
        char *said = heard_words(s->text, h.heard_ms, h.total_ms ? h.total_ms : 1);
        if (said && strcmp(said, s->text) != 0) {
            ccai_status st = Ccai_call_said_heard(vc->call, s->text, said);
            if (st != CCAI_OK && st != CCAI_ERR_NOT_FOUND)
                Ccai_log(&vc->v->log, CCAI_LOG_WARN,
                         "call %s: cannot store what the caller heard: %s", ccai_call_id(vc->call),
                         ccai_status_str(st));
        }
        ccai_free(said);
    }
    held_drop(vc);
}

/* No words came of it (a cough, "mm-hmm"): the bot takes up the sentence
 * that was cut, from its start, and what followed it. */
static void barge_resume(vcall *vc)
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
        if (!s->sent && tts_send(vc, s, s->text) != CCAI_OK)
            s->done = true;
    }
    say_done_check(vc);
}

static void barge_in(vcall *vc, const Ccai_vad_event *ev)
{
    uint64_t t0 = now_ms(vc);
    vc->barged = true;
    cut(vc);
    uint64_t t1 = now_ms(vc);
    /* Onset to the decision is the cut-off window of the VAD (stream
     * time); the decision to the clear, ours. */
    metric(vc, "ccai_voice_cutoff_seconds", vc->tts_prov ? vc->tts_prov->name : NULL,
           (ev->at_ms - ev->onset_ms) + (t1 - t0));
    Ccai_log(&vc->v->log, CCAI_LOG_DEBUG, "call %s: barge-in (%u ms of speech)",
             ccai_call_id(vc->call), (unsigned)(ev->at_ms - ev->onset_ms));
}

/* The bot talks: audio queued or not heard yet. */
static bool bot_talking(const vcall *vc)
{
    return vc->q != NULL || Ccai_pacer_queued_ms(vc->pacer) > 0;
}

/* STT ------------------------------------------------------------------------------ */

static void stt_feed_pcm(vcall *vc, const int16_t *pcm, size_t n)
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

static void stt_fallback(vcall *vc, const char *why)
{
    Ccai_log(&vc->v->log, CCAI_LOG_WARN, "call %s: stt %s failed (%s): falling back",
             ccai_call_id(vc->call), vc->stt_prov ? vc->stt_prov->name : "?", why);
    size_t next = vc->stt_idx + 1;
    stt_close(vc);
    if (stt_open_from(vc, next) != CCAI_OK) {
        Ccai_log(&vc->v->log, CCAI_LOG_ERROR, "call %s: no speech recogniser left",
                 ccai_call_id(vc->call));
        if (vc->utt_ended)
            notify(vc, CCAI_EVENT_NOT_UNDERSTOOD, "no speech recogniser left");
        vc->utt_open = vc->utt_ended = false;
        return;
    }
    /* The answer type, and the utterance in progress again, to the new
     * recogniser. */
    if (vc->expect != CCAI_STT_FREE)
        expect_next(vc, vc->expect, NULL, 0);
    if (vc->utt_open || vc->utt_ended) {
        stt_feed_pcm(vc, (const int16_t *)(const void *)vc->utt.data, vc->utt.len / 2);
        if (vc->utt_ended)
            end_utterance(vc);
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

static void on_stt(Ccai_stt *s, const Ccai_stt_result *r, void *ud)
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
            barge_confirm(vc);
            event_speech(vc, r->text, false, -1);
        }
        break;
    case CCAI_STT_FINAL: {
        bool mine = vc->utt_ended;
        Ccai_timer_stop(vc->ctx, &vc->result_timer);
        uint64_t now = now_ms(vc);
        /* The provider's own end of utterance (Deepgram's endpointing, the
         * Realtime server VAD) comes before the voice layer's: timed from
         * the end of the caller's last voiced frame. */
        uint64_t spoke_to = vc->in_base + vc->utt_last_speech + FRAME_MS;
        bool theirs = !mine && vc->utt_open && spoke_to <= now;
        if (mine || theirs)
            metric(vc, "ccai_voice_stt_final_seconds", vc->stt_prov->name,
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
            barge_confirm(vc);
            menu_answer(vc, r->slot, r->text);
            break;
        }
        if (!text || !*text) {
            barge_resume(vc);
            break;
        }
        barge_confirm(vc);
        if (!mine)
            vc->speech_end_at = theirs ? spoke_to : now;
        vc->answer_pending = true;
        event_speech(vc, text, true, r->confidence);
        break;
    }
    case CCAI_STT_SPEECH_STARTED: break;
    case CCAI_STT_ERROR:
        Ccai_timer_stop(vc->ctx, &vc->result_timer);
        stt_fallback(vc, r->errmsg ? r->errmsg : ccai_status_str(r->status));
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
    stt_feed_pcm(vc, pcm, n);
}

/* Open the utterance with the pre-roll (which holds the frame that opened
 * it). */
static void utt_open(vcall *vc)
{
    if (!vc->stt)
        return;
    vc->utt_open = true;
    Ccai_buf_reset(&vc->utt);
    size_t n = vc->pre_len, start = (vc->pre_pos + vc->pre_cap - n) % vc->pre_cap;
    for (size_t i = 0; i < n; i++)
        vc->pre_tmp[i] = vc->pre[(start + i) % vc->pre_cap];
    utt_add(vc, vc->pre_tmp, n);
}

/* end() to the recogniser, its FINAL awaited at most result_timeout_ms. */
static void end_utterance(vcall *vc)
{
    if (Ccai_stt_end(vc->stt) != CCAI_OK) {
        stt_fallback(vc, "end refused");
        return;
    }
    Ccai_timer_start(vc->ctx, &vc->result_timer, vc->v->result_timeout_ms);
}

/* No FINAL in time: the next recogniser of the chain hears the utterance;
 * with none left the current one drops it and the caller was not
 * understood (the engine asks again): never a hang. */
static void on_result_timeout(Ccai_timer *t, void *ud)
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
        stt_fallback(vc, "no result in time");
    } else {
        Ccai_stt_cancel(vc->stt);
        vc->utt_ended = false;
        Ccai_buf_reset(&vc->utt);
        barge_resume(vc);
        notify(vc, CCAI_EVENT_NOT_UNDERSTOOD, "the recogniser gave no words in time");
    }
    Ccai_call_leave(call);
}

static void on_vad(const Ccai_vad_frame *fr, const Ccai_vad_event *ev, void *ud)
{
    vcall *vc = ud;
    /* The line while the caller is silent measures the echo path. */
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
        }
        return;
    }
    if (ev->kind == CCAI_VAD_SPEECH_START) {
        if (bot_talking(vc) && !vc->barged)
            barge_in(vc, ev);
        return;
    }
    /* SPEECH_END */
    if (!vc->utt_open)
        return;
    vc->utt_open = false;
    if (!ev->turn || !vc->stt) {
        if (vc->stt)
            Ccai_stt_cancel(vc->stt);
        Ccai_buf_reset(&vc->utt);
        barge_resume(vc);
        return;
    }
    vc->utt_ended = true;
    vc->end_sent_at = now_ms(vc);
    vc->speech_end_at = vc->end_sent_at;
    end_utterance(vc);
}

/* One 20 ms frame of the caller (mono PCM16 at the call's rate). */
static void caller_frame(vcall *vc, int16_t *pcm, size_t n)
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
}

/* The session's ops for the engine ------------------------------------------- */

/* A sentence to speak: queued for the synthesiser, or held while the
 * caller may be interrupting. -1 when out of memory. */
static int speak(vcall *vc, const char *text, const char *lang, const char *voice, double rate,
                 ccai_style style)
{
    if (vc->ended)
        return -1;
    sentence *s = Ccai_calloc(1, sizeof *s);
    if (!s || !(s->text = Ccai_strdup(text)) || (lang && !(s->lang = Ccai_strdup(lang))) ||
        (voice && !(s->voice = Ccai_strdup(voice)))) {
        sentence_free(s);
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
    if (tts_send(vc, s, s->text) != CCAI_OK)
        tts_fallback(vc, "refused the sentence");
    return 0;
}

static int op_say(ccai_call *call, const ccai_speech *sp, void *ud)
{
    CCAI_UNUSED(call);
    vcall *vc = ud;
    int rc = speak(vc, sp->text, sp->lang, sp->voice, sp->rate, sp->style);
    if (rc == 0)
        vc->engine_speaking = true;
    return rc;
}

static int op_stop_speaking(ccai_call *call, void *ud)
{
    CCAI_UNUSED(call);
    vcall *vc = ud;
    /* The engine drops its answer (the caller's words, a key): what was
     * not heard is not stored as said. */
    if (!vc->barged && bot_talking(vc)) {
        vc->barged = true;
        cut(vc);
    }
    barge_confirm(vc);
    vc->engine_speaking = false;
    return 0;
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
static void expect_next(vcall *vc, Ccai_stt_kind kind, const char *const *choices, size_t n)
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

static int op_listen(ccai_call *call, const char *lang, void *ud)
{
    CCAI_UNUSED(call);
    vcall *vc = ud;
    if (lang && *lang && strcmp(lang, vc->lang) != 0) {
        /* Another language: providers that speak it. */
        snprintf(vc->lang, sizeof vc->lang, "%s", lang);
        if (!vc->utt_open && !vc->utt_ended) {
            stt_close(vc);
            stt_open_from(vc, 0);
        }
        if (!vc->q) {
            tts_close(vc);
            tts_open_from(vc, 0);
        }
    }
    if (vc->stt && !vc->utt_open && !vc->utt_ended)
        expect_next(vc, stt_kind(Ccai_call_expected(vc->call)), NULL, 0);
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
static int op_menu(ccai_call *call, const ccai_menu *menu, void *ud)
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
    if (speak(vc, menu->text, menu->lang, menu->voice, menu->rate, CCAI_STYLE_NONE) != 0)
        goto nomem;
    vc->menu_open = true;
    if (vc->stt && !vc->utt_open && !vc->utt_ended)
        expect_next(vc, CCAI_STT_CHOICE, vc->menu_phrases, vc->menu_n_phrases);
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
    char *v = value ? Ccai_strdup(value) : NULL;
    menu_close(vc);
    notify(vc, CCAI_EVENT_CHOICE, v);
    ccai_free(v);
}

/* What waited for the last words, now (the bot's audio was heard, was
 * cut, or did not come within AFTER_MAX_MS). */
static void after_run(vcall *vc)
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
        notify(vc, CCAI_EVENT_TRANSFER_FAILED, "the channel cannot transfer");
}

static void on_after_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    vcall *vc = ud;
    ccai_call *call = vc->call;
    Ccai_call_enter(call);
    Ccai_log(&vc->v->log, CCAI_LOG_WARN,
             "call %s: the bot's last words were not heard within %d s: acting now",
             ccai_call_id(vc->call), AFTER_MAX_MS / 1000);
    after_run(vc);
    Ccai_call_leave(call);
}

/* At once when nothing the bot said waits to be heard; else once it was. */
static int after_words(vcall *vc, int what, const char *number)
{
    if (!bot_talking(vc) || vc->barged)
        return what == AFTER_HANGUP ? vc->host.hangup(vc->call, vc->host_ud)
                                    : vc->host.transfer(vc->call, number, vc->host_ud);
    vc->after = what;
    if (number)
        snprintf(vc->after_number, sizeof vc->after_number, "%s", number);
    Ccai_timer_start(vc->ctx, &vc->after_timer, AFTER_MAX_MS);
    return 0;
}

static int op_transfer(ccai_call *call, const char *number, void *ud)
{
    CCAI_UNUSED(call);
    vcall *vc = ud;
    if (!vc->host.transfer || !number || strlen(number) >= sizeof vc->after_number)
        return -1;
    return after_words(vc, AFTER_TRANSFER, number);
}

static int op_hangup(ccai_call *call, void *ud)
{
    CCAI_UNUSED(call);
    vcall *vc = ud;
    if (!vc->host.hangup)
        return -1;
    return after_words(vc, AFTER_HANGUP, NULL);
}

static int op_sms(ccai_call *call, const char *to, const char *text, void *ud)
{
    vcall *vc = ud;
    return vc->host.send_sms ? vc->host.send_sms(call, to, text, vc->host_ud) : -1;
}

static int op_record(ccai_call *call, int start, void *ud)
{
    vcall *vc = ud;
    return vc->host.record ? vc->host.record(call, start, vc->host_ud) : -1;
}

static void session_stop(vcall *vc);

static void op_state_changed(ccai_call *call, ccai_call_state old_state, ccai_call_state new_state,
                             void *ud)
{
    vcall *vc = ud;
    if (new_state >= CCAI_CALL_ENDED && !vc->ended)
        session_stop(vc);
    if (vc->host.state_changed)
        vc->host.state_changed(call, old_state, new_state, vc->host_ud);
}

static const ccai_call_ops session_ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .say = op_say,
    .stop_speaking = op_stop_speaking,
    .listen = op_listen,
    .menu = op_menu,
    .transfer = op_transfer,
    .hangup = op_hangup,
    .send_sms = op_sms,
    .record = op_record,
    .state_changed = op_state_changed,
};

/* The session ------------------------------------------------------------------ */

/* The call ended: providers closed, the recording finished and its path
 * stored on the call. */
static void session_stop(vcall *vc)
{
    vc->ended = true;
    stt_close(vc);
    tts_close(vc);
    Ccai_timer_stop(vc->ctx, &vc->pace_timer);
    Ccai_timer_stop(vc->ctx, &vc->result_timer);
    Ccai_timer_stop(vc->ctx, &vc->after_timer);
    vc->after = AFTER_NONE;
    if (vc->wav) {
        uint64_t bytes = Ccai_wav_writer_bytes(vc->wav);
        ccai_status st = Ccai_wav_writer_close(vc->wav);
        vc->wav = NULL;
        uint64_t ms = bytes * 1000 / (4u * vc->mono.rate);
        if (st == CCAI_OK)
            st = Ccai_call_recording(vc->v->engine, ccai_call_id(vc->call), vc->wav_path, NULL,
                                     (int64_t)ms);
        if (st != CCAI_OK)
            Ccai_log(&vc->v->log, CCAI_LOG_WARN, "call %s: the recording %s: %s",
                     ccai_call_id(vc->call), vc->wav_path, ccai_status_str(st));
    }
}

static void session_free(void *ud)
{
    vcall *vc = ud;
    if (!vc->ended)
        session_stop(vc);
    while (vc->q) {
        sentence *s = vc->q;
        vc->q = s->next;
        sentence_free(s);
    }
    held_drop(vc);
    ccai_free(vc->held_heard);
    Ccai_media_converter_free(vc->in_conv);
    Ccai_media_converter_free(vc->far_conv);
    Ccai_vad_free(vc->vad);
    Ccai_echo_gate_free(vc->gate);
    Ccai_echo_canceller_free(vc->aec);
    Ccai_pacer_free(vc->pacer);
    Ccai_buf_free(&vc->utt);
    ccai_free(vc->frame);
    ccai_free(vc->pre);
    ccai_free(vc->far);
    ccai_free(vc->pcm);
    ccai_free(vc->pre_tmp);
    ccai_free(vc->conv_buf);
    ccai_free(vc->wav_path);
    ccai_free(vc->hint_buf);
    Ccai_buf_free(&vc->menu_buf);
    ccai_free(vc->hints);
    ccai_free(vc);
}

bool Ccai_voice_wanted(const ccai_call_params *p)
{
    /* A version from the future is refused by the engine: its table may be
     * any size, so nothing past what the version promises is read here. */
    return p && p->version >= 3 && p->version <= CCAI_CALL_PARAMS_VERSION &&
           p->audio_in.encoding != CCAI_AUDIO_NONE;
}

static bool format_ok(ccai_ctx *ctx, const char *what, const ccai_audio_format *f)
{
    Ccai_media_format m = media_fmt(f);
    if (Ccai_media_format_valid(&m))
        return true;
    Ccai_ctx_set_error(ctx,
                       "%s: encoding %d, %u Hz, %u channels: libccai takes PCM16, mu-law or "
                       "A-law at 8, 16, 24 or 48 kHz, 1 or 2 channels",
                       what, (int)f->encoding, (unsigned)f->sample_rate, (unsigned)f->channels);
    return false;
}

static ccai_status session_init(vcall *vc, const ccai_call_params *p)
{
    Ccai_voice *v = vc->v;
    uint32_t frame_ms = p->audio_frame_ms ? p->audio_frame_ms : 20;
    vc->in = media_fmt(&p->audio_in);
    vc->out = p->audio_out.encoding ? media_fmt(&p->audio_out) : vc->in;
    vc->out.channels = 1; /* the bot speaks mono: a stereo sink gets it copied */
    if (p->audio_out.encoding && p->audio_out.channels == 2)
        vc->out.channels = 2;
    vc->mono = (Ccai_media_format){CCAI_MEDIA_PCM16, vc->in.rate, 1};
    vc->flags = p->audio_flags;
    vc->paced = (p->audio_flags & CCAI_AUDIO_PACED) != 0;
    ccai_status st;
    if ((st = Ccai_media_converter_new(&vc->in, &vc->mono, CCAI_RESAMPLE_QUALITY_DEFAULT,
                                       &vc->in_conv)) != CCAI_OK ||
        (st = Ccai_media_converter_new(&vc->out, &vc->mono, CCAI_RESAMPLE_QUALITY_DEFAULT,
                                       &vc->far_conv)) != CCAI_OK ||
        (st = Ccai_vad_new(&v->vad, vc->mono.rate, &vc->vad)) != CCAI_OK)
        return st;
    Ccai_echo_gate_params gp;
    Ccai_echo_gate_params_default(&gp);
    if ((st = Ccai_echo_gate_new(&gp, &vc->gate)) != CCAI_OK)
        return st;
    size_t frame_n = Ccai_media_samples_per_ms(&vc->mono, FRAME_MS);
    if ((p->audio_flags & CCAI_AUDIO_ECHO_CANCEL) &&
        (st = Ccai_echo_canceller_new(vc->mono.rate, frame_n, AEC_TAIL_MS, &vc->aec)) != CCAI_OK)
        return st;
    Ccai_pacer_params pp;
    Ccai_pacer_params_default(&pp);
    pp.frame_ms = frame_ms;
    if ((st = Ccai_pacer_new(&pp, &vc->pacer)) != CCAI_OK)
        return st;
    vc->frame_cap = frame_n;
    vc->pre_cap = Ccai_media_samples_per_ms(&vc->mono, PREROLL_MS);
    vc->far_cap = Ccai_media_samples_per_ms(&vc->mono, MAX_FAR_MS);
    vc->pcm_cap = Ccai_media_samples_per_ms(&vc->mono, MAX_IN_MS) + 64;
    if (!(vc->frame = Ccai_calloc(frame_n, sizeof *vc->frame)) ||
        !(vc->pcm = Ccai_calloc(vc->pcm_cap, sizeof *vc->pcm)) ||
        !(vc->pre_tmp = Ccai_calloc(vc->pre_cap, sizeof *vc->pre_tmp)) ||
        !(vc->pre = Ccai_calloc(vc->pre_cap, sizeof *vc->pre)) ||
        !(vc->far = Ccai_calloc(vc->far_cap, sizeof *vc->far)))
        return CCAI_ERR_NOMEM;
    Ccai_timer_init(&vc->pace_timer, on_pace, vc);
    Ccai_timer_init(&vc->result_timer, on_result_timeout, vc);
    Ccai_timer_init(&vc->after_timer, on_after_timer, vc);
    vc->q_tail = &vc->q;
    return CCAI_OK;
}

/* Recording: <dir>/<call id>.wav, both directions (left the caller, right
 * the bot) as PCM16 at the caller's rate. */
static void record_open(vcall *vc)
{
    Ccai_voice *v = vc->v;
    if (!v->record)
        return;
    const char *dir = v->record_dir;
    char *own = NULL;
    if (!dir) {
        const char *db = Ccai_config_str(v->cfg, "database.sqlite.path");
        const char *slash = db ? strrchr(db, '/') : NULL;
        own = slash ? Ccai_strndup(db, (size_t)(slash - db)) : Ccai_strdup(".");
        dir = own;
    }
    vc->wav_path = dir ? Ccai_asprintf("%s/%s.wav", dir, ccai_call_id(vc->call)) : NULL;
    ccai_free(own);
    Ccai_media_format f = {CCAI_MEDIA_PCM16, vc->mono.rate, 2};
    if (!vc->wav_path || Ccai_wav_writer_open(vc->wav_path, &f, &vc->wav) != CCAI_OK) {
        Ccai_log(&v->log, CCAI_LOG_WARN, "call %s: cannot record to %s", ccai_call_id(vc->call),
                 vc->wav_path ? vc->wav_path : "(no memory)");
        vc->wav = NULL;
    }
}

/* The claim's field names as words ("incident_city" -> "incident city"):
 * the hints of free text. */
static ccai_status hints_init(vcall *vc)
{
    const ccai_claim_schema *schema = vc->call->schema;
    size_t n = schema ? ccai_claim_schema_count(schema) : 0;
    Ccai_buf b = {0};
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = NULL;
        if (ccai_claim_schema_field(schema, i, &name, NULL, NULL) != CCAI_OK || !name)
            continue;
        size_t off = b.len;
        if (!Ccai_buf_append(&b, name, strlen(name) + 1)) {
            Ccai_buf_free(&b);
            return CCAI_ERR_NOMEM;
        }
        for (char *p = b.data + off; *p; p++)
            if (*p == '_' || *p == '-')
                *p = ' ';
        used++;
    }
    vc->hints = Ccai_calloc(used + 1, sizeof *vc->hints);
    if (!vc->hints) {
        Ccai_buf_free(&b);
        return CCAI_ERR_NOMEM;
    }
    vc->hint_buf = b.data;
    const char *p = b.data;
    for (size_t i = 0; i < used; i++, p += strlen(p) + 1)
        vc->hints[i] = p;
    return CCAI_OK;
}

ccai_status Ccai_voice_call_start(Ccai_voice *v, const ccai_call_params *params,
                                  const ccai_call_ops *ops, void *userdata, ccai_call **ret)
{
    if (!v || !params || !ops || !ret)
        return CCAI_ERR_INVALID_ARG;
    if (!format_ok(v->ctx, "audio_in", &params->audio_in) ||
        (params->audio_out.encoding && !format_ok(v->ctx, "audio_out", &params->audio_out)))
        return CCAI_ERR_INVALID_ARG;
    if (ops->version < 3 || !ops->play_audio) {
        Ccai_ctx_set_error(v->ctx, "an audio call needs ccai_call_ops version 3 with play_audio");
        return CCAI_ERR_INVALID_ARG;
    }
    if (params->audio_frame_ms && (params->audio_frame_ms % 10 || params->audio_frame_ms > 60 ||
                                   params->audio_frame_ms == 50)) {
        Ccai_ctx_set_error(v->ctx, "audio_frame_ms: 10, 20, 30, 40 or 60");
        return CCAI_ERR_INVALID_ARG;
    }
    vcall *vc = Ccai_calloc(1, sizeof *vc);
    if (!vc)
        return CCAI_ERR_NOMEM;
    vc->v = v;
    vc->ctx = v->ctx;
    vc->host = *ops;
    vc->host_ud = userdata;
    ccai_status st = session_init(vc, params);
    if (st != CCAI_OK) {
        session_free(vc);
        return st;
    }
    vc->ended = true; /* no provider until the call exists */
    ccai_call_ops mine = session_ops;
    /* The language menu when the host asks for one (its menu op set: it
     * is never called, libccai says the menu and hears the choice). */
    if (!ops->menu)
        mine.menu = NULL;
    st = Ccai_engine_call_start(v->engine, params, &mine, vc, &vc->call);
    if (st != CCAI_OK) {
        session_free(vc);
        return st;
    }
    Ccai_call_attach(vc->call, vc, session_free, userdata);
    vc->call->says_done = true; /* SAY_DONE once the caller heard it all */
    vc->ended = false;
    vc->in_base = now_ms(vc);
    snprintf(vc->lang, sizeof vc->lang, "%s", ccai_call_lang(vc->call));
    if ((st = hints_init(vc)) != CCAI_OK) {
        ccai_call_free(vc->call);
        return st;
    }
    if ((st = stt_open_from(vc, 0)) != CCAI_OK || (st = tts_open_from(vc, 0)) != CCAI_OK) {
        char why[96];
        snprintf(why, sizeof why, "no %s provider could open for %s",
                 vc->stt ? "text-to-speech" : "speech-to-text", vc->lang);
        Ccai_ctx_set_error(v->ctx, "audio call: %s", why);
        /* Stored as what happened (the row exists: persist, then act),
         * not as a handle the host released. Frees the session. */
        Ccai_call_free_ended(vc->call, why);
        return st == CCAI_ERR_NOMEM ? st : CCAI_ERR_CONFIG;
    }
    record_open(vc);
    *ret = vc->call;
    return CCAI_OK;
}

ccai_status Ccai_voice_audio_in(ccai_call *call, const void *data, size_t len)
{
    vcall *vc = Ccai_call_attachment(call);
    if (!vc)
        return CCAI_ERR_STATE;
    if (!data && len)
        return CCAI_ERR_INVALID_ARG;
    if (vc->ended || !Ccai_call_state_in_progress(ccai_call_get_state(call)))
        return CCAI_ERR_STATE;
    size_t block = Ccai_media_block_bytes(&vc->in);
    if (len % block) {
        Ccai_err_set(&call->err,
                     "audio: %zu bytes is not a whole number of %zu-byte samples (%s, %u "
                     "channels): dropped",
                     len, block, Ccai_media_encoding_name(vc->in.encoding),
                     (unsigned)vc->in.channels);
        return CCAI_ERR_INVALID_ARG;
    }
    if (len > Ccai_media_bytes_per_ms(&vc->in, MAX_IN_MS)) {
        Ccai_err_set(&call->err, "audio: %zu bytes is more than 1 s at once: dropped", len);
        return CCAI_ERR_LIMIT;
    }
    size_t cap = Ccai_media_converter_max_out(vc->in_conv, len);
    if (cap > vc->conv_cap) {
        uint8_t *b = Ccai_realloc(vc->conv_buf, cap);
        if (!b)
            return CCAI_ERR_NOMEM;
        vc->conv_buf = b;
        vc->conv_cap = cap;
    }
    size_t n = 0;
    if (Ccai_media_convert(vc->in_conv, data, len, vc->conv_buf, vc->conv_cap, &n) != CCAI_OK)
        return CCAI_ERR_INTERNAL;
    /* Copied out: the callbacks below may reuse conv_buf. */
    int16_t *pcm = vc->pcm;
    size_t samples = n / 2 < vc->pcm_cap ? n / 2 : vc->pcm_cap;
    Ccai_pcm16le_read(vc->conv_buf, samples, pcm);
    ccai_ctx *ctx = vc->ctx;
    Ccai_ctx_enter(ctx);
    Ccai_call_enter(call);
    for (size_t off = 0; off < samples && !vc->ended;) {
        size_t k = vc->frame_cap - vc->frame_n;
        if (k > samples - off)
            k = samples - off;
        memcpy(vc->frame + vc->frame_n, pcm + off, k * sizeof *pcm);
        vc->frame_n += k;
        off += k;
        if (vc->frame_n == vc->frame_cap) {
            vc->frame_n = 0;
            caller_frame(vc, vc->frame, vc->frame_cap);
        }
    }
    Ccai_call_leave(call);
    Ccai_ctx_leave(ctx);
    return CCAI_OK;
}

ccai_status Ccai_voice_audio_lost(ccai_call *call, const char *name)
{
    vcall *vc = Ccai_call_attachment(call);
    if (!vc)
        return CCAI_ERR_STATE;
    if (!name)
        return CCAI_ERR_INVALID_ARG;
    uint32_t seq;
    if (vc->ended || !mark_seq(name, &seq))
        return CCAI_OK;
    /* The sentences up to that mark were sent whole and never confirmed
     * played: the caller did not hear them; the transcript says so. */
    while (vc->q && (int32_t)(vc->q->seq - seq) <= 0 && vc->q->done) {
        sentence *s = vc->q;
        vc->q = s->next;
        if (!vc->q)
            vc->q_tail = &vc->q;
        ccai_status st = Ccai_call_said_heard(vc->call, s->text, "");
        if (st != CCAI_OK && st != CCAI_ERR_NOT_FOUND)
            Ccai_log(&vc->v->log, CCAI_LOG_WARN,
                     "call %s: cannot store that the caller did not hear the bot: %s",
                     ccai_call_id(vc->call), ccai_status_str(st));
        sentence_free(s);
    }
    if (!vc->q)
        after_run(vc);
    say_done_check(vc);
    return CCAI_OK;
}

ccai_status Ccai_voice_audio_marked(ccai_call *call, const char *name)
{
    vcall *vc = Ccai_call_attachment(call);
    if (!vc)
        return CCAI_ERR_STATE;
    if (!name)
        return CCAI_ERR_INVALID_ARG;
    uint32_t seq;
    if (!vc->ended && mark_seq(name, &seq))
        heard_through(vc, seq);
    return CCAI_OK;
}
