/* application/x-www-form-urlencoded bodies (Twilio webhooks, Twilio REST
 * requests, URL query strings): a sans-I/O parser with size limits and an
 * encoder (http/form.c).
 *
 * Parsing follows the WHATWG URL "application/x-www-form-urlencoded parser"
 * with two deliberate strictnesses: a '%' not followed by two hex digits is
 * an error (not copied through), and so is any NUL byte, raw or %00, since
 * names and values are handed out as C strings. '+' decodes to a space. Empty
 * sequences ("a=1&&b=2", a trailing '&') are skipped; "name" without '='
 * gives the value "". Repeated names are all kept, in body order. Bytes are
 * not checked for UTF-8: signatures are computed over the decoded bytes. */
#ifndef CCAI_HTTP_FORM_H
#define CCAI_HTTP_FORM_H

#include "core/common.h"

/* Limits of Ccai_form_parse(). */
#define CCAI_FORM_BODY_MAX   (64u * 1024u) /* bytes of encoded body */
#define CCAI_FORM_PARAMS_MAX 256u          /* name=value pairs */

/* A parsed form: n pairs in body order. names[i] and values[i] are
 * NUL-terminated, owned by the form. A zeroed struct is an empty form. */
typedef struct Ccai_form {
    size_t n;
    char **names;
    char **values;
} Ccai_form;

/* Parse body[0..len) (body may be NULL when len is 0) into *out.
 *
 * Statuses: CCAI_OK; CCAI_ERR_PARSE (bad percent escape, NUL byte);
 * CCAI_ERR_LIMIT (len > CCAI_FORM_BODY_MAX or more than CCAI_FORM_PARAMS_MAX
 * pairs); CCAI_ERR_NOMEM; CCAI_ERR_INVALID_ARG (out NULL, body NULL with len).
 * Ownership: on CCAI_OK *out is the caller's, released with Ccai_form_free();
 * on failure *out is untouched. ret_err may be NULL; on PARSE / LIMIT it
 * receives a one-line English reason with the byte offset, freed with
 * ccai_free() (left NULL when that allocation fails).
 * Context: pure function, any thread. */
CCAI_MUST_CHECK ccai_status Ccai_form_parse(const char *body, size_t len, Ccai_form *out,
                                            char **ret_err);

/* First value of name (case-sensitive), or NULL. Borrowed from f, valid
 * until Ccai_form_free(f). f may be NULL. */
const char *Ccai_form_get(const Ccai_form *f, const char *name);

/* How many pairs carry name (repeated list parameters). */
size_t Ccai_form_count(const Ccai_form *f, const char *name);

/* Free the pairs and zero *f. NULL and zeroed forms are accepted. */
void Ccai_form_free(Ccai_form *f);

/* Encode pairs given as a NULL-terminated list "name", "value", "name",
 * "value", ..., NULL into "name=value&name=value". A pair whose value is NULL
 * is skipped (optional parameters); names must not be NULL. Bytes outside
 * ALPHA / DIGIT / "-._~" are %XX-encoded (upper-case hex), spaces as '+'.
 * Returns "" for an empty list; NULL on NOMEM or when pairs is NULL.
 * Ownership: freed with ccai_free(). Context: any thread. */
char *Ccai_form_encode(const char *const *pairs);

/* Append the encoding of s[0..len) (one name or value) to b. false on NOMEM. */
CCAI_MUST_CHECK bool Ccai_form_escape(Ccai_buf *b, const char *s, size_t len);

#endif
