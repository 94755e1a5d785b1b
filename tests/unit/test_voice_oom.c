/* Out-of-memory injection into an audio call (libccai/voice/): every
 * allocation of a short call fails in turn (the context, the call and its
 * session, the greeting spoken and paced, the caller's turn recognised and
 * answered, the hang-up): each run ends in CCAI_OK or CCAI_ERR_NOMEM, with
 * nothing leaked and nothing crashed. The recogniser and the synthesiser
 * are stand-ins on the loop (the offline ones allocate outside libccai's
 * allocator and cost seconds per run): the recogniser answers each end()
 * with a FINAL from a 0 ms timer, the synthesiser speaks 300 ms of a tone
 * per sentence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "engine/engine.h"
#include "io/io.h"
#include "support/oom.h"
#include "voice/voice.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t now_ms = 1000000;
static int64_t due = -1;

static int h_watch(void *ud, int fd, int events, void **slot)
{
    (void)ud;
    (void)fd;
    (void)events;
    (void)slot;
    return 0;
}

static int h_timer(void *ud, int64_t ms)
{
    (void)ud;
    due = ms < 0 ? -1 : (int64_t)now_ms + ms;
    return 0;
}

static uint64_t h_now(void *ud)
{
    (void)ud;
    return now_ms;
}

/* The recogniser: a FINAL ("yes") for each end(), from the loop. */
typedef struct fstt {
    Ccai_stt base;
    ccai_ctx *ctx;
    Ccai_stt_open o;
    Ccai_timer t;
} fstt;

static const Ccai_stt_provider oom_stt;

static void fstt_fire(Ccai_timer *t, void *ud)
{
    (void)t;
    fstt *f = ud;
    Ccai_stt_result r = {.event = CCAI_STT_FINAL, .text = "yes", .confidence = 0.9};
    f->o.fn(&f->base, &r, f->o.ud);
}

static ccai_status fstt_open(ccai_ctx *ctx, const Ccai_stt_config *cfg, const Ccai_stt_open *o,
                             Ccai_stt **ret)
{
    (void)cfg;
    fstt *f = Ccai_calloc(1, sizeof *f);
    if (!f)
        return CCAI_ERR_NOMEM;
    f->base.provider = &oom_stt;
    f->base.in = (Ccai_media_format){CCAI_MEDIA_PCM16, 16000, 1};
    f->ctx = ctx;
    f->o = *o;
    Ccai_timer_init(&f->t, fstt_fire, f);
    *ret = &f->base;
    return CCAI_OK;
}

static ccai_status fstt_feed(Ccai_stt *s, const uint8_t *audio, size_t len)
{
    (void)s;
    (void)audio;
    (void)len;
    return CCAI_OK;
}

static ccai_status fstt_end(Ccai_stt *s)
{
    fstt *f = (fstt *)s;
    Ccai_timer_start(f->ctx, &f->t, 0);
    return CCAI_OK;
}

static void fstt_cancel(Ccai_stt *s)
{
    fstt *f = (fstt *)s;
    Ccai_timer_stop(f->ctx, &f->t);
}

static void fstt_close(Ccai_stt *s)
{
    fstt *f = (fstt *)s;
    Ccai_timer_stop(f->ctx, &f->t);
    ccai_free(f);
}

static const Ccai_stt_provider oom_stt = {
    .name = "oom-stt",
    .open = fstt_open,
    .feed = fstt_feed,
    .end = fstt_end,
    .cancel = fstt_cancel,
    .close = fstt_close,
};

/* The synthesiser: 300 ms of a tone (PCM16 24 kHz) then done, per sentence. */
typedef struct ftts {
    Ccai_tts base;
    ccai_ctx *ctx;
    Ccai_tts_open o;
    Ccai_timer t;
    uint32_t next_id, pending;
} ftts;

static const Ccai_tts_provider oom_tts;

static void ftts_fire(Ccai_timer *t, void *ud)
{
    (void)t;
    ftts *f = ud;
    if (!f->pending)
        return;
    uint32_t id = f->pending;
    f->pending = 0;
    static uint8_t tone[2 * 7200];
    for (size_t i = 0; i < 7200; i++) {
        int16_t v = (int16_t)(6000 * sin(2 * 3.14159265 * 440 * (double)i / 24000));
        tone[2 * i] = (uint8_t)(v & 0xFF);
        tone[2 * i + 1] = (uint8_t)((uint16_t)v >> 8);
    }
    f->o.audio(&f->base, id, tone, sizeof tone, f->o.ud);
    Ccai_tts_done d = {.id = id, .status = CCAI_OK, .audio_ms = 300};
    f->o.done(&f->base, &d, f->o.ud);
}

static ccai_status ftts_open(ccai_ctx *ctx, const Ccai_tts_config *cfg, const Ccai_tts_open *o,
                             Ccai_tts **ret)
{
    (void)cfg;
    ftts *f = Ccai_calloc(1, sizeof *f);
    if (!f)
        return CCAI_ERR_NOMEM;
    f->base.provider = &oom_tts;
    f->base.out = (Ccai_media_format){CCAI_MEDIA_PCM16, 24000, 1};
    f->ctx = ctx;
    f->o = *o;
    Ccai_timer_init(&f->t, ftts_fire, f);
    *ret = &f->base;
    return CCAI_OK;
}

static ccai_status ftts_say(Ccai_tts *t, const Ccai_tts_text *text, uint32_t *ret_id)
{
    (void)text;
    ftts *f = (ftts *)t;
    *ret_id = ++f->next_id;
    f->pending = *ret_id;
    Ccai_timer_start(f->ctx, &f->t, 0);
    return CCAI_OK;
}

static void ftts_cancel(Ccai_tts *t)
{
    ((ftts *)t)->pending = 0;
}

static void ftts_close(Ccai_tts *t)
{
    ftts *f = (ftts *)t;
    Ccai_timer_stop(f->ctx, &f->t);
    ccai_free(f);
}

static const Ccai_tts_provider oom_tts = {
    .name = "oom-tts",
    .open = ftts_open,
    .say = ftts_say,
    .cancel = ftts_cancel,
    .close = ftts_close,
};

static int h_play(ccai_call *c, const ccai_audio_frame *f, void *ud)
{
    (void)c;
    (void)f;
    (void)ud;
    return 0;
}

static int h_hangup(ccai_call *c, void *ud)
{
    (void)c;
    (void)ud;
    return 0;
}

static const ccai_call_ops ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .hangup = h_hangup,
    .play_audio = h_play,
};

static ccai_config *cfg;

static void run_due(ccai_ctx *ctx)
{
    for (int i = 0; i < 1000 && due >= 0 && (uint64_t)due <= now_ms; i++)
        ccai_ctx_timeout(ctx);
}

/* The first failure of a step is the run's status (the call goes on). */
static void keep(ccai_status *first, ccai_status st)
{
    if (*first == CCAI_OK && st != CCAI_OK)
        *first = st;
}

/* 20 ms of 8 kHz mu-law: a loud tone (speech to the VAD) or silence. */
static ccai_status frame(ccai_ctx *ctx, ccai_call *call, bool loud)
{
    int16_t pcm[160];
    for (size_t i = 0; i < 160; i++)
        pcm[i] = loud ? (int16_t)(9000 * sin(2 * 3.14159265 * 300 * (double)i / 8000)) : 0;
    uint8_t b[160];
    Ccai_media_encode(CCAI_MEDIA_ULAW, pcm, 160, b);
    ccai_status st = ccai_call_audio_in(call, b, sizeof b);
    now_ms += 20;
    run_due(ctx);
    return st == CCAI_ERR_STATE ? CCAI_OK : st; /* the call ended (goodbye) */
}

static ccai_status audio_call(void)
{
    now_ms = 1000000;
    due = -1;
    ccai_ctx *ctx = NULL;
    ccai_loop_hooks hooks = {CCAI_LOOP_HOOKS_VERSION, h_watch, h_timer, NULL};
    ccai_status st = ccai_ctx_new(cfg, &hooks, NULL, &ctx, NULL);
    if (st != CCAI_OK)
        return st;
    Ccai_ctx_set_clock(ctx, h_now, NULL);
    if (Ccai_voice_add_stt(Ccai_ctx_voice(ctx), &oom_stt) != CCAI_OK ||
        Ccai_voice_add_tts(Ccai_ctx_voice(ctx), &oom_tts) != CCAI_OK)
        fail_msg("adding the stand-ins");
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+14155550100",
        .channel = "local",
        .initiate_json = "{\"lang\":{\"default_short_code\":\"en-US\","
                         "\"availables\":[{\"short_code\":\"en-US\"}]},"
                         "\"claim\":[{\"name\":\"incident_city\",\"type\":\"text\"}]}",
        .audio_in = {CCAI_AUDIO_ULAW, 8000, 1},
    };
    ccai_call *call = NULL;
    st = ccai_call_start(ctx, &p, &ops, NULL, &call);
    if (st == CCAI_ERR_CONFIG)
        st = CCAI_ERR_NOMEM; /* no provider could open: out of memory here */
    if (st != CCAI_OK) {
        ccai_ctx_free(ctx);
        return st;
    }
    ccai_status first = CCAI_OK;
    keep(&first, ccai_call_notify(call, CCAI_EVENT_CONNECTED, NULL));
    run_due(ctx);
    /* The greeting plays; the caller talks over it, then waits. */
    for (int i = 0; i < 10; i++)
        keep(&first, frame(ctx, call, false));
    for (int i = 0; i < 30; i++)
        keep(&first, frame(ctx, call, true));
    for (int i = 0; i < 60; i++)
        keep(&first, frame(ctx, call, false));
    keep(&first, ccai_call_notify(call, CCAI_EVENT_HANGUP, NULL));
    run_due(ctx);
    ccai_call_free(call);
    ccai_ctx_free(ctx);
    /* A step refused for its state because an earlier one failed. */
    if (first == CCAI_ERR_STATE || first == CCAI_ERR_INTERNAL)
        first = CCAI_ERR_NOMEM;
    return first;
}

static void test_voice_oom(void **state)
{
    (void)state;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "log.level", "error"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "speech.stt.providers", "[\"oom-stt\"]"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "speech.tts.providers", "[\"oom-tts\"]"), CCAI_OK);
    /* The whole call once, as it should go: the caller was heard. */
    assert_int_equal(audio_call(), CCAI_OK);
    int nomem = 0;
    assert_true(oom_exhaust("voice: a short audio call", audio_call, &nomem) > 100);
    assert_true(nomem > 0);
    ccai_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_voice_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
