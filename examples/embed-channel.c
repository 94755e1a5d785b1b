/*
 * A host's own channel: a (simulated) PBX that brings libccai its calls
 * through the public API only, with the powers libccai's own Twilio, ACS
 * and chat channels have (they use the same functions):
 *
 *   - an inbound call, the PBX's leg id stored on it (found again later);
 *   - the engine's language menu, offered by the PBX and answered with a key;
 *   - the caller's words and keys, silence the PBX detects itself;
 *   - a crash: the process dies mid-call; a new process finds the call by
 *     the PBX's leg id and takes it back where it was;
 *   - an SMS from the caller, a transfer to a human agent that fails, the
 *     hangup, the post-call work (summary, an SMS to the caller the PBX
 *     sends: the host's SMS sender, sms.mode "host");
 *   - the recording the PBX delivers after the call ended.
 *
 *   cc -std=c11 embed-channel.c $(pkg-config --cflags --libs ccai) -o embed-channel
 *   ./embed-channel
 *
 * The database is a file in a fresh temporary directory (removed at exit).
 * Exits non-zero when the stored call is not what the steps above leave.
 */
#define _POSIX_C_SOURCE 200809L

#include <ccai/adapters/poll.h>
#include <ccai/ccai.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The channel's name: what ccai_call_params.channel and the lookups say. */
#define CHANNEL "pbx"
/* The PBX's ids of the caller's leg and of the whole conversation. */
#define LEG_ID  "pbx-leg-7f3a"
#define CONV_ID "pbx-conv-5521"
#define CALLER  "+33612345678"
/* How long to wait, at most, for the context to become idle at the end. */
#define SETTLE_MS 10000
#define PATH_LEN  1024
/* The language menu's keys this PBX keeps (the menu has at most 9). */
#define MAX_CHOICES 9

static void log_line(ccai_log_level level, const char *msg, void *ud)
{
    (void)ud;
    fprintf(stderr, "libccai %s: %s\n", ccai_log_level_str(level), msg);
}

/* ------------------------------------------------------------------------ */
/* The PBX side of one call: what the engine asks of the line.              */
/* ------------------------------------------------------------------------ */

typedef struct pbx_line {
    /* The open menu: which key picks which value. */
    char keys[MAX_CHOICES][4];
    char values[MAX_CHOICES][16];
    size_t n_choices;
    int transfers, hangups;
} pbx_line;

static int on_say(ccai_call *call, const ccai_speech *speech, void *ud)
{
    (void)call;
    (void)ud;
    printf("BOT (%s): %s\n", speech->lang ? speech->lang : "-", speech->text);
    return 0;
}

static int on_listen(ccai_call *call, const char *lang, void *ud)
{
    (void)call;
    (void)ud;
    printf("PBX listens (%s)\n", lang ? lang : "-");
    return 0;
}

static int on_stop_speaking(ccai_call *call, void *ud)
{
    (void)call;
    (void)ud;
    return 0;
}

/* The engine asks for a transfer: the PBX dials the agent; the outcome
 * comes back later as an event (see second_process()). */
static int on_transfer(ccai_call *call, const char *phone_number, void *ud)
{
    (void)call;
    printf("PBX transfers to %s\n", phone_number);
    ((pbx_line *)ud)->transfers++;
    return 0;
}

static int on_hangup(ccai_call *call, void *ud)
{
    (void)call;
    printf("PBX hangs up\n");
    ((pbx_line *)ud)->hangups++;
    return 0;
}

static int on_send_sms(ccai_call *call, const char *phone_number, const char *text, void *ud)
{
    (void)call;
    (void)ud;
    printf("PBX sends an SMS to %s: %s\n", phone_number, text);
    return 0;
}

static void on_state(ccai_call *call, ccai_call_state old_state, ccai_call_state new_state,
                     void *ud)
{
    (void)call;
    (void)ud;
    printf("state: %s -> %s\n", ccai_call_state_str(old_state), ccai_call_state_str(new_state));
}

/* The engine's menu (the language menu today): the PBX plays each choice's
 * line and remembers which key picks what. */
static int on_menu(ccai_call *call, const ccai_menu *menu, void *ud)
{
    pbx_line *l = ud;
    (void)call;
    printf("PBX offers the %s menu:\n", menu->name);
    l->n_choices = 0;
    for (size_t i = 0; i < menu->n_choices && i < MAX_CHOICES; i++) {
        const ccai_menu_choice *ch = menu->choices[i];
        printf("  [%s] %s\n", ch->dtmf, ch->text);
        snprintf(l->keys[i], sizeof l->keys[i], "%s", ch->dtmf);
        snprintf(l->values[i], sizeof l->values[i], "%s", ch->value);
        l->n_choices++;
    }
    return 0;
}

static const ccai_call_ops pbx_ops = {
    .version = CCAI_CALL_OPS_VERSION,
    .say = on_say,
    .stop_speaking = on_stop_speaking,
    .listen = on_listen,
    .transfer = on_transfer,
    .hangup = on_hangup,
    .send_sms = on_send_sms,
    .state_changed = on_state,
    .menu = on_menu,
};

/* Hand the engine what the PBX saw, then dispatch what it made ready. */
static int feed(ccai_poll *loop, ccai_call *call, ccai_event_type type, const char *text)
{
    ccai_status st = ccai_call_notify(call, type, text);

    if (st != CCAI_OK) {
        fprintf(stderr, "%s event: %s: %s\n", ccai_event_type_str(type), ccai_status_str(st),
                ccai_call_errmsg(call));
        return -1;
    }
    return ccai_poll_run_once(loop, 0);
}

/* The caller pressed @p key while the menu was open: its value. */
static const char *menu_value(const pbx_line *l, const char *key)
{
    for (size_t i = 0; i < l->n_choices; i++)
        if (strcmp(l->keys[i], key) == 0)
            return l->values[i];
    return NULL; /* a key of no choice: reported as "nothing recognised" */
}

/* The PBX sends the engine's SMS (sms.mode "host"): here at once. */
static int sms_sent;

static int pbx_send_sms(ccai_ctx *ctx, uint64_t request_id, const char *to, const char *text,
                        void *ud)
{
    (void)ud;
    printf("PBX sends the engine's SMS to %s: %s\n", to, text);
    sms_sent++;
    return ccai_ctx_sms_done(ctx, request_id, CCAI_OK, 0, NULL) == CCAI_OK ? 0 : -1;
}

static const ccai_sms_ops pbx_sms_ops = {
    .version = CCAI_SMS_OPS_VERSION,
    .send = pbx_send_sms,
};

/* ------------------------------------------------------------------------ */
/* One process of the host.                                                 */
/* ------------------------------------------------------------------------ */

typedef struct host {
    ccai_config *cfg;
    ccai_poll *loop;
    ccai_ctx *ctx;
} host;

static int host_open(host *h, const char *db_path)
{
    char *err = NULL;
    ccai_status st = ccai_config_new(&h->cfg);

    if (st == CCAI_OK)
        st = ccai_config_set_logger(h->cfg, log_line, NULL, CCAI_LOG_WARN);
    if (st == CCAI_OK)
        st = ccai_config_set(h->cfg, "database.sqlite.path", db_path);
    if (st == CCAI_OK)
        st = ccai_config_set(h->cfg, "sms.mode", "host");
    if (st == CCAI_OK)
        st = ccai_config_set_sms_ops(h->cfg, &pbx_sms_ops, NULL);
    if (st != CCAI_OK) {
        fprintf(stderr, "configuration: %s\n%s\n", ccai_status_str(st),
                h->cfg ? ccai_config_errmsg(h->cfg) : "");
        return -1;
    }
    st = ccai_poll_new(h->cfg, &h->loop, &h->ctx, &err);
    if (st != CCAI_OK) {
        fprintf(stderr, "context: %s: %s\n", ccai_status_str(st), err ? err : "");
        ccai_free(err);
        return -1;
    }
    return 0;
}

static void host_close(host *h)
{
    ccai_poll_free(h->loop);
    ccai_config_free(h->cfg);
}

static uint64_t deadline_ms;

static int idle_or_late(void *ud)
{
    return !ccai_ctx_busy((const ccai_ctx *)ud) || ccai_time_ms() >= deadline_ms;
}

/* The first process: the call comes in, the caller picks a language with a
 * key, talks, keys in a digit, falls silent; then the process dies. */
static int first_process(const char *db_path)
{
    host h = {0};
    pbx_line line = {0};
    ccai_call *call = NULL;
    const char *choice;

    if (host_open(&h, db_path) != 0)
        return -1;
    ccai_call_params params = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .direction = CCAI_INBOUND,
        .phone_number = CALLER,
        .channel = CHANNEL,
        /* The PBX detects the caller's silence: no engine timer. */
        .flags = CCAI_CALL_REPORTS_SILENCE,
    };
    ccai_status st = ccai_call_start(h.ctx, &params, &pbx_ops, &line, &call);
    if (st != CCAI_OK) {
        fprintf(stderr, "ccai_call_start: %s: %s\n", ccai_status_str(st), ccai_ctx_errmsg(h.ctx));
        return -1;
    }
    printf("call %s started\n", ccai_call_id(call));
    /* The PBX's ids, for its later callbacks and for a restarted host. */
    if (ccai_call_set_provider_ids(call, LEG_ID, CONV_ID) != CCAI_OK)
        return -1;

    if (feed(h.loop, call, CCAI_EVENT_CONNECTED, NULL) != 0)
        return -1;
    if (ccai_call_get_state(call) != CCAI_CALL_LANGUAGE_MENU || line.n_choices == 0) {
        fprintf(stderr, "no language menu\n");
        return -1;
    }
    choice = menu_value(&line, "2");
    printf("CALLER presses 2 (%s)\n", choice ? choice : "nothing");
    if (feed(h.loop, call, CCAI_EVENT_CHOICE, choice) != 0)
        return -1;
    printf("CALLER: Hello, my car was hit\n");
    if (feed(h.loop, call, CCAI_EVENT_SPEECH, "Hello, my car was hit") != 0)
        return -1;
    printf("CALLER presses 1\n");
    if (feed(h.loop, call, CCAI_EVENT_DTMF, "1") != 0)
        return -1;
    printf("PBX: the caller says nothing\n");
    if (feed(h.loop, call, CCAI_EVENT_SILENCE_TIMEOUT, NULL) != 0)
        return -1;

    printf("the first process dies\n");
    fflush(stdout);
    _exit(EXIT_SUCCESS); /* no ccai_call_free(): the call stays in progress */
}

/* Whether the stored call's JSON holds @p what; says which when not. */
static int holds(const char *json, const char *what)
{
    if (strstr(json, what))
        return 1;
    fprintf(stderr, "the stored call lacks %s\n", what);
    return 0;
}

/* The restarted process: the PBX still has the leg; the host takes the call
 * back, the caller texts, asks for a human, the transfer fails, the caller
 * hangs up, the recording arrives. */
static int second_process(const char *db_path)
{
    host h = {0};
    pbx_line line = {0};
    ccai_call *call = NULL;
    char *call_id = NULL, *again = NULL, *json = NULL;
    ccai_status st;
    int rc = -1;

    if (host_open(&h, db_path) != 0)
        return -1;
    /* 1. Whose is this leg? The PBX's id finds the call. */
    st = ccai_ctx_call_find_provider(h.ctx, CHANNEL, LEG_ID, &call_id);
    if (st != CCAI_OK) {
        fprintf(stderr, "find %s: %s\n", LEG_ID, ccai_status_str(st));
        goto out;
    }
    printf("leg %s is call %s: taking it back\n", LEG_ID, call_id);
    ccai_call_params params = {
        .version = CCAI_CALL_PARAMS_VERSION,
        .channel = CHANNEL,
        .flags = CCAI_CALL_REPORTS_SILENCE,
        .resume_call_id = call_id,
    };
    st = ccai_call_start(h.ctx, &params, &pbx_ops, &line, &call);
    if (st != CCAI_OK) {
        fprintf(stderr, "take back: %s: %s\n", ccai_status_str(st), ccai_ctx_errmsg(h.ctx));
        goto out;
    }
    if (!ccai_call_resumed(call) || strcmp(ccai_call_lang(call), "en-US") != 0) {
        fprintf(stderr, "not taken back as it was (lang %s)\n", ccai_call_lang(call));
        goto out;
    }
    if (feed(h.loop, call, CCAI_EVENT_CONNECTED, NULL) != 0)
        goto out;

    /* 2. The caller texts; the live call reads it on its next turn. */
    printf("CALLER texts: My policy number is 1234.\n");
    st = ccai_ctx_sms_inbound(h.ctx, CALLER, "My policy number is 1234.");
    if (st != CCAI_OK) {
        fprintf(stderr, "inbound SMS: %s\n", ccai_status_str(st));
        goto out;
    }
    printf("CALLER: I want to talk to a human agent\n");
    if (feed(h.loop, call, CCAI_EVENT_SPEECH, "I want to talk to a human agent") != 0)
        goto out;
    if (line.transfers != 1) {
        fprintf(stderr, "no transfer asked\n");
        goto out;
    }
    /* 3. Nobody answers at the agents' desk. */
    printf("PBX: the transfer failed\n");
    if (feed(h.loop, call, CCAI_EVENT_TRANSFER_FAILED, "no answer") != 0)
        goto out;
    printf("PBX: the caller hung up\n");
    if (ccai_call_get_state(call) < CCAI_CALL_ENDED &&
        feed(h.loop, call, CCAI_EVENT_HANGUP, "caller hung up") != 0)
        goto out;

    /* 4. The post-call work (summary, the SMS to the caller) runs. */
    deadline_ms = ccai_time_ms() + SETTLE_MS;
    if (ccai_poll_run(h.loop, idle_or_late, h.ctx) != 0)
        goto out;
    printf("state: %s\n", ccai_call_state_str(ccai_call_get_state(call)));
    if (sms_sent != 1) {
        fprintf(stderr, "the PBX sent %d SMS, not 1\n", sms_sent);
        goto out;
    }
    ccai_call_free(call);
    call = NULL;

    /* 5. The recording comes later, named by the PBX's conversation id. */
    st = ccai_ctx_call_find_provider(h.ctx, CHANNEL, CONV_ID, &again);
    if (st == CCAI_OK)
        st = ccai_ctx_call_set_recording(h.ctx, again, "https://pbx.example/rec/5521.wav",
                                         "rec-5521", 61000);
    if (st != CCAI_OK) {
        fprintf(stderr, "recording: %s\n", ccai_status_str(st));
        goto out;
    }

    /* 6. What the store holds. */
    st = ccai_ctx_call_get_json(h.ctx, call_id, &json);
    if (st != CCAI_OK) {
        fprintf(stderr, "ccai_ctx_call_get_json: %s\n", ccai_status_str(st));
        goto out;
    }
    printf("json: %s\n", json);
    if (holds(json, "\"state\":\"done\"") && holds(json, "\"lang\":\"en-US\"") &&
        holds(json, "\"provider_call_id\":\"" LEG_ID "\"") && holds(json, "\"action\":\"dtmf\"") &&
        holds(json, "My policy number is 1234.") &&
        holds(json, "\"recording_url\":\"https://pbx.example/rec/5521.wav\"") &&
        holds(json, "\"recording_duration_ms\":61000") && holds(json, "Hello, my car was hit"))
        rc = 0;
out:
    ccai_free(json);
    ccai_free(again);
    ccai_free(call_id);
    ccai_call_free(call);
    host_close(&h);
    return rc;
}

static void remove_database(const char *dir, const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char name[PATH_LEN + 16];

    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
    rmdir(dir);
}

int main(void)
{
    char dir[PATH_LEN - 32];
    char path[PATH_LEN];
    const char *tmp = getenv("TMPDIR");
    int status = 0, rc = EXIT_FAILURE;
    pid_t pid;

    snprintf(dir, sizeof dir, "%s/ccai-example-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return EXIT_FAILURE;
    }
    snprintf(path, sizeof path, "%s/calls.sqlite", dir);

    fflush(stdout);
    pid = fork();
    if (pid < 0) {
        perror("fork");
    } else if (pid == 0) {
        first_process(path); /* returns only on failure */
        fflush(stdout);
        _exit(EXIT_FAILURE);
    } else if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "the first process failed\n");
    } else if (second_process(path) == 0) {
        rc = EXIT_SUCCESS;
    }
    remove_database(dir, path);
    return rc;
}
