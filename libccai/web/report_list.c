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
                          const char *label)
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
    Ccai_html_put(&p->o, "\">");
    Ccai_html_put(&p->o, label);
    Ccai_html_put(&p->o, "</a>");
    Ccai_buf_free(&u.b);
}

static void put_claim_summary(Ccai_html *o, const json_t *call)
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
    Ccai_html_put(o, "<span class=\"nowrap\">");
    if (fields)
        Ccai_html_putf(o, "%zu / %zu fields", filled, fields);
    else
        Ccai_html_putf(o, "%zu field%s", filled, filled == 1 ? "" : "s");
    Ccai_html_put(o, "</span>");
}

char *Ccai_report_list_html(const json_t *list, const char *phone_filter, size_t limit,
                            size_t offset, const char *base_path, const char *access_query,
                            const char *zone)
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

    Ccai_report_page_open(&p, "Calls");
    Ccai_html_put(o, "<header><p class=\"kicker\">Call reports</p><h1>Calls</h1></header>"
                     "<form class=\"search\" method=\"get\" role=\"search\" action=\"");
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
                     "aria-label=\"Phone number (E.164)\" value=\"");
    Ccai_html_esc(o, phone_filter);
    Ccai_html_put(o, "\"><button type=\"submit\">Search</button></form>\n");
    Ccai_report_put_view_form(&p, "/report", NULL, zones, phone_filter);
    ccai_free(zones);
    Ccai_html_put(o, "<section>");
    Ccai_html_put(o, "<p class=\"counts\">");
    if (!n)
        Ccai_html_putf(o, "No calls shown out of %zu", total);
    else if (n == total)
        Ccai_html_putf(o, "All %zu calls shown", total);
    else
        Ccai_html_putf(o, "Showing %zu&ndash;%zu of %zu calls (%zu shown)", offset + 1, offset + n,
                       total, n);
    if (Ccai_report_filled(phone_filter)) {
        Ccai_html_put(o, " for <b>");
        Ccai_html_esc(o, phone_filter);
        Ccai_html_put(o, "</b>");
    }
    Ccai_html_put(o, ".</p>");
    if (n) {
        Ccai_html_put(
            o, "<table class=\"list\"><thead><tr><th>Date</th><th>Phone</th><th>State</th>"
               "<th>Claim</th><th>Next action</th><th>Satisfaction</th></tr></thead><tbody>");
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *c = rows[i].v;
        const char *phone = Ccai_report_str(c, "phone_number");
        const char *id = Ccai_report_str(c, "call_id");
        const Ccai_tz *tz = p.view_tz;
        Ccai_html_put(o, "<tr><td data-label=\"Date\">");
        if (Ccai_report_filled(id)) {
            Ccai_html_put(o, "<a href=\"");
            Ccai_report_put_href(&p, "/report/", id);
            Ccai_html_put(o, "\">");
        }
        if (Ccai_report_filled(Ccai_report_str(c, "created_at")))
            Ccai_report_put_time(&p, o, tz, Ccai_report_str(c, "created_at"), false);
        else
            Ccai_html_put(o, "Undated");
        if (Ccai_report_filled(id))
            Ccai_html_put(o, "</a>");
        Ccai_html_put(o, "</td><td data-label=\"Phone\" class=\"nowrap\">");
        Ccai_html_esc(o, phone);
        if (!Ccai_report_filled(phone))
            Ccai_html_put_missing(o);
        Ccai_html_put(o, "</td><td data-label=\"State\">");
        Ccai_html_esc(o, Ccai_report_str(c, "state"));
        if (json_is_true(json_object_get(c, "in_progress")))
            Ccai_html_put(o, " <span class=\"badge live\">In progress</span>");
        Ccai_html_put(o, "</td><td data-label=\"Claim\">");
        put_claim_summary(o, c);
        const char *sshort = Ccai_report_str(json_object_get(c, "synthesis"), "short");
        if (Ccai_report_filled(sshort)) {
            Ccai_html_put(o, "<div class=\"small muted\">");
            Ccai_html_esc(o, sshort);
            Ccai_html_put(o, "</div>");
        }
        Ccai_html_put(o, "</td><td data-label=\"Next action\">");
        const char *next = Ccai_report_str(json_object_get(c, "next"), "action");
        if (Ccai_report_filled(next))
            Ccai_html_put_human(o, next);
        else
            Ccai_html_put_missing(o);
        Ccai_html_put(o, "</td><td data-label=\"Satisfaction\">");
        Ccai_report_put_satisfaction(
            &p, Ccai_report_str(json_object_get(c, "synthesis"), "satisfaction"), false);
        Ccai_html_put(o, "</td></tr>");
    }
    if (n)
        Ccai_html_put(o, "</tbody></table>");
    if (offset > 0 || offset + n < total) {
        Ccai_html_put(o, "<nav class=\"pages\" aria-label=\"Pages\"><span>");
        if (offset > 0)
            put_page_link(&p, phone_filter, limit, offset > limit ? offset - limit : 0,
                          "&larr; Newer");
        Ccai_html_put(o, "</span><span>");
        if (offset + n < total)
            put_page_link(&p, phone_filter, limit, offset + n, "Older &rarr;");
        Ccai_html_put(o, "</span></nav>");
    }
    Ccai_html_put(o, "</section>\n");
    ccai_free(rows);
    return Ccai_report_page_close(&p);
}
