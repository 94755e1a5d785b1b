/* The embeddings client (rag/embed.h). */
#include "rag/embed.h"

#include "config/config.h"
#include "core/json.h"
#include "io/restop.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

struct Ccai_embedder {
    ccai_ctx *ctx;
    const Ccai_logger *log;
    Ccai_rest_client rest;
    bool azure;
    char *url;
    char *auth; /* "Authorization: Bearer ..." or "api-key: ..." */
    char *model;
    char *store_model; /* Ccai_embedder_model() */
    int64_t dims;      /* asked for; 0: the model's */
    size_t batch;
};

struct Ccai_embed_op {
    Ccai_rest_op base; /* first: restop's */
    Ccai_embedder *e;
    char *body;
    size_t n;
    Ccai_embed_fn fn;
    void *ud;
};

static const char *cfg_or(const ccai_config *cfg, const char *key, const char *fallback_key)
{
    const char *v = Ccai_config_str(cfg, key);
    if ((!v || !*v) && fallback_key)
        v = Ccai_config_str(cfg, fallback_key);
    return v && *v ? v : NULL;
}

static bool ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

ccai_status Ccai_embedder_new(ccai_ctx *ctx, const ccai_config *cfg, const Ccai_logger *log,
                              Ccai_embedder **ret, char **ret_errmsg)
{
    const char *mode = Ccai_config_str(cfg, "documents.embeddings.mode");
    if (!mode || strcmp(mode, "none") == 0)
        return CCAI_ERR_NOT_FOUND;
    const char *ep = cfg_or(cfg, "documents.embeddings.endpoint", "llm.fast.endpoint");
    const char *key = cfg_or(cfg, "documents.embeddings.api_key", "llm.fast.api_key");
    const char *model = cfg_or(cfg, "documents.embeddings.model", NULL);
    if (!ep || !model) {
        if (ret_errmsg)
            *ret_errmsg = Ccai_strdup("documents.embeddings: an endpoint (or llm.fast.endpoint) "
                                      "and a model are required");
        return CCAI_ERR_CONFIG;
    }
    Ccai_embedder *e = Ccai_calloc(1, sizeof *e);
    if (!e)
        return CCAI_ERR_NOMEM;
    e->ctx = ctx;
    e->log = log;
    e->azure = strcmp(mode, "azure_openai") == 0;
    e->dims = Ccai_config_int(cfg, "documents.embeddings.dimensions", 0);
    e->batch = (size_t)Ccai_config_int(cfg, "documents.embeddings.batch", 16);
    e->rest = (Ccai_rest_client){
        .ctx = ctx,
        .max_attempts = 1 + (int)Ccai_config_int(cfg, "documents.embeddings.retries", 2),
        .base_backoff_ms = 500,
        .max_backoff_ms = 8000,
        .timeout_ms = (uint32_t)Ccai_config_int(cfg, "documents.embeddings.timeout_ms", 10000),
    };
    size_t n = strlen(ep);
    while (n > 0 && ep[n - 1] == '/')
        n--;
    if (e->azure) {
        const char *dep = cfg_or(cfg, "documents.embeddings.deployment", NULL);
        const char *ver = cfg_or(cfg, "documents.embeddings.api_version", NULL);
        e->url = ends_with(ep, n, "/embeddings") || strstr(ep, "/embeddings?")
                     ? Ccai_strdup(ep)
                     : Ccai_asprintf("%.*s/openai/deployments/%s/embeddings?api-version=%s", (int)n,
                                     ep, dep ? dep : model, ver ? ver : "2024-10-21");
        e->auth = key ? Ccai_asprintf("api-key: %s", key) : Ccai_strdup("");
    } else {
        e->url = ends_with(ep, n, "/embeddings") ? Ccai_strndup(ep, n)
                                                 : Ccai_asprintf("%.*s/embeddings", (int)n, ep);
        e->auth = key ? Ccai_asprintf("Authorization: Bearer %s", key) : Ccai_strdup("");
    }
    e->model = Ccai_strdup(model);
    e->store_model =
        e->dims > 0 ? Ccai_asprintf("%s@%lld", model, (long long)e->dims) : Ccai_strdup(model);
    if (!e->url || !e->auth || !e->model || !e->store_model) {
        Ccai_embedder_free(e);
        return CCAI_ERR_NOMEM;
    }
    *ret = e;
    return CCAI_OK;
}

void Ccai_embedder_free(Ccai_embedder *e)
{
    if (!e)
        return;
    Ccai_rest_client_cancel_all(&e->rest);
    ccai_free(e->url);
    ccai_free(e->auth);
    ccai_free(e->model);
    ccai_free(e->store_model);
    ccai_free(e);
}

const char *Ccai_embedder_model(const Ccai_embedder *e)
{
    return e->store_model;
}

size_t Ccai_embedder_batch(const Ccai_embedder *e)
{
    return e->batch;
}

const char *Ccai_embedder_url(const Ccai_embedder *e)
{
    return e->url;
}

/* The reply ----------------------------------------------------------------- */

ccai_status Ccai_embed_parse(const char *body, size_t len, size_t n, float **ret_v,
                             size_t *ret_dims, const char **ret_why)
{
    Ccai_json_err jerr;
    ccai_status jst = CCAI_OK;
    json_t *json = Ccai_json_load(body, len, &jerr, &jst);
    if (!json) {
        *ret_why = "the reply is not JSON";
        return jst == CCAI_ERR_NOMEM ? CCAI_ERR_NOMEM : CCAI_ERR_PARSE;
    }
    const json_t *data = json_object_get(json, "data");
    ccai_status st = CCAI_ERR_PARSE;
    float *v = NULL;
    bool *seen = NULL;
    size_t dims = 0;
    if (!json_is_array(data) || json_array_size(data) != n || n == 0) {
        *ret_why = "the reply's data holds another number of vectors";
        goto out;
    }
    seen = Ccai_calloc(n, sizeof *seen);
    if (!seen) {
        st = CCAI_ERR_NOMEM;
        goto out;
    }
    size_t i;
    const json_t *item;
    json_array_foreach(data, i, item)
    {
        const json_t *idx = json_object_get(item, "index");
        const json_t *emb = json_object_get(item, "embedding");
        if (!json_is_integer(idx) || json_integer_value(idx) < 0 ||
            (uint64_t)json_integer_value(idx) >= n || seen[json_integer_value(idx)]) {
            *ret_why = "a vector's index is missing, out of range or repeated";
            goto out;
        }
        if (!json_is_array(emb) || json_array_size(emb) == 0 ||
            json_array_size(emb) > CCAI_EMBED_MAX_DIMS || (dims && json_array_size(emb) != dims)) {
            *ret_why = json_is_string(emb) ? "a vector is base64: ask for floats"
                                           : "a vector is no list of floats of one size";
            goto out;
        }
        if (!dims) {
            dims = json_array_size(emb);
            v = Ccai_calloc(n * dims, sizeof *v);
            if (!v) {
                st = CCAI_ERR_NOMEM;
                goto out;
            }
        }
        size_t at = (size_t)json_integer_value(idx);
        seen[at] = true;
        size_t k;
        const json_t *x;
        json_array_foreach(emb, k, x)
        {
            double d = json_number_value(x);
            if (!json_is_number(x) || !isfinite(d) || fabs(d) > 1e30) {
                *ret_why = "a vector holds something that is not a finite number";
                goto out;
            }
            v[at * dims + k] = (float)d;
        }
    }
    *ret_v = v;
    *ret_dims = dims;
    v = NULL;
    st = CCAI_OK;
out:
    ccai_free(v);
    ccai_free(seen);
    json_decref(json);
    return st;
}

/* Operations ---------------------------------------------------------------- */

typedef struct outcome {
    ccai_status st;
    const float *v;
    size_t dims;
    const char *errmsg;
} outcome;

static void deliver(Ccai_rest_op *base, void *arg)
{
    Ccai_embed_op *op = (Ccai_embed_op *)base;
    outcome *o = arg;
    op->fn(o->st, o->v, o->st == CCAI_OK ? op->n : 0, o->dims, o->errmsg, op->ud);
}

static void op_free(Ccai_rest_op *base)
{
    Ccai_embed_op *op = (Ccai_embed_op *)base;
    ccai_free(op->body);
    ccai_free(op);
}

static void success(Ccai_rest_op *base, long status, const char *body, size_t len)
{
    CCAI_UNUSED(status);
    Ccai_embed_op *op = (Ccai_embed_op *)base;
    float *v = NULL;
    size_t dims = 0;
    const char *why = "out of memory";
    outcome o = {Ccai_embed_parse(body, len, op->n, &v, &dims, &why), NULL, 0, NULL};
    char *msg = NULL;
    if (o.st == CCAI_OK && op->e->dims > 0 && dims != (size_t)op->e->dims) {
        o.st = CCAI_ERR_PARSE;
        why = "the vectors have other dimensions than asked for";
    }
    if (o.st == CCAI_OK) {
        o.v = v;
        o.dims = dims;
    } else {
        msg = Ccai_asprintf("embeddings: %s", why);
        o.errmsg = msg ? msg : "embeddings: a bad reply";
    }
    Ccai_rest_op_complete(base, deliver, &o);
    ccai_free(v);
    ccai_free(msg);
}

static char *error_text(Ccai_rest_op *base, long status, const char *body, size_t len)
{
    CCAI_UNUSED(base);
    Ccai_json_err jerr;
    ccai_status jst;
    json_t *json = len ? Ccai_json_load(body, len, &jerr, &jst) : NULL;
    const char *text =
        json_string_value(json_object_get(json_object_get(json, "error"), "message"));
    char *excerpt = !text && len ? Ccai_printable_excerpt(body, len, 200) : NULL;
    char *msg = Ccai_asprintf("embeddings: HTTP %ld: %s", status,
                              text      ? text
                              : excerpt ? excerpt
                                        : "no error text");
    ccai_free(excerpt);
    json_decref(json);
    return msg;
}

static void failure(Ccai_rest_op *base, ccai_status st, long status, const char *body, size_t len,
                    const char *message)
{
    CCAI_UNUSED(status);
    CCAI_UNUSED(body);
    CCAI_UNUSED(len);
    outcome o = {st, NULL, 0, message};
    Ccai_rest_op_complete(base, deliver, &o);
}

static CCAI_MUST_CHECK ccai_status send_attempt(Ccai_rest_op *base)
{
    Ccai_embed_op *op = (Ccai_embed_op *)base;
    const char *headers[] = {
        op->e->auth,
        "Content-Type: application/json",
        "Accept: application/json",
        NULL,
    };
    Ccai_http_opts o = {
        .method = "POST",
        .url = op->e->url,
        .headers = *op->e->auth ? headers : headers + 1,
        .body = op->body,
        .body_len = strlen(op->body),
        .body_borrowed = true,
    };
    return Ccai_rest_op_http(&op->base, &o);
}

static const Ccai_rest_class embed_ops = {
    .tag = "embeddings",
    .send = send_attempt,
    .success = success,
    .error_text = error_text,
    .failure = failure,
    .free = op_free,
};

/* A text cut to at most CCAI_EMBED_MAX_TEXT bytes, at a character's start. */
static json_t *text_value(const char *s)
{
    size_t n = strlen(s);
    if (n > CCAI_EMBED_MAX_TEXT) {
        n = CCAI_EMBED_MAX_TEXT;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    return json_stringn(s, n);
}

ccai_status Ccai_embed_start(Ccai_embedder *e, const char *const *texts, size_t n, Ccai_embed_fn fn,
                             void *ud, Ccai_embed_op **ret)
{
    if (!e || !texts || n == 0 || n > CCAI_EMBED_MAX_BATCH || !fn)
        return CCAI_ERR_INVALID_ARG;
    json_t *input = json_array();
    for (size_t i = 0; input && i < n; i++) {
        json_t *t = texts[i] ? text_value(texts[i]) : NULL;
        if (!t || json_array_append_new(input, t)) {
            json_decref(input);
            return texts[i] ? CCAI_ERR_NOMEM : CCAI_ERR_INVALID_ARG;
        }
    }
    json_t *req = input ? json_pack("{s:o, s:s, s:s}", "input", input, "model", e->model,
                                    "encoding_format", "float")
                        : NULL;
    if (req && e->dims > 0 && json_object_set_new(req, "dimensions", json_integer(e->dims))) {
        json_decref(req);
        req = NULL;
    }
    char *body = req ? Ccai_json_dump(req, JSON_COMPACT) : NULL;
    json_decref(req);
    Ccai_embed_op *op = body ? Ccai_calloc(1, sizeof *op) : NULL;
    if (!op) {
        ccai_free(body);
        return CCAI_ERR_NOMEM;
    }
    op->e = e;
    op->body = body;
    op->n = n;
    op->fn = fn;
    op->ud = ud;
    /* Embeddings change nothing: a request lost in transit is sent again. */
    ccai_status st = Ccai_rest_op_start(&e->rest, &op->base, &embed_ops, true);
    if (st == CCAI_OK && ret)
        *ret = op;
    return st;
}

void Ccai_embed_cancel(Ccai_embed_op *op)
{
    Ccai_rest_op_cancel(op ? &op->base : NULL);
}
