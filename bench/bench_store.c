/* The store's throughput on each backend, side by side: SQLite (a file,
 * synchronous normal as ccai-server runs it, and full) and PostgreSQL (a
 * real server this program starts on loopback: tests/support/pg_server.h,
 * fsync on; synchronous_commit on, its default, and off; and pipelined on
 * a poll(2) loop, synchronous_commit on: Ccai_pg_pipeline()). One
 * connection, one thread, as a context uses its store.
 *
 *   build/bench/bench-store [--n N]
 *
 * Figures: operations per second of
 *   append     a message appended (one commit each)
 *   update     a call's row rewritten with its row version (one commit)
 *   turn       what a conversation turn writes, in one transaction: the
 *              caller's message, the bot's, the call's row (pipelined: the
 *              three writes and a sync, one group: one transaction), until
 *              it is committed
 *   turns x50  the same for 50 calls at once, each waiting for its own
 *              commit (pipelined: each call's writes are its own group, a
 *              transaction; the turn's groups share one WAL flush)
 *   burst      messages appended one after the other, one sync at the end
 *   claim      a job enqueued, claimed, done (three commits)
 *   claim 5k due  a job claimed and done (two commits) while 5,000 more
 *              are due (a backlog: post-call work after a burst of calls)
 *   get        a call read by id
 *   newest     the newest 20 of a call's 40 messages read (a turn's context)
 * and the latency of a turn's transaction; then the size on disk of a call
 * in PostgreSQL (tables and indexes, 500 calls of 20 messages).
 */
#include "store/pg.h"
#include "store/sqlite.h"

#include "bench_stats.h"
#include "support/pg_server.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ccai/adapters/poll.h>

enum {
    OP_APPEND,
    OP_UPDATE,
    OP_TURN,
    OP_TURN50,
    OP_BURST,
    OP_CLAIM,
    OP_BACKLOG,
    OP_GET,
    OP_NEWEST,
    OP_COUNT
};
static const char *const op_names[OP_COUNT] = {
    "append", "update", "turn", "turns x50", "burst", "claim", "claim 5k due", "get", "newest"};

typedef struct result {
    const char *name;
    double per_sec[OP_COUNT];
    double turn_p50, turn_p99;
    double turn50_p50, turn50_p99;
    bool ok;
} result;

static int check(ccai_status st, Ccai_store *s, const char *what)
{
    if (st == CCAI_OK)
        return 0;
    fprintf(stderr, "bench-store: %s: %s (%s)\n", what, ccai_status_str(st), Ccai_store_errmsg(s));
    return -1;
}

/* The loop a pipelined store runs on (NULL for the others: their sync
 * completes at once). */
static ccai_poll *g_poll;

typedef struct pending {
    int fired;
    ccai_status status;
    double started, latency;
} pending;

static void on_done(ccai_status status, void *ud)
{
    pending *p = ud;
    p->fired++;
    p->status = status;
    p->latency = bench_now_ms() - p->started;
}

/* Ask for the commit of what was written (of call_id's writes: NULL, of
 * all): p fires when it is. */
static int want_commit(Ccai_store *s, const char *call_id, pending *p)
{
    return check(Ccai_store_sync_call(s, call_id, on_done, p), s, "sync");
}

/* Run the loop until every one of ps fired: 0 when all committed. */
static int wait_commits(Ccai_store *s, pending *ps, int n)
{
    for (int i = 0; i < n; i++) {
        while (!ps[i].fired && g_poll)
            if (ccai_poll_run_once(g_poll, 100) != 0)
                return -1;
        if (!ps[i].fired || check(ps[i].status, s, "commit") != 0)
            return -1;
    }
    return 0;
}

static int commit_now(Ccai_store *s)
{
    pending p = {0, CCAI_OK, bench_now_ms(), 0};
    return want_commit(s, NULL, &p) == 0 ? wait_commits(s, &p, 1) : -1;
}

static int new_call(Ccai_store *s, Ccai_store_call *c, int i)
{
    memset(c, 0, sizeof *c);
    char phone[32];
    snprintf(phone, sizeof phone, "+3361%07d", i);
    c->direction = CCAI_INBOUND;
    c->phone_number = Ccai_strdup(phone);
    c->channel = Ccai_strdup("twilio");
    c->state = Ccai_strdup("conversation");
    c->initiate_json = Ccai_strdup("{\"bot_name\":\"Amelie\",\"bot_company\":\"Contoso\"}");
    c->claim_json = Ccai_strdup("{\"policyholder_phone\":\"+33611111111\"}");
    c->callback_secret = Ccai_strdup("s3cret");
    return check(Ccai_store_call_insert(s, c), s, "insert call");
}

static int count_msg(const Ccai_store_message *m, void *ud)
{
    (void)m;
    (*(int *)ud)++;
    return 0;
}

static void run(Ccai_store *s, int n, result *r)
{
    Ccai_store_call c;
    if (new_call(s, &c, 0) != 0)
        return;
    Ccai_store_message human = {
        0,       "human", "talk", "none", "My car was hit at the crossroads, nobody is hurt.",
        "en-US", NULL,    NULL,   0};
    Ccai_store_message bot = {
        0,       "assistant", "talk",    "none", "I am sorry to hear that. Where are you now?",
        "en-US", NULL,        "offline", 0};
    double *lat = calloc((size_t)n, sizeof *lat);
    if (!lat)
        goto done;
    /* Each write committed before the next (a pipelined store: its sync
     * waited for). */
    double t0 = bench_now_ms();
    for (int i = 0; i < n; i++)
        if (check(Ccai_store_message_append(s, c.id, &human, NULL), s, "append") != 0 ||
            commit_now(s) != 0)
            goto done;
    r->per_sec[OP_APPEND] = n / ((bench_now_ms() - t0) / 1000.0);

    t0 = bench_now_ms();
    for (int i = 0; i < n; i++)
        if (check(Ccai_store_call_update(s, &c), s, "update") != 0 || commit_now(s) != 0)
            goto done;
    r->per_sec[OP_UPDATE] = n / ((bench_now_ms() - t0) / 1000.0);

    /* A turn: in a transaction, or (pipelined) one group and its sync. */
    bool pipelined = !Ccai_store_writes_durable(s);
    t0 = bench_now_ms();
    for (int i = 0; i < n; i++) {
        double t = bench_now_ms();
        if ((!pipelined && check(Ccai_store_begin(s), s, "begin") != 0) ||
            check(Ccai_store_message_append(s, c.id, &human, NULL), s, "append") != 0 ||
            check(Ccai_store_message_append(s, c.id, &bot, NULL), s, "append") != 0 ||
            check(Ccai_store_call_update(s, &c), s, "update") != 0 ||
            (!pipelined && check(Ccai_store_commit(s), s, "commit") != 0) || commit_now(s) != 0)
            goto done;
        lat[i] = bench_now_ms() - t;
    }
    r->per_sec[OP_TURN] = n / ((bench_now_ms() - t0) / 1000.0);
    qsort(lat, (size_t)n, sizeof *lat, bench_cmp_double);
    r->turn_p50 = lat[n / 2];
    r->turn_p99 = lat[(size_t)((double)(n - 1) * 0.99)];

    /* 50 calls' turns at once: each waits for its own commit. */
    enum { K = 50 };
    Ccai_store_call calls[K];
    pending ps[K];
    int made = 0;
    for (; made < K; made++)
        if (new_call(s, &calls[made], 1000 + made) != 0)
            break;
    int rounds = n / K > 0 ? n / K : 1, ok = made == K && commit_now(s) == 0;
    t0 = bench_now_ms();
    for (int round = 0; ok && round < rounds; round++) {
        for (int k = 0; ok && k < K; k++) {
            ps[k] = (pending){0, CCAI_OK, bench_now_ms(), 0};
            ok = (pipelined || check(Ccai_store_begin(s), s, "begin") == 0) &&
                 check(Ccai_store_message_append(s, calls[k].id, &human, NULL), s, "append") == 0 &&
                 check(Ccai_store_message_append(s, calls[k].id, &bot, NULL), s, "append") == 0 &&
                 check(Ccai_store_call_update(s, &calls[k]), s, "update") == 0 &&
                 (pipelined || check(Ccai_store_commit(s), s, "commit") == 0) &&
                 want_commit(s, calls[k].id, &ps[k]) == 0;
        }
        ok = ok && wait_commits(s, ps, K) == 0;
        for (int k = 0; ok && k < K && round * K + k < n; k++)
            lat[round * K + k] = ps[k].latency;
    }
    r->per_sec[OP_TURN50] = rounds * K / ((bench_now_ms() - t0) / 1000.0);
    for (int k = 0; k < made; k++)
        Ccai_store_call_clear(&calls[k]);
    if (!ok)
        goto done;
    int m = rounds * K < n ? rounds * K : n;
    qsort(lat, (size_t)m, sizeof *lat, bench_cmp_double);
    r->turn50_p50 = lat[m / 2];
    r->turn50_p99 = lat[(size_t)((double)(m - 1) * 0.99)];

    t0 = bench_now_ms();
    for (int i = 0; i < n; i++)
        if (check(Ccai_store_message_append(s, c.id, &human, NULL), s, "append") != 0)
            goto done;
    if (commit_now(s) != 0)
        goto done;
    r->per_sec[OP_BURST] = n / ((bench_now_ms() - t0) / 1000.0);

    t0 = bench_now_ms();
    for (int i = 0; i < n; i++) {
        int64_t id = 0;
        Ccai_store_job *j = NULL;
        if (check(Ccai_store_job_enqueue(s, "sms", c.id, "{\"to\":\"+1\"}", 0, &id), s,
                  "enqueue") != 0 ||
            check(Ccai_store_job_claim(s, Ccai_wall_ms(), 60000, &j), s, "claim") != 0)
            goto done;
        ccai_status st = Ccai_store_job_done(s, j->id);
        Ccai_store_job_free(j);
        if (check(st, s, "done") != 0)
            goto done;
    }
    r->per_sec[OP_CLAIM] = n / ((bench_now_ms() - t0) / 1000.0);

    /* A backlog of due jobs (written in one transaction, or one group),
     * then each claim takes the earliest: 5,000 are still due at the last. */
    enum { BACKLOG = 5000 };
    if (!pipelined && check(Ccai_store_begin(s), s, "begin") != 0)
        goto done;
    int64_t first_id = 0;
    for (int i = 0; i < BACKLOG + n; i++) {
        int64_t id = 0;
        if (check(Ccai_store_job_enqueue(s, "postcall", c.id, NULL, i, &id), s, "enqueue") != 0)
            goto done;
        if (i == 0)
            first_id = id;
    }
    if ((!pipelined && check(Ccai_store_commit(s), s, "commit") != 0) || commit_now(s) != 0)
        goto done;
    t0 = bench_now_ms();
    for (int i = 0; i < n; i++) {
        Ccai_store_job *j = NULL;
        if (check(Ccai_store_job_claim(s, Ccai_wall_ms(), 60000, &j), s, "claim") != 0)
            goto done;
        bool first = j->id == first_id + i; /* the earliest due, in order */
        ccai_status st = Ccai_store_job_done(s, j->id);
        Ccai_store_job_free(j);
        if (check(st, s, "done") != 0)
            goto done;
        if (!first) {
            fprintf(stderr, "bench-store: %s: a claim took a job out of order\n", r->name);
            goto done;
        }
    }
    r->per_sec[OP_BACKLOG] = n / ((bench_now_ms() - t0) / 1000.0);

    t0 = bench_now_ms();
    for (int i = 0; i < n; i++) {
        Ccai_store_call *g = NULL;
        if (check(Ccai_store_call_get(s, c.id, &g), s, "get") != 0)
            goto done;
        Ccai_store_call_free(g);
    }
    r->per_sec[OP_GET] = n / ((bench_now_ms() - t0) / 1000.0);

    /* A call of 40 messages, as long conversations have (the first one has
     * thousands by now). */
    Ccai_store_call_clear(&c);
    if (new_call(s, &c, 1) != 0)
        goto done;
    for (int i = 0; i < 40; i++)
        if (check(Ccai_store_message_append(s, c.id, i % 2 ? &bot : &human, NULL), s, "append") !=
            0)
            goto done;
    t0 = bench_now_ms();
    for (int i = 0; i < n; i++) {
        int seen = 0;
        if (check(Ccai_store_messages_newest(s, c.id, 20, -1, count_msg, &seen), s, "newest") != 0)
            goto done;
    }
    r->per_sec[OP_NEWEST] = n / ((bench_now_ms() - t0) / 1000.0);
    r->ok = true;

done:
    free(lat);
    Ccai_store_call_clear(&c);
}

/* Bytes per call of 20 messages in PostgreSQL: heap, indexes, TOAST. */
static double pg_bytes_per_call(pg_server *pg)
{
    enum { CALLS = 500, MESSAGES = 20 };
    char dsn[400];
    Ccai_store *s = NULL;
    if (pg_server_schema_dsn(pg, dsn, sizeof dsn) != 0)
        return -1;
    size_t len = strlen(dsn);
    snprintf(dsn + len - 1, sizeof dsn - len + 1, " -csynchronous_commit=off'");
    if (Ccai_pg_open(dsn, 10000, 10000, &s, NULL) != CCAI_OK)
        return -1;
    Ccai_store_message m = {
        0,       "human", "talk", "none", "My car was hit at the crossroads, nobody is hurt.",
        "en-US", NULL,    NULL,   0};
    for (int i = 0; i < CALLS; i++) {
        Ccai_store_call c;
        if (new_call(s, &c, 100 + i) != 0)
            break;
        for (int k = 0; k < MESSAGES; k++)
            if (check(Ccai_store_message_append(s, c.id, &m, NULL), s, "append") != 0)
                break;
        Ccai_store_call_clear(&c);
    }
    Ccai_store_close(s);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT pg_total_relation_size('t%d.calls') + pg_total_relation_size('t%d.messages')",
             pg->schemas, pg->schemas);
    PGconn *c = PQconnectdb(pg->dsn);
    PGresult *r = PQexec(c, sql);
    double bytes = PQresultStatus(r) == PGRES_TUPLES_OK ? atof(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    PQfinish(c);
    return bytes < 0 ? -1 : bytes / CALLS;
}

int main(int argc, char **argv)
{
    int n = 3000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--n") && i + 1 < argc) {
            n = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--n N]\n", argv[0]);
            return 64;
        }
    }
    if (n < 10)
        return 64;
    enum { N_RES = 5 };
    result res[N_RES] = {{.name = "sqlite normal"},
                         {.name = "sqlite full"},
                         {.name = "pg sync on"},
                         {.name = "pg sync off"},
                         {.name = "pg pipelined"}};
    ccai_config *cfg = NULL;
    ccai_ctx *ctx = NULL;
    char *why = NULL;
    if (ccai_config_new(&cfg) != CCAI_OK ||
        ccai_config_set(cfg, "database.sqlite.path", ":memory:") != CCAI_OK ||
        ccai_poll_new(cfg, &g_poll, &ctx, &why) != CCAI_OK) {
        fprintf(stderr, "bench-store: a loop: %s\n", why ? why : "failed");
        return 1;
    }
    ccai_config_free(cfg);
    char dir[] = "/tmp/ccai-bench-store-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    for (int k = 0; k < 2; k++) {
        char path[128];
        snprintf(path, sizeof path, "%s/db%d.sqlite", dir, k);
        Ccai_store *s = NULL;
        char *err = NULL;
        if (Ccai_sqlite_open(path, &s, &err) != CCAI_OK ||
            Ccai_sqlite_configure(s, 10, k == 1) != CCAI_OK) {
            fprintf(stderr, "bench-store: %s\n", err ? err : "sqlite");
            return 1;
        }
        run(s, n, &res[k]);
        Ccai_store_close(s);
        for (const char *suf = ""; suf; suf = !*suf                  ? "-wal"
                                              : !strcmp(suf, "-wal") ? "-shm"
                                                                     : NULL) {
            char p[160];
            snprintf(p, sizeof p, "%s%s", path, suf);
            unlink(p);
        }
    }
    rmdir(dir);
    pg_server pg;
    int rc = pg_server_start(&pg, true);
    for (int k = 2; rc == 0 && k < N_RES; k++) {
        /* synchronous_commit off (k = 3): a commit returns before its WAL
         * is flushed; a crash of PostgreSQL or its machine may lose the
         * last ones (a crash of ccai-server loses nothing). */
        char dsn[400];
        Ccai_store *s = NULL;
        char *err = NULL;
        if (pg_server_schema_dsn(&pg, dsn, sizeof dsn) != 0) {
            fprintf(stderr, "bench-store: no schema\n");
            break;
        }
        if (k == 3) {
            size_t len = strlen(dsn);
            snprintf(dsn + len - 1, sizeof dsn - len + 1, " -csynchronous_commit=off'");
        }
        ccai_status st = Ccai_pg_open(dsn, 10000, 10000, &s, &err);
        if (st == CCAI_OK && k == 4)
            st = Ccai_pg_pipeline(s, ctx);
        if (st != CCAI_OK)
            fprintf(stderr, "bench-store: %s\n", err ? err : "postgresql");
        else
            run(s, n, &res[k]);
        Ccai_store_close(s);
        ccai_free(err);
    }
    double per_call = rc == 0 ? pg_bytes_per_call(&pg) : -1;
    if (rc != 0) {
        fprintf(stderr, "bench-store: no PostgreSQL (%s)\n",
                rc == 77 ? "binaries absent" : "failed");
    }
    pg_server_stop(&pg);

    printf("== store operations per second, one connection (n=%d each; PostgreSQL %s on "
           "loopback, fsync on)\n",
           n, rc == 0 ? "15" : "absent");
    printf("  %-10s", "");
    for (int k = 0; k < N_RES; k++)
        printf(" %15s", res[k].name);
    printf("\n");
    for (int o = 0; o < OP_COUNT; o++) {
        printf("  %-10s", op_names[o]);
        for (int k = 0; k < N_RES; k++)
            printf(" %15.0f", res[k].ok ? res[k].per_sec[o] : 0.0);
        printf("\n");
    }
    printf("  %-10s", "turn p50");
    for (int k = 0; k < N_RES; k++)
        printf(" %12.3f ms", res[k].turn_p50);
    printf("\n  %-8s", "turn p99");
    for (int k = 0; k < N_RES; k++)
        printf(" %12.3f ms", res[k].turn_p99);
    printf("\n  %-8s", "x50 p50");
    for (int k = 0; k < N_RES; k++)
        printf(" %12.3f ms", res[k].turn50_p50);
    printf("\n  %-8s", "x50 p99");
    for (int k = 0; k < N_RES; k++)
        printf(" %12.3f ms", res[k].turn50_p99);
    printf("\n");
    ccai_poll_free(g_poll);
    if (per_call > 0)
        printf("  PostgreSQL: %.0f bytes per call of 20 messages (tables and indexes)\n", per_call);
    return res[0].ok && res[1].ok ? 0 : 1;
}
