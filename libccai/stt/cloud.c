/* What the cloud speech-to-text providers share (stt/cloud.h). */
#include "stt/cloud.h"

#include "core/json.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct Ccai_stt_qitem {
    Ccai_stt_qitem *next;
    Ccai_stt_result r;
    char *text, *lang, *slot, *errmsg;
};

static void item_free(Ccai_stt_qitem *it)
{
    ccai_free(it->text);
    ccai_free(it->lang);
    ccai_free(it->slot);
    ccai_free(it->errmsg);
    ccai_free(it);
}

static void on_deliver(Ccai_timer *t, void *ud)
{
    Ccai_stt_queue *q = ud;
    CCAI_UNUSED(t);
    q->depth++;
    while (q->head && !q->closing) {
        Ccai_stt_qitem *it = q->head;
        q->head = it->next;
        if (!q->head)
            q->tail = NULL;
        q->fn(q->s, &it->r, q->ud);
        item_free(it);
    }
    q->depth--;
    if (q->closing && q->depth == 0)
        q->destroy(q->s);
}

void Ccai_stt_queue_init(Ccai_stt_queue *q, ccai_ctx *ctx, Ccai_stt *s, const Ccai_stt_open *o,
                         void (*destroy)(Ccai_stt *s))
{
    memset(q, 0, sizeof *q);
    q->ctx = ctx;
    q->s = s;
    q->fn = o->fn;
    q->ud = o->ud;
    q->destroy = destroy;
    Ccai_timer_init(&q->timer, on_deliver, q);
}

static char *dup_or_null(const char *s, bool *ok)
{
    if (!s)
        return NULL;
    char *d = Ccai_strdup(s);
    if (!d)
        *ok = false;
    return d;
}

bool Ccai_stt_queue_push(Ccai_stt_queue *q, const Ccai_stt_result *r)
{
    if (q->fatal || q->closing)
        return true;
    Ccai_stt_qitem *it = Ccai_calloc(1, sizeof *it);
    if (!it)
        return false;
    bool ok = true;
    it->r = *r;
    it->text = dup_or_null(r->text, &ok);
    it->lang = dup_or_null(r->lang, &ok);
    it->slot = dup_or_null(r->slot, &ok);
    it->errmsg = dup_or_null(r->errmsg, &ok);
    if (!ok) {
        item_free(it);
        return false;
    }
    it->r.text = it->text;
    it->r.lang = it->lang;
    it->r.slot = it->slot;
    it->r.errmsg = it->errmsg;
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    if (r->event == CCAI_STT_ERROR && r->fatal)
        q->fatal = true;
    if (!Ccai_timer_active(&q->timer))
        Ccai_timer_start(q->ctx, &q->timer, 0);
    return true;
}

bool Ccai_stt_queue_text(Ccai_stt_queue *q, Ccai_stt_event ev, const char *text, double confidence,
                         const char *lang, bool from_end, uint32_t audio_ms)
{
    Ccai_stt_result r = {
        .event = ev,
        .text = text ? text : "",
        .confidence = confidence,
        .lang = lang,
        .from_end = from_end,
        .audio_ms = audio_ms,
    };
    return Ccai_stt_queue_push(q, &r);
}

bool Ccai_stt_queue_error(Ccai_stt_queue *q, ccai_status st, bool fatal, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    Ccai_stt_result r = {
        .event = CCAI_STT_ERROR,
        .text = "",
        .confidence = -1,
        .status = st,
        .fatal = fatal,
        .errmsg = msg,
    };
    return Ccai_stt_queue_push(q, &r);
}

bool Ccai_stt_queue_close(Ccai_stt_queue *q)
{
    q->closing = true;
    return q->depth == 0;
}

void Ccai_stt_queue_free(Ccai_stt_queue *q)
{
    Ccai_timer_stop(q->ctx, &q->timer);
    while (q->head) {
        Ccai_stt_qitem *it = q->head;
        q->head = it->next;
        item_free(it);
    }
    q->tail = NULL;
}

/* Helpers ------------------------------------------------------------------- */

bool Ccai_stt_url_escape(Ccai_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.' || *p == '~';
        char enc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
        if (!(keep ? Ccai_buf_append(b, p, 1) : Ccai_buf_append(b, enc, 3)))
            return false;
    }
    return true;
}

json_t *Ccai_stt_json_load(const char *s, size_t len, ccai_status *st)
{
    if (len > CCAI_STT_MAX_MESSAGE) {
        *st = CCAI_ERR_LIMIT;
        return NULL;
    }
    *st = CCAI_ERR_PARSE;
    Ccai_json_err err;
    return Ccai_json_load(s, len, &err, st);
}

json_t *Ccai_stt_json_answer(const char *s, size_t len, char **error, ccai_status *st)
{
    json_t *root = Ccai_stt_json_load(s, len, st);
    if (!root)
        return NULL;
    bool nomem = false;
    json_t *e = json_object_get(root, "error");
    *st = CCAI_ERR_PARSE;
    if (!json_is_object(root))
        goto fail;
    if (e && !json_is_null(e)) {
        if (!json_is_object(e) || !Ccai_stt_json_str(e, "message", error, &nomem))
            goto fail;
        if (!*error && !(*error = Ccai_strdup(""))) {
            nomem = true;
            goto fail;
        }
    }
    return root;
fail:
    json_decref(root);
    if (nomem)
        *st = CCAI_ERR_NOMEM;
    return NULL;
}

bool Ccai_stt_json_bool(json_t *o, const char *k, bool *out)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_boolean(v))
        return false;
    *out = json_is_true(v);
    return true;
}

bool Ccai_stt_json_num(json_t *o, const char *k, double *out)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_number(v))
        return false;
    *out = json_number_value(v);
    return true;
}

bool Ccai_stt_json_int(json_t *o, const char *k, long *out)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_integer(v))
        return false;
    *out = (long)json_integer_value(v);
    return true;
}

bool Ccai_stt_json_str(json_t *o, const char *k, char **out, bool *nomem)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return false;
    *out = Ccai_strndup(json_string_value(v), json_string_length(v));
    if (!*out)
        *nomem = true;
    return *out != NULL;
}

void Ccai_stt_lang_primary(const char *lang, char *out, size_t n)
{
    size_t i = 0;
    for (; lang && lang[i] && lang[i] != '-' && lang[i] != '_' && i + 1 < n; i++)
        out[i] = (char)((lang[i] >= 'A' && lang[i] <= 'Z') ? lang[i] + 32 : lang[i]);
    out[i] = '\0';
}

bool Ccai_stt_hints_text(const Ccai_stt_expect *e, Ccai_buf *out)
{
    bool ok = Ccai_buf_puts(out, "");
    for (const char *const *h = e && e->hints ? e->hints : NULL; ok && h && *h; h++)
        ok = Ccai_buf_printf(out, "%s%s", out->len ? ", " : "", *h);
    for (size_t i = 0; ok && e && e->kind == CCAI_STT_CHOICE && i < e->n_choices; i++)
        ok = Ccai_buf_printf(out, "%s%s", out->len ? ", " : "", e->choices[i]);
    return ok;
}

bool Ccai_stt_query_ok(const char *options)
{
    for (const unsigned char *p = (const unsigned char *)options; p && *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f || *p == '#')
            return false;
    }
    return true;
}

void Ccai_stt_ws_judge(const Ccai_ws_end *e, bool opened, int attempts, int max_attempts,
                       const char *what, Ccai_stt_ws_outcome *out)
{
    memset(out, 0, sizeof *out);
    if (e->http_status && e->http_status != 101) {
        /* 429 and 5xx are retried before the stream has ever opened. */
        if ((e->http_status == 429 || e->http_status >= 500) && !opened &&
            attempts < max_attempts) {
            int64_t wait = Ccai_http_retry_after_ms(e->retry_after, NULL, 0, 5000);
            out->retry = true;
            out->wait_ms = wait < 0 ? (uint64_t)250 << attempts : (uint64_t)wait;
            return;
        }
        out->st = CCAI_ERR_HTTP;
        snprintf(out->msg, sizeof out->msg, "the connection was refused with HTTP %ld%s: %.200s",
                 e->http_status, attempts > 1 ? " (after retries)" : "", e->reason);
        return;
    }
    if (e->close_code) {
        out->st = CCAI_ERR_IO;
        snprintf(out->msg, sizeof out->msg, "the service closed the %s (%d %.120s)", what,
                 e->close_code, e->reason);
        return;
    }
    out->st = e->status == CCAI_OK ? CCAI_ERR_IO : e->status;
    snprintf(out->msg, sizeof out->msg, "%s", e->errmsg);
}
