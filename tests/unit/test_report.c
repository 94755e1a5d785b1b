/* web/report.c: the report pages (escaping, claim types, sections, list,
 * errors). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/json.h"
#include "web/report.h"

#include <stdlib.h>
#include <string.h>

static json_t *load(const char *text)
{
    Ccai_json_err err;
    ccai_status st;
    json_t *v = Ccai_json_load(text, strlen(text), &err, &st);
    if (!v)
        fail_msg("test JSON does not parse: %u:%u %s", err.line, err.column, err.text);
    return v;
}

/* The call in English: the page's words are English's (test_report_lang
 * has the other languages). */
static json_t *load_en(const char *text)
{
    json_t *v = load(text);
    json_object_set_new(v, "lang", json_string("en-GB"));
    return v;
}

/* A call whose every field a hostile caller or LLM could fill is hostile. */
static const char hostile_call[] =
    "{\"call_id\":\"0b9d7c1e-0000-4000-8000-000000000001\","
    "\"created_at\":\"2024-10-08T12:00:00.000Z\",\"updated_at\":\"2024-10-08T12:05:00.000Z\","
    "\"in_progress\":false,\"state\":\"done\",\"direction\":\"inbound\",\"channel\":\"twilio\","
    "\"phone_number\":\"+33612345678\",\"bot_phone_number\":\"+33100000000\","
    "\"provider_call_id\":null,\"lang\":\"fr-FR\","
    "\"initiate\":{\"bot_name\":\"Bob\\\"><img src=x "
    "onerror=alert(2)>\",\"bot_company\":\"Contoso\","
    "\"task\":\"File the claim <b>now</b>\",\"phone_number\":\"+33612345678\","
    "\"claim\":[{\"name\":\"incident_datetime\",\"type\":\"datetime\",\"description\":\"Date and "
    "time of the incident\"},"
    "{\"name\":\"incident_location\",\"type\":\"text\",\"description\":\"Location\"},"
    "{\"name\":\"policy_number\",\"type\":\"text\",\"description\":\"Policy number\"},"
    "{\"name\":\"policyholder_email\",\"type\":\"email\",\"description\":\"Email\"},"
    "{\"name\":\"policyholder_phone\",\"type\":\"phone_number\",\"description\":\"Phone\"}]},"
    "\"claim\":{\"incident_datetime\":\"2024-10-08T14:30:00Z\","
    "\"incident_location\":\"Lyon' onmouseover='alert(3)\","
    "\"policyholder_email\":\"jane.doe@example.com\",\"policyholder_phone\":\"+33 6 99 88 77 66\"},"
    "\"messages\":["
    "{\"seq\":3,\"created_at\":\"2024-10-08T12:00:03Z\",\"persona\":\"assistant\","
    "\"action\":\"talk\",\"style\":\"cheerful\",\"content\":\"THIRD reply\",\"engine\":\"llm\","
    "\"tool_calls\":[{\"tool_id\":\"t1\",\"function_name\":\"updated_claim\","
    "\"function_arguments\":\"{\\\"field\\\":\\\"incident_location\\\",\\\"value\\\":\\\"Lyon\\\"}"
    "\",\"content\":\"Updated <ok>\"}]},"
    "{\"seq\":1,\"created_at\":\"2024-10-08T12:00:01Z\",\"persona\":\"human\",\"action\":\"call\","
    "\"style\":\"none\",\"content\":\"\"},"
    "{\"seq\":2,\"created_at\":\"2024-10-08T12:00:02Z\",\"persona\":\"human\",\"action\":\"talk\","
    "\"style\":\"none\",\"content\":\"SECOND <script>alert(1)</script>\"},"
    "{\"seq\":4,\"created_at\":\"2024-10-08T12:00:04Z\",\"persona\":\"human\","
    "\"action\":\"hangup\",\"style\":\"none\",\"content\":\"FOURTH bye\"}],"
    "\"reminders\":[{\"title\":\"Call back later\",\"description\":\"future\","
    "\"due_date_time\":\"2999-01-01T09:00:00Z\",\"owner\":\"agent\"},"
    "{\"title\":\"Check the policy\",\"description\":\"past\","
    "\"due_date_time\":\"2000-01-01T09:00:00Z\",\"owner\":null}],"
    "\"next\":{\"action\":\"requires_expertise\",\"justification\":\"Damage <needs> review\"},"
    "\"synthesis\":{\"short\":\"your <broken> window\",\"long\":\"You called about **your car** "
    "and *the <window>*.\\n\\n- first point\\n- second point\\n\\nA closing line.\","
    "\"satisfaction\":\"high\",\"improvement_suggestions\":\"Ask for the policy earlier.\"},"
    "\"recording_url\":\"javascript:alert(4)\",\"row_version\":7}";

static void test_report_escapes(void **state)
{
    (void)state;
    json_t *doc = load(hostile_call);
    char *html = Ccai_report_call_html(doc, "", "?token=a\"b", NULL);
    assert_non_null(html);
    /* No markup from the document survives; all of it is there as text. */
    assert_null(strstr(html, "<script"));
    assert_non_null(strstr(html, "SECOND &lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_null(strstr(html, "<img"));
    assert_non_null(strstr(html, "Bob&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
    assert_null(strstr(html, "' onmouseover"));
    assert_non_null(strstr(html, "Lyon&#39; onmouseover=&#39;alert(3)"));
    assert_null(strstr(html, "<b>now"));
    assert_non_null(strstr(html, "File the claim &lt;b&gt;now&lt;/b&gt;"));
    assert_non_null(strstr(html, "Updated &lt;ok&gt;"));
    assert_non_null(strstr(html, "Damage &lt;needs&gt; review"));
    assert_non_null(strstr(html, "your &lt;broken&gt; window"));
    /* The access query is escaped in links. */
    assert_non_null(strstr(html, "href=\"/report?token=a&quot;b\""));
    assert_null(strstr(html, "token=a\"b"));
    /* A javascript: recording is neither linked nor played. */
    assert_null(strstr(html, "javascript:"));
    assert_null(strstr(html, "<audio"));
    assert_non_null(strstr(html, "id=\"recording\""));
    /* Offline: nothing loaded from elsewhere, no script at all. */
    assert_null(strstr(html, "<script"));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "src=\"http"));
    ccai_free(html);
    json_decref(doc);
}

static void test_report_claim_types(void **state)
{
    (void)state;
    json_t *doc = load_en(hostile_call);
    char *html = Ccai_report_call_html(doc, NULL, NULL, NULL);
    assert_non_null(html);
    assert_non_null(
        strstr(html, "<a href=\"mailto:jane.doe@example.com\">jane.doe@example.com</a>"));
    assert_non_null(strstr(html, "<a href=\"tel:+33699887766\">+33 6 99 88 77 66</a>"));
    /* Europe/Paris from +33: 14:30Z is 16:30 CEST. */
    assert_non_null(strstr(html, "<time datetime=\"2024-10-08T14:30:00Z\">Tue 8 Oct 2024, "));
    assert_non_null(strstr(html, "Date and time of the incident"));
    /* policy_number has no value. */
    const char *row = strstr(html, "Policy number");
    assert_non_null(row);
    assert_non_null(strstr(row, "&mdash;"));
    assert_true(strstr(row, "&mdash;") < strstr(row, "Email"));
    /* Schema order. */
    assert_true(strstr(html, "Date and time of the incident") < strstr(html, ">Location<"));
    assert_true(strstr(html, ">Location<") < strstr(html, "Policy number"));
    ccai_free(html);
    json_decref(doc);
}

static void test_report_sections(void **state)
{
    (void)state;
    json_t *doc = load_en(hostile_call);
    char *html = Ccai_report_call_html(doc, "/base", "", NULL);
    assert_non_null(html);
    /* Timeline sorted by seq; the empty "call" message still shows. */
    const char *second = strstr(html, "SECOND"), *third = strstr(html, "THIRD"),
               *fourth = strstr(html, "FOURTH");
    assert_non_null(second);
    assert_true(second < third && third < fourth);
    assert_non_null(strstr(html, "class=\"badge a-call\">call<"));
    assert_non_null(strstr(html, "class=\"badge a-hangup\">hangup<"));
    assert_non_null(strstr(html, "class=\"msg assistant\""));
    assert_non_null(strstr(html, "class=\"msg human\""));
    assert_non_null(strstr(html, "aria-label=\"cheerful\""));
    assert_non_null(strstr(html, "via llm"));
    /* The tool call: name, pretty arguments, result. */
    assert_non_null(strstr(html, "<code>updated_claim</code>"));
    assert_non_null(strstr(html, "&quot;field&quot;: &quot;incident_location&quot;"));
    /* Reminders by due date, the past one flagged. */
    const char *past = strstr(html, "Check the policy"), *future = strstr(html, "Call back later");
    assert_true(past && future && past < future);
    assert_non_null(strstr(html, "<li class=\"overdue\"><strong lang=\"en-GB\">Check the policy"));
    assert_non_null(strstr(html, "<li><strong lang=\"en-GB\">Call back later"));
    /* Next action and synthesis. */
    assert_non_null(strstr(html, "Requires expertise"));
    assert_non_null(strstr(html, "<strong>your car</strong>"));
    assert_non_null(strstr(html, "<em>the &lt;window&gt;</em>"));
    assert_non_null(strstr(html, "<ul><li>first point</li><li>second point</li></ul>"));
    assert_non_null(strstr(html, "<p>A closing line.</p>"));
    assert_non_null(strstr(html, "class=\"badge s-high\">Satisfaction: High<"));
    assert_non_null(strstr(html, "Ask for the policy earlier."));
    assert_non_null(strstr(html, "href=\"/base/report\""));
    ccai_free(html);

    /* An http(s) recording is played and linked. */
    json_object_set_new(doc, "recording_url", json_string("https://rec.example/a.wav?x=1&y=2"));
    html = Ccai_report_call_html(doc, "", "", NULL);
    assert_non_null(html);
    assert_non_null(strstr(
        html, "<audio controls preload=\"none\" src=\"https://rec.example/a.wav?x=1&amp;y=2\">"));
    assert_non_null(strstr(html, "<a href=\"https://rec.example/a.wav?x=1&amp;y=2\""));
    ccai_free(html);
    json_object_set_new(doc, "recording_url", json_string("data:audio/wav;base64,AAAA"));
    html = Ccai_report_call_html(doc, "", "", NULL);
    assert_null(strstr(html, "data:audio"));
    ccai_free(html);

    /* A document of the wrong shape is shown, not trusted. */
    json_t *odd = load("{\"messages\":{\"a\":1},\"claim\":[1],\"initiate\":\"x\",\"synthesis\":3}");
    html = Ccai_report_call_html(odd, "", "", NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "No messages."));
    ccai_free(html);
    json_decref(odd);
    assert_null(Ccai_report_call_html(NULL, "", "", NULL));
    json_decref(doc);
}

static void test_report_list(void **state)
{
    (void)state;
    json_t *call = load_en(hostile_call);
    json_t *older = json_deep_copy(call);
    json_object_set_new(older, "call_id", json_string("0b9d7c1e-0000-4000-8000-000000000002"));
    json_object_set_new(older, "created_at", json_string("2024-10-01T08:00:00.000Z"));
    json_object_set_new(older, "phone_number", json_string("+15551234567"));
    json_t *list = json_object();
    json_object_set_new(list, "total", json_integer(45));
    json_t *calls = json_array();
    json_array_append_new(calls, older); /* out of order on purpose */
    json_array_append_new(calls, call);
    json_object_set_new(list, "calls", calls);

    char *html =
        Ccai_report_list_html(list, "+33\"6", 2, 2, "", "?token=s%3Dx&lang=en", NULL, NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "Showing 3–4 of 45 calls (2 shown) for <b>+33&quot;6</b>."));
    /* Newest first, each linked with the access query. */
    const char *a = strstr(
        html, "href=\"/report/0b9d7c1e-0000-4000-8000-000000000001?token=s%3Dx&amp;lang=en\"");
    const char *b = strstr(
        html, "href=\"/report/0b9d7c1e-0000-4000-8000-000000000002?token=s%3Dx&amp;lang=en\"");
    assert_true(a && b && a < b);
    /* The search form keeps the filter (escaped) and the access fields. */
    assert_non_null(strstr(html, "name=\"phone_number\""));
    assert_non_null(strstr(html, "value=\"+33&quot;6\""));
    assert_non_null(strstr(html, "<input type=\"hidden\" name=\"token\" value=\"s=x\">"));
    assert_non_null(strstr(html, "<input type=\"hidden\" name=\"lang\" value=\"en\">"));
    /* Pagination both ways. */
    assert_non_null(strstr(html, "href=\"/report?token=s%3Dx&amp;lang=en&amp;phone_number=%2B33%226"
                                 "&amp;limit=2&amp;offset=0\""));
    assert_non_null(strstr(html, "href=\"/report?token=s%3Dx&amp;lang=en&amp;phone_number=%2B33%226"
                                 "&amp;limit=2&amp;offset=4\""));
    /* Claim summary, next action, satisfaction. */
    assert_non_null(strstr(html, "4 / 5 fields"));
    assert_non_null(strstr(html, "Requires expertise"));
    assert_non_null(strstr(html, "class=\"badge s-high\">High<"));
    assert_null(strstr(html, "<script"));
    ccai_free(html);

    /* First and only page: no pagination. */
    json_object_set_new(list, "total", json_integer(2));
    html = Ccai_report_list_html(list, NULL, 0, 0, "", "", NULL, NULL);
    assert_non_null(strstr(html, "All 2 calls shown"));
    assert_null(strstr(html, "offset="));
    ccai_free(html);

    json_t *empty = load("{\"total\":0,\"calls\":[]}");
    html = Ccai_report_list_html(empty, "", 10, 0, "", "", NULL, NULL);
    assert_non_null(strstr(html, "No calls shown out of 0"));
    ccai_free(html);
    json_decref(empty);

    /* One number's calls (/report/{phone}): in the language of its newest
     * call; everyone's calls: English. */
    json_object_set_new(call, "lang", json_string("fr-FR"));
    html = Ccai_report_list_html(list, "+33612345678", 0, 0, "", "", NULL, NULL);
    assert_non_null(strstr(html, "<html lang=\"fr-FR\">"));
    assert_non_null(strstr(html, "Les 2 appels sont affichés pour <b>+33612345678</b>."));
    assert_non_null(strstr(html, "<th>Prochaine action</th>"));
    assert_non_null(strstr(html, "<td data-label=\"Téléphone\" class=\"nowrap\">"));
    assert_non_null(strstr(html, "4 / 5 champs"));
    assert_non_null(strstr(html, "mar. 8 oct. 2024"));
    ccai_free(html);
    json_t *de = json_pack("{s:s}", "calls", "Anrufe");
    json_object_set_new(call, "lang", json_string("de-DE"));
    assert_string_equal(Ccai_report_list_lang(list, "+33612345678"), "de-DE");
    html = Ccai_report_list_html(list, "+33612345678", 0, 0, "", "", NULL, de);
    assert_non_null(strstr(html, "<html lang=\"de-DE\">"));
    assert_non_null(strstr(html, "<h1>Anrufe</h1>"));
    assert_non_null(strstr(html, "All 2 calls shown")); /* not translated: English */
    ccai_free(html);
    json_decref(de);
    assert_null(Ccai_report_list_lang(list, NULL));
    html = Ccai_report_list_html(list, NULL, 0, 0, "", "", NULL, NULL);
    assert_non_null(strstr(html, "<html lang=\"en\">"));
    assert_non_null(strstr(html, "<h1>Calls</h1>"));
    ccai_free(html);
    json_decref(list);
}

/* The call's words carry its language, and so do the page's own words:
 * French and Spanish compiled in (a regional tag takes its language's),
 * another language in the LLM's translation when given (English for what
 * it lacks), else English, and <html lang> says which. */
static void test_report_lang(void **state)
{
    (void)state;
    json_t *doc = load(hostile_call);
    char *html = Ccai_report_call_html(doc, "", "", NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "<html lang=\"fr-FR\">"));
    assert_non_null(strstr(html, "<title>Appel +33612345678</title>"));
    assert_non_null(strstr(html, "<p lang=\"fr-FR\">SECOND &lt;script&gt;"));
    assert_non_null(strstr(html, "Résumé : <span lang=\"fr-FR\">your &lt;broken&gt; window"));
    assert_non_null(strstr(html, "&larr; Tous les appels</a>"));
    assert_non_null(strstr(html, "<h2>Conversation</h2>"));
    assert_non_null(strstr(html, "<h2>Prochaine action</h2>"));
    assert_non_null(strstr(html, "Identifiant de l&#39;appel <code>"));
    assert_non_null(strstr(html, "Généré par libccai "));
    /* Dates in French: 14:30Z is 16:30 CEST in Paris. */
    assert_non_null(strstr(html, "\">mar. 8 oct. 2024, 16:30 (CEST)</time>"));
    assert_null(strstr(html, "Tue 8 Oct"));
    assert_null(strstr(html, "All calls"));
    /* The task is the operator's text, not the call's words. */
    assert_non_null(strstr(html, "<p class=\"task\">File the claim"));
    assert_non_null(strstr(html, "<p lang=\"fr-FR\">Damage &lt;needs&gt; review"));
    assert_non_null(strstr(html, "<td lang=\"fr-FR\">Lyon&#39;"));
    ccai_free(html);
    /* A regional tag: its language's labels. */
    json_object_set_new(doc, "lang", json_string("es-MX"));
    html = Ccai_report_call_html(doc, "", "", NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "<html lang=\"es-MX\">"));
    assert_non_null(strstr(html, "<h2>Próxima acción</h2>"));
    assert_non_null(strstr(html, "\">mar 8 oct 2024, 16:30 (CEST)</time>"));
    ccai_free(html);
    /* English. */
    json_object_set_new(doc, "lang", json_string("en-US"));
    html = Ccai_report_call_html(doc, "", "", NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "<html lang=\"en\">"));
    assert_non_null(strstr(html, "<h2>Next action</h2>"));
    assert_non_null(strstr(html, "\">Tue 8 Oct 2024, 16:30 (CEST)</time>"));
    ccai_free(html);
    /* A language with nothing compiled in and no translation: English,
     * said by <html lang>; the call's words keep their language. */
    json_object_set_new(doc, "lang", json_string("de-DE"));
    html = Ccai_report_call_html(doc, "", "", NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "<html lang=\"en\">"));
    assert_non_null(strstr(html, "<h2>Next action</h2>"));
    assert_non_null(strstr(html, "<p lang=\"de-DE\">SECOND &lt;script&gt;"));
    ccai_free(html);
    /* Its translation: used where it has a label (escaped, its date order
     * followed), English where not. */
    json_t *de =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "next_action", "Nächste <Aktion>", "call_title",
                  "Anruf {phone}", "date", "{weekday}, {day}. {month} {year}", "weekday_tue", "Di",
                  "month_oct", "Okt.", "call_id", "Anruf-ID");
    Ccai_report_view view = {NULL, true, de};
    html = Ccai_report_call_html(doc, "", "", &view);
    assert_non_null(html);
    assert_non_null(strstr(html, "<html lang=\"de-DE\">"));
    assert_non_null(strstr(html, "<title>Anruf +33612345678</title>"));
    assert_non_null(strstr(html, "<h2>Nächste &lt;Aktion&gt;</h2>"));
    assert_non_null(strstr(html, "\">Di, 8. Okt. 2024, 16:30 (CEST)</time>"));
    assert_non_null(strstr(html, "<h2>Conversation</h2>")); /* not translated: English */
    ccai_free(html);
    json_decref(de);
    /* A language that is not a tag is not written into an attribute. */
    json_object_set_new(doc, "lang", json_string("fr\" onclick=\"x"));
    html = Ccai_report_call_html(doc, "", "", NULL);
    assert_non_null(html);
    assert_null(strstr(html, " lang=\"fr"));
    assert_non_null(strstr(html, "<html lang=\"en\">"));
    assert_null(strstr(html, "onclick=\""));
    ccai_free(html);
    json_decref(doc);
}

static void test_report_zones(void **state)
{
    (void)state;
    json_t *call = load_en(hostile_call);
    json_t *us = json_deep_copy(call);
    json_object_set_new(us, "call_id", json_string("0b9d7c1e-0000-4000-8000-000000000002"));
    json_object_set_new(us, "phone_number", json_string("+15551234567"));
    json_object_set_new(us, "created_at", json_string("2024-10-07T23:30:00.000Z"));
    json_t *list = json_object();
    json_object_set_new(list, "total", json_integer(2));
    json_t *calls = json_array();
    json_array_append_new(calls, call);
    json_array_append_new(calls, us);
    json_object_set_new(list, "calls", calls);

    char *html = Ccai_report_list_html(list, NULL, 0, 0, "", "?token=t", NULL, NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "Times are shown in <b class=\"zone-name\">UTC</b>"));
    /* Both rows in UTC, whatever the callers' countries. */
    assert_non_null(strstr(html, "Tue 8 Oct 2024, 12:00 (UTC)"));
    assert_non_null(strstr(html, "Mon 7 Oct 2024, 23:30 (UTC)"));
    /* The choices: UTC and the callers' zones, once each. */
    assert_non_null(strstr(html, "<option value=\"UTC\" selected>UTC</option>"));
    assert_non_null(strstr(html, "<option value=\"Europe/Paris\">Europe/Paris</option>"));
    assert_non_null(strstr(html, "<option value=\"America/New_York\">America/New_York</option>"));
    assert_non_null(strstr(html, "<input type=\"hidden\" name=\"token\" value=\"t\">"));
    /* Links do not carry a zone nobody chose. */
    assert_null(strstr(html, "tz="));
    ccai_free(html);

    json_object_set_new(list, "total", json_integer(3));
    html = Ccai_report_list_html(list, NULL, 2, 0, "", "?token=t", "Europe/Paris", NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "Times are shown in <b class=\"zone-name\">Europe/Paris</b>"));
    assert_non_null(strstr(html, "Tue 8 Oct 2024, 14:00 (CEST)"));
    assert_non_null(strstr(html, "Tue 8 Oct 2024, 01:30 (CEST)"));
    assert_non_null(strstr(html, "<option value=\"Europe/Paris\" selected>"));
    assert_non_null(strstr(
        html, "href=\"/report/0b9d7c1e-0000-4000-8000-000000000001?token=t&amp;tz=Europe/Paris\""));
    assert_non_null(strstr(html, "limit=2&amp;offset=2&amp;tz=Europe/Paris\""));
    assert_non_null(strstr(html, "<input type=\"hidden\" name=\"tz\" value=\"Europe/Paris\">"));
    ccai_free(html);

    html = Ccai_report_list_html(list, NULL, 0, 0, "", "", "Mars/Olympus<b>", NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "Unknown time zone “Mars/Olympus&lt;b&gt;”."));
    assert_non_null(strstr(html, "Times are shown in <b class=\"zone-name\">UTC</b>"));
    ccai_free(html);

    /* A call's page: the caller's zone by default, the viewer's when asked. */
    html = Ccai_report_call_html(call, "", "", NULL);
    assert_non_null(html);
    assert_non_null(strstr(html, "Times are shown in <b class=\"zone-name\">Europe/Paris</b>"));
    assert_non_null(strstr(html, "Tue 8 Oct 2024, 14:00 (CEST)"));
    ccai_free(html);
    Ccai_report_view view = {"America/New_York", true, NULL};
    html = Ccai_report_call_html(call, "", "", &view);
    assert_non_null(html);
    assert_non_null(strstr(html, "Times are shown in <b class=\"zone-name\">America/New_York</b>"));
    assert_non_null(strstr(html, "Tue 8 Oct 2024, 08:00 (EDT)"));
    /* The claim's instant in that zone, with its abbreviation. */
    assert_non_null(strstr(html, "Tue 8 Oct 2024, 10:30 (EDT)"));
    ccai_free(html);

    /* A claim time said without a zone: as said, the caller's zone named. */
    json_object_set_new(json_object_get(call, "claim"), "incident_datetime",
                        json_string("2024-10-08T14:30:00"));
    html = Ccai_report_call_html(call, "", "", &view);
    assert_non_null(html);
    assert_non_null(
        strstr(html, "Tue 8 Oct 2024, 14:30</time> <span class=\"small\">(Europe/Paris)"));
    ccai_free(html);
    json_decref(list);
}

/* A viewer with the per-call key only gets no link to the list (401). */
static void test_report_shared_link(void **state)
{
    (void)state;
    json_t *doc = load_en(hostile_call);
    Ccai_report_view shared = {NULL, false, NULL};
    char *html = Ccai_report_call_html(doc, "", "?key=k", &shared);
    assert_non_null(html);
    assert_null(strstr(html, "All calls"));
    assert_null(strstr(html, "href=\"/report\""));
    assert_null(strstr(html, "href=\"/report?"));
    /* The zone form keeps the key, so that it opens this page again. */
    assert_non_null(strstr(html, "<input type=\"hidden\" name=\"key\" value=\"k\">"));
    ccai_free(html);
    Ccai_report_view token = {NULL, true, NULL};
    html = Ccai_report_call_html(doc, "", "?token=t", &token);
    assert_non_null(strstr(html, "href=\"/report?token=t\">&larr; All calls</a>"));
    ccai_free(html);
    json_decref(doc);
}

static void test_report_error(void **state)
{
    (void)state;
    char *html = Ccai_report_error_html(404, "no call <x>");
    assert_non_null(html);
    assert_non_null(strstr(html, "<h1>404 Not Found</h1>"));
    assert_non_null(strstr(html, "no call &lt;x&gt;"));
    ccai_free(html);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_escapes),  cmocka_unit_test(test_report_claim_types),
        cmocka_unit_test(test_report_sections), cmocka_unit_test(test_report_list),
        cmocka_unit_test(test_report_error),    cmocka_unit_test(test_report_lang),
        cmocka_unit_test(test_report_zones),    cmocka_unit_test(test_report_shared_link),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
