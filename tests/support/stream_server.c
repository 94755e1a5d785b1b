/* ccai-server for the stream-mode tests: see stream_server.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "support/stream_server.h"

#include "speech/sphinx.h"
#include "support/server_proc.h"
#include "support/voice.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

bool stream_have_speech(void)
{
    return access(CCAI_SPHINX_MODEL_DIR "/en-us/mdef", R_OK) == 0 &&
           voice_available(CCAI_SYNTH_FLITE) && voice_available(CCAI_SYNTH_ESPEAK);
}

void stream_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

void stream_server_init(stream_server *s, const char *bin, const char *dir_template,
                        const char *const *extra)
{
    memset(s, 0, sizeof *s);
    s->bin = bin;
    for (size_t i = 0; extra && extra[i] && i < STREAM_SERVER_EXTRA_MAX; i++)
        s->extra[i] = extra[i];
    assert_true(strlen(dir_template) < sizeof s->dir);
    strcpy(s->dir, dir_template);
    assert_non_null(mkdtemp(s->dir));
}

void stream_server_spawn(stream_server *s, const char *const *settings)
{
    char db[128], log[128];
    snprintf(db, sizeof db, "DATABASE__SQLITE__PATH=%s/db.sqlite", s->dir);
    snprintf(log, sizeof log, "%s/server%d.log", s->dir, s->starts++);
    char *envp[STREAM_SERVER_SETTINGS_MAX + STREAM_SERVER_EXTRA_MAX + 3];
    size_t n = 0;
    for (; settings[n]; n++) {
        assert_true(n < STREAM_SERVER_SETTINGS_MAX);
        envp[n] = (char *)settings[n];
    }
    envp[n++] = db;
    /* *-group-commit: the same tests with database.sqlite.group_commit. */
    if (getenv("CCAI_TEST_SQLITE_GROUP_COMMIT"))
        envp[n++] = (char *)"DATABASE__SQLITE__GROUP_COMMIT=true";
    for (size_t i = 0; s->extra[i]; i++)
        envp[n++] = (char *)s->extra[i];
    envp[n] = NULL;
    s->pid = server_proc_start(s->bin, envp, log, &s->port);
    assert_true(s->pid > 0);
}

void stream_server_stop(stream_server *s)
{
    if (s->pid > 0)
        server_proc_stop(s->pid, SIGTERM);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", s->dir);
    assert_int_equal(system(cmd), 0);
}

char *stream_server_logs(stream_server *s)
{
    char *all = server_proc_logs(s->dir, s->starts);
    assert_non_null(all);
    return all;
}

bool stream_server_wait_log(stream_server *s, const char *what, int max_ms)
{
    for (int t = 0; t < max_ms; t += 100) {
        char *all = stream_server_logs(s);
        bool ok = strstr(all, what) != NULL;
        free(all);
        if (ok)
            return true;
        stream_sleep_ms(100);
    }
    return false;
}

char *stream_server_call(stream_server *s, const char *id)
{
    char path[128];
    snprintf(path, sizeof path, "/call/%s", id);
    char *body = NULL;
    long code = server_proc_request(s->port, "GET", path, NULL, "Bearer tok", &body);
    assert_int_equal(code, 200);
    return body;
}

bool stream_server_wait_over(stream_server *s, const char *id, int max_ms)
{
    for (int t = 0; t < max_ms; t += 100) {
        char *c = stream_server_call(s, id);
        bool ok = strstr(c, "\"state\":\"ended\"") || strstr(c, "\"state\":\"done\"") ||
                  strstr(c, "\"state\":\"transferred\"");
        free(c);
        if (ok)
            return true;
        stream_sleep_ms(100);
    }
    return false;
}

int stream_count(const char *s, const char *what)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, what)) != NULL; p += strlen(what))
        n++;
    return n;
}

size_t stream_wait_heard(media_driver *d, size_t min_samples, int max_ms)
{
    size_t n = 0;
    for (int t = 0; t < max_ms; t += 100) {
        int16_t *h = media_driver_heard(d, &n);
        free(h);
        if (n >= min_samples && media_driver_queued_ms(d) == 0)
            break;
        stream_sleep_ms(100);
    }
    return n;
}

void stream_say(media_driver *d, const char *text, int rate)
{
    const Ccai_media_format pcm = {CCAI_MEDIA_PCM16, rate, 1};
    voice_audio a;
    assert_true(voice_render(CCAI_SYNTH_ESPEAK, "en-us", 0.9, text, &pcm, 100, 300, &a));
    media_driver_say(d, (const int16_t *)a.data, a.len / 2);
    voice_audio_free(&a);
}
