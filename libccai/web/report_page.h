/* What every report page is written with (web/report_page.c): an HTML
 * writer with sticky failure, escaping and URL encoding, values read from a
 * call document without trusting its shape, times in the caller's time zone,
 * the page's frame and its internal links, and rows sorted by time. The
 * pages are web/report.c (one call, the error page) and web/report_list.c
 * (the list of calls); web/report.h is what the routes call. */
#ifndef CCAI_WEB_REPORT_PAGE_H
#define CCAI_WEB_REPORT_PAGE_H

#include "core/common.h"
#include "core/tz.h"

#include <jansson.h>

/* Output with a sticky failure: after a failed allocation every later
 * write is a no-op, and the page comes back NULL. */
typedef struct Ccai_html {
    Ccai_buf b;
    bool bad;
} Ccai_html;

typedef struct Ccai_report_page {
    Ccai_html o;
    const char *base;  /* "" or "/prefix" */
    const char *query; /* "" or "?k=v..." */
    int64_t now_ms;
    const char *zone; /* zone of tz (static string from Ccai_tz_for_phone) */
    Ccai_tz *tz;
    /* The one zone the page shows instants in (Ccai_report_page_view()):
     * the viewer's ?tz= when given and known, else the page's default. */
    char view_zone[CCAI_TZ_NAME_MAX + 1];
    Ccai_tz *view_tz;
    bool view_asked;                     /* the viewer chose it: internal links carry tz= */
    char bad_zone[CCAI_TZ_NAME_MAX + 1]; /* an asked zone that is unknown */
    const char *lang;                    /* the call's language tag (checked), or NULL */
    /* The page's labels (Ccai_report_page_labels()): those of its
     * language (NULL: none), else English's; ui_lang the language they are
     * in, the <html lang>. */
    json_t *labels;
    json_t *labels_en;
    const char *ui_lang;
} Ccai_report_page;

/* Writing. Values from a call document reach a page only through
 * Ccai_html_esc() (HTML text and attribute values alike, quotes included)
 * or Ccai_html_urlenc(). */
void Ccai_html_putn(Ccai_html *o, const char *s, size_t n);
void Ccai_html_put(Ccai_html *o, const char *s);
/* Formatted text of at most 255 bytes (longer fails the page). */
void Ccai_html_putf(Ccai_html *o, const char *fmt, ...) CCAI_PRINTF(2, 3);
/* HTML escaping valid in text and in quoted attribute values. */
void Ccai_html_escn(Ccai_html *o, const char *s, size_t n);
void Ccai_html_esc(Ccai_html *o, const char *s);
/* Percent-encode everything but RFC 3986 unreserved characters and keep. */
void Ccai_html_urlenc(Ccai_html *o, const char *s, const char *keep);
/* "requires_expertise" -> "Requires expertise", escaped. */
void Ccai_html_put_human(Ccai_html *o, const char *s);

/* JSON access that never trusts the document's shape. */
const char *Ccai_report_str(const json_t *obj, const char *key);
/* s holds text. */
CCAI_MUST_CHECK bool Ccai_report_filled(const char *s);

/* @s when it is a language tag fit for a lang attribute (BCP 47's letters,
 * digits and hyphens, 2 to 35 of them), else NULL. */
const char *Ccai_report_lang_tag(const char *s);

/* Labels. The page's fixed text in @lang (a checked tag; NULL: English):
 * @translated (its texts "report.*" translated by the LLM,
 * Ccai_engine_texts(); NULL when none) or the compiled-in
 * data/prompts/report/<lang>/labels.json (the tag, else one of its
 * language), else English (data/prompts/report/labels.json), name by name.
 * Call before Ccai_report_page_open(). */
void Ccai_report_page_labels(Ccai_report_page *p, const char *lang, const json_t *translated);
/* The text of label @name (the name itself when no file has it). */
const char *Ccai_report_label(const Ccai_report_page *p, const char *name);
/* Label @name escaped into @o, each placeholder {vars[2k]} replaced by the
 * HTML vars[2k+1] (already escaped; NULL-terminated pairs, NULL for none);
 * an unknown placeholder is left out. */
void Ccai_report_put_label_to(Ccai_report_page *p, Ccai_html *o, const char *name,
                              const char *const *vars);
void Ccai_report_put_label(Ccai_report_page *p, const char *name, const char *const *vars);
/* The mark of a value not provided, its title in the page's language. */
void Ccai_report_put_missing(const Ccai_report_page *p, Ccai_html *o);

/* Times. The zone of phone, loaded once per page while consecutive rows
 * share it (NULL: UTC). */
const Ccai_tz *Ccai_report_page_tz(Ccai_report_page *p, const char *phone);
/* raw as <time datetime="raw">human</time> into @o: instants in tz,
 * zone-less values as written, the date in the page's language (its
 * labels "date", "weekday_*", "month_*"); text that is not ISO 8601
 * escaped, without <time>. brief drops the date. */
void Ccai_report_put_time(Ccai_report_page *p, Ccai_html *o, const Ccai_tz *tz, const char *raw,
                          bool brief);
/* Milliseconds since the epoch of raw, for sorting and deadlines (a time
 * without a zone is read in tz); INT64_MAX when it does not parse. */
int64_t Ccai_report_time_key(const Ccai_tz *tz, const char *raw);

/* The zone the page shows instants in: @asked (the viewer's ?tz=, NULL or
 * "" for none) when it names a known zone, else @fallback ("UTC" when
 * NULL or unknown). An unknown @asked is kept to be said on the page. */
void Ccai_report_page_view(Ccai_report_page *p, const char *asked, const char *fallback);
/* The statement of that zone and the form that changes it: a select of
 * UTC, @zones (NULL-terminated, may repeat) and the current one; @path is
 * the page's own path (and @id its id, encoded), @keep_phone a
 * phone_number the form keeps (NULL: none). */
void Ccai_report_put_view_form(Ccai_report_page *p, const char *path, const char *id,
                               const char *const *zones, const char *keep_phone);
/* The access query's fields as hidden inputs of a GET form (browsers drop
 * an action's query), less phone_number, limit, offset and tz. */
void Ccai_report_put_hidden_fields(Ccai_report_page *p);
/* " lang=\"<the call's language>\"" when the page has one, else nothing. */
void Ccai_report_put_lang(Ccai_report_page *p);
/* 0: @raw is not ISO 8601; 1: a date; 2: a time without a zone; 3: an
 * instant (a time with Z or an offset). */
int Ccai_report_time_kind(const char *raw);

/* The page's frame: init, open (doctype, policy, style, title), then the
 * page's content, then close, which returns the document (NULL on out of
 * memory; the zone is freed either way). */
void Ccai_report_page_init(Ccai_report_page *p, const char *base_path, const char *access_query);
void Ccai_report_page_open(Ccai_report_page *p, const char *title);
char *Ccai_report_page_close(Ccai_report_page *p);
/* The access query without its leading '?'. */
const char *Ccai_report_query_body(const Ccai_report_page *p);
/* base + path (+ id, encoded) + access query (+ tz= when the viewer chose
 * the zone), attribute-escaped. */
void Ccai_report_put_href(Ccai_report_page *p, const char *path, const char *id);
/* A satisfaction level as a badge, with "Satisfaction: " when prefix. */
void Ccai_report_put_satisfaction(Ccai_report_page *p, const char *s, bool prefix);

/* The objects of an array with their sort keys, in order of key, then of
 * place in the array. */
typedef struct Ccai_report_sorted {
    const json_t *v;
    int64_t key;
    size_t index;
} Ccai_report_sorted;

/* The array's objects sorted by key_of (descending: newest first); NULL
 * with *n = 0 when none (or on out of memory: the page fails). Freed with
 * ccai_free(). */
Ccai_report_sorted *Ccai_report_sort(Ccai_report_page *p, const json_t *arr,
                                     int64_t (*key_of)(const json_t *, void *), void *ud,
                                     bool descending, size_t *n);

#endif
