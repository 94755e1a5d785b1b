/* Calls exported from the reference system (call-center-ai): its call
 * documents (CallStateModel: call_id, created_at, initiate, claim,
 * messages, next, synthesis, reminders, ...) read into the store
 * (ccai_ctx_calls_import(), ccai-cli import). The reading is sans-I/O:
 * bytes in, checked records out (tests/fuzz/fuzz_import.c). */
#ifndef CCAI_ENGINE_IMPORT_H
#define CCAI_ENGINE_IMPORT_H

#include "store/store.h"

#include <jansson.h>

/* The largest export read, and calls, messages and reminders at most. */
#define CCAI_IMPORT_MAX_BYTES     (256u * 1024u * 1024u)
#define CCAI_IMPORT_MAX_RECORDS   1000000u
#define CCAI_IMPORT_MAX_MESSAGES  100000u
#define CCAI_IMPORT_MAX_REMINDERS 1000u

/* One record of an export. @index counts from 1 (an array's element, a
 * line of JSON lines); @rec is the document, or NULL with @error saying
 * why the record is not one. Non-zero stops the reading. */
typedef int (*Ccai_import_record_fn)(size_t index, const json_t *rec, const char *error, void *ud);

/* The records of an export: one call document, an array of them, an
 * object with a "calls" array (GET /call), or JSON lines. CCAI_ERR_PARSE
 * (*ret_error says why) when the text is none of these; a record that is
 * not JSON in JSON lines is given to @fn with its error and the reading
 * goes on. */
CCAI_MUST_CHECK ccai_status Ccai_import_parse(const char *data, size_t len,
                                              Ccai_import_record_fn fn, void *ud, char **ret_error);

/* A record checked and converted: the call's row (callback_secret left
 * NULL), its messages and reminders (borrowed from the record, checked). */
typedef struct Ccai_import_call {
    Ccai_store_call row;
    const json_t *messages;  /* array of objects, checked */
    const json_t *reminders; /* array of objects, checked */
} Ccai_import_call;

/* CCAI_ERR_VALIDATION with *ret_error (allocated) naming the first field
 * that is wrong; CCAI_ERR_NOMEM. Clear @out with Ccai_import_call_clear()
 * whatever the status. */
CCAI_MUST_CHECK ccai_status Ccai_import_convert(const json_t *rec, Ccai_import_call *out,
                                                char **ret_error);
void Ccai_import_call_clear(Ccai_import_call *c);

/* A time of the reference (ISO 8601, "2024-07-15T12:43:05.123456Z",
 * "+02:00", or no zone: UTC) in wall ms; false when it is not one. */
CCAI_MUST_CHECK bool Ccai_import_time(const char *s, int64_t *ret_ms);

struct Ccai_engine;
/* Read an export (Ccai_import_parse()) into the engine's store: each call
 * new to the store inserted with its messages and reminders in one
 * transaction, each call already there left alone, each bad record
 * reported. *ret: {"imported": n, "unchanged": n, "failed": n, "errors":
 * [{"record": i, "call_id"?: id, "error": why}] (at most 100)}.
 * CCAI_ERR_PARSE / CCAI_ERR_LIMIT when the text is no export (the
 * context's error says why); CCAI_ERR_STORE when the store failed. */
CCAI_MUST_CHECK ccai_status Ccai_engine_calls_import(struct Ccai_engine *e, const char *data,
                                                     size_t len, json_t **ret);
/* The same from the reference's v9 SQLite database at @path (its table
 * reference.sqlite.table, one call document per row's data). */
CCAI_MUST_CHECK ccai_status Ccai_engine_calls_import_sqlite(struct Ccai_engine *e, const char *path,
                                                            json_t **ret);

#endif
