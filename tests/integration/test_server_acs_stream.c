/* ACS in stream mode (communication_services.voice: stream) through the
 * real ccai-server process: Event Grid's IncomingCall, the answer with its
 * mediaStreamingOptions (as the REST API takes them), then ACS's side played
 * by the stand-in (acs_live.h): CallConnected, the media WebSocket with its
 * bearer token (AudioMetadata, AudioData every 20 ms, DtmfData), the media
 * streaming events, the socket's reconnection after a drop. The caller's
 * speech is made at test time with espeak-ng and recognised offline
 * (pocketsphinx); the bot's audio (flite) is heard by the caller. Also: the
 * language menu answered by a key, barge-in (StopAudio), the take-back
 * after kill -9 (by ACS's reconnection and by its MediaStreamingFailed),
 * hang-ups both ways, a transfer, an outbound call, refused upgrades,
 * malformed and oversized messages, a stream in the wrong format. Skipped
 * without pocketsphinx's model, flite or espeak-ng. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/acs_live.h"
#include "support/acs_standin.h"
#include "support/llm_standin.h"
#include "support/media_drivers.h"
#include "support/server_proc.h"
#include "support/stream_server.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUBLIC   "https://bot.example.test"
#define BOT      "+15550002222"
#define CALLER   "+33612345678"
#define RESOURCE "acs-resource-0001"
#define RATE     16000

static const char *server_path;

typedef struct srv {
    stream_server sv;
    acs_standin *acs;
    acs_live *live;
} srv;

static void spawn_server(srv *s)
{
    char ep[256], openid[256];
    snprintf(ep, sizeof ep, "COMMUNICATION_SERVICES__ENDPOINT=%s", acs_standin_url(s->acs));
    snprintf(openid, sizeof openid,
             "COMMUNICATION_SERVICES__OPENID_CONFIG_URL=%s/calling/.well-known/"
             "acsopenidconfiguration",
             acs_standin_url(s->acs));
    const char *const settings[] = {ep,
                                    openid,
                                    "COMMUNICATION_SERVICES__ACCESS_KEY=" ACS_STANDIN_KEY,
                                    "COMMUNICATION_SERVICES__PHONE_NUMBER=" BOT,
                                    "COMMUNICATION_SERVICES__RESOURCE_ID=" RESOURCE,
                                    "COMMUNICATION_SERVICES__VOICE=stream",
                                    "SERVER__LISTEN=127.0.0.1:0",
                                    "SERVER__API_TOKEN=tok",
                                    "SERVER__PUBLIC_URL=" PUBLIC,
                                    "CONVERSATION__INITIATE__LANG__DEFAULT_SHORT_CODE=en-US",
                                    "CONFIG_YAML=",
                                    NULL};
    stream_server_spawn(&s->sv, settings);
    if (s->live)
        acs_live_set_port(s->live, s->sv.port);
}

/* extra: more settings (NULL: none); lo: how ACS's side behaves (port,
 * stand-in, audience and base are filled in). */
static void start_with(srv *s, const char *const *extra, acs_live_opts lo)
{
    memset(s, 0, sizeof *s);
    stream_server_init(&s->sv, server_path, "/tmp/ccai-acsstream-XXXXXX", extra);
    s->acs = acs_standin_start(NULL);
    assert_non_null(s->acs);
    spawn_server(s);
    lo.acs = s->acs;
    lo.audience = RESOURCE;
    lo.public_base = PUBLIC;
    lo.port = s->sv.port;
    s->live = acs_live_start(&lo);
    assert_non_null(s->live);
}

static const acs_live_opts defaults = {
    .reconnect_attempts = -1, .participant = "4:" CALLER, .server_call_id = "srv-1"};

static void stop(srv *s)
{
    stream_server_stop(&s->sv);
    acs_live_stop(s->live);
    acs_standin_stop(s->acs);
}

/* The first stand-in request from index from whose path ends with suffix;
 * -1 within max_ms. */
static int wait_request(srv *s, int from, const char *suffix, int max_ms)
{
    for (int t = 0; t < max_ms; t += 20) {
        int n = acs_standin_request_count(s->acs);
        for (int i = from; i < n; i++) {
            char *p = acs_standin_request_path(s->acs, i);
            bool ok =
                p && strlen(p) >= strlen(suffix) && !strcmp(p + strlen(p) - strlen(suffix), suffix);
            free(p);
            if (ok)
                return i;
        }
        stream_sleep_ms(20);
    }
    return -1;
}

/* Event Grid's IncomingCall for the bot's number, sent to port on
 * 127.0.0.1; the call's id (from the transportUrl, malloc'd). */
static char *ring_at(srv *s, int port)
{
    const char *incoming =
        "[{\"id\":\"i1\",\"topic\":\"/subscriptions/x\",\"subject\":\"/caller/x\","
        "\"eventType\":\"Microsoft.Communication.IncomingCall\",\"eventTime\":"
        "\"2026-11-25T10:00:00Z\",\"dataVersion\":\"1.0\",\"metadataVersion\":\"1\",\"data\":{"
        "\"to\":{\"kind\":\"phoneNumber\",\"rawId\":\"4:" BOT "\",\"phoneNumber\":{\"value\":\"" BOT
        "\"}},\"from\":{\"kind\":\"phoneNumber\",\"rawId\":\"4:" CALLER "\",\"phoneNumber\":"
        "{\"value\":\"" CALLER "\"}},\"serverCallId\":\"srv-1\",\"incomingCallContext\":"
        "\"ctx-1\",\"correlationId\":\"corr-1\"}}]";
    int from = acs_standin_request_count(s->acs);
    long code = server_proc_request(port, "POST", "/acs/events", incoming, NULL, NULL);
    assert_int_equal(code, 200);
    int i = wait_request(s, from, "/calling/callConnections:answer", 10000);
    assert_true(i >= 0);
    json_t *j = acs_standin_request_json(s->acs, i);
    const char *url = json_string_value(
        json_object_get(json_object_get(j, "mediaStreamingOptions"), "transportUrl"));
    assert_non_null(url);
    const char *at = strstr(url, "call=");
    assert_non_null(at);
    char *id = strndup(at + 5, strcspn(at + 5, "&"));
    json_decref(j);
    return id;
}

static char *ring(srv *s)
{
    return ring_at(s, s->sv.port);
}

static bool wait_call(srv *s, const char *id, const char *what, int max_ms)
{
    for (int t = 0; t < max_ms; t += 100) {
        char *c = stream_server_call(&s->sv, id);
        bool ok = strstr(c, what) != NULL;
        free(c);
        if (ok)
            return true;
        stream_sleep_ms(100);
    }
    return false;
}

/* Within max_ms, the call stores the caller's spoken words: a human
 * message of action "talk" with some text (a key or the menu's answer is
 * not one). */
static bool wait_words(srv *s, const char *id, int max_ms)
{
    for (int t = 0; t < max_ms; t += 100) {
        char *body = stream_server_call(&s->sv, id);
        json_t *j = json_loads(body, 0, NULL);
        free(body);
        bool found = false;
        size_t i;
        json_t *m;
        json_array_foreach(json_object_get(j, "messages"), i, m)
        {
            const char *persona = json_string_value(json_object_get(m, "persona"));
            const char *action = json_string_value(json_object_get(m, "action"));
            const char *content = json_string_value(json_object_get(m, "content"));
            found = found || (persona && !strcmp(persona, "human") && action &&
                              !strcmp(action, "talk") && content && *content);
        }
        json_decref(j);
        if (found)
            return true;
        stream_sleep_ms(100);
    }
    return false;
}

static size_t heard(media_driver *d)
{
    size_t n = 0;
    free(media_driver_heard(d, &n));
    return n;
}

/* The stream connected; the menu heard and answered with key 2 (English);
 * the greeting heard. */
static media_driver *connect_and_choose(srv *s, const char *id)
{
    media_driver *d = acs_live_wait_stream(s->live, 1, 10000);
    assert_non_null(d);
    assert_true(stream_wait_heard(d, RATE * 2, 30000) >= RATE * 2); /* the language menu */
    size_t before = heard(d);
    media_driver_dtmf(d, '2'); /* the second language: English */
    assert_true(stream_wait_heard(d, before + RATE, 30000) >= before + RATE);
    assert_true(wait_call(s, id, "\"lang\":\"en-US\",\"initiate\"", 10000));
    return d;
}

/* A whole call ------------------------------------------------------------------- */

static void test_stream_call(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    start_with(&s, NULL, defaults);
    char *id = ring(&s);

    /* The answer's mediaStreamingOptions, exactly as the REST API takes
     * them; the API version that has them. */
    json_t *mso = acs_live_options(s.live);
    assert_non_null(mso);
    char want[512];
    char *url = strdup(json_string_value(json_object_get(mso, "transportUrl")));
    snprintf(want, sizeof want, "wss://bot.example.test/acs/media?call=%s&s=", id);
    assert_int_equal(strncmp(url, want, strlen(want)), 0);
    assert_true(strlen(url) > strlen(want) + 16); /* an unguessable secret */
    json_object_del(mso, "transportUrl");
    char *rest = json_dumps(mso, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(rest, "{\"audioChannelType\":\"unmixed\",\"audioFormat\":\"pcm16KMono\","
                              "\"contentType\":\"audio\",\"enableBidirectional\":true,"
                              "\"enableDtmfTones\":true,\"startMediaStreaming\":true,"
                              "\"transportType\":\"websocket\"}");
    free(rest);
    json_decref(mso);
    char *target = acs_standin_request_target(s.acs, 0);
    assert_non_null(strstr(target, "api-version=2025-06-15"));
    free(target);

    /* The media WebSocket without ACS's token, with a forged one, with a
     * wrong secret, for an unknown call: refused before any WebSocket. */
    char *path = strdup(url + strlen("wss://bot.example.test"));
    free(url);
    char *forged = acs_standin_bearer(s.acs, RESOURCE, ACS_TOKEN_FORGED);
    char *valid = acs_standin_bearer(s.acs, RESOURCE, ACS_TOKEN_VALID);
    char wrong[512];
    snprintf(wrong, sizeof wrong, "/acs/media?call=%s&s=not-the-secret", id);
    struct {
        const char *path, *auth;
        int status;
    } refusals[] = {{path, NULL, 401},
                    {path, forged, 401},
                    {wrong, valid, 401},
                    {"/acs/media?call=00000000-0000-4000-8000-000000000000&s=x", valid, 404}};
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        acs_media_opts o = {
            .port = s.sv.port, .path = refusals[i].path, .authorization = refusals[i].auth};
        media_driver *bad = acs_media_connect(&o);
        assert_int_equal(media_driver_status(bad), refusals[i].status);
        media_driver_free(bad);
    }
    free(forged);
    free(valid);

    /* ACS's own stream: the menu, a key, the greeting. */
    media_driver *d = connect_and_choose(&s, id);
    assert_int_equal(media_driver_warnings(d), 0); /* every message parsed as ACS parses them */
    char *events = acs_live_log(s.live);
    assert_non_null(strstr(events, "CallConnected 200\nMediaStreamingStarted 200\n"));
    free(events);

    /* The caller answers: recognised offline and stored. */
    stream_say(d, "the city of london", RATE);
    for (int i = 0; i < 300 && media_driver_queued_ms(d) < 1000; i++)
        stream_sleep_ms(100);
    assert_true(media_driver_queued_ms(d) >= 1000); /* the bot's answer is playing */
    assert_true(wait_words(&s, id, 1000));
    /* Barge-in: the caller talks over it: StopAudio. */
    int clears = media_driver_clears(d);
    stream_say(d, "hello can you hear me now i want to talk about my claim please", RATE);
    for (int i = 0; i < 150 && media_driver_clears(d) == clears; i++)
        stream_sleep_ms(100);
    assert_true(media_driver_clears(d) > clears);
    stream_sleep_ms(3000);

    /* kill -9 mid-call: ACS connects the stream again, to the restarted
     * server, which takes the call back; the caller hears it again. */
    char *before = stream_server_call(&s.sv, id);
    int humans = stream_count(before, "\"persona\":\"human\"");
    free(before);
    assert_int_equal(server_proc_stop(s.sv.pid, SIGKILL), 128 + SIGKILL);
    s.sv.pid = -1;
    spawn_server(&s);
    d = acs_live_wait_stream(s.live, 2, 15000);
    assert_non_null(d);
    assert_true(stream_wait_heard(d, RATE, 30000) >= RATE);
    assert_true(stream_server_wait_log(
        &s.sv, "taken back after a restart (its media stream came back)", 1000));
    char *after = stream_server_call(&s.sv, id);
    assert_true(stream_count(after, "\"persona\":\"human\"") >= humans); /* nothing lost */
    assert_non_null(strstr(after, "\"claim\""));
    free(after);
    events = acs_live_log(s.live);
    assert_non_null(strstr(events, "MediaStreamingStarted 200\n")); /* reestablished */
    free(events);

    /* The caller hangs up: the socket closes, CallDisconnected; the call ends. */
    acs_live_caller_hangup(s.live);
    assert_true(stream_server_wait_over(&s.sv, id, 15000));
    free(path);
    free(id);
    stop(&s);
}

/* The bot hangs up, through Call Automation, once its goodbye was heard ------- */

static void test_stream_bot_hangs_up(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    const char *extra[] = {"CONVERSATION__PHONE_SILENCE_TIMEOUT_SEC=1", NULL};
    srv s;
    start_with(&s, extra, defaults);
    char *id = ring(&s);
    media_driver *d = connect_and_choose(&s, id);
    /* The caller says nothing: the silences, the goodbye, the hang-up. */
    int i = wait_request(&s, 0, ":terminate", 120000);
    assert_true(i >= 0);
    /* Everything was heard first, by the bot's own clock (ACS reports
     * nothing of what it played): within a few frames of ACS's (the
     * stand-in's thread lags under a loaded machine; a bot that did not
     * wait would leave seconds of its goodbye unplayed). */
    assert_true(media_driver_queued_ms(d) <= 250);
    for (int t = 0; t < 100 && !acs_live_ended(s.live); t++)
        stream_sleep_ms(100);
    assert_true(acs_live_ended(s.live));
    assert_true(stream_server_wait_over(&s.sv, id, 10000));
    free(id);
    stop(&s);
}

/* A transfer through Call Automation --------------------------------------------- */

static void test_stream_transfer(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    standin *llm = standin_start(NULL);
    assert_non_null(llm);
    char endpoint[128];
    snprintf(endpoint, sizeof endpoint, "LLM__FAST__ENDPOINT=http://127.0.0.1:%d/v1",
             standin_port(llm));
    const char *extra[] = {"LLM__FAST__MODE=openai_compatible", endpoint, "LLM__FAST__RETRIES=0",
                           "CONVERSATION__INITIATE__AGENT_PHONE_NUMBER=+15550009999", NULL};
    srv s;
    start_with(&s, extra, defaults);
    char *id = ring(&s);
    media_driver *d = connect_and_choose(&s, id);
    static standin_tool_call tc = {.id = "t1", .name = "talk_to_human", .arguments = "{}"};
    standin_spec sp = STANDIN_SPEC_INIT;
    sp.kind = STANDIN_TOOL_CALLS;
    sp.tool_calls = &tc;
    sp.n_tool_calls = 1;
    standin_push(llm, &sp);
    media_driver_dtmf(d, '0');
    int i = wait_request(&s, 0, ":transferToParticipant", 60000);
    assert_true(i >= 0);
    json_t *j = acs_standin_request_json(s.acs, i);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(j, "targetParticipant"), "phoneNumber"), "value")),
        "+15550009999");
    json_decref(j);
    assert_true(media_driver_queued_ms(d) <= 250); /* the announcement was heard first */
    assert_true(stream_server_wait_over(&s.sv, id, 15000));
    free(id);
    stop(&s);
    standin_stop(llm);
}

/* An outbound call ----------------------------------------------------------------- */

static void test_stream_outbound(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    start_with(&s, NULL, defaults);
    char *body = NULL;
    long code =
        server_proc_request(s.sv.port, "POST", "/call",
                            "{\"phone_number\":\"" CALLER "\",\"lang\":{\"default_short_code\":"
                            "\"en-US\",\"availables\":[{\"short_code\":\"en-US\","
                            "\"pronunciations_en\":[\"English\"],\"voice\":\"en-US-"
                            "AvaMultilingualNeural\"}]}}",
                            "Bearer tok", &body);
    assert_int_equal(code, 201);
    free(body);
    int i = wait_request(&s, 0, "/calling/callConnections", 10000);
    assert_true(i >= 0);
    json_t *j = acs_standin_request_json(s.acs, i);
    json_t *mso = json_object_get(j, "mediaStreamingOptions");
    /* Unlike the reference, outbound calls are bidirectional too. */
    assert_true(json_is_true(json_object_get(mso, "enableBidirectional")));
    assert_true(json_is_true(json_object_get(mso, "startMediaStreaming")));
    json_decref(j);
    media_driver *d = acs_live_wait_stream(s.live, 1, 10000);
    assert_non_null(d);
    assert_true(stream_wait_heard(d, RATE * 2, 30000) >= RATE * 2); /* the greeting */
    acs_live_caller_hangup(s.live);
    stop(&s);
}

/* Bad input: malformed and oversized messages, a drop, the wrong format ----------- */

static void test_stream_bad_input(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    acs_live_opts lo = defaults;
    lo.reconnect_attempts = 0; /* a drop: ACS reports it, the server starts the stream again */
    start_with(&s, NULL, lo);
    char *id = ring(&s);
    media_driver *d = connect_and_choose(&s, id);

    /* Malformed messages are logged and ignored; the call goes on. */
    static const char *const junk[] = {
        "{not json",
        "[]",
        "{\"kind\":\"AudioData\"}",
        "{\"kind\":\"AudioData\",\"audioData\":{\"data\":\"@@@@\"}}",
        "{\"kind\":\"AudioData\",\"audioData\":{\"data\":\"AAAA\"}}", /* 3 bytes */
        "{\"kind\":\"DtmfData\",\"dtmfData\":{\"data\":\"xyz\"}}",
        "{\"kind\":\"AudioMetadata\",\"audioMetadata\":{\"sampleRate\":\"fast\"}}"};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++)
        media_driver_send_raw(d, 0, junk[i], strlen(junk[i]));
    media_driver_send_raw(d, 1, "\x01\x02", 2);
    assert_true(stream_server_wait_log(&s.sv, "media stream: not JSON (ignored)", 5000));
    assert_true(stream_server_wait_log(&s.sv, "a binary frame (ignored)", 5000));
    assert_true(stream_server_wait_log(&s.sv, "a DtmfData without one digit (ignored)", 5000));
    media_driver_dtmf(d, '7');
    assert_true(wait_call(&s, id, "\"content\":\"7\"", 10000));

    /* An oversized message: the server closes (1009); ACS reports the
     * stream failed, the server starts it again, the call goes on. */
    size_t big = 300 * 1024;
    char *huge = malloc(big);
    memset(huge, 'A', big);
    memcpy(huge, "{\"kind\":\"AudioData\",\"audioData\":{\"data\":\"", 41);
    memcpy(huge + big - 3, "\"}}", 3);
    media_driver_send_raw(d, 0, huge, big);
    free(huge);
    d = acs_live_wait_stream(s.live, 2, 15000);
    assert_non_null(d);
    assert_true(stream_server_wait_log(&s.sv, "starting media streaming (attempt 1)", 1000));
    size_t h0 = heard(d);
    media_driver_dtmf(d, '8');
    assert_true(wait_call(&s, id, "\"content\":\"8\"", 10000));

    /* The network drops the stream: the same. */
    acs_live_drop(s.live);
    d = acs_live_wait_stream(s.live, 3, 15000);
    assert_non_null(d);
    (void)h0;
    media_driver_dtmf(d, '9');
    assert_true(wait_call(&s, id, "\"content\":\"9\"", 10000));
    char *all = stream_server_logs(&s.sv);
    assert_null(strstr(all, "taken back")); /* the same process all along */
    free(all);
    acs_live_caller_hangup(s.live);
    assert_true(stream_server_wait_over(&s.sv, id, 15000));
    free(id);
    stop(&s);
}

static void test_stream_wrong_format(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    acs_live_opts lo = defaults;
    lo.sample_rate = 24000; /* announced and sent, although pcm16KMono was asked for */
    lo.reconnect_attempts = 0;
    const char *extra[] = {
        "COMMUNICATION_SERVICES__COGNITIVE_SERVICES_ENDPOINT=https://speech.example.test/", NULL};
    start_with(&s, extra, lo);
    char *id = ring(&s);
    assert_true(
        stream_server_wait_log(&s.sv, "not the configured PCM at 16000 Hz mono: refused", 10000));
    /* Ended politely: an apology played by Call Automation, then the
     * hang-up once it played; the call is stored as ended. */
    int play = wait_request(&s, 0, ":play", 15000);
    assert_true(play >= 0);
    char *body = acs_standin_request_body(s.acs, play);
    assert_non_null(strstr(body, "technical difficulties"));
    free(body);
    assert_true(wait_request(&s, play, ":terminate", 15000) > play);
    for (int t = 0; t < 100 && !acs_live_ended(s.live); t++)
        stream_sleep_ms(100);
    /* The apology played before the call ended (ACS's report of the
     * refused stream may come between them). */
    char *events = acs_live_log(s.live);
    const char *played = strstr(events, "PlayCompleted 200\n");
    const char *ended = strstr(events, "CallDisconnected 200\n");
    assert_non_null(played);
    assert_non_null(ended);
    assert_true(played < ended);
    free(events);
    assert_true(stream_server_wait_over(&s.sv, id, 15000));
    free(id);
    stop(&s);
}

/* Take-back by ACS's report: the stream is not connected again by ACS (the
 * server was down while it tried); its MediaStreamingFailed reaches the
 * restarted server, which starts the stream again. */
static void test_stream_takeback_by_event(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    acs_live_opts lo = defaults;
    lo.reconnect_attempts = 0;
    lo.report_ms = 4000;
    start_with(&s, NULL, lo);
    char *id = ring(&s);
    media_driver *d = connect_and_choose(&s, id);
    media_driver_dtmf(d, '5');
    assert_true(wait_call(&s, id, "\"content\":\"5\"", 10000));
    assert_int_equal(server_proc_stop(s.sv.pid, SIGKILL), 128 + SIGKILL);
    s.sv.pid = -1;
    spawn_server(&s);
    d = acs_live_wait_stream(s.live, 2, 20000);
    assert_non_null(d);
    assert_true(stream_server_wait_log(&s.sv, "taken back after a restart", 1000));
    assert_true(stream_server_wait_log(&s.sv, "starting media streaming (attempt 1)", 1000));
    assert_true(stream_wait_heard(d, RATE, 30000) >= RATE);    /* the bot again */
    assert_true(wait_call(&s, id, "\"content\":\"5\"", 1000)); /* nothing lost */
    char *events = acs_live_log(s.live);
    assert_non_null(strstr(events, "MediaStreamingFailed 200\n"));
    free(events);
    acs_live_caller_hangup(s.live);
    assert_true(stream_server_wait_over(&s.sv, id, 15000));
    free(id);
    stop(&s);
}

/* Take-back at start: ACS's reconnections ran out while the server was
 * down, and the MediaStreamingFailed that said so reached nobody. The
 * restarted server finds the call left in progress in the store with its
 * callConnectionId and starts the media streaming again (202,
 * MediaStreamingStarted, then ACS connects the socket); the conversation
 * goes on from the store. */
static void test_stream_takeback_at_start(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    acs_live_opts lo = defaults;
    lo.reconnect_attempts = 0;
    lo.report_ms = 200;
    start_with(&s, NULL, lo);
    char *id = ring(&s);
    media_driver *d = connect_and_choose(&s, id);
    media_driver_dtmf(d, '5');
    assert_true(wait_call(&s, id, "\"content\":\"5\"", 10000));
    int from = acs_standin_request_count(s.acs);
    assert_int_equal(server_proc_stop(s.sv.pid, SIGKILL), 128 + SIGKILL);
    s.sv.pid = -1;
    char *events = NULL;
    for (int i = 0; i < 100; i++) {
        free(events);
        events = acs_live_log(s.live);
        if (strstr(events, "MediaStreamingFailed -1\n"))
            break;
        stream_sleep_ms(100);
    }
    assert_non_null(strstr(events, "MediaStreamingFailed -1\n")); /* to nobody */
    free(events);
    spawn_server(&s);
    d = acs_live_wait_stream(s.live, 2, 20000);
    assert_non_null(d);
    assert_true(
        stream_server_wait_log(&s.sv, "taken back after a restart (left in progress)", 1000));
    int start = wait_request(&s, from, ":startMediaStreaming", 1000);
    assert_true(start >= 0);
    assert_true(stream_wait_heard(d, RATE, 30000) >= RATE);    /* the bot again */
    assert_true(wait_call(&s, id, "\"content\":\"5\"", 1000)); /* nothing lost */
    media_driver_dtmf(d, '7');                                 /* and it goes on */
    assert_true(wait_call(&s, id, "\"content\":\"7\"", 10000));
    acs_live_caller_hangup(s.live);
    assert_true(stream_server_wait_over(&s.sv, id, 15000));
    free(id);
    stop(&s);
}

/* ACS cannot reach our WebSocket any more (its callbacks still can): the
 * stream drops, every start fails (MediaStreamingFailed). The server asks
 * for the stream three times, then says why in its log, apologises through
 * Call Automation and hangs up; what was stored stays. */
static void test_stream_peer_vanishes(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    acs_live_opts lo = defaults;
    lo.reconnect_attempts = 0;
    const char *extra[] = {
        "COMMUNICATION_SERVICES__COGNITIVE_SERVICES_ENDPOINT=https://speech.example.test/", NULL};
    start_with(&s, extra, lo);
    char *id = ring(&s);
    media_driver *d = connect_and_choose(&s, id);
    media_driver_dtmf(d, '4');
    assert_true(wait_call(&s, id, "\"content\":\"4\"", 10000));
    int from = acs_standin_request_count(s.acs);
    acs_live_block_stream(s.live, 1);
    acs_live_drop(s.live);
    assert_true(
        stream_server_wait_log(&s.sv, "the media stream could not be started again", 60000));
    char *all = stream_server_logs(&s.sv);
    assert_int_equal(stream_count(all, "starting media streaming (attempt"), 3);
    free(all);
    int play = wait_request(&s, from, ":play", 5000);
    assert_true(play >= 0);
    assert_true(wait_request(&s, play, ":terminate", 15000) > play);
    assert_true(stream_server_wait_over(&s.sv, id, 15000));
    assert_true(wait_call(&s, id, "\"content\":\"4\"", 1000)); /* nothing lost */
    free(id);
    stop(&s);
}

/* The WebSocket before the event: the server restarts the media streaming
 * (its MediaStreamingFailed after a kill -9), and ACS connects the socket
 * before MediaStreamingStarted reaches the server (ACS promises no order
 * between the two): the call goes on as in the other order. */
static void test_stream_socket_before_started(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    acs_live_opts lo = defaults;
    lo.reconnect_attempts = 0;
    lo.report_ms = 4000;
    lo.stream_first = 1;
    start_with(&s, NULL, lo);
    char *id = ring(&s);
    media_driver *d = connect_and_choose(&s, id);
    media_driver_dtmf(d, '5');
    assert_true(wait_call(&s, id, "\"content\":\"5\"", 10000));
    assert_int_equal(server_proc_stop(s.sv.pid, SIGKILL), 128 + SIGKILL);
    s.sv.pid = -1;
    spawn_server(&s);
    d = acs_live_wait_stream(s.live, 2, 20000);
    assert_non_null(d);
    assert_true(stream_server_wait_log(&s.sv, "starting media streaming (attempt 1)", 1000));
    assert_true(stream_wait_heard(d, RATE, 30000) >= RATE); /* the bot again */
    media_driver_dtmf(d, '7');                              /* and it goes on */
    assert_true(wait_call(&s, id, "\"content\":\"7\"", 10000));
    char *events = acs_live_log(s.live);
    assert_non_null(strstr(events, "MediaStreamingFailed 200\n"));
    assert_int_equal(stream_count(events, "MediaStreamingStarted 200\n"), 2);
    free(events);
    char *all = stream_server_logs(&s.sv);
    assert_null(strstr(all, "starting media streaming (attempt 2)")); /* started once */
    free(all);
    acs_live_caller_hangup(s.live);
    assert_true(stream_server_wait_over(&s.sv, id, 15000));
    free(id);
    stop(&s);
}

/* Two workers (server.workers: 2) ------------------------------------------- */

/* Worker i's own port (its instance URL), from the supervisor's last
 * "worker i started (...) at URL" line. */
static int worker_port(srv *s, int i)
{
    char marker[48];
    snprintf(marker, sizeof marker, "worker %d started (pid ", i);
    int port = 0;
    for (int t = 0; t < 100 && !port; t++) {
        char *all = stream_server_logs(&s->sv);
        const char *last = NULL;
        for (const char *at = strstr(all, marker); at; at = strstr(at + 1, marker))
            last = at;
        const char *url = last ? strstr(last, ") at http://127.0.0.1:") : NULL;
        port = url ? atoi(url + strlen(") at http://127.0.0.1:")) : 0;
        free(all);
        if (!port)
            stream_sleep_ms(100);
    }
    assert_true(port > 0 && port != s->sv.port);
    return port;
}

#define WORKER_CALLS 3

/* Calls one after the other with two workers, each answered by the worker
 * its IncomingCall reached (0, then 1: their own ports). ACS's side (its
 * callbacks and the media WebSocket) goes to the shared port, where the
 * kernel picks a worker, and for the last call to the worker that did not
 * answer it, for sure: the media WebSocket is relayed to the holder. Each
 * call converses: the menu and greeting heard, a key and the caller's
 * words recognised and stored; then the caller hangs up. */
static void test_stream_workers(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    const char *extra[] = {"SERVER__WORKERS=2", NULL};
    start_with(&s, extra, defaults);
    int own[2] = {worker_port(&s, 0), worker_port(&s, 1)};
    for (int k = 0; k < WORKER_CALLS; k++) {
        acs_live_set_port(s.live, k == WORKER_CALLS - 1 ? own[(k + 1) % 2] : s.sv.port);
        char *id = ring_at(&s, own[k % 2]);
        media_driver *d = acs_live_wait_stream(s.live, k + 1, 10000);
        assert_non_null(d);
        assert_true(stream_wait_heard(d, RATE * 2, 30000) >= RATE * 2); /* the menu */
        size_t before = heard(d);
        media_driver_dtmf(d, '2');
        assert_true(stream_wait_heard(d, before + RATE, 30000) >= before + RATE);
        assert_true(wait_call(&s, id, "\"lang\":\"en-US\",\"initiate\"", 10000));
        /* A key pressed mid-call (DtmfData on the socket): stored. */
        media_driver_dtmf(d, '5');
        assert_true(wait_call(&s, id, "\"content\":\"5\"", 10000));
        /* The caller's words (AudioData), after the menu was answered by
         * a key: recognised and stored. */
        stream_say(d, "the city of london", RATE);
        assert_true(wait_words(&s, id, 30000));
        assert_int_equal(media_driver_warnings(d), 0);
        acs_live_caller_hangup(s.live);
        assert_true(stream_server_wait_over(&s.sv, id, 15000));
        free(id);
    }
    char *all = stream_server_logs(&s.sv);
    assert_true(stream_count(all, "is relayed to its holder") >= 1);
    assert_null(strstr(all, "media stream for call")); /* none refused */
    free(all);
    stop(&s);
}

/* A worker killed with -9 mid-call while the other relayed its call's
 * media WebSocket: the relay closes the socket, ACS connects again (to the
 * survivor's socket), which relays it to the call's holder: the restarted
 * worker at its unchanged URL, which takes the call back from the store;
 * the caller hears the bot again, nothing lost. */
static void test_stream_worker_killed(void **state)
{
    (void)state;
    if (!stream_have_speech())
        skip();
    srv s;
    const char *extra[] = {"SERVER__WORKERS=2", NULL};
    start_with(&s, extra, defaults);
    int own[2] = {worker_port(&s, 0), worker_port(&s, 1)};
    char *all = stream_server_logs(&s.sv);
    const char *w0 = strstr(all, "worker 0 started (pid ");
    assert_non_null(w0);
    pid_t pid0 = (pid_t)atol(w0 + strlen("worker 0 started (pid "));
    free(all);
    acs_live_set_port(s.live, own[1]);
    char *id = ring_at(&s, own[0]);
    media_driver *d = connect_and_choose(&s, id);
    media_driver_dtmf(d, '5');
    assert_true(wait_call(&s, id, "\"content\":\"5\"", 10000));
    assert_int_equal(kill(pid0, SIGKILL), 0);
    d = acs_live_wait_stream(s.live, 2, 30000);
    assert_non_null(d);
    assert_true(stream_wait_heard(d, RATE, 30000) >= RATE); /* the bot again */
    assert_true(stream_server_wait_log(&s.sv, "taken back after a restart", 1000));
    assert_true(wait_call(&s, id, "\"content\":\"5\"", 1000)); /* nothing lost */
    media_driver_dtmf(d, '7');                                 /* and it goes on */
    assert_true(wait_call(&s, id, "\"content\":\"7\"", 10000));
    acs_live_caller_hangup(s.live);
    assert_true(stream_server_wait_over(&s.sv, id, 15000));
    free(id);
    stop(&s);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CCAI_SERVER\n", argv[0]);
        return 2;
    }
    server_path = argv[1];
    if (getenv("CCAI_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CCAI_TEST_FILTER"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_call),
        cmocka_unit_test(test_stream_bot_hangs_up),
        cmocka_unit_test(test_stream_transfer),
        cmocka_unit_test(test_stream_outbound),
        cmocka_unit_test(test_stream_bad_input),
        cmocka_unit_test(test_stream_wrong_format),
        cmocka_unit_test(test_stream_takeback_by_event),
        cmocka_unit_test(test_stream_takeback_at_start),
        cmocka_unit_test(test_stream_peer_vanishes),
        cmocka_unit_test(test_stream_socket_before_started),
        cmocka_unit_test(test_stream_workers),
        cmocka_unit_test(test_stream_worker_killed),
    };
    return cmocka_run_group_tests(tests, NULL, server_proc_kill_leftovers);
}
