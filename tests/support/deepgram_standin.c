/* Deepgram live transcription stand-in: see deepgram_standin.h. */
#include "support/deepgram_standin.h"

#include "support/standin_audio.h"

#include <jansson.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MODEL_UUID "1dbdfb4d-85b2-4659-9be1-6fc4f2d4f5bb"
#define NET0001                                                                             \
    "Deepgram did not receive audio data or a text message within the timeout window. See " \
    "https://dpgr.am/net0001"
#define WORD_MS 400 /* speech time per revealed word (about 2.5 words/s) */

typedef struct faultq {
    deepgram_standin_fault *v;
    size_t n, cap, head;
} faultq;

struct deepgram_standin {
    svc *s;
    char *key;
    deepgram_standin_opts o;
    sa_script script;
    faultq faults;
    unsigned long seq;
};

typedef struct dgc {
    deepgram_standin *d;
    svc_conn *c;
    char request_id[40];
    /* parameters */
    sa_enc enc;
    int container; /* no encoding: a WAV header first */
    int rate, channels;
    int interim, endpointing, utt_end_ms, vad_events, punctuate;
    /* audio */
    uint8_t *pend;
    size_t npend;
    int header_done;
    sa_vad vad;
    EVP_MD_CTX *sha;
    long audio_bytes;
    /* recognition state (audio ms) */
    int in_speech, speech_run, silence_ms;
    uint64_t cursor; /* start of what is not final yet */
    uint64_t last_result;
    uint64_t now_audio;
    int utt_active;
    char **words;
    size_t nwords, revealed, finalized;
    uint64_t utt_start, speech_end;
    double last_word_end;
    int ue_pending;
    /* output */
    int nsent;
    deepgram_standin_fault fault;
    int has_fault, stalled, dead;
} dgc;

static char *dupstr(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- output ---- */

static void emit_json(dgc *g, json_t *msg)
{
    char *text = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(8));
    json_decref(msg);
    if (!text || g->dead || svc_ws_closing(g->c)) {
        free(text);
        return;
    }
    int latency = g->d->o.latency_ms;
    uint64_t at = svc_now_ms() + (uint64_t)(latency > 0 ? latency : 0);
    int k = g->nsent++;
    if (g->has_fault && k >= g->fault.after) {
        deepgram_standin_fault *f = &g->fault;
        if (f->stall_ms && !g->stalled)
            g->stalled = 1;
        if (g->stalled)
            at += (uint64_t)f->stall_ms;
        if (k == f->after) {
            if (f->drop) {
                svc_close(g->c, at);
                g->dead = 1;
            } else if (f->garbage) {
                static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x13, 0x37, 0x00, 0x42};
                svc_write_raw(g->c, at, junk, sizeof junk);
                svc_close(g->c, at + 50);
                g->dead = 1;
            } else if (f->close_code) {
                svc_ws_close(g->c, at, f->close_code,
                             f->close_reason ? f->close_reason : "NET-0000");
                g->dead = 1;
            } else if (f->malformed_json) {
                size_t half = strlen(text) / 2;
                svc_ws_send(g->c, at, WS_TEXT, text, half);
                svc_note_sent(g->c, text, half);
                free(text);
                return;
            } else if (f->rsv1) {
                svc_ws_send_rsv1(g->c, at, WS_TEXT, text, strlen(text));
                svc_note_sent(g->c, text, strlen(text));
                free(text);
                return;
            }
            if (g->dead) {
                free(text);
                return;
            }
        }
    }
    svc_ws_send(g->c, at, WS_TEXT, text, strlen(text));
    svc_note_sent(g->c, text, strlen(text));
    free(text);
}

static double secs(uint64_t ms)
{
    return (double)ms / 1000.0;
}

static json_t *channel_pair(int a, int b)
{
    return json_pack("[i,i]", a, b);
}

/* Times of word k of the current utterance. final_all: spread over the
 * whole speech; else the provisional 400 ms slots. */
static void word_time(dgc *g, size_t k, int final_all, double *start, double *end)
{
    if (final_all && g->nwords) {
        uint64_t span = g->speech_end > g->utt_start ? g->speech_end - g->utt_start : 20;
        double slot = (double)span / (double)g->nwords;
        *start = secs(g->utt_start) + k * slot / 1000.0;
        *end = *start + slot * 0.85 / 1000.0;
    } else {
        *start = secs(g->utt_start + k * WORD_MS);
        *end = *start + (WORD_MS - 50) / 1000.0;
        double limit = secs(g->now_audio);
        if (*end > limit)
            *end = limit;
        if (*start > *end)
            *start = *end;
    }
}

static void results(dgc *g, uint64_t from, uint64_t to, size_t w0, size_t w1, int is_final,
                    int speech_final, int from_finalize, int final_all)
{
    json_t *words = json_array();
    char transcript[4096] = "";
    size_t tl = 0;
    double conf_sum = 0;
    for (size_t k = w0; k < w1 && k < g->nwords; k++) {
        char plain[256];
        sa_plain_word(g->words[k], plain, sizeof plain);
        double st, en;
        word_time(g, k, final_all, &st, &en);
        double conf = 0.9 + 0.01 * (double)(strlen(plain) % 9);
        conf_sum += conf;
        json_t *w = json_pack("{s:s,s:f,s:f,s:f}", "word", plain, "start", st, "end", en,
                              "confidence", conf);
        if (g->punctuate)
            json_object_set_new(w, "punctuated_word", json_string(g->words[k]));
        json_array_append_new(words, w);
        const char *shown = g->punctuate ? g->words[k] : plain;
        int n = snprintf(transcript + tl, sizeof transcript - tl, "%s%s", tl ? " " : "", shown);
        if (n > 0 && (size_t)n < sizeof transcript - tl)
            tl += (size_t)n;
        if (en > g->last_word_end) {
            g->last_word_end = en;
            g->ue_pending = 1;
        }
    }
    size_t nw = json_array_size(words);
    double conf = nw ? conf_sum / (double)nw : 0.0;
    json_t *alt =
        json_pack("{s:s,s:f,s:o}", "transcript", transcript, "confidence", conf, "words", words);
    json_t *m = json_object();
    json_object_set_new(m, "type", json_string("Results"));
    json_object_set_new(m, "channel_index", channel_pair(0, 1));
    json_object_set_new(m, "duration", json_real(secs(to - from)));
    json_object_set_new(m, "start", json_real(secs(from)));
    json_object_set_new(m, "is_final", json_boolean(is_final));
    json_object_set_new(m, "speech_final", json_boolean(speech_final));
    json_object_set_new(m, "channel", json_pack("{s:[o]}", "alternatives", alt));
    json_object_set_new(m, "metadata",
                        json_pack("{s:s,s:{s:s,s:s,s:s},s:s}", "request_id", g->request_id,
                                  "model_info", "name", "general-nova-3", "version", "2025-01-01.0",
                                  "arch", "nova-3", "model_uuid", MODEL_UUID));
    json_object_set_new(m, "from_finalize", json_boolean(from_finalize));
    emit_json(g, m);
    g->last_result = to;
}

static void utt_clear(dgc *g)
{
    sa_words_free(g->words, g->nwords);
    g->words = NULL;
    g->nwords = g->revealed = g->finalized = 0;
    g->utt_active = 0;
}

static void reveal(dgc *g)
{
    if (!g->utt_active)
        return;
    uint64_t spoken = g->now_audio > g->utt_start ? g->now_audio - g->utt_start : 0;
    size_t k = (size_t)(spoken / WORD_MS) + 1;
    if (k > g->nwords)
        k = g->nwords;
    if (k > g->revealed)
        g->revealed = k;
}

/* Final result for [cursor, to). all_words: the utterance is over. */
static void finalize(dgc *g, uint64_t to, int speech_final, int from_finalize, int all_words)
{
    if (all_words)
        g->revealed = g->nwords;
    size_t w0 = g->finalized, w1 = g->revealed;
    if (to < g->cursor)
        to = g->cursor;
    /* The endpoint ends an utterance that had words, even when an earlier
     * segment already made them all final. */
    results(g, g->cursor, to, w0, w1, 1, speech_final && g->nwords > 0, from_finalize, all_words);
    g->finalized = w1;
    g->cursor = to;
    if (all_words)
        utt_clear(g);
}

static void speech_started(dgc *g, uint64_t onset)
{
    if (g->vad_events) {
        json_t *m = json_pack("{s:s,s:[i],s:f}", "type", "SpeechStarted", "channel", 0, "timestamp",
                              secs(onset));
        emit_json(g, m);
    }
    if (!g->utt_active) {
        char *text = sa_script_pop(&g->d->script);
        g->words = sa_words(text ? text : "", &g->nwords);
        free(text);
        g->revealed = g->finalized = 0;
        g->utt_active = 1;
        g->utt_start = onset;
    }
}

static void on_frame(void *ud, uint64_t start, int speech)
{
    dgc *g = ud;
    uint64_t end = start + 20;
    g->now_audio = end;
    int endpoint_ms = g->endpointing >= 0 ? (g->endpointing < 20 ? 20 : g->endpointing) : -1;
    if (speech) {
        g->speech_run += 20;
        g->silence_ms = 0;
        if (!g->in_speech && g->speech_run >= 40) {
            g->in_speech = 1;
            speech_started(g, end - (uint64_t)g->speech_run);
        }
        if (g->in_speech)
            g->speech_end = end;
    } else {
        g->speech_run = 0;
        if (g->in_speech) {
            g->silence_ms += 20;
            int limit = endpoint_ms >= 0 ? endpoint_ms : 300;
            if (g->silence_ms >= limit) {
                g->in_speech = 0;
                if (endpoint_ms >= 0 && g->utt_active)
                    finalize(g, end, 1, 0, 1);
            }
        }
    }
    reveal(g);
    const deepgram_standin_opts *o = &g->d->o;
    if (g->interim && g->utt_active && g->revealed > g->finalized &&
        end - g->last_result >= (uint64_t)o->interim_ms && end > g->cursor)
        results(g, g->cursor, end, g->finalized, g->revealed, 0, 0, 0, 0);
    if (end - g->cursor >= (uint64_t)o->segment_ms) {
        /* No endpoint for a while: what is heard so far becomes final. */
        int over = g->utt_active && !g->in_speech;
        finalize(g, end, 0, 0, over);
    }
    if (g->utt_end_ms > 0 && g->interim && g->ue_pending && !g->in_speech &&
        (double)end / 1000.0 - g->last_word_end >= g->utt_end_ms / 1000.0) {
        g->ue_pending = 0;
        json_t *m = json_pack("{s:s,s:o,s:f}", "type", "UtteranceEnd", "channel",
                              channel_pair(0, 1), "last_word_end", g->last_word_end);
        emit_json(g, m);
    }
}

static void flush_and_close(dgc *g)
{
    if (g->dead || svc_ws_closing(g->c))
        return;
    if (g->now_audio > g->cursor || g->revealed > g->finalized)
        finalize(g, g->now_audio, 0, 0, g->utt_active);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1] = "";
    if (EVP_DigestFinal_ex(g->sha, md, &mdlen) == 1) {
        for (unsigned int i = 0; i < mdlen; i++)
            snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    char created[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
    json_t *m = json_pack("{s:s,s:s,s:s,s:s,s:s,s:f,s:i,s:[s],s:{s:{s:s,s:s,s:s}}}", "type",
                          "Metadata", "transaction_key", "deprecated", "request_id", g->request_id,
                          "sha256", hex, "created", created, "duration", secs(g->now_audio),
                          "channels", g->channels, "models", MODEL_UUID, "model_info", MODEL_UUID,
                          "name", "general-nova-3", "version", "2025-01-01.0", "arch", "nova-3");
    emit_json(g, m);
    if (!g->dead) {
        svc_ws_close(g->c, svc_last_due(g->c), 1000, "");
    }
}

static void audio_in(dgc *g, const uint8_t *data, size_t len)
{
    EVP_DigestUpdate(g->sha, data, len);
    g->audio_bytes += (long)len;
    svc_note_bytes(g->c, (long)len);
    uint8_t *p = realloc(g->pend, g->npend + len + 1);
    if (!p)
        return;
    g->pend = p;
    memcpy(g->pend + g->npend, data, len);
    g->npend += len;
    if (g->container && !g->header_done) {
        sa_wav w;
        if (g->npend < 12)
            return;
        if (memcmp(g->pend, "RIFF", 4) || sa_wav_parse(g->pend, g->npend, &w)) {
            if (memcmp(g->pend, "RIFF", 4) || g->npend > 4096) {
                svc_ws_close(g->c, svc_last_due(g->c), 1002, "DATA-0000");
                g->dead = 1;
            }
            return; /* a WAV header still arriving */
        }
        if ((w.format != 1 || w.bits != 16) && w.format != 6 && w.format != 7) {
            svc_ws_close(g->c, svc_last_due(g->c), 1002, "DATA-0000");
            g->dead = 1;
            return;
        }
        g->enc = w.format == 7 ? SA_ULAW : w.format == 6 ? SA_ALAW : SA_PCM16;
        g->rate = w.rate;
        g->channels = w.channels;
        sa_vad_free(&g->vad);
        sa_vad_init(&g->vad, g->rate, g->d->o.threshold_db);
        size_t skip = (size_t)(w.data - g->pend);
        memmove(g->pend, g->pend + skip, g->npend - skip);
        g->npend -= skip;
        g->header_done = 1;
    }
    size_t n = 0, used = 0;
    int16_t *pcm = sa_decode(g->enc, g->channels, g->pend, g->npend, &n, &used);
    if (!pcm)
        return;
    memmove(g->pend, g->pend + used, g->npend - used);
    g->npend -= used;
    sa_vad_feed(&g->vad, pcm, n, on_frame, g);
    free(pcm);
}

/* ---- the connection ---- */

static void refuse(svc_conn *c, uint64_t at, int status, const char *code, const char *msg,
                   const char *rid, int retry_after)
{
    json_t *b = json_pack("{s:s,s:s,s:s}", "err_code", code, "err_msg", msg, "request_id", rid);
    char *body = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(b);
    char extra[512];
    int n = snprintf(extra, sizeof extra, "dg-request-id: %s\r\ndg-error: %s\r\n", rid, msg);
    if (retry_after > 0 && n > 0 && (size_t)n < sizeof extra)
        snprintf(extra + n, sizeof extra - (size_t)n, "Retry-After: %d\r\n", retry_after);
    svc_respond(c, at, status, extra, "application/json", body ? body : "{}",
                body ? strlen(body) : 2);
    free(body);
}

static int parse_bool(const char *v, int *out)
{
    if (!strcasecmp(v, "true")) {
        *out = 1;
        return 0;
    }
    if (!strcasecmp(v, "false")) {
        *out = 0;
        return 0;
    }
    return -1;
}

static int parse_int(const char *v, int *out)
{
    char *e;
    long x = strtol(v, &e, 10);
    if (!*v || *e || x < 0 || x > 600000)
        return -1;
    *out = (int)x;
    return 0;
}

static const char *auth_ok(deepgram_standin *d, const svc_req *r, int *subprotocol)
{
    const char *auth = svc_req_header(r, "Authorization");
    *subprotocol = 0;
    if (auth) {
        if (!strncasecmp(auth, "Token ", 6) && !strcmp(auth + 6, d->key))
            return "ok";
        return NULL;
    }
    const char *proto = svc_req_header(r, "Sec-WebSocket-Protocol");
    if (proto) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", proto);
        char *save = NULL, *first = strtok_r(buf, ", ", &save);
        char *second = first ? strtok_r(NULL, ", ", &save) : NULL;
        if (first && second && !strcasecmp(first, "token") && !strcmp(second, d->key)) {
            *subprotocol = 1;
            return "ok";
        }
    }
    return NULL;
}

static void on_request(svc_conn *c, const svc_req *r, void *ud)
{
    deepgram_standin *d = ud;
    char rid[40];
    unsigned long seq = ++d->seq;
    snprintf(rid, sizeof rid, "9c0d2f1e-5b7a-4c3e-8f60-%012lx", seq);
    if (strcmp(r->path, "/v1/listen")) {
        refuse(c, 0, 404, "Not Found", "Not Found", rid, 0);
        return;
    }
    int sub = 0;
    if (!auth_ok(d, r, &sub)) {
        refuse(c, 0, 401, "INVALID_AUTH", "Invalid credentials.", rid, 0);
        return;
    }
    dgc *g = calloc(1, sizeof *g);
    if (!g) {
        refuse(c, 0, 500, "INTERNAL_SERVER_ERROR", "Internal server error", rid, 0);
        return;
    }
    g->d = d;
    g->c = c;
    snprintf(g->request_id, sizeof g->request_id, "%s", rid);
    g->endpointing = 10;
    g->channels = 1;
    char v[128], err[256] = "";
    if (svc_query(r->query, "encoding", v, sizeof v)) {
        if (!strcmp(v, "linear16"))
            g->enc = SA_PCM16;
        else if (!strcmp(v, "mulaw"))
            g->enc = SA_ULAW;
        else if (!strcmp(v, "alaw"))
            g->enc = SA_ALAW;
        else if (!strcmp(v, "linear32") || !strcmp(v, "flac") || !strcmp(v, "amr-nb") ||
                 !strcmp(v, "amr-wb") || !strcmp(v, "opus") || !strcmp(v, "ogg-opus") ||
                 !strcmp(v, "speex") || !strcmp(v, "g729"))
            snprintf(err, sizeof err, "standin: encoding %s is not simulated", v);
        else
            snprintf(err, sizeof err, "Invalid query string. Unknown encoding: %s", v);
        if (!err[0]) {
            if (!svc_query(r->query, "sample_rate", v, sizeof v) || parse_int(v, &g->rate) ||
                g->rate < 8000 || g->rate > 192000)
                snprintf(err, sizeof err,
                         "Invalid query string. sample_rate is required with encoding");
        }
    } else {
        g->container = 1;
    }
    if (!err[0] && svc_query(r->query, "channels", v, sizeof v) &&
        (parse_int(v, &g->channels) || g->channels < 1 || g->channels > 16))
        snprintf(err, sizeof err, "Invalid query string. channels: %s", v);
    if (!err[0] && svc_query(r->query, "interim_results", v, sizeof v) &&
        parse_bool(v, &g->interim))
        snprintf(err, sizeof err, "Invalid query string. interim_results: %s", v);
    if (!err[0] && svc_query(r->query, "vad_events", v, sizeof v) && parse_bool(v, &g->vad_events))
        snprintf(err, sizeof err, "Invalid query string. vad_events: %s", v);
    if (!err[0] && svc_query(r->query, "endpointing", v, sizeof v)) {
        int off = 0;
        if (!parse_bool(v, &off))
            g->endpointing = off ? 10 : -1;
        else if (parse_int(v, &g->endpointing))
            snprintf(err, sizeof err, "Invalid query string. endpointing: %s", v);
    }
    if (!err[0] && svc_query(r->query, "utterance_end_ms", v, sizeof v) &&
        parse_int(v, &g->utt_end_ms))
        snprintf(err, sizeof err, "Invalid query string. utterance_end_ms: %s", v);
    int smart = 0;
    if (!err[0] && svc_query(r->query, "punctuate", v, sizeof v) && parse_bool(v, &g->punctuate))
        snprintf(err, sizeof err, "Invalid query string. punctuate: %s", v);
    if (!err[0] && svc_query(r->query, "smart_format", v, sizeof v) && parse_bool(v, &smart))
        snprintf(err, sizeof err, "Invalid query string. smart_format: %s", v);
    g->punctuate |= smart;
    if (err[0]) {
        free(g);
        refuse(c, 0, 400, "Bad Request", err, rid, 0);
        return;
    }
    /* Faults: the next one, after authentication. */
    faultq *q = &d->faults;
    uint64_t at = 0;
    if (q->head < q->n) {
        g->fault = q->v[q->head++];
        g->has_fault = 1;
        if (g->fault.handshake_delay_ms > 0)
            at = svc_now_ms() + (uint64_t)g->fault.handshake_delay_ms;
        if (g->fault.status) {
            const char *code = g->fault.status == 429   ? "TOO_MANY_REQUESTS"
                               : g->fault.status == 402 ? "ASR_PAYMENT_REQUIRED"
                               : g->fault.status == 401 ? "INVALID_AUTH"
                                                        : "INTERNAL_SERVER_ERROR";
            const char *msg = g->fault.status == 429 ? "Too many requests. Please try again later."
                              : g->fault.status == 402
                                  ? "Project does not have enough credits for an ASR request."
                              : g->fault.status == 401 ? "Invalid credentials."
                                                       : "Internal server error.";
            free((char *)g->fault.close_reason);
            free(g);
            refuse(c, at, q->v[q->head - 1].status, code, msg, rid, q->v[q->head - 1].retry_after);
            return;
        }
    }
    g->sha = EVP_MD_CTX_new();
    if (!g->sha || EVP_DigestInit_ex(g->sha, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(g->sha);
        free((char *)g->fault.close_reason);
        free(g);
        refuse(c, 0, 500, "INTERNAL_SERVER_ERROR", "Internal server error.", rid, 0);
        return;
    }
    if (!g->container)
        sa_vad_init(&g->vad, g->rate, d->o.threshold_db);
    char extra[128];
    snprintf(extra, sizeof extra, "dg-request-id: %s\r\n", rid);
    if (svc_ws_accept(c, r, at, sub ? "token" : NULL, extra)) {
        EVP_MD_CTX_free(g->sha);
        free((char *)g->fault.close_reason);
        free(g);
        return;
    }
    svc_conn_set_data(c, g);
    svc_timer_at(c, svc_now_ms() + (uint64_t)d->o.idle_timeout_ms);
}

static void on_message(svc_conn *c, const ws_msg *m, void *ud)
{
    deepgram_standin *d = ud;
    dgc *g = svc_conn_data(c);
    if (!g || g->dead)
        return;
    if (m->opcode == WS_BINARY || m->opcode == WS_TEXT)
        svc_timer_at(c, svc_now_ms() + (uint64_t)d->o.idle_timeout_ms);
    if (m->opcode == WS_BINARY) {
        if (m->len == 0) /* the legacy way to close the stream */
            flush_and_close(g);
        else
            audio_in(g, m->data, m->len);
        return;
    }
    if (m->opcode != WS_TEXT)
        return;
    json_t *j = json_loadb((const char *)m->data, m->len, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    if (type && !strcmp(type, "Finalize")) {
        if (g->now_audio > g->cursor || g->revealed > g->finalized)
            finalize(g, g->now_audio, 0, 1, g->utt_active && !g->in_speech);
    } else if (type && !strcmp(type, "CloseStream")) {
        flush_and_close(g);
    }
    /* KeepAlive only resets the idle timer; anything else is ignored. */
    json_decref(j);
}

static void on_timer(svc_conn *c, void *ud)
{
    (void)ud;
    dgc *g = svc_conn_data(c);
    if (!g || g->dead || svc_ws_closing(c))
        return;
    svc_ws_close(c, 0, 1011, NET0001);
    g->dead = 1;
}

static void on_closed(svc_conn *c, void *ud)
{
    (void)ud;
    dgc *g = svc_conn_data(c);
    if (!g)
        return;
    utt_clear(g);
    sa_vad_free(&g->vad);
    EVP_MD_CTX_free(g->sha);
    free(g->pend);
    free((char *)g->fault.close_reason);
    free(g);
}

deepgram_standin *deepgram_standin_start(const deepgram_standin_opts *o)
{
    deepgram_standin *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    if (o)
        d->o = *o;
    d->key = strdup(d->o.key ? d->o.key : DEEPGRAM_STANDIN_KEY);
    d->o.key = d->key;
    if (d->o.latency_ms == 0)
        d->o.latency_ms = 150;
    if (d->o.idle_timeout_ms <= 0)
        d->o.idle_timeout_ms = 10000;
    if (d->o.interim_ms <= 0)
        d->o.interim_ms = 1000;
    if (d->o.segment_ms <= 0)
        d->o.segment_ms = 5000;
    if (d->o.threshold_db >= 0)
        d->o.threshold_db = -40.0;
    svc_ops ops = {on_request, on_message, on_timer, on_closed};
    d->s = d->key ? svc_start(&ops, d) : NULL;
    if (!d->s) {
        free(d->key);
        free(d);
        return NULL;
    }
    return d;
}

int deepgram_standin_port(deepgram_standin *d)
{
    return d ? svc_port(d->s) : -1;
}

svc *deepgram_standin_svc(deepgram_standin *d)
{
    return d ? d->s : NULL;
}

void deepgram_standin_say(deepgram_standin *d, const char *text)
{
    svc_lock(d->s);
    sa_script_push(&d->script, text);
    svc_unlock(d->s);
}

int deepgram_standin_pending(deepgram_standin *d)
{
    svc_lock(d->s);
    int n = (int)sa_script_pending(&d->script);
    svc_unlock(d->s);
    return n;
}

void deepgram_standin_push_fault(deepgram_standin *d, const deepgram_standin_fault *f)
{
    svc_lock(d->s);
    faultq *q = &d->faults;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        deepgram_standin_fault *v = realloc(q->v, cap * sizeof *v);
        if (v) {
            q->v = v;
            q->cap = cap;
        }
    }
    if (q->n < q->cap) {
        q->v[q->n] = *f;
        q->v[q->n].close_reason = dupstr(f->close_reason);
        q->n++;
    }
    svc_unlock(d->s);
}

int deepgram_standin_sent_count(deepgram_standin *d, int i)
{
    return svc_sent_count(d->s, i);
}

char *deepgram_standin_sent(deepgram_standin *d, int i, int k)
{
    return svc_sent(d->s, i, k);
}

long deepgram_standin_audio_bytes(deepgram_standin *d, int i)
{
    return svc_bytes(d->s, i);
}

void deepgram_standin_stop(deepgram_standin *d)
{
    if (!d)
        return;
    svc_stop(d->s);
    for (size_t i = d->faults.head; i < d->faults.n; i++)
        free((char *)d->faults.v[i].close_reason);
    free(d->faults.v);
    sa_script_free(&d->script);
    free(d->key);
    free(d);
}
