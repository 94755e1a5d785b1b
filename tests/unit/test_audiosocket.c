/* The Asterisk AudioSocket channel (libccai/channels/audiosocket/) on real
 * sockets and the real clock: the caller is tests/support/media_drivers.c's
 * AudioSocket client (Asterisk's framing and cadence: the UUID first, 320-
 * byte slin frames every 20 ms, DTMF kind 0x03, a hang-up closes the
 * socket), or a raw socket for what Asterisk would never send. The caller's
 * lines are spoken by espeak-ng at test time and recognised by
 * pocketsphinx; the offline dialogue answers; flite speaks. Cases that
 * need speech skip where pocketsphinx's model, flite or espeak-ng are
 * missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "channels/audiosocket/as_frame.h"
#include "core/json.h"
#include "engine/engine.h"
#include "speech/sphinx.h"
#include "support/media_drivers.h"
#include "support/voice.h"

#include <arpa/inet.h>
#include <ccai/adapters/poll.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define UUID "40325ec2-5efd-4bd3-805f-53576e581d13"

typedef struct env {
    ccai_config *cfg;
    ccai_poll *loop;
    ccai_ctx *ctx;
    int port;
    char db[256];
    char log[1 << 16];
    size_t log_len;
} env;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void on_log(ccai_log_level level, const char *msg, void *ud)
{
    env *e = ud;
    int n = snprintf(e->log + e->log_len, sizeof e->log - e->log_len, "%s: %s\n",
                     ccai_log_level_str(level), msg);
    if (n > 0 && e->log_len + (size_t)n < sizeof e->log)
        e->log_len += (size_t)n;
    if (getenv("AS_VERBOSE"))
        fprintf(stderr, "# %s: %s\n", ccai_log_level_str(level), msg);
}

static bool have_speech(void)
{
    return access(CCAI_SPHINX_MODEL_DIR "/en-us/mdef", R_OK) == 0 &&
           voice_available(CCAI_SYNTH_FLITE) && voice_available(CCAI_SYNTH_ESPEAK);
}

static void ctx_make(env *e, const char *const *keys)
{
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set_logger(e->cfg, on_log, e, CCAI_LOG_INFO), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", e->db), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "audiosocket.listen", "127.0.0.1:0"), CCAI_OK);
    assert_int_equal(
        ccai_config_set(e->cfg, "conversation.initiate.lang.default_short_code", "en-US"), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "conversation.initiate.claim",
                                     "[{\"name\":\"incident_city\",\"type\":\"text\"}]"),
                     CCAI_OK);
    for (size_t i = 0; keys && keys[i]; i += 2)
        assert_int_equal(ccai_config_set(e->cfg, keys[i], keys[i + 1]), CCAI_OK);
    char *why = NULL;
    ccai_status st = ccai_poll_new(e->cfg, &e->loop, &e->ctx, &why);
    if (st != CCAI_OK)
        fprintf(stderr, "# %s\n", why ? why : "?");
    ccai_free(why);
    assert_int_equal(st, CCAI_OK);
    const char *l = strstr(e->log, "audiosocket: listening on 127.0.0.1:");
    assert_non_null(l);
    e->port = atoi(l + strlen("audiosocket: listening on 127.0.0.1:"));
    assert_true(e->port > 0);
}

static void env_start(env *e, const char *const *keys)
{
    memset(e, 0, sizeof *e);
    snprintf(e->db, sizeof e->db, "/tmp/ccai-as-%d-XXXXXX", (int)getpid());
    int fd = mkstemp(e->db);
    assert_true(fd >= 0);
    close(fd);
    unlink(e->db);
    ctx_make(e, keys);
}

static void ctx_drop(env *e)
{
    ccai_poll_free(e->loop);
    ccai_config_free(e->cfg);
    e->loop = NULL;
    e->ctx = NULL;
    e->cfg = NULL;
}

static void env_free(env *e)
{
    ctx_drop(e);
    char p[300];
    unlink(e->db);
    snprintf(p, sizeof p, "%s-wal", e->db);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", e->db);
    unlink(p);
}

static void run(env *e, uint32_t ms)
{
    uint64_t end = now_ms() + ms;
    while (now_ms() < end)
        assert_int_equal(ccai_poll_run_once(e->loop, (int)(end - now_ms())), 0);
}

/* Run until done(ud) or max_ms; the result of done. */
static bool run_until(env *e, bool (*done)(env *, void *), void *ud, uint32_t max_ms)
{
    uint64_t end = now_ms() + max_ms;
    while (now_ms() < end) {
        if (done(e, ud))
            return true;
        assert_int_equal(ccai_poll_run_once(e->loop, 10), 0);
    }
    return done(e, ud);
}

static bool quiet(env *e, void *ud)
{
    CCAI_UNUSED(e);
    /* The bot has said something and stopped for 600 ms. */
    media_driver *d = ud;
    size_t n = media_driver_frames_received(d);
    return n > 0 && now_ms() - media_driver_frame_time(d, n - 1) > 600;
}

typedef struct more {
    media_driver *d;
    size_t n;
} more;

/* The bot has sent more than m->n frames. */
static bool frames_over(env *e, void *ud)
{
    CCAI_UNUSED(e);
    more *m = ud;
    return media_driver_frames_received(m->d) > m->n;
}

static bool closed(env *e, void *ud)
{
    CCAI_UNUSED(e);
    return media_driver_closed(ud) != 0;
}

/* The stored call of the UUID. */
static json_t *stored(env *e, const char *uuid)
{
    char *id = NULL;
    assert_int_equal(ccai_ctx_call_find_provider(e->ctx, "audiosocket", uuid, &id), CCAI_OK);
    char *doc = NULL;
    assert_int_equal(ccai_ctx_call_get_json(e->ctx, id, &doc), CCAI_OK);
    ccai_free(id);
    json_t *j = json_loads(doc, 0, NULL);
    ccai_free(doc);
    assert_non_null(j);
    return j;
}

static size_t count_messages(json_t *doc, const char *persona, const char *action)
{
    size_t i, k = 0;
    json_t *m;
    json_array_foreach(json_object_get(doc, "messages"), i, m)
    {
        k += strcmp(json_string_value(json_object_get(m, "persona")), persona) == 0 &&
             strcmp(json_string_value(json_object_get(m, "action")), action) == 0;
    }
    return k;
}

static const char *last_message(json_t *doc, const char *persona, const char *action)
{
    size_t i;
    json_t *m;
    const char *found = NULL;
    json_array_foreach(json_object_get(doc, "messages"), i, m)
    {
        if (strcmp(json_string_value(json_object_get(m, "persona")), persona) == 0 &&
            strcmp(json_string_value(json_object_get(m, "action")), action) == 0)
            found = json_string_value(json_object_get(m, "content"));
    }
    return found;
}

static bool in_progress(json_t *doc)
{
    return json_is_true(json_object_get(doc, "in_progress"));
}

static void say(media_driver *d, const char *text)
{
    static const Ccai_media_format slin8 = {CCAI_MEDIA_PCM16, 8000, 1};
    voice_audio a;
    assert_true(voice_render(CCAI_SYNTH_ESPEAK, "en-us", 0.9, text, &slin8, 100, 300, &a));
    int16_t *pcm = malloc(a.len);
    assert_non_null(pcm);
    Ccai_pcm16le_read(a.data, a.len / 2, pcm);
    media_driver_say(d, pcm, a.len / 2);
    free(pcm);
    voice_audio_free(&a);
}

/* The greeting's frames: 320 bytes, about 20 ms apart on the receiver's
 * clock (loosely: a median between 10 and 40 ms, not a burst). */
static void check_pacing(media_driver *d)
{
    size_t n = media_driver_frames_received(d);
    assert_true(n > 50); /* more than a second of greeting */
    for (int k = 0; k < media_driver_received_count(d) && k < 60; k++) {
        char *r = media_driver_received(d, k);
        assert_string_equal(r, "16:320");
        free(r);
    }
    size_t gaps[41] = {0};
    for (size_t i = 1; i < n; i++) {
        uint64_t g = media_driver_frame_time(d, i) - media_driver_frame_time(d, i - 1);
        gaps[g > 40 ? 40 : g]++;
    }
    size_t acc = 0, median = 0;
    for (size_t g = 0; g <= 40; g++) {
        acc += gaps[g];
        if (acc * 2 >= n - 1) {
            median = g;
            break;
        }
    }
    uint64_t span = media_driver_frame_time(d, n - 1) - media_driver_frame_time(d, 0);
    fprintf(stderr, "# %zu frames over %llu ms, median gap %zu ms\n", n, (unsigned long long)span,
            median);
    assert_true(median >= 10 && median <= 40);
    assert_true(span >= (uint64_t)(n - 1) * 20 / 2); /* real time, not a burst */
}

/* A whole inbound call: UUID, greeting heard in real time, the caller's
 * words recognised and answered, a DTMF key, the caller hangs up. */
static void test_audiosocket_call(void **state)
{
    CCAI_UNUSED(state);
    if (!have_speech())
        skip();
    env e;
    env_start(&e, NULL);
    audiosocket_opts o = {.port = e.port, .uuid = UUID};
    media_driver *d = audiosocket_connect(&o);
    assert_int_equal(media_driver_status(d), 1);
    assert_true(run_until(&e, quiet, d, 30000));
    check_pacing(d);
    json_t *doc = stored(&e, UUID);
    assert_true(in_progress(doc));
    assert_string_equal(json_string_value(json_object_get(doc, "channel")), "audiosocket");
    assert_non_null(last_message(doc, "assistant", "talk"));
    json_decref(doc);

    size_t before = media_driver_frames_received(d);
    say(d, "the city of london");
    more m = {d, before + 25}; /* the bot answers */
    assert_true(run_until(&e, frames_over, &m, 60000));
    assert_true(run_until(&e, quiet, d, 30000));
    doc = stored(&e, UUID);
    const char *words = last_message(doc, "human", "talk");
    assert_non_null(words);
    fprintf(stderr, "# caller said: the city of london; recognised: %s\n", words);
    assert_non_null(
        json_string_value(json_object_get(json_object_get(doc, "claim"), "incident_city")));
    assert_true(count_messages(doc, "assistant", "talk") >= 2);
    json_decref(doc);

    media_driver_dtmf(d, '5');
    run(&e, 1500);
    doc = stored(&e, UUID);
    assert_int_equal(count_messages(doc, "human", "dtmf"), 1);
    assert_string_equal(last_message(doc, "human", "dtmf"), "5");
    json_decref(doc);

    media_driver_hangup(d);
    assert_true(run_until(&e, closed, d, 5000));
    run(&e, 500);
    doc = stored(&e, UUID);
    assert_false(in_progress(doc));
    fprintf(stderr, "# end: %s\n", json_string_value(json_object_get(doc, "end_reason")));
    json_decref(doc);
    assert_int_equal(media_driver_warnings(d), 0);
    assert_non_null(strstr(e.log, "Asterisk closed the call"));
    media_driver_free(d);
    env_free(&e);
}

/* The caller talks over the greeting: our frames stop (the pacer dropped
 * what it had not sent), the greeting being far from over. */
static void test_audiosocket_barge_in(void **state)
{
    CCAI_UNUSED(state);
    if (!have_speech())
        skip();
    env e;
    env_start(&e, NULL);
    audiosocket_opts o = {.port = e.port};
    media_driver *d = audiosocket_connect(&o);
    while (media_driver_frames_received(d) < 40) /* 800 ms of the greeting */
        assert_int_equal(ccai_poll_run_once(e.loop, 10), 0);
    uint64_t onset = now_ms() + 100; /* say() starts with 100 ms of silence */
    say(d, "stop please i want an agent");
    run(&e, 2000);
    /* Without barge-in the greeting (9 s) would go on; while the caller
     * still talks (1 s after the onset on), nothing of ours arrives. */
    size_t n = media_driver_frames_received(d), late = 0, early = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t t = media_driver_frame_time(d, i);
        late += t >= onset + 1000 && t < onset + 2000;
        early += t >= onset && t < onset + 1000;
    }
    fprintf(stderr, "# frames after the onset: %zu in the first second, %zu in the next\n", early,
            late);
    assert_true(early < 50); /* stopped within the first second */
    assert_true(late < 5);
    json_t *doc = stored(&e, media_driver_stream_id(d));
    assert_true(in_progress(doc));
    json_decref(doc);
    media_driver_hangup(d);
    assert_true(run_until(&e, closed, d, 5000));
    media_driver_free(d);
    env_free(&e);
}

/* The bot ends the call: its goodbye is heard whole, then kind 0x00, then
 * the socket closes; the call is stored as ended. */
static void test_audiosocket_bot_hangs_up(void **state)
{
    CCAI_UNUSED(state);
    if (!have_speech())
        skip();
    env e;
    env_start(&e, NULL);
    audiosocket_opts o = {.port = e.port};
    media_driver *d = audiosocket_connect(&o);
    assert_true(run_until(&e, quiet, d, 30000));
    char *id = NULL;
    assert_int_equal(
        ccai_ctx_call_find_provider(e.ctx, "audiosocket", media_driver_stream_id(d), &id), CCAI_OK);
    ccai_call *call = Ccai_call_live(Ccai_ctx_engine(e.ctx), id);
    ccai_free(id);
    assert_non_null(call);
    size_t before = media_driver_frames_received(d);
    assert_int_equal(ccai_call_goodbye(call), CCAI_OK);
    assert_true(run_until(&e, closed, d, 30000));
    assert_int_equal(media_driver_wait_closed(d, 0), 1); /* we sent kind 0x00 */
    size_t after = media_driver_frames_received(d);
    fprintf(stderr, "# goodbye: %zu frames before the hang-up\n", after - before);
    assert_true(after - before > 25); /* the goodbye went out before it */
    int k = media_driver_received_count(d);
    char *last = media_driver_received(d, k - 1);
    assert_string_equal(last, "0:0");
    free(last);
    run(&e, 300);
    json_t *doc = stored(&e, media_driver_stream_id(d));
    assert_false(in_progress(doc));
    json_decref(doc);
    media_driver_free(d);
    env_free(&e);
}

/* ---- raw sockets: what Asterisk would not send ---- */

static int raw_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    return fd;
}

static void raw_send(int fd, const void *p, size_t n)
{
    assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

static void raw_uuid(int fd, const char *text)
{
    uint8_t m[19] = {0x01, 0x00, 0x10};
    for (size_t i = 0, k = 0; text[i] && k < 16; i++) {
        if (text[i] == '-')
            continue;
        unsigned v;
        assert_int_equal(sscanf(text + i, "%2x", &v), 1);
        m[3 + k++] = (uint8_t)v;
        i++;
    }
    raw_send(fd, m, sizeof m);
}

/* Everything the peer sends until it closes (or timeout); the bytes' kinds
 * (audio frames skipped) into kinds; whether it closed. */
static bool raw_drain(env *e, int fd, uint32_t ms, char *kinds, size_t cap)
{
    uint8_t buf[65536];
    size_t have = 0, nk = 0;
    uint64_t end = now_ms() + ms;
    kinds[0] = '\0';
    while (now_ms() < end) {
        assert_int_equal(ccai_poll_run_once(e->loop, 5), 0);
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 0) <= 0)
            continue;
        ssize_t r = recv(fd, buf + have, sizeof buf - have, 0);
        if (r <= 0)
            return true;
        have += (size_t)r;
        size_t off = 0;
        while (have - off >= 3) {
            size_t len = (size_t)((buf[off + 1] << 8) | buf[off + 2]);
            if (have - off < 3 + len)
                break;
            if (buf[off] != 0x10 && nk + 4 < cap)
                nk += (size_t)snprintf(kinds + nk, cap - nk, "%02x ", buf[off]);
            off += 3 + len;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
    return false;
}

/* Malformed frames: framing intact (an unknown kind, an empty or odd audio
 * frame, a bad DTMF) is logged and skipped, the call goes on; a length
 * beyond any AudioSocket frame ends it (kind 0x00, close), stored. */
static void test_audiosocket_malformed(void **state)
{
    CCAI_UNUSED(state);
    if (!have_speech())
        skip();
    env e;
    env_start(&e, NULL);
    const char *u1 = "11111111-2222-4333-8444-555555555555";
    int fd = raw_connect(e.port);
    raw_uuid(fd, u1);
    uint8_t unknown[4] = {0x05, 0x00, 0x01, 0x00};
    uint8_t empty[3] = {0x10, 0x00, 0x00};
    uint8_t odd[6] = {0x10, 0x00, 0x03, 1, 2, 3};
    uint8_t dtmf[4] = {0x03, 0x00, 0x01, 'x'};
    raw_send(fd, unknown, sizeof unknown);
    raw_send(fd, empty, sizeof empty);
    raw_send(fd, odd, sizeof odd);
    raw_send(fd, dtmf, sizeof dtmf);
    char kinds[256];
    assert_false(raw_drain(&e, fd, 500, kinds, sizeof kinds)); /* still open */
    assert_non_null(strstr(e.log, "a message of a kind AudioSocket does not define (kind 0x05"));
    assert_non_null(strstr(e.log, "an empty audio message (kind 0x10, 0 bytes): skipped"));
    assert_non_null(strstr(e.log, "an audio message of an odd length"));
    assert_non_null(strstr(e.log, "a DTMF message without a digit"));
    json_t *doc = stored(&e, u1);
    assert_true(in_progress(doc));
    json_decref(doc);
    /* Oversized: 0xffff bytes announced. */
    uint8_t big[3] = {0x10, 0xff, 0xff};
    raw_send(fd, big, sizeof big);
    assert_true(raw_drain(&e, fd, 3000, kinds, sizeof kinds));
    assert_string_equal(kinds, "00 "); /* our hang-up, then the close */
    assert_non_null(strstr(e.log, "a message longer than 8192 bytes"));
    close(fd);
    run(&e, 200);
    doc = stored(&e, u1);
    assert_false(in_progress(doc));
    assert_string_equal(json_string_value(json_object_get(doc, "end_reason")),
                        "malformed AudioSocket stream");
    json_decref(doc);

    /* Truncated: the connection closes in the middle of a frame. */
    const char *u2 = "21111111-2222-4333-8444-555555555555";
    fd = raw_connect(e.port);
    raw_uuid(fd, u2);
    uint8_t part[3 + 100] = {0x10, 0x01, 0x40};
    raw_send(fd, part, sizeof part);
    run(&e, 300);
    shutdown(fd, SHUT_WR); /* a FIN: the greeting we have not read stays */
    assert_true(raw_drain(&e, fd, 3000, kinds, sizeof kinds));
    close(fd);
    assert_non_null(strstr(e.log, "closed in the middle of a message (103 bytes"));
    doc = stored(&e, u2);
    assert_false(in_progress(doc));
    json_decref(doc);

    /* Not a UUID first: no call, our hang-up. */
    fd = raw_connect(e.port);
    uint8_t audio[3 + 320] = {0x10, 0x01, 0x40};
    raw_send(fd, audio, sizeof audio);
    assert_true(raw_drain(&e, fd, 3000, kinds, sizeof kinds));
    assert_string_equal(kinds, "00 ");
    assert_non_null(strstr(e.log, "the first message is kind 0x10 (320 bytes), not the call's"));
    close(fd);
    env_free(&e);
}

/* The peer vanishes mid-call (a reset, no hang-up): logged, the call ends
 * and is stored. */
static void test_audiosocket_peer_vanishes(void **state)
{
    CCAI_UNUSED(state);
    if (!have_speech())
        skip();
    env e;
    env_start(&e, NULL);
    const char *u = "31111111-2222-4333-8444-555555555555";
    int fd = raw_connect(e.port);
    raw_uuid(fd, u);
    run(&e, 1000); /* the greeting starts */
    struct linger lg = {1, 0};
    assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    close(fd); /* RST */
    run(&e, 1000);
    json_t *doc = stored(&e, u);
    assert_false(in_progress(doc));
    fprintf(stderr, "# end: %s\n", json_string_value(json_object_get(doc, "end_reason")));
    json_decref(doc);
    assert_true(strstr(e.log, "the connection broke") || strstr(e.log, "closed the call"));
    env_free(&e);
}

/* A peer audiosocket.allow does not list is refused (logged, closed); a
 * listener on a public address without an allow-list is a configuration
 * error. */
static void test_audiosocket_allow(void **state)
{
    CCAI_UNUSED(state);
    env e;
    const char *keys[] = {"audiosocket.allow", "10.0.0.0/8, fd00::/8", NULL};
    env_start(&e, keys);
    int fd = raw_connect(e.port);
    raw_uuid(fd, UUID);
    char kinds[64];
    assert_true(raw_drain(&e, fd, 2000, kinds, sizeof kinds));
    assert_string_equal(kinds, "");
    assert_non_null(strstr(
        e.log, "audiosocket: refused a connection from 127.0.0.1: not in audiosocket.allow"));
    char *id = NULL;
    assert_int_equal(ccai_ctx_call_find_provider(e.ctx, "audiosocket", UUID, &id),
                     CCAI_ERR_NOT_FOUND);
    close(fd);
    ctx_drop(&e);

    ccai_config *cfg = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", ":memory:"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "audiosocket.listen", "0.0.0.0:0"), CCAI_OK);
    ccai_poll *loop = NULL;
    ccai_ctx *ctx = NULL;
    char *why = NULL;
    assert_int_equal(ccai_poll_new(cfg, &loop, &ctx, &why), CCAI_ERR_CONFIG);
    assert_non_null(strstr(why, "not a loopback address"));
    ccai_free(why);
    why = NULL;
    assert_int_equal(ccai_config_set(cfg, "audiosocket.listen", "127.0.0.1:0"), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "audiosocket.allow", "10.0.0.0/33"), CCAI_OK);
    assert_int_equal(ccai_poll_new(cfg, &loop, &ctx, &why), CCAI_ERR_CONFIG);
    assert_non_null(strstr(why, "audiosocket.allow: \"10.0.0.0/33\""));
    ccai_free(why);
    ccai_config_free(cfg);
    env_free(&e);
}

/* The process goes away mid-call (the context freed, Asterisk's socket
 * closed) and comes back; Asterisk's dialplan connects again with the same
 * UUID: the same call goes on, its claim and messages intact, the bot
 * speaking again. */
static void test_audiosocket_reconnect(void **state)
{
    CCAI_UNUSED(state);
    if (!have_speech())
        skip();
    env e;
    env_start(&e, NULL);
    audiosocket_opts o = {.port = e.port, .uuid = UUID};
    media_driver *d = audiosocket_connect(&o);
    assert_true(run_until(&e, quiet, d, 30000));
    /* The caller answers with a key (recognition is not what this tests):
     * the offline dialogue notes it in the claim's text field. */
    media_driver_dtmf(d, '7');
    run(&e, 1000);
    assert_true(run_until(&e, quiet, d, 30000));
    json_t *doc = stored(&e, UUID);
    const char *city =
        json_string_value(json_object_get(json_object_get(doc, "claim"), "incident_city"));
    assert_non_null(city);
    char claim[256], call_id[64];
    snprintf(claim, sizeof claim, "%s", city);
    snprintf(call_id, sizeof call_id, "%s", json_string_value(json_object_get(doc, "call_id")));
    size_t talks = count_messages(doc, "assistant", "talk");
    json_decref(doc);

    ctx_drop(&e); /* the process stops */
    assert_int_not_equal(media_driver_wait_closed(d, 3000), -1);
    media_driver_free(d);

    e.log_len = 0;
    e.log[0] = '\0';
    ctx_make(&e, NULL); /* and comes back, on another port here */
    d = audiosocket_connect(&(audiosocket_opts){.port = e.port, .uuid = UUID});
    assert_true(run_until(&e, quiet, d, 30000));
    assert_true(media_driver_frames_received(d) > 25); /* the bot speaks again */
    assert_non_null(strstr(e.log, "goes on after a restart"));
    doc = stored(&e, UUID);
    assert_string_equal(json_string_value(json_object_get(doc, "call_id")), call_id);
    assert_true(in_progress(doc));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(doc, "claim"), "incident_city")), claim);
    assert_true(count_messages(doc, "assistant", "talk") > talks);
    json_decref(doc);
    media_driver_hangup(d);
    assert_true(run_until(&e, closed, d, 5000));
    media_driver_free(d);

    /* That call over, the same UUID again is refused: our hang-up at once. */
    run(&e, 500);
    int fd = raw_connect(e.port);
    raw_uuid(fd, UUID);
    char kinds[64];
    assert_true(raw_drain(&e, fd, 3000, kinds, sizeof kinds));
    assert_string_equal(kinds, "00 ");
    assert_non_null(strstr(e.log, "is over"));
    close(fd);
    env_free(&e);
}

/* An IVR menu on AudioSocket: the prompt said on the line, the caller's
 * keys as AudioSocket sends them (kind 0x03, one digit): a sub-menu, then a
 * task and the conversation; the choices on the stored call. */
static void test_audiosocket_ivr(void **state)
{
    CCAI_UNUSED(state);
    if (!have_speech())
        skip();
    static const char *const keys[] = {
        "ivr.start", "main", "ivr.menus",
        "{\"main\": {\"prompt\": \"For billing, press 2.\", \"choices\": [{\"key\": \"2\","
        "\"action\": \"menu\", \"menu\": \"billing\", \"label\": \"Billing\"}]},"
        "\"billing\": {\"prompt\": \"For your balance, press 1.\", \"choices\": [{\"key\": \"1\","
        "\"label\": \"Balance\", \"action\": \"task\", \"task\": \"Tell the balance.\"}]}}",
        NULL};
    env e;
    env_start(&e, keys);
    audiosocket_opts o = {.port = e.port, .uuid = UUID};
    media_driver *d = audiosocket_connect(&o);
    assert_int_equal(media_driver_status(d), 1);
    assert_true(run_until(&e, quiet, d, 30000));
    size_t prompt = media_driver_frames_received(d);
    assert_true(prompt > 30); /* the main menu, said */
    json_t *doc = stored(&e, UUID);
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "language_menu");
    json_decref(doc);
    media_driver_dtmf(d, '2');
    more m = {d, prompt + 30}; /* the billing menu, said */
    assert_true(run_until(&e, frames_over, &m, 30000));
    assert_true(run_until(&e, quiet, d, 30000));
    media_driver_dtmf(d, '1');
    run(&e, 1500);
    doc = stored(&e, UUID);
    assert_string_equal(last_message(doc, "human", "menu"), "billing: 1 (Balance), key -> task");
    assert_int_equal(count_messages(doc, "human", "menu"), 2);
    assert_int_equal(count_messages(doc, "human", "dtmf"), 0); /* choices, not words */
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "conversation");
    json_decref(doc);
    media_driver_hangup(d);
    assert_true(run_until(&e, closed, d, 5000));
    media_driver_free(d);
    env_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_audiosocket_call),
        cmocka_unit_test(test_audiosocket_ivr),
        cmocka_unit_test(test_audiosocket_barge_in),
        cmocka_unit_test(test_audiosocket_bot_hangs_up),
        cmocka_unit_test(test_audiosocket_malformed),
        cmocka_unit_test(test_audiosocket_peer_vanishes),
        cmocka_unit_test(test_audiosocket_allow),
        cmocka_unit_test(test_audiosocket_reconnect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
