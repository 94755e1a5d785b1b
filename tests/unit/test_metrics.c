/* core/metrics.c: the metrics registry and its Prometheus exposition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/metrics.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_metrics_exposition(void **state)
{
    (void)state;
    Ccai_metrics *m = Ccai_metrics_new();
    assert_non_null(m);
    assert_int_equal(Ccai_metrics_register(m, "ccai_http_requests_total", CCAI_METRIC_COUNTER,
                                           "HTTP requests.\nBy route \\ code.", NULL, 0),
                     CCAI_OK);
    assert_int_equal(
        Ccai_metrics_register(m, "ccai_calls_in_progress", CCAI_METRIC_GAUGE, NULL, NULL, 0),
        CCAI_OK);
    static const double b[] = {0.1, 0.5, 1};
    assert_int_equal(
        Ccai_metrics_register(m, "ccai_llm_seconds", CCAI_METRIC_HISTOGRAM, "LLM latency.", b, 3),
        CCAI_OK);

    char *l = Ccai_metrics_labels("route", "/call", "code", "200", NULL);
    assert_string_equal(l, "route=\"/call\",code=\"200\"");
    assert_int_equal(Ccai_metrics_counter_add(m, "ccai_http_requests_total", l, 1), CCAI_OK);
    assert_int_equal(Ccai_metrics_counter_add(m, "ccai_http_requests_total", l, 2), CCAI_OK);
    ccai_free(l);
    l = Ccai_metrics_labels("route", "a\"b\\c\nd", NULL);
    assert_string_equal(l, "route=\"a\\\"b\\\\c\\nd\"");
    assert_int_equal(Ccai_metrics_counter_add(m, "ccai_http_requests_total", l, 0.5), CCAI_OK);
    ccai_free(l);
    assert_int_equal(Ccai_metrics_gauge_set(m, "ccai_calls_in_progress", NULL, 3), CCAI_OK);
    assert_int_equal(Ccai_metrics_gauge_add(m, "ccai_calls_in_progress", "", -1), CCAI_OK);
    const double obs[] = {0.05, 0.1, 0.3, 2};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(obs); i++)
        assert_int_equal(
            Ccai_metrics_histogram_observe(m, "ccai_llm_seconds", "model=\"gpt\"", obs[i]),
            CCAI_OK);

    char *text = Ccai_metrics_render(m);
    assert_non_null(text);
    assert_string_equal(text,
                        "# HELP ccai_http_requests_total HTTP requests.\\nBy route \\\\ code.\n"
                        "# TYPE ccai_http_requests_total counter\n"
                        "ccai_http_requests_total{route=\"/call\",code=\"200\"} 3\n"
                        "ccai_http_requests_total{route=\"a\\\"b\\\\c\\nd\"} 0.5\n"
                        "# TYPE ccai_calls_in_progress gauge\n"
                        "ccai_calls_in_progress 2\n"
                        "# HELP ccai_llm_seconds LLM latency.\n"
                        "# TYPE ccai_llm_seconds histogram\n"
                        "ccai_llm_seconds_bucket{model=\"gpt\",le=\"0.1\"} 2\n"
                        "ccai_llm_seconds_bucket{model=\"gpt\",le=\"0.5\"} 3\n"
                        "ccai_llm_seconds_bucket{model=\"gpt\",le=\"1\"} 3\n"
                        "ccai_llm_seconds_bucket{model=\"gpt\",le=\"+Inf\"} 4\n"
                        "ccai_llm_seconds_sum{model=\"gpt\"} 2.45\n"
                        "ccai_llm_seconds_count{model=\"gpt\"} 4\n");
    ccai_free(text);
    Ccai_metrics_free(m);
}

static void test_metrics_errors(void **state)
{
    (void)state;
    Ccai_metrics *m = Ccai_metrics_new();
    assert_int_equal(Ccai_metrics_register(m, "9bad", CCAI_METRIC_COUNTER, NULL, NULL, 0),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_metrics_register(m, "bad-name", CCAI_METRIC_COUNTER, NULL, NULL, 0),
                     CCAI_ERR_INVALID_ARG);
    static const double unsorted[] = {1, 0.5};
    assert_int_equal(Ccai_metrics_register(m, "h", CCAI_METRIC_HISTOGRAM, NULL, unsorted, 2),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_metrics_register(m, "h", CCAI_METRIC_HISTOGRAM, NULL, NULL, 0), CCAI_OK);
    assert_int_equal(Ccai_metrics_register(m, "h", CCAI_METRIC_HISTOGRAM, "again", NULL, 0),
                     CCAI_OK);
    assert_int_equal(Ccai_metrics_register(m, "h", CCAI_METRIC_GAUGE, NULL, NULL, 0),
                     CCAI_ERR_STATE);
    assert_int_equal(Ccai_metrics_register(m, "c:total", CCAI_METRIC_COUNTER, NULL, NULL, 0),
                     CCAI_OK);
    assert_int_equal(Ccai_metrics_counter_add(m, "nope", NULL, 1), CCAI_ERR_NOT_FOUND);
    assert_int_equal(Ccai_metrics_counter_add(m, "h", NULL, 1), CCAI_ERR_STATE);
    assert_int_equal(Ccai_metrics_counter_add(m, "c:total", NULL, -1), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_metrics_counter_add(m, "c:total", "a=\"x", 1), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_metrics_counter_add(m, "c:total", "a=\"x\"\n", 1), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_metrics_counter_add(m, "c:total", "__a=\"x\"", 1), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_metrics_counter_add(m, "c:total", "a=\"\\x\"", 1), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_metrics_counter_add(m, "c:total", "a=\"1\",b=\"2\"", 1), CCAI_OK);
    assert_int_equal(Ccai_metrics_histogram_observe(m, "h", "le=\"1\"", 1), CCAI_ERR_INVALID_ARG);
    assert_null(Ccai_metrics_labels("bad key", "v", NULL));
    assert_null(Ccai_metrics_labels("k", (const char *)NULL, NULL));
    char *empty = Ccai_metrics_labels(NULL, NULL);
    assert_string_equal(empty, "");
    ccai_free(empty);
    /* Default buckets: 11 bounds and +Inf. */
    assert_int_equal(Ccai_metrics_histogram_observe(m, "h", NULL, 0.2), CCAI_OK);
    char *text = Ccai_metrics_render(m);
    assert_non_null(strstr(text, "h_bucket{le=\"0.005\"} 0\n"));
    assert_non_null(strstr(text, "h_bucket{le=\"0.25\"} 1\n"));
    assert_non_null(strstr(text, "h_bucket{le=\"10\"} 1\nh_bucket{le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(text, "h_sum 0.2\nh_count 1\n"));
    ccai_free(text);
    Ccai_metrics_free(m);
    Ccai_metrics_free(NULL);
}

/* A counter set from a total kept elsewhere never goes down. */
static void test_metrics_counter_set(void **state)
{
    (void)state;
    Ccai_metrics *m = Ccai_metrics_new();
    assert_non_null(m);
    assert_int_equal(Ccai_metrics_register(m, "cpu_total", CCAI_METRIC_COUNTER, NULL, NULL, 0),
                     CCAI_OK);
    assert_int_equal(Ccai_metrics_counter_set(m, "cpu_total", NULL, 2.5), CCAI_OK);
    assert_int_equal(Ccai_metrics_counter_set(m, "cpu_total", NULL, 1.0), CCAI_OK);
    assert_int_equal(Ccai_metrics_counter_set(m, "cpu_total", NULL, -1.0), CCAI_ERR_INVALID_ARG);
    char *text = Ccai_metrics_render(m);
    assert_non_null(strstr(text, "\ncpu_total 2.5\n"));
    ccai_free(text);
    Ccai_metrics_free(m);
}

/* The process's metrics are read at collect time, under Prometheus' names. */
static void test_metrics_process(void **state)
{
    (void)state;
    Ccai_metrics *m = Ccai_metrics_new();
    assert_non_null(m);
    assert_int_equal(Ccai_metrics_process_init(m, "9.8.7\"x"), CCAI_OK);
    Ccai_metrics_collect(m);
    char *text = Ccai_metrics_render(m);
    assert_non_null(text);
    assert_non_null(strstr(text, "ccai_build_info{version=\"9.8.7\\\"x\"} 1\n"));
    assert_non_null(strstr(text, "# TYPE process_cpu_seconds_total counter\n"));
    const char *rss = strstr(text, "\nprocess_resident_memory_bytes ");
    const char *fds = strstr(text, "\nprocess_open_fds ");
    assert_non_null(rss);
    assert_non_null(fds);
    assert_true(strtod(rss + strlen("\nprocess_resident_memory_bytes "), NULL) > 100000.0);
    double open_before = strtod(fds + strlen("\nprocess_open_fds "), NULL);
    ccai_free(text);
    /* Two more descriptors are seen at the next collect. */
    int p[2];
    assert_int_equal(pipe(p), 0);
    Ccai_metrics_collect(m);
    text = Ccai_metrics_render(m);
    fds = strstr(text, "\nprocess_open_fds ");
    assert_non_null(fds);
    assert_true(strtod(fds + strlen("\nprocess_open_fds "), NULL) == open_before + 2.0);
    ccai_free(text);
    close(p[0]);
    close(p[1]);
    Ccai_metrics_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metrics_exposition),
        cmocka_unit_test(test_metrics_errors),
        cmocka_unit_test(test_metrics_counter_set),
        cmocka_unit_test(test_metrics_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
