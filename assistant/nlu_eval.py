"""Service identification measured on held-out utterances.

Two sets, both written without seeing the training data: ``nlu/tests/service_eval.yml``
(the evaluation set, whose misses have been read while the model was improved, so it
now serves as the development set) and ``nlu/tests/service_test.yml`` (the test set,
written later by others who never saw either; scored in aggregate only).

Each utterance goes through the real Rasa model (``/model/parse``); the predicted service
is the one the dialogue would answer about (``assistant.actions.routing``: the rules'
action for the intent, then an exact catalog name first, else the service intent). A
greeting or package that happens to name a service counts as a miss. When Rasa
hesitates (``nlu_fallback``) without a name, the citizen is asked which of the likely
services they meant; that counts as *clarified* when the right one is offered, and is
not counted as correct.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import yaml

from assistant.actions.routing import answered_services, clarification_candidates
from assistant.catalog import Catalog
from assistant.config import PROJECT_DIR

EVAL_FILE = PROJECT_DIR / "nlu" / "tests" / "service_eval.yml"
TEST_FILE = PROJECT_DIR / "nlu" / "tests" / "service_test.yml"


@dataclass(frozen=True)
class Example:
    """One labelled utterance."""

    text: str
    service: str
    language: str
    style: str = "plain"


@dataclass
class Outcome:
    """What happened to one example."""

    example: Example
    predicted: str | None
    clarified: bool
    intent: str | None = None

    @property
    def correct(self) -> bool:
        return self.predicted == self.example.service


@dataclass
class Report:
    """Accuracy overall, per language and per style, and the misses."""

    total: int
    accuracy: float
    by_language: dict[str, float]
    by_style: dict[str, float]
    clarified: int
    misses: list[dict[str, Any]] = field(default_factory=list)

    def render(self) -> str:
        """A plain-text table."""
        lines = [f"service identification: {self.accuracy:.1%} of {self.total}"]
        lines += [f"  {lang}: {acc:.1%}" for lang, acc in sorted(self.by_language.items())]
        lines += [f"  style {style}: {acc:.1%}" for style, acc in sorted(self.by_style.items())]
        lines.append(f"  asked to clarify with the right service offered: {self.clarified}")
        return "\n".join(lines)


def load_examples(path: Path = EVAL_FILE) -> list[Example]:
    """The evaluation set."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Example(**item) for item in raw["examples"]]


async def evaluate(
    rasa_url: str,
    catalog: Catalog,
    examples: list[Example],
    token: str | None = None,
    concurrency: int = 4,
) -> Report:
    """Parse every example with the Rasa server at ``rasa_url`` and score it."""
    return _score(await _outcomes(rasa_url, catalog, examples, token, concurrency))


# Words that say when, not what: putting one in front of a message must not change the
# service it gets. Rasa's own tokenizer once dropped every Korean word of a message with
# a digit in it, and "15년 동안 " changed the answer to 260 of 448 Korean messages.
NEUTRAL_PREFIXES = ("1년 전부터 ", "5개월 전에 ", "15년 동안 ", "작년부터 ")


async def prefix_changes(
    rasa_url: str,
    catalog: Catalog,
    examples: list[Example],
    prefixes: tuple[str, ...] = NEUTRAL_PREFIXES,
    token: str | None = None,
) -> dict[str, int]:
    """For each prefix, how many of ``examples`` get another service (or none) once
    the prefix is put in front of them."""
    plain = await _outcomes(rasa_url, catalog, examples, token)
    changed: dict[str, int] = {}
    for prefix in prefixes:
        prefixed = [replace(e, text=prefix + e.text) for e in examples]
        outcomes = await _outcomes(rasa_url, catalog, prefixed, token)
        pairs = zip(plain, outcomes, strict=True)
        changed[prefix] = sum(a.predicted != b.predicted for a, b in pairs)
    return changed


async def _outcomes(
    rasa_url: str,
    catalog: Catalog,
    examples: list[Example],
    token: str | None = None,
    concurrency: int = 4,
) -> list[Outcome]:
    semaphore = asyncio.Semaphore(concurrency)
    params = {"token": token} if token else {}

    async with httpx.AsyncClient(base_url=rasa_url, timeout=30) as client:

        async def one(example: Example) -> Outcome:
            async with semaphore:
                response = await client.post(
                    "/model/parse", params=params, json={"text": example.text}
                )
            response.raise_for_status()
            parse = response.json()
            found = answered_services(parse, catalog)
            predicted = found[0] if found else None
            intent = (parse.get("intent") or {}).get("name")
            clarified = (
                predicted is None
                and intent == "nlu_fallback"
                and example.service in clarification_candidates(parse, catalog)
            )
            return Outcome(example, predicted, clarified, intent)

        return list(await asyncio.gather(*(one(e) for e in examples)))


def evaluate_model(model: Path, catalog: Catalog, examples: list[Example]) -> Report:
    """Start a Rasa server on ``model`` (a temporary tracker store, no actions), score
    ``examples`` against it, and stop it."""
    import secrets
    import tempfile

    from assistant.stack import RasaServer, default_tracker_url, free_port

    with tempfile.TemporaryDirectory() as tmp:
        token = secrets.token_urlsafe(16)
        rasa = RasaServer(
            model=model,
            port=free_port(),
            actions_url="http://127.0.0.1:9/unused",
            tracker_url=default_tracker_url(Path(tmp)),
            log_path=Path(tmp) / "rasa.log",
            auth_token=token,
        )
        rasa.start()
        try:
            rasa.wait_ready()
            return asyncio.run(evaluate(rasa.url, catalog, examples, token))
        finally:
            rasa.stop()


def _rate(outcomes: list[Outcome]) -> float:
    return sum(o.correct for o in outcomes) / len(outcomes) if outcomes else 0.0


def _score(outcomes: list[Outcome]) -> Report:
    by_language: defaultdict[str, list[Outcome]] = defaultdict(list)
    by_style: defaultdict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_language[outcome.example.language].append(outcome)
        by_style[outcome.example.style].append(outcome)
    return Report(
        total=len(outcomes),
        accuracy=_rate(outcomes),
        by_language={k: _rate(v) for k, v in by_language.items()},
        by_style={k: _rate(v) for k, v in by_style.items()},
        clarified=sum(o.clarified for o in outcomes),
        misses=[
            {
                **asdict(o.example),
                "predicted": o.predicted,
                "clarified": o.clarified,
                "intent": o.intent,
            }
            for o in outcomes
            if not o.correct
        ],
    )


def confusions(report: Report) -> Counter[tuple[str, str | None]]:
    """(expected, predicted) pairs of the misses, most common first."""
    return Counter((m["service"], m["predicted"]) for m in report.misses)


def save(report: Report, path: Path) -> None:
    """Write the report as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(asdict(report), ensure_ascii=False, indent=2), encoding="utf-8")
