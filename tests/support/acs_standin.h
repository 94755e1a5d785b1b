/* A local stand-in for Azure Communication Services (Call Automation
 * 2024-09-15 and SMS 2021-03-07) for tests.
 *
 * Lifecycle:
 *   1. acs_standin_start() binds 127.0.0.1 on an ephemeral port and runs one
 *      server thread; acs_standin_url() is the endpoint to give a client.
 *   2. The test queues faults (acs_standin_push_fault) and drives it with
 *      any HTTP client; every request is logged, valid or not.
 *   3. acs_standin_stop() joins the thread and frees everything.
 *
 * Behaviour, as ACS's:
 *   - Every request must carry x-ms-date (RFC 1123, within 15 minutes of
 *     now), x-ms-content-sha256 (Base64 SHA-256 of the body) and
 *     Authorization: HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256
 *     &Signature=<Base64 HMAC-SHA256(Base64-decoded key, "METHOD\npath?query\n
 *     date;host;hash")>, host being the Host header received. Anything else
 *     gets 401 {"error":{"code":"Denied","message":...}} with the reason.
 *     The check is an implementation of its own (OpenSSL), not libccai's.
 *   - api-version query parameter required (400 MissingApiVersionParameter);
 *     a body must be JSON (400 BadRequest); Repeatability-Request-ID needs
 *     Repeatability-First-Sent (400).
 *   - POST /calling/callConnections:answer (incomingCallContext, callbackUri
 *     required) 200, POST /calling/callConnections (targets, callbackUri) 201,
 *     both with CallConnectionProperties (callConnectionId, serverCallId,
 *     callConnectionState "connecting", callbackUri, correlationId).
 *   - POST /calling/callConnections/{id}:play (playSources) 202,
 *     :recognize (recognizeInputType, recognizeOptions.targetParticipant) 202,
 *     :transferToParticipant (targetParticipant) 202 {"operationContext":..},
 *     :terminate 204, DELETE /calling/callConnections/{id} 204. An unknown
 *     or ended call gives 404 {"error":{"code":"8522","message":"Call not found"}}.
 *   - POST .../{id}:cancelAllMediaOperations 202; :startMediaStreaming and
 *     :stopMediaStreaming 202 (their outcome is an event: acs_live.h plays it).
 *   - POST /calling/recordings (callLocator.serverCallId) 200
 *     {"recordingId","recordingState":"active","recordingKind":"azureCommunicationServices"}.
 *   - POST /sms (from, smsRecipients[].to, message; 1 to 100 recipients) 202
 *     {"value":[{"to","messageId":"Outgoing_...","httpStatusCode":202,"successful":true}]},
 *     one item per recipient. A recipient with repeatabilityRequestId and
 *     repeatabilityFirstSent is a repeatable request, as the SMS API takes
 *     them (body, not headers; spec 2021-03-07 and its send example; Learn
 *     "Repeatable requests"): the id must be a GUID and the date RFC 1123
 *     (else that recipient fails 400, "repeatabilityResult":"rejected"),
 *     the date at most 5 minutes old (else 412 rejected); a repeat of an
 *     executed request gets the same answer (same messageId, "accepted")
 *     and is not sent again, unless it had failed with a 5xx (it is then
 *     executed again); the same id on another request is 400 rejected.
 *   - Other paths 404. Every reply closes the connection.
 *   Faults are taken, oldest first, by the next request that passed
 *   authentication, before routing; a 401 never consumes one.
 *
 * Context: every function may be called from any thread while the server
 * runs, except acs_standin_stop (once, not concurrently with the others).
 * Ownership: inputs are copied; char * results are malloc'd, free() them;
 * json_t * results are new references (json_decref them).
 * Not part of libccai: C11 + POSIX + OpenSSL + jansson. */
#ifndef CCAI_TEST_ACS_STANDIN_H
#define CCAI_TEST_ACS_STANDIN_H

#include <jansson.h>
#include <stddef.h>

/* Base64 of "ccai-test-acs-access-key-0123456789". */
#define ACS_STANDIN_KEY "Y2NhaS10ZXN0LWFjcy1hY2Nlc3Mta2V5LTAxMjM0NTY3ODk="

typedef struct acs_standin acs_standin;

/* NULL takes ACS_STANDIN_KEY. NULL on failure (bind, thread, bad key). */
acs_standin *acs_standin_start(const char *access_key);
/* "http://127.0.0.1:<port>"; valid until acs_standin_stop(). */
const char *acs_standin_url(acs_standin *s);
/* "127.0.0.1:<port>", the host that requests are signed with. */
const char *acs_standin_host(acs_standin *s);

typedef struct acs_standin_fault {
    int status;               /* HTTP status: 429, 500, 503, 400, ... */
    const char *code;         /* error.code; NULL = "TooManyRequests" / "InternalServerError" /
                                 "BadRequest" */
    const char *message;      /* NULL = a generic one */
    int retry_after;          /* > 0: Retry-After: <seconds> */
    const char *raw_body;     /* replaces the JSON error body (an HTML gateway page...) */
    int drop;                 /* close the connection without any reply */
    int delay_ms;             /* wait before replying (or dropping) */
    int after;                /* serve the request first (an SMS is sent), then reply with
                                 the fault instead: a reply lost after the service acted */
    int sms_recipient_status; /* POST /sms: each recipient fails with this
                                 httpStatusCode (503...) inside the 202, unsent;
                                 the other fields are not used */
} acs_standin_fault;

void acs_standin_push_fault(acs_standin *s, const acs_standin_fault *f);
int acs_standin_faults_pending(acs_standin *s);

/* SMS messages handed to the carrier so far, to `to` (NULL: to anyone). */
int acs_standin_sms_sent(acs_standin *s, const char *to);

/* Register a connected call (as if answered earlier). */
void acs_standin_add_call(acs_standin *s, const char *call_connection_id);

/* The callConnectionId of the call answered or created last (malloc'd),
 * NULL when none is live. */
char *acs_standin_latest_call(acs_standin *s);

/* The callConnectionId request i created (answer, create), malloc'd; NULL
 * for other requests. */
char *acs_standin_request_created(acs_standin *s, int i);
/* When request i arrived (CLOCK_MONOTONIC, ns); 0 out of range. */
unsigned long long acs_standin_request_time_ns(acs_standin *s, int i);

/* Request log, in arrival order; i out of range gives NULL / -1. */
int acs_standin_request_count(acs_standin *s);
char *acs_standin_request_method(acs_standin *s, int i);
char *acs_standin_request_target(acs_standin *s, int i); /* path and query, as sent */
char *acs_standin_request_path(acs_standin *s, int i);   /* without the query */
char *acs_standin_request_body(acs_standin *s, int i);   /* raw, NUL-terminated */
json_t *acs_standin_request_json(acs_standin *s, int i); /* parsed body; NULL if none */
/* First header of that name (case-insensitive), value trimmed; NULL if absent. */
char *acs_standin_request_header(acs_standin *s, int i, const char *name);
int acs_standin_request_status(acs_standin *s, int i); /* status replied, -1 dropped */
/* Why the signature check failed ("" when it passed); malloc'd. */
char *acs_standin_request_auth_error(acs_standin *s, int i);

/* Callbacks, signed as ACS signs them ------------------------------------------
 *
 * The stand-in holds an RSA key and publishes its public half, as ACS does:
 * GET /calling/.well-known/acsopenidconfiguration gives {"issuer",
 * "jwks_uri": "<url>/calling/keys"}, and GET /calling/keys the key set
 * (kid ACS_STANDIN_KID). Neither needs the HMAC signature. A client's
 * openid_config_url is then acs_standin_url() +
 * "/calling/.well-known/acsopenidconfiguration". */

#define ACS_STANDIN_ISSUER "https://acscallautomation.communication.azure.com"
#define ACS_STANDIN_KID    "acs-standin-key-1"

typedef enum acs_standin_token {
    ACS_TOKEN_VALID = 0,
    ACS_TOKEN_FORGED,         /* right kid, signed by a key nobody published */
    ACS_TOKEN_EXPIRED,        /* exp an hour ago */
    ACS_TOKEN_WRONG_AUDIENCE, /* issued for another resource */
} acs_standin_token;

/* "Bearer <RS256 JWT>" for the Authorization header of a callback, with
 * iss ACS_STANDIN_ISSUER and aud audience (the resource id); malloc'd. */
char *acs_standin_bearer(acs_standin *s, const char *audience, acs_standin_token how);

/* Requests for the OpenID configuration and the key set so far. */
int acs_standin_key_fetches(acs_standin *s);

/* A Call Automation callback body: a CloudEvents 1.0 array of one event of
 * type "Microsoft.Communication.<type>" whose data is data_json (an object,
 * NULL = {}) plus callConnectionId; malloc'd, NULL when data_json is not an
 * object. */
char *acs_standin_event(const char *type, const char *call_connection_id, const char *data_json);

/* Deliver a callback as ACS does: POST acs_standin_event(type,
 * call_connection_id, data_json) to url with "Authorization: Bearer"
 * acs_standin_bearer(s, audience, how), from this thread. Returns the HTTP
 * status, -1 when the request failed. */
int acs_standin_deliver(acs_standin *s, const char *url, const char *audience,
                        acs_standin_token how, const char *type, const char *call_connection_id,
                        const char *data_json);

/* A request served (signature valid), for what plays the rest of ACS
 * (acs_live.h): borrowed for the call. */
typedef struct acs_standin_served {
    const char *method;
    const char *path;                            /* without the query */
    const json_t *json;                          /* the body, NULL if none */
    int status;                                  /* replied */
    const char *created;                         /* answer/create: the callConnectionId, else "" */
    const char *server_call_id, *correlation_id; /* of created */
} acs_standin_served;
/* Called from the server thread, with its lock held, after each request
 * served: it must not call the stand-in. NULL removes it. */
typedef void (*acs_standin_hook)(const acs_standin_served *r, void *ud);
void acs_standin_set_hook(acs_standin *s, acs_standin_hook hook, void *ud);

/* NULL is fine. */
void acs_standin_stop(acs_standin *s);

#endif
