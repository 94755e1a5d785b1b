/* Audio calls (see voice.h, voice_int.h): the voice layer of a context
 * (the configuration, the providers added), the session of a call (its
 * start, the engine's ops table, audio in, marks, the end, recording). */
#include "voice/voice_int.h"

#include "media/amd.h"

#include <stdio.h>
#include <string.h>

static void session_stop(vcall *vc);

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

/* The VAD parameters and recording, feature flags (config/flags.h): read
 * again when each audio call starts, so a value changed at run time is the
 * next call's. */
static void read_flags(Ccai_voice *v)
{
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
    v->early_start = Ccai_config_bool(v->cfg, "speech.early_start", false);
    v->early_start_ms = (uint32_t)Ccai_config_int(v->cfg, "speech.early_start_ms", 200);
    v->record = Ccai_config_bool(v->cfg, "conversation.recording_enabled", false);
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
    read_flags(v);
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

/* Helpers ----------------------------------------------------------------- */

void Ccai_voice_metric(vcall *vc, const char *fam, const char *provider, uint64_t ms)
{
    if (!vc->v->metrics)
        return;
    char labels[96];
    snprintf(labels, sizeof labels, "provider=\"%s\"", provider ? provider : "none");
    /* A sample lost to memory pressure: nothing depends on it. */
    CCAI_DISCARD(Ccai_metrics_histogram_observe(vc->v->metrics, fam, labels, (double)ms / 1000.0));
}

static Ccai_media_format media_fmt(const ccai_audio_format *f)
{
    return (Ccai_media_format){(Ccai_media_encoding)f->encoding, f->sample_rate, f->channels};
}

/* An event from the voice layer to the engine; a refusal is logged (the
 * call has ended, or memory ran out: nothing else to do with it). */
void Ccai_voice_notify(vcall *vc, ccai_event_type type, const char *detail)
{
    ccai_status st = ccai_call_notify(vc->call, type, detail);
    if (st != CCAI_OK && st != CCAI_ERR_STATE)
        Ccai_log(&vc->v->log, CCAI_LOG_WARN, "call %s: event %s refused: %s",
                 ccai_call_id(vc->call), ccai_event_type_str(type), ccai_status_str(st));
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
    .say = Ccai_voice_op_say,
    .stop_speaking = Ccai_voice_op_stop_speaking,
    .listen = Ccai_voice_op_listen,
    .menu = Ccai_voice_op_menu,
    .transfer = Ccai_voice_op_transfer,
    .hangup = Ccai_voice_op_hangup,
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
    Ccai_voice_stt_span_end(vc, "ended", false);
    Ccai_voice_stt_close(vc);
    Ccai_voice_tts_close(vc);
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
        Ccai_voice_sentence_free(s);
    }
    Ccai_voice_held_drop(vc);
    ccai_free(vc->held_heard);
    Ccai_media_converter_free(vc->in_conv);
    Ccai_media_converter_free(vc->far_conv);
    Ccai_vad_free(vc->vad);
    Ccai_amd_free(vc->amd);
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
    ccai_free(vc->partial);
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
    read_flags(v);
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
    /* Who answers an outbound call: a person, or a machine to leave the
     * message to after its beep (engine/voicemail.c acts on it). */
    if (p->direction == CCAI_OUTBOUND && Ccai_config_bool(v->cfg, "voicemail.enabled", false) &&
        Ccai_config_bool(v->cfg, "voicemail.detect", true)) {
        Ccai_amd_params ap;
        Ccai_amd_params_default(&ap);
        ap.greeting_ms = (uint32_t)Ccai_config_int(v->cfg, "voicemail.greeting_ms", ap.greeting_ms);
        if ((st = Ccai_amd_new(&ap, vc->mono.rate, &vc->amd)) != CCAI_OK)
            return st;
    }
    Ccai_timer_init(&vc->pace_timer, Ccai_voice_on_pace, vc);
    Ccai_timer_init(&vc->result_timer, Ccai_voice_on_result_timeout, vc);
    Ccai_timer_init(&vc->after_timer, Ccai_voice_on_after_timer, vc);
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
    if ((st = Ccai_voice_stt_open(vc, 0)) != CCAI_OK ||
        (st = Ccai_voice_tts_open(vc, 0)) != CCAI_OK) {
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
            Ccai_voice_caller_frame(vc, vc->frame, vc->frame_cap);
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
    if (vc->ended || !Ccai_voice_mark_seq(name, &seq))
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
        Ccai_voice_sentence_free(s);
    }
    if (!vc->q)
        Ccai_voice_after_run(vc);
    Ccai_voice_say_done_check(vc);
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
    if (!vc->ended && Ccai_voice_mark_seq(name, &seq))
        Ccai_voice_heard_through(vc, seq);
    return CCAI_OK;
}
