/* Echo gate and speexdsp echo canceller (see echo.h). */
#include "media/echo.h"

#include "media/vad.h"

#include <speex/speex_echo.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
#define PENDING_MS      100 /* a measurement waits this long for a voiced frame */
#define MIN_MEASURED_MS 400 /* the line measured this long before its ERL is used */
/* Aligned: the echo's delay is estimated every EST_EVERY_MS from the last
 * EST_WINDOW_MS of the line (the caller silent) against the bot's audio:
 * the lag whose levels correlate best, when the correlation reaches
 * EST_MIN_CORR over at least EST_MIN_ACTIVE slots of bot audio; the gate
 * then looks ALIGN_SLACK_MS either side of that delay. Levels below
 * EST_FLOOR_DB count as EST_FLOOR_DB (silence is silence). */
#define EST_WINDOW_MS  2000
#define EST_EVERY_MS   200
#define EST_MIN_ACTIVE 40
#define EST_MIN_CORR   0.7
#define EST_AMBIGUOUS  0.05 /* another lag this close to the best: no estimate */
#define EST_APART_MS   60   /* ... and this far from it */
#define EST_FLOOR_DB   (-70.0)
#define ALIGN_SLACK_MS 10

void Ccai_echo_gate_params_default(Ccai_echo_gate_params *p)
{
    p->min_delay_ms = 0;
    p->max_delay_ms = 300;
    p->erl_db = 6.0;
    p->margin_db = 0.0;
    p->adaptive = true;
    p->max_erl_db = 40.0;
    p->erl_window_ms = 3000;
    p->align = true;
}

/* Bot levels on a 10 ms grid: slot k covers [k * 10, k * 10 + 10) ms of
 * the host's clock; a ring of n_slots holds the recent ones, each tagged
 * with its k so a stale one is recognised. */
typedef struct slot {
    uint64_t k;
    double level;
    bool used;
} slot;

/* The caller's line on the same grid, for the delay estimate: its level,
 * and whether it can be echo alone (the VAD did not call it voiced). */
typedef struct nslot {
    uint64_t k;
    float level;
    bool used, usable;
} nslot;

/* One measurement of the echo path: bot level minus line level. */
typedef struct measure {
    uint64_t at; /* taken: the line's time; committed: measured_ms */
    double erl;
    uint32_t dur;
} measure;

struct Ccai_echo_gate {
    Ccai_echo_gate_params p;
    double erl;                     /* the ERL assumed now */
    measure measures[MAX_MEASURES]; /* a ring, oldest at pos when full */
    size_t n_measures, pos;
    uint64_t measured_ms; /* line measured so far (the measures' clock) */
    measure pending[8];   /* the last PENDING_MS of measurements, oldest first */
    size_t n_pending;
    int64_t delay;     /* the echo's delay estimated (ms), -1: not known */
    int64_t candidate; /* the last estimate, -1: none */
    bool talking;      /* the caller talks (the line is not echo alone) */
    uint64_t next_est; /* the next estimate from this time on */
    nslot near[EST_WINDOW_MS / SLOT_MS + 4];
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
    /* The window plus a frame of audio either side; aligned, the bot's
     * audio the estimate correlates with the line's too. */
    size_t n = (p->max_delay_ms + (p->align ? EST_WINDOW_MS : 0)) / SLOT_MS + 2 * 100 / SLOT_MS + 2;
    Ccai_echo_gate *g = Ccai_calloc(1, sizeof *g + n * sizeof(slot));
    if (!g)
        return CCAI_ERR_NOMEM;
    g->p = *p;
    g->erl = p->erl_db;
    g->delay = g->candidate = -1;
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
static bool far_range(const Ccai_echo_gate *g, uint64_t start_ms, uint32_t dur_ms, double *ret,
                      double *ret_min)
{
    uint64_t lo = start_ms > g->p.max_delay_ms ? start_ms - g->p.max_delay_ms : 0;
    uint64_t end = start_ms + dur_ms;
    uint64_t hi = end > g->p.min_delay_ms ? end - g->p.min_delay_ms : 0;
    if (g->delay >= 0) {
        /* The echo's delay is known: around it only. */
        uint64_t back = (uint64_t)g->delay + ALIGN_SLACK_MS;
        lo = start_ms > back ? start_ms - back : 0;
        hi = end + ALIGN_SLACK_MS > (uint64_t)g->delay ? end + ALIGN_SLACK_MS - (uint64_t)g->delay
                                                       : 0;
    }
    if (hi <= lo)
        return false;
    uint64_t first = lo / SLOT_MS, last = (hi - 1) / SLOT_MS;
    if (last - first >= g->n_slots)
        first = last - g->n_slots + 1;
    double best = QUIET_LEVEL, least = -QUIET_LEVEL;
    bool any = false;
    for (uint64_t k = first; k <= last; k++) {
        const slot *s = &g->slots[k % g->n_slots];
        double level = s->used && s->k == k ? s->level : QUIET_LEVEL;
        any |= s->used && s->k == k;
        best = level > best ? level : best;
        least = level < least ? level : least;
    }
    *ret = best;
    *ret_min = least;
    return any;
}

static bool far_max(const Ccai_echo_gate *g, uint64_t start_ms, uint32_t dur_ms, double *ret)
{
    double least;
    return far_range(g, start_ms, dur_ms, ret, &least);
}

double Ccai_echo_gate_level(const Ccai_echo_gate *g, uint64_t start_ms, uint32_t dur_ms)
{
    double best;
    if (!far_max(g, start_ms, dur_ms, &best))
        return CCAI_VAD_NO_GATE;
    double margin = g->p.margin_db + (g->measured_ms >= MIN_MEASURED_MS ? ADAPT_MARGIN_DB : 0.0);
    return best - g->erl + margin;
}

static double clamp_floor(double db)
{
    return db < EST_FLOOR_DB ? EST_FLOOR_DB : db;
}

/* The bot's level played in slot k (EST_FLOOR_DB when nothing was). */
static double far_at(const Ccai_echo_gate *g, uint64_t k)
{
    const slot *s = &g->slots[k % g->n_slots];
    return s->used && s->k == k ? clamp_floor(s->level) : EST_FLOOR_DB;
}

/* The lag at which the line's levels (the caller silent) follow the bot's
 * best over the last EST_WINDOW_MS up to slot now_k (Pearson correlation
 * of the levels in dB). Taken when two estimates in a row agree; kept
 * when the bot said too little in the window to tell or nothing
 * correlates (the echo went away: gating on the old delay lets nothing
 * through that the line brings). */
static void estimate_delay(Ccai_echo_gate *g, uint64_t now_k)
{
    size_t n_near = CCAI_ARRAY_SIZE(g->near);
    uint64_t span = EST_WINDOW_MS / SLOT_MS;
    uint64_t from = now_k > span ? now_k - span : 0;
    uint64_t lag_lo = g->p.min_delay_ms / SLOT_MS, lag_hi = g->p.max_delay_ms / SLOT_MS;
    double best = -2.0, r_of[MAX_DELAY / SLOT_MS + 1];
    int64_t best_lag = -1;
    bool enough = false;
    for (uint64_t lag = lag_lo; lag <= lag_hi; lag++) {
        r_of[lag] = -2.0;
        double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
        size_t n = 0, active = 0;
        for (uint64_t k = from > lag ? from : lag; k < now_k; k++) {
            const nslot *ns = &g->near[k % n_near];
            if (!ns->used || ns->k != k || !ns->usable)
                continue;
            double x = clamp_floor(ns->level), y = far_at(g, k - lag);
            active += y > FAR_ACTIVE_DB;
            sx += x;
            sy += y;
            sxx += x * x;
            syy += y * y;
            sxy += x * y;
            n++;
        }
        if (active < EST_MIN_ACTIVE)
            continue;
        enough = true;
        double vx = sxx - sx * sx / (double)n, vy = syy - sy * sy / (double)n;
        if (vx <= 1e-9 || vy <= 1e-9)
            continue;
        double r = (sxy - sx * sy / (double)n) / sqrt(vx * vy);
        r_of[lag] = r;
        if (r > best) {
            best = r;
            best_lag = (int64_t)lag;
        }
    }
    if (!enough || best < EST_MIN_CORR)
        return;
    /* Another lag as good, away from this one: the bot's sound repeats
     * itself (a tone, music), the delay cannot be told. */
    for (uint64_t lag = lag_lo; lag <= lag_hi; lag++) {
        if (llabs((int64_t)lag - best_lag) * SLOT_MS > EST_APART_MS &&
            r_of[lag] >= best - EST_AMBIGUOUS)
            return;
    }
    /* Taken when two estimates in a row agree (within a frame). */
    int64_t ms = best_lag * SLOT_MS;
    if (g->candidate >= 0 && llabs(ms - g->candidate) <= 2 * SLOT_MS)
        g->delay = ms;
    g->candidate = ms;
}

/* A measurement taken: the ERL is the smallest of the window. */
static void commit(Ccai_echo_gate *g, const measure *m)
{
    size_t i = g->n_measures < MAX_MEASURES ? g->n_measures++ : g->pos;
    if (g->n_measures == MAX_MEASURES)
        g->pos = (i + 1) % MAX_MEASURES;
    /* Timed on the line measured (the bot's audio), not the clock: a
     * pause of the bot does not forget what its last words measured. */
    g->measured_ms += m->dur;
    g->measures[i] = (measure){g->measured_ms, m->erl, m->dur};
    /* The smallest of the window: echo never comes back with less loss. */
    uint64_t from = g->measured_ms > g->p.erl_window_ms ? g->measured_ms - g->p.erl_window_ms : 0;
    double min = g->p.max_erl_db;
    for (size_t k = 0; k < g->n_measures; k++) {
        if (g->measures[k].at >= from && g->measures[k].erl < min)
            min = g->measures[k].erl;
    }
    /* One measurement overstates the loss (the bot's loudest sound of the
     * window against the line at one moment): the smallest of several is
     * the echo's. Until enough are in, the loss assumed. */
    if (g->measured_ms >= MIN_MEASURED_MS)
        g->erl = min;
}

void Ccai_echo_gate_near(Ccai_echo_gate *g, uint64_t start_ms, uint32_t dur_ms, double level_db,
                         bool voiced)
{
    if (g->p.align && dur_ms) {
        uint64_t first = start_ms / SLOT_MS, last = (start_ms + dur_ms - 1) / SLOT_MS;
        for (uint64_t k = first; k <= last; k++)
            g->near[k % CCAI_ARRAY_SIZE(g->near)] = (nslot){k, (float)level_db, true, !g->talking};
        if (start_ms >= g->next_est) {
            estimate_delay(g, last + 1);
            g->next_est = start_ms + EST_EVERY_MS;
        }
    }
    /* A caller's first sounds come before the VAD calls them voiced:
     * what the line measured just before a voiced frame was the caller,
     * not the echo. Measurements wait PENDING_MS for that. */
    if (voiced)
        g->n_pending = 0;
    size_t keep = 0;
    for (size_t k = 0; k < g->n_pending; k++) {
        if (g->pending[k].at + PENDING_MS <= start_ms)
            commit(g, &g->pending[k]);
        else
            g->pending[keep++] = g->pending[k];
    }
    g->n_pending = keep;
    /* The echo of whatever the bot played within the window has come
     * back only when the bot played all along it (or around the delay
     * known): else the line may still be silent for want of echo, not
     * for a high loss (the call's first words, a line that echoes late). */
    double far, least;
    if (!g->p.adaptive || voiced || !far_range(g, start_ms, dur_ms, &far, &least) ||
        far < FAR_ACTIVE_DB || (g->delay < 0 && least < FAR_ACTIVE_DB))
        return;
    double erl = far - level_db;
    if (erl > g->p.max_erl_db)
        erl = g->p.max_erl_db;
    if (erl < 0.0)
        erl = 0.0;
    if (g->n_pending == CCAI_ARRAY_SIZE(g->pending)) {
        commit(g, &g->pending[0]);
        memmove(g->pending, g->pending + 1, (g->n_pending - 1) * sizeof *g->pending);
        g->n_pending--;
    }
    g->pending[g->n_pending++] = (measure){start_ms, erl, dur_ms};
}

double Ccai_echo_gate_erl(const Ccai_echo_gate *g)
{
    return g->erl;
}

void Ccai_echo_gate_caller_talking(Ccai_echo_gate *g, bool talking)
{
    g->talking = talking;
}

int64_t Ccai_echo_gate_delay(const Ccai_echo_gate *g)
{
    return g->delay;
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
