/* The report web pages: one call, the list of calls, errors.
 *
 * Output goes through a sticky-failure writer: after a failed allocation
 * every later write is a no-op and the page comes back NULL. Values from the
 * call document reach the page only through esc() (HTML text and attribute
 * values alike, quotes included) or through the URL encoders below. */
#include "web/report.h"

#include "core/embedded.h"
#include "core/json.h"
#include "core/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 100

typedef struct out {
    Ccai_buf b;
    bool bad;
} out;

typedef struct page {
    out o;
    const char *base;  /* "" or "/prefix" */
    const char *query; /* "" or "?k=v..." */
    int64_t now_ms;
    const char *zone; /* zone of tz (static string from Ccai_tz_for_phone) */
    Ccai_tz *tz;
} page;

static void putn(out *o, const char *s, size_t n)
{
    if (!o->bad && !Ccai_buf_append(&o->b, s, n))
        o->bad = true;
}

static void put(out *o, const char *s)
{
    putn(o, s, strlen(s));
}

static void putf(out *o, const char *fmt, ...) CCAI_PRINTF(2, 3);
static void putf(out *o, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        o->bad = true;
    else
        putn(o, tmp, (size_t)n);
}

/* HTML escaping valid in text and in quoted attribute values. C0 controls
 * other than tab and line breaks are dropped (HTML does not allow them). */
static void escn(out *o, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *rep = NULL;
        switch (c) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default:
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
                rep = "";
            break;
        }
        if (!rep)
            continue;
        putn(o, s + run, i - run);
        put(o, rep);
        run = i + 1;
    }
    putn(o, s + run, n - run);
}

static void esc(out *o, const char *s)
{
    if (s)
        escn(o, s, strlen(s));
}

static CCAI_MUST_CHECK bool unreserved(unsigned char c)
{
    return Ccai_is_alpha(c) || Ccai_is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encode everything but RFC 3986 unreserved characters and @keep. */
static void urlenc(out *o, const char *s, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (unreserved(c) || (keep && strchr(keep, c))) {
            putn(o, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            putn(o, e, 3);
        }
    }
}

static int hexval(int c)
{
    if (Ccai_is_digit(c))
        return c - '0';
    c = Ccai_to_lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode a form-urlencoded component s[0..n) into o. */
static void urldec(out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
                   hexval((unsigned char)s[i + 2]) >= 0) {
            c = (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        }
        putn(o, &c, 1);
    }
}

/* http(s) and relative URLs only: no other scheme, no white space or
 * control characters anywhere. */
static CCAI_MUST_CHECK bool url_safe(const char *u)
{
    if (!u || !*u)
        return false;
    for (const char *s = u; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c == 0x7f || c == '\\')
            return false;
    }
    size_t scheme = strcspn(u, ":/?#");
    if (u[scheme] != ':')
        return true; /* relative */
    static const char http[] = "https";
    if (scheme != 4 && scheme != 5)
        return false;
    for (size_t i = 0; i < scheme; i++) {
        if (Ccai_to_lower((unsigned char)u[i]) != http[i])
            return false;
    }
    return true;
}

/* JSON access that never trusts the document's shape. */
static const char *jstr(const json_t *obj, const char *key)
{
    return json_is_object(obj) ? json_string_value(json_object_get(obj, key)) : NULL;
}

static CCAI_MUST_CHECK bool jfilled(const char *s)
{
    return s && *s;
}

/* Time ----------------------------------------------------------------- */

typedef struct iso {
    int year, month, day, hour, minute, second, milli;
    bool has_time, has_zone;
    int64_t days; /* since 1970-01-01 */
} iso;

static void civil_from_days(int64_t z, int *ry, int *rm, int *rd)
{
    int64_t y;
    Ccai_civil_from_days(z, &y, rm, rd);
    *ry = (int)y;
}

static CCAI_MUST_CHECK bool digits(const char **p, int n, int *ret)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!Ccai_is_digit((unsigned char)(*p)[i]))
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *ret = v;
    return true;
}

/* YYYY-MM-DD[(T| )HH:MM[:SS[.fff]]][Z|(+|-)HH[:]MM]; with a zone, the
 * fields are converted to UTC. */
static CCAI_MUST_CHECK bool iso_parse(const char *s, iso *t, int64_t *ret_ms)
{
    memset(t, 0, sizeof *t);
    if (!s || !digits(&s, 4, &t->year) || *s++ != '-' || !digits(&s, 2, &t->month) || *s++ != '-' ||
        !digits(&s, 2, &t->day))
        return false;
    if (t->month < 1 || t->month > 12 || t->day < 1 || t->day > 31)
        return false;
    if (*s == 'T' || *s == 't' || *s == ' ') {
        s++;
        if (!digits(&s, 2, &t->hour) || *s++ != ':' || !digits(&s, 2, &t->minute))
            return false;
        if (*s == ':') {
            s++;
            if (!digits(&s, 2, &t->second))
                return false;
            if (*s == '.' || *s == ',') {
                s++;
                int scale = 100;
                if (!Ccai_is_digit((unsigned char)*s))
                    return false;
                for (; Ccai_is_digit((unsigned char)*s); s++, scale /= 10)
                    t->milli += (*s - '0') * scale;
            }
        }
        if (t->hour > 23 || t->minute > 59 || t->second > 60)
            return false;
        t->has_time = true;
    }
    int off = 0;
    if (*s == 'Z' || *s == 'z') {
        s++;
        t->has_zone = true;
    } else if (t->has_time && (*s == '+' || *s == '-')) {
        int sign = *s++ == '-' ? -1 : 1, oh, om;
        if (!digits(&s, 2, &oh))
            return false;
        if (*s == ':')
            s++;
        if (!digits(&s, 2, &om) || oh > 23 || om > 59)
            return false;
        off = sign * (oh * 60 + om);
        t->has_zone = true;
    }
    if (*s)
        return false;
    t->days = Ccai_days_from_civil(t->year, t->month, t->day);
    *ret_ms = ((t->days * 86400 + t->hour * 3600 + t->minute * 60 + t->second) - off * 60) * 1000 +
              t->milli;
    return true;
}

static const char *const wday_names[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
static const char *const month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int wday_index(int64_t days)
{
    int w = (int)(days % 7);
    return w < 0 ? w + 7 : w;
}

/* The zone of @phone, loaded once per page while consecutive rows share it. */
static const Ccai_tz *page_tz(page *p, const char *phone)
{
    const char *zone = Ccai_tz_for_phone(phone);
    if (p->tz && p->zone && strcmp(zone, p->zone) == 0)
        return p->tz;
    Ccai_tz_free(p->tz);
    p->tz = NULL;
    p->zone = NULL;
    if (Ccai_tz_load(zone, &p->tz) != CCAI_OK && Ccai_tz_new_utc(&p->tz) != CCAI_OK) {
        p->o.bad = true;
        return NULL;
    }
    p->zone = zone;
    return p->tz;
}

/* @raw as <time datetime="raw">human</time>: instants in @tz ("Tue 24 Nov
 * 2026, 19:38 (CET)"), zone-less values as written. Text that is not
 * ISO 8601 is shown escaped, without <time>. @brief drops the date. */
static void put_time(out *o, const Ccai_tz *tz, const char *raw, bool brief)
{
    iso t;
    int64_t ms;
    if (!raw || !iso_parse(raw, &t, &ms)) {
        esc(o, raw);
        return;
    }
    const char *abbr = NULL;
    int y = t.year, mo = t.month, d = t.day, h = t.hour, mi = t.minute;
    int64_t days = t.days;
    if (t.has_zone && tz) {
        int32_t utoff = 0;
        Ccai_tz_lookup(tz, ms / 1000, &utoff, &abbr, NULL);
        int64_t local = ms / 1000 + utoff;
        days = local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
        int64_t sod = local - days * 86400;
        civil_from_days(days, &y, &mo, &d);
        h = (int)(sod / 3600);
        mi = (int)(sod / 60 % 60);
    } else if (t.has_zone) {
        abbr = "UTC";
    }
    put(o, "<time datetime=\"");
    esc(o, raw);
    put(o, "\">");
    if (!brief || !t.has_time)
        putf(o, "%s %d %s %04d", wday_names[wday_index(days)], d, month_names[mo - 1], y);
    if (t.has_time)
        putf(o, "%s%02d:%02d", brief ? "" : ", ", h, mi);
    if (t.has_time && abbr && !brief) {
        put(o, " (");
        esc(o, abbr);
        put(o, ")");
    }
    put(o, "</time>");
}

/* Milliseconds since the epoch of @raw for sorting and for deadlines;
 * zone-less values are read in @tz. INT64_MAX when unreadable. */
static int64_t time_key(const Ccai_tz *tz, const char *raw)
{
    iso t;
    int64_t ms;
    if (!raw || !iso_parse(raw, &t, &ms))
        return INT64_MAX;
    if (!t.has_zone && tz) {
        int32_t utoff = 0;
        Ccai_tz_lookup(tz, ms / 1000, &utoff, NULL, NULL);
        ms -= (int64_t)utoff * 1000;
    }
    return ms;
}

/* Page frame ------------------------------------------------------------ */

static void page_open(page *p, const char *title)
{
    put(&p->o, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
               "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
               "<meta name=\"color-scheme\" content=\"light dark\">"
               "<meta name=\"referrer\" content=\"no-referrer\">"
               "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
               "style-src 'unsafe-inline'; img-src data:; media-src 'self' http: https:; "
               "form-action 'self'; base-uri 'none'\"><title>");
    esc(&p->o, title);
    put(&p->o, "</title><style>");
    /* data/report.css, compiled in (core/embedded.h). */
    const char *css = Ccai_embedded_text("report.css");
    put(&p->o, css ? css : "");
    put(&p->o, "</style></head><body><main>\n");
}

static char *page_close(page *p)
{
    put(&p->o, "</main><footer>Generated by libccai ");
    esc(&p->o, ccai_version());
    put(&p->o, "</footer></body></html>\n");
    Ccai_tz_free(p->tz);
    p->tz = NULL;
    if (p->o.bad) {
        Ccai_buf_free(&p->o.b);
        return NULL;
    }
    return Ccai_buf_steal(&p->o.b);
}

static void page_init(page *p, const char *base_path, const char *access_query)
{
    memset(p, 0, sizeof *p);
    p->base = base_path ? base_path : "";
    p->query = access_query ? access_query : "";
    p->now_ms = Ccai_wall_ms();
}

/* The access query with its leading '?' removed. */
static const char *query_body(const page *p)
{
    return p->query[0] == '?' ? p->query + 1 : p->query;
}

/* base + path + access query, attribute-escaped. */
static void put_internal_href(page *p, const char *path, const char *id)
{
    out u = {0};
    put(&u, p->base);
    put(&u, path);
    if (id)
        urlenc(&u, id, NULL);
    if (*query_body(p)) {
        put(&u, "?");
        put(&u, query_body(p));
    }
    if (u.bad)
        p->o.bad = true;
    else
        escn(&p->o, u.b.data ? u.b.data : "", u.b.len);
    Ccai_buf_free(&u.b);
}

/* "requires_expertise" -> "Requires expertise", escaped. */
static void put_human(out *o, const char *s)
{
    if (!s)
        return;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i] == '_' ? ' ' : s[i];
        if (i == 0 && c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        escn(o, &c, 1);
    }
}

static void put_missing(out *o)
{
    put(o, "<span class=\"missing\" title=\"not provided\">&mdash;</span>");
}

static void put_tel(out *o, const char *phone)
{
    if (!jfilled(phone)) {
        put_missing(o);
        return;
    }
    out digits_only = {0};
    for (const char *s = phone; *s; s++) {
        if (Ccai_is_digit((unsigned char)*s) || (*s == '+' && s == phone))
            putn(&digits_only, s, 1);
    }
    if (digits_only.b.len && !digits_only.bad) {
        put(o, "<a href=\"tel:");
        put(o, digits_only.b.data);
        put(o, "\">");
        esc(o, phone);
        put(o, "</a>");
    } else {
        esc(o, phone);
    }
    if (digits_only.bad)
        o->bad = true;
    Ccai_buf_free(&digits_only.b);
}

static void put_email(out *o, const char *email)
{
    const char *at = strchr(email, '@');
    if (!at || at == email || !at[1]) {
        esc(o, email);
        return;
    }
    put(o, "<a href=\"mailto:");
    urlenc(o, email, "@+");
    put(o, "\">");
    esc(o, email);
    put(o, "</a>");
}

static const char *satisfaction_label(const char *s, const char **ret_class)
{
    static const struct {
        const char *value, *label, *cls;
    } map[] = {
        {"terrible", "Terrible", "s-terrible"}, {"low", "Low", "s-low"},
        {"partial", "Partial", "s-partial"},    {"high", "High", "s-high"},
        {"unknow", "Unknown", "s-unknown"},     {"unknown", "Unknown", "s-unknown"},
    };
    for (size_t i = 0; s && i < CCAI_ARRAY_SIZE(map); i++) {
        if (strcmp(s, map[i].value) == 0) {
            *ret_class = map[i].cls;
            return map[i].label;
        }
    }
    *ret_class = "s-unknown";
    return NULL;
}

static void put_satisfaction(out *o, const char *s, bool prefix)
{
    if (!jfilled(s)) {
        put_missing(o);
        return;
    }
    const char *cls;
    const char *label = satisfaction_label(s, &cls);
    putf(o, "<span class=\"badge %s\">%s", cls, prefix ? "Satisfaction: " : "");
    if (label)
        put(o, label);
    else
        put_human(o, s);
    put(o, "</span>");
}

/* Markdown, limited: paragraphs, - / * / 1. lists, **bold**, *italic*. The
 * text is escaped first; the tags added afterwards are the only markup. */
static void put_emphasis(out *o, const char *s, size_t n, bool allow_bold)
{
    size_t i = 0, run = 0;
    while (i < n) {
        if (allow_bold && s[i] == '*' && i + 1 < n && s[i + 1] == '*') {
            size_t j = i + 2;
            while (j + 1 < n && !(s[j] == '*' && s[j + 1] == '*'))
                j++;
            if (j + 1 < n && j > i + 2) {
                putn(o, s + run, i - run);
                put(o, "<strong>");
                put_emphasis(o, s + i + 2, j - i - 2, false);
                put(o, "</strong>");
                i = run = j + 2;
                continue;
            }
        } else if (s[i] == '*' && i + 1 < n && s[i + 1] != '*' && s[i + 1] != ' ') {
            size_t j = i + 1;
            while (j < n && s[j] != '*')
                j++;
            if (j < n && s[j - 1] != ' ') {
                putn(o, s + run, i - run);
                put(o, "<em>");
                putn(o, s + i + 1, j - i - 1);
                put(o, "</em>");
                i = run = j + 1;
                continue;
            }
        }
        i++;
    }
    putn(o, s + run, n - run);
}

static void put_inline_md(out *o, const char *s, size_t n)
{
    out e = {0};
    escn(&e, s, n);
    if (e.bad)
        o->bad = true;
    else
        put_emphasis(o, e.b.data ? e.b.data : "", e.b.len, true);
    Ccai_buf_free(&e.b);
}

/* Length of a list marker at the start of line[0..n) ("- ", "* ", "12. "),
 * 0 if none; *ordered says which kind. */
static size_t list_marker(const char *line, size_t n, bool *ordered)
{
    size_t i = 0;
    while (i < n && line[i] == ' ')
        i++;
    if (i + 1 < n && (line[i] == '-' || line[i] == '*' || line[i] == '+') && line[i + 1] == ' ') {
        *ordered = false;
        return i + 2;
    }
    size_t d = i;
    while (d < n && Ccai_is_digit((unsigned char)line[d]))
        d++;
    if (d > i && d - i < 10 && d + 1 < n && (line[d] == '.' || line[d] == ')') &&
        line[d + 1] == ' ') {
        *ordered = true;
        return d + 2;
    }
    return 0;
}

static void put_markdown(out *o, const char *text)
{
    enum block { NONE, PARA, UL, OL } block = NONE;
    static const char *const close[] = {"", "</p>", "</ul>", "</ol>"};
    const char *s = text ? text : "";
    put(o, "<div class=\"md\">");
    while (*s) {
        size_t n = strcspn(s, "\n");
        const char *line = s;
        s += n;
        if (*s == '\n')
            s++;
        while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
            n--;
        size_t lead = 0;
        while (lead < n && (line[lead] == ' ' || line[lead] == '\t'))
            lead++;
        if (lead == n) {
            put(o, close[block]);
            block = NONE;
            continue;
        }
        bool ordered = false;
        size_t m = list_marker(line, n, &ordered);
        if (m) {
            enum block want = ordered ? OL : UL;
            if (block != want) {
                put(o, close[block]);
                put(o, ordered ? "<ol>" : "<ul>");
                block = want;
            }
            put(o, "<li>");
            put_inline_md(o, line + m, n - m);
            put(o, "</li>");
            continue;
        }
        if (block != PARA) {
            put(o, close[block]);
            put(o, "<p>");
            block = PARA;
        } else {
            put(o, "\n");
        }
        put_inline_md(o, line + lead, n - lead);
    }
    put(o, close[block]);
    put(o, "</div>");
}

/* JSON text pretty-printed when it parses, else as is; escaped. */
static void put_json_text(out *o, const char *text)
{
    if (!text)
        return;
    Ccai_json_err err;
    ccai_status st;
    json_t *v = Ccai_json_load(text, strlen(text), &err, &st);
    char *pretty = v ? Ccai_json_dump(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    esc(o, pretty ? pretty : text);
    ccai_free(pretty);
    json_decref(v);
}

/* Scalar JSON as text (numbers, booleans); NULL for others. */
static void put_scalar(out *o, const json_t *v)
{
    char *t = Ccai_json_dump(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!t) {
        o->bad = true;
        return;
    }
    esc(o, t);
    ccai_free(t);
}

/* One call ------------------------------------------------------------- */

static void put_claim_value(page *p, const char *type, const json_t *v, const Ccai_tz *tz)
{
    out *o = &p->o;
    const char *s = json_string_value(v);
    if (!v || json_is_null(v) || (s && !*s)) {
        put_missing(o);
    } else if (!s) {
        put_scalar(o, v);
    } else if (type && strcmp(type, "datetime") == 0) {
        put_time(o, tz, s, false);
    } else if (type && strcmp(type, "email") == 0) {
        put_email(o, s);
    } else if (type && strcmp(type, "phone_number") == 0) {
        put_tel(o, s);
    } else {
        esc(o, s);
    }
}

static void put_claim(page *p, const json_t *doc, const Ccai_tz *tz)
{
    out *o = &p->o;
    const json_t *schema = json_object_get(json_object_get(doc, "initiate"), "claim");
    const json_t *claim = json_object_get(doc, "claim");
    put(o, "<section id=\"claim\"><h2>Claim</h2><table class=\"kv\"><tbody>");
    size_t i, rows = 0;
    const json_t *field;
    json_array_foreach(schema, i, field)
    {
        const char *name = jstr(field, "name");
        if (!jfilled(name))
            continue;
        const char *desc = jstr(field, "description");
        put(o, "<tr><th scope=\"row\">");
        if (jfilled(desc)) {
            esc(o, desc);
            put(o, "<br><code>");
            esc(o, name);
            put(o, "</code>");
        } else {
            put_human(o, name);
        }
        put(o, "</th><td>");
        put_claim_value(p, jstr(field, "type"), json_object_get(claim, name), tz);
        put(o, "</td></tr>");
        rows++;
    }
    /* Values without a schema entry: shown as text so nothing is hidden. */
    const char *key;
    const json_t *value;
    json_object_foreach((json_t *)claim, key, value)
    {
        bool known = false;
        json_array_foreach(schema, i, field)
        {
            const char *name = jstr(field, "name");
            if (name && strcmp(name, key) == 0)
                known = true;
        }
        if (known)
            continue;
        put(o, "<tr><th scope=\"row\">");
        put_human(o, key);
        put(o, "</th><td>");
        put_claim_value(p, NULL, value, tz);
        put(o, "</td></tr>");
        rows++;
    }
    if (!rows)
        put(o, "<tr><td class=\"missing\">No claim data.</td></tr>");
    put(o, "</tbody></table></section>\n");
}

static const char *const known_actions[] = {"call", "talk", "sms", "dtmf", "hangup", "transfer"};

static void put_action_badge(out *o, const char *action)
{
    const char *cls = "a-other";
    for (size_t i = 0; action && i < CCAI_ARRAY_SIZE(known_actions); i++) {
        if (strcmp(action, known_actions[i]) == 0)
            cls = known_actions[i];
    }
    if (strcmp(cls, "a-other") == 0)
        put(o, "<span class=\"badge\">");
    else
        putf(o, "<span class=\"badge a-%s\">", cls);
    esc(o, jfilled(action) ? action : "talk");
    put(o, "</span>");
}

typedef struct sorted {
    const json_t *v;
    int64_t key;
    size_t index;
} sorted;

static int sorted_cmp(const void *a, const void *b)
{
    const sorted *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int sorted_cmp_desc(const void *a, const void *b)
{
    const sorted *x = a, *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* The array's objects sorted by @key_of; NULL with *n = 0 when empty. */
static sorted *sort_array(page *p, const json_t *arr, int64_t (*key_of)(const json_t *, void *),
                          void *ud, bool descending, size_t *n)
{
    *n = 0;
    size_t len = json_array_size(arr);
    if (!len)
        return NULL;
    sorted *v = Ccai_calloc(len, sizeof *v);
    if (!v) {
        p->o.bad = true;
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        const json_t *e = json_array_get(arr, i);
        if (!json_is_object(e))
            continue;
        v[*n] = (sorted){e, key_of(e, ud), i};
        (*n)++;
    }
    qsort(v, *n, sizeof *v, descending ? sorted_cmp_desc : sorted_cmp);
    return v;
}

static int64_t message_key(const json_t *m, void *ud)
{
    CCAI_UNUSED(ud);
    const json_t *seq = json_object_get(m, "seq");
    return json_is_integer(seq) ? (int64_t)json_integer_value(seq) : INT64_MAX;
}

static void put_tool_calls(out *o, const json_t *calls)
{
    size_t i;
    const json_t *tc;
    json_array_foreach(calls, i, tc)
    {
        if (!json_is_object(tc))
            continue;
        put(o, "<div class=\"tc\">&#x2699; <code>");
        esc(o, jfilled(jstr(tc, "function_name")) ? jstr(tc, "function_name") : "tool");
        put(o, "</code>");
        const char *args = jstr(tc, "function_arguments");
        if (jfilled(args)) {
            put(o, "<pre>");
            put_json_text(o, args);
            put(o, "</pre>");
        }
        const char *result = jstr(tc, "content");
        if (jfilled(result)) {
            put(o, "<div>&rarr; ");
            esc(o, result);
            put(o, "</div>");
        }
        put(o, "</div>");
    }
}

static void put_timeline(page *p, const json_t *doc, const Ccai_tz *tz)
{
    out *o = &p->o;
    const char *bot = jstr(json_object_get(doc, "initiate"), "bot_name");
    const char *caller = jstr(json_object_get(doc, "claim"), "policyholder_name");
    size_t n;
    sorted *msgs = sort_array(p, json_object_get(doc, "messages"), message_key, NULL, false, &n);
    put(o, "<section id=\"conversation\"><h2>Conversation</h2>");
    if (!n)
        put(o, "<p class=\"missing\">No messages.</p>");
    else
        put(o, "<ol class=\"timeline\">");
    for (size_t i = 0; i < n; i++) {
        const json_t *m = msgs[i].v;
        const char *persona = jstr(m, "persona");
        const char *action = jstr(m, "action");
        const char *content = jstr(m, "content");
        const json_t *tools = json_object_get(m, "tool_calls");
        bool talk = !action || strcmp(action, "talk") == 0;
        if (talk && !jfilled(content) && !json_array_size(tools))
            continue;
        const char *cls = "human", *who = jfilled(caller) ? caller : "Caller";
        if (persona && strcmp(persona, "assistant") == 0) {
            cls = "assistant";
            who = jfilled(bot) ? bot : "Assistant";
        } else if (persona && strcmp(persona, "tool") == 0) {
            cls = "tool";
            who = "Tool";
        }
        putf(o, "<li class=\"msg %s\"><div class=\"hd\"><span class=\"who\">", cls);
        esc(o, who);
        put(o, "</span>");
        put_action_badge(o, action);
        const char *style = jstr(m, "style");
        if (style && strcmp(style, "cheerful") == 0)
            put(o, "<span title=\"cheerful\" role=\"img\" aria-label=\"cheerful\">&#x263A;</span>");
        else if (style && strcmp(style, "sad") == 0)
            put(o, "<span title=\"sad\" role=\"img\" aria-label=\"sad\">&#x2639;</span>");
        put_time(o, tz, jstr(m, "created_at"), true);
        const char *engine = jstr(m, "engine");
        if (jfilled(engine)) {
            put(o, "<span class=\"small\">via ");
            esc(o, engine);
            put(o, "</span>");
        }
        put(o, "</div>");
        if (jfilled(content)) {
            put(o, "<p>");
            esc(o, content);
            put(o, "</p>");
        }
        put_tool_calls(o, tools);
        put(o, "</li>");
    }
    if (n)
        put(o, "</ol>");
    put(o, "</section>\n");
    ccai_free(msgs);
}

static int64_t reminder_key(const json_t *r, void *ud)
{
    return time_key(ud, jstr(r, "due_date_time"));
}

static void put_reminders(page *p, const json_t *doc, const Ccai_tz *tz)
{
    out *o = &p->o;
    size_t n;
    sorted *rs =
        sort_array(p, json_object_get(doc, "reminders"), reminder_key, (void *)tz, false, &n);
    put(o, "<section id=\"reminders\"><h2>Reminders</h2>");
    if (!n)
        put(o, "<p class=\"missing\">No reminders.</p>");
    else
        put(o, "<ul class=\"reminders\">");
    for (size_t i = 0; i < n; i++) {
        const json_t *r = rs[i].v;
        bool overdue = rs[i].key != INT64_MAX && rs[i].key < p->now_ms;
        put(o, overdue ? "<li class=\"overdue\">" : "<li>");
        put(o, "<strong>");
        esc(o, jfilled(jstr(r, "title")) ? jstr(r, "title") : "Reminder");
        put(o, "</strong><div class=\"small due\">");
        if (overdue)
            put(o, "Overdue &middot; ");
        put(o, "Due ");
        if (jfilled(jstr(r, "due_date_time")))
            put_time(o, tz, jstr(r, "due_date_time"), false);
        else
            put_missing(o);
        const char *owner = jstr(r, "owner");
        if (jfilled(owner)) {
            put(o, " &middot; Owner: ");
            esc(o, owner);
        }
        put(o, "</div>");
        if (jfilled(jstr(r, "description"))) {
            put(o, "<div>");
            esc(o, jstr(r, "description"));
            put(o, "</div>");
        }
        put(o, "</li>");
    }
    if (n)
        put(o, "</ul>");
    put(o, "</section>\n");
    ccai_free(rs);
}

static void put_next(out *o, const json_t *doc)
{
    const json_t *next = json_object_get(doc, "next");
    put(o, "<section id=\"next\"><h2>Next action</h2>");
    if (!jfilled(jstr(next, "action"))) {
        put(o, "<p class=\"missing\">Not decided yet.</p></section>\n");
        return;
    }
    put(o, "<p><span class=\"badge a-call\">");
    put_human(o, jstr(next, "action"));
    put(o, "</span></p>");
    if (jfilled(jstr(next, "justification"))) {
        put(o, "<p>");
        esc(o, jstr(next, "justification"));
        put(o, "</p>");
    }
    put(o, "</section>\n");
}

static void put_synthesis(out *o, const json_t *doc)
{
    const json_t *syn = json_object_get(doc, "synthesis");
    put(o, "<section id=\"synthesis\"><h2>");
    if (jfilled(jstr(syn, "short"))) {
        put(o, "Summary: ");
        esc(o, jstr(syn, "short"));
    } else {
        put(o, "Summary");
    }
    put(o, "</h2>");
    if (!json_is_object(syn)) {
        put(o, "<p class=\"missing\">No summary yet.</p></section>\n");
        return;
    }
    if (jfilled(jstr(syn, "long")))
        put_markdown(o, jstr(syn, "long"));
    put(o, "<p>");
    put_satisfaction(o, jstr(syn, "satisfaction"), true);
    put(o, "</p>");
    if (jfilled(jstr(syn, "improvement_suggestions"))) {
        put(o, "<h3>Improvement suggestions</h3>");
        put_markdown(o, jstr(syn, "improvement_suggestions"));
    }
    put(o, "</section>\n");
}

static void put_recording(out *o, const char *url)
{
    if (!jfilled(url))
        return;
    put(o, "<section id=\"recording\"><h2>Recording</h2>");
    if (url_safe(url)) {
        put(o, "<audio controls preload=\"none\" src=\"");
        esc(o, url);
        put(o, "\"></audio><p><a href=\"");
        esc(o, url);
        put(o, "\" rel=\"noopener noreferrer\">Download the recording</a></p>");
    } else {
        put(o, "<p class=\"missing\">A recording exists, but its address is not an http(s) "
               "link and is not shown.</p>");
    }
    put(o, "</section>\n");
}

static void put_meta_item(out *o, const char *label, const char *value)
{
    put(o, "<li>");
    put(o, label);
    put(o, " <b>");
    if (jfilled(value))
        esc(o, value);
    else
        put_missing(o);
    put(o, "</b></li>");
}

char *Ccai_report_call_html(const json_t *call_doc, const char *base_path, const char *access_query)
{
    if (!json_is_object(call_doc))
        return NULL;
    page p;
    page_init(&p, base_path, access_query);
    out *o = &p.o;
    const json_t *init = json_object_get(call_doc, "initiate");
    const char *phone = jstr(call_doc, "phone_number");
    if (!jfilled(phone))
        phone = jstr(init, "phone_number");
    const Ccai_tz *tz = page_tz(&p, phone);

    out title = {0};
    put(&title, "Call ");
    put(&title, jfilled(phone) ? phone : "report");
    page_open(&p, title.b.data ? title.b.data : "Call");
    if (title.bad)
        o->bad = true;
    Ccai_buf_free(&title.b);

    put(o, "<p class=\"small\"><a href=\"");
    put_internal_href(&p, "/report", NULL);
    put(o, "\">&larr; All calls</a></p><header><p class=\"kicker\">Call report</p><h1>");
    if (jfilled(phone))
        put_tel(o, phone);
    else
        put(o, "Unknown number");
    put(o, "</h1><ul class=\"meta\"><li>Created <b>");
    if (jfilled(jstr(call_doc, "created_at")))
        put_time(o, tz, jstr(call_doc, "created_at"), false);
    else
        put_missing(o);
    put(o, "</b></li><li>State <b>");
    esc(o, jfilled(jstr(call_doc, "state")) ? jstr(call_doc, "state") : "unknown");
    put(o, "</b>");
    if (json_is_true(json_object_get(call_doc, "in_progress")))
        put(o, " <span class=\"badge live\">In progress</span>");
    put(o, "</li>");
    put_meta_item(o, "Direction", jstr(call_doc, "direction"));
    put_meta_item(o, "Channel", jstr(call_doc, "channel"));
    put_meta_item(o, "Language", jstr(call_doc, "lang"));
    put(o, "<li>Agent <b>");
    const char *bot = jstr(init, "bot_name"), *company = jstr(init, "bot_company");
    if (jfilled(bot))
        esc(o, bot);
    if (jfilled(company)) {
        put(o, jfilled(bot) ? " (" : "");
        esc(o, company);
        put(o, jfilled(bot) ? ")" : "");
    }
    if (!jfilled(bot) && !jfilled(company))
        put_missing(o);
    put(o, "</b></li></ul><p class=\"small muted\">Call ID <code>");
    esc(o, jstr(call_doc, "call_id"));
    put(o, "</code></p></header>\n");

    put_synthesis(o, call_doc);
    put_claim(&p, call_doc, tz);
    put_timeline(&p, call_doc, tz);
    put_reminders(&p, call_doc, tz);
    put_next(o, call_doc);
    put_recording(o, jstr(call_doc, "recording_url"));

    put(o, "<section id=\"task\"><h2>Task</h2>");
    if (jfilled(jstr(init, "task"))) {
        put(o, "<p class=\"task\">");
        esc(o, jstr(init, "task"));
        put(o, "</p>");
    } else {
        put(o, "<p class=\"missing\">No task.</p>");
    }
    put(o, "</section>\n");
    return page_close(&p);
}

/* List ------------------------------------------------------------------ */

static int64_t created_key(const json_t *c, void *ud)
{
    CCAI_UNUSED(ud);
    int64_t k = time_key(NULL, jstr(c, "created_at"));
    return k == INT64_MAX ? INT64_MIN : k; /* undated last when newest first */
}

/* The access query's fields as hidden inputs, so that the GET form keeps
 * them (browsers drop the query of a GET form's action). */
static void put_hidden_fields(page *p)
{
    const char *s = query_body(p);
    while (*s) {
        size_t n = strcspn(s, "&");
        size_t k = strcspn(s, "=");
        if (k > n)
            k = n;
        out key = {0}, val = {0};
        urldec(&key, s, k);
        if (k < n)
            urldec(&val, s + k + 1, n - k - 1);
        const char *kname = key.b.data ? key.b.data : "";
        if (*kname && strcmp(kname, "phone_number") != 0 && strcmp(kname, "limit") != 0 &&
            strcmp(kname, "offset") != 0) {
            put(&p->o, "<input type=\"hidden\" name=\"");
            esc(&p->o, kname);
            put(&p->o, "\" value=\"");
            esc(&p->o, val.b.data ? val.b.data : "");
            put(&p->o, "\">");
        }
        if (key.bad || val.bad)
            p->o.bad = true;
        Ccai_buf_free(&key.b);
        Ccai_buf_free(&val.b);
        s += n;
        if (*s == '&')
            s++;
    }
}

static void put_page_link(page *p, const char *phone, size_t limit, size_t offset,
                          const char *label)
{
    out u = {0};
    put(&u, p->base);
    put(&u, "/report?");
    if (*query_body(p)) {
        put(&u, query_body(p));
        put(&u, "&");
    }
    if (jfilled(phone)) {
        put(&u, "phone_number=");
        urlenc(&u, phone, NULL);
        put(&u, "&");
    }
    putf(&u, "limit=%zu&offset=%zu", limit, offset);
    put(&p->o, "<a href=\"");
    if (u.bad)
        p->o.bad = true;
    else
        escn(&p->o, u.b.data, u.b.len);
    put(&p->o, "\">");
    put(&p->o, label);
    put(&p->o, "</a>");
    Ccai_buf_free(&u.b);
}

static void put_claim_summary(out *o, const json_t *call)
{
    const json_t *claim = json_object_get(call, "claim");
    size_t fields = json_array_size(json_object_get(json_object_get(call, "initiate"), "claim"));
    size_t filled = 0;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)claim, key, v)
    {
        const char *s = json_string_value(v);
        if (!json_is_null(v) && !(s && !*s))
            filled++;
    }
    put(o, "<span class=\"nowrap\">");
    if (fields)
        putf(o, "%zu / %zu fields", filled, fields);
    else
        putf(o, "%zu field%s", filled, filled == 1 ? "" : "s");
    put(o, "</span>");
}

char *Ccai_report_list_html(const json_t *list, const char *phone_filter, size_t limit,
                            size_t offset, const char *base_path, const char *access_query)
{
    if (!json_is_object(list))
        return NULL;
    if (!limit)
        limit = DEFAULT_LIMIT;
    page p;
    page_init(&p, base_path, access_query);
    out *o = &p.o;
    const json_t *calls = json_object_get(list, "calls");
    const json_t *jtotal = json_object_get(list, "total");
    size_t n;
    sorted *rows = sort_array(&p, calls, created_key, NULL, true, &n);
    size_t total = json_is_integer(jtotal) && json_integer_value(jtotal) >= 0
                       ? (size_t)json_integer_value(jtotal)
                       : n;
    if (total < offset + n)
        total = offset + n;

    page_open(&p, "Calls");
    put(o, "<header><p class=\"kicker\">Call reports</p><h1>Calls</h1></header>"
           "<form class=\"search\" method=\"get\" role=\"search\" action=\"");
    put_internal_href(&p, "/report", NULL);
    put(o, "\">");
    put_hidden_fields(&p);
    put(o, "<input type=\"search\" name=\"phone_number\" inputmode=\"tel\" "
           "autocomplete=\"tel\" placeholder=\"+33612345678\" "
           "aria-label=\"Phone number (E.164)\" value=\"");
    esc(o, phone_filter);
    put(o, "\"><button type=\"submit\">Search</button></form>\n<section>");
    put(o, "<p class=\"counts\">");
    if (!n)
        putf(o, "No calls shown out of %zu", total);
    else if (n == total)
        putf(o, "All %zu calls shown", total);
    else
        putf(o, "Showing %zu&ndash;%zu of %zu calls (%zu shown)", offset + 1, offset + n, total, n);
    if (jfilled(phone_filter)) {
        put(o, " for <b>");
        esc(o, phone_filter);
        put(o, "</b>");
    }
    put(o, ".</p>");
    if (n) {
        put(o, "<table class=\"list\"><thead><tr><th>Date</th><th>Phone</th><th>State</th>"
               "<th>Claim</th><th>Next action</th><th>Satisfaction</th></tr></thead><tbody>");
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *c = rows[i].v;
        const char *phone = jstr(c, "phone_number");
        const char *id = jstr(c, "call_id");
        const Ccai_tz *tz = page_tz(&p, phone);
        put(o, "<tr><td data-label=\"Date\">");
        if (jfilled(id)) {
            put(o, "<a href=\"");
            put_internal_href(&p, "/report/", id);
            put(o, "\">");
        }
        if (jfilled(jstr(c, "created_at")))
            put_time(o, tz, jstr(c, "created_at"), false);
        else
            put(o, "Undated");
        if (jfilled(id))
            put(o, "</a>");
        put(o, "</td><td data-label=\"Phone\" class=\"nowrap\">");
        esc(o, phone);
        if (!jfilled(phone))
            put_missing(o);
        put(o, "</td><td data-label=\"State\">");
        esc(o, jstr(c, "state"));
        if (json_is_true(json_object_get(c, "in_progress")))
            put(o, " <span class=\"badge live\">In progress</span>");
        put(o, "</td><td data-label=\"Claim\">");
        put_claim_summary(o, c);
        const char *sshort = jstr(json_object_get(c, "synthesis"), "short");
        if (jfilled(sshort)) {
            put(o, "<div class=\"small muted\">");
            esc(o, sshort);
            put(o, "</div>");
        }
        put(o, "</td><td data-label=\"Next action\">");
        const char *next = jstr(json_object_get(c, "next"), "action");
        if (jfilled(next))
            put_human(o, next);
        else
            put_missing(o);
        put(o, "</td><td data-label=\"Satisfaction\">");
        put_satisfaction(o, jstr(json_object_get(c, "synthesis"), "satisfaction"), false);
        put(o, "</td></tr>");
    }
    if (n)
        put(o, "</tbody></table>");
    if (offset > 0 || offset + n < total) {
        put(o, "<nav class=\"pages\" aria-label=\"Pages\"><span>");
        if (offset > 0)
            put_page_link(&p, phone_filter, limit, offset > limit ? offset - limit : 0,
                          "&larr; Newer");
        put(o, "</span><span>");
        if (offset + n < total)
            put_page_link(&p, phone_filter, limit, offset + n, "Older &rarr;");
        put(o, "</span></nav>");
    }
    put(o, "</section>\n");
    ccai_free(rows);
    return page_close(&p);
}

/* Errors ---------------------------------------------------------------- */

static const char *reason_phrase(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Error";
    }
}

char *Ccai_report_error_html(int status, const char *message)
{
    page p;
    page_init(&p, NULL, NULL);
    char title[64];
    snprintf(title, sizeof title, "%d %s", status, reason_phrase(status));
    page_open(&p, title);
    put(&p.o, "<section><h1>");
    esc(&p.o, title);
    put(&p.o, "</h1>");
    if (jfilled(message)) {
        put(&p.o, "<p>");
        esc(&p.o, message);
        put(&p.o, "</p>");
    }
    put(&p.o, "</section>\n");
    return page_close(&p);
}
