/* flite in-process synthesis (see flite.h). */
#include "speech/flite.h"

#include <flite/flite.h>
#include <pthread.h>
#include <string.h>

/* Debian's libflite_cmu_us_* export these; flite ships no header for
 * them. */
cst_voice *register_cmu_us_kal16(const char *voxdir);
cst_voice *register_cmu_us_kal(const char *voxdir);
cst_voice *register_cmu_us_slt(const char *voxdir);
cst_voice *register_cmu_us_rms(const char *voxdir);
cst_voice *register_cmu_us_awb(const char *voxdir);

struct Ccai_flite_voice {
    const char *name;
    cst_voice *(*reg)(const char *voxdir);
    pthread_once_t once;
    cst_voice *voice;
    uint32_t rate;
    float stretch; /* the voice's own duration_stretch */
};

static Ccai_flite_voice voices[] = {
    {"kal16", register_cmu_us_kal16, PTHREAD_ONCE_INIT, NULL, 0, 1.0f},
    {"kal", register_cmu_us_kal, PTHREAD_ONCE_INIT, NULL, 0, 1.0f},
    {"slt", register_cmu_us_slt, PTHREAD_ONCE_INIT, NULL, 0, 1.0f},
    {"rms", register_cmu_us_rms, PTHREAD_ONCE_INIT, NULL, 0, 1.0f},
    {"awb", register_cmu_us_awb, PTHREAD_ONCE_INIT, NULL, 0, 1.0f},
};

static const char *const voice_names[] = {"kal16", "kal", "slt", "rms", "awb", NULL};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void flite_global_init(void)
{
    flite_init();
}

/* pthread_once has no argument: one function per voice. */
#define REGISTER_FN(i)                                                                   \
    static void register_##i(void)                                                       \
    {                                                                                    \
        Ccai_flite_voice *v = &voices[i];                                                \
        v->voice = v->reg(NULL);                                                         \
        if (v->voice) {                                                                  \
            v->rate = (uint32_t)get_param_int(v->voice->features, "sample_rate", 16000); \
            v->stretch = get_param_float(v->voice->features, "duration_stretch", 1.0f);  \
        }                                                                                \
    }
REGISTER_FN(0)
REGISTER_FN(1)
REGISTER_FN(2)
REGISTER_FN(3)
REGISTER_FN(4)
static void (*const register_fns[])(void) = {register_0, register_1, register_2, register_3,
                                             register_4};

const char *const *Ccai_flite_voice_names(void)
{
    return voice_names;
}

ccai_status Ccai_flite_voice_get(const char *name, const Ccai_flite_voice **ret)
{
    if (!ret)
        return CCAI_ERR_INVALID_ARG;
    if (!name)
        name = "kal16";
    /* "cmu_us_slt" as flite's own name for it */
    if (strncmp(name, "cmu_us_", 7) == 0)
        name += 7;
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(voices); i++) {
        if (strcmp(voices[i].name, name) != 0)
            continue;
        pthread_once(&init_once, flite_global_init);
        pthread_once(&voices[i].once, register_fns[i]);
        if (!voices[i].voice || !voices[i].rate)
            return CCAI_ERR_NOT_FOUND;
        *ret = &voices[i];
        return CCAI_OK;
    }
    return CCAI_ERR_NOT_FOUND;
}

const char *Ccai_flite_voice_name(const Ccai_flite_voice *v)
{
    return v->name;
}

uint32_t Ccai_flite_voice_rate(const Ccai_flite_voice *v)
{
    return v->rate;
}

typedef struct speak_ctx {
    Ccai_pcm_fn fn;
    void *ud;
    bool stopped;
} speak_ctx;

static int on_chunk(const cst_wave *w, int start, int size, int last, cst_audio_streaming_info *asi)
{
    (void)last;
    speak_ctx *ctx = asi->userdata;
    if (ctx->stopped)
        return CST_AUDIO_STREAM_STOP;
    if (size > 0 && start >= 0 && start + size <= w->num_samples &&
        !ctx->fn(ctx->ud, w->samples + start, (size_t)size, (uint32_t)w->sample_rate)) {
        ctx->stopped = true;
        return CST_AUDIO_STREAM_STOP;
    }
    return CST_AUDIO_STREAM_CONT;
}

ccai_status Ccai_flite_speak(const Ccai_flite_voice *v, const char *text, double rate,
                             Ccai_pcm_fn fn, void *ud)
{
    if (!v || !text || !fn || !(rate >= 0.5) || !(rate <= 2.0))
        return CCAI_ERR_INVALID_ARG;
    speak_ctx ctx = {fn, ud, false};
    cst_utterance *u = new_utterance();
    cst_audio_streaming_info *asi = new_audio_streaming_info();
    if (!u || !asi) {
        delete_utterance(u);
        delete_audio_streaming_info(asi);
        return CCAI_ERR_INTERNAL;
    }
    asi->asc = on_chunk;
    asi->min_buffsize = 256;
    asi->userdata = &ctx;
    /* The utterance's features are searched before the voice's: the
     * streaming callback and the speed stay per synthesis, the shared voice
     * is not touched. The utterance owns asi from here. */
    feat_set(u->features, "streaming_info", audio_streaming_info_val(asi));
    feat_set_float(u->features, "duration_stretch", (float)((double)v->stretch / rate));
    utt_set_input_text(u, text);
    cst_utterance *r = flite_do_synth(u, v->voice, utt_synth);
    /* flite_do_synth() frees u when it fails. */
    if (r)
        delete_utterance(r);
    if (ctx.stopped)
        return CCAI_ERR_CANCELLED;
    return r ? CCAI_OK : CCAI_ERR_INTERNAL;
}
