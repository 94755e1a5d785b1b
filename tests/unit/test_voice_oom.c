/* Out-of-memory injection into an audio call (libccai/voice/): every
 * allocation of a short call fails in turn (the context, the call and its
 * session, the greeting spoken and paced, the caller's turn recognised and
 * answered, the hang-up): each run ends in CCAI_OK or CCAI_ERR_NOMEM, with
 * nothing leaked and nothing crashed. The recogniser and the synthesiser
 * are support/loop_voice.h's stand-ins on the loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/loop_voice.h"
#include "support/oom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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
    lv_now_ms += 20;
    lv_run_due(ctx);
    return st == CCAI_ERR_STATE ? CCAI_OK : st; /* the call ended (goodbye) */
}

static ccai_status audio_call(void)
{
    lv_now_ms = 1000000;
    lv_due = -1;
    ccai_ctx *ctx = NULL;
    ccai_loop_hooks hooks = {CCAI_LOOP_HOOKS_VERSION, lv_watch, lv_timer, NULL};
    ccai_status st = ccai_ctx_new(cfg, &hooks, NULL, &ctx, NULL);
    if (st != CCAI_OK)
        return st;
    Ccai_ctx_set_clock(ctx, lv_now, NULL);
    if (Ccai_voice_add_stt(Ccai_ctx_voice(ctx), &lv_stt) != CCAI_OK ||
        Ccai_voice_add_tts(Ccai_ctx_voice(ctx), &lv_tts) != CCAI_OK)
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
    lv_run_due(ctx);
    /* The greeting plays; the caller talks over it, then waits. */
    for (int i = 0; i < 10; i++)
        keep(&first, frame(ctx, call, false));
    for (int i = 0; i < 30; i++)
        keep(&first, frame(ctx, call, true));
    for (int i = 0; i < 60; i++)
        keep(&first, frame(ctx, call, false));
    keep(&first, ccai_call_notify(call, CCAI_EVENT_HANGUP, NULL));
    lv_run_due(ctx);
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
    assert_int_equal(ccai_config_set(cfg, "speech.stt.providers", "[\"loop-stt\"]"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "speech.tts.providers", "[\"loop-tts\"]"), CCAI_OK);
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
