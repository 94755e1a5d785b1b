/* Internal helpers shared by every module of libccai. Not installed. */
#ifndef CCAI_CORE_COMMON_H
#define CCAI_CORE_COMMON_H

#include <ccai/ccai.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CCAI_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CCAI_UNUSED(x)     ((void)(x))
/* A status dropped on purpose, where it cannot change what happens next;
 * every use says why on its line or just above. (GCC does not let a (void)
 * cast silence CCAI_MUST_CHECK, see <ccai/ccai.h>; this does.) */
#define CCAI_DISCARD(expr) ((void)!(expr))

/* Allocation through the host's hooks (core/alloc.c). jansson is routed
 * through the same hooks, so text from json_dumps() is freed with ccai_free(). */
void *Ccai_malloc(size_t size);
void *Ccai_calloc(size_t n, size_t size);
void *Ccai_realloc(void *ptr, size_t size);
char *Ccai_strdup(const char *s);
char *Ccai_strndup(const char *s, size_t n);
char *Ccai_asprintf(const char *fmt, ...) CCAI_PRINTF(1, 2);
char *Ccai_vasprintf(const char *fmt, va_list ap) CCAI_PRINTF(1, 0);
/* Replace *dst with a copy of src (NULL allowed); false on NOMEM, *dst kept. */
CCAI_MUST_CHECK bool Ccai_str_replace(char **dst, const char *src);

/* Growable byte buffer, always NUL-terminated when data != NULL. */
typedef struct Ccai_buf {
    char *data;
    size_t len;
    size_t cap;
} Ccai_buf;

CCAI_MUST_CHECK bool Ccai_buf_append(Ccai_buf *b, const void *data, size_t len);
/* Code point cp (<= 0x10FFFF, the caller checks) as UTF-8 into out: its
 * length, 1 to 4. */
size_t Ccai_utf8_encode(uint32_t cp, char out[4]);
CCAI_MUST_CHECK bool Ccai_buf_puts(Ccai_buf *b, const char *s);
/* Append data as base64 (RFC 4648, padded), written in place. */
CCAI_MUST_CHECK bool Ccai_buf_base64(Ccai_buf *b, const void *data, size_t len);
/* Decode base64 s[0..n) into out[0..cap): the standard alphabet with its
 * padding, or (url) the URL-safe one without padding (RFC 4648 5, as JWTs
 * use it). Strict: one encoding per byte string (the bits after the last
 * byte are zero). 0 and *ret_len bytes; -1 not base64; -2 over cap. */
CCAI_MUST_CHECK int Ccai_base64_decode(const char *s, size_t n, bool url, uint8_t *out, size_t cap,
                                       size_t *ret_len);
/* The arguments must not point into b: the text is written in its room
 * (and b may move as it grows). */
CCAI_MUST_CHECK bool Ccai_buf_printf(Ccai_buf *b, const char *fmt, ...) CCAI_PRINTF(2, 3);
CCAI_MUST_CHECK bool Ccai_buf_vprintf(Ccai_buf *b, const char *fmt, va_list ap) CCAI_PRINTF(2, 0);
/* Numbers and strings put together by hand, for the paths every request
 * takes: in ccai-server, which loads libquadmath (pocketsphinx -> LAPACK ->
 * libgfortran), every snprintf() takes glibc's slow positional path
 * (~1,400 instructions more a call). Ccai_fmt_*(): v in decimal into out
 * (at least 24 bytes), NUL-terminated, its length. */
size_t Ccai_fmt_u64(char *out, unsigned long long v);
size_t Ccai_fmt_i64(char *out, long long v);
CCAI_MUST_CHECK bool Ccai_buf_put_u64(Ccai_buf *b, unsigned long long v);
CCAI_MUST_CHECK bool Ccai_buf_put_i64(Ccai_buf *b, long long v);
/* The strings up to a NULL joined into out[0..cap), cut and terminated as
 * snprintf(out, cap, "%s%s...") would: the length of the whole (>= cap:
 * it was cut). */
size_t Ccai_strjoin(char *out, size_t cap, ...) __attribute__((sentinel));
/* Hand the data to the caller (never NULL on success: "" for empty). */
char *Ccai_buf_steal(Ccai_buf *b);
void Ccai_buf_reset(Ccai_buf *b);
void Ccai_buf_free(Ccai_buf *b);

/* Logging through the host's sink (core/log.c). */
typedef struct Ccai_logger {
    ccai_log_fn fn;
    void *ud;
    ccai_log_level min_level;
} Ccai_logger;

void Ccai_log(const Ccai_logger *lg, ccai_log_level level, const char *fmt, ...) CCAI_PRINTF(3, 4);
/* Append s[0..len) to b as text fit for a log line: valid UTF-8 is kept,
 * control bytes and bytes that are not valid UTF-8 become \xHH, so a
 * JSON writer can always quote the result. At most max bytes of s are
 * shown; a cut is marked with "...". False on NOMEM. */
CCAI_MUST_CHECK bool Ccai_buf_append_loggable(Ccai_buf *b, const char *s, size_t len, size_t max);

/* Clock: monotonic and wall time in milliseconds (core/util.c). */
uint64_t Ccai_monotonic_ms(void);
int64_t Ccai_wall_ms(void);
/* "2024-10-08T02:00:00.123Z" into out (at least 32 bytes). */
void Ccai_format_iso8601(int64_t wall_ms, char *out, size_t outlen);

/* The proleptic Gregorian calendar, in days since 1970-01-01 (H. Hinnant's
 * algorithms; any year, negative ones included). */
int64_t Ccai_days_from_civil(int64_t y, int m, int d);
/* a / b rounded towards minus infinity (b > 0 or b < 0, not 0). */
int64_t Ccai_floor_div(int64_t a, int64_t b);
void Ccai_civil_from_days(int64_t days, int64_t *ret_y, int *ret_m, int *ret_d);

/* Delay before retrying after the attempt-th failure (1-based):
 * min(base_ms * 2^(attempt-1), max_ms) scaled by a random factor in
 * (0.75, 1], so clients that failed together spread out. */
uint64_t Ccai_backoff_ms(int attempt, uint32_t base_ms, uint32_t max_ms);
/* A printable excerpt of at most max bytes of body[0..len): control bytes
 * become spaces. Freed with ccai_free(); NULL on NOMEM. */
char *Ccai_printable_excerpt(const char *body, size_t len, size_t max);

/* Cryptographically random bytes; false when the system has none. */
CCAI_MUST_CHECK bool Ccai_random_bytes(void *out, size_t len);
/* A random RFC 4122 version 4 UUID, 36 characters + NUL. */
CCAI_MUST_CHECK bool Ccai_uuid4(char out[37]);
/* A random token of len alphanumeric characters + NUL. */
CCAI_MUST_CHECK bool Ccai_random_token(char *out, size_t len);

/* Per-handle error text. */
typedef struct Ccai_err {
    char *msg; /* NULL means "" */
} Ccai_err;

void Ccai_err_set(Ccai_err *e, const char *fmt, ...) CCAI_PRINTF(2, 3);
void Ccai_err_clear(Ccai_err *e);
const char *Ccai_err_get(const Ccai_err *e);
void Ccai_err_free(Ccai_err *e);

/* ASCII helpers, locale independent. */
static inline bool Ccai_is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
static inline bool Ccai_is_digit(int c)
{
    return c >= '0' && c <= '9';
}
static inline bool Ccai_is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static inline int Ccai_to_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}
int Ccai_strcasecmp(const char *a, const char *b);

#endif
