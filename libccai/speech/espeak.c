/* espeak-ng as a separate process (see espeak.h). */
#include "speech/espeak.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define READ_CHUNK  16384
#define READ_BUDGET 65536 /* bytes one io call reads at most */

/* ---- the WAV stream ----------------------------------------------------- */

void Ccai_wavstream_init(Ccai_wavstream *w)
{
    memset(w, 0, sizeof *w);
}

/* Decode whole samples of in (len bytes, a multiple of the sample size)
 * and hand them over in blocks. */
static ccai_status deliver(Ccai_wavstream *w, const uint8_t *in, size_t len, Ccai_pcm_fn fn,
                           void *ud)
{
    int16_t pcm[1024];
    size_t bytes = Ccai_media_sample_bytes(w->info.encoding);
    while (len) {
        size_t n = len / bytes;
        if (n > CCAI_ARRAY_SIZE(pcm))
            n = CCAI_ARRAY_SIZE(pcm);
        Ccai_media_decode(w->info.encoding, in, n, pcm);
        w->samples += n;
        if (!fn(ud, pcm, n, w->info.rate))
            return CCAI_ERR_CANCELLED;
        in += n * bytes;
        len -= n * bytes;
    }
    return CCAI_OK;
}

static ccai_status samples(Ccai_wavstream *w, const uint8_t *in, size_t len, Ccai_pcm_fn fn,
                           void *ud)
{
    /* Bytes past the declared data (a chunk after it) are not audio. */
    if (len > w->data_left)
        len = (size_t)w->data_left;
    w->data_left -= len;
    size_t bytes = Ccai_media_sample_bytes(w->info.encoding);
    if (w->carry_len) {
        size_t need = bytes - w->carry_len;
        size_t take = len < need ? len : need;
        memcpy(w->carry + w->carry_len, in, take);
        w->carry_len += take;
        in += take;
        len -= take;
        if (w->carry_len < bytes)
            return CCAI_OK;
        w->carry_len = 0;
        ccai_status st = deliver(w, w->carry, bytes, fn, ud);
        if (st != CCAI_OK)
            return st;
    }
    size_t whole = len - len % bytes;
    ccai_status st = deliver(w, in, whole, fn, ud);
    if (st == CCAI_OK && len > whole) {
        memcpy(w->carry, in + whole, len - whole);
        w->carry_len = len - whole;
    }
    return st;
}

ccai_status Ccai_wavstream_feed(Ccai_wavstream *w, const uint8_t *in, size_t len, Ccai_pcm_fn fn,
                                void *ud)
{
    if (!w || (!in && len) || !fn)
        return CCAI_ERR_INVALID_ARG;
    if (w->have_header)
        return samples(w, in, len, fn, ud);
    size_t take = sizeof w->head - w->head_len;
    if (take > len)
        take = len;
    memcpy(w->head + w->head_len, in, take);
    w->head_len += take;
    size_t need = 0;
    ccai_status st = Ccai_wav_parse_header(w->head, w->head_len, sizeof w->head, &w->info, &need);
    if (st != CCAI_OK)
        return st;
    if (need > 0) {
        if (w->head_len == sizeof w->head)
            return CCAI_ERR_LIMIT;
        return CCAI_OK; /* more header to come; everything buffered */
    }
    if (w->info.channels != 1 || w->info.rate < 8000 || w->info.rate > 48000)
        return CCAI_ERR_UNSUPPORTED;
    w->have_header = true;
    w->data_left = w->info.data_len;
    /* The bytes after the header in what we buffered, then the rest of in. */
    size_t buffered = w->head_len - w->info.data_offset;
    st = samples(w, w->head + w->info.data_offset, buffered, fn, ud);
    if (st == CCAI_OK && take < len)
        st = samples(w, in + take, len - take, fn, ud);
    return st;
}

ccai_status Ccai_wavstream_end(const Ccai_wavstream *w)
{
    return w && w->have_header ? CCAI_OK : CCAI_ERR_PARSE;
}

/* ---- voices ----------------------------------------------------------------- */

bool Ccai_espeak_voice_valid(const char *voice)
{
    if (!voice || !voice[0] || voice[0] == '-' || strlen(voice) > 40)
        return false;
    for (const char *p = voice; *p; p++)
        if (!Ccai_is_alpha((unsigned char)*p) && !Ccai_is_digit((unsigned char)*p) && *p != '-' &&
            *p != '_' && *p != '+')
            return false;
    return true;
}

bool Ccai_espeak_voice_for(const char *language, char *out, size_t cap)
{
    if (!language || cap < 48)
        return false;
    size_t len = strlen(language);
    if (len < 2 || len > 40)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = language[i];
        out[i] = c == '_' ? '-' : (char)Ccai_to_lower((unsigned char)c);
    }
    out[len] = '\0';
    return Ccai_espeak_voice_valid(out) && Ccai_is_alpha((unsigned char)out[0]);
}

/* ---- the process -------------------------------------------------------------- */

struct Ccai_espeak_job {
    pid_t pid;
    int in_fd;  /* our end of the child's stdin (a socket), -1 once written */
    int out_fd; /* the child's stdout, -1 after EOF */
    int pidfd;  /* readable once the child exits; -1 without */
    char *text;
    size_t text_len, text_off;
    bool reaped;
    int status; /* its wait status */
    Ccai_wavstream wav;
    ccai_status failed; /* the output was refused: the job ends with it */
};

static void close_fd(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

static bool set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

static ccai_status spawn(Ccai_espeak_job *j, const char *program, const char *voice, uint32_t wpm,
                         Ccai_err *err)
{
    int sv[2] = {-1, -1}, out[2] = {-1, -1};
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
        !set_nonblock(sv[0]) || !set_nonblock(out[0])) {
        if (err)
            Ccai_err_set(err, "espeak-ng: pipes: %s", strerror(errno));
        close_fd(&sv[0]);
        close_fd(&sv[1]);
        close_fd(&out[0]);
        close_fd(&out[1]);
        return CCAI_ERR_IO;
    }
    char speed[16];
    snprintf(speed, sizeof speed, "%u", wpm);
    /* posix_spawn takes char *const[]; it does not write to them. */
    char a_stdout[] = "--stdout", a_b[] = "-b", a_utf8[] = "1", a_v[] = "-v", a_s[] = "-s";
    char *argv[] = {(char *)program, a_stdout, a_b, a_utf8, a_v, (char *)voice, a_s, speed, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc == 0) {
        rc = posix_spawnattr_init(&attr);
        if (rc != 0)
            posix_spawn_file_actions_destroy(&fa);
    }
    if (rc == 0) {
        /* The child starts clean: its own stdin/stdout, nothing else of
         * the host's open, default signal handling, nothing blocked. */
        if (!rc)
            rc = posix_spawn_file_actions_adddup2(&fa, sv[1], 0);
        if (!rc)
            rc = posix_spawn_file_actions_adddup2(&fa, out[1], 1);
        if (!rc)
            rc = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        if (!rc)
            rc = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        if (!rc)
            rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        if (!rc)
            rc = posix_spawnattr_setsigmask(&attr, &none);
        if (!rc)
            rc = posix_spawnattr_setsigdefault(&attr, &all);
        if (!rc)
            rc = posix_spawnp(&j->pid, program, &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
    }
    close_fd(&sv[1]);
    close_fd(&out[1]);
    if (rc != 0) {
        if (err)
            Ccai_err_set(err, "cannot run %s: %s%s", program, strerror(rc),
                         rc == ENOENT ? " (Debian: apt-get install espeak-ng)" : "");
        close_fd(&sv[0]);
        close_fd(&out[0]);
        return rc == ENOMEM ? CCAI_ERR_NOMEM : CCAI_ERR_IO;
    }
    j->in_fd = sv[0];
    j->out_fd = out[0];
    /* Without a pidfd (an old kernel) the exit is polled. */
    j->pidfd = pidfd_open(j->pid, 0);
    return CCAI_OK;
}

ccai_status Ccai_espeak_job_start(const char *program, const char *voice, uint32_t wpm,
                                  const char *text, Ccai_espeak_job **ret, Ccai_err *err)
{
    if (!program || !program[0] || !Ccai_espeak_voice_valid(voice) || wpm < 80 || wpm > 450 ||
        !text || !text[0] || !ret) {
        if (err)
            Ccai_err_set(err, "espeak-ng: bad voice, speed or text");
        return CCAI_ERR_INVALID_ARG;
    }
    Ccai_espeak_job *j = Ccai_calloc(1, sizeof *j);
    if (!j)
        return CCAI_ERR_NOMEM;
    j->pid = -1;
    j->in_fd = j->out_fd = j->pidfd = -1;
    Ccai_wavstream_init(&j->wav);
    /* One line: espeak-ng reads its input line by line. */
    j->text = Ccai_asprintf("%s\n", text);
    if (!j->text) {
        ccai_free(j);
        return CCAI_ERR_NOMEM;
    }
    for (char *p = j->text; p[1]; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    j->text_len = strlen(j->text);
    ccai_status st = spawn(j, program, voice, wpm, err);
    if (st != CCAI_OK) {
        ccai_free(j->text);
        ccai_free(j);
        return st;
    }
    *ret = j;
    return CCAI_OK;
}

static void write_text(Ccai_espeak_job *j)
{
    while (j->in_fd >= 0 && j->text_off < j->text_len) {
        ssize_t n = send(j->in_fd, j->text + j->text_off, j->text_len - j->text_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            j->text_off += (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        } else {
            /* It stopped reading (it died): its exit status tells. */
            close_fd(&j->in_fd);
            return;
        }
    }
    if (j->in_fd >= 0 && j->text_off == j->text_len)
        close_fd(&j->in_fd); /* end of input */
}

static void reap(Ccai_espeak_job *j)
{
    if (j->reaped || j->pid < 0)
        return;
    int status;
    pid_t r;
    do
        r = waitpid(j->pid, &status, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r == j->pid || (r < 0 && errno == ECHILD)) {
        j->reaped = true;
        j->status = r == j->pid ? status : 0;
        close_fd(&j->pidfd);
    }
}

ccai_status Ccai_espeak_job_io(Ccai_espeak_job *j, Ccai_pcm_fn fn, void *ud, bool *ret_done,
                               Ccai_err *err)
{
    *ret_done = false;
    write_text(j);
    size_t budget = READ_BUDGET;
    uint8_t buf[READ_CHUNK];
    while (j->out_fd >= 0 && budget > 0) {
        ssize_t n = read(j->out_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0) {
            close_fd(&j->out_fd); /* EOF (or a read error: the same end) */
            break;
        }
        budget -= (size_t)n;
        ccai_status st = Ccai_wavstream_feed(&j->wav, buf, (size_t)n, fn, ud);
        if (st != CCAI_OK) {
            if (err && st != CCAI_ERR_CANCELLED)
                Ccai_err_set(err, "espeak-ng wrote something else than mono WAV audio (%s)",
                             ccai_status_str(st));
            /* Stop it at once: the job is over. */
            kill(j->pid, SIGKILL);
            close_fd(&j->out_fd);
            close_fd(&j->in_fd);
            j->failed = st;
        }
    }
    if (j->out_fd >= 0)
        return CCAI_OK;
    close_fd(&j->in_fd);
    reap(j);
    if (!j->reaped)
        return CCAI_OK;
    *ret_done = true;
    if (j->failed != CCAI_OK)
        return j->failed;
    if (!WIFEXITED(j->status) || WEXITSTATUS(j->status) != 0) {
        if (err) {
            if (WIFEXITED(j->status))
                Ccai_err_set(err, "espeak-ng exited with status %d (an unknown voice?)",
                             WEXITSTATUS(j->status));
            else
                Ccai_err_set(err, "espeak-ng was killed by signal %d",
                             WIFSIGNALED(j->status) ? WTERMSIG(j->status) : 0);
        }
        return CCAI_ERR_IO;
    }
    if (Ccai_wavstream_end(&j->wav) != CCAI_OK) {
        if (err)
            Ccai_err_set(err, "espeak-ng ended without writing a WAV header");
        return CCAI_ERR_PARSE;
    }
    return CCAI_OK;
}

size_t Ccai_espeak_job_fds(const Ccai_espeak_job *j, Ccai_synth_fd *fds, size_t cap)
{
    size_t n = 0;
    if (j->in_fd >= 0 && j->text_off < j->text_len && n < cap)
        fds[n++] = (Ccai_synth_fd){j->in_fd, false, true};
    if (j->out_fd >= 0 && n < cap)
        fds[n++] = (Ccai_synth_fd){j->out_fd, true, false};
    else if (j->out_fd < 0 && !j->reaped && j->pidfd >= 0 && n < cap)
        fds[n++] = (Ccai_synth_fd){j->pidfd, true, false};
    return n;
}

uint64_t Ccai_espeak_job_samples(const Ccai_espeak_job *j)
{
    return j->wav.samples;
}

void Ccai_espeak_job_free(Ccai_espeak_job *j)
{
    if (!j)
        return;
    close_fd(&j->in_fd);
    close_fd(&j->out_fd);
    if (j->pid > 0 && !j->reaped) {
        kill(j->pid, SIGKILL);
        /* SIGKILL cannot be caught: the wait is for the kernel to tear the
         * process down, not for the child's goodwill. */
        while (waitpid(j->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    close_fd(&j->pidfd);
    ccai_free(j->text);
    ccai_free(j);
}
