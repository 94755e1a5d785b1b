/* Text and minimal SSML for the offline voices (see tts_text.h). */
#include "speech/tts_text.h"

#include <stdlib.h>
#include <string.h>

typedef struct parser {
    Ccai_synth_text *out;
    Ccai_buf cur; /* the piece being built */
    double rate;  /* of cur */
    double base;
    double stack[CCAI_SYNTH_NEST_MAX];
    size_t depth;     /* <prosody> levels with a rate on the stack */
    size_t unstacked; /* deeper <prosody> levels, ignored */
    bool oom;
} parser;

static double clamp_rate(double r)
{
    return r < CCAI_SYNTH_RATE_MIN   ? CCAI_SYNTH_RATE_MIN
           : r > CCAI_SYNTH_RATE_MAX ? CCAI_SYNTH_RATE_MAX
                                     : r;
}

static double current_rate(const parser *P)
{
    return clamp_rate(P->base * (P->depth ? P->stack[P->depth - 1] : 1.0));
}

bool Ccai_synth_rate_parse(const char *s, size_t len, double *ret)
{
    static const struct {
        const char *name;
        double rate;
    } named[] = {{"x-slow", 0.6},  {"slow", 0.8},  {"medium", 1.0},
                 {"default", 1.0}, {"fast", 1.25}, {"x-fast", 1.6}};
    while (len && Ccai_is_space((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len && Ccai_is_space((unsigned char)s[len - 1]))
        len--;
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(named); i++)
        if (strlen(named[i].name) == len && strncmp(s, named[i].name, len) == 0) {
            *ret = named[i].rate;
            return true;
        }
    if (len == 0 || len > 16)
        return false;
    char buf[17];
    memcpy(buf, s, len);
    buf[len] = '\0';
    bool pct = buf[len - 1] == '%';
    if (pct)
        buf[--len] = '\0';
    bool sign = buf[0] == '+' || buf[0] == '-';
    /* digits with at most one dot after the optional sign */
    size_t digits = 0, dots = 0;
    for (size_t i = sign; i < len; i++) {
        if (Ccai_is_digit((unsigned char)buf[i]))
            digits++;
        else if (buf[i] == '.')
            dots++;
        else
            return false;
    }
    if (!digits || dots > 1)
        return false;
    double v = strtod(buf, NULL);
    if (pct)
        v = sign ? 1.0 + v / 100.0 : v / 100.0;
    else if (sign)
        return false; /* "+2" means nothing */
    if (!(v > 0))
        return false;
    *ret = v;
    return true;
}

void Ccai_synth_text_clear(Ccai_synth_text *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        ccai_free(t->v[i].text);
    ccai_free(t->v);
    memset(t, 0, sizeof *t);
}

/* Emit s[0..len) (trimmed) as a piece at rate. */
static void push_piece(parser *P, const char *s, size_t len, double rate)
{
    while (len && s[0] == ' ') {
        s++;
        len--;
    }
    while (len && s[len - 1] == ' ')
        len--;
    /* Nothing to say: only spaces and punctuation. */
    bool speakable = false;
    for (size_t i = 0; i < len && !speakable; i++)
        speakable = Ccai_is_alpha((unsigned char)s[i]) || Ccai_is_digit((unsigned char)s[i]) ||
                    (unsigned char)s[i] >= 0x80;
    if (!speakable || P->oom)
        return;
    Ccai_synth_text *t = P->out;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        Ccai_synth_piece *v = Ccai_realloc(t->v, cap * sizeof *v);
        if (!v) {
            P->oom = true;
            return;
        }
        t->v = v;
        t->cap = cap;
    }
    char *text = Ccai_strndup(s, len);
    if (!text) {
        P->oom = true;
        return;
    }
    t->v[t->n].text = text;
    t->v[t->n].rate = rate;
    t->n++;
}

/* Close the piece being built, cutting it into CCAI_SYNTH_PIECE_MAX parts. */
static void flush(parser *P)
{
    const char *s = P->cur.data ? P->cur.data : "";
    size_t len = P->cur.len;
    while (len > CCAI_SYNTH_PIECE_MAX) {
        size_t cut = 0;
        for (size_t i = CCAI_SYNTH_PIECE_MAX; i > CCAI_SYNTH_PIECE_MAX / 2 && !cut; i--)
            if (s[i] == ' ' && s[i - 1] == ',')
                cut = i;
        for (size_t i = CCAI_SYNTH_PIECE_MAX; i > 0 && !cut; i--)
            if (s[i] == ' ')
                cut = i;
        if (!cut) {
            /* One long word: cut at a UTF-8 character boundary. */
            cut = CCAI_SYNTH_PIECE_MAX;
            while (cut > 1 && ((unsigned char)s[cut] & 0xC0) == 0x80)
                cut--;
        }
        push_piece(P, s, cut, P->rate);
        s += cut;
        len -= cut;
    }
    push_piece(P, s, len, P->rate);
    Ccai_buf_reset(&P->cur);
}

static void put(parser *P, const char *s, size_t len)
{
    if (P->oom)
        return;
    if (P->cur.len == 0) {
        P->rate = current_rate(P);
        if (len == 1 && s[0] == ' ')
            return;
    } else if (len == 1 && s[0] == ' ' && P->cur.data[P->cur.len - 1] == ' ') {
        return;
    }
    if (!Ccai_buf_append(&P->cur, s, len))
        P->oom = true;
}

/* The rate changed: what was said so far keeps its own. */
static void rate_changed(parser *P)
{
    if (P->cur.len && current_rate(P) != P->rate)
        flush(P);
}

/* Length of the valid UTF-8 sequence at s (at most len bytes), 0 when
 * invalid. */
static size_t utf8_len(const unsigned char *s, size_t len)
{
    size_t n;
    uint32_t min;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2;
        min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3;
        min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    uint32_t cp = s[0] & (0x7F >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static void put_codepoint(parser *P, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
        put(P, " ", 1);
        return;
    }
    n = Ccai_utf8_encode(cp, b);
    put(P, b, n);
}

/* An entity at s ('&'): its length when decoded into P, else 0. */
static size_t entity(parser *P, const char *s, size_t len)
{
    static const struct {
        const char *name;
        char c;
    } named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(named); i++) {
        size_t n = strlen(named[i].name);
        if (len > n && strncmp(s + 1, named[i].name, n) == 0) {
            put(P, &named[i].c, 1);
            return n + 1;
        }
    }
    if (len < 4 || s[1] != '#')
        return 0;
    bool hex = s[2] == 'x' || s[2] == 'X';
    size_t i = hex ? 3 : 2;
    uint32_t cp = 0;
    size_t digits = 0;
    for (; i < len && i < 12 && s[i] != ';'; i++, digits++) {
        unsigned char c = (unsigned char)s[i];
        int d = Ccai_is_digit(c)              ? c - '0'
                : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                              : -1;
        if (d < 0)
            return 0;
        cp = cp * (hex ? 16 : 10) + (uint32_t)d;
    }
    if (!digits || i >= len || s[i] != ';' || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) ||
        cp == 0)
        return 0;
    put_codepoint(P, cp);
    return i + 1;
}

static bool name_start(unsigned char c)
{
    return Ccai_is_alpha(c) || c == '_';
}

static bool name_char(unsigned char c)
{
    return Ccai_is_alpha(c) || Ccai_is_digit(c) || c == '_' || c == '-' || c == ':' || c == '.';
}

/* The value of attribute attr in a tag's attribute text, or false. */
static bool attribute(const char *a, size_t len, const char *attr, const char **ret,
                      size_t *ret_len)
{
    size_t alen = strlen(attr);
    for (size_t i = 0; i + alen < len; i++) {
        if ((i > 0 && name_char((unsigned char)a[i - 1])) || strncmp(a + i, attr, alen) != 0)
            continue;
        size_t j = i + alen;
        while (j < len && Ccai_is_space((unsigned char)a[j]))
            j++;
        if (j >= len || a[j] != '=')
            continue;
        j++;
        while (j < len && Ccai_is_space((unsigned char)a[j]))
            j++;
        if (j >= len || (a[j] != '"' && a[j] != '\''))
            continue;
        char q = a[j++];
        const char *v = a + j;
        const char *e = memchr(v, q, len - j);
        if (!e)
            return false;
        *ret = v;
        *ret_len = (size_t)(e - v);
        return true;
    }
    return false;
}

static bool tag_is(const char *name, size_t len, const char *want)
{
    /* "prosody" also with a namespace prefix: "ssml:prosody" */
    const char *colon = memchr(name, ':', len);
    if (colon) {
        len -= (size_t)(colon + 1 - name);
        name = colon + 1;
    }
    return strlen(want) == len && strncmp(name, want, len) == 0;
}

/* Removed markup joins the text around it ("a<!-- x -->b" is "ab", as in
 * XML), except after a literal '<': "<" + "<prosody>" + "!--" must not
 * become a comment's opening in what is said. */
static void after_literal_lt(parser *P)
{
    if (P->cur.len && P->cur.data[P->cur.len - 1] == '<')
        put(P, " ", 1);
}

/* A tag, comment or processing instruction at s ('<'): its length when
 * handled, 0 when s is a literal '<'. */
static size_t markup(parser *P, const char *s, size_t len)
{
    if (len >= 4 && strncmp(s, "<!--", 4) == 0) {
        for (size_t i = 4; i + 2 < len; i++)
            if (strncmp(s + i, "-->", 3) == 0)
                return i + 3;
        return len; /* an unclosed comment hides the rest */
    }
    if (len >= 2 && (s[1] == '?' || s[1] == '!')) {
        const char *e = memchr(s, '>', len);
        return e ? (size_t)(e - s) + 1 : 0;
    }
    size_t i = 1;
    bool closing = i < len && s[i] == '/';
    if (closing)
        i++;
    if (i >= len || !name_start((unsigned char)s[i]))
        return 0;
    const char *name = s + i;
    while (i < len && name_char((unsigned char)s[i]))
        i++;
    size_t name_len = (size_t)(s + i - name);
    if (i < len && !Ccai_is_space((unsigned char)s[i]) && s[i] != '>' && s[i] != '/')
        return 0;
    /* The end of the tag, outside quoted values. */
    const char *attrs = s + i;
    char quote = 0;
    for (; i < len; i++) {
        if (quote) {
            if (s[i] == quote)
                quote = 0;
        } else if (s[i] == '"' || s[i] == '\'') {
            quote = s[i];
        } else if (s[i] == '>') {
            break;
        }
    }
    if (i >= len)
        return 0;
    size_t attrs_len = (size_t)(s + i - attrs);
    bool self_closing = attrs_len && attrs[attrs_len - 1] == '/';
    if (tag_is(name, name_len, "prosody") && !self_closing) {
        if (closing) {
            if (P->unstacked) {
                P->unstacked--;
            } else if (P->depth) {
                P->depth--;
                rate_changed(P);
            }
        } else {
            const char *v;
            size_t vlen;
            double r = 1.0;
            if (!attribute(attrs, attrs_len, "rate", &v, &vlen) ||
                !Ccai_synth_rate_parse(v, vlen, &r))
                r = 1.0;
            if (P->depth < CCAI_SYNTH_NEST_MAX && !P->unstacked) {
                double outer = P->depth ? P->stack[P->depth - 1] : 1.0;
                P->stack[P->depth++] = outer * r;
                rate_changed(P);
            } else {
                P->unstacked++;
            }
        }
    } else if (tag_is(name, name_len, "s") || tag_is(name, name_len, "p") ||
               tag_is(name, name_len, "break") || tag_is(name, name_len, "speak")) {
        flush(P);
    } else {
        put(P, " ", 1); /* a tag separates words */
    }
    return i + 1;
}

static bool sentence_end(char c)
{
    return c == '.' || c == '!' || c == '?' || c == ';' || c == ':';
}

ccai_status Ccai_synth_text_parse(const char *text, size_t len, double base_rate,
                                  Ccai_synth_text *ret)
{
    if (!ret || (!text && len) || !(base_rate >= CCAI_SYNTH_RATE_MIN) ||
        !(base_rate <= CCAI_SYNTH_RATE_MAX))
        return CCAI_ERR_INVALID_ARG;
    if (len > CCAI_SYNTH_TEXT_MAX)
        return CCAI_ERR_LIMIT;
    parser P;
    memset(&P, 0, sizeof P);
    P.out = ret;
    P.base = base_rate;
    size_t i = 0;
    while (i < len && !P.oom) {
        unsigned char c = (unsigned char)text[i];
        size_t n;
        if (c == '<' && (n = markup(&P, text + i, len - i)) > 0) {
            i += n;
            after_literal_lt(&P);
        } else if (c == '&' && (n = entity(&P, text + i, len - i)) > 0) {
            i += n;
        } else if (c == '\n' && i + 1 < len && text[i + 1] == '\n') {
            flush(&P);
            i += 2;
        } else if (c < 0x20 || c == 0x7F) {
            put(&P, " ", 1);
            i++;
        } else if (c >= 0x80) {
            n = utf8_len((const unsigned char *)text + i, len - i);
            if (n)
                put(&P, text + i, n);
            else
                put(&P, " ", 1);
            i += n ? n : 1;
        } else {
            put(&P, text + i, 1);
            i++;
            if (sentence_end((char)c) && (i == len || Ccai_is_space((unsigned char)text[i])))
                flush(&P);
        }
    }
    if (!P.oom)
        flush(&P);
    Ccai_buf_free(&P.cur);
    return P.oom ? CCAI_ERR_NOMEM : CCAI_OK;
}
