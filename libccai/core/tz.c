/* Time zones: the TZif parser, POSIX TZ rules, lookup and formatting (the
 * zone of a phone number is tz_phone.c). One unit: every part reads or
 * fills the same Ccai_tz. */
#include "core/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool Ccai_tz_name_valid(const char *zone)
{
    if (!zone || !zone[0] || zone[0] == '/')
        return false;
    size_t n = 0;
    for (const char *p = zone; *p; p++, n++) {
        unsigned char c = (unsigned char)*p;
        if (n >= CCAI_TZ_NAME_MAX)
            return false;
        if (c == '/') {
            /* "a//b" and "a/" name no file in a zone tree */
            if (p[1] == '/' || p[1] == '\0')
                return false;
            continue;
        }
        if (!Ccai_is_alpha(c) && !Ccai_is_digit(c) && c != '_' && c != '+' && c != '-')
            return false;
    }
    return true;
}

/* Civil calendar (proleptic Gregorian, days since 1970-01-01) ------------- */

/* 0 = Sunday */
static int weekday(int64_t days)
{
    return (int)(((days % 7) + 11) % 7);
}

static CCAI_MUST_CHECK bool is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int len[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* POSIX TZ rules ------------------------------------------------------------ */

#define ABBR_MAX 16 /* bytes kept of an abbreviation, NUL included */

typedef struct tz_date {
    char kind; /* 'J': Jn (1..365, no Feb 29); 'D': n (0..365); 'M': Mm.w.d */
    int n, m, w, d;
    int32_t secs; /* local time of day of the change, -167h..167h */
} tz_date;

typedef struct tz_posix {
    char std[ABBR_MAX], dst[ABBR_MAX];
    int32_t std_off, dst_off; /* seconds east of UTC */
    bool has_dst;
    tz_date start, end;
} tz_posix;

typedef struct tz_type {
    int32_t utoff;
    bool isdst;
    char abbr[ABBR_MAX];
} tz_type;

struct Ccai_tz {
    size_t ntrans;
    int64_t *trans;
    uint8_t *tidx;
    size_t ntypes;
    tz_type *types;
    bool has_posix;
    tz_posix posix;
};

static CCAI_MUST_CHECK bool parse_num(const char **pp, const char *end, int lo, int hi, int *ret)
{
    const char *p = *pp;
    int v = 0;
    if (p >= end || !Ccai_is_digit((unsigned char)*p))
        return false;
    while (p < end && Ccai_is_digit((unsigned char)*p)) {
        v = v * 10 + (*p - '0');
        if (v > hi)
            return false;
        p++;
    }
    if (v < lo)
        return false;
    *pp = p;
    *ret = v;
    return true;
}

/* [+-]hh[:mm[:ss]] with hh up to max_h; returns seconds. */
static CCAI_MUST_CHECK bool parse_hms(const char **pp, const char *end, int max_h, int32_t *ret)
{
    const char *p = *pp;
    int sign = 1, h, mi = 0, s = 0;
    if (p < end && (*p == '+' || *p == '-')) {
        sign = *p == '-' ? -1 : 1;
        p++;
    }
    if (!parse_num(&p, end, 0, max_h, &h))
        return false;
    if (p < end && *p == ':') {
        p++;
        if (!parse_num(&p, end, 0, 59, &mi))
            return false;
        if (p < end && *p == ':') {
            p++;
            if (!parse_num(&p, end, 0, 59, &s))
                return false;
        }
    }
    *pp = p;
    *ret = sign * (h * 3600 + mi * 60 + s);
    return true;
}

static CCAI_MUST_CHECK bool parse_abbr(const char **pp, const char *end, char out[ABBR_MAX])
{
    const char *p = *pp;
    size_t n = 0;
    if (p < end && *p == '<') {
        p++;
        while (p < end && *p != '>') {
            unsigned char c = (unsigned char)*p;
            if (!Ccai_is_alpha(c) && !Ccai_is_digit(c) && c != '+' && c != '-')
                return false;
            if (n + 1 >= ABBR_MAX)
                return false;
            out[n++] = *p++;
        }
        if (p >= end)
            return false;
        p++;
    } else {
        while (p < end && Ccai_is_alpha((unsigned char)*p)) {
            if (n + 1 >= ABBR_MAX)
                return false;
            out[n++] = *p++;
        }
    }
    if (n < 3)
        return false;
    out[n] = '\0';
    *pp = p;
    return true;
}

static CCAI_MUST_CHECK bool parse_date(const char **pp, const char *end, tz_date *r)
{
    const char *p = *pp;
    memset(r, 0, sizeof *r);
    if (p < end && *p == 'J') {
        p++;
        r->kind = 'J';
        if (!parse_num(&p, end, 1, 365, &r->n))
            return false;
    } else if (p < end && *p == 'M') {
        p++;
        r->kind = 'M';
        if (!parse_num(&p, end, 1, 12, &r->m) || p >= end || *p++ != '.' ||
            !parse_num(&p, end, 1, 5, &r->w) || p >= end || *p++ != '.' ||
            !parse_num(&p, end, 0, 6, &r->d))
            return false;
    } else {
        r->kind = 'D';
        if (!parse_num(&p, end, 0, 365, &r->n))
            return false;
    }
    r->secs = 2 * 3600;
    if (p < end && *p == '/') {
        p++;
        /* RFC 8536 3.3.1: hours may range over -167..167 */
        if (!parse_hms(&p, end, 167, &r->secs))
            return false;
    }
    *pp = p;
    return true;
}

static CCAI_MUST_CHECK bool parse_posix(const char *s, size_t len, tz_posix *tp)
{
    const char *p = s, *end = s + len;
    int32_t off;
    memset(tp, 0, sizeof *tp);
    if (!parse_abbr(&p, end, tp->std) || !parse_hms(&p, end, 24, &off))
        return false;
    tp->std_off = -off; /* POSIX counts west of Greenwich */
    if (p == end)
        return true;
    if (!parse_abbr(&p, end, tp->dst))
        return false;
    tp->has_dst = true;
    tp->dst_off = tp->std_off + 3600;
    if (p < end && *p != ',') {
        if (!parse_hms(&p, end, 24, &off))
            return false;
        tp->dst_off = -off;
    }
    /* Without rules POSIX leaves the dates to the implementation; tzdata
     * always writes them, so a footer without them is not trusted. */
    if (p >= end || *p++ != ',' || !parse_date(&p, end, &tp->start) || p >= end || *p++ != ',' ||
        !parse_date(&p, end, &tp->end))
        return false;
    return p == end;
}

/* Unix time of a rule's change in year y, given the offset in effect before
 * it. */
static int64_t rule_time(int64_t y, const tz_date *r, int32_t utoff_before)
{
    int64_t day;
    if (r->kind == 'J') {
        day = Ccai_days_from_civil(y, 1, 1) + r->n - 1 + (is_leap(y) && r->n >= 60);
    } else if (r->kind == 'D') {
        day = Ccai_days_from_civil(y, 1, 1) + r->n;
    } else {
        int64_t first = Ccai_days_from_civil(y, r->m, 1);
        int dd = (r->d - weekday(first) + 7) % 7;
        day = first + dd + 7 * (r->w - 1);
        while (day >= first + month_days(y, r->m))
            day -= 7;
    }
    return day * 86400 + r->secs - utoff_before;
}

static CCAI_MUST_CHECK bool posix_isdst(const tz_posix *tp, int64_t t)
{
    int64_t y;
    int m, d;
    Ccai_civil_from_days(Ccai_floor_div(t + tp->std_off, 86400), &y, &m, &d);
    int64_t start = rule_time(y, &tp->start, tp->std_off);
    int64_t end = rule_time(y, &tp->end, tp->dst_off);
    if (start <= end)
        return start <= t && t < end;
    return !(end <= t && t < start); /* southern hemisphere */
}

/* TZif ---------------------------------------------------------------------- */

#define TZIF_HEADER     44
#define TZIF_TIMES_MAX  100000
#define TZIF_LEAPS_MAX  10000
#define TZIF_CHARS_MAX  4096
#define TZIF_FOOTER_MAX 256

typedef struct tzif_header {
    char version;
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} tzif_header;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const uint8_t *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static CCAI_MUST_CHECK bool read_header(const uint8_t *p, size_t len, tzif_header *h)
{
    if (len < TZIF_HEADER || memcmp(p, "TZif", 4) != 0)
        return false;
    h->version = (char)p[4];
    if (h->version != 0 && h->version < '2')
        return false;
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    return h->typecnt >= 1 && h->typecnt <= 256 && h->charcnt >= 1 &&
           h->charcnt <= TZIF_CHARS_MAX && h->timecnt <= TZIF_TIMES_MAX &&
           h->leapcnt <= TZIF_LEAPS_MAX && (h->isutcnt == 0 || h->isutcnt == h->typecnt) &&
           (h->isstdcnt == 0 || h->isstdcnt == h->typecnt);
}

/* Size of the data block after a header; the counts are bounded, so no
 * overflow. */
static size_t block_size(const tzif_header *h, size_t tsize)
{
    return (size_t)h->timecnt * (tsize + 1) + (size_t)h->typecnt * 6 + h->charcnt +
           (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

static CCAI_MUST_CHECK ccai_status read_block(Ccai_tz *tz, const tzif_header *h, const uint8_t *p,
                                              size_t tsize)
{
    tz->ntrans = h->timecnt;
    tz->ntypes = h->typecnt;
    tz->trans = Ccai_calloc(h->timecnt ? h->timecnt : 1, sizeof *tz->trans);
    tz->tidx = Ccai_malloc(h->timecnt ? h->timecnt : 1);
    tz->types = Ccai_calloc(h->typecnt, sizeof *tz->types);
    if (!tz->trans || !tz->tidx || !tz->types)
        return CCAI_ERR_NOMEM;
    for (size_t i = 0; i < h->timecnt; i++, p += tsize) {
        tz->trans[i] = tsize == 8 ? be64(p) : (int64_t)(int32_t)be32(p);
        if (i > 0 && tz->trans[i] <= tz->trans[i - 1])
            return CCAI_ERR_PARSE;
    }
    for (size_t i = 0; i < h->timecnt; i++, p++) {
        if (*p >= h->typecnt)
            return CCAI_ERR_PARSE;
        tz->tidx[i] = *p;
    }
    const uint8_t *types = p;
    const char *chars = (const char *)(p + (size_t)h->typecnt * 6);
    for (size_t i = 0; i < h->typecnt; i++, types += 6) {
        int32_t utoff = (int32_t)be32(types);
        uint8_t isdst = types[4], idx = types[5];
        /* RFC 8536: utoff must not be -2^31; 26 hours either way is plenty */
        if (utoff < -93600 || utoff > 93600 || isdst > 1 || idx >= h->charcnt)
            return CCAI_ERR_PARSE;
        const char *a = chars + idx;
        size_t n = strnlen(a, h->charcnt - idx);
        if (n == h->charcnt - idx) /* not NUL-terminated */
            return CCAI_ERR_PARSE;
        tz_type *t = &tz->types[i];
        t->utoff = utoff;
        t->isdst = isdst;
        snprintf(t->abbr, sizeof t->abbr, "%.*s", (int)(n < ABBR_MAX ? n : ABBR_MAX - 1), a);
    }
    return CCAI_OK;
}

ccai_status Ccai_tz_parse(const uint8_t *buf, size_t len, Ccai_tz **ret)
{
    if ((!buf && len) || !ret)
        return CCAI_ERR_INVALID_ARG;
    if (len > CCAI_TZ_FILE_MAX)
        return CCAI_ERR_LIMIT;
    tzif_header h;
    if (!read_header(buf, len, &h))
        return CCAI_ERR_PARSE;
    size_t off = TZIF_HEADER, tsize = 4;
    size_t v1 = block_size(&h, 4);
    if (len - off < v1)
        return CCAI_ERR_PARSE;
    if (h.version != 0) {
        off += v1;
        if (!read_header(buf + off, len - off, &h))
            return CCAI_ERR_PARSE;
        off += TZIF_HEADER;
        tsize = 8;
        if (len - off < block_size(&h, 8))
            return CCAI_ERR_PARSE;
    }
    Ccai_tz *tz = Ccai_calloc(1, sizeof *tz);
    if (!tz)
        return CCAI_ERR_NOMEM;
    ccai_status st = read_block(tz, &h, buf + off, tsize);
    if (st != CCAI_OK)
        goto fail;
    off += block_size(&h, tsize);
    if (h.version != 0) {
        /* Footer: "\n" TZ string "\n"; an empty string means no rule. */
        st = CCAI_ERR_PARSE;
        if (off >= len || buf[off] != '\n')
            goto fail;
        const uint8_t *s = buf + off + 1;
        const uint8_t *nl = memchr(s, '\n', len - off - 1);
        if (!nl || (size_t)(nl - s) > TZIF_FOOTER_MAX)
            goto fail;
        if (nl > s) {
            if (!parse_posix((const char *)s, (size_t)(nl - s), &tz->posix))
                goto fail;
            tz->has_posix = true;
        }
    }
    *ret = tz;
    return CCAI_OK;
fail:
    Ccai_tz_free(tz);
    return st;
}

void Ccai_tz_free(Ccai_tz *tz)
{
    if (!tz)
        return;
    ccai_free(tz->trans);
    ccai_free(tz->tidx);
    ccai_free(tz->types);
    ccai_free(tz);
}

ccai_status Ccai_tz_new_utc(Ccai_tz **ret)
{
    if (!ret)
        return CCAI_ERR_INVALID_ARG;
    Ccai_tz *tz = Ccai_calloc(1, sizeof *tz);
    tz_type *t = Ccai_calloc(1, sizeof *t);
    if (!tz || !t) {
        ccai_free(tz);
        ccai_free(t);
        return CCAI_ERR_NOMEM;
    }
    memcpy(t->abbr, "UTC", 4);
    tz->types = t;
    tz->ntypes = 1;
    *ret = tz;
    return CCAI_OK;
}

static CCAI_MUST_CHECK ccai_status read_file(const char *path, uint8_t **ret, size_t *ret_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR ? CCAI_ERR_NOT_FOUND : CCAI_ERR_IO;
    ccai_status st = CCAI_ERR_IO;
    uint8_t *data = NULL;
    struct stat sb;
    if (fstat(fd, &sb) != 0)
        goto out;
    if (!S_ISREG(sb.st_mode)) {
        st = CCAI_ERR_NOT_FOUND; /* a directory such as "America" */
        goto out;
    }
    if (sb.st_size > CCAI_TZ_FILE_MAX) {
        st = CCAI_ERR_LIMIT;
        goto out;
    }
    /* One byte more than fstat() said tells a file that grew meanwhile. */
    size_t cap = (size_t)sb.st_size + 1, len = 0;
    data = Ccai_malloc(cap);
    if (!data) {
        st = CCAI_ERR_NOMEM;
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, data + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto out;
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == cap) {
            st = CCAI_ERR_IO; /* changed under us */
            goto out;
        }
    }
    *ret = data;
    *ret_len = len;
    data = NULL;
    st = CCAI_OK;
out:
    ccai_free(data);
    close(fd);
    return st;
}

ccai_status Ccai_tz_load_from(const char *dir, const char *zone, Ccai_tz **ret)
{
    if (!dir || !ret || !Ccai_tz_name_valid(zone))
        return CCAI_ERR_INVALID_ARG;
    char *path = Ccai_asprintf("%s/%s", dir, zone);
    if (!path)
        return CCAI_ERR_NOMEM;
    uint8_t *data = NULL;
    size_t len = 0;
    ccai_status st = read_file(path, &data, &len);
    ccai_free(path);
    if (st != CCAI_OK)
        return st;
    st = Ccai_tz_parse(data, len, ret);
    ccai_free(data);
    return st;
}

ccai_status Ccai_tz_load(const char *zone, Ccai_tz **ret)
{
    return Ccai_tz_load_from(CCAI_TZ_DIR, zone, ret);
}

/* Lookup and formatting ----------------------------------------------------- */

/* Beyond this (about year 5000) times are clamped: no overflow below. */
#define T_LIMIT INT64_C(100000000000)

void Ccai_tz_lookup(const Ccai_tz *tz, int64_t t, int32_t *ret_utoff, const char **ret_abbr,
                    bool *ret_isdst)
{
    int32_t utoff = 0;
    const char *abbr = "UTC";
    bool isdst = false;
    if (t > T_LIMIT)
        t = T_LIMIT;
    if (t < -T_LIMIT)
        t = -T_LIMIT;
    if (tz && tz->has_posix && (tz->ntrans == 0 || t >= tz->trans[tz->ntrans - 1])) {
        isdst = tz->posix.has_dst && posix_isdst(&tz->posix, t);
        utoff = isdst ? tz->posix.dst_off : tz->posix.std_off;
        abbr = isdst ? tz->posix.dst : tz->posix.std;
    } else if (tz && tz->ntypes > 0) {
        /* Before the first transition: time type 0 (RFC 8536 3.2). */
        size_t type = 0;
        if (tz->ntrans > 0 && t >= tz->trans[0]) {
            size_t lo = 0, hi = tz->ntrans; /* trans[lo] <= t < trans[hi] */
            while (hi - lo > 1) {
                size_t mid = lo + (hi - lo) / 2;
                if (tz->trans[mid] <= t)
                    lo = mid;
                else
                    hi = mid;
            }
            type = tz->tidx[lo];
        }
        utoff = tz->types[type].utoff;
        abbr = tz->types[type].abbr;
        isdst = tz->types[type].isdst;
    }
    if (ret_utoff)
        *ret_utoff = utoff;
    if (ret_abbr)
        *ret_abbr = abbr;
    if (ret_isdst)
        *ret_isdst = isdst;
}

void Ccai_tz_from_local(const Ccai_tz *tz, int64_t local, int64_t *ret_t, int32_t *ret_utoff)
{
    /* Offsets run from -26 h to +26 h, and zones change at most once in a
     * day: the offsets a day before and a day after are the only ones
     * that can apply. */
    int32_t early, late, at;
    Ccai_tz_lookup(tz, local - 93600, &early, NULL, NULL);
    Ccai_tz_lookup(tz, local + 93600, &late, NULL, NULL);
    Ccai_tz_lookup(tz, local - early, &at, NULL, NULL);
    bool early_ok = at == early;
    Ccai_tz_lookup(tz, local - late, &at, NULL, NULL);
    bool late_ok = at == late;
    int64_t t;
    if (early_ok && late_ok)
        t = local - (early > late ? early : late); /* twice: the first */
    else if (late_ok)
        t = local - late;
    else
        t = local - early; /* valid, or in a gap: moved forward by it */
    if (ret_t)
        *ret_t = t;
    if (ret_utoff)
        Ccai_tz_lookup(tz, t, ret_utoff, NULL, NULL);
}

/* n decimal digits at s, or -1. */
static int digits_at(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!Ccai_is_digit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static CCAI_MUST_CHECK ccai_status iso_write(int64_t t, int32_t utoff, char *out, size_t outlen)
{
    int64_t local = t + utoff;
    int64_t days = Ccai_floor_div(local, 86400), secs = local - days * 86400;
    int64_t y;
    int m, d;
    Ccai_civil_from_days(days, &y, &m, &d);
    if (y < 1 || y > 9999)
        return CCAI_ERR_INVALID_ARG;
    int32_t a = utoff < 0 ? -utoff : utoff;
    int n = snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", (int)y, m, d,
                     (int)(secs / 3600), (int)(secs / 60 % 60), (int)(secs % 60),
                     utoff < 0 ? '-' : '+', (int)(a / 3600), (int)(a / 60 % 60));
    if (n < 0 || (size_t)n >= outlen) {
        out[0] = '\0';
        return CCAI_ERR_LIMIT;
    }
    return CCAI_OK;
}

ccai_status Ccai_tz_localize_iso(const Ccai_tz *tz, const char *iso, char *out, size_t outlen,
                                 int64_t *ret_ms)
{
    if (!iso || !out)
        return CCAI_ERR_INVALID_ARG;
    if (outlen < CCAI_TZ_ISO_MAX)
        return CCAI_ERR_LIMIT;
    size_t len = strnlen(iso, CCAI_TZ_ISO_MAX);
    if (len < 19 || iso[4] != '-' || iso[7] != '-' || iso[10] != 'T' || iso[13] != ':' ||
        iso[16] != ':')
        return CCAI_ERR_PARSE;
    int y = digits_at(iso, 4), mo = digits_at(iso + 5, 2), d = digits_at(iso + 8, 2);
    int h = digits_at(iso + 11, 2), mi = digits_at(iso + 14, 2), sec = digits_at(iso + 17, 2);
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        sec < 0 || sec > 59)
        return CCAI_ERR_PARSE;
    int64_t local = Ccai_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    const char *z = iso + 19;
    int64_t t;
    if (len == 19) {
        int32_t utoff;
        Ccai_tz_from_local(tz, local, &t, &utoff);
        ccai_status st = iso_write(t, utoff, out, outlen);
        if (st != CCAI_OK)
            return st == CCAI_ERR_INVALID_ARG ? CCAI_ERR_PARSE : st;
    } else {
        if (len == 20 && z[0] == 'Z') {
            t = local;
        } else {
            int oh = len == 25 ? digits_at(z + 1, 2) : -1,
                om = len == 25 ? digits_at(z + 4, 2) : -1;
            if ((z[0] != '+' && z[0] != '-') || oh < 0 || oh > 23 || z[3] != ':' || om < 0 ||
                om > 59)
                return CCAI_ERR_PARSE;
            int32_t off = (z[0] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
            t = local - off;
        }
        memcpy(out, iso, len);
        out[len] = '\0';
    }
    if (ret_ms)
        *ret_ms = t * 1000;
    return CCAI_OK;
}

ccai_status Ccai_tz_iso_at(const Ccai_tz *tz, int64_t wall_ms, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return CCAI_ERR_INVALID_ARG;
    int64_t t = Ccai_floor_div(wall_ms, 1000);
    if (t < INT64_C(-62135596800) + 86400 || t > INT64_C(253402300799) - 86400)
        return CCAI_ERR_INVALID_ARG;
    int32_t utoff;
    Ccai_tz_lookup(tz, t, &utoff, NULL, NULL);
    return iso_write(t, utoff, out, outlen);
}

ccai_status Ccai_tz_format(const Ccai_tz *tz, int64_t wall_ms, char *out, size_t outlen)
{
    static const char *const wdays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (!tz || !out || outlen == 0)
        return CCAI_ERR_INVALID_ARG;
    int64_t t = Ccai_floor_div(wall_ms, 1000);
    /* Four-digit years only: 0000-01-02 .. 9999-12-30, whatever the zone. */
    if (t < INT64_C(-62135596800) + 86400 || t > INT64_C(253402300799) - 86400)
        return CCAI_ERR_INVALID_ARG;
    int32_t utoff;
    const char *abbr;
    Ccai_tz_lookup(tz, t, &utoff, &abbr, NULL);
    int64_t local = t + utoff;
    int64_t days = Ccai_floor_div(local, 86400), secs = local - days * 86400;
    int64_t y;
    int m, d;
    Ccai_civil_from_days(days, &y, &m, &d);
    int n = snprintf(out, outlen, "%s %02d %s %04d, %02d:%02d (%s)", wdays[weekday(days)], d,
                     months[m - 1], (int)y, (int)(secs / 3600), (int)(secs / 60 % 60), abbr);
    if (n < 0 || (size_t)n >= outlen) {
        out[0] = '\0';
        return CCAI_ERR_LIMIT;
    }
    return CCAI_OK;
}

ccai_status Ccai_tz_load_or_utc(const char *zone, const Ccai_logger *lg, Ccai_tz **ret)
{
    if (!ret)
        return CCAI_ERR_INVALID_ARG;
    ccai_status st = Ccai_tz_load(zone, ret);
    if (st == CCAI_OK || st == CCAI_ERR_NOMEM)
        return st;
    Ccai_log(lg, CCAI_LOG_WARN, "time zone \"%.*s\" unavailable (%s): times in UTC",
             CCAI_TZ_NAME_MAX, zone ? zone : "", ccai_status_str(st));
    return Ccai_tz_new_utc(ret);
}
