/* Several ccai-server instances on one database (docs/deployment.md,
 * "Several instances"): real processes on loopback behind a trivial
 * round-robin TCP forwarder written here (a load balancer with nothing
 * sticky: each connection goes to the next instance, the next one again
 * when it refuses), Twilio's webhooks signed as Twilio signs them.
 *
 * A Twilio call in Gather mode, whose webhooks alternate between the
 * instances: the instance that holds the call is killed (SIGKILL) mid-call;
 * the caller goes on speaking; a survivor takes the call over once its
 * lease ran out; Twilio's status callback (configured on the number: no
 * query of ours) ends it. Then every turn the caller got an answer for is
 * stored, the call is over on a survivor, and its post-call work (the
 * report, the SMS to the caller) was done once.
 *
 * On PostgreSQL (a real server this test starts; skipped without its
 * binaries) with three instances, and on one SQLite file shared by two. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/acs_standin.h"
#include "support/pg_server.h"
#include "support/server_proc.h"
#include "support/twilio_standin.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PUBLIC       "https://bot.example.test"
#define MAX_INST     3
#define LEASE_MS     "2000"
#define CALL_SID     "CA00000000000000000000000000000i14"
#define CALLER       "+33633334444"
#define CALLER_Q     "%2B33633334444"
#define ACS_BOT      "+15550002222"
#define RESOURCE     "acs-resource-0001"
#define ACS_CALLER   "+33655556666"
#define ACS_CALLER_Q "%2B33655556666"

static const char *server_path;
static pg_server g_pg;
static bool g_pg_up;

/* Ports ------------------------------------------------------------------- */

/* A free loopback port in 20000-29999 (bound once to check, then closed). */
static int free_port(void)
{
    static unsigned seed;
    if (!seed)
        seed = (unsigned)getpid() ^ (unsigned)time(NULL);
    for (int tries = 0; tries < 200; tries++) {
        int port = 20000 + (int)(rand_r(&seed) % 10000);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(fd >= 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (ok)
            return port;
    }
    fail_msg("no free port in 20000-29999");
    return -1;
}

/* The round-robin forwarder ------------------------------------------------ */

typedef struct lb {
    int fd;
    int port;
    int ports[MAX_INST];
    int n;
    atomic_int next;
    atomic_int served[MAX_INST]; /* connections each instance took */
    atomic_bool stop;
    pthread_t thread;
} lb;

typedef struct pipe_job {
    int client;
    lb *b;
} pipe_job;

static int connect_port(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Copy bytes both ways until either side closes. */
static void *relay(void *arg)
{
    pipe_job *j = arg;
    lb *b = j->b;
    int up = -1;
    /* The next instance; the one after when it refuses (it died). */
    for (int k = 0; k < b->n && up < 0; k++) {
        int i = atomic_fetch_add(&b->next, 1) % b->n;
        up = connect_port(b->ports[i]);
        if (up >= 0)
            atomic_fetch_add(&b->served[i], 1);
    }
    if (up >= 0) {
        struct pollfd p[2] = {{.fd = j->client, .events = POLLIN}, {.fd = up, .events = POLLIN}};
        char buf[16384];
        for (bool open = true; open;) {
            if (poll(p, 2, 30000) <= 0)
                break;
            for (int s = 0; s < 2 && open; s++) {
                if (!(p[s].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                ssize_t n = read(p[s].fd, buf, sizeof buf);
                if (n <= 0) {
                    open = false;
                    break;
                }
                for (ssize_t off = 0; off < n;) {
                    ssize_t w = write(p[1 - s].fd, buf + off, (size_t)(n - off));
                    if (w <= 0) {
                        open = false;
                        break;
                    }
                    off += w;
                }
            }
        }
        close(up);
    }
    close(j->client);
    free(j);
    return NULL;
}

static void *accept_loop(void *arg)
{
    lb *b = arg;
    while (!atomic_load(&b->stop)) {
        struct pollfd p = {.fd = b->fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int c = accept(b->fd, NULL, NULL);
        if (c < 0)
            continue;
        pipe_job *j = malloc(sizeof *j);
        pthread_t t;
        if (!j) {
            close(c);
            continue;
        }
        *j = (pipe_job){c, b};
        if (pthread_create(&t, NULL, relay, j) != 0) {
            close(c);
            free(j);
            continue;
        }
        pthread_detach(t);
    }
    return NULL;
}

static void lb_start(lb *b)
{
    b->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(b->fd >= 0);
    int one = 1;
    setsockopt(b->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(b->fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(b->fd, (struct sockaddr *)&a, &len), 0);
    b->port = ntohs(a.sin_port);
    assert_int_equal(listen(b->fd, 64), 0);
    assert_int_equal(pthread_create(&b->thread, NULL, accept_loop, b), 0);
}

static void lb_stop(lb *b)
{
    atomic_store(&b->stop, true);
    pthread_join(b->thread, NULL);
    close(b->fd);
}

/* The instances ------------------------------------------------------------- */

typedef struct cluster {
    bool pg;
    char dsn[400];
    char dir[64];
    twilio_standin *tw;
    acs_standin *acs;
    int seen; /* ACS stand-in requests looked at */
    char callback[1024];
    char conn[128];
    int n;
    int workers; /* > 1: one ccai-server with server.workers, no instance URL */
    pid_t pid[MAX_INST];
    int port[MAX_INST];
    lb b;
} cluster;

static void spawn(cluster *c, int i)
{
    char db[512], mode[64], api[256], log[160], listen[64], id[64], url[96], ep[256], openid[256];
    snprintf(ep, sizeof ep, "COMMUNICATION_SERVICES__ENDPOINT=%s", acs_standin_url(c->acs));
    snprintf(openid, sizeof openid,
             "COMMUNICATION_SERVICES__OPENID_CONFIG_URL=%s/calling/.well-known/"
             "acsopenidconfiguration",
             acs_standin_url(c->acs));
    if (c->pg)
        snprintf(db, sizeof db, "DATABASE__POSTGRESQL__DSN=%s", c->dsn);
    else
        snprintf(db, sizeof db, "DATABASE__SQLITE__PATH=%s/db.sqlite", c->dir);
    snprintf(mode, sizeof mode, "DATABASE__MODE=%s", c->pg ? "postgresql" : "sqlite");
    snprintf(api, sizeof api, "TWILIO__API_BASE_URL=%s", twilio_standin_url(c->tw));
    snprintf(log, sizeof log, "%s/server%d.log", c->dir, i);
    snprintf(listen, sizeof listen, "SERVER__LISTEN=127.0.0.1:%d", c->port[i]);
    snprintf(id, sizeof id, "SERVER__INSTANCE_ID=instance-%d", i);
    if (c->workers > 1) /* each worker makes its own name and URL */
        snprintf(url, sizeof url, "SERVER__WORKERS=%d", c->workers);
    else
        snprintf(url, sizeof url, "SERVER__INSTANCE_URL=http://127.0.0.1:%d", c->port[i]);
    char *envp[] = {db,
                    mode,
                    api,
                    listen,
                    id,
                    url,
                    (char *)"SERVER__CALL_LEASE_MS=" LEASE_MS,
                    (char *)"SERVER__STORE_WAIT_MS=8000",
                    (char *)"SERVER__API_TOKEN=tok",
                    (char *)"SERVER__PUBLIC_URL=" PUBLIC,
                    (char *)"TWILIO__ACCOUNT_SID=" TWILIO_STANDIN_SID,
                    (char *)"TWILIO__AUTH_TOKEN=" TWILIO_STANDIN_TOKEN,
                    (char *)"TWILIO__PHONE_NUMBER=+15550001111",
                    (char *)"CONVERSATION__INITIATE__LANG__DEFAULT_SHORT_CODE=en-US",
                    (char *)"SMS__MODE=twilio",
                    ep,
                    openid,
                    (char *)"COMMUNICATION_SERVICES__ACCESS_KEY=" ACS_STANDIN_KEY,
                    (char *)"COMMUNICATION_SERVICES__PHONE_NUMBER=" ACS_BOT,
                    (char *)"COMMUNICATION_SERVICES__RESOURCE_ID=" RESOURCE,
                    (char *)"CONFIG_YAML=",
                    NULL};
    int port = 0;
    c->pid[i] = server_proc_start(server_path, envp, log, &port);
    assert_true(c->pid[i] > 0);
    assert_int_equal(port, c->port[i]);
}

/* n instances; workers > 1: one instance (n = 1) with that many workers. */
static void cluster_start_with(cluster *c, bool pg, int n, int workers)
{
    memset(c, 0, sizeof *c);
    c->workers = workers;
    c->pg = pg;
    c->n = n;
    if (pg)
        assert_int_equal(pg_server_schema_dsn(&g_pg, c->dsn, sizeof c->dsn), 0);
    c->tw = twilio_standin_start(NULL, NULL);
    assert_non_null(c->tw);
    c->acs = acs_standin_start(NULL);
    assert_non_null(c->acs);
    strcpy(c->dir, "/tmp/ccai-inst-XXXXXX");
    assert_non_null(mkdtemp(c->dir));
    for (int i = 0; i < n; i++) {
        do
            c->port[i] = free_port();
        while (i > 0 && c->port[i] == c->port[i - 1]);
        spawn(c, i);
        c->b.ports[i] = c->port[i];
    }
    c->b.n = n;
    lb_start(&c->b);
}

static void cluster_start(cluster *c, bool pg, int n)
{
    cluster_start_with(c, pg, n, 1);
}

static void cluster_start_workers(cluster *c, bool pg, int workers)
{
    cluster_start_with(c, pg, 1, workers);
}

static void cluster_stop(cluster *c)
{
    for (int i = 0; i < c->n; i++) {
        if (c->pid[i] > 0)
            assert_int_equal(server_proc_stop(c->pid[i], SIGTERM), 0);
    }
    lb_stop(&c->b);
    twilio_standin_stop(c->tw);
    acs_standin_stop(c->acs);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", c->dir);
    assert_int_equal(system(cmd), 0);
}

/* What the database says --------------------------------------------------- */

/* The first column of the first row of sql (one text parameter), or ""
 * when there is none; into out. */
static void query(cluster *c, const char *sql, const char *param, char *out, size_t n)
{
    out[0] = '\0';
    if (c->pg) {
        PGconn *conn = PQconnectdb(c->dsn);
        assert_int_equal(PQstatus(conn), CONNECTION_OK);
        const char *v[1] = {param};
        PGresult *r = PQexecParams(conn, sql, 1, NULL, v, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            fail_msg("%s: %s", sql, PQerrorMessage(conn));
        if (PQntuples(r) > 0)
            snprintf(out, n, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        PQfinish(conn);
        return;
    }
    char path[128], sq[512];
    snprintf(path, sizeof path, "%s/db.sqlite", c->dir);
    /* The same SQL: $1 is ?1 to SQLite. */
    snprintf(sq, sizeof sq, "%s", sql);
    for (char *p = strstr(sq, "$1"); p; p = strstr(p, "$1"))
        *p = '?';
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sq, -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_text(s, 1, param, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(out, n, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* Webhooks ------------------------------------------------------------------ */

/* POST a webhook through the forwarder, signed for the public URL. */
static int hook(cluster *c, const char *path, const char *const *params, char **ret)
{
    char url[512], pub[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", c->b.port, path);
    snprintf(pub, sizeof pub, PUBLIC "%s", path);
    twilio_standin_webhook_opts o = {
        .url = url, .auth_token = TWILIO_STANDIN_TOKEN, .params = params, .signed_url = pub};
    char *res = NULL;
    int status = twilio_standin_webhook_ex(&o, &res);
    *ret = res;
    return status;
}

/* The path (and query) of the public URL after marker in TwiML. */
static bool twiml_path(const char *xml, const char *marker, char *out, size_t len)
{
    const char *a = strstr(xml, marker);
    if (!a)
        return false;
    a = strstr(a, PUBLIC);
    if (!a)
        return false;
    a += strlen(PUBLIC);
    size_t n = 0;
    while (*a && *a != '"' && *a != '<' && n + 1 < len) {
        if (!strncmp(a, "&amp;", 5)) {
            out[n++] = '&';
            a += 5;
        } else {
            out[n++] = *a++;
        }
    }
    out[n] = '\0';
    return true;
}

/* Follow Twilio's way through TwiML: a <Redirect> (the bot still speaking)
 * is requested as Twilio does, until a <Gather> asks the caller (its action
 * into gather: true) or a <Hangup/> ends the call (false). */
static bool until_gather(cluster *c, char *res, char *gather, size_t len)
{
    for (int hops = 0; hops < 20; hops++) {
        if (twiml_path(res, "<Gather", gather, len)) {
            free(res);
            return true;
        }
        if (strstr(res, "<Hangup/>")) {
            free(res);
            return false;
        }
        char next[512];
        if (!twiml_path(res, "<Redirect", next, sizeof next))
            fail_msg("neither Gather nor Redirect in: %s", res);
        free(res);
        const char *p[] = {"CallSid", CALL_SID, "AccountSid", TWILIO_STANDIN_SID, NULL};
        int st = hook(c, next, p, &res);
        if (st != 200)
            fail_msg("%s: %d %s", next, st, res ? res : "");
    }
    fail_msg("no Gather after 20 redirects");
    return false;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int alive_port(cluster *c)
{
    for (int i = 0; i < c->n; i++) {
        if (c->pid[i] > 0)
            return c->port[i];
    }
    fail_msg("no instance alive");
    return 0;
}

/* GET path on a live instance until its body contains want (30 s at
 * most); free(). */
static char *await_body(cluster *c, const char *path, const char *want)
{
    char *body = NULL;
    for (int i = 0; i < 600; i++) {
        free(body);
        body = NULL;
        long code = server_proc_request(alive_port(c), "GET", path, NULL, "Bearer tok", &body);
        assert_int_equal(code, 200);
        if (strstr(body, want))
            return body;
        sleep_ms(50);
    }
    fail_msg("%s never showed %s: %s", path, want, body);
    return body;
}

/* Messages.json requests the stand-in answered 201, to `to`. */
static int sms_sent(cluster *c, const char *to)
{
    int n = 0;
    for (int i = 0; i < twilio_standin_request_count(c->tw); i++) {
        char *p = twilio_standin_request_path(c->tw, i);
        char *t = twilio_standin_request_param(c->tw, i, "To", 0);
        n += p && strstr(p, "/Messages.json") && t && !strcmp(t, to) &&
             twilio_standin_request_status(c->tw, i) == 201;
        free(p);
        free(t);
    }
    return n;
}

/* The instance holding call_id dies (SIGKILL). */
static void kill_holder(cluster *c, const char *call_id)
{
    char owner[128];
    query(c, "SELECT owner FROM call_leases WHERE call_id = $1", call_id, owner, sizeof owner);
    assert_true(strncmp(owner, "instance-", 9) == 0);
    int i = atoi(owner + 9);
    assert_true(i >= 0 && i < c->n && c->pid[i] > 0);
    assert_int_equal(server_proc_stop(c->pid[i], SIGKILL), 128 + SIGKILL);
    c->pid[i] = 0;
}

/* The conversation --------------------------------------------------------- */

static const char *const words[] = {
    "my cellar is flooded",   "yesterday at 9 pm",       "at home, 12 rue de la Paix in Lyon",
    "nobody is hurt",         "the water heater leaked", "my policy number is 123456",
    "that is all, thank you",
};

static void conversation_survives_a_kill(cluster *c, int kill_after)
{
    const char *voice[] = {
        "CallSid",      CALL_SID,    "AccountSid", TWILIO_STANDIN_SID, "From",    CALLER, "To",
        "+15550001111", "Direction", "inbound",    "CallStatus",       "ringing", NULL};
    char *res = NULL;
    assert_int_equal(hook(c, "/twilio/voice", voice, &res), 200);
    char gather[512];
    assert_true(until_gather(c, res, gather, sizeof gather));
    const char *q = strstr(gather, "call=");
    assert_non_null(q);
    char call_id[40];
    snprintf(call_id, sizeof call_id, "%.36s", q + 5);

    for (size_t t = 0; t < sizeof words / sizeof *words; t++) {
        if ((int)t == kill_after)
            kill_holder(c, call_id); /* mid-call */
        const char *speech[] = {"CallSid",          CALL_SID,       "AccountSid",
                                TWILIO_STANDIN_SID, "SpeechResult", words[t],
                                "Confidence",       "0.92",         NULL};
        int st = hook(c, gather, speech, &res);
        if (st != 200)
            fail_msg("turn %zu (%s): %d %s", t, words[t], st, res ? res : "");
        bool going = until_gather(c, res, gather, sizeof gather);
        /* The bot says goodbye after the last words only. */
        assert_int_equal(going, t + 1 < sizeof words / sizeof *words);
    }
    /* Before the kill the turns went to every instance. */
    for (int i = 0; i < c->n; i++)
        assert_true(atomic_load(&c->b.served[i]) > 0);

    /* Twilio ends the call: the status callback configured on the number
     * carries none of our parameters. */
    const char *done[] = {"AccountSid", TWILIO_STANDIN_SID, "CallSid",        CALL_SID,
                          "CallStatus", "completed",        "CallDuration",   "61",
                          "Direction",  "inbound",          "From",           CALLER,
                          "To",         "+15550001111",     "SequenceNumber", "3",
                          NULL};
    assert_int_equal(hook(c, "/twilio/status", done, &res), 204);
    free(res);

    char *body = await_body(c, "/call/" CALLER_Q, "\"state\":\"done\"");
    assert_non_null(strstr(body, "\"in_progress\":false"));
    /* Every turn the caller got an answer for is stored. */
    for (size_t t = 0; t < sizeof words / sizeof *words; t++) {
        if (!strstr(body, words[t]))
            fail_msg("turn %zu (%s) is not stored: %s", t, words[t], body);
    }
    free(body);
    /* The post-call work, once: one job, done at its first attempt, and
     * one SMS to the caller. */
    char n[32], state[32], attempts[32];
    query(c, "SELECT COUNT(*) FROM jobs WHERE call_id = $1 AND kind = 'postcall'", call_id, n,
          sizeof n);
    assert_string_equal(n, "1");
    query(c, "SELECT state FROM jobs WHERE call_id = $1 AND kind = 'postcall'", call_id, state,
          sizeof state);
    assert_string_equal(state, "done");
    query(c, "SELECT attempts FROM jobs WHERE call_id = $1 AND kind = 'postcall'", call_id,
          attempts, sizeof attempts);
    assert_string_equal(attempts, "1");
    for (int i = 0; i < 200 && !sms_sent(c, CALLER); i++)
        sleep_ms(50);
    sleep_ms(500); /* a second one would be on its way by now */
    assert_int_equal(sms_sent(c, CALLER), 1);
    char *logs = server_proc_logs(c->dir, c->n);
    assert_non_null(logs);
    if (kill_after >= 0) /* a survivor took the call over from the store */
        assert_non_null(strstr(logs, "taken over from the store"));
    for (int w = 0; c->workers > 1 && w < c->workers; w++) { /* each worker had some */
        char marker[32];
        snprintf(marker, sizeof marker, "\"worker\":%d,", w);
        int n_hooks = 0;
        for (const char *at = strstr(logs, marker); at; at = strstr(at + 1, marker)) {
            const char *eol = strchr(at, '\n');
            const char *path = strstr(at, "\"path\":\"/twilio/");
            n_hooks += path && (!eol || path < eol);
        }
        print_message("# worker %d answered %d Twilio webhooks\n", w, n_hooks);
        assert_true(n_hooks > 0);
    }
    free(logs);
    /* Nobody holds the call any more. */
    char owner[128];
    query(c, "SELECT owner FROM call_leases WHERE call_id = $1", call_id, owner, sizeof owner);
    assert_string_equal(owner, "");
}

/* The next ACS stand-in request whose path ends with suffix (20 s at
 * most), authenticated as ACS wants. */
static json_t *expect_acs(cluster *c, const char *suffix)
{
    for (int tries = 0; tries < 2000; tries++) {
        int n = acs_standin_request_count(c->acs);
        for (int i = c->seen; i < n; i++) {
            char *p = acs_standin_request_path(c->acs, i);
            size_t pl = p ? strlen(p) : 0, sl = strlen(suffix);
            bool match = pl >= sl && strcmp(p + pl - sl, suffix) == 0;
            free(p);
            if (match) {
                char *why = acs_standin_request_auth_error(c->acs, i);
                assert_string_equal(why, "");
                free(why);
                c->seen = i + 1;
                return acs_standin_request_json(c->acs, i);
            }
        }
        sleep_ms(10);
    }
    fail_msg("no request to ...%s", suffix);
    return NULL;
}

/* A Call Automation callback of the call, through the forwarder, as ACS
 * delivers it (bearer JWT for the resource). */
static int deliver(cluster *c, const char *type, const char *data)
{
    char url[1280];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", c->b.port, c->callback);
    return acs_standin_deliver(c->acs, url, RESOURCE, ACS_TOKEN_VALID, type, c->conn, data);
}

/* An ACS call whose callbacks alternate between the instances, its holder
 * killed before turn kill_after. */
static void acs_conversation_survives_a_kill(cluster *c, int kill_after)
{
    const char *incoming =
        "[{\"id\":\"i-inst\",\"eventType\":\"Microsoft.Communication.IncomingCall\","
        "\"data\":{\"to\":{\"kind\":\"phoneNumber\",\"phoneNumber\":{\"value\":\"" ACS_BOT
        "\"}},\"from\":{\"kind\":\"phoneNumber\",\"phoneNumber\":{\"value\":\"" ACS_CALLER
        "\"}},\"serverCallId\":\"srv-inst\",\"incomingCallContext\":\"ctx-inst\"}}]";
    assert_int_equal(server_proc_request(c->b.port, "POST", "/acs/events", incoming, NULL, NULL),
                     200);
    json_t *j = expect_acs(c, "/calling/callConnections:answer");
    const char *cb = json_string_value(json_object_get(j, "callbackUri"));
    assert_non_null(cb);
    snprintf(c->callback, sizeof c->callback, "%s", cb + strlen(PUBLIC));
    json_decref(j);
    char *conn = acs_standin_request_created(c->acs, c->seen - 1);
    assert_non_null(conn);
    snprintf(c->conn, sizeof c->conn, "%s", conn);
    free(conn);
    const char *q = strstr(c->callback, "call=");
    assert_non_null(q);
    char call_id[40];
    snprintf(call_id, sizeof call_id, "%.36s", q + 5);
    assert_int_equal(deliver(c, "CallConnected", NULL), 200);
    json_decref(expect_acs(c, ":recognize")); /* the language menu */
    assert_int_equal(deliver(c, "RecognizeCompleted",
                             "{\"recognitionType\":\"choices\",\"choiceResult\":{\"label\":"
                             "\"en-US\"}}"),
                     200);
    json_decref(expect_acs(c, ":recognize"));        /* the greeting */
    size_t turns = sizeof words / sizeof *words - 1; /* the bot hangs up after the last */
    for (size_t t = 0; t < turns; t++) {
        if ((int)t == kill_after)
            kill_holder(c, call_id);
        char data[256];
        snprintf(data, sizeof data,
                 "{\"recognitionType\":\"speech\",\"speechResult\":{\"speech\":\"%s\"}}", words[t]);
        int st = deliver(c, "RecognizeCompleted", data);
        if (st != 200)
            fail_msg("ACS turn %zu (%s): %d", t, words[t], st);
        json_decref(expect_acs(c, ":recognize")); /* answered, listening again */
    }
    for (int i = 0; i < c->n; i++)
        assert_true(atomic_load(&c->b.served[i]) > 0);
    /* The caller hangs up. */
    assert_int_equal(deliver(c, "CallDisconnected", NULL), 200);
    char *body = await_body(c, "/call/" ACS_CALLER_Q, "\"state\":\"done\"");
    assert_non_null(strstr(body, "\"in_progress\":false"));
    for (size_t t = 0; t < turns; t++) {
        if (!strstr(body, words[t]))
            fail_msg("ACS turn %zu (%s) is not stored: %s", t, words[t], body);
    }
    free(body);
    char n[32], attempts[32];
    query(c, "SELECT COUNT(*) FROM jobs WHERE call_id = $1 AND kind = 'postcall'", call_id, n,
          sizeof n);
    assert_string_equal(n, "1");
    query(c,
          "SELECT attempts FROM jobs WHERE call_id = $1 AND kind = 'postcall' AND state = 'done'",
          call_id, attempts, sizeof attempts);
    assert_string_equal(attempts, "1");
    for (int i = 0; i < 200 && !sms_sent(c, ACS_CALLER); i++)
        sleep_ms(50);
    sleep_ms(500);
    assert_int_equal(sms_sent(c, ACS_CALLER), 1);
    char *logs = server_proc_logs(c->dir, c->n);
    assert_non_null(logs);
    assert_non_null(strstr(logs, "taken back after a restart"));
    free(logs);
}

static void test_postgresql_three_instances(void **state)
{
    (void)state;
    if (!g_pg_up)
        skip();
    cluster c;
    cluster_start(&c, true, 3);
    conversation_survives_a_kill(&c, 3);
    cluster_stop(&c);
}

static void test_postgresql_acs(void **state)
{
    (void)state;
    if (!g_pg_up)
        skip();
    cluster c;
    cluster_start(&c, true, 3);
    acs_conversation_survives_a_kill(&c, 2);
    cluster_stop(&c);
}

/* Outbound Calls.json requests the Twilio stand-in got, to `to`. */
static int calls_placed(cluster *c, const char *to)
{
    int n = 0;
    for (int i = 0; i < twilio_standin_request_count(c->tw); i++) {
        char *p = twilio_standin_request_path(c->tw, i);
        char *t = twilio_standin_request_param(c->tw, i, "To", 0);
        n += p && strstr(p, "/Calls.json") && t && !strcmp(t, to);
        free(p);
        free(t);
    }
    return n;
}

/* A callback due survives the death of the instance that scheduled it: a
 * call ends; its callback is queued due in 1.5 s (as the schedule_callback
 * tool stores it, written here as the instance that held the call would),
 * and that instance is killed before it is due. The survivor, which
 * started before the job existed, places the call back from the stored
 * row: within a third of a lease after it is due, not at its next sweep
 * (takeback_window_sec / 4: 150 s here; before, the only time another
 * instance looked for jobs it had not queued itself). */
static void test_postgresql_callback_after_kill(void **state)
{
    (void)state;
    if (!g_pg_up)
        skip();
    cluster c;
    cluster_start(&c, true, 2);
    const char *voice[] = {
        "CallSid",      CALL_SID,    "AccountSid", TWILIO_STANDIN_SID, "From",    CALLER, "To",
        "+15550001111", "Direction", "inbound",    "CallStatus",       "ringing", NULL};
    char *res = NULL;
    assert_int_equal(hook(&c, "/twilio/voice", voice, &res), 200);
    char gather[512];
    assert_true(until_gather(&c, res, gather, sizeof gather));
    const char *q = strstr(gather, "call=");
    assert_non_null(q);
    char call_id[40];
    snprintf(call_id, sizeof call_id, "%.36s", q + 5);
    const char *done[] = {"AccountSid", TWILIO_STANDIN_SID, "CallSid", CALL_SID, "CallStatus",
                          "completed",  "Direction",        "inbound", "From",   CALLER,
                          "To",         "+15550001111",     NULL};
    assert_int_equal(hook(&c, "/twilio/status", done, &res), 204);
    free(res);
    free(await_body(&c, "/call/" CALLER_Q, "\"in_progress\":false"));

    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long ms = (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO jobs (kind, call_id, payload, run_at, state, attempts, created_at, "
             "updated_at) VALUES ('callback', '%s', '{\"at\": \"soon\", \"about\": \"the "
             "flooded cellar\", \"channel\": \"twilio\", \"phone_number\": \"" CALLER
             "\", \"dials\": [], \"outcome\": \"scheduled\"}', %lld, 'pending', 0, %lld, %lld)",
             call_id, ms + 1500, ms, ms);
    PGconn *db = PQconnectdb(c.dsn);
    assert_int_equal(PQstatus(db), CONNECTION_OK);
    PGresult *r = PQexec(db, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        fail_msg("%s: %s", sql, PQerrorMessage(db));
    PQclear(r);
    PQfinish(db);
    assert_int_equal(server_proc_stop(c.pid[0], SIGKILL), 128 + SIGKILL);
    c.pid[0] = 0;

    /* Due in 1.5 s; a third of the 2 s lease late at most, and the time to
     * place it: 15 s is generous, the sweep's 150 s is not. */
    for (int i = 0; i < 300 && !calls_placed(&c, CALLER); i++)
        sleep_ms(50);
    assert_int_equal(calls_placed(&c, CALLER), 1);
    char v[256];
    query(&c, "SELECT attempts FROM jobs WHERE call_id = $1 AND kind = 'callback'", call_id, v,
          sizeof v);
    assert_string_equal(v, "1");
    query(&c, "SELECT payload::text FROM jobs WHERE call_id = $1 AND kind = 'callback'", call_id, v,
          sizeof v);
    assert_non_null(strstr(v, "\"dialing\""));
    cluster_stop(&c);
}

/* One ccai-server with two workers on one port: the kernel spreads the
 * webhooks' connections over them; a webhook of a call the other worker
 * holds is handed to it at its own socket. */
static void test_postgresql_workers(void **state)
{
    (void)state;
    if (!g_pg_up)
        skip();
    cluster c;
    cluster_start_workers(&c, true, 2);
    conversation_survives_a_kill(&c, -1);
    cluster_stop(&c);
}

static void test_sqlite_two_processes(void **state)
{
    (void)state;
    cluster c;
    cluster_start(&c, false, 2);
    conversation_survives_a_kill(&c, 3);
    cluster_stop(&c);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CCAI_SERVER\n", argv[0]);
        return 1;
    }
    server_path = argv[1];
    signal(SIGPIPE, SIG_IGN);
    int rc = pg_server_start(&g_pg, false);
    if (rc == -1)
        return 1;
    g_pg_up = rc == 0;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_two_processes),
        cmocka_unit_test(test_postgresql_three_instances),
        cmocka_unit_test(test_postgresql_acs),
        cmocka_unit_test(test_postgresql_workers),
        cmocka_unit_test(test_postgresql_callback_after_kill),
    };
    /* CCAI_TEST_FILTER: run the tests whose name matches (a cmocka pattern). */
    if (getenv("CCAI_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CCAI_TEST_FILTER"));
    rc = cmocka_run_group_tests_name("instances", tests, NULL, server_proc_kill_leftovers);
    if (g_pg_up)
        pg_server_stop(&g_pg);
    return rc;
}
