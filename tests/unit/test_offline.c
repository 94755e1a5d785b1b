/* The offline dialogue engine: whole conversations, spoken forms, commands,
 * out-of-memory turns. The clock is fixed at 2024-10-08 14:00 UTC, a
 * Tuesday. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "core/embedded.h"
#include "engine/offline_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW_MS 1728396000000LL /* 2024-10-08T14:00:00Z */

static ccai_claim_schema *default_schema(void)
{
    ccai_claim_schema *s = NULL;
    assert_int_equal(ccai_claim_schema_new_default(&s), CCAI_OK);
    return s;
}

static Ccai_offline *make(const ccai_claim_schema *schema, const char *lang, const char *claim,
                          const char *const *avail)
{
    Ccai_offline_params p = {.schema = schema,
                             .claim_json = claim,
                             .lang = lang,
                             .bot_name = "Amelia",
                             .bot_company = "Contoso",
                             .available_langs = avail,
                             .now_ms = NOW_MS};
    Ccai_offline *o = NULL;
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    return o;
}

static const Ccai_offline_reply *start(Ccai_offline *o, bool resumed)
{
    const Ccai_offline_reply *r = NULL;
    assert_int_equal(Ccai_offline_start(o, resumed, &r), CCAI_OK);
    assert_non_null(r);
    return r;
}

static const Ccai_offline_reply *in(Ccai_offline *o, const char *u)
{
    const Ccai_offline_reply *r = NULL;
    assert_int_equal(Ccai_offline_input(o, u, &r), CCAI_OK);
    assert_non_null(r);
    return r;
}

/* Does an action of @p kind carry a text containing @p sub (NULL: any)? */
static bool has(const Ccai_offline_reply *r, Ccai_offline_action_kind kind, const char *sub)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].kind == kind && (!sub || (r->v[i].text && strstr(r->v[i].text, sub))))
            return true;
    }
    return false;
}

static bool said(const Ccai_offline_reply *r, const char *sub)
{
    return has(r, CCAI_OFFLINE_SAY, sub);
}

static const char *set_value(const Ccai_offline_reply *r, const char *field)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].kind == CCAI_OFFLINE_SET_FIELD && strcmp(r->v[i].field, field) == 0)
            return r->v[i].text;
    }
    return NULL;
}

/* The reply asks something: its last action is a SAY expecting a reply,
 * and no other action does. */
static void assert_asks(const Ccai_offline_reply *r)
{
    assert_true(r->n > 0);
    for (size_t i = 0; i + 1 < r->n; i++)
        assert_false(r->v[i].expects_reply);
    assert_int_equal(r->v[r->n - 1].kind, CCAI_OFFLINE_SAY);
    assert_true(r->v[r->n - 1].expects_reply);
}

static void assert_ends(const Ccai_offline_reply *r, Ccai_offline_action_kind kind)
{
    assert_true(r->n > 0);
    for (size_t i = 0; i < r->n; i++)
        assert_false(r->v[i].expects_reply);
    assert_int_equal(r->v[r->n - 1].kind, kind);
}

/* The value noted for a field; for the date, a part of the day said with
 * no hour ("last night") is noted with the part's hour ([daypart.words])
 * and the time asked: the caller does not know it, the day is noted again.
 * *r is the last reply. */
static const char *noted(Ccai_offline *o, const Ccai_offline_reply **r, const char *field)
{
    const char *v = set_value(*r, field);
    const char *f[1];
    bool time_only = false;
    if (strcmp(field, "incident_datetime") != 0 || Ccai_offline_asking(o, f, 1, &time_only) != 1 ||
        !time_only)
        return v;
    *r = in(o, "I don't know.");
    return set_value(*r, field); /* the day noted again */
}

static void expect_set(Ccai_offline *o, const char *utterance, const char *field, const char *value)
{
    const Ccai_offline_reply *r = in(o, utterance);
    const char *v = noted(o, &r, field);
    if (!v || strcmp(v, value) != 0)
        fail_msg("\"%s\": %s = %s, expected %s", utterance, field, v ? v : "(unset)", value);
    assert_asks(r);
}

static void test_english_dialogue(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = make(s, "en-US", "{}", NULL);
    const Ccai_offline_reply *r = start(o, false);
    assert_true(said(r, "Hello, this is Amelia from Contoso."));
    assert_true(said(r, "I will take down your claim"));
    /* What happened first, then the rest a question or two at a time. */
    assert_true(said(r, "Could you tell me what happened?"));
    assert_asks(r);

    expect_set(o, "  I slipped on a wet floor  ", "incident_description",
               "I slipped on a wet floor");
    r = in(o, "Yesterday at 3 pm, at the supermarket on Main Street");
    assert_string_equal(set_value(r, "incident_datetime"), "2024-10-07T15:00:00");
    /* The date is not part of the place. */
    assert_string_equal(set_value(r, "incident_location"), "At the supermarket on Main Street");
    assert_true(said(r, "That was 7 October 2024 at 15:00."));
    assert_false(said(r, "Noted:")); /* no echo of the caller's words */
    assert_true(said(r, "Was anyone hurt, and was anything already damaged before this happened?"));
    assert_asks(r);
    /* Optional fields: "no" answers both questions asked; nobody hurt,
     * nobody saw a doctor ([none.implies]): not asked. */
    r = in(o, "No.");
    assert_string_equal(set_value(r, "injuries"), "None");
    assert_string_equal(set_value(r, "pre_existing_damages"), "None");
    assert_string_equal(set_value(r, "medical_records"), "None");
    assert_true(said(r, "Who was involved, and did anyone witness it?"));
    expect_set(o, "Me and the shop owner", "involved_parties", "Me and the shop owner");
    expect_set(o, "The cashier, Mary Smith", "witnesses", "The cashier, Mary Smith");
    r = in(o, "My name is John Doe.");
    assert_string_equal(set_value(r, "policyholder_name"), "John Doe");
    assert_true(said(r, "Could you tell me the insurance policy number?"));
    r = in(o, "POL-2024-778");
    assert_string_equal(set_value(r, "policy_number"), "POL-2024-778");
    assert_true(said(r, "Your policy number is P O L dash 2 0 2 4 dash 7 7 8."));
    r = in(o, "it is john dot doe at example dot com");
    assert_string_equal(set_value(r, "policyholder_email"), "john.doe@example.com");
    assert_true(said(r, "I have your e-mail as john dot doe at example dot com."));
    r = in(o, "plus four four seven seven double oh nine oh oh one two three");
    assert_string_equal(set_value(r, "policyholder_phone"), "+447700900123");
    /* Everything is known: summary and confirmation. */
    /* A short summary: what happened, when and where; the contact
     * details by name (they were read back as they were given). */
    assert_true(said(r, "To sum up: "));
    assert_true(said(r, "7 October 2024 at 15:00"));
    assert_true(said(r, "I also have your name, policy number, phone number and e-mail."));
    assert_false(said(r, "John Doe"));
    assert_false(said(r, "I still do not have"));
    assert_true(said(r, "Is everything correct?"));
    assert_asks(r);

    r = in(o, "Yes, that's correct.");
    assert_true(said(r, "Thank you, your claim is recorded. Goodbye!"));
    assert_ends(r, CCAI_OFFLINE_HANGUP);
    assert_true(Ccai_offline_ended(o));
    assert_int_equal(Ccai_offline_input(o, "hello?", &r), CCAI_ERR_STATE);
    assert_int_equal(Ccai_offline_silence(o, &r), CCAI_ERR_STATE);

    assert_string_equal(
        Ccai_offline_claim_json(o),
        "{\"incident_datetime\":\"2024-10-07T15:00:00\",\"incident_description\":\"I slipped "
        "on a wet floor\",\"incident_location\":\"At the supermarket on Main "
        "Street\",\"injuries\":\"None\",\"involved_parties\":\"Me and the shop "
        "owner\",\"medical_records\":\"None\",\"policy_number\":\"POL-2024-778\","
        "\"pre_existing_damages\":\"None\",\"witnesses\":\"The cashier, Mary "
        "Smith\",\"policyholder_email\":\"john.doe@example.com\",\"policyholder_name\":\"John "
        "Doe\",\"policyholder_phone\":\"+447700900123\"}");
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

static void test_french_dialogue(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = make(s, "fr-FR", NULL, NULL);
    const Ccai_offline_reply *r = start(o, false);
    assert_true(said(r, "Bonjour, je suis Amelia de Contoso."));
    assert_true(said(r, "Pouvez-vous me dire ce qui s'est passé ?"));

    expect_set(o, "Je suis tombée dans l'escalier", "incident_description",
               "Je suis tombée dans l'escalier");
    r = in(o, "Hier soir, chez moi, à Lyon");
    /* a part of the day is no hour: noted as the evening, the time asked */
    assert_string_equal(set_value(r, "incident_datetime"), "2024-10-07T20:00:00");
    assert_false(said(r, "20 h 00"));
    assert_string_equal(set_value(r, "incident_location"), "Chez moi, à Lyon");
    assert_true(said(r, "Et à quelle heure, à peu près ?"));
    r = in(o, "Je ne sais pas");
    assert_string_equal(set_value(r, "incident_datetime"), "2024-10-07T20:00:00");
    assert_true(said(r, "7 octobre 2024 au soir.")); /* no hour said: none read back */
    assert_true(said(r, "Y a-t-il eu des blessés, et y avait-il déjà des dommages avant ?"));
    r = in(o, "Non");
    assert_string_equal(set_value(r, "injuries"), "Aucun");
    assert_string_equal(set_value(r, "pre_existing_damages"), "Aucun");
    assert_string_equal(set_value(r, "medical_records"), "Aucun");
    assert_true(said(r, "Qui était impliqué, et y a-t-il eu des témoins ?"));
    /* "Nobody else" answers both: the words for who, none for witnesses. */
    r = in(o, "Personne d'autre");
    assert_string_equal(set_value(r, "involved_parties"), "Personne d'autre");
    assert_string_equal(set_value(r, "witnesses"), "Aucun");
    expect_set(o, "Je m'appelle Jean Dupont", "policyholder_name", "Jean Dupont");
    expect_set(o, "AB 12345", "policy_number", "AB12345");
    expect_set(o, "jean point dupont arobase exemple point fr", "policyholder_email",
               "jean.dupont@exemple.fr");
    /* A national number in words: the call's region gives +33. */
    r = in(o, "zéro six douze trente-quatre cinquante-six soixante-dix-huit");
    assert_string_equal(set_value(r, "policyholder_phone"), "+33612345678");
    assert_true(said(r, "Pour résumer : "));
    assert_true(said(r, "J'ai aussi votre nom, votre numéro de contrat, votre numéro de "
                        "téléphone et votre adresse e-mail."));
    assert_true(said(r, "Est-ce que tout est correct ?"));

    /* Correct the date from the confirmation. */
    r = in(o, "Non");
    assert_true(said(r, "Quelle information souhaitez-vous modifier ?"));
    r = in(o, "la date");
    assert_true(said(r, "la date et l'heure de l'incident"));
    r = in(o, "le 8 octobre à 14h30");
    assert_string_equal(set_value(r, "incident_datetime"), "2024-10-08T14:30:00");
    assert_true(said(r, "J'ai corrigé."));
    assert_true(said(r, "8 octobre 2024 à 14 h 30"));
    assert_true(said(r, "Est-ce que tout est correct ?"));
    r = in(o, "oui c'est bon");
    assert_true(said(r, "Merci, votre déclaration est enregistrée. Au revoir !"));
    assert_ends(r, CCAI_OFFLINE_HANGUP);
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

static void test_spanish_dialogue(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = make(s, "es-ES", "{}", NULL);
    const Ccai_offline_reply *r = start(o, false);
    assert_true(said(r, "Hola, soy Amelia de Contoso."));
    assert_true(said(r, "¿Podría contarme qué ha pasado?"));
    /* Not the answer to the question: the date is noted, what happened is
     * asked again. */
    r = in(o, "el 8 de octubre a las 3 de la tarde");
    assert_string_equal(set_value(r, "incident_datetime"), "2024-10-08T15:00:00");
    assert_null(set_value(r, "incident_description"));
    assert_true(said(r, "8 de octubre de 2024 a las 15:00."));
    assert_true(said(r, "¿Podría contarme qué ha pasado?"));
    r = in(o, "no sé");
    assert_true(said(r, "Volveremos a ello más tarde."));
    assert_true(said(r, "el lugar del incidente"));
    r = in(o, "adiós");
    assert_true(said(r, "Para resumir: 8 de octubre de 2024 a las 15:00."));
    assert_true(said(r, "Gracias por su llamada. ¡Adiós!"));
    assert_ends(r, CCAI_OFFLINE_HANGUP);
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* Each spoken date, in a fresh dialogue, gives this value. */
static void test_spoken_dates(void **state)
{
    (void)state;
    static const struct {
        const char *lang, *said, *value;
    } cases[] = {
        {"en-US", "today at noon", "2024-10-08T12:00:00"},
        {"en-US", "this morning", "2024-10-08T09:00:00"},
        {"en-US", "last night", "2024-10-07T23:00:00"},
        {"en-US", "yesterday evening", "2024-10-07T20:00:00"},
        {"en-US", "the day before yesterday at 10 am", "2024-10-06T10:00:00"},
        {"en-US", "on Sunday afternoon", "2024-10-06T15:00:00"},
        {"en-US", "Tuesday at 9:15", "2024-10-08T09:15:00"},
        {"en-US", "the 8th of October at 2 pm", "2024-10-08T14:00:00"},
        {"en-US", "October 3rd, 2023 at 2:30pm", "2023-10-03T14:30:00"},
        {"en-US", "December 24 at 11 pm", "2023-12-24T23:00:00"}, /* the past one */
        {"en-US", "at 4 pm", "2024-10-07T16:00:00"},              /* still to come */
        {"en-US", "at 1 pm", "2024-10-08T13:00:00"},
        {"en-US", "around seven in the evening yesterday", "2024-10-07T19:00:00"},
        {"en-US", "2024-10-08 14:00", "2024-10-08T14:00:00"},
        {"en-US", "2024-10-08T14:30:00Z", "2024-10-08T14:30:00Z"},
        {"fr-FR", "le 8 octobre à 14h30", "2024-10-08T14:30:00"},
        {"fr-FR", "hier vers 17 heures 45", "2024-10-07T17:45:00"},
        {"fr-FR", "ce matin vers 9h", "2024-10-08T09:00:00"},
        {"fr-FR", "cette nuit", "2024-10-07T23:00:00"},
        {"fr-FR", "avant-hier à midi", "2024-10-06T12:00:00"},
        {"fr-FR", "lundi après-midi", "2024-10-07T15:00:00"},
        {"fr-FR", "le 1er mars 2024 à 8 h et demie", "2024-03-01T08:30:00"},
        {"fr-FR", "08/10/2024 14:30", "2024-10-08T14:30:00"},
        {"fr-FR", "le 08/10/2024 à 14h30", "2024-10-08T14:30:00"},
        {"es-ES", "ayer a las 10 de la mañana", "2024-10-07T10:00:00"},
        {"es-ES", "anoche", "2024-10-07T23:00:00"},
    };
    ccai_claim_schema *s = default_schema();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make(s, cases[i].lang, "{}", NULL);
        start(o, false);
        expect_set(o, cases[i].said, "incident_datetime", cases[i].value);
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

static void test_date_then_time(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = make(s, "en-GB", "{}", NULL);
    start(o, false);
    const Ccai_offline_reply *r = in(o, "Last Friday");
    assert_null(set_value(r, "incident_datetime"));
    assert_true(said(r, "And at what time, roughly?"));
    assert_asks(r);
    r = in(o, "banana");
    assert_true(said(r, "Sorry, I did not understand that time."));
    expect_set(o, "at half past... at 6:30 pm", "incident_datetime", "2024-10-04T18:30:00");
    Ccai_offline_free(o);

    /* Declining the time keeps the date alone. */
    o = make(s, "en-US", "{}", NULL);
    start(o, false);
    in(o, "October 1st");
    r = in(o, "I don't know");
    assert_string_equal(set_value(r, "incident_datetime"), "2024-10-01T00:00:00");
    assert_true(said(r, "Noted: 1 October 2024."));
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

static void test_invalid_answers(void **state)
{
    (void)state;
    ccai_claim_schema *s = NULL;
    assert_int_equal(ccai_claim_schema_new(&s), CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "when", CCAI_FIELD_DATETIME, "Date of the event"),
                     CCAI_OK);
    Ccai_offline *o = make(s, "en-US", "{}", NULL);
    const Ccai_offline_reply *r = start(o, false);
    assert_true(said(r, "Could you tell me the date of the event?"));

    r = in(o, "purple elephants");
    assert_true(said(r, "Sorry, I did not understand that date."));
    assert_true(said(r, "Could you tell me the date of the event?"));
    assert_asks(r);
    r = in(o, "the 31st of February 2024 at 3 pm");
    assert_true(said(r, "Sorry, that date or time does not exist."));
    /* Third failure: given up, not asked again (asked three times already;
     * a colleague follows up). A schema with fields of its own is asked in
     * its order. */
    r = in(o, "whenever");
    assert_true(said(r, "I could not note the date of the event, so let's move on."));
    assert_true(said(r, "Could you tell me the email address of the policyholder?"));
    in(o, "a@b.co");
    /* Not the answer asked: the phone number is noted, the name asked
     * again; digits are no name. */
    r = in(o, "0044 20 7946 0958");
    assert_string_equal(set_value(r, "policyholder_phone"), "+442079460958");
    assert_null(set_value(r, "policyholder_name"));
    assert_true(said(r, "Could you tell me the full name of the policyholder?"));
    r = in(o, "Ann Lee");
    assert_string_equal(set_value(r, "policyholder_name"), "Ann Lee");
    assert_false(said(r, "Let's come back to the questions we skipped."));
    assert_false(said(r, "Could you tell me the date of the event?"));
    assert_true(said(r, "I still do not have: date of the event."));
    assert_true(said(r, "Is everything correct?"));
    Ccai_offline_free(o);

    /* Email and phone reasons. */
    o = make(s, "en-US", "{}", NULL);
    start(o, false);
    in(o, "2024-10-01 10:00");
    r = in(o, "john doe example com");
    assert_true(said(r, "Could you spell the e-mail address for me, letter by letter?"));
    r = in(o, "J O H N at example dot org");
    assert_string_equal(set_value(r, "policyholder_email"), "john@example.org");
    assert_true(said(r, "I have your e-mail as j o h n at example dot org."));
    r = in(o, "Jane Roe");
    assert_true(said(r, "Could you tell me the phone number of the policyholder?"));
    r = in(o, "I have no idea what you mean");
    assert_true(said(r, "Sorry, I did not hear any digits."));
    assert_true(said(r, "Please include the country code"));
    r = in(o, "one two three");
    assert_true(said(r, "Sorry, that number seems too short."));
    r = in(o, "0612345678");
    assert_null(set_value(r, "policyholder_phone"));
    assert_true(said(r, "I could not note the phone number of the policyholder, so let's move "
                        "on."));
    Ccai_offline_free(o);

    /* A US caller may leave the country code out. */
    o = make(s, "en-US", "{}", NULL);
    start(o, false);
    in(o, "2024-10-01 10:00");
    in(o, "jane.roe@Example.ORG");
    in(o, "Jane Roe");
    r = in(o, "(415) 555 0123");
    assert_string_equal(set_value(r, "policyholder_phone"), "+14155550123");
    assert_true(said(r, "I have your number as + 1 4 1 5 5 5 5 0 1 2 3."));
    assert_true(said(r, "Is everything correct?"));
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

static void test_skip_and_come_back(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = make(s, "en-US", "{}", NULL);
    start(o, false);
    const Ccai_offline_reply *r = in(o, "skip");
    assert_true(said(r, "Let's come back to that later."));
    assert_true(said(r, "When and where did it happen?"));
    /* What happened, told when asked where: it is noted as what happened,
     * and when and where are asked again. */
    r = in(o, "A car hit my fence");
    assert_string_equal(set_value(r, "incident_description"), "A car hit my fence");
    assert_null(set_value(r, "incident_location"));
    assert_true(said(r, "When and where did it happen?"));
    r = in(o, "I don't know");
    assert_true(said(r, "Was anyone hurt, and was anything already damaged before this happened?"));
    /* "skip" to a question about two fields skips both (and whether anyone
     * saw a doctor, which follows whether anyone was hurt). */
    r = in(o, "skip");
    assert_true(said(r, "Who was involved, and did anyone witness it?"));
    r = in(o, "skip");
    assert_true(said(r, "May I have your full name and your policy number?"));
    r = in(o, "Ann Lee, policy AB 12345");
    assert_string_equal(set_value(r, "policyholder_name"), "Ann Lee");
    assert_string_equal(set_value(r, "policy_number"), "AB12345");
    in(o, "a@b.co");
    r = in(o, "+33 6 12 34 56 78");
    assert_string_equal(set_value(r, "policyholder_phone"), "+33612345678");
    /* "I don't know" when and where: the time may be found later (asked
     * once more), the place not ([dontknow.later]) */
    assert_true(said(r, "Let's come back to the questions we skipped."));
    assert_true(said(r, "date and time of the incident"));
    r = in(o, "this morning at 8");
    assert_string_equal(set_value(r, "incident_datetime"), "2024-10-08T08:00:00");
    assert_false(said(r, "location"));
    assert_true(said(r, "Was anyone hurt, and was anything already damaged before this happened?"));
    r = in(o, "skip");
    assert_true(said(r, "Who was involved, and did anyone witness it?"));
    r = in(o, "skip");
    /* Skipped twice: given up, listed as missing. */
    assert_true(said(r, "No problem, let's move on."));
    assert_true(said(r, "I still do not have: "));
    assert_true(said(r, "injuries sustained during the incident, if any"));
    assert_true(said(r, "Is everything correct?"));
    r = in(o, "change the location");
    assert_true(said(r, "Could you tell me the location of the incident?"));
    r = in(o, "my garden");
    assert_true(said(r, "To sum up: A car hit my fence, 8 October 2024 at 08:00, my garden."));
    assert_true(said(r, "Is everything correct?"));
    r = in(o, "maybe");
    assert_true(said(r, "Please answer yes or no."));
    r = in(o, "no");
    assert_true(said(r, "Which information would you like to change?"));
    r = in(o, "hmm the thing");
    assert_true(said(r, "Sorry, which information? For example: the date and time"));
    r = in(o, "nothing");
    assert_true(said(r, "Is everything correct?"));
    r = in(o, "yes");
    assert_ends(r, CCAI_OFFLINE_HANGUP);
    Ccai_offline_free(o);

    /* "Non" is a skip alone, an answer after another one ("Moi. Non." to
     * "who was involved, and were there witnesses?"). */
    o = make(s, "fr-FR", "{}", NULL);
    start(o, false);
    in(o, "Mon vélo a été volé.");
    in(o, "Ce matin vers sept heures, dans le local à vélos, 40 rue Garibaldi à Lyon.");
    r = in(o, "Non.");
    assert_true(said(r, "Qui était impliqué, et y a-t-il eu des témoins ?"));
    r = in(o, "Moi. Non.");
    assert_string_equal(set_value(r, "involved_parties"), "Moi");
    assert_string_equal(set_value(r, "witnesses"), "Aucun");
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

static void test_transfer(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char *const ask[] = {"I want to speak to a human, please", "agent",
                                      "Can I talk to an advisor?", "ok operator"};
    for (size_t i = 0; i < 4; i++) {
        Ccai_offline *o = make(s, "en-US", "{}", NULL);
        start(o, false);
        const Ccai_offline_reply *r = in(o, ask[i]);
        assert_true(said(r, "I am transferring you to an advisor"));
        assert_ends(r, CCAI_OFFLINE_TRANSFER);
        assert_true(Ccai_offline_ended(o));
        Ccai_offline_free(o);
    }
    Ccai_offline *o = make(s, "fr-FR", "{}", NULL);
    start(o, false);
    in(o, "hier à 10h");
    in(o, "un humain était blessé"); /* an answer, not a request */
    const Ccai_offline_reply *r = in(o, "Je voudrais parler à un conseiller s'il vous plaît");
    assert_true(said(r, "Je vous transfère à un conseiller"));
    assert_ends(r, CCAI_OFFLINE_TRANSFER);
    /* What was noted before the request stays. */
    assert_string_equal(Ccai_offline_claim_json(o),
                        "{\"incident_datetime\":\"2024-10-07T10:00:00\","
                        "\"incident_description\":\"Un humain était blessé\","
                        "\"injuries\":\"Un humain était blessé\"}");
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

static void test_goodbye_midway(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = make(s, "en-US", "{}", NULL);
    start(o, false);
    in(o, "yesterday at 10 am");
    const Ccai_offline_reply *r = in(o, "OK, goodbye");
    assert_true(said(r, "To sum up: 7 October 2024 at 10:00."));
    assert_false(said(r, "I still do not have"));
    assert_true(said(r, "Thank you for your call. Goodbye!"));
    assert_ends(r, CCAI_OFFLINE_HANGUP);
    Ccai_offline_free(o);

    o = make(s, "fr-FR", "{}", NULL);
    start(o, false);
    r = in(o, "Merci, au revoir");
    assert_false(said(r, "Voici ce que j'ai noté."));
    assert_true(said(r, "Merci de votre appel. Au revoir !"));
    assert_ends(r, CCAI_OFFLINE_HANGUP);
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

static void test_repeat(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = make(s, "en-US", "{}", NULL);
    start(o, false);
    in(o, "today at 9 am");
    const Ccai_offline_reply *r = in(o, "Sorry?");
    assert_int_equal(r->n, 1);
    assert_string_equal(r->v[0].text, "Could you tell me what happened?");
    assert_asks(r);
    r = in(o, "sorry, could you repeat that please?");
    assert_int_equal(r->n, 1);
    assert_string_equal(r->v[0].text, "Could you tell me what happened?");
    Ccai_offline_free(o);

    /* Repeated with the example that helps. */
    o = make(s, "fr-FR", "{}", NULL);
    start(o, false);
    in(o, "Ma voiture a été rayée");
    r = in(o, "Pardon, vous pouvez répéter ?");
    assert_true(said(r, "Quand et où cela s'est-il passé ?"));
    assert_true(said(r, "Par exemple"));
    assert_false(has(r, CCAI_OFFLINE_SET_FIELD, NULL));
    Ccai_offline_free(o);
    o = make(s, "es-ES", "{}", NULL);
    start(o, false);
    r = in(o, "perdón, ¿puede repetir?");
    assert_true(said(r, "¿Podría contarme qué ha pasado?"));
    assert_false(has(r, CCAI_OFFLINE_SET_FIELD, NULL));
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

static void test_language_switch(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    const char *const avail[] = {"en-GB", "fr-CA", NULL};
    Ccai_offline *o = make(s, "en-GB", "{}", avail);
    start(o, false);
    in(o, "yesterday at noon");
    const Ccai_offline_reply *r = in(o, "Can we continue in French please?");
    assert_true(has(r, CCAI_OFFLINE_SET_LANG, "fr-CA"));
    assert_int_equal(r->v[0].kind, CCAI_OFFLINE_SET_LANG);
    assert_true(said(r, "Bien sûr, continuons en français."));
    assert_true(said(r, "Pouvez-vous me dire ce qui s'est passé ?"));
    assert_asks(r);
    assert_string_equal(Ccai_offline_lang(o), "fr-CA");
    expect_set(o, "Un arbre est tombé sur ma voiture", "incident_description",
               "Un arbre est tombé sur ma voiture");
    r = in(o, "en espagnol");
    assert_true(said(r, "Désolé, je ne peux pas parler cette langue sur cette ligne."));
    assert_false(has(r, CCAI_OFFLINE_SET_LANG, NULL));
    r = in(o, "français");
    assert_false(has(r, CCAI_OFFLINE_SET_LANG, NULL));
    assert_true(said(r, "le lieu de l'incident"));
    r = in(o, "anglais");
    assert_true(has(r, CCAI_OFFLINE_SET_LANG, "en-GB"));
    assert_true(said(r, "Of course, let's continue in English."));
    assert_true(said(r, "Could you tell me the location of the incident?"));
    Ccai_offline_free(o);

    /* Unknown call languages fall back to English. */
    o = make(s, "de-DE", "{}", NULL);
    r = start(o, false);
    assert_true(said(r, "Hello, this is Amelia from Contoso."));
    r = in(o, "Spanish");
    assert_true(has(r, CCAI_OFFLINE_SET_LANG, "es-ES"));
    assert_true(said(r, "Claro, sigamos en español."));
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* "Slower, please" lowers the speaking rate a step, down to 0.75. */
static void test_slower(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = make(s, "fr-FR", "{}", NULL);
    start(o, false);
    const Ccai_offline_reply *r = in(o, "Plus lentement, s'il vous plaît.");
    assert_true(has(r, CCAI_OFFLINE_SET_RATE, "0.85"));
    assert_true(said(r, "Pouvez-vous me dire ce qui s'est passé ?"));
    assert_false(has(r, CCAI_OFFLINE_SET_FIELD, NULL));
    r = in(o, "plus lentement");
    assert_true(has(r, CCAI_OFFLINE_SET_RATE, "0.75"));
    r = in(o, "plus lentement");
    assert_false(has(r, CCAI_OFFLINE_SET_RATE, NULL)); /* as slow as it goes */
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

static void test_silence(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = make(s, "en-US", "{}", NULL);
    start(o, false);
    const Ccai_offline_reply *r = NULL;
    assert_int_equal(Ccai_offline_silence(o, &r), CCAI_OK);
    assert_true(said(r, "Are you still there?"));
    assert_true(said(r, "Could you tell me what happened?"));
    assert_asks(r);
    /* An answer resets the count. */
    in(o, "repeat");
    assert_int_equal(Ccai_offline_silence(o, &r), CCAI_OK);
    assert_int_equal(Ccai_offline_silence(o, &r), CCAI_OK);
    assert_true(said(r, "Are you still there?"));
    assert_int_equal(Ccai_offline_silence(o, &r), CCAI_OK);
    assert_true(said(r, "I cannot hear you, so I will end the call."));
    assert_ends(r, CCAI_OFFLINE_HANGUP);
    assert_int_equal(Ccai_offline_silence(o, &r), CCAI_ERR_STATE);
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

static void test_resumed(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o =
        make(s, "en-US",
             "{\"incident_datetime\": \"2024-10-07 15:00\", \"policyholder_name\": \"John Doe\","
             " \"policyholder_email\": \"not an email\", \"unknown\": \"x\", \"injuries\": 3}",
             NULL);
    /* Values are normalised; invalid ones and unknown keys are dropped. */
    assert_string_equal(Ccai_offline_claim_json(o),
                        "{\"incident_datetime\":\"2024-10-07T15:00:00\","
                        "\"policyholder_name\":\"John Doe\"}");
    const Ccai_offline_reply *r = start(o, true);
    assert_true(said(r, "Welcome back, this is Amelia from Contoso."));
    assert_true(said(r, "Here is what I have noted so far."));
    assert_true(said(r, "To sum up: 7 October 2024 at 15:00."));
    assert_true(said(r, "I also have your name."));
    assert_true(said(r, "Could you tell me what happened?"));
    assert_asks(r);
    assert_int_equal(Ccai_offline_start(o, true, &r), CCAI_ERR_STATE);
    Ccai_offline_free(o);

    o = make(s, "fr-FR", "{}", NULL);
    r = start(o, true);
    assert_true(said(r, "Rebonjour, je suis Amelia de Contoso."));
    assert_true(said(r, "Je n'ai encore rien noté."));
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

static void test_custom_schema(void **state)
{
    (void)state;
    ccai_claim_schema *s = NULL;
    assert_int_equal(
        ccai_claim_schema_from_json(
            "[{\"name\": \"plate\", \"type\": \"text\", \"description\": \"Vehicle registration "
            "plate\"}, {\"name\": \"appointment\", \"type\": \"datetime\"},"
            " {\"name\": \"policyholder_phone\", \"type\": \"phone_number\"}]",
            (size_t)-1, &s, NULL),
        CCAI_OK);
    const Ccai_offline_params p = {.schema = s,
                                   .claim_json = "{\"policyholder_email\": \"a@b.fr\"}",
                                   .lang = "en-US",
                                   .bot_name = "Max",
                                   .now_ms = NOW_MS,
                                   .utc_offset_min = 120};
    Ccai_offline *o = NULL;
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    const Ccai_offline_reply *r = start(o, false);
    assert_true(said(r, "Hello, this is Max."));
    assert_true(said(r, "Could you tell me the vehicle registration plate?"));
    expect_set(o, "AB-123-CD", "plate", "AB-123-CD");
    r = in(o, "yesterday");
    assert_true(said(r, "And at what time, roughly?"));
    /* UTC+2: local time is 16:00, so 3:30 pm is already past today. */
    r = in(o, "today at 3:30 pm");
    assert_string_equal(set_value(r, "appointment"), "2024-10-08T15:30:00");
    assert_true(said(r, "Could you tell me the phone number of the policyholder?"));
    r = in(o, "plus 33 6 12 34 56 78");
    assert_true(said(r, "Could you tell me the full name of the policyholder?"));
    r = in(o, "Jean-Pierre O'Neil");
    assert_string_equal(set_value(r, "policyholder_name"), "Jean-Pierre O'Neil");
    assert_true(said(r, "Vehicle registration plate: AB-123-CD."));
    assert_true(said(r, "Appointment: 8 October 2024 at 15:30."));
    r = in(o, "the plate is wrong");
    assert_true(said(r, "Could you tell me the vehicle registration plate?"));
    r = in(o, "AB-124-CD");
    assert_string_equal(set_value(r, "plate"), "AB-124-CD");
    r = in(o, "yes");
    assert_ends(r, CCAI_OFFLINE_HANGUP);
    assert_string_equal(Ccai_offline_claim_json(o),
                        "{\"plate\":\"AB-124-CD\",\"appointment\":\"2024-10-08T15:30:00\","
                        "\"policyholder_phone\":\"+33612345678\",\"policyholder_email\":"
                        "\"a@b.fr\",\"policyholder_name\":\"Jean-Pierre O'Neil\"}");
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

static const char *const script[] = {"euh",
                                     "hier soir",
                                     "~",
                                     "répétez",
                                     "Un dégât des eaux",
                                     "in English please",
                                     "my kitchen",
                                     "no",
                                     "skip",
                                     "help me",
                                     "",
                                     "skip",
                                     "skip",
                                     "skip",
                                     "skip",
                                     "jean at",
                                     "x@y.zz",
                                     "~",
                                     "+33 1 23 45 67 89",
                                     "skip",
                                     "no",
                                     "no",
                                     "nobody",
                                     "jean at example dot com",
                                     "no",
                                     "the name",
                                     "Jean Martin",
                                     "yes"};

/* Run the script; the transcript of every action goes into *out. */
static ccai_status run_script(const ccai_claim_schema *s, char **out)
{
    Ccai_offline_params p = {.schema = s,
                             .claim_json = "{}",
                             .lang = "fr-FR",
                             .bot_name = "Amelia",
                             .bot_company = "Contoso",
                             .now_ms = NOW_MS};
    Ccai_offline *o = NULL;
    ccai_status st = Ccai_offline_new(&p, &o);
    if (st != CCAI_OK)
        return st;
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    buf[0] = '\0';
    const Ccai_offline_reply *r = NULL;
    for (size_t i = 0; i <= sizeof script / sizeof script[0]; i++) {
        /* A failed turn changes nothing: retry it until it passes. */
        do {
            if (i == 0)
                st = Ccai_offline_start(o, false, &r);
            else if (strcmp(script[i - 1], "~") == 0)
                st = Ccai_offline_silence(o, &r);
            else
                st = Ccai_offline_input(o, script[i - 1], &r);
        } while (st == CCAI_ERR_NOMEM);
        if (st != CCAI_OK)
            break;
        for (size_t k = 0; k < r->n; k++)
            len += (size_t)snprintf(buf + len, cap - len, "%d%c %s %s\n", r->v[k].kind,
                                    r->v[k].expects_reply ? '?' : '.',
                                    r->v[k].field ? r->v[k].field : "-",
                                    r->v[k].text ? r->v[k].text : "-");
    }
    len += (size_t)snprintf(buf + len, cap - len, "%s\n", Ccai_offline_claim_json(o));
    Ccai_offline_free(o);
    *out = buf;
    return st;
}

static void test_determinism(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    char *a = NULL, *b = NULL;
    assert_int_equal(run_script(s, &a), CCAI_OK);
    assert_int_equal(run_script(s, &b), CCAI_OK);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "4. - en-US"));
    assert_non_null(strstr(a, "3. - -"));
    assert_non_null(strstr(a, "\"policyholder_name\":\"Jean Martin\""));
    free(a);
    free(b);
    ccai_claim_schema_unref(s);
}

/* Out-of-memory injection: every allocation fails in turn. */
static long fail_at = -1, n_allocs, outstanding;

static void *t_malloc(size_t size, void *ud)
{
    (void)ud;
    if (fail_at >= 0 && n_allocs++ == fail_at)
        return NULL;
    void *p = malloc(size);
    if (p)
        outstanding++;
    return p;
}

static void *t_realloc(void *ptr, size_t size, void *ud)
{
    (void)ud;
    if (fail_at >= 0 && n_allocs++ == fail_at)
        return NULL;
    void *p = realloc(ptr, size);
    if (p && !ptr)
        outstanding++;
    return p;
}

static void t_free(void *ptr, void *ud)
{
    (void)ud;
    if (ptr)
        outstanding--;
    free(ptr);
}

static void test_out_of_memory(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    char *clean = NULL;
    assert_int_equal(run_script(s, &clean), CCAI_OK);
    ccai_allocator a = {CCAI_ALLOCATOR_VERSION, t_malloc, t_realloc, t_free, NULL,
                        CCAI_ALLOCATOR_JSON};
    assert_int_equal(ccai_set_allocator(&a), CCAI_OK);
    long k;
    for (k = 0;; k++) {
        fail_at = k;
        n_allocs = 0;
        outstanding = 0;
        char *out = NULL;
        ccai_status st = run_script(s, &out);
        assert_int_equal(outstanding, 0);
        if (st == CCAI_OK) {
            /* Retried turns give the same conversation as a clean run. */
            assert_string_equal(out, clean);
            free(out);
        } else {
            assert_int_equal(st, CCAI_ERR_NOMEM);
        }
        if (n_allocs <= k)
            break;
    }
    fail_at = -1;
    assert_int_equal(ccai_set_allocator(NULL), CCAI_OK);
    assert_true(k > 100);
    free(clean);
    ccai_claim_schema_unref(s);
}

static void test_arguments(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = NULL;
    Ccai_offline_params p = {.now_ms = NOW_MS};
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_ERR_INVALID_ARG);
    p.schema = s;
    assert_int_equal(Ccai_offline_new(NULL, &o), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_offline_new(&p, NULL), CCAI_ERR_INVALID_ARG);
    p.utc_offset_min = 25 * 60;
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_ERR_INVALID_ARG);
    p.utc_offset_min = 0;
    p.claim_json = "[1]";
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_ERR_PARSE);
    p.claim_json = "{";
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_ERR_PARSE);
    assert_null(o);
    p.claim_json = NULL;
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    assert_string_equal(Ccai_offline_lang(o), "en-US");
    assert_string_equal(Ccai_offline_claim_json(o), "{}");

    const Ccai_offline_reply *r = NULL;
    assert_int_equal(Ccai_offline_input(o, "hello", &r), CCAI_ERR_STATE);
    assert_int_equal(Ccai_offline_silence(o, &r), CCAI_ERR_STATE);
    r = start(o, false);
    assert_true(said(r, "Hello."));
    assert_int_equal(Ccai_offline_input(o, NULL, &r), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_offline_input(o, "x", NULL), CCAI_ERR_INVALID_ARG);
    assert_int_equal(Ccai_offline_input(NULL, "x", &r), CCAI_ERR_INVALID_ARG);

    /* Empty and oversized input. */
    r = in(o, "   ");
    assert_true(said(r, "Sorry, I did not catch that."));
    assert_asks(r);
    in(o, "yesterday at 5 pm");
    char *big = malloc(5000);
    assert_non_null(big);
    memset(big, 'a', 4999);
    big[4999] = '\0';
    memcpy(big + 1999, "\xc3\xa9", 2); /* é across the limit is dropped whole */
    r = in(o, big);
    const char *v = set_value(r, "incident_description");
    assert_non_null(v);
    assert_int_equal(strlen(v), 1999);
    /* Invalid UTF-8 is refused with a reason, not stored. */
    r = in(o, "bad \xff\xfe bytes");
    assert_null(set_value(r, "incident_location"));
    assert_true(said(r, "Sorry, I could not note that."));
    free(big);
    Ccai_offline_free(o);
    Ccai_offline_free(NULL);
    ccai_claim_schema_unref(s);
}

/* A dialogue at the confirmation question: every field is known. */
static Ccai_offline *at_confirmation(const ccai_claim_schema *s, const char *lang,
                                     bool can_transfer)
{
    Ccai_offline_params p = {.schema = s,
                             .claim_json = "{\"incident_datetime\": \"2024-10-07 15:00\","
                                           " \"incident_description\": \"A pipe burst\","
                                           " \"policyholder_email\": \"ann@example.com\","
                                           " \"policyholder_name\": \"Ann Lee\","
                                           " \"policyholder_phone\": \"+33612345678\"}",
                             .lang = lang,
                             .bot_name = "Amelia",
                             .bot_company = "Contoso",
                             .now_ms = NOW_MS,
                             .can_transfer = can_transfer};
    Ccai_offline *o = NULL;
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    const Ccai_offline_reply *r = start(o, true);
    assert_true(said(r, "?"));
    assert_asks(r);
    return o;
}

static ccai_claim_schema *two_field_schema(void)
{
    ccai_claim_schema *s = NULL;
    assert_int_equal(ccai_claim_schema_new(&s), CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "incident_datetime", CCAI_FIELD_DATETIME, NULL),
                     CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "incident_description", CCAI_FIELD_TEXT, NULL),
                     CCAI_OK);
    return s;
}

/* Callers answer "is everything correct?" in a sentence, not with a bare
 * yes or no (a call once looped 74 times on "yes, that's all correct"). */
static void test_confirm_in_a_sentence(void **state)
{
    (void)state;
    ccai_claim_schema *s = two_field_schema();
    static const struct {
        const char *lang, *text;
    } yes[] = {
        {"en-US", "yes, that's all correct"},
        {"en-US", "Yes that's all correct"},
        {"en-US", "yeah that's right"},
        {"en-US", "Yep, all good."},
        {"en-US", "That's correct, thank you."},
        {"en-US", "it's all correct"},
        {"en-US", "Everything is correct."},
        {"en-US", "yes everything is fine"},
        {"en-US", "Sounds good to me."},
        {"en-US", "Looks good, thanks"},
        {"en-US", "perfect, thank you"},
        {"en-US", "Absolutely."},
        {"en-US", "yes it is"},
        {"en-US", "uh huh, that's right"},
        {"en-US", "I think so"},
        {"en-US", "Yes, there is nothing to change."},
        {"en-US", "No mistakes, it's all correct."},
        {"en-US", "Nothing's wrong, that's it."},
        {"en-US", "correct"},
        {"fr-FR", "oui c'est bien ça"},
        {"fr-FR", "Oui, c'est bien ça."},
        {"fr-FR", "ouais c'est ça"},
        {"fr-FR", "C'est exact."},
        {"fr-FR", "tout est correct"},
        {"fr-FR", "Oui, tout est bon, merci."},
        {"fr-FR", "c'est parfait"},
        {"fr-FR", "tout à fait"},
        {"fr-FR", "oui oui c'est juste"},
        {"fr-FR", "Il n'y a rien à changer."},
        {"fr-FR", "Bien sûr."},
        {"es-ES", "sí, todo correcto"},
        {"es-ES", "Sí, está bien."},
        {"es-ES", "es correcto"},
        {"es-ES", "todo bien, gracias"},
        {"es-ES", "así es"},
        {"es-ES", "claro que sí"},
        {"es-ES", "Perfecto."},
        {"es-ES", "De acuerdo."},
        {"es-ES", "No hay nada que cambiar."},
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        Ccai_offline *o = at_confirmation(s, yes[i].lang, false);
        const Ccai_offline_reply *r = in(o, yes[i].text);
        if (!Ccai_offline_ended(o) || !has(r, CCAI_OFFLINE_HANGUP, NULL))
            fail_msg("\"%s\" (%s) was not taken as yes: \"%s\"", yes[i].text, yes[i].lang,
                     r->n ? r->v[0].text : "");
        assert_ends(r, CCAI_OFFLINE_HANGUP);
        assert_true(said(r, yes[i].lang[0] == 'e' && yes[i].lang[1] == 'n'
                                ? "your claim is recorded"
                            : yes[i].lang[0] == 'f' ? "votre déclaration est"
                                                    : "su declaración"));
        Ccai_offline_free(o);
    }

    /* No, without saying what: "which one?". No and a field: that field. */
    static const struct {
        const char *lang, *text, *expect;
    } no[] = {
        {"en-US", "no", "Which information would you like to change?"},
        {"en-US", "Nope.", "Which information would you like to change?"},
        {"en-US", "that's not right", "Which information would you like to change?"},
        {"en-US", "not correct", "Which information would you like to change?"},
        {"en-US", "It is not correct.", "Which information would you like to change?"},
        {"en-US", "That's wrong.", "Which information would you like to change?"},
        {"en-US", "No, that's not it.", "Which information would you like to change?"},
        {"en-US", "not quite", "Which information would you like to change?"},
        {"en-US", "There is a mistake.", "Which information would you like to change?"},
        {"en-US", "I don't think so", "Which information would you like to change?"},
        {"en-US", "I'd like to change something", "Which information would you like to change?"},
        {"en-US", "no, the date is wrong", "date and time of the incident"},
        {"en-US", "Yes, but the date is wrong.", "date and time of the incident"},
        {"en-US", "Everything is right except the description", "what happened"},
        {"en-US", "The description isn't right", "what happened"},
        {"fr-FR", "non ce n'est pas ça", "Quelle information souhaitez-vous modifier ?"},
        {"fr-FR", "Non.", "Quelle information souhaitez-vous modifier ?"},
        {"fr-FR", "pas correct", "Quelle information souhaitez-vous modifier ?"},
        {"fr-FR", "Ce n'est pas correct.", "Quelle information souhaitez-vous modifier ?"},
        {"fr-FR", "c'est faux", "Quelle information souhaitez-vous modifier ?"},
        {"fr-FR", "Il y a une erreur.", "Quelle information souhaitez-vous modifier ?"},
        {"fr-FR", "pas tout à fait", "Quelle information souhaitez-vous modifier ?"},
        {"fr-FR", "Non, la date est fausse.", "la date et l'heure de l'incident"},
        {"es-ES", "no, está mal", "¿Qué dato desea cambiar?"},
        {"es-ES", "No.", "¿Qué dato desea cambiar?"},
        {"es-ES", "no es correcto", "¿Qué dato desea cambiar?"},
        {"es-ES", "Eso no es correcto.", "¿Qué dato desea cambiar?"},
        {"es-ES", "está mal", "¿Qué dato desea cambiar?"},
        {"es-ES", "Hay un error.", "¿Qué dato desea cambiar?"},
        {"es-ES", "no del todo", "¿Qué dato desea cambiar?"},
        {"es-ES", "No, la fecha está mal.", "la fecha y la hora del incidente"},
    };
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        Ccai_offline *o = at_confirmation(s, no[i].lang, false);
        const Ccai_offline_reply *r = in(o, no[i].text);
        if (Ccai_offline_ended(o) || !said(r, no[i].expect))
            fail_msg("\"%s\" (%s) was not taken as no: \"%s\"", no[i].text, no[i].lang,
                     r->n ? r->v[r->n - 1].text : "");
        assert_asks(r);
        Ccai_offline_free(o);
    }

    /* Neither: asked again, in the caller's language. */
    Ccai_offline *o = at_confirmation(s, "en-US", false);
    const Ccai_offline_reply *r = in(o, "maybe");
    assert_true(said(r, "Please answer yes or no."));
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* Every question is asked again a bounded number of times, then the
 * dialogue moves on and says so. */
static void test_reasks_are_bounded(void **state)
{
    (void)state;
    ccai_claim_schema *s = two_field_schema();

    /* The confirmation: three unclear answers, then the claim is kept as it
     * is (no agent number) or handed to an advisor (agent number). */
    Ccai_offline *o = at_confirmation(s, "en-US", false);
    const Ccai_offline_reply *r = in(o, "hmm");
    assert_true(said(r, "Please answer yes or no."));
    r = in(o, "what do you mean");
    assert_true(said(r, "Please answer yes or no."));
    r = in(o, "banana");
    assert_true(said(r, "recording your claim as it is"));
    assert_ends(r, CCAI_OFFLINE_HANGUP);
    Ccai_offline_free(o);

    o = at_confirmation(s, "fr-FR", true);
    in(o, "euh");
    in(o, "je sais pas trop quoi");
    r = in(o, "peut-être");
    assert_true(said(r, "je vous transfère à un conseiller"));
    assert_ends(r, CCAI_OFFLINE_TRANSFER);
    Ccai_offline_free(o);

    /* Asking for the summary again counts too. */
    o = at_confirmation(s, "es-ES", false);
    for (int i = 0; i < 2; i++) {
        r = in(o, "¿cómo?");
        assert_asks(r);
    }
    r = in(o, "repita");
    assert_ends(r, CCAI_OFFLINE_HANGUP);
    Ccai_offline_free(o);

    /* Correcting over and over (a name the recogniser keeps getting
     * wrong) ends too. */
    o = at_confirmation(s, "en-US", true);
    int turns = 0;
    while (!Ccai_offline_ended(o) && turns < 40) {
        r = in(o, "no, the description is wrong");
        turns++;
        if (!Ccai_offline_ended(o)) {
            r = in(o, "A pipe burst in the kitchen");
            turns++;
        }
    }
    assert_true(Ccai_offline_ended(o));
    assert_true(turns <= 12);
    assert_ends(r, CCAI_OFFLINE_TRANSFER);
    Ccai_offline_free(o);

    /* A caller who never gives a usable answer, whatever the kind: each
     * question is asked at most CCAI_OFFLINE_TRIES times in a row, and the
     * call ends after CCAI_OFFLINE_STUCK such turns in a row, saying why. */
    static const struct {
        const char *text;
        bool never_an_answer; /* a text field does not take it either */
    } junk[] = {{"purple", false},        {"", true},    {"...", true},
                {"what?", true},          {"hmm", true}, {"in Italian", false},
                {"Spanish please", true}, {"ok", false}, {"no", false},
                {"euh...", true}};
    ccai_claim_schema *def = default_schema();
    const char *const avail[] = {"en-US", NULL};
    for (size_t k = 0; k < sizeof junk / sizeof junk[0]; k++) {
        Ccai_offline_params p = {.schema = def,
                                 .claim_json = "{}",
                                 .lang = "en-US",
                                 .available_langs = avail,
                                 .now_ms = NOW_MS};
        o = NULL;
        assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
        r = start(o, false);
        char last[512] = "";
        int same = 0, n = 0;
        while (!Ccai_offline_ended(o) && n < 500) {
            r = in(o, junk[k].text);
            n++;
            const char *q = r->n && r->v[r->n - 1].text ? r->v[r->n - 1].text : "";
            same = strcmp(q, last) == 0 ? same + 1 : 1;
            snprintf(last, sizeof last, "%s", q);
            if (same > CCAI_OFFLINE_TRIES)
                fail_msg("\"%s\": \"%s\" asked %d times in a row", junk[k].text, q, same);
        }
        if (!Ccai_offline_ended(o))
            fail_msg("\"%s\": still going after %d turns", junk[k].text, n);
        if (junk[k].never_an_answer) {
            assert_true(n <= CCAI_OFFLINE_STUCK);
            assert_true(said(r, "I am having trouble understanding you, so I will end the call."));
            assert_ends(r, CCAI_OFFLINE_HANGUP);
        }
        Ccai_offline_free(o);
    }
    Ccai_offline_params p = {.schema = def,
                             .lang = "es-ES",
                             .available_langs = avail,
                             .now_ms = NOW_MS,
                             .can_transfer = true};
    o = NULL;
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    start(o, false);
    for (int i = 0; i < CCAI_OFFLINE_STUCK && !Ccai_offline_ended(o); i++)
        r = in(o, "mmm");
    assert_true(said(r, "Me cuesta entenderle, así que le transfiero a un asesor."));
    assert_ends(r, CCAI_OFFLINE_TRANSFER);
    Ccai_offline_free(o);
    ccai_claim_schema_unref(def);

    /* A field that cannot be noted is put off with a sentence that says so. */
    o = make(s, "en-US", "{}", NULL);
    start(o, false);
    in(o, "A pipe burst in the kitchen");
    in(o, "purple");
    in(o, "purple");
    r = in(o, "purple");
    assert_true(said(r, "I could not note the date and time of the incident, so let's move on."));
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

static const Ccai_offline_reply *take_over(Ccai_offline *o, const char *intro, const char *words)
{
    const Ccai_offline_reply *r = NULL;
    assert_int_equal(Ccai_offline_take_over(o, intro, words, &r), CCAI_OK);
    assert_non_null(r);
    return r;
}

/* The LLM held the call and failed: the dialogue says so and asks the next
 * missing field; the caller's last words were an answer to the LLM, not
 * to a question of the dialogue, and are used only for what they ask. */
static void test_take_over(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    const char *llm_claim = "{\"incident_datetime\": \"2024-10-07 23:00\","
                            " \"incident_description\": \"Flooded basement\"}";
    const char *intro = "Sorry, I am having a technical problem, so let's go on with a few "
                        "simple questions.";

    Ccai_offline *o = make(s, "en-US", llm_claim, NULL);
    const Ccai_offline_reply *r = take_over(o, intro, "It is at 5 rue de la Paix in Paris.");
    assert_true(said(r, intro));
    assert_true(said(r, "Could you tell me the location of the incident?"));
    assert_false(said(r, "Hello"));
    assert_false(said(r, "Welcome back"));
    assert_false(said(r, "Sorry, I did not"));
    assert_false(has(r, CCAI_OFFLINE_SET_FIELD, NULL));
    assert_asks(r);
    assert_int_equal(Ccai_offline_start(o, true, &r), CCAI_ERR_STATE);
    assert_int_equal(Ccai_offline_take_over(o, intro, NULL, &r), CCAI_ERR_STATE);
    expect_set(o, "5 rue de la Paix, Paris", "incident_location", "5 rue de la Paix, Paris");
    assert_string_equal(Ccai_offline_claim_json(o),
                        "{\"incident_datetime\":\"2024-10-07T23:00:00\",\"incident_description\":"
                        "\"Flooded basement\",\"incident_location\":\"5 rue de la Paix, Paris\"}");
    Ccai_offline_free(o);

    /* Words said to the LLM are not taken as an answer to a question this
     * dialogue never asked: the first question is asked, not answered with
     * "Sorry, I did not understand". */
    o = make(s, "en-US", "{}", NULL);
    r = take_over(o, intro, "My neighbour's tree fell on the roof of my garage");
    assert_true(said(r, "Could you tell me what happened?"));
    assert_false(said(r, "did not understand"));
    assert_false(has(r, CCAI_OFFLINE_SET_FIELD, NULL));
    Ccai_offline_free(o);
    o = make(s, "en-US", "{}", NULL);
    r = take_over(o, intro, "It happened yesterday at 5 pm");
    assert_false(has(r, CCAI_OFFLINE_SET_FIELD, NULL));
    assert_true(said(r, "Could you tell me what happened?"));
    Ccai_offline_free(o);

    /* A goodbye: what was noted, goodbye, no talk of a problem. */
    o = make(s, "en-US", llm_claim, NULL);
    r = take_over(o, intro, "OK thanks, that's all, goodbye.");
    assert_false(said(r, intro));
    assert_true(said(r, "To sum up: Flooded basement, 7 October 2024 at 23:00."));
    assert_true(said(r, "Thank you for your call. Goodbye!"));
    assert_ends(r, CCAI_OFFLINE_HANGUP);
    Ccai_offline_free(o);

    /* An answer that ends with "that's all" is no goodbye; "bye" is. */
    o = make(s, "en-US", "{}", NULL);
    start(o, false);
    r = in(o, "Yesterday at 5 pm, that's all I remember.");
    assert_non_null(set_value(r, "incident_datetime"));
    assert_null(set_value(r, "incident_description")); /* "that's all I remember" */
    r = in(o, "A pipe burst in the kitchen, that's all.");
    assert_string_equal(set_value(r, "incident_description"), "A pipe burst in the kitchen");
    assert_asks(r);
    r = in(o, "Sorry, I have to go. Bye!");
    assert_true(said(r, "Thank you for your call. Goodbye!"));
    assert_ends(r, CCAI_OFFLINE_HANGUP);
    Ccai_offline_free(o);

    /* A person. */
    o = make(s, "fr-FR", llm_claim, NULL);
    r = take_over(o, "Je rencontre un problème technique.",
                  "Je voudrais parler à un conseiller s'il vous plaît");
    assert_true(said(r, "Je vous transfère à un conseiller"));
    assert_false(said(r, "problème technique"));
    assert_ends(r, CCAI_OFFLINE_TRANSFER);
    Ccai_offline_free(o);

    /* A language: switched, then the next question in that language. */
    const char *const avail[] = {"en-US", "es-ES", NULL};
    o = make(s, "en-US", llm_claim, avail);
    r = take_over(o, intro, "Can we continue in Spanish, please?");
    assert_true(said(r, intro));
    assert_true(has(r, CCAI_OFFLINE_SET_LANG, "es-ES"));
    assert_true(said(r, "Claro, sigamos en español."));
    assert_true(said(r, "¿Podría indicarme el lugar del incidente?"));
    assert_asks(r);
    assert_string_equal(Ccai_offline_lang(o), "es-ES");
    Ccai_offline_free(o);

    /* The call's language; no intro; no last words (a silence). */
    o = make(s, "fr-FR", llm_claim, NULL);
    r = take_over(o, NULL, NULL);
    assert_true(said(r, "Pourriez-vous me donner le lieu de l'incident ?"));
    assert_asks(r);
    Ccai_offline_free(o);

    /* Everything already known: the claim is read for confirmation. */
    o = make(s, "es-ES",
             "{\"incident_datetime\": \"2024-10-07 23:00\", \"incident_description\": \"x\","
             " \"incident_location\": \"Madrid\", \"injuries\": \"Ninguno\","
             " \"involved_parties\": \"yo\", \"medical_records\": \"Ninguno\","
             " \"policy_number\": \"P-1\", \"pre_existing_damages\": \"Ninguno\","
             " \"witnesses\": \"Ninguno\", \"policyholder_email\": \"a@b.es\","
             " \"policyholder_name\": \"Ana\", \"policyholder_phone\": \"+34612345678\"}",
             NULL);
    r = take_over(o, "Lo siento, tengo un problema técnico.", "vale");
    assert_true(said(r, "Lo siento, tengo un problema técnico."));
    assert_true(said(r, "Para resumir: x, 7 de octubre de 2024 a las 23:00, Madrid."));
    assert_true(said(r, "También tengo su nombre, su número de póliza, su teléfono y su correo."));
    assert_true(said(r, "¿Es todo correcto?"));
    r = in(o, "sí, todo correcto");
    assert_ends(r, CCAI_OFFLINE_HANGUP);
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* Dates noted for a caller in Los Angeles or Paris carry the offset of
 * that date there, around the changes of daylight saving time too. */
static void test_dates_in_callers_zone(void **state)
{
    (void)state;
    Ccai_tz *la = NULL, *paris = NULL;
    if (Ccai_tz_load("America/Los_Angeles", &la) != CCAI_OK ||
        Ccai_tz_load("Europe/Paris", &paris) != CCAI_OK) {
        Ccai_tz_free(la);
        skip();
    }
    ccai_claim_schema *s = default_schema();
    const struct {
        const Ccai_tz *tz;
        int offset_min; /* at NOW_MS */
        const char *lang, *said, *value;
    } cases[] = {
        {la, -420, "en-US", "yesterday at 3 pm", "2024-10-07T15:00:00-07:00"},
        {la, -420, "en-US", "January 5th at 10 am", "2024-01-05T10:00:00-08:00"},
        {la, -420, "en-US", "March 10 at 2:30 am", "2024-03-10T03:30:00-07:00"},
        {la, -420, "en-US", "2024-10-08T14:30:00Z", "2024-10-08T14:30:00Z"},
        {paris, 120, "fr-FR", "hier soir", "2024-10-07T20:00:00+02:00"},
        {paris, 120, "fr-FR", "le 26 mars à 2 h 30", "2024-03-26T02:30:00+01:00"},
        {paris, 120, "fr-FR", "le 31 mars à 2 h 30", "2024-03-31T03:30:00+02:00"},
        {paris, 120, "fr-FR", "le 29 octobre 2023 à 2 h 30", "2023-10-29T02:30:00+02:00"},
        {paris, 120, "fr-FR", "le 29 octobre 2023 à 3 h 30", "2023-10-29T03:30:00+01:00"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline_params p = {.schema = s,
                                 .lang = cases[i].lang,
                                 .now_ms = NOW_MS,
                                 .utc_offset_min = cases[i].offset_min,
                                 .tz = cases[i].tz};
        Ccai_offline *o = NULL;
        assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
        start(o, false);
        expect_set(o, cases[i].said, "incident_datetime", cases[i].value);
        Ccai_offline_free(o);
    }
    /* Read back in the caller's local time; a date alone is its midnight. */
    Ccai_offline_params p = {
        .schema = s, .lang = "en-US", .now_ms = NOW_MS, .utc_offset_min = -420, .tz = la};
    Ccai_offline *o = NULL;
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    start(o, false);
    const Ccai_offline_reply *r = in(o, "yesterday at 3 pm");
    assert_true(said(r, "That was 7 October 2024 at 15:00."));
    Ccai_offline_free(o);
    o = NULL;
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    start(o, false);
    in(o, "January 3rd");
    r = in(o, "I don't know");
    assert_string_equal(set_value(r, "incident_datetime"), "2024-01-03T00:00:00-08:00");
    assert_true(said(r, "Noted: 3 January 2024."));
    Ccai_offline_free(o);
    Ccai_tz_free(la);
    Ccai_tz_free(paris);
    ccai_claim_schema_unref(s);
}

/* A caller with a number (the caller id): "this number" is it, and its
 * country reads a national number. */
static Ccai_offline *make_from(const ccai_claim_schema *schema, const char *lang, const char *from)
{
    Ccai_offline_params p = {.schema = schema,
                             .lang = lang,
                             .bot_name = "Amelia",
                             .now_ms = NOW_MS,
                             .caller_number = from};
    Ccai_offline *o = NULL;
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    start(o, false);
    return o;
}

static void expect_values(const Ccai_offline_reply *r, const char *utterance,
                          const char *const *fields, const char *const *values, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        const char *v = set_value(r, fields[k]);
        if (values[k] ? !v || strcmp(v, values[k]) != 0 : v != NULL)
            fail_msg("\"%s\": %s = %s, expected %s", utterance, fields[k], v ? v : "(unset)",
                     values[k] ? values[k] : "(unset)");
    }
}

/* Facts said before they are asked are all noted at once, in any order,
 * and not asked again. */
static void test_volunteered_facts(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char *const f[] = {"policyholder_name", "policy_number", "incident_description",
                                    "incident_location", "incident_datetime"};
    Ccai_offline *o = make_from(s, "en-US", "+14155550124");
    const char *u = "Hello, my name is Marcus Reid and my policy number is W A 3 3 0 1 8 7 2. "
                    "Someone backed into my car in the Safeway parking lot on Market Street this "
                    "afternoon at quarter past one.";
    const Ccai_offline_reply *r = in(o, u);
    static const char *const en[] = {
        "Marcus Reid", "WA3301872",
        "Someone backed into my car in the Safeway parking lot on Market Street",
        "In the Safeway parking lot on Market Street", "2024-10-08T13:15:00"};
    expect_values(r, u, f, en, 5);
    assert_true(said(r, "Your policy number is W A 3 3 0 1 8 7 2."));
    assert_true(said(r, "Was anyone hurt, and was anything already damaged before this happened?"));
    assert_false(said(r, "Noted:"));
    /* the rest of the form does not ask them again */
    for (const char *a = "No."; a; a = NULL)
        r = in(o, a);
    assert_false(said(r, "full name"));
    assert_false(said(r, "When and where"));
    Ccai_offline_free(o);

    o = make_from(s, "fr-FR", "+33612345600");
    u = "Bonjour, je m'appelle Camille Moreau, mon numéro de contrat est A B 1 2 3 4 5. Hier soir, "
        "un arbre est tombé sur ma voiture devant chez moi, 12 rue des Lilas à Lyon.";
    r = in(o, u);
    static const char *const fr[] = {
        "Camille Moreau", "AB12345",
        "Un arbre est tombé sur ma voiture devant chez moi, 12 rue des Lilas à Lyon",
        "Devant chez moi, 12 rue des Lilas à Lyon", "2024-10-07T20:00:00"};
    expect_values(r, u, f, fr, 5);
    /* "hier soir" is no hour: the time is asked, the evening's kept */
    assert_true(said(r, "Et à quelle heure, à peu près ?"));
    r = in(o, "Aucune idée, désolée.");
    assert_string_equal(set_value(r, "incident_datetime"), "2024-10-07T20:00:00");
    assert_true(said(r, "Y a-t-il eu des blessés"));
    Ccai_offline_free(o);

    o = make_from(s, "es-ES", "+34612345600");
    u = "Hola, soy Carlos Méndez. Ayer por la tarde se me inundó la cocina en mi casa de la calle "
        "Mayor 5, Madrid.";
    r = in(o, u);
    static const char *const es[] = {
        "Carlos Méndez", NULL, "Se me inundó la cocina en mi casa de la calle Mayor 5, Madrid",
        "En mi casa de la calle Mayor 5, Madrid", "2024-10-07T15:00:00"};
    expect_values(r, u, f, es, 5);
    assert_true(said(r, "¿Y a qué hora, más o menos?"));
    r = in(o, "Pues sobre las cinco.");
    assert_string_equal(set_value(r, "incident_datetime"), "2024-10-07T17:00:00");
    assert_true(said(r, "¿Hubo algún herido"));
    Ccai_offline_free(o);

    /* A spelled code ends with its sentence ("... 2 0. I had": no "I"). */
    o = make_from(s, "en-US", NULL);
    r = in(o, "My policy number is A U 5 5 1 2 0. I had an accident.");
    assert_string_equal(set_value(r, "policy_number"), "AU55120");
    assert_string_equal(set_value(r, "incident_description"), "I had an accident");
    Ccai_offline_free(o);

    /* Another question's answer while "what happened?" is asked: noted,
     * and what happened is asked again, without the date as the story. */
    o = make_from(s, "en-US", NULL);
    r = in(o, "Yesterday at 3 pm.");
    assert_string_equal(set_value(r, "incident_datetime"), "2024-10-07T15:00:00");
    assert_null(set_value(r, "incident_description"));
    assert_true(said(r, "Could you tell me what happened?"));
    /* "nobody was hurt" said along the story answers that question too */
    r = in(o, "A pipe burst in the bathroom, nobody was hurt.");
    assert_non_null(set_value(r, "incident_description"));
    assert_string_equal(set_value(r, "injuries"), "None");
    assert_false(said(r, "anyone hurt"));
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* Corrections: the last value said wins inside a sentence, and a later
 * turn replaces a value already noted. */
/* "I already have that" only of a value noted: another value for a field
 * noted, not taken, is no value already noted. */
static void test_already_only_when_noted(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *policy, *other, *already;
    } cases[] = {
        {"en-GB", "My policy number is AB123456.", "It's K L 4 4 5 5 6 6 I think.",
         "I already have that."},
        {"fr-BE", "Mon numéro de contrat est AB123456.", "Euh, K L 4 4 5 5 6 6 je crois.",
         "C'est déjà noté."},
        {"es-AR", "Mi número de póliza es AB123456.", "Eh, K L 4 4 5 5 6 6 creo.",
         "Eso ya lo tengo anotado."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_from(s, cases[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, cases[i].policy);
        assert_string_equal(set_value(r, "policy_number"), "AB123456");
        r = in(o, cases[i].other);
        if (said(r, cases[i].already))
            fail_msg("\"%s\": said \"%s\" with nothing noted", cases[i].other, cases[i].already);
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* A car's model ("a silver F-250", "una RAM 1500") or an hour said with
 * a dash ("about eight-twenty, I") is no policy number: a code not cued
 * has five letters and digits at least. */
static void test_model_is_no_code(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said;
    } cases[] = {
        {"en-US", "The other guy was driving a silver F-250 and he ran the light."},
        {"en-GB", "A white CX-5 reversed into my car in the car park."},
        {"es-MX", "Me chocó una camioneta, una Ram 1500 blanca, en el semáforo."},
        {"fr-FR", "Une Peugeot 3-08 m'a embouti à l'arrière au feu rouge."},
        {"en-US", "It happened this morning, about eight-twenty, I was in the shower."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_from(s, cases[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = set_value(r, "policy_number");
        if (v)
            fail_msg("\"%s\": policy_number = %s, expected none", cases[i].said, v);
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

static void test_corrections(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = make_from(s, "en-US", NULL);
    in(o, "A pipe burst.");
    const Ccai_offline_reply *r = in(o, "It was the 4th of October at 3 pm. No, sorry, the 5th.");
    assert_string_equal(set_value(r, "incident_datetime"), "2024-10-05T15:00:00");
    assert_null(set_value(r, "incident_location")); /* "the 5th" is no place */
    /* later: the day changes, the time said before stays */
    r = in(o, "Sorry, it was Sunday, not Saturday.");
    assert_string_equal(set_value(r, "incident_datetime"), "2024-10-06T15:00:00");
    assert_true(said(r, "I have corrected that."));
    assert_true(said(r, "That was 6 October 2024 at 15:00."));
    Ccai_offline_free(o);

    o = make_from(s, "fr-FR", NULL);
    in(o, "Un arbre est tombé sur ma voiture hier soir.");
    r = in(o, "C'était le 4... non, pardon, le 5 octobre.");
    assert_string_equal(set_value(r, "incident_datetime"), "2024-10-05T20:00:00");
    assert_true(said(r, "J'ai corrigé."));
    assert_null(set_value(r, "incident_location"));
    assert_null(set_value(r, "injuries"));
    Ccai_offline_free(o);

    /* An e-mail said again is the one to keep; a policy number corrected
     * while the summary is read. */
    o = make_from(s, "es-ES", "+34612345670");
    in(o, "Se me inundó la cocina.");
    r = in(o, "mi correo es juan arroba gmail punto com");
    assert_string_equal(set_value(r, "policyholder_email"), "juan@gmail.com");
    r = in(o, "perdón, mi correo es juan guion bajo perez arroba gmail punto com");
    assert_string_equal(set_value(r, "policyholder_email"), "juan_perez@gmail.com");
    Ccai_offline_free(o);

    Ccai_offline_params cp = {
        .schema = s,
        .claim_json = "{\"incident_datetime\": \"2024-10-07 15:00\", \"incident_description\": "
                      "\"x\", \"incident_location\": \"Leeds\", \"injuries\": \"None\", "
                      "\"involved_parties\": \"me\", \"medical_records\": \"None\", "
                      "\"policy_number\": \"WA3301872\", \"pre_existing_damages\": \"None\", "
                      "\"witnesses\": \"None\", \"policyholder_email\": \"a@b.co\", "
                      "\"policyholder_name\": \"Ann\", \"policyholder_phone\": \"+447700900123\"}",
        .lang = "en-GB",
        .now_ms = NOW_MS};
    o = NULL;
    assert_int_equal(Ccai_offline_new(&cp, &o), CCAI_OK);
    r = start(o, true);
    assert_true(said(r, "Is everything correct?"));
    r = in(o, "Actually the policy number is W A 3 3 0 1 8 7 3.");
    assert_string_equal(set_value(r, "policy_number"), "WA3301873");
    assert_true(said(r, "Is everything correct?"));
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* "this number", "the one I'm calling from": the caller id; a national
 * number is read with the caller's country; e-mails and codes spelled. */
static void test_caller_id_and_spoken_forms(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *from, *said, *field, *value;
    } cases[] = {
        {"en-US", "+14155550123", "You can reach me on this number.", "policyholder_phone",
         "+14155550123"},
        {"en-US", "+14155550123", "Use the one I'm calling from.", "policyholder_phone",
         "+14155550123"},
        {"en-GB", "+447700900704", "My phone's the number I'm on now.", "policyholder_phone",
         "+447700900704"},
        {"fr-FR", "+33612345600", "Vous pouvez me joindre à ce numéro.", "policyholder_phone",
         "+33612345600"},
        {"es-ES", "+34612345670", "Este número.", "policyholder_phone", "+34612345670"},
        {"fr-FR", "+33612345600", "mon portable c'est le 06 12 34 56 78", "policyholder_phone",
         "+33612345678"},
        {"en-US", NULL, "my email is a l e x dot kim seventy two at gmail dot com",
         "policyholder_email", "alex.kim72@gmail.com"},
        {"fr-FR", NULL, "mon mail c'est lea point martin tiret bas 2 arobase orange point fr",
         "policyholder_email", "lea.martin_2@orange.fr"},
        {"es-ES", NULL, "mi correo es juan guion bajo perez arroba gmail punto com",
         "policyholder_email", "juan_perez@gmail.com"},
        /* spelled as people do: hyphens, a word for a letter, commas between
         * letters, "all one word", "tiret du 6" */
        {"en-GB", NULL, "my email's j-o-h-n underscore smith at gmail dot com",
         "policyholder_email", "john_smith@gmail.com"},
        {"en-GB", NULL,
         "my email is r for robert, a, j, then patel, all one word, at outlook dot co dot uk",
         "policyholder_email", "rajpatel@outlook.co.uk"},
        {"fr-FR", NULL,
         "mon mail c'est s comme Suzanne, o, p, h, i, e, tiret du 6, martin, arobase laposte "
         "point net",
         "policyholder_email", "sophie-martin@laposte.net"},
        {"fr-FR", NULL, "mon mail c'est marie tiret du bas dubois chez orange point fr",
         "policyholder_email", "marie_dubois@orange.fr"},
        {"es-ES", NULL,
         "mi correo es de de Dinamarca, a, n, i, punto, vega arroba yahoo punto es, todo junto",
         "policyholder_email", "dani.vega@yahoo.es"},
        {"en-US", NULL, "my policy is H as in hotel, O, G, one two three four five",
         "policy_number", "HOG12345"},
        {"es-ES", NULL, "mi número de póliza es H O G uno dos tres cuatro cinco", "policy_number",
         "HOG12345"},
        {"en-US", NULL, "my policy number is POL-2024-778", "policy_number", "POL-2024-778"},
        /* "dot au" is a domain (though "au" is a word of "au milieu"); a
         * note about the spelling is no part ("no apostrophe", "con uve");
         * a part spelled again after others is that part once */
        {"en-AU", NULL, "my email is craigdawson at bigpond dot net dot au", "policyholder_email",
         "craigdawson@bigpond.net.au"},
        {"en-AU", NULL, "my email is tash dot obrien, no apostrophe, at gmail dot com",
         "policyholder_email", "tash.obrien@gmail.com"},
        {"es-ES", NULL, "mi correo es alvaro punto nieto, con uve, arroba gmail punto com",
         "policyholder_email", "alvaro.nieto@gmail.com"},
        {"en-IE", NULL, "my email is aoife dot byrne, a o i f e, at gmail dot com",
         "policyholder_email", "aoife.byrne@gmail.com"},
        /* "oh" beside digits is a zero, not a hesitation; "then" between
         * the groups of a code ([code.join]) */
        {"en-GB", NULL, "my policy number is M P, six six oh, two eight one", "policy_number",
         "MP660281"},
        {"en-GB", NULL, "my policy is B K, two two four, oh oh six, one", "policy_number",
         "BK2240061"},
        {"en-GB", NULL,
         "my policy number is H S, then seven one seven, then two nine two, then four",
         "policy_number", "HS7172924"},
        {"fr-FR", NULL, "mon numéro de contrat c'est H A B, puis trois zéro neuf", "policy_number",
         "HAB309"},
        /* a national number in the caller's country, read from the
         * caller's number whatever the language */
        {"en-IE", "+353861234567", "my mobile is oh eight five, seven seven one, two oh four four",
         "policyholder_phone", "+353857712044"},
        {"en-AU", "+61400000000", "my phone is oh four nine one, five seven oh, three four eight",
         "policyholder_phone", "+61491570348"},
        {"es-MX", "+525500000000",
         "mi teléfono es ochenta y uno, doce treinta y cuatro, cincuenta "
         "y seis setenta y ocho",
         "policyholder_phone", "+528112345678"},
        {"es-CO", "+573000000000",
         "mi celular es tres dos cero, cuatro cuatro cuatro, cincuenta y cinco, sesenta y seis",
         "policyholder_phone", "+573204445566"},
        /* "oh" after a digit is a zero in a code, not a hesitation */
        {"en-IE", NULL, "my policy number is M P, six six oh, nine four three", "policy_number",
         "MP660943"},
        {"en-GB", NULL, "policy number B K, two two four, oh oh six, one", "policy_number",
         "BK2240061"},
        /* national numbers of the caller's country (its number, else the
         * language's region): trunk prefixes, lengths, no trunk prefix */
        {"en-IE", NULL, "my phone is oh eight five, seven seven one, two oh four four",
         "policyholder_phone", "+353857712044"},
        {"en-AU", NULL, "my mobile is oh four nine one, five seven oh, one five six",
         "policyholder_phone", "+61491570156"},
        {"es-MX", NULL,
         "mi celular es ochenta y uno, doce treinta y cuatro, cincuenta y seis "
         "setenta y ocho",
         "policyholder_phone", "+528112345678"},
        {"es-CO", NULL,
         "mi celular es trescientos, cuatrocientos cuarenta y cuatro, cincuenta y "
         "cinco sesenta y seis",
         "policyholder_phone", "+573004445566"},
        {"en-US", NULL, "my number is one six four six, five five five, zero one three nine",
         "policyholder_phone", "+16465550139"},
        /* a Belgian mobile said in pairs with "septante", after "GSM" */
        {"fr-BE", "+3222223344",
         "Mon GSM, zéro quatre septante-six, vingt-trois, quarante-cinq, "
         "nonante-huit",
         "policyholder_phone", "+32476234598"},
        {"es-ES", "+525512345678",
         "mi teléfono es cincuenta y cinco, doce, treinta y cuatro, "
         "cincuenta y seis, setenta y ocho",
         "policyholder_phone", "+525512345678"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_from(s, cases[i].lang, cases[i].from);
        /* said while "what happened?" is asked */
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = noted(o, &r, cases[i].field);
        if (!v || strcmp(v, cases[i].value) != 0)
            fail_msg("\"%s\": %s = %s, expected %s", cases[i].said, cases[i].field,
                     v ? v : "(unset)", cases[i].value);
        assert_null(set_value(r, "incident_description"));
        Ccai_offline_free(o);
    }
    /* an address that names the caller's name is not one to note: it is
     * asked, never guessed ("surname@hotmail.com") */
    static const struct {
        const char *lang, *said;
    } named[] = {
        {"en-GB", "my email is my first name then my surname, all one word, at hotmail dot com"},
        {"fr-FR", "mon mail c'est mon prénom et mon nom, tout attaché, arobase free point fr"},
        {"es-ES", "mi correo es mi nombre y mi apellido todo junto, arroba hotmail punto es"},
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        Ccai_offline *o = make_from(s, named[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, named[i].said);
        const char *v = set_value(r, "policyholder_email");
        if (v)
            fail_msg("\"%s\": e-mail %s noted", named[i].said, v);
        Ccai_offline_free(o);
    }
    /* once the name is known, "first name then surname, all one word" is
     * the address; without how they are joined it is still asked */
    static const struct {
        const char *lang, *name, *said, *value;
    } byname[] = {
        {"en-GB", "My name is Kevin Doyle.",
         "my email is my first name then my surname, all one word, at hotmail dot com",
         "kevindoyle@hotmail.com"},
        {"fr-FR", "Je m'appelle Luc Girard.",
         "mon mail c'est mon prénom et mon nom, tout attaché, arobase free point fr",
         "lucgirard@free.fr"},
        {"es-ES", "Me llamo Lucía Morena.",
         "mi correo es mi nombre punto mi apellido arroba gmail punto com",
         "lucia.morena@gmail.com"},
        {"en-GB", "My name is Kevin Doyle.",
         "my email is my first name and surname at gmail dot com", NULL},
    };
    for (size_t i = 0; i < sizeof byname / sizeof byname[0]; i++) {
        Ccai_offline *o = make_from(s, byname[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, byname[i].name);
        r = in(o, byname[i].said);
        const char *v = set_value(r, "policyholder_email");
        if (byname[i].value ? !v || strcmp(v, byname[i].value) != 0 : v != NULL)
            fail_msg("\"%s\": e-mail %s, expected %s", byname[i].said, v ? v : "(unset)",
                     byname[i].value ? byname[i].value : "(unset)");
        Ccai_offline_free(o);
    }
    /* Read back as they should be heard: what was spelled, letter by
     * letter, the words as words. */
    Ccai_offline *o = make_from(s, "en-US", NULL);
    const Ccai_offline_reply *r = in(o, "my email is a l e x dot kim seventy two at gmail dot com");
    assert_true(said(r, "I have your e-mail as a l e x dot kim72 at gmail dot com."));
    Ccai_offline_free(o);
    o = make_from(s, "en-US", NULL);
    r = in(o, "my email is alex dot kim at gmail dot com");
    assert_true(said(r, "I have your e-mail as alex dot kim at gmail dot com."));
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* Questions are answered (or a colleague will follow up) and the question
 * asked again; a request for a person, in any phrasing, is a transfer that
 * keeps what was noted. */
static void test_questions_and_person(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *question, *later, *again;
    } q[] = {
        {"en-US", "Does my policy cover water damage?", "a colleague will follow up",
         "Could you tell me what happened?"},
        {"en-US", "Will my premium go up?", "a colleague will follow up",
         "Could you tell me what happened?"},
        {"fr-FR", "Est-ce que mon contrat couvre les dégâts de la tempête ?",
         "un conseiller reviendra vers vous", "Pouvez-vous me dire ce qui s'est passé ?"},
        {"es-ES", "¿Esto lo cubre el seguro?", "se pondrá en contacto con usted",
         "¿Podría contarme qué ha pasado?"},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        Ccai_offline *o = make_from(s, q[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, q[i].question);
        if (!said(r, q[i].later) || !said(r, q[i].again) || has(r, CCAI_OFFLINE_SET_FIELD, NULL))
            fail_msg("\"%s\" (%s): \"%s\"", q[i].question, q[i].lang,
                     r->n ? r->v[r->n - 1].text : "");
        assert_asks(r);
        Ccai_offline_free(o);
    }

    static const struct {
        const char *lang, *before, *ask, *kept;
    } p[] = {
        {"en-US", "My car was hit in a parking lot.", "Can you put me through to someone?",
         "incident_description"},
        {"en-US", "My car was hit in a parking lot.", "Could I talk to a real person, please?",
         "incident_description"},
        {"en-US", "yesterday at 5 pm", "Is there a human I can speak with?", "incident_datetime"},
        {"fr-FR", "Un arbre est tombé sur ma voiture.",
         "Est-ce que je peux parler à un conseiller ?", "incident_description"},
        {"fr-FR", "hier soir", "Vous pouvez me passer quelqu'un ?", "incident_datetime"},
        {"es-ES", "Se me inundó la cocina.", "¿Me puede pasar con una persona?",
         "incident_description"},
        {"es-ES", "ayer por la tarde", "Quiero hablar con un agente, por favor.",
         "incident_datetime"},
    };
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        Ccai_offline *o = make_from(s, p[i].lang, NULL);
        in(o, p[i].before);
        const Ccai_offline_reply *r = in(o, p[i].ask);
        if (!has(r, CCAI_OFFLINE_TRANSFER, NULL))
            fail_msg("\"%s\" (%s) was not taken as a request for a person: \"%s\"", p[i].ask,
                     p[i].lang, r->n ? r->v[r->n - 1].text : "");
        assert_ends(r, CCAI_OFFLINE_TRANSFER);
        assert_non_null(strstr(Ccai_offline_claim_json(o), p[i].kept));
        Ccai_offline_free(o);
    }
    /* Facts said with the request are kept for the advisor; the request
     * is not one of them. */
    Ccai_offline *o = make_from(s, "en-US", NULL);
    const Ccai_offline_reply *r =
        in(o, "My name is Ann Lee, policy W A 3 3 0 1 8 7 2. I'd like to talk to someone.");
    assert_string_equal(set_value(r, "policyholder_name"), "Ann Lee");
    assert_string_equal(set_value(r, "policy_number"), "WA3301872");
    assert_null(set_value(r, "incident_description"));
    assert_true(said(r, "I am transferring you to an advisor"));
    assert_false(said(r, "Your policy number is")); /* no read-back before a transfer */
    assert_ends(r, CCAI_OFFLINE_TRANSFER);
    Ccai_offline_free(o);
    o = make_from(s, "es-ES", NULL);
    r = in(o, "Se me inundó la cocina esta mañana, quiero hablar con una persona.");
    assert_string_equal(set_value(r, "incident_datetime"), "2024-10-08T09:00:00");
    assert_ends(r, CCAI_OFFLINE_TRANSFER);
    Ccai_offline_free(o);

    /* Words about people are answers, not requests. */
    static const struct {
        const char *lang, *text;
    } not_p[] = {{"en-US", "A person on a bike hit my car."},
                 {"fr-FR", "Un humain était blessé."},
                 {"es-ES", "Una persona chocó contra mi coche."}};
    for (size_t i = 0; i < sizeof not_p / sizeof not_p[0]; i++) {
        o = make_from(s, not_p[i].lang, NULL);
        r = in(o, not_p[i].text);
        assert_false(has(r, CCAI_OFFLINE_TRANSFER, NULL));
        assert_non_null(set_value(r, "incident_description"));
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* Requests for a person said indirectly, politely, as a complaint or as
 * speech recognition writes them (no capitals, no punctuation), at any
 * point of the call; a report of who the caller spoke to is an answer. */
static void test_person_asked_indirectly(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *text;
    } p[] = {
        {"en-US", "I'd rather speak to someone real."},
        {"en-US", "is there a human i can talk to"},
        {"en-US", "um can i uh talk to somebody please"},
        {"en-US", "I want to speak to your manager."},
        {"en-US", "i want to speak to your supervisor"},
        {"en-US", "This is pointless, get me an agent."},
        {"en-US", "let me talk to a real person please"},
        {"en-US", "is there anybody there i could talk to"},
        {"en-US", "I don't want to talk to a machine."},
        {"fr-FR", "Y a-t-il quelqu'un d'humain ?"},
        {"fr-FR", "je voudrais parler à quelqu'un"},
        {"fr-FR", "Passez-moi un responsable."},
        {"fr-FR", "passez moi votre superviseur"},
        {"fr-FR", "est ce qu il y a quelqu un a qui je peux parler"},
        {"fr-FR", "je ne veux pas parler à une machine"},
        {"es-ES", "quiero hablar con alguien"},
        {"es-ES", "¿Hay alguien con quien pueda hablar?"},
        {"es-ES", "Páseme con el encargado."},
        {"es-ES", "paseme con un supervisor"},
        {"es-ES", "me pasa con alguien por favor"},
        {"es-ES", "No quiero hablar con una máquina."},
        {"es-ES", "quisiera hablar con el responsable"},
        /* a department ([transfer.person]) */
        {"en-GB", "could you put me through to the claims department"},
        {"fr-FR", "Vous pouvez me passer le service client ?"},
        {"fr-BE", "Je voudrais parler au service des sinistres."},
        {"es-ES", "¿Me transfiere con atención al cliente?"},
        {"es-MX", "Comuníqueme con el área de siniestros, por favor."},
        /* "real", "vrai", articles between ([transfer.adj]) */
        {"en-GB", "let me speak to a real agent now"},
        {"en-GB", "I need a real adviser, please."},
        {"en-US", "Could you get someone to phone me back?"},
        {"en-US", "I'd like to be transferred to whoever is handling my claim."},
        {"fr-FR", "J'ai besoin d'un vrai conseiller."},
        {"fr-CH", "Je voudrais parler à votre supérieur."},
        {"es-ES", "Necesito un asesor, por favor."},
        {"es-AR", "¿Hay algún encargado?"},
    };
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        /* first, then out of turn once the date is asked */
        for (int late = 0; late < 2; late++) {
            Ccai_offline *o = make_from(s, p[i].lang, NULL);
            if (late)
                in(o, "A tree fell on my car.");
            const Ccai_offline_reply *r = in(o, p[i].text);
            if (!has(r, CCAI_OFFLINE_TRANSFER, NULL))
                fail_msg("\"%s\" (%s) was not taken as a request for a person", p[i].text,
                         p[i].lang);
            assert_ends(r, CCAI_OFFLINE_TRANSFER);
            assert_null(set_value(r, "incident_datetime"));
            Ccai_offline_free(o);
        }
    }
    static const struct {
        const char *lang, *text;
    } not_p[] = {
        {"en-US", "I talked to someone at the garage and they said it is a write-off."},
        {"en-US", "My neighbour spoke to the driver."},
        {"en-US", "i spoke to somebody at the council"},
        {"fr-FR", "J'ai parlé à quelqu'un au garage."},
        {"fr-FR", "Mon voisin a parlé au conducteur."},
        {"es-ES", "La persona que me golpeó se fue."},
        {"es-ES", "hablé con alguien del taller"},
        {"es-ES", "Mi vecino habló con el conductor."},
        {"en-GB", "Customer services told me to ring you, my shed roof blew off."},
        {"fr-FR", "Le service client m'a dit de vous appeler pour le dégât des eaux."},
        {"es-ES", "Ya hablé con atención al cliente, se me inundó la cocina."},
        {"en-GB", "There's a recording of the break-in on my doorbell camera."},
        {"fr-FR", "Mon voisin a un répondeur, je lui ai laissé un message pour la fuite."},
        {"fr-FR", "J'ai besoin d'un agent de la mairie pour le constat de l'inondation."},
        {"es-ES", "Hay un encargado en el parking que vio el golpe."},
        {"es-ES", "Necesito a alguien que me arregle la puerta, me la forzaron."},
        /* someone else's wish, later; a request made elsewhere, before */
        {"en-GB",
         "My wife will want to talk to someone about the car later, it was hit overnight."},
        {"en-GB", "I asked to speak to the manager of the car park, someone had scraped my car."},
        {"fr-FR", "Ma femme voudra parler à quelqu'un plus tard, la voiture a été rayée."},
        {"es-ES", "Pedí hablar con el encargado del parking, me rayaron el coche."},
    };
    for (size_t i = 0; i < sizeof not_p / sizeof not_p[0]; i++) {
        Ccai_offline *o = make_from(s, not_p[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, not_p[i].text);
        if (has(r, CCAI_OFFLINE_TRANSFER, NULL))
            fail_msg("\"%s\" (%s) was taken as a request for a person", not_p[i].text,
                     not_p[i].lang);
        assert_non_null(set_value(r, "incident_description"));
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* A question back without "?" (as speech recognition writes it) is no
 * answer: the field is asked again and the answer after it is noted; a
 * question and its answer in one turn give the answer. */
static void test_question_back_unpunctuated(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *before, *question, *answer;
    } q[] = {
        {"en-US", "A tree fell on my car.", "um why do you need that", "yesterday at 3 pm"},
        {"en-US", "A tree fell on my car.", "is this covered", "yesterday at 3 pm"},
        {"fr-FR", "Un arbre est tombé sur ma voiture.", "c est couvert", "hier à 15 heures"},
        {"fr-FR", "Un arbre est tombé sur ma voiture.", "pourquoi vous avez besoin de ça",
         "hier à 15 heures"},
        {"es-ES", "Se cayó un árbol sobre mi coche.", "para que necesitan eso",
         "ayer a las tres de la tarde"},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        Ccai_offline *o = make_from(s, q[i].lang, NULL);
        in(o, q[i].before);
        const Ccai_offline_reply *r = in(o, q[i].question);
        if (has(r, CCAI_OFFLINE_SET_FIELD, NULL))
            fail_msg("\"%s\" (%s) was noted as an answer", q[i].question, q[i].lang);
        assert_asks(r);
        r = in(o, q[i].answer);
        assert_string_equal(set_value(r, "incident_datetime"), "2024-10-07T15:00:00");
        Ccai_offline_free(o);
    }
    Ccai_offline *o = make_from(s, "es-ES", NULL);
    in(o, "Se cayó un árbol sobre mi coche.");
    const Ccai_offline_reply *r =
        in(o, "¿Cuánto va a tardar esto? Fue ayer a las tres de la tarde.");
    assert_string_equal(set_value(r, "incident_datetime"), "2024-10-07T15:00:00");
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* Corrections said as people say them: the last value wins in a sentence,
 * and on a later turn for the field of the same type, a time alone keeping
 * the day noted; the value taken back ("not Monday") is no answer. */
static void test_corrections_said_naturally(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *text, *want;
    } in_sentence[] = {
        {"es-ES", "El 5 de octubre, o sea, el 6 de octubre a las 9.", "2024-10-06T09:00:00"},
        {"es-ES", "El 5 de octubre, perdón, quise decir el 6 de octubre a las 9.",
         "2024-10-06T09:00:00"},
        {"fr-FR", "le 5 octobre plutôt le 6 octobre à 9 heures", "2024-10-06T09:00:00"},
        {"en-US", "Sunday at 8, sorry, I meant 9 am.", "2024-10-06T09:00:00"},
        {"en-US", "Saturday at nine, or rather ten in the morning.", "2024-10-05T10:00:00"},
    };
    for (size_t i = 0; i < sizeof in_sentence / sizeof in_sentence[0]; i++) {
        Ccai_offline *o = make_from(s, in_sentence[i].lang, NULL);
        in(o, "A tree fell on my car.");
        const Ccai_offline_reply *r = in(o, in_sentence[i].text);
        const char *v = set_value(r, "incident_datetime");
        if (!v || strcmp(v, in_sentence[i].want) != 0)
            fail_msg("\"%s\" (%s): %s", in_sentence[i].text, in_sentence[i].lang, v ? v : "none");
        assert_null(set_value(r, "incident_location"));
        Ccai_offline_free(o);
    }
    static const struct {
        const char *lang, *date, *text, *want;
    } later[] = {
        {"en-US", "Monday at 9 am", "no wait it was 10 am not 9", "2024-10-07T10:00:00"},
        {"en-US", "Monday at 9 am", "Sorry, I meant Sunday, not Monday.", "2024-10-06T09:00:00"},
        {"fr-FR", "lundi à 9 heures", "Non attendez, c'était dimanche, pas lundi.",
         "2024-10-06T09:00:00"},
        {"es-ES", "el lunes a las 9", "Perdón, quise decir el domingo, no el lunes.",
         "2024-10-06T09:00:00"},
        {"es-ES", "el lunes a las 9", "mejor dicho a las 10", "2024-10-07T10:00:00"},
    };
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++) {
        Ccai_offline *o = make_from(s, later[i].lang, NULL);
        in(o, "A tree fell on my car.");
        in(o, later[i].date);
        in(o, "12 Elm Street, Springfield");
        const Ccai_offline_reply *r = in(o, later[i].text);
        const char *v = set_value(r, "incident_datetime");
        if (!v || strcmp(v, later[i].want) != 0)
            fail_msg("\"%s\" (%s): %s", later[i].text, later[i].lang, v ? v : "none");
        assert_null(set_value(r, "injuries"));
        assert_null(set_value(r, "medical_records"));
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* Names said the way people say them, and a refusal or a phone number in
 * a sentence that answers something else. */
static void test_names_and_refusals(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *from, *said, *field, *value;
    } cases[] = {
        /* a weak cue ("it's") later in the sentence is no name */
        {"en-US", NULL,
         "My name is Omar Haddad and it's about my flat at 22 Queen Street in Glasgow.",
         "policyholder_name", "Omar Haddad"},
        /* said again in full, after a title */
        {"fr-FR", NULL, "Bonjour, c'est monsieur Petit, Lucas Petit. Ma cave est inondée.",
         "policyholder_name", "Lucas Petit"},
        /* a full name right after a greeting */
        {"fr-FR", NULL, "Oui bonjour, Hélène Marchal, j'appelle pour un dégât des eaux.",
         "policyholder_name", "Hélène Marchal"},
        {"es-ES", NULL, "Buenas tardes, Rosa Molina, llamo por un accidente de coche.",
         "policyholder_name", "Rosa Molina"},
        /* "hundred" in a spoken phone number */
        {"en-GB", "+447700900999",
         "You can reach me on oh seven seven hundred, nine hundred, one two three.",
         "policyholder_phone", "+447700900123"},
        /* "this" right after the phone cue, in a sentence about other things */
        {"es-ES", "+34612000111",
         "Mi teléfono es este y mi correo es ana arroba gmail punto com. Se me rompió una tubería.",
         "policyholder_phone", "+34612000111"},
        /* a place name after its preposition closes the sentence */
        {"fr-FR", NULL, "J'ai eu un accident de voiture ce matin à Toulouse.", "incident_location",
         "à Toulouse"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_from(s, cases[i].lang, cases[i].from);
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = noted(o, &r, cases[i].field);
        if (!v || strcmp(v, cases[i].value) != 0)
            fail_msg("\"%s\": %s = %s, expected %s", cases[i].said, cases[i].field,
                     v ? v : "(unset)", cases[i].value);
        Ccai_offline_free(o);
    }
    /* Asked phone and e-mail together: one given, the other refused; the
     * refused one is not asked again. */
    Ccai_offline_params p = {
        .schema = s,
        .claim_json = "{\"incident_datetime\": \"2024-10-07T15:00:00\", \"incident_description\": "
                      "\"Car hit\", \"incident_location\": \"Market Street\", \"injuries\": "
                      "\"None\", \"involved_parties\": \"Me\", \"medical_records\": \"None\", "
                      "\"policy_number\": \"AU404040\", \"pre_existing_damages\": \"None\", "
                      "\"witnesses\": \"None\", \"policyholder_name\": \"Chris Doyle\"}",
        .lang = "en-US",
        .now_ms = NOW_MS,
        .caller_number = "+14155550144"};
    Ccai_offline *o = NULL;
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    const Ccai_offline_reply *r = start(o, false);
    const char *fields[4];
    bool time_only;
    assert_int_equal(Ccai_offline_asking(o, fields, 4, &time_only), 2);
    r = in(o, "This number, obviously. I'd rather not give my email.");
    assert_string_equal(set_value(r, "policyholder_phone"), "+14155550144");
    assert_null(set_value(r, "policyholder_email"));
    assert_int_equal(Ccai_offline_asking(o, fields, 4, &time_only), 0); /* the confirmation */
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* Facts said in words the form did not expect are noted once and not asked
 * again (each case is a cause of re-asks found on scripted callers). */
static Ccai_offline *make_filled(const ccai_claim_schema *s, const char *lang, const char *from,
                                 const char *claim)
{
    Ccai_offline_params p = {.schema = s,
                             .claim_json = claim,
                             .lang = lang,
                             .now_ms = NOW_MS,
                             .can_transfer = true,
                             .caller_number = from};
    Ccai_offline *o = NULL;
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    start(o, false);
    return o;
}

static void test_no_reask_of_facts_given(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *from, *said, *field, *value;
    } cases[] = {
        /* a full name with the words that say it is the caller's */
        {"en-US", NULL,
         "Hello, Nora Fitzgerald speaking. A branch came through my conservatory roof on Sunday.",
         "policyholder_name", "Nora Fitzgerald"},
        {"es-ES", NULL, "Diego Navarro al habla, se me inundó el baño anoche.", "policyholder_name",
         "Diego Navarro"},
        /* an Australian greeting, a Latin American "habla ..." (speaking) */
        {"en-AU", NULL, "G'day, Tom Baxter here, a tree came down on the shed last night.",
         "policyholder_name", "Tom Baxter"},
        {"es-MX", NULL,
         "Buenas tardes, habla Rosa Méndez, le llamo porque ayer se inundó la cocina.",
         "policyholder_name", "Rosa Méndez"},
        /* a hedge before the day does not negate it */
        {"fr-FR", NULL, "Je ne sais pas trop, jeudi soir, on m'a volé mon vélo devant la gare.",
         "incident_datetime", "2024-10-03T20:00:00"},
        /* a correction inside the sentence keeps what happened */
        {"es-ES", NULL,
         "Quería declarar un robo en mi tienda el jueves, perdón, el viernes por la noche.",
         "incident_description", "Quería declarar un robo en mi tienda"},
        {"es-ES", NULL,
         "Quería declarar un robo en mi tienda el jueves, perdón, el viernes por la noche.",
         "incident_datetime", "2024-10-04T23:00:00"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_from(s, cases[i].lang, cases[i].from);
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = noted(o, &r, cases[i].field);
        if (!v || strcmp(v, cases[i].value) != 0)
            fail_msg("\"%s\": %s = %s, expected %s", cases[i].said, cases[i].field,
                     v ? v : "(unset)", cases[i].value);
        Ccai_offline_free(o);
    }

    const char *fields[4];
    bool time_only;
    /* "I haven't got it with me": not asked again at the end (a
     * don't-know is); the form goes to its confirmation. */
    static const char *const unavailable[][2] = {
        {"en-US", "I haven't got it with me, sorry."},
        {"fr-FR", "Je l'ai pas sur moi."},
        {"es-ES", "Ahora mismo no lo llevo encima."},
    };
    for (size_t i = 0; i < 3; i++) {
        Ccai_offline *o = make_filled(
            s, unavailable[i][0], "+14155550144",
            "{\"incident_datetime\": \"2024-10-07T15:00:00\", \"incident_description\": "
            "\"Car hit\", \"incident_location\": \"Market Street\", \"injuries\": \"None\", "
            "\"involved_parties\": \"Me\", \"medical_records\": \"None\", "
            "\"pre_existing_damages\": \"None\", \"witnesses\": \"None\", "
            "\"policyholder_name\": \"Chris Doyle\", \"policyholder_phone\": \"+14155550144\", "
            "\"policyholder_email\": \"c.doyle@example.com\"}");
        assert_int_equal(Ccai_offline_asking(o, fields, 4, &time_only), 1);
        assert_string_equal(fields[0], "policy_number");
        in(o, unavailable[i][1]);
        if (Ccai_offline_asking(o, fields, 4, &time_only) != 0)
            fail_msg("\"%s\": %s asked again", unavailable[i][1], fields[0]);
        Ccai_offline_free(o);
    }

    /* Asked phone and e-mail: "the number I'm ringing from", "don't have
     * one": both settled in one turn. */
    static const char *const contact =
        "{\"incident_datetime\": \"2024-10-07T15:00:00\", \"incident_description\": \"Car hit\", "
        "\"incident_location\": \"Market Street\", \"injuries\": \"None\", \"involved_parties\": "
        "\"Me\", \"medical_records\": \"None\", \"policy_number\": \"AU404040\", "
        "\"pre_existing_damages\": \"None\", \"witnesses\": \"None\", \"policyholder_name\": "
        "\"Chris Doyle\"}";
    Ccai_offline *o = make_filled(s, "en-GB", "+447700900555", contact);
    assert_int_equal(Ccai_offline_asking(o, fields, 4, &time_only), 2);
    const Ccai_offline_reply *r = in(o, "Use the number I'm ringing from. Email, don't have one.");
    assert_string_equal(set_value(r, "policyholder_phone"), "+447700900555");
    assert_int_equal(Ccai_offline_asking(o, fields, 4, &time_only), 0);
    Ccai_offline_free(o);

    /* Asked injuries and medical records: two no's fill both. */
    o = make_filled(s, "en-US", NULL,
                    "{\"incident_datetime\": \"2024-10-07T15:00:00\", \"incident_description\": "
                    "\"Car hit\", \"incident_location\": \"Market Street\"}");
    fields[0] = fields[1] = NULL;
    assert_int_equal(Ccai_offline_asking(o, fields, 4, &time_only), 2);
    assert_string_equal(fields[0], "injuries");
    r = in(o, "Nobody injured. Not relevant, no one got hurt.");
    assert_string_equal(set_value(r, "injuries"), "None");
    assert_string_equal(set_value(r, "medical_records"), "None");
    Ccai_offline_free(o);

    /* "Nope." / "Nan." / "Nel." to the question about a doctor: none, not
     * put off to the end */
    static const struct {
        const char *lang, *no;
    } nos[] = {{"en-AU", "Nope."}, {"en-GB", "Nah."}, {"fr-FR", "Nan."}, {"es-MX", "Nel."}};
    for (size_t i = 0; i < sizeof nos / sizeof nos[0]; i++) {
        o = make_filled(
            s, nos[i].lang, NULL,
            "{\"incident_datetime\": \"2024-10-07T15:00:00\", \"incident_description\": "
            "\"Car hit\", \"incident_location\": \"Market Street\", \"injuries\": "
            "\"A cut hand\", \"pre_existing_damages\": \"None\"}");
        fields[0] = fields[1] = NULL;
        assert_int_equal(Ccai_offline_asking(o, fields, 4, &time_only), 1);
        assert_string_equal(fields[0], "medical_records");
        r = in(o, nos[i].no);
        if (!set_value(r, "medical_records"))
            fail_msg("\"%s\": medical_records not noted", nos[i].no);
        Ccai_offline_free(o);
    }

    /* Asked who was involved and witnesses: "qui c'est. Personne." names
     * nobody (a weak name cue ends its clause). */
    o = make_filled(s, "fr-FR", NULL,
                    "{\"incident_datetime\": \"2024-10-07T15:00:00\", \"incident_description\": "
                    "\"Vol\", \"incident_location\": \"Gare\", \"injuries\": \"Aucun\", "
                    "\"medical_records\": \"Aucun\", \"pre_existing_damages\": \"Aucun\"}");
    r = in(o, "Un pickpocket, je ne vois pas qui c'est. Personne.");
    assert_null(set_value(r, "policyholder_name"));
    assert_non_null(set_value(r, "involved_parties"));
    Ccai_offline_free(o);

    /* A person asked with "talking to a real human" */
    o = make_filled(s, "en-US", NULL, "{}");
    r = in(o, "Honestly I'd feel better talking to a real human.");
    assert_ends(r, CCAI_OFFLINE_TRANSFER);
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* A field's keywords kept by the lexicon are the ones made afresh: the
 * same for a second dialogue on the lexicon as on a lexicon of its own,
 * and another description or type of the same name is another entry. */
static void keywords_as_fresh(const Ccai_ofl_lexicon *lx, const ccai_claim_schema *s)
{
    Ccai_offline_params p = {.schema = s, .lang = "en-US", .now_ms = NOW_MS, .lexicon = lx};
    Ccai_offline *kept = NULL, *fresh = NULL;
    assert_int_equal(Ccai_offline_new(&p, &kept), CCAI_OK);
    p.lexicon = NULL; /* its own lexicon: nothing kept yet */
    assert_int_equal(Ccai_offline_new(&p, &fresh), CCAI_OK);
    assert_int_equal(kept->nfields, fresh->nfields);
    for (size_t i = 0; i < kept->nfields; i++)
        assert_string_equal(kept->f[i].keywords, fresh->f[i].keywords);
    Ccai_offline_free(kept);
    Ccai_offline_free(fresh);
}

static void test_keywords_kept(void **state)
{
    (void)state;
    Ccai_ofl_lexicon *lx = NULL;
    assert_int_equal(Ccai_offline_lexicon_new(&lx), CCAI_OK);
    ccai_claim_schema *def = default_schema();
    keywords_as_fresh(lx, def);
    keywords_as_fresh(lx, def); /* from the cache */
    const char *other[] = {
        "[{\"name\": \"incident_location\", \"type\": \"text\", \"description\": "
        "\"Street and city of the garage\"}]",
        "[{\"name\": \"incident_location\", \"type\": \"text\"}]",
        "[{\"name\": \"incident_location\", \"type\": \"datetime\", \"description\": "
        "\"Location of the incident\"}]",
    };
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        ccai_claim_schema *s = NULL;
        assert_int_equal(ccai_claim_schema_from_json(other[i], (size_t)-1, &s, NULL), CCAI_OK);
        keywords_as_fresh(lx, s);
        keywords_as_fresh(lx, s);
        ccai_claim_schema_unref(s);
    }
    keywords_as_fresh(lx, def);
    ccai_claim_schema_unref(def);
    Ccai_offline_lexicon_free(lx);
}

/* The report and SMS written without a language model: sentences in the
 * call's language, not a field dump. */
static void test_report_sentences(void **state)
{
    (void)state;
    Ccai_ofl_lexicon *lx = NULL;
    assert_int_equal(Ccai_offline_lexicon_new(&lx), CCAI_OK);
    Ccai_offline_report r;
    const char *claim =
        "{\"policyholder_name\": \"Jean Dupont\", \"incident_datetime\": "
        "\"2024-10-07T23:00:00+02:00\", \"incident_description\": \"Un arbre est tombé sur le "
        "garage.\", \"injuries\": \"Aucun\", \"witnesses\": \"None\", \"vehicle_vin\": \"VF1\"}";
    assert_int_equal(Ccai_offline_report_make(lx, NULL, "fr-FR", claim, "Amélie", "Contoso", &r),
                     CCAI_OK);
    assert_string_equal(r.long_text,
                        "Voici ce que nous avons noté sur votre déclaration. Ce qui s'est passé : "
                        "Un arbre est tombé sur le garage. Cela s'est passé le 7 octobre 2024 à "
                        "23 h 00. Personne n'a été blessé. Il n'y a pas eu de témoin. La "
                        "déclaration est au nom de Jean Dupont. vehicle vin : VF1. Un conseiller "
                        "va l'étudier et reviendra vers vous.");
    assert_string_equal(r.short_text, "Un arbre est tombé sur le garage");
    assert_non_null(strstr(r.sms, "Bonjour, merci de votre appel. Voici ce que"));
    assert_non_null(strstr(r.sms, "Amélie, de Contoso."));
    Ccai_offline_report_clear(&r);

    assert_int_equal(
        Ccai_offline_report_make(lx, NULL, "es-MX", "{\"policy_number\": \"HOG1\"}", NULL, "", &r),
        CCAI_OK);
    assert_string_equal(r.long_text, "Esto es lo que hemos anotado sobre su declaración. Número "
                                     "de póliza: HOG1. Un compañero lo revisará y se pondrá en "
                                     "contacto con usted.");
    assert_string_equal(r.short_text, "Su llamada");
    assert_string_equal(r.sms, "Hola, gracias por su llamada. Esto es lo que hemos anotado sobre "
                               "su declaración. Número de póliza: HOG1. Un compañero lo revisará "
                               "y se pondrá en contacto con usted.");
    Ccai_offline_report_clear(&r);

    /* Nothing noted; an unknown language is written in English. */
    assert_int_equal(Ccai_offline_report_make(lx, NULL, "xx", "{}", "Amelia", NULL, &r), CCAI_OK);
    assert_string_equal(r.long_text, "We did not note any detail of your claim during the call. "
                                     "A colleague will review it and follow up with you.");
    assert_string_equal(r.sms, "Hello, thank you for your call. We did not note any detail of "
                               "your claim during the call. A colleague will review it and "
                               "follow up with you. Amelia.");
    Ccai_offline_report_clear(&r);

    /* A language the lexicon has not, written with its translated
     * sentences: the date in digits, not in English month words. */
    json_t *de = json_pack("{s:s}", "report.incident_datetime", "Es geschah am %s.");
    assert_non_null(de);
    assert_int_equal(Ccai_offline_report_make(
                         lx, de, "de-DE", "{\"incident_datetime\": \"2024-10-07T21:30:00+02:00\"}",
                         NULL, NULL, &r),
                     CCAI_OK);
    assert_non_null(strstr(r.long_text, "Es geschah am 2024-10-07 21:30."));
    assert_null(strstr(r.long_text, "October"));
    Ccai_offline_report_clear(&r);
    json_decref(de);

    /* A long description is cut at a word, whole characters kept. */
    char big[600];
    size_t n = 0;
    n += (size_t)snprintf(big + n, sizeof big - n, "{\"incident_description\": \"");
    for (int k = 0; k < 40; k++)
        n += (size_t)snprintf(big + n, sizeof big - n, "dégâts ");
    snprintf(big + n, sizeof big - n, "\"}");
    assert_int_equal(Ccai_offline_report_make(lx, NULL, "fr-FR", big, NULL, NULL, &r), CCAI_OK);
    assert_true(strlen(r.short_text) <= CCAI_OFFLINE_REPORT_SHORT_MAX);
    assert_int_equal(r.short_text[strlen(r.short_text) - 1], 's');
    Ccai_offline_report_clear(&r);

    assert_int_equal(Ccai_offline_report_make(lx, NULL, "en", "[1]", NULL, NULL, &r),
                     CCAI_ERR_PARSE);
    assert_null(r.long_text);
    assert_int_equal(Ccai_offline_report_make(NULL, NULL, "en", "{}", NULL, NULL, &r),
                     CCAI_ERR_INVALID_ARG);
    Ccai_offline_lexicon_free(lx);
}

/* Questions answered from what the dialogue knows: who it is, how many
 * questions are left, what was noted, why it asks; then the question
 * waiting is asked again. */
static void test_questions_answered(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *before, *question, *answer, *again;
    } q[] = {
        {"en-US", NULL, "Wait, are you a robot?",
         "I am Amelia, an automated assistant: I take down your claim",
         "Could you tell me what happened?"},
        {"fr-FR", NULL, "Ça va être long ?", "Il me reste 6 questions à vous poser.",
         "Pouvez-vous me dire ce qui s'est passé ?"},
        {"en-US", "A pipe burst in my kitchen.", "How many more questions?",
         "I have 5 more questions for you.", "When and where did it happen?"},
        {"es-ES", "mi correo es ana punto ruiz arroba gmail punto com", "¿Tiene bien mi correo?",
         "ana punto ruiz arroba gmail punto com", "¿Podría contarme qué ha pasado?"},
        {"en-US", "A pipe burst in my kitchen.", "What do you have so far?",
         "To sum up: A pipe burst in my kitchen.", "When and where did it happen?"},
        {"en-US", NULL, "Do you have my policy number?", "I have not noted it yet.",
         "Could you tell me what happened?"},
        {"fr-FR", "Un arbre est tombé sur ma voiture.", "Pourquoi vous avez besoin de ça ?",
         "C'est nécessaire pour traiter votre déclaration", "Quand et où cela s'est-il passé ?"},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        Ccai_offline *o = make_from(s, q[i].lang, NULL);
        if (q[i].before)
            in(o, q[i].before);
        const Ccai_offline_reply *r = in(o, q[i].question);
        if (!said(r, q[i].answer) || !said(r, q[i].again) || said(r, "a colleague will follow up"))
            fail_msg("\"%s\" (%s): \"%s\"", q[i].question, q[i].lang,
                     r->n ? r->v[r->n - 1].text : "");
        assert_false(has(r, CCAI_OFFLINE_SET_FIELD, NULL));
        assert_asks(r);
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* A copy of text with the first "from" replaced by "to" (malloc). */
static char *replaced(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    assert_non_null(at);
    size_t n = strlen(text) - strlen(from) + strlen(to);
    char *out = malloc(n + 1);
    assert_non_null(out);
    snprintf(out, n + 1, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    return out;
}

/* Greetings and small talk before a request for a person (or anywhere in
 * the turn) do not keep the request from being honoured, and are no value:
 * "good morning" is no time, "Bonsoir madame" no description. */
static void test_person_after_small_talk(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *text;
    } p[] = {
        {"en-US", "Hi, good morning, yeah I'd rather just talk to somebody"},
        {"en-US", "Hello there. Look, I'd really prefer to deal with a person, if that's alright."},
        {"en-US", "hello hello yes hi I was hoping to speak with one of your agents"},
        {"en-US", "Hi there, I'd like to speak with a claims handler please."},
        {"en-US", "Yeah hi, sorry, could I just get through to a human?"},
        {"en-US", "Hi, thanks for picking up. I think I'd rather speak to one of your colleagues."},
        {"en-US", "Hi. Can I have a person please?"},
        {"en-US", "Honestly, I'd feel better talking to a person."},
        {"fr-FR", "Bonjour, oui, euh, j'aimerais mieux parler à quelqu'un."},
        {"fr-FR", "Bonsoir madame, je préférerais avoir un conseiller s'il vous plaît"},
        {"fr-FR", "Bonjour madame, mettez-moi en relation avec un conseiller."},
        {"fr-FR", "Excusez-moi de vous déranger, j'aimerais parler directement à un conseiller."},
        {"es-ES", "Hola, buenos días, prefiero hablar con una persona."},
        {"es-ES", "Buenas tardes, mire, ¿me podría comunicar con alguien?"},
        {"es-ES", "Hola qué tal, oiga, ¿no hay nadie con quien pueda hablar?"},
        {"es-ES", "Oiga, ¿hay alguna persona ahí?"},
        {"en-US", "Hi, yeah, can someone call me back?"},
        {"fr-FR", "Bonjour, je voudrais qu'un conseiller me rappelle."},
    };
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        for (int late = 0; late < 2; late++) {
            Ccai_offline *o = make_from(s, p[i].lang, NULL);
            if (late)
                in(o, "A tree fell on my car.");
            const Ccai_offline_reply *r = in(o, p[i].text);
            if (!has(r, CCAI_OFFLINE_TRANSFER, NULL))
                fail_msg("\"%s\" (%s) was not taken as a request for a person", p[i].text,
                         p[i].lang);
            assert_ends(r, CCAI_OFFLINE_TRANSFER);
            for (size_t f = 0; f < r->n; f++)
                if (r->v[f].kind == CCAI_OFFLINE_SET_FIELD)
                    fail_msg("\"%s\" (%s): %s = %s noted", p[i].text, p[i].lang, r->v[f].field,
                             r->v[f].text);
            Ccai_offline_free(o);
        }
    }
    /* someone who did something is no person asked for */
    static const struct {
        const char *lang, *text;
    } not_p[] = {
        {"en-US", "I need to report that someone stole my bike."},
        {"fr-FR", "Je souhaite déclarer que quelqu'un a volé mon vélo devant la gare."},
        {"fr-FR", "J'aimerais signaler que quelqu'un a rayé ma voiture."},
        {"es-ES", "Quiero dar parte de que alguien me rayó el coche."},
        {"es-ES", "Puedo hablar despacio, alguien me golpeó el coche en el parking."},
    };
    for (size_t i = 0; i < sizeof not_p / sizeof not_p[0]; i++) {
        Ccai_offline *o = make_from(s, not_p[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, not_p[i].text);
        if (has(r, CCAI_OFFLINE_TRANSFER, NULL))
            fail_msg("\"%s\" (%s) was taken as a request for a person", not_p[i].text,
                     not_p[i].lang);
        assert_non_null(set_value(r, "incident_description"));
        Ccai_offline_free(o);
    }
    /* small talk, then what happened: only what happened */
    static const struct {
        const char *lang, *text, *value;
    } d[] = {
        {"en-US", "Hi, good morning, how are you? A pipe burst in my kitchen.",
         "A pipe burst in my kitchen"},
        {"fr-FR", "Bonsoir madame, un arbre est tombé sur ma voiture.",
         "Un arbre est tombé sur ma voiture"},
        {"es-ES", "Hola, buenas tardes, ¿qué tal? Se me inundó la cocina.",
         "Se me inundó la cocina"},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        Ccai_offline *o = make_from(s, d[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, d[i].text);
        const char *v = set_value(r, "incident_description");
        if (!v || strcmp(v, d[i].value) != 0)
            fail_msg("\"%s\": incident_description = %s, expected %s", d[i].text, v ? v : "(unset)",
                     d[i].value);
        assert_null(set_value(r, "incident_datetime"));
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* An hour said beats the part of the day around it ("in the morning,
 * around ten" is 10:00, not the morning's 09:00), in the ways people say
 * hours: "ten-ish", "10ish", "half seven", "or so", a number alone. */
static void test_explicit_time_beats_part_of_day(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *text, *value;
    } t[] = {
        {"en-US", "Yesterday in the morning, around ten.", "2024-10-07T10:00:00"},
        {"en-US", "yesterday morning I'd say ten-ish", "2024-10-07T10:00:00"},
        {"en-US", "Yesterday, about 10ish in the morning.", "2024-10-07T10:00:00"},
        {"en-US", "Yesterday at half seven in the evening.", "2024-10-07T19:30:00"},
        {"en-US", "Yesterday at quarter to nine in the morning.", "2024-10-07T08:45:00"},
        {"en-US", "It was yesterday morning. Around ten I think.", "2024-10-07T10:00:00"},
        {"en-US", "yesterday morning it must have been ten or so", "2024-10-07T10:00:00"},
        {"en-US", "Yesterday afternoon, um, three-ish.", "2024-10-07T15:00:00"},
        {"en-US", "Yesterday evening, eight.", "2024-10-07T20:00:00"},
        {"en-US", "Good morning! It happened yesterday at 3 pm.", "2024-10-07T15:00:00"},
        {"fr-FR", "Hier matin, vers dix heures et demie.", "2024-10-07T10:30:00"},
        {"fr-FR", "Hier soir, neuf heures moins le quart.", "2024-10-07T20:45:00"},
        {"es-ES", "Ayer por la tarde, a eso de las cinco y media.", "2024-10-07T17:30:00"},
        {"es-ES", "Ayer por la mañana, serían las diez.", "2024-10-07T10:00:00"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        Ccai_offline *o = make_from(s, t[i].lang, NULL);
        in(o, "A pipe burst.");
        const Ccai_offline_reply *r = in(o, t[i].text);
        const char *v = set_value(r, "incident_datetime");
        if (!v || strcmp(v, t[i].value) != 0)
            fail_msg("\"%s\" (%s): %s, expected %s", t[i].text, t[i].lang, v ? v : "(unset)",
                     t[i].value);
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* A question said without "?" and its answer in the same breath: the
 * answer is noted, the question is not part of it. */
static void test_question_and_answer_in_one_breath(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char story[] =
        "{\"incident_description\": \"A tree fell on my car\", \"incident_datetime\": "
        "\"2024-10-07T15:00:00\"";
    static const char *const fill[] = {
        "}", /* the place is asked */
        ", \"incident_location\": \"Elm Street\"}",
        ", \"incident_location\": \"Elm Street\", \"injuries\": \"None\", \"medical_records\": "
        "\"None\", \"pre_existing_damages\": \"None\"}",
        ", \"incident_location\": \"Elm Street\", \"injuries\": \"None\", \"medical_records\": "
        "\"None\", \"involved_parties\": \"Me\", \"witnesses\": \"None\", "
        "\"pre_existing_damages\": \"None\"}",
    };
    static const struct {
        const char *lang;
        int fill;
        const char *text, *field, *has, *not ;
    } q[] = {
        {"en-US", 0, "where did it happen it was on Elm Street in Springfield", "incident_location",
         "Elm Street in Springfield", "happen"},
        {"en-US", 1, "was anyone hurt no nobody was hurt", "injuries", "None", "hurt"},
        {"en-US", 2, "did anyone see it yes my neighbour Tom saw it", "witnesses", "neighbour Tom",
         "anyone"},
        {"en-US", 3, "what do you need my policy number it's AB123456", "policy_number", "AB123456",
         "need"},
        {"fr-FR", 0, "vous voulez l'adresse c'est au 12 rue de la Paix à Lyon", "incident_location",
         "rue de la Paix", "voulez"},
        {"es-ES", 0, "dónde fue pues fue en la Calle Mayor 12 en Madrid", "incident_location",
         "Calle Mayor", "nde fue pues"},
        /* the question said back, then the answer */
        {"en-US", 1, "hurt no nobody", "injuries", "None", "urt"},
        {"en-US", 2, "witnesses yeah my neighbour Tom saw the whole thing", "witnesses",
         "neighbour Tom", "itnesses"},
        {"fr-FR", 1, "des blessés non personne", "injuries", "Aucun", "bless"},
        {"es-ES", 2, "testigos sí mi vecino Pedro lo vio todo", "witnesses", "vecino Pedro",
         "estigos"},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        char claim[512];
        snprintf(claim, sizeof claim, "%s%s", story, fill[q[i].fill]);
        Ccai_offline *o = make_filled(s, q[i].lang, NULL, claim);
        const Ccai_offline_reply *r = in(o, q[i].text);
        const char *v = set_value(r, q[i].field);
        if (!v || !strstr(v, q[i].has) || strstr(v, q[i].not ))
            fail_msg("\"%s\" (%s): %s = %s", q[i].text, q[i].lang, q[i].field, v ? v : "(unset)");
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* A lexicon of the compiled-in en, es, fr files and the German file de. */
static ccai_status lexicon_with_de(const char *de, Ccai_ofl_lexicon **ret)
{
    const char *names[] = {"en", "es", "fr", "de"};
    const char *text[4];
    size_t len[4];
    for (int k = 0; k < 3; k++) {
        char path[32];
        snprintf(path, sizeof path, "offline/%s.txt", names[k]);
        const Ccai_embedded *f = Ccai_embedded_find(path);
        assert_non_null(f);
        text[k] = (const char *)f->data;
        len[k] = f->len;
    }
    text[3] = de;
    len[3] = strlen(de);
    return Ccai_ofl_lexicon_from(names, text, len, 4, ret);
}

/* That lexicon with a German file of no code: the English file with the
 * language's code and names, and each swaps[k] (a text of it) replaced
 * with swaps[k + 1]; NULL-terminated. *ret_text is the German file, freed
 * by the caller after the lexicon. */
static Ccai_ofl_lexicon *german_lexicon(const char *const *swaps, char **ret_text)
{
    const Ccai_embedded *en = Ccai_embedded_find("offline/en.txt");
    assert_non_null(en);
    char *de = replaced((const char *)en->data, "[lang]\nen-US\n", "[lang]\nde-DE\n");
    char *next =
        replaced(de, "[lang.names]\nenglish\nanglais\ningles\n", "[lang.names]\ngerman\ndeutsch\n");
    free(de);
    de = next;
    for (size_t k = 0; swaps[k] && swaps[k + 1]; k += 2) {
        next = replaced(de, swaps[k], swaps[k + 1]);
        free(de);
        de = next;
    }
    Ccai_ofl_lexicon *lx = NULL;
    assert_int_equal(lexicon_with_de(de, &lx), CCAI_OK);
    *ret_text = de;
    return lx;
}

/* Adding a language is adding a data file: a German file (the English one
 * with its language, names and a few phrases changed) next to the files
 * compiled in makes a German dialogue, a switch to German and a German
 * report, with no code. */
static void test_language_is_a_file(void **state)
{
    (void)state;
    static const char *const swaps[] = {"[msg.hello_full]\nHello, this is %s from %s.",
                                        "[msg.hello_full]\nHallo, hier ist %s von %s.",
                                        "[msg.lang_switch]\nOf course, let's continue in English.",
                                        "[msg.lang_switch]\nGerne, sprechen wir Deutsch weiter.",
                                        "[report.policy_number]\nPolicy number: %s.",
                                        "[report.policy_number]\nVersicherungsnummer: %s.",
                                        NULL};
    char *de = NULL;
    Ccai_ofl_lexicon *lx = german_lexicon(swaps, &de);

    ccai_claim_schema *s = default_schema();
    Ccai_offline_params p = {.schema = s,
                             .lang = "de-DE",
                             .bot_name = "Amelia",
                             .bot_company = "Contoso",
                             .now_ms = NOW_MS,
                             .lexicon = lx};
    Ccai_offline *o = NULL;
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    assert_true(said(start(o, false), "Hallo, hier ist Amelia von Contoso."));
    Ccai_offline_free(o);

    /* An English call switches to it: the languages available by default
     * are every file's. */
    p.lang = "en-US";
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    start(o, false);
    const Ccai_offline_reply *r = in(o, "German");
    assert_true(has(r, CCAI_OFFLINE_SET_LANG, "de-DE"));
    assert_true(said(r, "Gerne, sprechen wir Deutsch weiter."));
    Ccai_offline_free(o);

    Ccai_offline_report rep;
    assert_int_equal(Ccai_offline_report_make(lx, NULL, "de-AT", "{\"policy_number\": \"X1\"}",
                                              NULL, NULL, &rep),
                     CCAI_OK);
    assert_non_null(strstr(rep.long_text, "Versicherungsnummer: X1."));
    Ccai_offline_report_clear(&rep);

    /* A file without a phrase every language must have is refused. */
    Ccai_ofl_lexicon *bad = NULL;
    char *short_de = replaced(de, "[msg.goodbye]", "[msg.goodbye_gone]");
    assert_int_equal(lexicon_with_de(short_de, &bad), CCAI_ERR_PARSE);
    assert_null(bad);
    free(short_de);
    Ccai_offline_lexicon_free(lx);
    free(de);
    ccai_claim_schema_unref(s);
}

/* Numbers, weekdays and months are data too: a German file with its own
 * [number.words], [weekday.words] and [month.words] (and no code) makes a
 * German caller's day, date and phone number in words understood. */
static void test_numbers_and_dates_are_a_file(void **state)
{
    (void)state;
    static const char *const swaps[] = {
        "[number.words]\n",
        "[number.words]\nnull 0\neins 1\nzwei 2\ndrei 3\nvier 4\nfünf 5\nsechs 6\n"
        "sieben 7\nacht 8\nneun 9\nzehn 10\nelf 11\nzwölf 12\nzwanzig 20\n",
        "[weekday.words]\n",
        "[weekday.words]\nmontag 1\ndienstag 2\nmittwoch 3\ndonnerstag 4\n"
        "freitag 5\nsamstag 6\nsonntag 7\n",
        "[month.words]\n",
        "[month.words]\njanuar 1\nfebruar 2\nmärz 3\nmai 5\njuni 6\njuli 7\n"
        "oktober 10\ndezember 12\n",
        NULL};
    char *de = NULL;
    Ccai_ofl_lexicon *lx = german_lexicon(swaps, &de);

    ccai_claim_schema *s = default_schema();
    Ccai_offline_params p = {.schema = s,
                             .lang = "de-DE",
                             .now_ms = NOW_MS,
                             .caller_number = "+4930123456",
                             .lexicon = lx};
    static const struct {
        const char *said, *value;
    } days[] = {{"Ein Wasserschaden, am Sonntag.", "2024-10-06T00:00:00"},
                {"Ein Wasserschaden am 3. Oktober.", "2024-10-03T00:00:00"}};
    for (size_t i = 0; i < 2; i++) {
        Ccai_offline *o = NULL;
        assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
        start(o, false);
        in(o, days[i].said); /* a day without time: the time is asked */
        const Ccai_offline_reply *r = in(o, "I don't know.");
        const char *v = set_value(r, "incident_datetime");
        if (!v || strcmp(v, days[i].value) != 0)
            fail_msg("\"%s\": %s, expected %s", days[i].said, v ? v : "(unset)", days[i].value);
        Ccai_offline_free(o);
    }
    /* a national number in German words, with the caller's country */
    p.claim_json = "{\"incident_datetime\": \"2024-10-07T15:00:00\", \"incident_description\": "
                   "\"Wasser\", \"incident_location\": \"Berlin\", \"injuries\": \"None\", "
                   "\"involved_parties\": \"Me\", \"medical_records\": \"None\", "
                   "\"policy_number\": \"AU404040\", \"pre_existing_damages\": \"None\", "
                   "\"witnesses\": \"None\", \"policyholder_name\": \"Jonas Weber\", "
                   "\"policyholder_email\": \"j.weber@example.de\"}";
    Ccai_offline *o = NULL;
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    start(o, false);
    const Ccai_offline_reply *r =
        in(o, "null eins sieben eins, zwei drei vier, fünf sechs sieben acht");
    const char *v = set_value(r, "policyholder_phone");
    if (!v || strcmp(v, "+491712345678") != 0)
        fail_msg("phone in German words: %s", v ? v : "(unset)");
    Ccai_offline_free(o);
    Ccai_offline_lexicon_free(lx);
    free(de);
    ccai_claim_schema_unref(s);
}

/* "No, wait." to a question of two fields: the words say no, and once
 * "no" and "wait" are taken nothing is left to note. The turn went on as
 * a failed allocation (CCAI_ERR_NOMEM: the call's turn lost) until the
 * fuzzer found it; now the question stands. */
static void test_nothing_left_to_note(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char *const words[] = {"No wait.", "no wait no wait", "No. Wait, no."};
    for (size_t k = 0; k < CCAI_ARRAY_SIZE(words); k++) {
        Ccai_offline *o = make(s, "en-US",
                               "{\"incident_description\":\"A pipe burst\","
                               "\"incident_datetime\":\"2024-10-07T15:00:00\","
                               "\"incident_location\":\"12 Elm Street\"}",
                               NULL);
        start(o, false);
        for (int again = 0; again < 2; again++) { /* said again to the question asked again */
            const Ccai_offline_reply *r = in(o, words[k]);
            assert_asks(r);
            if (again && k < 2) /* the question that had no answer stands */
                assert_true(said(r, "involved") && !set_value(r, "involved_parties"));
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* Ordinals, parts of the day, yes, no and negators are data too: German
 * words in a German file (and no code) make "am dritten Oktober", "Sonntag
 * Abend", "jawohl" and "nicht richtig" understood. */
static void test_ordinals_dayparts_yes_no_are_a_file(void **state)
{
    (void)state;
    static const char *const swaps[] = {"[weekday.words]\n",
                                        "[weekday.words]\nsonntag 7\n",
                                        "[month.words]\n",
                                        "[month.words]\noktober 10\n",
                                        "[ordinal.words]\n",
                                        "[ordinal.words]\ndritten 3\n",
                                        "[daypart.words]\n",
                                        "[daypart.words]\nabend 20\n",
                                        "[yes.words]\n",
                                        "[yes.words]\njawohl\nrichtig\n",
                                        "[negator.words]\n",
                                        "[negator.words]\nnicht 4\n",
                                        NULL};
    char *de = NULL;
    Ccai_ofl_lexicon *lx = german_lexicon(swaps, &de);

    ccai_claim_schema *s = default_schema();
    Ccai_offline_params p = {.schema = s, .lang = "de-DE", .now_ms = NOW_MS, .lexicon = lx};
    Ccai_offline *o = NULL;
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    start(o, false);
    const Ccai_offline_reply *r = in(o, "Ein Wasserschaden, am Sonntag Abend.");
    const char *v = noted(o, &r, "incident_datetime");
    if (!v || strcmp(v, "2024-10-06T20:00:00") != 0)
        fail_msg("\"Sonntag Abend\": %s", v ? v : "(unset)");
    Ccai_offline_free(o);

    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    start(o, false);
    in(o, "Ein Wasserschaden am dritten Oktober."); /* the time is asked */
    r = in(o, "I don't know.");
    v = set_value(r, "incident_datetime");
    if (!v || strcmp(v, "2024-10-03T00:00:00") != 0)
        fail_msg("\"am dritten Oktober\": %s", v ? v : "(unset)");
    Ccai_offline_free(o);

    /* yes and no at the confirmation */
    ccai_claim_schema *two = two_field_schema();
    p.schema = two;
    p.claim_json = "{\"incident_datetime\": \"2024-10-07 15:00\", \"incident_description\": "
                   "\"Wasser\", \"policyholder_email\": \"j@example.de\", \"policyholder_name\": "
                   "\"Jonas Weber\", \"policyholder_phone\": \"+4930123456\"}";
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    start(o, true);
    r = in(o, "jawohl");
    if (!Ccai_offline_ended(o))
        fail_msg("\"jawohl\" was not taken as yes: %s", r->n ? r->v[r->n - 1].text : "");
    assert_ends(r, CCAI_OFFLINE_HANGUP);
    Ccai_offline_free(o);
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    start(o, true);
    r = in(o, "nicht richtig");
    if (Ccai_offline_ended(o) || !said(r, "Which information would you like to change?"))
        fail_msg("\"nicht richtig\" was not taken as no");
    Ccai_offline_free(o);
    ccai_claim_schema_unref(two);
    Ccai_offline_lexicon_free(lx);
    free(de);
    ccai_claim_schema_unref(s);
}

/* What a batch of natural callers showed (tests/offline_callers/tuning5.yaml),
 * in sentences of its kinds. */
static void test_natural_callers_batch5(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    /* a tag asks nothing: a statement, no question, no transfer */
    Ccai_offline *o = make_from(s, "en-GB", NULL);
    const Ccai_offline_reply *r =
        in(o, "Right, look, somebody nicked the catalytic converter off my car, alright?");
    assert_false(has(r, CCAI_OFFLINE_TRANSFER, NULL));
    const char *v = set_value(r, "incident_description");
    if (!v || !strstr(v, "catalytic converter"))
        fail_msg("tagged statement: incident_description = %s", v ? v : "(unset)");
    Ccai_offline_free(o);

    /* the facts before a request for a person in the same clause are noted */
    o = make_from(s, "es-ES", NULL);
    r = in(o, "Me robaron la bici ayer por la tarde y prefiero que me atienda una persona.");
    assert_ends(r, CCAI_OFFLINE_TRANSFER);
    v = set_value(r, "incident_datetime");
    if (!v || strcmp(v, "2024-10-07T15:00:00") != 0)
        fail_msg("facts before the request: incident_datetime = %s", v ? v : "(unset)");
    v = set_value(r, "incident_description");
    if (!v || !strstr(v, "bici") || strstr(v, "persona"))
        fail_msg("facts before the request: incident_description = %s", v ? v : "(unset)");
    Ccai_offline_free(o);

    /* a capitalised word after a sentence end is no street: the hour stays */
    o = make_from(s, "en-GB", NULL);
    in(o, "A branch came down on my conservatory roof.");
    r = in(o, "Sunday in the morning, around ten. Actually no, it was Saturday, same time.");
    v = set_value(r, "incident_datetime");
    if (!v || strcmp(v, "2024-10-05T10:00:00") != 0)
        fail_msg("corrected day, same time: %s", v ? v : "(unset)");
    Ccai_offline_free(o);

    /* the letter of "it's" is no spelled letter */
    o = make_filled(s, "en-US", NULL,
                    "{\"incident_description\": \"Theft\", \"incident_datetime\": "
                    "\"2024-10-07T23:00:00\", \"incident_location\": \"Oakland\", \"injuries\": "
                    "\"None\", \"medical_records\": \"None\", \"involved_parties\": \"Me\", "
                    "\"witnesses\": \"None\", \"pre_existing_damages\": \"None\"}");
    r = in(o, "what do you need my policy number it's A U 6 1 9 9 0 2");
    v = set_value(r, "policy_number");
    if (!v || strcmp(v, "AU619902") != 0)
        fail_msg("\"it's A U 6 1 9 9 0 2\": policy_number = %s", v ? v : "(unset)");
    Ccai_offline_free(o);

    /* a vague place said in passing is asked, not noted */
    o = make_from(s, "fr-FR", NULL);
    r = in(o, "On m'a rayé toute la portière de la voiture sur le parking.");
    assert_non_null(set_value(r, "incident_description"));
    if ((v = set_value(r, "incident_location")) != NULL)
        fail_msg("a vague place was noted: %s", v);
    Ccai_offline_free(o);

    /* the number the caller calls from, in French words */
    o = make_filled(s, "fr-FR", "+33612345202",
                    "{\"incident_description\": \"Vol\", \"incident_datetime\": "
                    "\"2024-10-07T23:00:00\", \"incident_location\": \"Nantes\", \"injuries\": "
                    "\"None\", \"medical_records\": \"None\", \"involved_parties\": \"Moi\", "
                    "\"witnesses\": \"None\", \"pre_existing_damages\": \"None\", "
                    "\"policyholder_name\": \"Sophie Marchand\", \"policy_number\": \"AUT55032\"}");
    r = in(o, "Le numéro avec lequel j'appelle.");
    v = set_value(r, "policyholder_phone");
    if (!v || strcmp(v, "+33612345202") != 0)
        fail_msg("\"le numéro avec lequel j'appelle\": %s", v ? v : "(unset)");
    Ccai_offline_free(o);

    /* a question back after the answer is not the next answer */
    o = make_filled(s, "en-GB", NULL,
                    "{\"incident_description\": \"Theft\", \"incident_datetime\": "
                    "\"2024-10-07T23:00:00\", \"incident_location\": \"Leeds\"}");
    r = in(o, "No. Why would there be.");
    v = set_value(r, "medical_records");
    if (v && strstr(v, "Why"))
        fail_msg("a question back was noted: medical_records = %s", v);
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* Callers who ramble and hedge: "No no, ..." is a no, "bueno, igual eran
 * las once" corrects the hour, a question after a lead-in clause is a
 * question. */
static void test_natural_callers_hedges(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = make_filled(s, "en-US", NULL,
                                  "{\"incident_description\": \"Burglary\", \"incident_datetime\": "
                                  "\"2024-10-05T12:00:00\", \"incident_location\": \"Austin\"}");
    const Ccai_offline_reply *r = in(o, "No no, I wasn't even there, thank goodness.");
    const char *v = set_value(r, "injuries");
    if (!v || strcmp(v, "None") != 0)
        fail_msg("\"No no, I wasn't even there\": injuries = %s", v ? v : "(unset)");
    Ccai_offline_free(o);

    /* Scots negations in one word ("wasnae", "naebody") are a no */
    static const char *const scots[] = {
        "Naw, I wasnae even in the car at the time.",
        "Naebody was hurt, we were lucky.",
    };
    for (size_t i = 0; i < sizeof scots / sizeof scots[0]; i++) {
        o = make_filled(s, "en-GB", NULL,
                        "{\"incident_description\": \"Burglary\", \"incident_datetime\": "
                        "\"2024-10-05T12:00:00\", \"incident_location\": \"Leith\"}");
        r = in(o, scots[i]);
        v = set_value(r, "injuries");
        if (!v || strcmp(v, "None") != 0)
            fail_msg("\"%s\": injuries = %s", scots[i], v ? v : "(unset)");
        Ccai_offline_free(o);
    }

    /* French "que moi" (only me) opens no Spanish "qué" question: the
     * answer is noted, not taken for a question */
    static const char *const only[] = {
        "Que moi et ma femme, c'était notre voiture.",
        "Que le livreur, non, personne d'autre.",
    };
    for (size_t i = 0; i < sizeof only / sizeof only[0]; i++) {
        o = make(s, "fr-FR", "{}", NULL);
        start(o, false);
        in(o, "Mon vélo a été volé.");
        in(o, "Ce matin vers sept heures, dans le local à vélos, 40 rue Garibaldi à Lyon.");
        in(o, "Non.");
        r = in(o, only[i]);
        v = set_value(r, "involved_parties");
        if (!v || strncmp(v, "Que ", 4) != 0)
            fail_msg("\"%s\": involved_parties = %s", only[i], v ? v : "(unset)");
        Ccai_offline_free(o);
    }

    /* somebody who saw nothing is no witness ([none.witnesses]) */
    static const struct {
        const char *lang, *what, *where, *no, *who, *none;
    } blind[] = {
        {"en-GB", "My bike was stolen.",
         "This morning around seven, outside 40 Mill Road, Cambridge.", "No.",
         "Just me. The night porter told me he didn't see a thing.", "None"},
        {"fr-FR", "Mon vélo a été volé.",
         "Ce matin vers sept heures, dans le local à vélos, 40 rue Garibaldi à Lyon.", "Non.",
         "Moi seul. La concierge m'a dit qu'elle n'avait rien vu.", "Aucun"},
        {"es-MX", "Me robaron la bicicleta.",
         "Hoy como a las siete de la mañana, afuera de Durango 45, en la Roma.", "No.",
         "Yo nada más. El vigilante me dijo que no vieron nada.", "Ninguno"},
    };
    for (size_t i = 0; i < sizeof blind / sizeof blind[0]; i++) {
        o = make(s, blind[i].lang, "{}", NULL);
        start(o, false);
        in(o, blind[i].what);
        in(o, blind[i].where);
        in(o, blind[i].no);
        r = in(o, blind[i].who);
        v = set_value(r, "witnesses");
        if (!v || !set_value(r, "involved_parties") || strcmp(v, blind[i].none) != 0)
            fail_msg("\"%s\": witnesses = %s", blind[i].who, v ? v : "(unset)");
        Ccai_offline_free(o);
    }

    /* "je n'ai pas eu besoin de soins" is a no, not the don't-know "je n'ai
     * pas" */
    static const char *const nodoc[] = {
        "Je n'ai pas eu besoin de soins, ça allait.",
        "Je n'ai pas vu de docteur, c'était pas la peine.",
    };
    for (size_t i = 0; i < sizeof nodoc / sizeof nodoc[0]; i++) {
        o = make_filled(s, "fr-FR", NULL,
                        "{\"incident_description\": \"Choc arrière\", \"incident_datetime\": "
                        "\"2024-10-05T12:00:00\", \"incident_location\": \"Lyon\", "
                        "\"injuries\": \"Mal au dos\", \"pre_existing_damages\": \"Aucun\"}");
        r = in(o, nodoc[i]);
        v = set_value(r, "medical_records");
        if (!v || strcmp(v, "Aucun") != 0)
            fail_msg("\"%s\": medical_records = %s", nodoc[i], v ? v : "(unset)");
        Ccai_offline_free(o);
    }

    static const struct {
        const char *lang, *text, *value;
    } t[] = {
        {"es-ES", "El sábado por la noche, hacia las diez, bueno, igual eran las once.",
         "2024-10-05T23:00:00"},
        {"en-US", "Saturday around ten at night, or maybe eleven.", "2024-10-05T23:00:00"},
        {"fr-FR", "Samedi soir vers dix heures, ou peut-être onze heures.", "2024-10-05T23:00:00"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        o = make_from(s, t[i].lang, NULL);
        in(o, "A pipe burst.");
        r = in(o, t[i].text);
        v = set_value(r, "incident_datetime");
        if (!v || strcmp(v, t[i].value) != 0)
            fail_msg("\"%s\": %s, expected %s", t[i].text, v ? v : "(unset)", t[i].value);
        Ccai_offline_free(o);
    }

    o = make_from(s, "en-GB", NULL);
    r = in(o, "Before I say anything, will this affect my no claims bonus");
    assert_false(has(r, CCAI_OFFLINE_SET_FIELD, NULL));
    assert_asks(r);
    r = in(o, "Someone reversed into my car.");
    assert_non_null(set_value(r, "incident_description"));
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* A day of the month without its month, corrected on a later turn; a
 * phone number whose last digits are corrected; "And no, no injuries";
 * "last night" out of what happened; an adjuster asked for. */
static void test_natural_callers_days_and_digits(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = make_from(s, "en-US", NULL);
    in(o, "Hail damaged my car's windshield.");
    const Ccai_offline_reply *r = in(o, "On the 4th, in the afternoon, around three-ish.");
    const char *v = set_value(r, "incident_datetime");
    if (!v || strcmp(v, "2024-10-04T15:00:00") != 0)
        fail_msg("\"On the 4th, in the afternoon, around three-ish\": %s", v ? v : "(unset)");
    in(o, "In my driveway, 230 Willow Lane, Omaha.");
    r = in(o, "Oh, sorry, before that, the date was actually the 3rd, not the 4th. And no, no "
              "injuries.");
    v = set_value(r, "incident_datetime");
    if (!v || strcmp(v, "2024-10-03T15:00:00") != 0)
        fail_msg("the day corrected on a later turn: %s", v ? v : "(unset)");
    v = set_value(r, "injuries");
    if (!v || strcmp(v, "None") != 0)
        fail_msg("\"And no, no injuries\": %s", v ? v : "(unset)");
    Ccai_offline_free(o);

    static const struct {
        const char *lang, *text, *value;
    } d[] = {
        {"fr-FR", "Le 4, vers quinze heures.", "2024-10-04T15:00:00"},
        {"es-ES", "El día 4 por la tarde, a las tres.", "2024-10-04T15:00:00"},
        {"en-US", "On the twenty first, in the evening.", "2024-09-21T20:00:00"},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        o = make_from(s, d[i].lang, NULL);
        in(o, "A pipe burst.");
        r = in(o, d[i].text);
        v = noted(o, &r, "incident_datetime");
        if (!v || strcmp(v, d[i].value) != 0)
            fail_msg("\"%s\": %s, expected %s", d[i].text, v ? v : "(unset)", d[i].value);
        Ccai_offline_free(o);
    }
    /* "the first thing I did" is no date */
    o = make_from(s, "en-US", NULL);
    r = in(o, "The first thing I saw was water everywhere in the kitchen.");
    assert_null(set_value(r, "incident_datetime"));
    Ccai_offline_free(o);

    o = make_filled(s, "en-US", NULL,
                    "{\"incident_description\": \"Hail\", \"incident_datetime\": "
                    "\"2024-10-03T15:00:00\", \"incident_location\": \"Omaha\", \"injuries\": "
                    "\"None\", \"medical_records\": \"None\", \"involved_parties\": \"Me\", "
                    "\"witnesses\": \"None\", \"pre_existing_damages\": \"None\", "
                    "\"policyholder_name\": \"Rachel Adams\", \"policy_number\": \"AU303077\"}");
    r = in(o, "four oh two, five five five, zero one four four. Sorry, zero one four one at the "
              "end.");
    v = set_value(r, "policyholder_phone");
    if (!v || strcmp(v, "+14025550141") != 0)
        fail_msg("the last digits corrected: %s", v ? v : "(unset)");
    Ccai_offline_free(o);

    o = make_from(s, "en-US", NULL);
    r = in(o, "My basement flooded last night.");
    v = set_value(r, "incident_description");
    if (!v || strcmp(v, "My basement flooded") != 0)
        fail_msg("\"My basement flooded last night\": incident_description = %s",
                 v ? v : "(unset)");
    r = in(o, "Around midnight. Is there any way I could speak with an actual adjuster?");
    assert_ends(r, CCAI_OFFLINE_TRANSFER);
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* Contacts said as people say them: the domain corrected alone, "this one"
 * as a sentence of its own beside another answer; a don't-know with more
 * words is no "none". */
static void test_natural_callers_contacts(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char filled[] =
        "{\"incident_description\": \"Vol\", \"incident_datetime\": \"2024-10-07T12:00:00\", "
        "\"incident_location\": \"Lyon\", \"injuries\": \"None\", \"medical_records\": \"None\", "
        "\"involved_parties\": \"Moi\", \"witnesses\": \"None\", \"pre_existing_damages\": "
        "\"None\", \"policyholder_name\": \"Karim Benali\", \"policy_number\": \"AUT44190\"}";
    Ccai_offline *o = make_filled(s, "fr-FR", "+33612345501", filled);
    const Ccai_offline_reply *r = in(o, "Ce numéro. karim point benali arobase gmail point com, "
                                        "non pardon, hotmail point com");
    const char *v = set_value(r, "policyholder_email");
    if (!v || strcmp(v, "karim.benali@hotmail.com") != 0)
        fail_msg("the domain corrected: %s", v ? v : "(unset)");
    Ccai_offline_free(o);

    o = make_filled(s, "es-ES", "+34612345501", filled);
    r = in(o, "Este. No tengo correo.");
    v = set_value(r, "policyholder_phone");
    if (!v || strcmp(v, "+34612345501") != 0)
        fail_msg("\"Este. No tengo correo.\": policyholder_phone = %s", v ? v : "(unset)");
    Ccai_offline_free(o);

    o = make_filled(s, "es-ES", NULL,
                    "{\"incident_description\": \"Robo\", \"incident_datetime\": "
                    "\"2024-10-08T09:00:00\", \"incident_location\": \"Madrid\", \"injuries\": "
                    "\"None\", \"medical_records\": \"None\"}");
    r = in(o, "Yo y el ladrón. No lo sé, había mucha gente.");
    v = set_value(r, "witnesses");
    if (v && strcmp(v, "Ninguno") == 0)
        fail_msg("\"No lo sé, había mucha gente\" was noted as no witnesses");
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* Issue 15, unseen callers: no field noted but the ones expected, none but
 * those listed as absent. */
static void expect_fields(const Ccai_offline_reply *r, const char *said, const char *const *fields,
                          const char *const *values, size_t n, const char *const *absent, size_t na)
{
    for (size_t k = 0; k < n; k++) {
        const char *v = set_value(r, fields[k]);
        if (!v || !strstr(v, values[k]))
            fail_msg("\"%s\": %s = %s, expected %s", said, fields[k], v ? v : "(unset)", values[k]);
    }
    for (size_t k = 0; k < na; k++) {
        const char *v = set_value(r, absent[k]);
        if (v)
            fail_msg("\"%s\": %s = %s noted", said, absent[k], v);
    }
}

static void test_person_wanted_for_a_visit(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    /* a person wanted to come and look is no request for a person */
    static const struct {
        const char *lang, *text;
    } visit[] = {
        {"en-GB", "The hail smashed two skylights. Could you send someone round to have a look?"},
        {"en-US",
         "My fence got knocked down by a truck, can I get somebody to come out and check it?"},
        {"fr-FR",
         "La grêle a cassé la verrière. Est-ce que quelqu'un peut venir voir les dégâts ?"},
        {"fr-FR",
         "Un arbre est tombé sur le garage, vous pouvez envoyer quelqu'un pour constater ?"},
        {"es-ES", "Se me ha caído el techo de la cocina. ¿Pueden mandar a alguien a revisarlo?"},
        {"es-ES", "Un camión me rompió la valla, ¿va a venir alguien a ver los daños?"},
        {"fr-FR", "Ma voisine a parlé à quelqu'un de chez vous. Un tuyau a éclaté dans la salle "
                  "de bain, quelqu'un doit passer le réparer demain."},
    };
    for (size_t i = 0; i < sizeof visit / sizeof visit[0]; i++) {
        Ccai_offline *o = make_from(s, visit[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, visit[i].text);
        if (has(r, CCAI_OFFLINE_TRANSFER, NULL))
            fail_msg("\"%s\" was taken as a request for a person", visit[i].text);
        if (!set_value(r, "incident_description"))
            fail_msg("\"%s\": no description", visit[i].text);
        assert_asks(r);
        Ccai_offline_free(o);
    }
    /* indirect requests, after small talk or annoyance: honoured, and the
     * small talk is noted as nothing */
    static const struct {
        const char *lang, *text;
    } ask[] = {
        {"en-GB", "Afternoon. Grim weather, isn't it. Anyway, can you just find me somebody who "
                  "works there, I'm not in the mood for a machine."},
        {"en-US", "You know what, I'd rather go through this with someone on your claims team."},
        {"fr-FR", "Bonjour. Je vais être franche, je ne parle pas aux machines. Il y a quelqu'un "
                  "chez vous ?"},
        {"fr-FR", "Vous pouvez me mettre en relation avec un vrai gestionnaire ?"},
        {"en-US", "Honestly, I'd prefer to handle this with an actual agent."},
        {"es-ES", "Buenas. Mire, con máquinas no hablo. ¿Hay alguien ahí que me pueda atender?"},
    };
    for (size_t i = 0; i < sizeof ask / sizeof ask[0]; i++) {
        for (int late = 0; late < 2; late++) {
            Ccai_offline *o = make_from(s, ask[i].lang, NULL);
            if (late)
                in(o, "A pipe burst in the kitchen.");
            const Ccai_offline_reply *r = in(o, ask[i].text);
            if (!has(r, CCAI_OFFLINE_TRANSFER, NULL))
                fail_msg("\"%s\" was not taken as a request for a person", ask[i].text);
            for (size_t f = 0; f < r->n; f++)
                if (r->v[f].kind == CCAI_OFFLINE_SET_FIELD)
                    fail_msg("\"%s\": %s = %s noted", ask[i].text, r->v[f].field, r->v[f].text);
            Ccai_offline_free(o);
        }
    }
    /* a day said with the request is kept */
    Ccai_offline *o = make_from(s, "fr-FR", NULL);
    const Ccai_offline_reply *r =
        in(o, "On a eu un dégât des eaux avant-hier. Je préférerais en parler à un conseiller.");
    assert_true(has(r, CCAI_OFFLINE_TRANSFER, NULL));
    const char *v = set_value(r, "incident_datetime");
    if (!v || strncmp(v, "2024-10-06", 10) != 0)
        fail_msg("the day said with a request for a person: %s", v ? v : "(unset)");
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

static void test_details_announced(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *text, *name, *email;
    } d[] = {
        {"en-GB",
         "Before we start, here are my details: Priya Nair, email priya dot nair at gmail "
         "dot com.",
         "Priya Nair", "priya.nair@gmail.com"},
        {"fr-FR",
         "Je vous donne tout de suite mes coordonnées, comme ça c'est fait : Camille Roux, "
         "camille point roux arobase free point fr.",
         "Camille Roux", "camille.roux@free.fr"},
        {"es-ES",
         "Le paso mis datos para ir más rápido: Marta Ibáñez, marta punto ibanez arroba "
         "gmail punto com.",
         "Marta Ibáñez", "marta.ibanez@gmail.com"},
    };
    static const char *const absent[] = {"incident_description", "incident_location"};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        /* said to "what happened?": no answer to it */
        Ccai_offline *o = make_from(s, d[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, d[i].text);
        const char *f[] = {"policyholder_name", "policyholder_email"};
        const char *v[] = {d[i].name, d[i].email};
        expect_fields(r, d[i].text, f, v, 2, absent, 2);
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

static void test_relative_days_and_minute_words(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *text, *value;
    } d[] = {
        {"en-GB",
         "The day before yesterday at twenty to eight in the evening a van scraped my car.",
         "2024-10-06T19:40:00"},
        {"en-US", "Morning. So my basement flooded, it was yesterday at a quarter past noon.",
         "2024-10-07T12:15:00"},
        {"fr-FR", "Avant-hier vers midi et quart, une branche est tombée sur ma voiture.",
         "2024-10-06T12:15:00"},
        {"fr-FR",
         "La nuit de dimanche à lundi, vers deux heures du matin, la tempête a arraché des "
         "tuiles.",
         "2024-10-07T02:00:00"},
        {"es-ES", "Anteayer sobre las ocho menos veinte de la tarde se me rompió la lavadora.",
         "2024-10-06T19:40:00"},
        {"es-ES", "Esta mañana sobre las once y veinte se me cayó el móvil a la piscina.",
         "2024-10-08T11:20:00"},
        {"es-ES", "Esta madrugada, sobre las tres, me pincharon las ruedas.",
         "2024-10-08T03:00:00"},
    };
    static const char *const absent[] = {"policy_number"};
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        Ccai_offline *o = make_from(s, d[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, d[i].text);
        const char *f[] = {"incident_datetime", "incident_description"};
        const char *v[] = {d[i].value, ""};
        expect_fields(r, d[i].text, f, v, 2, absent, 1);
        Ccai_offline_free(o);
    }
    /* an hour said later refines a part of the day */
    Ccai_offline *o = make_from(s, "en-US", NULL);
    const Ccai_offline_reply *r = in(o, "My garage was broken into last night.");
    /* no hour: the night noted, the time asked */
    assert_string_equal(set_value(r, "incident_datetime"), "2024-10-07T23:00:00");
    assert_true(said(r, "And at what time, roughly?"));
    r = in(o, "No idea, sorry.");
    const char *v = set_value(r, "incident_datetime");
    assert_non_null(v);
    assert_string_equal(v, "2024-10-07T23:00:00");
    assert_true(said(r, "7 October 2024 at night."));
    assert_false(said(r, "23:00"));
    r = in(o, "That was last night at about a quarter to eleven, by the way.");
    v = set_value(r, "incident_datetime");
    if (!v || strcmp(v, "2024-10-07T22:45:00") != 0)
        fail_msg("the hour after a part of the day: %s", v ? v : "(unset)");
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

static void test_days_minutes_commands_are_a_file(void **state)
{
    (void)state;
    static const char *const swaps[] = {"[number.words]\n",
                                        "[number.words]\nzehn 10\nelf 11\n",
                                        "[day.relative]\n",
                                        "[day.relative]\nvorgestern 2\n",
                                        "[minute.words]\n",
                                        "[minute.words]\nviertel 15\n",
                                        "[minute.past]\n",
                                        "[minute.past]\nnach\n",
                                        "[cmd.goodbye]\n",
                                        "[cmd.goodbye]\ntschüss\n",
                                        NULL};
    char *de = NULL;
    Ccai_ofl_lexicon *lx = german_lexicon(swaps, &de);
    ccai_claim_schema *s = default_schema();
    Ccai_offline_params p = {.schema = s, .lang = "de-DE", .now_ms = NOW_MS, .lexicon = lx};
    Ccai_offline *o = NULL;
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    start(o, false);
    const Ccai_offline_reply *r = in(o, "Ein Wasserschaden, vorgestern, Viertel nach zehn.");
    const char *v = set_value(r, "incident_datetime");
    if (!v || strcmp(v, "2024-10-06T10:15:00") != 0)
        fail_msg("a day and minutes in German words: %s", v ? v : "(unset)");
    r = in(o, "Tschüss.");
    assert_ends(r, CCAI_OFFLINE_HANGUP);
    Ccai_offline_free(o);
    Ccai_offline_lexicon_free(lx);
    free(de);
    ccai_claim_schema_unref(s);
}

/* Places as people say them (tuning13, 2026-12-07): a street whose name
 * starts with an article, a street and its number with no preposition, a
 * second place that says more ("en el TransMilenio, en la estación de la
 * Calle 72"), a house named by its town; a month is no town. */
/* "No. No, sorry, it was Saturday": the first "No" answers, the second
 * starts a correction. (The review of 2026-12-07 found both skipped as one
 * "no no" across the sentence break; this case passed before that fix too,
 * its "sorry" carrying the correction.) */
static void test_no_then_correction(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = make_from(s, "en-GB", NULL);
    const Ccai_offline_reply *r = in(
        o, "Someone scraped my car on Sunday morning at nine, in the Lidl car park on Mill Road.");
    const char *v = set_value(r, "incident_datetime");
    assert_non_null(v);
    assert_int_equal(strncmp(v, "2024-10-06T09:00", 16), 0);
    r = in(o, "No. No, sorry, it was Saturday morning, not Sunday.");
    v = set_value(r, "incident_datetime");
    if (!v || strncmp(v, "2024-10-05T09:00", 16) != 0)
        fail_msg("corrected day: %s", v ? v : "(unset)");
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

static void test_places_as_people_say_them(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    int bad = 0;
    static const struct {
        const char *lang, *text, *key1, *key2, *never;
    } cases[] = {
        {"es-CO", "Me robaron el celular en el TransMilenio, en la estación de la Calle 72.",
         "TransMilenio", "72", NULL},
        {"fr-FR",
         "J'ai eu un accrochage ce matin avec un scooter, rue de la République, à Lyon, le jeune "
         "est tombé.",
         "République", "Lyon", "tombé"},
        {"es-AR",
         "Cayó granizo y me abolló el auto, estaba en la calle, frente a casa, en Avenida "
         "Colón 1500.",
         "Colón", "1500", NULL},
        {"es-ES",
         "Se nos quemó parte de la terraza con una barbacoa el sábado por la noche, en el chalet "
         "de Boadilla.",
         "Boadilla", "chalet", NULL},
        {"en-US",
         "A tree came down on my garage on Saturday, at my house on 12 Elm Street, Dayton.", "Elm",
         "Dayton", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_from(s, cases[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, cases[i].text);
        const char *v = set_value(r, "incident_location");
        if (!v || !strstr(v, cases[i].key1) || !strstr(v, cases[i].key2) ||
            (cases[i].never && strstr(v, cases[i].never)))
            bad++, print_error("\"%s\": location %s\n", cases[i].text, v ? v : "(unset)");
        Ccai_offline_free(o);
    }
    /* "I renewed in August" to another question is no place */
    static const struct {
        const char *lang, *first, *then;
    } months[] = {
        {"en-IE", "Someone smashed my car window outside the Tesco in Ballymun and took my bag.",
         "Ah no, sorry, that's the old one, I renewed in August."},
        {"fr-FR", "On m'a volé mon sac dans la voiture devant le Carrefour de Villeurbanne.",
         "Ah non pardon, ça c'est l'ancien contrat, j'ai renouvelé en Septembre."},
    };
    for (size_t i = 0; i < sizeof months / sizeof months[0]; i++) {
        Ccai_offline *o = make_from(s, months[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, months[i].first);
        assert_non_null(set_value(r, "incident_location"));
        r = in(o, months[i].then);
        const char *v = set_value(r, "incident_location");
        if (v)
            bad++, print_error("\"%s\": location %s\n", months[i].then, v);
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

static void test_places_named_and_corrected(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    /* a place named is where it happened, with or without its street:
     * noted, not asked again (review of 2026-12-07); a place with no name
     * is asked */
    static const struct {
        const char *lang, *text, *key;
    } shop[] = {
        {"en-GB", "Someone dented my door in the Lidl car park.", "Lidl"},
        {"en-GB", "Someone dented my door in the Lidl car park on Ferry Road.", "Lidl"},
        {"fr-FR", "On m'a rayé la portière sur le parking du Leclerc.", "Leclerc"},
        {"fr-FR", "On m'a rayé la portière sur le parking du Leclerc de Quimper.", "Leclerc"},
        {"es-ES", "Me rayaron el coche en el aparcamiento del Mercadona.", "Mercadona"},
        {"es-ES", "Me rayaron el coche en el aparcamiento del Mercadona de la calle Sol.",
         "Mercadona"},
        {"es-ES", "Me robaron la bici delante del Carrefour de la calle Alcalá.", "Carrefour"},
        {"en-GB", "Someone dented my door in the car park.", NULL},
        {"fr-FR", "On m'a rayé la portière sur le parking.", NULL},
    };
    for (size_t i = 0; i < sizeof shop / sizeof shop[0]; i++) {
        Ccai_offline *o = make_from(s, shop[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, shop[i].text);
        const char *v = set_value(r, "incident_location");
        if (shop[i].key ? !v || !strstr(v, shop[i].key) : v != NULL)
            fail_msg("\"%s\": location %s", shop[i].text, v ? v : "(unset)");
        assert_non_null(set_value(r, "incident_description"));
        Ccai_offline_free(o);
    }
    /* a place corrected on a later turn, said to another question */
    static const struct {
        const char *lang, *first, *fix, *key;
    } fix[] = {
        {"en-GB", "A bollard scraped my car door outside the Boots on Park Street in Bath.",
         "Oh, I got that wrong about the place, it wasn't the Boots, it was outside the Waitrose "
         "on Green Street, in Bath.",
         "Green Street"},
        {"fr-FR", "Un scooter a arraché mon rétroviseur rue Gambetta à Lille.",
         "Au temps pour moi, ce n'était pas rue Gambetta, c'était avenue Foch, à Lille.", "Foch"},
        {"es-ES", "Una moto me rompió el retrovisor en la calle Mayor de Zaragoza.",
         "Perdone, me he liado, no fue en la calle Mayor, fue en la avenida de Goya, en Zaragoza.",
         "Goya"},
    };
    for (size_t i = 0; i < sizeof fix / sizeof fix[0]; i++) {
        Ccai_offline *o = make_from(s, fix[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, fix[i].first);
        assert_non_null(set_value(r, "incident_location"));
        r = in(o, fix[i].fix); /* the date is asked */
        const char *v = set_value(r, "incident_location");
        if (!v || !strstr(v, fix[i].key))
            fail_msg("\"%s\": location %s", fix[i].fix, v ? v : "(unset)");
        for (size_t k = 0; k < r->n; k++)
            if (r->v[k].kind == CCAI_OFFLINE_SET_FIELD &&
                strcmp(r->v[k].field, "incident_location") != 0)
                fail_msg("\"%s\": %s = %s noted", fix[i].fix, r->v[k].field, r->v[k].text);
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

static void test_code_spelled_after_its_cue(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *text, *code;
    } d[] = {
        {"en-GB", "Right, so the policy's C A R two zero five nine one one, and my car got keyed.",
         "CAR205911"},
        {"fr-FR",
         "Alors mon contrat c'est C A R deux zéro cinq neuf un un, on m'a rayé la voiture.",
         "CAR205911"},
        /* digits after a correction replace the last ones */
        {"es-ES",
         "Me llamo Laura Gómez. Mi póliza es la H O G uno dos tres cuatro cinco, ay no, "
         "perdón, uno dos tres cuatro seis.",
         "HOG12346"},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        Ccai_offline *o = make_from(s, d[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, d[i].text);
        const char *v = set_value(r, "policy_number");
        if (!v || strcmp(v, d[i].code) != 0)
            fail_msg("\"%s\": policy number %s", d[i].text, v ? v : "(unset)");
        /* the rest of contact details is no description */
        if (i == 2 && set_value(r, "incident_description"))
            fail_msg("\"%s\": description %s", d[i].text, set_value(r, "incident_description"));
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* Numbers to 999 in words, a W said "double u", a letter spelt with any
 * word of it: volunteered while the bot asks what happened. */
static void test_codes_in_words_to_999(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *from, *text, *field, *value;
    } d[] = {
        {"en-US", NULL,
         "A branch went through my windscreen. Policy's double u, x, four hundred and "
         "twelve, seventy.",
         "policy_number", "WX41270"},
        {"fr-FR", NULL,
         "On m'a volé mon scooter, mon contrat c'est M comme Marcel, R comme Raoul, cinq cent "
         "douze, zéro huit.",
         "policy_number", "MR51208"},
        {"es-ES", NULL,
         "Se me ha inundado el baño. Mi póliza es P de Pedro, L, guion, cuatrocientos "
         "veintidós, diecisiete.",
         "policy_number", "PL-42217"},
        {"es-ES", "+34612345678",
         "Se me ha roto una tubería. Mi teléfono fijo es novecientos doce, treinta y cuatro, "
         "cincuenta y seis, setenta y ocho.",
         "policyholder_phone", "+34912345678"},
        {"en-US", "+14155550123",
         "My basement flooded. You can reach me on four one five, five five five, "
         "oh one hundred.",
         "policyholder_phone", "+14155550100"},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        Ccai_offline *o = make_from(s, d[i].lang, d[i].from);
        const Ccai_offline_reply *r = in(o, d[i].text);
        const char *v = set_value(r, d[i].field);
        if (!v || strcmp(v, d[i].value) != 0)
            fail_msg("\"%s\": %s %s", d[i].text, d[i].field, v ? v : "(unset)");
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

static void test_questions_without_question_marks(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *text;
    } q[] = {
        {"en-GB", "Do I need to send photos of the damage"},
        {"en-US", "Am I going to get a rental car for the week"},
        {"fr-FR", "Est-ce que je dois envoyer des photos"},
        {"fr-FR", "Vous allez m'envoyer un expert"},
        {"es-ES", "Me van a mandar un perito"},
        {"es-ES", "Cuánto tiempo tardan en pagar"},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        /* said to "what happened?": a question, no description */
        Ccai_offline *o = make_from(s, q[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, q[i].text);
        for (size_t k = 0; k < r->n; k++)
            if (r->v[k].kind == CCAI_OFFLINE_SET_FIELD)
                fail_msg("\"%s\": %s = %s noted", q[i].text, r->v[k].field, r->v[k].text);
        assert_asks(r);
        Ccai_offline_free(o);
    }
    /* a question after the answer, in its own sentence */
    static const struct {
        const char *lang, *text;
    } after[] = {
        {"en-GB", "No. How long does this usually take to sort out"},
        {"fr-FR", "Non. C'est quoi ma franchise déjà"},
        {"es-ES", "No. Cuánto es la franquicia"},
    };
    for (size_t i = 0; i < sizeof after / sizeof after[0]; i++) {
        Ccai_offline *o = make_from(s, after[i].lang, NULL);
        in(o, "A pipe burst in the kitchen yesterday at 10 am, at 4 Elm Street, Leeds.");
        const Ccai_offline_reply *r = in(o, after[i].text); /* hurt? seen a doctor? */
        for (size_t k = 0; k < r->n; k++)
            if (r->v[k].kind == CCAI_OFFLINE_SET_FIELD && strcmp(r->v[k].text, "None") != 0 &&
                strcmp(r->v[k].text, "Aucun") != 0 && strcmp(r->v[k].text, "Ninguno") != 0)
                fail_msg("\"%s\": %s = %s noted", after[i].text, r->v[k].field, r->v[k].text);
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* A correction on a later turn changes its field and answers nothing else. */
static void only_set(const Ccai_offline_reply *r, const char *said, const char *field,
                     const char *value)
{
    const char *v = set_value(r, field);
    if (!v || strcmp(v, value) != 0)
        fail_msg("\"%s\": %s = %s, expected %s", said, field, v ? v : "(unset)", value);
    for (size_t k = 0; k < r->n; k++)
        if (r->v[k].kind == CCAI_OFFLINE_SET_FIELD && strcmp(r->v[k].field, field) != 0)
            fail_msg("\"%s\": %s = %s noted", said, r->v[k].field, r->v[k].text);
}

static void test_correction_is_no_answer(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = make_from(s, "en-GB", NULL);
    in(o, "Our shed roof blew off on Friday night. I'm Mark Hill, mark dot hill at gmail dot com.");
    const char *t = "Hang on, I got the day wrong earlier, it was Thursday night, not Friday.";
    only_set(in(o, t), t, "incident_datetime", "2024-10-03T23:00:00");
    t = "And the email I gave you is wrong, it should be mark dot hill at hotmail dot com.";
    only_set(in(o, t), t, "policyholder_email", "mark.hill@hotmail.com");
    Ccai_offline_free(o);

    o = make_from(s, "es-ES", NULL);
    in(o, "Se me inundó la cocina el lunes por la mañana, en la calle Olmo 5 de Soria.");
    t = "Perdone, lo de la fecha estaba mal, fue el domingo por la mañana.";
    only_set(in(o, t), t, "incident_datetime", "2024-10-06T09:00:00");
    Ccai_offline_free(o);

    o = make_from(s, "fr-FR", NULL);
    in(o, "Une fuite dans la salle de bain mardi dernier vers midi, au 3 rue Pasteur à Metz.");
    t = "Attendez, je reviens sur la date, c'était mercredi, pas mardi.";
    only_set(in(o, t), t, "incident_datetime", "2024-10-02T12:00:00");
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* The claim written by hand is what jansson writes for it: quotes,
 * backslashes, control characters and UTF-8 in the values, in field order
 * (json_dumps() of the text read back gives the same bytes). */
static void test_claim_json_as_jansson_writes_it(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = make(s, "en-US",
                           "{\"incident_description\": \"a \\\"b\\\" c\\\\ d\\t\\u0001 "
                           "\u00e9t\u00e9 \u2713 \U0001F600\", \"policyholder_email\": \"a@b.fr\"}",
                           NULL);
    const char *got = Ccai_offline_claim_json(o);
    json_error_t je;
    json_t *j = json_loads(got, 0, &je);
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 2);
    char *again = json_dumps(j, JSON_COMPACT);
    assert_string_equal(got, again);
    assert_non_null(strstr(got, "\\\"b\\\""));
    free(again);
    json_decref(j);
    Ccai_offline_free(o);
    o = make(s, "en-US", "{}", NULL);
    assert_string_equal(Ccai_offline_claim_json(o), "{}");
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* A story of how the caller fares, annoyance or a wait said before a
 * request for a person is no fact: the request is honoured and nothing
 * of the story is noted (review of 2026-12-07, tuning7.yaml). Said to
 * "what happened?", not the answer to it. */
static void test_person_after_a_story(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *text;
    } p[] = {
        {"en-GB",
         "Right, so, long story, my mum's been in hospital all week and I've been back and "
         "forth, and I only got home to find all this mess, and I'm just exhausted, you "
         "know? Can I speak to an actual person please?"},
        {"en-US", "I've had a rough week, the car's at the garage, my son broke his arm, and now "
                  "this. Could I talk to a real person?"},
        {"fr-FR", "Bonjour, alors écoutez, ma semaine a été horrible, mon mari est malade, la "
                  "voiture est en panne et là en plus le dégât des eaux, je n'en peux plus. Je "
                  "voudrais parler à un conseiller s'il vous plaît."},
        {"es-ES", "Hola, buenas, pues verá, es que llevo una semana fatal, mi madre en el "
                  "hospital, el coche en el taller, y ahora esto, estoy agotada. ¿Me pone con un "
                  "agente, por favor?"},
    };
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        Ccai_offline *o = make_from(s, p[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, p[i].text);
        if (!has(r, CCAI_OFFLINE_TRANSFER, NULL))
            fail_msg("\"%s\" was not taken as a request for a person", p[i].text);
        for (size_t f = 0; f < r->n; f++)
            if (r->v[f].kind == CCAI_OFFLINE_SET_FIELD)
                fail_msg("\"%s\": %s = %s noted", p[i].text, r->v[f].field, r->v[f].text);
        Ccai_offline_free(o);
    }
    /* what happened said before the request is still noted */
    Ccai_offline *o = make_from(s, "en-GB", NULL);
    const Ccai_offline_reply *r =
        in(o, "Someone reversed into my front wall last night. Is there a real person I could go "
              "through this with?");
    assert_true(has(r, CCAI_OFFLINE_TRANSFER, NULL));
    assert_non_null(set_value(r, "incident_description"));
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* Dates said the ways people say them, volunteered before they are asked
 * (tuning11.yaml): "the night before last" is the night two days back, and
 * an hour after midnight in it belongs to the next calendar day. */
static void test_dates_as_people_say_them(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said, *value;
    } d[] = {
        {"en-GB", "A pipe burst under the sink the night before last, just after midnight.",
         "2024-10-07T00:00:00"},
        {"en-GB", "The shed was broken into the night before last at about two.",
         "2024-10-07T02:00:00"},
        {"en-US", "My car was keyed the night before last around eleven.", "2024-10-06T23:00:00"},
        {"fr-FR", "On a forcé ma porte dans la nuit d'avant-hier, vers une heure du matin.",
         "2024-10-07T01:00:00"},
        /* an hour with a dot, British: not a day and a month */
        {"en-GB", "It was Monday, at 9.30 pm, the pipe under the sink burst.",
         "2024-10-07T21:30:00"},
        {"en-GB", "The pipe burst on Sunday, 9.30pm or so.", "2024-10-06T21:30:00"},
        {"en-GB", "The pipe burst yesterday at 21.45.", "2024-10-07T21:45:00"},
        {"fr-FR", "Le tuyau a éclaté le 3.10 vers 21h.", "2024-10-03T21:00:00"},
        /* days back in a count ([day.unit], [day.ago], [day.ago.before]) */
        {"en-GB", "Someone broke the shed window two days ago, around seven in the evening.",
         "2024-10-06T19:00:00"},
        {"en-US", "The roof started leaking a couple of days back at about 3 pm.",
         "2024-10-06T15:00:00"},
        {"fr-FR", "On m'a volé mon vélo il y a une semaine, vers 18h.", "2024-10-01T18:00:00"},
        {"es-ES", "Hace tres días se rompió una tubería, sobre las diez de la noche.",
         "2024-10-05T22:00:00"},
        /* minutes after "8h"; midnight after an evening is the next day */
        {"fr-FR", "On a cassé ma vitre hier à 8h moins le quart.", "2024-10-07T07:45:00"},
        {"fr-FR", "On a cassé ma vitre vendredi soir vers minuit et demi.", "2024-10-05T00:30:00"},
        {"en-GB", "Someone smashed my window on Friday evening at around midnight.",
         "2024-10-05T00:00:00"},
        /* a part of the day between the two days of a night */
        {"en-GB", "The shed was broken into Saturday night into Sunday, about 1am.",
         "2024-10-06T01:00:00"},
        /* noon said after the morning: no am on it */
        {"en-GB", "The pipe burst yesterday around 11 in the morning, or maybe closer to noon.",
         "2024-10-07T12:00:00"},
        /* the month, then the day after its article */
        {"en-US", "The pipe burst on October the 3rd at about 4pm.", "2024-10-03T16:00:00"},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        Ccai_offline *o = make_from(s, d[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, d[i].said);
        const char *v = set_value(r, "incident_datetime");
        if (!v || strncmp(v, d[i].value, strlen(d[i].value)) != 0)
            fail_msg("\"%s\": %s, expected %s", d[i].said, v ? v : "(unset)", d[i].value);
        Ccai_offline_free(o);
    }
    /* the hour corrected alone on a later turn, to another question:
     * the side of noon of the hour noted */
    static const struct {
        const char *lang, *said, *fix, *value;
    } c[] = {
        {"en-GB", "It was Monday, at nine in the evening.", "Actually it was more like half nine.",
         "2024-10-07T21:30:00"},
        {"en-US", "Yesterday at nine in the morning.", "Sorry, more like ten.",
         "2024-10-07T10:00:00"},
        {"en-GB", "It was Monday, at nine in the evening.",
         "Sorry, it was Sunday, and more like half nine.", "2024-10-06T21:30:00"},
        {"fr-FR", "Hier à vingt et une heures.", "Non pardon, plutôt vers dix heures.",
         "2024-10-07T22:00:00"},
        {"es-ES", "Ayer a las nueve de la noche.", "Perdón, fue a las diez.",
         "2024-10-07T22:00:00"},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        Ccai_offline *o = make_from(s, c[i].lang, NULL);
        in(o, "A pipe burst under the sink.");
        in(o, c[i].said);
        const Ccai_offline_reply *r = in(o, c[i].fix);
        const char *v = set_value(r, "incident_datetime");
        if (!v || strcmp(v, c[i].value) != 0)
            fail_msg("\"%s\": %s, expected %s", c[i].fix, v ? v : "(unset)", c[i].value);
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* "I don't know" said as people say it, alone or twice in a turn, is no
 * value of the field asked (or of any other): "couldn't tell you", "not a
 * clue", "je saurais pas vous dire", "no sabría decirle", "tendría que
 * mirarlo"; a don't-know with the answer after it keeps the answer; a
 * place said before a question about it ("..., ça change quoi ?") is the
 * place. */
static void test_dontknow_said_many_ways(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *story, *said;
    } d[] = {
        {"en-GB", "A tree came down on my garage last night.", "Honestly, I couldn't tell you."},
        {"en-GB", "A tree came down on my garage last night.", "Haven't got a clue, sorry."},
        {"en-US", "A tree came down on my garage last night.",
         "I don't remember, it's all a blur."},
        {"en-AU", "A tree came down on my garage last night.", "Dunno. No idea, mate."},
        {"fr-FR", "Un arbre est tombé sur le garage hier soir.", "Je saurais pas vous dire."},
        {"fr-FR", "Un arbre est tombé sur le garage hier soir.", "Je m'en souviens plus, désolé."},
        {"fr-BE", "Un arbre est tombé sur le garage hier soir.",
         "Pas la moindre idée. Je sais plus."},
        {"es-ES", "Se cayó un árbol sobre el garaje anoche.", "No sabría decirle."},
        {"es-MX", "Se cayó un árbol sobre el garaje anoche.", "Tendría que mirarlo, perdone."},
        {"es-AR", "Se cayó un árbol sobre el garaje anoche.", "Ni la menor idea. No me acuerdo."},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        Ccai_offline *o = make_from(s, d[i].lang, NULL);
        in(o, d[i].story);
        in(o, "22:30"); /* the time asked after the night: the place is next */
        const Ccai_offline_reply *r = in(o, d[i].said);
        for (size_t k = 0; k < r->n; k++) {
            if (r->v[k].kind == CCAI_OFFLINE_SET_FIELD) {
                print_error("\"%s\": %s = %s\n", d[i].said, r->v[k].field, r->v[k].text);
                bad++;
            }
        }
        Ccai_offline_free(o);
    }
    /* the answer after the don't-know is kept */
    static const struct {
        const char *lang, *said, *field, *sub;
    } a[] = {
        {"en-GB", "I can't remember the number, but it's on Elm Street in Leeds.",
         "incident_location", "Elm Street"},
        {"fr-FR", "Je me souviens plus du numéro, c'est avenue Jean Jaurès à Toulouse.",
         "incident_location", "Jaurès"},
        {"es-ES", "No me acuerdo del número, pero es en la calle Mayor de Alcalá.",
         "incident_location", "Mayor"},
        {"fr-FR", "Sur le parking de la gare à Nîmes, ça change quoi ?", "incident_location",
         "gare"},
    };
    for (size_t i = 0; i < sizeof a / sizeof a[0]; i++) {
        Ccai_offline *o = make_from(s, a[i].lang, NULL);
        in(o, "A tree came down on my car yesterday at 3 pm.");
        const Ccai_offline_reply *r = in(o, a[i].said);
        const char *v = set_value(r, a[i].field);
        if (!v || !strstr(v, a[i].sub)) {
            print_error("\"%s\": %s = %s\n", a[i].said, a[i].field, v ? v : "(unset)");
            bad++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* "Last Monday at about six", to "when and where?": "last" is the day's,
 * no place. */
static void test_dates_last_is_no_place(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char *const said[] = {"Last Monday at about six in the evening.",
                                       "Last Friday, around noon I think."};
    for (size_t i = 0; i < sizeof said / sizeof said[0]; i++) {
        Ccai_offline *o = make_from(s, "en-GB", NULL);
        in(o, "A pipe burst in the kitchen.");
        const Ccai_offline_reply *r = in(o, said[i]);
        assert_non_null(set_value(r, "incident_datetime"));
        const char *v = set_value(r, "incident_location");
        if (v)
            fail_msg("\"%s\": incident_location = %s", said[i], v);
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* The answer to the question asked, then a correction of the day noted
 * ("No injuries. Actually, I got the day wrong, it was Sunday"; "No,
 * nobody was hurt. Oh and it was Sunday, not Monday", a day taken back
 * without a correction word): both are noted. */
static void test_answer_then_day_corrected(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *story, *said, *day;
    } d[] = {
        {"en-GB",
         "A pipe burst in my kitchen on Monday at about six in the evening, at 4 Elm Road.",
         "No injuries. Actually, I got the day wrong, it was Sunday.", "2024-10-06T18:00:00"},
        {"en-US",
         "A pipe burst in my kitchen on Monday at about six in the evening, at 4 Elm Road.",
         "No, nobody was hurt. Oh and it was Sunday, not Monday.", "2024-10-06T18:00:00"},
        {"fr-FR", "Une canalisation a éclaté lundi vers 18 heures, au 4 rue des Ormes.",
         "Non, personne. Et c'était dimanche, pas lundi.", "2024-10-06T18:00:00"},
        {"es-ES", "Se rompió una tubería el lunes sobre las seis de la tarde, en la calle Olmo 4.",
         "No, nadie. Y fue el domingo, no el lunes.", "2024-10-06T18:00:00"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        Ccai_offline *o = make_from(s, d[i].lang, NULL);
        in(o, d[i].story);
        const Ccai_offline_reply *r = in(o, d[i].said);
        const char *day = set_value(r, "incident_datetime");
        const char *inj = set_value(r, "injuries");
        if (!day || strcmp(day, d[i].day) != 0 || !inj) {
            print_error("\"%s\": day %s, injuries %s\n", d[i].said, day ? day : "(unset)",
                        inj ? inj : "(unset)");
            bad++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* Asked for the name and the policy number, "Sure, it's AB 123456": the
 * yes before the answer is no name. */
static void test_yes_before_answer_no_name(void **state)
{
    (void)state;
    ccai_claim_schema *s = NULL;
    assert_int_equal(ccai_claim_schema_new(&s), CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "incident_description", CCAI_FIELD_TEXT, NULL),
                     CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "policyholder_name", CCAI_FIELD_TEXT, NULL), CCAI_OK);
    assert_int_equal(ccai_claim_schema_add(s, "policy_number", CCAI_FIELD_TEXT, NULL), CCAI_OK);
    static const struct {
        const char *lang, *said, *name;
    } d[] = {
        {"en-US", "Sure, it's A B one two three four five six.", NULL},
        {"en-GB", "Yeah, Dana Whitfield, and it's H O M 5 5 2 1 9.", "Dana Whitfield"},
        {"es-ES", "Vale, es la A B 1 2 3 4 5 6.", NULL},
        {"fr-FR", "D'accord, c'est A B 1 2 3 4 5 6.", NULL},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        Ccai_offline *o = make_from(s, d[i].lang, NULL);
        in(o, "A tree fell on my car in the storm.");
        const Ccai_offline_reply *r = in(o, d[i].said);
        const char *v = set_value(r, "policyholder_name");
        if (d[i].name ? !v || strcmp(v, d[i].name) != 0 : v != NULL) {
            print_error("\"%s\": name %s\n", d[i].said, v ? v : "(unset)");
            bad++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* "Hi, I'd like to make a claim please": what the call is for is no fact;
 * the question is asked again and the story after it is what happened.
 * With a fact in its clause ("I'd like to report a burglary at my house")
 * it is what happened. */
static void test_call_purpose_is_no_fact(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said;
    } d[] = {
        {"en-GB", "Hello, yes, I'd like to make a claim please."},
        {"en-US", "Hi there, I'm calling about my home insurance."},
        {"fr-FR", "Bonjour madame, je voudrais faire une déclaration de sinistre."},
        {"fr-BE", "Oui bonjour, je vous appelle pour déclarer un sinistre."},
        {"es-ES", "Buenos días, quería dar parte de un siniestro."},
        {"es-CO", "Buenas, le llamo para reportar un accidente."},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        Ccai_offline *o = make_from(s, d[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, d[i].said);
        for (size_t k = 0; k < r->n; k++) {
            if (r->v[k].kind == CCAI_OFFLINE_SET_FIELD) {
                print_error("\"%s\": %s = %s\n", d[i].said, r->v[k].field, r->v[k].text);
                bad++;
            }
        }
        r = in(o, "A tree fell on the roof of the garage.");
        const char *v = set_value(r, "incident_description");
        if (!v || !strstr(v, "tree")) {
            print_error("after \"%s\": incident_description = %s\n", d[i].said, v ? v : "(unset)");
            bad++;
        }
        Ccai_offline_free(o);
    }
    Ccai_offline *o = make_from(s, "en-GB", NULL);
    const Ccai_offline_reply *r = in(o, "I'd like to report a burglary at my house.");
    const char *v = set_value(r, "incident_description");
    if (!v || !strstr(v, "burglary")) {
        print_error("a purpose with its fact: incident_description = %s\n", v ? v : "(unset)");
        bad++;
    }
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* A range of days is all the caller knows of when: its first day, noted
 * without asking the time ("between the 2nd and the 6th", "du 1er au 4
 * octobre", "entre el 2 y el 5 de octubre"); the second day's part of the
 * day is not the first's ("entre jeudi soir et vendredi matin": the
 * evening, and the time is asked). */
static void test_dates_day_ranges(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said, *then, *value; /* then NULL: not asked the time */
    } d[] = {
        {"en-GB", "Somewhere between the 2nd and the 6th, we were away in Spain.", NULL,
         "2024-10-02"},
        {"fr-FR", "Du 1er au 4 octobre, on n'était pas là.", NULL, "2024-10-01"},
        {"es-ES", "Entre el 2 y el 5 de octubre, estábamos fuera.", NULL, "2024-10-02"},
        {"fr-BE", "Entre le 3 et le 6, pendant nos vacances.", NULL, "2024-10-03"},
        {"en-US", "Between Friday and Sunday, no idea exactly when.", NULL, "2024-10-04"},
        {"fr-FR", "Entre jeudi soir et vendredi matin.", "Je ne sais pas.", "2024-10-03T20:00:00"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        Ccai_offline *o = make_from(s, d[i].lang, NULL);
        in(o, "Somebody broke into the garage.");
        const Ccai_offline_reply *r = in(o, d[i].said);
        if (d[i].then)
            r = in(o, d[i].then);
        const char *v = set_value(r, "incident_datetime");
        if (!v || strncmp(v, d[i].value, strlen(d[i].value)) != 0) {
            print_error("\"%s\": %s, expected %s\n", d[i].said, v ? v : "(unset)", d[i].value);
            bad++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* A number followed by what it counts ([time.unit]: years of age,
 * minutes' walk, weeks, people) is no hour, even after a word that leads
 * an hour ("il a quinze ans": "a" is "à" once accents are folded). */
static void test_dates_counts_not_hours(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said, *value; /* value NULL: no date noted yet */
    } d[] = {
        {"fr-FR",
         "Ma fille a douze ans, elle est tombée de la balançoire hier vers dix-neuf heures.",
         "2024-10-07T19:00:00"},
        /* a day without its hour is held until the hour is asked */
        {"fr-FR", "Mon neveu a onze ans et il a cassé la vitre hier.", NULL},
        {"en-GB", "My lad's fourteen years old, he came off his bike yesterday at around five.",
         "2024-10-07T17:00:00"},
        {"en-US", "It's at ten minutes from my house, it happened yesterday at four pm.",
         "2024-10-07T16:00:00"},
        {"es-ES", "Mi sobrino tiene nueve años y rompió la ventana ayer a las seis de la tarde.",
         "2024-10-07T18:00:00"},
        {"es-MX", "Vivo a tres cuadras, pasó ayer como a las ocho de la noche.",
         "2024-10-07T20:00:00"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        Ccai_offline *o = make_from(s, d[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, d[i].said);
        const char *v = set_value(r, "incident_datetime");
        if (d[i].value ? !v || strcmp(v, d[i].value) != 0 : v != NULL) {
            print_error("\"%s\": %s, expected %s\n", d[i].said, v ? v : "(unset)",
                        d[i].value ? d[i].value : "(unset)");
            bad++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* When it happened, not when it was found (2026-12-07, tuning20.yaml's
 * gaps): a day said where the damage was found ([date.found]) is read
 * only when no other day is said, a day of a visit after it
 * ([date.visit]) never; the same hour said again with its minutes makes
 * the first precise; a range of days is its first day ([day.between]);
 * the midnight asked after an evening noted is the next day's; number
 * words after a time lead are no policy number. */
static void test_dates_found_visits_refined(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said, *value; /* value NULL: no date noted */
    } d[] = {
        {"en-GB", "Somebody kicked the garage door in on Friday night, we only spotted it Sunday.",
         "2024-10-04"},
        {"en-US", "I discovered it yesterday, around five in the afternoon.",
         "2024-10-07T17:00:00"},
        {"fr-FR", "Le vitrier est venu ce matin, mais la vitre s'est cassée jeudi soir.",
         "2024-10-03"},
        {"fr-FR", "Je m'en suis rendu compte hier soir vers 22 h.", "2024-10-07T22:00:00"},
        {"es-ES", "Los bomberos vinieron ayer a revisar la cocina.", NULL},
        {"es-MX", "Nos dimos cuenta el domingo, pero pasó el sábado en la noche.", "2024-10-05"},
        {"en-GB", "The roofer came round this morning to have a look.", NULL},
        /* the same hour again with its minutes */
        {"en-GB", "It was Monday evening at eight or so, at eight twenty I think.",
         "2024-10-07T20:20:00"},
        {"fr-FR", "Hier soir vers neuf heures, genre neuf heures et quart.", "2024-10-07T21:15:00"},
        {"es-ES", "Fue ayer a las once de la mañana, a las once y media más o menos.",
         "2024-10-07T11:30:00"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        Ccai_offline *o = make_from(s, d[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, d[i].said);
        const char *v = set_value(r, "incident_datetime");
        if (d[i].value ? !v || strncmp(v, d[i].value, strlen(d[i].value)) != 0 : v != NULL) {
            print_error("\"%s\": %s, expected %s\n", d[i].said, v ? v : "(unset)",
                        d[i].value ? d[i].value : "(unset)");
            bad++;
        }
        Ccai_offline_free(o);
    }
    /* a range of days, said when the date is asked: the first one */
    static const struct {
        const char *lang, *story, *said, *value;
    } g[] = {
        {"fr-FR", "On a rayé ma voiture.",
         "C'est arrivé entre jeudi soir et vendredi matin, devant chez moi.", "2024-10-03"},
        {"es-ES", "Me robaron la bicicleta.", "Fue entre el viernes y el sábado por la noche.",
         "2024-10-04"},
        {"en-US", "Somebody hit my car.", "Between Saturday night and Sunday morning.",
         "2024-10-05"},
    };
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++) {
        Ccai_offline *o = make_from(s, g[i].lang, NULL);
        in(o, g[i].story);
        const Ccai_offline_reply *r = in(o, g[i].said);
        const char *v = set_value(r, "incident_datetime");
        if (!v || strncmp(v, g[i].value, strlen(g[i].value)) != 0) {
            print_error("\"%s\": %s, expected %s\n", g[i].said, v ? v : "(unset)", g[i].value);
            bad++;
        }
        Ccai_offline_free(o);
    }
    /* "last night", then "and at what time?": midnight is the next day's */
    Ccai_offline *o = make_from(s, "en-GB", NULL);
    in(o, "Our car was broken into.");
    in(o, "Last night some time, outside the house.");
    const Ccai_offline_reply *r = in(o, "I locked it at midnight and it was done by the morning.");
    const char *v = set_value(r, "incident_datetime");
    if (!v || strncmp(v, "2024-10-08T00:00", 16) != 0) {
        print_error("midnight after last night: %s\n", v ? v : "(unset)");
        bad++;
    }
    Ccai_offline_free(o);
    /* "a las diez, diez y cuarto" is an hour, no policy number */
    o = make_from(s, "es-ES", NULL);
    r = in(o, "Se me rompió el parabrisas ayer como a las diez, diez y cuarto, en la autopista.");
    if (set_value(r, "policy_number")) {
        print_error("an hour read as a policy number: %s\n", set_value(r, "policy_number"));
        bad++;
    }
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* More dates as people say them (2026-12-07, the gaps left by
 * tuning11.yaml): parts of the day named by a meal or the light
 * ("teatime", "à l'heure du déjeuner", "a la hora de comer", "à l'aube"),
 * an hour alone from one to the evening with no part of the day ("around
 * 7ish": the evening), a range of an hour or two (its start; a wider one
 * is no hour), 24-hour forms, weekdays "just gone", "antier", a night
 * named by its evening, a US caller's month first, and days nobody can
 * write ("the other night", "el finde pasado": the date is asked). Every
 * case is checked, the failures printed, then counted. */
static void test_dates_as_people_say_them_more(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *from, *said, *value; /* value NULL: no date noted */
    } d[] = {
        /* an hour alone with no part of the day: from one to seven, the
         * afternoon or the evening; a written 24-hour form stays */
        {"en-GB", NULL, "Someone broke the shed window two days ago, around 7ish.",
         "2024-10-06T19:00:00"},
        {"en-US", NULL, "My car got keyed on Sunday, seven-ish.", "2024-10-06T19:00:00"},
        {"en-GB", NULL, "The pipe burst yesterday at about three.", "2024-10-07T15:00:00"},
        {"en-GB", NULL, "The pipe burst yesterday at 07:00.", "2024-10-07T07:00:00"},
        {"en-GB", NULL, "The pipe burst yesterday at about ten.", "2024-10-07T10:00:00"},
        {"es-ES", NULL, "Ayer a las cinco se rompió la tubería.", "2024-10-07T17:00:00"},
        {"fr-FR", NULL, "Hier vers trois heures la canalisation a cédé.", "2024-10-07T15:00:00"},
        /* not later than the call: "at three" today at 14:00 is the night */
        {"en-GB", NULL, "The pipe burst today at about three.", "2024-10-08T03:00:00"},
        /* a range of an hour or two: its start */
        {"en-GB", NULL, "It happened yesterday between two and three in the afternoon.",
         "2024-10-07T14:00:00"},
        {"en-US", NULL, "It happened on Sunday, between two and three.", "2024-10-06T14:00:00"},
        {"es-ES", NULL, "Fue ayer entre las dos y las tres de la tarde.", "2024-10-07T14:00:00"},
        {"fr-FR", NULL, "C'était hier entre 14h et 15h.", "2024-10-07T14:00:00"},
        /* 24-hour forms */
        {"fr-FR", NULL, "On m'a volé mon vélo hier à 21h.", "2024-10-07T21:00:00"},
        {"es-ES", NULL, "Me robaron la bici ayer a las 21:00.", "2024-10-07T21:00:00"},
        {"es-ES", NULL, "Me robaron la bici el domingo a las 21 horas.", "2024-10-06T21:00:00"},
        /* the evening of a night word, the small hours after it */
        {"es-MX", NULL, "Anoche, como a las siete de la tarde, me chocaron el carro.",
         "2024-10-07T19:00:00"},
        {"en-GB", NULL, "The shed was broken into last night, just after midnight.",
         "2024-10-08T00:00:00"},
        {"en-GB", NULL, "It was Friday night, just after midnight.", "2024-10-05T00:00:00"},
        /* relative days said other ways */
        {"es-MX", NULL, "Antier en la noche, como a las diez, se metieron a robar.",
         "2024-10-06T22:00:00"},
        {"es-ES", NULL, "Antes de ayer por la tarde, sobre las cinco, se inundó el baño.",
         "2024-10-06T17:00:00"},
        {"fr-FR", NULL, "Avant-hier soir vers 22h, on a cassé ma vitre.", "2024-10-06T22:00:00"},
        {"en-GB", NULL, "The fence came down Monday just gone, about 4pm.", "2024-10-07T16:00:00"},
        {"en-US", NULL, "This past Sunday at around 10 in the morning the pipe burst.",
         "2024-10-06T10:00:00"},
        /* said on a Tuesday: "Tuesday just gone" is last week's */
        {"en-IE", NULL, "The fence came down Tuesday just gone, about 4pm.", "2024-10-01T16:00:00"},
        {"en-US", NULL, "This past Tuesday at around 10 in the morning the pipe burst.",
         "2024-10-01T10:00:00"},
        {"en-US", NULL, "The pipe burst on Tuesday at 4pm.", "2024-10-01T16:00:00"},
        {"en-US", NULL, "The pipe burst on Tuesday morning at 9.", "2024-10-08T09:00:00"},
        /* a day nobody can write: asked */
        {"en-GB", NULL, "Somebody keyed my car the other night.", NULL},
        {"en-US", NULL, "The other day my basement flooded.", NULL},
        {"fr-FR", NULL, "L'autre soir, on a rayé ma voiture.", NULL},
        {"es-ES", NULL, "El finde pasado se me inundó el sótano.", NULL},
        {"es-ES", NULL, "El otro día me rayaron el coche.", NULL},
        /* the next day named after a night is the small hours' own */
        {"en-IE", NULL,
         "It was Sunday night, just after midnight, so I suppose technically Monday morning.",
         "2024-10-07T00:00:00"},
        /* "sur le temps de midi" is the lunch hour, the hour after it */
        {"fr-BE", NULL,
         "Samedi passé, sur le temps de midi, vers midi et demi, une tuile est tombée.",
         "2024-10-05T12:30:00"},
        /* the day and the month's number */
        {"fr-FR", NULL, "Le 3 du 10, à vingt-deux heures quinze, le plafond a cédé.",
         "2024-10-03T22:15:00"},
        {"es-MX", NULL, "El 3 del 10, como a las 8 de la noche, se prendió la campana.",
         "2024-10-03T20:00:00"},
        /* "tipo" before an hour (Argentina); an hour put right with "bueno" */
        {"es-AR", NULL, "El miércoles a la noche, tipo diez, me chocaron el auto.",
         "2024-10-02T22:00:00"},
        {"es-ES", NULL,
         "Hoy por la mañana, a las ocho, bueno, a las siete y media, se rajó la vitro.",
         "2024-10-08T07:30:00"},
        {"en-GB", NULL, "The pipe burst this morning at eight, well, half seven.",
         "2024-10-08T07:30:00"},
        {"en-GB", NULL, "Sunday night, I heard it go about eleven, quarter past eleven.",
         "2024-10-06T23:15:00"},
        /* "ce midi": today's lunch hour, the hour after it */
        {"fr-BE", NULL, "On m'a embouti ma voiture ce midi vers midi vingt.",
         "2024-10-08T12:20:00"},
        /* the day corrected with a part of the day alone keeps the hour */
        {"en-AU", NULL, "Saturday arvo, around three. No hang on, it was the Friday, Friday arvo.",
         "2024-10-04T15:00:00"},
        /* an address's "45-20" is no date */
        {"es-CO", NULL, "Ayer como a la una se inundó el apartamento, carrera 7 número 45-20.",
         "2024-10-07T13:00:00"},
        /* a numeric date: month first on a US English call, day first
         * else, +1 numbers of the Caribbean too ([date.month_first]) */
        {"en-US", "+12125550123", "It happened on 10/3 at 2pm.", "2024-10-03T14:00:00"},
        {"en-GB", "+447700900123", "It happened on 3/10 at 2pm.", "2024-10-03T14:00:00"},
        {"es-DO", "+18095550123", "Pasó el 3/10 a las dos de la tarde.", "2024-10-03T14:00:00"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        Ccai_offline *o = make_from(s, d[i].lang, d[i].from);
        const Ccai_offline_reply *r = in(o, d[i].said);
        const char *v = set_value(r, "incident_datetime");
        if (d[i].value ? !v || strncmp(v, d[i].value, strlen(d[i].value)) != 0 : v != NULL) {
            print_error("\"%s\": %s, expected %s\n", d[i].said, v ? v : "(unset)",
                        d[i].value ? d[i].value : "(unset)");
            bad++;
        }
        Ccai_offline_free(o);
    }
    /* "the other night" said when the date is asked: which day is asked */
    {
        Ccai_offline *o = make_from(s, "en-GB", NULL);
        in(o, "Somebody keyed my car.");
        const Ccai_offline_reply *r = in(o, "The other night.");
        if (set_value(r, "incident_datetime") || !said(r, "Which day was that?")) {
            print_error("\"The other night.\": a date noted, or which day not asked\n");
            bad++;
        }
        r = in(o, "Thursday, around eleven at night.");
        const char *v = set_value(r, "incident_datetime");
        if (!v || strcmp(v, "2024-10-03T23:00:00") != 0) {
            print_error("\"Thursday, around eleven at night.\": %s\n", v ? v : "(unset)");
            bad++;
        }
        Ccai_offline_free(o);
    }
    /* the facts before a request for a person asked as a question */
    {
        Ccai_offline *o = make_from(s, "en-US", NULL);
        const char *t =
            "My basement flooded on Thursday after dinner, and honestly I'd rather talk "
            "to an actual person about this, is that possible?";
        const Ccai_offline_reply *r = in(o, t);
        const char *v = set_value(r, "incident_datetime");
        if (!has(r, CCAI_OFFLINE_TRANSFER, NULL) || !v || strncmp(v, "2024-10-03", 10) != 0) {
            print_error("\"%s\": %s, expected a transfer and 2024-10-03\n", t, v ? v : "(unset)");
            bad++;
        }
        Ccai_offline_free(o);
    }
    /* a part of the day named by a meal or the light: the day with no
     * hour, the time asked and read with the part */
    static const struct {
        const char *lang, *said, *day, *time, *value;
    } p[] = {
        {"en-GB", "My bike was nicked from outside the house yesterday at teatime.", "2024-10-07",
         "About five.", "2024-10-07T17:00:00"},
        {"en-GB", "Somebody hit my car in the car park on Sunday at lunchtime.", "2024-10-06",
         "Around one.", "2024-10-06T13:00:00"},
        {"en-GB", "Somebody hit my car in the car park on Sunday at lunchtime.", "2024-10-06",
         "Around half eleven.", "2024-10-06T11:30:00"},
        {"en-US", "The basement flooded yesterday at dinner time.", "2024-10-07",
         "Around seven thirty.", "2024-10-07T19:30:00"},
        {"fr-FR", "On m'a volé mon sac hier à l'heure du déjeuner.", "2024-10-07",
         "Vers une heure.", "2024-10-07T13:00:00"},
        {"fr-FR", "On a tagué ma façade avant-hier à l'aube.", "2024-10-06", "Vers six heures.",
         "2024-10-06T06:00:00"},
        {"es-ES", "Ayer a la hora de comer se me inundó la cocina.", "2024-10-07",
         "Sobre las tres.", "2024-10-07T15:00:00"},
        {"es-MX", "Ayer en la madrugada se metieron a robar.", "2024-10-07", "Como a las tres.",
         "2024-10-07T03:00:00"},
        {"en-AU", "Somebody dinged my car on Friday arvo.", "2024-10-04", "About four.",
         "2024-10-04T16:00:00"},
        {"es-ES", "Anoche por la tarde se me inundó el baño.", "2024-10-07", "Sobre las siete.",
         "2024-10-07T19:00:00"},
    };
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++) {
        Ccai_offline *o = make_from(s, p[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, p[i].said);
        const char *v = set_value(r, "incident_datetime");
        const char *f[1];
        bool time_only = false;
        if (!v || strncmp(v, p[i].day, 10) != 0 || said(r, ":00") ||
            Ccai_offline_asking(o, f, 1, &time_only) != 1 || !time_only) {
            print_error("\"%s\": %s, expected %s and the time asked\n", p[i].said,
                        v ? v : "(unset)", p[i].day);
            bad++;
            Ccai_offline_free(o);
            continue;
        }
        in(o, p[i].time); /* the claim: the hour may be the part's */
        char want[64];
        snprintf(want, sizeof want, "\"incident_datetime\":\"%s\"", p[i].value);
        if (!strstr(Ccai_offline_claim_json(o), want)) {
            print_error("\"%s\" then \"%s\": %s, expected %s\n", p[i].said, p[i].time,
                        Ccai_offline_claim_json(o), p[i].value);
            bad++;
        }
        Ccai_offline_free(o);
    }
    /* a range wider than two hours is all the caller knows of the time:
     * the day alone, the time not asked */
    static const struct {
        const char *lang, *said, *day;
    } w[] = {
        {"fr-FR", "Un tuyau a éclaté hier entre 9h et 17h, pendant que j'étais au travail.",
         "2024-10-07"},
        {"en-GB", "It was Sunday, between two and six.", "2024-10-06"},
        {"es-ES", "Fue ayer, entre las nueve y las doce.", "2024-10-07"},
    };
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
        Ccai_offline *o = make_from(s, w[i].lang, NULL);
        if (i > 0) /* the first said before it is asked, the others when asked */
            in(o, "A pipe burst under the sink.");
        in(o, w[i].said);
        const char *f[1];
        bool time_only = false;
        bool asked = Ccai_offline_asking(o, f, 1, &time_only) == 1 && time_only;
        char want[64];
        snprintf(want, sizeof want, "\"incident_datetime\":\"%s", w[i].day);
        if (asked || !strstr(Ccai_offline_claim_json(o), want)) {
            print_error("\"%s\": %s, expected %s and the time not asked\n", w[i].said,
                        Ccai_offline_claim_json(o), w[i].day);
            bad++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* A part of the day with no hour ("last night", "hier soir", "anoche") is
 * no hour: the time is asked and read with the part ("maybe around ten"
 * after "last night" is 22:00); the day is kept when the caller says
 * something else or asks for a person instead (review of 2026-12-07). */
static void test_part_of_day_asks_the_time(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said, *time, *value;
    } d[] = {
        {"en-GB", "Somebody backed into my car in the Tesco car park last night.",
         "I'm not sure, maybe around ten.", "2024-10-07T22:00:00"},
        {"fr-FR", "On m'a embouti la portière hier soir.", "Vers neuf heures, je crois.",
         "2024-10-07T21:00:00"},
        {"es-ES", "Anoche me abollaron la puerta del coche.", "Sobre las diez, creo.",
         "2024-10-07T22:00:00"},
        {"en-US", "A shelf fell on my car this morning.",
         "Around nine. Actually no, more like ten.", "2024-10-08T10:00:00"},
        {"en-US", "My bike was stolen last night.", "Around two, I think.", "2024-10-08T02:00:00"},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        Ccai_offline *o = make_from(s, d[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, d[i].said);
        /* the day and the part's hour noted, no hour read back */
        if (!set_value(r, "incident_datetime") || said(r, ":00"))
            fail_msg("\"%s\": the day not noted, or an hour read back", d[i].said);
        const char *f[1];
        bool time_only = false;
        assert_int_equal(Ccai_offline_asking(o, f, 1, &time_only), 1);
        assert_true(time_only);
        r = in(o, d[i].time);
        const char *v = set_value(r, "incident_datetime");
        if (!v || strcmp(v, d[i].value) != 0)
            fail_msg("\"%s\": %s, expected %s", d[i].time, v ? v : "(unset)", d[i].value);
        Ccai_offline_free(o);
    }
    /* the place said instead of the time: the day goes, not asked again */
    Ccai_offline *o = make_from(s, "en-US", NULL);
    const Ccai_offline_reply *r = in(o, "Water came through the ceiling last night.");
    const char *v = set_value(r, "incident_datetime");
    assert_non_null(v);
    assert_memory_equal(v, "2024-10-07", 10);
    r = in(o, "At 77 Bay Road, Miami.");
    assert_non_null(set_value(r, "incident_location"));
    assert_false(said(r, "date and time"));
    assert_false(said(r, "what time"));
    Ccai_offline_free(o);
    /* a person asked for instead of the time: the day goes with the call */
    o = make_from(s, "en-GB", NULL);
    in(o, "I had an accident this morning.");
    r = in(o, "Can I just talk to a real person?");
    assert_true(has(r, CCAI_OFFLINE_TRANSFER, NULL));
    v = set_value(r, "incident_datetime");
    assert_non_null(v);
    assert_memory_equal(v, "2024-10-08", 10);
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* Letters by their Spanish names after their article ("la ese", "la
 * jota", "la i griega", "doble ve"), and letters said then spelled ("H
 * B, as in hotel bravo", "P R, papa romeo", "N F. November foxtrot.")
 * are the letters once; said while the bot asks what happened (review of
 * 2026-12-07). */
static void test_letters_by_name_and_echoed(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *text, *code;
    } d[] = {
        {"es-ES", "Mi póliza es la ese, la ene, cuatro cuatro uno dos cero nueve.", "SN441209"},
        {"es-ES", "El número de póliza: la jota, la i griega, siete siete tres cero uno cinco.",
         "JY773015"},
        {"es-ES", "Mi póliza es la erre, doble ve, cinco cinco cero uno ocho tres.", "RW550183"},
        {"en-GB", "My policy number is H B, as in hotel bravo, 4 4 0 2 1 9.", "HB440219"},
        {"en-GB", "Policy number P R, papa romeo, 5 5 1 0 8 2.", "PR551082"},
        {"en-GB", "My policy number is N F. November foxtrot. 2 2 8 1 4 0.", "NF228140"},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        Ccai_offline *o = make_from(s, d[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, d[i].text);
        const char *v = set_value(r, "policy_number");
        if (!v || strcmp(v, d[i].code) != 0)
            fail_msg("\"%s\": policy number %s, expected %s", d[i].text, v ? v : "(unset)",
                     d[i].code);
        Ccai_offline_free(o);
    }
    /* "de la tarde", "ese coche": words, no letters */
    Ccai_offline *o = make_from(s, "es-ES", NULL);
    const Ccai_offline_reply *r =
        in(o, "Anteayer sobre las ocho menos veinte de la tarde ese coche me rayó la puerta.");
    assert_null(set_value(r, "policy_number"));
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* A description that starts with the place ("in the kitchen, the pipe
 * under the sink burst") is the description; the room is no address and
 * "se rompió la tubería" is no injury (an injury's verb needs a part of the
 * body: [topic.injuries.body]). Said while the bot asks what happened. */
static void test_description_starting_with_the_place(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *text;
    } d[] = {
        {"en-US", "In the kitchen, the pipe under the sink burst and flooded the floor."},
        {"fr-FR", "Dans la salle de bain, le chauffe-eau a fui et a inondé le sol."},
        {"es-ES", "En la cocina, se rompió la tubería de debajo del fregadero y se inundó todo."},
    };
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        Ccai_offline *o = make_from(s, d[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, d[i].text);
        assert_non_null(set_value(r, "incident_description"));
        for (size_t k = 0; k < r->n; k++)
            if (r->v[k].kind == CCAI_OFFLINE_SET_FIELD &&
                strcmp(r->v[k].field, "incident_description") != 0)
                fail_msg("\"%s\": %s = %s noted", d[i].text, r->v[k].field, r->v[k].text);
        Ccai_offline_free(o);
    }
    /* a part of the body after the verb is an injury */
    Ccai_offline *o = make_from(s, "es-ES", NULL);
    const Ccai_offline_reply *r =
        in(o, "Se cayó una estantería en el garaje y mi hijo se rompió la muñeca.");
    assert_non_null(set_value(r, "incident_description"));
    assert_non_null(set_value(r, "injuries"));
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* Issue 15, e-mails heard aloud: an address is noted only when every word
 * is accounted for and nothing looks cut; otherwise it is spelled once,
 * then left to a colleague. Said while "what happened?" is asked. */
static void test_email_noted_only_when_sure(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said, *value; /* NULL: nothing noted */
    } cases[] = {
        {"en-GB", "my email is sarah full stop okonkwo at yahoo full stop co full stop uk",
         "sarah.okonkwo@yahoo.co.uk"},
        {"en-GB", "my email is tom dot baker, then the at sign, then outlook dot com",
         "tom.baker@outlook.com"},
        {"en-GB", "my email is j a m e s double seven at gmail dot com", "james77@gmail.com"},
        {"en-GB", "my email is bazza at bazzanet dot org", "bazza@bazzanet.org"},
        {"fr-FR", "mon mail c'est luc point morel a commercial gmail point com",
         "luc.morel@gmail.com"},
        {"fr-FR", "mon mail c'est paul tiret du 6 roy arobase free point fr", "paul-roy@free.fr"},
        {"es-ES", "mi correo es jota, o, ese, e, guion bajo, pardo, arroba, gmail, punto, com",
         "jose_pardo@gmail.com"},
        {"es-ES", "mi correo es lucia punto gomez arroba hotmail punto es",
         "lucia.gomez@hotmail.es"},
        {"fr-FR", "Alors c, l, a, i, r, e, tiret, martin, arobase, laposte, point, net.",
         "claire-martin@laposte.net"},
        {"es-ES", "mi correo es m a n o l o punto o r t e g a arroba telefonica punto net",
         "manolo.ortega@telefonica.net"},
        /* cut, a word about the address, words joined, a word around it */
        {"en-GB", "my email is mark at bluewidget dot co dot uk dot", NULL},
        {"en-GB", "you can reach me on smith at gmail dot com", NULL},
        {"en-GB", "my email is dave at the office dot com", NULL},
        {"en-GB", "my email is capital j smith at gmail dot com", NULL},
        {"fr-FR", "mon mail c'est luc majuscule point morel arobase gmail point com", NULL},
        {"es-ES", "mi correo es ana arroba gmail punto com punto", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_from(s, cases[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = set_value(r, "policyholder_email");
        if (cases[i].value ? !v || strcmp(v, cases[i].value) != 0 : v != NULL)
            fail_msg("\"%s\": e-mail %s, expected %s", cases[i].said, v ? v : "(unset)",
                     cases[i].value ? cases[i].value : "(unset)");
        if (cases[i].value)
            assert_null(set_value(r, "incident_description"));
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* Every field but the e-mail noted: the e-mail is asked. */
static Ccai_offline *email_asked(const ccai_claim_schema *s, const char *lang)
{
    Ccai_offline *o =
        make(s, lang,
             "{\"incident_datetime\": \"2024-10-07 15:00\", \"incident_description\": "
             "\"x\", \"incident_location\": \"Leeds\", \"injuries\": \"None\", "
             "\"involved_parties\": \"me\", \"medical_records\": \"None\", "
             "\"policy_number\": \"WA3301872\", \"pre_existing_damages\": \"None\", "
             "\"witnesses\": \"None\", \"policyholder_name\": \"Ann Lee\", "
             "\"policyholder_phone\": \"+447700900123\"}",
             NULL);
    start(o, false);
    return o;
}

/* Not understood: "spell it, letter by letter?" once, then a colleague
 * confirms it (no loop); a no to the read-back drops it and asks to spell
 * it; one part spelled on the next turn replaces the part most like it. */
static void test_email_spell_readback_correct(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = email_asked(s, "en-GB");
    const char *garbled = "Uh it's at, sorry, you're breaking up, at the uh, dot.";
    const Ccai_offline_reply *r = in(o, garbled);
    assert_null(set_value(r, "policyholder_email"));
    assert_true(said(r, "letter by letter"));
    r = in(o, garbled);
    assert_null(set_value(r, "policyholder_email"));
    assert_true(said(r, "a colleague will confirm it"));
    assert_false(said(r, "letter by letter"));
    Ccai_offline_free(o);

    o = email_asked(s, "fr-FR");
    r = in(o, "c'est sophie point roux arobase orange point fr");
    assert_string_equal(set_value(r, "policyholder_email"), "sophie.roux@orange.fr");
    r = in(o, "Non, c'est pas ça.");
    assert_true(said(r, "lettre par lettre"));
    assert_true(strstr(Ccai_offline_claim_json(o), "orange") == NULL);
    r = in(o, "s o p h i e point r o u x arobase wanadoo point fr");
    assert_string_equal(set_value(r, "policyholder_email"), "sophie.roux@wanadoo.fr");
    assert_true(said(r, "s o p h i e point r o u x arobase wanadoo point fr"));
    Ccai_offline_free(o);

    static const struct {
        const char *lang, *first, *fix, *value; /* NULL: asked to spell */
    } fixes[] = {
        {"en-GB", "It's jon dot reid at gmail dot com.", "Sorry, it's r-e-a-d, not reid.",
         "jon.read@gmail.com"},
        {"fr-FR", "C'est marc point lefevre arobase gmail point com.",
         "Pardon, c'est avec un b, l e f e b v r e.", "marc.lefebvre@gmail.com"},
        {"es-ES", "Es pablo punto jimenez arroba gmail punto com.",
         "Perdón, jimenez con g, g i m e n e z.", "pablo.gimenez@gmail.com"},
        {"es-ES", "lucia punto moreno arroba gmail punto com.",
         "No, perdone, es morena, con a al final.", "lucia.morena@gmail.com"},
        {"fr-FR", "C'est marc point lefevre arobase gmail point com.", "Non, c'est avec un y.",
         NULL},
    };
    for (size_t i = 0; i < sizeof fixes / sizeof fixes[0]; i++) {
        o = email_asked(s, fixes[i].lang);
        in(o, fixes[i].first);
        r = in(o, fixes[i].fix);
        const char *v = set_value(r, "policyholder_email");
        if (fixes[i].value ? !v || strcmp(v, fixes[i].value) != 0 : v != NULL)
            fail_msg("\"%s\": e-mail %s, expected %s", fixes[i].fix, v ? v : "(unset)",
                     fixes[i].value ? fixes[i].value : "(unset)");
        if (!fixes[i].value)
            assert_true(said(r, "lettre par lettre"));
        if (i == 0) /* the part spelled is read back spelled */
            assert_true(said(r, "I have your e-mail as jon dot r e a d at gmail dot com."));
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* Issue 15, e-mails heard wrong on held-out callers (stored, not asked):
 * a part said then spelled is that part once; a symbol "in between" goes
 * between the two words; letters by their Spanish and French names in a
 * spelled run; "collé", "junto" join; digits after a name and a comma
 * belong to it; a word of a symbol phrase is never a part. Answered to
 * the question for the e-mail (name "Ann Lee"). */
static void test_email_said_spelled_named_joined(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said, *value; /* NULL: nothing noted */
    } cases[] = {
        {"en-US", "bdoyle, b d o y l e, at gmail dot com", "bdoyle@gmail.com"},
        {"en-US", "it's k dot marsh, m a r s h, at yahoo dot com", "k.marsh@yahoo.com"},
        {"en-GB", "helen cho, h e l e n c h o, at outlook dot com", "helencho@outlook.com"},
        {"fr-FR", "paul point henry, h e n r y, arobase free point fr", "paul.henry@free.fr"},
        {"en-GB", "it's gallagher, g a double l a g h e r, at hotmail dot com",
         "gallagher@hotmail.com"},
        {"en-GB", "it's smith, s-m-i-t-h, at gmail dot com", "smith@gmail.com"},
        {"en-US", "r o s a eighty one, rosa81, at yahoo dot com", "rosa81@yahoo.com"},
        {"en-GB", "j dot smith, that's j, then smith, s m i t h, at gmail dot com", NULL},
        {"es-ES", "ana gil, con un guion bajo en medio, arroba gmail punto com",
         "ana_gil@gmail.com"},
        {"es-ES", "luis punto mora, con un punto en medio, arroba yahoo punto es",
         "luis.mora@yahoo.es"},
        {"en-GB", "tom kerr with a dot in between at gmail dot com", "tom.kerr@gmail.com"},
        {"es-ES", "es pepe guión medio ruiz arroba gmail punto com", "pepe-ruiz@gmail.com"},
        {"es-ES", "es marta, en medio, arroba gmail punto com", NULL},
        {"es-ES", "pacog, pe, a, ce, o, ge, arroba gmail punto com", "pacog@gmail.com"},
        {"es-ES", "es ele, u, ce, i, a, arroba gmail punto com", "lucia@gmail.com"},
        {"es-ES", "es jota, u, a, ene, i griega, arroba gmail punto com", "juany@gmail.com"},
        {"fr-FR", "c'est ji, u, elle, i, e, arobase free point fr", "julie@free.fr"},
        {"fr-FR", "c'est zède, o, é, arobase free point fr", "zoe@free.fr"},
        {"fr-FR", "anne martin, collé, arobase yahoo point fr", "annemartin@yahoo.fr"},
        {"fr-FR", "anne martin attaché arobase yahoo point fr", "annemartin@yahoo.fr"},
        {"es-ES", "pacogil, todo junto, ochenta, arroba hotmail punto com",
         "pacogil80@hotmail.com"},
        {"en-US", "jim lowe, all one word, seventy two, at aol dot com", "jimlowe72@aol.com"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = email_asked(s, cases[i].lang);
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = set_value(r, "policyholder_email");
        if (cases[i].value ? !v || strcmp(v, cases[i].value) != 0 : v != NULL) {
            print_error("\"%s\": e-mail %s, expected %s\n", cases[i].said, v ? v : "(unset)",
                        cases[i].value ? cases[i].value : "(unset)");
            bad++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* Issue 15: the whole address said again on the next turn replaces it
 * ("no sorry, it's ... with no dot, at icloud dot com"), and so does the
 * domain alone said against the old one ("c'est pas orange, c'est
 * hotmail point fr"). */
static void test_email_replaced_next_turn(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *first, *fix, *value;
    } fixes[] = {
        {"en-US", "ruth dot okoro at gmail dot com",
         "Wait, that's my old one. It's ruth okoro with no dot, at icloud dot com.",
         "ruthokoro@icloud.com"},
        {"en-GB", "ben dot ash at gmail dot com",
         "no sorry, it's ben ash all one word at hotmail dot com", "benash@hotmail.com"},
        {"fr-FR", "claire point roy arobase orange point fr",
         "Ah, pour le mail, c'est pas orange, c'est laposte point net.", "claire.roy@laposte.net"},
        {"es-ES", "eva punto sanz arroba gmail punto com",
         "Perdone, no es gmail, es hotmail punto es.", "eva.sanz@hotmail.es"},
        {"en-US", "sam dot cole at gmail dot com", "Sorry, not gmail, it's yahoo dot com.",
         "sam.cole@yahoo.com"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof fixes / sizeof fixes[0]; i++) {
        Ccai_offline *o = email_asked(s, fixes[i].lang);
        in(o, fixes[i].first);
        (void)in(o, fixes[i].fix);
        const char *v = Ccai_offline_claim_json(o);
        if (!strstr(v, fixes[i].value)) {
            print_error("\"%s\": claim %s, expected %s\n", fixes[i].fix, v, fixes[i].value);
            bad++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* The words of an address are data too: a German file gives "punkt",
 * "klammeraffe", "doppel" and the words around it ("ist"), no code. */
static void test_email_words_are_a_file(void **state)
{
    (void)state;
    static const char *const swaps[] = {
        "[sym.at]\n",         "[sym.at]\nklammeraffe\n",    "[sym.dot]\n",
        "[sym.dot]\npunkt\n", "[spell.double]\n",           "[spell.double]\ndoppel\n",
        "[email.stop]\n",     "[email.stop]\nmeine\nist\n", NULL};
    char *de = NULL;
    Ccai_ofl_lexicon *lx = german_lexicon(swaps, &de);
    ccai_claim_schema *s = default_schema();
    Ccai_offline_params p = {
        .schema = s,
        .lang = "de-DE",
        .now_ms = NOW_MS,
        .lexicon = lx,
        .claim_json = "{\"incident_datetime\": \"2024-10-07T15:00:00\", \"incident_description\": "
                      "\"Wasser\", \"incident_location\": \"Berlin\", \"injuries\": \"None\", "
                      "\"involved_parties\": \"Me\", \"medical_records\": \"None\", "
                      "\"policy_number\": \"AU404040\", \"pre_existing_damages\": \"None\", "
                      "\"witnesses\": \"None\", \"policyholder_name\": \"Anna Knoll\", "
                      "\"policyholder_phone\": \"+4930123456\"}"};
    Ccai_offline *o = NULL;
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    start(o, false);
    const Ccai_offline_reply *r =
        in(o, "meine Adresse ist anna punkt kno doppel l klammeraffe web punkt de");
    const char *v = set_value(r, "policyholder_email");
    if (!v || strcmp(v, "anna.knoll@web.de") != 0)
        fail_msg("e-mail in German words: %s", v ? v : "(unset)");
    Ccai_offline_free(o);
    Ccai_offline_lexicon_free(lx);
    free(de);
    ccai_claim_schema_unref(s);
}

/* The word lists the readers test words against are data too: a German
 * file's [strip.words] make "ich möchte bitte mit einem Menschen
 * sprechen" the command "menschen" (a transfer), its [number.words] read
 * "zweiundzwanzig" in an address; the same file without them does
 * neither. */
static void german_words_call(const char *const *swaps, bool words)
{
    char *de = NULL;
    Ccai_ofl_lexicon *lx = german_lexicon(swaps, &de);
    ccai_claim_schema *s = default_schema();
    Ccai_offline_params p = {.schema = s, .lang = "de-DE", .now_ms = NOW_MS, .lexicon = lx};
    Ccai_offline *o = NULL;
    assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
    start(o, false);
    const Ccai_offline_reply *r = in(o, "meine Adresse ist anna zweiundzwanzig at web dot de");
    const char *v = set_value(r, "policyholder_email");
    if (words && (!v || strcmp(v, "anna22@web.de") != 0))
        fail_msg("number word in a German address: %s", v ? v : "(unset)");
    if (!words && v && strcmp(v, "anna22@web.de") == 0)
        fail_msg("a number word read with no [number.words] entry");
    r = in(o, "ich möchte bitte mit einem Menschen sprechen");
    bool transfer = r->n > 0 && r->v[r->n - 1].kind == CCAI_OFFLINE_TRANSFER;
    if (transfer != words)
        fail_msg("German command %s", words ? "not understood" : "understood with no words");
    Ccai_offline_free(o);
    Ccai_offline_lexicon_free(lx);
    free(de);
    ccai_claim_schema_unref(s);
}

static void test_word_lists_are_a_file(void **state)
{
    (void)state;
    static const char *const with_words[] = {
        "[cmd.transfer]\n",
        "[cmd.transfer]\nmenschen\n",
        "[strip.words]\n",
        "[strip.words]\nich\nmöchte\nbitte\nmit\neinem\nsprechen\n",
        "[number.words]\n",
        "[number.words]\nzweiundzwanzig 22\n",
        "[email.stop]\n",
        "[email.stop]\nmeine\nadresse\nist\n",
        NULL};
    static const char *const without[] = {"[cmd.transfer]\n", "[cmd.transfer]\nmenschen\n",
                                          "[email.stop]\n", "[email.stop]\nmeine\nadresse\nist\n",
                                          NULL};
    german_words_call(with_words, true);
    german_words_call(without, false);
}

/* Two questions asked together, answered in one sentence: each clause
 * goes to the field it is about; a no answers both; nobody hurt is nobody
 * at the doctor's, not asked. */
static void test_answers_to_two_questions(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char story[] = "{\"incident_description\": \"A tree fell on my garage\", "
                                "\"incident_datetime\": \"2024-10-07T15:00:00\", "
                                "\"incident_location\": \"4 Oak Lane, Leeds\"";
    static const struct {
        const char *lang, *fill, *text, *f1, *v1, *f2, *v2;
    } q[] = {
        {"en-GB", "}", "Nobody was hurt, but the roof was already leaking a bit.", "injuries",
         "None", "pre_existing_damages", "The roof was already leaking a bit"},
        {"en-GB", "}", "No, it was all fine before.", "injuries", "None", "pre_existing_damages",
         "None"},
        {"en-GB", "}", "Obviously not.", "injuries", "None", "pre_existing_damages", "None"},
        {"fr-FR", "}", "Non, personne, mais la gouttière était déjà abîmée.", "injuries", "Aucun",
         "pre_existing_damages", "La gouttière était déjà abîmée"},
        {"es-ES", "}", "No, por suerte no.", "injuries", "Ninguno", "pre_existing_damages",
         "Ninguno"},
        /* "no no" first, to a yes-or-no question, is the answer, no
         * correction: what happened is not replaced */
        {"en-GB", "}",
         "No no, I wasn't even there, thank goodness. The door was a bit old but it wasn't "
         "broken, no.",
         "injuries", "None", "pre_existing_damages",
         "The door was a bit old but it wasn't broken, no"},
        {"fr-FR", "}", "Non. Pas que je sache.", "injuries", "Aucun", "pre_existing_damages",
         "Aucun"},
        /* the French "si" (if) opening a clause is no yes */
        {"fr-FR", "}",
         "Si je me souviens bien, personne n'a été blessé, mais la gouttière était "
         "déjà abîmée.",
         "injuries", "Aucun", "pre_existing_damages", "La gouttière était déjà abîmée"},
        {"en-GB",
         ", \"injuries\": \"None\", \"medical_records\": \"None\", \"pre_existing_damages\": "
         "\"None\"}",
         "Just me, but my neighbour saw it happen.", "involved_parties", "Just me", "witnesses",
         "My neighbour saw it happen"},
        /* the caller alone is an answer, though "me" is a filler */
        {"en-GB",
         ", \"injuries\": \"None\", \"medical_records\": \"None\", \"pre_existing_damages\": "
         "\"None\"}",
         "Me. Nobody saw it.", "involved_parties", "Me", "witnesses", "None"},
        {"es-ES",
         ", \"injuries\": \"Ninguno\", \"medical_records\": \"Ninguno\", "
         "\"pre_existing_damages\": \"Ninguno\"}",
         "Yo. Nadie.", "involved_parties", "Yo", "witnesses", "Ninguno"},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        char claim[512];
        snprintf(claim, sizeof claim, "%s%s", story, q[i].fill);
        Ccai_offline *o = make_filled(s, q[i].lang, NULL, claim);
        const Ccai_offline_reply *r = in(o, q[i].text);
        const char *v1 = set_value(r, q[i].f1), *v2 = set_value(r, q[i].f2);
        if (!v1 || !v2 || strcmp(v1, q[i].v1) != 0 || strcmp(v2, q[i].v2) != 0)
            fail_msg("\"%s\": %s = %s, %s = %s", q[i].text, q[i].f1, v1 ? v1 : "(unset)", q[i].f2,
                     v2 ? v2 : "(unset)");
        assert_null(set_value(r, "incident_description"));
        /* no injuries: no doctor either, and that question is not asked */
        if (strcmp(q[i].f1, "injuries") == 0) {
            assert_non_null(set_value(r, "medical_records"));
            assert_false(said(r, "doctor"));
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* Words that look like a field's and are not: a month after "in" is no
 * town ("I renewed in August"), "cut" with no part of the body is no
 * injury ("the lock was cut"). */
static void test_not_a_place_nor_an_injury(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = make_from(s, "en-GB", NULL);
    const Ccai_offline_reply *r =
        in(o, "My bike was stolen from the shed, I locked it but the lock was cut.");
    assert_non_null(set_value(r, "incident_description"));
    assert_null(set_value(r, "injuries"));
    Ccai_offline_free(o);
    o = make_filled(s, "en-GB", NULL,
                    "{\"incident_description\": \"Window smashed\", \"incident_datetime\": "
                    "\"2024-10-03T18:00:00\", \"policy_number\": \"MP660281\"}");
    r = in(o, "Ah no, sorry, that's the old one, I renewed in August. The new one is M P, six six "
              "oh, nine four three.");
    assert_string_equal(set_value(r, "policy_number"), "MP660943");
    assert_null(set_value(r, "incident_location"));
    Ccai_offline_free(o);
    /* "Mr." before a name ends no sentence; a name said again in full
     * after a sentence is the one */
    o = make_filled(s, "en-GB", NULL,
                    "{\"incident_description\": \"Heater leaked\", \"incident_datetime\": "
                    "\"2024-10-03T18:00:00\", \"incident_location\": \"Flat 2\", \"injuries\": "
                    "\"None\", \"medical_records\": \"None\", \"pre_existing_damages\": \"None\"}");
    r = in(o, "Me, and the landlord, Mr. Gupta, since it's his heater. My roommate, Jordan, saw it "
              "with me.");
    assert_non_null(strstr(set_value(r, "involved_parties"), "Gupta"));
    assert_non_null(strstr(set_value(r, "witnesses"), "Jordan"));
    Ccai_offline_free(o);
    o = make_filled(s, "fr-FR", NULL,
                    "{\"incident_description\": \"Cambriolage\", \"incident_datetime\": "
                    "\"2024-10-03T18:00:00\", \"incident_location\": \"Chez moi\", \"injuries\": "
                    "\"Aucun\", \"medical_records\": \"Aucun\", \"pre_existing_damages\": "
                    "\"Aucun\", \"involved_parties\": \"Moi\", \"witnesses\": \"Aucun\"}");
    r = in(o, "Durand. Patrick Durand. Je l'ai pas sous les yeux.");
    assert_string_equal(set_value(r, "policyholder_name"), "Patrick Durand");
    Ccai_offline_free(o);
    /* a correction of one fact does not let the next sentence replace
     * another noted fact: "the water went everywhere" is who was there's
     * answer, not a new story */
    o = make_filled(s, "en-GB", NULL,
                    "{\"incident_description\": \"A pipe burst under the sink\", "
                    "\"incident_datetime\": \"2024-10-02T10:00:00\", \"incident_location\": "
                    "\"12 Elm Street\", \"injuries\": \"None\", \"medical_records\": \"None\", "
                    "\"pre_existing_damages\": \"None\"}");
    r = in(o, "Sorry, it was Thursday, not Wednesday. Just me, the water went everywhere. Nobody "
              "saw it.");
    assert_null(set_value(r, "incident_description"));
    assert_non_null(set_value(r, "incident_datetime"));
    assert_non_null(strstr(set_value(r, "involved_parties"), "Just me"));
    Ccai_offline_free(o);
    o = make_filled(s, "en-GB", NULL,
                    "{\"incident_description\": \"A pipe burst under the sink\", "
                    "\"incident_datetime\": \"2024-10-02T10:00:00\", \"incident_location\": "
                    "\"12 Elm Street\"}");
    r = in(o, "Sorry, it was Thursday, not Wednesday. The pipe had a small leak before.");
    assert_null(set_value(r, "incident_description"));
    assert_non_null(set_value(r, "incident_datetime"));
    Ccai_offline_free(o);
    /* nobody hurt in other words ([none.injuries]) */
    static const struct {
        const char *lang, *said, *none;
    } fine[] = {
        {"en-AU", "I hit a roo on the highway, smashed the front of the ute, I'm fine though.",
         "None"},
        {"fr-FR", "Un arbre est tombé sur ma voiture, je n'ai rien, heureusement.", "Aucun"},
        {"es-ES", "Me chocaron por detrás en un semáforo, estoy bien.", "Ninguno"},
    };
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++) {
        o = make_from(s, fine[i].lang, NULL);
        r = in(o, fine[i].said);
        const char *v = set_value(r, "injuries");
        if (!v || strcmp(v, fine[i].none) != 0)
            fail_msg("\"%s\": injuries = %s", fine[i].said, v ? v : "(unset)");
        Ccai_offline_free(o);
    }
    o = make_from(s, "en-GB", NULL);
    r = in(o, "I cut my hand on the glass when the window broke.");
    assert_non_null(set_value(r, "injuries"));
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* A name corrected by spelling on a later turn: the letters are how the
 * words said are written, and every word spelled is kept. */
static void test_name_spelled_on_a_later_turn(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *first, *said, *name;
    } cases[] = {
        {"en-GB", "Catherine Moore",
         "No, sorry, it's Kathryn with a K, K A T H R Y N, Moor, M O O R.", "Kathryn Moor"},
        {"en-US", "Jon Mcallister", "Actually it's John, J O H N, Macalister, M A C A L I S T E R.",
         "John Macalister"},
        {"fr-FR", "Loïk Le Gof", "Pardon, c'est Loïc avec un c, L O I C, Le Goff.", "Loïc Le Goff"},
        {"es-MX", "Jésica Paz", "No, perdón, soy Yésica con y griega, Y E S I C A, Páez, P A E Z.",
         "Yésica Páez"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char claim[256];
        snprintf(claim, sizeof claim,
                 "{\"incident_description\": \"Shed broken into\", \"incident_datetime\": "
                 "\"2024-10-07T09:00:00\", \"incident_location\": \"12 Oak Road\", "
                 "\"policyholder_name\": \"%s\"}",
                 cases[i].first);
        Ccai_offline *o = make_filled(s, cases[i].lang, NULL, claim);
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = set_value(r, "policyholder_name");
        if (!v || strcmp(v, cases[i].name) != 0)
            fail_msg("\"%s\": policyholder_name = %s, expected %s", cases[i].said,
                     v ? v : "(unset)", cases[i].name);
        Ccai_offline_free(o);
    }
    /* letters far from the word said spell something else: "Dawson, H S"
     * is no "Hs" */
    Ccai_offline *o = make_from(s, "en-GB", NULL);
    const Ccai_offline_reply *r =
        in(o, "My shed was broken into last night. My name is Craig Dawson, H S, one two three.");
    assert_string_equal(set_value(r, "policyholder_name"), "Craig Dawson");
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* A damaged thing said to "was anyone hurt, and was anything already
 * damaged before?" is damage from before, no injury: injuries are about
 * people. */
static void test_damage_is_no_injury(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said, *key;
    } cases[] = {
        {"en-GB", "There was already a crack in the windscreen.", "crack"},
        {"en-US", "Well, the rear bumper had a dent from last year.", "dent"},
        {"en-GB", "The paint on the door was a bit scratched already.", "scratched"},
        {"fr-FR", "Il y avait déjà un impact sur le pare-brise.", "impact"},
        {"fr-FR", "Le parquet était déjà un peu abîmé.", "parquet"},
        {"es-ES", "El parachoques ya tenía una abolladura.", "abolladura"},
        {"es-CO", "El piso ya estaba un poquito levantado.", "levantado"},
        {"en-AU", "Just a chip in the windscreen, that's all.", "chip"},
        {"en-US", "There was a scuff on the rear bumper.", "scuff"},
        {"fr-BE", "Il y avait un éclat sur le pare-brise.", "pare-brise"},
        {"es-MX", "La puerta tenía un rayón chiquito.", "rayón"},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_filled(s, cases[i].lang, NULL,
                                      "{\"incident_description\": \"A van reversed into it\", "
                                      "\"incident_datetime\": \"2024-10-07T09:00:00\", "
                                      "\"incident_location\": \"12 Oak Road\"}");
        const char *f[2];
        bool time_only = false;
        assert_int_equal(Ccai_offline_asking(o, f, 2, &time_only), 2);
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = set_value(r, "pre_existing_damages");
        const char *inj = set_value(r, "injuries");
        if (!v || !strstr(v, cases[i].key) || inj) {
            print_error("\"%s\" (asked %s, %s): pre_existing_damages = %s, injuries = %s\n",
                        cases[i].said, f[0], f[1], v ? v : "(unset)", inj ? inj : "(unset)");
            failed++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(failed, 0);
}

/* A part of an address restated after others: spelled ("that is h u g h
 * e s"), its number digit by digit ("then two two"); the restatement is
 * the part once, and the address is noted, not asked to be spelled. */
static void test_email_part_restated(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said, *value;
    } cases[] = {
        {"en-GB", "peter dot hughes twenty-two, that is h u g h e s, at virginmedia dot com",
         "peter.hughes22@virginmedia.com"},
        {"en-GB",
         "peter dot hughes twenty-two, that is h u g h e s, then two two, at virginmedia dot com",
         "peter.hughes22@virginmedia.com"},
        {"en-IE", "sean dot kelly, that's s e a n, at eircom dot net", "sean.kelly@eircom.net"},
        {"en-US", "dana dot price, p r i c e, nineteen, at aol dot com", "dana.price19@aol.com"},
        {"fr-FR",
         "marie point dupont cinquante, soit d u p o n t, puis cinq zéro, arobase orange point fr",
         "marie.dupont50@orange.fr"},
        {"es-ES", "lucia punto ortiz, es decir, o r t i z, arroba gmail punto com",
         "lucia.ortiz@gmail.com"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = email_asked(s, cases[i].lang);
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = set_value(r, "policyholder_email");
        if (!v || strcmp(v, cases[i].value) != 0) {
            print_error("\"%s\": e-mail %s, expected %s\n", cases[i].said, v ? v : "(unset)",
                        cases[i].value);
            bad++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* In an address a number word counts in the call's language or English
 * only: a word of a third language is a name ("une", a Colombian ISP, is
 * no French 1 in a Spanish call); a digit said in the call's words or in
 * English counts. */
static void test_email_number_words_of_the_call(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said, *value;
    } cases[] = {
        {"es-CO", "juan punto perez arroba une punto net punto co", "juan.perez@une.net.co"},
        {"es-ES", "marta punto gil dos arroba une punto es", "marta.gil2@une.es"},
        {"es-MX", "rosa punto lima seven arroba gmail punto com", "rosa.lima7@gmail.com"},
        {"fr-FR", "luc point martin un arobase free point fr", "luc.martin1@free.fr"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = email_asked(s, cases[i].lang);
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = set_value(r, "policyholder_email");
        if (!v || strcmp(v, cases[i].value) != 0) {
            print_error("\"%s\": e-mail %s, expected %s\n", cases[i].said, v ? v : "(unset)",
                        cases[i].value);
            bad++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* Every field noted but the e-mail when with_email is false; the phone
 * +447700900123 and the policy number PL4418820. */
static Ccai_offline *claim_noted(const ccai_claim_schema *s, const char *lang, const char *from,
                                 bool with_email)
{
    char claim[1024];
    snprintf(claim, sizeof claim,
             "{\"incident_description\": \"A pipe burst\", \"incident_datetime\": "
             "\"2024-10-07T15:00:00\", \"incident_location\": \"12 Mill Road\", \"injuries\": "
             "\"None\", \"involved_parties\": \"Me\", \"medical_records\": \"None\", "
             "\"policy_number\": \"PL4418820\", \"pre_existing_damages\": \"None\", "
             "\"witnesses\": \"None\", \"policyholder_name\": \"Ann Lee\", "
             "\"policyholder_phone\": \"+447700900123\"%s}",
             with_email ? ", \"policyholder_email\": \"ann@example.com\"" : "");
    return make_filled(s, lang, from, claim);
}

/* A group of digits said to correct a number noted: at the confirmation
 * ("the end is one two four, not three") and on a later turn ("me
 * equivoqué en un número: ..."), the place where the digits noted differ
 * by one; the number said whole again; nothing when no place or several
 * fit. */
static void test_digits_corrected_by_group(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said, *field, *value; /* value NULL: nothing changes */
    } cases[] = {
        {"en-GB", "Sorry, the end is one two four, not three.", "policyholder_phone",
         "+447700900124"},
        {"en-GB", "Oh, it's nine one one, not nine one two, in the middle.", "policyholder_phone",
         NULL},
        {"en-GB", "Sorry, it is zero seven seven zero zero, nine zero zero, one two five.",
         "policyholder_phone", "+447700900125"},
        {"fr-FR", "Non pardon, soixante-dix-sept, zéro zéro, neuf zéro zéro, pas neuf zéro un.",
         "policyholder_phone", NULL},
        {"fr-FR", "Ah pardon, c'est quatre quatre un, huit huit, trois zéro pour le contrat.",
         "policy_number", "PL4418830"},
        {"es-ES", "Me equivoqué en un grupo, es ocho ocho tres cero, no ocho ocho dos cero.",
         "policy_number", "PL4418830"},
        {"es-ES", "Perdone, son las cinco y diez, no las cinco y cuarto.", "policyholder_phone",
         NULL},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = claim_noted(s, cases[i].lang, "+447700900999", true);
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = set_value(r, cases[i].field);
        if (cases[i].value ? !v || strcmp(v, cases[i].value) != 0 : v != NULL) {
            print_error("\"%s\": %s = %s, expected %s\n", cases[i].said, cases[i].field,
                        v ? v : "(unset)", cases[i].value ? cases[i].value : "(unset)");
            bad++;
        }
        Ccai_offline_free(o);
    }
    /* on a later turn, the e-mail asked */
    Ccai_offline *o = claim_noted(s, "es-ES", "+447700900999", false);
    const Ccai_offline_reply *r =
        in(o, "Perdón, me equivoqué en un número: cuatro cuatro uno, ocho ocho, tres cero.");
    const char *v = set_value(r, "policy_number");
    if (!v || strcmp(v, "PL4418830") != 0) {
        print_error("later turn: policy_number = %s\n", v ? v : "(unset)");
        bad++;
    }
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* "This one" after a phone number said is that number, not the line the
 * caller calls from; said alone it is the caller's line. */
static void test_this_one_after_a_number(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said, *value;
    } cases[] = {
        {"fr-FR",
         "Zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit, celui-ci c'est "
         "mon portable perso.",
         "+33612345678"},
        {"fr-FR", "Celui-ci.", "+33699887766"},
        {"es-ES", "Seis uno dos, tres cuatro cinco, seis siete ocho, ese es el del trabajo.",
         "+34612345678"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *from = strncmp(cases[i].lang, "fr", 2) == 0 ? "+33699887766" : "+34699887766";
        Ccai_offline *o =
            make_filled(s, cases[i].lang, from,
                        "{\"incident_description\": \"A pipe burst\", "
                        "\"incident_datetime\": \"2024-10-07T15:00:00\", "
                        "\"incident_location\": \"12 Mill Road\", \"injuries\": "
                        "\"None\", \"involved_parties\": \"Me\", "
                        "\"medical_records\": \"None\", \"policy_number\": "
                        "\"PL4418820\", \"pre_existing_damages\": \"None\", "
                        "\"witnesses\": \"None\", \"policyholder_name\": \"Ann Lee\", "
                        "\"policyholder_email\": \"ann@example.com\"}");
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = set_value(r, "policyholder_phone");
        if (!v || strcmp(v, cases[i].value) != 0) {
            print_error("\"%s\": phone %s, expected %s\n", cases[i].said, v ? v : "(unset)",
                        cases[i].value);
            bad++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* To "may I have your full name?", words with an article, a pronoun or a
 * relative ([name.not] of the call's language) are no name: "The agent
 * who sold me the policy said so" names nobody; "Ella" is a name in an
 * English call though "ella" is a Spanish pronoun. */
static void test_no_name_from_a_sentence(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said, *value; /* NULL: no name */
    } cases[] = {
        {"en-US", "The broker who set it up told me to ring you.", NULL},
        {"en-US", "My husband deals with all that normally.", NULL},
        {"en-US", "ella martin", "Ella Martin"},
        {"es-ES", "Mi marido es el que lleva esas cosas.", NULL},
        {"fr-FR", "Mon mari s'occupe de tout ça d'habitude.", NULL},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_filled(s, cases[i].lang, NULL,
                                      "{\"incident_description\": \"A pipe burst\", "
                                      "\"incident_datetime\": \"2024-10-07T15:00:00\", "
                                      "\"incident_location\": \"12 Mill Road\", \"injuries\": "
                                      "\"None\", \"involved_parties\": \"Me\", "
                                      "\"medical_records\": \"None\", \"policy_number\": "
                                      "\"PL4418820\", \"pre_existing_damages\": \"None\", "
                                      "\"witnesses\": \"None\", \"policyholder_phone\": "
                                      "\"+447700900123\", \"policyholder_email\": "
                                      "\"ann@example.com\"}");
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = set_value(r, "policyholder_name");
        if (cases[i].value ? !v || strcmp(v, cases[i].value) != 0 : v != NULL) {
            print_error("\"%s\": name %s, expected %s\n", cases[i].said, v ? v : "(unset)",
                        cases[i].value ? cases[i].value : "(unset)");
            bad++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* "Je n'ai pas consulté." alone to the doctor asked alone is a no: the
 * don't-know "je n'ai pas" inside a longer no ([negation.lead]) is no
 * hedge that leaves the answer empty. */
static void test_longer_no_alone(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char *const nodoc[] = {"Je n'ai pas consulté.", "J'ai pas consulté.",
                                        "Je ne suis pas allée."};
    int bad = 0;
    for (size_t i = 0; i < sizeof nodoc / sizeof nodoc[0]; i++) {
        Ccai_offline *o = make_filled(
            s, "fr-FR", NULL,
            "{\"incident_description\": \"Choc arrière\", \"incident_datetime\": "
            "\"2024-10-05T12:00:00\", \"incident_location\": \"Lyon\", \"injuries\": \"Mal au "
            "dos\", \"involved_parties\": \"Moi\", \"policy_number\": \"PL4418820\", "
            "\"pre_existing_damages\": \"Aucun\", \"witnesses\": \"Aucun\", "
            "\"policyholder_name\": \"Ann Lee\", \"policyholder_phone\": \"+33612345678\", "
            "\"policyholder_email\": \"ann@example.com\"}");
        const Ccai_offline_reply *r = in(o, nodoc[i]);
        const char *v = set_value(r, "medical_records");
        if (!v || strcmp(v, "Aucun") != 0) {
            print_error("\"%s\": medical_records = %s\n", nodoc[i], v ? v : "(unset)");
            bad++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* "at the", "chez le" in a question are no at sign: to the phone and the
 * e-mail asked, "will someone come and look at the damage?" is a
 * question, not an address to spell; "arroba une punto net" stays one. */
static void test_at_the_is_no_at_sign(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said;
    } cases[] = {
        {"en-GB", "Will someone come and look at the damage? Do I get a copy by email?"},
        {"fr-FR", "Est-ce que l'expert passera chez moi ? Je recevrai le dossier par e-mail ?"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = claim_noted(s, cases[i].lang, NULL, false);
        const Ccai_offline_reply *r = in(o, cases[i].said);
        if (said(r, "spell") || said(r, "épeler") || set_value(r, "policyholder_email")) {
            print_error("\"%s\": taken as an address\n", cases[i].said);
            bad++;
        }
        Ccai_offline_free(o);
    }
    Ccai_offline *o = claim_noted(s, "es-CO", NULL, false);
    const char *v =
        set_value(in(o, "claudia punto rios arroba une punto net punto co"), "policyholder_email");
    if (!v || strcmp(v, "claudia.rios@une.net.co") != 0) {
        print_error("arroba une: %s\n", v ? v : "(unset)");
        bad++;
    }
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* The words noted as the place are no other field's: a place named by a
 * hospital or a clinic nearby, said to "when and where?", is no doctor
 * seen. */
static void test_place_by_a_hospital(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said;
    } cases[] = {
        {"en-GB", "Yesterday about six. On Mill Road, just past the Royal Infirmary hospital."},
        {"fr-FR", "Hier vers six heures. Rue Gambetta, juste à côté de l'hôpital Saint-Louis."},
        {"es-ES", "Ayer sobre las seis. En la calle Alcalá, al lado del hospital del Niño Jesús."},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o =
            make_filled(s, cases[i].lang, NULL, "{\"incident_description\": \"A van hit my car\"}");
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *loc = set_value(r, "incident_location");
        const char *med = set_value(r, "medical_records");
        if (!loc || med) {
            print_error("\"%s\": location %s, medical records %s\n", cases[i].said,
                        loc ? loc : "(unset)", med ? med : "(unset)");
            bad++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* A phone number said in groups of hundreds and tens as people in Latin
 * America say it: "tres veinte" is 3 then 20 (24 is "veinticuatro"), a
 * pause ends a number ("veinte, cuatro" is 20, 4). */
static void test_phone_in_spoken_groups(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *from, *said, *value;
    } cases[] = {
        {"es-CO", "+573001112233", "Tres quince, seis seis siete, ochenta y ocho, noventa y nueve.",
         "+573156678899"},
        {"es-CO", "+573001112233", "Es el tres diez, cinco cuarenta y dos, diez, treinta.",
         "+573105421030"},
        {"es-CO", "+573001112233", "Tres diez cinco cuarenta y dos diez treinta.", "+573105421030"},
        {"es-CO", "+573001112233", "Tres veinte, cuatro cinco seis, setenta y ocho, noventa.",
         "+573204567890"},
        {"es-CO", "+573001112233",
         "Tres treinta cuatro cincuenta y cinco sesenta y seis setenta y siete.", "+573304556677"},
        {"es-MX", "+525511112222",
         "Cincuenta y cinco, veinte, cuatro, treinta, sesenta y uno, ocho.", "+525520430618"},
        {"en-US", "+12125550100", "Six four six, five five five, twenty four, thirty nine.",
         "+16465552439"},
        /* Argentina: a mobile "area 15 local", a number without its 0 */
        {"es-AR", "+5491148001122", "Anotá: once quince, tres dos uno cero, nueve ocho siete seis.",
         "+5491132109876"},
        {"es-AR", "+5493414001122",
         "Cero tres cuatro uno, quince, cinco cuatro tres, dos uno cero nueve.", "+5493415432109"},
        {"es-AR", "+5492614001122", "Dos seis uno, cuatro tres dos, uno ocho siete seis.",
         "+542614321876"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o =
            make_filled(s, cases[i].lang, cases[i].from,
                        "{\"incident_datetime\": \"2024-10-07 15:00\", \"incident_description\": "
                        "\"x\", \"incident_location\": \"Cali\", \"injuries\": \"None\", "
                        "\"involved_parties\": \"me\", \"medical_records\": \"None\", "
                        "\"policy_number\": \"WA3301872\", \"pre_existing_damages\": \"None\", "
                        "\"witnesses\": \"None\", \"policyholder_name\": \"Ana Lee\", "
                        "\"policyholder_email\": \"ana@example.com\"}");
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = set_value(r, "policyholder_phone");
        if (!v || strcmp(v, cases[i].value) != 0) {
            print_error("\"%s\": phone %s, expected %s\n", cases[i].said, v ? v : "(unset)",
                        cases[i].value);
            bad++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* Roads by their number ("the A1", "l'A6", "la N-4"), with their junction,
 * exit or kilometre, corners of two streets and rural places (a hamlet, a
 * locality, a farm): where it happened, with every part the caller said. */
static void test_roads_and_corners(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    int bad = 0;
    static const struct {
        const char *lang, *text, *key1, *key2;
    } cases[] = {
        {"en-GB",
         "A stone flew up and cracked my windscreen on the A1 southbound, just after junction 34.",
         "A1", "34"},
        {"en-US", "Somebody rear-ended me on the I-94 near exit 210 on Monday.", "94", "210"},
        {"fr-FR", "Un camion m'a percuté sur l'A6, au niveau de la sortie 24, direction Paris.",
         "A6", "24"},
        {"fr-BE", "On a eu un accrochage sur la E411, juste avant la sortie de Wavre.", "E411",
         "Wavre"},
        {"es-MX", "Me chocaron por detrás en la carretera 57, a la altura del kilómetro 110.", "57",
         "110"},
        {"es-ES", "Un coche me dio por detrás en la A-3, pasado el kilómetro 20.", "A-3", "20"},
        {"en-IE", "A cyclist hit my wing mirror at the corner of Capel Street and Mary Street.",
         "Capel", "Mary"},
        {"fr-FR",
         "Un livreur a rayé ma voiture au coin de la rue Oberkampf et de la rue Saint-Maur.",
         "Oberkampf", "Saint-Maur"},
        {"es-AR",
         "Me rompieron el vidrio en la esquina de la calle Corrientes y la avenida Callao.",
         "Corrientes", "Callao"},
        /* rural places: a hamlet, a named locality, a farm */
        {"fr-BE", "La grêle a cassé la véranda, au hameau de Lavaux, près de Dinant.", "Lavaux",
         "Dinant"},
        {"es-CO", "Se cayó el techo del establo en la vereda El Salitre, en Guasca.", "Salitre",
         "Guasca"},
        {"en-IE",
         "The storm took the roof off the shed on the farm at Carrowmore, outside Ballina.",
         "Carrowmore", "Ballina"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_from(s, cases[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, cases[i].text);
        const char *v = set_value(r, "incident_location");
        if (!v || !strstr(v, cases[i].key1) || !strstr(v, cases[i].key2))
            bad++, print_error("\"%s\": location %s\n", cases[i].text, v ? v : "(unset)");
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* What happened, when, then the place said: the place noted has both key
 * words, and nothing else is noted on that turn. The errors found. */
static int place_noted_alone(const ccai_claim_schema *s, const char *lang, const char *what,
                             const char *when, const char *place, const char *key1,
                             const char *key2)
{
    int bad = 0;
    Ccai_offline *o = make_from(s, lang, NULL);
    (void)in(o, what);
    (void)in(o, when);
    const Ccai_offline_reply *r = in(o, place);
    const char *v = set_value(r, "incident_location");
    if (!v || !strstr(v, key1) || !strstr(v, key2))
        bad++, print_error("\"%s\": location %s\n", place, v ? v : "(unset)");
    for (size_t k = 0; k < r->n; k++)
        if (r->v[k].kind == CCAI_OFFLINE_SET_FIELD &&
            strcmp(r->v[k].field, "incident_location") != 0)
            bad++, print_error("\"%s\": %s = %s noted\n", place, r->v[k].field, r->v[k].text);
    Ccai_offline_free(o);
    return bad;
}

/* The place said again, in full, to the next question ("was anyone
 * hurt?") after a first answer that missed it (a bad line, a vague word)
 * or said less: it replaces the place noted and answers nothing else. */
static void test_place_said_to_the_next_question(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    int bad = 0;
    static const struct {
        const char *lang, *what, *when, *place, *key1, *key2;
    } cases[] = {
        {"en-US", "My neighbour's kid kicked a football through my front window.",
         "Sunday, around four in the afternoon. Sorry, you cut out, I'm on the bus.",
         "It was at my sister's house, 14 Maple Drive, Toledo.", "Maple", "Toledo"},
        {"fr-FR", "Un scooter a arraché mon rétroviseur.",
         "Hier vers midi. Allô ? Je suis dans le métro, ça capte mal.",
         "À l'angle du boulevard Voltaire et de la rue de Charonne, à Paris.", "Voltaire",
         "Charonne"},
        {"es-ES", "Me robaron la mochila.", "El lunes a las ocho de la mañana. Perdón, se corta.",
         "En la estación de Atocha, en Madrid, en el andén 5, esperando el tren.", "Atocha",
         "Madrid"},
        /* the road noted, then where along it, alone */
        {"en-GB", "A van clipped my wing mirror.", "This morning around ten. On the A38.",
         "A38, southbound, just after junction 5, near Bristol.", "junction 5", "Bristol"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        bad += place_noted_alone(s, cases[i].lang, cases[i].what, cases[i].when, cases[i].place,
                                 cases[i].key1, cases[i].key2);
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* To "when and where?": where the caller lives said beside the place
 * ([location.aside]) and a comment after it are not the place; the place's
 * number corrected on a later turn ("c'est le 36, pas le 63") replaces it
 * in the place noted, and that turn, its correction's words included, is
 * noted as nothing else. */
static void test_place_beside_where_i_live(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    int bad = 0;
    static const struct {
        const char *lang, *what, *when, *fix, *key, *not1, *not2;
    } cases[] = {
        {"en-GB", "Someone keyed my car.",
         "Tuesday around noon. At the Asda car park, 84 Pilgrim Street, Newcastle. I live out in "
         "Gosforth myself.",
         "Sorry, I said it wrong. It's 48, not 84.", "48 Pilgrim", "Gosforth", "84"},
        {"fr-FR", "Un arbre est tombé sur ma clôture.",
         "Jeudi vers dix heures. Au 63 rue des Peupliers, à Rennes. Nous, on habite à Brest, "
         "c'est la maison de ma sœur.",
         "Excusez, je me suis trompée : c'est le 36, pas le 63.", "36 rue des Peupliers", "Brest",
         "63"},
        {"es-ES", "Se me inundó el garaje.",
         "El lunes por la tarde, a eso de las cinco. En la calle Olmos 15, en Burgos. Yo vivo en "
         "Palencia, es la casa de mis padres.",
         "Perdone, se lo di mal: es Olmos 51, no 15.", "Olmos 51", "Palencia", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_from(s, cases[i].lang, NULL);
        (void)in(o, cases[i].what);
        const Ccai_offline_reply *r = in(o, cases[i].when);
        const char *v = set_value(r, "incident_location");
        if (!v || strstr(v, cases[i].not1))
            bad++, print_error("\"%s\": location %s\n", cases[i].when, v ? v : "(unset)");
        r = in(o, cases[i].fix);
        v = set_value(r, "incident_location");
        if (!v || !strstr(v, cases[i].key) || (cases[i].not2 && strstr(v, cases[i].not2)))
            bad++, print_error("\"%s\": location %s\n", cases[i].fix, v ? v : "(unset)");
        for (size_t k = 0; k < r->n; k++)
            if (r->v[k].kind == CCAI_OFFLINE_SET_FIELD &&
                strcmp(r->v[k].field, "incident_location") != 0)
                bad++, print_error("\"%s\": %s = %s noted\n", cases[i].fix, r->v[k].field,
                                   r->v[k].text);
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* An answer, then a correction of another field in the same turn ("Just
 * me and my brother. Oh, and I got the day wrong, ..."): the answer said
 * before the correction's sentence is noted. */
static void test_answer_before_a_correction(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    Ccai_offline *o = make_from(s, "en-US", NULL);
    (void)in(o, "A branch fell on my garage roof.");
    (void)in(o, "Saturday around three in the afternoon, at 9 Cedar Lane in Dayton.");
    (void)in(o, "No, nobody was hurt. Nothing was damaged before.");
    const Ccai_offline_reply *r = in(o, "Just me and my brother Sam. Nobody saw it. Oh, and the "
                                        "address, I got it wrong, it's 19, not 9.");
    const char *v = set_value(r, "involved_parties");
    assert_non_null(v);
    assert_non_null(strstr(v, "brother"));
    v = set_value(r, "incident_location");
    assert_non_null(v);
    assert_non_null(strstr(v, "19 Cedar"));
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* "At home" first, then the address on the next turn, to another question:
 * an address with no preposition, its flat's word and its numbers in words
 * ("Flat four stroke two Gorgie Road"), or an article before its number
 * ("Le 18 rue ..."), replaces the place, with what goes on with it (a
 * postcode, a town); a postcode said with it is no policy number. */
static void test_address_after_at_home(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    int bad = 0;
    static const struct {
        const char *lang, *what, *when, *place, *key1, *key2;
    } cases[] = {
        {"en-GB", "The bath overflowed and came through the ceiling.",
         "Last night around nine. At home.",
         "Flat four stroke two Gorgie Road, Edinburgh. E H 11, 2 R T.", "Gorgie", "11"},
        {"fr-CA", "Le toit coule dans la chambre.", "Hier soir vers neuf heures. Chez nous.",
         "Le 18 rue Champlain, à Gatineau. Code postal J 8 X, 3 R 2.", "18 rue Champlain",
         "Gatineau"},
        {"es-CL", "Se nos llovió la pieza.", "Anoche como a las nueve. En la casa.",
         "Pasaje Las Dalias 455, villa Los Robles, Maipú.", "Dalias 455", "Maipú"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        bad += place_noted_alone(s, cases[i].lang, cases[i].what, cases[i].when, cases[i].place,
                                 cases[i].key1, cases[i].key2);
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* To "when and where?", more of the story with no place in it (after a
 * question of the caller's) grows what happened and is not the place; what
 * is left of the day's sentence ("maybe") is no place either: the place is
 * asked again. */
static void test_story_said_to_where(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    int bad = 0;
    static const struct {
        const char *lang, *what, *story, *key, *when;
    } cases[] = {
        {"en-US", "Do you handle water claims? The dishwasher leaked.",
         "The hose split and the water soaked the floor and the cabinets.", "soaked",
         "Monday around six, maybe ten past."},
        {"fr-FR", "C'est pour un dégât des eaux, ça se déclare ici ?",
         "Le flexible du lave-vaisselle a lâché et l'eau a abîmé le parquet.", "parquet",
         "Lundi vers dix-huit heures, peut-être un peu après."},
        {"es-ES", "¿Esto es para siniestros de agua? Se rompió el lavavajillas.",
         "La manguera se rajó y el agua estropeó el suelo y los muebles.", "estropeó",
         "El lunes a eso de las seis, quizás un poco más."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_from(s, cases[i].lang, NULL);
        (void)in(o, cases[i].what);
        const Ccai_offline_reply *r = in(o, cases[i].story);
        const char *v = set_value(r, "incident_description");
        if (!v || !strstr(v, cases[i].key))
            bad++, print_error("\"%s\": description %s\n", cases[i].story, v ? v : "(unset)");
        if (set_value(r, "incident_location"))
            bad++, print_error("\"%s\": location %s\n", cases[i].story,
                               set_value(r, "incident_location"));
        r = in(o, cases[i].when);
        if (set_value(r, "incident_location"))
            bad++, print_error("\"%s\": location %s\n", cases[i].when,
                               set_value(r, "incident_location"));
        const char *f[4];
        bool time_only;
        size_t n = Ccai_offline_asking(o, f, 4, &time_only);
        bool asks = false;
        for (size_t k = 0; k < n; k++)
            asks = asks || strcmp(f[k], "incident_location") == 0;
        if (!asks)
            bad++, print_error("\"%s\": the place is not asked\n", cases[i].when);
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* A bad line and where the caller is while calling ("sorry, you're
 * cutting out, I'm on the train", "je vous entends mal, je suis dans le
 * métro", "no te escucho, estoy en el metro") answer nothing: not the
 * place asked, nor any other field. */
static void test_line_trouble_is_no_answer(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    int bad = 0;
    static const struct {
        const char *lang, *what, *when, *noise;
    } cases[] = {
        {"en-AU", "A shopping trolley rolled into my car door.",
         "Last Tuesday about nine. Sorry, you're cutting out, I'm on the train.", "train"},
        {"fr-CA", "Un vélo a rayé ma portière.",
         "Mardi dernier vers neuf heures. Allô ? Je vous entends mal, je suis dans le métro.",
         "métro"},
        {"es-MX", "Una bici me rayó la puerta del carro.",
         "El martes como a las nueve. Perdón, no te escucho, estoy en el metro.", "metro"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_from(s, cases[i].lang, NULL);
        (void)in(o, cases[i].what);
        const Ccai_offline_reply *r = in(o, cases[i].when);
        for (size_t k = 0; k < r->n; k++)
            if (r->v[k].kind == CCAI_OFFLINE_SET_FIELD && r->v[k].text &&
                strstr(r->v[k].text, cases[i].noise))
                bad++, print_error("\"%s\": %s = %s\n", cases[i].when, r->v[k].field, r->v[k].text);
        Ccai_offline_free(o);
    }
    /* in a story: the place, not the car the caller sits in */
    Ccai_offline *o = make_from(s, "en-GB", NULL);
    const Ccai_offline_reply *r =
        in(o, "Sorry, I'm in the car, you're breaking up. A van clipped my mirror on the A40 "
              "near Oxford this morning.");
    const char *v = set_value(r, "incident_location");
    if (!v || !strstr(v, "A40") || strstr(v, "I'm in"))
        bad++, print_error("location %s\n", v ? v : "(unset)");
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* A clock word with a capital inside a sentence is part of a name ("la
 * rue du Midi", "the Midnight Diner", "la calle Mediodía"): the place,
 * no hour. */
static void test_clock_word_in_a_name(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    int bad = 0;
    static const struct {
        const char *lang, *text, *key;
    } cases[] = {
        {"fr-FR", "Une branche est tombée sur ma voiture dans la rue du Midi, à Nîmes.", "Midi"},
        {"en-US", "Someone keyed my car outside the Midnight Diner on Fifth Avenue.", "Midnight"},
        {"es-ES", "Me rompieron la luna del coche en la calle Mediodía, en Madrid.", "Mediodía"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_from(s, cases[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, cases[i].text);
        const char *v = set_value(r, "incident_location");
        const char *d = set_value(r, "incident_datetime");
        if (!v || !strstr(v, cases[i].key) || d)
            bad++, print_error("\"%s\": location %s, date %s\n", cases[i].text, v ? v : "(unset)",
                               d ? d : "(unset)");
        Ccai_offline_free(o);
    }
    /* the hour said as a word, at a sentence's start too, or with a
     * capital after a comma or a lead: the hour, no name */
    static const struct {
        const char *lang, *text, *when;
    } hours[] = {
        {"fr-FR", "Hier. Midi et quart, devant la mairie.", "T12:15"},
        {"fr-FR", "Hier, oui, Midi pile.", "T12:00"},
        {"en-GB", "Yesterday, at Noon.", "T12:00"},
        {"es-MX", "Ayer, a eso de la Medianoche.", "T00:00"},
    };
    for (size_t i = 0; i < sizeof hours / sizeof hours[0]; i++) {
        Ccai_offline *o = make_from(s, hours[i].lang, NULL);
        (void)in(o, "Someone stole my bike.");
        const Ccai_offline_reply *r = in(o, hours[i].text);
        const char *d = set_value(r, "incident_datetime");
        if (!d || !strstr(d, hours[i].when))
            bad++, print_error("\"%s\": date %s\n", hours[i].text, d ? d : "(unset)");
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* French typed without accents: "a" before an article is "à" (the place
 * follows), before anything else the verb ("un livreur a rayé"). */
static void test_a_typed_without_accent(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    int bad = 0;
    static const struct {
        const char *text, *key; /* key NULL: no place */
    } cases[] = {
        {"On m'a vole mon sac a la gare de Lyon hier soir.", "gare"},
        {"On m'a embouti a l'entree du parking Carrefour.", "parking"},
        {"Le camion a recule dans ma voiture.", NULL},
        {"Un voisin a vu toute la scene.", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_from(s, "fr-FR", NULL);
        const Ccai_offline_reply *r = in(o, cases[i].text);
        const char *v = set_value(r, "incident_location");
        if (cases[i].key ? !v || !strstr(v, cases[i].key) : v != NULL)
            bad++, print_error("\"%s\": location %s\n", cases[i].text, v ? v : "(unset)");
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* The parts of the day said as diminutives in Latin America ("a la
 * nochecita", "a la tardecita", "a la mañanita"), with an hour of the
 * clock face: the hour on that side of noon. */
static void test_dayparts_as_diminutives(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    int bad = 0;
    static const struct {
        const char *lang, *text, *when;
    } cases[] = {
        {"es-AR", "Ayer a la nochecita, como a las nueve, me chocaron el auto estacionado.",
         "2024-10-07T21:00"},
        {"es-UY", "El domingo a la tardecita, tipo seis, se me inundó el patio.",
         "2024-10-06T18:00"},
        {"es-MX", "Hoy a la mañanita, como a las siete, se cayó la barda del vecino.",
         "2024-10-08T07:00"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_from(s, cases[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, cases[i].text);
        const char *d = set_value(r, "incident_datetime");
        if (!d || strncmp(d, cases[i].when, strlen(cases[i].when)) != 0)
            bad++, print_error("\"%s\": date %s\n", cases[i].text, d ? d : "(unset)");
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* Latin American addresses ("carrera 15 número 93-47", "calle 80 sur #
 * 20-11"): the house's number is part of the place, and no date nor time. */
/* An answer followed by a question that asks whether it will do ("would
 * that count?", "ça suffit ?", "¿le sirve?"), in the same sentence or the
 * next: the answer is noted, without the question, and no colleague is
 * promised. */
static void test_answer_then_does_it_count(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char story[] =
        "{\"incident_description\": \"A van reversed into my car\", "
        "\"incident_datetime\": \"2024-10-07T15:00:00\", \"incident_location\": \"4 Oak "
        "Lane, Leeds\", \"injuries\": \"None\", \"medical_records\": \"None\", "
        "\"pre_existing_damages\": \"None\"}";
    static const struct {
        const char *lang, *text, *witness, *absent;
    } cases[] = {
        {"en-AU",
         "Just me and the van driver. My brother-in-law was in the passenger seat and saw the "
         "whole thing, would that count?",
         "brother-in-law", "count"},
        {"en-US",
         "Me and the delivery guy. The lady across the street saw it from her porch. Is that "
         "enough?",
         "lady across the street", "enough"},
        {"fr-CA",
         "Moi et le chauffeur. Le concierge de l'immeuble a tout vu, est-ce que ça suffit ?",
         "concierge", "suffit"},
        {"es-MX", "Yo y el señor de la camioneta. El de la tienda de enfrente vio todo, ¿le sirve?",
         "tienda de enfrente", "sirve"},
        /* with what it would count as ([question.check.as]) */
        {"en-GB",
         "Me and the van driver. The postman saw it from the corner, would that count as "
         "proof?",
         "postman", "count"},
        {"fr-FR", "Moi et le chauffeur. Le facteur a tout vu du trottoir, ça compte comme preuve ?",
         "facteur", "compte"},
        {"es-ES", "Yo y el conductor. El cartero lo vio desde la esquina, ¿cuenta como prueba?",
         "cartero", "cuenta"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_filled(s, cases[i].lang, NULL, story);
        const Ccai_offline_reply *r = in(o, cases[i].text);
        const char *v = set_value(r, "witnesses");
        if (!v || !strstr(v, cases[i].witness) || strstr(v, cases[i].absent))
            fail_msg("\"%s\": witnesses = %s", cases[i].text, v ? v : "(unset)");
        assert_false(has(r, CCAI_OFFLINE_TRANSFER, NULL));
        assert_false(said(r, "colleague"));
        assert_asks(r);
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* The caller's number named by the phone it is ("this mobile", "ce
 * portable", "el número que le aparece"), asked or volunteered with the
 * phone's cue. */
static void test_caller_id_named_by_the_phone(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *from, *said;
    } cases[] = {
        {"en-NZ", "+64211234567", "Best to use this mobile, I always have it on me."},
        {"en-US", "+13125550176", "You can reach me on this cell anytime."},
        {"en-GB", "+447700900155", "The number that came up should be fine."},
        {"fr-BE", "+32470123456", "Vous pouvez me joindre sur ce portable."},
        {"fr-FR", "+33612345678", "Le numéro qui apparaît, c'est mon portable."},
        {"es-MX", "+525512345678", "Al número que le aparece, es mi celular."},
        {"es-ES", "+34654321987", "A este móvil, por favor."},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o =
            make_filled(s, cases[i].lang, cases[i].from,
                        "{\"incident_datetime\": \"2024-10-07 15:00\", \"incident_description\": "
                        "\"x\", \"incident_location\": \"Cali\", \"injuries\": \"None\", "
                        "\"involved_parties\": \"me\", \"medical_records\": \"None\", "
                        "\"policy_number\": \"WA3301872\", \"pre_existing_damages\": \"None\", "
                        "\"witnesses\": \"None\", \"policyholder_name\": \"Ana Lee\", "
                        "\"policyholder_email\": \"ana@example.com\"}");
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = set_value(r, "policyholder_phone");
        if (!v || strcmp(v, cases[i].from) != 0)
            fail_msg("\"%s\": phone %s, expected %s", cases[i].said, v ? v : "(unset)",
                     cases[i].from);
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* An answer whose every clause says the caller cannot tell now ("no clue,
 * you'd have to ask the front desk", "il faudrait que je regarde, je n'ai
 * pas mes papiers") gives no value and the field is not asked again at
 * once; in an answer to two questions only the field it is about is
 * skipped ("ni idea si alguien vio algo": the witnesses). */
static void test_cannot_tell_now(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char story[] =
        "{\"incident_description\": \"A pipe burst in the kitchen\", "
        "\"incident_datetime\": \"2024-10-07T15:00:00\", \"incident_location\": \"4 Oak "
        "Lane, Leeds\", \"injuries\": \"None\", \"medical_records\": \"None\", "
        "\"pre_existing_damages\": \"None\"";
    static const struct {
        const char *lang, *fill, *said, *field, *kept, *kept_value, *not_asked;
    } cases[] = {
        /* two questions, one answered, the other a don't-know */
        {"fr-CH", "}",
         "Mon mari et moi. Aucune idée pour les témoins, il faudrait demander au concierge.",
         "witnesses", "involved_parties", "Mon mari et moi", "vu ce qui"},
        {"en-US", "}",
         "Just me and the plumber. No clue if anyone saw, you'd have to ask the "
         "front desk.",
         "witnesses", "involved_parties", "Just me and the plumber", "see it happen"},
        {"en-IE", ", \"involved_parties\": \"me\", \"witnesses\": \"None\"}",
         "Aoife Brennan. I'd need to look it up, I don't have it in front of me.", "policy_number",
         "policyholder_name", "Aoife Brennan", "policy number"},
        {"es-AR", ", \"involved_parties\": \"yo\", \"witnesses\": \"Ninguno\"}",
         "Lucía Ferreyra. Tendría que buscarlo, no tengo la póliza acá.", "policy_number",
         "policyholder_name", "Lucía Ferreyra", "póliza"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char claim[640];
        snprintf(claim, sizeof claim, "%s%s", story, cases[i].fill);
        Ccai_offline *o = make_filled(s, cases[i].lang, NULL, claim);
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = set_value(r, cases[i].field);
        if (v)
            fail_msg("\"%s\": %s = %s", cases[i].said, cases[i].field, v);
        v = set_value(r, cases[i].kept);
        if (!v || strcmp(v, cases[i].kept_value) != 0)
            fail_msg("\"%s\": %s = %s", cases[i].said, cases[i].kept, v ? v : "(unset)");
        if (said(r, cases[i].not_asked))
            fail_msg("\"%s\": %s asked again at once", cases[i].said, cases[i].field);
        assert_asks(r);
        Ccai_offline_free(o);
    }
    /* one question, the other still asked: "ni idea si alguien vio algo"
     * after a question skips the witnesses, not who was involved */
    Ccai_offline *o = make_filled(s, "es-AR", NULL,
                                  "{\"incident_description\": \"x\", "
                                  "\"incident_datetime\": \"2024-10-07T15:00:00\", "
                                  "\"incident_location\": \"Rosario\", "
                                  "\"injuries\": \"Ninguno\", "
                                  "\"medical_records\": \"Ninguno\", "
                                  "\"pre_existing_damages\": \"Ninguno\"}");
    const Ccai_offline_reply *r =
        in(o, "¿Eso lo cubre la póliza? Ni idea si alguien vio algo, no presté atención.");
    assert_null(set_value(r, "witnesses"));
    if (!said(r, "implicado"))
        fail_msg("who was involved is not asked after a don't-know about the witnesses");
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* A no said by its noun or its verb ("pas de témoins", "I haven't been to
 * the GP", "no fui al médico"): the field's none. */
static void test_no_said_by_noun_or_verb(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *claim, *said, *field, *none;
    } cases[] = {
        {"en-GB",
         "{\"incident_description\": \"x\", \"incident_datetime\": \"2024-10-07T15:00:00\", "
         "\"incident_location\": \"Leeds\", \"injuries\": \"Sore neck\", "
         "\"pre_existing_damages\": \"None\"}",
         "I haven't been to the GP.", "medical_records", "None"},
        {"fr-BE",
         "{\"incident_description\": \"x\", \"incident_datetime\": \"2024-10-07T15:00:00\", "
         "\"incident_location\": \"Namur\", \"injuries\": \"Mal au cou\", "
         "\"pre_existing_damages\": \"Aucun\"}",
         "Je ne suis pas allée chez le médecin.", "medical_records", "Aucun"},
        {"es-ES",
         "{\"incident_description\": \"x\", \"incident_datetime\": \"2024-10-07T15:00:00\", "
         "\"incident_location\": \"Vigo\", \"injuries\": \"Me duele el cuello\", "
         "\"pre_existing_damages\": \"Ninguno\"}",
         "No fui al médico.", "medical_records", "Ninguno"},
        {"fr-FR",
         "{\"incident_description\": \"x\", \"incident_datetime\": \"2024-10-07T15:00:00\", "
         "\"incident_location\": \"Nantes\", \"injuries\": \"Aucun\", "
         "\"medical_records\": \"Aucun\", \"pre_existing_damages\": \"Aucun\"}",
         "Moi toute seule. Pas de témoins.", "witnesses", "Aucun"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_filled(s, cases[i].lang, NULL, cases[i].claim);
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = set_value(r, cases[i].field);
        if (!v || strcmp(v, cases[i].none) != 0)
            fail_msg("\"%s\": %s = %s", cases[i].said, cases[i].field, v ? v : "(unset)");
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

static void test_address_numbers_are_no_date(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said, *place, *when;
    } cases[] = {
        {"es-CO",
         "Se me inundó la cocina anoche a eso de las once, en la carrera 15 número 93-47, en "
         "Bogotá.",
         "93-47", "2024-10-07T23:00"},
        {"es-CO",
         "Me robaron la bicicleta ayer a las cinco de la tarde en la calle 80 sur # 20-11, en "
         "Medellín.",
         "20-11", "2024-10-07T17:00"},
        {"es-CO", "Se cayó el techo anoche como a las diez en la transversal 5 No. 12-30, Cali.",
         "12-30", "2024-10-07T22:00"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_from(s, cases[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = set_value(r, "incident_location");
        const char *d = set_value(r, "incident_datetime");
        if (!v || !strstr(v, cases[i].place) || !d ||
            strncmp(d, cases[i].when, strlen(cases[i].when)) != 0) {
            print_error("\"%s\": location %s, date %s\n", cases[i].said, v ? v : "(unset)",
                        d ? d : "(unset)");
            bad++;
        }
        Ccai_offline_free(o);
    }
    /* a town said first, the address in a later sentence: both */
    Ccai_offline *o = make_from(s, "es-AR", NULL);
    const Ccai_offline_reply *r =
        in(o, "Ayer cayó granizo acá en Rosario y me abolló todo el auto. Estaba en la calle, "
              "frente a casa, en Avenida Pellegrini 1250.");
    const char *v = set_value(r, "incident_location");
    if (!v || !strstr(v, "Pellegrini 1250") || !strstr(v, "Rosario")) {
        print_error("location %s\n", v ? v : "(unset)");
        bad++;
    }
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* "I already told you": the question is not asked again; the caller's
 * number is what the dialogue has for the phone. */
static void test_already_told(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *text, *said;
    } q[] = {
        {"en-GB", "I already told you!", "Sorry, you did."},
        {"fr-FR", "Mais je vous l'ai déjà dit !", "Pardon, vous me l'avez dit."},
        {"es-ES", "Ya se lo dije, hombre.", "Perdone, ya me lo dijo."},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        Ccai_offline *o = make_filled(
            s, q[i].lang, "+447700900312",
            "{\"incident_description\": \"x\", \"incident_datetime\": \"2024-10-07T15:00:00\", "
            "\"incident_location\": \"y\", \"injuries\": \"None\", \"medical_records\": \"None\", "
            "\"pre_existing_damages\": \"None\", \"involved_parties\": \"Me\", \"witnesses\": "
            "\"None\", \"policyholder_name\": \"Gary Hughes\", \"policy_number\": \"MT991047\"}");
        const char *f[4];
        bool time_only;
        assert_int_equal(Ccai_offline_asking(o, f, 4, &time_only), 2);
        const Ccai_offline_reply *r = in(o, q[i].text);
        if (!said(r, q[i].said))
            fail_msg("\"%s\": %s", q[i].text, r->n ? r->v[0].text : "");
        assert_string_equal(set_value(r, "policyholder_phone"), "+447700900312");
        assert_null(set_value(r, "policyholder_email"));
        /* the e-mail is not asked again: the summary comes */
        assert_int_equal(Ccai_offline_asking(o, f, 4, &time_only), 0);
        Ccai_offline_free(o);
    }
    /* an address cut off, its words taken for a question ("es que se
     * corta"): asked to spell once, then left to a colleague; never a
     * loop that ends with a transfer nobody asked for */
    {
        Ccai_offline *m = make_filled(
            s, "es-ES", "+34612349903",
            "{\"incident_description\": \"x\", \"incident_datetime\": \"2024-10-07T15:00:00\", "
            "\"incident_location\": \"y\", \"injuries\": \"Ninguno\", \"medical_records\": "
            "\"Ninguno\", \"pre_existing_damages\": \"Ninguno\", \"involved_parties\": \"Yo\", "
            "\"witnesses\": \"Ninguno\", \"policyholder_name\": \"Miguel Santos\", "
            "\"policy_number\": \"KL550218\"}");
        static const char cut[] =
            "Eh, es miguel, no, espere, arroba, es que se corta, arroba punto.";
        char first[160];
        snprintf(first, sizeof first, "Este número. %s", cut);
        const Ccai_offline_reply *r = in(m, first);
        assert_string_equal(set_value(r, "policyholder_phone"), "+34612349903");
        assert_true(said(r, "deletrearme el correo"));
        assert_false(said(r, "un compañero se pondrá en contacto con usted sobre eso"));
        r = in(m, cut);
        assert_true(said(r, "un compañero lo confirmará"));
        assert_false(has(r, CCAI_OFFLINE_TRANSFER, NULL));
        Ccai_offline_free(m);
    }
    /* said with the answer, it is no part of it */
    Ccai_offline *o = make_from(s, "en-GB", NULL);
    const Ccai_offline_reply *r = in(o, "I already told you. Somebody keyed my car.");
    assert_string_equal(set_value(r, "incident_description"), "Somebody keyed my car");
    Ccai_offline_free(o);
    ccai_claim_schema_unref(s);
}

/* Requests for a person in varied words (directly, indirectly, after
 * annoyance, as a question) are honoured; sentences that mention people
 * and ask for nobody are not. Said at the first question and at a later
 * one. */
static void test_person_asked_or_mentioned(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *text;
        bool transfer;
    } q[] = {
        {"en-GB", "Is there a real person there?", true},
        {"en-GB", "Is there an actual person I can talk to?", true},
        {"en-GB", "Can I talk to someone from your company?", true},
        {"en-GB", "I've had enough of this, just get me someone.", true},
        {"en-GB", "This is ridiculous, I want a human.", true},
        {"en-GB", "I'd like to speak to whoever handles claims.", true},
        {"en-GB", "Put me through to a colleague of yours, please.", true},
        {"en-GB", "Am I talking to a robot? I want a person.", true},
        {"en-GB", "Can you transfer me to an adviser?", true},
        {"en-GB", "Could I speak with somebody, please?", true},
        {"en-GB",
         "Look, I've been on hold for ages, is there any chance I could have a word with someone "
         "who deals with this sort of thing?",
         true},
        {"en-GB", "I had a word with someone at the garage about it.", false},
        {"en-GB", "Honestly, can I just speak to a real person?", true},
        {"en-GB", "I'm not doing this with a machine.", true},
        {"en-GB", "Get me your supervisor.", true},
        {"en-GB", "I want to make a complaint, put me through to a manager.", true},
        {"en-GB", "Could you connect me with an agent?", true},
        {"en-GB", "Can a human call me back?", true},
        {"en-GB", "Is there anybody there I can talk to?", true},
        {"fr-FR", "Je voudrais parler à un conseiller, s'il vous plaît.", true},
        {"fr-FR", "Y a-t-il un humain dans cette compagnie ?", true},
        {"fr-FR", "Je préfère avoir quelqu'un en ligne.", true},
        {"es-ES", "¿Puedo hablar con una persona?", true},
        {"es-ES", "Páseme con su supervisor.", true},
        {"es-ES", "Prefiero que me atienda un agente.", true},
        {"es-ES", "No quiero hablar con una máquina.", true},
        {"es-ES", "¿Hay alguien con quien pueda hablar?", true},
        {"en-GB", "The adjuster already came out on Monday.", false},
        {"en-GB", "Do you send somebody out to look at it?", false},
        {"en-GB", "A plumber's supposed to come out tomorrow.", false},
        {"en-GB", "The police officer asked to speak to the owner.", false},
        {"en-GB", "I need to report that someone broke in.", false},
        {"en-GB", "Someone from the council is coming to check the tree.", false},
        {"en-GB", "I'd like someone to come and assess the damage.", false},
        {"en-GB", "Can you send an adjuster?", false},
        {"en-GB", "Should I get someone to fix it first?", false},
        {"en-GB", "My husband spoke to one of your agents last week.", false},
        {"fr-FR", "Est-ce qu'un expert va passer chez moi ?", false},
        {"fr-FR", "Mon voisin a parlé avec un de vos agents.", false},
        {"fr-FR", "J'ai eu un conseiller au téléphone la semaine dernière.", false},
        {"fr-FR", "Il faut que quelqu'un vienne réparer la fuite.", false},
        {"es-ES", "La grúa ya se lo ha llevado.", false},
        {"es-ES", "¿Va a venir un perito a verlo?", false},
        {"es-ES", "Hablé con un agente suyo ayer.", false},
        {"es-ES", "El conserje dijo que iba a llamar a alguien.", false},
        {"fr-FR", "Je veux parler à quelqu'un de chez vous.", true},
        {"fr-FR", "Il y a quelqu'un de réel au bout du fil ?", true},
        {"fr-FR", "Passez-moi un conseiller s'il vous plaît.", true},
        {"fr-FR", "J'en ai marre, je veux parler à un humain.", true},
        {"fr-FR", "Vous pouvez me mettre en relation avec un conseiller ?", true},
        {"fr-FR", "Je préférerais parler à une vraie personne.", true},
        {"es-ES", "Pásame con alguien de verdad.", true},
        {"es-ES", "¿Hay alguna persona real ahí?", true},
        {"es-ES", "Quiero hablar con alguien de la compañía.", true},
        {"es-ES", "Ya me cansé, páseme con un agente.", true},
        {"es-ES", "¿Me comunica con un asesor?", true},
        {"es-ES", "Quisiera hablar con un humano, por favor.", true},
        {"en-GB", "Someone came to look at it yesterday.", false},
        {"en-GB", "A man from your company called me last week.", false},
        {"en-GB", "The other driver asked to speak to my insurer.", false},
        {"en-GB", "My neighbour talked to someone at your office.", false},
        {"en-GB", "The plumber said someone should come and check it.", false},
        {"en-GB", "I spoke to an agent last year about my policy.", false},
        {"fr-FR", "Un expert est déjà passé voir.", false},
        {"fr-FR", "Un monsieur de chez vous m'a appelé hier.", false},
        {"fr-FR", "L'autre conducteur a demandé à parler à mon assureur.", false},
        {"fr-FR", "Le plombier a dit que quelqu'un devait passer.", false},
        {"es-ES", "Alguien vino a verlo ayer.", false},
        {"es-ES", "Un señor de su compañía me llamó.", false},
        {"es-ES", "El otro conductor pidió hablar con mi aseguradora.", false},
        {"es-ES", "Mi vecino habló con alguien de su oficina.", false},
        {"en-GB", "My broker told me to call you.", false},
        {"en-GB", "The assessor from the council came round yesterday.", false},
        {"en-GB", "I rang my adviser first and she said to call you.", false},
        {"en-GB", "The caretaker let the plumber in.", false},
        {"en-GB", "A police officer took my statement.", false},
        {"en-GB", "Our letting agent saw it.", false},
        {"en-GB", "The agent at the garage said it's a write-off.", false},
        {"en-GB", "I want the person who did this to pay.", false},
        {"en-GB", "My adviser at the bank.", false},
        {"en-GB", "Just the estate agent.", false},
        {"en-GB", "Can I get a callback from an agent instead?", true},
        {"en-GB", "I'd like a callback from a person.", true},
        {"en-GB", "Is there a manager I can speak to?", true},
        {"en-GB", "Let me speak to your boss.", true},
        {"en-GB", "I want to speak to someone in charge.", true},
        {"en-GB", "Can you get someone to call me?", true},
        {"en-GB", "I'd prefer a real person, if that's OK.", true},
        {"en-GB", "Transfer me, please.", true},
        {"en-GB", "Give me a person.", true},
        {"en-US", "Can I get an actual human on the line?", true},
        {"en-US", "I'd rather deal with a person, to be honest.", true},
        {"en-US", "Could somebody from your team give me a call?", true},
        {"fr-FR", "Mon courtier m'a dit de vous appeler.", false},
        {"fr-FR", "L'expert doit passer demain.", false},
        {"fr-FR", "J'ai appelé mon conseiller bancaire.", false},
        {"fr-FR", "Le gardien a vu l'eau.", false},
        {"fr-FR", "Un agent de police est venu.", false},
        {"fr-FR", "Mon conseiller à la banque.", false},
        {"fr-FR", "Je veux être rappelé par un conseiller.", true},
        {"fr-FR", "Je peux avoir quelqu'un au téléphone ?", true},
        {"fr-FR", "Passez-moi votre responsable.", true},
        {"fr-FR", "J'aimerais mieux parler à un agent.", true},
        {"fr-FR", "Mettez-moi en ligne avec quelqu'un.", true},
        {"fr-FR", "Un conseiller peut me rappeler ?", true},
        {"fr-FR", "Je voudrais qu'un humain me rappelle.", true},
        {"fr-FR", "Vous pouvez pas me passer quelqu'un ?", true},
        {"es-ES", "Mi corredor me dijo que los llamara.", false},
        {"es-ES", "El perito vino ayer.", false},
        {"es-ES", "El portero vio todo.", false},
        {"es-ES", "Un agente de policía tomó nota.", false},
        {"es-ES", "Mi asesor del banco me lo recomendó.", false},
        {"es-ES", "¿Me puede atender una persona?", true},
        {"es-ES", "Quiero que me llame un asesor.", true},
        {"es-ES", "Pásame con tu jefe.", true},
        {"es-AR", "¿Me podés pasar con alguien?", true},
        {"es-ES", "Quiero hablar con el encargado.", true},
        {"es-ES", "¿Puede llamarme alguien?", true},
        {"es-ES", "Comuníqueme con un operador.", true},
        {"es-ES", "Necesito hablar con alguien de siniestros.", true},
        {"es-AR", "¿Me pasás con alguien?", true},
    };
    char bad[2048] = "";
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        for (int later = 0; later < 2; later++) {
            Ccai_offline *o = later ? make_filled(s, q[i].lang, NULL,
                                                  "{\"incident_description\": \"A pipe burst\", "
                                                  "\"incident_datetime\": \"2024-10-07T15:00:00\"}")
                                    : make_from(s, q[i].lang, NULL);
            const Ccai_offline_reply *r = in(o, q[i].text);
            if (has(r, CCAI_OFFLINE_TRANSFER, NULL) != q[i].transfer)
                snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n  %s (%s)", q[i].text,
                         later ? "later" : "first");
            Ccai_offline_free(o);
        }
    }
    if (bad[0])
        fail_msg("wrong:%s", bad);
    ccai_claim_schema_unref(s);
}

/* A request for a person taken back in the same breath is no transfer,
 * as an agent hears "no, forget it" after it; the request and the words
 * that take it back are no answer, the facts said after them are taken. A
 * question about the bot ("are you a real person?") is no request either;
 * a request said again after the withdrawal is one. */
static void test_person_request_taken_back(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *text;
        bool transfer;
        const char *field, *value; /* a value still taken, NULL: none */
    } q[] = {
        {"en-GB",
         "Could I speak to a supervisor? Oh, never mind. My email is ann dot lee at gmail dot com.",
         false, "policyholder_email", "ann.lee@gmail.com"},
        {"en-US",
         "I want to talk to an agent... no, forget it, it'll take ages. A tree fell on my car.",
         false, "incident_description", "A tree fell on my car"},
        {"en-US", "Put me through to someone. Actually, scratch that, let's carry on.", false, NULL,
         NULL},
        {"en-US", "Can I talk to a human? Never mind. No, actually, I do want to talk to a human.",
         true, NULL, NULL},
        {"en-US", "Are you a real person? My kitchen flooded last night.", false,
         "incident_description", "My kitchen flooded"},
        {"en-US", "Am I talking to a real person?", false, NULL, NULL},
        {"en-US", "Can I speak to an agent? It's fine to call me on this number.", true, NULL,
         NULL},
        {"fr-FR",
         "Je voudrais parler à un conseiller. Bon, non, oubliez, tant pis. Mon adresse c'est paul "
         "point roy arobase free point fr.",
         false, "policyholder_email", "paul.roy@free.fr"},
        {"fr-FR", "Vous êtes une vraie personne ? Ma cave a été inondée.", false,
         "incident_description", "Ma cave a été inondée"},
        {"fr-FR", "Passez-moi quelqu'un. Non, c'est bon, on continue.", false, NULL, NULL},
        {"es-ES",
         "¿Me pasa con un asesor? No, olvídelo, da igual. Mi correo es luis punto gil arroba "
         "gmail punto com.",
         false, "policyholder_email", "luis.gil@gmail.com"},
        {"es-AR", "¿Me pasa con alguien? Nah, dejá, dejá. Me chocaron el auto.", false,
         "incident_description", "Me chocaron el auto"},
        {"es-ES", "¿Eres una persona de verdad? Se me rompió una tubería.", false,
         "incident_description", "Se me rompió una tubería"},
    };
    char bad[4096] = "";
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        Ccai_offline *o = make_from(s, q[i].lang, NULL);
        const Ccai_offline_reply *r = in(o, q[i].text);
        const char *v = q[i].field ? set_value(r, q[i].field) : NULL;
        if (has(r, CCAI_OFFLINE_TRANSFER, NULL) != q[i].transfer ||
            (q[i].field && (!v || strcmp(v, q[i].value) != 0)))
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n  %s: %s", q[i].text,
                     v      ? v
                     : r->n ? r->v[r->n - 1].text
                            : "");
        /* neither the request nor its withdrawal asks anything */
        if (!q[i].transfer && said(r, "a colleague will follow up"))
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n  %s: answered as a question",
                     q[i].text);
        Ccai_offline_free(o);
    }
    if (bad[0])
        fail_msg("wrong:%s", bad);
    ccai_claim_schema_unref(s);
}

/* The phone asked, "can you call me back on this number?" gives the
 * caller's number: no question to answer, in any of its forms (a "?", a
 * clause after it that reads as its answer, "the one that comes up"). */
static void test_callback_on_this_number(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char *const filled =
        "{\"incident_description\": \"A pipe burst\", \"incident_datetime\": "
        "\"2024-10-07T15:00:00\", \"incident_location\": \"My kitchen\", \"injuries\": \"None\", "
        "\"involved_parties\": \"Me\", \"medical_records\": \"None\", \"policy_number\": "
        "\"AB123456\", \"pre_existing_damages\": \"None\", \"witnesses\": \"None\", "
        "\"policyholder_email\": \"ann@example.com\", \"policyholder_name\": \"Ann Lee\"}";
    static const struct {
        const char *lang, *from, *said;
    } q[] = {
        {"en-GB", "+447700900123", "Could you ring me back on this number, it's my work phone?"},
        {"en-US", "+14155550123", "Can you call me on this number, it's the landline."},
        {"fr-FR", "+33612345600", "Vous pouvez me joindre sur ce numéro, c'est mon portable."},
        {"fr-FR", "+33612345600", "Est-ce que vous pouvez me rappeler à ce numéro ?"},
        {"es-ES", "+34612345670", "¿Me puede llamar a este número? Es el del trabajo."},
        {"es-AR", "+5491155550000", "Mirá, el que te aparece ahí."},
    };
    char bad[2048] = "";
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        Ccai_offline *o = make_filled(s, q[i].lang, q[i].from, filled);
        const Ccai_offline_reply *r = in(o, q[i].said);
        const char *v = set_value(r, "policyholder_phone");
        if (!v || strcmp(v, q[i].from) != 0 || said(r, "colleague") || said(r, "conseiller") ||
            said(r, "compañero"))
            snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "\n  %s: %s", q[i].said,
                     v      ? v
                     : r->n ? r->v[r->n - 1].text
                            : "");
        Ccai_offline_free(o);
    }
    if (bad[0])
        fail_msg("wrong:%s", bad);
    ccai_claim_schema_unref(s);
}

/* A question instead of the answer, again and again: each is answered
 * (or left to a colleague) and counts as a try at the field; the third
 * puts the field off, the call goes on with the next question and is not
 * handed over. */
static void test_questions_instead_of_answers(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *question, *again;
    } q[] = {
        {"en-GB", "Will my premium go up?", "what happened"},
        {"fr-FR", "Est-ce que ma franchise va augmenter ?", "ce qui s'est passé"},
        {"es-ES", "¿Me van a subir la prima?", "qué ha pasado"},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        Ccai_offline *o = make_from(s, q[i].lang, NULL);
        const Ccai_offline_reply *r = NULL;
        for (int k = 0; k < 2; k++) {
            r = in(o, q[i].question);
            assert_true(said(r, q[i].again));
            assert_asks(r);
        }
        r = in(o, q[i].question);
        assert_false(has(r, CCAI_OFFLINE_TRANSFER, NULL));
        assert_false(said(r, q[i].again));
        assert_asks(r);
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* An address cut by a bad line or a slip, then its domain said again: the
 * at sign said again alone takes the part said before it ("... at hot...
 * you're breaking up, at hotmail dot com"), and a domain corrected after a
 * no replaces the one cut ("arobase free, non pardon, orange point fr"). */
static void test_email_domain_said_again(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said, *value;
    } cases[] = {
        {"en-GB", "tom dot price at hot... hello? can you hear me? at hotmail dot com",
         "tom.price@hotmail.com"},
        {"en-US", "sam dot reyes at yahoo, no, gmail dot com", "sam.reyes@gmail.com"},
        {"fr-FR", "julie point martin arobase free, non pardon, orange point fr",
         "julie.martin@orange.fr"},
        {"es-ES", "carlos punto vega arroba yah... ¿me oye? arroba outlook punto es",
         "carlos.vega@outlook.es"},
        {"es-MX", "carlos punto vega arroba yahoo, no, perdón, outlook punto es",
         "carlos.vega@outlook.es"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = email_asked(s, cases[i].lang);
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = set_value(r, "policyholder_email");
        if (!v || strcmp(v, cases[i].value) != 0) {
            print_error("\"%s\": e-mail %s, expected %s\n", cases[i].said, v ? v : "(unset)",
                        cases[i].value);
            bad++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* The phone given and the e-mail refused in the same answer, in words the
 * lists did not have: the e-mail is not asked again. A fact said again
 * ("like I said", "comme je vous disais", "como le decía") is no answer to
 * the question asked. */
static void test_refused_in_answer_and_said_again(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said;
    } refused[] = {
        {"en-GB", "This number. I'm no giving you my email."},
        {"fr-FR", "Ce numéro. Mon e-mail, je vous le donne pas."},
        {"es-ES", "Este mismo. El correo no te lo doy."},
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        Ccai_offline_params p = {
            .schema = s,
            .claim_json = "{\"incident_datetime\": \"2024-10-07T15:00:00\", "
                          "\"incident_description\": \"Car hit\", \"incident_location\": "
                          "\"Market Street\", \"injuries\": \"None\", \"involved_parties\": "
                          "\"Me\", \"medical_records\": \"None\", \"policy_number\": "
                          "\"AU404040\", \"pre_existing_damages\": \"None\", \"witnesses\": "
                          "\"None\", \"policyholder_name\": \"Chris Doyle\"}",
            .lang = refused[i].lang,
            .now_ms = NOW_MS,
            .caller_number = "+14155550144"};
        Ccai_offline *o = NULL;
        assert_int_equal(Ccai_offline_new(&p, &o), CCAI_OK);
        start(o, false);
        const char *fields[4];
        bool time_only;
        assert_int_equal(Ccai_offline_asking(o, fields, 4, &time_only), 2);
        const Ccai_offline_reply *r = in(o, refused[i].said);
        if (!set_value(r, "policyholder_phone"))
            fail_msg("\"%s\": no phone", refused[i].said);
        assert_null(set_value(r, "policyholder_email"));
        if (Ccai_offline_asking(o, fields, 4, &time_only) != 0)
            fail_msg("\"%s\": asked again", refused[i].said);
        Ccai_offline_free(o);
    }
    static const struct {
        const char *lang, *said;
    } again[] = {
        {"en-GB", "Like I said, yesterday around three in the afternoon."},
        {"fr-FR", "Comme je vous disais, hier vers 15h."},
        {"es-ES", "Como le decía, ayer sobre las tres de la tarde."},
    };
    for (size_t i = 0; i < sizeof again / sizeof again[0]; i++) {
        Ccai_offline *o =
            make(s, again[i].lang,
                 "{\"incident_datetime\": \"2024-10-07T15:00:00\", \"incident_description\": "
                 "\"Car hit\", \"incident_location\": \"Market Street\"}",
                 NULL);
        start(o, false);
        const Ccai_offline_reply *r = in(o, again[i].said);
        const char *v = set_value(r, "injuries");
        if (v)
            fail_msg("\"%s\": injuries = %s", again[i].said, v);
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* The name asked for and answered with words of people ([name.not]): the
 * caller tells again of the people of the claim, not of themself. That
 * field takes it and the name is asked again; a name said is still one. */
static void test_people_said_for_the_name(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char claim[] =
        "{\"incident_description\": \"A tree fell on my car\", \"incident_datetime\": "
        "\"2024-10-07T15:00:00\", \"incident_location\": \"Elm Street\", \"injuries\": \"None\", "
        "\"medical_records\": \"None\", \"involved_parties\": \"Me\", \"witnesses\": \"None\", "
        "\"pre_existing_damages\": \"None\", \"policy_number\": \"AB123456\", "
        "\"policyholder_phone\": \"+15555550100\", \"policyholder_email\": \"a@b.co\"}";
    static const struct {
        const char *lang, *text, *witness; /* NULL: no witness noted */
        const char *name;                  /* NULL: the name is not noted */
    } t[] = {
        {"en-US", "Actually it was my brother who saw them, not the lady next door.", "brother",
         NULL},
        {"fr-FR", "Ma voisine a tout vu en fait, madame Girard.", "Girard", NULL},
        {"es-ES", "Bueno, mi vecino lo vio todo, el señor Ramos.", "Ramos", NULL},
        {"fr-FR", "Non.", NULL, NULL},
        {"en-US", "Priya Shah.", NULL, "Priya Shah"},
        {"es-ES", "Lucía Fernández Ortega.", NULL, "Lucía Fernández Ortega"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        Ccai_offline *o = make_filled(s, t[i].lang, NULL, claim);
        const Ccai_offline_reply *r = in(o, t[i].text);
        const char *w = set_value(r, "witnesses");
        const char *n = set_value(r, "policyholder_name");
        if ((t[i].witness ? !w || !strstr(w, t[i].witness) : w != NULL) ||
            (t[i].name ? !n || strcmp(n, t[i].name) != 0 : n != NULL))
            fail_msg("\"%s\" (%s): witnesses = %s, name = %s", t[i].text, t[i].lang,
                     w ? w : "(unset)", n ? n : "(unset)");
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* Who was involved and who saw it, answered in several sentences: a
 * sentence that opens with "and" goes on with the one before; a none of
 * people ("nobody", "personne", "nadie") is not undone by an aside said
 * after it without the field's words. */
static void test_nobody_then_an_aside(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char claim[] =
        "{\"incident_description\": \"My shed was broken into\", \"incident_datetime\": "
        "\"2024-10-07T15:00:00\", \"incident_location\": \"Elm Street\", \"injuries\": \"None\", "
        "\"medical_records\": \"None\", \"pre_existing_damages\": \"None\", "
        "\"policy_number\": \"AB123456\", \"policyholder_name\": \"Ana Lima\", "
        "\"policyholder_phone\": \"+15555550100\", \"policyholder_email\": \"a@b.co\"}";
    static const struct {
        const char *lang, *text, *involved; /* a word of who was involved */
        bool witness_none;
    } t[] = {
        {"en-US",
         "My wife and me. And the burglars, whoever they were. No one at all. "
         "The police came the next morning.",
         "burglars", true},
        {"fr-FR", "Mon fils et moi. Personne. Il pleuvait à verse ce soir-là.", "fils", true},
        {"es-ES", "Mi hermana y yo. Y el repartidor. No, nadie. Los vecinos llegaron luego.",
         "repartidor", true},
        {"fr-FR", "Moi seule. Pas un rat dans la rue.", "seule", true},
        {"en-US", "Just me. My neighbour Carla saw it from her window.", "me", false},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        Ccai_offline *o = make_filled(s, t[i].lang, NULL, claim);
        const Ccai_offline_reply *r = in(o, t[i].text);
        const char *inv = set_value(r, "involved_parties");
        const char *w = set_value(r, "witnesses");
        bool none =
            w && (strcmp(w, "None") == 0 || strcmp(w, "Aucun") == 0 || strcmp(w, "Ninguno") == 0);
        if (!inv || !strstr(inv, t[i].involved) || !w || none != t[i].witness_none)
            fail_msg("\"%s\" (%s): involved = %s, witnesses = %s", t[i].text, t[i].lang,
                     inv ? inv : "(unset)", w ? w : "(unset)");
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* A no framed by a word that only frames it ([negation.adverb]: "honestly,
 * nobody", "franchement personne", "pues nadie") is a no; a no after the
 * answer to the other question asked is the witnesses'; "si no, ..." (if
 * not) takes nothing back; an adverb before a witness named is no no. */
static void test_no_framed_by_an_adverb(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char claim[] =
        "{\"incident_description\": \"My shed was broken into\", \"incident_datetime\": "
        "\"2024-10-07T15:00:00\", \"incident_location\": \"Elm Street\", \"injuries\": \"None\", "
        "\"medical_records\": \"None\", \"pre_existing_damages\": \"None\", "
        "\"policy_number\": \"AB123456\", \"policyholder_name\": \"Ana Lima\", "
        "\"policyholder_phone\": \"+15555550100\", \"policyholder_email\": \"a@b.co\"}";
    static const struct {
        const char *lang, *text, *involved; /* a word of who was involved */
        bool witness_none;
    } t[] = {
        {"en-US", "My brother and me. Honestly, nobody. It was pouring down.", "brother", true},
        {"en-GB", "Me and the delivery lad. Then no one, really, the lane was empty.", "delivery",
         true},
        {"fr-FR", "Ma fille et moi. Franchement personne, il faisait nuit.", "fille", true},
        {"fr-CA", "Moi pis mon chum. Ben alors personne. Tout le monde était couché.", "chum",
         true},
        {"es-ES", "Mi padre y yo. Pues nadie, era domingo por la mañana.", "padre", true},
        {"es-MX", "Yo y el vecino. Sinceramente no. Si no, se lo diría.", "vecino", true},
        {"en-US", "Me and the cyclist. Then my neighbour Jim came out and saw it.", "cyclist",
         false},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        Ccai_offline *o = make_filled(s, t[i].lang, NULL, claim);
        const Ccai_offline_reply *r = in(o, t[i].text);
        const char *inv = set_value(r, "involved_parties");
        const char *w = set_value(r, "witnesses");
        bool none =
            w && (strcmp(w, "None") == 0 || strcmp(w, "Aucun") == 0 || strcmp(w, "Ninguno") == 0);
        if (!inv || !strstr(inv, t[i].involved) || !w || none != t[i].witness_none)
            fail_msg("\"%s\" (%s): involved = %s, witnesses = %s", t[i].text, t[i].lang,
                     inv ? inv : "(unset)", w ? w : "(unset)");
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* The phone asked, the caller's number named then a yes ("this mobile,
 * yeah", "this cell, yes"): the phone cue in it is no echo of the
 * question, the caller's number is noted. */
static void test_this_mobile_yes(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char *const filled =
        "{\"incident_description\": \"A pipe burst\", \"incident_datetime\": "
        "\"2024-10-07T15:00:00\", \"incident_location\": \"My kitchen\", \"injuries\": \"None\", "
        "\"involved_parties\": \"Me\", \"medical_records\": \"None\", \"policy_number\": "
        "\"AB123456\", \"pre_existing_damages\": \"None\", \"witnesses\": \"None\", "
        "\"policyholder_email\": \"ann@example.com\", \"policyholder_name\": \"Ann Lee\"}";
    static const struct {
        const char *lang, *from, *said;
    } q[] = {
        {"en-GB", "+447700900123", "This mobile, yes."},
        {"en-US", "+14155550123", "Um, this cell, yeah, that's fine."},
    };
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        Ccai_offline *o = make_filled(s, q[i].lang, q[i].from, filled);
        const Ccai_offline_reply *r = in(o, q[i].said);
        const char *v = set_value(r, "policyholder_phone");
        if (!v || strcmp(v, q[i].from) != 0)
            fail_msg("\"%s\": phone = %s", q[i].said, v ? v : "(unset)");
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* Someone else's name is no name of the caller: a name cue after a
 * possessive ([name.other]: "the driver's name is", "his name's"), a
 * possessive itself ("it's Ronan's van"), a strong cue whose sentence ends
 * before any name ("ma femme et moi, c'est notre garage. Le toit ..."); a
 * name with particles after a greeting is the caller's. */
static void test_someone_elses_name(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const struct {
        const char *lang, *said, *value; /* NULL: no name */
    } cases[] = {
        {"en-GB",
         "A lorry reversed into my gate. The driver's name is Colin Walsh, he left "
         "his number.",
         NULL},
        {"en-US", "The kid next door broke my window, his name is Jayden Cole.", NULL},
        {"en-IE", "It's Ronan's van that hit my wall, the one from next door.", NULL},
        {"fr-FR", "Ma femme et moi, c'est notre garage. Le toit s'est effondré.", NULL},
        {"es-ES", "Se me inundó la cocina, su nombre es Lucía Prieto, la vecina de arriba.", NULL},
        {"en-GB", "Hi, my name is Colin Walsh, a lorry reversed into my gate.", "Colin Walsh"},
        /* particles of [name.particles] inside a name, kept in lower case */
        {"en-GB", "Hello, Saskia van den Heuvel here, my roof is leaking.",
         "Saskia van den Heuvel"},
        {"en-GB", "Hi there, Dafydd ap Gwilym speaking, a tree fell on my car.",
         "Dafydd ap Gwilym"},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Ccai_offline *o = make_filled(s, cases[i].lang, NULL, "{}");
        const Ccai_offline_reply *r = in(o, cases[i].said);
        const char *v = set_value(r, "policyholder_name");
        if (cases[i].value ? !v || strcmp(v, cases[i].value) != 0 : v != NULL) {
            print_error("\"%s\": name %s, expected %s\n", cases[i].said, v ? v : "(unset)",
                        cases[i].value ? cases[i].value : "(unset)");
            bad++;
        }
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
    assert_int_equal(bad, 0);
}

/* A nickname then the full name: the full name is noted. */
static void test_nickname_then_full_name(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char claim[] =
        "{\"incident_description\": \"My shed was broken into\", \"incident_datetime\": "
        "\"2024-10-07T15:00:00\", \"incident_location\": \"Elm Street\", \"injuries\": \"None\", "
        "\"medical_records\": \"None\", \"involved_parties\": \"Me\", \"witnesses\": \"None\", "
        "\"pre_existing_damages\": \"None\", \"policy_number\": \"AB123456\", "
        "\"policyholder_phone\": \"+15555550100\", \"policyholder_email\": \"a@b.co\"}";
    static const struct {
        const char *lang, *text, *name;
    } t[] = {
        {"en-GB", "Robbie. Robert Kilbride.", "Robert Kilbride"},
        {"en-GB", "It's Jonno here, well, Jonathan Pryce-Evans on the account.",
         "Jonathan Pryce-Evans"},
        {"fr-FR", "Fanfan, enfin, Françoise Delorme.", "Françoise Delorme"},
        {"es-MX", "Chuy, bueno, Jesús Alberto Ramírez.", "Jesús Alberto Ramírez"},
        {"en-GB", "Robert Kilbride.", "Robert Kilbride"},
        /* the given name said in full after: longer, same first letter */
        {"en-GB", "Rob Kilbride. Well, Robert, on paper.", "Robert Kilbride"},
        {"fr-FR", "Fred Morel. Frédéric.", "Frédéric Morel"},
        /* a shorter one is a nickname */
        {"es-ES", "Guillermo Sanz, Guille.", "Guillermo Sanz"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        Ccai_offline *o = make_filled(s, t[i].lang, NULL, claim);
        const Ccai_offline_reply *r = in(o, t[i].text);
        const char *n = set_value(r, "policyholder_name");
        if (!n || strcmp(n, t[i].name) != 0)
            fail_msg("\"%s\" (%s): name = %s", t[i].text, t[i].lang, n ? n : "(unset)");
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* The numbers of a place that look like a date (a street named after a
 * date, a flat's number) are no date: the weekday said is the day. */
static void test_place_numbers_like_dates(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char claim[] =
        "{\"incident_description\": \"My bike was stolen\", \"injuries\": \"None\", "
        "\"medical_records\": \"None\", \"involved_parties\": \"Me\", \"witnesses\": \"None\", "
        "\"pre_existing_damages\": \"None\", \"policy_number\": \"AB123456\", "
        "\"policyholder_name\": \"Ana Lima\", \"policyholder_phone\": \"+15555550100\", "
        "\"policyholder_email\": \"a@b.co\"}";
    static const struct {
        const char *lang, *text, *place;
    } t[] = {
        {"en-GB", "Saturday evening around nine, outside flat 3/1, 40 Byres Road, Glasgow.",
         "Byres Road"},
        {"en-GB", "Saturday around nine at night, at my apartment 6-11, 12 Harbour Street.",
         "Harbour Street"},
        {"fr-FR", "Samedi soir vers vingt et une heures, au 5 boulevard du 4 Septembre 1870.",
         "Septembre"},
        {"es-ES", "El sábado por la noche, sobre las nueve, en la avenida del 20 de Noviembre 31.",
         "Noviembre"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        Ccai_offline *o = make_filled(s, t[i].lang, NULL, claim);
        const Ccai_offline_reply *r = in(o, t[i].text);
        const char *d = set_value(r, "incident_datetime");
        const char *l = set_value(r, "incident_location");
        if (!d || strncmp(d, "2024-10-05T21:00", 16) != 0 || !l || !strstr(l, t[i].place))
            fail_msg("\"%s\" (%s): date = %s, place = %s", t[i].text, t[i].lang, d ? d : "(unset)",
                     l ? l : "(unset)");
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

/* The field's topic word negated is a none ("I wasn't injured, luckily",
 * "la grue est tombée, mais personne n'a été blessé"), not a none when the
 * contrast comes after it. */
static void test_topic_word_negated(void **state)
{
    (void)state;
    ccai_claim_schema *s = default_schema();
    static const char claim[] =
        "{\"incident_description\": \"A crane fell on my roof\", \"incident_datetime\": "
        "\"2024-10-07T15:00:00\", \"incident_location\": \"Elm Street\", "
        "\"medical_records\": \"None\", \"involved_parties\": \"Me\", \"witnesses\": \"None\", "
        "\"pre_existing_damages\": \"None\", \"policy_number\": \"AB123456\", "
        "\"policyholder_name\": \"Ana Lima\", \"policyholder_phone\": \"+15555550100\", "
        "\"policyholder_email\": \"a@b.co\"}";
    static const struct {
        const char *lang, *text;
        bool none;
    } t[] = {
        {"en-US", "I was not injured, luckily.", true},
        {"fr-FR", "Les pompiers sont venus, mais personne n'a été blessé.", true},
        {"es-ES", "Llegó la ambulancia, pero nadie salió herido.", true},
        {"en-US", "Nobody was hurt but my son has a bruise on his arm.", false},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        Ccai_offline *o = make_filled(s, t[i].lang, NULL, claim);
        const Ccai_offline_reply *r = in(o, t[i].text);
        const char *v = set_value(r, "injuries");
        bool none =
            v && (strcmp(v, "None") == 0 || strcmp(v, "Aucun") == 0 || strcmp(v, "Ninguno") == 0);
        if (!v || none != t[i].none)
            fail_msg("\"%s\" (%s): injuries = %s", t[i].text, t[i].lang, v ? v : "(unset)");
        Ccai_offline_free(o);
    }
    ccai_claim_schema_unref(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_english_dialogue),
        cmocka_unit_test(test_french_dialogue),
        cmocka_unit_test(test_spanish_dialogue),
        cmocka_unit_test(test_spoken_dates),
        cmocka_unit_test(test_date_then_time),
        cmocka_unit_test(test_invalid_answers),
        cmocka_unit_test(test_skip_and_come_back),
        cmocka_unit_test(test_transfer),
        cmocka_unit_test(test_goodbye_midway),
        cmocka_unit_test(test_repeat),
        cmocka_unit_test(test_language_switch),
        cmocka_unit_test(test_silence),
        cmocka_unit_test(test_resumed),
        cmocka_unit_test(test_custom_schema),
        cmocka_unit_test(test_determinism),
        cmocka_unit_test(test_out_of_memory),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_confirm_in_a_sentence),
        cmocka_unit_test(test_reasks_are_bounded),
        cmocka_unit_test(test_take_over),
        cmocka_unit_test(test_dates_in_callers_zone),
        cmocka_unit_test(test_volunteered_facts),
        cmocka_unit_test(test_already_only_when_noted),
        cmocka_unit_test(test_model_is_no_code),
        cmocka_unit_test(test_corrections),
        cmocka_unit_test(test_caller_id_and_spoken_forms),
        cmocka_unit_test(test_questions_and_person),
        cmocka_unit_test(test_person_asked_indirectly),
        cmocka_unit_test(test_question_back_unpunctuated),
        cmocka_unit_test(test_corrections_said_naturally),
        cmocka_unit_test(test_names_and_refusals),
        cmocka_unit_test(test_keywords_kept),
        cmocka_unit_test(test_report_sentences),
        cmocka_unit_test(test_questions_answered),
        cmocka_unit_test(test_language_is_a_file),
        cmocka_unit_test(test_slower),
        cmocka_unit_test(test_no_reask_of_facts_given),
        cmocka_unit_test(test_numbers_and_dates_are_a_file),
        cmocka_unit_test(test_nothing_left_to_note),
        cmocka_unit_test(test_person_after_small_talk),
        cmocka_unit_test(test_explicit_time_beats_part_of_day),
        cmocka_unit_test(test_question_and_answer_in_one_breath),
        cmocka_unit_test(test_answers_to_two_questions),
        cmocka_unit_test(test_already_told),
        cmocka_unit_test(test_not_a_place_nor_an_injury),
        cmocka_unit_test(test_person_asked_or_mentioned),
        cmocka_unit_test(test_person_request_taken_back),
        cmocka_unit_test(test_callback_on_this_number),
        cmocka_unit_test(test_questions_instead_of_answers),
        cmocka_unit_test(test_ordinals_dayparts_yes_no_are_a_file),
        cmocka_unit_test(test_natural_callers_batch5),
        cmocka_unit_test(test_natural_callers_hedges),
        cmocka_unit_test(test_natural_callers_days_and_digits),
        cmocka_unit_test(test_natural_callers_contacts),
        cmocka_unit_test(test_person_wanted_for_a_visit),
        cmocka_unit_test(test_details_announced),
        cmocka_unit_test(test_relative_days_and_minute_words),
        cmocka_unit_test(test_days_minutes_commands_are_a_file),
        cmocka_unit_test(test_places_named_and_corrected),
        cmocka_unit_test(test_places_as_people_say_them),
        cmocka_unit_test(test_roads_and_corners),
        cmocka_unit_test(test_place_said_to_the_next_question),
        cmocka_unit_test(test_place_beside_where_i_live),
        cmocka_unit_test(test_answer_before_a_correction),
        cmocka_unit_test(test_address_after_at_home),
        cmocka_unit_test(test_story_said_to_where),
        cmocka_unit_test(test_line_trouble_is_no_answer),
        cmocka_unit_test(test_clock_word_in_a_name),
        cmocka_unit_test(test_a_typed_without_accent),
        cmocka_unit_test(test_dayparts_as_diminutives),
        cmocka_unit_test(test_no_then_correction),
        cmocka_unit_test(test_code_spelled_after_its_cue),
        cmocka_unit_test(test_codes_in_words_to_999),
        cmocka_unit_test(test_questions_without_question_marks),
        cmocka_unit_test(test_correction_is_no_answer),
        cmocka_unit_test(test_claim_json_as_jansson_writes_it),
        cmocka_unit_test(test_person_after_a_story),
        cmocka_unit_test(test_part_of_day_asks_the_time),
        cmocka_unit_test(test_dates_as_people_say_them),
        cmocka_unit_test(test_dates_as_people_say_them_more),
        cmocka_unit_test(test_dates_found_visits_refined),
        cmocka_unit_test(test_dates_counts_not_hours),
        cmocka_unit_test(test_dates_day_ranges),
        cmocka_unit_test(test_dates_last_is_no_place),
        cmocka_unit_test(test_answer_then_day_corrected),
        cmocka_unit_test(test_yes_before_answer_no_name),
        cmocka_unit_test(test_call_purpose_is_no_fact),
        cmocka_unit_test(test_dontknow_said_many_ways),
        cmocka_unit_test(test_letters_by_name_and_echoed),
        cmocka_unit_test(test_email_noted_only_when_sure),
        cmocka_unit_test(test_email_spell_readback_correct),
        cmocka_unit_test(test_email_words_are_a_file),
        cmocka_unit_test(test_word_lists_are_a_file),
        cmocka_unit_test(test_email_said_spelled_named_joined),
        cmocka_unit_test(test_email_replaced_next_turn),
        cmocka_unit_test(test_description_starting_with_the_place),
        cmocka_unit_test(test_name_spelled_on_a_later_turn),
        cmocka_unit_test(test_damage_is_no_injury),
        cmocka_unit_test(test_email_part_restated),
        cmocka_unit_test(test_email_number_words_of_the_call),
        cmocka_unit_test(test_digits_corrected_by_group),
        cmocka_unit_test(test_this_one_after_a_number),
        cmocka_unit_test(test_no_name_from_a_sentence),
        cmocka_unit_test(test_longer_no_alone),
        cmocka_unit_test(test_at_the_is_no_at_sign),
        cmocka_unit_test(test_place_by_a_hospital),
        cmocka_unit_test(test_phone_in_spoken_groups),
        cmocka_unit_test(test_address_numbers_are_no_date),
        cmocka_unit_test(test_answer_then_does_it_count),
        cmocka_unit_test(test_caller_id_named_by_the_phone),
        cmocka_unit_test(test_cannot_tell_now),
        cmocka_unit_test(test_no_said_by_noun_or_verb),
        cmocka_unit_test(test_email_domain_said_again),
        cmocka_unit_test(test_refused_in_answer_and_said_again),
        cmocka_unit_test(test_people_said_for_the_name),
        cmocka_unit_test(test_nobody_then_an_aside),
        cmocka_unit_test(test_no_framed_by_an_adverb),
        cmocka_unit_test(test_this_mobile_yes),
        cmocka_unit_test(test_someone_elses_name),
        cmocka_unit_test(test_nickname_then_full_name),
        cmocka_unit_test(test_place_numbers_like_dates),
        cmocka_unit_test(test_topic_word_negated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
