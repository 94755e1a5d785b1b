/* The OpenAPI document of ccai-server: data/openapi.json, compiled in at
 * build time (core/embedded.h). tests/unit/test_web.c checks it parses and
 * lists every route; tests/openapi/ validates the live answers of every
 * route of the real server against it.
 *
 * Bearer authentication applies to every operation but health, this
 * document and the provider webhooks (those carry their own signature). */
#include "web/openapi.h"

#include "core/embedded.h"

const char *Ccai_openapi_json(void)
{
    const char *doc = Ccai_embedded_text("openapi.json");
    return doc ? doc : "{}";
}
