/* application/x-www-form-urlencoded parser and encoder. */
#include "http/form.h"

#include <string.h>

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode s[0..len) (at offset base of the body, for messages) into a new
 * string. Decoding never grows the text, so one allocation of len + 1. */
static CCAI_MUST_CHECK ccai_status decode(const char *s, size_t len, size_t base, char **ret,
                                          char **ret_err)
{
    char *out = Ccai_malloc(len + 1);
    if (!out)
        return CCAI_ERR_NOMEM;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '+') {
            out[o++] = ' ';
        } else if (c == '%') {
            int hi = i + 1 < len ? hex_value((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                ccai_free(out);
                if (ret_err)
                    *ret_err = Ccai_asprintf("invalid percent escape at byte %zu", base + i);
                return CCAI_ERR_PARSE;
            }
            if (hi == 0 && lo == 0) {
                ccai_free(out);
                if (ret_err)
                    *ret_err = Ccai_asprintf("%%00 (NUL) at byte %zu", base + i);
                return CCAI_ERR_PARSE;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = (char)c;
        }
    }
    out[o] = '\0';
    *ret = out;
    return CCAI_OK;
}

ccai_status Ccai_form_parse(const char *body, size_t len, Ccai_form *out, char **ret_err)
{
    if (!out || (!body && len))
        return CCAI_ERR_INVALID_ARG;
    if (ret_err)
        *ret_err = NULL;
    if (len > CCAI_FORM_BODY_MAX) {
        if (ret_err)
            *ret_err = Ccai_asprintf("form body of %zu bytes exceeds %u", len, CCAI_FORM_BODY_MAX);
        return CCAI_ERR_LIMIT;
    }
    const char *nul = len ? memchr(body, '\0', len) : NULL;
    if (nul) {
        if (ret_err)
            *ret_err = Ccai_asprintf("NUL byte at byte %zu", (size_t)(nul - body));
        return CCAI_ERR_PARSE;
    }
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        const char *amp = memchr(body + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - body) : len;
        if (end > i)
            n++;
        i = end + 1;
    }
    if (n > CCAI_FORM_PARAMS_MAX) {
        if (ret_err)
            *ret_err =
                Ccai_asprintf("form has %zu parameters, more than %u", n, CCAI_FORM_PARAMS_MAX);
        return CCAI_ERR_LIMIT;
    }
    Ccai_form f = {0};
    ccai_status st = CCAI_OK;
    if (n) {
        f.names = Ccai_calloc(n, sizeof *f.names);
        f.values = Ccai_calloc(n, sizeof *f.values);
        if (!f.names || !f.values) {
            st = CCAI_ERR_NOMEM;
            goto done;
        }
    }
    for (size_t i = 0; i < len;) {
        const char *amp = memchr(body + i, '&', len - i);
        size_t end = amp ? (size_t)(amp - body) : len;
        if (end > i) {
            const char *eq = memchr(body + i, '=', end - i);
            size_t name_end = eq ? (size_t)(eq - body) : end;
            size_t value_start = eq ? name_end + 1 : end;
            st = decode(body + i, name_end - i, i, &f.names[f.n], ret_err);
            if (st == CCAI_OK) {
                st = decode(body + value_start, end - value_start, value_start, &f.values[f.n],
                            ret_err);
                if (st != CCAI_OK) {
                    ccai_free(f.names[f.n]);
                    f.names[f.n] = NULL;
                }
            }
            if (st != CCAI_OK)
                goto done;
            f.n++;
        }
        i = end + 1;
    }
done:
    if (st != CCAI_OK) {
        Ccai_form_free(&f);
        return st;
    }
    *out = f;
    return CCAI_OK;
}

const char *Ccai_form_get(const Ccai_form *f, const char *name)
{
    if (!f || !name)
        return NULL;
    for (size_t i = 0; i < f->n; i++) {
        if (strcmp(f->names[i], name) == 0)
            return f->values[i];
    }
    return NULL;
}

size_t Ccai_form_count(const Ccai_form *f, const char *name)
{
    size_t k = 0;
    if (!f || !name)
        return 0;
    for (size_t i = 0; i < f->n; i++)
        k += strcmp(f->names[i], name) == 0;
    return k;
}

void Ccai_form_free(Ccai_form *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        ccai_free(f->names[i]);
        ccai_free(f->values[i]);
    }
    ccai_free(f->names);
    ccai_free(f->values);
    memset(f, 0, sizeof *f);
}

bool Ccai_form_escape(Ccai_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t run = 0; /* bytes kept as they are, appended in one go */
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (Ccai_is_alpha(c) || Ccai_is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            run++;
            continue;
        }
        if (run && !Ccai_buf_append(b, s + i - run, run))
            return false;
        run = 0;
        char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
        if (c == ' ' ? !Ccai_buf_append(b, "+", 1) : !Ccai_buf_append(b, esc, 3))
            return false;
    }
    return !run || Ccai_buf_append(b, s + len - run, run);
}

char *Ccai_form_encode(const char *const *pairs)
{
    if (!pairs)
        return NULL;
    Ccai_buf b = {0};
    bool ok = true;
    for (size_t i = 0; ok && pairs[i]; i += 2) {
        const char *value = pairs[i + 1];
        if (!value)
            continue;
        ok = (b.len == 0 || Ccai_buf_append(&b, "&", 1)) &&
             Ccai_form_escape(&b, pairs[i], strlen(pairs[i])) && Ccai_buf_append(&b, "=", 1) &&
             Ccai_form_escape(&b, value, strlen(value));
    }
    if (!ok) {
        Ccai_buf_free(&b);
        return NULL;
    }
    return Ccai_buf_steal(&b);
}
