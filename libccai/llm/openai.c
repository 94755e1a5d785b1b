/* Chat completions over HTTP: OpenAI, Azure OpenAI, OpenAI-compatible. */
#include "llm/llm.h"
#include "llm/model.h"

#include "config/config.h"
#include "core/json.h"
#include "io/io.h"
#include "llm/chunk.h"
#include "llm/entra.h"
#include "llm/sse.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ERROR_BODY_MAX  (16u * 1024u)
#define SSE_EVENT_MAX   (1024u * 1024u)
#define LLM_RECV_BUFFER 4096

/* Calls -------------------------------------------------------------------- */

struct Ccai_llm_call {
    ccai_ctx *ctx;
    Ccai_llm_callbacks cb;
    void *ud;
    /* The request's body, sent without a copy and kept for a retry: it
     * starts with {"messages": and the message array without its closing
     * bracket (head bytes), which every attempt reuses. */
    Ccai_buf payload;
    size_t head;
    bool no_messages;                  /* the array is empty */
    char *(*messages_again)(void *ud); /* NULL: the head is kept */
    const char *tools;                 /* the tool array as JSON text, NULL for none */
    size_t tools_len;
    char *tools_own; /* tools, when written from a tree here */
    bool json_mode;
    const Ccai_llm_model *models[2];
    Ccai_llm_health *health[2];
    uint32_t budget_ms;
    uint32_t max_backoff_ms;
    uint64_t started;

    int model_idx;
    int attempt; /* on the current model */
    int attempts_total;
    Ccai_http_req *req;
    long status;
    Ccai_sse sse;
    Ccai_chunk_reader chunks;
    Ccai_buf body; /* error body, or the whole non-streamed body */
    Ccai_tool_calls calls;
    Ccai_llm_finish finish;
    bool jailbreak; /* the provider saw a jailbreak in the prompt */
    bool done_marker;
    char *stream_error;
    int64_t prompt_tokens, completion_tokens;
    uint64_t first_token_ms;

    Ccai_buf delivered; /* all text handed to on_text, every attempt */
    Ccai_buf held;      /* text of a retry that so far repeats delivered */
    bool dedupe;        /* this attempt may start by repeating delivered */

    Ccai_timer backoff;
    Ccai_entra_wait token_wait; /* waiting for the model's Entra ID token */
    char *last_error;
    bool in_callback;
    bool cancelled;
    bool finished;
};

/* No longer waiting for a token (either model's). */
static void unwait(Ccai_llm_call *c)
{
    for (int i = 0; i < 2; i++)
        if (c->models[i])
            Ccai_entra_unwait(c->models[i]->entra, &c->token_wait);
}

static void call_free(Ccai_llm_call *c)
{
    unwait(c);
    Ccai_timer_stop(c->ctx, &c->backoff);
    if (c->req)
        Ccai_http_cancel(c->req);
    Ccai_buf_free(&c->payload);
    ccai_free(c->tools_own);
    Ccai_sse_free(&c->sse);
    Ccai_chunk_reader_free(&c->chunks);
    Ccai_buf_free(&c->body);
    Ccai_tool_calls_free(&c->calls);
    Ccai_buf_free(&c->delivered);
    Ccai_buf_free(&c->held);
    ccai_free(c->stream_error);
    ccai_free(c->last_error);
    ccai_free(c);
}

static const Ccai_llm_model *model_of(const Ccai_llm_call *c)
{
    return c->models[c->model_idx];
}

/* The model answered: healthy again. */
static void health_ok(Ccai_llm_call *c)
{
    Ccai_llm_health *h = c->health[c->model_idx];
    if (h) {
        h->failures = 0;
        h->until = 0;
    }
}

/* The current model is given up on for this request: it cools down for
 * as long as it asked (told_ms), else for the default, doubled for each
 * failure in a row. */
static void health_failed(Ccai_llm_call *c, int64_t told_ms)
{
    Ccai_llm_health *h = c->health[c->model_idx];
    if (!h)
        return;
    uint64_t wait = CCAI_LLM_COOLDOWN_MS;
    if (told_ms > 0) {
        wait = (uint64_t)told_ms;
    } else {
        for (unsigned k = 0; k < h->failures && wait < CCAI_LLM_COOLDOWN_MAX_MS; k++)
            wait *= 2;
        if (wait > CCAI_LLM_COOLDOWN_MAX_MS)
            wait = CCAI_LLM_COOLDOWN_MAX_MS;
    }
    if (h->failures < UINT32_MAX)
        h->failures++;
    uint64_t until = Ccai_ctx_now(c->ctx) + wait;
    if (until > h->until)
        h->until = until;
}

/* The model to fail over to now: the second one, when there is one and it
 * does not cool down; -1 otherwise. */
static int other_model(const Ccai_llm_call *c)
{
    if (c->model_idx != 0 || !c->models[1] ||
        !Ccai_llm_health_ready(c->health[1], Ccai_ctx_now(c->ctx)))
        return -1;
    return 1;
}

/* The model as the provider knows it: the deployment on Azure, else the
 * model's name; "" when the configuration names neither. */
static const char *model_id(const Ccai_llm_model *m)
{
    if (!m)
        return "";
    if (m->mode == CCAI_LLM_AZURE && m->deployment && *m->deployment)
        return m->deployment;
    return m->model ? m->model : "";
}

static void finish_call(Ccai_llm_call *c, ccai_status st, const char *errmsg)
{
    c->finished = true;
    if (st == CCAI_OK)
        health_ok(c);
    Ccai_tool_calls_finish(&c->calls);
    Ccai_llm_result res = {
        .finish = c->finish,
        .jailbreak = c->jailbreak,
        .calls = &c->calls,
        .text = c->delivered.data ? c->delivered.data : "",
        .model_name = model_of(c) ? model_of(c)->name : "",
        .model = model_id(model_of(c)),
        .attempts = c->attempts_total,
        .prompt_tokens = c->prompt_tokens,
        .completion_tokens = c->completion_tokens,
        .first_token_ms = c->first_token_ms,
        .total_ms = Ccai_ctx_now(c->ctx) - c->started,
    };
    if (!c->cancelled && c->cb.on_done) {
        c->in_callback = true;
        c->cb.on_done(st, &res, errmsg, c->ud);
        c->in_callback = false;
    }
    call_free(c);
}

/* Text ---------------------------------------------------------------------- */

static void stream_fail(Ccai_llm_call *c, const char *what, const char *detail);

static int deliver(Ccai_llm_call *c, const char *s, size_t n)
{
    if (!n)
        return 0;
    if (!Ccai_buf_append(&c->delivered, s, n)) {
        stream_fail(c, "out of memory", NULL);
        return -1;
    }
    if (c->json_mode || !c->cb.on_text)
        return 0;
    c->in_callback = true;
    int stop = c->cb.on_text(s, n, c->ud);
    c->in_callback = false;
    if (stop)
        c->cancelled = true; /* the same as Ccai_llm_cancel() */
    return c->cancelled ? 1 : 0;
}

/* A retry may start over with the words already spoken. Hold its text while
 * it repeats what was delivered; on the first difference, drop the whole
 * sentences it repeated and deliver the rest. */
static int on_retry_text(Ccai_llm_call *c, const char *s, size_t n)
{
    if (!Ccai_buf_append(&c->held, s, n)) {
        stream_fail(c, "out of memory", NULL);
        return -1;
    }
    size_t k = 0, total = c->held.len;
    size_t dlen = c->delivered.len;
    while (k < total && k < dlen && c->held.data[k] == c->delivered.data[k])
        k++;
    if (k == total && total < dlen)
        return 0; /* still repeating: wait */
    size_t cut = 0;
    if (k >= dlen) {
        cut = dlen; /* repeated everything: skip all of it */
    } else {
        for (size_t i = 0; i + 1 < k; i++) {
            char ch = c->held.data[i];
            if ((ch == '.' || ch == '!' || ch == '?') &&
                Ccai_is_space((unsigned char)c->held.data[i + 1]))
                cut = i + 2;
        }
    }
    c->dedupe = false;
    char *rest = Ccai_strndup(c->held.data + cut, total - cut);
    Ccai_buf_reset(&c->held);
    if (!rest) {
        stream_fail(c, "out of memory", NULL);
        return -1;
    }
    int stop = deliver(c, rest, strlen(rest));
    ccai_free(rest);
    return stop;
}

static int on_content(Ccai_llm_call *c, const char *s, size_t n)
{
    if (!c->first_token_ms)
        c->first_token_ms = Ccai_ctx_now(c->ctx) - c->started;
    if (c->dedupe)
        return on_retry_text(c, s, n);
    return deliver(c, s, n);
}

/* Stream ---------------------------------------------------------------------- */

static void stream_fail(Ccai_llm_call *c, const char *what, const char *detail)
{
    if (c->stream_error)
        return;
    c->stream_error = Ccai_asprintf("%s%s", what, detail ? detail : "");
}

/* Act on a chunk; tree: the chunk parsed, when it has an error or tool
 * calls (the reader leaves those to a tree). */
static int on_chunk(Ccai_llm_call *c, const Ccai_chunk *chunk, const json_t *tree)
{
    if (!chunk->object)
        return 0;
    if (chunk->error) {
        const json_t *err = json_object_get(tree, "error");
        const char *msg = json_string_value(json_object_get(err, "message"));
        stream_fail(c, "error in the stream: ", msg ? msg : "unknown");
        return 1;
    }
    if (chunk->prompt_jailbreak)
        c->jailbreak = true;
    if (chunk->usage) {
        c->prompt_tokens = chunk->prompt_tokens;
        c->completion_tokens = chunk->completion_tokens;
    }
    for (size_t i = 0; i < chunk->n; i++) {
        const Ccai_chunk_choice *ch = &chunk->v[i];
        if (ch->skip)
            continue; /* n > 1 is never asked for */
        if (ch->text_len && on_content(c, ch->text, ch->text_len))
            return 1;
        if (ch->tool_calls) {
            if (!c->first_token_ms)
                c->first_token_ms = Ccai_ctx_now(c->ctx) - c->started;
            const json_t *choice = json_array_get(json_object_get(tree, "choices"), i);
            ccai_status st = Ccai_tool_calls_apply(
                &c->calls, json_object_get(json_object_get(choice, "delta"), "tool_calls"));
            if (st != CCAI_OK) {
                stream_fail(c, "tool calls: ", ccai_status_str(st));
                return 1;
            }
        }
        if (ch->finish)
            c->finish = Ccai_llm_finish_parse(ch->finish);
        if (ch->filtered)
            c->finish = CCAI_FINISH_CONTENT_FILTER;
    }
    return 0;
}

static int on_sse(const char *event, const char *data, size_t len, void *ud)
{
    Ccai_llm_call *c = ud;
    if (strcmp(event, "error") == 0) {
        stream_fail(c, "error event in the stream: ", data);
        return 1;
    }
    if (len >= 6 && strncmp(data, "[DONE]", 6) == 0) {
        c->done_marker = true;
        return 0;
    }
    /* The usual chunk is read without a tree; an error, tool calls and
     * text that is not JSON (for the parser's own words) are parsed. */
    Ccai_chunk chunk;
    json_t *tree = NULL;
    ccai_status st = Ccai_chunk_read(&c->chunks, data, len, &chunk);
    if (st == CCAI_ERR_UNSUPPORTED || st == CCAI_ERR_PARSE) {
        Ccai_json_err jerr;
        tree = Ccai_json_load(data, len, &jerr, &st);
        if (!tree) {
            stream_fail(c, "malformed chunk: ", st == CCAI_ERR_NOMEM ? "out of memory" : jerr.text);
            return 1;
        }
        st = Ccai_chunk_from_tree(&c->chunks, tree, &chunk);
    }
    if (st != CCAI_OK) {
        json_decref(tree);
        stream_fail(c, "malformed chunk: ", "out of memory");
        return 1;
    }
    int stop = on_chunk(c, &chunk, tree);
    json_decref(tree);
    return stop;
}

/* HTTP ------------------------------------------------------------------------- */

static void start_attempt(Ccai_llm_call *c);

static void on_http_response(Ccai_http_req *req, long status, void *ud)
{
    Ccai_llm_call *c = ud;
    c->status = status;
    /* The body went out: nothing of it is kept for the rest of the stream
     * when the messages can be had again for a retry; else only its head
     * (the messages), not the model's settings and the tools. */
    if (!Ccai_http_body_sent(req) || c->payload.len <= c->head)
        return;
    if (c->messages_again) {
        Ccai_buf_free(&c->payload);
        return;
    }
    char *head = Ccai_realloc(c->payload.data, c->head + 1);
    if (head) {
        head[c->head] = '\0';
        c->payload.data = head;
        c->payload.len = c->head;
        c->payload.cap = c->head + 1;
    }
}

static int on_http_data(Ccai_http_req *req, const char *data, size_t len, void *ud)
{
    CCAI_UNUSED(req);
    Ccai_llm_call *c = ud;
    if (c->status < 200 || c->status >= 300 || c->json_mode) {
        size_t max = c->json_mode && c->status < 300 ? SSE_EVENT_MAX : ERROR_BODY_MAX;
        if (c->body.len + len > max) {
            if (!c->json_mode)
                return 0; /* an error page: its start is enough */
            stream_fail(c, "the answer is too large", NULL);
            return 1;
        }
        if (Ccai_buf_append(&c->body, data, len))
            return 0;
        stream_fail(c, "out of memory", NULL);
        return 1;
    }
    ccai_status st = Ccai_sse_feed(&c->sse, data, len, on_sse, c);
    if (st == CCAI_ERR_LIMIT)
        stream_fail(c, "stream event too large", NULL);
    else if (st == CCAI_ERR_NOMEM)
        stream_fail(c, "out of memory", NULL);
    return st != CCAI_OK;
}

static CCAI_MUST_CHECK bool retryable_status(long status)
{
    return status == 408 || status == 409 || status == 429 || status >= 500;
}

static char *error_message(const Ccai_llm_call *c, long status)
{
    const char *msg = NULL;
    Ccai_json_err jerr;
    ccai_status st;
    json_t *body = c->body.len ? Ccai_json_load(c->body.data, c->body.len, &jerr, &st) : NULL;
    if (body)
        msg = json_string_value(json_object_get(json_object_get(body, "error"), "message"));
    char *out = Ccai_asprintf("HTTP %ld: %s", status, msg ? msg : "no error message");
    json_decref(body);
    return out;
}

/* A 400 that refuses the prompt: {"error": {"code": "content_filter", ...}}.
 * Its verdict says whether the prompt shield saw a jailbreak: Azure sends
 * "innererror": {"content_filter_result": {"jailbreak": {"filtered": true,
 * "detected": true}}}; its OpenAPI document names them inner_error and
 * content_filter_results. */
static CCAI_MUST_CHECK bool is_content_filter(Ccai_llm_call *c)
{
    Ccai_json_err jerr;
    ccai_status st;
    json_t *body = c->body.len ? Ccai_json_load(c->body.data, c->body.len, &jerr, &st) : NULL;
    const json_t *err = json_object_get(body, "error");
    const char *code = json_string_value(json_object_get(err, "code"));
    bool yes = code && strcmp(code, "content_filter") == 0;
    static const char *const inner[][2] = {{"innererror", "content_filter_result"},
                                           {"inner_error", "content_filter_results"}};
    for (size_t i = 0; yes && i < CCAI_ARRAY_SIZE(inner); i++) {
        const json_t *jb = json_object_get(
            json_object_get(json_object_get(err, inner[i][0]), inner[i][1]), "jailbreak");
        if (json_is_true(json_object_get(jb, "filtered")) ||
            json_is_true(json_object_get(jb, "detected")))
            c->jailbreak = true;
    }
    json_decref(body);
    return yes;
}

/* OpenAI's 429 without Retry-After: when the requests or tokens budget is
 * spent ("x-ratelimit-remaining-requests: 0"), its refill time
 * ("x-ratelimit-reset-requests: 20s"); -1 when unknown. */
static int64_t ratelimit_reset_ms(const Ccai_http_req *req)
{
    static const char *const dims[][2] = {
        {"x-ratelimit-remaining-requests", "x-ratelimit-reset-requests"},
        {"x-ratelimit-remaining-tokens", "x-ratelimit-reset-tokens"},
    };
    int64_t best = -1;
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(dims); i++) {
        const char *left = Ccai_http_header(req, dims[i][0]);
        if (!left || strcmp(left, "0") != 0)
            continue;
        int64_t ms = Ccai_llm_duration_ms(Ccai_http_header(req, dims[i][1]));
        if (ms > best)
            best = ms;
    }
    return best;
}

static void on_backoff(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    start_attempt(ud);
}

/* Try again after delay_ms (or fail over, or give up). Takes reason.
 * hint_ms: the wait the server asked for, when short enough to retry
 * after; told_ms: the same however long (for the cool-down), or -1. */
static void retry(Ccai_llm_call *c, char *reason, int64_t hint_ms, int64_t told_ms,
                  bool same_model_ok)
{
    const Ccai_llm_model *m = model_of(c);
    Ccai_log(Ccai_ctx_logger(c->ctx), CCAI_LOG_WARN, "llm %s: attempt %d failed: %s",
             m ? m->name : "?", c->attempt, reason ? reason : "out of memory");
    ccai_free(c->last_error);
    c->last_error = reason;
    uint64_t now = Ccai_ctx_now(c->ctx);
    uint64_t deadline = c->started + c->budget_ms;
    uint64_t delay = 0;
    bool same = same_model_ok && c->attempt < m->retries;
    if (same) {
        if (hint_ms >= 0)
            delay = (uint64_t)hint_ms;
        else /* min(0.5 s * 2^n, max) with jitter in (0.75, 1]. */
            delay =
                Ccai_backoff_ms(c->attempt, 500u, c->max_backoff_ms ? c->max_backoff_ms : 8000u);
        /* A wait that leaves the attempt after it less time than the wait
         * itself (a Retry-After beyond the budget) is not worth it when
         * the other model can answer now. */
        if (c->budget_ms && (now + delay > deadline || delay > (deadline - now) / 2) &&
            other_model(c) >= 0)
            same = false;
    }
    if (!same) {
        health_failed(c, told_ms);
        int next = other_model(c);
        if (next < 0) {
            finish_call(c, CCAI_ERR_HTTP, c->last_error ? c->last_error : "llm: failed");
            return;
        }
        c->model_idx = next;
        c->attempt = 0;
        delay = 0;
    }
    if (c->budget_ms && now + delay > deadline) {
        if (same)
            health_failed(c, told_ms);
        char *msg = Ccai_asprintf("%s (no time left to retry)",
                                  c->last_error ? c->last_error : "llm: failed");
        finish_call(c, CCAI_ERR_TIMEOUT, msg ? msg : "llm: out of time");
        ccai_free(msg);
        return;
    }
    if (c->cb.on_retry) {
        c->in_callback = true;
        c->cb.on_retry(model_of(c)->name, c->attempt + 1, c->last_error ? c->last_error : "", delay,
                       c->ud);
        c->in_callback = false;
        if (c->cancelled) {
            call_free(c);
            return;
        }
    }
    Ccai_timer_start(c->ctx, &c->backoff, delay);
}

static void on_http_done(Ccai_http_req *req, ccai_status st, long status, const char *errmsg,
                         void *ud)
{
    CCAI_UNUSED(req);
    Ccai_llm_call *c = ud;
    c->req = NULL;
    if (c->cancelled) {
        call_free(c);
        return;
    }
    if (st == CCAI_OK && status >= 200 && status < 300) {
        if (c->json_mode) {
            Ccai_json_err jerr;
            ccai_status pst;
            json_t *body =
                Ccai_json_load(c->body.data ? c->body.data : "", c->body.len, &jerr, &pst);
            const json_t *choice = json_array_get(json_object_get(body, "choices"), 0);
            const json_t *msg = json_object_get(choice, "message");
            const char *text = json_string_value(json_object_get(msg, "content"));
            if (!body || !msg) {
                json_decref(body);
                retry(c, Ccai_strdup("malformed completion"), -1, -1, true);
                return;
            }
            c->finish =
                Ccai_llm_finish_parse(json_string_value(json_object_get(choice, "finish_reason")));
            const json_t *usage = json_object_get(body, "usage");
            c->prompt_tokens = json_integer_value(json_object_get(usage, "prompt_tokens"));
            c->completion_tokens = json_integer_value(json_object_get(usage, "completion_tokens"));
            bool ok =
                (!text || Ccai_buf_puts(&c->delivered, text)) &&
                Ccai_tool_calls_apply(&c->calls, json_object_get(msg, "tool_calls")) == CCAI_OK;
            json_decref(body);
            if (!ok) {
                finish_call(c, CCAI_ERR_NOMEM, "llm: out of memory");
                return;
            }
            finish_call(c, CCAI_OK, NULL);
            return;
        }
        if (!c->stream_error) {
            /* CCAI_ERR_CANCELLED: on_sse failed the stream (stream_error
             * says why) or the caller cancelled (below). */
            ccai_status fst = Ccai_sse_finish(&c->sse, on_sse, c);
            if (fst == CCAI_ERR_LIMIT)
                stream_fail(c, "stream event too large", NULL);
            else if (fst == CCAI_ERR_NOMEM)
                stream_fail(c, "out of memory", NULL);
        }
        if (c->cancelled) {
            call_free(c);
            return;
        }
        if (c->stream_error) {
            char *r = c->stream_error;
            c->stream_error = NULL;
            retry(c, r, -1, -1, true);
            return;
        }
        if (!c->done_marker && c->finish == CCAI_FINISH_NONE) {
            retry(c, Ccai_strdup("the stream ended before its end"), -1, -1, true);
            return;
        }
        if (c->dedupe && c->held.len) {
            /* The retry repeated part of what was said and stopped. */
            Ccai_buf_reset(&c->held);
        }
        finish_call(c, CCAI_OK, NULL);
        return;
    }
    if (st == CCAI_OK) {
        if (status == 400 && is_content_filter(c)) {
            c->finish = CCAI_FINISH_CONTENT_FILTER;
            finish_call(c, CCAI_OK, NULL);
            return;
        }
        char *msg = error_message(c, status);
        const char *should = Ccai_http_header(req, "x-should-retry");
        bool again = retryable_status(status);
        if (should)
            again = strcmp(should, "true") == 0;
        int64_t told =
            Ccai_llm_wait_hint_ms(Ccai_http_header(req, "retry-after"),
                                  Ccai_http_header(req, "retry-after-ms"), Ccai_wall_ms());
        if (told < 0 && status == 429)
            told = ratelimit_reset_ms(req);
        /* Too long to wait for (quota exhausted): not this model again now
         * (the official SDK does not retry beyond 120 s either). */
        if (told > RETRY_AFTER_MAX_MS)
            again = false;
        retry(c, msg, told <= RETRY_AFTER_MAX_MS ? told : -1, told, again);
        return;
    }
    if (st == CCAI_ERR_CANCELLED && c->cancelled) {
        /* on_text asked to stop: the caller is done with this answer. */
        call_free(c);
        return;
    }
    if (st == CCAI_ERR_CANCELLED) {
        /* This side stopped the transfer: the stream failed (its reason
         * may not have fitted in memory). Never dropped without on_done. */
        char *r = c->stream_error;
        c->stream_error = NULL;
        retry(c, r ? r : Ccai_strdup("the stream failed (out of memory)"), -1, -1, true);
        return;
    }
    retry(c, Ccai_strdup(errmsg ? errmsg : ccai_status_str(st)), -1, -1, true);
}

/* Build the attempt's body and start its request. CCAI_OK; else nothing
 * fired: CCAI_ERR_NOMEM (building it), or CCAI_ERR_HTTP with what
 * Ccai_http_start() said in *http_st. */
static ccai_status send_attempt(Ccai_llm_call *c, ccai_status *http_st)
{
    const Ccai_llm_model *m = model_of(c);
    const char *bearer = m->entra ? Ccai_entra_token(m->entra, c->ctx, Ccai_wall_ms()) : NULL;
    if (m->entra && !bearer) { /* start_attempt() waits for one */
        *http_st = CCAI_ERR_STATE;
        return CCAI_ERR_HTTP;
    }
    c->attempt++;
    c->attempts_total++;
    c->status = 0;
    c->jailbreak = false;
    c->finish = CCAI_FINISH_NONE;
    c->done_marker = false;
    ccai_free(c->stream_error);
    c->stream_error = NULL;
    Ccai_buf_reset(&c->body);
    Ccai_buf_reset(&c->held);
    Ccai_tool_calls_free(&c->calls);
    Ccai_sse_free(&c->sse);
    Ccai_sse_init(&c->sse, SSE_EVENT_MAX);
    c->dedupe = c->delivered.len > 0;

    /* The request before (if any) is over: its body is no longer sent. */
    if (!c->payload.data) { /* let go once it was sent: the messages again */
        char *messages = c->messages_again(c->ud);
        size_t len = messages ? strlen(messages) : 0;
        bool ok = messages && Ccai_llm_body_head(&c->payload, messages, len);
        ccai_free(messages);
        if (!ok) {
            Ccai_buf_free(&c->payload);
            return CCAI_ERR_NOMEM;
        }
        c->head = c->payload.len;
        c->no_messages = len == 2;
    }
    c->payload.len = c->head;
    c->payload.data[c->head] = '\0';
    bool built = Ccai_llm_body_rest(&c->payload, m, c->json_mode, c->no_messages, c->tools,
                                    c->tools_len, c->delivered.data, c->delivered.len);
    char *url = Ccai_llm_chat_url(m);
    char *auth = NULL;
    if (bearer)
        auth = Ccai_asprintf("Authorization: Bearer %s", bearer);
    else if (m->api_key)
        auth = m->mode == CCAI_LLM_AZURE ? Ccai_asprintf("api-key: %s", m->api_key)
                                         : Ccai_asprintf("Authorization: Bearer %s", m->api_key);
    ccai_status st = CCAI_ERR_NOMEM;
    if (built && url && ((!m->api_key && !bearer) || auth)) {
        const char *headers[] = {
            "Content-Type: application/json",
            c->json_mode ? "Accept: application/json" : "Accept: text/event-stream",
            auth,
            NULL,
        };
        Ccai_http_opts o = {
            .method = "POST",
            .url = url,
            .headers = headers,
            .body = c->payload.data,
            .body_len = c->payload.len,
            .body_borrowed = true,
            /* SSE events are small: no 16 KiB read buffer per stream. */
            .recv_buffer = LLM_RECV_BUFFER,
            .connect_timeout_ms = m->connect_ms,
            .first_byte_timeout_ms = m->first_byte_ms,
            .idle_timeout_ms = c->json_mode ? 0 : m->idle_ms,
            .total_timeout_ms = c->json_mode ? 120000 : 0,
            .on_response = on_http_response,
            .on_data = on_http_data,
            .on_done = on_http_done,
            .ud = c,
        };
        *http_st = Ccai_http_start(c->ctx, &o, &c->req);
        st = *http_st == CCAI_OK ? CCAI_OK : CCAI_ERR_HTTP; /* retried, not given up */
    }
    ccai_free(url);
    ccai_free(auth);
    return st;
}

static void on_token(void *ud, ccai_status st, const char *errmsg)
{
    Ccai_llm_call *c = ud;
    if (st == CCAI_OK) {
        start_attempt(c);
        return;
    }
    /* An attempt that failed before its request: counted as one. */
    c->attempt++;
    c->attempts_total++;
    retry(c, Ccai_strdup(errmsg ? errmsg : "no Entra ID token"), -1, -1, true);
}

static void start_attempt(Ccai_llm_call *c)
{
    /* Azure OpenAI with Entra ID: a token first (fetched on the loop). */
    const Ccai_llm_model *m = model_of(c);
    if (m->entra && !Ccai_entra_token(m->entra, c->ctx, Ccai_wall_ms())) {
        if (Ccai_entra_wait_token(m->entra, c->ctx, &c->token_wait, on_token, c) != CCAI_OK) {
            c->attempt++;
            c->attempts_total++;
            retry(c, Ccai_strdup("Entra ID token: the request could not start"), -1, -1, true);
        }
        return;
    }
    ccai_status http_st = CCAI_OK;
    ccai_status st = send_attempt(c, &http_st);
    if (st == CCAI_ERR_NOMEM)
        finish_call(c, CCAI_ERR_NOMEM, "llm: out of memory");
    else if (st != CCAI_OK)
        retry(c, Ccai_asprintf("cannot start the request: %s", ccai_status_str(http_st)), -1, -1,
              true);
}

ccai_status Ccai_llm_chat(ccai_ctx *ctx, const Ccai_llm_opts *opts, const Ccai_llm_callbacks *cb,
                          void *ud, Ccai_llm_call **ret)
{
    if (!ctx || !opts || !cb || !ret || !opts->models[0] ||
        !opts->messages == !opts->messages_json || (opts->tools && opts->tools_json)) {
        if (opts)
            ccai_free(opts->messages_json);
        return CCAI_ERR_INVALID_ARG;
    }
    Ccai_llm_call *c = Ccai_calloc(1, sizeof *c);
    if (!c) {
        ccai_free(opts->messages_json);
        return CCAI_ERR_NOMEM;
    }
    c->ctx = ctx;
    c->cb = *cb;
    c->ud = ud;
    c->json_mode = opts->json_mode;
    c->models[0] = opts->models[0];
    c->models[1] = opts->models[1];
    c->health[0] = opts->health[0];
    c->health[1] = c->models[1] ? opts->health[1] : NULL;
    /* A primary that cools down hands over to the fallback at once. */
    if (!Ccai_llm_health_ready(c->health[0], Ccai_ctx_now(ctx)) && other_model(c) == 1)
        c->model_idx = 1;
    c->budget_ms = opts->budget_ms;
    c->max_backoff_ms = opts->max_backoff_ms;
    c->started = Ccai_ctx_now(ctx);
    c->prompt_tokens = c->completion_tokens = -1;
    Ccai_timer_init(&c->backoff, on_backoff, c);
    Ccai_sse_init(&c->sse, SSE_EVENT_MAX);
    Ccai_tool_calls_init(&c->calls);
    /* As JSON text: a tree is written once, not once per attempt. */
    char *messages =
        opts->messages_json ? opts->messages_json : Ccai_json_dump(opts->messages, JSON_COMPACT);
    c->tools = opts->tools_json;
    if (opts->tools)
        c->tools = c->tools_own = Ccai_json_dump(opts->tools, JSON_COMPACT);
    size_t len = messages ? strlen(messages) : 0;
    ccai_status st = messages && (!opts->tools || c->tools) ? CCAI_OK : CCAI_ERR_NOMEM;
    if (st == CCAI_OK && !Ccai_llm_body_head(&c->payload, messages, len))
        st = len < 2 || messages[0] != '[' || messages[len - 1] != ']' ? CCAI_ERR_INVALID_ARG
                                                                       : CCAI_ERR_NOMEM;
    ccai_free(messages);
    if (st != CCAI_OK) {
        call_free(c);
        return st;
    }
    c->head = c->payload.len;
    c->no_messages = len == 2;
    c->messages_again = opts->messages_json ? opts->messages_again : NULL;
    c->tools_len = c->tools ? strlen(c->tools) : 0;
    /* The first request starts now (libcurl sends it from the loop: no
     * callback fires before this function returns); one that cannot start
     * is tried again from the loop, where a failure may call back. */
    ccai_status http_st = CCAI_OK;
    if (send_attempt(c, &http_st) != CCAI_OK) {
        c->attempt = c->attempts_total = 0;
        Ccai_timer_start(ctx, &c->backoff, 0);
    }
    *ret = c;
    return CCAI_OK;
}

void Ccai_llm_cancel(Ccai_llm_call *c)
{
    if (!c || c->cancelled)
        return;
    c->cancelled = true;
    if (c->finished)
        return; /* freed when on_done returns */
    if (c->in_callback)
        return; /* freed by the frame that called back */
    if (c->req) {
        Ccai_http_cancel(c->req);
        c->req = NULL;
    }
    call_free(c);
}
