/* The callers that play Twilio, ACS and Asterisk dialling in to our server
 * (tests/support/media_drivers.c), against small servers written here: the
 * Twilio signature checked with the Twilio stand-in's own (separately
 * written) signer, the ACS token with the ACS stand-in's signer, message
 * order and cadence, playback clocks, marks, clear/StopAudio, DTMF,
 * hang-ups both ways, and what a carrier does with bad input from us. The
 * official SDKs judge the same callers in tests/standins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/acs_standin.h"
#include "support/media_drivers.h"
#include "support/standin_audio.h"
#include "support/svc.h"
#include "support/twilio_standin.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TOKEN "media-driver-test-token"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(int ms)
{
    usleep((useconds_t)ms * 1000);
}

/* ---- a WebSocket server playing our side ---- */

static svc *S;
static svc_conn *C; /* the caller's connection (loop thread; use under svc_lock) */

static void on_request(svc_conn *c, const svc_req *r, void *ud)
{
    (void)ud;
    (void)r;
    if (svc_ws_accept(c, r, 0, NULL, NULL) == 0)
        C = c;
}

static void on_closed(svc_conn *c, void *ud)
{
    (void)ud;
    if (C == c)
        C = NULL;
}

static int setup(void **state)
{
    (void)state;
    svc_ops ops = {on_request, NULL, NULL, on_closed};
    C = NULL;
    S = svc_start(&ops, NULL);
    return S ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    svc_stop(S);
    return 0;
}

static void server_send(const char *text)
{
    svc_lock(S);
    assert_non_null(C);
    svc_ws_text(C, 0, text);
    svc_unlock(S);
}

/* Message k the caller sent, parsed (waits up to 2 s for it). */
static json_t *caller_msg(int k)
{
    for (int i = 0; i < 200 && svc_ws_count(S, 0) <= k; i++)
        sleep_ms(10);
    char *d = NULL;
    if (svc_ws_message(S, 0, k, &d, NULL) != 1) {
        free(d);
        return NULL;
    }
    json_t *j = json_loads(d, 0, NULL);
    free(d);
    return j;
}

static const char *str(json_t *j, const char *a, const char *b)
{
    json_t *v = json_object_get(j, a);
    return json_string_value(b ? json_object_get(v, b) : v);
}

static void twilio_stream(void **state)
{
    (void)state;
    const char *params[] = {"call_id", "c-7", "token", "per-call-secret", NULL};
    twilio_media_opts o = {
        .port = svc_port(S), .path = "/twilio/media", .auth_token = TOKEN, .params = params};
    media_driver *d = twilio_media_connect(&o);
    assert_int_equal(media_driver_status(d), 101);
    /* The signature, as the Twilio stand-in (its own HMAC code) computes it. */
    char url[128];
    snprintf(url, sizeof url, "wss://127.0.0.1:%d/twilio/media", svc_port(S));
    char *want = twilio_standin_signature(TOKEN, url, NULL);
    char *got = svc_request_header(S, 0, "X-Twilio-Signature");
    assert_string_equal(got, want);
    free(want);
    free(got);
    json_t *j = caller_msg(0);
    assert_string_equal(str(j, "event", NULL), "connected");
    assert_null(json_object_get(j, "sequenceNumber"));
    json_decref(j);
    j = caller_msg(1);
    assert_string_equal(str(j, "event", NULL), "start");
    assert_string_equal(str(j, "sequenceNumber", NULL), "1");
    const char *sid = media_driver_stream_id(d);
    assert_string_equal(str(j, "streamSid", NULL), sid);
    assert_string_equal(str(json_object_get(j, "start"), "customParameters", "token"),
                        "per-call-secret");
    assert_string_equal(str(json_object_get(j, "start"), "mediaFormat", "encoding"),
                        "audio/x-mulaw");
    json_decref(j);
    /* The caller speaks: its μ-law payloads carry the speech. */
    size_t n = 0;
    int16_t *p = sa_synth("hello", 8000, 1.0, &n, NULL, NULL);
    media_driver_say(d, p, n);
    free(p);
    sleep_ms(600);
    int speech = 0, media = 0;
    for (int k = 2; k < svc_ws_count(S, 0); k++) {
        j = caller_msg(k);
        if (!strcmp(str(j, "event", NULL), "media")) {
            media++;
            size_t bl = 0;
            uint8_t *b = sa_unb64(str(j, "media", "payload"), &bl);
            assert_int_equal(bl, 160);
            for (size_t i = 0; i < bl; i++)
                speech += b[i] != 0xFF;
            free(b);
            char seq[16];
            snprintf(seq, sizeof seq, "%d", k);
            assert_string_equal(str(j, "sequenceNumber", NULL), seq);
        }
        json_decref(j);
    }
    assert_true(media >= 25);
    assert_true(speech > 1000);
    /* Our 400 ms with a mark: echoed after it played, with "played" audio. */
    uint8_t ulaw[3200];
    memset(ulaw, 0x2A, sizeof ulaw);
    char *b64 = sa_b64(ulaw, sizeof ulaw);
    char msg[8192];
    snprintf(msg, sizeof msg,
             "{\"event\":\"media\",\"streamSid\":\"%s\",\"media\":{\"payload\":\"%s\"}}", sid, b64);
    free(b64);
    server_send(msg);
    snprintf(msg, sizeof msg,
             "{\"event\":\"mark\",\"streamSid\":\"%s\",\"mark\":{\"name\":\"m1\"}}", sid);
    server_send(msg);
    sleep_ms(150);
    char *marks = media_driver_marks(d);
    assert_string_equal(marks, "");
    free(marks);
    assert_true(media_driver_queued_ms(d) >= 200);
    sleep_ms(450);
    marks = media_driver_marks(d);
    assert_string_equal(marks, "m1\n");
    free(marks);
    size_t hn = 0;
    int16_t *heard = media_driver_heard(d, &hn);
    assert_int_equal(hn, 3200);
    assert_int_equal(heard[0], sa_ulaw2lin(0x2A));
    free(heard);
    /* Queued audio and a mark, then clear. */
    snprintf(msg, sizeof msg,
             "{\"event\":\"media\",\"streamSid\":\"%s\",\"media\":{\"payload\":\"%s\"}}", sid,
             "KioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioqKioq");
    for (int i = 0; i < 20; i++)
        server_send(msg);
    snprintf(msg, sizeof msg,
             "{\"event\":\"mark\",\"streamSid\":\"%s\",\"mark\":{\"name\":\"m2\"}}", sid);
    server_send(msg);
    snprintf(msg, sizeof msg, "{\"event\":\"clear\",\"streamSid\":\"%s\"}", sid);
    server_send(msg);
    sleep_ms(100);
    marks = media_driver_marks(d);
    assert_string_equal(marks, "m1\nm2\n");
    free(marks);
    assert_int_equal(media_driver_clears(d), 1);
    assert_int_equal(media_driver_queued_ms(d), 0);
    /* Bad messages from us are warnings: wrong streamSid, unknown event, binary, not JSON. */
    server_send("{\"event\":\"media\",\"streamSid\":\"MZ00\",\"media\":{\"payload\":\"AAAA\"}}");
    snprintf(msg, sizeof msg, "{\"event\":\"play\",\"streamSid\":\"%s\"}", sid);
    server_send(msg);
    server_send("[1,2");
    svc_lock(S);
    svc_ws_send(C, 0, WS_BINARY, "\x01\x02", 2);
    svc_unlock(S);
    media_driver_dtmf(d, '#');
    sleep_ms(150);
    assert_int_equal(media_driver_warnings(d), 4);
    assert_int_equal(media_driver_closed(d), 0);
    /* Hang-up: stop, then a normal close. */
    media_driver_hangup(d);
    assert_int_not_equal(media_driver_wait_closed(d, 3000), -1);
    for (int i = 0; i < 100 && svc_ws_client_close(S, 0) == 0; i++)
        sleep_ms(10);
    assert_int_equal(svc_ws_client_close(S, 0), 1000);
    int last = svc_ws_count(S, 0) - 1;
    int stop_at = -1, dtmf_at = -1;
    for (int k = 2; k <= last; k++) {
        j = caller_msg(k);
        if (j && !strcmp(str(j, "event", NULL), "stop"))
            stop_at = k;
        if (j && !strcmp(str(j, "event", NULL), "dtmf")) {
            dtmf_at = k;
            assert_string_equal(str(j, "dtmf", "digit"), "#");
        }
        json_decref(j);
    }
    assert_true(dtmf_at > 0);
    assert_int_equal(stop_at, last - 1); /* the close frame is the last message logged */
    media_driver_free(d);
}

static void twilio_server_closes(void **state)
{
    (void)state;
    twilio_media_opts o = {
        .port = svc_port(S), .path = "/twilio/media", .auth_token = TOKEN, .forge = 1};
    media_driver *d = twilio_media_connect(&o);
    assert_int_equal(media_driver_status(d), 101);
    char url[128];
    snprintf(url, sizeof url, "wss://127.0.0.1:%d/twilio/media", svc_port(S));
    char *want = twilio_standin_signature(TOKEN, url, NULL);
    char *got = svc_request_header(S, 0, "X-Twilio-Signature");
    assert_string_not_equal(got, want); /* forged */
    free(want);
    free(got);
    sleep_ms(100);
    svc_lock(S);
    svc_ws_close(C, 0, 1008, "bad signature");
    svc_unlock(S);
    assert_int_equal(media_driver_wait_closed(d, 3000), 1008);
    media_driver_free(d);
}

static void acs_stream(void **state)
{
    (void)state;
    acs_standin *acs = acs_standin_start(NULL);
    char *bearer = acs_standin_bearer(acs, "resource-id", ACS_TOKEN_VALID);
    acs_media_opts o = {.port = svc_port(S),
                        .path = "/acs/wss/c1/secret",
                        .authorization = bearer,
                        .sample_rate = 24000};
    media_driver *d = acs_media_connect(&o);
    assert_int_equal(media_driver_status(d), 101);
    char *auth = svc_request_header(S, 0, "Authorization");
    assert_string_equal(auth, bearer);
    free(auth);
    char *conn = svc_request_header(S, 0, "x-ms-call-connection-id");
    assert_non_null(conn);
    free(conn);
    json_t *j = caller_msg(0);
    assert_string_equal(str(j, "kind", NULL), "AudioMetadata");
    json_t *md = json_object_get(j, "audioMetadata");
    assert_int_equal(json_integer_value(json_object_get(md, "sampleRate")), 24000);
    assert_int_equal(json_integer_value(json_object_get(md, "length")), 960);
    json_decref(j);
    j = caller_msg(1);
    assert_string_equal(str(j, "kind", NULL), "AudioData");
    size_t bl = 0;
    uint8_t *b = sa_unb64(str(j, "audioData", "data"), &bl);
    assert_int_equal(bl, 960);
    free(b);
    assert_true(json_is_true(json_object_get(json_object_get(j, "audioData"), "silent")));
    json_decref(j);
    /* 300 ms of ours, PascalCase as Microsoft documents it. */
    int16_t pcm[7200];
    for (size_t i = 0; i < 7200; i++)
        pcm[i] = (int16_t)(i % 100 * 50);
    size_t el = 0;
    uint8_t *bytes = sa_encode(SA_PCM16, pcm, 7200, &el);
    char *b64 = sa_b64(bytes, el);
    free(bytes);
    char *msg = malloc(strlen(b64) + 128);
    sprintf(msg, "{\"Kind\":\"AudioData\",\"AudioData\":{\"Data\":\"%s\"},\"StopAudio\":null}",
            b64);
    server_send(msg);
    server_send(msg);
    free(msg);
    free(b64);
    sleep_ms(200);
    int q = media_driver_queued_ms(d);
    assert_true(q >= 250 && q <= 450);
    server_send("{\"Kind\":\"StopAudio\",\"AudioData\":null,\"StopAudio\":{}}");
    sleep_ms(60);
    assert_int_equal(media_driver_queued_ms(d), 0);
    size_t hn = 0;
    int16_t *heard = media_driver_heard(d, &hn);
    assert_true(hn >= 24000 / 10 && hn <= 24000 * 4 / 10);
    assert_memory_equal(heard, pcm, 480 * sizeof *heard);
    free(heard);
    server_send("{\"kind\":\"Unknown\"}");
    sleep_ms(60);
    assert_int_equal(media_driver_warnings(d), 1);
    media_driver_hangup(d);
    assert_int_equal(media_driver_wait_closed(d, 3000), 1000);
    media_driver_free(d);
    free(bearer);
    acs_standin_stop(acs);
}

/* ---- AudioSocket: our side is a TCP listener ---- */

static int listen_tcp(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(fd, 4), 0);
    getsockname(fd, (struct sockaddr *)&sa, &sl);
    *port = ntohs(sa.sin_port);
    return fd;
}

static int read_full(int fd, uint8_t *p, size_t n, int timeout_ms)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, timeout_ms) <= 0)
            return -1;
        ssize_t r = recv(fd, p + got, n - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static void audiosocket(void **state)
{
    (void)state;
    int port = 0;
    int lfd = listen_tcp(&port);
    audiosocket_opts o = {.port = port, .uuid = "40325ec2-5efd-4bd3-805f-53576e581d13"};
    media_driver *d = audiosocket_connect(&o);
    assert_int_equal(media_driver_status(d), 1);
    int fd = accept(lfd, NULL, NULL);
    uint8_t hello[19];
    assert_int_equal(read_full(fd, hello, 19, 2000), 0);
    assert_int_equal(hello[0], 0x01);
    assert_int_equal(hello[1], 0x00);
    assert_int_equal(hello[2], 0x10);
    assert_int_equal(hello[3], 0x40);
    assert_int_equal(hello[18], 0x13);
    /* 20 ms slin frames at real-time pace, and a DTMF digit. */
    media_driver_dtmf(d, '5');
    uint64_t t0 = now_ms();
    int audio = 0, dtmf = 0;
    while (audio < 25) {
        uint8_t h[3];
        assert_int_equal(read_full(fd, h, 3, 1000), 0);
        size_t len = (size_t)((h[1] << 8) | h[2]);
        uint8_t body[400];
        assert_true(len <= sizeof body);
        assert_int_equal(read_full(fd, body, len, 1000), 0);
        if (h[0] == 0x10) {
            assert_int_equal(len, 320);
            audio++;
        } else {
            assert_int_equal(h[0], 0x03);
            assert_int_equal(len, 1);
            assert_int_equal(body[0], '5');
            dtmf++;
        }
    }
    uint64_t took = now_ms() - t0;
    assert_true(took >= 400 && took <= 1500); /* real time: not a burst */
    assert_int_equal(dtmf, 1);
    /* Ours is played as it arrives. */
    uint8_t frame[3 + 320] = {0x10, 0x01, 0x40};
    for (int i = 0; i < 5; i++)
        assert_int_equal(send(fd, frame, sizeof frame, 0), (ssize_t)sizeof frame);
    for (int i = 0; i < 100 && media_driver_frames_received(d) < 5; i++)
        sleep_ms(10);
    assert_int_equal(media_driver_frames_received(d), 5);
    size_t hn = 0;
    free(media_driver_heard(d, &hn));
    assert_int_equal(hn, 800);
    /* Our hang-up (kind 0x00) ends the call. */
    uint8_t hangup[3] = {0x00, 0x00, 0x00};
    send(fd, hangup, 3, 0);
    assert_int_equal(media_driver_wait_closed(d, 2000), 1);
    media_driver_free(d);
    close(fd);
    /* A kind Asterisk does not take ends the call too; a caller hang-up
     * closes the socket. */
    d = audiosocket_connect(&o);
    fd = accept(lfd, NULL, NULL);
    uint8_t bad[4] = {0x05, 0x00, 0x01, 0x00};
    send(fd, bad, 4, 0);
    assert_int_not_equal(media_driver_wait_closed(d, 2000), -1);
    assert_int_equal(media_driver_warnings(d), 1);
    media_driver_free(d);
    close(fd);
    d = audiosocket_connect(&o);
    fd = accept(lfd, NULL, NULL);
    media_driver_hangup(d);
    media_driver_wait_closed(d, 2000);
    uint8_t buf[4096];
    ssize_t r;
    struct pollfd pf = {fd, POLLIN, 0};
    do {
        assert_true(poll(&pf, 1, 2000) > 0);
        r = recv(fd, buf, sizeof buf, 0);
    } while (r > 0);
    assert_int_equal(r, 0); /* EOF */
    media_driver_free(d);
    close(fd);
    close(lfd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(twilio_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(twilio_server_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(acs_stream, setup, teardown),
        cmocka_unit_test(audiosocket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
