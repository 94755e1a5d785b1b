/*
 * ccai-cli as the API client: the commands that talk to a running
 * ccai-server over HTTP (libcurl), and build or read its JSON (jansson).
 *
 * Exit codes scripts can trust: 0 the server did it, 1 the server answered
 * an error (its envelope is printed), 2 invalid configuration (server URL,
 * token), 3 the server could not be reached, 64 usage error.
 *
 * The token goes out in the Authorization header only: it is never printed,
 * never logged, and no child process is started.
 */
#include "cli.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CONNECT_TIMEOUT_MS 5000L
#define TOTAL_TIMEOUT_MS   30000L
/* One answer, at most: a page of 1000 full call documents fits. */
#define REPLY_MAX_BYTES ((size_t)512 * 1024 * 1024)

typedef struct client {
    cli *c;
    CURL *curl;
    const char *base; /* the server URL, without its trailing slashes */
    size_t base_len;
    char errbuf[CURL_ERROR_SIZE];
} client;

typedef struct reply {
    long status;
    char *body; /* NUL-terminated */
    size_t len;
    size_t cap;
    int too_big;
} reply;

static void reply_free(reply *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------------ */
/* Transport                                                                */
/* ------------------------------------------------------------------------ */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    reply *r = ud;
    size_t n = size * nmemb;

    if (n > REPLY_MAX_BYTES - r->len) {
        r->too_big = 1;
        return 0;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        char *body;
        while (cap < r->len + n + 1)
            cap *= 2;
        body = realloc(r->body, cap);
        if (!body)
            return 0;
        r->body = body;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return n;
}

static int has_control(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s == 0x7f)
            return 1;
    }
    return 0;
}

/*
 * Check the server URL and the token, then set up one curl handle for every
 * request of the command (export reuses the connection).
 */
static int client_open(cli *c, client *cl)
{
    const char *url = c->server ? c->server : DEFAULT_SERVER;
    const char *from = c->server ? c->server_from : "the default server";
    size_t len = strlen(url);
    size_t scheme;

    memset(cl, 0, sizeof *cl);
    cl->c = c;
    if (strncmp(url, "http://", 7) == 0)
        scheme = 7;
    else if (strncmp(url, "https://", 8) == 0)
        scheme = 8;
    else
        scheme = 0;
    while (len > scheme && url[len - 1] == '/')
        len--;
    if (scheme == 0 || len == scheme || has_control(url) || strchr(url, '?') || strchr(url, '#')) {
        fprintf(stderr,
                "ccai-cli: %s must be an http:// or https:// URL without a query, got '%s'\n", from,
                url);
        return EXIT_CONFIG;
    }
    if (c->token && (!*c->token || has_control(c->token))) {
        /* Say what is wrong with it, never what it holds. */
        fprintf(stderr, "ccai-cli: the token (--token or CCAI_TOKEN) is empty or holds spaces "
                        "or control characters\n");
        return EXIT_CONFIG;
    }
    cl->base = url;
    cl->base_len = len;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "ccai-cli: cannot initialise libcurl\n");
        return EXIT_FAILURE;
    }
    cl->curl = curl_easy_init();
    if (!cl->curl) {
        curl_global_cleanup();
        fprintf(stderr, "ccai-cli: cannot initialise libcurl\n");
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

static void client_close(client *cl)
{
    if (!cl->curl)
        return;
    curl_easy_cleanup(cl->curl);
    cl->curl = NULL;
    curl_global_cleanup();
}

/* Translate a transport failure into an exit code, with curl's message. */
static int transport_failed(client *cl, CURLcode rc, const reply *r)
{
    const char *why = cl->errbuf[0] ? cl->errbuf : curl_easy_strerror(rc);

    if (r->too_big) {
        fprintf(stderr, "ccai-cli: the answer of %.*s is larger than %zu bytes\n",
                (int)cl->base_len, cl->base, REPLY_MAX_BYTES);
        return EXIT_FAILURE;
    }
    if (rc == CURLE_OUT_OF_MEMORY || rc == CURLE_WRITE_ERROR) {
        fprintf(stderr, "ccai-cli: out of memory\n");
        return EXIT_FAILURE;
    }
    if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL) {
        fprintf(stderr, "ccai-cli: invalid server URL '%.*s': %s\n", (int)cl->base_len, cl->base,
                why);
        return EXIT_CONFIG;
    }
    fprintf(stderr, "ccai-cli: cannot reach %.*s: %s\n", (int)cl->base_len, cl->base, why);
    return EXIT_UNREACHABLE;
}

/*
 * One request: path (with its query, already encoded) under the server URL,
 * body sent as JSON when not NULL. EXIT_SUCCESS when the server answered,
 * whatever its status (r filled); otherwise the error is printed and the
 * exit code returned.
 */
static int request(client *cl, const char *method, const char *path, const char *body, reply *r)
{
    struct curl_slist *headers = NULL;
    struct curl_slist *h;
    char *url;
    size_t url_len = cl->base_len + strlen(path) + 1;
    CURLcode rc;
    CURL *curl = cl->curl;

    memset(r, 0, sizeof *r);
    url = malloc(url_len);
    if (!url) {
        fprintf(stderr, "ccai-cli: out of memory\n");
        return EXIT_FAILURE;
    }
    snprintf(url, url_len, "%.*s%s", (int)cl->base_len, cl->base, path);
    h = curl_slist_append(NULL, "Accept: application/json");
    if (h && body)
        h = curl_slist_append(h, "Content-Type: application/json");
    headers = h;
    if (!headers) {
        free(url);
        fprintf(stderr, "ccai-cli: out of memory\n");
        return EXIT_FAILURE;
    }
    if (cl->c->verbosity > 0)
        fprintf(stderr, "ccai-cli: %s %s\n", method, url);

    curl_easy_reset(curl);
    cl->errbuf[0] = '\0';
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, CONNECT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, TOTAL_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, cl->errbuf);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "ccai-cli/" CCAI_VERSION_STRING);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
    if (cl->c->token) {
        curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        curl_easy_setopt(curl, CURLOPT_XOAUTH2_BEARER, cl->c->token);
    }
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    } else if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    }
    rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    /* The handle keeps pointers to these until the next reset. */
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    free(url);
    if (rc != CURLE_OK) {
        int code = transport_failed(cl, rc, r);
        reply_free(r);
        return code;
    }
    if (!r->body) {
        r->body = calloc(1, 1);
        if (!r->body) {
            fprintf(stderr, "ccai-cli: out of memory\n");
            return EXIT_FAILURE;
        }
    }
    return EXIT_SUCCESS;
}

static int success(const reply *r)
{
    return r->status >= 200 && r->status < 300;
}

/* Text from the server, with control characters replaced: it must not
 * drive the terminal. */
static void put_clean(const char *text, size_t len)
{
    for (size_t i = 0; i < len && text[i]; i++) {
        unsigned char ch = (unsigned char)text[i];
        fputc(ch < 0x20 || ch == 0x7f ? '?' : (char)ch, stderr);
    }
}

/*
 * The server said no: "ccai-cli: HTTP 404: call not found (+33612345678)"
 * from the error envelope {"error":{"message","details":[...]}}, else the
 * first line of whatever came back.
 */
static int http_failed(client *cl, const reply *r)
{
    json_t *doc = json_loadb(r->body, r->len, 0, NULL);
    json_t *err = json_object_get(doc, "error");
    const char *message = json_string_value(json_object_get(err, "message"));
    json_t *details = json_object_get(err, "details");

    fprintf(stderr, "ccai-cli: HTTP %ld: ", r->status);
    if (message) {
        size_t i;
        json_t *d;
        put_clean(message, strlen(message));
        json_array_foreach(details, i, d)
        {
            char *text = json_is_string(d) ? NULL : json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY);
            const char *shown = text ? text : json_string_value(d);
            fputs(i == 0 ? " (" : "; ", stderr);
            put_clean(shown ? shown : "?", shown ? strlen(shown) : 1);
            free(text);
        }
        if (json_array_size(details) > 0)
            fputc(')', stderr);
    } else {
        size_t len = strcspn(r->body, "\r\n");
        if (len == 0)
            fputs("(no error message)", stderr);
        put_clean(r->body, len > 200 ? 200 : len);
    }
    fputc('\n', stderr);
    if (r->status == 401 && !cl->c->token)
        fprintf(stderr, "ccai-cli: hint: give the server's token with --token or CCAI_TOKEN\n");
    json_decref(doc);
    return EXIT_FAILURE;
}

/* Escape one path segment or query value ("+" becomes "%2B"). */
static char *escape(client *cl, const char *text)
{
    char *e = curl_easy_escape(cl->curl, text, 0);
    if (!e)
        fprintf(stderr, "ccai-cli: out of memory\n");
    return e;
}

/* GET path and print the JSON answer as it came (indented unless --compact). */
static int get_and_print(client *cl, const char *path)
{
    reply r;
    int rc = request(cl, "GET", path, NULL, &r);

    if (rc != EXIT_SUCCESS)
        return rc;
    if (success(&r))
        print_json(stdout, r.body, cl->c->compact);
    else
        rc = http_failed(cl, &r);
    reply_free(&r);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* show, calls                                                              */
/* ------------------------------------------------------------------------ */

int remote_show(cli *c, const char *key)
{
    client cl;
    char *e = NULL;
    char *path = NULL;
    int rc = client_open(c, &cl);

    if (rc != EXIT_SUCCESS)
        return rc;
    e = escape(&cl, key);
    path = e ? malloc(strlen(e) + sizeof "/call/") : NULL;
    if (!path) {
        rc = EXIT_FAILURE;
        goto out;
    }
    snprintf(path, strlen(e) + sizeof "/call/", "/call/%s", e);
    rc = get_and_print(&cl, path);
out:
    free(path);
    curl_free(e);
    client_close(&cl);
    return rc;
}

/* "/call?limit=L&offset=O[&phone_number=P]", or NULL (out of memory). */
static char *list_path(client *cl, const char *phone, size_t limit, size_t offset)
{
    char *e = phone ? escape(cl, phone) : NULL;
    size_t len = 80 + (e ? strlen(e) : 0);
    char *path = (phone && !e) ? NULL : malloc(len);

    if (path)
        snprintf(path, len, "/call?limit=%zu&offset=%zu%s%s", limit, offset,
                 e ? "&phone_number=" : "", e ? e : "");
    else
        fprintf(stderr, "ccai-cli: out of memory\n");
    curl_free(e);
    return path;
}

int remote_calls(cli *c, const char *phone, size_t limit, size_t offset, int json)
{
    client cl;
    reply r;
    char *path;
    int rc = client_open(c, &cl);

    if (rc != EXIT_SUCCESS)
        return rc;
    path = list_path(&cl, phone, limit, offset);
    rc = path ? request(&cl, "GET", path, NULL, &r) : EXIT_FAILURE;
    free(path);
    if (rc == EXIT_SUCCESS) {
        if (!success(&r)) {
            rc = http_failed(&cl, &r);
        } else if (json) {
            print_json(stdout, r.body, c->compact);
        } else if (print_calls_table(stdout, r.body, offset) != 0) {
            fprintf(stderr, "ccai-cli: the server's answer is not a call list\n");
            rc = EXIT_FAILURE;
        }
        reply_free(&r);
    }
    client_close(&cl);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* place                                                                    */
/* ------------------------------------------------------------------------ */

/* Options that only placing a call takes: any of them makes `call` place. */
static const char *const place_options[] = {
    "--place", "--task",  "--bot-name", "--bot-company", "--agent",
    "--lang",  "--claim", "--field",    "--telephony",
};

int is_place_option(const char *arg)
{
    for (size_t i = 0; i < sizeof place_options / sizeof place_options[0]; i++) {
        size_t len = strlen(place_options[i]);
        if (strncmp(arg, place_options[i], len) == 0 && (arg[len] == '\0' || arg[len] == '='))
            return 1;
    }
    return 0;
}

static int is_identifier(const char *s, size_t len)
{
    if (len == 0 || !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return 0;
    for (size_t i = 1; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '_'))
            return 0;
    }
    return 1;
}

static int field_type_known(const char *type, size_t len)
{
    static const char *const types[] = {"text", "datetime", "email", "phone_number"};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strlen(types[i]) == len && strncmp(type, types[i], len) == 0)
            return 1;
    }
    return 0;
}

/* NAME:TYPE[:DESCRIPTION] appended to the claim schema, or a usage error. */
static int add_field(const char *cmd, json_t *claim, const char *spec)
{
    const char *colon = strchr(spec, ':');
    const char *type;
    const char *desc;
    size_t name_len, type_len;
    size_t i;
    json_t *f;
    json_t *field;

    if (!colon)
        return usage_error(cmd, "--field expects NAME:TYPE[:DESCRIPTION], got '%s'", spec);
    name_len = (size_t)(colon - spec);
    type = colon + 1;
    desc = strchr(type, ':');
    type_len = desc ? (size_t)(desc - type) : strlen(type);
    if (!is_identifier(spec, name_len) || name_len > CCAI_FIELD_NAME_MAX)
        return usage_error(cmd,
                           "--field '%s': the name must match [A-Za-z_][A-Za-z0-9_]* "
                           "(at most %d characters)",
                           spec, CCAI_FIELD_NAME_MAX);
    if (!field_type_known(type, type_len))
        return usage_error(
            cmd, "--field '%s': the type must be text, datetime, email or phone_number", spec);
    if (desc && strlen(desc + 1) > CCAI_FIELD_DESCRIPTION_MAX)
        return usage_error(cmd, "--field '%.*s': the description is longer than %d bytes",
                           (int)name_len, spec, CCAI_FIELD_DESCRIPTION_MAX);
    json_array_foreach(claim, i, f)
    {
        const char *name = json_string_value(json_object_get(f, "name"));
        if (name && strlen(name) == name_len && strncmp(name, spec, name_len) == 0)
            return usage_error(cmd, "--field '%.*s' is given twice", (int)name_len, spec);
    }
    field = json_pack("{s:s%, s:s%}", "name", spec, name_len, "type", type, type_len);
    if (field && desc && json_object_set_new(field, "description", json_string(desc + 1)) != 0) {
        json_decref(field);
        field = NULL;
    }
    if (!field || json_array_append_new(claim, field) != 0) {
        fprintf(stderr, "ccai-cli: out of memory, or --field '%s' is not UTF-8\n", spec);
        return EXIT_FAILURE;
    }
    return EXIT_SUCCESS;
}

/* The claim schema of --claim FILE ('-': standard input): a JSON array. */
static int load_claim(const char *cmd, const char *file, json_t **ret)
{
    json_error_t err;
    json_t *doc =
        strcmp(file, "-") == 0 ? json_loadf(stdin, 0, &err) : json_load_file(file, 0, &err);

    if (!doc && err.line < 1)
        return usage_error(cmd, "--claim %s: %s", file, err.text);
    if (!doc)
        return usage_error(cmd, "--claim %s: line %d, column %d: %s", file, err.line, err.column,
                           err.text);
    if (!json_is_array(doc)) {
        json_decref(doc);
        return usage_error(cmd, "--claim %s: expected a JSON array of {name, type, description}",
                           file);
    }
    *ret = doc;
    return EXIT_SUCCESS;
}

#define N_PLACE_KEYS 6

typedef struct place_args {
    const char *phone;
    const char *value[N_PLACE_KEYS]; /* by place_keys[] */
    const char *claim_file;
    json_t *fields; /* from --field, or NULL */
} place_args;

/* Options carrying a string, and the body member each sets. */
static const struct {
    const char *option;
    const char *key;
} place_keys[N_PLACE_KEYS] = {
    {"--task", "task"},
    {"--bot-name", "bot_name"},
    {"--bot-company", "bot_company"},
    {"--agent", "agent_phone_number"},
    {"--lang", "lang"},
    {"--telephony", "telephony"},
};

static int place_parse(int argc, char **argv, place_args *a)
{
    const char *cmd = argv[0];
    const char *value = NULL;

    for (int i = 1; i < argc; i++) {
        int m = 0;
        size_t k;
        if (strcmp(argv[i], "--place") == 0)
            continue;
        for (k = 0; k < N_PLACE_KEYS; k++) {
            m = option_value(argc, argv, &i, place_keys[k].option, &value);
            if (m != 0)
                break;
        }
        if (m < 0)
            return usage_error(cmd, "%s needs a value", place_keys[k].option);
        if (m > 0) {
            a->value[k] = value;
            continue;
        }
        if ((m = option_value(argc, argv, &i, "--claim", &value)) != 0) {
            if (m < 0)
                return usage_error(cmd, "--claim needs a file name");
            a->claim_file = value;
        } else if ((m = option_value(argc, argv, &i, "--field", &value)) != 0) {
            int rc;
            if (m < 0)
                return usage_error(cmd, "--field needs NAME:TYPE[:DESCRIPTION]");
            if (!a->fields && !(a->fields = json_array())) {
                fprintf(stderr, "ccai-cli: out of memory\n");
                return EXIT_FAILURE;
            }
            rc = add_field(cmd, a->fields, value);
            if (rc != EXIT_SUCCESS)
                return rc;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return usage_error(cmd, "unknown option '%s'", argv[i]);
        } else if (a->phone) {
            return usage_error(cmd, "unexpected argument '%s' (one phone number)", argv[i]);
        } else {
            a->phone = argv[i];
        }
    }
    if (!a->phone)
        return usage_error(cmd, "expects the phone number to call (E.164, +33612345678)");
    if (a->claim_file && a->fields)
        return usage_error(cmd, "give the claim schema with --claim or with --field, not both");
    return EXIT_SUCCESS;
}

/* The POST /call body, or NULL with the error printed (*rc set). */
static json_t *place_body(const char *cmd, const place_args *a, int *rc)
{
    json_t *body = json_object();
    json_t *claim = NULL;

    *rc = EXIT_FAILURE;
    if (!body || json_object_set_new(body, "phone_number", json_string(a->phone)) != 0)
        goto fail;
    for (size_t k = 0; k < N_PLACE_KEYS; k++) {
        json_t *v;
        if (!a->value[k])
            continue;
        /* The language is an object; a partial one keeps the configured list. */
        if (strcmp(place_keys[k].key, "lang") == 0)
            v = json_pack("{s:s}", "default_short_code", a->value[k]);
        else
            v = json_string(a->value[k]);
        if (json_object_set_new(body, place_keys[k].key, v) != 0)
            goto fail;
    }
    if (a->claim_file) {
        *rc = load_claim(cmd, a->claim_file, &claim);
        if (*rc != EXIT_SUCCESS) {
            json_decref(body);
            return NULL;
        }
    } else if (a->fields) {
        claim = json_incref(a->fields);
    }
    if (claim && json_object_set_new(body, "claim", claim) != 0)
        goto fail;
    *rc = EXIT_SUCCESS;
    return body;
fail:
    /* json_string() refuses text that is not UTF-8. */
    fprintf(stderr, "ccai-cli: %s: out of memory, or an argument is not UTF-8\n", cmd);
    json_decref(body);
    return NULL;
}

int cmd_place(cli *c, int argc, char **argv)
{
    place_args a;
    client cl;
    reply r;
    json_t *body = NULL;
    char *text = NULL;
    int rc;

    memset(&a, 0, sizeof a);
    rc = place_parse(argc, argv, &a);
    if (rc == EXIT_SUCCESS)
        body = place_body(argv[0], &a, &rc);
    json_decref(a.fields);
    if (rc != EXIT_SUCCESS)
        return rc;
    text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(body);
    if (!text) {
        fprintf(stderr, "ccai-cli: out of memory\n");
        return EXIT_FAILURE;
    }
    rc = client_open(c, &cl);
    if (rc == EXIT_SUCCESS) {
        rc = request(&cl, "POST", "/call", text, &r);
        if (rc == EXIT_SUCCESS) {
            if (success(&r))
                print_json(stdout, r.body, c->compact);
            else
                rc = http_failed(&cl, &r);
            reply_free(&r);
        }
        client_close(&cl);
    }
    free(text);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* export                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Write one page's calls as JSON Lines, skipping those already written:
 * pages are newest first, so a call placed meanwhile shifts the next page
 * by one and repeats its first call. Returns 0, or -1 on a write error.
 */
static int write_page(FILE *out, json_t *calls, json_t *seen, size_t *written)
{
    size_t i;
    json_t *call;

    json_array_foreach(calls, i, call)
    {
        const char *id = json_string_value(json_object_get(call, "call_id"));
        char *line;
        if (id && json_object_get(seen, id))
            continue;
        if (id && json_object_set_new(seen, id, json_true()) != 0)
            return -1;
        line = json_dumps(call, JSON_COMPACT | JSON_ENSURE_ASCII);
        if (!line)
            return -1;
        fputs(line, out);
        fputc('\n', out);
        free(line);
        (*written)++;
        if (ferror(out))
            return -1;
    }
    return 0;
}

/* Page through GET /call into out. */
static int export_calls(client *cl, const char *phone, FILE *out, size_t *written)
{
    json_t *seen = json_object();
    size_t offset = 0;
    int rc = seen ? EXIT_SUCCESS : EXIT_FAILURE;

    while (rc == EXIT_SUCCESS) {
        char *path = list_path(cl, phone, CALLS_MAX_LIMIT, offset);
        json_t *doc;
        json_t *calls;
        json_int_t total;
        reply r;
        if (!path) {
            rc = EXIT_FAILURE;
            break;
        }
        rc = request(cl, "GET", path, NULL, &r);
        free(path);
        if (rc != EXIT_SUCCESS)
            break;
        if (!success(&r)) {
            rc = http_failed(cl, &r);
            reply_free(&r);
            break;
        }
        doc = json_loadb(r.body, r.len, 0, NULL);
        reply_free(&r);
        calls = json_object_get(doc, "calls");
        total = json_integer_value(json_object_get(doc, "total"));
        if (!json_is_array(calls)) {
            fprintf(stderr, "ccai-cli: the server's answer is not a call list\n");
            rc = EXIT_FAILURE;
        } else if (write_page(out, calls, seen, written) != 0) {
            fprintf(stderr, "ccai-cli: cannot write the export: %s\n",
                    ferror(out) ? strerror(errno) : "out of memory");
            rc = EXIT_FAILURE;
        } else {
            offset += json_array_size(calls);
            if (json_array_size(calls) == 0 || (json_int_t)offset >= total) {
                json_decref(doc);
                break;
            }
        }
        json_decref(doc);
    }
    json_decref(seen);
    return rc;
}

/* Write to a temporary file beside FILE, renamed over it once complete. */
static int export_to_file(client *cl, const char *phone, const char *file, size_t *written)
{
    size_t len = strlen(file) + sizeof ".XXXXXX";
    char *tmp = malloc(len);
    FILE *out = NULL;
    int fd = -1;
    int rc;

    if (!tmp) {
        fprintf(stderr, "ccai-cli: out of memory\n");
        return EXIT_FAILURE;
    }
    snprintf(tmp, len, "%s.XXXXXX", file);
    fd = mkstemp(tmp);
    if (fd >= 0)
        out = fdopen(fd, "w");
    if (!out) {
        fprintf(stderr, "ccai-cli: cannot create %s: %s\n", file, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        free(tmp);
        return EXIT_FAILURE;
    }
    rc = export_calls(cl, phone, out, written);
    if (rc == EXIT_SUCCESS && (fflush(out) != 0 || fsync(fileno(out)) != 0)) {
        fprintf(stderr, "ccai-cli: cannot write %s: %s\n", file, strerror(errno));
        rc = EXIT_FAILURE;
    }
    if (fclose(out) != 0 && rc == EXIT_SUCCESS) {
        fprintf(stderr, "ccai-cli: cannot write %s: %s\n", file, strerror(errno));
        rc = EXIT_FAILURE;
    }
    if (rc == EXIT_SUCCESS && rename(tmp, file) != 0) {
        fprintf(stderr, "ccai-cli: cannot rename %s to %s: %s\n", tmp, file, strerror(errno));
        rc = EXIT_FAILURE;
    }
    if (rc != EXIT_SUCCESS)
        unlink(tmp);
    free(tmp);
    return rc;
}

int cmd_export(cli *c, int argc, char **argv)
{
    const char *phone = NULL;
    const char *file = NULL;
    const char *value = NULL;
    size_t written = 0;
    client cl;
    int rc;

    for (int i = 1; i < argc; i++) {
        int m;
        if ((m = option_value(argc, argv, &i, "--phone", &value)) != 0) {
            if (m < 0)
                return usage_error("export", "--phone needs a value");
            phone = value;
        } else if ((m = option_value(argc, argv, &i, "--out", &value)) != 0) {
            if (m < 0 || !*value)
                return usage_error("export", "--out needs a file name");
            file = value;
        } else {
            return usage_error("export", "unexpected argument '%s'", argv[i]);
        }
    }
    rc = client_open(c, &cl);
    if (rc != EXIT_SUCCESS)
        return rc;
    if (file && strcmp(file, "-") != 0) {
        rc = export_to_file(&cl, phone, file, &written);
        if (rc == EXIT_SUCCESS)
            fprintf(stderr, "ccai-cli: %zu call%s written to %s\n", written,
                    written == 1 ? "" : "s", file);
    } else {
        rc = export_calls(&cl, phone, stdout, &written);
        if (rc == EXIT_SUCCESS && fflush(stdout) != 0) {
            fprintf(stderr, "ccai-cli: cannot write the export: %s\n", strerror(errno));
            rc = EXIT_FAILURE;
        }
    }
    client_close(&cl);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* health                                                                   */
/* ------------------------------------------------------------------------ */

/* The readiness document as lines: "ready: ok", then one line per check. */
static int print_health(const char *json)
{
    json_t *doc = json_loads(json, 0, NULL);
    const char *status = json_string_value(json_object_get(doc, "status"));
    json_t *checks = json_object_get(doc, "checks");
    size_t i;
    size_t width = 0;
    json_t *ch;
    int ok;

    if (!status || !json_is_array(checks)) {
        json_decref(doc);
        return -1;
    }
    printf("ready: %s\n", status);
    json_array_foreach(checks, i, ch)
    {
        const char *id = json_string_value(json_object_get(ch, "id"));
        if (id && strlen(id) > width)
            width = strlen(id);
    }
    json_array_foreach(checks, i, ch)
    {
        const char *id = json_string_value(json_object_get(ch, "id"));
        const char *st = json_string_value(json_object_get(ch, "status"));
        const char *detail = json_string_value(json_object_get(ch, "detail"));
        printf("  %-*s  %-4s%s%s\n", (int)width, id ? id : "?", st ? st : "?", detail ? "  " : "",
               detail ? detail : "");
    }
    ok = strcmp(status, "ok") == 0;
    json_decref(doc);
    return ok ? 0 : 1;
}

int cmd_health(cli *c, int argc, char **argv)
{
    int json = 0;
    client cl;
    reply r;
    int rc;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0)
            json = 1;
        else
            return usage_error("health", "unexpected argument '%s'", argv[i]);
    }
    rc = client_open(c, &cl);
    if (rc != EXIT_SUCCESS)
        return rc;
    rc = request(&cl, "GET", "/health/readiness", NULL, &r);
    if (rc == EXIT_SUCCESS) {
        /* 503 carries the checks, not an error envelope. */
        int readiness = success(&r) || r.status == 503;
        int shown = -1;
        if (readiness && json) {
            json_t *doc = json_loadb(r.body, r.len, 0, NULL);
            if (json_is_object(doc)) {
                print_json(stdout, r.body, c->compact);
                shown = success(&r) ? 0 : 1;
            }
            json_decref(doc);
        } else if (readiness) {
            shown = print_health(r.body);
        }
        if (shown >= 0) {
            rc = shown == 0 && success(&r) ? EXIT_SUCCESS : EXIT_FAILURE;
        } else if (success(&r)) {
            fprintf(stderr, "ccai-cli: the server's answer is not a readiness document\n");
            rc = EXIT_FAILURE;
        } else {
            rc = http_failed(&cl, &r);
        }
        reply_free(&r);
    }
    client_close(&cl);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* chat --server: the local channel over HTTP                               */
/* ------------------------------------------------------------------------ */

/* Print one answer's sentences; returns its JSON (the caller frees it). */
static json_t *chat_answer(const reply *r, int json)
{
    json_t *doc = json_loadb(r->body, r->len, 0, NULL);
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(doc, "say"), i, s)
    {
        if (json) {
            json_t *ev = json_pack("{s:s, s:O}", "event", "say", "say", s);
            char *text = ev ? json_dumps(ev, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
            if (text)
                puts(text);
            free(text);
            json_decref(ev);
        } else {
            const char *style = json_string_value(json_object_get(s, "style"));
            printf("bot%s: %s\n",
                   style && !strcmp(style, "cheerful") ? " :)"
                   : style && !strcmp(style, "sad")    ? " :("
                                                       : "",
                   json_string_value(json_object_get(s, "text")));
        }
    }
    const char *to = json_string_value(json_object_get(doc, "transfer"));
    if (to && !json)
        printf("  [transfer to %s]\n", to);
    fflush(stdout);
    return doc;
}

/* POST path with msg (its "after" set to *seq, the "seq" of the last
 * answer received: an answer lost on the way is sent again); print the
 * answer and follow "more" until the bot listens or the call ends. 1 when
 * the call ended, 0 when it listens, an exit code + 100 on failure. */
static int chat_exchange(client *cl, const char *id, const char *path, json_t *msg, json_int_t *seq,
                         int json, char *ret_id, size_t id_len)
{
    char next[128];
    for (;;) {
        reply r;
        memset(&r, 0, sizeof r);
        char *body = NULL;
        if (!msg || (*seq >= 0 && json_object_set_new(msg, "after", json_integer(*seq)) != 0) ||
            !(body = json_dumps(msg, JSON_COMPACT))) {
            free(body);
            return 101;
        }
        int rc = request(cl, "POST", path, body, &r);
        free(body);
        if (rc != EXIT_SUCCESS) {
            reply_free(&r);
            return 100 + rc;
        }
        if (!success(&r)) {
            rc = http_failed(cl, &r);
            reply_free(&r);
            return 100 + rc;
        }
        json_t *doc = chat_answer(&r, json);
        reply_free(&r);
        if (ret_id && !*ret_id)
            snprintf(ret_id, id_len, "%s", json_string_value(json_object_get(doc, "call_id")));
        int ended = json_is_true(json_object_get(doc, "ended"));
        int more = json_is_true(json_object_get(doc, "more"));
        if (json_is_integer(json_object_get(doc, "seq")))
            *seq = json_integer_value(json_object_get(doc, "seq"));
        json_decref(doc);
        if (ended)
            return 1;
        if (!more)
            return 0;
        /* The bot is still answering: ask for the rest. */
        snprintf(next, sizeof next, "/chat/%s/next", id ? id : ret_id);
        path = next;
        json_object_clear(msg);
    }
}

int remote_chat(cli *c, FILE *in, int interactive, int json, const char *phone, const char *lang)
{
    client cl;
    int rc = client_open(c, &cl);
    if (rc != EXIT_SUCCESS)
        return rc;
    json_t *start = json_pack("{s:s?, s:s?}", "phone_number", phone, "lang", lang);
    char id[64] = "";
    json_int_t seq = -1; /* none yet: the first request acknowledges nothing */
    int st = chat_exchange(&cl, NULL, "/chat", start, &seq, json, id, sizeof id);
    json_decref(start);
    if (!json && st < 100)
        printf("call %s over %.*s (type /quit to hang up)\n", id, (int)cl.base_len, cl.base);
    char path[128], line[4096];
    snprintf(path, sizeof path, "/chat/%s", id);
    while (st == 0) {
        if (interactive && !json) {
            fputs("you: ", stdout);
            fflush(stdout);
        }
        json_t *msg;
        if (!fgets(line, sizeof line, in) || !strcmp(line, "/quit\n") || !strcmp(line, "/quit")) {
            msg = json_pack("{s:b}", "hangup", 1);
        } else {
            line[strcspn(line, "\r\n")] = '\0';
            if (!interactive && !json)
                printf("you: %s\n", line);
            if (!strncmp(line, "/sms ", 5))
                msg = json_pack("{s:s}", "sms", line + 5);
            else if (!strncmp(line, "/dtmf ", 6))
                msg = json_pack("{s:s}", "dtmf", line + 6);
            else if (!*line)
                msg = json_pack("{s:b}", "silence", 1);
            else
                msg = json_pack("{s:s}", "text", line);
        }
        st = chat_exchange(&cl, id, path, msg, &seq, json, NULL, 0);
        json_decref(msg);
    }
    if (st == 1 && *id && !json) {
        printf("\n--- call %s ended; its report: ", id);
        char show[128];
        snprintf(show, sizeof show, "/call/%s", id);
        reply r;
        memset(&r, 0, sizeof r);
        if (request(&cl, "GET", show, NULL, &r) == EXIT_SUCCESS && success(&r)) {
            json_t *doc = json_loadb(r.body, r.len, 0, NULL);
            const char *rp = json_string_value(json_object_get(doc, "report_path"));
            printf("%.*s%s\n", (int)cl.base_len, cl.base, rp ? rp : "");
            char *claim = json_dumps(json_object_get(doc, "claim"), JSON_INDENT(2));
            printf("claim: %s\n", claim ? claim : "{}");
            free(claim);
            json_decref(doc);
        } else {
            puts("(unavailable)");
        }
        reply_free(&r);
    }
    client_close(&cl);
    return st >= 100 ? st - 100 : EXIT_SUCCESS;
}
