/* The per-utterance REST providers' common part (stt/utterance.h). */
#include "stt/utterance.h"

#include "media/wav.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define UTT_MAX_ATTEMPTS 3

static void req_clear(Ccai_stt_utt_req *r)
{
    Ccai_buf_free(&r->body);
    ccai_free(r->content_type);
    memset(r, 0, sizeof *r);
}

static void utt_destroy(Ccai_stt *s)
{
    Ccai_stt_utt *u = (Ccai_stt_utt *)s;
    Ccai_stt_queue_free(&u->q);
    ccai_free(u);
}

static void utt_release(Ccai_stt_utt *u)
{
    Ccai_http_cancel(u->req);
    u->req = NULL;
    Ccai_timer_stop(u->ctx, &u->retry_timer);
    for (size_t i = 0; i < u->n_waiting; i++)
        req_clear(&u->waiting[i]);
    u->n_waiting = 0;
    Ccai_buf_free(&u->audio);
    ccai_free(u->url);
    ccai_free(u->auth);
    ccai_free(u->prompt);
    ccai_free(u->model);
    ccai_free(u->options);
    u->url = u->auth = u->prompt = u->model = u->options = NULL;
}

void Ccai_stt_utt_fail(Ccai_stt_utt *u, ccai_status st, const char *fmt, ...)
{
    if (u->dead)
        return;
    u->dead = true;
    char msg[480];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    Ccai_log(u->log, CCAI_LOG_WARN, "stt %s: %s", u->cls->name, msg);
    Ccai_http_cancel(u->req);
    u->req = NULL;
    Ccai_timer_stop(u->ctx, &u->retry_timer);
    Ccai_stt_queue_error(&u->q, st, true, "%s: %s", u->cls->name, msg);
}

/* The refusal's text: the error body's error.message, else the body. */
static void refusal_text(const char *body, size_t len, char *out, size_t n)
{
    char *error = NULL;
    ccai_status st;
    json_t *root = Ccai_stt_json_answer(body, len, &error, &st);
    if (root && error)
        snprintf(out, n, "%.200s", error);
    else
        snprintf(out, n, "%.*s", (int)(len < 200 ? len : 200), body);
    json_decref(root);
    ccai_free(error);
}

static void pump(Ccai_stt_utt *u);

static void pop_front(Ccai_stt_utt *u)
{
    req_clear(&u->waiting[0]);
    memmove(&u->waiting[0], &u->waiting[1], (u->n_waiting - 1) * sizeof u->waiting[0]);
    u->n_waiting--;
    memset(&u->waiting[u->n_waiting], 0, sizeof u->waiting[0]);
    u->attempts = 0;
}

static void on_done(Ccai_http_req *req, ccai_status st, long status, const char *errmsg, void *ud)
{
    Ccai_stt_utt *u = ud;
    u->req = NULL;
    if (u->dead)
        return;
    if (st != CCAI_OK) {
        Ccai_stt_utt_fail(u, st, "%s", errmsg ? errmsg : ccai_status_str(st));
        return;
    }
    size_t len = 0;
    const char *body = Ccai_http_body(req, &len);
    if (status >= 200 && status < 300) {
        u->cls->answer(u, body, len, u->waiting[0].audio_ms);
        pop_front(u);
        pump(u);
        return;
    }
    char why[256];
    refusal_text(body, len, why, sizeof why);
    if ((status == 429 || status >= 500) && u->attempts < UTT_MAX_ATTEMPTS) {
        int64_t wait = Ccai_http_retry_after_ms(Ccai_http_header(req, "retry-after"),
                                                Ccai_http_header(req, "retry-after-ms"),
                                                (int64_t)time(NULL) * 1000, 5000);
        if (wait < 0)
            wait = 250 << u->attempts;
        Ccai_log(u->log, CCAI_LOG_INFO, "stt %s: HTTP %ld, retry in %lld ms", u->cls->name, status,
                 (long long)wait);
        Ccai_timer_start(u->ctx, &u->retry_timer, (uint64_t)wait);
        return;
    }
    if (status == 400 || status == 413 || status == 415) {
        /* This utterance's audio was refused: said, the stream goes on. */
        Ccai_stt_queue_error(&u->q, CCAI_ERR_HTTP, false, "%s: HTTP %ld: %s", u->cls->name, status,
                             why);
        pop_front(u);
        pump(u);
        return;
    }
    Ccai_stt_utt_fail(u, CCAI_ERR_HTTP, "HTTP %ld%s: %s", status,
                      u->attempts > 1 ? " (after retries)" : "", why);
}

static void pump(Ccai_stt_utt *u)
{
    if (u->dead || u->req || !u->n_waiting || Ccai_timer_active(&u->retry_timer))
        return;
    Ccai_stt_utt_req *r = &u->waiting[0];
    char ctype[160];
    snprintf(ctype, sizeof ctype, "Content-Type: %s", r->content_type);
    const char *headers[] = {u->auth, ctype, "Accept: application/json", NULL};
    Ccai_http_opts o = {
        .method = "POST",
        .url = u->url,
        .headers = headers,
        .body = r->body.data,
        .body_len = r->body.len,
        .body_borrowed = true,
        .connect_timeout_ms = u->connect_timeout_ms,
        .total_timeout_ms = u->result_timeout_ms,
        .max_response_bytes = CCAI_STT_MAX_MESSAGE,
        .on_done = on_done,
        .ud = u,
    };
    u->attempts++;
    ccai_status st = Ccai_http_start(u->ctx, &o, &u->req);
    if (st != CCAI_OK)
        Ccai_stt_utt_fail(u, st, "cannot start the request");
}

static void on_retry(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    pump(ud);
}

ccai_status Ccai_stt_utt_open(ccai_ctx *ctx, const Ccai_stt_utt_class *cls,
                              const Ccai_stt_config *cfg, const Ccai_stt_open *o,
                              Ccai_media_format in, const char *url, const char *auth,
                              Ccai_stt **ret)
{
    Ccai_stt_utt *u = Ccai_calloc(1, sizeof *u);
    if (!u)
        return CCAI_ERR_NOMEM;
    u->base.provider = cls->provider;
    u->base.in = in;
    u->ctx = ctx;
    u->cls = cls;
    u->log = o->log ? o->log : Ccai_ctx_logger(ctx);
    u->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 5000;
    u->result_timeout_ms = cfg->result_timeout_ms ? cfg->result_timeout_ms : 5000;
    snprintf(u->lang, sizeof u->lang, "%s", o->lang ? o->lang : "");
    Ccai_stt_queue_init(&u->q, ctx, &u->base, o, utt_destroy);
    Ccai_timer_init(&u->retry_timer, on_retry, u);
    u->url = Ccai_strdup(url);
    u->auth = Ccai_strdup(auth);
    u->model = cfg->model && *cfg->model ? Ccai_strdup(cfg->model) : NULL;
    u->options = cfg->options && *cfg->options ? Ccai_strdup(cfg->options) : NULL;
    if (!u->url || !u->auth || (cfg->model && *cfg->model && !u->model) ||
        (cfg->options && *cfg->options && !u->options)) {
        utt_release(u);
        utt_destroy(&u->base);
        return CCAI_ERR_NOMEM;
    }
    *ret = &u->base;
    return CCAI_OK;
}

ccai_status Ccai_stt_utt_feed(Ccai_stt *s, const uint8_t *audio, size_t len)
{
    Ccai_stt_utt *u = (Ccai_stt_utt *)s;
    if (u->dead)
        return CCAI_ERR_STATE;
    if (u->audio.len + len > u->cls->max_audio_bytes)
        return CCAI_ERR_LIMIT;
    return Ccai_buf_append(&u->audio, audio, len) ? CCAI_OK : CCAI_ERR_NOMEM;
}

ccai_status Ccai_stt_utt_end(Ccai_stt *s)
{
    Ccai_stt_utt *u = (Ccai_stt_utt *)s;
    if (u->dead)
        return CCAI_ERR_STATE;
    size_t block = Ccai_media_block_bytes(&s->in);
    size_t len = block ? u->audio.len / block * block : 0;
    uint32_t ms = (uint32_t)(Ccai_media_bytes_to_us(&s->in, len) / 1000);
    if (ms < 100) {
        /* Nothing worth a request: nothing heard. */
        Ccai_buf_reset(&u->audio);
        return Ccai_stt_queue_text(&u->q, CCAI_STT_FINAL, "", -1, NULL, true, ms) ? CCAI_OK
                                                                                  : CCAI_ERR_NOMEM;
    }
    if (u->n_waiting == CCAI_STT_UTT_QUEUE)
        return CCAI_ERR_LIMIT;
    uint8_t hdr[CCAI_WAV_HEADER_MAX];
    size_t hl = 0;
    ccai_status st = Ccai_wav_header_build(&s->in, len, hdr, &hl);
    if (st != CCAI_OK)
        return st;
    /* The WAV file: its header in front of the samples, in place. */
    Ccai_buf wav = {0};
    if (!Ccai_buf_append(&wav, hdr, hl) || !Ccai_buf_append(&wav, u->audio.data, len)) {
        Ccai_buf_free(&wav);
        return CCAI_ERR_NOMEM;
    }
    Ccai_stt_utt_req *r = &u->waiting[u->n_waiting];
    st = u->cls->body(u, (const uint8_t *)wav.data, wav.len, &r->body, &r->content_type);
    Ccai_buf_free(&wav);
    if (st != CCAI_OK) {
        req_clear(r);
        return st;
    }
    r->audio_ms = ms;
    u->n_waiting++;
    Ccai_buf_reset(&u->audio);
    pump(u);
    return CCAI_OK;
}

void Ccai_stt_utt_cancel(Ccai_stt *s)
{
    Ccai_stt_utt *u = (Ccai_stt_utt *)s;
    Ccai_buf_reset(&u->audio);
}

ccai_status Ccai_stt_utt_expect(Ccai_stt *s, const Ccai_stt_expect *e)
{
    Ccai_stt_utt *u = (Ccai_stt_utt *)s;
    if (u->dead)
        return CCAI_ERR_STATE;
    Ccai_buf p = {0};
    if (!Ccai_stt_hints_text(e, &p)) {
        Ccai_buf_free(&p);
        return CCAI_ERR_NOMEM;
    }
    ccai_free(u->prompt);
    u->prompt = p.len ? Ccai_buf_steal(&p) : NULL;
    Ccai_buf_free(&p);
    return CCAI_OK;
}

void Ccai_stt_utt_close(Ccai_stt *s)
{
    if (!s)
        return;
    Ccai_stt_utt *u = (Ccai_stt_utt *)s;
    utt_release(u);
    if (Ccai_stt_queue_close(&u->q))
        utt_destroy(s);
}
