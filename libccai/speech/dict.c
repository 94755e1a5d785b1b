/* Pronunciation dictionary (see dict.h): one arena of "key\0phones\0"
 * records and an open-addressing hash of their offsets. */
#include "speech/dict.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct Ccai_pron_dict {
    char *arena; /* records "key\0phones\0" */
    size_t arena_len, arena_cap;
    uint32_t *slots; /* arena offset + 1 of each record; 0 = empty */
    size_t n_slots;  /* power of two, at least twice the entries */
    size_t n;
};

static uint32_t hash_key(const char *s, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

static bool key_byte_ok(unsigned char c)
{
    return c > 0x20 && c != 0x7F;
}

static bool phone_byte_ok(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '_';
}

/* The slot of key (len bytes): its record's slot, or the empty one where
 * it would go. */
static size_t find_slot(const Ccai_pron_dict *d, const char *key, size_t len)
{
    size_t mask = d->n_slots - 1;
    size_t i = hash_key(key, len) & mask;
    while (d->slots[i]) {
        const char *rec = d->arena + d->slots[i] - 1;
        if (strncmp(rec, key, len) == 0 && rec[len] == '\0')
            return i;
        i = (i + 1) & mask;
    }
    return i;
}

static bool arena_append(Ccai_pron_dict *d, const char *s, size_t len)
{
    if (d->arena_cap - d->arena_len < len + 1) {
        size_t cap = d->arena_cap ? d->arena_cap : 4096;
        while (cap - d->arena_len < len + 1)
            cap *= 2;
        char *a = Ccai_realloc(d->arena, cap);
        if (!a)
            return false;
        d->arena = a;
        d->arena_cap = cap;
    }
    memcpy(d->arena + d->arena_len, s, len);
    d->arena[d->arena_len + len] = '\0';
    d->arena_len += len + 1;
    return true;
}

static bool grow_slots(Ccai_pron_dict *d)
{
    size_t n_slots = d->n_slots ? d->n_slots * 2 : 1024;
    uint32_t *slots = Ccai_calloc(n_slots, sizeof *slots);
    if (!slots)
        return false;
    uint32_t *old = d->slots;
    size_t old_n = d->n_slots;
    d->slots = slots;
    d->n_slots = n_slots;
    for (size_t i = 0; i < old_n; i++) {
        if (!old[i])
            continue;
        const char *rec = d->arena + old[i] - 1;
        d->slots[find_slot(d, rec, strlen(rec))] = old[i];
    }
    ccai_free(old);
    return true;
}

void Ccai_pron_dict_free(Ccai_pron_dict *d)
{
    if (!d)
        return;
    ccai_free(d->arena);
    ccai_free(d->slots);
    ccai_free(d);
}

/* One line (no newline inside): an entry, a comment or nothing. */
static ccai_status parse_line(Ccai_pron_dict *d, const char *p, const char *end, size_t lineno,
                              Ccai_err *err)
{
    while (p < end && Ccai_is_space((unsigned char)*p))
        p++;
    if (p == end || (end - p >= 3 && memcmp(p, ";;;", 3) == 0) ||
        (end - p >= 2 && memcmp(p, "##", 2) == 0))
        return CCAI_OK;
    const char *key = p;
    while (p < end && !Ccai_is_space((unsigned char)*p)) {
        if (!key_byte_ok((unsigned char)*p)) {
            if (err)
                Ccai_err_set(err, "line %zu: a control byte in the word", lineno);
            return CCAI_ERR_PARSE;
        }
        p++;
    }
    size_t key_len = (size_t)(p - key);
    if (key_len > CCAI_PRON_KEY_MAX) {
        if (err)
            Ccai_err_set(err, "line %zu: a word longer than %d bytes", lineno, CCAI_PRON_KEY_MAX);
        return CCAI_ERR_PARSE;
    }
    /* The phones, normalised to single spaces, into a local buffer. */
    char phones[CCAI_PRON_PHONES_MAX * 9];
    size_t phones_len = 0, n_phones = 0;
    for (;;) {
        while (p < end && Ccai_is_space((unsigned char)*p))
            p++;
        if (p == end || *p == '#')
            break;
        const char *ph = p;
        while (p < end && !Ccai_is_space((unsigned char)*p)) {
            if (!phone_byte_ok((unsigned char)*p)) {
                if (err)
                    Ccai_err_set(err, "line %zu: '%c' in a phone (A-Z, 0-9, + and _ only)", lineno,
                                 key_byte_ok((unsigned char)*p) ? *p : '?');
                return CCAI_ERR_PARSE;
            }
            p++;
        }
        size_t ph_len = (size_t)(p - ph);
        if (ph_len > 8 || ++n_phones > CCAI_PRON_PHONES_MAX) {
            if (err)
                Ccai_err_set(err, "line %zu: more than %d phones or a phone over 8 bytes", lineno,
                             CCAI_PRON_PHONES_MAX);
            return CCAI_ERR_PARSE;
        }
        if (phones_len)
            phones[phones_len++] = ' ';
        memcpy(phones + phones_len, ph, ph_len);
        phones_len += ph_len;
    }
    if (!n_phones) {
        if (err)
            Ccai_err_set(err, "line %zu: a word without phones", lineno);
        return CCAI_ERR_PARSE;
    }
    if (d->slots && d->slots[find_slot(d, key, key_len)])
        return CCAI_OK; /* the first pronunciation of a key wins */
    if ((d->n + 1) * 2 > d->n_slots && !grow_slots(d))
        return CCAI_ERR_NOMEM;
    size_t off = d->arena_len;
    if (off >= UINT32_MAX - 1 || !arena_append(d, key, key_len) ||
        !arena_append(d, phones, phones_len))
        return CCAI_ERR_NOMEM;
    d->slots[find_slot(d, key, key_len)] = (uint32_t)(off + 1);
    d->n++;
    return CCAI_OK;
}

ccai_status Ccai_pron_dict_parse(const char *text, size_t len, Ccai_pron_dict **ret, Ccai_err *err)
{
    if (!ret || (!text && len))
        return CCAI_ERR_INVALID_ARG;
    if (len > CCAI_PRON_DICT_MAX_BYTES) {
        if (err)
            Ccai_err_set(err, "dictionary larger than %u bytes", CCAI_PRON_DICT_MAX_BYTES);
        return CCAI_ERR_LIMIT;
    }
    Ccai_pron_dict *d = Ccai_calloc(1, sizeof *d);
    if (!d)
        return CCAI_ERR_NOMEM;
    ccai_status st = grow_slots(d) ? CCAI_OK : CCAI_ERR_NOMEM;
    const char *p = text, *end = text + len;
    size_t lineno = 0;
    while (st == CCAI_OK && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        lineno++;
        if (memchr(p, '\0', (size_t)(line_end - p))) {
            if (err)
                Ccai_err_set(err, "line %zu: a NUL byte", lineno);
            st = CCAI_ERR_PARSE;
            break;
        }
        st = parse_line(d, p, line_end, lineno, err);
        p = nl ? nl + 1 : end;
    }
    if (st != CCAI_OK) {
        Ccai_pron_dict_free(d);
        return st;
    }
    *ret = d;
    return CCAI_OK;
}

ccai_status Ccai_pron_dict_load(const char *path, Ccai_pron_dict **ret, Ccai_err *err)
{
    if (!path || !ret)
        return CCAI_ERR_INVALID_ARG;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (err)
            Ccai_err_set(err, "%s: %s", path, strerror(errno));
        return CCAI_ERR_IO;
    }
    Ccai_buf b = {0};
    char chunk[65536];
    ccai_status st = CCAI_OK;
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + got > CCAI_PRON_DICT_MAX_BYTES) {
            if (err)
                Ccai_err_set(err, "%s: larger than %u bytes", path, CCAI_PRON_DICT_MAX_BYTES);
            st = CCAI_ERR_LIMIT;
            break;
        }
        if (!Ccai_buf_append(&b, chunk, got)) {
            st = CCAI_ERR_NOMEM;
            break;
        }
    }
    if (st == CCAI_OK && ferror(f)) {
        if (err)
            Ccai_err_set(err, "%s: read error", path);
        st = CCAI_ERR_IO;
    }
    fclose(f);
    if (st == CCAI_OK) {
        st = Ccai_pron_dict_parse(b.data ? b.data : "", b.len, ret, err);
        if (st == CCAI_ERR_PARSE && err) {
            char *msg = Ccai_asprintf("%s: %s", path, Ccai_err_get(err));
            if (msg) {
                Ccai_err_set(err, "%s", msg);
                ccai_free(msg);
            }
        }
    }
    Ccai_buf_free(&b);
    return st;
}

size_t Ccai_pron_dict_size(const Ccai_pron_dict *d)
{
    return d->n;
}

size_t Ccai_pron_dict_bytes(const Ccai_pron_dict *d)
{
    return sizeof *d + d->arena_cap + d->n_slots * sizeof *d->slots;
}

bool Ccai_pron_dict_key(const char *word, unsigned v, char *out, size_t cap)
{
    int n = v == 0 ? snprintf(out, cap, "%s", word) : snprintf(out, cap, "%s(%u)", word, v + 1);
    return n >= 0 && (size_t)n < cap;
}

const char *Ccai_pron_dict_get(const Ccai_pron_dict *d, const char *word, unsigned v)
{
    char key[CCAI_PRON_KEY_MAX + 8];
    if (!word || v >= CCAI_PRON_VARIANTS_MAX || !Ccai_pron_dict_key(word, v, key, sizeof key))
        return NULL;
    size_t len = strlen(key);
    uint32_t off = d->slots[find_slot(d, key, len)];
    if (!off)
        return NULL;
    const char *rec = d->arena + off - 1;
    return rec + len + 1;
}
