/* The report's page of one call (GET /report/:id) and the error page.
 * Written with web/report_page.h: values from the call document reach the
 * page only escaped, links taken from it only for http(s) and relative
 * URLs. */
#include "web/report.h"
#include "web/report_page.h"

#include "core/json.h"
#include "engine/prompts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void put_tel(const Ccai_report_page *p, Ccai_html *o, const char *phone)
{
    if (!Ccai_report_filled(phone)) {
        Ccai_report_put_missing(p, o);
        return;
    }
    Ccai_html digits_only = {0};
    for (const char *s = phone; *s; s++) {
        if (Ccai_is_digit((unsigned char)*s) || (*s == '+' && s == phone))
            Ccai_html_putn(&digits_only, s, 1);
    }
    if (digits_only.b.len && !digits_only.bad) {
        Ccai_html_put(o, "<a href=\"tel:");
        Ccai_html_put(o, digits_only.b.data);
        Ccai_html_put(o, "\">");
        Ccai_html_esc(o, phone);
        Ccai_html_put(o, "</a>");
    } else {
        Ccai_html_esc(o, phone);
    }
    if (digits_only.bad)
        o->bad = true;
    Ccai_buf_free(&digits_only.b);
}

static void put_email(Ccai_html *o, const char *email)
{
    const char *at = strchr(email, '@');
    if (!at || at == email || !at[1]) {
        Ccai_html_esc(o, email);
        return;
    }
    Ccai_html_put(o, "<a href=\"mailto:");
    Ccai_html_urlenc(o, email, "@+");
    Ccai_html_put(o, "\">");
    Ccai_html_esc(o, email);
    Ccai_html_put(o, "</a>");
}

/* Markdown, limited: paragraphs, - / * / 1. lists, **bold**, *italic*. The
 * text is escaped first; the tags added afterwards are the only markup. */
static void put_emphasis(Ccai_html *o, const char *s, size_t n, bool allow_bold)
{
    size_t i = 0, run = 0;
    while (i < n) {
        if (allow_bold && s[i] == '*' && i + 1 < n && s[i + 1] == '*') {
            size_t j = i + 2;
            while (j + 1 < n && !(s[j] == '*' && s[j + 1] == '*'))
                j++;
            if (j + 1 < n && j > i + 2) {
                Ccai_html_putn(o, s + run, i - run);
                Ccai_html_put(o, "<strong>");
                put_emphasis(o, s + i + 2, j - i - 2, false);
                Ccai_html_put(o, "</strong>");
                i = run = j + 2;
                continue;
            }
        } else if (s[i] == '*' && i + 1 < n && s[i + 1] != '*' && s[i + 1] != ' ') {
            size_t j = i + 1;
            while (j < n && s[j] != '*')
                j++;
            if (j < n && s[j - 1] != ' ') {
                Ccai_html_putn(o, s + run, i - run);
                Ccai_html_put(o, "<em>");
                Ccai_html_putn(o, s + i + 1, j - i - 1);
                Ccai_html_put(o, "</em>");
                i = run = j + 1;
                continue;
            }
        }
        i++;
    }
    Ccai_html_putn(o, s + run, n - run);
}

static void put_inline_md(Ccai_html *o, const char *s, size_t n)
{
    Ccai_html e = {0};
    Ccai_html_escn(&e, s, n);
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

static void put_markdown(Ccai_html *o, const char *text)
{
    enum block { NONE, PARA, UL, OL } block = NONE;
    static const char *const close[] = {"", "</p>", "</ul>", "</ol>"};
    const char *s = text ? text : "";
    Ccai_html_put(o, "<div class=\"md\">");
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
            Ccai_html_put(o, close[block]);
            block = NONE;
            continue;
        }
        bool ordered = false;
        size_t m = list_marker(line, n, &ordered);
        if (m) {
            enum block want = ordered ? OL : UL;
            if (block != want) {
                Ccai_html_put(o, close[block]);
                Ccai_html_put(o, ordered ? "<ol>" : "<ul>");
                block = want;
            }
            Ccai_html_put(o, "<li>");
            put_inline_md(o, line + m, n - m);
            Ccai_html_put(o, "</li>");
            continue;
        }
        if (block != PARA) {
            Ccai_html_put(o, close[block]);
            Ccai_html_put(o, "<p>");
            block = PARA;
        } else {
            Ccai_html_put(o, "\n");
        }
        put_inline_md(o, line + lead, n - lead);
    }
    Ccai_html_put(o, close[block]);
    Ccai_html_put(o, "</div>");
}

/* JSON text pretty-printed when it parses, else as is; escaped. */
static void put_json_text(Ccai_html *o, const char *text)
{
    if (!text)
        return;
    Ccai_json_err err;
    ccai_status st;
    json_t *v = Ccai_json_load(text, strlen(text), &err, &st);
    char *pretty = v ? Ccai_json_dump(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    Ccai_html_esc(o, pretty ? pretty : text);
    ccai_free(pretty);
    json_decref(v);
}

/* Scalar JSON as text (numbers, booleans); NULL for others. */
static void put_scalar(Ccai_html *o, const json_t *v)
{
    char *t = Ccai_json_dump(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!t) {
        o->bad = true;
        return;
    }
    Ccai_html_esc(o, t);
    ccai_free(t);
}

/* Label @name with its one placeholder {@var} replaced by @value's HTML;
 * @value is freed. */
static void put_label_1(Ccai_report_page *p, const char *name, const char *var, Ccai_html *value)
{
    const char *vars[] = {var, value->b.data ? value->b.data : "", NULL};
    Ccai_report_put_label(p, name, vars);
    if (value->bad)
        p->o.bad = true;
    Ccai_buf_free(&value->b);
}

/* One call ------------------------------------------------------------- */

/* <section id="id"><h2>label</h2> */
static void section_open(Ccai_report_page *p, const char *id, const char *label)
{
    Ccai_html_putf(&p->o, "<section id=\"%s\"><h2>", id);
    Ccai_report_put_label(p, label, NULL);
    Ccai_html_put(&p->o, "</h2>");
}

/* A paragraph saying what is missing: <p class="missing">label</p> */
static void put_missing(Ccai_report_page *p, const char *label)
{
    Ccai_html_put(&p->o, "<p class=\"missing\">");
    Ccai_report_put_label(p, label, NULL);
    Ccai_html_put(&p->o, "</p>");
}

/* The call's own words (in its language): <tag lang="..">text</tag>,
 * text as markdown or escaped. */
static void put_in_lang(Ccai_report_page *p, const char *tag, const char *text, bool markdown)
{
    Ccai_html_putf(&p->o, "<%s", tag);
    Ccai_report_put_lang(p);
    Ccai_html_put(&p->o, ">");
    if (markdown)
        put_markdown(&p->o, text);
    else
        Ccai_html_esc(&p->o, text);
    Ccai_html_putf(&p->o, "</%s>", tag);
}

static void put_claim_value(Ccai_report_page *p, const char *type, const json_t *v,
                            const Ccai_tz *tz)
{
    Ccai_html *o = &p->o;
    const char *s = json_string_value(v);
    if (!v || json_is_null(v) || (s && !*s)) {
        Ccai_report_put_missing(p, o);
    } else if (!s) {
        put_scalar(o, v);
    } else if (type && strcmp(type, "datetime") == 0 && Ccai_report_time_kind(s) == 2) {
        /* A time said without a zone: the caller's, shown as said. */
        Ccai_report_put_time(p, o, tz, s, false);
        Ccai_html_put(o, " <span class=\"small\">(");
        Ccai_html_esc(o, p->zone ? p->zone : "UTC");
        Ccai_html_put(o, ")</span>");
    } else if (type && strcmp(type, "datetime") == 0) {
        Ccai_report_put_time(p, o, p->view_tz, s, false);
    } else if (type && strcmp(type, "email") == 0) {
        put_email(o, s);
    } else if (type && strcmp(type, "phone_number") == 0) {
        put_tel(p, o, s);
    } else {
        Ccai_html_esc(o, s);
    }
}

static void put_claim(Ccai_report_page *p, const json_t *doc, const Ccai_tz *tz)
{
    Ccai_html *o = &p->o;
    const json_t *schema = json_object_get(json_object_get(doc, "initiate"), "claim");
    const json_t *claim = json_object_get(doc, "claim");
    section_open(p, "claim", "claim");
    Ccai_html_put(o, "<table class=\"kv\"><tbody>");
    size_t i, rows = 0;
    const json_t *field;
    json_array_foreach(schema, i, field)
    {
        const char *name = Ccai_report_str(field, "name");
        if (!Ccai_report_filled(name))
            continue;
        const char *desc = Ccai_report_str(field, "description");
        Ccai_html_put(o, "<tr><th scope=\"row\">");
        if (Ccai_report_filled(desc)) {
            Ccai_html_esc(o, desc);
            Ccai_html_put(o, "<br><code>");
            Ccai_html_esc(o, name);
            Ccai_html_put(o, "</code>");
        } else {
            Ccai_html_put_human(o, name);
        }
        Ccai_html_put(o, "</th><td");
        Ccai_report_put_lang(p);
        Ccai_html_put(o, ">");
        put_claim_value(p, Ccai_report_str(field, "type"), json_object_get(claim, name), tz);
        Ccai_html_put(o, "</td></tr>");
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
            const char *name = Ccai_report_str(field, "name");
            if (name && strcmp(name, key) == 0)
                known = true;
        }
        if (known)
            continue;
        Ccai_html_put(o, "<tr><th scope=\"row\">");
        Ccai_html_put_human(o, key);
        Ccai_html_put(o, "</th><td");
        Ccai_report_put_lang(p);
        Ccai_html_put(o, ">");
        put_claim_value(p, NULL, value, tz);
        Ccai_html_put(o, "</td></tr>");
        rows++;
    }
    if (!rows) {
        Ccai_html_put(o, "<tr><td class=\"missing\">");
        Ccai_report_put_label(p, "no_claim", NULL);
        Ccai_html_put(o, "</td></tr>");
    }
    Ccai_html_put(o, "</tbody></table></section>\n");
}

static const char *const known_actions[] = {"call",   "talk",     "sms",  "dtmf",
                                            "hangup", "transfer", "guard"};

static void put_action_badge(Ccai_html *o, const char *action)
{
    const char *cls = "a-other";
    for (size_t i = 0; action && i < CCAI_ARRAY_SIZE(known_actions); i++) {
        if (strcmp(action, known_actions[i]) == 0)
            cls = known_actions[i];
    }
    if (strcmp(cls, "a-other") == 0)
        Ccai_html_put(o, "<span class=\"badge\">");
    else
        Ccai_html_putf(o, "<span class=\"badge a-%s\">", cls);
    Ccai_html_esc(o, Ccai_report_filled(action) ? action : "talk");
    Ccai_html_put(o, "</span>");
}

static int64_t message_key(const json_t *m, void *ud)
{
    CCAI_UNUSED(ud);
    const json_t *seq = json_object_get(m, "seq");
    return json_is_integer(seq) ? (int64_t)json_integer_value(seq) : INT64_MAX;
}

static void put_tool_calls(Ccai_html *o, const json_t *calls)
{
    size_t i;
    const json_t *tc;
    json_array_foreach(calls, i, tc)
    {
        if (!json_is_object(tc))
            continue;
        Ccai_html_put(o, "<div class=\"tc\">&#x2699; <code>");
        Ccai_html_esc(o, Ccai_report_filled(Ccai_report_str(tc, "function_name"))
                             ? Ccai_report_str(tc, "function_name")
                             : "tool");
        Ccai_html_put(o, "</code>");
        const char *args = Ccai_report_str(tc, "function_arguments");
        if (Ccai_report_filled(args)) {
            Ccai_html_put(o, "<pre>");
            put_json_text(o, args);
            Ccai_html_put(o, "</pre>");
        }
        const char *result = Ccai_report_str(tc, "content");
        if (Ccai_report_filled(result)) {
            Ccai_html_put(o, "<div>&rarr; ");
            Ccai_html_esc(o, result);
            Ccai_html_put(o, "</div>");
        }
        Ccai_html_put(o, "</div>");
    }
}

static void put_timeline(Ccai_report_page *p, const json_t *doc, const Ccai_tz *tz)
{
    Ccai_html *o = &p->o;
    const char *bot = Ccai_report_str(json_object_get(doc, "initiate"), "bot_name");
    const char *caller = Ccai_report_str(json_object_get(doc, "claim"), "policyholder_name");
    size_t n;
    Ccai_report_sorted *msgs =
        Ccai_report_sort(p, json_object_get(doc, "messages"), message_key, NULL, false, &n);
    section_open(p, "conversation", "conversation");
    if (!n) {
        put_missing(p, "no_messages");
    } else {
        Ccai_html_put(o, "<ol class=\"timeline\">");
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *m = msgs[i].v;
        const char *persona = Ccai_report_str(m, "persona");
        const char *action = Ccai_report_str(m, "action");
        const char *content = Ccai_report_str(m, "content");
        const json_t *tools = json_object_get(m, "tool_calls");
        bool talk = !action || strcmp(action, "talk") == 0;
        if (talk && !Ccai_report_filled(content) && !json_array_size(tools))
            continue;
        const char *cls = "human",
                   *who = Ccai_report_filled(caller) ? caller : Ccai_report_label(p, "caller");
        if (persona && strcmp(persona, "assistant") == 0) {
            cls = "assistant";
            who = Ccai_report_filled(bot) ? bot : Ccai_report_label(p, "assistant");
        } else if (persona && strcmp(persona, "tool") == 0) {
            cls = "tool";
            who = Ccai_report_label(p, "tool");
        }
        Ccai_html_putf(o, "<li class=\"msg %s\"><div class=\"hd\"><span class=\"who\">", cls);
        Ccai_html_esc(o, who);
        Ccai_html_put(o, "</span>");
        put_action_badge(o, action);
        const char *style = Ccai_report_str(m, "style");
        bool cheerful = style && strcmp(style, "cheerful") == 0;
        if (cheerful || (style && strcmp(style, "sad") == 0)) {
            const char *mood = Ccai_report_label(p, cheerful ? "cheerful" : "sad");
            Ccai_html_put(o, "<span title=\"");
            Ccai_html_esc(o, mood);
            Ccai_html_put(o, "\" role=\"img\" aria-label=\"");
            Ccai_html_esc(o, mood);
            Ccai_html_put(o, cheerful ? "\">&#x263A;</span>" : "\">&#x2639;</span>");
        }
        Ccai_report_put_time(p, o, tz, Ccai_report_str(m, "created_at"), true);
        const char *engine = Ccai_report_str(m, "engine");
        if (Ccai_report_filled(engine)) {
            Ccai_html e = {0};
            Ccai_html_esc(&e, engine);
            const char *vars[] = {"engine", e.b.data ? e.b.data : "", NULL};
            Ccai_html_put(o, "<span class=\"small\">");
            Ccai_report_put_label(p, "via", vars);
            Ccai_html_put(o, "</span>");
            if (e.bad)
                o->bad = true;
            Ccai_buf_free(&e.b);
        }
        Ccai_html_put(o, "</div>");
        if (Ccai_report_filled(content)) {
            put_in_lang(p, "p", content, false);
        }
        put_tool_calls(o, tools);
        Ccai_html_put(o, "</li>");
    }
    if (n)
        Ccai_html_put(o, "</ol>");
    Ccai_html_put(o, "</section>\n");
    ccai_free(msgs);
}

static int64_t reminder_key(const json_t *r, void *ud)
{
    return Ccai_report_time_key(ud, Ccai_report_str(r, "due_date_time"));
}

static void put_reminders(Ccai_report_page *p, const json_t *doc, const Ccai_tz *tz)
{
    Ccai_html *o = &p->o;
    size_t n;
    Ccai_report_sorted *rs =
        Ccai_report_sort(p, json_object_get(doc, "reminders"), reminder_key, p->tz, false, &n);
    section_open(p, "reminders", "reminders");
    if (!n) {
        put_missing(p, "no_reminders");
    } else {
        Ccai_html_put(o, "<ul class=\"reminders\">");
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *r = rs[i].v;
        bool overdue = rs[i].key != INT64_MAX && rs[i].key < p->now_ms;
        Ccai_html_put(o, overdue ? "<li class=\"overdue\">" : "<li>");
        Ccai_html_put(o, "<strong");
        Ccai_report_put_lang(p);
        Ccai_html_put(o, ">");
        Ccai_html_esc(o, Ccai_report_filled(Ccai_report_str(r, "title"))
                             ? Ccai_report_str(r, "title")
                             : Ccai_report_label(p, "reminder"));
        Ccai_html_put(o, "</strong><div class=\"small due\">");
        if (overdue) {
            Ccai_report_put_label(p, "overdue", NULL);
            Ccai_html_put(o, " &middot; ");
        }
        Ccai_html due = {0};
        if (Ccai_report_filled(Ccai_report_str(r, "due_date_time")))
            Ccai_report_put_time(p, &due, tz, Ccai_report_str(r, "due_date_time"), false);
        else
            Ccai_report_put_missing(p, &due);
        put_label_1(p, "due", "time", &due);
        const char *owner = Ccai_report_str(r, "owner");
        if (Ccai_report_filled(owner)) {
            Ccai_html who = {0};
            Ccai_html_esc(&who, owner);
            Ccai_html_put(o, " &middot; ");
            put_label_1(p, "owner", "owner", &who);
        }
        Ccai_html_put(o, "</div>");
        if (Ccai_report_filled(Ccai_report_str(r, "description"))) {
            Ccai_html_put(o, "<div");
            Ccai_report_put_lang(p);
            Ccai_html_put(o, ">");
            Ccai_html_esc(o, Ccai_report_str(r, "description"));
            Ccai_html_put(o, "</div>");
        }
        Ccai_html_put(o, "</li>");
    }
    if (n)
        Ccai_html_put(o, "</ul>");
    Ccai_html_put(o, "</section>\n");
    ccai_free(rs);
}

/* Words for an outcome stored as a token ("given_up": "given up"). */
static void put_outcome(const Ccai_report_page *p, Ccai_html *o, const char *outcome)
{
    if (!Ccai_report_filled(outcome)) {
        Ccai_report_put_missing(p, o);
        return;
    }
    Ccai_html_put(o, "<b>");
    for (const char *c = outcome; *c; c++)
        Ccai_html_putn(o, *c == '_' ? " " : c, 1);
    Ccai_html_put(o, "</b>");
}

/* "at: outcome" lines of a callback's dials or an alert's tries. */
static void put_steps(Ccai_report_page *p, const json_t *steps, const Ccai_tz *tz, const char *what)
{
    Ccai_html *o = &p->o;
    size_t i;
    const json_t *d;
    if (!json_array_size(steps))
        return;
    Ccai_html_put(o, "<ol class=\"small\">");
    json_array_foreach(steps, i, d)
    {
        Ccai_html num = {0};
        Ccai_html_putf(&num, "%zu", i + 1);
        Ccai_html_put(o, "<li>");
        put_label_1(p, what, "n", &num);
        Ccai_html_put(o, ", ");
        if (Ccai_report_filled(Ccai_report_str(d, "at")))
            Ccai_report_put_time(p, o, tz, Ccai_report_str(d, "at"), false);
        Ccai_html_put(o, ": ");
        const char *r = Ccai_report_str(d, "outcome");
        Ccai_html_esc(o, Ccai_report_filled(r) ? r : Ccai_report_str(d, "result"));
        Ccai_html_put(o, "</li>");
    }
    Ccai_html_put(o, "</ol>");
}

/* What was done for the caller after the words: callbacks and their
 * dials, emergency alerts and their tries, SMS and their delivery. */
static void put_follow_up(Ccai_report_page *p, const json_t *doc, const Ccai_tz *tz)
{
    Ccai_html *o = &p->o;
    const json_t *cbs = json_object_get(doc, "callbacks");
    const json_t *alerts = json_object_get(doc, "alerts");
    const json_t *sms = json_object_get(doc, "sms");
    if (!json_array_size(cbs) && !json_array_size(alerts) && !json_array_size(sms))
        return;
    section_open(p, "follow-up", "follow_up");
    Ccai_html_put(o, "<ul class=\"reminders\">");
    size_t i;
    const json_t *v;
    json_array_foreach(cbs, i, v)
    {
        Ccai_html at = {0};
        Ccai_report_put_time(p, &at, tz, Ccai_report_str(v, "at"), false);
        Ccai_html_put(o, "<li><strong>");
        put_label_1(p, "callback_for", "time", &at);
        Ccai_html_put(o, "</strong> &middot; ");
        put_outcome(p, o, Ccai_report_str(v, "outcome"));
        if (Ccai_report_filled(Ccai_report_str(v, "about"))) {
            Ccai_html about = {0};
            Ccai_html_esc(&about, Ccai_report_str(v, "about"));
            Ccai_html_put(o, "<div>");
            put_label_1(p, "about", "about", &about);
            Ccai_html_put(o, "</div>");
        }
        if (Ccai_report_filled(Ccai_report_str(v, "last_error"))) {
            Ccai_html_put(o, "<div class=\"small\">");
            Ccai_html_esc(o, Ccai_report_str(v, "last_error"));
            Ccai_html_put(o, "</div>");
        }
        put_steps(p, json_object_get(v, "dials"), tz, "dial");
        Ccai_html_put(o, "</li>");
    }
    json_array_foreach(alerts, i, v)
    {
        Ccai_html service = {0}, target = {0};
        Ccai_html_esc(&service, Ccai_report_str(v, "service"));
        const char *to = Ccai_report_str(v, "to");
        Ccai_html_esc(&target, Ccai_report_filled(to) ? to : Ccai_report_str(v, "url"));
        const char *vars[] = {"service", service.b.data ? service.b.data : "", "to",
                              target.b.data ? target.b.data : "", NULL};
        Ccai_html_put(o, "<li>");
        Ccai_report_put_label(p, "emergency_alert", vars);
        Ccai_html_put(o, " &middot; ");
        if (service.bad || target.bad)
            o->bad = true;
        Ccai_buf_free(&service.b);
        Ccai_buf_free(&target.b);
        put_outcome(p, o, Ccai_report_str(v, "outcome"));
        put_steps(p, json_object_get(v, "tries"), tz, "try");
        Ccai_html_put(o, "</li>");
    }
    json_array_foreach(sms, i, v)
    {
        Ccai_html target = {0};
        Ccai_html_esc(&target, Ccai_report_str(v, "to"));
        Ccai_html_put(o, "<li>");
        put_label_1(p, "sms_to", "to", &target);
        Ccai_html_put(o, " &middot; ");
        put_outcome(p, o, Ccai_report_str(v, "status"));
        if (Ccai_report_filled(Ccai_report_str(v, "status_detail"))) {
            Ccai_html_put(o, " (");
            Ccai_html_esc(o, Ccai_report_str(v, "status_detail"));
            Ccai_html_put(o, ")");
        }
        Ccai_html_put(o, "<div>");
        Ccai_html_esc(o, Ccai_report_str(v, "text"));
        Ccai_html_put(o, "</div></li>");
    }
    Ccai_html_put(o, "</ul></section>\n");
}

static void put_next(Ccai_report_page *p, const json_t *doc)
{
    Ccai_html *o = &p->o;
    const json_t *next = json_object_get(doc, "next");
    section_open(p, "next", "next_action");
    if (!Ccai_report_filled(Ccai_report_str(next, "action"))) {
        put_missing(p, "not_decided");
        Ccai_html_put(o, "</section>\n");
        return;
    }
    Ccai_html_put(o, "<p><span class=\"badge a-call\">");
    Ccai_html_put_human(o, Ccai_report_str(next, "action"));
    Ccai_html_put(o, "</span></p>");
    if (Ccai_report_filled(Ccai_report_str(next, "justification"))) {
        put_in_lang(p, "p", Ccai_report_str(next, "justification"), false);
    }
    Ccai_html_put(o, "</section>\n");
}

static void put_synthesis(Ccai_report_page *p, const json_t *doc)
{
    Ccai_html *o = &p->o;
    const json_t *syn = json_object_get(doc, "synthesis");
    Ccai_html_put(o, "<section id=\"synthesis\"><h2>");
    if (Ccai_report_filled(Ccai_report_str(syn, "short"))) {
        Ccai_html summary = {0};
        Ccai_html_put(&summary, "<span");
        if (p->lang) {
            Ccai_html_put(&summary, " lang=\"");
            Ccai_html_esc(&summary, p->lang);
            Ccai_html_put(&summary, "\"");
        }
        Ccai_html_put(&summary, ">");
        Ccai_html_esc(&summary, Ccai_report_str(syn, "short"));
        Ccai_html_put(&summary, "</span>");
        put_label_1(p, "summary_of", "summary", &summary);
    } else {
        Ccai_report_put_label(p, "summary", NULL);
    }
    Ccai_html_put(o, "</h2>");
    if (!json_is_object(syn)) {
        put_missing(p, "no_summary");
        Ccai_html_put(o, "</section>\n");
        return;
    }
    if (Ccai_report_filled(Ccai_report_str(syn, "long"))) {
        put_in_lang(p, "div", Ccai_report_str(syn, "long"), true);
    }
    Ccai_html_put(o, "<p>");
    Ccai_report_put_satisfaction(p, Ccai_report_str(syn, "satisfaction"), true);
    Ccai_html_put(o, "</p>");
    if (Ccai_report_filled(Ccai_report_str(syn, "improvement_suggestions"))) {
        Ccai_html_put(o, "<h3>");
        Ccai_report_put_label(p, "improvement_suggestions", NULL);
        Ccai_html_put(o, "</h3>");
        put_in_lang(p, "div", Ccai_report_str(syn, "improvement_suggestions"), true);
    }
    Ccai_html_put(o, "</section>\n");
}

static void put_recording(Ccai_report_page *p, const char *url)
{
    Ccai_html *o = &p->o;
    if (!Ccai_report_filled(url))
        return;
    section_open(p, "recording", "recording");
    if (url_safe(url)) {
        Ccai_html_put(o, "<audio controls preload=\"none\" src=\"");
        Ccai_html_esc(o, url);
        Ccai_html_put(o, "\"></audio><p><a href=\"");
        Ccai_html_esc(o, url);
        Ccai_html_put(o, "\" rel=\"noopener noreferrer\">");
        Ccai_report_put_label(p, "download_recording", NULL);
        Ccai_html_put(o, "</a></p>");
    } else {
        put_missing(p, "recording_hidden");
    }
    Ccai_html_put(o, "</section>\n");
}

static void put_meta_item(Ccai_report_page *p, const char *label, const char *value)
{
    Ccai_html *o = &p->o;
    Ccai_html_put(o, "<li>");
    Ccai_report_put_label(p, label, NULL);
    Ccai_html_put(o, " <b>");
    if (Ccai_report_filled(value))
        Ccai_html_esc(o, value);
    else
        Ccai_report_put_missing(p, o);
    Ccai_html_put(o, "</b></li>");
}

char *Ccai_report_call_html(const json_t *call_doc, const char *base_path, const char *access_query,
                            const Ccai_report_view *view)
{
    if (!json_is_object(call_doc))
        return NULL;
    Ccai_report_page p;
    Ccai_report_page_init(&p, base_path, access_query);
    Ccai_html *o = &p.o;
    const json_t *init = json_object_get(call_doc, "initiate");
    const char *phone = Ccai_report_str(call_doc, "phone_number");
    if (!Ccai_report_filled(phone))
        phone = Ccai_report_str(init, "phone_number");
    /* tz: the caller's, for what the caller said without a zone; the page's
     * instants are in the viewer's zone, by default the caller's. */
    const Ccai_tz *caller_tz = Ccai_report_page_tz(&p, phone);
    const char *caller_zone = Ccai_tz_for_phone(phone);
    Ccai_report_page_view(&p, view ? view->zone : NULL, caller_zone);
    const Ccai_tz *tz = p.view_tz;
    p.lang = Ccai_report_lang_tag(Ccai_report_str(call_doc, "lang"));
    Ccai_report_page_labels(&p, p.lang, view ? view->labels : NULL);

    /* The title is text (escaped by Ccai_report_page_open()). */
    const Ccai_prompt_var title_vars[] = {{"phone", phone}};
    char *title = Ccai_report_filled(phone)
                      ? Ccai_prompt_render(Ccai_report_label(&p, "call_title"), title_vars, 1)
                      : Ccai_strdup(Ccai_report_label(&p, "call_report"));
    if (!title)
        o->bad = true;
    Ccai_report_page_open(&p, title ? title : "");
    ccai_free(title);

    if (!view || view->list_link) {
        Ccai_html_put(o, "<p class=\"small\"><a href=\"");
        Ccai_report_put_href(&p, "/report", NULL);
        Ccai_html_put(o, "\">&larr; ");
        Ccai_report_put_label(&p, "all_calls", NULL);
        Ccai_html_put(o, "</a></p>");
    }
    Ccai_html_put(o, "<header><p class=\"kicker\">");
    Ccai_report_put_label(&p, "call_report", NULL);
    Ccai_html_put(o, "</p><h1>");
    if (Ccai_report_filled(phone))
        put_tel(&p, o, phone);
    else
        Ccai_report_put_label(&p, "unknown_number", NULL);
    Ccai_html_put(o, "</h1><ul class=\"meta\"><li>");
    Ccai_report_put_label(&p, "created", NULL);
    Ccai_html_put(o, " <b>");
    if (Ccai_report_filled(Ccai_report_str(call_doc, "created_at")))
        Ccai_report_put_time(&p, o, tz, Ccai_report_str(call_doc, "created_at"), false);
    else
        Ccai_report_put_missing(&p, o);
    Ccai_html_put(o, "</b></li><li>");
    Ccai_report_put_label(&p, "state", NULL);
    Ccai_html_put(o, " <b>");
    Ccai_html_esc(o, Ccai_report_filled(Ccai_report_str(call_doc, "state"))
                         ? Ccai_report_str(call_doc, "state")
                         : Ccai_report_label(&p, "state_unknown"));
    Ccai_html_put(o, "</b>");
    if (json_is_true(json_object_get(call_doc, "in_progress"))) {
        Ccai_html_put(o, " <span class=\"badge live\">");
        Ccai_report_put_label(&p, "in_progress", NULL);
        Ccai_html_put(o, "</span>");
    }
    Ccai_html_put(o, "</li>");
    put_meta_item(&p, "direction", Ccai_report_str(call_doc, "direction"));
    put_meta_item(&p, "channel", Ccai_report_str(call_doc, "channel"));
    put_meta_item(&p, "language", Ccai_report_str(call_doc, "lang"));
    Ccai_html_put(o, "<li>");
    Ccai_report_put_label(&p, "agent", NULL);
    Ccai_html_put(o, " <b>");
    const char *bot = Ccai_report_str(init, "bot_name"),
               *company = Ccai_report_str(init, "bot_company");
    if (Ccai_report_filled(bot))
        Ccai_html_esc(o, bot);
    if (Ccai_report_filled(company)) {
        Ccai_html_put(o, Ccai_report_filled(bot) ? " (" : "");
        Ccai_html_esc(o, company);
        Ccai_html_put(o, Ccai_report_filled(bot) ? ")" : "");
    }
    if (!Ccai_report_filled(bot) && !Ccai_report_filled(company))
        Ccai_report_put_missing(&p, o);
    Ccai_html_put(o, "</b></li></ul><p class=\"small muted\">");
    Ccai_report_put_label(&p, "call_id", NULL);
    Ccai_html_put(o, " <code>");
    Ccai_html_esc(o, Ccai_report_str(call_doc, "call_id"));
    Ccai_html_put(o, "</code></p></header>\n");
    const char *zones[] = {caller_zone, NULL};
    Ccai_report_put_view_form(&p, "/report/", Ccai_report_str(call_doc, "call_id"), zones, NULL);

    put_synthesis(&p, call_doc);
    put_claim(&p, call_doc, caller_tz);
    put_timeline(&p, call_doc, tz);
    put_reminders(&p, call_doc, tz);
    put_follow_up(&p, call_doc, tz);
    put_next(&p, call_doc);
    put_recording(&p, Ccai_report_str(call_doc, "recording_url"));

    section_open(&p, "task", "task");
    if (Ccai_report_filled(Ccai_report_str(init, "task"))) {
        Ccai_html_put(o, "<p class=\"task\">");
        Ccai_html_esc(o, Ccai_report_str(init, "task"));
        Ccai_html_put(o, "</p>");
    } else {
        put_missing(&p, "no_task");
    }
    Ccai_html_put(o, "</section>\n");
    return Ccai_report_page_close(&p);
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
    Ccai_report_page p;
    Ccai_report_page_init(&p, NULL, NULL);
    char title[64];
    snprintf(title, sizeof title, "%d %s", status, reason_phrase(status));
    Ccai_report_page_open(&p, title);
    Ccai_html_put(&p.o, "<section><h1>");
    Ccai_html_esc(&p.o, title);
    Ccai_html_put(&p.o, "</h1>");
    if (Ccai_report_filled(message)) {
        Ccai_html_put(&p.o, "<p>");
        Ccai_html_esc(&p.o, message);
        Ccai_html_put(&p.o, "</p>");
    }
    Ccai_html_put(&p.o, "</section>\n");
    return Ccai_report_page_close(&p);
}
