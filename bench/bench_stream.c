/* Audio calls on the carriers' media WebSockets over loopback: ACS media
 * streaming (communication_services.voice: stream) and Twilio Media Streams
 * (twilio.voice: stream), libccai's HTTP server and WebSocket end serving
 * them. Nothing here is a pass/fail test: it prints figures.
 *
 * One process, two threads:
 *   - the server: a context on the poll adapter, listening on 127.0.0.1,
 *     the channel in stream mode, stand-in speech providers in-process
 *     (registered through Ccai_voice_add_stt/_tts: STT final 150 ms after
 *     the end of the utterance, TTS first audio 80 ms after a sentence), so
 *     what is measured is libccai's own cost; the offline dialogue answers;
 *     the ACS REST stand-in (answer) and signed Event Grid / Twilio webhooks
 *     start the calls;
 *   - the load generator: one thread, every call a WebSocket client
 *     (tests/support/ws.c) sending 20 ms frames at real time (ACS: JSON
 *     AudioData of 16 kHz PCM; Twilio: media of 8 kHz mu-law), reading the
 *     bot's audio and StopAudio / clear. Each call loops: speak 1.2 s, wait
 *     for the bot's answer, 300 ms into it speak again (a barge-in, and the
 *     next turn).
 *
 * Figures, per carrier and number of calls:
 *   - CPU per call: the server thread's CPU time (CLOCK_THREAD_CPUTIME_ID)
 *     over the measured window / calls / wall time, and the calls one core
 *     holds at that rate;
 *   - added latency: the recogniser's end() -> the first bot frame received
 *     by the generator, minus the stand-ins' STT finalisation and TTS first
 *     audio and minus the engine's words -> first sentence (the offline
 *     dialogue; an LLM's own time elsewhere): the WebSocket in and out, the
 *     voice layer, the channel; p50 / p99 (target <= 20 ms p99);
 *   - barge-in: the caller's speech onset (the start of the first speech
 *     frame sent over the bot) -> StopAudio / clear received, p50 / p99
 *     (target <= 250 ms p99; the VAD's 250 ms start window is in it).
 * The calls start one after another (the i-th recogniser opened is the i-th
 * call's: how the providers' times are matched with the generator's).
 *
 *   build/bench/bench-stream [--calls N[,N...]] [--seconds S] [--twilio|--acs]
 */
#include <ccai/adapters/poll.h>

#include "engine/engine.h"
#include "io/io.h"
#include "media/codec.h"
#include "support/acs_standin.h"
#include "support/twilio_standin.h"
#include "support/ws.h"
#include "voice/voice.h"

#include "bench_stats.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

#define PUBLIC      "https://bot.example.test"
#define BOT         "+15550002222"
#define RESOURCE    "bench-resource"
#define MAX_CALLS   512
#define SPEECH_MS   1200
#define STT_MS      150
#define TTS_MS      80
#define MAX_SAMPLES 100000

static void die(const char *what)
{
    fprintf(stderr, "bench-stream: %s\n", what);
    exit(1);
}

/* What the providers saw of call i (server thread) and what the generator
 * saw (its thread), under one lock. */
typedef struct times {
    double t_end, t_final, t_say; /* the turn being measured */
    int stage;                    /* 0 idle, 1 end() seen, 2 final, 3 said */
} times;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static times tm_of[MAX_CALLS];
static int stt_opened;
static double added[MAX_SAMPLES], barge[MAX_SAMPLES];
static size_t n_added, n_barge;

/* Stand-in providers ------------------------------------------------------- */

typedef struct sstt {
    Ccai_stt base;
    ccai_ctx *ctx;
    Ccai_stt_open o;
    Ccai_timer timer;
    int call;
} sstt;

static const Ccai_stt_provider stt_standin;

static void stt_fire(Ccai_timer *t, void *ud)
{
    (void)t;
    sstt *s = ud;
    pthread_mutex_lock(&lock);
    if (s->call < MAX_CALLS && tm_of[s->call].stage == 1) {
        tm_of[s->call].t_final = bench_now_ms();
        tm_of[s->call].stage = 2;
    }
    pthread_mutex_unlock(&lock);
    Ccai_stt_result r = {.event = CCAI_STT_FINAL,
                         .text = "the city of london",
                         .confidence = 0.9,
                         .audio_ms = SPEECH_MS,
                         .from_end = true};
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
    pthread_mutex_lock(&lock);
    s->call = stt_opened++;
    pthread_mutex_unlock(&lock);
    Ccai_timer_init(&s->timer, stt_fire, s);
    *ret = &s->base;
    return CCAI_OK;
}

static ccai_status stt_feed(Ccai_stt *t, const uint8_t *audio, size_t len)
{
    (void)t;
    volatile uint8_t sink = 0; /* a network provider copies the audio out */
    for (size_t i = 0; i < len; i += 64)
        sink ^= audio[i];
    (void)sink;
    return CCAI_OK;
}

static ccai_status stt_end(Ccai_stt *t)
{
    sstt *s = (sstt *)t;
    pthread_mutex_lock(&lock);
    if (s->call < MAX_CALLS && tm_of[s->call].stage == 0) {
        tm_of[s->call].t_end = bench_now_ms();
        tm_of[s->call].stage = 1;
    }
    pthread_mutex_unlock(&lock);
    Ccai_timer_start(s->ctx, &s->timer, STT_MS);
    return CCAI_OK;
}

static void stt_cancel(Ccai_stt *t)
{
    sstt *s = (sstt *)t;
    Ccai_timer_stop(s->ctx, &s->timer);
}

static void stt_close(Ccai_stt *t)
{
    sstt *s = (sstt *)t;
    Ccai_timer_stop(s->ctx, &s->timer);
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
    int call;
    uint32_t next_id;
    struct {
        uint32_t id;
        size_t samples;
    } q[TTS_QUEUE];
    size_t q_head, q_n;
} stts;

static const Ccai_tts_provider tts_standin;
static int tts_opened;
static int16_t bot_pcm[24000 * 4]; /* 4 s at 24 kHz */

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
    uint8_t buf[2 * 2400];
    for (size_t off = 0; off < n;) {
        size_t k = n - off < 2400 ? n - off : 2400;
        Ccai_pcm16le_write(bot_pcm + off, k, buf);
        s->o.audio(&s->base, id, buf, 2 * k, s->o.ud);
        off += k;
    }
    Ccai_tts_done d = {.id = id, .status = CCAI_OK, .audio_ms = (uint32_t)(n / 24)};
    s->o.done(&s->base, &d, s->o.ud);
    if (s->q_n)
        Ccai_timer_start(s->ctx, &s->timer, TTS_MS);
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
    pthread_mutex_lock(&lock);
    s->call = tts_opened++;
    pthread_mutex_unlock(&lock);
    Ccai_timer_init(&s->timer, tts_fire, s);
    *ret = &s->base;
    return CCAI_OK;
}

static ccai_status tts_say(Ccai_tts *t, const Ccai_tts_text *text, uint32_t *ret_id)
{
    stts *s = (stts *)t;
    if (s->q_n == TTS_QUEUE)
        return CCAI_ERR_LIMIT;
    pthread_mutex_lock(&lock);
    if (s->call < MAX_CALLS && tm_of[s->call].stage == 2) {
        tm_of[s->call].t_say = bench_now_ms();
        tm_of[s->call].stage = 3;
    }
    pthread_mutex_unlock(&lock);
    size_t ms = strlen(text->text) * 40;
    if (ms > 4000)
        ms = 4000;
    size_t i = (s->q_head + s->q_n) % TTS_QUEUE;
    s->q[i].id = ++s->next_id;
    s->q[i].samples = ms * 24;
    s->q_n++;
    *ret_id = s->next_id;
    if (!Ccai_timer_active(&s->timer))
        Ccai_timer_start(s->ctx, &s->timer, TTS_MS);
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

/* Signals ------------------------------------------------------------------- */

/* Voiced speech-like sound at rate: harmonics of f0, 4 Hz syllables, -20 dBFS. */
static void voiced(int16_t *out, size_t n, uint32_t rate, double f0)
{
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate, x = 0;
        for (int h = 1; h <= 6; h++)
            x += sin(2 * M_PI * f0 * h * t) / h;
        out[i] = (int16_t)(3000 * (0.6 + 0.4 * sin(2 * M_PI * 4 * t)) * x);
    }
}

/* The generator ---------------------------------------------------------------- */

typedef struct gcall {
    ws_client *ws;
    char sid[64]; /* Twilio streamSid */
    int phase;    /* 0 speaking a turn, 1 waiting for the bot, 2 bot talking: barge soon */
    double phase_at, spoke_from, onset;
    int frame; /* of the current utterance */
    bool waiting_clear;
    int turns;
} gcall;

static bool twilio;
static int port;
static acs_standin *acs;
static volatile int server_stop;
static int16_t speech16[16 * SPEECH_MS], speech8[8 * SPEECH_MS];

static void send_frame(gcall *c, bool speech)
{
    int rate = twilio ? 8000 : 16000;
    int n = rate / 50;
    const int16_t *src = (twilio ? speech8 : speech16) + (size_t)c->frame * (size_t)n;
    static const int16_t zero[320];
    const int16_t *pcm = speech ? src : zero;
    uint8_t bytes[640];
    size_t len;
    if (twilio) {
        for (int i = 0; i < n; i++)
            bytes[i] = Ccai_ulaw_encode(pcm[i]);
        len = (size_t)n;
    } else {
        Ccai_pcm16le_write(pcm, (size_t)n, bytes);
        len = (size_t)n * 2;
    }
    Ccai_buf b = {0};
    bool ok = twilio ? Ccai_buf_printf(&b,
                                       "{\"event\":\"media\",\"streamSid\":\"%s\",\"media\":{"
                                       "\"track\":\"inbound\",\"payload\":\"",
                                       c->sid)
                     : Ccai_buf_puts(&b, "{\"kind\":\"AudioData\",\"audioData\":{\"data\":\"");
    ok = ok && Ccai_buf_base64(&b, bytes, len) &&
         Ccai_buf_puts(&b, twilio ? "\"}}" : "\",\"silent\":false}}");
    if (ok)
        ws_client_send_text(c->ws, b.data);
    Ccai_buf_free(&b);
}

static size_t http_sink(char *d, size_t sz, size_t n, void *ud)
{
    Ccai_buf *b = ud;
    return Ccai_buf_append(b, d, sz * n) ? sz * n : 0;
}

/* POST path with body (form or JSON) and header lines; the answer in out. */
static long http_post(const char *path, const char *body, const char *const *headers, Ccai_buf *out)
{
    char url[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    CURL *e = curl_easy_init();
    struct curl_slist *h = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_sink);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
    long status = 0;
    if (curl_easy_perform(e) == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return status;
}

static ws_client *ws_open(const char *path, const char *const *headers)
{
    ws_client_opts o = {.host = "127.0.0.1", .port = port, .path = path, .headers = headers};
    ws_client *ws = ws_client_connect(&o);
    if (!ws || ws_client_status(ws) != 101)
        die("the media WebSocket was refused");
    return ws;
}

/* Start call i: ring, answer, connect its stream. */
static void start_call(gcall *c, int i)
{
    char from[32];
    snprintf(from, sizeof from, "+3361%07d", i);
    if (twilio) {
        char sid[64], body[512], sig_hdr[256];
        snprintf(sid, sizeof sid, "CA%032x", i + 1);
        const char *params[] = {
            "AccountSid", TWILIO_STANDIN_SID, "CallSid", sid, "From", from, "To", BOT, NULL};
        snprintf(body, sizeof body, "AccountSid=%s&CallSid=%s&From=%%2B%s&To=%%2B%s",
                 TWILIO_STANDIN_SID, sid, from + 1, BOT + 1);
        char *sig = twilio_standin_signature(TWILIO_STANDIN_TOKEN, PUBLIC "/twilio/voice", params);
        snprintf(sig_hdr, sizeof sig_hdr, "X-Twilio-Signature: %s", sig);
        free(sig);
        const char *hs[] = {sig_hdr, "Content-Type: application/x-www-form-urlencoded", NULL};
        Ccai_buf res = {0};
        if (http_post("/twilio/voice", body, hs, &res) != 200 || !res.data)
            die("the voice webhook failed");
        const char *u = strstr(res.data, "<Stream url=\"wss://bot.example.test");
        const char *tok = strstr(res.data, "<Parameter name=\"token\" value=\"");
        if (!u || !tok)
            die("no <Stream> in the TwiML");
        u += strlen("<Stream url=\"wss://bot.example.test");
        tok += strlen("<Parameter name=\"token\" value=\"");
        char path[256], token[128], url[512];
        snprintf(path, sizeof path, "%.*s", (int)strcspn(u, "\""), u);
        snprintf(token, sizeof token, "%.*s", (int)strcspn(tok, "\""), tok);
        Ccai_buf_free(&res);
        snprintf(url, sizeof url, "wss://bot.example.test%s", path);
        static const char *const none[] = {NULL};
        sig = twilio_standin_signature(TWILIO_STANDIN_TOKEN, url, none);
        snprintf(sig_hdr, sizeof sig_hdr, "X-Twilio-Signature: %s", sig);
        free(sig);
        const char *wh[] = {sig_hdr, NULL};
        c->ws = ws_open(path, wh);
        snprintf(c->sid, sizeof c->sid, "MZ%032x", i + 1);
        Ccai_buf m = {0};
        if (!Ccai_buf_printf(&m,
                             "{\"event\":\"start\",\"sequenceNumber\":\"1\",\"streamSid\":\"%s\","
                             "\"start\":{\"streamSid\":\"%s\",\"accountSid\":\"%s\",\"callSid\":"
                             "\"%s\",\"tracks\":[\"inbound\"],\"customParameters\":{\"token\":"
                             "\"%s\"},\"mediaFormat\":{\"encoding\":\"audio/x-mulaw\","
                             "\"sampleRate\":8000,\"channels\":1}}}",
                             c->sid, c->sid, TWILIO_STANDIN_SID, sid, token))
            die("nomem");
        ws_client_send_text(c->ws, "{\"event\":\"connected\",\"protocol\":\"Call\","
                                   "\"version\":\"1.0.0\"}");
        ws_client_send_text(c->ws, m.data);
        Ccai_buf_free(&m);
        return;
    }
    int before = acs_standin_request_count(acs);
    char body[1024];
    snprintf(body, sizeof body,
             "[{\"id\":\"i%d\",\"eventType\":\"Microsoft.Communication.IncomingCall\",\"data\":{"
             "\"to\":{\"kind\":\"phoneNumber\",\"phoneNumber\":{\"value\":\"" BOT "\"}},"
             "\"from\":{\"kind\":\"phoneNumber\",\"phoneNumber\":{\"value\":\"%s\"}},"
             "\"serverCallId\":\"srv-%d\",\"incomingCallContext\":\"ctx-%d\"}}]",
             i, from, i, i);
    const char *hs[] = {"Content-Type: application/json", NULL};
    Ccai_buf res = {0};
    if (http_post("/acs/events", body, hs, &res) != 200)
        die("IncomingCall refused");
    Ccai_buf_free(&res);
    char path[1024] = "";
    for (int t = 0; t < 500 && !*path; t++) {
        for (int k = before; k < acs_standin_request_count(acs) && !*path; k++) {
            json_t *j = acs_standin_request_json(acs, k);
            const char *u = json_string_value(
                json_object_get(json_object_get(j, "mediaStreamingOptions"), "transportUrl"));
            if (u && !strncmp(u, "wss://bot.example.test", 22))
                snprintf(path, sizeof path, "%s", u + 22);
            json_decref(j);
        }
        if (!*path) {
            struct timespec ts = {0, 10 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (!*path)
        die("no answer");
    char *bearer = acs_standin_bearer(acs, RESOURCE, ACS_TOKEN_VALID);
    char auth[4096];
    snprintf(auth, sizeof auth, "Authorization: %s", bearer);
    free(bearer);
    const char *wh[] = {auth, NULL};
    c->ws = ws_open(path, wh);
    ws_client_send_text(c->ws, "{\"kind\":\"AudioMetadata\",\"audioMetadata\":{\"subscriptionId\":"
                               "\"bench\",\"encoding\":\"PCM\",\"sampleRate\":16000,\"channels\":1,"
                               "\"length\":640}}");
}

/* What arrived from the server on call i. */
static void drain(gcall *c, int i, double now, bool measure)
{
    ws_client_pump(c->ws);
    ws_msg m;
    while (ws_client_recv(c->ws, 0, &m) == 1) {
        bool audio = false, stop = false;
        if (m.opcode == WS_TEXT) {
            const char *t = (const char *)m.data;
            audio = strstr(t, twilio ? "\"event\":\"media\"" : "\"kind\":\"AudioData\"") != NULL;
            stop = strstr(t, twilio ? "\"event\":\"clear\"" : "\"kind\":\"StopAudio\"") != NULL;
        }
        ws_msg_clear(&m);
        if (audio && c->phase == 1) {
            pthread_mutex_lock(&lock);
            times *tt = &tm_of[i];
            if (measure && tt->stage == 3 && n_added < MAX_SAMPLES)
                added[n_added++] = (now - tt->t_end) - (tt->t_final - tt->t_end) - TTS_MS -
                                   (tt->t_say - tt->t_final);
            tt->stage = 0;
            pthread_mutex_unlock(&lock);
            c->phase = 2;
            c->phase_at = now;
        }
        if (stop && c->waiting_clear) {
            c->waiting_clear = false;
            if (measure && n_barge < MAX_SAMPLES)
                barge[n_barge++] = now - c->onset;
        }
    }
}

typedef struct run {
    int calls;
    double seconds;
    double cpu_s, wall_s;
} run;

static double thread_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double server_cpu_mark, server_cpu_now;
static volatile int want_cpu_mark;

static void *generator(void *arg)
{
    run *r = arg;
    gcall *calls = calloc((size_t)r->calls, sizeof *calls);
    struct pollfd *pfd = calloc((size_t)r->calls, sizeof *pfd);
    if (!calls || !pfd)
        die("nomem");
    for (int i = 0; i < r->calls; i++)
        start_call(&calls[i], i);
    /* Each call in its own phase of the turn, so that the load is spread. */
    double t0 = bench_now_ms();
    for (int i = 0; i < r->calls; i++) {
        calls[i].phase = 0;
        calls[i].spoke_from = t0 + 2000 + (double)(i * 997 % 1500);
        calls[i].frame = -1;
    }
    double warm = t0 + 6000, end = warm + r->seconds * 1000;
    bool measuring = false;
    double wall0 = 0;
    for (uint64_t tick = 0;; tick++) {
        double now = bench_now_ms();
        if (!measuring && now >= warm) {
            measuring = true;
            wall0 = now;
            want_cpu_mark = 1;
        }
        if (now >= end)
            break;
        for (int i = 0; i < r->calls; i++) {
            gcall *c = &calls[i];
            drain(c, i, now, measuring);
            bool speech = false;
            if (c->phase == 2 && now - c->phase_at >= 300) { /* over the bot: barge in */
                c->phase = 0;
                c->spoke_from = now;
                c->onset = now;
                c->waiting_clear = true;
                c->frame = -1;
            }
            if (c->phase == 0 && now >= c->spoke_from) {
                c->frame++;
                if (c->frame < SPEECH_MS / 20) {
                    speech = true;
                } else {
                    c->phase = 1; /* the utterance is over: the bot answers */
                    c->turns++;
                }
            }
            send_frame(c, speech);
        }
        /* Until the next tick, what arrives is read when it arrives: the
         * times measured are the arrival's, not the tick's. */
        double next = t0 + (double)(tick + 1) * 20;
        for (double wait; (wait = next - bench_now_ms()) > 0;) {
            for (int i = 0; i < r->calls; i++)
                pfd[i] = (struct pollfd){ws_client_fd(calls[i].ws), POLLIN, 0};
            if (poll(pfd, (nfds_t)r->calls, (int)ceil(wait)) <= 0)
                continue;
            double at = bench_now_ms();
            for (int i = 0; i < r->calls; i++) {
                if (pfd[i].revents)
                    drain(&calls[i], i, at, measuring);
            }
        }
    }
    free(pfd);
    r->wall_s = (bench_now_ms() - wall0) / 1000;
    pthread_mutex_lock(&lock);
    r->cpu_s = server_cpu_now - server_cpu_mark;
    pthread_mutex_unlock(&lock);
    int turns = 0;
    for (int i = 0; i < r->calls; i++) {
        turns += calls[i].turns;
        ws_client_close(calls[i].ws, 1000, "");
        ws_client_pump(calls[i].ws);
        ws_client_free(calls[i].ws);
    }
    printf("  (%d caller turns in all)\n", turns);
    free(calls);
    server_stop = 1;
    return NULL;
}

static void bench_one(int calls, double seconds)
{
    memset(tm_of, 0, sizeof tm_of);
    stt_opened = tts_opened = 0;
    n_added = n_barge = 0;
    server_stop = 0;
    want_cpu_mark = 0;
    acs = acs_standin_start(NULL);
    if (!acs)
        die("ACS stand-in");
    ccai_config *cfg = NULL;
    char ep[160], openid[200];
    snprintf(ep, sizeof ep, "%s", acs_standin_url(acs));
    snprintf(openid, sizeof openid, "%s/calling/.well-known/acsopenidconfiguration",
             acs_standin_url(acs));
    if (ccai_config_new(&cfg) != CCAI_OK ||
        ccai_config_set(cfg, "database.sqlite.path", ":memory:") != CCAI_OK ||
        ccai_config_set(cfg, "server.public_url", PUBLIC) != CCAI_OK ||
        ccai_config_set(cfg, "speech.stt.providers", "[\"bench-stt\"]") != CCAI_OK ||
        ccai_config_set(cfg, "speech.tts.providers", "[\"bench-tts\"]") != CCAI_OK ||
        ccai_config_set(cfg, "conversation.initiate.lang",
                        "{\"default_short_code\":\"en-US\",\"availables\":[{\"short_code\":"
                        "\"en-US\",\"voice\":\"en-US-AvaMultilingualNeural\"}]}") != CCAI_OK)
        die("config");
    if (twilio) {
        if (ccai_config_set(cfg, "twilio.account_sid", TWILIO_STANDIN_SID) != CCAI_OK ||
            ccai_config_set(cfg, "twilio.auth_token", TWILIO_STANDIN_TOKEN) != CCAI_OK ||
            ccai_config_set(cfg, "twilio.phone_number", BOT) != CCAI_OK ||
            ccai_config_set(cfg, "twilio.api_base_url", "http://127.0.0.1:9") != CCAI_OK ||
            ccai_config_set(cfg, "twilio.voice", "stream") != CCAI_OK)
            die("config");
    } else if (ccai_config_set(cfg, "communication_services.endpoint", ep) != CCAI_OK ||
               ccai_config_set(cfg, "communication_services.access_key", ACS_STANDIN_KEY) !=
                   CCAI_OK ||
               ccai_config_set(cfg, "communication_services.phone_number", BOT) != CCAI_OK ||
               ccai_config_set(cfg, "communication_services.resource_id", RESOURCE) != CCAI_OK ||
               ccai_config_set(cfg, "communication_services.openid_config_url", openid) !=
                   CCAI_OK ||
               ccai_config_set(cfg, "communication_services.voice", "stream") != CCAI_OK) {
        die("config");
    }
    ccai_poll *p = NULL;
    ccai_ctx *ctx = NULL;
    char *err = NULL;
    if (ccai_poll_new(cfg, &p, &ctx, &err) != CCAI_OK)
        die(err ? err : "context");
    if (Ccai_voice_add_stt(Ccai_ctx_voice(ctx), &stt_standin) != CCAI_OK ||
        Ccai_voice_add_tts(Ccai_ctx_voice(ctx), &tts_standin) != CCAI_OK)
        die("providers");
    uint16_t pt = 0;
    if (ccai_ctx_listen(ctx, "127.0.0.1:0", &pt) != CCAI_OK)
        die("listen");
    port = pt;
    run r = {.calls = calls, .seconds = seconds};
    pthread_t th;
    if (pthread_create(&th, NULL, generator, &r) != 0)
        die("thread");
    while (!server_stop) {
        ccai_poll_run_once(p, 5);
        if (want_cpu_mark == 1) {
            want_cpu_mark = 2;
            server_cpu_mark = thread_cpu_s();
        }
        pthread_mutex_lock(&lock);
        server_cpu_now = thread_cpu_s();
        pthread_mutex_unlock(&lock);
    }
    pthread_join(th, NULL);
    double per_call = r.cpu_s / r.wall_s / calls;
    printf("  %-44s %.3f %% of a core (%.2f s CPU in %.1f s)\n", "CPU per call", per_call * 100,
           r.cpu_s, r.wall_s);
    printf("  %-44s %.0f\n", "calls per core at that rate", 1 / per_call);
    bench_report("added latency (end of speech -> 1st frame)", added, n_added, "ms", 1);
    bench_report("barge-in (speech onset -> stop received)", barge, n_barge, "ms", 1);
    ccai_ctx_listen_stop(ctx);
    for (int i = 0; i < 200; i++)
        ccai_poll_run_once(p, 5);
    ccai_poll_free(p);
    ccai_config_free(cfg);
    acs_standin_stop(acs);
}

int main(int argc, char **argv)
{
    int counts[8] = {1, 10, 50}, n_counts = 3;
    double seconds = 20;
    int which = 3; /* 1 acs, 2 twilio, 3 both */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--calls") && i + 1 < argc) {
            n_counts = 0;
            for (char *s = argv[++i]; *s && n_counts < 8; s += *s == ',') {
                char *e;
                counts[n_counts++] = (int)strtol(s, &e, 10);
                s = e;
            }
        } else if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--acs")) {
            which = 1;
        } else if (!strcmp(argv[i], "--twilio")) {
            which = 2;
        } else {
            fprintf(stderr, "usage: %s [--calls N[,N...]] [--seconds S] [--acs|--twilio]\n",
                    argv[0]);
            return 2;
        }
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    voiced(speech16, 16 * SPEECH_MS, 16000, 140);
    voiced(speech8, 8 * SPEECH_MS, 8000, 140);
    voiced(bot_pcm, sizeof bot_pcm / sizeof bot_pcm[0], 24000, 210);
    for (int k = 1; k <= 2; k++) {
        if (!(which & k))
            continue;
        twilio = k == 2;
        for (int i = 0; i < n_counts; i++) {
            if (counts[i] < 1 || counts[i] > MAX_CALLS)
                die("--calls: 1 to 512");
            printf("%s, %d concurrent call(s), %.0f s measured (targets: added <= 20 ms p99, "
                   "barge-in <= 250 ms p99):\n",
                   twilio ? "Twilio Media Streams" : "ACS media streaming", counts[i], seconds);
            fflush(stdout);
            bench_one(counts[i], seconds);
            fflush(stdout);
        }
    }
    curl_global_cleanup();
    return 0;
}
