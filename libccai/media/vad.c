/* Energy VAD with a minimum-statistics noise floor (see vad.h). */
#include "media/vad.h"

#include <math.h>
#include <speex/speex_preprocess.h>
#include <string.h>

#define FRAME_MS    20
#define MAX_FRAME   960 /* 20 ms at 48 kHz */
#define SUB_FRAMES  10  /* frames per sub-window of the minimum (200 ms) */
#define N_SUB       10  /* sub-windows remembered: the floor looks back ~2 s */
#define LEVEL_MIN   (-100.0)
#define HIGHPASS_HZ 120.0
#define SMOOTH      0.8 /* per 20 ms frame: a time constant of ~90 ms */

void Ccai_vad_params_default(Ccai_vad_params *p)
{
    p->threshold = 0.05;
    p->silence_timeout_ms = 500;
    p->cutoff_timeout_ms = 250;
    p->min_speech_ms = 150;
    p->hangover_ms = 160;
    p->snr_db = 9.0;
    p->hysteresis_db = 3.0;
    p->denoise = false;
    p->agc = false;
}

struct Ccai_vad {
    Ccai_vad_params p;
    uint32_t rate;
    size_t frame;              /* samples per analysis frame */
    double abs_db;             /* the vad_threshold level */
    double b0, b1, b2, a1, a2; /* high-pass biquad */
    double x1, x2, y1, y2;     /* its state */
    SpeexPreprocessState *pre; /* NULL unless denoise or agc */
    double sub_min[N_SUB];     /* minimum level of each past sub-window */
    size_t n_sub;              /* sub-windows filled (<= N_SUB) */
    size_t sub_pos;            /* the next one to overwrite */
    size_t in_sub;             /* frames in the current sub-window */
    double cur_min;            /* its minimum so far */
    double smooth;             /* smoothed frame power (linear) */
    /* The segment: from a voiced frame until vad_silence_timeout_ms without
     * one; its runs bridge gaps up to the hang-over. Times in samples. */
    uint64_t pos; /* samples fed */
    bool open, started;
    uint64_t onset, last_voiced_end, voiced;
    uint64_t run_onset, run_voiced;
    uint64_t run_end;     /* the run's last voiced or masked frame ends here */
    uint64_t under_since; /* loud frames under the gate since (UINT64_MAX: none) */
    uint64_t under_end;   /* the last of them ends here */
    uint64_t hist;        /* voiced frames, the newest in bit 0 */
    bool run_masked;      /* the run went on through masked frames */
    size_t acc_n;         /* samples of the frame being filled */
    int16_t acc[MAX_FRAME];
    int16_t work[MAX_FRAME]; /* preprocessed copy */
};

static CCAI_MUST_CHECK bool params_ok(const Ccai_vad_params *p)
{
    return p->threshold >= 0.0 && p->threshold <= 10.0 && p->silence_timeout_ms >= 20 &&
           p->silence_timeout_ms <= 60000 && p->cutoff_timeout_ms >= 20 &&
           p->cutoff_timeout_ms <= 60000 && p->min_speech_ms <= 60000 && p->hangover_ms <= 60000 &&
           p->snr_db >= 0.0 && p->snr_db <= 60.0 && p->hysteresis_db >= 0.0 &&
           p->hysteresis_db <= p->snr_db;
}

static void init_highpass(Ccai_vad *v)
{
    /* RBJ cookbook high-pass, Q = 1/sqrt(2) (Butterworth). */
    const double pi = 3.14159265358979323846;
    double w0 = 2.0 * pi * HIGHPASS_HZ / (double)v->rate;
    double c = cos(w0), alpha = sin(w0) / (2.0 * 0.70710678118654752);
    double a0 = 1.0 + alpha;
    v->b0 = (1.0 + c) / 2.0 / a0;
    v->b1 = -(1.0 + c) / a0;
    v->b2 = (1.0 + c) / 2.0 / a0;
    v->a1 = -2.0 * c / a0;
    v->a2 = (1.0 - alpha) / a0;
}

ccai_status Ccai_vad_new(const Ccai_vad_params *p, uint32_t rate, Ccai_vad **ret)
{
    if (!p || !ret || !params_ok(p) ||
        (rate != 8000 && rate != 16000 && rate != 24000 && rate != 48000))
        return CCAI_ERR_INVALID_ARG;
    Ccai_vad *v = Ccai_calloc(1, sizeof *v);
    if (!v)
        return CCAI_ERR_NOMEM;
    v->p = *p;
    v->rate = rate;
    v->frame = (size_t)rate * FRAME_MS / 1000;
    v->under_since = UINT64_MAX;
    v->abs_db = p->threshold > 0.0 ? 20.0 * log10(p->threshold / 10.0) : 2.0 * LEVEL_MIN;
    init_highpass(v);
    if (p->denoise || p->agc) {
        v->pre = speex_preprocess_state_init((int)v->frame, (int)rate);
        if (!v->pre) {
            ccai_free(v);
            return CCAI_ERR_NOMEM;
        }
        /* Only what was asked for. speexdsp's own VAD stays off: it is off
         * by default, and even switching it off prints a warning. */
        int on = p->denoise ? 1 : 0;
        if (speex_preprocess_ctl(v->pre, SPEEX_PREPROCESS_SET_DENOISE, &on) != 0)
            goto fail;
        on = p->agc ? 1 : 0;
        if (speex_preprocess_ctl(v->pre, SPEEX_PREPROCESS_SET_AGC, &on) != 0)
            goto fail;
    }
    *ret = v;
    return CCAI_OK;
fail:
    speex_preprocess_state_destroy(v->pre);
    ccai_free(v);
    return CCAI_ERR_INTERNAL;
}

void Ccai_vad_free(Ccai_vad *v)
{
    if (!v)
        return;
    if (v->pre)
        speex_preprocess_state_destroy(v->pre);
    ccai_free(v);
}

double Ccai_media_level_db(const int16_t *pcm, size_t n)
{
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += (double)pcm[i] * (double)pcm[i];
    if (!n || sum <= 0.0)
        return LEVEL_MIN;
    double db = 10.0 * log10(sum / (double)n / (32768.0 * 32768.0));
    return db < LEVEL_MIN ? LEVEL_MIN : db;
}

/* Level of the high-passed frame, in dBFS. */
static double frame_level(Ccai_vad *v, const int16_t *x)
{
    double sum = 0.0;
    for (size_t i = 0; i < v->frame; i++) {
        double in = (double)x[i];
        double y = v->b0 * in + v->b1 * v->x1 + v->b2 * v->x2 - v->a1 * v->y1 - v->a2 * v->y2;
        v->x2 = v->x1;
        v->x1 = in;
        v->y2 = v->y1;
        v->y1 = y;
        sum += y * y;
    }
    /* Keep denormals out of the recursion after long digital silence. */
    if (fabs(v->y1) < 1e-9 && fabs(v->y2) < 1e-9)
        v->y1 = v->y2 = 0.0;
    if (sum <= 0.0)
        return LEVEL_MIN;
    double db = 10.0 * log10(sum / (double)v->frame / (32768.0 * 32768.0));
    return db < LEVEL_MIN ? LEVEL_MIN : db;
}

/* Minimum statistics: the floor is the lowest smoothed level of the last
 * N_SUB sub-windows and of the current one. Smoothing the power first
 * (time constant ~100 ms) keeps the minimum near the noise's mean rather
 * than its deepest dips, which matters for fluctuating noise (babble). */
static double update_floor(Ccai_vad *v, double level)
{
    double power = pow(10.0, level / 10.0);
    v->smooth = v->pos == 0 ? power : SMOOTH * v->smooth + (1.0 - SMOOTH) * power;
    level = 10.0 * log10(v->smooth > 1e-10 ? v->smooth : 1e-10);
    if (v->in_sub == 0 || level < v->cur_min)
        v->cur_min = level;
    v->in_sub++;
    double floor_db = v->cur_min;
    for (size_t i = 0; i < v->n_sub; i++)
        if (v->sub_min[i] < floor_db)
            floor_db = v->sub_min[i];
    if (v->in_sub == SUB_FRAMES) {
        v->sub_min[v->sub_pos] = v->cur_min;
        v->sub_pos = (v->sub_pos + 1) % N_SUB;
        if (v->n_sub < N_SUB)
            v->n_sub++;
        v->in_sub = 0;
    }
    return floor_db;
}

static uint64_t to_ms(const Ccai_vad *v, uint64_t samples)
{
    return samples * 1000u / v->rate;
}

static void analyse(Ccai_vad *v, const int16_t *x, double gate_db, Ccai_vad_fn fn, void *ud)
{
    if (v->pre) {
        memcpy(v->work, x, v->frame * sizeof *x);
        /* Its result is speexdsp's VAD decision, switched off here. */
        (void)speex_preprocess_run(v->pre, v->work);
        x = v->work;
    }
    uint64_t start = v->pos, end = v->pos + v->frame;
    uint64_t hang = (uint64_t)v->p.hangover_ms * v->rate / 1000;
    uint64_t cutoff = (uint64_t)v->p.cutoff_timeout_ms * v->rate / 1000;
    uint64_t silence = (uint64_t)v->p.silence_timeout_ms * v->rate / 1000;
    bool in_run = v->open && start - v->run_end <= hang;

    double level = frame_level(v, x);
    double floor_db = update_floor(v, level);
    double rel = floor_db + v->p.snr_db - (in_run ? v->p.hysteresis_db : 0.0);
    double thr = v->abs_db;
    if (rel > thr)
        thr = rel;
    bool loud = level >= thr;
    if (gate_db > thr)
        thr = gate_db;
    bool voiced = level >= thr;
    /* Masked: speech but for the gate (the bot's echo is as loud). The
     * caller may be talking under it: it does not break a run, nor count
     * as voiced. */
    bool masked = loud && !voiced && in_run;
    /* A run that begins out of such frames began under the echo: its
     * onset is taken back over them, by half the cut-off at most (the
     * start still needs half the cut-off voiced). */
    uint64_t onset = start;
    if (v->under_since != UINT64_MAX)
        onset = start - v->under_since > cutoff / 2 ? start - cutoff / 2 : v->under_since;
    if (loud && !voiced) {
        if (v->under_since == UINT64_MAX)
            v->under_since = start;
        v->under_end = end;
    } else if (voiced || start - v->under_end > hang) {
        v->under_since = UINT64_MAX; /* gaps up to the hang-over join them */
    }

    Ccai_vad_event ev = {0};
    bool have_ev = false;
    if (voiced) {
        if (!v->open) {
            v->open = true;
            v->started = false;
            v->onset = v->run_onset = onset;
            v->voiced = v->run_voiced = 0;
            v->run_masked = false;
        } else if (!in_run) {
            v->run_onset = onset;
            v->run_voiced = 0;
            v->run_masked = false;
        }
        v->voiced += v->frame;
        v->run_voiced += v->frame;
        v->last_voiced_end = end;
    }
    v->hist = v->hist << 1 | (voiced ? 1u : 0u);
    if (voiced || masked) {
        v->run_end = end;
        if (masked)
            v->run_masked = true;
        /* Half the cut-off voiced: over the run, or, when masked frames
         * held it together, within the last cut-off (the echo let through
         * now and then is no caller). */
        uint64_t heard = v->run_voiced;
        if (v->run_masked) {
            size_t k = (size_t)((cutoff + v->frame - 1) / v->frame);
            heard = 0;
            for (size_t b = 0; b < k && b < 64; b++)
                heard += (v->hist >> b & 1u) * v->frame;
        }
        /* The last frame that ends within the cut-off of the run's onset
         * decides (240 ms for 250 on 20 ms frames): the start is never
         * later than the cut-off after the onset. */
        if (!v->started && end - v->run_onset + v->frame > cutoff && 2 * heard >= cutoff) {
            v->started = true;
            ev.kind = CCAI_VAD_SPEECH_START;
            have_ev = true;
        }
    }
    if (!voiced && !have_ev && v->open && end - v->last_voiced_end >= silence) {
        v->open = false;
        bool turn = v->voiced * 1000u >= (uint64_t)v->p.min_speech_ms * v->rate;
        if (turn || v->started) {
            ev.kind = CCAI_VAD_SPEECH_END;
            ev.turn = turn;
            have_ev = true;
        }
    }
    if (have_ev) {
        ev.at_ms = to_ms(v, end);
        ev.onset_ms = to_ms(v, v->onset);
        ev.last_voiced_ms = to_ms(v, v->last_voiced_end);
        ev.voiced_ms = (uint32_t)to_ms(v, v->voiced);
        ev.started = v->started;
    }
    Ccai_vad_frame f = {
        .start_ms = to_ms(v, start),
        .voiced = voiced,
        .speech = voiced || (v->open && end - v->last_voiced_end <= hang),
        .level_db = (float)level,
        .floor_db = (float)floor_db,
        .threshold_db = (float)thr,
    };
    v->pos = end;
    if (fn)
        fn(&f, have_ev ? &ev : NULL, ud);
}

void Ccai_vad_process(Ccai_vad *v, const int16_t *pcm, size_t n, double gate_db, Ccai_vad_fn fn,
                      void *ud)
{
    while (n) {
        if (v->acc_n == 0 && n >= v->frame) {
            analyse(v, pcm, gate_db, fn, ud);
            pcm += v->frame;
            n -= v->frame;
            continue;
        }
        size_t take = v->frame - v->acc_n;
        if (take > n)
            take = n;
        memcpy(v->acc + v->acc_n, pcm, take * sizeof *pcm);
        v->acc_n += take;
        pcm += take;
        n -= take;
        if (v->acc_n == v->frame) {
            v->acc_n = 0;
            analyse(v, v->acc, gate_db, fn, ud);
        }
    }
}

uint64_t Ccai_vad_position_ms(const Ccai_vad *v)
{
    return to_ms(v, v->pos + v->acc_n);
}

bool Ccai_vad_in_speech(const Ccai_vad *v)
{
    return v->open && v->started;
}
