/* channels/sip/sip_rtp.c: RTP headers (RFC 3550 §5.1) and RFC 4733
 * telephone-events as real phones send them: baresip's PCMU packet, a
 * packet with CSRCs, an extension and padding, libre's telev packets of
 * one key (start, updates, the end three times), and what is not RTP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "channels/sip/sip_rtp.h"

#include <string.h>

static void test_rtp_header(void **state)
{
    (void)state;
    uint8_t pkt[12 + 160];
    Ccai_rtp_write_header(pkt, true, 0, 0xbeef, 0x01020304, 0xa1b2c3d4);
    memset(pkt + 12, 0xff, 160); /* mu-law silence */
    Ccai_rtp r;
    const char *why = NULL;
    assert_true(Ccai_rtp_parse(pkt, sizeof pkt, &r, &why));
    assert_true(r.marker);
    assert_int_equal(r.pt, 0);
    assert_int_equal(r.seq, 0xbeef);
    assert_int_equal(r.ts, 0x01020304);
    assert_int_equal(r.ssrc, 0xa1b2c3d4);
    assert_int_equal(r.len, 160);
    assert_ptr_equal(r.payload, pkt + 12);
}

static void test_rtp_csrc_ext_padding(void **state)
{
    (void)state;
    /* V=2 P=1 X=1 CC=2, PT 8; 2 CSRCs; extension of 1 word; 4 bytes of
     * payload; 3 bytes of padding. */
    uint8_t pkt[12 + 8 + 4 + 4 + 4 + 3] = {0xb2, 0x08, 0, 1, 0, 0, 0, 160, 0, 0, 0, 7};
    size_t off = 12 + 8;
    pkt[off + 2] = 0;
    pkt[off + 3] = 1; /* one word */
    off += 8;
    memcpy(pkt + off, "\xd5\xd5\xd5\xd5", 4);
    pkt[sizeof pkt - 1] = 3;
    Ccai_rtp r;
    const char *why = NULL;
    assert_true(Ccai_rtp_parse(pkt, sizeof pkt, &r, &why));
    assert_int_equal(r.pt, 8);
    assert_int_equal(r.len, 4);
    assert_ptr_equal(r.payload, pkt + off);
    /* Padding longer than the payload, an extension beyond the packet. */
    pkt[sizeof pkt - 1] = 40;
    assert_false(Ccai_rtp_parse(pkt, sizeof pkt, &r, &why));
    assert_non_null(why);
    pkt[sizeof pkt - 1] = 3;
    pkt[12 + 8 + 3] = 200;
    assert_false(Ccai_rtp_parse(pkt, sizeof pkt, &r, &why));
}

static void test_rtp_not_rtp(void **state)
{
    (void)state;
    Ccai_rtp r;
    const char *why = NULL;
    uint8_t small[11] = {0x80};
    assert_false(Ccai_rtp_parse(small, sizeof small, &r, &why));
    uint8_t v1[12] = {0x40};
    assert_false(Ccai_rtp_parse(v1, sizeof v1, &r, &why));
    uint8_t rtcp[12] = {0x80, 200}; /* an RTCP sender report on the RTP port */
    assert_false(Ccai_rtp_parse(rtcp, sizeof rtcp, &r, &why));
    assert_string_equal(why, "an RTCP packet on the RTP port");
    static uint8_t big[CCAI_RTP_MAX_PACKET + 1] = {0x80};
    assert_false(Ccai_rtp_parse(big, sizeof big, &r, &why));
}

/* One key '5' as libre's telev sends it: packets every 50 ms with the same
 * timestamp and a growing duration, the end bit on the last three; then
 * '#' with a new timestamp: two keys, each once. */
static void test_telev_one_key_once(void **state)
{
    (void)state;
    Ccai_dtmf_rx rx = {0};
    char keys[8] = "";
    size_t nk = 0;
    struct {
        uint32_t ts;
        uint8_t ev;
        bool end;
        uint16_t dur;
    } seq[] = {{1000, 5, false, 400}, {1000, 5, false, 800}, {1000, 5, true, 1040},
               {1000, 5, true, 1040}, {1000, 5, true, 1040}, {5000, 11, false, 400},
               {5000, 11, true, 800}, {5000, 11, true, 800}, {5000, 11, true, 800}};
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        uint8_t pkt[16];
        Ccai_rtp_write_header(pkt, i == 0, 101, (uint16_t)i, seq[i].ts, 1);
        Ccai_telev_write(pkt + 12, seq[i].ev, seq[i].end, 10, seq[i].dur);
        Ccai_rtp r;
        Ccai_telev ev;
        const char *why = NULL;
        assert_true(Ccai_rtp_parse(pkt, sizeof pkt, &r, &why));
        assert_true(Ccai_telev_parse(r.payload, r.len, &ev, &why));
        assert_int_equal(ev.event, seq[i].ev);
        assert_int_equal(ev.end, seq[i].end);
        assert_int_equal(ev.volume, 10);
        assert_int_equal(ev.duration, seq[i].dur);
        char d = Ccai_dtmf_rx_feed(&rx, &r, &ev);
        if (d)
            keys[nk++] = d;
    }
    keys[nk] = '\0';
    assert_string_equal(keys, "5#");
}

static void test_telev_keys(void **state)
{
    (void)state;
    const char *all = "0123456789*#ABCD";
    for (int i = 0; i < 16; i++) {
        assert_int_equal(Ccai_telev_digit((uint8_t)i), all[i]);
        assert_int_equal(Ccai_telev_event(all[i]), i);
    }
    assert_int_equal(Ccai_telev_event('a'), 12);
    assert_int_equal(Ccai_telev_digit(16), '\0'); /* a tone, no key */
    assert_int_equal(Ccai_telev_event('x'), -1);
    assert_int_equal(Ccai_telev_event('\0'), -1);
    Ccai_telev ev;
    const char *why = NULL;
    uint8_t three[3] = {5, 0, 0}, eight[8] = {5, 0x80, 0, 160, 5, 0x80, 0, 160};
    assert_false(Ccai_telev_parse(three, sizeof three, &ev, &why));
    assert_false(Ccai_telev_parse(eight, sizeof eight, &ev, &why)); /* RFC 2198 redundancy */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rtp_header),  cmocka_unit_test(test_rtp_csrc_ext_padding),
        cmocka_unit_test(test_rtp_not_rtp), cmocka_unit_test(test_telev_one_key_once),
        cmocka_unit_test(test_telev_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
