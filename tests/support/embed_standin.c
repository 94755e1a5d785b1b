/* The embeddings stand-in (embed_standin.h), on the tests' tiny HTTP
 * server (httpd.c). Not part of libccai: plain C11 + POSIX + jansson. */
#include "support/embed_standin.h"

#include "support/httpd.h"

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct embed_standin {
    test_httpd *httpd;
    char *key, *deployment;
    int fail_status, delay_ms;
    pthread_mutex_t mu;
    int requests, texts;
    char *last_path, *last_body;
};

static uint32_t fnv1a(const char *s, size_t n, uint32_t seed)
{
    uint32_t h = 2166136261u ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static void add(float *v, size_t dims, const char *s, size_t n, float w, uint32_t seed)
{
    uint32_t h = fnv1a(s, n, seed);
    v[h % dims] += (h & 0x80000000u) ? -w : w;
}

void embed_standin_vector(const char *text, size_t len, float *out, size_t dims)
{
    memset(out, 0, dims * sizeof *out);
    char word[96];
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)text[i];
        if (!(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9'))) {
            i++;
            continue;
        }
        size_t n = 0;
        word[n++] = ' ';
        while (i < len && n < sizeof word - 2) {
            c = (unsigned char)text[i];
            if (!(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9')))
                break;
            word[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
            i++;
        }
        word[n++] = ' ';
        size_t wl = n - 2;
        float w = wl <= 3 ? 0.3f : 1.0f;
        add(out, dims, word + 1, wl, w, 1);
        for (size_t k = 0; k + 3 <= n; k++)
            add(out, dims, word + k, 3, 0.5f * w, 2);
    }
    double s = 0;
    for (size_t k = 0; k < dims; k++)
        s += (double)out[k] * (double)out[k];
    s = sqrt(s);
    for (size_t k = 0; s > 0 && k < dims; k++)
        out[k] = (float)((double)out[k] / s);
}

static void reply(int fd, int status, const char *reason, const char *body)
{
    test_httpd_printf(fd,
                      "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                      "Connection: close\r\n\r\n",
                      status, reason, strlen(body));
    test_httpd_write(fd, body, strlen(body));
}

static void error(int fd, int status, const char *reason, const char *message, const char *type,
                  const char *code)
{
    json_t *e = json_pack("{s:{s:s, s:s, s:n, s:s?}}", "error", "message", message, "type", type,
                          "param", "code", code);
    char *body = json_dumps(e, JSON_COMPACT);
    reply(fd, status, reason, body);
    free(body);
    json_decref(e);
}

/* The value of header name in the raw block, copied into out. */
static int header(const char *headers, const char *name, char *out, size_t outlen)
{
    size_t n = strlen(name);
    for (const char *p = headers; *p;) {
        const char *eol = strstr(p, "\r\n");
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1;
            while (*v == ' ')
                v++;
            size_t vl = len - (size_t)(v - p);
            if (vl >= outlen)
                vl = outlen - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            return 1;
        }
        p += len + (eol ? 2 : 0);
    }
    return 0;
}

static void handle(const test_request *req, int fd, void *ud)
{
    embed_standin *s = ud;
    pthread_mutex_lock(&s->mu);
    s->requests++;
    free(s->last_path);
    free(s->last_body);
    s->last_path = strdup(req->path);
    s->last_body = strdup(req->body ? req->body : "");
    pthread_mutex_unlock(&s->mu);
    if (s->delay_ms)
        test_httpd_sleep_ms(s->delay_ms);
    char value[512];
    int azure = strncmp(req->path, "/openai/deployments/", 20) == 0;
    if (strcmp(req->method, "POST") != 0) {
        error(fd, 405, "Method Not Allowed", "Method not allowed", "invalid_request_error", NULL);
        return;
    }
    if (azure) {
        const char *dep = req->path + 20;
        const char *slash = strchr(dep, '/');
        size_t dl = slash ? (size_t)(slash - dep) : 0;
        if (!slash || strncmp(slash, "/embeddings", 11) != 0 ||
            (slash[11] != '?' && slash[11] != '\0')) {
            error(fd, 404, "Not Found", "Resource not found", "invalid_request_error", "404");
            return;
        }
        if (!strstr(slash, "api-version=")) {
            error(fd, 400, "Bad Request", "Missing required query parameter 'api-version'",
                  "invalid_request_error", "BadRequest");
            return;
        }
        if (!header(req->headers, "api-key", value, sizeof value) &&
            !header(req->headers, "Authorization", value, sizeof value)) {
            error(fd, 401, "Unauthorized",
                  "Access denied due to missing subscription key. Make sure to include "
                  "subscription key when making requests to an API.",
                  "invalid_request_error", "401");
            return;
        }
        if (strlen(s->deployment) != dl || strncmp(dep, s->deployment, dl) != 0) {
            error(fd, 404, "Not Found", "The API deployment for this resource does not exist.",
                  "invalid_request_error", "DeploymentNotFound");
            return;
        }
    } else {
        if (strcmp(req->path, "/v1/embeddings") != 0 && strcmp(req->path, "/embeddings") != 0) {
            error(fd, 404, "Not Found", "Invalid URL (POST)", "invalid_request_error", NULL);
            return;
        }
        char want[600];
        snprintf(want, sizeof want, "Bearer %s", s->key ? s->key : "");
        if (s->key && (!header(req->headers, "Authorization", value, sizeof value) ||
                       strcmp(value, want) != 0)) {
            error(fd, 401, "Unauthorized", "Incorrect API key provided.", "invalid_request_error",
                  "invalid_api_key");
            return;
        }
    }
    if (s->fail_status) {
        error(fd, s->fail_status, "Error", "The server had an error while processing your request.",
              "server_error", NULL);
        return;
    }
    json_error_t jerr;
    json_t *body = json_loadb(req->body ? req->body : "", req->body_len, 0, &jerr);
    json_t *input = json_object_get(body, "input");
    const char *model = json_string_value(json_object_get(body, "model"));
    const char *format = json_string_value(json_object_get(body, "encoding_format"));
    json_t *dimv = json_object_get(body, "dimensions");
    size_t dims = 256;
    const char *bad = NULL;
    if (!json_is_object(body))
        bad = "We could not parse the JSON body of your request.";
    else if (!azure && !model)
        bad = "you must provide a model parameter";
    else if (!json_is_string(input) && !(json_is_array(input) && json_array_size(input) > 0 &&
                                         json_array_size(input) <= 2048))
        bad = "'$.input' is invalid. Please check the API reference.";
    else if (format && strcmp(format, "float") != 0 && strcmp(format, "base64") != 0)
        bad = "'encoding_format' must be 'float' or 'base64'";
    else if (dimv && (!json_is_integer(dimv) || json_integer_value(dimv) < 1 ||
                      json_integer_value(dimv) > 3072))
        bad = "'dimensions' must be a positive integer";
    size_t i;
    json_t *t;
    json_array_foreach(input, i, t)
    {
        if (!bad && (!json_is_string(t) || !*json_string_value(t)))
            bad = "'$.input' is invalid. Please check the API reference.";
    }
    if (bad) {
        error(fd, 400, "Bad Request", bad, "invalid_request_error", NULL);
        json_decref(body);
        return;
    }
    if (dimv)
        dims = (size_t)json_integer_value(dimv);
    json_t *texts = json_is_string(input) ? json_pack("[O]", input) : json_incref(input);
    json_t *data = json_array();
    float *v = malloc(dims * sizeof *v);
    long tokens = 0;
    json_array_foreach(texts, i, t)
    {
        const char *txt = json_string_value(t);
        embed_standin_vector(txt, strlen(txt), v, dims);
        tokens += (long)(strlen(txt) / 4 + 1);
        json_t *vec = json_array();
        for (size_t k = 0; k < dims; k++)
            json_array_append_new(vec, json_real(v[k]));
        json_array_append_new(data, json_pack("{s:s, s:I, s:o}", "object", "embedding", "index",
                                              (json_int_t)i, "embedding", vec));
    }
    pthread_mutex_lock(&s->mu);
    s->texts += (int)json_array_size(texts);
    pthread_mutex_unlock(&s->mu);
    free(v);
    json_t *out = json_pack("{s:s, s:o, s:s, s:{s:I, s:I}}", "object", "list", "data", data,
                            "model", model ? model : s->deployment, "usage", "prompt_tokens",
                            (json_int_t)tokens, "total_tokens", (json_int_t)tokens);
    char *text = json_dumps(out, JSON_COMPACT);
    reply(fd, 200, "OK", text);
    free(text);
    json_decref(out);
    json_decref(texts);
    json_decref(body);
}

embed_standin *embed_standin_start(const embed_standin_opts *o)
{
    embed_standin *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    s->key = o && o->key ? strdup(o->key) : NULL;
    s->deployment = strdup(o && o->deployment ? o->deployment : "embed");
    s->fail_status = o ? o->fail_status : 0;
    s->delay_ms = o ? o->delay_ms : 0;
    s->httpd = test_httpd_start(handle, s);
    if (!s->httpd) {
        embed_standin_stop(s);
        return NULL;
    }
    return s;
}

int embed_standin_port(const embed_standin *s)
{
    return test_httpd_port(s->httpd);
}

int embed_standin_requests(embed_standin *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->requests;
    pthread_mutex_unlock(&s->mu);
    return n;
}

int embed_standin_texts(embed_standin *s)
{
    pthread_mutex_lock(&s->mu);
    int n = s->texts;
    pthread_mutex_unlock(&s->mu);
    return n;
}

char *embed_standin_last_path(embed_standin *s)
{
    pthread_mutex_lock(&s->mu);
    char *p = s->last_path ? strdup(s->last_path) : NULL;
    pthread_mutex_unlock(&s->mu);
    return p;
}

char *embed_standin_last_body(embed_standin *s)
{
    pthread_mutex_lock(&s->mu);
    char *p = s->last_body ? strdup(s->last_body) : NULL;
    pthread_mutex_unlock(&s->mu);
    return p;
}

void embed_standin_stop(embed_standin *s)
{
    if (!s)
        return;
    if (s->httpd)
        test_httpd_stop(s->httpd);
    free(s->key);
    free(s->deployment);
    free(s->last_path);
    free(s->last_body);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
