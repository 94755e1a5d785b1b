/* libFuzzer target for the offline dialogue's extractors (e-mails, phone
 * numbers, codes, names, dates, free text, corrections, questions,
 * requests for a person: engine/offline_extract.c, offline_codes.c, offline_turn.c,
 * offline_contacts.c, offline_dates.c), one utterance at a time at any point of a form.
 *
 * The first byte picks the language, whether the caller's number is known,
 * and how many fields are already filled (so that each question of the
 * form is the one asked); the second picks whether the summary is being
 * confirmed. The rest is one utterance, then the same words again (a
 * caller who repeats or corrects). Every turn must succeed; every reply
 * must hold well-formed actions; every value noted must validate for its
 * field's type; the claim stays a JSON object that validates. */
#include "core/json.h"
#include "engine/offline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
    if (!ok)
        __builtin_trap();
}

static const ccai_claim_schema *schema;

static void check_reply(const Ccai_offline_reply *r)
{
    for (size_t i = 0; i < r->n; i++) {
        const Ccai_offline_action *a = &r->v[i];
        switch (a->kind) {
        case CCAI_OFFLINE_SAY: check(a->text && a->text[0] && !a->field); break;
        case CCAI_OFFLINE_SET_FIELD: {
            check(a->text && a->field);
            ccai_field_type t = CCAI_FIELD_TEXT;
            bool known = false;
            for (size_t k = 0; k < ccai_claim_schema_count(schema); k++) {
                const char *name;
                if (ccai_claim_schema_field(schema, k, &name, &t, NULL) == CCAI_OK &&
                    strcmp(name, a->field) == 0) {
                    known = true;
                    break;
                }
            }
            check(known);
            char *norm = NULL;
            check(ccai_field_validate(t, a->text, &norm, NULL) == CCAI_OK);
            check(strcmp(norm, a->text) == 0); /* noted as it validates */
            ccai_free(norm);
            break;
        }
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ccai_claim_schema *def;
    static Ccai_ofl_lexicon *lex;
    if (!def && ccai_claim_schema_new_default(&def) != CCAI_OK)
        return 0;
    if (!lex && Ccai_offline_lexicon_new(&lex) != CCAI_OK)
        return 0;
    schema = def;
    if (size < 2 || size > CCAI_OFFLINE_UTTERANCE_MAX + 2)
        return 0;

    /* The default claim's values in the order they are asked: the first
     * (data[0] >> 4) are known, the next one is asked. */
    static const char *const known[][2] = {
        {"incident_description", "A pipe burst"},
        {"incident_datetime", "2024-10-07T15:00:00"},
        {"incident_location", "12 Elm Street"},
        {"injuries", "None"},
        {"medical_records", "None"},
        {"involved_parties", "me"},
        {"witnesses", "None"},
        {"pre_existing_damages", "None"},
        {"policyholder_name", "Ann Lee"},
        {"policy_number", "WA3301872"},
        {"policyholder_phone", "+14155550123"},
        {"policyholder_email", "ann@example.com"},
    };
    size_t nknown = (size_t)(data[0] >> 4);
    bool confirm = (data[1] & 1) != 0;
    if (confirm || nknown > CCAI_ARRAY_SIZE(known))
        nknown = CCAI_ARRAY_SIZE(known);
    char claim[1024];
    size_t cl = (size_t)snprintf(claim, sizeof claim, "{");
    for (size_t k = 0; k < nknown; k++)
        cl += (size_t)snprintf(claim + cl, sizeof claim - cl, "%s\"%s\":\"%s\"", k ? "," : "",
                               known[k][0], known[k][1]);
    snprintf(claim + cl, sizeof claim - cl, "}");

    static const char *const langs[] = {"en-US", "fr-FR", "es-ES", "en-GB"};
    static const char *const from[] = {NULL, "+14155550123", "+33612345678", "+34612345678"};
    Ccai_offline_params p = {
        .schema = def,
        .claim_json = claim,
        .lang = langs[data[0] & 3],
        .now_ms = 1728396000000LL,
        .caller_number = from[(data[0] >> 2) & 3],
        .lexicon = lex,
        .can_transfer = (data[1] & 2) != 0,
    };
    Ccai_offline *o = NULL;
    check(Ccai_offline_new(&p, &o) == CCAI_OK);
    const Ccai_offline_reply *r = NULL;
    check(Ccai_offline_start(o, confirm, &r) == CCAI_OK);
    check_reply(r);

    char *text = malloc(size - 1);
    if (!text) {
        Ccai_offline_free(o);
        return 0;
    }
    memcpy(text, data + 2, size - 2);
    text[size - 2] = '\0';
    for (int turn = 0; turn < 2 && !Ccai_offline_ended(o); turn++) {
        check(Ccai_offline_input(o, text, &r) == CCAI_OK);
        check_reply(r);
        char *out = NULL;
        check(ccai_claim_schema_validate_claim(def, Ccai_offline_claim_json(o), &out, NULL) ==
              CCAI_OK);
        ccai_free(out);
    }
    free(text);
    Ccai_offline_free(o);
    return 0;
}
