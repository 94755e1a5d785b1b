/* The WAL's checkpoints off the event loop (database.sqlite.checkpoint_thread).
 *
 * A checkpoint copies the WAL's frames into the database file and syncs
 * both (two fdatasync, 2-10 ms each on the machines measured): run by the
 * loop's connection after a commit, it held the loop, and with several
 * workers on one file the other workers too (docs/deployment.md, "Two
 * workers on one SQLite file"). Here a thread of the store's, with its own
 * connection to the file, runs them; the loop's connection only wakes it
 * (its WAL hook, Ccai_sqlite_ckpt_wake()) as the WAL grows.
 *
 * Each run is two checkpoints:
 *
 * 1. PASSIVE: copies every frame no reader still needs and syncs, without
 *    the write lock: the loops go on committing meanwhile. This is the
 *    work (a WAL of ~1,000 frames, 4 MB), and it is all off the loops.
 * 2. RESTART, when the WAL is still long: the frames committed during the
 *    first (a few dozen) are copied with the write lock held, and the
 *    checkpoint waits for the readers to leave the WAL, so that the next
 *    writer starts it over. Without it the WAL never starts over under a
 *    steady load: a writer starts the WAL over only when every frame in it
 *    has been copied, and the loops add frames during every passive
 *    checkpoint's syncs. The loops' writes wait for this step (its two
 *    syncs of a few pages), at most their busy timeout; past that they fail
 *    with CCAI_ERR_BUSY having done nothing, as with any other lock.
 *
 * The thread calls SQLite and the C library only: never libccai's allocator
 * nor a callback of the host. Its errors are kept here and logged by the
 * loop (Ccai_sqlite_ckpt_error()). A checkpoint that fails loses nothing:
 * the frames stay in the WAL, where readers find them, and the next run
 * copies them. When the thread cannot start or open its connection, the
 * loop's connection checkpoints itself, as without a thread.
 *
 * Fork: the thread is started by the first wake, in the process that
 * writes (ccai-server's workers open their store after the fork). Open the
 * store after fork(): a child forked while the thread is inside SQLite may
 * inherit one of SQLite's global mutexes locked and hang at its first
 * call. A child that does inherit a store has no thread: it checkpoints on
 * its loop, and its free neither signals nor joins
 * (Ccai_sqlite_ckpt_usable()). */
#include "store/sqlite_private.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long the RESTART step waits for the write lock and the readers
 * before it gives up (the next wake tries again); the thread's wait, not a
 * loop's. */
#define CKPT_BUSY_MS 500
/* Frames in the WAL: the first run, at least this many more since the
 * last PASSIVE for another, and the length past which a run ends with a
 * RESTART (SQLite's automatic checkpoint's default: 1,000 frames, 4 MB of
 * pages of 4 KB). The PASSIVE runs before it keep its part small. */
#define CKPT_WAKE_FRAMES    500
#define CKPT_STEP_FRAMES    250
#define CKPT_RESTART_FRAMES 1000

struct Ccai_sqlite_ckpt {
    char *path;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    pthread_t thread;
    pid_t pid;                    /* the process whose thread it is; 0: none started */
    atomic_bool failed;           /* no thread, or no connection: the loop checkpoints */
    bool stop;                    /* under mu */
    bool want;                    /* under mu: a run is asked for */
    atomic_bool asked;            /* a run is asked for or running: the hook need not lock */
    atomic_int next_at;           /* frames in the WAL that call for the next run */
    atomic_bool halt;             /* stop, read by the busy handler without the lock */
    atomic_bool yield;            /* the loop checkpoints itself: the thread's waits give up */
    atomic_uint errors;           /* errors kept; the loop logs the new ones */
    unsigned logged;              /* the loop's: errors it has logged */
    sqlite3 *db;                  /* the thread's connection while open (under mu) */
    char error[256];              /* the last error (under mu) */
    Ccai_sqlite_ckpt_stats stats; /* under mu */
    uint64_t busy_since_us;       /* the thread's */
};

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The thread's wait for the write lock and the readers (RESTART): yields,
 * then sleeps 20 us doubling to 200 us (a loop holds the lock for a
 * commit, ~100-300 us, and takes it again soon), CKPT_BUSY_MS in all; at
 * once 0 when the store is freed. */
static int ckpt_busy(void *ud, int count)
{
    Ccai_sqlite_ckpt *c = ud;
    if (atomic_load(&c->halt) || atomic_load(&c->yield))
        return 0;
    uint64_t now = now_us();
    if (count == 0)
        c->busy_since_us = now;
    if (now - c->busy_since_us >= (uint64_t)CKPT_BUSY_MS * 1000u)
        return 0;
    if (count < 3) {
        sched_yield();
        return 1;
    }
    int shift = count - 3;
    long us = shift >= 4 ? 200 : 20L << shift;
    if (us > 200)
        us = 200;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = us * 1000};
    nanosleep(&ts, NULL);
    return 1;
}

static void keep_error(Ccai_sqlite_ckpt *c, const char *what, sqlite3 *db, int rc)
{
    pthread_mutex_lock(&c->mu);
    snprintf(c->error, sizeof c->error, "store: WAL checkpoint: %s: %s", what,
             db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    c->stats.errors++;
    pthread_mutex_unlock(&c->mu);
    atomic_fetch_add(&c->errors, 1);
}

/* One run: PASSIVE, then RESTART when the WAL is still long; and when the
 * next is due. */
static void ckpt_run(Ccai_sqlite_ckpt *c, sqlite3 *db)
{
    int log = 0, done = 0;
    uint64_t t0 = now_us();
    int rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    bool passed = rc == SQLITE_OK;
    uint64_t t1 = now_us();
    bool restart = false, restarted = false;
    int rlog = 0, rdone = 0;
    /* BUSY: another connection is checkpointing (another worker's thread):
     * it does the work. */
    if (rc == SQLITE_OK && log >= CKPT_RESTART_FRAMES) {
        restart = true;
        rc = sqlite3_wal_checkpoint_v2(db, "main", SQLITE_CHECKPOINT_RESTART, &rlog, &rdone);
        restarted = rc == SQLITE_OK;
    }
    uint64_t t2 = now_us();
    /* The next run: after a RESTART, when the new WAL is long enough;
     * after a PASSIVE, when CKPT_STEP_FRAMES more have come (not at once
     * when it copied every frame: the WAL starts over only if no
     * transaction had begun before, and a run at each commit would chase
     * them); else (busy: another connection's checkpoint, or the RESTART's
     * wait; an error) once the WAL is long. */
    int next = CKPT_RESTART_FRAMES;
    if (restarted)
        next = CKPT_WAKE_FRAMES;
    else if (passed && !restart)
        next = log + CKPT_STEP_FRAMES;
    atomic_store(&c->next_at, next);
    bool halted = atomic_load(&c->halt);
    if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED &&
        !(halted && (rc & 0xff) == SQLITE_INTERRUPT))
        keep_error(c, restart ? "restart" : "passive", db, rc);
    pthread_mutex_lock(&c->mu);
    c->stats.passive++;
    c->stats.passive_us += t1 - t0;
    if (passed) {
        c->stats.last_log = log;
        c->stats.last_done = done;
    }
    if (restart) {
        c->stats.restart++;
        c->stats.restart_us += t2 - t1;
        c->stats.restarted += restarted;
        if (rc != SQLITE_OK)
            c->stats.busy++;
    }
    pthread_mutex_unlock(&c->mu);
}

static void *ckpt_main(void *arg)
{
    Ccai_sqlite_ckpt *c = arg;
    (void)pthread_setname_np(pthread_self(), "ccai-ckpt"); /* ps -L, /proc */
    sqlite3 *db = NULL;
    /* The file exists: the loop's connection made it. */
    int rc = sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    const char *what = "open";
    if (rc == SQLITE_OK) {
        sqlite3_extended_result_codes(db, 1);
        sqlite3_busy_handler(db, ckpt_busy, c);
        /* A first read opens the WAL: until then SQLite does not know the
         * file is in WAL mode, and a checkpoint does nothing. */
        what = "first read";
        rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        keep_error(c, what, db, rc);
        sqlite3_close(db);
        db = NULL;
    }
    pthread_mutex_lock(&c->mu);
    c->db = db;
    if (!db) {
        atomic_store(&c->failed, true); /* the loop checkpoints from now on */
        atomic_store(&c->asked, false);
    }
    while (db) {
        while (!c->stop && !c->want)
            pthread_cond_wait(&c->cond, &c->mu);
        if (c->stop)
            break;
        c->want = false;
        pthread_mutex_unlock(&c->mu);
        ckpt_run(c, db);
        /* Asked again from here: a commit during the run that found the
         * WAL still long. */
        atomic_store(&c->asked, false);
        pthread_mutex_lock(&c->mu);
    }
    c->db = NULL; /* no interrupt from now on */
    pthread_mutex_unlock(&c->mu);
    sqlite3_close(db); /* not the file's last connection: no checkpoint here */
    return NULL;
}

Ccai_sqlite_ckpt *Ccai_sqlite_ckpt_new(const char *path)
{
    Ccai_sqlite_ckpt *c = Ccai_calloc(1, sizeof *c);
    if (!c || !(c->path = Ccai_strdup(path))) {
        ccai_free(c);
        return NULL;
    }
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        ccai_free(c->path);
        ccai_free(c);
        return NULL;
    }
    if (pthread_cond_init(&c->cond, NULL) != 0) {
        pthread_mutex_destroy(&c->mu);
        ccai_free(c->path);
        ccai_free(c);
        return NULL;
    }
    atomic_init(&c->failed, false);
    atomic_init(&c->asked, false);
    atomic_init(&c->next_at, CKPT_WAKE_FRAMES);
    atomic_init(&c->halt, false);
    atomic_init(&c->yield, false);
    atomic_init(&c->errors, 0);
    return c;
}

bool Ccai_sqlite_ckpt_usable(Ccai_sqlite_ckpt *c)
{
    if (!c || atomic_load(&c->failed))
        return false;
    /* A fork's child: the thread is its parent's. */
    return c->pid == 0 || c->pid == getpid();
}

static bool ckpt_start(Ccai_sqlite_ckpt *c)
{
    /* No signal of the host's on it; it inherits this mask. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&c->thread, NULL, ckpt_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        atomic_store(&c->failed, true);
        snprintf(c->error, sizeof c->error, "store: WAL checkpoint: no thread: %s", strerror(rc));
        c->stats.errors++;
        atomic_fetch_add(&c->errors, 1);
        return false;
    }
    c->pid = getpid();
    return true;
}

bool Ccai_sqlite_ckpt_wake(Ccai_sqlite_ckpt *c, int frames)
{
    if (frames < atomic_load(&c->next_at) && !atomic_load(&c->failed))
        return true; /* nothing to do yet */
    if (!Ccai_sqlite_ckpt_usable(c))
        return false;
    if (atomic_load(&c->asked))
        return true; /* asked, or running */
    if (c->pid == 0 && !ckpt_start(c))
        return false;
    atomic_store(&c->asked, true);
    pthread_mutex_lock(&c->mu);
    c->want = true;
    pthread_cond_signal(&c->cond);
    pthread_mutex_unlock(&c->mu);
    return true;
}

void Ccai_sqlite_ckpt_yield(Ccai_sqlite_ckpt *c, bool yield)
{
    atomic_store(&c->yield, yield);
}

bool Ccai_sqlite_ckpt_error(Ccai_sqlite_ckpt *c, char *buf, size_t size)
{
    if (!c)
        return false;
    unsigned n = atomic_load(&c->errors);
    if (n == c->logged)
        return false;
    /* A fork's child: the lock may be held by a thread it does not have. */
    bool own = c->pid == 0 || c->pid == getpid();
    if (own)
        pthread_mutex_lock(&c->mu);
    snprintf(buf, size, "%s", c->error);
    if (own)
        pthread_mutex_unlock(&c->mu);
    c->logged = n;
    return true;
}

void Ccai_sqlite_ckpt_get_stats(Ccai_sqlite_ckpt *c, Ccai_sqlite_ckpt_stats *ret)
{
    memset(ret, 0, sizeof *ret);
    if (!c || (c->pid != 0 && c->pid != getpid()))
        return;
    pthread_mutex_lock(&c->mu);
    *ret = c->stats;
    ret->running = c->pid != 0 && c->db != NULL;
    pthread_mutex_unlock(&c->mu);
}

void Ccai_sqlite_ckpt_free(Ccai_sqlite_ckpt *c)
{
    if (!c)
        return;
    if (c->pid == getpid()) {
        atomic_store(&c->halt, true);
        pthread_mutex_lock(&c->mu);
        c->stop = true;
        /* A checkpoint copying frames stops at the next page; one in its
         * sync ends with it (milliseconds); one waiting for a lock gives
         * up at once (ckpt_busy()). */
        if (c->db)
            sqlite3_interrupt(c->db);
        pthread_cond_signal(&c->cond);
        pthread_mutex_unlock(&c->mu);
        pthread_join(c->thread, NULL);
    }
    if (c->pid == 0 || c->pid == getpid()) {
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->mu);
    }
    ccai_free(c->path);
    ccai_free(c);
}
