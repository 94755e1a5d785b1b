/* Twilio Media Streams, ACS media streaming and AudioSocket callers: see
 * media_drivers.h. */
#include "support/media_drivers.h"

#include "support/standin_audio.h"
#include "support/ws.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define JFLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

enum { K_TWILIO, K_ACS, K_AS };

typedef struct pentry {
    int16_t *pcm; /* NULL for a mark */
    size_t n, off;
    char *mark;
} pentry;

typedef struct strv {
    char **v;
    size_t n, cap;
} strv;

struct media_driver {
    int kind;
    int rate;
    pthread_t thread;
    int started;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop, hangup, closed, close_code;
    int status;
    char *refusal;
    char id[64];
    /* Twilio / ACS */
    ws_client *ws;
    char account_sid[40], call_sid[40];
    char participant[64];
    int dtmf_enabled;
    unsigned long seq;
    unsigned long chunk;
    /* AudioSocket */
    int fd;
    uint8_t *rx;
    size_t rxn;
    uint64_t *ftimes;
    size_t nft, ftcap;
    /* caller side */
    int16_t *say;
    size_t nsay, saycap, sayoff;
    char dtmf[64];
    size_t ndtmf;
    /* our side */
    pentry *q;
    size_t nq, qcap, qhead;
    int16_t *heard;
    size_t nheard, heardcap;
    strv marks, rcv, snt;
    int clears, warnings;
    /* raw messages the test wants sent (media_driver_send_raw) */
    struct rawmsg {
        int opcode;
        char *data;
        size_t len;
    } * raw;
    size_t nraw;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void strv_add(strv *s, const char *t, size_t n)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return;
        s->v = v;
        s->cap = cap;
    }
    char *d = malloc(n + 1);
    if (!d)
        return;
    memcpy(d, t, n);
    d[n] = '\0';
    s->v[s->n++] = d;
}

static void strv_free(strv *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

static void hex_id(char *out, size_t n, const char *prefix)
{
    unsigned char r[16];
    if (RAND_bytes(r, sizeof r) != 1)
        for (size_t i = 0; i < sizeof r; i++)
            r[i] = (unsigned char)rand();
    size_t k = (size_t)snprintf(out, n, "%s", prefix);
    for (size_t i = 0; i < 16 && k + 2 < n; i++, k += 2)
        snprintf(out + k, n - k, "%02x", r[i]);
}

/* ---- queues (lock held) ---- */

static void heard_add(media_driver *d, const int16_t *p, size_t n)
{
    if (d->nheard + n > d->heardcap) {
        size_t cap = d->heardcap ? d->heardcap : 8000;
        while (cap < d->nheard + n)
            cap *= 2;
        int16_t *v = realloc(d->heard, cap * sizeof *v);
        if (!v)
            return;
        d->heard = v;
        d->heardcap = cap;
    }
    memcpy(d->heard + d->nheard, p, n * sizeof *p);
    d->nheard += n;
}

static void q_push(media_driver *d, int16_t *pcm, size_t n, const char *mark)
{
    if (d->qhead && d->qhead == d->nq)
        d->qhead = d->nq = 0;
    if (d->nq == d->qcap) {
        size_t cap = d->qcap ? d->qcap * 2 : 64;
        pentry *v = realloc(d->q, cap * sizeof *v);
        if (!v) {
            free(pcm);
            return;
        }
        d->q = v;
        d->qcap = cap;
    }
    d->q[d->nq++] = (pentry){pcm, n, 0, mark ? strdup(mark) : NULL};
}

/* ---- sending (thread only) ---- */

static void send_json(media_driver *d, json_t *j)
{
    char *t = json_dumps(j, JFLAGS);
    json_decref(j);
    if (!t)
        return;
    pthread_mutex_lock(&d->lock);
    strv_add(&d->snt, t, strlen(t));
    pthread_mutex_unlock(&d->lock);
    ws_client_send_text(d->ws, t);
    free(t);
}

static json_t *tw_msg(media_driver *d, const char *event)
{
    char seq[24];
    snprintf(seq, sizeof seq, "%lu", ++d->seq);
    return json_pack("{s:s,s:s,s:s}", "event", event, "sequenceNumber", seq, "streamSid", d->id);
}

static void echo_mark(media_driver *d, const char *name)
{
    json_t *m = tw_msg(d, "mark");
    json_object_set_new(m, "mark", json_pack("{s:s}", "name", name));
    send_json(d, m);
    pthread_mutex_lock(&d->lock);
    strv_add(&d->marks, name, strlen(name));
    pthread_mutex_unlock(&d->lock);
}

/* Marks at the head of the queue, due now (their audio is played). */
static void due_marks(media_driver *d, char ***names, size_t *nn)
{
    while (d->qhead < d->nq && d->q[d->qhead].mark) {
        char **v = realloc(*names, (*nn + 1) * sizeof *v);
        if (!v)
            break;
        *names = v;
        v[(*nn)++] = d->q[d->qhead].mark;
        d->qhead++;
    }
}

/* One 20 ms tick of the playback clock; returns the marks to echo. */
static void play_tick(media_driver *d, char ***names, size_t *nn)
{
    size_t need = (size_t)d->rate / 50;
    due_marks(d, names, nn);
    while (need && d->qhead < d->nq) {
        pentry *e = &d->q[d->qhead];
        if (e->mark)
            break;
        size_t take = e->n - e->off < need ? e->n - e->off : need;
        heard_add(d, e->pcm + e->off, take);
        e->off += take;
        need -= take;
        if (e->off == e->n) {
            free(e->pcm);
            d->qhead++;
            due_marks(d, names, nn);
        }
    }
}

static void clear_queue(media_driver *d, char ***names, size_t *nn)
{
    for (size_t i = d->qhead; i < d->nq; i++) {
        if (d->q[i].mark) {
            char **v = realloc(*names, (*nn + 1) * sizeof *v);
            if (v) {
                *names = v;
                v[(*nn)++] = d->q[i].mark;
            } else {
                free(d->q[i].mark);
            }
        } else {
            free(d->q[i].pcm);
        }
    }
    d->qhead = d->nq = 0;
    d->clears++;
}

static void echo_all(media_driver *d, char **names, size_t nn)
{
    for (size_t i = 0; i < nn; i++) {
        if (d->kind == K_TWILIO)
            echo_mark(d, names[i]);
        free(names[i]);
    }
    free(names);
}

/* The caller's next 20 ms (silence when nothing is queued); 1 when it was speech. */
static int next_frame(media_driver *d, int16_t *out, size_t n)
{
    pthread_mutex_lock(&d->lock);
    size_t avail = d->nsay - d->sayoff;
    size_t take = avail < n ? avail : n;
    if (take) /* d->say is NULL before the caller said anything */
        memcpy(out, d->say + d->sayoff, take * sizeof *out);
    memset(out + take, 0, (n - take) * sizeof *out);
    d->sayoff += take;
    if (d->sayoff == d->nsay)
        d->sayoff = d->nsay = 0;
    pthread_mutex_unlock(&d->lock);
    return take > 0;
}

static void iso_now(char *out, size_t n)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t k = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + k, n - k, ".%03ldZ", ts.tv_nsec / 1000000);
}

/* The raw messages queued by the test, on the driver's thread. */
static void raw_send(media_driver *d)
{
    pthread_mutex_lock(&d->lock);
    struct rawmsg *raw = d->raw;
    size_t n = d->nraw;
    d->raw = NULL;
    d->nraw = 0;
    pthread_mutex_unlock(&d->lock);
    for (size_t i = 0; i < n; i++) {
        ws_client_send(d->ws, raw[i].opcode, raw[i].data, raw[i].len);
        free(raw[i].data);
    }
    free(raw);
}

static void tick_send(media_driver *d)
{
    if (d->kind != K_AS)
        raw_send(d);
    size_t n = (size_t)d->rate / 50;
    int16_t frame[960];
    int speech = next_frame(d, frame, n);
    char digits[64];
    size_t nd;
    pthread_mutex_lock(&d->lock);
    nd = d->ndtmf;
    memcpy(digits, d->dtmf, nd);
    d->ndtmf = 0;
    pthread_mutex_unlock(&d->lock);
    if (d->kind == K_AS) {
        uint8_t buf[3 + 320];
        buf[0] = 0x10;
        buf[1] = 0x01;
        buf[2] = 0x40;
        size_t len = 0;
        uint8_t *b = sa_encode(SA_PCM16, frame, n, &len);
        if (b) {
            memcpy(buf + 3, b, len);
            free(b);
            if (send(d->fd, buf, 3 + len, MSG_NOSIGNAL) < 0)
                __atomic_store_n(&d->closed, 1, __ATOMIC_RELEASE);
        }
        for (size_t i = 0; i < nd; i++) {
            uint8_t dt[4] = {0x03, 0x00, 0x01, (uint8_t)digits[i]};
            if (send(d->fd, dt, 4, MSG_NOSIGNAL) < 0)
                __atomic_store_n(&d->closed, 1, __ATOMIC_RELEASE);
        }
        return;
    }
    if (d->kind == K_TWILIO) {
        for (size_t i = 0; i < nd; i++) {
            char dg[2] = {digits[i], 0};
            json_t *m = tw_msg(d, "dtmf");
            json_object_set_new(m, "dtmf",
                                json_pack("{s:s,s:s}", "track", "inbound_track", "digit", dg));
            send_json(d, m);
        }
        size_t len = 0;
        uint8_t *u = sa_encode(SA_ULAW, frame, n, &len);
        char *b64 = u ? sa_b64(u, len) : NULL;
        free(u);
        char chunk[24], ts[24];
        d->chunk++;
        snprintf(chunk, sizeof chunk, "%lu", d->chunk);
        snprintf(ts, sizeof ts, "%lu", (d->chunk - 1) * 20);
        json_t *m = tw_msg(d, "media");
        json_object_set_new(m, "media",
                            json_pack("{s:s,s:s,s:s,s:s}", "track", "inbound", "chunk", chunk,
                                      "timestamp", ts, "payload", b64 ? b64 : ""));
        free(b64);
        send_json(d, m);
        return;
    }
    /* ACS */
    for (size_t i = 0; i < nd && d->dtmf_enabled; i++) {
        char dg[2] = {digits[i], 0};
        send_json(d, json_pack("{s:s,s:{s:s}}", "kind", "DtmfData", "dtmfData", "data", dg));
    }
    size_t len = 0;
    uint8_t *b = sa_encode(SA_PCM16, frame, n, &len);
    char *b64 = b ? sa_b64(b, len) : NULL;
    free(b);
    char ts[40];
    iso_now(ts, sizeof ts);
    send_json(d, json_pack("{s:s,s:{s:s,s:s,s:s,s:b}}", "kind", "AudioData", "audioData",
                           "timestamp", ts, "participantRawID", d->participant, "data",
                           b64 ? b64 : "", "silent", !speech));
    free(b64);
}

/* ---- receiving ---- */

static json_t *get_ci(json_t *o, const char *key)
{
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (!strcasecmp(k, key))
            return v;
    }
    return NULL;
}

static int16_t *decode_b64(const char *b64, sa_enc enc, size_t *n)
{
    size_t len = 0, used = 0;
    uint8_t *bytes = b64 ? sa_unb64(b64, &len) : NULL;
    if (!bytes)
        return NULL;
    int16_t *pcm = sa_decode(enc, 1, bytes, len, n, &used);
    free(bytes);
    return pcm;
}

static void on_ws_text(media_driver *d, const char *text, size_t len)
{
    json_t *j = json_loadb(text, len, 0, NULL);
    char **names = NULL;
    size_t nn = 0;
    pthread_mutex_lock(&d->lock);
    strv_add(&d->rcv, text, len);
    if (!json_is_object(j)) {
        d->warnings++;
    } else if (d->kind == K_TWILIO) {
        const char *ev = json_string_value(json_object_get(j, "event"));
        const char *sid = json_string_value(json_object_get(j, "streamSid"));
        if (!ev || !sid || strcmp(sid, d->id)) {
            d->warnings++;
        } else if (!strcmp(ev, "media")) {
            size_t n = 0;
            int16_t *pcm = decode_b64(
                json_string_value(json_object_get(json_object_get(j, "media"), "payload")), SA_ULAW,
                &n);
            if (pcm && n)
                q_push(d, pcm, n, NULL);
            else {
                free(pcm);
                d->warnings++;
            }
        } else if (!strcmp(ev, "mark")) {
            const char *name =
                json_string_value(json_object_get(json_object_get(j, "mark"), "name"));
            if (name)
                q_push(d, NULL, 0, name);
            else
                d->warnings++;
        } else if (!strcmp(ev, "clear")) {
            clear_queue(d, &names, &nn);
        } else {
            d->warnings++;
        }
    } else {
        const char *kind = json_string_value(get_ci(j, "kind"));
        if (kind && !strcasecmp(kind, "AudioData")) {
            size_t n = 0;
            int16_t *pcm =
                decode_b64(json_string_value(get_ci(get_ci(j, "audioData"), "data")), SA_PCM16, &n);
            if (pcm && n)
                q_push(d, pcm, n, NULL);
            else {
                free(pcm);
                d->warnings++;
            }
        } else if (kind && !strcasecmp(kind, "StopAudio")) {
            clear_queue(d, &names, &nn);
        } else {
            d->warnings++;
        }
    }
    pthread_mutex_unlock(&d->lock);
    json_decref(j);
    echo_all(d, names, nn);
}

static void ws_drain(media_driver *d)
{
    ws_msg m;
    while (ws_client_recv(d->ws, 0, &m) == 1) {
        if (m.opcode == WS_TEXT) {
            on_ws_text(d, (const char *)m.data, m.len);
        } else if (m.opcode == WS_BINARY) {
            pthread_mutex_lock(&d->lock);
            d->warnings++; /* Twilio 31950; ACS expects JSON text */
            pthread_mutex_unlock(&d->lock);
        } else if (m.opcode == WS_CLOSE) {
            pthread_mutex_lock(&d->lock);
            if (!d->close_code)
                d->close_code = m.close_code;
            pthread_mutex_unlock(&d->lock);
        }
        ws_msg_clear(&m);
    }
}

static void as_parse(media_driver *d)
{
    size_t i = 0;
    while (d->rxn - i >= 3) {
        uint8_t kind = d->rx[i];
        size_t len = (size_t)((d->rx[i + 1] << 8) | d->rx[i + 2]);
        if (kind == 0x00) {
            pthread_mutex_lock(&d->lock);
            d->close_code = 1;
            strv_add(&d->rcv, "0:0", 3);
            pthread_mutex_unlock(&d->lock);
            __atomic_store_n(&d->closed, 1, __ATOMIC_RELEASE);
            i += 3;
            break;
        }
        if (d->rxn - i < 3 + len)
            break;
        char desc[32];
        int dl = snprintf(desc, sizeof desc, "%u:%zu", kind, len);
        pthread_mutex_lock(&d->lock);
        strv_add(&d->rcv, desc, (size_t)dl);
        if (kind >= 0x10 && kind <= 0x18 && len >= 1) {
            size_t n = 0, used = 0;
            int16_t *pcm = sa_decode(SA_PCM16, 1, d->rx + i + 3, len, &n, &used);
            if (pcm)
                heard_add(d, pcm, n);
            free(pcm);
            if (d->nft == d->ftcap) {
                size_t cap = d->ftcap ? d->ftcap * 2 : 256;
                uint64_t *v = realloc(d->ftimes, cap * sizeof *v);
                if (v) {
                    d->ftimes = v;
                    d->ftcap = cap;
                }
            }
            if (d->nft < d->ftcap)
                d->ftimes[d->nft++] = mono_ms();
        } else {
            /* Asterisk: "Received AudioSocket message other than hangup or
             * audio" (or a zero length): the call ends. */
            d->warnings++;
            __atomic_store_n(&d->closed, 1, __ATOMIC_RELEASE);
        }
        pthread_mutex_unlock(&d->lock);
        i += 3 + len;
        if (__atomic_load_n(&d->closed, __ATOMIC_ACQUIRE))
            break;
    }
    memmove(d->rx, d->rx + i, d->rxn - i);
    d->rxn -= i;
}

static int as_read(media_driver *d)
{
    for (;;) {
        uint8_t tmp[8192];
        ssize_t n = recv(d->fd, tmp, sizeof tmp, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (n <= 0)
            return -1;
        uint8_t *p = realloc(d->rx, d->rxn + (size_t)n);
        if (!p)
            return -1;
        d->rx = p;
        memcpy(d->rx + d->rxn, tmp, (size_t)n);
        d->rxn += (size_t)n;
        as_parse(d);
        if (__atomic_load_n(&d->closed, __ATOMIC_ACQUIRE))
            return -1;
    }
}

/* ---- the thread ---- */

static void do_hangup(media_driver *d)
{
    if (d->kind == K_TWILIO) {
        json_t *m = tw_msg(d, "stop");
        json_object_set_new(
            m, "stop",
            json_pack("{s:s,s:s}", "accountSid", d->account_sid, "callSid", d->call_sid));
        send_json(d, m);
        ws_client_close(d->ws, 1000, "");
    } else if (d->kind == K_ACS) {
        ws_client_close(d->ws, 1000, "");
    } else {
        shutdown(d->fd, SHUT_RDWR);
        __atomic_store_n(&d->closed, 1, __ATOMIC_RELEASE);
    }
}

static void *driver_main(void *arg)
{
    media_driver *d = arg;
    uint64_t t0 = mono_ms();
    uint64_t n = 0;
    int hung = 0;
    uint64_t close_wait = 0;
    for (;;) {
        pthread_mutex_lock(&d->lock);
        int stop = d->stop, hangup = d->hangup;
        pthread_mutex_unlock(&d->lock);
        if (stop)
            break;
        if (hangup && !hung) {
            hung = 1;
            do_hangup(d);
            close_wait = mono_ms() + 2000;
        }
        int fd = d->kind == K_AS ? d->fd : ws_client_fd(d->ws);
        uint64_t now = mono_ms();
        uint64_t next = t0 + n * 20;
        int timeout = next > now ? (int)(next - now) : 0;
        short ev = POLLIN;
        if (d->kind != K_AS && ws_client_want_write(d->ws))
            ev |= POLLOUT;
        struct pollfd p = {fd, ev, 0};
        int r = __atomic_load_n(&d->closed, __ATOMIC_ACQUIRE) ? 0 : poll(&p, 1, timeout);
        if (r > 0) {
            if (d->kind == K_AS) {
                if (as_read(d))
                    __atomic_store_n(&d->closed, 1, __ATOMIC_RELEASE);
            } else {
                int rc = ws_client_pump(d->ws);
                ws_drain(d);
                if (rc || ws_client_eof(d->ws))
                    __atomic_store_n(&d->closed, 1, __ATOMIC_RELEASE);
            }
        }
        if (!__atomic_load_n(&d->closed, __ATOMIC_ACQUIRE) && d->kind != K_AS) {
            pthread_mutex_lock(&d->lock);
            int cc = d->close_code;
            pthread_mutex_unlock(&d->lock);
            if (cc && !ws_client_want_write(d->ws))
                __atomic_store_n(
                    &d->closed, 1,
                    __ATOMIC_RELEASE); /* the close handshake is done (wslay answered it) */
        }
        if (hung && close_wait && mono_ms() > close_wait)
            __atomic_store_n(&d->closed, 1, __ATOMIC_RELEASE);
        if (__atomic_load_n(&d->closed, __ATOMIC_ACQUIRE))
            break;
        if (mono_ms() >= next) {
            if (!hung)
                tick_send(d);
            char **names = NULL;
            size_t nn = 0;
            pthread_mutex_lock(&d->lock);
            if (d->kind != K_AS)
                play_tick(d, &names, &nn);
            pthread_mutex_unlock(&d->lock);
            if (!hung)
                echo_all(d, names, nn);
            else {
                for (size_t i = 0; i < nn; i++)
                    free(names[i]);
                free(names);
            }
            n++;
            if (mono_ms() > t0 + n * 20 + 100) /* a stalled process: re-anchor */
                t0 = mono_ms() - n * 20;
        }
    }
    /* The connection is over: let the server see the TCP close now. */
    int fd = d->kind == K_AS ? d->fd : ws_client_fd(d->ws);
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR);
    pthread_mutex_lock(&d->lock);
    __atomic_store_n(&d->closed, 1, __ATOMIC_RELEASE);
    if (!d->close_code && d->kind != K_AS)
        d->close_code = 1006;
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

static media_driver *driver_new(int kind, int rate)
{
    media_driver *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->kind = kind;
    d->rate = rate;
    d->fd = -1;
    d->status = -1;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->cond, NULL);
    return d;
}

static void driver_run(media_driver *d)
{
    if (pthread_create(&d->thread, NULL, driver_main, d) == 0)
        d->started = 1;
    else
        __atomic_store_n(&d->closed, 1, __ATOMIC_RELEASE);
}

char *twilio_media_signature(const char *auth_token, const char *url)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    if (!HMAC(EVP_sha1(), auth_token, (int)strlen(auth_token), (const unsigned char *)url,
              strlen(url), mac, &ml))
        return NULL;
    return sa_b64(mac, ml);
}

static void ws_connect(media_driver *d, int port, const char *path, const char *const *headers,
                       int timeout_ms)
{
    ws_client_opts co = {.port = port, .path = path, .headers = headers, .timeout_ms = timeout_ms};
    d->ws = ws_client_connect(&co);
    d->status = d->ws ? ws_client_status(d->ws) : -1;
    if (d->ws && d->status != 101)
        d->refusal = strdup(ws_client_response_body(d->ws));
}

media_driver *twilio_media_connect(const twilio_media_opts *o)
{
    media_driver *d = driver_new(K_TWILIO, 8000);
    if (!d)
        return NULL;
    const char *path = o->path ? o->path : "/";
    char url[1024];
    if (o->signed_url)
        snprintf(url, sizeof url, "%s", o->signed_url);
    else
        snprintf(url, sizeof url, "wss://127.0.0.1:%d%s", o->port, path);
    if (o->account_sid)
        snprintf(d->account_sid, sizeof d->account_sid, "%s", o->account_sid);
    else
        hex_id(d->account_sid, sizeof d->account_sid, "AC");
    if (o->call_sid)
        snprintf(d->call_sid, sizeof d->call_sid, "%s", o->call_sid);
    else
        hex_id(d->call_sid, sizeof d->call_sid, "CA");
    hex_id(d->id, sizeof d->id, "MZ");
    char sighdr[256] = "";
    const char *headers[4] = {"User-Agent: Twilio.TmeWs/1.0", NULL, NULL, NULL};
    if (o->auth_token) {
        char *sig = twilio_media_signature(o->auth_token, url);
        if (sig && o->forge)
            sig[0] = sig[0] == 'A' ? 'B' : 'A';
        snprintf(sighdr, sizeof sighdr, "X-Twilio-Signature: %s", sig ? sig : "");
        free(sig);
        headers[1] = sighdr;
    }
    ws_connect(d, o->port, path, headers, o->timeout_ms);
    if (d->status != 101) {
        __atomic_store_n(&d->closed, 1, __ATOMIC_RELEASE);
        return d;
    }
    send_json(d, json_pack("{s:s,s:s,s:s}", "event", "connected", "protocol", "Call", "version",
                           "1.0.0"));
    json_t *params = json_object();
    for (const char *const *p = o->params; p && p[0] && p[1]; p += 2)
        json_object_set_new(params, p[0], json_string(p[1]));
    json_t *m = tw_msg(d, "start");
    json_object_set_new(m, "start",
                        json_pack("{s:s,s:s,s:s,s:[s],s:o,s:{s:s,s:i,s:i}}", "accountSid",
                                  d->account_sid, "streamSid", d->id, "callSid", d->call_sid,
                                  "tracks", "inbound", "customParameters", params, "mediaFormat",
                                  "encoding", "audio/x-mulaw", "sampleRate", 8000, "channels", 1));
    send_json(d, m);
    driver_run(d);
    return d;
}

media_driver *acs_media_connect(const acs_media_opts *o)
{
    int rate = o->sample_rate == 24000 ? 24000 : 16000;
    media_driver *d = driver_new(K_ACS, rate);
    if (!d)
        return NULL;
    snprintf(d->participant, sizeof d->participant, "%s",
             o->participant ? o->participant : "4:+15555550100");
    d->dtmf_enabled = o->dtmf;
    char sub[40], corr[40], conn[40];
    hex_id(sub, sizeof sub, "");
    snprintf(d->id, sizeof d->id, "%.8s-%.4s-%.4s-%.4s-%.12s", sub, sub + 8, sub + 12, sub + 16,
             sub + 20);
    hex_id(corr, sizeof corr, "");
    hex_id(conn, sizeof conn, "");
    char h_auth[4096], h_corr[128], h_conn[128];
    const char *headers[4] = {NULL, NULL, NULL, NULL};
    size_t k = 0;
    if (o->authorization) {
        snprintf(h_auth, sizeof h_auth, "Authorization: %s", o->authorization);
        headers[k++] = h_auth;
    }
    snprintf(h_corr, sizeof h_corr, "x-ms-call-correlation-id: %s",
             o->correlation_id ? o->correlation_id : corr);
    snprintf(h_conn, sizeof h_conn, "x-ms-call-connection-id: %s",
             o->call_connection_id ? o->call_connection_id : conn);
    headers[k++] = h_corr;
    headers[k++] = h_conn;
    ws_connect(d, o->port, o->path ? o->path : "/", headers, o->timeout_ms);
    if (d->status != 101) {
        __atomic_store_n(&d->closed, 1, __ATOMIC_RELEASE);
        return d;
    }
    send_json(d, json_pack("{s:s,s:{s:s,s:s,s:i,s:i,s:i}}", "kind", "AudioMetadata",
                           "audioMetadata", "subscriptionId", d->id, "encoding", "PCM",
                           "sampleRate", rate, "channels", 1, "length", rate / 50 * 2));
    driver_run(d);
    return d;
}

static int uuid_bytes(const char *s, uint8_t out[16])
{
    size_t k = 0;
    for (const char *p = s; *p && k < 16; p++) {
        if (*p == '-')
            continue;
        if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]))
            return -1;
        char h[3] = {p[0], p[1], 0};
        out[k++] = (uint8_t)strtoul(h, NULL, 16);
        p++;
    }
    return k == 16 ? 0 : -1;
}

media_driver *audiosocket_connect(const audiosocket_opts *o)
{
    media_driver *d = driver_new(K_AS, 8000);
    if (!d)
        return NULL;
    if (o->uuid) {
        snprintf(d->id, sizeof d->id, "%s", o->uuid);
    } else {
        char h[40];
        hex_id(h, sizeof h, "");
        snprintf(d->id, sizeof d->id, "%.8s-%.4s-4%.3s-8%.3s-%.12s", h, h + 8, h + 13, h + 17,
                 h + 20);
    }
    uint8_t uu[16];
    if (uuid_bytes(d->id, uu)) {
        __atomic_store_n(&d->closed, 1, __ATOMIC_RELEASE);
        return d;
    }
    d->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)o->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    if (d->fd < 0 || connect(d->fd, (struct sockaddr *)&sa, sizeof sa)) {
        __atomic_store_n(&d->closed, 1, __ATOMIC_RELEASE);
        return d;
    }
    setsockopt(d->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint8_t hello[19] = {0x01, 0x00, 0x10};
    memcpy(hello + 3, uu, 16);
    if (send(d->fd, hello, sizeof hello, MSG_NOSIGNAL) != (ssize_t)sizeof hello) {
        __atomic_store_n(&d->closed, 1, __ATOMIC_RELEASE);
        return d;
    }
    int fl = fcntl(d->fd, F_GETFL);
    if (fl < 0 || fcntl(d->fd, F_SETFL, fl | O_NONBLOCK)) {
        __atomic_store_n(&d->closed, 1, __ATOMIC_RELEASE);
        return d;
    }
    d->status = 1;
    driver_run(d);
    return d;
}

/* ---- the public side ---- */

int media_driver_status(media_driver *d)
{
    return d ? d->status : -1;
}

const char *media_driver_refusal(media_driver *d)
{
    return d && d->refusal ? d->refusal : "";
}

const char *media_driver_stream_id(media_driver *d)
{
    return d ? d->id : "";
}

void media_driver_say(media_driver *d, const int16_t *pcm, size_t n)
{
    pthread_mutex_lock(&d->lock);
    if (d->nsay + n > d->saycap) {
        size_t cap = d->saycap ? d->saycap : 8000;
        while (cap < d->nsay + n)
            cap *= 2;
        int16_t *v = realloc(d->say, cap * sizeof *v);
        if (v) {
            d->say = v;
            d->saycap = cap;
        }
    }
    if (d->nsay + n <= d->saycap) {
        memcpy(d->say + d->nsay, pcm, n * sizeof *pcm);
        d->nsay += n;
    }
    pthread_mutex_unlock(&d->lock);
}

int media_driver_say_pending_ms(media_driver *d)
{
    pthread_mutex_lock(&d->lock);
    int ms = (int)((d->nsay - d->sayoff) * 1000 / (size_t)d->rate);
    pthread_mutex_unlock(&d->lock);
    return ms;
}

void media_driver_dtmf(media_driver *d, char digit)
{
    pthread_mutex_lock(&d->lock);
    if (d->ndtmf < sizeof d->dtmf)
        d->dtmf[d->ndtmf++] = digit;
    pthread_mutex_unlock(&d->lock);
}

void media_driver_send_raw(media_driver *d, int binary, const void *data, size_t len)
{
    char *copy = malloc(len ? len : 1);
    if (!copy)
        return;
    memcpy(copy, data, len);
    pthread_mutex_lock(&d->lock);
    struct rawmsg *r = realloc(d->raw, (d->nraw + 1) * sizeof *r);
    if (r) {
        d->raw = r;
        d->raw[d->nraw++] = (struct rawmsg){binary ? WS_BINARY : WS_TEXT, copy, len};
    } else {
        free(copy);
    }
    pthread_mutex_unlock(&d->lock);
}

void media_driver_hangup(media_driver *d)
{
    pthread_mutex_lock(&d->lock);
    d->hangup = 1;
    pthread_mutex_unlock(&d->lock);
}

void media_driver_cut(media_driver *d)
{
    int fd = d->kind == K_AS ? d->fd : d->ws ? ws_client_fd(d->ws) : -1;
    if (fd >= 0)
        shutdown(fd, SHUT_RDWR); /* the driver's thread sees the end */
}

int16_t *media_driver_heard(media_driver *d, size_t *n)
{
    pthread_mutex_lock(&d->lock);
    int16_t *v = malloc((d->nheard ? d->nheard : 1) * sizeof *v);
    *n = 0;
    if (v) {
        if (d->nheard)
            memcpy(v, d->heard, d->nheard * sizeof *v);
        *n = d->nheard;
    }
    pthread_mutex_unlock(&d->lock);
    return v;
}

int media_driver_queued_ms(media_driver *d)
{
    pthread_mutex_lock(&d->lock);
    size_t n = 0;
    for (size_t i = d->qhead; i < d->nq; i++)
        if (!d->q[i].mark)
            n += d->q[i].n - d->q[i].off;
    pthread_mutex_unlock(&d->lock);
    return (int)(n * 1000 / (size_t)d->rate);
}

char *media_driver_marks(media_driver *d)
{
    pthread_mutex_lock(&d->lock);
    size_t len = 1;
    for (size_t i = 0; i < d->marks.n; i++)
        len += strlen(d->marks.v[i]) + 1;
    char *out = malloc(len);
    if (out) {
        out[0] = '\0';
        for (size_t i = 0; i < d->marks.n; i++) {
            strcat(out, d->marks.v[i]);
            strcat(out, "\n");
        }
    }
    pthread_mutex_unlock(&d->lock);
    return out;
}

int media_driver_clears(media_driver *d)
{
    pthread_mutex_lock(&d->lock);
    int v = d->clears;
    pthread_mutex_unlock(&d->lock);
    return v;
}

int media_driver_warnings(media_driver *d)
{
    pthread_mutex_lock(&d->lock);
    int v = d->warnings;
    pthread_mutex_unlock(&d->lock);
    return v;
}

uint64_t media_driver_frame_time(media_driver *d, size_t k)
{
    pthread_mutex_lock(&d->lock);
    uint64_t v = k < d->nft ? d->ftimes[k] : 0;
    pthread_mutex_unlock(&d->lock);
    return v;
}

size_t media_driver_frames_received(media_driver *d)
{
    pthread_mutex_lock(&d->lock);
    size_t v = d->nft;
    pthread_mutex_unlock(&d->lock);
    return v;
}

static char *strv_get(media_driver *d, strv *s, int k)
{
    pthread_mutex_lock(&d->lock);
    char *v = k >= 0 && (size_t)k < s->n ? strdup(s->v[k]) : NULL;
    pthread_mutex_unlock(&d->lock);
    return v;
}

int media_driver_received_count(media_driver *d)
{
    pthread_mutex_lock(&d->lock);
    int v = (int)d->rcv.n;
    pthread_mutex_unlock(&d->lock);
    return v;
}

char *media_driver_received(media_driver *d, int k)
{
    return strv_get(d, &d->rcv, k);
}

int media_driver_sent_count(media_driver *d)
{
    pthread_mutex_lock(&d->lock);
    int v = (int)d->snt.n;
    pthread_mutex_unlock(&d->lock);
    return v;
}

char *media_driver_sent(media_driver *d, int k)
{
    return strv_get(d, &d->snt, k);
}

int media_driver_closed(media_driver *d)
{
    pthread_mutex_lock(&d->lock);
    int v = __atomic_load_n(&d->closed, __ATOMIC_ACQUIRE);
    pthread_mutex_unlock(&d->lock);
    return v;
}

int media_driver_wait_closed(media_driver *d, int timeout_ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&d->lock);
    while (!__atomic_load_n(&d->closed, __ATOMIC_ACQUIRE)) {
        if (pthread_cond_timedwait(&d->cond, &d->lock, &ts) == ETIMEDOUT)
            break;
    }
    int rc = __atomic_load_n(&d->closed, __ATOMIC_ACQUIRE) ? d->close_code : -1;
    pthread_mutex_unlock(&d->lock);
    return rc;
}

void media_driver_free(media_driver *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->lock);
    d->stop = 1;
    pthread_mutex_unlock(&d->lock);
    if (d->started)
        pthread_join(d->thread, NULL);
    ws_client_free(d->ws);
    if (d->fd >= 0)
        close(d->fd);
    for (size_t i = d->qhead; i < d->nq; i++) {
        free(d->q[i].pcm);
        free(d->q[i].mark);
    }
    free(d->q);
    free(d->say);
    free(d->heard);
    free(d->rx);
    free(d->ftimes);
    free(d->refusal);
    for (size_t i = 0; i < d->nraw; i++)
        free(d->raw[i].data);
    free(d->raw);
    strv_free(&d->marks);
    strv_free(&d->rcv);
    strv_free(&d->snt);
    pthread_cond_destroy(&d->cond);
    pthread_mutex_destroy(&d->lock);
    free(d);
}
