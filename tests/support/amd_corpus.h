/* Who picks up an outbound call, as text for the offline voices: answering
 * machines' greetings and people answering, in English, French and
 * Spanish (tests/unit/test_media_amd.c, bench/bench_amd.c). The machine's
 * greeting is followed by its beep (beep_hz; 0: none, it goes silent). */
#ifndef CCAI_TEST_AMD_CORPUS_H
#define CCAI_TEST_AMD_CORPUS_H

typedef struct amd_sample {
    const char *voice; /* espeak-ng voice */
    double rate;
    const char *text;
    int machine;
    double beep_hz;
} amd_sample;

static const amd_sample amd_corpus[] = {
    {"en-us", 1.0,
     "Hi, you have reached the voicemail of John Smith. I cannot take your call right now. "
     "Please leave a message after the tone.",
     1, 1000},
    {"en-gb", 1.1,
     "Hello, this is Sarah. Sorry I missed your call, leave your name and number and I will "
     "get back to you as soon as I can.",
     1, 1400},
    {"en-us", 1.2,
     "The person you are calling is not available. Please record your message "
     "after the tone. When you have finished recording, you may hang up.",
     1, 2000},
    {"fr-fr", 1.0,
     "Bonjour, vous êtes bien sur la messagerie de Jean Dupont. Je ne suis pas disponible pour "
     "le moment, laissez-moi un message après le bip sonore.",
     1, 1000},
    {"fr-fr", 1.15,
     "Vous êtes sur le répondeur de la famille Martin, merci de laisser votre message, nous vous "
     "rappellerons.",
     1, 0},
    {"es", 1.0,
     "Hola, has llamado a María. No puedo contestar ahora mismo, deja tu mensaje después de la "
     "señal y te llamaré.",
     1, 1400},
    {"es", 1.1, "El número al que llama no está disponible en este momento. Deje su mensaje.", 1,
     0},
    {"en-us", 0.9,
     "You have reached the offices of Contoso insurance. Our offices are closed. "
     "Please leave a message.",
     1, 1800},
    {"en-us", 1.0, "Hello?", 0, 0},
    {"en-gb", 1.0, "Yes?", 0, 0},
    {"en-us", 1.1, "Hello, John speaking.", 0, 0},
    {"en-us", 1.0, "Yeah, hi.", 0, 0},
    {"fr-fr", 1.0, "Allô ?", 0, 0},
    {"fr-fr", 1.0, "Oui, bonjour, c'est qui ?", 0, 0},
    {"es", 1.0, "¿Diga?", 0, 0},
    {"es", 1.0, "Hola, ¿quién es?", 0, 0},
};

#endif
