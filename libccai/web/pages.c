/* Report pages, metrics and the OpenAPI document over HTTP. */
#include "web/web.h"

#include "channels/ssml.h"
#include "config/config.h"
#include "core/json.h"
#include "core/metrics.h"
#include "store/store.h"
#include "web/openapi.h"
#include "web/report.h"

#include <stdlib.h>
#include <string.h>

#define PAGE_LIMIT 100

static void html(ccai_http_exchange *x, int status, char *page)
{
    if (!page) {
        Ccai_web_error(x, 500, "out of memory", NULL);
        return;
    }
    Ccai_web_add_header(x, "Content-Security-Policy",
                        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                        "media-src *; form-action 'self'");
    Ccai_web_respond(x, status, "text/html; charset=utf-8", page, strlen(page));
    ccai_free(page);
}

static void html_error(ccai_http_exchange *x, int status, const char *message)
{
    html(x, status, Ccai_report_error_html(status, message));
}

/* "?token=..." to carry on internal links, or "". */
static char *access_query(ccai_http_exchange *x)
{
    char *t = Ccai_web_query(x, "token");
    char *q = NULL;
    if (t && *t) {
        Ccai_buf b = {0};
        Ccai_buf_puts(&b, "?token=");
        for (const char *p = t; *p; p++) {
            if (Ccai_is_alpha((unsigned char)*p) || Ccai_is_digit((unsigned char)*p) ||
                strchr("-._~", *p))
                Ccai_buf_append(&b, p, 1);
            else
                Ccai_buf_printf(&b, "%%%02X", (unsigned char)*p);
        }
        q = Ccai_buf_steal(&b);
    }
    ccai_free(t);
    return q ? q : Ccai_strdup("");
}

void Ccai_pages_report_list(ccai_http_exchange *x)
{
    if (!Ccai_web_authorized_page(x)) {
        html_error(x, 401, "Open this page with the API token (?token=...)");
        return;
    }
    char *phone = Ccai_web_query(x, "phone_number");
    char *offset_s = Ccai_web_query(x, "offset");
    size_t offset = offset_s ? strtoul(offset_s, NULL, 10) : 0;
    char *json = NULL, *q = access_query(x);
    ccai_status st =
        ccai_ctx_calls_list_json(x->ctx, phone && *phone ? phone : NULL, PAGE_LIMIT, offset, &json);
    Ccai_json_err jerr;
    ccai_status pst;
    json_t *list = st == CCAI_OK ? Ccai_json_load(json, strlen(json), &jerr, &pst) : NULL;
    if (list && q)
        html(x, 200, Ccai_report_list_html(list, phone, PAGE_LIMIT, offset, "", q));
    else
        html_error(x, 500, "Cannot list the calls");
    json_decref(list);
    ccai_free(json);
    ccai_free(q);
    ccai_free(phone);
    ccai_free(offset_s);
}

void Ccai_pages_report_call(ccai_http_exchange *x)
{
    const char *id = Ccai_web_param(x, 0);
    Ccai_store_call *row = NULL;
    ccai_status st = Ccai_store_call_get(x->ctx->store, id, &row);
    bool allowed = Ccai_web_authorized_page(x);
    if (!allowed && st == CCAI_OK) {
        /* The unguessable per-call link: /report/<id>?key=<report key>. */
        char key[33];
        char *given = Ccai_web_query(x, "key");
        allowed = given && Ccai_web_report_key(row->callback_secret, key) && strlen(given) == 32 &&
                  Ccai_web_secret_equal(given, key);
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
    char *json = NULL, *q = access_query(x);
    st = ccai_ctx_call_get_json(x->ctx, id, &json);
    Ccai_json_err jerr;
    ccai_status pst;
    json_t *doc = st == CCAI_OK ? Ccai_json_load(json, strlen(json), &jerr, &pst) : NULL;
    if (doc && q)
        html(x, 200, Ccai_report_call_html(doc, "", q));
    else
        html_error(x, st == CCAI_ERR_NOT_FOUND ? 404 : 500,
                   st == CCAI_ERR_NOT_FOUND ? "No such call" : "Cannot read the call");
    json_decref(doc);
    ccai_free(json);
    ccai_free(q);
}

/* GET /lexicon.xml?lang=fr-FR: conversation.lexicon as PLS, for the SSML
 * <lexicon uri>. Public, as the voice service fetches it; 404 when the
 * lexicon is empty. */
void Ccai_pages_lexicon(ccai_http_exchange *x)
{
    const json_t *entries = Ccai_config_json(x->ctx->cfg, "conversation.lexicon");
    if (json_array_size(entries) == 0) {
        Ccai_web_error(x, 404, "no lexicon", "conversation.lexicon is empty");
        return;
    }
    char *lang = Ccai_web_query(x, "lang");
    const char *l =
        lang && *lang
            ? lang
            : Ccai_config_str(x->ctx->cfg, "conversation.initiate.lang.default_short_code");
    char *xml = NULL;
    ccai_status st = Ccai_ssml_lexicon(entries, l && *l ? l : "en-US", &xml);
    ccai_free(lang);
    if (st != CCAI_OK) {
        Ccai_web_error(x, 500, "cannot build the lexicon", ccai_status_str(st));
        return;
    }
    Ccai_web_respond(x, 200, "application/pls+xml", xml, strlen(xml));
    ccai_free(xml);
}

void Ccai_pages_openapi(ccai_http_exchange *x)
{
    Ccai_web_json_text(x, 200, Ccai_openapi_json());
}

void Ccai_pages_metrics(ccai_http_exchange *x)
{
    Ccai_metrics_refresh(x->ctx);
    char *text = Ccai_metrics_render(x->ctx->metrics);
    if (!text) {
        Ccai_web_error(x, 500, "out of memory", NULL);
        return;
    }
    Ccai_web_respond(x, 200, CCAI_METRICS_CONTENT_TYPE, text, strlen(text));
    ccai_free(text);
}

/* Metrics ------------------------------------------------------------------- */

static const double turn_buckets[] = {0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8, 13, 20};
static const double ttft_buckets[] = {0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10};

ccai_status Ccai_ctx_metrics_init(ccai_ctx *ctx)
{
    Ccai_metrics *m = Ccai_metrics_new();
    if (!m)
        return CCAI_ERR_NOMEM;
    ctx->metrics = m;
    struct {
        const char *name;
        Ccai_metric_type type;
        const char *help;
        const double *buckets;
        size_t n;
    } fams[] = {
        {"ccai_calls_in_progress", CCAI_METRIC_GAUGE, "Calls in progress on this context", NULL, 0},
        {"ccai_calls_total", CCAI_METRIC_COUNTER, "Calls started or resumed", NULL, 0},
        {"ccai_calls_interrupted_total", CCAI_METRIC_COUNTER,
         "Calls ended because no process held them any more (a crash nobody took back)", NULL, 0},
        {"ccai_turns_total", CCAI_METRIC_COUNTER, "Caller turns answered, by engine", NULL, 0},
        {"ccai_turn_seconds", CCAI_METRIC_HISTOGRAM,
         "Caller words in to the end of the bot's answer", turn_buckets,
         CCAI_ARRAY_SIZE(turn_buckets)},
        {"ccai_llm_first_token_seconds", CCAI_METRIC_HISTOGRAM,
         "Request start to the first token of the LLM, by model", ttft_buckets,
         CCAI_ARRAY_SIZE(ttft_buckets)},
        {"ccai_errors_total", CCAI_METRIC_COUNTER, "Errors by kind", NULL, 0},
        {"ccai_http_responses_total", CCAI_METRIC_COUNTER, "HTTP responses by status code", NULL,
         0},
        {"ccai_webhooks_rejected_total", CCAI_METRIC_COUNTER,
         "Provider webhooks refused as not authentic, by provider and reason", NULL, 0},
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(fams); i++) {
        ccai_status st = Ccai_metrics_register(m, fams[i].name, fams[i].type, fams[i].help,
                                               fams[i].buckets, fams[i].n);
        if (st != CCAI_OK)
            return st;
    }
    return CCAI_OK;
}

void Ccai_web_count_rejected(ccai_ctx *ctx, const char *provider, const char *reason)
{
    char labels[96];
    snprintf(labels, sizeof labels, "provider=\"%s\",reason=\"%s\"", provider, reason);
    Ccai_metrics_counter_add(ctx->metrics, "ccai_webhooks_rejected_total", labels, 1);
}

void Ccai_metrics_refresh(ccai_ctx *ctx)
{
    Ccai_metrics_gauge_set(ctx->metrics, "ccai_calls_in_progress", NULL,
                           (double)Ccai_calls_in_progress(ctx));
}
