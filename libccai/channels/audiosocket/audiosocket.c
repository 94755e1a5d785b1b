/* Size (~930 lines, just over ~900): the listener and the call of one
 * connection; the seam is the listener (accept, allow-list) against the
 * call, if it grows.
 *
 * Asterisk AudioSocket: Asterisk's AudioSocket() application (or its
 * channel driver) connects to us over TCP, one connection per call, and
 * speaks the framing of as_frame.h. The channel is an audio call of the
 * public API, like a host's own channel (examples/embed-channel.c):
 *
 *   kind 0x01 UUID (first)   the call's provider id: a new call, or the
 *                            stored call of that UUID taken back (this
 *                            process restarted while Asterisk kept the
 *                            caller, and its dialplan connected again);
 *   kind 0x10 slin 8 kHz     ccai_call_audio_in();
 *   kind 0x03 DTMF           CCAI_EVENT_DTMF;
 *   kind 0x00, or EOF        the caller hung up (Asterisk closes the socket
 *                            when the channel hangs up);
 *   kind 0xff                Asterisk's error (code logged): the call ends.
 *
 * The bot's audio goes out as kind 0x10 frames of 320 bytes (20 ms), one
 * when due: Asterisk plays what it receives as it arrives and buffers
 * nothing, so the call is CCAI_AUDIO_PACED (the voice layer's pacer on the
 * context's timers). Barge-in is the pacer dropping what it has not
 * released: nothing waits here but what the kernel has not taken.
 * Hang-up: kind 0x00, then the socket is closed once the bot's last frame
 * is out. Transfer: AudioSocket has none, and Asterisk takes no variable
 * over it (its dialplan continues after the socket closes but cannot tell
 * why), so the call has no transfer op: the engine's failed-transfer path
 * runs (apology, a callback reminder).
 *
 * Security: AudioSocket has no authentication. The listener binds where
 * audiosocket.listen says; without audiosocket.allow only loopback peers
 * are taken (and only a loopback address may be listened on), with it
 * only the peers it lists. A refused peer is logged and closed. */
#include "channels/audiosocket/audiosocket.h"

#include "channels/audiosocket/as_frame.h"
#include "channels/common/notify.h"
#include "config/config.h"
#include "core/hostport.h"
#include "io/io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CHANNEL "audiosocket"
/* What is read at a time. */
#define READ_CHUNK 4096u
/* Bot audio the kernel did not take, at most (Asterisk stopped reading):
 * beyond it frames are dropped. 200 ms. */
#define MAX_UNSENT (10u * (3u + CCAI_AS_FRAME_BYTES))
/* Peers in audiosocket.allow, at most. */
/* The engine hangs up as soon as its goodbye is stored, while the voice
 * layer is still synthesising and pacing it out: the hang-up waits until
 * the bot's audio has come and stopped for HANGUP_QUIET_MS, or none came
 * within HANGUP_FIRST_MS (no goodbye), and never longer than
 * HANGUP_WAIT_MS. */
#define HANGUP_QUIET_MS 400u
#define HANGUP_FIRST_MS 3000u
#define HANGUP_WAIT_MS  30000u
#define HANGUP_TICK_MS  50u
/* A closed connection whose events wait for the engine is checked again. */
#define LINGER_MS 100u

typedef struct as_conn as_conn;

typedef struct Ccai_audiosocket {
    ccai_ctx *ctx;
    const ccai_config *cfg;
    const Ccai_logger *log;
    int lfd;
    char listen_addr[96];
    Ccai_allow allow;
    as_conn *conns;
    uint64_t refused;
} Ccai_audiosocket;

struct as_conn {
    as_conn *next;
    Ccai_audiosocket *as;
    int fd;
    char peer[64];
    uint8_t *in;
    size_t in_len, in_cap;
    Ccai_buf out; /* whole messages; out_off of them sent */
    size_t out_off;
    ccai_call *call;
    Ccai_notifier notify;
    bool notify_on;
    char uuid[37];
    bool closing;     /* the socket goes once out is sent */
    bool hangup_sent; /* kind 0x00 queued */
    bool hangup_due;  /* the engine hung up: 0x00 once the bot's audio is out */
    bool end_event;   /* the engine was told the call is over (or it knew) */
    bool bot_ended;   /* the engine ended it (hang-up, ended state) */
    char end_reason[128];
    bool watched_out;
    uint64_t last_play; /* when play_audio last ran */
    uint64_t hangup_at; /* when the engine hung up */
    uint64_t dropped;   /* frames Asterisk did not take */
    bool warned_rate, warned_audio;
    Ccai_timer timer; /* the hang-up's wait, the end, the linger */
};

/* Addresses ------------------------------------------------------------------ */

static bool parse_ip(const char *s, int *family, uint8_t out[16])
{
    if (inet_pton(AF_INET, s, out) == 1) {
        *family = AF_INET;
        return true;
    }
    if (inet_pton(AF_INET6, s, out) == 1) {
        *family = AF_INET6;
        return true;
    }
    return false;
}

/* The peer's address as text and whether it may talk to us. */
static bool peer_allowed(const Ccai_audiosocket *as, const struct sockaddr_storage *ss, char *text,
                         size_t cap)
{
    uint8_t a[16];
    int family;
    if (!Ccai_allow_peer(ss, &family, a, text, cap))
        return false;
    if (!as->allow.n)
        return Ccai_host_is_loopback(text);
    return Ccai_allow_match(&as->allow, family, a);
}

/* "HOST:PORT" or "[IPv6]:PORT" with a numeric host or "localhost". */
static bool parse_listen(const char *text, struct sockaddr_storage *ss, socklen_t *ret_len,
                         bool *ret_loopback)
{
    char host[CCAI_HOST_MAX + 1];
    const char *colon = strrchr(text, ':');
    if (!colon || !Ccai_hostport_host(text, (size_t)(colon - text), host))
        return false;
    if (text[0] != '[' && memchr(text, ':', (size_t)(colon - text)))
        return false;
    char *end = NULL;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (!colon[1] || *end || errno || port < 0 || port > 65535)
        return false;
    memset(ss, 0, sizeof *ss);
    int family = 0;
    uint8_t a[16];
    if (strcmp(host, "localhost") == 0) {
        family = AF_INET;
        a[0] = 127, a[1] = 0, a[2] = 0, a[3] = 1;
    } else if (!parse_ip(host, &family, a)) {
        return false;
    }
    *ret_loopback = strcmp(host, "localhost") == 0 || Ccai_host_is_loopback(host);
    if (family == AF_INET) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
        v4->sin_family = AF_INET;
        memcpy(&v4->sin_addr, a, 4);
        v4->sin_port = htons((uint16_t)port);
        *ret_len = sizeof *v4;
    } else {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
        v6->sin6_family = AF_INET6;
        memcpy(&v6->sin6_addr, a, 16);
        v6->sin6_port = htons((uint16_t)port);
        *ret_len = sizeof *v6;
    }
    return true;
}

/* The connection ---------------------------------------------------------- */

static void conn_free(as_conn *c)
{
    Ccai_audiosocket *as = c->as;
    for (as_conn **p = &as->conns; *p; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    Ccai_timer_stop(as->ctx, &c->timer);
    if (c->notify_on)
        Ccai_notifier_clear(&c->notify);
    if (c->fd >= 0) {
        Ccai_fd_forget(as->ctx, c->fd);
        close(c->fd);
    }
    ccai_call_free(c->call);
    Ccai_buf_free(&c->out);
    ccai_free(c->in);
    ccai_free(c);
}

static void close_socket(as_conn *c)
{
    if (c->fd < 0)
        return;
    Ccai_fd_forget(c->as->ctx, c->fd);
    shutdown(c->fd, SHUT_RDWR);
    close(c->fd);
    c->fd = -1;
}

static void on_io(ccai_ctx *ctx, int fd, int events, void *ud);

static void watch(as_conn *c)
{
    if (c->fd < 0)
        return;
    bool want_out = c->out.len > c->out_off;
    int ev = (c->closing ? 0 : CCAI_POLL_IN) | (want_out ? CCAI_POLL_OUT : 0);
    if (ev == 0)
        ev = CCAI_POLL_IN; /* closing with nothing to send: closed below */
    if (want_out == c->watched_out && !c->closing)
        return;
    if (Ccai_fd_watch(c->as->ctx, c->fd, ev, on_io, c) != CCAI_OK) {
        Ccai_log(c->as->log, CCAI_LOG_ERROR, "audiosocket: %s: cannot watch the connection",
                 c->peer);
        close_socket(c);
        return;
    }
    c->watched_out = want_out;
}

/* Write what waits; false when the connection broke. */
static CCAI_MUST_CHECK bool flush(as_conn *c)
{
    while (c->fd >= 0 && c->out_off < c->out.len) {
        ssize_t n = send(c->fd, c->out.data + c->out_off, c->out.len - c->out_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        return false;
    }
    if (c->out_off == c->out.len) {
        Ccai_buf_reset(&c->out);
        c->out_off = 0;
    }
    return true;
}

static CCAI_MUST_CHECK bool queue_msg(as_conn *c, uint8_t kind, const void *data, size_t len)
{
    uint8_t h[3];
    Ccai_as_header(kind, (uint16_t)len, h);
    return Ccai_buf_append(&c->out, h, 3) && (!len || Ccai_buf_append(&c->out, data, len));
}

static void schedule(as_conn *c, uint64_t ms)
{
    Ccai_timer_start(c->as->ctx, &c->timer, ms);
}

/* The call is over on the line: the engine is told (unless it ended it),
 * the socket goes (after kind 0x00 when send_hangup), then the connection
 * once the engine has taken its last events. */
static void finish(as_conn *c, const char *reason, bool send_hangup)
{
    if (!c->end_event && !c->bot_ended && c->call && c->notify_on) {
        c->end_event = true;
        Ccai_notify(&c->notify, CCAI_EVENT_HANGUP, reason);
    }
    c->end_event = true;
    if (send_hangup && !c->hangup_sent && c->fd >= 0) {
        c->hangup_sent = true;
        if (!queue_msg(c, CCAI_AS_KIND_HANGUP, NULL, 0))
            Ccai_log(c->as->log, CCAI_LOG_WARN, "audiosocket: %s: no memory for the hang-up",
                     c->peer);
    }
    c->closing = true;
    if (!flush(c) || c->out.len == 0)
        close_socket(c);
    else
        watch(c);
    schedule(c, 0);
}

static void on_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    as_conn *c = ud;
    Ccai_audiosocket *as = c->as;
    if (c->hangup_due && !c->closing) {
        uint64_t now = Ccai_ctx_now(as->ctx), waited = now - c->hangup_at;
        bool heard = c->last_play + HANGUP_TICK_MS >= c->hangup_at;
        bool wait = heard ? now - c->last_play < HANGUP_QUIET_MS : waited < HANGUP_FIRST_MS;
        if (wait && waited < HANGUP_WAIT_MS) {
            schedule(c, HANGUP_TICK_MS);
            return;
        }
        Ccai_log(as->log, CCAI_LOG_INFO, "audiosocket: call %s: the bot hung up",
                 ccai_call_id(c->call));
        /* The engine asked (its call is "ending"): the event stores the
         * end, as a provider's hang-up report does. */
        finish(c, "the bot hung up", true);
        return;
    }
    if (!c->closing)
        return;
    if (c->fd >= 0)
        return; /* still sending the last bytes */
    if (c->notify_on && Ccai_notify_waiting(&c->notify) > 0) {
        schedule(c, LINGER_MS);
        return;
    }
    conn_free(c);
}

/* Ops: what the engine does on the line. -------------------------------------- */

static int op_play(ccai_call *call, const ccai_audio_frame *f, void *ud)
{
    CCAI_UNUSED(call);
    as_conn *c = ud;
    if (c->fd < 0 || c->closing)
        return -1;
    c->last_play = Ccai_ctx_now(c->as->ctx);
    if (c->out.len - c->out_off + 3 + f->len > MAX_UNSENT) {
        if (!c->dropped++)
            Ccai_log(c->as->log, CCAI_LOG_WARN,
                     "audiosocket: call %s: Asterisk does not read: bot audio dropped",
                     ccai_call_id(c->call));
        return -1;
    }
    /* Frames of 20 ms (audio_frame_ms): 320 bytes each. */
    for (size_t off = 0; off < f->len; off += CCAI_AS_FRAME_BYTES) {
        size_t n = f->len - off < CCAI_AS_FRAME_BYTES ? f->len - off : CCAI_AS_FRAME_BYTES;
        if (!queue_msg(c, CCAI_AS_KIND_SLIN, (const uint8_t *)f->data + off, n))
            return -1;
    }
    if (!flush(c)) {
        Ccai_log(c->as->log, CCAI_LOG_WARN, "audiosocket: call %s: the connection broke: %s",
                 ccai_call_id(c->call), strerror(errno));
        close_socket(c);
        c->closing = true;
        schedule(c, 0); /* EOF handling ends the call from the loop */
        return -1;
    }
    watch(c);
    return 0;
}

static int op_hangup(ccai_call *call, void *ud)
{
    CCAI_UNUSED(call);
    as_conn *c = ud;
    if (c->hangup_due || c->closing)
        return 0;
    c->hangup_due = true;
    c->hangup_at = Ccai_ctx_now(c->as->ctx);
    schedule(c, 0);
    return 0;
}

static void op_state(ccai_call *call, ccai_call_state old_state, ccai_call_state new_state,
                     void *ud)
{
    CCAI_UNUSED(call);
    CCAI_UNUSED(old_state);
    as_conn *c = ud;
    /* Ended by the engine itself (its own hang-up came through op_hangup;
     * this is the rest: the sweep, a store that gave up): the line goes. */
    if (new_state >= CCAI_CALL_ENDED && !c->end_event && !c->hangup_due) {
        c->bot_ended = true;
        c->hangup_due = true;
        c->hangup_at = Ccai_ctx_now(c->as->ctx);
        schedule(c, 0);
    }
}

static const ccai_call_ops as_ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .hangup = op_hangup,
    .state_changed = op_state,
    .play_audio = op_play,
};

/* The engine refused the call's events for good: the line is hung up. */
static void on_gave_up(void *ud, ccai_status st)
{
    as_conn *c = ud;
    Ccai_log(c->as->log, CCAI_LOG_ERROR,
             "audiosocket: call %s: the engine cannot go on (%s): hanging up",
             ccai_call_id(c->call), ccai_status_str(st));
    c->bot_ended = true;
    finish(c, "the engine could not go on", true);
}

/* The call ------------------------------------------------------------------ */

/* The caller's number: AudioSocket carries none (only the UUID), so the
 * call's number is made from its UUID in +999, a country code ITU keeps
 * unassigned: never a real subscriber, never dialled, and one per UUID, so
 * that the UUID's earlier call is the number's ("a caller ringing back"). */
static void uuid_number(const char *uuid, char out[17])
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = uuid; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    snprintf(out, 17, "+999%012llu", (unsigned long long)(h % 1000000000000ull));
}

/* The stored call of this UUID, and what it allows: taken back (in
 * progress: this process stopped without ending it), continued as a
 * caller ringing back (ended because this process went away while
 * Asterisk kept the caller), or over (*ret_over). */
static CCAI_MUST_CHECK ccai_status start_call(as_conn *c, bool *ret_over)
{
    Ccai_audiosocket *as = c->as;
    *ret_over = false;
    char number[17];
    uuid_number(c->uuid, number);
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = number,
        .channel = CHANNEL,
        .provider_call_id = c->uuid,
        .audio_in = {CCAI_AUDIO_PCM16, 8000, 1},
        .audio_out = {CCAI_AUDIO_PCM16, 8000, 1},
        .audio_flags = CCAI_AUDIO_PACED,
        .audio_frame_ms = 20,
    };
    char *id = NULL;
    ccai_status st = ccai_ctx_call_find_provider(as->ctx, CHANNEL, c->uuid, &id);
    if (st != CCAI_OK && st != CCAI_ERR_NOT_FOUND)
        return st;
    if (st == CCAI_OK) {
        for (as_conn *o = as->conns; o; o = o->next) {
            if (o != c && o->call && strcmp(ccai_call_id(o->call), id) == 0) {
                Ccai_log(as->log, CCAI_LOG_WARN,
                         "audiosocket: %s: UUID %s is already connected (call %s): refused",
                         c->peer, c->uuid, id);
                ccai_free(id);
                *ret_over = true;
                return CCAI_ERR_STATE;
            }
        }
        ccai_call_params tb = p;
        tb.phone_number = NULL;
        tb.resume_call_id = id;
        st = ccai_call_start(as->ctx, &tb, &as_ops, c, &c->call);
        if (st == CCAI_OK) {
            Ccai_log(as->log, CCAI_LOG_WARN, "audiosocket: call %s (UUID %s): taken back", id,
                     c->uuid);
        } else if (st == CCAI_ERR_STATE) {
            /* Ended: by this process going away (its handle released), the
             * caller still there, the call goes on; by a hang-up, it is
             * over. */
            char *doc = NULL;
            st = ccai_ctx_call_get_json(as->ctx, id, &doc);
            json_t *j = st == CCAI_OK ? json_loads(doc, 0, NULL) : NULL;
            ccai_free(doc);
            const char *why = json_string_value(json_object_get(j, "end_reason"));
            bool released =
                why && (strcmp(why, "handle released") == 0 || strcmp(why, "context freed") == 0);
            char *latest = NULL;
            if (released && ccai_ctx_call_find_json(as->ctx, number, 1, &latest) == CCAI_OK) {
                json_t *l = json_loads(latest, 0, NULL);
                const char *lid = json_string_value(json_object_get(l, "call_id"));
                released = lid && strcmp(lid, id) == 0;
                json_decref(l);
            } else {
                released = false;
            }
            ccai_free(latest);
            if (!released) {
                Ccai_log(as->log, CCAI_LOG_WARN,
                         "audiosocket: %s: the call of UUID %s (%s) is over (%s): refused", c->peer,
                         c->uuid, id, why ? why : "ended");
                json_decref(j);
                ccai_free(id);
                *ret_over = true;
                return CCAI_ERR_STATE;
            }
            json_decref(j);
            p.resume = 1;
            st = ccai_call_start(as->ctx, &p, &as_ops, c, &c->call);
            if (st == CCAI_OK)
                Ccai_log(as->log, CCAI_LOG_WARN,
                         "audiosocket: call %s (UUID %s): goes on after a restart", id, c->uuid);
        }
        ccai_free(id);
    } else {
        st = ccai_call_start(as->ctx, &p, &as_ops, c, &c->call);
        if (st == CCAI_OK)
            Ccai_log(as->log, CCAI_LOG_INFO, "audiosocket: call %s (UUID %s) from %s",
                     ccai_call_id(c->call), c->uuid, c->peer);
    }
    if (st != CCAI_OK)
        return st;
    Ccai_notifier_init(&c->notify, as->ctx, as->log, c->call, on_gave_up, c);
    c->notify_on = true;
    Ccai_notify(&c->notify, CCAI_EVENT_CONNECTED, NULL);
    return CCAI_OK;
}

/* Reading ------------------------------------------------------------------ */

static void on_uuid(as_conn *c, const Ccai_as_msg *m)
{
    Ccai_as_uuid_text(m->payload, c->uuid);
    bool over = false;
    ccai_status st = start_call(c, &over);
    if (st != CCAI_OK) {
        if (!over)
            Ccai_log(c->as->log, CCAI_LOG_ERROR,
                     "audiosocket: %s: UUID %s: the call cannot start (%s: %s): hanging up",
                     c->peer, c->uuid, ccai_status_str(st), ccai_ctx_errmsg(c->as->ctx));
        ccai_call_free(c->call);
        c->call = NULL;
        finish(c, NULL, true);
    }
}

static void on_audio(as_conn *c, const Ccai_as_msg *m)
{
    if (m->rate != 8000) {
        if (!c->warned_rate)
            Ccai_log(c->as->log, CCAI_LOG_ERROR,
                     "audiosocket: call %s: audio at %u Hz (kind 0x%02x): this channel takes "
                     "slin at 8 kHz (kind 0x10; the AudioSocket application, or the channel "
                     "driver with c(slin)): dropped",
                     ccai_call_id(c->call), (unsigned)m->rate, m->kind);
        c->warned_rate = true;
        return;
    }
    ccai_status st = ccai_call_audio_in(c->call, m->payload, m->len);
    if (st != CCAI_OK && st != CCAI_ERR_STATE && !c->warned_audio) {
        c->warned_audio = true;
        Ccai_log(c->as->log, CCAI_LOG_WARN, "audiosocket: call %s: audio refused: %s",
                 ccai_call_id(c->call), ccai_call_errmsg(c->call));
    }
}

/* One message; false when the connection is done with. */
static CCAI_MUST_CHECK bool on_message(as_conn *c, Ccai_as_result r, const Ccai_as_msg *m,
                                       size_t used)
{
    Ccai_audiosocket *as = c->as;
    const char *who = c->call ? ccai_call_id(c->call) : c->peer;
    if (r == CCAI_AS_BROKEN) {
        Ccai_log(as->log, CCAI_LOG_ERROR, "audiosocket: %s: %s (kind 0x%02x): hanging up", who,
                 m->why, m->kind);
        finish(c, "malformed AudioSocket stream", true);
        return false;
    }
    if (!c->call) {
        if (r == CCAI_AS_MESSAGE && m->kind == CCAI_AS_KIND_UUID) {
            on_uuid(c, m);
            return !c->closing;
        }
        if (r == CCAI_AS_MESSAGE && m->kind == CCAI_AS_KIND_HANGUP) {
            finish(c, NULL, false);
            return false;
        }
        Ccai_log(as->log, CCAI_LOG_ERROR,
                 "audiosocket: %s: the first message is kind 0x%02x (%zu bytes), not the "
                 "call's UUID (kind 0x01, 16 bytes): hanging up",
                 c->peer, m->kind, used - 3);
        finish(c, NULL, true);
        return false;
    }
    if (r == CCAI_AS_BAD) {
        /* The framing holds: the message is skipped, the call goes on. */
        Ccai_log(as->log, CCAI_LOG_WARN,
                 "audiosocket: call %s: %s (kind 0x%02x, %zu bytes): "
                 "skipped",
                 who, m->why, m->kind, used - 3);
        return true;
    }
    switch (m->kind) {
    case CCAI_AS_KIND_UUID:
        Ccai_log(as->log, CCAI_LOG_WARN, "audiosocket: call %s: a second UUID: ignored", who);
        return true;
    case CCAI_AS_KIND_HANGUP:
        Ccai_log(as->log, CCAI_LOG_INFO, "audiosocket: call %s: Asterisk hung up", who);
        finish(c, "the caller hung up", false);
        return false;
    case CCAI_AS_KIND_ERROR:
        Ccai_log(as->log, CCAI_LOG_ERROR, "audiosocket: call %s: Asterisk reports an error: %s",
                 who, Ccai_as_error_name(m->error_code));
        finish(c, m->error_code == 0x01 ? "the caller hung up" : "Asterisk reported an error",
               false);
        return false;
    case CCAI_AS_KIND_DTMF: {
        char d[2] = {m->digit, '\0'};
        Ccai_notify(&c->notify, CCAI_EVENT_DTMF, d);
        return !c->closing;
    }
    default: on_audio(c, m); return !c->closing;
    }
}

static void on_readable(as_conn *c)
{
    Ccai_audiosocket *as = c->as;
    for (;;) {
        if (c->in_cap - c->in_len < READ_CHUNK) {
            size_t cap = c->in_len + READ_CHUNK;
            uint8_t *b = Ccai_realloc(c->in, cap);
            if (!b) {
                Ccai_log(as->log, CCAI_LOG_ERROR, "audiosocket: %s: out of memory: hanging up",
                         c->peer);
                finish(c, "out of memory", true);
                return;
            }
            c->in = b;
            c->in_cap = cap;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            const char *who = c->call ? ccai_call_id(c->call) : c->peer;
            if (n < 0)
                Ccai_log(as->log, CCAI_LOG_WARN, "audiosocket: %s: the connection broke: %s", who,
                         strerror(errno));
            else if (c->in_len)
                Ccai_log(as->log, CCAI_LOG_WARN,
                         "audiosocket: %s: closed in the middle of a message (%zu bytes of it "
                         "came)",
                         who, c->in_len);
            else
                Ccai_log(as->log, CCAI_LOG_INFO, "audiosocket: %s: Asterisk closed the call", who);
            finish(c, n < 0 ? "the connection broke" : "the caller hung up", false);
            return;
        }
        c->in_len += (size_t)n;
        size_t off = 0;
        for (;;) {
            Ccai_as_msg m;
            size_t used = 0;
            Ccai_as_result r = Ccai_as_parse(c->in + off, c->in_len - off, &m, &used);
            if (r == CCAI_AS_MORE)
                break;
            bool go_on = on_message(c, r, &m, used);
            off += used;
            if (!go_on)
                return;
        }
        memmove(c->in, c->in + off, c->in_len - off);
        c->in_len -= off;
    }
}

static void on_io(ccai_ctx *ctx, int fd, int events, void *ud)
{
    CCAI_UNUSED(ctx);
    CCAI_UNUSED(fd);
    as_conn *c = ud;
    if (events & CCAI_POLL_OUT) {
        if (!flush(c)) {
            close_socket(c);
            if (!c->closing)
                finish(c, "the connection broke", false);
            return;
        }
        if (c->closing && c->out.len == 0) {
            close_socket(c);
            schedule(c, 0);
            return;
        }
        watch(c);
    }
    if ((events & (CCAI_POLL_IN | CCAI_POLL_ERR)) && c->fd >= 0 && !c->closing)
        on_readable(c);
}

/* The listener -------------------------------------------------------------- */

static void on_accept(ccai_ctx *ctx, int fd, int events, void *ud)
{
    CCAI_UNUSED(events);
    Ccai_audiosocket *as = ud;
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                Ccai_log(as->log, CCAI_LOG_WARN, "audiosocket: accept: %s", strerror(errno));
            return;
        }
        char peer[64];
        if (!peer_allowed(as, &ss, peer, sizeof peer)) {
            as->refused++;
            Ccai_log(as->log, CCAI_LOG_WARN,
                     "audiosocket: refused a connection from %s: not in audiosocket.allow%s", peer,
                     as->allow.n ? "" : " (unset: loopback peers only)");
            close(cfd);
            continue;
        }
        int one = 1;
        CCAI_DISCARD(setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
        as_conn *c = Ccai_calloc(1, sizeof *c);
        if (!c) {
            close(cfd);
            continue;
        }
        c->as = as;
        c->fd = cfd;
        snprintf(c->peer, sizeof c->peer, "%s", peer);
        Ccai_timer_init(&c->timer, on_timer, c);
        c->next = as->conns;
        as->conns = c;
        if (Ccai_fd_watch(ctx, cfd, CCAI_POLL_IN, on_io, c) != CCAI_OK) {
            Ccai_log(as->log, CCAI_LOG_ERROR, "audiosocket: %s: cannot watch the connection", peer);
            conn_free(c);
        }
    }
}

static CCAI_MUST_CHECK ccai_status as_listen(Ccai_audiosocket *as, const char *address)
{
    struct sockaddr_storage ss;
    socklen_t sl = 0;
    bool loopback = false;
    if (!parse_listen(address, &ss, &sl, &loopback)) {
        Ccai_ctx_set_error(as->ctx,
                           "audiosocket.listen: \"%s\" is not HOST:PORT with a numeric host, "
                           "\"localhost\" or [IPv6]",
                           address);
        return CCAI_ERR_CONFIG;
    }
    if (!loopback && !as->allow.n) {
        Ccai_ctx_set_error(as->ctx,
                           "audiosocket.listen: %s is not a loopback address: AudioSocket has "
                           "no authentication, so set audiosocket.allow to the peers (CIDRs) "
                           "that may connect",
                           address);
        return CCAI_ERR_CONFIG;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, SOMAXCONN) != 0) {
        Ccai_ctx_set_error(as->ctx, "audiosocket: listen on %s: %s", address, strerror(errno));
        if (fd >= 0)
            close(fd);
        return CCAI_ERR_IO;
    }
    ccai_status st = Ccai_fd_watch(as->ctx, fd, CCAI_POLL_IN, on_accept, as);
    if (st != CCAI_OK) {
        close(fd);
        return st;
    }
    as->lfd = fd;
    struct sockaddr_storage b;
    socklen_t bl = sizeof b;
    char host[64] = "?";
    unsigned port = 0;
    if (getsockname(fd, (struct sockaddr *)&b, &bl) == 0) {
        if (b.ss_family == AF_INET6) {
            const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&b;
            CCAI_DISCARD(inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host));
            port = ntohs(v6->sin6_port);
        } else {
            const struct sockaddr_in *v4 = (const struct sockaddr_in *)&b;
            CCAI_DISCARD(inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host));
            port = ntohs(v4->sin_port);
        }
    }
    snprintf(as->listen_addr, sizeof as->listen_addr, b.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
             host, port);
    Ccai_log(as->log, CCAI_LOG_INFO, "audiosocket: listening on %s", as->listen_addr);
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status read_allow(Ccai_audiosocket *as, const char *list)
{
    char why[160];
    if (!Ccai_allow_parse(&as->allow, list, why)) {
        Ccai_ctx_set_error(as->ctx, "audiosocket.allow: %s", why);
        return CCAI_ERR_CONFIG;
    }
    return CCAI_OK;
}

/* Life of the channel ---------------------------------------------------------- */

static CCAI_MUST_CHECK ccai_status as_init(const Ccai_channel_env *env, void **ret_state)
{
    Ccai_audiosocket *as = Ccai_calloc(1, sizeof *as);
    if (!as)
        return CCAI_ERR_NOMEM;
    as->ctx = env->ctx;
    as->cfg = env->cfg;
    as->log = env->log;
    as->lfd = -1;
    const char *listen_at = Ccai_config_str(env->cfg, "audiosocket.listen");
    ccai_status st = read_allow(as, Ccai_config_str(env->cfg, "audiosocket.allow"));
    if (st == CCAI_OK && listen_at && *listen_at)
        st = as_listen(as, listen_at);
    if (st != CCAI_OK) {
        ccai_free(as);
        return st;
    }
    *ret_state = as;
    return CCAI_OK;
}

/* The context goes: the listener closes, and each live call's socket (the
 * caller's Asterisk sees it close; its handle released, the stored call
 * may go on when the same UUID connects again). */
static void as_free(void *state)
{
    Ccai_audiosocket *as = state;
    while (as->conns)
        conn_free(as->conns);
    if (as->lfd >= 0) {
        Ccai_fd_forget(as->ctx, as->lfd);
        close(as->lfd);
    }
    ccai_free(as);
}

static void as_readiness(const void *state, json_t *checks, bool *ok)
{
    const Ccai_audiosocket *as = state;
    if (as->lfd < 0)
        return;
    json_t *c = Ccai_channel_check("audiosocket", "pass", as->listen_addr);
    if (!c || json_array_append_new(checks, c) != 0)
        *ok = false;
}

const Ccai_channel_class Ccai_audiosocket_channel = {
    .name = CHANNEL,
    .caps = CCAI_CHANNEL_RECORDING,
    .init = as_init,
    .free = as_free,
    .readiness = as_readiness,
};
