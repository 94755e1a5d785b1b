/* Data files compiled into the library: data/openapi.json, data/report.css,
 * data/prompts/..., so that it needs no data files at run time.
 *
 * The table is generated at build time by scripts/embed-data.py (a meson
 * custom target, libccai/meson.build) from the files under data/; nothing
 * generated is committed. Paths are relative to data/ ("prompts/llm/
 * chat_system.md"), '/'-separated, sorted in byte order. */
#ifndef CCAI_CORE_EMBEDDED_H
#define CCAI_CORE_EMBEDDED_H

#include <stddef.h>

typedef struct Ccai_embedded {
    const char *path;
    const unsigned char *data;
    size_t len; /* data[len] is a NUL */
} Ccai_embedded;

/* The generated table (a build-directory source). */
extern const Ccai_embedded Ccai_embedded_files[];
extern const size_t Ccai_embedded_count;

/* The file at path, NULL when there is none. Ownership: static data, valid
 * for the life of the process. Context: any thread. */
const Ccai_embedded *Ccai_embedded_find(const char *path);

/* Its bytes as a NUL-terminated string, NULL when there is none. */
const char *Ccai_embedded_text(const char *path);

#endif
