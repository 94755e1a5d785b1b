/* The offline dialogue against scripted callers (tests/offline_callers/):
 * slot precision, recall and F1 per language and per kind of caller,
 * requests for a person honoured, re-asks of facts already given, turns
 * per call. Prints figures; asserts nothing.
 *
 *   bench-offline FILE.yaml... [--verbose ID] [--fields]
 *
 * A scripted caller says its "say" turns first, whatever is asked; then it
 * answers each question with its "ask" answers for the fields asked (a
 * list is said over consecutive turns: a correction, a question first),
 * "I don't know" for a field it has no answer to, and yes to the
 * confirmation. Asked only the time, it says its "incident_time", else its
 * "incident_datetime" answer if it has not said it yet, else "I don't
 * know". tests/offline_callers/README.md tells how a value is
 * scored. */
#include "engine/offline.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define TURNS_MAX 40
#define NOW_MS    1728396000000LL /* 2024-10-08T14:00:00Z, a Tuesday */

static json_t *node_to_json(yaml_document_t *doc, yaml_node_t *n, int depth)
{
    if (!n || depth > 32)
        return NULL;
    if (n->type == YAML_SCALAR_NODE)
        return json_stringn((const char *)n->data.scalar.value, n->data.scalar.length);
    if (n->type == YAML_SEQUENCE_NODE) {
        json_t *a = json_array();
        for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top;
             i++)
            json_array_append_new(a, node_to_json(doc, yaml_document_get_node(doc, *i), depth + 1));
        return a;
    }
    json_t *o = json_object();
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        json_t *v = node_to_json(doc, yaml_document_get_node(doc, p->value), depth + 1);
        if (k && k->type == YAML_SCALAR_NODE && v)
            json_object_set_new(o, (const char *)k->data.scalar.value, v);
        else
            json_decref(v);
    }
    return o;
}

static json_t *load_yaml(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    yaml_parser_t parser;
    yaml_document_t doc;
    json_t *out = NULL;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return NULL;
    }
    yaml_parser_set_input_file(&parser, f);
    if (yaml_parser_load(&parser, &doc)) {
        out = node_to_json(&doc, yaml_document_get_root_node(&doc), 0);
        yaml_document_delete(&doc);
    } else {
        fprintf(stderr, "%s:%lu: %s\n", path, (unsigned long)parser.problem_mark.line + 1,
                parser.problem ? parser.problem : "YAML error");
    }
    yaml_parser_delete(&parser);
    fclose(f);
    return out;
}

/* ---- scoring ---------------------------------------------------------- */

/* Lower case, Latin-1 accents off, anything else a space. */
static void fold(const char *s, char *out, size_t cap)
{
    static const char map[] = "aaaaaaaceeeeiiiidnooooo ouuuuytsaaaaaaaceeeeiiiidnooooo ouuuuyty";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 1 < cap; p++) {
        char c = ' ';
        if (*p == 0xC3 && p[1] >= 0x80 && p[1] <= 0xBF) {
            c = map[p[1] - 0x80 + 0x00];
            p++;
        } else if (*p < 0x80 && ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) {
            c = (char)*p;
        } else if (*p >= 'A' && *p <= 'Z') {
            c = (char)(*p + 32);
        } else if (*p >= 0x80) {
            continue;
        }
        out[o++] = c;
    }
    out[o] = '\0';
}

static bool is_none(const char *v)
{
    static const char *const none[] = {"none",  "aucun", "aucune", "ninguno", "ninguna", "nada",
                                       "nadie", "rien",  "no",     "nothing", "personne"};
    char f[256];
    fold(v, f, sizeof f);
    char *s = f;
    while (*s == ' ')
        s++;
    size_t n = strlen(s);
    while (n > 0 && s[n - 1] == ' ')
        s[--n] = '\0';
    for (size_t k = 0; k < sizeof none / sizeof none[0]; k++)
        if (strcmp(s, none[k]) == 0)
            return true;
    return false;
}

/* Does a word of @p text start like @p key (its first five letters)? */
static bool has_key(const char *text, const char *key)
{
    size_t kl = strlen(key) < 5 ? strlen(key) : 5;
    bool exact = strlen(key) < 4;
    for (const char *p = text; *p;) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        size_t wl = (size_t)(p - w);
        if (exact ? (wl == strlen(key) && memcmp(w, key, wl) == 0)
                  : (wl >= kl && memcmp(w, key, kl) == 0))
            return true;
    }
    return false;
}

static void alnum_upper(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; *s && o + 1 < cap; s++) {
        if ((*s >= 'a' && *s <= 'z'))
            out[o++] = (char)(*s - 32);
        else if ((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9'))
            out[o++] = *s;
    }
    out[o] = '\0';
}

static bool correct(const char *field, const char *expected, const char *value)
{
    char a[1024], b[1024];
    if (strcmp(field, "incident_datetime") == 0)
        return strncmp(expected, value, strlen(expected)) == 0;
    if (strcmp(field, "policy_number") == 0) {
        alnum_upper(expected, a, sizeof a);
        alnum_upper(value, b, sizeof b);
        return strcmp(a, b) == 0;
    }
    if (strcmp(field, "policyholder_email") == 0 || strcmp(field, "policyholder_phone") == 0)
        return strcasecmp(expected, value) == 0;
    if (strcmp(field, "policyholder_name") == 0) {
        fold(expected, a, sizeof a);
        fold(value, b, sizeof b);
        return strcmp(a, b) == 0;
    }
    const char *bar = strchr(expected, '|');
    if (!bar)
        return is_none(expected) ? is_none(value) : strcasecmp(expected, value) == 0;
    if (is_none(value) && !strstr(bar, "none"))
        return false;
    fold(value, b, sizeof b);
    /* every key, split by spaces before folding: "a/b" accepts either (the
     * fold made '/' a space, so both were required until 2026-12-07); an
     * alternative that folds to several words ("saint-denis") needs them all */
    snprintf(a, sizeof a, "%s", bar + 1);
    char *save = NULL;
    for (char *k = strtok_r(a, " \t", &save); k; k = strtok_r(NULL, " \t", &save)) {
        bool any = false;
        for (char *alt = k; alt && !any;) {
            char *slash = strchr(alt, '/');
            if (slash)
                *slash = '\0';
            char f[256], *wsave = NULL;
            fold(alt, f, sizeof f);
            bool all = false;
            for (char *w = strtok_r(f, " ", &wsave); w; w = strtok_r(NULL, " ", &wsave)) {
                all = has_key(b, w) || (strcmp(w, "none") == 0 && is_none(value));
                if (!all)
                    break;
            }
            any = all;
            alt = slash ? slash + 1 : NULL;
        }
        if (!any)
            return false;
    }
    return true;
}

/* ---- the callers ------------------------------------------------------ */

enum { K_COOP, K_VOL, K_CORR, K_Q, K_PERSON, K_HOSTILE, K_COUNT };
static const char *const kinds[K_COUNT] = {"cooperative", "volunteering", "correcting",
                                           "questioning", "person",       "hostile"};
static const char *const langs[3] = {"en", "fr", "es"};

typedef struct tally {
    unsigned tp, fp, fn, calls;
} tally;

static tally by_lang[3], by_kind[K_COUNT], all, by_field[16];
static const char *field_names[16];
static size_t nfield_names;
static unsigned transfers_wanted, transfers_done, transfers_unwanted, reasks, questions_unhandled;
/* Calls whose claim as a call stores it (the replies' field actions
 * applied in order) is not the dialogue's own: 0 unless a value changes
 * without an action. */
static unsigned claim_apart;

/* The field actions of r applied to claim, as a call applies them. */
static void apply(json_t *claim, const Ccai_offline_reply *r)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].kind == CCAI_OFFLINE_SET_FIELD)
            json_object_set_new(claim, r->v[i].field, json_string(r->v[i].text));
        else if (r->v[i].kind == CCAI_OFFLINE_CLEAR_FIELD)
            json_object_del(claim, r->v[i].field);
    }
}
static unsigned turns[1024];
static size_t ncalls;

static void add(tally *t, unsigned tp, unsigned fp, unsigned fn)
{
    t->tp += tp, t->fp += fp, t->fn += fn;
}

static void print_tally(const char *name, const tally *t)
{
    double p = t->tp + t->fp ? (double)t->tp / (t->tp + t->fp) : 1.0;
    double r = t->tp + t->fn ? (double)t->tp / (t->tp + t->fn) : 1.0;
    double f = p + r > 0 ? 2 * p * r / (p + r) : 0.0;
    printf("  %-14s calls %3u  P %.3f  R %.3f  F1 %.3f\n", name, t->calls, p, r, f);
}

static const char *dont_know(int l)
{
    return l == 1 ? "Je ne sais pas." : l == 2 ? "No lo sé." : "I don't know.";
}

static const char *yes(int l)
{
    return l == 1 ? "Oui, c'est bien ça." : l == 2 ? "Sí, es correcto." : "Yes, that's right.";
}

static void append(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);
    if (n && n + 1 < cap)
        buf[n++] = ' ', buf[n] = '\0';
    snprintf(buf + n, cap - n, "%s", s);
    n = strlen(buf);
    if (n && !strchr(".!?…", buf[n - 1]) && (unsigned char)buf[n - 1] < 0x80 && n + 1 < cap)
        buf[n] = '.', buf[n + 1] = '\0';
}

static void run_caller(const json_t *c, const char *verbose)
{
    const char *id = json_string_value(json_object_get(c, "id"));
    const char *lang = json_string_value(json_object_get(c, "lang"));
    const char *kind = json_string_value(json_object_get(c, "kind"));
    const char *from = json_string_value(json_object_get(c, "from"));
    bool want_transfer = json_is_string(json_object_get(c, "transfer"));
    json_t *say = json_object_get(c, "say"), *ask = json_object_get(c, "ask");
    json_t *claim = json_object_get(c, "claim");
    bool verb = verbose && id && strcmp(verbose, id) == 0;
    int l = lang && strncmp(lang, "fr", 2) == 0 ? 1 : lang && strncmp(lang, "es", 2) == 0 ? 2 : 0;
    int k = 0;
    while (k < K_COUNT && (!kind || strcmp(kinds[k], kind) != 0))
        k++;
    if (k == K_COUNT) {
        fprintf(stderr, "%s: unknown kind\n", id ? id : "?");
        return;
    }

    ccai_claim_schema *schema = NULL;
    if (ccai_claim_schema_new_default(&schema) != CCAI_OK)
        return;
    Ccai_offline_params p = {.schema = schema,
                             .lang = lang,
                             .bot_name = "Amelia",
                             .bot_company = "Contoso",
                             .now_ms = NOW_MS,
                             .can_transfer = true,
                             .caller_number = from};
    Ccai_offline *o = NULL;
    const Ccai_offline_reply *r = NULL;
    if (Ccai_offline_new(&p, &o) != CCAI_OK || Ccai_offline_start(o, false, &r) != CCAI_OK) {
        fprintf(stderr, "%s: cannot start\n", id);
        Ccai_offline_free(o);
        ccai_claim_schema_unref(schema);
        return;
    }
    json_t *applied = json_loads(Ccai_offline_claim_json(o), 0, NULL);
    apply(applied, r);
    json_t *given = json_object();
    json_t *queue = json_array();
    size_t say_i = 0;
    unsigned nturns = 0;
    bool transferred = false;
    while (!Ccai_offline_ended(o) && nturns < TURNS_MAX) {
        for (size_t i = 0; verb && i < r->n; i++) {
            if (r->v[i].kind == CCAI_OFFLINE_SAY)
                printf("    bot: %s\n", r->v[i].text);
            else if (r->v[i].kind == CCAI_OFFLINE_SET_FIELD)
                printf("         [%s = %s]\n", r->v[i].field, r->v[i].text);
        }
        char utt[4096] = "";
        if (json_array_size(queue)) {
            append(utt, sizeof utt, json_string_value(json_array_get(queue, 0)));
            json_array_remove(queue, 0);
        } else if (say_i < json_array_size(say)) {
            json_t *t = json_array_get(say, say_i++);
            append(utt, sizeof utt, json_string_value(json_array_get(t, 0)));
            for (size_t g = 1; g < json_array_size(t); g++)
                json_object_set_new(given, json_string_value(json_array_get(t, g)), json_true());
        } else {
            const char *fields[4];
            bool time_only = false;
            size_t n = Ccai_offline_asking(o, fields, 4, &time_only);
            if (n == 0) {
                append(utt, sizeof utt, yes(l));
            } else if (time_only && (json_object_get(ask, "incident_time") ||
                                     json_object_get(given, "incident_datetime") ||
                                     !json_object_get(ask, "incident_datetime"))) {
                json_t *a = json_object_get(ask, "incident_time");
                append(utt, sizeof utt, a ? json_string_value(a) : dont_know(l));
            } else {
                /* asked only the time, the day known from elsewhere (the
                 * story): a caller who has not said when it happened says
                 * it now, as asked for the date */
                if (time_only)
                    n = 1, fields[0] = "incident_datetime";
                bool any = false;
                for (size_t f = 0; f < n; f++) {
                    json_t *a = json_object_get(ask, fields[f]);
                    bool again = json_object_get(given, fields[f]) != NULL;
                    if (again) {
                        reasks++;
                        if (verb)
                            printf("    ** re-ask of %s\n", fields[f]);
                        else if (verbose && strcmp(verbose, "all") == 0)
                            printf("  %s: re-ask of %s\n", id, fields[f]);
                    }
                    if (!a)
                        continue;
                    any = true;
                    if (json_is_array(a)) {
                        /* asked again: the last (corrected) answer */
                        if (again) {
                            append(utt, sizeof utt,
                                   json_string_value(json_array_get(a, json_array_size(a) - 1)));
                        } else {
                            append(utt, sizeof utt, json_string_value(json_array_get(a, 0)));
                            for (size_t q = 1; q < json_array_size(a); q++)
                                json_array_append(queue, json_array_get(a, q));
                        }
                    } else {
                        append(utt, sizeof utt, json_string_value(a));
                    }
                    json_object_set_new(given, fields[f], json_true());
                }
                if (!any)
                    append(utt, sizeof utt, dont_know(l));
            }
        }
        if (verb)
            printf("  caller: %s\n", utt);
        if (Ccai_offline_input(o, utt, &r) != CCAI_OK) {
            fprintf(stderr, "%s: turn failed\n", id);
            break;
        }
        nturns++;
        apply(applied, r);
        for (size_t i = 0; i < r->n; i++)
            transferred = transferred || r->v[i].kind == CCAI_OFFLINE_TRANSFER;
    }
    for (size_t i = 0; verb && i < r->n; i++) {
        if (r->v[i].kind == CCAI_OFFLINE_SAY)
            printf("    bot: %s\n", r->v[i].text);
    }

    /* Scored: the claim a call stores (its field actions applied). */
    json_error_t je;
    json_t *own = json_loads(Ccai_offline_claim_json(o), 0, &je);
    json_t *got = applied;
    if (!json_equal(own, got)) {
        claim_apart++;
        char *a = json_dumps(got, JSON_COMPACT), *b = json_dumps(own, JSON_COMPACT);
        printf("  %s: the claim stored (%s) is not the dialogue's (%s)\n", id, a ? a : "?",
               b ? b : "?");
        free(a);
        free(b);
    }
    json_decref(own);
    unsigned tp = 0, fp = 0, fn = 0;
    const char *key;
    json_t *v;
    json_object_foreach(claim, key, v)
    {
        const char *val = json_string_value(json_object_get(got, key));
        size_t fi = 0;
        while (fi < nfield_names && strcmp(field_names[fi], key) != 0)
            fi++;
        if (fi == nfield_names && nfield_names < 16)
            field_names[nfield_names++] = key;
        unsigned t = 0, p1 = 0, n1 = 0;
        if (val && correct(key, json_string_value(v), val))
            t = 1;
        else if (val)
            p1 = 1, n1 = 1;
        else
            n1 = 1;
        if (fi < 16)
            add(&by_field[fi], t, p1, n1);
        tp += t, fp += p1, fn += n1;
        if (verb || ((p1 || n1) && verbose && strcmp(verbose, "all") == 0))
            printf("  %s %-22s expected %s | got %s\n", id, key, json_string_value(v),
                   val ? val : "(none)");
    }
    json_object_foreach(got, key, v)
    {
        if (json_object_get(claim, key))
            continue;
        fp++;
        if (verb || (verbose && strcmp(verbose, "all") == 0))
            printf("  %s %-22s expected (none) | got %s\n", id, key, json_string_value(v));
    }
    add(&all, tp, fp, fn);
    add(&by_lang[l], tp, fp, fn);
    add(&by_kind[k], tp, fp, fn);
    all.calls++, by_lang[l].calls++, by_kind[k].calls++;
    if (want_transfer) {
        transfers_wanted++;
        transfers_done += transferred;
        if (!transferred && verbose && strcmp(verbose, "all") == 0)
            printf("  %s: request for a person not honoured\n", id);
    } else if (transferred) {
        transfers_unwanted++;
        if (verbose && strcmp(verbose, "all") == 0)
            printf("  %s: unwanted transfer\n", id);
    }
    if (!transferred && ncalls < sizeof turns / sizeof turns[0])
        turns[ncalls++] = nturns;
    json_decref(got);
    json_decref(given);
    json_decref(queue);
    Ccai_offline_free(o);
    ccai_claim_schema_unref(schema);
}

static int cmp_uint(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    const char *verbose = NULL;
    bool fields = false;
    json_t *docs = json_array();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--verbose") == 0 && i + 1 < argc) {
            verbose = argv[++i];
        } else if (strcmp(argv[i], "--fields") == 0) {
            fields = true;
        } else {
            json_t *d = load_yaml(argv[i]);
            if (!d) {
                json_decref(docs);
                return 1;
            }
            json_array_append_new(docs, d);
        }
    }
    if (!json_array_size(docs)) {
        fprintf(stderr, "usage: bench-offline FILE.yaml... [--verbose ID|all] [--fields]\n");
        json_decref(docs);
        return 2;
    }
    size_t i;
    json_t *d;
    json_array_foreach(docs, i, d)
    {
        size_t j;
        json_t *c;
        json_array_foreach(json_object_get(d, "callers"), j, c) run_caller(c, verbose);
    }
    printf("offline dialogue, %u scripted callers\n", all.calls);
    printf("slot precision / recall / F1\n");
    print_tally("all", &all);
    for (int l = 0; l < 3; l++)
        print_tally(langs[l], &by_lang[l]);
    for (int k = 0; k < K_COUNT; k++)
        print_tally(kinds[k], &by_kind[k]);
    if (fields)
        for (size_t f = 0; f < nfield_names; f++) {
            by_field[f].calls = 0;
            print_tally(field_names[f], &by_field[f]);
        }
    qsort(turns, ncalls, sizeof turns[0], cmp_uint);
    unsigned sum = 0;
    for (size_t k = 0; k < ncalls; k++)
        sum += turns[k];
    printf("requests for a person honoured: %u / %u; transfers nobody asked for: %u\n",
           transfers_done, transfers_wanted, transfers_unwanted);
    printf("re-asks of a fact already given: %u\n", reasks);
    if (claim_apart)
        printf("calls whose stored claim is not the dialogue's: %u\n", claim_apart);
    printf("caller turns per call (calls not transferred, %zu): median %u, mean %.1f, max %u\n",
           ncalls, ncalls ? turns[ncalls / 2] : 0, ncalls ? (double)sum / ncalls : 0.0,
           ncalls ? turns[ncalls - 1] : 0);
    (void)questions_unhandled;
    json_decref(docs);
    return 0;
}
