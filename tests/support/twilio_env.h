/* What the in-process Twilio channel tests (tests/integration/
 * test_twilio_flow.c, test_actions.c) share: a context on a poll loop with
 * the LLM stand-in as its fast model and the Twilio REST stand-in as
 * Twilio's API, webhooks posted as Twilio posts them (form body,
 * X-Twilio-Signature over the public URL), TwiML read back and its
 * <Redirect>s followed, the stand-in's requests counted. Not part of
 * libccai. */
#ifndef CCAI_TEST_TWILIO_ENV_H
#define CCAI_TEST_TWILIO_ENV_H

#include <ccai/adapters/poll.h>

#include "support/exchange.h"
#include "support/llm_standin.h"
#include "support/twilio_standin.h"

#include <stdbool.h>
#include <stddef.h>

#define TWILIO_ENV_PUBLIC_URL "https://bot.example.test"

typedef struct twilio_env {
    standin *llm;
    twilio_standin *tw;
    ccai_config *cfg;
    ccai_poll *poll;
    ccai_ctx *ctx;
    char db[256];
} twilio_env;

/* Both stand-ins started; the configuration: the database at @db, the fast
 * model, Twilio's account, token, number (+15550001111) and API base, the
 * public URL, the API token "api", en-US; then @fixed and @extra ("key",
 * "value", ..., NULL; either NULL); the context made. */
void twilio_env_init(twilio_env *e, const char *db, const char *const *fixed,
                     const char *const *extra);
/* One setting, failing the test with the configuration's reason. */
void twilio_env_set(twilio_env *e, const char *key, const char *value);
void twilio_env_free(twilio_env *e);

/* POST @pairs to @target as Twilio does; @forge signs with another token.
 * Waits for the (maybe late) answer. */
void twilio_env_webhook(twilio_env *e, const char *target, const char *const *pairs, bool forge,
                        http_answer *a);
/* The path and query of a URL under TWILIO_ENV_PUBLIC_URL. */
const char *twilio_env_local(const char *url);
/* The value of name="..." after the first occurrence of tag, XML-unescaped. */
void twilio_env_attr(const char *xml, const char *tag, const char *name, char *out, size_t len);
/* Follow <Redirect>s as Twilio does (posting CallSid @sid); all the TwiML
 * seen is appended to all. Returns the redirects followed. */
int twilio_env_follow(twilio_env *e, const char *sid, http_answer *a, char *all, size_t len);
/* Requests the Twilio stand-in got whose path contains @what and (@to not
 * NULL) whose To parameter is @to. */
int twilio_env_requests(twilio_env *e, const char *what, const char *to);

#endif
