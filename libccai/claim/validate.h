/* What the validators of claim values share (claim/validate.c): error texts
 * that quote the value (read back to the LLM, or spoken), trimming, handing
 * the result out. Dates and times are claim/validate_datetime.c. */
#ifndef CCAI_CLAIM_VALIDATE_H
#define CCAI_CLAIM_VALIDATE_H

#include "core/common.h"

/* Set *ret_error (when not NULL) to the quoted value (when not NULL), then
 * the formatted text. Returns CCAI_ERR_VALIDATION, or CCAI_ERR_NOMEM when
 * the message cannot be built. */
CCAI_MUST_CHECK ccai_status Ccai_valid_fail(char **ret_error, const char *value, const char *fmt,
                                            ...) CCAI_PRINTF(3, 4);
/* The value without leading and trailing ASCII whitespace, as [*b, *e). */
void Ccai_valid_trim(const char *value, size_t *b, size_t *e);
/* *ret_normalized = out; CCAI_ERR_NOMEM when out is NULL. */
CCAI_MUST_CHECK ccai_status Ccai_valid_hand_out(char *out, char **ret_normalized);
/* s starts with word (written in lower case), whatever the case of s. */
CCAI_MUST_CHECK bool Ccai_valid_prefix_nocase(const char *s, const char *word);

/* ccai_field_validate() of a datetime. */
CCAI_MUST_CHECK ccai_status Ccai_valid_datetime(const char *value, char **ret_normalized,
                                                char **ret_error);

#endif
