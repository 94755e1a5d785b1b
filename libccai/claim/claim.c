/* The claim schema: an ordered, ref-counted list of typed fields.
 *
 * The three policyholder fields are not stored: they are a view appended
 * after the added fields, minus any of them that an added field of the same
 * name replaces (the added definition keeps the position it was added at,
 * as a key re-assigned in the reference's Python dict would). */
#include "claim/claim.h"
#include "core/json.h"

#include <string.h>

/* Largest JSON text ccai_claim_schema_from_json() reads. */
#define SCHEMA_JSON_MAX ((size_t)256 * 1024)
/* Longest excerpt of an offending name quoted in an error message. */
#define QUOTE_MAX 80u

typedef struct Ccai_field {
    char *name;
    ccai_field_type type;
    char *description; /* NULL when the field has none */
} Ccai_field;

struct ccai_claim_schema {
    unsigned refs;
    bool frozen;
    /* Bit i set: policyholder[i] is replaced by an added field. */
    unsigned overridden;
    size_t nfields;
    Ccai_field fields[CCAI_FIELDS_MAX];
};

typedef struct Ccai_field_def {
    const char *name;
    ccai_field_type type;
    const char *description;
} Ccai_field_def;

static const Ccai_field_def policyholder[] = {
    {"policyholder_email", CCAI_FIELD_EMAIL, "Email of the policyholder"},
    {"policyholder_name", CCAI_FIELD_TEXT, "Full name of the policyholder"},
    {"policyholder_phone", CCAI_FIELD_PHONE_NUMBER, "Phone number of the policyholder, E.164"},
};

/* The reference's default insurance claim (call-center-ai). */
static const Ccai_field_def default_fields[] = {
    {"incident_datetime", CCAI_FIELD_DATETIME, "Date and time of the incident"},
    {"incident_description", CCAI_FIELD_TEXT, "Description of the incident"},
    {"incident_location", CCAI_FIELD_TEXT, "Location of the incident"},
    {"injuries", CCAI_FIELD_TEXT, "Injuries sustained during the incident, if any"},
    {"involved_parties", CCAI_FIELD_TEXT, "Individuals and vehicles involved in the incident"},
    {"medical_records", CCAI_FIELD_TEXT, "Medical records related to the incident"},
    {"policy_number", CCAI_FIELD_TEXT, "Insurance policy number"},
    {"pre_existing_damages", CCAI_FIELD_TEXT, "Damages that existed before the incident"},
    {"witnesses", CCAI_FIELD_TEXT, "Witnesses of the incident"},
};

static const char *const type_names[] = {"text", "datetime", "email", "phone_number"};

#define TYPE_CHOICES "text, datetime, email or phone_number"

CCAI_EXPORT const char *ccai_field_type_str(ccai_field_type type)
{
    if ((unsigned)type < CCAI_ARRAY_SIZE(type_names))
        return type_names[type];
    return "unknown";
}

CCAI_EXPORT ccai_status ccai_field_type_parse(const char *name, ccai_field_type *ret)
{
    if (!name || !ret)
        return CCAI_ERR_INVALID_ARG;
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(type_names); i++) {
        if (strcmp(name, type_names[i]) == 0) {
            *ret = (ccai_field_type)i;
            return CCAI_OK;
        }
    }
    return CCAI_ERR_NOT_FOUND;
}

static CCAI_MUST_CHECK bool type_valid(ccai_field_type type)
{
    return (unsigned)type < CCAI_ARRAY_SIZE(type_names);
}

static CCAI_MUST_CHECK bool name_valid(const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || len > CCAI_FIELD_NAME_MAX || Ccai_is_digit((unsigned char)name[0]))
        return false;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)name[i];
        if (!Ccai_is_alpha(c) && !Ccai_is_digit(c) && c != '_')
            return false;
    }
    return true;
}

/* Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF):
 * descriptions end up in JSON documents and prompts. */
static CCAI_MUST_CHECK bool utf8_valid(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    while (*s) {
        unsigned char c = *s;
        size_t n;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            s++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            return false;
        }
        if (s[1] < lo || s[1] > hi)
            return false;
        for (size_t k = 2; k <= n; k++) {
            if (s[k] < 0x80 || s[k] > 0xBF)
                return false;
        }
        s += n + 1;
    }
    return true;
}

static CCAI_MUST_CHECK bool description_valid(const char *description)
{
    return !description ||
           (strlen(description) <= CCAI_FIELD_DESCRIPTION_MAX && utf8_valid(description));
}

static int policyholder_index(const char *name)
{
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(policyholder); i++) {
        if (strcmp(name, policyholder[i].name) == 0)
            return (int)i;
    }
    return -1;
}

static size_t view_count(const ccai_claim_schema *schema)
{
    size_t n = schema->nfields;
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(policyholder); i++) {
        if (!(schema->overridden & (1u << i)))
            n++;
    }
    return n;
}

/* Field @p index of the view into *out; false past the end. */
static CCAI_MUST_CHECK bool view_field(const ccai_claim_schema *schema, size_t index,
                                       Ccai_field_def *out)
{
    if (index < schema->nfields) {
        const Ccai_field *f = &schema->fields[index];
        *out = (Ccai_field_def){f->name, f->type, f->description};
        return true;
    }
    index -= schema->nfields;
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(policyholder); i++) {
        if (schema->overridden & (1u << i))
            continue;
        if (index == 0) {
            *out = policyholder[i];
            return true;
        }
        index--;
    }
    return false;
}

static CCAI_MUST_CHECK bool stored_has(const ccai_claim_schema *schema, const char *name)
{
    for (size_t i = 0; i < schema->nfields; i++) {
        if (strcmp(schema->fields[i].name, name) == 0)
            return true;
    }
    return false;
}

/* Append without validating the arguments (the callers did). */
static CCAI_MUST_CHECK ccai_status schema_append(ccai_claim_schema *schema, const char *name,
                                                 ccai_field_type type, const char *description)
{
    if (stored_has(schema, name))
        return CCAI_ERR_CONFLICT;
    int ph = policyholder_index(name);
    /* Replacing a policyholder field leaves the count as it is. */
    if (ph < 0 && view_count(schema) >= CCAI_FIELDS_MAX)
        return CCAI_ERR_LIMIT;

    Ccai_field f = {Ccai_strdup(name), type, NULL};
    if (!f.name)
        return CCAI_ERR_NOMEM;
    if (description && !(f.description = Ccai_strdup(description))) {
        ccai_free(f.name);
        return CCAI_ERR_NOMEM;
    }
    schema->fields[schema->nfields++] = f;
    if (ph >= 0)
        schema->overridden |= 1u << ph;
    return CCAI_OK;
}

static ccai_claim_schema *schema_alloc(void)
{
    ccai_claim_schema *schema = Ccai_calloc(1, sizeof *schema);
    if (schema)
        schema->refs = 1;
    return schema;
}

static void schema_free(ccai_claim_schema *schema)
{
    for (size_t i = 0; i < schema->nfields; i++) {
        ccai_free(schema->fields[i].name);
        ccai_free(schema->fields[i].description);
    }
    ccai_free(schema);
}

CCAI_EXPORT ccai_status ccai_claim_schema_new(ccai_claim_schema **ret)
{
    if (!ret)
        return CCAI_ERR_INVALID_ARG;
    ccai_claim_schema *schema = schema_alloc();
    if (!schema)
        return CCAI_ERR_NOMEM;
    *ret = schema;
    return CCAI_OK;
}

CCAI_EXPORT ccai_status ccai_claim_schema_new_default(ccai_claim_schema **ret)
{
    if (!ret)
        return CCAI_ERR_INVALID_ARG;
    ccai_claim_schema *schema = schema_alloc();
    if (!schema)
        return CCAI_ERR_NOMEM;
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(default_fields); i++) {
        const Ccai_field_def *d = &default_fields[i];
        ccai_status st = schema_append(schema, d->name, d->type, d->description);
        if (st != CCAI_OK) {
            schema_free(schema);
            return st;
        }
    }
    *ret = schema;
    return CCAI_OK;
}

CCAI_EXPORT ccai_status ccai_claim_schema_add(ccai_claim_schema *schema, const char *name,
                                              ccai_field_type type, const char *description)
{
    if (!schema || !name)
        return CCAI_ERR_INVALID_ARG;
    if (schema->frozen)
        return CCAI_ERR_STATE;
    if (!name_valid(name) || !type_valid(type) || !description_valid(description))
        return CCAI_ERR_INVALID_ARG;
    return schema_append(schema, name, type, description);
}

CCAI_EXPORT ccai_claim_schema *ccai_claim_schema_ref(ccai_claim_schema *schema)
{
    if (!schema)
        return NULL;
    schema->refs++;
    schema->frozen = true;
    return schema;
}

CCAI_EXPORT void ccai_claim_schema_unref(ccai_claim_schema *schema)
{
    if (!schema)
        return;
    if (--schema->refs == 0)
        schema_free(schema);
}

bool Ccai_claim_schema_frozen(const ccai_claim_schema *schema)
{
    return schema && schema->frozen;
}

CCAI_EXPORT size_t ccai_claim_schema_count(const ccai_claim_schema *schema)
{
    return schema ? view_count(schema) : 0;
}

CCAI_EXPORT ccai_status ccai_claim_schema_field(const ccai_claim_schema *schema, size_t index,
                                                const char **ret_name, ccai_field_type *ret_type,
                                                const char **ret_description)
{
    if (!schema)
        return CCAI_ERR_INVALID_ARG;
    Ccai_field_def f;
    if (!view_field(schema, index, &f))
        return CCAI_ERR_NOT_FOUND;
    if (ret_name)
        *ret_name = f.name;
    if (ret_type)
        *ret_type = f.type;
    if (ret_description)
        *ret_description = f.description;
    return CCAI_OK;
}

CCAI_EXPORT ccai_status ccai_claim_schema_find(const ccai_claim_schema *schema, const char *name,
                                               size_t *ret_index)
{
    if (!schema || !name || !ret_index)
        return CCAI_ERR_INVALID_ARG;
    Ccai_field_def f;
    for (size_t i = 0; view_field(schema, i, &f); i++) {
        if (strcmp(f.name, name) == 0) {
            *ret_index = i;
            return CCAI_OK;
        }
    }
    return CCAI_ERR_NOT_FOUND;
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */
/* ------------------------------------------------------------------------ */

/* Append @p s quoted for an error message: escaped, cut after QUOTE_MAX
 * bytes. Only rejected names and types are quoted, so any bytes (NULs
 * included) may arrive here. */
static CCAI_MUST_CHECK bool buf_quote(Ccai_buf *b, const char *s, size_t len)
{
    bool ok = Ccai_buf_puts(b, "\"");
    for (size_t i = 0; ok && i < len && i < QUOTE_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            ok = Ccai_buf_printf(b, "\\%c", c);
        else if (c < 0x20 || c >= 0x7F)
            ok = Ccai_buf_printf(b, "\\x%02X", c);
        else
            ok = Ccai_buf_append(b, &s[i], 1);
    }
    if (ok && len > QUOTE_MAX)
        ok = Ccai_buf_puts(b, "...");
    return ok && Ccai_buf_puts(b, "\"");
}

/* Set *ret_errmsg to "claim[index]: " + [quoted name + ": "] + message.
 * Returns @p status, or CCAI_ERR_NOMEM when the message cannot be built. */
static CCAI_MUST_CHECK ccai_status element_error(char **ret_errmsg, ccai_status status,
                                                 size_t index, const json_t *name, const char *fmt,
                                                 ...) CCAI_PRINTF(5, 6);

static CCAI_MUST_CHECK ccai_status element_error(char **ret_errmsg, ccai_status status,
                                                 size_t index, const json_t *name, const char *fmt,
                                                 ...)
{
    if (!ret_errmsg)
        return status;
    Ccai_buf b = {0};
    bool ok = Ccai_buf_printf(&b, "claim[%zu]: ", index);
    if (ok && name) {
        ok = Ccai_buf_puts(&b, "field ") &&
             buf_quote(&b, json_string_value(name), json_string_length(name)) &&
             Ccai_buf_puts(&b, ": ");
    }
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
    *ret_errmsg = out;
    return status;
}

/* One element of the array; on error *ret_errmsg is set as documented. */
static CCAI_MUST_CHECK ccai_status add_element(ccai_claim_schema *schema, size_t index,
                                               const json_t *elem, char **ret_errmsg)
{
    if (!json_is_object(elem))
        return element_error(ret_errmsg, CCAI_ERR_VALIDATION, index, NULL,
                             "expected an object {\"name\": ..., \"type\": ...}, got %s",
                             Ccai_json_kind(elem));

    const json_t *jname = json_object_get(elem, "name");
    if (!jname)
        return element_error(ret_errmsg, CCAI_ERR_VALIDATION, index, NULL,
                             "missing \"name\" (a string)");
    if (!json_is_string(jname))
        return element_error(ret_errmsg, CCAI_ERR_VALIDATION, index, NULL,
                             "\"name\" must be a string, got %s", Ccai_json_kind(jname));
    const char *name = json_string_value(jname);
    if (strlen(name) != json_string_length(jname) || !name_valid(name)) {
        if (json_string_length(jname) > CCAI_FIELD_NAME_MAX)
            return element_error(ret_errmsg, CCAI_ERR_VALIDATION, index, jname,
                                 "name is longer than %d characters", CCAI_FIELD_NAME_MAX);
        return element_error(ret_errmsg, CCAI_ERR_VALIDATION, index, jname,
                             "name must match [A-Za-z_][A-Za-z0-9_]*");
    }

    const json_t *jtype = json_object_get(elem, "type");
    if (!jtype)
        return element_error(ret_errmsg, CCAI_ERR_VALIDATION, index, jname,
                             "missing \"type\" (" TYPE_CHOICES ")");
    if (!json_is_string(jtype))
        return element_error(ret_errmsg, CCAI_ERR_VALIDATION, index, jname,
                             "\"type\" must be a string (" TYPE_CHOICES "), got %s",
                             Ccai_json_kind(jtype));
    ccai_field_type type;
    if (strlen(json_string_value(jtype)) != json_string_length(jtype) ||
        ccai_field_type_parse(json_string_value(jtype), &type) != CCAI_OK) {
        if (!ret_errmsg)
            return CCAI_ERR_VALIDATION;
        Ccai_buf b = {0};
        bool ok = buf_quote(&b, json_string_value(jtype), json_string_length(jtype));
        ccai_status st = ok ? element_error(ret_errmsg, CCAI_ERR_VALIDATION, index, NULL,
                                            "unknown type %s (expected " TYPE_CHOICES ")", b.data)
                            : CCAI_ERR_NOMEM;
        Ccai_buf_free(&b);
        return st;
    }

    const json_t *jdesc = json_object_get(elem, "description");
    const char *description = NULL;
    if (jdesc && !json_is_null(jdesc)) {
        if (!json_is_string(jdesc))
            return element_error(ret_errmsg, CCAI_ERR_VALIDATION, index, jname,
                                 "\"description\" must be a string, got %s", Ccai_json_kind(jdesc));
        description = json_string_value(jdesc);
        if (strlen(description) != json_string_length(jdesc))
            return element_error(ret_errmsg, CCAI_ERR_VALIDATION, index, jname,
                                 "description contains a NUL character");
        if (json_string_length(jdesc) > CCAI_FIELD_DESCRIPTION_MAX)
            return element_error(ret_errmsg, CCAI_ERR_VALIDATION, index, jname,
                                 "description is longer than %d bytes (%zu)",
                                 CCAI_FIELD_DESCRIPTION_MAX, json_string_length(jdesc));
    }

    ccai_status st = schema_append(schema, name, type, description);
    switch (st) {
    case CCAI_ERR_CONFLICT:
        return element_error(ret_errmsg, CCAI_ERR_VALIDATION, index, jname,
                             "the name is used by an earlier field");
    case CCAI_ERR_LIMIT:
        return element_error(ret_errmsg, CCAI_ERR_LIMIT, index, jname,
                             "too many fields: a schema holds at most %d, the 3 policyholder "
                             "fields included",
                             CCAI_FIELDS_MAX);
    default: return st;
    }
}

ccai_status Ccai_claim_schema_from_jansson(const json_t *array, ccai_claim_schema **ret,
                                           char **ret_errmsg)
{
    if (!array || !ret)
        return CCAI_ERR_INVALID_ARG;
    if (!json_is_array(array)) {
        if (!ret_errmsg)
            return CCAI_ERR_VALIDATION;
        char *msg = Ccai_asprintf("claim: expected an array of fields [{\"name\": ..., \"type\": "
                                  "...}], got %s",
                                  Ccai_json_kind(array));
        if (!msg)
            return CCAI_ERR_NOMEM;
        *ret_errmsg = msg;
        return CCAI_ERR_VALIDATION;
    }

    ccai_claim_schema *schema = schema_alloc();
    if (!schema)
        return CCAI_ERR_NOMEM;
    ccai_status st = CCAI_OK;
    size_t index;
    const json_t *elem;
    json_array_foreach(array, index, elem)
    {
        st = add_element(schema, index, elem, ret_errmsg);
        if (st != CCAI_OK)
            goto cleanup;
    }
    *ret = schema;
    return CCAI_OK;

cleanup:
    schema_free(schema);
    return st;
}

CCAI_EXPORT ccai_status ccai_claim_schema_from_json(const char *json, size_t len,
                                                    ccai_claim_schema **ret, char **ret_errmsg)
{
    if (!json || !ret)
        return CCAI_ERR_INVALID_ARG;
    if (len == (size_t)-1)
        len = strnlen(json, SCHEMA_JSON_MAX + 1);
    if (len > SCHEMA_JSON_MAX) {
        if (!ret_errmsg)
            return CCAI_ERR_LIMIT;
        char *msg =
            Ccai_asprintf("claim: the schema JSON is larger than %zu bytes", SCHEMA_JSON_MAX);
        if (!msg)
            return CCAI_ERR_NOMEM;
        *ret_errmsg = msg;
        return CCAI_ERR_LIMIT;
    }

    Ccai_json_err jerr;
    ccai_status st;
    json_t *root = Ccai_json_load(json, len, &jerr, &st);
    if (!root) {
        if (st != CCAI_ERR_PARSE || !ret_errmsg)
            return st;
        char *msg =
            Ccai_asprintf("claim: line %u, column %u: %s", jerr.line, jerr.column, jerr.text);
        if (!msg)
            return CCAI_ERR_NOMEM;
        *ret_errmsg = msg;
        return CCAI_ERR_PARSE;
    }
    st = Ccai_claim_schema_from_jansson(root, ret, ret_errmsg);
    json_decref(root);
    return st;
}

json_t *Ccai_claim_schema_to_jansson(const ccai_claim_schema *schema)
{
    if (!schema)
        return NULL;
    json_t *array = json_array();
    if (!array)
        return NULL;
    Ccai_field_def f;
    for (size_t i = 0; view_field(schema, i, &f); i++) {
        json_t *obj = json_object();
        if (!obj || json_array_append_new(array, obj) != 0 ||
            json_object_set_new(obj, "name", json_string(f.name)) != 0 ||
            json_object_set_new(obj, "type", json_string(ccai_field_type_str(f.type))) != 0 ||
            (f.description &&
             json_object_set_new(obj, "description", json_string(f.description)) != 0))
            goto cleanup;
    }
    return array;

cleanup:
    json_decref(array);
    return NULL;
}

CCAI_EXPORT ccai_status ccai_claim_schema_to_json(const ccai_claim_schema *schema, char **ret_json)
{
    if (!schema || !ret_json)
        return CCAI_ERR_INVALID_ARG;
    json_t *array = Ccai_claim_schema_to_jansson(schema);
    if (!array)
        return CCAI_ERR_NOMEM;
    char *out = Ccai_json_dump(array, JSON_COMPACT);
    json_decref(array);
    if (!out)
        return CCAI_ERR_NOMEM;
    *ret_json = out;
    return CCAI_OK;
}
