/* The streaming WebSocket providers' common part (stt/live.h). */
#include "stt/live.h"

#include <stdio.h>
#include <string.h>

static void live_destroy(Ccai_stt *s)
{
    Ccai_stt_live *l = (Ccai_stt_live *)s;
    Ccai_stt_queue_free(&l->q);
    ccai_free(l);
}

static void live_release(Ccai_stt_live *l)
{
    Ccai_ws_free(l->ws);
    l->ws = NULL;
    Ccai_timer_stop(l->ctx, &l->connect_timer);
    Ccai_timer_stop(l->ctx, &l->result_timer);
    ccai_free(l->url);
    ccai_free(l->auth);
    l->url = l->auth = NULL;
    Ccai_buf_free(&l->query_tail);
    Ccai_buf_free(&l->pending);
    if (l->cls->release)
        l->cls->release(l);
}

void Ccai_stt_live_fail(Ccai_stt_live *l, ccai_status st, const char *msg)
{
    if (l->dead)
        return;
    l->dead = true;
    Ccai_log(l->log, CCAI_LOG_WARN, "stt %s: %s", l->cls->name, msg);
    Ccai_ws_free(l->ws);
    l->ws = NULL;
    Ccai_timer_stop(l->ctx, &l->result_timer);
    Ccai_timer_stop(l->ctx, &l->connect_timer);
    if (l->cls->halt)
        l->cls->halt(l);
    Ccai_stt_queue_error(&l->q, st, true, "%s: %s", l->cls->name, msg);
}

void Ccai_stt_live_unreadable(Ccai_stt_live *l, ccai_status st, size_t len)
{
    if (st == CCAI_ERR_NOMEM) {
        Ccai_stt_live_fail(l, st, "out of memory");
        return;
    }
    /* One unreadable message: said, not fatal (a final it held is lost;
     * an end() waiting for it times out). */
    Ccai_log(l->log, CCAI_LOG_WARN, "stt %s: unreadable %s (%zu bytes)", l->cls->name, l->cls->unit,
             len);
    Ccai_stt_queue_error(&l->q, st, false, "%s: an unreadable %s (%zu bytes)", l->cls->name,
                         l->cls->unit, len);
}

uint32_t Ccai_stt_live_ms(const Ccai_stt_live *l, uint64_t bytes)
{
    size_t per_ms = Ccai_media_bytes_per_ms(&l->base.in, 1);
    return per_ms ? (uint32_t)(bytes / per_ms) : 0;
}

static void on_result_timeout(Ccai_timer *t, void *ud)
{
    Ccai_stt_live *l = ud;
    CCAI_UNUSED(t);
    char msg[96];
    snprintf(msg, sizeof msg, "%s within %u ms of the end of speech", l->cls->no_result,
             l->result_timeout_ms);
    Ccai_stt_live_fail(l, CCAI_ERR_TIMEOUT, msg);
}

void Ccai_stt_live_await(Ccai_stt_live *l)
{
    if (!Ccai_timer_active(&l->result_timer))
        Ccai_timer_start(l->ctx, &l->result_timer, l->result_timeout_ms);
}

bool Ccai_stt_live_flush(Ccai_stt_live *l)
{
    if (!l->pending.len)
        return true;
    Ccai_buf held = l->pending;
    memset(&l->pending, 0, sizeof l->pending);
    ccai_status st = l->cls->send(l, (const uint8_t *)held.data, held.len);
    Ccai_buf_free(&held);
    if (st != CCAI_OK) {
        Ccai_stt_live_fail(l, st, "cannot send the audio held during the connect");
        return false;
    }
    return true;
}

static void live_on_open(Ccai_ws *ws, void *ud)
{
    Ccai_stt_live *l = ud;
    CCAI_UNUSED(ws);
    l->opened = true;
    l->cls->open(l);
}

static void live_on_message(Ccai_ws *ws, int kind, const uint8_t *data, size_t len, void *ud)
{
    Ccai_stt_live *l = ud;
    CCAI_UNUSED(ws);
    if (kind != CCAI_WS_TEXT || l->dead)
        return;
    l->cls->message(l, (const char *)data, len);
}

static void live_on_close(Ccai_ws *ws, const Ccai_ws_end *e, void *ud)
{
    Ccai_stt_live *l = ud;
    CCAI_UNUSED(ws);
    Ccai_ws_free(l->ws);
    l->ws = NULL;
    if (l->dead)
        return;
    Ccai_stt_ws_outcome o;
    Ccai_stt_ws_judge(e, l->opened, l->attempts, CCAI_STT_LIVE_ATTEMPTS, l->cls->what, &o);
    if (o.retry) {
        Ccai_log(l->log, CCAI_LOG_INFO, "stt %s: HTTP %ld, retry in %llu ms", l->cls->name,
                 e->http_status, (unsigned long long)o.wait_ms);
        Ccai_timer_start(l->ctx, &l->connect_timer, o.wait_ms);
        return;
    }
    Ccai_stt_live_fail(l, o.st, o.msg);
}

static void live_connect(Ccai_stt_live *l)
{
    l->attempts++;
    Ccai_buf url = {0};
    const char *headers[] = {l->auth, NULL};
    if (!Ccai_buf_puts(&url, l->url) ||
        (l->query_tail.len && !Ccai_buf_puts(&url, l->query_tail.data))) {
        Ccai_buf_free(&url);
        Ccai_stt_live_fail(l, CCAI_ERR_NOMEM, "out of memory");
        return;
    }
    Ccai_ws_opts o = {
        .url = url.data,
        .headers = headers,
        .connect_timeout_ms = l->connect_timeout_ms,
        .max_message = CCAI_STT_MAX_MESSAGE,
        .max_out = CCAI_STT_LIVE_MAX_PENDING * 2,
        .on_open = live_on_open,
        .on_message = live_on_message,
        .on_close = live_on_close,
        .ud = l,
    };
    ccai_status st = Ccai_ws_connect(l->ctx, &o, &l->ws);
    Ccai_buf_free(&url);
    if (st != CCAI_OK)
        Ccai_stt_live_fail(l, st, "cannot start the connection");
}

static void on_connect_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    live_connect(ud);
}

ccai_status Ccai_stt_live_base_url(ccai_ctx *ctx, const Ccai_stt_live_class *cls,
                                   const Ccai_stt_config *cfg, Ccai_buf *out)
{
    if (!cfg->api_key || !*cfg->api_key) {
        Ccai_ctx_set_error(ctx, "speech.stt.%s.api_key is required", cls->name);
        return CCAI_ERR_CONFIG;
    }
    const char *ep = cfg->endpoint && *cfg->endpoint ? cfg->endpoint : cls->endpoint;
    if (strncmp(ep, "ws://", 5) && strncmp(ep, "wss://", 6) && strncmp(ep, "http://", 7) &&
        strncmp(ep, "https://", 8)) {
        Ccai_ctx_set_error(ctx, "speech.stt.%s.endpoint: not a ws(s):// or http(s):// URL",
                           cls->name);
        return CCAI_ERR_CONFIG;
    }
    size_t n = strlen(ep);
    while (n && ep[n - 1] == '/')
        n--;
    bool ok = strncmp(ep, "http", 4) == 0 /* https://host -> wss://host */
                  ? Ccai_buf_printf(out, "ws%.*s", (int)(n - 4), ep + 4)
                  : Ccai_buf_printf(out, "%.*s", (int)n, ep);
    return ok ? CCAI_OK : CCAI_ERR_NOMEM;
}

void Ccai_stt_live_init(Ccai_stt_live *l, ccai_ctx *ctx, const Ccai_stt_live_class *cls,
                        const Ccai_stt_config *cfg, const Ccai_stt_open *o)
{
    l->base.provider = cls->provider;
    l->ctx = ctx;
    l->log = o->log ? o->log : Ccai_ctx_logger(ctx);
    l->cls = cls;
    l->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : 5000;
    l->result_timeout_ms = cfg->result_timeout_ms ? cfg->result_timeout_ms : 5000;
    Ccai_stt_queue_init(&l->q, ctx, &l->base, o, live_destroy);
    Ccai_timer_init(&l->connect_timer, on_connect_timer, l);
    Ccai_timer_init(&l->result_timer, on_result_timeout, l);
}

ccai_status Ccai_stt_live_start(Ccai_stt_live *l, Ccai_stt **ret)
{
    Ccai_timer_start(l->ctx, &l->connect_timer, 0);
    *ret = &l->base;
    return CCAI_OK;
}

void Ccai_stt_live_discard(Ccai_stt_live *l)
{
    live_release(l);
    live_destroy(&l->base);
}

ccai_status Ccai_stt_live_feed(Ccai_stt *s, const uint8_t *audio, size_t len)
{
    Ccai_stt_live *l = (Ccai_stt_live *)s;
    if (l->dead)
        return CCAI_ERR_STATE;
    if (!len)
        return CCAI_OK; /* an empty binary message would close the stream */
    if (!l->opened) {
        if (l->pending.len + len > CCAI_STT_LIVE_MAX_PENDING)
            return CCAI_ERR_LIMIT;
        return Ccai_buf_append(&l->pending, audio, len) ? CCAI_OK : CCAI_ERR_NOMEM;
    }
    return l->cls->send(l, audio, len);
}

void Ccai_stt_live_close(Ccai_stt *s)
{
    if (!s)
        return;
    Ccai_stt_live *l = (Ccai_stt_live *)s;
    live_release(l);
    if (Ccai_stt_queue_close(&l->q))
        live_destroy(s);
}
