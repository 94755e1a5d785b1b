/* ccai-cli docs: the documentation search_document searches (import, list,
 * search, remove, embed), on the local database through the public API. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* The answer of an asynchronous operation, waited for on the loop. */
typedef struct waiter {
    int done;
    ccai_status st;
    char *json;
} waiter;

static void on_done(ccai_status status, const char *json, void *ud)
{
    waiter *w = ud;
    w->done = 1;
    w->st = status;
    w->json = json ? strdup(json) : NULL;
}

static int is_done(void *ud)
{
    return ((waiter *)ud)->done;
}

static int docs_failed(cli *c, const char *what, ccai_status st)
{
    fprintf(stderr, "ccai-cli: docs %s: %s: %s\n", what, ccai_status_str(st),
            ccai_ctx_errmsg(c->ctx));
    return EXIT_FAILURE;
}

static int has_doc_ext(const char *name)
{
    static const char *const exts[] = {".md", ".markdown", ".html", ".htm", ".txt", ".text"};
    size_t n = strlen(name);
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        size_t e = strlen(exts[i]);
        if (n > e && strcasecmp(name + n - e, exts[i]) == 0)
            return 1;
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct counts {
    int imported, replaced, unchanged, failed;
} counts;

static void import_file(cli *c, const char *path, const char *lang, int as_json, counts *n)
{
    char *json = NULL;
    ccai_status st = ccai_ctx_docs_import(c->ctx, path, lang, &json);
    if (st != CCAI_OK) {
        fprintf(stderr, "ccai-cli: docs import: %s: %s\n", path, ccai_ctx_errmsg(c->ctx));
        n->failed++;
        return;
    }
    json_t *doc = json_loads(json, 0, NULL);
    const char *status = json_string_value(json_object_get(doc, "status"));
    if (status && strcmp(status, "imported") == 0)
        n->imported++;
    else if (status && strcmp(status, "replaced") == 0)
        n->replaced++;
    else
        n->unchanged++;
    if (as_json)
        print_json(stdout, json, 1);
    else
        printf("%-9s %s (%lld chunks, %s, %s)\n", status ? status : "?",
               json_string_value(json_object_get(doc, "path")),
               (long long)json_integer_value(json_object_get(doc, "chunks")),
               json_string_value(json_object_get(doc, "lang")),
               json_string_value(json_object_get(doc, "format")));
    json_decref(doc);
    ccai_free(json);
}

/* A file, or every document file under a directory (sorted, recursively). */
static void import_path(cli *c, const char *path, const char *lang, int as_json, counts *n,
                        int depth)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "ccai-cli: docs import: %s: %s\n", path, strerror(errno));
        n->failed++;
        return;
    }
    if (!S_ISDIR(sb.st_mode)) {
        import_file(c, path, lang, as_json, n);
        return;
    }
    if (depth > 16)
        return;
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "ccai-cli: docs import: %s: %s\n", path, strerror(errno));
        n->failed++;
        return;
    }
    char **names = NULL;
    size_t count = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 32;
            char **v = realloc(names, cap * sizeof *v);
            if (!v)
                break;
            names = v;
        }
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        names[count] = malloc(len);
        if (!names[count])
            break;
        snprintf(names[count], len, "%s/%s", path, e->d_name);
        count++;
    }
    closedir(d);
    if (count)
        qsort(names, count, sizeof *names, cmp_str);
    for (size_t i = 0; i < count; i++) {
        struct stat cb;
        if (stat(names[i], &cb) == 0 && (S_ISDIR(cb.st_mode) || has_doc_ext(names[i])))
            import_path(c, names[i], lang, as_json, n, depth + 1);
        free(names[i]);
    }
    free(names);
}

/* Compute the vectors the imported chunks lack, when embeddings are
 * configured; 0 on success or when there are none to use. */
static int embed(cli *c, int quiet)
{
    waiter w = {0};
    ccai_status st = ccai_ctx_docs_embed(c->ctx, on_done, &w);
    if (st == CCAI_ERR_UNSUPPORTED) {
        if (!quiet)
            printf("embeddings: none configured (documents.embeddings.mode none): search is "
                   "BM25 (full text) only\n");
        return EXIT_SUCCESS;
    }
    if (st != CCAI_OK)
        return docs_failed(c, "embed", st);
    if (ccai_poll_run(c->loop, is_done, &w) != 0 || !w.done) {
        fprintf(stderr, "ccai-cli: docs embed: the loop stopped\n");
        free(w.json);
        return EXIT_FAILURE;
    }
    json_t *doc = w.json ? json_loads(w.json, 0, NULL) : NULL;
    const char *err = json_string_value(json_object_get(doc, "error"));
    long long done = (long long)json_integer_value(json_object_get(doc, "embedded"));
    int rc = EXIT_SUCCESS;
    if (w.st != CCAI_OK || err) {
        fprintf(stderr, "ccai-cli: docs embed: %s (%lld chunks embedded before)\n",
                err ? err : ccai_status_str(w.st), done);
        rc = EXIT_FAILURE;
    } else if (!quiet || done > 0) {
        printf("embedded %lld chunk(s) with %s\n", done,
               json_string_value(json_object_get(doc, "model")));
    }
    json_decref(doc);
    free(w.json);
    return rc;
}

static int docs_import(cli *c, int argc, char **argv)
{
    const char *lang = NULL, *value = NULL;
    int as_json = 0, no_embed = 0, paths = 0;
    for (int i = 2; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--json") == 0)
            as_json = 1;
        else if (strcmp(argv[i], "--no-embed") == 0)
            no_embed = 1;
        else if ((m = option_value(argc, argv, &i, "--lang", &value)) != 0) {
            if (m < 0)
                return usage_error("docs", "--lang needs a language (en-US, fr)");
            lang = value;
        } else if (argv[i][0] == '-' && argv[i][1])
            return usage_error("docs", "unexpected option '%s'", argv[i]);
        else
            paths++;
    }
    if (!paths)
        return usage_error("docs", "import needs at least one file or directory");
    counts n = {0};
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--lang") == 0) {
            i++;
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1])
            continue;
        import_path(c, argv[i], lang, as_json, &n, 0);
    }
    if (!as_json)
        printf("%d imported, %d replaced, %d unchanged, %d failed\n", n.imported, n.replaced,
               n.unchanged, n.failed);
    int rc = no_embed ? EXIT_SUCCESS : embed(c, as_json);
    return n.failed ? EXIT_FAILURE : rc;
}

static int docs_list(cli *c, int as_json)
{
    char *json = NULL;
    ccai_status st = ccai_ctx_docs_list_json(c->ctx, &json);
    if (st != CCAI_OK)
        return docs_failed(c, "list", st);
    if (as_json) {
        print_json(stdout, json, c->compact);
        ccai_free(json);
        return EXIT_SUCCESS;
    }
    json_t *doc = json_loads(json, 0, NULL);
    ccai_free(json);
    const json_t *sources = json_object_get(doc, "sources");
    const char *model = json_string_value(json_object_get(doc, "embeddings"));
    size_t i;
    const json_t *s;
    long long chunks = 0;
    printf("%-6s %7s %8s  %s\n", "LANG", "CHUNKS", "VECTORS", "PATH (TITLE)");
    json_array_foreach(sources, i, s)
    {
        const char *title = json_string_value(json_object_get(s, "title"));
        long long n = (long long)json_integer_value(json_object_get(s, "chunks"));
        chunks += n;
        printf("%-6s %7lld %8lld  %s%s%s%s\n", json_string_value(json_object_get(s, "lang")), n,
               (long long)json_integer_value(json_object_get(s, "embedded")),
               json_string_value(json_object_get(s, "path")), title ? " (" : "", title ? title : "",
               title ? ")" : "");
    }
    printf("%zu document(s), %lld chunk(s); embeddings: %s\n", json_array_size(sources), chunks,
           model ? model : "none (BM25 only)");
    json_decref(doc);
    return EXIT_SUCCESS;
}

/* One line of text, at most max bytes, whitespace folded. */
static void print_excerpt(const char *text, size_t max)
{
    size_t n = 0;
    int space = 0;
    for (const char *p = text; *p && n < max; p++) {
        if (*p == '\n' || *p == '\t' || *p == ' ') {
            space = 1;
            continue;
        }
        if (space && n) {
            putchar(' ');
            n++;
        }
        space = 0;
        putchar(*p);
        n++;
    }
    if (strlen(text) > max)
        fputs("...", stdout);
    putchar('\n');
}

static int docs_search(cli *c, int argc, char **argv)
{
    const char *lang = NULL, *value = NULL;
    size_t limit = 0;
    int as_json = 0;
    char query[4096] = "";
    for (int i = 2; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--json") == 0) {
            as_json = 1;
        } else if ((m = option_value(argc, argv, &i, "--lang", &value)) != 0) {
            if (m < 0)
                return usage_error("docs", "--lang needs a language (en-US, fr)");
            lang = value;
        } else if ((m = option_value(argc, argv, &i, "--limit", &value)) != 0) {
            char *end;
            long v = m < 0 ? 0 : strtol(value, &end, 10);
            if (m < 0 || *end || v < 1 || v > 100)
                return usage_error("docs", "--limit needs a number from 1 to 100");
            limit = (size_t)v;
        } else {
            size_t len = strlen(query);
            snprintf(query + len, sizeof query - len, "%s%s", len ? " " : "", argv[i]);
        }
    }
    if (!*query)
        return usage_error("docs", "search needs a question");
    waiter w = {0};
    ccai_status st = ccai_ctx_docs_search(c->ctx, query, lang, limit, on_done, &w);
    if (st != CCAI_OK)
        return docs_failed(c, "search", st);
    if (ccai_poll_run(c->loop, is_done, &w) != 0 || !w.done) {
        fprintf(stderr, "ccai-cli: docs search: the loop stopped\n");
        free(w.json);
        return EXIT_FAILURE;
    }
    if (w.st != CCAI_OK) {
        free(w.json);
        return docs_failed(c, "search", w.st);
    }
    if (as_json) {
        print_json(stdout, w.json, c->compact);
        free(w.json);
        return EXIT_SUCCESS;
    }
    json_t *doc = json_loads(w.json, 0, NULL);
    free(w.json);
    const json_t *results = json_object_get(doc, "results");
    const char *searched = json_string_value(json_object_get(doc, "lang"));
    printf("%s search in %s (%lld chunks of %lld)%s: %zu result(s)\n",
           json_string_value(json_object_get(doc, "mode")), searched ? searched : "every language",
           (long long)json_integer_value(json_object_get(doc, "chunks_in_lang")),
           (long long)json_integer_value(json_object_get(doc, "chunks")),
           json_is_true(json_object_get(doc, "cached")) ? ", cached" : "",
           json_array_size(results));
    if (json_integer_value(json_object_get(doc, "chunks")) == 0)
        printf("no documents are imported: the bot will say it has no documentation\n");
    else if (json_array_size(results) == 0)
        printf("nothing relevant: the bot will say it does not know\n");
    size_t i;
    const json_t *r;
    json_array_foreach(results, i, r)
    {
        printf("\n%lld. score %.4f", (long long)json_integer_value(json_object_get(r, "rank")),
               json_real_value(json_object_get(r, "score")));
        long long br = (long long)json_integer_value(json_object_get(r, "bm25_rank"));
        long long vr = (long long)json_integer_value(json_object_get(r, "vector_rank"));
        if (br)
            printf("  bm25 #%lld (%.2f)", br, json_real_value(json_object_get(r, "bm25")));
        if (vr)
            printf("  vector #%lld (cosine %.3f)", vr,
                   json_real_value(json_object_get(r, "cosine")));
        printf("\n   source:  %s [%s]\n   heading: %s\n   ",
               json_string_value(json_object_get(r, "source")),
               json_string_value(json_object_get(r, "lang")),
               json_string_value(json_object_get(r, "heading")));
        print_excerpt(json_string_value(json_object_get(r, "content")), 300);
    }
    json_decref(doc);
    return EXIT_SUCCESS;
}

static int docs_remove(cli *c, int argc, char **argv)
{
    int failed = 0;
    if (argc < 3)
        return usage_error("docs", "remove needs the path of an imported document");
    for (int i = 2; i < argc; i++) {
        char *json = NULL;
        ccai_status st = ccai_ctx_docs_remove(c->ctx, argv[i], &json);
        if (st != CCAI_OK) {
            fprintf(stderr, "ccai-cli: docs remove: %s: %s\n", argv[i], ccai_ctx_errmsg(c->ctx));
            failed++;
            continue;
        }
        json_t *doc = json_loads(json, 0, NULL);
        printf("removed %s (%lld chunks)\n", json_string_value(json_object_get(doc, "path")),
               (long long)json_integer_value(json_object_get(doc, "chunks")));
        json_decref(doc);
        ccai_free(json);
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

int cmd_docs(cli *c, int argc, char **argv)
{
    if (argc < 2)
        return usage_error("docs", "which: import, list, search, remove or embed?");
    const char *sub = argv[1];
    int known = strcmp(sub, "import") == 0 || strcmp(sub, "list") == 0 ||
                strcmp(sub, "search") == 0 || strcmp(sub, "remove") == 0 ||
                strcmp(sub, "embed") == 0;
    if (!known)
        return usage_error("docs", "unknown subcommand '%s'", sub);
    int as_json = argc > 2 && strcmp(argv[2], "--json") == 0;
    if ((strcmp(sub, "list") == 0 || strcmp(sub, "embed") == 0) && argc > 2 + as_json)
        return usage_error("docs", "unexpected argument '%s'", argv[2 + as_json]);
    int rc = load_config(c);
    if (rc == EXIT_SUCCESS)
        rc = open_ctx(c);
    if (rc != EXIT_SUCCESS)
        return rc;
    if (strcmp(sub, "import") == 0)
        return docs_import(c, argc, argv);
    if (strcmp(sub, "list") == 0)
        return docs_list(c, as_json);
    if (strcmp(sub, "search") == 0)
        return docs_search(c, argc, argv);
    if (strcmp(sub, "remove") == 0)
        return docs_remove(c, argc, argv);
    return embed(c, 0);
}
