/* TwiML builder: compact, escaped, sticky errors. */
#include "channels/twilio/twiml.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#define REPLACEMENT "\xEF\xBF\xBD" /* U+FFFD */

static void fail(Ccai_twiml *t, ccai_status st)
{
    if (t->status == CCAI_OK)
        t->status = st;
}

static void put(Ccai_twiml *t, const char *s, size_t len)
{
    if (t->status == CCAI_OK && !Ccai_buf_append(&t->buf, s, len))
        fail(t, CCAI_ERR_NOMEM);
}

static void puts_(Ccai_twiml *t, const char *s)
{
    put(t, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (XML Char only), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0; /* overlong */
    else if (c == 0xED)
        hi = 0x9F; /* surrogates */
    else if (c == 0xF0)
        lo = 0x90; /* overlong */
    else if (c == 0xF4)
        hi = 0x8F; /* above U+10FFFF */
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    }
    if (n == 3 && c == 0xEF && s[1] == 0xBF && (s[2] == 0xBE || s[2] == 0xBF))
        return 0; /* U+FFFE, U+FFFF: not XML characters */
    return n;
}

static void escape(Ccai_twiml *t, const char *text, bool attr)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text);
    size_t run = 0; /* bytes copied as they are, appended in one go */
    for (size_t i = 0; i < len;) {
        unsigned char c = s[i];
        const char *rep = NULL;
        size_t n = 1;
        if (c == '&')
            rep = "&amp;";
        else if (c == '<')
            rep = "&lt;";
        else if (c == '>')
            rep = "&gt;";
        else if (attr && c == '"')
            rep = "&quot;";
        else if (attr && c == '\t')
            rep = "&#9;";
        else if (attr && c == '\n')
            rep = "&#10;";
        else if (attr && c == '\r')
            rep = "&#13;";
        else if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            rep = REPLACEMENT;
        else if (c >= 0x80 && (n = utf8_len(s + i, len - i)) == 0) {
            rep = REPLACEMENT;
            n = 1;
        }
        if (!rep) {
            run += n;
            i += n;
            continue;
        }
        put(t, text + i - run, run);
        run = 0;
        puts_(t, rep);
        i += n;
    }
    put(t, text + len - run, run);
}

/* Close a pending start tag before content, after checking the verb may
 * appear where the builder stands ("R": <Response>, "G": <Gather>, ...). */
static CCAI_MUST_CHECK bool prepare(Ccai_twiml *t, const char *allowed_in)
{
    if (t->status != CCAI_OK)
        return false;
    if (t->finished) {
        fail(t, CCAI_ERR_STATE);
        return false;
    }
    char where = t->open ? (char)t->open : 'R';
    if (!strchr(allowed_in, where)) {
        fail(t, CCAI_ERR_STATE);
        return false;
    }
    if (t->tag_pending) {
        puts_(t, ">");
        t->tag_pending = false;
    }
    return t->status == CCAI_OK;
}

static void attr(Ccai_twiml *t, const char *name, const char *value)
{
    if (!value)
        return;
    puts_(t, " ");
    puts_(t, name);
    puts_(t, "=\"");
    escape(t, value, true);
    puts_(t, "\"");
}

static void attr_int(Ccai_twiml *t, const char *name, int value)
{
    if (value <= 0 || t->status != CCAI_OK)
        return;
    if (!Ccai_buf_puts(&t->buf, " ") || !Ccai_buf_puts(&t->buf, name) ||
        !Ccai_buf_puts(&t->buf, "=\"") || !Ccai_buf_put_i64(&t->buf, value) ||
        !Ccai_buf_puts(&t->buf, "\""))
        fail(t, CCAI_ERR_NOMEM);
}

static void attr_bool(Ccai_twiml *t, const char *name, Ccai_twiml_bool value)
{
    if (value != CCAI_TWIML_UNSET)
        attr(t, name, value == CCAI_TWIML_TRUE ? "true" : "false");
}

/* Finish an element whose start tag "<Name attrs" was written. */
static void close_with_text(Ccai_twiml *t, const char *name, const char *text)
{
    if (!text || !*text) {
        puts_(t, "/>");
        return;
    }
    puts_(t, ">");
    escape(t, text, false);
    puts_(t, "</");
    puts_(t, name);
    puts_(t, ">");
}

void Ccai_twiml_init(Ccai_twiml *t)
{
    memset(t, 0, sizeof *t);
    puts_(t, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response");
    t->tag_pending = true;
}

bool Ccai_twiml_voice_takes_prosody(const char *voice)
{
    if (!voice)
        return false;
    if (!strncmp(voice, "Polly.", 6))
        return !strstr(voice, "-Generative");
    if (!strncmp(voice, "Google.", 7))
        return !strstr(voice, "Chirp");
    return false;
}

void Ccai_twiml_say(Ccai_twiml *t, const char *text, const Ccai_twiml_say_opts *opts)
{
    if (!text) {
        fail(t, CCAI_ERR_INVALID_ARG);
        return;
    }
    if (!prepare(t, "RG"))
        return;
    puts_(t, "<Say");
    if (opts) {
        attr(t, "voice", opts->voice);
        attr(t, "language", opts->language);
    }
    /* Polly takes 20% .. 200% of its own rate; Google 25% .. 400%. */
    long pct = opts && opts->rate > 0 ? lround(opts->rate * 100.0) : 100;
    if (pct == 100 || !*text) {
        close_with_text(t, "Say", text);
        return;
    }
    pct = pct < 20 ? 20 : pct > 200 ? 200 : pct;
    char open_tag[40];
    snprintf(open_tag, sizeof open_tag, "><prosody rate=\"%ld%%\">", pct);
    puts_(t, open_tag);
    escape(t, text, false);
    puts_(t, "</prosody></Say>");
}

void Ccai_twiml_play(Ccai_twiml *t, const char *url, const char *digits)
{
    if (!url && !digits) {
        fail(t, CCAI_ERR_INVALID_ARG);
        return;
    }
    if (!prepare(t, "RG"))
        return;
    puts_(t, "<Play");
    attr(t, "digits", digits);
    close_with_text(t, "Play", url);
}

void Ccai_twiml_pause(Ccai_twiml *t, int seconds)
{
    if (!prepare(t, "RG"))
        return;
    puts_(t, "<Pause");
    attr_int(t, "length", seconds);
    puts_(t, "/>");
}

void Ccai_twiml_gather_begin(Ccai_twiml *t, const Ccai_twiml_gather_opts *opts)
{
    if (!prepare(t, "R"))
        return;
    puts_(t, "<Gather");
    if (opts) {
        attr(t, "input", opts->input);
        attr(t, "action", opts->action);
        attr(t, "method", opts->method);
        attr(t, "language", opts->language);
        attr(t, "hints", opts->hints);
        attr(t, "speechTimeout", opts->speech_timeout);
        attr_int(t, "timeout", opts->timeout);
        attr_int(t, "numDigits", opts->num_digits);
        attr(t, "finishOnKey", opts->finish_on_key);
        attr(t, "speechModel", opts->speech_model);
        attr(t, "partialResultCallback", opts->partial_result_callback);
        attr_bool(t, "bargeIn", opts->barge_in);
        attr_bool(t, "actionOnEmptyResult", opts->action_on_empty_result);
    }
    t->open = 'G';
    t->tag_pending = true;
}

static void end_element(Ccai_twiml *t, int which, const char *close_tag)
{
    if (t->status != CCAI_OK)
        return;
    if (t->finished || t->open != which) {
        fail(t, CCAI_ERR_STATE);
        return;
    }
    puts_(t, t->tag_pending ? "/>" : close_tag);
    t->tag_pending = false;
    t->open = 0;
}

void Ccai_twiml_gather_end(Ccai_twiml *t)
{
    end_element(t, 'G', "</Gather>");
}

void Ccai_twiml_dial_begin(Ccai_twiml *t, const Ccai_twiml_dial_opts *opts)
{
    if (!prepare(t, "R"))
        return;
    puts_(t, "<Dial");
    if (opts) {
        attr(t, "action", opts->action);
        attr(t, "method", opts->method);
        attr_int(t, "timeout", opts->timeout);
        attr(t, "callerId", opts->caller_id);
        attr(t, "record", opts->record);
        attr_int(t, "timeLimit", opts->time_limit);
        attr_bool(t, "answerOnBridge", opts->answer_on_bridge);
    }
    t->open = 'D';
    t->tag_pending = true;
}

void Ccai_twiml_number(Ccai_twiml *t, const char *number, const char *send_digits)
{
    if (!number) {
        fail(t, CCAI_ERR_INVALID_ARG);
        return;
    }
    if (!prepare(t, "D"))
        return;
    puts_(t, "<Number");
    attr(t, "sendDigits", send_digits);
    close_with_text(t, "Number", number);
}

void Ccai_twiml_dial_end(Ccai_twiml *t)
{
    end_element(t, 'D', "</Dial>");
}

void Ccai_twiml_redirect(Ccai_twiml *t, const char *url, const char *method)
{
    if (!url) {
        fail(t, CCAI_ERR_INVALID_ARG);
        return;
    }
    if (!prepare(t, "R"))
        return;
    puts_(t, "<Redirect");
    attr(t, "method", method);
    close_with_text(t, "Redirect", url);
}

void Ccai_twiml_connect_stream(Ccai_twiml *t, const char *url, const char *const *params)
{
    if (!url) {
        fail(t, CCAI_ERR_INVALID_ARG);
        return;
    }
    if (!prepare(t, "R"))
        return;
    puts_(t, "<Connect><Stream");
    attr(t, "url", url);
    if (!params || !params[0]) {
        puts_(t, "/></Connect>");
        return;
    }
    puts_(t, ">");
    for (const char *const *p = params; p[0] && p[1]; p += 2) {
        puts_(t, "<Parameter");
        attr(t, "name", p[0]);
        attr(t, "value", p[1]);
        puts_(t, "/>");
    }
    puts_(t, "</Stream></Connect>");
}

void Ccai_twiml_hangup(Ccai_twiml *t)
{
    if (prepare(t, "R"))
        puts_(t, "<Hangup/>");
}

void Ccai_twiml_reject(Ccai_twiml *t, const char *reason)
{
    if (!prepare(t, "R"))
        return;
    puts_(t, "<Reject");
    attr(t, "reason", reason);
    puts_(t, "/>");
}

ccai_status Ccai_twiml_finish(Ccai_twiml *t, char **ret_xml, size_t *ret_len)
{
    if (!ret_xml)
        fail(t, CCAI_ERR_INVALID_ARG);
    if (t->finished || t->open)
        fail(t, CCAI_ERR_STATE);
    if (t->status == CCAI_OK)
        puts_(t, t->tag_pending ? "/>" : "</Response>");
    t->finished = true;
    t->tag_pending = false;
    ccai_status st = t->status;
    if (st != CCAI_OK) {
        Ccai_buf_free(&t->buf);
        return st;
    }
    size_t len = t->buf.len;
    char *xml = Ccai_buf_steal(&t->buf);
    if (!xml) {
        t->status = CCAI_ERR_NOMEM;
        return CCAI_ERR_NOMEM;
    }
    *ret_xml = xml;
    if (ret_len)
        *ret_len = len;
    return CCAI_OK;
}

void Ccai_twiml_free(Ccai_twiml *t)
{
    if (t)
        Ccai_buf_free(&t->buf);
}
