/* The documents store's work off the loop (store/docs_exec.h): a fixed
 * pool of worker threads, each with its own handle of the database, fed
 * by a bounded queue; their completions go back to the loop through a
 * pipe it watches. Without threads (not allowed, or no twin: SQLite) the
 * work runs on the loop from a timer due now. */
#include "store/docs_exec.h"

#include "io/io.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE } job_state;

struct Ccai_docs_job {
    Ccai_docs_job *next;
    Ccai_docs_work_fn work;
    Ccai_docs_done_fn done;
    void *ud;
    job_state state;
    bool cancelled;   /* the completion is dropped (CCAI_ERR_CANCELLED) */
    ccai_status st;   /* CCAI_OK, or CCAI_ERR_STORE: no handle */
    char errmsg[300]; /* why there is no handle */
};

typedef struct job_list {
    Ccai_docs_job *head, *tail;
} job_list;

typedef struct worker_slot {
    Ccai_docs_exec *x;
    void *interrupt; /* of the job it runs (under the mutex): taken by the free */
} worker_slot;

struct Ccai_docs_exec {
    ccai_ctx *ctx;
    Ccai_docstore *ds;
    const Ccai_logger *log;
    bool threaded;
    /* Threaded: everything below the mutex is shared with the workers. */
    int pipe_rd, pipe_wr;
    /* Readable once the executor is being freed: every wait of a worker
     * for the server (connecting, an answer) gives up at once. */
    int wake_fd;
    bool watched;
    pthread_t threads[CCAI_DOCS_EXEC_THREADS];
    worker_slot slots[CCAI_DOCS_EXEC_THREADS];
    size_t n_threads;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    job_list queued, finished;
    size_t jobs; /* queued, running or finished and not told */
    size_t idle; /* workers waiting for a job */
    bool stop;
    /* On the loop: the jobs of a backend without a twin. */
    Ccai_timer timer;
    job_list ready;
};

static void list_push(job_list *l, Ccai_docs_job *j)
{
    j->next = NULL;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
}

static Ccai_docs_job *list_shift(job_list *l)
{
    Ccai_docs_job *j = l->head;
    if (j) {
        l->head = j->next;
        if (!l->head)
            l->tail = NULL;
        j->next = NULL;
    }
    return j;
}

static bool list_remove(job_list *l, Ccai_docs_job *j)
{
    Ccai_docs_job *prev = NULL;
    for (Ccai_docs_job *p = l->head; p; prev = p, p = p->next) {
        if (p != j)
            continue;
        if (prev)
            prev->next = p->next;
        else
            l->head = p->next;
        if (l->tail == p)
            l->tail = prev;
        p->next = NULL;
        return true;
    }
    return false;
}

/* Tell the job's owner and free the job (the loop's thread). */
static void tell(Ccai_docs_job *j, ccai_status st)
{
    Ccai_docs_done_fn done = j->done;
    void *ud = j->ud;
    char errmsg[sizeof j->errmsg];
    memcpy(errmsg, j->errmsg, sizeof errmsg);
    ccai_free(j);
    done(st, st == CCAI_ERR_STORE ? errmsg : NULL, ud);
}

/* Worker threads ------------------------------------------------------------ */

static void *worker(void *arg)
{
    worker_slot *slot = arg;
    Ccai_docs_exec *x = slot->x;
    const Ccai_docstore_backend *be = x->ds->backend;
    Ccai_docstore *own = NULL; /* this thread's handle, opened on first need */
    (void)pthread_setname_np(pthread_self(), "ccai-docs"); /* ps -L, gdb, /proc */
    pthread_mutex_lock(&x->mu);
    for (;;) {
        while (!x->stop && !x->queued.head) {
            x->idle++;
            pthread_cond_wait(&x->cond, &x->mu);
            x->idle--;
        }
        if (x->stop)
            break;
        Ccai_docs_job *j = list_shift(&x->queued);
        j->state = JOB_RUNNING;
        pthread_mutex_unlock(&x->mu);
        j->st = CCAI_OK;
        if (!own) {
            char *why = NULL;
            ccai_status st = be->twin(x->ds, x->wake_fd, &own, &why);
            if (st != CCAI_OK) {
                own = NULL;
                j->st = CCAI_ERR_STORE;
                snprintf(j->errmsg, sizeof j->errmsg, "%s", why ? why : ccai_status_str(st));
            }
            ccai_free(why);
        }
        void *interrupt = own && be->interrupt_new ? be->interrupt_new(own) : NULL;
        pthread_mutex_lock(&x->mu);
        bool run = own && !x->stop; /* stopping: dropped anyway */
        slot->interrupt = interrupt;
        pthread_mutex_unlock(&x->mu);
        /* Run even when cancelled meanwhile: its data stays until it is
         * told, and a cancel costs the work at most. */
        if (run)
            j->work(own, j->ud);
        pthread_mutex_lock(&x->mu);
        interrupt = slot->interrupt; /* NULL when the free fired it */
        slot->interrupt = NULL;
        j->state = JOB_DONE;
        list_push(&x->finished, j);
        char one = 1;
        /* Full pipe: the loop has a wakeup to read already. */
        while (write(x->pipe_wr, &one, 1) < 0 && errno == EINTR)
            ;
        if (interrupt)
            be->interrupt_free(interrupt);
    }
    pthread_mutex_unlock(&x->mu);
    Ccai_docstore_close(own);
    return NULL;
}

/* The pipe is readable: tell the finished jobs, one at a time (a
 * completion may cancel or queue others). */
static void on_wakeup(ccai_ctx *ctx, int fd, int events, void *ud)
{
    CCAI_UNUSED(ctx);
    CCAI_UNUSED(events);
    Ccai_docs_exec *x = ud;
    char buf[64];
    while (read(fd, buf, sizeof buf) > 0)
        ;
    /* A completion may free the context (deferred until this frame
     * unwinds): then the others are dropped, told nothing
     * (Ccai_docs_exec_free()). */
    while (!Ccai_loop_freeing(x->ctx)) {
        pthread_mutex_lock(&x->mu);
        Ccai_docs_job *j = list_shift(&x->finished);
        if (j)
            x->jobs--;
        pthread_mutex_unlock(&x->mu);
        if (!j)
            break;
        tell(j, j->cancelled ? CCAI_ERR_CANCELLED : j->st);
    }
}

/* On the loop (no twin) ----------------------------------------------------- */

static void on_ready(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_docs_exec *x = ud;
    /* Those there now; those their completions queue run on the next
     * turn. A completion may cancel one still in the list (list_remove). */
    size_t n = 0;
    for (Ccai_docs_job *p = x->ready.head; p; p = p->next)
        n++;
    Ccai_docs_job *j;
    /* A completion may free the context: the others are dropped then. */
    while (n-- > 0 && !Ccai_loop_freeing(x->ctx) && (j = list_shift(&x->ready)) != NULL) {
        x->jobs--;
        j->state = JOB_RUNNING;
        j->work(x->ds, j->ud);
        tell(j, CCAI_OK);
    }
    if (x->ready.head && !Ccai_loop_freeing(x->ctx))
        Ccai_timer_start(x->ctx, &x->timer, 0);
}

/* Life ------------------------------------------------------------------------ */

ccai_status Ccai_docs_exec_new(ccai_ctx *ctx, Ccai_docstore *ds, bool threads,
                               const Ccai_logger *log, Ccai_docs_exec **ret)
{
    if (!ctx || !ds || !ret)
        return CCAI_ERR_INVALID_ARG;
    Ccai_docs_exec *x = Ccai_calloc(1, sizeof *x);
    if (!x)
        return CCAI_ERR_NOMEM;
    x->ctx = ctx;
    x->ds = ds;
    x->log = log;
    x->pipe_rd = x->pipe_wr = x->wake_fd = -1;
    x->threaded = threads && ds->backend->twin != NULL;
    Ccai_timer_init(&x->timer, on_ready, x);
    if (x->threaded) {
        int p[2];
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
            ccai_free(x);
            return CCAI_ERR_IO;
        }
        x->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (x->wake_fd < 0) {
            close(p[0]);
            close(p[1]);
            ccai_free(x);
            return CCAI_ERR_IO;
        }
        x->pipe_rd = p[0];
        x->pipe_wr = p[1];
        pthread_mutex_init(&x->mu, NULL);
        pthread_cond_init(&x->cond, NULL);
    }
    *ret = x;
    return CCAI_OK;
}

bool Ccai_docs_exec_threaded(const Ccai_docs_exec *x)
{
    return x && x->threaded;
}

void Ccai_docs_exec_free(Ccai_docs_exec *x)
{
    if (!x)
        return;
    job_list drop = {0};
    if (x->threaded) {
        pthread_mutex_lock(&x->mu);
        x->stop = true;
        pthread_cond_broadcast(&x->cond);
        /* Freeing waits for nothing the server does: every wait of a
         * worker for it (connecting, an answer) gives up at once (the
         * wake-up fd), and the server is asked to cancel the statements
         * they ran, the request sent without waiting (interrupt_fire():
         * a thread of its own), so that they do not hold its locks and
         * backends until their statement timeout. */
        for (size_t i = 0; i < x->n_threads; i++) {
            if (x->slots[i].interrupt)
                x->ds->backend->interrupt_fire(x->slots[i].interrupt);
            x->slots[i].interrupt = NULL;
        }
        uint64_t one = 1;
        while (write(x->wake_fd, &one, sizeof one) < 0 && errno == EINTR)
            ;
        pthread_mutex_unlock(&x->mu);
        for (size_t i = 0; i < x->n_threads; i++)
            pthread_join(x->threads[i], NULL);
        drop = x->queued;
        Ccai_docs_job *j;
        while ((j = list_shift(&x->finished)) != NULL)
            list_push(&drop, j);
        if (x->watched)
            Ccai_fd_forget(x->ctx, x->pipe_rd);
        close(x->pipe_rd);
        close(x->pipe_wr);
        close(x->wake_fd);
        pthread_cond_destroy(&x->cond);
        pthread_mutex_destroy(&x->mu);
    } else {
        Ccai_timer_stop(x->ctx, &x->timer);
        drop = x->ready;
    }
    ccai_free(x);
    Ccai_docs_job *j;
    while ((j = list_shift(&drop)) != NULL)
        tell(j, CCAI_ERR_CANCELLED);
}

ccai_status Ccai_docs_exec_run(Ccai_docs_exec *x, Ccai_docs_work_fn work, Ccai_docs_done_fn done,
                               void *ud, Ccai_docs_job **ret)
{
    if (!x || !work || !done)
        return CCAI_ERR_INVALID_ARG;
    /* The workers' queue is bounded; on the loop a job is run at the next
     * turn, as a search was before there were workers: no bound to add. */
    if (x->threaded && x->jobs >= CCAI_DOCS_EXEC_MAX_JOBS) /* written on this thread only */
        return CCAI_ERR_BUSY;
    Ccai_docs_job *j = Ccai_calloc(1, sizeof *j);
    if (!j)
        return CCAI_ERR_NOMEM;
    j->work = work;
    j->done = done;
    j->ud = ud;
    j->state = JOB_QUEUED;
    if (!x->threaded) {
        list_push(&x->ready, j);
        x->jobs++;
        Ccai_timer_start(x->ctx, &x->timer, 0);
    } else {
        if (!x->watched) {
            ccai_status st = Ccai_fd_watch(x->ctx, x->pipe_rd, CCAI_POLL_IN, on_wakeup, x);
            if (st != CCAI_OK) {
                ccai_free(j);
                return st;
            }
            x->watched = true;
        }
        pthread_mutex_lock(&x->mu);
        bool spawn = x->idle == 0 && x->n_threads < CCAI_DOCS_EXEC_THREADS;
        if (spawn) {
            x->slots[x->n_threads] = (worker_slot){x, NULL};
            /* The host's signals are never handled on a worker (a
             * handler there would run beside the loop, on the host's
             * state): it starts with every signal blocked. */
            sigset_t all, old;
            sigfillset(&all);
            pthread_sigmask(SIG_SETMASK, &all, &old);
            int rc =
                pthread_create(&x->threads[x->n_threads], NULL, worker, &x->slots[x->n_threads]);
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            if (rc == 0) {
                x->n_threads++;
            } else if (x->n_threads == 0) {
                pthread_mutex_unlock(&x->mu);
                Ccai_log(x->log, CCAI_LOG_ERROR, "documents: no worker thread: %s", strerror(rc));
                ccai_free(j);
                return CCAI_ERR_IO;
            }
        }
        list_push(&x->queued, j);
        x->jobs++;
        pthread_cond_signal(&x->cond);
        pthread_mutex_unlock(&x->mu);
    }
    if (ret)
        *ret = j;
    return CCAI_OK;
}

void Ccai_docs_exec_cancel(Ccai_docs_exec *x, Ccai_docs_job *j)
{
    if (!x || !j)
        return;
    if (!x->threaded) {
        if (list_remove(&x->ready, j)) {
            x->jobs--;
            tell(j, CCAI_ERR_CANCELLED);
        }
        return;
    }
    pthread_mutex_lock(&x->mu);
    bool now = false;
    if (j->state == JOB_QUEUED)
        now = list_remove(&x->queued, j);
    else if (j->state == JOB_DONE)
        now = list_remove(&x->finished, j);
    if (now)
        x->jobs--;
    else
        j->cancelled = true; /* running: dropped when it finishes */
    pthread_mutex_unlock(&x->mu);
    if (now)
        tell(j, CCAI_ERR_CANCELLED);
}
