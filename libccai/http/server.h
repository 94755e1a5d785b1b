/* The HTTP/1.1 server on the context's loop (http/server.c): listening
 * sockets, connections (http/h1conn.c on a socket), each request handed to
 * the router. The public side is ccai_ctx_listen() and its siblings in
 * ccai.h, which the composition root routes here. */
#ifndef CCAI_HTTP_SERVER_H
#define CCAI_HTTP_SERVER_H

#include "core/metrics.h"
#include "http/router.h"

typedef struct Ccai_server Ccai_server;

typedef struct Ccai_server_env {
    ccai_ctx *ctx;
    const ccai_config *cfg;
    const Ccai_logger *log;
    Ccai_metrics *metrics;
    Ccai_router *router;
} Ccai_server_env;

/* A server with nothing to listen on yet (its limits from server.*).
 * Statuses: CCAI_OK, CCAI_ERR_NOMEM. */
CCAI_MUST_CHECK ccai_status Ccai_server_new(const Ccai_server_env *env, Ccai_server **ret);
/* Close every connection (a pending exchange is cancelled, so its route
 * lets go of it) and every listening socket. Accepts NULL. */
void Ccai_server_free(Ccai_server *s);

/* ccai_ctx_listen(), ccai_ctx_listen_fd(), ccai_ctx_listen_stop(),
 * ccai_ctx_set_access_log(): the same arguments and statuses. */
CCAI_MUST_CHECK ccai_status Ccai_server_listen(Ccai_server *s, const char *address,
                                               uint16_t *ret_port);
CCAI_MUST_CHECK ccai_status Ccai_server_listen_fd(Ccai_server *s, int fd);
void Ccai_server_stop(Ccai_server *s);
void Ccai_server_set_access_log(Ccai_server *s, ccai_http_access_fn fn, void *ud);

/* Open connections, those whose answers are pending included (0 for NULL). */
size_t Ccai_server_connections(const Ccai_server *s);

#endif
