/* Who this instance is, for the call leases (store.h, "Call leases"):
 * the engine takes and renews the lease of each call it holds, the router
 * hands a webhook of a call another instance holds to that instance
 * (http/forward.c). docs/deployment.md, "Several instances". */
#ifndef CCAI_STORE_LEASE_H
#define CCAI_STORE_LEASE_H

#include "core/common.h"

/* server.instance_id, or "<hostname>/<server.listen>" when it is empty:
 * a process started again is the same instance, and takes the calls it
 * held back at once. */
typedef struct Ccai_instance {
    char id[128];
    char url[256];    /* server.instance_url: where the others reach it, or "" */
    int64_t lease_ms; /* server.call_lease_ms */
} Ccai_instance;

/* Fill *ret from the configuration (and the host's name and pid). */
void Ccai_instance_get(const ccai_config *cfg, Ccai_instance *ret);

#endif
