/* The documents store's dispatch (store/docs.h): each function calls its
 * backend's. */
#include "store/docs.h"

#include <string.h>

static const Ccai_docstore_backend *const backends[] = {&Ccai_sqlite_docs_backend,
                                                        &Ccai_pg_docs_backend};

ccai_status Ccai_docstore_open(Ccai_store *st, Ccai_docstore **ret, char **ret_errmsg)
{
    if (!st || !ret)
        return CCAI_ERR_INVALID_ARG;
    const char *name = Ccai_store_backend_name(st);
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(backends); i++) {
        if (strcmp(backends[i]->name, name) == 0)
            return backends[i]->open(st, ret, ret_errmsg);
    }
    if (ret_errmsg)
        *ret_errmsg = Ccai_asprintf("documents: no documents store for database.mode %s", name);
    return CCAI_ERR_UNSUPPORTED;
}

void Ccai_docstore_close(Ccai_docstore *ds)
{
    if (ds)
        ds->backend->close(ds);
}

const char *Ccai_docstore_errmsg(const Ccai_docstore *ds)
{
    return ds ? ds->backend->errmsg(ds) : "";
}

ccai_status Ccai_docstore_source_hash(Ccai_docstore *ds, const char *path, char **ret)
{
    if (!ds || !path || !ret)
        return CCAI_ERR_INVALID_ARG;
    return ds->backend->source_hash(ds, path, ret);
}

ccai_status Ccai_docstore_put(Ccai_docstore *ds, const Ccai_docstore_source *src,
                              const Ccai_docstore_chunk *chunks, size_t n)
{
    if (!ds || !src || !src->path || !src->lang || !src->format || !src->hash || (n && !chunks))
        return CCAI_ERR_INVALID_ARG;
    return ds->backend->put(ds, src, chunks, n);
}

ccai_status Ccai_docstore_remove(Ccai_docstore *ds, const char *path, int64_t *ret_chunks)
{
    if (!ds || !path)
        return CCAI_ERR_INVALID_ARG;
    return ds->backend->remove(ds, path, ret_chunks);
}

ccai_status Ccai_docstore_list(Ccai_docstore *ds, const char *model, Ccai_docstore_source_fn fn,
                               void *ud)
{
    if (!ds || !fn)
        return CCAI_ERR_INVALID_ARG;
    return ds->backend->list(ds, model, fn, ud);
}

ccai_status Ccai_docstore_count(Ccai_docstore *ds, const char *lang, int64_t *ret)
{
    if (!ds || !ret)
        return CCAI_ERR_INVALID_ARG;
    return ds->backend->count(ds, lang, ret);
}

ccai_status Ccai_docstore_generation(Ccai_docstore *ds, int64_t *ret)
{
    if (!ds || !ret)
        return CCAI_ERR_INVALID_ARG;
    return ds->backend->generation(ds, ret);
}

ccai_status Ccai_docstore_match(Ccai_docstore *ds, const char *match, const char *lang,
                                size_t limit, Ccai_docstore_hit_fn fn, void *ud)
{
    if (!ds || !match || !fn)
        return CCAI_ERR_INVALID_ARG;
    return ds->backend->match(ds, match, lang, limit, fn, ud);
}

ccai_status Ccai_docstore_chunk_get(Ccai_docstore *ds, int64_t id, Ccai_docstore_hit_fn fn,
                                    void *ud)
{
    if (!ds || !fn)
        return CCAI_ERR_INVALID_ARG;
    return ds->backend->chunk_get(ds, id, fn, ud);
}

ccai_status Ccai_docstore_unembedded(Ccai_docstore *ds, const char *model, size_t limit,
                                     Ccai_docstore_hit_fn fn, void *ud)
{
    if (!ds || !model || !fn)
        return CCAI_ERR_INVALID_ARG;
    return ds->backend->unembedded(ds, model, limit, fn, ud);
}

ccai_status Ccai_docstore_vector_put(Ccai_docstore *ds, int64_t id, const char *model,
                                     const float *v, size_t dims)
{
    if (!ds || !model || !v || dims == 0)
        return CCAI_ERR_INVALID_ARG;
    return ds->backend->vector_put(ds, id, model, v, dims);
}

ccai_status Ccai_docstore_vectors(Ccai_docstore *ds, const char *model, const char *lang,
                                  Ccai_docstore_vector_fn fn, void *ud)
{
    if (!ds || !model || !fn)
        return CCAI_ERR_INVALID_ARG;
    return ds->backend->vectors(ds, model, lang, fn, ud);
}

ccai_status Ccai_docstore_kv_get(Ccai_docstore *ds, const char *key, int64_t now, char **ret,
                                 size_t *ret_len)
{
    if (!ds || !key || !ret || !ret_len)
        return CCAI_ERR_INVALID_ARG;
    return ds->backend->kv_get(ds, key, now, ret, ret_len);
}

ccai_status Ccai_docstore_kv_put(Ccai_docstore *ds, const char *key, const char *value, size_t len,
                                 int64_t expires_at)
{
    if (!ds || !key || (!value && len))
        return CCAI_ERR_INVALID_ARG;
    return ds->backend->kv_put(ds, key, value ? value : "", len, expires_at);
}

ccai_status Ccai_docstore_kv_purge(Ccai_docstore *ds, int64_t now, int64_t *ret_n)
{
    if (!ds)
        return CCAI_ERR_INVALID_ARG;
    return ds->backend->kv_purge(ds, now, ret_n);
}
