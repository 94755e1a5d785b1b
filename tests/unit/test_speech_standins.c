/* The speech stand-ins from plain clients (libcurl, the ws.h client):
 * what each sends and when, driven by the audio the client streams, and
 * every fault knob. The official SDKs judge the same stand-ins in
 * tests/standins; these cover what the SDKs do not reach. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/azure_speech_standin.h"
#include "support/deepgram_standin.h"
#include "support/elevenlabs_standin.h"
#include "support/openai_audio_standin.h"
#include "support/standin_audio.h"
#include "support/ws.h"

#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- audio ---- */

/* Speech-like text audio then silence_ms of silence, s16 at rate. */
static int16_t *speech(const char *text, int rate, int silence_ms, size_t *n)
{
    size_t k = 0;
    int16_t *p = sa_synth(text, rate, 1.0, &k, NULL, NULL);
    assert_non_null(p);
    size_t z = (size_t)rate * (size_t)silence_ms / 1000;
    p = realloc(p, (k + z) * sizeof *p);
    assert_non_null(p);
    memset(p + k, 0, z * sizeof *p);
    *n = k + z;
    return p;
}

static uint8_t *wav_of(const int16_t *pcm, size_t n, int rate, size_t *len)
{
    size_t bl = 0;
    uint8_t *b = sa_encode(SA_PCM16, pcm, n, &bl);
    uint8_t *w = malloc(bl + 64);
    assert_non_null(w);
    size_t h = sa_wav_header(w, 1, 1, rate, (uint32_t)bl);
    memcpy(w + h, b, bl);
    free(b);
    *len = h + bl;
    return w;
}

/* ---- HTTP ---- */

typedef struct resp {
    long status;
    CURLcode rc;
    char *body;
    size_t len;
    char *head;
    size_t hlen;
    int chunks;
    uint64_t t0, first_ms, last_ms; /* ms after the request started */
    uint64_t max_gap;
} resp;

static size_t on_body(char *d, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    uint64_t t = now_ms() - r->t0;
    if (!r->chunks)
        r->first_ms = t;
    else if (t - r->last_ms > r->max_gap)
        r->max_gap = t - r->last_ms;
    r->last_ms = t;
    r->chunks++;
    char *p = realloc(r->body, r->len + sz * n + 1);
    if (!p)
        return 0;
    memcpy(p + r->len, d, sz * n);
    r->len += sz * n;
    p[r->len] = '\0';
    r->body = p;
    return sz * n;
}

static size_t on_head(char *d, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    char *p = realloc(r->head, r->hlen + sz * n + 1);
    if (!p)
        return 0;
    memcpy(p + r->hlen, d, sz * n);
    r->hlen += sz * n;
    p[r->hlen] = '\0';
    r->head = p;
    return sz * n;
}

typedef struct upload {
    const uint8_t *p;
    size_t len, off;
} upload;

static size_t on_read(char *buf, size_t sz, size_t n, void *ud)
{
    upload *u = ud;
    size_t k = u->len - u->off < sz * n ? u->len - u->off : sz * n;
    if (k > 3200)
        k = 3200; /* small chunks, as a streaming client sends them */
    memcpy(buf, u->p + u->off, k);
    u->off += k;
    return k;
}

/* POST (body NULL: GET) with "Name: value" headers; chunked: upload with
 * Transfer-Encoding: chunked. */
static resp http(int port, const char *path, const char *const *headers, const void *body,
                 size_t len, int chunked, curl_mime *mime)
{
    resp r = {0};
    CURL *e = curl_easy_init();
    char url[1024];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
    struct curl_slist *h = NULL;
    for (const char *const *p = headers; p && *p; p++)
        h = curl_slist_append(h, *p);
    upload u = {body, len, 0};
    if (chunked) {
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(e, CURLOPT_READDATA, &u);
    } else if (mime) {
        curl_easy_setopt(e, CURLOPT_MIMEPOST, mime);
    } else if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_head);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &r);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 15000L);
    r.t0 = now_ms();
    r.rc = curl_easy_perform(e);
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r.status);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    if (!r.body)
        r.body = strdup("");
    if (!r.head)
        r.head = strdup("");
    return r;
}

static void resp_free(resp *r)
{
    free(r->body);
    free(r->head);
}

static json_t *body_json(const resp *r)
{
    json_t *j = json_loads(r->body, 0, NULL);
    assert_non_null(j);
    return j;
}

/* ---- WebSocket helpers ---- */

static ws_client *ws_open(int port, const char *path, const char *header, const char *protocols)
{
    const char *h[] = {header, NULL};
    ws_client_opts o = {
        .port = port, .path = path, .headers = header ? h : NULL, .protocols = protocols};
    ws_client *c = ws_client_connect(&o);
    assert_non_null(c);
    return c;
}

/* The next text message as JSON (NULL on close/timeout; *closed gets the
 * close code when a close came). */
static json_t *next_json(ws_client *c, int timeout_ms, int *closed)
{
    ws_msg m;
    for (;;) {
        int got = ws_client_recv(c, timeout_ms, &m);
        if (got != 1)
            return NULL;
        if (m.opcode == WS_CLOSE) {
            if (closed)
                *closed = m.close_code;
            ws_msg_clear(&m);
            return NULL;
        }
        if (m.opcode == WS_TEXT) {
            json_t *j = json_loadb((const char *)m.data, m.len, 0, NULL);
            ws_msg_clear(&m);
            return j;
        }
        ws_msg_clear(&m);
    }
}

static const char *type_of(json_t *j)
{
    return json_string_value(json_object_get(j, "type"));
}

/* ================= Deepgram ================= */

#define DG_AUTH "Authorization: Token " DEEPGRAM_STANDIN_KEY

static deepgram_standin *DG;

static int dg_setup(void **state)
{
    (void)state;
    deepgram_standin_opts o = {.latency_ms = 30, .idle_timeout_ms = 1000, .segment_ms = 1500};
    DG = deepgram_standin_start(&o);
    return DG ? 0 : -1;
}

static int dg_teardown(void **state)
{
    (void)state;
    deepgram_standin_stop(DG);
    return 0;
}

static void send_pcm16(ws_client *c, const int16_t *p, size_t n, size_t per_msg)
{
    for (size_t i = 0; i < n; i += per_msg) {
        size_t k = n - i < per_msg ? n - i : per_msg;
        assert_int_equal(ws_client_send(c, WS_BINARY, p + i, k * 2), 0);
    }
}

static void dg_endpoint_follows_audio(void **state)
{
    (void)state;
    /* No final punctuation: the synthetic voice then ends with 120 ms of
     * silence, not the 450 ms pause it makes after a full stop. */
    deepgram_standin_say(DG, "Hello, I would like to book a visit.");
    ws_client *c = ws_open(deepgram_standin_port(DG),
                           "/v1/listen?encoding=linear16&sample_rate=16000&endpointing=300"
                           "&interim_results=true&vad_events=true&punctuate=true",
                           DG_AUTH, NULL);
    assert_int_equal(ws_client_status(c), 101);
    char *rid = ws_client_response_header(c, "dg-request-id");
    assert_non_null(rid);
    free(rid);
    size_t n = 0;
    int16_t *p = speech("Hello, I would like to book a visit", 16000, 0, &n);
    /* All the speech and its 120 ms of trailing silence: no endpoint
     * (300 ms) may come, however long we wait. */
    send_pcm16(c, p, n, 1600);
    json_t *j;
    int speech_final = 0, started = 0;
    char turn[512] = ""; /* is_final transcripts joined, as integrations do */
    double end = 0;
    while ((j = next_json(c, 500, NULL))) {
        if (!strcmp(type_of(j), "SpeechStarted"))
            started = 1;
        if (json_is_true(json_object_get(j, "speech_final")))
            speech_final = 1;
        if (json_is_true(json_object_get(j, "is_final"))) {
            json_t *alt =
                json_array_get(json_object_get(json_object_get(j, "channel"), "alternatives"), 0);
            const char *t = json_string_value(json_object_get(alt, "transcript"));
            if (*t)
                snprintf(turn + strlen(turn), sizeof turn - strlen(turn), "%s%s",
                         turn[0] ? " " : "", t);
        }
        json_decref(j);
    }
    assert_true(started);
    assert_false(speech_final);
    /* 300 ms more silence: now the endpoint. */
    int16_t zeros[4800] = {0};
    send_pcm16(c, zeros, 4800, 1600);
    while (!speech_final && (j = next_json(c, 1000, NULL))) {
        if (json_is_true(json_object_get(j, "is_final"))) {
            json_t *alt =
                json_array_get(json_object_get(json_object_get(j, "channel"), "alternatives"), 0);
            const char *t = json_string_value(json_object_get(alt, "transcript"));
            if (*t)
                snprintf(turn + strlen(turn), sizeof turn - strlen(turn), "%s%s",
                         turn[0] ? " " : "", t);
        }
        if (json_is_true(json_object_get(j, "speech_final"))) {
            speech_final = 1;
            assert_true(json_is_true(json_object_get(j, "is_final")));
            end = json_real_value(json_object_get(j, "start")) +
                  json_real_value(json_object_get(j, "duration"));
        }
        json_decref(j);
    }
    assert_string_equal(turn, "Hello, I would like to book a visit.");
    /* The endpoint is 300 ms of silence after the speech, in audio time. */
    double audio = (double)(n + 4800) / 16000.0;
    assert_true(end <= audio + 0.001 && end >= audio - 0.2);
    assert_true(speech_final);
    assert_int_equal(deepgram_standin_pending(DG), 0);
    free(p);
    ws_client_free(c);
}

static void dg_no_endpointing_finalize_segments(void **state)
{
    (void)state;
    deepgram_standin_say(DG, "one two three four");
    ws_client *c =
        ws_open(deepgram_standin_port(DG),
                "/v1/listen?encoding=mulaw&sample_rate=8000&endpointing=false", DG_AUTH, NULL);
    assert_int_equal(ws_client_status(c), 101);
    size_t n = 0;
    int16_t *p = speech("one two three four", 8000, 600, &n);
    size_t ul = 0;
    uint8_t *u = sa_encode(SA_ULAW, p, n, &ul);
    for (size_t i = 0; i < ul; i += 800)
        ws_client_send(c, WS_BINARY, u + i, ul - i < 800 ? ul - i : 800);
    ws_client_send_text(c, "{\"type\":\"Finalize\"}");
    json_t *j;
    int finals = 0, from_finalize = 0;
    char heard[256] = "";
    while ((j = next_json(c, 500, NULL))) {
        assert_false(json_is_true(json_object_get(j, "speech_final")));
        if (json_is_true(json_object_get(j, "is_final"))) {
            finals++;
            from_finalize |= json_is_true(json_object_get(j, "from_finalize"));
            json_t *alt =
                json_array_get(json_object_get(json_object_get(j, "channel"), "alternatives"), 0);
            const char *t = json_string_value(json_object_get(alt, "transcript"));
            if (*t)
                snprintf(heard + strlen(heard), sizeof heard - strlen(heard), "%s%s",
                         heard[0] ? " " : "", t);
        }
        json_decref(j);
    }
    /* Finalised by the 1.5 s segments and then by Finalize; no punctuation
     * asked for: lower case words. */
    assert_true(finals >= 2);
    assert_true(from_finalize);
    assert_string_equal(heard, "one two three four");
    free(u);
    free(p);
    ws_client_free(c);
}

static void dg_keepalive_and_idle_close(void **state)
{
    (void)state;
    ws_client *c = ws_open(deepgram_standin_port(DG), "/v1/listen?encoding=mulaw&sample_rate=8000",
                           DG_AUTH, NULL);
    for (int i = 0; i < 8; i++) { /* 2 s of KeepAlive every 250 ms; idle timeout 1 s */
        assert_int_equal(ws_client_send_text(c, "{\"type\":\"KeepAlive\"}"), 0);
        ws_msg m;
        assert_int_equal(ws_client_recv(c, 250, &m), 0);
    }
    int closed = 0;
    uint64_t t = now_ms();
    assert_null(next_json(c, 2000, &closed));
    assert_int_equal(closed, 1011);
    assert_true(now_ms() - t >= 250);
    ws_client_free(c);
}

static void dg_refusals(void **state)
{
    (void)state;
    int port = deepgram_standin_port(DG);
    ws_client *c = ws_open(port, "/v1/listen", NULL, NULL);
    assert_int_equal(ws_client_status(c), 401);
    char *err = ws_client_response_header(c, "dg-error");
    assert_string_equal(err, "Invalid credentials.");
    free(err);
    json_t *b = json_loads(ws_client_response_body(c), 0, NULL);
    assert_string_equal(json_string_value(json_object_get(b, "err_code")), "INVALID_AUTH");
    json_decref(b);
    ws_client_free(c);
    /* The browser form: subprotocols "token, <key>". */
    c = ws_open(port, "/v1/listen?encoding=mulaw&sample_rate=8000", NULL,
                "token, " DEEPGRAM_STANDIN_KEY);
    assert_int_equal(ws_client_status(c), 101);
    char *proto = ws_client_response_header(c, "Sec-WebSocket-Protocol");
    assert_string_equal(proto, "token");
    free(proto);
    ws_client_free(c);
    const char *bad[] = {"/v1/listen?encoding=pcm_s16le&sample_rate=8000",
                         "/v1/listen?encoding=linear16", "/v1/listen?endpointing=soon",
                         "/v1/listen?encoding=opus&sample_rate=48000"};
    for (size_t i = 0; i < 4; i++) {
        c = ws_open(port, bad[i], DG_AUTH, NULL);
        assert_int_equal(ws_client_status(c), 400);
        ws_client_free(c);
    }
    c = ws_open(port, "/v2/listen", DG_AUTH, NULL);
    assert_int_equal(ws_client_status(c), 404);
    ws_client_free(c);
}

static void dg_container_and_data_error(void **state)
{
    (void)state;
    deepgram_standin_say(DG, "from a wav file");
    ws_client *c = ws_open(deepgram_standin_port(DG), "/v1/listen?endpointing=200", DG_AUTH, NULL);
    size_t n = 0, wl = 0;
    int16_t *p = speech("from a wav file", 16000, 400, &n);
    uint8_t *w = wav_of(p, n, 16000, &wl);
    for (size_t i = 0; i < wl; i += 1000) /* the header split across messages */
        ws_client_send(c, WS_BINARY, w + i, wl - i < 1000 ? wl - i : 1000);
    json_t *j;
    int ok = 0;
    while (!ok && (j = next_json(c, 1000, NULL))) {
        ok = json_is_true(json_object_get(j, "speech_final"));
        json_decref(j);
    }
    assert_true(ok);
    free(w);
    free(p);
    ws_client_free(c);
    /* No encoding and no container it can read: DATA-0000. */
    c = ws_open(deepgram_standin_port(DG), "/v1/listen", DG_AUTH, NULL);
    uint8_t junk[2000];
    memset(junk, 0x42, sizeof junk);
    ws_client_send(c, WS_BINARY, junk, sizeof junk);
    ws_msg m;
    assert_int_equal(ws_client_recv(c, 2000, &m), 1);
    assert_int_equal(m.opcode, WS_CLOSE);
    assert_int_equal(m.close_code, 1002);
    assert_string_equal((char *)m.data, "DATA-0000");
    ws_msg_clear(&m);
    ws_client_free(c);
}

static void dg_close_stream_metadata(void **state)
{
    (void)state;
    ws_client *c = ws_open(deepgram_standin_port(DG), "/v1/listen?encoding=alaw&sample_rate=8000",
                           DG_AUTH, NULL);
    uint8_t a[4000];
    for (size_t i = 0; i < sizeof a; i++)
        a[i] = (uint8_t)(0xD5 ^ (i & 1));
    ws_client_send(c, WS_BINARY, a, sizeof a);
    ws_client_send_text(c, "{\"type\":\"CloseStream\"}");
    json_t *j, *meta = NULL;
    int closed = 0;
    while ((j = next_json(c, 1000, &closed))) {
        if (!strcmp(type_of(j), "Metadata")) {
            json_decref(meta);
            meta = j;
        } else {
            json_decref(j);
        }
    }
    assert_int_equal(closed, 1000);
    assert_non_null(meta);
    unsigned char md[32];
    unsigned int ml = 0;
    EVP_Digest(a, sizeof a, md, &ml, EVP_sha256(), NULL);
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    assert_string_equal(json_string_value(json_object_get(meta, "sha256")), hex);
    assert_true(json_real_value(json_object_get(meta, "duration")) > 0.49);
    json_decref(meta);
    assert_int_equal(
        deepgram_standin_audio_bytes(DG, svc_request_count(deepgram_standin_svc(DG)) - 1),
        (long)sizeof a);
    ws_client_free(c);
    /* An empty binary message is the legacy close. */
    c = ws_open(deepgram_standin_port(DG), "/v1/listen?encoding=alaw&sample_rate=8000", DG_AUTH,
                NULL);
    ws_client_send(c, WS_BINARY, "", 0);
    closed = 0;
    while ((j = next_json(c, 1000, &closed)))
        json_decref(j);
    assert_int_equal(closed, 1000);
    ws_client_free(c);
}

/* Connects, sends 1 s of speech and 1 s of silence, collects what comes. */
static int dg_run(const char *extra_query, ws_msg *last, int *nmsgs, uint64_t *span_ms)
{
    char path[256];
    snprintf(path, sizeof path,
             "/v1/listen?encoding=linear16&sample_rate=8000&vad_events=true&interim_results=true"
             "&endpointing=200%s",
             extra_query);
    ws_client *c = ws_open(deepgram_standin_port(DG), path, DG_AUTH, NULL);
    int status = ws_client_status(c);
    if (status != 101) {
        ws_client_free(c);
        return status;
    }
    deepgram_standin_say(DG, "fault case");
    size_t n = 0;
    int16_t *p = speech("fault case words here", 8000, 800, &n);
    send_pcm16(c, p, n, 800);
    free(p);
    ws_client_send_text(c, "{\"type\":\"CloseStream\"}");
    ws_msg m;
    int k = 0;
    uint64_t t0 = now_ms();
    memset(last, 0, sizeof *last);
    int got;
    while ((got = ws_client_recv(c, 800, &m)) == 1) {
        k++;
        ws_msg_clear(last);
        *last = m;
        if (m.opcode == WS_CLOSE)
            break;
    }
    *span_ms = now_ms() - t0;
    *nmsgs = k;
    ws_client_free(c);
    return got == 1 ? 101 : got == 0 ? 100 : 99; /* 99: the connection died */
}

static void dg_faults(void **state)
{
    (void)state;
    ws_msg last;
    int n = 0;
    uint64_t span;
    /* 429 at the upgrade, Retry-After kept. */
    deepgram_standin_fault f = {.status = 429, .retry_after = 3};
    deepgram_standin_push_fault(DG, &f);
    ws_client *c = ws_open(deepgram_standin_port(DG), "/v1/listen", DG_AUTH, NULL);
    assert_int_equal(ws_client_status(c), 429);
    char *ra = ws_client_response_header(c, "Retry-After");
    assert_string_equal(ra, "3");
    free(ra);
    ws_client_free(c);
    /* A wrong key never takes a fault: the next good connection does. */
    f = (deepgram_standin_fault){.after = 1, .drop = 1};
    deepgram_standin_push_fault(DG, &f);
    c = ws_open(deepgram_standin_port(DG), "/v1/listen", "Authorization: Token nope", NULL);
    assert_int_equal(ws_client_status(c), 401);
    ws_client_free(c);
    /* Dropped after the first message: no close frame. */
    assert_int_equal(dg_run("", &last, &n, &span), 99);
    assert_int_equal(n, 1);
    ws_msg_clear(&last);
    /* Closed with 1011 instead of the second message. */
    f = (deepgram_standin_fault){.after = 1, .close_code = 1011, .close_reason = "NET-0000"};
    deepgram_standin_push_fault(DG, &f);
    assert_int_equal(dg_run("", &last, &n, &span), 101);
    assert_int_equal(last.opcode, WS_CLOSE);
    assert_int_equal(last.close_code, 1011);
    assert_string_equal((char *)last.data, "NET-0000");
    assert_int_equal(n, 2);
    ws_msg_clear(&last);
    /* Garbage bytes: the client's wslay fails the connection. */
    f = (deepgram_standin_fault){.after = 0, .garbage = 1};
    deepgram_standin_push_fault(DG, &f);
    assert_int_not_equal(dg_run("", &last, &n, &span), 100);
    assert_int_equal(n, 0);
    ws_msg_clear(&last);
    /* Malformed JSON in the first message. */
    f = (deepgram_standin_fault){.after = 0, .malformed_json = 1};
    deepgram_standin_push_fault(DG, &f);
    ws_client *m =
        ws_open(deepgram_standin_port(DG),
                "/v1/listen?encoding=linear16&sample_rate=8000&vad_events=true", DG_AUTH, NULL);
    size_t ns = 0;
    int16_t *p = speech("x", 8000, 100, &ns);
    send_pcm16(m, p, ns, 800);
    free(p);
    ws_msg first;
    assert_int_equal(ws_client_recv(m, 2000, &first), 1);
    assert_int_equal(first.opcode, WS_TEXT);
    json_t *bad = json_loadb((const char *)first.data, first.len, 0, NULL);
    assert_null(bad);
    ws_msg_clear(&first);
    ws_client_free(m);
    /* A stall: everything from the second message on is 700 ms late. */
    assert_int_equal(dg_run("", &last, &n, &span), 101);
    uint64_t normal = span;
    ws_msg_clear(&last);
    f = (deepgram_standin_fault){.after = 1, .stall_ms = 700};
    deepgram_standin_push_fault(DG, &f);
    assert_int_equal(dg_run("", &last, &n, &span), 101);
    assert_true(span >= normal + 500);
    ws_msg_clear(&last);
    /* A slow handshake. */
    f = (deepgram_standin_fault){.handshake_delay_ms = 400};
    deepgram_standin_push_fault(DG, &f);
    uint64_t t = now_ms();
    c = ws_open(deepgram_standin_port(DG), "/v1/listen?encoding=mulaw&sample_rate=8000", DG_AUTH,
                NULL);
    assert_int_equal(ws_client_status(c), 101);
    assert_true(now_ms() - t >= 390);
    ws_client_free(c);
}

/* ================= OpenAI ================= */

#define OA_AUTH "Authorization: Bearer " OPENAI_AUDIO_STANDIN_KEY

static openai_audio_standin *OA;

static int oa_setup(void **state)
{
    (void)state;
    openai_audio_standin_opts o = {
        .stt_latency_ms = 50, .tts_ttfb_ms = 200, .tts_chunk_ms = 20, .rt_latency_ms = 20};
    OA = openai_audio_standin_start(&o);
    return OA ? 0 : -1;
}

static int oa_teardown(void **state)
{
    (void)state;
    openai_audio_standin_stop(OA);
    return 0;
}

static resp oa_transcribe(const char *model, const char *fmt, const void *file, size_t flen,
                          const char *filename, const char *auth)
{
    CURL *tmp = curl_easy_init();
    curl_mime *mime = curl_mime_init(tmp);
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, "file");
    curl_mime_data(part, file, flen);
    curl_mime_filename(part, filename);
    if (model) {
        part = curl_mime_addpart(mime);
        curl_mime_name(part, "model");
        curl_mime_data(part, model, CURL_ZERO_TERMINATED);
    }
    if (fmt) {
        part = curl_mime_addpart(mime);
        curl_mime_name(part, "response_format");
        curl_mime_data(part, fmt, CURL_ZERO_TERMINATED);
        part = curl_mime_addpart(mime);
        curl_mime_name(part, "timestamp_granularities[]");
        curl_mime_data(part, "word", CURL_ZERO_TERMINATED);
    }
    const char *h[] = {auth, NULL};
    resp r = http(openai_audio_standin_port(OA), "/v1/audio/transcriptions", h, NULL, 0, 0, mime);
    curl_mime_free(mime);
    curl_easy_cleanup(tmp);
    return r;
}

static void oa_transcription_formats(void **state)
{
    (void)state;
    size_t n = 0, wl = 0;
    int16_t *p = speech("It was a blue car.", 16000, 300, &n);
    uint8_t *w = wav_of(p, n, 16000, &wl);
    openai_audio_standin_say(OA, "It was a blue car.");
    resp r = oa_transcribe("whisper-1", "text", w, wl, "turn.wav", OA_AUTH);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "It was a blue car.\n");
    resp_free(&r);
    openai_audio_standin_say(OA, "It was a blue car.");
    r = oa_transcribe("whisper-1", "verbose_json", w, wl, "turn.wav", OA_AUTH);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "task")), "transcribe");
    assert_int_equal(json_array_size(json_object_get(j, "words")), 5);
    assert_true(fabs(json_real_value(json_object_get(j, "duration")) - (double)n / 16000) < 0.01);
    json_decref(j);
    resp_free(&r);
    openai_audio_standin_say(OA, "It was a blue car.");
    r = oa_transcribe("whisper-1", "srt", w, wl, "turn.wav", OA_AUTH);
    assert_non_null(strstr(r.body, "1\n00:00:00,"));
    assert_non_null(strstr(r.body, " --> "));
    resp_free(&r);
    /* Refusals: srt with a gpt-4o model, no model, a wrong key. */
    r = oa_transcribe("gpt-4o-transcribe", "srt", w, wl, "turn.wav", OA_AUTH);
    assert_int_equal(r.status, 400);
    j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "type")),
                        "invalid_request_error");
    json_decref(j);
    resp_free(&r);
    r = oa_transcribe(NULL, NULL, w, wl, "turn.wav", OA_AUTH);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    r = oa_transcribe("whisper-1", NULL, w, wl, "turn.wav", "Authorization: Bearer sk-no");
    assert_int_equal(r.status, 401);
    resp_free(&r);
    r = oa_transcribe("whisper-1", NULL, "RIFFjunk", 8, "turn.wav", OA_AUTH);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "corrupted or unsupported"));
    resp_free(&r);
    /* None of these consumed the scripted utterances. */
    assert_int_equal(openai_audio_standin_pending(OA), 0);
    free(w);
    free(p);
}

static void oa_speech_stream(void **state)
{
    (void)state;
    const char *h[] = {OA_AUTH, "Content-Type: application/json", NULL};
    const char *body =
        "{\"model\":\"gpt-4o-mini-tts\",\"voice\":\"coral\",\"input\":\"Your appointment "
        "is on Monday at ten.\",\"response_format\":\"pcm\"}";
    resp r =
        http(openai_audio_standin_port(OA), "/v1/audio/speech", h, body, strlen(body), 0, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.head, "transfer-encoding: chunked"));
    assert_true(r.first_ms >= 190);
    assert_true(r.chunks >= 3);
    size_t ref = 0;
    int16_t *p = sa_synth("Your appointment is on Monday at ten.", 24000, 1.0, &ref, NULL, NULL);
    assert_int_equal(r.len, ref * 2);
    assert_memory_equal(r.body, p, 48000); /* the same signal, little-endian */
    free(p);
    resp_free(&r);
    /* speed 2: half as long. */
    const char *fast =
        "{\"model\":\"tts-1\",\"voice\":\"alloy\",\"input\":\"Your appointment is on "
        "Monday at ten.\",\"response_format\":\"pcm\",\"speed\":2}";
    r = http(openai_audio_standin_port(OA), "/v1/audio/speech", h, fast, strlen(fast), 0, NULL);
    assert_true(r.len > ref * 2 * 4 / 10 && r.len < ref * 2 * 6 / 10);
    resp_free(&r);
    /* SSE: delta events then done. */
    const char *sse = "{\"model\":\"gpt-4o-mini-tts\",\"voice\":\"coral\",\"input\":\"Hi.\","
                      "\"response_format\":\"pcm\",\"stream_format\":\"sse\"}";
    r = http(openai_audio_standin_port(OA), "/v1/audio/speech", h, sse, strlen(sse), 0, NULL);
    assert_non_null(strstr(r.body, "data: {\"type\":\"speech.audio.delta\",\"audio\":\""));
    assert_non_null(strstr(r.body, "data: {\"type\":\"speech.audio.done\",\"usage\":{"));
    resp_free(&r);
    /* Refusals. */
    const char *bad[] = {
        "{\"model\":\"tts-1\",\"voice\":\"alloy\",\"input\":\"Hi\"}", /* mp3: not synthesised */
        "{\"model\":\"tts-1\",\"voice\":\"alloy\",\"input\":\"Hi\",\"response_format\":\"pcm\","
        "\"speed\":9}",
        "{\"model\":\"tts-1\",\"input\":\"Hi\",\"response_format\":\"pcm\"}",
        "{\"model\":\"tts-1\",\"voice\":\"alloy\",\"input\":\"Hi\",\"response_format\":\"pcm\","
        "\"stream_format\":\"sse\"}",
        "not json",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = http(openai_audio_standin_port(OA), "/v1/audio/speech", h, bad[i], strlen(bad[i]), 0,
                 NULL);
        assert_int_equal(r.status, 400);
        resp_free(&r);
    }
}

static void oa_http_faults(void **state)
{
    (void)state;
    const char *h[] = {OA_AUTH, "Content-Type: application/json", NULL};
    const char *body =
        "{\"model\":\"tts-1\",\"voice\":\"alloy\",\"input\":\"A sentence long enough "
        "to need several chunks of audio.\",\"response_format\":\"pcm\"}";
    int port = openai_audio_standin_port(OA);
    speech_fault f = {.status = 429, .retry_after = 2};
    openai_audio_standin_push_fault(OA, &f);
    resp r = http(port, "/v1/audio/speech", h, body, strlen(body), 0, NULL);
    assert_int_equal(r.status, 429);
    assert_non_null(strcasestr(r.head, "retry-after: 2"));
    assert_non_null(strcasestr(r.head, "x-ratelimit-remaining-requests: 0"));
    assert_non_null(strstr(r.body, "rate_limit_exceeded"));
    resp_free(&r);
    /* Cut after 3 chunks: the client sees a truncated chunked body. */
    f = (speech_fault){.after = 3, .cut = 1};
    openai_audio_standin_push_fault(OA, &f);
    r = http(port, "/v1/audio/speech", h, body, strlen(body), 0, NULL);
    assert_int_equal(r.status, 200);
    assert_int_not_equal(r.rc, CURLE_OK);
    assert_int_equal(r.len, 3 * 4800);
    resp_free(&r);
    /* Garbage where a chunk size should be. */
    f = (speech_fault){.after = 1, .garbage = 1};
    openai_audio_standin_push_fault(OA, &f);
    r = http(port, "/v1/audio/speech", h, body, strlen(body), 0, NULL);
    assert_int_not_equal(r.rc, CURLE_OK);
    resp_free(&r);
    /* A stall of 600 ms after 2 chunks. */
    f = (speech_fault){.after = 2, .stall_ms = 600};
    openai_audio_standin_push_fault(OA, &f);
    r = http(port, "/v1/audio/speech", h, body, strlen(body), 0, NULL);
    assert_int_equal(r.rc, CURLE_OK);
    assert_true(r.max_gap >= 550);
    resp_free(&r);
    /* Slow first byte. */
    f = (speech_fault){.delay_ms = 500};
    openai_audio_standin_push_fault(OA, &f);
    r = http(port, "/v1/audio/speech", h, body, strlen(body), 0, NULL);
    assert_true(r.first_ms >= 690);
    resp_free(&r);
    /* Dropped without an answer. */
    f = (speech_fault){.drop = 1};
    openai_audio_standin_push_fault(OA, &f);
    r = http(port, "/v1/audio/speech", h, body, strlen(body), 0, NULL);
    assert_int_equal(r.rc, CURLE_GOT_NOTHING);
    resp_free(&r);
}

static void rt_send_audio(ws_client *c, const uint8_t *bytes, size_t n, size_t per)
{
    for (size_t i = 0; i < n; i += per) {
        char *b64 = sa_b64(bytes + i, n - i < per ? n - i : per);
        char *msg = malloc(strlen(b64) + 64);
        sprintf(msg, "{\"type\":\"input_audio_buffer.append\",\"audio\":\"%s\"}", b64);
        assert_int_equal(ws_client_send_text(c, msg), 0);
        free(msg);
        free(b64);
    }
}

static void oa_realtime_server_vad(void **state)
{
    (void)state;
    int port = openai_audio_standin_port(OA);
    ws_client *c = ws_open(port, "/v1/realtime?intent=transcription", OA_AUTH, NULL);
    assert_int_equal(ws_client_status(c), 101);
    json_t *j = next_json(c, 1000, NULL);
    assert_string_equal(type_of(j), "session.created");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "session"), "type")),
                        "transcription");
    json_decref(j);
    ws_client_send_text(c,
                        "{\"type\":\"session.update\",\"session\":{\"type\":\"transcription\","
                        "\"audio\":{\"input\":{\"format\":{\"type\":\"audio/pcmu\"},"
                        "\"transcription\":{\"model\":\"gpt-4o-transcribe\",\"language\":\"en\"},"
                        "\"turn_detection\":{\"type\":\"server_vad\",\"threshold\":0.5,"
                        "\"prefix_padding_ms\":300,\"silence_duration_ms\":400}}}}}");
    j = next_json(c, 1000, NULL);
    assert_string_equal(type_of(j), "session.updated");
    json_decref(j);
    openai_audio_standin_say(OA, "I lost my card.");
    size_t n = 0, ul = 0;
    int16_t *lead = calloc(8000, sizeof *lead); /* 1 s of silence first */
    int16_t *p = speech("I lost my card.", 8000, 600, &n);
    uint8_t *u0 = sa_encode(SA_ULAW, lead, 8000, &ul);
    rt_send_audio(c, u0, ul, 800);
    uint8_t *u = sa_encode(SA_ULAW, p, n, &ul);
    rt_send_audio(c, u, ul, 800);
    const char *want[] = {"input_audio_buffer.speech_started", "input_audio_buffer.speech_stopped",
                          "input_audio_buffer.committed", "conversation.item.added"};
    size_t k = 0;
    char transcript[256] = "";
    int completed = 0;
    while (!completed && (j = next_json(c, 1500, NULL))) {
        const char *t = type_of(j);
        if (k < 4) {
            assert_string_equal(t, want[k]);
            if (k == 0) /* onset at about 1.06 s, minus the 300 ms prefix padding */
                assert_true(labs((long)json_integer_value(json_object_get(j, "audio_start_ms")) -
                                 760) <= 40);
            k++;
        } else if (!strcmp(t, "conversation.item.input_audio_transcription.delta")) {
            strcat(transcript, json_string_value(json_object_get(j, "delta")));
        } else if (!strcmp(t, "conversation.item.input_audio_transcription.completed")) {
            assert_string_equal(json_string_value(json_object_get(j, "transcript")),
                                "I lost my card.");
            completed = 1;
        }
        json_decref(j);
    }
    assert_true(completed);
    assert_string_equal(transcript, "I lost my card.");
    /* Unknown events and bad updates are error events; the session goes on. */
    ws_client_send_text(c, "{\"type\":\"response.create\",\"event_id\":\"ev1\"}");
    j = next_json(c, 1000, NULL);
    assert_string_equal(type_of(j), "error");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "event_id")),
                        "ev1");
    json_decref(j);
    ws_client_send_text(
        c, "{\"type\":\"session.update\",\"session\":{\"type\":\"transcription\","
           "\"audio\":{\"input\":{\"format\":{\"type\":\"audio/pcm\",\"rate\":16000}}}}}");
    j = next_json(c, 1000, NULL);
    assert_string_equal(type_of(j), "error");
    json_decref(j);
    free(u0);
    free(u);
    free(lead);
    free(p);
    ws_client_free(c);
}

static void oa_realtime_manual_commit(void **state)
{
    (void)state;
    int port = openai_audio_standin_port(OA);
    /* Browser-style auth through subprotocols. */
    ws_client *c = ws_open(port, "/v1/realtime?intent=transcription", NULL,
                           "realtime, openai-insecure-api-key." OPENAI_AUDIO_STANDIN_KEY);
    assert_int_equal(ws_client_status(c), 101);
    json_decref(next_json(c, 1000, NULL));
    ws_client_send_text(c, "{\"type\":\"session.update\",\"session\":{\"type\":\"transcription\","
                           "\"audio\":{\"input\":{\"transcription\":{\"model\":\"whisper-1\"},"
                           "\"turn_detection\":null}}}}");
    json_decref(next_json(c, 1000, NULL));
    ws_client_send_text(c, "{\"type\":\"input_audio_buffer.commit\"}");
    json_t *j = next_json(c, 1000, NULL);
    assert_string_equal(type_of(j), "error");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                        "input_audio_buffer_commit_empty");
    json_decref(j);
    openai_audio_standin_say(OA, "Yes please.");
    size_t n = 0, bl = 0;
    int16_t *p = speech("Yes please.", 24000, 200, &n);
    uint8_t *b = sa_encode(SA_PCM16, p, n, &bl);
    rt_send_audio(c, b, bl, 9600);
    ws_client_send_text(c, "{\"type\":\"input_audio_buffer.commit\"}");
    int done = 0;
    while (!done && (j = next_json(c, 1500, NULL))) {
        /* No VAD events without turn detection. */
        assert_null(strstr(type_of(j), "speech_"));
        if (!strcmp(type_of(j), "conversation.item.input_audio_transcription.completed")) {
            assert_string_equal(json_string_value(json_object_get(j, "transcript")), "Yes please.");
            assert_string_equal(
                json_string_value(json_object_get(json_object_get(j, "usage"), "type")),
                "duration");
            done = 1;
        }
        json_decref(j);
    }
    assert_true(done);
    free(b);
    free(p);
    ws_client_free(c);
    c = ws_open(port, "/v1/realtime?intent=transcription", NULL, NULL);
    assert_int_equal(ws_client_status(c), 401);
    ws_client_free(c);
    c = ws_open(port, "/v1/realtime?model=gpt-realtime", OA_AUTH, NULL);
    assert_int_equal(ws_client_status(c), 400);
    ws_client_free(c);
}

/* ================= Azure ================= */

#define AZ_KEY "Ocp-Apim-Subscription-Key: " AZURE_SPEECH_STANDIN_KEY
#define AZ_STT "/speech/recognition/conversation/cognitiveservices/v1?language=en-US"

static azure_speech_standin *AZ;

static int az_setup(void **state)
{
    (void)state;
    azure_speech_standin_opts o = {.stt_latency_ms = 50, .tts_ttfb_ms = 100, .token_lifetime_s = 1};
    AZ = azure_speech_standin_start(&o);
    return AZ ? 0 : -1;
}

static int az_teardown(void **state)
{
    (void)state;
    azure_speech_standin_stop(AZ);
    return 0;
}

static void az_stt(void **state)
{
    (void)state;
    int port = azure_speech_standin_port(AZ);
    size_t n = 0, wl = 0;
    int16_t *p = speech("Send it to my email.", 16000, 300, &n);
    uint8_t *w = wav_of(p, n, 16000, &wl);
    const char *h[] = {AZ_KEY, "Content-Type: audio/wav; codecs=audio/pcm; samplerate=16000",
                       "Expect: 100-continue", "Accept: application/json", NULL};
    azure_speech_standin_say(AZ, "Send it to my email.");
    /* Chunked upload with Expect: 100-continue, as the docs recommend. */
    resp r = http(port, AZ_STT "&format=simple", h, w, wl, 1, NULL);
    assert_int_equal(r.status, 200);
    json_t *j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "RecognitionStatus")), "Success");
    assert_string_equal(json_string_value(json_object_get(j, "DisplayText")),
                        "Send it to my email.");
    assert_true(json_integer_value(json_object_get(j, "Offset")) == 600000); /* 60 ms */
    assert_null(json_object_get(j, "NBest"));
    json_decref(j);
    assert_true(svc_request_chunked(azure_speech_standin_svc(AZ),
                                    svc_request_count(azure_speech_standin_svc(AZ)) - 1));
    resp_free(&r);
    azure_speech_standin_say(AZ, "Send it to my email.");
    r = http(port, AZ_STT "&format=detailed", h, w, wl, 0, NULL);
    j = body_json(&r);
    json_t *nb = json_array_get(json_object_get(j, "NBest"), 0);
    assert_string_equal(json_string_value(json_object_get(nb, "Lexical")), "send it to my email");
    assert_string_equal(json_string_value(json_object_get(nb, "Display")), "Send it to my email.");
    json_decref(j);
    resp_free(&r);
    free(w);
    free(p);
    /* Silence: NoMatch when short, InitialSilenceTimeout from 5 s. */
    int16_t *z = calloc(16000 * 6, sizeof *z);
    w = wav_of(z, 16000, 16000, &wl);
    r = http(port, AZ_STT, h, w, wl, 0, NULL);
    j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "RecognitionStatus")), "NoMatch");
    json_decref(j);
    resp_free(&r);
    free(w);
    w = wav_of(z, 16000 * 6, 16000, &wl);
    r = http(port, AZ_STT, h, w, wl, 0, NULL);
    j = body_json(&r);
    assert_string_equal(json_string_value(json_object_get(j, "RecognitionStatus")),
                        "InitialSilenceTimeout");
    json_decref(j);
    resp_free(&r);
    /* No language, not a WAV body, a wrong key. */
    r = http(port, "/speech/recognition/conversation/cognitiveservices/v1", h, w, wl, 0, NULL);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    r = http(port, AZ_STT, h, "OggS....", 8, 0, NULL);
    assert_int_equal(r.status, 400);
    resp_free(&r);
    const char *bad[] = {"Ocp-Apim-Subscription-Key: wrong", "Content-Type: audio/wav", NULL};
    r = http(port, AZ_STT, bad, w, wl, 0, NULL);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    free(w);
    free(z);
    assert_int_equal(azure_speech_standin_pending(AZ), 0);
}

static void az_token_expiry(void **state)
{
    (void)state;
    int port = azure_speech_standin_port(AZ);
    const char *kh[] = {AZ_KEY, NULL};
    resp t = http(port, "/sts/v1.0/issueToken", kh, "", 0, 0, NULL);
    assert_int_equal(t.status, 200);
    char auth[2048];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", t.body);
    resp_free(&t);
    const char *h[] = {auth, "Content-Type: application/ssml+xml",
                       "X-Microsoft-OutputFormat: raw-16khz-16bit-mono-pcm", NULL};
    const char *ssml = "<speak version='1.0' xml:lang='en-US'><voice name='en-US-AvaNeural'>"
                       "Tom &amp; Jerry</voice></speak>";
    resp r = http(port, "/cognitiveservices/v1", h, ssml, strlen(ssml), 0, NULL);
    assert_int_equal(r.status, 200);
    size_t ref = 0;
    int16_t *p = sa_synth("Tom & Jerry", 16000, 1.0, &ref, NULL, NULL);
    assert_int_equal(r.len, ref * 2); /* the entity was decoded before synthesis */
    free(p);
    resp_free(&r);
    usleep(2100 * 1000); /* the token lives 1 s here */
    r = http(port, "/cognitiveservices/v1", h, ssml, strlen(ssml), 0, NULL);
    assert_int_equal(r.status, 401);
    resp_free(&r);
    const char *nokey[] = {NULL};
    r = http(port, "/sts/v1.0/issueToken", nokey, "", 0, 0, NULL);
    assert_int_equal(r.status, 401);
    resp_free(&r);
}

static void az_tts(void **state)
{
    (void)state;
    int port = azure_speech_standin_port(AZ);
    const char *ssml = "<speak version='1.0' xml:lang='en-US'><voice name='en-US-AvaNeural'>"
                       "Hello there.</voice></speak>";
    const char *riff[] = {AZ_KEY, "Content-Type: application/ssml+xml",
                          "X-Microsoft-OutputFormat: riff-8khz-8bit-mono-mulaw", NULL};
    resp r = http(port, "/cognitiveservices/v1", riff, ssml, strlen(ssml), 0, NULL);
    assert_int_equal(r.status, 200);
    assert_true(r.first_ms >= 90);
    sa_wav w;
    assert_int_equal(sa_wav_parse((const uint8_t *)r.body, r.len, &w), 0);
    assert_int_equal(w.format, 7);
    assert_int_equal(w.rate, 8000);
    size_t ref = 0;
    int16_t *p = sa_synth("Hello there.", 8000, 1.0, &ref, NULL, NULL);
    assert_int_equal(w.data_len, ref);
    free(p);
    resp_free(&r);
    const struct {
        const char *ctype, *fmt, *body;
        int status;
    } bad[] = {
        {"Content-Type: application/ssml+xml",
         "X-Microsoft-OutputFormat: audio-16khz-32kbitrate-mono-mp3", ssml, 400},
        {"Content-Type: application/ssml+xml", "X-Microsoft-OutputFormat: raw-9khz-bogus", ssml,
         400},
        {"Content-Type: application/ssml+xml", "X-Standin: none", ssml, 400},
        {"Content-Type: text/plain", "X-Microsoft-OutputFormat: raw-16khz-16bit-mono-pcm", ssml,
         415},
        {"Content-Type: application/ssml+xml", "X-Microsoft-OutputFormat: raw-16khz-16bit-mono-pcm",
         "Hello there.", 400},
        {"Content-Type: application/ssml+xml", "X-Microsoft-OutputFormat: raw-16khz-16bit-mono-pcm",
         "<speak><voice name='x'>A & B</voice></speak>", 400},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *h[] = {AZ_KEY, bad[i].ctype, bad[i].fmt, NULL};
        r = http(port, "/cognitiveservices/v1", h, bad[i].body, strlen(bad[i].body), 0, NULL);
        assert_int_equal(r.status, bad[i].status);
        resp_free(&r);
    }
    /* A cut in the middle of the audio. */
    speech_fault f = {.after = 2, .cut = 1};
    azure_speech_standin_push_fault(AZ, &f);
    const char *raw[] = {AZ_KEY, "Content-Type: application/ssml+xml",
                         "X-Microsoft-OutputFormat: raw-16khz-16bit-mono-pcm", NULL};
    r = http(port, "/cognitiveservices/v1", raw, ssml, strlen(ssml), 0, NULL);
    assert_int_not_equal(r.rc, CURLE_OK);
    assert_int_equal(r.len, 2 * 3200);
    resp_free(&r);
    f = (speech_fault){.status = 503, .retry_after = 1};
    azure_speech_standin_push_fault(AZ, &f);
    r = http(port, "/cognitiveservices/v1", raw, ssml, strlen(ssml), 0, NULL);
    assert_int_equal(r.status, 503);
    assert_non_null(strcasestr(r.head, "Retry-After: 1"));
    resp_free(&r);
}

/* ================= ElevenLabs ================= */

#define EL_KEY  "xi-api-key: " ELEVENLABS_STANDIN_KEY
#define EL_PATH "/v1/text-to-speech/" ELEVENLABS_STANDIN_VOICE

static elevenlabs_standin *EL;

static int el_setup(void **state)
{
    (void)state;
    elevenlabs_standin_opts o = {.ttfb_ms = 80, .chunk_ms = 10};
    EL = elevenlabs_standin_start(&o);
    return EL ? 0 : -1;
}

static int el_teardown(void **state)
{
    (void)state;
    elevenlabs_standin_stop(EL);
    return 0;
}

static void el_http(void **state)
{
    (void)state;
    int port = elevenlabs_standin_port(EL);
    const char *h[] = {EL_KEY, "Content-Type: application/json", NULL};
    const char *body = "{\"text\":\"Hello there.\",\"model_id\":\"eleven_flash_v2_5\"}";
    resp r = http(port, EL_PATH "/stream?output_format=pcm_16000", h, body, strlen(body), 0, NULL);
    assert_int_equal(r.status, 200);
    assert_non_null(strcasestr(r.head, "x-character-count: 12"));
    assert_true(r.first_ms >= 70);
    size_t ref = 0;
    int16_t *p = sa_synth("Hello there.", 16000, 1.0, &ref, NULL, NULL);
    assert_int_equal(r.len, ref * 2);
    free(p);
    resp_free(&r);
    r = http(port, EL_PATH "/stream", h, body, strlen(body), 0, NULL); /* mp3, the default */
    assert_int_equal(r.status, 400);
    resp_free(&r);
    r = http(port, EL_PATH "/stream?output_format=pcm_12345", h, body, strlen(body), 0, NULL);
    assert_int_equal(r.status, 422);
    resp_free(&r);
    const char *nt = "{\"model_id\":\"eleven_flash_v2_5\"}";
    r = http(port, EL_PATH "/stream?output_format=ulaw_8000", h, nt, strlen(nt), 0, NULL);
    assert_int_equal(r.status, 422);
    json_t *j = body_json(&r);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "detail"), 0), "msg")),
        "Field required");
    json_decref(j);
    resp_free(&r);
    const char *badkey[] = {"xi-api-key: nope", NULL};
    r = http(port, EL_PATH "/stream?output_format=ulaw_8000", badkey, body, strlen(body), 0, NULL);
    assert_int_equal(r.status, 401);
    assert_non_null(strstr(r.body, "invalid_api_key"));
    resp_free(&r);
    r = http(port, "/v1/text-to-speech/unknownvoice/stream?output_format=ulaw_8000", h, body,
             strlen(body), 0, NULL);
    assert_int_equal(r.status, 404);
    resp_free(&r);
}

static void el_stream_input(void **state)
{
    (void)state;
    int port = elevenlabs_standin_port(EL);
    ws_client *c = ws_open(port,
                           EL_PATH "/stream-input?model_id=eleven_flash_v2_5"
                                   "&output_format=ulaw_8000",
                           NULL, NULL);
    assert_int_equal(ws_client_status(c), 101);
    /* Key in the first message; the schedule starts at 50 characters. */
    ws_client_send_text(c, "{\"text\":\" \",\"xi_api_key\":\"" ELEVENLABS_STANDIN_KEY
                           "\",\"generation_config\":{\"chunk_length_schedule\":[50,120]}}");
    ws_client_send_text(c, "{\"text\":\"Hello there, \"}");
    ws_msg m;
    assert_int_equal(ws_client_recv(c, 400, &m), 0); /* 13 characters: nothing yet */
    ws_client_send_text(c, "{\"text\":\"thank you for calling the claims line today. \"}");
    json_t *j = next_json(c, 1000, NULL);
    assert_non_null(j);
    const char *b64 = json_string_value(json_object_get(j, "audio"));
    size_t al = 0;
    uint8_t *audio = sa_unb64(b64, &al);
    const char *said = "Hello there, thank you for calling the claims line today. ";
    size_t ref = 0;
    int16_t *p = sa_synth(said, 8000, 1.0, &ref, NULL, NULL);
    assert_int_equal(al, ref);
    free(p);
    free(audio);
    json_t *chars = json_object_get(json_object_get(j, "alignment"), "chars");
    assert_int_equal(json_array_size(chars), strlen(said));
    assert_true(json_is_null(json_object_get(j, "isFinal")));
    json_decref(j);
    /* flush speaks what is buffered at once; the end of input closes. */
    ws_client_send_text(c, "{\"text\":\"Bye. \",\"flush\":true}");
    j = next_json(c, 1000, NULL);
    assert_non_null(json_object_get(j, "audio"));
    json_decref(j);
    ws_client_send_text(c, "{\"text\":\"\"}");
    j = next_json(c, 1000, NULL);
    assert_true(json_is_true(json_object_get(j, "isFinal")));
    json_decref(j);
    int closed = 0;
    assert_null(next_json(c, 1000, &closed));
    assert_int_equal(closed, 1000);
    ws_client_free(c);
    /* The first message must be a single space; inactivity closes 1008. */
    c = ws_open(port, EL_PATH "/stream-input?output_format=pcm_16000", EL_KEY, NULL);
    ws_client_send_text(c, "{\"text\":\"Hello\"}");
    closed = 0;
    assert_null(next_json(c, 1000, &closed));
    assert_int_equal(closed, 1008);
    ws_client_free(c);
    c = ws_open(port, EL_PATH "/stream-input?output_format=pcm_16000&inactivity_timeout=1", EL_KEY,
                NULL);
    ws_client_send_text(c, "{\"text\":\" \"}");
    closed = 0;
    uint64_t t = now_ms();
    assert_null(next_json(c, 3000, &closed));
    assert_int_equal(closed, 1008);
    assert_true(now_ms() - t >= 900);
    ws_client_free(c);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(dg_endpoint_follows_audio, dg_setup, dg_teardown),
        cmocka_unit_test_setup_teardown(dg_no_endpointing_finalize_segments, dg_setup, dg_teardown),
        cmocka_unit_test_setup_teardown(dg_keepalive_and_idle_close, dg_setup, dg_teardown),
        cmocka_unit_test_setup_teardown(dg_refusals, dg_setup, dg_teardown),
        cmocka_unit_test_setup_teardown(dg_container_and_data_error, dg_setup, dg_teardown),
        cmocka_unit_test_setup_teardown(dg_close_stream_metadata, dg_setup, dg_teardown),
        cmocka_unit_test_setup_teardown(dg_faults, dg_setup, dg_teardown),
        cmocka_unit_test_setup_teardown(oa_transcription_formats, oa_setup, oa_teardown),
        cmocka_unit_test_setup_teardown(oa_speech_stream, oa_setup, oa_teardown),
        cmocka_unit_test_setup_teardown(oa_http_faults, oa_setup, oa_teardown),
        cmocka_unit_test_setup_teardown(oa_realtime_server_vad, oa_setup, oa_teardown),
        cmocka_unit_test_setup_teardown(oa_realtime_manual_commit, oa_setup, oa_teardown),
        cmocka_unit_test_setup_teardown(az_stt, az_setup, az_teardown),
        cmocka_unit_test_setup_teardown(az_token_expiry, az_setup, az_teardown),
        cmocka_unit_test_setup_teardown(az_tts, az_setup, az_teardown),
        cmocka_unit_test_setup_teardown(el_http, el_setup, el_teardown),
        cmocka_unit_test_setup_teardown(el_stream_input, el_setup, el_teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
