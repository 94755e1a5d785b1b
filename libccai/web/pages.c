/* Report pages, metrics and the OpenAPI document over HTTP. */
#include "web/web.h"

#include "config/config.h"
#include "core/json.h"
#include "core/metrics.h"
#include "engine/phrases.h"
#include "http/auth.h"
#include "tts/ssml.h"
#include "web/openapi.h"
#include "web/report.h"

#include <stdlib.h>
#include <string.h>

#define PAGE_LIMIT 100

static void html(ccai_http_exchange *x, int status, char *page)
{
    if (!page) {
        Ccai_exchange_error(x, 500, "out of memory", NULL);
        return;
    }
    /* A page never goes without its policy. */
    if (Ccai_exchange_add_header(x, "Content-Security-Policy",
                                 "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' "
                                 "data:; media-src *; form-action 'self'"))
        Ccai_exchange_respond(x, status, "text/html; charset=utf-8", page, strlen(page));
    else
        Ccai_exchange_error(x, 500, "out of memory", NULL);
    ccai_free(page);
}

static void html_error(ccai_http_exchange *x, int status, const char *message)
{
    html(x, status, Ccai_report_error_html(status, message));
}

/* "?token=..." (and, with @key, "key=..." of a per-call link) to carry on
 * internal links and forms, or "". NULL on NOMEM: a link with a token cut
 * short would not open. */
static char *access_query(ccai_http_exchange *x, bool key)
{
    static const char *const names[] = {"token", "key"};
    Ccai_buf b = {0};
    bool ok = true;
    for (size_t i = 0; ok && i < (key ? 2u : 1u); i++) {
        char *t = Ccai_exchange_query(x, names[i]);
        if (t && *t)
            ok = Ccai_buf_printf(&b, "%c%s=", b.len ? '&' : '?', names[i]);
        for (const char *p = t; ok && p && *p; p++) {
            if (Ccai_is_alpha((unsigned char)*p) || Ccai_is_digit((unsigned char)*p) ||
                strchr("-._~", *p))
                ok = Ccai_buf_append(&b, p, 1);
            else
                ok = Ccai_buf_printf(&b, "%%%02X", (unsigned char)*p);
        }
        ccai_free(t);
    }
    char *q = ok ? (b.len ? Ccai_buf_steal(&b) : Ccai_strdup("")) : NULL;
    Ccai_buf_free(&b);
    return q;
}

/* The list of calls, of one phone number when @path_phone or
 * ?phone_number= names one. */
static void report_list(ccai_http_exchange *x, Ccai_web *web, const char *path_phone)
{
    if (!Ccai_http_authorized_page(x)) {
        html_error(x, 401, "Open this page with the API token (?token=...)");
        return;
    }
    char *phone = path_phone ? Ccai_strdup(path_phone) : Ccai_exchange_query(x, "phone_number");
    char *offset_s = Ccai_exchange_query(x, "offset");
    size_t offset = offset_s ? strtoul(offset_s, NULL, 10) : 0;
    char *json = NULL, *q = access_query(x, false), *zone = Ccai_exchange_query(x, "tz");
    ccai_status st =
        ccai_ctx_calls_list_json(x->ctx, phone && *phone ? phone : NULL, PAGE_LIMIT, offset, &json);
    Ccai_json_err jerr;
    ccai_status pst;
    json_t *list = st == CCAI_OK ? Ccai_json_load(json, strlen(json), &jerr, &pst) : NULL;
    /* One phone number's calls: in its newest call's language. */
    const char *lang = list ? Ccai_report_list_lang(list, phone) : NULL;
    json_t *labels = lang && web->engine ? Ccai_engine_texts(web->engine, "report.", lang) : NULL;
    if (list && q)
        html(x, 200, Ccai_report_list_html(list, phone, PAGE_LIMIT, offset, "", q, zone, labels));
    else
        html_error(x, 500, "Cannot list the calls");
    json_decref(labels);
    json_decref(list);
    ccai_free(json);
    ccai_free(q);
    ccai_free(phone);
    ccai_free(offset_s);
    ccai_free(zone);
}

void Ccai_pages_report_list(ccai_http_exchange *x, void *ud)
{
    report_list(x, ud, NULL);
}

/* "+33612345678": what the reference's README links as /report/{phone}. */
static CCAI_MUST_CHECK bool is_phone(const char *s)
{
    if (*s++ != '+')
        return false;
    size_t n = 0;
    for (; Ccai_is_digit((unsigned char)*s); s++)
        n++;
    return !*s && n >= 6 && n <= 15;
}

void Ccai_pages_report_call(ccai_http_exchange *x, void *ud)
{
    Ccai_web *web = ud;
    const char *id = Ccai_exchange_param(x, 0);
    if (is_phone(id)) {
        report_list(x, web, id);
        return;
    }
    Ccai_store_call *row = NULL;
    ccai_status st = Ccai_store_call_get(web->store, id, &row);
    bool by_token = Ccai_http_authorized_page(x), allowed = by_token;
    if (!allowed && st == CCAI_OK) {
        /* The unguessable per-call link: /report/<id>?key=<report key>. */
        char key[33];
        char *given = Ccai_exchange_query(x, "key");
        allowed = given && Ccai_http_report_key(row->callback_secret, key) && strlen(given) == 32 &&
                  Ccai_http_secret_equal(given, key);
        ccai_free(given);
    }
    if (!allowed) {
        Ccai_store_call_free(row);
        html_error(x, 401, "Open this page with its link or the API token");
        return;
    }
    Ccai_store_call_free(row);
    if (st == CCAI_ERR_NOT_FOUND) {
        html_error(x, 404, "No such call");
        return;
    }
    /* The list is for the token's holder only: a viewer who came with the
     * per-call key gets no "All calls" link (it would answer 401). */
    bool list_link = by_token;
    char *json = NULL, *q = access_query(x, !list_link), *zone = Ccai_exchange_query(x, "tz");
    st = ccai_ctx_call_get_json(x->ctx, id, &json);
    Ccai_json_err jerr;
    ccai_status pst;
    json_t *doc = st == CCAI_OK ? Ccai_json_load(json, strlen(json), &jerr, &pst) : NULL;
    /* The labels in the call's language: the LLM's translation when the
     * language has none compiled in (asked for once, as for the phrases;
     * English meanwhile, said in the log). */
    const char *lang = json_string_value(json_object_get(doc, "lang"));
    json_t *labels = lang && web->engine ? Ccai_engine_texts(web->engine, "report.", lang) : NULL;
    Ccai_report_view view = {zone, list_link, labels};
    if (doc && q)
        html(x, 200, Ccai_report_call_html(doc, "", q, &view));
    else
        html_error(x, st == CCAI_ERR_NOT_FOUND ? 404 : 500,
                   st == CCAI_ERR_NOT_FOUND ? "No such call" : "Cannot read the call");
    json_decref(labels);
    json_decref(doc);
    ccai_free(json);
    ccai_free(q);
    ccai_free(zone);
}

/* GET /lexicon.xml?lang=fr-FR: conversation.lexicon as PLS, for the SSML
 * <lexicon uri>. Public, as the voice service fetches it; 404 when the
 * lexicon is empty. */
void Ccai_pages_lexicon(ccai_http_exchange *x, void *ud)
{
    Ccai_web *web = ud;
    const json_t *entries = Ccai_config_json(web->cfg, "conversation.lexicon");
    if (json_array_size(entries) == 0) {
        Ccai_exchange_error(x, 404, "no lexicon", "conversation.lexicon is empty");
        return;
    }
    char *lang = Ccai_exchange_query(x, "lang");
    const char *l =
        lang && *lang ? lang
                      : Ccai_config_str(web->cfg, "conversation.initiate.lang.default_short_code");
    char *xml = NULL;
    ccai_status st = Ccai_ssml_lexicon(entries, l && *l ? l : "en-US", &xml);
    ccai_free(lang);
    if (st != CCAI_OK) {
        Ccai_exchange_error(x, 500, "cannot build the lexicon", ccai_status_str(st));
        return;
    }
    Ccai_exchange_respond(x, 200, "application/pls+xml", xml, strlen(xml));
    ccai_free(xml);
}

void Ccai_pages_openapi(ccai_http_exchange *x, void *ud)
{
    CCAI_UNUSED(ud);
    Ccai_exchange_json_text(x, 200, Ccai_openapi_json());
}

void Ccai_pages_metrics(ccai_http_exchange *x, void *ud)
{
    Ccai_web *web = ud;
    Ccai_metrics_collect(web->metrics);
    char *text = Ccai_metrics_render(web->metrics);
    if (!text) {
        Ccai_exchange_error(x, 500, "out of memory", NULL);
        return;
    }
    Ccai_exchange_respond(x, 200, CCAI_METRICS_CONTENT_TYPE, text, strlen(text));
    ccai_free(text);
}
