/* What the chat client knows of a model before any request: its settings
 * from the configuration, its URL, the names of finish reasons, the hints a
 * server gives on when to come back, its health; and the request's bytes
 * for it (the body written as text around the conversation's messages).
 * The request's lifecycle is llm/openai.c. */
#include "llm/model.h"

#include "llm/entra.h"
#include "llm/llm.h"

#include "config/config.h"
#include "core/json.h"
#include "io/io.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Models ------------------------------------------------------------------- */

static char *cfg_dup(const ccai_config *cfg, const char *which, const char *key)
{
    char path[64];
    snprintf(path, sizeof path, "llm.%s.%s", which, key);
    const char *v = Ccai_config_str(cfg, path);
    return v && *v ? Ccai_strdup(v) : NULL;
}

static int64_t cfg_int(const ccai_config *cfg, const char *which, const char *key, int64_t def)
{
    char path[64];
    snprintf(path, sizeof path, "llm.%s.%s", which, key);
    return Ccai_config_int(cfg, path, def);
}

ccai_status Ccai_llm_model_from_config(const ccai_config *cfg, const char *which, Ccai_llm_model *m)
{
    memset(m, 0, sizeof *m);
    char path[64];
    snprintf(path, sizeof path, "llm.%s.mode", which);
    const char *mode = Ccai_config_str(cfg, path);
    if (!mode || strcmp(mode, "none") == 0)
        return CCAI_ERR_NOT_FOUND;
    if (strcmp(mode, "openai") == 0)
        m->mode = CCAI_LLM_OPENAI;
    else if (strcmp(mode, "azure_openai") == 0)
        m->mode = CCAI_LLM_AZURE;
    else
        m->mode = CCAI_LLM_COMPATIBLE;
    m->name = Ccai_strdup(which);
    m->endpoint = cfg_dup(cfg, which, "endpoint");
    m->model = cfg_dup(cfg, which, "model");
    m->deployment = cfg_dup(cfg, which, "deployment");
    m->api_key = cfg_dup(cfg, which, "api_key");
    m->api_version = cfg_dup(cfg, which, "api_version");
    if (!m->name || !m->endpoint) {
        Ccai_llm_model_clear(m);
        return CCAI_ERR_NOMEM; /* validation guarantees an endpoint */
    }
    m->context = cfg_int(cfg, which, "context", 128000);
    m->max_tokens = cfg_int(cfg, which, "max_tokens", 160);
    snprintf(path, sizeof path, "llm.%s.temperature", which);
    m->temperature = Ccai_config_double(cfg, path, 0.0);
    m->seed = cfg_int(cfg, which, "seed", 42);
    m->connect_ms = (uint32_t)cfg_int(cfg, which, "timeout_connect_ms", 3000);
    m->first_byte_ms = (uint32_t)cfg_int(cfg, which, "timeout_first_byte_ms", 10000);
    m->idle_ms = (uint32_t)cfg_int(cfg, which, "timeout_idle_ms", 5000);
    m->retries = (int)cfg_int(cfg, which, "retries", 3);
    if (m->retries < 1)
        m->retries = 1;
    /* Azure OpenAI without a key signs in with the environment's identity,
     * as the reference does (auth: auto), or always (auth: entra_id). */
    snprintf(path, sizeof path, "llm.%s.auth", which);
    const char *auth = Ccai_config_str(cfg, path);
    bool entra = m->mode == CCAI_LLM_AZURE && auth &&
                 (strcmp(auth, "entra_id") == 0 || (strcmp(auth, "auto") == 0 && !m->api_key));
    if (entra) {
        snprintf(path, sizeof path, "llm.%s.entra_scope", which);
        const char *scope = Ccai_config_str(cfg, path);
        ccai_free(m->api_key);
        m->api_key = NULL;
        m->entra =
            Ccai_entra_new(scope ? scope : "https://cognitiveservices.azure.com/.default", NULL);
        if (!m->entra) {
            Ccai_llm_model_clear(m);
            return CCAI_ERR_NOMEM;
        }
    }
    m->body_tail[0] = Ccai_llm_body_tail(m, false);
    m->body_tail[1] = Ccai_llm_body_tail(m, true);
    if (!m->body_tail[0] || !m->body_tail[1]) {
        Ccai_llm_model_clear(m);
        return CCAI_ERR_NOMEM;
    }
    return CCAI_OK;
}

void Ccai_llm_model_clear(Ccai_llm_model *m)
{
    ccai_free(m->name);
    ccai_free(m->endpoint);
    ccai_free(m->model);
    ccai_free(m->deployment);
    ccai_free(m->api_key);
    ccai_free(m->api_version);
    ccai_free(m->body_tail[0]);
    ccai_free(m->body_tail[1]);
    Ccai_entra_free(m->entra);
    memset(m, 0, sizeof *m);
}

static CCAI_MUST_CHECK bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

char *Ccai_llm_chat_url(const Ccai_llm_model *m)
{
    const char *ep = m->endpoint;
    size_t n = strlen(ep);
    while (n > 0 && ep[n - 1] == '/')
        n--;
    if (m->mode == CCAI_LLM_AZURE) {
        const char *dep = m->deployment ? m->deployment : m->model ? m->model : "";
        const char *ver = m->api_version ? m->api_version : "2024-10-21";
        if (strstr(ep, "/chat/completions"))
            return Ccai_strdup(ep);
        return Ccai_asprintf("%.*s/openai/deployments/%s/chat/completions?api-version=%s", (int)n,
                             ep, dep, ver);
    }
    if (ends_with(ep, "/chat/completions"))
        return Ccai_strdup(ep);
    return Ccai_asprintf("%.*s/chat/completions", (int)n, ep);
}

const char *Ccai_llm_finish_str(Ccai_llm_finish f)
{
    switch (f) {
    case CCAI_FINISH_NONE: return "none";
    case CCAI_FINISH_STOP: return "stop";
    case CCAI_FINISH_LENGTH: return "length";
    case CCAI_FINISH_TOOL_CALLS: return "tool_calls";
    case CCAI_FINISH_CONTENT_FILTER: return "content_filter";
    case CCAI_FINISH_OTHER: return "other";
    }
    return "other";
}

Ccai_llm_finish Ccai_llm_finish_parse(const char *s)
{
    if (!s)
        return CCAI_FINISH_NONE;
    if (strcmp(s, "stop") == 0)
        return CCAI_FINISH_STOP;
    if (strcmp(s, "length") == 0)
        return CCAI_FINISH_LENGTH;
    if (strcmp(s, "tool_calls") == 0 || strcmp(s, "function_call") == 0)
        return CCAI_FINISH_TOOL_CALLS;
    if (strcmp(s, "content_filter") == 0)
        return CCAI_FINISH_CONTENT_FILTER;
    return CCAI_FINISH_OTHER;
}

int64_t Ccai_llm_retry_after_ms(const char *retry_after, const char *retry_after_ms,
                                int64_t now_wall_ms)
{
    return Ccai_http_retry_after_ms(retry_after, retry_after_ms, now_wall_ms, RETRY_AFTER_MAX_MS);
}

int64_t Ccai_llm_wait_hint_ms(const char *retry_after, const char *retry_after_ms,
                              int64_t now_wall_ms)
{
    return Ccai_http_retry_after_ms(retry_after, retry_after_ms, now_wall_ms,
                                    CCAI_LLM_COOLDOWN_HINT_MAX_MS);
}

int64_t Ccai_llm_duration_ms(const char *s)
{
    if (!s)
        return -1;
    size_t len = strnlen(s, 33);
    if (len == 0 || len > 32)
        return -1;
    /* Thousandths of a millisecond: "0.5ms" and "1.234s" stay exact. */
    int64_t total = 0;
    for (size_t i = 0; i < len;) {
        if (!Ccai_is_digit((unsigned char)s[i]))
            return -1;
        int64_t whole = 0, frac = 0, scale = 1;
        while (i < len && Ccai_is_digit((unsigned char)s[i])) {
            whole = whole * 10 + (s[i++] - '0');
            if (whole > 86400000)
                return -1;
        }
        if (i < len && s[i] == '.') {
            i++;
            if (i >= len || !Ccai_is_digit((unsigned char)s[i]))
                return -1;
            while (i < len && Ccai_is_digit((unsigned char)s[i])) {
                if (scale < 1000000) {
                    frac = frac * 10 + (s[i] - '0');
                    scale *= 10;
                }
                i++;
            }
        }
        int64_t unit; /* ms */
        if (i + 1 < len && s[i] == 'm' && s[i + 1] == 's') {
            unit = 1;
            i += 2;
        } else if (i < len && (s[i] == 'h' || s[i] == 'm' || s[i] == 's')) {
            unit = s[i] == 'h' ? 3600000 : s[i] == 'm' ? 60000 : 1000;
            i++;
        } else {
            return -1;
        }
        total += whole * unit * 1000 + frac * unit * 1000 / scale;
        if (total > INT64_C(86400000) * 1000)
            return -1;
    }
    return (total + 999) / 1000;
}

/* Health ------------------------------------------------------------------- */

bool Ccai_llm_health_ready(const Ccai_llm_health *h, uint64_t now)
{
    return !h || now >= h->until;
}

/* Request bodies ---------------------------------------------------------- */

/* The members of the body after the messages, in the order the requests
 * always had them, as JSON text: ,"model":..,"temperature":..,...} (with
 * the body's closing brace); NULL when out of memory. Written by jansson
 * (numbers as it writes them), once per model and mode. */
char *Ccai_llm_body_tail(const Ccai_llm_model *m, bool json_mode)
{
    json_t *body = json_object();
    if (!body)
        return NULL;
    int bad = 0;
    if (m->mode != CCAI_LLM_AZURE && m->model)
        bad |= json_object_set_new(body, "model", json_string(m->model));
    bad |= json_object_set_new(body, "temperature", json_real(m->temperature));
    bad |= json_object_set_new(body, "seed", json_integer(m->seed));
    bad |= json_object_set_new(body,
                               m->mode == CCAI_LLM_OPENAI ? "max_completion_tokens" : "max_tokens",
                               json_integer(json_mode ? 4096 : m->max_tokens));
    if (json_mode) {
        bad |=
            json_object_set_new(body, "response_format", json_pack("{s:s}", "type", "json_object"));
    } else {
        bad |= json_object_set_new(body, "stream", json_true());
        if (m->mode != CCAI_LLM_COMPATIBLE)
            bad |=
                json_object_set_new(body, "stream_options", json_pack("{s:b}", "include_usage", 1));
    }
    char *text = bad ? NULL : Ccai_json_dump(body, JSON_COMPACT);
    json_decref(body);
    if (text)
        text[0] = ','; /* {"model":..} becomes ,"model":..} */
    return text;
}

/* {"messages": and the array without its closing bracket. */
bool Ccai_llm_body_head(Ccai_buf *out, const char *messages, size_t len)
{
    if (!messages || len < 2 || messages[0] != '[' || messages[len - 1] != ']')
        return false;
    return Ccai_buf_append(out, "{\"messages\":", 12) && Ccai_buf_append(out, messages, len - 1);
}

/* The rest after the head: the end of the messages (with delivered text,
 * when not json_mode, the assistant's words so far and a request to go
 * on), the model's settings, the tools. */
bool Ccai_llm_body_rest(Ccai_buf *out, const Ccai_llm_model *m, bool json_mode, bool no_messages,
                        const char *tools, size_t tools_len, const char *delivered,
                        size_t delivered_len)
{
    static const char cont[] = "Your previous answer was cut off after the text above. "
                               "Continue exactly where it stopped, without repeating it.";
    char *own = NULL;
    const char *tail = m->body_tail[json_mode];
    if (!tail && !(tail = own = Ccai_llm_body_tail(m, json_mode)))
        return false;
    bool ok = true;
    if (delivered_len && !json_mode) {
        /* Continue after what the caller already heard. */
        ok = (no_messages || Ccai_buf_append(out, ",", 1)) &&
             Ccai_buf_puts(out, "{\"role\":\"assistant\",\"content\":") &&
             Ccai_json_put_string(out, delivered, delivered_len) &&
             Ccai_buf_puts(out, "},{\"role\":\"system\",\"content\":") &&
             Ccai_json_put_string(out, cont, sizeof cont - 1) && Ccai_buf_append(out, "}", 1);
    }
    ok = ok && Ccai_buf_append(out, "]", 1);
    /* The tools go before the tail's closing brace. Never "tools": []
     * (rejected by Azure AI Inference: reference bug #399). */
    ok = ok && Ccai_buf_append(out, tail, strlen(tail) - 1);
    if (tools && tools_len > 2)
        ok = ok && Ccai_buf_append(out, ",\"tools\":", 9) &&
             Ccai_buf_append(out, tools, tools_len) &&
             Ccai_buf_puts(out, ",\"tool_choice\":\"auto\"");
    ok = ok && Ccai_buf_append(out, "}", 1);
    ccai_free(own);
    return ok;
}

bool Ccai_llm_request_body(Ccai_buf *out, const Ccai_llm_model *m, bool json_mode,
                           const char *messages, size_t messages_len, const char *tools,
                           size_t tools_len, const char *delivered, size_t delivered_len)
{
    return Ccai_llm_body_head(out, messages, messages_len) &&
           Ccai_llm_body_rest(out, m, json_mode, messages_len == 2, tools, tools_len, delivered,
                              delivered_len);
}
