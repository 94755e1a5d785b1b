/* What the cloud speech-to-text providers share (stt/deepgram.c,
 * openai_realtime.c, openai.c, azure.c): results delivered from the loop
 * (a queue drained by a 0 ms timer, so that the sink may close the stream
 * from inside its callback), and their provider-message parsers (sans I/O,
 * size-limited, each with a fuzz target in tests/fuzz/). */
#ifndef CCAI_STT_CLOUD_H
#define CCAI_STT_CLOUD_H

#include "io/io.h"
#include "io/ws.h"

#include "stt/stt.h"
#include <jansson.h>

extern const Ccai_stt_provider Ccai_stt_deepgram;
extern const Ccai_stt_provider Ccai_stt_openai_realtime;
extern const Ccai_stt_provider Ccai_stt_openai;
extern const Ccai_stt_provider Ccai_stt_azure;

/* The largest provider message parsed (a JSON event or answer). */
#define CCAI_STT_MAX_MESSAGE (256u * 1024u)

/* Results waiting for the loop ------------------------------------------- */

typedef struct Ccai_stt_qitem Ccai_stt_qitem;

typedef struct Ccai_stt_queue {
    ccai_ctx *ctx;
    Ccai_stt *s;
    Ccai_stt_fn fn;
    void *ud;
    Ccai_timer timer;
    Ccai_stt_qitem *head, *tail;
    int depth;    /* inside fn */
    bool closing; /* the stream was closed from inside fn */
    bool fatal;   /* a fatal ERROR was queued: nothing after it */
    void (*destroy)(Ccai_stt *s);
} Ccai_stt_queue;

void Ccai_stt_queue_init(Ccai_stt_queue *q, ccai_ctx *ctx, Ccai_stt *s, const Ccai_stt_open *o,
                         void (*destroy)(Ccai_stt *s));
/* Queue a copy of r (its strings copied); delivered from a 0 ms timer.
 * Nothing is queued after a fatal ERROR. false on NOMEM. */
bool Ccai_stt_queue_push(Ccai_stt_queue *q, const Ccai_stt_result *r);
/* Shorthands. */
bool Ccai_stt_queue_text(Ccai_stt_queue *q, Ccai_stt_event ev, const char *text, double confidence,
                         const char *lang, bool from_end, uint32_t audio_ms);
bool Ccai_stt_queue_error(Ccai_stt_queue *q, ccai_status st, bool fatal, const char *fmt, ...)
    CCAI_PRINTF(4, 5);
/* The stream is being closed: true when its owner may be destroyed now,
 * false when fn is running (the queue calls destroy once it returns). */
bool Ccai_stt_queue_close(Ccai_stt_queue *q);
void Ccai_stt_queue_free(Ccai_stt_queue *q);

/* The streaming providers' WebSocket ---------------------------------------- */

/* What the end of a streaming provider's WebSocket (io/ws.h) means: try
 * again after wait_ms (a 429 or 5xx before the stream ever opened, with
 * attempts left: the service's Retry-After up to 5 s, else 250 ms, 500 ms),
 * or a fatal error, its status and text in msg ("the connection was
 * refused with HTTP 401...", "the service closed the <what> (1011 ...)",
 * the connection's own failure). */
typedef struct Ccai_stt_ws_outcome {
    bool retry;
    uint64_t wait_ms;
    ccai_status st;
    char msg[400];
} Ccai_stt_ws_outcome;

void Ccai_stt_ws_judge(const Ccai_ws_end *e, bool opened, int attempts, int max_attempts,
                       const char *what, Ccai_stt_ws_outcome *out);

/* Helpers ----------------------------------------------------------------- */

/* Append s percent-encoded (RFC 3986 unreserved kept) to b. */
bool Ccai_stt_url_escape(Ccai_buf *b, const char *s);
/* The language's primary subtag ("en" of "en-US") into out. */
void Ccai_stt_lang_primary(const char *lang, char *out, size_t n);
/* A provider message of len bytes as JSON: NULL with *st CCAI_ERR_LIMIT
 * (over CCAI_STT_MAX_MESSAGE), CCAI_ERR_PARSE or CCAI_ERR_NOMEM. */
json_t *Ccai_stt_json_load(const char *s, size_t len, ccai_status *st);
/* A REST answer: s as a JSON object, its error.message (of a refusal
 * body, "" when the error has none) into *error. NULL with *st as
 * Ccai_stt_json_load, CCAI_ERR_PARSE for another JSON value or an error
 * that is not an object. */
json_t *Ccai_stt_json_answer(const char *s, size_t len, char **error, ccai_status *st);
/* Member k of object o as a new string into *out: absent or null leaves it
 * NULL (true); not a string is false; out of memory is false with *nomem. */
bool Ccai_stt_json_str(json_t *o, const char *k, char **out, bool *nomem);
/* Member k of o into *out: absent or null leaves it (true); another type
 * is false. */
bool Ccai_stt_json_bool(json_t *o, const char *k, bool *out);
bool Ccai_stt_json_num(json_t *o, const char *k, double *out);
bool Ccai_stt_json_int(json_t *o, const char *k, long *out);
/* The hints and choices of e joined by ", " into out ("" none): a
 * transcription prompt. false on NOMEM. */
bool Ccai_stt_hints_text(const Ccai_stt_expect *e, Ccai_buf *out);
/* Whether options (extra query parameters) are safe to append to a URL:
 * name=value pairs joined by '&', no space or control character. */
bool Ccai_stt_query_ok(const char *options);

/* Provider messages (sans I/O) ---------------------------------------------- */

/* Deepgram live: one server message. */
typedef enum Ccai_dg_type {
    CCAI_DG_UNKNOWN = 0,
    CCAI_DG_RESULTS,
    CCAI_DG_SPEECH_STARTED,
    CCAI_DG_UTTERANCE_END,
    CCAI_DG_METADATA,
    CCAI_DG_ERROR, /* {"type":"Error","description"|"message",...} */
} Ccai_dg_type;

typedef struct Ccai_dg_msg {
    Ccai_dg_type type;
    bool is_final, speech_final, from_finalize;
    double start, duration; /* s of audio */
    char *transcript;       /* Results: the first alternative's ("" none) */
    double confidence;      /* -1 when absent */
    char *lang;             /* alternatives[0].languages[0] or detected_language */
    char *description;      /* Error */
} Ccai_dg_msg;

/* Statuses: CCAI_OK; CCAI_ERR_PARSE (not JSON, not an object, a field of
 * the wrong type); CCAI_ERR_LIMIT (over CCAI_STT_MAX_MESSAGE); CCAI_ERR_NOMEM.
 * On CCAI_OK free with Ccai_dg_msg_free (also safe after a failure). */
ccai_status Ccai_dg_parse(const char *s, size_t len, Ccai_dg_msg *m);
void Ccai_dg_msg_free(Ccai_dg_msg *m);

/* OpenAI Realtime transcription: one server event. */
typedef enum Ccai_rt_type {
    CCAI_RT_UNKNOWN = 0,
    CCAI_RT_SESSION, /* session.created / .updated, transcription_session.* */
    CCAI_RT_SPEECH_STARTED,
    CCAI_RT_SPEECH_STOPPED,
    CCAI_RT_COMMITTED,
    CCAI_RT_DELTA,
    CCAI_RT_COMPLETED,
    CCAI_RT_FAILED, /* conversation.item.input_audio_transcription.failed */
    CCAI_RT_ERROR,
} Ccai_rt_type;

typedef struct Ccai_rt_msg {
    Ccai_rt_type type;
    char *item_id;
    char *text; /* delta, or the completed transcript */
    char *code; /* error.code / error.type */
    char *message;
    double confidence; /* from logprobs when given, else -1 */
    long audio_start_ms, audio_end_ms;
} Ccai_rt_msg;

ccai_status Ccai_rt_parse(const char *s, size_t len, Ccai_rt_msg *m);
void Ccai_rt_msg_free(Ccai_rt_msg *m);

/* OpenAI /v1/audio/transcriptions: the JSON answer ({"text", "language"?})
 * or an error body ({"error":{"message","code"}}). */
typedef struct Ccai_oa_answer {
    char *text;  /* NULL when absent */
    char *lang;  /* verbose_json's language, NULL when absent */
    char *error; /* error.message */
    double confidence;
} Ccai_oa_answer;

ccai_status Ccai_oa_parse(const char *s, size_t len, Ccai_oa_answer *a);
void Ccai_oa_answer_free(Ccai_oa_answer *a);

/* Azure Speech short audio: the answer (simple or detailed format). */
typedef struct Ccai_az_answer {
    char *status;         /* RecognitionStatus ("Success", "NoMatch", ...) */
    char *text;           /* NBest[0].Display, else DisplayText; NULL absent */
    double confidence;    /* NBest[0].Confidence, -1 absent */
    uint64_t duration_ms; /* Duration (100 ns ticks) in ms */
    char *error;          /* error.message of a refusal body */
} Ccai_az_answer;

ccai_status Ccai_az_parse(const char *s, size_t len, Ccai_az_answer *a);
void Ccai_az_answer_free(Ccai_az_answer *a);

#endif
