/* The report's list of calls (GET /report): newest first, a search by
 * phone number, pages of rows. Written with web/report_page.h. */
#include "web/report.h"
#include "web/report_page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_LIMIT 100

/* List ------------------------------------------------------------------ */

static int64_t created_key(const json_t *c, void *ud)
{
    CCAI_UNUSED(ud);
    int64_t k = Ccai_report_time_key(NULL, Ccai_report_str(c, "created_at"));
    return k == INT64_MAX ? INT64_MIN : k; /* undated last when newest first */
}

static void put_page_link(Ccai_report_page *p, const char *phone, size_t limit, size_t offset,
                          const char *label, bool older)
{
    Ccai_html u = {0};
    Ccai_html_put(&u, p->base);
    Ccai_html_put(&u, "/report?");
    if (*Ccai_report_query_body(p)) {
        Ccai_html_put(&u, Ccai_report_query_body(p));
        Ccai_html_put(&u, "&");
    }
    if (Ccai_report_filled(phone)) {
        Ccai_html_put(&u, "phone_number=");
        Ccai_html_urlenc(&u, phone, NULL);
        Ccai_html_put(&u, "&");
    }
    Ccai_html_putf(&u, "limit=%zu&offset=%zu", limit, offset);
    if (p->view_asked) {
        Ccai_html_put(&u, "&tz=");
        Ccai_html_urlenc(&u, p->view_zone, "/");
    }
    Ccai_html_put(&p->o, "<a href=\"");
    if (u.bad)
        p->o.bad = true;
    else
        Ccai_html_escn(&p->o, u.b.data, u.b.len);
    Ccai_html_put(&p->o, older ? "\">" : "\">&larr; ");
    Ccai_report_put_label(p, label, NULL);
    Ccai_html_put(&p->o, older ? " &rarr;</a>" : "</a>");
    Ccai_buf_free(&u.b);
}

static void put_claim_summary(Ccai_report_page *p, const json_t *call)
{
    Ccai_html *o = &p->o;
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
    char a[32], b[32];
    snprintf(a, sizeof a, "%zu", filled);
    snprintf(b, sizeof b, "%zu", fields);
    const char *of[] = {"filled", a, "total", b, NULL}, *alone[] = {"n", a, NULL};
    Ccai_html_put(o, "<span class=\"nowrap\">");
    if (fields)
        Ccai_report_put_label(p, "fields_of", of);
    else
        Ccai_report_put_label(p, filled == 1 ? "fields_one" : "fields_many", alone);
    Ccai_html_put(o, "</span>");
}

const char *Ccai_report_list_lang(const json_t *list, const char *phone_filter)
{
    if (!Ccai_report_filled(phone_filter))
        return NULL;
    const json_t *newest = NULL, *c;
    int64_t best = INT64_MIN;
    size_t i;
    json_array_foreach(json_object_get(list, "calls"), i, c)
    {
        int64_t k = created_key(c, NULL);
        if (json_is_object(c) && (!newest || k > best)) {
            newest = c;
            best = k;
        }
    }
    return Ccai_report_lang_tag(Ccai_report_str(newest, "lang"));
}

/* A cell of the table: <td data-label="the column's label"> (the label a
 * narrow screen shows beside the value). */
static void put_cell(Ccai_report_page *p, const char *column, const char *cls)
{
    Ccai_html_put(&p->o, "<td data-label=\"");
    Ccai_html_esc(&p->o, Ccai_report_label(p, column));
    Ccai_html_put(&p->o, cls ? "\" class=\"" : "");
    Ccai_html_put(&p->o, cls ? cls : "");
    Ccai_html_put(&p->o, "\">");
}

char *Ccai_report_list_html(const json_t *list, const char *phone_filter, size_t limit,
                            size_t offset, const char *base_path, const char *access_query,
                            const char *zone, const json_t *labels)
{
    if (!json_is_object(list))
        return NULL;
    if (!limit)
        limit = DEFAULT_LIMIT;
    Ccai_report_page p;
    Ccai_report_page_init(&p, base_path, access_query);
    Ccai_html *o = &p.o;
    const json_t *calls = json_object_get(list, "calls");
    const json_t *jtotal = json_object_get(list, "total");
    size_t n;
    Ccai_report_sorted *rows = Ccai_report_sort(&p, calls, created_key, NULL, true, &n);
    size_t total = json_is_integer(jtotal) && json_integer_value(jtotal) >= 0
                       ? (size_t)json_integer_value(jtotal)
                       : n;
    if (total < offset + n)
        total = offset + n;

    /* One zone for the whole list: the viewer's, else UTC. */
    Ccai_report_page_view(&p, zone, "UTC");
    const char **zones = Ccai_calloc(n + 1, sizeof *zones);
    if (!zones)
        o->bad = true;
    for (size_t i = 0; zones && i < n; i++)
        zones[i] = Ccai_tz_for_phone(Ccai_report_str(rows[i].v, "phone_number"));

    Ccai_report_page_labels(&p, Ccai_report_list_lang(list, phone_filter), labels);
    Ccai_report_page_open(&p, Ccai_report_label(&p, "calls"));
    Ccai_html_put(o, "<header><p class=\"kicker\">");
    Ccai_report_put_label(&p, "call_reports", NULL);
    Ccai_html_put(o, "</p><h1>");
    Ccai_report_put_label(&p, "calls", NULL);
    Ccai_html_put(o, "</h1></header><form class=\"search\" method=\"get\" role=\"search\" "
                     "action=\"");
    Ccai_report_put_href(&p, "/report", NULL);
    Ccai_html_put(o, "\">");
    Ccai_report_put_hidden_fields(&p);
    if (p.view_asked) {
        Ccai_html_put(o, "<input type=\"hidden\" name=\"tz\" value=\"");
        Ccai_html_esc(o, p.view_zone);
        Ccai_html_put(o, "\">");
    }
    Ccai_html_put(o, "<input type=\"search\" name=\"phone_number\" inputmode=\"tel\" "
                     "autocomplete=\"tel\" placeholder=\"+33612345678\" "
                     "aria-label=\"");
    Ccai_html_esc(o, Ccai_report_label(&p, "phone_number_e164"));
    Ccai_html_put(o, "\" value=\"");
    Ccai_html_esc(o, phone_filter);
    Ccai_html_put(o, "\"><button type=\"submit\">");
    Ccai_report_put_label(&p, "search", NULL);
    Ccai_html_put(o, "</button></form>\n");
    Ccai_report_put_view_form(&p, "/report", NULL, zones, phone_filter);
    ccai_free(zones);
    Ccai_html_put(o, "<section>");
    char first[32], last[32], all[32], shown[32];
    snprintf(first, sizeof first, "%zu", offset + 1);
    snprintf(last, sizeof last, "%zu", offset + n);
    snprintf(all, sizeof all, "%zu", total);
    snprintf(shown, sizeof shown, "%zu", n);
    const char *count_vars[] = {"first", first, "last", last, "total", all, "shown", shown, NULL};
    Ccai_html counts = {0}, who = {0};
    Ccai_report_put_label_to(&p, &counts,
                             !n           ? "list_none"
                             : n == total ? "list_all"
                                          : "list_some",
                             count_vars);
    Ccai_html_put(&who, "<b>");
    Ccai_html_esc(&who, phone_filter);
    Ccai_html_put(&who, "</b>");
    const char *sentence[] = {"counts", counts.b.data ? counts.b.data : "", "phone",
                              who.b.data ? who.b.data : "", NULL};
    Ccai_html_put(o, "<p class=\"counts\">");
    Ccai_report_put_label(&p, Ccai_report_filled(phone_filter) ? "list_for" : "list_end", sentence);
    Ccai_html_put(o, "</p>");
    if (counts.bad || who.bad)
        o->bad = true;
    Ccai_buf_free(&counts.b);
    Ccai_buf_free(&who.b);
    static const char *const columns[] = {"date_column", "phone",       "state",
                                          "claim",       "next_action", "satisfaction"};
    if (n) {
        Ccai_html_put(o, "<table class=\"list\"><thead><tr>");
        for (size_t k = 0; k < CCAI_ARRAY_SIZE(columns); k++) {
            Ccai_html_put(o, "<th>");
            Ccai_report_put_label(&p, columns[k], NULL);
            Ccai_html_put(o, "</th>");
        }
        Ccai_html_put(o, "</tr></thead><tbody>");
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *c = rows[i].v;
        const char *phone = Ccai_report_str(c, "phone_number");
        const char *id = Ccai_report_str(c, "call_id");
        const Ccai_tz *tz = p.view_tz;
        Ccai_html_put(o, "<tr>");
        put_cell(&p, columns[0], NULL);
        if (Ccai_report_filled(id)) {
            Ccai_html_put(o, "<a href=\"");
            Ccai_report_put_href(&p, "/report/", id);
            Ccai_html_put(o, "\">");
        }
        if (Ccai_report_filled(Ccai_report_str(c, "created_at")))
            Ccai_report_put_time(&p, o, tz, Ccai_report_str(c, "created_at"), false);
        else
            Ccai_report_put_label(&p, "undated", NULL);
        if (Ccai_report_filled(id))
            Ccai_html_put(o, "</a>");
        Ccai_html_put(o, "</td>");
        put_cell(&p, columns[1], "nowrap");
        Ccai_html_esc(o, phone);
        if (!Ccai_report_filled(phone))
            Ccai_report_put_missing(&p, o);
        Ccai_html_put(o, "</td>");
        put_cell(&p, columns[2], NULL);
        Ccai_html_esc(o, Ccai_report_str(c, "state"));
        if (json_is_true(json_object_get(c, "in_progress"))) {
            Ccai_html_put(o, " <span class=\"badge live\">");
            Ccai_report_put_label(&p, "in_progress", NULL);
            Ccai_html_put(o, "</span>");
        }
        Ccai_html_put(o, "</td>");
        put_cell(&p, columns[3], NULL);
        put_claim_summary(&p, c);
        const char *sshort = Ccai_report_str(json_object_get(c, "synthesis"), "short");
        if (Ccai_report_filled(sshort)) {
            Ccai_html_put(o, "<div class=\"small muted\">");
            Ccai_html_esc(o, sshort);
            Ccai_html_put(o, "</div>");
        }
        Ccai_html_put(o, "</td>");
        put_cell(&p, columns[4], NULL);
        const char *next = Ccai_report_str(json_object_get(c, "next"), "action");
        if (Ccai_report_filled(next))
            Ccai_html_put_human(o, next);
        else
            Ccai_report_put_missing(&p, o);
        Ccai_html_put(o, "</td>");
        put_cell(&p, columns[5], NULL);
        Ccai_report_put_satisfaction(
            &p, Ccai_report_str(json_object_get(c, "synthesis"), "satisfaction"), false);
        Ccai_html_put(o, "</td></tr>");
    }
    if (n)
        Ccai_html_put(o, "</tbody></table>");
    if (offset > 0 || offset + n < total) {
        Ccai_html_put(o, "<nav class=\"pages\" aria-label=\"");
        Ccai_html_esc(o, Ccai_report_label(&p, "pages"));
        Ccai_html_put(o, "\"><span>");
        if (offset > 0)
            put_page_link(&p, phone_filter, limit, offset > limit ? offset - limit : 0, "newer",
                          false);
        Ccai_html_put(o, "</span><span>");
        if (offset + n < total)
            put_page_link(&p, phone_filter, limit, offset + n, "older", true);
        Ccai_html_put(o, "</span></nav>");
    }
    Ccai_html_put(o, "</section>\n");
    ccai_free(rows);
    return Ccai_report_page_close(&p);
}
