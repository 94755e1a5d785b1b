/* Twilio Media Streams messages (see the header). */
#include "channels/twilio/twilio_stream.h"

#include "core/json.h"

#include <string.h>

static CCAI_MUST_CHECK bool copy_str(char *dst, size_t cap, const json_t *v)
{
    const char *s = json_string_value(v);
    if (!s) {
        dst[0] = '\0';
        return true;
    }
    size_t n = strlen(s);
    if (n >= cap)
        return false;
    memcpy(dst, s, n + 1);
    return true;
}

ccai_status Ccai_twilio_stream_parse(const char *text, size_t len, Ccai_twilio_stream_msg *m,
                                     const char **why)
{
    m->event = CCAI_TWS_OTHER;
    m->stream_sid[0] = m->call_sid[0] = m->token[0] = m->encoding[0] = m->mark[0] = '\0';
    m->sample_rate = 0;
    m->audio_len = 0;
    m->digit = 0;
    *why = NULL;
    Ccai_json_err e;
    ccai_status st = CCAI_OK;
    json_t *doc = Ccai_json_load(text, len, &e, &st);
    if (!doc) {
        *why = "not JSON";
        return st;
    }
    st = CCAI_ERR_PARSE;
    const char *ev = json_string_value(json_object_get(doc, "event"));
    if (!json_is_object(doc) || !ev) {
        *why = "no event";
        goto out;
    }
    if (!copy_str(m->stream_sid, sizeof m->stream_sid, json_object_get(doc, "streamSid"))) {
        st = CCAI_ERR_LIMIT;
        *why = "streamSid too long";
        goto out;
    }
    if (!strcmp(ev, "connected")) {
        m->event = CCAI_TWS_CONNECTED;
    } else if (!strcmp(ev, "start")) {
        m->event = CCAI_TWS_START;
        const json_t *s = json_object_get(doc, "start");
        const json_t *fmt = json_object_get(s, "mediaFormat");
        if (!m->stream_sid[0] &&
            !copy_str(m->stream_sid, sizeof m->stream_sid, json_object_get(s, "streamSid"))) {
            st = CCAI_ERR_LIMIT;
            *why = "streamSid too long";
            goto out;
        }
        if (!copy_str(m->call_sid, sizeof m->call_sid, json_object_get(s, "callSid")) ||
            !copy_str(m->token, sizeof m->token,
                      json_object_get(json_object_get(s, "customParameters"), "token")) ||
            !copy_str(m->encoding, sizeof m->encoding, json_object_get(fmt, "encoding"))) {
            st = CCAI_ERR_LIMIT;
            *why = "a start field too long";
            goto out;
        }
        const json_t *rate = json_object_get(fmt, "sampleRate");
        m->sample_rate = json_is_integer(rate) ? (long)json_integer_value(rate) : 0;
        if (!m->stream_sid[0]) {
            *why = "a start without streamSid";
            goto out;
        }
    } else if (!strcmp(ev, "media")) {
        m->event = CCAI_TWS_MEDIA;
        const json_t *p = json_object_get(json_object_get(doc, "media"), "payload");
        const char *b64 = json_string_value(p);
        if (!b64) {
            *why = "a media without payload";
            goto out;
        }
        int rc = Ccai_base64_decode(b64, json_string_length(p), false, m->audio, sizeof m->audio,
                                    &m->audio_len);
        if (rc == -2) {
            st = CCAI_ERR_LIMIT;
            *why = "a media payload over 1 s of audio";
            goto out;
        }
        if (rc != CCAI_OK) {
            *why = "a media payload that is not Base64";
            goto out;
        }
    } else if (!strcmp(ev, "dtmf")) {
        m->event = CCAI_TWS_DTMF;
        const char *d = json_string_value(json_object_get(json_object_get(doc, "dtmf"), "digit"));
        if (!d || strlen(d) != 1 || !strchr("0123456789*#ABCD", d[0])) {
            *why = "a dtmf without a digit";
            goto out;
        }
        m->digit = d[0];
    } else if (!strcmp(ev, "mark")) {
        m->event = CCAI_TWS_MARK;
        const json_t *n = json_object_get(json_object_get(doc, "mark"), "name");
        if (!copy_str(m->mark, sizeof m->mark, n)) {
            st = CCAI_ERR_LIMIT;
            *why = "a mark name too long";
            goto out;
        }
        if (!m->mark[0]) {
            *why = "a mark without a name";
            goto out;
        }
    } else if (!strcmp(ev, "stop")) {
        m->event = CCAI_TWS_STOP;
        if (!copy_str(m->call_sid, sizeof m->call_sid,
                      json_object_get(json_object_get(doc, "stop"), "callSid")))
            m->call_sid[0] = '\0';
    }
    st = CCAI_OK;
out:
    json_decref(doc);
    return st;
}

static CCAI_MUST_CHECK bool head(Ccai_buf *out, const char *event, const char *stream_sid)
{
    Ccai_buf_reset(out);
    return Ccai_buf_puts(out, "{\"event\":\"") && Ccai_buf_puts(out, event) &&
           Ccai_buf_puts(out, "\",\"streamSid\":") && Ccai_json_put_cstring(out, stream_sid);
}

bool Ccai_twilio_stream_media(Ccai_buf *out, const char *stream_sid, const uint8_t *ulaw, size_t n)
{
    if (!head(out, "media", stream_sid) || !Ccai_buf_puts(out, ",\"media\":{\"payload\":\""))
        return false;
    if (!Ccai_buf_base64(out, ulaw, n))
        return false;
    return Ccai_buf_puts(out, "\"}}");
}

bool Ccai_twilio_stream_mark(Ccai_buf *out, const char *stream_sid, const char *name)
{
    return head(out, "mark", stream_sid) && Ccai_buf_puts(out, ",\"mark\":{\"name\":") &&
           Ccai_json_put_cstring(out, name) && Ccai_buf_puts(out, "}}");
}

bool Ccai_twilio_stream_clear(Ccai_buf *out, const char *stream_sid)
{
    return head(out, "clear", stream_sid) && Ccai_buf_puts(out, "}");
}
