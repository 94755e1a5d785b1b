/* ccai_ctx_calls_import() through the shared library and <ccai/ccai.h>
 * only: an export of the reference's calls (tests/data/reference/
 * calls-export.json, written from its data model) lands in the store with
 * its messages, reminders, claim, next action and synthesis; bad records
 * are reported and lose nothing of the good ones; importing twice gives the
 * same store; JSON lines with a broken line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>
#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ccai_ctx *open_ctx(const char *db, ccai_config **cfg, ccai_poll **p)
{
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_config_new(cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(*cfg, "database.sqlite.path", db), CCAI_OK);
    assert_int_equal(ccai_poll_new(*cfg, p, &ctx, NULL), CCAI_OK);
    return ctx;
}

static json_t *call_doc(ccai_ctx *ctx, const char *id)
{
    char *json = NULL;
    ccai_status st = ccai_ctx_call_get_json(ctx, id, &json);
    if (st != CCAI_OK)
        fail_msg("%s: %s", id, ccai_status_str(st));
    json_t *doc = json_loads(json, 0, NULL);
    ccai_free(json);
    assert_non_null(doc);
    return doc;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s)
        fail_msg("no string %s", key);
    return s;
}

static void test_import_export(void **state)
{
    (void)state;
    char dir[] = "/tmp/ccai-import-api-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[128], path[4096];
    snprintf(db, sizeof db, "%s/db.sqlite", dir);
    const char *src = getenv("CCAI_TEST_SRCDIR");
    snprintf(path, sizeof path, "%s/tests/data/reference/calls-export.json",
             src && *src ? src : ".");
    ccai_config *cfg = NULL;
    ccai_poll *p = NULL;
    ccai_ctx *ctx = open_ctx(db, &cfg, &p);

    char *report = NULL;
    assert_int_equal(ccai_ctx_calls_import(NULL, path, &report), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_ctx_calls_import(ctx, path, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_ctx_calls_import(ctx, "/nonexistent/export.json", &report), CCAI_ERR_IO);
    assert_int_equal(ccai_ctx_calls_import(ctx, path, &report), CCAI_OK);
    json_t *r = json_loads(report, 0, NULL);
    ccai_free(report);
    assert_int_equal(json_integer_value(json_object_get(r, "imported")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "unchanged")), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "failed")), 2);
    const json_t *errors = json_object_get(r, "errors");
    assert_int_equal(json_array_size(errors), 2);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(errors, 0), "record")), 2);
    assert_string_equal(str(json_array_get(errors, 0), "error"), "call_id: expected a UUID");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(errors, 1), "record")), 4);
    assert_string_equal(str(json_array_get(errors, 1), "error"),
                        "messages[0].persona: expected human, assistant or tool");
    json_decref(r);

    /* The first call, field by field. */
    json_t *c = call_doc(ctx, "6b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d");
    assert_string_equal(str(c, "phone_number"), "+33699887766");
    assert_string_equal(str(c, "created_at"), "2024-07-15T10:43:05.123Z");
    assert_string_equal(str(c, "state"), "done");
    assert_string_equal(str(c, "end_reason"), "imported");
    assert_string_equal(str(c, "lang"), "fr-FR");
    assert_false(json_is_true(json_object_get(c, "in_progress")));
    const json_t *init = json_object_get(c, "initiate");
    assert_string_equal(str(init, "task"), "Help the customer with their insurance claim.");
    assert_int_equal(json_array_size(json_object_get(init, "claim")), 2);
    const json_t *claim = json_object_get(c, "claim");
    assert_string_equal(str(claim, "policyholder_name"), "Jeanne Martin");
    assert_string_equal(str(claim, "incident_location"), "12 rue de la Paix, Paris");
    assert_string_equal(str(json_object_get(c, "next"), "action"), "requires_expertise");
    assert_string_equal(str(json_object_get(c, "synthesis"), "short"), "your water damage");
    const json_t *msgs = json_object_get(c, "messages");
    assert_int_equal(json_array_size(msgs), 6);
    const json_t *m1 = json_array_get(msgs, 1);
    assert_string_equal(str(m1, "persona"), "assistant");
    assert_string_equal(str(m1, "style"), "cheerful");
    assert_string_equal(str(m1, "lang"), "fr-FR");
    assert_string_equal(str(m1, "created_at"), "2024-07-15T10:43:07.000Z");
    const json_t *tc = json_array_get(json_object_get(json_array_get(msgs, 3), "tool_calls"), 0);
    assert_string_equal(str(tc, "function_name"), "updated_claim");
    assert_string_equal(str(tc, "tool_id"), "call_abc123");
    /* A time with its offset, in UTC. */
    assert_string_equal(str(json_array_get(msgs, 4), "created_at"), "2024-07-15T08:45:00.000Z");
    assert_string_equal(str(json_array_get(msgs, 4), "action"), "sms");
    assert_string_equal(str(json_array_get(msgs, 5), "action"), "hangup");
    const json_t *rem = json_array_get(json_object_get(c, "reminders"), 0);
    assert_string_equal(str(rem, "title"), "Send the photos");
    assert_string_equal(str(rem, "owner"), "customer");
    assert_string_equal(str(rem, "due_date_time"), "2024-07-16T18:00:00.000Z");
    /* Its report link works with its own (new) secret. */
    assert_non_null(strstr(str(c, "report_path"), "?key="));
    json_decref(c);

    /* v9's "id", upper case, in progress when exported: stored ended. */
    c = call_doc(ctx, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
    assert_string_equal(str(c, "phone_number"), "+14155550100");
    assert_string_equal(str(c, "state"), "done");
    assert_true(json_is_null(json_object_get(c, "synthesis")));
    json_decref(c);

    char *list = NULL;
    assert_int_equal(ccai_ctx_calls_list_json(ctx, NULL, 100, 0, &list), CCAI_OK);
    assert_non_null(strstr(list, "\"total\":2"));
    ccai_free(list);

    /* Twice: nothing changes. */
    assert_int_equal(ccai_ctx_calls_import(ctx, path, &report), CCAI_OK);
    r = json_loads(report, 0, NULL);
    ccai_free(report);
    assert_int_equal(json_integer_value(json_object_get(r, "imported")), 0);
    assert_int_equal(json_integer_value(json_object_get(r, "unchanged")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "failed")), 2);
    json_decref(r);
    c = call_doc(ctx, "6b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d");
    assert_int_equal(json_array_size(json_object_get(c, "messages")), 6);
    assert_int_equal(json_array_size(json_object_get(c, "reminders")), 1);
    json_decref(c);
    assert_int_equal(ccai_ctx_calls_list_json(ctx, NULL, 100, 0, &list), CCAI_OK);
    assert_non_null(strstr(list, "\"total\":2"));
    ccai_free(list);

    /* JSON lines, one broken: the others go in. */
    char lines[256];
    snprintf(lines, sizeof lines, "%s/calls.jsonl", dir);
    FILE *f = fopen(lines, "w");
    assert_non_null(f);
    fputs("{\"call_id\": \"22222222-3333-4444-8555-666666666666\", \"created_at\": "
          "\"2024-08-01T08:00:00Z\", \"initiate\": {\"phone_number\": \"+33633333333\"}}\n"
          "{\"call_id\": \"broken\n"
          "\n"
          "{\"call_id\": \"33333333-4444-4555-8666-777777777777\", \"created_at\": "
          "\"2024-08-02T08:00:00Z\", \"initiate\": {\"phone_number\": \"+33644444444\"}}\n",
          f);
    fclose(f);
    assert_int_equal(ccai_ctx_calls_import(ctx, lines, &report), CCAI_OK);
    r = json_loads(report, 0, NULL);
    ccai_free(report);
    assert_int_equal(json_integer_value(json_object_get(r, "imported")), 2);
    assert_int_equal(json_integer_value(json_object_get(r, "failed")), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(r, "errors"), 0), "record")),
                     2);
    json_decref(r);

    /* Not an export at all. */
    f = fopen(lines, "w");
    assert_non_null(f);
    fputs("this is not JSON\n", f);
    fclose(f);
    assert_int_equal(ccai_ctx_calls_import(ctx, lines, &report), CCAI_ERR_PARSE);
    assert_non_null(strstr(ccai_ctx_errmsg(ctx), "import: not JSON"));
    unlink(lines);

    ccai_poll_free(p);
    ccai_config_free(cfg);
    unlink(db);
    char side[160];
    snprintf(side, sizeof side, "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db);
    unlink(side);
    rmdir(dir);
}

/* With database.sqlite.group_commit the store commits a loop turn's
 * writes at its end; the imports are blocking calls: what they wrote is
 * committed when they return, the loop never run (another context on the
 * file sees it): the calls (in transactions of their own), a document
 * (its writes joined the loop's group). */
static void test_import_committed_with_group_commit(void **state)
{
    (void)state;
    char dir[] = "/tmp/ccai-import-group-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[128], path[4096];
    snprintf(db, sizeof db, "%s/db.sqlite", dir);
    const char *src = getenv("CCAI_TEST_SRCDIR");
    snprintf(path, sizeof path, "%s/tests/data/reference/calls-export.json",
             src && *src ? src : ".");
    ccai_config *cfg = NULL;
    ccai_poll *p = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", db), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.group_commit", "true"), CCAI_OK);
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_poll_new(cfg, &p, &ctx, NULL), CCAI_OK);
    char *report = NULL;
    assert_int_equal(ccai_ctx_calls_import(ctx, path, &report), CCAI_OK);
    ccai_free(report);
    char page[128];
    snprintf(page, sizeof page, "%s/glass.html", dir);
    FILE *f = fopen(page, "w");
    assert_non_null(f);
    fputs("<html lang=\"en-GB\"><title>Glass</title><h1>Windscreens</h1>"
          "<p>A windscreen is replaced with a 75 pound excess.</p></html>",
          f);
    fclose(f);
    assert_int_equal(ccai_ctx_docs_import(ctx, page, NULL, &report), CCAI_OK);
    ccai_free(report);

    ccai_config *cfg2 = NULL;
    ccai_poll *p2 = NULL;
    ccai_ctx *other = open_ctx(db, &cfg2, &p2);
    char *list = NULL;
    assert_int_equal(ccai_ctx_calls_list_json(other, NULL, 100, 0, &list), CCAI_OK);
    if (!strstr(list, "\"total\":2"))
        fail_msg("the other context sees %s", list);
    ccai_free(list);
    assert_int_equal(ccai_ctx_docs_list_json(other, &list), CCAI_OK);
    if (!strstr(list, "glass.html"))
        fail_msg("the other context's documents: %s", list);
    ccai_free(list);
    ccai_poll_free(p2);
    ccai_config_free(cfg2);
    ccai_poll_free(p);
    ccai_config_free(cfg);
    char side[160];
    unlink(db);
    snprintf(side, sizeof side, "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db);
    unlink(side);
    unlink(page);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_import_export),
        cmocka_unit_test(test_import_committed_with_group_commit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
