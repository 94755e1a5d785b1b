/* The PostgreSQL backend of the store interface (store/pg.c). */
#ifndef CCAI_STORE_PG_H
#define CCAI_STORE_PG_H

#include "store/store.h"

/* database.mode "postgresql": connects to database.postgresql.dsn as
 * configured. */
extern const Ccai_store_backend Ccai_pg_backend;
/* The same, its writes pipelined on a loop (Ccai_pg_pipeline()). */
extern const Ccai_store_backend Ccai_pg_pipelined_backend;
/* Whether st is a PostgreSQL store (either table). */
CCAI_MUST_CHECK bool Ccai_pg_is(const Ccai_store *st);

/* Pipeline st's writes on ctx's loop (store.h, "persist, then act"): from
 * now on a write returns once it is sent (its failures come back through
 * Ccai_store_sync()), and Ccai_store_writes_durable(st) is false. The
 * socket is watched with the context's fd hooks, the completions fire from
 * its timers. Writes inside an explicit transaction, and the writes whose
 * result the caller needs (an id, a seq), still wait for their answer;
 * so do reads, after every write sent before them is answered.
 * docs/deployment.md says what that costs. ctx outlives st.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (not a PostgreSQL store, already
 * pipelined, a transaction open); the connection's (CCAI_ERR_STORE). */
CCAI_MUST_CHECK ccai_status Ccai_pg_pipeline(Ccai_store *st, ccai_ctx *ctx);

/* Connect to the database dsn names (a libpq connection string or URI,
 * secret: never logged nor shown) and migrate its schema, waiting at most
 * connect_timeout_ms for the connection and statement_timeout_ms (> 0) for
 * each statement. The documents store (store/docs.h) lives in the same
 * database (store/pg_docs.c). On failure *ret_errmsg (may be NULL) says
 * why. */
CCAI_MUST_CHECK ccai_status Ccai_pg_open(const char *dsn, int connect_timeout_ms,
                                         int statement_timeout_ms, Ccai_store **ret,
                                         char **ret_errmsg);
/* The same, on a thread that must be able to stop waiting at once: while
 * wake_fd (>= 0, not owned) is readable, every wait of the handle for the
 * server (connecting, an answer) gives up at once, the connection dropped
 * (CCAI_ERR_STORE). */
CCAI_MUST_CHECK ccai_status Ccai_pg_open_wakeable(const char *dsn, int connect_timeout_ms,
                                                  int statement_timeout_ms, int wake_fd,
                                                  Ccai_store **ret, char **ret_errmsg);

/* JSON text as PostgreSQL prints a jsonb value ({"a": 1, "b": [1, 2]})
 * made compact as the writers send it ({"a":1,"b":[1,2]}): the blanks
 * outside strings are dropped, strings are copied as they are. At most
 * len bytes of in are read (a NUL ends it earlier); out holds len + 1
 * bytes. Returns the length written. */
size_t Ccai_pg_json_compact(const char *in, size_t len, char *out);

#endif
