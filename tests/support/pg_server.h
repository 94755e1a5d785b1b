/* A real PostgreSQL server for tests and benchmarks: Debian's binaries
 * (initdb, pg_ctl from /usr/lib/postgresql/<version>/bin, or $PG_BINDIR),
 * a new cluster in a temporary directory, listening on 127.0.0.1 on a free
 * port and on a Unix socket in that directory, trust authentication for
 * the superuser "ccai".
 *
 * PostgreSQL refuses to run as root: when the process is root (CI
 * containers), initdb and the server run as the user "nobody", the
 * directory made theirs.
 *
 * Lifecycle:
 *   1. pg_server_start() makes and starts the cluster (0), or says that
 *      the binaries are absent (77: skip) or that it failed (-1, why on
 *      stderr, with the server's log).
 *   2. pg_server_schema_dsn() makes a new empty schema and gives a DSN
 *      whose search_path is it: each test's database is its own.
 *   pg_server_pause() (or pg_server_kill(), a crash) and pg_server_resume()
 *   stop it and start it again on its port (an outage, a restart).
 *   3. pg_server_stop() stops the server (fast shutdown) and removes the
 *      directory.
 *
 * Not part of libccai: POSIX + libpq. */
#ifndef CCAI_TEST_PG_SERVER_H
#define CCAI_TEST_PG_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct pg_server {
    char bindir[256];
    char dir[128]; /* the temporary directory (data in dir/data) */
    int port;
    uid_t uid; /* who runs the server */
    gid_t gid;
    bool as_other; /* not this process's user (root) */
    bool fsync;
    char dsn[256]; /* the database "postgres" */
    int schemas;
} pg_server;

/* fsync: whether the server syncs its commits (benchmarks: true; tests:
 * false, faster, the same behaviour). */
int pg_server_start(pg_server *s, bool fsync);
/* A new schema's DSN into out (size n); 0, or -1. */
int pg_server_schema_dsn(pg_server *s, char *out, size_t n);
/* Run sql on the database (one connection): 0, or -1 (why on stderr). */
int pg_server_exec(const pg_server *s, const char *sql);
/* Stop the server (fast shutdown), keeping its cluster: 0, or -1. */
int pg_server_pause(pg_server *s);
/* Kill it (pg_ctl stop -m immediate: no checkpoint, the connections cut
 * as by a crash; what was not committed is lost), keeping its cluster: 0,
 * or -1. */
int pg_server_kill(pg_server *s);
/* Start it again on the same port: 0, or -1. */
int pg_server_resume(pg_server *s);
void pg_server_stop(pg_server *s);

#endif
