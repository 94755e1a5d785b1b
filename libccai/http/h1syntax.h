/* HTTP/1.1's syntax rules that need no connection (http/h1syntax.c): what
 * the connection (h1conn.c) checks of a request's method, path and
 * transfer codings, and of the headers of an answer. Pure functions. */
#ifndef CCAI_HTTP_H1SYNTAX_H
#define CCAI_HTTP_H1SYNTAX_H

#include "core/common.h"

/* The reason phrase of a status ("Not Found"; "Status" when unknown). */
const char *Ccai_h1_reason(int status);
/* A header an answer may carry: not one of the framing headers the
 * connection writes itself, a token name, no line break in the value. */
CCAI_MUST_CHECK bool Ccai_h1_header_ok(const char *name, const char *value);
/* The value of a hex digit, -1 for another character. */
int Ccai_h1_hexval(int ch);
/* s[0..n) is word (lower case), whatever the case of s. */
CCAI_MUST_CHECK bool Ccai_h1_token_is(const char *s, size_t n, const char *word);
/* Every coding of a Transfer-Encoding value is "chunked" (counted into
 * *n_codings): anything else cannot be undone here. */
CCAI_MUST_CHECK bool Ccai_h1_transfer_encoding_ok(const char *v, size_t *n_codings);
/* One of the methods served (http-parser's enum http_method). */
CCAI_MUST_CHECK bool Ccai_h1_method_supported(unsigned m);
/* The start of a request is a method token followed by a space (then an
 * unknown method is 501, anything else 400). */
CCAI_MUST_CHECK bool Ccai_h1_looks_like_method(const char *d, size_t n);
/* Enough of d[0..n) came to tell a method token from garbage. */
CCAI_MUST_CHECK bool Ccai_h1_method_whole(const char *d, size_t n);

#endif
