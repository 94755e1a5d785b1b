/*
 * ccai-cli chat: a call on the local channel, in text. The terminal (or a
 * script) is the caller; the bot's sentences print as they stream.
 */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096

typedef struct chat {
    cli *c;
    FILE *in;
    int interactive;
    int json;
    ccai_call *call;
    int listening; /* the bot is done and listens */
    int hangup;    /* the bot hung up */
    int transfer;  /* the bot transferred the call */
    char transfer_to[64];
    json_t *claim; /* as last shown */
    size_t reminders;
    long long last_seq;
} chat;

/* Output ------------------------------------------------------------------ */

static void emit(chat *ch, json_t *obj)
{
    char *text = json_dumps(obj, JSON_COMPACT | JSON_ENSURE_ASCII);
    if (text) {
        puts(text);
        free(text);
    }
    json_decref(obj);
    fflush(stdout);
}

static const char *style_mark(const ccai_speech *sp)
{
    switch (sp->style) {
    case CCAI_STYLE_CHEERFUL: return " :)";
    case CCAI_STYLE_SAD: return " :(";
    default: return "";
    }
}

/* Ops: what the bot does ------------------------------------------------- */

static int op_say(ccai_call *call, const ccai_speech *sp, void *ud)
{
    chat *ch = ud;
    (void)call;
    if (ch->json)
        emit(ch, json_pack("{s:s, s:s, s:s?, s:s, s:f, s:b}", "event", "say", "text", sp->text,
                           "lang", sp->lang, "style", ccai_style_str(sp->style), "rate", sp->rate,
                           "expects_reply", sp->expects_reply));
    else {
        printf("bot%s: %s\n", style_mark(sp), sp->text);
        fflush(stdout);
    }
    return 0;
}

static int op_stop(ccai_call *call, void *ud)
{
    chat *ch = ud;
    (void)call;
    if (ch->json)
        emit(ch, json_pack("{s:s}", "event", "interrupted"));
    else
        puts("  (bot interrupted)");
    return 0;
}

static int op_listen(ccai_call *call, const char *lang, void *ud)
{
    (void)call;
    (void)lang;
    ((chat *)ud)->listening = 1;
    return 0;
}

static int op_transfer(ccai_call *call, const char *number, void *ud)
{
    chat *ch = ud;
    (void)call;
    ch->transfer = 1;
    snprintf(ch->transfer_to, sizeof ch->transfer_to, "%s", number);
    if (ch->json)
        emit(ch, json_pack("{s:s, s:s}", "event", "transfer", "to", number));
    else
        printf("  [transfer to %s]\n", number);
    return 0;
}

static int op_hangup(ccai_call *call, void *ud)
{
    chat *ch = ud;
    (void)call;
    ch->hangup = 1;
    if (ch->json)
        emit(ch, json_pack("{s:s}", "event", "hangup"));
    else
        puts("  [the bot hangs up]");
    return 0;
}

static int op_sms(ccai_call *call, const char *number, const char *text, void *ud)
{
    chat *ch = ud;
    (void)call;
    if (ch->json)
        emit(ch, json_pack("{s:s, s:s, s:s}", "event", "sms", "to", number, "text", text));
    else
        printf("  [SMS to %s] %s\n", number, text);
    return 0;
}

static void op_state(ccai_call *call, ccai_call_state o, ccai_call_state n, void *ud)
{
    chat *ch = ud;
    (void)call;
    if (ch->c->verbosity > 0)
        fprintf(stderr, "  (state %s -> %s)\n", ccai_call_state_str(o), ccai_call_state_str(n));
}

/* What changed in the stored call since the last look: tools that ran,
 * claim fields, reminders. */
static void show_changes(chat *ch)
{
    char *text = NULL;
    if (ccai_call_to_json(ch->call, &text) != CCAI_OK)
        return;
    json_t *doc = json_loads(text, 0, NULL);
    ccai_free(text);
    if (!doc)
        return;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(doc, "messages"), i, m)
    {
        long long seq = json_integer_value(json_object_get(m, "seq"));
        if (seq <= ch->last_seq)
            continue;
        ch->last_seq = seq;
        size_t k;
        json_t *tc;
        json_array_foreach(json_object_get(m, "tool_calls"), k, tc)
        {
            const char *name = json_string_value(json_object_get(tc, "function_name"));
            const char *result = json_string_value(json_object_get(tc, "content"));
            if (ch->json) {
                emit(ch, json_pack("{s:s, s:s?, s:O?, s:s?}", "event", "tool", "name", name,
                                   "arguments", json_object_get(tc, "function_arguments"), "result",
                                   result));
            } else {
                size_t len = result ? strcspn(result, "\n") : 0;
                printf("  [tool %s] %.*s%s\n", name ? name : "?", (int)len, result ? result : "",
                       result && result[len] ? " ..." : "");
            }
        }
    }
    json_t *claim = json_object_get(doc, "claim");
    const char *key;
    json_t *v;
    json_object_foreach(claim, key, v)
    {
        json_t *was = json_object_get(ch->claim, key);
        if (was && json_equal(was, v))
            continue;
        if (ch->json)
            emit(ch, json_pack("{s:s, s:s, s:O}", "event", "claim", "field", key, "value", v));
        else
            printf("  [claim] %s = %s\n", key, json_string_value(v) ? json_string_value(v) : "?");
    }
    json_decref(ch->claim);
    ch->claim = json_incref(claim);
    json_t *reminders = json_object_get(doc, "reminders");
    for (i = ch->reminders; i < json_array_size(reminders); i++) {
        json_t *r = json_array_get(reminders, i);
        if (ch->json)
            emit(ch, json_pack("{s:s, s:O}", "event", "reminder", "reminder", r));
        else
            printf("  [reminder] %s (%s)\n", json_string_value(json_object_get(r, "title")),
                   json_string_value(json_object_get(r, "due_date_time"))
                       ? json_string_value(json_object_get(r, "due_date_time"))
                       : "no date");
    }
    ch->reminders = json_array_size(reminders);
    json_decref(doc);
}

/* The loop ------------------------------------------------------------------ */

static int bot_done(void *ud)
{
    chat *ch = ud;
    ccai_call_state s = ccai_call_get_state(ch->call);
    return s >= CCAI_CALL_ENDED || ch->hangup || ch->transfer ||
           (ch->listening && s != CCAI_CALL_TURN);
}

static ccai_status send(chat *ch, ccai_event_type type, const char *text)
{
    ccai_event *ev = NULL;
    ccai_status st = ccai_event_new(type, &ev);
    if (st == CCAI_OK && text)
        st = ccai_event_set_text(ev, text);
    if (st == CCAI_OK) {
        ch->listening = 0;
        st = ccai_on_event(ch->call, ev);
    }
    ccai_event_free(ev);
    if (st != CCAI_OK && st != CCAI_ERR_STATE)
        fprintf(stderr, "ccai-cli: chat: %s: %s\n", ccai_status_str(st),
                ccai_call_errmsg(ch->call));
    return st;
}

static ccai_status send(chat *ch, ccai_event_type type, const char *text);

/* Text "plays" at once: once the bot listens, everything it said is done. */
static void run_until_bot_done(chat *ch)
{
    ccai_poll_run(ch->c->loop, bot_done, ch);
    show_changes(ch);
    if (ch->listening && ccai_call_get_state(ch->call) < CCAI_CALL_ENDED) {
        send(ch, CCAI_EVENT_SAY_DONE, NULL);
        ch->listening = 1;
    }
}

/* The wait for the post-call report (synthesis, next action: LLM requests
 * that may take seconds): said on standard error with the time elapsed,
 * rewritten every second on a terminal, a line every 5 s otherwise. */
typedef struct post_wait {
    ccai_ctx *ctx;
    uint64_t start, deadline;
    long shown; /* seconds last shown, -1: nothing yet */
    int tty;
} post_wait;

#define WAIT_LINE_EVERY_S 5

static int idle_or_late(void *ud)
{
    post_wait *w = ud;
    uint64_t now = ccai_time_ms();
    long secs = (long)((now - w->start) / 1000u);
    int idle = !ccai_ctx_busy(w->ctx);
    int late = now > w->deadline;

    if (idle || late) {
        if (w->shown >= 0)
            fprintf(stderr, "%s%s after %ld s\n", w->tty ? "\r\033[K" : "",
                    idle ? "post-call report done" : "stopped waiting for the post-call report",
                    secs);
        return 1;
    }
    if (secs != w->shown && (w->tty || w->shown < 0 || secs - w->shown >= WAIT_LINE_EVERY_S)) {
        fprintf(stderr, "%swaiting for the post-call report (summary, next action): %ld s%s",
                w->tty ? "\r\033[K" : "", secs, w->tty ? "" : "\n");
        fflush(stderr);
        w->shown = secs;
    }
    return 0;
}

/* A line from the caller; 0 at the end of input. */
static int read_line(chat *ch, char *buf, size_t len)
{
    if (ch->interactive && !ch->json) {
        fputs("you: ", stdout);
        fflush(stdout);
    }
    if (!fgets(buf, (int)len, ch->in))
        return 0;
    buf[strcspn(buf, "\r\n")] = '\0';
    if (!ch->interactive && !ch->json) {
        printf("you: %s\n", buf);
        fflush(stdout);
    }
    return 1;
}

/* The stored call at its end: claim, next action, synthesis (text), or one
 * {"event":"end","call":...} line (json). */
void print_call_summary(cli *c, const char *call_id, int json)
{
    char *text = NULL;
    if (ccai_ctx_call_get_json(c->ctx, call_id, &text) != CCAI_OK)
        return;
    json_t *doc = json_loads(text, 0, NULL);
    if (json) {
        emit(NULL, json_pack("{s:s, s:O?}", "event", "end", "call", doc));
    } else if (doc) {
        printf("\n--- call %s (%s)\n", json_string_value(json_object_get(doc, "call_id")),
               json_string_value(json_object_get(doc, "state")));
        char *claim = json_dumps(json_object_get(doc, "claim"), JSON_INDENT(2));
        printf("claim: %s\n", claim ? claim : "{}");
        free(claim);
        json_t *next = json_object_get(doc, "next");
        json_t *syn = json_object_get(doc, "synthesis");
        if (json_is_object(next))
            printf("next action: %s: %s\n", json_string_value(json_object_get(next, "action")),
                   json_string_value(json_object_get(next, "justification")));
        if (json_is_object(syn)) {
            printf("synthesis (%s, satisfaction %s):\n  %s\n",
                   json_string_value(json_object_get(syn, "short")),
                   json_string_value(json_object_get(syn, "satisfaction")),
                   json_string_value(json_object_get(syn, "long")));
        } else {
            puts("synthesis: none (the caller never spoke, or the report is not ready)");
        }
    }
    json_decref(doc);
    ccai_free(text);
}

int cmd_chat(cli *c, int argc, char **argv)
{
    const char *script = NULL, *phone = "+33612345678", *wait_s = "120", *lang = NULL;
    int json_out = 0, resume = 0;
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--json") == 0) {
            json_out = 1;
        } else if (strcmp(argv[i], "--resume") == 0) {
            resume = 1;
        } else if ((m = option_value(argc, argv, &i, "--script", &script)) != 0 ||
                   (m = option_value(argc, argv, &i, "--phone", &phone)) != 0 ||
                   (m = option_value(argc, argv, &i, "--wait", &wait_s)) != 0 ||
                   (m = option_value(argc, argv, &i, "--lang", &lang)) != 0) {
            if (m < 0)
                return usage_error("chat", "%s needs a value", argv[i]);
        } else {
            return usage_error("chat", "unexpected argument '%s'", argv[i]);
        }
    }
    char *end = NULL;
    long wait = strtol(wait_s, &end, 10);
    if (!*wait_s || *end || wait < 0 || wait > 86400)
        return usage_error("chat", "--wait needs a number of seconds");

    chat ch;
    memset(&ch, 0, sizeof ch);
    ch.c = c;
    ch.json = json_out;
    ch.in = stdin;
    if (script && strcmp(script, "-") != 0) {
        ch.in = fopen(script, "r");
        if (!ch.in) {
            fprintf(stderr, "ccai-cli: chat: cannot open %s: %s\n", script, strerror(errno));
            return EXIT_FAILURE;
        }
    }
    ch.interactive = !script && isatty(STDIN_FILENO);

    if (c->server) {
        /* The bot runs in that server: talk to it over HTTP. */
        int rrc = remote_chat(c, ch.in, ch.interactive, json_out, phone, lang);
        if (ch.in != stdin)
            fclose(ch.in);
        return rrc;
    }
    int rc = load_config(c);
    if (rc == EXIT_SUCCESS)
        rc = open_ctx(c);
    if (rc != EXIT_SUCCESS) {
        if (ch.in != stdin)
            fclose(ch.in);
        return rc;
    }
    ccai_call_ops ops = {.version = CCAI_CALL_OPS_VERSION,
                         .say = op_say,
                         .stop_speaking = op_stop,
                         .listen = op_listen,
                         .transfer = op_transfer,
                         .hangup = op_hangup,
                         .send_sms = op_sms,
                         .state_changed = op_state};
    /* The call's settings as JSON built by jansson: --lang is data. */
    json_t *init = lang ? json_pack("{s:{s:s}}", "lang", "default_short_code", lang) : NULL;
    char *initiate = init ? json_dumps(init, JSON_COMPACT) : NULL;
    json_decref(init);
    ccai_call_params p = {.version = CCAI_CALL_PARAMS_VERSION,
                          .direction = CCAI_INBOUND,
                          .phone_number = phone,
                          .channel = "local",
                          .initiate_json = initiate,
                          .resume = resume};
    ccai_status st =
        lang && !initiate ? CCAI_ERR_NOMEM : ccai_call_start(c->ctx, &p, &ops, &ch, &ch.call);
    free(initiate);
    if (st != CCAI_OK) {
        fprintf(stderr, "ccai-cli: chat: cannot start the call: %s: %s\n", ccai_status_str(st),
                ccai_ctx_errmsg(c->ctx));
        if (ch.in != stdin)
            fclose(ch.in);
        return EXIT_FAILURE;
    }
    if (!json_out)
        printf("call %s%s (type /quit to hang up)\n", ccai_call_id(ch.call),
               ccai_call_resumed(ch.call) ? " (resumed)" : "");
    send(&ch, CCAI_EVENT_CONNECTED, NULL);
    run_until_bot_done(&ch);

    char line[LINE_MAX_BYTES];
    while (ccai_call_get_state(ch.call) < CCAI_CALL_ENDED) {
        if (ch.hangup) {
            send(&ch, CCAI_EVENT_HANGUP, "the bot hung up");
            break;
        }
        if (ch.transfer) {
            send(&ch, CCAI_EVENT_TRANSFER_OK, ch.transfer_to);
            break;
        }
        if (!read_line(&ch, line, sizeof line)) {
            send(&ch, CCAI_EVENT_HANGUP, "the caller hung up");
            break;
        }
        if (strcmp(line, "/quit") == 0) {
            send(&ch, CCAI_EVENT_HANGUP, "the caller hung up");
            break;
        }
        if (strncmp(line, "/sms ", 5) == 0) {
            send(&ch, CCAI_EVENT_SMS, line + 5);
            show_changes(&ch);
            continue; /* an SMS waits for the next turn */
        }
        if (strncmp(line, "/dtmf ", 6) == 0)
            send(&ch, CCAI_EVENT_DTMF, line + 6);
        else if (line[0] == '\0')
            send(&ch, CCAI_EVENT_SILENCE_TIMEOUT, NULL);
        else
            send(&ch, CCAI_EVENT_SPEECH, line);
        run_until_bot_done(&ch);
    }
    show_changes(&ch);
    /* The post-call report runs as durable jobs: wait for them. */
    post_wait pw = {c->ctx, ccai_time_ms(), 0, -1, isatty(STDERR_FILENO)};
    pw.deadline = pw.start + (uint64_t)wait * 1000u;
    ccai_poll_run(c->loop, idle_or_late, &pw);
    print_call_summary(c, ccai_call_id(ch.call), ch.json);
    ccai_call_free(ch.call);
    json_decref(ch.claim);
    if (ch.in != stdin)
        fclose(ch.in);
    return EXIT_SUCCESS;
}
