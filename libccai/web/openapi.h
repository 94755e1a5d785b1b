/* The OpenAPI 3.0.3 description of ccai-server's HTTP API (data/openapi.json,
 * compiled in; web/openapi.c), served at GET /openapi.json. */
#ifndef CCAI_WEB_OPENAPI_H
#define CCAI_WEB_OPENAPI_H

/* The document as JSON text (UTF-8, ASCII only). Ownership: a static
 * string, valid for the life of the process; thread-safe. */
const char *Ccai_openapi_json(void);

#endif
