/* A strict JSON parser into jansson values, and a checked dump. */
#include "core/json.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Deepest nesting accepted; a claim or a schema needs two levels. */
#define CCAI_JSON_MAX_DEPTH 256
#if JSON_INTEGER_IS_LONG_LONG
#define CCAI_JSON_INT_MIN LLONG_MIN
#else
#define CCAI_JSON_INT_MIN LONG_MIN
#endif
/* Longest number token read as a real. */
#define CCAI_JSON_NUMBER_MAX 64

typedef struct json_p_parser {
    const unsigned char *s;
    size_t len, i;
    unsigned depth;
    bool nomem;
    const char *why; /* first syntax error, at byte offset where */
    size_t where;
    Ccai_buf str; /* the last string read, unescaped */
} json_p_parser;

static json_t *json_p_fail(json_p_parser *p, const char *why)
{
    if (!p->why && !p->nomem) {
        p->why = why;
        p->where = p->i;
    }
    return NULL;
}

static void json_p_ws(json_p_parser *p)
{
    while (p->i < p->len &&
           (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static long json_p_hex4(json_p_parser *p)
{
    if (p->len - p->i < 4)
        return -1;
    long v = 0;
    for (int k = 0; k < 4; k++) {
        int ch = p->s[p->i++];
        int d = Ccai_is_digit(ch)          ? ch - '0'
                : (ch >= 'a' && ch <= 'f') ? ch - 'a' + 10
                : (ch >= 'A' && ch <= 'F') ? ch - 'A' + 10
                                           : -1;
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

static CCAI_MUST_CHECK bool json_p_put_utf8(json_p_parser *p, unsigned long cp)
{
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    if (!Ccai_buf_append(&p->str, b, n)) {
        p->nomem = true;
        return false;
    }
    return true;
}

/* A string into p->str: strict UTF-8, escapes and surrogate pairs checked,
 * no NUL (as jansson without JSON_ALLOW_NUL). p->i is on the opening quote. */
static CCAI_MUST_CHECK bool json_p_string(json_p_parser *p)
{
    Ccai_buf_reset(&p->str);
    if (!Ccai_buf_append(&p->str, "", 0)) {
        p->nomem = true;
        return false;
    }
    p->i++;
    for (;;) {
        size_t start = p->i;
        /* Copy runs of plain ASCII at once. */
        while (p->i < p->len && p->s[p->i] >= 0x20 && p->s[p->i] < 0x80 && p->s[p->i] != '"' &&
               p->s[p->i] != '\\')
            p->i++;
        if (p->i > start && !Ccai_buf_append(&p->str, p->s + start, p->i - start)) {
            p->nomem = true;
            return false;
        }
        if (p->i >= p->len) {
            json_p_fail(p, "unterminated string");
            return false;
        }
        unsigned char ch = p->s[p->i];
        if (ch == '"') {
            p->i++;
            return true;
        }
        if (ch < 0x20) {
            json_p_fail(p, "control character in a string (escape it)");
            return false;
        }
        if (ch == '\\') {
            /* Errors in an escape point at its backslash. */
            size_t esc = p->i++;
            if (p->i >= p->len) {
                json_p_fail(p, "unterminated string");
                return false;
            }
            ch = p->s[p->i++];
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *e = ch ? strchr(from, ch) : NULL;
            if (e) {
                if (!json_p_put_utf8(p, (unsigned char)to[e - from]))
                    return false;
                continue;
            }
            if (ch != 'u') {
                p->i = esc;
                json_p_fail(p, "invalid escape in a string");
                return false;
            }
            long u = json_p_hex4(p);
            if (u < 0) {
                p->i = esc;
                json_p_fail(p, "invalid \\u escape (4 hex digits expected)");
                return false;
            }
            if (u == 0) {
                p->i = esc;
                json_p_fail(p, "\\u0000 is not allowed in a string");
                return false;
            }
            if (u >= 0xDC00 && u <= 0xDFFF) {
                p->i = esc;
                json_p_fail(p, "invalid \\u escape (lone low surrogate)");
                return false;
            }
            if (u >= 0xD800 && u <= 0xDBFF) {
                long lo = -1;
                if (p->len - p->i >= 2 && p->s[p->i] == '\\' && p->s[p->i + 1] == 'u') {
                    p->i += 2;
                    lo = json_p_hex4(p);
                }
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    p->i = esc;
                    json_p_fail(p, "invalid \\u escape (high surrogate without its pair)");
                    return false;
                }
                u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
            }
            if (!json_p_put_utf8(p, (unsigned long)u))
                return false;
            continue;
        }
        /* A multi-byte UTF-8 sequence, checked strictly. */
        size_t n;
        unsigned char lo = 0x80, hi = 0xBF;
        if (ch >= 0xC2 && ch <= 0xDF) {
            n = 1;
        } else if (ch >= 0xE0 && ch <= 0xEF) {
            n = 2;
            lo = ch == 0xE0 ? 0xA0 : 0x80;
            hi = ch == 0xED ? 0x9F : 0xBF;
        } else if (ch >= 0xF0 && ch <= 0xF4) {
            n = 3;
            lo = ch == 0xF0 ? 0x90 : 0x80;
            hi = ch == 0xF4 ? 0x8F : 0xBF;
        } else {
            json_p_fail(p, "invalid UTF-8 in a string");
            return false;
        }
        bool ok = p->len - p->i > n && p->s[p->i + 1] >= lo && p->s[p->i + 1] <= hi;
        for (size_t k = 2; ok && k <= n; k++)
            ok = p->s[p->i + k] >= 0x80 && p->s[p->i + k] <= 0xBF;
        if (!ok) {
            json_p_fail(p, "invalid UTF-8 in a string");
            return false;
        }
        if (!Ccai_buf_append(&p->str, p->s + p->i, n + 1)) {
            p->nomem = true;
            return false;
        }
        p->i += n + 1;
    }
}

static size_t json_p_digits(json_p_parser *p)
{
    size_t start = p->i;
    while (p->i < p->len && Ccai_is_digit(p->s[p->i]))
        p->i++;
    return p->i - start;
}

static json_t *json_p_number(json_p_parser *p)
{
    size_t start = p->i;
    bool negative = p->s[p->i] == '-', is_real = false;
    if (negative)
        p->i++;
    size_t int_start = p->i, nint = json_p_digits(p);
    if (nint == 0)
        return json_p_fail(p, "invalid number");
    if (nint > 1 && p->s[int_start] == '0') {
        p->i = int_start + 1;
        return json_p_fail(p, "invalid number (leading zero)");
    }
    if (p->i < p->len && p->s[p->i] == '.') {
        p->i++;
        is_real = true;
        if (json_p_digits(p) == 0)
            return json_p_fail(p, "invalid number (digits expected after '.')");
    }
    if (p->i < p->len && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        p->i++;
        is_real = true;
        if (p->i < p->len && (p->s[p->i] == '+' || p->s[p->i] == '-'))
            p->i++;
        if (json_p_digits(p) == 0)
            return json_p_fail(p, "invalid number (digits expected in the exponent)");
    }

    json_t *v = NULL;
    if (!is_real) {
        json_int_t n = 0;
        bool overflow = false;
        for (size_t k = int_start; k < p->i && !overflow; k++) {
            int d = p->s[k] - '0';
            /* Accumulate negatively: the minimum has no positive twin. */
            if (n < (CCAI_JSON_INT_MIN + d) / 10)
                overflow = true;
            else
                n = n * 10 - d;
        }
        if (!overflow && !negative && n == CCAI_JSON_INT_MIN)
            overflow = true;
        if (!overflow) {
            v = json_integer(negative ? n : -n);
            if (!v)
                p->nomem = true;
            return v;
        }
    }
    /* A real, or an integer too large for json_int_t. strtod() follows the
     * locale's decimal point, so the '.' is swapped for it. */
    size_t n = p->i - start;
    if (n >= CCAI_JSON_NUMBER_MAX) {
        p->i = start;
        return json_p_fail(p, "number too long");
    }
    char buf[CCAI_JSON_NUMBER_MAX + 8];
    size_t o = 0;
    const char *point = localeconv()->decimal_point;
    for (size_t k = start; k < p->i; k++) {
        if (p->s[k] == '.' && point && point[0] && strlen(point) < 8) {
            memcpy(buf + o, point, strlen(point));
            o += strlen(point);
        } else {
            buf[o++] = (char)p->s[k];
        }
    }
    buf[o] = '\0';
    double d = strtod(buf, NULL);
    if (!isfinite(d)) {
        p->i = start;
        return json_p_fail(p, "number out of range");
    }
    v = json_real(d);
    if (!v)
        p->nomem = true;
    return v;
}

static CCAI_MUST_CHECK bool json_p_word(json_p_parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->i < n || memcmp(p->s + p->i, word, n) != 0)
        return false;
    p->i += n;
    return true;
}

static json_t *json_p_value(json_p_parser *p);

static json_t *json_p_container(json_p_parser *p, bool object)
{
    if (p->depth >= CCAI_JSON_MAX_DEPTH)
        return json_p_fail(p, "nested too deeply");
    json_t *c = object ? json_object() : json_array();
    if (!c) {
        p->nomem = true;
        return NULL;
    }
    unsigned char close = object ? '}' : ']';
    char *key = NULL;
    p->depth++;
    p->i++;
    json_p_ws(p);
    if (p->i < p->len && p->s[p->i] == close) {
        p->i++;
        p->depth--;
        return c;
    }
    for (;;) {
        json_p_ws(p);
        if (object) {
            if (p->i >= p->len || p->s[p->i] != '"') {
                json_p_fail(p, "a string key expected");
                goto error;
            }
            if (!json_p_string(p))
                goto error;
            if (!(key = Ccai_strndup(p->str.data, p->str.len))) {
                p->nomem = true;
                goto error;
            }
            json_p_ws(p);
            if (p->i >= p->len || p->s[p->i] != ':') {
                json_p_fail(p, "':' expected after an object key");
                goto error;
            }
            p->i++;
        }
        json_t *v = json_p_value(p);
        if (!v)
            goto error;
        /* Both take the value's reference, also when they fail. Duplicate
         * keys: the last one wins, as in jansson. */
        if (object ? json_object_set_new_nocheck(c, key, v) != 0
                   : json_array_append_new(c, v) != 0) {
            p->nomem = true;
            goto error;
        }
        ccai_free(key);
        key = NULL;
        json_p_ws(p);
        if (p->i < p->len && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->len && p->s[p->i] == close) {
            p->i++;
            p->depth--;
            return c;
        }
        json_p_fail(p, object ? "',' or '}' expected" : "',' or ']' expected");
        goto error;
    }

error:
    ccai_free(key);
    json_decref(c);
    return NULL;
}

static json_t *json_p_value(json_p_parser *p)
{
    json_p_ws(p);
    if (p->i >= p->len)
        return json_p_fail(p, "unexpected end of input");
    unsigned char ch = p->s[p->i];
    if (ch == '{' || ch == '[')
        return json_p_container(p, ch == '{');
    if (ch == '"') {
        if (!json_p_string(p))
            return NULL;
        json_t *v = json_stringn_nocheck(p->str.data, p->str.len);
        if (!v)
            p->nomem = true;
        return v;
    }
    if (ch == '-' || Ccai_is_digit(ch))
        return json_p_number(p);
    if (json_p_word(p, "true"))
        return json_true();
    if (json_p_word(p, "false"))
        return json_false();
    if (json_p_word(p, "null"))
        return json_null();
    return json_p_fail(p, "unexpected character");
}

/* Parse the JSON text s[0..len): one value of any kind, then only
 * whitespace. NULL on failure with *ret_status CCAI_ERR_NOMEM, or
 * CCAI_ERR_PARSE and *err filled. */
json_t *Ccai_json_load(const char *s, size_t len, Ccai_json_err *err, ccai_status *ret_status)
{
    json_p_parser p = {0};
    p.s = (const unsigned char *)s;
    p.len = len;
    json_t *v = json_p_value(&p);
    if (v) {
        json_p_ws(&p);
        if (p.i < p.len) {
            json_p_fail(&p, "unexpected characters after the JSON value");
            json_decref(v);
            v = NULL;
        }
    }
    Ccai_buf_free(&p.str);
    if (v)
        return v;
    if (p.nomem) {
        *ret_status = CCAI_ERR_NOMEM;
        return NULL;
    }
    *ret_status = CCAI_ERR_PARSE;
    err->text = p.why;
    err->line = 1;
    size_t line_start = 0;
    for (size_t k = 0; k < p.where; k++) {
        if (p.s[k] == '\n') {
            err->line++;
            line_start = k + 1;
        }
    }
    err->column = (unsigned)(p.where - line_start + 1);
    return NULL;
}

typedef struct json_p_sink {
    Ccai_buf buf;
    bool failed;
} json_p_sink;

static int json_p_write(const char *buffer, size_t size, void *data)
{
    json_p_sink *sink = data;
    if (sink->failed || !Ccai_buf_append(&sink->buf, buffer, size)) {
        sink->failed = true;
        return -1;
    }
    return 0;
}

/* json_dumps() that never returns a truncated text. The result is freed
 * with ccai_free(); NULL on NOMEM. */
char *Ccai_json_dump(const json_t *json, size_t flags)
{
    json_p_sink sink = {{0}, false};
    int rc = json_dump_callback(json, json_p_write, &sink, flags);
    char *out = rc == 0 && !sink.failed ? Ccai_buf_steal(&sink.buf) : NULL;
    Ccai_buf_free(&sink.buf);
    return out;
}

const char *Ccai_json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a value";
}

/* A JSON string of text, made loggable (\xHH) when it is not UTF-8. */
static json_t *string_of(const char *text)
{
    json_t *v = json_string(text);
    if (v)
        return v;
    Ccai_buf b = {0};
    if (Ccai_buf_append_loggable(&b, text, strlen(text), SIZE_MAX))
        v = json_string(b.data);
    Ccai_buf_free(&b);
    return v;
}

char *Ccai_json_error_envelope(const char *message, const char *detail)
{
    json_t *details = json_array(), *err = json_object(), *doc = json_object();
    bool ok =
        details && err && doc && json_object_set_new(err, "message", string_of(message)) == 0 &&
        (!detail || json_array_append_new(details, string_of(detail)) == 0) &&
        json_object_set(err, "details", details) == 0 && json_object_set(doc, "error", err) == 0;
    char *text = ok ? Ccai_json_dump(doc, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(details);
    json_decref(err);
    json_decref(doc);
    return text;
}
