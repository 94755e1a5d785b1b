/* JSON in and out, reliable under memory pressure (core/json.c).
 *
 * jansson 2.14 is not: when an allocation fails, its lexer silently drops
 * characters of the token being read (a key "policyholder_phone" comes back
 * as "policyholder_pone" and the parse succeeds) or reports a syntax error;
 * json_dumps() ignores some failed writes and returns truncated JSON as if
 * it had succeeded. So text is parsed here into json_t values built with
 * jansson's constructors (whose failures are reported), and dumped through
 * a sticky-failure sink. Every module reads and writes JSON through these. */
#ifndef CCAI_CORE_JSON_H
#define CCAI_CORE_JSON_H

#include "core/common.h"

#include <jansson.h>

/* Where and why a parse failed: line and column are 1-based, the column
 * counted in bytes; text is a static English phrase. */
typedef struct Ccai_json_err {
    unsigned line, column;
    const char *text;
} Ccai_json_err;

/* Parse s[0..len): one value of any kind, then only white space. NULL on
 * failure with *ret_status CCAI_ERR_NOMEM, or CCAI_ERR_PARSE and *err set. */
json_t *Ccai_json_load(const char *s, size_t len, Ccai_json_err *err, ccai_status *ret_status);

/* json_dumps() that never returns a truncated text: freed with ccai_free(),
 * NULL on NOMEM. */
char *Ccai_json_dump(const json_t *json, size_t flags);

/* "an object", "an array", "a string", "a number", "a boolean", "null":
 * for error messages. */
const char *Ccai_json_kind(const json_t *v);

/* The reference's error envelope {"error":{"message":...,"details":[...]}}
 * (details empty when detail is NULL), compact ASCII JSON, freed with
 * ccai_free(). Text that is not UTF-8 (a client's bytes quoted in a
 * detail) appears with \xHH instead of being dropped. NULL on NOMEM: then
 * answer CCAI_JSON_ERROR_NOMEM. Every error answer is built here (the HTTP
 * connection's own and the routes'). */
char *Ccai_json_error_envelope(const char *message, const char *detail);
#define CCAI_JSON_ERROR_NOMEM "{\"error\":{\"message\":\"out of memory\",\"details\":[]}}"

#endif
