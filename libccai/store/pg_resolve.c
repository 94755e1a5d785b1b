/* Resolving the DSN's host names without blocking the connecting thread
 * (store/pg_private.h: Ccai_pg_resolve()).
 *
 * libpq resolves a host name with a blocking getaddrinfo() inside
 * PQconnectStart(): a resolver that does not answer holds the thread for
 * its own timeouts (glibc: 5 s per try and server, retried), longer than
 * database.postgresql.connect_timeout_ms, and nothing can interrupt it.
 * That thread is the context's loop when the store reconnects (every call
 * of the process waits), or a documents worker that ccai_ctx_free() must
 * join. So the names are resolved here on a detached thread of their own
 * (`ccai-dns`), and the connecting thread waits for its answer with poll()
 * on an eventfd, bounded by the connection's deadline and woken by the
 * store's wake-up fd; the connection is then made with `hostaddr` set to
 * the address found (libpq then resolves nothing; `host` stays for TLS
 * and the server's name in errors). A resolver that is late leaves its
 * thread behind until getaddrinfo() returns: it owns what it uses and
 * frees it (a reference count), and touches nothing else.
 *
 * A lookup is shared: while one for the same names is in flight (the
 * process-wide list below), a connection tried again waits for its answer
 * instead of starting another thread, so a resolver that never answers
 * costs one thread per DSN, not one per connection tried; and at most
 * LOOKUPS_MAX lookups are in flight in the process, a connection past that
 * failing at once ("... lookups still pending"). No waiter reads the
 * eventfd: once written it stays readable for every waiter.
 *
 * A name with several addresses ("localhost": ::1 and 127.0.0.1) is
 * given as that many hosts, in getaddrinfo()'s order (at most
 * RESOLVE_ADDRS_MAX, beyond any real name's), each with its address and
 * port, so libpq still tries them in turn; an IPv6 link-local address
 * keeps its scope ("fe80::1%eth0", getnameinfo()'s form, which libpq's
 * numeric getaddrinfo() reads). A name that gives no address is left
 * out, with its port, and the others tried (as libpq does), the connection
 * failing only when none is left. A DSN with `hostaddr` already, a socket
 * directory, a numeric address or a service (whose file names the host)
 * needs no resolution here, nor one whose port list libpq would refuse
 * (neither one port nor one per host): libpq says why. */
#include "store/pg_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define RESOLVE_HOSTS_MAX 8
#define RESOLVE_ADDRS_MAX 32
#define LOOKUPS_MAX       16
/* an address as getnameinfo() writes it, an IPv6 scope included */
#define ADDR_CAP (INET6_ADDRSTRLEN + IF_NAMESIZE + 1)

typedef struct resolve_job {
    atomic_int refs;          /* the waiters and the thread */
    int efd;                  /* written once the thread is done */
    struct resolve_job *next; /* in g_lookups while in flight */
    char *key;                /* the names, as the DSN lists them */
    size_t n;
    char *name[RESOLVE_HOSTS_MAX];             /* NULL: nothing to resolve for that host */
    char (*addr[RESOLVE_HOSTS_MAX])[ADDR_CAP]; /* naddr[k] of them */
    size_t naddr[RESOLVE_HOSTS_MAX];
    int gai_err; /* of the first name that failed, 0 */
    size_t failed;
    size_t nfailed; /* names that gave no address: left out (libpq tries the next host) */
} resolve_job;

/* The lookups in flight (process-wide state: docs/threading.md). */
static pthread_mutex_t g_lookups_lock = PTHREAD_MUTEX_INITIALIZER;
static resolve_job *g_lookups;
static size_t g_nlookups;

static void job_free(resolve_job *j)
{
    for (size_t k = 0; k < j->n; k++) {
        free(j->name[k]);
        free(j->addr[k]);
    }
    free(j->key);
    free(j);
}

static void job_release(resolve_job *j)
{
    if (atomic_fetch_sub(&j->refs, 1) != 1)
        return;
    close(j->efd);
    job_free(j);
}

static void *resolve_thread(void *arg)
{
    resolve_job *j = arg;
    (void)pthread_setname_np(pthread_self(), "ccai-dns");
    for (size_t k = 0; k < j->n; k++) {
        if (!j->name[k])
            continue;
        struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
        struct addrinfo *res = NULL;
        int rc = getaddrinfo(j->name[k], NULL, &hints, &res);
        if (rc == 0 && !(j->addr[k] = calloc(RESOLVE_ADDRS_MAX, sizeof *j->addr[k])))
            rc = EAI_MEMORY;
        for (struct addrinfo *ai = rc == 0 ? res : NULL; ai && j->naddr[k] < RESOLVE_ADDRS_MAX;
             ai = ai->ai_next) {
            char *out = j->addr[k][j->naddr[k]];
            /* numeric, with an IPv6 link-local address's scope */
            if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
                getnameinfo(ai->ai_addr, ai->ai_addrlen, out, ADDR_CAP, NULL, 0, NI_NUMERICHOST) !=
                    0)
                continue;
            bool seen = false;
            for (size_t m = 0; m < j->naddr[k] && !seen; m++)
                seen = strcmp(j->addr[k][m], out) == 0;
            j->naddr[k] += !seen;
        }
        if (!j->naddr[k]) {
            if (!j->gai_err) {
                j->gai_err = rc ? rc : EAI_FAIL;
                j->failed = k;
            }
            j->nfailed++;
        }
        if (res)
            freeaddrinfo(res);
    }
    /* out of the list first: a connection tried from now on asks again */
    pthread_mutex_lock(&g_lookups_lock);
    for (resolve_job **p = &g_lookups; *p; p = &(*p)->next) {
        if (*p == j) {
            *p = j->next;
            g_nlookups--;
            break;
        }
    }
    pthread_mutex_unlock(&g_lookups_lock);
    uint64_t one = 1;
    while (write(j->efd, &one, sizeof one) < 0 && errno == EINTR)
        ;
    job_release(j);
    return NULL;
}

/* Does this host need a name resolved: not empty, not a socket directory
 * ("/run/postgresql", "@abstract"), not an address already? */
static bool is_name(const char *h, size_t n)
{
    if (n == 0 || h[0] == '/' || h[0] == '@')
        return false;
    char buf[INET6_ADDRSTRLEN + 1];
    if (n >= sizeof buf)
        return true;
    memcpy(buf, h, n);
    buf[n] = '\0';
    unsigned char tmp[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, buf, tmp) != 1 && inet_pton(AF_INET6, buf, tmp) != 1;
}

void Ccai_pg_conninfo_free(Ccai_pg_conninfo *p)
{
    if (!p)
        return;
    for (size_t k = 0; k < p->n; k++) {
        ccai_free(p->keys[k]);
        ccai_free(p->vals[k]);
    }
    ccai_free(p->keys);
    ccai_free(p->vals);
    ccai_free(p);
}

/* Item k of a comma-separated list ("a,b,c"), or the whole value when it
 * has no comma (libpq: one port for every host). */
static void list_item(const char *v, size_t k, const char **ret, size_t *ret_len)
{
    if (!strchr(v, ',')) {
        *ret = v;
        *ret_len = strlen(v);
        return;
    }
    const char *p = v;
    for (size_t i = 0; i < k && p; i++) {
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    if (!p) {
        *ret = "";
        *ret_len = 0;
        return;
    }
    const char *e = strchr(p, ',');
    *ret = p;
    *ret_len = e ? (size_t)(e - p) : strlen(p);
}

/* The DSN's parameters with the names' addresses: each host as many
 * times as it has addresses, hostaddr and port to match. */
static CCAI_MUST_CHECK Ccai_pg_conninfo *params_with(PQconninfoOption *opts, const char *hosts,
                                                     const char *port, const resolve_job *j)
{
    size_t n = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++)
        n += o->val != NULL;
    Ccai_pg_conninfo *p = Ccai_calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->keys = Ccai_calloc(n + 4, sizeof *p->keys);
    p->vals = Ccai_calloc(n + 4, sizeof *p->vals);
    if (!p->keys || !p->vals) {
        Ccai_pg_conninfo_free(p);
        return NULL;
    }
    Ccai_buf hb = {0}, ab = {0}, pb = {0};
    bool ok = true, first = true;
    for (size_t k = 0; ok && k < j->n; k++) {
        const char *h, *pt = NULL;
        size_t hl, pl = 0;
        list_item(hosts, k, &h, &hl);
        if (port)
            list_item(port, k, &pt, &pl);
        /* a name that gave no address is left out with its port, as libpq
         * would try the next host */
        size_t times = j->name[k] ? j->naddr[k] : 1;
        for (size_t m = 0; ok && m < times; m++, first = false) {
            const char *a = j->name[k] ? j->addr[k][m] : "";
            ok = (first || (Ccai_buf_puts(&hb, ",") && Ccai_buf_puts(&ab, ",") &&
                            (!port || Ccai_buf_puts(&pb, ",")))) &&
                 Ccai_buf_append(&hb, h, hl) && Ccai_buf_puts(&ab, a) &&
                 (!port || Ccai_buf_append(&pb, pt, pl));
        }
    }
    for (PQconninfoOption *o = opts; ok && o->keyword; o++) {
        if (!o->val || strcmp(o->keyword, "hostaddr") == 0 || strcmp(o->keyword, "host") == 0 ||
            strcmp(o->keyword, "port") == 0)
            continue;
        ok = (p->keys[p->n] = Ccai_strdup(o->keyword)) && (p->vals[p->n] = Ccai_strdup(o->val));
        p->n++;
    }
    static const char *const keys[] = {"host", "hostaddr", "port"};
    Ccai_buf *bufs[] = {&hb, &ab, &pb};
    for (size_t k = 0; ok && k < 3; k++) {
        if (k == 2 && !port)
            break;
        ok = (p->keys[p->n] = Ccai_strdup(keys[k])) && (p->vals[p->n] = Ccai_buf_steal(bufs[k]));
        p->n++;
    }
    Ccai_buf_free(&hb);
    Ccai_buf_free(&ab);
    Ccai_buf_free(&pb);
    if (!ok) {
        Ccai_pg_conninfo_free(p);
        return NULL;
    }
    return p;
}

/* How many items a comma-separated list has. */
static size_t list_len(const char *v)
{
    size_t n = 1;
    for (; *v; v++)
        n += *v == ',';
    return n;
}

/* Start the thread of a new lookup j (its refs set for the thread and
 * the waiter). false: it could not start (nothing of j shared). */
static CCAI_MUST_CHECK bool start_thread(resolve_job *j)
{
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return false;
    (void)pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    /* getaddrinfo() and its NSS modules, not 8 MB */
    (void)pthread_attr_setstacksize(&attr, 256 * 1024);
    /* No signal of the host's on it (as the documents' workers). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t t;
    int rc = pthread_create(&t, &attr, resolve_thread, j);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    return rc == 0;
}

/* The lookup of j's names: one in flight for the same names (j freed), or
 * j itself started on its thread; NULL with why when neither. */
static resolve_job *lookup_for(resolve_job *j, char *why, size_t cap)
{
    pthread_mutex_lock(&g_lookups_lock);
    resolve_job *found = g_lookups;
    while (found && strcmp(found->key, j->key) != 0)
        found = found->next;
    if (found) {
        atomic_fetch_add(&found->refs, 1);
        pthread_mutex_unlock(&g_lookups_lock);
        job_free(j);
        return found;
    }
    if (g_nlookups >= LOOKUPS_MAX) {
        pthread_mutex_unlock(&g_lookups_lock);
        snprintf(why, cap,
                 "no address for the database host: %zu name lookups still pending "
                 "(the name resolver does not answer)",
                 (size_t)LOOKUPS_MAX);
        job_free(j);
        return NULL;
    }
    atomic_init(&j->refs, 2);
    if ((j->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        pthread_mutex_unlock(&g_lookups_lock);
        snprintf(why, cap, "eventfd: %s", strerror(errno));
        job_free(j);
        return NULL;
    }
    /* listed before the thread runs: it takes itself out when done */
    j->next = g_lookups;
    g_lookups = j;
    g_nlookups++;
    if (!start_thread(j)) {
        g_lookups = j->next;
        g_nlookups--;
        pthread_mutex_unlock(&g_lookups_lock);
        snprintf(why, cap, "could not start the name resolver's thread");
        close(j->efd);
        job_free(j);
        return NULL;
    }
    pthread_mutex_unlock(&g_lookups_lock);
    return j;
}

int Ccai_pg_resolve(const char *dsn, int wake_fd, uint64_t deadline, Ccai_pg_conninfo **ret,
                    char *why, size_t cap)
{
    *ret = NULL;
    why[0] = '\0';
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &err);
    if (!opts) {
        /* PQconnectStart() says what is wrong with the DSN */
        PQfreemem(err);
        return 1;
    }
    PQconninfoOption *host = NULL, *hostaddr = NULL, *port = NULL;
    bool service = getenv("PGSERVICE") != NULL;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (strcmp(o->keyword, "host") == 0)
            host = o;
        else if (strcmp(o->keyword, "hostaddr") == 0)
            hostaddr = o;
        else if (strcmp(o->keyword, "port") == 0)
            port = o;
        else if (strcmp(o->keyword, "service") == 0 && o->val)
            service = true;
    }
    /* the environment's, as libpq reads them for a DSN without */
    const char *hosts = host && host->val ? host->val : getenv("PGHOST");
    const char *addrs = hostaddr && hostaddr->val ? hostaddr->val : getenv("PGHOSTADDR");
    const char *ports = port && port->val ? port->val : getenv("PGPORT");
    resolve_job *j = NULL;
    int result = 1;
    /* a service file's host is read by libpq: a host given here would
     * override it, so libpq resolves it as before; so does a port list
     * libpq refuses, which it then says */
    if (!hosts || (addrs && *addrs) || service ||
        (ports && list_len(ports) != 1 && list_len(ports) != list_len(hosts)))
        goto done;
    j = calloc(1, sizeof *j);
    if (!j)
        goto done; /* libpq resolves, as before */
    bool any = false;
    for (const char *h = hosts;; h++) {
        const char *e = strchr(h, ',');
        size_t len = e ? (size_t)(e - h) : strlen(h);
        if (j->n == RESOLVE_HOSTS_MAX)
            goto done;
        if (is_name(h, len)) {
            if (!(j->name[j->n] = strndup(h, len)))
                goto done;
            any = true;
        }
        j->n++;
        if (!e)
            break;
        h = e;
    }
    if (!any)
        goto done;
    if (!(j->key = strdup(hosts))) {
        snprintf(why, cap, "out of memory");
        result = 0;
        goto done;
    }
    resolve_job *mine = lookup_for(j, why, cap);
    j = NULL; /* freed, or shared with the thread from here */
    if (!mine) {
        result = 0;
        goto done;
    }
    for (;;) {
        uint64_t now = Ccai_monotonic_ms();
        if (now >= deadline) {
            snprintf(why, cap,
                     "no address for the database host within the connect timeout "
                     "(its name resolver does not answer)");
            result = 0;
            break;
        }
        struct pollfd pfd[2] = {{.fd = mine->efd, .events = POLLIN},
                                {.fd = wake_fd, .events = POLLIN}};
        uint64_t left = deadline - now;
        int np = poll(pfd, wake_fd >= 0 ? 2 : 1, left > 60000 ? 60000 : (int)left);
        if (np > 0 && pfd[1].revents) {
            result = -1;
            break;
        }
        if (np > 0 && pfd[0].revents) {
            if (mine->nfailed == mine->n) {
                snprintf(why, cap, "could not resolve the database host \"%s\": %s",
                         mine->name[mine->failed], gai_strerror(mine->gai_err));
                result = 0;
            } else if (!(*ret = params_with(opts, hosts, ports, mine))) {
                snprintf(why, cap, "out of memory");
                result = 0;
            }
            break;
        }
        if (np < 0 && errno != EINTR) {
            snprintf(why, cap, "poll: %s", strerror(errno));
            result = 0;
            break;
        }
    }
    job_release(mine);
done:
    if (j)
        job_free(j);
    PQconninfoFree(opts);
    return result;
}
