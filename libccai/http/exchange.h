/* One HTTP request and its answer, as the routes see it (http/exchange.c):
 * what channels' webhooks and the web routes share. A route answers
 * exactly once, at once or later (a webhook waiting for the bot); the
 * router (http/router.h) made the exchange and frees it once answered. */
#ifndef CCAI_HTTP_EXCHANGE_H
#define CCAI_HTTP_EXCHANGE_H

#include "core/common.h"

#include <jansson.h>

/* Largest request body accepted by any route (server.max_body_bytes caps
 * it lower). */
#define CCAI_HTTP_BODY_MAX   (8u * 1024u * 1024u)
#define CCAI_HTTP_PARAMS_MAX 4

/* The largest request body: server.max_body_bytes, at most
 * CCAI_HTTP_BODY_MAX (the HTTP server reads no more, ccai_ctx_http()
 * refuses more). */
size_t Ccai_http_body_max(const ccai_config *cfg);

/* Seconds a client waits before retrying after a store failure. */
#define CCAI_HTTP_STORE_RETRY_AFTER "2"

typedef struct Ccai_router Ccai_router;

typedef struct Ccai_http_hdr {
    char *name;
    char *value;
} Ccai_http_hdr;

struct ccai_http_exchange {
    ccai_ctx *ctx;       /* the context's handle: its loop and its public API */
    Ccai_router *router; /* the router that made it */
    ccai_http_respond_fn respond;
    void *ud;
    /* The request, copied. */
    char *method;
    char *path;
    char *query;
    Ccai_http_hdr *req_headers;
    size_t n_req_headers;
    char *body;
    size_t body_len;
    char *remote_addr;
    /* Path captures of the route (":id"). */
    char *params[CCAI_HTTP_PARAMS_MAX];
    size_t n_params;
    /* The response being built. */
    Ccai_http_hdr *res_headers;
    size_t n_res_headers;
    bool responded;
    bool cancelled;
    bool sync; /* inside ccai_ctx_http() */
    /* The ud its route was registered with (Ccai_router_add()). */
    void *route_ud;
    /* A route that answers later keeps its state here; cancel() calls
     * on_cancel so it can drop it. */
    void *route_state;
    void (*on_cancel)(ccai_http_exchange *x);
    uint64_t started;
    /* Held while another process locks the database (Ccai_exchange_hold). */
    struct ccai_http_exchange *held_next;
    /* Its connection can become a WebSocket (libccai's own server). */
    bool can_upgrade;
    /* The WebSocket session a 101 answer hands over (http/wss.h). */
    struct Ccai_wss *upgrade;
    /* The connection to relay to while it answers (http/forward.h). */
    struct Ccai_splice *splice;
};

/* Request accessors. */
const char *Ccai_exchange_header(const ccai_http_exchange *x, const char *name);
/* First value of a query parameter, percent-decoded; freed with ccai_free().
 * NULL when absent. */
char *Ccai_exchange_query(const ccai_http_exchange *x, const char *name);
const char *Ccai_exchange_param(const ccai_http_exchange *x, size_t i);

/* Responses (each route answers exactly once). */
void Ccai_exchange_respond(ccai_http_exchange *x, int status, const char *content_type,
                           const char *body, size_t len);
/* Take ownership of a JSON value and answer it. */
void Ccai_exchange_json(ccai_http_exchange *x, int status, json_t *doc);
/* JSON text already dumped (not freed). */
void Ccai_exchange_json_text(ccai_http_exchange *x, int status, const char *text);
/* The reference's error envelope {"error":{"message","details":[]}}. */
void Ccai_exchange_error(ccai_http_exchange *x, int status, const char *message,
                         const char *detail);
CCAI_MUST_CHECK bool Ccai_exchange_add_header(ccai_http_exchange *x, const char *name,
                                              const char *value);
/* A failed operation in the error envelope, with the HTTP status its
 * ccai_status stands for: CCAI_ERR_STORE 503 "the database is unavailable"
 * with Retry-After; CCAI_ERR_BUSY 503 "the database is locked by another
 * process" with Retry-After 1; NOMEM 500; INVALID_ARG, VALIDATION, PARSE 400; LIMIT 413;
 * NOT_FOUND 404; STATE, CONFLICT 409; anything else 500. message is the
 * envelope's message (but for STORE and NOMEM), detail its detail (the
 * status' name when NULL or empty). */
void Ccai_exchange_fail(ccai_http_exchange *x, ccai_status st, const char *message,
                        const char *detail);
/* The store cannot write (st CCAI_ERR_BUSY: locked by another process,
 * Retry-After 1; else the database failed: read-only, full, ..., as
 * Ccai_exchange_fail()): 503 with Retry-After, in the error envelope. */
void Ccai_exchange_unavailable(ccai_http_exchange *x, ccai_status st, const char *detail);

/* Count a provider webhook refused as not authentic (provider "twilio" or
 * "acs"; reason "signature", "token", "secret"...), in
 * ccai_webhooks_rejected_total. */
void Ccai_exchange_count_rejected(ccai_http_exchange *x, const char *provider, const char *reason);

/* server.public_url without its trailing slashes, followed by the
 * formatted suffix ("/acs/callback?call=..."): the URL a provider is given
 * or signed. NULL on NOMEM. Freed with ccai_free(). */
char *Ccai_http_public_url(const ccai_config *cfg, const char *fmt, ...) CCAI_PRINTF(2, 3);
/* The same, the strings up to a NULL after the base (no snprintf()). */
char *Ccai_http_public_url_join(const ccai_config *cfg, ...) __attribute__((sentinel));

#endif
