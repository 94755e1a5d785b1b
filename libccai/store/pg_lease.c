/* Call leases on PostgreSQL (store.h, "Call leases"): the compare-and-set
 * is one INSERT ... ON CONFLICT DO UPDATE ... WHERE, atomic under
 * concurrent instances (the row is locked by the conflict's update). */
#include "store/pg_private.h"

#include <stdio.h>
#include <string.h>

CCAI_MUST_CHECK ccai_status Ccai_pg_lease_get(Ccai_store *store, const char *call_id,
                                              Ccai_store_lease *ret)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, call_id);
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, "read call lease", PG_LEASE_GET, &p, &r);
    if (status != CCAI_OK)
        return status;
    if (PQntuples(r) == 0) {
        status = Ccai_pg_fail(st, CCAI_ERR_NOT_FOUND, "store: no lease on call %s", call_id);
    } else {
        snprintf(ret->owner, sizeof ret->owner, "%s", PQgetvalue(r, 0, 0));
        snprintf(ret->url, sizeof ret->url, "%s", PQgetvalue(r, 0, 1));
        ret->expires_at = Ccai_pg_int64(r, 0, 2);
    }
    PQclear(r);
    return status;
}

CCAI_MUST_CHECK ccai_status Ccai_pg_lease_acquire(Ccai_store *store, const char *call_id,
                                                  const char *owner, const char *url, int64_t now,
                                                  int64_t ttl_ms, Ccai_store_lease *ret_holder)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, call_id);
    Ccai_pg_text(&p, owner);
    Ccai_pg_text(&p, url ? url : "");
    Ccai_pg_int(&p, now + ttl_ms);
    Ccai_pg_int(&p, now);
    PGresult *r = NULL;
    ccai_status status = Ccai_pg_run(st, "acquire call lease", PG_LEASE_ACQUIRE, &p, &r);
    if (status != CCAI_OK)
        return status;
    int rows = PQntuples(r);
    PQclear(r);
    if (rows > 0)
        return CCAI_OK;
    /* Held by another: who (it may have been released since: then the
     * caller tries again later, as for a lease held). */
    Ccai_store_lease held = {0};
    status = Ccai_pg_lease_get(store, call_id, &held);
    if (status != CCAI_OK && status != CCAI_ERR_NOT_FOUND)
        return status;
    if (ret_holder)
        *ret_holder = held;
    return Ccai_pg_fail(st, CCAI_ERR_CONFLICT, "store: call %s is held by %s", call_id,
                        held.owner[0] ? held.owner : "another instance");
}

CCAI_MUST_CHECK ccai_status Ccai_pg_lease_release(Ccai_store *store, const char *call_id,
                                                  const char *owner)
{
    Ccai_pg *st = Ccai_pg_of(store);
    if (!st)
        return CCAI_ERR_INVALID_ARG;
    Ccai_pg_params p = {0};
    Ccai_pg_text(&p, call_id);
    Ccai_pg_text(&p, owner);
    return Ccai_pg_run(st, "release call lease", PG_LEASE_RELEASE, &p, NULL);
}
