/* A local stand-in for ElevenLabs text-to-speech for tests, following
 * elevenlabs-python (text_to_speech/raw_client.py, the output_format enum,
 * realtime_tts.py and the WebSocket types initialize_connection, send_text,
 * audio_output, final_output, generation_config), the elevenlabs-js SDK
 * (2.x) and elevenlabs.io/docs/api-reference/websocket; media.md 5.3.
 *
 *   POST /v1/text-to-speech/{voice_id}/stream[?output_format=..] and
 *   POST /v1/text-to-speech/{voice_id} (the whole file, same bytes):
 *     xi-api-key header; JSON body with text (required; 422 with FastAPI's
 *     {"detail":[{"type":"missing","loc":["body","text"],"msg":"Field
 *     required",...}]} when absent), model_id, voice_settings, ... A voice
 *     not in opts.voices: 404 {"detail":{"status":"voice_not_found",...}}.
 *     output_format ulaw_8000, alaw_8000, pcm_8000/16000/22050/24000/
 *     44100/48000 are synthesised (raw, no header); mp3_* (the default) and
 *     opus_* get 400 from the stand-in saying it does not encode them.
 *     Speech-like audio (sa_synth), first byte after opts.ttfb_ms, then
 *     100 ms of audio every opts.chunk_ms. Headers: request-id,
 *     x-character-count, history-item-id.
 *   GET /v1/text-to-speech/{voice_id}/stream-input?model_id=&output_format=
 *     &inactivity_timeout= (WebSocket; xi-api-key header, or "xi_api_key"
 *     in the first message): the first message must be {"text":" ", ...
 *     "generation_config":{"chunk_length_schedule":[...]}} (else close
 *     1008); text is buffered and spoken when the buffer reaches the next
 *     schedule length (default 120, 160, 250, 290), on "flush":true or
 *     "try_trigger_generation":true, and at the end ({"text":""}): each
 *     piece as {"audio":<base64>,"isFinal":null,"normalizedAlignment":
 *     {"chars","charStartTimesMs","charDurationsMs"},"alignment":{...}}
 *     after opts.ttfb_ms; after the end {"isFinal":true} and close 1000.
 *     No message for inactivity_timeout seconds (default 20): close 1008.
 *
 * Faults (speech_fault.h) are taken by the next authenticated request; on
 * the WebSocket, "after" counts the server's messages. Errors on 401:
 * {"detail":{"status":"invalid_api_key","message":"Invalid API key"}}.
 * Context: any thread; elevenlabs_standin_stop once. */
#ifndef CCAI_TEST_ELEVENLABS_STANDIN_H
#define CCAI_TEST_ELEVENLABS_STANDIN_H

#include "support/speech_fault.h"
#include "support/svc.h"

#define ELEVENLABS_STANDIN_KEY   "sk_standin_elevenlabs_0123456789"
#define ELEVENLABS_STANDIN_VOICE "21m00Tcm4TlvDq8ikWAM"

typedef struct elevenlabs_standin elevenlabs_standin;

typedef struct elevenlabs_standin_opts {
    const char *key;           /* NULL = ELEVENLABS_STANDIN_KEY */
    const char *const *voices; /* NULL-terminated; NULL = {ELEVENLABS_STANDIN_VOICE} */
    int ttfb_ms;               /* 0 = 150; < 0 none */
    int chunk_ms;              /* 0 = 40 (100 ms of audio per chunk) */
} elevenlabs_standin_opts;

elevenlabs_standin *elevenlabs_standin_start(const elevenlabs_standin_opts *o);
int elevenlabs_standin_port(elevenlabs_standin *s);
svc *elevenlabs_standin_svc(elevenlabs_standin *s);
void elevenlabs_standin_push_fault(elevenlabs_standin *s, const speech_fault *f);
void elevenlabs_standin_stop(elevenlabs_standin *s);

#endif
