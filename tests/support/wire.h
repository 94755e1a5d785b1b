/* HTTP/1.1 on a blocking socket, for the provider stand-ins in tests: read
 * one request, find a header, write a reply. Loopback test code only; the
 * library never uses it. */
#ifndef CCAI_TEST_WIRE_H
#define CCAI_TEST_WIRE_H

#include <stddef.h>

/* One request as received. target is the request target as sent; head the
 * request line and headers, ending with the CRLF of the last header (so
 * wire_find_header() can search it); body is NUL-terminated. */
typedef struct wire_request {
    char method[16];
    char *target;
    char *head;
    char *body;
    size_t body_len;
} wire_request;

/* Read one request (head up to head_max bytes, body up to body_max bytes by
 * Content-Length). 0, or -1 when the client went away, timed out or sent
 * something too large or unparsable; on -1 nothing is left allocated. */
int wire_read_request(int fd, wire_request *r, size_t head_max, size_t body_max);
/* Free the strings of a request read by wire_read_request(). */
void wire_request_free(wire_request *r);

/* The value of header name (case-insensitive) in head, without surrounding
 * white space: a pointer into head and its length, or NULL. */
const char *wire_find_header(const char *head, const char *name, size_t *ret_len);

/* Write everything; 0, or -1 when the client went away. */
int wire_write_all(int fd, const char *p, size_t n);
/* The reason phrase of a status code ("Status" for those not listed). */
const char *wire_reason(int status);
/* A listening TCP socket on 127.0.0.1, ephemeral port (SO_REUSEADDR):
 * the descriptor, -1 on failure; *ret_port its port. */
int wire_listen_loopback(int backlog, int *ret_port);
/* Sleep, resuming after signals. */
void wire_sleep_ms(int ms);

#endif
