/* Validation and normalisation of claim values, one field or a whole claim.
 *
 * Error texts are read back to the LLM (or spoken by the IVR), so each one
 * quotes the value, says what is wrong in plain words and shows the format
 * that would have been accepted. Dates and times: validate_datetime.c. */
#include "claim/validate.h"
#include "claim/claim.h"
#include "core/json.h"

#include <stdio.h>
#include <string.h>

/* Longest excerpt of a value quoted in an error message, in bytes. */
#define QUOTE_MAX 60u

#define EMAIL_HINT "use the form name@example.com"
#define PHONE_HINT "e.g. +33 6 12 34 56 78"

/* Length of the strict UTF-8 sequence at @p s (no overlong forms,
 * surrogates or code points past U+10FFFF) with its code point; 0 when the
 * bytes are not valid UTF-8. @p s is NUL-terminated, which ends any
 * truncated sequence. */
static size_t utf8_decode(const unsigned char *s, uint32_t *ret_cp)
{
    unsigned char c = s[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;
    uint32_t cp;
    if (c < 0x80) {
        *ret_cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        cp = c & 0x0Fu;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        cp = c & 0x07u;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if (k > 1 && (s[k] < 0x80 || s[k] > 0xBF))
            return 0;
        cp = (cp << 6) | (s[k] & 0x3Fu);
    }
    *ret_cp = cp;
    return n;
}

/* Append @p s quoted: escaped, cut after about QUOTE_MAX bytes on a
 * character boundary, invalid UTF-8 shown as \xNN so that the message is
 * always valid UTF-8 (it may end up in JSON). */
static CCAI_MUST_CHECK bool buf_quote(Ccai_buf *b, const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    bool ok = Ccai_buf_puts(b, "\"");
    size_t i = 0;
    while (ok && u[i] && i < QUOTE_MAX) {
        uint32_t cp;
        size_t n = utf8_decode(u + i, &cp);
        if (n == 0) {
            ok = Ccai_buf_printf(b, "\\x%02X", u[i]);
            n = 1;
        } else if (cp == '"' || cp == '\\') {
            ok = Ccai_buf_printf(b, "\\%c", (char)cp);
        } else if (cp == '\n') {
            ok = Ccai_buf_puts(b, "\\n");
        } else if (cp == '\t') {
            ok = Ccai_buf_puts(b, "\\t");
        } else if (cp < 0x20 || cp == 0x7F) {
            ok = Ccai_buf_printf(b, "\\x%02X", (unsigned)cp);
        } else {
            ok = Ccai_buf_append(b, s + i, n);
        }
        i += n;
    }
    if (ok && u[i])
        ok = Ccai_buf_puts(b, "...");
    return ok && Ccai_buf_puts(b, "\"");
}

/* Name the character at @p s for a message: "the character 'x'" or
 * "the byte 0xC3" when it is not valid UTF-8. */
static void describe_char(const char *s, char *out, size_t outlen)
{
    uint32_t cp;
    size_t n = utf8_decode((const unsigned char *)s, &cp);
    if (n == 0)
        snprintf(out, outlen, "the byte 0x%02X", (unsigned char)s[0]);
    else if (cp < 0x20 || cp == 0x7F)
        snprintf(out, outlen, "the control character 0x%02X", (unsigned)cp);
    else if (cp == '\'')
        snprintf(out, outlen, "the character \"'\"");
    else
        snprintf(out, outlen, "the character '%.*s'", (int)n, s);
}

/* Set *ret_error (when not NULL) to the quoted @p value (when not NULL),
 * then the formatted text. Returns CCAI_ERR_VALIDATION, or CCAI_ERR_NOMEM
 * when the message cannot be built. */
ccai_status Ccai_valid_fail(char **ret_error, const char *value, const char *fmt, ...)
{
    if (!ret_error)
        return CCAI_ERR_VALIDATION;
    Ccai_buf b = {0};
    bool ok = !value || (buf_quote(&b, value) && Ccai_buf_puts(&b, " "));
    if (ok) {
        va_list ap;
        va_start(ap, fmt);
        char *msg = Ccai_vasprintf(fmt, ap);
        va_end(ap);
        ok = msg && Ccai_buf_puts(&b, msg);
        ccai_free(msg);
    }
    char *out = ok ? Ccai_buf_steal(&b) : NULL;
    Ccai_buf_free(&b);
    if (!out)
        return CCAI_ERR_NOMEM;
    *ret_error = out;
    return CCAI_ERR_VALIDATION;
}

/* The value without leading and trailing ASCII whitespace, as [*b, *e). */
void Ccai_valid_trim(const char *value, size_t *b, size_t *e)
{
    size_t len = strlen(value), i = 0;
    while (i < len && Ccai_is_space((unsigned char)value[i]))
        i++;
    while (len > i && Ccai_is_space((unsigned char)value[len - 1]))
        len--;
    *b = i;
    *e = len;
}

ccai_status Ccai_valid_hand_out(char *out, char **ret_normalized)
{
    if (!out)
        return CCAI_ERR_NOMEM;
    *ret_normalized = out;
    return CCAI_OK;
}

bool Ccai_valid_prefix_nocase(const char *s, const char *word)
{
    for (; *word; s++, word++) {
        if (Ccai_to_lower((unsigned char)*s) != *word)
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* text                                                                     */
/* ------------------------------------------------------------------------ */

/* Unicode White_Space: speech-to-text and LLMs emit no-break and thin
 * spaces as readily as ASCII ones. */
static CCAI_MUST_CHECK bool unicode_space(uint32_t cp)
{
    return Ccai_is_space((int)cp) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
           cp == 0x205F || cp == 0x3000;
}

static CCAI_MUST_CHECK ccai_status validate_text(const char *value, char **ret_normalized,
                                                 char **ret_error)
{
    const unsigned char *s = (const unsigned char *)value;
    for (size_t i = 0; s[i];) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, &cp);
        if (n == 0)
            return Ccai_valid_fail(
                ret_error, NULL,
                "the text is not valid UTF-8 (byte 0x%02X at offset %zu); send it as "
                "plain UTF-8 text",
                s[i], i);
        i += n;
    }

    char *out = Ccai_malloc(strlen(value) + 1);
    if (!out)
        return CCAI_ERR_NOMEM;
    size_t len = 0;
    bool pending_space = false;
    for (size_t i = 0; s[i];) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, &cp);
        if (unicode_space(cp)) {
            pending_space = true;
        } else {
            if (pending_space && len > 0)
                out[len++] = ' ';
            pending_space = false;
            memcpy(out + len, s + i, n);
            len += n;
        }
        i += n;
    }
    out[len] = '\0';

    ccai_status st = CCAI_OK;
    if (len == 0)
        st = Ccai_valid_fail(ret_error, NULL, "the text is empty; give the value in words");
    else if (len > CCAI_TEXT_MAX)
        st = Ccai_valid_fail(ret_error, NULL,
                             "the text is too long (%zu bytes, at most %d); summarise it", len,
                             CCAI_TEXT_MAX);
    if (st != CCAI_OK) {
        ccai_free(out);
        return st;
    }
    *ret_normalized = out;
    return CCAI_OK;
}

/* ------------------------------------------------------------------------ */
/* email                                                                    */
/* ------------------------------------------------------------------------ */

static CCAI_MUST_CHECK bool email_local_char(int c)
{
    return c && (Ccai_is_alpha(c) || Ccai_is_digit(c) || strchr("!#$%&'*+/=?^_`{|}~.-", c));
}

/* Does @p s hold @p word as a separate, space-delimited word? */
static CCAI_MUST_CHECK bool has_word(const char *s, const char *word)
{
    size_t n = strlen(word);
    for (size_t i = 0; s[i]; i++) {
        if ((i == 0 || Ccai_is_space((unsigned char)s[i - 1])) &&
            Ccai_valid_prefix_nocase(s + i, word) &&
            (!s[i + n] || Ccai_is_space((unsigned char)s[i + n])))
            return true;
    }
    return false;
}

/* Reason why [s, s + len) is not a valid domain, or NULL. @p what receives
 * the offending character for messages. */
static const char *email_domain_problem(const char *s, size_t len, char *what, size_t whatlen)
{
    if (len == 0)
        return "there is nothing after the @";
    if (len > 253)
        return "the domain after the @ is longer than 253 characters";
    if (!memchr(s, '.', len))
        return "the domain after the @ has no dot, like example.com";
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.') {
            int c = (unsigned char)s[i];
            if (!Ccai_is_alpha(c) && !Ccai_is_digit(c) && c != '-') {
                describe_char(s + i, what, whatlen);
                return "is not allowed in the domain after the @";
            }
            continue;
        }
        size_t label = i - start;
        if (label == 0)
            return "the domain has an empty part (a dot at the start or end, or two dots in a row)";
        if (label > 63)
            return "a part of the domain is longer than 63 characters";
        if (s[start] == '-' || s[i - 1] == '-')
            return "a part of the domain starts or ends with a hyphen";
        if (i == len) {
            if (label < 2)
                return "the domain must end with letters, like .com or .fr";
            for (size_t k = start; k < i; k++) {
                if (!Ccai_is_alpha((unsigned char)s[k]))
                    return "the domain must end with letters, like .com or .fr";
            }
        }
        start = i + 1;
    }
    return NULL;
}

static CCAI_MUST_CHECK ccai_status validate_email(const char *value, char **ret_normalized,
                                                  char **ret_error)
{
    size_t b, e;
    Ccai_valid_trim(value, &b, &e);
    if (b == e)
        return Ccai_valid_fail(ret_error, NULL, "the email address is empty; " EMAIL_HINT);

    char *s = Ccai_strndup(value + b, e - b);
    if (!s)
        return CCAI_ERR_NOMEM;
    size_t len = e - b, ats = 0, at = 0;
    bool spaces = false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '@') {
            if (ats++ == 0)
                at = i;
        } else if (Ccai_is_space((unsigned char)s[i])) {
            spaces = true;
        }
    }

    ccai_status st = CCAI_OK;
    char what[32] = "";
    const char *problem = NULL;
    if (ats == 0 && spaces && has_word(s, "at"))
        problem = "write \"at\" as @ and \"dot\" as a period, without spaces";
    else if (ats == 0)
        problem = "it has no @";
    else if (ats > 1)
        problem = "it has more than one @";
    else if (spaces)
        problem = "it contains spaces";
    else if (len > 254)
        problem = "it is longer than 254 characters";
    else if (at == 0)
        problem = "there is nothing before the @";
    else if (at > 64)
        problem = "the part before the @ is longer than 64 characters";
    else if (s[0] == '.' || s[at - 1] == '.')
        problem = "the part before the @ starts or ends with a dot";
    if (!problem) {
        for (size_t i = 0; i < at; i++) {
            if (!email_local_char((unsigned char)s[i])) {
                describe_char(s + i, what, sizeof what);
                problem = "is not allowed before the @";
                break;
            }
            if (s[i] == '.' && s[i + 1] == '.') {
                problem = "the part before the @ has two dots in a row";
                break;
            }
        }
    }
    if (!problem)
        problem = email_domain_problem(s + at + 1, len - at - 1, what, sizeof what);
    if (problem) {
        st = Ccai_valid_fail(ret_error, s, "is not a valid email address: %s%s%s; " EMAIL_HINT,
                             what, what[0] ? " " : "", problem);
        goto cleanup;
    }

    for (size_t i = at + 1; i < len; i++)
        s[i] = (char)Ccai_to_lower((unsigned char)s[i]);
    *ret_normalized = s;
    return CCAI_OK;

cleanup:
    ccai_free(s);
    return st;
}

/* ------------------------------------------------------------------------ */
/* phone_number                                                             */
/* ------------------------------------------------------------------------ */

#define E164_MIN 8
#define E164_MAX 15

static CCAI_MUST_CHECK ccai_status validate_phone(const char *value, char **ret_normalized,
                                                  char **ret_error)
{
    size_t b, e;
    Ccai_valid_trim(value, &b, &e);
    if (b == e)
        return Ccai_valid_fail(
            ret_error, NULL,
            "the phone number is empty; give it with the country code, " PHONE_HINT);

    char *s = Ccai_strndup(value + b, e - b);
    /* "+" and the digits: never longer than the value. */
    char *out = Ccai_malloc(e - b + 2);
    ccai_status st = CCAI_OK;
    if (!s || !out) {
        st = CCAI_ERR_NOMEM;
        goto cleanup;
    }

    bool plus = s[0] == '+';
    size_t ndigits = 0;
    out[0] = '+';
    for (size_t i = plus ? 1 : 0; s[i]; i++) {
        int c = (unsigned char)s[i];
        if (Ccai_is_digit(c)) {
            out[1 + ndigits++] = (char)c;
            continue;
        }
        bool international = plus || (ndigits >= 2 && out[1] == '0' && out[2] == '0');
        /* "+33 (0)6 ...": the national trunk prefix written after the
         * country code is not dialled from abroad. */
        if (international && ndigits > (plus ? 0u : 2u) && strncmp(s + i, "(0)", 3) == 0) {
            i += 2;
            continue;
        }
        if (Ccai_is_space(c) || c == '.' || c == '-' || c == '(' || c == ')')
            continue;
        if (c == '+') {
            st = Ccai_valid_fail(
                ret_error, s,
                "is not a valid phone number: the + may only come first; " PHONE_HINT);
            goto cleanup;
        }
        char what[32];
        describe_char(s + i, what, sizeof what);
        st = Ccai_valid_fail(ret_error, s,
                             "is not a valid phone number: %s is not allowed; use digits with the "
                             "country code, " PHONE_HINT,
                             what);
        goto cleanup;
    }
    out[1 + ndigits] = '\0';

    const char *digits = out + 1;
    if (!plus) {
        if (ndigits < 2 || digits[0] != '0' || digits[1] != '0') {
            st = Ccai_valid_fail(
                ret_error, s, "is not a valid phone number: include the country code, " PHONE_HINT);
            goto cleanup;
        }
        digits += 2;
        ndigits -= 2;
    }
    if (ndigits == 0) {
        st = Ccai_valid_fail(ret_error, s,
                             "is not a valid phone number: it has no digits; " PHONE_HINT);
        goto cleanup;
    }
    if (digits[0] == '0') {
        st = Ccai_valid_fail(
            ret_error, s,
            "is not a valid phone number: the country code cannot start with 0; " PHONE_HINT);
        goto cleanup;
    }
    if (ndigits < E164_MIN || ndigits > E164_MAX) {
        st = Ccai_valid_fail(
            ret_error, s,
            "is not a valid phone number: it has %zu digit%s after the country prefix, an "
            "international number has %d to %d; " PHONE_HINT,
            ndigits, ndigits == 1 ? "" : "s", E164_MIN, E164_MAX);
        goto cleanup;
    }
    memmove(out + 1, digits, ndigits + 1);
    *ret_normalized = out;
    out = NULL;

cleanup:
    ccai_free(out);
    ccai_free(s);
    return st;
}

/* ------------------------------------------------------------------------ */
/* Public entry points                                                      */
/* ------------------------------------------------------------------------ */

CCAI_EXPORT ccai_status ccai_field_validate(ccai_field_type type, const char *value,
                                            char **ret_normalized, char **ret_error)
{
    if (!value || !ret_normalized)
        return CCAI_ERR_INVALID_ARG;
    switch (type) {
    case CCAI_FIELD_TEXT: return validate_text(value, ret_normalized, ret_error);
    case CCAI_FIELD_DATETIME: return Ccai_valid_datetime(value, ret_normalized, ret_error);
    case CCAI_FIELD_EMAIL: return validate_email(value, ret_normalized, ret_error);
    case CCAI_FIELD_PHONE_NUMBER: return validate_phone(value, ret_normalized, ret_error);
    }
    return CCAI_ERR_INVALID_ARG;
}

/* Validate one value of the claim; *ret_json receives the normalised
 * string. Errors name the field. */
static CCAI_MUST_CHECK ccai_status validate_member(const char *name, ccai_field_type type,
                                                   const json_t *value, json_t **ret_json,
                                                   char **ret_error)
{
    char *text = NULL, *normalized = NULL, *error = NULL;
    const char *s;
    ccai_status st;
    if (json_is_string(value)) {
        s = json_string_value(value);
        if (strlen(s) != json_string_length(value))
            return Ccai_valid_fail(ret_error, NULL, "field %s: the value contains a NUL character",
                                   name);
    } else if (json_is_number(value) && type == CCAI_FIELD_TEXT) {
        /* A policy number the LLM sent as a number is still a policy number. */
        text = Ccai_json_dump(value, JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
        if (!text)
            return CCAI_ERR_NOMEM;
        s = text;
    } else {
        return Ccai_valid_fail(ret_error, NULL, "field %s: expected a string, got %s", name,
                               Ccai_json_kind(value));
    }

    st = ccai_field_validate(type, s, &normalized, ret_error ? &error : NULL);
    if (st == CCAI_ERR_VALIDATION) {
        if (ret_error)
            st = Ccai_valid_fail(ret_error, NULL, "field %s: %s", name, error);
        goto cleanup;
    }
    if (st != CCAI_OK)
        goto cleanup;
    json_t *js = json_string(normalized);
    if (!js) {
        st = CCAI_ERR_NOMEM;
        goto cleanup;
    }
    *ret_json = js;

cleanup:
    ccai_free(text);
    ccai_free(normalized);
    ccai_free(error);
    return st;
}

ccai_status Ccai_claim_validate_object(const ccai_claim_schema *schema, json_t *claim,
                                       char **ret_error)
{
    if (!schema || !claim)
        return CCAI_ERR_INVALID_ARG;
    if (!json_is_object(claim))
        return Ccai_valid_fail(ret_error, NULL, "the claim must be a JSON object, got %s",
                               Ccai_json_kind(claim));

    /* Build the result aside, in schema order, so that a validation error
     * leaves the claim untouched. */
    json_t *out = json_object();
    if (!out)
        return CCAI_ERR_NOMEM;
    ccai_status st = CCAI_OK;
    size_t count = ccai_claim_schema_count(schema);
    for (size_t i = 0; i < count; i++) {
        const char *name;
        ccai_field_type type;
        if (ccai_claim_schema_field(schema, i, &name, &type, NULL) != CCAI_OK) {
            st = CCAI_ERR_INTERNAL;
            goto cleanup;
        }
        const json_t *value = json_object_get(claim, name);
        if (!value || json_is_null(value))
            continue;
        json_t *js = NULL;
        st = validate_member(name, type, value, &js, ret_error);
        if (st != CCAI_OK)
            goto cleanup;
        if (json_object_set_new(out, name, js) != 0) {
            st = CCAI_ERR_NOMEM;
            goto cleanup;
        }
    }
    /* Only out of memory can fail from here on (the claim may then have
     * lost members). */
    json_object_clear(claim);
    if (json_object_update(claim, out) != 0)
        st = CCAI_ERR_NOMEM;

cleanup:
    json_decref(out);
    return st;
}

CCAI_EXPORT ccai_status ccai_claim_schema_validate_claim(const ccai_claim_schema *schema,
                                                         const char *claim_json,
                                                         char **ret_normalized_json,
                                                         char **ret_error)
{
    if (!schema || !claim_json || !ret_normalized_json)
        return CCAI_ERR_INVALID_ARG;
    Ccai_json_err jerr;
    ccai_status st;
    json_t *claim = Ccai_json_load(claim_json, strlen(claim_json), &jerr, &st);
    if (!claim) {
        if (st != CCAI_ERR_PARSE)
            return st;
        st = Ccai_valid_fail(ret_error, NULL, "the claim is not valid JSON: line %u, column %u: %s",
                             jerr.line, jerr.column, jerr.text);
        return st == CCAI_ERR_VALIDATION ? CCAI_ERR_PARSE : st;
    }
    st = Ccai_claim_validate_object(schema, claim, ret_error);
    if (st == CCAI_OK) {
        char *out = Ccai_json_dump(claim, JSON_COMPACT);
        if (out)
            *ret_normalized_json = out;
        else
            st = CCAI_ERR_NOMEM;
    }
    json_decref(claim);
    return st;
}
