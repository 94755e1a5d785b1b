/* ccai-cli import: calls exported from the reference system (call-center-ai)
 * into the local database, through ccai_ctx_calls_import(). */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* One file; adds to the totals. 0, or 1 when the file could not be read. */
static int import_file(cli *c, const char *path, int as_json, long long totals[3])
{
    char *json = NULL;
    ccai_status st = ccai_ctx_calls_import(c->ctx, path, &json);
    if (st != CCAI_OK) {
        fprintf(stderr, "ccai-cli: import %s: %s: %s\n", path, ccai_status_str(st),
                ccai_ctx_errmsg(c->ctx));
        return 1;
    }
    json_t *doc = json_loads(json, 0, NULL);
    static const char *const keys[] = {"imported", "unchanged", "failed"};
    for (int k = 0; k < 3; k++)
        totals[k] += (long long)json_integer_value(json_object_get(doc, keys[k]));
    if (as_json) {
        print_json(stdout, json, c->compact);
    } else {
        size_t i;
        const json_t *e;
        json_array_foreach(json_object_get(doc, "errors"), i, e)
        {
            const char *id = json_string_value(json_object_get(e, "call_id"));
            fprintf(stderr, "ccai-cli: import %s: record %lld%s%s%s: %s\n", path,
                    (long long)json_integer_value(json_object_get(e, "record")), id ? " (" : "",
                    id ? id : "", id ? ")" : "", json_string_value(json_object_get(e, "error")));
        }
    }
    json_decref(doc);
    ccai_free(json);
    return 0;
}

int cmd_import(cli *c, int argc, char **argv)
{
    int as_json = 0, files = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            as_json = 1;
        else if (argv[i][0] == '-' && argv[i][1])
            return usage_error("import", "unexpected option '%s'", argv[i]);
        else
            files++;
    }
    int rc = load_config(c);
    if (rc == EXIT_SUCCESS)
        rc = open_ctx(c);
    if (rc != EXIT_SUCCESS)
        return rc;
    long long totals[3] = {0, 0, 0};
    int unreadable = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") != 0)
            unreadable += import_file(c, argv[i], as_json, totals);
    }
    if (!files) {
        /* The reference's v9 database its config.yaml names
         * (database.sqlite.database/table, read as reference.sqlite.*). */
        const char *db = ccai_config_get(c->cfg, "reference.sqlite.database");
        const char *version = ccai_config_get(c->cfg, "reference.sqlite.schema_version");
        char path[4096];
        snprintf(path, sizeof path, "%s-v%s.sqlite", db ? db : ".local", version ? version : "3");
        unreadable += import_file(c, path, as_json, totals);
    }
    if (!as_json)
        printf("%lld imported, %lld unchanged, %lld failed\n", totals[0], totals[1], totals[2]);
    return unreadable || totals[2] ? EXIT_FAILURE : EXIT_SUCCESS;
}
