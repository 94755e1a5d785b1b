/* llm-standin: the OpenAI-compatible stand-in as a process, for manual runs
 * and benchmarks. Prints the port on stdout, serves until SIGINT/SIGTERM.
 *
 *   llm-standin [--port N] [--key K] [--model M] [--ttft-ms X] [--chunk-ms Y]
 *               [--script file.jsonl] [--cycle]
 *
 * The script holds one spec JSON object per line (see llm_standin.h); blank
 * lines and lines starting with '#' are skipped. With --cycle the script is
 * replayed round-robin; otherwise each line is used once, then echo replies. */
#include "support/llm_standin.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: llm-standin [--port N] [--key K] [--model M] [--ttft-ms X] "
               "[--chunk-ms Y] [--script file.jsonl] [--cycle]\n");
}

static int load_script(standin *h, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0' || *p == '\n' || *p == '\r' || *p == '#')
            continue;
        if (standin_push_json(h, p)) {
            fprintf(stderr, "%s:%d: invalid spec\n", path, lineno);
            rc = -1;
            break;
        }
    }
    free(line);
    fclose(f);
    return rc;
}

/* Benchmarks open thousands of sockets; take whatever the hard limit allows. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    standin_opts opts = {.no_record = 1};
    const char *script = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--cycle")) {
            opts.cycle = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!v) {
            usage(stderr);
            return 2;
        }
        if (!strcmp(a, "--port"))
            opts.port = atoi(v);
        else if (!strcmp(a, "--key"))
            opts.key = v;
        else if (!strcmp(a, "--model"))
            opts.model = v;
        else if (!strcmp(a, "--ttft-ms"))
            opts.ttft_ms = atoi(v);
        else if (!strcmp(a, "--chunk-ms"))
            opts.chunk_ms = atoi(v);
        else if (!strcmp(a, "--script"))
            script = v;
        else {
            usage(stderr);
            return 2;
        }
        i++;
    }
    raise_fd_limit();

    /* Block the signals before the server thread exists so it inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    standin *h = standin_start(&opts);
    if (!h) {
        fprintf(stderr, "llm-standin: cannot listen on 127.0.0.1:%d\n", opts.port);
        return 1;
    }
    if (script && load_script(h, script)) {
        standin_stop(h);
        return 1;
    }
    printf("%d\n", standin_port(h));
    fflush(stdout);

    int sig = 0;
    sigwait(&set, &sig);
    standin_stats st;
    standin_get_stats(h, &st);
    fprintf(stderr, "llm-standin: %d requests, %d connections, max %d concurrent streams\n",
            standin_request_count(h), st.connections, st.max_active_streams);
    standin_stop(h);
    return 0;
}
