/* The documents API (ccai_ctx_docs_*) through the shared library and
 * <ccai/ccai.h> only, as a host sees it: import a directory's files, list
 * them, search (the answer from the loop, never from inside the call),
 * remove; argument checks; a context freed with a search in flight calls
 * nothing back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct answer {
    int calls;
    ccai_status st;
    char json[8192];
} answer;

static void on_done(ccai_status st, const char *json, void *ud)
{
    answer *a = ud;
    a->calls++;
    a->st = st;
    snprintf(a->json, sizeof a->json, "%s", json ? json : "");
}

static int answered(void *ud)
{
    return ((answer *)ud)->calls > 0;
}

static void test_docs_api(void **state)
{
    (void)state;
    char dir[] = "/tmp/ccai-docs-api-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char db[128], page[128];
    snprintf(db, sizeof db, "%s/db.sqlite", dir);
    snprintf(page, sizeof page, "%s/glass.html", dir);
    FILE *f = fopen(page, "w");
    assert_non_null(f);
    fputs("<html lang=\"fr-FR\"><title>Bris de glace</title><h1>Pare-brise</h1>"
          "<p>Le remplacement du pare-brise co&ucirc;te 75&nbsp;&euro; de franchise.</p></html>",
          f);
    fclose(f);

    ccai_config *cfg = NULL;
    ccai_poll *p = NULL;
    ccai_ctx *ctx = NULL;
    assert_int_equal(ccai_config_new(&cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(cfg, "database.sqlite.path", db), CCAI_OK);
    assert_int_equal(ccai_poll_new(cfg, &p, &ctx, NULL), CCAI_OK);

    char *json = NULL;
    assert_int_equal(ccai_ctx_docs_import(NULL, page, NULL, &json), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_ctx_docs_import(ctx, page, NULL, NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_ctx_docs_import(ctx, page, NULL, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"status\":\"imported\""));
    assert_non_null(strstr(json, "\"lang\":\"fr-FR\""));
    assert_non_null(strstr(json, "\"format\":\"html\""));
    ccai_free(json);
    assert_int_equal(ccai_ctx_docs_list_json(ctx, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"title\":\"Bris de glace\""));
    ccai_free(json);

    answer a = {0};
    assert_int_equal(ccai_ctx_docs_search(ctx, "franchise pare-brise", "fr-FR", 0, on_done, &a),
                     CCAI_OK);
    assert_int_equal(a.calls, 0);
    assert_int_equal(ccai_poll_run(p, answered, &a), 0);
    assert_int_equal(a.calls, 1);
    assert_int_equal(a.st, CCAI_OK);
    assert_non_null(strstr(a.json, "\"mode\":\"bm25\""));
    assert_non_null(strstr(a.json, "co\xC3\xBBte 75 \xE2\x82\xAC de franchise"));
    assert_non_null(strstr(a.json, "\"heading\":\"Bris de glace > Pare-brise\""));

    assert_int_equal(ccai_ctx_docs_search(ctx, "x", NULL, 0, NULL, &a), CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_ctx_docs_embed(ctx, on_done, &a), CCAI_ERR_UNSUPPORTED);

    assert_int_equal(ccai_ctx_docs_remove(ctx, page, &json), CCAI_OK);
    assert_non_null(strstr(json, "\"chunks\":1"));
    ccai_free(json);
    assert_int_equal(ccai_ctx_docs_remove(ctx, page, &json), CCAI_ERR_NOT_FOUND);

    /* Freed with a search in flight: no callback. */
    answer b = {0};
    assert_int_equal(ccai_ctx_docs_search(ctx, "anything", NULL, 0, on_done, &b), CCAI_OK);
    ccai_poll_free(p);
    assert_int_equal(b.calls, 0);
    ccai_config_free(cfg);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docs_api),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
