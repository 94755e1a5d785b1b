/* A configuration value of each key type: read from text (YAML scalars,
 * the environment, ccai_config_set()), checked as JSON (claims, languages,
 * lexicons), the defaults, and the text form of a scalar. The keys are
 * keys.c. */
#include "config/keys.h"
#include "core/json.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const field_types[] = {"text", "datetime", "email", "phone_number", NULL};

/* Values the reference accepts that libccai refuses with a pointer. */
static const struct {
    const char *path, *value, *msg;
} unsupported[] = {
    {"database.mode", "cosmos_db", "cosmos_db is not supported; use sqlite or postgresql"},
};

/* Locale-independent double formatting: printf uses LC_NUMERIC. */
static void format_double(double v, char *out, size_t outlen)
{
    snprintf(out, outlen, "%g", v);
    const char *dp = localeconv()->decimal_point;
    if (dp && dp[0] && dp[0] != '.' && !dp[1]) {
        char *p = strchr(out, dp[0]);
        if (p)
            *p = '.';
    }
}

void Ccai_key_expected(const Ccai_key *k, char *out, size_t outlen)
{
    char lo[32], hi[32];
    switch (k->type) {
    case CCAI_KEY_STRING:
    case CCAI_KEY_SECRET: snprintf(out, outlen, "a string"); return;
    case CCAI_KEY_INT:
        if (k->imax == INT64_MAX)
            snprintf(out, outlen, "an integer >= %lld", (long long)k->imin);
        else
            snprintf(out, outlen, "an integer between %lld and %lld", (long long)k->imin,
                     (long long)k->imax);
        return;
    case CCAI_KEY_DOUBLE:
        format_double(k->dmin, lo, sizeof lo);
        format_double(k->dmax, hi, sizeof hi);
        snprintf(out, outlen, "a number between %s and %s", lo, hi);
        return;
    case CCAI_KEY_BOOL: snprintf(out, outlen, "a boolean (true/false, yes/no, on/off)"); return;
    case CCAI_KEY_ENUM: {
        size_t n = (size_t)snprintf(out, outlen, "one of");
        for (size_t i = 0; k->choices[i] && n < outlen; i++)
            n += (size_t)snprintf(out + n, outlen - n, "%s %s", i ? "," : "", k->choices[i]);
        return;
    }
    case CCAI_KEY_CLAIM:
        snprintf(out, outlen, "a list of fields {name, type, description}");
        return;
    case CCAI_KEY_LANG: snprintf(out, outlen, "a mapping {default_short_code, availables}"); return;
    case CCAI_KEY_TEXTS: snprintf(out, outlen, "a string or a list of strings"); return;
    case CCAI_KEY_LEXICON:
        snprintf(out, outlen, "a list of entries {grapheme, alias, lang}");
        return;
    case CCAI_KEY_TARGETS:
        snprintf(out, outlen, "a list of targets {sms: +E.164} or {webhook: https://...}");
        return;
    case CCAI_KEY_MENUS: snprintf(out, outlen, "a mapping of menus {prompt, choices}"); return;
    case CCAI_KEY_BY_LANG:
        snprintf(out, outlen, "a string or a mapping of strings by language");
        return;
    case CCAI_KEY_IGNORED: snprintf(out, outlen, "anything"); return;
    }
    snprintf(out, outlen, "a value");
}

void Ccai_quote(const char *s, size_t len, char *out, size_t outlen)
{
    const size_t shown = 48;
    size_t o = 0;
    if (outlen < 16) {
        if (outlen)
            out[0] = '\0';
        return;
    }
    out[o++] = '"';
    size_t i = 0;
    for (; i < len && o + 8 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= shown && (c & 0xC0) != 0x80)
            break;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7F) {
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02X", c);
        } else {
            out[o++] = (char)c;
        }
    }
    /* Cut on a character boundary. */
    while (i < len && o > 1 && ((unsigned char)s[i] & 0xC0) == 0x80) {
        i--;
        o--;
    }
    if (i < len && o + 4 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '"';
    out[o] = '\0';
}

bool Ccai_text_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t n;
        unsigned min;
        if (c < 0x80) {
            if (c == 0)
                return false;
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            min = 0x80;
            c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            min = 0x800;
            c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            min = 0x10000;
            c &= 0x07;
        } else {
            return false;
        }
        if (len - i - 1 < n)
            return false;
        for (size_t j = 1; j <= n; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return false;
            c = (c << 6) | (p[i + j] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

static CCAI_MUST_CHECK bool parse_int(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    unsigned base = 10;
    if (len - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        base = 16;
        i += 2;
    } else if (len - i > 2 && s[i] == '0' && (s[i + 1] == 'o' || s[i + 1] == 'O')) {
        base = 8;
        i += 2;
    }
    if (i == len)
        return false;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        int c = Ccai_to_lower((unsigned char)s[i]);
        unsigned d;
        if (Ccai_is_digit(c))
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return false;
        if (d >= base || v > (limit - d) / base)
            return false;
        v = v * base + d;
    }
    *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return true;
}

static CCAI_MUST_CHECK bool parse_double(const char *s, size_t len, double *out)
{
    /* Check the syntax ourselves: strtod also takes hex, inf, nan and the
     * locale's decimal point. */
    size_t i = 0, digits = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < len && Ccai_is_digit((unsigned char)s[i]))
        i++, digits++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && Ccai_is_digit((unsigned char)s[i]))
            i++, digits++;
    }
    if (!digits)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t ed = 0;
        while (i < len && Ccai_is_digit((unsigned char)s[i]))
            i++, ed++;
        if (!ed)
            return false;
    }
    if (i != len || len >= 64)
        return false;
    char buf[64];
    memcpy(buf, s, len);
    buf[len] = '\0';
    const char *dp = localeconv()->decimal_point;
    char *dot = strchr(buf, '.');
    if (dot && dp && dp[0] && !dp[1])
        *dot = dp[0];
    errno = 0;
    char *end;
    double v = strtod(buf, &end);
    if (*end || errno == ERANGE)
        return false;
    *out = v;
    return true;
}

static CCAI_MUST_CHECK bool parse_bool(const char *s, size_t len, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    char buf[8];
    if (len >= sizeof buf)
        return false;
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)Ccai_to_lower((unsigned char)s[i]);
    buf[len] = '\0';
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(yes); i++) {
        if (strcmp(buf, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(buf, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Report "expected <what>, got <value>"; secrets are never echoed. */
static Ccai_conv bad_value(const Ccai_key *k, const char *s, size_t len, char **ret_msg)
{
    char what[160], got[80];
    Ccai_key_expected(k, what, sizeof what);
    if (k->type == CCAI_KEY_SECRET)
        snprintf(got, sizeof got, "an invalid value");
    else
        Ccai_quote(s, len, got, sizeof got);
    *ret_msg = Ccai_asprintf("expected %s, got %s", what, got);
    return *ret_msg ? CCAI_CONV_BAD : CCAI_CONV_NOMEM;
}

Ccai_conv Ccai_key_bad(char **ret_msg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *ret_msg = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    return *ret_msg ? CCAI_CONV_BAD : CCAI_CONV_NOMEM;
}

/* Through core/json.c: jansson's own parser corrupts text under OOM. */
static Ccai_conv parse_json_text(const Ccai_key *k, const char *s, size_t len, json_t **ret,
                                 char **ret_msg)
{
    Ccai_json_err err = {0, 0, NULL};
    ccai_status st = CCAI_OK;
    json_t *v = Ccai_json_load(s, len, &err, &st);
    if (v) {
        *ret = v;
        return CCAI_CONV_OK;
    }
    if (st == CCAI_ERR_NOMEM)
        return CCAI_CONV_NOMEM;
    char what[160];
    Ccai_key_expected(k, what, sizeof what);
    return Ccai_key_bad(ret_msg, "expected %s as JSON: %s at column %u", what,
                        err.text ? err.text : "invalid JSON", err.column);
}

static Ccai_conv parse_json_value(const Ccai_key *k, const char *s, size_t len,
                                  const json_t *current, json_t **ret, char **ret_msg)
{
    json_t *v = NULL;
    Ccai_conv c = parse_json_text(k, s, len, &v, ret_msg);
    if (c != CCAI_CONV_OK)
        return c;
    c = Ccai_key_check_json(k, v, current, ret, ret_msg);
    json_decref(v);
    return c;
}

Ccai_conv Ccai_key_parse_text(const Ccai_key *k, const char *member, const char *s, size_t len,
                              const json_t *current, json_t **ret, char **ret_msg)
{
    *ret = NULL;
    *ret_msg = NULL;
    if (member) {
        /* One member of a lang map: build {member: value} and merge it. */
        if (k->type != CCAI_KEY_LANG)
            return Ccai_key_bad(ret_msg, "has no member %s", member);
        json_t *mv = NULL;
        if (strcmp(member, "default_short_code") == 0) {
            if (!Ccai_text_valid(s, len))
                return Ccai_key_bad(ret_msg, "default_short_code: not valid UTF-8 text");
            mv = json_stringn(s, len);
            if (!mv)
                return CCAI_CONV_NOMEM;
        } else if (strcmp(member, "availables") == 0) {
            Ccai_conv c = parse_json_text(k, s, len, &mv, ret_msg);
            if (c != CCAI_CONV_OK)
                return c;
        } else {
            return Ccai_key_bad(ret_msg, "has no member %s", member);
        }
        json_t *obj = json_object();
        if (!obj || json_object_set_new(obj, member, mv) != 0) {
            if (!obj)
                json_decref(mv);
            json_decref(obj);
            return CCAI_CONV_NOMEM;
        }
        Ccai_conv c = Ccai_key_check_json(k, obj, current, ret, ret_msg);
        json_decref(obj);
        return c;
    }

    switch (k->type) {
    case CCAI_KEY_STRING:
    case CCAI_KEY_SECRET:
        if (!Ccai_text_valid(s, len))
            return Ccai_key_bad(ret_msg, "expected a string of UTF-8 text without NUL characters");
        *ret = json_stringn(s, len);
        return *ret ? CCAI_CONV_OK : CCAI_CONV_NOMEM;
    case CCAI_KEY_INT: {
        int64_t v;
        if (!parse_int(s, len, &v) || v < k->imin || v > k->imax)
            return bad_value(k, s, len, ret_msg);
        *ret = json_integer((json_int_t)v);
        return *ret ? CCAI_CONV_OK : CCAI_CONV_NOMEM;
    }
    case CCAI_KEY_DOUBLE: {
        double v;
        if (!parse_double(s, len, &v) || !(v >= k->dmin && v <= k->dmax))
            return bad_value(k, s, len, ret_msg);
        *ret = json_real(v);
        return *ret ? CCAI_CONV_OK : CCAI_CONV_NOMEM;
    }
    case CCAI_KEY_BOOL: {
        bool v;
        if (!parse_bool(s, len, &v))
            return bad_value(k, s, len, ret_msg);
        *ret = json_boolean(v);
        return CCAI_CONV_OK;
    }
    case CCAI_KEY_ENUM:
        for (size_t i = 0; i < CCAI_ARRAY_SIZE(unsupported); i++)
            if (strcmp(k->path, unsupported[i].path) == 0 && strlen(unsupported[i].value) == len &&
                strncmp(unsupported[i].value, s, len) == 0)
                return Ccai_key_bad(ret_msg, "%s", unsupported[i].msg);
        for (size_t i = 0; k->choices[i]; i++) {
            const char *c = k->choices[i];
            size_t j = 0;
            while (j < len && c[j] && Ccai_to_lower((unsigned char)s[j]) == c[j])
                j++;
            if (j == len && !c[j]) {
                *ret = json_string(c);
                return *ret ? CCAI_CONV_OK : CCAI_CONV_NOMEM;
            }
        }
        return bad_value(k, s, len, ret_msg);
    case CCAI_KEY_TEXTS: {
        size_t i = 0;
        while (i < len && Ccai_is_space((unsigned char)s[i]))
            i++;
        if (i < len && s[i] == '[')
            return parse_json_value(k, s, len, current, ret, ret_msg);
        if (!Ccai_text_valid(s, len))
            return Ccai_key_bad(ret_msg, "expected a string of UTF-8 text without NUL characters");
        *ret = json_stringn(s, len);
        return *ret ? CCAI_CONV_OK : CCAI_CONV_NOMEM;
    }
    case CCAI_KEY_BY_LANG: {
        size_t i = 0;
        while (i < len && Ccai_is_space((unsigned char)s[i]))
            i++;
        if (i < len && s[i] == '{')
            return parse_json_value(k, s, len, current, ret, ret_msg);
        if (!Ccai_text_valid(s, len))
            return Ccai_key_bad(ret_msg, "expected a string of UTF-8 text without NUL characters");
        *ret = json_stringn(s, len);
        return *ret ? CCAI_CONV_OK : CCAI_CONV_NOMEM;
    }
    case CCAI_KEY_CLAIM:
    case CCAI_KEY_LANG:
    case CCAI_KEY_LEXICON:
    case CCAI_KEY_TARGETS:
    case CCAI_KEY_MENUS: return parse_json_value(k, s, len, current, ret, ret_msg);
    case CCAI_KEY_IGNORED: break;
    }
    return Ccai_key_bad(ret_msg, "cannot be set");
}

static CCAI_MUST_CHECK bool is_identifier(const char *s)
{
    if (!(Ccai_is_alpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; s[i]; i++)
        if (!(Ccai_is_alpha((unsigned char)s[i]) || Ccai_is_digit((unsigned char)s[i]) ||
              s[i] == '_'))
            return false;
    return true;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "a mapping";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a value";
}

static CCAI_MUST_CHECK bool is_nonempty_string(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}

/* A list of at most max items (what: "fields"), each shaped as shape
 * ("{name, type, description}"). */
static Ccai_conv check_list(const json_t *v, const char *what, const char *shape, int max,
                            char **ret_msg)
{
    if (!json_is_array(v))
        return Ccai_key_bad(ret_msg, "expected a list of %s %s, got %s", what, shape, json_kind(v));
    if (json_array_size(v) > (size_t)max)
        return Ccai_key_bad(ret_msg, "too many %s (%zu, at most %d)", what, json_array_size(v),
                            max);
    return CCAI_CONV_OK;
}

/* Member mk is not one of known: "<where>: unknown member "mk" (known)". */
static Ccai_conv unknown_member(char **ret_msg, const char *where, const char *mk,
                                const char *known)
{
    char q[80];
    Ccai_quote(mk, strlen(mk), q, sizeof q);
    return Ccai_key_bad(ret_msg, "%s%sunknown member %s (%s)", where, *where ? ": " : "", q, known);
}

static Ccai_conv check_claim(const json_t *v, char **ret_msg)
{
    Ccai_conv c = check_list(v, "fields", "{name, type, description}", CCAI_FIELDS_MAX, ret_msg);
    if (c != CCAI_CONV_OK)
        return c;
    size_t i;
    json_t *f;
    json_array_foreach(v, i, f)
    {
        if (!json_is_object(f))
            return Ccai_key_bad(ret_msg,
                                "field %zu: expected a mapping {name, type, description}, got %s",
                                i + 1, json_kind(f));
        const char *mk;
        json_t *mv;
        json_object_foreach((json_t *)f, mk, mv)
        {
            if (strcmp(mk, "name") && strcmp(mk, "type") && strcmp(mk, "description")) {
                char where[32];
                snprintf(where, sizeof where, "field %zu", i + 1);
                return unknown_member(ret_msg, where, mk, "name, type, description");
            }
        }
        const json_t *name = json_object_get(f, "name");
        const json_t *type = json_object_get(f, "type");
        const json_t *desc = json_object_get(f, "description");
        if (!json_is_string(name) || json_string_length(name) > CCAI_FIELD_NAME_MAX ||
            !is_identifier(json_string_value(name)))
            return Ccai_key_bad(
                ret_msg,
                "field %zu: name must be an identifier [A-Za-z_][A-Za-z0-9_]* of at most "
                "%d characters",
                i + 1, CCAI_FIELD_NAME_MAX);
        bool type_ok = false;
        for (size_t t = 0; json_is_string(type) && field_types[t]; t++)
            type_ok = type_ok || strcmp(json_string_value(type), field_types[t]) == 0;
        if (!type_ok)
            return Ccai_key_bad(
                ret_msg, "field %zu (%s): type must be one of text, datetime, email, phone_number",
                i + 1, json_string_value(name));
        if (desc && !json_is_null(desc) &&
            (!json_is_string(desc) || json_string_length(desc) > CCAI_FIELD_DESCRIPTION_MAX))
            return Ccai_key_bad(ret_msg,
                                "field %zu (%s): description must be a string of at most %d bytes",
                                i + 1, json_string_value(name), CCAI_FIELD_DESCRIPTION_MAX);
        for (size_t j = 0; j < i; j++)
            if (json_equal(json_object_get(json_array_get(v, j), "name"), name))
                return Ccai_key_bad(ret_msg, "field %zu: name %s is used twice", i + 1,
                                    json_string_value(name));
    }
    return CCAI_CONV_OK;
}

/* conversation.lexicon: what text to speech says for a word (product
 * names...). Entries go into a PLS document (GET /lexicon.xml). */
static Ccai_conv check_lexicon(const json_t *v, char **ret_msg)
{
    Ccai_conv c = check_list(v, "entries", "{grapheme, alias, lang}", CCAI_LEXICON_MAX, ret_msg);
    if (c != CCAI_CONV_OK)
        return c;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_object(e))
            return Ccai_key_bad(ret_msg,
                                "entry %zu: expected a mapping {grapheme, alias, lang}, got %s",
                                i + 1, json_kind(e));
        const char *mk;
        json_t *mv;
        json_object_foreach(e, mk, mv)
        {
            size_t max = strcmp(mk, "lang") == 0 ? 35 : CCAI_LEXICON_TEXT_MAX;
            if (strcmp(mk, "grapheme") && strcmp(mk, "alias") && strcmp(mk, "lang")) {
                char where[32];
                snprintf(where, sizeof where, "entry %zu", i + 1);
                return unknown_member(ret_msg, where, mk, "grapheme, alias, lang");
            }
            if (!is_nonempty_string(mv) || json_string_length(mv) > max ||
                !Ccai_text_valid(json_string_value(mv), json_string_length(mv)))
                return Ccai_key_bad(ret_msg, "entry %zu: %s must be text of 1 to %zu bytes", i + 1,
                                    mk, max);
        }
        if (!json_object_get(e, "grapheme") || !json_object_get(e, "alias"))
            return Ccai_key_bad(ret_msg, "entry %zu: grapheme and alias are required", i + 1);
    }
    return CCAI_CONV_OK;
}

/* emergencies.targets: each entry one target, {"sms": "+E.164"} (an
 * on-call number) or {"webhook": "http(s)://..."}. */
static Ccai_conv check_targets(const json_t *v, char **ret_msg)
{
    Ccai_conv c = check_list(v, "targets", "{sms} or {webhook}", CCAI_TARGETS_MAX, ret_msg);
    if (c != CCAI_CONV_OK)
        return c;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_object(e) || json_object_size(e) != 1)
            return Ccai_key_bad(
                ret_msg, "target %zu: expected a mapping with one member, sms or webhook", i + 1);
        const char *to = json_string_value(json_object_get(e, "sms"));
        const char *url = json_string_value(json_object_get(e, "webhook"));
        if (to) {
            size_t n = strlen(to), digits = 0;
            bool ok = n >= 4 && n <= 16 && to[0] == '+';
            for (size_t k = 1; ok && k < n; k++, digits++)
                ok = to[k] >= '0' && to[k] <= '9';
            if (!ok || digits < 3)
                return Ccai_key_bad(
                    ret_msg, "target %zu: sms must be a phone number in E.164 (+33612345678)",
                    i + 1);
        } else if (url) {
            size_t n = strlen(url);
            bool scheme = strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0;
            if (!scheme || n > CCAI_TARGET_URL_MAX || !Ccai_text_valid(url, n) ||
                strpbrk(url, " \t\r\n"))
                return Ccai_key_bad(
                    ret_msg, "target %zu: webhook must be an http(s) URL of at most %d bytes",
                    i + 1, CCAI_TARGET_URL_MAX);
        } else {
            return Ccai_key_bad(
                ret_msg, "target %zu: expected sms (a phone number) or webhook (a URL)", i + 1);
        }
    }
    return CCAI_CONV_OK;
}

static Ccai_conv check_lang_entry(size_t i, const json_t *e, char **ret_msg)
{
    if (!json_is_object(e))
        return Ccai_key_bad(ret_msg,
                            "availables item %zu: expected a mapping {short_code, voice}, got %s",
                            i + 1, json_kind(e));
    const char *mk;
    json_t *mv;
    json_object_foreach((json_t *)e, mk, mv)
    {
        if (strcmp(mk, "short_code") == 0 || strcmp(mk, "voice") == 0) {
            if (!is_nonempty_string(mv))
                return Ccai_key_bad(ret_msg, "availables item %zu: %s must be a non-empty string",
                                    i + 1, mk);
        } else if (strcmp(mk, "custom_voice_endpoint_id") == 0) {
            if (!json_is_null(mv) && !json_is_string(mv))
                return Ccai_key_bad(ret_msg, "availables item %zu: %s must be a string", i + 1, mk);
        } else if (strcmp(mk, "pronunciations_en") == 0) {
            size_t j;
            json_t *p;
            if (!json_is_array(mv))
                return Ccai_key_bad(ret_msg, "availables item %zu: %s must be a list of strings",
                                    i + 1, mk);
            json_array_foreach(mv, j, p)
            {
                if (!json_is_string(p))
                    return Ccai_key_bad(
                        ret_msg, "availables item %zu: %s must be a list of strings", i + 1, mk);
            }
        } else {
            char where[40];
            snprintf(where, sizeof where, "availables item %zu", i + 1);
            return unknown_member(ret_msg, where, mk,
                                  "short_code, voice, pronunciations_en, "
                                  "custom_voice_endpoint_id");
        }
    }
    if (!json_object_get(e, "short_code") || !json_object_get(e, "voice"))
        return Ccai_key_bad(ret_msg, "availables item %zu: short_code and voice are required",
                            i + 1);
    return CCAI_CONV_OK;
}

static Ccai_conv check_lang(const json_t *v, const json_t *current, json_t **ret, char **ret_msg)
{
    if (!json_is_object(v))
        return Ccai_key_bad(ret_msg, "expected a mapping {default_short_code, availables}, got %s",
                            json_kind(v));
    const char *mk;
    json_t *mv;
    json_object_foreach((json_t *)v, mk, mv)
    {
        if (strcmp(mk, "default_short_code") == 0) {
            if (!is_nonempty_string(mv))
                return Ccai_key_bad(ret_msg, "default_short_code must be a non-empty string");
        } else if (strcmp(mk, "availables") == 0) {
            if (!json_is_array(mv) || json_array_size(mv) == 0 || json_array_size(mv) > 64)
                return Ccai_key_bad(ret_msg, "availables must be a list of 1 to 64 languages");
            size_t i;
            json_t *e;
            json_array_foreach(mv, i, e)
            {
                Ccai_conv c = check_lang_entry(i, e, ret_msg);
                if (c != CCAI_CONV_OK)
                    return c;
            }
        } else {
            return unknown_member(ret_msg, "", mk, "default_short_code, availables");
        }
    }
    json_t *merged = json_is_object(current) ? json_deep_copy(current) : json_object();
    if (!merged || json_object_update(merged, (json_t *)v) != 0) {
        json_decref(merged);
        return CCAI_CONV_NOMEM;
    }
    *ret = merged;
    return CCAI_CONV_OK;
}

Ccai_conv Ccai_key_check_json(const Ccai_key *k, const json_t *v, const json_t *current,
                              json_t **ret, char **ret_msg)
{
    *ret = NULL;
    *ret_msg = NULL;
    Ccai_conv c = CCAI_CONV_OK;
    switch (k->type) {
    case CCAI_KEY_CLAIM: c = check_claim(v, ret_msg); break;
    case CCAI_KEY_LEXICON: c = check_lexicon(v, ret_msg); break;
    case CCAI_KEY_TARGETS: c = check_targets(v, ret_msg); break;
    case CCAI_KEY_MENUS: c = Ccai_key_check_menus(v, ret_msg); break;
    case CCAI_KEY_BY_LANG: c = Ccai_key_check_by_lang(v, ret_msg); break;
    case CCAI_KEY_LANG: return check_lang(v, current, ret, ret_msg);
    case CCAI_KEY_TEXTS:
        if (json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
            {
                if (!json_is_string(e))
                    return Ccai_key_bad(ret_msg, "item %zu: expected a string, got %s", i + 1,
                                        json_kind(e));
            }
        } else if (!json_is_string(v)) {
            return Ccai_key_bad(ret_msg, "expected a string or a list of strings, got %s",
                                json_kind(v));
        }
        break;
    default: return Ccai_key_bad(ret_msg, "expected a scalar, got %s", json_kind(v));
    }
    if (c == CCAI_CONV_OK)
        *ret = json_incref((json_t *)v);
    return c;
}

Ccai_conv Ccai_key_default(const Ccai_key *k, json_t **ret)
{
    *ret = NULL;
    if (!k->def)
        return CCAI_CONV_OK;
    char *msg = NULL;
    Ccai_conv c = Ccai_key_parse_text(k, NULL, k->def, strlen(k->def), NULL, ret, &msg);
    /* The table's defaults are checked by the unit tests; a bad one is a bug. */
    ccai_free(msg);
    return c == CCAI_CONV_BAD ? CCAI_CONV_OK : c;
}

void Ccai_key_format(const json_t *v, char *out, size_t outlen)
{
    if (json_is_integer(v))
        snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        format_double(json_real_value(v), out, outlen);
    else if (json_is_boolean(v))
        snprintf(out, outlen, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_string(v))
        snprintf(out, outlen, "%s", json_string_value(v));
    else if (outlen)
        out[0] = '\0';
}
