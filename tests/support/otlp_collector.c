/* The stand-in OpenTelemetry collector: see otlp_collector.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/otlp_collector.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_export(const test_request *req, int fd, void *ud)
{
    otlp_collector *col = ud;
    json_error_t err;
    json_t *doc = json_loadb(req->body ? req->body : "", req->body_len, 0, &err);
    pthread_mutex_lock(&col->mu);
    json_array_append_new(col->bodies, doc ? doc : json_null());
    snprintf(col->headers, sizeof col->headers, "%s", req->headers);
    snprintf(col->path, sizeof col->path, "%s", req->path);
    pthread_mutex_unlock(&col->mu);
    test_httpd_printf(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                          "2\r\nConnection: close\r\n\r\n{}");
}

void otlp_collector_start(otlp_collector *col)
{
    memset(col, 0, sizeof *col);
    pthread_mutex_init(&col->mu, NULL);
    col->bodies = json_array();
    assert_non_null(col->bodies);
    col->h = test_httpd_start(on_export, col);
    assert_non_null(col->h);
}

int otlp_collector_port(const otlp_collector *col)
{
    return test_httpd_port(col->h);
}

void otlp_collector_stop(otlp_collector *col)
{
    test_httpd_stop(col->h);
    json_decref(col->bodies);
    pthread_mutex_destroy(&col->mu);
}

static int is_hex(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f'))
            return 0;
    return 1;
}

static int is_decimal(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

const char *otlp_span_attr(const json_t *span, const char *key, const char *type)
{
    size_t i;
    json_t *kv;
    json_array_foreach(json_object_get(span, "attributes"), i, kv)
    {
        if (strcmp(json_string_value(json_object_get(kv, "key")), key) == 0)
            return json_string_value(json_object_get(json_object_get(kv, "value"), type));
    }
    return NULL;
}

json_t *otlp_collector_spans(otlp_collector *col, const char *service)
{
    json_t *spans = json_array();
    pthread_mutex_lock(&col->mu);
    size_t i;
    json_t *doc;
    json_array_foreach(col->bodies, i, doc)
    {
        assert_true(json_is_object(doc));
        assert_int_equal(json_object_size(doc), 1);
        json_t *rs = json_object_get(doc, "resourceSpans");
        assert_int_equal(json_array_size(rs), 1);
        json_t *r0 = json_array_get(rs, 0);
        json_t *res_attrs = json_object_get(json_object_get(r0, "resource"), "attributes");
        json_t *svc = json_array_get(res_attrs, 0);
        assert_string_equal(json_string_value(json_object_get(svc, "key")), "service.name");
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(svc, "value"), "stringValue")),
            service);
        json_t *ss = json_array_get(json_object_get(r0, "scopeSpans"), 0);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(ss, "scope"), "name")), "libccai");
        size_t j;
        json_t *sp;
        json_array_foreach(json_object_get(ss, "spans"), j, sp)
        {
            assert_true(is_hex(json_string_value(json_object_get(sp, "traceId")), 32));
            assert_true(is_hex(json_string_value(json_object_get(sp, "spanId")), 16));
            json_t *parent = json_object_get(sp, "parentSpanId");
            assert_true(!parent || is_hex(json_string_value(parent), 16));
            const char *start = json_string_value(json_object_get(sp, "startTimeUnixNano"));
            const char *end = json_string_value(json_object_get(sp, "endTimeUnixNano"));
            assert_true(is_decimal(start) && is_decimal(end));
            assert_true(strtoull(end, NULL, 10) >= strtoull(start, NULL, 10));
            /* 2020 and later: wall-clock nanoseconds, not a monotonic clock. */
            assert_true(strtoull(start, NULL, 10) > 1577836800ull * 1000000000ull);
            json_int_t kind = json_integer_value(json_object_get(sp, "kind"));
            assert_true(kind >= 1 && kind <= 3);
            assert_true(json_is_object(json_object_get(sp, "status")));
            assert_true(json_is_array(json_object_get(sp, "attributes")));
            json_array_append(spans, sp);
        }
    }
    pthread_mutex_unlock(&col->mu);
    return spans;
}

const json_t *otlp_span_find(const json_t *spans, const char *name, int nth)
{
    size_t i;
    json_t *sp;
    json_array_foreach(spans, i, sp)
    {
        if (strcmp(json_string_value(json_object_get(sp, "name")), name) == 0 && nth-- == 0)
            return sp;
    }
    return NULL;
}

const char *otlp_str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}
