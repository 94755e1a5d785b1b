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

#endif
