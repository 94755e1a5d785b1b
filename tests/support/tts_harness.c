/* See tts_harness.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/tts_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t th_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

th_sentence *th_get(th *h, uint32_t id)
{
    for (size_t i = 0; i < h->n; i++) {
        if (h->s[i].id == id)
            return &h->s[i];
    }
    return NULL;
}

static void on_audio(Ccai_tts *t, uint32_t id, const uint8_t *audio, size_t len, void *ud)
{
    th *h = ud;
    assert_ptr_equal(t, h->t);
    assert_false(h->closed);
    h->callbacks++;
    th_sentence *s = th_get(h, id);
    if (!s) {
        fail_msg("audio for an unknown id %u", (unsigned)id);
        return;
    }
    if (s->dones)
        s->audio_after_done++;
    if (!s->chunks) {
        s->first_at = th_now();
        s->in_flight_first = Ccai_http_in_flight(h->ctx);
    }
    s->chunks++;
    if (len % Ccai_media_block_bytes(&t->out))
        s->odd_chunks++;
    uint8_t *p = realloc(s->audio, s->len + len);
    assert_non_null(p);
    memcpy(p + s->len, audio, len);
    s->audio = p;
    s->len += len;
    if (h->cancel_id == id && !h->cancelled && s->len >= h->cancel_at) {
        h->cancelled = true;
        Ccai_tts_cancel(t);
    }
}

static void on_done(Ccai_tts *t, const Ccai_tts_done *d, void *ud)
{
    th *h = ud;
    assert_ptr_equal(t, h->t);
    assert_false(h->closed);
    h->callbacks++;
    th_sentence *s = th_get(h, d->id);
    if (!s) {
        fail_msg("done for an unknown id %u", (unsigned)d->id);
        return;
    }
    s->dones++;
    s->done_at = th_now();
    s->st = d->status;
    s->fatal = d->fatal;
    s->audio_ms = d->audio_ms;
    s->first_byte_ms = d->first_byte_ms;
    snprintf(s->err, sizeof s->err, "%s", d->errmsg ? d->errmsg : "");
    if (d->status != CCAI_OK)
        assert_non_null(d->errmsg);
    assert_true(h->n_done < TH_MAX);
    h->done_order[h->n_done++] = d->id;
    if (h->close_in_done && !h->closed) {
        h->closed = true;
        Ccai_tts_close(t);
    }
}

void th_init(th *h)
{
    memset(h, 0, sizeof *h);
    assert_int_equal(ccai_config_new(&h->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(h->cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_poll_new(h->cfg, &h->poll, &h->ctx, NULL), CCAI_OK);
}

void th_setup(th *h, Ccai_tts_config *cfg, char *ep, size_t n, int port, const char *path,
              const char *key)
{
    snprintf(ep, n, "http://127.0.0.1:%d%s", port, path);
    *cfg = (Ccai_tts_config){
        .endpoint = ep,
        .api_key = key,
        .first_byte_timeout_ms = 3000,
    };
    th_init(h);
}

void th_check_audio(const th_sentence *s, const char *text, int rate, double speed, sa_enc enc)
{
    size_t n = 0, len = 0;
    int16_t *pcm = sa_synth(text, rate, speed, &n, NULL, NULL);
    assert_non_null(pcm);
    uint8_t *want = sa_encode(enc, pcm, n, &len);
    free(pcm);
    assert_non_null(want);
    assert_int_equal(s->st, CCAI_OK);
    assert_int_equal(s->dones, 1);
    assert_int_equal(s->len, len);
    assert_memory_equal(s->audio, want, len);
    assert_int_equal(s->odd_chunks, 0);
    size_t per_ms = (size_t)rate / 1000u * (enc == SA_PCM16 ? 2u : 1u);
    assert_int_equal(s->audio_ms, len / per_ms);
    free(want);
}

ccai_status th_open(th *h, const Ccai_tts_provider *p, const Ccai_tts_config *cfg,
                    Ccai_media_format call_out)
{
    Ccai_tts_open o = {
        .lang = "en-US",
        .call_out = call_out,
        .log = Ccai_ctx_logger(h->ctx),
        .audio = on_audio,
        .done = on_done,
        .ud = h,
    };
    return p->open(h->ctx, cfg, &o, &h->t);
}

ccai_status th_say_text(th *h, const Ccai_tts_text *text, uint32_t *ret_id)
{
    uint64_t at = th_now();
    ccai_status st = Ccai_tts_say(h->t, text, ret_id);
    if (st == CCAI_OK) {
        assert_true(h->n < TH_MAX);
        h->s[h->n].id = *ret_id;
        h->s[h->n].said_at = at;
        h->n++;
    }
    return st;
}

uint32_t th_say(th *h, const char *text)
{
    Ccai_tts_text t = {.text = text, .lang = "en-US", .rate = 1.0};
    uint32_t id = 0;
    assert_int_equal(th_say_text(h, &t, &id), CCAI_OK);
    return id;
}

void th_run_dones(th *h, size_t n, int max_ms)
{
    uint64_t end = th_now() + (uint64_t)max_ms;
    while (h->n_done < n) {
        if (th_now() >= end)
            fail_msg("%zu of %zu dones after %d ms", h->n_done, n, max_ms);
        ccai_poll_run_once(h->poll, 20);
    }
}

void th_run_for(th *h, int ms)
{
    uint64_t end = th_now() + (uint64_t)ms;
    while (th_now() < end)
        ccai_poll_run_once(h->poll, 20);
}

void th_free(th *h)
{
    if (!h->closed)
        Ccai_tts_close(h->t);
    for (size_t i = 0; i < h->n; i++)
        free(h->s[i].audio);
    ccai_poll_free(h->poll);
    ccai_config_free(h->cfg);
}
