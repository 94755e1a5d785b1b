/* SSML builder, sanitiser and chunker, see ssml.h. */
#include "tts/ssml.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Decode one UTF-8 sequence at s[0..avail): its length, 0 when invalid
 * (overlong, surrogate, above U+10FFFF, truncated). */
static size_t utf8_decode(const unsigned char *s, size_t avail, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v, min;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

static CCAI_MUST_CHECK bool allowed(uint32_t cp)
{
    if (cp < 0x80)
        return Ccai_is_alpha((int)cp) || Ccai_is_digit((int)cp) ||
               (cp && strchr("_'\"(),.!?;:-+@/&$%=", (int)cp) != NULL);
    if (cp >= 0xC0 && cp <= 0xFF)
        return cp != 0xD7 && cp != 0xF7;
    return cp == 0x20AC /* € */ || (cp >= 0x100 && cp <= 0x1FFF) ||
           (cp >= 0x3040 && cp <= 0x9FFF) || (cp >= 0xAC00 && cp <= 0xD7AF);
}

char *Ccai_ssml_sanitize(const char *text)
{
    if (!text)
        return NULL;
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text);
    char *out = Ccai_malloc(len + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    bool space = false; /* a space is pending before the next kept character */
    for (size_t i = 0; i < len;) {
        uint32_t cp = 0;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0 || !allowed(cp)) {
            space = true;
            i += n ? n : 1;
            continue;
        }
        if (space && o > 0)
            out[o++] = ' ';
        space = false;
        memcpy(out + o, s + i, n);
        o += n;
        i += n;
    }
    out[o] = '\0';
    return out;
}

void Ccai_ssml_chunks_free(char **chunks)
{
    if (!chunks)
        return;
    for (size_t i = 0; chunks[i]; i++)
        ccai_free(chunks[i]);
    ccai_free(chunks);
}

typedef struct chunker {
    size_t max;
    char **chunks;
    size_t n, cap;
    Ccai_buf cur;
    bool nomem;
} chunker;

static void flush(chunker *c)
{
    if (c->nomem || c->cur.len == 0)
        return;
    if (c->n + 2 > c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        char **grown = Ccai_realloc(c->chunks, cap * sizeof *grown);
        if (!grown) {
            c->nomem = true;
            return;
        }
        c->chunks = grown;
        c->cap = cap;
    }
    char *s = Ccai_buf_steal(&c->cur);
    if (!s) {
        c->nomem = true;
        return;
    }
    c->chunks[c->n++] = s;
    c->chunks[c->n] = NULL;
}

static void trim(const char **s, size_t *len)
{
    while (*len && Ccai_is_space((unsigned char)**s))
        (*s)++, (*len)--;
    while (*len && Ccai_is_space((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

/* Add one trimmed, non-empty sentence. */
static void add_sentence(chunker *c, const char *s, size_t len)
{
    if (c->cur.len && c->cur.len + 1 + len < c->max) {
        if (!Ccai_buf_append(&c->cur, " ", 1) || !Ccai_buf_append(&c->cur, s, len))
            c->nomem = true;
        return;
    }
    flush(c);
    while (len >= c->max && !c->nomem) {
        size_t cut = c->max - 1, next;
        size_t sp = cut;
        while (sp > 0 && !Ccai_is_space((unsigned char)s[sp]))
            sp--;
        if (sp > 0) {
            cut = sp;
            next = sp;
        } else {
            /* No space: back up to a UTF-8 lead byte. */
            while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
                cut--;
            if (cut == 0)
                cut = c->max - 1; /* invalid UTF-8: a run of continuation bytes */
            next = cut;
        }
        const char *piece = s;
        size_t plen = cut;
        trim(&piece, &plen);
        if (plen && !Ccai_buf_append(&c->cur, piece, plen))
            c->nomem = true;
        flush(c);
        s += next;
        len -= next;
        trim(&s, &len);
    }
    if (len && !c->nomem && !Ccai_buf_append(&c->cur, s, len))
        c->nomem = true;
}

ccai_status Ccai_ssml_chunk(const char *text, size_t max, char ***ret_chunks, size_t *ret_n)
{
    if (!text || !ret_chunks || !ret_n || (max && max < 8))
        return CCAI_ERR_INVALID_ARG;
    chunker c = {max ? max : CCAI_SSML_CHUNK_MAX, NULL, 0, 0, {NULL, 0, 0}, false};
    size_t len = strlen(text);
    size_t start = 0;
    for (size_t i = 0; i <= len && !c.nomem; i++) {
        bool end = i == len;
        if (!end && (text[i] == '.' || text[i] == '!' || text[i] == '?') &&
            (i + 1 == len || Ccai_is_space((unsigned char)text[i + 1]))) {
            i++;
            end = true;
        }
        if (!end)
            continue;
        const char *s = text + start;
        size_t slen = i - start;
        trim(&s, &slen);
        if (slen)
            add_sentence(&c, s, slen);
        start = i;
    }
    flush(&c);
    if (!c.nomem && !c.chunks) {
        c.chunks = Ccai_calloc(1, sizeof *c.chunks);
        if (!c.chunks)
            c.nomem = true;
    }
    Ccai_buf_free(&c.cur);
    if (c.nomem) {
        Ccai_ssml_chunks_free(c.chunks);
        return CCAI_ERR_NOMEM;
    }
    *ret_chunks = c.chunks;
    *ret_n = c.n;
    return CCAI_OK;
}

static CCAI_MUST_CHECK bool escape(Ccai_buf *b, const char *s, bool attr)
{
    for (; *s; s++) {
        bool ok;
        /* Control characters are not XML 1.0: a space instead. */
        if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r') {
            if (!Ccai_buf_puts(b, " "))
                return false;
            continue;
        }
        switch (*s) {
        case '&': ok = Ccai_buf_puts(b, "&amp;"); break;
        case '<': ok = Ccai_buf_puts(b, "&lt;"); break;
        case '>': ok = Ccai_buf_puts(b, "&gt;"); break;
        case '"': ok = attr ? Ccai_buf_puts(b, "&quot;") : Ccai_buf_append(b, s, 1); break;
        default: ok = Ccai_buf_append(b, s, 1); break;
        }
        if (!ok)
            return false;
    }
    return true;
}

static CCAI_MUST_CHECK bool attr(Ccai_buf *b, const char *name, const char *value)
{
    return Ccai_buf_printf(b, " %s=\"", name) && escape(b, value, true) && Ccai_buf_puts(b, "\"");
}

ccai_status Ccai_ssml_lexicon(const json_t *entries, const char *lang, char **ret_xml)
{
    if (!lang || !*lang || !ret_xml)
        return CCAI_ERR_INVALID_ARG;
    Ccai_buf b = {0};
    bool ok = Ccai_buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<lexicon "
                                "version=\"1.0\" xmlns=\"http://www.w3.org/2005/01/"
                                "pronunciation-lexicon\" alphabet=\"ipa\"") &&
              attr(&b, "xml:lang", lang) && Ccai_buf_puts(&b, ">\n");
    size_t i, n = 0;
    const json_t *e;
    json_array_foreach(entries, i, e)
    {
        const char *g = json_string_value(json_object_get(e, "grapheme"));
        const char *a = json_string_value(json_object_get(e, "alias"));
        const char *l = json_string_value(json_object_get(e, "lang"));
        if (!ok || !g || !a || (l && Ccai_strcasecmp(l, lang) != 0))
            continue;
        ok = Ccai_buf_puts(&b, "<lexeme><grapheme>") && escape(&b, g, false) &&
             Ccai_buf_puts(&b, "</grapheme><alias>") && escape(&b, a, false) &&
             Ccai_buf_puts(&b, "</alias></lexeme>\n");
        n++;
    }
    ok = ok && Ccai_buf_puts(&b, "</lexicon>\n");
    if (!ok) {
        Ccai_buf_free(&b);
        return CCAI_ERR_NOMEM;
    }
    *ret_xml = Ccai_buf_steal(&b);
    return *ret_xml ? CCAI_OK : CCAI_ERR_NOMEM;
}

/* One <voice> element: the part's text in its language and voice. */
static CCAI_MUST_CHECK bool voice_part(Ccai_buf *b, const char *text, const Ccai_ssml_opts *opts)
{
    char *clean = Ccai_ssml_sanitize(text);
    if (!clean)
        return false;
    double rate = opts->prosody_rate == 0 ? 1.0 : opts->prosody_rate;
    if (rate < CCAI_SSML_RATE_MIN)
        rate = CCAI_SSML_RATE_MIN;
    if (rate > CCAI_SSML_RATE_MAX)
        rate = CCAI_SSML_RATE_MAX;
    long pct = lround((rate - 1.0) * 100.0);
    /* Formatted by hand: %g would follow the host's LC_NUMERIC. */
    int deg = (int)lround((opts->style_degree == 0 ? 0.5 : opts->style_degree) * 100.0);
    char degree[32];
    if (deg % 100 == 0)
        snprintf(degree, sizeof degree, "%d", deg / 100);
    else if (deg % 10 == 0)
        snprintf(degree, sizeof degree, "%d.%d", deg / 100, deg % 100 / 10);
    else
        snprintf(degree, sizeof degree, "%d.%02d", deg / 100, deg % 100);
    const char *style = opts->style == CCAI_SSML_STYLE_CHEERFUL ? "cheerful"
                        : opts->style == CCAI_SSML_STYLE_SAD    ? "sad"
                                                                : NULL;
    bool ok =
        Ccai_buf_puts(b, "<voice") && attr(b, "name", opts->voice) &&
        (!opts->voice_effect || attr(b, "effect", opts->voice_effect)) && Ccai_buf_puts(b, ">") &&
        (!opts->lexicon_uri || (Ccai_buf_puts(b, "<lexicon") && attr(b, "uri", opts->lexicon_uri) &&
                                Ccai_buf_puts(b, "/>"))) &&
        Ccai_buf_puts(b, "<lang") && attr(b, "xml:lang", opts->lang) && Ccai_buf_puts(b, ">") &&
        (!style ||
         Ccai_buf_printf(b, "<mstts:express-as style=\"%s\" styledegree=\"%s\">", style, degree)) &&
        Ccai_buf_printf(b, "<prosody rate=\"%+ld%%\">", pct) && escape(b, clean, false) &&
        Ccai_buf_puts(b, "</prosody>") && (!style || Ccai_buf_puts(b, "</mstts:express-as>")) &&
        Ccai_buf_puts(b, "</lang></voice>");
    ccai_free(clean);
    return ok;
}

static CCAI_MUST_CHECK bool opts_valid(const Ccai_ssml_opts *o)
{
    return o && o->lang && o->voice && o->style_degree >= 0 && o->style_degree <= 2 &&
           !isnan(o->prosody_rate);
}

ccai_status Ccai_ssml_build_multi(const char *const *texts, const Ccai_ssml_opts *opts, size_t n,
                                  char **ret_ssml)
{
    if (!texts || !opts || n == 0 || !ret_ssml)
        return CCAI_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        if (!texts[i] || !opts_valid(&opts[i]))
            return CCAI_ERR_INVALID_ARG;
    }
    Ccai_buf b = {NULL, 0, 0};
    bool ok = Ccai_buf_puts(&b, "<speak version=\"1.0\" "
                                "xmlns=\"http://www.w3.org/2001/10/synthesis\" "
                                "xmlns:mstts=\"http://www.w3.org/2001/mstts\"") &&
              attr(&b, "xml:lang", opts[0].lang) && Ccai_buf_puts(&b, ">");
    for (size_t i = 0; ok && i < n; i++)
        ok = voice_part(&b, texts[i], &opts[i]);
    ok = ok && Ccai_buf_puts(&b, "</speak>");
    char *out = ok ? Ccai_buf_steal(&b) : NULL;
    Ccai_buf_free(&b);
    if (!out)
        return CCAI_ERR_NOMEM;
    *ret_ssml = out;
    return CCAI_OK;
}

ccai_status Ccai_ssml_build(const char *text, const Ccai_ssml_opts *opts, char **ret_ssml)
{
    if (!text || !opts_valid(opts) || !ret_ssml)
        return CCAI_ERR_INVALID_ARG;
    return Ccai_ssml_build_multi(&text, opts, 1, ret_ssml);
}
