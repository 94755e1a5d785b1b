/* Azure Communication Services REST client on the context's asynchronous
 * HTTP client (channels/acs/acs_rest.c): Call Automation (answer, create,
 * play, recognize, transfer, hang up, start recording) and SMS. Requests
 * are JSON, signed with HMAC-SHA256 (channels/acs_sig.h) afresh for every
 * attempt; responses are JSON.
 *
 * Lifecycle:
 *   1. Ccai_acs_rest_new() / Ccai_acs_rest_from_config() makes a client
 *      bound to one ccai_ctx.
 *   2. Each operation starts at once and reports exactly once through its
 *      Ccai_acs_done_fn, from the context's loop, never from inside the call
 *      that started it. An operation that fails to start returns an error
 *      and fires no callback. Ccai_acs_op_cancel() stops one operation
 *      without a callback.
 *   3. Ccai_acs_rest_free() cancels what is still running (no callbacks)
 *      and must come before ccai_ctx_free(). Operation handles are invalid
 *      from then on.
 *
 * Retries: 429 and 5xx replies are retried (up to max_attempts requests in
 * all) after the delay the Retry-After header gives (seconds or HTTP date,
 * up to 120 s), else after an exponential backoff with jitter
 * (base_backoff_ms * 2^(n-1), at most max_backoff_ms). Operations ACS
 * de-duplicates (answer, create, transfer, terminate, hang up, start
 * recording) carry Repeatability-Request-ID / Repeatability-First-Sent,
 * the same on every attempt; an SMS carries them as its recipient's
 * repeatabilityRequestId / repeatabilityFirstSent (the SMS API reads them
 * there). Those are also retried after a transport failure (refused, timed
 * out, cut); play and recognize are not, since a repeat would speak or
 * listen twice.
 *
 * Statuses reported to the callback: CCAI_OK (2xx); CCAI_ERR_NOT_FOUND
 * (404: unknown call connection or recording); CCAI_ERR_HTTP (any other
 * error reply after the last attempt, or a transport failure);
 * CCAI_ERR_TIMEOUT (the last attempt timed out); CCAI_ERR_PARSE (a 2xx reply
 * whose body is not JSON, or an answer / create / recording / SMS reply
 * without the id it must carry); CCAI_ERR_NOMEM.
 *
 * Context: every function runs on the context's thread; an operation's
 * callback may start operations, cancel any operation, or free the client. */
#ifndef CCAI_CHANNELS_ACS_ACS_REST_H
#define CCAI_CHANNELS_ACS_ACS_REST_H

#include "core/common.h"

#include <jansson.h>

#define CCAI_ACS_CALL_API_VERSION "2024-09-15"
/* Media streaming with enableBidirectional and audioFormat is GA from
 * 2025-05-15 (protocols.md 3.1, media.md 2): the version of every Call
 * Automation request in stream mode (communication_services.voice). */
#define CCAI_ACS_STREAM_API_VERSION "2025-06-15"
#define CCAI_ACS_SMS_API_VERSION    "2021-03-07"

typedef struct Ccai_acs_rest Ccai_acs_rest;
typedef struct Ccai_acs_op Ccai_acs_op;

typedef struct Ccai_acs_rest_opts {
    const char *endpoint;         /* "https://<resource>.communication.azure.com[/]" */
    const char *access_key;       /* Base64, as the portal shows it */
    const char *phone_number;     /* default caller ID / SMS sender (E.164), may be NULL */
    const char *call_api_version; /* NULL = CCAI_ACS_CALL_API_VERSION */
    const char *sms_api_version;  /* NULL = CCAI_ACS_SMS_API_VERSION */
    int max_attempts;             /* requests per operation; 0 = 4 */
    uint32_t base_backoff_ms;     /* 0 = 500 */
    uint32_t max_backoff_ms;      /* 0 = 8000 */
    uint32_t timeout_ms;          /* per request; 0 = 30000 */
} Ccai_acs_rest_opts;

/* What an operation came to; borrowed, valid during the callback only. */
typedef struct Ccai_acs_result {
    long http_status;          /* of the last reply; 0 when none came */
    int attempts;              /* HTTP requests made */
    const json_t *json;        /* parsed reply body, NULL when empty or not JSON */
    const char *id;            /* callConnectionId (answer, create), recordingId,
                                  SMS messageId; else NULL */
    const char *error_code;    /* ACS error.code ("8523", "Unauthorized"), or NULL */
    const char *error_message; /* readable one-line reason; NULL on CCAI_OK */
    const char *body;          /* raw body of the last reply ("" when none) */
} Ccai_acs_result;

/* Exactly once per started operation unless it was cancelled. */
typedef void (*Ccai_acs_done_fn)(ccai_status st, const Ccai_acs_result *res, void *ud);

/* Make a client. opts are copied.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (NULL ctx/opts/ret, an endpoint
 * that is not http(s)://host[:port][/path], an access key that is not
 * Base64); CCAI_ERR_NOMEM.
 * Ownership: *ret freed with Ccai_acs_rest_free(); untouched on failure. */
CCAI_MUST_CHECK ccai_status Ccai_acs_rest_new(ccai_ctx *ctx, const Ccai_acs_rest_opts *opts,
                                              Ccai_acs_rest **ret);

/* Same from the context's configuration: communication_services.endpoint,
 * .access_key, .phone_number.
 * Statuses: as above, with CCAI_ERR_CONFIG when the endpoint or key is
 * missing or malformed (reason in ccai_ctx_errmsg()). */
CCAI_MUST_CHECK ccai_status Ccai_acs_rest_from_config(ccai_ctx *ctx, const ccai_config *cfg,
                                                      Ccai_acs_rest **ret);

/* Cancel every running operation (no callbacks) and free. NULL accepted.
 * Legal from inside an operation's callback. */
void Ccai_acs_rest_free(Ccai_acs_rest *client);

/* Participants are given as text: "+<digits>" is a phone number
 * ({"kind":"phoneNumber","phoneNumber":{"value":..}}), "8:..." a
 * communication user ({"kind":"communicationUser","communicationUser":{"id":..}}).
 * Anything else is CCAI_ERR_INVALID_ARG. Strings NULL = not sent. */

/* mediaStreamingOptions (media.md 2.1) of answer and create: audio to and
 * from our WebSocket, started as the call connects. */
typedef struct Ccai_acs_streaming {
    const char *transport_url; /* wss://...; NULL: no media streaming */
    bool unmixed;              /* audioChannelType unmixed (one stream per speaker), else mixed */
    bool bidirectional;        /* enableBidirectional: ACS plays what we send */
    bool start;                /* startMediaStreaming: at once, else :startMediaStreaming */
    bool dtmf;                 /* enableDtmfTones: DtmfData messages on the socket */
    uint32_t sample_rate;      /* 16000 (pcm16KMono) or 24000 (pcm24KMono) */
} Ccai_acs_streaming;

/* POST /calling/callConnections:answer. */
typedef struct Ccai_acs_answer_params {
    const char *incoming_call_context; /* required: from the IncomingCall event */
    const char *callback_uri;          /* required */
    const char *operation_context;
    const char *cognitive_services_endpoint; /* callIntelligenceOptions: TTS, recognition */
    Ccai_acs_streaming streaming;            /* transport_url NULL: none */
} Ccai_acs_answer_params;

/* Statuses (of the start): CCAI_OK; CCAI_ERR_INVALID_ARG (a required field
 * missing, a malformed participant or id, NULL client/params/cb);
 * CCAI_ERR_NOMEM; what Ccai_http_start() returns. ret may be NULL; *ret is
 * valid until the callback returns or the operation is cancelled. Same for
 * every operation below. */
CCAI_MUST_CHECK ccai_status Ccai_acs_call_answer(Ccai_acs_rest *client,
                                                 const Ccai_acs_answer_params *p,
                                                 Ccai_acs_done_fn cb, void *ud, Ccai_acs_op **ret);

/* POST /calling/callConnections (201 CallConnectionProperties). */
typedef struct Ccai_acs_create_params {
    const char *target;           /* required participant */
    const char *callback_uri;     /* required */
    const char *source_caller_id; /* NULL = the client's phone_number; needed for PSTN */
    const char *source_display_name;
    const char *operation_context;
    const char *cognitive_services_endpoint;
    Ccai_acs_streaming streaming; /* transport_url NULL: none */
} Ccai_acs_create_params;

CCAI_MUST_CHECK ccai_status Ccai_acs_call_create(Ccai_acs_rest *client,
                                                 const Ccai_acs_create_params *p,
                                                 Ccai_acs_done_fn cb, void *ud, Ccai_acs_op **ret);

/* POST /calling/callConnections/{id}:play with one play source: SSML
 * ({"kind":"ssml","ssml":{"ssmlText":..}}), or text with an optional voice. */
typedef struct Ccai_acs_play_params {
    const char *ssml; /* exactly one of ssml and text */
    const char *text;
    const char *voice_name; /* text only: "en-US-JennyNeural" */
    const char *play_to;    /* participant; NULL = everyone */
    bool interrupt;         /* interruptCallMediaOperation */
    bool loop;              /* playOptions.loop, always sent */
    const char *operation_context;
    const char *operation_callback_uri;
} Ccai_acs_play_params;

/* call_connection_id: letters, digits and "-_.". */
CCAI_MUST_CHECK ccai_status Ccai_acs_play(Ccai_acs_rest *client, const char *call_connection_id,
                                          const Ccai_acs_play_params *p, Ccai_acs_done_fn cb,
                                          void *ud, Ccai_acs_op **ret);

typedef enum Ccai_acs_recognize_kind {
    CCAI_ACS_RECOGNIZE_SPEECH,
    CCAI_ACS_RECOGNIZE_DTMF,
    CCAI_ACS_RECOGNIZE_SPEECH_OR_DTMF,
    CCAI_ACS_RECOGNIZE_CHOICES,
} Ccai_acs_recognize_kind;

typedef struct Ccai_acs_choice {
    const char *label;          /* required */
    const char *const *phrases; /* NULL-terminated, at least one */
    const char *tone;           /* "one", "pound", ...; NULL = none */
} Ccai_acs_choice;

/* POST /calling/callConnections/{id}:recognize. */
typedef struct Ccai_acs_recognize_params {
    Ccai_acs_recognize_kind kind;
    const char *target;      /* required participant (recognizeOptions.targetParticipant) */
    const char *prompt_ssml; /* playPrompt, SSML; NULL = none */
    const char *prompt_text; /* playPrompt, text (when no SSML) */
    const char *voice_name;
    bool interrupt_prompt;          /* caller may barge in over the prompt */
    bool interrupt_call_media;      /* interruptCallMediaOperation */
    int initial_silence_timeout_s;  /* 1..300; 0 = not sent */
    int end_silence_timeout_ms;     /* speech; 0 = not sent */
    const char *speech_language;    /* "en-US"; NULL = not sent */
    int max_tones;                  /* dtmf: maxTonesToCollect; 0 = not sent */
    int inter_tone_timeout_s;       /* dtmf: 1..60; 0 = not sent */
    const char *const *stop_tones;  /* dtmf: NULL-terminated tone names */
    const Ccai_acs_choice *choices; /* choices: n_choices of them */
    size_t n_choices;
    const char *operation_context;
    const char *operation_callback_uri;
} Ccai_acs_recognize_params;

CCAI_MUST_CHECK ccai_status Ccai_acs_recognize(Ccai_acs_rest *client,
                                               const char *call_connection_id,
                                               const Ccai_acs_recognize_params *p,
                                               Ccai_acs_done_fn cb, void *ud, Ccai_acs_op **ret);

/* POST /calling/callConnections/{id}:transferToParticipant (202). */
typedef struct Ccai_acs_transfer_params {
    const char *target;     /* required participant */
    const char *transferee; /* group calls only */
    const char *source_caller_id;
    const char *operation_context;
    const char *operation_callback_uri;
} Ccai_acs_transfer_params;

CCAI_MUST_CHECK ccai_status Ccai_acs_transfer(Ccai_acs_rest *client, const char *call_connection_id,
                                              const Ccai_acs_transfer_params *p,
                                              Ccai_acs_done_fn cb, void *ud, Ccai_acs_op **ret);

/* for_everyone: POST .../{id}:terminate (the call ends for all); else
 * DELETE .../{id} (the agent leaves). Both 204. */
CCAI_MUST_CHECK ccai_status Ccai_acs_hang_up(Ccai_acs_rest *client, const char *call_connection_id,
                                             bool for_everyone, Ccai_acs_done_fn cb, void *ud,
                                             Ccai_acs_op **ret);

/* POST .../{id}:cancelAllMediaOperations (202): stop what plays and what
 * listens (barge-in); the cancelled operations report PlayCanceled /
 * RecognizeCanceled. */
CCAI_MUST_CHECK ccai_status Ccai_acs_cancel_media(Ccai_acs_rest *client,
                                                  const char *call_connection_id,
                                                  Ccai_acs_done_fn cb, void *ud, Ccai_acs_op **ret);

/* POST .../{id}:startMediaStreaming (start) or :stopMediaStreaming (202):
 * the outcome comes as MediaStreamingStarted / Stopped / Failed at the
 * call's callback (or operation_callback_uri). */
CCAI_MUST_CHECK ccai_status Ccai_acs_media_streaming(Ccai_acs_rest *client,
                                                     const char *call_connection_id, bool start,
                                                     const char *operation_context,
                                                     const char *operation_callback_uri,
                                                     Ccai_acs_done_fn cb, void *ud,
                                                     Ccai_acs_op **ret);

/* POST /calling/recordings (200 RecordingStateResponse, id = recordingId). */
typedef struct Ccai_acs_recording_params {
    const char *server_call_id;     /* required: callLocator serverCallLocator */
    const char *state_callback_uri; /* recordingStateCallbackUri */
    const char *content_type;       /* "audio" (NULL) or "audioVideo" */
    const char *channel_type;       /* "mixed" (NULL) or "unmixed" */
    const char *format_type;        /* "wav" (NULL), "mp3", "mp4" */
    const char *container_url;      /* externalStorage: an Azure Blob container; NULL = ACS's */
} Ccai_acs_recording_params;

CCAI_MUST_CHECK ccai_status Ccai_acs_recording_start(Ccai_acs_rest *client,
                                                     const Ccai_acs_recording_params *p,
                                                     Ccai_acs_done_fn cb, void *ud,
                                                     Ccai_acs_op **ret);

/* POST /sms (202, id = messageId of the recipient). The recipient carries
 * repeatabilityRequestId and repeatabilityFirstSent (the SMS API's
 * repeatable requests: ACS answers a repeat of an accepted message without
 * sending it again, for 5 minutes after the first-sent time); a caller
 * that may send again later (a durable job) gives the same pair each
 * time. A refused recipient is a failure: CCAI_ERR_HTTP with its
 * httpStatusCode in http_status (412 once the first-sent time is outside
 * ACS's tracking window). */
typedef struct Ccai_acs_sms_params {
    const char *to;                /* required, E.164 */
    const char *from;              /* NULL = the client's phone_number; one is required */
    const char *message;           /* required */
    bool delivery_report;          /* smsSendOptions.enableDeliveryReport */
    const char *tag;               /* smsSendOptions.tag */
    const char *repeat_id;         /* a UUID, with repeat_first_sent; NULL = a new one */
    const char *repeat_first_sent; /* RFC 1123 (Ccai_acs_format_date); NULL = now */
} Ccai_acs_sms_params;

CCAI_MUST_CHECK ccai_status Ccai_acs_sms_send(Ccai_acs_rest *client, const Ccai_acs_sms_params *p,
                                              Ccai_acs_done_fn cb, void *ud, Ccai_acs_op **ret);

/* Stop an operation: no callback fires afterwards. NULL accepted; legal
 * inside any callback, including the operation's own (then a no-op). */
void Ccai_acs_op_cancel(Ccai_acs_op *op);

#endif
