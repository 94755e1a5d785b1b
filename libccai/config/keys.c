/* The configuration keys: path, type, default, limits, description; and how
 * a value of each type is read from text or checked as JSON. */
#include "config/keys.h"
#include "core/json.h"

#include <errno.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const llm_modes[] = {"none", "openai", "azure_openai", "openai_compatible",
                                        NULL};
static const char *const sms_modes[] = {"none", "twilio", "communication_services", "host", NULL};
static const char *const db_modes[] = {"sqlite", NULL};
static const char *const sync_modes[] = {"normal", "full", NULL};
static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const field_types[] = {"text", "datetime", "email", "phone_number", NULL};

#define KS(p, d, doc)                                \
    {                                                \
        p, CCAI_KEY_STRING, d, 0, 0, 0, 0, NULL, doc \
    }
#define KSECRET(p, doc)                                 \
    {                                                   \
        p, CCAI_KEY_SECRET, NULL, 0, 0, 0, 0, NULL, doc \
    }
#define KI(p, d, lo, hi, doc)                        \
    {                                                \
        p, CCAI_KEY_INT, #d, lo, hi, 0, 0, NULL, doc \
    }
#define KD(p, d, lo, hi, doc)                           \
    {                                                   \
        p, CCAI_KEY_DOUBLE, #d, 0, 0, lo, hi, NULL, doc \
    }
#define KB(p, d, doc)                               \
    {                                               \
        p, CCAI_KEY_BOOL, #d, 0, 0, 0, 0, NULL, doc \
    }
#define KE(p, d, choices, doc)                        \
    {                                                 \
        p, CCAI_KEY_ENUM, d, 0, 0, 0, 0, choices, doc \
    }
#define KT(p, doc)                                     \
    {                                                  \
        p, CCAI_KEY_TEXTS, NULL, 0, 0, 0, 0, NULL, doc \
    }
#define KIGNORED(p)                                                                 \
    {                                                                               \
        p, CCAI_KEY_IGNORED, NULL, 0, 0, 0, 0, NULL, "ignored: not used by libccai" \
    }

/* One speech provider's settings (speech.stt.<name>.*, speech.tts.<name>.*). */
#define STT_KEYS(name)                                                            \
    KS("speech.stt." name ".endpoint", NULL, "Base URL of the provider"),         \
        KSECRET("speech.stt." name ".api_key", "API key"),                        \
        KS("speech.stt." name ".region", NULL, "Region of the resource (Azure)"), \
        KS("speech.stt." name ".model", NULL, "Model name"),                      \
        KS("speech.stt." name ".options", NULL, "Extra settings the provider documents")
#define TTS_KEYS(name)                                                                      \
    KS("speech.tts." name ".endpoint", NULL, "Base URL of the provider (espeak: program)"), \
        KSECRET("speech.tts." name ".api_key", "API key"),                                  \
        KS("speech.tts." name ".region", NULL, "Region of the resource (Azure)"),           \
        KS("speech.tts." name ".model", NULL, "Model name"),                                \
        KS("speech.tts." name ".voice", NULL, "Voice when the language names none"),        \
        KS("speech.tts." name ".options", NULL, "Extra settings the provider documents")

#define DEFAULT_TASK                                                                         \
    "Helpdesk agent for an insurance company. Help the customer file an insurance claim: "   \
    "understand what happened, collect every field of the claim, reassure the customer and " \
    "explain the next steps. Stay polite and concise."

#define DEFAULT_LANG                                                                    \
    "{\"default_short_code\": \"fr-FR\", \"availables\": ["                             \
    "{\"short_code\": \"fr-FR\", \"voice\": \"fr-FR-VivienneMultilingualNeural\", "     \
    "\"pronunciations_en\": [\"French\", \"FR\"]}, "                                    \
    "{\"short_code\": \"en-US\", \"voice\": \"en-US-ShimmerTurboMultilingualNeural\", " \
    "\"pronunciations_en\": [\"English\", \"EN\"]}, "                                   \
    "{\"short_code\": \"es-ES\", \"voice\": \"es-ES-ArabellaMultilingualNeural\", "     \
    "\"pronunciations_en\": [\"Spanish\", \"ES\"]}, "                                   \
    "{\"short_code\": \"zh-CN\", \"voice\": \"zh-CN-XiaoyuMultilingualNeural\", "       \
    "\"pronunciations_en\": [\"Chinese\", \"ZH\", \"China\"]}]}"

#define LLM_KEYS(tier, model)                                                                    \
    KE("llm." tier ".mode", "none", llm_modes,                                                   \
       "LLM API flavour; none disables the " tier " model"),                                     \
        KS("llm." tier ".endpoint", NULL, "Base URL of the API (https://....openai.azure.com)"), \
        KS("llm." tier ".model", model, "Model name"),                                           \
        KS("llm." tier ".deployment", NULL, "Azure OpenAI deployment name"),                     \
        KSECRET("llm." tier ".api_key", "API key"),                                              \
        KS("llm." tier ".api_version", "2024-10-21", "Azure OpenAI API version"),                \
        KI("llm." tier ".context", 128000, 256, INT64_MAX, "Context window, in tokens"),         \
        KI("llm." tier ".max_tokens", 160, 1, 1000000, "Most tokens of one answer"),             \
        KD("llm." tier ".temperature", 0.0, 0.0, 2.0, "Sampling temperature"),                   \
        KI("llm." tier ".seed", 42, 0, 2147483647, "Sampling seed"),                             \
        KI("llm." tier ".timeout_connect_ms", 3000, 1, 600000, "Connection timeout"),            \
        KI("llm." tier ".timeout_first_byte_ms", 10000, 1, 600000, "Wait for the first byte"),   \
        KI("llm." tier ".timeout_idle_ms", 5000, 1, 600000, "Longest pause inside a stream"),    \
        KI("llm." tier ".retries", 3, 0, 10, "Retries of a failed request")

static const Ccai_key keys[] = {
    KS("conversation.initiate.bot_name", "Amélie", "Name the bot introduces itself with"),
    KS("conversation.initiate.bot_company", "Contoso", "Company the bot works for"),
    KS("conversation.initiate.agent_phone_number", "+33612345678",
       "Human agent to transfer calls to (E.164)"),
    KS("conversation.initiate.task", DEFAULT_TASK, "What the bot is there for"),
    KD("conversation.initiate.prosody_rate", 1.0, 0.75, 1.25, "Speech rate"),
    {"conversation.initiate.claim", CCAI_KEY_CLAIM, "[]", 0, 0, 0, 0, NULL,
     "Claim fields [{name, type, description}]; [] is the default insurance schema"},
    {"conversation.initiate.lang", CCAI_KEY_LANG, DEFAULT_LANG, 0, 0, 0, 0, NULL,
     "Languages: default_short_code and availables [{short_code, voice, pronunciations_en}]"},
    KI("conversation.answer_hard_timeout_sec", 15, 1, 600, "Give up waiting for the LLM"),
    KI("conversation.answer_soft_timeout_sec", 4, 1, 600, "Say a waiting phrase after"),
    KI("conversation.phone_silence_timeout_sec", 20, 1, 3600, "Warn the caller after silence"),
    KI("conversation.callback_timeout_hour", 3, 0, 8760, "Resume window for callers; 0 = off"),
    KI("conversation.takeback_window_sec", 600, 1, 86400,
       "A call in progress with no sign of life for this long (its process died and no channel "
       "took it back) ends as interrupted"),
    KI("conversation.recognition_retry_max", 3, 1, 20, "Speech recognition attempts"),
    KI("conversation.recognition_stt_complete_timeout_ms", 100, 0, 60000,
       "Silence that ends an utterance"),
    KB("conversation.slow_llm_for_chat", false, "Use the slow LLM for the conversation"),
    KB("conversation.recording_enabled", false, "Record calls"),
    {"conversation.lexicon", CCAI_KEY_LEXICON, "[]", 0, 0, 0, 0, NULL,
     "Words text to speech says otherwise [{grapheme, alias, lang}] (GET /lexicon.xml)"},
    KI("conversation.max_llm_rounds", 3, 1, 50, "Tool-call rounds per answer"),
    KI("conversation.history_max_messages", 20, 1, 1000, "Messages sent to the LLM"),

    LLM_KEYS("fast", "gpt-4.1-nano"),
    LLM_KEYS("slow", "gpt-4.1"),

    KE("sms.mode", "none", sms_modes, "SMS provider"),
    KS("sms.twilio.account_sid", NULL, "Twilio account SID for SMS"),
    KSECRET("sms.twilio.auth_token", "Twilio auth token for SMS"),
    KS("sms.twilio.phone_number", NULL, "Twilio sender number for SMS (E.164)"),

    KSECRET("communication_services.access_key", "Azure Communication Services access key"),
    KS("communication_services.endpoint", NULL, "Azure Communication Services endpoint"),
    KS("communication_services.phone_number", "", "Number the bot answers on (E.164)"),
    KS("communication_services.recording_container_url", NULL, "Where recordings go"),
    KS("communication_services.resource_id", NULL,
       "Immutable resource id: the audience of Call Automation callback tokens"),
    KS("communication_services.cognitive_services_endpoint", NULL,
       "Azure AI services endpoint ACS uses for text to speech and recognition"),
    KS("communication_services.openid_config_url",
       "https://acscallautomation.communication.azure.com/calling/.well-known/"
       "acsopenidconfiguration",
       "Where the keys signing callbacks are published"),
    KSECRET("communication_services.event_grid_token",
            "When set, /acs/events requires ?token= with this value (put it in the "
            "subscription's URL)"),
    KS("communication_services.voice_effect", "eq_telecomhp8k",
       "SSML voice effect; empty for none"),
    KS("communication_services.lexicon_url", NULL, "SSML lexicon (PLS) URI"),
    KS("communication_services.fallback_voice", "en-US-AvaMultilingualNeural",
       "Voice for a language configured without one"),
    KI("communication_services.end_silence_timeout_ms", 1000, 0, 10000,
       "Silence that ends the caller's utterance"),

    KS("prompts.llm.default_system_tpl", NULL, "System prompt common to every LLM request"),
    KS("prompts.llm.chat_system_tpl", NULL, "System prompt of the conversation"),
    KS("prompts.llm.sms_summary_system_tpl", NULL, "System prompt of the SMS summary"),
    KS("prompts.llm.synthesis_system_tpl", NULL, "System prompt of the call synthesis"),
    KS("prompts.llm.next_system_tpl", NULL, "System prompt of the next-action choice"),
    KS("prompts.llm.citations_system_tpl", NULL, "System prompt of the citations pass"),
    KT("prompts.tts.hello_tpl", "Greeting"),
    KT("prompts.tts.goodbye_tpl", "Farewell"),
    KT("prompts.tts.error_tpl", "Said after an internal error"),
    KT("prompts.tts.timeout_silence_tpl", "Said after a long silence"),
    KT("prompts.tts.timeout_loading_tpl", "Said when the LLM is too slow"),
    KT("prompts.tts.ivr_language_tpl", "Language menu"),
    KT("prompts.tts.end_call_to_connect_agent_tpl", "Said before a transfer"),
    KT("prompts.tts.calltransfer_failure_tpl", "Said when a transfer failed"),
    KT("prompts.tts.connect_agent_tpl", "Said while connecting an agent"),
    KT("prompts.tts.offline_take_over_tpl",
       "Said when the offline dialogue takes over from the LLM"),
    KS("prompts.sounds.loading_tpl", NULL, "Sound played while waiting"),
    KS("prompts.sounds.ready_tpl", NULL, "Sound played when ready to listen"),

    /* Audio calls (libccai/voice/): the speech providers, tried in order
     * (a provider that fails mid-call hands over to the next: the offline
     * ones end every chain), and the caller's turn-taking. */
    KT("speech.stt.providers", "Speech-to-text providers in order (default [sphinx])"),
    KT("speech.tts.providers", "Text-to-speech providers in order (default [flite])"),
    STT_KEYS("deepgram"),
    STT_KEYS("openai"),
    STT_KEYS("openai-realtime"),
    STT_KEYS("azure"),
    STT_KEYS("sphinx"),
    TTS_KEYS("azure"),
    TTS_KEYS("openai"),
    TTS_KEYS("elevenlabs"),
    TTS_KEYS("flite"),
    TTS_KEYS("espeak"),
    KD("speech.vad_threshold", 0.05, 0.0, 10.0,
       "Voice activity: RMS level of speech on the reference's scale (threshold/10)"),
    KI("speech.vad_silence_timeout_ms", 500, 20, 60000, "Silence that ends the caller's turn"),
    KI("speech.vad_cutoff_timeout_ms", 250, 20, 60000,
       "Speech that interrupts the bot (barge-in) and starts a turn"),
    KI("speech.vad_min_speech_ms", 150, 0, 60000, "Voiced speech for a sound to count as a turn"),
    KS("speech.recording_dir", NULL,
       "Where audio calls are recorded (both directions, a 2-channel WAV per call) when "
       "conversation.recording_enabled; default: beside the database"),

    KE("database.mode", "sqlite", db_modes, "Storage engine"),
    KS("database.sqlite.path", "ccai.sqlite", "SQLite database file"),
    KI("database.sqlite.busy_timeout_ms", 10, 0, 600000,
       "How long a write waits for a lock held by another process (on the event loop)"),
    KE("database.sqlite.synchronous", "normal", sync_modes,
       "normal: a commit survives a crash of the process (kill -9); full: also a power loss"),

    KS("server.listen", "127.0.0.1:8080", "HTTP server address:port"),
    KS("server.public_url", "", "Public base URL of the server"),
    KSECRET("server.api_token", "Bearer token of the REST API"),
    KI("server.max_body_bytes", 1048576, 1024, 1073741824, "Largest request body"),
    KI("server.request_timeout_ms", 30000, 1, 3600000,
       "Longest a request waits for its answer (then 504)"),
    KI("server.max_connections", 1024, 1, 1000000,
       "Open connections at most; more are answered 503"),
    KI("server.max_header_bytes", 32768, 1024, 65536,
       "Largest request line and headers (then 431)"),
    KI("server.header_timeout_ms", 10000, 100, 600000,
       "Request line and headers must arrive within (then 408)"),
    KI("server.body_timeout_ms", 10000, 100, 600000,
       "Body must arrive within this, plus 1 s per server.min_body_rate bytes (then 408)"),
    KI("server.min_body_rate", 1024, 0, 1073741824,
       "Bytes per second a slow body must keep up (0: body_timeout_ms bounds the body)"),
    KI("server.idle_timeout_ms", 75000, 100, 3600000,
       "Keep-alive connection idle between requests, or a reader that stalls"),
    KI("server.max_chats", 1000, 1, 1000000,
       "Open HTTP chats (POST /chat) at most; one more gets 503"),
    KI("server.store_wait_ms", 5000, 0, 60000,
       "How long a webhook or chat request waits for a locked database before 503"),

    KS("twilio.account_sid", NULL, "Twilio account SID"),
    KSECRET("twilio.auth_token", "Twilio auth token"),
    KS("twilio.phone_number", NULL, "Twilio number (E.164)"),
    KS("twilio.api_base_url", "https://api.twilio.com", "Twilio REST API base URL"),

    KS("public_domain", NULL, "Public domain of the deployment (reference)"),
    KS("resources.public_url", NULL, "Public URL of static resources"),

    KE("log.level", "info", log_levels, "Log level"),

    KIGNORED("ai_search"),
    KIGNORED("ai_translation"),
    KIGNORED("cache"),
    KIGNORED("cognitive_service"),
    KIGNORED("app_configuration"),
    KIGNORED("queue"),
    KIGNORED("monitoring"),
    KIGNORED("version"),
    KIGNORED("database.cosmos_db"),
};

/* Values the reference accepts that libccai refuses with a pointer. */
static const struct {
    const char *path, *value, *msg;
} unsupported[] = {
    {"database.mode", "cosmos_db", "cosmos_db is not supported; use sqlite"},
};

size_t Ccai_keys_count(void)
{
    return CCAI_ARRAY_SIZE(keys);
}

const Ccai_key *Ccai_key_at(size_t index)
{
    return index < CCAI_ARRAY_SIZE(keys) ? &keys[index] : NULL;
}

const Ccai_key *Ccai_key_find(const char *path)
{
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(keys); i++)
        if (strcmp(keys[i].path, path) == 0)
            return &keys[i];
    return NULL;
}

bool Ccai_key_is_section(const char *path)
{
    size_t n = strlen(path);
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(keys); i++)
        if (strncmp(keys[i].path, path, n) == 0 && keys[i].path[n] == '.')
            return true;
    return false;
}

/* Optimal string alignment distance: a swap of neighbours costs one. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t rows[3][CCAI_KEY_PATH_MAX + 1];
    size_t *pp = rows[0], *p = rows[1], *c = rows[2];
    for (size_t j = 0; j <= lb; j++)
        p[j] = j;
    for (size_t i = 1; i <= la; i++) {
        c[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t v = p[j - 1] + cost;
            if (p[j] + 1 < v)
                v = p[j] + 1;
            if (c[j - 1] + 1 < v)
                v = c[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            c[j] = v;
        }
        size_t *t = pp;
        pp = p;
        p = c;
        c = t;
    }
    return p[lb];
}

bool Ccai_key_suggest(const char *path, char *out, size_t outlen)
{
    const char *dot = strrchr(path, '.');
    size_t plen = dot ? (size_t)(dot - path) : 0;
    const char *seg = dot ? dot + 1 : path;
    size_t slen = strlen(seg);
    if (slen == 0 || slen >= CCAI_KEY_PATH_MAX)
        return false;
    size_t limit = slen / 3 < 1 ? 1 : (slen / 3 > 2 ? 2 : slen / 3);
    size_t best = SIZE_MAX;
    const char *best_name = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(keys); i++) {
        const char *kp = keys[i].path;
        if (plen && (strncmp(kp, path, plen) != 0 || kp[plen] != '.'))
            continue;
        const char *cand = plen ? kp + plen + 1 : kp;
        const char *end = strchr(cand, '.');
        size_t clen = end ? (size_t)(end - cand) : strlen(cand);
        if (clen >= CCAI_KEY_PATH_MAX || clen > slen + limit || slen > clen + limit)
            continue;
        size_t d = edit_distance(seg, slen, cand, clen);
        if (d < best) {
            best = d;
            best_name = cand;
            best_len = clen;
        }
    }
    if (!best_name || best > limit)
        return false;
    int n = snprintf(out, outlen, "%.*s%s%.*s", (int)plen, path, plen ? "." : "", (int)best_len,
                     best_name);
    return n > 0 && (size_t)n < outlen;
}

/* Locale-independent double formatting: printf uses LC_NUMERIC. */
static void format_double(double v, char *out, size_t outlen)
{
    snprintf(out, outlen, "%g", v);
    const char *dp = localeconv()->decimal_point;
    if (dp && dp[0] && dp[0] != '.' && !dp[1]) {
        char *p = strchr(out, dp[0]);
        if (p)
            *p = '.';
    }
}

void Ccai_key_expected(const Ccai_key *k, char *out, size_t outlen)
{
    char lo[32], hi[32];
    switch (k->type) {
    case CCAI_KEY_STRING:
    case CCAI_KEY_SECRET: snprintf(out, outlen, "a string"); return;
    case CCAI_KEY_INT:
        if (k->imax == INT64_MAX)
            snprintf(out, outlen, "an integer >= %lld", (long long)k->imin);
        else
            snprintf(out, outlen, "an integer between %lld and %lld", (long long)k->imin,
                     (long long)k->imax);
        return;
    case CCAI_KEY_DOUBLE:
        format_double(k->dmin, lo, sizeof lo);
        format_double(k->dmax, hi, sizeof hi);
        snprintf(out, outlen, "a number between %s and %s", lo, hi);
        return;
    case CCAI_KEY_BOOL: snprintf(out, outlen, "a boolean (true/false, yes/no, on/off)"); return;
    case CCAI_KEY_ENUM: {
        size_t n = (size_t)snprintf(out, outlen, "one of");
        for (size_t i = 0; k->choices[i] && n < outlen; i++)
            n += (size_t)snprintf(out + n, outlen - n, "%s %s", i ? "," : "", k->choices[i]);
        return;
    }
    case CCAI_KEY_CLAIM:
        snprintf(out, outlen, "a list of fields {name, type, description}");
        return;
    case CCAI_KEY_LANG: snprintf(out, outlen, "a mapping {default_short_code, availables}"); return;
    case CCAI_KEY_TEXTS: snprintf(out, outlen, "a string or a list of strings"); return;
    case CCAI_KEY_LEXICON:
        snprintf(out, outlen, "a list of entries {grapheme, alias, lang}");
        return;
    case CCAI_KEY_IGNORED: snprintf(out, outlen, "anything"); return;
    }
    snprintf(out, outlen, "a value");
}

void Ccai_quote(const char *s, size_t len, char *out, size_t outlen)
{
    const size_t shown = 48;
    size_t o = 0;
    if (outlen < 16) {
        if (outlen)
            out[0] = '\0';
        return;
    }
    out[o++] = '"';
    size_t i = 0;
    for (; i < len && o + 8 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (i >= shown && (c & 0xC0) != 0x80)
            break;
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c < 0x20 || c == 0x7F) {
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02X", c);
        } else {
            out[o++] = (char)c;
        }
    }
    /* Cut on a character boundary. */
    while (i < len && o > 1 && ((unsigned char)s[i] & 0xC0) == 0x80) {
        i--;
        o--;
    }
    if (i < len && o + 4 < outlen) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o++] = '"';
    out[o] = '\0';
}

bool Ccai_text_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        size_t n;
        unsigned min;
        if (c < 0x80) {
            if (c == 0)
                return false;
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            min = 0x80;
            c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            min = 0x800;
            c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            min = 0x10000;
            c &= 0x07;
        } else {
            return false;
        }
        if (len - i - 1 < n)
            return false;
        for (size_t j = 1; j <= n; j++) {
            if ((p[i + j] & 0xC0) != 0x80)
                return false;
            c = (c << 6) | (p[i + j] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

static bool parse_int(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    unsigned base = 10;
    if (len - i > 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
        base = 16;
        i += 2;
    } else if (len - i > 2 && s[i] == '0' && (s[i + 1] == 'o' || s[i + 1] == 'O')) {
        base = 8;
        i += 2;
    }
    if (i == len)
        return false;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < len; i++) {
        int c = Ccai_to_lower((unsigned char)s[i]);
        unsigned d;
        if (Ccai_is_digit(c))
            d = (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = (unsigned)(c - 'a' + 10);
        else
            return false;
        if (d >= base || v > (limit - d) / base)
            return false;
        v = v * base + d;
    }
    *out = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    return true;
}

static bool parse_double(const char *s, size_t len, double *out)
{
    /* Check the syntax ourselves: strtod also takes hex, inf, nan and the
     * locale's decimal point. */
    size_t i = 0, digits = 0;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        i++;
    while (i < len && Ccai_is_digit((unsigned char)s[i]))
        i++, digits++;
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && Ccai_is_digit((unsigned char)s[i]))
            i++, digits++;
    }
    if (!digits)
        return false;
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '+' || s[i] == '-'))
            i++;
        size_t ed = 0;
        while (i < len && Ccai_is_digit((unsigned char)s[i]))
            i++, ed++;
        if (!ed)
            return false;
    }
    if (i != len || len >= 64)
        return false;
    char buf[64];
    memcpy(buf, s, len);
    buf[len] = '\0';
    const char *dp = localeconv()->decimal_point;
    char *dot = strchr(buf, '.');
    if (dot && dp && dp[0] && !dp[1])
        *dot = dp[0];
    errno = 0;
    char *end;
    double v = strtod(buf, &end);
    if (*end || errno == ERANGE)
        return false;
    *out = v;
    return true;
}

static bool parse_bool(const char *s, size_t len, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    char buf[8];
    if (len >= sizeof buf)
        return false;
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)Ccai_to_lower((unsigned char)s[i]);
    buf[len] = '\0';
    for (size_t i = 0; i < CCAI_ARRAY_SIZE(yes); i++) {
        if (strcmp(buf, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcmp(buf, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Report "expected <what>, got <value>"; secrets are never echoed. */
static Ccai_conv bad_value(const Ccai_key *k, const char *s, size_t len, char **ret_msg)
{
    char what[160], got[80];
    Ccai_key_expected(k, what, sizeof what);
    if (k->type == CCAI_KEY_SECRET)
        snprintf(got, sizeof got, "an invalid value");
    else
        Ccai_quote(s, len, got, sizeof got);
    *ret_msg = Ccai_asprintf("expected %s, got %s", what, got);
    return *ret_msg ? CCAI_CONV_BAD : CCAI_CONV_NOMEM;
}

static Ccai_conv bad(char **ret_msg, const char *fmt, ...) CCAI_PRINTF(2, 3);
static Ccai_conv bad(char **ret_msg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    *ret_msg = Ccai_vasprintf(fmt, ap);
    va_end(ap);
    return *ret_msg ? CCAI_CONV_BAD : CCAI_CONV_NOMEM;
}

/* Through core/json.c: jansson's own parser corrupts text under OOM. */
static Ccai_conv parse_json_text(const Ccai_key *k, const char *s, size_t len, json_t **ret,
                                 char **ret_msg)
{
    Ccai_json_err err = {0, 0, NULL};
    ccai_status st = CCAI_OK;
    json_t *v = Ccai_json_load(s, len, &err, &st);
    if (v) {
        *ret = v;
        return CCAI_CONV_OK;
    }
    if (st == CCAI_ERR_NOMEM)
        return CCAI_CONV_NOMEM;
    char what[160];
    Ccai_key_expected(k, what, sizeof what);
    return bad(ret_msg, "expected %s as JSON: %s at column %u", what,
               err.text ? err.text : "invalid JSON", err.column);
}

static Ccai_conv parse_json_value(const Ccai_key *k, const char *s, size_t len,
                                  const json_t *current, json_t **ret, char **ret_msg)
{
    json_t *v = NULL;
    Ccai_conv c = parse_json_text(k, s, len, &v, ret_msg);
    if (c != CCAI_CONV_OK)
        return c;
    c = Ccai_key_check_json(k, v, current, ret, ret_msg);
    json_decref(v);
    return c;
}

Ccai_conv Ccai_key_parse_text(const Ccai_key *k, const char *member, const char *s, size_t len,
                              const json_t *current, json_t **ret, char **ret_msg)
{
    *ret = NULL;
    *ret_msg = NULL;
    if (member) {
        /* One member of a lang map: build {member: value} and merge it. */
        if (k->type != CCAI_KEY_LANG)
            return bad(ret_msg, "has no member %s", member);
        json_t *mv = NULL;
        if (strcmp(member, "default_short_code") == 0) {
            if (!Ccai_text_valid(s, len))
                return bad(ret_msg, "default_short_code: not valid UTF-8 text");
            mv = json_stringn(s, len);
            if (!mv)
                return CCAI_CONV_NOMEM;
        } else if (strcmp(member, "availables") == 0) {
            Ccai_conv c = parse_json_text(k, s, len, &mv, ret_msg);
            if (c != CCAI_CONV_OK)
                return c;
        } else {
            return bad(ret_msg, "has no member %s", member);
        }
        json_t *obj = json_object();
        if (!obj || json_object_set_new(obj, member, mv) != 0) {
            if (!obj)
                json_decref(mv);
            json_decref(obj);
            return CCAI_CONV_NOMEM;
        }
        Ccai_conv c = Ccai_key_check_json(k, obj, current, ret, ret_msg);
        json_decref(obj);
        return c;
    }

    switch (k->type) {
    case CCAI_KEY_STRING:
    case CCAI_KEY_SECRET:
        if (!Ccai_text_valid(s, len))
            return bad(ret_msg, "expected a string of UTF-8 text without NUL characters");
        *ret = json_stringn(s, len);
        return *ret ? CCAI_CONV_OK : CCAI_CONV_NOMEM;
    case CCAI_KEY_INT: {
        int64_t v;
        if (!parse_int(s, len, &v) || v < k->imin || v > k->imax)
            return bad_value(k, s, len, ret_msg);
        *ret = json_integer((json_int_t)v);
        return *ret ? CCAI_CONV_OK : CCAI_CONV_NOMEM;
    }
    case CCAI_KEY_DOUBLE: {
        double v;
        if (!parse_double(s, len, &v) || !(v >= k->dmin && v <= k->dmax))
            return bad_value(k, s, len, ret_msg);
        *ret = json_real(v);
        return *ret ? CCAI_CONV_OK : CCAI_CONV_NOMEM;
    }
    case CCAI_KEY_BOOL: {
        bool v;
        if (!parse_bool(s, len, &v))
            return bad_value(k, s, len, ret_msg);
        *ret = json_boolean(v);
        return CCAI_CONV_OK;
    }
    case CCAI_KEY_ENUM:
        for (size_t i = 0; i < CCAI_ARRAY_SIZE(unsupported); i++)
            if (strcmp(k->path, unsupported[i].path) == 0 && strlen(unsupported[i].value) == len &&
                strncmp(unsupported[i].value, s, len) == 0)
                return bad(ret_msg, "%s", unsupported[i].msg);
        for (size_t i = 0; k->choices[i]; i++) {
            const char *c = k->choices[i];
            size_t j = 0;
            while (j < len && c[j] && Ccai_to_lower((unsigned char)s[j]) == c[j])
                j++;
            if (j == len && !c[j]) {
                *ret = json_string(c);
                return *ret ? CCAI_CONV_OK : CCAI_CONV_NOMEM;
            }
        }
        return bad_value(k, s, len, ret_msg);
    case CCAI_KEY_TEXTS: {
        size_t i = 0;
        while (i < len && Ccai_is_space((unsigned char)s[i]))
            i++;
        if (i < len && s[i] == '[')
            return parse_json_value(k, s, len, current, ret, ret_msg);
        if (!Ccai_text_valid(s, len))
            return bad(ret_msg, "expected a string of UTF-8 text without NUL characters");
        *ret = json_stringn(s, len);
        return *ret ? CCAI_CONV_OK : CCAI_CONV_NOMEM;
    }
    case CCAI_KEY_CLAIM:
    case CCAI_KEY_LANG:
    case CCAI_KEY_LEXICON: return parse_json_value(k, s, len, current, ret, ret_msg);
    case CCAI_KEY_IGNORED: break;
    }
    return bad(ret_msg, "cannot be set");
}

static bool is_identifier(const char *s)
{
    if (!(Ccai_is_alpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; s[i]; i++)
        if (!(Ccai_is_alpha((unsigned char)s[i]) || Ccai_is_digit((unsigned char)s[i]) ||
              s[i] == '_'))
            return false;
    return true;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "a mapping";
    case JSON_ARRAY: return "a list";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "a value";
}

static bool is_nonempty_string(const json_t *v)
{
    return json_is_string(v) && json_string_length(v) > 0;
}

static Ccai_conv check_claim(const json_t *v, char **ret_msg)
{
    if (!json_is_array(v))
        return bad(ret_msg, "expected a list of fields {name, type, description}, got %s",
                   json_kind(v));
    if (json_array_size(v) > CCAI_FIELDS_MAX)
        return bad(ret_msg, "too many fields (%zu, at most %d)", json_array_size(v),
                   CCAI_FIELDS_MAX);
    size_t i;
    json_t *f;
    json_array_foreach(v, i, f)
    {
        if (!json_is_object(f))
            return bad(ret_msg, "field %zu: expected a mapping {name, type, description}, got %s",
                       i + 1, json_kind(f));
        const char *mk;
        json_t *mv;
        json_object_foreach((json_t *)f, mk, mv)
        {
            if (strcmp(mk, "name") && strcmp(mk, "type") && strcmp(mk, "description")) {
                char q[80];
                Ccai_quote(mk, strlen(mk), q, sizeof q);
                return bad(ret_msg, "field %zu: unknown member %s (name, type, description)", i + 1,
                           q);
            }
        }
        const json_t *name = json_object_get(f, "name");
        const json_t *type = json_object_get(f, "type");
        const json_t *desc = json_object_get(f, "description");
        if (!json_is_string(name) || json_string_length(name) > CCAI_FIELD_NAME_MAX ||
            !is_identifier(json_string_value(name)))
            return bad(ret_msg,
                       "field %zu: name must be an identifier [A-Za-z_][A-Za-z0-9_]* of at most "
                       "%d characters",
                       i + 1, CCAI_FIELD_NAME_MAX);
        bool type_ok = false;
        for (size_t t = 0; json_is_string(type) && field_types[t]; t++)
            type_ok = type_ok || strcmp(json_string_value(type), field_types[t]) == 0;
        if (!type_ok)
            return bad(ret_msg,
                       "field %zu (%s): type must be one of text, datetime, email, phone_number",
                       i + 1, json_string_value(name));
        if (desc && !json_is_null(desc) &&
            (!json_is_string(desc) || json_string_length(desc) > CCAI_FIELD_DESCRIPTION_MAX))
            return bad(ret_msg, "field %zu (%s): description must be a string of at most %d bytes",
                       i + 1, json_string_value(name), CCAI_FIELD_DESCRIPTION_MAX);
        for (size_t j = 0; j < i; j++)
            if (json_equal(json_object_get(json_array_get(v, j), "name"), name))
                return bad(ret_msg, "field %zu: name %s is used twice", i + 1,
                           json_string_value(name));
    }
    return CCAI_CONV_OK;
}

/* conversation.lexicon: what text to speech says for a word (product
 * names...). Entries go into a PLS document (GET /lexicon.xml). */
static Ccai_conv check_lexicon(const json_t *v, char **ret_msg)
{
    if (!json_is_array(v))
        return bad(ret_msg, "expected a list of entries {grapheme, alias, lang}, got %s",
                   json_kind(v));
    if (json_array_size(v) > CCAI_LEXICON_MAX)
        return bad(ret_msg, "too many entries (%zu, at most %d)", json_array_size(v),
                   CCAI_LEXICON_MAX);
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        if (!json_is_object(e))
            return bad(ret_msg, "entry %zu: expected a mapping {grapheme, alias, lang}, got %s",
                       i + 1, json_kind(e));
        const char *mk;
        json_t *mv;
        json_object_foreach(e, mk, mv)
        {
            size_t max = strcmp(mk, "lang") == 0 ? 35 : CCAI_LEXICON_TEXT_MAX;
            if (strcmp(mk, "grapheme") && strcmp(mk, "alias") && strcmp(mk, "lang")) {
                char q[80];
                Ccai_quote(mk, strlen(mk), q, sizeof q);
                return bad(ret_msg, "entry %zu: unknown member %s (grapheme, alias, lang)", i + 1,
                           q);
            }
            if (!is_nonempty_string(mv) || json_string_length(mv) > max ||
                !Ccai_text_valid(json_string_value(mv), json_string_length(mv)))
                return bad(ret_msg, "entry %zu: %s must be text of 1 to %zu bytes", i + 1, mk, max);
        }
        if (!json_object_get(e, "grapheme") || !json_object_get(e, "alias"))
            return bad(ret_msg, "entry %zu: grapheme and alias are required", i + 1);
    }
    return CCAI_CONV_OK;
}

static Ccai_conv check_lang_entry(size_t i, const json_t *e, char **ret_msg)
{
    if (!json_is_object(e))
        return bad(ret_msg, "availables item %zu: expected a mapping {short_code, voice}, got %s",
                   i + 1, json_kind(e));
    const char *mk;
    json_t *mv;
    json_object_foreach((json_t *)e, mk, mv)
    {
        if (strcmp(mk, "short_code") == 0 || strcmp(mk, "voice") == 0) {
            if (!is_nonempty_string(mv))
                return bad(ret_msg, "availables item %zu: %s must be a non-empty string", i + 1,
                           mk);
        } else if (strcmp(mk, "custom_voice_endpoint_id") == 0) {
            if (!json_is_null(mv) && !json_is_string(mv))
                return bad(ret_msg, "availables item %zu: %s must be a string", i + 1, mk);
        } else if (strcmp(mk, "pronunciations_en") == 0) {
            size_t j;
            json_t *p;
            if (!json_is_array(mv))
                return bad(ret_msg, "availables item %zu: %s must be a list of strings", i + 1, mk);
            json_array_foreach(mv, j, p)
            {
                if (!json_is_string(p))
                    return bad(ret_msg, "availables item %zu: %s must be a list of strings", i + 1,
                               mk);
            }
        } else {
            char q[80];
            Ccai_quote(mk, strlen(mk), q, sizeof q);
            return bad(ret_msg,
                       "availables item %zu: unknown member %s (short_code, voice, "
                       "pronunciations_en, custom_voice_endpoint_id)",
                       i + 1, q);
        }
    }
    if (!json_object_get(e, "short_code") || !json_object_get(e, "voice"))
        return bad(ret_msg, "availables item %zu: short_code and voice are required", i + 1);
    return CCAI_CONV_OK;
}

static Ccai_conv check_lang(const json_t *v, const json_t *current, json_t **ret, char **ret_msg)
{
    if (!json_is_object(v))
        return bad(ret_msg, "expected a mapping {default_short_code, availables}, got %s",
                   json_kind(v));
    const char *mk;
    json_t *mv;
    json_object_foreach((json_t *)v, mk, mv)
    {
        if (strcmp(mk, "default_short_code") == 0) {
            if (!is_nonempty_string(mv))
                return bad(ret_msg, "default_short_code must be a non-empty string");
        } else if (strcmp(mk, "availables") == 0) {
            if (!json_is_array(mv) || json_array_size(mv) == 0 || json_array_size(mv) > 64)
                return bad(ret_msg, "availables must be a list of 1 to 64 languages");
            size_t i;
            json_t *e;
            json_array_foreach(mv, i, e)
            {
                Ccai_conv c = check_lang_entry(i, e, ret_msg);
                if (c != CCAI_CONV_OK)
                    return c;
            }
        } else {
            char q[80];
            Ccai_quote(mk, strlen(mk), q, sizeof q);
            return bad(ret_msg, "unknown member %s (default_short_code, availables)", q);
        }
    }
    json_t *merged = json_is_object(current) ? json_deep_copy(current) : json_object();
    if (!merged || json_object_update(merged, (json_t *)v) != 0) {
        json_decref(merged);
        return CCAI_CONV_NOMEM;
    }
    *ret = merged;
    return CCAI_CONV_OK;
}

Ccai_conv Ccai_key_check_json(const Ccai_key *k, const json_t *v, const json_t *current,
                              json_t **ret, char **ret_msg)
{
    *ret = NULL;
    *ret_msg = NULL;
    Ccai_conv c = CCAI_CONV_OK;
    switch (k->type) {
    case CCAI_KEY_CLAIM: c = check_claim(v, ret_msg); break;
    case CCAI_KEY_LEXICON: c = check_lexicon(v, ret_msg); break;
    case CCAI_KEY_LANG: return check_lang(v, current, ret, ret_msg);
    case CCAI_KEY_TEXTS:
        if (json_is_array(v)) {
            size_t i;
            json_t *e;
            json_array_foreach(v, i, e)
            {
                if (!json_is_string(e))
                    return bad(ret_msg, "item %zu: expected a string, got %s", i + 1, json_kind(e));
            }
        } else if (!json_is_string(v)) {
            return bad(ret_msg, "expected a string or a list of strings, got %s", json_kind(v));
        }
        break;
    default: return bad(ret_msg, "expected a scalar, got %s", json_kind(v));
    }
    if (c == CCAI_CONV_OK)
        *ret = json_incref((json_t *)v);
    return c;
}

Ccai_conv Ccai_key_default(const Ccai_key *k, json_t **ret)
{
    *ret = NULL;
    if (!k->def)
        return CCAI_CONV_OK;
    char *msg = NULL;
    Ccai_conv c = Ccai_key_parse_text(k, NULL, k->def, strlen(k->def), NULL, ret, &msg);
    /* The table's defaults are checked by the unit tests; a bad one is a bug. */
    ccai_free(msg);
    return c == CCAI_CONV_BAD ? CCAI_CONV_OK : c;
}

void Ccai_key_format(const json_t *v, char *out, size_t outlen)
{
    if (json_is_integer(v))
        snprintf(out, outlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        format_double(json_real_value(v), out, outlen);
    else if (json_is_boolean(v))
        snprintf(out, outlen, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_string(v))
        snprintf(out, outlen, "%s", json_string_value(v));
    else if (outlen)
        out[0] = '\0';
}
