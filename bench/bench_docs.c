/* bench-docs: how well the documents search finds what a caller asks, on
 * the corpus of tests/data/docs (an insurer's help pages, 16 in English,
 * 14 in French) and 30 questions worded as callers word them, each with
 * the pages that answer it. Prints precision@3 (the share of the first
 * three chunks that come from an answering page), hit@1 and MRR, for BM25
 * alone and for the hybrid ranking with embeddings from the stand-in
 * (tests/support/embed_standin.c: hashed words and character trigrams, no
 * model's semantics), and the time of a search (uncached, cached). With
 * --postgresql, the same on PostgreSQL (database.mode postgresql, a server
 * the bench starts: tests/support/pg_server.h), side by side with SQLite.
 *
 *   bench-docs [--postgresql] [SRCDIR]  (default: the source tree it was built from) */
#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>

#include "support/embed_standin.h"
#include "support/pg_server.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct question {
    const char *lang;
    const char *text;
    const char *relevant[3]; /* file names of the pages that answer it */
} question;

static const question questions[] = {
    {"en-US",
     "I cracked my windscreen on the highway, will I have to pay anything?",
     {"windshield.md", "deductibles.md"}},
    {"en-US",
     "Someone broke into my house last night and took my laptop",
     {"home-burglary.txt", "home-coverage.html"}},
    {"en-US",
     "How long do I have to tell you about an accident?",
     {"file-a-claim.md", "car-accident.html"}},
    {"en-US", "My car got stolen from the parking lot", {"theft-vehicle.md"}},
    {"en-US",
     "Who do I call if my car breaks down on the motorway?",
     {"roadside-assistance.md", "contacts.md"}},
    {"en-US", "What's the number for the claims department?", {"contacts.md", "file-a-claim.md"}},
    {"en-US", "When will I get my money after the claim is accepted?", {"claim-status.md"}},
    {"en-US",
     "There is water coming through my kitchen ceiling from upstairs",
     {"water-damage.md"}},
    {"en-US",
     "Does my policy cover hail damage on the car?",
     {"storm-hail.md", "car-coverage.md", "deductibles.md"}},
    {"en-US",
     "How much excess do I pay if my car is stolen and I have comprehensive?",
     {"deductibles.md", "theft-vehicle.md"}},
    {"en-US",
     "Can I get a courtesy car while mine is in the garage?",
     {"car-coverage.md", "car-accident.html"}},
    {"en-US", "I want to stop my insurance because I sold my car", {"cancellation.md"}},
    {"en-US", "My direct debit bounced, what happens now?", {"payments.md"}},
    {"en-US", "Is drunk driving covered?", {"exclusions.md"}},
    {"en-US", "I locked my keys inside the car", {"roadside-assistance.md"}},
    {"en-US", "How do I fill in the accident form with the other driver?", {"car-accident.html"}},
    {"en-US", "What's the difference between third party and comprehensive?", {"car-coverage.md"}},
    {"en-US", "Where can I follow the progress of my file?", {"claim-status.md"}},
    {"fr-FR",
     "J'ai un impact sur mon pare-brise, est-ce que je dois payer quelque chose ?",
     {"bris-de-glace.md", "franchises.md"}},
    {"fr-FR", "On m'a volé ma voiture cette nuit", {"vol-vehicule.md"}},
    {"fr-FR",
     "Des cambrioleurs sont entrés chez moi",
     {"cambriolage.md", "assurance-habitation.html"}},
    {"fr-FR",
     "Quel est le numéro pour déclarer un sinistre ?",
     {"contacts.md", "declarer-un-sinistre.md"}},
    {"fr-FR", "Ma voiture est en panne sur l'autoroute", {"assistance-depannage.md"}},
    {"fr-FR",
     "Il y a une fuite d'eau chez mon voisin du dessus qui coule chez moi",
     {"degat-des-eaux.md"}},
    {"fr-FR",
     "Combien je paie de franchise en tous risques après un accident ?",
     {"franchises.md"}},
    {"fr-FR", "Comment remplir le constat après un accrochage ?", {"accident-voiture.html"}},
    {"fr-FR", "Je voudrais résilier mon contrat", {"resiliation.md"}},
    {"fr-FR", "Quand vais-je recevoir mon indemnisation ?", {"suivi-sinistre.md"}},
    {"fr-FR", "Est-ce que je suis couvert si je conduis sans permis ?", {"exclusions.md"}},
    {"fr-FR",
     "Mon logement est inhabitable après l'incendie, où vais-je dormir ?",
     {"assurance-habitation.html"}},
};

#define N_QUESTIONS (sizeof questions / sizeof questions[0])

typedef struct waiter {
    int done;
    ccai_status st;
    json_t *json;
} waiter;

static void on_done(ccai_status st, const char *json, void *ud)
{
    waiter *w = ud;
    w->done = 1;
    w->st = st;
    w->json = json ? json_loads(json, 0, NULL) : NULL;
}

static int is_done(void *ud)
{
    return ((waiter *)ud)->done;
}

static json_t *run(ccai_poll *p, ccai_ctx *ctx, ccai_docs_done_fn fn, int search, const question *q)
{
    waiter w = {0};
    ccai_status st = search ? ccai_ctx_docs_search(ctx, q->text, q->lang, 3, fn, &w)
                            : ccai_ctx_docs_embed(ctx, fn, &w);
    if (st != CCAI_OK) {
        fprintf(stderr, "bench-docs: %s: %s\n", ccai_status_str(st), ccai_ctx_errmsg(ctx));
        exit(1);
    }
    ccai_poll_run(p, is_done, &w);
    if (w.st != CCAI_OK) {
        fprintf(stderr, "bench-docs: %s: %s\n", ccai_status_str(w.st), ccai_ctx_errmsg(ctx));
        exit(1);
    }
    return w.json;
}

static int relevant(const question *q, const char *source)
{
    const char *base = strrchr(source, '/');
    base = base ? base + 1 : source;
    for (size_t i = 0; i < 3 && q->relevant[i]; i++)
        if (strcmp(q->relevant[i], base) == 0)
            return 1;
    return 0;
}

static void import_dir(ccai_ctx *ctx, const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "ls %s", dir);
    FILE *ls = popen(cmd, "r");
    char name[256];
    while (ls && fgets(name, sizeof name, ls)) {
        name[strcspn(name, "\n")] = '\0';
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", dir, name);
        char *json = NULL;
        if (ccai_ctx_docs_import(ctx, path, NULL, &json) != CCAI_OK) {
            fprintf(stderr, "bench-docs: %s: %s\n", path, ccai_ctx_errmsg(ctx));
            exit(1);
        }
        ccai_free(json);
    }
    if (ls)
        pclose(ls);
}

/* dsn: PostgreSQL's, or NULL (SQLite). */
static void measure(const char *label, const char *src, embed_standin *emb, const char *dsn)
{
    char dir[] = "/tmp/bench-docs-XXXXXX";
    if (!mkdtemp(dir))
        exit(1);
    char db[128], path[1024];
    snprintf(db, sizeof db, "%s/db.sqlite", dir);
    ccai_config *cfg = NULL;
    ccai_poll *p = NULL;
    ccai_ctx *ctx = NULL;
    if (ccai_config_new(&cfg) != CCAI_OK ||
        ccai_config_set(cfg, "database.sqlite.path", db) != CCAI_OK ||
        ccai_config_set(cfg, "documents.default_lang", "en-US") != CCAI_OK)
        exit(1);
    if (dsn && (ccai_config_set(cfg, "database.mode", "postgresql") != CCAI_OK ||
                ccai_config_set(cfg, "database.postgresql.dsn", dsn) != CCAI_OK ||
                /* as ccai-server runs it */
                ccai_config_set(cfg, "database.postgresql.search_threads", "true") != CCAI_OK))
        exit(1);
    if (emb) {
        char ep[64];
        snprintf(ep, sizeof ep, "http://127.0.0.1:%d/v1", embed_standin_port(emb));
        if (ccai_config_set(cfg, "documents.embeddings.mode", "openai") != CCAI_OK ||
            ccai_config_set(cfg, "documents.embeddings.endpoint", ep) != CCAI_OK)
            exit(1);
    }
    if (ccai_poll_new(cfg, &p, &ctx, NULL) != CCAI_OK)
        exit(1);
    snprintf(path, sizeof path, "%s/tests/data/docs/en", src);
    import_dir(ctx, path);
    snprintf(path, sizeof path, "%s/tests/data/docs/fr", src);
    import_dir(ctx, path);
    if (emb)
        json_decref(run(p, ctx, on_done, 0, NULL));
    /* The first search, apart: on PostgreSQL it starts the search workers
     * and opens their connections (store/docs_exec.c). */
    static const question warm = {"en-US", "opening hours of the office", {NULL}};
    uint64_t t_first = ccai_time_ms();
    json_decref(run(p, ctx, on_done, 1, &warm));
    t_first = ccai_time_ms() - t_first;
    double p3 = 0, hit1 = 0, mrr = 0, p3_en = 0, p3_fr = 0;
    size_t n_en = 0, n_fr = 0;
    uint64_t t_uncached = 0, t_cached = 0;
    for (size_t i = 0; i < N_QUESTIONS; i++) {
        const question *q = &questions[i];
        uint64_t t0 = ccai_time_ms();
        json_t *res = run(p, ctx, on_done, 1, q);
        uint64_t t1 = ccai_time_ms();
        json_decref(run(p, ctx, on_done, 1, q));
        t_cached += ccai_time_ms() - t1;
        t_uncached += t1 - t0;
        const json_t *rows = json_object_get(res, "results");
        int good = 0, first = 0;
        for (size_t k = 0; k < json_array_size(rows) && k < 3; k++) {
            const char *s = json_string_value(json_object_get(json_array_get(rows, k), "source"));
            if (s && relevant(q, s)) {
                good++;
                if (!first)
                    first = (int)k + 1;
            }
        }
        double pq = good / 3.0;
        p3 += pq;
        if (strncmp(q->lang, "fr", 2) == 0) {
            p3_fr += pq;
            n_fr++;
        } else {
            p3_en += pq;
            n_en++;
        }
        hit1 += first == 1;
        mrr += first ? 1.0 / first : 0;
        json_decref(res);
    }
    printf("%-34s precision@3 %.3f (en %.3f, fr %.3f)  hit@1 %.3f  MRR@3 %.3f  "
           "search %.1f ms uncached, %.2f ms cached (first %llu ms)\n",
           label, p3 / N_QUESTIONS, p3_en / (double)n_en, p3_fr / (double)n_fr, hit1 / N_QUESTIONS,
           mrr / N_QUESTIONS, (double)t_uncached / N_QUESTIONS, (double)t_cached / N_QUESTIONS,
           (unsigned long long)t_first);
    ccai_poll_free(p);
    ccai_config_free(cfg);
    snprintf(path, sizeof path, "rm -rf %s", dir);
    if (system(path) != 0)
        fprintf(stderr, "bench-docs: %s left behind\n", dir);
}

int main(int argc, char **argv)
{
    bool pg = argc > 1 && strcmp(argv[1], "--postgresql") == 0;
    const char *src = argc > 1 + pg ? argv[1 + pg] : CCAI_BENCH_SRCDIR;
    printf("bench-docs: %zu questions (%s/tests/data/docs), the top 3 chunks of each\n",
           N_QUESTIONS, src);
    pg_server srv;
    char dsn[2][400];
    if (pg) {
        if (pg_server_start(&srv, true) != 0 || pg_server_schema_dsn(&srv, dsn[0], 400) != 0 ||
            pg_server_schema_dsn(&srv, dsn[1], 400) != 0) {
            pg_server_stop(&srv);
            fprintf(stderr, "bench-docs: PostgreSQL did not start\n");
            return 1;
        }
    }
    measure("BM25 (FTS5) alone, SQLite", src, NULL, NULL);
    if (pg)
        measure("BM25-like alone, PostgreSQL", src, NULL, dsn[0]);
    embed_standin *emb = embed_standin_start(NULL);
    if (!emb)
        return 1;
    measure("hybrid, stand-in emb., SQLite", src, emb, NULL);
    if (pg)
        measure("hybrid, stand-in emb., PostgreSQL", src, emb, dsn[1]);
    embed_standin_stop(emb);
    if (pg)
        pg_server_stop(&srv);
    return 0;
}
