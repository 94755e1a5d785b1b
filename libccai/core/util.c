/* Clock, randomness, identifiers. */
#include "core/common.h"

#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

uint64_t Ccai_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int64_t Ccai_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void Ccai_format_iso8601(int64_t wall_ms, char *out, size_t outlen)
{
    time_t secs = (time_t)(wall_ms / 1000);
    int ms = (int)(wall_ms % 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    int year = tm.tm_year + 1900;
    if (year < 0 || year > 9999) { /* beyond four digits: as printf would */
        snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", year, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
        return;
    }
    /* By hand: every snprintf() of the process takes glibc's slow path once
     * a library registered a printf specifier (libquadmath, through
     * pocketsphinx's LAPACK, does), several thousand instructions a call. */
    char t[25];
    const int parts[7] = {year, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms};
    static const char seps[7] = {'-', '-', 'T', ':', ':', '.', 'Z'};
    static const int widths[7] = {4, 2, 2, 2, 2, 2, 3};
    size_t n = 0;
    for (size_t i = 0; i < 7; i++) {
        for (int w = widths[i] - 1, v = parts[i]; w >= 0; w--, v /= 10)
            t[n + (size_t)w] = (char)('0' + v % 10);
        n += (size_t)widths[i];
        t[n++] = seps[i];
    }
    if (!outlen)
        return;
    size_t len = n < outlen - 1 ? n : outlen - 1; /* cut as snprintf() would */
    memcpy(out, t, len);
    out[len] = '\0';
}

bool Ccai_random_bytes(void *out, size_t len)
{
    if (len > INT32_MAX)
        return false;
    return RAND_bytes(out, (int)len) == 1;
}

uint64_t Ccai_backoff_ms(int attempt, uint32_t base_ms, uint32_t max_ms)
{
    int shift = attempt <= 1 ? 0 : attempt - 1 < 20 ? attempt - 1 : 20;
    uint64_t base = (uint64_t)base_ms << shift;
    if (base > max_ms)
        base = max_ms;
    /* Without random bytes every client waits the whole delay: still a
     * backoff, only without the spread. */
    unsigned char r = 255;
    if (!Ccai_random_bytes(&r, 1))
        r = 255;
    return base * (750u + (uint64_t)r * 250u / 255u) / 1000u;
}

char *Ccai_printable_excerpt(const char *body, size_t len, size_t max)
{
    char *s = Ccai_strndup(body, len < max ? len : max);
    if (!s)
        return NULL;
    for (size_t i = 0; s[i]; i++) {
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            s[i] = ' ';
    }
    return s;
}

bool Ccai_uuid4(char out[37])
{
    unsigned char b[16];
    if (!Ccai_random_bytes(b, sizeof b))
        return false;
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return true;
}

bool Ccai_random_token(char *out, size_t len)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    size_t i = 0;
    while (i < len) {
        unsigned char b[64];
        if (!Ccai_random_bytes(b, sizeof b))
            return false;
        for (size_t k = 0; k < sizeof b && i < len; k++) {
            /* 248 = 4 * 62: reject the tail to stay uniform. */
            if (b[k] < 248)
                out[i++] = alphabet[b[k] % 62];
        }
    }
    out[len] = '\0';
    return true;
}

int Ccai_strcasecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int ca = Ccai_to_lower((unsigned char)*a), cb = Ccai_to_lower((unsigned char)*b);
        if (ca != cb || !ca)
            return ca - cb;
    }
}

CCAI_EXPORT uint64_t ccai_time_ms(void)
{
    return Ccai_monotonic_ms();
}

int64_t Ccai_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int64_t Ccai_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = Ccai_floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void Ccai_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = Ccai_floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}
