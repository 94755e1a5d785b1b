/* Azure Speech REST stand-in: see azure_speech_standin.h. */
#include "support/azure_speech_standin.h"

#include "support/standin_audio.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define JFLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

struct azure_speech_standin {
    svc *s;
    char *key;
    azure_speech_standin_opts o;
    sa_script script;
    speech_faults faults;
    unsigned long seq;
};

static void reply_json(svc_conn *c, uint64_t at, int status, const char *extra, json_t *j)
{
    char *body = json_dumps(j, JFLAGS);
    json_decref(j);
    svc_respond(c, at, status, extra, "application/json; charset=utf-8", body ? body : "{}",
                body ? strlen(body) : 2);
    free(body);
}

static void error_reply(svc_conn *c, uint64_t at, int status, const char *code, const char *msg,
                        const char *extra)
{
    reply_json(c, at, status, extra,
               json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
}

/* ---- tokens: HS256 JWTs signed with the subscription key ---- */

static char *b64url(const unsigned char *d, size_t n)
{
    char *s = sa_b64(d, n);
    if (!s)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '=')
            break;
        s[k++] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
    }
    s[k] = '\0';
    return s;
}

static char *sign(const char *key, const char *input)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    if (!HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)input, strlen(input), mac,
              &ml))
        return NULL;
    return b64url(mac, ml);
}

static char *issue_token(azure_speech_standin *a)
{
    const char *hdr = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char payload[256];
    long now = (long)time(NULL);
    snprintf(payload, sizeof payload,
             "{\"region\":\"standin\",\"subscription-id\":\"%lu\",\"product-id\":"
             "\"SpeechServices.S0\",\"iss\":\"urn:ms.cognitiveservices\",\"aud\":\"urn:ms.speech\","
             "\"exp\":%ld}",
             ++a->seq, now + a->o.token_lifetime_s);
    char *h = b64url((const unsigned char *)hdr, strlen(hdr));
    char *p = b64url((const unsigned char *)payload, strlen(payload));
    char *out = NULL;
    if (h && p) {
        size_t n = strlen(h) + strlen(p) + 2;
        char *input = malloc(n);
        if (input) {
            snprintf(input, n, "%s.%s", h, p);
            char *sig = sign(a->key, input);
            if (sig) {
                out = malloc(n + strlen(sig) + 1);
                if (out)
                    sprintf(out, "%s.%s", input, sig);
            }
            free(sig);
            free(input);
        }
    }
    free(h);
    free(p);
    return out;
}

static int token_valid(azure_speech_standin *a, const char *tok)
{
    const char *d1 = strchr(tok, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    if (!d2)
        return 0;
    char *input = malloc((size_t)(d2 - tok) + 1);
    if (!input)
        return 0;
    memcpy(input, tok, (size_t)(d2 - tok));
    input[d2 - tok] = '\0';
    char *sig = sign(a->key, input);
    int ok = sig && !strcmp(sig, d2 + 1);
    free(sig);
    if (ok) {
        /* exp from the payload (Base64url, no padding). */
        size_t pl = (size_t)(d2 - d1 - 1);
        char *b = malloc(pl + 4);
        ok = 0;
        if (b) {
            size_t k = 0;
            for (size_t i = 0; i < pl; i++)
                b[k++] = d1[1 + i] == '-' ? '+' : d1[1 + i] == '_' ? '/' : d1[1 + i];
            while (k % 4)
                b[k++] = '=';
            b[k] = '\0';
            size_t n = 0;
            uint8_t *js = sa_unb64(b, &n);
            json_t *j = js ? json_loadb((const char *)js, n, 0, NULL) : NULL;
            ok = j && json_integer_value(json_object_get(j, "exp")) > (json_int_t)time(NULL);
            json_decref(j);
            free(js);
            free(b);
        }
    }
    free(input);
    return ok;
}

static int authorized(azure_speech_standin *a, const svc_req *r)
{
    const char *k = svc_req_header(r, "Ocp-Apim-Subscription-Key");
    if (k)
        return !strcmp(k, a->key);
    const char *auth = svc_req_header(r, "Authorization");
    return auth && !strncmp(auth, "Bearer ", 7) && token_valid(a, auth + 7);
}

static void unauthorized(svc_conn *c)
{
    error_reply(c, 0, 401, "401",
                "Access denied due to invalid subscription key or wrong API endpoint. Make sure "
                "to provide a valid key for an active subscription and use a correct regional API "
                "endpoint for your resource.",
                NULL);
}

static void fault_reply(svc_conn *c, const speech_fault *f)
{
    char extra[64] = "";
    if (f->retry_after > 0)
        snprintf(extra, sizeof extra, "Retry-After: %d\r\n", f->retry_after);
    const char *msg = f->status == 429 ? "Too many requests. Please retry later."
                                       : "The service is temporarily unavailable.";
    char code[16];
    snprintf(code, sizeof code, "%d", f->status);
    error_reply(c, sf_start(f, 0), f->status, code, msg, extra);
}

/* ---- STT ---- */

typedef struct heard {
    int run, any;
    uint64_t first, last;
} heard;

static void heard_frame(void *ud, uint64_t start, int speech)
{
    heard *h = ud;
    if (speech) {
        h->run += 20;
        if (h->run >= 40 && !h->any) {
            h->any = 1;
            h->first = start + 20 - (uint64_t)h->run;
        }
        if (h->any)
            h->last = start + 20;
    } else {
        h->run = 0;
    }
}

static void lexical(const char *display, char *out, size_t n)
{
    size_t nw = 0, k = 0;
    char **w = sa_words(display, &nw);
    out[0] = '\0';
    for (size_t i = 0; i < nw; i++) {
        char p[256];
        sa_plain_word(w[i], p, sizeof p);
        int m = snprintf(out + k, n - k, "%s%s", k ? " " : "", p);
        if (m < 0 || (size_t)m >= n - k)
            break;
        k += (size_t)m;
    }
    sa_words_free(w, nw);
}

static void stt(azure_speech_standin *a, svc_conn *c, const svc_req *r, const speech_fault *f)
{
    char lang[32], fmt[32];
    if (!svc_query(r->query, "language", lang, sizeof lang) || !lang[0]) {
        svc_respond(c, 0, 400, NULL, "text/plain", "", 0);
        return;
    }
    if (!svc_query(r->query, "format", fmt, sizeof fmt))
        snprintf(fmt, sizeof fmt, "simple");
    int detailed = !strcasecmp(fmt, "detailed");
    const char *ct = svc_req_header(r, "Content-Type");
    if (ct && strcasestr(ct, "audio/ogg")) {
        error_reply(c, 0, 400, "BadRequest", "standin: only WAV audio is decoded by the stand-in",
                    NULL);
        return;
    }
    sa_wav w;
    if (!ct || !strcasestr(ct, "audio/wav") ||
        sa_wav_parse((const uint8_t *)r->body, r->body_len, &w) || w.format != 1 || w.bits != 16) {
        error_reply(c, 0, 400, "BadRequest", "Unsupported audio format", NULL);
        return;
    }
    size_t ns = 0, used = 0;
    size_t max = (size_t)w.rate * (size_t)w.channels * 2 * 60;
    int16_t *pcm =
        sa_decode(SA_PCM16, w.channels, w.data, w.data_len < max ? w.data_len : max, &ns, &used);
    heard h = {0};
    if (pcm) {
        sa_vad v;
        sa_vad_init(&v, w.rate, a->o.threshold_db);
        sa_vad_feed(&v, pcm, ns, heard_frame, &h);
        sa_vad_free(&v);
    }
    free(pcm);
    uint64_t total_ms = (uint64_t)ns * 1000 / (uint64_t)w.rate;
    json_t *j;
    if (h.any) {
        char *text = sa_script_pop(&a->script);
        const char *t = text ? text : "";
        long long off = (long long)h.first * 10000, dur = (long long)(h.last - h.first) * 10000;
        if (!*t) {
            j = json_pack("{s:s,s:I,s:I}", "RecognitionStatus", "NoMatch", "Offset", off,
                          "Duration", dur);
        } else {
            j = json_pack("{s:s,s:I,s:I,s:s}", "RecognitionStatus", "Success", "Offset", off,
                          "Duration", dur, "DisplayText", t);
            if (detailed) {
                char lex[4096];
                lexical(t, lex, sizeof lex);
                json_object_set_new(j, "NBest",
                                    json_pack("[{s:f,s:s,s:s,s:s,s:s}]", "Confidence", 0.93,
                                              "Lexical", lex, "ITN", lex, "MaskedITN", lex,
                                              "Display", t));
            }
        }
        free(text);
    } else {
        j = json_pack("{s:s,s:I,s:I}", "RecognitionStatus",
                      total_ms >= 5000 ? "InitialSilenceTimeout" : "NoMatch", "Offset",
                      (long long)total_ms * 10000, "Duration", 0LL);
    }
    int lat = a->o.stt_latency_ms > 0 ? a->o.stt_latency_ms : 0;
    uint64_t at = sf_start(f, lat);
    if (f && f->cut) {
        svc_close(c, at);
        json_decref(j);
        return;
    }
    char *body = json_dumps(j, JFLAGS);
    json_decref(j);
    if (body && f && f->malformed)
        body[strlen(body) / 2] = '\0';
    svc_respond(c, at, 200, NULL, "application/json; charset=utf-8", body ? body : "{}",
                body ? strlen(body) : 2);
    free(body);
}

/* ---- TTS ---- */

typedef struct outfmt {
    const char *name;
    sa_enc enc;
    int rate;
    int riff;
} outfmt;

static const outfmt formats[] = {
    {"raw-8khz-8bit-mono-mulaw", SA_ULAW, 8000, 0},
    {"raw-8khz-8bit-mono-alaw", SA_ALAW, 8000, 0},
    {"raw-8khz-16bit-mono-pcm", SA_PCM16, 8000, 0},
    {"raw-16khz-16bit-mono-pcm", SA_PCM16, 16000, 0},
    {"raw-22050hz-16bit-mono-pcm", SA_PCM16, 22050, 0},
    {"raw-24khz-16bit-mono-pcm", SA_PCM16, 24000, 0},
    {"raw-44100hz-16bit-mono-pcm", SA_PCM16, 44100, 0},
    {"raw-48khz-16bit-mono-pcm", SA_PCM16, 48000, 0},
    {"riff-8khz-8bit-mono-mulaw", SA_ULAW, 8000, 1},
    {"riff-8khz-8bit-mono-alaw", SA_ALAW, 8000, 1},
    {"riff-8khz-16bit-mono-pcm", SA_PCM16, 8000, 1},
    {"riff-16khz-16bit-mono-pcm", SA_PCM16, 16000, 1},
    {"riff-22050hz-16bit-mono-pcm", SA_PCM16, 22050, 1},
    {"riff-24khz-16bit-mono-pcm", SA_PCM16, 24000, 1},
    {"riff-44100hz-16bit-mono-pcm", SA_PCM16, 44100, 1},
    {"riff-48khz-16bit-mono-pcm", SA_PCM16, 48000, 1},
};

/* The text of an SSML document (tags dropped, the five entities decoded);
 * NULL when it is not <speak> with a <voice name="...">. */
static char *ssml_text(const char *ssml, size_t len)
{
    const char *p = ssml;
    while (p < ssml + len && isspace((unsigned char)*p))
        p++;
    if (!strncmp(p, "<?xml", 5)) {
        p = strstr(p, "?>");
        if (!p)
            return NULL;
        p += 2;
        while (*p && isspace((unsigned char)*p))
            p++;
    }
    if (strncmp(p, "<speak", 6) || !strstr(p, "</speak>"))
        return NULL;
    const char *v = strstr(p, "<voice");
    if (!v || !strstr(v, "name=") || !strstr(p, "</voice>"))
        return NULL;
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    int depth = 0;
    for (const char *q = v; q < ssml + len && *q; q++) {
        if (*q == '<') {
            const char *e = strchr(q, '>');
            if (!e) {
                free(out);
                return NULL;
            }
            if (!strncmp(q, "</voice", 7))
                depth = 0;
            else if (!strncmp(q, "<voice", 6))
                depth = 1;
            else if (!strncmp(q, "<break", 6) && k && out[k - 1] != ' ')
                out[k++] = ',';
            q = e;
            continue;
        }
        if (!depth)
            continue;
        if (*q == '&') {
            static const struct {
                const char *ent;
                char c;
            } ents[] = {
                {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
            int hit = 0;
            for (size_t i = 0; i < 5; i++) {
                size_t el = strlen(ents[i].ent);
                if (!strncmp(q, ents[i].ent, el)) {
                    out[k++] = ents[i].c;
                    q += el - 1;
                    hit = 1;
                    break;
                }
            }
            if (!hit) {
                free(out);
                return NULL; /* a bare & is not XML */
            }
            continue;
        }
        out[k++] = *q;
    }
    out[k] = '\0';
    return out;
}

static void tts(azure_speech_standin *a, svc_conn *c, const svc_req *r, const speech_fault *f)
{
    const char *of = svc_req_header(r, "X-Microsoft-OutputFormat");
    const char *ct = svc_req_header(r, "Content-Type");
    if (!ct || !strcasestr(ct, "application/ssml+xml")) {
        svc_respond(c, 0, 415, NULL, "text/plain", "", 0);
        return;
    }
    if (!of) {
        error_reply(c, 0, 400, "BadRequest", "X-Microsoft-OutputFormat header is required.", NULL);
        return;
    }
    const outfmt *fmt = NULL;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (!strcasecmp(of, formats[i].name))
            fmt = &formats[i];
    if (!fmt) {
        int compressed = strstr(of, "mp3") || strstr(of, "opus") || strstr(of, "webm") ||
                         strstr(of, "amr") || strstr(of, "g722");
        error_reply(c, 0, 400, "BadRequest",
                    compressed ? "standin: compressed output formats are not encoded by the "
                                 "stand-in (use a raw-* or riff-* PCM/G.711 format)"
                               : "Unsupported output format.",
                    NULL);
        return;
    }
    char *text = ssml_text(r->body, r->body_len);
    if (!text) {
        error_reply(c, 0, 400, "BadRequest",
                    "SSML is invalid: expected <speak> with a <voice name=\"...\"> element.", NULL);
        return;
    }
    size_t n = 0;
    int16_t *pcm = sa_synth(text, fmt->rate, 1.0, &n, NULL, NULL);
    free(text);
    size_t blen = 0;
    uint8_t *bytes = pcm ? sa_encode(fmt->enc, pcm, n, &blen) : NULL;
    free(pcm);
    uint8_t *all = bytes ? malloc(blen + 64) : NULL;
    size_t alen = 0;
    if (all) {
        if (fmt->riff)
            alen = sa_wav_header(all,
                                 fmt->enc == SA_ULAW   ? 7
                                 : fmt->enc == SA_ALAW ? 6
                                                       : 1,
                                 1, fmt->rate, (uint32_t)blen);
        memcpy(all + alen, bytes, blen);
        alen += blen;
    }
    free(bytes);
    int ttfb = a->o.tts_ttfb_ms > 0 ? a->o.tts_ttfb_ms : 0;
    uint64_t t0 = sf_start(f, ttfb);
    size_t bps = (size_t)fmt->rate * (fmt->enc == SA_PCM16 ? 2 : 1);
    char extra[96];
    snprintf(extra, sizeof extra, "X-RequestId: %032lx\r\n", ++a->seq);
    svc_respond_chunked(c, t0, 200, extra, fmt->riff ? "audio/x-wav" : "audio/basic");
    sf_stream_chunks(c, f, t0, all, alen, bps / 10, a->o.tts_chunk_ms);
    free(all);
}

/* ---- routing ---- */

static void on_request(svc_conn *c, const svc_req *r, void *ud)
{
    azure_speech_standin *a = ud;
    static const char stt_sfx[] = "/cognitiveservices/v1";
    int is_token =
        !strcmp(r->path, "/sts/v1.0/issueToken") || !strcmp(r->path, "/sts/v1.0/issuetoken");
    int is_tts = !strcmp(r->path, "/cognitiveservices/v1");
    int is_stt = 0;
    static const char *const modes[] = {"conversation", "interactive", "dictation"};
    for (size_t i = 0; i < 3; i++) {
        char p[128];
        snprintf(p, sizeof p, "/speech/recognition/%s%s", modes[i], stt_sfx);
        is_stt |= !strcmp(r->path, p);
    }
    if (!is_token && !is_tts && !is_stt) {
        error_reply(c, 0, 404, "404", "Resource not found", NULL);
        return;
    }
    if (strcmp(r->method, "POST")) {
        error_reply(c, 0, 405, "405", "Method not allowed", NULL);
        return;
    }
    if (is_token) {
        const char *k = svc_req_header(r, "Ocp-Apim-Subscription-Key");
        if (!k || strcmp(k, a->key)) {
            unauthorized(c);
            return;
        }
        char *tok = issue_token(a);
        svc_respond(c, 0, tok ? 200 : 500, NULL, "text/plain; charset=us-ascii", tok ? tok : "",
                    tok ? strlen(tok) : 0);
        free(tok);
        return;
    }
    if (!authorized(a, r)) {
        unauthorized(c);
        return;
    }
    speech_fault f;
    int has = sf_pop(&a->faults, &f);
    if (has && f.drop)
        svc_close(c, sf_start(&f, 0));
    else if (has && f.status)
        fault_reply(c, &f);
    else if (is_stt)
        stt(a, c, r, has ? &f : NULL);
    else
        tts(a, c, r, has ? &f : NULL);
    sf_clear(&f);
}

azure_speech_standin *azure_speech_standin_start(const azure_speech_standin_opts *o)
{
    azure_speech_standin *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    if (o)
        a->o = *o;
    a->key = strdup(a->o.key ? a->o.key : AZURE_SPEECH_STANDIN_KEY);
    if (a->o.stt_latency_ms == 0)
        a->o.stt_latency_ms = 300;
    if (a->o.tts_ttfb_ms == 0)
        a->o.tts_ttfb_ms = 200;
    if (a->o.tts_chunk_ms <= 0)
        a->o.tts_chunk_ms = 50;
    if (a->o.token_lifetime_s == 0)
        a->o.token_lifetime_s = 600;
    if (a->o.threshold_db >= 0)
        a->o.threshold_db = -40.0;
    svc_ops ops = {on_request, NULL, NULL, NULL};
    a->s = a->key ? svc_start(&ops, a) : NULL;
    if (!a->s) {
        free(a->key);
        free(a);
        return NULL;
    }
    return a;
}

int azure_speech_standin_port(azure_speech_standin *a)
{
    return a ? svc_port(a->s) : -1;
}

svc *azure_speech_standin_svc(azure_speech_standin *a)
{
    return a ? a->s : NULL;
}

void azure_speech_standin_say(azure_speech_standin *a, const char *text)
{
    svc_lock(a->s);
    sa_script_push(&a->script, text);
    svc_unlock(a->s);
}

int azure_speech_standin_pending(azure_speech_standin *a)
{
    svc_lock(a->s);
    int n = (int)sa_script_pending(&a->script);
    svc_unlock(a->s);
    return n;
}

void azure_speech_standin_push_fault(azure_speech_standin *a, const speech_fault *f)
{
    svc_lock(a->s);
    sf_push(&a->faults, f);
    svc_unlock(a->s);
}

void azure_speech_standin_stop(azure_speech_standin *a)
{
    if (!a)
        return;
    svc_stop(a->s);
    sf_free(&a->faults);
    sa_script_free(&a->script);
    free(a->key);
    free(a);
}
