/* The speech stand-ins and the media callers for the SDK tests in
 * tests/standins (the .test.mjs files), driven over stdin/stdout, one JSON object a
 * line each way.
 *
 * At start it prints {"deepgram":port,"openai":port,"azure":port,
 * "elevenlabs":port}; then each command line gets one answer line:
 *   {"cmd":"say","service":"deepgram|openai|azure","text":"..."}
 *   {"cmd":"fault","service":"deepgram|openai|azure|elevenlabs", <the
 *       fault's fields: status, retry_after, delay_ms (deepgram:
 *       handshake_delay_ms), drop, after, cut, garbage, malformed,
 *       stall_ms, close_code>}
 *   {"cmd":"twilio","port":P,"path":"/x","token":"...","params":{...}}
 *   {"cmd":"acs","port":P,"path":"/x","authorization":"Bearer ...","rate":16000,"dtmf":true}
 *   {"cmd":"speak","ms":N}      the caller talks for N ms (speech-like audio)
 *   {"cmd":"dtmf","digit":"5"}  {"cmd":"hangup"}
 *   {"cmd":"state"} -> {"status","marks":[..],"heard_ms","queued_ms","clears",
 *                       "warnings","closed","close_code","sent":N}
 *   {"cmd":"quit"}
 * Answers: {"ok":true,...} or {"ok":false,"error":"..."}. */
#include "support/azure_speech_standin.h"
#include "support/deepgram_standin.h"
#include "support/elevenlabs_standin.h"
#include "support/media_drivers.h"
#include "support/openai_audio_standin.h"
#include "support/standin_audio.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static deepgram_standin *dg;
static openai_audio_standin *oa;
static azure_speech_standin *az;
static elevenlabs_standin *el;
static media_driver *drv;
static int drv_rate = 8000;

static void answer(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    printf("%s\n", s ? s : "{\"ok\":false}");
    fflush(stdout);
    free(s);
}

static int ival(json_t *j, const char *k)
{
    json_t *v = json_object_get(j, k);
    return json_is_true(v) ? 1 : (int)json_integer_value(v);
}

static json_t *state(void)
{
    if (!drv)
        return json_pack("{s:b,s:s}", "ok", 0, "error", "no driver");
    char *marks = media_driver_marks(drv);
    json_t *mv = json_array();
    for (char *p = marks, *nl; p && (nl = strchr(p, '\n')); p = nl + 1) {
        *nl = '\0';
        json_array_append_new(mv, json_string(p));
    }
    free(marks);
    size_t n = 0;
    free(media_driver_heard(drv, &n));
    int closed = media_driver_closed(drv);
    return json_pack("{s:b,s:i,s:o,s:i,s:i,s:i,s:i,s:b,s:i,s:i}", "ok", 1, "status",
                     media_driver_status(drv), "marks", mv, "heard_ms",
                     (int)(n * 1000 / (size_t)drv_rate), "queued_ms", media_driver_queued_ms(drv),
                     "clears", media_driver_clears(drv), "warnings", media_driver_warnings(drv),
                     "closed", closed, "close_code", closed ? media_driver_wait_closed(drv, 0) : 0,
                     "sent", media_driver_sent_count(drv));
}

static json_t *command(json_t *j)
{
    const char *cmd = json_string_value(json_object_get(j, "cmd"));
    const char *service = json_string_value(json_object_get(j, "service"));
    if (!cmd)
        return json_pack("{s:b,s:s}", "ok", 0, "error", "no cmd");
    if (!strcmp(cmd, "say")) {
        const char *t = json_string_value(json_object_get(j, "text"));
        if (!t || !service)
            return json_pack("{s:b,s:s}", "ok", 0, "error", "say needs service and text");
        if (!strcmp(service, "deepgram"))
            deepgram_standin_say(dg, t);
        else if (!strcmp(service, "openai"))
            openai_audio_standin_say(oa, t);
        else if (!strcmp(service, "azure"))
            azure_speech_standin_say(az, t);
        else
            return json_pack("{s:b,s:s}", "ok", 0, "error", "unknown service");
        return json_pack("{s:b}", "ok", 1);
    }
    if (!strcmp(cmd, "fault")) {
        if (!service)
            return json_pack("{s:b,s:s}", "ok", 0, "error", "fault needs service");
        if (!strcmp(service, "deepgram")) {
            deepgram_standin_fault f = {.status = ival(j, "status"),
                                        .retry_after = ival(j, "retry_after"),
                                        .handshake_delay_ms = ival(j, "delay_ms"),
                                        .after = ival(j, "after"),
                                        .drop = ival(j, "drop") || ival(j, "cut"),
                                        .garbage = ival(j, "garbage"),
                                        .malformed_json = ival(j, "malformed"),
                                        .stall_ms = ival(j, "stall_ms"),
                                        .close_code = ival(j, "close_code")};
            deepgram_standin_push_fault(dg, &f);
            return json_pack("{s:b}", "ok", 1);
        }
        speech_fault f = {.status = ival(j, "status"),
                          .retry_after = ival(j, "retry_after"),
                          .delay_ms = ival(j, "delay_ms"),
                          .drop = ival(j, "drop"),
                          .after = ival(j, "after"),
                          .cut = ival(j, "cut"),
                          .garbage = ival(j, "garbage"),
                          .malformed = ival(j, "malformed"),
                          .stall_ms = ival(j, "stall_ms"),
                          .close_code = ival(j, "close_code")};
        if (!strcmp(service, "openai"))
            openai_audio_standin_push_fault(oa, &f);
        else if (!strcmp(service, "azure"))
            azure_speech_standin_push_fault(az, &f);
        else if (!strcmp(service, "elevenlabs"))
            elevenlabs_standin_push_fault(el, &f);
        else
            return json_pack("{s:b,s:s}", "ok", 0, "error", "unknown service");
        return json_pack("{s:b}", "ok", 1);
    }
    if (!strcmp(cmd, "twilio") || !strcmp(cmd, "acs")) {
        media_driver_free(drv);
        drv = NULL;
        if (!strcmp(cmd, "twilio")) {
            const char *params[41] = {0};
            size_t k = 0;
            const char *key;
            json_t *v;
            json_object_foreach(json_object_get(j, "params"), key, v)
            {
                if (k + 2 < 41 && json_is_string(v)) {
                    params[k++] = key;
                    params[k++] = json_string_value(v);
                }
            }
            twilio_media_opts o = {.port = ival(j, "port"),
                                   .path = json_string_value(json_object_get(j, "path")),
                                   .signed_url =
                                       json_string_value(json_object_get(j, "signed_url")),
                                   .auth_token = json_string_value(json_object_get(j, "token")),
                                   .forge = ival(j, "forge"),
                                   .params = params};
            drv = twilio_media_connect(&o);
            drv_rate = 8000;
        } else {
            acs_media_opts o = {.port = ival(j, "port"),
                                .path = json_string_value(json_object_get(j, "path")),
                                .authorization =
                                    json_string_value(json_object_get(j, "authorization")),
                                .sample_rate = ival(j, "rate"),
                                .dtmf = ival(j, "dtmf")};
            drv = acs_media_connect(&o);
            drv_rate = o.sample_rate == 24000 ? 24000 : 16000;
        }
        if (!drv)
            return json_pack("{s:b,s:s}", "ok", 0, "error", "out of memory");
        return json_pack("{s:b,s:i,s:s}", "ok", 1, "status", media_driver_status(drv), "stream_id",
                         media_driver_stream_id(drv));
    }
    if (!drv)
        return json_pack("{s:b,s:s}", "ok", 0, "error", "no driver");
    if (!strcmp(cmd, "speak")) {
        int ms = ival(j, "ms");
        char text[512] = "";
        /* About 300 ms per word of the synthetic voice. */
        for (int w = 0; w < ms / 300 && strlen(text) < 400; w++)
            strcat(text, "hello ");
        size_t n = 0;
        int16_t *pcm = sa_synth(text, drv_rate, 1.0, &n, NULL, NULL);
        if (pcm)
            media_driver_say(drv, pcm, n);
        free(pcm);
        return json_pack("{s:b,s:i}", "ok", 1, "ms", (int)(n * 1000 / (size_t)drv_rate));
    }
    if (!strcmp(cmd, "dtmf")) {
        const char *dgt = json_string_value(json_object_get(j, "digit"));
        if (dgt && *dgt)
            media_driver_dtmf(drv, *dgt);
        return json_pack("{s:b}", "ok", 1);
    }
    if (!strcmp(cmd, "hangup")) {
        media_driver_hangup(drv);
        return json_pack("{s:b,s:i}", "ok", 1, "close_code", media_driver_wait_closed(drv, 3000));
    }
    if (!strcmp(cmd, "state"))
        return state();
    return json_pack("{s:b,s:s}", "ok", 0, "error", "unknown cmd");
}

int main(void)
{
    deepgram_standin_opts dgo = {.latency_ms = 50, .idle_timeout_ms = 3000};
    openai_audio_standin_opts oao = {.stt_latency_ms = 50, .tts_ttfb_ms = 50, .rt_latency_ms = 20};
    azure_speech_standin_opts azo = {.stt_latency_ms = 50, .tts_ttfb_ms = 50};
    elevenlabs_standin_opts elo = {.ttfb_ms = 50};
    dg = deepgram_standin_start(&dgo);
    oa = openai_audio_standin_start(&oao);
    az = azure_speech_standin_start(&azo);
    el = elevenlabs_standin_start(&elo);
    if (!dg || !oa || !az || !el) {
        fprintf(stderr, "standin-serve: could not start the stand-ins\n");
        return 1;
    }
    answer(json_pack("{s:i,s:i,s:i,s:i,s:s,s:s,s:s,s:s,s:s}", "deepgram", deepgram_standin_port(dg),
                     "openai", openai_audio_standin_port(oa), "azure",
                     azure_speech_standin_port(az), "elevenlabs", elevenlabs_standin_port(el),
                     "deepgram_key", DEEPGRAM_STANDIN_KEY, "openai_key", OPENAI_AUDIO_STANDIN_KEY,
                     "azure_key", AZURE_SPEECH_STANDIN_KEY, "elevenlabs_key",
                     ELEVENLABS_STANDIN_KEY, "elevenlabs_voice", ELEVENLABS_STANDIN_VOICE));
    char line[65536];
    while (fgets(line, sizeof line, stdin)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *cmd = json_string_value(json_object_get(j, "cmd"));
        if (cmd && !strcmp(cmd, "quit")) {
            json_decref(j);
            break;
        }
        answer(j ? command(j) : json_pack("{s:b,s:s}", "ok", 0, "error", "not JSON"));
        json_decref(j);
    }
    media_driver_free(drv);
    deepgram_standin_stop(dg);
    openai_audio_standin_stop(oa);
    azure_speech_standin_stop(az);
    elevenlabs_standin_stop(el);
    answer(json_pack("{s:b}", "ok", 1));
    return 0;
}
