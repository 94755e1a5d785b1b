/* Audio calls (libccai/voice/): the caller's frames -> VAD -> STT -> the
 * engine's speech events; the engine's sentences -> TTS -> the host's
 * play_audio; turn-taking, barge-in, echo gating, recording, the provider
 * fallback chains. The engine keeps talking text: an audio call is an
 * engine call whose say/listen/stop_speaking/menu ops are the voice
 * session's, the others (transfer, hangup, send_sms, record,
 * state_changed) the host's.
 *
 * Everything runs on the context's loop: no thread, nothing blocks (the
 * offline recogniser decodes in slices on 0 ms timers). */
#ifndef CCAI_VOICE_VOICE_H
#define CCAI_VOICE_VOICE_H

#include "core/common.h"
#include "core/metrics.h"
#include "engine/engine.h"
#include "stt/stt.h"
#include "tts/tts.h"

typedef struct Ccai_voice Ccai_voice;

/* What the composition root gives the voice layer. */
typedef struct Ccai_voice_env {
    ccai_ctx *ctx;
    const ccai_config *cfg;
    const Ccai_logger *log;
    Ccai_metrics *metrics;
    Ccai_engine *engine;
} Ccai_voice_env;

/* The voice layer of a context: the providers' chains and settings read
 * from the configuration (speech.*), its metrics families registered.
 * A name no provider has is skipped (logged) when a call opens the chain:
 * the host's or a test's providers are added after the context is made.
 * Statuses: CCAI_OK; CCAI_ERR_NOMEM. */
ccai_status Ccai_voice_new(const Ccai_voice_env *env, Ccai_voice **ret, char **ret_errmsg);
/* Accepts NULL. The calls' sessions went with their handles before. */
void Ccai_voice_free(Ccai_voice *v);

/* Providers of the host or of a test, found by name before the built-in
 * ones (borrowed: they outlive the context). At most 8 of each.
 * Statuses: CCAI_OK; CCAI_ERR_LIMIT. */
ccai_status Ccai_voice_add_stt(Ccai_voice *v, const Ccai_stt_provider *p);
ccai_status Ccai_voice_add_tts(Ccai_voice *v, const Ccai_tts_provider *p);

/* The voice layer of a context (tests): the composition root's. */
Ccai_voice *Ccai_ctx_voice(ccai_ctx *ctx);

/* Whether params ask for an audio call (version 3, audio_in set). */
bool Ccai_voice_wanted(const ccai_call_params *params);

/* ccai_call_start() of an audio call: the engine's call with the
 * session's ops, the session attached to it (freed with the handle).
 * Statuses: as ccai_call_start(), plus CCAI_ERR_INVALID_ARG (a format
 * libccai does not take, no play_audio op: ccai_ctx_errmsg() says which)
 * and CCAI_ERR_CONFIG (no speech provider could open: the errmsg says
 * why). */
ccai_status Ccai_voice_call_start(Ccai_voice *v, const ccai_call_params *params,
                                  const ccai_call_ops *ops, void *userdata, ccai_call **ret);

/* ccai_call_audio_in() and ccai_call_audio_marked(). */
ccai_status Ccai_voice_audio_in(ccai_call *call, const void *data, size_t len);
ccai_status Ccai_voice_audio_marked(ccai_call *call, const char *name);
/* The host lost the bot's audio up to mark name without playing it (a
 * Twilio stream dropped before its echo): those sentences were not heard;
 * their stored words are removed. CCAI_OK (also for a name not waited
 * for), CCAI_ERR_STATE (not an audio call), CCAI_ERR_INVALID_ARG. */
CCAI_MUST_CHECK ccai_status Ccai_voice_audio_lost(ccai_call *call, const char *name);

#endif
