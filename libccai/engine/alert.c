/* Emergency alerts (the notify_emergencies tool).
 *
 * emergencies.targets lists who is alerted: {"sms": "+E.164"} (an on-call
 * number, through the SMS provider) and {"webhook": "https://..."} (a POST
 * signed with emergencies.webhook_secret). An alert is one durable job
 * (kind "alert") per target, tried until the target acknowledges it (a
 * 2xx from the webhook, the SMS provider accepting the message), with
 * backoff (emergencies.retry_delay_sec, doubling, at most 5 minutes) and
 * given up after emergencies.max_attempts tries. Its payload is what the
 * report shows: {"target", "to" | "url", "service", "reason", "location",
 * "contact", "caller", "report_url", "raised_at", "outcome", "tries":
 * [{"at", "result"}]}.
 *
 * The webhook's request:
 *   POST <url>
 *   Content-Type: application/json
 *   X-Ccai-Timestamp: <unix seconds, also "timestamp" in the body>
 *   X-Ccai-Signature: sha256=<lowercase hex HMAC-SHA256(secret, body)>
 *   {"event": "emergency", "timestamp", "call_id", "caller", "service",
 *    "reason", "location", "contact", "report_url", "raised_at", "attempt"}
 * The signature covers the body, timestamp included: a receiver checks it
 * and refuses an old timestamp (a replay). */
#include "engine/engine.h"

#include "config/config.h"
#include "core/json.h"
#include "http/auth.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>

#define ALERT_KIND           "alert"
#define ALERT_LEASE_MS       (2 * 60 * 1000)
#define ALERT_TIMEOUT_MS     15000
#define ALERT_MAX_DELAY_MS   (5 * 60 * 1000)
#define ALERT_STORE_RETRY_MS 1000

struct Ccai_alerts {
    Ccai_engine *e;
    Ccai_timer timer;
    Ccai_store_job *job; /* the job in flight */
    json_t *payload;
    Ccai_http_req *req;
    bool sms_in_flight; /* the SMS provider's done is still due */
};

static void count(Ccai_engine *e, const char *target, const char *outcome)
{
    char labels[96];
    snprintf(labels, sizeof labels, "target=\"%s\",outcome=\"%s\"", target, outcome);
    /* Best effort: a sample lost changes nothing of the alert. */
    CCAI_DISCARD(Ccai_metrics_counter_add(e->metrics, "ccai_alerts_total", labels, 1));
}

void Ccai_alerts_kick(Ccai_engine *e)
{
    Ccai_alerts *a = e->alerts;
    if (!a || a->job)
        return; /* the job in flight kicks when it ends */
    int64_t due = -1;
    if (Ccai_store_job_next_due_kinds(e->store, ALERT_KIND, &due) != CCAI_OK) {
        Ccai_timer_start(e->ctx, &a->timer, ALERT_STORE_RETRY_MS);
        return;
    }
    if (due < 0) {
        Ccai_timer_stop(e->ctx, &a->timer);
        return;
    }
    int64_t now = Ccai_wall_ms();
    Ccai_timer_start(e->ctx, &a->timer, due > now ? (uint64_t)(due - now) : 0);
}

static void job_clear(Ccai_alerts *a)
{
    if (a->req)
        Ccai_http_cancel(a->req);
    a->req = NULL;
    a->sms_in_flight = false;
    Ccai_store_job_free(a->job);
    json_decref(a->payload);
    a->job = NULL;
    a->payload = NULL;
}

static const char *target_label(const json_t *p)
{
    const char *t = json_string_value(json_object_get(p, "target"));
    return t && strcmp(t, "sms") == 0 ? "sms" : "webhook";
}

static const char *target_dest(const json_t *p)
{
    const char *d = json_string_value(json_object_get(p, "to"));
    if (!d)
        d = json_string_value(json_object_get(p, "url"));
    return d ? d : "?";
}

/* The end of one try: result NULL acknowledged, else why it failed
 * (permanent: a try again cannot help). Stored with the try, then the
 * next due job. */
static void try_end(Ccai_alerts *a, const char *result, bool permanent)
{
    Ccai_engine *e = a->e;
    Ccai_store_job *job = a->job;
    json_t *p = a->payload;
    char iso[32];
    Ccai_format_iso8601(Ccai_wall_ms(), iso, sizeof iso);
    json_t *tries = json_object_get(p, "tries");
    if (!json_is_array(tries)) {
        tries = json_array();
        /* Out of memory: the try is not listed, its outcome is. */
        CCAI_DISCARD(json_object_set_new(p, "tries", tries));
    }
    CCAI_DISCARD(json_array_append_new(
        tries, json_pack("{s:s, s:s}", "at", iso, "result", result ? result : "acknowledged")));
    int64_t retry_at = 0;
    const char *outcome = "acknowledged";
    if (result) {
        int64_t d = Ccai_config_int(e->cfg, "emergencies.retry_delay_sec", 5) * 1000;
        for (int64_t i = 1; i < job->attempts && d < ALERT_MAX_DELAY_MS; i++)
            d *= 2;
        if (d > ALERT_MAX_DELAY_MS)
            d = ALERT_MAX_DELAY_MS;
        bool more =
            !permanent && job->attempts < Ccai_config_int(e->cfg, "emergencies.max_attempts", 20);
        retry_at = more ? Ccai_wall_ms() + d : 0;
        outcome = more ? "retrying" : "given_up";
    }
    CCAI_DISCARD(json_object_set_new(p, "outcome", json_string(outcome)));
    char *text = Ccai_json_dump(p, JSON_COMPACT);
    ccai_status st = text ? Ccai_store_job_set_payload(e->store, job->id, text) : CCAI_ERR_NOMEM;
    ccai_free(text);
    if (st == CCAI_OK)
        st = result ? Ccai_store_job_fail(e->store, job->id, result, retry_at)
                    : Ccai_store_job_done(e->store, job->id);
    if (st != CCAI_OK) /* the job runs again after its lease: a target may hear twice */
        Ccai_log(&e->log, CCAI_LOG_ERROR, "alert %lld: outcome not stored: %s", (long long)job->id,
                 Ccai_store_errmsg(e->store));
    const char *label = target_label(p);
    count(e, label, result ? (retry_at ? "failed" : "given_up") : "acknowledged");
    Ccai_log(&e->log, result ? CCAI_LOG_WARN : CCAI_LOG_INFO, "call %s: alert %lld (%s): %s%s",
             job->call_id ? job->call_id : "?", (long long)job->id, label,
             result ? result : "acknowledged",
             result ? (retry_at ? ", will retry" : ", given up") : "");
    if (job->call_id && (!result || !retry_at)) {
        char *notice =
            result ? Ccai_asprintf("The emergency alert to %s (%s) could NOT be delivered after "
                                   "%lld tries (%s). No operator was alerted that way: tell the "
                                   "customer to call the emergency number themselves.",
                                   target_dest(p), label, (long long)job->attempts, result)
                   : Ccai_asprintf("The emergency alert to %s (%s) was acknowledged at %s: an "
                                   "operator has it.",
                                   target_dest(p), label, iso);
        if (notice)
            Ccai_call_notice(e, job->call_id, notice);
        ccai_free(notice);
    }
    job_clear(a);
    Ccai_alerts_kick(e);
}

static void on_http_done(Ccai_http_req *req, ccai_status st, long status, const char *errmsg,
                         void *ud)
{
    CCAI_UNUSED(req);
    Ccai_alerts *a = ud;
    a->req = NULL;
    char why[200];
    if (st != CCAI_OK)
        snprintf(why, sizeof why, "%s", errmsg ? errmsg : ccai_status_str(st));
    else if (status < 200 || status > 299)
        snprintf(why, sizeof why, "HTTP %ld", status);
    try_end(a, st == CCAI_OK && status >= 200 && status <= 299 ? NULL : why, false);
}

static void on_sms_done(ccai_status st, const char *message_id, const char *errmsg, bool permanent,
                        void *ud)
{
    CCAI_UNUSED(message_id);
    Ccai_alerts *a = ud;
    a->sms_in_flight = false;
    try_end(a, st == CCAI_OK ? NULL : errmsg ? errmsg : ccai_status_str(st), permanent);
}

/* lowercase hex HMAC-SHA256(secret, body) into out[65]; false on failure. */
static CCAI_MUST_CHECK bool sign(const char *secret, const char *body, size_t len, char out[65])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac,
              &mac_len) ||
        mac_len != 32)
        return false;
    static const char hex[] = "0123456789abcdef";
    for (unsigned i = 0; i < mac_len; i++) {
        out[2 * i] = hex[mac[i] >> 4];
        out[2 * i + 1] = hex[mac[i] & 15];
    }
    out[64] = '\0';
    return true;
}

static void send_webhook(Ccai_alerts *a)
{
    Ccai_engine *e = a->e;
    const json_t *p = a->payload;
    const char *url = json_string_value(json_object_get(p, "url"));
    const char *secret = Ccai_config_str(e->cfg, "emergencies.webhook_secret");
    int64_t ts = Ccai_wall_ms() / 1000;
    json_t *body =
        json_pack("{s:s, s:I, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:I}", "event",
                  "emergency", "timestamp", (json_int_t)ts, "call_id", a->job->call_id, "caller",
                  json_string_value(json_object_get(p, "caller")), "service",
                  json_string_value(json_object_get(p, "service")), "reason",
                  json_string_value(json_object_get(p, "reason")), "location",
                  json_string_value(json_object_get(p, "location")), "contact",
                  json_string_value(json_object_get(p, "contact")), "report_url",
                  json_string_value(json_object_get(p, "report_url")), "raised_at",
                  json_string_value(json_object_get(p, "raised_at")), "attempt",
                  (json_int_t)a->job->attempts);
    char *text = body ? Ccai_json_dump(body, JSON_COMPACT) : NULL;
    json_decref(body);
    char sig[65], h_ts[64], h_sig[96];
    if (!url || !text) {
        ccai_free(text);
        try_end(a, url ? "out of memory" : "no webhook URL", !url);
        return;
    }
    size_t n = 0;
    const char *headers[4];
    headers[n++] = "Content-Type: application/json";
    snprintf(h_ts, sizeof h_ts, "X-Ccai-Timestamp: %lld", (long long)ts);
    headers[n++] = h_ts;
    if (secret && *secret) {
        if (!sign(secret, text, strlen(text), sig)) {
            ccai_free(text);
            try_end(a, "cannot sign the alert", false);
            return;
        }
        snprintf(h_sig, sizeof h_sig, "X-Ccai-Signature: sha256=%s", sig);
        headers[n++] = h_sig;
    }
    headers[n] = NULL;
    Ccai_http_opts o = {
        .method = "POST",
        .url = url,
        .headers = headers,
        .body = text,
        .body_len = strlen(text),
        .total_timeout_ms = ALERT_TIMEOUT_MS,
        .max_response_bytes = 64 * 1024,
        .on_done = on_http_done,
        .ud = a,
    };
    ccai_status st = Ccai_http_start(e->ctx, &o, &a->req);
    ccai_free(text);
    if (st != CCAI_OK) {
        a->req = NULL;
        try_end(a, ccai_status_str(st), false);
    }
}

static void send_sms(Ccai_alerts *a)
{
    Ccai_engine *e = a->e;
    const json_t *p = a->payload;
    char *text = Ccai_asprintf("EMERGENCY (%s): %s. Where: %s. Caller: %s%s%s. Call %s%s%s",
                               json_string_value(json_object_get(p, "service")),
                               json_string_value(json_object_get(p, "reason")),
                               json_string_value(json_object_get(p, "location")),
                               json_string_value(json_object_get(p, "caller")),
                               json_string_value(json_object_get(p, "contact")) ? ", contact " : "",
                               json_string_value(json_object_get(p, "contact"))
                                   ? json_string_value(json_object_get(p, "contact"))
                                   : "",
                               a->job->call_id ? a->job->call_id : "?",
                               json_string_value(json_object_get(p, "report_url")) ? " " : "",
                               json_string_value(json_object_get(p, "report_url"))
                                   ? json_string_value(json_object_get(p, "report_url"))
                                   : "");
    json_t *m = text ? json_pack("{s:s, s:s}", "to", json_string_value(json_object_get(p, "to")),
                                 "text", text)
                     : NULL;
    ccai_free(text);
    if (!m) {
        try_end(a, "out of memory", false);
        return;
    }
    char *why = NULL;
    a->sms_in_flight = true;
    ccai_status st = e->sms->send(e->sms, m, on_sms_done, a, &why);
    json_decref(m);
    if (st != CCAI_OK) {
        a->sms_in_flight = false;
        char reason[200];
        snprintf(reason, sizeof reason, "%s", why ? why : ccai_status_str(st));
        ccai_free(why);
        try_end(a, reason, st == CCAI_ERR_UNSUPPORTED);
    }
}

static void on_timer(Ccai_timer *t, void *ud)
{
    CCAI_UNUSED(t);
    Ccai_alerts *a = ud;
    Ccai_engine *e = a->e;
    if (a->job)
        return;
    ccai_status st =
        Ccai_store_job_claim_kinds(e->store, ALERT_KIND, Ccai_wall_ms(), ALERT_LEASE_MS, &a->job);
    if (st == CCAI_ERR_NOT_FOUND) {
        a->job = NULL;
        Ccai_alerts_kick(e);
        return;
    }
    if (st != CCAI_OK) {
        a->job = NULL;
        Ccai_log(&e->log, CCAI_LOG_WARN, "alerts: %s", Ccai_store_errmsg(e->store));
        Ccai_timer_start(e->ctx, &a->timer, ALERT_STORE_RETRY_MS);
        return;
    }
    Ccai_json_err jerr;
    ccai_status pst;
    a->payload = a->job->payload
                     ? Ccai_json_load(a->job->payload, strlen(a->job->payload), &jerr, &pst)
                     : NULL;
    if (!json_is_object(a->payload)) {
        json_decref(a->payload);
        a->payload = json_object();
        if (!a->payload) {
            job_clear(a);
            Ccai_timer_start(e->ctx, &a->timer, ALERT_STORE_RETRY_MS);
            return;
        }
        try_end(a, "malformed alert job", true);
        return;
    }
    if (strcmp(target_label(a->payload), "sms") == 0)
        send_sms(a);
    else
        send_webhook(a);
}

/* A claim tried now (from the sweep), unless an alert runs or one is due. */
void Ccai_alerts_poll(Ccai_engine *e)
{
    Ccai_alerts *a = e->alerts;
    if (a && !a->job && !Ccai_timer_active(&a->timer))
        on_timer(&a->timer, a);
}

ccai_status Ccai_alerts_new(Ccai_engine *e)
{
    Ccai_alerts *a = Ccai_calloc(1, sizeof *a);
    if (!a)
        return CCAI_ERR_NOMEM;
    a->e = e;
    Ccai_timer_init(&a->timer, on_timer, a);
    /* A retry minutes away is no work in flight (ccai_ctx_busy()): the
     * job is in the store, the next start runs it. */
    Ccai_timer_set_idle(&a->timer, true);
    e->alerts = a;
    Ccai_alerts_kick(e); /* alerts left by an earlier run */
    return CCAI_OK;
}

void Ccai_alerts_free(Ccai_engine *e)
{
    Ccai_alerts *a = e->alerts;
    if (!a)
        return;
    /* An SMS in flight is the provider's: it is freed after the engine,
     * and cancels its sends without callbacks. */
    job_clear(a);
    Ccai_timer_stop(e->ctx, &a->timer);
    ccai_free(a);
    e->alerts = NULL;
}

/* The tool ---------------------------------------------------------------------- */

/* The public URL of the call's report, with the key that opens it without
 * the API token (the on-call operator has none); NULL when
 * server.public_url is not set. */
static char *report_url(const Ccai_engine *e, const Ccai_store_call *row)
{
    const char *base = Ccai_config_str(e->cfg, "server.public_url");
    char key[33];
    if (!base || !*base || !row->callback_secret ||
        !Ccai_http_report_key(row->callback_secret, key))
        return NULL;
    size_t n = strlen(base);
    return Ccai_asprintf("%.*s/report/%s?key=%s", (int)(n && base[n - 1] == '/' ? n - 1 : n), base,
                         row->id, key);
}

char *Ccai_alert_raise(ccai_call *c, const char *service, const char *reason, const char *location,
                       const char *contact)
{
    Ccai_engine *e = c->eng;
    const json_t *targets = Ccai_config_json(e->cfg, "emergencies.targets");
    bool sms_ok = e->sms && strcmp(e->sms->name, "none") != 0;
    char iso[32];
    Ccai_format_iso8601(Ccai_wall_ms(), iso, sizeof iso);
    char *url = report_url(e, &c->row);
    Ccai_buf told = {0};
    size_t queued = 0, skipped = 0;
    ccai_status st = Ccai_store_begin(e->store);
    size_t i;
    const json_t *t;
    json_array_foreach(targets, i, t)
    {
        if (st != CCAI_OK)
            break;
        const char *to = json_string_value(json_object_get(t, "sms"));
        const char *hook = json_string_value(json_object_get(t, "webhook"));
        if ((to && !sms_ok) || (!to && !hook)) {
            skipped++; /* an on-call number with no SMS provider to reach it */
            continue;
        }
        json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s, s:s?, s:s, s:s, s:[]}",
                              "target", to ? "sms" : "webhook", to ? "to" : "url", to ? to : hook,
                              "service", service, "reason", reason, "location", location, "contact",
                              contact, "caller", c->row.phone_number, "report_url", url,
                              "raised_at", iso, "outcome", "queued", "tries");
        char *payload = p ? Ccai_json_dump(p, JSON_COMPACT) : NULL;
        json_decref(p);
        st = payload ? Ccai_store_job_enqueue(e->store, ALERT_KIND, c->row.id, payload,
                                              Ccai_wall_ms(), NULL)
                     : CCAI_ERR_NOMEM;
        ccai_free(payload);
        if (st == CCAI_OK && !Ccai_buf_printf(&told, "%s%s %s", queued ? ", " : "",
                                              to ? "an SMS to" : "a webhook to", to ? to : hook))
            st = CCAI_ERR_NOMEM;
        if (st == CCAI_OK)
            queued++;
    }
    if (st == CCAI_OK)
        st = Ccai_store_commit(e->store);
    if (st != CCAI_OK && Ccai_store_rollback(e->store) != CCAI_OK)
        Ccai_log(&c->log, CCAI_LOG_ERROR, "call %s: rollback: %s", c->row.id,
                 Ccai_store_errmsg(e->store));
    ccai_free(url);
    /* What happens and where is the caller's story: debug only. */
    Ccai_log(&c->log, CCAI_LOG_DEBUG, "call %s: emergency: %s at %s", c->row.id, reason,
             location ? location : "?");
    char *result = NULL;
    if (st != CCAI_OK) {
        Ccai_log(&c->log, CCAI_LOG_ERROR,
                 "call %s: EMERGENCY for %s: the alert could not be "
                 "stored: %s",
                 c->row.id, service, Ccai_store_errmsg(e->store));
        result = Ccai_strdup("Failed: the alert could not be recorded, so NO operator has been "
                             "alerted. Do not say that anyone was alerted: tell the customer to "
                             "call the emergency number themselves now.");
    } else if (queued == 0) {
        Ccai_log(&c->log, CCAI_LOG_ERROR,
                 "call %s: EMERGENCY for %s: no operator can be alerted (%s)", c->row.id, service,
                 skipped ? "the on-call numbers need an SMS provider (sms.mode)"
                         : "emergencies.targets is empty");
        count(e, "none", "no_target");
        result = Ccai_strdup("No operator can be alerted: no alert target is configured. Do not "
                             "say that anyone was alerted: tell the customer to call the "
                             "emergency number themselves now.");
    } else {
        Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: EMERGENCY for %s: %zu alert(s) queued",
                 c->row.id, service, queued);
        count(e, "all", "queued");
        result = Ccai_asprintf("Alert for %s queued: %s. It is being sent and retried until the "
                               "operators acknowledge it; you will be told when they do. Until "
                               "then, say the alert is on its way (not that someone is coming), "
                               "and that the customer should call the emergency number "
                               "themselves if a life is at risk.",
                               service, told.data ? told.data : "");
        Ccai_alerts_kick(e);
    }
    Ccai_buf_free(&told);
    return result;
}
