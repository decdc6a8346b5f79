"""A bounded schemathesis run over /api/openapi.json against the real app (WSGI): what the
schema allows, and the schema-violating inputs schemathesis derives from it, never give a
5xx, and every answer has a documented status, content type and schema."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = 25  # per operation and mode: bounded, so the run stays well under a minute
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _operations(app: Any) -> list[Any]:
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def test_the_schema_names_every_operation(app: Any) -> None:
    labels = {op.label for op in _operations(app)}
    assert {"GET /api/search", "POST /api/cypher", "POST /api/feedback", "GET /api/node/{node_id}",
            "GET /api/node/{node_id}/neighbours", "GET /api/export/graph", "GET /api/export/triplets",
            "GET /api/stats"} <= labels


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_no_server_errors_on_any_operation(app: Any, mode: GenerationMode) -> None:
    for operation in _operations(app):
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def check(case: Any) -> None:
            case.call_and_validate(checks=CHECKS)

        try:
            check()
        except Unsatisfiable:  # nothing in this operation's schema can be violated (a bare path string)
            assert mode is GenerationMode.NEGATIVE, operation.label
