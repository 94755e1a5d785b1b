/* Memory of open HTTP chats (POST /chat, channels/chat/chat_http.c): N chats
 * started through ccai_ctx_http() and left open, as a client that never
 * hangs up leaves them. Prints libccai's own heap per open chat (through a
 * counting allocator: the library, jansson's objects, not SQLite's page
 * cache) and the RSS growth per chat.
 *
 *   build/bench/bench-chat [--chats N] [--db PATH] [--llm]
 *
 * --llm configures an LLM (an endpoint nobody answers: only the greeting
 * runs), else the offline dialogue holds each chat. */
#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t heap_live;

static void *count_malloc(size_t n, void *ud)
{
    (void)ud;
    void *p = malloc(n);
    if (p)
        heap_live += malloc_usable_size(p);
    return p;
}

static void *count_realloc(void *ptr, size_t n, void *ud)
{
    (void)ud;
    size_t old = ptr ? malloc_usable_size(ptr) : 0;
    void *p = realloc(ptr, n);
    if (p) {
        heap_live -= old;
        heap_live += malloc_usable_size(p);
    }
    return p;
}

static void count_free(void *ptr, void *ud)
{
    (void)ud;
    if (ptr)
        heap_live -= malloc_usable_size(ptr);
    free(ptr);
}

static size_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

typedef struct answer {
    int status;
} answer;

static void on_answer(ccai_http_exchange *x, const ccai_http_response *res, void *ud)
{
    (void)x;
    ((answer *)ud)->status = res->status;
}

int main(int argc, char **argv)
{
    int chats = 2000;
    const char *db = ":memory:";
    int llm = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--chats") && i + 1 < argc)
            chats = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--db") && i + 1 < argc)
            db = argv[++i];
        else if (!strcmp(argv[i], "--llm"))
            llm = 1;
        else {
            fprintf(stderr, "usage: bench-chat [--chats N] [--db PATH] [--llm]\n");
            return 64;
        }
    }
    ccai_allocator a = {CCAI_ALLOCATOR_VERSION, count_malloc, count_realloc, count_free, NULL,
                        CCAI_ALLOCATOR_JSON};
    if (chats < 1 || ccai_set_allocator(&a) != CCAI_OK)
        return 1;
    ccai_config *cfg = NULL;
    ccai_poll *poll = NULL;
    ccai_ctx *ctx = NULL;
    char max[32];
    snprintf(max, sizeof max, "%d", chats + 1);
    if (ccai_config_new(&cfg) != CCAI_OK ||
        ccai_config_set(cfg, "database.sqlite.path", db) != CCAI_OK ||
        ccai_config_set(cfg, "server.max_chats", max) != CCAI_OK ||

        (llm && (ccai_config_set(cfg, "llm.fast.mode", "openai_compatible") != CCAI_OK ||
                 ccai_config_set(cfg, "llm.fast.endpoint", "http://127.0.0.1:9/v1") != CCAI_OK)) ||
        ccai_poll_new(cfg, &poll, &ctx, NULL) != CCAI_OK) {
        fprintf(stderr, "bench-chat: cannot set up: %s\n", ccai_config_errmsg(cfg));
        return 1;
    }
    ccai_http_request req = {CCAI_HTTP_REQUEST_VERSION, "POST", "/chat",    NULL, NULL, 0,
                             "{\"lang\":\"en-US\"}",    16,     "127.0.0.1"};
    answer warm = {0};
    ccai_ctx_http(ctx, &req, on_answer, &warm, NULL); /* caches, prompts, SQLite pages */
    size_t heap0 = heap_live, rss0 = rss_bytes();
    int ok = 0;
    for (int i = 0; i < chats; i++) {
        answer ans = {0};
        if (ccai_ctx_http(ctx, &req, on_answer, &ans, NULL) == CCAI_OK && ans.status == 200)
            ok++;
    }
    size_t heap1 = heap_live, rss1 = rss_bytes();
    printf("== open HTTP chats (%s, database %s): %d of %d started\n",
           llm ? "LLM configured, greeting only" : "offline dialogue", db, ok, chats);
    printf("  libccai heap: %+.1f KB = %.1f KB per open chat\n", (double)(heap1 - heap0) / 1024.0,
           ok ? (double)(heap1 - heap0) / 1024.0 / ok : 0.0);
    printf("  RSS: %+.1f KB = %.1f KB per open chat (with SQLite's cache)\n",
           (double)(rss1 - rss0) / 1024.0, ok ? (double)(rss1 - rss0) / 1024.0 / ok : 0.0);
    ccai_poll_free(poll);
    ccai_config_free(cfg);
    ccai_set_allocator(NULL);
    return ok == chats ? 0 : 1;
}
