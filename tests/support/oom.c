/* Out-of-memory injection (see the header). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/oom.h"

#include <stdlib.h>

static long fail_at = -1; /* the allocation number that fails, -1 = none */
static long n_allocs;
static long outstanding;

static void *t_malloc(size_t size, void *ud)
{
    (void)ud;
    if (fail_at >= 0 && n_allocs++ == fail_at)
        return NULL;
    void *p = malloc(size);
    if (p)
        outstanding++;
    return p;
}

static void *t_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    if (fail_at >= 0 && n_allocs++ == fail_at)
        return NULL;
    void *p = realloc(ptr, size);
    if (p && !ptr)
        outstanding++;
    return p;
}

static void t_free(void *ptr, void *ud)
{
    (void)ud;
    if (ptr)
        outstanding--;
    free(ptr);
}

long oom_exhaust(const char *name, oom_scenario fn, int *ret_nomem)
{
    ccai_allocator a = {CCAI_ALLOCATOR_VERSION, t_malloc, t_realloc, t_free, NULL,
                        CCAI_ALLOCATOR_JSON};
    assert_int_equal(ccai_set_allocator(&a), CCAI_OK);
    long k;
    int nomem = 0;
    for (k = 0;; k++) {
        fail_at = k;
        n_allocs = 0;
        outstanding = 0;
        ccai_status st = fn();
        if (st != CCAI_OK && st != CCAI_ERR_NOMEM)
            fail_msg("%s: allocation %ld failing gave %s", name, k, ccai_status_str(st));
        if (outstanding != 0)
            fail_msg("%s: allocation %ld failing leaked %ld blocks", name, k, outstanding);
        if (st == CCAI_ERR_NOMEM)
            nomem++;
        if (n_allocs <= k) {
            assert_int_equal(st, CCAI_OK);
            break;
        }
    }
    fail_at = -1;
    assert_int_equal(ccai_set_allocator(NULL), CCAI_OK);
    print_message("# %s: %ld allocation points, %d ended in CCAI_ERR_NOMEM\n", name, k, nomem);
    if (ret_nomem)
        *ret_nomem = nomem;
    return k;
}
