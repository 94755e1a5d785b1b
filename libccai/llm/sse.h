/* Server-sent events: a sans-I/O parser (bytes in, events out).
 * Follows the WHATWG event-stream rules: lines end in CRLF, LF or CR (also
 * across chunk boundaries), "data:" lines join with "\n", ":" starts a
 * comment, a blank line dispatches. A non-standard "error:" line (sent by
 * some OpenAI-compatible servers) is reported as an event named "error". */
#ifndef CCAI_LLM_SSE_H
#define CCAI_LLM_SSE_H

#include "core/common.h"

/* Return non-zero to stop parsing (Ccai_sse_feed then returns CANCELLED). */
typedef int (*Ccai_sse_event_fn)(const char *event, const char *data, size_t data_len, void *ud);

typedef struct Ccai_sse {
    Ccai_buf line;  /* the line being read */
    Ccai_buf data;  /* data of the event being built */
    Ccai_buf event; /* its event name */
    bool has_data;
    bool last_cr;     /* the previous chunk ended in CR */
    size_t max_event; /* bytes per line and per event */
} Ccai_sse;

void Ccai_sse_init(Ccai_sse *p, size_t max_event_bytes);
/* CCAI_OK; CCAI_ERR_LIMIT (a line or an event exceeds the limit);
 * CCAI_ERR_NOMEM; CCAI_ERR_CANCELLED (the callback asked to stop). */
CCAI_MUST_CHECK ccai_status Ccai_sse_feed(Ccai_sse *p, const char *buf, size_t len,
                                          Ccai_sse_event_fn fn, void *ud);
/* End of stream: a pending event without its blank line is dispatched (as
 * browsers do not, but servers that close right after data mean it). */
CCAI_MUST_CHECK ccai_status Ccai_sse_finish(Ccai_sse *p, Ccai_sse_event_fn fn, void *ud);
void Ccai_sse_free(Ccai_sse *p);

#endif
