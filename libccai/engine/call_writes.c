/* A call's writes: the bot's words kept to be stored with the next group
 * commit or while the database is locked (stored in order, before anything
 * else of the call), messages added, and the acts that wait for the commit
 * of what they depend on (persist, then act: Ccai_call_after_commit()). The
 * handle's life is engine/call.c. */
#include "engine/engine.h"

#include "core/metrics.h"

#include <stdio.h>
#include <string.h>

/* The bot's words kept while the database is locked: first retry, cap. */
#define UNSAVED_RETRY_MS     100
#define UNSAVED_RETRY_MAX_MS 2000

/* The bot's words not stored yet -------------------------------------------- */

/* Said and not stored yet, in order: the sentences of an answer that came
 * in one read from the LLM (Ccai_call_keep_said: one commit for them all),
 * or words said while another process held the database locked
 * (Ccai_call_add_message: stored as soon as it can write). Anything else
 * stored for the call stores them first. One allocation each. */
typedef struct Ccai_unsaved {
    struct Ccai_unsaved *next;
    const char *style, *content, *lang, *engine; /* in text[] */
    int64_t created_at;
    char text[];
} Ccai_unsaved;

static Ccai_unsaved *unsaved_new(const Ccai_store_message *m)
{
    const char *const src[4] = {m->style, m->content, m->lang, m->engine};
    size_t len[4], total = 0;
    for (size_t i = 0; i < 4; i++) {
        len[i] = src[i] ? strlen(src[i]) + 1 : 0;
        total += len[i];
    }
    Ccai_unsaved *u = Ccai_calloc(1, sizeof *u + total);
    if (!u)
        return NULL;
    const char **dst[4] = {&u->style, &u->content, &u->lang, &u->engine};
    char *p = u->text;
    for (size_t i = 0; i < 4; i++) {
        if (!src[i])
            continue;
        memcpy(p, src[i], len[i]);
        *dst[i] = p;
        p += len[i];
    }
    u->created_at = m->created_at;
    return u;
}

static ccai_status unsaved_push(ccai_call *c, const Ccai_store_message *m)
{
    Ccai_unsaved *u = unsaved_new(m);
    if (!u)
        return CCAI_ERR_NOMEM;
    *c->unsaved_tail = u;
    c->unsaved_tail = &u->next;
    return CCAI_OK;
}

/* Forget the kept words up to (not including) end. */
static void unsaved_pop(ccai_call *c, Ccai_unsaved *end)
{
    while (c->unsaved != end) {
        Ccai_unsaved *u = c->unsaved;
        c->unsaved = u->next;
        ccai_free(u);
    }
    if (!c->unsaved)
        c->unsaved_tail = &c->unsaved;
}

static void words_after_sync(ccai_call *c, Ccai_unsaved *sent);

/* Store what was kept, oldest first, in one commit when there are several
 * (or inside the caller's transaction). A failure of the database keeps
 * what it did not store for later; a message that can never be stored is
 * dropped (logged), not a reason to stop the call. */
ccai_status Ccai_call_flush_unsaved(ccai_call *c)
{
    Ccai_store *store = c->eng->store;
    bool tx = c->unsaved && c->unsaved->next;
    /* One commit, or (inside the caller's transaction, or one row) as
     * many as rows: one span. */
    Ccai_span *sp = c->unsaved ? Ccai_span_child(c->span, "store_commit", CCAI_SPAN_CLIENT) : NULL;
    if (tx) {
        ccai_status st = Ccai_store_begin(store);
        if (st == CCAI_ERR_BUSY || st == CCAI_ERR_STORE || st == CCAI_ERR_NOMEM) {
            Ccai_span_end_st(sp, st);
            return st;
        }
        tx = st == CCAI_OK; /* else the caller's transaction holds them */
    }
    size_t n = 0;
    ccai_status st = CCAI_OK;
    /* An asynchronous store: the words sent are kept until their commit is
     * told (stored again after a conflict: words_after_sync()). */
    bool keep_sent = !tx && !Ccai_store_writes_durable(store);
    Ccai_unsaved *sent = NULL, **sent_tail = &sent;
    for (Ccai_unsaved *u = c->unsaved, *next; u; u = next) {
        next = u->next;
        Ccai_store_message m = {
            .persona = "assistant",
            .action = "talk",
            .style = u->style,
            .content = u->content,
            .lang = u->lang,
            .engine = u->engine,
            .created_at = u->created_at,
        };
        st = Ccai_store_message_append(store, c->row.id, &m, NULL);
        if (st == CCAI_ERR_BUSY || st == CCAI_ERR_STORE || st == CCAI_ERR_NOMEM)
            break;         /* the database, not the message: try again later */
        if (st != CCAI_OK) /* this message can never be stored: not a reason to stop the call */
            Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: a kept sentence is dropped: %s", c->row.id,
                     Ccai_store_errmsg(store));
        bool stored = st == CCAI_OK;
        n += stored;
        st = CCAI_OK;
        if (keep_sent && stored) { /* sent: until its commit is told */
            c->unsaved = next;
            if (!next)
                c->unsaved_tail = &c->unsaved;
            u->next = NULL;
            *sent_tail = u;
            sent_tail = &u->next;
        } else if (!tx) {
            unsaved_pop(c, next); /* committed on its own */
        }
    }
    if (sent)
        words_after_sync(c, sent);
    if (tx) {
        if (st == CCAI_OK)
            st = Ccai_store_commit(store);
        if (st != CCAI_OK) {
            /* The first failure is the one returned; one of the rollback
             * too is logged. */
            if (Ccai_store_rollback(store) != CCAI_OK)
                Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: rollback: %s", c->row.id,
                         Ccai_store_errmsg(store));
            Ccai_span_attr_int(sp, "store.rows", 0);
            Ccai_span_end_st(sp, st);
            return st; /* none of them is stored */
        }
        unsaved_pop(c, NULL);
    }
    Ccai_span_attr_int(sp, "store.rows", (int64_t)n);
    Ccai_span_attr_int(sp, "store.batch_calls", 1);
    Ccai_span_end_st(sp, st);
    if (st != CCAI_OK)
        return st;
    if (n && c->unsaved_tries)
        Ccai_log(&c->log, CCAI_LOG_INFO, "call %s: %zu kept sentence(s) of the bot stored",
                 c->row.id, n);
    c->unsaved_tries = 0;
    Ccai_timer_stop(c->ctx, &c->unsaved_timer);
    return CCAI_OK;
}

static void unsaved_retry_later(ccai_call *c)
{
    if (c->unsaved_tries < 16)
        c->unsaved_tries++;
    Ccai_timer_start(
        c->ctx, &c->unsaved_timer,
        Ccai_backoff_ms((int)c->unsaved_tries, UNSAVED_RETRY_MS, UNSAVED_RETRY_MAX_MS));
}

static void on_unsaved_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    ccai_call *c = ud;
    if (Ccai_call_flush_unsaved(c) != CCAI_OK)
        unsaved_retry_later(c);
}

void Ccai_call_writes_init(ccai_call *c)
{
    c->unsaved_tail = &c->unsaved;
    Ccai_timer_init(&c->unsaved_timer, on_unsaved_timer, c);
}

/* The database cannot take the kept words now: later, and say so once. */
static void unsaved_later(ccai_call *c)
{
    if (!c->unsaved_tries)
        Ccai_log(&c->log, CCAI_LOG_WARN,
                 "call %s: the database is locked by another process: the bot's words "
                 "are kept and stored when it can write",
                 c->row.id);
    if (!Ccai_timer_active(&c->unsaved_timer))
        unsaved_retry_later(c);
}

void Ccai_call_unsaved_clear(ccai_call *c)
{
    size_t n = 0;
    Ccai_timer_stop(c->ctx, &c->unsaved_timer);
    for (const Ccai_unsaved *u = c->unsaved; u; u = u->next)
        n++;
    unsaved_pop(c, NULL);
    if (n)
        Ccai_log(&c->log, CCAI_LOG_ERROR,
                 "call %s: %zu sentence(s) of the bot were never stored: the database stayed "
                 "locked until the call was released",
                 c->row.id, n);
}

ccai_status Ccai_call_store_fail(ccai_call *c, ccai_status st)
{
    const char *why = Ccai_store_errmsg(c->eng->store);
    Ccai_err_set(&c->err, "%s", why && *why ? why : ccai_status_str(st));
    Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: %s", c->row.id, Ccai_err_get(&c->err));
    return st;
}

ccai_status Ccai_call_add_message(ccai_call *c, const char *persona, const char *action,
                                  ccai_style style, const char *content, const char *lang,
                                  const char *tool_calls_json, const char *engine, int64_t *ret_seq)
{
    Ccai_store_message m = {
        .persona = persona,
        .action = action,
        .style = ccai_style_str(style),
        .content = content ? content : "",
        .lang = lang ? lang : c->row.lang,
        .tool_calls_json = tool_calls_json,
        .engine = engine,
        .created_at = Ccai_wall_ms(), /* when it was said, also when stored later */
    };
    /* What the bot said is already out: a lock held elsewhere must not lose
     * it. Everything else keeps "stored, then acted on". */
    bool keepable = strcmp(persona, "assistant") == 0 && strcmp(action, "talk") == 0 &&
                    !tool_calls_json && !ret_seq;
    ccai_status st;
    if (keepable && Ccai_timer_active(&c->unsaved_timer)) {
        st = CCAI_ERR_BUSY; /* locked a moment ago: queue it without waiting on the loop */
    } else {
        st = Ccai_call_flush_unsaved(c); /* the kept words come first */
        if (st == CCAI_OK) {
            Ccai_span *sp = Ccai_span_child(c->span, "store_message_append", CCAI_SPAN_CLIENT);
            st = Ccai_store_message_append(c->eng->store, c->row.id, &m, ret_seq);
            Ccai_span_end_st(sp, st);
            /* Said already, sent (pipelined): kept until committed. Out of
             * memory: not kept, as before. */
            Ccai_unsaved *u = NULL;
            if (st == CCAI_OK && keepable && !Ccai_store_writes_durable(c->eng->store) &&
                (u = unsaved_new(&m)) != NULL)
                words_after_sync(c, u);
        }
    }
    if (st == CCAI_ERR_BUSY && keepable) {
        st = unsaved_push(c, &m);
        if (st == CCAI_OK) {
            unsaved_later(c);
            return CCAI_OK;
        }
    }
    return st == CCAI_OK ? st : Ccai_call_store_fail(c, st);
}

ccai_status Ccai_call_keep_said(ccai_call *c, ccai_style style, const char *content,
                                const char *engine)
{
    Ccai_store_message m = {
        .persona = "assistant",
        .action = "talk",
        .style = ccai_style_str(style),
        .content = content ? content : "",
        .lang = c->row.lang,
        .engine = engine,
        .created_at = Ccai_wall_ms(), /* when it was said */
    };
    ccai_status st = unsaved_push(c, &m);
    if (st != CCAI_OK) /* stored now, then */
        return Ccai_call_add_message(c, "assistant", "talk", style, content, NULL, NULL, engine,
                                     NULL);
    if (!Ccai_timer_active(&c->unsaved_timer)) /* else a retry is due: it stores them */
        Ccai_conv_kept(c);
    return CCAI_OK;
}

void Ccai_calls_store_kept(Ccai_engine *e, ccai_call *list)
{
    if (list && !list->kept_next) {
        Ccai_call_store_kept(list);
        return;
    }
    Ccai_store *store = e->store;
    ccai_status st = Ccai_store_begin(store);
    bool began = st == CCAI_OK;
    int64_t calls = 0, rows = 0;
    for (ccai_call *c = list; st == CCAI_OK && c; c = c->kept_next) {
        if (Ccai_timer_active(&c->unsaved_timer))
            continue; /* a retry of its own is due */
        /* Each call's trace shows the commit its words went in. */
        c->kept_span = Ccai_span_child(c->span, "store_commit", CCAI_SPAN_CLIENT);
        calls++;
        for (const Ccai_unsaved *u = c->unsaved; st == CCAI_OK && u; u = u->next) {
            rows++;
            Ccai_store_message m = {
                .persona = "assistant",
                .action = "talk",
                .style = u->style,
                .content = u->content,
                .lang = u->lang,
                .engine = u->engine,
                .created_at = u->created_at,
            };
            st = Ccai_store_message_append(store, c->row.id, &m, NULL);
            if (st == CCAI_ERR_BUSY || st == CCAI_ERR_STORE || st == CCAI_ERR_NOMEM)
                break; /* the database, not the message: all of them later */
            if (st != CCAI_OK)
                Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: a kept sentence is dropped: %s",
                         c->row.id, Ccai_store_errmsg(store));
            st = CCAI_OK;
        }
    }
    if (st == CCAI_OK)
        st = Ccai_store_commit(store);
    for (ccai_call *c = list; c; c = c->kept_next) {
        if (!c->kept_span)
            continue;
        int64_t mine = 0;
        for (const Ccai_unsaved *u = c->unsaved; u; u = u->next)
            mine++;
        Ccai_span_attr_int(c->kept_span, "store.rows", mine);
        Ccai_span_attr_int(c->kept_span, "store.batch_rows", rows);
        Ccai_span_attr_int(c->kept_span, "store.batch_calls", calls);
        Ccai_span_end_st(c->kept_span, st);
        c->kept_span = NULL;
    }
    if (st != CCAI_OK) {
        if (began && Ccai_store_rollback(store) != CCAI_OK)
            Ccai_log(&e->log, CCAI_LOG_ERROR, "kept sentences: rollback: %s",
                     Ccai_store_errmsg(store));
        /* Each call on its own, now or after its retry delay. */
        for (ccai_call *c = list; c; c = c->kept_next) {
            if (!Ccai_timer_active(&c->unsaved_timer))
                Ccai_call_store_kept(c);
        }
        return;
    }
    for (ccai_call *c = list; c; c = c->kept_next) {
        if (Ccai_timer_active(&c->unsaved_timer))
            continue;
        unsaved_pop(c, NULL);
        c->unsaved_tries = 0;
    }
}

void Ccai_call_store_kept(ccai_call *c)
{
    if (!c->unsaved || Ccai_timer_active(&c->unsaved_timer))
        return; /* nothing kept, or waiting for a lock held elsewhere */
    ccai_status st = Ccai_call_flush_unsaved(c);
    if (st == CCAI_ERR_BUSY)
        unsaved_later(c);
    else if (st != CCAI_OK) /* what was said is said: logged, the call goes on */
        CCAI_DISCARD(Ccai_call_store_fail(c, st));
}

/* Persist, then act ------------------------------------------------------------- */

/* An act waiting for the commit of an asynchronous store. */
typedef struct Ccai_pending_act {
    struct Ccai_pending_act *next;
    ccai_call *c; /* NULL once the handle is gone: the act is dropped */
    Ccai_call_act_fn act;
    char *text;
    int64_t num;
    bool always; /* also after a failed commit (Ccai_call_after_writes) */
    bool reload; /* after a conflict, from the stored row (Ccai_call_after_commit_or_reload) */
    Ccai_unsaved *words; /* the bot's words sent: stored again after a conflict (act NULL) */
    Ccai_span *sp;       /* the wait for durability ("store_sync"), NULL when not traced */
} Ccai_pending_act;

static void pending_unlink(Ccai_pending_act *p)
{
    if (!p->c)
        return;
    for (Ccai_pending_act **q = &p->c->pending; *q; q = &(*q)->next) {
        if (*q == p) {
            *q = p->next;
            break;
        }
    }
}

static void on_committed(ccai_status st, void *ud)
{
    Ccai_pending_act *p = ud;
    ccai_call *c = p->c;
    pending_unlink(p);
    Ccai_span_attr_bool(p->sp, "store.call_gone", c == NULL);
    Ccai_span_end_st(p->sp, st);
    if (c && st != CCAI_OK)
        /* Not committed: an act that depended on it is not run (persist,
         * then act); the failure is logged. */
        CCAI_DISCARD(Ccai_call_store_fail(c, st));
    if (c) {
        ccai_ctx *ctx = c->ctx;
        Ccai_ctx_enter(ctx);
        Ccai_call_enter(c);
        bool run = st == CCAI_OK || p->always;
        /* Another writer changed or removed the call: the row is read
         * again now, so that no later write of ours overwrites what it
         * wrote (our copy's row version counted the write that failed). */
        if ((st == CCAI_ERR_CONFLICT || st == CCAI_ERR_NOT_FOUND) &&
            Ccai_call_meet_stored(c) == CCAI_OK && p->reload)
            run = true;
        if (run && p->act)
            p->act(c, p->text, p->num);
        if (p->words && st == CCAI_ERR_CONFLICT && !c->free_pending) {
            /* Said, then rolled back with a stale write of the call: stored
             * again, first, now that the row is the stored one. */
            Ccai_unsaved **tail = &p->words;
            while (*tail)
                tail = &(*tail)->next;
            *tail = c->unsaved;
            if (!c->unsaved)
                c->unsaved_tail = tail;
            c->unsaved = p->words;
            p->words = NULL;
            Ccai_log(&c->log, CCAI_LOG_WARN,
                     "call %s: the bot's words rolled back with the call's writes: stored again",
                     c->row.id);
            if (!Ccai_timer_active(&c->unsaved_timer))
                Ccai_timer_start(c->ctx, &c->unsaved_timer, 0);
        }
        Ccai_call_leave(c);
        Ccai_ctx_leave(ctx);
    }
    for (Ccai_unsaved *u = p->words, *next; u; u = next) {
        next = u->next;
        ccai_free(u);
    }
    ccai_free(p->text);
    ccai_free(p);
}

/* The bot's words sent (pipelined): kept until their commit is told. A
 * conflict (another writer changed the call: their group was rolled back)
 * stores them again; anything else forgets them (committed, or the call
 * gone, or not known: stored twice would be worse). */
static void words_after_sync(ccai_call *c, Ccai_unsaved *sent)
{
    Ccai_pending_act *p = Ccai_calloc(1, sizeof *p);
    if (p) {
        p->c = c;
        p->words = sent;
        p->next = c->pending;
        c->pending = p;
        p->sp = Ccai_span_child(c->span, "store_sync", CCAI_SPAN_CLIENT);
        ccai_status st = Ccai_store_sync_call(c->eng->store, c->row.id, on_committed, p);
        if (st == CCAI_OK)
            return;
        Ccai_span_end_st(p->sp, st);
        pending_unlink(p);
        ccai_free(p);
    }
    for (Ccai_unsaved *u = sent, *next; u; u = next) { /* as before: sent, not watched */
        next = u->next;
        ccai_free(u);
    }
}

static ccai_status after_sync(ccai_call *c, Ccai_call_act_fn act, const char *text, int64_t num,
                              bool always, bool reload)
{
    Ccai_store *store = c->eng->store;
    if (Ccai_store_writes_durable(store)) {
        act(c, text, num);
        return CCAI_OK;
    }
    Ccai_pending_act *p = Ccai_calloc(1, sizeof *p);
    if (!p || (text && !(p->text = Ccai_strdup(text)))) {
        ccai_free(p);
        return CCAI_ERR_NOMEM;
    }
    p->c = c;
    p->act = act;
    p->num = num;
    p->always = always;
    p->reload = reload;
    p->next = c->pending;
    c->pending = p;
    /* From the request to the backend's word that what came before is
     * committed: the time an act waits for durability. */
    p->sp = Ccai_span_child(c->span, "store_sync", CCAI_SPAN_CLIENT);
    ccai_status st = Ccai_store_sync_call(store, c->row.id, on_committed, p);
    if (st != CCAI_OK) {
        Ccai_span_end_st(p->sp, st);
        pending_unlink(p);
        ccai_free(p->text);
        ccai_free(p);
    }
    return st;
}

ccai_status Ccai_call_after_commit(ccai_call *c, Ccai_call_act_fn act, const char *text,
                                   int64_t num)
{
    return after_sync(c, act, text, num, false, false);
}

ccai_status Ccai_call_after_commit_or_reload(ccai_call *c, Ccai_call_act_fn act, const char *text,
                                             int64_t num)
{
    return after_sync(c, act, text, num, false, true);
}

ccai_status Ccai_call_after_writes(ccai_call *c, Ccai_call_act_fn act, const char *text,
                                   int64_t num)
{
    return after_sync(c, act, text, num, true, false);
}

/* The handle goes: acts still waiting for a commit are dropped. */
void Ccai_call_pending_drop(ccai_call *c)
{
    for (Ccai_pending_act *p = c->pending; p; p = p->next)
        p->c = NULL;
    c->pending = NULL;
}
