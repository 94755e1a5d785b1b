/* The web layer's routes. */
#include "web/web.h"

const Ccai_route Ccai_web_routes[] = {
    {"GET", "/health/liveness", Ccai_rest_liveness, CCAI_ROUTE_PUBLIC, 0},
    {"GET", "/health/readiness", Ccai_rest_readiness, CCAI_ROUTE_PUBLIC, 0},
    {"GET", "/call", Ccai_rest_calls_list, CCAI_ROUTE_TOKEN, 0},
    {"GET", "/call/:id", Ccai_rest_call_get, CCAI_ROUTE_TOKEN, 0},
    {"GET", "/openapi.json", Ccai_pages_openapi, CCAI_ROUTE_PUBLIC, 0},
    {"GET", "/lexicon.xml", Ccai_pages_lexicon, CCAI_ROUTE_PUBLIC, 0},
    {"GET", "/metrics", Ccai_pages_metrics, CCAI_ROUTE_TOKEN, 0},
    /* Feature flags at run time (web/admin.c). */
    {"GET", "/admin/flags", Ccai_admin_flags_get, CCAI_ROUTE_TOKEN, 0},
    {"PATCH", "/admin/flags", Ccai_admin_flags_patch, CCAI_ROUTE_TOKEN, 0},
    /* Report pages check the token or the per-call link themselves. */
    {"GET", "/report", Ccai_pages_report_list, CCAI_ROUTE_PUBLIC, 0},
    {"GET", "/report/:id", Ccai_pages_report_call, CCAI_ROUTE_PUBLIC, 0},
    /* The REST API's own writes are refused at once when the store cannot
     * write: its clients retry after Retry-After. */
    {"POST", "/call", Ccai_rest_call_create, CCAI_ROUTE_TOKEN, CCAI_ROUTE_WRITES},
};
const size_t Ccai_web_n_routes = CCAI_ARRAY_SIZE(Ccai_web_routes);
