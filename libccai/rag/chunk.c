/* Documents into chunks (rag/chunk.h): the text of a Markdown, HTML or
 * plain-text document as blocks (headings and paragraphs), then sections
 * by heading, cut into chunks with overlap. */
#include "rag/chunk.h"

#include <string.h>

/* Blocks ------------------------------------------------------------------- */

typedef struct block {
    int level; /* 1..6: a heading; 0: a paragraph */
    char *text;
} block;

typedef struct parser {
    Ccai_buf cur; /* the block being read */
    int cur_level;
    block *v;
    size_t n, cap;
    char *title, *lang;
    bool nomem;
    size_t text_bytes; /* of every block: bounds the chunks */
} parser;

static bool is_blank(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The length of the valid UTF-8 sequence at s[0..len), 0 when none. */
static size_t utf8_seq(const unsigned char *s, size_t len)
{
    unsigned c = s[0];
    size_t n;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        min = 0x10000;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    unsigned cp = c & (0xFFu >> (n + 1));
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

static void put_utf8(parser *p, unsigned cp)
{
    char b[4];
    size_t n;
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    n = Ccai_utf8_encode(cp, b);
    if (!Ccai_buf_append(&p->cur, b, n))
        p->nomem = true;
}

/* Append text to the current block, whitespace runs as one space (a
 * newline kept as such when keep_lines), invalid UTF-8 as U+FFFD. */
static void put_text(parser *p, const char *s, size_t len, bool keep_lines)
{
    for (size_t i = 0; i < len && !p->nomem;) {
        unsigned char c = (unsigned char)s[i];
        if (is_blank(c)) {
            bool nl = false;
            while (i < len && is_blank((unsigned char)s[i])) {
                nl = nl || s[i] == '\n';
                i++;
            }
            char last = p->cur.len ? p->cur.data[p->cur.len - 1] : '\n';
            if (keep_lines && nl && last != '\n') {
                if (last == ' ')
                    p->cur.data[--p->cur.len] = '\0';
                if (!Ccai_buf_puts(&p->cur, "\n"))
                    p->nomem = true;
            } else if (last != ' ' && last != '\n' && !Ccai_buf_puts(&p->cur, " ")) {
                p->nomem = true;
            }
            continue;
        }
        size_t n = utf8_seq((const unsigned char *)s + i, len - i);
        if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7F))) {
            if (n == 0)
                put_utf8(p, 0xFFFD);
            i++;
            continue;
        }
        if (!Ccai_buf_append(&p->cur, s + i, n))
            p->nomem = true;
        i += n;
    }
}

/* End the current block: kept when it has text. */
static void flush(parser *p)
{
    size_t b = 0, e = p->cur.len;
    const char *d = p->cur.data;
    while (b < e && is_blank((unsigned char)d[b]))
        b++;
    while (e > b && is_blank((unsigned char)d[e - 1]))
        e--;
    if (e > b && !p->nomem) {
        if (p->n == p->cap) {
            size_t cap = p->cap ? p->cap * 2 : 32;
            block *v = Ccai_realloc(p->v, cap * sizeof *v);
            if (!v) {
                p->nomem = true;
                goto out;
            }
            p->v = v;
            p->cap = cap;
        }
        size_t len = e - b;
        if (p->cur_level > 0 && len > CCAI_DOC_MAX_HEADING) {
            len = CCAI_DOC_MAX_HEADING;
            while (len > 0 && ((unsigned char)d[b + len] & 0xC0) == 0x80)
                len--;
        }
        char *text = Ccai_strndup(d + b, len);
        if (!text) {
            p->nomem = true;
            goto out;
        }
        p->v[p->n++] = (block){p->cur_level, text};
        p->text_bytes += len;
    }
out:
    Ccai_buf_reset(&p->cur);
    p->cur_level = 0;
}

static void set_meta(parser *p, char **slot, const char *s, size_t len)
{
    while (len && is_blank((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len && is_blank((unsigned char)s[len - 1]))
        len--;
    if (len >= 2 && (s[0] == '"' || s[0] == '\'') && s[len - 1] == s[0]) {
        s++;
        len -= 2;
    }
    if (*slot || len == 0)
        return;
    /* Through a block of its own: UTF-8 made valid, blanks folded. */
    Ccai_buf saved = p->cur;
    p->cur = (Ccai_buf){0};
    put_text(p, s, len > CCAI_DOC_MAX_HEADING ? CCAI_DOC_MAX_HEADING : len, false);
    if (!p->nomem && p->cur.len) {
        while (p->cur.len && ((unsigned char)p->cur.data[p->cur.len - 1] & 0xC0) == 0xC0)
            p->cur.data[--p->cur.len] = '\0'; /* a sequence cut at the limit */
        *slot = Ccai_buf_steal(&p->cur);
        if (!*slot)
            p->nomem = true;
    }
    Ccai_buf_free(&p->cur);
    p->cur = saved;
}

/* Entities ------------------------------------------------------------------ */

static const struct {
    const char *name;
    unsigned cp;
} entities[] = {
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},       {"quot", '"'},      {"apos", '\''},
    {"nbsp", 0xA0},    {"eacute", 0xE9},  {"Eacute", 0xC9},  {"egrave", 0xE8},   {"Egrave", 0xC8},
    {"ecirc", 0xEA},   {"Ecirc", 0xCA},   {"euml", 0xEB},    {"agrave", 0xE0},   {"Agrave", 0xC0},
    {"acirc", 0xE2},   {"Acirc", 0xC2},   {"auml", 0xE4},    {"ccedil", 0xE7},   {"Ccedil", 0xC7},
    {"icirc", 0xEE},   {"iuml", 0xEF},    {"ocirc", 0xF4},   {"ouml", 0xF6},     {"ucirc", 0xFB},
    {"ugrave", 0xF9},  {"uuml", 0xFC},    {"oelig", 0x153},  {"aacute", 0xE1},   {"iacute", 0xED},
    {"oacute", 0xF3},  {"uacute", 0xFA},  {"ntilde", 0xF1},  {"Ntilde", 0xD1},   {"szlig", 0xDF},
    {"laquo", 0xAB},   {"raquo", 0xBB},   {"lsquo", 0x2018}, {"rsquo", 0x2019},  {"ldquo", 0x201C},
    {"rdquo", 0x201D}, {"ndash", 0x2013}, {"mdash", 0x2014}, {"hellip", 0x2026}, {"euro", 0x20AC},
    {"copy", 0xA9},    {"reg", 0xAE},     {"trade", 0x2122}, {"deg", 0xB0},      {"middot", 0xB7},
    {"bull", 0x2022},  {"times", 0xD7},   {"sect", 0xA7},    {"para", 0xB6},     {"pound", 0xA3},
    {"yen", 0xA5},     {"cent", 0xA2},    {"shy", 0xAD},     {"thinsp", 0x2009}, {"ensp", 0x2002},
    {"emsp", 0x2003},  {"iexcl", 0xA1},   {"iquest", 0xBF},  {"frac12", 0xBD},
};

/* An entity at s[0..len) (s[0] == '&'): its code point and length, or 0. */
static size_t entity(const char *s, size_t len, unsigned *cp)
{
    size_t i = 1;
    if (i < len && s[i] == '#') {
        unsigned v = 0;
        bool hex = i + 1 < len && (s[i + 1] == 'x' || s[i + 1] == 'X');
        i += hex ? 2 : 1;
        size_t start = i;
        while (i < len && i - start < 8) {
            char c = s[i];
            int d = Ccai_is_digit(c)              ? c - '0'
                    : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                  : -1;
            if (d < 0)
                break;
            v = v * (hex ? 16u : 10u) + (unsigned)d;
            i++;
        }
        if (i == start)
            return 0;
        *cp = v;
        return i < len && s[i] == ';' ? i + 1 : i;
    }
    size_t start = i;
    while (i < len && i - start < 10 && (Ccai_is_alpha(s[i]) || Ccai_is_digit(s[i])))
        i++;
    if (i == start || i >= len || s[i] != ';')
        return 0;
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(entities); k++) {
        if (strlen(entities[k].name) == i - start &&
            memcmp(entities[k].name, s + start, i - start) == 0) {
            *cp = entities[k].cp;
            return i + 1;
        }
    }
    return 0;
}

/* Text with entities decoded (HTML, and Markdown's inline HTML). */
static void put_decoded(parser *p, const char *s, size_t len, bool keep_lines)
{
    size_t run = 0;
    for (size_t i = 0; i < len;) {
        unsigned cp;
        size_t n = s[i] == '&' ? entity(s + i, len - i, &cp) : 0;
        if (n == 0) {
            i++;
            continue;
        }
        put_text(p, s + run, i - run, keep_lines);
        /* Spaces of all widths are a space; control characters (C0, DEL,
         * C1) and the soft hyphen are no text. */
        if (cp == 0xA0 || cp == 0x2002 || cp == 0x2003 || cp == 0x2009 || cp == '\t' ||
            cp == '\n' || cp == '\r')
            put_text(p, " ", 1, keep_lines);
        else if (cp >= 0x20 && !(cp >= 0x7F && cp <= 0x9F) && cp != 0xAD)
            put_utf8(p, cp);
        i += n;
        run = i;
    }
    put_text(p, s + run, len - run, keep_lines);
}

/* HTML ---------------------------------------------------------------------- */

static bool name_is(const char *name, size_t n, const char *want)
{
    return strlen(want) == n && memcmp(name, want, n) == 0;
}

static bool is_block_tag(const char *name, size_t n)
{
    static const char *const tags[] = {
        "p",          "div",     "br",      "li",      "ul",      "ol",      "tr",       "td",
        "th",         "table",   "section", "article", "main",    "header",  "footer",   "aside",
        "blockquote", "pre",     "dd",      "dt",      "dl",      "hr",      "form",     "figure",
        "figcaption", "address", "body",    "caption", "details", "summary", "fieldset", "tbody",
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(tags); i++)
        if (name_is(name, n, tags[i]))
            return true;
    return false;
}

/* The value of attribute attr in a tag's text (after its name), or NULL. */
static bool attr_value(const char *s, size_t len, const char *attr, const char **ret, size_t *ret_n)
{
    size_t alen = strlen(attr);
    for (size_t i = 0; i < len;) {
        while (i < len && (is_blank((unsigned char)s[i]) || s[i] == '/'))
            i++;
        size_t ns = i;
        while (i < len && !is_blank((unsigned char)s[i]) && s[i] != '=' && s[i] != '/')
            i++;
        size_t nl = i - ns;
        while (i < len && is_blank((unsigned char)s[i]))
            i++;
        const char *v = NULL;
        size_t vn = 0;
        if (i < len && s[i] == '=') {
            i++;
            while (i < len && is_blank((unsigned char)s[i]))
                i++;
            if (i < len && (s[i] == '"' || s[i] == '\'')) {
                char q = s[i++];
                v = s + i;
                while (i < len && s[i] != q)
                    i++;
                vn = (size_t)(s + i - v);
                if (i < len)
                    i++;
            } else {
                v = s + i;
                while (i < len && !is_blank((unsigned char)s[i]))
                    i++;
                vn = (size_t)(s + i - v);
            }
        }
        if (nl == alen && v) {
            bool same = true;
            for (size_t k = 0; k < nl && same; k++)
                same = Ccai_to_lower((unsigned char)s[ns + k]) == attr[k];
            if (same) {
                *ret = v;
                *ret_n = vn;
                return true;
            }
        }
        if (nl == 0 && i < len && s[i] != '=')
            i++; /* a stray byte: on */
    }
    return false;
}

/* Skip to the end of the element that holds raw text (script, style...):
 * the index after its end tag, or len. */
static size_t skip_raw(const char *s, size_t len, size_t i, const char *name)
{
    size_t nl = strlen(name);
    for (; i + 2 + nl <= len; i++) {
        if (s[i] != '<' || s[i + 1] != '/')
            continue;
        bool same = true;
        for (size_t k = 0; k < nl && same; k++)
            same = Ccai_to_lower((unsigned char)s[i + 2 + k]) == name[k];
        if (same) {
            const char *gt = memchr(s + i, '>', len - i);
            return gt ? (size_t)(gt - s) + 1 : len;
        }
    }
    return len;
}

static void parse_html(parser *p, const char *s, size_t len)
{
    size_t i = 0, text = 0;
    bool in_title = false;
    Ccai_buf title = {0};
    while (i < len && !p->nomem) {
        if (s[i] != '<') {
            i++;
            continue;
        }
        /* The text before the tag. */
        if (in_title) {
            if (!Ccai_buf_append(&title, s + text, i - text))
                p->nomem = true;
        } else {
            put_decoded(p, s + text, i - text, false);
        }
        if (i + 3 < len && memcmp(s + i, "<!--", 4) == 0) {
            const char *end = NULL;
            for (size_t k = i + 4; k + 3 <= len; k++) {
                if (memcmp(s + k, "-->", 3) == 0) {
                    end = s + k + 3;
                    break;
                }
            }
            i = end ? (size_t)(end - s) : len;
            text = i;
            continue;
        }
        const char *gt = memchr(s + i, '>', len - i);
        size_t tag_end = gt ? (size_t)(gt - s) : len;
        size_t k = i + 1;
        bool closing = k < len && s[k] == '/';
        if (closing)
            k++;
        size_t ns = k;
        char name[16];
        size_t nl = 0;
        while (k < tag_end && (Ccai_is_alpha(s[k]) || Ccai_is_digit(s[k]))) {
            if (nl < sizeof name)
                name[nl++] = (char)Ccai_to_lower((unsigned char)s[k]);
            k++;
        }
        if (k == ns && !(k < len && (s[k] == '!' || s[k] == '?'))) {
            /* "<" not starting a tag: text. */
            i++;
            continue;
        }
        i = gt ? tag_end + 1 : len;
        text = i;
        if (k - ns > sizeof name)
            continue; /* no tag of ours has such a name */
        if (!closing && (name_is(name, nl, "script") || name_is(name, nl, "style") ||
                         name_is(name, nl, "noscript") || name_is(name, nl, "template") ||
                         name_is(name, nl, "svg") || name_is(name, nl, "nav"))) {
            char nm[16];
            memcpy(nm, name, nl);
            nm[nl] = '\0';
            if (!(tag_end > 0 && s[tag_end - 1] == '/'))
                i = skip_raw(s, len, i, nm);
            text = i;
            continue;
        }
        if (!closing && name_is(name, nl, "html")) {
            const char *v;
            size_t vn;
            if (attr_value(s + k, tag_end - k, "lang", &v, &vn) ||
                attr_value(s + k, tag_end - k, "xml:lang", &v, &vn))
                set_meta(p, &p->lang, v, vn);
            continue;
        }
        if (name_is(name, nl, "title")) {
            if (!closing) {
                in_title = true;
                Ccai_buf_reset(&title);
            } else if (in_title) {
                in_title = false;
                /* Decoded through a block of its own. */
                Ccai_buf saved = p->cur;
                p->cur = (Ccai_buf){0};
                put_decoded(p, title.data ? title.data : "", title.len, false);
                if (!p->title && p->cur.len)
                    set_meta(p, &p->title, p->cur.data, p->cur.len);
                Ccai_buf_free(&p->cur);
                p->cur = saved;
            }
            continue;
        }
        if (nl == 2 && name[0] == 'h' && name[1] >= '1' && name[1] <= '6') {
            flush(p);
            if (!closing)
                p->cur_level = name[1] - '0';
            continue;
        }
        if (is_block_tag(name, nl)) {
            int level = p->cur_level;
            if (level == 0)
                flush(p);
            else if (!Ccai_buf_puts(&p->cur, " "))
                p->nomem = true;
        }
    }
    if (!in_title && text < len)
        put_decoded(p, s + text, len - text, false);
    flush(p);
    Ccai_buf_free(&title);
}

/* Markdown ----------------------------------------------------------------- */

/* Inline Markdown of one line into the current block: links and images
 * keep their text, emphasis and code marks go, inline HTML tags go,
 * entities are decoded, a backslash escape keeps the character. */
static void put_inline(parser *p, const char *s, size_t len)
{
    Ccai_buf out = {0};
    bool ok = true;
    for (size_t i = 0; i < len && ok;) {
        char c = s[i];
        if (c == '\\' && i + 1 < len && s[i + 1] != ' ' && (unsigned char)s[i + 1] < 0x80 &&
            !Ccai_is_alpha(s[i + 1]) && !Ccai_is_digit(s[i + 1])) {
            ok = Ccai_buf_append(&out, s + i + 1, 1);
            i += 2;
            continue;
        }
        if (c == '!' && i + 1 < len && s[i + 1] == '[') {
            i++;
            continue; /* the image's alt text stays, as a link's text */
        }
        if (c == '[') {
            const char *close = memchr(s + i, ']', len - i);
            if (close) {
                size_t after = (size_t)(close - s) + 1;
                size_t end = after;
                if (after < len && (s[after] == '(' || s[after] == '[')) {
                    const char *e = memchr(s + after, s[after] == '(' ? ')' : ']', len - after);
                    if (e)
                        end = (size_t)(e - s) + 1;
                }
                if (end > after) {
                    /* The text of the link, its own inline marks removed later. */
                    ok = Ccai_buf_append(&out, s + i + 1, (size_t)(close - s) - i - 1);
                    i = end;
                    continue;
                }
            }
        }
        if (c == '<') {
            const char *gt = memchr(s + i, '>', len - i);
            if (gt && gt - (s + i) > 1) {
                const char *in = s + i + 1;
                size_t n = (size_t)(gt - in);
                if (n > 7 && (memcmp(in, "http://", 7) == 0 || memcmp(in, "https://", 8) == 0)) {
                    ok = Ccai_buf_append(&out, in, n); /* an autolink: its address */
                    i = (size_t)(gt - s) + 1;
                    continue;
                }
                if (Ccai_is_alpha(in[0]) || in[0] == '/' || in[0] == '!') {
                    ok = Ccai_buf_puts(&out, " ");
                    i = (size_t)(gt - s) + 1;
                    continue;
                }
            }
        }
        if (c == '*' || c == '`' || c == '~') {
            i++;
            continue;
        }
        /* Underscores mark emphasis at the edges of words only (snake_case stays). */
        if (c == '_') {
            bool prev_word = i > 0 && (Ccai_is_alpha(s[i - 1]) || Ccai_is_digit(s[i - 1]));
            bool next_word = i + 1 < len && (Ccai_is_alpha(s[i + 1]) || Ccai_is_digit(s[i + 1]));
            if (!(prev_word && next_word)) {
                i++;
                continue;
            }
        }
        ok = Ccai_buf_append(&out, s + i, 1);
        i++;
    }
    if (!ok)
        p->nomem = true;
    else if (out.len)
        put_decoded(p, out.data, out.len, false);
    Ccai_buf_free(&out);
}

static size_t line_end(const char *s, size_t len, size_t i)
{
    const char *nl = memchr(s + i, '\n', len - i);
    return nl ? (size_t)(nl - s) : len;
}

/* A line of only c (at least min of them), blanks allowed around. */
static bool rule_line(const char *l, size_t n, char c, size_t min)
{
    size_t count = 0;
    for (size_t i = 0; i < n; i++) {
        if (l[i] == c)
            count++;
        else if (!is_blank((unsigned char)l[i]))
            return false;
    }
    return count >= min;
}

/* Front matter: "---" lines around "key: value" lines at the very start.
 * Returns where the body starts. */
static size_t front_matter(parser *p, const char *s, size_t len)
{
    size_t e = line_end(s, len, 0);
    if (!rule_line(s, e, '-', 3) || e >= len || memchr(s, ' ', e))
        return 0;
    for (size_t i = e + 1; i < len;) {
        size_t le = line_end(s, len, i);
        const char *l = s + i;
        size_t n = le - i;
        if (n && l[n - 1] == '\r')
            n--;
        if ((n == 3 && memcmp(l, "---", 3) == 0) || (n == 3 && memcmp(l, "...", 3) == 0))
            return le < len ? le + 1 : len;
        const char *colon = memchr(l, ':', n);
        if (colon) {
            size_t kn = (size_t)(colon - l);
            const char *v = colon + 1;
            size_t vn = n - kn - 1;
            if (kn == 5 && memcmp(l, "title", 5) == 0)
                set_meta(p, &p->title, v, vn);
            else if ((kn == 4 && memcmp(l, "lang", 4) == 0) ||
                     (kn == 8 && memcmp(l, "language", 8) == 0))
                set_meta(p, &p->lang, v, vn);
        }
        i = le < len ? le + 1 : len;
    }
    return 0; /* never closed: no front matter, all of it is text */
}

static void parse_markdown(parser *p, const char *s, size_t len)
{
    size_t i = front_matter(p, s, len);
    bool fence = false;
    char fence_c = 0;
    size_t para_lines = 0; /* lines in the current paragraph */
    while (i < len && !p->nomem) {
        size_t le = line_end(s, len, i);
        const char *l = s + i;
        size_t n = le - i;
        i = le < len ? le + 1 : len;
        if (n && l[n - 1] == '\r')
            n--;
        size_t ind = 0;
        while (ind < n && ind < 4 && l[ind] == ' ')
            ind++;
        const char *t = l + ind;
        size_t tn = n - ind;
        if (tn >= 3 && (memcmp(t, "```", 3) == 0 || memcmp(t, "~~~", 3) == 0) &&
            (!fence || t[0] == fence_c)) {
            fence = !fence;
            fence_c = t[0];
            continue;
        }
        if (fence) { /* code: as written, line by line */
            if (p->cur.len && !Ccai_buf_puts(&p->cur, "\n"))
                p->nomem = true;
            put_text(p, l, n, false);
            para_lines++;
            continue;
        }
        if (tn == 0) {
            flush(p);
            para_lines = 0;
            continue;
        }
        if (ind < 4 && t[0] == '#') {
            int level = 0;
            while ((size_t)level < tn && t[level] == '#')
                level++;
            if (level <= 6 && ((size_t)level == tn || t[level] == ' ' || t[level] == '\t')) {
                flush(p);
                size_t hn = tn;
                while (hn > (size_t)level &&
                       (t[hn - 1] == '#' || is_blank((unsigned char)t[hn - 1])))
                    hn--;
                p->cur_level = level;
                put_inline(p, t + level, hn - (size_t)level);
                flush(p);
                para_lines = 0;
                continue;
            }
        }
        /* Setext: a one-line paragraph underlined with = or -. */
        if (para_lines == 1 && p->cur.len &&
            (rule_line(t, tn, '=', 1) || (rule_line(t, tn, '-', 2) && !memchr(t, ' ', tn)))) {
            p->cur_level = t[0] == '=' ? 1 : 2;
            flush(p);
            para_lines = 0;
            continue;
        }
        if (rule_line(t, tn, '-', 3) || rule_line(t, tn, '*', 3) || rule_line(t, tn, '_', 3)) {
            flush(p);
            para_lines = 0;
            continue;
        }
        /* A link reference definition: no text. */
        if (t[0] == '[') {
            const char *close = memchr(t, ']', tn);
            if (close && (size_t)(close - t) + 1 < tn && close[1] == ':')
                continue;
        }
        while (tn && t[0] == '>') { /* a quote's text */
            t++;
            tn--;
            while (tn && t[0] == ' ') {
                t++;
                tn--;
            }
        }
        /* A table's separator row goes; its other rows keep their cells. */
        if (tn && t[0] == '|') {
            bool sep = true;
            for (size_t k = 0; k < tn && sep; k++)
                sep = t[k] == '|' || t[k] == '-' || t[k] == ':' || t[k] == ' ';
            if (sep)
                continue;
        }
        bool item = false;
        size_t skip = 0;
        if (tn >= 2 && (t[0] == '-' || t[0] == '*' || t[0] == '+') && t[1] == ' ') {
            item = true;
            skip = 2;
        } else {
            size_t d = 0;
            while (d < tn && d < 9 && Ccai_is_digit(t[d]))
                d++;
            if (d > 0 && d + 1 < tn && (t[d] == '.' || t[d] == ')') && t[d + 1] == ' ') {
                item = true;
                skip = d + 2;
            }
        }
        if (p->cur.len && !Ccai_buf_puts(&p->cur, item ? "\n- " : " "))
            p->nomem = true;
        else if (!p->cur.len && item && !Ccai_buf_puts(&p->cur, "- "))
            p->nomem = true;
        put_inline(p, t + skip, tn - skip);
        para_lines++;
    }
    flush(p);
}

/* Plain text: paragraphs between blank lines, lines kept. */
static void parse_text(parser *p, const char *s, size_t len)
{
    for (size_t i = 0; i < len && !p->nomem;) {
        size_t le = line_end(s, len, i);
        size_t n = le - i;
        bool blank = true;
        for (size_t k = i; k < le && blank; k++)
            blank = is_blank((unsigned char)s[k]);
        if (blank) {
            flush(p);
        } else {
            if (p->cur.len && !Ccai_buf_puts(&p->cur, "\n"))
                p->nomem = true;
            put_text(p, s + i, n, false);
        }
        i = le < len ? le + 1 : len;
    }
    flush(p);
}

/* Chunks ------------------------------------------------------------------ */

typedef struct chunker {
    Ccai_doc *doc;
    size_t cap;
    const Ccai_chunk_opts *o;
    ccai_status st;
} chunker;

static void add_chunk(chunker *k, const char *heading, const char *text, size_t len)
{
    if (k->st != CCAI_OK)
        return;
    if (k->doc->n >= CCAI_DOC_MAX_CHUNKS) {
        k->st = CCAI_ERR_LIMIT;
        return;
    }
    if (k->doc->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 16;
        Ccai_doc_chunk *v = Ccai_realloc(k->doc->chunks, cap * sizeof *v);
        if (!v) {
            k->st = CCAI_ERR_NOMEM;
            return;
        }
        k->doc->chunks = v;
        k->cap = cap;
    }
    char *h = Ccai_strdup(heading);
    char *t = Ccai_strndup(text, len);
    if (!h || !t) {
        ccai_free(h);
        ccai_free(t);
        k->st = CCAI_ERR_NOMEM;
        return;
    }
    k->doc->chunks[k->doc->n++] = (Ccai_doc_chunk){h, t};
}

static bool utf8_start(const char *s, size_t i)
{
    return ((unsigned char)s[i] & 0xC0) != 0x80;
}

/* Where to end a chunk of s that starts at from and may not pass to: the
 * last paragraph end, else sentence end, else space in its second half;
 * else a character boundary at to. */
static size_t cut_at(const char *s, size_t from, size_t to)
{
    size_t half = from + (to - from) / 2;
    for (size_t i = to; i > half; i--)
        if (s[i - 1] == '\n')
            return i;
    for (size_t i = to; i > half + 1; i--)
        if (s[i - 1] == ' ' && (s[i - 2] == '.' || s[i - 2] == '!' || s[i - 2] == '?' ||
                                s[i - 2] == ';' || s[i - 2] == ':'))
            return i;
    for (size_t i = to; i > half; i--)
        if (s[i - 1] == ' ')
            return i;
    size_t i = to;
    while (i > from + 1 && !utf8_start(s, i))
        i--;
    return i;
}

static void chunk_section(chunker *k, const char *heading, const char *s, size_t len)
{
    size_t max = k->o->max_chars, overlap = k->o->overlap_chars;
    size_t pos = 0;
    while (pos < len && k->st == CCAI_OK) {
        while (pos < len && is_blank((unsigned char)s[pos]))
            pos++;
        if (pos >= len)
            break;
        if (len - pos <= max) {
            add_chunk(k, heading, s + pos, len - pos);
            return;
        }
        size_t end = cut_at(s, pos, pos + max);
        size_t e = end;
        while (e > pos && is_blank((unsigned char)s[e - 1]))
            e--;
        add_chunk(k, heading, s + pos, e - pos);
        /* The next one repeats the end of this one, from a word's start. */
        size_t next = end > pos + overlap ? end - overlap : end;
        while (next < end && s[next] != ' ' && s[next] != '\n')
            next++;
        if (next <= pos || next >= end)
            next = end;
        pos = next;
    }
}

static ccai_status make_chunks(parser *p, const Ccai_chunk_opts *o, Ccai_doc *doc)
{
    chunker k = {doc, 0, o, CCAI_OK};
    const char *stack[6] = {0};
    Ccai_buf body = {0}, heading = {0};
    bool ok = true;
    for (size_t i = 0; i <= p->n && k.st == CCAI_OK && ok; i++) {
        block *b = i < p->n ? &p->v[i] : NULL;
        if (b && b->level == 0) {
            ok = (!body.len || Ccai_buf_puts(&body, "\n")) && Ccai_buf_puts(&body, b->text);
            continue;
        }
        /* A heading (or the end): the section so far becomes chunks. */
        if (body.len) {
            Ccai_buf_reset(&heading);
            bool first = true;
            if (doc->title && !(stack[0] && strcmp(stack[0], doc->title) == 0)) {
                ok = Ccai_buf_puts(&heading, doc->title);
                first = false;
            }
            for (int l = 0; l < 6 && ok; l++) {
                if (!stack[l])
                    continue;
                ok = (first || Ccai_buf_puts(&heading, " > ")) && Ccai_buf_puts(&heading, stack[l]);
                first = false;
            }
            if (ok && !heading.data)
                ok = Ccai_buf_puts(&heading, "");
            if (ok)
                chunk_section(&k, heading.data, body.data, body.len);
            Ccai_buf_reset(&body);
        }
        if (b) {
            stack[b->level - 1] = b->text;
            for (int l = b->level; l < 6; l++)
                stack[l] = NULL;
        }
    }
    Ccai_buf_free(&body);
    Ccai_buf_free(&heading);
    if (!ok)
        return CCAI_ERR_NOMEM;
    return k.st;
}

/* The API ------------------------------------------------------------------ */

static bool ext_is(const char *name, const char *ext)
{
    size_t n = strlen(name), e = strlen(ext);
    return n > e && Ccai_strcasecmp(name + n - e, ext) == 0;
}

Ccai_doc_format Ccai_doc_format_of(const char *name, const char *data, size_t len)
{
    if (name) {
        if (ext_is(name, ".md") || ext_is(name, ".markdown") || ext_is(name, ".mdown"))
            return CCAI_DOC_MARKDOWN;
        if (ext_is(name, ".html") || ext_is(name, ".htm") || ext_is(name, ".xhtml"))
            return CCAI_DOC_HTML;
        if (ext_is(name, ".txt") || ext_is(name, ".text"))
            return CCAI_DOC_TEXT;
    }
    size_t i = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && is_blank((unsigned char)data[i]))
        i++;
    static const char *const marks[] = {"<!doctype html", "<html"};
    for (size_t m = 0; m < CCAI_ARRAY_SIZE(marks); m++) {
        size_t ml = strlen(marks[m]);
        bool same = len - i >= ml;
        for (size_t k = 0; k < ml && same; k++)
            same = Ccai_to_lower((unsigned char)data[i + k]) == marks[m][k];
        if (same)
            return CCAI_DOC_HTML;
    }
    return CCAI_DOC_TEXT;
}

const char *Ccai_doc_format_str(Ccai_doc_format f)
{
    switch (f) {
    case CCAI_DOC_MARKDOWN: return "markdown";
    case CCAI_DOC_HTML: return "html";
    case CCAI_DOC_TEXT: break;
    }
    return "text";
}

bool Ccai_lang_normalize(const char *s, char out[16])
{
    size_t n = strlen(s);
    if (n == 0 || n >= 16)
        return false;
    size_t part = 0;
    for (size_t i = 0; i < n;) {
        size_t e = i;
        while (e < n && s[e] != '-' && s[e] != '_')
            e++;
        size_t plen = e - i;
        if (plen == 0 || plen > 8 || (part == 0 && (plen < 2 || plen > 3)))
            return false;
        for (size_t k = i; k < e; k++) {
            char c = s[k];
            if (!Ccai_is_alpha(c) && !(part > 0 && Ccai_is_digit(c)))
                return false;
            char lower = (char)Ccai_to_lower((unsigned char)c);
            /* The language in lower case, a region in upper case, a
             * script with a capital. */
            bool upper = part > 0 && (plen == 2 || (plen == 4 && k == i));
            out[k] = upper && lower >= 'a' && lower <= 'z' ? (char)(lower - 32) : lower;
        }
        if (e < n) {
            out[e] = '-';
            if (e + 1 == n)
                return false;
        }
        i = e + 1;
        part++;
    }
    out[n] = '\0';
    return true;
}

void Ccai_doc_free(Ccai_doc *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < d->n; i++) {
        ccai_free(d->chunks[i].heading);
        ccai_free(d->chunks[i].text);
    }
    ccai_free(d->chunks);
    ccai_free(d->title);
    ccai_free(d->lang);
    ccai_free(d);
}

ccai_status Ccai_doc_parse(const char *data, size_t len, Ccai_doc_format fmt,
                           const Ccai_chunk_opts *opts, Ccai_doc **ret)
{
    if ((!data && len) || !opts || !ret || opts->max_chars < CCAI_DOC_MIN_CHARS ||
        opts->max_chars > CCAI_DOC_MAX_CHARS || opts->overlap_chars * 2 >= opts->max_chars)
        return CCAI_ERR_INVALID_ARG;
    if (len > CCAI_DOC_MAX_BYTES)
        return CCAI_ERR_LIMIT;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        data += 3;
        len -= 3;
    }
    parser p = {0};
    if (fmt == CCAI_DOC_HTML)
        parse_html(&p, data ? data : "", len);
    else if (fmt == CCAI_DOC_MARKDOWN)
        parse_markdown(&p, data ? data : "", len);
    else
        parse_text(&p, data ? data : "", len);
    Ccai_buf_free(&p.cur);
    ccai_status st = p.nomem ? CCAI_ERR_NOMEM : CCAI_OK;
    Ccai_doc *doc = st == CCAI_OK ? Ccai_calloc(1, sizeof *doc) : NULL;
    if (st == CCAI_OK && !doc)
        st = CCAI_ERR_NOMEM;
    if (doc) {
        /* No title given: the first heading. */
        for (size_t i = 0; !p.title && i < p.n; i++) {
            if (p.v[i].level > 0 && !(p.title = Ccai_strdup(p.v[i].text)))
                st = CCAI_ERR_NOMEM;
        }
        doc->title = p.title;
        doc->lang = p.lang;
        p.title = p.lang = NULL;
        if (st == CCAI_OK)
            st = make_chunks(&p, opts, doc);
    }
    for (size_t i = 0; i < p.n; i++)
        ccai_free(p.v[i].text);
    ccai_free(p.v);
    ccai_free(p.title);
    ccai_free(p.lang);
    if (st != CCAI_OK) {
        Ccai_doc_free(doc);
        return st;
    }
    *ret = doc;
    return CCAI_OK;
}
