/* Shared by the commands of ccai-cli. */
#ifndef CCAI_CLI_CLI_H
#define CCAI_CLI_CLI_H

#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>

#include <stdio.h>

#define EXIT_CONFIG      2
#define EXIT_UNREACHABLE 3 /* the server could not be reached */
#define EXIT_USAGE       64

/* The ccai-server the API commands talk to without --server / $CCAI_SERVER. */
#define DEFAULT_SERVER "http://127.0.0.1:8080"

/* Default number of calls `calls` lists, and the most one page holds. */
#define CALLS_DEFAULT_LIMIT 20
#define CALLS_MAX_LIMIT     1000

typedef struct cli {
    const char *config_path;  /* --config, or NULL */
    const char *config_label; /* what was loaded, for the status line */
    int compact;              /* --compact: JSON on one line */
    int verbosity;            /* -v count */
    const char *server;       /* --server or $CCAI_SERVER; NULL: the local database */
    const char *server_from;  /* "--server" or "CCAI_SERVER", for error messages */
    char *token;              /* --token or $CCAI_TOKEN (a copy, never printed), or NULL */
    ccai_config *cfg;
    ccai_poll *loop;
    ccai_ctx *ctx;
} cli;

typedef struct command {
    const char *name;
    int (*run)(cli *c, int argc, char **argv);
    const char *synopsis;
    const char *help;
} command;

void print_json(FILE *out, const char *json, int compact);
void print_lines(const char *prefix, const char *text);
int load_config(cli *c);
int open_ctx(cli *c);
void cli_close(cli *c);
int wants_help(const char *arg);
int usage_error(const char *cmd, const char *fmt, ...) CCAI_PRINTF(2, 3);
/* "--name VALUE" or "--name=VALUE" at argv[*i]: 1 matched, 0 not, -1 no value. */
int option_value(int argc, char **argv, int *i, const char *name, const char **ret);

int cmd_chat(cli *c, int argc, char **argv);
/* docs.c: import, list, search, remove the documentation. */
int cmd_docs(cli *c, int argc, char **argv);
/* import.c: the reference's exported calls into the local database. */
int cmd_import(cli *c, int argc, char **argv);
/* The stored call at its end (chat.c): claim, next action, synthesis. */
void print_call_summary(cli *c, const char *call_id, int json);
/* voice.c: an audio call driven from WAV files and espeak-ng. */
int cmd_voice(cli *c, int argc, char **argv);

/* table.c: the `calls` table of a {"total":N,"calls":[...]} document;
 * -1 when the text is not such a document. */
int print_calls_table(FILE *out, const char *json, size_t offset);

/* client.c: the commands that talk to a ccai-server over HTTP. */
int is_place_option(const char *arg);
int cmd_place(cli *c, int argc, char **argv);
int cmd_export(cli *c, int argc, char **argv);
int cmd_health(cli *c, int argc, char **argv);
int remote_calls(cli *c, const char *phone, size_t limit, size_t offset, int json);
int remote_show(cli *c, const char *key);
/* chat --server: the local channel over HTTP (POST /chat ...). */
int remote_chat(cli *c, FILE *in, int interactive, int json, const char *phone, const char *lang);

#endif
