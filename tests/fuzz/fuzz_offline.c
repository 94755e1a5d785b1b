/* libFuzzer target for the offline dialogue engine.
 *
 * The input is a whole call: its first byte picks the language, whether
 * the call is resumed and the clock offset; the rest is split on newlines
 * into caller turns, an empty line being a silence. Every turn must
 * succeed (or report the end of the dialogue); every reply must hold only
 * well-formed actions; the claim must stay a JSON object whose values
 * validate for their types, and be what the replies' field actions, applied
 * one after the other as a call does, make of the claim it started with. */
#include "core/json.h"
#include "engine/offline.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static void check_reply(const Ccai_offline_reply *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const Ccai_offline_action *a = &r->v[i];
        switch (a->kind) {
        case CCAI_OFFLINE_SAY: check(a->text && a->text[0] && !a->field); break;
        case CCAI_OFFLINE_SET_FIELD: check(a->text && a->field); break;
        case CCAI_OFFLINE_CLEAR_FIELD: check(!a->text && a->field); break;
        case CCAI_OFFLINE_SET_LANG: check(a->text && a->text[0]); break;
        case CCAI_OFFLINE_SET_RATE: {
            double rate = strtod(a->text, NULL);
            check(rate >= 0.75 && rate <= 1.25);
            break;
        }
        case CCAI_OFFLINE_TRANSFER:
        case CCAI_OFFLINE_HANGUP: check(!a->text && i + 1 == r->n); break;
        default: check(false);
        }
        check(!a->expects_reply || (a->kind == CCAI_OFFLINE_SAY && i + 1 == r->n));
    }
}

/* The field actions of r applied to claim, as a call applies them. */
static void apply(json_t *claim, const Ccai_offline_reply *r)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].kind == CCAI_OFFLINE_SET_FIELD)
            check(json_object_set_new(claim, r->v[i].field, json_string(r->v[i].text)) == 0);
        else if (r->v[i].kind == CCAI_OFFLINE_CLEAR_FIELD)
            (void)json_object_del(claim, r->v[i].field);
    }
}

static void check_applied(const json_t *applied, const char *claim)
{
    json_t *c = json_loads(claim, 0, NULL);
    check(c && json_equal(c, applied));
    json_decref(c);
}

static void check_claim(const ccai_claim_schema *schema, const char *claim)
{
    char *out = NULL;
    check(ccai_claim_schema_validate_claim(schema, claim, &out, NULL) == CCAI_OK);
    check(strcmp(out, claim) == 0);
    ccai_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ccai_claim_schema *schema;
    static Ccai_ofl_lexicon *lex; /* made once, as an engine does */
    if (!schema && ccai_claim_schema_new_default(&schema) != CCAI_OK)
        return 0;
    if (!lex && Ccai_offline_lexicon_new(&lex) != CCAI_OK)
        return 0;
    if (size == 0 || size > 64 * 1024)
        return 0;

    static const char *const langs[] = {"en-US", "fr-FR", "es-ES", "de-DE"};
    static const char *const avail[] = {"en-GB", "fr-FR", "es-MX", NULL};
    Ccai_offline_params p = {
        .schema = schema,
        .claim_json = "{\"policyholder_name\": \"Ann\"}",
        .lang = langs[data[0] & 3],
        .bot_name = "Bot",
        .bot_company = "Co",
        .available_langs = avail,
        /* Around 2024-10-08, east and west of UTC. */
        .now_ms = 1728396000000LL + (int64_t)(data[0] >> 3) * 3600000,
        .utc_offset_min = ((data[0] >> 3) & 3) * 300 - 600,
        .can_transfer = (data[0] & 2) != 0,
        .caller_number = (data[0] & 8) ? "+14155550123" : NULL,
        .lexicon = lex,
    };
    Ccai_offline *o = NULL;
    check(Ccai_offline_new(&p, &o) == CCAI_OK);
    json_t *applied = json_loads(Ccai_offline_claim_json(o), 0, NULL);
    check(applied != NULL);
    const Ccai_offline_reply *r = NULL;
    check(Ccai_offline_start(o, (data[0] & 4) != 0, &r) == CCAI_OK);
    check_reply(r);
    apply(applied, r);
    check_applied(applied, Ccai_offline_claim_json(o));

    char *text = malloc(size);
    if (!text) {
        json_decref(applied);
        Ccai_offline_free(o);
        return 0;
    }
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char *line = text;
    while (line && !Ccai_offline_ended(o)) {
        char *nl = memchr(line, '\n', strlen(line));
        if (nl)
            *nl = '\0';
        ccai_status st = line[0] ? Ccai_offline_input(o, line, &r) : Ccai_offline_silence(o, &r);
        check(st == CCAI_OK);
        check_reply(r);
        check_claim(schema, Ccai_offline_claim_json(o));
        apply(applied, r);
        check_applied(applied, Ccai_offline_claim_json(o));
        line = nl ? nl + 1 : NULL;
    }
    if (Ccai_offline_ended(o))
        check(Ccai_offline_input(o, "hello", &r) == CCAI_ERR_STATE);
    free(text);
    json_decref(applied);
    Ccai_offline_free(o);
    return 0;
}
