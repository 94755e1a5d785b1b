/* Crash safety of the store: a child process writes in a loop and reports
 * every acknowledged write (the store function returned CCAI_OK) through a
 * pipe; the parent SIGKILLs it at a random moment, reopens the database and
 * checks that every acknowledged write is there, that a write in flight is
 * either wholly there or absent, and that SQLite finds the file intact.
 *
 * CCAI_CRASH_SEED=n repeats a run (kill delays and the children's choices);
 * CCAI_CRASH_ROUNDS=n changes the number of rounds (default 200). */
#include "store/sqlite.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_KILL_DELAY_US 30000
#define TIME_BUDGET_MS    50000 /* stop early rather than run past ~60 s */
#define CHILD_MAX_CALLS   6
#define CHILD_REMINDERS   3 /* titles per call */
#define BATCH_MESSAGES    3 /* sentences per batch */

enum rec_kind {
    REC_CALL_INSERT = 1, /* id; a = row version (1) */
    REC_CALL_UPDATE,     /* id; a = new row version; b = lang marker */
    REC_MESSAGE,         /* id; a = seq; b = content marker */
    REC_REMINDER,        /* id; a = title number; b = description marker */
    REC_JOB_ENQUEUE,     /* a = job id */
    REC_JOB_CLAIM,       /* a = job id; b = attempts */
    REC_JOB_DONE,        /* a = job id */
    REC_GROUP,           /* id; a = seq (1); b = content marker: call + message, one commit */
    REC_BATCH,           /* id; a = how many; b = first content marker: the bot's sentences of
                            one read, appended without their seq in one commit */
    REC_READY,           /* the child holds an open transaction (uncommitted test) */
    REC_ERROR,           /* a = status; the child stops */
};

#define REC_INTENT 0x100u

/* Fixed size, below PIPE_BUF: each write() is atomic. */
typedef struct rec {
    uint32_t kind;
    uint32_t pad;
    char id[40];
    int64_t a;
    int64_t b;
} rec;

_Static_assert(sizeof(rec) <= PIPE_BUF, "records are written atomically");

/* Helpers ---------------------------------------------------------------- */

typedef struct tmpdb {
    char dir[64];
    char path[96];
} tmpdb;

static void tmpdb_make(tmpdb *t)
{
    const char *base = getenv("TMPDIR");
    snprintf(t->dir, sizeof t->dir, "%s/ccai-crash-XXXXXX", base && *base ? base : "/tmp");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof t->path, "%s/ccai.sqlite", t->dir);
}

static void tmpdb_remove(tmpdb *t)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char p[128];
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(p, sizeof p, "%s%s", t->path, suffixes[i]);
        unlink(p);
    }
    assert_int_equal(rmdir(t->dir), 0);
}

static unsigned env_uint(const char *name, unsigned dflt)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return dflt;
    return (unsigned)strtoul(v, NULL, 10);
}

static void send_rec(int fd, uint32_t kind, const char *id, int64_t a, int64_t b)
{
    rec r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    if (id)
        snprintf(r.id, sizeof r.id, "%s", id);
    r.a = a;
    r.b = b;
    ssize_t n;
    do
        n = write(fd, &r, sizeof r);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof r)
        _exit(3);
}

static void content_of(char *out, size_t len, const char *id, int64_t marker)
{
    snprintf(out, len, "message %lld of %.40s: I had an accident on the A7", (long long)marker, id);
}

/* The child ---------------------------------------------------------------- */

static void child_fail(int fd, ccai_status s)
{
    send_rec(fd, REC_ERROR, NULL, s, 0);
    _exit(2);
}

static void child_new_call(Ccai_store_call *c)
{
    memset(c, 0, sizeof *c);
    if (!Ccai_uuid4(c->id))
        _exit(4);
    c->direction = CCAI_INBOUND;
    c->phone_number = Ccai_strdup("+33612345678");
    c->channel = Ccai_strdup("local");
    c->state = Ccai_strdup("conversation");
    c->initiate_json = Ccai_strdup("{\"bot_name\":\"Amelie\",\"task\":\"collect the claim\"}");
    c->claim_json = Ccai_strdup("{\"policyholder_phone\":\"+33687654321\"}");
    c->callback_secret = Ccai_strdup("0123456789abcdef");
    if (!c->callback_secret)
        _exit(4);
}

/* Writes until nops operations are done (or it is killed). */
static void child_run(const char *path, int fd, unsigned seed, unsigned nops)
{
    Ccai_store *st = NULL;
    ccai_status s = Ccai_sqlite_open(path, &st, NULL);
    /* Odd rounds run as a context does by default (synchronous NORMAL):
     * kill -9 must lose no acknowledged write there either. */
    if (s == CCAI_OK && (seed & 1))
        s = Ccai_sqlite_configure(st, 5000, false);
    if (s != CCAI_OK)
        child_fail(fd, s);
    Ccai_store_call calls[CHILD_MAX_CALLS];
    size_t ncalls = 0;
    int64_t marker = 0, claimed = 0;
    char content[160], text[32];

    for (unsigned op = 0; op < nops; op++) {
        unsigned pick = (unsigned)rand_r(&seed) % 100;
        marker++;
        if (ncalls == 0 || (pick < 10 && ncalls < CHILD_MAX_CALLS)) {
            Ccai_store_call *c = &calls[ncalls];
            child_new_call(c);
            send_rec(fd, REC_CALL_INSERT | REC_INTENT, c->id, 1, 0);
            if ((s = Ccai_store_call_insert(st, c)) != CCAI_OK)
                child_fail(fd, s);
            send_rec(fd, REC_CALL_INSERT, c->id, c->row_version, 0);
            ncalls++;
            continue;
        }
        if (pick < 15 && ncalls < CHILD_MAX_CALLS) {
            /* A group: the call and its first message commit together. */
            Ccai_store_call *c = &calls[ncalls];
            child_new_call(c);
            content_of(content, sizeof content, c->id, marker);
            Ccai_store_message m = {0, "human", "talk", "none", content, "fr-FR", NULL, NULL, 0};
            int64_t seq = 0;
            send_rec(fd, REC_GROUP | REC_INTENT, c->id, 1, marker);
            if ((s = Ccai_store_begin(st)) != CCAI_OK ||
                (s = Ccai_store_call_insert(st, c)) != CCAI_OK ||
                (s = Ccai_store_message_append(st, c->id, &m, &seq)) != CCAI_OK ||
                (s = Ccai_store_commit(st)) != CCAI_OK)
                child_fail(fd, s);
            send_rec(fd, REC_GROUP, c->id, seq, marker);
            ncalls++;
            continue;
        }
        Ccai_store_call *c = &calls[(unsigned)rand_r(&seed) % ncalls];
        if (pick < 35) {
            snprintf(text, sizeof text, "u%lld", (long long)marker);
            if (!Ccai_str_replace(&c->lang, text))
                _exit(4);
            send_rec(fd, REC_CALL_UPDATE | REC_INTENT, c->id, c->row_version + 1, marker);
            if ((s = Ccai_store_call_update(st, c)) != CCAI_OK)
                child_fail(fd, s);
            send_rec(fd, REC_CALL_UPDATE, c->id, c->row_version, marker);
        } else if (pick < 65) {
            content_of(content, sizeof content, c->id, marker);
            Ccai_store_message m = {0,
                                    "assistant",
                                    "talk",
                                    "cheerful",
                                    content,
                                    "fr-FR",
                                    "[{\"name\":\"updated_claim\"}]",
                                    "llm:fast",
                                    0};
            int64_t seq = 0;
            send_rec(fd, REC_MESSAGE | REC_INTENT, c->id, 0, marker);
            if ((s = Ccai_store_message_append(st, c->id, &m, &seq)) != CCAI_OK)
                child_fail(fd, s);
            send_rec(fd, REC_MESSAGE, c->id, seq, marker);
        } else if (pick < 72) {
            /* As a turn stores the sentences that came in one read. */
            int64_t first = marker;
            send_rec(fd, REC_BATCH | REC_INTENT, c->id, BATCH_MESSAGES, first);
            if ((s = Ccai_store_begin(st)) != CCAI_OK)
                child_fail(fd, s);
            for (int k = 0; k < BATCH_MESSAGES; k++) {
                content_of(content, sizeof content, c->id, first + k);
                Ccai_store_message m = {0,       "assistant", "talk",     "none", content,
                                        "fr-FR", NULL,        "llm:fast", 0};
                if ((s = Ccai_store_message_append(st, c->id, &m, NULL)) != CCAI_OK)
                    child_fail(fd, s);
            }
            if ((s = Ccai_store_commit(st)) != CCAI_OK)
                child_fail(fd, s);
            send_rec(fd, REC_BATCH, c->id, BATCH_MESSAGES, first);
            marker += BATCH_MESSAGES - 1;
        } else if (pick < 80) {
            int64_t k = (unsigned)rand_r(&seed) % CHILD_REMINDERS;
            char title[16];
            snprintf(title, sizeof title, "r%lld", (long long)k);
            snprintf(text, sizeof text, "d%lld", (long long)marker);
            send_rec(fd, REC_REMINDER | REC_INTENT, c->id, k, marker);
            if ((s = Ccai_store_reminder_upsert(st, c->id, title, text, Ccai_wall_ms() + 3600000,
                                                "agent", NULL)) != CCAI_OK)
                child_fail(fd, s);
            send_rec(fd, REC_REMINDER, c->id, k, marker);
        } else if (pick < 88) {
            int64_t id = 0;
            send_rec(fd, REC_JOB_ENQUEUE | REC_INTENT, c->id, 0, 0);
            if ((s = Ccai_store_job_enqueue(st, "postcall", c->id, "{\"n\":1}", 0, &id)) != CCAI_OK)
                child_fail(fd, s);
            send_rec(fd, REC_JOB_ENQUEUE, c->id, id, 0);
        } else if (pick < 95 || claimed == 0) {
            /* Lease 0: jobs left running by killed children come back. */
            Ccai_store_job *j = NULL;
            send_rec(fd, REC_JOB_CLAIM | REC_INTENT, NULL, 0, 0);
            s = Ccai_store_job_claim(st, Ccai_wall_ms(), 0, &j);
            if (s == CCAI_ERR_NOT_FOUND)
                continue;
            if (s != CCAI_OK)
                child_fail(fd, s);
            send_rec(fd, REC_JOB_CLAIM, NULL, j->id, j->attempts);
            claimed = j->id;
            Ccai_store_job_free(j);
        } else {
            send_rec(fd, REC_JOB_DONE | REC_INTENT, NULL, claimed, 0);
            if ((s = Ccai_store_job_done(st, claimed)) != CCAI_OK)
                child_fail(fd, s);
            send_rec(fd, REC_JOB_DONE, NULL, claimed, 0);
            claimed = 0;
        }
    }
    for (size_t i = 0; i < ncalls; i++)
        Ccai_store_call_clear(&calls[i]);
    Ccai_store_close(st);
    _exit(0);
}

/* The parent ---------------------------------------------------------------- */

typedef struct recs {
    rec *v;
    size_t n, cap;
    char partial[sizeof(rec)];
    size_t npartial;
} recs;

static void recs_push_bytes(recs *r, const char *data, size_t len)
{
    while (len) {
        size_t take = sizeof(rec) - r->npartial;
        if (take > len)
            take = len;
        memcpy(r->partial + r->npartial, data, take);
        r->npartial += take;
        data += take;
        len -= take;
        if (r->npartial == sizeof(rec)) {
            if (r->n == r->cap) {
                r->cap = r->cap ? r->cap * 2 : 256;
                r->v = realloc(r->v, r->cap * sizeof *r->v);
                assert_non_null(r->v);
            }
            memcpy(&r->v[r->n++], r->partial, sizeof(rec));
            r->npartial = 0;
        }
    }
}

/* Read what is there; true at end of file. */
static bool recs_read(recs *r, int fd)
{
    char buf[8192];
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
        assert_true(errno == EINTR || errno == EAGAIN);
        return false;
    }
    if (n == 0)
        return true;
    recs_push_bytes(r, buf, (size_t)n);
    return false;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Run one child; collect its records until it exits or delay_us passed,
 * then kill it. Returns true when it was killed before it exited. */
static bool run_child(const char *path, unsigned seed, unsigned nops, int64_t delay_us, recs *r)
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        child_run(path, p[1], seed, nops);
    }
    close(p[1]);
    /* The delay runs from the child's first record (its first write), not
     * from the fork: on a loaded machine opening the store (its schema, its
     * syncs) took longer than the whole delay, every child was killed
     * before it wrote, and the run verified no acknowledged write. The
     * wait for that first record is bounded (10 s). */
    int64_t deadline = -1, first_by = now_us() + 10000000;
    bool eof = false;
    for (;;) {
        if (deadline < 0 && r->n > 0)
            deadline = now_us() + delay_us;
        int64_t left = (deadline < 0 ? first_by : deadline) - now_us();
        if (left <= 0)
            break;
        struct pollfd pfd = {p[0], POLLIN, 0};
        int n = poll(&pfd, 1, (int)((left + 999) / 1000));
        if (n > 0 && (eof = recs_read(r, p[0])))
            break;
    }
    kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    while (!eof)
        eof = recs_read(r, p[0]);
    close(p[0]);
    assert_int_equal(r->npartial, 0);
    for (size_t i = 0; i < r->n; i++)
        if (r->v[i].kind == REC_ERROR)
            fail_msg("child failed with status %s", ccai_status_str((ccai_status)r->v[i].a));
    if (WIFEXITED(status)) {
        assert_int_equal(WEXITSTATUS(status), 0);
        return false;
    }
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    return true;
}

static void integrity_check(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "ok");
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    sqlite3_close(db);
}

/* Expected state of one call after a round. */
typedef struct exp_call {
    char id[40];
    int64_t version;     /* acknowledged row version */
    int64_t lang_marker; /* lang of that version ("u<marker>"), 0 = NULL */
    int64_t msgs[512];   /* content marker of seq i + 1 */
    size_t nmsgs;
    int64_t reminder[CHILD_REMINDERS]; /* description marker, 0 = none */
} exp_call;

static exp_call *exp_find(exp_call *v, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].id, id) == 0)
            return &v[i];
    return NULL;
}

typedef struct exp_job {
    int64_t id;
    int64_t attempts;
    bool done;
} exp_job;

typedef struct figures {
    unsigned rounds, killed, mid_write, exited;
    size_t acks, checked;
} figures;

static exp_job *job_find(exp_job *v, size_t *n, size_t cap, int64_t id)
{
    for (size_t i = 0; i < *n; i++)
        if (v[i].id == id)
            return &v[i];
    assert_true(*n < cap);
    memset(&v[*n], 0, sizeof v[*n]);
    v[*n].id = id;
    return &v[(*n)++];
}

static void check_job(sqlite3 *db, const exp_job *j, const rec *inflight)
{
    sqlite3_stmt *s;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT state, attempts FROM jobs WHERE id = ?", -1, &s, NULL),
        SQLITE_OK);
    sqlite3_bind_int64(s, 1, j->id);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    const char *state = (const char *)sqlite3_column_text(s, 0);
    int64_t attempts = sqlite3_column_int64(s, 1);
    bool claim_in_flight = inflight && inflight->kind == (REC_JOB_CLAIM | REC_INTENT);
    bool done_in_flight =
        inflight && inflight->kind == (REC_JOB_DONE | REC_INTENT) && inflight->a == j->id;
    if (j->done) {
        assert_string_equal(state, "done");
    } else if (j->attempts > 0) {
        if (!(done_in_flight && strcmp(state, "done") == 0))
            assert_string_equal(state, "running");
    }
    if (claim_in_flight)
        assert_true(attempts == j->attempts || attempts == j->attempts + 1);
    else
        assert_int_equal(attempts, j->attempts);
    sqlite3_finalize(s);
}

/* Check one round's acknowledgements against the reopened database. */
static void verify_round(const char *path, const recs *r, figures *fig)
{
    static exp_call calls[CHILD_MAX_CALLS];
    static exp_job jobs[4096];
    size_t ncalls = 0, njobs = 0;
    const rec *inflight = NULL;

    for (size_t i = 0; i < r->n; i++) {
        const rec *x = &r->v[i];
        if (x->kind & REC_INTENT) {
            inflight = x;
            continue;
        }
        inflight = NULL;
        fig->acks++;
        exp_call *c = x->id[0] ? exp_find(calls, ncalls, x->id) : NULL;
        switch (x->kind) {
        case REC_CALL_INSERT:
        case REC_GROUP:
            assert_null(c);
            assert_true(ncalls < CHILD_MAX_CALLS);
            c = &calls[ncalls++];
            memset(c, 0, sizeof *c);
            snprintf(c->id, sizeof c->id, "%s", x->id);
            c->version = 1;
            if (x->kind == REC_GROUP) {
                assert_int_equal(x->a, 1);
                c->msgs[c->nmsgs++] = x->b;
            } else {
                assert_int_equal(x->a, 1);
            }
            break;
        case REC_CALL_UPDATE:
            assert_non_null(c);
            assert_int_equal(x->a, c->version + 1);
            c->version = x->a;
            c->lang_marker = x->b;
            break;
        case REC_MESSAGE:
            assert_non_null(c);
            assert_int_equal(x->a, (int64_t)c->nmsgs + 1);
            assert_true(c->nmsgs < CCAI_ARRAY_SIZE(c->msgs));
            c->msgs[c->nmsgs++] = x->b;
            break;
        case REC_BATCH:
            assert_non_null(c);
            for (int64_t k = 0; k < x->a; k++) {
                assert_true(c->nmsgs < CCAI_ARRAY_SIZE(c->msgs));
                c->msgs[c->nmsgs++] = x->b + k;
            }
            break;
        case REC_REMINDER:
            assert_non_null(c);
            c->reminder[x->a] = x->b;
            break;
        case REC_JOB_ENQUEUE: job_find(jobs, &njobs, CCAI_ARRAY_SIZE(jobs), x->a); break;
        case REC_JOB_CLAIM:
            job_find(jobs, &njobs, CCAI_ARRAY_SIZE(jobs), x->a)->attempts = x->b;
            break;
        case REC_JOB_DONE: job_find(jobs, &njobs, CCAI_ARRAY_SIZE(jobs), x->a)->done = true; break;
        default: fail_msg("unexpected record kind %u", x->kind);
        }
    }
    if (inflight)
        fig->mid_write++;

    /* Reopening runs recovery (and migrations when the first round was
     * killed before they committed). */
    Ccai_store *st = NULL;
    char *err = NULL;
    ccai_status s = Ccai_sqlite_open(path, &st, &err);
    if (s != CCAI_OK)
        fail_msg("reopen: %s", err ? err : "?");
    assert_int_equal(Ccai_store_schema_version(st), CCAI_STORE_SCHEMA_VERSION);

    for (size_t i = 0; i < ncalls; i++) {
        exp_call *c = &calls[i];
        bool in_flight_here = inflight && strcmp(inflight->id, c->id) == 0;
        uint32_t ik = inflight ? inflight->kind & ~REC_INTENT : 0;
        Ccai_store_call *g = NULL;
        assert_int_equal(Ccai_store_call_get(st, c->id, &g), CCAI_OK);
        fig->checked++;
        /* An update in flight either landed whole or not at all. */
        if (in_flight_here && ik == REC_CALL_UPDATE && g->row_version == c->version + 1) {
            c->version++;
            c->lang_marker = inflight->b;
        }
        assert_int_equal(g->row_version, c->version);
        if (c->lang_marker) {
            char want[32];
            snprintf(want, sizeof want, "u%lld", (long long)c->lang_marker);
            assert_non_null(g->lang);
            assert_string_equal(g->lang, want);
        } else {
            assert_null(g->lang);
        }
        Ccai_store_call_free(g);

        json_t *msgs = NULL;
        assert_int_equal(Ccai_store_messages_json(st, c->id, &msgs), CCAI_OK);
        size_t n = json_array_size(msgs);
        if (in_flight_here && ik == REC_MESSAGE && n == c->nmsgs + 1)
            c->msgs[c->nmsgs++] = inflight->b;
        /* A batch in flight landed whole or not at all. */
        if (in_flight_here && ik == REC_BATCH && n == c->nmsgs + (size_t)inflight->a) {
            for (int64_t k = 0; k < inflight->a; k++)
                c->msgs[c->nmsgs++] = inflight->b + k;
        }
        assert_int_equal(n, c->nmsgs);
        for (size_t k = 0; k < n; k++) {
            json_t *o = json_array_get(msgs, k);
            char want[160];
            content_of(want, sizeof want, c->id, c->msgs[k]);
            assert_int_equal(json_integer_value(json_object_get(o, "seq")), (json_int_t)k + 1);
            assert_string_equal(json_string_value(json_object_get(o, "content")), want);
            fig->checked++;
        }
        json_decref(msgs);

        json_t *rems = NULL;
        assert_int_equal(Ccai_store_reminders_json(st, c->id, &rems), CCAI_OK);
        for (int64_t k = 0; k < CHILD_REMINDERS; k++) {
            char title[16], want[32], alt[32] = "";
            snprintf(title, sizeof title, "r%lld", (long long)k);
            snprintf(want, sizeof want, "d%lld", (long long)c->reminder[k]);
            if (in_flight_here && ik == REC_REMINDER && inflight->a == k)
                snprintf(alt, sizeof alt, "d%lld", (long long)inflight->b);
            const char *found = NULL;
            for (size_t q = 0; q < json_array_size(rems); q++) {
                json_t *o = json_array_get(rems, q);
                if (strcmp(json_string_value(json_object_get(o, "title")), title) == 0)
                    found = json_string_value(json_object_get(o, "description"));
            }
            if (c->reminder[k] == 0 && !alt[0]) {
                assert_null(found);
                continue;
            }
            if (!found) {
                assert_int_equal(c->reminder[k], 0); /* only the one in flight may lack */
                continue;
            }
            if (strcmp(found, want) != 0)
                assert_string_equal(found, alt);
            fig->checked++;
        }
        json_decref(rems);
    }

    /* A call insert or a group in flight: absent, or present whole. */
    if (inflight && ((inflight->kind & ~REC_INTENT) == REC_CALL_INSERT ||
                     (inflight->kind & ~REC_INTENT) == REC_GROUP)) {
        Ccai_store_call *g = NULL;
        s = Ccai_store_call_get(st, inflight->id, &g);
        if (s == CCAI_OK) {
            assert_int_equal(g->row_version, 1);
            Ccai_store_call_free(g);
            json_t *msgs = NULL;
            assert_int_equal(Ccai_store_messages_json(st, inflight->id, &msgs), CCAI_OK);
            bool group = (inflight->kind & ~REC_INTENT) == REC_GROUP;
            assert_int_equal(json_array_size(msgs), group ? 1 : 0);
            json_decref(msgs);
        } else {
            assert_int_equal(s, CCAI_ERR_NOT_FOUND);
        }
    }
    Ccai_store_close(st);

    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    for (size_t i = 0; i < njobs; i++) {
        check_job(db, &jobs[i], inflight);
        fig->checked++;
    }
    sqlite3_close(db);
    integrity_check(path);
}

static void test_kill_while_writing(void **state)
{
    (void)state;
    unsigned seed = env_uint("CCAI_CRASH_SEED", (unsigned)time(NULL) ^ (unsigned)getpid());
    unsigned rounds = env_uint("CCAI_CRASH_ROUNDS", 200);
    printf("# crash: seed=%u rounds=%u (CCAI_CRASH_SEED=%u repeats this run)\n", seed, rounds,
           seed);
    tmpdb t;
    tmpdb_make(&t);
    figures fig = {0};
    recs r = {0};
    int64_t start = now_us();
    unsigned rng = seed;
    for (unsigned round = 0; round < rounds; round++) {
        if ((now_us() - start) / 1000 > TIME_BUDGET_MS) {
            printf("# crash: time budget reached after %u rounds\n", round);
            break;
        }
        int64_t delay = (int64_t)((unsigned)rand_r(&rng) % (MAX_KILL_DELAY_US + 1));
        unsigned nops = 1 + (unsigned)rand_r(&rng) % 80;
        unsigned child_seed = (unsigned)rand_r(&rng);
        r.n = 0;
        if (run_child(t.path, child_seed, nops, delay, &r))
            fig.killed++;
        else
            fig.exited++;
        fig.rounds++;
        verify_round(t.path, &r, &fig);
    }
    printf("# crash: %u rounds, %u killed before exiting (%u in the middle of a write), "
           "%u exited, %zu acknowledged writes verified, %zu rows checked\n",
           fig.rounds, fig.killed, fig.mid_write, fig.exited, fig.acks, fig.checked);
    free(r.v);
    /* The test proves nothing unless some kills hit a write in progress. */
    assert_true(fig.mid_write > 0);
    assert_true(fig.acks > 0);
    tmpdb_remove(&t);
}

/* A transaction that was never committed leaves nothing behind. */
static void test_kill_inside_transaction(void **state)
{
    (void)state;
    tmpdb t;
    tmpdb_make(&t);
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        Ccai_store *st = NULL;
        ccai_status s = Ccai_sqlite_open(t.path, &st, NULL);
        if (s != CCAI_OK || (s = Ccai_store_begin(st)) != CCAI_OK)
            child_fail(p[1], s);
        for (int i = 0; i < 200; i++) {
            Ccai_store_call c;
            child_new_call(&c);
            Ccai_store_message m = {0, "human", "talk", "none", "hello", NULL, NULL, NULL, 0};
            if ((s = Ccai_store_call_insert(st, &c)) != CCAI_OK ||
                (s = Ccai_store_message_append(st, c.id, &m, NULL)) != CCAI_OK)
                child_fail(p[1], s);
            Ccai_store_call_clear(&c);
        }
        send_rec(p[1], REC_READY, NULL, 0, 0);
        for (;;)
            pause();
    }
    close(p[1]);
    recs r = {0};
    while (r.n == 0 && !recs_read(&r, p[0]))
        ;
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0].kind, REC_READY);
    kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    assert_true(WIFSIGNALED(status));
    close(p[0]);
    free(r.v);

    Ccai_store *st = NULL;
    assert_int_equal(Ccai_sqlite_open(t.path, &st, NULL), CCAI_OK);
    Ccai_store_call **calls = NULL;
    size_t n = 0, total = 0;
    assert_int_equal(Ccai_store_call_list(st, NULL, 10, 0, &calls, &n, &total), CCAI_OK);
    assert_int_equal(total, 0);
    Ccai_store_call_list_free(calls, n);
    Ccai_store_close(st);
    integrity_check(t.path);
    tmpdb_remove(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_inside_transaction),
        cmocka_unit_test(test_kill_while_writing),
    };
    return cmocka_run_group_tests_name("crash", tests, NULL, NULL);
}
