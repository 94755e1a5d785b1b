/* A local stand-in for the Twilio REST API (2010-04-01 Calls and Messages)
 * for tests, and a sender of signed Twilio webhooks.
 *
 * Lifecycle:
 *   1. twilio_standin_start() binds 127.0.0.1 on an ephemeral port and runs
 *      one server thread; twilio_standin_url() is the api_base_url to give
 *      a client.
 *   2. The test queues faults (twilio_standin_push_fault) and drives it with
 *      any HTTP client; every request is logged, valid or not.
 *   3. twilio_standin_stop() joins the thread and frees everything.
 *
 * Behaviour, as Twilio's:
 *   - HTTP Basic auth with the account SID and auth token is checked on every
 *     request: anything else gets 401, code 20003, and a WWW-Authenticate
 *     header. A path naming another account gets 404, code 20404.
 *   - POST /2010-04-01/Accounts/{Sid}/Calls.json: To, From and one of
 *     Url / Twiml / ApplicationSid required (400, codes 21201, 21213,
 *     21205); To must be "+digits", "client:..." or "sip:..." (21211).
 *     201 with a call resource, sid "CA" + 32 hex, status "queued",
 *     direction "outbound-api".
 *   - POST .../Calls/{CallSid}.json: unknown call 404 / 20404. Status=
 *     completed|canceled ends the call (an ended call gives 404 / 20404);
 *     Url or Twiml on an ended call gives 400 / 21220; another Status value
 *     400 / 21218. 200 with the resource. GET returns the resource.
 *   - POST .../Messages.json: To (21604), Body or MediaUrl (21602), From or
 *     MessagingServiceSid (21603) required. 201 with a message resource,
 *     sid "SM" + 32 hex, status "queued" ("accepted" with a messaging service).
 *   - Other paths 404 / 20404, other methods 405 / 20004. Error bodies are
 *     {"code":..,"message":..,"more_info":"https://www.twilio.com/docs/errors/<code>",
 *     "status":..}. Every reply closes the connection.
 *   Faults are taken, oldest first, by the next request that passed auth and
 *   routing, before its parameters are checked; a 401 never consumes one.
 *
 * Context: every function may be called from any thread while the server
 * runs, except twilio_standin_stop (once, not concurrently with the others).
 * Ownership: inputs are copied; char * results are malloc'd, free() them.
 * Not part of libccai: plain C11 + POSIX + OpenSSL + libcurl, no ccai
 * allocator and no libccai code, so it checks the library independently. */
#ifndef CCAI_TEST_TWILIO_STANDIN_H
#define CCAI_TEST_TWILIO_STANDIN_H

#include <stddef.h>

#define TWILIO_STANDIN_SID   "AC0123456789abcdef0123456789abcdef"
#define TWILIO_STANDIN_TOKEN "standin-auth-token"

typedef struct twilio_standin twilio_standin;

/* NULL arguments take TWILIO_STANDIN_SID / TWILIO_STANDIN_TOKEN. NULL on
 * failure (bind, thread). */
twilio_standin *twilio_standin_start(const char *account_sid, const char *auth_token);
int twilio_standin_port(twilio_standin *s);
/* "http://127.0.0.1:<port>"; valid until twilio_standin_stop(). */
const char *twilio_standin_url(twilio_standin *s);

typedef struct twilio_standin_fault {
    int status;           /* HTTP status: 429, 500, 503, 400, ... */
    int code;             /* Twilio error code; 0 = 20429 (429), 20500 (5xx), 21211 (400),
                             20001 otherwise */
    const char *message;  /* NULL = a generic one for the status */
    int retry_after;      /* > 0: Retry-After: <seconds> */
    const char *raw_body; /* replaces the JSON error body (an HTML proxy page...) */
    int drop;             /* close the connection without any reply */
    int delay_ms;         /* wait before replying (or dropping) */
} twilio_standin_fault;

void twilio_standin_push_fault(twilio_standin *s, const twilio_standin_fault *f);
int twilio_standin_faults_pending(twilio_standin *s);

/* Calls created so far: set a status ("in-progress", ...), read it back
 * (NULL for an unknown call). */
/* An inbound call Twilio put through to us (status in-progress): REST
 * updates of it work as on Twilio. 0, -1 (known already, out of memory). */
int twilio_standin_add_inbound(twilio_standin *s, const char *call_sid, const char *from,
                               const char *to);
int twilio_standin_set_call_status(twilio_standin *s, const char *call_sid, const char *status);
char *twilio_standin_call_status(twilio_standin *s, const char *call_sid);

/* Answering-machine detection, as Twilio runs it on a call created with
 * MachineDetection (Enable or DetectMessageEnd): who picked up gives the
 * AnsweredBy Twilio reports, and where. Enable reports as soon as it knows
 * (a machine is "machine_start", its greeting still playing);
 * DetectMessageEnd waits for a machine's greeting to end and says how
 * ("machine_end_beep", "machine_end_silence", "machine_end_other"); a
 * person is "human", a fax "fax", nothing to judge "unknown". Without
 * AsyncAmd, Twilio requests the call's Url only once detection is done,
 * with AnsweredBy and MachineDetectionDuration among the usual call
 * parameters; with AsyncAmd=true it requests the Url at once, without
 * them, and POSTs CallSid, AccountSid, AnsweredBy and
 * MachineDetectionDuration to AsyncAmdStatusCallback when done. A call
 * created without MachineDetection gets no AnsweredBy at all. */
typedef enum twilio_standin_party {
    TWILIO_PARTY_HUMAN,
    TWILIO_PARTY_MACHINE_BEEP,    /* a greeting, then a beep */
    TWILIO_PARTY_MACHINE_SILENCE, /* a greeting, then silence */
    TWILIO_PARTY_MACHINE_ENDLESS, /* a greeting that goes on past the timeout */
    TWILIO_PARTY_FAX,
    TWILIO_PARTY_SILENT, /* picks up, says nothing */
} twilio_standin_party;

typedef struct twilio_standin_amd {
    char answered_by[32]; /* "" when the call was created without MachineDetection */
    char duration_ms[16]; /* MachineDetectionDuration */
    int async;            /* AnsweredBy goes to amd_url, after the Url request */
    char url[1024];       /* the call's Url */
    char amd_url[1024];   /* AsyncAmdStatusCallback ("" without AsyncAmd) */
} twilio_standin_amd;

/* What Twilio would report for call_sid (created here) answered by who.
 * 0, or -1 for an unknown call. */
int twilio_standin_detect(twilio_standin *s, const char *call_sid, twilio_standin_party who,
                          twilio_standin_amd *ret);

/* Request log, in arrival order; i out of range gives NULL / -1 / 0. */
int twilio_standin_request_count(twilio_standin *s);
char *twilio_standin_request_method(twilio_standin *s, int i);
char *twilio_standin_request_path(twilio_standin *s, int i); /* target as sent */
char *twilio_standin_request_body(twilio_standin *s, int i); /* raw, NUL-terminated */
/* First header of that name (case-insensitive), value trimmed; NULL if absent. */
char *twilio_standin_request_header(twilio_standin *s, int i, const char *name);
int twilio_standin_request_status(twilio_standin *s, int i); /* status replied, -1 dropped */
/* Decoded form parameters of a form-encoded body. */
size_t twilio_standin_request_param_count(twilio_standin *s, int i, const char *name);
char *twilio_standin_request_param(twilio_standin *s, int i, const char *name, size_t nth);
/* All parameters as "name=value\n" lines (decoded, body order). */
char *twilio_standin_request_params(twilio_standin *s, int i);

/* NULL is fine. */
void twilio_standin_stop(twilio_standin *s);

/* Webhooks ------------------------------------------------------------------ */

typedef struct twilio_standin_webhook_opts {
    const char *url;            /* where to POST */
    const char *auth_token;     /* signing key */
    const char *const *params;  /* "name", "value", ..., NULL (form requests) */
    const char *signed_url;     /* URL to sign when it differs from url (a public URL
                                   behind a proxy); NULL = url */
    const char *json_body;      /* JSON-body variant: POST this as application/json,
                                   url and signed_url get &bodySHA256=<hex> */
    int forge;                  /* send a wrong signature (one character changed) */
    int no_signature;           /* send no X-Twilio-Signature header */
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated */
} twilio_standin_webhook_opts;

/* POST a form (or JSON) request with a correct X-Twilio-Signature, the way
 * Twilio does (User-Agent TwilioProxy/1.1). Returns the HTTP status, or -1
 * when no reply came. ret_status_and_body may be NULL; else it receives
 * "<status>\n<body>" (malloc'd; NULL when no reply came). */
int twilio_standin_webhook(const char *url, const char *auth_token, const char *const *params,
                           char **ret_status_and_body);
int twilio_standin_webhook_ex(const twilio_standin_webhook_opts *o, char **ret_status_and_body);

/* The signature Twilio would send for url + params (NULL: none), Base64;
 * malloc'd. Exposed so tests can sign requests they build themselves. */
char *twilio_standin_signature(const char *auth_token, const char *url, const char *const *params);

#endif
