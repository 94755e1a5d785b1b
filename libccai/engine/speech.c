/* Sentence streamer: deltas in, speakable sentences out. */
#include "engine/speech.h"

#include <string.h>

void Ccai_sentences_init(Ccai_sentences *s)
{
    memset(s, 0, sizeof *s);
    s->style = CCAI_STYLE_NONE;
}

void Ccai_sentences_free(Ccai_sentences *s)
{
    Ccai_buf_free(&s->pending);
}

static CCAI_MUST_CHECK bool starts_with_word(const char *p, const char *word, size_t *len)
{
    size_t n = strlen(word);
    for (size_t i = 0; i < n; i++) {
        if (Ccai_to_lower((unsigned char)p[i]) != word[i])
            return false;
    }
    *len = n;
    return true;
}

char *Ccai_speech_strip_prefixes(char *p, ccai_style *style)
{
    for (;;) {
        while (Ccai_is_space((unsigned char)*p))
            p++;
        size_t n = 0;
        if (starts_with_word(p, "style=", &n)) {
            const char *v = p + n;
            size_t vn = 0;
            if (starts_with_word(v, "cheerful", &vn))
                *style = CCAI_STYLE_CHEERFUL;
            else if (starts_with_word(v, "sad", &vn))
                *style = CCAI_STYLE_SAD;
            else if (starts_with_word(v, "none", &vn))
                *style = CCAI_STYLE_NONE;
            else {
                /* Unknown style: none, and skip the word. */
                *style = CCAI_STYLE_NONE;
                while (v[vn] && !Ccai_is_space((unsigned char)v[vn]))
                    vn++;
            }
            p += n + vn;
            continue;
        }
        if (starts_with_word(p, "action=", &n)) {
            p += n;
            while (*p && !Ccai_is_space((unsigned char)*p))
                p++;
            continue;
        }
        if (starts_with_word(p, "content=", &n)) {
            p += n;
            continue;
        }
        return p;
    }
}

/* Emit bytes [0, n) of pending as one sentence and drop them. */
static CCAI_MUST_CHECK ccai_status emit(Ccai_sentences *s, size_t n, Ccai_sentence_fn fn, void *ud)
{
    char *text = Ccai_strndup(s->pending.data, n);
    if (!text)
        return CCAI_ERR_NOMEM;
    memmove(s->pending.data, s->pending.data + n, s->pending.len - n + 1);
    s->pending.len -= n;
    /* One line for TTS: newlines and runs of white space become one space. */
    char *w = text;
    bool space = false;
    for (char *r = text; *r; r++) {
        if (Ccai_is_space((unsigned char)*r)) {
            space = true;
            continue;
        }
        if (space && w != text)
            *w++ = ' ';
        space = false;
        *w++ = *r;
    }
    *w = '\0';
    char *body = Ccai_speech_strip_prefixes(text, &s->style);
    int stop = 0;
    if (*body) {
        s->emitted++;
        stop = fn(body, s->style, ud);
    }
    ccai_free(text);
    return stop ? CCAI_ERR_CANCELLED : CCAI_OK;
}

static CCAI_MUST_CHECK bool is_strong(char c)
{
    return c == '!' || c == '?' || c == ';';
}
static CCAI_MUST_CHECK bool is_weak(char c)
{
    return c == '.' || c == '-' || c == ':';
}

/* Length of the first complete sentence in pending, 0 when none is certain
 * yet. With at_end, the end of the text counts as white space. */
static size_t find_boundary(const Ccai_sentences *s, bool at_end)
{
    const char *t = s->pending.data;
    size_t n = s->pending.len;
    for (size_t i = 0; i < n; i++) {
        char c = t[i];
        if (is_strong(c) || is_weak(c)) {
            size_t j = i;
            bool strong = false;
            while (j < n && (is_strong(t[j]) || is_weak(t[j]))) {
                strong = strong || is_strong(t[j]);
                j++;
            }
            if (j == n)
                return at_end ? n : 0; /* the run may go on */
            if (strong || Ccai_is_space((unsigned char)t[j]))
                return j;
            i = j - 1;
            continue;
        }
        if (c == ',' && s->emitted == 0 && i + 1 >= CCAI_FIRST_CLAUSE_MIN && i + 1 < n &&
            Ccai_is_space((unsigned char)t[i + 1]))
            return i + 1;
        if (i + 1 >= CCAI_SENTENCE_MAX) {
            /* No boundary within the TTS limit: cut at the last space. */
            size_t k = i;
            while (k > 0 && !Ccai_is_space((unsigned char)t[k]))
                k--;
            return k > 0 ? k : i + 1;
        }
    }
    return 0;
}

ccai_status Ccai_sentences_feed(Ccai_sentences *s, const char *delta, size_t len,
                                Ccai_sentence_fn fn, void *ud)
{
    if (!Ccai_buf_append(&s->pending, delta, len))
        return CCAI_ERR_NOMEM;
    size_t n;
    while ((n = find_boundary(s, false)) > 0) {
        ccai_status st = emit(s, n, fn, ud);
        if (st != CCAI_OK)
            return st;
    }
    return CCAI_OK;
}

ccai_status Ccai_sentences_flush(Ccai_sentences *s, Ccai_sentence_fn fn, void *ud)
{
    size_t n;
    while (s->pending.len && (n = find_boundary(s, true)) > 0) {
        ccai_status st = emit(s, n, fn, ud);
        if (st != CCAI_OK)
            return st;
    }
    if (s->pending.len)
        return emit(s, s->pending.len, fn, ud);
    return CCAI_OK;
}
