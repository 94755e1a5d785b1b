/* Shared by the commands of ccai-cli. */
#ifndef CCAI_CLI_CLI_H
#define CCAI_CLI_CLI_H

#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>

#include <stdio.h>

#define EXIT_CONFIG 2
#define EXIT_USAGE  64

/* Default number of calls `calls` lists. */
#define CALLS_DEFAULT_LIMIT 20

typedef struct cli {
    const char *config_path;  /* --config, or NULL */
    const char *config_label; /* what was loaded, for the status line */
    int compact;              /* --compact: JSON on one line */
    int verbosity;            /* -v count */
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

#endif
