/* Azure Communication Services webhook bodies: a sans-I/O parser
 * (channels/acs/acs_events.c).
 *
 * Two deliveries reach ccai-server, both JSON arrays:
 *   - Call Automation callbacks (to the call's callbackUri): CloudEvents 1.0
 *     objects with "type" and "data";
 *   - Event Grid deliveries (the resource's subscription): Event Grid events
 *     with "eventType" and "data", including the subscription validation
 *     handshake and Microsoft.Communication.IncomingCall.
 * Each element is recognised by its own envelope, so one parser serves both
 * routes; a single object instead of an array is accepted too (the Azure SDK
 * parser does the same).
 *
 * Event types this file does not know are skipped (not an error): Azure adds
 * types and fields over time. A known event whose fields have the wrong JSON
 * type is malformed. GA field names are read, plus the preview-era
 * "resultInfo" and "collectTonesResult". */
#ifndef CCAI_CHANNELS_ACS_ACS_EVENTS_H
#define CCAI_CHANNELS_ACS_ACS_EVENTS_H

#include "core/common.h"

/* Limits of Ccai_acs_events_parse(). */
#define CCAI_ACS_BODY_MAX   (1024u * 1024u) /* bytes of body */
#define CCAI_ACS_EVENTS_MAX 100u            /* array elements, known or not */

typedef enum Ccai_acs_kind {
    CCAI_ACS_SUBSCRIPTION_VALIDATION = 1, /* Microsoft.EventGrid.SubscriptionValidationEvent */
    CCAI_ACS_INCOMING_CALL,
    CCAI_ACS_CALL_CONNECTED,
    CCAI_ACS_CALL_DISCONNECTED,
    CCAI_ACS_CREATE_CALL_FAILED,
    CCAI_ACS_ANSWER_FAILED,
    CCAI_ACS_CONNECT_FAILED,
    CCAI_ACS_CALL_TRANSFER_ACCEPTED,
    CCAI_ACS_CALL_TRANSFER_FAILED,
    CCAI_ACS_PLAY_STARTED,
    CCAI_ACS_PLAY_COMPLETED,
    CCAI_ACS_PLAY_CANCELED,
    CCAI_ACS_PLAY_FAILED,
    CCAI_ACS_RECOGNIZE_COMPLETED,
    CCAI_ACS_RECOGNIZE_FAILED,
    CCAI_ACS_RECOGNIZE_CANCELED,
    CCAI_ACS_RECORDING_STATE_CHANGED,
    CCAI_ACS_RECORDING_FILE_STATUS_UPDATED, /* Event Grid: the recording is stored */
    CCAI_ACS_SMS_RECEIVED,                  /* Event Grid: an SMS to the bot's number */
    CCAI_ACS_SMS_DELIVERY_REPORT,           /* Event Grid: SMSDeliveryReportReceived */
    CCAI_ACS_MEDIA_STREAMING_STARTED,       /* media streaming (media.md 2.2) */
    CCAI_ACS_MEDIA_STREAMING_STOPPED,
    CCAI_ACS_MEDIA_STREAMING_FAILED
} Ccai_acs_kind;

typedef enum Ccai_acs_recognition {
    CCAI_ACS_RECOGNITION_NONE = 0,
    CCAI_ACS_RECOGNITION_SPEECH,
    CCAI_ACS_RECOGNITION_DTMF,
    CCAI_ACS_RECOGNITION_CHOICES
} Ccai_acs_recognition;

/* Sub-codes of RecognizeFailed when the caller said nothing, or stopped
 * pressing keys. */
#define CCAI_ACS_SUBCODE_SILENCE_TIMEOUT    8510
#define CCAI_ACS_SUBCODE_INTERDIGIT_TIMEOUT 8532

/* One event. Every string is NUL-terminated, owned by the list, and NULL
 * when the body did not carry it. */
typedef struct Ccai_acs_event {
    Ccai_acs_kind kind;
    char *id; /* envelope id */

    /* Call Automation data common to every callback event. */
    char *call_connection_id;
    char *server_call_id; /* also set for IncomingCall and recording events */
    char *correlation_id; /* also set for IncomingCall */
    char *operation_context;

    /* resultInformation; has_result false when absent. */
    bool has_result;
    int result_code;
    int result_sub_code;
    char *result_message;

    /* PlayFailed / RecognizeFailed: failedPlaySourceIndex, -1 when absent. */
    int failed_play_source_index;

    /* RecognizeCompleted. */
    Ccai_acs_recognition recognition;
    char *speech_text;
    bool has_confidence;
    double speech_confidence;
    char *dtmf_tones; /* "12#": 0-9, A-D, '#' (pound), '*' (asterisk) */
    char *choice_label;
    char *choice_phrase; /* recognizedPhrase, NULL for a DTMF choice */

    /* CallTransferAccepted: rawId of transferTarget and transferee. */
    char *transfer_target;
    char *transferee;

    /* RecordingStateChanged (id, state "active"/"inactive") and
     * RecordingFileStatusUpdated (location of the first chunk's content,
     * length; the call's correlation id, server call id and the recording
     * id from the subject when the data has none). */
    char *recording_id;
    char *recording_state;
    char *recording_location;
    int recording_duration_ms; /* 0 when absent */

    /* MediaStreamingStarted / Stopped / Failed: mediaStreamingUpdate's
     * mediaStreamingStatus ("mediaStreamingStarted", ...) and
     * mediaStreamingStatusDetails ("subscriptionStarted",
     * "streamConnectionInterrupted", "initialWebSocketConnectionFailed", ...). */
    char *streaming_status;
    char *streaming_details;

    /* IncomingCall. Phone numbers are NULL for non-phone identifiers. */
    char *incoming_call_context;
    char *from_raw_id;
    char *from_phone;
    char *to_raw_id;
    char *to_phone;
    char *caller_display_name;

    /* SMSReceived and SMSDeliveryReportReceived (keys matched without
     * regard to case: the service's examples use both camelCase and
     * PascalCase). Numbers are as sent, possibly without the leading '+'. */
    char *sms_message_id;
    char *sms_from;
    char *sms_to;
    char *sms_text;             /* SMSReceived: the message */
    char *sms_received_at;      /* receivedTimestamp, ISO 8601 */
    char *sms_delivery_status;  /* delivery report: "Delivered", "Failed", ... */
    char *sms_delivery_details; /* delivery report: deliveryStatusDetails */
    char *sms_tag;              /* delivery report: the tag the send gave */

    /* SubscriptionValidation: answer {"validationResponse": code}. */
    char *validation_code;
    char *validation_url;
} Ccai_acs_event;

/* Parsed events in body order. A zeroed struct is an empty list. */
typedef struct Ccai_acs_events {
    size_t n;
    Ccai_acs_event *events;
} Ccai_acs_events;

/* Parse body[0..len) (body may be NULL when len is 0) into *out.
 *
 * Statuses: CCAI_OK (possibly with n == 0 when every event was of an
 * unknown type); CCAI_ERR_PARSE (not JSON, not an array or object, an
 * element without a string "type"/"eventType", a known event with a field of
 * the wrong JSON type or an unknown DTMF tone); CCAI_ERR_LIMIT (len >
 * CCAI_ACS_BODY_MAX, more than CCAI_ACS_EVENTS_MAX elements); CCAI_ERR_NOMEM;
 * CCAI_ERR_INVALID_ARG (out NULL, body NULL with len).
 * Ownership: on CCAI_OK *out is the caller's, released with
 * Ccai_acs_events_free(); on failure *out is untouched. ret_err may be NULL;
 * on PARSE / LIMIT it receives a one-line English reason naming the element
 * index, freed with ccai_free() (left NULL when that allocation fails).
 * Context: pure function, any thread. */
CCAI_MUST_CHECK ccai_status Ccai_acs_events_parse(const char *body, size_t len,
                                                  Ccai_acs_events *out, char **ret_err);

/* Free the events and zero *list. NULL and zeroed lists are accepted. */
void Ccai_acs_events_free(Ccai_acs_events *list);

/* The type name without its "Microsoft.Communication." / "Microsoft.EventGrid."
 * prefix ("RecognizeFailed"); "unknown" for values outside the enum. Static. */
const char *Ccai_acs_kind_name(Ccai_acs_kind kind);

/* true for a RecognizeFailed whose sub-code (8510, 8532) says the caller was silent
 * (as opposed to a wrong tone, an unmatched choice or an internal error). */
CCAI_MUST_CHECK bool Ccai_acs_event_is_silence_timeout(const Ccai_acs_event *ev);

#endif
