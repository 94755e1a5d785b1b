/* Lookups in the compiled-in data files (see the header). */
#include "core/embedded.h"

#include <string.h>

const Ccai_embedded *Ccai_embedded_find(const char *path)
{
    size_t lo = 0, hi = Ccai_embedded_count;
    while (lo < hi) { /* sorted by strcmp() order: the generator sorts bytes */
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(path, Ccai_embedded_files[mid].path);
        if (c == 0)
            return &Ccai_embedded_files[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *Ccai_embedded_text(const char *path)
{
    const Ccai_embedded *e = Ccai_embedded_find(path);
    return e ? (const char *)e->data : NULL;
}
