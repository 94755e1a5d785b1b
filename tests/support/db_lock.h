/* Another process holding SQLite's write lock on a database, the way an
 * operator's shell or a second writer would: the real sqlite3 command-line
 * shell, fed "BEGIN IMMEDIATE;" on its standard input and kept waiting until
 * released.
 *
 * Lifecycle:
 *   1. db_lock_take() spawns sqlite3, waits until it holds the lock (it
 *      waits up to 10 s for another writer first), and checks it from a
 *      connection of this process.
 *   2. db_lock_held() tells whether some connection still holds it.
 *   3. db_lock_release() rolls back, lets sqlite3 exit and reaps it.
 *
 * Not part of libccai: POSIX + the sqlite3 library and shell. */
#ifndef CCAI_TEST_DB_LOCK_H
#define CCAI_TEST_DB_LOCK_H

#include <sys/types.h>

typedef struct db_lock {
    pid_t pid;
    int to_shell; /* its standard input */
    char flag[512];
} db_lock;

/* 0 when the lock is held by the new sqlite3 process, -1 on failure. */
int db_lock_take(db_lock *l, const char *db_path);
/* 1 when a connection holds the write lock of db_path now, 0 when not. */
int db_lock_held(const char *db_path);
/* The exit status of sqlite3 (0), or -1. */
int db_lock_release(db_lock *l);

#endif
