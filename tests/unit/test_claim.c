/* Unit tests: claim schema (claim/claim.c) and value validation
 * (claim/validate.c). */
#include "claim/claim.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

static void assert_contains(const char *haystack, const char *needle)
{
    if (!haystack || !strstr(haystack, needle))
        fail_msg("\"%s\" does not contain \"%s\"", haystack ? haystack : "(null)", needle);
}

static void assert_field(const ccai_claim_schema *schema, size_t index, const char *name,
                         ccai_field_type type, const char *description)
{
    const char *n = NULL, *d = "unset";
    ccai_field_type t = (ccai_field_type)-1;
    assert_int_equal(ccai_claim_schema_field(schema, index, &n, &t, &d), CCAI_OK);
    assert_string_equal(n, name);
    assert_int_equal(t, type);
    if (description)
        assert_string_equal(d, description);
    else
        assert_null(d);
    size_t found = SIZE_MAX;
    assert_int_equal(ccai_claim_schema_find(schema, name, &found), CCAI_OK);
    assert_int_equal(found, index);
}

static char *make_string(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* ------------------------------------------------------------------------ */
/* Types                                                                    */
/* ------------------------------------------------------------------------ */

static void test_field_type_names(void **state)
{
    (void)state;
    static const struct {
        ccai_field_type type;
        const char *name;
    } cases[] = {
        {CCAI_FIELD_TEXT, "text"},
        {CCAI_FIELD_DATETIME, "datetime"},
        {CCAI_FIELD_EMAIL, "email"},
        {CCAI_FIELD_PHONE_NUMBER, "phone_number"},
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(cases); i++) {
        ccai_field_type t = (ccai_field_type)-1;
        assert_string_equal(ccai_field_type_str(cases[i].type), cases[i].name);
        assert_int_equal(ccai_field_type_parse(cases[i].name, &t), CCAI_OK);
        assert_int_equal(t, cases[i].type);
    }
    assert_string_equal(ccai_field_type_str((ccai_field_type)4), "unknown");
    assert_string_equal(ccai_field_type_str((ccai_field_type)-1), "unknown");

    ccai_field_type t = CCAI_FIELD_EMAIL;
    assert_int_equal(ccai_field_type_parse("date", &t), CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_field_type_parse("Text", &t), CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_field_type_parse("", &t), CCAI_ERR_NOT_FOUND);
    assert_int_equal(t, CCAI_FIELD_EMAIL);
    assert_int_equal(ccai_field_type_parse(NULL, &t), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_field_type_parse("text", NULL), CCAI_ERR_INVALID_ARG);
}

/* ------------------------------------------------------------------------ */
/* Schema object                                                            */
/* ------------------------------------------------------------------------ */

static void assert_policyholder_tail(const ccai_claim_schema *schema, size_t first)
{
    assert_field(schema, first, "policyholder_email", CCAI_FIELD_EMAIL,
                 "Email of the policyholder");
    assert_field(schema, first + 1, "policyholder_name", CCAI_FIELD_TEXT,
                 "Full name of the policyholder");
    assert_field(schema, first + 2, "policyholder_phone", CCAI_FIELD_PHONE_NUMBER,
                 "Phone number of the policyholder, E.164");
}

static void test_schema_new_empty(void **state)
{
    (void)state;
    ccai_claim_schema *s = NULL;
    assert_int_equal(ccai_claim_schema_new(&s), CCAI_OK);
    assert_non_null(s);
    assert_false(Ccai_claim_schema_frozen(s));
    assert_int_equal(ccai_claim_schema_count(s), 3);
    assert_policyholder_tail(s, 0);
    assert_int_equal(ccai_claim_schema_field(s, 3, NULL, NULL, NULL), CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_claim_schema_field(s, SIZE_MAX, NULL, NULL, NULL), CCAI_ERR_NOT_FOUND);
    /* Out pointers may all be NULL. */
    assert_int_equal(ccai_claim_schema_field(s, 0, NULL, NULL, NULL), CCAI_OK);
    size_t idx = 42;
    assert_int_equal(ccai_claim_schema_find(s, "nope", &idx), CCAI_ERR_NOT_FOUND);
    assert_int_equal(idx, 42);
    ccai_claim_schema_unref(s);
}

static void test_schema_add(void **state)
{
    (void)state;
    ccai_claim_schema *s = NULL;
    assert_int_equal(ccai_claim_schema_new(&s), CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "vehicle", CCAI_FIELD_TEXT, "The car"), CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "_when2", CCAI_FIELD_DATETIME, NULL), CCAI_OK);
    assert_int_equal(ccai_claim_schema_count(s), 5);
    assert_field(s, 0, "vehicle", CCAI_FIELD_TEXT, "The car");
    assert_field(s, 1, "_when2", CCAI_FIELD_DATETIME, NULL);
    assert_policyholder_tail(s, 2);

    /* Duplicates, also of a policyholder field already replaced. */
    assert_int_equal(ccai_claim_schema_add(s, "vehicle", CCAI_FIELD_EMAIL, NULL),
                     CCAI_ERR_CONFLICT);
    assert_int_equal(ccai_claim_schema_add(s, "policyholder_name", CCAI_FIELD_TEXT, NULL), CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "policyholder_name", CCAI_FIELD_TEXT, NULL),
                     CCAI_ERR_CONFLICT);
    /* Names are case-sensitive. */
    assert_int_equal(ccai_claim_schema_add(s, "Vehicle", CCAI_FIELD_TEXT, NULL), CCAI_OK);

    static const char *const bad_names[] = {
        "", "1abc", "a b", "a-b", "a.b", "caf\xc3\xa9", "a\n", " a", "$",
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(bad_names); i++)
        assert_int_equal(ccai_claim_schema_add(s, bad_names[i], CCAI_FIELD_TEXT, NULL),
                         CCAI_ERR_INVALID_ARG);

    char *name64 = make_string('n', CCAI_FIELD_NAME_MAX);
    char *name65 = make_string('n', CCAI_FIELD_NAME_MAX + 1);
    assert_int_equal(ccai_claim_schema_add(s, name65, CCAI_FIELD_TEXT, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_claim_schema_add(s, name64, CCAI_FIELD_TEXT, NULL), CCAI_OK);

    char *desc_max = make_string('d', CCAI_FIELD_DESCRIPTION_MAX);
    char *desc_long = make_string('d', CCAI_FIELD_DESCRIPTION_MAX + 1);
    assert_int_equal(ccai_claim_schema_add(s, "d1", CCAI_FIELD_TEXT, desc_long),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_claim_schema_add(s, "d2", CCAI_FIELD_TEXT, "bad \xff utf-8"),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_claim_schema_add(s, "d3", CCAI_FIELD_TEXT, desc_max), CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "d4", CCAI_FIELD_TEXT, "Lieu de l'accident \xc3\xa9"),
                     CCAI_OK);

    assert_int_equal(ccai_claim_schema_add(s, "t1", (ccai_field_type)4, NULL),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_claim_schema_add(s, "t2", (ccai_field_type)-1, NULL),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_claim_schema_add(NULL, "x", CCAI_FIELD_TEXT, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_claim_schema_add(s, NULL, CCAI_FIELD_TEXT, NULL), CCAI_ERR_INVALID_ARG);

    /* None of the rejected names went in. */
    size_t idx;
    assert_int_equal(ccai_claim_schema_find(s, "d1", &idx), CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_claim_schema_find(s, "t1", &idx), CCAI_ERR_NOT_FOUND);
    assert_int_equal(ccai_claim_schema_find(s, name65, &idx), CCAI_ERR_NOT_FOUND);
    /* vehicle _when2 policyholder_name Vehicle n*64 d3 d4 + email, phone */
    assert_int_equal(ccai_claim_schema_count(s), 9);

    free(name64);
    free(name65);
    free(desc_max);
    free(desc_long);
    ccai_claim_schema_unref(s);
}

static void test_schema_limit(void **state)
{
    (void)state;
    ccai_claim_schema *s = NULL;
    assert_int_equal(ccai_claim_schema_new(&s), CCAI_OK);
    char name[16];
    for (int i = 0; i < CCAI_FIELDS_MAX - 3; i++) {
        snprintf(name, sizeof name, "f%d", i);
        assert_int_equal(ccai_claim_schema_add(s, name, CCAI_FIELD_TEXT, NULL), CCAI_OK);
    }
    assert_int_equal(ccai_claim_schema_count(s), CCAI_FIELDS_MAX);
    assert_int_equal(ccai_claim_schema_add(s, "one_more", CCAI_FIELD_TEXT, NULL), CCAI_ERR_LIMIT);
    /* Conflict is reported before the limit. */
    assert_int_equal(ccai_claim_schema_add(s, "f0", CCAI_FIELD_TEXT, NULL), CCAI_ERR_CONFLICT);
    /* Replacing a policyholder field does not grow the schema. */
    assert_int_equal(ccai_claim_schema_add(s, "policyholder_phone", CCAI_FIELD_TEXT, NULL),
                     CCAI_OK);
    assert_int_equal(ccai_claim_schema_count(s), CCAI_FIELDS_MAX);
    assert_field(s, CCAI_FIELDS_MAX - 3, "policyholder_phone", CCAI_FIELD_TEXT, NULL);
    assert_field(s, CCAI_FIELDS_MAX - 2, "policyholder_email", CCAI_FIELD_EMAIL,
                 "Email of the policyholder");
    assert_field(s, CCAI_FIELDS_MAX - 1, "policyholder_name", CCAI_FIELD_TEXT,
                 "Full name of the policyholder");
    ccai_claim_schema_unref(s);
}

static void test_schema_policyholder_override(void **state)
{
    (void)state;
    ccai_claim_schema *s = NULL;
    assert_int_equal(ccai_claim_schema_new(&s), CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "a", CCAI_FIELD_TEXT, NULL), CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "policyholder_email", CCAI_FIELD_TEXT, "Courriel"),
                     CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "b", CCAI_FIELD_DATETIME, NULL), CCAI_OK);
    assert_int_equal(ccai_claim_schema_count(s), 5);
    assert_field(s, 0, "a", CCAI_FIELD_TEXT, NULL);
    assert_field(s, 1, "policyholder_email", CCAI_FIELD_TEXT, "Courriel");
    assert_field(s, 2, "b", CCAI_FIELD_DATETIME, NULL);
    assert_field(s, 3, "policyholder_name", CCAI_FIELD_TEXT, "Full name of the policyholder");
    assert_field(s, 4, "policyholder_phone", CCAI_FIELD_PHONE_NUMBER,
                 "Phone number of the policyholder, E.164");
    assert_int_equal(ccai_claim_schema_field(s, 5, NULL, NULL, NULL), CCAI_ERR_NOT_FOUND);

    char *json = NULL;
    assert_int_equal(ccai_claim_schema_to_json(s, &json), CCAI_OK);
    assert_string_equal(
        json, "[{\"name\":\"a\",\"type\":\"text\"},"
              "{\"name\":\"policyholder_email\",\"type\":\"text\",\"description\":\"Courriel\"},"
              "{\"name\":\"b\",\"type\":\"datetime\"},"
              "{\"name\":\"policyholder_name\",\"type\":\"text\",\"description\":\"Full name of "
              "the policyholder\"},"
              "{\"name\":\"policyholder_phone\",\"type\":\"phone_number\",\"description\":"
              "\"Phone number of the policyholder, E.164\"}]");
    ccai_free(json);

    /* All three replaced: nothing is appended any more. */
    assert_int_equal(ccai_claim_schema_add(s, "policyholder_phone", CCAI_FIELD_TEXT, NULL),
                     CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "policyholder_name", CCAI_FIELD_TEXT, NULL), CCAI_OK);
    assert_int_equal(ccai_claim_schema_count(s), 5);
    assert_field(s, 3, "policyholder_phone", CCAI_FIELD_TEXT, NULL);
    assert_field(s, 4, "policyholder_name", CCAI_FIELD_TEXT, NULL);
    ccai_claim_schema_unref(s);
}

static void test_schema_frozen_and_refs(void **state)
{
    (void)state;
    ccai_claim_schema *s = NULL;
    assert_int_equal(ccai_claim_schema_new(&s), CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "x", CCAI_FIELD_TEXT, NULL), CCAI_OK);
    assert_ptr_equal(ccai_claim_schema_ref(s), s);
    assert_true(Ccai_claim_schema_frozen(s));
    assert_int_equal(ccai_claim_schema_add(s, "y", CCAI_FIELD_TEXT, NULL), CCAI_ERR_STATE);
    /* STATE wins over argument checks on the content. */
    assert_int_equal(ccai_claim_schema_add(s, "bad name", CCAI_FIELD_TEXT, NULL), CCAI_ERR_STATE);
    ccai_claim_schema_unref(s);
    /* Still alive with one reference, and still frozen forever. */
    assert_true(Ccai_claim_schema_frozen(s));
    assert_int_equal(ccai_claim_schema_count(s), 4);
    assert_int_equal(ccai_claim_schema_add(s, "y", CCAI_FIELD_TEXT, NULL), CCAI_ERR_STATE);
    assert_field(s, 0, "x", CCAI_FIELD_TEXT, NULL);
    ccai_claim_schema_unref(s); /* frees; ASan reports a leak or a double free otherwise */

    assert_null(ccai_claim_schema_ref(NULL));
    ccai_claim_schema_unref(NULL);
    assert_false(Ccai_claim_schema_frozen(NULL));
    assert_int_equal(ccai_claim_schema_count(NULL), 0);
    assert_int_equal(ccai_claim_schema_new(NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_claim_schema_new_default(NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_claim_schema_field(NULL, 0, NULL, NULL, NULL), CCAI_ERR_INVALID_ARG);
    size_t idx;
    assert_int_equal(ccai_claim_schema_find(NULL, "x", &idx), CCAI_ERR_INVALID_ARG);
}

static void test_schema_default(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        ccai_field_type type;
    } expected[] = {
        {"incident_datetime", CCAI_FIELD_DATETIME},
        {"incident_description", CCAI_FIELD_TEXT},
        {"incident_location", CCAI_FIELD_TEXT},
        {"injuries", CCAI_FIELD_TEXT},
        {"involved_parties", CCAI_FIELD_TEXT},
        {"medical_records", CCAI_FIELD_TEXT},
        {"policy_number", CCAI_FIELD_TEXT},
        {"pre_existing_damages", CCAI_FIELD_TEXT},
        {"witnesses", CCAI_FIELD_TEXT},
    };
    ccai_claim_schema *s = NULL;
    assert_int_equal(ccai_claim_schema_new_default(&s), CCAI_OK);
    assert_false(Ccai_claim_schema_frozen(s));
    assert_int_equal(ccai_claim_schema_count(s), 12);
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(expected); i++) {
        const char *name, *desc;
        ccai_field_type type;
        assert_int_equal(ccai_claim_schema_field(s, i, &name, &type, &desc), CCAI_OK);
        assert_string_equal(name, expected[i].name);
        assert_int_equal(type, expected[i].type);
        assert_non_null(desc);
        assert_true(strlen(desc) > 10);
    }
    assert_field(s, 0, "incident_datetime", CCAI_FIELD_DATETIME, "Date and time of the incident");
    assert_policyholder_tail(s, 9);
    /* The default schema is an ordinary, mutable one. */
    assert_int_equal(ccai_claim_schema_add(s, "vehicle_plate", CCAI_FIELD_TEXT, NULL), CCAI_OK);
    assert_field(s, 9, "vehicle_plate", CCAI_FIELD_TEXT, NULL);
    assert_policyholder_tail(s, 10);
    ccai_claim_schema_unref(s);
}

/* ------------------------------------------------------------------------ */
/* JSON                                                                     */
/* ------------------------------------------------------------------------ */

static void test_schema_json_round_trip(void **state)
{
    (void)state;
    const char *in = "[{\"name\":\"incident_datetime\",\"type\":\"datetime\","
                     "\"description\":\"When it happened\"},"
                     "{\"name\":\"plate\",\"type\":\"text\"},"
                     "{\"name\":\"garage_email\",\"type\":\"email\",\"description\":null},"
                     "{\"name\":\"garage_phone\",\"type\":\"phone_number\","
                     "\"description\":\"Num\\u00e9ro \\\"garage\\\"\",\"extra\":[1,2]}]";
    ccai_claim_schema *s = NULL;
    char *err = NULL;
    assert_int_equal(ccai_claim_schema_from_json(in, (size_t)-1, &s, &err), CCAI_OK);
    assert_null(err);
    assert_int_equal(ccai_claim_schema_count(s), 7);
    assert_field(s, 0, "incident_datetime", CCAI_FIELD_DATETIME, "When it happened");
    assert_field(s, 1, "plate", CCAI_FIELD_TEXT, NULL);
    assert_field(s, 2, "garage_email", CCAI_FIELD_EMAIL, NULL);
    assert_field(s, 3, "garage_phone", CCAI_FIELD_PHONE_NUMBER, "Num\xc3\xa9ro \"garage\"");
    assert_policyholder_tail(s, 4);

    char *out = NULL;
    assert_int_equal(ccai_claim_schema_to_json(s, &out), CCAI_OK);
    const char *expected =
        "[{\"name\":\"incident_datetime\",\"type\":\"datetime\",\"description\":\"When it "
        "happened\"},"
        "{\"name\":\"plate\",\"type\":\"text\"},"
        "{\"name\":\"garage_email\",\"type\":\"email\"},"
        "{\"name\":\"garage_phone\",\"type\":\"phone_number\",\"description\":\"Num\xc3\xa9ro "
        "\\\"garage\\\"\"},"
        "{\"name\":\"policyholder_email\",\"type\":\"email\",\"description\":\"Email of the "
        "policyholder\"},"
        "{\"name\":\"policyholder_name\",\"type\":\"text\",\"description\":\"Full name of the "
        "policyholder\"},"
        "{\"name\":\"policyholder_phone\",\"type\":\"phone_number\",\"description\":\"Phone "
        "number of the policyholder, E.164\"}]";
    assert_string_equal(out, expected);

    /* Reading the output back gives the same schema: the policyholder
     * fields come back as added fields standing in their own place. */
    ccai_claim_schema *s2 = NULL;
    assert_int_equal(ccai_claim_schema_from_json(out, strlen(out), &s2, NULL), CCAI_OK);
    assert_int_equal(ccai_claim_schema_count(s2), 7);
    char *out2 = NULL;
    assert_int_equal(ccai_claim_schema_to_json(s2, &out2), CCAI_OK);
    assert_string_equal(out2, expected);

    ccai_free(out);
    ccai_free(out2);
    ccai_claim_schema_unref(s);
    ccai_claim_schema_unref(s2);

    /* The default schema survives a round trip too. */
    assert_int_equal(ccai_claim_schema_new_default(&s), CCAI_OK);
    assert_int_equal(ccai_claim_schema_to_json(s, &out), CCAI_OK);
    assert_int_equal(ccai_claim_schema_from_json(out, (size_t)-1, &s2, NULL), CCAI_OK);
    assert_int_equal(ccai_claim_schema_to_json(s2, &out2), CCAI_OK);
    assert_string_equal(out, out2);
    assert_int_equal(ccai_claim_schema_count(s2), 12);
    ccai_free(out);
    ccai_free(out2);
    ccai_claim_schema_unref(s);
    ccai_claim_schema_unref(s2);
}

static void test_schema_from_json_shapes(void **state)
{
    (void)state;
    ccai_claim_schema *s = NULL;
    /* Empty array: only the policyholder fields. */
    assert_int_equal(ccai_claim_schema_from_json("  [ ]\n", (size_t)-1, &s, NULL), CCAI_OK);
    assert_int_equal(ccai_claim_schema_count(s), 3);
    char *out = NULL;
    assert_int_equal(ccai_claim_schema_to_json(s, &out), CCAI_OK);
    assert_contains(out, "[{\"name\":\"policyholder_email\"");
    ccai_free(out);
    ccai_claim_schema_unref(s);

    /* An explicit length: the bytes after it are not read. */
    const char *buf = "[{\"name\":\"a\",\"type\":\"text\"}]garbage";
    s = NULL;
    assert_int_equal(ccai_claim_schema_from_json(buf, strlen(buf) - strlen("garbage"), &s, NULL),
                     CCAI_OK);
    assert_int_equal(ccai_claim_schema_count(s), 4);
    ccai_claim_schema_unref(s);

    /* The result is a fresh, mutable schema. */
    s = NULL;
    assert_int_equal(ccai_claim_schema_from_json("[]", 2, &s, NULL), CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "more", CCAI_FIELD_TEXT, NULL), CCAI_OK);
    ccai_claim_schema_unref(s);
}

static void test_schema_from_json_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        ccai_status status;
        const char *message; /* exact */
    } cases[] = {
        {"[\n  {\"name\": \"a\",\n   \"type\" \"text\"}]", CCAI_ERR_PARSE,
         "claim: line 3, column 11: ':' expected after an object key"},
        {"", CCAI_ERR_PARSE, "claim: line 1, column 1: unexpected end of input"},
        {"[{\"name\":\"a\",\"type\":\"text\"},]", CCAI_ERR_PARSE,
         "claim: line 1, column 29: unexpected character"},
        {"[{\"name\":\"a\",\"type\":\"te\xffxt\"}]", CCAI_ERR_PARSE,
         "claim: line 1, column 24: invalid UTF-8 in a string"},
        {"[] []", CCAI_ERR_PARSE,
         "claim: line 1, column 4: unexpected characters after the JSON value"},
        {"\"text\"", CCAI_ERR_VALIDATION,
         "claim: expected an array of fields [{\"name\": ..., \"type\": ...}], got a string"},
        {"{\"name\":\"a\",\"type\":\"text\"}", CCAI_ERR_VALIDATION,
         "claim: expected an array of fields [{\"name\": ..., \"type\": ...}], got an object"},
        {"[{\"name\":\"ok\",\"type\":\"text\"},{\"name\":\"a\",\"type\":\"date\"}]",
         CCAI_ERR_VALIDATION,
         "claim[1]: unknown type \"date\" (expected text, datetime, email or phone_number)"},
        {"[{\"name\":\"a\",\"type\":\"text\"},{\"name\":\"b\",\"type\":\"text\"},"
         "{\"name\":\"foo bar\",\"type\":\"text\"}]",
         CCAI_ERR_VALIDATION,
         "claim[2]: field \"foo bar\": name must match [A-Za-z_][A-Za-z0-9_]*"},
        {"[{\"name\":\"9lives\",\"type\":\"text\"}]", CCAI_ERR_VALIDATION,
         "claim[0]: field \"9lives\": name must match [A-Za-z_][A-Za-z0-9_]*"},
        {"[{\"name\":\"\",\"type\":\"text\"}]", CCAI_ERR_VALIDATION,
         "claim[0]: field \"\": name must match [A-Za-z_][A-Za-z0-9_]*"},
        {"[{\"name\":\"a\\\"\\n\",\"type\":\"text\"}]", CCAI_ERR_VALIDATION,
         "claim[0]: field \"a\\\"\\x0A\": name must match [A-Za-z_][A-Za-z0-9_]*"},
        {"[{\"name\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
         "\"type\":\"text\"}]",
         CCAI_ERR_VALIDATION,
         "claim[0]: field \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\": "
         "name is longer than 64 characters"},
        {"[42]", CCAI_ERR_VALIDATION,
         "claim[0]: expected an object {\"name\": ..., \"type\": ...}, got a number"},
        {"[{\"type\":\"text\"}]", CCAI_ERR_VALIDATION, "claim[0]: missing \"name\" (a string)"},
        {"[{\"name\":7,\"type\":\"text\"}]", CCAI_ERR_VALIDATION,
         "claim[0]: \"name\" must be a string, got a number"},
        {"[{\"name\":\"a\"}]", CCAI_ERR_VALIDATION,
         "claim[0]: field \"a\": missing \"type\" (text, datetime, email or phone_number)"},
        {"[{\"name\":\"a\",\"type\":null}]", CCAI_ERR_VALIDATION,
         "claim[0]: field \"a\": \"type\" must be a string (text, datetime, email or "
         "phone_number), got null"},
        {"[{\"name\":\"a\",\"type\":\"text\",\"description\":[]}]", CCAI_ERR_VALIDATION,
         "claim[0]: field \"a\": \"description\" must be a string, got an array"},
        {"[{\"name\":\"a\",\"type\":\"text\"},{\"name\":\"a\",\"type\":\"email\"}]",
         CCAI_ERR_VALIDATION, "claim[1]: field \"a\": the name is used by an earlier field"},
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(cases); i++) {
        ccai_claim_schema *s = (ccai_claim_schema *)&cases; /* must stay untouched */
        char *err = NULL;
        ccai_status st = ccai_claim_schema_from_json(cases[i].json, (size_t)-1, &s, &err);
        if (st != cases[i].status)
            fail_msg("case %zu: status %d, expected %d (%s)", i, st, cases[i].status,
                     err ? err : "");
        assert_ptr_equal(s, (ccai_claim_schema *)&cases);
        if (!err || strcmp(err, cases[i].message) != 0)
            fail_msg("case %zu: message\n  %s\nexpected\n  %s", i, err ? err : "(null)",
                     cases[i].message);
        ccai_free(err);
        /* Without a message pointer: same status. */
        assert_int_equal(ccai_claim_schema_from_json(cases[i].json, (size_t)-1, &s, NULL),
                         cases[i].status);
    }
}

static void test_schema_from_json_limits(void **state)
{
    (void)state;
    ccai_claim_schema *s = NULL;
    char *err = NULL;

    /* Description length. */
    char *desc = make_string('d', CCAI_FIELD_DESCRIPTION_MAX + 1);
    char *json = NULL;
    assert_true(
        asprintf(&json, "[{\"name\":\"a\",\"type\":\"text\",\"description\":\"%s\"}]", desc) > 0);
    assert_int_equal(ccai_claim_schema_from_json(json, (size_t)-1, &s, &err), CCAI_ERR_VALIDATION);
    assert_string_equal(err, "claim[0]: field \"a\": description is longer than 512 bytes (513)");
    ccai_free(err);
    err = NULL;
    free(json);
    desc[CCAI_FIELD_DESCRIPTION_MAX] = '\0';
    assert_true(
        asprintf(&json, "[{\"name\":\"a\",\"type\":\"text\",\"description\":\"%s\"}]", desc) > 0);
    assert_int_equal(ccai_claim_schema_from_json(json, (size_t)-1, &s, &err), CCAI_OK);
    ccai_claim_schema_unref(s);
    free(json);
    free(desc);

    /* Field count: 61 fields fit with the 3 policyholder ones, 62 do not. */
    Ccai_buf b = {0};
    assert_true(Ccai_buf_puts(&b, "["));
    for (int i = 0; i < CCAI_FIELDS_MAX - 2; i++)
        assert_true(Ccai_buf_printf(&b, "%s{\"name\":\"f%d\",\"type\":\"text\"}", i ? "," : "", i));
    assert_true(Ccai_buf_puts(&b, "]"));
    s = NULL;
    assert_int_equal(ccai_claim_schema_from_json(b.data, b.len, &s, &err), CCAI_ERR_LIMIT);
    assert_null(s);
    assert_string_equal(err, "claim[61]: field \"f61\": too many fields: a schema holds at most "
                             "64, the 3 policyholder fields included");
    ccai_free(err);
    err = NULL;
    Ccai_buf_free(&b);

    /* 61 fields plus the three policyholder ones spelt out: exactly 64. */
    assert_true(Ccai_buf_puts(&b, "["));
    for (int i = 0; i < CCAI_FIELDS_MAX - 3; i++)
        assert_true(Ccai_buf_printf(&b, "{\"name\":\"f%d\",\"type\":\"text\"},", i));
    assert_true(Ccai_buf_puts(&b, "{\"name\":\"policyholder_name\",\"type\":\"text\"},"
                                  "{\"name\":\"policyholder_email\",\"type\":\"email\"},"
                                  "{\"name\":\"policyholder_phone\",\"type\":\"text\"}]"));
    assert_int_equal(ccai_claim_schema_from_json(b.data, (size_t)-1, &s, NULL), CCAI_OK);
    assert_int_equal(ccai_claim_schema_count(s), CCAI_FIELDS_MAX);
    ccai_claim_schema_unref(s);
    s = NULL;
    Ccai_buf_free(&b);

    /* Input size: 256 KiB at most. */
    size_t big = 256 * 1024 + 1;
    char *text = make_string(' ', big);
    text[0] = '[';
    text[big - 1] = ']';
    assert_int_equal(ccai_claim_schema_from_json(text, big, &s, &err), CCAI_ERR_LIMIT);
    assert_contains(err, "larger than 262144 bytes");
    ccai_free(err);
    err = NULL;
    assert_int_equal(ccai_claim_schema_from_json(text, (size_t)-1, &s, NULL), CCAI_ERR_LIMIT);
    text[big - 2] = ']';
    assert_int_equal(ccai_claim_schema_from_json(text, big - 1, &s, &err), CCAI_OK);
    assert_null(err);
    ccai_claim_schema_unref(s);
    free(text);

    assert_int_equal(ccai_claim_schema_from_json(NULL, 0, &s, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_claim_schema_from_json("[]", 2, NULL, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_claim_schema_to_json(NULL, &json), CCAI_ERR_INVALID_ARG);
    s = NULL;
    assert_int_equal(ccai_claim_schema_new(&s), CCAI_OK);
    assert_int_equal(ccai_claim_schema_to_json(s, NULL), CCAI_ERR_INVALID_ARG);
    ccai_claim_schema_unref(s);
}

static void test_schema_jansson(void **state)
{
    (void)state;
    ccai_claim_schema *s = NULL;
    char *err = NULL;
    json_t *arr = json_pack("[{s:s, s:s}]", "name", "x", "type", "email");
    assert_non_null(arr);
    assert_int_equal(Ccai_claim_schema_from_jansson(arr, &s, &err), CCAI_OK);
    json_decref(arr);
    assert_field(s, 0, "x", CCAI_FIELD_EMAIL, NULL);

    json_t *back = Ccai_claim_schema_to_jansson(s);
    assert_non_null(back);
    assert_int_equal(json_array_size(back), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(back, 0), "type")),
                        "email");
    assert_null(json_object_get(json_array_get(back, 0), "description"));
    assert_string_equal(json_string_value(json_object_get(json_array_get(back, 3), "name")),
                        "policyholder_phone");
    json_decref(back);
    ccai_claim_schema_unref(s);

    /* A name holding a NUL (possible in a json_t built with JSON_ALLOW_NUL). */
    arr = json_array();
    json_t *elem = json_pack("{s:s#, s:s}", "name", "a\0b", (size_t)3, "type", "text");
    assert_non_null(elem);
    json_array_append_new(arr, elem);
    s = NULL;
    assert_int_equal(Ccai_claim_schema_from_jansson(arr, &s, &err), CCAI_ERR_VALIDATION);
    assert_null(s);
    assert_string_equal(err, "claim[0]: field \"a\\x00b\": name must match [A-Za-z_][A-Za-z0-9_]*");
    ccai_free(err);
    json_decref(arr);

    json_t *str = json_string("x");
    assert_int_equal(Ccai_claim_schema_from_jansson(str, &s, NULL), CCAI_ERR_VALIDATION);
    json_decref(str);
    assert_int_equal(Ccai_claim_schema_from_jansson(NULL, &s, NULL), CCAI_ERR_INVALID_ARG);
    assert_null(Ccai_claim_schema_to_jansson(NULL));
}

/* ------------------------------------------------------------------------ */
/* Field validation                                                         */
/* ------------------------------------------------------------------------ */

typedef struct ok_case {
    const char *in;
    const char *out;
} ok_case;

typedef struct bad_case {
    const char *in;
    const char *words[3]; /* each must appear in the message */
} bad_case;

static void check_ok(ccai_field_type type, const ok_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *norm = NULL, *err = NULL;
        ccai_status st = ccai_field_validate(type, cases[i].in, &norm, &err);
        if (st != CCAI_OK || !norm || strcmp(norm, cases[i].out) != 0)
            fail_msg("%s \"%s\": status %d, got \"%s\", expected \"%s\" (%s)",
                     ccai_field_type_str(type), cases[i].in, st, norm ? norm : "(null)",
                     cases[i].out, err ? err : "");
        assert_null(err);
        /* Normalising is idempotent. */
        char *again = NULL;
        assert_int_equal(ccai_field_validate(type, norm, &again, NULL), CCAI_OK);
        assert_string_equal(again, norm);
        ccai_free(again);
        ccai_free(norm);
    }
}

static void check_bad(ccai_field_type type, const bad_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *norm = (char *)cases, *err = NULL;
        ccai_status st = ccai_field_validate(type, cases[i].in, &norm, &err);
        if (st != CCAI_ERR_VALIDATION)
            fail_msg("%s \"%s\": status %d (%s), expected a validation error",
                     ccai_field_type_str(type), cases[i].in, st, st == CCAI_OK ? norm : "");
        assert_ptr_equal(norm, (char *)cases);
        assert_non_null(err);
        for (size_t k = 0; k < CCAI_ARRAY_SIZE(cases[i].words) && cases[i].words[k]; k++)
            assert_contains(err, cases[i].words[k]);
        /* The message is always valid UTF-8: it may be put in JSON. */
        json_t *js = json_string(err);
        if (!js)
            fail_msg("message is not valid UTF-8: %s", err);
        json_decref(js);
        ccai_free(err);
        assert_int_equal(ccai_field_validate(type, cases[i].in, &norm, NULL), CCAI_ERR_VALIDATION);
    }
}

static void test_validate_text(void **state)
{
    (void)state;
    static const ok_case ok[] = {
        {"hello", "hello"},
        {"  hello  ", "hello"},
        {"a  b\t\tc", "a b c"},
        {"\n  Rear bumper\r\n dented, \n\n left door\tscratched \n",
         "Rear bumper dented, left door scratched"},
        {"caf\xc3\xa9 cr\xc3\xa8me", "caf\xc3\xa9 cr\xc3\xa8me"},
        {"no\xc2\xa0"
         "break\xe2\x80\xafthin\xe3\x80\x80ideographic",
         "no break thin ideographic"},
        {"\xe2\x80\x83 em-space trimmed \xe2\x80\x83", "em-space trimmed"},
        {"emoji \xf0\x9f\x9a\x97 car", "emoji \xf0\x9f\x9a\x97 car"},
        {"x", "x"},
        {"0", "0"},
    };
    check_ok(CCAI_FIELD_TEXT, ok, CCAI_ARRAY_SIZE(ok));

    static const bad_case bad[] = {
        {"", {"is empty"}},
        {"   \n\t ", {"is empty"}},
        {"\xc2\xa0", {"is empty"}},
        {"bad \xff byte", {"not valid UTF-8", "0xFF", "offset 4"}},
        {"overlong \xc0\xaf", {"not valid UTF-8", "0xC0"}},
        {"surrogate \xed\xa0\x80", {"not valid UTF-8"}},
        {"truncated \xe2\x82", {"not valid UTF-8"}},
        {"too big \xf4\x90\x80\x80", {"not valid UTF-8"}},
    };
    check_bad(CCAI_FIELD_TEXT, bad, CCAI_ARRAY_SIZE(bad));

    /* Length is measured after normalising. */
    char *max = make_string('a', CCAI_TEXT_MAX);
    char *norm = NULL, *err = NULL;
    assert_int_equal(ccai_field_validate(CCAI_FIELD_TEXT, max, &norm, &err), CCAI_OK);
    assert_int_equal(strlen(norm), CCAI_TEXT_MAX);
    ccai_free(norm);
    char *padded = NULL;
    assert_true(asprintf(&padded, "   %s   \n", max) > 0);
    assert_int_equal(ccai_field_validate(CCAI_FIELD_TEXT, padded, &norm, &err), CCAI_OK);
    ccai_free(norm);
    free(padded);
    char *over = make_string('a', CCAI_TEXT_MAX + 1);
    assert_int_equal(ccai_field_validate(CCAI_FIELD_TEXT, over, &norm, &err), CCAI_ERR_VALIDATION);
    assert_contains(err, "too long");
    assert_contains(err, "2001 bytes");
    assert_contains(err, "at most 2000");
    ccai_free(err);
    free(max);
    free(over);
}

static void test_validate_datetime(void **state)
{
    (void)state;
    static const ok_case ok[] = {
        {"2024-10-08T02:00:00Z", "2024-10-08T02:00:00Z"},
        {"2024-10-08T02:00:00z", "2024-10-08T02:00:00Z"},
        {"2024-10-08T02:00:00+02:00", "2024-10-08T02:00:00+02:00"},
        {"2024-10-08T02:00:00-05:30", "2024-10-08T02:00:00-05:30"},
        {"2024-10-08T02:00:00+0200", "2024-10-08T02:00:00+02:00"},
        {"2024-10-08T02:00:00+02", "2024-10-08T02:00:00+02:00"},
        {"2024-10-08T02:00:00-00:00", "2024-10-08T02:00:00+00:00"},
        {"2024-10-08T02:00:00+14:00", "2024-10-08T02:00:00+14:00"},
        {"2024-10-08T02:00:00-12:00", "2024-10-08T02:00:00-12:00"},
        {"2024-10-08T02:00:00.123Z", "2024-10-08T02:00:00Z"},
        {"2024-10-08T02:00:00,5+01:00", "2024-10-08T02:00:00+01:00"},
        {"2024-10-08T02:00:00.123456789", "2024-10-08T02:00:00"},
        {"2024-10-08 02:00", "2024-10-08T02:00:00"},
        {"2024-10-08 02:00:00", "2024-10-08T02:00:00"},
        {"2024-10-08T02:00", "2024-10-08T02:00:00"},
        {"2024-10-08t23:59:59", "2024-10-08T23:59:59"},
        {"2024-10-08", "2024-10-08T00:00:00"},
        {"  2024-10-08  ", "2024-10-08T00:00:00"},
        {"2024-1-8 9:05", "2024-01-08T09:05:00"},
        {"2024/10/08 14:30", "2024-10-08T14:30:00"},
        {"2024.10.08 14:30", "2024-10-08T14:30:00"},
        {"08/10/2024 14:30", "2024-10-08T14:30:00"},
        {"08/10/2024", "2024-10-08T00:00:00"},
        {"8/1/2024", "2024-01-08T00:00:00"},
        {"31/12/2024 23:59", "2024-12-31T23:59:00"},
        {"08.10.2024 14:30", "2024-10-08T14:30:00"},
        {"08-10-2024", "2024-10-08T00:00:00"},
        {"2024-10-08 14h30", "2024-10-08T14:30:00"},
        {"08/10/2024 14H05", "2024-10-08T14:05:00"},
        {"2024-10-08 14h", "2024-10-08T14:00:00"},
        {"2024-10-08 2 pm", "2024-10-08T14:00:00"},
        {"2024-10-08 2:30 PM", "2024-10-08T14:30:00"},
        {"2024-10-08 12:15 am", "2024-10-08T00:15:00"},
        {"2024-10-08 12:15 p.m.", "2024-10-08T12:15:00"},
        {"2024-10-08 11:15am", "2024-10-08T11:15:00"},
        {"2024-10-08 14:30 UTC", "2024-10-08T14:30:00Z"},
        {"2024-10-08 14:30 GMT+2", "2024-10-08T14:30:00+02:00"},
        {"2024-10-08 14:30 +02:00", "2024-10-08T14:30:00+02:00"},
        {"20241008T020000Z", "2024-10-08T02:00:00Z"},
        {"20241008T0200", "2024-10-08T02:00:00"},
        {"20241008", "2024-10-08T00:00:00"},
        {"2024-10-08T1430", "2024-10-08T14:30:00"},
        {"2024-02-29", "2024-02-29T00:00:00"},
        {"2000-02-29", "2000-02-29T00:00:00"},
        {"1900-01-01", "1900-01-01T00:00:00"},
        {"2200-12-31 23:59:59", "2200-12-31T23:59:59"},
        {"2024-10-08   \t 14:30", "2024-10-08T14:30:00"},
    };
    check_ok(CCAI_FIELD_DATETIME, ok, CCAI_ARRAY_SIZE(ok));

    static const bad_case bad[] = {
        {"31/02/2024",
         {"\"31/02/2024\" is not a valid date: February has 28 or 29 days; use YYYY-MM-DD HH:MM"}},
        {"29/02/2023", {"2023 is not a leap year", "February has 28 days"}},
        {"1900-02-29", {"1900 is not a leap year"}},
        {"2024-04-31", {"April has 30 days"}},
        {"2024-11-31 10:00", {"November has 30 days"}},
        {"2024-13-01", {"month must be between 1 and 12"}},
        {"2024-00-10", {"month must be between 1 and 12"}},
        {"10/31/2024", {"month must be between 1 and 12", "day first", "DD/MM/YYYY"}},
        {"2024-10-00", {"day must be at least 1"}},
        {"1899-12-31", {"year must be between 1900 and 2200"}},
        {"2201-01-01", {"year must be between 1900 and 2200"}},
        {"2024-10-08 24:00", {"hour must be between 0 and 23"}},
        {"2024-10-08 14:60", {"minutes must be between 0 and 59"}},
        {"2024-10-08 14:30:60", {"seconds must be between 0 and 59"}},
        {"2024-10-08 13 pm", {"with am or pm", "between 1 and 12"}},
        {"2024-10-08 0:30 am", {"with am or pm"}},
        {"2024-10-08T02:00:00+15:00", {"UTC offset", "-14:00 and +14:00"}},
        {"2024-10-08T02:00:00+14:30", {"UTC offset"}},
        {"2024-10-08T02:00:00+02:60", {"UTC offset"}},
        {"", {"is empty", "YYYY-MM-DD HH:MM"}},
        {"   ", {"is empty"}},
        {"tomorrow", {"\"tomorrow\"", "is not a date and time I can read", "YYYY-MM-DD HH:MM"}},
        {"yesterday at 3pm", {"can read"}},
        {"8 octobre 2024", {"can read"}},
        {"2024-10-08 14", {"can read"}},
        {"2024-10-08 14:3", {"can read"}},
        {"2024-10-08 14:30:5", {"can read"}},
        {"2024-10-08T", {"can read"}},
        {"2024-10-08T14:30 foo", {"can read"}},
        {"2024-10-08X14:30", {"can read"}},
        {"2024-10/08", {"can read"}},
        {"24-10-08", {"can read"}},
        {"08/10/24", {"can read"}},
        {"2024-10-08T14:30+", {"can read"}},
        {"2024-10-08T14:30+2:3", {"can read"}},
        {"2024-10-08T14:30Zjunk", {"can read"}},
        {"202410081", {"can read"}},
        {"2024-10-08 14h3", {"can read"}},
        {"2024-10-08T14:30:00.Z", {"can read"}},
        {"2024-10-08\n\"quoted\"", {"\\n\\\"quoted\\\""}},
        {"\xff\xfe", {"\\xFF\\xFE"}},
        {"2024-10-08T14:30:00.1234567890123456789012345678901234567890123456789012345678901234Q",
         {"...\" is not"}},
    };
    check_bad(CCAI_FIELD_DATETIME, bad, CCAI_ARRAY_SIZE(bad));
}

static void test_validate_email(void **state)
{
    (void)state;
    static const ok_case ok[] = {
        {"john.doe@example.com", "john.doe@example.com"},
        {"  John.Doe@Example.COM \n", "John.Doe@example.com"},
        {"a@b.co", "a@b.co"},
        {"first+tag@sub.domain.example.fr", "first+tag@sub.domain.example.fr"},
        {"o'brien@example.ie", "o'brien@example.ie"},
        {"x!#$%&'*+/=?^_`{|}~-@my-host.example.org", "x!#$%&'*+/=?^_`{|}~-@my-host.example.org"},
        {"user@123.example.com", "user@123.example.com"},
        {"user@xn--bcher-kva.example", "user@xn--bcher-kva.example"},
    };
    check_ok(CCAI_FIELD_EMAIL, ok, CCAI_ARRAY_SIZE(ok));

    static const bad_case bad[] = {
        {"", {"is empty", "name@example.com"}},
        {"john at example dot com", {"\"at\" as @", "name@example.com"}},
        {"johnexample.com", {"no @", "name@example.com"}},
        {"a@b@example.com", {"more than one @"}},
        {"john doe@example.com", {"contains spaces"}},
        {"@example.com", {"nothing before the @"}},
        {"john@", {"nothing after the @"}},
        {".john@example.com", {"starts or ends with a dot"}},
        {"john.@example.com", {"starts or ends with a dot"}},
        {"jo..hn@example.com", {"two dots in a row"}},
        {"jo(hn)@example.com", {"the character '('", "before the @"}},
        {"j\xc3\xb6rg@example.com", {"the character '\xc3\xb6'", "before the @"}},
        {"jo\"hn@example.com", {"the character '\"'"}},
        {"john@localhost", {"has no dot"}},
        {"john@example..com", {"empty part"}},
        {"john@.example.com", {"empty part"}},
        {"john@example.com.", {"empty part"}},
        {"john@-example.com", {"hyphen"}},
        {"john@example-.com", {"hyphen"}},
        {"john@exa_mple.com", {"the character '_'", "domain"}},
        {"john@example.c", {"must end with letters"}},
        {"john@example.c0m", {"must end with letters"}},
        {"john@example.123", {"must end with letters"}},
        {"john@ex\xff.com", {"the byte 0xFF"}},
        {"john@exa\tmple.com", {"contains spaces"}},
        {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.com",
         {"longer than 64"}},
        {"a@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com",
         {"longer than 63"}},
    };
    check_bad(CCAI_FIELD_EMAIL, bad, CCAI_ARRAY_SIZE(bad));

    /* Total length 254 at most. */
    char buf[300];
    char *label = make_string('a', 63);
    snprintf(buf, sizeof buf, "me@%s.%s.%s.%.55s.com", label, label, label, label);
    assert_int_equal(strlen(buf), 254);
    char *norm = NULL, *err = NULL;
    assert_int_equal(ccai_field_validate(CCAI_FIELD_EMAIL, buf, &norm, &err), CCAI_OK);
    ccai_free(norm);
    snprintf(buf, sizeof buf, "me@%s.%s.%s.%.56s.com", label, label, label, label);
    assert_int_equal(ccai_field_validate(CCAI_FIELD_EMAIL, buf, &norm, &err), CCAI_ERR_VALIDATION);
    assert_contains(err, "longer than 254");
    ccai_free(err);
    free(label);
}

static void test_validate_phone(void **state)
{
    (void)state;
    static const ok_case ok[] = {
        {"+33612345678", "+33612345678"},
        {"+33 6 12 34 56 78", "+33612345678"},
        {"  +33 6 12 34 56 78\n", "+33612345678"},
        {"0033 6 12 34 56 78", "+33612345678"},
        {"+1 (555) 123-4567", "+15551234567"},
        {"+1.555.123.4567", "+15551234567"},
        {"+33 (0)6 12 34 56 78", "+33612345678"},
        {"0033 (0)6 12 34 56 78", "+33612345678"},
        {"+44\t20 7946 0958", "+442079460958"},
        {"+49 30 1234567", "+49301234567"},
        {"+12345678", "+12345678"},
        {"+123456789012345", "+123456789012345"},
        {"+ 33 6 12 34 56 78", "+33612345678"},
    };
    check_ok(CCAI_FIELD_PHONE_NUMBER, ok, CCAI_ARRAY_SIZE(ok));

    static const bad_case bad[] = {
        {"", {"is empty", "country code"}},
        {"06 12 34 56 78", {"include the country code, e.g. +33 6 12 34 56 78"}},
        {"612345678", {"include the country code"}},
        {"+33 6 12", {"has 5 digits", "8 to 15"}},
        {"+1234567", {"has 7 digits"}},
        {"+1234567890123456", {"has 16 digits"}},
        {"0033 6", {"has 3 digits"}},
        {"+33 6 12 AB 56 78", {"the character 'A'", "not allowed"}},
        {"+33 6 12 34 56 78 ext 12", {"the character 'e'"}},
        {"+33#612345678", {"the character '#'"}},
        {"+33 6\xc2\xa0"
         "12 34 56 78",
         {"the character '\xc2\xa0'"}},
        {"+33 6\xff", {"the byte 0xFF"}},
        {"+33 6 12 34 56 78\x01", {"control character 0x01"}},
        {"+33 +6 12 34 56 78", {"+ may only come first"}},
        {"++33612345678", {"+ may only come first"}},
        {"+", {"no digits"}},
        {"00", {"no digits"}},
        {"+ ()-.", {"no digits"}},
        {"+0612345678", {"country code cannot start with 0"}},
        {"000612345678", {"country code cannot start with 0"}},
        /* "(0)" is only dropped after a country code. */
        {"(0)612345678", {"include the country code"}},
    };
    check_bad(CCAI_FIELD_PHONE_NUMBER, bad, CCAI_ARRAY_SIZE(bad));
}

static void test_validate_args(void **state)
{
    (void)state;
    char *norm = NULL, *err = NULL;
    assert_int_equal(ccai_field_validate(CCAI_FIELD_TEXT, NULL, &norm, &err), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_field_validate(CCAI_FIELD_TEXT, "x", NULL, &err), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_field_validate((ccai_field_type)7, "x", &norm, &err),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_field_validate((ccai_field_type)-1, "x", &norm, &err),
                     CCAI_ERR_INVALID_ARG);
    assert_null(norm);
    assert_null(err);
    /* The error pointer is optional. */
    assert_int_equal(ccai_field_validate(CCAI_FIELD_EMAIL, "nope", &norm, NULL),
                     CCAI_ERR_VALIDATION);
    assert_int_equal(ccai_field_validate(CCAI_FIELD_EMAIL, "a@b.fr", &norm, NULL), CCAI_OK);
    assert_string_equal(norm, "a@b.fr");
    ccai_free(norm);
}

/* ------------------------------------------------------------------------ */
/* Whole claim                                                              */
/* ------------------------------------------------------------------------ */

static void test_validate_claim(void **state)
{
    (void)state;
    ccai_claim_schema *s = NULL;
    assert_int_equal(ccai_claim_schema_new_default(&s), CCAI_OK);
    char *out = NULL, *err = NULL;

    const char *in = "{\"witnesses\":\"  two   neighbours \","
                     "\"unknown\":\"dropped\","
                     "\"policyholder_phone\":\"06 12 34 56 78\"}";
    /* The phone misses its country code: first error in schema order. */
    assert_int_equal(ccai_claim_schema_validate_claim(s, in, &out, &err), CCAI_ERR_VALIDATION);
    assert_null(out);
    assert_string_equal(err, "field policyholder_phone: \"06 12 34 56 78\" is not a valid phone "
                             "number: include the country code, e.g. +33 6 12 34 56 78");
    ccai_free(err);
    err = NULL;

    in = "{\"policyholder_phone\":\"0033 6 12 34 56 78\","
         "\"witnesses\":\"  two   neighbours \","
         "\"unknown\":\"dropped\","
         "\"injuries\":null,"
         "\"policy_number\":123456,"
         "\"medical_records\":1.5,"
         "\"policyholder_email\":\"Jane@Example.FR\","
         "\"incident_datetime\":\"08/10/2024 14h30\"}";
    assert_int_equal(ccai_claim_schema_validate_claim(s, in, &out, &err), CCAI_OK);
    assert_null(err);
    assert_string_equal(out, "{\"incident_datetime\":\"2024-10-08T14:30:00\","
                             "\"medical_records\":\"1.5\","
                             "\"policy_number\":\"123456\","
                             "\"witnesses\":\"two neighbours\","
                             "\"policyholder_email\":\"Jane@example.fr\","
                             "\"policyholder_phone\":\"+33612345678\"}");
    ccai_free(out);
    out = NULL;

    assert_int_equal(ccai_claim_schema_validate_claim(s, "{}", &out, &err), CCAI_OK);
    assert_string_equal(out, "{}");
    ccai_free(out);
    out = NULL;

    static const struct {
        const char *json;
        ccai_status status;
        const char *message;
    } bad[] = {
        {"{\"incident_datetime\":\"31/02/2024\"}", CCAI_ERR_VALIDATION,
         "field incident_datetime: \"31/02/2024\" is not a valid date: February has 28 or 29 "
         "days; use YYYY-MM-DD HH:MM, e.g. 2024-10-08 14:30"},
        {"{\"incident_datetime\":20241008}", CCAI_ERR_VALIDATION,
         "field incident_datetime: expected a string, got a number"},
        {"{\"witnesses\":true}", CCAI_ERR_VALIDATION,
         "field witnesses: expected a string, got a boolean"},
        {"{\"witnesses\":[\"a\"]}", CCAI_ERR_VALIDATION,
         "field witnesses: expected a string, got an array"},
        {"{\"witnesses\":\"   \"}", CCAI_ERR_VALIDATION,
         "field witnesses: the text is empty; give the value in words"},
        {"{\"policyholder_email\":\"x\",\"incident_location\":\"\"}", CCAI_ERR_VALIDATION,
         "field incident_location: the text is empty; give the value in words"},
        {"[1]", CCAI_ERR_VALIDATION, "the claim must be a JSON object, got an array"},
        {"\"x\"", CCAI_ERR_VALIDATION, "the claim must be a JSON object, got a string"},
        {"{\"a\":", CCAI_ERR_PARSE,
         "the claim is not valid JSON: line 1, column 6: unexpected end of input"},
        {"{\"a\":\"\\u0000\"}", CCAI_ERR_PARSE,
         "the claim is not valid JSON: line 1, column 7: \\u0000 is not allowed in a string"},
        {"{\"a\":01}", CCAI_ERR_PARSE,
         "the claim is not valid JSON: line 1, column 7: invalid number (leading zero)"},
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(bad); i++) {
        out = (char *)bad;
        err = NULL;
        ccai_status st = ccai_claim_schema_validate_claim(s, bad[i].json, &out, &err);
        if (st != bad[i].status)
            fail_msg("case %zu: status %d (%s)", i, st, err ? err : "");
        assert_ptr_equal(out, (char *)bad);
        assert_non_null(err);
        assert_string_equal(err, bad[i].message);
        ccai_free(err);
        assert_int_equal(ccai_claim_schema_validate_claim(s, bad[i].json, &out, NULL),
                         bad[i].status);
    }

    assert_int_equal(ccai_claim_schema_validate_claim(NULL, "{}", &out, NULL),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_claim_schema_validate_claim(s, NULL, &out, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_claim_schema_validate_claim(s, "{}", NULL, NULL), CCAI_ERR_INVALID_ARG);
    ccai_claim_schema_unref(s);
}

static void test_validate_object_in_place(void **state)
{
    (void)state;
    ccai_claim_schema *s = NULL;
    assert_int_equal(ccai_claim_schema_new(&s), CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "b", CCAI_FIELD_TEXT, NULL), CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "a", CCAI_FIELD_DATETIME, NULL), CCAI_OK);
    ccai_claim_schema_ref(s);

    json_t *claim = json_pack("{s:s, s:s, s:n, s:i}", "z", "gone", "a", "2024-10-08", "c", "b", 3);
    assert_non_null(claim);
    char *err = NULL;
    assert_int_equal(Ccai_claim_validate_object(s, claim, &err), CCAI_OK);
    assert_null(err);
    char *dump = json_dumps(claim, JSON_COMPACT);
    assert_string_equal(dump, "{\"b\":\"3\",\"a\":\"2024-10-08T00:00:00\"}");
    free(dump);

    /* An error leaves the object untouched. */
    json_object_set_new(claim, "a", json_string("never"));
    json_object_set_new(claim, "extra", json_true());
    assert_int_equal(Ccai_claim_validate_object(s, claim, &err), CCAI_ERR_VALIDATION);
    assert_contains(err, "field a: \"never\"");
    ccai_free(err);
    assert_int_equal(json_object_size(claim), 3);
    assert_true(json_is_true(json_object_get(claim, "extra")));

    /* A value holding a NUL. */
    json_object_set_new(claim, "a", json_stringn("20\0", 3));
    assert_int_equal(Ccai_claim_validate_object(s, claim, &err), CCAI_ERR_VALIDATION);
    assert_string_equal(err, "field a: the value contains a NUL character");
    ccai_free(err);
    json_decref(claim);

    assert_int_equal(Ccai_claim_validate_object(s, NULL, NULL), CCAI_ERR_INVALID_ARG);
    json_t *empty = json_object();
    assert_int_equal(Ccai_claim_validate_object(NULL, empty, NULL), CCAI_ERR_INVALID_ARG);
    json_decref(empty);
    ccai_claim_schema_unref(s);
    ccai_claim_schema_unref(s);
}

/* ------------------------------------------------------------------------ */
/* Out of memory                                                            */
/* ------------------------------------------------------------------------ */

typedef struct oom_state {
    long fail_at; /* allocation number that fails; -1 never */
    long count;
    long live;
} oom_state;

static void *oom_malloc(size_t size, void *ud)
{
    oom_state *o = ud;
    if (o->count++ == o->fail_at)
        return NULL;
    void *p = malloc(size);
    if (p)
        o->live++;
    return p;
}

static void *oom_realloc(void *ptr, size_t size, void *ud)
{
    oom_state *o = ud;
    if (o->count++ == o->fail_at)
        return NULL;
    void *p = realloc(ptr, size);
    if (p && !ptr)
        o->live++;
    return p;
}

static void oom_free(void *ptr, void *ud)
{
    oom_state *o = ud;
    if (ptr)
        o->live--;
    free(ptr);
}

typedef ccai_status (*oom_fn)(void);

static ccai_status oom_schema_new(void)
{
    ccai_claim_schema *s = NULL;
    ccai_status st = ccai_claim_schema_new(&s);
    ccai_claim_schema_unref(s);
    return st;
}

static ccai_status oom_schema_default_to_json(void)
{
    ccai_claim_schema *s = NULL;
    ccai_status st = ccai_claim_schema_new_default(&s);
    if (st != CCAI_OK)
        return st;
    st = ccai_claim_schema_add(s, "extra", CCAI_FIELD_TEXT, "An extra field");
    char *json = NULL;
    if (st == CCAI_OK)
        st = ccai_claim_schema_to_json(s, &json);
    ccai_free(json);
    ccai_claim_schema_unref(s);
    return st;
}

static ccai_status oom_schema_from_json(void)
{
    ccai_claim_schema *s = NULL;
    char *err = NULL;
    ccai_status st = ccai_claim_schema_from_json(
        "[{\"name\":\"a\",\"type\":\"datetime\",\"description\":\"When\"},"
        "{\"name\":\"b\",\"type\":\"email\",\"x\":{\"y\":[1,2.5,\"z\"]}}]",
        (size_t)-1, &s, &err);
    ccai_claim_schema_unref(s);
    ccai_free(err);
    return st;
}

static ccai_status oom_schema_from_json_error(void)
{
    ccai_claim_schema *s = NULL;
    char *err = NULL;
    ccai_status st = ccai_claim_schema_from_json(
        "[{\"name\":\"a\",\"type\":\"text\"},{\"name\":\"bad name\",\"type\":\"text\"}]",
        (size_t)-1, &s, &err);
    ccai_claim_schema_unref(s);
    ccai_free(err);
    /* The expected outcome counts as success here. */
    return st == CCAI_ERR_VALIDATION ? CCAI_OK : st;
}

static ccai_status oom_field_validate(void)
{
    static const struct {
        ccai_field_type type;
        const char *value;
    } cases[] = {
        {CCAI_FIELD_TEXT, " some  text "},
        {CCAI_FIELD_DATETIME, "08/10/2024 14h30"},
        {CCAI_FIELD_EMAIL, "A@B.CO"},
        {CCAI_FIELD_PHONE_NUMBER, "0033 6 12 34 56 78"},
        {CCAI_FIELD_TEXT, ""},
        {CCAI_FIELD_DATETIME, "31/02/2024"},
        {CCAI_FIELD_EMAIL, "nope"},
        {CCAI_FIELD_PHONE_NUMBER, "06"},
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(cases); i++) {
        char *norm = NULL, *err = NULL;
        ccai_status st = ccai_field_validate(cases[i].type, cases[i].value, &norm, &err);
        ccai_free(norm);
        ccai_free(err);
        if (st == CCAI_ERR_NOMEM)
            return st;
        if (st != (i < 4 ? CCAI_OK : CCAI_ERR_VALIDATION))
            return CCAI_ERR_INTERNAL;
    }
    return CCAI_OK;
}

static ccai_status oom_validate_claim(void)
{
    ccai_claim_schema *s = NULL;
    ccai_status st = ccai_claim_schema_new_default(&s);
    if (st != CCAI_OK)
        return st;
    char *out = NULL, *err = NULL;
    st = ccai_claim_schema_validate_claim(
        s,
        "{\"witnesses\":\" a  b \",\"zz\":1,\"policy_number\":42,\"injuries\":null,"
        "\"policyholder_phone\":\"+33 6 12 34 56 78\"}",
        &out, &err);
    ccai_free(out);
    ccai_free(err);
    if (st == CCAI_OK) {
        out = err = NULL;
        st = ccai_claim_schema_validate_claim(s, "{\"incident_datetime\":\"soon\"}", &out, &err);
        ccai_free(out);
        ccai_free(err);
        if (st == CCAI_ERR_VALIDATION)
            st = CCAI_OK;
    }
    ccai_claim_schema_unref(s);
    return st;
}

static void run_oom(const char *name, oom_fn fn)
{
    oom_state o = {.fail_at = -1};
    ccai_allocator a = {CCAI_ALLOCATOR_VERSION, oom_malloc, oom_realloc, oom_free, &o,
                        CCAI_ALLOCATOR_JSON};
    assert_int_equal(ccai_set_allocator(&a), CCAI_OK);
    assert_int_equal(fn(), CCAI_OK);
    long total = o.count;
    assert_true(total > 0);
    assert_int_equal(o.live, 0);
    for (long k = 0; k < total; k++) {
        o = (oom_state){.fail_at = k};
        ccai_status st = fn();
        if (st != CCAI_ERR_NOMEM)
            fail_msg("%s: allocation %ld of %ld failed: status %d, expected NOMEM", name, k, total,
                     st);
        if (o.live != 0)
            fail_msg("%s: allocation %ld of %ld failed: %ld blocks leaked", name, k, total, o.live);
    }
    assert_int_equal(ccai_set_allocator(NULL), CCAI_OK);
}

#define RUN_OOM(fn) run_oom(#fn, fn)

static void test_oom(void **state)
{
    (void)state;
    RUN_OOM(oom_schema_new);
    RUN_OOM(oom_schema_default_to_json);
    RUN_OOM(oom_schema_from_json);
    RUN_OOM(oom_schema_from_json_error);
    RUN_OOM(oom_field_validate);
    RUN_OOM(oom_validate_claim);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_type_names),
        cmocka_unit_test(test_schema_new_empty),
        cmocka_unit_test(test_schema_add),
        cmocka_unit_test(test_schema_limit),
        cmocka_unit_test(test_schema_policyholder_override),
        cmocka_unit_test(test_schema_frozen_and_refs),
        cmocka_unit_test(test_schema_default),
        cmocka_unit_test(test_schema_json_round_trip),
        cmocka_unit_test(test_schema_from_json_shapes),
        cmocka_unit_test(test_schema_from_json_errors),
        cmocka_unit_test(test_schema_from_json_limits),
        cmocka_unit_test(test_schema_jansson),
        cmocka_unit_test(test_validate_text),
        cmocka_unit_test(test_validate_datetime),
        cmocka_unit_test(test_validate_email),
        cmocka_unit_test(test_validate_phone),
        cmocka_unit_test(test_validate_args),
        cmocka_unit_test(test_validate_claim),
        cmocka_unit_test(test_validate_object_in_place),
        cmocka_unit_test(test_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
