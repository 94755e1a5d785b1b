/* What every report page is written with (see report_page.h): the HTML
 * writer, escaping and URL encoding, values read from a call document, times
 * in the caller's time zone, the page's frame and internal links, and rows
 * sorted by time. */
#include "web/report_page.h"

#include "core/embedded.h"
#include "core/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void Ccai_html_putn(Ccai_html *o, const char *s, size_t n)
{
    if (!o->bad && !Ccai_buf_append(&o->b, s, n))
        o->bad = true;
}

void Ccai_html_put(Ccai_html *o, const char *s)
{
    Ccai_html_putn(o, s, strlen(s));
}

void Ccai_html_putf(Ccai_html *o, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        o->bad = true;
    else
        Ccai_html_putn(o, tmp, (size_t)n);
}

/* HTML escaping valid in text and in quoted attribute values. C0 controls
 * other than tab and line breaks are dropped (HTML does not allow them). */
void Ccai_html_escn(Ccai_html *o, const char *s, size_t n)
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
        Ccai_html_putn(o, s + run, i - run);
        Ccai_html_put(o, rep);
        run = i + 1;
    }
    Ccai_html_putn(o, s + run, n - run);
}

void Ccai_html_esc(Ccai_html *o, const char *s)
{
    if (s)
        Ccai_html_escn(o, s, strlen(s));
}

static CCAI_MUST_CHECK bool unreserved(unsigned char c)
{
    return Ccai_is_alpha(c) || Ccai_is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encode everything but RFC 3986 unreserved characters and @keep. */
void Ccai_html_urlenc(Ccai_html *o, const char *s, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (unreserved(c) || (keep && strchr(keep, c))) {
            Ccai_html_putn(o, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            Ccai_html_putn(o, e, 3);
        }
    }
}

/* JSON access that never trusts the document's shape. */
const char *Ccai_report_str(const json_t *obj, const char *key)
{
    return json_is_object(obj) ? json_string_value(json_object_get(obj, key)) : NULL;
}

bool Ccai_report_filled(const char *s)
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

/* Label names of the days (from 1970-01-01, a Thursday) and months. */
static const char *const wday_names[] = {"weekday_thu", "weekday_fri", "weekday_sat", "weekday_sun",
                                         "weekday_mon", "weekday_tue", "weekday_wed"};
static const char *const month_names[] = {"month_jan", "month_feb", "month_mar", "month_apr",
                                          "month_may", "month_jun", "month_jul", "month_aug",
                                          "month_sep", "month_oct", "month_nov", "month_dec"};

static int wday_index(int64_t days)
{
    int w = (int)(days % 7);
    return w < 0 ? w + 7 : w;
}

/* The zone of @phone, loaded once per page while consecutive rows share it. */
const Ccai_tz *Ccai_report_page_tz(Ccai_report_page *p, const char *phone)
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
void Ccai_report_put_time(Ccai_report_page *p, Ccai_html *o, const Ccai_tz *tz, const char *raw,
                          bool brief)
{
    iso t;
    int64_t ms;
    if (!raw || !iso_parse(raw, &t, &ms)) {
        Ccai_html_esc(o, raw);
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
    Ccai_html_put(o, "<time datetime=\"");
    Ccai_html_esc(o, raw);
    Ccai_html_put(o, "\">");
    if (!brief || !t.has_time) {
        Ccai_html weekday = {0}, month = {0};
        Ccai_html_esc(&weekday, Ccai_report_label(p, wday_names[wday_index(days)]));
        Ccai_html_esc(&month, Ccai_report_label(p, month_names[mo - 1]));
        char day[16], year[16];
        snprintf(day, sizeof day, "%d", d);
        snprintf(year, sizeof year, "%04d", y);
        const char *vars[] = {"weekday", weekday.b.data ? weekday.b.data : "", "day",  day,
                              "month",   month.b.data ? month.b.data : "",     "year", year,
                              NULL};
        if (weekday.bad || month.bad)
            o->bad = true;
        Ccai_report_put_label_to(p, o, "date", vars);
        Ccai_buf_free(&weekday.b);
        Ccai_buf_free(&month.b);
    }
    if (t.has_time)
        Ccai_html_putf(o, "%s%02d:%02d", brief ? "" : ", ", h, mi);
    if (t.has_time && abbr && !brief) {
        Ccai_html_put(o, " (");
        Ccai_html_esc(o, abbr);
        Ccai_html_put(o, ")");
    }
    Ccai_html_put(o, "</time>");
}

/* Milliseconds since the epoch of @raw for sorting and for deadlines;
 * zone-less values are read in @tz. INT64_MAX when unreadable. */
int64_t Ccai_report_time_key(const Ccai_tz *tz, const char *raw)
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

int Ccai_report_time_kind(const char *raw)
{
    iso t;
    int64_t ms;
    if (!raw || !iso_parse(raw, &t, &ms))
        return 0;
    return !t.has_time ? 1 : t.has_zone ? 3 : 2;
}

/* The viewer's zone ---------------------------------------------------- */

static bool load_view(Ccai_report_page *p, const char *zone)
{
    Ccai_tz *tz = NULL;
    if (!zone || !Ccai_tz_name_valid(zone) || strlen(zone) > CCAI_TZ_NAME_MAX ||
        Ccai_tz_load(zone, &tz) != CCAI_OK)
        return false;
    Ccai_tz_free(p->view_tz);
    p->view_tz = tz;
    snprintf(p->view_zone, sizeof p->view_zone, "%s", zone);
    return true;
}

void Ccai_report_page_view(Ccai_report_page *p, const char *asked, const char *fallback)
{
    if (asked && *asked) {
        if (load_view(p, asked)) {
            p->view_asked = true;
            return;
        }
        /* Said on the page; only a name that could be one is echoed. */
        snprintf(p->bad_zone, sizeof p->bad_zone, "%.*s", CCAI_TZ_NAME_MAX, asked);
    }
    if (fallback && strcmp(fallback, "UTC") != 0 && load_view(p, fallback))
        return;
    Ccai_tz_free(p->view_tz);
    p->view_tz = NULL;
    if (Ccai_tz_new_utc(&p->view_tz) != CCAI_OK)
        p->o.bad = true;
    snprintf(p->view_zone, sizeof p->view_zone, "UTC");
}

static int hexval(int c)
{
    if (Ccai_is_digit(c))
        return c - '0';
    c = Ccai_to_lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decode a form-urlencoded component s[0..n) into o. */
static void urldec(Ccai_html *o, const char *s, size_t n)
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
        Ccai_html_putn(o, &c, 1);
    }
}

static void put_hidden(Ccai_html *o, const char *name, const char *value)
{
    Ccai_html_put(o, "<input type=\"hidden\" name=\"");
    Ccai_html_esc(o, name);
    Ccai_html_put(o, "\" value=\"");
    Ccai_html_esc(o, value);
    Ccai_html_put(o, "\">");
}

void Ccai_report_put_hidden_fields(Ccai_report_page *p)
{
    static const char *const skip[] = {"phone_number", "limit", "offset", "tz"};
    const char *s = Ccai_report_query_body(p);
    while (*s) {
        size_t n = strcspn(s, "&");
        size_t k = strcspn(s, "=");
        if (k > n)
            k = n;
        Ccai_html key = {0}, val = {0};
        urldec(&key, s, k);
        if (k < n)
            urldec(&val, s + k + 1, n - k - 1);
        const char *kname = key.b.data ? key.b.data : "";
        bool keep = *kname != '\0';
        for (size_t i = 0; keep && i < CCAI_ARRAY_SIZE(skip); i++)
            keep = strcmp(kname, skip[i]) != 0;
        if (keep)
            put_hidden(&p->o, kname, val.b.data ? val.b.data : "");
        if (key.bad || val.bad)
            p->o.bad = true;
        Ccai_buf_free(&key.b);
        Ccai_buf_free(&val.b);
        s += n;
        if (*s == '&')
            s++;
    }
}

static void put_option(Ccai_html *o, const char *zone, const char *current)
{
    Ccai_html_put(o, "<option value=\"");
    Ccai_html_esc(o, zone);
    Ccai_html_put(o, strcmp(zone, current) == 0 ? "\" selected>" : "\">");
    Ccai_html_esc(o, zone);
    Ccai_html_put(o, "</option>");
}

void Ccai_report_put_view_form(Ccai_report_page *p, const char *path, const char *id,
                               const char *const *zones, const char *keep_phone)
{
    Ccai_html *o = &p->o;
    Ccai_html_put(o, "<form class=\"zone\" method=\"get\" action=\"");
    Ccai_html u = {0};
    Ccai_html_put(&u, p->base);
    Ccai_html_put(&u, path);
    if (id)
        Ccai_html_urlenc(&u, id, NULL);
    if (u.bad)
        o->bad = true;
    else
        Ccai_html_escn(o, u.b.data ? u.b.data : "", u.b.len);
    Ccai_buf_free(&u.b);
    Ccai_html_put(o, "\">");
    Ccai_report_put_hidden_fields(p);
    if (Ccai_report_filled(keep_phone))
        put_hidden(o, "phone_number", keep_phone);
    Ccai_html zone = {0};
    if (p->bad_zone[0]) {
        Ccai_html_put(o, "<span class=\"warn\">");
        Ccai_html_esc(&zone, p->bad_zone);
        const char *vars[] = {"zone", zone.b.data ? zone.b.data : "", NULL};
        Ccai_report_put_label(p, "unknown_zone", vars);
        Ccai_html_put(o, "</span> ");
        Ccai_buf_free(&zone.b);
        zone = (Ccai_html){0};
    }
    Ccai_html_put(o, "<label>");
    Ccai_html_put(&zone, "<b class=\"zone-name\">");
    Ccai_html_esc(&zone, p->view_zone);
    Ccai_html_put(&zone, "</b>");
    const char *vars[] = {"zone", zone.b.data ? zone.b.data : "", NULL};
    Ccai_report_put_label(p, "times_shown_in", vars);
    if (zone.bad)
        o->bad = true;
    Ccai_buf_free(&zone.b);
    Ccai_html_put(o, " <select name=\"tz\" aria-label=\"");
    Ccai_html_esc(o, Ccai_report_label(p, "time_zone"));
    Ccai_html_put(o, "\">");
    /* UTC, then each other zone once, in order of first mention. */
    put_option(o, "UTC", p->view_zone);
    if (strcmp(p->view_zone, "UTC") != 0)
        put_option(o, p->view_zone, p->view_zone);
    for (size_t i = 0; zones && zones[i]; i++) {
        bool seen = strcmp(zones[i], "UTC") == 0 || strcmp(zones[i], p->view_zone) == 0;
        for (size_t j = 0; !seen && j < i; j++)
            seen = strcmp(zones[i], zones[j]) == 0;
        if (!seen)
            put_option(o, zones[i], p->view_zone);
    }
    Ccai_html_put(o, "</select></label> <button type=\"submit\">");
    Ccai_html_esc(o, Ccai_report_label(p, "change"));
    Ccai_html_put(o, "</button></form>\n");
}

void Ccai_report_put_lang(Ccai_report_page *p)
{
    if (!p->lang)
        return;
    Ccai_html_put(&p->o, " lang=\"");
    Ccai_html_esc(&p->o, p->lang);
    Ccai_html_put(&p->o, "\"");
}

/* Page frame ------------------------------------------------------------ */

void Ccai_report_page_open(Ccai_report_page *p, const char *title)
{
    Ccai_html_put(&p->o, "<!DOCTYPE html>\n<html lang=\"");
    Ccai_html_esc(&p->o, p->ui_lang ? p->ui_lang : "en");
    Ccai_html_put(&p->o,
                  "\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                  "<meta name=\"color-scheme\" content=\"light dark\">"
                  "<meta name=\"referrer\" content=\"no-referrer\">"
                  "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                  "style-src 'unsafe-inline'; img-src data:; media-src 'self' http: https:; "
                  "form-action 'self'; base-uri 'none'\"><title>");
    Ccai_html_esc(&p->o, title);
    Ccai_html_put(&p->o, "</title><style>");
    /* data/report.css, compiled in (core/embedded.h). */
    const char *css = Ccai_embedded_text("report.css");
    Ccai_html_put(&p->o, css ? css : "");
    Ccai_html_put(&p->o, "</style></head><body><main>\n");
}

char *Ccai_report_page_close(Ccai_report_page *p)
{
    Ccai_html version = {0};
    Ccai_html_esc(&version, ccai_version());
    const char *vars[] = {"version", version.b.data ? version.b.data : "", NULL};
    Ccai_html_put(&p->o, "</main><footer>");
    Ccai_report_put_label(p, "generated_by", vars);
    Ccai_html_put(&p->o, "</footer></body></html>\n");
    if (version.bad)
        p->o.bad = true;
    Ccai_buf_free(&version.b);
    json_decref(p->labels);
    json_decref(p->labels_en);
    p->labels = p->labels_en = NULL;
    Ccai_tz_free(p->tz);
    p->tz = NULL;
    Ccai_tz_free(p->view_tz);
    p->view_tz = NULL;
    if (p->o.bad) {
        Ccai_buf_free(&p->o.b);
        return NULL;
    }
    return Ccai_buf_steal(&p->o.b);
}

/* Labels ---------------------------------------------------------------- */

static json_t *labels_file(const char *path)
{
    const char *text = Ccai_embedded_text(path);
    Ccai_json_err err;
    ccai_status st;
    json_t *o = text ? Ccai_json_load(text, strlen(text), &err, &st) : NULL;
    if (o && !json_is_object(o)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

/* The compiled-in labels of lang: its tag's, else one of its language's
 * ("fr-CA" takes fr-FR's). */
static json_t *labels_compiled(const char *lang)
{
    static const char prefix[] = "prompts/report/";
    size_t pl = strcspn(lang, "-_");
    const char *same_language = NULL;
    for (size_t f = 0; f < Ccai_embedded_count; f++) {
        const char *path = Ccai_embedded_files[f].path;
        if (strncmp(path, prefix, sizeof prefix - 1) != 0)
            continue;
        const char *l = path + sizeof prefix - 1, *slash = strchr(l, '/');
        if (!slash || strcmp(slash, "/labels.json") != 0)
            continue;
        size_t n = (size_t)(slash - l);
        if (n == strlen(lang) && strncasecmp(l, lang, n) == 0)
            return labels_file(path);
        if (!same_language && n > pl && strchr("-_", l[pl]) && strncasecmp(l, lang, pl) == 0)
            same_language = path;
    }
    return same_language ? labels_file(same_language) : NULL;
}

const char *Ccai_report_lang_tag(const char *s)
{
    size_t n = 0;
    for (; s && s[n]; n++) {
        if (!Ccai_is_alpha((unsigned char)s[n]) && !Ccai_is_digit((unsigned char)s[n]) &&
            s[n] != '-')
            return NULL;
    }
    return n >= 2 && n <= 35 ? s : NULL;
}

void Ccai_report_page_labels(Ccai_report_page *p, const char *lang, const json_t *translated)
{
    json_decref(p->labels);
    p->labels = NULL;
    p->ui_lang = "en";
    if (lang && json_is_object(translated))
        p->labels = json_incref((json_t *)translated);
    else if (lang && !(strncasecmp(lang, "en", 2) == 0 && strchr("-_", lang[2] ? lang[2] : '-')))
        p->labels = labels_compiled(lang);
    if (p->labels)
        p->ui_lang = lang;
}

const char *Ccai_report_label(const Ccai_report_page *p, const char *name)
{
    const char *s = json_string_value(json_object_get(p->labels, name));
    if (!s)
        s = json_string_value(json_object_get(p->labels_en, name));
    return s ? s : name;
}

void Ccai_report_put_label_to(Ccai_report_page *p, Ccai_html *o, const char *name,
                              const char *const *vars)
{
    const char *s = Ccai_report_label(p, name);
    while (*s) {
        size_t run = strcspn(s, "{");
        Ccai_html_escn(o, s, run);
        s += run;
        if (!*s)
            break;
        size_t n = strcspn(s + 1, "}");
        if (!s[1 + n]) { /* a stray brace: text */
            Ccai_html_esc(o, s);
            break;
        }
        for (size_t i = 0; vars && vars[i]; i += 2) {
            if (strlen(vars[i]) == n && strncmp(vars[i], s + 1, n) == 0) {
                Ccai_html_put(o, vars[i + 1]);
                break;
            }
        }
        s += n + 2;
    }
}

void Ccai_report_put_label(Ccai_report_page *p, const char *name, const char *const *vars)
{
    Ccai_report_put_label_to(p, &p->o, name, vars);
}

void Ccai_report_page_init(Ccai_report_page *p, const char *base_path, const char *access_query)
{
    memset(p, 0, sizeof *p);
    p->base = base_path ? base_path : "";
    p->query = access_query ? access_query : "";
    p->now_ms = Ccai_wall_ms();
    p->ui_lang = "en";
    if (!(p->labels_en = labels_file("prompts/report/labels.json")))
        p->o.bad = true; /* out of memory: the page fails */
}

/* The access query with its leading '?' removed. */
const char *Ccai_report_query_body(const Ccai_report_page *p)
{
    return p->query[0] == '?' ? p->query + 1 : p->query;
}

/* base + path + access query, attribute-escaped. */
void Ccai_report_put_href(Ccai_report_page *p, const char *path, const char *id)
{
    Ccai_html u = {0};
    Ccai_html_put(&u, p->base);
    Ccai_html_put(&u, path);
    if (id)
        Ccai_html_urlenc(&u, id, NULL);
    if (*Ccai_report_query_body(p)) {
        Ccai_html_put(&u, "?");
        Ccai_html_put(&u, Ccai_report_query_body(p));
    }
    if (p->view_asked) {
        Ccai_html_put(&u, *Ccai_report_query_body(p) ? "&tz=" : "?tz=");
        Ccai_html_urlenc(&u, p->view_zone, "/");
    }
    if (u.bad)
        p->o.bad = true;
    else
        Ccai_html_escn(&p->o, u.b.data ? u.b.data : "", u.b.len);
    Ccai_buf_free(&u.b);
}

/* "requires_expertise" -> "Requires expertise", escaped. */
void Ccai_html_put_human(Ccai_html *o, const char *s)
{
    if (!s)
        return;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i] == '_' ? ' ' : s[i];
        if (i == 0 && c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        Ccai_html_escn(o, &c, 1);
    }
}

void Ccai_report_put_missing(const Ccai_report_page *p, Ccai_html *o)
{
    Ccai_html_put(o, "<span class=\"missing\" title=\"");
    Ccai_html_esc(o, Ccai_report_label(p, "not_provided"));
    Ccai_html_put(o, "\">&mdash;</span>");
}

static const char *satisfaction_label(const char *s, const char **ret_class)
{
    static const struct {
        const char *value, *label, *cls;
    } map[] = {
        {"terrible", "satisfaction_terrible", "s-terrible"},
        {"low", "satisfaction_low", "s-low"},
        {"partial", "satisfaction_partial", "s-partial"},
        {"high", "satisfaction_high", "s-high"},
        {"unknow", "satisfaction_unknown", "s-unknown"},
        {"unknown", "satisfaction_unknown", "s-unknown"},
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

void Ccai_report_put_satisfaction(Ccai_report_page *p, const char *s, bool prefix)
{
    Ccai_html *o = &p->o;
    if (!Ccai_report_filled(s)) {
        Ccai_report_put_missing(p, o);
        return;
    }
    const char *cls;
    const char *label = satisfaction_label(s, &cls);
    Ccai_html level = {0};
    if (label)
        Ccai_html_esc(&level, Ccai_report_label(p, label));
    else
        Ccai_html_put_human(&level, s);
    Ccai_html_putf(o, "<span class=\"badge %s\">", cls);
    const char *vars[] = {"level", level.b.data ? level.b.data : "", NULL};
    if (prefix)
        Ccai_report_put_label(p, "satisfaction_is", vars);
    else
        Ccai_html_put(o, vars[1]);
    Ccai_html_put(o, "</span>");
    if (level.bad)
        o->bad = true;
    Ccai_buf_free(&level.b);
}

static int sorted_cmp(const void *a, const void *b)
{
    const Ccai_report_sorted *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

static int sorted_cmp_desc(const void *a, const void *b)
{
    const Ccai_report_sorted *x = a, *y = b;
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* The array's objects sorted by @key_of; NULL with *n = 0 when empty. */
Ccai_report_sorted *Ccai_report_sort(Ccai_report_page *p, const json_t *arr,
                                     int64_t (*key_of)(const json_t *, void *), void *ud,
                                     bool descending, size_t *n)
{
    *n = 0;
    size_t len = json_array_size(arr);
    if (!len)
        return NULL;
    Ccai_report_sorted *v = Ccai_calloc(len, sizeof *v);
    if (!v) {
        p->o.bad = true;
        return NULL;
    }
    for (size_t i = 0; i < len; i++) {
        const json_t *e = json_array_get(arr, i);
        if (!json_is_object(e))
            continue;
        v[*n] = (Ccai_report_sorted){e, key_of(e, ud), i};
        (*n)++;
    }
    qsort(v, *n, sizeof *v, descending ? sorted_cmp_desc : sorted_cmp);
    return v;
}
