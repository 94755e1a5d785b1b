/* libFuzzer: the HTTP/1.1 server connection (http/h1conn.c) fed a byte
 * stream cut in pieces, with answers, clock jumps, drains and EOF in
 * between. Input: byte 0 is the piece size, byte 1 the flags below, the
 * rest the bytes a client sends (so a seed is a raw request behind two
 * bytes). Properties checked: whatever comes in, what goes out parses as a
 * stream of HTTP/1.1 responses (http-parser in response mode), one per
 * access entry plus interim 100s; at most one request waits at a time;
 * requests handed on use a supported method, a path without NUL and a body
 * within the limit; a closed connection sends nothing more. */
#include "http/h1conn.h"

#include <http_parser.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum {
    F_ANSWER_AT_ONCE = 1, /* answer a waiting request after each piece */
    F_SLOW_READER = 2,    /* take the output 7 bytes at a time */
    F_CLOCK_JUMPS = 4,    /* 700 ms between pieces, timeouts as they fall due */
    F_EOF = 8,            /* the client closes at the end */
    F_DRAIN = 16,         /* the server stops halfway */
};

#define MAX_BODY 2000

typedef struct state {
    Ccai_h1 *c;
    int waiting;
    int requests;
    int answers;      /* access entries */
    int heads[256];   /* per answer, in order: was it HEAD (no body)? */
    int responses;    /* final responses the response parser saw */
    int body_skipped; /* index into heads */
    http_parser rp;
    int n_status;
} state;

static void on_request(Ccai_h1 *c, const Ccai_h1_request *req, void *ud)
{
    (void)c;
    state *s = ud;
    if (s->waiting)
        abort(); /* one at a time */
    static const char *const ok[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    int known = 0;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        known |= strcmp(req->method, ok[i]) == 0;
    if (!known || req->body_len > MAX_BODY || !req->path || !req->body ||
        req->body[req->body_len] != '\0')
        abort();
    for (size_t i = 0; i < req->n_headers; i++) {
        if (strpbrk(req->headers[i].value, "\r\n"))
            abort();
    }
    s->waiting = 1;
    s->requests++;
}

static void on_abandon(Ccai_h1 *c, void *ud)
{
    (void)c;
    state *s = ud;
    if (!s->waiting)
        abort();
    s->waiting = 0;
}

static void on_answered(Ccai_h1 *c, const Ccai_h1_access *a, void *ud)
{
    (void)c;
    state *s = ud;
    if (!a->method || !a->path || a->status < 100 || a->status > 599)
        abort();
    if (s->answers < 256)
        s->heads[s->answers] = strcmp(a->method, "HEAD") == 0;
    s->answers++;
}

static int rp_headers_complete(http_parser *p)
{
    state *s = p->data;
    if (p->status_code < 200)
        return 0; /* 100 Continue: interim, no access entry */
    int head = s->body_skipped < 256 ? s->heads[s->body_skipped] : 0;
    s->body_skipped++;
    return head ? 1 : 0;
}

static int rp_message_complete(http_parser *p)
{
    state *s = p->data;
    if (p->status_code >= 200)
        s->responses++;
    return 0;
}

static const http_parser_settings rp_settings = {
    .on_headers_complete = rp_headers_complete,
    .on_message_complete = rp_message_complete,
};

static void take_output(state *s, uint64_t now, int slow)
{
    size_t len;
    const char *out;
    while ((out = Ccai_h1_output(s->c, &len)) != NULL) {
        if (slow && len > 7)
            len = 7;
        size_t n = http_parser_execute(&s->rp, &rp_settings, out, len);
        if (HTTP_PARSER_ERRNO(&s->rp) != HPE_OK || n != len)
            abort(); /* not a valid stream of responses */
        Ccai_h1_written(s->c, len, now);
    }
}

static void answer(state *s, uint64_t now, unsigned pick)
{
    if (!s->waiting)
        return;
    static const int statuses[] = {200, 204, 404, 500, 201, 304};
    s->waiting = 0;
    if (pick % 7 == 6) {
        Ccai_h1_respond_error(s->c, 500, "internal error", NULL, now);
        return;
    }
    ccai_http_header h[] = {{"X-A", "1"}, {"Location", "/x\r\nInjected: 1"}};
    ccai_http_response res = {CCAI_HTTP_RESPONSE_VERSION,
                              statuses[pick % 6],
                              "application/json",
                              h,
                              2,
                              "{\"ok\":true}",
                              11};
    Ccai_h1_respond(s->c, &res, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t step = (size_t)data[0] % 64 + 1;
    unsigned flags = data[1];
    data += 2;
    size -= 2;
    Ccai_h1_limits lim = {
        .max_header_bytes = 1024,
        .max_body_bytes = MAX_BODY,
        .max_buffered = 2048,
        .header_timeout_ms = 1000,
        .body_timeout_ms = 1000,
        .min_body_rate = 100,
        .idle_timeout_ms = 3000,
        .answer_timeout_ms = 2000,
    };
    static const Ccai_h1_events ev = {on_request, on_abandon, on_answered, NULL};
    state s;
    memset(&s, 0, sizeof s);
    http_parser_init(&s.rp, HTTP_RESPONSE);
    s.rp.data = &s;
    uint64_t now = 1;
    s.c = Ccai_h1_new(&lim, &ev, &s, now);
    if (!s.c)
        return 0;
    size_t pieces = 0;
    for (size_t off = 0; off < size; off += step, pieces++) {
        size_t n = size - off < step ? size - off : step;
        size_t room = Ccai_h1_read_room(s.c);
        if (n > room)
            n = room; /* the rest is what a socket would hold back */
        if (Ccai_h1_get_state(s.c) == CCAI_H1_CLOSED)
            break;
        Ccai_h1_input(s.c, (const char *)data + off, n, now);
        if ((flags & F_ANSWER_AT_ONCE) || pieces % 3 == 2)
            answer(&s, now, (unsigned)(off + pieces));
        take_output(&s, now, flags & F_SLOW_READER);
        if ((flags & F_DRAIN) && off <= size / 2 && off + step > size / 2)
            Ccai_h1_drain(s.c, now);
        if (flags & F_CLOCK_JUMPS) {
            now += 700;
            if (now >= Ccai_h1_deadline(s.c))
                Ccai_h1_timeout(s.c, now);
        }
        Ccai_h1_process(s.c, now);
        take_output(&s, now, flags & F_SLOW_READER);
    }
    if (flags & F_EOF)
        Ccai_h1_eof(s.c, now);
    for (int i = 0; i < 50 && Ccai_h1_get_state(s.c) != CCAI_H1_CLOSED; i++) {
        answer(&s, now, (unsigned)i);
        Ccai_h1_process(s.c, now);
        take_output(&s, now, 0);
        uint64_t d = Ccai_h1_deadline(s.c);
        if (d == UINT64_MAX)
            break;
        now = d > now ? d : now + 1;
        Ccai_h1_timeout(s.c, now);
        take_output(&s, now, 0);
    }
    if (Ccai_h1_get_state(s.c) == CCAI_H1_CLOSED) {
        size_t len;
        if (Ccai_h1_output(s.c, &len) != NULL)
            abort(); /* closed means nothing more to send */
    }
    if (s.responses != s.answers)
        abort();
    Ccai_h1_free(s.c);
    return 0;
}
