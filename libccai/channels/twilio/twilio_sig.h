/* X-Twilio-Signature: computing and validating the signature Twilio puts on
 * every webhook request (channels/twilio/twilio_sig.c).
 *
 * Form requests (voice, SMS, status callbacks): the signed string is the
 * full URL Twilio requested (scheme, host, path, query exactly as
 * configured), then for a POST every parameter as name + value with no
 * separator, ordered by name then value (byte-wise), an exact repeat of a
 * name=value pair counted once. GET requests sign the URL alone.
 * signature = Base64(HMAC-SHA1(key = auth token, message = that string)).
 *
 * JSON-body requests: the URL query carries bodySHA256=<hex SHA-256 of the
 * raw body>; the body must hash to it and the signature covers the URL only.
 *
 * Like Twilio's helper libraries (twilio-python request_validator.py), a
 * signature is accepted when it matches the URL with its port removed or the
 * URL with the scheme's default port added (":443" for https, ":80"
 * otherwise), since Twilio signs either form. Comparisons are constant-time. */
#ifndef CCAI_CHANNELS_TWILIO_TWILIO_SIG_H
#define CCAI_CHANNELS_TWILIO_TWILIO_SIG_H

#include "http/form.h"

/* The signature of url (+ params, NULL for none) as Base64 text, 28
 * characters. NULL on NOMEM, when OpenSSL fails, or when auth_token or url
 * is NULL. The URL is used exactly as given (no port rewriting).
 * Ownership: freed with ccai_free(). Context: any thread. */
char *Ccai_twilio_signature(const char *auth_token, const char *url, const Ccai_form *params);

/* Whether signature_header (the X-Twilio-Signature value) is a valid
 * signature of this request.
 *
 * url is the public URL Twilio requested (behind a proxy: rebuilt with the
 * public scheme and host). When its query has a bodySHA256 parameter the
 * request is checked as a JSON-body request: body[0..body_len) must hash to
 * it (body may be NULL only when body_len is 0) and params are ignored.
 * Otherwise params are the decoded form parameters of a POST (NULL for a
 * GET) and body is ignored.
 *
 * Returns false, never an error, for anything that does not validate: a NULL
 * or empty auth token, a NULL url or header, a body hash mismatch, or an
 * allocation failure (fails closed).
 * Ownership: borrows everything. Context: any thread. */
CCAI_MUST_CHECK bool Ccai_twilio_signature_valid(const char *auth_token, const char *url,
                                                 const Ccai_form *params, const char *body,
                                                 size_t body_len, const char *signature_header);

/* The same with the key's HMAC state computed once (a channel keeps one for
 * its token): the two signatures of a request then cost a copy of that
 * state and the hash of the data each, instead of OpenSSL's HMAC() setup. */
typedef struct Ccai_twilio_signer Ccai_twilio_signer;
/* NULL: out of memory, or OpenSSL failed. */
Ccai_twilio_signer *Ccai_twilio_signer_new(const char *auth_token);
void Ccai_twilio_signer_free(Ccai_twilio_signer *s);
/* Whether s was made for auth_token. */
CCAI_MUST_CHECK bool Ccai_twilio_signer_is(const Ccai_twilio_signer *s, const char *auth_token);
CCAI_MUST_CHECK bool Ccai_twilio_signer_valid(Ccai_twilio_signer *s, const char *url,
                                              const Ccai_form *params, const char *body,
                                              size_t body_len, const char *signature_header);

#endif
