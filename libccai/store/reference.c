/* The reference's (call-center-ai v9) SQLite database, read for import:
 * its table of calls holds each call whole as JSON (calls(id, data)). Read
 * only, never written. */
#include "store/store.h"

#include <sqlite3.h>
#include <string.h>

ccai_status Ccai_store_reference_rows(const char *path, const char *table,
                                      Ccai_store_reference_fn fn, void *ud, char **ret_error)
{
    *ret_error = NULL;
    size_t tlen = strlen(table);
    bool ident = tlen > 0 && tlen <= 64;
    for (size_t i = 0; ident && i < tlen; i++)
        ident = Ccai_is_alpha((unsigned char)table[i]) || Ccai_is_digit((unsigned char)table[i]) ||
                table[i] == '_';
    if (!ident) {
        *ret_error = Ccai_asprintf("table name \"%.64s\" is not an identifier", table);
        return *ret_error ? CCAI_ERR_INVALID_ARG : CCAI_ERR_NOMEM;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    ccai_status st = CCAI_OK;
    char *sql = Ccai_asprintf("SELECT data FROM \"%s\" ORDER BY rowid", table);
    if (!sql)
        return CCAI_ERR_NOMEM;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        *ret_error = Ccai_asprintf("%s: %s", path, db ? sqlite3_errmsg(db) : "cannot open");
        st = CCAI_ERR_STORE;
    }
    size_t index = 0;
    int rc = SQLITE_DONE;
    while (st == CCAI_OK && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *data = (const char *)sqlite3_column_text(stmt, 0);
        size_t len = (size_t)sqlite3_column_bytes(stmt, 0);
        if (fn(++index, data ? data : "", data ? len : 0, ud))
            break;
    }
    if (st == CCAI_OK && rc != SQLITE_ROW && rc != SQLITE_DONE) {
        *ret_error = Ccai_asprintf("%s: %s", path, sqlite3_errmsg(db));
        st = CCAI_ERR_STORE;
    }
    if (st != CCAI_OK && !*ret_error)
        st = CCAI_ERR_NOMEM;
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    ccai_free(sql);
    return st;
}
