/* The stand-ins' WebSocket layer on wslay (tests/support/ws.c, svc.c): the
 * accept key of RFC 6455's own example, upgrades accepted and refused,
 * text/binary/fragmented messages both ways, ping/pong, close codes, the
 * size limit, a frame with a reserved bit, raw garbage. An echo server on
 * svc plays the other side; the client is ws_client. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/svc.h"
#include "support/ws.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

static svc *S;

/* Echo: text and binary back as they came; "close:<code>" closes with
 * that code; "frag" answers a 10000-byte binary message in 1000-byte frames;
 * "rsv1" answers with RSV1 set. */
static void on_request(svc_conn *c, const svc_req *r, void *ud)
{
    (void)ud;
    if (!strcmp(r->path, "/echo")) {
        const char *p = svc_req_header(r, "Sec-WebSocket-Protocol");
        svc_ws_accept(c, r, 0, p && strstr(p, "chat") ? "chat" : NULL, "X-Standin: yes\r\n");
    } else {
        svc_respond(c, 0, 404, NULL, "text/plain", "nope\n", 5);
    }
}

static void on_message(svc_conn *c, const ws_msg *m, void *ud)
{
    (void)ud;
    if (m->opcode != WS_TEXT && m->opcode != WS_BINARY)
        return;
    if (m->opcode == WS_TEXT && !strncmp((const char *)m->data, "close:", 6)) {
        svc_ws_close(c, 0, atoi((const char *)m->data + 6), "bye");
    } else if (m->opcode == WS_TEXT && !strcmp((const char *)m->data, "frag")) {
        uint8_t big[10000];
        for (size_t i = 0; i < sizeof big; i++)
            big[i] = (uint8_t)(i * 7);
        svc_ws_send_fragmented(c, 0, WS_BINARY, big, sizeof big, 1000);
    } else if (m->opcode == WS_TEXT && !strcmp((const char *)m->data, "rsv1")) {
        svc_ws_send_rsv1(c, 0, WS_TEXT, "x", 1);
    } else if (m->opcode == WS_TEXT && !strcmp((const char *)m->data, "garbage")) {
        svc_write_raw(c, 0, "\xff\xff\xff\xff", 4);
    } else {
        svc_ws_send(c, 0, m->opcode, m->data, m->len);
    }
}

static int setup(void **state)
{
    (void)state;
    svc_ops ops = {on_request, on_message, NULL, NULL};
    S = svc_start(&ops, NULL);
    return S ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    svc_stop(S);
    return 0;
}

static ws_client *open_echo(const char *protocols)
{
    ws_client_opts o = {.port = svc_port(S), .path = "/echo", .protocols = protocols};
    ws_client *c = ws_client_connect(&o);
    assert_non_null(c);
    assert_int_equal(ws_client_status(c), 101);
    return c;
}

static void accept_key_rfc_example(void **state)
{
    (void)state;
    char out[29];
    ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out); /* RFC 6455 section 1.3 */
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_true(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=="));
    assert_false(ws_key_valid("dGhlIHNhbXBsZSBub25jZQ"));
    assert_false(ws_key_valid("dGhlIHNhbXBsZSBub25j!Q=="));
    char k[25];
    ws_new_key(k);
    assert_true(ws_key_valid(k));
}

static void messages_both_ways(void **state)
{
    (void)state;
    ws_client *c = open_echo("chat, superchat");
    char *proto = ws_client_response_header(c, "Sec-WebSocket-Protocol");
    assert_string_equal(proto, "chat");
    free(proto);
    char *x = ws_client_response_header(c, "X-Standin");
    assert_string_equal(x, "yes");
    free(x);
    ws_msg m;
    assert_int_equal(ws_client_send_text(c, "héllo"), 0);
    assert_int_equal(ws_client_recv(c, 2000, &m), 1);
    assert_int_equal(m.opcode, WS_TEXT);
    assert_string_equal((char *)m.data, "héllo");
    ws_msg_clear(&m);
    uint8_t bin[70000]; /* a 64-bit length frame */
    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (uint8_t)(i ^ (i >> 8));
    assert_int_equal(ws_client_send(c, WS_BINARY, bin, sizeof bin), 0);
    assert_int_equal(ws_client_recv(c, 2000, &m), 1);
    assert_int_equal(m.opcode, WS_BINARY);
    assert_int_equal(m.len, sizeof bin);
    assert_memory_equal(m.data, bin, sizeof bin);
    ws_msg_clear(&m);
    /* A fragmented message from the client is one message to the server. */
    assert_int_equal(ws_client_send_fragmented(c, WS_TEXT, "abcdefghij", 10, 3), 0);
    assert_int_equal(ws_client_recv(c, 2000, &m), 1);
    assert_string_equal((char *)m.data, "abcdefghij");
    ws_msg_clear(&m);
    /* And the other way. */
    assert_int_equal(ws_client_send_text(c, "frag"), 0);
    assert_int_equal(ws_client_recv(c, 2000, &m), 1);
    assert_int_equal(m.opcode, WS_BINARY);
    assert_int_equal(m.len, 10000);
    assert_int_equal(m.data[9999], (uint8_t)(9999 * 7));
    ws_msg_clear(&m);
    /* Ping: wslay answers the pong by itself. */
    assert_int_equal(ws_client_send(c, WS_PING, "p1", 2), 0);
    assert_int_equal(ws_client_recv(c, 2000, &m), 1);
    assert_int_equal(m.opcode, WS_PONG);
    assert_string_equal((char *)m.data, "p1");
    ws_msg_clear(&m);
    /* The server logged what the client sent, in order. */
    int i = svc_request_count(S) - 1;
    assert_int_equal(svc_request_status(S, i), 101);
    char *d = NULL;
    assert_int_equal(svc_ws_message(S, i, 0, &d, NULL), WS_TEXT);
    assert_string_equal(d, "héllo");
    free(d);
    assert_int_equal(svc_ws_message(S, i, 2, &d, NULL), WS_TEXT);
    assert_string_equal(d, "abcdefghij");
    free(d);
    assert_int_equal(svc_ws_message(S, i, 4, NULL, NULL), WS_PING);
    /* Client close: the server answers with the same code. */
    assert_int_equal(ws_client_close(c, 4001, "done"), 0);
    assert_int_equal(ws_client_recv(c, 2000, &m), 1);
    assert_int_equal(m.opcode, WS_CLOSE);
    assert_int_equal(m.close_code, 4001);
    ws_msg_clear(&m);
    assert_int_equal(ws_client_recv(c, 500, &m), -1);
    assert_int_equal(svc_ws_client_close(S, i), 4001);
    ws_client_free(c);
}

static void server_close_codes(void **state)
{
    (void)state;
    ws_client *c = open_echo(NULL);
    ws_msg m;
    assert_int_equal(ws_client_send_text(c, "close:1011"), 0);
    assert_int_equal(ws_client_recv(c, 2000, &m), 1);
    assert_int_equal(m.opcode, WS_CLOSE);
    assert_int_equal(m.close_code, 1011);
    assert_string_equal((char *)m.data, "bye");
    ws_msg_clear(&m);
    ws_client_free(c);
}

/* Sends a request head by hand on a fresh socket; the answer's status. */
static int raw_status(int port, const char *head)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa))
        return -1;
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (send(fd, head, strlen(head), MSG_NOSIGNAL) < 0) {
        close(fd);
        return -1;
    }
    char buf[1024];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    close(fd);
    int status = -1;
    if (n > 0) {
        buf[n] = '\0';
        sscanf(buf, "HTTP/1.1 %d", &status);
    }
    return status;
}

static void refused_upgrades(void **state)
{
    (void)state;
    /* Not a WebSocket route: the server's HTTP answer is kept. */
    ws_client_opts o = {.port = svc_port(S), .path = "/other"};
    ws_client *c = ws_client_connect(&o);
    assert_int_equal(ws_client_status(c), 404);
    assert_string_equal(ws_client_response_body(c), "nope\n");
    ws_client_free(c);
    /* Heads a conforming client never sends, written by hand. */
    const struct {
        const char *lines;
        int status;
    } cases[] = {
        {"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n", 426},
        {"Sec-WebSocket-Version: 13\r\n", 400},
        {"Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n", 400},
        {"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n", 101},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char head[512];
        snprintf(head, sizeof head,
                 "GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                 "Connection: keep-alive, Upgrade\r\n%s\r\n",
                 cases[k].lines);
        assert_int_equal(raw_status(svc_port(S), head), cases[k].status);
    }
    /* Not an upgrade at all (no Upgrade header). */
    assert_int_equal(raw_status(svc_port(S), "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
}

static void reserved_bit_and_garbage(void **state)
{
    (void)state;
    ws_client *c = open_echo(NULL);
    ws_msg m;
    /* RSV1 without an extension: wslay fails the connection (close 1002). */
    assert_int_equal(ws_client_send_text(c, "rsv1"), 0);
    int got = ws_client_recv(c, 2000, &m);
    assert_true(got == -1 || (got == 1 && m.opcode != WS_TEXT));
    ws_msg_clear(&m);
    ws_client_free(c);
    /* Garbage bytes instead of a frame: no message comes out of them. */
    c = open_echo(NULL);
    assert_int_equal(ws_client_send_text(c, "garbage"), 0);
    got = ws_client_recv(c, 1000, &m);
    assert_true(got == -1 || got == 0 || m.opcode == WS_CLOSE);
    ws_msg_clear(&m);
    ws_client_free(c);
}

static void oversize_message(void **state)
{
    (void)state;
    /* The client refuses messages over its limit with 1009. */
    ws_client_opts o = {.port = svc_port(S), .path = "/echo", .max_msg = 1000};
    ws_client *c = ws_client_connect(&o);
    assert_int_equal(ws_client_status(c), 101);
    uint8_t big[5000] = {0};
    assert_int_equal(ws_client_send(c, WS_BINARY, big, sizeof big), 0);
    ws_msg m;
    int got = ws_client_recv(c, 1000, &m);
    assert_true(got != 1 || m.opcode == WS_CLOSE);
    ws_msg_clear(&m);
    /* The server saw our close 1009. */
    int i = svc_request_count(S) - 1;
    for (int k = 0; k < 100 && svc_ws_client_close(S, i) == 0; k++)
        usleep(20000);
    assert_int_equal(svc_ws_client_close(S, i), 1009);
    ws_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accept_key_rfc_example),
        cmocka_unit_test_setup_teardown(messages_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(server_close_codes, setup, teardown),
        cmocka_unit_test_setup_teardown(refused_upgrades, setup, teardown),
        cmocka_unit_test_setup_teardown(reserved_bit_and_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(oversize_message, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
