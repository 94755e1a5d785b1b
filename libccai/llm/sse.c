/* Server-sent events parser. */
#include "llm/sse.h"

#include <string.h>

void Ccai_sse_init(Ccai_sse *p, size_t max_event_bytes)
{
    memset(p, 0, sizeof *p);
    p->max_event = max_event_bytes ? max_event_bytes : 1024u * 1024u;
}

void Ccai_sse_free(Ccai_sse *p)
{
    Ccai_buf_free(&p->line);
    Ccai_buf_free(&p->data);
    Ccai_buf_free(&p->event);
}

static CCAI_MUST_CHECK ccai_status dispatch(Ccai_sse *p, Ccai_sse_event_fn fn, void *ud)
{
    bool had = p->has_data;
    p->has_data = false;
    if (!had) {
        Ccai_buf_reset(&p->event);
        return CCAI_OK;
    }
    const char *name = p->event.len ? p->event.data : "message";
    int stop = fn(name, p->data.data ? p->data.data : "", p->data.len, ud);
    Ccai_buf_reset(&p->data);
    Ccai_buf_reset(&p->event);
    return stop ? CCAI_ERR_CANCELLED : CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status add_data(Ccai_sse *p, const char *v, size_t n)
{
    if (p->has_data && !Ccai_buf_append(&p->data, "\n", 1))
        return CCAI_ERR_NOMEM;
    if (p->data.len + n > p->max_event)
        return CCAI_ERR_LIMIT;
    if (!Ccai_buf_append(&p->data, v, n))
        return CCAI_ERR_NOMEM;
    p->has_data = true;
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status process_line(Ccai_sse *p, const char *l, size_t n,
                                                Ccai_sse_event_fn fn, void *ud)
{
    if (n == 0)
        return dispatch(p, fn, ud);
    if (l[0] == ':')
        return CCAI_OK; /* comment, keep-alive */
    const char *colon = memchr(l, ':', n);
    size_t flen = colon ? (size_t)(colon - l) : n;
    const char *v = colon ? colon + 1 : l + n;
    size_t vlen = n - (size_t)(v - l);
    if (vlen && *v == ' ') {
        v++;
        vlen--;
    }
    if (flen == 4 && memcmp(l, "data", 4) == 0)
        return add_data(p, v, vlen);
    if (flen == 5 && memcmp(l, "event", 5) == 0) {
        Ccai_buf_reset(&p->event);
        return Ccai_buf_append(&p->event, v, vlen) ? CCAI_OK : CCAI_ERR_NOMEM;
    }
    if (flen == 5 && memcmp(l, "error", 5) == 0) {
        /* "error: {...}" stands alone: report it as its own event. */
        Ccai_buf_reset(&p->event);
        if (!Ccai_buf_puts(&p->event, "error"))
            return CCAI_ERR_NOMEM;
        Ccai_buf_reset(&p->data);
        p->has_data = false;
        ccai_status st = add_data(p, v, vlen);
        return st == CCAI_OK ? dispatch(p, fn, ud) : st;
    }
    return CCAI_OK; /* id, retry and unknown fields: nothing for us */
}

ccai_status Ccai_sse_feed(Ccai_sse *p, const char *buf, size_t len, Ccai_sse_event_fn fn, void *ud)
{
    size_t i = 0;
    if (p->last_cr && len && buf[0] == '\n')
        i = 1; /* the LF of a CRLF split across chunks */
    p->last_cr = false;
    while (i < len) {
        const char *start = buf + i;
        size_t rest = len - i, k;
        /* The line ends at the first LF or CR (memchr: lines are long). */
        const char *lf = memchr(start, '\n', rest);
        k = lf ? (size_t)(lf - start) : rest;
        const char *cr = memchr(start, '\r', k);
        if (cr)
            k = (size_t)(cr - start);
        if (p->line.len + k > p->max_event)
            return CCAI_ERR_LIMIT;
        if (k == rest) { /* no terminator yet: keep the partial line */
            return Ccai_buf_append(&p->line, start, k) ? CCAI_OK : CCAI_ERR_NOMEM;
        }
        ccai_status st;
        if (p->line.len) {
            if (!Ccai_buf_append(&p->line, start, k))
                return CCAI_ERR_NOMEM;
            st = process_line(p, p->line.data, p->line.len, fn, ud);
            Ccai_buf_reset(&p->line);
        } else {
            st = process_line(p, start, k, fn, ud);
        }
        i += k + 1;
        if (start[k] == '\r') {
            if (i < len && buf[i] == '\n')
                i++;
            else if (i == len)
                p->last_cr = true;
        }
        if (st != CCAI_OK)
            return st;
    }
    return CCAI_OK;
}

ccai_status Ccai_sse_finish(Ccai_sse *p, Ccai_sse_event_fn fn, void *ud)
{
    ccai_status st = CCAI_OK;
    if (p->line.len) {
        st = process_line(p, p->line.data, p->line.len, fn, ud);
        Ccai_buf_reset(&p->line);
    }
    if (st == CCAI_OK)
        st = dispatch(p, fn, ud);
    return st;
}
