/* Allocation through the host's hooks. The allocator and jansson's saved
 * hooks are two of libccai's three pieces of process-wide state (the third
 * is the global initialisation, io/http.c); see ccai_set_allocator(). */
#include "core/common.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *default_malloc(size_t size, void *ud)
{
    CCAI_UNUSED(ud);
    return malloc(size);
}

static void *default_realloc(void *ptr, size_t size, void *ud)
{
    CCAI_UNUSED(ud);
    return realloc(ptr, size);
}

static void default_free(void *ptr, void *ud)
{
    CCAI_UNUSED(ud);
    free(ptr);
}

static ccai_allocator allocator = {
    CCAI_ALLOCATOR_VERSION, default_malloc, default_realloc, default_free, NULL, 0,
};

/* jansson has process-wide hooks without user data. Only when the host asks
 * (CCAI_ALLOCATOR_JSON) are they routed to ours, so that the JSON values
 * libccai builds obey the host's allocator too; the hooks found then are
 * kept, to be given back when the host stops asking. */
static json_malloc_t json_saved_malloc;
static json_free_t json_saved_free;
static bool json_routed;

static void *json_hook_malloc(size_t size)
{
    return allocator.malloc(size, allocator.ud);
}
static void json_hook_free(void *ptr)
{
    if (ptr)
        allocator.free(ptr, allocator.ud);
}

static void json_route(bool on)
{
    if (on == json_routed)
        return;
    if (on) {
        json_get_alloc_funcs(&json_saved_malloc, &json_saved_free);
        json_set_alloc_funcs(json_hook_malloc, json_hook_free);
    } else {
        json_set_alloc_funcs(json_saved_malloc, json_saved_free);
    }
    json_routed = on;
}

CCAI_EXPORT ccai_status ccai_set_allocator(const ccai_allocator *a)
{
    if (!a) {
        json_route(false);
        allocator = (ccai_allocator){
            CCAI_ALLOCATOR_VERSION, default_malloc, default_realloc, default_free, NULL, 0,
        };
        return CCAI_OK;
    }
    if (a->version < 1 || a->version > CCAI_ALLOCATOR_VERSION || !a->malloc || !a->realloc ||
        !a->free)
        return CCAI_ERR_INVALID_ARG;
    /* A table of version 1 ends after ud: read flags only when it has them. */
    uint32_t flags = a->version >= 2 ? a->flags : 0;
    if (flags & ~(uint32_t)CCAI_ALLOCATOR_JSON)
        return CCAI_ERR_INVALID_ARG;
    /* jansson's hooks go back to what they were before libccai's own
     * allocator changes under them. */
    if (!(flags & CCAI_ALLOCATOR_JSON))
        json_route(false);
    allocator = (ccai_allocator){
        CCAI_ALLOCATOR_VERSION, a->malloc, a->realloc, a->free, a->ud, flags,
    };
    json_route(flags & CCAI_ALLOCATOR_JSON);
    return CCAI_OK;
}

void *Ccai_malloc(size_t size)
{
    return allocator.malloc(size ? size : 1, allocator.ud);
}

void *Ccai_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = Ccai_malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *Ccai_realloc(void *ptr, size_t size)
{
    return allocator.realloc(ptr, size ? size : 1, allocator.ud);
}

CCAI_EXPORT void ccai_free(void *ptr)
{
    if (ptr)
        allocator.free(ptr, allocator.ud);
}

char *Ccai_strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    size_t len = strnlen(s, n);
    char *d = Ccai_malloc(len + 1);
    if (!d)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *Ccai_strdup(const char *s)
{
    return s ? Ccai_strndup(s, SIZE_MAX) : NULL;
}

bool Ccai_str_replace(char **dst, const char *src)
{
    char *copy = NULL;
    if (src && !(copy = Ccai_strdup(src)))
        return false;
    ccai_free(*dst);
    *dst = copy;
    return true;
}

char *Ccai_vasprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *out = Ccai_malloc((size_t)n + 1);
    if (!out)
        return NULL;
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    return out;
}

char *Ccai_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    return out;
}
