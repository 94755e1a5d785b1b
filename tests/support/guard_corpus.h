/* The jailbreak corpus (tests/data/guard/jailbreak.tsv) read into memory
 * (header only; test_guard and bench-guard). */
#ifndef CCAI_TEST_GUARD_CORPUS_H
#define CCAI_TEST_GUARD_CORPUS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct guard_sample {
    int attack; /* 1 attack, 0 benign */
    char lang[8];
    char *text;
} guard_sample;

typedef struct guard_corpus {
    guard_sample *v;
    size_t n;
} guard_corpus;

/* 0, or -1 when the file cannot be read or a line is malformed (printed). */
static inline int guard_corpus_load(const char *path, guard_corpus *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "guard corpus: cannot open %s\n", path);
        return -1;
    }
    char line[2048];
    size_t cap = 0, lineno = 0;
    int rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strcspn(line, "\r\n");
        line[len] = '\0';
        if (!len || line[0] == '#')
            continue;
        char *t1 = strchr(line, '\t');
        char *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
        if (!t1 || !t2 || (size_t)(t2 - t1 - 1) >= sizeof out->v[0].lang) {
            fprintf(stderr, "guard corpus: %s:%zu: expected label<TAB>lang<TAB>text\n", path,
                    lineno);
            rc = -1;
            break;
        }
        *t1 = *t2 = '\0';
        if (strcmp(line, "attack") != 0 && strcmp(line, "benign") != 0) {
            fprintf(stderr, "guard corpus: %s:%zu: label %s\n", path, lineno, line);
            rc = -1;
            break;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            guard_sample *v = realloc(out->v, cap * sizeof *v);
            if (!v) {
                rc = -1;
                break;
            }
            out->v = v;
        }
        guard_sample *s = &out->v[out->n++];
        s->attack = strcmp(line, "attack") == 0;
        snprintf(s->lang, sizeof s->lang, "%s", t1 + 1);
        s->text = strdup(t2 + 1);
        if (!s->text) {
            out->n--;
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

static inline void guard_corpus_free(guard_corpus *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->v[i].text);
    free(c->v);
    memset(c, 0, sizeof *c);
}

#endif
