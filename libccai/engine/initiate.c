/* A call's initiate: what the bot is (name, company, task, languages, the
 * claim's schema), from conversation.initiate overlaid with the call's own
 * initiate_json (POST /call), and the language a call starts in. */
#include "engine/engine.h"

#include "claim/claim.h"
#include "config/config.h"
#include "core/json.h"

/* Keys a POST /call body (initiate_json) may carry. */
static const char *const initiate_keys[] = {
    "phone_number",       "bot_name", "bot_company", "task",
    "agent_phone_number", "lang",     "claim",       "prosody_rate",
};

static CCAI_MUST_CHECK bool known_initiate_key(const char *key)
{
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(initiate_keys); i++) {
        if (strcmp(key, initiate_keys[i]) == 0)
            return true;
    }
    return false;
}

/* conversation.initiate from the configuration, overlaid with the call's own
 * initiate_json; the phone number and the effective claim schema are set. */
ccai_status Ccai_initiate_build(Ccai_engine *e, const ccai_call_params *p, const char *phone,
                                json_t **ret_initiate, ccai_claim_schema **ret_schema)
{
    ccai_status st = CCAI_ERR_NOMEM;
    ccai_claim_schema *schema = NULL;
    json_t *overlay = NULL;
    const json_t *conf = Ccai_config_json(e->cfg, "conversation.initiate");
    json_t *init = conf && json_is_object(conf) ? json_deep_copy(conf) : json_object();
    if (!init)
        return CCAI_ERR_NOMEM;

    if (p->initiate_json) {
        Ccai_json_err jerr;
        overlay = Ccai_json_load(p->initiate_json, strlen(p->initiate_json), &jerr, &st);
        if (!overlay && st == CCAI_ERR_NOMEM)
            goto out;
        if (!overlay || !json_is_object(overlay)) {
            st = CCAI_ERR_VALIDATION;
            if (overlay)
                Ccai_ctx_set_error(e->ctx, "initiate: expected a JSON object");
            else
                Ccai_ctx_set_error(e->ctx, "initiate: %s (line %u, column %u)", jerr.text,
                                   jerr.line, jerr.column);
            goto out;
        }
        const char *key;
        json_t *value;
        json_object_foreach(overlay, key, value)
        {
            if (!known_initiate_key(key)) {
                st = CCAI_ERR_VALIDATION;
                Ccai_ctx_set_error(e->ctx, "initiate: unknown field \"%s\"", key);
                goto out;
            }
            if (strcmp(key, "phone_number") == 0)
                continue;
            if (strcmp(key, "prosody_rate") == 0) {
                double r = json_number_value(value);
                if (!json_is_number(value) || r < 0.75 || r > 1.25) {
                    st = CCAI_ERR_VALIDATION;
                    Ccai_ctx_set_error(e->ctx, "initiate: prosody_rate must be a number "
                                               "between 0.75 and 1.25");
                    goto out;
                }
            } else if (strcmp(key, "claim") == 0 || strcmp(key, "lang") == 0) {
                if (!json_is_array(value) && !json_is_object(value)) {
                    st = CCAI_ERR_VALIDATION;
                    Ccai_ctx_set_error(e->ctx, "initiate: %s must be %s", key,
                                       strcmp(key, "claim") == 0 ? "a list" : "an object");
                    goto out;
                }
            } else if (!json_is_string(value)) {
                st = CCAI_ERR_VALIDATION;
                Ccai_ctx_set_error(e->ctx, "initiate: %s must be a string", key);
                goto out;
            }
            /* A partial lang object (only default_short_code) keeps the
             * configured languages. */
            json_t *have = json_object_get(init, key);
            if (strcmp(key, "lang") == 0 && json_is_object(value) && json_is_object(have)) {
                if (json_object_update(have, value) != 0)
                    goto out;
                continue;
            }
            if (json_object_set(init, key, value) != 0)
                goto out;
        }
    }

    /* The claim schema: the caller's object, else initiate.claim, else the
     * default insurance schema. */
    if (p->claim_schema) {
        schema = ccai_claim_schema_ref(p->claim_schema);
    } else {
        const json_t *claim = json_object_get(init, "claim");
        if (json_is_array(claim) && json_array_size(claim) > 0) {
            char *why = NULL;
            st = Ccai_claim_schema_from_jansson(claim, &schema, &why);
            if (st != CCAI_OK) {
                if (st != CCAI_ERR_NOMEM) {
                    st = CCAI_ERR_VALIDATION;
                    Ccai_ctx_set_error(e->ctx, "initiate: %s", why ? why : "invalid claim");
                }
                ccai_free(why);
                goto out;
            }
        } else {
            st = ccai_claim_schema_new_default(&schema);
            if (st != CCAI_OK)
                goto out;
        }
        ccai_claim_schema_ref(schema); /* freeze */
        ccai_claim_schema_unref(schema);
    }
    st = CCAI_ERR_NOMEM;
    json_t *fields = Ccai_claim_schema_to_jansson(schema);
    if (!fields || json_object_set_new(init, "claim", fields) != 0)
        goto out;
    if (json_object_set_new(init, "phone_number", json_string(phone)) != 0)
        goto out;
    *ret_initiate = init;
    *ret_schema = schema;
    init = NULL;
    schema = NULL;
    st = CCAI_OK;
out:
    json_decref(overlay);
    json_decref(init);
    ccai_claim_schema_unref(schema);
    return st;
}

/* Do two language tags have the same primary subtag ("en" of "en-GB" and
 * "en-US"), letter case aside? */
static bool same_language(const char *a, const char *b)
{
    size_t n = strcspn(a, "-_");
    if (n == 0 || n != strcspn(b, "-_"))
        return false;
    for (size_t k = 0; k < n; k++)
        if (Ccai_to_lower((unsigned char)a[k]) != Ccai_to_lower((unsigned char)b[k]))
            return false;
    return true;
}

/* The call's language: initiate.lang.default_short_code when it is one of
 * the available languages (letter case aside), else the first available
 * one of the same language ("en-GB" asked, "en-US" available: RFC 4647's
 * lookup, as a caller from Glasgow is better served in English than in the
 * default), else the first available one (as the reference). */
const char *Ccai_initiate_lang(const json_t *initiate)
{
    const json_t *lang = json_object_get(initiate, "lang");
    const char *def = json_string_value(json_object_get(lang, "default_short_code"));
    const json_t *avail = json_object_get(lang, "availables");
    const char *first = NULL, *same = NULL;
    size_t i;
    const json_t *l;
    json_array_foreach(avail, i, l)
    {
        const char *code = json_string_value(json_object_get(l, "short_code"));
        if (!code)
            continue;
        if (!first)
            first = code;
        if (def && Ccai_strcasecmp(code, def) == 0)
            return code;
        if (def && !same && same_language(code, def))
            same = code;
    }
    if (same)
        return same;
    return first ? first : (def ? def : "en-US");
}

/* A resumed call keeps the initiate it was stored with. */
ccai_status Ccai_initiate_stored(ccai_call *c)
{
    if (!c->resumed)
        return CCAI_OK;
    Ccai_json_err jerr;
    ccai_status st;
    json_t *stored = Ccai_json_load(c->row.initiate_json, strlen(c->row.initiate_json), &jerr, &st);
    if (!stored)
        return st == CCAI_ERR_NOMEM ? st : CCAI_OK;
    json_decref(c->initiate);
    c->initiate = stored;
    return CCAI_OK;
}
