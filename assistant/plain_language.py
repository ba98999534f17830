"""Plain-language lint for everything Sotong says: Rasa responses, catalog texts and the
gateway's own texts, in both languages.

Rules (from easy-read practice for Korean and English public information):
- a Korean sentence is at most ``MAX_KO_SENTENCE_CHARS`` characters, an English one at
  most ``MAX_EN_SENTENCE_WORDS`` words;
- a service's short form (SMS and voice) fits ``MAX_SHORT_SEGMENTS`` SMS segments;
- a Rasa response fits ``MAX_RESPONSE_SEGMENTS`` SMS segments;
- a text never asks the citizen to send one of the words carriers reserve (Twilio:
  STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, START, UNSTOP, YES, HELP, INFO) for
  anything but what the carrier does with it: "To cancel, send CANCEL" unsubscribes the
  number from every message instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from assistant.catalog import Catalog, Localized, load_catalog
from assistant.config import PROJECT_DIR

MAX_KO_SENTENCE_CHARS = 50
MAX_EN_SENTENCE_WORDS = 20
MAX_SHORT_SEGMENTS = 2
MAX_RESPONSE_SEGMENTS = 3

DOMAIN_DIR = PROJECT_DIR / "nlu" / "domain"

_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
# GSM 03.38 basic character set (plus the space); anything else forces UCS-2.
_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENDED = set("^{}\\[~]|€")

# The message a text asks the citizen to send: quoted ("send 'cancel request'") or
# written in capitals ("reply STOP", "send CANCEL REQUEST").
_ASKED_TO_SEND = re.compile(
    r"\b(?:[Ss]end|[Rr]eply|[Tt]ext|[Tt]ype|[Ww]rite)\s+(?:us\s+)?"
    r"(?:[\"'“‘]([^\"'”’]+)[\"'”’]|([A-Z]{2,}(?:\s+[A-Z]{2,})*)\b)"
)
# Words carriers act on by themselves (Twilio's reserved keywords).
CARRIER_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
    | {"START", "UNSTOP", "YES", "HELP", "INFO"}
)
# The words a text may ask for, each with a word its sentence must use to show that it
# means what the carrier does ("To stop, reply STOP."); every other one is refused.
_CARRIER_MEANING = {"STOP": "stop", "START": "again", "HELP": "help"}


@dataclass(frozen=True)
class Text:
    """One text to check and where it comes from."""

    source: str
    text: str
    max_segments: int | None = None


@dataclass(frozen=True)
class Finding:
    """A rule a text breaks."""

    source: str
    problem: str

    def __str__(self) -> str:
        return f"{self.source}: {self.problem}"


def sms_segments(text: str) -> int:
    """How many SMS segments ``text`` takes (GSM-7 160/153, else UCS-2 70/67)."""
    if all(ch in _GSM7 or ch in _GSM7_EXTENDED for ch in text):
        units = sum(2 if ch in _GSM7_EXTENDED else 1 for ch in text)
        single, multi = 160, 153
    else:
        units = sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)
        single, multi = 70, 67
    if units <= single:
        return 1
    return -(-units // multi)


def sentences(text: str) -> list[str]:
    """Sentences of a text (split at . ! ? and line breaks)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def lint_text(item: Text) -> list[Finding]:
    """Every rule ``item`` breaks."""
    findings: list[Finding] = []
    for sentence in sentences(item.text):
        findings.extend(_carrier_word_findings(item.source, sentence))
        if _HANGUL.search(sentence):
            if len(sentence) > MAX_KO_SENTENCE_CHARS:
                findings.append(
                    Finding(
                        item.source,
                        f"Korean sentence of {len(sentence)} characters "
                        f"(at most {MAX_KO_SENTENCE_CHARS}): {sentence!r}",
                    )
                )
        else:
            words = len(sentence.split())
            if words > MAX_EN_SENTENCE_WORDS:
                findings.append(
                    Finding(
                        item.source,
                        f"English sentence of {words} words "
                        f"(at most {MAX_EN_SENTENCE_WORDS}): {sentence!r}",
                    )
                )
    if item.max_segments is not None:
        segments = sms_segments(item.text)
        if segments > item.max_segments:
            findings.append(
                Finding(
                    item.source,
                    f"{segments} SMS segments (at most {item.max_segments})",
                )
            )
    return findings


def _carrier_word_findings(source: str, sentence: str) -> Iterator[Finding]:
    for match in _ASKED_TO_SEND.finditer(sentence):
        word = " ".join((match.group(1) or match.group(2)).split()).upper()
        if word not in CARRIER_WORDS:
            continue
        meaning = _CARRIER_MEANING.get(word)
        rest = (sentence[: match.start()] + sentence[match.end() :]).lower()
        if meaning is None or meaning not in rest:
            yield Finding(
                source,
                f"asks the citizen to send {word}, a word carriers reserve "
                f"(it would not do what the sentence says): {sentence!r}",
            )


def _localized(source: str, value: Localized, max_segments: int | None = None) -> Iterator[Text]:
    yield Text(f"{source}.ko", value.ko, max_segments)
    yield Text(f"{source}.en", value.en, max_segments)


def catalog_texts(catalog: Catalog) -> Iterator[Text]:
    """Every citizen-facing text of the catalog."""
    for service in catalog:
        base = f"catalog/{service.id}"
        yield from _localized(f"{base}.summary", service.summary)
        yield from _localized(f"{base}.short", service.short, MAX_SHORT_SEGMENTS)
        yield from _localized(f"{base}.who_can_apply", service.who_can_apply)
        yield from _localized(f"{base}.fee", service.fee)
        for i, amount in enumerate(service.amounts):
            yield from _localized(f"{base}.amounts[{i}].what", amount.what)
        yield from _localized(f"{base}.how_to_apply", service.how_to_apply)
        yield from _localized(f"{base}.processing_time", service.processing_time)
        if service.accessibility is not None:
            yield from _localized(f"{base}.accessibility", service.accessibility)
        for language in ("ko", "en"):
            for i, document in enumerate(service.documents.get(language)):
                yield Text(f"{base}.documents.{language}[{i}]", document)
    for package in catalog.packages.values():
        base = f"packages/{package.id}"
        yield from _localized(f"{base}.summary", package.summary)
        for i, step in enumerate(package.steps):
            if step.note is not None:
                yield from _localized(f"{base}.steps[{i}].note", step.note)


def response_texts(domain_path: Path = DOMAIN_DIR) -> Iterator[Text]:
    """Every text variation of every Rasa response (a domain file or directory)."""
    files = sorted(domain_path.rglob("*.yml")) if domain_path.is_dir() else [domain_path]
    for path in files:
        domain = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        yield from _responses(domain)


def _responses(domain: dict[str, Any]) -> Iterator[Text]:
    for name, variations in (domain.get("responses") or {}).items():
        for i, variation in enumerate(variations):
            if variation.get("text"):
                yield Text(f"domain/{name}[{i}]", variation["text"], MAX_RESPONSE_SEGMENTS)
            for j, button in enumerate(variation.get("buttons") or []):
                yield Text(f"domain/{name}[{i}].buttons[{j}]", button["title"])


def gateway_texts() -> Iterator[Text]:
    """The texts the gateway says itself when the dialogue cannot."""
    from assistant.texts import all_texts

    for key, language, text in all_texts():
        yield Text(f"gateway/{key}.{language}", text, MAX_RESPONSE_SEGMENTS)


def text_me_texts() -> Iterator[Text]:
    """What the citizen is told when a checklist or a result is texted to them."""
    from assistant.text_me import all_texts

    for key, language, text in all_texts():
        yield Text(f"text_me/{key}.{language}", text, MAX_RESPONSE_SEGMENTS)


def voice_prompts() -> Iterator[Text]:
    """What the phone line says around the dialogue's answers (menu, reprompts, handoff)."""
    from voice.prompts import all_prompts

    for key, language, text in all_prompts():
        yield Text(f"voice/{key}.{language}", text)


def handoff_texts() -> Iterator[Text]:
    """What the citizen is told about their request for a person (queue, cancel, 107)."""
    from assistant.handoff.texts import all_texts

    for key, language, text in all_texts():
        yield Text(f"handoff/{key}.{language}", text, MAX_RESPONSE_SEGMENTS)


def summary_texts() -> Iterator[Text]:
    """The fixed sentences of the printed easy-read visit summary (staff console)."""
    from consoles.summary import summary_texts as texts

    for source, text in texts():
        yield Text(source, text)


def screening_texts() -> Iterator[Text]:
    """What the screening actions say around the questions (the questions are responses)."""
    from assistant.actions.screening import TEXTS

    for key, value in TEXTS.items():
        yield from _localized(f"screening/{key}", value, MAX_RESPONSE_SEGMENTS)


def reminder_texts(catalog: Catalog) -> Iterator[Text]:
    """Reminder SMS (two segments at most) and the reminder set-up replies."""
    from assistant.reminders.samples import all_texts

    for key, language, text, is_sms in all_texts(catalog):
        budget = MAX_SHORT_SEGMENTS if is_sms else MAX_RESPONSE_SEGMENTS
        yield Text(f"reminders/{key}.{language}", text, budget)


def lint(texts: Iterable[Text]) -> list[Finding]:
    """Every finding over ``texts``."""
    return [finding for item in texts for finding in lint_text(item)]


def lint_everything() -> list[Finding]:
    """Lint every response, catalog text, gateway text, screening and reminder text."""
    catalog = load_catalog()
    items = [
        *response_texts(),
        *catalog_texts(catalog),
        *gateway_texts(),
        *voice_prompts(),
        *handoff_texts(),
        *text_me_texts(),
        *summary_texts(),
        *screening_texts(),
        *reminder_texts(catalog),
    ]
    return lint(items)
