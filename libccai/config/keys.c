/* The configuration keys: path, type, default, limits, description; finding
 * a key, and the name meant when it is misspelt. How a value of each type is
 * read from text or checked as JSON is keys_value.c. The table is one unit
 * (a key per line, in the order of data/config.sample.yaml): it stays
 * whole. */
#include "config/keys.h"

#include <stdio.h>
#include <string.h>

static const char *const llm_modes[] = {"none", "openai", "azure_openai", "openai_compatible",
                                        NULL};
static const char *const sms_modes[] = {"none", "twilio", "communication_services", "host", NULL};
static const char *const twilio_voices[] = {"gather", "stream", NULL};
static const char *const acs_voices[] = {"recognize", "stream", NULL};
static const char *const acs_audio_formats[] = {"pcm16kmono", "pcm24kmono", NULL};
static const char *const db_modes[] = {"sqlite", "postgresql", NULL};
static const char *const sync_modes[] = {"normal", "full", NULL};
static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const jailbreak_actions[] = {"refuse", "handover", "end", NULL};
static const char *const embed_modes[] = {"none", "openai", "azure_openai", "openai_compatible",
                                          NULL};
static const char *const llm_auths[] = {"auto", "api_key", "entra_id", NULL};
static const char *const api_styles[] = {"libccai", "call-center-ai", NULL};
static const char *const cache_modes[] = {"store", "memory", "redis", NULL};
static const char *const ivr_fallbacks[] = {"llm", "hangup", "transfer", NULL};
static const char *const twilio_amd_modes[] = {"detect_message_end", "enable", NULL};

/* voicemail.message: en, fr, es. */
#define VOICEMAIL_MESSAGE                                                                      \
    "{\"en\": \"Hello, this is {bot_name} from {bot_company}. We tried to reach you and will " \
    "call you back later. Goodbye.\", \"fr\": \"Bonjour, ici {bot_name} de {bot_company}. "    \
    "Nous avons essay\u00e9 de vous joindre et vous rappellerons plus tard. Au revoir.\", "    \
    "\"es\": \"Hola, soy {bot_name} de {bot_company}. Intentamos comunicarnos con usted y le " \
    "volveremos a llamar m\u00e1s tarde. Adi\u00f3s.\"}"

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
#define KIGNORED(p, why)                                 \
    {                                                    \
        p, CCAI_KEY_IGNORED, NULL, 0, 0, 0, 0, NULL, why \
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
        KE("llm." tier ".auth", "auto", llm_auths,                                               \
           "auto: api_key when set, else (azure_openai) Entra ID from the environment"),         \
        KS("llm." tier ".entra_scope", "https://cognitiveservices.azure.com/.default",           \
           "Entra ID: scope of the token asked for"),                                            \
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

    KI("callbacks.max_attempts", 3, 1, 20, "Dials of a callback before it is given up"),
    KI("callbacks.retry_delay_sec", 600, 1, 86400,
       "Wait before dialling an unanswered callback again (doubled each time)"),

    {"emergencies.targets", CCAI_KEY_TARGETS, "[]", 0, 0, 0, 0, NULL,
     "Who notify_emergencies alerts: [{sms: +E.164}, {webhook: https://...}]"},
    KSECRET("emergencies.webhook_secret", "Key of the alerts' X-Ccai-Signature (HMAC-SHA256)"),
    KI("emergencies.max_attempts", 20, 1, 1000, "Tries of an alert before it is given up"),
    KI("emergencies.retry_delay_sec", 5, 1, 300,
       "Wait before trying an alert again (doubled each time, at most 5 minutes)"),

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
    KE("communication_services.voice", "recognize", acs_voices,
       "ACS voice: recognize (Call Automation's play/recognize) or stream (bidirectional media "
       "streaming, libccai's STT/TTS)"),
    KE("communication_services.audio_format", "pcm16kmono", acs_audio_formats,
       "Stream mode: the media stream's audio, 16-bit mono PCM at 16 kHz (pcm16KMono) or 24 kHz "
       "(pcm24KMono), both ways"),

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
    KT("prompts.tts.welcome_back_tpl", "Said to a caller ringing back (reference v9)"),
    KT("prompts.tts.offline_take_over_tpl",
       "Said when the offline dialogue takes over from the LLM"),
    KT("prompts.tts.callback_tpl", "Said when a callback's callee answers ({about}: what for)"),
    KT("prompts.tts.jailbreak_refusal_tpl",
       "Said when the caller's words look like a jailbreak (guardrails.jailbreak_action: refuse)"),
    KS("prompts.sounds.loading_tpl", NULL, "Sound played while waiting"),
    KS("prompts.sounds.ready_tpl", NULL, "Sound played when ready to listen"),
    KB("prompts.translate", true,
       "Translate the fixed phrases with the LLM for a language other than en, fr, es "
       "(stored; English until ready); false: English"),

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
    KB("speech.vad_denoise", false,
       "speexdsp noise suppression before the voice detector (noisy lines)"),
    KB("speech.vad_agc", false, "speexdsp automatic gain control before the voice detector"),
    KI("speech.stt_result_timeout_ms", 5000, 100, 60000,
       "End of the caller's turn to the recogniser's words at most; then the next recogniser "
       "of the chain, or the caller was not understood"),
    KB("speech.early_start", false,
       "Start the LLM on the caller's words so far (partial results that stand while the "
       "caller is silent), its answer held until the final words match; see docs/media.md"),
    KI("speech.early_start_ms", 200, 20, 5000,
       "Early start: how long the partial words and the caller's silence must last"),
    KS("speech.recording_dir", NULL,
       "Where audio calls are recorded (both directions, a 2-channel WAV per call) when "
       "conversation.recording_enabled; default: beside the database"),

    /* Guardrails (engine/guardrails.c, guard/). */
    KB("guardrails.filter", true,
       "Local content filter: a bot sentence with a listed word is not said (nor stored)"),
    KB("guardrails.filter_caller", true,
       "The content filter on the caller's words too (the words are forgotten, the error "
       "phrase said)"),
    KB("guardrails.profanity", true, "The built-in profanity lists (en, fr, es)"),
    KT("guardrails.blocklist", "More words or phrases the filter blocks, any language"),
    KT("guardrails.competitors", "Competitor names the bot never says"),
    KB("guardrails.jailbreak", true,
       "Look for jailbreak attempts in the caller's words before the LLM sees them"),
    KE("guardrails.jailbreak_action", "refuse", jailbreak_actions,
       "On a jailbreak attempt (ours or the provider's): refuse politely and go on, hand over "
       "to the agent, or end the call"),

    /* IVR menus (engine/menu.c) and voicemail on outbound calls
     * (engine/voicemail.c, media/amd.c). */
    KS("ivr.start", NULL,
       "Menu offered to inbound calls when they connect (a name in ivr.menus); unset: none "
       "(the language menu when several languages and the channel offers menus)"),
    KI("ivr.retries", 2, 0, 10,
       "A menu is offered again this many times after silence or an answer that picks nothing"),
    KE("ivr.fallback", "llm", ivr_fallbacks,
       "Then, for a menu without its own fallback: the conversation, hang up, or transfer"),
    {"ivr.menus", CCAI_KEY_MENUS, "{}", 0, 0, 0, 0, NULL,
     "Menus by name: {prompt (text or by language), choices [{key, say, label, action, ...}], "
     "fallback}; see docs/ivr.md"},
    KB("voicemail.enabled", false,
       "Outbound calls answered by a machine: leave voicemail.message, hang up, try again"),
    {"voicemail.message", CCAI_KEY_BY_LANG, VOICEMAIL_MESSAGE, 0, 0, 0, 0, NULL,
     "The message left (a text, or texts by language; {bot_name}, {bot_company})"},
    KB("voicemail.detect", true,
       "Audio calls (SIP, Media Streams, ACS streaming, AudioSocket): libccai's own detector "
       "(a long greeting, a beep)"),
    KI("voicemail.greeting_ms", 3000, 1000, 20000,
       "Detector: an answer that speaks this long without a pause is a machine's greeting"),
    KI("voicemail.end_wait_sec", 30, 1, 300,
       "After a greeting, wait this long at most for the beep before leaving the message"),
    KI("voicemail.retry_delay_sec", 3600, 0, 604800,
       "Call again this long after a voicemail (a callback); 0: never"),
    KE("voicemail.twilio_machine_detection", "detect_message_end", twilio_amd_modes,
       "Twilio's answering-machine detection on outbound calls: wait for the greeting's end, "
       "or tell at once"),
    KB("voicemail.twilio_async_amd", false,
       "Twilio: detect while the call goes on (AsyncAmd) instead of before it starts"),

    KE("database.mode", "sqlite", db_modes, "Storage engine"),
    KS("database.sqlite.path", "ccai.sqlite", "SQLite database file"),
    KI("database.sqlite.busy_timeout_ms", 10, 0, 600000,
       "How long a write waits for a lock held by another process (on the event loop)"),
    KE("database.sqlite.synchronous", "normal", sync_modes,
       "normal: a commit survives a crash of the process (kill -9); full: also a power loss"),
    KB("database.sqlite.checkpoint_thread", false,
       "Copy the WAL into the database file (checkpoints, with their fsyncs) on a thread of the "
       "store's own, not on the event loop (docs/threading.md); ccai-server sets it"),
    KB("database.sqlite.group_commit", false,
       "Commit the writes of an event-loop turn together (one COMMIT, the engine acting after "
       "it) instead of each at once (docs/deployment.md, \"Group commit on SQLite\")"),
    KSECRET("database.postgresql.dsn",
            "libpq connection string or URI (database.mode postgresql); a secret: set it with "
            "DATABASE__POSTGRESQL__DSN"),
    KI("database.postgresql.statement_timeout_ms", 5000, 100, 600000,
       "Longest a statement may run (the server cancels it); the thread waits at most this + 1 s"),
    KI("database.postgresql.connect_timeout_ms", 5000, 100, 600000,
       "Longest a connection (or a reconnection) may take"),
    KB("database.postgresql.search_threads", false,
       "Read the documentation searches of a call on two threads of the context's own (their "
       "own connections), so that a slow or locked database never holds the event loop: the one "
       "thread libccai starts, when its host asks (docs/threading.md); ccai-server sets it"),
    KB("database.postgresql.pipeline", true,
       "Pipeline the writes on the event loop: a write returns once sent, the engine acts when "
       "its commit is confirmed (docs/deployment.md)"),

    /* The documentation search_document searches (libccai/rag/). */
    KS("documents.default_lang", "",
       "Language of an imported document that names none (front matter, <html lang>); empty: "
       "conversation.initiate.lang.default_short_code"),
    KI("documents.chunk_max_chars", 1500, 200, 100000, "Longest chunk, in bytes"),
    KI("documents.chunk_overlap_chars", 200, 0, 49999,
       "Bytes of a long section's previous chunk repeated at the start of the next"),
    KI("documents.top_n", 5, 1, 20, "Chunks a search gives the model at most"),
    KI("documents.cache_ttl_sec", 86400, 1, 31536000, "How long a question's ranking is cached"),
    KD("documents.min_similarity", 0.3, -1.0, 1.0,
       "Cosine below which a chunk is not found by its vector"),
    KE("documents.embeddings.mode", "none", embed_modes,
       "Embeddings for hybrid search; none: BM25 (full text) only"),
    KS("documents.embeddings.endpoint", NULL, "Base URL of the API; default: llm.fast.endpoint"),
    KSECRET("documents.embeddings.api_key", "API key; default: llm.fast.api_key"),
    KS("documents.embeddings.model", "text-embedding-3-small", "Embeddings model"),
    KS("documents.embeddings.deployment", NULL, "Azure OpenAI deployment; default: the model"),
    KS("documents.embeddings.api_version", "2024-10-21", "Azure OpenAI API version"),
    KI("documents.embeddings.dimensions", 0, 0, 8192, "Dimensions asked for; 0: the model's"),
    KI("documents.embeddings.batch", 16, 1, 256, "Chunks embedded per request"),
    KI("documents.embeddings.timeout_ms", 10000, 100, 600000, "One request, start to end"),
    KI("documents.embeddings.retries", 2, 0, 10, "Retries of a failed request"),

    KE("cache.mode", "store", cache_modes,
       "Query cache: store (the database; memory is read as store) or redis"),
    KS("cache.redis.host", "127.0.0.1", "Redis server (an address or a name in /etc/hosts)"),
    KI("cache.redis.port", 6379, 1, 65535, "Redis port"),
    KI("cache.redis.database", 0, 0, 1000, "Redis database number"),
    KSECRET("cache.redis.password", "Redis password (AUTH)"),
    KB("cache.redis.ssl", false, "TLS to Redis: not supported by this build (hiredis 0.14)"),
    KS("cache.redis.prefix", "ccai:", "Prefix of every key"),
    KI("cache.redis.timeout_ms", 1000, 10, 60000,
       "An answer later than this is a miss (the search goes on uncached)"),
    KIGNORED("cache.memory", "the query cache is the database or Redis (cache.mode)"),

    KS("server.listen", "127.0.0.1:8080", "HTTP server address:port"),
    KS("server.public_url", "", "Public base URL of the server"),
    KE("server.api_style", "libccai", api_styles,
       "Shapes of GET /call and the /report URLs: libccai's, or call-center-ai's (an array, 404 "
       "when empty; /report/{phone_number}); see docs/migrating.md"),
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
    KI("server.workers", 1, 0, 256,
       "ccai-server worker processes sharing server.listen (0: one per online CPU); each "
       "serves any webhook (the call leases hand it to the worker holding the call); "
       "stream-mode media WebSockets need 1 (docs/deployment.md)"),
    KI("server.store_wait_ms", 5000, 0, 60000,
       "How long a webhook or chat request waits for a locked database before 503"),
    KS("server.instance_id", "",
       "This instance's name in the call leases (several instances on one database); empty: "
       "<hostname>/<server.listen> (the same after a restart)"),
    KS("server.instance_url", "",
       "Base URL where the other instances reach this one (\"http://10.0.0.5:8080\"): a webhook "
       "of a call this instance holds is handed to it there; empty: the others wait for its "
       "lease to expire"),
    KI("server.call_lease_ms", 10000, 1000, 600000,
       "A call's lease: renewed every third of it while the call is live here; an instance "
       "that dies leaves its calls to the others this long after its last renewal"),

    KS("audiosocket.listen", "",
       "Asterisk AudioSocket listener address:port (\"127.0.0.1:9092\"); empty: none"),
    KS("audiosocket.allow", "",
       "Peers (addresses or CIDRs, comma-separated) that may connect to the AudioSocket "
       "listener; empty: loopback only"),

    KS("sip.listen", "",
       "SIP listener HOST:PORT, UDP and TCP (\"0.0.0.0:5060\"); empty: no SIP channel. Needs "
       "a context on libre's loop (ccai-server does it)"),
    KS("sip.transports", "udp,tcp", "SIP transports on sip.listen: udp, tcp or both"),
    KS("sip.tls_cert", "", "PEM file (certificate and key): SIP over TLS on sip.listen's port + 1"),
    KS("sip.allow", "",
       "Peers (addresses or CIDRs, comma-separated) whose INVITEs are taken; empty: loopback "
       "and private networks (10/8, 172.16/12, 192.168/16, fc00::/7, fe80::/10)"),
    KS("sip.auth_user", "",
       "Digest user callers must give (default sip.user) when "
       "sip.auth_password is set"),
    KSECRET("sip.auth_password", "Digest password asked of every caller; empty: none asked"),
    KS("sip.user", "bot", "The bot's SIP user: sip:bot@host"),
    KS("sip.trunk", "",
       "Outbound proxy for POST /call and transfers to a number (\"sip:pbx.example.com\"): "
       "sip:<number>@<its host>"),
    KS("sip.registrar", "", "REGISTER there (\"sip:pbx.example.com\") with sip.username"),
    KS("sip.username", "", "Digest user towards sip.trunk and sip.registrar"),
    KSECRET("sip.password", "Digest password towards sip.trunk and sip.registrar"),
    KS("sip.agent_uri", "",
       "Where a transfer goes (REFER; a phone that refuses REFER is bridged by the bot to a "
       "call placed there), \"sip:agent@pbx.example.com\"; empty: the agent's number at "
       "sip.trunk"),
    KS("sip.codecs", "PCMU,PCMA", "G.711 codecs offered and taken, in order of preference"),
    KS("sip.rtp_ports", "10000-20000", "UDP ports for RTP, LOW-HIGH"),
    KI("sip.rtp_timeout_sec", 30, 0, 3600,
       "No RTP from the peer for this long (not on hold): the call ends; 0: never"),

    KS("twilio.account_sid", NULL, "Twilio account SID"),
    KSECRET("twilio.auth_token", "Twilio auth token"),
    KS("twilio.phone_number", NULL, "Twilio number (E.164)"),
    KS("twilio.api_base_url", "https://api.twilio.com", "Twilio REST API base URL"),
    KE("twilio.voice", "gather", twilio_voices,
       "Twilio voice: gather (Twilio's <Say>/<Gather>) or stream (Media Streams, libccai's "
       "STT/TTS)"),

    KS("public_domain", NULL, "Public domain of the deployment (reference)"),
    KS("resources.public_url", NULL, "Public URL of static resources"),

    KE("log.level", "info", log_levels, "Log level"),

    KS("flags.file", "",
       "Feature flags file (YAML or JSON of flag keys) read again when it changes; empty: none"),
    KI("flags.poll_interval_sec", 5, 1, 60, "How often flags.file is checked for a change"),

    KS("tracing.otlp_endpoint", "",
       "OpenTelemetry collector (OTLP/HTTP, JSON), \"http://127.0.0.1:4318\": spans go to "
       "its /v1/traces; empty: no tracing"),
    KSECRET("tracing.headers",
            "Headers of the export requests, \"Name=value,Name2=value2\" (API keys)"),
    KD("tracing.sample_ratio", 1.0, 0.0, 1.0, "Share of calls traced"),
    KS("tracing.service_name", "ccai", "service.name of the spans' resource"),
    KI("tracing.batch_size", 512, 1, 10000, "Spans per export request at most"),
    KI("tracing.export_interval_ms", 2000, 10, 600000, "Wait before a batch that is not full goes"),
    KI("tracing.max_queue_spans", 4096, 1, 1000000,
       "Ended spans waiting for export at most; more are dropped and counted"),
    KI("tracing.timeout_ms", 10000, 100, 600000, "An export request's deadline"),

    /* The reference's v9 SQLite database (ccai-cli import reads it). */
    KS("reference.sqlite.database", ".local",
       "Reference v9: its database name; the file is <database>-v<schema_version>.sqlite"),
    KS("reference.sqlite.table", "calls", "Reference v9: its table of calls"),
    KI("reference.sqlite.schema_version", 3, 1, 1000, "Reference v9: its schema version"),

    KIGNORED("ai_search",
             "libccai searches its own documents (ccai-cli docs import, documents.*), not AI "
             "Search"),
    KIGNORED("ai_translation",
             "the LLM speaks the caller's language and libccai's phrases are written per language "
             "(prompts.tts.*), no translation service"),
    KIGNORED("app_configuration",
             "feature flags are keys of this file and of flags.file, changed at run time by the "
             "file, SIGHUP or PATCH /admin/flags"),
    KIGNORED("queue", "no Storage queues: events come on webhooks, post-call work is a job table"),
    KIGNORED("monitoring",
             "logs are JSON lines on standard error (log.level), metrics on GET /metrics, traces "
             "go to tracing.otlp_endpoint"),
    KIGNORED("version", "the version is the program's (ccai-server --version)"),
    KIGNORED("database.cosmos_db",
             "Cosmos DB is not supported: calls are kept in SQLite or PostgreSQL (database.mode; "
             "import the reference's with ccai-cli import)"),
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
