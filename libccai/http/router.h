/* The route table and ccai_ctx_http() (http/router.c): a request is copied
 * into an exchange, matched against the routes the parts of the context
 * registered (the web pages and API, each channel's webhooks), checked
 * (who asks, whether the store can write) and handed to its route.
 *
 * Lifecycle (the composition root's):
 *   1. Ccai_router_new() with what the router needs;
 *   2. Ccai_router_add() once per part, with its routes and their state;
 *   3. Ccai_router_handle() per request (ccai_ctx_http());
 *   4. Ccai_router_free(): held requests get their 503. */
#ifndef CCAI_HTTP_ROUTER_H
#define CCAI_HTTP_ROUTER_H

#include "core/metrics.h"
#include "http/exchange.h"
#include "store/store.h"

/* A route's handler; ud is what its part registered it with. */
typedef void (*Ccai_route_fn)(ccai_http_exchange *x, void *ud);

typedef enum Ccai_route_auth {
    CCAI_ROUTE_PUBLIC,   /* anyone, or the route checks (report pages) */
    CCAI_ROUTE_TOKEN,    /* the API token (Ccai_http_authorized) */
    CCAI_ROUTE_PROVIDER, /* a provider webhook: the provider's own scheme,
                            checked by the route; reached through the public
                            URL, so outside the no-token mode's Host rule */
} Ccai_route_auth;

/* What a route does with the store, for a database that cannot write. */
enum {
    CCAI_ROUTE_WRITES = 1u << 0, /* runs only when the store can write */
    /* A conversation (a webhook Twilio never retries, a caller waiting): a
     * database locked by another process holds the request, the route runs
     * again later (server.store_wait_ms) instead of an immediate 503. */
    CCAI_ROUTE_WAITS = 1u << 1,
    /* A webhook of one call (its ?call= id): when another instance holds
     * the call's lease, the request is handed to it (http/forward.h). */
    CCAI_ROUTE_CALL = 1u << 2,
    /* A media WebSocket of one call (its id: the route's first capture, else
     * ?call=): when another instance holds the call's lease, the connection
     * is relayed to it (http/forward.h, Ccai_forward_media()). */
    CCAI_ROUTE_MEDIA = 1u << 3,
};

typedef struct Ccai_route {
    const char *method;
    const char *pattern; /* segments; ":x" captures one */
    Ccai_route_fn fn;
    Ccai_route_auth auth;
    unsigned flags;
} Ccai_route;

typedef struct Ccai_router_env {
    ccai_ctx *ctx;
    const ccai_config *cfg;
    const Ccai_logger *log;
    Ccai_store *store;
    Ccai_metrics *metrics;
} Ccai_router_env;

CCAI_MUST_CHECK ccai_status Ccai_router_new(const Ccai_router_env *env, Ccai_router **ret);
/* Requests still held for the store are answered 503. */
void Ccai_router_free(Ccai_router *r);
/* Serve routes[0..n) (kept by reference: a static table) with ud. Routes
 * are matched in the order they were added. */
CCAI_MUST_CHECK ccai_status Ccai_router_add(Ccai_router *r, const Ccai_route *routes, size_t n,
                                            void *ud);
/* ccai_ctx_http(). */
CCAI_MUST_CHECK ccai_status Ccai_router_handle(Ccai_router *r, const ccai_http_request *req,
                                               ccai_http_respond_fn respond, void *ud,
                                               ccai_http_exchange **ret_exchange);

/* The same for a connection of libccai's own server (http/server.c),
 * which can become a WebSocket (http/wss.h: the respond callback finds the
 * session with Ccai_wss_of_answer()). */
CCAI_MUST_CHECK ccai_status Ccai_router_handle_conn(Ccai_router *r, const ccai_http_request *req,
                                                    ccai_http_respond_fn respond, void *ud,
                                                    ccai_http_exchange **ret_exchange);

/* The route met a database locked by another process before it stored or
 * did anything (CCAI_ERR_BUSY): the request is held, the loop keeps serving,
 * and the route runs again from the start on the loop's timers until it gets
 * through or server.store_wait_ms passed since the request came (then 503
 * with Retry-After). For conversations (webhooks, the HTTP chat), whose
 * senders do not retry or have a caller waiting. */
void Ccai_exchange_hold(ccai_http_exchange *x);
/* For conversations (provider webhooks, the HTTP chat) whose route failed
 * with st having stored and done nothing: CCAI_ERR_BUSY (a lock held by
 * another process) holds the request to run it again once the lock is gone
 * (Ccai_exchange_hold()); anything else is answered as Ccai_exchange_fail(). */
void Ccai_exchange_fail_or_hold(ccai_http_exchange *x, ccai_status st, const char *message,
                                const char *detail);

/* A webhook of call_id that names it otherwise than by ?call= (Twilio's
 * status callback configured on the number: its CallSid): true when it is
 * handed to the instance holding the call (http/forward.h), or waits for
 * that instance's lease; false when the route goes on here. */
CCAI_MUST_CHECK bool Ccai_exchange_to_holder(ccai_http_exchange *x, const char *call_id);

/* For http/exchange.c: the router's counters, configuration and log. */
Ccai_metrics *Ccai_router_metrics(const Ccai_router *r);
const ccai_config *Ccai_router_config(const Ccai_router *r);
const Ccai_logger *Ccai_router_logger(const Ccai_router *r);
/* For http/exchange.c: an exchange answered outside ccai_ctx_http() goes. */
void Ccai_exchange_free(ccai_http_exchange *x);

#endif
