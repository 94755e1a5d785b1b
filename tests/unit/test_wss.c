/* http/wss.c: the WebSocket upgrade check (RFC 6455 4.2.1) as a server
 * sees real clients' requests, and the server framing (frames out
 * unmasked, an unmasked client frame failing the connection with 1002). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "http/wss.h"

#include <string.h>

#define H(n, v)                  \
    {                            \
        (char *)(n), (char *)(v) \
    }

static void test_handshake_rfc_example(void **state)
{
    (void)state;
    /* RFC 6455 1.3's example key and accept. */
    Ccai_http_hdr h[] = {H("Host", "server.example.com"),
                         H("Upgrade", "websocket"),
                         H("Connection", "keep-alive, Upgrade"),
                         H("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                         H("Sec-WebSocket-Protocol", "chat, superchat"),
                         H("Sec-WebSocket-Version", "13")};
    Ccai_wss_handshake_result r;
    Ccai_wss_handshake("GET", h, 6, "superchat", &r);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_string_equal(r.protocol, "superchat");
    Ccai_wss_handshake("GET", h, 6, NULL, &r);
    assert_int_equal(r.status, 0);
    assert_string_equal(r.protocol, "");
}

static void test_handshake_refusals(void **state)
{
    (void)state;
    Ccai_wss_handshake_result r;
    Ccai_http_hdr ok[] = {H("Upgrade", "WebSocket"), H("Connection", "Upgrade"),
                          H("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                          H("Sec-WebSocket-Version", "13")};
    Ccai_wss_handshake("POST", ok, 4, NULL, &r);
    assert_int_equal(r.status, 400);
    Ccai_wss_handshake("GET", ok, 1, NULL, &r); /* no Connection */
    assert_int_equal(r.status, 400);
    Ccai_http_hdr v8[] = {H("Upgrade", "websocket"), H("Connection", "Upgrade"),
                          H("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                          H("Sec-WebSocket-Version", "8")};
    Ccai_wss_handshake("GET", v8, 4, NULL, &r);
    assert_int_equal(r.status, 426);
    Ccai_http_hdr badkey[] = {H("Upgrade", "websocket"), H("Connection", "Upgrade"),
                              H("Sec-WebSocket-Key", "short=="), H("Sec-WebSocket-Version", "13")};
    Ccai_wss_handshake("GET", badkey, 4, NULL, &r);
    assert_int_equal(r.status, 400);
    Ccai_http_hdr twokeys[] = {H("Upgrade", "websocket"), H("Connection", "Upgrade"),
                               H("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                               H("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                               H("Sec-WebSocket-Version", "13")};
    Ccai_wss_handshake("GET", twokeys, 5, NULL, &r);
    assert_int_equal(r.status, 400);
}

typedef struct got {
    int n;
    char last[64];
} got;

static void on_msg(void *ud, int kind, const uint8_t *data, size_t len)
{
    got *g = ud;
    assert_int_equal(kind, CCAI_WS_TEXT);
    g->n++;
    memcpy(g->last, data, len < 63 ? len : 63);
    g->last[len < 63 ? len : 63] = '\0';
}

static void test_server_framing(void **state)
{
    (void)state;
    got g = {0};
    Ccai_ws_core *c = Ccai_ws_core_new_server(1024, on_msg, &g);
    assert_non_null(c);
    /* RFC 6455 5.7: a masked "Hello" from a client. */
    static const uint8_t masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                     0x7f, 0x9f, 0x4d, 0x51, 0x58};
    assert_int_equal(Ccai_ws_core_feed(c, masked, sizeof masked), CCAI_OK);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.last, "Hello");
    /* Our answer goes unmasked: 0x81 0x05 "Hello". */
    assert_int_equal(Ccai_ws_core_send(c, CCAI_WS_TEXT, "Hello", 5), CCAI_OK);
    const uint8_t *p;
    size_t n;
    Ccai_ws_core_out(c, &p, &n);
    assert_int_equal(n, 7);
    assert_int_equal(p[0], 0x81);
    assert_int_equal(p[1], 0x05);
    assert_memory_equal(p + 2, "Hello", 5);
    Ccai_ws_core_consume(c, n);
    /* An unmasked client frame: the connection fails with 1002. */
    static const uint8_t unmasked[] = {0x81, 0x05, 'H', 'e', 'l', 'l', 'o'};
    assert_int_equal(Ccai_ws_core_feed(c, unmasked, sizeof unmasked), CCAI_OK);
    assert_int_equal(g.n, 1);
    assert_true(Ccai_ws_core_read_done(c));
    assert_int_equal(Ccai_ws_core_close_sent(c), 1002);
    Ccai_ws_core_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_handshake_rfc_example),
        cmocka_unit_test(test_handshake_refusals),
        cmocka_unit_test(test_server_framing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
