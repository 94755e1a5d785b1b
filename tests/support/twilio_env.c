/* The in-process Twilio channel tests' environment: see twilio_env.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/twilio_env.h"

#include "channels/twilio/twilio_sig.h"
#include "http/form.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void twilio_env_set(twilio_env *e, const char *key, const char *value)
{
    if (ccai_config_set(e->cfg, key, value) != CCAI_OK)
        fail_msg("%s: %s", key, ccai_config_errmsg(e->cfg));
}

void twilio_env_init(twilio_env *e, const char *db, const char *const *fixed,
                     const char *const *extra)
{
    memset(e, 0, sizeof *e);
    snprintf(e->db, sizeof e->db, "%s", db);
    e->llm = standin_start(NULL);
    e->tw = twilio_standin_start(NULL, NULL);
    assert_non_null(e->llm);
    assert_non_null(e->tw);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/v1", standin_port(e->llm));
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    const char *kv[][2] = {
        {"database.sqlite.path", e->db},
        {"llm.fast.mode", "openai_compatible"},
        {"llm.fast.endpoint", ep},
        {"twilio.account_sid", TWILIO_STANDIN_SID},
        {"twilio.auth_token", TWILIO_STANDIN_TOKEN},
        {"twilio.phone_number", "+15550001111"},
        {"twilio.api_base_url", twilio_standin_url(e->tw)},
        {"server.public_url", TWILIO_ENV_PUBLIC_URL},
        {"server.api_token", "api"},
        {"conversation.initiate.lang.default_short_code", "en-US"},
    };
    for (size_t i = 0; i < sizeof kv / sizeof kv[0]; i++)
        twilio_env_set(e, kv[i][0], kv[i][1]);
    /* twilio-flow-group-commit: the same tests with database.sqlite.group_commit. */
    if (getenv("CCAI_TEST_SQLITE_GROUP_COMMIT"))
        twilio_env_set(e, "database.sqlite.group_commit", "true");
    for (size_t i = 0; fixed && fixed[i]; i += 2)
        twilio_env_set(e, fixed[i], fixed[i + 1]);
    for (size_t i = 0; extra && extra[i]; i += 2)
        twilio_env_set(e, extra[i], extra[i + 1]);
    assert_int_equal(ccai_poll_new(e->cfg, &e->poll, &e->ctx, NULL), CCAI_OK);
}

void twilio_env_free(twilio_env *e)
{
    ccai_poll_free(e->poll);
    ccai_config_free(e->cfg);
    standin_stop(e->llm);
    twilio_standin_stop(e->tw);
}

void twilio_env_webhook(twilio_env *e, const char *target, const char *const *pairs, bool forge,
                        http_answer *a)
{
    char *body = Ccai_form_encode(pairs);
    assert_non_null(body);
    Ccai_form form = {0};
    assert_int_equal(Ccai_form_parse(body, strlen(body), &form, NULL), CCAI_OK);
    char url[1024];
    snprintf(url, sizeof url, "%s%s", TWILIO_ENV_PUBLIC_URL, target);
    char *sig = Ccai_twilio_signature(forge ? "not-the-token" : TWILIO_STANDIN_TOKEN, url, &form);
    Ccai_form_free(&form);
    ccai_http_header h[2] = {{"X-Twilio-Signature", sig},
                             {"Content-Type", "application/x-www-form-urlencoded"}};
    assert_true(exchange_run(e->ctx, e->poll, "POST", target, h, 2, body, "54.172.60.1", a));
    ccai_free(sig);
    ccai_free(body);
}

const char *twilio_env_local(const char *url)
{
    assert_int_equal(strncmp(url, TWILIO_ENV_PUBLIC_URL, strlen(TWILIO_ENV_PUBLIC_URL)), 0);
    return url + strlen(TWILIO_ENV_PUBLIC_URL);
}

void twilio_env_attr(const char *xml, const char *tag, const char *name, char *out, size_t len)
{
    const char *t = strstr(xml, tag);
    assert_non_null(t);
    char key[64];
    snprintf(key, sizeof key, " %s=\"", name);
    const char *v = strstr(t, key);
    assert_non_null(v);
    v += strlen(key);
    size_t n = 0;
    while (*v && *v != '"' && n + 1 < len) {
        if (!strncmp(v, "&amp;", 5)) {
            out[n++] = '&';
            v += 5;
        } else {
            out[n++] = *v++;
        }
    }
    out[n] = '\0';
}

int twilio_env_follow(twilio_env *e, const char *sid, http_answer *a, char *all, size_t len)
{
    int hops = 0;
    strncat(all, a->body, len - strlen(all) - 1);
    while (strstr(a->body, "<Redirect") && hops++ < 20) {
        char next[512];
        const char *r = strstr(a->body, "<Redirect");
        const char *u = strchr(r, '>') + 1;
        size_t n = (size_t)(strstr(u, "</Redirect>") - u);
        snprintf(next, sizeof next, "%.*s", (int)n, u);
        char *amp;
        while ((amp = strstr(next, "&amp;")))
            memmove(amp + 1, amp + 5, strlen(amp + 5) + 1);
        const char *only[] = {"CallSid", sid, NULL};
        twilio_env_webhook(e, twilio_env_local(next), only, false, a);
        strncat(all, a->body, len - strlen(all) - 1);
    }
    return hops;
}

int twilio_env_requests(twilio_env *e, const char *what, const char *to)
{
    int n = 0;
    for (int i = 0; i < twilio_standin_request_count(e->tw); i++) {
        char *rp = twilio_standin_request_path(e->tw, i);
        char *rto = to ? twilio_standin_request_param(e->tw, i, "To", 0) : NULL;
        n += rp && strstr(rp, what) && (!to || (rto && !strcmp(rto, to)));
        free(rp);
        free(rto);
    }
    return n;
}
