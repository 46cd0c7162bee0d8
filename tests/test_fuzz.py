"""Property-based fuzzing of the whole HTTP API over its own OpenAPI schema (schemathesis), against a
real `audiotag serve`: no 5xx, and every answer's status code, content type, headers and body are
the ones the schema documents for that route."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import indexed_copy, running_server

TOKEN = "fuzz-token"
# A schema-valid request may still be refused on its meaning, as documented: a query or labels of
# words without a vector (422), a clip that is not audio (415). Every other check stays on.
SEMANTIC = [positive_data_acceptance]
EXAMPLES = 25  # per operation: about 330 requests, well under two minutes


@pytest.fixture(scope="module")
def fuzz_server(trained_data_dir: Path, tmp_path_factory):
    data = indexed_copy(trained_data_dir, tmp_path_factory.mktemp("fuzz"))
    # no in-process worker: a reindex the fuzzer might queue would only wait in the table
    with running_server(data, api_token=TOKEN, worker_in_process="false") as base:
        yield base


def test_every_operation_answers_as_documented(fuzz_server: str) -> None:
    schema = schemathesis.openapi.from_url(f"{fuzz_server}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17  # every route, the spectrograms and tag verdicts included

    seen: Counter = Counter()  # (operation, status) → answers
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
        def answers_as_documented(case) -> None:
            response = case.call_and_validate(base_url=fuzz_server, timeout=30, excluded_checks=SEMANTIC)
            seen[case.operation.label, response.status_code] += 1

        answers_as_documented()
    statuses = Counter(status for (_, status), n in seen.items() for _ in range(n))
    assert sum(statuses.values()) >= 10 * len(operations)  # the fuzzer did send requests
    # it reached the routes' work (found sounds, missing ones, refused meaning), not only validation
    assert {200, 401, 404, 422} <= set(statuses)
