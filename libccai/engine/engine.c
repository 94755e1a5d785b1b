/* The engine of a context: what it is given, its parts, its metrics. */
#include "engine/engine.h"

static const double turn_buckets[] = {0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8, 13, 20};
static const double ttft_buckets[] = {0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10};

static void collect(Ccai_metrics *m, void *ud)
{
    /* Best effort: out of memory, the scrape shows no gauge this time. */
    CCAI_DISCARD(Ccai_metrics_gauge_set(m, "ccai_calls_in_progress", NULL,
                                        (double)Ccai_calls_in_progress(ud)));
}

static CCAI_MUST_CHECK ccai_status metrics_init(Ccai_engine *e)
{
    Ccai_metrics *m = e->metrics;
    static const struct {
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
         "Request start to the first token of the LLM, by tier (fast, slow) and model",
         ttft_buckets, CCAI_ARRAY_SIZE(ttft_buckets)},
        {"ccai_errors_total", CCAI_METRIC_COUNTER, "Errors by kind", NULL, 0},
        {"ccai_callbacks_total", CCAI_METRIC_COUNTER,
         "Callbacks by outcome: scheduled, dialed, answered, unanswered, given_up", NULL, 0},
        {"ccai_alerts_total", CCAI_METRIC_COUNTER,
         "Emergency alerts by target type and outcome: queued, acknowledged, failed, given_up, "
         "no_target",
         NULL, 0},
        {"ccai_sms_delivery_total", CCAI_METRIC_COUNTER,
         "SMS delivery reports by status (sent, delivered, undelivered, failed)", NULL, 0},
        {"ccai_llm_early_turns_total", CCAI_METRIC_COUNTER,
         "LLM turns started early on the caller's words so far, by outcome (used, dropped)", NULL,
         0},
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(fams); i++) {
        ccai_status st = Ccai_metrics_register(m, fams[i].name, fams[i].type, fams[i].help,
                                               fams[i].buckets, fams[i].n);
        if (st != CCAI_OK)
            return st;
    }
    return Ccai_metrics_add_collector(m, collect, e);
}

ccai_status Ccai_engine_new(const Ccai_engine_env *env, Ccai_engine **ret, char **ret_errmsg)
{
    Ccai_engine *e = Ccai_calloc(1, sizeof *e);
    if (!e)
        return CCAI_ERR_NOMEM;
    e->ctx = env->ctx;
    e->cfg = env->cfg;
    e->log = *env->log;
    e->store = env->store;
    e->metrics = env->metrics;
    e->sms = env->sms;
    e->bot_phone_number = env->bot_phone_number;
    e->rag = env->rag;
    Ccai_instance_get(env->cfg, &e->inst);
    if (env->dialer)
        e->dialer = *env->dialer;
    ccai_status st = metrics_init(e);
    if (st == CCAI_OK)
        st = Ccai_conv_engine_init(e, ret_errmsg);
    if (st == CCAI_OK)
        st = Ccai_jobs_new(e);
    if (st == CCAI_OK)
        st = Ccai_callbacks_new(e);
    if (st == CCAI_OK)
        st = Ccai_alerts_new(e);
    if (st == CCAI_OK)
        st = Ccai_sweep_new(e);
    if (st != CCAI_OK) {
        Ccai_engine_free(e);
        return st;
    }
    *ret = e;
    return CCAI_OK;
}

void Ccai_engine_free(Ccai_engine *e)
{
    if (!e)
        return;
    Ccai_sweep_free(e);
    Ccai_calls_cleanup(e);
    Ccai_jobs_free(e);
    Ccai_callbacks_free(e);
    Ccai_alerts_free(e);
    Ccai_conv_engine_cleanup(e);
    ccai_free(e);
}
