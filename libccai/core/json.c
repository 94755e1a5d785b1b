/* A strict JSON parser into jansson values, a checked dump, and JSON text
 * written without a tree. */
#include "core/json.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
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

typedef Ccai_json_cursor json_p_parser;

/* Eight bytes at a time: does the word hold a byte below 0x20, a '"', a
 * '\\' or a byte of 0x80 and above (all of them plain text otherwise)? */
#define JSON_ONES  0x0101010101010101ull
#define JSON_HIGHS 0x8080808080808080ull

static uint64_t json_word(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Some byte of x is zero. */
static uint64_t json_zero_byte(uint64_t x)
{
    return (x - JSON_ONES) & ~x & JSON_HIGHS;
}

/* Some byte of v is escaped: below 0x20, '"' or '\\' (exact also with
 * bytes of 0x80 and above: ~x leaves them out). */
static uint64_t json_word_escapes(uint64_t v)
{
    uint64_t below_space = (v - JSON_ONES * 0x20) & ~v & JSON_HIGHS;
    return below_space | json_zero_byte(v ^ (JSON_ONES * '"')) |
           json_zero_byte(v ^ (JSON_ONES * '\\'));
}

/* Nothing to escape and no UTF-8 to check. */
static bool json_word_plain(uint64_t v)
{
    return (json_word_escapes(v) | (v & JSON_HIGHS)) == 0;
}

static json_t *json_p_fail(json_p_parser *p, const char *why)
{
    if (!p->why && !p->nomem) {
        p->why = why;
        p->where = p->i;
    }
    return NULL;
}

static bool json_p_bad(json_p_parser *p, const char *why)
{
    json_p_fail(p, why);
    return false;
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
    char b[4];
    size_t n;
    n = Ccai_utf8_encode((uint32_t)cp, b);
    if (!Ccai_buf_append(&p->str, b, n)) {
        p->nomem = true;
        return false;
    }
    return true;
}

/* The length of the multi-byte UTF-8 sequence at s[0..avail) (its first
 * byte is >= 0x80), 0 when it is not valid: no overlong form, no surrogate,
 * nothing above U+10FFFF (what jansson accepts too). */
static size_t json_utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char ch = s[0], lo = 0x80, hi = 0xBF;
    size_t n;
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
        return 0;
    }
    bool ok = avail > n && s[1] >= lo && s[1] <= hi;
    for (size_t k = 2; ok && k <= n; k++)
        ok = s[k] >= 0x80 && s[k] <= 0xBF;
    return ok ? n + 1 : 0;
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
        /* Copy runs of plain ASCII at once, found eight bytes at a time. */
        while (p->len - p->i >= 8 && json_word_plain(json_word(p->s + p->i)))
            p->i += 8;
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
        size_t n = json_utf8_len(p->s + p->i, p->len - p->i);
        if (!n) {
            json_p_fail(p, "invalid UTF-8 in a string");
            return false;
        }
        if (!Ccai_buf_append(&p->str, p->s + p->i, n)) {
            p->nomem = true;
            return false;
        }
        p->i += n;
    }
}

static size_t json_p_digits(json_p_parser *p)
{
    size_t start = p->i;
    while (p->i < p->len && Ccai_is_digit(p->s[p->i]))
        p->i++;
    return p->i - start;
}

/* A number token, checked (the grammar, and a real's length and range):
 * p->i past it; *is_int when it is an integer json_int_t holds (*ival),
 * else a real (*dval). false on a syntax error. */
static bool json_p_num(json_p_parser *p, bool *is_int, json_int_t *ival, double *dval)
{
    size_t start = p->i;
    bool negative = p->s[p->i] == '-', is_real = false;
    if (negative)
        p->i++;
    size_t int_start = p->i, nint = json_p_digits(p);
    if (nint == 0)
        return json_p_bad(p, "invalid number");
    if (nint > 1 && p->s[int_start] == '0') {
        p->i = int_start + 1;
        return json_p_bad(p, "invalid number (leading zero)");
    }
    if (p->i < p->len && p->s[p->i] == '.') {
        p->i++;
        is_real = true;
        if (json_p_digits(p) == 0)
            return json_p_bad(p, "invalid number (digits expected after '.')");
    }
    if (p->i < p->len && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        p->i++;
        is_real = true;
        if (p->i < p->len && (p->s[p->i] == '+' || p->s[p->i] == '-'))
            p->i++;
        if (json_p_digits(p) == 0)
            return json_p_bad(p, "invalid number (digits expected in the exponent)");
    }

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
            *is_int = true;
            *ival = negative ? n : -n;
            return true;
        }
    }
    /* A real, or an integer too large for json_int_t. strtod() follows the
     * locale's decimal point, so the '.' is swapped for it. */
    size_t n = p->i - start;
    if (n >= CCAI_JSON_NUMBER_MAX) {
        p->i = start;
        return json_p_bad(p, "number too long");
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
        return json_p_bad(p, "number out of range");
    }
    *is_int = false;
    *dval = d;
    return true;
}

static json_t *json_p_number(json_p_parser *p)
{
    bool is_int = false;
    json_int_t i = 0;
    double d = 0;
    if (!json_p_num(p, &is_int, &i, &d))
        return NULL;
    json_t *v = is_int ? json_integer(i) : json_real(d);
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

/* Reading without a tree ---------------------------------------------------- */

void Ccai_json_cursor_init(Ccai_json_cursor *c, const char *s, size_t len)
{
    Ccai_buf str = c->str; /* kept: its buffer serves the next text too */
    memset(c, 0, sizeof *c);
    c->s = (const unsigned char *)s;
    c->len = len;
    c->str = str;
    Ccai_buf_reset(&c->str);
}

void Ccai_json_cursor_free(Ccai_json_cursor *c)
{
    Ccai_buf_free(&c->str);
}

int Ccai_json_peek(Ccai_json_cursor *c)
{
    json_p_ws(c);
    if (c->why || c->nomem)
        return 0;
    if (c->i >= c->len) {
        json_p_fail(c, "unexpected end of input");
        return 0;
    }
    unsigned char ch = c->s[c->i];
    if (ch == '{' || ch == '[' || ch == '"')
        return ch;
    if (ch == '-' || Ccai_is_digit(ch))
        return '0';
    if (ch == 't' || ch == 'f' || ch == 'n')
        return ch;
    json_p_fail(c, "unexpected character");
    return 0;
}

bool Ccai_json_enter(Ccai_json_cursor *c)
{
    int k = Ccai_json_peek(c);
    if (k != '{' && k != '[')
        return k ? json_p_bad(c, "unexpected character") : false;
    if (c->depth >= CCAI_JSON_MAX_DEPTH)
        return json_p_bad(c, "nested too deeply");
    c->depth++;
    c->i++;
    return true;
}

/* After a member or an element (or the opening): the next one, or the end. */
static int json_p_next(Ccai_json_cursor *c, bool first, unsigned char close)
{
    json_p_ws(c);
    if (first) {
        if (c->i < c->len && c->s[c->i] == close) {
            c->i++;
            c->depth--;
            return 0;
        }
        return 1;
    }
    if (c->i < c->len && c->s[c->i] == ',') {
        c->i++;
        return 1;
    }
    if (c->i < c->len && c->s[c->i] == close) {
        c->i++;
        c->depth--;
        return 0;
    }
    json_p_fail(c, close == '}' ? "',' or '}' expected" : "',' or ']' expected");
    return -1;
}

int Ccai_json_next_member(Ccai_json_cursor *c, bool first)
{
    int r = json_p_next(c, first, '}');
    if (r != 1)
        return r;
    json_p_ws(c);
    if (c->i >= c->len || c->s[c->i] != '"') {
        json_p_fail(c, "a string key expected");
        return -1;
    }
    if (!json_p_string(c))
        return -1;
    json_p_ws(c);
    if (c->i >= c->len || c->s[c->i] != ':') {
        json_p_fail(c, "':' expected after an object key");
        return -1;
    }
    c->i++;
    return 1;
}

int Ccai_json_next_element(Ccai_json_cursor *c, bool first)
{
    return json_p_next(c, first, ']');
}

bool Ccai_json_read_string(Ccai_json_cursor *c)
{
    if (Ccai_json_peek(c) != '"')
        return c->why || c->nomem ? false : json_p_bad(c, "a string expected");
    return json_p_string(c);
}

bool Ccai_json_read_number(Ccai_json_cursor *c, bool *is_int, json_int_t *ival)
{
    double d = 0;
    if (Ccai_json_peek(c) != '0')
        return c->why || c->nomem ? false : json_p_bad(c, "a number expected");
    return json_p_num(c, is_int, ival, &d);
}

bool Ccai_json_skip(Ccai_json_cursor *c)
{
    int k = Ccai_json_peek(c);
    switch (k) {
    case 0: return false;
    case '"': return json_p_string(c);
    case '0': {
        bool is_int;
        json_int_t i;
        double d;
        return json_p_num(c, &is_int, &i, &d);
    }
    case '{':
    case '[': {
        if (!Ccai_json_enter(c))
            return false;
        int r;
        for (bool first = true;; first = false) {
            r = k == '{' ? Ccai_json_next_member(c, first) : Ccai_json_next_element(c, first);
            if (r != 1)
                return r == 0;
            if (!Ccai_json_skip(c))
                return false;
        }
    }
    default:
        if (json_p_word(c, "true") || json_p_word(c, "false") || json_p_word(c, "null"))
            return true;
        return json_p_bad(c, "unexpected character");
    }
}

bool Ccai_json_finish(Ccai_json_cursor *c)
{
    json_p_ws(c);
    if (c->why || c->nomem)
        return false;
    if (c->i < c->len)
        return json_p_bad(c, "unexpected characters after the JSON value");
    return true;
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

size_t Ccai_json_escapes(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, k = 0;
    while (i < n) {
        if (n - i >= 8 && !json_word_escapes(json_word(s + i))) {
            i += 8;
            continue;
        }
        unsigned char ch = s[i++];
        k += ch < 0x20 || ch == '"' || ch == '\\';
    }
    return k;
}

bool Ccai_json_put_string(Ccai_buf *b, const char *str, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;
    if (!Ccai_buf_append(b, "\"", 1))
        return false;
    while (i < n) {
        if (n - i >= 8 && json_word_plain(json_word(s + i))) {
            i += 8;
            continue;
        }
        unsigned char ch = s[i];
        if (ch >= 0x20 && ch < 0x80 && ch != '"' && ch != '\\') {
            i++;
            continue;
        }
        if (ch >= 0x80) {
            size_t k = json_utf8_len(s + i, n - i);
            if (!k)
                return false;
            i += k;
            continue;
        }
        char esc[6] = {'\\', 'u', '0', '0', hex[ch >> 4], hex[ch & 15]};
        size_t len = 2;
        switch (ch) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default: len = 6; break;
        }
        if (!Ccai_buf_append(b, s + run, i - run) || !Ccai_buf_append(b, esc, len))
            return false;
        run = ++i;
    }
    return Ccai_buf_append(b, s + run, n - run) && Ccai_buf_append(b, "\"", 1);
}

bool Ccai_json_put_cstring(Ccai_buf *b, const char *s)
{
    return s && Ccai_json_put_string(b, s, strlen(s));
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
