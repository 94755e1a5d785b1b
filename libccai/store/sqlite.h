/* The SQLite backend of the store interface (store/sqlite.c). */
#ifndef CCAI_STORE_SQLITE_H
#define CCAI_STORE_SQLITE_H

#include "store/store.h"

/* database.mode "sqlite": opens database.sqlite.path as configured. */
extern const Ccai_store_backend Ccai_sqlite_backend;

/* Open (creating if needed) and migrate the file at path. ":memory:"
 * gives a private in-memory database. On failure *ret_errmsg (may be NULL)
 * says why. */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_open(const char *path, Ccai_store **ret, char **ret_errmsg);
/* Busy timeout and durability (sync_full: an fsync per commit, surviving a
 * power loss; else a commit survives a crash of the process). Opened stores
 * start with sync_full and a 5 s busy timeout (opening and migrating may
 * wait for another process); a store used on an event loop is configured
 * with a short one (database.sqlite.busy_timeout_ms): a write blocks the loop
 * at most that long, then fails with CCAI_ERR_BUSY. CCAI_ERR_INVALID_ARG
 * for a store of another backend. */
CCAI_MUST_CHECK ccai_status Ccai_sqlite_configure(Ccai_store *st, int busy_timeout_ms,
                                                  bool sync_full);

#endif
