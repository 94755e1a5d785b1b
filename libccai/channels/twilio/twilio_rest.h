/* Twilio REST client on the context's asynchronous HTTP client
 * (channels/twilio/twilio_rest.c): create calls, redirect or end live calls, send
 * SMS. Requests are form-encoded with HTTP Basic auth (Account SID, Auth
 * Token); responses are JSON.
 *
 * Lifecycle:
 *   1. Ccai_twilio_rest_new() / Ccai_twilio_rest_from_config() makes a
 *      client bound to one ccai_ctx.
 *   2. Each operation starts at once and reports exactly once through its
 *      Ccai_twilio_done_fn, from the context's loop, never from inside the
 *      call that started it. An operation that fails to start returns an
 *      error and fires no callback. Ccai_twilio_op_cancel() stops one
 *      operation without a callback.
 *   3. Ccai_twilio_rest_free() cancels what is still running (no callbacks)
 *      and must come before ccai_ctx_free(). Operation handles are invalid
 *      from then on.
 *
 * Retries: 429 and 5xx replies are retried (up to max_attempts requests in
 * all) after the delay the Retry-After header gives (seconds or HTTP date,
 * up to 120 s), else after an exponential backoff with jitter
 * (base_backoff_ms * 2^(n-1), at most max_backoff_ms). Transport failures
 * (connection refused, timeout, cut reply) are retried only for updates of
 * an existing call: retrying a create or a send whose request may have
 * reached Twilio could place a second call or send a second message.
 *
 * Statuses reported to the callback: CCAI_OK (2xx with a JSON resource
 * carrying a sid); CCAI_ERR_NOT_FOUND (404: unknown call, e.g. ending a call
 * that already ended, Twilio code 20404); CCAI_ERR_HTTP (any other error
 * reply after the last attempt, or a transport failure); CCAI_ERR_TIMEOUT
 * (the last attempt timed out); CCAI_ERR_PARSE (a 2xx reply without a JSON
 * resource); CCAI_ERR_NOMEM.
 *
 * Context: every function runs on the context's thread; an operation's
 * callback may start operations, cancel any operation, or free the client. */
#ifndef CCAI_CHANNELS_TWILIO_TWILIO_REST_H
#define CCAI_CHANNELS_TWILIO_TWILIO_REST_H

#include "core/common.h"

typedef struct Ccai_twilio_rest Ccai_twilio_rest;
typedef struct Ccai_twilio_op Ccai_twilio_op;

typedef struct Ccai_twilio_rest_opts {
    const char *account_sid;  /* "AC...": letters and digits only */
    const char *auth_token;   /* password of the Basic auth */
    const char *api_base_url; /* NULL = "https://api.twilio.com" */
    const char *from;         /* default From number (E.164), may be NULL */
    int max_attempts;         /* requests per operation; 0 = 4 */
    uint32_t base_backoff_ms; /* 0 = 500 */
    uint32_t max_backoff_ms;  /* 0 = 8000 */
    uint32_t timeout_ms;      /* per request; 0 = 30000 */
} Ccai_twilio_rest_opts;

/* What an operation came to; borrowed, valid during the callback only. */
typedef struct Ccai_twilio_result {
    long http_status;          /* of the last reply; 0 when none came */
    int attempts;              /* HTTP requests made */
    const char *sid;           /* resource sid ("CA..." / "SM..."), or NULL */
    const char *status;        /* resource status ("queued", "completed"), or NULL */
    int error_code;            /* Twilio error code (21211, 20404, ...), 0 if none */
    const char *error_message; /* readable one-line reason; NULL on CCAI_OK */
    const char *more_info;     /* Twilio's documentation URL for the code, or NULL */
    const char *body;          /* raw body of the last reply ("" when none) */
} Ccai_twilio_result;

/* Exactly once per started operation unless it was cancelled. */
typedef void (*Ccai_twilio_done_fn)(ccai_status st, const Ccai_twilio_result *res, void *ud);

/* Make a client. opts are copied.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (NULL ctx/opts/ret, missing or
 * malformed account_sid, missing auth_token); CCAI_ERR_NOMEM.
 * Ownership: *ret freed with Ccai_twilio_rest_free(); untouched on failure. */
CCAI_MUST_CHECK ccai_status Ccai_twilio_rest_new(ccai_ctx *ctx, const Ccai_twilio_rest_opts *opts,
                                                 Ccai_twilio_rest **ret);

/* Same from the context's configuration: twilio.account_sid,
 * twilio.auth_token, twilio.api_base_url, twilio.phone_number (default From).
 * Statuses: as above, with CCAI_ERR_CONFIG when the SID or token is missing
 * or the SID is malformed (reason in ccai_ctx_errmsg()). */
CCAI_MUST_CHECK ccai_status Ccai_twilio_rest_from_config(ccai_ctx *ctx, const ccai_config *cfg,
                                                         Ccai_twilio_rest **ret);

/* Cancel every running operation (no callbacks) and free. NULL accepted.
 * Legal from inside an operation's callback. */
void Ccai_twilio_rest_free(Ccai_twilio_rest *client);

/* POST /2010-04-01/Accounts/{sid}/Calls.json. Strings NULL = not sent. */
typedef struct Ccai_twilio_call_params {
    const char *to;   /* required */
    const char *from; /* NULL = the client's default From; one is required */
    const char *url;  /* exactly one of url, twiml, application_sid */
    const char *twiml;
    const char *application_sid;
    const char *method; /* for url */
    const char *fallback_url;
    const char *status_callback;
    const char *const *status_callback_events; /* NULL-terminated: "initiated", ... */
    const char *status_callback_method;
    int timeout;    /* ring seconds; 0 = not sent */
    int time_limit; /* seconds; 0 = not sent */
    bool record;    /* Record=true */
    const char *recording_status_callback;
    const char *recording_status_callback_method;
    const char *machine_detection; /* "Enable", "DetectMessageEnd" */
    /* Detection while the call goes on: the verdict is POSTed to
     * async_amd_status_callback (AsyncAmd=true). */
    bool async_amd;
    const char *async_amd_status_callback;
    const char *caller_id;
    const char *send_digits;
} Ccai_twilio_call_params;

/* Statuses (of the start): CCAI_OK; CCAI_ERR_INVALID_ARG (no To, no From,
 * not exactly one of Url/Twiml/ApplicationSid, NULL client/params/cb);
 * CCAI_ERR_NOMEM; what Ccai_http_start() returns.
 * ret may be NULL; *ret is valid until the callback returns or the operation
 * is cancelled. Same for every operation below. */
CCAI_MUST_CHECK ccai_status Ccai_twilio_call_create(Ccai_twilio_rest *client,
                                                    const Ccai_twilio_call_params *p,
                                                    Ccai_twilio_done_fn cb, void *ud,
                                                    Ccai_twilio_op **ret);

/* POST .../Calls/{call_sid}.json with Url (and Method when not NULL): the
 * live call fetches and runs new TwiML. call_sid: letters and digits. */
CCAI_MUST_CHECK ccai_status Ccai_twilio_call_redirect(Ccai_twilio_rest *client,
                                                      const char *call_sid, const char *url,
                                                      const char *method, Ccai_twilio_done_fn cb,
                                                      void *ud, Ccai_twilio_op **ret);

/* POST .../Calls/{call_sid}.json with Twiml=<Response>..</Response>. */
CCAI_MUST_CHECK ccai_status Ccai_twilio_call_update_twiml(Ccai_twilio_rest *client,
                                                          const char *call_sid, const char *twiml,
                                                          Ccai_twilio_done_fn cb, void *ud,
                                                          Ccai_twilio_op **ret);

/* POST .../Calls/{call_sid}.json with Status=completed (hang up an answered
 * call) or, with cancel, Status=canceled (a queued or ringing one). */
CCAI_MUST_CHECK ccai_status Ccai_twilio_call_end(Ccai_twilio_rest *client, const char *call_sid,
                                                 bool cancel, Ccai_twilio_done_fn cb, void *ud,
                                                 Ccai_twilio_op **ret);

/* POST .../Calls/{call_sid}/Recordings.json: record a live call (both
 * channels); Twilio posts the recording to status_callback when done. */
CCAI_MUST_CHECK ccai_status Ccai_twilio_call_record(Ccai_twilio_rest *client, const char *call_sid,
                                                    const char *status_callback,
                                                    Ccai_twilio_done_fn cb, void *ud,
                                                    Ccai_twilio_op **ret);

/* POST /2010-04-01/Accounts/{sid}/Messages.json. */
typedef struct Ccai_twilio_sms_params {
    const char *to;   /* required */
    const char *from; /* NULL = messaging_service_sid, else the client's default From */
    const char *messaging_service_sid;
    const char *body; /* required */
    const char *status_callback;
} Ccai_twilio_sms_params;

CCAI_MUST_CHECK ccai_status Ccai_twilio_sms_send(Ccai_twilio_rest *client,
                                                 const Ccai_twilio_sms_params *p,
                                                 Ccai_twilio_done_fn cb, void *ud,
                                                 Ccai_twilio_op **ret);

/* Stop an operation: no callback fires afterwards. NULL accepted; legal
 * inside any callback, including the operation's own (then a no-op). */
void Ccai_twilio_op_cancel(Ccai_twilio_op *op);

#endif
