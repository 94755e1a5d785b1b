/* Documents into chunks, sans I/O (rag/chunk.c): Markdown, HTML or plain
 * text in, the document's title and language and its chunks out, each
 * with the path of headings it sits under. Sections are cut by heading;
 * a section longer than max_chars is cut at paragraph, sentence or word
 * boundaries into chunks that repeat the end of the one before (overlap).
 * HTML loses its tags, comments, scripts and styles, and its entities are
 * decoded; Markdown loses its emphasis, link targets and list marks. */
#ifndef CCAI_RAG_CHUNK_H
#define CCAI_RAG_CHUNK_H

#include "core/common.h"

typedef enum Ccai_doc_format {
    CCAI_DOC_TEXT,
    CCAI_DOC_MARKDOWN,
    CCAI_DOC_HTML,
} Ccai_doc_format;

/* Limits: a document larger than CCAI_DOC_MAX_BYTES, or cut into more
 * than CCAI_DOC_MAX_CHUNKS chunks, is refused (CCAI_ERR_LIMIT). */
#define CCAI_DOC_MAX_BYTES   (16u * 1024u * 1024u)
#define CCAI_DOC_MAX_CHUNKS  20000u
#define CCAI_DOC_MAX_HEADING 200u /* bytes of one heading kept */
#define CCAI_DOC_MIN_CHARS   200u /* smallest max_chars */
#define CCAI_DOC_MAX_CHARS   100000u

typedef struct Ccai_chunk_opts {
    size_t max_chars;     /* most bytes of text in one chunk */
    size_t overlap_chars; /* bytes of the previous chunk repeated (< max_chars / 2) */
} Ccai_chunk_opts;

typedef struct Ccai_doc_chunk {
    char *heading; /* "Title > Section > Subsection", never NULL */
    char *text;    /* the chunk's text, never empty */
} Ccai_doc_chunk;

typedef struct Ccai_doc {
    char *title; /* <title>, front matter, the first heading; NULL when none */
    char *lang;  /* <html lang>, front matter lang/language; NULL when none */
    Ccai_doc_chunk *chunks;
    size_t n;
} Ccai_doc;

/* The format of a file by its name (.md, .markdown, .html, .htm, .xhtml;
 * anything else is text), or by its first bytes when the name says
 * nothing (<!DOCTYPE html> or <html). */
Ccai_doc_format Ccai_doc_format_of(const char *name, const char *data, size_t len);
const char *Ccai_doc_format_str(Ccai_doc_format f);

/* Parse and chunk data[0..len) (need not be NUL-terminated; bytes that are
 * not valid UTF-8 are replaced with U+FFFD). A document with no text gives
 * no chunk (n == 0). Statuses: CCAI_OK, CCAI_ERR_INVALID_ARG (opts out of
 * range), CCAI_ERR_LIMIT, CCAI_ERR_NOMEM. *ret freed with
 * Ccai_doc_free(). */
CCAI_MUST_CHECK ccai_status Ccai_doc_parse(const char *data, size_t len, Ccai_doc_format fmt,
                                           const Ccai_chunk_opts *opts, Ccai_doc **ret);
void Ccai_doc_free(Ccai_doc *d);

/* A language tag made regular ("fr" stays "fr", "fr_fr" becomes "fr-FR");
 * false when s is no language tag (letters, digits and '-' or '_', the
 * first part 2 or 3 letters). */
CCAI_MUST_CHECK bool Ccai_lang_normalize(const char *s, char out[16]);

#endif
