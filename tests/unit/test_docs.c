/* The documentation search (libccai/rag/, store/docs.h, cache/): the
 * chunker on Markdown, HTML and text; import, re-import and removal; BM25
 * over the corpus of tests/data/docs (an insurer's help pages in English
 * and French); embeddings from a stand-in speaking OpenAI's and Azure's
 * wire formats; the query cache in the store and in a real redis-server;
 * and search_document in a call, its result reaching the model through
 * the LLM stand-in in the reference's format.
 *
 * Given the argument "postgresql", the tests of the documents store run on
 * a real PostgreSQL server this test starts (tests/support/pg_server.h;
 * skipped, exit 77, when its binaries are absent), each on a new schema,
 * and two instances share one set of documents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <ccai/adapters/poll.h>

#include "rag/chunk.h"
#include "rag/embed.h"
#include "rag/rag.h"
#include "store/docs.h"
#include "store/pg.h"
#include "support/embed_standin.h"
#include "support/llm_standin.h"
#include "support/pg_server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *srcdir(void)
{
    const char *s = getenv("CCAI_TEST_SRCDIR");
    return s && *s ? s : ".";
}

/* The chunker ------------------------------------------------------------- */

static Ccai_doc *parse(const char *text, Ccai_doc_format f, size_t max, size_t overlap)
{
    Ccai_chunk_opts o = {max, overlap};
    Ccai_doc *d = NULL;
    assert_int_equal(Ccai_doc_parse(text, strlen(text), f, &o, &d), CCAI_OK);
    return d;
}

static void test_chunk_markdown(void **state)
{
    (void)state;
    Ccai_doc *d = parse("---\ntitle: \"Car help\"\nlang: fr_fr\n---\n"
                        "# Claims\n\nIntro with **bold**, _emphasis_, `code` and a "
                        "[link](https://x.example/a) and ![a photo](p.png).\n\n"
                        "## Glass\n\n- first item\n- second *item*\n\n"
                        "Setext title\n------------\n\nBody of setext.\n\n"
                        "```\nint snake_case = 1;\n```\n\n[ref]: https://x.example\n",
                        CCAI_DOC_MARKDOWN, 1500, 200);
    assert_string_equal(d->title, "Car help");
    assert_string_equal(d->lang, "fr_fr");
    char norm[16];
    assert_true(Ccai_lang_normalize(d->lang, norm));
    assert_string_equal(norm, "fr-FR");
    assert_int_equal(d->n, 3);
    assert_string_equal(d->chunks[0].heading, "Car help > Claims");
    assert_string_equal(d->chunks[0].text,
                        "Intro with bold, emphasis, code and a link and a photo.");
    assert_string_equal(d->chunks[1].heading, "Car help > Claims > Glass");
    assert_string_equal(d->chunks[1].text, "- first item\n- second item");
    assert_string_equal(d->chunks[2].heading, "Car help > Claims > Setext title");
    assert_string_equal(d->chunks[2].text, "Body of setext.\nint snake_case = 1;");
    Ccai_doc_free(d);
}

static void test_chunk_html(void **state)
{
    (void)state;
    Ccai_doc *d =
        parse("<!DOCTYPE html><html lang=\"en-GB\"><head><title>Glass &amp; windows</title>"
              "<style>h1 { color: red }</style><script>var s = \"<h1>not a heading</h1>\";"
              "</script></head><body><nav><a href=\"/\">Home</a> &gt; Help</nav>"
              "<!-- <h2>hidden</h2> --><h1>Windshield</h1><p>A chip &lt; 2&nbsp;cm is "
              "repaired&#160;free &mdash; caf&eacute; &#x27;ok&#x27; &unknown; &#128663;</p>"
              "<h2>Replacement</h2><ul><li>Partner: $75</li><li>Other: $150</li></ul>"
              "<footer>&copy; Contoso</footer></body></html>",
              CCAI_DOC_HTML, 1500, 200);
    assert_string_equal(d->title, "Glass & windows");
    assert_string_equal(d->lang, "en-GB");
    assert_int_equal(d->n, 2);
    assert_string_equal(d->chunks[0].heading, "Glass & windows > Windshield");
    assert_string_equal(d->chunks[0].text,
                        "A chip < 2 cm is repaired free \xE2\x80\x94 caf\xC3\xA9 'ok' &unknown; "
                        "\xF0\x9F\x9A\x97");
    assert_string_equal(d->chunks[1].heading, "Glass & windows > Windshield > Replacement");
    assert_string_equal(d->chunks[1].text, "Partner: $75\nOther: $150\n\xC2\xA9 Contoso");
    for (size_t i = 0; i < d->n; i++) {
        assert_null(strstr(d->chunks[i].text, "not a heading"));
        assert_null(strstr(d->chunks[i].text, "hidden"));
        assert_null(strstr(d->chunks[i].text, "color"));
        assert_null(strstr(d->chunks[i].text, "Home"));
    }
    Ccai_doc_free(d);
    assert_int_equal(Ccai_doc_format_of("page.HTM", "", 0), CCAI_DOC_HTML);
    assert_int_equal(Ccai_doc_format_of("notes", "  <!doctype html><p>x", 21), CCAI_DOC_HTML);
    assert_int_equal(Ccai_doc_format_of("a.md", "<html>", 6), CCAI_DOC_MARKDOWN);
    assert_int_equal(Ccai_doc_format_of("a.txt", "<html>", 6), CCAI_DOC_TEXT);
}

static void test_chunk_overlap(void **state)
{
    (void)state;
    /* 60 numbered sentences in one section: cut at sentence ends, each
     * chunk within the limit, each repeating the end of the one before,
     * every sentence in some chunk. */
    char text[8192] = "Long section\n============\n\n";
    for (int i = 0; i < 60; i++) {
        size_t n = strlen(text);
        snprintf(text + n, sizeof text - n, "Sentence number %02d says something useful. ", i);
    }
    Ccai_doc *d = parse(text, CCAI_DOC_MARKDOWN, 400, 100);
    assert_true(d->n >= 6);
    for (size_t i = 0; i < d->n; i++) {
        assert_true(strlen(d->chunks[i].text) <= 400);
        assert_string_equal(d->chunks[i].heading, "Long section");
        const char *t = d->chunks[i].text;
        assert_true(t[strlen(t) - 1] == '.'); /* cut after a sentence */
        if (i > 0) {
            /* The first 20 bytes of this chunk are inside the previous one. */
            char head[21];
            snprintf(head, sizeof head, "%s", t);
            assert_non_null(strstr(d->chunks[i - 1].text, head));
        }
    }
    for (int s = 0; s < 60; s++) {
        char want[64];
        snprintf(want, sizeof want, "Sentence number %02d says something useful.", s);
        bool found = false;
        for (size_t i = 0; i < d->n && !found; i++)
            found = strstr(d->chunks[i].text, want) != NULL;
        assert_true(found);
    }
    Ccai_doc_free(d);
}

static void test_chunk_limits(void **state)
{
    (void)state;
    Ccai_chunk_opts bad = {100, 10};
    Ccai_doc *d = NULL;
    assert_int_equal(Ccai_doc_parse("x", 1, CCAI_DOC_TEXT, &bad, &d), CCAI_ERR_INVALID_ARG);
    bad = (Ccai_chunk_opts){400, 200};
    assert_int_equal(Ccai_doc_parse("x", 1, CCAI_DOC_TEXT, &bad, &d), CCAI_ERR_INVALID_ARG);
    /* Nothing to say: no chunk. */
    d = parse("<html><script>x()</script></html>", CCAI_DOC_HTML, 1500, 200);
    assert_int_equal(d->n, 0);
    Ccai_doc_free(d);
    /* Bytes that are not UTF-8 become U+FFFD; a word longer than a chunk is
     * cut at a character's boundary. */
    d = parse("caf\xE9 \xC3\xA9t\xC3\xA9\n\nsecond paragraph", CCAI_DOC_TEXT, 1500, 200);
    assert_int_equal(d->n, 1);
    assert_string_equal(d->chunks[0].text, "caf\xEF\xBF\xBD \xC3\xA9t\xC3\xA9\nsecond paragraph");
    Ccai_doc_free(d);
    /* Control characters written as entities are no text (the fuzz target
     * found &#1; kept as a byte); a tab is a space. */
    d = parse("<p>a&#1;b&#9;c&#127;d&#150;e\x7f</p>", CCAI_DOC_HTML, 1500, 200);
    assert_string_equal(d->chunks[0].text, "ab cde");
    Ccai_doc_free(d);
    char word[1200];
    for (size_t i = 0; i + 2 < sizeof word; i += 2)
        memcpy(word + i, "\xC3\xA9", 2);
    word[sizeof word - 2] = '\0';
    d = parse(word, CCAI_DOC_TEXT, 200, 20);
    assert_true(d->n > 5);
    for (size_t i = 0; i < d->n; i++)
        assert_true(strlen(d->chunks[i].text) % 2 == 0);
    Ccai_doc_free(d);
    char norm[16];
    assert_false(Ccai_lang_normalize("f", norm));
    assert_false(Ccai_lang_normalize("fr-", norm));
    assert_false(Ccai_lang_normalize("12", norm));
    assert_true(Ccai_lang_normalize("zh-hans-cn", norm));
    assert_string_equal(norm, "zh-Hans-CN");
}

/* A context on a temporary database ----------------------------------------- */

/* The PostgreSQL server of this run, when the backend under test is it. */
static pg_server g_pg;
static bool g_pg_mode;
/* database.postgresql.search_threads, as ccai-server sets it (true), or
 * the library's default (false: the reads wait on the loop). */
static bool g_pg_threads = true;

typedef struct env {
    char dir[64];
    char db[128];
    char dsn[400]; /* PostgreSQL: this test's schema */
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
} env;

/* A context's configuration on the database dsn (PostgreSQL) or a new
 * SQLite file (dsn NULL). */
static void env_config_on(env *e, const char *dsn)
{
    memset(e, 0, sizeof *e);
    snprintf(e->dir, sizeof e->dir, "/tmp/ccai-docs-XXXXXX");
    assert_non_null(mkdtemp(e->dir));
    snprintf(e->db, sizeof e->db, "%s/db.sqlite", e->dir);
    assert_int_equal(ccai_config_new(&e->cfg), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "database.sqlite.path", e->db), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "documents.default_lang", "en-US"), CCAI_OK);
    if (dsn) {
        snprintf(e->dsn, sizeof e->dsn, "%s", dsn);
        assert_int_equal(ccai_config_set(e->cfg, "database.mode", "postgresql"), CCAI_OK);
        assert_int_equal(ccai_config_set(e->cfg, "database.postgresql.dsn", dsn), CCAI_OK);
        assert_int_equal(ccai_config_set(e->cfg, "database.postgresql.search_threads",
                                         g_pg_threads ? "true" : "false"),
                         CCAI_OK);
    }
}

/* The backend under test: SQLite, or a new schema of the PostgreSQL
 * server. */
static void env_config(env *e)
{
    char dsn[400];
    if (g_pg_mode)
        assert_int_equal(pg_server_schema_dsn(&g_pg, dsn, sizeof dsn), 0);
    env_config_on(e, g_pg_mode ? dsn : NULL);
}

static void env_open(env *e)
{
    char *err = NULL;
    ccai_status st = ccai_poll_new(e->cfg, &e->poll, &e->ctx, &err);
    if (st != CCAI_OK)
        fail_msg("ctx: %s: %s", ccai_status_str(st), err ? err : "");
}

static void env_close(env *e)
{
    ccai_poll_free(e->poll);
    e->poll = NULL;
    e->ctx = NULL;
}

static void env_free(env *e)
{
    env_close(e);
    ccai_config_free(e->cfg);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    assert_int_equal(system(cmd), 0);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static json_t *import(env *e, const char *path, const char *lang)
{
    char *json = NULL;
    ccai_status st = ccai_ctx_docs_import(e->ctx, path, lang, &json);
    if (st != CCAI_OK)
        fail_msg("import %s: %s", path, ccai_ctx_errmsg(e->ctx));
    json_t *doc = json_loads(json, 0, NULL);
    ccai_free(json);
    assert_non_null(doc);
    return doc;
}

static void import_corpus(env *e)
{
    static const char *const en[] = {
        "cancellation.md",   "car-accident.html",  "car-coverage.md", "claim-status.md",
        "contacts.md",       "deductibles.md",     "exclusions.md",   "file-a-claim.md",
        "home-burglary.txt", "home-coverage.html", "payments.md",     "roadside-assistance.md",
        "storm-hail.md",     "theft-vehicle.md",   "water-damage.md", "windshield.md",
    };
    static const char *const fr[] = {
        "accident-voiture.html",   "assistance-depannage.md", "assurance-habitation.html",
        "bris-de-glace.md",        "cambriolage.md",          "contacts.md",
        "declarer-un-sinistre.md", "degat-des-eaux.md",       "exclusions.md",
        "formules-auto.md",        "franchises.md",           "resiliation.md",
        "suivi-sinistre.md",       "vol-vehicule.md",
    };
    char path[512];
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(en); i++) {
        snprintf(path, sizeof path, "%s/tests/data/docs/en/%s", srcdir(), en[i]);
        json_decref(import(e, path, NULL));
    }
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(fr); i++) {
        snprintf(path, sizeof path, "%s/tests/data/docs/fr/%s", srcdir(), fr[i]);
        json_t *doc = import(e, path, NULL);
        assert_int_equal(strncmp(json_string_value(json_object_get(doc, "lang")), "fr", 2), 0);
        json_decref(doc);
    }
}

typedef struct waiter {
    int done;
    ccai_status st;
    json_t *json;
} waiter;

static void on_done(ccai_status st, const char *json, void *ud)
{
    waiter *w = ud;
    w->done++;
    w->st = st;
    w->json = json ? json_loads(json, 0, NULL) : NULL;
}

static void wait_for(env *e, waiter *w)
{
    uint64_t deadline = ccai_time_ms() + 20000;
    while (!w->done && ccai_time_ms() < deadline)
        assert_true(ccai_poll_run_once(e->poll, 50) >= 0);
    assert_int_equal(w->done, 1);
}

/* The search's results; the caller frees them (json_decref). */
static json_t *search(env *e, const char *q, const char *lang, size_t limit)
{
    waiter w = {0};
    assert_int_equal(ccai_ctx_docs_search(e->ctx, q, lang, limit, on_done, &w), CCAI_OK);
    assert_int_equal(w.done, 0); /* never from inside the call */
    wait_for(e, &w);
    assert_int_equal(w.st, CCAI_OK);
    assert_non_null(w.json);
    return w.json;
}

static const char *result_source(const json_t *res, size_t i)
{
    const char *s = json_string_value(
        json_object_get(json_array_get(json_object_get(res, "results"), i), "source"));
    const char *slash = s ? strrchr(s, '/') : NULL;
    return slash ? slash + 1 : s;
}

static size_t n_results(const json_t *res)
{
    return json_array_size(json_object_get(res, "results"));
}

/* Import, re-import, remove --------------------------------------------------- */

static void test_import_reimport_remove(void **state)
{
    (void)state;
    env e;
    env_config(&e);
    env_open(&e);
    char path[160];
    snprintf(path, sizeof path, "%s/fees.md", e.dir);
    write_file(path, "# Fees\n\nThe renewal fee is twelve dollars.\n\n## Late\n\nA late "
                     "payment costs a penalty of five dollars.\n");
    json_t *doc = import(&e, path, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "imported");
    assert_int_equal(json_integer_value(json_object_get(doc, "chunks")), 2);
    assert_string_equal(json_string_value(json_object_get(doc, "lang")), "en-US");
    json_decref(doc);
    json_t *res = search(&e, "late penalty", "en-US", 0);
    assert_int_equal(n_results(res), 1);
    assert_string_equal(result_source(res, 0), "fees.md");
    assert_string_equal(json_string_value(json_object_get(res, "mode")), "bm25");
    json_decref(res);

    /* The same bytes: nothing happens. */
    doc = import(&e, path, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "unchanged");
    json_decref(doc);
    /* Changed: the old chunks go, the new ones are found. */
    write_file(path, "# Fees\n\nThe renewal fee is fifteen dollars; there is no late fee.\n");
    doc = import(&e, path, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "replaced");
    assert_int_equal(json_integer_value(json_object_get(doc, "chunks")), 1);
    json_decref(doc);
    res = search(&e, "penalty", "en-US", 0);
    assert_int_equal(n_results(res), 0);
    json_decref(res);
    res = search(&e, "renewal fee", "en-US", 0);
    assert_int_equal(n_results(res), 1);
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_array_get(json_object_get(res, "results"), 0), "content")),
                           "fifteen"));
    json_decref(res);
    /* Another language for the same bytes is another import. */
    doc = import(&e, path, "fr");
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "replaced");
    json_decref(doc);

    char *json = NULL;
    assert_int_equal(ccai_ctx_docs_list_json(e.ctx, &json), CCAI_OK);
    doc = json_loads(json, 0, NULL);
    ccai_free(json);
    assert_int_equal(json_array_size(json_object_get(doc, "sources")), 1);
    assert_true(json_is_null(json_object_get(doc, "embeddings")));
    json_decref(doc);

    /* Removed (by a relative path too), then gone; twice is NOT_FOUND. */
    assert_int_equal(ccai_ctx_docs_remove(e.ctx, path, &json), CCAI_OK);
    ccai_free(json);
    assert_int_equal(ccai_ctx_docs_remove(e.ctx, path, &json), CCAI_ERR_NOT_FOUND);
    assert_non_null(strstr(ccai_ctx_errmsg(e.ctx), "never imported"));
    res = search(&e, "renewal fee", "en-US", 0);
    assert_int_equal(n_results(res), 0);
    assert_int_equal(json_integer_value(json_object_get(res, "chunks")), 0);
    json_decref(res);

    /* Bad input gets a clear error and changes nothing. */
    assert_int_equal(ccai_ctx_docs_import(e.ctx, "/nonexistent/x.md", NULL, &json), CCAI_ERR_IO);
    assert_non_null(strstr(ccai_ctx_errmsg(e.ctx), "No such file"));
    assert_int_equal(ccai_ctx_docs_import(e.ctx, path, "not a tag", &json), CCAI_ERR_INVALID_ARG);
    waiter w = {0};
    assert_int_equal(ccai_ctx_docs_search(e.ctx, "   ", NULL, 0, on_done, &w),
                     CCAI_ERR_INVALID_ARG);
    assert_int_equal(ccai_ctx_docs_embed(e.ctx, on_done, &w), CCAI_ERR_UNSUPPORTED);
    assert_non_null(strstr(ccai_ctx_errmsg(e.ctx), "BM25 only"));
    assert_int_equal(w.done, 0);

    /* The documents outlive the process. */
    write_file(path, "# Fees\n\nKept across restarts.\n");
    json_decref(import(&e, path, NULL));
    env_close(&e);
    env_open(&e);
    res = search(&e, "restarts", NULL, 0);
    assert_int_equal(n_results(res), 1);
    json_decref(res);
    env_free(&e);
}

/* BM25 over the corpus ------------------------------------------------------- */

static void test_search_corpus(void **state)
{
    (void)state;
    env e;
    env_config(&e);
    env_open(&e);
    import_corpus(&e);
    struct {
        const char *q, *lang, *want;
    } cases[] = {
        {"how much is the deductible to replace my windshield", "en-US", "windshield.md"},
        {"what to do after the theft of my car", "en-US", "theft-vehicle.md"},
        {"what is the phone number of customer service", "en-US", "contacts.md"},
        {"franchise vol tous risques", "fr-FR", "franchises.md"},
        {"mon pare-brise est fissuré", "fr-FR", "bris-de-glace.md"},
        {"DÉGÂT DES EAUX fuite", "fr-FR", "degat-des-eaux.md"}, /* case and accents */
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(cases); i++) {
        json_t *res = search(&e, cases[i].q, cases[i].lang, 3);
        if (!n_results(res) || strcmp(result_source(res, 0), cases[i].want) != 0)
            fail_msg("%s: first result %s, wanted %s", cases[i].q,
                     n_results(res) ? result_source(res, 0) : "(none)", cases[i].want);
        /* Only the call's language. */
        size_t k;
        const json_t *r;
        json_array_foreach(json_object_get(res, "results"), k, r)
        {
            assert_int_equal(
                strncmp(json_string_value(json_object_get(r, "lang")), cases[i].lang, 2), 0);
        }
        json_decref(res);
    }
    /* Nothing relevant: nothing found, truthfully. */
    json_t *res = search(&e, "how do I bake a chocolate cake", "en-US", 3);
    assert_int_equal(n_results(res), 0);
    assert_true(json_integer_value(json_object_get(res, "chunks_in_lang")) > 0);
    json_decref(res);
    /* A language without documents: every language. */
    res = search(&e, "windshield deductible", "es-ES", 3);
    assert_true(json_is_null(json_object_get(res, "lang")));
    assert_string_equal(result_source(res, 0), "windshield.md");
    json_decref(res);
    /* FTS5's syntax in a question is only words. */
    res = search(&e, "\"theft\" AND (* OR -)", "en-US", 3);
    assert_string_equal(result_source(res, 0), "theft-vehicle.md");
    json_decref(res);
    bool nomem = false;
    char *m = Ccai_rag_match_expr("What are the policies of the deductibles?", &nomem);
    assert_string_equal(m, "\"polic\"* OR \"deductibl\"*");
    ccai_free(m);
    assert_null(Ccai_rag_match_expr("what is it", &nomem));
    assert_false(nomem);
    env_free(&e);
}

/* The tool's text, as the reference wrote it. */
static void test_format(void **state)
{
    (void)state;
    char heading[] = "Glass > \"Chip\" & crack", text[] = "<b>Free</b> if it's small";
    Ccai_rag_hit hit = {.heading = heading, .text = text};
    Ccai_rag_results res = {.v = &hit, .n = 1, .total = 3, .in_lang = 3};
    char *t = Ccai_rag_format(&res);
    /* Compact JSON, as pydantic's model_dump_json() writes it. */
    assert_string_equal(t, "# Search results\n<documents>{&quot;title&quot;:&quot;Glass &gt; "
                           "\\&quot;Chip\\&quot; &amp; crack&quot;,&quot;content&quot;:"
                           "&quot;&lt;b&gt;Free&lt;/b&gt; if it&#x27;s small&quot;}</documents>");
    ccai_free(t);
    res.n = 0;
    t = Ccai_rag_format(&res);
    assert_non_null(strstr(t, "# Search results\nNothing relevant was found"));
    ccai_free(t);
    res.total = 0;
    t = Ccai_rag_format(&res);
    assert_non_null(strstr(t, "No documents have been imported"));
    ccai_free(t);
}

/* Embeddings ----------------------------------------------------------------- */

static void use_embeddings(env *e, embed_standin *s, bool azure)
{
    char ep[96];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d%s", embed_standin_port(s), azure ? "" : "/v1");
    assert_int_equal(
        ccai_config_set(e->cfg, "documents.embeddings.mode", azure ? "azure_openai" : "openai"),
        CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "documents.embeddings.endpoint", ep), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "documents.embeddings.api_key", "sk-test"), CCAI_OK);
    if (azure)
        assert_int_equal(ccai_config_set(e->cfg, "documents.embeddings.deployment", "embed"),
                         CCAI_OK);
}

static int64_t embed_all(env *e)
{
    waiter w = {0};
    assert_int_equal(ccai_ctx_docs_embed(e->ctx, on_done, &w), CCAI_OK);
    wait_for(e, &w);
    int64_t n = w.st == CCAI_OK && !json_object_get(w.json, "error")
                    ? json_integer_value(json_object_get(w.json, "embedded"))
                    : -1;
    if (n < 0)
        fprintf(stderr, "# embed: %s: %s (%s)\n", ccai_status_str(w.st), ccai_ctx_errmsg(e->ctx),
                json_string_value(json_object_get(w.json, "error")));
    json_decref(w.json);
    return n;
}

static void check_hybrid(env *e, embed_standin *s)
{
    int64_t n = embed_all(e);
    assert_true(n > 60);
    assert_int_equal(embed_standin_texts(s), (int)n);
    /* Every chunk has its vector: a second run has nothing to do. */
    assert_int_equal(embed_all(e), 0);
    int before = embed_standin_requests(s);
    json_t *res = search(e, "my windshield has a crack, what deductible do I pay", "en-US", 3);
    assert_string_equal(json_string_value(json_object_get(res, "mode")), "hybrid");
    assert_string_equal(result_source(res, 0), "windshield.md");
    const json_t *top = json_array_get(json_object_get(res, "results"), 0);
    assert_true(json_integer_value(json_object_get(top, "vector_rank")) >= 1);
    assert_true(json_real_value(json_object_get(top, "cosine")) > 0.3);
    json_decref(res);
    assert_int_equal(embed_standin_requests(s), before + 1); /* the question's vector */
    char *body = embed_standin_last_body(s);
    json_t *req = json_loads(body, 0, NULL);
    free(body);
    assert_string_equal(json_string_value(json_object_get(req, "model")), "text-embedding-3-small");
    assert_string_equal(json_string_value(json_object_get(req, "encoding_format")), "float");
    assert_string_equal(json_string_value(json_array_get(json_object_get(req, "input"), 0)),
                        "my windshield has a crack, what deductible do I pay");
    json_decref(req);
    char *json = NULL;
    assert_int_equal(ccai_ctx_docs_list_json(e->ctx, &json), CCAI_OK);
    json_t *list = json_loads(json, 0, NULL);
    ccai_free(json);
    assert_string_equal(json_string_value(json_object_get(list, "embeddings")),
                        "text-embedding-3-small");
    size_t i;
    const json_t *src;
    json_array_foreach(json_object_get(list, "sources"), i, src)
    {
        assert_int_equal(json_integer_value(json_object_get(src, "embedded")),
                         json_integer_value(json_object_get(src, "chunks")));
    }
    json_decref(list);
}

static void test_embeddings_openai(void **state)
{
    (void)state;
    embed_standin_opts o = {.key = "sk-test"};
    embed_standin *s = embed_standin_start(&o);
    assert_non_null(s);
    env e;
    env_config(&e);
    use_embeddings(&e, s, false);
    env_open(&e);
    import_corpus(&e);
    check_hybrid(&e, s);
    char *path = embed_standin_last_path(s);
    assert_string_equal(path, "/v1/embeddings");
    free(path);
    env_free(&e);
    embed_standin_stop(s);
}

static void test_embeddings_azure(void **state)
{
    (void)state;
    embed_standin *s = embed_standin_start(NULL);
    assert_non_null(s);
    env e;
    env_config(&e);
    use_embeddings(&e, s, true);
    env_open(&e);
    import_corpus(&e);
    check_hybrid(&e, s);
    char *path = embed_standin_last_path(s);
    assert_string_equal(path, "/openai/deployments/embed/embeddings?api-version=2024-10-21");
    free(path);
    env_free(&e);
    embed_standin_stop(s);
}

/* An embeddings service that fails: the import says so, and searches go on
 * by BM25 (not cached, so that a later search uses the vectors). */
static void test_embeddings_down(void **state)
{
    (void)state;
    embed_standin_opts o = {.fail_status = 500};
    embed_standin *s = embed_standin_start(&o);
    env e;
    env_config(&e);
    use_embeddings(&e, s, false);
    assert_int_equal(ccai_config_set(e.cfg, "documents.embeddings.retries", "1"), CCAI_OK);
    env_open(&e);
    import_corpus(&e);
    waiter w = {0};
    assert_int_equal(ccai_ctx_docs_embed(e.ctx, on_done, &w), CCAI_OK);
    wait_for(&e, &w);
    assert_int_equal(w.st, CCAI_ERR_HTTP);
    assert_null(w.json);
    assert_non_null(strstr(ccai_ctx_errmsg(e.ctx), "HTTP 500"));
    json_t *res = search(&e, "theft of my car", "en-US", 3);
    assert_string_equal(json_string_value(json_object_get(res, "mode")), "bm25");
    assert_string_equal(result_source(res, 0), "theft-vehicle.md");
    json_decref(res);
    res = search(&e, "theft of my car", "en-US", 3);
    assert_false(json_is_true(json_object_get(res, "cached")));
    json_decref(res);
    env_free(&e);
    embed_standin_stop(s);
}

/* The query cache ------------------------------------------------------------ */

static void test_cache_store(void **state)
{
    (void)state;
    env e;
    env_config(&e);
    env_open(&e);
    import_corpus(&e);
    json_t *a = search(&e, "roadside assistance flat tyre", "en-US", 3);
    assert_false(json_is_true(json_object_get(a, "cached")));
    json_t *b = search(&e, "roadside assistance flat tyre", "en-US", 3);
    assert_true(json_is_true(json_object_get(b, "cached")));
    assert_true(json_equal(json_object_get(a, "results"), json_object_get(b, "results")));
    json_decref(a);
    json_decref(b);
    /* A change of the documents: the cached ranking is not used. */
    char path[512];
    snprintf(path, sizeof path, "%s/tyres.md", e.dir);
    write_file(path, "# Tyres\n\nA flat tyre is changed by roadside assistance for free.\n");
    json_decref(import(&e, path, NULL));
    a = search(&e, "roadside assistance flat tyre", "en-US", 3);
    assert_false(json_is_true(json_object_get(a, "cached")));
    assert_string_equal(result_source(a, 0), "tyres.md");
    json_decref(a);
    env_free(&e);
}

/* A real redis-server on a free loopback port, in a temporary directory. */
typedef struct redis_proc {
    pid_t pid;
    int port;
    char dir[64];
} redis_proc;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static bool redis_ping(int port)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "redis-cli -p %d ping 2>/dev/null | grep -q PONG", port);
    return system(cmd) == 0;
}

static bool redis_start(redis_proc *r)
{
    if (system("command -v redis-server >/dev/null 2>&1") != 0)
        return false;
    snprintf(r->dir, sizeof r->dir, "/tmp/ccai-redis-XXXXXX");
    assert_non_null(mkdtemp(r->dir));
    r->port = free_port();
    r->pid = fork();
    assert_true(r->pid >= 0);
    if (r->pid == 0) {
        char port[16], log[96];
        snprintf(port, sizeof port, "%d", r->port);
        snprintf(log, sizeof log, "%s/redis.log", r->dir);
        execlp("redis-server", "redis-server", "--port", port, "--bind", "127.0.0.1", "--dir",
               r->dir, "--save", "", "--appendonly", "no", "--loglevel", "warning", "--logfile",
               log, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 100 && !redis_ping(r->port); i++)
        usleep(50000);
    assert_true(redis_ping(r->port));
    return true;
}

static void redis_stop(redis_proc *r)
{
    if (r->pid > 0) {
        kill(r->pid, SIGTERM);
        waitpid(r->pid, NULL, 0);
        r->pid = 0;
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", r->dir);
    assert_int_equal(system(cmd), 0);
}

static void test_cache_redis(void **state)
{
    (void)state;
    redis_proc r = {0};
    if (!redis_start(&r)) {
        fprintf(stderr, "# SKIP test_cache_redis: redis-server is not installed "
                        "(Debian: apt-get install redis-server)\n");
        skip();
    }
    env e;
    env_config(&e);
    char port[16];
    snprintf(port, sizeof port, "%d", r.port);
    assert_int_equal(ccai_config_set(e.cfg, "cache.mode", "redis"), CCAI_OK);
    assert_int_equal(ccai_config_set(e.cfg, "cache.redis.port", port), CCAI_OK);
    assert_int_equal(ccai_config_set(e.cfg, "cache.redis.database", "3"), CCAI_OK);
    assert_int_equal(ccai_config_set(e.cfg, "cache.redis.prefix", "test:"), CCAI_OK);
    env_open(&e);
    import_corpus(&e);
    json_t *a = search(&e, "how do I cancel my contract", "en-US", 3);
    assert_false(json_is_true(json_object_get(a, "cached")));
    assert_string_equal(result_source(a, 0), "cancellation.md");
    json_t *b = search(&e, "how do I cancel my contract", "en-US", 3);
    assert_true(json_is_true(json_object_get(b, "cached")));
    assert_true(json_equal(json_object_get(a, "results"), json_object_get(b, "results")));
    json_decref(a);
    json_decref(b);
    /* In Redis, database 3, under the prefix, with the TTL (a day). */
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "test \"$(redis-cli -p %d -n 3 --scan --pattern 'test:*' | wc -l)\" -eq 1 && "
             "ttl=$(redis-cli -p %d -n 3 ttl \"$(redis-cli -p %d -n 3 --scan --pattern "
             "'test:*')\") && test \"$ttl\" -gt 86000 && test \"$ttl\" -le 86400",
             r.port, r.port, r.port);
    assert_int_equal(system(cmd), 0);
    /* Redis goes away: searches go on, uncached, without waiting. */
    redis_stop(&r);
    uint64_t t0 = ccai_time_ms();
    a = search(&e, "how do I cancel my contract", "en-US", 3);
    assert_false(json_is_true(json_object_get(a, "cached")));
    assert_string_equal(result_source(a, 0), "cancellation.md");
    json_decref(a);
    a = search(&e, "how do I cancel my contract", "en-US", 3);
    assert_string_equal(result_source(a, 0), "cancellation.md");
    json_decref(a);
    assert_true(ccai_time_ms() - t0 < 5000);
    env_free(&e);
}

/* search_document in a call ---------------------------------------------------- */

typedef struct host {
    int says;
    char said[16][256];
} host;

static int op_say(ccai_call *c, const ccai_speech *sp, void *ud)
{
    (void)c;
    host *h = ud;
    if (h->says < 16)
        snprintf(h->said[h->says], sizeof h->said[0], "%s", sp->text);
    h->says++;
    return 0;
}

static int op_listen(ccai_call *c, const char *lang, void *ud)
{
    (void)c;
    (void)lang;
    (void)ud;
    return 0;
}

static const ccai_call_ops ops = {
    .version = CCAI_CALL_OPS_VERSION, .say = op_say, .listen = op_listen};

/* The content of the tool message of the second chat request, or NULL. */
static char *tool_result(standin *si)
{
    char *body = standin_request_body(si, 1);
    json_t *req = json_loads(body, 0, NULL);
    free(body);
    char *out = NULL;
    size_t i;
    const json_t *m;
    json_array_foreach(json_object_get(req, "messages"), i, m)
    {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (role && strcmp(role, "tool") == 0 && !out)
            out = strdup(json_string_value(json_object_get(m, "content")));
    }
    json_decref(req);
    return out;
}

static char *call_with_search(const char *lang, const char *queries, bool with_docs)
{
    standin *si = standin_start(NULL);
    assert_non_null(si);
    char push[512];
    snprintf(push, sizeof push,
             "{\"kind\":\"tool_calls\",\"tool_calls\":[{\"id\":\"call_1\",\"name\":"
             "\"search_document\",\"arguments\":\"{\\\"customer_response\\\":\\\"Let me "
             "check.\\\",\\\"queries\\\":%s}\"}]}",
             queries);
    assert_int_equal(standin_push_json(si, push), 0);
    assert_int_equal(standin_push_json(si, "{\"kind\":\"text\",\"content\":\"It is 75 "
                                           "dollars.\"}"),
                     0);
    env e;
    env_config(&e);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/v1", standin_port(si));
    assert_int_equal(ccai_config_set(e.cfg, "llm.fast.mode", "openai_compatible"), CCAI_OK);
    assert_int_equal(ccai_config_set(e.cfg, "llm.fast.endpoint", ep), CCAI_OK);
    env_open(&e);
    if (with_docs)
        import_corpus(&e);
    host h = {0};
    char initiate[128];
    snprintf(initiate, sizeof initiate, "{\"lang\":{\"default_short_code\":\"%s\"}}", lang);
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+14155550100",
        .channel = "local",
        .initiate_json = initiate,
    };
    ccai_call *call = NULL;
    assert_int_equal(ccai_call_start(e.ctx, &p, &ops, &h, &call), CCAI_OK);
    ccai_event *ev = NULL;
    assert_int_equal(ccai_event_new(CCAI_EVENT_CONNECTED, &ev), CCAI_OK);
    assert_int_equal(ccai_on_event(call, ev), CCAI_OK);
    ccai_event_free(ev);
    assert_int_equal(ccai_event_new(CCAI_EVENT_SPEECH, &ev), CCAI_OK);
    assert_int_equal(ccai_event_set_text(ev, "How much do I pay for a new windshield?"), CCAI_OK);
    assert_int_equal(ccai_on_event(call, ev), CCAI_OK);
    ccai_event_free(ev);
    uint64_t deadline = ccai_time_ms() + 15000;
    while (ccai_call_get_state(call) == CCAI_CALL_TURN && ccai_time_ms() < deadline)
        assert_true(ccai_poll_run_once(e.poll, 50) >= 0);
    assert_int_equal(standin_request_count(si), 2);
    bool said = false;
    for (int i = 0; i < h.says && i < 16; i++)
        said = said || strcmp(h.said[i], "It is 75 dollars.") == 0;
    assert_true(said);
    char *result = tool_result(si);
    /* The result is stored with the call too. */
    char *json = NULL;
    assert_int_equal(ccai_call_to_json(call, &json), CCAI_OK);
    assert_non_null(strstr(json, "# Search results"));
    ccai_free(json);
    ccai_call_free(call);
    env_free(&e);
    standin_stop(si);
    assert_non_null(result);
    return result;
}

static void test_tool_in_a_call(void **state)
{
    (void)state;
    char *r = call_with_search(
        "en-US", "[\\\"windshield replacement deductible\\\",\\\"glass breakage\\\"]", true);
    /* The reference's format: a heading, then one escaped JSON document per
     * line; the windshield page's replacement section among them. */
    assert_int_equal(strncmp(r, "# Search results\n<documents>{&quot;title&quot;:&quot;", 51), 0);
    assert_non_null(strstr(r, "Windshield and glass damage &gt; Replacement"));
    assert_non_null(strstr(r, "The glass deductible is $75 for a replacement"));
    size_t docs = 0;
    for (const char *p = r; (p = strstr(p, "<documents>")) != NULL; p++)
        docs++;
    assert_true(docs >= 1 && docs <= 5);
    free(r);
    /* No documents imported: the model is told so, not "done". */
    r = call_with_search("en-US", "[\\\"windshield deductible\\\"]", false);
    assert_non_null(strstr(r, "No documents have been imported"));
    free(r);
}

/* search_document while PostgreSQL does not answer ------------------------------ */

/* A session that holds doc_chunks locked (ACCESS EXCLUSIVE): every read of
 * the documents waits for it, up to the statement timeout. */
static PGconn *lock_chunks(const char *dsn)
{
    PGconn *locker = PQconnectdb(dsn);
    assert_int_equal(PQstatus(locker), CONNECTION_OK);
    PGresult *r = PQexec(locker, "BEGIN; LOCK TABLE doc_chunks IN ACCESS EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    return locker;
}

static void unlock_chunks(PGconn *locker)
{
    PGresult *r = PQexec(locker, "ROLLBACK");
    PQclear(r);
    PQfinish(locker);
}

/* A context of the PostgreSQL server with the corpus and the LLM stand-in,
 * statement_timeout_ms as given. */
static void env_with_llm(env *e, standin *si, const char *statement_timeout_ms)
{
    env_config(e);
    char ep[64];
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d/v1", standin_port(si));
    assert_int_equal(ccai_config_set(e->cfg, "llm.fast.mode", "openai_compatible"), CCAI_OK);
    assert_int_equal(ccai_config_set(e->cfg, "llm.fast.endpoint", ep), CCAI_OK);
    assert_int_equal(
        ccai_config_set(e->cfg, "database.postgresql.statement_timeout_ms", statement_timeout_ms),
        CCAI_OK);
    env_open(e);
    import_corpus(e);
}

/* A call connected, the caller saying text: its turn begins. */
static ccai_call *call_saying(env *e, host *h, const char *text)
{
    ccai_call_params p = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = "+14155550100",
        .channel = "local",
        .initiate_json = "{\"lang\":{\"default_short_code\":\"en-US\"}}",
    };
    ccai_call *call = NULL;
    assert_int_equal(ccai_call_start(e->ctx, &p, &ops, h, &call), CCAI_OK);
    ccai_event *ev = NULL;
    assert_int_equal(ccai_event_new(CCAI_EVENT_CONNECTED, &ev), CCAI_OK);
    assert_int_equal(ccai_on_event(call, ev), CCAI_OK);
    ccai_event_free(ev);
    assert_int_equal(ccai_event_new(CCAI_EVENT_SPEECH, &ev), CCAI_OK);
    assert_int_equal(ccai_event_set_text(ev, text), CCAI_OK);
    assert_int_equal(ccai_on_event(call, ev), CCAI_OK);
    ccai_event_free(ev);
    return call;
}

static bool has_said(const host *h, const char *text)
{
    for (int i = 0; i < h->says && i < 16; i++) {
        if (strcmp(h->said[i], text) == 0)
            return true;
    }
    return false;
}

/* Run the loop for ms. */
static void run_for(env *e, uint64_t ms)
{
    uint64_t end = ccai_time_ms() + ms;
    while (ccai_time_ms() < end)
        assert_true(ccai_poll_run_once(e->poll, 20) >= 0);
}

/* Run the loop until the call's turn is over. */
static void run_turn(env *e, ccai_call *call)
{
    uint64_t deadline = ccai_time_ms() + 15000;
    while (ccai_call_get_state(call) == CCAI_CALL_TURN && ccai_time_ms() < deadline)
        assert_true(ccai_poll_run_once(e->poll, 20) >= 0);
    assert_int_not_equal(ccai_call_get_state(call), CCAI_CALL_TURN);
}

/* Run the loop until the stand-in has had n requests. */
static void run_until_requests(env *e, standin *si, int n)
{
    uint64_t deadline = ccai_time_ms() + 15000;
    while (standin_request_count(si) < n && ccai_time_ms() < deadline)
        assert_true(ccai_poll_run_once(e->poll, 20) >= 0);
    assert_int_equal(standin_request_count(si), n);
}

/* The content of the tool message of the stand-in's request i, or NULL. */
static char *tool_result_of(standin *si, int i)
{
    char *body = standin_request_body(si, i);
    json_t *req = json_loads(body, 0, NULL);
    free(body);
    char *out = NULL;
    size_t k;
    const json_t *m;
    json_array_foreach(json_object_get(req, "messages"), k, m)
    {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (role && strcmp(role, "tool") == 0 && !out)
            out = strdup(json_string_value(json_object_get(m, "content")));
    }
    json_decref(req);
    return out;
}

static const char search_windshield[] =
    "{\"kind\":\"tool_calls\",\"tool_calls\":[{\"id\":\"call_1\",\"name\":"
    "\"search_document\",\"arguments\":\"{\\\"customer_response\\\":\\\"Let me "
    "check.\\\",\\\"queries\\\":[\\\"windshield replacement deductible\\\"]}\"}]}";

/* The loop is not held by a search PostgreSQL does not answer: while call
 * a's search waits for a lock another session holds on the chunks, call b
 * of the same context has its whole turn answered (its LLM request and
 * its words); once the lock goes, a's search is answered with the
 * documents and its turn goes on. */
static void test_pg_search_off_the_loop(void **state)
{
    (void)state;
    standin *si = standin_start(NULL);
    assert_non_null(si);
    assert_int_equal(standin_push_json(si, search_windshield), 0);
    assert_int_equal(standin_push_json(si, "{\"kind\":\"text\",\"content\":\"We open at nine.\"}"),
                     0);
    assert_int_equal(standin_push_json(si, "{\"kind\":\"text\",\"content\":\"It is 75 dollars.\"}"),
                     0);
    env e;
    env_with_llm(&e, si, "5000");
    PGconn *locker = lock_chunks(e.dsn);
    host ha = {0}, hb = {0};
    ccai_call *a = call_saying(&e, &ha, "How much do I pay for a new windshield?");
    run_until_requests(&e, si, 1);
    run_for(&e, 300); /* a's search is asked, and waits for the lock */
    assert_int_equal(ccai_call_get_state(a), CCAI_CALL_TURN);
    uint64_t t0 = ccai_time_ms();
    ccai_call *b = call_saying(&e, &hb, "When do you open?");
    run_turn(&e, b);
    uint64_t b_ms = ccai_time_ms() - t0;
    assert_true(has_said(&hb, "We open at nine."));
    assert_int_equal(standin_request_count(si), 2);
    /* a still waits for its search: the lock is held. */
    assert_int_equal(ccai_call_get_state(a), CCAI_CALL_TURN);
    assert_false(has_said(&ha, "It is 75 dollars."));
    fprintf(stderr, "# call b's turn answered in %llu ms while call a's search was held\n",
            (unsigned long long)b_ms);
    unlock_chunks(locker);
    run_turn(&e, a);
    assert_true(has_said(&ha, "It is 75 dollars."));
    char *r = tool_result_of(si, 2);
    assert_non_null(r);
    assert_non_null(strstr(r, "The glass deductible is $75 for a replacement"));
    free(r);
    ccai_call_free(b);
    ccai_call_free(a);
    env_free(&e);
    standin_stop(si);
}

/* A search PostgreSQL does not answer within the statement timeout: the
 * model is told the search is unavailable right now, and the call goes
 * on (its next words said, the call still in conversation). */
static void test_pg_search_timeout(void **state)
{
    (void)state;
    standin *si = standin_start(NULL);
    assert_non_null(si);
    assert_int_equal(standin_push_json(si, search_windshield), 0);
    assert_int_equal(
        standin_push_json(si, "{\"kind\":\"text\",\"content\":\"I cannot check that now.\"}"), 0);
    env e;
    env_with_llm(&e, si, "500");
    PGconn *locker = lock_chunks(e.dsn);
    host h = {0};
    ccai_call *a = call_saying(&e, &h, "How much do I pay for a new windshield?");
    run_turn(&e, a);
    unlock_chunks(locker);
    assert_true(has_said(&h, "I cannot check that now."));
    assert_int_equal(ccai_call_get_state(a), CCAI_CALL_CONVERSATION);
    char *r = tool_result_of(si, 1);
    assert_non_null(r);
    assert_non_null(strstr(r, "# Search results\nThe search is unavailable right now"));
    free(r);
    ccai_call_free(a);
    env_free(&e);
    standin_stop(si);
}

static void on_never(ccai_status st, const char *json, void *ud)
{
    (void)st;
    (void)json;
    (*(int *)ud)++;
}

/* Searches in flight when their call ends, or their context goes: nothing
 * is told to what is gone (ASan: no use after free, no leak). A call hung
 * up and freed while its search waits for the lock; the lock released,
 * the search's answer comes back to the loop and is dropped; the context
 * goes on (another call's turn answered; the LLM stand-in echoes it, its
 * scripted replies being taken by the first call's report). Then, on
 * another context, a search of the API and one of a call in flight when
 * the context is freed: the workers are joined, the answers dropped. */
static void test_pg_search_ended_midway(void **state)
{
    (void)state;
    standin *si = standin_start(NULL);
    assert_non_null(si);
    assert_int_equal(standin_push_json(si, search_windshield), 0);
    env e;
    env_with_llm(&e, si, "1000");
    PGconn *locker = lock_chunks(e.dsn);
    host ha = {0}, hb = {0}, hc = {0};
    ccai_call *a = call_saying(&e, &ha, "How much do I pay for a new windshield?");
    run_until_requests(&e, si, 1);
    run_for(&e, 200);
    assert_int_equal(ccai_call_get_state(a), CCAI_CALL_TURN);
    ccai_event *ev = NULL;
    assert_int_equal(ccai_event_new(CCAI_EVENT_HANGUP, &ev), CCAI_OK);
    assert_int_equal(ccai_on_event(a, ev), CCAI_OK);
    ccai_event_free(ev);
    ccai_call_free(a);
    unlock_chunks(locker);
    run_for(&e, 300); /* the search's job ends; its answer is dropped */
    ccai_call *b = call_saying(&e, &hb, "When do you open?");
    run_turn(&e, b);
    assert_true(has_said(&hb, "You said:"));
    ccai_call_free(b);
    env_free(&e);
    standin_stop(si);

    /* A context freed with searches in flight. */
    si = standin_start(NULL);
    assert_non_null(si);
    assert_int_equal(standin_push_json(si, search_windshield), 0);
    env_with_llm(&e, si, "1000");
    locker = lock_chunks(e.dsn);
    int told = 0;
    assert_int_equal(
        ccai_ctx_docs_search(e.ctx, "windshield deductible", "en-US", 3, on_never, &told), CCAI_OK);
    ccai_call *c = call_saying(&e, &hc, "How much do I pay for a new windshield?");
    run_until_requests(&e, si, 1);
    run_for(&e, 200);
    assert_int_equal(ccai_call_get_state(c), CCAI_CALL_TURN);
    assert_int_equal(told, 0);
    uint64_t t0 = ccai_time_ms();
    ccai_call_free(c);
    env_close(&e);
    fprintf(stderr, "# context freed in %llu ms with its searches in flight\n",
            (unsigned long long)(ccai_time_ms() - t0));
    assert_int_equal(told, 0);
    unlock_chunks(locker);
    env_free(&e);
    standin_stop(si);
}

/* A host that frees its context from the callback of one search: the
 * searches answered in the same loop turn are not told (ccai_ctx_free():
 * freeing fires no callbacks), on the loop (SQLite) as on the workers. */
typedef struct free_in_done {
    ccai_poll *poll;
    int told;
} free_in_done;

static void on_done_free(ccai_status st, const char *json, void *ud)
{
    (void)st;
    (void)json;
    free_in_done *f = ud;
    if (f->told++ == 0)
        ccai_poll_free(f->poll);
}

static void test_free_from_a_search_callback(void **state)
{
    (void)state;
    env e;
    env_config(&e);
    env_open(&e);
    import_corpus(&e);
    free_in_done f = {e.poll, 0};
    static const char *const qs[] = {"windshield deductible", "cancel my policy", "water damage",
                                     "roadside assistance"};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(qs); i++)
        assert_int_equal(ccai_ctx_docs_search(e.ctx, qs[i], "en-US", 3, on_done_free, &f), CCAI_OK);
    uint64_t deadline = ccai_time_ms() + 20000;
    int rc = 0;
    while (rc == 0 && ccai_time_ms() < deadline)
        rc = ccai_poll_run_once(e.poll, 50);
    assert_int_equal(rc, 1); /* the context went from the callback */
    assert_int_equal(f.told, 1);
    e.poll = NULL;
    e.ctx = NULL;
    env_free(&e);
}

/* The search workers take none of the host's signals: a handler of the
 * host's (ccai-server's SIGTERM on libre) would otherwise run on a worker,
 * beside the loop. Each thread named ccai-docs blocks SIGHUP, SIGINT,
 * SIGTERM and SIGCHLD. */
static void test_pg_workers_block_signals(void **state)
{
    (void)state;
    env e;
    env_config(&e);
    env_open(&e);
    import_corpus(&e);
    json_decref(search(&e, "windshield deductible", "en-US", 3));
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    int workers = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (!fgets(comm, sizeof comm, f))
            comm[0] = '\0';
        fclose(f);
        if (strncmp(comm, "ccai-docs", 9) != 0)
            continue;
        workers++;
        snprintf(path, sizeof path, "/proc/self/task/%s/status", de->d_name);
        f = fopen(path, "r");
        assert_non_null(f);
        char line[256];
        unsigned long long blk = 0;
        while (fgets(line, sizeof line, f))
            if (sscanf(line, "SigBlk: %llx", &blk) == 1)
                break;
        fclose(f);
        const int sigs[] = {SIGHUP, SIGINT, SIGTERM, SIGCHLD};
        for (size_t i = 0; i < CCAI_ARRAY_SIZE(sigs); i++)
            if (!(blk & (1ULL << (sigs[i] - 1))))
                fail_msg("worker %s takes signal %d (SigBlk %llx)", de->d_name, sigs[i], blk);
    }
    closedir(d);
    assert_true(workers >= 1);
    env_free(&e);
}

/* Freeing while PostgreSQL is silent; each search its own error; one read of
 * the vectors --------------------------------------------------------------- */

/* A table held locked (ACCESS EXCLUSIVE) by a session of its own: every
 * statement reading it waits, up to the statement timeout. */
static PGconn *lock_table(const char *dsn, const char *table)
{
    PGconn *locker = PQconnectdb(dsn);
    assert_int_equal(PQstatus(locker), CONNECTION_OK);
    char sql[128];
    snprintf(sql, sizeof sql, "BEGIN; LOCK TABLE %s IN ACCESS EXCLUSIVE MODE", table);
    PGresult *r = PQexec(locker, sql);
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    return locker;
}

/* The backends waiting for a lock whose statement names what (NULL: any),
 * oldest first: how many, their pids in out[0..n). */
static int lock_waiters(const char *dsn, const char *what, int *out, int n)
{
    PGconn *c = PQconnectdb(dsn);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    const char *p[] = {what ? what : ""};
    PGresult *r = PQexecParams(c,
                               "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                               " AND strpos(query, $1) > 0 ORDER BY query_start",
                               1, NULL, p, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    int k = PQntuples(r);
    for (int i = 0; i < k && i < n; i++)
        out[i] = atoi(PQgetvalue(r, i, 0));
    PQclear(r);
    PQfinish(c);
    return k;
}

/* Run the loop until n backends wait for a lock on what (at most 15 s). */
static void run_until_lock_waiters(env *e, const char *what, int n)
{
    uint64_t deadline = ccai_time_ms() + 15000;
    while (lock_waiters(e->dsn, what, NULL, 0) < n && ccai_time_ms() < deadline)
        assert_true(ccai_poll_run_once(e->poll, 20) >= 0);
    assert_true(lock_waiters(e->dsn, what, NULL, 0) >= n);
}

/* pg_cancel_backend or pg_terminate_backend (fn) of pid. */
static void signal_backend(const char *dsn, const char *fn, int pid)
{
    PGconn *c = PQconnectdb(dsn);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT %s(%d)", fn, pid);
    PGresult *r = PQexec(c, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    PQclear(r);
    PQfinish(c);
}

/* Threads of this process whose name begins with prefix. */
static int threads_named(const char *prefix)
{
    DIR *d = opendir("/proc/self/task");
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[300], comm[32] = "";
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(comm, sizeof comm, f) && strncmp(comm, prefix, strlen(prefix)) == 0)
            n++;
        fclose(f);
    }
    closedir(d);
    return n;
}

/* A server that takes connections (the kernel's listen backlog) and never
 * answers them: its postmaster stopped (SIGSTOP), as a host that went
 * silent. A watchdog resumes it after FROZEN_MAX_MS whatever happens, so
 * that no test hangs: what a test checks is whether what it waited for
 * came back while the server was still stopped (thaw()). */
#define FROZEN_MAX_MS 15000

typedef struct frozen {
    pid_t pid;
    pthread_t t;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    bool done, resumed;
} frozen;

static void *frozen_watchdog(void *arg)
{
    frozen *f = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += FROZEN_MAX_MS / 1000;
    pthread_mutex_lock(&f->mu);
    while (!f->done && pthread_cond_timedwait(&f->cond, &f->mu, &until) != ETIMEDOUT)
        ;
    if (!f->done) {
        kill(f->pid, SIGCONT);
        f->resumed = true;
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

static void freeze(frozen *f)
{
    char path[300];
    snprintf(path, sizeof path, "%s/data/postmaster.pid", g_pg.dir);
    FILE *pf = fopen(path, "r");
    assert_non_null(pf);
    long pid = 0;
    assert_int_equal(fscanf(pf, "%ld", &pid), 1);
    fclose(pf);
    memset(f, 0, sizeof *f);
    f->pid = (pid_t)pid;
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cond, NULL);
    assert_int_equal(kill(f->pid, SIGSTOP), 0);
    assert_int_equal(pthread_create(&f->t, NULL, frozen_watchdog, f), 0);
}

/* The server resumed; whether the watchdog had to do it. */
static bool thaw(frozen *f)
{
    pthread_mutex_lock(&f->mu);
    bool resumed = f->resumed;
    f->done = true;
    pthread_cond_signal(&f->cond);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->t, NULL);
    kill(f->pid, SIGCONT);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->mu);
    return resumed;
}

/* A context freed while a worker waits for a statement and the server
 * has gone silent (its postmaster stopped: a cancel request is taken by
 * the kernel, never answered; libpq 15's PQcancel() waits for ever then):
 * the free returns while the server is still stopped, the workers joined.
 * Once the server is back, the statement the worker waited for is
 * cancelled all the same (the request was sent by a thread of its own):
 * no backend waits for the lock any more, long before the statement
 * timeout (60 s). */
static void test_pg_free_server_silent(void **state)
{
    (void)state;
    env e;
    env_config(&e);
    assert_int_equal(ccai_config_set(e.cfg, "database.postgresql.statement_timeout_ms", "60000"),
                     CCAI_OK);
    env_open(&e);
    import_corpus(&e);
    PGconn *locker = lock_chunks(e.dsn);
    int told = 0;
    assert_int_equal(
        ccai_ctx_docs_search(e.ctx, "windshield deductible", "en-US", 3, on_never, &told), CCAI_OK);
    run_until_lock_waiters(&e, "doc_chunks", 1);
    assert_int_equal(threads_named("ccai-docs"), 1);
    frozen f;
    freeze(&f);
    uint64_t t0 = ccai_time_ms();
    env_close(&e);
    uint64_t ms = ccai_time_ms() - t0;
    int workers = threads_named("ccai-docs");
    bool resumed = thaw(&f);
    fprintf(stderr, "# context freed in %llu ms, the server silent (%s)\n", (unsigned long long)ms,
            resumed ? "resumed by the watchdog first" : "still stopped");
    uint64_t deadline = ccai_time_ms() + 10000;
    while (lock_waiters(e.dsn, "doc_chunks", NULL, 0) > 0 && ccai_time_ms() < deadline)
        usleep(20000);
    int still = lock_waiters(e.dsn, "doc_chunks", NULL, 0);
    unlock_chunks(locker);
    env_free(&e);
    assert_false(resumed);
    assert_int_equal(workers, 0);
    assert_int_equal(told, 0);
    assert_int_equal(still, 0);
}

/* A context freed while its worker is still connecting to a server that
 * does not answer (stopped postmaster), connect_timeout_ms 60 s: the free
 * returns while the server is still stopped, the worker joined. */
static void test_pg_free_while_connecting(void **state)
{
    (void)state;
    env e;
    env_config(&e);
    assert_int_equal(ccai_config_set(e.cfg, "database.postgresql.connect_timeout_ms", "60000"),
                     CCAI_OK);
    env_open(&e);
    import_corpus(&e);
    frozen f;
    freeze(&f);
    int told = 0;
    ccai_status st =
        ccai_ctx_docs_search(e.ctx, "windshield deductible", "en-US", 3, on_never, &told);
    run_for(&e, 300); /* the worker connects, and waits for the server */
    int connecting = threads_named("ccai-docs");
    uint64_t t0 = ccai_time_ms();
    env_close(&e);
    uint64_t ms = ccai_time_ms() - t0;
    int workers = threads_named("ccai-docs");
    bool resumed = thaw(&f);
    fprintf(stderr, "# context freed in %llu ms, its worker connecting (%s)\n",
            (unsigned long long)ms, resumed ? "resumed by the watchdog first" : "still stopped");
    env_free(&e);
    assert_int_equal(st, CCAI_OK);
    assert_int_equal(connecting, 1);
    assert_false(resumed);
    assert_int_equal(workers, 0);
    assert_int_equal(told, 0);
}

/* What a search's callback reads: its status and Ccai_rag_errmsg(), as
 * search_document's does (engine/tools.c) to log why it failed. */
typedef struct rag_told {
    Ccai_rag *r;
    int done;
    ccai_status st;
    char why[512];
} rag_told;

static void on_rag(ccai_status st, const Ccai_rag_results *res, void *ud)
{
    (void)res;
    rag_told *t = ud;
    t->done++;
    t->st = st;
    if (st != CCAI_OK)
        snprintf(t->why, sizeof t->why, "%s", Ccai_rag_errmsg(t->r));
}

/* Two searches in flight that fail for different causes: each callback
 * reads its own search's failure. Search a has two questions: one of stop
 * words only (no full-text match: its vector, from an embeddings service
 * answering after 8 s: room for b's failure on a loaded machine) and
 * one whose full-text match waits for a lock
 * (doc_sources held) and is cancelled (pg_cancel_backend: "canceling
 * statement due to user request"); while a waits for its vector, search
 * b fails otherwise (its worker's connection terminated, or, on the
 * worker a's failure made wait, "not asked"). a's callback, after b's,
 * reads a's cause. */
static void test_pg_search_errors_apart(void **state)
{
    (void)state;
    embed_standin_opts o = {.delay_ms = 8000};
    embed_standin *es = embed_standin_start(&o);
    assert_non_null(es);
    env e;
    env_config(&e);
    use_embeddings(&e, es, false);
    assert_int_equal(ccai_config_set(e.cfg, "database.postgresql.statement_timeout_ms", "20000"),
                     CCAI_OK);
    env_open(&e);
    import_corpus(&e);
    bool nomem = false;
    assert_null(Ccai_rag_match_expr("the and of", &nomem));
    assert_false(nomem);
    Ccai_rag *r = Ccai_ctx_rag(e.ctx);
    PGconn *locker = lock_table(e.dsn, "doc_sources");
    rag_told a = {.r = r}, b = {.r = r};
    static const char *const qa[] = {"the and of", "windshield deductible"};
    assert_int_equal(Ccai_rag_search_start(r, qa, 2, "en-US", 3, on_rag, &a, NULL), CCAI_OK);
    run_until_lock_waiters(&e, "doc_sources", 1);
    int pid = 0;
    assert_int_equal(lock_waiters(e.dsn, "doc_sources", &pid, 1), 1);
    signal_backend(e.dsn, "pg_cancel_backend", pid);
    run_for(&e, 300); /* a's match fails; a waits for its other question's vector */
    static const char *const qb[] = {"roadside assistance"};
    assert_int_equal(Ccai_rag_search_start(r, qb, 1, "en-US", 3, on_rag, &b, NULL), CCAI_OK);
    uint64_t deadline = ccai_time_ms() + 15000;
    while (!b.done && ccai_time_ms() < deadline) {
        if (lock_waiters(e.dsn, "doc_sources", &pid, 1) > 0)
            signal_backend(e.dsn, "pg_terminate_backend", pid);
        assert_true(ccai_poll_run_once(e.poll, 20) >= 0);
    }
    int a_before_b = a.done;
    deadline = ccai_time_ms() + 30000; /* a's two vectors: one request each */
    while (!a.done && ccai_time_ms() < deadline)
        assert_true(ccai_poll_run_once(e.poll, 20) >= 0);
    unlock_chunks(locker);
    fprintf(stderr, "# search a: %s: %s\n# search b: %s: %s\n", ccai_status_str(a.st), a.why,
            ccai_status_str(b.st), b.why);
    env_free(&e);
    embed_standin_stop(es);
    assert_int_equal(b.done, 1);
    assert_int_equal(a_before_b, 0); /* a was told after b failed */
    assert_int_equal(a.done, 1);
    assert_int_not_equal(a.st, CCAI_OK);
    assert_int_not_equal(b.st, CCAI_OK);
    assert_non_null(strstr(a.why, "user request"));
    assert_null(strstr(a.why, "not asked"));
    assert_null(strstr(a.why, "terminat"));
    assert_string_not_equal(a.why, b.why);
}

/* Two searches of one language whose vectors are not in memory yet, at
 * once: the vectors are read once (the second waits for the first's
 * read). The read is held by a lock on doc_vectors until both questions'
 * vectors are back: one backend waits for it, not two; then both
 * searches are answered by both rankings (hybrid). */
static void test_pg_vectors_read_once(void **state)
{
    (void)state;
    embed_standin *es = embed_standin_start(NULL);
    assert_non_null(es);
    env e;
    env_config(&e);
    use_embeddings(&e, es, false);
    env_open(&e);
    import_corpus(&e);
    assert_true(embed_all(&e) > 0);
    Ccai_rag *r = Ccai_ctx_rag(e.ctx);
    uint64_t reads0 = Ccai_rag_vector_reads(r);
    PGconn *locker = lock_table(e.dsn, "doc_vectors");
    int before = embed_standin_requests(es);
    waiter w1 = {0}, w2 = {0};
    assert_int_equal(ccai_ctx_docs_search(e.ctx, "windshield deductible", "en-US", 3, on_done, &w1),
                     CCAI_OK);
    assert_int_equal(ccai_ctx_docs_search(e.ctx, "roadside assistance", "en-US", 3, on_done, &w2),
                     CCAI_OK);
    run_until_lock_waiters(&e, "doc_vectors", 1);
    uint64_t deadline = ccai_time_ms() + 15000;
    while (embed_standin_requests(es) < before + 2 && ccai_time_ms() < deadline)
        assert_true(ccai_poll_run_once(e.poll, 20) >= 0);
    run_for(&e, 300); /* both vectors back: each question wants the chunks' */
    int waiting = lock_waiters(e.dsn, "doc_vectors", NULL, 0);
    unlock_chunks(locker);
    wait_for(&e, &w1);
    wait_for(&e, &w2);
    uint64_t reads = Ccai_rag_vector_reads(r) - reads0;
    fprintf(stderr, "# vectors read %llu time(s) for two searches; %d read(s) waited at once\n",
            (unsigned long long)reads, waiting);
    assert_int_equal(embed_standin_requests(es), before + 2);
    assert_int_equal(w1.st, CCAI_OK);
    assert_int_equal(w2.st, CCAI_OK);
    assert_string_equal(json_string_value(json_object_get(w1.json, "mode")), "hybrid");
    assert_string_equal(json_string_value(json_object_get(w2.json, "mode")), "hybrid");
    json_decref(w1.json);
    json_decref(w2.json);
    env_free(&e);
    embed_standin_stop(es);
    assert_int_equal(waiting, 1);
    assert_int_equal(reads, 1);
}

/* Two instances on one database ----------------------------------------------- */

/* What one instance imports, another finds; a change made through one
 * makes the other's cached ranking stale (the generation is shared). */
static void test_two_instances(void **state)
{
    (void)state;
    env a, b;
    env_config(&a);
    env_config_on(&b, g_pg_mode ? a.dsn : NULL);
    if (!g_pg_mode) /* the same SQLite file */
        assert_int_equal(ccai_config_set(b.cfg, "database.sqlite.path", a.db), CCAI_OK);
    env_open(&a);
    env_open(&b);
    import_corpus(&a);
    json_t *res = search(&b, "roadside assistance flat tyre", "en-US", 3);
    assert_true(n_results(res) > 0);
    assert_string_equal(result_source(res, 0), "roadside-assistance.md");
    assert_false(json_is_true(json_object_get(res, "cached")));
    json_decref(res);
    res = search(&b, "roadside assistance flat tyre", "en-US", 3);
    assert_true(json_is_true(json_object_get(res, "cached")));
    json_decref(res);
    /* The cache is shared too: a's first search finds b's ranking. */
    res = search(&a, "roadside assistance flat tyre", "en-US", 3);
    assert_true(json_is_true(json_object_get(res, "cached")));
    json_decref(res);
    /* a imports a page: b's cached ranking is not used, b finds the page. */
    char path[512];
    snprintf(path, sizeof path, "%s/tyres.md", a.dir);
    write_file(path, "# Tyres\n\nA flat tyre is changed by roadside assistance for free.\n");
    json_decref(import(&a, path, NULL));
    res = search(&b, "roadside assistance flat tyre", "en-US", 3);
    assert_false(json_is_true(json_object_get(res, "cached")));
    assert_string_equal(result_source(res, 0), "tyres.md");
    json_decref(res);
    char *json = NULL;
    assert_int_equal(ccai_ctx_docs_list_json(b.ctx, &json), CCAI_OK);
    json_t *list = json_loads(json, 0, NULL);
    ccai_free(json);
    assert_int_equal(json_array_size(json_object_get(list, "sources")), 31);
    json_decref(list);
    /* b removes it: a no longer finds it. */
    assert_int_equal(ccai_ctx_docs_remove(b.ctx, path, &json), CCAI_OK);
    ccai_free(json);
    res = search(&a, "roadside assistance flat tyre", "en-US", 3);
    assert_false(json_is_true(json_object_get(res, "cached")));
    assert_string_equal(result_source(res, 0), "roadside-assistance.md");
    json_decref(res);
    env_free(&b);
    env_free(&a);
}

/* The documents store's interface on PostgreSQL, through two handles ------------ */

static int collect_hit(const Ccai_docstore_hit *h, void *ud)
{
    char *out = ud;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%s%s|%s", n ? ";" : "", h->heading, h->lang);
    return 0;
}

static int first_vector(int64_t id, const float *v, size_t dims, void *ud)
{
    float *out = ud;
    out[0] = (float)id;
    out[1] = (float)dims;
    memcpy(out + 2, v, dims * sizeof *v);
    return 1;
}

static int first_id(const Ccai_docstore_hit *h, void *ud)
{
    *(int64_t *)ud = h->id;
    return 1;
}

static void test_pg_docstore(void **state)
{
    (void)state;
    char dsn[400];
    assert_int_equal(pg_server_schema_dsn(&g_pg, dsn, sizeof dsn), 0);
    Ccai_store *sa = NULL, *sb = NULL;
    Ccai_docstore *a = NULL, *b = NULL;
    char *err = NULL;
    assert_int_equal(Ccai_pg_open(dsn, 10000, 10000, &sa, &err), CCAI_OK);
    assert_int_equal(Ccai_pg_open(dsn, 10000, 10000, &sb, &err), CCAI_OK);
    assert_int_equal(Ccai_docstore_open(sa, &a, &err), CCAI_OK);
    assert_int_equal(Ccai_docstore_open(sb, &b, &err), CCAI_OK);
    assert_null(err);
    int64_t g0 = -1, g = -1, n = -1;
    assert_int_equal(Ccai_docstore_generation(b, &g0), CCAI_OK);

    Ccai_docstore_source src = {.path = "/docs/sinistre.md",
                                .title = "Sinistres",
                                .lang = "fr-FR",
                                .format = "markdown",
                                .hash = "h1",
                                .bytes = 42};
    const Ccai_docstore_chunk chunks[] = {
        {"Déclarer un sinistre", "Le dégât des eaux se déclare en ligne."},
        {"Pare-brise", "Un pare-brise fissuré est remplacé; l'assuré paie la franchise."},
    };
    assert_int_equal(Ccai_docstore_put(a, &src, chunks, 2), CCAI_OK);
    assert_int_equal(Ccai_docstore_generation(b, &g), CCAI_OK);
    assert_int_equal(g, g0 + 1);
    char *hash = NULL;
    assert_int_equal(Ccai_docstore_source_hash(b, "/docs/sinistre.md", &hash), CCAI_OK);
    assert_string_equal(hash, "h1");
    ccai_free(hash);
    assert_int_equal(Ccai_docstore_count(b, "fr", &n), CCAI_OK);
    assert_int_equal(n, 2);
    assert_int_equal(Ccai_docstore_count(b, "en", &n), CCAI_OK);
    assert_int_equal(n, 0);

    /* Without diacritics, in any case, by prefix; the heading counts. */
    char got[512] = "";
    assert_int_equal(Ccai_docstore_match(b, "\"SINISTRE\"", "fr", 5, collect_hit, got), CCAI_OK);
    assert_string_equal(got, "Déclarer un sinistre|fr-FR");
    got[0] = '\0';
    assert_int_equal(Ccai_docstore_match(b, "\"degat\"* OR \"fissure\"", "fr", 5, collect_hit, got),
                     CCAI_OK);
    assert_non_null(strstr(got, "Déclarer un sinistre|fr-FR"));
    assert_non_null(strstr(got, "Pare-brise|fr-FR"));
    got[0] = '\0';
    assert_int_equal(Ccai_docstore_match(b, "\"brise\" OR assure", "fr", 5, collect_hit, got),
                     CCAI_OK);
    assert_string_equal(got, "Pare-brise|fr-FR");
    got[0] = '\0';
    assert_int_equal(Ccai_docstore_match(b, "\"sinistre\"", "en", 5, collect_hit, got), CCAI_OK);
    assert_string_equal(got, "");
    /* FTS5's other syntax is refused, clearly; a quote is only a quote. */
    assert_int_equal(Ccai_docstore_match(b, "sinistre AND degat", NULL, 5, collect_hit, got),
                     CCAI_ERR_PARSE);
    assert_non_null(strstr(Ccai_docstore_errmsg(b), "joined by OR"));
    assert_int_equal(Ccai_docstore_match(b, "\"l'a\"\"ssu\\re\"", NULL, 5, collect_hit, got),
                     CCAI_OK);

    /* Vectors: by chunk and model, as float32, seen through the other
     * handle; the generation moves on. */
    int64_t id = 0;
    assert_int_equal(Ccai_docstore_unembedded(b, "m1", 10, first_id, &id), CCAI_OK);
    assert_true(id > 0);
    const float v[3] = {0.25f, -1.5f, 3.0e-7f};
    assert_int_equal(Ccai_docstore_vector_put(a, id, "m1", v, 3), CCAI_OK);
    assert_int_equal(Ccai_docstore_vector_put(a, id + 1000, "m1", v, 3), CCAI_ERR_NOT_FOUND);
    assert_int_equal(Ccai_docstore_generation(b, &g), CCAI_OK);
    assert_int_equal(g, g0 + 2);
    float out[5] = {0};
    assert_int_equal(Ccai_docstore_vectors(b, "m1", "fr-CA", first_vector, out), CCAI_OK);
    assert_true(out[0] == (float)id && out[1] == 3.0f);
    assert_memory_equal(out + 2, v, sizeof v);

    /* The cache's entries: bytes (a NUL among them), expiry, purge. */
    assert_int_equal(Ccai_docstore_kv_put(a, "k1", "a\0b", 3, 2000), CCAI_OK);
    assert_int_equal(Ccai_docstore_kv_put(a, "k2", "old", 3, 1000), CCAI_OK);
    assert_int_equal(Ccai_docstore_kv_put(a, "k2", "new", 3, 3000), CCAI_OK);
    char *val = NULL;
    size_t len = 0;
    assert_int_equal(Ccai_docstore_kv_get(b, "k1", 1500, &val, &len), CCAI_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(val, "a\0b", 4);
    ccai_free(val);
    assert_int_equal(Ccai_docstore_kv_get(b, "k1", 2000, &val, &len), CCAI_ERR_NOT_FOUND);
    assert_int_equal(Ccai_docstore_kv_get(b, "k2", 2500, &val, &len), CCAI_OK);
    assert_string_equal(val, "new");
    ccai_free(val);
    assert_int_equal(Ccai_docstore_kv_purge(b, 2500, &n), CCAI_OK);
    assert_int_equal(n, 1);

    /* Not UTF-8: refused, nothing changed. */
    const Ccai_docstore_chunk bad[] = {{"ok", "caf\xE9"}};
    Ccai_docstore_source src2 = src;
    src2.hash = "h2";
    assert_int_equal(Ccai_docstore_put(a, &src2, bad, 1), CCAI_ERR_INVALID_ARG);
    assert_non_null(strstr(Ccai_docstore_errmsg(a), "not UTF-8"));
    assert_int_equal(Ccai_docstore_source_hash(b, "/docs/sinistre.md", &hash), CCAI_OK);
    assert_string_equal(hash, "h1");
    ccai_free(hash);

    /* Re-imported: the old chunks and their vectors go. */
    assert_int_equal(Ccai_docstore_put(a, &src2, chunks + 1, 1), CCAI_OK);
    assert_int_equal(Ccai_docstore_count(b, NULL, &n), CCAI_OK);
    assert_int_equal(n, 1);
    out[0] = 0;
    assert_int_equal(Ccai_docstore_vectors(b, "m1", NULL, first_vector, out), CCAI_OK);
    assert_true(out[0] == 0);
    assert_int_equal(Ccai_docstore_remove(b, "/docs/sinistre.md", &n), CCAI_OK);
    assert_int_equal(n, 1);
    assert_int_equal(Ccai_docstore_remove(a, "/docs/sinistre.md", &n), CCAI_ERR_NOT_FOUND);
    assert_non_null(strstr(Ccai_docstore_errmsg(a), "never imported"));
    assert_int_equal(Ccai_docstore_generation(a, &g), CCAI_OK);
    assert_int_equal(g, g0 + 4);

    Ccai_docstore_close(b);
    Ccai_docstore_close(a);
    Ccai_store_close(sb);
    Ccai_store_close(sa);
}

/* The documents' round trips wait on the thread that asks (the loop's,
 * for a search), bounded by the statement timeout: a table another
 * session locks makes the first search fail (CCAI_ERR_BUSY) after the
 * timeout; the next ones fail at once, without asking, for the quiet
 * period (else each round trip of each search would wait the timeout
 * again); then they are asked again and answered. */
static void test_pg_docs_bounded(void **state)
{
    (void)state;
    char dsn[400];
    assert_int_equal(pg_server_schema_dsn(&g_pg, dsn, sizeof dsn), 0);
    Ccai_store *sa = NULL;
    Ccai_docstore *a = NULL;
    char *err = NULL;
    assert_int_equal(Ccai_pg_open(dsn, 10000, 300, &sa, &err), CCAI_OK);
    assert_int_equal(Ccai_docstore_open(sa, &a, &err), CCAI_OK);
    Ccai_docstore_source src = {
        .path = "/docs/b.md", .lang = "fr-FR", .format = "markdown", .hash = "h1", .bytes = 10};
    const Ccai_docstore_chunk chunks[] = {{"Pare-brise", "Un pare-brise fissuré."}};
    assert_int_equal(Ccai_docstore_put(a, &src, chunks, 1), CCAI_OK);

    PGconn *locker = PQconnectdb(dsn);
    assert_int_equal(PQstatus(locker), CONNECTION_OK);
    PGresult *r = PQexec(locker, "BEGIN; LOCK TABLE doc_chunks IN ACCESS EXCLUSIVE MODE");
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    char got[512] = "";
    assert_int_equal(Ccai_docstore_match(a, "\"brise\"", "fr", 5, collect_hit, got), CCAI_ERR_BUSY);
    assert_non_null(strstr(Ccai_docstore_errmsg(a), "statement timeout"));
    int64_t n = -1;
    assert_int_equal(Ccai_docstore_count(a, "fr", &n), CCAI_ERR_BUSY);
    assert_non_null(strstr(Ccai_docstore_errmsg(a), "not asked"));
    assert_int_equal(Ccai_docstore_match(a, "\"brise\"", "fr", 5, collect_hit, got), CCAI_ERR_BUSY);
    assert_non_null(strstr(Ccai_docstore_errmsg(a), "not asked"));
    r = PQexec(locker, "ROLLBACK");
    PQclear(r);
    PQfinish(locker);
    struct timespec ts = {1, 100 * 1000 * 1000}; /* the quiet period: 1 s */
    nanosleep(&ts, NULL);
    assert_int_equal(Ccai_docstore_match(a, "\"brise\"", "fr", 5, collect_hit, got), CCAI_OK);
    assert_string_equal(got, "Pare-brise|fr-FR");
    Ccai_docstore_close(a);
    Ccai_store_close(sa);
}

/* rag/'s FTS5 queries as tsqueries (the PostgreSQL store's translation). */
static void test_pg_tsquery(void **state)
{
    (void)state;
    char *q = NULL;
    assert_int_equal(Ccai_pg_docs_tsquery("\"polic\"* OR \"deductibl\"*", &q), CCAI_OK);
    assert_string_equal(q, "'polic':*\n'deductibl':*");
    ccai_free(q);
    assert_int_equal(Ccai_pg_docs_tsquery(" word OR \"it\"\"s\" OR \"a'b\\c\nd\" ", &q), CCAI_OK);
    assert_string_equal(q, "'word'\n'it\"s'\n'a''b\\\\c d'");
    ccai_free(q);
    assert_int_equal(Ccai_pg_docs_tsquery("\"sinistré\"*", &q), CCAI_OK);
    assert_string_equal(q, "'sinistré':*");
    ccai_free(q);
    static const char *const refused[] = {
        "",       "   ", "a b",     "a AND b",   "NOT a",     "a OR",      "OR a",
        "\"open", "(a)", "a OR -b", "heading:a", "NEAR(a b)", "a OR OR b",
    };
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(refused); i++) {
        q = NULL;
        if (Ccai_pg_docs_tsquery(refused[i], &q) != CCAI_ERR_PARSE)
            fail_msg("accepted: %s -> %s", refused[i], q ? q : "");
        assert_null(q);
    }
}

/* The tests of the documents store on PostgreSQL. */
/* The library's default: no thread; the searches' reads on the loop. */
static int without_threads(void **state)
{
    (void)state;
    g_pg_threads = false;
    return 0;
}

static int with_threads(void **state)
{
    (void)state;
    g_pg_threads = true;
    return 0;
}

static int main_postgresql(void)
{
    int rc = pg_server_start(&g_pg, false);
    if (rc != 0) {
        pg_server_stop(&g_pg);
        if (rc == 77)
            fprintf(stderr, "PostgreSQL's binaries are absent (initdb, pg_ctl): skipped\n");
        return rc == 77 ? 77 : 1;
    }
    g_pg_mode = true;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pg_tsquery),
        cmocka_unit_test(test_pg_docstore),
        cmocka_unit_test(test_pg_docs_bounded),
        cmocka_unit_test(test_import_reimport_remove),
        cmocka_unit_test(test_search_corpus),
        cmocka_unit_test(test_embeddings_openai),
        cmocka_unit_test(test_embeddings_azure),
        cmocka_unit_test(test_embeddings_down),
        cmocka_unit_test(test_cache_store),
        cmocka_unit_test(test_cache_redis),
        cmocka_unit_test(test_tool_in_a_call),
        cmocka_unit_test(test_two_instances),
        cmocka_unit_test(test_pg_search_off_the_loop),
        cmocka_unit_test(test_pg_search_timeout),
        cmocka_unit_test(test_pg_search_ended_midway),
        cmocka_unit_test(test_pg_workers_block_signals),
        cmocka_unit_test(test_free_from_a_search_callback),
        cmocka_unit_test(test_pg_free_server_silent),
        cmocka_unit_test(test_pg_free_while_connecting),
        cmocka_unit_test(test_pg_search_errors_apart),
        cmocka_unit_test(test_pg_vectors_read_once),
        {"test_search_corpus_without_threads", test_search_corpus, without_threads, with_threads,
         NULL},
        {"test_tool_in_a_call_without_threads", test_tool_in_a_call, without_threads, with_threads,
         NULL},
        {"test_cache_store_without_threads", test_cache_store, without_threads, with_threads, NULL},
        {"test_free_from_a_search_callback_without_threads", test_free_from_a_search_callback,
         without_threads, with_threads, NULL},
    };
    rc = cmocka_run_group_tests_name("docs-postgresql", tests, NULL, NULL);
    pg_server_stop(&g_pg);
    return rc;
}

/* No argument: SQLite; "postgresql": PostgreSQL. */
int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (argc > 1 && strcmp(argv[1], "postgresql") == 0)
        return main_postgresql();

    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunk_markdown),
        cmocka_unit_test(test_chunk_html),
        cmocka_unit_test(test_chunk_overlap),
        cmocka_unit_test(test_chunk_limits),
        cmocka_unit_test(test_import_reimport_remove),
        cmocka_unit_test(test_search_corpus),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_embeddings_openai),
        cmocka_unit_test(test_embeddings_azure),
        cmocka_unit_test(test_embeddings_down),
        cmocka_unit_test(test_cache_store),
        cmocka_unit_test(test_cache_redis),
        cmocka_unit_test(test_tool_in_a_call),
        cmocka_unit_test(test_two_instances),
        cmocka_unit_test(test_free_from_a_search_callback),
        cmocka_unit_test(test_pg_tsquery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
