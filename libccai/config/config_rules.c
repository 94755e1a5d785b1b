/* ccai_config_validate(): the rules that span keys (an LLM mode needs its
 * endpoint, ...) and the keys required. ccai_ctx_new() runs it too. */
#include "config/config_impl.h"

#include "core/hostport.h"

#include <stdio.h>
#include <string.h>

static CCAI_MUST_CHECK bool has_text(const ccai_config *cfg, const char *key)
{
    const char *s = Ccai_config_str(cfg, key);
    return s && *s;
}

static CCAI_MUST_CHECK bool is_e164(const char *s)
{
    if (*s++ != '+')
        return false;
    size_t n = 0;
    for (; Ccai_is_digit((unsigned char)*s); s++)
        n++;
    return !*s && n >= 6 && n <= 15;
}

static void require(const ccai_config *cfg, Ccai_cfg_errlist *el, const char *key, const char *why)
{
    if (!has_text(cfg, key))
        Ccai_cfg_errlist_add(el, key, 0, 0, "required %s", why);
}

CCAI_EXPORT ccai_status ccai_config_validate(ccai_config *cfg)
{
    if (!cfg)
        return CCAI_ERR_INVALID_ARG;
    Ccai_cfg_clear_errors(cfg);
    /* Collect mode: the errors of the documents loaded come first. */
    Ccai_cfg_errlist el;
    Ccai_cfg_take_pending(cfg, &el);
    size_t loaded = el.n;
    char key[CCAI_KEY_PATH_MAX], why[96];

    static const char *const tiers[] = {"fast", "slow"};
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(tiers); i++) {
        snprintf(key, sizeof key, "llm.%s.mode", tiers[i]);
        const char *mode = Ccai_config_str(cfg, key);
        if (!mode || strcmp(mode, "none") == 0)
            continue;
        snprintf(why, sizeof why, "when llm.%s.mode is %s", tiers[i], mode);
        snprintf(key, sizeof key, "llm.%s.endpoint", tiers[i]);
        require(cfg, &el, key, why);
        if (strcmp(mode, "azure_openai") != 0)
            continue;
        char model[CCAI_KEY_PATH_MAX];
        snprintf(key, sizeof key, "llm.%s.deployment", tiers[i]);
        snprintf(model, sizeof model, "llm.%s.model", tiers[i]);
        if (!has_text(cfg, key) && !has_text(cfg, model))
            Ccai_cfg_errlist_add(&el, key, 0, 0, "required (or %s) %s", model, why);
    }
    /* Entra ID tokens are Azure's; a key asked for must be there. */
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(tiers); i++) {
        snprintf(key, sizeof key, "llm.%s.mode", tiers[i]);
        const char *mode = Ccai_config_str(cfg, key);
        snprintf(key, sizeof key, "llm.%s.auth", tiers[i]);
        const char *auth = Ccai_config_str(cfg, key);
        if (!mode || !auth || strcmp(mode, "none") == 0)
            continue;
        if (strcmp(auth, "entra_id") == 0 && strcmp(mode, "azure_openai") != 0)
            Ccai_cfg_errlist_add(&el, key, 0, 0,
                                 "entra_id needs llm.%s.mode azure_openai (it is %s)", tiers[i],
                                 mode);
        snprintf(why, sizeof why, "when llm.%s.auth is api_key", tiers[i]);
        snprintf(key, sizeof key, "llm.%s.api_key", tiers[i]);
        if (strcmp(auth, "api_key") == 0)
            require(cfg, &el, key, why);
    }

    /* The documents search: its embeddings endpoint, its chunking, its cache. */
    const char *emb = Ccai_config_str(cfg, "documents.embeddings.mode");
    if (emb && strcmp(emb, "none") != 0 && !has_text(cfg, "documents.embeddings.endpoint") &&
        !has_text(cfg, "llm.fast.endpoint"))
        Ccai_cfg_errlist_add(&el, "documents.embeddings.endpoint", 0, 0,
                             "required (or llm.fast.endpoint) when documents.embeddings.mode "
                             "is %s",
                             emb);
    if (Ccai_config_int(cfg, "documents.chunk_overlap_chars", 0) * 2 >=
        Ccai_config_int(cfg, "documents.chunk_max_chars", 1500))
        Ccai_cfg_errlist_add(&el, "documents.chunk_overlap_chars", 0, 0,
                             "must be less than half of documents.chunk_max_chars");
    const char *cache = Ccai_config_str(cfg, "cache.mode");
    if (cache && strcmp(cache, "redis") == 0 && Ccai_config_bool(cfg, "cache.redis.ssl", false))
        Ccai_cfg_errlist_add(&el, "cache.redis.ssl", 0, 0,
                             "TLS to Redis is not supported by this build (hiredis 0.14): "
                             "reach Redis on a trusted network, or through a TLS tunnel");

    const char *sms = Ccai_config_str(cfg, "sms.mode");
    if (sms && strcmp(sms, "twilio") == 0) {
        static const char *const parts[] = {"account_sid", "auth_token", "phone_number"};
        bool own = true, shared = true;
        for (size_t i = 0; i < CCAI_ARRAY_SIZE(parts); i++) {
            snprintf(key, sizeof key, "sms.twilio.%s", parts[i]);
            own = own && has_text(cfg, key);
            snprintf(key, sizeof key, "twilio.%s", parts[i]);
            shared = shared && has_text(cfg, key);
        }
        if (!own && !shared)
            Ccai_cfg_errlist_add(
                &el, "sms.twilio", 0, 0,
                "sms.mode twilio needs account_sid, auth_token and phone_number under "
                "sms.twilio or twilio");
    } else if (sms && strcmp(sms, "communication_services") == 0) {
        require(cfg, &el, "communication_services.endpoint",
                "when sms.mode is communication_services");
        require(cfg, &el, "communication_services.access_key",
                "when sms.mode is communication_services");
        require(cfg, &el, "communication_services.phone_number",
                "when sms.mode is communication_services");
    } else if (sms && strcmp(sms, "host") == 0 && !cfg->sms_ops.version) {
        Ccai_cfg_errlist_add(&el, "sms.mode", 0, 0,
                             "sms.mode host needs the host's sender: ccai_config_set_sms_ops()");
    }

    const json_t *lang = Ccai_config_json(cfg, "conversation.initiate.lang");
    const char *def = json_string_value(json_object_get(lang, "default_short_code"));
    const json_t *avail = json_object_get(lang, "availables");
    bool found = false;
    size_t i;
    json_t *e;
    Ccai_buf codes = {0};
    json_array_foreach(avail, i, e)
    {
        const char *code = json_string_value(json_object_get(e, "short_code"));
        found = found || (def && code && strcmp(def, code) == 0);
        if (code && !Ccai_buf_printf(&codes, "%s%s", i ? ", " : "", code))
            el.nomem = true;
    }
    if (!found)
        Ccai_cfg_errlist_add(&el, "conversation.initiate.lang.default_short_code", 0, 0,
                             "\"%s\" is not one of the availables (%s)", def ? def : "",
                             codes.data ? codes.data : "none");
    Ccai_buf_free(&codes);

    static const char *const phones[] = {"conversation.initiate.agent_phone_number",
                                         "communication_services.phone_number",
                                         "sms.twilio.phone_number", "twilio.phone_number"};
    for (i = 0; i < CCAI_ARRAY_SIZE(phones); i++) {
        const char *s = Ccai_config_str(cfg, phones[i]);
        if (s && *s && !is_e164(s)) {
            char q[80];
            Ccai_quote(s, strlen(s), q, sizeof q);
            Ccai_cfg_errlist_add(&el, phones[i], 0, 0,
                                 "expected an E.164 phone number (+ and 6 to 15 digits), got %s",
                                 q);
        }
    }

    require(cfg, &el, "database.sqlite.path", "(the SQLite database file)");
    const char *db_mode = Ccai_config_str(cfg, "database.mode");
    if (db_mode && strcmp(db_mode, "postgresql") == 0)
        require(cfg, &el, "database.postgresql.dsn",
                "with database.mode postgresql (set DATABASE__POSTGRESQL__DSN)");

    /* Without a token the API trusts this machine: it must not listen on
     * others, and a token that is there but empty is a mistake. */
    const char *token = Ccai_config_str(cfg, "server.api_token");
    bool blank = token != NULL;
    for (const char *t = token; t && *t && blank; t++)
        blank = Ccai_is_space((unsigned char)*t);
    if (blank)
        Ccai_cfg_errlist_add(&el, "server.api_token", 0, 0,
                             "is empty: set a token, or leave server.api_token unset (no "
                             "SERVER__API_TOKEN at all) to serve this machine only");
    const char *listen = Ccai_config_str(cfg, "server.listen");
    char host[CCAI_HOST_MAX + 1];
    if (listen) {
        char q[80];
        Ccai_quote(listen, strlen(listen), q, sizeof q);
        const char *colon = strrchr(listen, ':');
        if (!colon || colon == listen || (listen[0] == '[' && colon[-1] != ']') ||
            !Ccai_hostport_host(listen, strlen(listen), host))
            Ccai_cfg_errlist_add(&el, "server.listen", 0, 0,
                                 "expected HOST:PORT (127.0.0.1:8080, [::1]:8080), got %s", q);
        else if (!token && !Ccai_host_is_loopback(host))
            Ccai_cfg_errlist_add(
                &el, "server.listen", 0, 0,
                "%s is not a loopback address and server.api_token is not set: without a "
                "token the API trusts every client of the address it listens on; set "
                "SERVER__API_TOKEN, or listen on 127.0.0.1",
                q);
    }

    int64_t soft = Ccai_config_int(cfg, "conversation.answer_soft_timeout_sec", 0);
    int64_t hard = Ccai_config_int(cfg, "conversation.answer_hard_timeout_sec", 0);
    if (soft >= hard)
        Ccai_cfg_errlist_add(
            &el, "conversation.answer_soft_timeout_sec", 0, 0,
            "must be less than conversation.answer_hard_timeout_sec (%lld >= %lld)",
            (long long)soft, (long long)hard);

    /* A key with an error in a document is not blamed twice. */
    size_t o = loaded;
    for (size_t j = loaded; j < el.n; j++) {
        bool dup = false;
        for (size_t l = 0; l < loaded && !dup; l++)
            dup = strcmp(el.v[l].key, el.v[j].key) == 0;
        if (dup) {
            ccai_free(el.v[j].src);
            ccai_free(el.v[j].key);
            ccai_free(el.v[j].msg);
        } else {
            el.v[o++] = el.v[j];
        }
    }
    el.n = o;
    bool collect = cfg->collect;
    cfg->collect = false;
    ccai_status st = Ccai_cfg_finish(cfg, &el, "<config>", CCAI_ERR_CONFIG, NULL);
    cfg->collect = collect;
    return st;
}
