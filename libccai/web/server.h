/* The HTTP/1.1 server on the context's loop (web/server.c): listening
 * sockets, connections (http/h1conn.c on a socket), each request routed
 * through ccai_ctx_http(). The public side is ccai_ctx_listen() and its
 * siblings in ccai.h. */
#ifndef CCAI_WEB_SERVER_H
#define CCAI_WEB_SERVER_H

#include "io/ctx_private.h"

/* Close every connection (a pending exchange is cancelled, so its route
 * lets go of it) and every listening socket; the context goes away. */
void Ccai_server_free(ccai_ctx *ctx);

/* Open connections, those whose answers are pending included. */
size_t Ccai_server_connections(const ccai_ctx *ctx);

#endif
