/* A local OpenAI-compatible chat-completions server for tests and
 * benchmarks: OpenAI, Azure OpenAI and Ollama-style streams, scripted
 * replies and faults, and a log of every request the client sent.
 *
 * Lifecycle:
 *   1. standin_start() binds 127.0.0.1 and runs one event-loop thread.
 *   2. The test pushes response specs (standin_push / standin_push_json);
 *      each valid chat request takes the oldest one. With none queued, the
 *      reply is "You said: <last user message>." streamed word by word.
 *   3. The test drives it with any HTTP client and reads the request log.
 *   4. standin_stop() closes every connection, joins the thread, frees all.
 *
 * Routes: POST /v1/chat/completions (and /chat/completions), Bearer checked
 * when opts.key is set; POST /openai/deployments/{d}/chat/completions?api-version=..
 * (api-key or Bearer required, 400 without api-version); GET /v1/models;
 * anything else 404. Bodies are validated (JSON object, non-empty messages
 * with roles, non-empty tools, boolean stream, stream_options only with
 * stream) before a spec is taken, so 401/400 never consume one. Requests need
 * Content-Length (Expect: 100-continue is honoured; chunked uploads get 400).
 *
 * Context: every function may be called from any thread while the server
 * runs, except standin_stop (once, not concurrently with the others).
 * Ownership: inputs are copied; char * results are malloc'd, free() them.
 * Not part of libccai: plain C11 + POSIX + jansson, no ccai allocator. */
#ifndef CCAI_TEST_LLM_STANDIN_H
#define CCAI_TEST_LLM_STANDIN_H

#include <stddef.h>
#include <stdint.h>

typedef struct standin standin;

typedef struct standin_opts {
    int port;          /* 0 = ephemeral */
    const char *key;   /* NULL = OpenAI path accepts any auth; Azure still needs a key header */
    const char *model; /* listed by GET /v1/models, used when nothing names one;
                          NULL = "standin-model" */
    int ttft_ms;       /* default time to first token */
    int chunk_ms;      /* default delay between chunks */
    int cycle;         /* nonzero: queued specs are reused round-robin, never consumed */
    int no_record;     /* nonzero: count requests but keep no copies (long benchmarks) */
} standin_opts;

typedef enum standin_kind {
    STANDIN_AUTO = 0,   /* content (if any), then tool calls (if any) */
    STANDIN_TEXT,       /* content only; tool_calls ignored */
    STANDIN_TOOL_CALLS, /* tool calls, optional content before them */
    STANDIN_MIXED       /* same as AUTO, named for readability */
} standin_kind;

typedef enum standin_error_style {
    STANDIN_ERROR_DATA = 0, /* data: {"error":{...}} then data: [DONE] (vLLM) */
    STANDIN_ERROR_FIELD     /* error: {"code":..,"message":..,"type":..} then data: [DONE]
                               (llama.cpp) */
} standin_error_style;

typedef struct standin_tool_call {
    const char *id;                /* NULL = "call_<k>" */
    const char *name;              /* NULL = "tool" */
    const char *arguments;         /* JSON text sent as a string; NULL = "{}" */
    const char *const *arg_chunks; /* explicit argument fragments (override arguments) */
    size_t n_arg_chunks;
    int arg_pieces; /* else split arguments into this many deltas; 0 = 3 */
} standin_tool_call;

/* Stream events ("chunks") are counted from 1 over everything written as
 * an SSE event: Azure annotation, role chunk, content, tool calls, finish,
 * usage, [DONE]. Fault fields equal to 0 are off. */
typedef struct standin_spec {
    standin_kind kind;
    const char *content;       /* assistant text */
    const char *const *chunks; /* explicit content pieces (override content) */
    size_t n_chunks;
    int chunk_bytes; /* else split content into pieces of this many bytes (UTF-8 safe);
                        0 = one word per piece, leading space attached */
    const standin_tool_call *tool_calls;
    size_t n_tool_calls;
    int empty_ids;                 /* argument deltas carry "id":"" */
    const char *finish_reason;     /* NULL = "tool_calls" if tool calls, else "stop" */
    const char *model;             /* NULL = request model, else deployment, else opts.model */
    int azure;                     /* annotation chunk first, content_filter_results on choices;
                                      JSON keys sorted like Azure does */
    int azure_trailing_annotation; /* annotation-only chunk after the finish chunk */
    /* Azure's prompt shield on a jailbreak: 1 annotate mode (azure: the
     * first chunk's prompt_filter_results say "jailbreak": {"filtered":
     * false, "detected": true}, the answer streams); 2 blocking mode (a
     * 400 whose body is Azure's content_filter refusal, innererror's
     * content_filter_result with "jailbreak": {"filtered": true,
     * "detected": true}; status 400 unless set). */
    int prompt_jailbreak;
    int include_usage; /* usage chunk (also when the request asks for it) */
    int ollama;        /* all tool calls whole in one chunk, no index; role on every delta */

    /* Timing in ms; < 0 = the server default (0, opts.ttft_ms, opts.chunk_ms).
     * Initialise with STANDIN_SPEC_INIT to get the defaults. */
    int header_delay_ms;
    int ttft_ms; /* before the role chunk; the first content follows it at once */
    int chunk_ms;

    /* HTTP-level faults. */
    int status;                /* 0 or 200 = normal reply; else an error reply */
    const char *body;          /* error body; NULL = OpenAI-style (Azure-style if azure) */
    const char *extra_headers; /* "Name: value" lines separated by \n, on any reply */
    int retry_after;           /* > 0: retry-after: <n> */
    int retry_after_ms;        /* > 0: retry-after-ms: <n> */
    /* A 429 carries what the service sends with it: OpenAI's error body
     * (type "requests", code "rate_limit_exceeded", "try again in <n>s")
     * and x-ratelimit-limit/remaining/reset-requests|tokens (requests
     * exhausted, reset after retry_after or 1 s); Azure's body (code
     * "429", "retry after <n> seconds"), retry-after-ms from retry_after
     * when not given, x-ratelimit-remaining-requests|tokens: 0. */
    int drop; /* close the connection without any response */

    /* Stream faults. */
    int stall_after; /* after this many events, pause stall_ms */
    int stall_ms;
    int stall_close;            /* after the stall close instead of continuing */
    int cut_after;              /* close after this many events, no terminating chunk */
    int malformed_chunk;        /* event k carries malformed_data instead of its JSON */
    const char *malformed_data; /* NULL = the event's JSON cut in half */
    int error_after;            /* after this many events, an error event, then end */
    standin_error_style error_style;
    const char *error_message; /* NULL = "standin stream error" */
    const char *error_type;    /* NULL = "server_error" */
    int error_code;            /* data style: 0 = null; field style: 0 = 500 */
    int no_done;               /* omit data: [DONE] */
    int split_events;          /* write each event as two HTTP chunks 2 ms apart */
} standin_spec;

#define STANDIN_SPEC_INIT                                    \
    {                                                        \
        .header_delay_ms = -1, .ttft_ms = -1, .chunk_ms = -1 \
    }

typedef struct standin_stats {
    int connections;        /* accepted so far */
    int active_streams;     /* SSE responses in progress now */
    int max_active_streams; /* high-water mark */
} standin_stats;

/* NULL on failure (bind, threads). opts may be NULL. */
standin *standin_start(const standin_opts *opts);
int standin_port(standin *h);
/* Queue a reply for the next valid chat request; the spec is deep-copied. */
void standin_push(standin *h, const standin_spec *spec);
/* Same from a JSON object whose keys are the field names above, with:
 * "kind":"text"|"tool_calls"|"mixed", "chunks":[..], "tool_calls":[{"id","name",
 * "arguments","arg_chunks":[..],"arg_pieces"}], "headers":{"Name":"value"} (for
 * extra_headers), "stream_error":{"after","style":"data"|"field","message","type",
 * "code"} (for error_*). Unknown keys are rejected. Returns 0, or -1 if invalid. */
int standin_push_json(standin *h, const char *json);
/* Specs still queued (in cycle mode: the script length). */
int standin_pending(standin *h);

/* Request log, in arrival order; every request is logged, valid or not.
 * Out-of-range i gives NULL. */
int standin_request_count(standin *h);
char *standin_request_method(standin *h, int i);
char *standin_request_path(standin *h, int i); /* target as sent, with query */
char *standin_request_body(standin *h, int i); /* NUL-terminated copy */
/* First header with that name (case-insensitive), NULL if absent. */
char *standin_request_header(standin *h, int i, const char *name);
/* Azure deployment from the path, NULL for other routes. */
char *standin_request_deployment(standin *h, int i);

/* Per-request timing, CLOCK_MONOTONIC nanoseconds (the clock of
 * clock_gettime(CLOCK_MONOTONIC), so comparable with any thread or process of
 * the machine), indexed like the request log and kept with opts.no_record too.
 * 0 = did not happen (yet) or i out of range.
 * received: the last byte of the request was read from the socket;
 * first_token_sent / last_token_sent: the first / last content piece of the
 * answer (a content event of a stream, or a whole non-streamed body) was
 * handed to the kernel in full. */
uint64_t standin_request_received_ns(standin *h, int i);
uint64_t standin_first_token_sent_ns(standin *h, int i);
uint64_t standin_last_token_sent_ns(standin *h, int i);

typedef struct standin_timing {
    uint64_t received_ns, first_token_ns, last_token_ns;
} standin_timing;

/* Copies the timings of requests [first, first + max) into out; returns how
 * many were copied. */
size_t standin_timings(standin *h, size_t first, standin_timing *out, size_t max);

void standin_get_stats(standin *h, standin_stats *out);
/* NULL is fine. */
void standin_stop(standin *h);

#endif
