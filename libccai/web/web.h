/* The HTTP front end inside libccai: routing, authentication, responses.
 * A host hands requests to ccai_ctx_http(); routes answer through the
 * helpers below, at once or later (webhooks waiting for the bot). */
#ifndef CCAI_WEB_WEB_H
#define CCAI_WEB_WEB_H

#include "core/common.h"
#include "io/ctx_private.h"

#include <jansson.h>

/* Largest request body accepted by any route (server.max_body_bytes caps
 * it lower). */
#define CCAI_WEB_BODY_MAX   (8u * 1024u * 1024u)
#define CCAI_WEB_PARAMS_MAX 4

/* The largest request body: server.max_body_bytes, at most
 * CCAI_WEB_BODY_MAX (the HTTP server reads no more, ccai_ctx_http()
 * refuses more). */
size_t Ccai_web_body_max(const ccai_ctx *ctx);

typedef struct Ccai_web_hdr {
    char *name;
    char *value;
} Ccai_web_hdr;

struct ccai_http_exchange {
    ccai_ctx *ctx;
    ccai_http_respond_fn respond;
    void *ud;
    /* The request, copied. */
    char *method;
    char *path;
    char *query;
    Ccai_web_hdr *req_headers;
    size_t n_req_headers;
    char *body;
    size_t body_len;
    char *remote_addr;
    /* Path captures of the route (":id"). */
    char *params[CCAI_WEB_PARAMS_MAX];
    size_t n_params;
    /* The response being built. */
    Ccai_web_hdr *res_headers;
    size_t n_res_headers;
    bool responded;
    bool cancelled;
    bool sync; /* inside ccai_ctx_http() */
    /* A route that answers later keeps its state here; cancel() calls
     * on_cancel so it can drop it. */
    void *route_state;
    void (*on_cancel)(ccai_http_exchange *x);
    uint64_t started;
    /* Held while another process locks the database (Ccai_web_store_busy). */
    struct ccai_http_exchange *held_next;
};

/* Request accessors. */
const char *Ccai_web_header(const ccai_http_exchange *x, const char *name);
/* First value of a query parameter, percent-decoded; freed with ccai_free().
 * NULL when absent. */
char *Ccai_web_query(const ccai_http_exchange *x, const char *name);
const char *Ccai_web_param(const ccai_http_exchange *x, size_t i);

/* Responses (each route answers exactly once). */
void Ccai_web_respond(ccai_http_exchange *x, int status, const char *content_type, const char *body,
                      size_t len);
/* Take ownership of a JSON value and answer it. */
void Ccai_web_json(ccai_http_exchange *x, int status, json_t *doc);
/* JSON text already dumped (not freed). */
void Ccai_web_json_text(ccai_http_exchange *x, int status, const char *text);
/* The reference's error envelope {"error":{"message","details":[]}}. */
void Ccai_web_error(ccai_http_exchange *x, int status, const char *message, const char *detail);
bool Ccai_web_add_header(ccai_http_exchange *x, const char *name, const char *value);
/* A failed operation in the error envelope, with the HTTP status its
 * ccai_status stands for: CCAI_ERR_STORE 503 "the database is unavailable"
 * with Retry-After; CCAI_ERR_BUSY 503 "the database is locked by another
 * process" with Retry-After 1; NOMEM 500; INVALID_ARG, VALIDATION, PARSE 400; LIMIT 413;
 * NOT_FOUND 404; STATE, CONFLICT 409; anything else 500. message is the
 * envelope's message (but for STORE and NOMEM), detail its detail (the
 * status' name when NULL or empty). */
void Ccai_web_fail(ccai_http_exchange *x, ccai_status st, const char *message, const char *detail);
/* For conversations (provider webhooks, the HTTP chat) whose route failed
 * with st having stored and done nothing: CCAI_ERR_BUSY (a lock held by
 * another process) holds the request to run it again once the lock is gone
 * (Ccai_web_store_busy()); anything else is answered as Ccai_web_fail(). */
void Ccai_web_fail_or_hold(ccai_http_exchange *x, ccai_status st, const char *message,
                           const char *detail);
/* Seconds a client waits before retrying after a store failure. */
#define CCAI_WEB_STORE_RETRY_AFTER "2"

/* The store cannot write (st CCAI_ERR_BUSY: locked by another process,
 * Retry-After 1; else the database failed: read-only, full, ..., as
 * Ccai_web_fail()): 503 with Retry-After, in the error envelope. */
void Ccai_web_unavailable(ccai_http_exchange *x, ccai_status st, const char *detail);
/* The route met a database locked by another process before it stored or
 * did anything (CCAI_ERR_BUSY): the request is held, the loop keeps serving,
 * and the route runs again from the start on the loop's timers until it gets
 * through or server.store_wait_ms passed since the request came (then 503
 * with Retry-After). For conversations (webhooks, the HTTP chat), whose
 * senders do not retry or have a caller waiting. */
void Ccai_web_store_busy(ccai_http_exchange *x);
/* The context goes away: the requests still held get their 503. */
void Ccai_web_ctx_cleanup(ccai_ctx *ctx);

/* Authentication of the REST API: the bearer token (server.api_token);
 * without a token, a client of this machine talking to it directly (a
 * loopback peer, no proxy header, a Host naming this machine). Answers 401
 * (403 without a token: nothing to authenticate with) and returns false
 * when refused. Without a token the router also refuses, on every route but
 * the provider webhooks, a Host that is not this machine's or the public
 * URL's (421) and an Origin of another site (403). */
bool Ccai_web_authorized(ccai_http_exchange *x);
/* The same, also accepting ?token= (report pages opened in a browser). */
bool Ccai_web_authorized_page(ccai_http_exchange *x);

/* Routes (web/rest.c, web/pages.c, channels/...). */
typedef void (*Ccai_route_fn)(ccai_http_exchange *x);
void Ccai_rest_liveness(ccai_http_exchange *x);
void Ccai_rest_readiness(ccai_http_exchange *x);
void Ccai_rest_calls_list(ccai_http_exchange *x);
void Ccai_rest_call_get(ccai_http_exchange *x);
void Ccai_rest_call_create(ccai_http_exchange *x);
void Ccai_pages_report_list(ccai_http_exchange *x);
void Ccai_pages_report_call(ccai_http_exchange *x);
void Ccai_pages_openapi(ccai_http_exchange *x);
void Ccai_pages_lexicon(ccai_http_exchange *x);
void Ccai_pages_metrics(ccai_http_exchange *x);

/* Compare secrets in constant time (the length may leak, not the content). */
bool Ccai_web_secret_equal(const char *a, const char *b);

/* server.public_url without its trailing slashes, followed by the
 * formatted suffix ("/acs/callback?call=..."): the URL a provider is given
 * or signed. NULL on NOMEM. Freed with ccai_free(). */
char *Ccai_web_public_url(const ccai_ctx *ctx, const char *fmt, ...) CCAI_PRINTF(2, 3);

/* Count a provider webhook refused as not authentic (provider "twilio" or
 * "acs"; reason "signature", "token", "secret"...), in
 * ccai_webhooks_rejected_total. */
void Ccai_web_count_rejected(ccai_ctx *ctx, const char *provider, const char *reason);

/* The report key of a call: an unguessable value derived from its callback
 * secret, for links that open one report without the API token. 32 hex + NUL. */
bool Ccai_web_report_key(const char *callback_secret, char out[33]);

#endif
