/* Echo gate and speexdsp echo canceller (see echo.h). */
#include "media/echo.h"

#include "media/vad.h"

#include <speex/speex_echo.h>

#define SLOT_MS     10
#define MAX_DELAY   2000
#define QUIET_LEVEL (-100.0)
/* Adaptive: bot audio quieter than this says nothing of the echo path. */
#define FAR_ACTIVE_DB (-50.0)
/* Adaptive: the measured ERL is the smallest difference seen, which the
 * echo only approaches when its frame meets the loudest bot slot: the gate
 * keeps this much above it (G.711 quantisation, slot boundaries). */
#define ADAPT_MARGIN_DB 3.0
#define MAX_MEASURES    512 /* erl_window_ms / 10 ms frames at most */
#define MAX_WINDOW      5000

void Ccai_echo_gate_params_default(Ccai_echo_gate_params *p)
{
    p->min_delay_ms = 0;
    p->max_delay_ms = 300;
    p->erl_db = 6.0;
    p->margin_db = 0.0;
    p->adaptive = true;
    p->max_erl_db = 40.0;
    p->erl_window_ms = 3000;
}

/* Bot levels on a 10 ms grid: slot k covers [k * 10, k * 10 + 10) ms of
 * the host's clock; a ring of n_slots holds the recent ones, each tagged
 * with its k so a stale one is recognised. */
typedef struct slot {
    uint64_t k;
    double level;
    bool used;
} slot;

/* One measurement of the echo path: bot level minus line level. */
typedef struct measure {
    uint64_t at;
    double erl;
} measure;

struct Ccai_echo_gate {
    Ccai_echo_gate_params p;
    double erl;                     /* the ERL assumed now */
    measure measures[MAX_MEASURES]; /* a ring, oldest at pos when full */
    size_t n_measures, pos;
    size_t n_slots;
    slot slots[];
};

ccai_status Ccai_echo_gate_new(const Ccai_echo_gate_params *p, Ccai_echo_gate **ret)
{
    if (!p || !ret || p->min_delay_ms > p->max_delay_ms || p->max_delay_ms > MAX_DELAY ||
        p->erl_db < -20.0 || p->erl_db > 60.0 || p->margin_db < -20.0 || p->margin_db > 60.0 ||
        (p->adaptive && (p->max_erl_db < p->erl_db || p->max_erl_db > 60.0 ||
                         p->erl_window_ms < 200 || p->erl_window_ms > MAX_WINDOW)))
        return CCAI_ERR_INVALID_ARG;
    /* The window plus a frame of audio either side. */
    size_t n = p->max_delay_ms / SLOT_MS + 2 * 100 / SLOT_MS + 2;
    Ccai_echo_gate *g = Ccai_calloc(1, sizeof *g + n * sizeof(slot));
    if (!g)
        return CCAI_ERR_NOMEM;
    g->p = *p;
    g->erl = p->erl_db;
    g->n_slots = n;
    *ret = g;
    return CCAI_OK;
}

void Ccai_echo_gate_free(Ccai_echo_gate *g)
{
    ccai_free(g);
}

void Ccai_echo_gate_far(Ccai_echo_gate *g, uint64_t now_ms, const int16_t *pcm, size_t n,
                        uint32_t rate)
{
    if (!n || !rate)
        return;
    double level = Ccai_media_level_db(pcm, n);
    uint64_t dur = (uint64_t)n * 1000u / rate;
    uint64_t first = now_ms / SLOT_MS, last = (now_ms + (dur ? dur - 1 : 0)) / SLOT_MS;
    /* A chunk longer than the ring: only its end can still matter. */
    if (last - first >= g->n_slots)
        first = last - g->n_slots + 1;
    for (uint64_t k = first; k <= last; k++) {
        slot *s = &g->slots[k % g->n_slots];
        if (!s->used || s->k != k) {
            s->k = k;
            s->level = level;
            s->used = true;
        } else if (level > s->level) {
            s->level = level;
        }
    }
}

/* The loudest bot level within the delay window of caller audio heard
 * from start_ms for dur_ms; false when there is none. */
static bool far_max(const Ccai_echo_gate *g, uint64_t start_ms, uint32_t dur_ms, double *ret)
{
    uint64_t lo = start_ms > g->p.max_delay_ms ? start_ms - g->p.max_delay_ms : 0;
    uint64_t end = start_ms + dur_ms;
    uint64_t hi = end > g->p.min_delay_ms ? end - g->p.min_delay_ms : 0;
    if (hi <= lo)
        return false;
    uint64_t first = lo / SLOT_MS, last = (hi - 1) / SLOT_MS;
    if (last - first >= g->n_slots)
        first = last - g->n_slots + 1;
    double best = QUIET_LEVEL;
    bool any = false;
    for (uint64_t k = first; k <= last; k++) {
        const slot *s = &g->slots[k % g->n_slots];
        if (s->used && s->k == k) {
            any = true;
            if (s->level > best)
                best = s->level;
        }
    }
    *ret = best;
    return any;
}

double Ccai_echo_gate_level(const Ccai_echo_gate *g, uint64_t start_ms, uint32_t dur_ms)
{
    double best;
    if (!far_max(g, start_ms, dur_ms, &best))
        return CCAI_VAD_NO_GATE;
    double margin = g->p.margin_db + (g->n_measures ? ADAPT_MARGIN_DB : 0.0);
    return best - g->erl + margin;
}

void Ccai_echo_gate_near(Ccai_echo_gate *g, uint64_t start_ms, uint32_t dur_ms, double level_db,
                         bool voiced)
{
    double far;
    if (!g->p.adaptive || voiced || !far_max(g, start_ms, dur_ms, &far) || far < FAR_ACTIVE_DB)
        return;
    double erl = far - level_db;
    if (erl > g->p.max_erl_db)
        erl = g->p.max_erl_db;
    if (erl < 0.0)
        erl = 0.0;
    size_t i = g->n_measures < MAX_MEASURES ? g->n_measures++ : g->pos;
    if (g->n_measures == MAX_MEASURES)
        g->pos = (i + 1) % MAX_MEASURES;
    g->measures[i] = (measure){start_ms, erl};
    /* The smallest of the window: echo never comes back with less loss. */
    uint64_t from = start_ms > g->p.erl_window_ms ? start_ms - g->p.erl_window_ms : 0;
    double min = g->p.max_erl_db;
    for (size_t k = 0; k < g->n_measures; k++) {
        if (g->measures[k].at >= from && g->measures[k].erl < min)
            min = g->measures[k].erl;
    }
    g->erl = min;
}

double Ccai_echo_gate_erl(const Ccai_echo_gate *g)
{
    return g->erl;
}

struct Ccai_echo_canceller {
    SpeexEchoState *st;
    size_t frame;
    int16_t zeros[960];
};

ccai_status Ccai_echo_canceller_new(uint32_t rate, size_t frame_samples, uint32_t tail_ms,
                                    Ccai_echo_canceller **ret)
{
    if (!ret || (rate != 8000 && rate != 16000 && rate != 24000 && rate != 48000) ||
        (frame_samples != rate / 100 && frame_samples != rate / 50) || tail_ms < 20 ||
        tail_ms > 1000)
        return CCAI_ERR_INVALID_ARG;
    Ccai_echo_canceller *ec = Ccai_calloc(1, sizeof *ec);
    if (!ec)
        return CCAI_ERR_NOMEM;
    ec->frame = frame_samples;
    ec->st = speex_echo_state_init((int)frame_samples, (int)((uint64_t)rate * tail_ms / 1000));
    if (!ec->st) {
        ccai_free(ec);
        return CCAI_ERR_NOMEM;
    }
    int fs = (int)rate;
    if (speex_echo_ctl(ec->st, SPEEX_ECHO_SET_SAMPLING_RATE, &fs) != 0) {
        speex_echo_state_destroy(ec->st);
        ccai_free(ec);
        return CCAI_ERR_INTERNAL;
    }
    *ret = ec;
    return CCAI_OK;
}

void Ccai_echo_canceller_free(Ccai_echo_canceller *ec)
{
    if (!ec)
        return;
    speex_echo_state_destroy(ec->st);
    ccai_free(ec);
}

size_t Ccai_echo_canceller_frame(const Ccai_echo_canceller *ec)
{
    return ec->frame;
}

void Ccai_echo_canceller_process(Ccai_echo_canceller *ec, const int16_t *near, const int16_t *far,
                                 int16_t *out)
{
    speex_echo_cancellation(ec->st, near, far ? far : ec->zeros, out);
}
