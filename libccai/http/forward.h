/* Webhooks of a call another instance holds (several instances on one
 * database, docs/deployment.md "Several instances"): the router hands them
 * to the holder, and waits for the holder's lease to run out when the
 * holder does not answer (it died): then the route runs here and takes the
 * call over from the store. */
#ifndef CCAI_HTTP_FORWARD_H
#define CCAI_HTTP_FORWARD_H

#include "http/exchange.h"
#include "store/lease.h"
#include "store/store.h"

/* The header a handed webhook carries: the instance that handed it. Its
 * receiver serves it itself (no second hop). */
#define CCAI_FORWARDED_HEADER "X-Ccai-Forwarded-By"

/* Run the route again (the router's dispatch). */
typedef void (*Ccai_forward_run_fn)(ccai_http_exchange *x);

/* For a route of one call (call_id, or NULL: its ?call= id): true when x
 * is taken care of here (handed to the holder, or waiting for its lease to
 * run out, then run by run()), false when the route should run now (no
 * lease, an expired one, this instance's, a webhook handed here, no id). */
CCAI_MUST_CHECK bool Ccai_forward_call(ccai_http_exchange *x, const char *call_id,
                                       Ccai_store *store, const Ccai_instance *inst,
                                       Ccai_forward_run_fn run);

/* A media WebSocket of one call (a Twilio Media Stream, an ACS media
 * stream: call_id, or NULL: its ?call= id) that another instance holds:
 * its connection is relayed to the holder (a TCP connection to the
 * holder's instance URL, which must be http://<address>[:port]; the
 * upgrade request sent as it came (its path encoded again) with
 * CCAI_FORWARDED_HEADER, then bytes
 * both ways until either side closes). The holder not answering is waited
 * for as for a webhook (above). True when x is taken care of here; false
 * when the route should run now (as Ccai_forward_call(), on a
 * connection that cannot be relayed: ccai_ctx_http(), and for anything
 * but a WebSocket upgrade without a body: never relayed). */
CCAI_MUST_CHECK bool Ccai_forward_media(ccai_http_exchange *x, const char *call_id,
                                        Ccai_store *store, const Ccai_instance *inst,
                                        Ccai_forward_run_fn run);

/* What a relayed exchange's answer hands its connection (http/server.c):
 * the connected socket to the holder and the bytes to send it first (the
 * request). Borrowed during the respond callback: the connection copies
 * the bytes and sets taken when it owns fd (else fd is closed). */
typedef struct Ccai_splice {
    int fd;
    const char *first;
    size_t first_len;
    bool taken;
} Ccai_splice;

#endif
