/* The reference's configuration names (call-center-ai, v9 and latest):
 * each is mapped to a key of ours, or accepted and ignored with the reason
 * said once in a warning. Used by the YAML loader and the environment
 * (LLM__FAST__AZURE_OPENAI__ENDPOINT), so a reference config.yaml and its
 * environment load as they are. docs/migrating.md has the table. */
#include "config/keys.h"

#include <stdio.h>
#include <string.h>

typedef struct alias {
    const char *from;    /* the reference's path; "*" matches one segment */
    const char *to;      /* our path (its "*" takes the matched segment), NULL: ignored */
    const char *why;     /* ignored: why, in the warning */
    Ccai_key_type check; /* ignored: the type its value must have, IGNORED: anything */
} alias;

#define QUEUES_WHY                                                                                \
    "libccai takes Event Grid's events on its webhook (/acs/events) and runs the post-call work " \
    "in its own job table: no Storage queues"
#define STREAMING_WHY "libccai always streams the LLM's answers (sentences said as they come)"

static const alias aliases[] = {
    /* v9: llm.<tier>.mode picks one of these sections (the other is ignored). */
    {"llm.*.azure_openai", "llm.*", NULL, CCAI_KEY_IGNORED},
    {"llm.*.openai", "llm.*", NULL, CCAI_KEY_IGNORED},
    {"llm.*.streaming", NULL, STREAMING_WHY, CCAI_KEY_BOOL},
    {"conversation.voice_recognition_retry_max", "conversation.recognition_retry_max", NULL,
     CCAI_KEY_IGNORED},
    /* The README's older name of the default call. */
    {"conversation.default_initiate", "conversation.initiate", NULL, CCAI_KEY_IGNORED},
    {"conversation.content_safety_for_chat", NULL,
     "libccai's own filter is guardrails.* (the provider's content filter stays as deployed)",
     CCAI_KEY_BOOL},
    {"communication_services.call_queue_name", NULL, QUEUES_WHY, CCAI_KEY_STRING},
    {"communication_services.post_queue_name", NULL, QUEUES_WHY, CCAI_KEY_STRING},
    {"communication_services.sms_queue_name", NULL, QUEUES_WHY, CCAI_KEY_STRING},
    {"communication_services.trainings_queue_name", NULL, QUEUES_WHY, CCAI_KEY_STRING},
    /* The AI services resource ACS speaks and listens with. */
    {"cognitive_service.endpoint", "communication_services.cognitive_services_endpoint", NULL,
     CCAI_KEY_IGNORED},
    {"cognitive_service.region", NULL,
     "libccai's own Azure speech takes speech.stt.azure.region / speech.tts.azure.region (with "
     "a key)",
     CCAI_KEY_STRING},
    {"cognitive_service.resource_id", NULL,
     "libccai authenticates to Azure speech with a key, not with the resource's identity",
     CCAI_KEY_STRING},
    /* v9's SQLite database: what ccai-cli import reads. */
    {"database.sqlite.database", "reference.sqlite.database", NULL, CCAI_KEY_IGNORED},
    {"database.sqlite.table", "reference.sqlite.table", NULL, CCAI_KEY_IGNORED},
    {"database.sqlite.schema_version", "reference.sqlite.schema_version", NULL, CCAI_KEY_IGNORED},
};

/* @pat matched against @path segment by segment ("*" is any one segment);
 * true when @pat covers the first segments of @path, *rest then points
 * past them ("" or ".more"), *star at the segment "*" took (len *star_len). */
static CCAI_MUST_CHECK bool match(const char *pat, const char *path, const char **rest,
                                  const char **star, size_t *star_len)
{
    *star = NULL;
    *star_len = 0;
    for (;;) {
        const char *pe = strchr(pat, '.');
        size_t pl = pe ? (size_t)(pe - pat) : strlen(pat);
        const char *se = strchr(path, '.');
        size_t sl = se ? (size_t)(se - path) : strlen(path);
        if (pl == 1 && pat[0] == '*') {
            if (sl == 0)
                return false;
            *star = path;
            *star_len = sl;
        } else if (pl != sl || memcmp(pat, path, pl) != 0) {
            return false;
        }
        if (!pe) {
            *rest = path + sl;
            return true;
        }
        if (!se)
            return false;
        pat = pe + 1;
        path = se + 1;
    }
}

bool Ccai_key_alias_is_section(const char *path)
{
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(aliases); i++) {
        const char *pat = aliases[i].from, *p = path;
        for (;;) {
            const char *pe = strchr(pat, '.'), *se = strchr(p, '.');
            size_t pl = pe ? (size_t)(pe - pat) : strlen(pat);
            size_t sl = se ? (size_t)(se - p) : strlen(p);
            if (sl == 0 || (!(pl == 1 && pat[0] == '*') && (pl != sl || memcmp(pat, p, pl) != 0)))
                break;
            if (!se) {
                if (pe)
                    return true;
                break;
            }
            if (!pe)
                break;
            pat = pe + 1;
            p = se + 1;
        }
    }
    return false;
}

static Ccai_alias_kind alias_once(const char *path, char *out, size_t outlen, const char **why,
                                  Ccai_key_type *check)
{
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(aliases); i++) {
        const alias *a = &aliases[i];
        const char *rest, *star;
        size_t star_len;
        if (!match(a->from, path, &rest, &star, &star_len))
            continue;
        if (!a->to) {
            if (*rest) /* under an ignored key: that key is what is reported */
                continue;
            *why = a->why;
            *check = a->check;
            return CCAI_ALIAS_IGNORED;
        }
        Ccai_buf b = {0};
        bool ok = true;
        for (const char *t = a->to; *t && ok; t++)
            ok = *t == '*' ? Ccai_buf_append(&b, star, star_len) : Ccai_buf_append(&b, t, 1);
        ok = ok && Ccai_buf_printf(&b, "%s", rest);
        bool fits = ok && b.len < outlen;
        if (fits)
            memcpy(out, b.data, b.len + 1);
        Ccai_buf_free(&b);
        if (!fits)
            return CCAI_ALIAS_NONE;
        return CCAI_ALIAS_MAPPED;
    }
    return CCAI_ALIAS_NONE;
}

Ccai_alias_kind Ccai_key_alias(const char *path, char *out, size_t outlen, const char **why,
                               Ccai_key_type *check)
{
    /* A name under a renamed section may be a reference name again
     * (llm.fast.azure_openai.streaming -> llm.fast.streaming: ignored). */
    char cur[CCAI_KEY_PATH_MAX];
    Ccai_alias_kind kind = alias_once(path, out, outlen, why, check);
    for (int hops = 0; kind == CCAI_ALIAS_MAPPED && hops < 3; hops++) {
        if (Ccai_key_find(out) || Ccai_key_is_section(out) || strlen(out) >= sizeof cur)
            return kind;
        memcpy(cur, out, strlen(out) + 1);
        Ccai_alias_kind next = alias_once(cur, out, outlen, why, check);
        if (next == CCAI_ALIAS_NONE) {
            memcpy(out, cur, strlen(cur) + 1);
            return kind;
        }
        kind = next;
    }
    return kind;
}

const char *Ccai_key_value_alias(const char *path, const char *value)
{
    if (strcmp(path, "database.mode") == 0 && strcmp(value, "cosmos_db") == 0)
        return "Cosmos DB is not supported: calls are kept in database.sqlite.path; bring the "
               "reference's calls over with ccai-cli import";
    return NULL;
}
