/* Outbound calls answered by a machine (CCAI_EVENT_ANSWERING_MACHINE).
 *
 * The channel says who answered, in Twilio's AnsweredBy words: Twilio's
 * own detection (MachineDetection on the Calls request), or libccai's on
 * the callee's audio (media/amd.h, in the voice layer):
 *   human, unknown         nothing changes (logged);
 *   machine_start          a machine's greeting plays: the bot stops (its
 *                          turn cancelled, what it says cut) and waits for
 *                          the end of the greeting, voicemail.end_wait_sec
 *                          at most;
 *   machine_end_beep, machine_end_silence, machine_end_other
 *                          the machine records: the bot leaves the
 *                          configured message (voicemail.message, in the
 *                          call's language) and hangs up;
 *   fax                    hung up at once.
 * With voicemail.enabled off the words are only logged. The call's outcome
 * is "voicemail" (its end reason, the report, ccai_voicemail_total); it
 * is tried again: a callback's leg counts as a dial not answered (retried
 * as the callback's rules say), any other outbound call gets a callback
 * voicemail.retry_delay_sec later (0: none). Each verdict is stored on the
 * call as a message (persona human, action "machine"). */
#include "engine/engine.h"

#include "config/config.h"
#include "engine/prompts.h"

#include <stdio.h>
#include <string.h>

static void count(ccai_call *c, const char *what)
{
    char labels[96];
    snprintf(labels, sizeof labels, "answered_by=\"%s\"", what);
    /* Best effort: a sample lost changes nothing of the call. */
    CCAI_DISCARD(Ccai_metrics_counter_add(c->eng->metrics, "ccai_voicemail_total", labels, 1));
}

/* Try again later: the callback machinery dials at the due time. */
static void retry(ccai_call *c)
{
    if (c->callback_job) {
        /* The leg reached a machine: a dial not answered (on_hangup tells
         * the callback, with the end reason). */
        c->callback_answered = false;
        return;
    }
    int64_t delay = Ccai_config_int(c->eng->cfg, "voicemail.retry_delay_sec", 3600);
    if (delay <= 0)
        return;
    int64_t at = Ccai_wall_ms() + delay * 1000;
    char iso[32];
    Ccai_format_iso8601(at, iso, sizeof iso);
    char *about = Ccai_asprintf("%s (a voicemail was left)", Ccai_conv_initiate_str(c, "task"));
    char *said = about ? Ccai_callback_schedule(c, at, iso, about) : NULL;
    if (!said || strncmp(said, "Failed", 6) == 0)
        Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: voicemail: no call again: %s", c->row.id,
                 said ? said : ccai_status_str(CCAI_ERR_NOMEM));
    ccai_free(said);
    ccai_free(about);
}

/* The message, in the call's language, with its placeholders filled. */
static char *message(ccai_call *c)
{
    const json_t *v =
        Ccai_menu_by_lang(Ccai_config_json(c->eng->cfg, "voicemail.message"), c->row.lang);
    const char *tpl = json_string_value(v);
    if (!tpl)
        tpl = Ccai_config_str(c->eng->cfg, "voicemail.message");
    if (!tpl || !*tpl)
        return NULL;
    Ccai_prompt_var vars[] = {
        {"bot_name", Ccai_conv_initiate_str(c, "bot_name")},
        {"bot_company", Ccai_conv_initiate_str(c, "bot_company")},
    };
    return Ccai_prompt_render(tpl, vars, CCAI_ARRAY_SIZE(vars));
}

static CCAI_MUST_CHECK ccai_status record(ccai_call *c, const char *what)
{
    return Ccai_call_add_message(c, "human", "machine", CCAI_STYLE_NONE, what, NULL, NULL, NULL,
                                 NULL);
}

/* The machine records: say the message, hang up. */
static CCAI_MUST_CHECK ccai_status leave_message(ccai_call *c, const char *what)
{
    c->machine = CCAI_MACHINE_LEFT;
    Ccai_conv_machine(c, 0);
    char *text = message(c);
    if (text && !Ccai_conv_say(c, text, CCAI_STYLE_NONE, false, false, "script"))
        Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: voicemail: the message could not be said",
                 c->row.id);
    ccai_free(text);
    Ccai_log(&c->log, CCAI_LOG_INFO, "call %s: answering machine (%s): message left", c->row.id,
             what);
    ccai_status st = Ccai_str_replace(&c->end_reason, "voicemail") ? CCAI_OK : CCAI_ERR_NOMEM;
    retry(c);
    Ccai_call_hangup(c);
    return st;
}

ccai_status Ccai_voicemail_on(ccai_call *c, const char *answered_by)
{
    if (!answered_by || !*answered_by)
        return CCAI_ERR_INVALID_ARG;
    bool end = strncmp(answered_by, "machine_end_", 12) == 0;
    bool start = strcmp(answered_by, "machine_start") == 0;
    bool fax = strcmp(answered_by, "fax") == 0;
    if (!end && !start && !fax && strcmp(answered_by, "human") != 0 &&
        strcmp(answered_by, "unknown") != 0) {
        Ccai_err_set(&c->err, "\"%.40s\" is not a word of answering-machine detection",
                     answered_by);
        return CCAI_ERR_INVALID_ARG;
    }
    if (c->machine == CCAI_MACHINE_LEFT || c->state >= CCAI_CALL_ENDING)
        return CCAI_OK; /* once */
    bool on = c->row.direction == CCAI_OUTBOUND &&
              Ccai_config_bool(c->eng->cfg, "voicemail.enabled", false);
    Ccai_log(&c->log, CCAI_LOG_INFO, "call %s: answered by %s%s", c->row.id, answered_by,
             on ? "" : " (voicemail handling off)");
    if (!on || (!end && !start && !fax))
        return CCAI_OK;
    count(c, answered_by);
    char what[80];
    snprintf(what, sizeof what, "answered by %s", answered_by);
    ccai_status st = record(c, what);
    if (st != CCAI_OK)
        return st;
    if (fax) {
        c->machine = CCAI_MACHINE_LEFT;
        Ccai_conv_machine(c, 0);
        if (!Ccai_str_replace(&c->end_reason, "fax"))
            return CCAI_ERR_NOMEM;
        Ccai_call_hangup(c);
        return CCAI_OK;
    }
    if (start) {
        if (c->machine == CCAI_MACHINE_NONE) {
            c->machine = CCAI_MACHINE_GREETING;
            Ccai_conv_machine(
                c, (uint32_t)Ccai_config_int(c->eng->cfg, "voicemail.end_wait_sec", 30) * 1000);
        }
        return CCAI_OK;
    }
    return leave_message(c, answered_by);
}

void Ccai_voicemail_end_wait(ccai_call *c)
{
    if (c->machine != CCAI_MACHINE_GREETING)
        return;
    ccai_status st = leave_message(c, "machine_end_other, waited");
    if (st != CCAI_OK)
        Ccai_log(&c->log, CCAI_LOG_WARN, "call %s: voicemail: %s", c->row.id, ccai_status_str(st));
}
