/* A local stand-in for Deepgram live transcription (WebSocket /v1/listen)
 * for tests: what it sends, and when, follows Deepgram's documentation
 * (developers.deepgram.com: streaming API reference, endpointing,
 * utterance-end, interim results, keep-alive, finalize, close-stream,
 * STT troubleshooting / error handling) and the message types of the
 * official SDKs (@deepgram/sdk 5.x ListenV1Results, ListenV1Metadata,
 * ListenV1SpeechStarted, ListenV1UtteranceEnd); media.md 4.1.
 *
 * Connection: GET ws://127.0.0.1:<port>/v1/listen?<params> with
 * "Authorization: Token <key>" (or the browser form, subprotocols
 * "token, <key>", answered with Sec-WebSocket-Protocol: token). Refusals
 * are HTTP answers to the upgrade with a dg-error header and a JSON body
 * {"err_code","err_msg","request_id"}: 401 INVALID_AUTH for a wrong or
 * missing key, 400 for invalid parameters (an unknown encoding, an encoding
 * without sample_rate, a non-numeric endpointing...), 404 for other paths.
 * Every answer has dg-request-id.
 *
 * Recognition is scripted: deepgram_standin_say() queues what the next
 * utterance "contains". When and how it is reported depends on the audio
 * the client actually streams, decoded per encoding (linear16, mulaw,
 * alaw; without encoding, a WAV container) and cut in 20 ms frames; a frame
 * is speech when its level reaches opts.threshold_db:
 *   - 2 speech frames in a row start speech: SpeechStarted {channel:[0],
 *     timestamp} when vad_events=true; the first onset after an endpoint
 *     takes the next scripted utterance (none queued: nothing is recognised,
 *     results carry an empty transcript);
 *   - interim_results=true: a Results with is_final:false every
 *     opts.interim_ms of audio while an utterance runs, its words revealed
 *     at about 2.5 words/s of speech;
 *   - endpointing=<ms> (default 10; false = off): that much silence after
 *     speech ends the utterance: Results is_final:true speech_final:true
 *     with all its words, timed over the speech;
 *   - without an endpoint, the audio is finalised every opts.segment_ms
 *     (is_final:true, speech_final:false; an empty transcript in silence);
 *   - utterance_end_ms=<ms> (with interim_results=true): UtteranceEnd
 *     {channel:[0,1], last_word_end} once that much audio follows the last
 *     word without a new one;
 *   - text messages: {"type":"KeepAlive"} (no answer), {"type":"Finalize"}
 *     (what is pending as is_final with from_finalize:true),
 *     {"type":"CloseStream"} (flush, then Metadata, then close 1000); an
 *     empty binary message acts as CloseStream (the legacy form);
 *   - no binary or text message for opts.idle_timeout_ms (Deepgram: 10 s):
 *     close 1011 with the NET-0001 reason; audio a WAV container cannot
 *     decode: close 1002 DATA-0000.
 * Each message leaves opts.latency_ms after the audio that produced it was
 * received. start/duration and word times are seconds of audio.
 *
 * Not simulated (refused with 400 at the upgrade, the reason says so):
 * encodings other than linear16/mulaw/alaw; containers other than WAV are
 * answered with DATA-0000. Multichannel audio is mixed to one channel.
 *
 * Context: any thread; deepgram_standin_stop once. Ownership: char *
 * results are malloc'd. The request and WebSocket message log is the svc
 * log (deepgram_standin_svc + svc_request_*, svc_ws_*). */
#ifndef CCAI_TEST_DEEPGRAM_STANDIN_H
#define CCAI_TEST_DEEPGRAM_STANDIN_H

#include "support/svc.h"

#define DEEPGRAM_STANDIN_KEY "dg-standin-key-0123456789abcdef"

typedef struct deepgram_standin deepgram_standin;

typedef struct deepgram_standin_opts {
    const char *key;     /* NULL = DEEPGRAM_STANDIN_KEY */
    int latency_ms;      /* processing delay of every message; < 0 = 0, 0 = default 150 */
    int idle_timeout_ms; /* 0 = 10000 */
    int interim_ms;      /* 0 = 1000 (audio time between interim results) */
    int segment_ms;      /* 0 = 5000 (finalisation without an endpoint) */
    double threshold_db; /* 0 = -40 dBFS */
} deepgram_standin_opts;

/* In-stream faults are taken by the next accepted connection (a refused
 * upgrade for a wrong key never takes one); status faults refuse it. */
typedef struct deepgram_standin_fault {
    int status;               /* refuse the upgrade: 401, 402, 429, 500, 503 ... */
    int retry_after;          /* with status: Retry-After seconds */
    int handshake_delay_ms;   /* the 101 (or the refusal) comes this late */
    int after;                /* the faults below hit server message number after + 1 */
    int drop;                 /* TCP close instead of it, no close frame */
    int garbage;              /* bytes that are no WebSocket frame instead of it */
    int rsv1;                 /* it goes in a frame with RSV1 set (no extension) */
    int malformed_json;       /* it is cut in half (not JSON) */
    int stall_ms;             /* it and every later message are this much later */
    int close_code;           /* close with this code instead of it ... */
    const char *close_reason; /* ... and this reason (NULL = "NET-0000") */
} deepgram_standin_fault;

deepgram_standin *deepgram_standin_start(const deepgram_standin_opts *o);
int deepgram_standin_port(deepgram_standin *d);
svc *deepgram_standin_svc(deepgram_standin *d);
/* The next utterance contains text (as it would be punctuated). */
void deepgram_standin_say(deepgram_standin *d, const char *text);
int deepgram_standin_pending(deepgram_standin *d);
void deepgram_standin_push_fault(deepgram_standin *d, const deepgram_standin_fault *f);
/* Messages sent to the client of request i (text, in order), malloc'd. */
int deepgram_standin_sent_count(deepgram_standin *d, int i);
char *deepgram_standin_sent(deepgram_standin *d, int i, int k);
/* Audio bytes received on request i's connection. */
long deepgram_standin_audio_bytes(deepgram_standin *d, int i);
void deepgram_standin_stop(deepgram_standin *d);

#endif
