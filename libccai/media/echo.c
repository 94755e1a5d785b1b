/* Echo gate and speexdsp echo canceller (see echo.h). */
#include "media/echo.h"

#include "media/vad.h"

#include <speex/speex_echo.h>

#define SLOT_MS     10
#define MAX_DELAY   2000
#define QUIET_LEVEL (-100.0)

void Ccai_echo_gate_params_default(Ccai_echo_gate_params *p)
{
    p->min_delay_ms = 0;
    p->max_delay_ms = 300;
    p->erl_db = 6.0;
    p->margin_db = 0.0;
}

/* Bot levels on a 10 ms grid: slot k covers [k * 10, k * 10 + 10) ms of
 * the host's clock; a ring of n_slots holds the recent ones, each tagged
 * with its k so a stale one is recognised. */
typedef struct slot {
    uint64_t k;
    double level;
    bool used;
} slot;

struct Ccai_echo_gate {
    Ccai_echo_gate_params p;
    size_t n_slots;
    slot slots[];
};

ccai_status Ccai_echo_gate_new(const Ccai_echo_gate_params *p, Ccai_echo_gate **ret)
{
    if (!p || !ret || p->min_delay_ms > p->max_delay_ms || p->max_delay_ms > MAX_DELAY ||
        p->erl_db < -20.0 || p->erl_db > 60.0 || p->margin_db < -20.0 || p->margin_db > 60.0)
        return CCAI_ERR_INVALID_ARG;
    /* The window plus a frame of audio either side. */
    size_t n = p->max_delay_ms / SLOT_MS + 2 * 100 / SLOT_MS + 2;
    Ccai_echo_gate *g = Ccai_calloc(1, sizeof *g + n * sizeof(slot));
    if (!g)
        return CCAI_ERR_NOMEM;
    g->p = *p;
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

double Ccai_echo_gate_level(const Ccai_echo_gate *g, uint64_t start_ms, uint32_t dur_ms)
{
    uint64_t lo = start_ms > g->p.max_delay_ms ? start_ms - g->p.max_delay_ms : 0;
    uint64_t end = start_ms + dur_ms;
    uint64_t hi = end > g->p.min_delay_ms ? end - g->p.min_delay_ms : 0;
    if (hi <= lo)
        return CCAI_VAD_NO_GATE;
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
    if (!any)
        return CCAI_VAD_NO_GATE;
    return best - g->p.erl_db + g->p.margin_db;
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
