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

/* JSON text written without building a tree (a request of thousands of
 * bytes per turn): the caller writes the punctuation, these the values.
 *
 * Append s[0..n) as a JSON string: exactly the bytes json_dumps() writes
 * for json_stringn(s, n) ('"' and '\\' escaped, control characters as \b
 * \f \n \r \t or \u00XX, UTF-8 kept as it is). false when s is not valid
 * UTF-8 (json_stringn() refuses it too) or out of memory; b then holds part
 * of the string. */
bool Ccai_json_put_string(Ccai_buf *b, const char *s, size_t n);
/* The same for a C string; false for NULL (as json_pack's "s"). */
bool Ccai_json_put_cstring(Ccai_buf *b, const char *s);

/* "an object", "an array", "a string", "a number", "a boolean", "null":
 * for error messages. */
const char *Ccai_json_kind(const json_t *v);

#endif
