/* Another process holding SQLite's write lock (see the header). */
#include "support/db_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int say(int fd, const char *text)
{
    size_t len = strlen(text);
    while (len) {
        ssize_t n = write(fd, text, len);
        if (n <= 0)
            return -1;
        text += n;
        len -= (size_t)n;
    }
    return 0;
}

int db_lock_held(const char *db_path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return 0;
    }
    sqlite3_busy_timeout(db, 0);
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    return rc == SQLITE_BUSY;
}

int db_lock_take(db_lock *l, const char *db_path)
{
    memset(l, 0, sizeof *l);
    l->pid = -1;
    l->to_shell = -1;
    snprintf(l->flag, sizeof l->flag, "%s.locked", db_path);
    unlink(l->flag);
    /* A write on a closed pipe must fail, not kill the test. */
    signal(SIGPIPE, SIG_IGN);
    int in[2];
    if (pipe(in) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_addclose(&fa, in[1]);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    char *argv[] = {(char *)"sqlite3", (char *)db_path, NULL};
    int rc = posix_spawnp(&l->pid, "sqlite3", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    if (rc != 0) {
        close(in[1]);
        l->pid = -1;
        return -1;
    }
    l->to_shell = in[1];
    /* .shell runs once BEGIN IMMEDIATE returned: the flag says the shell
     * got past it (checked below: it may have failed). */
    char cmd[700];
    snprintf(cmd, sizeof cmd, ".timeout 10000\nBEGIN IMMEDIATE;\n.shell touch '%s'\n", l->flag);
    if (say(l->to_shell, cmd) != 0) {
        db_lock_release(l);
        return -1;
    }
    struct stat sb;
    for (int i = 0; i < 1200 && stat(l->flag, &sb) != 0; i++)
        nap_ms(10);
    if (stat(l->flag, &sb) != 0 || !db_lock_held(db_path)) {
        db_lock_release(l);
        return -1;
    }
    return 0;
}

int db_lock_release(db_lock *l)
{
    if (l->pid <= 0)
        return -1;
    if (l->to_shell >= 0) {
        say(l->to_shell, "ROLLBACK;\n.quit\n");
        close(l->to_shell);
        l->to_shell = -1;
    }
    int status = 0;
    pid_t pid = l->pid;
    l->pid = -1;
    unlink(l->flag);
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
