/* A local stand-in for Azure AI Speech's REST APIs for tests, following
 * MicrosoftDocs/azure-ai-docs rest-speech-to-text-short.md,
 * rest-text-to-speech.md and the Speech REST authentication include
 * (media.md 4.2, 5.1). One port serves what Azure spreads over the
 * <region>.stt / .tts / .api.cognitive hosts:
 *
 *   POST /speech/recognition/{conversation|interactive|dictation}/
 *        cognitiveservices/v1?language=<tag>&format=simple|detailed
 *     Content-Type audio/wav (codecs=audio/pcm; samplerate=16000) — a WAV
 *     body, Content-Length or chunked (Expect: 100-continue honoured). The
 *     first 60 s are heard; speech in them (frames at or above
 *     opts.threshold_db) is "recognised" as the next scripted utterance:
 *     {"RecognitionStatus":"Success","Offset","Duration" (100 ns ticks),
 *     "DisplayText"} and, with format=detailed, "NBest":[{"Confidence",
 *     "Lexical","ITN","MaskedITN","Display"}]. Without speech:
 *     InitialSilenceTimeout when the audio is 5 s or longer, else NoMatch.
 *     The answer comes opts.stt_latency_ms after the last byte. language
 *     missing: 400; not a WAV body: 400; audio/ogg (opus): 400, the stand-in
 *     decodes only WAV.
 *   POST /cognitiveservices/v1  SSML (Content-Type application/ssml+xml,
 *     X-Microsoft-OutputFormat required; a <speak> with a <voice name>),
 *     audio streamed in chunks as synthesised: raw-8khz-8bit-mono-mulaw,
 *     raw-8khz-8bit-mono-alaw, raw-{8khz,16khz,22050hz,24khz,44100hz,
 *     48khz}-16bit-mono-pcm and the riff-* forms of these (a WAV header
 *     first); compressed formats (mp3, opus, webm, amr) get 400 from the
 *     stand-in saying it does not encode them; an unknown format 400.
 *     First byte after opts.tts_ttfb_ms, then 100 ms of audio every
 *     opts.tts_chunk_ms.
 *   POST /sts/v1.0/issueToken  Ocp-Apim-Subscription-Key, empty body ->
 *     200 text/plain JWT valid opts.token_lifetime_s (Azure: 10 min).
 *
 * Auth on STT/TTS: Ocp-Apim-Subscription-Key: <key>, or Authorization:
 * Bearer <a token issued here and not expired>; else 401
 * {"error":{"code":"401","message":"Access denied due to invalid
 * subscription key or wrong API endpoint. ..."}}.
 * Faults (speech_fault.h) are taken by the next authenticated request.
 * Context: any thread; azure_speech_standin_stop once. */
#ifndef CCAI_TEST_AZURE_SPEECH_STANDIN_H
#define CCAI_TEST_AZURE_SPEECH_STANDIN_H

#include "support/speech_fault.h"
#include "support/svc.h"

#define AZURE_SPEECH_STANDIN_KEY "0123456789abcdef0123456789abcdef"

typedef struct azure_speech_standin azure_speech_standin;

typedef struct azure_speech_standin_opts {
    const char *key;      /* NULL = AZURE_SPEECH_STANDIN_KEY */
    int stt_latency_ms;   /* 0 = 300; < 0 none */
    int tts_ttfb_ms;      /* 0 = 200; < 0 none */
    int tts_chunk_ms;     /* 0 = 50 (100 ms of audio per chunk, 2x real time) */
    int token_lifetime_s; /* 0 = 600 */
    double threshold_db;  /* 0 = -40 dBFS */
} azure_speech_standin_opts;

azure_speech_standin *azure_speech_standin_start(const azure_speech_standin_opts *o);
int azure_speech_standin_port(azure_speech_standin *s);
svc *azure_speech_standin_svc(azure_speech_standin *s);
void azure_speech_standin_say(azure_speech_standin *s, const char *text);
int azure_speech_standin_pending(azure_speech_standin *s);
void azure_speech_standin_push_fault(azure_speech_standin *s, const speech_fault *f);
void azure_speech_standin_stop(azure_speech_standin *s);

#endif
