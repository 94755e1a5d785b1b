/* National numbering plans: a phone number said the national way ("085 771
 * 2044" in Ireland, "81 1234 5678" in Mexico) as E.164, and the region of
 * an E.164 number's country code. */
#ifndef CCAI_CORE_NUMBERING_H
#define CCAI_CORE_NUMBERING_H

#include "core/common.h"

#include <stddef.h>

/* The national number @p digits (digits only, as said, trunk prefix
 * included when said) of @p region (ISO 3166 alpha-2, any case: "IE") as
 * E.164 ("+353857712044") in @p out; false when the region has no plan
 * here or the digits are not one of its national numbers (a length or a
 * first digit it does not have). */
CCAI_MUST_CHECK bool Ccai_numbering_e164(const char *region, const char *digits, char *out,
                                         size_t cap);

/* The region of an E.164 number ("+353..." : "IE"; "+1..." : "US"), by
 * its longest known country code; NULL when none is known. */
const char *Ccai_numbering_region(const char *e164);

#endif
