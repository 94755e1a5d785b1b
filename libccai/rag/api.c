/* The public documents API (ccai_ctx_docs_*, <ccai/ccai.h>) on the
 * context's documents (rag/rag.h). */
#include "core/json.h"
#include "io/io.h"
#include "rag/rag.h"
#include "store/store.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The JSON text of doc (taken) into *ret_json. */
static CCAI_MUST_CHECK ccai_status json_out(json_t *doc, char **ret_json)
{
    char *text = Ccai_json_dump(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text)
        return CCAI_ERR_NOMEM;
    *ret_json = text;
    return CCAI_OK;
}

/* A blocking operation's answer, once its writes are committed (SQLite's
 * group commit would commit them at the end of the loop's turn). */
static CCAI_MUST_CHECK ccai_status committed(ccai_ctx *ctx, json_t *doc, char **ret_json)
{
    Ccai_store *store = Ccai_ctx_store(ctx);
    ccai_status st = Ccai_store_commit_now(store);
    if (st != CCAI_OK) {
        json_decref(doc);
        Ccai_ctx_set_error(ctx, "documents: not committed: %s", Ccai_store_errmsg(store));
        return st;
    }
    return json_out(doc, ret_json);
}

static ccai_status failed(ccai_ctx *ctx, ccai_status st)
{
    const char *msg = Ccai_rag_errmsg(Ccai_ctx_rag(ctx));
    Ccai_ctx_set_error(ctx, "%s", *msg ? msg : ccai_status_str(st));
    return st;
}

/* The whole file at path, at most limit bytes. */
static CCAI_MUST_CHECK ccai_status read_file(ccai_ctx *ctx, const char *path, size_t limit,
                                             char **ret, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        Ccai_ctx_set_error(ctx, "documents: %s: %s", path, strerror(errno));
        return CCAI_ERR_IO;
    }
    Ccai_buf b = {0};
    char chunk[65536];
    size_t n;
    ccai_status st = CCAI_OK;
    while (st == CCAI_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > limit) {
            Ccai_ctx_set_error(ctx, "documents: %s: larger than %zu bytes", path, limit);
            st = CCAI_ERR_LIMIT;
        } else if (!Ccai_buf_append(&b, chunk, n)) {
            st = CCAI_ERR_NOMEM;
        }
    }
    if (st == CCAI_OK && ferror(f)) {
        Ccai_ctx_set_error(ctx, "documents: %s: read error", path);
        st = CCAI_ERR_IO;
    }
    fclose(f);
    if (st != CCAI_OK) {
        Ccai_buf_free(&b);
        return st;
    }
    *ret_len = b.len;
    *ret = b.data ? b.data : Ccai_strdup("");
    return *ret ? CCAI_OK : CCAI_ERR_NOMEM;
}

CCAI_EXPORT ccai_status ccai_ctx_docs_import(ccai_ctx *ctx, const char *path, const char *lang,
                                             char **ret_json)
{
    if (!ctx || !path || !*path || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    char abs[PATH_MAX];
    if (!realpath(path, abs)) {
        Ccai_ctx_set_error(ctx, "documents: %s: %s", path, strerror(errno));
        return CCAI_ERR_IO;
    }
    char *data = NULL;
    size_t len = 0;
    ccai_status st = read_file(ctx, abs, 16u * 1024u * 1024u, &data, &len);
    if (st != CCAI_OK)
        return st;
    json_t *doc = NULL;
    st = Ccai_rag_import(Ccai_ctx_rag(ctx), abs, data, len, lang, &doc);
    ccai_free(data);
    if (st != CCAI_OK)
        return failed(ctx, st);
    return committed(ctx, doc, ret_json);
}

CCAI_EXPORT ccai_status ccai_ctx_docs_remove(ccai_ctx *ctx, const char *path, char **ret_json)
{
    if (!ctx || !path || !*path || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    char abs[PATH_MAX];
    /* A file that is gone is removed by the path it was imported under. */
    const char *key = realpath(path, abs) ? abs : path;
    json_t *doc = NULL;
    ccai_status st = Ccai_rag_remove(Ccai_ctx_rag(ctx), key, &doc);
    if (st != CCAI_OK)
        return failed(ctx, st);
    return committed(ctx, doc, ret_json);
}

CCAI_EXPORT ccai_status ccai_ctx_docs_list_json(ccai_ctx *ctx, char **ret_json)
{
    if (!ctx || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    json_t *doc = NULL;
    ccai_status st = Ccai_rag_list(Ccai_ctx_rag(ctx), &doc);
    if (st != CCAI_OK)
        return failed(ctx, st);
    return json_out(doc, ret_json);
}

CCAI_EXPORT ccai_status ccai_ctx_docs_embed(ccai_ctx *ctx, ccai_docs_done_fn done, void *ud)
{
    if (!ctx)
        return CCAI_ERR_INVALID_ARG;
    ccai_status st = Ccai_rag_api_embed(Ccai_ctx_rag(ctx), done, ud);
    return st == CCAI_OK ? st : failed(ctx, st);
}

CCAI_EXPORT ccai_status ccai_ctx_docs_search(ccai_ctx *ctx, const char *query, const char *lang,
                                             size_t limit, ccai_docs_done_fn done, void *ud)
{
    if (!ctx || !query || !done)
        return CCAI_ERR_INVALID_ARG;
    ccai_status st = Ccai_rag_api_search(Ccai_ctx_rag(ctx), query, lang, limit, done, ud);
    return st == CCAI_OK ? st : failed(ctx, st);
}
