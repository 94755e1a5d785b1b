/* The streaming HTTP engine of the cloud text-to-speech providers: see
 * tts/cloud.h. */
#include "tts/cloud.h"

#include "core/json.h"

#include <stdio.h>
#include <string.h>

static const char *pname(const Ccai_tts_cloud *c)
{
    return c->base.provider->name;
}

static void item_free(Ccai_tts_item *it)
{
    if (!it)
        return;
    ccai_free(it->text);
    ccai_free(it->lang);
    ccai_free(it->voice);
    ccai_free(it->style);
    ccai_free(it);
}

void Ccai_tts_request_clear(Ccai_tts_request *req)
{
    ccai_free(req->url);
    for (size_t i = 0; i < CCAI_TTS_MAX_HEADERS; i++)
        ccai_free(req->headers[i]);
    ccai_free(req->body);
    memset(req, 0, sizeof *req);
}

bool Ccai_tts_request_header(Ccai_tts_request *req, const char *fmt, ...)
{
    size_t i = 0;
    while (i < CCAI_TTS_MAX_HEADERS && req->headers[i])
        i++;
    if (i == CCAI_TTS_MAX_HEADERS)
        return false;
    va_list ap;
    va_start(ap, fmt);
    req->headers[i] = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    return req->headers[i] != NULL;
}

/* Errors ------------------------------------------------------------------ */

static void copy_text(const char *s, size_t n, char *out, size_t outlen)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < outlen; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            ch = ' ';
        if (ch == ' ' && (k == 0 || out[k - 1] == ' '))
            continue; /* no leading or doubled spaces */
        out[k++] = (char)ch;
    }
    while (k && out[k - 1] == ' ')
        k--;
    out[k] = '\0';
}

static const json_t *at_path(const json_t *v, const char *path)
{
    char seg[64];
    while (v && *path) {
        size_t n = strcspn(path, ".");
        if (n >= sizeof seg)
            return NULL;
        memcpy(seg, path, n);
        seg[n] = '\0';
        path += n + (path[n] == '.');
        if (json_is_object(v))
            v = json_object_get(v, seg);
        else if (json_is_array(v) && Ccai_is_digit(seg[0]))
            v = json_array_get(v, (size_t)(seg[0] - '0'));
        else
            return NULL;
    }
    return v;
}

void Ccai_tts_error_text(const char *body, size_t len, const char *const *paths, char *out,
                         size_t outlen)
{
    if (!outlen)
        return;
    out[0] = '\0';
    if (len > CCAI_TTS_ERROR_BODY_MAX)
        len = CCAI_TTS_ERROR_BODY_MAX;
    Ccai_json_err jerr;
    ccai_status st;
    json_t *v = len ? Ccai_json_load(body, len, &jerr, &st) : NULL;
    for (size_t i = 0; v && paths[i]; i++) {
        const json_t *s = at_path(v, paths[i]);
        if (json_is_string(s) && json_string_length(s)) {
            copy_text(json_string_value(s), json_string_length(s), out, outlen);
            break;
        }
    }
    json_decref(v);
    if (!out[0])
        copy_text(body ? body : "", len, out, outlen);
    if (!out[0])
        snprintf(out, outlen, "no error message");
}

ccai_status Ccai_tts_options(const char *provider, const char *options, const char *const *known,
                             const Ccai_logger *log, json_t **ret)
{
    json_t *v = NULL;
    if (!options || !options[0]) {
        v = json_object();
        if (!v)
            return CCAI_ERR_NOMEM;
        *ret = v;
        return CCAI_OK;
    }
    Ccai_json_err jerr = {0};
    ccai_status st = CCAI_OK;
    v = Ccai_json_load(options, strlen(options), &jerr, &st);
    if (!v && st == CCAI_ERR_NOMEM)
        return CCAI_ERR_NOMEM;
    if (!json_is_object(v)) {
        Ccai_log(log, CCAI_LOG_ERROR, "tts %s: options must be a JSON object (%s)", provider,
                 v ? "not an object" : jerr.text);
        json_decref(v);
        return CCAI_ERR_CONFIG;
    }
    const char *key;
    json_t *val;
    json_object_foreach(v, key, val)
    {
        size_t i = 0;
        while (known[i] && strcmp(known[i], key) != 0)
            i++;
        if (!known[i]) {
            Ccai_log(log, CCAI_LOG_ERROR, "tts %s: unknown option \"%s\"", provider, key);
            json_decref(v);
            return CCAI_ERR_CONFIG;
        }
    }
    *ret = v;
    return CCAI_OK;
}

/* The api key never leaves in a message, even when a service echoes it. */
static void redact(const Ccai_tts_cloud *c, char *msg)
{
    size_t kl = c->api_key ? strlen(c->api_key) : 0;
    if (kl < 4)
        return;
    char *p;
    while ((p = strstr(msg, c->api_key)) != NULL) {
        memcpy(p, "***", 3);
        memmove(p + 3, p + kl, strlen(p + kl) + 1);
    }
}

/* Callbacks to the voice layer ----------------------------------------------- */

static void stream_free(Ccai_tts_cloud *c);

/* After a callback: false when the stream is gone (closed from inside). */
static bool cb_leave(Ccai_tts_cloud *c)
{
    c->depth--;
    if (!c->closed)
        return true;
    if (c->depth == 0)
        stream_free(c);
    return false;
}

static uint32_t audio_ms(const Ccai_tts_cloud *c)
{
    return (uint32_t)(Ccai_media_bytes_to_us(&c->base.out, (size_t)c->bytes) / 1000u);
}

/* Stop what runs for the sentence in flight (no callback). */
static void end_attempt(Ccai_tts_cloud *c)
{
    if (c->req) {
        Ccai_http_cancel(c->req);
        c->req = NULL;
    }
    Ccai_timer_stop(c->ctx, &c->kick);
    Ccai_timer_stop(c->ctx, &c->first_byte);
    Ccai_buf_reset(&c->err_body);
    c->token_req = false;
    c->audio_started = false;
    c->has_carry = false;
    c->status = 0;
}

static bool send_done(Ccai_tts_cloud *c, uint32_t id, ccai_status st, bool fatal, const char *msg,
                      uint32_t ms, uint32_t first_ms)
{
    char text[512] = "";
    if (st != CCAI_OK) {
        snprintf(text, sizeof text, "%s: %s", pname(c), msg ? msg : ccai_status_str(st));
        redact(c, text);
        if (st != CCAI_ERR_CANCELLED)
            Ccai_log(&c->log, CCAI_LOG_WARN, "tts %u: %s", (unsigned)id, text);
    }
    Ccai_tts_done d = {
        .id = id,
        .status = st,
        .fatal = fatal,
        .errmsg = st != CCAI_OK ? text : NULL,
        .audio_ms = ms,
        .first_byte_ms = first_ms,
    };
    c->depth++;
    c->done(&c->base, &d, c->ud);
    return cb_leave(c);
}

static void free_list(Ccai_tts_item *list)
{
    while (list) {
        Ccai_tts_item *it = list;
        list = it->next;
        item_free(it);
    }
}

/* Done for every sentence of a detached queue; false when the stream was
 * closed from one of them (the rest get none). */
static bool drain(Ccai_tts_cloud *c, Ccai_tts_item *list, ccai_status st, bool fatal,
                  const char *msg)
{
    while (list) {
        Ccai_tts_item *it = list;
        list = it->next;
        uint32_t id = it->id;
        item_free(it);
        if (c->closed || !send_done(c, id, st, fatal, msg, 0, 0)) {
            free_list(list);
            return false;
        }
    }
    return true;
}

static Ccai_tts_item *detach_queue(Ccai_tts_cloud *c)
{
    Ccai_tts_item *list = c->head;
    c->head = c->tail = NULL;
    c->queued = 0;
    return list;
}

static void pump(Ccai_tts_cloud *c)
{
    if (!c->cur && c->head && !c->failed && !Ccai_timer_active(&c->kick))
        Ccai_timer_start(c->ctx, &c->kick, 0);
}

/* The sentence in flight stops: it is returned (NULL none), with the audio
 * it gave (ms) and the time to its first audio; the next starts afresh. */
static Ccai_tts_item *take_current(Ccai_tts_cloud *c, uint32_t *ms, uint32_t *first)
{
    Ccai_tts_item *it = c->cur;
    c->cur = NULL;
    end_attempt(c);
    c->gen++;
    *ms = audio_ms(c);
    *first = (uint32_t)c->first_ms;
    c->bytes = 0;
    c->first_ms = 0;
    c->attempt = 0;
    return it;
}

/* The sentence in flight is over. */
static void finish(Ccai_tts_cloud *c, ccai_status st, bool fatal, const char *msg)
{
    uint32_t ms, first;
    Ccai_tts_item *it = take_current(c, &ms, &first);
    if (fatal)
        c->failed = true;
    uint32_t id = it ? it->id : 0;
    item_free(it);
    if (!send_done(c, id, st, fatal, msg, ms, first))
        return;
    if (fatal && !drain(c, detach_queue(c), st, true,
                        "not spoken: the provider failed on a sentence before"))
        return;
    pump(c);
}

/* Audio ------------------------------------------------------------------------ */

/* Hand len bytes on in whole samples; false when the sentence ended or the
 * stream went inside a callback (then c may be gone: gone says so). */
static bool deliver(Ccai_tts_cloud *c, const uint8_t *p, size_t len, bool *gone)
{
    uint32_t gen = c->gen, id = c->cur->id;
    size_t block = Ccai_media_block_bytes(&c->base.out);
    if (!c->first_ms) {
        Ccai_timer_stop(c->ctx, &c->first_byte);
        uint64_t now = Ccai_ctx_now(c->ctx);
        c->first_ms = now > c->cur->said_at ? now - c->cur->said_at : 1;
    }
    while (len) {
        uint8_t pair[2];
        const uint8_t *chunk = p;
        size_t n;
        if (c->has_carry) { /* only PCM16 carries: block 2 */
            pair[0] = c->carry;
            pair[1] = p[0];
            c->has_carry = false;
            chunk = pair;
            n = 2;
            p++;
            len--;
        } else {
            n = block > 1 ? len - len % block : len;
            if (!n) {
                c->carry = p[0];
                c->has_carry = true;
                return true;
            }
            p += n;
            len -= n;
        }
        c->bytes += n;
        c->depth++;
        c->audio(&c->base, id, chunk, n, c->ud);
        if (!cb_leave(c)) {
            *gone = true;
            return false;
        }
        if (c->gen != gen)
            return false;
    }
    return true;
}

static void on_response(Ccai_http_req *req, long status, void *ud)
{
    Ccai_tts_cloud *c = ud;
    c->status = status;
    if (c->token_req || status < 200 || status >= 300)
        return;
    /* A 2xx that is not audio (a proxy's page, a JSON error) is read as
     * an error body. */
    const char *ct = Ccai_http_header(req, "content-type");
    c->audio_started =
        !ct || !(strncmp(ct, "application/json", 16) == 0 || strncmp(ct, "text/", 5) == 0);
}

static int on_data(Ccai_http_req *req, const char *data, size_t len, void *ud)
{
    CCAI_UNUSED(req);
    Ccai_tts_cloud *c = ud;
    if (!c->audio_started) {
        size_t room = CCAI_TTS_ERROR_BODY_MAX - c->err_body.len;
        if (len > room)
            len = room;
        if (len && !Ccai_buf_append(&c->err_body, data, len))
            return 1;
        return 0;
    }
    bool gone = false;
    if (!deliver(c, (const uint8_t *)data, len, &gone))
        return gone ? 1 : 0;
    return 0;
}

/* Attempts ------------------------------------------------------------------------ */

static void on_http_done(Ccai_http_req *req, ccai_status st, long status, const char *errmsg,
                         void *ud);

static void start_request(Ccai_tts_cloud *c);

/* A failure before any audio: again after a while, or the end. told_ms:
 * the wait the service asked for (-1: none). */
static void retry_or_fail(Ccai_tts_cloud *c, ccai_status st, int64_t told_ms, const char *msg)
{
    uint64_t left = 0;
    if (Ccai_timer_active(&c->first_byte)) {
        uint64_t now = Ccai_ctx_now(c->ctx);
        left = c->first_byte.due > now ? c->first_byte.due - now : 0;
    }
    uint64_t delay = told_ms >= 0 ? (uint64_t)told_ms : Ccai_backoff_ms(c->attempt, 200u, 1000u);
    char text[400];
    if (c->attempt >= CCAI_TTS_ATTEMPTS) {
        snprintf(text, sizeof text, "%s (after %d attempts)", msg, c->attempt);
    } else if (told_ms > CCAI_TTS_RETRY_WAIT_MAX || delay >= left) {
        snprintf(text, sizeof text, "%s (asked to wait %lld ms)", msg,
                 (long long)(told_ms >= 0 ? told_ms : (int64_t)delay));
    } else {
        Ccai_log(&c->log, CCAI_LOG_INFO, "tts %s: attempt %d failed (%s), again in %llu ms",
                 pname(c), c->attempt, msg, (unsigned long long)delay);
        c->stats.retries++;
        c->req = NULL;
        Ccai_buf_reset(&c->err_body);
        Ccai_timer_start(c->ctx, &c->kick, delay);
        return;
    }
    finish(c, st, true, text);
}

static void start_request(Ccai_tts_cloud *c)
{
    Ccai_tts_request rq = {0};
    c->token_req = c->ops->token_needed && c->ops->token_needed(c);
    ccai_status st = c->token_req ? c->ops->token_request(c, &rq) : c->ops->build(c, c->cur, &rq);
    if (st != CCAI_OK) {
        Ccai_tts_request_clear(&rq);
        finish(c, st, false, "cannot build the request (out of memory)");
        return;
    }
    c->status = 0;
    c->audio_started = false;
    c->has_carry = false;
    Ccai_buf_reset(&c->err_body);
    Ccai_http_opts o = {
        .method = "POST",
        .url = rq.url,
        .headers = (const char *const *)rq.headers,
        .body = rq.body ? rq.body : "",
        .body_len = rq.body_len,
        .connect_timeout_ms = c->connect_ms,
        /* A stall mid-sentence: as long as the wait for the first byte. */
        .idle_timeout_ms = c->first_byte_ms,
        .max_response_bytes = CCAI_TTS_ERROR_BODY_MAX,
        .on_response = on_response,
        .on_data = c->token_req ? NULL : on_data,
        .on_done = on_http_done,
        .ud = c,
    };
    st = Ccai_http_start(c->ctx, &o, &c->req);
    Ccai_tts_request_clear(&rq);
    if (st != CCAI_OK) {
        c->req = NULL;
        char msg[96];
        snprintf(msg, sizeof msg, "cannot start the request: %s", ccai_status_str(st));
        retry_or_fail(c, st, -1, msg);
        return;
    }
    c->stats.requests++;
}

static void on_kick(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_tts_cloud *c = ud;
    if (!c->cur) {
        if (!c->head || c->failed)
            return;
        c->cur = c->head;
        c->head = c->cur->next;
        if (!c->head)
            c->tail = NULL;
        c->queued--;
        c->cur->next = NULL;
        c->attempt = 0;
        c->bytes = 0;
        c->first_ms = 0;
        Ccai_timer_start(c->ctx, &c->first_byte, c->first_byte_ms);
    }
    c->attempt++;
    start_request(c);
}

static void on_first_byte(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_tts_cloud *c = ud;
    char msg[96];
    snprintf(msg, sizeof msg, "no audio within %u ms (%d attempt%s)", (unsigned)c->first_byte_ms,
             c->attempt, c->attempt == 1 ? "" : "s");
    finish(c, CCAI_ERR_TIMEOUT, true, msg);
}

static bool retryable(long status)
{
    return status == 408 || status == 429 || status >= 500;
}

static void on_http_done(Ccai_http_req *req, ccai_status st, long status, const char *errmsg,
                         void *ud)
{
    Ccai_tts_cloud *c = ud;
    c->req = NULL;
    char msg[320];
    if (st == CCAI_OK && status >= 200 && status < 300) {
        if (c->token_req) {
            size_t len = 0;
            const char *body = Ccai_http_body(req, &len);
            if (c->ops->token_set(c, body, len) != CCAI_OK) {
                finish(c, CCAI_ERR_HTTP, true, "the token service answered no token");
                return;
            }
            start_request(c);
            return;
        }
        if (!c->audio_started) {
            char why[200];
            c->ops->error(c->err_body.data, c->err_body.len, why, sizeof why);
            snprintf(msg, sizeof msg, "HTTP %ld without audio: %s", status, why);
            finish(c, CCAI_ERR_HTTP, false, msg);
            return;
        }
        /* An odd last byte is half a sample: nobody can play it. */
        finish(c, CCAI_OK, false, NULL);
        return;
    }
    if (st == CCAI_OK) {
        char why[200];
        if (c->token_req) {
            size_t len = 0;
            const char *body = Ccai_http_body(req, &len);
            c->ops->error(body, len, why, sizeof why);
        } else {
            c->ops->error(c->err_body.data, c->err_body.len, why, sizeof why);
        }
        snprintf(msg, sizeof msg, "%sHTTP %ld: %s", c->token_req ? "token: " : "", status, why);
        if (retryable(status)) {
            int64_t told = Ccai_http_retry_after_ms(Ccai_http_header(req, "retry-after"),
                                                    Ccai_http_header(req, "retry-after-ms"),
                                                    Ccai_wall_ms(), INT32_MAX);
            retry_or_fail(c, CCAI_ERR_HTTP, told, msg);
            return;
        }
        /* Keys, permissions, an unknown voice: no sentence will do better. */
        finish(c, CCAI_ERR_HTTP, status == 401 || status == 403 || status == 404, msg);
        return;
    }
    if (c->bytes) {
        snprintf(msg, sizeof msg, "the answer broke off after %u ms of audio: %s",
                 (unsigned)audio_ms(c), errmsg ? errmsg : ccai_status_str(st));
        finish(c, st == CCAI_ERR_TIMEOUT ? CCAI_ERR_TIMEOUT : CCAI_ERR_HTTP, false, msg);
        return;
    }
    snprintf(msg, sizeof msg, "%s", errmsg ? errmsg : ccai_status_str(st));
    retry_or_fail(c, st == CCAI_ERR_NOMEM ? CCAI_ERR_NOMEM : CCAI_ERR_HTTP, -1, msg);
}

/* The stream --------------------------------------------------------------------- */

ccai_status Ccai_tts_cloud_init(Ccai_tts_cloud *c, ccai_ctx *ctx, const Ccai_tts_cloud_ops *ops,
                                const Ccai_tts_config *cfg, const Ccai_tts_open *o,
                                Ccai_media_format out)
{
    c->ctx = ctx;
    c->ops = ops;
    c->base.out = out;
    if (o->log)
        c->log = *o->log;
    c->audio = o->audio;
    c->done = o->done;
    c->ud = o->ud;
    c->connect_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 5000u;
    c->first_byte_ms = cfg->first_byte_timeout_ms ? cfg->first_byte_timeout_ms : 5000u;
    c->next_id = 1;
    Ccai_timer_init(&c->kick, on_kick, c);
    Ccai_timer_init(&c->first_byte, on_first_byte, c);
    c->lang = Ccai_strdup(o->lang && o->lang[0] ? o->lang : "en-US");
    c->api_key = cfg->api_key ? Ccai_strdup(cfg->api_key) : NULL;
    if (!c->lang || (cfg->api_key && !c->api_key))
        return CCAI_ERR_NOMEM;
    return CCAI_OK;
}

static char *dup_opt(const char *s, bool *ok)
{
    if (!s || !s[0])
        return NULL;
    char *d = Ccai_strdup(s);
    if (!d)
        *ok = false;
    return d;
}

ccai_status Ccai_tts_cloud_say(Ccai_tts *t, const Ccai_tts_text *text, uint32_t *ret_id)
{
    Ccai_tts_cloud *c = (Ccai_tts_cloud *)t;
    if (!c || !text || !text->text || !ret_id)
        return CCAI_ERR_INVALID_ARG;
    if (c->closed || c->failed)
        return CCAI_ERR_STATE;
    if (text->ssml && !(c->base.provider->caps & CCAI_TTS_SSML))
        return CCAI_ERR_UNSUPPORTED;
    size_t len = strlen(text->text);
    size_t k = 0;
    while (k < len && Ccai_is_space((unsigned char)text->text[k]))
        k++;
    if (k == len)
        return CCAI_ERR_INVALID_ARG;
    if (len > c->ops->max_text || c->queued >= CCAI_TTS_QUEUE_MAX)
        return CCAI_ERR_LIMIT;
    Ccai_tts_item *it = Ccai_calloc(1, sizeof *it);
    if (!it)
        return CCAI_ERR_NOMEM;
    bool ok = true;
    it->text = Ccai_strdup(text->text);
    it->lang = Ccai_strdup(text->lang && text->lang[0] ? text->lang : c->lang);
    it->voice = dup_opt(text->voice, &ok);
    it->style = dup_opt(text->style, &ok);
    if (!ok || !it->text || !it->lang) {
        item_free(it);
        return CCAI_ERR_NOMEM;
    }
    it->ssml = text->ssml;
    it->rate = text->rate > 0 ? text->rate : 1.0;
    it->said_at = Ccai_ctx_now(c->ctx);
    it->id = c->next_id++;
    if (!c->next_id)
        c->next_id = 1;
    if (!c->cur && !c->head && !Ccai_timer_active(&c->kick))
        Ccai_timer_start(c->ctx, &c->kick, 0);
    if (c->tail)
        c->tail->next = it;
    else
        c->head = it;
    c->tail = it;
    c->queued++;
    *ret_id = it->id;
    return CCAI_OK;
}

void Ccai_tts_cloud_cancel(Ccai_tts *t)
{
    Ccai_tts_cloud *c = (Ccai_tts_cloud *)t;
    if (!c || c->closed)
        return;
    uint32_t ms, first;
    Ccai_tts_item *it = take_current(c, &ms, &first);
    Ccai_tts_item *list = detach_queue(c);
    if (it) {
        uint32_t id = it->id;
        item_free(it);
        if (!send_done(c, id, CCAI_ERR_CANCELLED, false, "cancelled", ms, first)) {
            free_list(list);
            return;
        }
    }
    if (!drain(c, list, CCAI_ERR_CANCELLED, false, "cancelled"))
        return;
    pump(c); /* what a done callback said since */
}

static void stream_free(Ccai_tts_cloud *c)
{
    end_attempt(c);
    item_free(c->cur);
    free_list(detach_queue(c));
    if (c->ops->free)
        c->ops->free(c);
    Ccai_buf_free(&c->err_body);
    ccai_free(c->lang);
    ccai_free(c->api_key);
    ccai_free(c);
}

void Ccai_tts_cloud_close(Ccai_tts *t)
{
    Ccai_tts_cloud *c = (Ccai_tts_cloud *)t;
    if (!c || c->closed)
        return;
    if (c->depth > 0) { /* inside a callback: freed when it returns */
        c->closed = true;
        end_attempt(c);
        return;
    }
    stream_free(c);
}
