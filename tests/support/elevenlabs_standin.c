/* ElevenLabs text-to-speech stand-in: see elevenlabs_standin.h. */
#include "support/elevenlabs_standin.h"

#include "support/standin_audio.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JFLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

struct elevenlabs_standin {
    svc *s;
    char *key;
    char **voices;
    size_t nvoices;
    elevenlabs_standin_opts o;
    speech_faults faults;
    unsigned long seq;
};

typedef struct fmt {
    sa_enc enc;
    int rate;
} fmt;

static void reply_json(svc_conn *c, uint64_t at, int status, const char *extra, json_t *j)
{
    char *body = json_dumps(j, JFLAGS);
    json_decref(j);
    svc_respond(c, at, status, extra, "application/json", body ? body : "{}",
                body ? strlen(body) : 2);
    free(body);
}

static void detail(svc_conn *c, int status, const char *st, const char *msg)
{
    reply_json(c, 0, status, NULL,
               json_pack("{s:{s:s,s:s}}", "detail", "status", st, "message", msg));
}

/* 1 = a format the stand-in synthesises, 0 = a valid one it does not, -1 = invalid. */
static int parse_format(const char *v, fmt *f)
{
    static const int pcm_rates[] = {8000, 16000, 22050, 24000, 44100, 48000};
    if (!strcmp(v, "ulaw_8000") || !strcmp(v, "alaw_8000")) {
        f->enc = v[0] == 'u' ? SA_ULAW : SA_ALAW;
        f->rate = 8000;
        return 1;
    }
    if (!strncmp(v, "pcm_", 4)) {
        int r = atoi(v + 4);
        for (size_t i = 0; i < sizeof pcm_rates / sizeof pcm_rates[0]; i++)
            if (r == pcm_rates[i]) {
                f->enc = SA_PCM16;
                f->rate = r;
                return 1;
            }
        return -1;
    }
    if (!strncmp(v, "mp3_", 4) || !strncmp(v, "opus_", 5))
        return 0;
    return -1;
}

static int voice_known(elevenlabs_standin *e, const char *id, size_t n)
{
    for (size_t i = 0; i < e->nvoices; i++)
        if (strlen(e->voices[i]) == n && !strncmp(e->voices[i], id, n))
            return 1;
    return 0;
}

static uint8_t *render(const char *text, const fmt *f, size_t *len, int **cs, int **cd)
{
    size_t n = 0;
    int16_t *pcm = sa_synth(text, f->rate, 1.0, &n, cs, cd);
    if (!pcm)
        return NULL;
    uint8_t *b = sa_encode(f->enc, pcm, n, len);
    free(pcm);
    return b;
}

/* Format from the query (default mp3_44100_128); 0 when a reply was queued. */
static int get_format(svc_conn *c, const svc_req *r, fmt *f)
{
    char v[64];
    if (!svc_query(r->query, "output_format", v, sizeof v))
        snprintf(v, sizeof v, "mp3_44100_128");
    int k = parse_format(v, f);
    if (k == 1)
        return 1;
    if (k == 0) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "standin: output_format %s is not encoded by the stand-in (use ulaw_8000, "
                 "alaw_8000 or pcm_*)",
                 v);
        detail(c, 400, "invalid_output_format", msg);
    } else {
        reply_json(c, 0, 422, NULL,
                   json_pack("{s:[{s:s,s:[s,s],s:s,s:s}]}", "detail", "type", "enum", "loc",
                             "query", "output_format", "msg",
                             "Input should be a valid output format", "input", v));
    }
    return 0;
}

static void http_tts(elevenlabs_standin *e, svc_conn *c, const svc_req *r, int stream,
                     const speech_fault *f)
{
    fmt fm;
    if (!get_format(c, r, &fm))
        return;
    json_t *j = json_loadb(r->body, r->body_len, 0, NULL);
    const char *text = json_string_value(json_object_get(j, "text"));
    if (!json_is_object(j) || !text) {
        json_t *d = json_pack("{s:[{s:s,s:[s,s],s:s}]}", "detail", "type",
                              json_is_object(j) ? "missing" : "json_invalid", "loc", "body", "text",
                              "msg", json_is_object(j) ? "Field required" : "JSON decode error");
        reply_json(c, 0, 422, NULL, d);
        json_decref(j);
        return;
    }
    size_t len = 0;
    uint8_t *audio = render(text, &fm, &len, NULL, NULL);
    char extra[256];
    unsigned long id = ++e->seq;
    snprintf(extra, sizeof extra,
             "request-id: %016lx\r\nhistory-item-id: standin%010lu\r\nx-character-count: %zu\r\n",
             id, id, strlen(text));
    const char *ctype = fm.enc == SA_PCM16 ? "audio/pcm" : "audio/basic";
    int ttfb = e->o.ttfb_ms > 0 ? e->o.ttfb_ms : 0;
    uint64_t t0 = sf_start(f, ttfb);
    size_t bps = (size_t)fm.rate * (fm.enc == SA_PCM16 ? 2 : 1);
    if (stream) {
        svc_respond_chunked(c, t0, 200, extra, ctype);
        sf_stream_chunks(c, f, t0, audio, len, bps / 10, e->o.chunk_ms);
    } else if (f && f->cut) {
        svc_close(c, t0);
    } else {
        /* The whole file when it is synthesised. */
        uint64_t at = t0 + (uint64_t)e->o.chunk_ms * (len / (bps / 10) + 1);
        svc_respond(c, at, 200, extra, ctype, audio ? audio : (const uint8_t *)"", audio ? len : 0);
    }
    free(audio);
    json_decref(j);
}

/* ---- WebSocket stream-input ---- */

typedef struct elc {
    elevenlabs_standin *e;
    svc_conn *c;
    speech_fault fault;
    int has_fault, stalled, nsent;
    fmt fm;
    int started, ended, header_auth;
    int schedule[8];
    size_t nsched, sched_i;
    char *buf;
    size_t blen;
    int timeout_s;
    uint64_t audio_t; /* when the previous piece's audio ends being sent */
} elc;

static int el_send(elc *l, uint64_t at, json_t *m)
{
    char *text = json_dumps(m, JFLAGS);
    json_decref(m);
    if (!text)
        return -1;
    int rc = sf_ws_text(l->c, l->has_fault ? &l->fault : NULL, l->nsent++, at, text, &l->stalled);
    free(text);
    return rc;
}

static json_t *alignment(const char *text, const int *cs, const int *cd)
{
    json_t *chars = json_array(), *st = json_array(), *du = json_array();
    for (size_t i = 0; text[i]; i++) {
        char ch[2] = {text[i], 0};
        json_array_append_new(chars, json_string(ch));
        json_array_append_new(st, json_integer(cs[i]));
        json_array_append_new(du, json_integer(cd[i]));
    }
    return json_pack("{s:o,s:o,s:o}", "chars", chars, "charStartTimesMs", st, "charDurationsMs",
                     du);
}

/* Speaks the buffered text (all of it). */
static void generate(elc *l)
{
    if (!l->blen)
        return;
    char *text = l->buf;
    l->buf = NULL;
    l->blen = 0;
    int *cs = NULL, *cd = NULL;
    size_t len = 0;
    uint8_t *audio = render(text, &l->fm, &len, &cs, &cd);
    int ttfb = l->e->o.ttfb_ms > 0 ? l->e->o.ttfb_ms : 0;
    uint64_t at = svc_now_ms() + (uint64_t)ttfb;
    if (at < l->audio_t)
        at = l->audio_t;
    if (audio) {
        char *b64 = sa_b64(audio, len);
        json_t *al = alignment(text, cs, cd);
        json_t *m = json_pack("{s:s,s:n,s:o,s:o}", "audio", b64 ? b64 : "", "isFinal",
                              "normalizedAlignment", json_deep_copy(al), "alignment", al);
        free(b64);
        el_send(l, at, m);
        size_t bps = (size_t)l->fm.rate * (l->fm.enc == SA_PCM16 ? 2 : 1);
        l->audio_t = at + (uint64_t)l->e->o.chunk_ms * (len / (bps / 10) + 1);
    }
    free(audio);
    free(cs);
    free(cd);
    free(text);
    if (l->sched_i + 1 < l->nsched)
        l->sched_i++;
}

static void el_message(elc *l, const ws_msg *m)
{
    if (l->ended || svc_ws_closing(l->c))
        return;
    svc_timer_at(l->c, svc_now_ms() + (uint64_t)l->timeout_s * 1000);
    json_t *j = m->opcode == WS_TEXT ? json_loadb((const char *)m->data, m->len, 0, NULL) : NULL;
    json_t *tv = json_object_get(j, "text");
    if (!json_is_object(j) || !json_is_string(tv)) {
        svc_ws_close(l->c, 0, 1008, "Invalid message: expected a JSON object with \"text\".");
        json_decref(j);
        return;
    }
    const char *text = json_string_value(tv);
    if (!l->started) {
        const char *k = json_string_value(json_object_get(j, "xi_api_key"));
        if (strcmp(text, " ")) {
            svc_ws_close(l->c, 0, 1008,
                         "The first message must contain a single space as its text.");
        } else if (!l->header_auth && (!k || strcmp(k, l->e->key))) {
            svc_ws_close(l->c, 0, 1008, "Invalid API key");
        } else {
            l->started = 1;
            json_t *sched =
                json_object_get(json_object_get(j, "generation_config"), "chunk_length_schedule");
            if (json_is_array(sched) && json_array_size(sched)) {
                l->nsched = 0;
                for (size_t i = 0; i < json_array_size(sched) && i < 8; i++) {
                    json_int_t v = json_integer_value(json_array_get(sched, i));
                    if (v < 50 || v > 500) {
                        svc_ws_close(l->c, 0, 1008,
                                     "chunk_length_schedule values must be between 50 and 500.");
                        json_decref(j);
                        return;
                    }
                    l->schedule[l->nsched++] = (int)v;
                }
            }
        }
        json_decref(j);
        return;
    }
    if (!*text) { /* end of input */
        generate(l);
        l->ended = 1;
        uint64_t at = l->audio_t > svc_now_ms() ? l->audio_t : svc_now_ms();
        if (!el_send(l, at, json_pack("{s:b}", "isFinal", 1)))
            svc_ws_close(l->c, at, 1000, "");
        json_decref(j);
        return;
    }
    size_t tl = strlen(text);
    char *nb = realloc(l->buf, l->blen + tl + 1);
    if (nb) {
        memcpy(nb + l->blen, text, tl + 1);
        l->buf = nb;
        l->blen += tl;
    }
    if (json_is_true(json_object_get(j, "flush")) ||
        json_is_true(json_object_get(j, "try_trigger_generation")) ||
        l->blen >= (size_t)l->schedule[l->sched_i])
        generate(l);
    json_decref(j);
}

/* ---- routing ---- */

static void on_request(svc_conn *c, const svc_req *r, void *ud)
{
    elevenlabs_standin *e = ud;
    static const char pfx[] = "/v1/text-to-speech/";
    if (strncmp(r->path, pfx, sizeof pfx - 1)) {
        reply_json(c, 0, 404, NULL, json_pack("{s:s}", "detail", "Not Found"));
        return;
    }
    const char *vid = r->path + sizeof pfx - 1;
    const char *slash = strchr(vid, '/');
    size_t vlen = slash ? (size_t)(slash - vid) : strlen(vid);
    const char *rest = slash ? slash : "";
    int is_ws = !strcmp(rest, "/stream-input");
    int is_stream = !strcmp(rest, "/stream");
    if (!vlen || (!is_ws && !is_stream && *rest)) {
        reply_json(c, 0, 404, NULL, json_pack("{s:s}", "detail", "Not Found"));
        return;
    }
    if (strcmp(r->method, is_ws ? "GET" : "POST")) {
        reply_json(c, 0, 405, NULL, json_pack("{s:s}", "detail", "Method Not Allowed"));
        return;
    }
    const char *k = svc_req_header(r, "xi-api-key");
    int header_auth = k && !strcmp(k, e->key);
    if (!header_auth && !(is_ws && !k)) {
        detail(c, 401, "invalid_api_key", "Invalid API key");
        return;
    }
    if (!voice_known(e, vid, vlen)) {
        char msg[200];
        snprintf(msg, sizeof msg, "A voice with the voice_id %.*s was not found.",
                 (int)(vlen > 64 ? 64 : vlen), vid);
        detail(c, 404, "voice_not_found", msg);
        return;
    }
    speech_fault f;
    int has = sf_pop(&e->faults, &f);
    if (has && f.drop) {
        svc_close(c, sf_start(&f, 0));
        sf_clear(&f);
        return;
    }
    if (has && f.status) {
        char extra[64] = "";
        if (f.retry_after > 0)
            snprintf(extra, sizeof extra, "Retry-After: %d\r\n", f.retry_after);
        const char *st = f.status == 429 ? "too_many_concurrent_requests" : "internal_error";
        const char *msg = f.status == 429 ? "This request exceeds your plan's concurrency limit."
                                          : "An internal error occurred.";
        reply_json(c, sf_start(&f, 0), f.status, extra,
                   json_pack("{s:{s:s,s:s}}", "detail", "status", st, "message", msg));
        sf_clear(&f);
        return;
    }
    if (!is_ws) {
        http_tts(e, c, r, is_stream, has ? &f : NULL);
        sf_clear(&f);
        return;
    }
    elc *l = calloc(1, sizeof *l);
    if (!l) {
        sf_clear(&f);
        svc_close(c, 0);
        return;
    }
    l->e = e;
    l->c = c;
    l->fault = f;
    l->has_fault = has;
    l->header_auth = header_auth;
    static const int def[] = {120, 160, 250, 290};
    memcpy(l->schedule, def, sizeof def);
    l->nsched = 4;
    char v[32];
    l->timeout_s = svc_query(r->query, "inactivity_timeout", v, sizeof v) ? atoi(v) : 20;
    if (l->timeout_s <= 0 || l->timeout_s > 180)
        l->timeout_s = 20;
    if (!get_format(c, r, &l->fm)) {
        sf_clear(&l->fault);
        free(l);
        return;
    }
    if (svc_ws_accept(c, r, has ? sf_start(&f, 0) : 0, NULL, NULL)) {
        sf_clear(&l->fault);
        free(l);
        return;
    }
    svc_conn_set_data(c, l);
    svc_timer_at(c, svc_now_ms() + (uint64_t)l->timeout_s * 1000);
}

static void on_message(svc_conn *c, const ws_msg *m, void *ud)
{
    (void)ud;
    elc *l = svc_conn_data(c);
    if (l && (m->opcode == WS_TEXT || m->opcode == WS_BINARY))
        el_message(l, m);
}

static void on_timer(svc_conn *c, void *ud)
{
    (void)ud;
    elc *l = svc_conn_data(c);
    if (!l || l->ended || svc_ws_closing(c))
        return;
    char msg[120];
    snprintf(msg, sizeof msg,
             "Have not received a new text input within the timeout of %d seconds.", l->timeout_s);
    svc_ws_close(c, 0, 1008, msg);
}

static void on_closed(svc_conn *c, void *ud)
{
    (void)ud;
    elc *l = svc_conn_data(c);
    if (!l)
        return;
    sf_clear(&l->fault);
    free(l->buf);
    free(l);
}

elevenlabs_standin *elevenlabs_standin_start(const elevenlabs_standin_opts *o)
{
    elevenlabs_standin *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    if (o)
        e->o = *o;
    e->key = strdup(e->o.key ? e->o.key : ELEVENLABS_STANDIN_KEY);
    static const char *const def[] = {ELEVENLABS_STANDIN_VOICE, NULL};
    const char *const *v = e->o.voices ? e->o.voices : def;
    size_t n = 0;
    while (v[n])
        n++;
    e->voices = calloc(n + 1, sizeof *e->voices);
    for (size_t i = 0; e->voices && i < n; i++)
        e->voices[i] = strdup(v[i]);
    e->nvoices = e->voices ? n : 0;
    e->o.voices = NULL;
    if (e->o.ttfb_ms == 0)
        e->o.ttfb_ms = 150;
    if (e->o.chunk_ms <= 0)
        e->o.chunk_ms = 40;
    svc_ops ops = {on_request, on_message, on_timer, on_closed};
    e->s = e->key && e->voices ? svc_start(&ops, e) : NULL;
    if (!e->s) {
        for (size_t i = 0; i < e->nvoices; i++)
            free(e->voices[i]);
        free(e->voices);
        free(e->key);
        free(e);
        return NULL;
    }
    return e;
}

int elevenlabs_standin_port(elevenlabs_standin *e)
{
    return e ? svc_port(e->s) : -1;
}

svc *elevenlabs_standin_svc(elevenlabs_standin *e)
{
    return e ? e->s : NULL;
}

void elevenlabs_standin_push_fault(elevenlabs_standin *e, const speech_fault *f)
{
    svc_lock(e->s);
    sf_push(&e->faults, f);
    svc_unlock(e->s);
}

void elevenlabs_standin_stop(elevenlabs_standin *e)
{
    if (!e)
        return;
    svc_stop(e->s);
    sf_free(&e->faults);
    for (size_t i = 0; i < e->nvoices; i++)
        free(e->voices[i]);
    free(e->voices);
    free(e->key);
    free(e);
}
