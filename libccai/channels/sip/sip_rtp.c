/* RTP and RFC 4733 telephone-events: see sip_rtp.h. */
#include "channels/sip/sip_rtp.h"

#include <string.h>

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

bool Ccai_rtp_parse(const uint8_t *p, size_t n, Ccai_rtp *ret, const char **why)
{
    memset(ret, 0, sizeof *ret);
    if (n < CCAI_RTP_HEADER) {
        *why = "shorter than an RTP header";
        return false;
    }
    if (n > CCAI_RTP_MAX_PACKET) {
        *why = "larger than a packet we take";
        return false;
    }
    if ((p[0] >> 6) != 2) {
        *why = "not RTP version 2";
        return false;
    }
    bool padding = p[0] & 0x20, ext = p[0] & 0x10;
    size_t off = CCAI_RTP_HEADER + 4u * (p[0] & 0x0f);
    ret->marker = p[1] & 0x80;
    ret->pt = p[1] & 0x7f;
    if (ret->pt >= 72 && ret->pt <= 76) {
        *why = "an RTCP packet on the RTP port";
        return false;
    }
    ret->seq = be16(p + 2);
    ret->ts = be32(p + 4);
    ret->ssrc = be32(p + 8);
    if (off > n) {
        *why = "CSRC list beyond the packet";
        return false;
    }
    if (ext) {
        if (off + 4 > n) {
            *why = "header extension beyond the packet";
            return false;
        }
        size_t words = be16(p + off + 2);
        off += 4 + 4 * words;
        if (off > n) {
            *why = "header extension beyond the packet";
            return false;
        }
    }
    size_t end = n;
    if (padding) {
        size_t pad = p[n - 1];
        if (pad == 0 || pad > end - off) {
            *why = "padding beyond the payload";
            return false;
        }
        end -= pad;
    }
    ret->payload = p + off;
    ret->len = end - off;
    return true;
}

void Ccai_rtp_write_header(uint8_t out[CCAI_RTP_HEADER], bool marker, uint8_t pt, uint16_t seq,
                           uint32_t ts, uint32_t ssrc)
{
    out[0] = 0x80;
    out[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
    out[2] = (uint8_t)(seq >> 8);
    out[3] = (uint8_t)seq;
    out[4] = (uint8_t)(ts >> 24);
    out[5] = (uint8_t)(ts >> 16);
    out[6] = (uint8_t)(ts >> 8);
    out[7] = (uint8_t)ts;
    out[8] = (uint8_t)(ssrc >> 24);
    out[9] = (uint8_t)(ssrc >> 16);
    out[10] = (uint8_t)(ssrc >> 8);
    out[11] = (uint8_t)ssrc;
}

bool Ccai_telev_parse(const uint8_t *p, size_t n, Ccai_telev *ret, const char **why)
{
    memset(ret, 0, sizeof *ret);
    if (n != 4) {
        *why = n < 4 ? "telephone-event shorter than 4 bytes"
                     : "telephone-event longer than one event (redundancy not negotiated)";
        return false;
    }
    ret->event = p[0];
    ret->end = p[1] & 0x80;
    ret->volume = p[1] & 0x3f;
    ret->duration = be16(p + 2);
    return true;
}

void Ccai_telev_write(uint8_t out[4], uint8_t event, bool end, uint8_t volume, uint16_t duration)
{
    out[0] = event;
    out[1] = (uint8_t)((end ? 0x80 : 0) | (volume & 0x3f));
    out[2] = (uint8_t)(duration >> 8);
    out[3] = (uint8_t)duration;
}

static const char keys[] = "0123456789*#ABCD";

char Ccai_telev_digit(uint8_t event)
{
    return event < 16 ? keys[event] : '\0';
}

int Ccai_telev_event(char digit)
{
    if (digit >= 'a' && digit <= 'd')
        digit = (char)(digit - 'a' + 'A');
    const char *k = digit ? strchr(keys, digit) : NULL;
    return k ? (int)(k - keys) : -1;
}

char Ccai_dtmf_rx_feed(Ccai_dtmf_rx *rx, const Ccai_rtp *pkt, const Ccai_telev *ev)
{
    if (rx->have && rx->ts == pkt->ts)
        return '\0';
    rx->have = true;
    rx->ts = pkt->ts;
    return Ccai_telev_digit(ev->event);
}
