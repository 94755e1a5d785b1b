/* ACS callback and Event Grid parsing, RS256 JWT verification and SSML. */
#include "channels/acs/acs_events.h"
#include "http/jwt.h"
#include "tts/ssml.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ---- ACS events ---- */

static Ccai_acs_events parse_ok(const char *body, size_t want_n)
{
    Ccai_acs_events l;
    char *err = NULL;
    ccai_status st = Ccai_acs_events_parse(body, strlen(body), &l, &err);
    if (st != CCAI_OK)
        fprintf(stderr, "parse: %s\n", err ? err : "?");
    assert_int_equal(st, CCAI_OK);
    assert_null(err);
    assert_int_equal(l.n, want_n);
    return l;
}

static char *parse_err(const char *body, ccai_status want)
{
    Ccai_acs_events l = {7, NULL};
    char *err = NULL;
    assert_int_equal(Ccai_acs_events_parse(body, strlen(body), &l, &err), want);
    assert_int_equal(l.n, 7); /* untouched */
    assert_non_null(err);
    return err;
}

#define CE_HEAD(type)                                                                            \
    "{\"id\":\"e1\",\"source\":\"calling/callConnections/cc-1\",\"type\":\"Microsoft."           \
    "Communication." type "\",\"specversion\":\"1.0\",\"datacontenttype\":\"application/json\"," \
    "\"time\":\"2024-01-01T00:00:00.000Z\",\"subject\":\"calling/callConnections/cc-1\","        \
    "\"data\":{\"callConnectionId\":\"cc-1\",\"serverCallId\":\"srv-1\",\"correlationId\":"      \
    "\"corr-1\",\"operationContext\":\"[\\\"goodbye\\\"]\""

/* SMSReceived in the Event Grid schema with camelCase keys (the Event Grid
 * documentation) and PascalCase keys (the REST spec examples), and a
 * delivery report; an SMS without its text is malformed. */
static void test_sms_events(void **state)
{
    (void)state;
    Ccai_acs_events l = parse_ok(
        "[{\"id\":\"s1\",\"topic\":\"/subscriptions/x\",\"subject\":\"/phonenumber/15555555555\","
        "\"eventType\":\"Microsoft.Communication.SMSReceived\",\"dataVersion\":\"1.0\","
        "\"eventTime\":\"2024-01-01T00:00:00Z\",\"data\":{\"messageId\":\"Incoming_1\","
        "\"from\":\"15555555555\",\"to\":\"+15555555556\",\"message\":\"My parcel is late\","
        "\"receivedTimestamp\":\"2024-01-01T00:00:00.5Z\"}},"
        "{\"id\":\"s2\",\"eventType\":\"Microsoft.Communication.SMSReceived\",\"data\":{"
        "\"MessageId\":\"Incoming_2\",\"From\":\"+33600000000\",\"To\":\"+33100000000\","
        "\"Message\":\"Bonjour\",\"ReceivedTimestamp\":\"2024-01-02T00:00:00Z\"}},"
        "{\"id\":\"s3\",\"eventType\":\"Microsoft.Communication.SMSDeliveryReportReceived\","
        "\"data\":{\"messageId\":\"Outgoing_1\",\"from\":\"+15555555556\",\"to\":"
        "\"+15555555555\",\"deliveryStatus\":\"Delivered\",\"deliveryStatusDetails\":\"No "
        "error.\",\"receivedTimestamp\":\"2024-01-01T00:00:01Z\",\"tag\":\"x\"}}]",
        3);
    const Ccai_acs_event *a = &l.events[0], *b = &l.events[1], *r = &l.events[2];
    assert_int_equal(a->kind, CCAI_ACS_SMS_RECEIVED);
    assert_string_equal(a->sms_message_id, "Incoming_1");
    assert_string_equal(a->sms_from, "15555555555");
    assert_string_equal(a->sms_to, "+15555555556");
    assert_string_equal(a->sms_text, "My parcel is late");
    assert_string_equal(a->sms_received_at, "2024-01-01T00:00:00.5Z");
    assert_null(a->sms_delivery_status);
    assert_int_equal(b->kind, CCAI_ACS_SMS_RECEIVED);
    assert_string_equal(b->sms_message_id, "Incoming_2");
    assert_string_equal(b->sms_from, "+33600000000");
    assert_string_equal(b->sms_text, "Bonjour");
    assert_int_equal(r->kind, CCAI_ACS_SMS_DELIVERY_REPORT);
    assert_string_equal(r->sms_delivery_status, "Delivered");
    assert_string_equal(r->sms_delivery_details, "No error.");
    assert_string_equal(r->sms_tag, "x");
    assert_null(r->sms_text);
    assert_string_equal(Ccai_acs_kind_name(r->kind), "SMSDeliveryReportReceived");
    Ccai_acs_events_free(&l);

    char *err = parse_err("[{\"eventType\":\"Microsoft.Communication.SMSReceived\",\"data\":{"
                          "\"from\":\"+1555\"}}]",
                          CCAI_ERR_PARSE);
    assert_non_null(strstr(err, "message"));
    ccai_free(err);
    err = parse_err("[{\"eventType\":\"Microsoft.Communication.SMSReceived\",\"data\":{"
                    "\"from\":\"+1555\",\"message\":42}}]",
                    CCAI_ERR_PARSE);
    ccai_free(err);
}

static void test_call_connected(void **state)
{
    (void)state;
    Ccai_acs_events l =
        parse_ok("[" CE_HEAD("CallConnected") ",\"resultInformation\":{\"code\":200,"
                                              "\"subCode\":0,\"message\":\"ok\"}}}]",
                 1);
    const Ccai_acs_event *e = &l.events[0];
    assert_int_equal(e->kind, CCAI_ACS_CALL_CONNECTED);
    assert_string_equal(e->id, "e1");
    assert_string_equal(e->call_connection_id, "cc-1");
    assert_string_equal(e->server_call_id, "srv-1");
    assert_string_equal(e->correlation_id, "corr-1");
    assert_string_equal(e->operation_context, "[\"goodbye\"]");
    assert_true(e->has_result);
    assert_int_equal(e->result_code, 200);
    assert_int_equal(e->result_sub_code, 0);
    assert_string_equal(e->result_message, "ok");
    assert_int_equal(e->failed_play_source_index, -1);
    assert_string_equal(Ccai_acs_kind_name(e->kind), "CallConnected");
    Ccai_acs_events_free(&l);
    assert_int_equal(l.n, 0);
    Ccai_acs_events_free(&l);
    Ccai_acs_events_free(NULL);
}

static void test_recognize_speech(void **state)
{
    (void)state;
    Ccai_acs_events l = parse_ok(
        "[" CE_HEAD("RecognizeCompleted") ",\"resultInformation\":{\"code\":200,\"subCode\":8531,"
                                          "\"message\":\"m\",\"sipDetails\":{\"code\":0,"
                                          "\"message\":\"\"},\"q850Details\":{\"code\":0,"
                                          "\"message\":\"\"}},\"recognitionType\":\"speech\","
                                          "\"speechResult\":{\"speech\":\"I want to talk to an "
                                          "agent\",\"confidence\":0.87}}}]",
        1);
    const Ccai_acs_event *e = &l.events[0];
    assert_int_equal(e->kind, CCAI_ACS_RECOGNIZE_COMPLETED);
    assert_int_equal(e->recognition, CCAI_ACS_RECOGNITION_SPEECH);
    assert_string_equal(e->speech_text, "I want to talk to an agent");
    assert_true(e->has_confidence);
    assert_true(e->speech_confidence > 0.869 && e->speech_confidence < 0.871);
    assert_null(e->dtmf_tones);
    Ccai_acs_events_free(&l);
}

static void test_recognize_dtmf_and_choice(void **state)
{
    (void)state;
    Ccai_acs_events l = parse_ok(
        "[" CE_HEAD(
            "RecognizeCompleted") ",\"resultInformation\":{\"code\":200,\"subCode\":8514},"
                                  "\"recognitionType\":\"dtmf\",\"dtmfResult\":{\"tones\":"
                                  "[\"one\",\"two\",\"nine\",\"zero\",\"asterisk\",\"b\","
                                  "\"pound\"]}}},"
                                  "" CE_HEAD(
                                      "RecognizeCompleted") ",\"resultInformation\":"
                                                            "{\"code\":200,"
                                                            "\"subCode\":8545},"
                                                            "\"recognitionType\":"
                                                            "\"choices\","
                                                            "\"choiceResult\":{"
                                                            "\"label\":\"fr-FR\","
                                                            "\"recognizedPhrase\":"
                                                            "\"french\"}}},"
                                                            "" CE_HEAD(
                                                                "RecognizeCompleted") ","
                                                                                      "\"collectTon"
                                                                                      "esResult\":{"
                                                                                      "\"tones\":["
                                                                                      "\"five\"]}}}"
                                                                                      "]",
        3);
    assert_int_equal(l.events[0].recognition, CCAI_ACS_RECOGNITION_DTMF);
    assert_string_equal(l.events[0].dtmf_tones, "1290*B#");
    assert_int_equal(l.events[0].result_sub_code, 8514);
    assert_int_equal(l.events[1].recognition, CCAI_ACS_RECOGNITION_CHOICES);
    assert_string_equal(l.events[1].choice_label, "fr-FR");
    assert_string_equal(l.events[1].choice_phrase, "french");
    /* Preview shape, type inferred. */
    assert_int_equal(l.events[2].recognition, CCAI_ACS_RECOGNITION_DTMF);
    assert_string_equal(l.events[2].dtmf_tones, "5");
    assert_false(l.events[2].has_result);
    Ccai_acs_events_free(&l);
}

static void test_recognize_failed(void **state)
{
    (void)state;
    Ccai_acs_events l = parse_ok(
        "[" CE_HEAD("RecognizeFailed") ",\"resultInformation\":{\"code\":400,\"subCode\":8510,"
                                       "\"message\":\"Action failed, initial silence timeout "
                                       "reached.\"}}},"
                                       "" CE_HEAD("RecognizeFailed") ",\"resultInformation\":{"
                                                                     "\"code\":400,\"subCode\":"
                                                                     "8547},"
                                                                     "\"failedPlaySourceIndex\":1}}"
                                                                     "]",
        2);
    assert_int_equal(l.events[0].kind, CCAI_ACS_RECOGNIZE_FAILED);
    assert_true(Ccai_acs_event_is_silence_timeout(&l.events[0]));
    assert_false(Ccai_acs_event_is_silence_timeout(&l.events[1]));
    assert_int_equal(l.events[1].failed_play_source_index, 1);
    assert_false(Ccai_acs_event_is_silence_timeout(NULL));
    Ccai_acs_events_free(&l);
    /* The caller stopped pressing keys: silence too. */
    l = parse_ok("[" CE_HEAD("RecognizeFailed") ",\"resultInformation\":{\"code\":400,"
                                                "\"subCode\":8532}}}]",
                 1);
    assert_true(Ccai_acs_event_is_silence_timeout(&l.events[0]));
    Ccai_acs_events_free(&l);
}

static void test_play_transfer_disconnect_recording(void **state)
{
    (void)state;
    Ccai_acs_events l = parse_ok(
        "[" CE_HEAD(
            "PlayCompleted") ",\"resultInformation\":{\"code\":200,\"subCode\":0}}},"
                             "" CE_HEAD(
                                 "PlayFailed") ",\"resultInformation\":{\"code\":400,"
                                               "\"subCode\":8536},"
                                               "\"failedPlaySourceIndex\":0}},"
                                               "" CE_HEAD("PlayStarted") "}}," CE_HEAD(
                                                   "PlayCanceled") "}},"
                                                                   "" CE_HEAD(
                                                                       "CallTransferAccept"
                                                                       "ed") ",\"transferT"
                                                                             "arget\":{"
                                                                             "\"kind\":"
                                                                             "\"phoneNumbe"
                                                                             "r\","
                                                                             "\"rawId\":"
                                                                             "\"4:+"
                                                                             "15550002222"
                                                                             "\","
                                                                             "\"phoneNumbe"
                                                                             "r\":{"
                                                                             "\"value\":"
                                                                             "\"+"
                                                                             "15550002222"
                                                                             "\"}},"
                                                                             "\"transferee"
                                                                             "\":{"
                                                                             "\"rawId\":"
                                                                             "\"4:+"
                                                                             "15550001111"
                                                                             "\"}}},"
                                                                             "" CE_HEAD(
                                                                                 "CallTran"
                                                                                 "sferFail"
                                                                                 "ed") ","
                                                                                       "\""
                                                                                       "re"
                                                                                       "su"
                                                                                       "lt"
                                                                                       "In"
                                                                                       "fo"
                                                                                       "rm"
                                                                                       "at"
                                                                                       "io"
                                                                                       "n"
                                                                                       "\""
                                                                                       ":{"
                                                                                       "\""
                                                                                       "co"
                                                                                       "de"
                                                                                       "\""
                                                                                       ":5"
                                                                                       "00"
                                                                                       ","
                                                                                       "\""
                                                                                       "su"
                                                                                       "bC"
                                                                                       "od"
                                                                                       "e"
                                                                                       "\""
                                                                                       ":"
                                                                                       "70"
                                                                                       "00"
                                                                                       "}}"
                                                                                       "},"
                                                                                       "" CE_HEAD(
                                                                                           "CallDis"
                                                                                           "connect"
                                                                                           "ed") "}"
                                                                                                 "}"
                                                                                                 ","
                                                                                                 "" CE_HEAD(
                                                                                                     "RecordingStateChanged") ",\"recordingId\":\"rec-1\",\"state\":\"active\","
                                                                                                                              "\"startDateTime\":\"2024-01-01T00:00:01Z\","
                                                                                                                              "\"recordingKind\":\"AzureCommunicationServices\"}},"
                                                                                                                              "" CE_HEAD(
                                                                                                                                  "ParticipantsUpdated") ",\"participants\":[],\"sequenceNumber\":3}}]",
        8);
    assert_int_equal(l.events[0].kind, CCAI_ACS_PLAY_COMPLETED);
    assert_int_equal(l.events[1].kind, CCAI_ACS_PLAY_FAILED);
    assert_int_equal(l.events[1].result_sub_code, 8536);
    assert_int_equal(l.events[1].failed_play_source_index, 0);
    assert_int_equal(l.events[2].kind, CCAI_ACS_PLAY_STARTED);
    assert_int_equal(l.events[3].kind, CCAI_ACS_PLAY_CANCELED);
    assert_int_equal(l.events[4].kind, CCAI_ACS_CALL_TRANSFER_ACCEPTED);
    assert_string_equal(l.events[4].transfer_target, "4:+15550002222");
    assert_string_equal(l.events[4].transferee, "4:+15550001111");
    assert_int_equal(l.events[5].kind, CCAI_ACS_CALL_TRANSFER_FAILED);
    assert_int_equal(l.events[6].kind, CCAI_ACS_CALL_DISCONNECTED);
    assert_int_equal(l.events[7].kind, CCAI_ACS_RECORDING_STATE_CHANGED);
    assert_string_equal(l.events[7].recording_id, "rec-1");
    assert_string_equal(l.events[7].recording_state, "active");
    Ccai_acs_events_free(&l);
}

static void test_single_object_and_unknown(void **state)
{
    (void)state;
    Ccai_acs_events l = parse_ok(CE_HEAD("CallDisconnected") "}}", 1);
    assert_int_equal(l.events[0].kind, CCAI_ACS_CALL_DISCONNECTED);
    Ccai_acs_events_free(&l);
    l = parse_ok("[{\"type\":\"Microsoft.Communication.SomethingNew\",\"data\":5},"
                 "{\"type\":\"CallConnected\",\"data\":{}}]",
                 0);
    Ccai_acs_events_free(&l);
    l = parse_ok("[]", 0);
    Ccai_acs_events_free(&l);
}

static void test_event_grid(void **state)
{
    (void)state;
    Ccai_acs_events l = parse_ok(
        "[{\"id\":\"2d1e\",\"topic\":\"/subscriptions/x/resourceGroups/y/providers/"
        "Microsoft.EventGrid/topics/z\",\"subject\":\"\",\"data\":{\"validationCode\":"
        "\"512d38b6-c7b8-40c8-89fe-f46f9e9622b6\",\"validationUrl\":\"https://rp-eastus2."
        "eventgrid.azure.net:553/eventsubscriptions/s/validate?id=1\"},\"eventType\":"
        "\"Microsoft.EventGrid.SubscriptionValidationEvent\",\"eventTime\":"
        "\"2018-01-25T22:12:19.4556811Z\",\"metadataVersion\":\"1\",\"dataVersion\":\"1\"}]",
        1);
    assert_int_equal(l.events[0].kind, CCAI_ACS_SUBSCRIPTION_VALIDATION);
    assert_string_equal(l.events[0].validation_code, "512d38b6-c7b8-40c8-89fe-f46f9e9622b6");
    assert_non_null(strstr(l.events[0].validation_url, ":553/"));
    Ccai_acs_events_free(&l);

    l = parse_ok(
        "[{\"id\":\"ic1\",\"topic\":\"/subscriptions/s/resourceGroups/g/providers/"
        "Microsoft.Communication/communicationServices/acs\",\"subject\":\"/caller/4:+15550001111/"
        "recipient/4:+18005550100\",\"eventType\":\"Microsoft.Communication.IncomingCall\","
        "\"eventTime\":\"2024-01-01T00:00:00Z\",\"dataVersion\":\"1.0\",\"metadataVersion\":\"1\","
        "\"data\":{\"to\":{\"kind\":\"phoneNumber\",\"rawId\":\"4:+18005550100\",\"phoneNumber\":"
        "{\"value\":\"+18005550100\"}},\"from\":{\"kind\":\"phoneNumber\",\"rawId\":"
        "\"4:+15550001111\",\"phoneNumber\":{\"value\":\"+15550001111\"}},\"serverCallId\":"
        "\"srv-9\",\"callerDisplayName\":\"Jane\",\"incomingCallContext\":\"eyJhbGciOi.ctx\","
        "\"customContext\":{\"sipHeaders\":{},\"voipHeaders\":{}},\"correlationId\":\"c-9\"}},"
        "{\"eventType\":\"Microsoft.Communication.ChatMessageReceived\",\"data\":{}}]",
        1);
    const Ccai_acs_event *e = &l.events[0];
    assert_int_equal(e->kind, CCAI_ACS_INCOMING_CALL);
    assert_string_equal(e->incoming_call_context, "eyJhbGciOi.ctx");
    assert_string_equal(e->from_raw_id, "4:+15550001111");
    assert_string_equal(e->from_phone, "+15550001111");
    assert_string_equal(e->to_raw_id, "4:+18005550100");
    assert_string_equal(e->to_phone, "+18005550100");
    assert_string_equal(e->caller_display_name, "Jane");
    assert_string_equal(e->server_call_id, "srv-9");
    assert_string_equal(e->correlation_id, "c-9");
    Ccai_acs_events_free(&l);

    l = parse_ok("[{\"eventType\":\"Microsoft.Communication.IncomingCall\",\"data\":{"
                 "\"incomingCallContext\":\"x\",\"from\":{\"kind\":\"communicationUser\","
                 "\"rawId\":\"8:acs:1\",\"communicationUser\":{\"id\":\"8:acs:1\"}}}},"
                 "{\"eventType\":\"Microsoft.Communication.RecordingFileStatusUpdated\",\"data\":"
                 "{\"recordingStorageInfo\":{\"recordingChunks\":[{\"documentId\":\"doc-1\","
                 "\"index\":0,\"contentLocation\":\"https://blob/rec.wav\"}]},"
                 "\"serverCallId\":\"srv\"}}]",
                 2);
    assert_string_equal(l.events[0].from_raw_id, "8:acs:1");
    assert_null(l.events[0].from_phone);
    assert_null(l.events[0].to_raw_id);
    assert_int_equal(l.events[1].kind, CCAI_ACS_RECORDING_FILE_STATUS_UPDATED);
    assert_string_equal(l.events[1].recording_location, "https://blob/rec.wav");
    assert_null(l.events[1].recording_id); /* a chunk's document is not the recording */
    assert_string_equal(l.events[1].server_call_id, "srv");
    Ccai_acs_events_free(&l);
}

#define RECORDING_EVENT_FMT                                                                    \
    "[{\"id\":\"7283825e-f8f1-4c61-a9ea-752c56890500\",\"topic\":\"/subscriptions/s/"          \
    "resourcegroups/g/providers/microsoft.communication/communicationservices/r\","            \
    "\"subject\":\"%s\",\"data\":{\"recordingStorageInfo\":{\"recordingChunks\":[{"            \
    "\"documentId\":\"0-eus-d12-801b3f3fc462fe8a01e6810cbff729b8\",\"index\":0,"               \
    "\"endReason\":\"SessionEnded\",\"contentLocation\":\"https://storage.asm.skype.com/v1/"   \
    "objects/0-eus-d12-801b3f3fc462fe8a01e6810cbff729b8/content/video\",\"metadataLocation\":" \
    "\"https://storage.asm.skype.com/v1/objects/0-eus-d12-801b3f3fc462fe8a01e6810cbff729b8/"   \
    "content/acsmetadata\"}]},\"recordingStartTime\":\"2021-07-27T15:20:23.6089755Z\","        \
    "\"recordingDurationMs\":6620,\"sessionEndReason\":\"CallEnded\"},\"eventType\":"          \
    "\"Microsoft.Communication.RecordingFileStatusUpdated\",\"dataVersion\":\"1.0\","          \
    "\"metadataVersion\":\"1\",\"eventTime\":\"2021-07-27T15:20:34.2199328Z\"}]"

/* RecordingFileStatusUpdated names its call in the subject only, in the
 * forms Microsoft documents: the event schema's example
 * (azure-rest-api-specs, eventgrid Microsoft.Communication
 * recording_file_status_updated.json) "/recording/call/{call-id}/
 * recordingId/{recording-id}", Learn's event page "/recording/call/
 * {call-id}/serverCallId/{server-call-id}/recordingId/{recording-id}";
 * {call-id} is the call's correlation id. */
static void test_recording_subjects(void **state)
{
    (void)state;
    static const struct {
        const char *subject, *correlation, *server_call, *recording;
    } cases[] = {
        {"/recording/call/add67a69-debe-4998-9f92-5a0d8f6dc00c/recordingId/"
         "eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiI0",
         "add67a69-debe-4998-9f92-5a0d8f6dc00c", NULL, "eyJQbGF0Zm9ybUVuZHBvaW50SWQiOiI0"},
        {"/recording/call/add67a69-debe-4998-9f92-5a0d8f6dc00c/serverCallId/"
         "aHR0cHM6Ly9jb252LWRldi0yMS5jb252/recordingId/rec-77",
         "add67a69-debe-4998-9f92-5a0d8f6dc00c", "aHR0cHM6Ly9jb252LWRldi0yMS5jb252", "rec-77"},
        {"/recording/call/c-1/serverCallId/srv-call-1", "c-1", "srv-call-1", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char body[2048];
        snprintf(body, sizeof body, RECORDING_EVENT_FMT, cases[i].subject);
        Ccai_acs_events l = parse_ok(body, 1);
        const Ccai_acs_event *e = &l.events[0];
        assert_int_equal(e->kind, CCAI_ACS_RECORDING_FILE_STATUS_UPDATED);
        assert_string_equal(e->recording_location,
                            "https://storage.asm.skype.com/v1/objects/"
                            "0-eus-d12-801b3f3fc462fe8a01e6810cbff729b8/content/video");
        assert_int_equal(e->recording_duration_ms, 6620);
        assert_string_equal(e->correlation_id, cases[i].correlation);
        if (cases[i].server_call)
            assert_string_equal(e->server_call_id, cases[i].server_call);
        else
            assert_null(e->server_call_id);
        if (cases[i].recording)
            assert_string_equal(e->recording_id, cases[i].recording);
        else
            assert_null(e->recording_id);
        Ccai_acs_events_free(&l);
    }
    /* The data's own recordingId wins; a subject of another shape is no id. */
    Ccai_acs_events l = parse_ok(
        "[{\"eventType\":\"Microsoft.Communication.RecordingFileStatusUpdated\",\"subject\":"
        "\"/recording/call/c-2/recordingId/from-subject\",\"data\":{\"recordingId\":"
        "\"from-data\"}},{\"eventType\":\"Microsoft.Communication.RecordingFileStatusUpdated\","
        "\"subject\":\"/recording/call/\",\"data\":{}}]",
        2);
    assert_string_equal(l.events[0].recording_id, "from-data");
    assert_string_equal(l.events[0].correlation_id, "c-2");
    assert_null(l.events[1].correlation_id);
    assert_null(l.events[1].recording_location);
    Ccai_acs_events_free(&l);
}

static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        const char *body;
        const char *needle;
    } cases[] = {
        {"", "not JSON"},
        {"[{\"type\":", "not JSON"},
        {"42", "not an array"},
        {"[1]", "event 0"},
        {"[{\"data\":{}}]", "no \"type\""},
        {"[{\"type\":5}]", "not a string"},
        {"[{\"type\":\"Microsoft.Communication.CallConnected\"}]", "no \"data\""},
        {"[{\"type\":\"Microsoft.Communication.CallConnected\",\"data\":[]}]", "no \"data\""},
        {"[{\"type\":\"Microsoft.Communication.CallConnected\",\"data\":{\"callConnectionId\":1}}"
         "]",
         "callConnectionId"},
        {"[{\"type\":\"Microsoft.Communication.PlayFailed\",\"data\":{\"resultInformation\":"
         "{\"code\":\"400\"}}}]",
         "code"},
        {"[{\"type\":\"Microsoft.Communication.RecognizeCompleted\",\"data\":{\"dtmfResult\":"
         "{\"tones\":[\"eleven\"]}}}]",
         "DTMF"},
        {"[{\"type\":\"Microsoft.Communication.RecognizeCompleted\",\"data\":{\"speechResult\":"
         "{\"speech\":\"a\\u0000b\"}}}]",
         "\\u0000"},
        {"[{\"eventType\":\"Microsoft.EventGrid.SubscriptionValidationEvent\",\"data\":{}}]",
         "validationCode"},
        {"[{\"eventType\":\"Microsoft.Communication.IncomingCall\",\"data\":{\"from\":\"x\"}}]",
         "from"},
        {"[{\"type\":\"Microsoft.Communication.CallDisconnected\",\"data\":{}},7]", "event 1"},
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(cases); i++) {
        char *err = parse_err(cases[i].body, CCAI_ERR_PARSE);
        if (!strstr(err, cases[i].needle))
            fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, cases[i].needle);
        ccai_free(err);
    }
    Ccai_acs_events l;
    assert_int_equal(Ccai_acs_events_parse(NULL, 1, &l, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_events_parse("[]", 2, NULL, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_acs_events_parse("x", 1, &l, NULL), CCAI_ERR_PARSE);
}

static void test_limits(void **state)
{
    (void)state;
    Ccai_buf b = {NULL, 0, 0};
    assert_true(Ccai_buf_puts(&b, "["));
    for (unsigned i = 0; i < CCAI_ACS_EVENTS_MAX; i++)
        assert_true(Ccai_buf_puts(&b, i ? ",{\"type\":\"x\"}" : "{\"type\":\"x\"}"));
    assert_true(Ccai_buf_puts(&b, "]"));
    Ccai_acs_events l = parse_ok(b.data, 0);
    Ccai_acs_events_free(&l);
    b.len--;
    assert_true(Ccai_buf_puts(&b, ",{}]"));
    char *err = parse_err(b.data, CCAI_ERR_LIMIT);
    assert_non_null(strstr(err, "101 events"));
    ccai_free(err);
    Ccai_buf_free(&b);

    size_t big = CCAI_ACS_BODY_MAX + 1;
    char *body = Ccai_malloc(big + 1);
    assert_non_null(body);
    memset(body, ' ', big);
    body[0] = '[';
    body[big - 1] = ']';
    body[big] = '\0';
    err = parse_err(body, CCAI_ERR_LIMIT);
    ccai_free(err);
    ccai_free(body);
}

/* ---- JWT ---- */

static EVP_PKEY *test_key;
static char *test_jwks;

static char *b64url(const unsigned char *in, size_t len)
{
    char *out = Ccai_malloc(4 * ((len + 2) / 3) + 1);
    assert_non_null(out);
    int n = EVP_EncodeBlock((unsigned char *)out, in, (int)len);
    assert_true(n >= 0);
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        if (out[i] == '=')
            break;
        out[o++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    out[o] = '\0';
    return out;
}

static char *b64url_str(const char *s)
{
    return b64url((const unsigned char *)s, strlen(s));
}

static char *bn_b64url(EVP_PKEY *key, const char *param)
{
    BIGNUM *bn = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(key, param, &bn), 1);
    unsigned char buf[600];
    int n = BN_bn2bin(bn, buf);
    BN_free(bn);
    return b64url(buf, (size_t)n);
}

static char *jwks_for(EVP_PKEY *key, const char *kid)
{
    char *n = bn_b64url(key, OSSL_PKEY_PARAM_RSA_N);
    char *e = bn_b64url(key, OSSL_PKEY_PARAM_RSA_E);
    char *s = Ccai_asprintf("{\"keys\":[{\"kty\":\"EC\",\"kid\":\"ec\",\"crv\":\"P-256\"},"
                            "{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"%s\",\"n\":\"%s\","
                            "\"e\":\"%s\",\"alg\":\"RS256\"}]}",
                            kid, n, e);
    ccai_free(n);
    ccai_free(e);
    return s;
}

/* header.payload.signature signed with key (NULL: an empty signature). */
static char *sign(EVP_PKEY *key, const char *header, const char *payload)
{
    char *h = b64url_str(header), *p = b64url_str(payload);
    char *input = Ccai_asprintf("%s.%s", h, p);
    ccai_free(h);
    ccai_free(p);
    char *sig = Ccai_strdup("");
    if (key) {
        ccai_free(sig);
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        unsigned char buf[512];
        size_t len = sizeof buf;
        assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key), 1);
        assert_int_equal(EVP_DigestSign(md, buf, &len, (unsigned char *)input, strlen(input)), 1);
        EVP_MD_CTX_free(md);
        sig = b64url(buf, len);
    }
    char *tok = Ccai_asprintf("%s.%s", input, sig);
    ccai_free(input);
    ccai_free(sig);
    return tok;
}

#define ISS    "https://acscallautomation.communication.azure.com"
#define AUD    "/subscriptions/s/resourceGroups/g/providers/Microsoft.Communication/acs"
#define NOW_S  1700000000
#define HDR_OK "{\"alg\":\"RS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}"
#define CLAIMS "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%d,\"nbf\":%d,\"iat\":%d}"

static int jwt_setup(void **state)
{
    (void)state;
    test_key = EVP_RSA_gen(2048);
    if (!test_key)
        return -1;
    test_jwks = jwks_for(test_key, "k1");
    return test_jwks ? 0 : -1;
}

static int jwt_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(test_key);
    ccai_free(test_jwks);
    return 0;
}

static ccai_status verify(const char *tok, char **err)
{
    Ccai_jwks *ks = NULL;
    assert_int_equal(Ccai_jwks_from_json(test_jwks, strlen(test_jwks), 1000, 3600000, &ks, NULL),
                     CCAI_OK);
    Ccai_jwt_expect x = {ISS, AUD, (int64_t)NOW_S * 1000, 60000};
    json_t *claims = NULL;
    ccai_status st = Ccai_jwt_verify(tok, strlen(tok), ks, &x, &claims, err);
    if (st == CCAI_OK) {
        assert_non_null(claims);
        assert_string_equal(json_string_value(json_object_get(claims, "iss")), ISS);
        json_decref(claims);
    } else {
        assert_null(claims);
    }
    Ccai_jwks_free(ks);
    return st;
}

static void expect_fail(const char *tok, ccai_status want, const char *needle)
{
    char *err = NULL;
    assert_int_equal(verify(tok, &err), want);
    assert_non_null(err);
    if (!strstr(err, needle))
        fail_msg("\"%s\" lacks \"%s\"", err, needle);
    ccai_free(err);
}

static char *claims_tok(EVP_PKEY *key, const char *hdr, int exp, int nbf)
{
    char *payload = Ccai_asprintf(CLAIMS, exp, nbf, NOW_S - 10);
    char *t = sign(key, hdr, payload);
    ccai_free(payload);
    return t;
}

static void test_jwt_valid(void **state)
{
    (void)state;
    char *t = claims_tok(test_key, HDR_OK, NOW_S + 300, NOW_S - 10);
    char *err = NULL;
    assert_int_equal(verify(t, &err), CCAI_OK);
    assert_null(err);
    ccai_free(t);
    /* Inside the skew on both sides; aud as an array. */
    t = claims_tok(test_key, HDR_OK, NOW_S - 30, NOW_S + 30);
    assert_int_equal(verify(t, NULL), CCAI_OK);
    ccai_free(t);
    t = sign(test_key, HDR_OK,
             "{\"iss\":\"" ISS "\",\"aud\":[\"other\",\"" AUD "\"],\"exp\":1700000100}");
    assert_int_equal(verify(t, NULL), CCAI_OK);
    ccai_free(t);
}

static void test_jwt_rejects(void **state)
{
    (void)state;
    char *t = claims_tok(test_key, HDR_OK, NOW_S + 300, NOW_S - 10);
    /* Flip one signature character. */
    char *bad = Ccai_strdup(t);
    size_t last = strlen(bad) - 2;
    bad[last] = bad[last] == 'A' ? 'B' : 'A';
    expect_fail(bad, CCAI_ERR_VALIDATION, "signature does not verify");
    ccai_free(bad);
    /* Payload swapped under the same signature. */
    char *other = claims_tok(test_key, HDR_OK, NOW_S + 999, NOW_S - 10);
    char *mixed =
        Ccai_asprintf("%.*s%s", (int)(strrchr(other, '.') - other), other, strrchr(t, '.'));
    expect_fail(mixed, CCAI_ERR_VALIDATION, "signature");
    ccai_free(mixed);
    ccai_free(other);
    ccai_free(t);

    EVP_PKEY *key2 = EVP_RSA_gen(2048);
    assert_non_null(key2);
    t = claims_tok(key2, HDR_OK, NOW_S + 300, NOW_S - 10);
    expect_fail(t, CCAI_ERR_VALIDATION, "signature");
    ccai_free(t);
    EVP_PKEY_free(key2);

    t = claims_tok(test_key, "{\"alg\":\"RS256\",\"kid\":\"k2\"}", NOW_S + 300, NOW_S);
    expect_fail(t, CCAI_ERR_NOT_FOUND, "kid \"k2\"");
    ccai_free(t);
    t = claims_tok(test_key, "{\"alg\":\"RS256\"}", NOW_S + 300, NOW_S);
    expect_fail(t, CCAI_ERR_PARSE, "kid");
    ccai_free(t);

    t = claims_tok(test_key, HDR_OK, NOW_S - 61, NOW_S - 600);
    expect_fail(t, CCAI_ERR_VALIDATION, "expired");
    ccai_free(t);
    t = claims_tok(test_key, HDR_OK, NOW_S + 600, NOW_S + 61);
    expect_fail(t, CCAI_ERR_VALIDATION, "not valid yet");
    ccai_free(t);
    t = sign(test_key, HDR_OK, "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"}");
    expect_fail(t, CCAI_ERR_VALIDATION, "exp");
    ccai_free(t);
    t = sign(test_key, HDR_OK,
             "{\"iss\":\"https://evil.example\",\"aud\":\"" AUD "\",\"exp\":1700000100}");
    expect_fail(t, CCAI_ERR_VALIDATION, "issuer");
    ccai_free(t);
    t = sign(test_key, HDR_OK, "{\"iss\":\"" ISS "\",\"aud\":\"other\",\"exp\":1700000100}");
    expect_fail(t, CCAI_ERR_VALIDATION, "audience");
    ccai_free(t);
    t = sign(test_key, HDR_OK, "{\"iss\":\"" ISS "\",\"aud\":[\"a\",1],\"exp\":1700000100}");
    expect_fail(t, CCAI_ERR_VALIDATION, "audience");
    ccai_free(t);

    /* alg none (unsigned) and HS256 keyed with the public modulus. */
    t = sign(NULL, "{\"alg\":\"none\",\"kid\":\"k1\"}",
             "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1700000100}");
    expect_fail(t, CCAI_ERR_UNSUPPORTED, "\"none\"");
    ccai_free(t);
    t = sign(test_key, "{\"alg\":\"HS256\",\"kid\":\"k1\"}",
             "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":1700000100}");
    expect_fail(t, CCAI_ERR_UNSUPPORTED, "HS256");
    ccai_free(t);
}

static void test_jwt_malformed(void **state)
{
    (void)state;
    expect_fail("abc", CCAI_ERR_PARSE, "three");
    expect_fail("a.b.c.d", CCAI_ERR_PARSE, "three");
    expect_fail("e30*.e30.AAAA", CCAI_ERR_PARSE, "base64url");
    expect_fail("e30=.e30.AAAA", CCAI_ERR_PARSE, "base64url");
    expect_fail("bm90IGpzb24.e30.AAAA", CCAI_ERR_PARSE, "not JSON");
    expect_fail("WzFd.e30.AAAA", CCAI_ERR_PARSE, "not a JSON object");
    char *h = b64url_str(HDR_OK);
    char *tok = Ccai_asprintf("%s.%%%%%%.AAAA", h);
    expect_fail(tok, CCAI_ERR_PARSE, "payload");
    ccai_free(tok);
    tok = Ccai_asprintf("%s.e30.A", h);
    expect_fail(tok, CCAI_ERR_PARSE, "signature");
    ccai_free(tok);
    tok = Ccai_asprintf("%s.e30.", h);
    expect_fail(tok, CCAI_ERR_VALIDATION, "signature");
    ccai_free(tok);
    ccai_free(h);

    size_t n;
    unsigned char *d = Ccai_base64url_decode("aGk", 3, &n);
    assert_non_null(d);
    assert_int_equal(n, 2);
    assert_memory_equal(d, "hi", 2);
    ccai_free(d);
    assert_null(Ccai_base64url_decode("aGl", 3, &n)); /* non-zero trailing bits */
    assert_int_equal(n, 0);

    Ccai_jwks *ks = NULL;
    Ccai_jwt_expect x = {ISS, NULL, 0, 0};
    assert_int_equal(Ccai_jwks_from_json(test_jwks, strlen(test_jwks), 0, 1, &ks, NULL), CCAI_OK);
    assert_int_equal(Ccai_jwt_verify("a.b.c", 5, ks, &x, NULL, NULL), CCAI_ERR_INVALID_ARG);
    Ccai_jwks_free(ks);
}

static void test_jwks_parse(void **state)
{
    (void)state;
    Ccai_jwks *ks = NULL;
    char *err = NULL;
    assert_int_equal(Ccai_jwks_from_json(test_jwks, strlen(test_jwks), 1000, 5000, &ks, &err),
                     CCAI_OK);
    assert_null(err);
    assert_int_equal(Ccai_jwks_count(ks), 1);
    assert_false(Ccai_jwks_stale(ks, 1000));
    assert_false(Ccai_jwks_stale(ks, 5999));
    assert_true(Ccai_jwks_stale(ks, 6000));
    assert_true(Ccai_jwks_stale(ks, 999));
    assert_true(Ccai_jwks_stale(NULL, 0));
    assert_int_equal(Ccai_jwks_count(NULL), 0);
    Ccai_jwks_free(ks);
    Ccai_jwks_free(NULL);

    static const struct {
        const char *json;
        ccai_status st;
    } bad[] = {
        {"nope", CCAI_ERR_PARSE},
        {"{}", CCAI_ERR_PARSE},
        {"{\"keys\":{}}", CCAI_ERR_PARSE},
        {"{\"keys\":[]}", CCAI_ERR_NOT_FOUND},
        {"{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}",
         CCAI_ERR_NOT_FOUND}, /* 24-bit modulus: skipped */
        {"{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":\"@@\",\"e\":\"AQAB\"}]}",
         CCAI_ERR_PARSE},
        {"{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"x\",\"n\":5,\"e\":\"AQAB\"}]}", CCAI_ERR_PARSE},
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(bad); i++) {
        ks = NULL;
        err = NULL;
        assert_int_equal(Ccai_jwks_from_json(bad[i].json, strlen(bad[i].json), 0, 1, &ks, &err),
                         bad[i].st);
        assert_null(ks);
        assert_non_null(err);
        ccai_free(err);
    }
}

/* ---- SSML ---- */

/* The PLS lexicon: entries of the language asked for and of none, text
 * escaped, control characters out. */
static void test_ssml_lexicon(void **state)
{
    (void)state;
    json_t *entries = json_loads("[{\"grapheme\":\"contrat mini\",\"alias\":\"notre formule\","
                                 "\"lang\":\"fr-FR\"},{\"grapheme\":\"R&D <x>\",\"alias\":"
                                 "\"research \\u0001 and development\"},{\"grapheme\":\"cover\","
                                 "\"alias\":\"coverage\",\"lang\":\"en-US\"}]",
                                 0, NULL);
    assert_non_null(entries);
    char *x = NULL;
    assert_int_equal(Ccai_ssml_lexicon(entries, "fr-FR", &x), CCAI_OK);
    assert_non_null(strstr(x, "<lexicon version=\"1.0\" "
                              "xmlns=\"http://www.w3.org/2005/01/pronunciation-lexicon\" "
                              "alphabet=\"ipa\" xml:lang=\"fr-FR\">"));
    assert_non_null(strstr(x, "<lexeme><grapheme>contrat mini</grapheme><alias>notre "
                              "formule</alias></lexeme>"));
    assert_non_null(strstr(x, "<grapheme>R&amp;D &lt;x&gt;</grapheme><alias>research   and "
                              "development</alias>"));
    assert_null(strstr(x, "coverage")); /* another language */
    ccai_free(x);
    assert_int_equal(Ccai_ssml_lexicon(entries, "en-US", &x), CCAI_OK);
    assert_non_null(strstr(x, "coverage"));
    assert_null(strstr(x, "contrat mini"));
    ccai_free(x);
    assert_int_equal(Ccai_ssml_lexicon(entries, "", &x), CCAI_ERR_INVALID_ARG);
    json_decref(entries);
}

/* Several voices in one document, in order, each with its language. */
static void test_ssml_multi(void **state)
{
    (void)state;
    const char *texts[] = {"Pour le français, tapez 1.", "For English & more, press 2."};
    Ccai_ssml_opts o[2] = {
        {"fr-FR", "fr-FR-DeniseNeural", "eq_telecomhp8k", NULL, CCAI_SSML_STYLE_NONE, 0, 0},
        {"en-US", "en-US-AvaNeural", NULL, NULL, CCAI_SSML_STYLE_NONE, 0, 1.2},
    };
    char *x = NULL;
    assert_int_equal(Ccai_ssml_build_multi(texts, o, 2, &x), CCAI_OK);
    assert_string_equal(
        x, "<speak version=\"1.0\" xmlns=\"http://www.w3.org/2001/10/synthesis\" "
           "xmlns:mstts=\"http://www.w3.org/2001/mstts\" xml:lang=\"fr-FR\">"
           "<voice name=\"fr-FR-DeniseNeural\" effect=\"eq_telecomhp8k\"><lang xml:lang=\"fr-FR\">"
           "<prosody rate=\"+0%\">Pour le français, tapez 1.</prosody></lang></voice>"
           "<voice name=\"en-US-AvaNeural\"><lang xml:lang=\"en-US\"><prosody rate=\"+20%\">For "
           "English &amp; more, press 2.</prosody></lang></voice></speak>");
    ccai_free(x);
    assert_int_equal(Ccai_ssml_build_multi(texts, o, 0, &x), CCAI_ERR_INVALID_ARG);
    o[1].voice = NULL;
    assert_int_equal(Ccai_ssml_build_multi(texts, o, 2, &x), CCAI_ERR_INVALID_ARG);
}

static void test_ssml_build(void **state)
{
    (void)state;
    Ccai_ssml_opts o = {"fr-FR",
                        "fr-FR-DeniseNeural",
                        "eq_telecomhp8k",
                        "https://x/lexicon.xml?a=1&b=2",
                        CCAI_SSML_STYLE_CHEERFUL,
                        0,
                        0.75};
    char *s = NULL;
    assert_int_equal(Ccai_ssml_build("Bonjour,   à vous!", &o, &s), CCAI_OK);
    assert_string_equal(
        s, "<speak version=\"1.0\" xmlns=\"http://www.w3.org/2001/10/synthesis\" "
           "xmlns:mstts=\"http://www.w3.org/2001/mstts\" xml:lang=\"fr-FR\">"
           "<voice name=\"fr-FR-DeniseNeural\" effect=\"eq_telecomhp8k\">"
           "<lexicon uri=\"https://x/lexicon.xml?a=1&amp;b=2\"/><lang xml:lang=\"fr-FR\">"
           "<mstts:express-as style=\"cheerful\" styledegree=\"0.5\"><prosody rate=\"-25%\">"
           "Bonjour, à vous!</prosody></mstts:express-as></lang></voice></speak>");
    ccai_free(s);

    Ccai_ssml_opts plain = {"en-US", "en-US-JennyNeural", NULL, NULL, CCAI_SSML_STYLE_NONE, 0, 0};
    assert_int_equal(Ccai_ssml_build("Hi", &plain, &s), CCAI_OK);
    assert_string_equal(s, "<speak version=\"1.0\" xmlns=\"http://www.w3.org/2001/10/synthesis\" "
                           "xmlns:mstts=\"http://www.w3.org/2001/mstts\" xml:lang=\"en-US\">"
                           "<voice name=\"en-US-JennyNeural\"><lang xml:lang=\"en-US\">"
                           "<prosody rate=\"+0%\">Hi</prosody></lang></voice></speak>");
    ccai_free(s);

    Ccai_ssml_opts sad = {"en-US", "v\"<x>", NULL, NULL, CCAI_SSML_STYLE_SAD, 1.25, 9.0};
    assert_int_equal(Ccai_ssml_build("", &sad, &s), CCAI_OK);
    assert_non_null(strstr(s, "name=\"v&quot;&lt;x&gt;\""));
    assert_non_null(strstr(s, "style=\"sad\" styledegree=\"1.25\"><prosody rate=\"+25%\">"
                              "</prosody>"));
    ccai_free(s);

    plain.style_degree = 3;
    assert_int_equal(Ccai_ssml_build("x", &plain, &s), CCAI_ERR_INVALID_ARG);
    plain.style_degree = 0;
    plain.voice = NULL;
    assert_int_equal(Ccai_ssml_build("x", &plain, &s), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_ssml_build(NULL, &o, &s), CCAI_ERR_INVALID_ARG);
}

static void test_ssml_hostile(void **state)
{
    (void)state;
    Ccai_ssml_opts o = {"en-US", "v", NULL, NULL, CCAI_SSML_STYLE_NONE, 0, 1.1};
    char *s = NULL;
    assert_int_equal(Ccai_ssml_build("</prosody><audio src=\"x\"/> Tom & Jerry <![CDATA[ ]]> "
                                     "\x01\x7f\xff\xc3 ok 😀 \xe2\x82\xac"
                                     "5",
                                     &o, &s),
                     CCAI_OK);
    const char *text = strstr(s, "<prosody rate=\"+10%\">");
    assert_non_null(text);
    assert_string_equal(text, "<prosody rate=\"+10%\">/prosody audio src=\"x\"/ Tom &amp; Jerry "
                              "! CDATA ok €5</prosody></lang></voice></speak>");
    ccai_free(s);

    char *c = Ccai_ssml_sanitize("  Déjà\tvu ×2 — Привет, 東京!\n\n ");
    assert_string_equal(c, "Déjà vu 2 Привет, 東京!");
    ccai_free(c);
    assert_null(Ccai_ssml_sanitize(NULL));
}

static void check_chunks(char **chunks, size_t n, size_t max)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(chunks[i]);
        assert_true(len > 0 && len < max);
        assert_false(Ccai_is_space((unsigned char)chunks[i][0]));
        assert_false(Ccai_is_space((unsigned char)chunks[i][len - 1]));
        /* Never a cut inside a UTF-8 sequence. */
        assert_false(((unsigned char)chunks[i][0] & 0xC0) == 0x80);
        unsigned char last = (unsigned char)chunks[i][len - 1];
        assert_false(last >= 0xC0);
    }
    assert_null(chunks[n]);
}

static void test_ssml_chunk(void **state)
{
    (void)state;
    char **ch = NULL;
    size_t n = 0;
    assert_int_equal(Ccai_ssml_chunk("One. Two! Three? Four.", 12, &ch, &n), CCAI_OK);
    assert_int_equal(n, 3);
    assert_string_equal(ch[0], "One. Two!");
    assert_string_equal(ch[1], "Three?");
    assert_string_equal(ch[2], "Four.");
    check_chunks(ch, n, 12);
    Ccai_ssml_chunks_free(ch);

    assert_int_equal(Ccai_ssml_chunk("   ", 0, &ch, &n), CCAI_OK);
    assert_int_equal(n, 0);
    assert_null(ch[0]);
    Ccai_ssml_chunks_free(ch);

    /* "3.5" and "e.g." mid-word are not sentence ends. */
    assert_int_equal(Ccai_ssml_chunk("Pi is 3.14 e.g.x ok. Next", 0, &ch, &n), CCAI_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ch[0], "Pi is 3.14 e.g.x ok. Next");
    Ccai_ssml_chunks_free(ch);

    /* A long sentence is cut at spaces; everything is kept. */
    Ccai_buf b = {NULL, 0, 0};
    for (int i = 0; i < 300; i++)
        assert_true(Ccai_buf_printf(&b, "word%d ", i));
    assert_true(Ccai_buf_puts(&b, "end. Short one."));
    assert_int_equal(Ccai_ssml_chunk(b.data, 0, &ch, &n), CCAI_OK);
    assert_true(n >= 5);
    check_chunks(ch, n, CCAI_SSML_CHUNK_MAX);
    Ccai_buf joined = {NULL, 0, 0};
    for (size_t i = 0; i < n; i++)
        assert_true(Ccai_buf_printf(&joined, "%s%s", i ? " " : "", ch[i]));
    b.len--; /* the input ends "one.", without a trailing space: compare all */
    assert_int_equal(strncmp(joined.data, b.data, b.len), 0);
    assert_non_null(strstr(ch[n - 1], "Short one."));
    Ccai_buf_free(&joined);
    Ccai_buf_free(&b);
    Ccai_ssml_chunks_free(ch);

    /* No spaces, multi-byte characters: cut on a character boundary. */
    for (int i = 0; i < 500; i++)
        assert_true(Ccai_buf_puts(&b, "é"));
    assert_int_equal(Ccai_ssml_chunk(b.data, 0, &ch, &n), CCAI_OK);
    assert_int_equal(n, 3);
    check_chunks(ch, n, CCAI_SSML_CHUNK_MAX);
    assert_int_equal(strlen(ch[0]) + strlen(ch[1]) + strlen(ch[2]), 1000);
    Ccai_ssml_chunks_free(ch);
    Ccai_buf_free(&b);

    assert_int_equal(Ccai_ssml_chunk("x", 3, &ch, &n), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_ssml_chunk(NULL, 0, &ch, &n), CCAI_ERR_INVALID_ARG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_connected),
        cmocka_unit_test(test_sms_events),
        cmocka_unit_test(test_recognize_speech),
        cmocka_unit_test(test_recognize_dtmf_and_choice),
        cmocka_unit_test(test_recognize_failed),
        cmocka_unit_test(test_play_transfer_disconnect_recording),
        cmocka_unit_test(test_single_object_and_unknown),
        cmocka_unit_test(test_event_grid),
        cmocka_unit_test(test_recording_subjects),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_jwt_valid),
        cmocka_unit_test(test_jwt_rejects),
        cmocka_unit_test(test_jwt_malformed),
        cmocka_unit_test(test_jwks_parse),
        cmocka_unit_test(test_ssml_build),
        cmocka_unit_test(test_ssml_lexicon),
        cmocka_unit_test(test_ssml_multi),
        cmocka_unit_test(test_ssml_hostile),
        cmocka_unit_test(test_ssml_chunk),
    };
    return cmocka_run_group_tests(tests, jwt_setup, jwt_teardown);
}
