/* The life of one retrying REST operation (see the header). */
#include "io/restop.h"

#include <stdio.h>
#include <string.h>

/* The longest Retry-After a REST operation waits for; beyond it, the
 * backoff decides. */
#define RETRY_AFTER_MAX_MS 120000

static void op_link(Ccai_rest_op *op)
{
    Ccai_rest_client *c = op->client;
    op->prev = NULL;
    op->next = c->ops;
    if (c->ops)
        c->ops->prev = op;
    c->ops = op;
    op->linked = true;
}

static void op_unlink(Ccai_rest_op *op)
{
    if (!op->linked)
        return;
    if (op->prev)
        op->prev->next = op->next;
    else
        op->client->ops = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->prev = op->next = NULL;
    op->linked = false;
}

/* Stop what it has in flight and free it (unlinked). */
static void op_destroy(Ccai_rest_op *op, ccai_ctx *ctx)
{
    Ccai_timer_stop(ctx, &op->backoff);
    if (op->req)
        Ccai_http_cancel(op->req);
    op->req = NULL;
    op->cls->free(op);
}

static void fail(Ccai_rest_op *op, ccai_status st, long status, const char *body, size_t len,
                 const char *message)
{
    op->cls->failure(op, st, status, body ? body : "", body ? len : 0, message);
}

static void fail_nomem(Ccai_rest_op *op, long status)
{
    char msg[48];
    snprintf(msg, sizeof msg, "%s: out of memory", op->cls->tag);
    fail(op, CCAI_ERR_NOMEM, status, NULL, 0, msg);
}

static void attempt(Ccai_rest_op *op)
{
    ccai_status st = op->cls->send(op);
    if (st == CCAI_OK)
        return;
    char msg[96];
    snprintf(msg, sizeof msg, "%s: cannot start the request: %s", op->cls->tag,
             ccai_status_str(st));
    fail(op, st, 0, NULL, 0, msg);
}

static void on_backoff(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    attempt(ud);
}

/* Arm the backoff timer: hint_ms when >= 0 (Retry-After), else the
 * exponential backoff with jitter. */
static void retry_later(Ccai_rest_op *op, int64_t hint_ms)
{
    Ccai_rest_client *c = op->client;
    uint64_t delay = hint_ms >= 0
                         ? (uint64_t)hint_ms
                         : Ccai_backoff_ms(op->attempts, c->base_backoff_ms, c->max_backoff_ms);
    Ccai_log(Ccai_ctx_logger(c->ctx), CCAI_LOG_WARN, "%s: attempt %d failed, retry in %llu ms",
             op->cls->tag, op->attempts, (unsigned long long)delay);
    Ccai_timer_start(c->ctx, &op->backoff, delay);
}

static void on_error_reply(Ccai_rest_op *op, Ccai_http_req *req, long status, const char *body,
                           size_t len)
{
    char *msg = op->cls->error_text(op, status, body, len);
    if ((status == 429 || status >= 500) && op->attempts < op->client->max_attempts) {
        int64_t hint = Ccai_http_retry_after_ms(Ccai_http_header(req, "retry-after"), NULL,
                                                Ccai_wall_ms(), RETRY_AFTER_MAX_MS);
        if (msg)
            Ccai_log(Ccai_ctx_logger(op->client->ctx), CCAI_LOG_WARN, "%s", msg);
        ccai_free(msg);
        retry_later(op, hint);
        return;
    }
    char *full =
        msg && op->attempts > 1 ? Ccai_asprintf("%s (after %d attempts)", msg, op->attempts) : NULL;
    char fallback[48];
    snprintf(fallback, sizeof fallback, "%s: error reply", op->cls->tag);
    fail(op, status == 404 ? CCAI_ERR_NOT_FOUND : CCAI_ERR_HTTP, status, body, len,
         full  ? full
         : msg ? msg
               : fallback);
    ccai_free(full);
    ccai_free(msg);
}

static void on_http_done(Ccai_http_req *req, ccai_status st, long status, const char *errmsg,
                         void *ud)
{
    Ccai_rest_op *op = ud;
    op->req = NULL;
    if (st == CCAI_OK) {
        size_t len = 0;
        const char *body = Ccai_http_body(req, &len);
        if (status >= 200 && status < 300)
            op->cls->success(op, status, body, len);
        else
            on_error_reply(op, req, status, body, len);
        return;
    }
    if (op->retry_transport && st != CCAI_ERR_NOMEM && op->attempts < op->client->max_attempts) {
        retry_later(op, -1);
        return;
    }
    char *msg =
        Ccai_asprintf("%s: %s", op->cls->tag, errmsg && *errmsg ? errmsg : ccai_status_str(st));
    ccai_status out = st == CCAI_ERR_TIMEOUT || st == CCAI_ERR_NOMEM ? st : CCAI_ERR_HTTP;
    if (msg)
        fail(op, out, 0, NULL, 0, msg);
    else
        fail_nomem(op, 0);
    ccai_free(msg);
}

ccai_status Ccai_rest_op_http(Ccai_rest_op *op, Ccai_http_opts *o)
{
    o->total_timeout_ms = op->client->timeout_ms;
    o->on_done = on_http_done;
    o->ud = op;
    op->attempts++;
    return Ccai_http_start(op->client->ctx, o, &op->req);
}

ccai_status Ccai_rest_op_start(Ccai_rest_client *client, Ccai_rest_op *op,
                               const Ccai_rest_class *cls, bool retry_transport)
{
    op->cls = cls;
    op->client = client;
    op->retry_transport = retry_transport;
    Ccai_timer_init(&op->backoff, on_backoff, op);
    ccai_status st = cls->send(op);
    if (st != CCAI_OK) {
        op_destroy(op, client->ctx);
        return st;
    }
    op_link(op);
    return CCAI_OK;
}

void Ccai_rest_op_retry(Ccai_rest_op *op, int64_t hint_ms, ccai_status st, long status,
                        const char *body, const char *message)
{
    if (op->attempts < op->client->max_attempts) {
        retry_later(op, hint_ms);
        return;
    }
    if (message)
        fail(op, st, status, body, body ? strlen(body) : 0, message);
    else
        fail_nomem(op, status);
}

void Ccai_rest_op_complete(Ccai_rest_op *op, void (*deliver)(Ccai_rest_op *op, void *arg),
                           void *arg)
{
    ccai_ctx *ctx = op->client->ctx; /* outlives the client */
    op_unlink(op);
    op->client = NULL; /* the callback may free the client */
    op->in_callback = true;
    deliver(op, arg);
    op->in_callback = false;
    op_destroy(op, ctx);
}

void Ccai_rest_op_cancel(Ccai_rest_op *op)
{
    if (!op || op->cancelled)
        return;
    op->cancelled = true;
    if (op->in_callback || !op->client)
        return; /* completing: freed when its callback returns */
    ccai_ctx *ctx = op->client->ctx;
    op_unlink(op);
    op_destroy(op, ctx);
}

void Ccai_rest_client_cancel_all(Ccai_rest_client *client)
{
    while (client->ops) {
        Ccai_rest_op *op = client->ops;
        op_unlink(op);
        op_destroy(op, client->ctx);
    }
}
