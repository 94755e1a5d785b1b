/* Fault queue and faulty streaming for the speech stand-ins: see speech_fault.h. */
#include "support/speech_fault.h"

#include <stdlib.h>
#include <string.h>

void sf_push(speech_faults *q, const speech_fault *f)
{
    if (q->head && q->head == q->n)
        q->head = q->n = 0;
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 8;
        speech_fault *v = realloc(q->v, cap * sizeof *v);
        if (!v)
            return;
        q->v = v;
        q->cap = cap;
    }
    q->v[q->n] = *f;
    q->v[q->n].close_reason = f->close_reason ? strdup(f->close_reason) : NULL;
    q->n++;
}

int sf_pop(speech_faults *q, speech_fault *out)
{
    memset(out, 0, sizeof *out);
    if (q->head >= q->n)
        return 0;
    *out = q->v[q->head++];
    return 1;
}

int sf_pending(const speech_faults *q)
{
    return (int)(q->n - q->head);
}

void sf_clear(speech_fault *f)
{
    free((char *)f->close_reason);
    memset(f, 0, sizeof *f);
}

void sf_free(speech_faults *q)
{
    for (size_t i = q->head; i < q->n; i++)
        free((char *)q->v[i].close_reason);
    free(q->v);
    memset(q, 0, sizeof *q);
}

uint64_t sf_start(const speech_fault *f, int ttfb_ms)
{
    uint64_t t = svc_now_ms() + (uint64_t)(ttfb_ms > 0 ? ttfb_ms : 0);
    if (f && f->delay_ms > 0)
        t += (uint64_t)f->delay_ms;
    return t;
}

static const uint8_t junk[] = "zz-not-a-chunk-size\r\n\x01\x02\x03";

void sf_stream_chunks(svc_conn *c, const speech_fault *f, uint64_t t0, const uint8_t *data,
                      size_t len, size_t chunk, int interval_ms)
{
    if (!chunk)
        chunk = 4096;
    uint64_t stall = 0;
    size_t k = 0;
    for (size_t off = 0; off < len; off += chunk, k++) {
        uint64_t at = t0 + (uint64_t)interval_ms * k + stall;
        size_t n = len - off < chunk ? len - off : chunk;
        if (f && (int)k == f->after) {
            if (f->cut) {
                svc_close(c, at);
                return;
            }
            if (f->garbage) {
                svc_write_raw(c, at, junk, sizeof junk - 1);
                svc_close(c, at + 20);
                return;
            }
            if (f->stall_ms) {
                stall = (uint64_t)f->stall_ms;
                at += stall;
            }
        }
        svc_chunk(c, at, data + off, n);
    }
    svc_chunk_end(c, t0 + (uint64_t)interval_ms * (k ? k - 1 : 0) + stall);
}

int sf_ws_text(svc_conn *c, const speech_fault *f, int k, uint64_t at, const char *text,
               int *stalled)
{
    if (svc_ws_closing(c))
        return -1;
    size_t len = strlen(text);
    if (f && k >= f->after) {
        if (f->stall_ms && k == f->after)
            *stalled = 1;
        if (*stalled)
            at += (uint64_t)f->stall_ms;
        if (k == f->after) {
            if (f->cut) {
                svc_close(c, at);
                return -1;
            }
            if (f->garbage) {
                static const uint8_t bad[] = {0xff, 0xff, 0xff, 0xff, 0x13, 0x37, 0x00, 0x42};
                svc_write_raw(c, at, bad, sizeof bad);
                svc_close(c, at + 50);
                return -1;
            }
            if (f->close_code) {
                svc_ws_close(c, at, f->close_code, f->close_reason ? f->close_reason : "");
                return -1;
            }
            if (f->malformed)
                len /= 2;
        }
    }
    svc_ws_send(c, at, WS_TEXT, text, len);
    svc_note_sent(c, text, len);
    return 0;
}
