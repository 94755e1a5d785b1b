/* Writes sample report pages for tests/browser/report-check.mjs.
 *
 *   render_sample OUTDIR CALL.json...
 *
 * Each CALL.json holds a call document, or a ccai-cli event whose "call"
 * member is one. Writes OUTDIR/call-<i>.html for each, OUTDIR/list.html
 * (every call, as the first page of a longer list so that pagination
 * shows) and OUTDIR/error.html. Exit status 0, or 1 with a message. */
#include "core/json.h"
#include "web/report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    Ccai_buf b = {0};
    char chunk[4096];
    size_t n;
    bool ok = true;
    while (ok && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ok = Ccai_buf_append(&b, chunk, n);
    ok = ok && !ferror(f);
    fclose(f);
    if (!ok) {
        Ccai_buf_free(&b);
        return NULL;
    }
    *ret_len = b.len;
    return Ccai_buf_steal(&b);
}

static bool write_page(const char *dir, const char *name, char *html)
{
    if (!html) {
        fprintf(stderr, "render_sample: rendering %s failed\n", name);
        return false;
    }
    char *path = Ccai_asprintf("%s/%s", dir, name);
    FILE *f = path ? fopen(path, "wb") : NULL;
    bool ok = f && fputs(html, f) >= 0;
    if (f && fclose(f) != 0)
        ok = false;
    if (!ok)
        fprintf(stderr, "render_sample: cannot write %s\n", path ? path : name);
    ccai_free(path);
    ccai_free(html);
    return ok;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s OUTDIR CALL.json...\n", argv[0]);
        return 1;
    }
    const char *dir = argv[1];
    json_t *calls = json_array();
    bool ok = calls != NULL;
    for (int i = 2; ok && i < argc; i++) {
        size_t len = 0;
        char *text = read_file(argv[i], &len);
        if (!text) {
            fprintf(stderr, "render_sample: cannot read %s\n", argv[i]);
            ok = false;
            break;
        }
        Ccai_json_err err;
        ccai_status st;
        json_t *v = Ccai_json_load(text, len, &err, &st);
        ccai_free(text);
        if (!v) {
            fprintf(stderr, "render_sample: %s:%u:%u: %s\n", argv[i], err.line, err.column,
                    err.text ? err.text : "out of memory");
            ok = false;
            break;
        }
        json_t *doc = json_object_get(v, "call") ? json_object_get(v, "call") : v;
        char name[32];
        snprintf(name, sizeof name, "call-%d.html", i - 2);
        ok = write_page(dir, name, Ccai_report_call_html(doc, "", "", NULL)) &&
             json_array_append(calls, doc) == 0;
        json_decref(v);
    }
    if (ok) {
        size_t n = json_array_size(calls);
        json_t *list = json_pack("{s:I, s:O}", "total", (json_int_t)(n + 40), "calls", calls);
        /* Links point at the files written above, not at a server. */
        ok = list && write_page(dir, "list.html",
                                Ccai_report_list_html(list, "", n, 0, ".", "", NULL, NULL));
        json_decref(list);
    }
    ok = ok && write_page(dir, "error.html", Ccai_report_error_html(404, "No call with this id."));
    json_decref(calls);
    return ok ? 0 : 1;
}
