/* libFuzzer target for the offline dialogue's data-file parser
 * (Ccai_ofl_lex_parse(), engine/offline_data.c).
 *
 * The input is a data file (data/offline/<lang>.txt format); its first byte
 * picks the language it is read as, and whether it is parsed on top of the
 * real English file (a file added to a lexicon that holds entries). The
 * parse must succeed or fail with CCAI_ERR_PARSE / CCAI_ERR_NOMEM; either
 * way what was added must be consistent: sections within the entries,
 * entries with their written and normalised text, a normalised text of
 * single-space separated tokens counted right, and every section found by
 * its name, each section's entries indexed by their first letter. */
#include "core/embedded.h"
#include "engine/offline_private.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static void check_lexicon(const Ccai_ofl_lexicon *lx)
{
    check(lx->nsec <= lx->capsec && lx->nent <= lx->capent);
    for (size_t s = 0; s < lx->nsec; s++) {
        const Ccai_ofl_section *sec = &lx->sec[s];
        size_t nlen = strnlen(sec->name, CCAI_OFL_SECTION_MAX);
        check(nlen > 0 && nlen < CCAI_OFL_SECTION_MAX);
        check(sec->first <= lx->nent && sec->n <= lx->nent - sec->first);
        check(sec->lang >= 0 && sec->lang < CCAI_OFL_LANGS_MAX);
        const Ccai_ofl_entry *ent = NULL;
        size_t n = Ccai_ofl_lex_get(lx, sec->lang, sec->name, &ent);
        check(n == 0 || ent != NULL);
        /* the index by first letter: every entry of the section once, in
         * its letter's bucket */
        check(sec->at[0] == 0 && sec->at[CCAI_OFL_BUCKETS] == sec->n);
        for (unsigned b = 0; b < CCAI_OFL_BUCKETS; b++) {
            check(sec->at[b] <= sec->at[b + 1]);
            for (size_t k = sec->first + sec->at[b]; k < sec->first + sec->at[b + 1]; k++) {
                size_t i = lx->byfirst[k];
                check(i >= sec->first && i < sec->first + sec->n);
                check(Ccai_ofl_bucket((unsigned char)lx->ent[i].norm[0]) == b);
                check(k == sec->first + sec->at[b] || lx->byfirst[k - 1] < i);
            }
        }
    }
    for (size_t i = 0; i < lx->nent; i++) {
        const Ccai_ofl_entry *e = &lx->ent[i];
        check(e->text && e->norm && strlen(e->text) <= CCAI_OFL_LINE_MAX);
        unsigned ntok = 0;
        for (const char *p = e->norm; *p;) {
            const char *sp = strchr(p, ' ');
            size_t len = sp ? (size_t)(sp - p) : strlen(p);
            check(len > 0); /* one space between tokens, none at the ends */
            ntok++;
            p += len + (sp ? 1 : 0);
            check(!sp || *p);
        }
        check(ntok == e->ntok);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > 256 * 1024)
        return 0;
    Ccai_ofl_lexicon lx;
    memset(&lx, 0, sizeof lx);
    if (data[0] & 4) {
        const Ccai_embedded *f = Ccai_embedded_find("offline/en.txt");
        check(f && Ccai_ofl_lex_parse(&lx, 0, (const char *)f->data, f->len) == CCAI_OK);
    }
    ccai_status st = Ccai_ofl_lex_parse(&lx, data[0] % 3, (const char *)data + 1, size - 1);
    /* the tables of a language: found, or CCAI_ERR_PARSE */
    if (st == CCAI_OK) {
        ccai_status rs = Ccai_ofl_lex_resolve(&lx, data[0] % 3);
        check(rs == CCAI_OK || rs == CCAI_ERR_PARSE);
    }
    check(st == CCAI_OK || st == CCAI_ERR_PARSE || st == CCAI_ERR_NOMEM);
    check_lexicon(&lx);
    Ccai_ofl_lex_free(&lx);
    check(lx.nent == 0 && lx.nsec == 0 && !lx.ent && !lx.sec && !lx.pool);
    check(Ccai_ofl_lex_parse(NULL, 0, "", 0) == CCAI_ERR_INVALID_ARG);
    return 0;
}
