"""Schemathesis against the app's own OpenAPI schema: no server error, no response that breaks the schema."""

from __future__ import annotations

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.app import create_app
from tests.api_helpers import clean_up, make_keys

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, status_code_conformance]
EXAMPLES = 4


@pytest.mark.slow
def test_no_server_errors_and_responses_match_the_schema(demo_settings, demo_engine):
    app = create_app(demo_settings)
    keys = make_keys(demo_engine)
    tested = []
    try:
        with TestClient(app):  # runs the lifespan
            schema = schemathesis.openapi.from_asgi("/openapi.json", app)
            for result in schema.get_all_operations():
                operation = result.ok()

                @given(case=operation.as_strategy())
                @settings(
                    max_examples=EXAMPLES,
                    deadline=None,
                    suppress_health_check=list(HealthCheck),
                    derandomize=True,
                    database=None,
                )
                def run(case):
                    case.call_and_validate(headers={"X-API-Key": keys["admin"]}, checks=CHECKS)

                run()
                tested.append(operation.label)
    finally:
        clean_up(demo_engine)
    assert len(tested) >= 15, tested
