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

/* A cursor over JSON text, for a reader that wants a few fields and no
 * tree (a stream's chunks): the same grammar, limits and error texts as
 * Ccai_json_load(), so that a text one accepts the other accepts. The
 * caller walks the value: Ccai_json_peek() says what is next, containers
 * are entered and walked member by member (the key, unescaped, in str),
 * values are read or skipped; Ccai_json_finish() checks that nothing
 * follows. A function that fails sets why (and where) or nomem, and every
 * later one fails. Zero-initialise before the first
 * Ccai_json_cursor_init(); Ccai_json_cursor_free() at the end. */
typedef struct Ccai_json_cursor {
    const unsigned char *s;
    size_t len, i;
    unsigned depth;
    bool nomem;
    const char *why; /* first syntax error, at byte offset where */
    size_t where;
    Ccai_buf str; /* the last string read, unescaped */
} Ccai_json_cursor;

/* Start reading s[0..len) (str's buffer is kept for reuse). */
void Ccai_json_cursor_init(Ccai_json_cursor *c, const char *s, size_t len);
void Ccai_json_cursor_free(Ccai_json_cursor *c);
/* The next value's kind: '{', '[', '"', '0' (a number), 't', 'f', 'n';
 * 0 on an error (also at the end of the text). */
int Ccai_json_peek(Ccai_json_cursor *c);
/* Enter the object or array the cursor is on. */
bool Ccai_json_enter(Ccai_json_cursor *c);
/* The next member of the object entered (first: the first call after
 * Ccai_json_enter): 1 with its key in str and the cursor on its value, 0
 * at the end of the object (left), -1 on an error. */
int Ccai_json_next_member(Ccai_json_cursor *c, bool first);
/* The same for the elements of an array. */
int Ccai_json_next_element(Ccai_json_cursor *c, bool first);
/* A string value, unescaped into str (no NUL: refused, as by the parser). */
bool Ccai_json_read_string(Ccai_json_cursor *c);
/* A number value: *is_int with *ival when it is an integer json_int_t
 * holds; a real (or a larger integer) leaves *is_int false. */
bool Ccai_json_read_number(Ccai_json_cursor *c, bool *is_int, json_int_t *ival);
/* Any value, checked whole. */
bool Ccai_json_skip(Ccai_json_cursor *c);
/* Only white space follows. */
bool Ccai_json_finish(Ccai_json_cursor *c);

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
/* How many bytes of s[0..n) are escaped in JSON: '"', '\\' and those below
 * 0x20. */
size_t Ccai_json_escapes(const char *s, size_t n);

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
