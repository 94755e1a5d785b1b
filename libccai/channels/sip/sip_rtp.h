/* RTP (RFC 3550 §5.1) and RFC 4733 telephone-events for the SIP channel:
 * sans-I/O parsers and writers with size limits (channels/sip/sip_rtp.c),
 * fuzzed by tests/fuzz/fuzz_sip_rtp.c. The channel reads its RTP socket
 * itself (libre parses SIP and SDP; the media path is ours: G.711 through
 * media/codec.h, pacing by the voice layer). */
#ifndef CCAI_CHANNELS_SIP_SIP_RTP_H
#define CCAI_CHANNELS_SIP_SIP_RTP_H

#include "core/common.h"

#define CCAI_RTP_HEADER 12u
/* The largest packet taken: an Ethernet MTU's UDP payload. A bigger one
 * (a datagram cut by the receive buffer) is dropped. */
#define CCAI_RTP_MAX_PACKET 1472u
/* Static payload types of RFC 3551. */
#define CCAI_RTP_PT_PCMU 0u
#define CCAI_RTP_PT_PCMA 8u

typedef struct Ccai_rtp {
    bool marker;
    uint8_t pt;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    const uint8_t *payload; /* within the packet */
    size_t len;
} Ccai_rtp;

/* One packet: version 2, CSRCs, a header extension and padding skipped;
 * false with *why (static text) when it is not RTP or is cut short. */
CCAI_MUST_CHECK bool Ccai_rtp_parse(const uint8_t *p, size_t n, Ccai_rtp *ret, const char **why);
/* The 12-byte header of a packet we send (no CSRC, no extension). */
void Ccai_rtp_write_header(uint8_t out[CCAI_RTP_HEADER], bool marker, uint8_t pt, uint16_t seq,
                           uint32_t ts, uint32_t ssrc);

/* An RFC 4733 §2.3 event payload (the first 4 bytes; redundant blocks of
 * RFC 2198 are not negotiated, so a longer payload is refused). */
typedef struct Ccai_telev {
    uint8_t event; /* 0-9, 10 '*', 11 '#', 12-15 'A'-'D', others */
    bool end;
    uint8_t volume;    /* -dBm0, 0..63 */
    uint16_t duration; /* timestamp units */
} Ccai_telev;

CCAI_MUST_CHECK bool Ccai_telev_parse(const uint8_t *p, size_t n, Ccai_telev *ret,
                                      const char **why);
void Ccai_telev_write(uint8_t out[4], uint8_t event, bool end, uint8_t volume, uint16_t duration);
/* '0'-'9', '*', '#', 'A'-'D' for events 0-15; '\0' for the others (tones
 * and line events of RFC 4734 that are not keys). */
char Ccai_telev_digit(uint8_t event);
/* The event of a key; -1 for a character that is none. */
int Ccai_telev_event(char digit);

/* The keys of one RTP stream: an event is reported once, at its first
 * packet (its RTP timestamp names it: the packets of one key share it, its
 * end is sent three times), whatever is lost or repeated after. */
typedef struct Ccai_dtmf_rx {
    bool have; /* an event seen */
    uint32_t ts;
} Ccai_dtmf_rx;

/* The key a telephone-event packet starts, or '\0' (a packet of the key
 * already reported, an event that is no key). */
char Ccai_dtmf_rx_feed(Ccai_dtmf_rx *rx, const Ccai_rtp *pkt, const Ccai_telev *ev);

#endif
