/* One HTTP/1.1 server connection without I/O (see the header). */
#include "http/h1conn.h"
#include "http/h1syntax.h"

#include "core/json.h"

#include <http_parser.h>
#include <stdio.h>
#include <string.h>

/* Pipelined requests are not read while this much of the answers is unsent. */
#define OUT_HIGH (256u * 1024u)
/* Longest path shown in an access line. */
#define LOG_PATH_MAX 1024
/* What a lingering connection reads at once (and drops). */
#define LINGER_READ 65536
/* A body buffer larger than this is released after its request. */
#define KEEP_BODY_CAP 16384
/* What a connection reads at once between its 101 and the switch. */
#define READ_AFTER_UPGRADE 4096

typedef enum phase {
    P_IDLE,     /* between requests */
    P_HEAD,     /* reading the request line and headers */
    P_BODY,     /* reading the body */
    P_WAIT,     /* the request is handed on; its answer is awaited */
    P_CLOSING,  /* the last answer is queued: flush it, then linger */
    P_UPGRADED, /* 101 queued: the connection speaks another protocol once it is out */
    P_CLOSED
} phase;

/* Which piece of the request head the arena is receiving. */
typedef enum piece { PC_URL, PC_NAME, PC_VALUE } piece;

/* A header line: offsets of its NUL-terminated name and value in the arena. */
typedef struct hdr_ref {
    size_t name;
    size_t value;
} hdr_ref;

struct Ccai_h1 {
    Ccai_h1_limits lim;
    Ccai_h1_events ev;
    void *ud;
    http_parser parser;
    phase phase;
    bool first; /* no request read yet */
    bool keep_alive;
    bool draining;
    bool peer_eof;
    bool processing;
    bool begun; /* the parser is inside a request */
    bool expect_continue;
    uint64_t now; /* for the parser's callbacks */
    uint64_t t_created, t_start, t_body, t_dispatch, t_last, t_write, t_linger;

    /* The request being read: URL, then names and values, NUL-separated. */
    Ccai_buf arena;
    piece pc;
    size_t url_len;
    size_t header_bytes;
    hdr_ref *hdrs;
    size_t n_hdrs;
    ccai_http_header *view;
    Ccai_buf body;
    char method[16];
    char *path;
    char *query;
    bool head; /* HEAD: the answer has no body */
    int fail_status;
    const char *fail_msg;
    const char *fail_detail;

    Ccai_buf in;
    size_t in_off;
    Ccai_buf out;
    size_t out_off;
};

static size_t out_len(const Ccai_h1 *c)
{
    return c->out.len - c->out_off;
}

static uint64_t add_ms(uint64_t t, uint64_t ms)
{
    return ms > UINT64_MAX - t ? UINT64_MAX : t + ms;
}

/* Answers ------------------------------------------------------------------- */

static CCAI_MUST_CHECK bool head_line(Ccai_buf *o, const char *name, const char *value)
{
    return Ccai_buf_puts(o, name) && Ccai_buf_append(o, ": ", 2) && Ccai_buf_puts(o, value) &&
           Ccai_buf_append(o, "\r\n", 2);
}

/* Queue one answer. False on NOMEM: the connection is closed. */
static CCAI_MUST_CHECK bool serialize(Ccai_h1 *c, int status, const char *ctype,
                                      const ccai_http_header *hs, size_t n, const char *body,
                                      size_t len, bool close)
{
    bool upgrade = status == 101;
    bool was_empty = out_len(c) == 0;
    Ccai_buf *o = &c->out;
    bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
    bool ok = Ccai_buf_puts(o, "HTTP/1.1 ") && Ccai_buf_put_i64(o, status) &&
              Ccai_buf_puts(o, " ") && Ccai_buf_puts(o, Ccai_h1_reason(status)) &&
              Ccai_buf_puts(o, "\r\n");
    if (ok && c->ev.date) {
        char date[32] = "";
        c->ev.date(date, c->ud);
        ok = head_line(o, "Date", date);
    }
    if (ok && !no_body && ctype && !strpbrk(ctype, "\r\n"))
        ok = head_line(o, "Content-Type", ctype);
    if (ok && !no_body)
        ok = Ccai_buf_puts(o, "Content-Length: ") && Ccai_buf_put_u64(o, len) &&
             Ccai_buf_puts(o, "\r\n");
    if (ok)
        ok = Ccai_buf_puts(o, "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n");
    for (size_t i = 0; ok && i < n; i++) {
        if (Ccai_h1_header_ok(hs[i].name, hs[i].value))
            ok = head_line(o, hs[i].name, hs[i].value);
    }
    if (ok && upgrade)
        ok = Ccai_buf_puts(o, "Connection: Upgrade\r\n");
    else if (ok && close)
        ok = Ccai_buf_puts(o, "Connection: close\r\n");
    else if (ok && c->parser.http_minor == 0)
        ok = Ccai_buf_puts(o, "Connection: keep-alive\r\n");
    if (ok)
        ok = Ccai_buf_append(o, "\r\n", 2);
    if (ok && !no_body && !c->head && len)
        ok = Ccai_buf_append(o, body, len);
    if (!ok) {
        c->phase = P_CLOSED;
        return false;
    }
    if (was_empty)
        c->t_write = c->now;
    return true;
}

static void log_access(Ccai_h1 *c, int status, size_t bytes)
{
    if (!c->ev.answered)
        return;
    Ccai_buf p = {0};
    bool ok;
    if (c->path) {
        ok = Ccai_buf_append_loggable(&p, c->path, strlen(c->path), LOG_PATH_MAX);
    } else if (c->url_len) {
        const char *q = memchr(c->arena.data, '?', c->url_len);
        size_t n = q ? (size_t)(q - c->arena.data) : c->url_len;
        ok = Ccai_buf_append_loggable(&p, c->arena.data, n, LOG_PATH_MAX);
    } else {
        ok = Ccai_buf_puts(&p, "-");
    }
    Ccai_h1_access a = {
        .method = c->method[0] ? c->method : "-",
        .path = ok && p.data ? p.data : "-",
        .status = status,
        .bytes = bytes,
        .ms = c->now > c->t_start ? c->now - c->t_start : 0,
    };
    c->ev.answered(c, &a, c->ud);
    Ccai_buf_free(&p);
}

/* The error envelope (every error answer's, the routes' too). */
static void queue_error(Ccai_h1 *c, int status, const char *message, const char *detail,
                        unsigned retry_after_s, bool close)
{
    char *text = Ccai_json_error_envelope(message, detail);
    char retry[24];
    snprintf(retry, sizeof retry, "%u", retry_after_s);
    ccai_http_header h = {"Retry-After", retry};
    const char *body = text ? text : CCAI_JSON_ERROR_NOMEM;
    size_t len = strlen(body);
    if (serialize(c, text ? status : 500, "application/json", &h, retry_after_s ? 1 : 0, body, len,
                  close))
        log_access(c, text ? status : 500, len);
    ccai_free(text);
}

static void reset_request(Ccai_h1 *c)
{
    Ccai_buf_reset(&c->arena);
    c->pc = PC_URL;
    c->url_len = 0;
    c->header_bytes = 0;
    c->n_hdrs = 0;
    ccai_free(c->view);
    c->view = NULL;
    if (c->body.cap > KEEP_BODY_CAP)
        Ccai_buf_free(&c->body);
    else
        Ccai_buf_reset(&c->body);
    c->method[0] = '\0';
    ccai_free(c->path);
    c->path = NULL;
    ccai_free(c->query);
    c->query = NULL;
    c->head = false;
    c->expect_continue = false;
    c->fail_status = 0;
    c->fail_msg = c->fail_detail = NULL;
}

/* The answer is queued: next request, or close. */
static void finish(Ccai_h1 *c, bool close)
{
    if (c->phase == P_CLOSED)
        return;
    reset_request(c);
    c->begun = false;
    c->first = false;
    if (close) {
        c->phase = P_CLOSING;
        c->in_off = c->in.len; /* pipelined requests are dropped with the connection */
    } else {
        c->phase = P_IDLE;
        c->t_last = c->now;
    }
}

/* Answer with an error and close: the stream can no longer be trusted. */
static void fail_close(Ccai_h1 *c, int status, const char *message, const char *detail,
                       unsigned retry_after_s)
{
    queue_error(c, status, message, detail, retry_after_s, true);
    finish(c, true);
}

/* Parsing --------------------------------------------------------------------- */

static int fail(Ccai_h1 *c, int status, const char *message, const char *detail)
{
    c->fail_status = status;
    c->fail_msg = message;
    c->fail_detail = detail;
    return -1;
}

static int nomem(Ccai_h1 *c)
{
    return fail(c, 500, "out of memory", NULL);
}

/* Close the piece being received with its NUL. */
static CCAI_MUST_CHECK bool end_piece(Ccai_h1 *c)
{
    if (!Ccai_buf_append(&c->arena, "", 1))
        return false;
    if (c->pc == PC_NAME) { /* a name without a value */
        c->hdrs[c->n_hdrs - 1].value = c->arena.len;
        return Ccai_buf_append(&c->arena, "", 1);
    }
    return true;
}

static int on_message_begin(http_parser *p)
{
    Ccai_h1 *c = p->data;
    reset_request(c);
    c->begun = true;
    return 0;
}

static size_t url_max(const Ccai_h1 *c)
{
    return c->lim.max_header_bytes < CCAI_H1_MAX_URL ? c->lim.max_header_bytes : CCAI_H1_MAX_URL;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
    Ccai_h1 *c = p->data;
    if (!c->method[0]) {
        Ccai_strjoin(c->method, sizeof c->method, http_method_str((enum http_method)p->method),
                     NULL);
        c->head = p->method == HTTP_HEAD; /* no answer to HEAD has a body, errors included */
    }
    if (len > url_max(c) - c->url_len) {
        /* Keep what fits, for the access line; out of memory, it shows
         * what came before (url_len counts what the arena holds). */
        if (Ccai_buf_append(&c->arena, at, url_max(c) - c->url_len))
            c->url_len = url_max(c);
        return fail(c, 414, "request target too long", "at most 8192 bytes");
    }
    if (!Ccai_buf_append(&c->arena, at, len))
        return nomem(c);
    c->url_len += len;
    c->header_bytes += len;
    return 0;
}

static int count_head(Ccai_h1 *c, size_t len)
{
    c->header_bytes += len;
    if (c->header_bytes > c->lim.max_header_bytes)
        return fail(c, 431, "request header fields too large", "see server.max_header_bytes");
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    Ccai_h1 *c = p->data;
    if (c->phase == P_BODY) /* a chunked body's trailer: counted, not kept */
        return count_head(c, len);
    if (c->pc != PC_NAME) {
        if (!end_piece(c))
            return nomem(c);
        if (c->n_hdrs == CCAI_H1_MAX_HEADERS)
            return fail(c, 431, "request header fields too large", "at most 100 header lines");
        if (!c->hdrs) {
            c->hdrs = Ccai_calloc(CCAI_H1_MAX_HEADERS, sizeof *c->hdrs);
            if (!c->hdrs)
                return nomem(c);
        }
        c->hdrs[c->n_hdrs++].name = c->arena.len;
        c->pc = PC_NAME;
        if (count_head(c, 4)) /* ": " and CRLF */
            return -1;
    }
    if (count_head(c, len))
        return -1;
    return Ccai_buf_append(&c->arena, at, len) ? 0 : nomem(c);
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    Ccai_h1 *c = p->data;
    if (c->phase == P_BODY)
        return count_head(c, len);
    if (c->pc != PC_VALUE) {
        if (!Ccai_buf_append(&c->arena, "", 1))
            return nomem(c);
        c->hdrs[c->n_hdrs - 1].value = c->arena.len;
        c->pc = PC_VALUE;
    }
    if (count_head(c, len))
        return -1;
    return Ccai_buf_append(&c->arena, at, len) ? 0 : nomem(c);
}

/* Percent-decode a path: "%" must be followed by two hex digits, and the
 * result may not hold a NUL (it would cut the path short in C). */
static int decode_path(Ccai_h1 *c, const char *s, size_t n)
{
    char *out = Ccai_malloc(n + 1);
    if (!out)
        return nomem(c);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '%') {
            out[w++] = s[i];
            continue;
        }
        int hi = i + 2 < n ? Ccai_h1_hexval((unsigned char)s[i + 1]) : -1;
        int lo = i + 2 < n ? Ccai_h1_hexval((unsigned char)s[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            ccai_free(out);
            return fail(c, 400, "bad request", "invalid percent-encoding in the path");
        }
        if (hi == 0 && lo == 0) {
            ccai_free(out);
            return fail(c, 400, "bad request", "%00 (NUL) is not allowed in the path");
        }
        out[w++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[w] = '\0';
    c->path = out;
    return 0;
}

/* Check what the request says about itself before reading its body. */
static int check_head(Ccai_h1 *c, http_parser *p)
{
    if (p->http_major != 1)
        return fail(c, 505, "HTTP version not supported", "HTTP/1.0 and HTTP/1.1 only");
    if (!Ccai_h1_method_supported(p->method))
        return fail(c, 501, "method not implemented",
                    "GET, HEAD, POST, PUT, DELETE, PATCH and OPTIONS are");
    c->view = Ccai_calloc(c->n_hdrs ? c->n_hdrs : 1, sizeof *c->view);
    if (!c->view)
        return nomem(c);
    size_t hosts = 0, codings = 0;
    bool te = false;
    for (size_t i = 0; i < c->n_hdrs; i++) {
        char *name = c->arena.data + c->hdrs[i].name;
        char *value = c->arena.data + c->hdrs[i].value;
        /* Folded lines leave line breaks inside: spaces for the routes. */
        for (char *q = value; *q; q++) {
            if (*q == '\r' || *q == '\n' || *q == '\t')
                *q = ' ';
        }
        size_t vl = strlen(value);
        while (vl && value[vl - 1] == ' ')
            value[--vl] = '\0';
        c->view[i].name = name;
        c->view[i].value = value;
        if (Ccai_strcasecmp(name, "host") == 0) {
            hosts++;
        } else if (Ccai_strcasecmp(name, "transfer-encoding") == 0) {
            te = true;
            if (!Ccai_h1_transfer_encoding_ok(value, &codings))
                return fail(c, 501, "transfer-coding not implemented", "only chunked is");
        } else if (Ccai_strcasecmp(name, "expect") == 0) {
            if (Ccai_strcasecmp(value, "100-continue") != 0)
                return fail(c, 417, "expectation failed", "only Expect: 100-continue is supported");
            c->expect_continue = true;
        }
    }
    if (te && codings != 1)
        return fail(c, 501, "transfer-coding not implemented", "only chunked is");
    if (hosts > 1)
        return fail(c, 400, "bad request", "more than one Host header");
    if (!hosts && p->http_minor >= 1)
        return fail(c, 400, "bad request", "an HTTP/1.1 request needs a Host header");

    const char *url = c->arena.data;
    if (c->url_len == 1 && url[0] == '*') {
        c->path = Ccai_strdup("*");
        if (!c->path)
            return nomem(c);
    } else {
        struct http_parser_url u;
        http_parser_url_init(&u);
        if (http_parser_parse_url(url, c->url_len, 0, &u) != 0)
            return fail(c, 400, "bad request", "invalid request target");
        int rc = (u.field_set & (1u << UF_PATH))
                     ? decode_path(c, url + u.field_data[UF_PATH].off, u.field_data[UF_PATH].len)
                     : decode_path(c, "/", 1);
        if (rc)
            return rc;
        if (u.field_set & (1u << UF_QUERY)) {
            c->query = Ccai_strndup(url + u.field_data[UF_QUERY].off, u.field_data[UF_QUERY].len);
            if (!c->query)
                return nomem(c);
        }
    }
    bool chunked = (p->flags & F_CHUNKED) != 0;
    bool has_length = (p->flags & F_CONTENTLENGTH) != 0;
    if (has_length && !chunked && p->content_length > c->lim.max_body_bytes)
        return fail(c, 413, "request body too large", "see server.max_body_bytes");
    if (c->expect_continue && p->http_minor >= 1 &&
        (chunked || (has_length && p->content_length > 0))) {
        bool was_empty = out_len(c) == 0;
        if (!Ccai_buf_puts(&c->out, "HTTP/1.1 100 Continue\r\n\r\n"))
            return nomem(c);
        if (was_empty)
            c->t_write = c->now;
    }
    return 0;
}

static int on_headers_complete(http_parser *p)
{
    Ccai_h1 *c = p->data;
    if (!c->method[0])
        Ccai_strjoin(c->method, sizeof c->method, http_method_str((enum http_method)p->method),
                     NULL);
    if (!end_piece(c))
        return nomem(c);
    if (check_head(c, p))
        return -1;
    c->phase = P_BODY;
    c->t_body = c->now;
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
    Ccai_h1 *c = p->data;
    if (len > c->lim.max_body_bytes - c->body.len)
        return fail(c, 413, "request body too large", "see server.max_body_bytes");
    return Ccai_buf_append(&c->body, at, len) ? 0 : nomem(c);
}

static int on_message_complete(http_parser *p)
{
    Ccai_h1 *c = p->data;
    /* After an Upgrade the stream is another protocol: close after the answer. */
    c->keep_alive = http_should_keep_alive(p) && !p->upgrade;
    http_parser_pause(p, 1);
    return 0;
}

static const http_parser_settings settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void parse_failed(Ccai_h1 *c, enum http_errno e, const char *data, size_t len)
{
    int status = 400;
    const char *msg = "bad request";
    const char *detail = http_errno_description(e);
    if (e >= HPE_CB_message_begin && e <= HPE_CB_chunk_complete) {
        status = c->fail_status ? c->fail_status : 500;
        msg = c->fail_msg ? c->fail_msg : "internal error";
        detail = c->fail_detail;
    } else if (e == HPE_INVALID_METHOD && Ccai_h1_looks_like_method(data, len)) {
        status = 501;
        msg = "method not implemented";
        detail = "GET, HEAD, POST, PUT, DELETE, PATCH and OPTIONS are";
    } else if (e == HPE_HEADER_OVERFLOW) {
        status = 431;
        msg = "request header fields too large";
        detail = "see server.max_header_bytes";
    } else if (e == HPE_INVALID_CHUNK_SIZE) {
        detail = "invalid chunk size";
    } else if (e == HPE_UNEXPECTED_CONTENT_LENGTH) {
        detail = "more than one Content-Length, or Content-Length with Transfer-Encoding";
    } else if (e == HPE_INVALID_CONTENT_LENGTH) {
        detail = "invalid Content-Length";
    }
    fail_close(c, status, msg, detail, 0);
}

/* Hand the complete request on. */
static void dispatch(Ccai_h1 *c)
{
    c->phase = P_WAIT;
    c->t_dispatch = c->now;
    if (c->draining) {
        queue_error(c, 503, "shutting down", "the server is stopping; try again", 1, true);
        finish(c, true);
        return;
    }
    if (!Ccai_buf_append(&c->body, "", 0)) { /* body.data is never NULL */
        queue_error(c, 500, "out of memory", NULL, 0, true);
        finish(c, true);
        return;
    }
    Ccai_h1_request req = {
        .method = c->method,
        .path = c->path,
        .query = c->query,
        .headers = c->view,
        .n_headers = c->n_hdrs,
        .body = c->body.data,
        .body_len = c->body.len,
    };
    c->ev.request(c, &req, c->ud);
}

static void compact_input(Ccai_h1 *c)
{
    if (c->in_off == 0)
        return;
    size_t left = c->in.len - c->in_off;
    if (left)
        memmove(c->in.data, c->in.data + c->in_off, left);
    c->in.len = left;
    c->in.data[left] = '\0';
    c->in_off = 0;
    if (!left && c->in.cap > 2 * LINGER_READ)
        Ccai_buf_free(&c->in);
}

void Ccai_h1_process(Ccai_h1 *c, uint64_t now)
{
    if (c->processing)
        return;
    c->processing = true;
    c->now = now;
    while ((c->phase == P_IDLE || c->phase == P_HEAD || c->phase == P_BODY) &&
           c->in.len > c->in_off && out_len(c) < OUT_HIGH) {
        if (!c->begun) {
            /* Empty lines before a request are ignored (RFC 9112 2.2): a
             * client may send one after a body. */
            while (c->in_off < c->in.len &&
                   (c->in.data[c->in_off] == '\r' || c->in.data[c->in_off] == '\n'))
                c->in_off++;
            if (c->in_off == c->in.len)
                break;
            if (c->phase == P_IDLE) {
                c->phase = P_HEAD;
                c->t_start = c->first ? c->t_created : now;
            }
            if (!Ccai_h1_method_whole(c->in.data + c->in_off, c->in.len - c->in_off))
                break;
        }
        const char *data = c->in.data + c->in_off;
        size_t len = c->in.len - c->in_off;
        size_t n = http_parser_execute(&c->parser, &settings, data, len);
        enum http_errno e = HTTP_PARSER_ERRNO(&c->parser);
        if (e == HPE_PAUSED) {
            c->in_off += n;
            http_parser_pause(&c->parser, 0);
            dispatch(c);
            continue;
        }
        if (e != HPE_OK) {
            parse_failed(c, e, data, len);
            break;
        }
        c->in_off += n;
    }
    if (c->phase != P_CLOSED)
        compact_input(c);
    c->processing = false;
}

/* Connection ------------------------------------------------------------------ */

Ccai_h1 *Ccai_h1_new(const Ccai_h1_limits *limits, const Ccai_h1_events *events, void *ud,
                     uint64_t now)
{
    Ccai_h1 *c = Ccai_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->lim = *limits;
    c->ev = *events;
    c->ud = ud;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    c->phase = P_IDLE;
    c->first = true;
    c->now = c->t_created = c->t_start = c->t_last = now;
    return c;
}

void Ccai_h1_free(Ccai_h1 *c)
{
    if (!c)
        return;
    reset_request(c);
    Ccai_buf_free(&c->arena);
    Ccai_buf_free(&c->body);
    ccai_free(c->hdrs);
    Ccai_buf_free(&c->in);
    Ccai_buf_free(&c->out);
    ccai_free(c);
}

/* Close now; a waiting request is given up. */
static void close_now(Ccai_h1 *c)
{
    bool waiting = c->phase == P_WAIT;
    c->phase = P_CLOSED;
    if (waiting)
        c->ev.abandon(c, c->ud);
}

ccai_status Ccai_h1_input(Ccai_h1 *c, const char *data, size_t len, uint64_t now)
{
    c->now = now;
    if (c->phase == P_CLOSED || c->phase == P_CLOSING || !len)
        return CCAI_OK; /* a closing connection drops what still comes */
    if (!Ccai_buf_append(&c->in, data, len)) {
        close_now(c);
        return CCAI_ERR_NOMEM;
    }
    Ccai_h1_process(c, now);
    return CCAI_OK;
}

void Ccai_h1_eof(Ccai_h1 *c, uint64_t now)
{
    c->now = now;
    c->peer_eof = true;
    switch (c->phase) {
    case P_IDLE:
    case P_CLOSING:
        /* The peer may only have shut its write side: finish the answer. */
        if (out_len(c))
            c->phase = P_CLOSING;
        else
            c->phase = P_CLOSED;
        break;
    case P_HEAD:
    case P_BODY: c->phase = P_CLOSED; break; /* a request cut short: nobody to answer */
    case P_WAIT: close_now(c); break;
    case P_UPGRADED:
    case P_CLOSED: break;
    }
}

void Ccai_h1_abort(Ccai_h1 *c, uint64_t now)
{
    c->now = now;
    c->peer_eof = true;
    close_now(c);
}

size_t Ccai_h1_read_room(const Ccai_h1 *c)
{
    if (c->phase == P_CLOSED)
        return 0;
    if (c->phase == P_CLOSING)
        return LINGER_READ;
    if (c->phase == P_UPGRADED) /* kept for the new protocol */
        return c->in.len - c->in_off >= c->lim.max_buffered ? 0 : READ_AFTER_UPGRADE;
    size_t buffered = c->in.len - c->in_off;
    return buffered >= c->lim.max_buffered ? 0 : c->lim.max_buffered - buffered;
}

void Ccai_h1_respond(Ccai_h1 *c, const ccai_http_response *res, uint64_t now)
{
    if (c->phase != P_WAIT)
        return;
    c->now = now;
    bool close = !c->keep_alive || c->draining;
    if (serialize(c, res->status, res->content_type, res->headers, res->n_headers, res->body,
                  res->body_len, close))
        log_access(c, res->status, res->body_len);
    finish(c, close);
}

void Ccai_h1_upgrade(Ccai_h1 *c, const ccai_http_response *res, uint64_t now)
{
    if (c->phase != P_WAIT)
        return;
    c->now = now;
    if (c->draining) {
        queue_error(c, 503, "shutting down", "the server is stopping; try again", 1, true);
        finish(c, true);
        return;
    }
    if (!serialize(c, 101, NULL, res->headers, res->n_headers, NULL, 0, false))
        return;
    log_access(c, 101, 0);
    reset_request(c);
    c->begun = false;
    c->phase = P_UPGRADED;
}

void Ccai_h1_detach(Ccai_h1 *c, uint64_t now)
{
    if (c->phase != P_WAIT)
        return;
    c->now = now;
    reset_request(c);
    c->begun = false;
    c->phase = P_UPGRADED;
}

const char *Ccai_h1_leftover(const Ccai_h1 *c, size_t *ret_len)
{
    *ret_len = c->phase == P_UPGRADED ? c->in.len - c->in_off : 0;
    return *ret_len ? c->in.data + c->in_off : NULL;
}

void Ccai_h1_respond_error(Ccai_h1 *c, int status, const char *message, const char *detail,
                           uint64_t now)
{
    if (c->phase != P_WAIT)
        return;
    c->now = now;
    bool close = !c->keep_alive || c->draining;
    queue_error(c, status, message, detail, 0, close);
    finish(c, close);
}

void Ccai_h1_refuse(Ccai_h1 *c, int status, const char *message, const char *detail,
                    unsigned retry_after_s, uint64_t now)
{
    if (c->phase != P_IDLE)
        return;
    c->now = now;
    fail_close(c, status, message, detail, retry_after_s);
}

void Ccai_h1_drain(Ccai_h1 *c, uint64_t now)
{
    c->now = now;
    c->draining = true;
    if (c->phase == P_IDLE && c->in.len == c->in_off)
        c->phase = out_len(c) ? P_CLOSING : P_CLOSED;
}

const char *Ccai_h1_output(const Ccai_h1 *c, size_t *ret_len)
{
    *ret_len = c->phase == P_CLOSED ? 0 : out_len(c);
    return *ret_len ? c->out.data + c->out_off : NULL;
}

void Ccai_h1_written(Ccai_h1 *c, size_t n, uint64_t now)
{
    c->now = now;
    if (n > out_len(c))
        n = out_len(c);
    c->out_off += n;
    if (n)
        c->t_write = now;
    if (out_len(c) == 0) {
        Ccai_buf_reset(&c->out);
        c->out_off = 0;
        if (c->out.cap > OUT_HIGH)
            Ccai_buf_free(&c->out);
        if (c->phase == P_CLOSING) {
            if (c->peer_eof)
                c->phase = P_CLOSED;
            else
                c->t_linger = now;
        }
    }
    Ccai_h1_process(c, now);
}

uint64_t Ccai_h1_deadline(const Ccai_h1 *c)
{
    uint64_t d = UINT64_MAX;
    bool pending = out_len(c) > 0;
    if (c->phase == P_CLOSED)
        return d;
    if (pending) /* the peer must read what it asked for */
        d = add_ms(c->t_write, c->lim.idle_timeout_ms);
    uint64_t p = UINT64_MAX;
    switch (c->phase) {
    case P_IDLE:
        if (!pending)
            p = c->first ? add_ms(c->t_created, c->lim.header_timeout_ms)
                         : add_ms(c->t_last, c->lim.idle_timeout_ms);
        break;
    case P_HEAD: p = add_ms(c->t_start, c->lim.header_timeout_ms); break;
    case P_BODY: {
        uint64_t extra = c->lim.min_body_rate ? c->body.len * 1000 / c->lim.min_body_rate : 0;
        p = add_ms(add_ms(c->t_body, c->lim.body_timeout_ms), extra);
        break;
    }
    case P_WAIT: p = add_ms(c->t_dispatch, c->lim.answer_timeout_ms); break;
    case P_CLOSING:
        if (!pending)
            p = add_ms(c->t_linger, CCAI_H1_LINGER_MS);
        break;
    case P_UPGRADED:
    case P_CLOSED: break;
    }
    return p < d ? p : d;
}

void Ccai_h1_timeout(Ccai_h1 *c, uint64_t now)
{
    c->now = now;
    if (c->phase == P_CLOSED || now < Ccai_h1_deadline(c))
        return;
    if (out_len(c) && now >= add_ms(c->t_write, c->lim.idle_timeout_ms)) {
        close_now(c); /* the peer does not read its answers */
        return;
    }
    switch (c->phase) {
    case P_IDLE:
    case P_CLOSING: c->phase = P_CLOSED; break;
    case P_HEAD:
        fail_close(c, 408, "request timeout",
                   "the request line and headers must arrive within server.header_timeout_ms", 0);
        break;
    case P_BODY:
        fail_close(c, 408, "request timeout",
                   "the body must arrive within server.body_timeout_ms, plus 1 s per "
                   "server.min_body_rate bytes",
                   0);
        break;
    case P_WAIT:
        /* Answer first: the exchange is cancelled by abandon() and cannot. */
        Ccai_h1_respond_error(c, 504, "no answer in time", "see server.request_timeout_ms", now);
        c->ev.abandon(c, c->ud);
        break;
    case P_UPGRADED:
    case P_CLOSED: break;
    }
}

Ccai_h1_state Ccai_h1_get_state(const Ccai_h1 *c)
{
    if (c->phase == P_CLOSED)
        return CCAI_H1_CLOSED;
    if (c->phase == P_CLOSING && out_len(c) == 0)
        return CCAI_H1_LINGER;
    if (c->phase == P_UPGRADED && out_len(c) == 0)
        return CCAI_H1_UPGRADED;
    return CCAI_H1_OPEN;
}

bool Ccai_h1_waiting(const Ccai_h1 *c)
{
    return c->phase == P_WAIT;
}
