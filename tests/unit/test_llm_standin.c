/* The OpenAI-compatible stand-in, driven by libcurl as a real client would:
 * byte-exact SSE framing, tool-call deltas, Azure, auth and validation
 * errors, retry headers, stalls, cuts, malformed and error events, request
 * recording, keep-alive and many concurrent streams. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/llm_standin.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY "sk-test"

typedef struct resp {
    CURLcode rc;
    long status;
    long connects;
    double seconds;
    char *body;
    size_t len;
    char *head;
    size_t hlen;
} resp;

typedef struct events {
    char **v;
    size_t n;
} events;

static standin *S;

static size_t append(char **p, size_t *len, const char *d, size_t n)
{
    char *q = realloc(*p, *len + n + 1);
    if (!q)
        return 0;
    memcpy(q + *len, d, n);
    *len += n;
    q[*len] = '\0';
    *p = q;
    return n;
}

static size_t on_body(char *d, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    return append(&r->body, &r->len, d, sz * n);
}

static size_t on_head(char *d, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    return append(&r->head, &r->hlen, d, sz * n);
}

static void resp_clear(resp *r)
{
    free(r->body);
    free(r->head);
    memset(r, 0, sizeof *r);
}

static void url_of(char *out, size_t n, const char *path)
{
    snprintf(out, n, "http://127.0.0.1:%d%s", standin_port(S), path);
}

static void setup_easy(CURL *e, const char *path, const char *body, struct curl_slist *hdrs,
                       resp *r)
{
    char url[512];
    url_of(url, sizeof url, path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_head);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    if (body)
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    else
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
}

static void finish_easy(CURL *e, resp *r)
{
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &r->connects);
    curl_easy_getinfo(e, CURLINFO_TOTAL_TIME, &r->seconds);
    if (!r->body)
        append(&r->body, &r->len, "", 0);
    if (!r->head)
        append(&r->head, &r->hlen, "", 0);
}

/* One request on handle e (NULL = a fresh handle); auth is "bearer", "azure" or NULL. */
static void request_on(CURL *e, const char *path, const char *body, const char *auth,
                       const char *extra_header, long timeout_ms, resp *r)
{
    CURL *own = e ? NULL : curl_easy_init();
    if (own)
        e = own;
    assert_non_null(e);
    memset(r, 0, sizeof *r);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (auth && !strcmp(auth, "bearer"))
        h = curl_slist_append(h, "Authorization: Bearer " KEY);
    else if (auth && !strcmp(auth, "azure"))
        h = curl_slist_append(h, "api-key: " KEY);
    else if (auth)
        h = curl_slist_append(h, auth);
    if (extra_header)
        h = curl_slist_append(h, extra_header);
    setup_easy(e, path, body, h, r);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms : 10000L);
    r->rc = curl_easy_perform(e);
    finish_easy(e, r);
    curl_slist_free_all(h);
    if (own)
        curl_easy_cleanup(own);
}

static void request(const char *path, const char *body, const char *auth, resp *r)
{
    request_on(NULL, path, body, auth, NULL, 0, r);
}

static const char *STREAM_BODY = "{\"model\":\"gpt-test\",\"stream\":true,\"messages\":[{\"role\":"
                                 "\"user\",\"content\":\"hi\"}]}";

/* Events split on the blank line; each is "field: value" without the \n\n. */
static events split(const char *body)
{
    events ev = {0};
    const char *p = body;
    for (;;) {
        const char *e = strstr(p, "\n\n");
        if (!e)
            break;
        ev.v = realloc(ev.v, (ev.n + 1) * sizeof *ev.v);
        ev.v[ev.n] = strndup(p, (size_t)(e - p));
        ev.n++;
        p = e + 2;
    }
    return ev;
}

static void events_free(events *ev)
{
    for (size_t i = 0; i < ev->n; i++)
        free(ev->v[i]);
    free(ev->v);
    memset(ev, 0, sizeof *ev);
}

/* The JSON of a data event (NULL if not parseable). */
static json_t *event_json(const char *ev)
{
    if (strncmp(ev, "data: ", 6))
        return NULL;
    return json_loads(ev + 6, 0, NULL);
}

static char *dump(json_t *j)
{
    return json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/* delta of choices[0] of event i, compact. */
static char *delta_of(const events *ev, size_t i)
{
    json_t *j = event_json(ev->v[i]);
    assert_non_null(j);
    char *d = dump(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "delta"));
    json_decref(j);
    return d;
}

static void assert_delta(const events *ev, size_t i, const char *want)
{
    char *d = delta_of(ev, i);
    assert_string_equal(d, want);
    free(d);
}

static int head_has(const resp *r, const char *line)
{
    return strstr(r->head, line) != NULL;
}

static int setup(void **state)
{
    (void)state;
    standin_opts o = {.key = KEY, .model = "standin-model"};
    S = standin_start(&o);
    return S ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    standin_stop(S);
    S = NULL;
    return 0;
}

/* ---- tests ---- */

static void stream_text_framing(void **state)
{
    (void)state;
    assert_int_equal(standin_push_json(S, "{\"content\":\"Hello brave world\"}"), 0);
    resp r;
    request("/v1/chat/completions", STREAM_BODY, "bearer", &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_true(head_has(&r, "Content-Type: text/event-stream; charset=utf-8\r\n"));
    assert_true(head_has(&r, "Transfer-Encoding: chunked\r\n"));
    assert_true(head_has(&r, "x-request-id: "));

    events ev = split(r.body);
    assert_int_equal(ev.n, 6);
    json_t *first = event_json(ev.v[0]);
    assert_non_null(first);
    long long created = json_integer_value(json_object_get(first, "created"));
    assert_true(created > 0);
    json_decref(first);

    char pre[256], want[4096];
    snprintf(pre, sizeof pre,
             "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":%lld,"
             "\"model\":\"gpt-test\",\"choices\":[{\"index\":0,\"delta\":",
             created);
    snprintf(want, sizeof want,
             "data: %s{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
             "data: %s{\"content\":\"Hello\"},\"finish_reason\":null}]}\n\n"
             "data: %s{\"content\":\" brave\"},\"finish_reason\":null}]}\n\n"
             "data: %s{\"content\":\" world\"},\"finish_reason\":null}]}\n\n"
             "data: %s{},\"finish_reason\":\"stop\"}]}\n\n"
             "data: [DONE]\n\n",
             pre, pre, pre, pre, pre);
    assert_string_equal(r.body, want);
    events_free(&ev);
    resp_clear(&r);

    /* The same stream, each event written as two HTTP chunks: same bytes. */
    assert_int_equal(
        standin_push_json(S, "{\"content\":\"Hello brave world\",\"split_events\":true}"), 0);
    request("/v1/chat/completions", STREAM_BODY, "bearer", &r);
    assert_int_equal(r.rc, CURLE_OK);
    ev = split(r.body);
    assert_int_equal(ev.n, 6);
    assert_delta(&ev, 1, "{\"content\":\"Hello\"}");
    assert_string_equal(ev.v[5], "data: [DONE]");
    json_t *j = event_json(ev.v[4]);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "chatcmpl-2");
    json_decref(j);
    events_free(&ev);
    resp_clear(&r);

    /* No spec queued: the echo, word by word; chunk_bytes splits by bytes. */
    request("/v1/chat/completions", STREAM_BODY, "bearer", &r);
    ev = split(r.body);
    assert_int_equal(ev.n, 6);
    assert_delta(&ev, 1, "{\"content\":\"You\"}");
    assert_delta(&ev, 2, "{\"content\":\" said:\"}");
    assert_delta(&ev, 3, "{\"content\":\" hi.\"}");
    events_free(&ev);
    resp_clear(&r);

    assert_int_equal(standin_push_json(S, "{\"content\":\"h\xc3\xa9llo\",\"chunk_bytes\":2}"), 0);
    request("/v1/chat/completions", STREAM_BODY, "bearer", &r);
    ev = split(r.body);
    assert_int_equal(ev.n, 7);
    assert_delta(&ev, 1, "{\"content\":\"h\"}"); /* never splits the UTF-8 sequence */
    assert_delta(&ev, 2, "{\"content\":\"\xc3\xa9\"}");
    assert_delta(&ev, 3, "{\"content\":\"ll\"}");
    assert_delta(&ev, 4, "{\"content\":\"o\"}");
    events_free(&ev);
    resp_clear(&r);
}

static void stream_tool_calls(void **state)
{
    (void)state;
    assert_int_equal(
        standin_push_json(S,
                          "{\"kind\":\"tool_calls\",\"content\":\"One moment.\","
                          "\"empty_ids\":true,\"tool_calls\":["
                          "{\"id\":\"call_A\",\"name\":\"lookup\",\"arguments\":\"{\\\"id\\\":7}\","
                          "\"arg_chunks\":[\"{\\\"id\\\"\",\":7}\"]},"
                          "{\"id\":\"call_B\",\"name\":\"hangup\",\"arguments\":\"{}\","
                          "\"arg_pieces\":1}]}"),
        0);
    resp r;
    request("/v1/chat/completions", STREAM_BODY, "bearer", &r);
    assert_int_equal(r.rc, CURLE_OK);
    events ev = split(r.body);
    assert_int_equal(ev.n, 10);
    assert_delta(&ev, 0, "{\"role\":\"assistant\",\"content\":\"\"}");
    assert_delta(&ev, 1, "{\"content\":\"One\"}");
    assert_delta(&ev, 2, "{\"content\":\" moment.\"}");
    assert_delta(&ev, 3,
                 "{\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":\"call_A\",\"type\":"
                 "\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"\"}}]}");
    assert_delta(&ev, 4,
                 "{\"tool_calls\":[{\"index\":0,\"id\":\"\",\"function\":{\"arguments\":"
                 "\"{\\\"id\\\"\"}}]}");
    assert_delta(
        &ev, 5,
        "{\"tool_calls\":[{\"index\":0,\"id\":\"\",\"function\":{\"arguments\":\":7}\"}}]}");
    assert_delta(&ev, 6,
                 "{\"content\":null,\"tool_calls\":[{\"index\":1,\"id\":\"call_B\",\"type\":"
                 "\"function\",\"function\":{\"name\":\"hangup\",\"arguments\":\"\"}}]}");
    assert_delta(
        &ev, 7, "{\"tool_calls\":[{\"index\":1,\"id\":\"\",\"function\":{\"arguments\":\"{}\"}}]}");
    assert_delta(&ev, 8, "{}");
    json_t *j = event_json(ev.v[8]);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "choices"), 0), "finish_reason")),
                        "tool_calls");
    json_decref(j);
    assert_string_equal(ev.v[9], "data: [DONE]");
    events_free(&ev);
    resp_clear(&r);

    /* Default split: three argument fragments that concatenate back. */
    standin_tool_call tc = {.id = "call_X", .name = "transfer", .arguments = "{\"to\":\"sales\"}"};
    standin_spec s = STANDIN_SPEC_INIT;
    s.tool_calls = &tc;
    s.n_tool_calls = 1;
    standin_push(S, &s);
    request("/v1/chat/completions", STREAM_BODY, "bearer", &r);
    ev = split(r.body);
    assert_int_equal(ev.n, 7);
    char args[256] = "";
    for (size_t i = 2; i <= 4; i++) {
        json_t *c = event_json(ev.v[i]);
        json_t *t = json_array_get(
            json_object_get(
                json_object_get(json_array_get(json_object_get(c, "choices"), 0), "delta"),
                "tool_calls"),
            0);
        assert_int_equal(json_integer_value(json_object_get(t, "index")), 0);
        assert_null(json_object_get(t, "id"));
        strcat(args,
               json_string_value(json_object_get(json_object_get(t, "function"), "arguments")));
        json_decref(c);
    }
    assert_string_equal(args, "{\"to\":\"sales\"}");
    events_free(&ev);
    resp_clear(&r);
}

static const char *AZ_PATH = "/openai/deployments/dep1/chat/completions?api-version=2024-10-21";
static const char *AZ_BODY =
    "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

static void azure_stream(void **state)
{
    (void)state;
    assert_int_equal(standin_push_json(S, "{\"content\":\"Hi there\"}"), 0);
    resp r;
    request(AZ_PATH, AZ_BODY, "azure", &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_true(head_has(&r, "apim-request-id: "));
    events ev = split(r.body);
    assert_int_equal(ev.n, 6);
    const char *cfr_safe = "\"hate\":{\"filtered\":false,\"severity\":\"safe\"},"
                           "\"self_harm\":{\"filtered\":false,\"severity\":\"safe\"},"
                           "\"sexual\":{\"filtered\":false,\"severity\":\"safe\"},"
                           "\"violence\":{\"filtered\":false,\"severity\":\"safe\"}";
    char want[2048];
    snprintf(want, sizeof want,
             "data: {\"choices\":[],\"created\":0,\"id\":\"\",\"model\":\"\",\"object\":\"\","
             "\"prompt_filter_results\":[{\"content_filter_results\":{\"hate\":{\"filtered\":"
             "false,\"severity\":\"safe\"},\"jailbreak\":{\"detected\":false,\"filtered\":false},"
             "\"self_harm\":{\"filtered\":false,\"severity\":\"safe\"},\"sexual\":{\"filtered\":"
             "false,\"severity\":\"safe\"},\"violence\":{\"filtered\":false,\"severity\":\"safe\"}"
             "},\"prompt_index\":0}]}");
    assert_string_equal(ev.v[0], want);

    json_t *role = event_json(ev.v[1]);
    assert_string_equal(json_string_value(json_object_get(role, "model")), "dep1");
    assert_string_equal(json_string_value(json_object_get(role, "id")), "chatcmpl-1");
    json_decref(role);
    json_t *c = event_json(ev.v[2]);
    char *cd = dump(json_array_get(json_object_get(c, "choices"), 0));
    snprintf(want, sizeof want,
             "{\"content_filter_results\":{%s},\"delta\":{\"content\":\"Hi\"},"
             "\"finish_reason\":null,\"index\":0}",
             cfr_safe);
    assert_string_equal(cd, want);
    free(cd);
    json_decref(c);
    assert_string_equal(ev.v[5], "data: [DONE]");
    events_free(&ev);
    resp_clear(&r);

    char *dep = standin_request_deployment(S, 0);
    assert_string_equal(dep, "dep1");
    free(dep);
    char *path = standin_request_path(S, 0);
    assert_string_equal(path, AZ_PATH);
    free(path);

    /* Bearer works too; a filtered completion ends with content_filter. */
    assert_int_equal(standin_push_json(S, "{\"content\":\"a b\",\"finish_reason\":"
                                          "\"content_filter\",\"azure_trailing_annotation\":true}"),
                     0);
    request(AZ_PATH, AZ_BODY, "bearer", &r);
    assert_int_equal(r.status, 200);
    ev = split(r.body);
    assert_int_equal(ev.n, 7);
    c = event_json(ev.v[4]);
    json_t *ch = json_array_get(json_object_get(c, "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(ch, "finish_reason")), "content_filter");
    assert_true(json_is_true(json_object_get(
        json_object_get(json_object_get(ch, "content_filter_results"), "violence"), "filtered")));
    json_decref(c);
    c = event_json(ev.v[5]); /* annotation after the finish chunk */
    assert_string_equal(json_string_value(json_object_get(c, "id")), "");
    assert_non_null(json_object_get(json_array_get(json_object_get(c, "choices"), 0),
                                    "content_filter_offsets"));
    json_decref(c);
    events_free(&ev);
    resp_clear(&r);

    /* Missing api-version, missing key, wrong key: no spec consumed. */
    assert_int_equal(standin_push_json(S, "{\"content\":\"kept\"}"), 0);
    request("/openai/deployments/dep1/chat/completions", AZ_BODY, "azure", &r);
    assert_int_equal(r.status, 400);
    json_t *e = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "error"), "code")),
                        "MissingApiVersionParameter");
    json_decref(e);
    resp_clear(&r);
    request(AZ_PATH, AZ_BODY, NULL, &r);
    assert_int_equal(r.status, 401);
    e = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "error"), "code")),
                        "401");
    json_decref(e);
    resp_clear(&r);
    request(AZ_PATH, AZ_BODY, "api-key: wrong", &r);
    assert_int_equal(r.status, 401);
    resp_clear(&r);
    assert_int_equal(standin_pending(S), 1);
    assert_int_equal(standin_request_count(S), 5);
}

static void auth_401(void **state)
{
    (void)state;
    assert_int_equal(standin_push_json(S, "{\"content\":\"kept\"}"), 0);
    resp r;
    request("/v1/chat/completions", STREAM_BODY, NULL, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 401);
    assert_true(head_has(&r, "Content-Type: application/json\r\n"));
    assert_string_equal(r.body, "{\"error\":{\"message\":\"You didn't provide an API key. You "
                                "need to provide your API key in an Authorization header "
                                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).\","
                                "\"type\":\"invalid_request_error\",\"param\":null,\"code\":"
                                "null}}");
    resp_clear(&r);
    request("/v1/chat/completions", STREAM_BODY, "Authorization: Bearer nope", &r);
    assert_int_equal(r.status, 401);
    assert_string_equal(r.body, "{\"error\":{\"message\":\"Incorrect API key provided.\","
                                "\"type\":\"invalid_request_error\",\"param\":null,\"code\":"
                                "\"invalid_api_key\"}}");
    resp_clear(&r);
    request("/v1/models", NULL, NULL, &r);
    assert_int_equal(r.status, 401);
    resp_clear(&r);
    assert_int_equal(standin_pending(S), 1);
}

static void validation_400(void **state)
{
    (void)state;
    assert_int_equal(standin_push_json(S, "{\"content\":\"kept\"}"), 0);
    resp r;
    request("/v1/chat/completions",
            "{\"model\":\"m\",\"tools\":[],\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
            "bearer", &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.body, "{\"error\":{\"message\":\"Invalid 'tools': empty array. "
                                "Expected an array with minimum length 1, but got an empty "
                                "array instead.\",\"type\":\"invalid_request_error\",\"param\":"
                                "\"tools\",\"code\":\"empty_array\"}}");
    resp_clear(&r);

    request("/v1/chat/completions", "{\"model\":", "bearer", &r);
    assert_int_equal(r.status, 400);
    json_t *e = json_loads(r.body, 0, NULL);
    json_t *err = json_object_get(e, "error");
    assert_int_equal(json_object_size(err), 4);
    assert_true(json_is_string(json_object_get(err, "message")));
    assert_string_equal(json_string_value(json_object_get(err, "type")), "invalid_request_error");
    assert_true(json_is_null(json_object_get(err, "param")));
    assert_true(json_is_null(json_object_get(err, "code")));
    json_decref(e);
    resp_clear(&r);

    const char *bad[] = {
        "{\"model\":\"m\",\"messages\":[]}",
        "{\"model\":\"m\"}",
        "{\"model\":\"m\",\"messages\":[{\"content\":\"no role\"}]}",
        "{\"model\":\"m\",\"stream\":\"yes\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
        ("{\"model\":\"m\",\"stream_options\":{\"include_usage\":true},"
         "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"),
        "[1,2]",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        request("/v1/chat/completions", bad[i], "bearer", &r);
        assert_int_equal(r.status, 400);
        e = json_loads(r.body, 0, NULL);
        assert_non_null(json_object_get(e, "error"));
        json_decref(e);
        resp_clear(&r);
    }
    assert_int_equal(standin_pending(S), 1);

    request("/v1/nothing", "{}", "bearer", &r);
    assert_int_equal(r.status, 404);
    e = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(e, "error"), "code")),
                        "unknown_url");
    json_decref(e);
    resp_clear(&r);

    request("/v1/models", NULL, "bearer", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "{\"object\":\"list\",\"data\":[{\"id\":\"standin-model\","
                                "\"object\":\"model\",\"created\":0,\"owned_by\":\"standin\"}]}");
    resp_clear(&r);

    /* The spec form rejects unknown keys and wrong types. */
    assert_int_equal(standin_push_json(S, "{\"contnet\":\"typo\"}"), -1);
    assert_int_equal(standin_push_json(S, "{\"content\":5}"), -1);
    assert_int_equal(standin_push_json(S, "{\"kind\":\"tool_calls\"}"), -1);
    assert_int_equal(standin_push_json(S, "not json"), -1);
    assert_int_equal(standin_pending(S), 1);
}

static void retry_after_429(void **state)
{
    (void)state;
    assert_int_equal(standin_push_json(S, "{\"status\":429,\"retry_after\":2}"), 0);
    assert_int_equal(standin_push_json(S, "{\"status\":503,\"retry_after_ms\":1500,"
                                          "\"headers\":{\"x-should-retry\":\"true\"}}"),
                     0);
    CURL *e = curl_easy_init();
    resp r;
    request_on(e, "/v1/chat/completions", STREAM_BODY, "bearer", NULL, 0, &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_int_equal(r.status, 429);
    assert_true(head_has(&r, "\r\nretry-after: 2\r\n"));
    assert_true(head_has(&r, "\r\nx-ratelimit-remaining-requests: 0\r\n"));
    assert_true(head_has(&r, "\r\nx-ratelimit-reset-requests: 2s\r\n"));
    assert_true(head_has(&r, "\r\nx-ratelimit-reset-tokens: 15ms\r\n"));
    json_t *j = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "code")),
                        "rate_limit_exceeded");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "error"), "type")),
                        "requests");
    assert_non_null(strstr(
        json_string_value(json_object_get(json_object_get(j, "error"), "message")), "in 2s."));
    json_decref(j);
    assert_int_equal(r.connects, 1);
    resp_clear(&r);

    request_on(e, "/v1/chat/completions", STREAM_BODY, "bearer", NULL, 0, &r);
    assert_int_equal(r.status, 503);
    assert_true(head_has(&r, "\r\nretry-after-ms: 1500\r\n"));
    assert_true(head_has(&r, "\r\nx-should-retry: true\r\n"));
    assert_int_equal(r.connects, 0); /* keep-alive: same connection */
    resp_clear(&r);

    request_on(e, "/v1/chat/completions", STREAM_BODY, "bearer", NULL, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"content\":\" hi.\""));
    assert_int_equal(r.connects, 0);
    resp_clear(&r);
    curl_easy_cleanup(e);

    standin_stats st;
    standin_get_stats(S, &st);
    assert_int_equal(st.connections, 1);
}

static void stall(void **state)
{
    (void)state;
    /* Stall then continue: the client waits, then gets everything. */
    assert_int_equal(standin_push_json(S, "{\"content\":\"a b c\",\"stall_after\":2,"
                                          "\"stall_ms\":400}"),
                     0);
    resp r;
    request("/v1/chat/completions", STREAM_BODY, "bearer", &r);
    assert_int_equal(r.rc, CURLE_OK);
    assert_true(r.seconds >= 0.38);
    events ev = split(r.body);
    assert_int_equal(ev.n, 6);
    events_free(&ev);
    resp_clear(&r);

    /* A client timeout fires during the stall, after exactly two events. */
    assert_int_equal(standin_push_json(S, "{\"content\":\"a b c\",\"stall_after\":2,"
                                          "\"stall_ms\":5000,\"stall_close\":true}"),
                     0);
    request_on(NULL, "/v1/chat/completions", STREAM_BODY, "bearer", NULL, 500, &r);
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    assert_int_equal(r.status, 200);
    ev = split(r.body);
    assert_int_equal(ev.n, 2);
    assert_delta(&ev, 1, "{\"content\":\"a\"}");
    events_free(&ev);
    resp_clear(&r);

    /* Same with a low-speed limit, as a streaming client would configure. */
    assert_int_equal(standin_push_json(S, "{\"content\":\"a b c\",\"stall_after\":3,"
                                          "\"stall_ms\":5000}"),
                     0);
    CURL *e = curl_easy_init();
    /* curl averages over a window of seconds: the limit sits above the burst. */
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 2000L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 1L);
    request_on(e, "/v1/chat/completions", STREAM_BODY, "bearer", NULL, 10000, &r);
    curl_easy_cleanup(e);
    assert_int_equal(r.rc, CURLE_OPERATION_TIMEDOUT);
    assert_true(r.seconds >= 0.9);
    ev = split(r.body);
    assert_int_equal(ev.n, 3);
    events_free(&ev);
    resp_clear(&r);
}

static void cut_and_drop(void **state)
{
    (void)state;
    assert_int_equal(standin_push_json(S, "{\"content\":\"one two three\",\"cut_after\":3}"), 0);
    resp r;
    request("/v1/chat/completions", STREAM_BODY, "bearer", &r);
    assert_int_equal(r.rc, CURLE_PARTIAL_FILE);
    assert_int_equal(r.status, 200);
    events ev = split(r.body);
    assert_int_equal(ev.n, 3);
    assert_delta(&ev, 2, "{\"content\":\" two\"}");
    assert_null(strstr(r.body, "[DONE]"));
    events_free(&ev);
    resp_clear(&r);

    assert_int_equal(standin_push_json(S, "{\"drop\":true}"), 0);
    request("/v1/chat/completions", STREAM_BODY, "bearer", &r);
    assert_int_equal(r.rc, CURLE_GOT_NOTHING);
    resp_clear(&r);

    /* Non-streaming cut: half a body under a full Content-Length. */
    assert_int_equal(standin_push_json(S, "{\"content\":\"whole\",\"cut_after\":1}"), 0);
    request("/v1/chat/completions",
            "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", "bearer", &r);
    assert_int_equal(r.rc, CURLE_PARTIAL_FILE);
    resp_clear(&r);
}

static void malformed_and_stream_errors(void **state)
{
    (void)state;
    const char *bad = "{\"id\":\"chatcmpl-1\",\"choices\":[{\"delta\":{\"content\":\"b";
    json_t *spec =
        json_pack("{s:s,s:i,s:s}", "content", "a b c", "malformed_chunk", 3, "malformed_data", bad);
    char *spec_s = dump(spec);
    json_decref(spec);
    assert_int_equal(standin_push_json(S, spec_s), 0);
    free(spec_s);
    resp r;
    request("/v1/chat/completions", STREAM_BODY, "bearer", &r);
    assert_int_equal(r.rc, CURLE_OK);
    char want[256];
    snprintf(want, sizeof want, "\n\ndata: %s\n\n", bad);
    assert_non_null(strstr(r.body, want));
    events ev = split(r.body);
    assert_int_equal(ev.n, 6);
    for (size_t i = 0; i < 5; i++) {
        json_t *j = event_json(ev.v[i]);
        if (i == 2)
            assert_null(j);
        else
            assert_non_null(j);
        json_decref(j);
    }
    events_free(&ev);
    resp_clear(&r);

    /* Default malformed data: the event's own JSON cut in half. */
    assert_int_equal(standin_push_json(S, "{\"content\":\"a b\",\"malformed_chunk\":2}"), 0);
    request("/v1/chat/completions", STREAM_BODY, "bearer", &r);
    ev = split(r.body);
    assert_int_equal(ev.n, 5);
    assert_null(event_json(ev.v[1]));
    assert_int_equal(strncmp(ev.v[1], "data: {\"id\":\"chatcmpl-2\"", 24), 0);
    events_free(&ev);
    resp_clear(&r);

    assert_int_equal(standin_push_json(S, "{\"content\":\"a b\",\"stream_error\":{\"after\":2,"
                                          "\"message\":\"boom\"}}"),
                     0);
    request("/v1/chat/completions", STREAM_BODY, "bearer", &r);
    assert_int_equal(r.rc, CURLE_OK);
    ev = split(r.body);
    assert_int_equal(ev.n, 4);
    assert_string_equal(ev.v[2], "data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\","
                                 "\"param\":null,\"code\":null}}");
    assert_string_equal(ev.v[3], "data: [DONE]");
    events_free(&ev);
    resp_clear(&r);

    assert_int_equal(standin_push_json(S, "{\"content\":\"a b\",\"stream_error\":{\"after\":2,"
                                          "\"style\":\"field\",\"message\":\"boom\"}}"),
                     0);
    request("/v1/chat/completions", STREAM_BODY, "bearer", &r);
    ev = split(r.body);
    assert_int_equal(ev.n, 4);
    assert_string_equal(ev.v[2],
                        "error: {\"code\":500,\"message\":\"boom\",\"type\":\"server_error\"}");
    assert_string_equal(ev.v[3], "data: [DONE]");
    events_free(&ev);
    resp_clear(&r);

    assert_int_equal(standin_push_json(S, "{\"content\":\"a b\",\"no_done\":true}"), 0);
    request("/v1/chat/completions", STREAM_BODY, "bearer", &r);
    assert_int_equal(r.rc, CURLE_OK);
    ev = split(r.body);
    assert_int_equal(ev.n, 4);
    assert_null(strstr(r.body, "[DONE]"));
    events_free(&ev);
    resp_clear(&r);
}

static void recording_and_shapes(void **state)
{
    (void)state;
    const char *body = "{\"model\":\"gpt-json\",\"response_format\":{\"type\":\"json_object\"},"
                       "\"messages\":[{\"role\":\"system\",\"content\":\"answer in json\"},"
                       "{\"role\":\"user\",\"content\":\"go\"}]}";
    assert_int_equal(standin_push_json(S, "{\"content\":\"{\\\"ok\\\":true}\"}"), 0);
    resp r;
    request_on(NULL, "/v1/chat/completions", body, "bearer", "X-Trace: abc", 0, &r);
    assert_int_equal(r.status, 200);
    assert_true(head_has(&r, "Content-Type: application/json\r\n"));
    assert_true(head_has(&r, "Content-Length: "));
    json_t *j = json_loads(r.body, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "object")), "chat.completion");
    assert_string_equal(json_string_value(json_object_get(j, "model")), "gpt-json");
    json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(ch, "finish_reason")), "stop");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(ch, "message"), "content")),
        "{\"ok\":true}");
    assert_true(json_is_object(json_object_get(j, "usage")));
    json_decref(j);
    resp_clear(&r);

    assert_int_equal(standin_request_count(S), 1);
    char *s = standin_request_method(S, 0);
    assert_string_equal(s, "POST");
    free(s);
    s = standin_request_path(S, 0);
    assert_string_equal(s, "/v1/chat/completions");
    free(s);
    s = standin_request_body(S, 0);
    assert_string_equal(s, body);
    free(s);
    s = standin_request_header(S, 0, "x-trace");
    assert_string_equal(s, "abc");
    free(s);
    s = standin_request_header(S, 0, "AUTHORIZATION");
    assert_string_equal(s, "Bearer " KEY);
    free(s);
    assert_null(standin_request_header(S, 0, "X-Missing"));
    assert_null(standin_request_body(S, 1));
    assert_null(standin_request_deployment(S, 0));

    /* Usage requested by the client: usage:null on chunks, then a usage chunk. */
    request("/v1/chat/completions",
            "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
            "\"messages\":[{\"role\":\"user\",\"content\":\"hey\"}]}",
            "bearer", &r);
    events ev = split(r.body);
    assert_int_equal(ev.n, 7);
    j = event_json(ev.v[1]);
    assert_true(json_is_null(json_object_get(j, "usage")));
    json_decref(j);
    j = event_json(ev.v[5]);
    assert_int_equal(json_array_size(json_object_get(j, "choices")), 0);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(j, "usage"), "completion_tokens")), 3);
    json_decref(j);
    events_free(&ev);
    resp_clear(&r);

    /* Ollama: all calls whole in one chunk, no index. */
    assert_int_equal(
        standin_push_json(S, "{\"ollama\":true,\"tool_calls\":["
                             "{\"id\":\"call_1\",\"name\":\"a\",\"arguments\":\"{\\\"x\\\":1}\"},"
                             "{\"id\":\"call_2\",\"name\":\"b\"}]}"),
        0);
    request("/v1/chat/completions", STREAM_BODY, "bearer", &r);
    ev = split(r.body);
    assert_int_equal(ev.n, 4);
    assert_delta(&ev, 1,
                 "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
                 "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"a\","
                 "\"arguments\":\"{\\\"x\\\":1}\"}},"
                 "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"b\","
                 "\"arguments\":\"{}\"}}]}");
    assert_delta(&ev, 2, "{\"role\":\"assistant\",\"content\":\"\"}");
    j = event_json(ev.v[2]);
    assert_string_equal(json_string_value(json_object_get(j, "system_fingerprint")), "fp_ollama");
    json_decref(j);
    events_free(&ev);
    resp_clear(&r);
}

#define NSTREAMS 200

static void concurrent_streams(void **state)
{
    (void)state;
    standin_stop(S);
    standin_opts o = {.ttft_ms = 300, .chunk_ms = 20};
    S = standin_start(&o);
    assert_non_null(S);

    CURLM *m = curl_multi_init();
    static resp rs[NSTREAMS];
    static char bodies[NSTREAMS][128];
    CURL *es[NSTREAMS];
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    for (int i = 0; i < NSTREAMS; i++) {
        memset(&rs[i], 0, sizeof rs[i]);
        snprintf(bodies[i], sizeof bodies[i],
                 "{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"user\","
                 "\"content\":\"m%d\"}]}",
                 i);
        es[i] = curl_easy_init();
        setup_easy(es[i], "/v1/chat/completions", bodies[i], h, &rs[i]);
        curl_easy_setopt(es[i], CURLOPT_TIMEOUT_MS, 20000L);
        curl_easy_setopt(es[i], CURLOPT_PRIVATE, &rs[i]);
        curl_multi_add_handle(m, es[i]);
    }
    int running = 1;
    while (running) {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left))) {
        resp *r;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
        r->rc = msg->data.result;
    }
    for (int i = 0; i < NSTREAMS; i++) {
        finish_easy(es[i], &rs[i]);
        assert_int_equal(rs[i].rc, CURLE_OK);
        assert_int_equal(rs[i].status, 200);
        events ev = split(rs[i].body);
        assert_int_equal(ev.n, 6);
        char text[128] = "";
        for (size_t k = 1; k <= 3; k++) {
            json_t *j = event_json(ev.v[k]);
            strcat(text,
                   json_string_value(json_object_get(
                       json_object_get(json_array_get(json_object_get(j, "choices"), 0), "delta"),
                       "content")));
            json_decref(j);
        }
        char want[64];
        snprintf(want, sizeof want, "You said: m%d.", i);
        assert_string_equal(text, want);
        events_free(&ev);
        curl_multi_remove_handle(m, es[i]);
        curl_easy_cleanup(es[i]);
        resp_clear(&rs[i]);
    }
    curl_slist_free_all(h);
    curl_multi_cleanup(m);

    standin_stats st;
    standin_get_stats(S, &st);
    assert_int_equal(standin_request_count(S), NSTREAMS);
    assert_int_equal(st.connections, NSTREAMS);
    assert_true(st.max_active_streams >= NSTREAMS / 2);
    assert_int_equal(st.active_streams, 0);
}

/* Monotonic timings per request: read, first and last content piece sent. */
static void request_timings(void **state)
{
    (void)state;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t before = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    assert_int_equal(standin_push_json(S, "{\"chunks\":[\"One. \",\"Two. \",\"Three.\"],"
                                          "\"ttft_ms\":30,\"chunk_ms\":20}"),
                     0);
    resp r;
    request("/v1/chat/completions", STREAM_BODY, "bearer", &r);
    assert_int_equal(r.status, 200);
    resp_clear(&r);
    request("/v1/chat/completions", STREAM_BODY, NULL, &r); /* 401: no answer */
    assert_int_equal(r.status, 401);
    resp_clear(&r);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t after = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;

    uint64_t rx = standin_request_received_ns(S, 0);
    uint64_t first = standin_first_token_sent_ns(S, 0);
    uint64_t last = standin_last_token_sent_ns(S, 0);
    assert_true(rx > before && rx < after);
    /* The stand-in schedules in whole milliseconds: up to 1 ms early per delay. */
    assert_true(first >= rx + 28 * 1000000u);
    assert_true(last >= first + 36 * 1000000u);
    assert_true(last < after);
    assert_true(standin_request_received_ns(S, 1) > rx);
    assert_int_equal(standin_first_token_sent_ns(S, 1), 0);
    assert_int_equal(standin_last_token_sent_ns(S, 1), 0);
    assert_int_equal(standin_request_received_ns(S, 2), 0);
    assert_int_equal(standin_request_received_ns(S, -1), 0);

    standin_timing t[4];
    assert_int_equal(standin_timings(S, 0, t, 4), 2);
    assert_true(t[0].received_ns == rx && t[0].first_token_ns == first &&
                t[0].last_token_ns == last);
    assert_int_equal(standin_timings(S, 1, t, 1), 1);
    assert_int_equal(standin_timings(S, 2, t, 4), 0);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(stream_text_framing, setup, teardown),
        cmocka_unit_test_setup_teardown(stream_tool_calls, setup, teardown),
        cmocka_unit_test_setup_teardown(azure_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(auth_401, setup, teardown),
        cmocka_unit_test_setup_teardown(validation_400, setup, teardown),
        cmocka_unit_test_setup_teardown(retry_after_429, setup, teardown),
        cmocka_unit_test_setup_teardown(stall, setup, teardown),
        cmocka_unit_test_setup_teardown(cut_and_drop, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_and_stream_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(recording_and_shapes, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(request_timings, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
