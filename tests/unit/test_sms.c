/* sms/: the SMS providers the engine sends through without knowing the
 * vendor: the outbox (sms/outbox.c) and the host's sender (sms/host.c,
 * requests ended by id). The vendors' providers are tested with their
 * channels (test_twilio.c, test_acs.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sms/sms.h"

#include <string.h>

/* What the engine's callback saw. */
typedef struct outcome {
    int calls;
    ccai_status st;
    char errmsg[128];
    char message_id[64];
    bool permanent;
} outcome;

static void on_done(ccai_status st, const char *message_id, const char *errmsg, bool permanent,
                    void *ud)
{
    outcome *o = ud;
    o->calls++;
    snprintf(o->message_id, sizeof o->message_id, "%s", message_id ? message_id : "");
    o->st = st;
    o->permanent = permanent;
    snprintf(o->errmsg, sizeof o->errmsg, "%s", errmsg ? errmsg : "");
}

static json_t *message(const char *to, const char *text)
{
    json_t *m = json_pack("{s:s, s:s}", "to", to, "text", text);
    assert_non_null(m);
    return m;
}

/* The outbox: every message counts as sent at once. */
static void test_outbox(void **state)
{
    (void)state;
    static const Ccai_logger quiet = {NULL, NULL, CCAI_LOG_ERROR};
    Ccai_sms_provider *p = NULL;
    assert_int_equal(Ccai_sms_outbox_new(&quiet, &p), CCAI_OK);
    assert_string_equal(p->name, "none");
    json_t *m = message("+33612345678", "hello");
    outcome o = {0};
    char *why = NULL;
    assert_int_equal(p->send(p, m, on_done, &o, &why), CCAI_OK);
    assert_int_equal(o.calls, 1);
    assert_int_equal(o.st, CCAI_OK);
    assert_null(why);
    /* Not the host's: it has no requests to end. */
    assert_int_equal(Ccai_sms_host_done(p, 1, CCAI_OK, false, NULL), CCAI_ERR_STATE);
    assert_int_equal(Ccai_sms_host_inflight(p), 0);
    json_decref(m);
    Ccai_sms_provider_free(p);
    Ccai_sms_provider_free(NULL);
}

/* The host's side: what it was asked, and how it answers. */
typedef struct pbx {
    int sends;
    uint64_t ids[4];
    char to[32], text[64];
    int refuse;     /* send returns -1 */
    int answer_now; /* the end reported inside send, then refuse */
    Ccai_sms_provider *p;
} pbx;

static int pbx_send(ccai_ctx *ctx, uint64_t id, const char *to, const char *text, void *ud)
{
    pbx *h = ud;
    assert_null(ctx); /* the provider's context, as given */
    if (h->sends < 4)
        h->ids[h->sends] = id;
    h->sends++;
    snprintf(h->to, sizeof h->to, "%s", to);
    snprintf(h->text, sizeof h->text, "%s", text);
    if (h->answer_now)
        assert_int_equal(Ccai_sms_host_done(h->p, id, CCAI_OK, false, NULL), CCAI_OK);
    return h->refuse || h->answer_now ? -1 : 0;
}

static void test_host_requests(void **state)
{
    (void)state;
    pbx h = {0};
    const ccai_sms_ops ops = {CCAI_SMS_OPS_VERSION, pbx_send};
    assert_int_equal(Ccai_sms_host_new(NULL, &ops, &h, &h.p), CCAI_OK);
    Ccai_sms_provider *p = h.p;
    assert_string_equal(p->name, "host");
    json_t *m = message("+33612345678", "your claim is noted");
    char *why = NULL;

    /* Two requests in flight, ended in any order, each once. */
    outcome a = {0}, b = {0};
    assert_int_equal(p->send(p, m, on_done, &a, &why), CCAI_OK);
    assert_int_equal(p->send(p, m, on_done, &b, &why), CCAI_OK);
    assert_int_equal(h.sends, 2);
    assert_string_equal(h.to, "+33612345678");
    assert_string_equal(h.text, "your claim is noted");
    assert_true(h.ids[0] != 0 && h.ids[1] != h.ids[0]);
    assert_int_equal(Ccai_sms_host_inflight(p), 2);
    assert_int_equal(a.calls + b.calls, 0);
    assert_int_equal(Ccai_sms_host_done(p, h.ids[1], CCAI_ERR_IO, true, "no route"), CCAI_OK);
    assert_int_equal(b.calls, 1);
    assert_int_equal(b.st, CCAI_ERR_IO);
    assert_true(b.permanent);
    assert_string_equal(b.errmsg, "no route");
    assert_int_equal(Ccai_sms_host_done(p, h.ids[1], CCAI_OK, false, NULL), CCAI_ERR_NOT_FOUND);
    assert_int_equal(Ccai_sms_host_done(p, h.ids[0], CCAI_ERR_BUSY, false, NULL), CCAI_OK);
    assert_int_equal(a.st, CCAI_ERR_BUSY);
    assert_false(a.permanent);
    assert_string_equal(a.errmsg, ccai_status_str(CCAI_ERR_BUSY)); /* no text: the status */
    assert_int_equal(Ccai_sms_host_inflight(p), 0);

    /* Refused: an error now, no callback ever. */
    outcome c = {0};
    h.refuse = 1;
    assert_int_equal(p->send(p, m, on_done, &c, &why), CCAI_ERR_IO);
    assert_non_null(why);
    ccai_free(why);
    why = NULL;
    assert_int_equal(Ccai_sms_host_done(p, h.ids[2], CCAI_OK, false, NULL), CCAI_ERR_NOT_FOUND);
    assert_int_equal(c.calls, 0);
    h.refuse = 0;

    /* Ended inside send: it stands as reported, whatever send returns. */
    outcome d = {0};
    h.answer_now = 1;
    assert_int_equal(p->send(p, m, on_done, &d, &why), CCAI_OK);
    assert_int_equal(d.calls, 1);
    assert_int_equal(d.st, CCAI_OK);
    h.answer_now = 0;

    /* Freed with a request in flight: no callback, nothing leaks. */
    outcome e = {0};
    assert_int_equal(p->send(p, m, on_done, &e, &why), CCAI_OK);
    json_decref(m);
    Ccai_sms_provider_free(p);
    assert_int_equal(e.calls, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outbox),
        cmocka_unit_test(test_host_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
