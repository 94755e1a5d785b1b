/* The web layer: the REST API (web/rest.c), the report pages, the metrics
 * page, the lexicon and the OpenAPI document (web/pages.c), served as routes
 * of the router. What it needs is given by the composition root. */
#ifndef CCAI_WEB_WEB_H
#define CCAI_WEB_WEB_H

#include "channels/common/channel.h"
#include "core/metrics.h"
#include "engine/engine.h"
#include "http/router.h"
#include "store/store.h"

/* What the web layer is given by the composition root. */
typedef struct Ccai_web {
    ccai_ctx *ctx;
    const ccai_config *cfg;
    Ccai_store *store;
    Ccai_metrics *metrics;
    Ccai_engine *engine;
    const Ccai_channel *channels; /* POST /call places calls on one, readiness asks each */
    size_t n_channels;
} Ccai_web;

/* The web routes, to serve with a Ccai_web as their ud. */
extern const Ccai_route Ccai_web_routes[];
extern const size_t Ccai_web_n_routes;

/* Routes (web/rest.c, web/pages.c); ud is the Ccai_web. */
void Ccai_rest_liveness(ccai_http_exchange *x, void *ud);
void Ccai_rest_readiness(ccai_http_exchange *x, void *ud);
void Ccai_rest_calls_list(ccai_http_exchange *x, void *ud);
void Ccai_rest_call_get(ccai_http_exchange *x, void *ud);
void Ccai_rest_call_create(ccai_http_exchange *x, void *ud);
void Ccai_pages_report_list(ccai_http_exchange *x, void *ud);
void Ccai_pages_report_call(ccai_http_exchange *x, void *ud);
void Ccai_pages_openapi(ccai_http_exchange *x, void *ud);
void Ccai_pages_lexicon(ccai_http_exchange *x, void *ud);
void Ccai_pages_metrics(ccai_http_exchange *x, void *ud);
void Ccai_admin_flags_get(ccai_http_exchange *x, void *ud);
void Ccai_admin_flags_patch(ccai_http_exchange *x, void *ud);

#endif
