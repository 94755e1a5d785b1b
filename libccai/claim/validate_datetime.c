/* A claim's date and time: ISO 8601 and the forms a caller's words take
 * once written down ("08/10/2024 14:30", "8.10.2024 2pm", "2024-10-08 14h30
 * UTC"), normalised to "YYYY-MM-DDTHH:MM:SS" with the offset when one was
 * given. The other validators are claim/validate.c. */
#include "claim/validate.h"

#include <stdio.h>
#include <string.h>

#define DATETIME_HINT "use YYYY-MM-DD HH:MM, e.g. 2024-10-08 14:30"

#define YEAR_MIN 1900
#define YEAR_MAX 2200

typedef enum dt_offset { DT_OFFSET_NONE, DT_OFFSET_UTC, DT_OFFSET_NUMERIC } dt_offset;

typedef struct dt_value {
    int year, month, day, hour, minute, second;
    bool day_first;   /* read as DD/MM/YYYY: say so when the month is wrong */
    int meridiem;     /* 0 none, 1 am, 2 pm */
    dt_offset offset; /* offset_sign is +1 or -1 */
    int offset_sign, offset_hour, offset_minute;
} dt_value;

static size_t digit_run(const char *s)
{
    size_t n = 0;
    while (Ccai_is_digit((unsigned char)s[n]))
        n++;
    return n;
}

/* Value of @p n (at most 8) digits. */
static int digits_value(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Date: YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYYMMDD, or day first
 * DD/MM/YYYY, DD.MM.YYYY, DD-MM-YYYY. */
static CCAI_MUST_CHECK bool dt_parse_date(const char *s, size_t *pos, dt_value *dt)
{
    size_t i = *pos, n = digit_run(s + i);
    if (n == 8) {
        dt->year = digits_value(s + i, 4);
        dt->month = digits_value(s + i + 4, 2);
        dt->day = digits_value(s + i + 6, 2);
        *pos = i + 8;
        return true;
    }
    if (n != 4 && n != 1 && n != 2)
        return false;
    int first = digits_value(s + i, n);
    bool year_first = n == 4;
    i += n;
    char sep = s[i];
    if (sep != '-' && sep != '/' && sep != '.')
        return false;
    i++;
    size_t m = digit_run(s + i);
    if (m < 1 || m > 2)
        return false;
    dt->month = digits_value(s + i, m);
    i += m;
    if (s[i] != sep)
        return false;
    i++;
    size_t last = digit_run(s + i);
    if (year_first ? (last < 1 || last > 2) : last != 4)
        return false;
    if (year_first) {
        dt->year = first;
        dt->day = digits_value(s + i, last);
    } else {
        dt->day = first;
        dt->year = digits_value(s + i, last);
        dt->day_first = true;
    }
    *pos = i + last;
    return true;
}

/* am, pm, a.m., p.m. followed by the end, a space or an offset. */
static size_t dt_parse_meridiem(const char *s, int *ret)
{
    static const struct {
        const char *word;
        int value;
    } words[] = {{"a.m.", 1}, {"p.m.", 2}, {"am", 1}, {"pm", 2}};
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(words); k++) {
        size_t n = strlen(words[k].word);
        if (!Ccai_valid_prefix_nocase(s, words[k].word))
            continue;
        char after = s[n];
        if (after && !Ccai_is_space((unsigned char)after) && after != '+' && after != '-' &&
            after != 'Z' && after != 'z')
            continue;
        *ret = words[k].value;
        return n;
    }
    return 0;
}

/* Time: HH:MM, HH:MM:SS[.fff], HHhMM, HHh, HHMM, HHMMSS, H am/pm; then an
 * optional offset: Z, UTC, GMT, +HH, +HHMM, +HH:MM (UTC/GMT may carry one). */
static CCAI_MUST_CHECK bool dt_parse_time(const char *s, size_t *pos, dt_value *dt)
{
    size_t i = *pos, n = digit_run(s + i);
    bool has_seconds = false;
    if (n == 4 || n == 6) {
        dt->hour = digits_value(s + i, 2);
        dt->minute = digits_value(s + i + 2, 2);
        if (n == 6) {
            dt->second = digits_value(s + i + 4, 2);
            has_seconds = true;
        }
        i += n;
    } else if (n == 1 || n == 2) {
        dt->hour = digits_value(s + i, n);
        i += n;
        if (s[i] == ':') {
            i++;
            if (digit_run(s + i) != 2)
                return false;
            dt->minute = digits_value(s + i, 2);
            i += 2;
            if (s[i] == ':') {
                i++;
                if (digit_run(s + i) != 2)
                    return false;
                dt->second = digits_value(s + i, 2);
                i += 2;
                has_seconds = true;
            }
        } else if (s[i] == 'h' || s[i] == 'H') {
            i++;
            size_t m = digit_run(s + i);
            if (m == 2)
                dt->minute = digits_value(s + i, 2);
            else if (m != 0)
                return false;
            i += m;
        } else {
            /* A bare hour only with am/pm ("2 pm"), checked below. */
            dt->meridiem = -1;
        }
    } else {
        return false;
    }

    /* The fraction of a second is dropped: claims are kept to the second. */
    if (has_seconds && (s[i] == '.' || s[i] == ',') && Ccai_is_digit((unsigned char)s[i + 1])) {
        i++;
        i += digit_run(s + i);
    }

    size_t j = i;
    while (Ccai_is_space((unsigned char)s[j]))
        j++;
    int meridiem = 0;
    size_t mlen = dt_parse_meridiem(s + j, &meridiem);
    if (mlen) {
        dt->meridiem = meridiem;
        i = j + mlen;
        j = i;
        while (Ccai_is_space((unsigned char)s[j]))
            j++;
    } else if (dt->meridiem < 0) {
        return false;
    }

    if (s[j] == 'Z' || s[j] == 'z') {
        dt->offset = DT_OFFSET_UTC;
        j++;
    } else if (Ccai_valid_prefix_nocase(s + j, "utc") || Ccai_valid_prefix_nocase(s + j, "gmt")) {
        dt->offset = DT_OFFSET_UTC;
        j += 3;
    }
    if (s[j] == '+' || s[j] == '-') {
        dt->offset = DT_OFFSET_NUMERIC;
        dt->offset_sign = s[j] == '-' ? -1 : 1;
        j++;
        size_t m = digit_run(s + j);
        if (m == 4) {
            dt->offset_hour = digits_value(s + j, 2);
            dt->offset_minute = digits_value(s + j + 2, 2);
            j += 4;
        } else if (m == 1 || m == 2) {
            dt->offset_hour = digits_value(s + j, m);
            j += m;
            if (s[j] == ':') {
                j++;
                if (digit_run(s + j) != 2)
                    return false;
                dt->offset_minute = digits_value(s + j, 2);
                j += 2;
            }
        } else {
            return false;
        }
    }
    if (dt->offset == DT_OFFSET_NONE)
        j = i;
    *pos = j;
    return true;
}

static CCAI_MUST_CHECK bool is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static const char *const month_names[] = {
    "January", "February", "March",     "April",   "May",      "June",
    "July",    "August",   "September", "October", "November", "December",
};

ccai_status Ccai_valid_datetime(const char *value, char **ret_normalized, char **ret_error)
{
    size_t b, e;
    Ccai_valid_trim(value, &b, &e);
    if (b == e)
        return Ccai_valid_fail(ret_error, NULL, "the date is empty; " DATETIME_HINT);

    /* Parse a trimmed copy so that the grammar sees the end of the value. */
    char *s = Ccai_strndup(value + b, e - b);
    if (!s)
        return CCAI_ERR_NOMEM;
    dt_value dt = {0};
    size_t i = 0;
    ccai_status st = CCAI_OK;
    bool ok = dt_parse_date(s, &i, &dt);
    if (ok && s[i]) {
        if (s[i] == 'T' || s[i] == 't') {
            i++;
        } else if (Ccai_is_space((unsigned char)s[i])) {
            while (Ccai_is_space((unsigned char)s[i]))
                i++;
        } else {
            ok = false;
        }
        ok = ok && dt_parse_time(s, &i, &dt) && s[i] == '\0';
    }
    if (!ok) {
        st = Ccai_valid_fail(ret_error, s,
                             "is not a date and time I can read; " DATETIME_HINT
                             " (also accepted: 2024-10-08T14:30:00Z, DD/MM/YYYY HH:MM day first)");
        goto cleanup;
    }

    if (dt.year < YEAR_MIN || dt.year > YEAR_MAX) {
        st = Ccai_valid_fail(ret_error, s,
                             "is not a valid date: the year must be between %d and %d; %s",
                             YEAR_MIN, YEAR_MAX, DATETIME_HINT);
        goto cleanup;
    }
    if (dt.month < 1 || dt.month > 12) {
        st = Ccai_valid_fail(
            ret_error, s, "is not a valid date: the month must be between 1 and 12%s; %s",
            dt.day_first ? " (dates with slashes are read day first, DD/MM/YYYY)" : "",
            DATETIME_HINT);
        goto cleanup;
    }
    static const int month_days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int dim = month_days[dt.month - 1];
    if (dt.month == 2 && !is_leap(dt.year))
        dim = 28;
    if (dt.day < 1) {
        st = Ccai_valid_fail(ret_error, s, "is not a valid date: the day must be at least 1; %s",
                             DATETIME_HINT);
        goto cleanup;
    }
    if (dt.day > dim) {
        if (dt.month == 2 && dt.day == 29)
            st = Ccai_valid_fail(
                ret_error, s,
                "is not a valid date: %d is not a leap year, February has 28 days; %s", dt.year,
                DATETIME_HINT);
        else if (dt.month == 2)
            st = Ccai_valid_fail(
                ret_error, s, "is not a valid date: February has 28 or 29 days; %s", DATETIME_HINT);
        else
            st = Ccai_valid_fail(ret_error, s, "is not a valid date: %s has %d days; %s",
                                 month_names[dt.month - 1], dim, DATETIME_HINT);
        goto cleanup;
    }
    if (dt.meridiem > 0) {
        if (dt.hour < 1 || dt.hour > 12) {
            st = Ccai_valid_fail(
                ret_error, s,
                "is not a valid time: with am or pm the hour must be between 1 and 12; %s",
                DATETIME_HINT);
            goto cleanup;
        }
        dt.hour = dt.hour % 12 + (dt.meridiem == 2 ? 12 : 0);
    }
    if (dt.hour > 23) {
        st = Ccai_valid_fail(ret_error, s,
                             "is not a valid time: the hour must be between 0 and 23; %s",
                             DATETIME_HINT);
        goto cleanup;
    }
    if (dt.minute > 59) {
        st = Ccai_valid_fail(ret_error, s,
                             "is not a valid time: the minutes must be between 0 and 59; %s",
                             DATETIME_HINT);
        goto cleanup;
    }
    /* Leap seconds are refused: most consumers of the normalised value
     * (SQLite, JavaScript, Python) reject second 60. */
    if (dt.second > 59) {
        st = Ccai_valid_fail(ret_error, s,
                             "is not a valid time: the seconds must be between 0 and 59; %s",
                             DATETIME_HINT);
        goto cleanup;
    }
    if (dt.offset == DT_OFFSET_NUMERIC &&
        (dt.offset_minute > 59 || dt.offset_hour * 60 + dt.offset_minute > 14 * 60)) {
        st = Ccai_valid_fail(
            ret_error, s,
            "is not a valid time: the UTC offset must be between -14:00 and +14:00; "
            "use YYYY-MM-DDTHH:MM:SS+HH:MM, e.g. 2024-10-08T14:30:00+02:00");
        goto cleanup;
    }

    char out[40];
    int n = snprintf(out, sizeof out, "%04d-%02d-%02dT%02d:%02d:%02d", dt.year, dt.month, dt.day,
                     dt.hour, dt.minute, dt.second);
    if (dt.offset == DT_OFFSET_UTC)
        snprintf(out + n, sizeof out - (size_t)n, "Z");
    else if (dt.offset == DT_OFFSET_NUMERIC)
        snprintf(out + n, sizeof out - (size_t)n, "%c%02d:%02d",
                 dt.offset_sign < 0 && dt.offset_hour + dt.offset_minute > 0 ? '-' : '+',
                 dt.offset_hour, dt.offset_minute);
    st = Ccai_valid_hand_out(Ccai_strdup(out), ret_normalized);

cleanup:
    ccai_free(s);
    return st;
}
