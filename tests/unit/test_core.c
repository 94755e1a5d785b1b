/* core/: buffers, strings, ids, clocks, statuses, allocator hooks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/common.h"
#include "core/hostport.h"
#include "core/json.h"
#include "core/numbering.h"
#include "support/randtext.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>

/* RFC 4648 section 10's vectors, appended after what the buffer holds. */
static void test_buf_base64(void **state)
{
    (void)state;
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const out[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        Ccai_buf b = {0};
        assert_true(Ccai_buf_puts(&b, "x:"));
        assert_true(Ccai_buf_base64(&b, in[i], strlen(in[i])));
        assert_string_equal(b.data + 2, out[i]);
        assert_int_equal(b.len, 2 + strlen(out[i]));
        Ccai_buf_free(&b);
    }
    const uint8_t bin[] = {0x00, 0xff, 0xfe, 0x80};
    Ccai_buf b = {0};
    assert_true(Ccai_buf_base64(&b, bin, sizeof bin));
    assert_string_equal(b.data, "AP/+gA==");
    Ccai_buf_free(&b);
    /* Decoding: RFC 4648's vectors back, both alphabets, strictness. */
    uint8_t d[16];
    size_t n;
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(Ccai_base64_decode(out[i], strlen(out[i]), false, d, sizeof d, &n), 0);
        assert_int_equal(n, strlen(in[i]));
        assert_memory_equal(d, in[i], n);
    }
    assert_int_equal(Ccai_base64_decode("AP/+gA==", 8, false, d, sizeof d, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(d, bin, 4);
    assert_int_equal(Ccai_base64_decode("AP_-gA", 6, true, d, sizeof d, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(d, bin, 4);
    static const char *const bad[] = {
        "Zg=", "Zg", "Zh==", "Z===", "Zm9v=", "Zm 9v", "Zm9-", "AP_+", "====", "Zg==Zg=="};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(bad); i++)
        assert_int_equal(Ccai_base64_decode(bad[i], strlen(bad[i]), false, d, sizeof d, &n), -1);
    assert_int_equal(Ccai_base64_decode("Zg==", 4, true, d, sizeof d, &n), -1); /* url: no '=' */
    assert_int_equal(Ccai_base64_decode("aGl", 3, true, d, sizeof d, &n), -1);  /* trailing bits */
    assert_int_equal(Ccai_base64_decode("Zm9vYmFy", 8, false, d, 5, &n), -2);
    assert_int_equal(Ccai_base64_decode("Zm9vYmE=", 8, false, d, 5, &n), 0);
}

/* The same vectors back; what is not base64, and what does not fit. */
static void test_base64_decode(void **state)
{
    (void)state;
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const enc[] = {"",         "Zg==",     "Zm8=",    "Zm9v",
                                      "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    uint8_t out[16];
    size_t n = 99;
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(Ccai_base64_decode(enc[i], strlen(enc[i]), false, out, sizeof out, &n), 0);
        assert_int_equal(n, strlen(in[i]));
        assert_memory_equal(out, in[i], n);
    }
    assert_int_equal(Ccai_base64_decode("AP/+gA==", 8, false, out, sizeof out, &n), 0);
    assert_int_equal(n, 4);
    assert_memory_equal(out, "\x00\xff\xfe\x80", 4);
    static const char *const bad[] = {"Zg=", "Zg", "Z===", "Zm9v!A==", "=Zm9", "Zg=a", "Zm 9v"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(Ccai_base64_decode(bad[i], strlen(bad[i]), false, out, sizeof out, &n),
                         -1);
    assert_int_equal(Ccai_base64_decode("Zm9vYmFy", 8, false, out, 5, &n), -2);
    assert_int_equal(n, 0);
}

static void test_buf(void **state)
{
    (void)state;
    Ccai_buf b = {0};
    for (int i = 0; i < 1000; i++)
        assert_true(Ccai_buf_printf(&b, "%d,", i % 10));
    assert_int_equal(b.len, 2000);
    assert_int_equal(b.data[b.len], '\0');
    assert_memory_equal(b.data, "0,1,2,", 6);
    assert_true(Ccai_buf_append(&b, "x\0y", 3));
    assert_int_equal(b.len, 2003);
    Ccai_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_true(Ccai_buf_puts(&b, "abc"));
    char *s = Ccai_buf_steal(&b);
    assert_string_equal(s, "abc");
    assert_null(b.data);
    ccai_free(s);
    s = Ccai_buf_steal(&b); /* empty buffer gives "" */
    assert_string_equal(s, "");
    ccai_free(s);
    Ccai_buf_free(&b);
}

/* The formatting by hand gives what snprintf() gives: numbers at their
 * limits, strings cut at the same place, a printf that fits the room left
 * and one that does not. */
static void test_fmt_by_hand(void **state)
{
    (void)state;
    static const long long nums[] = {0,         7,        -7, 10, 99, 100, -100, 1234567890123LL,
                                     LLONG_MAX, LLONG_MIN};
    char d[24], want[32];
    for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
        snprintf(want, sizeof want, "%lld", nums[i]);
        assert_int_equal(Ccai_fmt_i64(d, nums[i]), strlen(want));
        assert_string_equal(d, want);
    }
    assert_int_equal(Ccai_fmt_u64(d, ULLONG_MAX), 20);
    assert_string_equal(d, "18446744073709551615");
    Ccai_buf b = {0};
    assert_true(Ccai_buf_put_i64(&b, -42) && Ccai_buf_put_u64(&b, 17));
    assert_string_equal(b.data, "-4217");
    Ccai_buf_free(&b);
    const char *parts[][3] = {{"cue.", "name", ""}, {"ask.", "a", "+b"}, {"", "", ""}};
    for (size_t cap = 1; cap < 12; cap++) {
        for (size_t i = 0; i < 3; i++) {
            char got[12], exp[12];
            memset(got, 'x', sizeof got);
            int n = snprintf(exp, cap, "%s%s%s", parts[i][0], parts[i][1], parts[i][2]);
            size_t m = Ccai_strjoin(got, cap, parts[i][0], parts[i][1], parts[i][2], NULL);
            assert_int_equal(m, (size_t)n);
            assert_string_equal(got, exp);
        }
    }
    assert_int_equal(Ccai_strjoin(d, 0, "abc", NULL), 3);
    /* into the room left, then past it (the buffer grows and formats again) */
    assert_true(Ccai_buf_puts(&b, "ab"));
    assert_true(Ccai_buf_printf(&b, "%d-%s", 12, "x"));
    assert_string_equal(b.data, "ab12-x");
    size_t room = b.cap - b.len;
    char big[256];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_true(room < sizeof big);
    assert_true(Ccai_buf_printf(&b, "<%s>", big));
    assert_int_equal(b.len, 6 + 2 + sizeof big - 1);
    assert_int_equal(b.data[b.len], '\0');
    assert_memory_equal(b.data, "ab12-x<yyy", 10);
    assert_int_equal(b.data[b.len - 1], '>');
    Ccai_buf_free(&b);
}

static void test_strings(void **state)
{
    (void)state;
    char *s = Ccai_asprintf("%s-%d", "a", 42);
    assert_string_equal(s, "a-42");
    ccai_free(s);
    s = Ccai_strndup("abcdef", 3);
    assert_string_equal(s, "abc");
    assert_true(Ccai_str_replace(&s, "xyz"));
    assert_string_equal(s, "xyz");
    assert_true(Ccai_str_replace(&s, NULL));
    assert_null(s);
    assert_null(Ccai_strdup(NULL));
    assert_int_equal(Ccai_strcasecmp("Retry-After", "retry-after"), 0);
    assert_true(Ccai_strcasecmp("a", "b") < 0);
}

static void test_uuid_and_token(void **state)
{
    (void)state;
    char a[37], b[37];
    assert_true(Ccai_uuid4(a));
    assert_true(Ccai_uuid4(b));
    assert_int_equal(strlen(a), 36);
    assert_string_not_equal(a, b);
    assert_int_equal(a[8], '-');
    assert_int_equal(a[14], '4'); /* version 4 */
    assert_non_null(strchr("89ab", a[19]));
    char t[33];
    assert_true(Ccai_random_token(t, 32));
    assert_int_equal(strlen(t), 32);
    for (int i = 0; i < 32; i++)
        assert_true(Ccai_is_alpha(t[i]) || Ccai_is_digit(t[i]));
}

static void test_time(void **state)
{
    (void)state;
    char out[40];
    Ccai_format_iso8601(0, out, sizeof out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    Ccai_format_iso8601(1728352800123LL, out, sizeof out);
    assert_string_equal(out, "2024-10-08T02:00:00.123Z");
    Ccai_format_iso8601(-1, out, sizeof out); /* before the epoch */
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    Ccai_format_iso8601(253402300799999LL, out, sizeof out);
    assert_string_equal(out, "9999-12-31T23:59:59.999Z");
    Ccai_format_iso8601(253402300800000LL, out, sizeof out); /* five digits, as printf */
    assert_string_equal(out, "10000-01-01T00:00:00.000Z");
    char small[11];
    Ccai_format_iso8601(1728352800123LL, small, sizeof small); /* cut, as snprintf */
    assert_string_equal(small, "2024-10-08");
    uint64_t a = Ccai_monotonic_ms(), b = ccai_time_ms();
    assert_true(b >= a);
    assert_true(Ccai_wall_ms() > 1700000000000LL);
}

static void test_calendar(void **state)
{
    (void)state;
    assert_int_equal(Ccai_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(Ccai_days_from_civil(2024, 10, 8), 20004);
    assert_int_equal(Ccai_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(Ccai_floor_div(-1, 86400), -1);
    assert_int_equal(Ccai_floor_div(86399, 86400), 0);
    /* Round trips across leap years, centuries and negative years. */
    for (int64_t d = -800000; d <= 800000; d += 997) {
        int64_t y;
        int m, dd;
        Ccai_civil_from_days(d, &y, &m, &dd);
        assert_true(m >= 1 && m <= 12 && dd >= 1 && dd <= 31);
        assert_int_equal(Ccai_days_from_civil(y, m, dd), d);
    }
    int64_t y;
    int m, dd;
    Ccai_civil_from_days(Ccai_days_from_civil(2000, 2, 29), &y, &m, &dd);
    assert_true(y == 2000 && m == 2 && dd == 29);
}

static void test_status_strings(void **state)
{
    (void)state;
    for (int s = CCAI_OK; s <= CCAI_ERR_INTERNAL; s++) {
        const char *txt = ccai_status_str((ccai_status)s);
        assert_non_null(txt);
        assert_string_not_equal(txt, "unknown status");
    }
    assert_string_equal(ccai_status_str((ccai_status)999), "unknown status");
    assert_string_equal(ccai_call_state_str(CCAI_CALL_LANGUAGE_MENU), "language_menu");
    assert_string_equal(ccai_call_state_str((ccai_call_state)99), "unknown");
    assert_string_equal(ccai_event_type_str(CCAI_EVENT_RECORDING), "recording");
    assert_string_equal(ccai_event_type_str(CCAI_EVENT_CHOICE), "choice");
    assert_string_equal(ccai_event_type_str(CCAI_EVENT_NOT_UNDERSTOOD), "not_understood");
    assert_string_equal(ccai_event_type_str(CCAI_EVENT_ANSWERING_MACHINE), "answering_machine");
    assert_string_equal(ccai_event_type_str((ccai_event_type)15), "unknown");
    assert_string_equal(ccai_style_str(CCAI_STYLE_SAD), "sad");
    assert_string_equal(ccai_log_level_str(CCAI_LOG_DEBUG), "debug");
    assert_string_equal(ccai_version(), CCAI_VERSION_STRING);
    assert_int_equal(ccai_version_num(), CCAI_VERSION_NUM);
}

static size_t counted;
static void *count_malloc(size_t n, void *ud)
{
    (void)ud;
    counted++;
    return malloc(n);
}
static void *count_realloc(void *p, size_t n, void *ud)
{
    (void)ud;
    counted++;
    return realloc(p, n);
}
static void count_free(void *p, void *ud)
{
    (void)ud;
    free(p);
}

static void test_allocator_hooks(void **state)
{
    (void)state;
    ccai_allocator bad = {.version = 99, count_malloc, count_realloc, count_free, NULL, 0};
    assert_int_equal(ccai_set_allocator(&bad), CCAI_ERR_INVALID_ARG);
    bad.version = 0;
    assert_int_equal(ccai_set_allocator(&bad), CCAI_ERR_INVALID_ARG);
    bad.version = CCAI_ALLOCATOR_VERSION + 1;
    assert_int_equal(ccai_set_allocator(&bad), CCAI_ERR_INVALID_ARG);
    ccai_allocator half = {CCAI_ALLOCATOR_VERSION, count_malloc, NULL, count_free, NULL, 0};
    assert_int_equal(ccai_set_allocator(&half), CCAI_ERR_INVALID_ARG);
    ccai_allocator unknown_flag = {
        CCAI_ALLOCATOR_VERSION, count_malloc, count_realloc, count_free, NULL, 1u << 7};
    assert_int_equal(ccai_set_allocator(&unknown_flag), CCAI_ERR_INVALID_ARG);
    ccai_allocator good = {
        CCAI_ALLOCATOR_VERSION, count_malloc, count_realloc, count_free, NULL, 0};
    assert_int_equal(ccai_set_allocator(&good), CCAI_OK);
    counted = 0;
    char *s = Ccai_strdup("x");
    assert_int_equal(counted, 1);
    ccai_free(s);
    assert_int_equal(ccai_set_allocator(NULL), CCAI_OK);
    counted = 0;
    s = Ccai_strdup("x");
    assert_int_equal(counted, 0);
    ccai_free(s);
}

/* A host's own jansson hooks, to see whether libccai leaves them alone. */
static size_t host_json_allocs;
static void *host_json_malloc(size_t n)
{
    host_json_allocs++;
    return malloc(n);
}
static void host_json_free(void *p)
{
    free(p);
}

/* jansson's hooks are the process's: ccai_set_allocator() routes them only
 * when asked (CCAI_ALLOCATOR_JSON), and gives back the host's. */
static void test_allocator_json_opt_in(void **state)
{
    (void)state;
    json_malloc_t m0 = NULL;
    json_free_t f0 = NULL;
    json_get_alloc_funcs(&m0, &f0);
    json_set_alloc_funcs(host_json_malloc, host_json_free);

    ccai_allocator plain = {
        CCAI_ALLOCATOR_VERSION, count_malloc, count_realloc, count_free, NULL, 0};
    assert_int_equal(ccai_set_allocator(&plain), CCAI_OK);
    json_malloc_t m = NULL;
    json_free_t f = NULL;
    json_get_alloc_funcs(&m, &f);
    assert_ptr_equal(m, host_json_malloc);
    assert_ptr_equal(f, host_json_free);
    counted = host_json_allocs = 0;
    json_decref(json_string("left alone"));
    assert_int_equal(counted, 0);
    assert_true(host_json_allocs > 0);

    ccai_allocator routed = plain;
    routed.flags = CCAI_ALLOCATOR_JSON;
    assert_int_equal(ccai_set_allocator(&routed), CCAI_OK);
    counted = host_json_allocs = 0;
    json_decref(json_string("routed"));
    assert_true(counted > 0);
    assert_int_equal(host_json_allocs, 0);
    /* Setting it again (another allocator, still routed) keeps the host's
     * hooks to give back. */
    assert_int_equal(ccai_set_allocator(&routed), CCAI_OK);

    /* Dropping the flag, or the allocator, puts the host's hooks back. */
    assert_int_equal(ccai_set_allocator(&plain), CCAI_OK);
    json_get_alloc_funcs(&m, &f);
    assert_ptr_equal(m, host_json_malloc);
    assert_ptr_equal(f, host_json_free);
    assert_int_equal(ccai_set_allocator(&routed), CCAI_OK);
    assert_int_equal(ccai_set_allocator(NULL), CCAI_OK);
    json_get_alloc_funcs(&m, &f);
    assert_ptr_equal(m, host_json_malloc);
    assert_ptr_equal(f, host_json_free);

    json_set_alloc_funcs(m0, f0);
}

typedef struct logged {
    int n;
    ccai_log_level level;
    char msg[1200];
} logged;

static void sink(ccai_log_level level, const char *msg, void *ud)
{
    logged *l = ud;
    l->n++;
    l->level = level;
    strncpy(l->msg, msg, sizeof l->msg - 1);
}

static void test_log(void **state)
{
    (void)state;
    logged l = {0};
    Ccai_logger lg = {sink, &l, CCAI_LOG_INFO};
    Ccai_log(&lg, CCAI_LOG_DEBUG, "dropped %d", 1);
    assert_int_equal(l.n, 0);
    Ccai_log(&lg, CCAI_LOG_WARN, "kept %d", 2);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.msg, "kept 2");
    char big[1000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    Ccai_log(&lg, CCAI_LOG_ERROR, "%s!", big); /* longer than the stack buffer */
    assert_int_equal(strlen(l.msg), 1000);
    Ccai_log(NULL, CCAI_LOG_ERROR, "no logger is fine");
}

/* Phone numbers are masked above debug level, in every line; debug lines
 * keep them (a developer's). */
static void test_log_masks_phone_numbers(void **state)
{
    (void)state;
    logged l = {0};
    Ccai_logger lg = {sink, &l, CCAI_LOG_DEBUG};
    Ccai_log(&lg, CCAI_LOG_WARN, "twilio: HTTP 400, 21211: The 'To' number %s is not valid",
             "+33612345678");
    assert_string_equal(l.msg, "twilio: HTTP 400, 21211: The 'To' number +33******78 is not valid");
    Ccai_log(&lg, CCAI_LOG_INFO,
             "http: GET /call/%%2B33612345678 -> 500, sms to +1 (415) "
             "555-0199 and +44 20 7946 0958.");
    assert_string_equal(l.msg, "http: GET /call/+33******78 -> 500, sms to +14******99 and "
                               "+44******58.");
    Ccai_log(&lg, CCAI_LOG_DEBUG, "sms to %s", "+33612345678");
    assert_string_equal(l.msg, "sms to +33612345678");
    /* Not phone numbers: left alone. */
    Ccai_log(&lg, CCAI_LOG_ERROR, "1+1 = 2, +12345 points, a+b, +, ++, 3 + 4");
    assert_string_equal(l.msg, "1+1 = 2, +12345 points, a+b, +, ++, 3 + 4");
    char big[1000];
    memset(big, 'z', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    Ccai_log(&lg, CCAI_LOG_ERROR, "%s +33612345678", big); /* the heap path */
    assert_non_null(strstr(l.msg, "z +33******78"));

    char *out = NULL;
    assert_int_equal(ccai_log_mask("to +123456 and +1234567890123456789012", &out), CCAI_OK);
    assert_string_equal(out, "to +12**56 and +1234567890123456789012"); /* too long: no number */
    ccai_free(out);
    assert_int_equal(ccai_log_mask(NULL, &out), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_log_mask("x", NULL), CCAI_ERR_INVALID_ARG);
}

/* Every line reaches the sink as one line of valid UTF-8, at every level:
 * a caller's words with a line break, a provider's error text that is not
 * UTF-8, a multi-byte character cut by the length limit of a message. */
static void test_log_lines_are_loggable(void **state)
{
    (void)state;
    logged l = {0};
    Ccai_logger lg = {sink, &l, CCAI_LOG_DEBUG};
    Ccai_log(&lg, CCAI_LOG_DEBUG, "caller: %s", "two\nlines\tand \xc3\xa9t\xc3\xa9 \xff\xc3(");
    assert_string_equal(l.msg, "caller: two\\x0alines\\x09and \xc3\xa9t\xc3\xa9 \\xff\\xc3(");
    Ccai_log(&lg, CCAI_LOG_WARN, "acs: HTTP 400: %s", "\x01\x7f\xed\xa0\x80 +33612345678");
    assert_string_equal(l.msg, "acs: HTTP 400: \\x01\\x7f\\xed\\xa0\\x80 +33******78");
    char big[1100];
    memset(big, 'z', sizeof big);
    memcpy(big + sizeof big - 3, "\xe2\x82", 2); /* a cut euro sign at the end */
    big[sizeof big - 1] = '\0';
    Ccai_log(&lg, CCAI_LOG_ERROR, "%s", big); /* the heap path */
    assert_int_equal(strlen(l.msg), sizeof big - 3 + 8);
    assert_string_equal(l.msg + sizeof big - 3, "\\xe2\\x82");
    Ccai_log(&lg, CCAI_LOG_INFO, "plain \xe2\x82\xac ascii");
    assert_string_equal(l.msg, "plain \xe2\x82\xac ascii");

    Ccai_buf b = {0};
    assert_true(Ccai_buf_append_loggable(&b,
                                         "/a\xff\xc3\xa9"
                                         "b",
                                         6, 4));
    assert_string_equal(b.data, "/a\\xff\\xc3...");
    Ccai_buf_free(&b);
}

/* Retry delays double from base up to max, with jitter in (0.75, 1]. */
static void test_backoff(void **state)
{
    (void)state;
    for (int round = 0; round < 200; round++) {
        uint64_t d1 = Ccai_backoff_ms(1, 500, 8000);
        assert_true(d1 >= 375 && d1 <= 500);
        uint64_t d3 = Ccai_backoff_ms(3, 500, 8000);
        assert_true(d3 >= 1500 && d3 <= 2000);
        uint64_t d9 = Ccai_backoff_ms(9, 500, 8000); /* capped */
        assert_true(d9 >= 6000 && d9 <= 8000);
        uint64_t big = Ccai_backoff_ms(1000, UINT32_MAX, UINT32_MAX); /* no overflow */
        assert_true(big >= (uint64_t)UINT32_MAX * 3 / 4 && big <= UINT32_MAX);
        assert_true(Ccai_backoff_ms(0, 500, 8000) <= 500);
    }
}

static void test_printable_excerpt(void **state)
{
    (void)state;
    const char body[] = "<html>\r\n<b>502</b>\tBad\x7fGateway</html>";
    char *s = Ccai_printable_excerpt(body, sizeof body - 1, 200);
    assert_non_null(s);
    assert_string_equal(s, "<html>  <b>502</b> Bad Gateway</html>");
    ccai_free(s);
    s = Ccai_printable_excerpt(body, sizeof body - 1, 6);
    assert_string_equal(s, "<html>");
    ccai_free(s);
    s = Ccai_printable_excerpt("", 0, 10);
    assert_string_equal(s, "");
    ccai_free(s);
}

/* Ccai_json_put_string() writes what jansson writes for the same string,
 * and refuses what jansson refuses (invalid UTF-8). */
static void check_put_string(const char *s, size_t n)
{
    json_t *v = json_stringn(s, n);
    Ccai_buf got = {0};
    bool ok = Ccai_json_put_string(&got, s, n);
    assert_int_equal(ok, v != NULL);
    if (v) {
        json_t *a = json_pack("[O]", v);
        char *want = Ccai_json_dump(a, JSON_COMPACT);
        assert_non_null(want);
        want[strlen(want) - 1] = '\0';
        assert_string_equal(got.data, want + 1);
        ccai_free(want);
        json_decref(a);
    }
    json_decref(v);
    Ccai_buf_free(&got);
}

static void test_json_put_string(void **state)
{
    (void)state;
    char buf[4096];
    randtext r = {7};
    check_put_string("", 0);
    check_put_string("a\0b", 3); /* a NUL as \u0000 */
    for (int ch = 0; ch < 0x80; ch++) {
        char one = (char)ch;
        check_put_string(&one, 1);
    }
    for (int i = 0; i < 20000; i++) {
        const char *t = rt_text(&r, buf, sizeof buf, 40);
        check_put_string(t, strlen(t));
    }
    /* Random bytes: mostly invalid UTF-8, cut sequences, overlong forms,
     * surrogates, code points above U+10FFFF. */
    for (int i = 0; i < 20000; i++) {
        size_t n = rt_below(&r, 12);
        for (size_t k = 0; k < n; k++)
            buf[k] = (char)(rt_below(&r, 3) ? 0x80 + rt_below(&r, 0x80) : rt_below(&r, 0x100));
        check_put_string(buf, n);
    }
    /* What needs escaping, counted eight bytes at a time, as byte by byte. */
    for (int i = 0; i < 20000; i++) {
        size_t n = rt_below(&r, 64), want = 0;
        for (size_t k = 0; k < n; k++) {
            uint32_t pick = rt_below(&r, 8);
            buf[k] = (char)(pick == 0   ? rt_below(&r, 0x20)
                            : pick == 1 ? '"'
                            : pick == 2 ? '\\'
                            : pick == 3 ? 0x80 + rt_below(&r, 0x80)
                                        : 0x20 + rt_below(&r, 0x5f));
            want += (unsigned char)buf[k] < 0x20 || buf[k] == '"' || buf[k] == '\\';
        }
        assert_int_equal(Ccai_json_escapes(buf, n), want);
        check_put_string(buf, n);
    }
}

/* sip.allow and audiosocket.allow: networks and single addresses, IPv4 and
 * IPv6, an IPv4 peer on a dual-stack socket, the errors a person sees. */
static void test_allow_list(void **state)
{
    (void)state;
    Ccai_allow a = {0};
    char why[160] = "";
    assert_true(Ccai_allow_parse(&a, "10.0.0.0/8, 192.168.1.7\tfd00::/8 ,, 172.16.0.0/12", why));
    assert_int_equal(a.n, 4);
    struct sockaddr_in v4 = {.sin_family = AF_INET};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    int family;
    uint8_t addr[16];
    char text[64];
    static const struct {
        const char *ip;
        bool in;
    } cases[] = {{"10.200.3.4", true},     {"11.0.0.1", false},      {"192.168.1.7", true},
                 {"192.168.1.8", false},   {"172.31.255.255", true}, {"172.32.0.1", false},
                 {"fd12::1", true},        {"fe80::1", false},       {"::ffff:10.1.2.3", true},
                 {"::ffff:8.8.8.8", false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const void *sa = &v4;
        if (inet_pton(AF_INET, cases[i].ip, &v4.sin_addr) != 1) {
            assert_int_equal(inet_pton(AF_INET6, cases[i].ip, &v6.sin6_addr), 1);
            sa = &v6;
        }
        assert_true(Ccai_allow_peer(sa, &family, addr, text, sizeof text));
        assert_true(Ccai_allow_match(&a, family, addr) == cases[i].in);
        if (strstr(cases[i].ip, "::ffff:")) { /* told as the IPv4 peer it is */
            assert_int_equal(family, AF_INET);
            assert_string_equal(text, cases[i].ip + 7);
        }
    }
    struct sockaddr un = {.sa_family = AF_UNIX};
    assert_false(Ccai_allow_peer(&un, &family, addr, text, sizeof text));

    static const char *const bad[] = {"10.0.0.0/33", "::/129",      "10.0.0.0/", "10.0.0/8",
                                      "example.com", "10.0.0.0/-1", "1.2.3.4/8x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        Ccai_allow b = {0};
        assert_false(Ccai_allow_parse(&b, bad[i], why));
        assert_non_null(strstr(why, bad[i]));
        assert_non_null(strstr(why, "is not an address or a CIDR"));
    }
    Ccai_allow full = {0};
    char many[65 * 12] = "";
    for (int i = 0; i < 65; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "10.0.0.%d ", i);
    assert_false(Ccai_allow_parse(&full, many, why));
    assert_int_equal(full.n, CCAI_ALLOW_MAX);
    assert_non_null(strstr(why, "at most 64"));
    Ccai_allow none = {0};
    assert_true(Ccai_allow_parse(&none, NULL, why) && Ccai_allow_parse(&none, "", why));
    assert_int_equal(none.n, 0);
}

/* National numbers as E.164, and a number's region, from the plans'
 * table: trunk prefixes dropped (or kept: Italy), lengths and first
 * digits checked, regions without a plan refused. */
static void test_numbering(void **state)
{
    (void)state;
    static const struct {
        const char *region, *digits, *e164; /* NULL: refused */
    } cases[] = {
        {"FR", "0612345678", "+33612345678"},
        {"FR", "612345678", NULL}, /* no trunk 0: a digit may be missing */
        {"ie", "0857712044", "+353857712044"},
        {"GB", "07700900684", "+447700900684"},
        {"AU", "0491570156", "+61491570156"},
        {"ES", "612345678", "+34612345678"},
        {"ES", "0612345678", NULL},
        {"MX", "8112345678", "+528112345678"},
        {"CO", "3004445566", "+573004445566"},
        {"CO", "4004445566", NULL}, /* no Colombian number starts with 4 */
        {"US", "6465550139", "+16465550139"},
        {"US", "16465550139", "+16465550139"},
        {"US", "1465550139", NULL}, /* an area code never starts with 1 */
        {"IT", "0612345678", "+390612345678"},
        {"IT", "3331234567", "+393331234567"},
        {"IN", "9876543210", "+919876543210"},
        {"IN", "09876543210", "+919876543210"},
        {"PE", "987654321", "+51987654321"},
        {"PE", "014567890", "+5114567890"},
        {"AT", "012345678", "+4312345678"},
        {"DE", "040123456", "+4940123456"},
        {"UY", "24012345", "+59824012345"},
        {"UY", "094123456", "+59894123456"},
        {"PH", "0281234567", "+63281234567"},
        {"CL", "322123456", "+56322123456"},
        /* Argentina: with or without the 0; mobiles "area 15 local" */
        {"AR", "01143218765", "+541143218765"},
        {"AR", "2614321876", "+542614321876"},
        {"AR", "1115432187", "+541115432187"}, /* ten digits: a fixed line */
        {"AR", "111532109876", "+5491132109876"},
        {"AR", "0111532109876", "+5491132109876"},
        {"AR", "22315987654", NULL},
        {"AR", "223155987654", "+5492235987654"},
        {"AR", "294415765432", "+5492944765432"},
        {"AR", "511532109876", NULL}, /* no area code starts with 5 */
        {"ZZ", "0612345678", NULL},
        {NULL, "0612345678", NULL},
        {"FR", "06 12", NULL},
    };
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(cases); k++) {
        char out[32];
        bool ok = Ccai_numbering_e164(cases[k].region, cases[k].digits, out, sizeof out);
        if (ok != (cases[k].e164 != NULL) || (ok && strcmp(out, cases[k].e164) != 0))
            fail_msg("%s %s: %s, expected %s", cases[k].region ? cases[k].region : "(none)",
                     cases[k].digits, ok ? out : "refused",
                     cases[k].e164 ? cases[k].e164 : "refused");
    }
    char small[8];
    assert_false(Ccai_numbering_e164("FR", "0612345678", small, sizeof small));
    assert_string_equal(Ccai_numbering_region("+353857712044"), "IE");
    assert_string_equal(Ccai_numbering_region("+35212345678"), "LU");
    assert_string_equal(Ccai_numbering_region("+16465550139"), "US");
    assert_string_equal(Ccai_numbering_region("+528112345678"), "MX");
    assert_null(Ccai_numbering_region("+8613812345678"));
    assert_null(Ccai_numbering_region("0612345678"));
    assert_null(Ccai_numbering_region(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_numbering),
        cmocka_unit_test(test_fmt_by_hand),
        cmocka_unit_test(test_buf_base64),
        cmocka_unit_test(test_base64_decode),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_uuid_and_token),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_status_strings),
        cmocka_unit_test(test_allocator_hooks),
        cmocka_unit_test(test_allocator_json_opt_in),
        cmocka_unit_test(test_log),
        cmocka_unit_test(test_log_masks_phone_numbers),
        cmocka_unit_test(test_log_lines_are_loggable),
        cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_printable_excerpt),
        cmocka_unit_test(test_json_put_string),
        cmocka_unit_test(test_allow_list),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
