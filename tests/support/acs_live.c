/* The rest of ACS for stream-mode calls (see the header). */
#include "support/acs_live.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

enum { J_CALL, J_START, J_STOP, J_END, J_TRANSFER, J_HANGUP, J_DROP, J_PLAY };

typedef struct job {
    struct job *next;
    int kind;
    char conn[64], server[64], corr[64];
    json_t *json;
} job;

struct acs_live {
    acs_standin *acs;
    char *audience, *public_base, *participant, *incoming_server;
    int reconnect_attempts, report_ms, sample_rate, ring_ms, stream_first;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
    job *head, **tail;
    int port;
    /* the call (worker's; read under lock) */
    char conn[64], server[64], corr[64];
    char callback[2048], transport[2048], callee[64];
    int rate, dtmf;
    json_t *options;
    media_driver *cur;
    media_driver **all;
    int n_all;
    int streams, refused, ended, blocked;
    char *log;
    /* after a drop */
    int reconnecting, attempts_left;
    unsigned long long next_attempt, report_at;
};

static unsigned long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000ull + (unsigned long long)ts.tv_nsec / 1000000ull;
}

static void push(acs_live *l, job *j)
{
    j->next = NULL;
    *l->tail = j;
    l->tail = &j->next;
    pthread_cond_signal(&l->cond);
}

static job *new_job(int kind, const char *conn)
{
    job *j = calloc(1, sizeof *j);
    if (j) {
        j->kind = kind;
        snprintf(j->conn, sizeof j->conn, "%s", conn ? conn : "");
    }
    return j;
}

/* The stand-in served a request (its thread, its lock held). */
static void on_served(const acs_standin_served *r, void *ud)
{
    acs_live *l = ud;
    const char *calls = "/calling/callConnections";
    size_t cl = strlen(calls);
    job *j = NULL;
    if ((r->status == 200 || r->status == 201) && *r->created) {
        j = new_job(J_CALL, r->created);
        if (j) {
            snprintf(j->server, sizeof j->server, "%s", r->server_call_id);
            snprintf(j->corr, sizeof j->corr, "%s", r->correlation_id);
            j->json = r->json ? json_deep_copy(r->json) : NULL;
        }
    } else if (strncmp(r->path, calls, cl) == 0 && r->path[cl] == '/' && r->status / 100 == 2) {
        const char *id = r->path + cl + 1;
        const char *colon = strchr(id, ':');
        char conn[64];
        size_t n = colon ? (size_t)(colon - id) : strlen(id);
        snprintf(conn, sizeof conn, "%.*s", (int)(n < sizeof conn ? n : sizeof conn - 1), id);
        const char *verb = colon ? colon + 1 : "";
        int kind = !strcmp(verb, "startMediaStreaming")     ? J_START
                   : !strcmp(verb, "stopMediaStreaming")    ? J_STOP
                   : !strcmp(verb, "terminate") || !*verb   ? J_END
                   : !strcmp(verb, "transferToParticipant") ? J_TRANSFER
                   : !strcmp(verb, "play")                  ? J_PLAY
                                                            : -1;
        if (kind >= 0 && (j = new_job(kind, conn)) != NULL)
            j->json = r->json ? json_deep_copy(r->json) : NULL;
    }
    if (!j)
        return;
    pthread_mutex_lock(&l->lock);
    push(l, j);
    pthread_mutex_unlock(&l->lock);
}

/* public_base + rest -> http://127.0.0.1:port + rest (https) or the path
 * alone (wss); NULL when the URL is not under public_base. */
static const char *under_public(const acs_live *l, const char *url, const char *scheme)
{
    const char *base = strstr(l->public_base, "://");
    size_t sl = strlen(scheme);
    if (!base || strncmp(url, scheme, sl) != 0)
        return NULL;
    base += 3;
    size_t bl = strlen(base);
    return strncmp(url + sl, base, bl) == 0 ? url + sl + bl : NULL;
}

static void log_line(acs_live *l, const char *type, int status)
{
    char line[128];
    snprintf(line, sizeof line, "%s %d\n", type, status);
    pthread_mutex_lock(&l->lock);
    size_t n = l->log ? strlen(l->log) : 0;
    char *p = realloc(l->log, n + strlen(line) + 1);
    if (p) {
        memcpy(p + n, line, strlen(line) + 1);
        l->log = p;
    }
    pthread_mutex_unlock(&l->lock);
}

/* A Call Automation event to the call's callbackUri, as ACS signs it. */
static void deliver(acs_live *l, const char *type, json_t *extra)
{
    json_t *data = json_pack("{s:s,s:s}", "serverCallId", l->server, "correlationId", l->corr);
    if (extra)
        json_object_update(data, extra);
    json_decref(extra);
    char *dj = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    pthread_mutex_lock(&l->lock);
    int port = l->port;
    pthread_mutex_unlock(&l->lock);
    const char *rest = under_public(l, l->callback, "https://");
    char url[2400];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, rest ? rest : "/");
    int status = rest && dj ? acs_standin_deliver(l->acs, url, l->audience, ACS_TOKEN_VALID, type,
                                                  l->conn, dj)
                            : -1;
    free(dj);
    log_line(l, type, status);
}

static json_t *streaming_update(const char *status, const char *details, int code)
{
    return json_pack("{s:{s:i,s:i,s:s},s:{s:s,s:s,s:s}}", "resultInformation", "code", code,
                     "subCode", 0, "message",
                     code == 200 ? "Action completed successfully." : details,
                     "mediaStreamingUpdate", "contentType", "Audio", "mediaStreamingStatus", status,
                     "mediaStreamingStatusDetails", details);
}

/* Connect the media WebSocket to the transportUrl; 1 when upgraded. */
static int connect_stream(acs_live *l)
{
    const char *path = under_public(l, l->transport, "wss://");
    pthread_mutex_lock(&l->lock);
    int port = l->port;
    if (l->blocked)
        l->refused++;
    int blocked = l->blocked;
    pthread_mutex_unlock(&l->lock);
    if (blocked)
        return 0;
    char *bearer = acs_standin_bearer(l->acs, l->audience, ACS_TOKEN_VALID);
    acs_media_opts o = {.port = port,
                        .path = path ? path : "/",
                        .authorization = bearer,
                        .sample_rate = l->sample_rate ? l->sample_rate : l->rate,
                        .participant = l->participant,
                        .correlation_id = l->corr,
                        .call_connection_id = l->conn,
                        .dtmf = l->dtmf,
                        .timeout_ms = 2000};
    char callee[80];
    if (!l->participant && *l->callee) {
        snprintf(callee, sizeof callee, "4:%s", l->callee);
        o.participant = callee;
    }
    media_driver *d = acs_media_connect(&o);
    free(bearer);
    if (!d)
        return 0;
    pthread_mutex_lock(&l->lock);
    media_driver **v = realloc(l->all, (size_t)(l->n_all + 1) * sizeof *v);
    if (v) {
        l->all = v;
        l->all[l->n_all++] = d;
    }
    int ok = media_driver_status(d) == 101;
    if (ok) {
        l->cur = d;
        l->streams++;
    } else {
        l->refused++;
    }
    pthread_mutex_unlock(&l->lock);
    if (!v)
        media_driver_free(d);
    return ok;
}

static void start_stream(acs_live *l, const char *details)
{
    if (connect_stream(l))
        deliver(l, "MediaStreamingStarted",
                streaming_update("mediaStreamingStarted", details, 200));
    else
        deliver(l, "MediaStreamingFailed",
                streaming_update("mediaStreamingFailed", "initialWebSocketConnectionFailed", 400));
}

/* :startMediaStreaming (answered 202 by the stand-in): ACS reports the
 * subscription started, then connects to the transportUrl; a socket it
 * cannot open is reported as MediaStreamingFailed. */
static void start_requested(acs_live *l)
{
    if (l->stream_first) {
        start_stream(l, "subscriptionStarted");
        return;
    }
    deliver(l, "MediaStreamingStarted",
            streaming_update("mediaStreamingStarted", "subscriptionStarted", 200));
    if (!connect_stream(l))
        deliver(l, "MediaStreamingFailed",
                streaming_update("mediaStreamingFailed", "initialWebSocketConnectionFailed", 400));
}

/* ACS closes the socket itself (1000): not a drop. */
static void close_stream(acs_live *l)
{
    pthread_mutex_lock(&l->lock);
    media_driver *d = l->cur;
    l->cur = NULL;
    l->reconnecting = 0;
    pthread_mutex_unlock(&l->lock);
    if (d) {
        media_driver_hangup(d);
        media_driver_wait_closed(d, 3000);
    }
}

static void end_call(acs_live *l)
{
    close_stream(l);
    deliver(l, "CallDisconnected", NULL);
    pthread_mutex_lock(&l->lock);
    l->ended = 1;
    pthread_mutex_unlock(&l->lock);
}

static void new_call(acs_live *l, const job *j)
{
    json_t *mso = json_object_get(j->json, "mediaStreamingOptions");
    snprintf(l->conn, sizeof l->conn, "%s", j->conn);
    int answered = json_object_get(j->json, "incomingCallContext") != NULL;
    snprintf(l->server, sizeof l->server, "%s",
             answered && l->incoming_server ? l->incoming_server : j->server);
    snprintf(l->corr, sizeof l->corr, "%s", j->corr);
    snprintf(l->callback, sizeof l->callback, "%s",
             json_string_value(json_object_get(j->json, "callbackUri")));
    snprintf(l->transport, sizeof l->transport, "%s",
             mso ? json_string_value(json_object_get(mso, "transportUrl")) : "");
    const char *fmt = json_string_value(json_object_get(mso, "audioFormat"));
    l->rate = fmt && !strcasecmp(fmt, "pcm24KMono") ? 24000 : 16000;
    l->dtmf = json_is_true(json_object_get(mso, "enableDtmfTones"));
    const char *callee = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(j->json, "targets"), 0), "phoneNumber"),
        "value"));
    snprintf(l->callee, sizeof l->callee, "%s", callee ? callee : "");
    pthread_mutex_lock(&l->lock);
    json_decref(l->options);
    l->options = mso ? json_deep_copy(mso) : NULL;
    l->ended = 0;
    l->reconnecting = 0;
    pthread_mutex_unlock(&l->lock);
    struct timespec ts = {l->ring_ms / 1000, (long)(l->ring_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    deliver(l, "CallConnected", NULL);
    if (mso && json_is_true(json_object_get(mso, "startMediaStreaming")))
        start_stream(l, "subscriptionStarted");
}

static void run_job(acs_live *l, job *j)
{
    if (j->kind != J_CALL && j->kind != J_HANGUP && j->kind != J_DROP && strcmp(j->conn, l->conn))
        return; /* another call's */
    switch (j->kind) {
    case J_CALL: new_call(l, j); break;
    case J_START:
        if (!acs_live_media(l))
            start_requested(l);
        break;
    case J_STOP:
        close_stream(l);
        deliver(l, "MediaStreamingStopped",
                streaming_update("mediaStreamingStopped", "subscriptionStopped", 200));
        break;
    case J_END: end_call(l); break;
    case J_TRANSFER: {
        json_t *target = json_object_get(j->json, "targetParticipant");
        const char *raw =
            json_string_value(json_object_get(json_object_get(target, "phoneNumber"), "value"));
        char rawid[80];
        snprintf(rawid, sizeof rawid, "4:%s", raw ? raw : "");
        deliver(l, "CallTransferAccepted",
                json_pack("{s:{s:s},s:{s:s},s:{s:i,s:i,s:s}}", "transferTarget", "rawId", rawid,
                          "transferee", "rawId", l->participant ? l->participant : "4:caller",
                          "resultInformation", "code", 202, "subCode", 7015, "message",
                          "The transfer operation completed successfully."));
        end_call(l);
        break;
    }
    case J_HANGUP: end_call(l); break;
    case J_PLAY: {
        /* Call Automation's text to speech plays it (a second here). */
        json_t *oc = json_object_get(j->json, "operationContext");
        deliver(l, "PlayStarted", oc ? json_pack("{s:O}", "operationContext", oc) : NULL);
        struct timespec ts = {1, 0};
        nanosleep(&ts, NULL);
        deliver(l, "PlayCompleted",
                json_pack("{s:O,s:{s:i,s:i,s:s}}", "operationContext", oc ? oc : json_null(),
                          "resultInformation", "code", 200, "subCode", 0, "message",
                          "Action completed successfully."));
        break;
    }
    case J_DROP: {
        pthread_mutex_lock(&l->lock);
        media_driver *d = l->cur;
        pthread_mutex_unlock(&l->lock);
        if (d)
            media_driver_cut(d);
        break;
    }
    }
}

/* The current socket closed without ACS closing it: reconnect, then
 * report. */
static void watch(acs_live *l)
{
    unsigned long long now = mono_ms();
    pthread_mutex_lock(&l->lock);
    media_driver *d = l->cur;
    int ended = l->ended;
    pthread_mutex_unlock(&l->lock);
    if (d && !ended && media_driver_closed(d)) {
        pthread_mutex_lock(&l->lock);
        l->cur = NULL;
        l->reconnecting = 1;
        l->attempts_left = l->reconnect_attempts;
        l->next_attempt = now + 1000;
        l->report_at = l->attempts_left ? 0 : now + (unsigned long long)l->report_ms;
        pthread_mutex_unlock(&l->lock);
        return;
    }
    if (!l->reconnecting || ended)
        return;
    if (l->attempts_left && now >= l->next_attempt) {
        l->attempts_left--;
        if (connect_stream(l)) {
            l->reconnecting = 0;
            deliver(
                l, "MediaStreamingStarted",
                streaming_update("mediaStreamingStarted", "streamConnectionReestablished", 200));
            return;
        }
        l->next_attempt = mono_ms() + 1000;
        if (!l->attempts_left)
            l->report_at = mono_ms();
    }
    if (l->report_at && now >= l->report_at) {
        l->reconnecting = 0;
        deliver(l, "MediaStreamingFailed",
                streaming_update("mediaStreamingFailed", "streamConnectionInterrupted", 500));
    }
}

static void *live_main(void *arg)
{
    acs_live *l = arg;
    pthread_mutex_lock(&l->lock);
    while (!l->stop) {
        job *j = l->head;
        if (j) {
            l->head = j->next;
            if (!l->head)
                l->tail = &l->head;
            pthread_mutex_unlock(&l->lock);
            run_job(l, j);
            json_decref(j->json);
            free(j);
            pthread_mutex_lock(&l->lock);
            continue;
        }
        pthread_mutex_unlock(&l->lock);
        watch(l);
        pthread_mutex_lock(&l->lock);
        if (l->head || l->stop)
            continue;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&l->cond, &l->lock, &ts);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

acs_live *acs_live_start(const acs_live_opts *o)
{
    acs_live *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->acs = o->acs;
    l->audience = strdup(o->audience);
    l->public_base = strdup(o->public_base);
    l->participant = o->participant ? strdup(o->participant) : NULL;
    l->incoming_server = o->server_call_id ? strdup(o->server_call_id) : NULL;
    l->port = o->port;
    l->reconnect_attempts = o->reconnect_attempts < 0 ? 3 : o->reconnect_attempts;
    l->report_ms = o->report_ms ? o->report_ms : 1000;
    l->sample_rate = o->sample_rate;
    l->ring_ms = o->ring_ms ? o->ring_ms : 100;
    l->stream_first = o->stream_first;
    l->tail = &l->head;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    if (pthread_create(&l->thread, NULL, live_main, l) != 0) {
        free(l);
        return NULL;
    }
    acs_standin_set_hook(l->acs, on_served, l);
    return l;
}

void acs_live_set_port(acs_live *l, int port)
{
    pthread_mutex_lock(&l->lock);
    l->port = port;
    pthread_mutex_unlock(&l->lock);
}

media_driver *acs_live_media(acs_live *l)
{
    pthread_mutex_lock(&l->lock);
    media_driver *d = l->cur;
    pthread_mutex_unlock(&l->lock);
    return d;
}

int acs_live_streams(acs_live *l)
{
    pthread_mutex_lock(&l->lock);
    int n = l->streams;
    pthread_mutex_unlock(&l->lock);
    return n;
}

int acs_live_refused(acs_live *l)
{
    pthread_mutex_lock(&l->lock);
    int n = l->refused;
    pthread_mutex_unlock(&l->lock);
    return n;
}

media_driver *acs_live_wait_stream(acs_live *l, int n, int timeout_ms)
{
    for (int t = 0; t <= timeout_ms; t += 50) {
        pthread_mutex_lock(&l->lock);
        media_driver *d = l->streams >= n ? l->cur : NULL;
        pthread_mutex_unlock(&l->lock);
        if (d && !media_driver_closed(d))
            return d;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static void push_job(acs_live *l, int kind)
{
    job *j = new_job(kind, NULL);
    if (!j)
        return;
    pthread_mutex_lock(&l->lock);
    push(l, j);
    pthread_mutex_unlock(&l->lock);
}

void acs_live_caller_hangup(acs_live *l)
{
    push_job(l, J_HANGUP);
}

void acs_live_drop(acs_live *l)
{
    push_job(l, J_DROP);
}

void acs_live_block_stream(acs_live *l, int block)
{
    pthread_mutex_lock(&l->lock);
    l->blocked = block;
    pthread_mutex_unlock(&l->lock);
}

char *acs_live_log(acs_live *l)
{
    pthread_mutex_lock(&l->lock);
    char *s = strdup(l->log ? l->log : "");
    pthread_mutex_unlock(&l->lock);
    return s;
}

int acs_live_ended(acs_live *l)
{
    pthread_mutex_lock(&l->lock);
    int e = l->ended;
    pthread_mutex_unlock(&l->lock);
    return e;
}

json_t *acs_live_options(acs_live *l)
{
    /* The answer is recorded by the stand-in before this thread has taken
     * its job: wait for it (10 s at most). */
    json_t *o = NULL;
    for (int i = 0; i < 500 && !o; i++) {
        pthread_mutex_lock(&l->lock);
        o = json_incref(l->options);
        pthread_mutex_unlock(&l->lock);
        if (!o) {
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    return o;
}

void acs_live_stop(acs_live *l)
{
    if (!l)
        return;
    acs_standin_set_hook(l->acs, NULL, NULL);
    pthread_mutex_lock(&l->lock);
    l->stop = 1;
    pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->thread, NULL);
    while (l->head) {
        job *j = l->head;
        l->head = j->next;
        json_decref(j->json);
        free(j);
    }
    for (int i = 0; i < l->n_all; i++)
        media_driver_free(l->all[i]);
    free(l->all);
    json_decref(l->options);
    free(l->log);
    free(l->audience);
    free(l->public_base);
    free(l->participant);
    free(l->incoming_server);
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->cond);
    free(l);
}
