/* Per-handle error text. */
#include "core/common.h"

void Ccai_err_set(Ccai_err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    /* Out of memory while reporting: keep a static hint rather than nothing. */
    ccai_free(e->msg);
    e->msg = msg;
}

void Ccai_err_clear(Ccai_err *e)
{
    ccai_free(e->msg);
    e->msg = NULL;
}

const char *Ccai_err_get(const Ccai_err *e)
{
    return e->msg ? e->msg : "";
}

void Ccai_err_free(Ccai_err *e)
{
    Ccai_err_clear(e);
}
