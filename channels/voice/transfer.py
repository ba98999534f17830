"""A warm transfer: the officer who takes a transferred call knows what it is about.

When a caller asks for a person and the line moves them to the community centre
(``SOTONG_VOICE_TRANSFER_NUMBER``, a ``<Dial>`` with an ``action``), the officer gets
a short summary — the service, what kind of help, the language, the caller's needs,
the last things the caller said (resident registration numbers masked) and the last
four digits of their number — by text to the transfer number when it can take one (a
mobile), and kept as the request's notes for the consoles either way. The ``<Dial>``'s
action then ends the queue request: resolved ("transferred") when the officer answered,
or, when nobody did, a call-back booked on the caller's number and said to the caller.
"""

from __future__ import annotations

from assistant.catalog import Catalog
from assistant.handoff.phone_numbers import last_four
from assistant.handoff.records import QueueEntry
from assistant.privacy import mask_rrn
from assistant.store import ConversationStore, TurnDirection

TRANSFER_PATH = "/webhooks/twilio/voice/transfer"
_SAID_TURNS = 3  # the caller's last sentences in the summary
_SAID_LENGTH = 60  # characters of each

_NEEDS_KO = {
    "deaf": "농인",
    "hard_of_hearing": "난청",
    "low_vision": "저시력",
    "short_messages": "짧은 문장",
    "easy_words": "쉬운 말",
    "slow_speech": "천천히 말하기",
}
_REASONS_KO = {"sign_language": "수어 통역", "callback": "전화 회신"}


async def transfer_summary(
    store: ConversationStore, catalog: Catalog, entry: QueueEntry, caller: str
) -> str:
    """The officer's summary of a transferred call (plain Korean, one short text)."""
    lines = ["[소통] 전화를 연결합니다."]
    service = catalog.get(entry.service) if entry.service else None
    if service is not None:
        lines.append(f"민원: {service.name.ko}")
    lines.append(f"요청: {_REASONS_KO.get(entry.reason, '상담원')}")
    lines.append(f"언어: {'영어' if entry.language == 'en' else '한국어'}")
    needs = [_NEEDS_KO[k] for k, on in (entry.accessibility or {}).items() if on and k in _NEEDS_KO]
    if needs:
        lines.append(f"필요: {', '.join(needs)}")
    turns = await store.transcript(entry.conversation_id)
    said = [t.text for t in turns if t.direction is TurnDirection.INBOUND and t.text.strip()]
    for text in said[-_SAID_TURNS:]:
        short = mask_rrn(" ".join(text.split()))
        lines.append(f"- {short[:_SAID_LENGTH]}{'…' if len(short) > _SAID_LENGTH else ''}")
    tail = last_four(caller)
    if tail:
        lines.append(f"전화: 끝자리 {tail}")
    return "\n".join(lines)
