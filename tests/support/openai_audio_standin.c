/* OpenAI audio stand-in: see openai_audio_standin.h. */
#include "support/openai_audio_standin.h"

#include "support/standin_audio.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JFLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(8))

struct openai_audio_standin {
    svc *s;
    char *key;
    openai_audio_standin_opts o;
    sa_script script;
    speech_faults faults;
    unsigned long seq;
};

static char *dumps(json_t *j)
{
    char *s = json_dumps(j, JFLAGS);
    json_decref(j);
    return s;
}

static void reply_json(svc_conn *c, uint64_t at, int status, const char *extra, json_t *j)
{
    char *body = dumps(j);
    svc_respond(c, at, status, extra, "application/json", body ? body : "{}",
                body ? strlen(body) : 2);
    free(body);
}

static json_t *error_body(const char *message, const char *type, const char *param,
                          const char *code)
{
    return json_pack("{s:{s:s,s:s,s:s?,s:s?}}", "error", "message", message, "type", type, "param",
                     param, "code", code);
}

static void bad_request(svc_conn *c, const char *message, const char *param, const char *code)
{
    reply_json(c, 0, 400, NULL, error_body(message, "invalid_request_error", param, code));
}

/* A status fault: the body OpenAI sends with it. */
static void fault_reply(svc_conn *c, const speech_fault *f)
{
    uint64_t at = sf_start(f, 0);
    char extra[256] = "";
    if (f->retry_after > 0)
        snprintf(extra, sizeof extra, "retry-after: %d\r\n", f->retry_after);
    if (f->status == 429) {
        char more[200];
        snprintf(more, sizeof more,
                 "x-ratelimit-limit-requests: 500\r\nx-ratelimit-remaining-requests: 0\r\n"
                 "x-ratelimit-reset-requests: %ds\r\n",
                 f->retry_after > 0 ? f->retry_after : 1);
        strncat(extra, more, sizeof extra - strlen(extra) - 1);
        reply_json(c, at, 429, extra,
                   error_body("Rate limit reached for requests. Please try again later.",
                              "requests", NULL, "rate_limit_exceeded"));
    } else if (f->status == 401) {
        reply_json(c, at, 401, extra,
                   error_body("Incorrect API key provided.", "invalid_request_error", NULL,
                              "invalid_api_key"));
    } else {
        reply_json(c, at, f->status, extra,
                   error_body("The server had an error while processing your request. Sorry "
                              "about that!",
                              "server_error", NULL, NULL));
    }
}

/* 1 when auth passed; else a 401 was queued. */
static int check_auth(openai_audio_standin *a, svc_conn *c, const svc_req *r, int *subproto)
{
    const char *auth = svc_req_header(r, "Authorization");
    if (subproto)
        *subproto = 0;
    if (auth && !strncmp(auth, "Bearer ", 7) && !strcmp(auth + 7, a->key))
        return 1;
    if (!auth && subproto) {
        const char *p = svc_req_header(r, "Sec-WebSocket-Protocol");
        char want[256];
        snprintf(want, sizeof want, "openai-insecure-api-key.%s", a->key);
        if (p && strstr(p, want) && strstr(p, "realtime")) {
            *subproto = 1;
            return 1;
        }
    }
    reply_json(c, 0, 401, NULL,
               error_body(auth ? "Incorrect API key provided."
                               : "You didn't provide an API key. You need to provide your API "
                                 "key in an Authorization header using Bearer auth (i.e. "
                                 "Authorization: Bearer YOUR_KEY).",
                          "invalid_request_error", NULL, auth ? "invalid_api_key" : NULL));
    return 0;
}

/* ---- recognition of a whole file ---- */

typedef struct heard {
    int speech_run, any;
    uint64_t first, last;
} heard;

static void heard_frame(void *ud, uint64_t start, int speech)
{
    heard *h = ud;
    if (speech) {
        h->speech_run += 20;
        if (h->speech_run >= 40 && !h->any) {
            h->any = 1;
            h->first = start + 20 - (uint64_t)h->speech_run;
        }
        if (h->any)
            h->last = start + 20;
    } else {
        h->speech_run = 0;
    }
}

/* Decodes a WAV file and finds speech; -1 when it is not a usable WAV. */
static int listen_wav(const uint8_t *p, size_t n, double threshold_db, heard *h, double *secs)
{
    sa_wav w;
    memset(h, 0, sizeof *h);
    if (sa_wav_parse(p, n, &w))
        return -1;
    sa_enc enc = w.format == 7 ? SA_ULAW : w.format == 6 ? SA_ALAW : SA_PCM16;
    if (!((w.format == 1 && w.bits == 16) || w.format == 6 || w.format == 7 ||
          (w.format == 3 && w.bits == 32)))
        return -1;
    if (w.format == 3)
        enc = SA_PCM32F;
    size_t ns = 0, used = 0;
    int16_t *pcm = sa_decode(enc, w.channels, w.data, w.data_len, &ns, &used);
    if (!pcm)
        return -1;
    sa_vad v;
    sa_vad_init(&v, w.rate, threshold_db);
    sa_vad_feed(&v, pcm, ns, heard_frame, h);
    sa_vad_free(&v);
    free(pcm);
    *secs = (double)ns / w.rate;
    return 0;
}

/* ---- multipart ---- */

typedef struct part {
    char name[64];
    char filename[256];
    const uint8_t *data;
    size_t len;
} part;

static int multipart(const char *ctype, const uint8_t *body, size_t len, part *parts, int max)
{
    const char *b = ctype ? strcasestr(ctype, "boundary=") : NULL;
    if (!b)
        return -1;
    char delim[256];
    b += 9;
    size_t bl = strcspn(b, ";");
    if (*b == '"') {
        b++;
        bl = strcspn(b, "\"");
    }
    if (bl == 0 || bl > 200)
        return -1;
    int dl = snprintf(delim, sizeof delim, "--%.*s", (int)bl, b);
    int np = 0;
    const uint8_t *p = memmem(body, len, delim, (size_t)dl);
    while (p && np < max) {
        p += dl;
        if ((size_t)(p - body) + 2 <= len && p[0] == '-' && p[1] == '-')
            break; /* closing delimiter */
        const uint8_t *hs = memmem(p, len - (size_t)(p - body), "\r\n", 2);
        if (!hs)
            return -1;
        hs += 2;
        const uint8_t *he = memmem(hs, len - (size_t)(hs - body), "\r\n\r\n", 4);
        if (!he)
            return -1;
        part *pt = &parts[np];
        memset(pt, 0, sizeof *pt);
        char head[2048];
        size_t hl = (size_t)(he - hs) < sizeof head - 1 ? (size_t)(he - hs) : sizeof head - 1;
        memcpy(head, hs, hl);
        head[hl] = '\0';
        const char *nm = strcasestr(head, "name=\"");
        if (nm && (nm == head || nm[-1] != 'e')) /* not filename= */
            sscanf(nm + 6, "%63[^\"]", pt->name);
        else if ((nm = strstr(head, "; name=\"")) != NULL)
            sscanf(nm + 8, "%63[^\"]", pt->name);
        const char *fn = strcasestr(head, "filename=\"");
        if (fn)
            sscanf(fn + 10, "%255[^\"]", pt->filename);
        const uint8_t *ds = he + 4;
        char end_delim[260];
        int el = snprintf(end_delim, sizeof end_delim, "\r\n%s", delim);
        const uint8_t *de = memmem(ds, len - (size_t)(ds - body), end_delim, (size_t)el);
        if (!de)
            return -1;
        pt->data = ds;
        pt->len = (size_t)(de - ds);
        np++;
        p = de + 2;
    }
    return np;
}

static const part *find_part(const part *v, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i].name, name))
            return &v[i];
    return NULL;
}

static void part_str(const part *p, char *out, size_t n)
{
    size_t k = p && p->len < n ? p->len : n - 1;
    if (!p)
        k = 0;
    if (k)
        memcpy(out, p->data, k);
    out[k] = '\0';
}

static void fmt_ts(char *out, size_t n, double t, char sep)
{
    int ms = (int)lround(t * 1000);
    snprintf(out, n, "%02d:%02d:%02d%c%03d", ms / 3600000, ms / 60000 % 60, ms / 1000 % 60, sep,
             ms % 1000);
}

static int is_gpt4o(const char *model)
{
    return !strncmp(model, "gpt-4o", 6);
}

static void transcriptions(openai_audio_standin *a, svc_conn *c, const svc_req *r,
                           const speech_fault *f)
{
    part parts[32];
    int np = multipart(svc_req_header(r, "Content-Type"), (const uint8_t *)r->body, r->body_len,
                       parts, 32);
    if (np < 0) {
        bad_request(c, "Invalid multipart/form-data request body.", NULL, NULL);
        return;
    }
    const part *file = find_part(parts, np, "file");
    char model[128], fmt[32], stream[16], lang[32];
    part_str(find_part(parts, np, "model"), model, sizeof model);
    part_str(find_part(parts, np, "response_format"), fmt, sizeof fmt);
    part_str(find_part(parts, np, "stream"), stream, sizeof stream);
    part_str(find_part(parts, np, "language"), lang, sizeof lang);
    if (!fmt[0])
        snprintf(fmt, sizeof fmt, "json");
    if (!model[0]) {
        bad_request(c, "you must provide a model parameter", "model", NULL);
        return;
    }
    if (strcmp(model, "whisper-1") && !is_gpt4o(model)) {
        reply_json(c, 0, 404, NULL,
                   error_body("The model does not exist or you do not have access to it.",
                              "invalid_request_error", NULL, "model_not_found"));
        return;
    }
    if (!file || !file->filename[0]) {
        bad_request(c, "Missing required parameter: 'file'.", "file", "missing_required_parameter");
        return;
    }
    const char *dot = strrchr(file->filename, '.');
    static const char *const exts[] = {"flac", "m4a", "mp3", "mp4",  "mpeg", "mpga",
                                       "oga",  "ogg", "wav", "webm", NULL};
    int ext_ok = 0;
    for (int i = 0; dot && exts[i]; i++)
        ext_ok |= !strcasecmp(dot + 1, exts[i]);
    if (!ext_ok) {
        bad_request(c,
                    "Invalid file format. Supported formats: ['flac', 'm4a', 'mp3', 'mp4', "
                    "'mpeg', 'mpga', 'oga', 'ogg', 'wav', 'webm']",
                    "file", "invalid_value");
        return;
    }
    static const char *const fmts[] = {"json", "text", "srt", "verbose_json", "vtt", NULL};
    int fmt_ok = 0;
    for (int i = 0; fmts[i]; i++)
        fmt_ok |= !strcmp(fmt, fmts[i]);
    if (!fmt_ok || (is_gpt4o(model) && strcmp(fmt, "json") && strcmp(fmt, "text"))) {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "response_format '%s' is not compatible with model '%s'. Use 'json' or 'text'.",
                 fmt, model);
        bad_request(c, fmt_ok ? msg : "Invalid value for 'response_format'.", "response_format",
                    "unsupported_value");
        return;
    }
    heard h;
    double secs = 0;
    if (strcasecmp(dot + 1, "wav")) {
        bad_request(c, "standin: only WAV audio is decoded by the stand-in", "file",
                    "invalid_value");
        return;
    }
    if (listen_wav(file->data, file->len, a->o.threshold_db, &h, &secs)) {
        bad_request(c, "Audio file might be corrupted or unsupported", "file", "invalid_value");
        return;
    }
    char *text = h.any ? sa_script_pop(&a->script) : NULL;
    const char *t = text ? text : "";
    int latency = a->o.stt_latency_ms > 0 ? a->o.stt_latency_ms : 0;
    uint64_t at = sf_start(f, latency + (int)(secs * 50));
    int words = 0;
    size_t nw = 0;
    char **wv = sa_words(t, &nw);
    words = (int)nw;
    int audio_tokens = (int)(secs * 10) + 1;
    json_t *usage = is_gpt4o(model)
                        ? json_pack("{s:s,s:i,s:{s:i,s:i},s:i,s:i}", "type", "tokens",
                                    "input_tokens", audio_tokens, "input_token_details",
                                    "text_tokens", 0, "audio_tokens", audio_tokens, "output_tokens",
                                    words + 1, "total_tokens", audio_tokens + words + 1)
                        : json_pack("{s:s,s:i}", "type", "duration", "seconds", (int)ceil(secs));
    char xrid[64];
    snprintf(xrid, sizeof xrid, "x-request-id: req_standin_audio_%lu\r\n", ++a->seq);
    if (!strcmp(stream, "true") && is_gpt4o(model)) {
        svc_respond_chunked(c, at, 200, xrid, "text/event-stream; charset=utf-8");
        uint64_t due = at;
        int k = 0;
        for (size_t i = 0; i < nw; i++, k++) {
            char piece[512];
            snprintf(piece, sizeof piece, "%s%s", i ? " " : "", wv[i]);
            char *ev =
                dumps(json_pack("{s:s,s:s}", "type", "transcript.text.delta", "delta", piece));
            char sse[1024];
            int n = snprintf(sse, sizeof sse, "data: %s\n\n", ev ? ev : "{}");
            free(ev);
            if (f && k == f->after && (f->cut || f->garbage)) {
                if (f->garbage)
                    svc_write_raw(c, due, "zz\r\n", 4);
                svc_close(c, due + 10);
                goto out;
            }
            svc_chunk(c, due, sse, (size_t)(f && k == f->after && f->malformed ? n / 2 : n));
            due += 30 + (f && k == f->after ? (uint64_t)f->stall_ms : 0);
        }
        char *done = dumps(
            json_pack("{s:s,s:s,s:o}", "type", "transcript.text.done", "text", t, "usage", usage));
        usage = NULL;
        char *sse = malloc(strlen(done ? done : "{}") + 10);
        if (sse) {
            int n = sprintf(sse, "data: %s\n\n", done ? done : "{}");
            svc_chunk(c, due, sse, (size_t)n);
        }
        free(sse);
        free(done);
        svc_chunk_end(c, due);
        goto out;
    }
    char *body = NULL;
    const char *ctype = "application/json";
    if (!strcmp(fmt, "json")) {
        body = dumps(json_pack("{s:s,s:o}", "text", t, "usage", usage));
        usage = NULL;
    } else if (!strcmp(fmt, "verbose_json")) {
        json_t *v = json_pack("{s:s,s:s,s:f,s:s}", "task", "transcribe", "language",
                              lang[0] ? lang : "english", "duration", secs, "text", t);
        double st = h.any ? h.first / 1000.0 : 0, en = h.any ? h.last / 1000.0 : secs;
        json_object_set_new(v, "segments",
                            json_pack("[{s:i,s:i,s:f,s:f,s:s,s:[],s:f,s:f,s:f,s:f}]", "id", 0,
                                      "seek", 0, "start", st, "end", en, "text", t, "tokens",
                                      "temperature", 0.0, "avg_logprob", -0.2, "compression_ratio",
                                      1.1, "no_speech_prob", h.any ? 0.01 : 0.9));
        json_t *ws = json_array();
        for (size_t i = 0; i < nw; i++) {
            char plain[256];
            sa_plain_word(wv[i], plain, sizeof plain);
            double slot = nw ? (en - st) / (double)nw : 0;
            json_array_append_new(ws, json_pack("{s:s,s:f,s:f}", "word", plain, "start",
                                                st + slot * i, "end", st + slot * (i + 0.85)));
        }
        const part *g = find_part(parts, np, "timestamp_granularities[]");
        if (g && g->len == 4 && !memcmp(g->data, "word", 4))
            json_object_set_new(v, "words", ws);
        else
            json_decref(ws);
        json_object_set_new(v, "usage", usage);
        usage = NULL;
        body = dumps(v);
    } else if (!strcmp(fmt, "text")) {
        body = malloc(strlen(t) + 2);
        if (body)
            sprintf(body, "%s\n", t);
        ctype = "text/plain; charset=utf-8";
    } else {
        char a1[32], a2[32];
        int vtt = !strcmp(fmt, "vtt");
        fmt_ts(a1, sizeof a1, h.any ? h.first / 1000.0 : 0, vtt ? '.' : ',');
        fmt_ts(a2, sizeof a2, h.any ? h.last / 1000.0 : secs, vtt ? '.' : ',');
        body = malloc(strlen(t) + 128);
        if (body) {
            if (vtt)
                sprintf(body, "WEBVTT\n\n%s --> %s\n%s\n\n", a1, a2, t);
            else
                sprintf(body, "1\n%s --> %s\n%s\n\n", a1, a2, t);
        }
        ctype = "text/plain; charset=utf-8";
    }
    if (body && f && f->malformed && f->after == 0)
        body[strlen(body) / 2] = '\0';
    if (f && f->cut) {
        svc_close(c, at);
    } else {
        svc_respond(c, at, 200, xrid, ctype, body ? body : "", body ? strlen(body) : 0);
    }
    free(body);
out:
    json_decref(usage);
    sa_words_free(wv, nw);
    free(text);
}

/* ---- speech ---- */

static void speech(openai_audio_standin *a, svc_conn *c, const svc_req *r, const speech_fault *f)
{
    json_error_t je;
    json_t *j = json_loadb(r->body, r->body_len, 0, &je);
    if (!json_is_object(j)) {
        json_decref(j);
        bad_request(c,
                    "We could not parse the JSON body of your request. (HINT: This likely means "
                    "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                    "payload, but what was sent was not valid JSON.)",
                    NULL, NULL);
        return;
    }
    const char *model = json_string_value(json_object_get(j, "model"));
    const char *input = json_string_value(json_object_get(j, "input"));
    json_t *voice = json_object_get(j, "voice");
    const char *fmt = json_string_value(json_object_get(j, "response_format"));
    const char *sfmt = json_string_value(json_object_get(j, "stream_format"));
    json_t *speedj = json_object_get(j, "speed");
    double speed = json_is_number(speedj) ? json_number_value(speedj) : 1.0;
    int tts1 = model && !strncmp(model, "tts-1", 5);
    char msg[256];
    if (!model) {
        bad_request(c, "you must provide a model parameter", "model", NULL);
    } else if (!tts1 && strncmp(model, "gpt-4o-mini-tts", 15)) {
        reply_json(c, 0, 404, NULL,
                   error_body("The model does not exist or you do not have access to it.",
                              "invalid_request_error", NULL, "model_not_found"));
    } else if (!input) {
        bad_request(c, "Missing required parameter: 'input'.", "input",
                    "missing_required_parameter");
    } else if (!*input || strlen(input) > 4096) {
        snprintf(msg, sizeof msg,
                 *input ? "Invalid 'input': string too long. Expected a string with maximum "
                          "length 4096, but got a string with length %zu instead."
                        : "Invalid 'input': empty string. Expected a string with minimum "
                          "length 1, but got an empty string instead.",
                 strlen(input));
        bad_request(c, msg, "input", *input ? "string_above_max_length" : "empty_string");
    } else if (!voice || !(json_is_string(voice) || json_is_string(json_object_get(voice, "id")))) {
        bad_request(c, "Missing required parameter: 'voice'.", "voice",
                    "missing_required_parameter");
    } else if (speed < 0.25 || speed > 4.0) {
        bad_request(c, "Invalid 'speed': must be between 0.25 and 4.0.", "speed", "invalid_value");
    } else if (json_object_get(j, "instructions") && tts1) {
        bad_request(c, "Instructions are not supported for tts-1 and tts-1-hd.", "instructions",
                    "unsupported_parameter");
    } else if (sfmt && strcmp(sfmt, "audio") && strcmp(sfmt, "sse")) {
        bad_request(c, "Invalid value for 'stream_format'.", "stream_format", "invalid_value");
    } else if (sfmt && !strcmp(sfmt, "sse") && tts1) {
        bad_request(c, "stream_format 'sse' is not supported for tts-1 and tts-1-hd.",
                    "stream_format", "unsupported_value");
    } else if (fmt && strcmp(fmt, "pcm") && strcmp(fmt, "wav") && strcmp(fmt, "mp3") &&
               strcmp(fmt, "opus") && strcmp(fmt, "aac") && strcmp(fmt, "flac")) {
        bad_request(c, "Invalid value for 'response_format'.", "response_format", "invalid_value");
    } else if (!fmt || (strcmp(fmt, "pcm") && strcmp(fmt, "wav"))) {
        snprintf(msg, sizeof msg,
                 "standin: response_format %s is not synthesised by the stand-in (use pcm or "
                 "wav)",
                 fmt ? fmt : "mp3 (the default)");
        bad_request(c, msg, "response_format", "unsupported_value");
    } else {
        size_t n = 0;
        int16_t *pcm = sa_synth(input, 24000, speed, &n, NULL, NULL);
        size_t blen = 0;
        uint8_t *bytes = pcm ? sa_encode(SA_PCM16, pcm, n, &blen) : NULL;
        free(pcm);
        int wav = !strcmp(fmt, "wav");
        uint8_t *all = bytes ? malloc(blen + 64) : NULL;
        size_t alen = 0;
        if (all) {
            if (wav)
                alen = sa_wav_header(all, 1, 1, 24000, 0xFFFFFFFFu);
            memcpy(all + alen, bytes, blen);
            alen += blen;
        }
        free(bytes);
        int ttfb = a->o.tts_ttfb_ms > 0 ? a->o.tts_ttfb_ms : 0;
        uint64_t t0 = sf_start(f, ttfb);
        char xrid[64];
        snprintf(xrid, sizeof xrid, "x-request-id: req_standin_speech_%lu\r\n", ++a->seq);
        if (sfmt && !strcmp(sfmt, "sse")) {
            svc_respond_chunked(c, t0, 200, xrid, "text/event-stream; charset=utf-8");
            size_t chunk = 4800;
            int k = 0;
            uint64_t at = t0, stall = 0;
            for (size_t off = 0; all && off < alen; off += chunk, k++) {
                size_t m = alen - off < chunk ? alen - off : chunk;
                char *b64 = sa_b64(all + off, m);
                char *ev = dumps(
                    json_pack("{s:s,s:s}", "type", "speech.audio.delta", "audio", b64 ? b64 : ""));
                free(b64);
                size_t evl = ev ? strlen(ev) : 0;
                char *sse = malloc(evl + 10);
                if (f && k == f->after) {
                    if (f->cut || f->garbage) {
                        if (f->garbage)
                            svc_write_raw(c, at, "zz\r\n", 4);
                        svc_close(c, at + 10);
                        free(sse);
                        free(ev);
                        free(all);
                        json_decref(j);
                        return;
                    }
                    stall = (uint64_t)f->stall_ms;
                }
                if (sse) {
                    int sl = sprintf(sse, "data: %s\n\n", ev ? ev : "{}");
                    if (f && k == f->after && f->malformed)
                        sl /= 2;
                    svc_chunk(c, at + stall, sse, (size_t)sl);
                }
                free(sse);
                free(ev);
                at += (uint64_t)a->o.tts_chunk_ms;
            }
            int in_tok = (int)strlen(input) / 4 + 1, out_tok = (int)(alen / 4800) * 10;
            char *done = dumps(json_pack("{s:s,s:{s:i,s:i,s:i}}", "type", "speech.audio.done",
                                         "usage", "input_tokens", in_tok, "output_tokens", out_tok,
                                         "total_tokens", in_tok + out_tok));
            char *sse = malloc(strlen(done ? done : "{}") + 10);
            if (sse) {
                int sl = sprintf(sse, "data: %s\n\n", done ? done : "{}");
                svc_chunk(c, at + stall, sse, (size_t)sl);
            }
            free(sse);
            free(done);
            svc_chunk_end(c, at + stall);
        } else {
            svc_respond_chunked(c, t0, 200, xrid, wav ? "audio/wav" : "audio/pcm");
            sf_stream_chunks(c, f, t0, all, alen, 4800, a->o.tts_chunk_ms);
        }
        free(all);
    }
    json_decref(j);
}

/* ---- realtime transcription session ---- */

typedef struct rtc {
    openai_audio_standin *a;
    svc_conn *c;
    speech_fault fault;
    int has_fault, stalled, nsent;
    unsigned long ev;
    char session_id[40];
    /* session */
    sa_enc enc;
    int rate;
    char model[64], language[16], prompt[256];
    int vad; /* server_vad on */
    double threshold;
    int prefix_ms, silence_ms;
    /* audio */
    sa_vad v;
    uint64_t buf_start; /* audio ms where the uncommitted buffer begins */
    uint64_t now_audio;
    int speech_run, silence_run, in_speech;
    uint64_t speech_start, speech_end;
    int speech_in_buffer; /* the uncommitted buffer has speech (manual commits) */
    char item[40];
    int have_item;
    char prev_item[40];
    unsigned long items;
} rtc;

static void rt_send(rtc *t, json_t *ev, int extra_ms)
{
    char id[40];
    snprintf(id, sizeof id, "event_standin%08lu", ++t->ev);
    json_t *m = json_object();
    json_object_set_new(m, "type", json_incref(json_object_get(ev, "type")));
    json_object_set_new(m, "event_id", json_string(id));
    json_object_update(m, ev);
    json_decref(ev);
    char *text = dumps(m);
    if (!text)
        return;
    int lat = t->a->o.rt_latency_ms > 0 ? t->a->o.rt_latency_ms : 0;
    uint64_t at = svc_now_ms() + (uint64_t)(lat + (extra_ms > 0 ? extra_ms : 0));
    sf_ws_text(t->c, t->has_fault ? &t->fault : NULL, t->nsent++, at, text, &t->stalled);
    free(text);
}

static json_t *session_json(rtc *t)
{
    json_t *fmt = t->enc == SA_PCM16  ? json_pack("{s:s,s:i}", "type", "audio/pcm", "rate", 24000)
                  : t->enc == SA_ULAW ? json_pack("{s:s}", "type", "audio/pcmu")
                                      : json_pack("{s:s}", "type", "audio/pcma");
    json_t *tr = t->model[0] ? json_pack("{s:s,s:s?,s:s}", "model", t->model, "language",
                                         t->language[0] ? t->language : NULL, "prompt", t->prompt)
                             : json_null();
    json_t *td =
        t->vad ? json_pack("{s:s,s:f,s:i,s:i}", "type", "server_vad", "threshold", t->threshold,
                           "prefix_padding_ms", t->prefix_ms, "silence_duration_ms", t->silence_ms)
               : json_null();
    return json_pack("{s:s,s:s,s:s,s:{s:{s:o,s:o,s:n,s:o}},s:n}", "type", "transcription", "object",
                     "realtime.transcription_session", "id", t->session_id, "audio", "input",
                     "format", fmt, "transcription", tr, "noise_reduction", "turn_detection", td,
                     "include");
}

static void rt_error(rtc *t, const char *code, const char *message, const char *param,
                     const char *client_event_id)
{
    rt_send(t,
            json_pack("{s:s,s:{s:s,s:s,s:s,s:s?,s:s?}}", "type", "error", "error", "type",
                      "invalid_request_error", "code", code, "message", message, "param", param,
                      "event_id", client_event_id),
            0);
}

static void new_item(rtc *t)
{
    if (t->have_item)
        return;
    snprintf(t->item, sizeof t->item, "item_standin%06lu", ++t->items);
    t->have_item = 1;
}

/* The buffer [buf_start, end) becomes an item and is transcribed. */
static void commit(rtc *t, uint64_t end, int with_speech)
{
    new_item(t);
    rt_send(t,
            json_pack("{s:s,s:s?,s:s}", "type", "input_audio_buffer.committed", "previous_item_id",
                      t->prev_item[0] ? t->prev_item : NULL, "item_id", t->item),
            0);
    rt_send(t,
            json_pack("{s:s,s:s?,s:{s:s,s:s,s:s,s:s,s:[{s:s,s:n}]}}", "type",
                      "conversation.item.added", "previous_item_id",
                      t->prev_item[0] ? t->prev_item : NULL, "item", "id", t->item, "object",
                      "realtime.item", "type", "message", "role", "user", "content", "type",
                      "input_audio", "transcript"),
            0);
    char *text = with_speech ? sa_script_pop(&t->a->script) : NULL;
    const char *tx = text ? text : "";
    int stt = t->a->o.stt_latency_ms > 0 ? t->a->o.stt_latency_ms : 0;
    size_t nw = 0;
    char **w = sa_words(tx, &nw);
    int whisper = !strcmp(t->model, "whisper-1");
    int delay = stt;
    if (whisper) {
        rt_send(t,
                json_pack("{s:s,s:s,s:i,s:s}", "type",
                          "conversation.item.input_audio_transcription.delta", "item_id", t->item,
                          "content_index", 0, "delta", tx),
                delay);
    } else {
        for (size_t i = 0; i < nw; i++) {
            char piece[512];
            snprintf(piece, sizeof piece, "%s%s", i ? " " : "", w[i]);
            rt_send(t,
                    json_pack("{s:s,s:s,s:i,s:s}", "type",
                              "conversation.item.input_audio_transcription.delta", "item_id",
                              t->item, "content_index", 0, "delta", piece),
                    delay);
            delay += 25;
        }
    }
    double secs = (double)(end - t->buf_start) / 1000.0;
    int audio_tokens = (int)(secs * 10) + 1;
    json_t *usage = whisper
                        ? json_pack("{s:s,s:f}", "type", "duration", "seconds", secs)
                        : json_pack("{s:s,s:i,s:{s:i,s:i},s:i,s:i}", "type", "tokens",
                                    "input_tokens", audio_tokens, "input_token_details",
                                    "text_tokens", 0, "audio_tokens", audio_tokens, "output_tokens",
                                    (int)nw + 1, "total_tokens", audio_tokens + (int)nw + 1);
    rt_send(t,
            json_pack("{s:s,s:s,s:i,s:s,s:o}", "type",
                      "conversation.item.input_audio_transcription.completed", "item_id", t->item,
                      "content_index", 0, "transcript", tx, "usage", usage),
            delay);
    sa_words_free(w, nw);
    free(text);
    snprintf(t->prev_item, sizeof t->prev_item, "%s", t->item);
    t->have_item = 0;
    t->buf_start = end;
    t->speech_in_buffer = 0;
}

static void rt_frame(void *ud, uint64_t start, int speech)
{
    rtc *t = ud;
    uint64_t end = start + 20;
    t->now_audio = end;
    if (speech) {
        t->speech_run += 20;
        t->silence_run = 0;
        if (t->speech_run >= 40)
            t->speech_in_buffer = 1;
        if (t->vad && !t->in_speech && t->speech_run >= 40) {
            t->in_speech = 1;
            t->speech_start = end - (uint64_t)t->speech_run;
            uint64_t with_pad = t->speech_start > (uint64_t)t->prefix_ms
                                    ? t->speech_start - (uint64_t)t->prefix_ms
                                    : 0;
            if (with_pad < t->buf_start)
                with_pad = t->buf_start;
            new_item(t);
            rt_send(t,
                    json_pack("{s:s,s:i,s:s}", "type", "input_audio_buffer.speech_started",
                              "audio_start_ms", (int)with_pad, "item_id", t->item),
                    0);
        }
        if (t->in_speech)
            t->speech_end = end;
    } else {
        t->speech_run = 0;
        if (t->vad && t->in_speech) {
            t->silence_run += 20;
            if (t->silence_run >= t->silence_ms) {
                t->in_speech = 0;
                rt_send(t,
                        json_pack("{s:s,s:i,s:s}", "type", "input_audio_buffer.speech_stopped",
                                  "audio_end_ms", (int)end, "item_id", t->item),
                        0);
                commit(t, end, 1);
            }
        }
    }
}

static int apply_session(rtc *t, json_t *s, const char *eid)
{
    json_t *in = json_object_get(json_object_get(s, "audio"), "input");
    json_t *fmt = json_object_get(in, "format");
    if (fmt) {
        const char *ty = json_string_value(json_object_get(fmt, "type"));
        json_t *rate = json_object_get(fmt, "rate");
        if (ty && !strcmp(ty, "audio/pcm")) {
            if (rate && json_integer_value(rate) != 24000) {
                rt_error(t, "invalid_value",
                         "Invalid 'session.audio.input.format.rate': the only supported rate "
                         "is 24000.",
                         "session.audio.input.format.rate", eid);
                return -1;
            }
            t->enc = SA_PCM16;
            t->rate = 24000;
        } else if (ty && (!strcmp(ty, "audio/pcmu") || !strcmp(ty, "audio/pcma"))) {
            t->enc = ty[9] == 'u' ? SA_ULAW : SA_ALAW;
            t->rate = 8000;
        } else {
            rt_error(t, "invalid_value",
                     "Invalid 'session.audio.input.format.type': supported values are "
                     "'audio/pcm', 'audio/pcmu' and 'audio/pcma'.",
                     "session.audio.input.format.type", eid);
            return -1;
        }
        sa_vad_free(&t->v);
        sa_vad_init(&t->v, t->rate, -60 + 40 * t->threshold);
        t->v.t_ms = t->now_audio;
    }
    json_t *tr = json_object_get(in, "transcription");
    if (json_is_object(tr)) {
        const char *m = json_string_value(json_object_get(tr, "model"));
        const char *l = json_string_value(json_object_get(tr, "language"));
        const char *p = json_string_value(json_object_get(tr, "prompt"));
        snprintf(t->model, sizeof t->model, "%s", m ? m : "whisper-1");
        snprintf(t->language, sizeof t->language, "%s", l ? l : "");
        snprintf(t->prompt, sizeof t->prompt, "%s", p ? p : "");
    }
    json_t *td = json_object_get(in, "turn_detection");
    if (td && json_is_null(td)) {
        t->vad = 0;
    } else if (json_is_object(td)) {
        const char *ty = json_string_value(json_object_get(td, "type"));
        if (!ty || (strcmp(ty, "server_vad") && strcmp(ty, "semantic_vad"))) {
            rt_error(t, "invalid_value", "Invalid 'session.audio.input.turn_detection.type'.",
                     "session.audio.input.turn_detection.type", eid);
            return -1;
        }
        t->vad = 1;
        json_t *v;
        if ((v = json_object_get(td, "threshold")) && json_is_number(v))
            t->threshold = json_number_value(v);
        if ((v = json_object_get(td, "prefix_padding_ms")) && json_is_integer(v))
            t->prefix_ms = (int)json_integer_value(v);
        if ((v = json_object_get(td, "silence_duration_ms")) && json_is_integer(v))
            t->silence_ms = (int)json_integer_value(v);
        t->v.threshold_db = -60 + 40 * t->threshold;
    }
    return 0;
}

static void rt_message(rtc *t, const ws_msg *m)
{
    if (m->opcode != WS_TEXT)
        return;
    json_t *j = json_loadb((const char *)m->data, m->len, 0, NULL);
    const char *type = json_string_value(json_object_get(j, "type"));
    const char *eid = json_string_value(json_object_get(j, "event_id"));
    if (!json_is_object(j)) {
        rt_error(t, "invalid_json", "The server could not parse your JSON event.", NULL, NULL);
    } else if (!type) {
        rt_error(t, "missing_required_parameter", "Missing required parameter: 'type'.", "type",
                 eid);
    } else if (!strcmp(type, "session.update")) {
        json_t *s = json_object_get(j, "session");
        const char *st = json_string_value(json_object_get(s, "type"));
        if (!json_is_object(s) || !st || strcmp(st, "transcription"))
            rt_error(t, "invalid_value",
                     "Invalid 'session.type': this is a transcription session ('transcription').",
                     "session.type", eid);
        else if (!apply_session(t, s, eid))
            rt_send(t,
                    json_pack("{s:s,s:o}", "type", "session.updated", "session", session_json(t)),
                    0);
    } else if (!strcmp(type, "input_audio_buffer.append")) {
        const char *b64 = json_string_value(json_object_get(j, "audio"));
        size_t n = 0;
        uint8_t *bytes = b64 ? sa_unb64(b64, &n) : NULL;
        if (!bytes) {
            rt_error(t, "invalid_value", "Invalid 'audio': not valid base64.", "audio", eid);
        } else {
            svc_note_bytes(t->c, (long)n);
            size_t ns = 0, used = 0;
            int16_t *pcm = sa_decode(t->enc, 1, bytes, n, &ns, &used);
            if (pcm)
                sa_vad_feed(&t->v, pcm, ns, rt_frame, t);
            free(pcm);
        }
        free(bytes);
    } else if (!strcmp(type, "input_audio_buffer.commit")) {
        if (t->now_audio - t->buf_start < 100) {
            char msg[200];
            snprintf(msg, sizeof msg,
                     "Error committing input audio buffer: buffer too small. Expected at least "
                     "100ms of audio, but buffer only has %.2fms of audio.",
                     (double)(t->now_audio - t->buf_start));
            rt_error(t, "input_audio_buffer_commit_empty", msg, NULL, eid);
        } else {
            t->in_speech = 0;
            commit(t, t->now_audio, t->speech_in_buffer);
        }
    } else if (!strcmp(type, "input_audio_buffer.clear")) {
        t->buf_start = t->now_audio;
        t->speech_in_buffer = 0;
        t->in_speech = 0;
        rt_send(t, json_pack("{s:s}", "type", "input_audio_buffer.cleared"), 0);
    } else {
        char msg[256];
        snprintf(msg, sizeof msg,
                 "Invalid value: '%.100s'. Supported values are: "
                 "'session.update', 'input_audio_buffer.append', 'input_audio_buffer.commit', "
                 "'input_audio_buffer.clear'.",
                 type);
        rt_error(t, "invalid_value", msg, "type", eid);
    }
    json_decref(j);
}

static void realtime(openai_audio_standin *a, svc_conn *c, const svc_req *r, int subproto,
                     speech_fault *f, int has_fault)
{
    char intent[32];
    svc_query(r->query, "intent", intent, sizeof intent);
    if (strcmp(intent, "transcription")) {
        bad_request(c,
                    "standin: only transcription sessions (?intent=transcription) are "
                    "simulated",
                    NULL, NULL);
        sf_clear(f);
        return;
    }
    rtc *t = calloc(1, sizeof *t);
    if (!t) {
        sf_clear(f);
        svc_close(c, 0);
        return;
    }
    t->a = a;
    t->c = c;
    t->fault = *f;
    t->has_fault = has_fault;
    snprintf(t->session_id, sizeof t->session_id, "sess_standin%06lu", ++a->seq);
    t->enc = SA_PCM16;
    t->rate = 24000;
    t->vad = 1;
    t->threshold = 0.5;
    t->prefix_ms = 300;
    t->silence_ms = 500;
    sa_vad_init(&t->v, t->rate, -60 + 40 * t->threshold);
    uint64_t at = has_fault ? sf_start(f, 0) : 0;
    if (svc_ws_accept(c, r, at, subproto ? "realtime" : NULL, NULL)) {
        sa_vad_free(&t->v);
        sf_clear(&t->fault);
        free(t);
        return;
    }
    svc_conn_set_data(c, t);
    rt_send(t, json_pack("{s:s,s:o}", "type", "session.created", "session", session_json(t)), 0);
}

/* ---- routing ---- */

static void on_request(svc_conn *c, const svc_req *r, void *ud)
{
    openai_audio_standin *a = ud;
    int is_rt = !strcmp(r->path, "/v1/realtime");
    int is_tr = !strcmp(r->path, "/v1/audio/transcriptions");
    int is_sp = !strcmp(r->path, "/v1/audio/speech");
    if (!is_rt && !is_tr && !is_sp) {
        char msg[600];
        snprintf(msg, sizeof msg, "Invalid URL (%s %.500s)", r->method, r->path);
        reply_json(c, 0, 404, NULL, error_body(msg, "invalid_request_error", NULL, NULL));
        return;
    }
    if (strcmp(r->method, is_rt ? "GET" : "POST")) {
        reply_json(c, 0, 405, NULL,
                   error_body("Method not allowed.", "invalid_request_error", NULL, NULL));
        return;
    }
    int subproto = 0;
    if (!check_auth(a, c, r, is_rt ? &subproto : NULL))
        return;
    speech_fault f;
    int has = sf_pop(&a->faults, &f);
    if (has && f.drop) {
        svc_close(c, sf_start(&f, 0));
        sf_clear(&f);
        return;
    }
    if (has && f.status) {
        fault_reply(c, &f);
        sf_clear(&f);
        return;
    }
    if (is_rt) {
        realtime(a, c, r, subproto, &f, has);
        return;
    }
    if (is_tr)
        transcriptions(a, c, r, has ? &f : NULL);
    else
        speech(a, c, r, has ? &f : NULL);
    sf_clear(&f);
}

static void on_message(svc_conn *c, const ws_msg *m, void *ud)
{
    (void)ud;
    rtc *t = svc_conn_data(c);
    if (t)
        rt_message(t, m);
}

static void on_closed(svc_conn *c, void *ud)
{
    (void)ud;
    rtc *t = svc_conn_data(c);
    if (!t)
        return;
    sa_vad_free(&t->v);
    sf_clear(&t->fault);
    free(t);
}

openai_audio_standin *openai_audio_standin_start(const openai_audio_standin_opts *o)
{
    openai_audio_standin *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    if (o)
        a->o = *o;
    a->key = strdup(a->o.key ? a->o.key : OPENAI_AUDIO_STANDIN_KEY);
    if (a->o.stt_latency_ms == 0)
        a->o.stt_latency_ms = 300;
    if (a->o.tts_ttfb_ms == 0)
        a->o.tts_ttfb_ms = 250;
    if (a->o.tts_chunk_ms <= 0)
        a->o.tts_chunk_ms = 40;
    if (a->o.rt_latency_ms == 0)
        a->o.rt_latency_ms = 100;
    if (a->o.threshold_db >= 0)
        a->o.threshold_db = -40.0;
    svc_ops ops = {on_request, on_message, NULL, on_closed};
    a->s = a->key ? svc_start(&ops, a) : NULL;
    if (!a->s) {
        free(a->key);
        free(a);
        return NULL;
    }
    return a;
}

int openai_audio_standin_port(openai_audio_standin *a)
{
    return a ? svc_port(a->s) : -1;
}

svc *openai_audio_standin_svc(openai_audio_standin *a)
{
    return a ? a->s : NULL;
}

void openai_audio_standin_say(openai_audio_standin *a, const char *text)
{
    svc_lock(a->s);
    sa_script_push(&a->script, text);
    svc_unlock(a->s);
}

int openai_audio_standin_pending(openai_audio_standin *a)
{
    svc_lock(a->s);
    int n = (int)sa_script_pending(&a->script);
    svc_unlock(a->s);
    return n;
}

void openai_audio_standin_push_fault(openai_audio_standin *a, const speech_fault *f)
{
    svc_lock(a->s);
    sf_push(&a->faults, f);
    svc_unlock(a->s);
}

void openai_audio_standin_stop(openai_audio_standin *a)
{
    if (!a)
        return;
    svc_stop(a->s);
    sf_free(&a->faults);
    sa_script_free(&a->script);
    free(a->key);
    free(a);
}
