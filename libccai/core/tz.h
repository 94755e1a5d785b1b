/* Time zones for the {date} of the prompts, without touching the process TZ.
 *
 * localtime_r() follows the process-wide TZ variable, which is neither
 * thread-safe to change nor ours to change. So zones are read here: a TZif
 * file (RFC 8536, versions 1 to 4) is parsed by a sans-I/O parser into a
 * Ccai_tz the caller owns; times after the last transition follow the
 * POSIX TZ rule of the file's footer ("CET-1CEST,M3.5.0,M10.5.0/3").
 * Nothing is cached: the library keeps no global state (a call keeps the
 * zone of its caller, engine/conversation.c). */
#ifndef CCAI_CORE_TZ_H
#define CCAI_CORE_TZ_H

#include "core/common.h"

typedef struct Ccai_tz Ccai_tz;

/* Where Ccai_tz_load() reads zones. */
#define CCAI_TZ_DIR "/usr/share/zoneinfo"
/* Largest TZif file accepted (real ones are below 4 KiB). */
#define CCAI_TZ_FILE_MAX (256 * 1024)
/* Longest zone name, NUL excluded. */
#define CCAI_TZ_NAME_MAX 64

/* The IANA zone of a phone number, from its country calling code ("+33..."
 * or "0033..."; the longest known prefix wins). Never NULL: "UTC" when the
 * number is NULL, malformed or from an unknown country. Returns a static
 * string. */
const char *Ccai_tz_for_phone(const char *e164);

/* The zones of the calling code table, one per index (repeats included);
 * NULL past the end. Lets tests check that each one exists. */
const char *Ccai_tz_known_zone(size_t index);

/* True when @zone is a name Ccai_tz_load() accepts: 1 to CCAI_TZ_NAME_MAX
 * characters of [A-Za-z0-9_+-/], no leading '/', no empty component. */
CCAI_MUST_CHECK bool Ccai_tz_name_valid(const char *zone);

/* Parse a TZif file held in buf[0..len). The 64-bit section is used when
 * the file has one. Statuses: CCAI_OK; CCAI_ERR_PARSE (truncated, corrupt,
 * or a footer rule this parser does not understand); CCAI_ERR_LIMIT (more
 * than CCAI_TZ_FILE_MAX bytes); CCAI_ERR_NOMEM; CCAI_ERR_INVALID_ARG.
 * Ownership: *ret is the caller's (Ccai_tz_free()), untouched on failure. */
CCAI_MUST_CHECK ccai_status Ccai_tz_parse(const uint8_t *buf, size_t len, Ccai_tz **ret);

/* Read and parse CCAI_TZ_DIR/<zone>. Statuses: as Ccai_tz_parse(), and
 * CCAI_ERR_INVALID_ARG (invalid name), CCAI_ERR_NOT_FOUND (no such zone
 * file), CCAI_ERR_IO. Ownership: as Ccai_tz_parse(). */
CCAI_MUST_CHECK ccai_status Ccai_tz_load(const char *zone, Ccai_tz **ret);
/* The same from another directory (tests, hosts shipping their tzdata). */
CCAI_MUST_CHECK ccai_status Ccai_tz_load_from(const char *dir, const char *zone, Ccai_tz **ret);

/* UTC, abbreviated "UTC". Statuses: CCAI_OK, CCAI_ERR_NOMEM. */
CCAI_MUST_CHECK ccai_status Ccai_tz_new_utc(Ccai_tz **ret);

/* Accepts NULL. */
void Ccai_tz_free(Ccai_tz *tz);

/* The offset east of UTC in seconds, the abbreviation ("CEST", "+04";
 * borrowed from tz, valid until Ccai_tz_free()) and whether daylight
 * saving time applies, at unix time @t. Outputs may be NULL. */
void Ccai_tz_lookup(const Ccai_tz *tz, int64_t t, int32_t *ret_utoff, const char **ret_abbr,
                    bool *ret_isdst);

/* The instant of a local time: @p local is the wall-clock time in tz
 * counted like Unix time (seconds since 1970-01-01 00:00 as if the zone
 * were UTC). *ret_t gets the Unix time, *ret_utoff the offset in effect
 * then. A local time that does not exist (skipped when the clocks go
 * forward) is moved forward by the gap (02:30 becomes 03:30 the new
 * offset); one that happens twice (the clocks go back) is the first one.
 * tz NULL is UTC. Outputs may be NULL. */
void Ccai_tz_from_local(const Ccai_tz *tz, int64_t local, int64_t *ret_t, int32_t *ret_utoff);

/* Longest text Ccai_tz_localize_iso() / Ccai_tz_iso_at() write, NUL
 * included ("2024-10-08T14:30:00-07:00"). */
#define CCAI_TZ_ISO_MAX 32

/* A date and time as ccai_field_validate() normalises it:
 * "YYYY-MM-DDTHH:MM:SS", then nothing, "Z" or "+hh:mm"/"-hh:mm". Without
 * an offset it is a local time in tz: written back with the offset in
 * effect then ("2024-10-08T14:30:00-07:00", see Ccai_tz_from_local());
 * with one it is copied as it is. *ret_ms (may be NULL) gets the instant
 * (Unix milliseconds). Statuses: CCAI_OK; CCAI_ERR_PARSE (not that form,
 * or a year outside 1..9999); CCAI_ERR_LIMIT (outlen below
 * CCAI_TZ_ISO_MAX); CCAI_ERR_INVALID_ARG. */
CCAI_MUST_CHECK ccai_status Ccai_tz_localize_iso(const Ccai_tz *tz, const char *iso, char *out,
                                                 size_t outlen, int64_t *ret_ms);

/* Unix milliseconds as a local time in tz with its offset,
 * "2024-10-08T14:30:00-07:00". Statuses: as Ccai_tz_format(). */
CCAI_MUST_CHECK ccai_status Ccai_tz_iso_at(const Ccai_tz *tz, int64_t wall_ms, char *out,
                                           size_t outlen);

/* wall_ms (milliseconds since the epoch) as local time in tz, formatted
 * "Mon 15 Jul 2024, 12:43 (CEST)" (seconds left out on purpose: the text
 * goes into prompts and should not change every second). Statuses:
 * CCAI_OK; CCAI_ERR_LIMIT (out too small: CCAI_TZ_FORMAT_MAX bytes are
 * always enough); CCAI_ERR_INVALID_ARG (also for a year outside 1..9999). */
#define CCAI_TZ_FORMAT_MAX 48
CCAI_MUST_CHECK ccai_status Ccai_tz_format(const Ccai_tz *tz, int64_t wall_ms, char *out,
                                           size_t outlen);

/* Load @zone; when it cannot be loaded (tzdata not installed, invalid or
 * unknown name) UTC instead, and a warning goes to @lg (may be NULL).
 * Statuses: CCAI_OK (also after a fall back to UTC); CCAI_ERR_NOMEM
 * (never taken for a missing zone). Ownership: as Ccai_tz_load(). */
CCAI_MUST_CHECK ccai_status Ccai_tz_load_or_utc(const char *zone, const Ccai_logger *lg,
                                                Ccai_tz **ret);

#endif
