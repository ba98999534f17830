"""Every operation of the running gateway against its own OpenAPI, with schemathesis
(review proof, issue 16): generated requests, bounded in number, get no 5xx and no
response outside the schema — a status the operation does not declare, or a body that
does not match what it declares.

The gateway is a real one on its own stack (real Rasa, SQLite), so web chat messages
reach the dialogue and requests for a person reach the queue; signed Twilio webhooks,
console sign-ins and CSRF stay in force (most generated requests are refused: that is
part of what is checked — refused with a declared 4xx, never a 500).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.stackutil import Stack, running_stack

schemathesis = pytest.importorskip(
    "schemathesis", reason="schemathesis is a dev dependency (pyproject [dev]); CI has it"
)
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

pytestmark = pytest.mark.rasa

# Enough to reach every operation's refusals and a few of its successes; the suite's
# time stays in minutes.
EXAMPLES_PER_OPERATION = 25


@pytest.fixture(scope="module")
def fuzz_stack(rasa_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    env = {"SOTONG_VOICE_PRELOAD": "false"}  # no calls here
    with running_stack(rasa_model, tmp_path_factory.mktemp("fuzz-stack"), extra_env=env) as stack:
        yield stack


def test_every_operation_keeps_to_its_schema(fuzz_stack: Stack) -> None:
    """Each operation in turn (Hypothesis drives schemathesis' strategy for it); every
    operation's first failure is collected, so one run reports them all."""
    schema = schemathesis.openapi.from_url(f"{fuzz_stack.gateway.url}/openapi.json")
    schema.config.update(base_url=fuzz_stack.gateway.url)
    failures: dict[str, str] = {}
    operations = 0
    statuses: Counter[int] = Counter()
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def keeps_to_schema(case: Any) -> None:
            response = case.call(timeout=30)
            statuses[response.status_code] += 1
            case.validate_response(
                response,
                checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
            )

        try:
            keeps_to_schema()
        except BaseException as exc:  # every operation's failure, not only the first one's
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            failures[operation.label] = f"{exc.__class__.__name__}: {str(exc)[:1500]}"
    print(f"[openapi] {operations} operations, {sum(statuses.values())} requests: {dict(statuses)}")
    assert operations >= 30  # the whole API, not a schema that failed to load
    assert sum(statuses.values()) >= 5 * operations  # requests were really made
    assert failures == {}, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())
