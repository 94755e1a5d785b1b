/* Out-of-memory injection through the public allocator hooks, shared by the
 * api and unit OOM tests. Uses <ccai/ccai.h> only. */
#ifndef CCAI_TEST_OOM_H
#define CCAI_TEST_OOM_H

#include <ccai/ccai.h>

typedef ccai_status (*oom_scenario)(void);

/* Run fn with allocation k failing, for k = 0, 1, ... until a run no longer
 * reaches allocation k; that last run must end in CCAI_OK. Every run must
 * end in CCAI_OK or CCAI_ERR_NOMEM with no block leaked, else the test
 * fails. Prints "# name: K allocation points, N ended in CCAI_ERR_NOMEM".
 * Returns K; *ret_nomem (may be NULL) receives N. */
long oom_exhaust(const char *name, oom_scenario fn, int *ret_nomem);

#endif
