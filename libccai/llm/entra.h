/* Entra ID (Azure AD) access tokens for Azure OpenAI, from the identity the
 * environment gives the process, as the reference's DefaultAzureCredential
 * finds it:
 *   1. workload identity: AZURE_FEDERATED_TOKEN_FILE + AZURE_CLIENT_ID +
 *      AZURE_TENANT_ID, exchanged at AZURE_AUTHORITY_HOST (default
 *      https://login.microsoftonline.com) for a token (client credentials
 *      with a client assertion, form-encoded POST);
 *   2. App Service / Container Apps managed identity: IDENTITY_ENDPOINT +
 *      IDENTITY_HEADER (GET, api-version 2019-08-01, X-IDENTITY-HEADER);
 *   3. the VM's managed identity at IMDS, 169.254.169.254 (GET, api-version
 *      2018-02-01, Metadata: true), or AZURE_POD_IDENTITY_AUTHORITY_HOST.
 * AZURE_CLIENT_ID picks a user-assigned identity in 2 and 3. Requests go
 * through the context's HTTP client (curl multi on the loop): nothing
 * blocks. The token is cached and fetched again before it expires (5
 * minutes, or half its life when shorter); callers that need one while it
 * is being fetched wait together. */
#ifndef CCAI_LLM_ENTRA_H
#define CCAI_LLM_ENTRA_H

#include "core/common.h"

typedef struct Ccai_entra Ccai_entra;

/* A caller waiting for a token (embedded in it). */
typedef struct Ccai_entra_wait {
    struct Ccai_entra_wait *next;
    void (*fn)(void *ud, ccai_status st, const char *errmsg);
    void *ud;
    bool waiting;
} Ccai_entra_wait;

/* The source from the environment @envp (NULL: the process's) and the
 * scope ("https://cognitiveservices.azure.com/.default"). NULL on NOMEM. */
Ccai_entra *Ccai_entra_new(const char *scope, const char *const *envp);
/* Cancels a fetch in flight; waiters are not called. */
void Ccai_entra_free(Ccai_entra *e);
/* "workload identity", "App Service managed identity", "IMDS managed identity". */
const char *Ccai_entra_source(const Ccai_entra *e);

/* The cached token when it is still good at @now_ms (wall), else NULL;
 * borrowed until the next call on @e. A token in its refresh window is
 * returned and a fetch started in the background. */
const char *Ccai_entra_token(Ccai_entra *e, ccai_ctx *ctx, int64_t now_ms);
/* Wait for a token: @w->fn is called from the loop once a fetch ends
 * (CCAI_OK: Ccai_entra_token() has it). A start that fails returns its
 * status and calls nothing. */
CCAI_MUST_CHECK ccai_status Ccai_entra_wait_token(Ccai_entra *e, ccai_ctx *ctx, Ccai_entra_wait *w,
                                                  void (*fn)(void *ud, ccai_status st,
                                                             const char *errmsg),
                                                  void *ud);
void Ccai_entra_unwait(Ccai_entra *e, Ccai_entra_wait *w);

/* A token endpoint's JSON reply (sans-I/O): the token and when it expires
 * (expires_in seconds, a number or a numeric string, from @now_ms; else
 * expires_on, Unix seconds). CCAI_ERR_PARSE with *ret_error (allocated) for
 * anything else, the endpoint's error and error_description included. */
#define CCAI_ENTRA_REPLY_MAX (64 * 1024)
CCAI_MUST_CHECK ccai_status Ccai_entra_parse_reply(const char *body, size_t len, int64_t now_ms,
                                                   char **ret_token, int64_t *ret_expires_ms,
                                                   char **ret_error);

#endif
