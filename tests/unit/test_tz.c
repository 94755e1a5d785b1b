/* core/tz.c: the time zone of a phone number, zone names, the local time
 * {date} shows (against libc), the fallback to UTC, the TZif parser on
 * built and truncated files, out of memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Time zones --------------------------------------------------------------- */

static void test_tz_for_phone(void **state)
{
    (void)state;
    static const struct {
        const char *phone, *zone;
    } cases[] = {
        {"+33612345678", "Europe/Paris"},
        {"0033612345678", "Europe/Paris"},
        {"+12125550100", "America/New_York"},
        {"+14155550100", "America/Los_Angeles"},
        {"+17875550100", "America/Puerto_Rico"},
        {"+34600000000", "Europe/Madrid"},
        {"+447700900000", "Europe/London"},
        {"+4915112345678", "Europe/Berlin"},
        {"+351912345678", "Europe/Lisbon"},
        {"+353851234567", "Europe/Dublin"},
        {"+358401234567", "Europe/Helsinki"},
        {"+74951234567", "Europe/Moscow"},
        {"+77011234567", "Asia/Almaty"},
        {"+8613812345678", "Asia/Shanghai"},
        {"+819012345678", "Asia/Tokyo"},
        {"+919812345678", "Asia/Kolkata"},
        {"+61412345678", "Australia/Sydney"},
        {"+5511912345678", "America/Sao_Paulo"},
        {"+525512345678", "America/Mexico_City"},
        {"+212612345678", "Africa/Casablanca"},
        {"+971501234567", "Asia/Dubai"},
        {"+27821234567", "Africa/Johannesburg"},
        {"+2348012345678", "Africa/Lagos"},
        {"+6591234567", "Asia/Singapore"},
        {"+64211234567", "Pacific/Auckland"},
        {"+999123", "UTC"},
        {"+", "UTC"},
        {"33612345678", "UTC"},
        {"+x33", "UTC"},
        {"", "UTC"},
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(cases); i++) {
        const char *z = Ccai_tz_for_phone(cases[i].phone);
        if (strcmp(z, cases[i].zone) != 0)
            fail_msg("%s: %s, expected %s", cases[i].phone, z, cases[i].zone);
    }
    assert_string_equal(Ccai_tz_for_phone(NULL), "UTC");
}

static void test_tz_names(void **state)
{
    (void)state;
    assert_true(Ccai_tz_name_valid("Europe/Paris"));
    assert_true(Ccai_tz_name_valid("America/Argentina/Buenos_Aires"));
    assert_true(Ccai_tz_name_valid("Etc/GMT+1"));
    assert_true(Ccai_tz_name_valid("America/Port-au-Prince"));
    assert_true(Ccai_tz_name_valid("UTC"));
    assert_false(Ccai_tz_name_valid(NULL));
    assert_false(Ccai_tz_name_valid(""));
    assert_false(Ccai_tz_name_valid("../etc/passwd"));
    assert_false(Ccai_tz_name_valid("Europe/../../etc/passwd"));
    assert_false(Ccai_tz_name_valid("/etc/passwd"));
    assert_false(Ccai_tz_name_valid("Europe//Paris"));
    assert_false(Ccai_tz_name_valid("Europe/"));
    assert_false(Ccai_tz_name_valid("Europe/Paris\n"));
    assert_false(Ccai_tz_name_valid("Europe Paris"));
    char longname[CCAI_TZ_NAME_MAX + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_false(Ccai_tz_name_valid(longname));
    longname[CCAI_TZ_NAME_MAX] = '\0';
    assert_true(Ccai_tz_name_valid(longname));
}

static bool have_tzdata(void)
{
    Ccai_tz *tz = NULL;
    if (Ccai_tz_load("Europe/Paris", &tz) != CCAI_OK)
        return false;
    Ccai_tz_free(tz);
    return true;
}

/* The zone (UTC when unavailable) and wall_ms formatted in it. */
static ccai_status format_now(const char *zone, int64_t wall_ms, const Ccai_logger *lg, char *out,
                              size_t outlen)
{
    Ccai_tz *tz = NULL;
    ccai_status st = Ccai_tz_load_or_utc(zone, lg, &tz);
    if (st != CCAI_OK)
        return st;
    st = Ccai_tz_format(tz, wall_ms, out, outlen);
    Ccai_tz_free(tz);
    return st;
}

static void assert_format(const char *zone, int64_t unix_s, const char *want)
{
    char out[CCAI_TZ_FORMAT_MAX];
    assert_int_equal(format_now(zone, unix_s * 1000 + 999, NULL, out, sizeof out), CCAI_OK);
    assert_string_equal(out, want);
}

static void test_tz_format(void **state)
{
    (void)state;
    if (!have_tzdata())
        skip();
    assert_format("Europe/Paris", 1705318980, "Mon 15 Jan 2024, 12:43 (CET)");  /* 11:43Z */
    assert_format("Europe/Paris", 1721040180, "Mon 15 Jul 2024, 12:43 (CEST)"); /* 10:43Z */
    assert_format("America/New_York", 1705340580, "Mon 15 Jan 2024, 12:43 (EST)");
    assert_format("America/New_York", 1721061780, "Mon 15 Jul 2024, 12:43 (EDT)");
    assert_format("Asia/Kolkata", 1721040180, "Mon 15 Jul 2024, 16:13 (IST)");
    assert_format("Asia/Dubai", 1721040180, "Mon 15 Jul 2024, 14:43 (+04)");
    assert_format("UTC", 1721040180, "Mon 15 Jul 2024, 10:43 (UTC)");
    /* Around the 2024 changes in Paris: 31 Mar 01:00Z and 27 Oct 01:00Z. */
    assert_format("Europe/Paris", 1711846799, "Sun 31 Mar 2024, 01:59 (CET)");
    assert_format("Europe/Paris", 1711846800, "Sun 31 Mar 2024, 03:00 (CEST)");
    assert_format("Europe/Paris", 1729990799, "Sun 27 Oct 2024, 02:59 (CEST)");
    assert_format("Europe/Paris", 1729990800, "Sun 27 Oct 2024, 02:00 (CET)");
    /* Far beyond the file's transitions: the footer rule decides. */
    assert_format("Europe/Paris", 4119331380, "Thu 15 Jul 2100, 12:43 (CEST)");
    assert_format("Australia/Sydney", 4103689380, "Fri 15 Jan 2100, 20:43 (AEDT)");
    assert_format("Australia/Sydney", 4119331380, "Thu 15 Jul 2100, 20:43 (AEST)");
    /* Before 1970 and the 64-bit section. */
    assert_format("Europe/Paris", -946771200, "Mon 01 Jan 1940, 00:00 (WET)");

    char out[CCAI_TZ_FORMAT_MAX];
    assert_int_equal(format_now("UTC", 0, NULL, out, 10), CCAI_ERR_LIMIT);
    assert_int_equal(format_now("UTC", INT64_MAX, NULL, out, sizeof out), CCAI_ERR_INVALID_ARG);
}

static void on_log(ccai_log_level level, const char *msg, void *ud)
{
    char *last = ud;
    (void)level;
    snprintf(last, 256, "%s", msg);
}

static void test_tz_fallback(void **state)
{
    (void)state;
    char out[CCAI_TZ_FORMAT_MAX], last[256] = "";
    Ccai_logger lg = {on_log, last, CCAI_LOG_DEBUG};
    assert_int_equal(format_now("Nowhere/Atlantis", 1721040180000, &lg, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Mon 15 Jul 2024, 10:43 (UTC)");
    assert_string_equal(last, "time zone \"Nowhere/Atlantis\" unavailable (not found): times in "
                              "UTC");
    last[0] = '\0';
    assert_int_equal(format_now("../../etc/passwd", 1721040180000, &lg, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Mon 15 Jul 2024, 10:43 (UTC)");
    assert_non_null(strstr(last, "invalid argument"));
    /* A directory is not a zone. */
    assert_int_equal(format_now("America", 1721040180000, NULL, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Mon 15 Jul 2024, 10:43 (UTC)");
    /* From another tzdata directory, here one without zones. */
    Ccai_tz *tz = NULL;
    assert_int_equal(Ccai_tz_load_from("/nonexistent", "Europe/Paris", &tz), CCAI_ERR_NOT_FOUND);
    assert_null(tz);
}

static void test_tz_known_zones_exist(void **state)
{
    (void)state;
    if (!have_tzdata())
        skip();
    size_t n = 0;
    for (const char *z; (z = Ccai_tz_known_zone(n)); n++) {
        Ccai_tz *tz = NULL;
        ccai_status st = Ccai_tz_load(z, &tz);
        if (st != CCAI_OK)
            fail_msg("%s: %s", z, ccai_status_str(st));
        Ccai_tz_free(tz);
    }
    assert_true(n > 150);
}

/* Our offsets agree with the C library's on many instants (the test may
 * set TZ: it is single-threaded). */
static void test_tz_matches_libc(void **state)
{
    (void)state;
    if (!have_tzdata())
        skip();
    static const char *const zones[] = {
        "Europe/Paris",      "America/New_York", "Australia/Sydney",    "Europe/Dublin",
        "Africa/Casablanca", "America/Santiago", "Australia/Lord_Howe", "Asia/Tehran",
        "America/Nuuk",      "Pacific/Auckland", "Asia/Kolkata",        "America/Sao_Paulo",
        "Europe/London",     "Asia/Gaza",        "America/Havana",      "UTC",
    };
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    uint64_t seed = 0x9e3779b97f4a7c15u;
    size_t checked = 0;
    for (size_t z = 0; z < CCAI_ARRAY_SIZE(zones); z++) {
        Ccai_tz *tz = NULL;
        assert_int_equal(Ccai_tz_load(zones[z], &tz), CCAI_OK);
        char tzenv[80];
        snprintf(tzenv, sizeof tzenv, ":%s", zones[z]);
        setenv("TZ", tzenv, 1);
        tzset();
        for (int i = 0; i < 3000; i++) {
            seed = seed * 6364136223846793005u + 1442695040888963407u;
            /* 1901 .. 2200 */
            int64_t t = -2145916800 + (int64_t)((seed >> 20) % UINT64_C(9467280000));
            time_t tt = (time_t)t;
            struct tm tm;
            assert_non_null(localtime_r(&tt, &tm));
            int32_t off;
            const char *abbr;
            bool isdst;
            Ccai_tz_lookup(tz, t, &off, &abbr, &isdst);
            if (off != tm.tm_gmtoff || strcmp(abbr, tm.tm_zone) != 0)
                fail_msg("%s at %lld: %d %s, libc %ld %s", zones[z], (long long)t, off, abbr,
                         tm.tm_gmtoff, tm.tm_zone);
            checked++;
        }
        Ccai_tz_free(tz);
    }
    if (old)
        setenv("TZ", old, 1);
    else
        unsetenv("TZ");
    tzset();
    free(old);
    assert_int_equal(checked, 3000 * CCAI_ARRAY_SIZE(zones));
}

static void assert_local(const char *zone, const char *iso, const char *want, int64_t want_t)
{
    Ccai_tz *tz = NULL;
    assert_int_equal(Ccai_tz_load(zone, &tz), CCAI_OK);
    char out[CCAI_TZ_ISO_MAX];
    int64_t ms = 0;
    assert_int_equal(Ccai_tz_localize_iso(tz, iso, out, sizeof out, &ms), CCAI_OK);
    if (strcmp(out, want) != 0 || ms != want_t * 1000)
        fail_msg("%s in %s: %s (%lld), expected %s (%lld)", iso, zone, out, (long long)ms / 1000,
                 want, (long long)want_t);
    Ccai_tz_free(tz);
}

/* Local times to instants: the offset of that local time, DST-correct. A
 * time that does not exist moves on by the gap, one that happens twice is
 * the first; every other local time agrees with the C library's mktime(). */
static void test_tz_local_times(void **state)
{
    (void)state;
    if (!have_tzdata())
        skip();
    /* Los Angeles: 9 Mar 2031 02:00 PST -> 03:00 PDT; 2 Nov 2031 02:00 PDT
     * -> 01:00 PST. Paris: 30 Mar 2031 02:00 -> 03:00; 26 Oct 03:00 -> 02:00. */
    assert_local("America/Los_Angeles", "2031-01-15T09:00:00", "2031-01-15T09:00:00-08:00",
                 1926262800);
    assert_local("America/Los_Angeles", "2031-07-15T09:00:00", "2031-07-15T09:00:00-07:00",
                 1941897600);
    assert_local("America/Los_Angeles", "2031-03-09T01:59:00", "2031-03-09T01:59:00-08:00",
                 1930816740);
    assert_local("America/Los_Angeles", "2031-03-09T02:30:00", "2031-03-09T03:30:00-07:00",
                 1930818600);
    assert_local("America/Los_Angeles", "2031-03-09T03:00:00", "2031-03-09T03:00:00-07:00",
                 1930816800);
    assert_local("America/Los_Angeles", "2031-11-02T01:30:00", "2031-11-02T01:30:00-07:00",
                 1951374600);
    assert_local("America/Los_Angeles", "2031-11-02T02:00:00", "2031-11-02T02:00:00-08:00",
                 1951380000);
    assert_local("Europe/Paris", "2031-03-30T01:59:00", "2031-03-30T01:59:00+01:00", 1932598740);
    assert_local("Europe/Paris", "2031-03-30T02:30:00", "2031-03-30T03:30:00+02:00", 1932600600);
    assert_local("Europe/Paris", "2031-10-26T02:30:00", "2031-10-26T02:30:00+02:00", 1950741000);
    assert_local("Europe/Paris", "2031-10-26T03:00:00", "2031-10-26T03:00:00+01:00", 1950746400);
    assert_local("Asia/Kolkata", "2024-10-08T14:30:00", "2024-10-08T14:30:00+05:30", 1728378000);
    assert_local("UTC", "2024-10-08T14:30:00", "2024-10-08T14:30:00+00:00", 1728397800);
    /* With an offset: kept as it is. */
    assert_local("Europe/Paris", "2024-10-08T14:30:00Z", "2024-10-08T14:30:00Z", 1728397800);
    assert_local("Europe/Paris", "2024-10-08T14:30:00-07:00", "2024-10-08T14:30:00-07:00",
                 1728423000);

    /* Every hour of two years in both zones against mktime() (times that
     * exist once only: libc's choice elsewhere is its own). */
    static const char *const zones[] = {"America/Los_Angeles", "Europe/Paris"};
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    for (size_t z = 0; z < 2; z++) {
        Ccai_tz *tz = NULL;
        assert_int_equal(Ccai_tz_load(zones[z], &tz), CCAI_OK);
        char tzenv[80];
        snprintf(tzenv, sizeof tzenv, ":%s", zones[z]);
        setenv("TZ", tzenv, 1);
        tzset();
        for (int64_t local = 1924992000; local < 1924992000 + 2 * 365 * 86400; local += 3600 + 60) {
            int64_t t;
            int32_t off;
            Ccai_tz_from_local(tz, local, &t, &off);
            time_t tt = (time_t)t;
            struct tm tm;
            assert_non_null(localtime_r(&tt, &tm));
            if (t + off != local) /* a gap: moved on by it */
                continue;
            assert_int_equal(off, tm.tm_gmtoff);
            struct tm want;
            time_t lt = (time_t)local;
            gmtime_r(&lt, &want);
            want.tm_isdst = -1;
            time_t m = mktime(&want);
            int32_t other;
            Ccai_tz_lookup(tz, t - 3600, &other, NULL, NULL);
            if (other == off || other < off) /* not a repeated hour */
                assert_int_equal((int64_t)m, t);
        }
        Ccai_tz_free(tz);
    }
    if (old)
        setenv("TZ", old, 1);
    else
        unsetenv("TZ");
    tzset();
    free(old);

    /* Malformed, and a NULL zone (UTC). */
    char out[CCAI_TZ_ISO_MAX];
    static const char *const bad[] = {"2024-10-08",
                                      "2024-10-08 14:30:00",
                                      "2024-13-08T14:30:00",
                                      "2024-10-08T14:30:00+2",
                                      "2024-10-08T14:30:00+02:60",
                                      "2024-10-08T14:30:00X",
                                      "0000-10-08T14:30:00",
                                      "x024-10-08T14:30:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(Ccai_tz_localize_iso(NULL, bad[i], out, sizeof out, NULL), CCAI_ERR_PARSE);
    assert_int_equal(Ccai_tz_localize_iso(NULL, "2024-10-08T14:30:00", out, 8, NULL),
                     CCAI_ERR_LIMIT);
    assert_int_equal(Ccai_tz_localize_iso(NULL, "2024-10-08T14:30:00", out, sizeof out, NULL),
                     CCAI_OK);
    assert_string_equal(out, "2024-10-08T14:30:00+00:00");
    assert_int_equal(Ccai_tz_iso_at(NULL, 1728397800123, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "2024-10-08T14:30:00+00:00");
}

/* TZif parser on built files ------------------------------------------------ */

typedef struct tzif_b {
    uint8_t d[1024];
    size_t n;
} tzif_b;

static void put_be(tzif_b *b, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--)
        b->d[b->n++] = (uint8_t)(v >> (8 * i));
}

/* A version 2 file with one type and the given footer; the v1 section is
 * empty apart from that type. */
static void build(tzif_b *b, int32_t utoff, const char *abbr, const char *footer)
{
    memset(b, 0, sizeof *b);
    size_t charcnt = strlen(abbr) + 1;
    for (int part = 0; part < 2; part++) {
        memcpy(b->d + b->n, "TZif2", 5);
        b->n += 20;
        put_be(b, 0, 4);       /* isutcnt */
        put_be(b, 0, 4);       /* isstdcnt */
        put_be(b, 0, 4);       /* leapcnt */
        put_be(b, 0, 4);       /* timecnt */
        put_be(b, 1, 4);       /* typecnt */
        put_be(b, charcnt, 4); /* charcnt */
        put_be(b, (uint32_t)utoff, 4);
        b->d[b->n++] = 0;
        b->d[b->n++] = 0;
        memcpy(b->d + b->n, abbr, charcnt);
        b->n += charcnt;
    }
    b->n += snprintf((char *)b->d + b->n, sizeof b->d - b->n, "\n%s\n", footer);
}

static void test_tz_parse_built(void **state)
{
    (void)state;
    tzif_b b;
    Ccai_tz *tz = NULL;
    char out[CCAI_TZ_FORMAT_MAX];

    /* Only a footer: the US rule. */
    build(&b, -18000, "EST", "EST5EDT,M3.2.0,M11.1.0");
    assert_int_equal(Ccai_tz_parse(b.d, b.n, &tz), CCAI_OK);
    assert_int_equal(Ccai_tz_format(tz, 1721061780000, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Mon 15 Jul 2024, 12:43 (EDT)");
    assert_int_equal(Ccai_tz_format(tz, 1705340580000, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Mon 15 Jan 2024, 12:43 (EST)");
    Ccai_tz_free(tz);

    /* Quoted names, Julian days, negative and over-24h times (v3). */
    build(&b, 14400, "+04", "<+04>-4");
    assert_int_equal(Ccai_tz_parse(b.d, b.n, &tz), CCAI_OK);
    assert_int_equal(Ccai_tz_format(tz, 0, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Thu 01 Jan 1970, 04:00 (+04)");
    Ccai_tz_free(tz);
    build(&b, -7200, "-02", "<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
    assert_int_equal(Ccai_tz_parse(b.d, b.n, &tz), CCAI_OK);
    assert_int_equal(Ccai_tz_format(tz, 1721040180000, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Mon 15 Jul 2024, 09:43 (-01)");
    Ccai_tz_free(tz);
    build(&b, 0, "AAA", "AAA0BBB,J60/25,300");
    assert_int_equal(Ccai_tz_parse(b.d, b.n, &tz), CCAI_OK);
    int32_t off;
    /* J60 is 1 Mar even in leap years; the change is at 25:00, 2 Mar 01:00. */
    Ccai_tz_lookup(tz, 1709341200 - 1, &off, NULL, NULL); /* 2024-03-02T00:59:59Z */
    assert_int_equal(off, 0);
    Ccai_tz_lookup(tz, 1709341200, &off, NULL, NULL);
    assert_int_equal(off, 3600);
    Ccai_tz_free(tz);

    /* Empty footer: the last type rules. */
    build(&b, 3600, "XYZ", "");
    assert_int_equal(Ccai_tz_parse(b.d, b.n, &tz), CCAI_OK);
    assert_int_equal(Ccai_tz_format(tz, 0, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Thu 01 Jan 1970, 01:00 (XYZ)");
    Ccai_tz_free(tz);

    /* Bad footers. */
    static const char *const bad[] = {
        "E5",
        "EST",
        "EST5EDT",
        "EST5EDT,M3.2.0",
        "EST5EDT,M13.2.0,M11.1.0",
        "EST5EDT,M3.6.0,M11.1.0",
        "EST5EDT,J0,J10",
        "EST5EDT,M3.2.0,M11.1.0/168",
        "<EST5",
        "EST25",
        "EST5EDT,M3.2.0,M11.1.0x",
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(bad); i++) {
        build(&b, 0, "EST", bad[i]);
        tz = NULL;
        if (Ccai_tz_parse(b.d, b.n, &tz) != CCAI_ERR_PARSE)
            fail_msg("footer \"%s\" accepted", bad[i]);
        assert_null(tz);
    }

    /* Corruptions of a good file. */
    build(&b, -18000, "EST", "EST5EDT,M3.2.0,M11.1.0");
    tzif_b c = b;
    c.d[0] = 'X';
    assert_int_equal(Ccai_tz_parse(c.d, c.n, &tz), CCAI_ERR_PARSE);
    c = b;
    c.d[4] = '1';
    assert_int_equal(Ccai_tz_parse(c.d, c.n, &tz), CCAI_ERR_PARSE);
    c = b;
    c.d[36 + 3] = 0; /* typecnt 0 */
    assert_int_equal(Ccai_tz_parse(c.d, c.n, &tz), CCAI_ERR_PARSE);
    c = b;
    c.d[c.n - 1] = 'x'; /* footer not closed */
    assert_int_equal(Ccai_tz_parse(c.d, c.n, &tz), CCAI_ERR_PARSE);
    /* The version 1 section is skipped; the version 2 one, at 54, is read. */
    const size_t v2 = 44 + 6 + 4;
    c = b;
    c.d[v2 + 44 + 5] = 9; /* abbreviation index beyond the characters */
    assert_int_equal(Ccai_tz_parse(c.d, c.n, &tz), CCAI_ERR_PARSE);
    c = b;
    c.d[v2 + 44 + 6 + 3] = 'x'; /* abbreviation not NUL-terminated */
    assert_int_equal(Ccai_tz_parse(c.d, c.n, &tz), CCAI_ERR_PARSE);
    c = b;
    c.d[v2 + 44 + 4] = 2; /* isdst neither 0 nor 1 */
    assert_int_equal(Ccai_tz_parse(c.d, c.n, &tz), CCAI_ERR_PARSE);
    c = b;
    c.d[44 + 5] = 9; /* ... while the same in version 1 goes unnoticed */
    assert_int_equal(Ccai_tz_parse(c.d, c.n, &tz), CCAI_OK);
    Ccai_tz_free(tz);
    assert_int_equal(Ccai_tz_parse(NULL, 0, &tz), CCAI_ERR_PARSE);
    assert_int_equal(Ccai_tz_parse(NULL, 1, &tz), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_tz_parse(b.d, b.n, NULL), CCAI_ERR_INVALID_ARG);
}

static void test_tz_parse_truncated(void **state)
{
    (void)state;
    if (!have_tzdata())
        skip();
    static const char *const zones[] = {"Europe/Paris", "America/New_York", "Asia/Dubai"};
    for (size_t z = 0; z < CCAI_ARRAY_SIZE(zones); z++) {
        char path[256];
        snprintf(path, sizeof path, "%s/%s", CCAI_TZ_DIR, zones[z]);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static uint8_t buf[CCAI_TZ_FILE_MAX];
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        assert_true(len > 44);
        Ccai_tz *tz = NULL;
        assert_int_equal(Ccai_tz_parse(buf, len, &tz), CCAI_OK);
        Ccai_tz_free(tz);
        for (size_t n = 0; n < len; n++) {
            tz = NULL;
            if (Ccai_tz_parse(buf, n, &tz) == CCAI_OK)
                fail_msg("%s cut at %zu bytes accepted", zones[z], n);
            assert_null(tz);
        }
        /* Two transitions of the 64-bit section swapped. */
        size_t cnt[6], v2 = 44;
        for (int i = 0; i < 6; i++)
            cnt[i] = (size_t)buf[20 + 4 * i] << 24 | (size_t)buf[21 + 4 * i] << 16 |
                     (size_t)buf[22 + 4 * i] << 8 | buf[23 + 4 * i];
        v2 += cnt[3] * 5 + cnt[4] * 6 + cnt[5] + cnt[2] * 8 + cnt[1] + cnt[0];
        assert_memory_equal(buf + v2, "TZif", 4);
        assert_true(buf[v2 + 35] >= 2);
        static uint8_t copy[CCAI_TZ_FILE_MAX];
        memcpy(copy, buf, len);
        memcpy(copy + v2 + 44, buf + v2 + 52, 8);
        memcpy(copy + v2 + 52, buf + v2 + 44, 8);
        assert_int_equal(Ccai_tz_parse(copy, len, &tz), CCAI_ERR_PARSE);
    }
    Ccai_tz *tz = NULL;
    static uint8_t huge[CCAI_TZ_FILE_MAX + 1];
    assert_int_equal(Ccai_tz_parse(huge, sizeof huge, &tz), CCAI_ERR_LIMIT);
}

static void test_tz_utc(void **state)
{
    (void)state;
    Ccai_tz *tz = NULL;
    assert_int_equal(Ccai_tz_new_utc(&tz), CCAI_OK);
    char out[CCAI_TZ_FORMAT_MAX];
    assert_int_equal(Ccai_tz_format(tz, -1, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Wed 31 Dec 1969, 23:59 (UTC)");
    assert_int_equal(Ccai_tz_format(tz, 951782400000, out, sizeof out), CCAI_OK);
    assert_string_equal(out, "Tue 29 Feb 2000, 00:00 (UTC)");
    Ccai_tz_free(tz);
    Ccai_tz_free(NULL);
}

/* Out of memory ---------------------------------------------------------------- */

static long allocs_left;

static void *oom_malloc(size_t size, void *ud)
{
    (void)ud;
    return allocs_left-- > 0 ? malloc(size) : NULL;
}

static void *oom_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    return allocs_left-- > 0 ? realloc(ptr, size) : NULL;
}

static void oom_free(void *ptr, void *ud)
{
    (void)ud;
    free(ptr);
}

/* Every allocation failure gives a clean CCAI_ERR_NOMEM, never a zone
 * taken for missing (then UTC), and no leak (ASan checks the latter). */
static void test_tz_oom(void **state)
{
    (void)state;
    if (!have_tzdata())
        skip();
    const ccai_allocator a = {CCAI_ALLOCATOR_VERSION, oom_malloc, oom_realloc, oom_free, NULL,
                              CCAI_ALLOCATOR_JSON};
    bool done_tz = false;
    long tz_failures = 0;
    for (long n = 0; n < 100000 && !done_tz; n++) {
        assert_int_equal(ccai_set_allocator(&a), CCAI_OK);
        {
            allocs_left = n;
            char out[CCAI_TZ_FORMAT_MAX];
            ccai_status st = format_now("Europe/Paris", 1721040180000, NULL, out, sizeof out);
            assert_true(st == CCAI_OK || st == CCAI_ERR_NOMEM);
            tz_failures += st == CCAI_ERR_NOMEM;
            if (st == CCAI_OK) {
                /* Not UTC: a failed allocation is never taken for a
                 * missing zone. */
                assert_string_equal(out, "Mon 15 Jul 2024, 12:43 (CEST)");
                done_tz = true;
            }
        }
        ccai_set_allocator(NULL);
    }
    assert_true(done_tz);
    assert_true(tz_failures >= 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tz_for_phone),
        cmocka_unit_test(test_tz_names),
        cmocka_unit_test(test_tz_format),
        cmocka_unit_test(test_tz_fallback),
        cmocka_unit_test(test_tz_known_zones_exist),
        cmocka_unit_test(test_tz_matches_libc),
        cmocka_unit_test(test_tz_local_times),
        cmocka_unit_test(test_tz_parse_built),
        cmocka_unit_test(test_tz_parse_truncated),
        cmocka_unit_test(test_tz_utc),
        cmocka_unit_test(test_tz_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
