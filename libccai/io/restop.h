/* The life of one retrying REST operation (io/restop.c), for the provider
 * clients (channels/twilio/twilio_rest.c, channels/acs/acs_rest.c), which
 * keep only their encoding: how a request is built and signed, what a
 * reply means, which callback it reaches. restop keeps the rest:
 *
 *   1. Ccai_rest_op_start() links the operation in its client's list and
 *      sends the first attempt (class->send, which builds the request and
 *      hands it to Ccai_rest_op_http());
 *   2. a reply: 2xx goes to class->success; 429 and 5xx are tried again
 *      while attempts remain, after Retry-After when the service said, else
 *      an exponential backoff with jitter (the log says each); other
 *      statuses, and the last failure, go to class->failure with the
 *      message class->error_text made ("... (after N attempts)");
 *   3. a transport failure (connection, time-out) is tried again only when
 *      the operation may be repeated (retry_transport: the request is
 *      idempotent, or the service recognises a repeat);
 *   4. the client ends it with Ccai_rest_op_complete(), which calls its
 *      delivery (the operation's own callback) and frees the operation;
 *   5. Ccai_rest_op_cancel() stops it: no callback fires afterwards, safe
 *      from inside the operation's own callback (then it only marks it).
 *
 * A client's operation struct embeds a Ccai_rest_op as its first member. */
#ifndef CCAI_IO_RESTOP_H
#define CCAI_IO_RESTOP_H

#include "io/io.h"

typedef struct Ccai_rest_op Ccai_rest_op;

/* What a client tells restop about its operations. */
typedef struct Ccai_rest_class {
    const char *tag; /* "twilio", "acs": the log's and the messages' prefix */
    /* Build one attempt (sign it afresh) and start it with
     * Ccai_rest_op_http(). A failure fails the operation. */
    CCAI_MUST_CHECK ccai_status (*send)(Ccai_rest_op *op);
    /* A 2xx reply (body NUL-terminated): end the operation with
     * Ccai_rest_op_complete(), or ask for another attempt with
     * Ccai_rest_op_retry(). */
    void (*success)(Ccai_rest_op *op, long status, const char *body, size_t len);
    /* The message for an error reply ("twilio: HTTP 400, error 21211:
     * ..."); NULL on out of memory. Freed by restop. */
    char *(*error_text)(Ccai_rest_op *op, long status, const char *body, size_t len);
    /* The operation failed for good: end it with Ccai_rest_op_complete().
     * st: CCAI_ERR_HTTP (or CCAI_ERR_NOT_FOUND for a 404) with status and
     * body of the reply; CCAI_ERR_TIMEOUT, CCAI_ERR_HTTP (transport),
     * CCAI_ERR_NOMEM with status 0 and body "". message is never NULL. */
    void (*failure)(Ccai_rest_op *op, ccai_status st, long status, const char *body, size_t len,
                    const char *message);
    /* Free the client's operation (its fields, then the struct). */
    void (*free)(Ccai_rest_op *op);
} Ccai_rest_class;

/* The client's part restop reads: its context, its list of operations,
 * its retry policy. */
typedef struct Ccai_rest_client {
    ccai_ctx *ctx;
    Ccai_rest_op *ops; /* running operations */
    int max_attempts;
    uint32_t base_backoff_ms, max_backoff_ms;
    uint32_t timeout_ms; /* each attempt, start to end */
} Ccai_rest_client;

struct Ccai_rest_op {
    Ccai_rest_op *prev, *next;
    const Ccai_rest_class *cls;
    Ccai_rest_client *client; /* NULL once it completed (the callback may free the client) */
    Ccai_http_req *req;       /* the attempt in flight, or NULL */
    Ccai_timer backoff;       /* armed between attempts */
    int attempts;             /* started so far */
    bool retry_transport;     /* a transport failure may be tried again */
    bool linked;
    bool in_callback; /* the client's callback is running */
    bool cancelled;
};

/* Link op (zeroed by the caller but for its own fields) in client's list
 * and send its first attempt. On failure nothing is linked, no callback
 * fires, and op is freed (class->free). */
CCAI_MUST_CHECK ccai_status Ccai_rest_op_start(Ccai_rest_client *client, Ccai_rest_op *op,
                                               const Ccai_rest_class *cls, bool retry_transport);
/* From class->send: start the attempt's HTTP request (o's on_done and ud
 * are restop's; its total time-out is the client's). */
CCAI_MUST_CHECK ccai_status Ccai_rest_op_http(Ccai_rest_op *op, Ccai_http_opts *o);
/* From class->success: another attempt after hint_ms (>= 0) or the
 * backoff (< 0), while attempts remain; else the operation fails with
 * message (NULL: "<tag>: out of memory" when no timer). */
void Ccai_rest_op_retry(Ccai_rest_op *op, int64_t hint_ms, ccai_status st, long status,
                        const char *body, const char *message);
/* End the operation: deliver(op, arg) runs (the client's callback, which
 * may cancel other operations, free the client, ...), then op is freed. */
void Ccai_rest_op_complete(Ccai_rest_op *op, void (*deliver)(Ccai_rest_op *op, void *arg),
                           void *arg);
/* Stop op: no callback of its fires afterwards. NULL accepted. */
void Ccai_rest_op_cancel(Ccai_rest_op *op);
/* Stop and free every running operation of the client (no callbacks). */
void Ccai_rest_client_cancel_all(Ccai_rest_client *client);

#endif
