/* ACS Call Automation callbacks and Event Grid deliveries, see
 * acs_events.h. Field names: protocols.md 3.7 and 3.8. */
#include "channels/acs/acs_events.h"

#include "core/json.h"

#include <stdarg.h>
#include <string.h>

#define PREFIX_COMM "Microsoft.Communication."

typedef struct parser {
    size_t index; /* element being read, for messages */
    ccai_status status;
    char *err; /* message, owned */
} parser;

static const struct {
    const char *name; /* without PREFIX_COMM */
    Ccai_acs_kind kind;
} kinds[] = {
    {"IncomingCall", CCAI_ACS_INCOMING_CALL},
    {"CallConnected", CCAI_ACS_CALL_CONNECTED},
    {"CallDisconnected", CCAI_ACS_CALL_DISCONNECTED},
    {"CreateCallFailed", CCAI_ACS_CREATE_CALL_FAILED},
    {"AnswerFailed", CCAI_ACS_ANSWER_FAILED},
    {"ConnectFailed", CCAI_ACS_CONNECT_FAILED},
    {"CallTransferAccepted", CCAI_ACS_CALL_TRANSFER_ACCEPTED},
    {"CallTransferFailed", CCAI_ACS_CALL_TRANSFER_FAILED},
    {"PlayStarted", CCAI_ACS_PLAY_STARTED},
    {"PlayCompleted", CCAI_ACS_PLAY_COMPLETED},
    {"PlayCanceled", CCAI_ACS_PLAY_CANCELED},
    {"PlayFailed", CCAI_ACS_PLAY_FAILED},
    {"RecognizeCompleted", CCAI_ACS_RECOGNIZE_COMPLETED},
    {"RecognizeFailed", CCAI_ACS_RECOGNIZE_FAILED},
    {"RecognizeCanceled", CCAI_ACS_RECOGNIZE_CANCELED},
    {"RecordingStateChanged", CCAI_ACS_RECORDING_STATE_CHANGED},
    {"RecordingFileStatusUpdated", CCAI_ACS_RECORDING_FILE_STATUS_UPDATED},
    {"SMSReceived", CCAI_ACS_SMS_RECEIVED},
    {"SMSDeliveryReportReceived", CCAI_ACS_SMS_DELIVERY_REPORT},
    {"MediaStreamingStarted", CCAI_ACS_MEDIA_STREAMING_STARTED},
    {"MediaStreamingStopped", CCAI_ACS_MEDIA_STREAMING_STOPPED},
    {"MediaStreamingFailed", CCAI_ACS_MEDIA_STREAMING_FAILED},
};

static const char validation_type[] = "Microsoft.EventGrid.SubscriptionValidationEvent";

const char *Ccai_acs_kind_name(Ccai_acs_kind kind)
{
    if (kind == CCAI_ACS_SUBSCRIPTION_VALIDATION)
        return "SubscriptionValidationEvent";
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(kinds); i++) {
        if (kinds[i].kind == kind)
            return kinds[i].name;
    }
    return "unknown";
}

bool Ccai_acs_event_is_silence_timeout(const Ccai_acs_event *ev)
{
    return ev && ev->kind == CCAI_ACS_RECOGNIZE_FAILED && ev->has_result &&
           (ev->result_sub_code == CCAI_ACS_SUBCODE_SILENCE_TIMEOUT ||
            ev->result_sub_code == CCAI_ACS_SUBCODE_INTERDIGIT_TIMEOUT);
}

/* 0 when the type is not one we handle. */
static Ccai_acs_kind kind_of(const char *type)
{
    if (strcmp(type, validation_type) == 0)
        return CCAI_ACS_SUBSCRIPTION_VALIDATION;
    size_t plen = strlen(PREFIX_COMM);
    if (strncmp(type, PREFIX_COMM, plen) != 0)
        return (Ccai_acs_kind)0;
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(kinds); i++) {
        if (strcmp(type + plen, kinds[i].name) == 0)
            return kinds[i].kind;
    }
    return (Ccai_acs_kind)0;
}

static void fail(parser *p, ccai_status st, const char *fmt, ...) CCAI_PRINTF(3, 4);

static void fail(parser *p, ccai_status st, const char *fmt, ...)
{
    if (p->status != CCAI_OK)
        return;
    p->status = st;
    if (st == CCAI_ERR_NOMEM)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *detail = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    if (detail)
        p->err = Ccai_asprintf("event %zu: %s", p->index, detail);
    ccai_free(detail);
}

/* Copy obj[key] into *dst: absent or null leaves NULL; a non-string is
 * malformed. */
static void get_str(parser *p, const json_t *obj, const char *key, char **dst)
{
    if (p->status != CCAI_OK || !obj)
        return;
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return;
    if (!json_is_string(v)) {
        fail(p, CCAI_ERR_PARSE, "\"%s\" is not a string", key);
        return;
    }
    /* Ccai_json_load() refuses \u0000, so the value is a C string. */
    *dst = Ccai_strndup(json_string_value(v), json_string_length(v));
    if (!*dst)
        fail(p, CCAI_ERR_NOMEM, "out of memory");
}

/* get_str() with key matched without regard to case (the first match). */
static void get_str_ci(parser *p, const json_t *obj, const char *key, char **dst)
{
    if (p->status != CCAI_OK || !obj)
        return;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v)
    {
        if (Ccai_strcasecmp(k, key) == 0) {
            get_str(p, obj, k, dst);
            return;
        }
    }
}

/* obj[key] as an object, NULL when absent or null; malformed otherwise. */
static const json_t *get_obj(parser *p, const json_t *obj, const char *key)
{
    if (p->status != CCAI_OK || !obj)
        return NULL;
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return NULL;
    if (!json_is_object(v)) {
        fail(p, CCAI_ERR_PARSE, "\"%s\" is not an object", key);
        return NULL;
    }
    return v;
}

/* obj[key] as an int; false when absent. */
static bool get_int(parser *p, const json_t *obj, const char *key, int *dst)
{
    if (p->status != CCAI_OK || !obj)
        return false;
    const json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v))
        return false;
    if (!json_is_integer(v) || json_integer_value(v) < -2147483647 ||
        json_integer_value(v) > 2147483647) {
        fail(p, CCAI_ERR_PARSE, "\"%s\" is not a 32-bit integer", key);
        return false;
    }
    *dst = (int)json_integer_value(v);
    return true;
}

/* An identifier: rawId, and the phone number when it is one. */
static void get_identifier(parser *p, const json_t *obj, const char *key, char **raw_id,
                           char **phone)
{
    const json_t *id = get_obj(p, obj, key);
    if (!id)
        return;
    get_str(p, id, "rawId", raw_id);
    if (phone)
        get_str(p, get_obj(p, id, "phoneNumber"), "value", phone);
}

static void get_result(parser *p, const json_t *data, Ccai_acs_event *ev)
{
    const json_t *r = get_obj(p, data, "resultInformation");
    if (!r)
        r = get_obj(p, data, "resultInfo");
    if (!r)
        return;
    ev->has_result = true;
    get_int(p, r, "code", &ev->result_code);
    get_int(p, r, "subCode", &ev->result_sub_code);
    get_str(p, r, "message", &ev->result_message);
}

static int tone_char(const char *name)
{
    static const char *const names[] = {"zero", "one",   "two",   "three",   "four", "five",
                                        "six",  "seven", "eight", "nine",    "a",    "b",
                                        "c",    "d",     "pound", "asterisk"};
    static const char chars[] = "0123456789ABCD#*";
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(names); i++) {
        if (Ccai_strcasecmp(name, names[i]) == 0)
            return chars[i];
    }
    return 0;
}

static void get_tones(parser *p, const json_t *res, Ccai_acs_event *ev)
{
    if (p->status != CCAI_OK || !res)
        return;
    const json_t *tones = json_object_get(res, "tones");
    if (!tones || json_is_null(tones))
        return;
    if (!json_is_array(tones)) {
        fail(p, CCAI_ERR_PARSE, "\"%s\" is not an array", "tones");
        return;
    }
    size_t n = json_array_size(tones);
    char *s = Ccai_malloc(n + 1);
    if (!s) {
        fail(p, CCAI_ERR_NOMEM, "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *t = json_array_get(tones, i);
        int c = json_is_string(t) ? tone_char(json_string_value(t)) : 0;
        if (!c) {
            ccai_free(s);
            fail(p, CCAI_ERR_PARSE, "unknown DTMF tone in \"%s\"", "tones");
            return;
        }
        s[i] = (char)c;
    }
    s[n] = '\0';
    ev->dtmf_tones = s;
}

static void get_recognition(parser *p, const json_t *data, Ccai_acs_event *ev)
{
    char *type = NULL;
    get_str(p, data, "recognitionType", &type);
    if (type) {
        if (strcmp(type, "speech") == 0)
            ev->recognition = CCAI_ACS_RECOGNITION_SPEECH;
        else if (strcmp(type, "dtmf") == 0)
            ev->recognition = CCAI_ACS_RECOGNITION_DTMF;
        else if (strcmp(type, "choices") == 0)
            ev->recognition = CCAI_ACS_RECOGNITION_CHOICES;
        ccai_free(type);
    }
    const json_t *speech = get_obj(p, data, "speechResult");
    get_str(p, speech, "speech", &ev->speech_text);
    if (speech && p->status == CCAI_OK) {
        const json_t *conf = json_object_get(speech, "confidence");
        if (conf && json_is_number(conf)) {
            ev->has_confidence = true;
            ev->speech_confidence = json_number_value(conf);
        } else if (conf && !json_is_null(conf)) {
            fail(p, CCAI_ERR_PARSE, "\"%s\" is not a number", "confidence");
        }
    }
    const json_t *dtmf = get_obj(p, data, "dtmfResult");
    if (!dtmf)
        dtmf = get_obj(p, data, "collectTonesResult");
    get_tones(p, dtmf, ev);
    const json_t *choice = get_obj(p, data, "choiceResult");
    get_str(p, choice, "label", &ev->choice_label);
    get_str(p, choice, "recognizedPhrase", &ev->choice_phrase);
    /* Without a recognitionType, infer it from the result present. */
    if (ev->recognition == CCAI_ACS_RECOGNITION_NONE) {
        if (ev->choice_label)
            ev->recognition = CCAI_ACS_RECOGNITION_CHOICES;
        else if (ev->dtmf_tones)
            ev->recognition = CCAI_ACS_RECOGNITION_DTMF;
        else if (ev->speech_text)
            ev->recognition = CCAI_ACS_RECOGNITION_SPEECH;
    }
}

static void get_recording_location(parser *p, const json_t *data, Ccai_acs_event *ev)
{
    const json_t *info = get_obj(p, data, "recordingStorageInfo");
    if (!info || p->status != CCAI_OK)
        return;
    const json_t *chunks = json_object_get(info, "recordingChunks");
    if (!chunks || json_is_null(chunks))
        return;
    if (!json_is_array(chunks)) {
        fail(p, CCAI_ERR_PARSE, "\"%s\" is not an array", "recordingChunks");
        return;
    }
    const json_t *first = json_array_get(chunks, 0);
    if (!first)
        return;
    if (!json_is_object(first)) {
        fail(p, CCAI_ERR_PARSE, "\"%s\" holds a non-object", "recordingChunks");
        return;
    }
    get_str(p, first, "contentLocation", &ev->recording_location);
}

/* The value of one part of a RecordingFileStatusUpdated subject into *dst
 * (when the data did not give it): what follows marker, up to the next
 * marker or the end. Microsoft documents
 *   /recording/call/{callId}/serverCallId/{serverCallId}/recordingId/{recordingId}
 * and, in the event schema's examples, without the serverCallId part;
 * {callId} is the call's correlationId. */
static void subject_part(parser *p, const char *subject, const char *marker, char **dst)
{
    static const char *const markers[] = {"/recording/call/", "/serverCallId/", "/recordingId/"};
    const char *at = subject ? strstr(subject, marker) : NULL;
    if (p->status != CCAI_OK || *dst || !at)
        return;
    const char *v = at + strlen(marker);
    size_t n = strlen(v);
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(markers); i++) {
        const char *next = strstr(v, markers[i]);
        if (next && (size_t)(next - v) < n)
            n = (size_t)(next - v);
    }
    if (n == 0)
        return;
    *dst = Ccai_strndup(v, n);
    if (!*dst)
        fail(p, CCAI_ERR_NOMEM, "out of memory");
}

static void read_event(parser *p, Ccai_acs_kind kind, const json_t *elem, const json_t *data,
                       Ccai_acs_event *ev)
{
    ev->kind = kind;
    ev->failed_play_source_index = -1;
    get_str(p, elem, "id", &ev->id);
    get_str(p, data, "serverCallId", &ev->server_call_id);
    get_str(p, data, "correlationId", &ev->correlation_id);

    switch (kind) {
    case CCAI_ACS_SUBSCRIPTION_VALIDATION:
        get_str(p, data, "validationCode", &ev->validation_code);
        get_str(p, data, "validationUrl", &ev->validation_url);
        if (p->status == CCAI_OK && !ev->validation_code)
            fail(p, CCAI_ERR_PARSE, "%s without \"validationCode\"", "SubscriptionValidationEvent");
        return;
    case CCAI_ACS_INCOMING_CALL:
        get_str(p, data, "incomingCallContext", &ev->incoming_call_context);
        get_identifier(p, data, "from", &ev->from_raw_id, &ev->from_phone);
        get_identifier(p, data, "to", &ev->to_raw_id, &ev->to_phone);
        get_str(p, data, "callerDisplayName", &ev->caller_display_name);
        if (p->status == CCAI_OK && !ev->incoming_call_context)
            fail(p, CCAI_ERR_PARSE, "%s without \"incomingCallContext\"", "IncomingCall");
        return;
    case CCAI_ACS_RECORDING_FILE_STATUS_UPDATED: {
        get_str(p, data, "recordingId", &ev->recording_id);
        get_recording_location(p, data, ev);
        get_int(p, data, "recordingDurationMs", &ev->recording_duration_ms);
        /* Event Grid names the call in the subject only. */
        const char *subject = json_string_value(json_object_get(elem, "subject"));
        subject_part(p, subject, "/recording/call/", &ev->correlation_id);
        subject_part(p, subject, "/serverCallId/", &ev->server_call_id);
        subject_part(p, subject, "/recordingId/", &ev->recording_id);
        return;
    }
    case CCAI_ACS_SMS_RECEIVED:
    case CCAI_ACS_SMS_DELIVERY_REPORT:
        get_str_ci(p, data, "messageId", &ev->sms_message_id);
        get_str_ci(p, data, "from", &ev->sms_from);
        get_str_ci(p, data, "to", &ev->sms_to);
        get_str_ci(p, data, "receivedTimestamp", &ev->sms_received_at);
        if (kind == CCAI_ACS_SMS_RECEIVED) {
            get_str_ci(p, data, "message", &ev->sms_text);
            if (p->status == CCAI_OK && (!ev->sms_from || !ev->sms_text))
                fail(p, CCAI_ERR_PARSE, "SMSReceived without \"from\" or \"message\"");
        } else {
            get_str_ci(p, data, "deliveryStatus", &ev->sms_delivery_status);
            get_str_ci(p, data, "deliveryStatusDetails", &ev->sms_delivery_details);
            get_str_ci(p, data, "tag", &ev->sms_tag);
        }
        return;
    default: break;
    }

    get_str(p, data, "callConnectionId", &ev->call_connection_id);
    get_str(p, data, "operationContext", &ev->operation_context);
    get_result(p, data, ev);
    switch (kind) {
    case CCAI_ACS_PLAY_FAILED:
    case CCAI_ACS_RECOGNIZE_FAILED:
        get_int(p, data, "failedPlaySourceIndex", &ev->failed_play_source_index);
        break;
    case CCAI_ACS_RECOGNIZE_COMPLETED: get_recognition(p, data, ev); break;
    case CCAI_ACS_CALL_TRANSFER_ACCEPTED:
        get_identifier(p, data, "transferTarget", &ev->transfer_target, NULL);
        get_identifier(p, data, "transferee", &ev->transferee, NULL);
        break;
    case CCAI_ACS_RECORDING_STATE_CHANGED:
        get_str(p, data, "recordingId", &ev->recording_id);
        get_str(p, data, "state", &ev->recording_state);
        break;
    case CCAI_ACS_MEDIA_STREAMING_STARTED:
    case CCAI_ACS_MEDIA_STREAMING_STOPPED:
    case CCAI_ACS_MEDIA_STREAMING_FAILED: {
        const json_t *u = get_obj(p, data, "mediaStreamingUpdate");
        get_str_ci(p, u, "mediaStreamingStatus", &ev->streaming_status);
        get_str_ci(p, u, "mediaStreamingStatusDetails", &ev->streaming_details);
        break;
    }
    default: break;
    }
}

static void event_clear(Ccai_acs_event *ev)
{
    char **strs[] = {&ev->id,
                     &ev->call_connection_id,
                     &ev->server_call_id,
                     &ev->correlation_id,
                     &ev->operation_context,
                     &ev->result_message,
                     &ev->speech_text,
                     &ev->dtmf_tones,
                     &ev->choice_label,
                     &ev->choice_phrase,
                     &ev->transfer_target,
                     &ev->transferee,
                     &ev->recording_id,
                     &ev->recording_state,
                     &ev->recording_location,
                     &ev->incoming_call_context,
                     &ev->from_raw_id,
                     &ev->from_phone,
                     &ev->to_raw_id,
                     &ev->to_phone,
                     &ev->caller_display_name,
                     &ev->sms_message_id,
                     &ev->sms_from,
                     &ev->sms_to,
                     &ev->sms_text,
                     &ev->sms_received_at,
                     &ev->sms_delivery_status,
                     &ev->sms_delivery_details,
                     &ev->sms_tag,
                     &ev->validation_code,
                     &ev->validation_url,
                     &ev->streaming_status,
                     &ev->streaming_details};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(strs); i++)
        ccai_free(*strs[i]);
    memset(ev, 0, sizeof *ev);
}

void Ccai_acs_events_free(Ccai_acs_events *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->n; i++)
        event_clear(&list->events[i]);
    ccai_free(list->events);
    memset(list, 0, sizeof *list);
}

/* The type of one element, NULL with p->status set when it has none. */
static const char *element_type(parser *p, const json_t *elem)
{
    if (!json_is_object(elem)) {
        fail(p, CCAI_ERR_PARSE, "is %s, not an object", Ccai_json_kind(elem));
        return NULL;
    }
    /* Event Grid schema names it eventType; CloudEvents name it type. */
    const char *key = json_object_get(elem, "eventType") ? "eventType" : "type";
    const json_t *t = json_object_get(elem, key);
    if (!t) {
        fail(p, CCAI_ERR_PARSE, "%s", "no \"type\" or \"eventType\"");
        return NULL;
    }
    if (!json_is_string(t)) {
        fail(p, CCAI_ERR_PARSE, "\"%s\" is not a string", key);
        return NULL;
    }
    return json_string_value(t);
}

ccai_status Ccai_acs_events_parse(const char *body, size_t len, Ccai_acs_events *out,
                                  char **ret_err)
{
    if (!out || (!body && len))
        return CCAI_ERR_INVALID_ARG;
    if (len > CCAI_ACS_BODY_MAX) {
        if (ret_err)
            *ret_err =
                Ccai_asprintf("body of %zu bytes exceeds the limit of %u", len, CCAI_ACS_BODY_MAX);
        return CCAI_ERR_LIMIT;
    }
    Ccai_json_err jerr = {0, 0, NULL};
    ccai_status st = CCAI_OK;
    json_t *root = Ccai_json_load(body ? body : "", len, &jerr, &st);
    if (!root) {
        if (st == CCAI_ERR_PARSE && ret_err)
            *ret_err =
                Ccai_asprintf("not JSON: %s at line %u, column %u",
                              jerr.text ? jerr.text : "syntax error", jerr.line, jerr.column);
        return st;
    }
    parser p = {0, CCAI_OK, NULL};
    Ccai_acs_events list = {0, NULL};
    size_t count = json_is_array(root) ? json_array_size(root) : 1;
    if (!json_is_array(root) && !json_is_object(root)) {
        p.status = CCAI_ERR_PARSE;
        p.err = Ccai_asprintf("body is %s, not an array of events", Ccai_json_kind(root));
        goto out;
    }
    if (count > CCAI_ACS_EVENTS_MAX) {
        p.status = CCAI_ERR_LIMIT;
        p.err = Ccai_asprintf("%zu events exceed the limit of %u", count, CCAI_ACS_EVENTS_MAX);
        goto out;
    }
    if (count) {
        list.events = Ccai_calloc(count, sizeof *list.events);
        if (!list.events) {
            p.status = CCAI_ERR_NOMEM;
            goto out;
        }
    }
    for (size_t i = 0; i < count && p.status == CCAI_OK; i++) {
        p.index = i;
        const json_t *elem = json_is_array(root) ? json_array_get(root, i) : root;
        const char *type = element_type(&p, elem);
        if (!type)
            break;
        Ccai_acs_kind kind = kind_of(type);
        if (!kind)
            continue;
        const json_t *data = json_object_get(elem, "data");
        if (!json_is_object(data)) {
            fail(&p, CCAI_ERR_PARSE, "%s has no \"data\" object", type);
            break;
        }
        /* Counted before reading so a failure frees what was copied. */
        Ccai_acs_event *ev = &list.events[list.n++];
        read_event(&p, kind, elem, data, ev);
    }
out:
    json_decref(root);
    if (p.status != CCAI_OK) {
        Ccai_acs_events_free(&list);
        if (ret_err && p.status != CCAI_ERR_NOMEM)
            *ret_err = p.err;
        else
            ccai_free(p.err);
        return p.status;
    }
    *out = list;
    return CCAI_OK;
}
