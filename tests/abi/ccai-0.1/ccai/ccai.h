/*
 * libccai — an AI phone agent as a C library.
 *
 * This header is the contract. It includes only <stddef.h>, <stdint.h> and
 * <stdarg.h>, compiles as C99 -pedantic, C11 and C++, and never exposes a
 * type of a dependency (curl, jansson, yaml, sqlite, OpenSSL, libevent).
 *
 * Conventions (docs/api.md has the long form):
 * - Every function returns a ccai_status or a borrowed pointer. Outputs come
 *   last and are left untouched on failure.
 * - Inputs are copied. Returned `const char *` are borrowed; each doc comment
 *   says until when. Memory handed to the caller comes back through
 *   `char **ret_x` and is released with ccai_free().
 * - Everything about one ccai_ctx happens on the thread that drives it.
 * - A call that returns an error fires no callback for that operation.
 */
#ifndef CCAI_CCAI_H
#define CCAI_CCAI_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CCAI_BUILDING_LIBRARY) && defined(__GNUC__)
#define CCAI_EXPORT __attribute__((visibility("default")))
#else
#define CCAI_EXPORT
#endif

#if defined(__GNUC__)
#define CCAI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CCAI_PRINTF(fmt, args)
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                  */
/* ------------------------------------------------------------------------ */

#define CCAI_VERSION_MAJOR  0
#define CCAI_VERSION_MINOR  1
#define CCAI_VERSION_PATCH  0
#define CCAI_VERSION_STRING "0.1.0"
/** Compile-time version as one number: 0xMMmmpp. */
#define CCAI_VERSION_NUM \
    ((CCAI_VERSION_MAJOR << 16) | (CCAI_VERSION_MINOR << 8) | CCAI_VERSION_PATCH)

/**
 * Run-time version of the loaded library, as "MAJOR.MINOR.PATCH".
 * Ownership: static string. Context: any thread. @since 0.1
 */
CCAI_EXPORT const char *ccai_version(void);

/**
 * Run-time version as CCAI_VERSION_NUM would spell it.
 * Context: any thread. @since 0.1
 */
CCAI_EXPORT unsigned ccai_version_num(void);

/**
 * The monotonic clock libccai uses for every timer, in milliseconds. Hosts
 * and adapters use it to keep deadlines in the same time base.
 * Context: any thread. @since 0.1
 */
CCAI_EXPORT uint64_t ccai_time_ms(void);

/* ------------------------------------------------------------------------ */
/* Status codes (append-only)                                               */
/* ------------------------------------------------------------------------ */

typedef enum ccai_status {
    CCAI_OK = 0,
    CCAI_ERR_NOMEM = 1,        /**< an allocation failed */
    CCAI_ERR_INVALID_ARG = 2,  /**< a public argument was NULL or out of range */
    CCAI_ERR_STATE = 3,        /**< not allowed in the object's current state */
    CCAI_ERR_CONFIG = 4,       /**< invalid configuration (errors listed on the handle) */
    CCAI_ERR_IO = 5,           /**< file or socket error */
    CCAI_ERR_PARSE = 6,        /**< malformed input (YAML, JSON, ...) */
    CCAI_ERR_VALIDATION = 7,   /**< a value does not fit its declared type */
    CCAI_ERR_NOT_FOUND = 8,    /**< no such call, key or field */
    CCAI_ERR_CONFLICT = 9,     /**< stale write: the row changed since it was read */
    CCAI_ERR_STORE = 10,       /**< the database failed */
    CCAI_ERR_HTTP = 11,        /**< transport or protocol error talking HTTP */
    CCAI_ERR_TIMEOUT = 12,     /**< an operation took longer than allowed */
    CCAI_ERR_CANCELLED = 13,   /**< cancelled by the host or by shutdown */
    CCAI_ERR_LIMIT = 14,       /**< a size or count limit was exceeded */
    CCAI_ERR_UNSUPPORTED = 15, /**< not supported by this build or version */
    CCAI_ERR_INTERNAL = 16     /**< a bug in libccai: please report it */
} ccai_status;

/**
 * A short English description of a status ("out of memory"). Never NULL;
 * unknown values give "unknown status".
 * Ownership: static string. Context: any thread. @since 0.1
 */
CCAI_EXPORT const char *ccai_status_str(ccai_status status);

/* ------------------------------------------------------------------------ */
/* Memory                                                                   */
/* ------------------------------------------------------------------------ */

/** Allocator hooks. A versioned table: set version to CCAI_ALLOCATOR_VERSION. */
typedef struct ccai_allocator {
    uint32_t version;
    void *(*malloc)(size_t size, void *ud);
    void *(*realloc)(void *ptr, size_t size, void *ud);
    void (*free)(void *ptr, void *ud);
    void *ud;
} ccai_allocator;

#define CCAI_ALLOCATOR_VERSION 1u

/**
 * Route every allocation libccai makes itself through @p allocator (copied).
 * NULL restores malloc/realloc/free. This is the library's only global state.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG for a table with a missing member
 * or an unknown version.
 * Context: call before the first object is created or after the last is
 * freed; not thread-safe. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_set_allocator(const ccai_allocator *allocator);

/**
 * Release memory that libccai handed to the caller (every `char **ret_x`).
 * NULL is accepted.
 * Context: any thread. @since 0.1
 */
CCAI_EXPORT void ccai_free(void *ptr);

/* ------------------------------------------------------------------------ */
/* Logging                                                                  */
/* ------------------------------------------------------------------------ */

typedef enum ccai_log_level {
    CCAI_LOG_ERROR = 0,
    CCAI_LOG_WARN = 1,
    CCAI_LOG_INFO = 2,
    CCAI_LOG_DEBUG = 3
} ccai_log_level;

/**
 * Log sink. @p msg is one line without a trailing newline, borrowed for the
 * duration of the call. libccai never prints; without a sink it stays silent.
 * Secrets (keys, tokens, callback secrets) are never part of a message.
 */
typedef void (*ccai_log_fn)(ccai_log_level level, const char *msg, void *ud);

/** Name of a level ("error", "warn", "info", "debug"). @since 0.1 */
CCAI_EXPORT const char *ccai_log_level_str(ccai_log_level level);

/* ------------------------------------------------------------------------ */
/* Configuration                                                            */
/* ------------------------------------------------------------------------ */

typedef struct ccai_config ccai_config;

/**
 * Create a configuration holding the embedded defaults (a working offline
 * setup: SQLite file `ccai.sqlite`, no LLM, local channel).
 * Statuses: CCAI_OK, CCAI_ERR_NOMEM, CCAI_ERR_INVALID_ARG.
 * Ownership: the caller frees *ret with ccai_config_free().
 * Context: any thread; the object itself is not thread-safe. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_config_new(ccai_config **ret);

/** Free a configuration; NULL is accepted. @since 0.1 */
CCAI_EXPORT void ccai_config_free(ccai_config *cfg);

/**
 * Set the log sink used while loading and inherited by contexts created from
 * this configuration. Messages below @p min_level are dropped.
 * Statuses: CCAI_OK, CCAI_ERR_INVALID_ARG. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_config_set_logger(ccai_config *cfg, ccai_log_fn fn, void *ud,
                                               ccai_log_level min_level);

/**
 * Merge a YAML file into @p cfg. Every problem is collected, not only the
 * first: each with its key path, line and column, and what was expected.
 * On any error nothing is merged.
 * Statuses: CCAI_OK; CCAI_ERR_IO (file unreadable); CCAI_ERR_PARSE (not
 * YAML); CCAI_ERR_CONFIG (valid YAML, invalid values or unknown keys);
 * CCAI_ERR_NOMEM. Error text: ccai_config_errmsg(), ccai_config_error().
 * @since 0.1
 */
CCAI_EXPORT ccai_status ccai_config_load(ccai_config *cfg, const char *path);

/**
 * Like ccai_config_load() on a YAML document in memory. @p name is used in
 * error messages (e.g. "<env CONFIG_YAML>"), may be NULL.
 * @since 0.1
 */
CCAI_EXPORT ccai_status ccai_config_load_string(ccai_config *cfg, const char *yaml, size_t len,
                                                const char *name);

/**
 * Apply overrides from environment strings "KEY=VALUE" whose key maps to a
 * configuration key with `__` as separator (`LLM__FAST__ENDPOINT=...` sets
 * llm.fast.endpoint). @p envp may be NULL for the process environment.
 * Variables that map to no configuration key are ignored.
 * Statuses: as ccai_config_load(). @since 0.1
 */
CCAI_EXPORT ccai_status ccai_config_apply_env(ccai_config *cfg, const char *const *envp);

/**
 * Set one key (dotted path, "llm.fast.endpoint") from its text form. Lists
 * and maps (conversation.initiate.claim, ...) take JSON text.
 * Statuses: CCAI_OK; CCAI_ERR_NOT_FOUND (unknown key); CCAI_ERR_CONFIG (value
 * does not fit: see ccai_config_errmsg()); CCAI_ERR_NOMEM;
 * CCAI_ERR_INVALID_ARG. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_config_set(ccai_config *cfg, const char *key, const char *value);

/**
 * Read one scalar key in its text form ("true", "15", "gpt-4.1-nano"), or
 * NULL when unset or not a scalar.
 * Ownership: borrowed until the next change to @p cfg. @since 0.1
 */
CCAI_EXPORT const char *ccai_config_get(const ccai_config *cfg, const char *key);

/**
 * Check cross-key rules (e.g. an LLM mode needs an endpoint) and that every
 * required key is set. ccai_ctx_new() runs it too.
 * Statuses: CCAI_OK, CCAI_ERR_CONFIG (errors listed), CCAI_ERR_NOMEM. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_config_validate(ccai_config *cfg);

/**
 * The whole effective configuration as JSON. With @p redact non-zero every
 * secret reads "***".
 * Ownership: *ret_json is the caller's, freed with ccai_free(). @since 0.1
 */
CCAI_EXPORT ccai_status ccai_config_to_json(const ccai_config *cfg, int redact, char **ret_json);

/**
 * All errors of the last failed load/set/validate, one per line
 * ("config.yaml:12:5: llm.fast.context: expected an integer >= 1, got \"big\"").
 * Empty string when there were none.
 * Ownership: borrowed until the next call on @p cfg. @since 0.1
 */
CCAI_EXPORT const char *ccai_config_errmsg(const ccai_config *cfg);

/** Number of errors ccai_config_errmsg() lists. @since 0.1 */
CCAI_EXPORT size_t ccai_config_error_count(const ccai_config *cfg);

/**
 * One error of the last failed operation. Any out pointer may be NULL. Line
 * and column are 1-based, 0 when the error has no position (environment,
 * ccai_config_set()).
 * Ownership: strings borrowed until the next call on @p cfg.
 * Statuses: CCAI_OK, CCAI_ERR_NOT_FOUND (index out of range). @since 0.1
 */
CCAI_EXPORT ccai_status ccai_config_error(const ccai_config *cfg, size_t index,
                                          const char **ret_key, unsigned *ret_line,
                                          unsigned *ret_column, const char **ret_message);

/* ------------------------------------------------------------------------ */
/* Claim schema                                                             */
/* ------------------------------------------------------------------------ */

typedef struct ccai_claim_schema ccai_claim_schema;

typedef enum ccai_field_type {
    CCAI_FIELD_TEXT = 0,
    CCAI_FIELD_DATETIME = 1,
    CCAI_FIELD_EMAIL = 2,
    CCAI_FIELD_PHONE_NUMBER = 3
} ccai_field_type;

/** Longest accepted text value, in bytes, after trimming. */
#define CCAI_TEXT_MAX 2000
/** Longest field name; names match [A-Za-z_][A-Za-z0-9_]*. */
#define CCAI_FIELD_NAME_MAX 64
/** Longest field description. */
#define CCAI_FIELD_DESCRIPTION_MAX 512
/** Most fields in one schema (including the policyholder fields). */
#define CCAI_FIELDS_MAX 64

/** "text", "datetime", "email", "phone_number"; "unknown" otherwise. @since 0.1 */
CCAI_EXPORT const char *ccai_field_type_str(ccai_field_type type);

/**
 * Parse a type name as ccai_field_type_str() prints it.
 * Statuses: CCAI_OK, CCAI_ERR_NOT_FOUND, CCAI_ERR_INVALID_ARG. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_field_type_parse(const char *name, ccai_field_type *ret);

/**
 * Create an empty, mutable schema with a reference count of 1. The three
 * policyholder fields (policyholder_email, policyholder_name,
 * policyholder_phone) are always part of a schema: they follow the fields
 * added, unless a field of the same name was added.
 * Ownership: release with ccai_claim_schema_unref(). @since 0.1
 */
CCAI_EXPORT ccai_status ccai_claim_schema_new(ccai_claim_schema **ret);

/**
 * Create the reference system's default insurance schema (nine fields, then
 * the policyholder fields). Same ownership as ccai_claim_schema_new(). @since 0.1
 */
CCAI_EXPORT ccai_status ccai_claim_schema_new_default(ccai_claim_schema **ret);

/**
 * Append a field. @p description may be NULL.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (bad name, type, or too long a
 * description); CCAI_ERR_CONFLICT (name already present); CCAI_ERR_LIMIT
 * (CCAI_FIELDS_MAX reached); CCAI_ERR_STATE (the schema is shared: it was
 * ref'ed or handed to a call and is immutable from then on);
 * CCAI_ERR_NOMEM. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_claim_schema_add(ccai_claim_schema *schema, const char *name,
                                              ccai_field_type type, const char *description);

/**
 * Parse the reference's JSON shape
 * `[{"name": "...", "type": "text|datetime|email|phone_number", "description": "..."}]`.
 * @p len may be (size_t)-1 for a NUL-terminated string. On error, when
 * @p ret_errmsg is not NULL, it receives a message naming the element and
 * the problem (freed with ccai_free()).
 * Statuses: CCAI_OK, CCAI_ERR_PARSE, CCAI_ERR_VALIDATION, CCAI_ERR_LIMIT,
 * CCAI_ERR_NOMEM, CCAI_ERR_INVALID_ARG. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_claim_schema_from_json(const char *json, size_t len,
                                                    ccai_claim_schema **ret, char **ret_errmsg);

/**
 * The schema, policyholder fields included, in the JSON shape
 * ccai_claim_schema_from_json() reads. *ret_json is freed with ccai_free().
 * @since 0.1
 */
CCAI_EXPORT ccai_status ccai_claim_schema_to_json(const ccai_claim_schema *schema, char **ret_json);

/**
 * Take a reference; the schema becomes immutable. Returns @p schema.
 * Context: not thread-safe against concurrent ref/unref of the same schema. @since 0.1
 */
CCAI_EXPORT ccai_claim_schema *ccai_claim_schema_ref(ccai_claim_schema *schema);

/** Drop a reference; the last one frees. NULL is accepted. @since 0.1 */
CCAI_EXPORT void ccai_claim_schema_unref(ccai_claim_schema *schema);

/** Number of fields, policyholder fields included. @since 0.1 */
CCAI_EXPORT size_t ccai_claim_schema_count(const ccai_claim_schema *schema);

/**
 * Field @p index (0-based, in order). Out pointers may be NULL; the
 * description is NULL when the field has none.
 * Ownership: strings borrowed while the schema lives.
 * Statuses: CCAI_OK, CCAI_ERR_NOT_FOUND, CCAI_ERR_INVALID_ARG. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_claim_schema_field(const ccai_claim_schema *schema, size_t index,
                                                const char **ret_name, ccai_field_type *ret_type,
                                                const char **ret_description);

/**
 * Index of the field called @p name.
 * Statuses: CCAI_OK, CCAI_ERR_NOT_FOUND, CCAI_ERR_INVALID_ARG. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_claim_schema_find(const ccai_claim_schema *schema, const char *name,
                                               size_t *ret_index);

/**
 * Validate and normalise one value for a type:
 * - text: trimmed, inner whitespace runs collapsed, at most CCAI_TEXT_MAX bytes;
 * - datetime: ISO 8601 and common spoken-to-text forms ("2024-10-08 02:00",
 *   "2024-10-08T02:00:00Z", "08/10/2024 14:30", "2024-10-08") become
 *   "YYYY-MM-DDTHH:MM:SS" with the offset when one was given ("Z", "+02:00");
 * - email: one @, a dotted domain, no spaces; the domain is lower-cased;
 * - phone_number: E.164 ("+33612345678"); spaces, dots, dashes and
 *   parentheses are removed and a leading "00" becomes "+".
 * On failure *ret_error (when not NULL) receives a sentence fit to be read
 * back to an LLM, naming the expected format.
 * Ownership: *ret_normalized and *ret_error are freed with ccai_free().
 * Statuses: CCAI_OK, CCAI_ERR_VALIDATION, CCAI_ERR_NOMEM,
 * CCAI_ERR_INVALID_ARG. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_field_validate(ccai_field_type type, const char *value,
                                            char **ret_normalized, char **ret_error);

/**
 * Validate a whole claim object (JSON text) against @p schema: unknown keys
 * are dropped, null values removed, every value validated and normalised.
 * On the first invalid field, *ret_error names the field and the reason.
 * Statuses: CCAI_OK, CCAI_ERR_PARSE, CCAI_ERR_VALIDATION, CCAI_ERR_NOMEM,
 * CCAI_ERR_INVALID_ARG. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_claim_schema_validate_claim(const ccai_claim_schema *schema,
                                                         const char *claim_json,
                                                         char **ret_normalized_json,
                                                         char **ret_error);

/* ------------------------------------------------------------------------ */
/* Context and event-loop integration                                       */
/* ------------------------------------------------------------------------ */

typedef struct ccai_ctx ccai_ctx;

/** Event bits for watch_fd() and ccai_ctx_socket_action(). */
#define CCAI_POLL_IN  1
#define CCAI_POLL_OUT 2
#define CCAI_POLL_ERR 4

/**
 * What libccai needs from the host's event loop: libcurl's multi_socket
 * contract. A versioned table: set version to CCAI_LOOP_HOOKS_VERSION.
 */
typedef struct ccai_loop_hooks {
    uint32_t version;
    /**
     * Start, change or stop (events == 0) watching @p fd for CCAI_POLL_IN
     * and/or CCAI_POLL_OUT. *fd_slot is a per-fd pointer the host may use to
     * keep its watcher; it is NULL the first time an fd is watched, and the
     * host must free what it put there when events == 0. When the fd is
     * ready, call ccai_ctx_socket_action(). Return 0 on success, -1 on failure.
     */
    int (*watch_fd)(void *loop_ud, int fd, int events, void **fd_slot);
    /**
     * Arm the context's one timer to fire in @p timeout_ms (0 = as soon as
     * possible), replacing any earlier one; -1 disarms it. When it fires,
     * call ccai_ctx_timeout(). Return 0 on success, -1 on failure.
     */
    int (*set_timer)(void *loop_ud, int64_t timeout_ms);
} ccai_loop_hooks;

#define CCAI_LOOP_HOOKS_VERSION 1u

/**
 * Create a context: the configuration is validated and copied, the
 * database opened (and migrated), the HTTP client and timers set up.
 * Lifecycle:
 *   1. ccai_config_new() + ccai_config_load() (+ ccai_config_apply_env()).
 *   2. ccai_ctx_new() with the loop hooks (see adapters/libevent.h, poll.h).
 *   3. The host calls ccai_ctx_socket_action() / ccai_ctx_timeout() as the
 *      hooks ask; calls are started with ccai_call_start().
 *   4. ccai_ctx_free() (calls still open are ended without post-call work).
 * Statuses: CCAI_OK, CCAI_ERR_CONFIG, CCAI_ERR_STORE, CCAI_ERR_IO,
 * CCAI_ERR_NOMEM, CCAI_ERR_INVALID_ARG. On failure, when @p ret_errmsg is not
 * NULL it receives the reason (freed with ccai_free()).
 * Ownership: @p cfg is copied; @p hooks is copied.
 * Context: the context belongs to the calling thread from now on. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_ctx_new(const ccai_config *cfg, const ccai_loop_hooks *hooks,
                                     void *loop_ud, ccai_ctx **ret, char **ret_errmsg);

/**
 * Free a context, its calls and its transfers in flight. NULL is accepted.
 * Freeing fires no event callbacks. Legal from inside a libccai callback:
 * destruction is deferred until the library frame unwinds. @since 0.1
 */
CCAI_EXPORT void ccai_ctx_free(ccai_ctx *ctx);

/**
 * Tell libccai that @p fd is ready (CCAI_POLL_IN/OUT/ERR bits).
 * Context: the context's thread. @since 0.1
 */
CCAI_EXPORT void ccai_ctx_socket_action(ccai_ctx *ctx, int fd, int events);

/** Tell libccai its timer fired. Context: the context's thread. @since 0.1 */
CCAI_EXPORT void ccai_ctx_timeout(ccai_ctx *ctx);

/**
 * Non-zero while the context has work in flight (transfers, timers). Simple
 * hosts run their loop until it returns 0. @since 0.1
 */
CCAI_EXPORT int ccai_ctx_busy(const ccai_ctx *ctx);

/**
 * Text of the last error on this context ("" when none).
 * Ownership: borrowed until the next call on @p ctx. @since 0.1
 */
CCAI_EXPORT const char *ccai_ctx_errmsg(const ccai_ctx *ctx);

/**
 * Path of the database the context opened (":memory:" for an in-memory one).
 * Ownership: borrowed while the context lives. @since 0.1
 */
CCAI_EXPORT const char *ccai_ctx_database_path(const ccai_ctx *ctx);

/* ------------------------------------------------------------------------ */
/* Calls                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct ccai_call ccai_call;
typedef struct ccai_event ccai_event;

typedef enum ccai_direction { CCAI_INBOUND = 0, CCAI_OUTBOUND = 1 } ccai_direction;

/**
 * Call states: new → ringing → connected → (language_menu) → conversation ⇄
 * turn → transferring | ending → ended → done (post-call work finished).
 */
typedef enum ccai_call_state {
    CCAI_CALL_NEW = 0,
    CCAI_CALL_RINGING = 1,
    CCAI_CALL_CONNECTED = 2,
    CCAI_CALL_LANGUAGE_MENU = 3,
    CCAI_CALL_CONVERSATION = 4,
    CCAI_CALL_TURN = 5,
    CCAI_CALL_TRANSFERRING = 6,
    CCAI_CALL_ENDING = 7,
    CCAI_CALL_ENDED = 8,
    CCAI_CALL_DONE = 9
} ccai_call_state;

/** "new", "ringing", ..., "done"; "unknown" otherwise. @since 0.1 */
CCAI_EXPORT const char *ccai_call_state_str(ccai_call_state state);

/**
 * How to start a call. A versioned table: set version to
 * CCAI_CALL_PARAMS_VERSION; members are only ever appended. Unset strings may
 * be NULL. Everything is copied by ccai_call_start().
 */
typedef struct ccai_call_params {
    uint32_t version;
    ccai_direction direction;
    /** The caller (inbound) or callee (outbound), E.164. Required. */
    const char *phone_number;
    /** The number the bot answers on; default communication_services.phone_number. */
    const char *bot_phone_number;
    /** Channel name: "local", "twilio", "acs", ... Default "local". */
    const char *channel;
    /** The provider's id for the call, when known (Twilio CallSid, ACS id). */
    const char *provider_call_id;
    /**
     * Overrides of conversation.initiate as JSON (the reference's POST /call
     * body: bot_name, bot_company, task, agent_phone_number, lang, claim,
     * prosody_rate). NULL uses the configuration as it is.
     */
    const char *initiate_json;
    /** The claim schema; NULL uses initiate_json's or the configured one. Ref'ed. */
    ccai_claim_schema *claim_schema;
    /**
     * Non-zero: resume the latest call of phone_number when it lies within
     * conversation.callback_timeout_hour (a caller ringing back).
     */
    int resume;
} ccai_call_params;

#define CCAI_CALL_PARAMS_VERSION 1u

typedef enum ccai_style {
    CCAI_STYLE_NONE = 0,
    CCAI_STYLE_CHEERFUL = 1,
    CCAI_STYLE_SAD = 2
} ccai_style;

/** "none", "cheerful", "sad". @since 0.1 */
CCAI_EXPORT const char *ccai_style_str(ccai_style style);

/**
 * One thing to say, handed to ccai_call_ops.say. A versioned table filled by
 * libccai: read members beyond version 1 only when version says they exist.
 * Strings are borrowed for the duration of the callback.
 */
typedef struct ccai_speech {
    uint32_t version;
    const char *text;
    const char *lang;  /**< BCP 47 short code, "fr-FR" */
    const char *voice; /**< configured voice for lang, may be NULL */
    ccai_style style;
    double rate;       /**< prosody rate, 0.75 .. 1.25 */
    int expects_reply; /**< listen for the caller after this */
    int more_follows;  /**< more sentences of the same answer follow */
} ccai_speech;

#define CCAI_SPEECH_VERSION 1u

/**
 * How the engine acts on a call: the host (or a channel of libccai) fills
 * these in. A versioned table: set version to CCAI_CALL_OPS_VERSION. Members
 * the host does not support may be NULL; the engine then does without (a
 * missing transfer is answered as a failed transfer). Every callback returns
 * 0 when the action was accepted, -1 otherwise; completion is reported back
 * through ccai_on_event(). Callbacks may call ccai_on_event() and even
 * ccai_call_free().
 */
typedef struct ccai_call_ops {
    uint32_t version;
    int (*say)(ccai_call *call, const ccai_speech *speech, void *ud);
    int (*stop_speaking)(ccai_call *call, void *ud);
    int (*listen)(ccai_call *call, const char *lang, void *ud);
    int (*transfer)(ccai_call *call, const char *phone_number, void *ud);
    int (*hangup)(ccai_call *call, void *ud);
    int (*send_sms)(ccai_call *call, const char *phone_number, const char *text, void *ud);
    int (*record)(ccai_call *call, int start, void *ud);
    /** Informational: the state changed and is stored. */
    void (*state_changed)(ccai_call *call, ccai_call_state old_state, ccai_call_state new_state,
                          void *ud);
} ccai_call_ops;

#define CCAI_CALL_OPS_VERSION 1u

/**
 * Start (or resume) a call: the call row is written to the store before this
 * returns (persist, then act).
 * Lifecycle:
 *   1. ccai_call_start() — state new (or the resumed call's conversation).
 *   2. Events from the channel through ccai_on_event(): ringing, connected,
 *      speech, dtmf, ... The engine answers through @p ops.
 *   3. A hangup event (or the engine's own hangup) moves it to ended; the
 *      post-call work then runs as durable jobs.
 *   4. ccai_call_free() releases the handle (the stored call stays).
 * Statuses: CCAI_OK, CCAI_ERR_INVALID_ARG (missing phone number, bad
 * version), CCAI_ERR_VALIDATION (initiate_json rejected: ccai_ctx_errmsg()),
 * CCAI_ERR_STORE, CCAI_ERR_NOMEM.
 * Ownership: params copied; @p ops copied; *ret freed with ccai_call_free().
 * Context: the context's thread. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_call_start(ccai_ctx *ctx, const ccai_call_params *params,
                                        const ccai_call_ops *ops, void *userdata, ccai_call **ret);

/**
 * Release a call handle; NULL accepted. A call not yet ended is stored as
 * ended ("handle released"). Legal inside the call's own callbacks.
 * @since 0.1
 */
CCAI_EXPORT void ccai_call_free(ccai_call *call);

/** The call's UUID (36 characters). Borrowed while the handle lives. @since 0.1 */
CCAI_EXPORT const char *ccai_call_id(const ccai_call *call);

/** Current state. @since 0.1 */
CCAI_EXPORT ccai_call_state ccai_call_get_state(const ccai_call *call);

/** Current language short code. Borrowed until the next event. @since 0.1 */
CCAI_EXPORT const char *ccai_call_lang(const ccai_call *call);

/** Non-zero when ccai_call_start() resumed an earlier call. @since 0.1 */
CCAI_EXPORT int ccai_call_resumed(const ccai_call *call);

/** The userdata given to ccai_call_start(). @since 0.1 */
CCAI_EXPORT void *ccai_call_userdata(const ccai_call *call);

/** Last error on this call ("" when none). Borrowed until the next call. @since 0.1 */
CCAI_EXPORT const char *ccai_call_errmsg(const ccai_call *call);

/**
 * The stored call document as JSON (call_id, created_at, in_progress,
 * state, initiate, claim, messages, reminders, next, synthesis, ...).
 * *ret_json freed with ccai_free(). @since 0.1
 */
CCAI_EXPORT ccai_status ccai_call_to_json(const ccai_call *call, char **ret_json);

/* ------------------------------------------------------------------------ */
/* Events (host/channel → engine)                                           */
/* ------------------------------------------------------------------------ */

typedef enum ccai_event_type {
    CCAI_EVENT_RINGING = 0,
    CCAI_EVENT_CONNECTED = 1,
    CCAI_EVENT_SPEECH = 2,          /**< text, lang, final, confidence */
    CCAI_EVENT_DTMF = 3,            /**< text = digits */
    CCAI_EVENT_SILENCE_TIMEOUT = 4, /**< the channel heard nothing */
    CCAI_EVENT_SAY_DONE = 5,
    CCAI_EVENT_SAY_FAILED = 6, /**< text = reason */
    CCAI_EVENT_SMS = 7,        /**< text = body, from = sender */
    CCAI_EVENT_TRANSFER_OK = 8,
    CCAI_EVENT_TRANSFER_FAILED = 9, /**< text = reason */
    CCAI_EVENT_HANGUP = 10,         /**< text = reason */
    CCAI_EVENT_RECORDING = 11       /**< text = recording URL */
} ccai_event_type;

/** "ringing", "connected", "speech", ... @since 0.1 */
CCAI_EXPORT const char *ccai_event_type_str(ccai_event_type type);

/**
 * Create an event of @p type. Fill it with the setters, hand it to
 * ccai_on_event(), free it (or reuse it) afterwards.
 * Statuses: CCAI_OK, CCAI_ERR_INVALID_ARG, CCAI_ERR_NOMEM. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_event_new(ccai_event_type type, ccai_event **ret);

/** Free an event; NULL accepted. @since 0.1 */
CCAI_EXPORT void ccai_event_free(ccai_event *event);

/** Set the text (speech, DTMF digits, SMS body, reason, URL); copied. @since 0.1 */
CCAI_EXPORT ccai_status ccai_event_set_text(ccai_event *event, const char *text);

/** Set the language short code of speech; copied. @since 0.1 */
CCAI_EXPORT ccai_status ccai_event_set_lang(ccai_event *event, const char *lang);

/** Set the sender of an SMS; copied. @since 0.1 */
CCAI_EXPORT ccai_status ccai_event_set_from(ccai_event *event, const char *phone_number);

/** Mark speech final (1, the default) or partial (0). @since 0.1 */
CCAI_EXPORT ccai_status ccai_event_set_final(ccai_event *event, int final);

/** Speech recogniser confidence, 0..1 (default 1). @since 0.1 */
CCAI_EXPORT ccai_status ccai_event_set_confidence(ccai_event *event, double confidence);

/**
 * Hand an event to the engine. What changes the call is stored before the
 * engine acts on it; the engine then answers through the call's ops.
 * Statuses: CCAI_OK; CCAI_ERR_STATE (the call has ended; the event is
 * ignored); CCAI_ERR_INVALID_ARG; CCAI_ERR_STORE (nothing was acted on);
 * CCAI_ERR_NOMEM.
 * Context: the context's thread; legal inside the call's callbacks. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_on_event(ccai_call *call, const ccai_event *event);

/* ------------------------------------------------------------------------ */
/* Stored calls (for servers, reports, exports)                             */
/* ------------------------------------------------------------------------ */

/**
 * One stored call as JSON (see ccai_call_to_json()).
 * Statuses: CCAI_OK, CCAI_ERR_NOT_FOUND, CCAI_ERR_STORE, CCAI_ERR_NOMEM,
 * CCAI_ERR_INVALID_ARG. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_ctx_call_get_json(ccai_ctx *ctx, const char *call_id, char **ret_json);

/**
 * The latest call of @p phone_number (caller number or the claim's
 * policyholder_phone). With @p within_callback_window non-zero, only a call
 * created within conversation.callback_timeout_hour.
 * Statuses: as ccai_ctx_call_get_json(). @since 0.1
 */
CCAI_EXPORT ccai_status ccai_ctx_call_find_json(ccai_ctx *ctx, const char *phone_number,
                                                int within_callback_window, char **ret_json);

/**
 * The newest calls, newest first: `{"total": N, "calls": [...]}` where total
 * counts every match. @p phone_number may be NULL for all calls; @p limit is
 * capped at 1000.
 * Statuses: CCAI_OK, CCAI_ERR_STORE, CCAI_ERR_NOMEM, CCAI_ERR_INVALID_ARG. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_ctx_calls_list_json(ccai_ctx *ctx, const char *phone_number,
                                                 size_t limit, size_t offset, char **ret_json);

/* ------------------------------------------------------------------------ */
/* HTTP front end (for servers)                                             */
/* ------------------------------------------------------------------------ */

/*
 * libccai answers HTTP itself: the REST API, health, metrics, the report
 * pages and the provider webhooks are routed, authenticated and rendered in
 * the library, so any host with an HTTP server (ccai-server uses libevent's
 * evhttp) serves them by handing each request over.
 */

/** One header line. */
typedef struct ccai_http_header {
    const char *name;
    const char *value;
} ccai_http_header;

/** A request as the host's server received it. A versioned table. */
typedef struct ccai_http_request {
    uint32_t version;
    const char *method; /**< "GET", "POST", ... */
    const char *path;   /**< decoded path, without the query: "/call/42" */
    const char *query;  /**< raw query string without '?', or NULL */
    const ccai_http_header *headers;
    size_t n_headers;
    const char *body; /**< may be NULL when body_len is 0 */
    size_t body_len;
    const char *remote_addr; /**< peer address ("127.0.0.1"), may be NULL */
} ccai_http_request;

#define CCAI_HTTP_REQUEST_VERSION 1u

/** The answer, filled by libccai; borrowed for the duration of the callback. */
typedef struct ccai_http_response {
    uint32_t version;
    int status;
    const char *content_type;
    const ccai_http_header *headers; /**< extra headers */
    size_t n_headers;
    const char *body;
    size_t body_len;
} ccai_http_response;

#define CCAI_HTTP_RESPONSE_VERSION 1u

typedef struct ccai_http_exchange ccai_http_exchange;

/**
 * Receives the response of one request, exactly once unless the exchange is
 * cancelled. It may run before ccai_ctx_http() returns (most routes answer
 * at once) or later from the loop (a webhook that waits for the bot's first
 * sentence). The exchange is gone when the callback returns.
 */
typedef void (*ccai_http_respond_fn)(ccai_http_exchange *x, const ccai_http_response *res,
                                     void *ud);

/**
 * Handle one HTTP request. Everything in @p req is copied.
 * *ret_exchange (may be NULL) receives a handle to cancel a response that is
 * still pending (the client went away), or NULL when the response was
 * already delivered.
 * Statuses: CCAI_OK (the callback fired or will fire); CCAI_ERR_INVALID_ARG;
 * CCAI_ERR_NOMEM (no callback). Errors of the request itself (unknown path,
 * bad body, authentication) are HTTP responses, not statuses.
 * Context: the context's thread. @since 0.1
 */
CCAI_EXPORT ccai_status ccai_ctx_http(ccai_ctx *ctx, const ccai_http_request *req,
                                      ccai_http_respond_fn respond, void *ud,
                                      ccai_http_exchange **ret_exchange);

/**
 * Cancel a pending exchange: its callback will not fire. NULL accepted.
 * @since 0.1
 */
CCAI_EXPORT void ccai_http_exchange_cancel(ccai_http_exchange *x);

#ifdef __cplusplus
}
#endif

#endif /* CCAI_CCAI_H */
