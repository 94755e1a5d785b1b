/* The SIP channel under load (issue 12's bench bullet): N concurrent SIP
 * calls over loopback against a context on libre's loop, as ccai-server
 * runs it with sip.listen set. Nothing here is a pass/fail test.
 *
 *   server     the main thread: ccai_ctx_new_libre() with sip.listen on
 *              127.0.0.1 (UDP), the offline dialogue, the store in memory,
 *              stand-in STT/TTS registered in-process (as in bench-voice:
 *              the STT finalises 150 ms after the end of the turn, the TTS
 *              gives a sentence's audio 80 ms after it was asked for, both
 *              on the context's timers), re_main()
 *   callers    one thread, a load generator: plain UDP sockets, a minimal
 *              SIP UAC written here (INVITE with a PCMU offer, ACK, BYE both
 *              ways), one RTP socket per call sending G.711 mu-law at
 *              real-time pace (a 20 ms packet every 20 ms, staggered across
 *              the calls): silence, then a speech burst (1.2 s of voiced
 *              sound at -20 dBFS), then silence again, turn after turn
 *
 * Each caller turn either waits for the bot's answer to end, or (every
 * other turn) talks over it 300-1000 ms into it. Measured:
 *
 *   - calls per core: CPU time of the process minus the callers' thread
 *     (the context, libre, the engine, the voice layer, the store) per
 *     call-second over the measured window; CPU per call;
 *   - latency: the caller's last speech packet -> the first bot RTP packet
 *     of the answer, taken apart with the stand-ins' own timestamps: the
 *     end of the turn (the VAD: its end-of-speech silence is a setting),
 *     the STT's and the TTS's delays, the engine's words -> first sentence
 *     (offline dialogue), and what is left: the TTS audio -> the first
 *     RTP packet at the caller (converting, pacing, RTP, loopback), the
 *     latency libccai adds; p50/p99;
 *   - barge-in: the caller's speech onset (the start of the audio of its
 *     first speech packet) -> the last bot audio packet to arrive (bot RTP
 *     stopped: nothing more for 300 ms), p50/p99.
 *
 *   build-rel/bench/bench-sip [--calls N] [--seconds S]
 */
#include "io/io.h"
#include "io/libre.h"
#include "media/codec.h"
#include "voice/voice.h"

#include "bench_stats.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define FRAME          160 /* 20 ms of 8 kHz mu-law */
#define FRAME_MS       20
#define SPEECH_MS      1200
#define CALLER_VOICES  8
#define BOT_SPEECH_MS  4000
#define BOT_MS_PER_CHR 40
#define BOT_GAP_MS     300 /* no bot audio this long: it stopped */
#define MAX_TURNS      256
#define MAX_CALLS      2000

static void die(const char *what)
{
    fprintf(stderr, "bench-sip: %s\n", what);
    exit(1);
}

static double thread_cpu_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Signals ------------------------------------------------------------------- */

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

static uint8_t *caller_speech; /* SPEECH_MS of mu-law per voice */
static int16_t *bot_speech;    /* BOT_SPEECH_MS at 24 kHz */

/* What the server's stand-ins saw of each call (the k-th call the server
 * started is the callers' k-th: they place one INVITE at a time). Written
 * on the server's thread, read after both threads are done. */
typedef struct srv_turn {
    double t_end, t_final, t_say, t_audio;
} srv_turn;

typedef struct srv_call {
    int stage;
    srv_turn cur;
    srv_turn turns[MAX_TURNS];
    size_t n;
} srv_call;

static srv_call *srv;
static size_t stt_opened, tts_opened;

/* Stand-in providers (bench-voice's) ------------------------------------------ */

typedef struct sstt {
    Ccai_stt base;
    ccai_ctx *ctx;
    Ccai_stt_open o;
    Ccai_timer timer;
    srv_call *c;
    uint64_t fed;
} sstt;

static const Ccai_stt_provider stt_standin;
static const uint32_t stt_delay_ms = 150, tts_delay_ms = 80;

static void stt_fire(Ccai_timer *t, void *ud)
{
    (void)t;
    sstt *s = ud;
    if (s->c && s->c->stage == 1) {
        s->c->cur.t_final = bench_now_ms();
        s->c->stage = 2;
    }
    Ccai_stt_result r = {.event = CCAI_STT_FINAL,
                         .text = "the city of london",
                         .confidence = 0.9,
                         .audio_ms = (uint32_t)(s->fed / 32),
                         .from_end = true};
    s->fed = 0;
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
    s->c = stt_opened < MAX_CALLS ? &srv[stt_opened] : NULL;
    stt_opened++;
    Ccai_timer_init(&s->timer, stt_fire, s);
    *ret = &s->base;
    return CCAI_OK;
}

static ccai_status stt_feed(Ccai_stt *t, const uint8_t *audio, size_t len)
{
    sstt *s = (sstt *)t;
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < len; i += 64)
        sink ^= audio[i];
    (void)sink;
    s->fed += len;
    return CCAI_OK;
}

static ccai_status stt_end(Ccai_stt *t)
{
    sstt *s = (sstt *)t;
    if (s->c) {
        memset(&s->c->cur, 0, sizeof s->c->cur);
        s->c->cur.t_end = bench_now_ms();
        s->c->stage = 1;
    }
    Ccai_timer_start(s->ctx, &s->timer, stt_delay_ms);
    return CCAI_OK;
}

static void stt_cancel(Ccai_stt *t)
{
    sstt *s = (sstt *)t;
    Ccai_timer_stop(s->ctx, &s->timer);
    s->fed = 0;
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
    srv_call *c;
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
    srv_call *c = s->c;
    if (c && c->stage == 3) {
        c->cur.t_audio = bench_now_ms();
        if (c->n < MAX_TURNS)
            c->turns[c->n++] = c->cur;
        c->stage = 0;
    }
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
    s->c = tts_opened < MAX_CALLS ? &srv[tts_opened] : NULL;
    tts_opened++;
    Ccai_timer_init(&s->timer, tts_fire, s);
    *ret = &s->base;
    return CCAI_OK;
}

static ccai_status tts_say(Ccai_tts *t, const Ccai_tts_text *text, uint32_t *ret_id)
{
    stts *s = (stts *)t;
    if (s->q_n == TTS_QUEUE)
        return CCAI_ERR_LIMIT;
    if (s->c && s->c->stage == 2) {
        s->c->cur.t_say = bench_now_ms();
        s->c->stage = 3;
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

/* The callers ------------------------------------------------------------------ */

typedef enum cstate {
    C_IDLE,     /* not placed yet, or over */
    C_INVITING, /* INVITE sent, no 200 yet */
    C_UP,
} cstate;

typedef struct lat {
    double t_speech_end, t_first;
} lat;

typedef struct caller {
    int idx;     /* the server's call number (INVITEs answered, in order) */
    int session; /* which INVITE of this slot */
    cstate state;
    int rtp_fd;
    struct sockaddr_in peer; /* the bot's RTP */
    char callid[64], ftag[32], ttag[64], contact[160];
    double invite_at;
    uint16_t seq;
    uint32_t ts, ssrc;
    double next_send;
    /* The caller's turn. */
    const uint8_t *talk;
    size_t talk_pos;
    double talk_onset;
    bool barging, barge_turn;
    double barge_after;
    double next_turn_at;
    /* The bot's audio as received. */
    bool bot_talking;
    double bot_since, bot_last;
    bool await_first; /* a turn ended: the answer's first packet is due */
    double t_speech_end;
    bool await_stop; /* barging: when does the bot's audio stop */
    double onset;
    lat lats[MAX_TURNS];
    size_t n_lats;
} caller;

static struct {
    int sip_fd;
    uint16_t sip_port, srv_port;
    int ep;
    caller *c;
    size_t n;
    double seconds;
    int done_pipe[2];
    double measure_from, measure_to;
    double cpu_gen0, cpu_proc0, cpu_gen1, cpu_proc1;
    size_t placed, answered, refused, bot_byes, no_answer, packets_in, packets_out, late_sends;
    size_t server_calls; /* INVITEs answered 200, in order */
    int pending;         /* the caller whose INVITE is out, or -1 */
    double *barge;
    size_t n_barge, barge_turns, barge_missed;
} g;

static void uac_send(const char *msg, size_t len)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(g.srv_port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (sendto(g.sip_fd, msg, len, 0, (struct sockaddr *)&to, sizeof to) < 0)
        fprintf(stderr, "bench-sip: SIP send: %s\n", strerror(errno));
}

static void place(caller *c)
{
    c->session++;
    snprintf(c->callid, sizeof c->callid, "bench-%d-%d@127.0.0.1", (int)(c - g.c), c->session);
    snprintf(c->ftag, sizeof c->ftag, "t%d-%d", (int)(c - g.c), c->session);
    c->ttag[0] = c->contact[0] = '\0';
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    if (getsockname(c->rtp_fd, (struct sockaddr *)&a, &al) != 0)
        die("getsockname");
    char sdp[512];
    int sl = snprintf(sdp, sizeof sdp,
                      "v=0\r\no=- %d 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                      "m=audio %u RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
                      "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\n"
                      "a=sendrecv\r\n",
                      c->session, (unsigned)ntohs(a.sin_port));
    /* A number of its own (7-15 digits): a caller the store has not met. */
    char msg[2048];
    int n = snprintf(msg, sizeof msg,
                     "INVITE sip:bot@127.0.0.1:%u SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-%s-i;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:+1415%07d@127.0.0.1>;tag=%s\r\n"
                     "To: <sip:bot@127.0.0.1:%u>\r\n"
                     "Call-ID: %s\r\nCSeq: 1 INVITE\r\n"
                     "Contact: <sip:caller@127.0.0.1:%u>\r\n"
                     "Content-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s",
                     (unsigned)g.srv_port, (unsigned)g.sip_port, c->ftag,
                     (int)(c - g.c) * 100 + c->session % 100, c->ftag, (unsigned)g.srv_port,
                     c->callid, (unsigned)g.sip_port, sl, sdp);
    c->state = C_INVITING;
    c->invite_at = bench_now_ms();
    g.pending = (int)(c - g.c);
    g.placed++;
    uac_send(msg, (size_t)n);
}

static void send_in_dialog(caller *c, const char *method, unsigned cseq)
{
    char msg[1024];
    int n = snprintf(msg, sizeof msg,
                     "%s %s SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:%u;branch=z9hG4bK-%s-%s%u;rport\r\n"
                     "Max-Forwards: 70\r\n"
                     "From: <sip:+1415%07d@127.0.0.1>;tag=%s\r\n"
                     "To: <sip:bot@127.0.0.1:%u>;tag=%s\r\n"
                     "Call-ID: %s\r\nCSeq: %u %s\r\nContent-Length: 0\r\n\r\n",
                     method, c->contact, (unsigned)g.sip_port, c->ftag, method, cseq,
                     (int)(c - g.c) * 100 + c->session % 100, c->ftag, (unsigned)g.srv_port,
                     c->ttag, c->callid, cseq, method);
    uac_send(msg, (size_t)n);
}

/* A header's value (the first), full or compact name; false if absent. */
static bool header(const char *msg, const char *name, const char *compact, char *out, size_t cap)
{
    for (const char *p = strstr(msg, "\r\n"); p && p[2] && !(p[2] == '\r' && p[3] == '\n');
         p = strstr(p + 2, "\r\n")) {
        const char *h = p + 2;
        size_t nl = strlen(name), cl = compact ? strlen(compact) : 0;
        const char *v = NULL;
        if (!strncasecmp(h, name, nl) && (h[nl] == ':' || h[nl] == ' '))
            v = h + nl;
        else if (compact && !strncasecmp(h, compact, cl) && (h[cl] == ':' || h[cl] == ' '))
            v = h + cl;
        if (!v)
            continue;
        v += strspn(v, " :");
        size_t len = strcspn(v, "\r\n");
        if (len >= cap)
            len = cap - 1;
        memcpy(out, v, len);
        out[len] = '\0';
        return true;
    }
    return false;
}

static caller *by_callid(const char *callid)
{
    int i, s;
    if (sscanf(callid, "bench-%d-%d@", &i, &s) != 2 || i < 0 || (size_t)i >= g.n)
        return NULL;
    caller *c = &g.c[i];
    return strcmp(c->callid, callid) == 0 ? c : NULL;
}

static void answered(caller *c, const char *msg)
{
    char to[256], contact[256];
    const char *tag;
    if (!header(msg, "To", "t", to, sizeof to) || !(tag = strstr(to, "tag=")) ||
        !header(msg, "Contact", "m", contact, sizeof contact))
        die("a 200 without a To tag or a Contact");
    snprintf(c->ttag, sizeof c->ttag, "%.*s", (int)strcspn(tag + 4, ";> "), tag + 4);
    const char *lt = strchr(contact, '<');
    const char *u = lt ? lt + 1 : contact;
    snprintf(c->contact, sizeof c->contact, "%.*s", (int)strcspn(u, ">;"), u);
    const char *body = strstr(msg, "\r\n\r\n");
    const char *cl = body ? strstr(body, "c=IN IP4 ") : NULL;
    const char *m = body ? strstr(body, "m=audio ") : NULL;
    char ip[64];
    unsigned port = 0;
    if (!cl || !m || sscanf(cl + 9, "%63[0-9.]", ip) != 1 || sscanf(m + 8, "%u", &port) != 1)
        die("a 200 without an SDP answer");
    memset(&c->peer, 0, sizeof c->peer);
    c->peer.sin_family = AF_INET;
    c->peer.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, ip, &c->peer.sin_addr) != 1)
        die("the SDP's address");
    c->idx = (int)g.server_calls++;
    c->state = C_UP;
    c->bot_talking = c->await_first = c->await_stop = false;
    c->talk = NULL;
    c->barging = false;
    c->next_turn_at = 0; /* after the greeting */
    g.answered++;
    if (g.pending == (int)(c - g.c))
        g.pending = -1;
}

static void on_sip(void)
{
    char msg[4096];
    ssize_t n = recv(g.sip_fd, msg, sizeof msg - 1, 0);
    if (n <= 0)
        return;
    msg[n] = '\0';
    char callid[128], cseq[64];
    if (!header(msg, "Call-ID", "i", callid, sizeof callid) ||
        !header(msg, "CSeq", NULL, cseq, sizeof cseq))
        return;
    caller *c = by_callid(callid);
    if (!strncmp(msg, "SIP/2.0 ", 8)) {
        unsigned code = (unsigned)atoi(msg + 8);
        if (!c || !strstr(cseq, "INVITE"))
            return;
        if (code >= 200 && code < 300) {
            if (c->state == C_INVITING)
                answered(c, msg);
            send_in_dialog(c, "ACK", 1); /* each 200 retransmitted gets one */
        } else if (code >= 300 && c->state == C_INVITING) {
            g.refused++;
            fprintf(stderr, "bench-sip: INVITE refused: %.40s\n", msg);
            c->state = C_IDLE;
            g.pending = -1;
            char ack[1024];
            char via[256], from[256], to[256];
            if (header(msg, "Via", "v", via, sizeof via) &&
                header(msg, "From", "f", from, sizeof from) &&
                header(msg, "To", "t", to, sizeof to)) {
                int k = snprintf(ack, sizeof ack,
                                 "ACK sip:bot@127.0.0.1:%u SIP/2.0\r\nVia: %s\r\nMax-Forwards: "
                                 "70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 ACK\r\n"
                                 "Content-Length: 0\r\n\r\n",
                                 (unsigned)g.srv_port, via, from, to, callid);
                uac_send(ack, (size_t)k);
            }
        }
        return;
    }
    /* A request: the bot's BYE (or anything else in a dialog: 200). */
    if (!strncmp(msg, "ACK ", 4))
        return;
    char reply[2048];
    int k = snprintf(reply, sizeof reply, "SIP/2.0 %s\r\n",
                     c ? "200 OK" : "481 Call/Transaction Does Not Exist");
    for (const char *p = strstr(msg, "\r\n"); p && p[2] && p[2] != '\r';
         p = strstr(p + 2, "\r\n")) {
        const char *h = p + 2;
        size_t len = strcspn(h, "\r\n");
        if (!strncasecmp(h, "Via", 3) || !strncasecmp(h, "v:", 2) || !strncasecmp(h, "From", 4) ||
            !strncasecmp(h, "f:", 2) || !strncasecmp(h, "To", 2) || !strncasecmp(h, "t:", 2) ||
            !strncasecmp(h, "Call-ID", 7) || !strncasecmp(h, "i:", 2) || !strncasecmp(h, "CSeq", 4))
            k += snprintf(reply + k, sizeof reply - (size_t)k, "%.*s\r\n", (int)len, h);
        if ((size_t)k >= sizeof reply - 64)
            break;
    }
    k += snprintf(reply + k, sizeof reply - (size_t)k, "Content-Length: 0\r\n\r\n");
    uac_send(reply, (size_t)k);
    if (c && !strncmp(msg, "BYE ", 4) && c->state == C_UP) {
        g.bot_byes++;
        c->state = C_IDLE; /* placed again: N calls stay up */
    }
}

static bool bot_audio(const uint8_t *p, size_t n)
{
    int16_t pcm[FRAME];
    if (n > FRAME)
        n = FRAME;
    Ccai_media_decode(CCAI_MEDIA_ULAW, p, n, pcm);
    for (size_t i = 0; i < n; i++) {
        if (pcm[i] > 300 || pcm[i] < -300)
            return true;
    }
    return false;
}

static void on_rtp(caller *c)
{
    for (int i = 0; i < 16; i++) {
        uint8_t buf[1500];
        ssize_t n = recv(c->rtp_fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 12)
            return;
        if (c->state != C_UP || (buf[1] & 0x7f) != 0)
            continue;
        g.packets_in++;
        if (!bot_audio(buf + 12, (size_t)n - 12))
            continue;
        double now = bench_now_ms();
        if (!c->bot_talking) {
            c->bot_talking = true;
            c->bot_since = now;
        }
        c->bot_last = now;
        if (c->await_first && now >= c->t_speech_end) {
            c->await_first = false;
            if (c->n_lats < MAX_TURNS && c->t_speech_end >= g.measure_from &&
                c->t_speech_end < g.measure_to)
                c->lats[c->n_lats++] = (lat){c->t_speech_end, now};
        }
    }
}

/* 20 ms of a call: the caller's packet, its turn taking. */
static void send_frame(caller *c, double now)
{
    /* The bot stopped (a gap of BOT_GAP_MS after its last audio). */
    if (c->bot_talking && now - c->bot_last >= BOT_GAP_MS) {
        c->bot_talking = false;
        if (c->await_stop) {
            c->await_stop = false;
            if (c->bot_last >= c->onset && c->onset >= g.measure_from && c->onset < g.measure_to &&
                g.n_barge < MAX_CALLS * MAX_TURNS)
                g.barge[g.n_barge++] = c->bot_last - c->onset;
        }
        if (!c->talk)
            c->next_turn_at = now + 700 + (double)(rand() % 1000);
    }
    if (c->await_first && now - c->t_speech_end > 8000) {
        c->await_first = false; /* no answer: the caller goes on */
        g.no_answer++;
        c->next_turn_at = now;
    }
    if (!c->talk && !c->await_first) {
        bool go = false;
        if (c->barge_turn && c->bot_talking && now - c->bot_since >= c->barge_after) {
            go = true;
            c->barging = true;
        } else if (!c->bot_talking && c->next_turn_at > 0 && now >= c->next_turn_at) {
            go = true;
            if (c->barge_turn && now - c->bot_last < 3000)
                g.barge_missed++; /* the answer was shorter than barge_after */
        }
        if (go) {
            c->talk = caller_speech + (size_t)(c - g.c) % CALLER_VOICES * SPEECH_MS * 8;
            c->talk_pos = 0;
            /* This packet carries the 20 ms just captured. */
            c->onset = now - FRAME_MS;
            if (c->barging) {
                c->await_stop = true;
                g.barge_turns++;
            }
        }
    }
    uint8_t pkt[12 + FRAME];
    pkt[0] = 0x80;
    pkt[1] = (uint8_t)(c->talk && c->talk_pos == 0 ? 0x80 : 0);
    pkt[2] = (uint8_t)(c->seq >> 8);
    pkt[3] = (uint8_t)c->seq;
    for (int i = 0; i < 4; i++) {
        pkt[4 + i] = (uint8_t)(c->ts >> (24 - 8 * i));
        pkt[8 + i] = (uint8_t)(c->ssrc >> (24 - 8 * i));
    }
    c->seq++;
    c->ts += FRAME;
    if (c->talk) {
        memcpy(pkt + 12, c->talk + c->talk_pos, FRAME);
        c->talk_pos += FRAME;
        if (c->talk_pos + FRAME > (size_t)SPEECH_MS * 8) {
            c->talk = NULL;
            c->t_speech_end = now;
            c->await_first = true;
            c->barging = false;
            c->barge_turn = !c->barge_turn;
            c->barge_after = 300 + (double)(rand() % 700);
            c->next_turn_at = 0;
        }
    } else {
        memset(pkt + 12, CCAI_ULAW_SILENCE, FRAME);
    }
    if (sendto(c->rtp_fd, pkt, sizeof pkt, MSG_DONTWAIT, (struct sockaddr *)&c->peer,
               sizeof c->peer) > 0)
        g.packets_out++;
}

static void *callers(void *arg)
{
    (void)arg;
    clockid_t self;
    if (pthread_getcpuclockid(pthread_self(), &self) != 0)
        die("thread clock");
    double start = bench_now_ms();
    double ramp_end = 0;
    bool ramped = false, measuring = false;
    while (true) {
        double now = bench_now_ms();
        /* One INVITE out at a time; a lost one is sent again. */
        if (g.pending >= 0 && now - g.c[g.pending].invite_at > 2000) {
            caller *c = &g.c[g.pending];
            g.pending = -1;
            c->state = C_IDLE;
            fprintf(stderr, "bench-sip: no answer to an INVITE in 2 s\n");
        }
        if (g.pending < 0) {
            for (size_t i = 0; i < g.n; i++) {
                if (g.c[i].state == C_IDLE && (!ramped || now < g.measure_to)) {
                    place(&g.c[i]);
                    break;
                }
            }
        }
        if (!ramped && g.answered >= g.n) {
            ramped = true;
            ramp_end = now;
            /* Greetings, first turns: 5 s before measuring. */
            g.measure_from = now + 5000;
            g.measure_to = g.measure_from + g.seconds * 1000;
            printf("  %zu calls up in %.1f s\n", g.n, (now - start) / 1000);
            fflush(stdout);
        }
        if (ramped && !measuring && now >= g.measure_from) {
            measuring = true;
            g.cpu_gen0 = thread_cpu_s(self);
            g.cpu_proc0 = thread_cpu_s(CLOCK_PROCESS_CPUTIME_ID);
        }
        if (measuring && now >= g.measure_to)
            break;
        if (!ramped && now - start > 120000)
            die("the calls did not come up in 120 s");
        double next = now + 20;
        for (size_t i = 0; i < g.n; i++) {
            caller *c = &g.c[i];
            if (c->state != C_UP)
                continue;
            if (c->next_send <= 0)
                c->next_send = now + (double)i * FRAME_MS / (double)g.n;
            if (c->next_send <= now) {
                if (now - c->next_send > 10)
                    g.late_sends++;
                send_frame(c, now);
                c->next_send += FRAME_MS;
                if (c->next_send < now - 100)
                    c->next_send = now;
            }
            if (c->next_send < next)
                next = c->next_send;
        }
        int wait = (int)ceil(next - bench_now_ms());
        struct epoll_event ev[64];
        int k = epoll_wait(g.ep, ev, 64, wait < 0 ? 0 : wait);
        for (int i = 0; i < k; i++) {
            if (ev[i].data.u64 == UINT64_MAX)
                on_sip();
            else
                on_rtp(&g.c[ev[i].data.u64]);
        }
    }
    g.cpu_gen1 = thread_cpu_s(self);
    g.cpu_proc1 = thread_cpu_s(CLOCK_PROCESS_CPUTIME_ID);
    (void)ramp_end;
    /* Hang up every call, take the 200s. */
    for (size_t i = 0; i < g.n; i++) {
        if (g.c[i].state == C_UP)
            send_in_dialog(&g.c[i], "BYE", 2);
        g.c[i].state = C_IDLE;
    }
    double until = bench_now_ms() + 1500;
    while (bench_now_ms() < until) {
        struct epoll_event ev[64];
        int k = epoll_wait(g.ep, ev, 64, 50);
        for (int i = 0; i < k; i++) {
            if (ev[i].data.u64 == UINT64_MAX)
                on_sip();
            else
                on_rtp(&g.c[ev[i].data.u64]);
        }
    }
    if (write(g.done_pipe[1], "x", 1) != 1)
        die("pipe");
    return NULL;
}

/* The server ------------------------------------------------------------------- */

static ccai_ctx *ctx;

static void on_done(int flags, void *arg)
{
    (void)flags;
    (void)arg;
    fd_close(g.done_pipe[0]);
    ccai_ctx_free(ctx);
    ctx = NULL;
    re_cancel();
}

static uint16_t free_udp_port(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0)
        die("a UDP port");
    close(fd);
    return ntohs(a.sin_port);
}

static double pct(double *v, size_t n, double q)
{
    if (!n)
        return NAN;
    qsort(v, n, sizeof *v, bench_cmp_double);
    return v[(size_t)((double)(n - 1) * q)];
}

static void target(const char *what, double v, const char *unit, const char *cmp, double t)
{
    bool ok = strcmp(cmp, ">=") == 0 ? v >= t : v <= t;
    printf("  %-52s %10.2f %-6s target %s %g %s: %s\n", what, v, unit, cmp, t, unit,
           ok ? "met" : "NOT met");
}

/* The callers' latencies with the stand-ins' stamps of the same turn. */
static void report_latency(void)
{
    size_t cap = g.n * MAX_TURNS;
    double *total = calloc(cap, sizeof *total), *vad = calloc(cap, sizeof *vad),
           *stt = calloc(cap, sizeof *stt), *eng = calloc(cap, sizeof *eng),
           *tts = calloc(cap, sizeof *tts), *added = calloc(cap, sizeof *added);
    if (!total || !vad || !stt || !eng || !tts || !added)
        die("memory");
    size_t n = 0, unmatched = 0;
    for (size_t i = 0; i < g.n; i++) {
        caller *c = &g.c[i];
        for (size_t k = 0; k < c->n_lats; k++) {
            const lat *l = &c->lats[k];
            const srv_turn *m = NULL;
            const srv_call *sc = c->idx >= 0 && (size_t)c->idx < MAX_CALLS ? &srv[c->idx] : NULL;
            for (size_t j = 0; sc && j < sc->n; j++) {
                const srv_turn *t = &sc->turns[j];
                if (t->t_end >= l->t_speech_end && t->t_audio <= l->t_first)
                    m = t;
            }
            if (!m) {
                unmatched++;
                continue;
            }
            total[n] = l->t_first - l->t_speech_end;
            vad[n] = m->t_end - l->t_speech_end;
            stt[n] = m->t_final - m->t_end;
            eng[n] = m->t_say - m->t_final;
            tts[n] = m->t_audio - m->t_say;
            added[n] = l->t_first - m->t_audio;
            n++;
        }
    }
    if (unmatched)
        printf("  (%zu answers not matched with the stand-ins' stamps: left out)\n", unmatched);
    bench_report("caller's last speech -> first bot RTP", total, n, "ms", 1);
    bench_report("  last speech -> end of turn (VAD)", vad, n, "ms", 1);
    bench_report("  STT finalisation (stand-in)", stt, n, "ms", 1);
    bench_report("  engine: words -> first sentence", eng, n, "ms", 1);
    bench_report("  TTS first audio (stand-in)", tts, n, "ms", 1);
    bench_report("  added: TTS audio -> first RTP at caller", added, n, "ms", 1);
    printf("  added by libccai (TTS audio -> RTP received), p50 %.2f ms; for scale, the loop's "
           "timers fired late by p99 %.2f ms (the STT stand-in's %u ms timer)\n",
           pct(added, n, 0.5), pct(stt, n, 0.99) - stt_delay_ms, (unsigned)stt_delay_ms);
    target("added latency p99", pct(added, n, 0.99), "ms", "<=", 20);
    free(total);
    free(vad);
    free(stt);
    free(eng);
    free(tts);
    free(added);
}

int main(int argc, char **argv)
{
    g.n = 200;
    g.seconds = 60;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--calls") && i + 1 < argc)
            g.n = (size_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
            g.seconds = atof(argv[++i]);
        else
            die("usage: bench-sip [--calls N] [--seconds S]");
    }
    if (g.n < 1 || g.n > MAX_CALLS || g.seconds < 1)
        die("--calls 1..2000, --seconds >= 1");
    srand(12);
    printf("bench-sip: build %s%s, %ld cores, %zu calls, %.0f s measured\n", CCAI_BENCH_BUILDTYPE,
           strcmp(CCAI_BENCH_SANITIZE, "none") ? " (sanitizers: figures are not representative)"
                                               : "",
           sysconf(_SC_NPROCESSORS_ONLN), g.n, g.seconds);
    double load[3];
    if (getloadavg(load, 3) == 3)
        printf("  load average before the run: %.2f %.2f %.2f (the figures share the machine)\n",
               load[0], load[1], load[2]);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            fprintf(stderr, "bench-sip: cannot raise the fd limit\n");
    }

    caller_speech = malloc((size_t)CALLER_VOICES * SPEECH_MS * 8);
    bot_speech = malloc((size_t)BOT_SPEECH_MS * 24 * sizeof *bot_speech);
    int16_t *pcm = malloc((size_t)SPEECH_MS * 8 * sizeof *pcm);
    srv = calloc(MAX_CALLS, sizeof *srv);
    g.c = calloc(g.n, sizeof *g.c);
    g.barge = calloc((size_t)MAX_CALLS * MAX_TURNS, sizeof *g.barge);
    if (!caller_speech || !bot_speech || !pcm || !srv || !g.c || !g.barge)
        die("memory");
    for (int v = 0; v < CALLER_VOICES; v++) {
        voiced(pcm, (size_t)SPEECH_MS * 8, 8000, 110 + 12 * v, -20, v * 0.7);
        Ccai_media_encode(CCAI_MEDIA_ULAW, pcm, (size_t)SPEECH_MS * 8,
                          caller_speech + (size_t)v * SPEECH_MS * 8);
    }
    voiced(bot_speech, (size_t)BOT_SPEECH_MS * 24, 24000, 210, -26, 0.3);
    free(pcm);

    /* The callers' sockets. */
    g.ep = epoll_create1(EPOLL_CLOEXEC);
    g.sip_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (g.ep < 0 || g.sip_fd < 0 || bind(g.sip_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(g.sip_fd, (struct sockaddr *)&a, &al) != 0)
        die("the callers' SIP socket");
    g.sip_port = ntohs(a.sin_port);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
    if (epoll_ctl(g.ep, EPOLL_CTL_ADD, g.sip_fd, &ev) != 0)
        die("epoll");
    for (size_t i = 0; i < g.n; i++) {
        caller *c = &g.c[i];
        c->idx = -1;
        c->ssrc = (uint32_t)rand();
        c->rtp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_in r = {.sin_family = AF_INET};
        r.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (c->rtp_fd < 0 || bind(c->rtp_fd, (struct sockaddr *)&r, sizeof r) != 0)
            die("an RTP socket");
        ev.data.u64 = i;
        if (epoll_ctl(g.ep, EPOLL_CTL_ADD, c->rtp_fd, &ev) != 0)
            die("epoll");
    }
    g.pending = -1;

    /* The server: a context on libre's loop with the SIP channel. */
    g.srv_port = free_udp_port();
    char listen_at[32];
    snprintf(listen_at, sizeof listen_at, "127.0.0.1:%u", (unsigned)g.srv_port);
    ccai_config *cfg = NULL;
    if (ccai_config_new(&cfg) != CCAI_OK ||
        ccai_config_set(cfg, "database.sqlite.path", ":memory:") != CCAI_OK ||
        ccai_config_set(cfg, "log.level", "warn") != CCAI_OK ||
        ccai_config_set(cfg, "sip.listen", listen_at) != CCAI_OK ||
        ccai_config_set(cfg, "sip.transports", "udp") != CCAI_OK ||
        ccai_config_set(cfg, "speech.stt.providers", "[\"bench-stt\"]") != CCAI_OK ||
        ccai_config_set(cfg, "speech.tts.providers", "[\"bench-tts\"]") != CCAI_OK)
        die("config");
    if (libre_init() != 0)
        die("libre_init");
    fd_setsize(-1);
    char *why = NULL;
    if (ccai_ctx_new_libre(cfg, &ctx, &why) != CCAI_OK)
        die(why ? why : "context");
    if (Ccai_voice_add_stt(Ccai_ctx_voice(ctx), &stt_standin) != CCAI_OK ||
        Ccai_voice_add_tts(Ccai_ctx_voice(ctx), &tts_standin) != CCAI_OK)
        die("providers");
    if (pipe(g.done_pipe) != 0 || fd_listen(g.done_pipe[0], FD_READ, on_done, NULL) != 0)
        die("pipe");

    pthread_t t;
    if (pthread_create(&t, NULL, callers, NULL) != 0)
        die("thread");
    if (re_main(NULL) != 0)
        die("re_main");
    pthread_join(t, NULL);
    close(g.done_pipe[0]);
    close(g.done_pipe[1]);

    double wall = g.measure_to - g.measure_from;
    double cpu_gen = g.cpu_gen1 - g.cpu_gen0;
    double cpu_srv = (g.cpu_proc1 - g.cpu_proc0) - cpu_gen;
    double call_s = (double)g.n * wall / 1000;
    printf("\n== load: %zu concurrent SIP calls over loopback (UDP), PCMU both ways at real-time "
           "pace, stand-in STT (%u ms) and TTS (%u ms), offline dialogue, store in memory ==\n",
           g.n, (unsigned)stt_delay_ms, (unsigned)tts_delay_ms);
    printf(
        "  %zu INVITEs, %zu answered, %zu refused; the bot hung up %zu calls (placed again); "
        "%zu RTP packets out, %zu in; %zu caller packets sent > 10 ms late; %zu turns unanswered "
        "in 8 s\n",
        g.placed, g.answered, g.refused, g.bot_byes, g.packets_out, g.packets_in, g.late_sends,
        g.no_answer);
    printf("  server CPU %.2f s over %.1f s (%.0f%% of a core); the callers' thread %.2f s\n",
           cpu_srv, wall / 1000, 100 * cpu_srv / (wall / 1000), cpu_gen);
    printf("  CPU per call: %.2f ms per call-second (%.1f us per 20 ms of call)\n",
           cpu_srv * 1000 / call_s, cpu_srv * 1e6 / (call_s * 50));
    target("concurrent SIP calls per core", call_s / cpu_srv, "calls", ">=", 200);

    printf("\n== latency: the caller's end of speech -> the bot's first RTP packet ==\n");
    report_latency();

    printf("\n== barge-in: the caller talks over the bot's answer 300-1000 ms into it ==\n");
    printf("  %zu interruptions (%zu turns found the answer shorter than the wait)\n",
           g.barge_turns, g.barge_missed);
    bench_report("speech onset -> bot RTP stopped", g.barge, g.n_barge, "ms", 1);
    target("barge-in p99", pct(g.barge, g.n_barge, 0.99), "ms", "<=", 250);

    for (size_t i = 0; i < g.n; i++)
        close(g.c[i].rtp_fd);
    close(g.sip_fd);
    close(g.ep);
    ccai_config_free(cfg);
    libre_close();
    free(g.c);
    free(g.barge);
    free(srv);
    free(caller_speech);
    free(bot_speech);
    return 0;
}
