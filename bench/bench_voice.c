/* Audio calls through the voice layer (libccai/voice/): the figures issue
 * 11 sets targets for, in one run. Nothing here is a pass/fail test.
 *
 *   (a) audio streams per core: whole calls (context, engine with the
 *       offline dialogue, store in memory, voice layer) with G.711 mu-law
 *       8 kHz both ways, paced 20 ms frames: caller audio decoded,
 *       resampled to the recogniser's 16 kHz, VAD, the synthesiser's 24 kHz
 *       resampled and encoded, paced; stand-in providers in-process
 *       (registered through Ccai_voice_add_stt/_tts) that cost nothing, so
 *       the figure is libccai's own; memory per audio call;
 *   (b) latency added beyond the providers': the recogniser's end() -> the
 *       first bot frame at the host, minus the stand-ins' STT finalisation
 *       and TTS first byte and minus the engine's words -> first sentence
 *       (the offline dialogue here: the LLM's own time elsewhere), p50/p99;
 *   (c) barge-in: the caller's speech onset -> clear_audio, p50/p99 with
 *       the default settings (VAD cut-off 250 ms, echo gate on), and the
 *       ccai_call_audio_in() that decided it -> clear_audio (an upper bound
 *       of decision -> clear sent); then on a line that echoes the bot
 *       back at -10 dB after 0 to 240 ms (false clears counted);
 *   (e) early start (speech.early_start): the caller's last speech -> the
 *       answer's first frame with the LLM stand-in, with and without it;
 *   (d) the offline stack in whole calls: pocketsphinx + flite calls per
 *       core in real time and memory per call (bench-speech has each
 *       engine's own cost and a decoder's memory: this is the end-to-end
 *       figure beside them).
 *
 * A caller frame goes to ccai_call_audio_in() when its 20 ms have been
 * captured (at the end of its audio): the speech onset is the start of the
 * first speech frame, the end of speech the end of the last.
 *
 * Time: the context runs on an injected clock. (a) and (d) are pure
 * simulated time (20 ms ticks, timers fired when due; the CPU used is
 * measured); in (b) and (c) the clock is simulated time plus the real time
 * spent processing (idle waits are skipped, work is not), so latencies
 * include libccai's CPU time under the load of the other calls.
 *
 *   build-rel/bench/bench-voice [--quick]
 */
#include <ccai/adapters/poll.h>

#include "core/metrics.h"
#include "engine/engine.h"
#include "io/io.h"
#include "media/codec.h"
#include "speech/sphinx.h"
#include "support/llm_standin.h"
#include "support/voice.h"
#include "voice/voice.h"

#include "bench_stats.h"

#include <malloc.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#define FRAME       160 /* 20 ms of 8 kHz mu-law */
#define TICK_MS     20
#define SPEECH_MS   1200
#define MAX_SAMPLES 100000

static bool quick;

static void die(const char *what)
{
    fprintf(stderr, "bench-voice: %s\n", what);
    exit(1);
}

/* Memory ------------------------------------------------------------------ */

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

static double rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return (double)rss * (double)sysconf(_SC_PAGESIZE) / 1024.0;
}

static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The clock ---------------------------------------------------------------- */

static double virt_ms = 1e6; /* simulated time at real_mark */
static double real_mark;
static bool real_work; /* processing time moves the clock too */

static double bt(void)
{
    return real_work ? virt_ms + (bench_now_ms() - real_mark) : virt_ms;
}

static void jump_to(double t)
{
    double now = bt();
    if (t > now)
        virt_ms = t;
    else
        virt_ms = now;
    real_mark = bench_now_ms();
}

static uint64_t clock_fn(void *ud)
{
    (void)ud;
    return (uint64_t)bt();
}

/* Signals ------------------------------------------------------------------- */

/* Voiced speech-like sound: harmonics of f0 with a 4 Hz syllable envelope,
 * at level dBFS (RMS). */
static void voiced(int16_t *out, size_t n, uint32_t rate, double f0, double level_db, double phase)
{
    double amp = pow(10, level_db / 20) * 32768 * sqrt(2) / 1.2;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate;
        double env = 0.55 + 0.45 * sin(2 * M_PI * 4 * t + phase);
        double s = 0;
        for (int k = 1; k <= 5; k++)
            s += sin(2 * M_PI * k * f0 * t + k * phase) / k;
        double v = amp * env * s;
        out[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
    }
}

/* The same with the rhythm of speech: syllables of 80-250 ms at levels
 * 0-12 dB apart, and a 100-400 ms pause every few of them (a seeded
 * generator): unlike the steady 4 Hz envelope, nothing in it repeats. */
static void syllabic(int16_t *out, size_t n, uint32_t rate, double f0, double level_db,
                     uint32_t seed)
{
    double amp = pow(10, level_db / 20) * 32768 * sqrt(2) / 1.2;
    size_t i = 0;
    while (i < n) {
        seed = seed * 1103515245u + 12345u;
        size_t syl = (size_t)rate * (80 + (seed >> 16) % 171) / 1000;
        double gain = pow(10, -(double)((seed >> 8) % 13) / 20);
        for (size_t k = 0; k < syl && i < n; k++, i++) {
            double t = (double)i / rate, s = 0;
            double env = gain * sin(M_PI * (double)k / (double)syl);
            for (int h = 1; h <= 5; h++)
                s += sin(2 * M_PI * h * f0 * t) / h;
            double v = amp * env * s;
            out[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        }
        seed = seed * 1103515245u + 12345u;
        if ((seed >> 16) % 4 == 0) {
            size_t pause = (size_t)rate * (100 + (seed >> 8) % 301) / 1000;
            for (size_t k = 0; k < pause && i < n; k++)
                out[i++] = 0;
        }
    }
}

static uint8_t *caller_speech; /* SPEECH_MS at 8 kHz mu-law, per voice */
#define CALLER_VOICES 8
static int16_t *bot_speech; /* 4 s at 24 kHz PCM16 */
#define BOT_SPEECH_MS  4000
#define BOT_MS_PER_CHR 40

/* The calls --------------------------------------------------------------- */

typedef enum mode {
    ANSWERS,    /* the caller waits for the bot to finish */
    INTERRUPTS, /* the caller talks over the bot's answers */
    OFFLINE,    /* real speech to pocketsphinx, flite answers */
} mode;

typedef struct mark {
    char name[32];
    size_t at;
} mark;

typedef struct bcall {
    ccai_call *call;
    int id;
    bool paced;
    mode m;
    /* Non-paced: what the host was given and has not played. */
    size_t q_len, q_played;
    mark marks[64];
    size_t n_marks;
    double last_audio; /* bot audio given or played (bench time) */
    bool bot_talking;  /* audio given since the caller's last turn */
    double bot_since;  /* its first frame */
    /* The caller. */
    const uint8_t *talk;
    size_t talk_len, talk_pos;
    double next_turn_at; /* not before */
    double barge_after;  /* INTERRUPTS: ms into the bot's speech */
    /* (b): the stages of an answer. */
    int stage;
    double t_speech_end, t_end, t_final, t_say, t_audio;
    /* (c) */
    double t_onset, t_in_start;
    bool onset_open;
    int clears;
    /* (c) over echo: what the host was given (non-paced), the line's last
     * 2 s as played (silence included), the echo's delay. */
    uint8_t *given;
    size_t given_cap;
    uint8_t line[16000];
    size_t line_pos;
    uint32_t echo_delay_ms;
    int false_clears;
    /* (e): the caller stopped talking, the answer's first frame awaited. */
    bool awaiting;
} bcall;

static double echo_db; /* the bot's audio back on the caller's line (0: none) */

typedef struct samples {
    double *v;
    size_t n;
} samples;

static void add(samples *s, double x)
{
    if (!s->v)
        s->v = calloc(MAX_SAMPLES, sizeof *s->v);
    if (s->v && s->n < MAX_SAMPLES)
        s->v[s->n++] = x;
}

static struct {
    samples vad_end, stt, engine, tts, pipeline_paced, pipeline_host, total;
    samples onset_clear, decision_clear;
    samples answer; /* (e): the caller's last speech -> the answer's first frame */
    size_t frames_played, bad_audio;
} st;

static void st_reset(void)
{
    samples *all[] = {&st.vad_end,        &st.stt,           &st.engine, &st.tts,
                      &st.pipeline_paced, &st.pipeline_host, &st.total,  &st.onset_clear,
                      &st.decision_clear, &st.answer};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        free(all[i]->v);
    memset(&st, 0, sizeof st);
}

typedef struct bench {
    ccai_config *cfg;
    ccai_ctx *ctx;
    double due; /* < 0: none */
    bcall *calls;
    size_t n;
} bench;

static int h_watch(void *ud, int fd, int events, void **slot)
{
    (void)ud;
    (void)fd;
    (void)events;
    (void)slot;
    return 0;
}

static int h_timer(void *ud, int64_t ms)
{
    bench *b = ud;
    b->due = ms < 0 ? -1 : bt() + (double)ms;
    return 0;
}

static int op_play(ccai_call *call, const ccai_audio_frame *f, void *ud)
{
    (void)call;
    bcall *c = ud;
    if (f->format.encoding != CCAI_AUDIO_ULAW || f->format.sample_rate != 8000)
        st.bad_audio++;
    double now = bt();
    if (c->stage == 4) {
        /* The first frame of the answer at the host. */
        add(c->paced ? &st.pipeline_paced : &st.pipeline_host, now - c->t_audio);
        add(&st.total, now - c->t_end);
        c->stage = 0;
    }
    if (c->awaiting) {
        add(&st.answer, now - c->t_speech_end);
        c->awaiting = false;
    }
    if (!c->bot_talking) {
        c->bot_talking = true;
        c->bot_since = now;
    }
    c->last_audio = now;
    if (!c->paced) {
        if (echo_db < 0) {
            if (c->q_len + f->len > c->given_cap) {
                size_t cap = (c->q_len + f->len) * 2;
                uint8_t *b = realloc(c->given, cap);
                if (!b)
                    die("memory");
                c->given = b;
                c->given_cap = cap;
            }
            memcpy(c->given + c->q_len, f->data, f->len);
        }
        c->q_len += f->len;
    }
    st.frames_played++;
    return 0;
}

static int op_clear(ccai_call *call, void *ud)
{
    (void)call;
    bcall *c = ud;
    double now = bt();
    c->clears++;
    if (!c->onset_open)
        c->false_clears++;
    if (c->onset_open) {
        add(&st.onset_clear, now - c->t_onset);
        add(&st.decision_clear, bench_now_ms() - c->t_in_start);
        c->onset_open = false;
    }
    c->q_len = c->q_played = 0;
    c->n_marks = 0;
    return 0;
}

static int op_mark(ccai_call *call, const char *name, void *ud)
{
    (void)call;
    bcall *c = ud;
    if (c->n_marks < 64) {
        snprintf(c->marks[c->n_marks].name, sizeof c->marks[0].name, "%s", name);
        c->marks[c->n_marks].at = c->q_len;
        c->n_marks++;
    }
    return 0;
}

static int op_hangup(ccai_call *call, void *ud)
{
    (void)call;
    (void)ud;
    return 0;
}

static const ccai_call_ops ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .hangup = op_hangup,
    .play_audio = op_play,
    .clear_audio = op_clear,
    .mark = op_mark,
};

/* Stand-in providers ------------------------------------------------------- */

static bcall *opening; /* the call whose providers open now */

typedef struct sstt {
    Ccai_stt base;
    ccai_ctx *ctx;
    Ccai_stt_open o;
    Ccai_timer timer, partial_timer;
    bcall *c;
    uint64_t fed, partial_at;
} sstt;

static const Ccai_stt_provider stt_standin;
static uint32_t stt_delay_ms = 150, tts_delay_ms = 80;
/* (e): the recogniser also gives the words so far, every 200 ms of audio
 * (a streaming provider's interim results). */
static bool stt_partials;

static void stt_partial(Ccai_timer *t, void *ud)
{
    (void)t;
    sstt *s = ud;
    Ccai_stt_result r = {.event = CCAI_STT_PARTIAL, .text = "the city of london", .confidence = -1};
    s->o.fn(&s->base, &r, s->o.ud);
}

static void stt_fire(Ccai_timer *t, void *ud)
{
    (void)t;
    sstt *s = ud;
    bcall *c = s->c;
    if (c->stage == 1) {
        c->t_final = bt();
        add(&st.stt, c->t_final - c->t_end);
        c->stage = 2;
    }
    Ccai_stt_result r = {.event = CCAI_STT_FINAL,
                         .text = "the city of london",
                         .confidence = 0.9,
                         .audio_ms = (uint32_t)(s->fed / 32),
                         .from_end = true};
    s->fed = s->partial_at = 0;
    Ccai_timer_stop(s->ctx, &s->partial_timer);
    s->o.fn(&s->base, &r, s->o.ud);
}

static ccai_status stt_open(ccai_ctx *ctx, const Ccai_stt_config *cfg, const Ccai_stt_open *o,
                            Ccai_stt **ret)
{
    (void)cfg;
    sstt *s = calloc(1, sizeof *s);
    if (!s)
        return CCAI_ERR_NOMEM;
    s->base.provider = &stt_standin;
    s->base.in = (Ccai_media_format){CCAI_MEDIA_PCM16, 16000, 1};
    s->ctx = ctx;
    s->o = *o;
    s->c = opening;
    Ccai_timer_init(&s->timer, stt_fire, s);
    Ccai_timer_init(&s->partial_timer, stt_partial, s);
    *ret = &s->base;
    return CCAI_OK;
}

static ccai_status stt_feed(Ccai_stt *t, const uint8_t *audio, size_t len)
{
    sstt *s = (sstt *)t;
    /* A network provider copies the audio out: so does this one. */
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < len; i += 64)
        sink ^= audio[i];
    (void)sink;
    s->fed += len;
    /* 16 kHz PCM16: 6 400 bytes per 200 ms. */
    if (stt_partials && s->fed >= s->partial_at + 6400) {
        s->partial_at = s->fed;
        Ccai_timer_start(s->ctx, &s->partial_timer, 0);
    }
    return CCAI_OK;
}

static ccai_status stt_end(Ccai_stt *t)
{
    sstt *s = (sstt *)t;
    bcall *c = s->c;
    c->t_end = bt();
    if (c->t_speech_end > 0)
        add(&st.vad_end, c->t_end - c->t_speech_end);
    c->stage = 1;
    Ccai_timer_start(s->ctx, &s->timer, stt_delay_ms);
    return CCAI_OK;
}

static void stt_cancel(Ccai_stt *t)
{
    sstt *s = (sstt *)t;
    Ccai_timer_stop(s->ctx, &s->timer);
    Ccai_timer_stop(s->ctx, &s->partial_timer);
    s->fed = s->partial_at = 0;
}

static void stt_close(Ccai_stt *t)
{
    sstt *s = (sstt *)t;
    Ccai_timer_stop(s->ctx, &s->timer);
    Ccai_timer_stop(s->ctx, &s->partial_timer);
    free(s);
}

static const Ccai_stt_provider stt_standin = {
    .name = "bench-stt",
    .caps = CCAI_STT_STREAMING,
    .open = stt_open,
    .feed = stt_feed,
    .end = stt_end,
    .cancel = stt_cancel,
    .close = stt_close,
};

#define TTS_QUEUE 16

typedef struct stts {
    Ccai_tts base;
    ccai_ctx *ctx;
    Ccai_tts_open o;
    Ccai_timer timer;
    bcall *c;
    uint32_t next_id;
    struct {
        uint32_t id;
        size_t samples;
    } q[TTS_QUEUE];
    size_t q_head, q_n;
} stts;

static const Ccai_tts_provider tts_standin;

static void tts_fire(Ccai_timer *t, void *ud)
{
    (void)t;
    stts *s = ud;
    if (!s->q_n)
        return;
    uint32_t id = s->q[s->q_head].id;
    size_t n = s->q[s->q_head].samples;
    s->q_head = (s->q_head + 1) % TTS_QUEUE;
    s->q_n--;
    bcall *c = s->c;
    if (c->stage == 3) {
        c->t_audio = bt();
        add(&st.tts, c->t_audio - c->t_say);
        c->stage = 4;
    }
    /* The sentence in 100 ms chunks, as a streaming provider sends it. */
    uint8_t buf[2 * 2400];
    Ccai_tts *self = &s->base;
    for (size_t off = 0; off < n;) {
        size_t k = n - off < 2400 ? n - off : 2400;
        Ccai_pcm16le_write(bot_speech + off, k, buf);
        s->o.audio(self, id, buf, 2 * k, s->o.ud);
        off += k;
    }
    Ccai_tts_done d = {.id = id, .status = CCAI_OK, .audio_ms = (uint32_t)(n / 24)};
    s->o.done(self, &d, s->o.ud);
    if (s->q_n)
        Ccai_timer_start(s->ctx, &s->timer, tts_delay_ms);
}

static ccai_status tts_open(ccai_ctx *ctx, const Ccai_tts_config *cfg, const Ccai_tts_open *o,
                            Ccai_tts **ret)
{
    (void)cfg;
    stts *s = calloc(1, sizeof *s);
    if (!s)
        return CCAI_ERR_NOMEM;
    s->base.provider = &tts_standin;
    s->base.out = (Ccai_media_format){CCAI_MEDIA_PCM16, 24000, 1};
    s->ctx = ctx;
    s->o = *o;
    s->c = opening;
    Ccai_timer_init(&s->timer, tts_fire, s);
    *ret = &s->base;
    return CCAI_OK;
}

static ccai_status tts_say(Ccai_tts *t, const Ccai_tts_text *text, uint32_t *ret_id)
{
    stts *s = (stts *)t;
    if (s->q_n == TTS_QUEUE)
        return CCAI_ERR_LIMIT;
    bcall *c = s->c;
    if (c->stage == 2) {
        c->t_say = bt();
        add(&st.engine, c->t_say - c->t_final);
        c->stage = 3;
    }
    size_t ms = strlen(text->text) * BOT_MS_PER_CHR;
    if (ms > BOT_SPEECH_MS)
        ms = BOT_SPEECH_MS;
    size_t i = (s->q_head + s->q_n) % TTS_QUEUE;
    s->q[i].id = ++s->next_id;
    s->q[i].samples = ms * 24;
    s->q_n++;
    *ret_id = s->next_id;
    if (!Ccai_timer_active(&s->timer))
        Ccai_timer_start(s->ctx, &s->timer, tts_delay_ms);
    return CCAI_OK;
}

static void tts_cancel(Ccai_tts *t)
{
    stts *s = (stts *)t;
    s->q_n = 0;
    Ccai_timer_stop(s->ctx, &s->timer);
}

static void tts_close(Ccai_tts *t)
{
    stts *s = (stts *)t;
    Ccai_timer_stop(s->ctx, &s->timer);
    free(s);
}

static const Ccai_tts_provider tts_standin = {
    .name = "bench-tts",
    .caps = CCAI_TTS_STREAMING,
    .open = tts_open,
    .say = tts_say,
    .cancel = tts_cancel,
    .close = tts_close,
};

/* The run ------------------------------------------------------------------- */

static void run_due(bench *b)
{
    for (int i = 0; i < 1000000 && b->due >= 0 && b->due <= bt(); i++)
        ccai_ctx_timeout(b->ctx);
}

static void bench_open(bench *b, bool offline)
{
    memset(b, 0, sizeof *b);
    b->due = -1;
    if (ccai_config_new(&b->cfg) != CCAI_OK ||
        ccai_config_set(b->cfg, "database.sqlite.path", ":memory:") != CCAI_OK ||
        (!offline &&
         (ccai_config_set(b->cfg, "speech.stt.providers", "[\"bench-stt\"]") != CCAI_OK ||
          ccai_config_set(b->cfg, "speech.tts.providers", "[\"bench-tts\"]") != CCAI_OK)))
        die("config");
    ccai_loop_hooks hooks = {CCAI_LOOP_HOOKS_VERSION, h_watch, h_timer, NULL};
    char *err = NULL;
    if (ccai_ctx_new(b->cfg, &hooks, b, &b->ctx, &err) != CCAI_OK)
        die(err ? err : "context");
    Ccai_ctx_set_clock(b->ctx, clock_fn, NULL);
    if (!offline && (Ccai_voice_add_stt(Ccai_ctx_voice(b->ctx), &stt_standin) != CCAI_OK ||
                     Ccai_voice_add_tts(Ccai_ctx_voice(b->ctx), &tts_standin) != CCAI_OK))
        die("providers");
}

static void call_start(bench *b, bcall *c)
{
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+14155550100",
        .channel = "local",
        .initiate_json = "{\"lang\":{\"default_short_code\":\"en-US\"}}",
        .audio_in = {CCAI_AUDIO_ULAW, 8000, 1},
        .audio_out = {CCAI_AUDIO_ULAW, 8000, 1},
        .audio_flags = c->paced ? CCAI_AUDIO_PACED : 0,
    };
    opening = c;
    if (ccai_call_start(b->ctx, &p, &ops, c, &c->call) != CCAI_OK)
        die(ccai_ctx_errmsg(b->ctx));
    opening = NULL;
    if (ccai_call_notify(c->call, CCAI_EVENT_CONNECTED, NULL) != CCAI_OK)
        die("connected");
}

/* 20 ms of one call's line: the host plays what it queued (non-paced),
 * marks reached come back, the caller's frame goes in. */
static void call_tick(bcall *c, double now, const uint8_t *offline_turn, size_t offline_len)
{
    uint8_t playing[FRAME];
    memset(playing, CCAI_ULAW_SILENCE, sizeof playing);
    if (echo_db < 0 && !c->paced && c->q_played < c->q_len)
        memcpy(playing, c->given + c->q_played,
               c->q_len - c->q_played < FRAME ? c->q_len - c->q_played : FRAME);
    if (!c->paced && c->q_played < c->q_len) {
        c->q_played = c->q_played + FRAME < c->q_len ? c->q_played + FRAME : c->q_len;
        c->last_audio = now;
        size_t k = 0;
        for (size_t i = 0; i < c->n_marks; i++) {
            if (c->marks[i].at <= c->q_played)
                CCAI_DISCARD(ccai_call_audio_marked(c->call, c->marks[i].name));
            else
                c->marks[k++] = c->marks[i];
        }
        c->n_marks = k;
    }
    bool queued = !c->paced && c->q_played < c->q_len;
    if (!c->talk && now >= c->next_turn_at) {
        bool go;
        if (c->m == INTERRUPTS)
            go = c->bot_talking && now - c->bot_since >= c->barge_after && queued;
        else
            go = !queued && now - c->last_audio >= 400 && c->bot_talking;
        if (go) {
            if (c->m == OFFLINE) {
                c->talk = offline_turn;
                c->talk_len = offline_len;
            } else {
                c->talk = caller_speech + (size_t)(c->id % CALLER_VOICES) * SPEECH_MS * 8;
                c->talk_len = SPEECH_MS * 8;
            }
            c->talk_pos = 0;
            /* A frame goes in once its 20 ms are captured: the first
             * speech frame's audio began a frame before it arrives. */
            c->t_onset = now - TICK_MS;
            c->onset_open = c->m == INTERRUPTS;
        }
    }
    uint8_t silence[FRAME];
    const uint8_t *f = silence;
    if (c->talk) {
        f = c->talk + c->talk_pos;
        c->talk_pos += FRAME;
        if (c->talk_pos + FRAME > c->talk_len) {
            c->talk = NULL;
            c->t_speech_end = now; /* the end of this frame's audio */
            c->awaiting = true;
            c->bot_talking = false;
            c->next_turn_at = now + 1500;
            c->barge_after = 300 + (double)(rand() % 1200);
        }
    } else {
        memset(silence, CCAI_ULAW_SILENCE, sizeof silence);
    }
    uint8_t mixed[FRAME];
    if (echo_db < 0) {
        /* The line brings back what played echo_delay_ms ago. */
        memcpy(c->line + c->line_pos, playing, FRAME);
        size_t back = (size_t)c->echo_delay_ms * 8;
        const uint8_t *echo = c->line + (c->line_pos + sizeof c->line - back) % sizeof c->line;
        c->line_pos = (c->line_pos + FRAME) % sizeof c->line;
        double gain = pow(10, echo_db / 20);
        int16_t pcm[FRAME];
        for (size_t i = 0; i < FRAME; i++) {
            double v = Ccai_ulaw_decode(f[i]) + Ccai_ulaw_decode(echo[i]) * gain;
            pcm[i] = (int16_t)(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
        }
        Ccai_media_encode(CCAI_MEDIA_ULAW, pcm, FRAME, mixed);
        f = mixed;
    }
    c->t_in_start = bench_now_ms();
    ccai_status s = ccai_call_audio_in(c->call, f, FRAME);
    if (s != CCAI_OK && s != CCAI_ERR_STATE)
        die("audio in");
}

/* Run every call for ms of simulated time. */
static void run_for(bench *b, double ms, const uint8_t *turn, size_t turn_len)
{
    double end = bt() + ms;
    double next = bt();
    while (bt() < end) {
        jump_to(next);
        run_due(b);
        double now = bt();
        for (size_t i = 0; i < b->n; i++)
            call_tick(&b->calls[i], now, turn, turn_len);
        run_due(b);
        next += TICK_MS;
        /* Timers due before the next tick fire at their time. */
        while (b->due >= 0 && b->due < next) {
            jump_to(b->due);
            ccai_ctx_timeout(b->ctx);
        }
    }
}

static void bench_close(bench *b)
{
    for (size_t i = 0; i < b->n; i++)
        ccai_call_free(b->calls[i].call);
    free(b->calls);
    ccai_ctx_free(b->ctx);
    ccai_config_free(b->cfg);
}

static void target(const char *what, double v, const char *unit, const char *cmp, double t)
{
    bool ok = strcmp(cmp, ">=") == 0 ? v >= t : v <= t;
    printf("  %-52s %10.2f %-6s target %s %g %s: %s\n", what, v, unit, cmp, t, unit,
           ok ? "met" : "NOT met");
}

static double pct(samples *s, double q)
{
    if (!s->n)
        return NAN;
    qsort(s->v, s->n, sizeof *s->v, bench_cmp_double);
    return s->v[(size_t)((double)(s->n - 1) * q)];
}

/* (a) ------------------------------------------------------------------------ */

static void bench_streams(void)
{
    size_t n = quick ? 100 : 300;
    double seconds = quick ? 20 : 60;
    printf("\n== (a) audio calls per core: %zu calls x %.0f s, mu-law 8 kHz both ways, paced, "
           "stand-in STT/TTS ==\n",
           n, seconds);
    real_work = false;
    bench b;
    size_t heap0 = heap_live;
    double rss0 = rss_kib();
    bench_open(&b, false);
    b.calls = calloc(n, sizeof *b.calls);
    b.n = n;
    size_t heap_ctx = heap_live;
    for (size_t i = 0; i < n; i++) {
        b.calls[i].id = (int)i;
        b.calls[i].paced = true;
        b.calls[i].m = ANSWERS;
        b.calls[i].next_turn_at = bt() + (double)(rand() % 3000);
        call_start(&b, &b.calls[i]);
    }
    run_for(&b, 2000, NULL, 0); /* greetings under way */
    size_t heap_calls = heap_live;
    double rss_calls = rss_kib();
    size_t frames0 = st.frames_played;
    double c0 = cpu_s(), w0 = bench_now_ms();
    run_for(&b, seconds * 1000, NULL, 0);
    double cpu = cpu_s() - c0, wall = (bench_now_ms() - w0) / 1000;
    size_t frames = st.frames_played - frames0;
    double per_core = (double)n * seconds / cpu;
    printf("  %zu calls x %.0f s simulated in %.2f s CPU (%.2f s wall); the bot talked %.0f%% of "
           "the time (%zu frames out), %zu answers\n",
           n, seconds, cpu, wall, 100.0 * (double)frames * TICK_MS / ((double)n * seconds * 1000),
           frames, st.total.n);
    printf("  CPU per call: %.1f us per 20 ms of call (both directions, engine turns and store "
           "included)\n",
           cpu * 1e6 / ((double)n * seconds * 1000 / TICK_MS));
    target("real-time audio calls per core", per_core, "calls", ">=", 500);
    printf("  memory per audio call: %.1f KiB through libccai's allocator (context %.1f KiB), "
           "%.1f KiB RSS\n",
           (double)(heap_calls - heap_ctx) / (double)n / 1024, (double)(heap_ctx - heap0) / 1024,
           (rss_calls - rss0) / (double)n);
    if (st.bad_audio)
        printf("  (%zu frames in another format than asked!)\n", st.bad_audio);
    bench_close(&b);
}

/* (b) and (c) ------------------------------------------------------------------ */

static void bench_latency(void)
{
    size_t n = 20;
    double seconds = quick ? 60 : 240;
    printf("\n== (b) latency added beyond the providers: %zu calls x %.0f s, the caller waits "
           "for the bot; stand-in STT finalises in %u ms, TTS first byte %u ms (clock: simulated "
           "+ real processing time) ==\n",
           n, seconds, (unsigned)stt_delay_ms, (unsigned)tts_delay_ms);
    st_reset();
    real_work = true;
    bench b;
    bench_open(&b, false);
    b.calls = calloc(n, sizeof *b.calls);
    b.n = n;
    for (size_t i = 0; i < n; i++) {
        b.calls[i].id = (int)i;
        b.calls[i].paced = i % 2 == 0;
        b.calls[i].m = ANSWERS;
        b.calls[i].next_turn_at = bt() + (double)(rand() % 3000);
        call_start(&b, &b.calls[i]);
    }
    run_for(&b, seconds * 1000, NULL, 0);
    bench_report("caller's last speech -> end of turn (VAD)", st.vad_end.v, st.vad_end.n, "ms", 1);
    bench_report("end of turn -> first bot frame at the host", st.total.v, st.total.n, "ms", 1);
    bench_report("  STT finalisation (stand-in)", st.stt.v, st.stt.n, "ms", 1);
    bench_report("  engine: words -> first sentence (offline)", st.engine.v, st.engine.n, "ms", 1);
    bench_report("  TTS first byte (stand-in)", st.tts.v, st.tts.n, "ms", 1);
    bench_report("  added: TTS audio -> host frame, paced", st.pipeline_paced.v,
                 st.pipeline_paced.n, "ms", 1);
    bench_report("  added: TTS audio -> host frame, host queue", st.pipeline_host.v,
                 st.pipeline_host.n, "ms", 1);
    /* Added = total - STT - engine - TTS, per answer: the stages are
     * sequential, so it is the last stage plus what lies between them. */
    samples added = {0};
    for (size_t i = 0; i < st.pipeline_paced.n; i++)
        add(&added, st.pipeline_paced.v[i]);
    for (size_t i = 0; i < st.pipeline_host.n; i++)
        add(&added, st.pipeline_host.v[i]);
    double p50 = pct(&added, 0.5), p99 = pct(&added, 0.99);
    printf("  added by libccai's pipeline (both modes, n=%zu): p50 %.2f ms\n", added.n, p50);
    target("added latency p99 (excluding providers and engine)", p99, "ms", "<=", 20);
    free(added.v);
    bench_close(&b);
}

static void bench_barge(double bot_db, double echo)
{
    size_t n = 20;
    double seconds = quick ? 60 : 240;
    if (echo < 0) /* the delay of an echo is told by the rhythm of speech */
        syllabic(bot_speech, (size_t)BOT_SPEECH_MS * 24, 24000, 210, bot_db, 7);
    else
        voiced(bot_speech, (size_t)BOT_SPEECH_MS * 24, 24000, 210, bot_db, 0.3);
    echo_db = echo;
    printf("\n== (c) barge-in: %zu calls x %.0f s, the caller (-20 dBFS) talks over the bot's "
           "answers (%.0f dBFS) 300-1500 ms into them; default VAD (cut-off 250 ms) and echo "
           "gate",
           n, seconds, bot_db);
    if (echo < 0)
        printf("; the bot's speech in syllables and pauses, and the line echoes it at %.0f dB "
               "after 0, 60, 120, 180 or 240 ms (per call)",
               echo);
    printf(" ==\n");
    real_work = true;
    bench b;
    st_reset();
    bench_open(&b, false);
    b.calls = calloc(n, sizeof *b.calls);
    b.n = n;
    for (size_t i = 0; i < n; i++) {
        b.calls[i].id = (int)i;
        b.calls[i].paced = false;
        b.calls[i].m = INTERRUPTS;
        b.calls[i].barge_after = 300 + (double)(rand() % 1200);
        b.calls[i].echo_delay_ms = (uint32_t)(i % 5) * 60;
        memset(b.calls[i].line, CCAI_ULAW_SILENCE, sizeof b.calls[i].line);
        call_start(&b, &b.calls[i]);
    }
    run_for(&b, seconds * 1000, NULL, 0);
    size_t clears = 0;
    int false_by_delay[5] = {0};
    for (size_t i = 0; i < n; i++) {
        clears += (size_t)b.calls[i].clears;
        false_by_delay[i % 5] += b.calls[i].false_clears;
        free(b.calls[i].given);
    }
    if (echo < 0)
        printf("  false clears by echo delay 0/60/120/180/240 ms: %d/%d/%d/%d/%d\n",
               false_by_delay[0], false_by_delay[1], false_by_delay[2], false_by_delay[3],
               false_by_delay[4]);
    /* A clear with no caller talking (the echo barged in) is a false one. */
    printf("  %zu interruptions, %zu clears (%lld false)\n", st.onset_clear.n, clears,
           (long long)clears - (long long)st.onset_clear.n);
    bench_report("speech onset -> clear_audio", st.onset_clear.v, st.onset_clear.n, "ms", 1);
    bench_report("audio_in() that decided -> clear_audio", st.decision_clear.v, st.decision_clear.n,
                 "ms", 1);
    target("speech onset -> clear p99", pct(&st.onset_clear, 0.99), "ms", "<=", 250);
    target("decision -> clear sent p99 (upper bound)", pct(&st.decision_clear, 0.99), "ms",
           "<=", 10);
    bench_close(&b);
}

/* (e) ------------------------------------------------------------------------ */

/* One run of (e): n calls answered by the LLM stand-in (first token after
 * llm_ttft_ms) on the real loop (poll adapter, real clock: the LLM is a
 * real HTTP server), speech.early_start on or off. */
static void early_run(bool early, size_t n, double seconds, standin *llm, double *ret_used)
{
    st_reset();
    real_work = true;
    jump_to(bt());
    bench b;
    memset(&b, 0, sizeof b);
    b.due = -1;
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/v1", standin_port(llm));
    ccai_poll *poll = NULL;
    if (ccai_config_new(&b.cfg) != CCAI_OK ||
        ccai_config_set(b.cfg, "database.sqlite.path", ":memory:") != CCAI_OK ||
        ccai_config_set(b.cfg, "speech.stt.providers", "[\"bench-stt\"]") != CCAI_OK ||
        ccai_config_set(b.cfg, "speech.tts.providers", "[\"bench-tts\"]") != CCAI_OK ||
        ccai_config_set(b.cfg, "speech.early_start", early ? "true" : "false") != CCAI_OK ||
        ccai_config_set(b.cfg, "llm.fast.mode", "openai_compatible") != CCAI_OK ||
        ccai_config_set(b.cfg, "llm.fast.endpoint", ep) != CCAI_OK)
        die("config");
    char *err = NULL;
    if (ccai_poll_new(b.cfg, &poll, &b.ctx, &err) != CCAI_OK)
        die(err ? err : "context");
    if (Ccai_voice_add_stt(Ccai_ctx_voice(b.ctx), &stt_standin) != CCAI_OK ||
        Ccai_voice_add_tts(Ccai_ctx_voice(b.ctx), &tts_standin) != CCAI_OK)
        die("providers");
    b.calls = calloc(n, sizeof *b.calls);
    b.n = n;
    for (size_t i = 0; i < n; i++) {
        b.calls[i].id = (int)i;
        b.calls[i].m = ANSWERS;
        b.calls[i].next_turn_at = bt() + (double)(rand() % 2000);
        call_start(&b, &b.calls[i]);
    }
    double end = bt() + seconds * 1000, next = bt();
    while (bt() < end) {
        double now = bt();
        for (size_t i = 0; i < n; i++)
            call_tick(&b.calls[i], now, NULL, 0);
        next += TICK_MS;
        for (double t = bt(); t < next; t = bt())
            if (ccai_poll_run_once(poll, (int)(next - t) + 1) != 0)
                die("poll");
    }
    *ret_used = 0;
    /* The early turns used, from the metrics page. */
    char *doc = Ccai_metrics_render(Ccai_ctx_engine(b.ctx)->metrics);
    if (doc) {
        const char *p = strstr(doc, "ccai_llm_early_turns_total{outcome=\"used\"} ");
        *ret_used =
            p ? strtod(p + strlen("ccai_llm_early_turns_total{outcome=\"used\"} "), NULL) : 0;
        ccai_free(doc);
    }
    for (size_t i = 0; i < n; i++)
        ccai_call_free(b.calls[i].call);
    free(b.calls);
    ccai_poll_free(poll);
    ccai_config_free(b.cfg);
}

static void bench_early(void)
{
    size_t n = 10;
    double seconds = quick ? 20 : 60;
    const int ttft = 400;
    printf("\n== (e) early start: %zu calls x %.0f s on the real loop, the caller waits for the "
           "bot; stand-in STT (words so far every 200 ms of audio, final %u ms after end()), LLM "
           "stand-in over HTTP (first token %d ms), TTS first byte %u ms ==\n",
           n, seconds, (unsigned)stt_delay_ms, ttft, (unsigned)tts_delay_ms);
    standin *llm =
        standin_start(&(standin_opts){.ttft_ms = ttft, .chunk_ms = 5, .cycle = 1, .no_record = 1});
    if (!llm)
        die("llm stand-in");
    standin_spec spec = STANDIN_SPEC_INIT;
    spec.content = "Thank you, that is noted. What else happened?";
    standin_push(llm, &spec);
    stt_partials = true;
    double p50[2], p99[2], used[2];
    size_t turns[2];
    for (int early = 0; early < 2; early++) {
        early_run(early, n, seconds, llm, &used[early]);
        turns[early] = st.answer.n;
        bench_report(early ? "caller's last speech -> first bot frame, early start"
                           : "caller's last speech -> first bot frame, no early start",
                     st.answer.v, st.answer.n, "ms", 1);
        p50[early] = pct(&st.answer, 0.5);
        p99[early] = pct(&st.answer, 0.99);
    }
    stt_partials = false;
    printf("  early turns taken: %.0f (answers measured: %zu; the last turns' answers may not "
           "have played when the run ended)\n",
           used[1], turns[1]);
    printf("  saved by early start: p50 %.0f ms, p99 %.0f ms\n", p50[0] - p50[1], p99[0] - p99[1]);
    standin_stop(llm);
    st_reset();
}

/* (d) ------------------------------------------------------------------------ */

static void bench_offline(void)
{
    if (access(CCAI_SPHINX_MODEL_DIR "/en-us/mdef", R_OK) != 0 ||
        !voice_available(CCAI_SYNTH_FLITE)) {
        printf("\n== (d) offline stack: skipped (no pocketsphinx model or no flite) ==\n");
        return;
    }
    Ccai_synth_engine e = voice_available(CCAI_SYNTH_ESPEAK) ? CCAI_SYNTH_ESPEAK : CCAI_SYNTH_FLITE;
    const Ccai_media_format ulaw8 = {CCAI_MEDIA_ULAW, 8000, 1};
    voice_audio turn;
    if (!voice_render(e, e == CCAI_SYNTH_ESPEAK ? "en-us" : "slt", 0.9, "the city of london",
                      &ulaw8, 100, 100, &turn))
        die("cannot render the caller's turn");
    size_t n = quick ? 4 : 8;
    double seconds = quick ? 30 : 90;
    printf("\n== (d) offline stack in whole calls: %zu calls x %.0f s, pocketsphinx (free text) + "
           "flite, caller turns by %s, mu-law 8 kHz ==\n",
           n, seconds, e == CCAI_SYNTH_ESPEAK ? "espeak-ng" : "flite");
    st_reset();
    real_work = false;
    bench b;
    double rss0 = rss_kib();
    bench_open(&b, true);
    b.calls = calloc(n, sizeof *b.calls);
    b.n = n;
    /* One call first: the shared model loads with it. */
    b.calls[0].m = OFFLINE;
    b.calls[0].paced = true;
    call_start(&b, &b.calls[0]);
    b.n = 1;
    run_for(&b, 200, turn.data, turn.len);
    double rss1 = rss_kib();
    size_t heap1 = heap_live;
    for (size_t i = 1; i < n; i++) {
        b.calls[i].id = (int)i;
        b.calls[i].paced = true;
        b.calls[i].m = OFFLINE;
        b.calls[i].next_turn_at = bt() + (double)(rand() % 4000);
        call_start(&b, &b.calls[i]);
    }
    b.n = n;
    run_for(&b, 200, turn.data, turn.len);
    double rssn = rss_kib();
    size_t heapn = heap_live;
    double c0 = cpu_s(), peak = rssn, cpu = 0;
    for (int k = 0; k < 30; k++) {
        run_for(&b, seconds * 1000 / 30, turn.data, turn.len);
        double t = cpu_s();
        cpu += t - c0;
        double r = rss_kib();
        peak = r > peak ? r : peak;
        c0 = cpu_s();
    }
    size_t turns = 0;
    for (size_t i = 0; i < n; i++) {
        char *doc = NULL;
        if (ccai_call_to_json(b.calls[i].call, &doc) != CCAI_OK)
            continue;
        for (const char *p = doc; (p = strstr(p, "\"persona\":\"human\"")) != NULL; p++)
            turns++;
        ccai_free(doc);
    }
    printf("  %zu calls x %.0f s in %.2f s CPU: %zu caller turns recognised and answered, %zu "
           "frames of the bot\n",
           n, seconds, cpu, turns, st.frames_played);
    printf("  real-time offline calls per core: %.1f (%.3f CPU s per call second)\n",
           (double)n * seconds / cpu, cpu / ((double)n * seconds));
    printf("  memory: the first call %.1f MB RSS (the shared model loads with it); each further "
           "call between turns %.2f MB RSS (%.1f KiB through libccai's allocator); peak RSS "
           "during the run %.1f MB above the first call's: %.1f MB per further call (decoders "
           "are pooled: held while a caller talks)\n",
           (rss1 - rss0) / 1024, (rssn - rss1) / 1024 / (double)(n - 1),
           (double)(heapn - heap1) / 1024 / (double)(n - 1), (peak - rss1) / 1024,
           (peak - rss1) / 1024 / (double)(n - 1));
    bench_close(&b);
    voice_audio_free(&turn);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else
            die("usage: bench-voice [--quick]");
    }
    ccai_allocator al = {CCAI_ALLOCATOR_VERSION, count_malloc, count_realloc, count_free, NULL,
                         CCAI_ALLOCATOR_JSON};
    if (ccai_set_allocator(&al) != CCAI_OK)
        die("allocator");
    srand(11);
    printf("bench-voice: build %s%s, %ld cores, %s\n", CCAI_BENCH_BUILDTYPE,
           strcmp(CCAI_BENCH_SANITIZE, "none") ? " (sanitizers: figures are not representative)"
                                               : "",
           sysconf(_SC_NPROCESSORS_ONLN), quick ? "quick" : "full");
    caller_speech = malloc((size_t)CALLER_VOICES * SPEECH_MS * 8);
    bot_speech = malloc((size_t)BOT_SPEECH_MS * 24 * sizeof *bot_speech);
    int16_t *pcm = malloc((size_t)SPEECH_MS * 8 * sizeof *pcm);
    if (!caller_speech || !bot_speech || !pcm)
        die("memory");
    for (int v = 0; v < CALLER_VOICES; v++) {
        voiced(pcm, (size_t)SPEECH_MS * 8, 8000, 110 + 12 * v, -20, v * 0.7);
        Ccai_media_encode(CCAI_MEDIA_ULAW, pcm, (size_t)SPEECH_MS * 8,
                          caller_speech + (size_t)v * SPEECH_MS * 8);
    }
    voiced(bot_speech, (size_t)BOT_SPEECH_MS * 24, 24000, 210, -26, 0.3);
    free(pcm);

    bench_streams();
    bench_latency();
    bench_barge(-26, 0);
    bench_barge(-46, 0);
    bench_barge(-20, -10);
    bench_early();
    bench_offline();

    free(caller_speech);
    free(bot_speech);
    st_reset();
    if (ccai_set_allocator(NULL) != CCAI_OK)
        die("allocator");
    return 0;
}
