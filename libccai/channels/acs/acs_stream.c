/* ACS media streaming messages (see the header). */
#include "channels/acs/acs_stream.h"

#include "core/json.h"

#include <string.h>

/* obj[key] with key matched without regard to case (the first match). */
static json_t *get_ci(const json_t *obj, const char *key)
{
    const char *k;
    json_t *v;
    if (!json_is_object(obj))
        return NULL;
    json_object_foreach((json_t *)obj, k, v)
    {
        if (Ccai_strcasecmp(k, key) == 0)
            return v;
    }
    return NULL;
}

/* A string field into dst: absent leaves ""; false when too long. */
static CCAI_MUST_CHECK bool copy_str(char *dst, size_t cap, const json_t *v)
{
    const char *s = json_string_value(v);
    dst[0] = '\0';
    if (!s)
        return true;
    size_t n = json_string_length(v);
    if (n >= cap)
        return false;
    memcpy(dst, s, n + 1);
    return true;
}

/* An integer field: absent 0; -1 when of another type. */
static long get_long(const json_t *v)
{
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 1000000)
        return -1;
    return (long)json_integer_value(v);
}

static ccai_status parse_metadata(const json_t *md, Ccai_acs_stream_msg *m, const char **why)
{
    if (!json_is_object(md)) {
        *why = "an AudioMetadata without audioMetadata";
        return CCAI_ERR_PARSE;
    }
    if (!copy_str(m->subscription_id, sizeof m->subscription_id, get_ci(md, "subscriptionId")) ||
        !copy_str(m->encoding, sizeof m->encoding, get_ci(md, "encoding"))) {
        *why = "an AudioMetadata field too long";
        return CCAI_ERR_LIMIT;
    }
    m->sample_rate = get_long(get_ci(md, "sampleRate"));
    m->channels = get_long(get_ci(md, "channels"));
    m->length = get_long(get_ci(md, "length"));
    if (m->sample_rate < 0 || m->channels < 0 || m->length < 0) {
        *why = "an AudioMetadata whose sampleRate, channels or length is not a number";
        return CCAI_ERR_PARSE;
    }
    return CCAI_OK;
}

static ccai_status parse_audio(const json_t *ad, Ccai_acs_stream_msg *m, const char **why)
{
    const json_t *data = get_ci(ad, "data");
    const char *b64 = json_string_value(data);
    if (!b64) {
        *why = "an AudioData without data";
        return CCAI_ERR_PARSE;
    }
    if (!copy_str(m->participant, sizeof m->participant, get_ci(ad, "participantRawID"))) {
        *why = "a participantRawID too long";
        return CCAI_ERR_LIMIT;
    }
    m->silent = json_is_true(get_ci(ad, "silent"));
    int rc = Ccai_base64_decode(b64, json_string_length(data), false, m->audio,
                                CCAI_ACS_STREAM_MAX_AUDIO, &m->audio_len);
    if (rc == -2) {
        *why = "an AudioData over 1 s of audio";
        return CCAI_ERR_LIMIT;
    }
    if (rc != 0) {
        *why = "an AudioData whose data is not base64";
        return CCAI_ERR_PARSE;
    }
    if (m->audio_len % 2) {
        *why = "an AudioData of an odd number of bytes (not 16-bit PCM)";
        return CCAI_ERR_PARSE;
    }
    return CCAI_OK;
}

ccai_status Ccai_acs_stream_parse(const char *text, size_t len, Ccai_acs_stream_msg *m,
                                  const char **why)
{
    m->kind = CCAI_ACSS_OTHER;
    m->subscription_id[0] = m->encoding[0] = m->participant[0] = '\0';
    m->sample_rate = m->channels = m->length = 0;
    m->silent = false;
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
    const char *kind = json_string_value(get_ci(doc, "kind"));
    if (!kind) {
        *why = "no kind";
        st = CCAI_ERR_PARSE;
    } else if (Ccai_strcasecmp(kind, "AudioMetadata") == 0) {
        m->kind = CCAI_ACSS_METADATA;
        st = parse_metadata(get_ci(doc, "audioMetadata"), m, why);
    } else if (Ccai_strcasecmp(kind, "AudioData") == 0) {
        m->kind = CCAI_ACSS_AUDIO;
        st = parse_audio(get_ci(doc, "audioData"), m, why);
    } else if (Ccai_strcasecmp(kind, "DtmfData") == 0) {
        m->kind = CCAI_ACSS_DTMF;
        const json_t *d = get_ci(get_ci(doc, "dtmfData"), "data");
        const char *s = json_string_value(d);
        if (!s || json_string_length(d) != 1 || !strchr("0123456789*#ABCD", s[0])) {
            *why = "a DtmfData without one digit";
            st = CCAI_ERR_PARSE;
        } else {
            m->digit = s[0];
        }
    }
    json_decref(doc);
    return st;
}

bool Ccai_acs_stream_audio(Ccai_buf *out, const uint8_t *pcm, size_t n)
{
    Ccai_buf_reset(out);
    return Ccai_buf_puts(out, "{\"kind\":\"AudioData\",\"audioData\":{\"data\":\"") &&
           Ccai_buf_base64(out, pcm, n) && Ccai_buf_puts(out, "\"}}");
}

bool Ccai_acs_stream_stop(Ccai_buf *out)
{
    Ccai_buf_reset(out);
    return Ccai_buf_puts(out, "{\"kind\":\"StopAudio\",\"stopAudio\":{}}");
}
