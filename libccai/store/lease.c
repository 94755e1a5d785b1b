/* This instance's identity for the call leases (store/lease.h). */
#include "store/lease.h"

#include "config/config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

void Ccai_instance_get(const ccai_config *cfg, Ccai_instance *ret)
{
    memset(ret, 0, sizeof *ret);
    const char *id = Ccai_config_str(cfg, "server.instance_id");
    if (id && *id) {
        snprintf(ret->id, sizeof ret->id, "%s", id);
    } else {
        /* The same after a restart (the calls it held are its own at once),
         * another for each listener of the host. */
        char host[64] = "";
        if (gethostname(host, sizeof host - 1) != 0 || !host[0])
            snprintf(host, sizeof host, "localhost");
        const char *listen = Ccai_config_str(cfg, "server.listen");
        snprintf(ret->id, sizeof ret->id, "%s/%s", host, listen ? listen : "");
    }
    const char *url = Ccai_config_str(cfg, "server.instance_url");
    snprintf(ret->url, sizeof ret->url, "%s", url ? url : "");
    size_t n = strlen(ret->url);
    while (n && ret->url[n - 1] == '/')
        ret->url[--n] = '\0';
    ret->lease_ms = Ccai_config_int(cfg, "server.call_lease_ms", 10000);
}
