/* Chat completions against OpenAI, Azure OpenAI and OpenAI-compatible
 * servers (Ollama, vLLM, llama.cpp): streamed, with retries, backoff that
 * honours Retry-After, and fail-over from one model to the other.
 *
 * A model that failed cools down (Ccai_llm_health, kept by the owner of
 * the models across requests): while it does, requests go to the other
 * model, and a model told to wait longer than the request can afford
 * (Retry-After beyond the budget) hands over to the other one at once.
 *
 * A retry after text was already delivered asks the model to continue from
 * what was said, and drops any repeat of it, so the caller never hears the
 * same words twice. */
#ifndef CCAI_LLM_LLM_H
#define CCAI_LLM_LLM_H

#include "core/common.h"
#include "llm/toolcalls.h"

#include <jansson.h>

typedef enum Ccai_llm_mode {
    CCAI_LLM_NONE = 0,
    CCAI_LLM_OPENAI,
    CCAI_LLM_AZURE,
    CCAI_LLM_COMPATIBLE
} Ccai_llm_mode;

typedef struct Ccai_llm_model {
    char *name; /* "fast", "slow" */
    Ccai_llm_mode mode;
    char *endpoint;
    char *model;
    char *deployment;
    char *api_key;
    char *api_version;
    int64_t context;
    int64_t max_tokens;
    double temperature;
    int64_t seed;
    uint32_t connect_ms, first_byte_ms, idle_ms;
    int retries; /* attempts on this model before failing over */
    /* The request body after the messages ([0] streamed, [1] json_mode),
     * written once by Ccai_llm_model_from_config (NULL: per request). */
    char *body_tail[2];
    /* Azure OpenAI signed in with Entra ID (llm.<tier>.auth): the token
     * cache, mutable behind the const model; NULL with an api_key. */
    struct Ccai_entra *entra;
} Ccai_llm_model;

/* Read llm.<which>.* ("fast" or "slow"). mode none gives CCAI_ERR_NOT_FOUND. */
CCAI_MUST_CHECK ccai_status Ccai_llm_model_from_config(const ccai_config *cfg, const char *which,
                                                       Ccai_llm_model *out);
void Ccai_llm_model_clear(Ccai_llm_model *m);
/* The chat completions URL of a model; freed with ccai_free(). */
char *Ccai_llm_chat_url(const Ccai_llm_model *m);

typedef enum Ccai_llm_finish {
    CCAI_FINISH_NONE = 0,
    CCAI_FINISH_STOP,
    CCAI_FINISH_LENGTH,
    CCAI_FINISH_TOOL_CALLS,
    CCAI_FINISH_CONTENT_FILTER,
    CCAI_FINISH_OTHER
} Ccai_llm_finish;

const char *Ccai_llm_finish_str(Ccai_llm_finish f);

typedef struct Ccai_llm_result {
    Ccai_llm_finish finish;
    /* Azure's prompt shield saw a jailbreak in the prompt: the stream's
     * prompt_filter_results (annotate mode: the answer came anyway) or the
     * 400 content_filter refusal's verdict (finish is then content_filter). */
    bool jailbreak;
    Ccai_tool_calls *calls; /* assembled tool calls (finished) */
    const char *text;       /* all the text delivered, for non-streamed use */
    const char *model_name; /* which model answered: "fast" / "slow" */
    const char *model;      /* its llm.<tier>.model (Azure: the deployment), or "" */
    int attempts;           /* HTTP requests made */
    int64_t prompt_tokens;  /* -1 when the server did not say */
    int64_t completion_tokens;
    uint64_t first_token_ms; /* from start to the first text or tool delta */
    uint64_t total_ms;
} Ccai_llm_result;

typedef struct Ccai_llm_callbacks {
    /* A piece of the answer's text. Non-zero is Ccai_llm_cancel(). */
    int (*on_text)(const char *text, size_t len, void *ud);
    /* Informational: a retry or a fail-over is about to happen. */
    void (*on_retry)(const char *model_name, int attempt, const char *reason, uint64_t delay_ms,
                     void *ud);
    /* Exactly once, unless cancelled: CCAI_OK with the result, or the last
     * error when every attempt on every model failed. res is borrowed. */
    void (*on_done)(ccai_status st, const Ccai_llm_result *res, const char *errmsg, void *ud);
} Ccai_llm_callbacks;

/* Cool-down after a model failed without saying how long to wait: this,
 * doubled for each failure in a row, up to the maximum. */
#define CCAI_LLM_COOLDOWN_MS     30000u
#define CCAI_LLM_COOLDOWN_MAX_MS 300000u
/* Longest wait a server may ask for that is honoured as a cool-down
 * (quota exhausted: "retry-after: 3600"). */
#define CCAI_LLM_COOLDOWN_HINT_MAX_MS 3600000u

/* What a model's last answers say about it. Zero-initialised: healthy. */
typedef struct Ccai_llm_health {
    uint64_t until;    /* Ccai_ctx_now() before which the model is not asked */
    unsigned failures; /* requests in a row it failed */
} Ccai_llm_health;

/* May the model be asked at @p now (Ccai_ctx_now())? NULL: yes. */
CCAI_MUST_CHECK bool Ccai_llm_health_ready(const Ccai_llm_health *h, uint64_t now);

typedef struct Ccai_llm_opts {
    /* The OpenAI message array: a tree (written as JSON once), or the same
     * as compact JSON text, taken (freed by the request, also when
     * Ccai_llm_chat fails). One of the two. */
    const json_t *messages;
    char *messages_json;
    /* The function tool array, NULL or empty for none: a tree, or the
     * same as compact JSON text, borrowed (it must outlive the request). */
    const json_t *tools;
    const char *tools_json;
    /* Optional, with messages_json: the same messages again (compact JSON
     * text, taken; NULL when out of memory), for a retry. With it, the
     * request keeps no copy of them once they went out (most of a
     * request's bytes, for as long as its answer streams). Called from
     * the loop, never from inside Ccai_llm_chat(). */
    char *(*messages_again)(void *ud);
    bool json_mode;                  /* response_format json_object, not streamed */
    const Ccai_llm_model *models[2]; /* primary, then fallback (may be NULL) */
    /* The models' health (NULL: not tracked), read to skip a model that
     * cools down (unless none is ready) and updated with what each
     * request learns. Must outlive the request. */
    Ccai_llm_health *health[2];
    uint32_t budget_ms;      /* no new attempt starts after this; 0 = none */
    uint32_t max_backoff_ms; /* 0 = 8000 */
} Ccai_llm_opts;

typedef struct Ccai_llm_call Ccai_llm_call;

/* Start. A start that fails fires no callback. */
CCAI_MUST_CHECK ccai_status Ccai_llm_chat(ccai_ctx *ctx, const Ccai_llm_opts *opts,
                                          const Ccai_llm_callbacks *cb, void *ud,
                                          Ccai_llm_call **ret);

/* Stop: no callback fires afterwards. Safe inside the call's callbacks. */
void Ccai_llm_cancel(Ccai_llm_call *call);

/* Append the request body to out: {"messages": messages (a JSON array;
 * with delivered text, when not json_mode, the assistant's words so far and
 * a request to go on), the model's settings, "tools": tools when the array
 * is not empty}. false when out of memory or when messages is no array.
 * Exposed for tests. */
bool Ccai_llm_request_body(Ccai_buf *out, const Ccai_llm_model *m, bool json_mode,
                           const char *messages, size_t messages_len, const char *tools,
                           size_t tools_len, const char *delivered, size_t delivered_len);

/* Retry-After (seconds or HTTP date) / retry-after-ms, in ms; -1 if none or
 * unusable. Exposed for tests. */
int64_t Ccai_llm_retry_after_ms(const char *retry_after, const char *retry_after_ms,
                                int64_t now_wall_ms);
/* The same for waits too long to retry after (up to
 * CCAI_LLM_COOLDOWN_HINT_MAX_MS): how long the server asks not to be
 * called, for a cool-down. */
int64_t Ccai_llm_wait_hint_ms(const char *retry_after, const char *retry_after_ms,
                              int64_t now_wall_ms);

/* OpenAI's rate-limit reset durations ("1s", "6m0s", "12ms", "1.5s",
 * "1h2m"): milliseconds, -1 when malformed, longer than 32 bytes or than a
 * day. Exposed for tests and fuzzing. */
int64_t Ccai_llm_duration_ms(const char *s);

#endif
