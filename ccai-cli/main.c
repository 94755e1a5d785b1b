/*
 * ccai-cli: command-line client of libccai.
 *
 * It sees libccai only through the public API (<ccai/ccai.h> and the poll
 * adapter), like any host would; the commands that talk to a ccai-server
 * live in client.c. Exit codes: 0 success, 1 failure (database, call not
 * found, the server answered an error), 2 invalid configuration, 3 the
 * server cannot be reached, 64 usage error.
 */
#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const command *find_command(const char *name);

/* ------------------------------------------------------------------------ */
/* Output                                                                   */
/* ------------------------------------------------------------------------ */

static void indent(FILE *out, int depth)
{
    fputc('\n', out);
    for (int i = 0; i < depth; i++)
        fputs("  ", out);
}

/*
 * Re-indent JSON text (two spaces per level) without parsing it into a tree:
 * whitespace outside strings is dropped and put back where it reads well.
 * Malformed input comes out mangled but whole.
 */
void print_json(FILE *out, const char *json, int compact)
{
    int depth = 0;
    int in_string = 0;
    const char *p;

    if (compact) {
        fputs(json, out);
        fputc('\n', out);
        return;
    }
    for (p = json; *p; p++) {
        char ch = *p;
        if (in_string) {
            fputc(ch, out);
            if (ch == '\\' && p[1]) {
                fputc(*++p, out);
            } else if (ch == '"') {
                in_string = 0;
            }
            continue;
        }
        switch (ch) {
        case ' ':
        case '\t':
        case '\n':
        case '\r': break;
        case '"':
            in_string = 1;
            fputc(ch, out);
            break;
        case '{':
        case '[': {
            const char *q = p + 1;
            while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
                q++;
            fputc(ch, out);
            if (*q == '}' || *q == ']') {
                fputc(*q, out);
                p = q;
                break;
            }
            indent(out, ++depth);
            break;
        }
        case '}':
        case ']':
            indent(out, depth > 0 ? --depth : 0);
            fputc(ch, out);
            break;
        case ',':
            fputc(ch, out);
            indent(out, depth);
            break;
        case ':': fputs(": ", out); break;
        default: fputc(ch, out); break;
        }
    }
    fputc('\n', out);
}

/* The number after "total": in a ccai_ctx_calls_list_json() answer, or -1. */
static long long json_total(const char *json)
{
    const char *p = strstr(json, "\"total\"");
    char *end;
    long long n;

    if (!p)
        return -1;
    p += strlen("\"total\"");
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    if (*p != ':')
        return -1;
    p++;
    errno = 0;
    n = strtoll(p, &end, 10);
    if (end == p || errno != 0 || n < 0)
        return -1;
    return n;
}

/* Print a multi-line error text one line at a time, prefixed. */
void print_lines(const char *prefix, const char *text)
{
    while (*text) {
        size_t len = strcspn(text, "\n");
        if (len > 0)
            fprintf(stderr, "%s%.*s\n", prefix, (int)len, text);
        text += len;
        if (*text == '\n')
            text++;
    }
}

static void log_to_stderr(ccai_log_level level, const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "ccai-cli: %s: %s\n", ccai_log_level_str(level), msg);
}

/* ------------------------------------------------------------------------ */
/* Configuration and context                                                */
/* ------------------------------------------------------------------------ */

static int config_failed(const cli *c, ccai_status st, const char *what)
{
    const char *msg = ccai_config_errmsg(c->cfg);
    if (msg && *msg) {
        print_lines("", msg);
    } else {
        fprintf(stderr, "ccai-cli: %s: %s\n", what, ccai_status_str(st));
    }
    return st == CCAI_ERR_NOMEM ? EXIT_FAILURE : EXIT_CONFIG;
}

/*
 * The effective configuration: embedded defaults, then one YAML source
 * (--config FILE, else $CONFIG_YAML, else ./config.yaml when present), then
 * the environment overrides.
 */
int load_config(cli *c)
{
    const char *env_yaml = getenv("CONFIG_YAML");
    ccai_log_level level = CCAI_LOG_WARN;
    ccai_status st;

    st = ccai_config_new(&c->cfg);
    if (st != CCAI_OK) {
        fprintf(stderr, "ccai-cli: cannot create a configuration: %s\n", ccai_status_str(st));
        return EXIT_FAILURE;
    }
    if (c->verbosity == 1)
        level = CCAI_LOG_INFO;
    else if (c->verbosity > 1)
        level = CCAI_LOG_DEBUG;
    st = ccai_config_set_logger(c->cfg, log_to_stderr, NULL, level);
    if (st != CCAI_OK)
        return config_failed(c, st, "logger");
    /* Every problem of the file, the environment and the rules at once
     * (validation, or ccai_ctx_new()'s, reports them). */
    st = ccai_config_set_collect(c->cfg, 1);
    if (st != CCAI_OK)
        return config_failed(c, st, "collect");

    if (c->config_path) {
        c->config_label = c->config_path;
        st = ccai_config_load(c->cfg, c->config_path);
    } else if (env_yaml && *env_yaml) {
        c->config_label = "<env CONFIG_YAML>";
        st = ccai_config_load_string(c->cfg, env_yaml, strlen(env_yaml), c->config_label);
    } else if (getenv("CONFIG_JSON") && *getenv("CONFIG_JSON")) {
        /* The reference's variable: its configuration as JSON (YAML too). */
        c->config_label = "<env CONFIG_JSON>";
        st = ccai_config_load_string(c->cfg, getenv("CONFIG_JSON"), strlen(getenv("CONFIG_JSON")),
                                     c->config_label);
    } else if (access("config.yaml", F_OK) == 0) {
        c->config_label = "./config.yaml";
        st = ccai_config_load(c->cfg, "config.yaml");
    } else {
        c->config_label = "embedded defaults (no ./config.yaml)";
        st = CCAI_OK;
    }
    if (st == CCAI_ERR_IO) {
        const char *msg = ccai_config_errmsg(c->cfg);
        fprintf(stderr, "ccai-cli: cannot read %s: %s\n", c->config_label,
                msg && *msg ? msg : ccai_status_str(st));
        return EXIT_CONFIG;
    }
    if (st != CCAI_OK)
        return config_failed(c, st, c->config_label);

    st = ccai_config_apply_env(c->cfg, NULL);
    if (st != CCAI_OK)
        return config_failed(c, st, "environment");
    return EXIT_SUCCESS;
}

int open_ctx(cli *c)
{
    char *err = NULL;
    ccai_status st = ccai_poll_new(c->cfg, &c->loop, &c->ctx, &err);

    if (st == CCAI_OK)
        return EXIT_SUCCESS;
    if (st == CCAI_ERR_CONFIG) {
        const char *msg = ccai_config_errmsg(c->cfg);
        print_lines("", err && *err ? err : msg);
        if (!(err && *err) && !(msg && *msg))
            fprintf(stderr, "ccai-cli: %s\n", ccai_status_str(st));
        ccai_free(err);
        return EXIT_CONFIG;
    }
    fprintf(stderr, "ccai-cli: cannot open the context: %s%s%s\n", ccai_status_str(st),
            err && *err ? ": " : "", err ? err : "");
    ccai_free(err);
    return EXIT_FAILURE;
}

void cli_close(cli *c)
{
    /* Every command is synchronous: nothing is left in flight to wait for. */
    ccai_poll_free(c->loop);
    c->loop = NULL;
    c->ctx = NULL;
    ccai_config_free(c->cfg);
    c->cfg = NULL;
}

/* Number of stored calls, or -1 with the error printed. */
static long long count_calls(cli *c)
{
    char *json = NULL;
    long long total;
    ccai_status st = ccai_ctx_calls_list_json(c->ctx, NULL, 1, 0, &json);

    if (st != CCAI_OK) {
        fprintf(stderr, "ccai-cli: cannot list calls: %s: %s\n", ccai_status_str(st),
                ccai_ctx_errmsg(c->ctx));
        return -1;
    }
    total = json_total(json);
    ccai_free(json);
    if (total < 0)
        fprintf(stderr, "ccai-cli: the call list has no \"total\"\n");
    return total;
}

/* ------------------------------------------------------------------------ */
/* Argument helpers                                                         */
/* ------------------------------------------------------------------------ */

int wants_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fputs("ccai-cli: ", stderr);
    if (cmd)
        fprintf(stderr, "%s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'ccai-cli %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
    return EXIT_USAGE;
}

/*
 * Match "--name VALUE" or "--name=VALUE" at argv[*i]; advance *i past the
 * value. Returns 1 on a match, 0 on none, -1 when the value is missing.
 */
int option_value(int argc, char **argv, int *i, const char *name, const char **ret)
{
    const char *arg = argv[*i];
    size_t len = strlen(name);

    if (strncmp(arg, name, len) != 0)
        return 0;
    if (arg[len] == '=') {
        *ret = arg + len + 1;
        return 1;
    }
    if (arg[len] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *ret = argv[++*i];
    return 1;
}

static int parse_size(const char *text, size_t *ret)
{
    char *end;
    unsigned long long n;

    if (!*text || *text == '-' || *text == '+')
        return -1;
    errno = 0;
    n = strtoull(text, &end, 10);
    if (*end || errno != 0 || n > (unsigned long long)SIZE_MAX)
        return -1;
    *ret = (size_t)n;
    return 0;
}

/* Rejects any argument of a command that takes none. */
static int no_arguments(const char *cmd, int argc, char **argv)
{
    if (argc > 1)
        return usage_error(cmd, "unexpected argument '%s'", argv[1]);
    return EXIT_SUCCESS;
}

/* ------------------------------------------------------------------------ */
/* Commands                                                                 */
/* ------------------------------------------------------------------------ */

static int cmd_version(cli *c, int argc, char **argv)
{
    int rc = no_arguments("version", argc, argv);
    (void)c;
    if (rc != EXIT_SUCCESS)
        return rc;
    printf("ccai-cli %s (libccai %s)\n", CCAI_VERSION_STRING, ccai_version());
    return EXIT_SUCCESS;
}

static int cmd_config(cli *c, int argc, char **argv)
{
    char *json = NULL;
    ccai_status st;
    int rc = no_arguments("config", argc, argv);

    if (rc != EXIT_SUCCESS)
        return rc;
    rc = load_config(c);
    if (rc != EXIT_SUCCESS)
        return rc;
    st = ccai_config_validate(c->cfg);
    if (st != CCAI_OK)
        return config_failed(c, st, "validation");
    st = ccai_config_to_json(c->cfg, 1, &json);
    if (st != CCAI_OK) {
        fprintf(stderr, "ccai-cli: cannot print the configuration: %s\n", ccai_status_str(st));
        return EXIT_FAILURE;
    }
    print_json(stdout, json, c->compact);
    ccai_free(json);
    return EXIT_SUCCESS;
}

static int cmd_db(cli *c, int argc, char **argv)
{
    long long total;
    int rc = no_arguments("db", argc, argv);

    if (rc != EXIT_SUCCESS)
        return rc;
    rc = load_config(c);
    if (rc == EXIT_SUCCESS)
        rc = open_ctx(c);
    if (rc != EXIT_SUCCESS)
        return rc;
    total = count_calls(c);
    if (total < 0)
        return EXIT_FAILURE;
    printf("database: %s\n", ccai_ctx_database_path(c->ctx));
    printf("calls: %lld\n", total);
    return EXIT_SUCCESS;
}

static int cmd_calls(cli *c, int argc, char **argv)
{
    const char *phone = NULL;
    const char *value = NULL;
    size_t limit = CALLS_DEFAULT_LIMIT;
    size_t offset = 0;
    int as_json = 0;
    char *json = NULL;
    ccai_status st;
    int rc;

    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--json") == 0) {
            as_json = 1;
        } else if ((m = option_value(argc, argv, &i, "--phone", &value)) != 0) {
            if (m < 0)
                return usage_error("calls", "%s needs a value", "--phone");
            phone = value;
        } else if ((m = option_value(argc, argv, &i, "--limit", &value)) != 0) {
            if (m < 0 || parse_size(value, &limit) != 0 || limit == 0)
                return usage_error("calls", "--limit needs a number >= 1, got '%s'",
                                   m < 0 ? "" : value);
        } else if ((m = option_value(argc, argv, &i, "--offset", &value)) != 0) {
            if (m < 0 || parse_size(value, &offset) != 0)
                return usage_error("calls", "--offset needs a number >= 0, got '%s'",
                                   m < 0 ? "" : value);
        } else {
            return usage_error("calls", "unexpected argument '%s'", argv[i]);
        }
    }
    if (limit > CALLS_MAX_LIMIT)
        limit = CALLS_MAX_LIMIT;
    if (c->server)
        return remote_calls(c, phone, limit, offset, as_json);
    rc = load_config(c);
    if (rc == EXIT_SUCCESS)
        rc = open_ctx(c);
    if (rc != EXIT_SUCCESS)
        return rc;
    st = ccai_ctx_calls_list_json(c->ctx, phone, limit, offset, &json);
    if (st != CCAI_OK) {
        fprintf(stderr, "ccai-cli: cannot list calls: %s: %s\n", ccai_status_str(st),
                ccai_ctx_errmsg(c->ctx));
        return EXIT_FAILURE;
    }
    rc = EXIT_SUCCESS;
    if (as_json) {
        print_json(stdout, json, c->compact);
    } else if (print_calls_table(stdout, json, offset) != 0) {
        fprintf(stderr, "ccai-cli: cannot read the call list\n");
        rc = EXIT_FAILURE;
    }
    ccai_free(json);
    return rc;
}

static int show_local(cli *c, const char *key)
{
    char *json = NULL;
    ccai_status st;
    int rc = load_config(c);

    if (rc == EXIT_SUCCESS)
        rc = open_ctx(c);
    if (rc != EXIT_SUCCESS)
        return rc;
    st = ccai_ctx_call_get_json(c->ctx, key, &json);
    if (st == CCAI_ERR_NOT_FOUND || st == CCAI_ERR_INVALID_ARG)
        st = ccai_ctx_call_find_json(c->ctx, key, 0, &json);
    if (st == CCAI_ERR_NOT_FOUND || st == CCAI_ERR_INVALID_ARG) {
        fprintf(stderr, "ccai-cli: no call with id or phone number '%s'\n", key);
        return EXIT_FAILURE;
    }
    if (st != CCAI_OK) {
        fprintf(stderr, "ccai-cli: cannot read the call: %s: %s\n", ccai_status_str(st),
                ccai_ctx_errmsg(c->ctx));
        return EXIT_FAILURE;
    }
    print_json(stdout, json, c->compact);
    ccai_free(json);
    return EXIT_SUCCESS;
}

static int cmd_show(cli *c, int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-')
        return usage_error(argv[0], "%s",
                           argc < 2   ? "expects a call id or a phone number"
                           : argc > 2 ? "expects one call id or phone number"
                                      : "expects a call id or a phone number, not an option");
    return c->server ? remote_show(c, argv[1]) : show_local(c, argv[1]);
}

/* `call` places a call when given an option only placing takes, else shows. */
static int cmd_call(cli *c, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (is_place_option(argv[i]))
            return cmd_place(c, argc, argv);
    }
    return cmd_show(c, argc, argv);
}

static void print_usage(FILE *out);

static int cmd_help(cli *c, int argc, char **argv)
{
    const command *cmd;
    (void)c;

    if (argc < 2) {
        print_usage(stdout);
        return EXIT_SUCCESS;
    }
    if (argc > 2)
        return usage_error("help", "unexpected argument '%s'", argv[2]);
    cmd = find_command(argv[1]);
    if (!cmd)
        return usage_error(NULL, "unknown command '%s'", argv[1]);
    printf("Usage: ccai-cli [OPTIONS] %s\n\n%s", cmd->synopsis, cmd->help);
    return EXIT_SUCCESS;
}

/* The SQLite database file the configuration names, when it does not exist
 * yet (NULL otherwise: another store, or the file is there). */
static const char *missing_database(const cli *c)
{
    const char *mode = ccai_config_get(c->cfg, "database.mode");
    const char *path = ccai_config_get(c->cfg, "database.sqlite.path");

    if ((mode && strcmp(mode, "sqlite") != 0) || !path || !*path || strcmp(path, ":memory:") == 0)
        return NULL;
    return access(path, F_OK) == 0 ? NULL : path;
}

/* No command: a short status of what a command would see. It reads; it
 * does not create the database (`ccai-cli db` or the first call does). */
static int cmd_status(cli *c)
{
    long long total;
    const char *missing;
    ccai_status st;
    int rc = load_config(c);

    if (rc != EXIT_SUCCESS)
        return rc;
    st = ccai_config_validate(c->cfg);
    if (st != CCAI_OK)
        return config_failed(c, st, "validation");
    missing = missing_database(c);
    printf("ccai-cli %s, libccai %s\n", CCAI_VERSION_STRING, ccai_version());
    printf("config:   %s\n", c->config_label);
    if (missing) {
        printf("database: %s (not created yet: 'ccai-cli db' creates it)\n", missing);
    } else {
        rc = open_ctx(c);
        if (rc != EXIT_SUCCESS)
            return rc;
        total = count_calls(c);
        if (total < 0)
            return EXIT_FAILURE;
        printf("database: %s (%lld call%s)\n", ccai_ctx_database_path(c->ctx), total,
               total == 1 ? "" : "s");
    }
    printf("\nCommands: config, db, calls, show, place, export, health, chat, voice,\n"
           "version.\n"
           "See 'ccai-cli --help' or 'ccai-cli help COMMAND'.\n");
    return EXIT_SUCCESS;
}

static const command commands[] = {
    {"config", cmd_config, "config",
     "Print the effective configuration as JSON: embedded defaults, the YAML\n"
     "file and the environment overrides merged. Secrets read \"***\".\n"
     "Invalid configuration is listed one error per line (exit code 2).\n"},
    {"db", cmd_db, "db",
     "Open the database (creating and migrating it when needed), print its\n"
     "path and the number of stored calls.\n"},
    {"calls", cmd_calls, "calls [--phone NUMBER] [--limit N] [--offset N] [--json]",
     "List calls, newest first, as a table: created (UTC), call id, phone\n"
     "number, state, claim fields filled / fields, next action. From the server\n"
     "with --server or $CCAI_SERVER (GET /call), else from the local database.\n"
     "\n"
     "  --phone NUMBER  only calls of this phone number (E.164)\n"
     "  --limit N       at most N calls (default 20, capped at 1000)\n"
     "  --offset N      skip the N newest calls first\n"
     "  --json          print {\"total\": N, \"calls\": [...]} instead of the table\n"},
    {"show", cmd_show, "show ID_OR_PHONE",
     "Print one call as JSON: by call id, else the latest call of that phone\n"
     "number. From the server with --server or $CCAI_SERVER (GET /call/ID),\n"
     "else from the local database. Exit code 1 when there is none.\n"},
    {"call", cmd_call, "call ID_OR_PHONE | call PHONE --place [PLACE OPTIONS]",
     "Show a call (like show), or place one (like place): 'call' places a call\n"
     "when given --place or any option only placing takes (--task, --field,\n"
     "--claim, --bot-name, --bot-company, --agent, --lang, --telephony);\n"
     "without them it shows.\n"},
    {"place", cmd_place,
     "place PHONE [--task TEXT] [--bot-name NAME] [--bot-company NAME] [--agent NUMBER]\n"
     "        [--lang CODE] [--claim FILE | --field NAME:TYPE[:DESCRIPTION]...]\n"
     "        [--telephony twilio|communication_services]",
     "Ask the server (POST /call) to call PHONE (E.164) and print the created\n"
     "call as JSON. Talks to --server, else $CCAI_SERVER, else " DEFAULT_SERVER ".\n"
     "\n"
     "  --task TEXT          what the bot is calling about\n"
     "  --bot-name NAME      the name the bot introduces itself with\n"
     "  --bot-company NAME   the company the bot calls for\n"
     "  --agent NUMBER       the human agent to transfer to (E.164)\n"
     "  --lang CODE          the call's language, one of the configured ones (fr-FR)\n"
     "  --claim FILE         the claim schema: a JSON array of {name, type,\n"
     "                       description} ('-': standard input)\n"
     "  --field NAME:TYPE[:DESCRIPTION]\n"
     "                       one claim field (repeatable); TYPE is text,\n"
     "                       datetime, email or phone_number\n"
     "  --telephony P        the provider that places the call: twilio or\n"
     "                       communication_services (default: the server's)\n"
     "\n"
     "Options the server does not get fall back to its configuration.\n"},
    {"export", cmd_export, "export [--phone NUMBER] [--out FILE]",
     "Write every call on the server as JSON Lines (one call document per\n"
     "line, newest first), paging through GET /call. Talks to --server, else\n"
     "$CCAI_SERVER, else " DEFAULT_SERVER ".\n"
     "\n"
     "  --phone NUMBER  only calls of this phone number\n"
     "  --out FILE      write FILE (replaced only once complete, mode 0600)\n"
     "                  instead of standard output\n"},
    {"health", cmd_health, "health [--json]",
     "Ask the server whether it is ready (GET /health/readiness) and print its\n"
     "checks. Exit code 0 when ready, 1 when a check fails. Talks to --server,\n"
     "else $CCAI_SERVER, else " DEFAULT_SERVER ".\n"
     "\n"
     "  --json  print the readiness document as JSON\n"},
    {"chat", cmd_chat, "chat [--script FILE] [--json] [--phone NUMBER] [--resume] [--wait SECONDS]",
     "Talk to the bot on the local channel: your lines are the caller's words,\n"
     "the bot's sentences print as they stream, tool actions (claim updates,\n"
     "reminders, transfer, SMS) show compactly. Ends with the stored claim and\n"
     "the post-call synthesis. Uses the configured LLM, else the offline\n"
     "dialogue.\n"
     "\n"
     "  --script FILE    read the caller's lines from FILE ('-' for stdin)\n"
     "  --json           one JSON object per line instead of text\n"
     "  --phone NUMBER   the caller's number (default +33612345678)\n"
     "  --lang CODE      the call's language (default: the configured one)\n"
     "  --resume         resume the caller's last call within the callback window\n"
     "  --wait SECONDS   wait this long for the post-call report (default 120),\n"
     "                   saying so on standard error with the time elapsed\n"
     "\n"
     "In a line: /sms TEXT sends an SMS, /dtmf DIGITS presses keys, an empty\n"
     "line is a silence, /quit hangs up.\n"},
    {"voice", cmd_voice,
     "voice [WAV | --say TEXT]... [--out FILE] [--both FILE] [--rate HZ] [--fast]\n"
     "        [--barge-in[=MS]] [--gap MS] [--voice NAME] [--phone NUMBER] [--lang CODE]\n"
     "        [--wait SECONDS]",
     "An audio call without a sound card: the caller's turns, in order, are\n"
     "WAV files (PCM16, mono or stereo, 8000 to 48000 Hz: converted) and lines\n"
     "spoken by espeak-ng (--say; run as a program). Each turn goes to libccai\n"
     "as 20 ms frames once the bot has finished speaking; the bot's audio is\n"
     "played out 20 ms at a time, as a line would. Prints the transcript (what\n"
     "the bot recognised of the caller, the bot's sentences), then the claim.\n"
     "Uses the configured speech providers and LLM, else pocketsphinx, flite\n"
     "and the offline dialogue.\n"
     "\n"
     "  --say TEXT       a turn spoken by espeak-ng in the call's language\n"
     "  --out FILE       write the bot's side (what it played, with silence\n"
     "                   where nothing played) as a mono PCM16 WAV\n"
     "  --both FILE      write both sides as a 2-channel WAV (left the caller)\n"
     "  --rate HZ        the call's audio: PCM16 at 8000, 16000 (default),\n"
     "                   24000 or 48000 Hz\n"
     "  --fast           feed the caller's turns and the silence around them\n"
     "                   as fast as libccai takes them (the bot still plays in\n"
     "                   real time: libccai's clock is the real one)\n"
     "  --barge-in[=MS]  start each turn MS ms (default 1200) into the bot's\n"
     "                   answer instead of after it: the caller interrupts\n"
     "  --gap MS         silence before each turn (default 300)\n"
     "  --voice NAME     espeak-ng's voice (default: the call's language)\n"
     "  --phone NUMBER   the caller's number (default +33612345678)\n"
     "  --lang CODE      the call's language (default: the configured one)\n"
     "  --wait SECONDS   wait this long for the post-call report (default 120)\n"},
    {"docs", cmd_docs,
     "docs import PATH... [--lang CODE] [--no-embed] [--json] | docs list [--json]\n"
     "        | docs search QUESTION [--lang CODE] [--limit N] [--json] | docs remove PATH...\n"
     "        | docs embed",
     "The documentation the search_document tool searches, in the local database.\n"
     "\n"
     "  import PATH...   import Markdown, HTML and text files (a directory: its\n"
     "                   .md, .markdown, .html, .htm, .txt files, recursively),\n"
     "                   chunked by heading; an unchanged file is skipped, a\n"
     "                   changed one replaced. Then computes the chunks' vectors\n"
     "                   when documents.embeddings is configured (not with\n"
     "                   --no-embed). --lang: the documents' language (default:\n"
     "                   their front matter or <html lang>, else\n"
     "                   documents.default_lang)\n"
     "  list             the imported documents: language, chunks, vectors\n"
     "  search QUESTION  what the bot finds: the ranked chunks with their source,\n"
     "                   heading and scores (BM25, vector, fused). --lang: the\n"
     "                   call's language (default: every language)\n"
     "  remove PATH...   remove imported documents and their chunks\n"
     "  embed            compute the vectors the chunks lack\n"},
    {"import", cmd_import, "import [FILE...] [--json]",
     "Import calls exported from the reference system (call-center-ai) into the\n"
     "local database: a file of its call documents (call_id, created_at,\n"
     "initiate, claim, messages, next, synthesis, reminders...), as a JSON\n"
     "array, one document, {\"calls\": [...]} or JSON lines. Each call keeps its\n"
     "id and is stored ended, with its messages and reminders; a call already\n"
     "in the database is left as it is (importing twice changes nothing). A\n"
     "record that is not a call is reported (record number, why) and skipped;\n"
     "the others are imported. Exit 1 when any record failed.\n"
     "A FILE may also be the reference's v9 SQLite database (its calls table);\n"
     "without FILE, the one its config.yaml names is read:\n"
     "<database.sqlite.database>-v3.sqlite (reference.sqlite.* in libccai's\n"
     "names), table database.sqlite.table.\n"},
    {"version", cmd_version, "version", "Print the versions of ccai-cli and of libccai.\n"},
    {"help", cmd_help, "help [COMMAND]", "Print the usage of ccai-cli or of one command.\n"},
};

static const command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    }
    return NULL;
}

static void print_usage(FILE *out)
{
    fputs("Usage: ccai-cli [OPTIONS] [COMMAND [ARGS]]\n"
          "\n"
          "Command-line client of libccai and of ccai-server. Without a command,\n"
          "print a short status: version, configuration used, database and its\n"
          "number of calls.\n"
          "\n"
          "Options (before or after the command):\n"
          "  -c, --config FILE  load this YAML configuration (default: $CONFIG_YAML,\n"
          "                     else ./config.yaml when present, else the defaults);\n"
          "                     environment overrides (LLM__FAST__ENDPOINT=...) apply\n"
          "  --server URL       talk to this ccai-server (default: $CCAI_SERVER, else\n"
          "                     " DEFAULT_SERVER "); with it (or $CCAI_SERVER) calls,\n"
          "                     show and call read the server, not the local database\n"
          "  --token TOKEN      the server's API token (default: $CCAI_TOKEN, which\n"
          "                     other users cannot read in the process list)\n"
          "  --compact          print JSON on one line\n"
          "  -v, --verbose      log more to standard error (twice: debug)\n"
          "  -h, --help         print this help\n"
          "  -V, --version      print the version\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %s\n", commands[i].synopsis);
    fputs("\n'call' places a call when given --place or any option of 'place' (--task,\n"
          "--field, --claim, --bot-name, ...); otherwise it shows one, like 'show'.\n"
          "\n"
          "Each command takes --help. Exit codes: 0 success, 1 failure (or the server\n"
          "answered an error), 2 invalid configuration, 3 the server cannot be\n"
          "reached, 64 usage error.\n",
          out);
}

/*
 * Keep a copy of the token and blank it in argv, so that it does not linger
 * in the process list (it was visible there until now: prefer $CCAI_TOKEN).
 */
static int take_token(cli *c, const char *value)
{
    free(c->token);
    c->token = strdup(value);
    if (!c->token) {
        fprintf(stderr, "ccai-cli: out of memory\n");
        return EXIT_FAILURE;
    }
    memset((char *)value, '*', strlen(value));
    return EXIT_SUCCESS;
}

/*
 * One global option at argv[*i] (advanced past its value). Returns 0 when
 * argv[*i] is not one, 1 when it was taken, else the exit code (help,
 * version, usage error).
 */
static int global_option(cli *c, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    const char *value = NULL;
    int m;

    if (strcmp(arg, "--compact") == 0) {
        c->compact = 1;
    } else if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0) {
        c->verbosity++;
    } else if (strcmp(arg, "-vv") == 0) {
        c->verbosity += 2;
    } else if ((m = option_value(argc, argv, i, "--config", &c->config_path)) != 0 ||
               (m = option_value(argc, argv, i, "-c", &c->config_path)) != 0) {
        if (m < 0)
            return usage_error(NULL, "%s needs a file name", arg);
    } else if ((m = option_value(argc, argv, i, "--server", &value)) != 0) {
        if (m < 0 || !*value)
            return usage_error(NULL, "--server needs a URL (http://HOST:PORT)");
        c->server = value;
        c->server_from = "--server";
    } else if ((m = option_value(argc, argv, i, "--token", &value)) != 0) {
        if (m < 0)
            return usage_error(NULL, "--token needs a value");
        if (take_token(c, value) != EXIT_SUCCESS)
            return EXIT_FAILURE;
    } else {
        return 0;
    }
    return 1;
}

/*
 * The options before the command. Returns -1 to go on with the command at
 * argv[*ret_i], else the exit code.
 */
static int parse_options(cli *c, int argc, char **argv, int *ret_i)
{
    int i;

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *arg = argv[i];
        int m;
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (wants_help(arg)) {
            print_usage(stdout);
            return EXIT_SUCCESS;
        }
        if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0)
            return cmd_version(c, 1, argv);
        m = global_option(c, argc, argv, &i);
        if (m == 0)
            return usage_error(NULL, "unknown option '%s'", arg);
        if (m != 1)
            return m;
    }
    *ret_i = i;
    return -1;
}

/* $CCAI_SERVER and $CCAI_TOKEN where no option gave them. */
static int env_defaults(cli *c)
{
    const char *env = getenv("CCAI_SERVER");

    if (!c->server && env && *env) {
        c->server = env;
        c->server_from = "CCAI_SERVER";
    }
    env = getenv("CCAI_TOKEN");
    if (!c->token && env && *env) {
        c->token = strdup(env);
        if (!c->token) {
            fprintf(stderr, "ccai-cli: out of memory\n");
            return EXIT_FAILURE;
        }
    }
    return EXIT_SUCCESS;
}

/*
 * The global options may also follow the command (`ccai-cli calls -c
 * FILE`): they are taken out of the command's arguments, up to a "--".
 * A command's option value that reads like one of them is given as
 * --name=VALUE. Returns the command's argument count (rest[0] is the
 * command), or -1 with *rc the exit code.
 */
static int split_global(cli *c, int argc, char **argv, int i, char **rest, int *rc)
{
    int n = 0;
    int plain = 0;

    rest[n++] = argv[i];
    for (int j = i + 1; j < argc; j++) {
        if (!plain && strcmp(argv[j], "--") == 0)
            plain = 1;
        if (!plain) {
            int m = global_option(c, argc, argv, &j);
            if (m == 1)
                continue;
            if (m != 0) {
                *rc = m;
                return -1;
            }
        }
        rest[n++] = argv[j];
    }
    rest[n] = NULL;
    return n;
}

static int run(cli *c, int argc, char **argv)
{
    const command *cmd;
    char **rest;
    int i = 0;
    int n;
    int rc = parse_options(c, argc, argv, &i);

    if (rc >= 0)
        return rc;
    if (i >= argc) {
        rc = env_defaults(c);
        return rc == EXIT_SUCCESS ? cmd_status(c) : rc;
    }
    cmd = find_command(argv[i]);
    if (!cmd)
        return usage_error(NULL, "unknown command '%s'", argv[i]);
    for (int j = i + 1; j < argc; j++) {
        if (wants_help(argv[j])) {
            char *help_argv[] = {(char *)"help", argv[i], NULL};
            return cmd_help(c, 2, help_argv);
        }
    }
    rest = calloc((size_t)(argc - i + 1), sizeof *rest);
    if (!rest) {
        fprintf(stderr, "ccai-cli: out of memory\n");
        return EXIT_FAILURE;
    }
    n = split_global(c, argc, argv, i, rest, &rc);
    if (n > 0) {
        rc = env_defaults(c);
        if (rc == EXIT_SUCCESS)
            rc = cmd->run(c, n, rest);
    }
    free(rest);
    return rc;
}

int main(int argc, char **argv)
{
    cli c;
    int rc;

    memset(&c, 0, sizeof c);
    rc = run(&c, argc, argv);
    cli_close(&c);
    free(c.token);
    return rc;
}
