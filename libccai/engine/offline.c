/* The offline dialogue engine (see offline.h).
 *
 * One turn is a transaction: the scalar state is saved, claim values set
 * during the turn keep their previous value in an undo slot, and any
 * allocation failure restores both, so that a failed turn changes nothing.
 * Builders record a failed allocation in o->oom and become no-ops, so the
 * dialogue code reads straight and the turn checks once at the end.
 *
 * Caller words are matched on a normalised copy of the utterance: lower
 * case, accents removed, punctuation turned into spaces, split in tokens.
 * Commands ("agent", "goodbye", "repeat", a language name, "skip") must
 * be the whole utterance once filler words ("please", "I want to speak
 * to", "s'il vous plaît", "por favor") are removed, so that an answer that
 * merely contains such a word ("a human was injured") stays an answer; an
 * explicit farewell may also end a longer sentence ("OK thanks, goodbye").
 * Yes and no are read inside a sentence, with negation (answer_polarity).
 *
 * No question is asked for ever: each turn that does not move the dialogue
 * on counts at its question (missed), and the dialogue moves on after a
 * few, saying why.
 *
 * Spoken dates are resolved against the caller's local day (now_ms plus
 * utc_offset_min), always towards the past, since a claim reports what
 * happened: a day and month without a year is the last such date on or
 * before today; a weekday is the last such day on or before today; a time
 * alone is today, or yesterday when it is still to come. Parts of the day
 * stand for fixed times: morning 09:00, noon 12:00, afternoon 15:00,
 * evening 20:00 ("hier soir", "tonight"), night 23:00 ("last night",
 * "cette nuit": the day before unless a day is named). A date without a
 * time makes the engine ask for the time; declining records the date
 * alone (midnight). */
#include "engine/offline.h"
#include "core/json.h"

#include <stdio.h>
#include <string.h>

/* Normalised text is at most 3 bytes per input byte ("+" -> " + "). */
#define NORM_MAX (3 * CCAI_OFFLINE_UTTERANCE_MAX + 8)
#define TOK_MAX  (NORM_MAX / 2 + 1)
/* Phrases from the static tables are short. */
#define PHRASE_NORM_MAX 128
#define PHRASE_TOK_MAX  32
/* Longest phone number the spoken-digit reader assembles. */
#define PHONE_DIGITS_MAX 24
/* Text values longer than this are confirmed without being read back. */
#define READBACK_MAX 80

enum { L_EN, L_FR, L_ES, L_COUNT };

static const char *const lang_prefix[L_COUNT] = {"en", "fr", "es"};
static const char *const lang_default_code[L_COUNT] = {"en-US", "fr-FR", "es-ES"};

typedef enum msg {
    M_HELLO_FULL, /* name, company */
    M_HELLO_NAME, /* name */
    M_HELLO,
    M_INTRO,
    M_WELCOME_BACK_FULL,
    M_WELCOME_BACK_NAME,
    M_WELCOME_BACK,
    M_SO_FAR,
    M_NOTHING_YET,
    M_ASK_LABEL,  /* a label from the table below */
    M_ASK_CUSTOM, /* a schema description */
    M_ASK_TIME,
    M_HINT_DATETIME,
    M_HINT_TIME,
    M_HINT_PHONE,
    M_HINT_EMAIL,
    M_NOTED_VALUE,
    M_NOTED,
    M_NONE_VALUE,
    M_R_DATE_UNREADABLE,
    M_R_DATE_INVALID,
    M_R_TIME_UNREADABLE,
    M_R_EMAIL_NO_AT,
    M_R_EMAIL_BAD,
    M_R_PHONE_NONE,
    M_R_PHONE_COUNTRY,
    M_R_PHONE_SHORT,
    M_R_PHONE_LONG,
    M_R_PHONE_BAD,
    M_R_TEXT_EMPTY,
    M_R_TEXT_BAD,
    M_SKIP_LATER,
    M_SKIP_MOVE_ON,
    M_GIVE_UP_LATER,   /* a field as a noun phrase (field_np) */
    M_GIVE_UP_MOVE_ON, /* the same */
    M_BACK_TO_SKIPPED,
    M_SUMMARY,
    M_SUMMARY_EMPTY,
    M_SUMMARY_LINE, /* label, value */
    M_MISSING,      /* labels */
    M_CONFIRM_ASK,
    M_CONFIRM_YES_NO,
    M_CONFIRM_HANDOVER,
    M_CONFIRM_AS_IS,
    M_STUCK_HANDOVER,
    M_STUCK_BYE,
    M_THANKS_BYE,
    M_WHICH,
    M_WHICH_AGAIN, /* an example label */
    M_TRANSFER,
    M_GOODBYE,
    M_STILL_THERE,
    M_SILENCE_BYE,
    M_LANG_SWITCH,
    M_LANG_UNAVAILABLE,
    M_DATE_AT, /* day, month name, year, hour, minute (see say_date) */
    M_COUNT
} msg;

/* "%s" is replaced by the arguments in order; nothing else is special. */
static const char *const phrases[L_COUNT][M_COUNT] = {
    [L_EN] =
        {
            [M_HELLO_FULL] = "Hello, this is %s from %s.",
            [M_HELLO_NAME] = "Hello, this is %s.",
            [M_HELLO] = "Hello.",
            [M_INTRO] = "I will take down your claim. I have a few questions for you.",
            [M_WELCOME_BACK_FULL] = "Welcome back, this is %s from %s.",
            [M_WELCOME_BACK_NAME] = "Welcome back, this is %s.",
            [M_WELCOME_BACK] = "Welcome back.",
            [M_SO_FAR] = "Here is what I have noted so far.",
            [M_NOTHING_YET] = "I have not noted anything yet.",
            [M_ASK_LABEL] = "Could you tell me the %s?",
            [M_ASK_CUSTOM] = "Could you tell me the %s?",
            [M_ASK_TIME] = "And at what time, roughly?",
            [M_HINT_DATETIME] =
                "For example: the 8th of October at 2 pm, yesterday evening, or 2024-10-08 14:00.",
            [M_HINT_TIME] = "For example: at 2 pm, or 14:30.",
            [M_HINT_PHONE] = "Please include the country code, for example: plus 44 7700 900123.",
            [M_HINT_EMAIL] = "Please spell it, for example: john dot doe at example dot com.",
            [M_NOTED_VALUE] = "Noted: %s.",
            [M_NOTED] = "Noted.",
            [M_NONE_VALUE] = "None",
            [M_R_DATE_UNREADABLE] = "Sorry, I did not understand that date.",
            [M_R_DATE_INVALID] = "Sorry, that date or time does not exist.",
            [M_R_TIME_UNREADABLE] = "Sorry, I did not understand that time.",
            [M_R_EMAIL_NO_AT] = "Sorry, I did not hear the at sign of the email address.",
            [M_R_EMAIL_BAD] = "Sorry, that does not sound like a valid email address.",
            [M_R_PHONE_NONE] = "Sorry, I did not hear any digits.",
            [M_R_PHONE_COUNTRY] = "Sorry, I also need the country code.",
            [M_R_PHONE_SHORT] = "Sorry, that number seems too short.",
            [M_R_PHONE_LONG] = "Sorry, that number seems too long.",
            [M_R_PHONE_BAD] = "Sorry, that does not sound like a valid phone number.",
            [M_R_TEXT_EMPTY] = "Sorry, I did not catch that.",
            [M_R_TEXT_BAD] = "Sorry, I could not note that.",
            [M_SKIP_LATER] = "Let's come back to that later.",
            [M_SKIP_MOVE_ON] = "No problem, let's move on.",
            [M_GIVE_UP_LATER] = "I could not note %s; let's come back to it later.",
            [M_GIVE_UP_MOVE_ON] = "I could not note %s, so let's move on.",
            [M_BACK_TO_SKIPPED] = "Let's come back to the questions we skipped.",
            [M_SUMMARY] = "Here is what I noted.",
            [M_SUMMARY_EMPTY] = "I could not note anything.",
            [M_SUMMARY_LINE] = "%s: %s.",
            [M_MISSING] = "I still do not have: %s.",
            [M_CONFIRM_ASK] = "Is everything correct?",
            [M_CONFIRM_YES_NO] = "Sorry, is everything correct? Please answer yes or no.",
            [M_CONFIRM_HANDOVER] = "I cannot get your confirmation, so I am transferring you to an "
                                   "advisor who will check your claim with you. Please hold on.",
            [M_CONFIRM_AS_IS] = "I cannot get your confirmation, so I am recording your claim as "
                                "it is. You can call back at any time to change it. Goodbye!",
            [M_STUCK_HANDOVER] = "I am having trouble understanding you, so I am transferring you "
                                 "to an advisor. Please hold on.",
            [M_STUCK_BYE] = "I am having trouble understanding you, so I will end the call. What "
                            "I noted is saved; feel free to call back. Goodbye!",
            [M_THANKS_BYE] = "Thank you, your claim is recorded. Goodbye!",
            [M_WHICH] = "Which information would you like to change?",
            [M_WHICH_AGAIN] = "Sorry, which information? For example: the %s.",
            [M_TRANSFER] = "I am transferring you to an advisor, please hold on.",
            [M_GOODBYE] = "Thank you for your call. Goodbye!",
            [M_STILL_THERE] = "Are you still there?",
            [M_SILENCE_BYE] = "I cannot hear you, so I will end the call. Feel free to call back. "
                              "Goodbye!",
            [M_LANG_SWITCH] = "Of course, let's continue in English.",
            [M_LANG_UNAVAILABLE] = "Sorry, I cannot speak that language on this line.",
            [M_DATE_AT] = "%s %s %s at %s:%s",
        },
    [L_FR] =
        {
            [M_HELLO_FULL] = "Bonjour, je suis %s de %s.",
            [M_HELLO_NAME] = "Bonjour, je suis %s.",
            [M_HELLO] = "Bonjour.",
            [M_INTRO] = "Je vais enregistrer votre déclaration. J'ai quelques questions à vous "
                        "poser.",
            [M_WELCOME_BACK_FULL] = "Rebonjour, je suis %s de %s.",
            [M_WELCOME_BACK_NAME] = "Rebonjour, je suis %s.",
            [M_WELCOME_BACK] = "Rebonjour.",
            [M_SO_FAR] = "Voici ce que j'ai déjà noté.",
            [M_NOTHING_YET] = "Je n'ai encore rien noté.",
            [M_ASK_LABEL] = "Pourriez-vous me donner %s ?",
            [M_ASK_CUSTOM] = "Pourriez-vous me donner l'information suivante : %s ?",
            [M_ASK_TIME] = "Et à quelle heure, à peu près ?",
            [M_HINT_DATETIME] =
                "Par exemple : le 8 octobre à 14 h, hier soir, ou le 08/10/2024 à 14 h 30.",
            [M_HINT_TIME] = "Par exemple : à 14 h, ou vers 9 h 30.",
            [M_HINT_PHONE] =
                "Avec l'indicatif du pays si possible, par exemple : plus 33 6 12 34 56 78.",
            [M_HINT_EMAIL] = "Épelez-la, par exemple : jean point dupont arobase exemple point fr.",
            [M_NOTED_VALUE] = "C'est noté : %s.",
            [M_NOTED] = "C'est noté.",
            [M_NONE_VALUE] = "Aucun",
            [M_R_DATE_UNREADABLE] = "Désolé, je n'ai pas compris cette date.",
            [M_R_DATE_INVALID] = "Désolé, cette date ou cette heure n'existe pas.",
            [M_R_TIME_UNREADABLE] = "Désolé, je n'ai pas compris l'heure.",
            [M_R_EMAIL_NO_AT] = "Désolé, je n'ai pas entendu l'arobase de l'adresse.",
            [M_R_EMAIL_BAD] = "Désolé, cette adresse e-mail ne semble pas valide.",
            [M_R_PHONE_NONE] = "Désolé, je n'ai entendu aucun chiffre.",
            [M_R_PHONE_COUNTRY] = "Désolé, il me faut aussi l'indicatif du pays.",
            [M_R_PHONE_SHORT] = "Désolé, ce numéro semble trop court.",
            [M_R_PHONE_LONG] = "Désolé, ce numéro semble trop long.",
            [M_R_PHONE_BAD] = "Désolé, ce numéro de téléphone ne semble pas valide.",
            [M_R_TEXT_EMPTY] = "Désolé, je n'ai pas compris.",
            [M_R_TEXT_BAD] = "Désolé, je n'ai pas pu noter cela.",
            [M_SKIP_LATER] = "Nous y reviendrons plus tard.",
            [M_SKIP_MOVE_ON] = "Pas de souci, passons à la suite.",
            [M_GIVE_UP_LATER] = "Je n'ai pas réussi à noter %s ; nous y reviendrons plus tard.",
            [M_GIVE_UP_MOVE_ON] = "Je n'ai pas réussi à noter %s, passons à la suite.",
            [M_BACK_TO_SKIPPED] = "Revenons aux questions que nous avons laissées de côté.",
            [M_SUMMARY] = "Voici ce que j'ai noté.",
            [M_SUMMARY_EMPTY] = "Je n'ai rien pu noter.",
            [M_SUMMARY_LINE] = "%s : %s.",
            [M_MISSING] = "Il me manque encore : %s.",
            [M_CONFIRM_ASK] = "Est-ce que tout est correct ?",
            [M_CONFIRM_YES_NO] =
                "Pardon, est-ce que tout est correct ? Répondez par oui ou par non.",
            [M_CONFIRM_HANDOVER] =
                "Je n'arrive pas à obtenir votre confirmation, alors je vous transfère à un "
                "conseiller qui vérifiera votre déclaration avec vous. Merci de patienter.",
            [M_CONFIRM_AS_IS] =
                "Je n'arrive pas à obtenir votre confirmation, alors j'enregistre votre "
                "déclaration telle quelle. Vous pouvez rappeler à tout moment pour la modifier. "
                "Au revoir !",
            [M_STUCK_HANDOVER] = "J'ai du mal à vous comprendre, je vous transfère donc à un "
                                 "conseiller. Merci de patienter.",
            [M_STUCK_BYE] = "J'ai du mal à vous comprendre, je vais donc mettre fin à l'appel. Ce "
                            "que j'ai noté est enregistré ; n'hésitez pas à rappeler. Au revoir !",
            [M_THANKS_BYE] = "Merci, votre déclaration est enregistrée. Au revoir !",
            [M_WHICH] = "Quelle information souhaitez-vous modifier ?",
            [M_WHICH_AGAIN] = "Pardon, quelle information ? Par exemple : %s.",
            [M_TRANSFER] = "Je vous transfère à un conseiller, merci de patienter.",
            [M_GOODBYE] = "Merci de votre appel. Au revoir !",
            [M_STILL_THERE] = "Êtes-vous toujours là ?",
            [M_SILENCE_BYE] = "Je ne vous entends pas, je vais raccrocher. N'hésitez pas à "
                              "rappeler. Au revoir !",
            [M_LANG_SWITCH] = "Bien sûr, continuons en français.",
            [M_LANG_UNAVAILABLE] = "Désolé, je ne peux pas parler cette langue sur cette ligne.",
            [M_DATE_AT] = "%s %s %s à %s h %s",
        },
    [L_ES] =
        {
            [M_HELLO_FULL] = "Hola, soy %s de %s.",
            [M_HELLO_NAME] = "Hola, soy %s.",
            [M_HELLO] = "Hola.",
            [M_INTRO] = "Voy a registrar su declaración. Tengo algunas preguntas para usted.",
            [M_WELCOME_BACK_FULL] = "Bienvenido de nuevo, soy %s de %s.",
            [M_WELCOME_BACK_NAME] = "Bienvenido de nuevo, soy %s.",
            [M_WELCOME_BACK] = "Bienvenido de nuevo.",
            [M_SO_FAR] = "Esto es lo que tengo anotado hasta ahora.",
            [M_NOTHING_YET] = "Todavía no he anotado nada.",
            [M_ASK_LABEL] = "¿Podría indicarme %s?",
            [M_ASK_CUSTOM] = "¿Podría indicarme el siguiente dato: %s?",
            [M_ASK_TIME] = "¿Y a qué hora, más o menos?",
            [M_HINT_DATETIME] = "Por ejemplo: el 8 de octubre a las 14:00, ayer por la tarde, o "
                                "2024-10-08 14:00.",
            [M_HINT_TIME] = "Por ejemplo: a las 2 de la tarde, o a las 14:30.",
            [M_HINT_PHONE] = "Con el prefijo del país, por ejemplo: más 34 612 34 56 78.",
            [M_HINT_EMAIL] = "Deletréelo, por ejemplo: juan punto perez arroba ejemplo punto com.",
            [M_NOTED_VALUE] = "Anotado: %s.",
            [M_NOTED] = "Anotado.",
            [M_NONE_VALUE] = "Ninguno",
            [M_R_DATE_UNREADABLE] = "Lo siento, no he entendido esa fecha.",
            [M_R_DATE_INVALID] = "Lo siento, esa fecha u hora no existe.",
            [M_R_TIME_UNREADABLE] = "Lo siento, no he entendido la hora.",
            [M_R_EMAIL_NO_AT] = "Lo siento, no he oído la arroba de la dirección.",
            [M_R_EMAIL_BAD] = "Lo siento, esa dirección de correo no parece válida.",
            [M_R_PHONE_NONE] = "Lo siento, no he oído ningún número.",
            [M_R_PHONE_COUNTRY] = "Lo siento, necesito también el prefijo del país.",
            [M_R_PHONE_SHORT] = "Lo siento, ese número parece demasiado corto.",
            [M_R_PHONE_LONG] = "Lo siento, ese número parece demasiado largo.",
            [M_R_PHONE_BAD] = "Lo siento, ese número de teléfono no parece válido.",
            [M_R_TEXT_EMPTY] = "Lo siento, no le he entendido.",
            [M_R_TEXT_BAD] = "Lo siento, no he podido anotar eso.",
            [M_SKIP_LATER] = "Volveremos a ello más tarde.",
            [M_SKIP_MOVE_ON] = "No hay problema, sigamos.",
            [M_GIVE_UP_LATER] = "No he podido anotar %s; volveremos a ello más tarde.",
            [M_GIVE_UP_MOVE_ON] = "No he podido anotar %s, así que sigamos.",
            [M_BACK_TO_SKIPPED] = "Volvamos a las preguntas que hemos dejado pendientes.",
            [M_SUMMARY] = "Esto es lo que he anotado.",
            [M_SUMMARY_EMPTY] = "No he podido anotar nada.",
            [M_SUMMARY_LINE] = "%s: %s.",
            [M_MISSING] = "Todavía me falta: %s.",
            [M_CONFIRM_ASK] = "¿Es todo correcto?",
            [M_CONFIRM_YES_NO] = "Perdone, ¿es todo correcto? Responda sí o no.",
            [M_CONFIRM_HANDOVER] = "No consigo obtener su confirmación, así que le transfiero a un "
                                   "asesor que revisará su declaración con usted. Por favor, "
                                   "espere.",
            [M_CONFIRM_AS_IS] = "No consigo obtener su confirmación, así que registro su "
                                "declaración tal como está. Puede volver a llamar en cualquier "
                                "momento para cambiarla. ¡Adiós!",
            [M_STUCK_HANDOVER] =
                "Me cuesta entenderle, así que le transfiero a un asesor. Por favor, espere.",
            [M_STUCK_BYE] = "Me cuesta entenderle, así que voy a terminar la llamada. Lo que he "
                            "anotado queda guardado; no dude en volver a llamar. ¡Adiós!",
            [M_THANKS_BYE] = "Gracias, su declaración queda registrada. ¡Adiós!",
            [M_WHICH] = "¿Qué dato desea cambiar?",
            [M_WHICH_AGAIN] = "Perdone, ¿qué dato? Por ejemplo: %s.",
            [M_TRANSFER] = "Le transfiero a un asesor, por favor espere.",
            [M_GOODBYE] = "Gracias por su llamada. ¡Adiós!",
            [M_STILL_THERE] = "¿Sigue ahí?",
            [M_SILENCE_BYE] =
                "No le oigo, así que voy a colgar. No dude en volver a llamar. ¡Adiós!",
            [M_LANG_SWITCH] = "Claro, sigamos en español.",
            [M_LANG_UNAVAILABLE] = "Lo siento, no puedo hablar ese idioma en esta línea.",
            [M_DATE_AT] = "%s de %s de %s a las %s:%s",
        },
};

static const char *const month_names[L_COUNT][12] = {
    {"January", "February", "March", "April", "May", "June", "July", "August", "September",
     "October", "November", "December"},
    {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
     "octobre", "novembre", "décembre"},
    {"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
     "octubre", "noviembre", "diciembre"},
};

/* Spoken labels of the reference's default fields. English labels follow
 * "the"; French and Spanish ones carry their article. Optional fields take
 * "no" / "none" as an answer (recorded as M_NONE_VALUE) instead of a skip. */
typedef struct known_field {
    const char *name;
    bool optional;
    const char *label[L_COUNT];
} known_field;

static const known_field known_fields[] = {
    {"incident_datetime",
     false,
     {"date and time of the incident", "la date et l'heure de l'incident",
      "la fecha y la hora del incidente"}},
    {"incident_description",
     false,
     {"description of the incident", "la description de l'incident",
      "la descripción del incidente"}},
    {"incident_location",
     false,
     {"location of the incident", "le lieu de l'incident", "el lugar del incidente"}},
    {"injuries",
     true,
     {"injuries sustained during the incident, if any",
      "les blessures subies lors de l'incident, s'il y en a",
      "las lesiones sufridas en el incidente, si las hay"}},
    {"involved_parties",
     false,
     {"people and vehicles involved in the incident",
      "les personnes et les véhicules impliqués dans l'incident",
      "las personas y los vehículos implicados en el incidente"}},
    {"medical_records",
     true,
     {"medical records related to the incident, if any",
      "les dossiers médicaux liés à l'incident, s'il y en a",
      "los informes médicos relacionados con el incidente, si los hay"}},
    {"policy_number",
     false,
     {"insurance policy number", "le numéro de votre contrat d'assurance",
      "el número de su póliza de seguro"}},
    {"pre_existing_damages",
     true,
     {"damages that existed before the incident, if any",
      "les dommages qui existaient avant l'incident, s'il y en a",
      "los daños que existían antes del incidente, si los hay"}},
    {"witnesses",
     true,
     {"witnesses of the incident, if any", "les témoins de l'incident, s'il y en a",
      "los testigos del incidente, si los hay"}},
    {"policyholder_email",
     false,
     {"email address of the policyholder", "l'adresse e-mail de l'assuré",
      "el correo electrónico del asegurado"}},
    {"policyholder_name",
     false,
     {"full name of the policyholder", "le nom complet de l'assuré",
      "el nombre completo del asegurado"}},
    {"policyholder_phone",
     false,
     {"phone number of the policyholder", "le numéro de téléphone de l'assuré",
      "el número de teléfono del asegurado"}},
};

/* Words dropped before commands are compared (normalised spelling). */
static const char *const fillers[] = {
    /* en */
    "please", "i", "d", "want", "would", "like", "to", "speak", "talk", "with", "a", "an", "the",
    "me", "can", "could", "may", "put", "through", "connect", "let", "s", "just", "um", "uh", "er",
    "hmm", "hm", "well", "so", "thank", "thanks", "you", "in", "do", "need", "get", "give",
    "transfer", "now", "sir", "madam", "hello", "hi", "actually", "then", "we", "continue",
    "switch", "m", "ll",
    /* fr */
    "je", "j", "voudrais", "veux", "souhaite", "aimerais", "parler", "au", "avec", "un", "une",
    "le", "la", "les", "l", "il", "vous", "plait", "svp", "moi", "passer", "passez", "pouvez",
    "pourriez", "puis", "peux", "peut", "merci", "alors", "euh", "ben", "en", "bonjour", "monsieur",
    "madame", "maintenant", "donc", "on", "continuer", "continuons", "parlez",
    /* es */
    "quiero", "quisiera", "hablar", "habla", "hablas", "con", "por", "favor", "el", "pasar", "pase",
    "paseme", "gracias", "pues", "al", "senor", "senora", "ahora", "seguir", "podemos", "puede",
    "podria"};

/* Sounds that are no answer at all, even to a free-text question. */
static const char *const hesitations[] = {"um",  "umm", "uh",  "uhm", "er", "erm", "hmm",
                                          "hm",  "mm",  "mmm", "ah",  "oh", "eh",  "ehm",
                                          "euh", "heu", "bah", "ben", "pff"};

/* Interjections also dropped around "goodbye" and "agent". */
static const char *const interjections[] = {"ok", "okay",   "yes",   "no",   "oui",   "non",
                                            "si", "bon",    "bien",  "vale", "bueno", "alright",
                                            "oh", "accord", "right", "fine"};

static const char *const cmd_transfer[] = {
    "human",      "human being",  "human agent",    "agent",           "advisor",
    "adviser",    "operator",     "representative", "real person",     "customer service",
    "humain",     "agent humain", "conseiller",     "conseillère",     "opérateur",
    "opératrice", "quelqu'un",    "vraie personne", "personne réelle", "service client",
    "humano",     "agente",       "asesor",         "asesora",         "operador",
    "operadora",  "persona real", "agente humano"};

static const char *const cmd_goodbye[] = {
    "goodbye", "good bye",     "bye",         "bye bye",     "that's all",    "that is all",
    "hang up", "end the call", "au revoir",   "c'est tout",  "bonne journée", "raccrocher",
    "adieu",   "adiós",        "hasta luego", "eso es todo", "colgar",        "chao"};

/* The explicit farewells among them: one of these ending a sentence ends
 * the call ("OK thanks, that's all, goodbye."); "that's all" after an
 * answer ("A pipe burst, that's all.") does not. */
static const char *const cmd_farewell[] = {"goodbye",   "good bye",     "bye",   "bye bye",
                                           "au revoir", "adieu",        "adiós", "hasta luego",
                                           "chao",      "bonne journée"};

static const char *const cmd_repeat[] = {"repeat",
                                         "repeat that",
                                         "say again",
                                         "say that again",
                                         "come again",
                                         "pardon",
                                         "sorry",
                                         "what",
                                         "excuse me",
                                         "didn't hear",
                                         "didn't catch that",
                                         "répétez",
                                         "répéter",
                                         "répète",
                                         "comment",
                                         "quoi",
                                         "je n'ai pas compris",
                                         "j'ai pas compris",
                                         "répétez la question",
                                         "repita",
                                         "repite",
                                         "repetir",
                                         "cómo",
                                         "perdón",
                                         "qué",
                                         "otra vez"};

static const char *const cmd_skip[] = {"skip",
                                       "next",
                                       "pass",
                                       "no",
                                       "nope",
                                       "i don't know",
                                       "don't know",
                                       "i do not know",
                                       "no idea",
                                       "not sure",
                                       "i'm not sure",
                                       "later",
                                       "skip it",
                                       "skip this",
                                       "next question",
                                       "je ne sais pas",
                                       "je sais pas",
                                       "sais pas",
                                       "aucune idée",
                                       "non",
                                       "plus tard",
                                       "suivant",
                                       "question suivante",
                                       "passons",
                                       "no sé",
                                       "ni idea",
                                       "siguiente",
                                       "más tarde",
                                       "paso"};

/* Yes and no inside a sentence (normalised spelling, see answer_polarity).
 * Words that say yes, words that say no (or "something is to change"),
 * and negators that turn the polarity words after them around ("not
 * correct", "pas correct", "no es correcto", "no mistakes", "rien à
 * changer"). */
static const char *const yes_words[] = {
    /* en */
    "yes", "yeah", "yea", "yep", "yup", "correct", "right", "exactly", "sure", "ok", "okay",
    "alright", "perfect", "fine", "good", "great", "accurate", "true", "absolutely", "definitely",
    "certainly", "indeed", "precisely", "affirmative", "agreed",
    /* fr */
    "oui", "ouais", "exact", "exacte", "exactement", "parfait", "juste", "bon", "bien",
    "impeccable", "nickel", "absolument", "effectivement", "vrai", "correcte",
    /* es */
    "correcto", "correcta", "exacto", "exacta", "vale", "claro", "perfecto", "cierto",
    "efectivamente", "verdad", "bueno", "okey"};

static const char *const yes_phrases[] = {
    "all good", "that s it",    "uh huh",       "mm hmm",   "go ahead", "think so",   "believe so",
    "guess so", "of course",    "tout a fait",  "bien sur", "d accord", "de acuerdo", "eso es",
    "asi es",   "por supuesto", "works for me", "me va",    "ca marche"};

static const char *const no_words[] = {
    /* en */
    "nope", "nah", "wrong", "incorrect", "false", "inaccurate", "bad", "mistake", "mistakes",
    "error", "errors", "typo", "problem", "problems", "change", "changes", "changed", "modify",
    "fix", "update", "correction", "corrections", "almost", "doubt", "missing",
    /* fr */
    "faux", "fausse", "fausses", "incorrecte", "inexact", "inexacte", "mal", "mauvais", "mauvaise",
    "erreur", "erreurs", "probleme", "problemes", "changer", "modifier", "corriger", "presque",
    "doute", "manque",
    /* es */
    "incorrecto", "incorrecta", "inexacto", "falso", "falsa", "equivocado", "equivocada", "erroneo",
    "erronea", "malo", "mala", "errores", "problema", "problemas", "cambiar", "corregir",
    "modificar", "casi", "duda", "falta"};

/* Negated, these say "I do not know" rather than no ("I'm not sure", "je
 * ne sais pas", "no sé"). */
static const char *const know_words[] = {"know", "sure",   "idea", "certain", "sais",  "sait",
                                         "sur",  "savoir", "se",   "sabe",    "seguro"};

/* "but the date": what follows is a correction (unless it is "yes"). */
static const char *const contrast_words[] = {"but",  "except",  "mais", "sauf",
                                             "pero", "excepto", "salvo"};

typedef struct negator {
    const char *word;
    unsigned reach; /* tokens after it that it negates */
} negator;

static const negator negators[] = {
    {"not", 4},    {"t", 4},       {"never", 4},   {"nothing", 4}, {"none", 4},  {"without", 4},
    {"no", 2},     {"non", 2},     {"pas", 4},     {"ne", 3},      {"n", 3},     {"jamais", 4},
    {"rien", 4},   {"aucun", 4},   {"aucune", 4},  {"sans", 4},    {"nunca", 4}, {"nada", 4},
    {"ningun", 4}, {"ninguna", 4}, {"ninguno", 4}, {"sin", 4}};

/* Answers that mean "nothing" to optional fields and to "which one?". */
static const char *const cmd_none[] = {
    "no",       "none",          "nothing",        "no one",
    "nobody",   "not any",       "no injuries",    "no witnesses",
    "non",      "aucun",         "aucune",         "rien",
    "personne", "pas de blessé", "pas de blessés", "pas de témoin",
    "nada",     "ninguno",       "ninguna",        "nadie",
    "no hay"};

typedef struct lang_name {
    int lang;
    const char *name;
} lang_name;

static const lang_name lang_names[] = {{L_EN, "english"},   {L_EN, "anglais"},  {L_EN, "ingles"},
                                       {L_FR, "french"},    {L_FR, "francais"}, {L_FR, "frances"},
                                       {L_ES, "spanish"},   {L_ES, "espagnol"}, {L_ES, "espanol"},
                                       {L_ES, "castellano"}};

/* Introductions dropped from names ("my name is John Doe"). */
static const char *const name_intros[] = {
    "my name is", "my full name is", "the name is", "name is",      "i am",        "i m",
    "it s",       "it is",           "this is",     "je m appelle", "mon nom est", "mon nom c est",
    "je suis",    "c est",           "me llamo",    "mi nombre es", "soy",         "es"};

/* ------------------------------------------------------------------------ */
/* State                                                                    */
/* ------------------------------------------------------------------------ */

typedef enum phase { PH_NEW, PH_ASK, PH_CONFIRM, PH_WHICH, PH_ENDED } phase;

enum { SKIP_NONE, SKIP_ONCE, SKIP_FINAL };

/* Everything a turn may change except the values: copied to roll back. */
typedef struct offline_state {
    phase phase;
    int lang;       /* phrase table */
    int lang_avail; /* index of the current code in avail, -1: lang_code */
    size_t cur;     /* field asked in PH_ASK */
    bool editing;   /* PH_ASK entered from the confirmation */
    bool second_pass;
    bool pending_date; /* a date without time was given for cur */
    int64_t pending_days;
    unsigned silences;
    unsigned which_tries;
    unsigned confirm_tries;  /* unclear answers to "is everything correct?" */
    unsigned confirm_rounds; /* times the summary was read for confirmation */
    unsigned stuck;          /* turns in a row without progress, any question */
    unsigned char tries[CCAI_FIELDS_MAX];
    unsigned char skip[CCAI_FIELDS_MAX];
} offline_state;

typedef struct offline_field {
    char *name;
    ccai_field_type type;
    char *desc;     /* NULL when none */
    char *keywords; /* " word word ", normalised, to recognise "change the date" */
    int known;      /* index in known_fields, -1 */
    bool optional;
} offline_field;

typedef struct email_item {
    char c;        /* '@', '.', '_', '-' for a connector, 0 for a word */
    const char *w; /* word: in the scratch buffer */
    size_t len;
} email_item;

typedef struct token {
    uint16_t start, len; /* in norm */
    uint16_t raw;        /* offset of the first byte in raw */
} token;

struct Ccai_offline {
    size_t nfields;
    offline_field f[CCAI_FIELDS_MAX];
    char *values[CCAI_FIELDS_MAX];
    char *undo[CCAI_FIELDS_MAX];
    bool undo_set[CCAI_FIELDS_MAX];
    char *claim_json;

    char *lang_code;
    char **avail;
    size_t navail;
    char *bot_name, *bot_company;
    bool can_transfer;
    const Ccai_tz *tz;
    int64_t today;  /* local day number since 1970-01-01 */
    int now_minute; /* local minute of the day */

    offline_state st, saved;

    Ccai_offline_action *acts;
    char **texts;
    size_t nacts, capacts;
    Ccai_offline_reply reply;
    Ccai_buf say;
    bool oom;
    bool missed; /* this turn did not move the dialogue on */

    /* The current utterance: in a scratch block allocated for one
     * Ccai_offline_input() (about 70 KB an idle call does not need to hold);
     * NULL between turns. */
    struct offline_scratch *scratch;
    char *raw;
    char *norm;
    token *tok;
    size_t ntok;
    bool *used;
    char *stripped;
    char *lenient;
    char *clause;
    char *email_words;
    email_item *email_items;
};

typedef struct offline_scratch {
    char raw[CCAI_OFFLINE_UTTERANCE_MAX + 1];
    char norm[NORM_MAX];
    token tok[TOK_MAX];
    bool used[TOK_MAX];
    char stripped[NORM_MAX];
    char lenient[NORM_MAX];
    char clause[NORM_MAX];
    char email_words[CCAI_OFFLINE_UTTERANCE_MAX + 1];
    email_item email_items[CCAI_OFFLINE_UTTERANCE_MAX / 2 + 2];
} offline_scratch;

static bool scratch_take(Ccai_offline *o)
{
    offline_scratch *x = Ccai_malloc(sizeof *x);
    if (!x)
        return false;
    o->scratch = x;
    o->raw = x->raw;
    o->norm = x->norm;
    o->tok = x->tok;
    o->used = x->used;
    o->stripped = x->stripped;
    o->lenient = x->lenient;
    o->clause = x->clause;
    o->email_words = x->email_words;
    o->email_items = x->email_items;
    return true;
}

static void scratch_drop(Ccai_offline *o)
{
    ccai_free(o->scratch);
    o->scratch = NULL;
    o->raw = o->norm = o->stripped = o->lenient = o->clause = o->email_words = NULL;
    o->tok = NULL;
    o->used = NULL;
    o->email_items = NULL;
    o->ntok = 0;
}

/* ------------------------------------------------------------------------ */
/* Normalisation                                                            */
/* ------------------------------------------------------------------------ */

/* Latin-1 letters U+00C0..U+00FF without their accents; ' ' for signs. */
static const char latin1_fold[] =
    "aaaaaaaceeeeiiiidnooooo ouuuuytsaaaaaaaceeeeiiiidnooooo ouuuuyty";

/* Decode one UTF-8 sequence; 0 on invalid bytes (then one byte is skipped). */
static size_t utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t v;
    if (c < 0x80) {
        *cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
        v = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        v = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        v = c & 0x07u;
    } else {
        return 0;
    }
    if (n > len)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[k] & 0x3Fu);
    }
    *cp = v;
    return n;
}

static bool is_digit_ch(char c)
{
    return Ccai_is_digit((unsigned char)c);
}

/* Normalise s[0..len) into out (tokens separated by one space) and fill
 * toks: letters lower-cased without accents, digits kept; ":", "/", "-"
 * and "." kept between digits; "+" is a token of its own; everything else
 * separates. Returns false only if out or toks are too small (the callers
 * size them so that this never happens). */
static bool normalise(const char *s, size_t len, char *out, size_t cap, token *toks, size_t maxtok,
                      size_t *ret_ntok)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t o = 0, nt = 0;
    bool in_tok = false;
    for (size_t i = 0; i < len;) {
        uint32_t cp = ' ';
        size_t n = utf8_next(u + i, len - i, &cp);
        if (n == 0) {
            n = 1;
            cp = ' ';
        }
        char map[3] = {0};
        if (cp < 0x80 && (Ccai_is_alpha((int)cp) || Ccai_is_digit((int)cp))) {
            map[0] = (char)Ccai_to_lower((int)cp);
        } else if (cp == ':' || cp == '/' || cp == '-' || cp == '.') {
            if (in_tok && o > 0 && is_digit_ch(out[o - 1]) && i + 1 < len &&
                Ccai_is_digit(u[i + 1]))
                map[0] = (char)cp;
        } else if (cp >= 0xC0 && cp <= 0xFF) {
            map[0] = latin1_fold[cp - 0xC0] == ' ' ? 0 : latin1_fold[cp - 0xC0];
        } else if (cp == 0x152 || cp == 0x153) {
            map[0] = 'o';
            map[1] = 'e';
        } else if (cp == '+') {
            map[0] = '+';
        }
        if (cp == '+' || !map[0]) {
            in_tok = false;
        }
        if (map[0]) {
            if (!in_tok) {
                if (nt == maxtok || o + 2 >= cap)
                    return false;
                if (o > 0)
                    out[o++] = ' ';
                toks[nt].start = (uint16_t)o;
                toks[nt].len = 0;
                toks[nt].raw = (uint16_t)i;
                nt++;
                in_tok = true;
            }
            for (size_t k = 0; k < 2 && map[k]; k++) {
                if (o + 2 >= cap)
                    return false;
                out[o++] = map[k];
                toks[nt - 1].len++;
            }
            if (cp == '+')
                in_tok = false;
        }
        i += n;
    }
    out[o] = '\0';
    *ret_ntok = nt;
    return true;
}

static bool in_list(const char *w, size_t n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (strlen(list[i]) == n && memcmp(list[i], w, n) == 0)
            return true;
    }
    return false;
}

/* Join the tokens that are not fillers; with @p lenient, interjections at
 * either end are dropped as well. */
static void strip_words(const char *norm, const token *toks, size_t ntok, bool lenient, char *out)
{
    size_t b = 0, e = ntok, o = 0;
    while (
        lenient && b < e &&
        in_list(norm + toks[b].start, toks[b].len, interjections, CCAI_ARRAY_SIZE(interjections)))
        b++;
    while (lenient && e > b &&
           in_list(norm + toks[e - 1].start, toks[e - 1].len, interjections,
                   CCAI_ARRAY_SIZE(interjections)))
        e--;
    for (size_t i = b; i < e; i++) {
        const char *w = norm + toks[i].start;
        if (in_list(w, toks[i].len, fillers, CCAI_ARRAY_SIZE(fillers)))
            continue;
        if (lenient && in_list(w, toks[i].len, interjections, CCAI_ARRAY_SIZE(interjections)))
            continue;
        if (o > 0)
            out[o++] = ' ';
        memcpy(out + o, w, toks[i].len);
        o += toks[i].len;
    }
    out[o] = '\0';
}

/* Does the stripped utterance @p s say exactly one of the phrases? */
static bool says(const char *s, const char *const *list, size_t count)
{
    if (!s[0])
        return false;
    for (size_t i = 0; i < count; i++) {
        char norm[PHRASE_NORM_MAX], out[PHRASE_NORM_MAX];
        token toks[PHRASE_TOK_MAX];
        size_t nt;
        if (!normalise(list[i], strlen(list[i]), norm, sizeof norm, toks, PHRASE_TOK_MAX, &nt))
            continue;
        strip_words(norm, toks, nt, false, out);
        if (out[0] && strcmp(out, s) == 0)
            return true;
    }
    return false;
}

#define SAYS(o, list)         says((o)->stripped, list, CCAI_ARRAY_SIZE(list))
#define SAYS_LENIENT(o, list) (SAYS(o, list) || says((o)->lenient, list, CCAI_ARRAY_SIZE(list)))

static bool tok_is(const Ccai_offline *o, size_t i, const char *w)
{
    return i < o->ntok && strlen(w) == o->tok[i].len &&
           memcmp(o->norm + o->tok[i].start, w, o->tok[i].len) == 0;
}

static bool tok_in(const Ccai_offline *o, size_t i, const char *const *list, size_t count)
{
    return i < o->ntok && in_list(o->norm + o->tok[i].start, o->tok[i].len, list, count);
}

#define TOK_IN(o, i, list) tok_in(o, i, list, CCAI_ARRAY_SIZE(list))

/* ------------------------------------------------------------------------ */
/* Yes or no in a sentence                                                  */
/* ------------------------------------------------------------------------ */

/* Does punctuation ("no, the date") separate token i from the one before? */
static bool clause_break(const Ccai_offline *o, size_t i)
{
    if (i == 0)
        return true;
    for (size_t k = o->tok[i - 1].raw; k < o->tok[i].raw; k++) {
        char ch = o->raw[k];
        if (ch == ',' || ch == ';' || ch == '!' || ch == '?' ||
            (ch == '.' && !(k > 0 && is_digit_ch(o->raw[k - 1]) && is_digit_ch(o->raw[k + 1]))))
            return true;
    }
    return false;
}

/* Does the phrase (normalised words separated by single spaces) start at
 * token i of the clause ending before token end? Its length in tokens. */
static size_t phrase_at(const Ccai_offline *o, size_t i, size_t end, const char *phrase)
{
    size_t n = 0;
    for (const char *p = phrase; *p;) {
        const char *sp = strchr(p, ' ');
        size_t len = sp ? (size_t)(sp - p) : strlen(p);
        if (i + n >= end || o->tok[i + n].len != len ||
            memcmp(o->norm + o->tok[i + n].start, p, len) != 0)
            return 0;
        n++;
        p += len + (sp ? 1 : 0);
    }
    return n;
}

enum { POL_NONE = 0, POL_YES = 1, POL_NO = -1 };

/* Polarity of the word or phrase at token i of the clause [b, e), and how
 * many tokens it takes. A few words depend on their neighbours: "si" is a
 * yes at either end of a clause or after "que" ("claro que sí"), not as
 * "if"; "ça" is a yes after "est" ("c'est ça", "ce n'est pas ça"); an
 * English "correct" after "to" or "please", or before "the", is the verb
 * (a change). */
static int polarity_at(const Ccai_offline *o, size_t i, size_t b, size_t e, size_t *ret_len)
{
    *ret_len = 1;
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(yes_phrases); k++) {
        size_t n = phrase_at(o, i, e, yes_phrases[k]);
        if (n) {
            *ret_len = n;
            return POL_YES;
        }
    }
    static const char *const verb_lead[] = {"to",   "please", "can",   "could", "must",
                                            "need", "should", "would", "me",    "you"};
    static const char *const verb_object[] = {"the", "my", "this", "it", "his", "her", "their"};
    if (tok_is(o, i, "correct") &&
        ((i > b && TOK_IN(o, i - 1, verb_lead)) || (i + 1 < e && TOK_IN(o, i + 1, verb_object))))
        return POL_NO;
    if (TOK_IN(o, i, yes_words))
        return POL_YES;
    if (TOK_IN(o, i, no_words))
        return POL_NO;
    if (tok_is(o, i, "si"))
        return i == b || i + 1 == e || tok_is(o, i - 1, "que") ? POL_YES : POL_NONE;
    if (tok_is(o, i, "ca")) {
        for (size_t k = i; k > b && i - k < 4; k--) {
            if (tok_is(o, k - 1, "est"))
                return POL_YES;
        }
        return POL_NONE;
    }
    if (TOK_IN(o, i, contrast_words) && i + 1 < e) {
        size_t n;
        int next = polarity_at(o, i + 1, b, e, &n);
        return next == POL_YES ? POL_NONE : POL_NO; /* "mais oui" is a yes */
    }
    return POL_NONE;
}

static unsigned negator_reach(const Ccai_offline *o, size_t i)
{
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(negators); k++) {
        if (tok_is(o, i, negators[k].word))
            return negators[k].reach;
    }
    return 0;
}

/* Is the answer a yes or a no? Each clause is read word by word: a
 * polarity word counts as said unless a negator shortly before it turns it
 * around; a negator that turns nothing around and hands over to no other
 * negator ("no.", "not quite", "pas du tout") is a no itself. Any no wins
 * (a correction follows), then any yes. */
static int answer_polarity(const Ccai_offline *o)
{
    bool yes = false, no = false;
    for (size_t b = 0; b < o->ntok;) {
        size_t e = b + 1;
        while (e < o->ntok && !clause_break(o, e))
            e++;
        /* Tokens before negated_to are in the reach of a negator. */
        size_t negated_to = b;
        for (size_t i = b; i < e;) {
            unsigned reach = negator_reach(o, i);
            size_t len = 1;
            int pol = polarity_at(o, i, b, e, &len);
            bool negated = i < negated_to;
            if (reach) {
                /* Does it negate a polarity word or hand over to a negator? */
                bool acts = i > b && TOK_IN(o, i - 1, know_words); /* "je sais pas" */
                for (size_t k = i + 1; k < e && k <= i + reach && !acts; k++) {
                    size_t n;
                    acts = negator_reach(o, k) || TOK_IN(o, k, know_words) ||
                           polarity_at(o, k, b, e, &n) != POL_NONE;
                }
                if (i + reach + 1 > negated_to)
                    negated_to = i + reach + 1;
                if (!acts && !negated)
                    no = true;
                i++;
                continue;
            }
            if (negated && TOK_IN(o, i, know_words))
                pol = POL_NONE;
            if (pol != POL_NONE) {
                if (negated)
                    pol = -pol;
                if (pol == POL_YES)
                    yes = true;
                else
                    no = true;
            }
            i += len;
        }
        b = e;
    }
    return no ? POL_NO : yes ? POL_YES : POL_NONE;
}

/* ------------------------------------------------------------------------ */
/* Reply building (sticky failure in o->oom)                                */
/* ------------------------------------------------------------------------ */

static void push_action(Ccai_offline *o, Ccai_offline_action_kind kind, const char *field,
                        char *text, bool expects)
{
    if (o->oom) {
        ccai_free(text);
        return;
    }
    if (o->nacts == o->capacts) {
        size_t cap = o->capacts ? o->capacts * 2 : 8;
        Ccai_offline_action *a = Ccai_realloc(o->acts, cap * sizeof *a);
        if (!a)
            goto nomem;
        o->acts = a;
        char **t = Ccai_realloc(o->texts, cap * sizeof *t);
        if (!t)
            goto nomem;
        o->texts = t;
        o->capacts = cap;
    }
    o->acts[o->nacts] = (Ccai_offline_action){kind, text, field, expects};
    o->texts[o->nacts] = text;
    o->nacts++;
    return;

nomem:
    ccai_free(text);
    o->oom = true;
}

/* Send the sentences gathered so far as one SAY. */
static void flush_say(Ccai_offline *o, bool expects)
{
    if (o->oom || o->say.len == 0)
        return;
    char *text = Ccai_buf_steal(&o->say);
    Ccai_buf_reset(&o->say);
    if (!text) {
        o->oom = true;
        return;
    }
    push_action(o, CCAI_OFFLINE_SAY, NULL, text, expects);
}

static void act(Ccai_offline *o, Ccai_offline_action_kind kind, const char *field, const char *text)
{
    flush_say(o, false);
    if (o->oom)
        return;
    char *copy = NULL;
    if (text && !(copy = Ccai_strdup(text))) {
        o->oom = true;
        return;
    }
    push_action(o, kind, field, copy, false);
}

/* Append a template with its "%s" replaced by a, then b. */
static void sentence2(Ccai_offline *o, const char *tmpl, const char *a, const char *b)
{
    if (o->oom)
        return;
    bool ok = o->say.len == 0 || Ccai_buf_puts(&o->say, " ");
    const char *args[2] = {a ? a : "", b ? b : ""};
    int k = 0;
    for (const char *p = tmpl; ok && *p;) {
        const char *pct = strstr(p, "%s");
        if (!pct) {
            ok = Ccai_buf_puts(&o->say, p);
            break;
        }
        ok = Ccai_buf_append(&o->say, p, (size_t)(pct - p)) &&
             Ccai_buf_puts(&o->say, k < 2 ? args[k] : "");
        k++;
        p = pct + 2;
    }
    if (!ok)
        o->oom = true;
}

static const char *phrase(const Ccai_offline *o, msg m)
{
    return phrases[o->st.lang][m];
}

static void say_msg(Ccai_offline *o, msg m)
{
    sentence2(o, phrase(o, m), NULL, NULL);
}

static void say_msg1(Ccai_offline *o, msg m, const char *a)
{
    sentence2(o, phrase(o, m), a, NULL);
}

static void say_msg2(Ccai_offline *o, msg m, const char *a, const char *b)
{
    sentence2(o, phrase(o, m), a, b);
}

static void free_reply(Ccai_offline *o)
{
    for (size_t i = 0; i < o->nacts; i++)
        ccai_free(o->texts[i]);
    o->nacts = 0;
    Ccai_buf_reset(&o->say);
}

/* ------------------------------------------------------------------------ */
/* Values and the turn transaction                                          */
/* ------------------------------------------------------------------------ */

static void set_value(Ccai_offline *o, size_t i, char *value)
{
    if (!o->undo_set[i]) {
        o->undo[i] = o->values[i];
        o->undo_set[i] = true;
    } else {
        ccai_free(o->values[i]);
    }
    o->values[i] = value;
}

static char *claim_to_json(const Ccai_offline *o)
{
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    char *out = NULL;
    for (size_t i = 0; i < o->nfields; i++) {
        if (o->values[i] && json_object_set_new(obj, o->f[i].name, json_string(o->values[i])))
            goto cleanup;
    }
    out = Ccai_json_dump(obj, JSON_COMPACT);
cleanup:
    json_decref(obj);
    return out;
}

static void turn_begin(Ccai_offline *o)
{
    free_reply(o);
    o->saved = o->st;
    o->oom = false;
    o->missed = false;
}

static ccai_status turn_end(Ccai_offline *o, const Ccai_offline_reply **ret)
{
    char *json = NULL;
    bool changed = false;
    for (size_t i = 0; i < o->nfields; i++)
        changed = changed || o->undo_set[i];
    if (!o->oom && changed && !(json = claim_to_json(o)))
        o->oom = true;
    if (o->oom) {
        free_reply(o);
        for (size_t i = 0; i < o->nfields; i++) {
            if (o->undo_set[i]) {
                ccai_free(o->values[i]);
                o->values[i] = o->undo[i];
                o->undo[i] = NULL;
                o->undo_set[i] = false;
            }
        }
        o->st = o->saved;
        o->oom = false;
        return CCAI_ERR_NOMEM;
    }
    for (size_t i = 0; i < o->nfields; i++) {
        if (o->undo_set[i]) {
            ccai_free(o->undo[i]);
            o->undo[i] = NULL;
            o->undo_set[i] = false;
        }
    }
    if (json) {
        ccai_free(o->claim_json);
        o->claim_json = json;
    }
    o->reply.v = o->acts;
    o->reply.n = o->nacts;
    *ret = &o->reply;
    return CCAI_OK;
}

/* ------------------------------------------------------------------------ */
/* Calendar                                                                 */
/* ------------------------------------------------------------------------ */

/* Monday is 0. 1970-01-01 was a Thursday. */
static int weekday(int64_t days)
{
    return (int)(((days + 3) % 7 + 7) % 7);
}

/* ------------------------------------------------------------------------ */
/* Spoken dates                                                             */
/* ------------------------------------------------------------------------ */

static const char *const month_words[] = {
    "january",   "february",  "march",    "april",    "may",        "june",    "july",
    "august",    "september", "october",  "november", "december",   "janvier", "fevrier",
    "mars",      "avril",     "mai",      "juin",     "juillet",    "aout",    "septembre",
    "octobre",   "novembre",  "decembre", "enero",    "febrero",    "marzo",   "abril",
    "mayo",      "junio",     "julio",    "agosto",   "septiembre", "octubre", "noviembre",
    "diciembre", "jan",       "feb",      "mar",      "apr",        "jun",     "jul",
    "aug",       "sep",       "oct",      "nov",      "dec"};

static int month_of(const Ccai_offline *o, size_t i)
{
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(month_words); k++) {
        if (tok_is(o, i, month_words[k])) {
            if (k < 36)
                return (int)(k % 12) + 1;
            static const int abbr[] = {1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12};
            return abbr[k - 36];
        }
    }
    return 0;
}

static const char *const weekday_words[] = {
    "monday", "tuesday", "wednesday", "thursday", "friday",   "saturday", "sunday",
    "lundi",  "mardi",   "mercredi",  "jeudi",    "vendredi", "samedi",   "dimanche",
    "lunes",  "martes",  "miercoles", "jueves",   "viernes",  "sabado",   "domingo"};

static int weekday_of(const Ccai_offline *o, size_t i)
{
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(weekday_words); k++) {
        if (tok_is(o, i, weekday_words[k]))
            return (int)(k % 7);
    }
    return -1;
}

/* Leading decimal digits of a token (at most 4) and where they stop. */
static int tok_number(const Ccai_offline *o, size_t i, size_t *ret_digits)
{
    const char *t = o->norm + o->tok[i].start;
    size_t n = 0;
    int v = 0;
    while (n < o->tok[i].len && is_digit_ch(t[n]) && n < 5) {
        v = v * 10 + (t[n] - '0');
        n++;
    }
    *ret_digits = n;
    return n > 4 ? -1 : v;
}

/* A day of the month: "8", "8th", "1st", "1er", "premier", "first". */
static int day_of(const Ccai_offline *o, size_t i)
{
    if (i >= o->ntok || o->used[i])
        return 0;
    if (tok_is(o, i, "first") || tok_is(o, i, "premier") || tok_is(o, i, "primero"))
        return 1;
    size_t nd;
    int v = tok_number(o, i, &nd);
    if (nd == 0 || nd > 2 || v < 1 || v > 31)
        return 0;
    static const char *const suffixes[] = {"", "st", "nd", "rd", "th", "er", "re", "e", "eme", "o"};
    const char *sfx = o->norm + o->tok[i].start + nd;
    return in_list(sfx, o->tok[i].len - nd, suffixes, CCAI_ARRAY_SIZE(suffixes)) ? v : 0;
}

static int hour_word(const Ccai_offline *o, size_t i)
{
    static const char *const words[] = {
        "one",    "two",    "three",  "four",  "five", "six",   "seven",  "eight", "nine",
        "ten",    "eleven", "twelve", "une",   "deux", "trois", "quatre", "cinq",  "six",
        "sept",   "huit",   "neuf",   "dix",   "onze", "douze", "una",    "dos",   "tres",
        "cuatro", "cinco",  "seis",   "siete", "ocho", "nueve", "diez",   "once",  "doce"};
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(words); k++) {
        if (tok_is(o, i, words[k]))
            return k < 12 ? (int)k + 1 : k < 24 ? (int)k - 11 : (int)k - 23;
    }
    return -1;
}

typedef struct dt_parse {
    int day, month, year; /* 0 when not said */
    bool have_rel;
    int rel;
    int wday;         /* -1 */
    int hour, minute; /* -1 */
    int part_hour;    /* -1 */
    int meridiem;     /* 0, 1 am, 2 pm */
    bool night;
} dt_parse;

static bool hour_marker(const Ccai_offline *o, size_t i)
{
    static const char *const words[] = {"h", "heure", "heures", "hour",  "hours", "hr",
                                        "o", "pm",    "am",     "horas", "hs",    "hrs"};
    return TOK_IN(o, i, words) || (tok_is(o, i, "p") && tok_is(o, i + 1, "m")) ||
           (tok_is(o, i, "a") && tok_is(o, i + 1, "m"));
}

static bool hour_lead(const Ccai_offline *o, size_t i)
{
    static const char *const words[] = {"at", "a",  "vers",   "around",  "about",   "las",
                                        "la", "by", "toward", "towards", "environ", "sobre"};
    return i > 0 && TOK_IN(o, i - 1, words);
}

/* "14:30", "14h30", "14h", "2pm", "2:30pm", "9.15" (after a lead word). */
static bool parse_clock(const Ccai_offline *o, size_t i, dt_parse *p)
{
    const char *t = o->norm + o->tok[i].start;
    size_t len = o->tok[i].len, nd;
    int h = tok_number(o, i, &nd);
    if (nd == 0 || nd > 2)
        return false;
    int m = 0;
    size_t k = nd;
    if (k < len && (t[k] == ':' || t[k] == 'h' || (t[k] == '.' && hour_lead(o, i)))) {
        char sep = t[k++];
        size_t m0 = k;
        while (k < len && is_digit_ch(t[k]) && k - m0 < 3)
            m = m * 10 + (t[k++] - '0');
        if (k - m0 != 2 && !(sep == 'h' && k == m0))
            return false;
    } else if (k == len) {
        return false;
    }
    int mer = 0;
    if (k + 2 == len && memcmp(t + k, "pm", 2) == 0)
        mer = 2, k += 2;
    else if (k + 2 == len && memcmp(t + k, "am", 2) == 0)
        mer = 1, k += 2;
    if (k != len || h > 24 || m > 59)
        return false;
    p->hour = h;
    p->minute = m;
    if (mer)
        p->meridiem = mer;
    return true;
}

/* Dates written with digits: "2024-10-08", "08/10/2024", "8/10", "8.10.2024". */
static bool parse_numeric_date(const Ccai_offline *o, size_t i, dt_parse *p)
{
    const char *t = o->norm + o->tok[i].start;
    size_t len = o->tok[i].len;
    int part[3] = {0, 0, 0};
    size_t digits[3] = {0, 0, 0}, np = 0;
    char sep = 0;
    for (size_t k = 0; k < len; k++) {
        if (is_digit_ch(t[k])) {
            if (digits[np] >= 4)
                return false;
            part[np] = part[np] * 10 + (t[k] - '0');
            digits[np]++;
        } else if ((t[k] == '-' || t[k] == '/' || t[k] == '.') && (!sep || sep == t[k]) && np < 2) {
            sep = t[k];
            np++;
        } else {
            return false;
        }
    }
    if (!sep || np == 0)
        return false;
    if (digits[0] == 4 && np == 2) {
        p->year = part[0];
        p->month = part[1];
        p->day = part[2];
        return true;
    }
    if (digits[0] > 2 || digits[1] > 2 || (np == 2 && digits[2] != 4 && digits[2] != 2))
        return false;
    p->day = part[0];
    p->month = part[1];
    if (np == 2)
        p->year = digits[2] == 2 ? 2000 + part[2] : part[2];
    return true;
}

static bool is_year(const Ccai_offline *o, size_t i)
{
    size_t nd;
    if (i >= o->ntok || o->used[i])
        return false;
    int v = tok_number(o, i, &nd);
    return nd == 4 && nd == o->tok[i].len && v >= 1900 && v <= 2200;
}

/* Day, month and year around month names: "8 octobre 2024", "October 8th,
 * 2024", "el 8 de octubre de 2024", "the 8th of October". */
static void parse_month_names(Ccai_offline *o, dt_parse *p)
{
    for (size_t i = 0; i < o->ntok; i++) {
        int m = month_of(o, i);
        if (!m || p->month)
            continue;
        p->month = m;
        o->used[i] = true;
        size_t before = i;
        if (before > 0 && (tok_is(o, before - 1, "of") || tok_is(o, before - 1, "de")))
            before--;
        int d = before > 0 ? day_of(o, before - 1) : 0;
        size_t next = i + 1;
        if (d) {
            o->used[before - 1] = true;
        } else if ((d = day_of(o, i + 1)) != 0) {
            o->used[i + 1] = true;
            next = i + 2;
        }
        p->day = d;
        if (tok_is(o, next, "de") || tok_is(o, next, "of"))
            next++;
        if (is_year(o, next)) {
            size_t nd;
            p->year = tok_number(o, next, &nd);
            o->used[next] = true;
        }
    }
}

static void parse_words(Ccai_offline *o, dt_parse *p)
{
    for (size_t i = 0; i < o->ntok; i++) {
        if (o->used[i])
            continue;
        int wd = weekday_of(o, i);
        if (wd >= 0) {
            p->wday = wd;
        } else if (tok_is(o, i, "today") || tok_is(o, i, "aujourd") || tok_is(o, i, "hoy")) {
            p->have_rel = true;
            p->rel = 0;
        } else if (tok_is(o, i, "yesterday") || tok_is(o, i, "hier") || tok_is(o, i, "ayer")) {
            p->have_rel = true;
            p->rel = (tok_is(o, i - 1, "avant") || tok_is(o, i - 1, "before")) && i > 0 ? -2 : -1;
        } else if (tok_is(o, i, "anteayer")) {
            p->have_rel = true;
            p->rel = -2;
        } else if (tok_is(o, i, "anoche")) {
            p->have_rel = true;
            p->rel = -1;
            p->part_hour = 23;
            p->meridiem = 2;
        } else if (tok_is(o, i, "tonight")) {
            p->part_hour = 20;
            p->meridiem = 2;
        } else if (tok_is(o, i, "night") || tok_is(o, i, "nuit") || tok_is(o, i, "noche")) {
            p->night = true;
            p->part_hour = 23;
            p->meridiem = 2;
        } else if (tok_is(o, i, "morning") || tok_is(o, i, "matin") || tok_is(o, i, "matinee") ||
                   (tok_is(o, i, "manana") && i > 0 && tok_is(o, i - 1, "la"))) {
            p->part_hour = 9;
            p->meridiem = 1;
        } else if (tok_is(o, i, "afternoon") || tok_is(o, i, "tarde") ||
                   (tok_is(o, i, "midi") && i > 0 && tok_is(o, i - 1, "apres"))) {
            p->part_hour = 15;
            p->meridiem = 2;
        } else if (tok_is(o, i, "evening") || tok_is(o, i, "soir") || tok_is(o, i, "soiree")) {
            p->part_hour = 20;
            p->meridiem = 2;
        } else if (tok_is(o, i, "noon") || tok_is(o, i, "midday") || tok_is(o, i, "midi") ||
                   tok_is(o, i, "mediodia")) {
            if (p->hour < 0)
                p->hour = 12, p->minute = 0;
        } else if (tok_is(o, i, "midnight") || tok_is(o, i, "minuit") ||
                   tok_is(o, i, "medianoche")) {
            if (p->hour < 0)
                p->hour = 0, p->minute = 0;
        } else if (tok_is(o, i, "pm") || (tok_is(o, i, "p") && tok_is(o, i + 1, "m"))) {
            p->meridiem = 2;
        } else if (tok_is(o, i, "am") ||
                   (tok_is(o, i, "a") && tok_is(o, i + 1, "m") && i > 0 && p->hour >= 0)) {
            p->meridiem = 1;
        } else if (tok_is(o, i, "demie") || tok_is(o, i, "half") || tok_is(o, i, "media")) {
            if (p->hour >= 0 && p->minute <= 0)
                p->minute = 30;
        } else if (tok_is(o, i, "quart") || tok_is(o, i, "quarter") || tok_is(o, i, "cuarto")) {
            if (p->hour >= 0 && p->minute <= 0)
                p->minute = 15;
        } else if (parse_numeric_date(o, i, p) || parse_clock(o, i, p)) {
            o->used[i] = true;
        } else if (is_year(o, i) && !p->year) {
            size_t nd;
            p->year = tok_number(o, i, &nd);
        } else {
            size_t nd;
            int v = tok_number(o, i, &nd);
            if (nd != o->tok[i].len || nd > 2)
                v = hour_word(o, i);
            if (v < 0 || v > 24 || p->hour >= 0 || !(hour_marker(o, i + 1) || hour_lead(o, i)))
                continue;
            p->hour = v;
            p->minute = 0;
            /* "14 h 30", "14 heures 30", "2 30 pm" */
            size_t k = i + 1;
            if (tok_is(o, k, "h") || tok_is(o, k, "heure") || tok_is(o, k, "heures"))
                k++;
            int mins = k < o->ntok ? tok_number(o, k, &nd) : -1;
            if (k < o->ntok && nd == o->tok[k].len && nd == 2 && mins >= 0 && mins < 60) {
                p->minute = mins;
                o->used[k] = true;
            }
        }
    }
}

typedef enum dt_result { DT_FAIL, DT_DATE, DT_FULL } dt_result;

/* Parse a spoken date into "YYYY-MM-DD HH:MM" (DT_FULL) or a day number
 * (DT_DATE: no time said). With @p base_day >= INT64_MIN + 1, a time alone
 * applies to that day (the answer to "and at what time?"). */
static dt_result parse_spoken_date(Ccai_offline *o, bool have_base, int64_t base_day, char out[64],
                                   int64_t *ret_day)
{
    dt_parse p = {0, 0, 0, false, 0, -1, -1, -1, -1, 0, false};
    memset(o->used, 0, o->ntok * sizeof o->used[0]);
    parse_month_names(o, &p);
    parse_words(o, &p);

    int64_t y = 0;
    int m = 0, d = 0;
    int64_t day;
    bool date_said = true;
    Ccai_civil_from_days(o->today, &y, &m, &d);
    if (p.month && p.day) {
        int64_t year = p.year ? p.year : y;
        if (!p.year && p.month >= 1 && p.month <= 12 &&
            Ccai_days_from_civil(year, p.month, p.day) > o->today)
            year--;
        y = year;
        m = p.month;
        d = p.day;
        if (m < 1 || m > 12 || d < 1 || d > 31 || y < 1900 || y > 2200) {
            snprintf(out, 64, "%04d-%02d-%02d", (int)(y % 10000), m % 100, d % 100);
            return DT_FULL; /* let the validator refuse it */
        }
        day = Ccai_days_from_civil(y, m, d);
        /* 31 February: keep the numbers for the validator's message. */
        int64_t yy;
        int mm, dd;
        Ccai_civil_from_days(day, &yy, &mm, &dd);
        if (mm != m) {
            snprintf(out, 64, "%04d-%02d-%02d", (int)y, m, d);
            return DT_FULL;
        }
    } else if (p.have_rel) {
        day = o->today + p.rel;
    } else if (p.wday >= 0) {
        day = o->today - (weekday(o->today) - p.wday + 7) % 7;
    } else if (p.night) {
        day = have_base ? base_day : o->today - 1;
    } else if (p.hour >= 0 || p.part_hour >= 0) {
        date_said = false;
        day = have_base ? base_day : o->today;
    } else {
        return DT_FAIL;
    }

    int hour = p.hour >= 0 ? p.hour : p.part_hour;
    int minute = p.hour >= 0 ? p.minute : 0;
    if (hour >= 0 && p.hour >= 0 && p.meridiem == 2 && hour < 12)
        hour += 12;
    else if (hour == 12 && p.hour >= 0 && p.meridiem == 1)
        hour = 0;
    if (hour == 24)
        hour = 0, day++;
    if (!date_said && !have_base && hour >= 0 && hour * 60 + minute > o->now_minute)
        day--;

    if (hour < 0) {
        *ret_day = day;
        return DT_DATE;
    }
    Ccai_civil_from_days(day, &y, &m, &d);
    snprintf(out, 64, "%04d-%02d-%02d %02d:%02d", (int)y, m, d, hour, minute < 0 ? 0 : minute);
    return DT_FULL;
}

/* ------------------------------------------------------------------------ */
/* Spoken phone numbers and email addresses                                 */
/* ------------------------------------------------------------------------ */

static int unit_word(const Ccai_offline *o, size_t i)
{
    static const char *const words[] = {
        "zero",  "one",  "two",   "three", "four",  "five",   "six",    "seven", "eight",
        "nine",  "zero", "un",    "deux",  "trois", "quatre", "cinq",   "six",   "sept",
        "huit",  "neuf", "cero",  "uno",   "dos",   "tres",   "cuatro", "cinco", "seis",
        "siete", "ocho", "nueve", "oh",    "une",   "una"};
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(words); k++) {
        if (tok_is(o, i, words[k]))
            return k < 30 ? (int)(k % 10) : k == 30 ? 0 : 1;
    }
    return -1;
}

static int teen_word(const Ccai_offline *o, size_t i)
{
    static const char *const words[] = {
        "ten",       "eleven",   "twelve",    "thirteen",   "fourteen",  "fifteen",   "sixteen",
        "seventeen", "eighteen", "nineteen",  "dix",        "onze",      "douze",     "treize",
        "quatorze",  "quinze",   "seize",     "diez",       "once",      "doce",      "trece",
        "catorce",   "quince",   "dieciseis", "diecisiete", "dieciocho", "diecinueve"};
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(words); k++) {
        if (tok_is(o, i, words[k]))
            return k < 10 ? 10 + (int)k : k < 17 ? (int)k : (int)k - 7;
    }
    return -1;
}

static int tens_word(const Ccai_offline *o, size_t i)
{
    static const char *const words[] = {
        "twenty",   "thirty",  "forty",   "fifty",    "sixty",     "seventy",   "eighty",
        "ninety",   "vingt",   "trente",  "quarante", "cinquante", "soixante",  "septante",
        "huitante", "nonante", "veinte",  "treinta",  "cuarenta",  "cincuenta", "sesenta",
        "setenta",  "ochenta", "noventa", "octante"};
    static const int values[] = {20, 30, 40, 50, 60, 70, 80, 90, 20, 30, 40, 50, 60,
                                 70, 80, 90, 20, 30, 40, 50, 60, 70, 80, 90, 80};
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(words); k++) {
        if (tok_is(o, i, words[k]))
            return values[k];
    }
    return -1;
}

/* A number from 0 to 99 said in words starting at token *i, advancing *i;
 * -1 when token *i is no number word. Handles "trente-quatre", "vingt et
 * un", "soixante-dix-huit", "quatre-vingt-douze", "thirty four",
 * "treinta y cuatro", "veintiuno". */
static int number_words(const Ccai_offline *o, size_t *i)
{
    size_t k = *i;
    int v;
    if (tok_is(o, k, "quatre") && (tok_is(o, k + 1, "vingt") || tok_is(o, k + 1, "vingts"))) {
        v = 80;
        k += 2;
    } else if ((v = tens_word(o, k)) >= 0) {
        k++;
    } else if ((v = teen_word(o, k)) >= 0) {
        k++;
        int u;
        if (v == 10 && (u = unit_word(o, k)) >= 7) {
            v += u;
            k++;
        }
        *i = k;
        return v;
    } else if (o->tok[k].len > 5 && memcmp(o->norm + o->tok[k].start, "veinti", 6) == 0) {
        static const char *const u[] = {"uno",  "dos",   "tres", "cuatro", "cinco",
                                        "seis", "siete", "ocho", "nueve"};
        const char *t = o->norm + o->tok[k].start + 6;
        if (!in_list(t, o->tok[k].len - 6, u, CCAI_ARRAY_SIZE(u)))
            return -1;
        for (size_t n = 0; n < CCAI_ARRAY_SIZE(u); n++) {
            if (strlen(u[n]) == (size_t)o->tok[k].len - 6 &&
                memcmp(u[n], t, (size_t)o->tok[k].len - 6) == 0)
                v = 21 + (int)n;
        }
        *i = k + 1;
        return v;
    } else if ((v = unit_word(o, k)) >= 0) {
        *i = k + 1;
        return v;
    } else {
        return -1;
    }
    /* After tens: "et un", "y cuatro", a unit, or (60, 80) a teen. */
    size_t j = k;
    if (tok_is(o, j, "et") || tok_is(o, j, "y") || tok_is(o, j, "and"))
        j++;
    int u;
    if ((v == 60 || v == 80) && (u = teen_word(o, j)) >= 0) {
        j++;
        int u2;
        if (u == 10 && (u2 = unit_word(o, j)) >= 7) {
            u += u2;
            j++;
        }
        v += u;
        k = j;
    } else if ((u = unit_word(o, j)) >= 1) {
        v += u;
        k = j + 1;
    }
    *i = k;
    return v;
}

typedef struct region_rule {
    const char *region; /* upper case, from "fr-FR" */
    const char *cc;
    unsigned national_len; /* digits with the trunk 0, 0 when no trunk prefix */
    unsigned plain_len;    /* digits without trunk prefix (ES, US) */
} region_rule;

/* National numbers said without country code, for the caller's region. */
static const region_rule regions[] = {{"FR", "33", 10, 0}, {"BE", "32", 10, 0}, {"CH", "41", 10, 0},
                                      {"GB", "44", 11, 0}, {"DE", "49", 11, 0}, {"ES", "34", 0, 9},
                                      {"US", "1", 0, 10},  {"CA", "1", 0, 10}};

typedef enum phone_reason { PH_OK, PH_NONE, PH_COUNTRY, PH_SHORT, PH_LONG } phone_reason;

/* The digits said, with a "+" when one was said; a national number gets
 * the country code of the call's region. */
static phone_reason spoken_phone(Ccai_offline *o, const char *region, char *out, size_t cap)
{
    char digits[PHONE_DIGITS_MAX + 1];
    size_t nd = 0;
    bool plus = false, overflow = false;
    for (size_t i = 0; i < o->ntok;) {
        size_t rep = 1;
        if (nd == 0 && (tok_is(o, i, "+") || tok_is(o, i, "plus") || tok_is(o, i, "mas"))) {
            plus = true;
            i++;
            continue;
        }
        if (tok_is(o, i, "double") || tok_is(o, i, "doble"))
            rep = 2, i++;
        else if (tok_is(o, i, "triple"))
            rep = 3, i++;
        if (i >= o->ntok)
            break;
        const char *t = o->norm + o->tok[i].start;
        size_t len = o->tok[i].len;
        char piece[8];
        size_t np = 0;
        if (is_digit_ch(t[0])) {
            for (size_t r = 0; r < rep; r++) {
                for (size_t k = 0; k < len; k++) {
                    if (!is_digit_ch(t[k]))
                        continue;
                    if (nd < PHONE_DIGITS_MAX)
                        digits[nd++] = t[k];
                    else
                        overflow = true;
                }
            }
            i++;
            continue;
        }
        int v = number_words(o, &i);
        if (v < 0) {
            i++;
            continue;
        }
        if (v >= 10 && rep == 1)
            np = (size_t)snprintf(piece, sizeof piece, "%02d", v);
        else
            for (size_t r = 0; r < rep && np < 6; r++)
                np += (size_t)snprintf(piece + np, sizeof piece - np, "%d", v);
        for (size_t k = 0; k < np; k++) {
            if (nd < PHONE_DIGITS_MAX)
                digits[nd++] = piece[k];
            else
                overflow = true;
        }
    }
    digits[nd] = '\0';
    if (nd == 0)
        return PH_NONE;
    if (overflow)
        return PH_LONG;
    if (plus || (nd >= 2 && digits[0] == '0' && digits[1] == '0')) {
        snprintf(out, cap, "%s%s", plus ? "+" : "", digits);
        return PH_OK;
    }
    for (size_t r = 0; region && r < CCAI_ARRAY_SIZE(regions); r++) {
        if (Ccai_strcasecmp(region, regions[r].region) != 0)
            continue;
        if (regions[r].national_len && nd == regions[r].national_len && digits[0] == '0') {
            snprintf(out, cap, "+%s%s", regions[r].cc, digits + 1);
            return PH_OK;
        }
        if (regions[r].plain_len && nd == regions[r].plain_len && digits[0] != '0' &&
            digits[0] != '1') {
            snprintf(out, cap, "+%s%s", regions[r].cc, digits);
            return PH_OK;
        }
    }
    if (nd < 8)
        return PH_SHORT;
    return PH_COUNTRY;
}

static bool email_stop(const char *w, size_t n)
{
    static const char *const stop[] = {
        "my",    "email",    "e-mail", "mail",   "address", "is",          "it",
        "its",   "it's",     "the",    "mon",    "ma",      "adresse",     "est",
        "c'est", "courriel", "mi",     "correo", "es",      "electronico", "electrónico",
        "son",   "sa",       "his",    "her",    "c",       "spelled",     "please"};
    return in_list(w, n, stop, CCAI_ARRAY_SIZE(stop));
}

static bool email_join(const email_item *a, const email_item *b)
{
    return a->len == 1 || b->len == 1 || Ccai_is_digit((unsigned char)a->w[0]) ||
           Ccai_is_digit((unsigned char)b->w[0]);
}

/* "john dot doe at example dot com" -> "john.doe@example.com". Words are
 * lower-cased; accents and other characters an address cannot hold are
 * dropped. Writes "" when there is no "at". */
static void spoken_email(Ccai_offline *o, char *out, size_t cap)
{
    email_item *items = o->email_items;
    char *scratch = o->email_words;
    size_t n = 0, s = 0;
    const unsigned char *r = (const unsigned char *)o->raw;
    size_t rlen = strlen(o->raw);
    out[0] = '\0';
    for (size_t i = 0; r[i];) {
        while (r[i] && (Ccai_is_space(r[i]) || r[i] == ','))
            i++;
        if (!r[i])
            break;
        size_t w0 = s;
        while (r[i] && !Ccai_is_space(r[i]) && r[i] != ',') {
            uint32_t cp = '?';
            size_t k = utf8_next(r + i, rlen - i, &cp);
            if (k == 0)
                k = 1;
            char c = 0;
            if (cp < 0x80 &&
                (Ccai_is_alpha((int)cp) || Ccai_is_digit((int)cp) || strchr("@._-+'", (int)cp)))
                c = (char)Ccai_to_lower((int)cp);
            else if (cp >= 0xC0 && cp <= 0xFF && latin1_fold[cp - 0xC0] != ' ')
                c = latin1_fold[cp - 0xC0];
            if (c)
                scratch[s++] = c;
            i += k;
        }
        while (s > w0 && (scratch[s - 1] == '.' || scratch[s - 1] == '\''))
            s--;
        if (s == w0)
            continue;
        const char *w = scratch + w0;
        size_t len = s - w0;
        static const char *const at[] = {"at", "@", "arobase", "arrobase", "arroba", "arobas"};
        static const char *const dot[] = {"dot", ".", "point", "punto", "period"};
        static const char *const dash[] = {"dash", "hyphen", "-", "tiret", "minus", "guion"};
        static const char *const under[] = {"underscore", "_"};
        char c = 0;
        if (in_list(w, len, at, CCAI_ARRAY_SIZE(at)))
            c = '@';
        else if (in_list(w, len, dot, CCAI_ARRAY_SIZE(dot)))
            c = '.';
        else if (in_list(w, len, under, CCAI_ARRAY_SIZE(under)))
            c = '_';
        else if (in_list(w, len, dash, CCAI_ARRAY_SIZE(dash)))
            c = '-';
        /* "tiret bas", "guion bajo" */
        if (n > 0 && items[n - 1].c == '-' &&
            ((len == 3 && memcmp(w, "bas", 3) == 0) || (len == 4 && memcmp(w, "bajo", 4) == 0))) {
            items[n - 1].c = '_';
            continue;
        }
        items[n++] = (email_item){c, w, len};
    }

    size_t at_i = n;
    for (size_t i = 0; i < n; i++) {
        if (items[i].c == '@' || (!items[i].c && memchr(items[i].w, '@', items[i].len))) {
            at_i = i;
            break;
        }
    }
    if (at_i == n)
        return;
    if (!items[at_i].c) { /* a literal address: take the word as it is */
        snprintf(out, cap, "%.*s", (int)items[at_i].len, items[at_i].w);
        return;
    }
    /* Local part: walk back while words are linked by connectors. */
    size_t b = at_i;
    while (b > 0) {
        const email_item *prev = &items[b - 1];
        if (prev->c == '@')
            break;
        if (prev->c) {
            if (b - 1 == 0 || items[b - 2].c || b == at_i ||
                email_stop(items[b - 2].w, items[b - 2].len))
                break;
            b -= 2;
            continue;
        }
        if (email_stop(prev->w, prev->len))
            break;
        if (b == at_i || email_join(prev, &items[b]))
            b--;
        else
            break;
    }
    /* Domain: walk forward the same way. */
    size_t e = at_i + 1;
    while (e < n) {
        const email_item *it = &items[e];
        if (it->c == '@' || (it->c == '_'))
            break;
        if (it->c) {
            if (e + 1 >= n || items[e + 1].c || e == at_i + 1)
                break;
            e += 2;
            continue;
        }
        if (e == at_i + 1 || email_join(&items[e - 1], it))
            e++;
        else
            break;
    }
    size_t o_len = 0;
    for (size_t i = b; i < e && o_len + 1 < cap; i++) {
        if (items[i].c) {
            out[o_len++] = items[i].c;
        } else {
            size_t k = items[i].len < cap - 1 - o_len ? items[i].len : cap - 1 - o_len;
            memcpy(out + o_len, items[i].w, k);
            o_len += k;
        }
    }
    out[o_len] = '\0';
}

/* ------------------------------------------------------------------------ */
/* Speaking values and labels                                               */
/* ------------------------------------------------------------------------ */

static void append_label(Ccai_offline *o, Ccai_buf *b, size_t i, bool capital)
{
    const offline_field *f = &o->f[i];
    const char *label;
    char *tmp = NULL;
    if (f->known >= 0) {
        label = known_fields[f->known].label[o->st.lang];
    } else if (f->desc) {
        label = f->desc;
    } else {
        if (!(tmp = Ccai_strdup(f->name))) {
            o->oom = true;
            return;
        }
        for (char *p = tmp; *p; p++)
            if (*p == '_')
                *p = ' ';
        label = tmp;
    }
    size_t len = strlen(label);
    while (len > 0 && (label[len - 1] == '.' || Ccai_is_space((unsigned char)label[len - 1])))
        len--;
    /* English questions put "the" before it: lower-case a capital that
     * starts a word ("Date of birth"), not an acronym ("VIN"). */
    char first = label[0];
    if (capital)
        first = (char)(Ccai_is_alpha((unsigned char)first) && first >= 'a' ? first - 32 : first);
    else if (o->st.lang == L_EN && first >= 'A' && first <= 'Z' && len > 1 && label[1] >= 'a' &&
             label[1] <= 'z')
        first = (char)(first + 32);
    if (len > 0 && (!Ccai_buf_append(b, &first, 1) || !Ccai_buf_append(b, label + 1, len - 1)))
        o->oom = true;
    ccai_free(tmp);
}

/* A label as a NUL-terminated string, or NULL on NOMEM (o->oom set). */
static char *label_str(Ccai_offline *o, size_t i, bool capital)
{
    Ccai_buf b = {0};
    append_label(o, &b, i, capital);
    char *s = o->oom ? NULL : Ccai_buf_steal(&b);
    Ccai_buf_free(&b);
    if (!s)
        o->oom = true;
    return s;
}

/* The field as a noun phrase for "I could not note %s": "the date of the
 * incident", "la date de l'incident", "l'information « plaque »". NULL on
 * NOMEM (o->oom set). */
static char *field_np(Ccai_offline *o, size_t i)
{
    char *label = label_str(o, i, false);
    if (!label)
        return NULL;
    char *np;
    if (o->st.lang == L_EN)
        np = Ccai_asprintf("the %s", label);
    else if (o->f[i].known >= 0)
        np = Ccai_strdup(label);
    else if (o->st.lang == L_FR)
        np = Ccai_asprintf("l'information « %s »", label);
    else
        np = Ccai_asprintf("el dato «%s»", label);
    ccai_free(label);
    if (!np)
        o->oom = true;
    return np;
}

/* A value as it is read back: dates in words, phone digits one by one. */
static char *spoken_value(Ccai_offline *o, size_t i)
{
    const char *v = o->values[i];
    char *out = NULL;
    int y, mo, d, h, mi;
    if (o->f[i].type == CCAI_FIELD_DATETIME &&
        sscanf(v, "%4d-%2d-%2dT%2d:%2d", &y, &mo, &d, &h, &mi) == 5 && mo >= 1 && mo <= 12) {
        char ds[8], ys[8], hs[8], ms[8];
        snprintf(ds, sizeof ds, "%d", d);
        snprintf(ys, sizeof ys, "%d", y);
        snprintf(hs, sizeof hs, "%02d", h);
        snprintf(ms, sizeof ms, "%02d", mi);
        const char *month = month_names[o->st.lang][mo - 1];
        Ccai_buf b = {0};
        const char *tmpl = phrase(o, M_DATE_AT);
        const char *args[5] = {ds, month, ys, hs, ms};
        bool ok = true;
        int k = 0;
        /* Midnight is what a date without time becomes: say the date only. */
        size_t stop = (h == 0 && mi == 0) ? 3 : 5;
        for (const char *p = tmpl; ok && *p;) {
            const char *pct = strstr(p, "%s");
            if (!pct || (size_t)k == stop) {
                if ((size_t)k < stop)
                    ok = Ccai_buf_puts(&b, p);
                break;
            }
            ok = Ccai_buf_append(&b, p, (size_t)(pct - p)) && Ccai_buf_puts(&b, args[k]);
            k++;
            p = pct + 2;
        }
        out = ok ? Ccai_buf_steal(&b) : NULL;
        Ccai_buf_free(&b);
    } else if (o->f[i].type == CCAI_FIELD_PHONE_NUMBER) {
        size_t len = strlen(v);
        out = Ccai_malloc(2 * len + 1);
        if (out) {
            size_t k = 0;
            for (size_t j = 0; j < len; j++) {
                if (k > 0)
                    out[k++] = ' ';
                out[k++] = v[j];
            }
            out[k] = '\0';
        }
    } else {
        out = Ccai_strdup(v);
        /* "Noted: fell off the stairs.." */
        size_t len = out ? strlen(out) : 0;
        while (len > 0 && (out[len - 1] == '.' || out[len - 1] == '!'))
            out[--len] = '\0';
    }
    if (!out)
        o->oom = true;
    return out;
}

static void ask_question(Ccai_offline *o, size_t i, bool hint)
{
    if (o->st.pending_date) {
        say_msg(o, M_ASK_TIME);
        if (hint)
            say_msg(o, M_HINT_TIME);
        return;
    }
    char *label = label_str(o, i, false);
    if (!label)
        return;
    say_msg1(o, o->f[i].known >= 0 ? M_ASK_LABEL : M_ASK_CUSTOM, label);
    ccai_free(label);
    if (!hint)
        return;
    switch (o->f[i].type) {
    case CCAI_FIELD_DATETIME: say_msg(o, M_HINT_DATETIME); break;
    case CCAI_FIELD_EMAIL: say_msg(o, M_HINT_EMAIL); break;
    case CCAI_FIELD_PHONE_NUMBER: say_msg(o, M_HINT_PHONE); break;
    case CCAI_FIELD_TEXT: break;
    }
}

static bool anything_noted(const Ccai_offline *o)
{
    for (size_t i = 0; i < o->nfields; i++) {
        if (o->values[i])
            return true;
    }
    return false;
}

/* The values noted, one sentence each, then the fields still missing. */
static void say_summary(Ccai_offline *o, msg intro, bool missing)
{
    say_msg(o, intro);
    for (size_t i = 0; i < o->nfields && !o->oom; i++) {
        if (!o->values[i])
            continue;
        char *label = label_str(o, i, true);
        char *value = label ? spoken_value(o, i) : NULL;
        if (value)
            say_msg2(o, M_SUMMARY_LINE, label, value);
        ccai_free(label);
        ccai_free(value);
    }
    if (!missing)
        return;
    Ccai_buf b = {0};
    for (size_t i = 0; i < o->nfields && !o->oom; i++) {
        if (o->values[i])
            continue;
        if (b.len && !Ccai_buf_puts(&b, ", "))
            o->oom = true;
        append_label(o, &b, i, false);
    }
    if (b.len)
        say_msg1(o, M_MISSING, b.data);
    Ccai_buf_free(&b);
}

/* ------------------------------------------------------------------------ */
/* The form-interpretation algorithm                                        */
/* ------------------------------------------------------------------------ */

static size_t next_field(const Ccai_offline *o)
{
    for (size_t i = 0; i < o->nfields; i++) {
        if (!o->values[i] && o->st.skip[i] == SKIP_NONE)
            return i;
    }
    return o->nfields;
}

static void end_call(Ccai_offline *o, Ccai_offline_action_kind kind)
{
    act(o, kind, NULL, NULL);
    o->st.phase = PH_ENDED;
}

/* The claim cannot be confirmed (unclear answers, or corrections without
 * end): an advisor takes over when there is one, else the claim is kept
 * as it is. Either way the caller hears why. */
static void give_up_confirm(Ccai_offline *o)
{
    say_msg(o, o->can_transfer ? M_CONFIRM_HANDOVER : M_CONFIRM_AS_IS);
    flush_say(o, false);
    end_call(o, o->can_transfer ? CCAI_OFFLINE_TRANSFER : CCAI_OFFLINE_HANGUP);
}

static void go_confirm(Ccai_offline *o)
{
    o->st.phase = PH_CONFIRM;
    o->st.editing = false;
    o->st.pending_date = false;
    o->st.confirm_tries = 0;
    if (++o->st.confirm_rounds > CCAI_OFFLINE_CONFIRM_ROUNDS) {
        give_up_confirm(o);
        return;
    }
    say_summary(o, anything_noted(o) ? M_SUMMARY : M_SUMMARY_EMPTY, true);
    flush_say(o, false);
    say_msg(o, M_CONFIRM_ASK);
}

static void ask_field(Ccai_offline *o, size_t i)
{
    o->st.phase = PH_ASK;
    o->st.cur = i;
    o->st.pending_date = false;
    ask_question(o, i, true);
}

/* Move on after the current field was answered or skipped. */
static void advance(Ccai_offline *o)
{
    if (o->st.editing) {
        flush_say(o, false);
        go_confirm(o);
        return;
    }
    size_t i = next_field(o);
    if (i == o->nfields && !o->st.second_pass) {
        bool any = false;
        for (size_t k = 0; k < o->nfields; k++) {
            if (o->st.skip[k] == SKIP_ONCE && !o->values[k]) {
                o->st.skip[k] = SKIP_NONE;
                o->st.tries[k] = 0;
                any = true;
            }
        }
        o->st.second_pass = true;
        if (any) {
            say_msg(o, M_BACK_TO_SKIPPED);
            i = next_field(o);
        }
    }
    if (i < o->nfields) {
        ask_field(o, i);
        return;
    }
    flush_say(o, false);
    go_confirm(o);
}

/* Leave the current field: asked again once at the end when it is the
 * first time (not while editing from the confirmation). @p failed: the
 * answers could not be used (else the caller asked to skip it), which the
 * caller is told. */
static void skip_current(Ccai_offline *o, bool failed)
{
    size_t i = o->st.cur;
    bool later = !o->st.second_pass && !o->st.editing;
    if (!o->st.editing)
        o->st.skip[i] = later ? SKIP_ONCE : SKIP_FINAL;
    if (failed) {
        char *np = field_np(o, i);
        if (np)
            say_msg1(o, later ? M_GIVE_UP_LATER : M_GIVE_UP_MOVE_ON, np);
        ccai_free(np);
    } else {
        say_msg(o, later ? M_SKIP_LATER : M_SKIP_MOVE_ON);
    }
    advance(o);
}

/* Repeat what the dialogue waits for. */
static void ask_current(Ccai_offline *o, bool hint)
{
    switch (o->st.phase) {
    case PH_ASK: ask_question(o, o->st.cur, hint); break;
    case PH_CONFIRM:
        if (hint) {
            say_summary(o, M_SUMMARY, true);
            flush_say(o, false);
        }
        say_msg(o, M_CONFIRM_ASK);
        break;
    case PH_WHICH: say_msg(o, M_WHICH); break;
    case PH_NEW:
    case PH_ENDED: break;
    }
}

/* Store a valid value, confirm it, move on. @p value is taken. A local
 * date and time gets the caller's offset. */
static void accept_value(Ccai_offline *o, char *value)
{
    size_t i = o->st.cur;
    char iso[CCAI_TZ_ISO_MAX];
    if (o->tz && o->f[i].type == CCAI_FIELD_DATETIME &&
        Ccai_tz_localize_iso(o->tz, value, iso, sizeof iso, NULL) == CCAI_OK &&
        strcmp(iso, value) != 0) {
        char *with_offset = Ccai_strdup(iso);
        if (!with_offset) {
            ccai_free(value);
            o->oom = true;
            return;
        }
        ccai_free(value);
        value = with_offset;
    }
    set_value(o, i, value);
    act(o, CCAI_OFFLINE_SET_FIELD, o->f[i].name, value);
    o->st.pending_date = false;
    o->st.tries[i] = 0;
    char *spoken = o->oom ? NULL : spoken_value(o, i);
    if (spoken && strlen(spoken) <= READBACK_MAX)
        say_msg1(o, M_NOTED_VALUE, spoken);
    else if (spoken)
        say_msg(o, M_NOTED);
    ccai_free(spoken);
    advance(o);
}

/* The date was understood but no time: keep the date alone. */
static void accept_pending_date(Ccai_offline *o)
{
    int64_t y;
    int m, d;
    char buf[64];
    Ccai_civil_from_days(o->st.pending_days, &y, &m, &d);
    snprintf(buf, sizeof buf, "%04d-%02d-%02d", (int)y, m, d);
    char *norm = NULL;
    ccai_status st = ccai_field_validate(CCAI_FIELD_DATETIME, buf, &norm, NULL);
    if (st == CCAI_OK) {
        accept_value(o, norm);
        return;
    }
    if (st == CCAI_ERR_NOMEM)
        o->oom = true;
    o->st.pending_date = false;
    skip_current(o, false);
}

/* One more turn that did not move the dialogue on at the question it
 * waits for (an answer that cannot be used, a request to repeat, a
 * language that is not available, nothing said). The CCAI_OFFLINE_TRIES-th
 * moves on instead: the field is put off (or its date kept without the
 * time), the confirmation is given up, "which one?" goes back to the
 * confirmation. Returns true when it moved on: the caller of this must
 * then not ask again. */
static bool missed(Ccai_offline *o)
{
    o->missed = true;
    if (++o->st.stuck >= CCAI_OFFLINE_STUCK) {
        /* Question after question without one usable answer. */
        say_msg(o, o->can_transfer ? M_STUCK_HANDOVER : M_STUCK_BYE);
        flush_say(o, false);
        end_call(o, o->can_transfer ? CCAI_OFFLINE_TRANSFER : CCAI_OFFLINE_HANGUP);
        return true;
    }
    switch (o->st.phase) {
    case PH_ASK: {
        size_t i = o->st.cur;
        if (++o->st.tries[i] < CCAI_OFFLINE_TRIES)
            return false;
        o->st.tries[i] = 0;
        if (o->st.pending_date)
            accept_pending_date(o);
        else
            skip_current(o, true);
        return true;
    }
    case PH_CONFIRM:
        if (++o->st.confirm_tries < CCAI_OFFLINE_TRIES)
            return false;
        give_up_confirm(o);
        return true;
    case PH_WHICH:
        if (++o->st.which_tries < CCAI_OFFLINE_TRIES)
            return false;
        go_confirm(o);
        return true;
    case PH_NEW:
    case PH_ENDED: break;
    }
    return false;
}

static void reject(Ccai_offline *o, msg reason)
{
    if (missed(o))
        return;
    say_msg(o, reason);
    ask_question(o, o->st.cur, true);
}

/* Validate with the claim module; reject with @p reason when it refuses. */
static void try_value(Ccai_offline *o, const char *candidate, msg reason)
{
    char *norm = NULL;
    ccai_status st = ccai_field_validate(o->f[o->st.cur].type, candidate, &norm, NULL);
    if (st == CCAI_OK)
        accept_value(o, norm);
    else if (st == CCAI_ERR_NOMEM)
        o->oom = true;
    else
        reject(o, reason);
}

static void answer_datetime(Ccai_offline *o)
{
    const char *raw = o->raw;
    while (Ccai_is_space((unsigned char)*raw))
        raw++;
    /* Written forms the validator reads, when they carry a time. */
    if (!o->st.pending_date && strlen(raw) > 10) {
        char *norm = NULL;
        ccai_status st = ccai_field_validate(CCAI_FIELD_DATETIME, raw, &norm, NULL);
        if (st == CCAI_ERR_NOMEM) {
            o->oom = true;
            return;
        }
        if (st == CCAI_OK) {
            accept_value(o, norm);
            return;
        }
    }
    char buf[64];
    int64_t day = 0;
    dt_result r = parse_spoken_date(o, o->st.pending_date, o->st.pending_days, buf, &day);
    if (r == DT_FAIL) {
        reject(o, o->st.pending_date ? M_R_TIME_UNREADABLE : M_R_DATE_UNREADABLE);
        return;
    }
    if (r == DT_DATE) {
        int64_t y;
        int m, d;
        Ccai_civil_from_days(day, &y, &m, &d);
        if (y < 1900 || y > 2200) {
            reject(o, M_R_DATE_INVALID);
            return;
        }
        /* Another date instead of the time: keep the newer one, but count
         * it, or "yesterday", "yesterday", ... would ask for ever. */
        bool again = o->st.pending_date;
        o->st.pending_date = true;
        o->st.pending_days = day;
        if (again && missed(o))
            return;
        ask_question(o, o->st.cur, false);
        return;
    }
    try_value(o, buf, M_R_DATE_INVALID);
}

static const char *call_region(const Ccai_offline *o)
{
    const char *code = o->st.lang_avail >= 0 ? o->avail[o->st.lang_avail] : o->lang_code;
    const char *dash = strchr(code, '-');
    return dash ? dash + 1 : NULL;
}

static void answer_phone(Ccai_offline *o)
{
    char buf[PHONE_DIGITS_MAX + 8];
    phone_reason r = spoken_phone(o, call_region(o), buf, sizeof buf);
    static const msg reasons[] = {M_R_PHONE_BAD, M_R_PHONE_NONE, M_R_PHONE_COUNTRY, M_R_PHONE_SHORT,
                                  M_R_PHONE_LONG};
    if (r != PH_OK) {
        reject(o, reasons[r]);
        return;
    }
    size_t digits = strlen(buf) - (buf[0] == '+' ? 1 : 2);
    try_value(o, buf, digits < 8 ? M_R_PHONE_SHORT : digits > 15 ? M_R_PHONE_LONG : M_R_PHONE_BAD);
}

static void answer_email(Ccai_offline *o)
{
    char buf[CCAI_OFFLINE_UTTERANCE_MAX + 1];
    spoken_email(o, buf, sizeof buf);
    if (!buf[0]) {
        reject(o, M_R_EMAIL_NO_AT);
        return;
    }
    try_value(o, buf, M_R_EMAIL_BAD);
}

static void answer_text(Ccai_offline *o)
{
    size_t i = o->st.cur;
    if (o->f[i].optional && SAYS(o, cmd_none)) {
        char *none = Ccai_strdup(phrase(o, M_NONE_VALUE));
        if (!none) {
            o->oom = true;
            return;
        }
        accept_value(o, none);
        return;
    }
    const char *v = o->raw;
    if (strstr(o->f[i].name, "name")) {
        /* Drop "my name is" and a final period. */
        char norm[PHRASE_NORM_MAX];
        token toks[PHRASE_TOK_MAX];
        for (size_t k = 0; k < CCAI_ARRAY_SIZE(name_intros); k++) {
            size_t nt;
            if (!normalise(name_intros[k], strlen(name_intros[k]), norm, sizeof norm, toks,
                           PHRASE_TOK_MAX, &nt) ||
                nt >= o->ntok)
                continue;
            bool match = true;
            for (size_t t = 0; t < nt && match; t++)
                match = toks[t].len == o->tok[t].len &&
                        memcmp(norm + toks[t].start, o->norm + o->tok[t].start, toks[t].len) == 0;
            if (match) {
                v = o->raw + o->tok[nt].raw;
                break;
            }
        }
        size_t len = strlen(o->raw);
        while (len > 0 && (o->raw[len - 1] == '.' || Ccai_is_space((unsigned char)o->raw[len - 1])))
            o->raw[--len] = '\0';
    }
    try_value(o, v, v[0] ? M_R_TEXT_BAD : M_R_TEXT_EMPTY);
}

/* Which field does the caller name ("the date", "change the email")? The
 * field whose keywords the utterance uses most, when one stands out. */
static size_t named_field(const Ccai_offline *o)
{
    size_t best = o->nfields;
    int best_score = 0;
    bool tie = false;
    for (size_t f = 0; f < o->nfields; f++) {
        int score = 0;
        for (size_t t = 0; t < o->ntok; t++) {
            char word[72];
            if (o->tok[t].len < 3 || o->tok[t].len > 64)
                continue;
            snprintf(word, sizeof word, " %.*s ", (int)o->tok[t].len, o->norm + o->tok[t].start);
            if (strstr(o->f[f].keywords, word))
                score++;
        }
        if (score > best_score) {
            best = f;
            best_score = score;
            tie = false;
        } else if (score > 0 && score == best_score) {
            tie = true;
        }
    }
    return tie ? o->nfields : best;
}

static void edit_field(Ccai_offline *o, size_t f)
{
    o->st.editing = true;
    o->st.tries[f] = 0;
    ask_field(o, f);
}

/* "Is everything correct?": a yes ends the call; a no, or a field named
 * ("the date is wrong"), goes to that field or asks which one. */
static void handle_confirm(Ccai_offline *o)
{
    int pol = answer_polarity(o);
    if (pol == POL_YES) {
        say_msg(o, M_THANKS_BYE);
        flush_say(o, false);
        end_call(o, CCAI_OFFLINE_HANGUP);
        return;
    }
    size_t f = named_field(o);
    if (f < o->nfields) {
        edit_field(o, f);
        return;
    }
    if (pol == POL_NO) {
        o->st.phase = PH_WHICH;
        o->st.which_tries = 0;
        say_msg(o, M_WHICH);
        return;
    }
    if (!missed(o))
        say_msg(o, M_CONFIRM_YES_NO);
}

static void handle_which(Ccai_offline *o)
{
    size_t f = named_field(o);
    if (f < o->nfields) {
        edit_field(o, f);
        return;
    }
    if (SAYS(o, cmd_none) || answer_polarity(o) == POL_YES) {
        go_confirm(o);
        return;
    }
    if (missed(o))
        return;
    char *label = label_str(o, 0, false);
    if (label)
        say_msg1(o, M_WHICH_AGAIN, label);
    ccai_free(label);
}

static void handle_ask(Ccai_offline *o)
{
    size_t i = o->st.cur;
    bool none = o->f[i].optional && o->f[i].type == CCAI_FIELD_TEXT && SAYS(o, cmd_none);
    if (!none && SAYS(o, cmd_skip)) {
        if (o->st.pending_date)
            accept_pending_date(o);
        else
            skip_current(o, false);
        return;
    }
    switch (o->f[i].type) {
    case CCAI_FIELD_DATETIME: answer_datetime(o); break;
    case CCAI_FIELD_EMAIL: answer_email(o); break;
    case CCAI_FIELD_PHONE_NUMBER: answer_phone(o); break;
    case CCAI_FIELD_TEXT: answer_text(o); break;
    }
}

/* The language the utterance names ("French", "en espagnol"), -1. */
static int named_lang(const Ccai_offline *o)
{
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(lang_names); k++) {
        if (strcmp(o->stripped, lang_names[k].name) == 0)
            return lang_names[k].lang;
    }
    return -1;
}

/* Switch to another language when the call may use it (SET_LANG and
 * "let's continue in ..."), else say it is not available. */
static bool switch_lang(Ccai_offline *o, int target)
{
    for (size_t k = 0; k < o->navail; k++) {
        if (strncmp(o->avail[k], lang_prefix[target], 2) != 0 ||
            (o->avail[k][2] != '\0' && o->avail[k][2] != '-' && o->avail[k][2] != '_'))
            continue;
        act(o, CCAI_OFFLINE_SET_LANG, NULL, o->avail[k]);
        o->st.lang = target;
        o->st.lang_avail = (int)k;
        say_msg(o, M_LANG_SWITCH);
        return true;
    }
    say_msg(o, M_LANG_UNAVAILABLE);
    return false;
}

/* Language names: switch when the language is available. */
static bool handle_lang(Ccai_offline *o)
{
    int target = named_lang(o);
    if (target < 0)
        return false;
    if (target == o->st.lang) {
        if (!missed(o))
            ask_current(o, true);
    } else if (switch_lang(o, target)) {
        ask_current(o, true);
    } else if (!missed(o)) {
        ask_current(o, false);
    }
    return true;
}

/* The caller says goodbye: what was noted (unless it was just read for
 * confirmation), goodbye, hang up. */
static void say_goodbye(Ccai_offline *o)
{
    if (o->st.phase != PH_CONFIRM && anything_noted(o)) {
        say_summary(o, M_SUMMARY, false);
        flush_say(o, false);
    }
    say_msg(o, M_GOODBYE);
    flush_say(o, false);
    end_call(o, CCAI_OFFLINE_HANGUP);
}

/* A goodbye: the whole utterance, or a farewell as its last clause ("OK
 * thanks, that's all, goodbye."). */
static bool says_goodbye(Ccai_offline *o)
{
    if (SAYS_LENIENT(o, cmd_goodbye))
        return true;
    size_t b = o->ntok;
    while (b > 1 && !clause_break(o, b - 1))
        b--;
    if (b <= 1)
        return false;
    strip_words(o->norm, o->tok + b - 1, o->ntok - b + 1, true, o->clause);
    return says(o->clause, cmd_farewell, CCAI_ARRAY_SIZE(cmd_farewell));
}

/* Nothing but punctuation and "hmm", "euh": nothing said. */
static bool says_nothing(const Ccai_offline *o)
{
    for (size_t i = 0; i < o->ntok; i++) {
        if (!TOK_IN(o, i, hesitations))
            return false;
    }
    return true;
}

static void handle_utterance(Ccai_offline *o)
{
    if (o->st.phase == PH_ASK && says_nothing(o)) {
        say_msg(o, M_R_TEXT_EMPTY);
        if (!missed(o))
            ask_current(o, false);
        return;
    }
    if (SAYS_LENIENT(o, cmd_transfer)) {
        say_msg(o, M_TRANSFER);
        flush_say(o, false);
        end_call(o, CCAI_OFFLINE_TRANSFER);
        return;
    }
    if (says_goodbye(o)) {
        say_goodbye(o);
        return;
    }
    if (SAYS(o, cmd_repeat)) {
        if (!missed(o))
            ask_current(o, true);
        return;
    }
    if (handle_lang(o))
        return;
    switch (o->st.phase) {
    case PH_ASK: handle_ask(o); break;
    case PH_CONFIRM: handle_confirm(o); break;
    case PH_WHICH: handle_which(o); break;
    case PH_NEW:
    case PH_ENDED: break;
    }
}

/* ------------------------------------------------------------------------ */
/* Construction                                                             */
/* ------------------------------------------------------------------------ */

static int lang_index(const char *code)
{
    for (int l = 0; l < L_COUNT; l++) {
        if (code && Ccai_to_lower((unsigned char)code[0]) == lang_prefix[l][0] && code[0] &&
            Ccai_to_lower((unsigned char)code[1]) == lang_prefix[l][1] &&
            (code[2] == '\0' || code[2] == '-' || code[2] == '_'))
            return l;
    }
    return L_EN;
}

static bool kw_add(Ccai_buf *b, const char *text)
{
    static const char *const stop[] = {
        "the",     "and",        "for",      "any",     "with", "during",       "des",
        "les",     "une",        "del",      "los",     "las",  "que",          "con",
        "par",     "pour",       "aux",      "dans",    "lors", "sur",          "una",
        "uno",     "por",        "that",     "this",    "from", "are",          "was",
        "your",    "vous",       "votre",    "sus",     "ses",  "avant",        "before",
        "existed", "existaient", "existian", "related", "lies", "relacionados", "sustained",
        "subies",  "sufridas",   "hay",      "los",     "qui",  "e164",         "164"};
    char norm[CCAI_FIELD_DESCRIPTION_MAX * 3 + 8];
    token toks[CCAI_FIELD_DESCRIPTION_MAX];
    size_t nt;
    if (!normalise(text, strlen(text), norm, sizeof norm, toks, CCAI_ARRAY_SIZE(toks), &nt))
        return true;
    for (size_t i = 0; i < nt; i++) {
        const char *w = norm + toks[i].start;
        if (toks[i].len < 3 || in_list(w, toks[i].len, stop, CCAI_ARRAY_SIZE(stop)))
            continue;
        if (!Ccai_buf_append(b, w, toks[i].len) || !Ccai_buf_puts(b, " "))
            return false;
    }
    return true;
}

static char *field_keywords(const offline_field *f)
{
    static const char *const synonyms[] = {
        [CCAI_FIELD_TEXT] = "",
        [CCAI_FIELD_DATETIME] = "date time when day hour heure quand jour fecha hora cuando dia",
        [CCAI_FIELD_EMAIL] = "email mail courriel adresse address correo electronico",
        [CCAI_FIELD_PHONE_NUMBER] = "phone telephone number numero telefono mobile portable cell",
    };
    Ccai_buf b = {0};
    char *name = Ccai_strdup(f->name);
    bool ok = name && Ccai_buf_puts(&b, " ");
    if (ok) {
        for (char *p = name; *p; p++)
            if (*p == '_')
                *p = ' ';
        ok = kw_add(&b, name) && kw_add(&b, synonyms[f->type]) &&
             (!f->desc || kw_add(&b, f->desc)) &&
             (!strstr(f->name, "name") || kw_add(&b, "name nom nombre"));
    }
    for (int l = 0; ok && f->known >= 0 && l < L_COUNT; l++)
        ok = kw_add(&b, known_fields[f->known].label[l]);
    ccai_free(name);
    char *out = ok ? Ccai_buf_steal(&b) : NULL;
    Ccai_buf_free(&b);
    return out;
}

static bool ascii_ieq_prefix(const char *s, const char *word)
{
    for (size_t i = 0; word[i]; i++) {
        if (Ccai_to_lower((unsigned char)s[i]) != word[i])
            return false;
    }
    return true;
}

static bool contains_nocase(const char *s, const char *word)
{
    for (; *s; s++) {
        if (ascii_ieq_prefix(s, word))
            return true;
    }
    return false;
}

static ccai_status load_claim(Ccai_offline *o, const char *claim_json)
{
    Ccai_json_err err;
    ccai_status st = CCAI_OK;
    json_t *obj = Ccai_json_load(claim_json, strlen(claim_json), &err, &st);
    if (!obj)
        return st;
    if (!json_is_object(obj)) {
        json_decref(obj);
        return CCAI_ERR_PARSE;
    }
    for (size_t i = 0; i < o->nfields && st == CCAI_OK; i++) {
        json_t *v = json_object_get(obj, o->f[i].name);
        if (!json_is_string(v))
            continue;
        char *norm = NULL;
        ccai_status vs = ccai_field_validate(o->f[i].type, json_string_value(v), &norm, NULL);
        if (vs == CCAI_OK)
            o->values[i] = norm;
        else if (vs == CCAI_ERR_NOMEM)
            st = CCAI_ERR_NOMEM;
    }
    json_decref(obj);
    if (st == CCAI_OK && !(o->claim_json = claim_to_json(o)))
        st = CCAI_ERR_NOMEM;
    return st;
}

ccai_status Ccai_offline_new(const Ccai_offline_params *params, Ccai_offline **ret)
{
    if (!params || !params->schema || !ret || params->utc_offset_min < -24 * 60 ||
        params->utc_offset_min > 24 * 60)
        return CCAI_ERR_INVALID_ARG;
    Ccai_offline *o = Ccai_calloc(1, sizeof *o);
    if (!o)
        return CCAI_ERR_NOMEM;
    ccai_status st = CCAI_ERR_NOMEM;
    o->nfields = ccai_claim_schema_count(params->schema);
    if (o->nfields > CCAI_FIELDS_MAX)
        o->nfields = CCAI_FIELDS_MAX;
    for (size_t i = 0; i < o->nfields; i++) {
        offline_field *f = &o->f[i];
        const char *name, *desc;
        if (ccai_claim_schema_field(params->schema, i, &name, &f->type, &desc) != CCAI_OK) {
            st = CCAI_ERR_INVALID_ARG;
            goto fail;
        }
        f->known = -1;
        for (size_t k = 0; k < CCAI_ARRAY_SIZE(known_fields); k++) {
            if (strcmp(known_fields[k].name, name) == 0) {
                f->known = (int)k;
                f->optional = known_fields[k].optional;
            }
        }
        if (desc && (contains_nocase(desc, "if any") || contains_nocase(desc, "s'il y en a")))
            f->optional = true;
        if (!(f->name = Ccai_strdup(name)) || (desc && !(f->desc = Ccai_strdup(desc))) ||
            !(f->keywords = field_keywords(f)))
            goto fail;
    }

    const char *lang = params->lang && params->lang[0] ? params->lang : "en-US";
    o->st.lang = lang_index(lang);
    o->st.lang_avail = -1;
    if (!(o->lang_code = Ccai_strdup(lang)))
        goto fail;
    size_t navail = 0;
    if (params->available_langs)
        while (params->available_langs[navail])
            navail++;
    else
        navail = L_COUNT;
    if (!(o->avail = Ccai_calloc(navail ? navail : 1, sizeof *o->avail)))
        goto fail;
    for (size_t k = 0; k < navail; k++, o->navail++) {
        const char *code =
            params->available_langs ? params->available_langs[k] : lang_default_code[k];
        if (!(o->avail[k] = Ccai_strdup(code)))
            goto fail;
    }
    o->can_transfer = params->can_transfer;
    o->tz = params->tz;
    if ((params->bot_name && params->bot_name[0] &&
         !(o->bot_name = Ccai_strdup(params->bot_name))) ||
        (params->bot_company && params->bot_company[0] &&
         !(o->bot_company = Ccai_strdup(params->bot_company))))
        goto fail;

    int64_t local_ms = params->now_ms + (int64_t)params->utc_offset_min * 60000;
    o->today = Ccai_floor_div(local_ms, 86400000);
    o->now_minute = (int)((local_ms - o->today * 86400000) / 60000);

    st = load_claim(o, params->claim_json ? params->claim_json : "{}");
    if (st != CCAI_OK)
        goto fail;
    o->st.phase = PH_NEW;
    *ret = o;
    return CCAI_OK;

fail:
    Ccai_offline_free(o);
    return st;
}

void Ccai_offline_free(Ccai_offline *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->nfields; i++) {
        ccai_free(o->f[i].name);
        ccai_free(o->f[i].desc);
        ccai_free(o->f[i].keywords);
        ccai_free(o->values[i]);
        ccai_free(o->undo[i]);
    }
    for (size_t k = 0; k < o->navail; k++)
        ccai_free(o->avail[k]);
    ccai_free(o->avail);
    ccai_free(o->lang_code);
    ccai_free(o->bot_name);
    ccai_free(o->bot_company);
    ccai_free(o->claim_json);
    free_reply(o);
    ccai_free(o->acts);
    ccai_free(o->texts);
    Ccai_buf_free(&o->say);
    ccai_free(o);
}

/* ------------------------------------------------------------------------ */
/* Turns                                                                    */
/* ------------------------------------------------------------------------ */

ccai_status Ccai_offline_start(Ccai_offline *o, bool resumed, const Ccai_offline_reply **ret)
{
    if (!o || !ret)
        return CCAI_ERR_INVALID_ARG;
    if (o->st.phase != PH_NEW)
        return CCAI_ERR_STATE;
    turn_begin(o);
    msg full = resumed ? M_WELCOME_BACK_FULL : M_HELLO_FULL;
    msg name = resumed ? M_WELCOME_BACK_NAME : M_HELLO_NAME;
    msg bare = resumed ? M_WELCOME_BACK : M_HELLO;
    if (o->bot_name && o->bot_company)
        say_msg2(o, full, o->bot_name, o->bot_company);
    else if (o->bot_name)
        say_msg1(o, name, o->bot_name);
    else
        say_msg(o, bare);
    if (resumed) {
        /* With nothing left to ask, the confirmation reads it all. */
        bool all_known = next_field(o) == o->nfields;
        if (anything_noted(o) && !all_known)
            say_summary(o, M_SO_FAR, false);
        else if (!anything_noted(o))
            say_msg(o, M_NOTHING_YET);
    } else {
        say_msg(o, M_INTRO);
    }
    flush_say(o, false);
    o->st.phase = PH_ASK;
    advance(o);
    flush_say(o, true);
    return turn_end(o, ret);
}

static ccai_status turn_check(Ccai_offline *o, const Ccai_offline_reply **ret)
{
    if (!o || !ret)
        return CCAI_ERR_INVALID_ARG;
    if (o->st.phase == PH_NEW || o->st.phase == PH_ENDED)
        return CCAI_ERR_STATE;
    return CCAI_OK;
}

static void finish_turn(Ccai_offline *o)
{
    flush_say(o, o->st.phase != PH_ENDED);
}

/* Take the utterance as the current one: cut at the limit on a character
 * boundary, outer white space dropped, normalised. Returns its length. */
static size_t load_utterance(Ccai_offline *o, const char *utterance)
{
    size_t len = strnlen(utterance, CCAI_OFFLINE_UTTERANCE_MAX + 1);
    if (len > CCAI_OFFLINE_UTTERANCE_MAX) {
        len = CCAI_OFFLINE_UTTERANCE_MAX;
        while (len > 0 && ((unsigned char)utterance[len] & 0xC0) == 0x80)
            len--;
    }
    while (len > 0 && Ccai_is_space((unsigned char)*utterance))
        utterance++, len--;
    while (len > 0 && Ccai_is_space((unsigned char)utterance[len - 1]))
        len--;
    memcpy(o->raw, utterance, len);
    o->raw[len] = '\0';
    if (!normalise(o->raw, len, o->norm, NORM_MAX, o->tok, TOK_MAX, &o->ntok))
        o->ntok = 0;
    strip_words(o->norm, o->tok, o->ntok, false, o->stripped);
    strip_words(o->norm, o->tok, o->ntok, true, o->lenient);
    return len;
}

ccai_status Ccai_offline_input(Ccai_offline *o, const char *utterance,
                               const Ccai_offline_reply **ret)
{
    ccai_status st = turn_check(o, ret);
    if (st != CCAI_OK)
        return st;
    if (!utterance)
        return CCAI_ERR_INVALID_ARG;
    if (!scratch_take(o))
        return CCAI_ERR_NOMEM;
    turn_begin(o);
    size_t len = load_utterance(o, utterance);
    o->st.silences = 0;

    if (len == 0) {
        say_msg(o, M_R_TEXT_EMPTY);
        if (!missed(o))
            ask_current(o, false);
    } else {
        handle_utterance(o);
    }
    if (!o->missed)
        o->st.stuck = 0;
    finish_turn(o);
    scratch_drop(o);
    return turn_end(o, ret);
}

/* Append a whole sentence as it is (no "%s" expansion). */
static void say_text(Ccai_offline *o, const char *text)
{
    if (o->oom || !text || !*text)
        return;
    if ((o->say.len && !Ccai_buf_puts(&o->say, " ")) || !Ccai_buf_puts(&o->say, text))
        o->oom = true;
}

ccai_status Ccai_offline_take_over(Ccai_offline *o, const char *intro, const char *utterance,
                                   const Ccai_offline_reply **ret)
{
    if (!o || !ret)
        return CCAI_ERR_INVALID_ARG;
    if (o->st.phase != PH_NEW)
        return CCAI_ERR_STATE;
    if (!scratch_take(o))
        return CCAI_ERR_NOMEM;
    turn_begin(o);
    o->st.phase = PH_ASK;
    if (utterance && load_utterance(o, utterance) > 0) {
        /* Words that ask for something the dialogue can do; anything else
         * answered a question this dialogue never asked. */
        if (SAYS_LENIENT(o, cmd_transfer)) {
            say_msg(o, M_TRANSFER);
            flush_say(o, false);
            end_call(o, CCAI_OFFLINE_TRANSFER);
            scratch_drop(o);
            return turn_end(o, ret);
        }
        if (says_goodbye(o)) {
            say_goodbye(o);
            scratch_drop(o);
            return turn_end(o, ret);
        }
    }
    say_text(o, intro);
    flush_say(o, false);
    int target = utterance && o->ntok > 0 ? named_lang(o) : -1;
    scratch_drop(o);
    if (target >= 0 && target != o->st.lang)
        switch_lang(o, target);
    advance(o);
    flush_say(o, true);
    return turn_end(o, ret);
}

ccai_status Ccai_offline_silence(Ccai_offline *o, const Ccai_offline_reply **ret)
{
    ccai_status st = turn_check(o, ret);
    if (st != CCAI_OK)
        return st;
    turn_begin(o);
    if (++o->st.silences >= CCAI_OFFLINE_SILENCES) {
        say_msg(o, M_SILENCE_BYE);
        flush_say(o, false);
        end_call(o, CCAI_OFFLINE_HANGUP);
    } else {
        say_msg(o, M_STILL_THERE);
        ask_current(o, false);
    }
    finish_turn(o);
    return turn_end(o, ret);
}

const char *Ccai_offline_claim_json(const Ccai_offline *o)
{
    return o && o->claim_json ? o->claim_json : "{}";
}

const char *Ccai_offline_lang(const Ccai_offline *o)
{
    if (!o)
        return "en-US";
    return o->st.lang_avail >= 0 ? o->avail[o->st.lang_avail] : o->lang_code;
}

bool Ccai_offline_ended(const Ccai_offline *o)
{
    return o && o->st.phase == PH_ENDED;
}
