/* AudioSocket framing: see as_frame.h. */
#include "channels/audiosocket/as_frame.h"

uint32_t Ccai_as_kind_rate(uint8_t kind)
{
    static const uint32_t rates[] = {8000, 12000, 16000, 24000, 32000, 44100, 48000, 96000, 192000};
    if (kind < CCAI_AS_KIND_SLIN || kind > CCAI_AS_KIND_SLIN_LAST)
        return 0;
    return rates[kind - CCAI_AS_KIND_SLIN];
}

const char *Ccai_as_error_name(int code)
{
    switch (code) {
    case -1: return "no code";
    case 0x00: return "none";
    case 0x01: return "the caller hung up";
    case 0x02: return "frame forwarding failed";
    case 0x04: return "out of memory";
    default: return "unknown code";
    }
}

void Ccai_as_header(uint8_t kind, uint16_t len, uint8_t out[3])
{
    out[0] = kind;
    out[1] = (uint8_t)(len >> 8);
    out[2] = (uint8_t)(len & 0xff);
}

void Ccai_as_uuid_text(const uint8_t uuid[16], char out[37])
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[k++] = '-';
        out[k++] = hex[uuid[i] >> 4];
        out[k++] = hex[uuid[i] & 15];
    }
    out[k] = '\0';
}

static bool dtmf_digit(uint8_t c)
{
    return (c >= '0' && c <= '9') || c == '*' || c == '#' || (c >= 'A' && c <= 'D');
}

Ccai_as_result Ccai_as_parse(const uint8_t *buf, size_t len, Ccai_as_msg *ret, size_t *ret_used)
{
    *ret = (Ccai_as_msg){.error_code = -1};
    *ret_used = 0;
    if (len < 3)
        return CCAI_AS_MORE;
    size_t plen = ((size_t)buf[1] << 8) | buf[2];
    ret->kind = buf[0];
    if (plen > CCAI_AS_MAX_PAYLOAD) {
        ret->why = "a message longer than 8192 bytes: not an AudioSocket peer";
        return CCAI_AS_BROKEN;
    }
    if (len < 3 + plen)
        return CCAI_AS_MORE;
    *ret_used = 3 + plen;
    ret->payload = buf + 3;
    ret->len = plen;
    switch (buf[0]) {
    case CCAI_AS_KIND_HANGUP:
        /* Asterisk reads the header only: a payload is skipped. */
        return CCAI_AS_MESSAGE;
    case CCAI_AS_KIND_UUID:
        if (plen != 16) {
            ret->why = "a UUID message that is not 16 bytes";
            return CCAI_AS_BAD;
        }
        return CCAI_AS_MESSAGE;
    case CCAI_AS_KIND_DTMF:
        if (plen < 1 || !dtmf_digit(buf[3])) {
            ret->why = "a DTMF message without a digit (0-9, *, #, A-D)";
            return CCAI_AS_BAD;
        }
        ret->digit = (char)buf[3];
        return CCAI_AS_MESSAGE;
    case CCAI_AS_KIND_ERROR:
        if (plen >= 1)
            ret->error_code = buf[3];
        return CCAI_AS_MESSAGE;
    default: break;
    }
    ret->rate = Ccai_as_kind_rate(buf[0]);
    if (!ret->rate) {
        ret->why = "a message of a kind AudioSocket does not define";
        return CCAI_AS_BAD;
    }
    if (plen == 0 || plen % 2) {
        ret->why =
            plen ? "an audio message of an odd length (16-bit samples)" : "an empty audio message";
        return CCAI_AS_BAD;
    }
    return CCAI_AS_MESSAGE;
}
