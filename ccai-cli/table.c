/*
 * The `calls` table: one line per call, for a person to scan. Scripts use
 * --json. The same rendering serves the local database and a server.
 */
#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

enum { COL_CREATED, COL_CALL, COL_PHONE, COL_STATE, COL_CLAIM, COL_NEXT, N_COLS };

static const char *const headers[N_COLS] = {"CREATED (UTC)", "CALL",  "PHONE",
                                            "STATE",         "CLAIM", "NEXT"};

typedef struct row {
    char cell[N_COLS][80];
} row;

/*
 * Copy text into a cell, truncated, with control characters replaced: the
 * values come from callers and servers, and must not drive the terminal.
 */
static void cell_set(char *cell, size_t size, const char *text)
{
    size_t i;

    if (!text || !*text)
        text = "-";
    for (i = 0; i + 1 < size && text[i]; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch < 0x20 || ch == 0x7f)
            cell[i] = '?';
        else
            cell[i] = text[i];
    }
    cell[i] = '\0';
}

static const char *str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* "2024-05-01T12:00:00.123Z" reads "2024-05-01 12:00:00". */
static void created_cell(char *cell, size_t size, const char *iso)
{
    cell_set(cell, size, iso);
    if (iso && strlen(iso) >= 19 && iso[10] == 'T') {
        cell[10] = ' ';
        cell[19] = '\0';
    }
}

/* Claim fields filled over fields in the schema, "-" without a schema. */
static void claim_cell(char *cell, size_t size, const json_t *call)
{
    const json_t *claim = json_object_get(call, "claim");
    size_t fields = json_array_size(json_object_get(json_object_get(call, "initiate"), "claim"));
    size_t filled = 0;
    const char *key;
    json_t *v;

    if (fields == 0)
        fields = json_object_size(claim);
    json_object_foreach((json_t *)claim, key, v)
    {
        const char *s = json_string_value(v);
        if (!json_is_null(v) && !(s && !*s))
            filled++;
    }
    if (fields == 0)
        cell_set(cell, size, "-");
    else
        snprintf(cell, size, "%zu/%zu", filled, fields);
}

static void row_fill(row *r, const json_t *call)
{
    created_cell(r->cell[COL_CREATED], sizeof r->cell[0], str(call, "created_at"));
    cell_set(r->cell[COL_CALL], sizeof r->cell[0], str(call, "call_id"));
    cell_set(r->cell[COL_PHONE], sizeof r->cell[0], str(call, "phone_number"));
    cell_set(r->cell[COL_STATE], sizeof r->cell[0], str(call, "state"));
    claim_cell(r->cell[COL_CLAIM], sizeof r->cell[0], call);
    cell_set(r->cell[COL_NEXT], sizeof r->cell[0], str(json_object_get(call, "next"), "action"));
}

static void line_print(FILE *out, const char *const cells[N_COLS], const size_t width[N_COLS])
{
    for (int k = 0; k < N_COLS; k++) {
        if (k == N_COLS - 1)
            fprintf(out, "%s\n", cells[k]);
        else
            fprintf(out, "%-*s  ", (int)width[k], cells[k]);
    }
}

int print_calls_table(FILE *out, const char *json, size_t offset)
{
    json_t *doc = json_loads(json, 0, NULL);
    json_t *calls = json_object_get(doc, "calls");
    json_t *total_v = json_object_get(doc, "total");
    size_t n = json_array_size(calls);
    size_t width[N_COLS];
    row *rows = NULL;
    long long total;

    if (!json_is_array(calls) || !json_is_integer(total_v)) {
        json_decref(doc);
        return -1;
    }
    total = (long long)json_integer_value(total_v);
    if (n == 0) {
        if (total == 0)
            fputs("no calls\n", out);
        else
            fprintf(out, "no calls at offset %zu (%lld in all)\n", offset, total);
        json_decref(doc);
        return 0;
    }
    rows = calloc(n, sizeof *rows);
    if (!rows) {
        json_decref(doc);
        return -1;
    }
    for (int k = 0; k < N_COLS; k++)
        width[k] = strlen(headers[k]);
    for (size_t i = 0; i < n; i++) {
        row_fill(&rows[i], json_array_get(calls, i));
        for (int k = 0; k < N_COLS; k++) {
            size_t len = strlen(rows[i].cell[k]);
            if (len > width[k])
                width[k] = len;
        }
    }
    line_print(out, headers, width);
    for (size_t i = 0; i < n; i++) {
        const char *cells[N_COLS];
        for (int k = 0; k < N_COLS; k++)
            cells[k] = rows[i].cell[k];
        line_print(out, cells, width);
    }
    if ((long long)offset + (long long)n < total)
        fprintf(out, "calls %zu-%zu of %lld; next page: --offset %zu\n", offset + 1, offset + n,
                total, offset + n);
    else if (offset > 0)
        fprintf(out, "calls %zu-%zu of %lld\n", offset + 1, offset + n, total);
    free(rows);
    json_decref(doc);
    return 0;
}
