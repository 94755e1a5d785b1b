/* The media layer's figures (libccai/media/): resampler quality against
 * CPU, nanoseconds per 20 ms frame for each stage, audio streams per core
 * through decode -> resample -> VAD -> encode -> pacing (the bot talking
 * all the time, the echo gate fed), memory per stream, and the VAD's and
 * the echo handling's accuracy on the espeak-ng corpus (the WAV files in
 * build/tests, generated at build time; its held-out "test" set).
 *
 *   build/bench/bench-media [--streams N] [--seconds S] [--speech DIR]
 *
 * One thread: the streams-per-core figure is one core's. Nothing here is a
 * pass/fail test. */
#include "media/codec.h"
#include "media/echo.h"
#include "media/pacer.h"
#include "media/resample.h"
#include "media/vad.h"
#include "support/speech.h"

#include "bench_stats.h"

#include <malloc.h>
#include <math.h>
#include <speex/speex_preprocess.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t heap_live;

static void *count_malloc(size_t n, void *ud)
{
    (void)ud;
    void *p = malloc(n);
    if (p)
        heap_live += malloc_usable_size(p);
    return p;
}

static void *count_realloc(void *ptr, size_t n, void *ud)
{
    (void)ud;
    size_t old = ptr ? malloc_usable_size(ptr) : 0;
    void *p = realloc(ptr, n);
    if (p) {
        heap_live -= old;
        heap_live += malloc_usable_size(p);
    }
    return p;
}

static void count_free(void *ptr, void *ud)
{
    (void)ud;
    if (ptr)
        heap_live -= malloc_usable_size(ptr);
    free(ptr);
}

static void die(const char *what)
{
    fprintf(stderr, "bench-media: %s\n", what);
    exit(1);
}

static int16_t *make_tone(uint32_t rate, double hz, double dbfs, size_t n)
{
    int16_t *x = malloc(n * sizeof *x + 1);
    if (!x)
        die("out of memory");
    double a = 32768.0 * pow(10.0, dbfs / 20.0) * sqrt(2.0);
    for (size_t i = 0; i < n; i++)
        x[i] = (int16_t)lrint(a * sin(2.0 * M_PI * hz * (double)i / rate));
    return x;
}

/* Level in dBFS of what is left after removing the best-fitting sine of hz
 * (a tone's distortion + noise), and the total level. */
static void residual(const int16_t *y, size_t n, double hz, uint32_t rate, double *ret_res_db,
                     double *ret_db)
{
    double ss = 0, cc = 0, sc = 0, sy = 0, cy = 0, tot = 0;
    for (size_t i = 0; i < n; i++) {
        double w = 2.0 * M_PI * hz * (double)i / rate, s = sin(w), c = cos(w);
        ss += s * s;
        cc += c * c;
        sc += s * c;
        sy += s * y[i];
        cy += c * y[i];
        tot += (double)y[i] * y[i];
    }
    double det = ss * cc - sc * sc;
    double a = (sy * cc - cy * sc) / det, b = (cy * ss - sy * sc) / det, res = 0;
    for (size_t i = 0; i < n; i++) {
        double w = 2.0 * M_PI * hz * (double)i / rate, d = y[i] - (a * sin(w) + b * cos(w));
        res += d * d;
    }
    double fs = 32768.0 * 32768.0 * (double)n;
    *ret_res_db = 10.0 * log10(res / fs + 1e-13);
    *ret_db = 10.0 * log10(tot / fs + 1e-13);
}

/* 1. speexdsp resampler quality against CPU. */
static void bench_resampler(void)
{
    static const int qualities[4] = {0, 3, 5, 8};
    static const uint32_t pairs[5][2] = {
        {8000, 16000}, {16000, 8000}, {24000, 8000}, {24000, 16000}, {8000, 48000}};
    printf("\n1. Resampler (speexdsp), ns per 20 ms frame (best of 5 runs of 12 s of audio)\n");
    printf("  %-8s", "quality");
    for (int p = 0; p < 5; p++)
        printf("  %2uk->%2uk ns", pairs[p][0] / 1000, pairs[p][1] / 1000);
    printf("  1 kHz 8k->16k->8k residual  4.6 kHz 24k->8k leak  latency 8k->16k\n");
    for (int q = 0; q < 4; q++) {
        printf("  %-8d", qualities[q]);
        for (int p = 0; p < 5; p++) {
            uint32_t in_rate = pairs[p][0], out_rate = pairs[p][1];
            size_t frame = in_rate / 50, frames = 600;
            int16_t *x = make_tone(in_rate, 440.0, -20.0, frame);
            int16_t out[2000];
            Ccai_resampler *r = NULL;
            if (Ccai_resampler_new(in_rate, out_rate, 1, qualities[q], &r) != CCAI_OK)
                die("resampler");
            double ns = 1e300;
            for (int rep = 0; rep < 5; rep++) {
                double t0 = bench_now_ms();
                for (size_t k = 0; k < frames; k++) {
                    size_t got = 0;
                    if (Ccai_resampler_process(r, x, frame, out, 2000, &got) != CCAI_OK)
                        die("resample");
                }
                double d = (bench_now_ms() - t0) * 1e6 / (double)frames;
                if (d < ns)
                    ns = d;
            }
            printf("  %11.0f", ns);
            Ccai_resampler_free(r);
            free(x);
        }
        /* Quality: a tone there and back; a tone above 4 kHz folded down. */
        size_t n = 16000;
        int16_t *x = make_tone(8000, 1000.0, -12.0, n);
        Ccai_resampler *up = NULL, *down = NULL;
        if (Ccai_resampler_new(8000, 16000, 1, qualities[q], &up) != CCAI_OK ||
            Ccai_resampler_new(16000, 8000, 1, qualities[q], &down) != CCAI_OK)
            die("resampler");
        int16_t *mid = malloc(2 * n * sizeof *mid + 64), *back = malloc(n * sizeof *back + 64);
        size_t nm = 0, nb = 0;
        if (!mid || !back || Ccai_resampler_process(up, x, n, mid, 2 * n + 32, &nm) != CCAI_OK ||
            Ccai_resampler_process(down, mid, nm, back, n + 32, &nb) != CCAI_OK)
            die("resample");
        size_t latency = Ccai_resampler_latency(up);
        double res = 0, lvl = 0;
        residual(back + 800, nb - 800, 1000.0, 8000, &res, &lvl);
        int16_t *hi = make_tone(24000, 4600.0, -6.0, 48000);
        Ccai_resampler *dn = NULL;
        int16_t *lo = malloc(16100 * sizeof *lo);
        size_t nl = 0;
        if (!lo || Ccai_resampler_new(24000, 8000, 1, qualities[q], &dn) != CCAI_OK ||
            Ccai_resampler_process(dn, hi, 48000, lo, 16100, &nl) != CCAI_OK)
            die("resample");
        double leak_res = 0, leak = 0;
        residual(lo + 800, nl - 800, 3400.0, 8000, &leak_res, &leak);
        printf("  %9.1f dB below the tone  %9.1f dBFS (of -6)  %6.1f ms\n", res - lvl, leak,
               (double)latency / 16.0);
        Ccai_resampler_free(up);
        Ccai_resampler_free(down);
        Ccai_resampler_free(dn);
        free(x);
        free(mid);
        free(back);
        free(hi);
        free(lo);
    }
    printf("  libccai uses quality %d (CCAI_RESAMPLE_QUALITY_DEFAULT).\n",
           CCAI_RESAMPLE_QUALITY_DEFAULT);
}

/* One audio call: the caller's mu-law 8 kHz in, through the canceller
 * (optional), up to 16 kHz for the VAD (and an STT); the bot's 24 kHz PCM
 * down to 8 kHz mu-law, paced, fed to the echo gate. */
typedef struct stream {
    Ccai_resampler *up;   /* 8 -> 16 kHz */
    Ccai_resampler *down; /* 24 -> 8 kHz */
    Ccai_vad *vad;
    Ccai_echo_gate *gate;
    Ccai_echo_canceller *aec;
    Ccai_pacer *pacer;
    size_t events;
} stream;

static void on_vad(const Ccai_vad_frame *f, const Ccai_vad_event *ev, void *ud)
{
    (void)f;
    if (ev)
        ((stream *)ud)->events++;
}

static void stream_open(stream *s, bool aec)
{
    memset(s, 0, sizeof *s);
    Ccai_vad_params vp;
    Ccai_vad_params_default(&vp);
    Ccai_echo_gate_params gp;
    Ccai_echo_gate_params_default(&gp);
    Ccai_pacer_params pp;
    Ccai_pacer_params_default(&pp);
    if (Ccai_resampler_new(8000, 16000, 1, CCAI_RESAMPLE_QUALITY_DEFAULT, &s->up) != CCAI_OK ||
        Ccai_resampler_new(24000, 8000, 1, CCAI_RESAMPLE_QUALITY_DEFAULT, &s->down) != CCAI_OK ||
        Ccai_vad_new(&vp, 16000, &s->vad) != CCAI_OK ||
        Ccai_echo_gate_new(&gp, &s->gate) != CCAI_OK || Ccai_pacer_new(&pp, &s->pacer) != CCAI_OK ||
        (aec && Ccai_echo_canceller_new(8000, 160, 200, &s->aec) != CCAI_OK))
        die("stream");
}

static void stream_close(stream *s)
{
    Ccai_resampler_free(s->up);
    Ccai_resampler_free(s->down);
    Ccai_vad_free(s->vad);
    Ccai_echo_gate_free(s->gate);
    Ccai_echo_canceller_free(s->aec);
    Ccai_pacer_free(s->pacer);
}

static const Ccai_media_format ulaw8 = {CCAI_MEDIA_ULAW, 8000, 1};

/* One 20 ms tick of a stream at now: caller frame in, bot frame out. */
static void stream_tick(stream *s, uint64_t now, const uint8_t *caller_ulaw, const int16_t *bot24k)
{
    int16_t near[160], clean[160], up[340], down[170], far[160];
    uint8_t enc[160];
    size_t n = 0;
    /* Outbound: TTS audio to the line's format, into the pacer, out. */
    if (Ccai_resampler_process(s->down, bot24k, 480, down, 170, &n) != CCAI_OK)
        die("down");
    Ccai_media_encode(CCAI_MEDIA_ULAW, down, n, enc);
    if (Ccai_pacer_push(s->pacer, &ulaw8, enc, n) != CCAI_OK)
        die("push");
    Ccai_pacer_item it;
    bool have_far = false;
    while (Ccai_pacer_next(s->pacer, now, &it))
        if (it.kind == CCAI_PACER_FRAME) {
            Ccai_media_decode(it.fmt.encoding, it.data, it.len, far);
            Ccai_echo_gate_far(s->gate, now, far, it.len, 8000);
            have_far = true;
        }
    /* Inbound: the caller's frame, the canceller, up to 16 kHz, the VAD. */
    Ccai_media_decode(CCAI_MEDIA_ULAW, caller_ulaw, 160, near);
    const int16_t *in = near;
    if (s->aec) {
        Ccai_echo_canceller_process(s->aec, near, have_far ? far : NULL, clean);
        in = clean;
    }
    if (Ccai_resampler_process(s->up, in, 160, up, 340, &n) != CCAI_OK)
        die("up");
    double gate = Ccai_echo_gate_level(s->gate, now > 20 ? now - 20 : 0, 20);
    Ccai_vad_process(s->vad, up, n, gate, on_vad, s);
}

typedef struct audio {
    uint8_t *caller; /* mu-law 8 kHz */
    size_t caller_frames;
    int16_t *bot; /* PCM 24 kHz */
    size_t bot_frames;
} audio;

static void load_audio(audio *a)
{
    speech_track c, b;
    if (speech_load("caller-test", &c) && speech_load("bot-test", &b) && c.rate == 8000 &&
        b.rate == 24000) {
        speech_set_level(&c, -26.0);
        a->caller_frames = c.n / 160;
        a->caller = malloc(a->caller_frames * 160);
        a->bot_frames = b.n / 480;
        a->bot = malloc(a->bot_frames * 480 * sizeof *a->bot);
        if (!a->caller || !a->bot)
            die("out of memory");
        Ccai_media_encode(CCAI_MEDIA_ULAW, c.pcm, a->caller_frames * 160, a->caller);
        memcpy(a->bot, b.pcm, a->bot_frames * 480 * sizeof *a->bot);
        speech_free(&c);
        speech_free(&b);
        return;
    }
    /* No corpus: tones stand in (the CPU figures barely depend on it). */
    a->caller_frames = 500;
    a->bot_frames = 500;
    int16_t *t = make_tone(8000, 300.0, -26.0, 500 * 160);
    a->caller = malloc(500 * 160);
    if (!a->caller)
        die("out of memory");
    Ccai_media_encode(CCAI_MEDIA_ULAW, t, 500 * 160, a->caller);
    free(t);
    a->bot = make_tone(24000, 450.0, -26.0, 500 * 480);
}

/* 2. Nanoseconds per 20 ms frame, stage by stage, one stream. Each figure
 * is the best of five runs: the machine may be shared, and the least
 * disturbed run is the closest to the code's own cost. */
typedef struct stages {
    const audio *a;
    int16_t pcm8[160], pcm16[340], pcm8b[170], out[160];
    uint8_t enc[160];
    Ccai_resampler *up, *down;
    Ccai_vad *vad;
    Ccai_pacer *pacer;
    Ccai_echo_gate *gate;
    Ccai_echo_canceller *aec;
    double sink;
} stages;

typedef void (*stage_fn)(stages *st, int k);

static double best_ns(stage_fn fn, stages *st, int frames)
{
    double best = 1e300;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = bench_now_ms();
        for (int k = 0; k < frames; k++)
            fn(st, rep * frames + k);
        double ns = (bench_now_ms() - t0) * 1e6 / frames;
        if (ns < best)
            best = ns;
    }
    return best;
}

static void st_decode(stages *st, int k)
{
    Ccai_media_decode(CCAI_MEDIA_ULAW, st->a->caller + (size_t)k % st->a->caller_frames * 160, 160,
                      st->pcm8);
}

static void st_up(stages *st, int k)
{
    (void)k;
    size_t n = 0;
    if (Ccai_resampler_process(st->up, st->pcm8, 160, st->pcm16, 340, &n) != CCAI_OK)
        die("up");
}

static void st_vad(stages *st, int k)
{
    (void)k;
    Ccai_vad_process(st->vad, st->pcm16, 320, CCAI_VAD_NO_GATE, NULL, NULL);
}

static void st_down(stages *st, int k)
{
    size_t n = 0;
    if (Ccai_resampler_process(st->down, st->a->bot + (size_t)k % st->a->bot_frames * 480, 480,
                               st->pcm8b, 170, &n) != CCAI_OK)
        die("down");
}

static void st_encode(stages *st, int k)
{
    (void)k;
    Ccai_media_encode(CCAI_MEDIA_ULAW, st->pcm8b, 160, st->enc);
}

static void st_pacer(stages *st, int k)
{
    if (Ccai_pacer_push(st->pacer, &ulaw8, st->enc, 160) != CCAI_OK)
        die("push");
    Ccai_pacer_item it;
    while (Ccai_pacer_next(st->pacer, (uint64_t)k * 20, &it))
        st->sink += (double)it.len;
}

static void st_gate(stages *st, int k)
{
    Ccai_echo_gate_far(st->gate, (uint64_t)k * 20, st->pcm8b, 160, 8000);
    st->sink += Ccai_echo_gate_level(st->gate, (uint64_t)k * 20, 20);
}

static void st_aec(stages *st, int k)
{
    (void)k;
    Ccai_echo_canceller_process(st->aec, st->pcm8, st->pcm8b, st->out);
}

static void bench_stages(const audio *a)
{
    enum { N = 4000 };
    printf("\n2. Stages, ns per 20 ms frame (one stream, best of 5 runs of %d frames)\n", N);
    static stages st;
    memset(&st, 0, sizeof st);
    st.a = a;
    Ccai_vad_params vp;
    Ccai_vad_params_default(&vp);
    Ccai_pacer_params pp;
    Ccai_pacer_params_default(&pp);
    Ccai_echo_gate_params gp;
    Ccai_echo_gate_params_default(&gp);
    if (Ccai_resampler_new(8000, 16000, 1, CCAI_RESAMPLE_QUALITY_DEFAULT, &st.up) != CCAI_OK ||
        Ccai_resampler_new(24000, 8000, 1, CCAI_RESAMPLE_QUALITY_DEFAULT, &st.down) != CCAI_OK ||
        Ccai_vad_new(&vp, 16000, &st.vad) != CCAI_OK || Ccai_pacer_new(&pp, &st.pacer) != CCAI_OK ||
        Ccai_echo_gate_new(&gp, &st.gate) != CCAI_OK)
        die("stages");
    printf("  %-52s %8.0f\n", "G.711 mu-law decode, 160 samples", best_ns(st_decode, &st, N));
    printf("  %-52s %8.0f\n", "resample 8 -> 16 kHz (caller to VAD/STT)", best_ns(st_up, &st, N));
    printf("  %-52s %8.0f\n", "VAD, 16 kHz", best_ns(st_vad, &st, N));
    Ccai_vad_free(st.vad);
    vp.denoise = true;
    if (Ccai_vad_new(&vp, 16000, &st.vad) != CCAI_OK)
        die("vad");
    printf("  %-52s %8.0f\n", "VAD with speexdsp denoise, 16 kHz", best_ns(st_vad, &st, N / 4));
    Ccai_vad_free(st.vad);
    printf("  %-52s %8.0f\n", "resample 24 -> 8 kHz (TTS to the line)", best_ns(st_down, &st, N));
    printf("  %-52s %8.0f\n", "G.711 mu-law encode, 160 samples", best_ns(st_encode, &st, N));
    printf("  %-52s %8.0f\n", "pacer push + release", best_ns(st_pacer, &st, N));
    printf("  %-52s %8.0f\n", "echo gate: far level + gate level", best_ns(st_gate, &st, N));
    const uint32_t tails[3] = {100, 200, 400};
    for (int k = 0; k < 3; k++) {
        if (Ccai_echo_canceller_new(8000, 160, tails[k], &st.aec) != CCAI_OK)
            die("aec");
        char what[64];
        snprintf(what, sizeof what, "echo canceller (speexdsp), 8 kHz, tail %u ms", tails[k]);
        printf("  %-52s %8.0f\n", what, best_ns(st_aec, &st, N / 4));
        Ccai_echo_canceller_free(st.aec);
    }
    Ccai_resampler_free(st.up);
    Ccai_resampler_free(st.down);
    Ccai_pacer_free(st.pacer);
    Ccai_echo_gate_free(st.gate);
}

/* 3 and 4. Streams per core and memory per stream. */
static void bench_streams(const audio *a, size_t n_streams, uint32_t seconds, bool aec)
{
    ccai_allocator al = {CCAI_ALLOCATOR_VERSION, count_malloc, count_realloc, count_free, NULL,
                         CCAI_ALLOCATOR_JSON};
    if (ccai_set_allocator(&al) != CCAI_OK)
        die("allocator");
    struct mallinfo2 m0 = mallinfo2();
    size_t h0 = heap_live;
    stream *s = calloc(n_streams, sizeof *s);
    if (!s)
        die("out of memory");
    for (size_t i = 0; i < n_streams; i++)
        stream_open(&s[i], aec);
    struct mallinfo2 m1 = mallinfo2();
    size_t ours = heap_live - h0;
    size_t all = m1.uordblks > m0.uordblks ? m1.uordblks - m0.uordblks : 0;
    size_t speex = all > ours ? all - ours : 0;

    /* Three passes of the same length, the clock running on: the best
     * pass is reported (the least disturbed by other work on the machine),
     * with the worst beside it. */
    size_t ticks = (size_t)seconds * 50;
    double best = 1e300, worst = 0;
    for (size_t pass = 0; pass < 3; pass++) {
        double t0 = bench_now_ms();
        for (size_t t = pass * ticks; t < (pass + 1) * ticks; t++)
            for (size_t i = 0; i < n_streams; i++) {
                size_t off = (t + i * 37) % a->caller_frames, boff = (t + i * 11) % a->bot_frames;
                stream_tick(&s[i], (uint64_t)t * 20, a->caller + off * 160, a->bot + boff * 480);
            }
        double d = bench_now_ms() - t0;
        if (d < best)
            best = d;
        if (d > worst)
            worst = d;
    }
    double ms = best;
    double ns_frame = ms * 1e6 / (double)(ticks * n_streams);
    size_t events = 0;
    for (size_t i = 0; i < n_streams; i++) {
        events += s[i].events;
        stream_close(&s[i]);
    }
    free(s);
    if (ccai_set_allocator(NULL) != CCAI_OK)
        die("allocator");
    printf("  %s: %zu streams x %u s of audio in %.0f ms (worst pass %.0f ms): %.1f us per "
           "stream-frame -> %.0f real-time streams per core (%zu VAD events)\n",
           aec ? "with the echo canceller (tail 200 ms)" : "gate only", n_streams, seconds, ms,
           worst, ns_frame / 1000.0, 20.0e6 / ns_frame, events);
    printf("    memory per stream: %zu bytes through libccai's allocator + %zu bytes "
           "speexdsp allocates itself = %.1f KiB\n",
           ours / n_streams, speex / n_streams, (double)(ours + speex) / n_streams / 1024.0);
}

typedef struct cond {
    speech_noise kind;
    double snr, level;
} cond;

static const cond conds[] = {
    {NOISE_NONE, 0, -26},  {NOISE_WHITE, 20, -26},  {NOISE_WHITE, 10, -26},
    {NOISE_WHITE, 5, -26}, {NOISE_PINK, 20, -26},   {NOISE_PINK, 10, -26},
    {NOISE_PINK, 5, -26},  {NOISE_BABBLE, 20, -26}, {NOISE_BABBLE, 10, -26},
    {NOISE_NONE, 0, -40},  {NOISE_PINK, 20, -40},
};

static void make_condition(const speech_track *base, const cond *c, uint32_t seed, speech_track *t)
{
    if (!speech_copy(base, t))
        die("out of memory");
    speech_set_level(t, c->level);
    speech_add_noise(t, c->kind, c->snr, seed);
    speech_ulaw_roundtrip(t->pcm, t->n);
}

static double p90(double *v, size_t n)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, bench_cmp_double);
    return v[(size_t)((double)(n - 1) * 0.9)];
}

/* 5. The VAD on the corpus. */
static void bench_vad(const char *set, const Ccai_vad_params *p, const char *label)
{
    speech_track base;
    char name[64];
    snprintf(name, sizeof name, "caller-%s", set);
    if (!speech_load(name, &base))
        die("corpus");
    printf("  %s, %s set (%zu turns, %.0f s):\n", label, set, base.n_utt,
           (double)base.n / base.rate);
    printf("    %-22s %6s %6s %6s  %7s %6s %6s %5s %5s  %-18s %-18s\n", "line", "prec", "recall",
           "FA", "turns", "starts", "false", "split", "merge", "start ms mean/p90",
           "end ms mean/p90");
    size_t tot_utt = 0, tot_det = 0, tot_false = 0;
    for (size_t c = 0; c < sizeof conds / sizeof conds[0]; c++) {
        speech_track t;
        make_condition(&base, &conds[c], 3 + (uint32_t)c, &t);
        vad_score s;
        if (!speech_score_vad(&t, t.pcm, NULL, p, &s))
            die("vad");
        char line[96], snr[16] = "";
        if (conds[c].kind != NOISE_NONE)
            snprintf(snr, sizeof snr, "%.0f dB", conds[c].snr);
        snprintf(line, sizeof line, "%s %s, %.0f dBFS", speech_noise_name(conds[c].kind), snr,
                 conds[c].level);
        double on_mean = speech_mean(s.onset, s.n_onset),
               off_mean = speech_mean(s.offset, s.n_offset);
        printf("    %-22s %6.3f %6.3f %6.3f  %3zu/%-3zu %6zu %3zu/%-2zu %5zu %5zu  %6.0f / %-9.0f "
               "%6.0f / "
               "%-9.0f\n",
               line, vad_score_precision(&s), vad_score_recall(&s), vad_score_false_alarm(&s),
               s.detected, s.utterances, s.started, s.false_starts, s.false_turns, s.split,
               s.merged, on_mean, p90(s.onset, s.n_onset), off_mean, p90(s.offset, s.n_offset));
        tot_utt += s.utterances;
        tot_det += s.detected;
        tot_false += s.false_starts + s.false_turns;
        speech_free(&t);
    }
    printf("    all lines: %zu/%zu turns ended, %zu false starts or turns\n", tot_det, tot_utt,
           tot_false);
    speech_free(&base);
}

/* 6. speexdsp's own VAD (speex_preprocess with SET_VAD), frame by frame. */
static void bench_speex_vad(void)
{
    speech_track base;
    if (!speech_load("caller-test", &base))
        die("corpus");
    printf("\n6. speexdsp's own VAD (frame decisions only; it has no events), test set\n"
           "   (speexdsp prints a warning on stderr each time its VAD is switched on)\n");
    fflush(stdout);
    printf("    %-22s %6s %6s %6s   ours: %6s %6s %6s\n", "line", "prec", "recall", "FA", "prec",
           "recall", "FA");
    for (size_t c = 0; c < sizeof conds / sizeof conds[0]; c++) {
        speech_track t;
        make_condition(&base, &conds[c], 3 + (uint32_t)c, &t);
        SpeexPreprocessState *st = speex_preprocess_state_init(160, 8000);
        int on = 1;
        if (!st || speex_preprocess_ctl(st, SPEEX_PREPROCESS_SET_VAD, &on) != 0)
            die("speex preprocess");
        size_t hits = 0, said = 0, truth = 0, fa = 0;
        int16_t frame[160];
        for (size_t f = 0; f < t.n_frames; f++) {
            memcpy(frame, t.pcm + f * 160, sizeof frame);
            bool v = speex_preprocess_run(st, frame) != 0;
            said += v;
            truth += t.truth[f];
            hits += v && t.truth[f];
            fa += v && !t.truth[f];
        }
        speex_preprocess_state_destroy(st);
        Ccai_vad_params p;
        Ccai_vad_params_default(&p);
        vad_score s;
        if (!speech_score_vad(&t, t.pcm, NULL, &p, &s))
            die("vad");
        char line[96], snr[16] = "";
        if (conds[c].kind != NOISE_NONE)
            snprintf(snr, sizeof snr, "%.0f dB", conds[c].snr);
        snprintf(line, sizeof line, "%s %s, %.0f dBFS", speech_noise_name(conds[c].kind), snr,
                 conds[c].level);
        printf("    %-22s %6.3f %6.3f %6.3f         %6.3f %6.3f %6.3f\n", line,
               said ? (double)hits / said : 1.0, truth ? (double)hits / truth : 1.0,
               (double)fa / (double)(t.n_frames - truth), vad_score_precision(&s),
               vad_score_recall(&s), vad_score_false_alarm(&s));
        speech_free(&t);
    }
    speech_free(&base);
}

/* 7. The bot's audio fed back into the caller's line. */
static void bench_echo(const char *set)
{
    speech_track caller, bot, far;
    char cn[32], bn[32];
    snprintf(cn, sizeof cn, "caller-%s", set);
    snprintf(bn, sizeof bn, "bot-%s", set);
    if (!speech_load(cn, &caller) || !speech_load(bn, &bot))
        die("corpus");
    speech_set_level(&caller, -26.0);
    speech_set_level(&bot, -26.0);
    speech_ulaw_roundtrip(caller.pcm, caller.n);
    if (!speech_far(&bot, caller.n, &far))
        die("far");
    size_t bot_frames = 0;
    for (size_t f = 0; f < far.n_frames; f++)
        bot_frames += far.truth[f];
    double bot_min = (double)bot_frames * 20.0 / 60000.0;
    printf("\n7. Echo: the bot's audio back at -10 dB into the caller's line (G.711 both ways,\n"
           "   -65 dBFS line noise), %.1f min of bot speech; %s set\n",
           bot_min, set);
    printf("    %-26s %5s  %-22s  %-40s\n", "handling", "delay", "echo alone: false",
           "caller talking over it: turns / barge-in / start ms");
    static const char *names[4] = {"none", "gate", "canceller (tail 256 ms)", "gate + canceller"};
    const uint32_t delays[3] = {40, 120, 200};
    for (int mode = 0; mode < 4; mode++)
        for (int d = 0; d < 3; d++) {
            echo_line line = {.delay_ms = delays[d],
                              .echo_db = -10.0,
                              .gate = mode & 1,
                              .aec_tail_ms = (mode & 2) ? 256 : 0};
            Ccai_echo_gate_params_default(&line.gate_params);
            Ccai_vad_params p;
            Ccai_vad_params_default(&p);
            int16_t *near = NULL;
            double *gate = NULL;
            vad_score alone, talk;
            if (!speech_echo_line(NULL, &far, caller.n, &line, &near, &gate) ||
                !speech_score_vad(&caller, near, gate, &p, &alone))
                die("echo");
            free(near);
            free(gate);
            if (!speech_echo_line(&caller, &far, caller.n, &line, &near, &gate) ||
                !speech_score_vad(&caller, near, gate, &p, &talk))
                die("echo");
            free(near);
            free(gate);
            size_t false_starts = alone.started + alone.false_starts;
            size_t bi = 0, bis = 0;
            for (size_t u = 0; u < caller.n_utt; u++) {
                size_t f0 = (size_t)(caller.utt[u].start_ms / 20);
                bool talking = false;
                for (size_t k = f0; k < f0 + 5 && k < far.n_frames; k++)
                    talking |= far.truth[k];
                if (talking) {
                    bi++;
                    bis += talk.utt_started[u];
                }
            }
            printf("    %-26s %3u ms  %3zu starts (%4.1f/min)  %2zu/%-2zu turns, %zu/%zu barge-in, "
                   "%4.0f ms, %zu false\n",
                   names[mode], delays[d], false_starts, (double)false_starts / bot_min,
                   talk.detected, talk.utterances, bis, bi, speech_mean(talk.onset, talk.n_onset),
                   talk.false_starts + talk.false_turns);
        }
    speech_free(&caller);
    speech_free(&bot);
    speech_free(&far);
}

int main(int argc, char **argv)
{
    size_t n_streams = 500;
    uint32_t seconds = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--streams") && i + 1 < argc)
            n_streams = (size_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            seconds = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--speech") && i + 1 < argc)
            setenv("CCAI_TEST_SPEECH_DIR", argv[++i], 1);
        else {
            fprintf(stderr, "usage: %s [--streams N] [--seconds S] [--speech DIR]\n", argv[0]);
            return 2;
        }
    }
    if (!getenv("CCAI_TEST_SPEECH_DIR"))
        setenv("CCAI_TEST_SPEECH_DIR", CCAI_BENCH_SPEECH_DIR, 1);
    if (!n_streams || !seconds)
        die("--streams and --seconds must be positive");
    printf("bench-media (%s build%s%s)\n", CCAI_BENCH_BUILDTYPE,
           *CCAI_BENCH_SANITIZE && strcmp(CCAI_BENCH_SANITIZE, "none") ? ", sanitizers " : "",
           strcmp(CCAI_BENCH_SANITIZE, "none") ? CCAI_BENCH_SANITIZE : "");
    bool corpus = speech_dir() != NULL;
    if (!corpus)
        printf("(no speech corpus: espeak-ng or sox missing at build time; CPU figures use "
               "tones, accuracy figures are skipped)\n");
    bench_resampler();
    audio a = {0};
    load_audio(&a);
    bench_stages(&a);
    printf("\n3-4. Streams per core and memory: decode -> [canceller] -> resample -> VAD "
           "(gated) per caller frame,\n     resample -> encode -> pacer -> gate per bot frame; "
           "the bot talks all the time\n");
    bench_streams(&a, n_streams, seconds, false);
    bench_streams(&a, n_streams, seconds, true);
    free(a.caller);
    free(a.bot);
    if (!corpus)
        return 0;
    printf("\n5. VAD on espeak-ng speech through G.711 (turn = a SPEECH_END covering an "
           "utterance;\n   start = SPEECH_START, its delay from the utterance's first frame; "
           "end = from its last)\n");
    Ccai_vad_params p;
    Ccai_vad_params_default(&p);
    bench_vad("test", &p, "defaults");
    bench_vad("dev", &p, "defaults");
    Ccai_vad_params ref = p;
    ref.threshold = 0.5;
    bench_vad("test", &ref, "vad_threshold 0.5 (the reference's -26 dBFS)");
    Ccai_vad_params den = p;
    den.denoise = true;
    bench_vad("test", &den, "with speexdsp denoise");
    bench_speex_vad();
    bench_echo("test");
    bench_echo("dev");
    return 0;
}
