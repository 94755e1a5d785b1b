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

/* Inside libccai every status a function returns is used: the library's
 * build (CCAI_BUILDING_LIBRARY) makes a discarded one an error, so that
 * nothing it stores or sends fails unnoticed (docs/HACKING.md). A host's
 * build sees nothing. */
#if defined(CCAI_BUILDING_LIBRARY) && defined(__GNUC__)
#define CCAI_MUST_CHECK __attribute__((warn_unused_result))
#else
#define CCAI_MUST_CHECK
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
 * Statuses: none (never NULL).
 * Ownership: static string.
 * Context: any thread. @since 0.1
 */
CCAI_EXPORT const char *ccai_version(void);

/**
 * Run-time version as CCAI_VERSION_NUM would spell it.
 * Statuses: none (a plain value).
 * Ownership: nothing changes hands.
 * Context: any thread. @since 0.1
 */
CCAI_EXPORT unsigned ccai_version_num(void);

/**
 * The monotonic clock libccai uses for every timer, in milliseconds. Hosts
 * and adapters use it to keep deadlines in the same time base.
 * Statuses: none (a plain value).
 * Ownership: nothing changes hands.
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
    CCAI_ERR_INTERNAL = 16,    /**< a bug in libccai: please report it */
    /** the database is locked by another process: nothing was stored or done;
        the same call may succeed later (@since 0.2) */
    CCAI_ERR_BUSY = 17
} ccai_status;

/**
 * A short English description of a status ("out of memory"). Never NULL;
 * unknown values give "unknown status".
 * Statuses: none.
 * Ownership: static string.
 * Context: any thread. @since 0.1
 */
CCAI_EXPORT const char *ccai_status_str(ccai_status status);

/* ------------------------------------------------------------------------ */
/* Memory                                                                   */
/* ------------------------------------------------------------------------ */

/**
 * Allocator hooks. A versioned table: set version to CCAI_ALLOCATOR_VERSION
 * and zero-fill the rest; a table of an earlier version is accepted and the
 * members appended after it are never read (version 1 ends after ud).
 */
typedef struct ccai_allocator {
    uint32_t version;
    void *(*malloc)(size_t size, void *ud);
    void *(*realloc)(void *ptr, size_t size, void *ud);
    void (*free)(void *ptr, void *ud);
    void *ud;
    /* Version 2 (@since 0.2): read only when version >= 2. */
    /** CCAI_ALLOCATOR_* flags, 0 for none. */
    uint32_t flags;
} ccai_allocator;

#define CCAI_ALLOCATOR_VERSION 2u

/**
 * ccai_allocator.flags: also route the process-wide hooks of the JSON
 * library libccai uses (jansson's json_set_alloc_funcs()), so that the JSON
 * values libccai builds are allocated through your hooks too. Without it
 * they come from malloc(), and jansson's hooks are left as they are. Those
 * hooks belong to the whole process: every other user of jansson in it then
 * allocates through yours as well, and a JSON value must not outlive the
 * hooks it was allocated with, so set it before any JSON value exists (no
 * libccai object yet, no JSON of your own) and drop it only when none is
 * left. The hooks found when libccai set its own are put back when a later
 * ccai_set_allocator() drops the flag. @since 0.2
 */
#define CCAI_ALLOCATOR_JSON (1u << 0)

/**
 * Route every allocation libccai makes itself through @p allocator (copied),
 * and, with CCAI_ALLOCATOR_JSON, its JSON library's too. NULL restores
 * malloc/realloc/free (and the JSON library's earlier hooks).
 * The allocator is process-wide state (see ccai_global_init() for the
 * rest).
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG for a table with a missing member,
 * a version of 0 or newer than CCAI_ALLOCATOR_VERSION, or an unknown flag
 * (nothing changed).
 * Ownership: @p allocator is copied; its ud stays the caller's.
 * Context: call before the first object is created or after the last is
 * freed, while no other thread uses libccai; not thread-safe. The hooks
 * must be thread-safe when a context searches documents on PostgreSQL with
 * database.postgresql.search_threads (its search workers allocate too:
 * docs/threading.md). @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_set_allocator(const ccai_allocator *allocator);

/**
 * Release memory that libccai handed to the caller (every `char **ret_x`).
 * NULL is accepted.
 * Statuses: none (void).
 * Ownership: takes back what a libccai function handed out; memory from
 * anywhere else must not come here (it goes to the allocator set with
 * ccai_set_allocator()).
 * Context: any thread. @since 0.1
 */
CCAI_EXPORT void ccai_free(void *ptr);

/* ------------------------------------------------------------------------ */
/* Process-wide state                                                       */
/* ------------------------------------------------------------------------ */

/*
 * libccai keeps five things for the whole process; everything else belongs
 * to a handle. They are: the allocator (ccai_set_allocator()) and, when it
 * asks for it, the JSON library's hooks it replaced (CCAI_ALLOCATOR_JSON);
 * libcurl's global initialisation (curl_global_init()), which every
 * context holds while it lives and ccai_global_init() holds for the host;
 * the offline speech engines' one-time set-up, done on first use under
 * pthread_once and kept until the process ends: flite's initialisation and
 * its voices (read-only once registered), pocketsphinx's log callback
 * (sphinxbase has one per process: a host that uses sphinxbase itself
 * loses its own); and the PostgreSQL host names' lookups in flight (a list
 * under a mutex: a connection to the same hosts waits for the lookup
 * already made; docs/threading.md).
 */

/**
 * Initialise libcurl's process-wide state (curl_global_init()) and hold it
 * until ccai_global_cleanup(). Optional: without it, each ccai_ctx_new()
 * takes the initialisation and ccai_ctx_free() gives it back, the last one
 * releasing it, so a process that makes and frees contexts one after the
 * other initialises libcurl (and its TLS library) each time.
 * libccai makes its own calls to curl_global_init() and
 * curl_global_cleanup() one at a time, under a lock: contexts made and
 * freed on several threads are safe. What libccai cannot know is whether
 * other code of the process uses libcurl, or its TLS library, on another
 * thread meanwhile; curl's own rule then applies. With a libcurl older than
 * 7.84, or one whose curl_version_info() lacks CURL_VERSION_THREADSAFE, call
 * ccai_global_init() from the main thread before any other thread starts,
 * as curl asks of curl_global_init(), and the first ccai_ctx_new() of a
 * thread will not initialise libcurl behind the other threads' backs.
 * Statuses: CCAI_OK; CCAI_ERR_INTERNAL (libcurl's initialisation failed:
 * nothing is held).
 * Ownership: each CCAI_OK is given back by one ccai_global_cleanup().
 * Context: any thread, under the rule above. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_global_init(void);

/**
 * Give back one ccai_global_init(). libcurl's state is released when the
 * last reference goes: this one and every context's. A call without a
 * ccai_global_init() to match does nothing.
 * Statuses: none (void).
 * Ownership: gives back what ccai_global_init() took.
 * Context: as ccai_global_init(). @since 0.2
 */
CCAI_EXPORT void ccai_global_cleanup(void);

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
 * duration of the call: valid UTF-8 in which control bytes and bytes that
 * are not UTF-8 appear as the four characters \xHH (as in
 * ccai_http_access's path), so a sink may quote it as a JSON string by
 * escaping '"' and '\\' only. libccai never prints; without a sink it stays
 * silent.
 * Secrets (keys, tokens, callback secrets) are never part of a message.
 * Personal data stays out of lines above CCAI_LOG_DEBUG: phone numbers are
 * masked there (ccai_log_mask()), and what the caller said or sent (speech,
 * SMS text) is logged at debug level only.
 */
typedef void (*ccai_log_fn)(ccai_log_level level, const char *msg, void *ud);

/**
 * Name of a level: "error", "warn", "info", "debug"; "unknown" otherwise.
 * Statuses: none (never NULL).
 * Ownership: static string.
 * Context: any thread. @since 0.1
 */
CCAI_EXPORT const char *ccai_log_level_str(ccai_log_level level);

/**
 * Mask the phone numbers in a line meant for a log, as libccai does in its
 * own lines above debug level: a '+' (or its URL encoding "%2B") followed by
 * 6 to 17 digits, maybe grouped by single spaces, dots, dashes or
 * parentheses, keeps its '+', its first two and last two digits, the rest
 * becoming six stars: "+33 6 12 34 56 78" gives "+33******78". A host masks
 * its own lines with it (an access log's path may name a caller).
 *
 * @param text      NUL-terminated line.
 * @param ret_text  receives the masked copy, never longer than @p text.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (a NULL argument); CCAI_ERR_NOMEM.
 * Ownership: *ret_text is the caller's, released with ccai_free(); untouched
 * on failure.
 * Context: any thread; a pure function.
 * @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_log_mask(const char *text, char **ret_text);

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
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_config_new(ccai_config **ret);

/**
 * Free a configuration; NULL is accepted. Contexts created from it are not
 * affected: each made its own copy.
 * Statuses: none (void).
 * Ownership: @p cfg and every string borrowed from it (ccai_config_get(),
 * ccai_config_errmsg(), ccai_config_error()) are gone.
 * Context: any thread, one at a time per configuration. @since 0.1
 */
CCAI_EXPORT void ccai_config_free(ccai_config *cfg);

/**
 * Set the log sink used while loading and inherited by contexts created from
 * this configuration afterwards. Messages below @p min_level are dropped.
 * @p fn may be NULL: nothing is logged.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (NULL @p cfg, a level beyond
 * CCAI_LOG_DEBUG).
 * Ownership: @p ud stays the caller's; it is passed to @p fn for as long as
 * the configuration or a context created from it lives.
 * Context: any thread, one at a time per configuration; @p fn is called on
 * the thread that uses the configuration or the context. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_config_set_logger(ccai_config *cfg, ccai_log_fn fn,
                                                               void *ud, ccai_log_level min_level);

/**
 * Merge a YAML file into @p cfg. Every problem is collected, not only the
 * first: each with its key path, line and column, and what was expected.
 * On any error nothing is merged.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (a NULL argument); CCAI_ERR_IO
 * (file unreadable); CCAI_ERR_PARSE (not YAML); CCAI_ERR_CONFIG (valid
 * YAML, invalid values or unknown keys, or a document larger than 1 MiB);
 * CCAI_ERR_NOMEM. Error text: ccai_config_errmsg(), ccai_config_error().
 * Ownership: @p path is read during the call; nothing of it is kept.
 * Context: any thread, one at a time per configuration; the configuration's
 * log sink may be called (warnings) before it returns. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_config_load(ccai_config *cfg, const char *path);

/**
 * Like ccai_config_load() on a YAML document in memory. @p name is used in
 * error messages (e.g. "<env CONFIG_YAML>"), may be NULL ("<string>").
 * Statuses: as ccai_config_load() without CCAI_ERR_IO; CCAI_ERR_INVALID_ARG
 * also for a NULL @p yaml with a non-zero @p len.
 * Ownership: @p yaml and @p name are read during the call; nothing of them is
 * kept but the values merged.
 * Context: as ccai_config_load(). @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_config_load_string(ccai_config *cfg, const char *yaml,
                                                                size_t len, const char *name);

/**
 * Apply overrides from environment strings "KEY=VALUE" whose key maps to a
 * configuration key with `__` as separator (`LLM__FAST__ENDPOINT=...` sets
 * llm.fast.endpoint). @p envp may be NULL for the process environment.
 * Variables that map to no configuration key are ignored (a warning is
 * logged when the name looks like one).
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (NULL @p cfg); CCAI_ERR_CONFIG (a
 * value does not fit its key: nothing merged); CCAI_ERR_NOMEM.
 * Ownership: @p envp is read during the call; nothing of it is kept but the
 * values merged.
 * Context: as ccai_config_load(); with a NULL @p envp, not while another
 * thread changes the environment (setenv()). @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_config_apply_env(ccai_config *cfg,
                                                              const char *const *envp);

/**
 * Set one key (dotted path, "llm.fast.endpoint") from its text form. Lists
 * and maps (conversation.initiate.claim, ...) take JSON text.
 * Statuses: CCAI_OK; CCAI_ERR_NOT_FOUND (unknown key); CCAI_ERR_CONFIG (value
 * does not fit: see ccai_config_errmsg()); CCAI_ERR_NOMEM;
 * CCAI_ERR_INVALID_ARG (a NULL argument).
 * Ownership: @p key and @p value are copied.
 * Context: any thread, one at a time per configuration. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_config_set(ccai_config *cfg, const char *key,
                                                        const char *value);

/**
 * Read one scalar key in its text form ("true", "15", "gpt-4.1-nano"), or
 * NULL when unset, not a scalar, or @p cfg or @p key is NULL.
 * Statuses: none (NULL when there is nothing to read).
 * Ownership: borrowed until the next change to @p cfg.
 * Context: any thread, one at a time per configuration. @since 0.1
 */
CCAI_EXPORT const char *ccai_config_get(const ccai_config *cfg, const char *key);

/**
 * Check cross-key rules (e.g. an LLM mode needs an endpoint) and that every
 * required key is set. ccai_ctx_new() runs it too.
 * Statuses: CCAI_OK; CCAI_ERR_CONFIG (errors listed: ccai_config_errmsg());
 * CCAI_ERR_INVALID_ARG (NULL @p cfg); CCAI_ERR_NOMEM.
 * Ownership: nothing changes hands.
 * Context: any thread, one at a time per configuration. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_config_validate(ccai_config *cfg);

/**
 * Every problem in one pass. With @p on non-zero, ccai_config_load(),
 * ccai_config_load_string() and ccai_config_apply_env() merge the values that
 * fit and keep the errors of the others (unknown keys, values of the wrong
 * type) instead of failing; ccai_config_validate() then lists those errors
 * first, each with its document, line and column, and its own after them,
 * and fails when there is any. A file that cannot be read or is not YAML
 * still fails at once (CCAI_ERR_IO, CCAI_ERR_PARSE). Off by default.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (NULL @p cfg).
 * Ownership: nothing changes hands.
 * Context: any thread, one at a time per configuration; set it before
 * loading. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_config_set_collect(ccai_config *cfg, int on);

/**
 * The whole effective configuration as JSON. With @p redact non-zero every
 * secret reads "***".
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (a NULL argument); CCAI_ERR_NOMEM.
 * Ownership: *ret_json is the caller's, freed with ccai_free(); untouched on
 * failure.
 * Context: any thread, one at a time per configuration. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_config_to_json(const ccai_config *cfg, int redact,
                                                            char **ret_json);

/**
 * All errors of the last failed load/set/validate, one per line
 * ("config.yaml:12:5: llm.fast.context: expected an integer >= 1, got \"big\"").
 * Empty string when there were none or @p cfg is NULL.
 * Statuses: none (never NULL).
 * Ownership: borrowed until the next call on @p cfg.
 * Context: any thread, one at a time per configuration. @since 0.1
 */
CCAI_EXPORT const char *ccai_config_errmsg(const ccai_config *cfg);

/**
 * Number of errors ccai_config_errmsg() lists (0 for a NULL @p cfg).
 * Statuses: none (a plain value).
 * Ownership: nothing changes hands.
 * Context: any thread, one at a time per configuration. @since 0.1
 */
CCAI_EXPORT size_t ccai_config_error_count(const ccai_config *cfg);

/**
 * One error of the last failed operation. Any out pointer may be NULL. Line
 * and column are 1-based, 0 when the error has no position (environment,
 * ccai_config_set()).
 * Statuses: CCAI_OK; CCAI_ERR_NOT_FOUND (index out of range);
 * CCAI_ERR_INVALID_ARG (NULL @p cfg).
 * Ownership: strings borrowed until the next call on @p cfg.
 * Context: any thread, one at a time per configuration. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_config_error(const ccai_config *cfg, size_t index,
                                                          const char **ret_key, unsigned *ret_line,
                                                          unsigned *ret_column,
                                                          const char **ret_message);

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

/**
 * "text", "datetime", "email", "phone_number"; "unknown" otherwise.
 * Statuses: none (never NULL).
 * Ownership: static string.
 * Context: any thread. @since 0.1
 */
CCAI_EXPORT const char *ccai_field_type_str(ccai_field_type type);

/**
 * Parse a type name as ccai_field_type_str() prints it.
 * Statuses: CCAI_OK; CCAI_ERR_NOT_FOUND (no such type); CCAI_ERR_INVALID_ARG
 * (a NULL argument).
 * Ownership: nothing changes hands.
 * Context: any thread. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_field_type_parse(const char *name,
                                                              ccai_field_type *ret);

/**
 * Create an empty, mutable schema with a reference count of 1. The three
 * policyholder fields (policyholder_email, policyholder_name,
 * policyholder_phone) are always part of a schema: they follow the fields
 * added, unless a field of the same name was added.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (NULL @p ret); CCAI_ERR_NOMEM.
 * Ownership: release with ccai_claim_schema_unref().
 * Context: any thread; one thread at a time until it is shared. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_claim_schema_new(ccai_claim_schema **ret);

/**
 * Create the reference system's default insurance schema (nine fields, then
 * the policyholder fields).
 * Statuses: as ccai_claim_schema_new().
 * Ownership: as ccai_claim_schema_new().
 * Context: as ccai_claim_schema_new(). @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_claim_schema_new_default(ccai_claim_schema **ret);

/**
 * Append a field. @p description may be NULL.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (bad name, type, or too long a
 * description); CCAI_ERR_CONFLICT (name already present); CCAI_ERR_LIMIT
 * (CCAI_FIELDS_MAX reached); CCAI_ERR_STATE (the schema is shared: it was
 * ref'ed or handed to a call and is immutable from then on);
 * CCAI_ERR_NOMEM.
 * Ownership: @p name and @p description are copied.
 * Context: any thread, one at a time per schema. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_claim_schema_add(ccai_claim_schema *schema,
                                                              const char *name,
                                                              ccai_field_type type,
                                                              const char *description);

/**
 * Parse the reference's JSON shape
 * `[{"name": "...", "type": "text|datetime|email|phone_number", "description": "..."}]`
 * (at most 256 KiB). @p len may be (size_t)-1 for a NUL-terminated string.
 * On error, when @p ret_errmsg is not NULL, it receives a message naming the
 * element and the problem.
 * Statuses: CCAI_OK; CCAI_ERR_PARSE (not JSON); CCAI_ERR_VALIDATION (not the
 * shape, or a field libccai refuses); CCAI_ERR_LIMIT (too large, or more
 * than CCAI_FIELDS_MAX fields); CCAI_ERR_NOMEM; CCAI_ERR_INVALID_ARG (a
 * NULL @p json or @p ret).
 * Ownership: *ret (reference count 1) is released with
 * ccai_claim_schema_unref(); *ret_errmsg is freed with ccai_free(); both
 * untouched when there is nothing to give.
 * Context: any thread. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_claim_schema_from_json(const char *json, size_t len,
                                                                    ccai_claim_schema **ret,
                                                                    char **ret_errmsg);

/**
 * The schema, policyholder fields included, in the JSON shape
 * ccai_claim_schema_from_json() reads.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (a NULL argument); CCAI_ERR_NOMEM.
 * Ownership: *ret_json is the caller's, freed with ccai_free(); untouched on
 * failure.
 * Context: any thread; one at a time per schema until it is shared, then
 * from any number of threads. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_claim_schema_to_json(const ccai_claim_schema *schema,
                                                                  char **ret_json);

/**
 * Take a reference; the schema becomes immutable. Returns @p schema (NULL
 * for NULL).
 * Statuses: none (returns @p schema).
 * Ownership: the caller holds one more reference, given back with
 * ccai_claim_schema_unref().
 * Context: any thread; not thread-safe against a concurrent ref/unref of
 * the same schema. @since 0.1
 */
CCAI_EXPORT ccai_claim_schema *ccai_claim_schema_ref(ccai_claim_schema *schema);

/**
 * Drop a reference; the last one frees. NULL is accepted.
 * Statuses: none (void).
 * Ownership: gives back one reference; after the last, the strings borrowed
 * from the schema are gone.
 * Context: as ccai_claim_schema_ref(). @since 0.1
 */
CCAI_EXPORT void ccai_claim_schema_unref(ccai_claim_schema *schema);

/**
 * Number of fields, policyholder fields included (0 for NULL).
 * Statuses: none (a plain value).
 * Ownership: nothing changes hands.
 * Context: any thread; several at once once the schema is shared. @since 0.1
 */
CCAI_EXPORT size_t ccai_claim_schema_count(const ccai_claim_schema *schema);

/**
 * Field @p index (0-based, in order). Out pointers may be NULL; the
 * description is NULL when the field has none.
 * Statuses: CCAI_OK; CCAI_ERR_NOT_FOUND (index out of range);
 * CCAI_ERR_INVALID_ARG (NULL @p schema).
 * Ownership: strings borrowed while the schema lives.
 * Context: as ccai_claim_schema_count(). @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_claim_schema_field(const ccai_claim_schema *schema,
                                                                size_t index, const char **ret_name,
                                                                ccai_field_type *ret_type,
                                                                const char **ret_description);

/**
 * Index of the field called @p name.
 * Statuses: CCAI_OK; CCAI_ERR_NOT_FOUND; CCAI_ERR_INVALID_ARG (a NULL
 * argument).
 * Ownership: nothing changes hands.
 * Context: as ccai_claim_schema_count(). @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_claim_schema_find(const ccai_claim_schema *schema,
                                                               const char *name, size_t *ret_index);

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
 * Statuses: CCAI_OK; CCAI_ERR_VALIDATION; CCAI_ERR_NOMEM;
 * CCAI_ERR_INVALID_ARG (a NULL @p value or @p ret_normalized, an unknown
 * type).
 * Ownership: *ret_normalized and *ret_error are the caller's, freed with
 * ccai_free().
 * Context: any thread; a pure function. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_field_validate(ccai_field_type type, const char *value,
                                                            char **ret_normalized,
                                                            char **ret_error);

/**
 * Validate a whole claim object (JSON text) against @p schema: unknown keys
 * are dropped, null values removed, every value validated and normalised.
 * On the first invalid field, *ret_error (when not NULL) names the field and
 * the reason.
 * Statuses: CCAI_OK; CCAI_ERR_PARSE (not JSON); CCAI_ERR_VALIDATION;
 * CCAI_ERR_NOMEM; CCAI_ERR_INVALID_ARG (a NULL @p schema, @p claim_json or
 * @p ret_normalized_json).
 * Ownership: *ret_normalized_json and *ret_error are the caller's, freed
 * with ccai_free().
 * Context: as ccai_claim_schema_count(). @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status
ccai_claim_schema_validate_claim(const ccai_claim_schema *schema, const char *claim_json,
                                 char **ret_normalized_json, char **ret_error);

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
 * contract. A versioned table: set version to CCAI_LOOP_HOOKS_VERSION. A
 * table of an earlier version is still accepted; members appended after it
 * are then never read (version 1 ends after set_timer).
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
    /**
     * Version 2, may be NULL. Called once, when the context is really
     * destroyed: by ccai_ctx_free(), or, when ccai_ctx_free() was called from
     * inside a libccai callback, once that library frame unwound. No hook is
     * called after it and the context is already gone, so the host may free
     * what @p loop_ud points to (an adapter does: it lives exactly as long as
     * its context). Never called when ccai_ctx_new() fails. @since 0.2
     */
    void (*cleanup)(void *loop_ud);
} ccai_loop_hooks;

#define CCAI_LOOP_HOOKS_VERSION 2u

/**
 * Create a context: the configuration is validated and copied, the
 * database opened (and migrated), the HTTP client and timers set up.
 * Lifecycle:
 *   1. ccai_config_new() + ccai_config_load() (+ ccai_config_apply_env()).
 *   2. ccai_ctx_new() with the loop hooks (see adapters/libevent.h, poll.h).
 *   3. The host calls ccai_ctx_socket_action() / ccai_ctx_timeout() as the
 *      hooks ask; calls are started with ccai_call_start().
 *   4. ccai_ctx_free() (calls still open are ended without post-call work).
 * Statuses: CCAI_OK; CCAI_ERR_CONFIG (ccai_config_validate() refused it);
 * CCAI_ERR_STORE, CCAI_ERR_BUSY (the database cannot be opened or
 * migrated, or another process holds its lock); CCAI_ERR_IO;
 * CCAI_ERR_INTERNAL (libcurl's global initialisation failed);
 * CCAI_ERR_NOMEM; CCAI_ERR_INVALID_ARG (a NULL @p cfg, @p hooks or @p ret,
 * hooks of version 0 or newer than CCAI_LOOP_HOOKS_VERSION, a NULL
 * watch_fd or set_timer). On failure no hook's cleanup is called, and when
 * @p ret_errmsg is not NULL it receives the reason (freed with ccai_free()).
 * Ownership: @p cfg is copied; @p hooks is copied.
 * Context: the context belongs to the calling thread from now on. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_new(const ccai_config *cfg,
                                                     const ccai_loop_hooks *hooks, void *loop_ud,
                                                     ccai_ctx **ret, char **ret_errmsg);

/**
 * Create a context on libre's loop (libre 1.1.0, the SIP stack under
 * baresip): its loop hooks are libre's fd_listen() and tmr_start(), so a
 * host that runs re_main() (a baresip module, a libre SIP server,
 * ccai-server with sip.listen set) runs libccai there, and the SIP channel
 * (sip.*) works only on such a context. The calling thread has called
 * libre_init() (and fd_setsize() to watch fds numbered 1024 and up) and
 * runs re_main(); ccai_ctx_free() stops watching its fds and disarms its
 * timer, so re_main() can return with nothing of libccai left on it.
 * Statuses: as ccai_ctx_new(); CCAI_ERR_UNSUPPORTED when libccai was built
 * without libre (@p ret_errmsg says so).
 * Ownership: as ccai_ctx_new(); the adapter goes with the context.
 * Context: the thread that runs libre's loop owns the context. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_new_libre(const ccai_config *cfg, ccai_ctx **ret,
                                                           char **ret_errmsg);

/**
 * Free a context, its calls and its transfers in flight. NULL is accepted.
 * Freeing fires no event callbacks. Legal from inside a libccai callback:
 * destruction is deferred until the library frame unwinds. Until then the
 * loop hooks may still be called (the teardown unwatches fds and disarms the
 * timer); the hooks' cleanup member says when the context is gone.
 * Statuses: none (void).
 * Ownership: the context and every handle and string borrowed from it (its
 * calls included) are gone, or as good as gone when destruction is
 * deferred: use none of them afterwards.
 * Context: the context's thread; legal inside its callbacks. @since 0.1
 */
CCAI_EXPORT void ccai_ctx_free(ccai_ctx *ctx);

/**
 * Tell libccai that @p fd is ready (CCAI_POLL_IN/OUT/ERR bits). Does
 * nothing for a NULL context or one being freed.
 * Statuses: none (void): what goes wrong is handled or reported through
 * the context's callbacks.
 * Ownership: @p fd stays libccai's (it asked for it to be watched).
 * Context: the context's thread, from the host's loop; never from inside a
 * loop hook. @since 0.1
 */
CCAI_EXPORT void ccai_ctx_socket_action(ccai_ctx *ctx, int fd, int events);

/**
 * Tell libccai its timer fired. Does nothing for a NULL context or one
 * being freed.
 * Statuses: none (void).
 * Ownership: nothing changes hands.
 * Context: the context's thread, from the host's loop; never from inside a
 * loop hook. @since 0.1
 */
CCAI_EXPORT void ccai_ctx_timeout(ccai_ctx *ctx);

/**
 * Non-zero while the context has work in flight (transfers, timers; since
 * 0.2 the open connections of its HTTP server and the SMS its host's sender
 * has not reported the end of, ccai_ctx_sms_done()), not counting the
 * timers that wait for somebody else or tick in the background (a call's
 * silence timeout, an ended HTTP chat waiting for its client, the periodic
 * sweep of calls nobody holds): a call waiting for its caller is no work.
 * Simple hosts run their loop until it returns 0. 0 for NULL.
 * Statuses: none (a plain value).
 * Ownership: nothing changes hands.
 * Context: the context's thread. @since 0.1
 */
CCAI_EXPORT int ccai_ctx_busy(const ccai_ctx *ctx);

/**
 * Text of the last error on this context ("" when none, or for NULL).
 * Statuses: none (never NULL).
 * Ownership: borrowed until the next call on @p ctx.
 * Context: the context's thread. @since 0.1
 */
CCAI_EXPORT const char *ccai_ctx_errmsg(const ccai_ctx *ctx);

/* ------------------------------------------------------------------------ */
/* Feature flags at run time                                                */
/* ------------------------------------------------------------------------ */

/**
 * Change feature flags while the context runs, as the flags file, SIGHUP
 * and PATCH /admin/flags do. Flags are configuration keys a call reads at
 * each use (docs/configuration.md, "Feature flags"): the answer's timeouts,
 * the caller's silence, recognition retries, tool rounds and the slow LLM
 * for chat at the next turn; VAD parameters, the recogniser's wait and
 * recording at the next audio call; callback_timeout_hour at the next
 * look-up. @p json is an object of flags, by dotted key
 * ("conversation.slow_llm_for_chat") or by the reference's name
 * ("slow_llm_for_chat"; its vad_threshold is ten times ours and is
 * converted), flat or in sections ({"conversation": {...}}). Values are
 * JSON numbers and booleans, or their text ("false", "0"). A falsy value
 * (0, false) is a value like any other. All or nothing: every problem is
 * listed, and then no flag changes. Each change is logged (old -> new) and
 * counted (ccai_flags_generation, ccai_flag_value{name} on /metrics).
 * Statuses: CCAI_OK; CCAI_ERR_VALIDATION (unknown flag, a key that is not a
 * flag, wrong type, out of range, answer_soft_timeout_sec not below
 * answer_hard_timeout_sec; every problem in ccai_ctx_errmsg());
 * CCAI_ERR_PARSE (not JSON: ccai_ctx_errmsg()); CCAI_ERR_INVALID_ARG (a NULL
 * argument); CCAI_ERR_NOMEM.
 * Ownership: @p json is read, not kept.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_flags_set_json(ccai_ctx *ctx, const char *json);

/**
 * The flags now: {"generation": N, "file": flags.file or null, "flags":
 * {key: value}}; generation counts the changes applied since the context
 * was made (a change that sets a flag to its value is none).
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (a NULL argument); CCAI_ERR_NOMEM.
 * Ownership: *ret_json is the caller's, freed with ccai_free(); untouched
 * on failure.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_flags_get_json(ccai_ctx *ctx, char **ret_json);

/**
 * Read the flags again, as ccai-server does on SIGHUP: first the flag keys
 * of @p fresh (the configuration read again; NULL: skipped), then
 * flags.file (when set), which wins. Other keys of @p fresh are not used: they
 * take a restart.
 * Statuses: CCAI_OK; CCAI_ERR_VALIDATION, CCAI_ERR_PARSE (a bad value or
 * document; ccai_ctx_errmsg() says where; the flags of @p fresh, valid by
 * construction, are applied even so); CCAI_ERR_IO (the file cannot be
 * read); CCAI_ERR_INVALID_ARG (NULL @p ctx); CCAI_ERR_NOMEM.
 * Ownership: @p fresh is read, not kept.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_flags_reload(ccai_ctx *ctx,
                                                              const ccai_config *fresh);

/**
 * Deprecated since 0.2: one backend's concept; use ccai_ctx_store_describe().
 * Where the context's store keeps its data: the SQLite file (":memory:" for
 * an in-memory one), or for another backend its location without any
 * secret. NULL when @p ctx is NULL.
 * Statuses: none.
 * Ownership: borrowed while the context lives.
 * Context: any thread that may use @p ctx. @since 0.1
 */
CCAI_EXPORT const char *ccai_ctx_database_path(const ccai_ctx *ctx);

/**
 * Describe the context's store as a JSON object: {"backend": "sqlite",
 * "location": the file (or, for another backend, where it is, never a
 * password), "schema_version": N} plus the backend's own settings (SQLite:
 * "synchronous", "busy_timeout_ms").
 * @param ctx       the context.
 * @param ret_json  receives the JSON text.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (a NULL argument); CCAI_ERR_NOMEM.
 * Ownership: *ret_json is the caller's, freed with ccai_free(); untouched on
 * failure.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_store_describe(ccai_ctx *ctx, char **ret_json);

/* ------------------------------------------------------------------------ */
/* Documents (what the search_document tool searches)                       */
/* ------------------------------------------------------------------------ */

/**
 * The end of an asynchronous documents operation: its status and, on
 * CCAI_OK, its JSON document (else NULL; the text is in ccai_ctx_errmsg()).
 * Ownership: @p json is borrowed during the call.
 * Context: called from the context's loop (ccai_ctx_socket_action(),
 * ccai_ctx_timeout()), never from inside the call that started it.
 */
typedef void (*ccai_docs_done_fn)(ccai_status status, const char *json, void *ud);

/**
 * Import calls exported from the reference system (call-center-ai) into the
 * context's store: a file holding one call document as the reference keeps
 * it (call_id, created_at, initiate, claim, messages, next, synthesis,
 * reminders, ...), a JSON array of them, an object with a "calls" array, or
 * JSON lines. Each call is stored under its call_id, ended, with its
 * messages, reminders, claim, next action and synthesis, in one
 * transaction; a call already in the store is left as it is, so importing
 * the same export twice gives the same store. A record that is not a call
 * is reported and skipped; the others are imported.
 * @param ctx       the context.
 * @param path      the export file.
 * @param ret_json  receives {"imported": n, "unchanged": n, "failed": n,
 *                  "errors": [{"record": i (from 1), "call_id"?, "error"}]}
 *                  (at most 100 errors listed, all counted).
 * Statuses: CCAI_OK (see the report for skipped records);
 * CCAI_ERR_INVALID_ARG (a NULL argument); CCAI_ERR_IO (the file cannot be
 * read); CCAI_ERR_PARSE (no export: not JSON, nor JSON lines);
 * CCAI_ERR_LIMIT (larger than 256 MiB or a million records);
 * CCAI_ERR_STORE, CCAI_ERR_BUSY; CCAI_ERR_NOMEM. The text in
 * ccai_ctx_errmsg(); the calls stored before a store failure stay.
 * Ownership: *ret_json is the caller's, freed with ccai_free(); untouched on
 * failure.
 * Context: the context's thread; it reads the file and writes the store at
 * once (blocking). @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_calls_import(ccai_ctx *ctx, const char *path,
                                                              char **ret_json);

/**
 * Import one document (Markdown, HTML or plain text, told by its name or
 * its first bytes) into the context's documents: chunked by heading with
 * overlap (documents.chunk_*), with its title and language. A file whose
 * bytes, chunking and language did not change is left as it is; a changed
 * one has its chunks replaced. Embeddings are computed separately
 * (ccai_ctx_docs_embed()).
 * @param ctx       the context.
 * @param path      the file; it is stored under its absolute path.
 * @param lang      its language ("fr-FR", "en"), or NULL: the document's own
 *                  (front matter lang/language, <html lang>), else
 *                  documents.default_lang, else the conversation's default.
 * @param ret_json  receives {"path", "status": "imported" | "replaced" |
 *                  "unchanged", "format", "title", "lang", "chunks"}.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (a NULL argument, @p lang no
 * language tag); CCAI_ERR_IO (the file cannot be read); CCAI_ERR_LIMIT
 * (larger than 16 MiB or 20000 chunks); CCAI_ERR_STORE, CCAI_ERR_BUSY;
 * CCAI_ERR_NOMEM. The text in ccai_ctx_errmsg(); nothing is changed on
 * failure.
 * Ownership: *ret_json is the caller's, freed with ccai_free(); untouched on
 * failure.
 * Context: the context's thread; it reads the file and writes the store at
 * once (blocking). @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_docs_import(ccai_ctx *ctx, const char *path,
                                                             const char *lang, char **ret_json);

/**
 * Remove an imported document and its chunks.
 * @param ctx       the context.
 * @param path      the document as imported (a relative path is made
 *                  absolute when the file still exists).
 * @param ret_json  receives {"path", "chunks"} (the chunks removed).
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG; CCAI_ERR_NOT_FOUND (never
 * imported); CCAI_ERR_STORE, CCAI_ERR_BUSY; CCAI_ERR_NOMEM.
 * Ownership: *ret_json is the caller's, freed with ccai_free(); untouched on
 * failure.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_docs_remove(ccai_ctx *ctx, const char *path,
                                                             char **ret_json);

/**
 * The imported documents: {"embeddings": the model or null, "sources":
 * [{"path", "title", "lang", "format", "hash", "bytes", "imported_at" (ms
 * since the epoch), "chunks", "embedded" (chunks with a vector of the
 * configured model)}]}, by path.
 * @param ctx       the context.
 * @param ret_json  receives the JSON text.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG; CCAI_ERR_STORE; CCAI_ERR_NOMEM.
 * Ownership: *ret_json is the caller's, freed with ccai_free(); untouched on
 * failure.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_docs_list_json(ccai_ctx *ctx, char **ret_json);

/**
 * Compute the vectors of every chunk that has none for the configured
 * embeddings model (documents.embeddings.*), batch after batch, on the
 * context's loop; then @p done gets {"embedded": N, "model", "error"?}.
 * @param ctx   the context.
 * @param done  called once at the end (may be NULL).
 * @param ud    given to @p done.
 * Statuses: CCAI_OK (done fires); CCAI_ERR_INVALID_ARG; CCAI_ERR_UNSUPPORTED
 * (documents.embeddings.mode is none: search is BM25 only);
 * CCAI_ERR_STATE (already running); CCAI_ERR_NOMEM. No callback on failure.
 * Ownership: nothing changes hands.
 * Context: the context's thread; ccai_ctx_free() cancels it (no callback).
 * @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_docs_embed(ccai_ctx *ctx, ccai_docs_done_fn done,
                                                            void *ud);

/**
 * Search the documents as the search_document tool does: BM25 (full text)
 * among the chunks of @p lang, fused with the cosine of their vectors when
 * embeddings are configured, the ranking cached (cache.*). @p done gets
 * {"lang", "mode": "bm25" | "hybrid", "cached", "chunks_in_lang", "chunks",
 * "results": [{"rank", "score", "bm25", "bm25_rank", "cosine",
 * "vector_rank", "source", "heading", "lang", "content"}]}, best first.
 * @param ctx    the context.
 * @param query  the question.
 * @param lang   a language tag (its primary subtag counts), or NULL: every
 *               language; a language without documents searches them all.
 * @param limit  results at most; 0: documents.top_n.
 * @param done   called once, from the loop.
 * @param ud     given to @p done.
 * The database's failures (down, slower than
 * database.postgresql.statement_timeout_ms) reach @p done as
 * CCAI_ERR_STORE or CCAI_ERR_BUSY; on PostgreSQL with
 * database.postgresql.search_threads the reads run on the context's search
 * workers, never holding the loop (docs/threading.md).
 * Statuses: CCAI_OK (done fires); CCAI_ERR_INVALID_ARG (an empty query, a
 * NULL argument); CCAI_ERR_BUSY (too many searches in flight);
 * CCAI_ERR_IO (no search worker could start); CCAI_ERR_NOMEM. No callback
 * on failure.
 * Ownership: nothing changes hands.
 * Context: the context's thread; ccai_ctx_free() cancels it (no callback).
 * @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_docs_search(ccai_ctx *ctx, const char *query,
                                                             const char *lang, size_t limit,
                                                             ccai_docs_done_fn done, void *ud);

/* ------------------------------------------------------------------------ */
/* Calls                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct ccai_call ccai_call;
typedef struct ccai_event ccai_event;

typedef enum ccai_direction { CCAI_INBOUND = 0, CCAI_OUTBOUND = 1 } ccai_direction;

/**
 * Call states: new → ringing → (language_menu) → connected → conversation ⇄
 * turn → transferring | ending → ended → done (post-call work finished).
 * language_menu: the caller chooses in a menu: the engine's language menu,
 * which the engine offers through the call's ccai_call_ops.menu when the
 * channel has one (any channel, a host's own included) and several
 * languages are configured, or a configured IVR menu (ivr.menus, offered to
 * inbound calls: through ccai_call_ops.menu, or said and listened to).
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

/**
 * "new", "ringing", ..., "done"; "unknown" otherwise.
 * Statuses: none (never NULL).
 * Ownership: static string.
 * Context: any thread. @since 0.1
 */
CCAI_EXPORT const char *ccai_call_state_str(ccai_call_state state);

/** How audio is encoded (ccai_audio_format). @since 0.2 */
typedef enum ccai_audio_encoding {
    CCAI_AUDIO_NONE = 0,  /**< no audio: a text call */
    CCAI_AUDIO_PCM16 = 1, /**< signed 16-bit little-endian linear PCM */
    CCAI_AUDIO_ULAW = 2,  /**< G.711 mu-law (RTP PCMU, Twilio audio/x-mulaw) */
    CCAI_AUDIO_ALAW = 3   /**< G.711 A-law (RTP PCMA) */
} ccai_audio_encoding;

/**
 * An audio format: encoding, sample rate (8000, 16000, 24000 or 48000)
 * and channels (1, or 2 interleaved: mixed down on the way in). @since 0.2
 */
typedef struct ccai_audio_format {
    ccai_audio_encoding encoding;
    uint32_t sample_rate;
    uint32_t channels;
} ccai_audio_format;

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
    /* Version 2 (@since 0.2): read only when version >= 2. */
    /** What the channel does itself: CCAI_CALL_* flags, 0 for none. */
    uint32_t flags;
    /**
     * Take back the stored call of this id: a channel that restarted finds
     * a call its provider still holds (a webhook naming it). The call goes
     * on where it was, on the same leg (provider ids kept unless given),
     * with its own initiate and language and without a language menu;
     * phone_number and direction may then be NULL / anything (the stored
     * ones hold). The stored call is read when ccai_call_start() runs:
     * CCAI_ERR_NOT_FOUND when there is no such call, CCAI_ERR_STATE when it
     * has ended (another process's sweep, the provider's end) or a handle
     * of this context holds it.
     */
    const char *resume_call_id;
    /* Version 3 (@since 0.2): read only when version >= 3. */
    /**
     * The caller's audio as the host feeds it (ccai_call_audio_in()).
     * encoding 0: a text call, as before version 3 (the host says and
     * listens itself). Otherwise an audio call: libccai recognises the
     * caller's speech, speaks the bot's words and calls play_audio, clear_audio
     * and mark of the ops (version 3).
     */
    ccai_audio_format audio_in;
    /** The bot's audio as play_audio delivers it; encoding 0: as audio_in. */
    ccai_audio_format audio_out;
    /** CCAI_AUDIO_* flags, 0 for none. */
    uint32_t audio_flags;
    /** Duration of the frames play_audio gets in CCAI_AUDIO_PACED mode, in
        ms (10, 20, 30, 40 or 60); 0: 20. */
    uint32_t audio_frame_ms;
} ccai_call_params;

#define CCAI_CALL_PARAMS_VERSION 3u

/**
 * ccai_call_params.audio_flags: libccai calls play_audio every
 * audio_frame_ms on the context's timers, each frame when it is due (for a
 * sink without a jitter buffer: an RTP stream, AudioSocket). Without it,
 * play_audio gets the audio as soon as it is synthesised and the host's
 * sink plays it in order (Twilio, ACS queue it themselves). @since 0.2
 */
#define CCAI_AUDIO_PACED (1u << 0)
/**
 * ccai_call_params.audio_flags: run speexdsp's echo canceller on the
 * caller's audio, with the bot's audio as its reference. Meant for
 * CCAI_AUDIO_PACED calls, where libccai knows when each frame plays; the
 * echo gate (always on) keeps the bot's echo from interrupting it in any
 * mode. @since 0.2
 */
#define CCAI_AUDIO_ECHO_CANCEL (1u << 1)

/**
 * ccai_call_params.flags: the channel reports the caller's silence itself
 * (CCAI_EVENT_SILENCE_TIMEOUT, as a provider's speech recognition does):
 * the engine runs no silence timer of its own for the call. @since 0.2
 */
#define CCAI_CALL_REPORTS_SILENCE (1u << 0)

typedef enum ccai_style {
    CCAI_STYLE_NONE = 0,
    CCAI_STYLE_CHEERFUL = 1,
    CCAI_STYLE_SAD = 2
} ccai_style;

/**
 * "none", "cheerful", "sad" ("none" for an unknown value).
 * Statuses: none (never NULL).
 * Ownership: static string.
 * Context: any thread. @since 0.1
 */
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

/** One choice of a menu (ccai_menu). Strings borrowed for the callback. */
typedef struct ccai_menu_choice {
    /** What CCAI_EVENT_CHOICE carries back when the caller picks it (the
        language's short code, "fr-FR", in the language menu). */
    const char *value;
    /** The key that picks it: "1" .. "9". */
    const char *dtmf;
    /** Words that pick it (at least one), NULL-terminated. */
    const char *const *phrases;
    /** The line that offers it, in its own language ("Pour le français,
        tapez 1."), with that language's code and voice (may be NULL). */
    const char *text;
    const char *lang;
    const char *voice;
} ccai_menu_choice;

/**
 * A menu the engine asks the channel to offer (ccai_call_ops.menu). A
 * versioned table filled by libccai: read members beyond version 1 only
 * when version says they exist; ccai_menu_choice grows with it.
 */
typedef struct ccai_menu {
    uint32_t version;
    /** What is chosen: "language", or a configured menu's name (ivr.menus;
        its choices' values are their keys, their text empty: text is the
        menu's prompt). */
    const char *name;
    const ccai_menu_choice *const *choices;
    size_t n_choices;
    /** The whole menu as one text in the call's language, lang and voice:
        for a channel that says it in one voice (each choice's own line is
        in its own language). */
    const char *text;
    const char *lang;
    const char *voice; /**< may be NULL */
    double rate;       /**< prosody rate, 0.75 .. 1.25 */
} ccai_menu;

#define CCAI_MENU_VERSION 1u

/**
 * Audio of the bot for ccai_call_ops.play_audio. A versioned table filled
 * by libccai: read members beyond version 1 only when version says they
 * exist. @since 0.2
 */
typedef struct ccai_audio_frame {
    uint32_t version;
    ccai_audio_format format; /**< the call's audio_out */
    const void *data;         /**< borrowed for the callback */
    size_t len;               /**< bytes, whole samples */
    uint32_t duration_ms;     /**< len in ms (rounded down) */
} ccai_audio_frame;

#define CCAI_AUDIO_FRAME_VERSION 1u

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
    /* Version 2 (@since 0.2): read only when version >= 2. */
    /**
     * Offer the caller @p menu: say it (menu->text in one voice, or each
     * choice's line in its own), then listen for one choice, by key or by
     * words, and report it with CCAI_EVENT_CHOICE (its value, or the
     * words heard, which the engine matches; no text when nothing was
     * recognised: the engine offers the menu again, then its fallback),
     * CCAI_EVENT_DTMF or CCAI_EVENT_SPEECH. May be NULL: the engine then
     * offers no language menu, and says a configured menu (ivr.menus)
     * through say and listen. The engine offers the language menu when the
     * call connects with several languages configured, a configured menu
     * when ivr.start names one (inbound calls).
     */
    int (*menu)(ccai_call *call, const ccai_menu *menu, void *ud);
    /* Version 3 (@since 0.2): read only when version >= 3, and only for an
     * audio call (ccai_call_params.audio_in set). In an audio call libccai
     * speaks and listens itself: say, stop_speaking, listen and menu are
     * never called (with menu set, the host asks for the language menu:
     * libccai says it and hears the choice, a key the host reports as
     * CCAI_EVENT_DTMF or the caller's words); the others are, as in a
     * text call, hangup and transfer once the caller heard what the bot
     * said before them (its goodbye; 30 s at most). */
    /**
     * Play the bot's audio: @p frame (its format is the call's audio_out)
     * after what came before. Required for an audio call. The frame and its
     * data are borrowed for the callback. Return -1 when the host cannot
     * take it (it is dropped and logged).
     */
    int (*play_audio)(ccai_call *call, const ccai_audio_frame *frame, void *ud);
    /**
     * Barge-in: drop every frame of the bot's audio not played yet (Twilio's
     * "clear", ACS's StopAudio; an RTP sender stops). May be NULL with
     * CCAI_AUDIO_PACED (nothing waits at the host).
     */
    int (*clear_audio)(ccai_call *call, void *ud);
    /**
     * A mark after the audio given so far (one per sentence, named
     * @p name): once everything before it was played to the caller, the
     * host calls ccai_call_audio_marked() with the name (Twilio's mark). A
     * clear drops the marks not reached (no ccai_call_audio_marked() for
     * them). May be NULL: libccai then estimates what was played from its
     * own clock. Not called with CCAI_AUDIO_PACED (libccai's clock is the
     * playout).
     */
    int (*mark)(ccai_call *call, const char *name, void *ud);
} ccai_call_ops;

#define CCAI_CALL_OPS_VERSION 3u

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
 * A table of an earlier version (params or ops) is accepted; the members
 * appended since are then never read.
 * Statuses: CCAI_OK, CCAI_ERR_INVALID_ARG (missing phone number, bad
 * version), CCAI_ERR_VALIDATION (initiate_json rejected: ccai_ctx_errmsg()),
 * CCAI_ERR_NOT_FOUND and CCAI_ERR_STATE (resume_call_id names no stored
 * call, or one ended or held here),
 * CCAI_ERR_BUSY (the database is locked by another process: nothing was
 * stored; start the call again later, e.g. on a timer of your loop: libccai
 * never blocks the loop for longer than database.sqlite.busy_timeout_ms),
 * CCAI_ERR_STORE, CCAI_ERR_NOMEM.
 * Ownership: params copied; @p ops copied; *ret freed with ccai_call_free().
 * Context: the context's thread. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_call_start(ccai_ctx *ctx,
                                                        const ccai_call_params *params,
                                                        const ccai_call_ops *ops, void *userdata,
                                                        ccai_call **ret);

/**
 * Release a call handle; NULL accepted. A call not yet ended is stored as
 * ended ("handle released"), without calling its ops. Legal inside the
 * call's own callbacks: the handle goes when the library frame unwinds.
 * Statuses: none (void). A call whose end cannot be stored (database
 * locked, failing) stays "in progress" in the store: the sweep of calls
 * nobody holds ends it later (conversation.takeback_window_sec).
 * Ownership: the handle and every string borrowed from it are gone; the
 * stored call stays.
 * Context: the context's thread; legal inside the call's callbacks. @since 0.1
 */
CCAI_EXPORT void ccai_call_free(ccai_call *call);

/**
 * The call's UUID (36 characters); NULL for NULL.
 * Statuses: none.
 * Ownership: borrowed while the handle lives.
 * Context: the context's thread. @since 0.1
 */
CCAI_EXPORT const char *ccai_call_id(const ccai_call *call);

/**
 * Current state (CCAI_CALL_ENDED for NULL).
 * Statuses: none (a plain value).
 * Ownership: nothing changes hands.
 * Context: the context's thread. @since 0.1
 */
CCAI_EXPORT ccai_call_state ccai_call_get_state(const ccai_call *call);

/**
 * Current language short code ("fr-FR"); NULL for NULL.
 * Statuses: none.
 * Ownership: borrowed until the next event or ccai_call_set_lang() on the
 * call.
 * Context: the context's thread. @since 0.1
 */
CCAI_EXPORT const char *ccai_call_lang(const ccai_call *call);

/**
 * Non-zero when ccai_call_start() resumed an earlier call (0 for NULL).
 * Statuses: none (a plain value).
 * Ownership: nothing changes hands.
 * Context: the context's thread. @since 0.1
 */
CCAI_EXPORT int ccai_call_resumed(const ccai_call *call);

/**
 * The userdata given to ccai_call_start() (NULL for NULL).
 * Statuses: none.
 * Ownership: the host's pointer, handed back as it was.
 * Context: the context's thread. @since 0.1
 */
CCAI_EXPORT void *ccai_call_userdata(const ccai_call *call);

/**
 * The call's other party: the caller (inbound) or callee (outbound), E.164.
 * Statuses: none (NULL when @p call is NULL).
 * Ownership: borrowed while the handle lives.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT const char *ccai_call_phone_number(const ccai_call *call);

/**
 * Whether the call came in or went out (CCAI_INBOUND when @p call is NULL).
 * Statuses: none (a plain value).
 * Ownership: nothing changes hands.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT ccai_direction ccai_call_direction(const ccai_call *call);

/**
 * The call's random secret, for the URLs a channel gives its provider so
 * that callbacks can be told from forgeries (compare what comes back with
 * ccai_ctx_call_check_secret(), which also works once the handle is gone).
 * Never log it.
 * Statuses: none (NULL when @p call is NULL).
 * Ownership: borrowed while the handle lives.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT const char *ccai_call_secret(const ccai_call *call);

/**
 * The call's settings as JSON: conversation.initiate with the call's own
 * overrides (bot_name, bot_company, lang.availables with each language's
 * short_code, voice and pronunciations_en, claim, ...), what a channel
 * reads to help its provider (speech hints).
 * Statuses: none (NULL when @p call is NULL).
 * Ownership: borrowed while the handle lives.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT const char *ccai_call_initiate_json(const ccai_call *call);

/**
 * The provider's id of the call (Twilio CallSid, ACS serverCallId), or NULL.
 * Statuses: none.
 * Ownership: borrowed until the next change of the call.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT const char *ccai_call_provider_id(const ccai_call *call);

/**
 * Store the provider's ids of the call once the channel learns them (the
 * CallSid a call's creation returned, ACS's serverCallId and
 * correlationId), so that its later callbacks find the call
 * (ccai_ctx_call_find_provider()). NULL leaves an id as it is.
 * Statuses: CCAI_OK (stored); CCAI_ERR_INVALID_ARG; CCAI_ERR_STATE (the call
 * has ended); CCAI_ERR_BUSY, CCAI_ERR_STORE (nothing changed);
 * CCAI_ERR_NOMEM.
 * Ownership: the ids are copied.
 * Context: the context's thread; legal inside the call's callbacks. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_call_set_provider_ids(ccai_call *call,
                                                                   const char *provider_call_id,
                                                                   const char *correlation_id);

/**
 * The caller chose a language (a key of the channel's own menu, a setting
 * of the line): the call speaks and listens in @p lang from the next
 * sentence on. Stored before it returns.
 * @param lang  a short code among conversation.initiate.lang.availables.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG; CCAI_ERR_NOT_FOUND (not an
 * available language: nothing changed); CCAI_ERR_STATE (the call has
 * ended); CCAI_ERR_BUSY, CCAI_ERR_STORE (nothing changed); CCAI_ERR_NOMEM.
 * Ownership: @p lang is copied.
 * Context: the context's thread; legal inside the call's callbacks. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_call_set_lang(ccai_call *call, const char *lang);

/**
 * End the call politely: the bot says its goodbye (stored) and hangs up
 * through ccai_call_ops.hangup, as when the conversation ends itself. A
 * call already ending is left as it is (CCAI_OK).
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG; CCAI_ERR_STATE (the call has
 * ended).
 * Ownership: nothing changes hands.
 * Context: the context's thread; legal inside the call's callbacks. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_call_goodbye(ccai_call *call);

/**
 * The caller's audio of an audio call, as it arrives from the line: any
 * number of bytes in the call's audio_in format (frames of any size; a
 * partial sample is kept for the next call). libccai detects speech,
 * recognises it and hands the caller's words to the engine; speech while
 * the bot talks interrupts it (clear_audio). DTMF keys still come as
 * CCAI_EVENT_DTMF events (ccai_on_event()).
 * @param call  an audio call (ccai_call_params.audio_in set).
 * @param data  the audio; may be NULL when @p len is 0.
 * @param len   its length in bytes, at most 1 s of audio per call.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (NULL call, NULL data with a
 * length, or a length that is not a whole number of samples, such as an
 * odd byte count of PCM16: nothing of it is taken, ccai_call_errmsg() says
 * why; the call goes on);
 * CCAI_ERR_LIMIT (more than 1 s at once: nothing taken); CCAI_ERR_STATE
 * (not an audio call, or the call has ended); CCAI_ERR_NOMEM.
 * Ownership: @p data is copied or processed before it returns.
 * Context: the context's thread; legal inside the call's callbacks except
 * play_audio. Never blocks: recognition runs in slices on the context's
 * timers. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_call_audio_in(ccai_call *call, const void *data,
                                                           size_t len);

/**
 * The host played everything before mark @p name (ccai_call_ops.mark): the
 * caller heard the sentence it ends. Marks the host drops on a clear are
 * simply never reported.
 * Statuses: CCAI_OK (also for a name no longer waited for: a late mark
 * after a clear); CCAI_ERR_INVALID_ARG (NULL argument); CCAI_ERR_STATE (not
 * an audio call).
 * Ownership: @p name is borrowed for the call.
 * Context: the context's thread; legal inside the call's callbacks. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_call_audio_marked(ccai_call *call, const char *name);

/**
 * Last error on this call ("" when none, or for NULL).
 * Statuses: none (never NULL).
 * Ownership: borrowed until the next call on the handle.
 * Context: the context's thread. @since 0.1
 */
CCAI_EXPORT const char *ccai_call_errmsg(const ccai_call *call);

/**
 * The stored call document as JSON (call_id, created_at, in_progress,
 * state, initiate, claim, messages, reminders, next, synthesis, ...), read
 * from the store.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (a NULL argument); CCAI_ERR_STORE,
 * CCAI_ERR_BUSY (the store could not be read); CCAI_ERR_NOMEM.
 * Ownership: *ret_json is the caller's, freed with ccai_free(); untouched on
 * failure.
 * Context: the context's thread; legal inside the call's callbacks. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_call_to_json(const ccai_call *call, char **ret_json);

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
    CCAI_EVENT_RECORDING = 11,      /**< text = recording URL */
    /** The caller's choice in a menu (ccai_call_ops.menu): text = the
        choice's value; none when nothing was recognised. @since 0.2 */
    CCAI_EVENT_CHOICE = 12,
    /** The channel could not make out what the caller said (its recogniser
        failed; not silence): the bot apologises and listens again, and
        after conversation.recognition_retry_max in a row says goodbye.
        text = reason. @since 0.2 */
    CCAI_EVENT_NOT_UNDERSTOOD = 13,
    /** Who answered an outbound call, as answering-machine detection says
        (the provider's, or libccai's own on an audio call), in Twilio's
        AnsweredBy words: text = "human", "unknown", "fax",
        "machine_start" (a machine's greeting plays: the bot stops and
        waits for its end), "machine_end_beep", "machine_end_silence" or
        "machine_end_other" (the machine records: with voicemail.enabled
        the bot leaves voicemail.message, hangs up, and the call is tried
        again later; its end reason is "voicemail"). Other text is refused
        with CCAI_ERR_INVALID_ARG. @since 0.2 */
    CCAI_EVENT_ANSWERING_MACHINE = 14
} ccai_event_type;

/** Longest text an event carries (speech, SMS body), in bytes: longer text
    is refused with CCAI_ERR_LIMIT. @since 0.2 */
#define CCAI_EVENT_TEXT_MAX (16u * 1024u)

/**
 * "ringing", "connected", "speech", ..., "choice", "not_understood",
 * "answering_machine";
 * "unknown" otherwise.
 * Statuses: none (never NULL).
 * Ownership: static string.
 * Context: any thread. @since 0.1
 */
CCAI_EXPORT const char *ccai_event_type_str(ccai_event_type type);

/**
 * Create an event of @p type. Fill it with the setters, hand it to
 * ccai_on_event(), free it (or reuse it) afterwards.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (NULL @p ret, an unknown type);
 * CCAI_ERR_NOMEM.
 * Ownership: *ret is the caller's, freed with ccai_event_free().
 * Context: any thread; an event is plain data, one thread at a time. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_event_new(ccai_event_type type, ccai_event **ret);

/**
 * Free an event; NULL accepted.
 * Statuses: none (void).
 * Ownership: the event and its copies of the texts are gone.
 * Context: as ccai_event_new(). @since 0.1
 */
CCAI_EXPORT void ccai_event_free(ccai_event *event);

/**
 * Set the text (speech, DTMF digits, SMS body, reason, URL); NULL clears it.
 * Statuses: CCAI_OK; CCAI_ERR_LIMIT (more than CCAI_EVENT_TEXT_MAX bytes:
 * the event keeps its text); CCAI_ERR_INVALID_ARG (NULL @p event);
 * CCAI_ERR_NOMEM.
 * Ownership: @p text is copied.
 * Context: as ccai_event_new(). @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_event_set_text(ccai_event *event, const char *text);

/**
 * Set the language short code of speech ("fr-FR"); NULL clears it.
 * Statuses: CCAI_OK; CCAI_ERR_LIMIT (more than 35 bytes);
 * CCAI_ERR_INVALID_ARG (NULL @p event); CCAI_ERR_NOMEM.
 * Ownership: @p lang is copied.
 * Context: as ccai_event_new(). @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_event_set_lang(ccai_event *event, const char *lang);

/**
 * Set the sender of an SMS; NULL clears it.
 * Statuses: CCAI_OK; CCAI_ERR_LIMIT (more than 64 bytes);
 * CCAI_ERR_INVALID_ARG (NULL @p event); CCAI_ERR_NOMEM.
 * Ownership: @p phone_number is copied.
 * Context: as ccai_event_new(). @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_event_set_from(ccai_event *event,
                                                            const char *phone_number);

/**
 * Mark speech final (non-zero, the default) or partial (0).
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (NULL @p event).
 * Ownership: nothing changes hands.
 * Context: as ccai_event_new(). @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_event_set_final(ccai_event *event, int final);

/**
 * Speech recogniser confidence, 0..1 (default 1).
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (NULL @p event, NaN or out of
 * 0..1: the event keeps its confidence).
 * Ownership: nothing changes hands.
 * Context: as ccai_event_new(). @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_event_set_confidence(ccai_event *event,
                                                                  double confidence);

/**
 * Hand an event to the engine. What changes the call is stored before the
 * engine acts on it; the engine then answers through the call's ops.
 * Statuses: CCAI_OK; CCAI_ERR_STATE (the call has ended; the event is
 * ignored); CCAI_ERR_INVALID_ARG; CCAI_ERR_BUSY (the database is locked by
 * another process: the event was neither stored nor acted on, and no op was
 * called; hand the same event again later, e.g. on a timer of your loop, or
 * tell its sender to retry: a provider webhook answered 503); CCAI_ERR_STORE
 * (nothing was acted on); CCAI_ERR_NOMEM.
 * Ownership: the engine copies what it keeps of @p event, which stays the
 * caller's (reuse it or free it).
 * Context: the context's thread; legal inside the call's callbacks. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_on_event(ccai_call *call, const ccai_event *event);

/**
 * ccai_on_event() with an event of @p type carrying @p text (NULL for none):
 * the common case without building an event.
 * Statuses: as ccai_on_event(); CCAI_ERR_LIMIT (text longer than
 * CCAI_EVENT_TEXT_MAX).
 * Ownership: @p text is copied.
 * Context: the context's thread; legal inside the call's callbacks. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_call_notify(ccai_call *call, ccai_event_type type,
                                                         const char *text);

/* ------------------------------------------------------------------------ */
/* Stored calls (for servers, reports, exports)                             */
/* ------------------------------------------------------------------------ */

/**
 * One stored call as JSON (see ccai_call_to_json()). What it shows is
 * committed: writes still grouped (database.sqlite.group_commit) are
 * committed before the read.
 * Statuses: CCAI_OK; CCAI_ERR_NOT_FOUND; CCAI_ERR_STORE, CCAI_ERR_BUSY (the
 * store could not be read: ccai_ctx_errmsg()); CCAI_ERR_NOMEM;
 * CCAI_ERR_INVALID_ARG (a NULL argument).
 * Ownership: *ret_json is the caller's, freed with ccai_free(); untouched on
 * failure.
 * Context: the context's thread. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_call_get_json(ccai_ctx *ctx, const char *call_id,
                                                               char **ret_json);

/**
 * The latest call of @p phone_number (caller number or the claim's
 * policyholder_phone). With @p within_callback_window non-zero, only a call
 * created within conversation.callback_timeout_hour.
 * Statuses: as ccai_ctx_call_get_json(); CCAI_ERR_NOT_FOUND also when
 * @p phone_number is not a phone number.
 * Ownership: as ccai_ctx_call_get_json().
 * Context: the context's thread. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_call_find_json(ccai_ctx *ctx,
                                                                const char *phone_number,
                                                                int within_callback_window,
                                                                char **ret_json);

/**
 * The newest calls, newest first: `{"total": N, "calls": [...]}` where total
 * counts every match. @p phone_number may be NULL for all calls; @p limit is
 * capped at 1000.
 * Statuses: CCAI_OK; CCAI_ERR_STORE, CCAI_ERR_BUSY; CCAI_ERR_NOMEM;
 * CCAI_ERR_INVALID_ARG (NULL @p ctx or @p ret_json).
 * Ownership: *ret_json is the caller's, freed with ccai_free(); untouched on
 * failure.
 * Context: the context's thread. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_calls_list_json(ccai_ctx *ctx,
                                                                 const char *phone_number,
                                                                 size_t limit, size_t offset,
                                                                 char **ret_json);

/*
 * Stored calls, for channels: what a channel does with a call its provider
 * still talks about when no handle of this context holds it (this process
 * restarted, the handle is gone, the call ended and a late callback came).
 */

/**
 * The id of the latest call of @p channel (its ccai_call_params.channel)
 * whose provider id or provider correlation id (ccai_call_set_provider_ids())
 * is @p provider_id.
 * @param ret_call_id  receives the call's id (36 characters).
 * Statuses: CCAI_OK; CCAI_ERR_NOT_FOUND; CCAI_ERR_INVALID_ARG;
 * CCAI_ERR_STORE, CCAI_ERR_BUSY; CCAI_ERR_NOMEM.
 * Ownership: *ret_call_id freed with ccai_free(); untouched on failure.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_call_find_provider(ccai_ctx *ctx,
                                                                    const char *channel,
                                                                    const char *provider_id,
                                                                    char **ret_call_id);

/**
 * Check a secret a callback URL carried against the stored call's
 * (ccai_call_secret()), in constant time, whether or not a handle holds
 * the call or it has ended.
 * Statuses: CCAI_OK (it matches); CCAI_ERR_VALIDATION (it does not);
 * CCAI_ERR_NOT_FOUND (no such call); CCAI_ERR_INVALID_ARG; CCAI_ERR_STORE,
 * CCAI_ERR_BUSY; CCAI_ERR_NOMEM.
 * Ownership: nothing changes hands.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_call_check_secret(ccai_ctx *ctx,
                                                                   const char *call_id,
                                                                   const char *secret);

/**
 * End a stored call in progress that no handle of this context holds: its
 * provider says it is over (@p reason: its word, "completed"; @p by_caller
 * non-zero when the caller's side ended it). In one commit: the hangup
 * message, state "ended" and the reason, and the post-call work when the
 * caller spoke since the call last (re)started. A call already ended is left
 * as it is.
 * Statuses: CCAI_OK (ended now or before); CCAI_ERR_NOT_FOUND;
 * CCAI_ERR_STATE (a handle of this context holds it: hand it a
 * CCAI_EVENT_HANGUP instead); CCAI_ERR_CONFLICT (another process changed it
 * meanwhile: it took the call back); CCAI_ERR_INVALID_ARG; CCAI_ERR_BUSY,
 * CCAI_ERR_STORE (nothing stored); CCAI_ERR_NOMEM.
 * Ownership: @p reason is copied.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_call_end(ccai_ctx *ctx, const char *call_id,
                                                          const char *reason, int by_caller);

/**
 * Store what the provider says of a call's recording, whatever the call's
 * state (a recording is usually ready after the call ended): each of
 * @p url, @p recording_id (not NULL) and @p duration_ms (> 0) replaces the
 * stored one; a live handle of the call sees them too.
 * Statuses: CCAI_OK; CCAI_ERR_NOT_FOUND; CCAI_ERR_INVALID_ARG;
 * CCAI_ERR_BUSY, CCAI_ERR_STORE (nothing stored); CCAI_ERR_NOMEM.
 * Ownership: strings are copied.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_call_set_recording(ccai_ctx *ctx,
                                                                    const char *call_id,
                                                                    const char *url,
                                                                    const char *recording_id,
                                                                    int64_t duration_ms);

/**
 * An SMS from a caller, whatever brought it: a live call with that number
 * reads it on its next turn (as CCAI_EVENT_SMS); otherwise it is stored on
 * the caller's latest call. @p from may lack its '+'.
 * Statuses: CCAI_OK (given to a call or stored); CCAI_ERR_NOT_FOUND (no
 * call with that number) and CCAI_ERR_VALIDATION (@p from is not a phone
 * number): dropped and logged, nothing to retry; CCAI_ERR_BUSY,
 * CCAI_ERR_STORE, CCAI_ERR_NOMEM: worth a retry by the sender;
 * CCAI_ERR_INVALID_ARG; CCAI_ERR_LIMIT (text longer than
 * CCAI_EVENT_TEXT_MAX).
 * Ownership: strings are copied.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_sms_inbound(ccai_ctx *ctx, const char *from,
                                                             const char *text);

/**
 * What the SMS service reports of the delivery of a message libccai sent:
 * stored with the message (the call's report and document show it), and,
 * when it failed while its call is live, read by the LLM at its next turn.
 * A report never takes a message back (they may come out of order: a
 * "sent" after its "delivered" is recorded, the status stays delivered).
 * Twilio's and ACS's channels call it from the status callbacks they
 * receive. A host's sender (sms.mode "host") finds a message's reference
 * as "ref" in the call document's "sms" list.
 * @param ctx the context.
 * @param ref libccai's reference of the message, as it gave it to the
 *        service ("ref" in the message: Twilio's StatusCallback ?ref=, the
 *        ACS delivery report's tag).
 * @param message_id the service's id of the message (Twilio MessageSid,
 *        ACS messageId), or NULL; when both are known they must match.
 * @param status "sent", "delivered", "undelivered" or "failed" (lower case).
 * @param detail the service's reason (an error code, ACS's
 *        deliveryStatusDetails), or NULL.
 * Statuses: CCAI_OK (stored); CCAI_ERR_INVALID_ARG (no reference, another
 * status); CCAI_ERR_NOT_FOUND (no message of libccai under that reference,
 * or another message id: nothing changed); CCAI_ERR_BUSY, CCAI_ERR_STORE,
 * CCAI_ERR_NOMEM (worth a retry by the service: answer it with a 5xx).
 * Text in ccai_ctx_errmsg().
 * Ownership: strings are copied.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_sms_status(ccai_ctx *ctx, const char *ref,
                                                            const char *message_id,
                                                            const char *status, const char *detail);

/**
 * The host's SMS sender: how the engine's durable SMS (the post-call
 * summary; the send_sms tool's when the call's channel has no
 * ccai_call_ops.send_sms) leave when sms.mode is "host", so that a host's
 * own channel sends them as Twilio's or ACS's do theirs. A versioned
 * table: set version to CCAI_SMS_OPS_VERSION.
 * @since 0.2
 */
typedef struct ccai_sms_ops {
    uint32_t version;
    /**
     * Send @p text to @p to (E.164). Return 0 when the request is taken,
     * then report its end, now or later, with ccai_ctx_sms_done() and
     * @p request_id (once); return -1 when it cannot be sent at all (the
     * engine tries again later, with backoff). Strings are borrowed for the
     * callback. Context: the context's thread.
     */
    int (*send)(ccai_ctx *ctx, uint64_t request_id, const char *to, const char *text, void *ud);
} ccai_sms_ops;

#define CCAI_SMS_OPS_VERSION 1u

/**
 * Set the host's SMS sender (sms.mode "host") of the contexts created from
 * @p cfg afterwards; NULL @p ops removes it. ccai_config_validate() (and so
 * ccai_ctx_new()) refuses sms.mode "host" without one.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (NULL cfg, a version of 0 or from
 * the future, no send).
 * Ownership: @p ops is copied; @p ud is the host's, passed to send.
 * Context: as the configuration. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_config_set_sms_ops(ccai_config *cfg,
                                                                const ccai_sms_ops *ops, void *ud);

/**
 * The end of an SMS request of the host's sender (ccai_sms_ops.send):
 * @p status CCAI_OK when the message left; otherwise @p errmsg (may be NULL)
 * says why and @p permanent non-zero means trying again cannot help (the
 * engine gives up; else it tries again later, with backoff).
 * Statuses: CCAI_OK; CCAI_ERR_NOT_FOUND (no such request in flight: already
 * reported, or another context's); CCAI_ERR_STATE (the
 * context has no host sender); CCAI_ERR_INVALID_ARG.
 * Ownership: @p errmsg is copied.
 * Context: the context's thread; legal inside send. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_sms_done(ccai_ctx *ctx, uint64_t request_id,
                                                          ccai_status status, int permanent,
                                                          const char *errmsg);

/* ------------------------------------------------------------------------ */
/* HTTP front end (for servers)                                             */
/* ------------------------------------------------------------------------ */

/*
 * libccai answers HTTP itself: the REST API, health, metrics, the report
 * pages and the provider webhooks are routed, authenticated and rendered in
 * the library, so any host with an HTTP server serves them by handing each
 * request over; a host without one lets the context listen itself
 * (ccai_ctx_listen(), below: ccai-server does).
 */

/**
 * One header line: the element of the header arrays of ccai_http_request
 * and ccai_http_response. It has no version of its own and its layout is
 * frozen (these two members, at every version of the library): an array's
 * elements lie sizeof apart, so a member appended here would shift every
 * element after the first for a host built with the other size, whatever
 * the tables' versions said. The version of the enclosing table fixes the
 * element; should a header line ever need more, that table gets a new
 * version with a new array of a new element type, and keeps this one.
 */
typedef struct ccai_http_header {
    const char *name;
    const char *value;
} ccai_http_header;

/**
 * A request as the host's server received it. A versioned table: set
 * version to CCAI_HTTP_REQUEST_VERSION and zero-fill the rest; a table of
 * an earlier version is accepted and the members appended after it are
 * never read.
 */
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

/**
 * The answer, filled by libccai; borrowed for the duration of the callback.
 * A versioned table: read members beyond version 1 only when version says
 * they exist (headers is an array of the frozen ccai_http_header).
 */
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
 * Statuses: CCAI_OK (the callback fired or will fire); CCAI_ERR_INVALID_ARG
 * (a NULL @p ctx, @p req or @p respond, a version of 0 or newer than
 * CCAI_HTTP_REQUEST_VERSION, a NULL method, path or header name or value,
 * a NULL headers or body with a non-zero count or length: no callback);
 * CCAI_ERR_NOMEM (no callback). Errors of the request itself (unknown path,
 * bad body, authentication) are HTTP responses, not statuses.
 * Ownership: @p req is copied; @p ud stays the caller's; *ret_exchange is
 * libccai's, valid until the callback fires or ccai_http_exchange_cancel().
 * Context: the context's thread. @since 0.1
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_http(ccai_ctx *ctx, const ccai_http_request *req,
                                                      ccai_http_respond_fn respond, void *ud,
                                                      ccai_http_exchange **ret_exchange);

/**
 * Cancel a pending exchange: its callback will not fire. NULL accepted, and
 * so is an exchange whose callback is running (nothing happens).
 * Statuses: none (void).
 * Ownership: the exchange is gone; do not use @p x again.
 * Context: the context's thread; legal inside libccai callbacks. @since 0.1
 */
CCAI_EXPORT void ccai_http_exchange_cancel(ccai_http_exchange *x);

/* ------------------------------------------------------------------------ */
/* HTTP server (libccai serves HTTP/1.1 itself)                             */
/* ------------------------------------------------------------------------ */

/*
 * A host that has no HTTP server of its own lets the context listen: its
 * sockets are watched through the same loop hooks, and every request goes
 * the way of ccai_ctx_http(). The server is hardened for the open
 * Internet: limits and deadlines from the configuration (server.*),
 * keep-alive and pipelining (answers in order), a connection cap answered
 * with 503, accept() errors backed off, a client that goes away while its
 * answer is pending noticed at once (the exchange is cancelled), and every
 * error it answers itself in the JSON error envelope.
 *
 * Lifecycle:
 *   1. ccai_ctx_new(), then ccai_ctx_listen() and/or ccai_ctx_listen_fd().
 *   2. Run the loop.
 *   3. To stop gracefully: ccai_ctx_listen_stop(), run the loop until
 *      ccai_ctx_busy() returns 0 (answers in flight written, connections
 *      closed) or a grace period ends, then ccai_ctx_free().
 */

/**
 * Listen on @p address: "HOST:PORT" with a numeric IPv4 host, "localhost",
 * "*" or an empty host (every address), or "[IPv6]:PORT". NULL reads
 * server.listen. Port 0 picks a free port. May be called again to listen on
 * more addresses.
 * @param ret_port may be NULL; receives the port bound.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (bad address: see
 * ccai_ctx_errmsg()); CCAI_ERR_IO (socket, bind or listen failed:
 * ccai_ctx_errmsg() says why); CCAI_ERR_STATE (after
 * ccai_ctx_listen_stop()); CCAI_ERR_NOMEM.
 * Ownership: the socket is the context's; closed by ccai_ctx_listen_stop()
 * or ccai_ctx_free().
 * Context: the context's thread; does not block (no name resolution).
 * @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_listen(ccai_ctx *ctx, const char *address,
                                                        uint16_t *ret_port);

/**
 * Serve an already bound, listening stream socket: systemd socket
 * activation (LISTEN_FDS), a worker given a SO_REUSEPORT socket. It is made
 * non-blocking and close-on-exec.
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (not a listening stream socket);
 * CCAI_ERR_IO; CCAI_ERR_STATE (after ccai_ctx_listen_stop()); CCAI_ERR_NOMEM.
 * Ownership: on CCAI_OK the context owns @p fd and closes it; on failure it
 * stays the caller's.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_listen_fd(ccai_ctx *ctx, int fd);

/**
 * Stop serving, gracefully: the listening sockets are closed, idle
 * keep-alive connections closed, answers in flight finish (with
 * "Connection: close"), a request read from now on gets 503. The context
 * stays busy (ccai_ctx_busy()) until its last connection is closed.
 * Listening again is refused (CCAI_ERR_STATE). NULL accepted; a context
 * that never listened is left as it is.
 * Statuses: none (void).
 * Ownership: the listening sockets the context owned are closed.
 * Context: the context's thread; legal inside libccai callbacks. @since 0.2
 */
CCAI_EXPORT void ccai_ctx_listen_stop(ccai_ctx *ctx);

/**
 * Open HTTP connections of the server (those whose answers are pending
 * included); 0 for NULL. ccai_ctx_busy() is non-zero while there is one.
 * Statuses: none (a plain value).
 * Ownership: nothing changes hands.
 * Context: the context's thread. @since 0.2
 */
CCAI_EXPORT size_t ccai_ctx_connections(const ccai_ctx *ctx);

/**
 * One answer of the server, for an access log. A versioned table filled by
 * libccai: read members beyond version 1 only when version says they exist.
 */
typedef struct ccai_http_access {
    uint32_t version;
    const char *remote_addr; /**< "127.0.0.1", "::1" */
    const char *method;      /**< "-" when the request line could not be read */
    /**
     * The decoded path without the query (which may hold a secret), as
     * valid UTF-8: control bytes and bytes that are not UTF-8 appear as the
     * four characters \xHH; cut after 1024 bytes with "...". "-" when
     * unknown.
     */
    const char *path;
    int status;
    size_t bytes;         /**< body bytes of the answer */
    uint64_t duration_ms; /**< first byte of the request to the answer */
} ccai_http_access;

#define CCAI_HTTP_ACCESS_VERSION 1u

/** Receives each access entry; strings are borrowed for the call. */
typedef void (*ccai_http_access_fn)(const ccai_http_access *entry, void *ud);

/**
 * Send the server's access entries to @p fn (NULL: they go to the log sink
 * at info level, one line each).
 * Statuses: CCAI_OK; CCAI_ERR_INVALID_ARG (NULL @p ctx); CCAI_ERR_NOMEM.
 * Ownership: @p ud stays the caller's, passed to @p fn with each entry.
 * Context: the context's thread; @p fn is called on it. @since 0.2
 */
CCAI_EXPORT CCAI_MUST_CHECK ccai_status ccai_ctx_set_access_log(ccai_ctx *ctx,
                                                                ccai_http_access_fn fn, void *ud);

#ifdef __cplusplus
}
#endif

#endif /* CCAI_CCAI_H */
