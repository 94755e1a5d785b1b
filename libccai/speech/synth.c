/* Offline TTS streams over flite and espeak-ng (see tts.h). */
#include "speech/synth.h"

#include "media/resample.h"
#include "speech/espeak.h"
#include "speech/tts_text.h"
#ifdef CCAI_HAVE_FLITE
#include "speech/flite.h"
#endif

#include <speex/speex_resampler.h>
#include <stdio.h>
#include <string.h>

#define QUEUE_MAX 256

typedef struct text_item {
    uint32_t id;
    Ccai_synth_text pieces;
    size_t next; /* the piece to synthesise next */
} text_item;

struct Ccai_synth {
    Ccai_synth_params p;
    char *voice, *program;
    Ccai_synth_sink sink;
    void *ud;
#ifdef CCAI_HAVE_FLITE
    const Ccai_flite_voice *fv;
#endif
    uint32_t native_rate;
    /* Output: native rate -> (speexdsp for a rate media/ lacks) -> the
     * converter -> frames. */
    SpeexResamplerState *pre; /* espeak-ng's 22.05 kHz to out.rate */
    Ccai_media_converter *conv;
    uint8_t *frame;
    size_t frame_len, frame_cap;
    uint8_t *scratch;
    size_t scratch_cap;
    int16_t *pre_buf;
    size_t pre_cap;
    text_item *q;
    size_t q_head, q_len;
    uint32_t next_id;
    Ccai_espeak_job *job;
    Ccai_err err;
    bool stopped;     /* the sink returned false during this step */
    ccai_status fail; /* the output stage failed during this step */
    int depth;
    bool dead;
};

void Ccai_synth_params_default(Ccai_synth_params *p)
{
    memset(p, 0, sizeof *p);
    p->engine = CCAI_SYNTH_FLITE;
    p->rate = 1.0;
    p->out.encoding = CCAI_MEDIA_PCM16;
    p->out.rate = 16000;
    p->out.channels = 1;
    p->frame_ms = 20;
    p->espeak_program = "espeak-ng";
}

Ccai_synth_engine Ccai_synth_engine_for(const char *language)
{
    bool en = language && (language[0] == 'e' || language[0] == 'E') &&
              (language[1] == 'n' || language[1] == 'N') &&
              (language[2] == '\0' || language[2] == '-' || language[2] == '_');
    return en || !language ? CCAI_SYNTH_FLITE : CCAI_SYNTH_ESPEAK;
}

bool Ccai_synth_engine_available(Ccai_synth_engine e)
{
#ifdef CCAI_HAVE_FLITE
    if (e == CCAI_SYNTH_FLITE)
        return true;
#endif
    return e == CCAI_SYNTH_ESPEAK;
}

static void pop(Ccai_synth *t)
{
    Ccai_synth_text_clear(&t->q[t->q_head].pieces);
    t->q_head = (t->q_head + 1) % QUEUE_MAX;
    t->q_len--;
}

static void destroy(Ccai_synth *t)
{
    Ccai_espeak_job_free(t->job);
    while (t->q_len)
        pop(t);
    ccai_free(t->q);
    if (t->pre)
        speex_resampler_destroy(t->pre);
    Ccai_media_converter_free(t->conv);
    ccai_free(t->frame);
    ccai_free(t->scratch);
    ccai_free(t->pre_buf);
    ccai_free(t->voice);
    ccai_free(t->program);
    Ccai_err_free(&t->err);
    ccai_free(t);
}

void Ccai_synth_free(Ccai_synth *t)
{
    if (!t)
        return;
    if (t->depth > 0) {
        t->dead = true;
        return;
    }
    destroy(t);
}

static ccai_status unwind(Ccai_synth *t, ccai_status st)
{
    if (t->dead && t->depth == 0) {
        destroy(t);
        return CCAI_OK;
    }
    return st;
}

ccai_status Ccai_synth_new(const Ccai_synth_params *p, const Ccai_synth_sink *sink, void *ud,
                           Ccai_synth **ret, Ccai_err *err)
{
    Ccai_synth_params defaults;
    if (!p) {
        Ccai_synth_params_default(&defaults);
        p = &defaults;
    }
    if (!sink || !sink->audio || !sink->done || !ret) {
        if (err)
            Ccai_err_set(err, "tts: a sink with both callbacks is needed");
        return CCAI_ERR_INVALID_ARG;
    }
    if (!Ccai_media_format_valid(&p->out) || !(p->rate >= CCAI_SYNTH_RATE_MIN) ||
        !(p->rate <= CCAI_SYNTH_RATE_MAX) || p->frame_ms < 10 || p->frame_ms > 1000) {
        if (err)
            Ccai_err_set(err, "tts: output format, rate (0.5..2) or frame_ms (10..1000) invalid");
        return CCAI_ERR_INVALID_ARG;
    }
    if (p->engine != CCAI_SYNTH_FLITE && p->engine != CCAI_SYNTH_ESPEAK) {
        if (err)
            Ccai_err_set(err, "tts: unknown engine %d", (int)p->engine);
        return CCAI_ERR_INVALID_ARG;
    }
    if (!Ccai_synth_engine_available(p->engine)) {
        if (err)
            Ccai_err_set(err, "tts: this build has no flite (Debian: apt-get install flite1-dev)");
        return CCAI_ERR_UNSUPPORTED;
    }
    char voice[48];
    if (p->engine == CCAI_SYNTH_FLITE) {
        if (p->language && Ccai_synth_engine_for(p->language) != CCAI_SYNTH_FLITE) {
            if (err)
                Ccai_err_set(err, "tts: flite speaks English only, not %s", p->language);
            return CCAI_ERR_UNSUPPORTED;
        }
        snprintf(voice, sizeof voice, "%s", p->voice ? p->voice : "kal16");
    } else {
        bool ok = p->voice ? (Ccai_espeak_voice_valid(p->voice) && strlen(p->voice) < sizeof voice)
                           : Ccai_espeak_voice_for(p->language ? p->language : "en-us", voice,
                                                   sizeof voice);
        if (ok && p->voice)
            snprintf(voice, sizeof voice, "%s", p->voice);
        if (!ok || !p->espeak_program || !p->espeak_program[0]) {
            if (err)
                Ccai_err_set(err, "tts: espeak-ng voice or program invalid");
            return CCAI_ERR_INVALID_ARG;
        }
    }
    Ccai_synth *t = Ccai_calloc(1, sizeof *t);
    if (!t)
        return CCAI_ERR_NOMEM;
    t->p = *p;
    t->sink = *sink;
    t->ud = ud;
    t->voice = Ccai_strdup(voice);
    t->program = Ccai_strdup(p->espeak_program ? p->espeak_program : "espeak-ng");
    t->q = Ccai_calloc(QUEUE_MAX, sizeof *t->q);
    t->frame_cap = Ccai_media_bytes_per_ms(&p->out, p->frame_ms);
    t->frame = Ccai_malloc(t->frame_cap);
    ccai_status st = t->voice && t->program && t->q && t->frame ? CCAI_OK : CCAI_ERR_NOMEM;
    t->p.voice = t->p.language = t->p.espeak_program = NULL;
#ifdef CCAI_HAVE_FLITE
    if (st == CCAI_OK && p->engine == CCAI_SYNTH_FLITE) {
        st = Ccai_flite_voice_get(voice, &t->fv);
        if (st == CCAI_OK)
            t->native_rate = Ccai_flite_voice_rate(t->fv);
        else if (err)
            Ccai_err_set(err, "tts: flite has no voice \"%s\"", voice);
    }
#endif
    if (p->engine == CCAI_SYNTH_ESPEAK)
        t->native_rate = CCAI_ESPEAK_RATE;
    /* The converter takes PCM at a rate media/ supports: the voice's own
     * (flite: 8 or 16 kHz) or, after speexdsp, the output's. */
    uint32_t conv_rate = t->native_rate;
    if (st == CCAI_OK && conv_rate != 8000 && conv_rate != 16000 && conv_rate != 24000 &&
        conv_rate != 48000) {
        int e = 0;
        t->pre = speex_resampler_init(1, conv_rate, p->out.rate, CCAI_RESAMPLE_QUALITY_DEFAULT, &e);
        if (!t->pre)
            st = CCAI_ERR_NOMEM;
        conv_rate = p->out.rate;
    }
    if (st == CCAI_OK) {
        Ccai_media_format from = {CCAI_MEDIA_PCM16, conv_rate, 1};
        st = Ccai_media_converter_new(&from, &p->out, CCAI_RESAMPLE_QUALITY_DEFAULT, &t->conv);
    }
    if (st != CCAI_OK) {
        destroy(t);
        return st;
    }
    *ret = t;
    return CCAI_OK;
}

uint32_t Ccai_synth_native_rate(const Ccai_synth *t)
{
    return t->native_rate;
}

ccai_status Ccai_synth_say(Ccai_synth *t, const char *text, size_t len, uint32_t *ret_id)
{
    if (!t || t->dead || (!text && len))
        return CCAI_ERR_INVALID_ARG;
    if (t->q_len == QUEUE_MAX)
        return CCAI_ERR_LIMIT;
    text_item item = {0};
    ccai_status st = Ccai_synth_text_parse(text, len, t->p.rate, &item.pieces);
    if (st != CCAI_OK) {
        Ccai_synth_text_clear(&item.pieces);
        return st;
    }
    item.id = ++t->next_id;
    t->q[(t->q_head + t->q_len) % QUEUE_MAX] = item;
    t->q_len++;
    if (ret_id)
        *ret_id = item.id;
    return CCAI_OK;
}

bool Ccai_synth_busy(const Ccai_synth *t)
{
    return t && !t->dead && t->q_len > 0;
}

static bool ensure(void **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return true;
    void *b = Ccai_realloc(*buf, need);
    if (!b)
        return false;
    *buf = b;
    *cap = need;
    return true;
}

/* Hand out the frames the buffer holds; false when the sink stops. */
static bool emit_frames(Ccai_synth *t, const uint8_t *data, size_t len)
{
    while (len) {
        size_t take = t->frame_cap - t->frame_len;
        if (take > len)
            take = len;
        memcpy(t->frame + t->frame_len, data, take);
        t->frame_len += take;
        data += take;
        len -= take;
        if (t->frame_len == t->frame_cap) {
            t->frame_len = 0;
            t->depth++;
            bool go = t->sink.audio(t->ud, t->frame, t->frame_cap);
            t->depth--;
            if (!go || t->dead) {
                t->stopped = true;
                return false;
            }
        }
    }
    return true;
}

/* Engine audio: resample if needed, convert, cut into frames. */
static bool on_pcm(void *ud, const int16_t *pcm, size_t n, uint32_t rate)
{
    Ccai_synth *t = ud;
    if (t->stopped || t->dead || t->fail != CCAI_OK)
        return false;
    (void)rate; /* the engine's rate is the voice's, fixed at creation */
    const int16_t *in = pcm;
    size_t in_n = n;
    if (t->pre) {
        size_t cap = (size_t)((uint64_t)n * t->p.out.rate / t->native_rate) + 16;
        if (!ensure((void **)&t->pre_buf, &t->pre_cap, cap * sizeof *t->pre_buf)) {
            t->fail = CCAI_ERR_NOMEM;
            return false;
        }
        spx_uint32_t il = (spx_uint32_t)n, ol = (spx_uint32_t)cap;
        speex_resampler_process_int(t->pre, 0, pcm, &il, t->pre_buf, &ol);
        in = t->pre_buf;
        in_n = ol;
    }
    uint8_t le[2048];
    while (in_n) {
        size_t k = in_n < sizeof le / 2 ? in_n : sizeof le / 2;
        Ccai_pcm16le_write(in, k, le);
        size_t cap = Ccai_media_converter_max_out(t->conv, k * 2), out = 0;
        if (!ensure((void **)&t->scratch, &t->scratch_cap, cap)) {
            t->fail = CCAI_ERR_NOMEM;
            return false;
        }
        ccai_status st = Ccai_media_convert(t->conv, le, k * 2, t->scratch, t->scratch_cap, &out);
        if (st != CCAI_OK) {
            t->fail = st;
            return false;
        }
        if (!emit_frames(t, t->scratch, out))
            return false;
        in += k;
        in_n -= k;
    }
    return true;
}

static void done(Ccai_synth *t, ccai_status st)
{
    uint32_t id = t->q[t->q_head].id;
    pop(t);
    t->depth++;
    t->sink.done(t->ud, id, st);
    t->depth--;
}

/* The end of a text: its last, shorter frame, and the output stage reset
 * for the next one. */
static void finish_text(Ccai_synth *t)
{
    if (t->frame_len) {
        size_t len = t->frame_len;
        t->frame_len = 0;
        t->depth++;
        bool go = t->sink.audio(t->ud, t->frame, len);
        t->depth--;
        if (!go)
            t->stopped = true;
    }
    if (t->pre)
        speex_resampler_reset_mem(t->pre);
    /* A converter that cannot forget keeps a few samples of resampler
     * history (speexdsp refuses only a state it never had): the next text
     * starts with them, nothing depends on it. */
    CCAI_DISCARD(Ccai_media_converter_reset(t->conv));
}

static void cancel_all(Ccai_synth *t)
{
    Ccai_espeak_job_free(t->job);
    t->job = NULL;
    t->frame_len = 0;
    if (t->pre)
        speex_resampler_reset_mem(t->pre);
    CCAI_DISCARD(Ccai_media_converter_reset(t->conv)); /* as in finish_text() */
    while (t->q_len && !t->dead)
        done(t, CCAI_ERR_CANCELLED);
    t->stopped = false;
}

void Ccai_synth_cancel(Ccai_synth *t)
{
    if (!t || t->dead)
        return;
    cancel_all(t);
    unwind(t, CCAI_OK);
}

static ccai_status wpm_of(double rate, uint32_t *ret)
{
    double w = CCAI_ESPEAK_WPM_DEFAULT * rate;
    *ret = w < 80 ? 80 : w > 450 ? 450 : (uint32_t)(w + 0.5);
    return CCAI_OK;
}

/* One step on the head text: a piece through flite, or espeak-ng's pipes. */
static void step_text(Ccai_synth *t)
{
    text_item *it = &t->q[t->q_head];
    ccai_status st = CCAI_OK;
    if (t->p.engine == CCAI_SYNTH_ESPEAK) {
        if (!t->job && it->next < it->pieces.n) {
            uint32_t wpm;
            wpm_of(it->pieces.v[it->next].rate, &wpm);
            st = Ccai_espeak_job_start(t->program, t->voice, wpm, it->pieces.v[it->next].text,
                                       &t->job, &t->err);
            if (st == CCAI_OK)
                it->next++;
        }
        if (st == CCAI_OK && t->job) {
            bool finished = false;
            st = Ccai_espeak_job_io(t->job, on_pcm, t, &finished, &t->err);
            if (t->stopped)
                st = CCAI_ERR_CANCELLED;
            else if (t->fail != CCAI_OK)
                st = t->fail;
            if (!finished && st == CCAI_OK)
                return;
            Ccai_espeak_job_free(t->job);
            t->job = NULL;
        }
    }
#ifdef CCAI_HAVE_FLITE
    else if (it->next < it->pieces.n) {
        const Ccai_synth_piece *pc = &it->pieces.v[it->next++];
        st = Ccai_flite_speak(t->fv, pc->text, pc->rate, on_pcm, t);
        if (t->stopped)
            st = CCAI_ERR_CANCELLED;
        else if (t->fail != CCAI_OK)
            st = t->fail; /* our own stop */
    }
#endif
    if (st == CCAI_ERR_CANCELLED || t->dead) {
        cancel_all(t);
        return;
    }
    if (st != CCAI_OK) {
        /* This text failed: what was made of it is dropped, the next one
         * goes on. */
        t->fail = CCAI_OK;
        Ccai_espeak_job_free(t->job);
        t->job = NULL;
        t->frame_len = 0;
        CCAI_DISCARD(Ccai_media_converter_reset(t->conv)); /* as in finish_text() */
        if (t->pre)
            speex_resampler_reset_mem(t->pre);
        done(t, st);
        return;
    }
    if (it->next == it->pieces.n && !t->job) {
        finish_text(t);
        if (t->stopped || t->dead)
            cancel_all(t);
        else
            done(t, CCAI_OK);
    }
}

ccai_status Ccai_synth_step(Ccai_synth *t)
{
    if (!t || t->dead)
        return CCAI_ERR_INVALID_ARG;
    if (t->q_len)
        step_text(t);
    return unwind(t, CCAI_OK);
}

size_t Ccai_synth_fds(const Ccai_synth *t, Ccai_synth_fd *fds, size_t cap)
{
    if (!t || t->dead || !t->job)
        return 0;
    return Ccai_espeak_job_fds(t->job, fds, cap);
}
