/* Work on the documents store off the loop (store/docs_exec.c): what a
 * search in a call asks the documents store (rag/rag.c) and the query
 * cache's store backend (cache/cache.c), so that a PostgreSQL round trip
 * never holds the loop.
 *
 * A job is a work function and a completion. When the host allows threads
 * (database.postgresql.search_threads: libccai starts no thread unless
 * asked) on a backend that can open a second handle of its database
 * (PostgreSQL: Ccai_docstore_backend.twin), the work runs on one of a
 * small fixed pool of worker threads, each with
 * its own handle (its own libpq connection, opened and closed by that
 * thread, never shared), and the completion is told on the loop through a
 * pipe the loop watches. Otherwise (SQLite: local, well under a
 * millisecond; PostgreSQL without threads: each round trip waits on the
 * loop, as before) the work runs on the loop from a timer due now, on the
 * store's own handle: the same path for the caller, no second connection.
 *
 * The work function must only touch its job's data (copies of what it
 * needs, room for what it finds): the caller may be gone when it runs.
 * The completion fires exactly once, from the loop, never from inside
 * Ccai_docs_exec_run(): CCAI_OK when the work ran (its own outcome is in
 * the job's data), CCAI_ERR_STORE when the worker could not reach the
 * database (errmsg says why; the work did not run), CCAI_ERR_CANCELLED
 * when the job was cancelled or the executor freed: then it only frees
 * the job's data. */
#ifndef CCAI_STORE_DOCS_EXEC_H
#define CCAI_STORE_DOCS_EXEC_H

#include "store/docs.h"

typedef struct Ccai_docs_exec Ccai_docs_exec;
typedef struct Ccai_docs_job Ccai_docs_job;

typedef void (*Ccai_docs_work_fn)(Ccai_docstore *ds, void *ud);
typedef void (*Ccai_docs_done_fn)(ccai_status st, const char *errmsg, void *ud);

/* Worker threads of a PostgreSQL documents store (each one connection),
 * started when the first jobs need them. */
#define CCAI_DOCS_EXEC_THREADS 2
/* With workers, most jobs queued, running or waiting for the loop: more is
 * CCAI_ERR_BUSY (on the loop, no bound: each runs at the next turn). */
#define CCAI_DOCS_EXEC_MAX_JOBS 64

/* An executor for ds (borrowed: closed after the executor is freed).
 * Statuses: CCAI_OK, CCAI_ERR_NOMEM, CCAI_ERR_IO (no pipe). */
/* threads: the host allows worker threads (with a backend's twin). */
CCAI_MUST_CHECK ccai_status Ccai_docs_exec_new(ccai_ctx *ctx, Ccai_docstore *ds, bool threads,
                                               const Ccai_logger *log, Ccai_docs_exec **ret);
/* Bounded whatever the database does: every wait of a worker for the
 * server (connecting, an answer) gives up at once (a wake-up fd their
 * polls watch), the server is asked to cancel the statements they ran
 * without waiting for it (PostgreSQL's cancel request, sent by a detached
 * thread: libpq 15's PQcancel() has no time limit), the workers are
 * joined, then every job not told yet is told CCAI_ERR_CANCELLED. NULL
 * accepted. */
void Ccai_docs_exec_free(Ccai_docs_exec *x);
/* Whether the work runs on worker threads (PostgreSQL) or on the loop. */
bool Ccai_docs_exec_threaded(const Ccai_docs_exec *x);

/* Queue work(ds, ud), then done(status, errmsg, ud) from the loop. *ret
 * (may be NULL) is the job until done fires. Statuses: CCAI_OK (done will
 * fire), CCAI_ERR_BUSY (CCAI_DOCS_EXEC_MAX_JOBS in flight), CCAI_ERR_NOMEM,
 * CCAI_ERR_IO (a worker thread could not start): done never fires then. */
CCAI_MUST_CHECK ccai_status Ccai_docs_exec_run(Ccai_docs_exec *x, Ccai_docs_work_fn work,
                                               Ccai_docs_done_fn done, void *ud,
                                               Ccai_docs_job **ret);
/* done(CCAI_ERR_CANCELLED) now when the job has not started or has
 * finished; when it is running, once it has finished (its work's result
 * dropped). NULL accepted. */
void Ccai_docs_exec_cancel(Ccai_docs_exec *x, Ccai_docs_job *j);

#endif
