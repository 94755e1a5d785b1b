/* Who may ask (http/auth.c): the REST API's bearer token, the no-token
 * mode that serves this machine only, secrets compared in constant time,
 * and the per-call report key. */
#ifndef CCAI_HTTP_AUTH_H
#define CCAI_HTTP_AUTH_H

#include "http/exchange.h"

/* Authentication of the REST API: the bearer token (server.api_token);
 * without a token, a client of this machine talking to it directly (a
 * loopback peer, no proxy header, a Host naming this machine). Answers 401
 * (403 without a token: nothing to authenticate with) and returns false
 * when refused. */
CCAI_MUST_CHECK bool Ccai_http_authorized(ccai_http_exchange *x);
/* The same, also accepting ?token= (report pages opened in a browser). */
CCAI_MUST_CHECK bool Ccai_http_authorized_page(ccai_http_exchange *x);
/* Without a token, the server trusts this machine: only requests meant
 * for it. A foreign Host (a DNS rebinding attempt or a misrouted request)
 * is answered 421, a foreign Origin (a page of another site in a browser of
 * this machine) 403; false when refused. Every route but the provider
 * webhooks goes through it. */
CCAI_MUST_CHECK bool Ccai_http_local_request(ccai_http_exchange *x);

/* Compare secrets in constant time (the length may leak, not the content). */
CCAI_MUST_CHECK bool Ccai_http_secret_equal(const char *a, const char *b);

/* The report key of a call: an unguessable value derived from its callback
 * secret, for links that open one report without the API token. 32 hex + NUL. */
CCAI_MUST_CHECK bool Ccai_http_report_key(const char *callback_secret, char out[33]);

#endif
