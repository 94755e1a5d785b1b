/* The report web pages: server-rendered HTML for one call (web/report.c)
 * and for the list of calls (web/report_list.c), written with
 * web/report_page.h.
 *
 * Pages are self-contained: the CSS is inline, there is no script, no font
 * and no request to another origin, so they work offline and under a
 * Content-Security-Policy that forbids scripts (the pages carry one in a
 * <meta> element). Every text and attribute coming from a call document is
 * escaped; links taken from documents are kept only for http(s) and
 * relative URLs. A page shows its instants in one time zone, stated on
 * the page with a form to change it: the viewer's choice (?tz=IANA name,
 * carried on the page's links), else UTC on the list and the caller's zone
 * (from the phone number's country, UTC when unknown) on a call's page; a
 * claim's date and time said without a zone is shown as said, with the
 * caller's zone named. The raw ISO 8601 text is in the datetime attribute
 * of a <time> element. The call's own words (messages, summary, claim
 * values, reminders, next action) carry the call's language as their lang.
 *
 * Rendering reads the time zone files under CCAI_TZ_DIR and the wall clock
 * (to mark overdue reminders); nothing else. No global state: any thread. */
#ifndef CCAI_WEB_REPORT_H
#define CCAI_WEB_REPORT_H

#include "core/common.h"

#include <jansson.h>

/* What the viewer of a call's page asked for and may open. */
typedef struct Ccai_report_view {
    const char *zone; /* the viewer's ?tz= (NULL or "": the caller's zone) */
    bool list_link;   /* the viewer may open the list: "All calls" is shown */
    /* The LLM's translation of the labels into the call's language
     * (Ccai_engine_texts(e, "report.", lang)); NULL: the compiled-in ones
     * of its language (fr, es), else English. */
    const json_t *labels;
} Ccai_report_view;

/* The page for one call. @call_doc is a call document as produced by
 * ccai_call_get_json() (fields that are missing or of the wrong type are
 * shown as absent, never trusted). @base_path is prefixed to internal links
 * ("" or "/prefix", no trailing slash; NULL means ""). @access_query is
 * appended to internal links ("?token=..." or ""; NULL means "") and is
 * carried by the search form as hidden fields. @view (NULL: defaults,
 * with the list link) says the viewer's zone and whether "All calls" is
 * linked (not for a viewer who came with the per-call key only: the list
 * would answer 401). Returns the HTML document, or NULL when @call_doc is
 * not an object or on out of memory. Ownership: the result is the caller's, freed with
 * ccai_free(); nothing is retained. */
char *Ccai_report_call_html(const json_t *call_doc, const char *base_path, const char *access_query,
                            const Ccai_report_view *view);

/* The list page. @list is {"total": N, "calls": [call documents]} (as
 * ccai_call_list_json() returns); rows are shown newest first. @phone_filter
 * (NULL or "" for none) fills the search box and the pagination links.
 * @limit (0 means 100) and @offset are those used for the query, for the
 * counts and the previous/next links. @base_path and @access_query as for
 * Ccai_report_call_html(); @zone the viewer's ?tz= (NULL or "": UTC); @labels as
 * Ccai_report_list_lang() says. Returns NULL when @list is
 * not an object or on out of memory. Ownership: as Ccai_report_call_html(). */
char *Ccai_report_list_html(const json_t *list, const char *phone_filter, size_t limit,
                            size_t offset, const char *base_path, const char *access_query,
                            const char *zone, const json_t *labels);
/* The language of a list page: for one phone number's calls, that of its
 * newest call shown (a checked tag, borrowed from @list); else NULL
 * (English: the list of everyone's calls has no one language). @labels of
 * Ccai_report_list_html() are its LLM translation (NULL: the compiled-in
 * ones, else English). */
const char *Ccai_report_list_lang(const json_t *list, const char *phone_filter);

/* A small error page: "<status> <reason phrase>" and @message (NULL
 * allowed), escaped. NULL on out of memory. Ownership: as above. */
char *Ccai_report_error_html(int status, const char *message);

#endif
