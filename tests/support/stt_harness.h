/* What the cloud STT provider tests share (tests/unit/test_stt_*.c): a
 * context on the poll adapter (the real loop), a stream's results recorded,
 * speech-like audio made at test time (standin_audio.h sa_synth, which the
 * stand-ins' energy detectors hear), and a loop runner that never hangs.
 * Header-only test code; include after <cmocka.h>. */
#ifndef CCAI_TEST_STT_HARNESS_H
#define CCAI_TEST_STT_HARNESS_H

#include <ccai/adapters/poll.h>

#include "stt/cloud.h"
#include "support/standin_audio.h"
#include "support/svc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SH_MAX 64

typedef struct sh_result {
    Ccai_stt_event event;
    char text[512];
    double confidence;
    char lang[32];
    bool from_end;
    ccai_status status;
    bool fatal;
    char errmsg[512];
} sh_result;

typedef struct sh_env {
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    Ccai_stt *s;
    sh_result r[SH_MAX];
    int n;
    bool close_on_fatal; /* close the stream from inside the callback */
} sh_env;

static inline void sh_on_result(Ccai_stt *s, const Ccai_stt_result *r, void *ud)
{
    sh_env *e = ud;
    assert_ptr_equal(s, e->s);
    if (e->n < SH_MAX) {
        sh_result *x = &e->r[e->n];
        x->event = r->event;
        snprintf(x->text, sizeof x->text, "%s", r->text ? r->text : "");
        x->confidence = r->confidence;
        snprintf(x->lang, sizeof x->lang, "%s", r->lang ? r->lang : "");
        x->from_end = r->from_end;
        x->status = r->status;
        x->fatal = r->fatal;
        snprintf(x->errmsg, sizeof x->errmsg, "%s", r->errmsg ? r->errmsg : "");
    }
    e->n++;
    if (r->event == CCAI_STT_ERROR && r->fatal && e->close_on_fatal) {
        Ccai_stt_close(e->s);
        e->s = NULL;
    }
}

static inline void sh_init(sh_env *e)
{
    memset(e, 0, sizeof *e);
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
}

static inline void sh_free(sh_env *e)
{
    Ccai_stt_close(e->s);
    e->s = NULL;
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
}

static inline ccai_status sh_open(sh_env *e, const char *provider, const Ccai_stt_config *cfg,
                                  Ccai_media_format call_in)
{
    const Ccai_stt_provider *p = Ccai_stt_provider_find(provider);
    assert_non_null(p);
    Ccai_stt_open o = {
        .lang = "en-US",
        .call_in = call_in,
        .log = NULL,
        .fn = sh_on_result,
        .ud = e,
    };
    return p->open(e->ctx, cfg, &o, &e->s);
}

/* Index of the first result of kind ev at or after from, or -1. */
static inline int sh_find(const sh_env *e, Ccai_stt_event ev, int from)
{
    for (int i = from; i < e->n && i < SH_MAX; i++) {
        if (e->r[i].event == ev)
            return i;
    }
    return -1;
}

static inline int sh_count(const sh_env *e, Ccai_stt_event ev)
{
    int c = 0;
    for (int i = 0; i < e->n && i < SH_MAX; i++)
        c += e->r[i].event == ev;
    return c;
}

/* Run the loop until n results of kind ev (any kind: 0) arrived, or
 * timeout_ms passed; returns whether they did. */
static inline bool sh_wait(sh_env *e, Ccai_stt_event ev, int n, int timeout_ms)
{
    uint64_t deadline = ccai_time_ms() + (uint64_t)timeout_ms;
    for (;;) {
        int have = ev ? sh_count(e, ev) : e->n;
        if (have >= n)
            return true;
        if (ccai_time_ms() >= deadline)
            return false;
        assert_int_equal(ccai_poll_run_once(e->poll, 20), 0);
    }
}

/* Run the loop for ms (results may arrive meanwhile). */
static inline void sh_run(sh_env *e, int ms)
{
    uint64_t deadline = ccai_time_ms() + (uint64_t)ms;
    while (ccai_time_ms() < deadline)
        assert_int_equal(ccai_poll_run_once(e->poll, 10), 0);
}

/* Speech-like audio for text followed by silence_ms of silence, in the
 * stream's format (Ccai_stt.in); malloc'd. */
static inline uint8_t *sh_speech(const Ccai_media_format *f, const char *text, int silence_ms,
                                 size_t *len)
{
    size_t n = 0;
    int16_t *pcm = text && *text ? sa_synth(text, (int)f->rate, 1.0, &n, NULL, NULL) : NULL;
    size_t total = n + (size_t)silence_ms * f->rate / 1000;
    int16_t *all = calloc(total ? total : 1, sizeof *all);
    assert_non_null(all);
    if (pcm && n)
        memcpy(all, pcm, n * sizeof *pcm);
    free(pcm);
    sa_enc enc = f->encoding == CCAI_MEDIA_ULAW   ? SA_ULAW
                 : f->encoding == CCAI_MEDIA_ALAW ? SA_ALAW
                                                  : SA_PCM16;
    uint8_t *out = sa_encode(enc, all, total, len);
    free(all);
    assert_non_null(out);
    return out;
}

/* Feed audio in 20 ms frames, running the loop between them (no pacing:
 * the stand-ins time their answers by audio, not by the clock). */
static inline void sh_feed(sh_env *e, const uint8_t *audio, size_t len)
{
    size_t frame = Ccai_media_bytes_per_ms(&e->s->in, 20);
    for (size_t off = 0; off < len && e->s; off += frame) {
        size_t n = len - off < frame ? len - off : frame;
        assert_int_equal(Ccai_stt_feed(e->s, audio + off, n), CCAI_OK);
        assert_int_equal(ccai_poll_run_once(e->poll, 0), 0);
    }
}

static inline void sh_say(sh_env *e, const char *text, int silence_ms)
{
    size_t len = 0;
    uint8_t *a = sh_speech(&e->s->in, text, silence_ms, &len);
    sh_feed(e, a, len);
    free(a);
}

/* cfg for a stand-in at scheme://127.0.0.1:port (that text in ep, n
 * bytes), with key, a 2 s connect timeout and result_ms for results. */
static inline void sh_config(Ccai_stt_config *cfg, char *ep, size_t n, const char *scheme, int port,
                             const char *key, uint32_t result_ms)
{
    snprintf(ep, n, "%s://127.0.0.1:%d", scheme, port);
    *cfg = (Ccai_stt_config){
        .endpoint = ep,
        .api_key = key,
        .connect_timeout_ms = 2000,
        .result_timeout_ms = result_ms,
    };
}

/* The first ERROR comes (within 8 s) with st, fatal and part in its text. */
static inline void sh_expect_error(sh_env *e, ccai_status st, bool fatal, const char *part)
{
    assert_true(sh_wait(e, CCAI_STT_ERROR, 1, 8000));
    const sh_result *r = &e->r[sh_find(e, CCAI_STT_ERROR, 0)];
    if (r->status != st || r->fatal != fatal || !strstr(r->errmsg, part))
        fail_msg("got %s fatal=%d \"%s\", expected %s fatal=%d \"%s\"", ccai_status_str(r->status),
                 r->fatal, r->errmsg, ccai_status_str(st), fatal, part);
}

/* The text messages the client sent on the stand-in's WebSocket
 * connection conn, each followed by '\n' (free() it). */
static inline char *sh_ws_texts(svc *sv, int conn)
{
    size_t cap = 1 << 20, len = 0;
    char *all = calloc(1, cap);
    assert_non_null(all);
    for (int k = 0; k < svc_ws_count(sv, conn); k++) {
        char *data = NULL;
        size_t n = 0;
        if (svc_ws_message(sv, conn, k, &data, &n) == WS_TEXT && len + n + 2 < cap) {
            memcpy(all + len, data, n);
            len += n;
            all[len++] = '\n';
        }
        free(data);
    }
    return all;
}

#endif
