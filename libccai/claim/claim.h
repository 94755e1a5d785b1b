/* Internal view of ccai_claim_schema (claim/claim.c, claim/validate.c). */
#ifndef CCAI_CLAIM_CLAIM_H
#define CCAI_CLAIM_CLAIM_H

#include "core/common.h"

#include <jansson.h>

/* Build a schema from an already parsed JSON array (the reference's shape).
 * *ret_errmsg (may be NULL) receives a message on failure. */
CCAI_MUST_CHECK ccai_status Ccai_claim_schema_from_jansson(const json_t *array,
                                                           ccai_claim_schema **ret,
                                                           char **ret_errmsg);

/* The schema, policyholder fields included, as a new JSON array. */
json_t *Ccai_claim_schema_to_jansson(const ccai_claim_schema *schema);

/* Validate a claim object in place: unknown keys and nulls dropped, values
 * normalised. On failure *ret_error names the first bad field. */
CCAI_MUST_CHECK ccai_status Ccai_claim_validate_object(const ccai_claim_schema *schema,
                                                       json_t *claim, char **ret_error);

/* True once the schema is shared (ref'ed) and immutable. */
CCAI_MUST_CHECK bool Ccai_claim_schema_frozen(const ccai_claim_schema *schema);

#endif
