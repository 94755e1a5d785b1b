/*
 * ccai-cli voice: an audio call without a sound card. The caller's turns
 * come from WAV files or from text spoken by espeak-ng (run as a program,
 * never linked: it is GPL-3), go to libccai as 20 ms PCM16 frames; what
 * libccai plays (play_audio) is played out here 20 ms at a time, as a
 * line would, with silence where nothing plays, into --out (the bot's side)
 * and --both (left the caller, right the bot). Marks come back once the
 * audio before them has played; a barge-in clears what is queued.
 *
 * libccai's clock is the host's monotonic clock (ccai_time_ms(): the
 * public API has no injected clock), so the bot's audio plays in real
 * time; --fast feeds the caller's turns, and the silence before and after
 * them, as fast as libccai takes them.
 */
#include "cli.h"
#include "wav.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <speex/speex_resampler.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define FRAME_MS       20
#define MAX_TURNS      64
#define MAX_MARKS      256
#define TAIL_MS        1000  /* silence after a turn: the VAD's 500 ms and some */
#define ANSWER_MS      30000 /* the longest wait for the bot to start answering */
#define DRAIN_MS       60000 /* the longest wait for queued audio at the end */
#define HANGUP_TAIL_MS 200

typedef struct turn {
    const char *wav; /* a file, or NULL */
    const char *say; /* text for espeak-ng, or NULL */
    int16_t *pcm;    /* mono at the call's rate (malloc'd) */
    size_t len;
} turn;

typedef struct mark {
    char name[48];
    uint64_t at; /* bot samples played once it is reached */
} mark;

typedef struct vhost {
    cli *c;
    ccai_call *call;
    uint32_t rate;
    size_t frame; /* samples per 20 ms */
    /* The bot's audio given and not played yet. */
    int16_t *q;
    size_t q_len, q_pos, q_cap;
    uint64_t given, played; /* bot samples */
    mark marks[MAX_MARKS];
    size_t n_marks;
    int clears, hangup, transfer, dirty;
    char transfer_to[64];
    uint64_t answered;     /* samples given since the turn ended */
    uint64_t played_since; /* samples played since the turn ended */
    int bad_format;
    cli_wav_out out, both;
    int have_out, have_both;
    long long last_seq;
    json_t *claim;
} vhost;

/* Ops ---------------------------------------------------------------------- */

static int op_play(ccai_call *call, const ccai_audio_frame *f, void *ud)
{
    vhost *h = ud;
    (void)call;
    if (f->format.encoding != CCAI_AUDIO_PCM16 || f->format.sample_rate != h->rate ||
        f->format.channels != 1 || f->len % 2) {
        h->bad_format = 1;
        return -1;
    }
    size_t n = f->len / 2;
    if (h->q_pos > 0 && h->q_pos == h->q_len)
        h->q_pos = h->q_len = 0;
    if (h->q_len + n > h->q_cap) {
        if (h->q_pos > 0) { /* compact what played */
            memmove(h->q, h->q + h->q_pos, (h->q_len - h->q_pos) * sizeof *h->q);
            h->q_len -= h->q_pos;
            h->q_pos = 0;
        }
        size_t cap = h->q_cap ? h->q_cap : 16384;
        while (cap < h->q_len + n)
            cap *= 2;
        int16_t *q = realloc(h->q, cap * sizeof *q);
        if (!q)
            return -1;
        h->q = q;
        h->q_cap = cap;
    }
    const uint8_t *b = f->data;
    for (size_t i = 0; i < n; i++)
        h->q[h->q_len + i] = (int16_t)(uint16_t)(b[2 * i] | b[2 * i + 1] << 8);
    h->q_len += n;
    h->given += n;
    h->answered += n;
    return 0;
}

static int op_clear(ccai_call *call, void *ud)
{
    vhost *h = ud;
    (void)call;
    h->q_len = h->q_pos = 0;
    h->given = h->played;
    h->n_marks = 0; /* dropped: never reported */
    h->clears++;
    printf("  [barge-in: the bot stops after %.1f s of its answer]\n",
           (double)h->played_since / h->rate);
    fflush(stdout);
    return 0;
}

static int op_mark(ccai_call *call, const char *name, void *ud)
{
    vhost *h = ud;
    (void)call;
    if (h->n_marks >= MAX_MARKS)
        return -1;
    snprintf(h->marks[h->n_marks].name, sizeof h->marks[0].name, "%s", name);
    h->marks[h->n_marks].at = h->given;
    h->n_marks++;
    return 0;
}

static int op_hangup(ccai_call *call, void *ud)
{
    vhost *h = ud;
    (void)call;
    h->hangup = 1;
    h->dirty = 1;
    return 0;
}

static int op_transfer(ccai_call *call, const char *number, void *ud)
{
    vhost *h = ud;
    (void)call;
    h->transfer = 1;
    h->dirty = 1;
    snprintf(h->transfer_to, sizeof h->transfer_to, "%s", number);
    return 0;
}

static int op_sms(ccai_call *call, const char *number, const char *text, void *ud)
{
    (void)call;
    (void)ud;
    printf("  [SMS to %s] %s\n", number, text);
    fflush(stdout);
    return 0;
}

static void op_state(ccai_call *call, ccai_call_state o, ccai_call_state n, void *ud)
{
    vhost *h = ud;
    (void)call;
    h->dirty = 1;
    if (h->c->verbosity > 0)
        fprintf(stderr, "  (state %s -> %s)\n", ccai_call_state_str(o), ccai_call_state_str(n));
}

/* The transcript ------------------------------------------------------------ */

/* What the store holds that was not printed yet: the caller's recognised
 * words, the bot's sentences, tools, claim fields. */
static void show_changes(vhost *h)
{
    char *text = NULL;
    h->dirty = 0;
    if (ccai_call_to_json(h->call, &text) != CCAI_OK)
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
        if (seq <= h->last_seq)
            continue;
        h->last_seq = seq;
        const char *persona = json_string_value(json_object_get(m, "persona"));
        const char *action = json_string_value(json_object_get(m, "action"));
        const char *content = json_string_value(json_object_get(m, "content"));
        if (persona && action && content && *content && strcmp(action, "talk") == 0)
            printf("%s: %s\n", strcmp(persona, "human") == 0 ? "caller" : "bot", content);
        size_t k;
        json_t *tc;
        json_array_foreach(json_object_get(m, "tool_calls"), k, tc)
        {
            const char *name = json_string_value(json_object_get(tc, "function_name"));
            printf("  [tool %s]\n", name ? name : "?");
        }
    }
    json_t *claim = json_object_get(doc, "claim");
    const char *key;
    json_t *v;
    json_object_foreach(claim, key, v)
    {
        json_t *was = json_object_get(h->claim, key);
        if (!(was && json_equal(was, v)))
            printf("  [claim] %s = %s\n", key, json_string_value(v) ? json_string_value(v) : "?");
    }
    json_decref(h->claim);
    h->claim = json_incref(claim);
    json_decref(doc);
    fflush(stdout);
}

/* The caller's audio ---------------------------------------------------------- */

static int read_file(const char *path, uint8_t **ret, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f)
        return -1;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        errno = EINVAL;
        return -1;
    }
    if ((unsigned long long)st.st_size > CLI_WAV_MAX_BYTES) {
        fclose(f);
        errno = EFBIG;
        return -1;
    }
    size_t len = (size_t)st.st_size;
    uint8_t *b = malloc(len ? len : 1);
    if (!b || fread(b, 1, len, f) != len) {
        int e = b ? (ferror(f) ? errno : EIO) : ENOMEM;
        free(b);
        fclose(f);
        errno = e;
        return -1;
    }
    fclose(f);
    *ret = b;
    *ret_len = len;
    return 0;
}

/* A WAV file as mono PCM16 at rate (channels mixed, speexdsp's resampler).
 * 0, or -1 with the reason printed. */
static int load_wav(const char *path, uint32_t rate, turn *t)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    const char *why = NULL;
    cli_wav w;
    if (read_file(path, &buf, &len) != 0) {
        fprintf(stderr, "ccai-cli: voice: cannot read %s: %s\n", path,
                errno == EFBIG ? "longer than 10 minutes of 48 kHz stereo" : strerror(errno));
        return -1;
    }
    if (cli_wav_parse(buf, len, &w, &why) != 0) {
        fprintf(stderr, "ccai-cli: voice: %s: %s (PCM16 WAV, mono or stereo, 8000 .. 48000 Hz)\n",
                path, why);
        free(buf);
        return -1;
    }
    int16_t *mono = malloc((w.frames ? w.frames : 1) * sizeof *mono);
    if (!mono) {
        free(buf);
        fprintf(stderr, "ccai-cli: voice: out of memory\n");
        return -1;
    }
    for (size_t i = 0; i < w.frames; i++) {
        const uint8_t *p = w.pcm + 2u * w.channels * i;
        int32_t s = (int16_t)(uint16_t)(p[0] | p[1] << 8);
        if (w.channels == 2)
            s = (s + (int16_t)(uint16_t)(p[2] | p[3] << 8)) / 2;
        mono[i] = (int16_t)s;
    }
    free(buf);
    if (w.rate == rate) {
        t->pcm = mono;
        t->len = w.frames;
        return 0;
    }
    int err = 0;
    SpeexResamplerState *rs = speex_resampler_init(1, w.rate, rate, 5, &err);
    size_t cap = (size_t)((uint64_t)w.frames * rate / w.rate) + 64;
    int16_t *out = malloc(cap * sizeof *out);
    if (!rs || !out) {
        if (rs)
            speex_resampler_destroy(rs);
        free(out);
        free(mono);
        fprintf(stderr, "ccai-cli: voice: cannot convert %s to %u Hz: %s\n", path, (unsigned)rate,
                rs ? "out of memory" : speex_resampler_strerror(err));
        return -1;
    }
    size_t in_off = 0, out_off = 0;
    while (in_off < w.frames && out_off < cap) {
        spx_uint32_t in_n = (spx_uint32_t)(w.frames - in_off > 48000 ? 48000 : w.frames - in_off);
        spx_uint32_t out_n =
            (spx_uint32_t)(cap - out_off > 0x7fffffff ? 0x7fffffff : cap - out_off);
        speex_resampler_process_int(rs, 0, mono + in_off, &in_n, out + out_off, &out_n);
        if (in_n == 0 && out_n == 0)
            break;
        in_off += in_n;
        out_off += out_n;
    }
    speex_resampler_destroy(rs);
    free(mono);
    t->pcm = out;
    t->len = out_off;
    return 0;
}

/* Text spoken by espeak-ng (a separate program: GPL-3) into a temporary
 * WAV, then read as a file. */
static int render_say(const char *text, const char *voice, uint32_t rate, turn *t)
{
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/ccai-cli-say-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        fprintf(stderr, "ccai-cli: voice: cannot create a temporary file in %s: %s\n",
                dir && *dir ? dir : "/tmp", strerror(errno));
        return -1;
    }
    close(fd);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* Its chatter would mix with the transcript. */
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, STDOUT_FILENO);
        execlp("espeak-ng", "espeak-ng", "-v", voice, "-w", path, "--", text, (char *)NULL);
        fprintf(stderr, "ccai-cli: voice: cannot run espeak-ng: %s\n", strerror(errno));
        _exit(127);
    }
    int status = 0;
    int rc = -1;
    if (pid < 0) {
        fprintf(stderr, "ccai-cli: voice: cannot start espeak-ng: %s\n", strerror(errno));
    } else if (waitpid(pid, &status, 0) < 0) {
        fprintf(stderr, "ccai-cli: voice: espeak-ng: %s\n", strerror(errno));
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "ccai-cli: voice: espeak-ng failed (%s %d) on \"%s\" with voice %s%s\n",
                WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), text, voice,
                WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " (is espeak-ng installed?)"
                                                                : "");
    } else {
        rc = load_wav(path, rate, t);
    }
    unlink(path);
    return rc;
}

/* The call ------------------------------------------------------------------- */

typedef struct run {
    vhost h;
    ccai_poll *loop;
    ccai_ctx *ctx;
    int fast;
    uint32_t barge_ms;  /* 0: turns wait for the bot */
    uint64_t next_tick; /* ccai_time_ms() of the next 20 ms frame */
    int16_t *silence;
    int16_t *mix; /* two channels of a frame */
    int16_t *bot; /* the bot's frame */
    int failed;   /* ccai_call_audio_in() refused */
} run;

/* Marks whose audio played. */
static void report_marks(vhost *h)
{
    size_t k = 0;
    size_t n = h->n_marks;
    mark reached[MAX_MARKS];
    size_t r = 0;
    for (size_t i = 0; i < n; i++) {
        if (h->marks[i].at <= h->played)
            reached[r++] = h->marks[i];
        else
            h->marks[k++] = h->marks[i];
    }
    h->n_marks = k;
    for (size_t i = 0; i < r; i++) {
        h->dirty = 1;
        if (ccai_call_audio_marked(h->call, reached[i].name) != CCAI_OK)
            fprintf(stderr, "ccai-cli: voice: mark %s: %s\n", reached[i].name,
                    ccai_call_errmsg(h->call));
    }
}

/* 20 ms of the line: the bot's next frame plays, the caller's frame (or
 * silence) goes in. */
static void tick(run *r, const int16_t *caller)
{
    vhost *h = &r->h;
    size_t n = h->q_len - h->q_pos < h->frame ? h->q_len - h->q_pos : h->frame;
    memcpy(r->bot, h->q + h->q_pos, n * sizeof *r->bot);
    memset(r->bot + n, 0, (h->frame - n) * sizeof *r->bot);
    h->q_pos += n;
    h->played += n;
    h->played_since += n;
    if (h->have_out)
        cli_wav_write(&h->out, r->bot, h->frame);
    const int16_t *in = caller ? caller : r->silence;
    if (h->have_both) {
        for (size_t i = 0; i < h->frame; i++) {
            r->mix[2 * i] = in[i];
            r->mix[2 * i + 1] = r->bot[i];
        }
        cli_wav_write(&h->both, r->mix, h->frame);
    }
    report_marks(h);
    if (ccai_call_get_state(h->call) < CCAI_CALL_ENDED) {
        uint8_t b[2 * 960];
        for (size_t i = 0; i < h->frame; i++) {
            b[2 * i] = (uint8_t)((uint16_t)in[i] & 0xff);
            b[2 * i + 1] = (uint8_t)((uint16_t)in[i] >> 8);
        }
        ccai_status st = ccai_call_audio_in(h->call, b, 2 * h->frame);
        if (st != CCAI_OK && st != CCAI_ERR_STATE && !r->failed) {
            r->failed = 1;
            fprintf(stderr, "ccai-cli: voice: the caller's audio was refused: %s: %s\n",
                    ccai_status_str(st), ccai_call_errmsg(h->call));
        }
    }
    if (h->dirty)
        show_changes(h);
}

/* Run the loop until the next frame is due (at once in fast mode), then
 * play it. */
static void step(run *r, const int16_t *caller, int fast)
{
    uint64_t now = ccai_time_ms();
    if (fast) {
        ccai_poll_run_once(r->loop, 0);
        r->next_tick = now + FRAME_MS;
    } else {
        while (now < r->next_tick) {
            ccai_poll_run_once(r->loop, (int)(r->next_tick - now));
            now = ccai_time_ms();
        }
        /* Behind by more than a second (a stopped process): start again
         * from now rather than rush. */
        r->next_tick = now > r->next_tick + 1000 ? now + FRAME_MS : r->next_tick + FRAME_MS;
    }
    tick(r, caller);
}

static int ended(const run *r)
{
    return ccai_call_get_state(r->h.call) >= CCAI_CALL_ENDED;
}

/* The bot has answered and has nothing more to say: no turn being
 * generated, no work in flight (recognition, synthesis, the pacing of its
 * audio), nothing left to play. */
static int bot_done(const run *r)
{
    const vhost *h = &r->h;
    return ccai_call_get_state(h->call) != CCAI_CALL_TURN && !ccai_ctx_busy(r->ctx) &&
           h->q_pos == h->q_len;
}

/* Silence until the bot has answered and finished (or, with barge-in,
 * has played barge_ms of its answer); gives up waiting for an answer
 * after ANSWER_MS. */
static void wait_bot(run *r, int barge)
{
    vhost *h = &r->h;
    uint64_t waited = 0;
    for (;;) {
        if (ended(r) || h->hangup || h->transfer)
            return;
        if (barge && h->answered > 0 && h->played_since * 1000 >= (uint64_t)r->barge_ms * h->rate)
            return;
        if ((h->answered > 0 || waited >= ANSWER_MS) && bot_done(r))
            return;
        if (waited >= ANSWER_MS + DRAIN_MS) {
            fprintf(stderr, "ccai-cli: voice: the bot is still busy after %d s: going on\n",
                    (ANSWER_MS + DRAIN_MS) / 1000);
            return;
        }
        step(r, NULL, 0);
        waited += FRAME_MS;
    }
}

/* ms of silence, fast when asked and the bot has nothing to play. */
static void silence(run *r, uint32_t ms)
{
    for (uint32_t t = 0; t < ms && !ended(r); t += FRAME_MS)
        step(r, NULL, r->fast && r->h.q_pos == r->h.q_len);
}

/* The caller's turn, 20 ms at a time (a partial last frame padded). */
static void speak(run *r, const turn *t)
{
    vhost *h = &r->h;
    int16_t *f = calloc(h->frame, sizeof *f);
    if (!f)
        return;
    for (size_t off = 0; off < t->len && !ended(r) && !h->hangup && !h->transfer; off += h->frame) {
        size_t n = t->len - off < h->frame ? t->len - off : h->frame;
        memcpy(f, t->pcm + off, n * sizeof *f);
        memset(f + n, 0, (h->frame - n) * sizeof *f);
        step(r, f, r->fast && h->q_pos == h->q_len);
    }
    free(f);
}

/* Play out what the bot still has queued (its goodbye), bounded. */
static void drain(run *r)
{
    vhost *h = &r->h;
    for (uint32_t t = 0; t < DRAIN_MS && h->q_pos < h->q_len; t += FRAME_MS)
        step(r, NULL, 0);
    for (uint32_t t = 0; t < HANGUP_TAIL_MS; t += FRAME_MS)
        step(r, NULL, 0);
}

static void notify(vhost *h, ccai_event_type type, const char *detail)
{
    ccai_status st = ccai_call_notify(h->call, type, detail);
    if (st != CCAI_OK && st != CCAI_ERR_STATE)
        fprintf(stderr, "ccai-cli: voice: %s: %s: %s\n", ccai_event_type_str(type),
                ccai_status_str(st), ccai_call_errmsg(h->call));
}

static int idle_or_late(void *ud)
{
    void **a = ud;
    return !ccai_ctx_busy((ccai_ctx *)a[0]) || ccai_time_ms() > *(uint64_t *)a[1];
}

static int parse_ms(const char *text, uint32_t max, uint32_t *ret)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (!*text || *text == '-' || *end || errno || v > max)
        return -1;
    *ret = (uint32_t)v;
    return 0;
}

/* espeak-ng's voice for a call language: "en-US" -> "en-us". */
static void voice_of(const char *lang, char *buf, size_t len)
{
    snprintf(buf, len, "%s", lang && *lang ? lang : "en-us");
    for (char *p = buf; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
}

static int open_out(cli_wav_out *w, const char *path, uint32_t rate, uint32_t channels)
{
    if (cli_wav_create(w, path, rate, channels) == 0)
        return 0;
    fprintf(stderr, "ccai-cli: voice: cannot create %s: %s\n", path, strerror(errno));
    return -1;
}

static int close_out(cli_wav_out *w, const char *path, const char *what)
{
    uint64_t bytes = w->data_bytes;
    uint32_t rate = w->rate, channels = w->channels;
    if (cli_wav_close(w) != 0) {
        fprintf(stderr, "ccai-cli: voice: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    printf("%s: %s (%.2f s, %u Hz, %s)\n", what, path, (double)bytes / (2.0 * channels * rate),
           (unsigned)rate, channels == 2 ? "left the caller, right the bot" : "mono");
    return 0;
}

int cmd_voice(cli *c, int argc, char **argv)
{
    turn turns[MAX_TURNS];
    size_t n_turns = 0;
    const char *out = NULL, *both = NULL, *phone = "+33612345678", *lang = NULL, *voice = NULL;
    const char *v = NULL;
    uint32_t rate = 16000, barge_ms = 0, gap_ms = 300, wait_s = 120;
    int fast = 0;
    memset(turns, 0, sizeof turns);
    for (int i = 1; i < argc; i++) {
        int m;
        if (strcmp(argv[i], "--fast") == 0) {
            fast = 1;
        } else if (strcmp(argv[i], "--barge-in") == 0) {
            barge_ms = 1200;
        } else if (strncmp(argv[i], "--barge-in=", 11) == 0) {
            if (parse_ms(argv[i] + 11, 600000, &barge_ms) != 0)
                return usage_error("voice", "--barge-in=MS needs a number of milliseconds");
        } else if ((m = option_value(argc, argv, &i, "--say", &v)) != 0) {
            if (m < 0 || !*v)
                return usage_error("voice", "--say needs a text");
            if (n_turns == MAX_TURNS)
                return usage_error("voice", "at most %d turns", MAX_TURNS);
            turns[n_turns++].say = v;
        } else if ((m = option_value(argc, argv, &i, "--out", &out)) != 0 ||
                   (m = option_value(argc, argv, &i, "--both", &both)) != 0 ||
                   (m = option_value(argc, argv, &i, "--phone", &phone)) != 0 ||
                   (m = option_value(argc, argv, &i, "--lang", &lang)) != 0 ||
                   (m = option_value(argc, argv, &i, "--voice", &voice)) != 0) {
            if (m < 0)
                return usage_error("voice", "%s needs a value", argv[i]);
        } else if ((m = option_value(argc, argv, &i, "--rate", &v)) != 0) {
            if (m < 0 || parse_ms(v, 48000, &rate) != 0 ||
                (rate != 8000 && rate != 16000 && rate != 24000 && rate != 48000))
                return usage_error("voice", "--rate: 8000, 16000, 24000 or 48000");
        } else if ((m = option_value(argc, argv, &i, "--gap", &v)) != 0) {
            if (m < 0 || parse_ms(v, 60000, &gap_ms) != 0)
                return usage_error("voice", "--gap needs a number of milliseconds (at most 60000)");
        } else if ((m = option_value(argc, argv, &i, "--wait", &v)) != 0) {
            if (m < 0 || parse_ms(v, 86400, &wait_s) != 0)
                return usage_error("voice", "--wait needs a number of seconds");
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            return usage_error("voice", "unexpected option '%s'", argv[i]);
        } else {
            if (n_turns == MAX_TURNS)
                return usage_error("voice", "at most %d turns", MAX_TURNS);
            turns[n_turns++].wav = argv[i];
        }
    }
    if (fast && barge_ms)
        return usage_error("voice", "--fast and --barge-in do not mix: a barge-in needs the "
                                    "caller's audio on the bot's clock");
    if (c->server)
        return usage_error("voice", "runs the call here: no --server");

    run r;
    memset(&r, 0, sizeof r);
    r.fast = fast;
    r.barge_ms = barge_ms;
    vhost *h = &r.h;
    h->c = c;
    h->rate = rate;
    h->frame = rate / 1000 * FRAME_MS;
    int rc = EXIT_SUCCESS;
    /* The files first: a bad one stops here, before any call exists. */
    for (size_t i = 0; i < n_turns && rc == EXIT_SUCCESS; i++) {
        if (turns[i].wav && load_wav(turns[i].wav, rate, &turns[i]) != 0)
            rc = EXIT_FAILURE;
    }
    r.silence = calloc(h->frame, sizeof *r.silence);
    r.bot = calloc(h->frame, sizeof *r.bot);
    r.mix = calloc(2 * h->frame, sizeof *r.mix);
    if (rc == EXIT_SUCCESS && (!r.silence || !r.bot || !r.mix)) {
        fprintf(stderr, "ccai-cli: voice: out of memory\n");
        rc = EXIT_FAILURE;
    }
    if (rc == EXIT_SUCCESS)
        rc = load_config(c);
    if (rc == EXIT_SUCCESS)
        rc = open_ctx(c);
    if (rc == EXIT_SUCCESS && out && open_out(&h->out, out, rate, 1) != 0)
        rc = EXIT_FAILURE;
    h->have_out = out && rc == EXIT_SUCCESS;
    if (rc == EXIT_SUCCESS && both && open_out(&h->both, both, rate, 2) != 0)
        rc = EXIT_FAILURE;
    h->have_both = both && rc == EXIT_SUCCESS;
    r.loop = c->loop;
    r.ctx = c->ctx;

    ccai_call_ops ops = {.version = CCAI_CALL_OPS_VERSION,
                         .transfer = op_transfer,
                         .hangup = op_hangup,
                         .send_sms = op_sms,
                         .state_changed = op_state,
                         .play_audio = op_play,
                         .clear_audio = op_clear,
                         .mark = op_mark};
    json_t *init = lang ? json_pack("{s:{s:s}}", "lang", "default_short_code", lang) : NULL;
    char *initiate = init ? json_dumps(init, JSON_COMPACT) : NULL;
    json_decref(init);
    const ccai_audio_format pcm = {CCAI_AUDIO_PCM16, rate, 1};
    ccai_call_params p = {.version = CCAI_CALL_PARAMS_VERSION,
                          .direction = CCAI_INBOUND,
                          .phone_number = phone,
                          .channel = "local",
                          .initiate_json = initiate,
                          .audio_in = pcm,
                          .audio_out = pcm};
    if (rc == EXIT_SUCCESS) {
        ccai_status st =
            lang && !initiate ? CCAI_ERR_NOMEM : ccai_call_start(c->ctx, &p, &ops, h, &h->call);
        if (st != CCAI_OK) {
            fprintf(stderr, "ccai-cli: voice: cannot start the call: %s: %s\n", ccai_status_str(st),
                    ccai_ctx_errmsg(c->ctx));
            if (st == CCAI_ERR_CONFIG && !lang)
                fprintf(stderr, "ccai-cli: voice: the offline recogniser hears English only: "
                                "try --lang en-US\n");
            rc = st == CCAI_ERR_CONFIG ? EXIT_CONFIG : EXIT_FAILURE;
        }
    }
    free(initiate);
    /* The lines to speak, in the call's language. */
    char espeak_voice[64];
    voice_of(voice     ? voice
             : h->call ? ccai_call_lang(h->call)
                       : NULL,
             espeak_voice, sizeof espeak_voice);
    for (size_t i = 0; i < n_turns && rc == EXIT_SUCCESS; i++) {
        if (turns[i].say && render_say(turns[i].say, espeak_voice, rate, &turns[i]) != 0)
            rc = EXIT_FAILURE;
    }
    if (rc != EXIT_SUCCESS && !h->call) {
        /* No call: no empty files left behind either. */
        if (h->have_out && cli_wav_close(&h->out) == 0)
            unlink(out);
        if (h->have_both && cli_wav_close(&h->both) == 0)
            unlink(both);
        h->have_out = h->have_both = 0;
    }
    if (rc != EXIT_SUCCESS && h->call) {
        /* Nothing was said: the call ends as the caller's hang-up. */
        notify(h, CCAI_EVENT_HANGUP, "ccai-cli voice: the caller's audio could not be made");
    }
    if (rc == EXIT_SUCCESS) {
        printf("call %s: audio PCM16 %u Hz, %zu turn%s%s%s\n", ccai_call_id(h->call),
               (unsigned)rate, n_turns, n_turns == 1 ? "" : "s", fast ? ", fast" : "",
               barge_ms ? ", barging in" : "");
        fflush(stdout);
        r.next_tick = ccai_time_ms();
        notify(h, CCAI_EVENT_CONNECTED, NULL);
        wait_bot(&r, barge_ms > 0);
        for (size_t i = 0; i < n_turns && !ended(&r) && !h->hangup && !h->transfer; i++) {
            if (!barge_ms)
                silence(&r, gap_ms);
            if (turns[i].say)
                printf("> turn %zu: \"%s\" (espeak-ng %s, %.1f s)\n", i + 1, turns[i].say,
                       espeak_voice, (double)turns[i].len / rate);
            else
                printf("> turn %zu: %s (%.1f s)\n", i + 1, turns[i].wav,
                       (double)turns[i].len / rate);
            fflush(stdout);
            speak(&r, &turns[i]);
            h->answered = h->played_since = 0;
            silence(&r, TAIL_MS);
            wait_bot(&r, barge_ms > 0 && i + 1 < n_turns);
        }
        if (h->hangup || h->transfer)
            drain(&r);
        show_changes(h);
        if (h->transfer) {
            printf("  [transfer to %s]\n", h->transfer_to);
            notify(h, CCAI_EVENT_TRANSFER_OK, h->transfer_to);
        } else if (h->hangup) {
            puts("  [the bot hangs up]");
            notify(h, CCAI_EVENT_HANGUP, "the bot hung up");
        } else if (!ended(&r)) {
            puts("  [the caller hangs up]");
            notify(h, CCAI_EVENT_HANGUP, "the caller hung up");
        }
        show_changes(h);
        /* The post-call report runs as durable jobs: wait for them. */
        uint64_t deadline = ccai_time_ms() + (uint64_t)wait_s * 1000u;
        void *args[2] = {c->ctx, &deadline};
        ccai_poll_run(c->loop, idle_or_late, args);
        print_call_summary(c, ccai_call_id(h->call), 0);
        if (h->bad_format) {
            fprintf(stderr, "ccai-cli: voice: libccai played audio in another format than "
                            "asked\n");
            rc = EXIT_FAILURE;
        }
        if (r.failed)
            rc = EXIT_FAILURE;
    }
    if (h->have_out && close_out(&h->out, out, "bot side") != 0)
        rc = EXIT_FAILURE;
    if (h->have_both && close_out(&h->both, both, "both sides") != 0)
        rc = EXIT_FAILURE;
    ccai_call_free(h->call);
    json_decref(h->claim);
    free(h->q);
    free(r.silence);
    free(r.bot);
    free(r.mix);
    for (size_t i = 0; i < n_turns; i++)
        free(turns[i].pcm);
    return rc;
}
