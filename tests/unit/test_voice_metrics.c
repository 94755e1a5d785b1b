/* The voice layer's Prometheus histograms after a real audio call, read
 * the way a host reads them: GET /metrics through ccai_ctx_http() (what
 * ccai-server serves; it has no audio channel yet). The call is offline
 * (espeak-ng's caller, pocketsphinx, the offline dialogue, flite) on an
 * injected clock, with a host that plays the bot's audio in real time and
 * reports marks as Twilio does; the caller talks over the greeting, so
 * every histogram gets a sample: the cut-off, the recogniser's
 * finalisation, the answer and the synthesiser's first byte, each labelled
 * with its provider. The same call traced: its "stt" span per utterance
 * and "tts" span per sentence, with their attributes, as the OTLP/JSON body the exporter sends
 * (encoded from the tracer's queue: this host's loop has no sockets). Skipped without
 * pocketsphinx's model or espeak-ng. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/trace.h"
#include "io/io.h"
#include "media/codec.h"
#include "speech/sphinx.h"
#include "support/api_http.h"
#include "support/voice.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FRAME 160 /* 20 ms of 8 kHz mu-law */

typedef struct host {
    uint64_t now;
    int64_t due;
    ccai_call *call;
    size_t q_len, q_played; /* bytes given, played */
    char marks[64][32];
    size_t mark_at[64], n_marks;
    int clears;
} host;

static int h_timer(void *ud, int64_t ms)
{
    host *h = ud;
    h->due = ms < 0 ? -1 : (int64_t)h->now + ms;
    return 0;
}

static uint64_t h_now(void *ud)
{
    return ((host *)ud)->now;
}

static int op_play(ccai_call *c, const ccai_audio_frame *f, void *ud)
{
    (void)c;
    ((host *)ud)->q_len += f->len;
    return 0;
}

static int op_clear(ccai_call *c, void *ud)
{
    (void)c;
    host *h = ud;
    h->clears++;
    h->q_len = h->q_played = 0;
    h->n_marks = 0;
    return 0;
}

static int op_mark(ccai_call *c, const char *name, void *ud)
{
    (void)c;
    host *h = ud;
    assert_true(h->n_marks < 64);
    snprintf(h->marks[h->n_marks], sizeof h->marks[0], "%s", name);
    h->mark_at[h->n_marks++] = h->q_len;
    return 0;
}

static int op_hangup(ccai_call *c, void *ud)
{
    (void)c;
    (void)ud;
    return 0;
}

static const ccai_call_ops ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .hangup = op_hangup,
    .play_audio = op_play,
    .clear_audio = op_clear,
    .mark = op_mark,
};

typedef struct env {
    host h;
    ccai_config *cfg;
    ccai_ctx *ctx;
} env;

static void run_due(env *e)
{
    for (int i = 0; i < 100000 && e->h.due >= 0 && (uint64_t)e->h.due <= e->h.now; i++)
        ccai_ctx_timeout(e->ctx);
}

/* 20 ms of the line: 20 ms of the queue plays (marks reached come back),
 * the caller's frame (or silence) goes in. */
static void tick(env *e, const uint8_t *src)
{
    host *h = &e->h;
    h->q_played = h->q_played + FRAME < h->q_len ? h->q_played + FRAME : h->q_len;
    size_t k = 0;
    for (size_t i = 0; i < h->n_marks; i++) {
        if (h->mark_at[i] <= h->q_played)
            assert_int_equal(ccai_call_audio_marked(h->call, h->marks[i]), CCAI_OK);
        else {
            memmove(h->marks[k], h->marks[i], sizeof h->marks[0]);
            h->mark_at[k++] = h->mark_at[i];
        }
    }
    h->n_marks = k;
    uint8_t silence[FRAME];
    memset(silence, CCAI_ULAW_SILENCE, sizeof silence);
    assert_int_equal(ccai_call_audio_in(h->call, src ? src : silence, FRAME), CCAI_OK);
    h->now += 20;
    run_due(e);
}

/* The count of a histogram series in the exposition ("name_count{labels} N"),
 * -1 when absent. */
static long series_count(const char *body, const char *name, const char *labels)
{
    char key[256];
    snprintf(key, sizeof key, "%s_count{%s} ", name, labels);
    const char *p = strstr(body, key);
    return p ? strtol(p + strlen(key), NULL, 10) : -1;
}

static double series_sum(const char *body, const char *name, const char *labels)
{
    char key[256];
    snprintf(key, sizeof key, "%s_sum{%s} ", name, labels);
    const char *p = strstr(body, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

/* The value of a span's attribute (OTLP/JSON: int values are strings). */
static const char *span_attr(const json_t *sp, const char *key)
{
    size_t i;
    json_t *kv;
    json_array_foreach(json_object_get(sp, "attributes"), i, kv)
    {
        if (strcmp(json_string_value(json_object_get(kv, "key")), key) != 0)
            continue;
        const json_t *v = json_object_get(kv, "value");
        const json_t *s = json_object_get(v, "stringValue");
        return json_string_value(s ? s : json_object_get(v, "intValue"));
    }
    return NULL;
}

static void check_spans(ccai_ctx *ctx)
{
    size_t n = 0;
    char *body = Ccai_tracer_encode(Ccai_ctx_tracer(ctx), 100000, &n);
    assert_non_null(body);
    json_t *doc = json_loads(body, 0, NULL);
    ccai_free(body);
    assert_non_null(doc);
    const json_t *spans = json_object_get(
        json_array_get(
            json_object_get(json_array_get(json_object_get(doc, "resourceSpans"), 0), "scopeSpans"),
            0),
        "spans");
    const char *root = NULL;
    size_t i;
    json_t *sp;
    json_array_foreach(spans, i, sp)
    {
        if (!strcmp(json_string_value(json_object_get(sp, "name")), "call"))
            root = json_string_value(json_object_get(sp, "spanId"));
    }
    assert_non_null(root);
    int stt_final = 0, tts_done = 0, tts_cut = 0;
    json_array_foreach(spans, i, sp)
    {
        const char *name = json_string_value(json_object_get(sp, "name"));
        if (strcmp(name, "stt") && strcmp(name, "tts"))
            continue;
        assert_string_equal(json_string_value(json_object_get(sp, "parentSpanId")), root);
        assert_int_equal(json_integer_value(json_object_get(sp, "kind")), 3);
        if (!strcmp(name, "stt")) {
            fprintf(stderr, "# stt: provider %s, %s ms of audio, %s partials, %s finals: %s\n",
                    span_attr(sp, "stt.provider"), span_attr(sp, "stt.audio_ms"),
                    span_attr(sp, "stt.partials"), span_attr(sp, "stt.finals"),
                    span_attr(sp, "stt.outcome"));
            assert_string_equal(span_attr(sp, "stt.provider"), "sphinx");
            assert_non_null(span_attr(sp, "stt.partials"));
            if (!strcmp(span_attr(sp, "stt.outcome"), "final")) {
                stt_final++;
                assert_string_equal(span_attr(sp, "stt.finals"), "1");
                assert_true(atoi(span_attr(sp, "stt.audio_ms")) >= 1000); /* 4 words */
            }
            continue;
        }
        fprintf(stderr, "# tts: provider %s, %s chars, first audio %s ms, %s ms of audio: %s\n",
                span_attr(sp, "tts.provider"), span_attr(sp, "tts.chars"),
                span_attr(sp, "tts.first_audio_ms"), span_attr(sp, "tts.audio_ms"),
                span_attr(sp, "tts.outcome"));
        assert_string_equal(span_attr(sp, "tts.provider"), "flite");
        assert_true(atoi(span_attr(sp, "tts.chars")) > 0);
        assert_non_null(span_attr(sp, "tts.first_audio_ms"));
        tts_done += !strcmp(span_attr(sp, "tts.outcome"), "done");
        tts_cut += !strcmp(span_attr(sp, "tts.outcome"), "cut");
    }
    assert_int_equal(stt_final, 1);
    /* The greeting (synthesised whole before the caller talked over its
     * playout: flite is faster than real time) and the answer. */
    assert_true(tts_done >= 2);
    assert_int_equal(tts_cut, 0);
    json_decref(doc);
}

static void test_voice_metrics(void **state)
{
    (void)state;
    if (access(CCAI_SPHINX_MODEL_DIR "/en-us/mdef", R_OK) != 0 ||
        !voice_available(CCAI_SYNTH_FLITE) || !voice_available(CCAI_SYNTH_ESPEAK))
        skip();
    env e;
    memset(&e, 0, sizeof e);
    e.h.now = 1000000;
    e.h.due = -1;
    assert_int_equal(ccai_config_new(&e.cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e.cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(e.cfg, "server.api_token", "t"), CCAI_OK);
    /* Traced; nothing is exported while the test runs (the spans are
     * read from the queue at the end). */
    assert_int_equal(ccai_config_set(e.cfg, "tracing.otlp_endpoint", "http://127.0.0.1:9/"),
                     CCAI_OK);
    assert_int_equal(ccai_config_set(e.cfg, "tracing.export_interval_ms", "600000"), CCAI_OK);
    assert_int_equal(ccai_config_set(e.cfg, "tracing.batch_size", "10000"), CCAI_OK);
    ccai_loop_hooks hooks = null_loop_hooks();
    hooks.set_timer = h_timer;
    assert_int_equal(ccai_ctx_new(e.cfg, &hooks, &e.h, &e.ctx, NULL), CCAI_OK);
    Ccai_ctx_set_clock(e.ctx, h_now, &e.h);

    /* Before any audio call: the families are declared, without series. */
    static const char *const auth[] = {"Authorization", "Bearer t", NULL};
    api_answer *a = malloc(sizeof *a);
    assert_non_null(a);
    *a = api_request(e.ctx, "GET", "/metrics", NULL, auth, "127.0.0.1", NULL);
    assert_int_equal(a->status, 200);
    assert_non_null(strstr(a->body, "# TYPE ccai_voice_cutoff_seconds histogram"));
    assert_int_equal(series_count(a->body, "ccai_voice_cutoff_seconds", "provider=\"flite\""), -1);

    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+14155550100",
        .initiate_json = "{\"lang\":{\"default_short_code\":\"en-US\"}}",
        .audio_in = {CCAI_AUDIO_ULAW, 8000, 1},
    };
    assert_int_equal(ccai_call_start(e.ctx, &p, &ops, &e.h, &e.h.call), CCAI_OK);
    assert_int_equal(ccai_call_notify(e.h.call, CCAI_EVENT_CONNECTED, NULL), CCAI_OK);
    run_due(&e);
    for (int i = 0; i < 60; i++) /* 1.2 s of the greeting plays */
        tick(&e, NULL);
    /* The caller talks over it. */
    const Ccai_media_format ulaw8 = {CCAI_MEDIA_ULAW, 8000, 1};
    voice_audio said;
    assert_true(voice_render(CCAI_SYNTH_ESPEAK, "en-us", 0.9, "stop please i want an agent", &ulaw8,
                             100, 0, &said));
    for (size_t off = 0; off + FRAME <= said.len; off += FRAME)
        tick(&e, said.data + off);
    voice_audio_free(&said);
    assert_int_equal(e.h.clears, 1);
    /* The turn ends, the bot answers and its answer plays out. */
    for (int i = 0; i < 1500 && !(i > 100 && e.h.q_played >= e.h.q_len && e.h.due < 0); i++)
        tick(&e, NULL);

    *a = api_request(e.ctx, "GET", "/metrics", NULL, auth, "127.0.0.1", NULL);
    assert_int_equal(a->status, 200);
    const char *body = a->body;
    static const struct {
        const char *name, *labels;
    } want[] = {
        {"ccai_voice_cutoff_seconds", "provider=\"flite\""},
        {"ccai_voice_stt_final_seconds", "provider=\"sphinx\""},
        {"ccai_voice_answer_seconds", "provider=\"flite\""},
        {"ccai_voice_tts_first_byte_seconds", "provider=\"flite\""},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char type[128];
        snprintf(type, sizeof type, "# TYPE %s histogram", want[i].name);
        assert_non_null(strstr(body, type));
        long n = series_count(body, want[i].name, want[i].labels);
        fprintf(stderr, "# %s{%s}: count %ld, sum %.3f s\n", want[i].name, want[i].labels, n,
                series_sum(body, want[i].name, want[i].labels));
        assert_true(n >= 1);
        char bucket[192];
        snprintf(bucket, sizeof bucket, "%s_bucket{%s,le=\"+Inf\"} %ld", want[i].name,
                 want[i].labels, n);
        assert_non_null(strstr(body, bucket));
    }
    /* One barge-in: its cut-off is the VAD's window (250 ms) and a little
     * more, the gate of the loud greeting included (docs/media.md). */
    assert_int_equal(series_count(body, "ccai_voice_cutoff_seconds", "provider=\"flite\""), 1);
    double cut = series_sum(body, "ccai_voice_cutoff_seconds", "provider=\"flite\"");
    assert_true(cut >= 0.2 && cut <= 1.0);
    /* The answer comes after the recogniser's final words. */
    double stt = series_sum(body, "ccai_voice_stt_final_seconds", "provider=\"sphinx\"") /
                 (double)series_count(body, "ccai_voice_stt_final_seconds", "provider=\"sphinx\"");
    double answer = series_sum(body, "ccai_voice_answer_seconds", "provider=\"flite\"") /
                    (double)series_count(body, "ccai_voice_answer_seconds", "provider=\"flite\"");
    assert_true(answer >= stt);
    free(a);
    ccai_call_free(e.h.call);
    check_spans(e.ctx);
    ccai_ctx_free(e.ctx);
    ccai_config_free(e.cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_voice_metrics)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
