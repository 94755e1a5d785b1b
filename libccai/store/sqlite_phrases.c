/* Translated phrase sets (engine/phrases.c): one row per language and
 * English set. */
#include "store/sqlite_private.h"

#include <string.h>

CCAI_MUST_CHECK ccai_status Ccai_sqlite_phrases_get(Ccai_store *store, const char *lang,
                                                    const char *source_hash, char **ret_json)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    static const char op[] = "read phrase translation";
    if (!st || !lang || !source_hash || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    ccai_status status = Ccai_sqlite_op_begin(st, op, false);
    if (status != CCAI_OK)
        return status;
    sqlite3_stmt *s = NULL;
    char *json = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT phrases FROM phrase_translations WHERE lang = ?1 AND "
                           "source_hash = ?2",
                           -1, &s, NULL) != SQLITE_OK ||
        Ccai_sqlite_bind_text(s, 1, lang) || Ccai_sqlite_bind_text(s, 2, source_hash)) {
        status = Ccai_sqlite_db_fail(st, op);
    } else {
        int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) {
            status = Ccai_sqlite_fail(st, CCAI_ERR_NOT_FOUND, "store: no phrases in %s", lang);
        } else if (rc != SQLITE_ROW) {
            status = Ccai_sqlite_db_fail(st, op);
        } else {
            const unsigned char *t = sqlite3_column_text(s, 0);
            json = t ? Ccai_strdup((const char *)t) : NULL;
            if (!json)
                status = Ccai_sqlite_fail_nomem(st, op);
        }
    }
    sqlite3_finalize(s);
    status = Ccai_sqlite_op_end(st, op, status);
    if (status == CCAI_OK)
        *ret_json = json;
    else
        ccai_free(json);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_sqlite_phrases_put(Ccai_store *store, const char *lang,
                                                    const char *source_hash,
                                                    const char *phrases_json, const char *model)
{
    Ccai_sqlite *st = Ccai_sqlite_of(store);
    static const char op[] = "store phrase translation";
    if (!st || !lang || !source_hash || !phrases_json)
        return CCAI_ERR_INVALID_ARG;
    if (!Ccai_sqlite_utf8_ok(phrases_json) || !Ccai_sqlite_utf8_ok(lang) ||
        !Ccai_sqlite_utf8_ok(model))
        return Ccai_sqlite_fail(st, CCAI_ERR_INVALID_ARG, "store: %s: text is not valid UTF-8", op);
    ccai_status status = Ccai_sqlite_op_begin(st, op, true);
    if (status != CCAI_OK)
        return status;
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO phrase_translations (lang, source_hash, phrases, model, "
                           "created_at) VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (lang, "
                           "source_hash) DO UPDATE SET phrases = excluded.phrases, model = "
                           "excluded.model, created_at = excluded.created_at",
                           -1, &s, NULL) != SQLITE_OK ||
        Ccai_sqlite_bind_text(s, 1, lang) || Ccai_sqlite_bind_text(s, 2, source_hash) ||
        Ccai_sqlite_bind_text(s, 3, phrases_json) || Ccai_sqlite_bind_text(s, 4, model) ||
        Ccai_sqlite_bind_int(s, 5, Ccai_wall_ms()) || sqlite3_step(s) != SQLITE_DONE)
        status = Ccai_sqlite_db_fail(st, op);
    sqlite3_finalize(s);
    return Ccai_sqlite_op_end(st, op, status);
}
