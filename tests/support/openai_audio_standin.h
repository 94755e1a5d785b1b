/* A local stand-in for OpenAI's audio endpoints for tests, following the
 * OpenAPI spec (openai/openai-openapi: CreateTranscriptionRequest,
 * CreateTranscriptionResponseJson/VerboseJson, TranscriptTextDeltaEvent,
 * CreateSpeechRequest, SpeechAudioDeltaEvent/DoneEvent, the Realtime
 * transcription session and its client/server events) as the official
 * SDK (openai-node 6.x) types it; media.md 4.3 and 5.2.
 *
 *   POST /v1/audio/transcriptions  multipart/form-data: file (with a
 *     filename whose extension is one of flac m4a mp3 mp4 mpeg mpga oga ogg
 *     wav webm), model (required), language, prompt, response_format (json
 *     default; text, srt, vtt, verbose_json for whisper-1 only; the
 *     gpt-4o models take json and text), temperature, stream (gpt-4o
 *     models: text/event-stream of transcript.text.delta then
 *     transcript.text.done), timestamp_granularities[] (verbose_json).
 *     The audio must be a WAV file (other containers: 400, the stand-in
 *     decodes only WAV); it is "recognised" as the next scripted utterance
 *     when it holds speech (frames at or above opts.threshold_db), else as
 *     "". The answer comes opts.stt_latency_ms + 5 % of the audio's duration
 *     after the upload.
 *   POST /v1/audio/speech  JSON: model, input (1..4096 chars), voice (a
 *     built-in name or {"id"}), response_format (mp3 default; the stand-in
 *     synthesises pcm = 24 kHz s16le mono raw and wav; others get 400 saying
 *     so), speed 0.25..4, instructions (not for tts-1*), stream_format audio
 *     (chunked bytes) | sse (speech.audio.delta / speech.audio.done; not for
 *     tts-1*). Speech-like audio (standin_audio.h sa_synth) whose length
 *     follows the text and speed, first byte after opts.tts_ttfb_ms, then
 *     100 ms of audio every opts.tts_chunk_ms.
 *   GET /v1/realtime?intent=transcription  WebSocket (Authorization: Bearer,
 *     or subprotocols "realtime, openai-insecure-api-key.<key>"):
 *     session.created first; session.update -> session.updated (format
 *     audio/pcm 24 kHz, audio/pcmu, audio/pcma; transcription model,
 *     language, prompt; turn_detection server_vad {threshold,
 *     prefix_padding_ms, silence_duration_ms} or null); input_audio_buffer
 *     .append; with server_vad, speech in the appended audio gives
 *     input_audio_buffer.speech_started {audio_start_ms (prefix padding
 *     included), item_id}, and silence_duration_ms of silence after it
 *     speech_stopped {audio_end_ms}, input_audio_buffer.committed
 *     {previous_item_id, item_id}, conversation.item.added, then
 *     conversation.item.input_audio_transcription.delta events (word by word;
 *     whisper-1: one) and .completed {transcript, usage}; without VAD,
 *     input_audio_buffer.commit (error input_audio_buffer_commit_empty under
 *     100 ms) and .clear -> .cleared. Other event types: an error event.
 *     threshold t in 0..1 maps to a frame level of -60 + 40 t dBFS.
 *
 * Auth: Authorization: Bearer <key>; else 401 with OpenAI's error body.
 * Errors are {"error":{"message","type","param","code"}}.
 * Faults (speech_fault.h) are taken by the next authenticated request.
 * Context: any thread; openai_audio_standin_stop once. */
#ifndef CCAI_TEST_OPENAI_AUDIO_STANDIN_H
#define CCAI_TEST_OPENAI_AUDIO_STANDIN_H

#include "support/speech_fault.h"
#include "support/svc.h"

#define OPENAI_AUDIO_STANDIN_KEY "sk-standin-audio-0123456789"

typedef struct openai_audio_standin openai_audio_standin;

typedef struct openai_audio_standin_opts {
    const char *key;     /* NULL = OPENAI_AUDIO_STANDIN_KEY */
    int stt_latency_ms;  /* 0 = 300; < 0 = none */
    int tts_ttfb_ms;     /* 0 = 250; < 0 = none */
    int tts_chunk_ms;    /* 0 = 40 (100 ms of audio per chunk, 2.5x real time) */
    int rt_latency_ms;   /* realtime events after the audio that caused them; 0 = 100 */
    double threshold_db; /* transcriptions: 0 = -40 dBFS */
} openai_audio_standin_opts;

openai_audio_standin *openai_audio_standin_start(const openai_audio_standin_opts *o);
int openai_audio_standin_port(openai_audio_standin *s);
svc *openai_audio_standin_svc(openai_audio_standin *s);
/* The next audio holding speech "says" text (transcriptions and realtime). */
void openai_audio_standin_say(openai_audio_standin *s, const char *text);
int openai_audio_standin_pending(openai_audio_standin *s);
void openai_audio_standin_push_fault(openai_audio_standin *s, const speech_fault *f);
void openai_audio_standin_stop(openai_audio_standin *s);

#endif
