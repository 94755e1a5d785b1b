/* A real PostgreSQL server for tests (tests/support/pg_server.h). */
#include "support/pg_server.h"

#include <libpq-fe.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Where initdb is: $PG_BINDIR, else the newest /usr/lib/postgresql/N/bin. */
static int find_bindir(pg_server *s)
{
    const char *env = getenv("PG_BINDIR");
    char path[400];
    if (env && *env) {
        snprintf(s->bindir, sizeof s->bindir, "%s", env);
        snprintf(path, sizeof path, "%s/initdb", s->bindir);
        return access(path, X_OK) == 0 ? 0 : -1;
    }
    DIR *d = opendir("/usr/lib/postgresql");
    if (!d)
        return -1;
    int best = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        int v = atoi(e->d_name);
        snprintf(path, sizeof path, "/usr/lib/postgresql/%s/bin/initdb", e->d_name);
        if (v > best && access(path, X_OK) == 0)
            best = v;
    }
    closedir(d);
    if (best < 0)
        return -1;
    snprintf(s->bindir, sizeof s->bindir, "/usr/lib/postgresql/%d/bin", best);
    return 0;
}

/* Run argv as the server's user, its output into dir/log; its exit status. */
static int run(const pg_server *s, const char *const argv[])
{
    char log[200];
    snprintf(log, sizeof log, "%s/log", s->dir);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (s->as_other && (setgroups(0, NULL) != 0 || setgid(s->gid) != 0 || setuid(s->uid) != 0))
            _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void show_log(const pg_server *s)
{
    char path[200], line[512];
    snprintf(path, sizeof path, "%s/log", s->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    fprintf(stderr, "--- %s\n", path);
    while (fgets(line, sizeof line, f))
        fputs(line, stderr);
    fclose(f);
}

/* pg_ctl start on s->port: its exit status. */
static int start_on_port(const pg_server *s)
{
    char data[200], pg_ctl[300], opts[400], log[200];
    snprintf(data, sizeof data, "%s/data", s->dir);
    snprintf(pg_ctl, sizeof pg_ctl, "%s/pg_ctl", s->bindir);
    snprintf(log, sizeof log, "%s/server.log", s->dir);
    snprintf(opts, sizeof opts,
             "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=%s -c max_connections=60 "
             "-c shared_buffers=32MB",
             s->port, s->dir, s->fsync ? "on" : "off");
    const char *const start_argv[] = {pg_ctl, "-D", data, "-l", log,     "-w",
                                      "-t",   "60", "-o", opts, "start", NULL};
    return run(s, start_argv);
}

int pg_server_start(pg_server *s, bool fsync)
{
    memset(s, 0, sizeof *s);
    if (find_bindir(s) != 0)
        return 77;
    snprintf(s->dir, sizeof s->dir, "/tmp/ccai-pg-XXXXXX");
    if (!mkdtemp(s->dir))
        return -1;
    s->uid = getuid();
    s->gid = getgid();
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("nobody");
        if (!pw) {
            fprintf(stderr, "pg_server: running as root and there is no user nobody\n");
            return -1;
        }
        s->uid = pw->pw_uid;
        s->gid = pw->pw_gid;
        s->as_other = true;
        if (chown(s->dir, s->uid, s->gid) != 0)
            return -1;
    }
    char data[200], initdb[300], log[200];
    snprintf(data, sizeof data, "%s/data", s->dir);
    snprintf(initdb, sizeof initdb, "%s/initdb", s->bindir);
    snprintf(log, sizeof log, "%s/server.log", s->dir);
    const char *const init_argv[] = {initdb,  "-D", data,   "-U",         "ccai",      "-A",
                                     "trust", "-E", "UTF8", "--locale=C", "--no-sync", NULL};
    if (run(s, init_argv) != 0) {
        fprintf(stderr, "pg_server: initdb failed\n");
        show_log(s);
        return -1;
    }
    /* A port from the pid and the clock; another one if it is taken. */
    srand((unsigned)getpid() ^ (unsigned)time(NULL));
    s->fsync = fsync;
    for (int attempt = 0; attempt < 8; attempt++) {
        s->port = 30000 + rand() % 2000;
        if (start_on_port(s) == 0) {
            snprintf(s->dsn, sizeof s->dsn,
                     "host=127.0.0.1 port=%d user=ccai dbname=postgres connect_timeout=10",
                     s->port);
            return 0;
        }
    }
    fprintf(stderr, "pg_server: the server did not start\n");
    show_log(s);
    FILE *f = fopen(log, "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            fputs(line, stderr);
        fclose(f);
    }
    return -1;
}

int pg_server_exec(const pg_server *s, const char *sql)
{
    PGconn *c = PQconnectdb(s->dsn);
    int rc = -1;
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "pg_server: connect: %s", PQerrorMessage(c));
    } else {
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
            rc = 0;
        else
            fprintf(stderr, "pg_server: %s: %s", sql, PQerrorMessage(c));
        PQclear(r);
    }
    PQfinish(c);
    return rc;
}

int pg_server_schema_dsn(pg_server *s, char *out, size_t n)
{
    char sql[64];
    int k = ++s->schemas;
    snprintf(sql, sizeof sql, "CREATE SCHEMA t%d", k);
    if (pg_server_exec(s, sql) != 0)
        return -1;
    int w = snprintf(out, n, "%s options='-csearch_path=t%d'", s->dsn, k);
    return w > 0 && (size_t)w < n ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int stop_mode(pg_server *s, const char *mode)
{
    char data[200], pg_ctl[300];
    snprintf(data, sizeof data, "%s/data", s->dir);
    snprintf(pg_ctl, sizeof pg_ctl, "%s/pg_ctl", s->bindir);
    const char *const stop_argv[] = {pg_ctl, "-D", data, "-m", mode, "-w", "stop", NULL};
    return run(s, stop_argv) == 0 ? 0 : -1;
}

int pg_server_pause(pg_server *s)
{
    return stop_mode(s, "fast");
}

int pg_server_kill(pg_server *s)
{
    return stop_mode(s, "immediate");
}

int pg_server_resume(pg_server *s)
{
    return start_on_port(s) == 0 ? 0 : -1;
}

void pg_server_stop(pg_server *s)
{
    if (!s->dir[0])
        return;
    if (s->port) {
        char data[200], pg_ctl[300];
        snprintf(data, sizeof data, "%s/data", s->dir);
        snprintf(pg_ctl, sizeof pg_ctl, "%s/pg_ctl", s->bindir);
        const char *const stop_argv[] = {pg_ctl, "-D", data, "-m", "fast", "-w", "stop", NULL};
        if (run(s, stop_argv) != 0)
            show_log(s);
    }
    nftw(s->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    s->dir[0] = '\0';
}
