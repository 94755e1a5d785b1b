/* Offline speech-to-text with pocketsphinx (see sphinx.h).
 *
 * Size (~1000 lines): the model and its decoder pool, and the stream
 * (queue, slices, results) share pocketsphinx's state and its log hook;
 * the seam is the pool (model, decoders, grammars) against the stream. */
#include "speech/sphinx.h"

#include "media/resample.h"
#include "speech/dict.h"

#include <pocketsphinx.h>
#include <pthread.h>
#include <sphinxbase/ckd_alloc.h>
#include <sphinxbase/err.h>
#include <sphinxbase/feat.h>
#include <sphinxbase/fsg_model.h>
#include <sphinxbase/jsgf.h>
#include <sphinxbase/ngram_model.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define RATE             16000 /* the en-us model's sample rate */
#define FRAME_SAMPLES    160   /* pocketsphinx decodes 10 ms frames */
#define SAMPLES_PER_MS   (RATE / 1000)
#define CMN_MAX          32
#define SEARCH_CHOICE    "choice"
#define SEARCH_LM        "lm"
#define PARTIAL_TEXT_MAX 4096

/* The cepstral mean of telephone-band speech (8 kHz G.711 resampled to 16
 * kHz), read from pocketsphinx's log after decoding telephone audio
 * (offline-speech.md 2b). The model's own value fits wideband speech and
 * ruins the first utterance of a phone call. */
static const float tel_cmn[13] = {43.99f,  25.52f, -27.74f, 44.16f, -19.48f, -0.48f, 13.96f,
                                  -27.08f, 13.03f, -11.70f, 1.74f,  10.80f,  -11.89f};

/* Acoustic model files pocketsphinx opens with E_FATAL (exit) when they
 * are missing: checked before it sees them. */
static const char *const hmm_files[] = {
    "mdef", "means", "variances", "sendump", "transition_matrices", "noisedict", "feat.params"};

typedef enum dec_class {
    DEC_FREE = 0,
    DEC_GRAMMAR = 1,
} dec_class;

typedef struct decoder {
    ps_decoder_t *ps;
    dec_class cls;
    bool busy;
    uint32_t searches;       /* bit per kind whose grammar search is set */
    float init_cmn[CMN_MAX]; /* the model's own cepstral mean, as created */
} decoder;

struct Ccai_sphinx_model {
    unsigned refs;
    Ccai_sphinx_params p;
    char *hmm_dir, *dict_path, *lm_path;
    Ccai_logger log;
    Ccai_pron_dict *dict;
    logmath_t *lmath;
    ngram_model_t *lm;
    decoder **decs;
    size_t n_decs, cap_decs;
    uint64_t created;
};

/* What an utterance is decoded for: shared by the stream's "next" and its
 * current utterance until one of them moves on. */
typedef struct expectation {
    unsigned refs;
    Ccai_speech_kind kind;
    bool also_free;
    Ccai_grammar grammar;
    char **choices;
    size_t n;
} expectation;

struct Ccai_sphinx {
    Ccai_sphinx_model *m;
    Ccai_media_format fmt;
    Ccai_media_converter *conv;
    Ccai_sphinx_fn fn;
    void *ud;
    Ccai_err err;
    expectation *next, *cur;
    bool in_utt, ending, truncated;
    decoder *primary, *beside;
    uint64_t pos; /* 16 kHz samples decoded on the stream */
    uint64_t utt_start, utt_len;
    int16_t *queue; /* 16 kHz samples waiting */
    size_t q_len, q_cap;
    uint8_t *scratch;
    size_t scratch_cap;
    float cmn[CMN_MAX];
    int32 cmn_len; /* cmn holds this call's mean (0: the model's own) */
    char *partial;
    int depth; /* callbacks in progress */
    bool dead; /* freed from inside a callback */
};

/* ---- pocketsphinx's log ------------------------------------------------ */

static _Thread_local const Ccai_logger *tl_log;
static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void ps_log(void *ud, err_lvl_t lvl, const char *fmt, ...)
{
    (void)ud;
    if (!tl_log || !tl_log->fn || lvl == ERR_INFOCONT)
        return;
    ccai_log_level level = lvl >= ERR_ERROR  ? CCAI_LOG_ERROR
                           : lvl == ERR_WARN ? CCAI_LOG_WARN
                                             : CCAI_LOG_DEBUG;
    if (level > tl_log->min_level)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t len = strlen(msg);
    while (len && (msg[len - 1] == '\n' || msg[len - 1] == ' '))
        msg[--len] = '\0';
    Ccai_log(tl_log, level, "pocketsphinx: %s", msg);
}

static void log_init(void)
{
    err_set_callback(ps_log, NULL);
    /* Also the messages written straight to its log file (the decoder's
     * configuration at start-up). */
    err_set_logfp(NULL);
}

/* Route pocketsphinx's messages to m's logger while we call into it. */
static const Ccai_logger *enter(const Ccai_sphinx_model *m)
{
    const Ccai_logger *prev = tl_log;
    tl_log = &m->log;
    return prev;
}

static void leave(const Ccai_logger *prev)
{
    tl_log = prev;
}

/* ---- model --------------------------------------------------------------- */

void Ccai_sphinx_params_default(Ccai_sphinx_params *p)
{
    memset(p, 0, sizeof *p);
    p->max_decoders = 64;
    p->max_hmm_per_frame = 10000;
    p->max_words_per_frame = 10;
    p->bestpath = true;
    p->slice_ms = 10;
    p->max_utterance_ms = 30000;
    p->max_queue_ms = 10000;
    p->min_confidence = 0.2;
}

bool Ccai_sphinx_language_supported(const char *tag)
{
    return tag && (tag[0] == 'e' || tag[0] == 'E') && (tag[1] == 'n' || tag[1] == 'N') &&
           (tag[2] == '\0' || tag[2] == '-' || tag[2] == '_');
}

static bool readable(const char *path)
{
    return access(path, R_OK) == 0;
}

static cmd_ln_t *make_config(const Ccai_sphinx_model *m)
{
    char maxhmm[16], maxwpf[16];
    snprintf(maxhmm, sizeof maxhmm, "%u", m->p.max_hmm_per_frame);
    snprintf(maxwpf, sizeof maxwpf, "%u", m->p.max_words_per_frame);
    /* -remove_silence no: the front end's own VAD holds frames back and
     * releases them in a burst at speech onset (a 20-30 frame spike, 40-130
     * ms of CPU in one call); the caller's VAD segments. -fwdflat no: the
     * second pass costs 150-450 ms at the end of each utterance, bestpath
     * gets most of its gain for ~20 ms (bench-speech). */
    return cmd_ln_init(NULL, ps_args(), TRUE, "-hmm", m->hmm_dir, "-maxhmmpf", maxhmm, "-maxwpf",
                       maxwpf, "-fwdflat", "no", "-bestpath", m->p.bestpath ? "yes" : "no",
                       "-remove_silence", "no", NULL);
}

static void model_destroy(Ccai_sphinx_model *m)
{
    const Ccai_logger *prev = enter(m);
    for (size_t i = 0; i < m->n_decs; i++) {
        ps_free(m->decs[i]->ps);
        ccai_free(m->decs[i]);
    }
    if (m->lm)
        ngram_model_free(m->lm);
    if (m->lmath)
        logmath_free(m->lmath);
    leave(prev);
    ccai_free(m->decs);
    Ccai_pron_dict_free(m->dict);
    ccai_free(m->hmm_dir);
    ccai_free(m->dict_path);
    ccai_free(m->lm_path);
    ccai_free(m);
}

static void model_unref(Ccai_sphinx_model *m)
{
    if (m && --m->refs == 0)
        model_destroy(m);
}

void Ccai_sphinx_model_free(Ccai_sphinx_model *m)
{
    model_unref(m);
}

static bool params_ok(const Ccai_sphinx_params *p)
{
    return p->max_decoders >= 1 && p->max_decoders <= 4096 && p->max_hmm_per_frame >= 100 &&
           p->max_hmm_per_frame <= 100000 && p->max_words_per_frame >= 1 &&
           p->max_words_per_frame <= 1000 && p->slice_ms >= 10 && p->slice_ms <= 1000 &&
           p->max_utterance_ms >= 1000 && p->max_utterance_ms <= 600000 &&
           p->max_queue_ms >= p->slice_ms && p->max_queue_ms <= 600000 && p->min_confidence >= 0 &&
           p->min_confidence <= 1;
}

ccai_status Ccai_sphinx_model_new(const Ccai_sphinx_params *p, const Ccai_logger *log,
                                  Ccai_sphinx_model **ret, Ccai_err *err)
{
    Ccai_sphinx_params defaults;
    if (!p) {
        Ccai_sphinx_params_default(&defaults);
        p = &defaults;
    }
    if (!ret || !params_ok(p)) {
        if (err)
            Ccai_err_set(err, "pocketsphinx: parameters out of range");
        return CCAI_ERR_INVALID_ARG;
    }
    pthread_once(&log_once, log_init);
    Ccai_sphinx_model *m = Ccai_calloc(1, sizeof *m);
    if (!m)
        return CCAI_ERR_NOMEM;
    m->refs = 1;
    m->p = *p;
    if (log)
        m->log = *log;
    else
        m->log.fn = NULL;
    m->hmm_dir = Ccai_strdup(p->hmm_dir ? p->hmm_dir : CCAI_SPHINX_MODEL_DIR "/en-us");
    m->dict_path =
        Ccai_strdup(p->dict_path ? p->dict_path : CCAI_SPHINX_MODEL_DIR "/cmudict-en-us.dict");
    m->lm_path = Ccai_strdup(p->lm_path ? p->lm_path : CCAI_SPHINX_MODEL_DIR "/en-us.lm.bin");
    if (!m->hmm_dir || !m->dict_path || !m->lm_path) {
        model_destroy(m);
        return CCAI_ERR_NOMEM;
    }
    m->p.hmm_dir = m->p.dict_path = m->p.lm_path = NULL;
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(hmm_files); i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", m->hmm_dir, hmm_files[i]);
        if (!readable(path)) {
            if (err)
                Ccai_err_set(err,
                             "pocketsphinx: %s is missing or unreadable (Debian: "
                             "apt-get install pocketsphinx-en-us)",
                             path);
            model_destroy(m);
            return CCAI_ERR_IO;
        }
    }
    ccai_status st = Ccai_pron_dict_load(m->dict_path, &m->dict, err);
    if (st != CCAI_OK) {
        model_destroy(m);
        return st;
    }
    if (m->lm_path[0]) {
        if (!readable(m->lm_path)) {
            if (err)
                Ccai_err_set(err, "pocketsphinx: %s is missing or unreadable", m->lm_path);
            model_destroy(m);
            return CCAI_ERR_IO;
        }
        const Ccai_logger *prev = enter(m);
        cmd_ln_t *config = make_config(m);
        /* The decoders' log base (-logbase 1.0001, no shift): the shared
         * model's scores must be in their units. */
        m->lmath = config ? logmath_init(cmd_ln_float_r(config, "-logbase"), 0, 0) : NULL;
        if (m->lmath)
            m->lm = ngram_model_read(config, m->lm_path, NGRAM_AUTO, m->lmath);
        if (config)
            cmd_ln_free_r(config);
        leave(prev);
        if (!m->lm) {
            if (err)
                Ccai_err_set(err, "pocketsphinx: cannot read the language model %s", m->lm_path);
            model_destroy(m);
            return CCAI_ERR_PARSE;
        }
    }
    *ret = m;
    return CCAI_OK;
}

/* Add word (all its variants) to a decoder unless it has it. False when
 * the dictionary lacks it or pocketsphinx refused. */
static bool add_word(Ccai_sphinx_model *m, ps_decoder_t *ps, const char *word, bool update)
{
    char *have = ps_lookup_word(ps, word);
    if (have) {
        ckd_free(have);
        return true;
    }
    const char *phones = Ccai_pron_dict_get(m->dict, word, 0);
    if (!phones)
        return false;
    for (unsigned v = 0; phones; phones = Ccai_pron_dict_get(m->dict, word, ++v)) {
        char key[CCAI_PRON_KEY_MAX + 8];
        bool last = !Ccai_pron_dict_get(m->dict, word, v + 1);
        if (!Ccai_pron_dict_key(word, v, key, sizeof key) ||
            ps_add_word(ps, key, phones, update && last) < 0)
            return false;
    }
    return true;
}

static ccai_status decoder_create(Ccai_sphinx_model *m, dec_class cls, decoder **ret)
{
    if (cls == DEC_FREE && !m->lm)
        return CCAI_ERR_UNSUPPORTED;
    size_t n_cls = 0;
    for (size_t i = 0; i < m->n_decs; i++)
        n_cls += m->decs[i]->cls == cls;
    if (n_cls >= m->p.max_decoders)
        return CCAI_ERR_LIMIT;
    if (m->n_decs == m->cap_decs) {
        size_t cap = m->cap_decs ? m->cap_decs * 2 : 8;
        decoder **decs = Ccai_realloc(m->decs, cap * sizeof *decs);
        if (!decs)
            return CCAI_ERR_NOMEM;
        m->decs = decs;
        m->cap_decs = cap;
    }
    decoder *d = Ccai_calloc(1, sizeof *d);
    if (!d)
        return CCAI_ERR_NOMEM;
    d->cls = cls;
    const Ccai_logger *prev = enter(m);
    ccai_status st = CCAI_ERR_INTERNAL;
    cmd_ln_t *config = make_config(m);
    if (config) {
        d->ps = ps_init(config);
        cmd_ln_free_r(config);
    }
    if (d->ps && cls == DEC_FREE) {
        /* The language model's vocabulary, from the shared dictionary. */
        int32 n = (int32)ngram_model_get_counts(m->lm)[0];
        bool ok = true;
        for (int32 w = 0; w < n && ok; w++) {
            const char *word = ngram_word(m->lm, w);
            if (word && word[0] != '<' && Ccai_pron_dict_get(m->dict, word, 0))
                ok = add_word(m, d->ps, word, false);
        }
        if (ok && ps_set_lm(d->ps, SEARCH_LM, m->lm) == 0 && ps_set_search(d->ps, SEARCH_LM) == 0)
            st = CCAI_OK;
    } else if (d->ps) {
        st = CCAI_OK;
    }
    if (st == CCAI_OK) {
        /* A pooled decoder keeps the mean of the last call it served: each
         * call starts from its own (telephone) or this one. */
        cmn_t *cmn = ps_get_feat(d->ps)->cmn_struct;
        if (!cmn || cmn->veclen > CMN_MAX)
            st = CCAI_ERR_INTERNAL;
        for (int32 i = 0; st == CCAI_OK && i < cmn->veclen; i++)
            d->init_cmn[i] = cmn->cmn_mean[i];
    }
    leave(prev);
    if (st != CCAI_OK) {
        if (d->ps)
            ps_free(d->ps);
        ccai_free(d);
        Ccai_log(&m->log, CCAI_LOG_ERROR, "pocketsphinx: cannot create a %s decoder",
                 cls == DEC_FREE ? "free-text" : "grammar");
        return st;
    }
    m->decs[m->n_decs++] = d;
    m->created++;
    *ret = d;
    return CCAI_OK;
}

/* An idle decoder of cls, created when none is idle. */
static ccai_status decoder_acquire(Ccai_sphinx_model *m, dec_class cls, decoder **ret)
{
    for (size_t i = 0; i < m->n_decs; i++)
        if (m->decs[i]->cls == cls && !m->decs[i]->busy) {
            m->decs[i]->busy = true;
            *ret = m->decs[i];
            return CCAI_OK;
        }
    ccai_status st = decoder_create(m, cls, ret);
    if (st == CCAI_OK)
        (*ret)->busy = true;
    else if (st == CCAI_ERR_LIMIT)
        st = CCAI_ERR_BUSY;
    return st;
}

ccai_status Ccai_sphinx_model_reserve(Ccai_sphinx_model *m, uint32_t n_free, uint32_t n_grammar)
{
    if (!m)
        return CCAI_ERR_INVALID_ARG;
    for (int c = 0; c < 2; c++) {
        dec_class cls = c == 0 ? DEC_FREE : DEC_GRAMMAR;
        uint32_t want = c == 0 ? n_free : n_grammar, have = 0;
        for (size_t i = 0; i < m->n_decs; i++)
            have += m->decs[i]->cls == cls;
        while (have < want) {
            decoder *d;
            ccai_status st = decoder_create(m, cls, &d);
            if (st != CCAI_OK)
                return st;
            have++;
        }
    }
    return CCAI_OK;
}

void Ccai_sphinx_model_stats(const Ccai_sphinx_model *m, Ccai_sphinx_stats *ret)
{
    memset(ret, 0, sizeof *ret);
    for (size_t i = 0; i < m->n_decs; i++) {
        const decoder *d = m->decs[i];
        uint32_t *slot = d->cls == DEC_FREE ? (d->busy ? &ret->free_busy : &ret->free_idle)
                                            : (d->busy ? &ret->grammar_busy : &ret->grammar_idle);
        (*slot)++;
    }
    ret->decoders_created = m->created;
    ret->dict_entries = Ccai_pron_dict_size(m->dict);
    ret->dict_bytes = Ccai_pron_dict_bytes(m->dict);
    ret->has_lm = m->lm != NULL;
}

/* ---- expectations --------------------------------------------------------- */

static void expectation_unref(expectation *e)
{
    if (!e || --e->refs > 0)
        return;
    Ccai_grammar_clear(&e->grammar);
    for (size_t i = 0; i < e->n; i++)
        ccai_free(e->choices[i]);
    ccai_free(e->choices);
    ccai_free(e);
}

static ccai_status expectation_new(Ccai_sphinx *s, Ccai_speech_kind kind,
                                   const char *const *choices, size_t n, bool also_free,
                                   expectation **ret)
{
    expectation *e = Ccai_calloc(1, sizeof *e);
    if (!e)
        return CCAI_ERR_NOMEM;
    e->refs = 1;
    e->kind = kind;
    e->also_free = also_free && kind != CCAI_SPEECH_FREE;
    ccai_status st = CCAI_OK;
    if (kind != CCAI_SPEECH_FREE) {
        st = Ccai_grammar_build(kind, choices, n, &e->grammar, &s->err);
        for (size_t i = 0; st == CCAI_OK && i < e->grammar.n_words; i++)
            if (!Ccai_pron_dict_get(s->m->dict, e->grammar.words[i], 0)) {
                Ccai_err_set(&s->err, "\"%s\" is not in the pronunciation dictionary",
                             e->grammar.words[i]);
                st = CCAI_ERR_NOT_FOUND;
            }
    } else if (n || choices) {
        Ccai_err_set(&s->err, "choices go with the kind \"choice\"");
        st = CCAI_ERR_INVALID_ARG;
    }
    if (st == CCAI_OK && n) {
        e->choices = Ccai_calloc(n, sizeof *e->choices);
        if (!e->choices)
            st = CCAI_ERR_NOMEM;
        for (size_t i = 0; st == CCAI_OK && i < n; i++) {
            e->choices[i] = Ccai_strdup(choices[i]);
            if (!e->choices[i])
                st = CCAI_ERR_NOMEM;
            else
                e->n = i + 1;
        }
    }
    if (st != CCAI_OK) {
        expectation_unref(e);
        return st;
    }
    *ret = e;
    return CCAI_OK;
}

ccai_status Ccai_sphinx_expect(Ccai_sphinx *s, Ccai_speech_kind kind, const char *const *choices,
                               size_t n, bool also_free)
{
    if (!s || s->dead || (unsigned)kind > CCAI_SPEECH_KIND_MAX)
        return CCAI_ERR_INVALID_ARG;
    Ccai_err_clear(&s->err);
    if ((kind == CCAI_SPEECH_FREE || also_free) && !s->m->lm) {
        Ccai_err_set(&s->err, "no language model loaded: only grammars can be recognised");
        return CCAI_ERR_UNSUPPORTED;
    }
    expectation *e;
    ccai_status st = expectation_new(s, kind, choices, n, also_free, &e);
    if (st != CCAI_OK)
        return st;
    expectation_unref(s->next);
    s->next = e;
    return CCAI_OK;
}

/* ---- streams --------------------------------------------------------------- */

ccai_status Ccai_sphinx_new(Ccai_sphinx_model *m, const Ccai_media_format *fmt, Ccai_sphinx_fn fn,
                            void *ud, Ccai_sphinx **ret)
{
    if (!m || !fmt || !fn || !ret || !Ccai_media_format_valid(fmt))
        return CCAI_ERR_INVALID_ARG;
    Ccai_sphinx *s = Ccai_calloc(1, sizeof *s);
    if (!s)
        return CCAI_ERR_NOMEM;
    s->m = m;
    s->fmt = *fmt;
    s->fn = fn;
    s->ud = ud;
    Ccai_media_format to = {CCAI_MEDIA_PCM16, RATE, 1};
    ccai_status st = Ccai_media_converter_new(fmt, &to, CCAI_RESAMPLE_QUALITY_DEFAULT, &s->conv);
    if (st == CCAI_OK && m->lm)
        st = expectation_new(s, CCAI_SPEECH_FREE, NULL, 0, false, &s->next);
    else if (st == CCAI_OK)
        st = expectation_new(s, CCAI_SPEECH_YESNO, NULL, 0, false, &s->next);
    if (st != CCAI_OK) {
        Ccai_media_converter_free(s->conv);
        expectation_unref(s->next);
        Ccai_err_free(&s->err);
        ccai_free(s);
        return st;
    }
    /* Telephone-band audio starts from the telephone cepstral mean;
     * wideband from the model's own. */
    if (fmt->rate == 8000 || fmt->encoding != CCAI_MEDIA_PCM16) {
        memcpy(s->cmn, tel_cmn, sizeof tel_cmn);
        s->cmn_len = (int32)CCAI_ARRAY_SIZE(tel_cmn);
    }
    m->refs++;
    *ret = s;
    return CCAI_OK;
}

static void release(Ccai_sphinx *s, decoder **dp)
{
    decoder *d = *dp;
    if (!d)
        return;
    const Ccai_logger *prev = enter(s->m);
    /* Keep what the decoder learnt of this line for the next utterance. */
    cmn_t *cmn = ps_get_feat(d->ps)->cmn_struct;
    if (d == s->primary) {
        for (int32 i = 0; i < cmn->veclen; i++)
            s->cmn[i] = cmn->cmn_mean[i];
        s->cmn_len = cmn->veclen;
    }
    leave(prev);
    d->busy = false;
    *dp = NULL;
}

/* Drop the utterance: decoders back to the pool; the queued audio too when
 * clear_queue. */
static void drop_utterance(Ccai_sphinx *s, bool clear_queue)
{
    if (s->in_utt) {
        const Ccai_logger *prev = enter(s->m);
        if (s->primary)
            ps_end_utt(s->primary->ps);
        if (s->beside)
            ps_end_utt(s->beside->ps);
        leave(prev);
    }
    release(s, &s->primary);
    release(s, &s->beside);
    expectation_unref(s->cur);
    s->cur = NULL;
    s->in_utt = s->ending = s->truncated = false;
    if (clear_queue)
        s->q_len = 0;
    ccai_free(s->partial);
    s->partial = NULL;
}

void Ccai_sphinx_cancel(Ccai_sphinx *s)
{
    if (s && !s->dead)
        drop_utterance(s, true);
}

void Ccai_sphinx_free(Ccai_sphinx *s)
{
    if (!s)
        return;
    if (s->depth > 0) {
        s->dead = true;
        return;
    }
    drop_utterance(s, true);
    expectation_unref(s->next);
    Ccai_media_converter_free(s->conv);
    ccai_free(s->queue);
    ccai_free(s->scratch);
    Ccai_err_free(&s->err);
    Ccai_sphinx_model *m = s->m;
    ccai_free(s);
    model_unref(m);
}

const char *Ccai_sphinx_errmsg(const Ccai_sphinx *s)
{
    return s ? Ccai_err_get(&s->err) : "";
}

static const char *search_name(Ccai_speech_kind kind)
{
    return kind == CCAI_SPEECH_CHOICE ? SEARCH_CHOICE : Ccai_speech_kind_name(kind);
}

/* ps_set_jsgf_string(), with the parsed grammar freed: Debian's
 * pocketsphinx (5prealpha) never frees it (jsgf_grammar_new() and all that
 * the parser hangs under it, ~8 KB per grammar, leaked at every choice
 * grammar: LeakSanitizer). The same steps: the public rule, the FSG at the
 * decoder's language weight, the search named name. */
static int set_jsgf(ps_decoder_t *ps, const char *name, const char *text)
{
    jsgf_t *jsgf = jsgf_parse_string(text, NULL);
    if (!jsgf)
        return -1;
    int rc = -1;
    jsgf_rule_t *rule = jsgf_get_public_rule(jsgf);
    if (rule) {
        float lw = (float)cmd_ln_float32_r(ps_get_config(ps), "-lw");
        fsg_model_t *fsg = jsgf_build_fsg(jsgf, rule, ps_get_logmath(ps), lw);
        if (fsg) {
            rc = ps_set_fsg(ps, name, fsg);
            fsg_model_free(fsg); /* the search holds its own reference */
        }
    }
    jsgf_grammar_free(jsgf);
    return rc;
}

/* Make d run e's grammar: its words added, its search set (built once per
 * decoder for the fixed grammars, every time for choices). */
static ccai_status set_grammar(Ccai_sphinx *s, decoder *d, const expectation *e)
{
    uint32_t bit = 1u << e->kind;
    ps_decoder_t *ps = d->ps;
    if (e->kind == CCAI_SPEECH_CHOICE || !(d->searches & bit)) {
        for (size_t i = 0; i < e->grammar.n_words; i++)
            if (!add_word(s->m, ps, e->grammar.words[i], i + 1 == e->grammar.n_words))
                return CCAI_ERR_INTERNAL;
        if (set_jsgf(ps, search_name(e->kind), e->grammar.jsgf.data) < 0)
            return CCAI_ERR_INTERNAL;
        d->searches |= bit;
    }
    return ps_set_search(ps, search_name(e->kind)) == 0 ? CCAI_OK : CCAI_ERR_INTERNAL;
}

static ccai_status start_utterance(Ccai_sphinx *s)
{
    expectation *e = s->next;
    ccai_status st =
        decoder_acquire(s->m, e->kind == CCAI_SPEECH_FREE ? DEC_FREE : DEC_GRAMMAR, &s->primary);
    if (st == CCAI_OK && e->also_free)
        st = decoder_acquire(s->m, DEC_FREE, &s->beside);
    const Ccai_logger *prev = enter(s->m);
    if (st == CCAI_OK && e->kind != CCAI_SPEECH_FREE)
        st = set_grammar(s, s->primary, e);
    for (int i = 0; st == CCAI_OK && i < 2; i++) {
        decoder *d = i == 0 ? s->primary : s->beside;
        if (!d)
            continue;
        cmn_t *cmn = ps_get_feat(d->ps)->cmn_struct;
        mfcc_t v[CMN_MAX];
        for (int32 k = 0; k < cmn->veclen; k++)
            v[k] = s->cmn_len == cmn->veclen ? s->cmn[k] : d->init_cmn[k];
        cmn_live_set(cmn, v);
        /* A new stream for the decoder: its frame count (the words'
         * timings) starts again. */
        if (ps_start_stream(d->ps) < 0 || ps_start_utt(d->ps) < 0)
            st = CCAI_ERR_INTERNAL;
    }
    leave(prev);
    if (st != CCAI_OK) {
        if (st == CCAI_ERR_INTERNAL)
            Ccai_err_set(&s->err, "pocketsphinx could not start decoding (see the log)");
        else if (st == CCAI_ERR_BUSY)
            Ccai_err_set(&s->err, "every pocketsphinx decoder is busy (max_decoders %u)",
                         s->m->p.max_decoders);
        release(s, &s->primary);
        release(s, &s->beside);
        return st;
    }
    e->refs++;
    s->cur = e;
    s->in_utt = true;
    s->ending = s->truncated = false;
    s->utt_start = s->pos;
    s->utt_len = 0;
    return CCAI_OK;
}

/* Call the callback. A stream freed from inside it is marked dead; the
 * public entry point that called us destroys it on the way out. */
static void emit(Ccai_sphinx *s, const Ccai_sphinx_result *r)
{
    s->depth++;
    s->fn(r, s->ud);
    s->depth--;
}

/* The way out of feed/step/end: finish a deferred free. */
static ccai_status unwind(Ccai_sphinx *s, ccai_status st)
{
    if (s->dead && s->depth == 0) {
        s->dead = false;
        Ccai_sphinx_free(s);
        return CCAI_OK;
    }
    return st;
}

static ccai_status partial(Ccai_sphinx *s)
{
    const Ccai_logger *prev = enter(s->m);
    const char *hyp = ps_get_hyp(s->primary->ps, NULL);
    leave(prev);
    if (!hyp || !hyp[0] || (s->partial && strcmp(s->partial, hyp) == 0))
        return CCAI_OK;
    if (!Ccai_str_replace(&s->partial, hyp))
        return CCAI_ERR_NOMEM;
    Ccai_sphinx_result r;
    memset(&r, 0, sizeof r);
    r.event = CCAI_SPHINX_PARTIAL;
    r.expected = s->cur->kind;
    r.text = s->partial;
    r.start_ms = s->utt_start / SAMPLES_PER_MS;
    r.audio_ms = (uint32_t)(s->utt_len / SAMPLES_PER_MS);
    emit(s, &r);
    return CCAI_OK;
}

/* The words of d's final hypothesis, with timings and posteriors. */
static ccai_status collect_words(decoder *d, Ccai_buf *names, Ccai_sphinx_word **ret, size_t *ret_n)
{
    size_t n = 0, cap = 0;
    Ccai_sphinx_word *w = NULL;
    size_t *offs = NULL;
    logmath_t *lmath = ps_get_logmath(d->ps);
    ccai_status st = CCAI_OK;
    for (ps_seg_t *seg = ps_seg_iter(d->ps); seg; seg = ps_seg_next(seg)) {
        const char *word = ps_seg_word(seg);
        /* Fillers (<s>, </s>, <sil>, [NOISE], ...) and a grammar's null
         * transitions ("(NULL)") are not words. */
        if (st != CCAI_OK || !word || word[0] == '<' || word[0] == '[' || word[0] == '+' ||
            word[0] == '(')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            Ccai_sphinx_word *nw = Ccai_realloc(w, cap * sizeof *w);
            size_t *no = Ccai_realloc(offs, cap * sizeof *offs);
            if (nw)
                w = nw;
            if (no)
                offs = no;
            if (!nw || !no) {
                st = CCAI_ERR_NOMEM;
                continue;
            }
        }
        int sf = 0, ef = 0;
        ps_seg_frames(seg, &sf, &ef);
        int32 ascr, lscr, lback;
        int32 post = ps_seg_prob(seg, &ascr, &lscr, &lback);
        size_t len = strcspn(word, "(");
        offs[n] = names->len;
        if (!Ccai_buf_append(names, word, len) || !Ccai_buf_append(names, "", 1)) {
            st = CCAI_ERR_NOMEM;
            continue;
        }
        w[n].start_ms = (uint32_t)(sf < 0 ? 0 : sf) * 10;
        w[n].end_ms = (uint32_t)(ef < 0 ? 0 : ef + 1) * 10;
        double c = logmath_exp(lmath, post);
        w[n].confidence = c > 1 ? 1 : c;
        n++;
    }
    for (size_t i = 0; st == CCAI_OK && i < n; i++)
        w[i].word = names->data + offs[i];
    ccai_free(offs);
    if (st != CCAI_OK) {
        ccai_free(w);
        return st;
    }
    *ret = w;
    *ret_n = n;
    return CCAI_OK;
}

static ccai_status finish(Ccai_sphinx *s)
{
    const Ccai_logger *prev = enter(s->m);
    int rc = ps_end_utt(s->primary->ps);
    if (s->beside && ps_end_utt(s->beside->ps) < 0)
        rc = -1;
    /* Ended here: drop_utterance() below must not end it again
     * (pocketsphinx logs "Utterance is not started" for each). */
    s->in_utt = false;
    Ccai_sphinx_result r;
    memset(&r, 0, sizeof r);
    r.event = CCAI_SPHINX_FINAL;
    r.expected = s->cur->kind;
    r.start_ms = s->utt_start / SAMPLES_PER_MS;
    r.audio_ms = (uint32_t)(s->utt_len / SAMPLES_PER_MS);
    r.truncated = s->truncated;
    const char *hyp = rc < 0 ? NULL : ps_get_hyp(s->primary->ps, NULL);
    char *text = Ccai_strdup(hyp ? hyp : "");
    /* ps_get_prob() computes the lattice posteriors the words' confidences
     * come from. */
    if (hyp && hyp[0])
        ps_get_prob(s->primary->ps);
    const char *free_hyp = s->beside && rc >= 0 ? ps_get_hyp(s->beside->ps, NULL) : NULL;
    char *free_text = s->beside ? Ccai_strdup(free_hyp ? free_hyp : "") : NULL;
    Ccai_buf names = {0};
    Ccai_sphinx_word *words = NULL;
    ccai_status st = text && (!s->beside || free_text) ? CCAI_OK : CCAI_ERR_NOMEM;
    if (st == CCAI_OK && hyp && hyp[0])
        st = collect_words(s->primary, &names, &words, &r.n_words);
    leave(prev);
    /* The hypothesis' confidence: the mean of its words' posteriors (the
     * product, pocketsphinx's own figure, is ~0 for any long sentence). */
    for (size_t i = 0; st == CCAI_OK && i < r.n_words; i++)
        r.confidence += words[i].confidence / (double)r.n_words;
    if (st == CCAI_OK && rc < 0) {
        Ccai_err_set(&s->err, "pocketsphinx could not finish the utterance (see the log)");
        st = CCAI_ERR_INTERNAL;
    }
    if (st == CCAI_OK && s->cur->kind != CCAI_SPEECH_FREE) {
        st = Ccai_slot_interpret(s->cur->kind, text, (const char *const *)s->cur->choices,
                                 s->cur->n, &r.slot);
        if (r.slot.matched && r.confidence < s->m->p.min_confidence) {
            r.slot.matched = false;
            r.slot.value[0] = '\0';
        }
    }
    /* The decoders go back before the callback, which may start the next
     * utterance. */
    drop_utterance(s, false);
    if (st == CCAI_OK) {
        r.text = text;
        r.free_text = free_text;
        r.words = words;
        emit(s, &r);
    }
    ccai_free(text);
    ccai_free(free_text);
    ccai_free(words);
    Ccai_buf_free(&names);
    return st;
}

/* Decode up to one slice of the queue (the whole of it when ending is not
 * pending is still one slice); finish an ended or over-long utterance. */
static ccai_status decode_slice(Ccai_sphinx *s)
{
    if (!s->in_utt)
        return CCAI_OK;
    size_t slice = (size_t)s->m->p.slice_ms * SAMPLES_PER_MS;
    size_t max_utt = (size_t)s->m->p.max_utterance_ms * SAMPLES_PER_MS;
    size_t n = s->q_len < slice ? s->q_len : slice;
    if (s->utt_len + n > max_utt)
        n = max_utt - (size_t)s->utt_len;
    if (n > 0) {
        const Ccai_logger *prev = enter(s->m);
        int rc = ps_process_raw(s->primary->ps, s->queue, n, FALSE, FALSE);
        if (rc >= 0 && s->beside)
            rc = ps_process_raw(s->beside->ps, s->queue, n, FALSE, FALSE);
        leave(prev);
        memmove(s->queue, s->queue + n, (s->q_len - n) * sizeof *s->queue);
        s->q_len -= n;
        s->pos += n;
        s->utt_len += n;
        if (rc < 0) {
            Ccai_err_set(&s->err, "pocketsphinx failed to decode (see the log)");
            drop_utterance(s, true);
            return CCAI_ERR_INTERNAL;
        }
        ccai_status st = partial(s);
        if (st != CCAI_OK || s->dead || !s->in_utt)
            return st;
    }
    if (s->utt_len >= max_utt) {
        s->truncated = true;
        /* What is left of the queue starts the next utterance. */
        bool was_ending = s->ending;
        ccai_status st = finish(s);
        if (st != CCAI_OK || s->dead || s->q_len == 0 || s->in_utt)
            return st;
        st = start_utterance(s);
        if (st != CCAI_OK) {
            s->q_len = 0;
            return st;
        }
        s->ending = was_ending;
        return CCAI_OK;
    }
    if (s->ending && s->q_len == 0)
        return finish(s);
    return CCAI_OK;
}

ccai_status Ccai_sphinx_feed(Ccai_sphinx *s, const uint8_t *audio, size_t len)
{
    if (!s || s->dead || (!audio && len))
        return CCAI_ERR_INVALID_ARG;
    if (s->ending) {
        Ccai_err_set(&s->err, "the utterance was ended: its FINAL comes first");
        return CCAI_ERR_STATE;
    }
    size_t cap = Ccai_media_converter_max_out(s->conv, len);
    if (cap > s->scratch_cap) {
        uint8_t *b = Ccai_realloc(s->scratch, cap);
        if (!b)
            return CCAI_ERR_NOMEM;
        s->scratch = b;
        s->scratch_cap = cap;
    }
    size_t max_q = (size_t)s->m->p.max_queue_ms * SAMPLES_PER_MS;
    if (s->q_len + cap / 2 > max_q) {
        Ccai_err_set(&s->err, "more than %u ms of audio waiting to be decoded",
                     s->m->p.max_queue_ms);
        return CCAI_ERR_LIMIT;
    }
    if (s->q_cap < s->q_len + cap / 2) {
        size_t qcap = s->q_cap ? s->q_cap : (size_t)s->m->p.slice_ms * SAMPLES_PER_MS * 4;
        while (qcap < s->q_len + cap / 2)
            qcap *= 2;
        int16_t *q = Ccai_realloc(s->queue, qcap * sizeof *q);
        if (!q)
            return CCAI_ERR_NOMEM;
        s->queue = q;
        s->q_cap = qcap;
    }
    if (!s->in_utt) {
        ccai_status st = start_utterance(s);
        if (st != CCAI_OK)
            return st;
    }
    size_t out = 0;
    ccai_status st = Ccai_media_convert(s->conv, audio, len, s->scratch, s->scratch_cap, &out);
    if (st != CCAI_OK)
        return st;
    Ccai_pcm16le_read(s->scratch, out / 2, s->queue + s->q_len);
    s->q_len += out / 2;
    return unwind(s, decode_slice(s));
}

ccai_status Ccai_sphinx_step(Ccai_sphinx *s)
{
    if (!s || s->dead)
        return CCAI_ERR_INVALID_ARG;
    return unwind(s, decode_slice(s));
}

uint32_t Ccai_sphinx_pending_ms(const Ccai_sphinx *s)
{
    if (!s || !s->in_utt)
        return 0;
    uint32_t ms = (uint32_t)(s->q_len / SAMPLES_PER_MS);
    return s->ending && ms == 0 ? 1 : ms;
}

ccai_status Ccai_sphinx_end(Ccai_sphinx *s)
{
    if (!s || s->dead)
        return CCAI_ERR_INVALID_ARG;
    if (!s->in_utt) {
        Ccai_sphinx_result r;
        memset(&r, 0, sizeof r);
        r.event = CCAI_SPHINX_FINAL;
        r.expected = s->next->kind;
        r.text = "";
        r.free_text = s->next->also_free ? "" : NULL;
        r.start_ms = s->pos / SAMPLES_PER_MS;
        emit(s, &r);
        return unwind(s, CCAI_OK);
    }
    s->ending = true;
    if (s->q_len == 0)
        return unwind(s, finish(s));
    return CCAI_OK;
}
