/* Speech material and VAD scoring for the media tests (see speech.h). */
#include "support/speech.h"

#include "media/codec.h"
#include "media/resample.h"
#include "media/wav.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *speech_dir(void)
{
    const char *d = getenv("CCAI_TEST_SPEECH_DIR");
    if (!d || !*d)
        return NULL;
    char probe[4096];
    snprintf(probe, sizeof probe, "%s/caller-test.wav", d);
    FILE *f = fopen(probe, "rb");
    if (!f)
        return NULL;
    fclose(f);
    return d;
}

static double frame_db(const int16_t *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)x[i] * x[i];
    if (s <= 0)
        return -120.0;
    return 10.0 * log10(s / (double)n / (32768.0 * 32768.0));
}

/* Join runs of false shorter than gap frames between trues. */
static void bridge(bool *v, size_t n, size_t gap)
{
    size_t last = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (!v[i])
            continue;
        if (last != SIZE_MAX && i - last - 1 > 0 && i - last - 1 < gap)
            for (size_t j = last + 1; j < i; j++)
                v[j] = true;
        last = i;
    }
}

static bool label(speech_track *t)
{
    size_t fl = t->rate * SPEECH_FRAME_MS / 1000;
    t->n_frames = t->n / fl;
    t->truth = calloc(t->n_frames ? t->n_frames : 1, sizeof *t->truth);
    bool *utt = calloc(t->n_frames ? t->n_frames : 1, sizeof *utt);
    double *lv = calloc(t->n_frames ? t->n_frames : 1, sizeof *lv);
    if (!t->truth || !utt || !lv) {
        free(utt);
        free(lv);
        return false;
    }
    double peak = -120.0;
    for (size_t i = 0; i < t->n_frames; i++) {
        lv[i] = frame_db(t->pcm + i * fl, fl);
        if (lv[i] > peak)
            peak = lv[i];
    }
    double energy = 0;
    size_t active = 0;
    for (size_t i = 0; i < t->n_frames; i++) {
        t->truth[i] = utt[i] = lv[i] > peak - 45.0;
        if (t->truth[i]) {
            energy += pow(10.0, lv[i] / 10.0);
            active++;
        }
    }
    t->active_db = active ? 10.0 * log10(energy / (double)active) : -120.0;
    bridge(t->truth, t->n_frames, 300 / SPEECH_FRAME_MS);
    bridge(utt, t->n_frames, 700 / SPEECH_FRAME_MS);
    t->n_utt = 0;
    for (size_t i = 0; i < t->n_frames && t->n_utt < 64;) {
        if (!utt[i]) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < t->n_frames && utt[j])
            j++;
        t->utt[t->n_utt].start_ms = (uint64_t)i * SPEECH_FRAME_MS;
        t->utt[t->n_utt].end_ms = (uint64_t)j * SPEECH_FRAME_MS;
        t->n_utt++;
        i = j;
    }
    free(utt);
    free(lv);
    return true;
}

bool speech_load(const char *name, speech_track *ret)
{
    const char *dir = speech_dir();
    memset(ret, 0, sizeof *ret);
    if (!dir)
        return false;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.wav", dir, name);
    int16_t *pcm = NULL;
    size_t frames = 0;
    Ccai_wav_info info;
    if (Ccai_wav_read_pcm16(path, 10u * 60 * 48000, &pcm, &frames, &info) != CCAI_OK)
        return false;
    if (info.channels != 1) {
        ccai_free(pcm);
        return false;
    }
    ret->pcm = malloc(frames * sizeof *pcm + 1);
    if (!ret->pcm) {
        ccai_free(pcm);
        return false;
    }
    memcpy(ret->pcm, pcm, frames * sizeof *pcm);
    ccai_free(pcm);
    ret->n = frames;
    ret->rate = info.rate;
    if (!label(ret)) {
        speech_free(ret);
        return false;
    }
    return true;
}

bool speech_copy(const speech_track *t, speech_track *ret)
{
    *ret = *t;
    ret->pcm = malloc(t->n * sizeof *t->pcm + 1);
    ret->truth = malloc(t->n_frames * sizeof *t->truth + 1);
    if (!ret->pcm || !ret->truth) {
        speech_free(ret);
        return false;
    }
    memcpy(ret->pcm, t->pcm, t->n * sizeof *t->pcm);
    memcpy(ret->truth, t->truth, t->n_frames * sizeof *t->truth);
    return true;
}

void speech_free(speech_track *t)
{
    free(t->pcm);
    free(t->truth);
    memset(t, 0, sizeof *t);
}

static int16_t sat16(double v)
{
    if (v > 32767.0)
        return 32767;
    if (v < -32768.0)
        return -32768;
    return (int16_t)lrint(v);
}

void speech_set_level(speech_track *t, double target_db)
{
    double g = pow(10.0, (target_db - t->active_db) / 20.0);
    for (size_t i = 0; i < t->n; i++)
        t->pcm[i] = sat16(t->pcm[i] * g);
    t->active_db = target_db;
}

const char *speech_noise_name(speech_noise k)
{
    switch (k) {
    case NOISE_NONE: return "clean";
    case NOISE_WHITE: return "white";
    case NOISE_PINK: return "pink";
    case NOISE_BABBLE: return "babble";
    }
    return "?";
}

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static double gauss(uint32_t *s)
{
    double u1 = ((double)xorshift(s) + 1.0) / 4294967297.0;
    double u2 = (double)xorshift(s) / 4294967296.0;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

void speech_add_noise(speech_track *t, speech_noise kind, double snr_db, uint32_t seed)
{
    if (kind == NOISE_NONE || !t->n)
        return;
    double *nz = calloc(t->n, sizeof *nz);
    if (!nz)
        abort();
    uint32_t s = seed ? seed : 1;
    double b0 = 0, b1 = 0, b2 = 0;
    for (size_t i = 0; i < t->n; i++) {
        double w = gauss(&s);
        if (kind == NOISE_PINK) { /* Paul Kellet's economy pinking filter */
            b0 = 0.99765 * b0 + w * 0.0990460;
            b1 = 0.96300 * b1 + w * 0.2965164;
            b2 = 0.57000 * b2 + w * 1.0526913;
            w = b0 + b1 + b2 + w * 0.1848;
        }
        nz[i] = w;
    }
    if (kind == NOISE_BABBLE) {
        memset(nz, 0, t->n * sizeof *nz);
        for (int k = 0; k < 10; k++) {
            size_t off = xorshift(&s) % t->n;
            for (size_t i = 0; i < t->n; i++)
                nz[i] += t->pcm[(i + off) % t->n];
        }
    }
    double e = 0;
    for (size_t i = 0; i < t->n; i++)
        e += nz[i] * nz[i];
    double rms = sqrt(e / (double)t->n);
    double want = 32768.0 * pow(10.0, (t->active_db - snr_db) / 20.0);
    double g = rms > 0 ? want / rms : 0;
    for (size_t i = 0; i < t->n; i++)
        t->pcm[i] = sat16(t->pcm[i] + nz[i] * g);
    free(nz);
}

void speech_ulaw_roundtrip(int16_t *pcm, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pcm[i] = Ccai_ulaw_decode(Ccai_ulaw_encode(pcm[i]));
}

void speech_add_delayed(int16_t *dst, size_t n, const int16_t *src, size_t src_n, uint32_t rate,
                        uint32_t delay_ms, double gain_db)
{
    size_t d = (size_t)rate * delay_ms / 1000;
    double g = pow(10.0, gain_db / 20.0);
    for (size_t i = d; i < n && i - d < src_n; i++)
        dst[i] = sat16(dst[i] + src[i - d] * g);
}

typedef struct collect {
    bool *speech;
    size_t n_frames;
    Ccai_vad_event ev[512];
    size_t n_ev;
} collect;

static void on_frame(const Ccai_vad_frame *f, const Ccai_vad_event *ev, void *ud)
{
    collect *c = ud;
    size_t i = (size_t)(f->start_ms / SPEECH_FRAME_MS);
    if (i < c->n_frames)
        c->speech[i] = f->speech;
    if (ev && c->n_ev < sizeof c->ev / sizeof c->ev[0])
        c->ev[c->n_ev++] = *ev;
}

static bool overlaps(uint64_t a0, uint64_t a1, const speech_span *u)
{
    return a0 < u->end_ms + 200 && a1 + 200 > u->start_ms;
}

bool speech_score_vad(const speech_track *t, const int16_t *pcm, const double *gate,
                      const Ccai_vad_params *p, vad_score *ret)
{
    memset(ret, 0, sizeof *ret);
    Ccai_vad *v = NULL;
    if (Ccai_vad_new(p, t->rate, &v) != CCAI_OK)
        return false;
    collect *c = calloc(1, sizeof *c);
    if (!c)
        abort();
    c->n_frames = t->n_frames;
    c->speech = calloc(t->n_frames + 1, sizeof *c->speech);
    if (!c->speech)
        abort();
    size_t chunk = t->rate * SPEECH_FRAME_MS / 1000;
    for (size_t i = 0, f = 0; i < t->n; i += chunk, f++)
        Ccai_vad_process(v, pcm + i, i + chunk <= t->n ? chunk : t->n - i,
                         gate ? gate[f] : CCAI_VAD_NO_GATE, on_frame, c);
    Ccai_vad_free(v);

    ret->frames = t->n_frames;
    for (size_t i = 0; i < t->n_frames; i++) {
        ret->truth_frames += t->truth[i];
        ret->speech_frames += c->speech[i];
        ret->hits += t->truth[i] && c->speech[i];
        ret->false_frames += !t->truth[i] && c->speech[i];
    }
    ret->utterances = t->n_utt;
    for (size_t u = 0; u < t->n_utt; u++) {
        const speech_span *s = &t->utt[u];
        size_t turns = 0;
        bool started = false;
        double last_offset = 0;
        for (size_t e = 0; e < c->n_ev; e++) {
            const Ccai_vad_event *ev = &c->ev[e];
            if (ev->kind == CCAI_VAD_SPEECH_START) {
                if (!started && overlaps(ev->onset_ms, ev->at_ms, s)) {
                    started = true;
                    ret->onset[ret->n_onset++] = (double)ev->at_ms - (double)s->start_ms;
                    ret->utt_started[u] = true;
                    ret->utt_onset[u] = (double)ev->at_ms - (double)s->start_ms;
                }
            } else if (ev->turn && overlaps(ev->onset_ms, ev->last_voiced_ms, s)) {
                turns++;
                last_offset = (double)ev->at_ms - (double)s->end_ms;
            }
        }
        ret->started += started;
        if (turns) {
            ret->detected++;
            ret->split += turns - 1;
            ret->offset[ret->n_offset++] = last_offset;
        }
    }
    for (size_t e = 0; e < c->n_ev; e++) {
        const Ccai_vad_event *ev = &c->ev[e];
        uint64_t hi = ev->kind == CCAI_VAD_SPEECH_START ? ev->at_ms : ev->last_voiced_ms;
        size_t n = 0;
        for (size_t u = 0; u < t->n_utt; u++)
            n += overlaps(ev->onset_ms, hi, &t->utt[u]);
        if (ev->kind == CCAI_VAD_SPEECH_START)
            ret->false_starts += n == 0;
        else if (ev->turn) {
            ret->false_turns += n == 0;
            ret->merged += n > 1;
        }
    }
    free(c->speech);
    free(c);
    return true;
}

double vad_score_precision(const vad_score *s)
{
    return s->speech_frames ? (double)s->hits / (double)s->speech_frames : 1.0;
}

double vad_score_recall(const vad_score *s)
{
    return s->truth_frames ? (double)s->hits / (double)s->truth_frames : 1.0;
}

double vad_score_false_alarm(const vad_score *s)
{
    size_t non = s->frames - s->truth_frames;
    return non ? (double)s->false_frames / (double)non : 0.0;
}

double speech_mean(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return n ? s / (double)n : 0.0;
}

double speech_max(const double *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || v[i] > m)
            m = v[i];
    return m;
}

bool speech_far(const speech_track *t, size_t n, speech_track *ret)
{
    memset(ret, 0, sizeof *ret);
    Ccai_media_format from = {CCAI_MEDIA_PCM16, t->rate, 1}, to = {CCAI_MEDIA_PCM16, 8000, 1};
    Ccai_media_converter *c = NULL;
    if (Ccai_media_converter_new(&from, &to, CCAI_RESAMPLE_QUALITY_DEFAULT, &c) != CCAI_OK)
        return false;
    uint8_t *in = malloc(t->n * 2 + 1);
    size_t cap = Ccai_media_converter_max_out(c, t->n * 2), got = 0;
    uint8_t *out = malloc(cap + 1);
    if (!in || !out)
        abort();
    Ccai_pcm16le_write(t->pcm, t->n, in);
    bool ok = Ccai_media_convert(c, in, t->n * 2, out, cap, &got) == CCAI_OK && got >= 2;
    Ccai_media_converter_free(c);
    if (ok) {
        size_t m = got / 2;
        ret->pcm = malloc(n * sizeof *ret->pcm + 1);
        int16_t *one = malloc(m * sizeof *one);
        if (!ret->pcm || !one)
            abort();
        Ccai_pcm16le_read(out, m, one);
        for (size_t i = 0; i < n; i++)
            ret->pcm[i] = one[i % m];
        free(one);
        ret->n = n;
        ret->rate = 8000;
        speech_ulaw_roundtrip(ret->pcm, n);
        ok = label(ret);
    }
    free(in);
    free(out);
    if (!ok)
        speech_free(ret);
    return ok;
}

bool speech_echo_line(const speech_track *caller, const speech_track *far, size_t n,
                      const echo_line *line, int16_t **ret_near, double **ret_gate)
{
    size_t fl = 160, frames = n / fl;
    int16_t *near = calloc(n + 1, sizeof *near), *clean = calloc(fl, sizeof *clean);
    double *gate = calloc(frames + 1, sizeof *gate);
    if (!near || !clean || !gate)
        abort();
    speech_track line_noise = {.pcm = near, .n = n, .rate = 8000, .active_db = -65.0};
    speech_add_noise(&line_noise, NOISE_PINK, 0.0, 99);
    if (caller)
        for (size_t i = 0; i < n && i < caller->n; i++)
            near[i] = sat16((double)near[i] + caller->pcm[i]);
    speech_add_delayed(near, n, far->pcm, far->n, 8000, line->delay_ms, line->echo_db);
    speech_ulaw_roundtrip(near, n);

    Ccai_echo_gate *g = NULL;
    Ccai_echo_canceller *ec = NULL;
    bool ok = true;
    if (line->gate && Ccai_echo_gate_new(&line->gate_params, &g) != CCAI_OK)
        ok = false;
    if (ok && line->aec_tail_ms &&
        Ccai_echo_canceller_new(8000, fl, line->aec_tail_ms, &ec) != CCAI_OK)
        ok = false;
    for (size_t f = 0; ok && f < frames; f++) {
        uint64_t t = (uint64_t)f * 20;
        const int16_t *far_f = far->pcm + f * fl;
        if (g)
            Ccai_echo_gate_far(g, t, far_f, fl, 8000);
        gate[f] = g ? Ccai_echo_gate_level(g, t, 20) : CCAI_VAD_NO_GATE;
        if (ec) {
            memcpy(clean, near + f * fl, fl * sizeof *clean);
            Ccai_echo_canceller_process(ec, clean, far_f, near + f * fl);
        }
    }
    Ccai_echo_gate_free(g);
    Ccai_echo_canceller_free(ec);
    free(clean);
    if (!ok) {
        free(near);
        free(gate);
        return false;
    }
    *ret_near = near;
    *ret_gate = gate;
    return true;
}
